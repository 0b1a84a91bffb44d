#!/usr/bin/env bash
# Real fuzzing with clang's libFuzzer (ASan + UBSan), outside `meson test`:
#   tests/fuzz/run.sh [SECONDS] [TARGET...]     (default 600 s, every target)
# New inputs go to a scratch corpus; crashes are written to tests/fuzz/crashes/
# and belong, once fixed, in tests/fuzz/corpus/<target>/ as regression inputs.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(spec ref manifest www-auth token mediatype)
if [ ! -d build-fuzz ]; then
  CC=clang meson setup build-fuzz -Db_sanitize=address,undefined -Db_lundef=false \
    -Dfuzzer_ldflags=-fsanitize=fuzzer -Dc_args=-fsanitize=fuzzer-no-link -Ddocs=false >/dev/null
fi
mkdir -p tests/fuzz/crashes
export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp
for t in "${targets[@]}"; do
  ninja -C build-fuzz "tests/fuzz-$t" >/dev/null
  scratch=$(mktemp -d)
  cp tests/fuzz/corpus/"$t"/* "$scratch"/
  echo "== fuzz-$t for ${seconds}s"
  build-fuzz/tests/"fuzz-$t" -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix=tests/fuzz/crashes/"$t"- "$scratch" 2>&1 | grep -E "^(stat::|#[0-9]+[[:space:]]+DONE|==[0-9]+==ERROR|SUMMARY)" || true
  rm -rf "$scratch"
done
