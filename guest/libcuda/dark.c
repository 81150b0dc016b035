/* SPDX-License-Identifier: MIT */
/*
 * dark.c - cuGetExportTable: the private interface tables NVIDIA's CUDA
 * runtime asks a driver for, answered as guest-side bookkeeping.
 *
 * ==== Design note ======================================================
 *
 * How the runtime (libcudart_static.a, what plain nvcc links, and
 * libcudart.so.12/13 with -cudart shared) talks to libcuda.so.1:
 *
 * 1. It dlopens libcuda.so.1 and resolves cuGetProcAddress_v2 by dlsym
 *    only; every other driver function it takes from cuGetProcAddress(
 *    name, &pfn, cudaVersion, flags, &status), with the base name
 *    ("cuMemAlloc"), the version it was built for (12080, 13000, ...) and
 *    CU_GET_PROC_ADDRESS_DEFAULT / _LEGACY_STREAM / _PER_THREAD_DEFAULT_
 *    STREAM. A missing optional function gets pfn NULL with status
 *    CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND, and the runtime goes on.
 *    (libcuda's proc table; this file's and library.c's functions are in
 *    it.)
 * 2. Before its first real work it calls cuGetExportTable(&table, &uuid)
 *    for the tables below. A table is an array of pointer-sized slots; most
 *    start with their own size in bytes in slot 0, the context-local
 *    storage table does not. Each slot the runtime calls must be there: a
 *    NULL slot it calls is a crash. So every slot whose job is unknown is a
 *    stub that logs "table NAME slot N called" once and returns
 *    CUDA_ERROR_NOT_SUPPORTED, and the trace names it.
 * 3. Since CUDA 12 the program's fat binaries (__cudaRegisterFatBinary's
 *    __fatBinC_Wrapper_t: magic 0x466243B1, version, pointer to the
 *    container) are loaded lazily through cuLibraryLoadData(wrapper, ...,
 *    CU_LIBRARY_BINARY_IS_PRESERVED), kernels found with cuLibraryGetKernel
 *    (launched with the CUkernel cast to CUfunction), variables with
 *    cuLibraryGetGlobal (library.c). The CUDART_INTERFACE module slots are
 *    the older path, still served.
 *
 * The tables (UUID bytes in the order cuGetExportTable receives them; names
 * as ZLUDA calls them; the slot contracts are what ZLUDA, SCUDA, smolvm and
 * others found by watching the runtime, and what the GPU trace of #13
 * shows):
 *
 * CUDART_INTERFACE 6bd5fb6c-5bf4-e74a-8987-d93912fd9df9, 13 slots
 *   [0]  size in bytes (13 * 8; older runtimes read 10 slots)
 *   [1]  get_module_from_cubin(CUmodule *out, wrapper *w) -> CUresult:
 *        load the wrapper's container as a module (cuModuleLoadData).
 *   [2]  primary_context(CUcontext *out, CUdevice dev) -> CUresult: the
 *        device's primary context, retained (cuDevicePrimaryCtxRetain).
 *   [6]  get_module_from_cubin_ext1(CUmodule *out, wrapper *w, void *,
 *        void *, unsigned) -> CUresult: as [1]; the extra arguments are
 *        NULL/0 in every trace seen.
 *   [7]  fn7(uintptr_t) -> CUresult: nothing known to do; success.
 *   [8]  get_module_from_cubin_ext2(container *fb, CUmodule *out, void *,
 *        void *, unsigned) -> CUresult: as [1] with the container itself.
 *   [12] load_compilers(void) -> CUresult: nothing to load here (dom0's
 *        driver JIT-compiles); success.
 *   [10] NULL (not code in driver 580's table); [3..5], [9], [11]: stubs.
 * TOOLS_TLS 42d85a81-23f6-cb47-8298-f6e78a3aecdc, 3 slots
 *   [0] size; [2] a tools thread callback(void *): no tool runs in a guest,
 *   nothing to do; [1]: stub.
 * TOOLS_RUNTIME_CALLBACK_HOOKS a094798c-2e74-2e74-93f2-0800200c0a66, 7
 *   [0] size; [1] event(unsigned, void *) and [4] span(void *, void *):
 *   the runtime brackets driver calls with them (CUDA 12.8 on its
 *   symbol-not-found path); no profiler: nothing to do.
 *   [2] buffer1(void **p, size_t *n), [6] buffer2(void **p, size_t *n):
 *   scratch the runtime writes its callback state to; *n = 1024 and 14 as
 *   the runtime expects, the buffers 8 KiB and 256 bytes (room for either
 *   reading of *n: bytes or 8-byte words). [3], [5]: stubs.
 * CONTEXT_LOCAL_STORAGE_INTERFACE_V0301 c693336e-1121-df11-a8c3-
 *   68f355d89593, 4 slots, no size slot (dark-cls.c):
 *   [0] put(CUcontext ctx, void *key, void *value,
 *           void (*dtor)(CUcontext, void *key, void *value)) -> CUresult
 *   [1] delete(CUcontext ctx, void *key) -> CUresult (no destructor)
 *   [2] get(void **value, CUcontext ctx, void *key) -> CUresult:
 *       CUDA_ERROR_INVALID_HANDLE when absent (the runtime then puts)
 *   ctx NULL means the calling thread's current context. The destructors
 *   run when the context is destroyed or reset (vgpu_cls_context_gone()).
 *   [3] NULL.
 * CTX_CREATE_BYPASS 0ca50b8c-1004-929a-89a7-d0df10e77286, 2 slots
 *   [0] size; [1] ctx_create_v2(CUcontext *, unsigned flags, CUdevice)
 *   -> CUresult: cuCtxCreate.
 * HEAP_ACCESS 195bcbf4-d67d-024a-acc5-1d29cea631ae, 3 slots
 *   [0] size; [1] heap_alloc, [2] heap_free: unknown: stubs.
 * DEVICE_EXTENDED_RT b10541e1-f7c7-c74a-9f64-f223be99f1e2, 26 slots
 *   [0] size; [13] device_flag(unsigned char *out, CUdevice) -> 0 in every
 *   trace: *out = 0. [5] attribute_ext(dev, attr, int, size_t out[2]) and
 *   the rest: stubs (the runtime has been seen to cope).
 * INTEGRITY_CHECK d4082055-bde6-704b-8d34-ba123c66e1f2, 3 slots
 *   [0] size; [1] check(unsigned version, uint64_t unix_seconds,
 *   uint64_t out[2]) -> CUresult: HMAC-MD2 (dark-hash.c) under a fixed key
 *   of a 48-byte record {u32 driver version (cuDriverGetVersion's answer),
 *   u32 version, u32 pid, u32 tid (pthread_self's low 32 bits), u64 this
 *   table set's CUDART_INTERFACE address, u64 this table's address, u64
 *   slot 1's address, u64 unix_seconds} then 28 bytes per device {uuid,
 *   i32 PCI domain, bus, device}. Versions ending in 0 or 1 get fixed
 *   answers. A wrong answer fails the runtime with
 *   cudaErrorSoftwareValidityNotEstablished. [2] stub.
 * CONTEXT_CHECKS 263e8860-7cd2-6143-92f6-bbd5006dfa7e, 15 slots
 *   [0] size; [2] check(CUcontext, unsigned *flag, const void **) ->
 *   *flag = 0, success; [3] flags(void) -> 0 (the one the CUDA 13.0
 *   runtime calls, once); [1], [4..14] stubs.
 * f8cff951-2146-8b4e-b9e2-fb469e7c0dd9: asked first, before cuInit; driver
 *   580 has a 3-slot table of unknown meaning; answered CUDA_ERROR_NOT_FOUND
 *   (the runtime then takes its usual path), without a log line.
 * Anything else: CUDA_ERROR_INVALID_VALUE, *table = NULL, and one log line
 *   per UUID naming it.
 *
 * What the CUDA 13.0 runtime asked of driver 580.159.04 on the H200
 * (/work/gpu-results/run1, static and shared, a vector add): the 7 tables
 * f8cff951, CUDART_INTERFACE (13 slots), TOOLS_RUNTIME_CALLBACK_HOOKS (7),
 * TOOLS_TLS (3), CONTEXT_LOCAL_STORAGE (3 code slots), CONTEXT_CHECKS (15),
 * INTEGRITY_CHECK (3), in that order; it called CUDART_INTERFACE[2] once,
 * TOOLS_RUNTIME_CALLBACK_HOOKS[2] and [6] once, CONTEXT_CHECKS[3] once and
 * INTEGRITY_CHECK[1] three times (before any module work), and looked up
 * 440 functions with cuGetProcAddress (versions 2000 to 12040, flags 0
 * and 2), among them every cuLibrary and cuKernel call library.c serves.
 * CTX_CREATE_BYPASS, HEAP_ACCESS and DEVICE_EXTENDED_RT were not asked for
 * (ZLUDA saw them from older runtimes); they are served all the same.
 *
 * No pointer from these tables or their arguments crosses to dom0: module
 * loads and context operations go through the public driver calls of this
 * library, which become requests.
 */
#include "dark.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fatbin.h"
#include "internal.h"

typedef void (*dark_fn)(void);

#define SLOT(f)   ((uintptr_t)(f))
#define SIZE(n)   ((uintptr_t)((n) * sizeof(uintptr_t)))

static void dark_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void dark_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("libcuda: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/*
 * A slot whose job is unknown: logs once which slot the runtime called,
 * and refuses. Called with whatever the runtime passes (extra arguments
 * are ignored by the x86-64 and AArch64 calling conventions).
 */
#define DARK_STUB(table, n)						\
	static CUresult stub_##table##_##n(void)			\
	{								\
		static atomic_flag once = ATOMIC_FLAG_INIT;		\
		if (!atomic_flag_test_and_set(&once))			\
			dark_log("export table %s slot %d called: not "	\
				 "supported here", #table, n);		\
		return CUDA_ERROR_NOT_SUPPORTED;			\
	}

DARK_STUB(CUDART_INTERFACE, 3)
DARK_STUB(CUDART_INTERFACE, 4)
DARK_STUB(CUDART_INTERFACE, 5)
DARK_STUB(CUDART_INTERFACE, 9)
DARK_STUB(CUDART_INTERFACE, 11)
DARK_STUB(TOOLS_TLS, 1)
DARK_STUB(TOOLS_RUNTIME_CALLBACK_HOOKS, 3)
DARK_STUB(TOOLS_RUNTIME_CALLBACK_HOOKS, 5)
DARK_STUB(HEAP_ACCESS, 1)
DARK_STUB(HEAP_ACCESS, 2)
DARK_STUB(DEVICE_EXTENDED_RT, 1)
DARK_STUB(DEVICE_EXTENDED_RT, 2)
DARK_STUB(DEVICE_EXTENDED_RT, 3)
DARK_STUB(DEVICE_EXTENDED_RT, 4)
DARK_STUB(DEVICE_EXTENDED_RT, 5)
DARK_STUB(DEVICE_EXTENDED_RT, 6)
DARK_STUB(DEVICE_EXTENDED_RT, 7)
DARK_STUB(DEVICE_EXTENDED_RT, 8)
DARK_STUB(DEVICE_EXTENDED_RT, 9)
DARK_STUB(DEVICE_EXTENDED_RT, 10)
DARK_STUB(DEVICE_EXTENDED_RT, 11)
DARK_STUB(DEVICE_EXTENDED_RT, 12)
DARK_STUB(DEVICE_EXTENDED_RT, 14)
DARK_STUB(DEVICE_EXTENDED_RT, 15)
DARK_STUB(DEVICE_EXTENDED_RT, 16)
DARK_STUB(DEVICE_EXTENDED_RT, 17)
DARK_STUB(DEVICE_EXTENDED_RT, 18)
DARK_STUB(DEVICE_EXTENDED_RT, 19)
DARK_STUB(DEVICE_EXTENDED_RT, 20)
DARK_STUB(DEVICE_EXTENDED_RT, 21)
DARK_STUB(DEVICE_EXTENDED_RT, 22)
DARK_STUB(DEVICE_EXTENDED_RT, 23)
DARK_STUB(DEVICE_EXTENDED_RT, 24)
DARK_STUB(DEVICE_EXTENDED_RT, 25)
DARK_STUB(INTEGRITY_CHECK, 2)
DARK_STUB(CONTEXT_CHECKS, 1)
DARK_STUB(CONTEXT_CHECKS, 4)
DARK_STUB(CONTEXT_CHECKS, 5)
DARK_STUB(CONTEXT_CHECKS, 6)
DARK_STUB(CONTEXT_CHECKS, 7)
DARK_STUB(CONTEXT_CHECKS, 8)
DARK_STUB(CONTEXT_CHECKS, 9)
DARK_STUB(CONTEXT_CHECKS, 10)
DARK_STUB(CONTEXT_CHECKS, 11)
DARK_STUB(CONTEXT_CHECKS, 12)
DARK_STUB(CONTEXT_CHECKS, 13)
DARK_STUB(CONTEXT_CHECKS, 14)

/* ---------------------------------------------------- CUDART_INTERFACE */

/* A wrapper or a container: load what it names as a module. */
static CUresult load_fatbin(CUmodule *out, const void *image)
{
	const void *fb;

	if (!out || !image)
		return CUDA_ERROR_INVALID_VALUE;
	fb = vgpu_fatbin_unwrap(image);
	if (!fb)
		return CUDA_ERROR_INVALID_IMAGE;
	return cuModuleLoadData(out, fb);
}

static CUresult cudart_get_module(CUmodule *out, const void *wrapper)
{
	return load_fatbin(out, wrapper);
}

static CUresult cudart_primary_context(CUcontext *out, CUdevice dev)
{
	if (!out)
		return CUDA_ERROR_INVALID_VALUE;
	return cuDevicePrimaryCtxRetain(out, dev);
}

static CUresult cudart_get_module_ext1(CUmodule *out, const void *wrapper, void *a3,
				       void *a4, unsigned int a5)
{
	(void)a3; (void)a4; (void)a5;
	return load_fatbin(out, wrapper);
}

static CUresult cudart_fn7(uintptr_t a1)
{
	(void)a1;
	return CUDA_SUCCESS;
}

static CUresult cudart_get_module_ext2(const void *container, CUmodule *out, void *a3,
				       void *a4, unsigned int a5)
{
	(void)a3; (void)a4; (void)a5;
	return load_fatbin(out, container);
}

static CUresult cudart_load_compilers(void)
{
	return CUDA_SUCCESS;
}

static const uintptr_t cudart_table[VGPU_DARK_CUDART_SLOTS] = {
	SIZE(VGPU_DARK_CUDART_SLOTS),
	SLOT(cudart_get_module),
	SLOT(cudart_primary_context),
	SLOT(stub_CUDART_INTERFACE_3),
	SLOT(stub_CUDART_INTERFACE_4),
	SLOT(stub_CUDART_INTERFACE_5),
	SLOT(cudart_get_module_ext1),
	SLOT(cudart_fn7),
	SLOT(cudart_get_module_ext2),
	SLOT(stub_CUDART_INTERFACE_9),
	0, /* not code in driver 580's table (a data slot); NULL here */
	SLOT(stub_CUDART_INTERFACE_11),
	SLOT(cudart_load_compilers),
};

/* ------------------------------------------------------------ tools */

static void tools_tls_callback(void *record)
{
	(void)record;
}

static const uintptr_t tools_tls_table[VGPU_DARK_TOOLS_TLS_SLOTS] = {
	SIZE(VGPU_DARK_TOOLS_TLS_SLOTS),
	SLOT(stub_TOOLS_TLS_1),
	SLOT(tools_tls_callback),
};

/* The runtime's scratch: 8-byte aligned, larger than it is told. */
static uint64_t tools_buf1[VGPU_DARK_TOOLS_BUF1_REPORTED];
static uint64_t tools_buf2[32];

static void tools_event(unsigned int event, void *data)
{
	(void)event; (void)data;
}

static void tools_span(void *ctx, void *data)
{
	(void)ctx; (void)data;
}

static void tools_buffer1(void **p, size_t *n)
{
	if (p)
		*p = tools_buf1;
	if (n)
		*n = VGPU_DARK_TOOLS_BUF1_REPORTED;
}

static void tools_buffer2(void **p, size_t *n)
{
	if (p)
		*p = tools_buf2;
	if (n)
		*n = VGPU_DARK_TOOLS_BUF2_REPORTED;
}

static const uintptr_t tools_hooks_table[VGPU_DARK_TOOLS_HOOKS_SLOTS] = {
	SIZE(VGPU_DARK_TOOLS_HOOKS_SLOTS),
	SLOT(tools_event),
	SLOT(tools_buffer1),
	SLOT(stub_TOOLS_RUNTIME_CALLBACK_HOOKS_3),
	SLOT(tools_span),
	SLOT(stub_TOOLS_RUNTIME_CALLBACK_HOOKS_5),
	SLOT(tools_buffer2),
};

/* ------------------------------------------------ context-local storage */

static const uintptr_t cls_table[VGPU_DARK_CLS_SLOTS] = {
	SLOT(vgpu_cls_put),
	SLOT(vgpu_cls_delete),
	SLOT(vgpu_cls_get),
	0,
};

/* ------------------------------------------------- contexts, devices */

static CUresult ctx_create_bypass(CUcontext *out, unsigned int flags, CUdevice dev)
{
	if (!out)
		return CUDA_ERROR_INVALID_VALUE;
	return cuCtxCreate(out, NULL, flags, dev);
}

static const uintptr_t ctx_bypass_table[VGPU_DARK_CTX_BYPASS_SLOTS] = {
	SIZE(VGPU_DARK_CTX_BYPASS_SLOTS),
	SLOT(ctx_create_bypass),
};

static const uintptr_t heap_table[VGPU_DARK_HEAP_SLOTS] = {
	SIZE(VGPU_DARK_HEAP_SLOTS),
	SLOT(stub_HEAP_ACCESS_1),
	SLOT(stub_HEAP_ACCESS_2),
};

static CUresult device_flag(unsigned char *out, CUdevice dev)
{
	int count;
	CUresult r;

	if (!out)
		return CUDA_ERROR_INVALID_VALUE;
	r = cuDeviceGetCount(&count);
	if (r != CUDA_SUCCESS)
		return r;
	if (dev < 0 || dev >= count)
		return CUDA_ERROR_INVALID_DEVICE;
	*out = 0;
	return CUDA_SUCCESS;
}

static const uintptr_t device_ext_table[VGPU_DARK_DEVICE_EXT_SLOTS] = {
	SIZE(VGPU_DARK_DEVICE_EXT_SLOTS),
	SLOT(stub_DEVICE_EXTENDED_RT_1), SLOT(stub_DEVICE_EXTENDED_RT_2),
	SLOT(stub_DEVICE_EXTENDED_RT_3), SLOT(stub_DEVICE_EXTENDED_RT_4),
	SLOT(stub_DEVICE_EXTENDED_RT_5), SLOT(stub_DEVICE_EXTENDED_RT_6),
	SLOT(stub_DEVICE_EXTENDED_RT_7), SLOT(stub_DEVICE_EXTENDED_RT_8),
	SLOT(stub_DEVICE_EXTENDED_RT_9), SLOT(stub_DEVICE_EXTENDED_RT_10),
	SLOT(stub_DEVICE_EXTENDED_RT_11), SLOT(stub_DEVICE_EXTENDED_RT_12),
	SLOT(device_flag),
	SLOT(stub_DEVICE_EXTENDED_RT_14), SLOT(stub_DEVICE_EXTENDED_RT_15),
	SLOT(stub_DEVICE_EXTENDED_RT_16), SLOT(stub_DEVICE_EXTENDED_RT_17),
	SLOT(stub_DEVICE_EXTENDED_RT_18), SLOT(stub_DEVICE_EXTENDED_RT_19),
	SLOT(stub_DEVICE_EXTENDED_RT_20), SLOT(stub_DEVICE_EXTENDED_RT_21),
	SLOT(stub_DEVICE_EXTENDED_RT_22), SLOT(stub_DEVICE_EXTENDED_RT_23),
	SLOT(stub_DEVICE_EXTENDED_RT_24), SLOT(stub_DEVICE_EXTENDED_RT_25),
};

/* ----------------------------------------------------- integrity check */

#define DARK_MAX_DEVICES 16

static CUresult integrity_check(unsigned int version, uint64_t unix_seconds, uint64_t *out);

static const uintptr_t integrity_table[VGPU_DARK_INTEGRITY_SLOTS] = {
	SIZE(VGPU_DARK_INTEGRITY_SLOTS),
	SLOT(integrity_check),
	SLOT(stub_INTEGRITY_CHECK_2),
};

static CUresult integrity_check(unsigned int version, uint64_t unix_seconds, uint64_t *out)
{
	struct vgpu_dark_device_hash devs[DARK_MAX_DEVICES];
	struct vgpu_dark_integrity_in in;
	int count, drv, i, v;
	CUresult r;

	if (!out)
		return CUDA_ERROR_INVALID_VALUE;
	r = cuDriverGetVersion(&drv);
	if (r != CUDA_SUCCESS)
		return r;
	r = cuDeviceGetCount(&count);
	if (r != CUDA_SUCCESS)
		return r;
	if (count < 0 || count > DARK_MAX_DEVICES)
		return CUDA_ERROR_NOT_SUPPORTED;
	for (i = 0; i < count; i++) {
		CUdevice dev;

		memset(&devs[i], 0, sizeof(devs[i]));
		r = cuDeviceGet(&dev, i);
		if (r == CUDA_SUCCESS)
			r = cuDeviceGetUuid((CUuuid *)devs[i].uuid, dev);
		if (r == CUDA_SUCCESS)
			r = cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID, dev);
		devs[i].pci_domain = v;
		if (r == CUDA_SUCCESS)
			r = cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_PCI_BUS_ID, dev);
		devs[i].pci_bus = v;
		if (r == CUDA_SUCCESS)
			r = cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID, dev);
		devs[i].pci_device = v;
		if (r != CUDA_SUCCESS)
			return r;
	}
	memset(&in, 0, sizeof(in));
	in.version = version;
	in.unix_seconds = unix_seconds;
	in.driver_version = (uint32_t)drv;
	in.pid = (uint32_t)getpid();
	in.tid = (uint32_t)(uintptr_t)pthread_self();
	in.cudart_table = (uint64_t)(uintptr_t)cudart_table;
	in.integrity_table = (uint64_t)(uintptr_t)integrity_table;
	in.function = (uint64_t)integrity_table[1];
	in.devices = devs;
	in.nr_devices = (unsigned int)count;
	vgpu_dark_integrity_hash(&in, out);
	return CUDA_SUCCESS;
}

/* ------------------------------------------------------ context checks */

static CUresult ctx_check(CUcontext ctx, unsigned int *flag, const void **detail)
{
	(void)ctx; (void)detail;
	if (flag)
		*flag = 0;
	return CUDA_SUCCESS;
}

static unsigned int ctx_check_flags(void)
{
	return 0;
}

static const uintptr_t ctx_check_table[VGPU_DARK_CTX_CHECK_SLOTS] = {
	SIZE(VGPU_DARK_CTX_CHECK_SLOTS),
	SLOT(stub_CONTEXT_CHECKS_1),
	SLOT(ctx_check),
	SLOT(ctx_check_flags),
	SLOT(stub_CONTEXT_CHECKS_4), SLOT(stub_CONTEXT_CHECKS_5),
	SLOT(stub_CONTEXT_CHECKS_6), SLOT(stub_CONTEXT_CHECKS_7),
	SLOT(stub_CONTEXT_CHECKS_8), SLOT(stub_CONTEXT_CHECKS_9),
	SLOT(stub_CONTEXT_CHECKS_10), SLOT(stub_CONTEXT_CHECKS_11),
	SLOT(stub_CONTEXT_CHECKS_12), SLOT(stub_CONTEXT_CHECKS_13),
	SLOT(stub_CONTEXT_CHECKS_14),
};

/* ------------------------------------------------------- the lookup */

static const struct dark_table {
	const char *name;
	uint8_t uuid[16];
	const uintptr_t *table;
} dark_tables[] = {
	{ "CUDART_INTERFACE",
	  { 0x6b, 0xd5, 0xfb, 0x6c, 0x5b, 0xf4, 0xe7, 0x4a,
	    0x89, 0x87, 0xd9, 0x39, 0x12, 0xfd, 0x9d, 0xf9 }, cudart_table },
	{ "TOOLS_TLS",
	  { 0x42, 0xd8, 0x5a, 0x81, 0x23, 0xf6, 0xcb, 0x47,
	    0x82, 0x98, 0xf6, 0xe7, 0x8a, 0x3a, 0xec, 0xdc }, tools_tls_table },
	{ "TOOLS_RUNTIME_CALLBACK_HOOKS",
	  { 0xa0, 0x94, 0x79, 0x8c, 0x2e, 0x74, 0x2e, 0x74,
	    0x93, 0xf2, 0x08, 0x00, 0x20, 0x0c, 0x0a, 0x66 }, tools_hooks_table },
	{ "CONTEXT_LOCAL_STORAGE_INTERFACE_V0301",
	  { 0xc6, 0x93, 0x33, 0x6e, 0x11, 0x21, 0xdf, 0x11,
	    0xa8, 0xc3, 0x68, 0xf3, 0x55, 0xd8, 0x95, 0x93 }, cls_table },
	{ "CTX_CREATE_BYPASS",
	  { 0x0c, 0xa5, 0x0b, 0x8c, 0x10, 0x04, 0x92, 0x9a,
	    0x89, 0xa7, 0xd0, 0xdf, 0x10, 0xe7, 0x72, 0x86 }, ctx_bypass_table },
	{ "HEAP_ACCESS",
	  { 0x19, 0x5b, 0xcb, 0xf4, 0xd6, 0x7d, 0x02, 0x4a,
	    0xac, 0xc5, 0x1d, 0x29, 0xce, 0xa6, 0x31, 0xae }, heap_table },
	{ "DEVICE_EXTENDED_RT",
	  { 0xb1, 0x05, 0x41, 0xe1, 0xf7, 0xc7, 0xc7, 0x4a,
	    0x9f, 0x64, 0xf2, 0x23, 0xbe, 0x99, 0xf1, 0xe2 }, device_ext_table },
	{ "INTEGRITY_CHECK",
	  { 0xd4, 0x08, 0x20, 0x55, 0xbd, 0xe6, 0x70, 0x4b,
	    0x8d, 0x34, 0xba, 0x12, 0x3c, 0x66, 0xe1, 0xf2 }, integrity_table },
	{ "CONTEXT_CHECKS",
	  { 0x26, 0x3e, 0x88, 0x60, 0x7c, 0xd2, 0x61, 0x43,
	    0x92, 0xf6, 0xbb, 0xd5, 0x00, 0x6d, 0xfa, 0x7e }, ctx_check_table },
};

static const uint8_t probe_uuid[16] = {
	0xf8, 0xcf, 0xf9, 0x51, 0x21, 0x46, 0x8b, 0x4e,
	0xb9, 0xe2, 0xfb, 0x46, 0x9e, 0x7c, 0x0d, 0xd9,
};

/* "6bd5fb6c-5bf4-e74a-8987-d93912fd9df9" into buf (37 bytes). */
static void uuid_str(const uint8_t *u, char *buf)
{
	static const int dash[16] = { [4] = 1, [6] = 1, [8] = 1, [10] = 1 };
	int i, n = 0;

	for (i = 0; i < 16; i++) {
		if (dash[i])
			buf[n++] = '-';
		n += sprintf(buf + n, "%02x", u[i]);
	}
	buf[n] = 0;
}

/* Has this unknown UUID been logged before? (remembers the first 32) */
static int unknown_seen(const uint8_t *u)
{
	static uint8_t seen[32][16];
	static unsigned int nr_seen;
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	unsigned int i;
	int found = 0;

	pthread_mutex_lock(&lock);
	for (i = 0; i < nr_seen && !found; i++)
		found = !memcmp(seen[i], u, 16);
	if (!found && nr_seen < 32)
		memcpy(seen[nr_seen++], u, 16);
	pthread_mutex_unlock(&lock);
	return found;
}

static CUresult cuGetExportTable_untraced(const void **ppExportTable, const CUuuid *pExportTableId)
{
	const uint8_t *u;
	char name[40];
	size_t i;

	if (!ppExportTable || !pExportTableId)
		return CUDA_ERROR_INVALID_VALUE;
	u = (const uint8_t *)pExportTableId->bytes;
	for (i = 0; i < sizeof(dark_tables) / sizeof(dark_tables[0]); i++) {
		if (!memcmp(dark_tables[i].uuid, u, 16)) {
			*ppExportTable = dark_tables[i].table;
			return CUDA_SUCCESS;
		}
	}
	*ppExportTable = NULL;
	/*
	 * The runtime's first question, before cuInit: driver 580 has this
	 * table, whose slots nobody has worked out; a driver without it must
	 * say CUDA_ERROR_NOT_FOUND for the runtime to take its usual path
	 * (smolvm saw NOT_SUPPORTED fail it). Expected: no log line.
	 */
	if (!memcmp(u, probe_uuid, 16))
		return CUDA_ERROR_NOT_FOUND;
	if (!unknown_seen(u)) {
		uuid_str(u, name);
		dark_log("cuGetExportTable: no table %s here (CUDA_ERROR_INVALID_VALUE)", name);
	}
	return CUDA_ERROR_INVALID_VALUE;
}

CUresult CUDAAPI cuGetExportTable(const void **ppExportTable, const CUuuid *pExportTableId)
{
	CUresult r = cuGetExportTable_untraced(ppExportTable, pExportTableId);
	char name[40] = "(null)";
	const char *tab = NULL;

	if (__builtin_expect(lcu_trace_on, 0)) {
		if (pExportTableId)
			uuid_str((const uint8_t *)pExportTableId->bytes, name);
		if (r == CUDA_SUCCESS)
			tab = vgpu_dark_table_name(*ppExportTable);
	}
	return LCU_TRACE("cuGetExportTable", r, "(%p, %s) -> %s", (void *)ppExportTable, name,
			 tab ? tab : "-");
}

/* For the tests and the trace: the name of the table at p, or NULL. */
const char *vgpu_dark_table_name(const void *p)
{
	size_t i;

	for (i = 0; i < sizeof(dark_tables) / sizeof(dark_tables[0]); i++)
		if (dark_tables[i].table == p)
			return dark_tables[i].name;
	return NULL;
}
