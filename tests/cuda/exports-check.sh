#!/bin/sh
# SPDX-License-Identifier: MIT
# exports-check.sh - the guest libcuda.so.1 exports exactly the symbols of
# guest/libcuda/exports.h (nm -D), every function of issue #12's list among
# them, under the soname libcuda.so.1, with no symbol versions.
# usage: exports-check.sh LIBRARY EXPORTS_H
set -u
lib=$1
table=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/lcu-exports.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
rc=0
sed -n 's/^[ES](\([A-Za-z0-9_]*\),.*/\1/p' "$table" | sort -u > "$work/table"
nm -D --defined-only "$lib" | awk '$2 == "T" { print $3 }' | sort -u > "$work/nm"
if ! cmp -s "$work/table" "$work/nm"; then
	echo "FAIL: nm -D differs from exports.h (< table only, > library only):"
	diff "$work/table" "$work/nm" | grep '^[<>]'
	rc=1
fi
if nm -D --defined-only "$lib" | awk '$2 != "T" && $2 != "U" && $2 != "w" { print }' | grep -q .; then
	echo "FAIL: data or other symbols exported:"
	nm -D --defined-only "$lib" | awk '$2 != "T"'
	rc=1
fi
soname=$(readelf -d "$lib" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ "$soname" = libcuda.so.1 ] || { echo "FAIL: soname '$soname'"; rc=1; }
if readelf -V "$lib" | grep -q 'Version definition'; then
	echo "FAIL: symbol versions defined (NVIDIA's libcuda has none)"
	rc=1
fi
# Issue #12, item 3: each must be there.
for f in cuInit cuDriverGetVersion cuDeviceGet cuDeviceGetCount cuDeviceGetName \
	cuDeviceGetUuid_v2 cuDeviceTotalMem_v2 cuDeviceGetAttribute cuDeviceComputeCapability \
	cuDevicePrimaryCtxRetain cuDevicePrimaryCtxRelease_v2 cuDevicePrimaryCtxReset_v2 \
	cuDevicePrimaryCtxGetState cuDevicePrimaryCtxSetFlags_v2 cuCtxCreate_v4 cuCtxDestroy_v2 \
	cuCtxPushCurrent_v2 cuCtxPopCurrent_v2 cuCtxSetCurrent cuCtxGetCurrent cuCtxGetDevice \
	cuCtxSynchronize cuCtxGetApiVersion cuMemAlloc_v2 cuMemFree_v2 cuMemGetInfo_v2 \
	cuMemGetAddressRange_v2 cuMemsetD8_v2 cuMemsetD16_v2 cuMemsetD32_v2 cuMemsetD8Async \
	cuMemsetD16Async cuMemsetD32Async cuMemcpyHtoD_v2 cuMemcpyDtoH_v2 cuMemcpyDtoD_v2 \
	cuMemcpyHtoDAsync_v2 cuMemcpyDtoHAsync_v2 cuMemcpyDtoDAsync_v2 cuMemcpy cuMemAllocHost_v2 \
	cuMemFreeHost cuMemHostAlloc cuMemHostRegister_v2 cuMemHostUnregister \
	cuMemHostGetDevicePointer_v2 cuPointerGetAttribute cuPointerGetAttributes \
	cuModuleLoadData cuModuleLoadDataEx cuModuleLoadFatBinary cuModuleUnload \
	cuModuleGetFunction cuModuleGetGlobal_v2 cuFuncGetAttribute cuFuncSetAttribute \
	cuFuncSetCacheConfig cuFuncGetParamInfo cuLaunchKernel cuLaunchKernelEx cuStreamCreate \
	cuStreamCreateWithPriority cuStreamDestroy_v2 cuStreamSynchronize cuStreamQuery \
	cuStreamWaitEvent cuEventCreate cuEventRecord cuEventSynchronize cuEventQuery \
	cuEventElapsedTime_v2 cuEventDestroy_v2 cuOccupancyMaxActiveBlocksPerMultiprocessor \
	cuOccupancyMaxPotentialBlockSize cuGetErrorName cuGetErrorString cuGetProcAddress \
	cuGetProcAddress_v2 cuStreamSynchronize_ptsz cuLaunchKernel_ptsz cuMemcpyHtoD_v2_ptds; do
	grep -qx "$f" "$work/nm" || { echo "FAIL: $f is not exported"; rc=1; }
done
[ $rc = 0 ] && echo "PASS: $(wc -l < "$work/nm") exports, exactly exports.h's"
exit $rc
