/* SPDX-License-Identifier: MIT */
/*
 * test_cu_errors.c - the driver API's answers for bad input, one row per
 * input with the CUresult it must get (issue #12's list: null pointers,
 * freed pointers, pointers of another or a destroyed context, destroyed
 * streams and events, an unloaded module, a launch with the wrong
 * parameters, sizes past the quota; and calls before cuInit or without a
 * context, bad devices, flags and enums).
 *
 * Each row runs in a child process of its own, on a fixture made there
 * (a context with memory, a freed pointer, streams, events, a loaded and
 * an unloaded module, another context, a destroyed one), so that a row
 * that crashes is reported as that row's failure ("killed by signal 11")
 * and the others still run. The same source builds against NVIDIA's
 * cuda.h and runs on NVIDIA's driver (VGPU_DEVICE unset: natively), which
 * is how the expected results are checked against a real driver; rows
 * marked GUEST test what only the guest library has (the domain's quota)
 * or are not comparable natively: NVIDIA's driver crashes on them (NULL
 * where it writes, a destroyed stream) or answers from freed memory (a
 * destroyed event or context handle), so they are not run natively and
 * keep the guest library's clean answer.
 *
 * usage: test_cu_errors DATA_DIR [ROW...]   (DATA_DIR: tests/data/cuda-13.0)
 */
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cutest.h"

enum level { NOINIT, INIT, FULL };

struct fx {
	CUcontext ctx, other, dead;
	CUdeviceptr a, freed, dead_ptr, d;
	CUstream s, ds, os;
	CUevent e, de, ev;
	CUmodule m, um, mod;
	CUfunction f, uf, of, fn;
	void *host, *freed_host, *p;
	char *img;
	size_t total, sz;
	int i, n;
	unsigned int u;
	float ms;
	const char *name;
	CUdevice dev;
	CUcontext c;
	CUdriverProcAddressQueryResult qr;
	void *kp[4];
	unsigned char blob[32];
	size_t small, exact;
	void *extra_small[5], *extra_exact[5], *extra_bad_key[5];
	char buf[8192];
};

static const char *data_dir;

/*
 * A context destroyed while deeper in this thread's stack stays there:
 * once it is on top again, calls in it say it is destroyed.
 */
static CUresult current_destroyed(struct fx *x)
{
	CUresult r = cuCtxDestroy(x->other);   /* under x->ctx in the stack */

	if (r == CUDA_SUCCESS)
		r = cuCtxPopCurrent(&x->c);
	return r ? r : cuMemAlloc(&x->d, 16);
}
static int native;   /* NVIDIA's driver, not the guest library */

/*
 * The rows: X(id, level, who, expected, call). level: what the fixture
 * makes first; who: ALL (natively too) or GUEST (the guest library only:
 * not run natively, see above).
 */
#define ROWS \
	/* Before cuInit. */ \
	X(noinit_device_get, NOINIT, ALL, CUDA_ERROR_NOT_INITIALIZED, cuDeviceGet(&x->dev, 0)) \
	X(noinit_count, NOINIT, ALL, CUDA_ERROR_NOT_INITIALIZED, cuDeviceGetCount(&x->i)) \
	X(noinit_ctx_create, NOINIT, ALL, CUDA_ERROR_NOT_INITIALIZED, \
	  cuCtxCreate(&x->c, NULL, 0, 0)) \
	X(noinit_primary, NOINIT, ALL, CUDA_ERROR_NOT_INITIALIZED, \
	  cuDevicePrimaryCtxRetain(&x->c, 0)) \
	X(noinit_alloc, NOINIT, ALL, CUDA_ERROR_NOT_INITIALIZED, cuMemAlloc(&x->d, 16)) \
	X(noinit_get_current, NOINIT, ALL, CUDA_ERROR_NOT_INITIALIZED, cuCtxGetCurrent(&x->c)) \
	X(noinit_flags, NOINIT, ALL, CUDA_ERROR_INVALID_VALUE, cuInit(1)) \
	/* Initialised, no current context. */ \
	X(noctx_alloc, INIT, ALL, CUDA_ERROR_INVALID_CONTEXT, cuMemAlloc(&x->d, 16)) \
	X(noctx_mem_info, INIT, ALL, CUDA_ERROR_INVALID_CONTEXT, cuMemGetInfo(&x->sz, &x->sz)) \
	X(noctx_stream, INIT, ALL, CUDA_ERROR_INVALID_CONTEXT, cuStreamCreate(&x->s, 0)) \
	X(noctx_event, INIT, ALL, CUDA_ERROR_INVALID_CONTEXT, cuEventCreate(&x->ev, 0)) \
	X(noctx_module, INIT, ALL, CUDA_ERROR_INVALID_CONTEXT, cuModuleLoadData(&x->mod, x->img)) \
	X(noctx_sync, INIT, ALL, CUDA_ERROR_INVALID_CONTEXT, cuCtxSynchronize()) \
	X(noctx_pop, INIT, ALL, CUDA_ERROR_INVALID_CONTEXT, cuCtxPopCurrent(&x->c)) \
	X(noctx_device, INIT, ALL, CUDA_ERROR_INVALID_CONTEXT, cuCtxGetDevice(&x->dev)) \
	X(primary_release_unretained, INIT, ALL, CUDA_ERROR_INVALID_CONTEXT, \
	  cuDevicePrimaryCtxRelease(0)) \
	/* Devices, flags, enums. */ \
	X(device_ordinal, INIT, ALL, CUDA_ERROR_INVALID_DEVICE, cuDeviceGet(&x->dev, 1)) \
	X(device_name_dev, INIT, ALL, CUDA_ERROR_INVALID_DEVICE, cuDeviceGetName(x->buf, 64, 9)) \
	X(device_attr_zero, INIT, ALL, CUDA_ERROR_INVALID_VALUE, \
	  cuDeviceGetAttribute(&x->i, (CUdevice_attribute)0, 0)) \
	X(device_attr_past, INIT, ALL, CUDA_ERROR_INVALID_VALUE, \
	  cuDeviceGetAttribute(&x->i, CU_DEVICE_ATTRIBUTE_MAX, 0)) \
	X(device_attr_dev, INIT, ALL, CUDA_ERROR_INVALID_DEVICE, \
	  cuDeviceGetAttribute(&x->i, CU_DEVICE_ATTRIBUTE_WARP_SIZE, 5)) \
	X(ctx_create_flags, INIT, ALL, CUDA_ERROR_INVALID_VALUE, \
	  cuCtxCreate(&x->c, NULL, 0x40000, 0)) \
	X(ctx_create_dev, INIT, ALL, CUDA_ERROR_INVALID_DEVICE, cuCtxCreate(&x->c, NULL, 0, 7)) \
	X(error_name_unknown, NOINIT, ALL, CUDA_ERROR_INVALID_VALUE, \
	  cuGetErrorName((CUresult)12345, &x->name)) \
	/* Found or not, a success: the status says which (NVIDIA's driver too). */ \
	X(proc_unknown, NOINIT, ALL, CUDA_SUCCESS, \
	  (x->p = (void *)1, cuGetProcAddress("cuNoSuchFunction", &x->p, 13000, 0, &x->qr)) ?: \
	  (x->p == NULL && x->qr == CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND ? CUDA_SUCCESS \
								    : CUDA_ERROR_UNKNOWN)) \
	X(stream_flags, FULL, ALL, CUDA_ERROR_INVALID_VALUE, cuStreamCreate(&x->s, 0x10)) \
	X(event_flags, FULL, ALL, CUDA_ERROR_INVALID_VALUE, cuEventCreate(&x->ev, 0x80)) \
	X(wait_flags, FULL, ALL, CUDA_ERROR_INVALID_VALUE, cuStreamWaitEvent(x->s, x->e, 0x40)) \
	X(func_attr_enum, FULL, ALL, CUDA_ERROR_INVALID_VALUE, \
	  cuFuncGetAttribute(&x->i, (CUfunction_attribute)999, x->f)) \
	X(memset_d16_misaligned, FULL, ALL, CUDA_ERROR_INVALID_VALUE, cuMemsetD16(x->a + 1, 1, 2)) \
	X(memset_d32_misaligned, FULL, ALL, CUDA_ERROR_INVALID_VALUE, cuMemsetD32(x->a + 2, 1, 2)) \
	/* Null pointers. */ \
	X(null_device_get, INIT, ALL, CUDA_ERROR_INVALID_VALUE, cuDeviceGet(NULL, 0)) \
	X(null_device_count, INIT, ALL, CUDA_ERROR_INVALID_VALUE, cuDeviceGetCount(NULL)) \
	X(null_device_name, INIT, ALL, CUDA_ERROR_INVALID_VALUE, cuDeviceGetName(NULL, 64, 0)) \
	X(null_total_mem, INIT, ALL, CUDA_ERROR_INVALID_VALUE, cuDeviceTotalMem(NULL, 0)) \
	X(null_attribute, INIT, ALL, CUDA_ERROR_INVALID_VALUE, \
	  cuDeviceGetAttribute(NULL, CU_DEVICE_ATTRIBUTE_WARP_SIZE, 0)) \
	X(null_uuid, INIT, ALL, CUDA_ERROR_INVALID_VALUE, cuDeviceGetUuid(NULL, 0)) \
	X(null_driver_version, NOINIT, ALL, CUDA_ERROR_INVALID_VALUE, cuDriverGetVersion(NULL)) \
	/* GUEST: NVIDIA's driver 580 writes through these NULLs (signal 11). */ \
	X(null_error_string, NOINIT, GUEST, CUDA_ERROR_INVALID_VALUE, \
	  cuGetErrorString(CUDA_SUCCESS, NULL)) \
	X(null_proc_symbol, NOINIT, GUEST, CUDA_ERROR_INVALID_VALUE, \
	  cuGetProcAddress(NULL, &x->p, 13000, 0, &x->qr)) \
	X(null_ctx_create, INIT, ALL, CUDA_ERROR_INVALID_VALUE, cuCtxCreate(NULL, NULL, 0, 0)) \
	X(null_primary_retain, INIT, ALL, CUDA_ERROR_INVALID_VALUE, \
	  cuDevicePrimaryCtxRetain(NULL, 0)) \
	X(null_get_current, FULL, ALL, CUDA_ERROR_INVALID_VALUE, cuCtxGetCurrent(NULL)) \
	X(null_ctx_device, FULL, ALL, CUDA_ERROR_INVALID_VALUE, cuCtxGetDevice(NULL)) \
	X(null_ctx_destroy, FULL, ALL, CUDA_ERROR_INVALID_VALUE, cuCtxDestroy(NULL)) \
	X(null_alloc, FULL, ALL, CUDA_ERROR_INVALID_VALUE, cuMemAlloc(NULL, 16)) \
	X(zero_alloc, FULL, ALL, CUDA_ERROR_INVALID_VALUE, cuMemAlloc(&x->d, 0)) \
	/* Either answer of cuMemGetInfo may be left out (NVIDIA's driver too). */ \
	X(null_mem_info, FULL, ALL, CUDA_SUCCESS, cuMemGetInfo(NULL, &x->sz)) \
	X(null_htod_src, FULL, ALL, CUDA_ERROR_INVALID_VALUE, cuMemcpyHtoD(x->a, NULL, 16)) \
	X(null_dtoh_dst, FULL, ALL, CUDA_ERROR_INVALID_VALUE, cuMemcpyDtoH(NULL, x->a, 16)) \
	X(null_htod_async_src, FULL, ALL, CUDA_ERROR_INVALID_VALUE, \
	  cuMemcpyHtoDAsync(x->a, NULL, 16, x->s)) \
	X(null_host_alloc, FULL, ALL, CUDA_ERROR_INVALID_VALUE, cuMemAllocHost(NULL, 16)) \
	X(null_host_register, FULL, ALL, CUDA_ERROR_INVALID_VALUE, cuMemHostRegister(NULL, 16, 0)) \
	X(null_pointer_attr, FULL, ALL, CUDA_ERROR_INVALID_VALUE, \
	  cuPointerGetAttribute(NULL, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, x->a)) \
	X(null_stream_create, FULL, ALL, CUDA_ERROR_INVALID_VALUE, cuStreamCreate(NULL, 0)) \
	X(null_event_create, FULL, ALL, CUDA_ERROR_INVALID_VALUE, cuEventCreate(NULL, 0)) \
	/* No place for the time: what NVIDIA's driver 580 answers. */ \
	X(null_elapsed, FULL, ALL, CUDA_ERROR_INVALID_HANDLE, cuEventElapsedTime(NULL, x->e, x->e)) \
	X(null_module_out, FULL, ALL, CUDA_ERROR_INVALID_VALUE, cuModuleLoadData(NULL, x->img)) \
	X(null_module_image, FULL, ALL, CUDA_ERROR_INVALID_VALUE, cuModuleLoadData(&x->mod, NULL)) \
	X(null_function_out, FULL, ALL, CUDA_ERROR_INVALID_VALUE, \
	  cuModuleGetFunction(NULL, x->m, "vadd")) \
	X(null_function_name, FULL, ALL, CUDA_ERROR_INVALID_VALUE, \
	  cuModuleGetFunction(&x->fn, x->m, NULL)) \
	X(null_global_name, FULL, ALL, CUDA_ERROR_INVALID_VALUE, \
	  cuModuleGetGlobal(&x->d, &x->sz, x->m, NULL)) \
	X(null_func_attr, FULL, ALL, CUDA_ERROR_INVALID_VALUE, \
	  cuFuncGetAttribute(NULL, CU_FUNC_ATTRIBUTE_NUM_REGS, x->f)) \
	X(null_launch_function, FULL, ALL, CUDA_ERROR_INVALID_HANDLE, \
	  cuLaunchKernel(NULL, 1, 1, 1, 32, 1, 1, 0, NULL, x->kp, NULL)) \
	X(null_launch_config, FULL, ALL, CUDA_ERROR_INVALID_VALUE, \
	  cuLaunchKernelEx(NULL, x->f, x->kp, NULL)) \
	X(null_host_func, FULL, ALL, CUDA_ERROR_INVALID_VALUE, cuLaunchHostFunc(x->s, NULL, NULL)) \
	X(null_occupancy_out, FULL, ALL, CUDA_ERROR_INVALID_VALUE, \
	  cuOccupancyMaxActiveBlocksPerMultiprocessor(NULL, x->f, 128, 0)) \
	/* Freed and foreign pointers. */ \
	X(freed_free, FULL, ALL, CUDA_ERROR_INVALID_VALUE, cuMemFree(x->freed)) \
	X(freed_htod, FULL, ALL, CUDA_ERROR_INVALID_VALUE, cuMemcpyHtoD(x->freed, x->buf, 16)) \
	X(freed_dtoh, FULL, ALL, CUDA_ERROR_INVALID_VALUE, cuMemcpyDtoH(x->buf, x->freed, 16)) \
	X(freed_dtod, FULL, ALL, CUDA_ERROR_INVALID_VALUE, cuMemcpyDtoD(x->a, x->freed, 16)) \
	X(freed_memset, FULL, ALL, CUDA_ERROR_INVALID_VALUE, cuMemsetD8(x->freed, 1, 16)) \
	X(freed_memset_async, FULL, ALL, CUDA_ERROR_INVALID_VALUE, \
	  cuMemsetD32Async(x->freed, 1, 4, x->s)) \
	X(freed_range, FULL, ALL, CUDA_ERROR_NOT_FOUND, \
	  cuMemGetAddressRange(&x->d, &x->sz, x->freed)) \
	X(freed_pointer_attr, FULL, ALL, CUDA_ERROR_INVALID_VALUE, \
	  cuPointerGetAttribute(&x->u, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, x->freed)) \
	X(free_interior, FULL, ALL, CUDA_ERROR_INVALID_VALUE, cuMemFree(x->a + 16)) \
	X(host_pointer_as_device, FULL, ALL, CUDA_ERROR_INVALID_VALUE, \
	  cuMemcpyHtoD((CUdeviceptr)(uintptr_t)x->buf, x->buf, 16)) \
	X(freed_host, FULL, ALL, CUDA_ERROR_INVALID_VALUE, cuMemFreeHost(x->freed_host)) \
	X(unregistered_host, FULL, ALL, CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED, \
	  cuMemHostUnregister(x->buf)) \
	X(dead_ctx_dtoh, FULL, ALL, CUDA_ERROR_INVALID_VALUE, \
	  cuMemcpyDtoH(x->buf, x->dead_ptr, 16)) \
	X(dead_ctx_free, FULL, ALL, CUDA_ERROR_INVALID_VALUE, cuMemFree(x->dead_ptr)) \
	X(dead_ctx_memset, FULL, ALL, CUDA_ERROR_INVALID_VALUE, cuMemsetD8(x->dead_ptr, 0, 16)) \
	X(other_ctx_function, FULL, ALL, CUDA_ERROR_INVALID_HANDLE, \
	  cuLaunchKernel(x->of, 1, 1, 1, 32, 1, 1, 0, NULL, x->kp, NULL)) \
	X(other_ctx_stream, FULL, ALL, CUDA_ERROR_INVALID_HANDLE, \
	  cuLaunchKernel(x->f, 1, 1, 1, 32, 1, 1, 0, x->os, x->kp, NULL)) \
	/* Contexts gone. */ \
	/* GUEST: NVIDIA's driver pushes whatever it is given (CUDA_SUCCESS). */ \
	X(dead_ctx_push, FULL, GUEST, CUDA_ERROR_INVALID_CONTEXT, cuCtxPushCurrent(x->dead)) \
	X(dead_ctx_destroy, FULL, ALL, CUDA_ERROR_CONTEXT_IS_DESTROYED, cuCtxDestroy(x->dead)) \
	X(dead_ctx_api_version, FULL, ALL, CUDA_ERROR_INVALID_CONTEXT, \
	  cuCtxGetApiVersion(x->dead, &x->u)) \
	X(current_destroyed, FULL, ALL, CUDA_ERROR_CONTEXT_IS_DESTROYED, current_destroyed(x)) \
	/* \
	 * Destroyed streams and events. GUEST: NVIDIA's driver 580 follows the \
	 * freed object (streams: signal 11; events: CUDA_ERROR_INVALID_CONTEXT). \
	 */ \
	X(dead_stream_sync, FULL, GUEST, CUDA_ERROR_INVALID_HANDLE, cuStreamSynchronize(x->ds)) \
	X(dead_stream_query, FULL, GUEST, CUDA_ERROR_INVALID_HANDLE, cuStreamQuery(x->ds)) \
	X(dead_stream_destroy, FULL, GUEST, CUDA_ERROR_INVALID_HANDLE, cuStreamDestroy(x->ds)) \
	X(dead_stream_memset, FULL, GUEST, CUDA_ERROR_INVALID_HANDLE, \
	  cuMemsetD8Async(x->a, 0, 16, x->ds)) \
	X(dead_stream_copy, FULL, GUEST, CUDA_ERROR_INVALID_HANDLE, \
	  cuMemcpyHtoDAsync(x->a, x->buf, 16, x->ds)) \
	X(dead_stream_launch, FULL, GUEST, CUDA_ERROR_INVALID_HANDLE, \
	  cuLaunchKernel(x->f, 1, 1, 1, 32, 1, 1, 0, x->ds, x->kp, NULL)) \
	X(dead_stream_record, FULL, GUEST, CUDA_ERROR_INVALID_HANDLE, cuEventRecord(x->e, x->ds)) \
	X(dead_stream_wait, FULL, GUEST, CUDA_ERROR_INVALID_HANDLE, cuStreamWaitEvent(x->ds, x->e, 0)) \
	X(dead_event_record, FULL, GUEST, CUDA_ERROR_INVALID_HANDLE, cuEventRecord(x->de, x->s)) \
	X(dead_event_sync, FULL, GUEST, CUDA_ERROR_INVALID_HANDLE, cuEventSynchronize(x->de)) \
	X(dead_event_query, FULL, GUEST, CUDA_ERROR_INVALID_HANDLE, cuEventQuery(x->de)) \
	X(dead_event_elapsed, FULL, GUEST, CUDA_ERROR_INVALID_HANDLE, \
	  cuEventElapsedTime(&x->ms, x->de, x->e)) \
	X(dead_event_wait, FULL, GUEST, CUDA_ERROR_INVALID_HANDLE, cuStreamWaitEvent(x->s, x->de, 0)) \
	X(dead_event_destroy, FULL, GUEST, CUDA_ERROR_INVALID_HANDLE, cuEventDestroy(x->de)) \
	/* An unloaded module, names that are not there. */ \
	X(unloaded_get_function, FULL, ALL, CUDA_ERROR_INVALID_HANDLE, \
	  cuModuleGetFunction(&x->fn, x->um, "vadd")) \
	X(unloaded_get_global, FULL, ALL, CUDA_ERROR_INVALID_HANDLE, \
	  cuModuleGetGlobal(&x->d, &x->sz, x->um, "kd_counter")) \
	X(unloaded_unload, FULL, ALL, CUDA_ERROR_INVALID_HANDLE, cuModuleUnload(x->um)) \
	X(unloaded_launch, FULL, ALL, CUDA_ERROR_INVALID_HANDLE, \
	  cuLaunchKernel(x->uf, 1, 1, 1, 32, 1, 1, 0, NULL, x->kp, NULL)) \
	X(unloaded_func_attr, FULL, ALL, CUDA_ERROR_INVALID_HANDLE, \
	  cuFuncGetAttribute(&x->i, CU_FUNC_ATTRIBUTE_NUM_REGS, x->uf)) \
	X(unloaded_func_set_attr, FULL, ALL, CUDA_ERROR_INVALID_HANDLE, \
	  cuFuncSetAttribute(x->uf, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, 0)) \
	X(missing_function, FULL, ALL, CUDA_ERROR_NOT_FOUND, \
	  cuModuleGetFunction(&x->fn, x->m, "no_such_kernel")) \
	X(missing_global, FULL, ALL, CUDA_ERROR_NOT_FOUND, \
	  cuModuleGetGlobal(&x->d, &x->sz, x->m, "no_such_variable")) \
	X(missing_file, FULL, ALL, CUDA_ERROR_FILE_NOT_FOUND, \
	  cuModuleLoad(&x->mod, "/nonexistent/kern.ptx")) \
	/* Launches with the wrong parameters or shape. */ \
	X(launch_no_params, FULL, ALL, CUDA_ERROR_INVALID_VALUE, \
	  cuLaunchKernel(x->f, 1, 1, 1, 32, 1, 1, 0, NULL, NULL, NULL)) \
	/* A buffer shorter than the kernel's is taken (the rest zero; natively garbage). */ \
	X(launch_short_buffer, FULL, ALL, CUDA_SUCCESS, \
	  cuLaunchKernel(x->f, 1, 1, 1, 32, 1, 1, 0, NULL, NULL, x->extra_small)) \
	X(launch_params_and_extra, FULL, ALL, CUDA_ERROR_INVALID_VALUE, \
	  cuLaunchKernel(x->f, 1, 1, 1, 32, 1, 1, 0, NULL, x->kp, x->extra_exact)) \
	X(launch_extra_bad_key, FULL, ALL, CUDA_ERROR_INVALID_VALUE, \
	  cuLaunchKernel(x->f, 1, 1, 1, 32, 1, 1, 0, NULL, NULL, x->extra_bad_key)) \
	X(launch_grid_zero, FULL, ALL, CUDA_ERROR_INVALID_VALUE, \
	  cuLaunchKernel(x->f, 0, 1, 1, 32, 1, 1, 0, NULL, x->kp, NULL)) \
	X(launch_block_too_big, FULL, ALL, CUDA_ERROR_INVALID_VALUE, \
	  cuLaunchKernel(x->f, 1, 1, 1, 2048, 1, 1, 0, NULL, x->kp, NULL)) \
	X(launch_block_z, FULL, ALL, CUDA_ERROR_INVALID_VALUE, \
	  cuLaunchKernel(x->f, 1, 1, 1, 1, 1, 65, 0, NULL, x->kp, NULL)) \
	X(launch_grid_y, FULL, ALL, CUDA_ERROR_INVALID_VALUE, \
	  cuLaunchKernel(x->f, 1, 65536, 1, 32, 1, 1, 0, NULL, x->kp, NULL)) \
	X(launch_shared_too_big, FULL, ALL, CUDA_ERROR_INVALID_VALUE, \
	  cuLaunchKernel(x->f, 1, 1, 1, 32, 1, 1, 1u << 30, NULL, x->kp, NULL)) \
	X(launch_ok, FULL, ALL, CUDA_SUCCESS, \
	  cuLaunchKernel(x->f, 1, 1, 1, 32, 1, 1, 0, NULL, x->kp, NULL) ?: cuCtxSynchronize()) \
	/* Sizes past the allocation, the device and the quota. */ \
	X(htod_past_end, FULL, ALL, CUDA_ERROR_INVALID_VALUE, \
	  cuMemcpyHtoD(x->a + 4090, x->buf, 16)) \
	X(dtoh_past_end, FULL, ALL, CUDA_ERROR_INVALID_VALUE, cuMemcpyDtoH(x->buf, x->a, 4097)) \
	X(memset_past_end, FULL, ALL, CUDA_ERROR_INVALID_VALUE, cuMemsetD32(x->a, 0, 1025)) \
	X(alloc_past_device, FULL, ALL, CUDA_ERROR_OUT_OF_MEMORY, \
	  cuMemAlloc(&x->d, x->total + 1)) \
	X(alloc_huge, FULL, ALL, CUDA_ERROR_OUT_OF_MEMORY, cuMemAlloc(&x->d, (size_t)1 << 62)) \
	X(alloc_past_quota_in_two, FULL, GUEST, CUDA_ERROR_OUT_OF_MEMORY, \
	  cuMemAlloc(&x->d, x->total / 2 + 4096) ?: cuMemAlloc(&x->d, x->total / 2 + 4096))

enum row_id {
#define X(id, lvl, who, want, call) R_##id,
	ROWS
#undef X
	NROWS
};

enum { ALL, GUEST };

static const struct row {
	const char *name;
	enum level level;
	int who;
	CUresult want;
	const char *call;
} rows[NROWS] = {
#define X(id, lvl, who_, want_, call_) \
	[R_##id] = { .name = #id, .level = lvl, .who = who_, .want = want_, .call = #call_ },
	ROWS
#undef X
};

static CUresult run_row(enum row_id id, struct fx *x)
{
	switch (id) {
#define X(id_, lvl, who, want, call) case R_##id_: return (call);
	ROWS
#undef X
	default:
		return CUDA_ERROR_UNKNOWN;
	}
}

static void *read_image(const char *name)
{
	char path[1024];
	struct stat st;
	char *buf = NULL;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", data_dir, name);
	f = fopen(path, "rb");
	if (f && !fstat(fileno(f), &st) && st.st_size > 0 && (buf = calloc(1, (size_t)st.st_size + 1)) &&
	    fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		free(buf);
		buf = NULL;
	}
	if (f)
		fclose(f);
	return buf;
}

#define SETUP(call) do { \
	CUresult r_ = (call); \
	if (r_ != CUDA_SUCCESS) { \
		fprintf(stderr, "setup: %s = %s\n", #call, t_name(r_)); \
		return -1; \
	} \
} while (0)

/* The fixture of a row's level; 0, or -1 when it could not be made. */
static int setup(struct fx *x, enum level level)
{
	memset(x, 0, sizeof(*x));
	x->img = read_image("kern.default.fatbin");
	if (!x->img) {
		fprintf(stderr, "setup: cannot read %s/kern.default.fatbin\n", data_dir);
		return -1;
	}
	x->kp[0] = &x->a;
	x->kp[1] = &x->a;
	x->kp[2] = &x->a;
	x->n = 16;
	x->kp[3] = &x->n;
	x->small = 8;
	x->exact = 28;
	x->extra_small[0] = CU_LAUNCH_PARAM_BUFFER_POINTER;
	x->extra_small[1] = x->blob;
	x->extra_small[2] = CU_LAUNCH_PARAM_BUFFER_SIZE;
	x->extra_small[3] = &x->small;
	x->extra_small[4] = CU_LAUNCH_PARAM_END;
	memcpy(x->extra_exact, x->extra_small, sizeof(x->extra_exact));
	x->extra_exact[3] = &x->exact;
	memcpy(x->extra_bad_key, x->extra_exact, sizeof(x->extra_bad_key));
	x->extra_bad_key[0] = (void *)(uintptr_t)0x77;
	if (level == NOINIT)
		return 0;
	SETUP(cuInit(0));
	if (level == INIT)
		return 0;
	/* Another context, with a stream and a function of its own. */
	SETUP(cuCtxCreate(&x->other, NULL, 0, 0));
	SETUP(cuStreamCreate(&x->os, CU_STREAM_NON_BLOCKING));
	SETUP(cuModuleLoadData(&x->mod, x->img));
	SETUP(cuModuleGetFunction(&x->of, x->mod, "vadd"));
	/*
	 * A context to destroy, and its memory: destroyed last (below), after
	 * every other allocation, so that no later one can be given its
	 * address again (NVIDIA's driver, and dom0's behind the guest, reuse
	 * freed addresses: the dead_ctx rows then touched live memory).
	 */
	SETUP(cuCtxCreate(&x->dead, NULL, 0, 0));
	SETUP(cuMemAlloc(&x->dead_ptr, 4096));
	SETUP(cuCtxPopCurrent(&x->c));
	/* The current context. */
	SETUP(cuCtxCreate(&x->ctx, NULL, 0, 0));
	SETUP(cuDeviceTotalMem(&x->total, 0));
	SETUP(cuMemAlloc(&x->a, 4096));
	SETUP(cuMemAlloc(&x->freed, 4096));
	SETUP(cuMemFree(x->freed));
	SETUP(cuMemAllocHost(&x->host, 4096));
	SETUP(cuMemAllocHost(&x->freed_host, 4096));
	SETUP(cuMemFreeHost(x->freed_host));
	SETUP(cuStreamCreate(&x->s, CU_STREAM_NON_BLOCKING));
	SETUP(cuStreamCreate(&x->ds, CU_STREAM_NON_BLOCKING));
	SETUP(cuStreamDestroy(x->ds));
	SETUP(cuEventCreate(&x->e, CU_EVENT_DEFAULT));
	SETUP(cuEventRecord(x->e, x->s));
	SETUP(cuEventCreate(&x->de, CU_EVENT_DEFAULT));
	SETUP(cuEventDestroy(x->de));
	SETUP(cuModuleLoadData(&x->m, x->img));
	SETUP(cuModuleGetFunction(&x->f, x->m, "vadd"));
	SETUP(cuModuleLoadData(&x->um, x->img));
	SETUP(cuModuleGetFunction(&x->uf, x->um, "vadd"));
	SETUP(cuModuleUnload(x->um));
	SETUP(cuCtxSynchronize());
	SETUP(cuCtxDestroy(x->dead));   /* not current, in no stack */
	return 0;
}

/* One row in this (child) process: the exit status says how it went. */
static int child(enum row_id id)
{
	struct fx *x = calloc(1, sizeof(*x));
	CUresult r;

	if (!x || setup(x, rows[id].level))
		return 2;
	r = run_row(id, x);
	if (r != rows[id].want) {
		fprintf(stderr, "FAIL %s: %s = %s, expected %s\n", rows[id].name, rows[id].call,
			t_name(r), t_name(rows[id].want));
		return 1;
	}
	return 0;
}

static int wanted(const char *name, int argc, char **argv)
{
	int i;

	if (argc <= 2)
		return 1;
	for (i = 2; i < argc; i++)
		if (!strcmp(argv[i], name))
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	int i, ran = 0, skipped = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s DATA_DIR [ROW...]\n", argv[0]);
		return 2;
	}
	data_dir = argv[1];
	native = getenv("VGPU_DEVICE") == NULL;
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < NROWS; i++) {
		pid_t pid;
		int st;

		if (!wanted(rows[i].name, argc, argv))
			continue;
		if (native && rows[i].who == GUEST) {
			skipped++;
			continue;
		}
		fflush(stderr);
		pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0)
			_exit(child((enum row_id)i));
		t_checks++;
		ran++;
		if (waitpid(pid, &st, 0) != pid) {
			t_fail(__FILE__, __LINE__, "%s: waitpid", rows[i].name);
		} else if (WIFSIGNALED(st)) {
			t_case = rows[i].name;
			t_fail(__FILE__, __LINE__, "%s: killed by signal %d", rows[i].call,
			       WTERMSIG(st));
		} else if (WEXITSTATUS(st) == 2) {
			t_case = rows[i].name;
			t_fail(__FILE__, __LINE__, "its fixture could not be made (above)");
		} else if (WEXITSTATUS(st) != 0) {
			t_failed++;   /* the child said what */
		}
	}
	printf("test_cu_errors: %d rows%s (%d for the guest library only or not comparable "
	       "natively, not run)\n", ran,
	       native ? " on NVIDIA's driver" : "", skipped);
	if (!ran)
		t_skip("no row matched");
	return t_done("test_cu_errors");
}
