#!/bin/sh
# shellcheck shell=dash
# Xen testbed: dom0's /init (busybox sh, PID 1). Brings up the real toolstack
# (xenstored, xen-init-dom0, xenconsoled), creates the guests g1..gN, runs the scenarios
# (or gives a shell in interactive mode), prints the result markers run.sh reads, and
# reboots, which ends QEMU (-no-reboot).
export PATH=/opt/vgpu/bin:/usr/lib/xen-4.17/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=linux

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /dev/shm
mkdir -p /run/lock /run/xen /run/xenstored /run/vgpu /var/log/xen/console /var/lib/xen
ldconfig
dmesg -c >/dev/null   # boot messages were on the console already
dmesg -n 5            # from now on only warnings and worse on the console

# shellcheck source=/dev/null
. /vgpu/config   # GUESTS SCENARIOS INTERACTIVE GUEST_MEM STEP_TIMEOUT KVER KO_NOTE HOST_BINS PKG_NOTE
: "${GUESTS:=2}" "${SCENARIOS:=}" "${INTERACTIVE:=0}" "${KO_NOTE:=}" "${HOST_BINS:=}"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. /vgpu/lib.sh

finish() {
    echo "=== dom0: xl list"
    xl list 2>&1
    echo "=== dom0: kernel messages since boot"
    dmesg
    echo "=== dom0: results: $(grep -c PASS "$VGPU_RUN/results" 2>/dev/null) passed," \
         "$(grep -c FAIL "$VGPU_RUN/results" 2>/dev/null) failed"
    _marker DONE
    sync
    sleep 1
    reboot -f
}

echo "=== dom0: up, kernel $(uname -r), $(nproc) vcpus, $GUESTS guest(s), scenarios: $SCENARIOS"
echo "=== dom0: module: $KO_NOTE"
echo "=== dom0: project binaries: ${HOST_BINS:-none}"
[ -z "${PKG_NOTE:-}" ] || echo "=== dom0: installed from the packages: $PKG_NOTE"

toolstack() {
    local m
    for m in xen-privcmd xenfs xen-evtchn xen-gntdev xen-gntalloc; do
        modprobe "$m" || { echo "modprobe $m failed"; return 1; }
    done
    mount -t xenfs xenfs /proc/xen || return 1
    xenstored --pid-file /run/xenstored.pid || { echo "xenstored failed"; return 1; }
    wait_for 10 xenstore-exists / || { echo "xenstored does not answer"; return 1; }
    xen-init-dom0 || { echo "xen-init-dom0 failed"; return 1; }
    xenconsoled --pid-file=/run/xenconsoled.pid --log=guest --log-dir=/var/log/xen/console \
        || { echo "xenconsoled failed"; return 1; }
    xl list
}

cat /var/lib/vgpu/guest-base.cpio /vgpu/guest-payload.cpio >"$VGPU_RUN/guest-initrd"

# shellcheck disable=SC2031,SC2034 # read by step() in lib.sh
SCENARIO=setup
ok=1
step "dom0 toolstack up (xenstored, xen-init-dom0, xenconsoled, xl list)" toolstack || ok=0
if [ $ok = 1 ]; then
    i=1
    while [ "$i" -le "$GUESTS" ]; do
        step "guest $i created (xl create -e)" guest_create "$i" || ok=0
        i=$((i + 1))
    done
    # The guests boot at the same time; the first wait is the longest.
    boot_wait=$((120 + 30 * GUESTS))
    step_timeout=$STEP_TIMEOUT
    STEP_TIMEOUT=$((boot_wait + 30))
    i=1
    while [ "$i" -le "$GUESTS" ]; do
        if [ -s "$VGPU_RUN/g$i.domid" ]; then
            step "guest $i booted, its agent answers" guest_wait_up "$i" "$boot_wait" || ok=0
        fi
        i=$((i + 1))
    done
    STEP_TIMEOUT=$step_timeout
fi

for s in $SCENARIOS; do
    if [ $ok = 1 ]; then
        run_scenario "$s"
    else
        SCENARIO=$s step "not run: the setup failed" false
    fi
done

if [ "$INTERACTIVE" = 1 ]; then
    cat >/root/.profile <<'EOF'
. /vgpu/config
. /vgpu/lib.sh
PS1='dom0# '
EOF
    cat <<EOF

=== vgpu-xen testbed: dom0 shell. Guests: g1..g$GUESTS (xl list; xl console gN, Ctrl-] leaves).
    Helpers from /vgpu/lib.sh: guest_run IDX CMD, guest_domid IDX, vgpu_write_nodes DOMID DEVID,
    xs_dump [PATH], run_scenario NAME (scenarios in /vgpu/scenarios). Guest consoles:
    /var/log/xen/console/. Leave the shell to power off (or Ctrl-a x in QEMU).
EOF
    setsid cttyhack sh -l
fi
finish
