# shellcheck shell=dash
# guest-cuda: the guest libcuda.so.1 inside a Xen guest, through /dev/vgpu_stub (the kmod
# transport) to the real vgpu-backend in dom0 (xen transport, cpu executor, a 64 MiB
# quota): tests/cuda's driver-API programs, built against cuda-api/cuda.h and linked with
# -lcuda only, run unchanged. test_cu_module loads nvcc 13.0's images (PTX, fat binaries,
# a registration wrapper), lays out and launches real kernels (the cpu executor runs their
# PTX), writes __constant__ and __device__ variables, uses dynamic shared memory, streams
# and events, checks every result on the CPU and ends with a kernel that faults. A
# selection of test_cu_errors's bad-input rows (each in a process of its own) gets the
# CUresults a driver gives. The trace names every call. Afterwards nothing is in flight,
# granted or allocated.

KO=/lib/vgpu/vgpu-front.ko
G=1
D=$(guest_domid "$G")
BE=/local/domain/0/backend/vgpu/$D/0
FE=/local/domain/$D/device/vgpu/0
SYS=/sys/bus/xen/devices/vgpu-0/vgpu
DATA=/vgpu/cuda-data

blog() {
    local f=/var/log/vgpu-xen/backend-$D.log
    [ -f "$f" ] && { echo "--- $f (last 30 lines):"; tail -n 30 "$f"; }
    return 0
}
g() {
    guest_run "$G" "$*" && return 0
    guest_run "$G" 'echo "--- guest dmesg:"; dmesg | tail -n 15'
    blog
    return 1
}

attach() {
    if xenstore-exists "$BE"; then
        echo "guest $G already has a vgpu device: detaching it for a fresh one"
        vgpu-detach "$D" --timeout 60 || return 1
    fi
    vgpu-attach "$D" --executor cpu --mem-quota 64M --no-systemd --wait 60 || { blog; return 1; }
}

load() {
    g "[ -f $KO ] || { echo 'no $KO in the guest (host: $KO_NOTE)'; exit 1; }
       grep -q '^vgpu_front ' /proc/modules || insmod $KO || exit 1
       i=0; while [ ! -c /dev/vgpu_stub ] && [ \$i -lt 50 ]; do sleep 0.1; i=\$((i+1)); done
       ls -l /dev/vgpu_stub" || return 1
    wait_for 60 sh -c "[ \"\$(xenstore-read $BE/state)\" = 4 ] && [ \"\$(xenstore-read $FE/state)\" = 4 ]" ||
        { echo "not Connected"; blog; return 1; }
}

programs_there() {
    g "for p in test_cu_module test_cu_errors; do
           [ -x /opt/vgpu/bin/\$p ] || { echo \"\$p was not built (tests/cuda)\"; exit 1; }
       done
       ls $DATA/kern.default.fatbin $DATA/kern.compute_90.ptx >/dev/null"
}

module_program() {
    GUEST_RUN_TIMEOUT=600   # every kernel runs on dom0's PTX interpreter, under TCG
    g "VGPU_DEVICE=/dev/vgpu_stub test_cu_module $DATA" >/tmp/guest-cuda-module.out 2>&1
    cat /tmp/guest-cuda-module.out
    grep -q '^test_cu_module: [0-9]* checks, 0 failed' /tmp/guest-cuda-module.out
}

# One row per issue-#12 bad-input class (the loopback tier runs all 127).
bad_inputs() {
    GUEST_RUN_TIMEOUT=600
    g "VGPU_DEVICE=/dev/vgpu_stub test_cu_errors $DATA noinit_alloc noctx_alloc null_alloc \
           null_htod_src freed_free freed_dtoh dead_ctx_dtoh other_ctx_function dead_stream_sync \
           dead_stream_launch dead_event_record unloaded_launch unloaded_get_function \
           launch_short_buffer launch_no_params launch_block_too_big alloc_past_device \
           alloc_past_quota_in_two" >/tmp/guest-cuda-errors.out 2>&1
    cat /tmp/guest-cuda-errors.out
    grep -q '^test_cu_errors: 18 checks, 0 failed' /tmp/guest-cuda-errors.out
}

trace() {
    local out
    out=$(g "VGPU_DEVICE=/dev/vgpu_stub VGPU_CUDA_TRACE=1 test_cu_errors $DATA launch_ok 2>&1") ||
        { echo "$out"; return 1; }
    echo "$out" | grep -E 'cuLaunchKernel|cuModuleLoadData' | head -n 5
    echo "$out" | grep -q '^libcuda\[[0-9]*:[0-9]*\] cuLaunchKernel(.*= CUDA_SUCCESS$'
}

clean() {
    g "i=0; while { [ \$(cat $SYS/inflight) != 0 ] || [ \$(cat $SYS/grants) != 0 ]; } && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i+1)); done
       echo \"inflight \$(cat $SYS/inflight), grants \$(cat $SYS/grants), broken \$(cat $SYS/broken_count)\"
       [ \$(cat $SYS/inflight) = 0 ] && [ \$(cat $SYS/grants) = 0 ] && [ \$(cat $SYS/broken_count) = 0 ] || exit 1
       vgpu info | grep '^mem used'; vgpu info | grep -q '^mem used: *0 bytes\$'"
}

step "guest $G: vgpu-attach (cpu executor, 64 MiB quota)" attach &&
step "guest $G: module loads, both ends Connected" load &&
step "guest $G: the driver-API programs and nvcc's images are in the guest" programs_there &&
{ [ "$STEP_TIMEOUT" -ge 660 ] || STEP_TIMEOUT=660
  step "guest $G: test_cu_module through /dev/vgpu_stub (real kernels, results checked)" module_program
  step "guest $G: bad inputs get a driver's CUresults (18 rows of test_cu_errors)" bad_inputs; }
step "guest $G: VGPU_CUDA_TRACE names each call and its result" trace
step "guest $G: nothing in flight, granted or allocated afterwards" clean
vgpu-detach "$D" --timeout 60 >/dev/null 2>&1 || true
