#!/usr/bin/env bash
# The Debian packages (issue 16, item 2), checked from what dpkg sees in the
# .deb files of DEBDIR (scripts/build-debs.sh's output):
#   vgpu-xen-dom0    the backend, the tools, vgpu-smi, the unit template
#                    (systemd reloaded on install and removal), docs and the
#                    example config; depends on the Xen libraries it links
#   vgpu-front-dkms  the module's DKMS tree (dkms.conf of this version, every
#                    source and header the module includes), the udev rule,
#                    DKMS's maintainer scripts, the group
#   vgpu-xen-guest   vgpu, gpu_test
#   libvgpu0         libvgpu.so.0 (SONAME, soname link, vgpu_* exports only)
#   libvgpu-dev      vgpu.h, libvgpu.so, libvgpu.pc: a program builds and
#                    runs against the two packages unpacked; vgpu-xen/cuda.h
#   vgpu-xen-libcuda libcuda.so.1 in /usr/lib/<triplet>/vgpu-xen (not where
#                    a driver's is), its ld.so.conf snippet, made known to
#                    the loader by update-alternatives under a name after
#                    the system's own (a driver keeps precedence)
# and for all: every program has its man page in its package, no path is in
# two packages, lintian's output (lintian.txt) has no error.
# Usage: check-debs.sh DEBDIR
# Prints "PASS: ..." / "FAIL: ..." per check, then "N passed, N failed";
# exit 0 when all passed, 1 otherwise, 77 (SKIP) when DEBDIR has no packages.
set -uo pipefail
debdir=${1:?usage: check-debs.sh DEBDIR}
if ! ls "$debdir"/vgpu-xen-dom0_*.deb >/dev/null 2>&1; then
	echo "SKIP: no packages in $debdir (make deb, or scripts/build-debs.sh, builds them)"
	exit 77
fi
debdir=$(cd "$debdir" && pwd)

passed=0 failed=0
pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
declare -A deb
for p in vgpu-xen-dom0 vgpu-front-dkms vgpu-xen-guest libvgpu0 libvgpu-dev vgpu-xen-libcuda; do
	deb[$p]=$(ls "$debdir/${p}"_*.deb 2>/dev/null | head -n 1)
	check "package $p was built" test -n "${deb[$p]}"
	[ -n "${deb[$p]}" ] || continue
	# Paths as dpkg -c lists them, without the leading "."; links as "a -> b".
	dpkg -c "${deb[$p]}" | awk '{ $1 = $2 = $3 = $4 = $5 = ""; sub(/^ +/, ""); sub(/^\./, ""); print }' \
		>"$scratch/$p.list"
	dpkg-deb -x "${deb[$p]}" "$scratch/$p"
done
has() { grep -qxF -- "$2" "$scratch/$1.list"; }
field() { dpkg-deb -f "${deb[$1]}" "$2"; }

# dom0
for f in /usr/sbin/vgpu-backend /usr/sbin/vgpu-attach /usr/sbin/vgpu-detach /usr/sbin/vgpu-list \
	 /usr/sbin/vgpu-xl-create /usr/sbin/vgpu-exec-probe /usr/bin/vgpu-smi /usr/bin/vgpu-loopback-xl \
	 /lib/systemd/system/vgpu-backend@.service /usr/share/doc/vgpu-xen-dom0/operations.md \
	 /usr/share/doc/vgpu-xen-dom0/protocol.md \
	 /usr/share/doc/vgpu-xen-dom0/examples/backend.conf.example; do
	check "vgpu-xen-dom0 has $f" has vgpu-xen-dom0 "$f"
done
dep=$(field vgpu-xen-dom0 Depends)
for lib in libxenstore4 libxengnttab1 libxenevtchn1; do
	check "vgpu-xen-dom0 depends on $lib (it links it)" sh -c 'case $1 in *"$2 "*|*"$2,"*|*"$2") exit 0 ;; *) exit 1 ;; esac' sh "$dep" "$lib"
done
unit=$scratch/vgpu-xen-dom0/lib/systemd/system/vgpu-backend@.service
exe=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$unit" 2>/dev/null)
check "the unit starts $exe, which the package holds" has vgpu-xen-dom0 "$exe"
doc=$(sed -n 's|^Documentation=.*file://\([^ ]*\).*|\1|p' "$unit" 2>/dev/null)
check "the unit's Documentation= file $doc is in the package" has vgpu-xen-dom0 "$doc"
dpkg-deb -e "${deb[vgpu-xen-dom0]}" "$scratch/dom0-ctl"
# dh_installsystemd skips template units: systemd must still learn of it.
check "its postinst and postrm run systemctl daemon-reload (a template unit: nothing enabled or started)" \
	sh -c 'grep -qs "systemctl --system daemon-reload" "$1/postinst" && grep -qs "systemctl --system daemon-reload" "$1/postrm" && ! grep -qs "deb-systemd-invoke start" "$1/postinst"' sh "$scratch/dom0-ctl"

# DKMS
conf=$(grep -x '/usr/src/vgpu-front-[^/]*/dkms.conf' "$scratch/vgpu-front-dkms.list" | head -n 1)
ver=$(field vgpu-front-dkms Version)
check "vgpu-front-dkms has /usr/src/vgpu-front-$ver/dkms.conf ($conf)" test "$conf" = "/usr/src/vgpu-front-$ver/dkms.conf"
tree=$scratch/vgpu-front-dkms/usr/src/vgpu-front-$ver
check "its dkms.conf: PACKAGE_NAME vgpu-front, PACKAGE_VERSION $ver, AUTOINSTALL" \
	sh -c 'grep -qx "PACKAGE_NAME=\"vgpu-front\"" "$1" && grep -qx "PACKAGE_VERSION=\"$2\"" "$1" && grep -qx "AUTOINSTALL=\"yes\"" "$1"' sh "$tree/dkms.conf" "$ver"
missing=
for f in "$tree"/frontend-kmod/*.c "$tree"/frontend-kmod/*.h "$tree"/frontend-kmod/*/*.h; do
	[ -f "$f" ] || continue
	for inc in $(sed -n 's/^#include "\(.*\)"/\1/p' "$f"); do
		[ -f "$(dirname "$f")/$inc" ] || [ -f "$tree/ring/$inc" ] || missing="$missing ${f#"$tree"/}:$inc"
	done
done
check "every header the module includes is in the tree${missing:+ (missing:$missing)}" test -z "$missing"
check "the tree has Kbuild, frontend-kmod/Kbuild and vgpu-front.c" \
	test -f "$tree/Kbuild" -a -f "$tree/frontend-kmod/Kbuild" -a -f "$tree/frontend-kmod/vgpu-front.c"
check "vgpu-front-dkms has the udev rule /lib/udev/rules.d/60-vgpu.rules" has vgpu-front-dkms /lib/udev/rules.d/60-vgpu.rules
check "vgpu-front-dkms depends on dkms" sh -c 'case $1 in *dkms*) exit 0 ;; *) exit 1 ;; esac' sh "$(field vgpu-front-dkms Depends)"
dpkg-deb -e "${deb[vgpu-front-dkms]}" "$scratch/dkms-ctl"
check "its postinst builds with DKMS (common.postinst vgpu-front $ver) and creates group vgpu" \
	sh -c 'grep -q "DKMS_VERSION=$2" "$1" && grep -q common.postinst "$1" && grep -q "addgroup --quiet --system vgpu" "$1"' sh "$scratch/dkms-ctl/postinst" "$ver"
check "its prerm removes the module from DKMS" grep -q 'dkms remove' "$scratch/dkms-ctl/prerm"

# guest userspace and the library
for f in /usr/bin/vgpu /usr/bin/gpu_test; do
	check "vgpu-xen-guest has $f" has vgpu-xen-guest "$f"
done
lib=$(grep -x '/usr/lib/[^/]*/libvgpu\.so\.0 -> .*' "$scratch/libvgpu0.list")
check "libvgpu0 has the soname link libvgpu.so.0 ($lib)" test -n "$lib"
so=$(ls "$scratch"/libvgpu0/usr/lib/*/libvgpu.so.0 2>/dev/null | head -n 1)
soname=$(LC_ALL=C readelf -d "$so" 2>/dev/null | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
check "libvgpu.so.0's SONAME is libvgpu.so.0 ($soname)" test "$soname" = libvgpu.so.0
other=$(nm -D --defined-only "$so" 2>/dev/null | awk '$3 !~ /^vgpu_/ { print $3 }' | tr '\n' ' ')
check "libvgpu.so.0 exports vgpu_* functions only${other:+ (also: $other)}" test -z "$other"
check "libvgpu-dev has /usr/include/vgpu.h" has libvgpu-dev /usr/include/vgpu.h
check "libvgpu-dev has libvgpu.so -> libvgpu.so.0" sh -c 'grep -qx "/usr/lib/[^/]*/libvgpu\.so -> libvgpu\.so\.0" "$1"' sh "$scratch/libvgpu-dev.list"
pcf=$(grep -x '/usr/lib/[^/]*/pkgconfig/libvgpu\.pc' "$scratch/libvgpu-dev.list")
check "libvgpu-dev has libvgpu.pc ($pcf)" test -n "$pcf"
if [ -n "$pcf" ] && [ -n "$so" ]; then
	sys=$scratch/sysroot
	mkdir -p "$sys"
	cp -a "$scratch"/libvgpu0/. "$scratch"/libvgpu-dev/. "$sys/"
	printf '#include <vgpu.h>\nint main(void) { vgpu_t *v; return vgpu_open("/nonexistent", &v) == 0; }\n' >"$scratch/p.c"
	flags=$(PKG_CONFIG_SYSROOT_DIR=$sys PKG_CONFIG_LIBDIR=$sys$(dirname "$pcf") pkg-config --cflags --libs libvgpu)
	# shellcheck disable=SC2086
	check "a program builds with pkg-config libvgpu against the two packages ($flags)" \
		cc -Wall -Werror -o "$scratch/p" "$scratch/p.c" $flags
	check "and runs on the packaged libvgpu.so.0" env LD_LIBRARY_PATH="$(dirname "$sys${so#"$scratch/libvgpu0"}")" "$scratch/p"
fi

check "libvgpu-dev has /usr/include/vgpu-xen/cuda.h" has libvgpu-dev /usr/include/vgpu-xen/cuda.h

# The guest libcuda
lc=$(grep -x '/usr/lib/[^/]*/vgpu-xen/libcuda\.so\.1' "$scratch/vgpu-xen-libcuda.list")
check "vgpu-xen-libcuda has /usr/lib/<triplet>/vgpu-xen/libcuda.so.1 ($lc)" test -n "$lc"
others=$(grep -h 'libcuda\.so' "$scratch"/*.list | grep -v '/vgpu-xen/libcuda\.so' | tr '\n' ' ')
check "no package puts a libcuda.so* where a driver's is${others:+: $others}" test -z "$others"
if [ -n "$lc" ]; then
	d=$(dirname "$lc")
	soname=$(LC_ALL=C readelf -d "$scratch/vgpu-xen-libcuda$lc" 2>/dev/null | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
	check "its SONAME is libcuda.so.1 ($soname)" test "$soname" = libcuda.so.1
	check "it exports cuInit, cuGetProcAddress_v2, cuMemAlloc_v2" sh -c \
		'nm -D --defined-only "$1" | grep -q " cuInit$" && nm -D --defined-only "$1" | grep -q " cuGetProcAddress_v2$" && nm -D --defined-only "$1" | grep -q " cuMemAlloc_v2$"' sh "$scratch/vgpu-xen-libcuda$lc"
	check "its ld.so.conf names $d" grep -qx "$d" "$scratch/vgpu-xen-libcuda$d/ld.so.conf"
	dpkg-deb -e "${deb[vgpu-xen-libcuda]}" "$scratch/lc-ctl"
	trip=$(basename "$(dirname "$d")")
	link=$(sed -n 's|^[[:space:]]*\(/etc/ld.so.conf.d/[^ ]*\) .*|\1|p' "$scratch/lc-ctl/postinst" | head -n 1)
	check "its postinst links the snippet into /etc/ld.so.conf.d with update-alternatives ($link)" \
		sh -c 'grep -q "update-alternatives --quiet --install" "$1" && grep -q "$2/ld.so.conf 10" "$1"' sh "$scratch/lc-ctl/postinst" "$d"
	check "under a name that sorts after the system's $trip.conf (a driver there comes first)" \
		sh -c '[ -n "$1" ] && [ "$(printf "%s\n" "$2.conf" "${1##*/}" | LC_ALL=C sort | head -n 1)" = "$2.conf" ]' sh "$link" "$trip"
	check "its prerm removes the alternative" grep -q 'update-alternatives --quiet --remove' "$scratch/lc-ctl/prerm"
	check "ldconfig runs on install and removal (trigger)" grep -q '^activate-noawait ldconfig$' "$scratch/lc-ctl/triggers"
fi

# Every program has its man page in its own package; no path in two packages.
for p in "${!deb[@]}"; do
	[ -n "${deb[$p]}" ] || continue
	for f in $(grep -E '^/usr/s?bin/[^/]+$' "$scratch/$p.list" | sed 's/ -> .*//'); do
		n=${f##*/}
		case $f in /usr/sbin/*) s=8 ;; *) s=1 ;; esac
		check "$p: $f has its man page man$s/$n.$s.gz in the package" \
			sh -c 'grep -q "^/usr/share/man/man$2/$3\.$2\.gz" "$1"' sh "$scratch/$p.list" "$s" "$n"
		# `man NAME` on the unpacked package, as after installing it: found and
		# rendered (a link to another page must resolve inside the package).
		if command -v man >/dev/null; then
			check "$p: man $n finds and renders its page" sh -c \
				'MANPATH=$1 MANWIDTH=80 man -w "$2" | grep -q "^$1/" && MANPATH=$1 MANWIDTH=80 man "$2" 2>&1 | grep -q "^NAME"' \
				sh "$scratch/$p/usr/share/man" "$n"
		fi
	done
done
dups=$(cat "$scratch"/*.list | sed 's/ -> .*//' | grep -v '/$' | sort | uniq -d | tr '\n' ' ')
check "no file is in two packages${dups:+: $dups}" test -z "$dups"

# lintian
if [ -f "$debdir/lintian.txt" ]; then
	errs=$(grep -c '^E: ' "$debdir/lintian.txt")
	check "lintian reported no error ($errs; $debdir/lintian.txt)" test "$errs" = 0
else
	fail "lintian's output $debdir/lintian.txt is missing"
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
