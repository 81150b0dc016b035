#!/usr/bin/env bash
# Build the guest module from the vgpu-front-dkms package exactly as DKMS
# does when a guest installs it (dkms add + dkms build, the package's own
# dkms.conf and source tree), against the installed linux-headers-amd64, in
# a scratch tree: DKMS's tree, the source tree and the install tree all
# point into it, so nothing is written to /var/lib/dkms, /usr/src or
# /lib/modules, and the scratch tree is removed afterwards (its make.log
# is kept).
#
# Usage: scripts/dkms-check.sh DEBDIR [KVER]
#   DEBDIR  where vgpu-front-dkms_*.deb is (scripts/build-debs.sh's OUTDIR)
#   KVER    the kernel (default: the newest /usr/src/linux-headers-*-amd64,
#           the kernel the Xen testbed's guests run)
# Result: DEBDIR/dkms/KVER/vgpu-front.ko (the Xen testbed loads it in the
# guests) and DEBDIR/dkms/KVER/make.log. Exit 0 when the module built for
# KVER; 1 otherwise; 2 on bad usage.
set -euo pipefail
case ${1:-} in ''|-h|--help) sed -n '2,17s/^# \{0,1\}//p' "$0"; [ -n "${1:-}" ]; exit $? ;; esac
debdir=$(cd "$1" && pwd)
kver=${2:-}
if [ -z "$kver" ]; then
	kver=$(ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sed 's|^/usr/src/linux-headers-||' |
	       sort -V | tail -n 1 || true)
fi
ksrc=/usr/src/linux-headers-$kver
if [ -z "$kver" ] || [ ! -f "$ksrc/Makefile" ]; then
	echo "dkms-check: no kernel headers for '${kver:-?}' (install linux-headers-amd64)" >&2
	exit 1
fi
command -v dkms >/dev/null || { echo "dkms-check: dkms is missing (scripts/install-deps.sh)" >&2; exit 1; }
deb=$(ls "$debdir"/vgpu-front-dkms_*.deb 2>/dev/null | head -n 1 || true)
[ -n "$deb" ] || { echo "dkms-check: no vgpu-front-dkms_*.deb in $debdir" >&2; exit 1; }

# What the host's own DKMS state is now: it must be the same afterwards.
state() { ls -la /var/lib/dkms "/lib/modules/$kver" 2>/dev/null | grep -v '^total'; }
before=$(state)

scratch=$(mktemp -d "$debdir/dkms-scratch.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
dpkg-deb -x "$deb" "$scratch/root"
conf=$(ls "$scratch"/root/usr/src/vgpu-front-*/dkms.conf 2>/dev/null | head -n 1 || true)
[ -n "$conf" ] || { echo "dkms-check: ${deb##*/} has no usr/src/vgpu-front-*/dkms.conf" >&2; exit 1; }
name=$(sed -n 's/^PACKAGE_NAME="\(.*\)"/\1/p' "$conf")
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$conf")
[ "$(basename "$(dirname "$conf")")" = "$name-$ver" ] || {
	echo "dkms-check: $conf names $name-$ver but lies in $(dirname "$conf")" >&2; exit 1; }

trees=(--dkmstree "$scratch/dkms" --sourcetree "$scratch/root/usr/src"
       --installtree "$scratch/modules" --kernelsourcedir "$ksrc")
mkdir -p "$scratch/dkms" "$scratch/modules"
# DKMS signs what it builds, with a key it makes in /var/lib/dkms unless
# these (its framework.conf variables) say otherwise: a throwaway key here.
export mok_signing_key=$scratch/mok.key mok_certificate=$scratch/mok.pub
out=$debdir/dkms/$kver
mkdir -p "$out"
rc=0
echo "dkms-check: dkms add + build $name/$ver for $kver (scratch tree $scratch)"
dkms add -m "$name" -v "$ver" "${trees[@]}" >"$out/dkms.log" 2>&1 || rc=$?
if [ "$rc" = 0 ]; then
	dkms build -m "$name" -v "$ver" -k "$kver" "${trees[@]}" >>"$out/dkms.log" 2>&1 || rc=$?
fi
log=$(find "$scratch/dkms" -name make.log | head -n 1)
[ -n "$log" ] && cp "$log" "$out/make.log"
if [ "$rc" != 0 ]; then
	cat "$out/dkms.log" >&2
	[ -f "$out/make.log" ] && tail -n 40 "$out/make.log" >&2
	echo "dkms-check: the DKMS build of $name/$ver for $kver failed" >&2
	exit 1
fi
ko=$(find "$scratch/dkms/$name/$ver/$kver" -name 'vgpu-front.ko*' | head -n 1)
[ -n "$ko" ] || { echo "dkms-check: DKMS built no vgpu-front.ko" >&2; exit 1; }
case $ko in
	*.ko) cp "$ko" "$out/vgpu-front.ko" ;;
	*.ko.xz) xz -dc "$ko" >"$out/vgpu-front.ko" ;;
	*.ko.zst) zstd -dqc "$ko" >"$out/vgpu-front.ko" ;;
	*) echo "dkms-check: unexpected module file $ko" >&2; exit 1 ;;
esac
vm=$(modinfo -F vermagic "$out/vgpu-front.ko" | cut -d' ' -f1)
[ "$vm" = "$kver" ] || { echo "dkms-check: the module's vermagic is $vm, not $kver" >&2; exit 1; }
if grep -q 'warning:' "$out/make.log" 2>/dev/null; then
	grep 'warning:' "$out/make.log" >&2
	echo "dkms-check: the DKMS build printed warnings" >&2
	exit 1
fi

rm -rf "$scratch"
trap - EXIT
after=$(state)
if [ "$before" != "$after" ]; then
	echo "dkms-check: the host's DKMS state changed (it must not):" >&2
	diff <(echo "$before") <(echo "$after") >&2 || true
	exit 1
fi
echo "dkms-check: built $out/vgpu-front.ko (vermagic $vm); host DKMS state unchanged"
