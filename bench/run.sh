#!/usr/bin/env bash
# mlist against docker manifest, podman, buildah and a minimal curl sequence,
# on Debian's docker-registry on loopback. Writes bench/RESULTS.md and
# bench/results.json. Flags are bench.py's (bench/run.sh --help), plus:
#   --no-install   do not apt-get install missing tools (missing peers are
#                  then reported as unavailable)
#   --no-build     use the mlist/ml-seed binaries as they are
#   --big-copy     run the big-copy benchmark (bench/bigcopy.py) instead;
#                  the other flags are then bigcopy.py's
# Not part of meson test. See bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

install=1 build=1 script=bench.py args=()
for a in "$@"; do
    case "$a" in
    --no-install) install=0 ;;
    --no-build) build=0 ;;
    --big-copy) script=bigcopy.py ;;
    *) args+=("$a") ;;
    esac
done

if [ "$install" = 1 ]; then
    # package per command; docker.io brings the docker CLI when none is installed
    need=()
    for pair in docker-registry:docker-registry curl:curl podman:podman buildah:buildah \
        skopeo:skopeo python3:python3 /usr/bin/time:time hyperfine:hyperfine docker:docker.io meson:meson ninja:ninja-build; do
        command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
    done
    if [ "${#need[@]}" -gt 0 ]; then
        sudo=""
        [ "$(id -u)" = 0 ] || sudo="sudo"
        echo "installing: ${need[*]}"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null ||
            echo "warning: apt-get install failed; the tools missing are reported as unavailable" >&2
    fi
fi

if [ "$build" = 1 ]; then
    [ -d build ] || meson setup build >/dev/null
    ninja -C build cli/mlist tests/ml-seed >/dev/null
fi

for cmd in docker-registry curl python3; do
    command -v "$cmd" >/dev/null || { echo "bench: $cmd is required" >&2; exit 1; }
done

exec python3 "bench/$script" "${args[@]}"
