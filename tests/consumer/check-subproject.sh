#!/usr/bin/env bash
# Builds tests/consumer with libmanifestlist as a subproject and runs it.
set -euo pipefail
src=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/consumer/subprojects"
cp "$src/tests/consumer/meson.build" "$work/consumer/"
cp "$src/docs/example.c" "$work/consumer/"
ln -s "$src" "$work/consumer/subprojects/libmanifestlist"
# The consumer's build dir lives outside the linked source tree.
meson setup "$work/build" "$work/consumer" >/dev/null
ninja -C "$work/build" >/dev/null
out=$("$work/build/consumer")
echo "$out"
grep -q "registry.example.com/team/app:1.2" <<<"$out"
echo "1 passed, 0 failed"
