#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run.sh BUILD [OUT] - issue #12 on the GPU machine: unmodified CUDA driver-API
# programs and numba-cuda, natively and through the guest libcuda.so.1 over
# the loopback transport (a real vgpu-backend with the cuda executor), in the
# same run, results checked on the CPU, timings side by side.
#
#   1. builds, with the toolkit (nvcc, NVIDIA's cuda.h, its stub libcuda):
#      drv_kernels.cu as a fat binary with SASS for this GPU and PTX, and as
#      PTX alone (JIT-compiled at load); drv_tests.c (fatbin, ptx_jit,
#      constant, dynshared, streams, bench); tests/cuda's test_cu_*.c against
#      NVIDIA's header. Each binary needs libcuda.so.1 and nothing else.
#   2. natively: drv_tests, its bench, numba_axpy.py; tests/cuda's programs
#      on NVIDIA's driver: their FAIL lines are the answers where the guest
#      library's expected CUresult differs from a real driver's (listed in the
#      summary as "driver differs", not failures of this run).
#   3. through the guest library (the same binaries; LD_LIBRARY_PATH=BUILD/
#      libcuda): drv_tests and its bench, tests/cuda's programs (test_cu_module
#      last: it ends with a fault), numba_axpy.py (VGPU_CUDA_TRACE=1 in its log).
#   4. tests/gpu/cuda/decl-check.sh against the toolkit's cuda.h.
#   5. OUT/summary.txt: PASS/FAIL lines, the timings native | guest.
#
# BUILD: a build folder of this repository (BUILD/bin/vgpu-backend,
# vgpu-loopback-xl, BUILD/tests/lcu-devinfo, BUILD/libcuda/libcuda.so.1).
# Exit: 0 when every must-pass step passed, 1 otherwise, 77 (SKIP) without
# nvcc, a GPU or the guest library.
#
# A dry run of the script on a machine with the toolkit but no GPU:
# VGPU_TEST_EXECUTOR=cpu VGPU_GPU_CC=90 run.sh BUILD OUT runs the mediated
# half on the cpu executor (no native runs, no bench, no numba).
set -u
build=$(cd "${1:?usage: run.sh BUILD [OUT]}" && pwd)
out=${2:-$(mktemp -d "${TMPDIR:-/tmp}/gpu-cuda-XXXXXX")}
mkdir -p "$out/bin" || exit 1
out=$(cd "$out" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
data=$root/tests/data/cuda-13.0
lib=$build/libcuda
executor=${VGPU_TEST_EXECUTOR:-cuda}
dry=0
command -v nvcc >/dev/null || { echo "SKIP: no nvcc on PATH"; exit 77; }
if ! nvidia-smi -L >/dev/null 2>&1; then
	[ "$executor" = cpu ] || { echo "SKIP: no NVIDIA GPU"; exit 77; }
	dry=1
fi
[ -e "$lib/libcuda.so.1" ] || { echo "SKIP: no guest libcuda.so.1 in $lib"; exit 77; }
[ -x "$build/bin/vgpu-backend" ] || { echo "SKIP: $build/bin/vgpu-backend is not built"; exit 77; }
cuda=$(cd "$(dirname "$(command -v nvcc)")/.." && pwd)
stubs=$cuda/lib64/stubs
[ -d "$stubs" ] || stubs=$cuda/targets/x86_64-linux/lib/stubs
sum=$out/summary.txt
: > "$sum"
fail=0
say() { echo "$*" | tee -a "$sum"; }

# --- 1. build -------------------------------------------------------------------
if [ $dry = 1 ]; then
	cc=${VGPU_GPU_CC:?a dry run needs VGPU_GPU_CC}
	say "# $(date -u +%FT%TZ) dry run: no GPU, the mediated half on the $executor executor, sm_$cc"
else
	cc=${VGPU_GPU_CC:-$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -n 1 | tr -d ' .')}
	say "# $(date -u +%FT%TZ) $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -n 1), sm_$cc"
fi
say "# $(nvcc --version | tail -n 1)"
b() {   # b LOG CMD...: a build step; a failure ends the run
	"${@:2}" > "$out/$1" 2>&1 || { say "FAIL build: ${*:2} (see $out/$1)"; tail -n 5 "$out/$1"; exit 1; }
}
b nvcc-fatbin.log nvcc -fatbin -gencode "arch=compute_$cc,code=[sm_$cc,compute_$cc]" \
	-o "$out/bin/dk.fatbin" "$here/drv_kernels.cu"
b nvcc-ptx.log nvcc -ptx -arch="compute_$cc" -o "$out/bin/dk.ptx" "$here/drv_kernels.cu"
b cc-drv.log cc -std=gnu11 -O2 -Wall -Wextra -I"$cuda/include" -o "$out/bin/drv_tests" \
	"$here/drv_tests.c" -L"$stubs" -lcuda -lm
cu_tests="test_cu_device test_cu_context test_cu_memory test_cu_stream test_cu_errors test_cu_module"
for t in $cu_tests; do
	b "cc-$t.log" cc -std=gnu11 -O2 -Wall -Wno-deprecated-declarations -I"$cuda/include" \
		-I"$root/tests/cuda" -I"$root/guest/libcuda" -o "$out/bin/$t" "$root/tests/cuda/$t.c" -L"$stubs" -lcuda \
		-lpthread -lm
done
say "built: dk.fatbin (sm_$cc SASS + compute_$cc PTX), dk.ptx, drv_tests, $cu_tests"

run() {   # run LABEL MUST(1|0) CMD...: log to OUT/LABEL.log; PASS/FAIL lines to the summary
	local label=$1 must=$2 rc
	shift 2
	"$@" > "$out/$label.log" 2>&1
	rc=$?
	grep -E '^(PASS|FAIL|CRASH)' "$out/$label.log" | awk '!seen[$0]++' | sed "s/^/$label: /" >> "$sum"
	grep -E '^test_cu_[a-z]*: ' "$out/$label.log" | sed "s/^/$label: /" >> "$sum"
	if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
		if [ "$must" = 1 ]; then
			say "FAIL $label: exit $rc ($out/$label.log)"
			fail=1
		else
			say "note $label: exit $rc ($out/$label.log)"
		fi
	else
		echo "$label: exit $rc" >> "$sum"
	fi
	return 0
}

# --- 2. natively ---------------------------------------------------------------
# native_loop PROGRAM ARGS: a tests/cuda program on NVIDIA's driver; when a
# call kills it (cutest.h prints "CRASH file:line ..."), again without that
# call (VGPU_TEST_NATIVE_SKIP), up to 8 times, so that one crash does not
# hide the rest of the comparison. Every run's output, in order; the exit
# status of the last, or 139 after any crash (a crash is a difference the
# test must mark as not comparable natively).
native_loop() {
	local skip="" n=0 rc crash any=0
	while :; do
		echo "# native run $n${skip:+, leaving out:$skip}"
		VGPU_TEST_NATIVE_SKIP="$skip" timeout 300 "$@" > "$out/native-loop.tmp" 2>&1
		rc=$?
		cat "$out/native-loop.tmp"
		crash=$(sed -n 's/^CRASH \([^ ]*\) .*/\1/p' "$out/native-loop.tmp" | head -n 1)
		crash=${crash##*/}
		[ -n "$crash" ] && any=1
		if [ -z "$crash" ] || [ $n -ge 8 ] || [[ " $skip " == *" $crash "* ]]; then
			break
		fi
		skip="$skip $crash"
		n=$((n + 1))
	done
	rm -f "$out/native-loop.tmp"
	[ $any = 1 ] && return 139
	return $rc
}

cd "$out/bin" || exit 1
if [ $dry = 0 ]; then
	run native-drv 1 ./drv_tests dk.fatbin dk.ptx
	run native-bench 1 ./drv_tests dk.fatbin dk.ptx bench
	run native-numba 1 python3 "$here/numba_axpy.py"
	for t in $cu_tests; do
		args=""
		case $t in test_cu_errors|test_cu_module) args=$data ;; esac
		# shellcheck disable=SC2086
		run "native-$t" 0 native_loop "./$t" $args
	done
fi

# --- 3. through the guest library ----------------------------------------------
rl="$root/tests/cuda/run-loopback.sh --executor $executor"
genv="env LD_LIBRARY_PATH=$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
run guest-drv 1 $rl "$build/bin" $genv ./drv_tests dk.fatbin dk.ptx
[ $dry = 0 ] && run guest-bench 1 $rl "$build/bin" $genv ./drv_tests dk.fatbin dk.ptx bench
for t in test_cu_device test_cu_context test_cu_memory test_cu_errors test_cu_stream test_cu_module; do
	args=""
	case $t in test_cu_errors|test_cu_module) args=$data ;; esac
	# shellcheck disable=SC2086
	run "guest-$t" 1 $rl "$build/bin" $genv "./$t" $args
done
[ $dry = 0 ] && run guest-numba 1 $rl "$build/bin" $genv LD_PRELOAD="$lib/libcuda.so.1" \
	VGPU_EXPECT_LIBCUDA="$lib/libcuda.so.1" VGPU_CUDA_TRACE=1 python3 "$here/numba_axpy.py"

# --- 4. the declarations ---------------------------------------------------------
run decl-check 1 "$here/decl-check.sh" --cuda "$cuda"
tail -n 3 "$out/decl-check.log" >> "$sum"
if [ $dry = 1 ]; then
	say "$([ $fail = 0 ] && echo PASS || echo FAIL): dry run (logs in $out)"
	exit $fail
fi

# --- 5. summary ------------------------------------------------------------------
say "# driver differs: tests/cuda expectations NVIDIA's driver does not share (native FAIL lines)"
grep -hE '^(FAIL|CRASH)' "$out"/native-test_cu_*.log 2>/dev/null | awk '!seen[$0]++' | sed 's/^/  /' | tee -a "$sum"
say "# native crashes (calls NVIDIA's driver died in; each must be marked not comparable natively): $(cat "$out"/native-test_cu_*.log 2>/dev/null | grep -c '^CRASH')"
say "# timings: native | through the guest library (loopback, cuda executor)"
paste -d'|' <(grep -h '^bench' "$out/native-bench.log" "$out/native-numba.log") \
	<(grep -h '^bench' "$out/guest-bench.log" "$out/guest-numba.log") | tee -a "$sum"
say "$([ $fail = 0 ] && echo PASS || echo FAIL): issue #12 GPU programs (logs in $out)"
exit $fail
