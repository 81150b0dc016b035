/* SPDX-License-Identifier: MIT */
/*
 * runtime.h - what the CUDA runtime's side of libcuda (library.c, dark*.c)
 * needs from the rest of the library, and gives it. Private to libcuda.
 */
#ifndef VGPU_LIBCUDA_RUNTIME_H
#define VGPU_LIBCUDA_RUNTIME_H

#include "cuda.h"

/*
 * A context is going away: cuCtxDestroy, cuDevicePrimaryCtxReset and the
 * primary context's last release call this while ctx is still valid,
 * before its modules are freed. Runs the context-local storage
 * destructors (the runtime's per-context state) and forgets the modules
 * and functions libraries and kernels loaded into ctx. Call it holding
 * none of libcuda's own locks: a runtime destructor may call back into the
 * driver API, and a lazy load holds a library's lock across
 * cuModuleLoadData.
 */
void vgpu_rt_context_gone(CUcontext ctx);

/*
 * A CUkernel is accepted wherever a function is (the runtime launches its
 * kernels with cuLaunchKernel((CUfunction)kernel, ...)). Every call that
 * takes a CUfunction passes it through this first: a kernel of a library
 * becomes its function in the current context (its module loaded there on
 * first use, lazily); anything else is left as it is for the caller to
 * check. Returns CUDA_SUCCESS, or the kernel's loading error.
 */
CUresult vgpu_rt_resolve_function(CUfunction f, CUfunction *out);

/* Is k a live kernel of this library? (cuGetProcAddress-free test) */
int vgpu_rt_is_kernel(const void *k);

#endif /* VGPU_LIBCUDA_RUNTIME_H */
