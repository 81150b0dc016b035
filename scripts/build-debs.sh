#!/usr/bin/env bash
# Build vgpu-xen's Debian packages (debian/) with `dpkg-buildpackage -us -uc -b`
# in a copy of the source tree, check them with lintian, and build the guest
# module once the way DKMS does on a guest (scripts/dkms-check.sh), so that
# `make check` and the Xen testbed use exactly what an operator installs.
#
# Usage: scripts/build-debs.sh [OUTDIR]      (default: build/debs)
# OUTDIR receives:
#   *.deb, *.changes, *.buildinfo   the packages
#   lintian.txt                     lintian's output on the .changes
#   contents.txt                    dpkg -c of every package
#   dkms/<kver>/vgpu-front.ko       the module as DKMS built it from the package
#   src/                            the copy the packages were built in
# Exit status: 0 when the packages built, lintian reported no error and the
# DKMS build passed; 1 otherwise (what failed is printed); 2 on bad usage.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
[ $# -le 1 ] || { sed -n '4,16s/^# \{0,1\}//p' "$0" >&2; exit 2; }
case ${1:-} in -h|--help) sed -n '2,16s/^# \{0,1\}//p' "$0"; exit 0 ;; esac
out=${1:-$top/build/debs}
case $out in /*) ;; *) out=$PWD/$out ;; esac
# OUTDIR is emptied first: never the tree itself or a folder above it.
case $top/ in "${out%/}"/*) echo "build-debs: $out holds the source tree; choose another OUTDIR" >&2; exit 2 ;; esac

for tool in dpkg-buildpackage dh dh_dkms lintian dkms; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "build-debs: $tool is missing (scripts/install-deps.sh installs it)" >&2
		exit 1
	fi
done

src=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Source)
ver=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)
proj=$(sed -n 's/^project(vgpu-xen VERSION \([0-9.]*\).*/\1/p' "$top/CMakeLists.txt")
if [ "$ver" != "$proj" ]; then
	echo "build-debs: debian/changelog is at $ver but CMakeLists.txt at $proj:" \
	     "add a changelog entry (dch -v $proj) or fix the project version" >&2
	exit 1
fi

# A copy of the tracked files (a fresh clone's content; in a work tree, what
# is committed or staged plus modified files as they are now), so that the
# package build leaves nothing in the tree and finds nothing left over.
rm -rf "$out"
mkdir -p "$out/src"
tree=$out/src/$src-$ver
mkdir -p "$tree"
if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# --ignore-failed-read: ls-files also names files deleted in the work tree.
	git -C "$top" ls-files -z --cached |
		tar -C "$top" --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -C "$tree" -xf -
else
	tar -C "$top" --exclude='./build*' --exclude=./.git -cf - . | tar -C "$tree" -xf -
fi

jobs=${JOBS:-$(nproc)}
# ccache, where installed, for the package's own cmake build (CMake reads
# this variable as the default launcher): a second `make deb` of the same
# tree recompiles nothing that did not change. VGPU_DEB_CCACHE=0: without.
if [ "${VGPU_DEB_CCACHE:-1}" != 0 ] && command -v ccache >/dev/null 2>&1; then
	export CMAKE_C_COMPILER_LAUNCHER=ccache CMAKE_CXX_COMPILER_LAUNCHER=ccache
	# debhelper (compat 13) gives the build a HOME of its own: name the cache.
	CCACHE_DIR=$(ccache --get-config cache_dir 2>/dev/null || true)
	export CCACHE_DIR
	# The copy's path is the same for every run into OUTDIR: relative to it.
	export CCACHE_BASEDIR=$out/src
fi
echo "build-debs: dpkg-buildpackage -us -uc -b in $tree (log: $out/build.log)"
t0=$(date +%s)
if ! (cd "$tree" && DEB_BUILD_OPTIONS="parallel=$jobs ${DEB_BUILD_OPTIONS:-}" \
	dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1; then
	tail -n 60 "$out/build.log" >&2
	echo "build-debs: dpkg-buildpackage failed (whole log: $out/build.log)" >&2
	exit 1
fi
mv "$out"/src/*.deb "$out"/src/*.changes "$out"/src/*.buildinfo "$out/"
echo "build-debs: built in $(( $(date +%s) - t0 ))s:" "$(cd "$out" && ls ./*.deb | sed 's|^\./||' | tr '\n' ' ')"

for deb in "$out"/*.deb; do
	echo "== ${deb##*/}"
	dpkg-deb -f "$deb" Package Version Architecture Depends Recommends
	dpkg -c "$deb"
done >"$out/contents.txt"

echo "build-debs: lintian (output: $out/lintian.txt)"
changes=$(ls "$out"/*.changes)
lrc=0
lintian --info --display-info --pedantic --color never --fail-on error "$changes" >"$out/lintian.txt" 2>&1 || lrc=$?
if [ "$lrc" != 0 ] || grep -q '^E: ' "$out/lintian.txt"; then
	grep '^E: ' "$out/lintian.txt" >&2 || tail -n 20 "$out/lintian.txt" >&2
	echo "build-debs: lintian found errors (status $lrc)" >&2
	exit 1
fi
echo "build-debs: lintian: $(grep -c '^E: ' "$out/lintian.txt" || true) errors," \
     "$(grep -c '^W: ' "$out/lintian.txt" || true) warnings," \
     "$(grep -c '^I: ' "$out/lintian.txt" || true) info, $(grep -c '^P: ' "$out/lintian.txt" || true) pedantic"

"$top/scripts/dkms-check.sh" "$out"
