#!/usr/bin/env bash
# The test command: installs what is missing, builds with -Werror and runs
# every suite (unit, fuzz replay, integration against a real registry,
# interop with skopeo and docker). Extra arguments go to `meson setup`.
set -euo pipefail
cd "$(dirname "$0")/.."
tests/deps.sh
build=${BUILD_DIR:-build}
if [ -d "$build" ]; then
  meson setup --reconfigure "$build" -Dwerror=true "$@" >/dev/null
else
  meson setup "$build" -Dwerror=true "$@" >/dev/null
fi
ninja -C "$build"
status=0
meson test -C "$build" --print-errorlogs || status=$?
# One closing line any CI can read.
python3 - "$build/meson-logs/testlog.json" <<'PY'
import json, re, sys
# Each suite prints its own "N passed, N failed"; a test without one counts once.
passed = failed = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    counts = re.findall(r"^(\d+) passed, (\d+) failed", r.get("stdout") or "", re.M)
    ok = r["result"] in ("OK", "EXPECTEDFAIL")
    if counts:
        p, f = map(int, counts[-1])
        passed += p
        failed += f if ok or f else 1
    elif ok:
        passed += 1
    else:
        failed += 1
print(f"{passed} passed, {failed} failed")
PY
exit $status
