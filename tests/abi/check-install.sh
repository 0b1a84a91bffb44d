#!/usr/bin/env bash
# meson install into a temporary root, then build docs/example.c with
# nothing but `pkg-config --cflags --libs manifestlist`, and run it.
set -euo pipefail
build=$1 src=$2
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
meson install -C "$build" --destdir "$root" --no-rebuild >/dev/null
pc=$(dirname "$(find "$root" -name manifestlist.pc | head -n1)")
export PKG_CONFIG_PATH=$pc PKG_CONFIG_SYSROOT_DIR=$root
flags=$(pkg-config --cflags --libs manifestlist)
libdir=$(dirname "$(find "$root" -name 'libmanifestlist.so.0' | head -n1)")
# A sanitizer build installs an instrumented library: the consumer follows.
if ldd "$libdir/libmanifestlist.so.0" | grep -q libasan; then
  flags="$flags -fsanitize=address,undefined"
fi
cc -std=c11 -o "$root/example" "$src/docs/example.c" $flags
out=$(LD_LIBRARY_PATH=$libdir "$root/example")
echo "$out"
grep -q "registry.example.com/team/app:1.2" <<<"$out"
grep -q "linux/amd64" <<<"$out"
test -x "$(find "$root" -path '*/bin/mlist' -type f | head -n1)"
test -f "$(find "$root" -name manifestlist.h | head -n1)"
echo "1 passed, 0 failed"
