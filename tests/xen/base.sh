# shellcheck shell=bash
# Xen testbed, host side: Debian packages and base images. Sourced by run.sh.
#
# Everything comes from Debian's archive. Packages that would drag in systemd, grub or
# initramfs-tools if installed are only downloaded (`apt-get download`) into
# $XEN_CACHE/debs and unpacked with `dpkg-deb -x`. The base images built from them are
# kept in $XEN_CACHE/base-<key>/, where <key> hashes the .deb file names and this file, so
# a second run reuses them and a new kernel or Xen version rebuilds them:
#   xen              Xen's ELF (QEMU's multiboot loader does not take the .gz)
#   vmlinux          the kernel's ELF, for dom0 and the guests (no decompression under TCG)
#   dom0-base.cpio   busybox, the toolstack, the xen modules; holds guest-base.cpio and
#                    vmlinux under /var/lib/vgpu/ for the guests
#   guest-base.cpio  busybox, the xenstore CLI, the xen modules
# The project's payload (run.sh) is a second cpio appended to each: the kernel unpacks
# concatenated archives in order.

XEN_VER=4.17
XEN_PKGS=("xen-hypervisor-$XEN_VER-amd64" "xen-utils-$XEN_VER" xen-utils-common xenstore-utils)

# The kernel the project's module is built against: Debian's linux-headers-amd64 pulls
# linux-headers-<KVER> (and a -common one, which is not the one).
xen_kver() {
    local d best=
    for d in /usr/src/linux-headers-*-amd64; do
        [ -d "$d" ] || continue
        d=${d#/usr/src/linux-headers-}
        case $d in *-common*) continue ;; esac
        best=$(printf '%s\n%s\n' "$best" "$d" | sed '/^$/d' | sort -V | tail -n 1)
    done
    [ -n "$best" ] || return 1
    printf '%s\n' "$best"
}

# apt-cache's idea of PKG's version: VERSION if the archive has it, else the candidate.
_deb_version() {
    local pkg=$1 want=$2 v
    if [ -n "$want" ] && apt-cache show "$pkg=$want" >/dev/null 2>&1; then
        printf '%s\n' "$want"
        return 0
    fi
    v=$(apt-cache show --no-all-versions "$pkg" 2>/dev/null | sed -n 's/^Version: //p' | head -n 1)
    [ -n "$v" ] && printf '%s\n' "$v"
}

# fetch_debs DEBDIR KVER: makes sure DEBDIR holds the packages; sets DEB_FILES.
# Xen packages are pinned to the installed libxen version (the payload's binaries link
# the host's libraries), the kernel to the installed headers' version, where the archive
# still has them.
fetch_debs() {
    local debdir=$1 kver=$2 p v f pin_xen pin_linux tried_update=0
    local pkgs=("${XEN_PKGS[@]}" "linux-image-$kver")
    mkdir -p "$debdir"
    pin_xen=$(dpkg-query -W -f='${Version}' libxenstore4 2>/dev/null || true)
    pin_linux=$(dpkg-query -W -f='${Version}' "linux-headers-$kver" 2>/dev/null || true)
    DEB_FILES=()
    for p in "${pkgs[@]}"; do
        # Fast path (apt-cache takes seconds): the cache has the pinned version.
        case $p in linux-image-*) v=$pin_linux ;; *) v=$pin_xen ;; esac
        f=
        [ -n "$v" ] && f=$(find "$debdir" -maxdepth 1 -name "${p}_${v/:/%3a}_*.deb" | head -n 1)
        while [ -z "$f" ]; do
            case $p in linux-image-*) v=$(_deb_version "$p" "$pin_linux") ;;
                       *) v=$(_deb_version "$p" "$pin_xen") ;; esac
            if [ -n "$v" ]; then
                f=$(find "$debdir" -maxdepth 1 -name "${p}_${v/:/%3a}_*.deb" | head -n 1)
                [ -n "$f" ] && break
                echo "xen-testbed: downloading $p=$v"
                if (cd "$debdir" && apt-get -q=2 -o APT::Sandbox::User=root download "$p=$v"); then
                    f=$(find "$debdir" -maxdepth 1 -name "${p}_${v/:/%3a}_*.deb" | head -n 1)
                    [ -n "$f" ] && break
                fi
            elif [ "$tried_update" = 1 ] || [ "$(id -u)" != 0 ]; then
                # No package lists: use what the cache has, if anything.
                f=$(find "$debdir" -maxdepth 1 -name "${p}_*.deb" | sort -V | tail -n 1)
                [ -n "$f" ] && break
            fi
            if [ "$tried_update" = 1 ] || [ "$(id -u)" != 0 ]; then
                echo "xen-testbed: cannot download $p (no network or no such package?)" >&2
                return 1
            fi
            echo "xen-testbed: apt-get update (to find $p)"
            apt-get -q=2 update || true
            tried_update=1
        done
        # Older versions of this package are of no more use.
        find "$debdir" -maxdepth 1 -name "${p}_*.deb" ! -name "$(basename "$f")" -delete
        DEB_FILES+=("$f")
    done
}

# copy_elf ROOT FILE...: copies each file to the same path under ROOT, with the shared
# libraries ldd finds for it (at their paths too).
copy_elf() {
    local root=$1 f lib
    shift
    for f in "$@"; do
        mkdir -p "$root$(dirname "$f")"
        cp -L "$f" "$root$f"
        copy_libs "$root" "$f"
    done
}

# copy_libs ROOT FILE...: copies the shared libraries of each (dynamic) ELF file into ROOT.
copy_libs() {
    local root=$1
    shift
    copy_libs_outside "$root" "" "$@"
}

# copy_libs_outside ROOT DIR FILE...: copy_libs, but a library the host finds
# below DIR (the build tree, the unpacked package) is not copied: in the guest
# the loader finds the packaged one instead (RUNPATH into the build tree names
# a folder the guest lacks, so ld.so.cache decides). An empty DIR skips nothing.
copy_libs_outside() {
    local root=$1 dir=$2 f out lib missing
    shift 2
    for f in "$@"; do
        out=$(LC_ALL=C ldd "$f" 2>/dev/null) || continue   # not dynamic
        missing=$(printf '%s\n' "$out" | sed -n 's/^[[:space:]]*\([^ ]*\) => not found.*/\1/p')
        if [ -n "$missing" ]; then
            echo "xen-testbed: $f needs libraries this host lacks: $missing" >&2
            return 1
        fi
        for lib in $(printf '%s\n' "$out" | sed -n -e 's/.*=> \(\/[^ ]*\) (0x.*/\1/p' \
                                                   -e 's/^[[:space:]]*\(\/[^ ]*\) (0x.*/\1/p'); do
            if [ -n "$dir" ]; then
                case $lib in "$dir"/*) continue ;; esac
            fi
            [ -e "$root$lib" ] && continue
            mkdir -p "$root$(dirname "$lib")"
            cp -L "$lib" "$root$lib"
        done
    done
}

# Busybox with all its applets, ldconfig, libgcc_s (glibc dlopens it), the usual dirs.
_base_common() {
    local root=$1 a bb
    bb=$(command -v busybox)
    mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,lib64,lib/x86_64-linux-gnu,etc,proc,sys,dev,run,tmp,root,var/log,var/lib,var/tmp}
    cp -L "$bb" "$root/bin/busybox"
    for a in $("$bb" --list-full); do
        [ -e "$root/$a" ] || ln -s /bin/busybox "$root/$a"
    done
    cp -L /sbin/ldconfig "$root/sbin/ldconfig"
    local gcc_s
    gcc_s=$(ldconfig -p | sed -n 's/.*libgcc_s.so.1 (libc6,x86-64) => \(.*\)$/\1/p' | head -n 1)
    [ -n "$gcc_s" ] || { echo "xen-testbed: no libgcc_s.so.1 on this host" >&2; return 1; }
    mkdir -p "$root$(dirname "$gcc_s")"
    cp -L "$gcc_s" "$root$gcc_s"
    ln -sfn /run "$root/var/run"
    ln -sfn /run/lock "$root/var/lock"
    printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
    printf 'root:x:0:\n' >"$root/etc/group"
    printf 'include /etc/ld.so.conf.d/*.conf\n' >"$root/etc/ld.so.conf"
    mkdir -p "$root/etc/ld.so.conf.d"
    printf '/lib/x86_64-linux-gnu\n/usr/lib/x86_64-linux-gnu\n/usr/local/lib\n' \
        >"$root/etc/ld.so.conf.d/x86_64-linux-gnu.conf"
}

# The xen modules of the kernel (drivers/xen and the split drivers), with what they need,
# and brd (a RAM block device: the O_DIRECT target of the gntdev-pin scenario).
_base_modules() {
    local src=$1 root=$2 kver=$3 m dep
    local md=lib/modules/$kver
    mkdir -p "$root/$md"
    cp "$src/$md"/modules.{order,builtin,builtin.modinfo} "$root/$md/"
    {
        (cd "$src/$md" && find kernel/drivers/xen -name '*.ko')
        for m in drivers/block/xen-blkfront drivers/net/xen-netfront drivers/pci/xen-pcifront \
                 drivers/block/xen-blkback/xen-blkback drivers/net/xen-netback/xen-netback \
                 drivers/char/tpm/xen-tpmfront drivers/block/brd; do
            [ -f "$src/$md/kernel/$m.ko" ] && echo "kernel/$m.ko"
        done
    } | while read -r m; do
        echo "$m"
        # modules.dep line: "kernel/x.ko: kernel/dep1.ko kernel/dep2.ko"
        dep=$(grep "^$m:" "$src/$md/modules.dep" | cut -d: -f2)
        for m in $dep; do echo "$m"; done
    done | sort -u | while read -r m; do
        mkdir -p "$root/$md/$(dirname "$m")"
        cp "$src/$md/$m" "$root/$md/$m"
    done
    depmod -b "$root" "$kver"
}

_cpio() {   # _cpio DIR FILE
    (cd "$1" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$2"
}

# build_base CACHE KVER: sets BASE_DIR to an up-to-date base image directory.
build_base() {
    local cache=$1 kver=$2 key tmp x d0 g off f
    key=$( { printf '%s\n' "${DEB_FILES[@]##*/}"; cat "${BASH_SOURCE[0]}"; command -v busybox; } \
           | sha256sum | cut -c1-16)
    BASE_DIR=$cache/base-$key
    [ -f "$BASE_DIR/ok" ] && return 0
    echo "xen-testbed: building base images in $BASE_DIR"
    tmp=$(mktemp -d "$cache/tmp.base.XXXXXX")
    x=$tmp/x d0=$tmp/dom0 g=$tmp/guest
    mkdir -p "$x"
    for f in "${DEB_FILES[@]}"; do dpkg-deb -x "$f" "$x"; done
    depmod -b "$x" "$kver"

    # Xen and the kernel, as ELF files.
    gunzip -c "$x/boot/xen-$XEN_VER-amd64.gz" >"$tmp/xen"
    off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$x/boot/vmlinuz-$kver" | head -n 1 | cut -d: -f1)
    [ -n "$off" ] || { echo "xen-testbed: no XZ payload in vmlinuz-$kver" >&2; return 1; }
    tail -c +$((off + 1)) "$x/boot/vmlinuz-$kver" | xz -dc --single-stream >"$tmp/vmlinux"

    # Guest: busybox, modules, the xenstore CLI (for the agent).
    _base_common "$g"
    _base_modules "$x" "$g" "$kver"
    copy_libs "$g" "$x/usr/bin/xenstore"
    cp "$x/usr/bin/xenstore" "$g/usr/bin/xenstore"
    for f in read write rm ls list exists chmod watch; do
        ln -s xenstore "$g/usr/bin/xenstore-$f"
    done
    ldconfig -r "$g"

    # Dom0: the same plus the real toolstack, and the guest's kernel and base image.
    _base_common "$d0"
    _base_modules "$x" "$d0" "$kver"
    mkdir -p "$d0/usr/lib/xen-$XEN_VER/bin"
    for f in "$x/usr/lib/xen-$XEN_VER/bin"/*; do
        [ -f "$f" ] || continue
        cp -P "$f" "$d0/usr/lib/xen-$XEN_VER/bin/"
        if head -c 4 "$f" | grep -q 'ELF'; then copy_libs "$d0" "$f"; fi
    done
    cp -a "$g/usr/bin/xenstore"* "$d0/usr/bin/"
    ln -sfn "/usr/lib/xen-$XEN_VER/bin/xenstore-control" "$d0/usr/bin/xenstore-control"
    [ -d "$x/etc/xen" ] && cp -a "$x/etc/xen" "$d0/etc/"
    mkdir -p "$d0"/var/lib/{xen,xenstored,vgpu} "$d0"/var/log/xen/console "$d0/etc/xen"
    cp "$tmp/vmlinux" "$d0/var/lib/vgpu/vmlinux"
    _cpio "$g" "$d0/var/lib/vgpu/guest-base.cpio"
    ldconfig -r "$d0"

    _cpio "$d0" "$tmp/dom0-base.cpio"
    mv "$d0/var/lib/vgpu/guest-base.cpio" "$tmp/guest-base.cpio"
    echo "$kver" >"$tmp/kver"
    rm -rf "$x" "$d0" "$g"
    touch "$tmp/ok"
    # Replace older base images.
    find "$cache" -maxdepth 1 -name 'base-*' ! -name "base-$key" -exec rm -rf {} +
    rm -rf "$BASE_DIR"
    mv "$tmp" "$BASE_DIR"
}
