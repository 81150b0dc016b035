#!/usr/bin/env bash
# What `cmake --install` puts where (issue 16, item 1), checked on the build
# folder BUILD: installs into a scratch DESTDIR with the build's own prefix
# and checks that
#   - every program of bin/ that is shipped (all but the test helpers) is
#     installed, in sbin/ (the daemon and root's tools) or bin/;
#   - each installed program has its man page (section 8 for sbin/, 1 for
#     bin/), which man renders without a warning and whose NAME line
#     lexgrog (what apropos and lintian read) can parse;
#   - libvgpu's soname chain (libvgpu.so -> .so.0 -> .so.0.x.y) and
#     SONAME; the .pc file; vgpu.h compiles and links through pkg-config
#     against the installed copy;
#   - the systemd unit's ExecStart= and the DKMS tree's dkms.conf name
#     installed things; the udev rule is installed; nothing is installed
#     outside the prefix but the system folders cmake/install-dirs.cmake names.
# Usage: check-install.sh BUILD [SOURCE]
# Prints "PASS: ..." / "FAIL: ..." per check, then "N passed, N failed";
# exit 0 when all passed, 1 otherwise, 77 (SKIP) without man-db.
set -uo pipefail
build=$(cd "${1:?usage: check-install.sh BUILD [SOURCE]}" && pwd)
src=${2:-$(cd "$(dirname "$0")/../.." && pwd)}
cache() { sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt"; }
prefix=$(cache CMAKE_INSTALL_PREFIX)
bindir=$(cache CMAKE_INSTALL_BINDIR)
sbindir=$(cache CMAKE_INSTALL_SBINDIR)
libdir=$(cache CMAKE_INSTALL_LIBDIR)
# GNUInstallDirs caches the folders below DATAROOTDIR empty when defaulted.
dataroot=$(cache CMAKE_INSTALL_DATAROOTDIR)
mandir=$(cache CMAKE_INSTALL_MANDIR)
mandir=${mandir:-${dataroot:-share}/man}
incdir=$(cache CMAKE_INSTALL_INCLUDEDIR)
unitdir=$(cache VGPU_SYSTEMD_UNITDIR)
rulesdir=$(cache VGPU_UDEV_RULESDIR)
dkmsdir=$(cache VGPU_DKMS_SRCDIR)
full() { case $1 in /*) printf '%s\n' "$1" ;; *) printf '%s/%s\n' "$prefix" "$1" ;; esac; }

if ! command -v man >/dev/null || ! command -v lexgrog >/dev/null; then
	echo "SKIP: man-db is not installed (scripts/install-deps.sh installs it)"
	exit 77
fi
if [ "$(cache VGPU_MANPAGES)" != ON ]; then
	echo "SKIP: this build makes no man pages (VGPU_MANPAGES=OFF: a sanitizer or fuzzing build)"
	exit 77
fi

passed=0 failed=0
pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
if ! DESTDIR=$root cmake --install "$build" >"$work/install.log" 2>&1; then
	cat "$work/install.log"
	fail "cmake --install into a DESTDIR"
	echo "$passed passed, $failed failed"; exit 1
fi
R=$root$prefix

# Programs: the test helpers of bin/ (test-helpers.txt, which the Xen testbed
# also reads) are the only ones not installed.
helpers=" $(sed -e 's/#.*//' "$src/tests/packages/test-helpers.txt" | tr '\n' ' ') "
sbin_progs=" vgpu-backend vgpu-attach vgpu-detach vgpu-list vgpu-xl-create vgpu-exec-probe "
for f in "$build"/bin/*; do
	p=${f##*/}
	case $helpers in *" $p "*) continue ;; esac
	case $sbin_progs in *" $p "*) d=$sbindir s=8 ;; *) d=$bindir s=1 ;; esac
	check "$p is installed in $d" test -x "$R/$d/$p"
	page=$R/$mandir/man$s/$p.$s
	check "$p has its man page $mandir/man$s/$p.$s" test -s "$page"
	[ -s "$page" ] || continue
	warn=$(cd "$R/$mandir" && LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "man$s/$p.$s" 2>&1 >/dev/null)
	check "man $p renders without warnings${warn:+: $warn}" test -z "$warn"
	what=$(cd "$R/$mandir" && lexgrog "man$s/$p.$s" 2>&1)
	check "lexgrog reads $p's NAME line ($what)" sh -c 'case $1 in *": \""*" - "*) exit 0 ;; *) exit 1 ;; esac' sh "$what"
done
for p in $sbin_progs; do
	check "$p is built (bin/$p)" test -e "$build/bin/$p"
done

# libvgpu: soname chain, SONAME, .pc, a program built against the install.
L=$R/$libdir
check "libvgpu.so -> libvgpu.so.0" test "$(readlink "$L/libvgpu.so")" = libvgpu.so.0
real=$(readlink "$L/libvgpu.so.0" || true)
check "libvgpu.so.0 -> a libvgpu.so.0.* file ($real)" sh -c 'case $1 in libvgpu.so.0.*) test -f "$2/$1" ;; *) exit 1 ;; esac' sh "$real" "$L"
soname=$(LC_ALL=C readelf -d "$L/libvgpu.so.0" 2>/dev/null | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
check "libvgpu's SONAME is libvgpu.so.0 ($soname)" test "$soname" = libvgpu.so.0
check "vgpu.h is installed in $incdir" test -f "$R/$incdir/vgpu.h"
# The ABI is vgpu.h: every function it declares is exported, nothing else is
# (not the transports' internals, the loopback world, the userspace frontend).
decl=$(cc -E -P "$R/$incdir/vgpu.h" 2>/dev/null | grep -oE '\bvgpu_[a-z0-9_]+ *\(' | tr -d ' (' | LC_ALL=C sort -u)
expo=$(nm -D --defined-only "$L/libvgpu.so.0" 2>/dev/null | awk '{ print $3 }' | sed 's/@.*//' | LC_ALL=C sort -u)
extra=$(LC_ALL=C comm -13 <(echo "$decl") <(echo "$expo") | tr '\n' ' ')
lack=$(LC_ALL=C comm -23 <(echo "$decl") <(echo "$expo") | tr '\n' ' ')
check "libvgpu.so.0 exports the $(echo "$decl" | wc -l) functions vgpu.h declares${lack:+; not: $lack}" \
	test -n "$decl" -a -z "$lack"
check "and nothing else${extra:+ (also: $extra)}" test -z "$extra"
pc=$L/pkgconfig/libvgpu.pc
check "libvgpu.pc is installed in $libdir/pkgconfig" test -f "$pc"
cat >"$work/prog.c" <<'EOF'
#include <vgpu.h>
#include <stdio.h>
int main(void)
{
	vgpu_t *v;
	/* A device that does not exist: the call must fail, with a reason. */
	if (vgpu_open("/nonexistent/vgpu_stub", &v) == 0)
		return 1;
	printf("%s\n", vgpu_open_error());
	return 0;
}
EOF
flags=$(PKG_CONFIG_SYSROOT_DIR=$root PKG_CONFIG_LIBDIR=$L/pkgconfig pkg-config --cflags --libs libvgpu 2>&1)
check "pkg-config libvgpu: $flags" test -n "$flags"
# shellcheck disable=SC2086 # the flags are words
check "a program builds against the installed vgpu.h and libvgpu.so" \
	cc -Wall -Werror -o "$work/prog" "$work/prog.c" $flags
out=$(LD_LIBRARY_PATH=$L "$work/prog" 2>&1)
check "it runs on the installed libvgpu.so.0 (vgpu_open fails: $out)" test -n "$out"

# The guest libcuda.so.1: in its own folder, never in LIBDIR (where it would
# shadow a real NVIDIA driver), found through the snippet beside it.
if [ -e "$build/libcuda/libcuda.so.1" ]; then
	lcdir=$(cache VGPU_LIBCUDA_INSTALL_DIR)
	case $lcdir in /*) ;; *) lcdir=$prefix/$lcdir ;; esac
	check "libcuda.so.1 is installed in $lcdir" test -f "$root$lcdir/libcuda.so.1"
	check "and not in $libdir, where it would shadow a driver (unless chosen)" \
		sh -c '[ "$1" = "$2" ] || [ ! -e "$3/libcuda.so.1" ]' sh "$lcdir" "$prefix/$libdir" "$L"
	soname=$(LC_ALL=C readelf -d "$root$lcdir/libcuda.so.1" 2>/dev/null | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
	check "libcuda's SONAME is libcuda.so.1 ($soname)" test "$soname" = libcuda.so.1
	check "libcuda.so -> libcuda.so.1 beside it" test "$(readlink "$root$lcdir/libcuda.so")" = libcuda.so.1
	check "its ld.so.conf names $lcdir" grep -qx "$lcdir" "$root$lcdir/ld.so.conf"
	# The loader with that snippet after a system folder: a driver's
	# libcuda.so.1 there wins; without one, vgpu-xen's is found.
	mkdir -p "$work/sys"
	printf 'int cuInit(unsigned f) { return (int)f; }\n' >"$work/drv.c"
	cc -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$work/sys/libcuda.so.1" "$work/drv.c"
	sed "s|^$lcdir\$|$root$lcdir|" "$root$lcdir/ld.so.conf" >"$work/snippet.conf"
	printf '%s\ninclude %s\n' "$work/sys" "$work/snippet.conf" >"$work/ld.so.conf"
	ldconfig -X -f "$work/ld.so.conf" -C "$work/ld.cache" 2>/dev/null
	first=$(ldconfig -p -C "$work/ld.cache" | sed -n 's/^[[:space:]]*libcuda\.so\.1 (.*) => //p' | head -n 1)
	check "a driver's libcuda.so.1 in a system folder keeps precedence ($first)" test "$first" = "$work/sys/libcuda.so.1"
	printf 'include %s\n' "$work/snippet.conf" >"$work/ld.so.conf"
	ldconfig -X -f "$work/ld.so.conf" -C "$work/ld.cache" 2>/dev/null
	first=$(ldconfig -p -C "$work/ld.cache" | sed -n 's/^[[:space:]]*libcuda\.so\.1 (.*) => //p' | head -n 1)
	check "without one, the loader finds vgpu-xen's ($first)" test "$first" = "$root$lcdir/libcuda.so.1"
	check "vgpu-xen/cuda.h is installed in $incdir" test -f "$R/$incdir/vgpu-xen/cuda.h"
fi

# The unit, the udev rule, the DKMS tree.
unit=$root$(full "$unitdir")/vgpu-backend@.service
check "vgpu-backend@.service is installed in $(full "$unitdir")" test -f "$unit"
exe=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$unit" 2>/dev/null)
check "the unit's ExecStart= is the installed backend ($exe)" test -x "$root$exe"
check "60-vgpu.rules is installed in $(full "$rulesdir")" test -f "$root$(full "$rulesdir")/60-vgpu.rules"
ver=$(sed -n 's/^CMAKE_PROJECT_VERSION:[A-Z]*=//p' "$build/CMakeCache.txt")
tree=$root$(full "$dkmsdir")/vgpu-front-$ver
check "dkms.conf of vgpu-front-$ver says PACKAGE_VERSION=\"$ver\"" grep -qx "PACKAGE_VERSION=\"$ver\"" "$tree/dkms.conf"
# Every file the module's sources include with quotes is in the tree.
missing=
for f in "$tree"/frontend-kmod/*.c "$tree"/frontend-kmod/*.h "$tree"/frontend-kmod/*/*.h; do
	[ -f "$f" ] || continue
	for inc in $(sed -n 's/^#include "\(.*\)"/\1/p' "$f"); do
		[ -f "$(dirname "$f")/$inc" ] || [ -f "$tree/ring/$inc" ] || missing="$missing ${f#"$tree"/}:$inc"
	done
done
check "every header the module includes is in the DKMS tree${missing:+ (missing:$missing)}" test -z "$missing"
check "the DKMS tree has the top-level Kbuild and the module's" test -f "$tree/Kbuild" -a -f "$tree/frontend-kmod/Kbuild"

# Nothing outside the prefix but the system folders named above.
stray=$(cd "$root" && find . -type f | sed 's|^\.||' | while read -r f; do
	case $f in "$prefix"/*|"$(full "$unitdir")"/*|"$(full "$rulesdir")"/*) ;; *) echo "$f" ;; esac
done)
check "nothing installed outside $prefix and the system folders${stray:+: $stray}" test -z "$stray"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
