#!/usr/bin/env bash
# Builds the Debian packages from a copy of the tree (dpkg-buildpackage -b),
# runs lintian (errors fail, warnings do not), unpacks every .deb into one
# clean tree and checks what each ships, what it depends on, and that the
# packaged library exports exactly lib/manifestlist.sym.
# Needs the build dependencies (debian/control) plus lintian.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# Tracked and untracked files, without build directories.
mkdir "$work/src"
git -C "$src" ls-files -z --cached --others --exclude-standard |
  (cd "$src" && tar --null -T - -cf -) | tar -C "$work/src" -xf -
(cd "$work/src" && dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1 ||
  { tail -n 40 "$work/build.log" >&2; fail "dpkg-buildpackage"; }

lintian --fail-on error "$work"/*.changes ||
  fail "lintian reports errors"

root=$work/root
for deb in "$work"/*.deb; do
  dpkg -x "$deb" "$root"
done
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
libdir=$root/usr/lib/$multiarch
for f in "$libdir/libmanifestlist.so.0" "$libdir/libmanifestlist.so" \
    "$libdir/pkgconfig/manifestlist.pc" usr/include/manifestlist.h usr/bin/mlist \
    usr/share/man/man1/mlist.1.gz usr/lib/python3/dist-packages/manifestlist/__init__.py; do
  [[ $f = /* ]] || f=$root/$f
  [ -e "$f" ] || fail "missing ${f#"$root"}"
done

depends() { dpkg-deb -f "$work/$1"_*.deb Depends; }
version=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
grep -q "libmanifestlist0 (= $version)" <<<"$(depends libmanifestlist-dev)" ||
  fail "libmanifestlist-dev does not depend on libmanifestlist0 (= $version)"
grep -q "libmanifestlist0 (>= " <<<"$(depends mlist)" || fail "mlist: no libmanifestlist0 dependency"
grep -q "libcurl" <<<"$(depends libmanifestlist0)" || fail "libmanifestlist0: no libcurl dependency"
py=$(depends python3-manifestlist)
grep -q "libmanifestlist0" <<<"$py" && grep -q "python3" <<<"$py" ||
  fail "python3-manifestlist depends on: $py"

python3 "$src/tests/abi/check-symbols.py" "$libdir/libmanifestlist.so.0" \
  "$src/lib/manifestlist.sym" "$root/usr/include/manifestlist.h" >/dev/null ||
  fail "exported symbols differ from lib/manifestlist.sym"
# A /usr package carries no runpath (Debian policy).
! readelf -d "$root/usr/bin/mlist" | grep -Eq 'RPATH|RUNPATH' || fail "mlist has a runpath"
LD_LIBRARY_PATH=$libdir "$root/usr/bin/mlist" --version | grep -q "^mlist $version" ||
  fail "the packaged mlist does not run"
# Without MANIFESTLIST_LIB: the package finds the library it was installed with.
env -u MANIFESTLIST_LIB -u LD_LIBRARY_PATH PYTHONPATH=$root/usr/lib/python3/dist-packages \
  /usr/bin/python3 -c 'import manifestlist, sys; sys.exit(manifestlist.library_version() != sys.argv[1])' \
  "$version" || fail "the packaged Python module does not load the packaged library"
echo "1 passed, 0 failed"
