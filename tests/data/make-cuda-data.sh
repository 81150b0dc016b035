#!/usr/bin/env bash
# make-cuda-data.sh [OUTDIR] - make the CUDA test data of tests/data/ once, on
# a machine with the CUDA toolkit (nvcc, cuobjdump) and binutils. CI has no
# toolkit: it reads the files this wrote, checked in under tests/data/cuda/.
# The exact commands are in tests/data/README.md; this script runs them and
# also writes, for every output, what NVIDIA's own tools say about it
# (cuobjdump listings, readelf of each cubin), which the CI tests compare the
# project's parser with.
#
# OUTDIR defaults to tests/data/cuda. Exit 0 when every file was made; a
# variant the toolkit does not know (an option of a newer nvcc) is skipped
# with a line saying so and exits 0 anyway: its absence shows in MANIFEST.
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$here/src
out=${1:-$here/cuda}
mkdir -p "$out" || exit 1
cd "$out" || exit 1
command -v nvcc >/dev/null || { echo "make-cuda-data: no nvcc on PATH" >&2; exit 1; }
log=$out/commands.log
: > "$log"
fail=0
run() {   # run CMD...: logged, and a failure counted
	echo "+ $*" >> "$log"
	if ! "$@" >> "$log" 2>&1; then
		echo "make-cuda-data: FAILED: $*" | tee -a "$log" >&2
		fail=1
	fi
}
try() {   # try CMD...: logged; a failure only noted (optional variants)
	echo "+ $*" >> "$log"
	"$@" >> "$log" 2>&1 || echo "make-cuda-data: skipped (this toolkit refused it): $*" | tee -a "$log"
}
K=$src/kernels.cu
# PTX text, and cubins (ELF) for two architectures.
run nvcc -ptx -arch=compute_90 -o kernels.compute_90.ptx "$K"
run nvcc -cubin -arch=sm_90 -o kernels.sm_90.cubin "$K"
run nvcc -cubin -arch=sm_80 -o kernels.sm_80.cubin "$K"
# Fat binaries: SASS + PTX (what plain nvcc embeds for one arch), PTX only
# (the driver must JIT it), two SASS archs + PTX, and explicit compression.
run nvcc -fatbin -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90 \
	-o kernels.sm_90+ptx.fatbin "$K"
run nvcc -fatbin -gencode arch=compute_80,code=compute_80 -o kernels.ptx_only.fatbin "$K"
run nvcc -fatbin -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 \
	-gencode arch=compute_90,code=compute_90 -o kernels.multi.fatbin "$K"
try nvcc -fatbin -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90 \
	-Xfatbin -compress-all -o kernels.compressed.fatbin "$K"
try nvcc -fatbin -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90 \
	--compress-mode=size -o kernels.zstd.fatbin "$K"
try nvcc -fatbin -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90 \
	--compress-mode=none -o kernels.uncompressed.fatbin "$K"
# What nvcc embeds in a host object and in an executable of three units
# (their fat binaries back to back in .nv_fatbin), as plain nvcc makes them.
run nvcc -c -o kernels.o "$K"
run objcopy -O binary --only-section=.nv_fatbin kernels.o kernels.o.nv_fatbin
run nvcc -o three-units "$src/main.cu" "$K" "$src/second.cu"
run objcopy -O binary --only-section=.nv_fatbin three-units three-units.nv_fatbin
rm -f kernels.o three-units
# What NVIDIA's tools and binutils say about each, for the CI tests.
for f in *.fatbin *.nv_fatbin; do
	[ -f "$f" ] || continue
	cuobjdump --list-elf --list-ptx "$f" > "$f.cuobjdump" 2>&1 || true
done
for f in *.cubin; do
	readelf -hSs -W "$f" > "$f.readelf" 2>&1 || true
done
{
	echo "# made $(date -u +%Y-%m-%dT%H:%MZ) by tests/data/make-cuda-data.sh"
	nvcc --version | tail -n 2
	nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null || true
	sha256sum -- *.ptx *.cubin *.fatbin *.nv_fatbin 2>/dev/null
} > MANIFEST
ls -l
exit $fail
