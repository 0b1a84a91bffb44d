#!/usr/bin/env bash
# Builds and installs the tree under a temporary prefix the loader does not
# search, then: the installed mlist runs without LD_LIBRARY_PATH (its
# runpath), and docs/example.c builds with nothing but
# `pkg-config --cflags --libs manifestlist`, whose flags name no private
# dependency, and runs.
set -euo pipefail
src=$1
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
prefix=$root/prefix
meson setup "$root/build" "$src" --prefix="$prefix" -Dtests=false >/dev/null
ninja -C "$root/build" >/dev/null
meson install -C "$root/build" --no-rebuild >/dev/null
unset LD_LIBRARY_PATH

mlist=$prefix/bin/mlist
"$mlist" --version | grep -q '^mlist '
printf '%s\n' 'image: r.example.com/a:1' 'manifests:' '  - image: r.example.com/a:1-amd64' \
  '    platform: {architecture: amd64, os: linux}' >"$root/spec.yaml"
"$mlist" validate "$root/spec.yaml" | grep -q 'linux/amd64'
test -f "$prefix/share/man/man1/mlist.1"

pc=$(dirname "$(find "$prefix" -name manifestlist.pc)")
export PKG_CONFIG_PATH=$pc
cflags=$(pkg-config --cflags manifestlist)
if grep -Eq 'cjson|fyaml|curl' <<<"$cflags"; then
  echo "private dependency in --cflags: $cflags" >&2
  exit 1
fi
test -f "$prefix/include/manifestlist.h"
libdir=$(pkg-config --variable=libdir manifestlist)
cc -std=c11 -o "$root/example" "$src/docs/example.c" $(pkg-config --cflags --libs manifestlist) \
  -Wl,-rpath,"$libdir"
out=$("$root/example")
echo "$out"
grep -q "registry.example.com/team/app:1.2" <<<"$out"
grep -q "linux/amd64" <<<"$out"
echo "1 passed, 0 failed"
