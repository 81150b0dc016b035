#!/usr/bin/env bash
# Real-Xen testbed: boots Xen 4.17, a Debian dom0 with the real toolstack and N PV guests
# under QEMU, and runs scenario scripts in dom0. See docs/testbed.md.
#
# usage: tests/xen/run.sh [--guests N] [--interactive] [--keep] [--log-dir DIR] [SCENARIO...]
#   SCENARIO      name of tests/xen/scenarios/NAME.sh (default: smoke; none with
#                 --interactive). All of them run in one boot, one after another.
#   --guests N    number of guests, 1..7 (default 2)
#   --interactive boot, set up the guests, run the named scenarios if any, then give a
#                 dom0 shell on this terminal (Ctrl-a x quits QEMU)
#   --keep        keep the per-run work folder (payload trees, initrds, boot command)
#   --log-dir DIR console logs (default $VGPU_BUILD_DIR/xen-logs): dom0.log, guest-N.log
# Prints "PASS: <scenario>: <step>" / "FAIL: <scenario>: <step>" per step, then
# "N passed, N failed". Exit 0 when all passed; 1 when a step failed or the boot failed or
# timed out; 77 (after a "SKIP: reason" line) when QEMU cannot run here; 2 on bad usage.
#
# Environment: VGPU_BUILD_DIR (default build, relative to the repo root), holding bin/
# (the project's executables, copied into dom0 and the guests) and, for this testbed,
# xen-cache/ (downloaded .debs, base images) and xen-logs/.
# VGPU_DEBS          a folder of the project's packages (make deb: build/debs): dom0 and
#                    the guests then get the packages' contents (dpkg-deb -x) and the
#                    module DKMS built from vgpu-front-dkms, and from bin/ only the test
#                    helpers (tests/packages/test-helpers.txt); make check and make e2e
#                    set it
# VGPU_XEN_TIMEOUT   hard limit on the whole boot in seconds (default 300 + 30 per guest;
#                    dom0 has its own shorter limits per step, so a failure ends sooner)
# VGPU_XEN_GUEST_MEM guest memory in MiB (default 192)
# VGPU_XEN_STEP_TIMEOUT  seconds one step may take in dom0 (default 90)
# VGPU_XEN_XEN_ARGS, VGPU_XEN_DOM0_ARGS, VGPU_XEN_GUEST_ARGS  extra command line for Xen,
#                    dom0's kernel, the guests' kernel
# VGPU_XEN_QEMU_CPU, VGPU_XEN_ACCEL  QEMU's -cpu (default max) and -accel (default
#                    tcg,thread=multi, or tcg,thread=single when the host is already busy)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=base.sh
. "$HERE/base.sh"

usage() { sed -n '5,33s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2; exit 2; }

GUESTS=2 INTERACTIVE=0 KEEP=0 LOG_DIR='' SCENARIOS=()
while [ $# -gt 0 ]; do
    case $1 in
        --guests) [ $# -ge 2 ] || usage; GUESTS=$2; shift 2 ;;
        --guests=*) GUESTS=${1#*=}; shift ;;
        --interactive) INTERACTIVE=1; shift ;;
        --keep) KEEP=1; shift ;;
        --log-dir) [ $# -ge 2 ] || usage; LOG_DIR=$2; shift 2 ;;
        --log-dir=*) LOG_DIR=${1#*=}; shift ;;
        -h|--help) usage ;;
        -*) echo "run.sh: unknown option $1" >&2; usage ;;
        *) SCENARIOS+=("$1"); shift ;;
    esac
done
case $GUESTS in [1-7]) ;; *) echo "run.sh: --guests must be 1..7" >&2; exit 2 ;; esac
if [ ${#SCENARIOS[@]} -eq 0 ] && [ "$INTERACTIVE" = 0 ]; then SCENARIOS=(smoke); fi
for s in ${SCENARIOS[@]+"${SCENARIOS[@]}"}; do
    case $s in *[!A-Za-z0-9_.-]*|'') echo "run.sh: bad scenario name '$s'" >&2; exit 2 ;; esac
    [ -f "$HERE/scenarios/$s.sh" ] || { echo "run.sh: no scenario $HERE/scenarios/$s.sh" >&2; exit 2; }
done

BUILD=${VGPU_BUILD_DIR:-build}
case $BUILD in /*) ;; *) BUILD=$REPO/$BUILD ;; esac
CACHE=$BUILD/xen-cache
LOG_DIR=${LOG_DIR:-$BUILD/xen-logs}
GUEST_MEM=${VGPU_XEN_GUEST_MEM:-192}
STEP_TIMEOUT=${VGPU_XEN_STEP_TIMEOUT:-90}
TIMEOUT=${VGPU_XEN_TIMEOUT:-$((300 + 30 * GUESTS))}
T0=$(date +%s)

skip() { echo "SKIP: $*"; exit 77; }
die() { echo "xen-testbed: $*" >&2; echo "FAIL: testbed: $*"; echo "0 passed, 1 failed"; exit 1; }

# --- can QEMU run here? -----------------------------------------------------------------
[ "$(uname -m)" = x86_64 ] || skip "the Xen testbed needs an x86_64 host (this is $(uname -m))"
if ! command -v dpkg >/dev/null || ! command -v apt-get >/dev/null; then
    skip "the Xen testbed builds its images from Debian packages; no dpkg/apt-get here"
fi

missing=()
while read -r p; do
    case $p in ''|'#'*) continue ;; esac
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done <"$HERE/packages.txt"
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        skip "packages missing (${missing[*]}) and not root to install them: run as root, or" \
             "apt-get install them (list in tests/xen/packages.txt)"
    fi
    echo "xen-testbed: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -q=2 update || true
    apt-get -q=2 install -y --no-install-recommends "${missing[@]}" >/dev/null \
        || die "apt-get install ${missing[*]} failed"
fi
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not found"
qemu-system-x86_64 -accel help 2>/dev/null | grep -qx tcg \
    || skip "qemu-system-x86_64 has no TCG accelerator"
KVER=$(xen_kver) || die "no /usr/src/linux-headers-*-amd64 (package linux-headers-amd64)"

# --- Debian packages and base images (cached) -------------------------------------------
mkdir -p "$CACHE" "$LOG_DIR"
exec 9>"$CACHE/lock"
flock 9   # one builder at a time; the images are read-only afterwards
fetch_debs "$CACHE/debs" "$KVER" || die "could not get the Debian packages (see above)"
build_base "$CACHE" "$KVER" || die "could not build the base images (see above)"
flock -u 9
T_BASE=$(date +%s)

# --- payload: the project's binaries, the module, the scripts ---------------------------
WORK=$(mktemp -d "$BUILD/xen-work.XXXXXX")
cleanup() {
    # timeout(1) passes the signal on to QEMU.
    if [ -s "$WORK/qemu.pid" ]; then kill "$(cat "$WORK/qemu.pid")" 2>/dev/null || true; fi
    if [ "$KEEP" = 1 ]; then echo "xen-testbed: work folder kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

P0=$WORK/dom0-payload PG=$WORK/guest-payload
mkdir -p "$P0/vgpu/scenarios" "$P0/opt/vgpu/bin" "$PG/vgpu" "$PG/opt/vgpu/bin"
DEBS=${VGPU_DEBS:-}
BINS=() PROGS=()
# The test helpers of bin/ (the only programs no package ships).
HELPERS=" $(sed -e 's/#.*//' "$REPO/tests/packages/test-helpers.txt" | tr '\n' ' ') "
if [ -d "$BUILD/bin" ]; then
    for f in "$BUILD/bin"/*; do
        if [ ! -f "$f" ] || [ ! -x "$f" ]; then continue; fi
        # From the packages, bin/ gives the test helpers only: a program missing
        # from its package is then missing in dom0 or the guest too.
        if [ -n "$DEBS" ]; then case $HELPERS in *" ${f##*/} "*) ;; *) continue ;; esac; fi
        BINS+=("$f")
    done
fi
for f in ${BINS[@]+"${BINS[@]}"}; do
    for r in "$P0" "$PG"; do
        cp -L "$f" "$r/opt/vgpu/bin/"
        copy_libs "$r" "$f" || die "cannot collect the libraries of $f"
    done
    PROGS+=("opt/vgpu/bin/${f##*/}")
done

# --- the packages (VGPU_DEBS: make deb's output): installed into dom0 and the guests --
# Unpacked as dpkg would (dpkg-deb -x); what their maintainer scripts do that
# matters here is done too: vgpu-xen-libcuda's ld.so.conf.d link (taken from
# its postinst) and DKMS's build of vgpu-front-dkms, which scripts/dkms-check.sh
# made from the package for this kernel and which goes where DKMS puts it.
PKG_NOTE=
if [ -n "$DEBS" ]; then
    case $DEBS in /*) ;; *) DEBS=$PWD/$DEBS ;; esac
    [ -d "$DEBS" ] || die "VGPU_DEBS=$DEBS is not a folder (make deb makes build/debs)"
    deb_install() {   # deb_install ROOT PACKAGE...
        local root=$1 p deb f lp
        shift
        for p in "$@"; do
            deb=$(find "$DEBS" -maxdepth 1 -name "${p}_*.deb" | sort -V | tail -n 1)
            [ -n "$deb" ] || die "no ${p}_*.deb in $DEBS (make deb)"
            dpkg-deb -x "$deb" "$root" || die "dpkg-deb -x $deb failed"
            PKG_NOTE="$PKG_NOTE ${deb##*/}"
        done
        # The system libraries the packaged programs and libraries need (their
        # own come with the packages: the loader looks in the tree's folders).
        lp=
        if [ -d "$root/usr/lib" ]; then
            lp=$(find "$root/usr/lib" -name '*.so*' -printf '%h\n' | sort -u | tr '\n' ':')
        fi
        while IFS= read -r f; do
            head -c 4 "$f" | grep -q ELF || continue
            LD_LIBRARY_PATH=$lp copy_libs_outside "$root" "$root" "$f" \
                || die "cannot collect the libraries of ${f#"$root"}"
        done < <(find "$root/usr" \( -type f -o -type l \) \( -perm -u+x -o -name '*.so*' \) ! -path '*/debug/*')
    }
    deb_install "$P0" vgpu-xen-dom0
    deb_install "$PG" vgpu-xen-guest libvgpu0 vgpu-xen-libcuda
    for r in "$P0" "$PG"; do
        for f in "$r"/usr/bin/* "$r"/usr/sbin/*; do
            [ -f "$f" ] && PROGS+=("${f#"$r/"}")
        done
    done
    # vgpu-xen-libcuda's postinst: update-alternatives --install LINK NAME PATH PRIO.
    ctl=$WORK/libcuda-ctl
    dpkg-deb -e "$(find "$DEBS" -maxdepth 1 -name 'vgpu-xen-libcuda_*.deb' | sort -V | tail -n 1)" "$ctl"
    read -r link target < <(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$ctl/postinst" |
        sed -n 's/.*update-alternatives --quiet --install[[:space:]]\+\([^[:space:]]\+\)[[:space:]]\+[^[:space:]]\+[[:space:]]\+\([^[:space:]]\+\)[[:space:]].*/\1 \2/p' |
        sed 's/#DEB_HOST_MULTIARCH#/x86_64-linux-gnu/g' | head -n 1) || true
    if [ -z "${link:-}" ] || [ ! -e "$PG${target:-/nonexistent}" ]; then
        die "vgpu-xen-libcuda's postinst links no ld.so.conf.d snippet to a file it holds" \
            "(${link:-?} -> ${target:-?})"
    fi
    mkdir -p "$PG$(dirname "$link")"
    ln -sfn "$target" "$PG$link"
    PKG_NOTE="$PKG_NOTE; $link -> $target"
fi

# Test suites that also run inside the guests (one source for every transport):
# the libvgpu suite's device tier on /dev/vgpu_stub; the guest libcuda.so.1's
# driver-API programs and nvcc's module images they load. Their libraries come
# with them (copy_libs follows their RUNPATH into the build), except, from the
# packages, the project's own: then the guest's loader finds the packaged
# libvgpu.so.0 and libcuda.so.1.
for f in "$BUILD/tests/test_libvgpu" "$BUILD/tests/test_cu_module" "$BUILD/tests/test_cu_errors"; do
    [ -x "$f" ] || continue
    cp -L "$f" "$PG/opt/vgpu/bin/"
    if [ -n "$DEBS" ]; then
        copy_libs_outside "$PG" "$BUILD" "$f" || die "cannot collect the libraries of $f"
    else
        copy_libs "$PG" "$f" || die "cannot collect the libraries of $f"
    fi
done
if [ -d "$REPO/tests/data/cuda-13.0" ]; then
    mkdir -p "$PG/vgpu/cuda-data"
    cp "$REPO"/tests/data/cuda-13.0/*.fatbin "$REPO"/tests/data/cuda-13.0/*.ptx \
       "$REPO"/tests/data/cuda-13.0/*.cubin "$PG/vgpu/cuda-data/"
fi
if [ -n "$DEBS" ]; then
    KO=$DEBS/dkms/$KVER/vgpu-front.ko
    KO_FROM="the DKMS build of vgpu-front-dkms, ${KO#"$DEBS/"}"
else
    KO=$REPO/frontend-kmod/vgpu-front.ko
    KO_FROM=frontend-kmod/vgpu-front.ko
fi
KO_NOTE="absent: $KO_FROM was not built"
if [ -f "$KO" ]; then
    mkdir -p "$PG/lib/vgpu" "$P0/lib/vgpu"
    if [ -n "$DEBS" ]; then
        # Where DKMS installs it (dkms.conf's DEST_MODULE_LOCATION); the
        # scenarios load /lib/vgpu/vgpu-front.ko.
        mkdir -p "$PG/lib/modules/$KVER/updates/dkms"
        cp "$KO" "$PG/lib/modules/$KVER/updates/dkms/vgpu-front.ko"
        ln -s "/lib/modules/$KVER/updates/dkms/vgpu-front.ko" "$PG/lib/vgpu/vgpu-front.ko"
    else
        cp "$KO" "$PG/lib/vgpu/vgpu-front.ko"
    fi
    cp "$KO" "$P0/lib/vgpu/vgpu-front.ko"
    vm=$(modinfo -F vermagic "$KO" 2>/dev/null | cut -d' ' -f1 || true)
    KO_NOTE="$KO_FROM, vermagic $vm"
    [ "$vm" = "$KVER" ] || KO_NOTE="$KO_NOTE (the guests run $KVER: it will not load)"
fi
cp "$HERE/dom0-init.sh" "$P0/init"
cp "$HERE/guest-init.sh" "$PG/init"
cp "$HERE/agent.sh" "$PG/vgpu/agent.sh"
cp "$HERE/lib.sh" "$P0/vgpu/lib.sh"
cp "$HERE"/scenarios/*.sh "$P0/vgpu/scenarios/"
chmod 755 "$P0/init" "$PG/init" "$PG/vgpu/agent.sh"
{
    printf 'GUESTS=%s\n' "$GUESTS"
    printf 'SCENARIOS="%s"\n' "${SCENARIOS[*]:-}"
    printf 'INTERACTIVE=%s\n' "$INTERACTIVE"
    printf 'GUEST_MEM=%s\n' "$GUEST_MEM"
    printf 'GUEST_ARGS="%s"\n' "${VGPU_XEN_GUEST_ARGS:-}"
    printf 'STEP_TIMEOUT=%s\n' "$STEP_TIMEOUT"
    printf 'KVER=%s\n' "$KVER"
    printf 'KO_NOTE="%s"\n' "$KO_NOTE"
    printf 'PKG_NOTE="%s"\n' "${PKG_NOTE# }"
    printf 'HOST_BINS="%s"\n' "$(for f in ${PROGS[@]+"${PROGS[@]}"}; do printf '%s ' "$f"; done)"
} >"$P0/vgpu/config"
_cpio "$PG" "$P0/vgpu/guest-payload.cpio"
_cpio "$P0" "$WORK/dom0-payload.cpio"
cat "$BASE_DIR/dom0-base.cpio" "$WORK/dom0-payload.cpio" >"$WORK/dom0-initrd"

# --- boot ---------------------------------------------------------------------------------
DOM0_MEM=1024
# One host thread per vCPU (MTTCG) is the faster on a quiet host. On a busy one the host
# deschedules vCPU threads holding Xen's or the kernels' spinlocks and the others spin: on
# this 2-core machine with other jobs running, a smoke run took 198-306 s with MTTCG and
# 138 s with one TCG thread. So: one thread when the host is already busy.
ACCEL=${VGPU_XEN_ACCEL:-}
if [ -z "$ACCEL" ]; then
    read -r load1 _ </proc/loadavg
    if awk -v l="$load1" -v n="$(nproc)" 'BEGIN { exit !(l >= n - 0.5) }'; then
        ACCEL=tcg,thread=single
    else
        ACCEL=tcg,thread=multi
    fi
fi
MEM=$((DOM0_MEM + GUESTS * (GUEST_MEM + 8) + 96))
XEN_ARGS="console=com1 com1=115200,8n1 dom0_mem=${DOM0_MEM}M,max:${DOM0_MEM}M dom0_max_vcpus=2"
# spec-ctrl=eager-fpu: with Xen's default lazy FPU switching (its choice on the AMD CPU
# that QEMU's "max" model claims to be), processes in dom0 and the guests crash at random,
# mostly just after fork (segfaults in ld.so and in glibc's fork, "corrupted double-linked
# list" in xl): vector registers that are wrong after a lazy restore under TCG, it seems.
# With eager switching those crashes stopped (see docs/testbed.md).
XEN_ARGS="$XEN_ARGS smap=0 smep=0 spec-ctrl=eager-fpu loglvl=all guest_loglvl=all"
XEN_ARGS="$XEN_ARGS ${VGPU_XEN_XEN_ARGS:-}"
DOM0_ARGS="console=hvc0 earlyprintk=xen rdinit=/init ${VGPU_XEN_DOM0_ARGS:-}"
# shellcheck disable=SC2054 # commas inside QEMU options
QEMU=(qemu-system-x86_64 -accel "$ACCEL" -cpu "${VGPU_XEN_QEMU_CPU:-max}" -m "$MEM" -smp 2
      -display none -vga none -net none -no-reboot -nodefaults
      -kernel "$BASE_DIR/xen" -append "$XEN_ARGS"
      -initrd "$BASE_DIR/vmlinux $DOM0_ARGS,$WORK/dom0-initrd")
rm -f "$LOG_DIR"/dom0.log "$LOG_DIR"/guest-*.log
printf '%q ' "${QEMU[@]}" >"$WORK/boot.cmd"

if [ "$INTERACTIVE" = 1 ]; then
    echo "xen-testbed: interactive boot (Ctrl-a x quits QEMU; Ctrl-a c for its monitor)."
    echo "xen-testbed: console also logged to $LOG_DIR/dom0.log"
    rc=0
    "${QEMU[@]}" -chardev "stdio,id=con,mux=on,signal=off,logfile=$LOG_DIR/dom0.log" \
        -serial chardev:con -mon chardev=con || rc=$?
    exit "$rc"
fi

echo "xen-testbed: Xen $XEN_VER, kernel $KVER, $GUESTS guest(s), scenarios: ${SCENARIOS[*]}"
echo "xen-testbed: QEMU -accel $ACCEL (host load ${load1:-?} on $(nproc) cores)"
echo "xen-testbed: module: $KO_NOTE"
if [ -n "$DEBS" ]; then
    echo "xen-testbed: installed from the packages:$PKG_NOTE"
fi
echo "xen-testbed: programs: ${PROGS[*]:-none}"
echo "xen-testbed: logs in $LOG_DIR (limit ${TIMEOUT}s)"

PASSED=0 FAILED=0 DONE=0
declare -a BUF=()
GUEST_FAIL=()
demux() {
    local line g text
    while IFS= read -r line || [ -n "$line" ]; do
        line=${line//$'\r'/}
        case $line in
            @@G[0-9]@@*)
                g=${line:3:1}
                printf '%s\n' "${line:7}" >>"$LOG_DIR/guest-$g.log"
                continue ;;
        esac
        printf '%s\n' "$line" >>"$LOG_DIR/dom0.log"
        case $line in
            *@@VGPU@@\ *)
                text=${line#*@@VGPU@@ }
                case $text in
                    STEP\ *) BUF=() ;;
                    PASS\ *) PASSED=$((PASSED + 1)); echo "PASS: ${text#PASS }" ;;
                    FAIL\ *) FAILED=$((FAILED + 1)); echo "FAIL: ${text#FAIL }"
                             if [ ${#BUF[@]} -gt 0 ]; then printf '    | %s\n' "${BUF[@]}"; fi
                             BUF=() ;;
                    GUESTFAIL\ *) GUEST_FAIL+=("${text#GUESTFAIL }") ;;
                    DONE*) DONE=1 ;;
                esac ;;
            *)
                BUF+=("$line")
                [ ${#BUF[@]} -gt 40 ] && BUF=("${BUF[@]:1}") ;;
        esac
    done
}

qrc=0
exec 8< <(
    timeout -k 5 "$TIMEOUT" "${QEMU[@]}" -serial stdio </dev/null 2>&1 &
    echo $! >"$WORK/qemu.pid"
    r=0; wait $! || r=$?
    echo "@@VGPU@@ QEMU-EXIT $r")
demux <&8 || true
exec 8<&-
rm -f "$WORK/qemu.pid"
qrc=$(sed -n 's/^@@VGPU@@ QEMU-EXIT //p' "$LOG_DIR/dom0.log" | tail -n 1)
T_END=$(date +%s)

guest_tail() {
    local g f
    for g in "$@"; do
        f=$LOG_DIR/guest-$g.log
        echo "--- last lines of $f:"
        if [ -s "$f" ]; then tail -n 25 "$f" | sed 's/^/    /'; else echo "    (empty)"; fi
    done
}

if [ "$DONE" != 1 ]; then
    FAILED=$((FAILED + 1))
    if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
        echo "FAIL: boot: timed out after ${TIMEOUT}s (VGPU_XEN_TIMEOUT)"
    else
        echo "FAIL: boot: QEMU exited (status ${qrc:-?}) before dom0 finished the scenarios"
    fi
    echo "--- last lines of $LOG_DIR/dom0.log:"
    grep -v '^@@VGPU@@ QEMU-EXIT' "$LOG_DIR/dom0.log" | tail -n 40 | sed 's/^/    /'
    mapfile -t gs < <(seq 1 "$GUESTS")
    guest_tail "${gs[@]}"
elif [ "$FAILED" -gt 0 ]; then
    if [ ${#GUEST_FAIL[@]} -gt 0 ]; then
        mapfile -t gs < <(printf '%s\n' "${GUEST_FAIL[@]}" | sort -un)
        guest_tail "${gs[@]}"
    fi
fi
if [ "$FAILED" -gt 0 ]; then
    echo "xen-testbed: logs: $LOG_DIR/dom0.log and $LOG_DIR/guest-N.log"
fi
echo "xen-testbed: images $((T_BASE - T0))s, boot and scenarios $((T_END - T_BASE))s"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ] && [ "$PASSED" -gt 0 ]
