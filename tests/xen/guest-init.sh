#!/bin/sh
# shellcheck shell=dash
# Xen testbed: a guest's /init (busybox sh, PID 1). Mounts the usual filesystems and
# starts the agent (agent.sh) that runs dom0's guest_run requests. With vgpu_interactive
# on the kernel command line, also a shell on the console (xl console gN in dom0).
export PATH=/opt/vgpu/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=linux

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /dev/shm
ldconfig

idx=$(sed -n 's/.*vgpu_guest=\([0-9]*\).*/\1/p' /proc/cmdline)
echo "=== guest ${idx:-?}: init, kernel $(uname -r), $(awk '/MemTotal/ { print $2 " kB" }' /proc/meminfo)"
/vgpu/agent.sh </dev/null >/dev/console 2>&1 &

if grep -q vgpu_interactive /proc/cmdline; then
    while :; do setsid cttyhack sh -l; done
fi
while :; do sleep 3600; done
