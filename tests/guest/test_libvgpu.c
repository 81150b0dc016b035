// SPDX-License-Identifier: MIT
/*
 * test_libvgpu.c - libvgpu, one source for both transports. Tiers, chosen by
 * $VGPU_TEST_TIER:
 *   unit      (default) no backend: every call's argument checks (a table,
 *             one row per bad input and the status it must get), what
 *             reaches the device when the arguments are good (/dev/null:
 *             ENOTTY), device strings, error strings, the ioctl ABI
 *   loopback  the unit tier, then the device tier against a real
 *             vgpu-backend (cpu executor) this suite starts in a loopback
 *             world ($VGPU_BACKEND), then the loopback transport's own bad
 *             inputs: a world that does not exist, a domain without a
 *             device, a backend that is not running, a backend that dies
 *             mid-call or is restarted under a handle
 *   device    the unit tier, then the device tier on $VGPU_TEST_DEVICE
 *             (in a Xen guest: /dev/vgpu_stub, the kmod transport)
 * The device tier is a table too, one row per call with the status a real
 * backend must answer, the same on both transports; then two handles in one
 * process and one handle from several threads.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vgpu.h"
#include "vgpuif.h"
#include "uapi/vgpu_stub.h"
#include "ptx-kernels.h"
#ifdef VGPU_TEST_LOOPBACK
#include "tfront.h"
#endif

#define NROWS(a) ((int)(sizeof(a) / sizeof((a)[0])))

static vgpu_t *v;                 /* unit: on /dev/null, any ioctl gets ENOTTY */
static float fa[4], fb[4], fc[4];
static char buf[64], longname[VGPU_MAX_FUNC_NAME + 2];
static const uint32_t g1[3] = { 1, 1, 1 }, g0[3] = { 1, 0, 1 }, b1025[3] = { 1025, 1, 1 },
			 b32x33[3] = { 32, 33, 1 }, b1024[3] = { 32, 32, 1 };

static void null_setup(void)
{
	int fd = open("/dev/null", O_RDWR);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(vgpu_open_fd(fd, &v), 0);
	memset(longname, 'k', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
}

static void null_teardown(void)
{
	vgpu_close(v);
	v = NULL;
}

/* ----------------------------------------------------- argument table */

enum call {
	C_QUERY_NULL_V, C_QUERY_NULL_INFO, C_NOP_NULL_V, C_VADD_NULL_A, C_VADD_NULL_B,
	C_VADD_NULL_C, C_VADD_ZERO, C_VADD_TOO_MANY, C_VADD_NULL_V, C_ALLOC_ZERO,
	C_ALLOC_NULL_OUT, C_FREE_NULL_V, C_H2D_NULL_SRC, C_H2D_ZERO, C_H2D_OFF_WRAPS,
	C_D2H_NULL_DST, C_D2H_ZERO, C_D2D_ZERO, C_D2D_DST_WRAPS, C_D2D_SRC_WRAPS,
	C_MEMSET_ZERO, C_MEMSET_ELEM3, C_MEMSET_ELEM8, C_MEMSET_LEN_UNALIGNED,
	C_MEMSET_OFF_UNALIGNED, C_MLOAD_NULL_IMAGE, C_MLOAD_ZERO, C_MLOAD_TOO_BIG,
	C_MLOAD_FORMAT, C_MLOAD_LOG_NULL, C_MLOAD_LOG_TOO_BIG, C_MLOAD_NULL_OUT,
	C_UNLOAD_NULL_V, C_FGET_NULL_NAME, C_FGET_EMPTY, C_FGET_TOO_LONG, C_FGET_NULL_OUT,
	C_LAUNCH_NULL_GRID, C_LAUNCH_NULL_BLOCK, C_LAUNCH_ZERO_GRID, C_LAUNCH_BLOCK_1025,
	C_LAUNCH_BLOCK_PRODUCT, C_LAUNCH_PARAMS_NULL, C_LAUNCH_PARAMS_TOO_BIG,
	C_SYNC_NULL_V, C_SEND_OP_CTX, C_SEND_OP_256,
	C_DEVINFO_NULL, C_STREAM_CREATE_FLAGS, C_STREAM_CREATE_NULL, C_STREAM_DESTROY_0,
	C_WAIT_EVENT_0, C_EVENT_CREATE_FLAGS, C_EVENT_CREATE_NULL, C_EVENT_DESTROY_0,
	C_EVENT_RECORD_0, C_EVENT_SYNC_0, C_EVENT_QUERY_0, C_ELAPSED_NULL, C_ELAPSED_0,
	C_LAUNCH_ASYNC_NULL, C_FINFO_NULL, C_GLOBAL_NULL_NAME, C_GLOBAL_EMPTY,
	C_GLOBAL_TOO_LONG, C_HOST_ALLOC_ZERO, C_HOST_ALLOC_NULL,
	C_HOSTREG_NULL_V, C_HOSTREG_NULL, C_HOSTREG_ZERO, C_HOSTREG_FLAGS, C_HOSTREG_WRAPS,
	C_HOSTUNREG_NULL_V, C_HOSTUNREG_NULL, C_HOSTREG_KMOD, C_HOSTUNREG_KMOD,
	/* good arguments: they reach the device (/dev/null says ENOTTY) */
	C_OK_QUERY, C_OK_NOP, C_OK_VADD, C_OK_VADD_MAX, C_OK_ALLOC, C_OK_FREE, C_OK_H2D,
	C_OK_D2H, C_OK_D2D, C_OK_MEMSET, C_OK_MLOAD, C_OK_UNLOAD, C_OK_FGET, C_OK_LAUNCH,
	C_OK_LAUNCH_1024, C_OK_SYNC, C_OK_SEND_OP, C_OK_DEVINFO, C_OK_STREAM_CREATE,
	C_OK_EVENT_CREATE, C_OK_FINFO, C_OK_GLOBAL,
};

static int do_call(enum call c)
{
	struct vgpu_device_info di;
	struct vgpu_func_info fi;
	uint64_t h = 0;
	size_t lw = 0;
	struct vgpu_info info;
	float ms;
	void *p;

	switch (c) {
	case C_QUERY_NULL_V: return vgpu_query(NULL, &info);
	case C_QUERY_NULL_INFO: return vgpu_query(v, NULL);
	case C_NOP_NULL_V: return vgpu_nop(NULL, NULL);
	case C_VADD_NULL_A: return vgpu_vector_add(v, NULL, fb, fc, 4);
	case C_VADD_NULL_B: return vgpu_vector_add(v, fa, NULL, fc, 4);
	case C_VADD_NULL_C: return vgpu_vector_add(v, fa, fb, NULL, 4);
	case C_VADD_ZERO: return vgpu_vector_add(v, fa, fb, fc, 0);
	case C_VADD_TOO_MANY: return vgpu_vector_add(v, fa, fb, fc, VGPU_MAX_VECTOR_ADD_ELEMS + 1);
	case C_VADD_NULL_V: return vgpu_vector_add(NULL, fa, fb, fc, 4);
	case C_ALLOC_ZERO: return vgpu_mem_alloc(v, 0, &h, NULL);
	case C_ALLOC_NULL_OUT: return vgpu_mem_alloc(v, 16, NULL, NULL);
	case C_FREE_NULL_V: return vgpu_mem_free(NULL, 1);
	case C_H2D_NULL_SRC: return vgpu_memcpy_h2d(v, 1, 0, NULL, 4);
	case C_H2D_ZERO: return vgpu_memcpy_h2d(v, 1, 0, buf, 0);
	case C_H2D_OFF_WRAPS: return vgpu_memcpy_h2d(v, 1, UINT64_MAX - 1, buf, 4);
	case C_D2H_NULL_DST: return vgpu_memcpy_d2h(v, NULL, 1, 0, 4);
	case C_D2H_ZERO: return vgpu_memcpy_d2h(v, buf, 1, 0, 0);
	case C_D2D_ZERO: return vgpu_memcpy_d2d(v, 1, 0, 2, 0, 0);
	case C_D2D_DST_WRAPS: return vgpu_memcpy_d2d(v, 1, UINT64_MAX, 2, 0, 2);
	case C_D2D_SRC_WRAPS: return vgpu_memcpy_d2d(v, 1, 0, 2, UINT64_MAX, 2);
	case C_MEMSET_ZERO: return vgpu_memset(v, 1, 0, 0, 4, 0);
	case C_MEMSET_ELEM3: return vgpu_memset(v, 1, 0, 0, 3, 6);
	case C_MEMSET_ELEM8: return vgpu_memset(v, 1, 0, 0, 8, 8);
	case C_MEMSET_LEN_UNALIGNED: return vgpu_memset(v, 1, 0, 0, 4, 6);
	case C_MEMSET_OFF_UNALIGNED: return vgpu_memset(v, 1, 2, 0, 4, 8);
	case C_MLOAD_NULL_IMAGE: return vgpu_module_load(v, NULL, 4, VGPU_MODULE_PTX, NULL, 0, &h, &lw);
	case C_MLOAD_ZERO: return vgpu_module_load(v, buf, 0, VGPU_MODULE_PTX, NULL, 0, &h, &lw);
	case C_MLOAD_TOO_BIG:
		return vgpu_module_load(v, buf, VGPU_MAX_MODULE_BYTES + 1, VGPU_MODULE_PTX, NULL, 0, &h, &lw);
	case C_MLOAD_FORMAT:
		return vgpu_module_load(v, buf, 4, (enum vgpu_module_format)7, NULL, 0, &h, &lw);
	case C_MLOAD_LOG_NULL: return vgpu_module_load(v, buf, 4, VGPU_MODULE_PTX, NULL, 16, &h, &lw);
	case C_MLOAD_LOG_TOO_BIG:
		return vgpu_module_load(v, buf, 4, VGPU_MODULE_PTX, buf, VGPU_MAX_MODULE_LOG + 1, &h, &lw);
	case C_MLOAD_NULL_OUT: return vgpu_module_load(v, buf, 4, VGPU_MODULE_PTX, NULL, 0, NULL, &lw);
	case C_UNLOAD_NULL_V: return vgpu_module_unload(NULL, 1);
	case C_FGET_NULL_NAME: return vgpu_func_get(v, 1, NULL, &h, NULL);
	case C_FGET_EMPTY: return vgpu_func_get(v, 1, "", &h, NULL);
	case C_FGET_TOO_LONG: return vgpu_func_get(v, 1, longname, &h, NULL);
	case C_FGET_NULL_OUT: return vgpu_func_get(v, 1, "k", NULL, NULL);
	case C_LAUNCH_NULL_GRID: return vgpu_launch(v, 1, NULL, g1, 0, NULL, 0);
	case C_LAUNCH_NULL_BLOCK: return vgpu_launch(v, 1, g1, NULL, 0, NULL, 0);
	case C_LAUNCH_ZERO_GRID: return vgpu_launch(v, 1, g0, g1, 0, NULL, 0);
	case C_LAUNCH_BLOCK_1025: return vgpu_launch(v, 1, g1, b1025, 0, NULL, 0);
	case C_LAUNCH_BLOCK_PRODUCT: return vgpu_launch(v, 1, g1, b32x33, 0, NULL, 0);
	case C_LAUNCH_PARAMS_NULL: return vgpu_launch(v, 1, g1, g1, 0, NULL, 8);
	case C_LAUNCH_PARAMS_TOO_BIG:
		return vgpu_launch(v, 1, g1, g1, 0, buf, VGPU_MAX_PARAM_BYTES + 1);
	case C_SYNC_NULL_V: return vgpu_sync(NULL);
	case C_SEND_OP_CTX: return vgpu_send_op(v, VGPUIF_OP_CTX_DESTROY);
	case C_SEND_OP_256: return vgpu_send_op(v, 256);
	case C_DEVINFO_NULL: return vgpu_device_info(v, NULL);
	case C_STREAM_CREATE_FLAGS: return vgpu_stream_create(v, 2, 0, &h);
	case C_STREAM_CREATE_NULL: return vgpu_stream_create(v, 0, 0, NULL);
	case C_STREAM_DESTROY_0: return vgpu_stream_destroy(v, 0);
	case C_WAIT_EVENT_0: return vgpu_stream_wait_event(v, 0, 0);
	case C_EVENT_CREATE_FLAGS: return vgpu_event_create(v, 4, &h);
	case C_EVENT_CREATE_NULL: return vgpu_event_create(v, 0, NULL);
	case C_EVENT_DESTROY_0: return vgpu_event_destroy(v, 0);
	case C_EVENT_RECORD_0: return vgpu_event_record(v, 0, 0);
	case C_EVENT_SYNC_0: return vgpu_event_sync(v, 0);
	case C_EVENT_QUERY_0: return vgpu_event_query(v, 0);
	case C_ELAPSED_NULL: return vgpu_event_elapsed(v, 1, 2, NULL);
	case C_ELAPSED_0: return vgpu_event_elapsed(v, 0, 2, &ms);
	case C_LAUNCH_ASYNC_NULL: return vgpu_launch_async(v, NULL);
	case C_FINFO_NULL: return vgpu_func_info(v, 1, NULL);
	case C_GLOBAL_NULL_NAME: return vgpu_module_global(v, 1, NULL, &h, NULL, NULL);
	case C_GLOBAL_EMPTY: return vgpu_module_global(v, 1, "", &h, NULL, NULL);
	case C_GLOBAL_TOO_LONG: return vgpu_module_global(v, 1, longname, &h, NULL, NULL);
	case C_HOST_ALLOC_ZERO: return vgpu_host_alloc(v, 0, &p);
	case C_HOST_ALLOC_NULL: return vgpu_host_alloc(v, 4096, NULL);
	case C_OK_QUERY: return vgpu_query(v, &info);
	case C_OK_NOP: return vgpu_nop(v, NULL);
	case C_OK_VADD: return vgpu_vector_add(v, fa, fb, fc, 4);
	case C_OK_VADD_MAX: return vgpu_vector_add(v, fa, fb, fc, VGPU_MAX_VECTOR_ADD_ELEMS);
	case C_OK_ALLOC: return vgpu_mem_alloc(v, 1, &h, NULL);
	case C_OK_FREE: return vgpu_mem_free(v, 0);
	case C_HOSTREG_NULL_V: return vgpu_host_register(NULL, buf, 16, 0);
	case C_HOSTREG_NULL: return vgpu_host_register(v, NULL, 16, 0);
	case C_HOSTREG_ZERO: return vgpu_host_register(v, buf, 0, 0);
	case C_HOSTREG_FLAGS: return vgpu_host_register(v, buf, 16, 0x2);
	case C_HOSTREG_WRAPS: return vgpu_host_register(v, (void *)(UINTPTR_MAX - 8), 16, 0);
	case C_HOSTUNREG_NULL_V: return vgpu_host_unregister(NULL, buf);
	case C_HOSTUNREG_NULL: return vgpu_host_unregister(v, NULL);
	case C_HOSTREG_KMOD: return vgpu_host_register(v, buf, 16, VGPU_HOST_READ_ONLY);
	case C_HOSTUNREG_KMOD: return vgpu_host_unregister(v, buf);
	case C_OK_H2D: return vgpu_memcpy_h2d(v, 1, 3, buf, 1);
	case C_OK_D2H: return vgpu_memcpy_d2h(v, buf + 1, 1, 0, 7);
	case C_OK_D2D: return vgpu_memcpy_d2d(v, 1, 0, 1, 8, 8);
	case C_OK_MEMSET: return vgpu_memset(v, 1, 2, 0xff, 2, 6);
	case C_OK_MLOAD: return vgpu_module_load(v, buf, 4, VGPU_MODULE_AUTO, buf + 8, 16, &h, &lw);
	case C_OK_UNLOAD: return vgpu_module_unload(v, 1);
	case C_OK_FGET: return vgpu_func_get(v, 1, "vadd", &h, NULL);
	case C_OK_LAUNCH: return vgpu_launch(v, 1, g1, g1, 0, buf, 16);
	case C_OK_LAUNCH_1024: return vgpu_launch(v, 1, g1, b1024, 48 * 1024, NULL, 0);
	case C_OK_SYNC: return vgpu_sync(v);
	case C_OK_SEND_OP: return vgpu_send_op(v, 0xEE);
	case C_OK_DEVINFO: return vgpu_device_info(v, &di);
	case C_OK_STREAM_CREATE: return vgpu_stream_create(v, VGPU_STREAM_NON_BLOCKING, -1, &h);
	case C_OK_EVENT_CREATE: return vgpu_event_create(v, VGPU_EVENT_DISABLE_TIMING, &h);
	case C_OK_FINFO: return vgpu_func_info(v, 1, &fi);
	case C_OK_GLOBAL: return vgpu_module_global(v, 1, "g", &h, NULL, NULL);
	}
	return 12345;
}

static const struct { enum call call; int status; const char *what; } arg_rows[] = {
	{ C_QUERY_NULL_V, -EINVAL, "query, no handle" },
	{ C_QUERY_NULL_INFO, -EINVAL, "query, no info" },
	{ C_NOP_NULL_V, -EINVAL, "nop, no handle" },
	{ C_VADD_NULL_A, -EINVAL, "vector add, a NULL" },
	{ C_VADD_NULL_B, -EINVAL, "vector add, b NULL" },
	{ C_VADD_NULL_C, -EINVAL, "vector add, c NULL" },
	{ C_VADD_ZERO, -EINVAL, "vector add, n 0" },
	{ C_VADD_TOO_MANY, -E2BIG, "vector add, n above the limit" },
	{ C_VADD_NULL_V, -EINVAL, "vector add, no handle" },
	{ C_ALLOC_ZERO, -EINVAL, "alloc 0 bytes" },
	{ C_ALLOC_NULL_OUT, -EINVAL, "alloc, no handle out" },
	{ C_FREE_NULL_V, -EINVAL, "free, no handle" },
	{ C_H2D_NULL_SRC, -EINVAL, "H2D from NULL" },
	{ C_H2D_ZERO, -EINVAL, "H2D of 0 bytes" },
	{ C_H2D_OFF_WRAPS, -EINVAL, "H2D offset+len wraps" },
	{ C_D2H_NULL_DST, -EINVAL, "D2H to NULL" },
	{ C_D2H_ZERO, -EINVAL, "D2H of 0 bytes" },
	{ C_D2D_ZERO, -EINVAL, "D2D of 0 bytes" },
	{ C_D2D_DST_WRAPS, -EINVAL, "D2D dst offset wraps" },
	{ C_D2D_SRC_WRAPS, -EINVAL, "D2D src offset wraps" },
	{ C_MEMSET_ZERO, -EINVAL, "memset 0 bytes" },
	{ C_MEMSET_ELEM3, -EINVAL, "memset element of 3 bytes" },
	{ C_MEMSET_ELEM8, -EINVAL, "memset element of 8 bytes" },
	{ C_MEMSET_LEN_UNALIGNED, -EINVAL, "memset length not a multiple" },
	{ C_MEMSET_OFF_UNALIGNED, -EINVAL, "memset offset not a multiple" },
	{ C_MLOAD_NULL_IMAGE, -EINVAL, "module load, no image" },
	{ C_MLOAD_ZERO, -EINVAL, "module load, empty image" },
	{ C_MLOAD_TOO_BIG, -E2BIG, "module load, image above 16 MiB" },
	{ C_MLOAD_FORMAT, -EINVAL, "module load, unknown format" },
	{ C_MLOAD_LOG_NULL, -EINVAL, "module load, log length without a log" },
	{ C_MLOAD_LOG_TOO_BIG, -E2BIG, "module load, log above 64 KiB" },
	{ C_MLOAD_NULL_OUT, -EINVAL, "module load, no handle out" },
	{ C_UNLOAD_NULL_V, -EINVAL, "module unload, no handle" },
	{ C_FGET_NULL_NAME, -EINVAL, "func get, no name" },
	{ C_FGET_EMPTY, -EINVAL, "func get, empty name" },
	{ C_FGET_TOO_LONG, -E2BIG, "func get, name above 1024 bytes" },
	{ C_FGET_NULL_OUT, -EINVAL, "func get, no handle out" },
	{ C_LAUNCH_NULL_GRID, -EINVAL, "launch, no grid" },
	{ C_LAUNCH_NULL_BLOCK, -EINVAL, "launch, no block" },
	{ C_LAUNCH_ZERO_GRID, -EINVAL, "launch, a grid dimension 0" },
	{ C_LAUNCH_BLOCK_1025, -EINVAL, "launch, 1025 threads" },
	{ C_LAUNCH_BLOCK_PRODUCT, -EINVAL, "launch, 32x33 threads" },
	{ C_LAUNCH_PARAMS_NULL, -EINVAL, "launch, parameter length without parameters" },
	{ C_LAUNCH_PARAMS_TOO_BIG, -E2BIG, "launch, parameters above 4 KiB" },
	{ C_SYNC_NULL_V, -EINVAL, "sync, no handle" },
	{ C_SEND_OP_CTX, -EPERM, "send op CTX_DESTROY (the transport's)" },
	{ C_SEND_OP_256, -EINVAL, "send op 256" },
	{ C_DEVINFO_NULL, -EINVAL, "device info, no info" },
	{ C_STREAM_CREATE_FLAGS, -EINVAL, "stream create, unknown flag" },
	{ C_STREAM_CREATE_NULL, -EINVAL, "stream create, no handle out" },
	{ C_STREAM_DESTROY_0, -EINVAL, "stream destroy of the default stream" },
	{ C_WAIT_EVENT_0, -EINVAL, "stream wait on event 0" },
	{ C_EVENT_CREATE_FLAGS, -EINVAL, "event create, unknown flag" },
	{ C_EVENT_CREATE_NULL, -EINVAL, "event create, no handle out" },
	{ C_EVENT_DESTROY_0, -EINVAL, "event destroy 0" },
	{ C_EVENT_RECORD_0, -EINVAL, "event record 0" },
	{ C_EVENT_SYNC_0, -EINVAL, "event sync 0" },
	{ C_EVENT_QUERY_0, -EINVAL, "event query 0" },
	{ C_ELAPSED_NULL, -EINVAL, "event elapsed, no result" },
	{ C_ELAPSED_0, -EINVAL, "event elapsed from event 0" },
	{ C_LAUNCH_ASYNC_NULL, -EINVAL, "launch async, no config" },
	{ C_FINFO_NULL, -EINVAL, "func info, no info" },
	{ C_GLOBAL_NULL_NAME, -EINVAL, "module global, no name" },
	{ C_GLOBAL_EMPTY, -EINVAL, "module global, empty name" },
	{ C_GLOBAL_TOO_LONG, -E2BIG, "module global, name above 1024 bytes" },
	{ C_HOST_ALLOC_ZERO, -EINVAL, "host alloc of 0 bytes" },
	{ C_HOST_ALLOC_NULL, -EINVAL, "host alloc, no pointer out" },
	{ C_HOSTREG_NULL_V, -EINVAL, "host register, no handle" },
	{ C_HOSTREG_NULL, -EINVAL, "host register NULL" },
	{ C_HOSTREG_ZERO, -EINVAL, "host register 0 bytes" },
	{ C_HOSTREG_FLAGS, -EINVAL, "host register, unknown flag" },
	{ C_HOSTREG_WRAPS, -EINVAL, "host register, range wraps" },
	{ C_HOSTUNREG_NULL_V, -EINVAL, "host unregister, no handle" },
	{ C_HOSTUNREG_NULL, -EINVAL, "host unregister NULL" },
	/* the module has no ioctl that keeps grants: honestly unsupported */
	{ C_HOSTREG_KMOD, -EOPNOTSUPP, "host register on kmod (not supported)" },
	{ C_HOSTUNREG_KMOD, -EOPNOTSUPP, "host unregister on kmod (not supported)" },
	{ C_OK_QUERY, -ENOTTY, "good query" },
	{ C_OK_NOP, -ENOTTY, "good nop" },
	{ C_OK_VADD, -ENOTTY, "good vector add" },
	{ C_OK_VADD_MAX, -ENOTTY, "good vector add at the limit" },
	{ C_OK_ALLOC, -ENOTTY, "good alloc" },
	{ C_OK_FREE, -ENOTTY, "good free" },
	{ C_OK_H2D, -ENOTTY, "good H2D" },
	{ C_OK_D2H, -ENOTTY, "good D2H" },
	{ C_OK_D2D, -ENOTTY, "good D2D" },
	{ C_OK_MEMSET, -ENOTTY, "good memset" },
	{ C_OK_MLOAD, -ENOTTY, "good module load" },
	{ C_OK_UNLOAD, -ENOTTY, "good module unload" },
	{ C_OK_FGET, -ENOTTY, "good func get" },
	{ C_OK_LAUNCH, -ENOTTY, "good launch" },
	{ C_OK_LAUNCH_1024, -ENOTTY, "good launch, 1024 threads" },
	{ C_OK_SYNC, -ENOTTY, "good sync" },
	{ C_OK_SEND_OP, -ENOTTY, "good send op" },
	{ C_OK_DEVINFO, -ENOTTY, "good device info (asks the device what it serves)" },
	{ C_OK_STREAM_CREATE, -ENOTTY, "good stream create" },
	{ C_OK_EVENT_CREATE, -ENOTTY, "good event create" },
	{ C_OK_FINFO, -ENOTTY, "good func info" },
	{ C_OK_GLOBAL, -ENOTTY, "good module global" },
};

START_TEST(argument_table)
{
	int st = do_call(arg_rows[_i].call);

	ck_assert_msg(st == arg_rows[_i].status, "%s: got %d (%s), want %d", arg_rows[_i].what,
		      st, vgpu_strerror(st), arg_rows[_i].status);
}
END_TEST

START_TEST(open_errors)
{
	vgpu_t *x = (vgpu_t *)&x;

	ck_assert_int_eq(vgpu_open("/nonexistent/vgpu_stub", &x), -ENODEV);
	ck_assert_ptr_null(x);
	ck_assert_ptr_nonnull(strstr(vgpu_open_error(), "kmod"));
	ck_assert_int_eq(vgpu_open(NULL, NULL), -EINVAL);
	ck_assert_int_eq(vgpu_open_fd(-1, &x), -EINVAL);
	ck_assert_int_eq(vgpu_open_fd(0, NULL), -EINVAL);
	ck_assert_int_eq(vgpu_fd(NULL), -1);
	ck_assert_str_eq(vgpu_transport_name(NULL), "?");
	ck_assert_str_eq(vgpu_error(NULL), "");
	vgpu_close(NULL);
	/* A directory is not a device: open(O_RDWR) says EISDIR. */
	ck_assert_int_eq(vgpu_open("/", &x), -EISDIR);
	ck_assert_str_eq(vgpu_transport_name(v), "kmod");
	ck_assert_int_ge(vgpu_fd(v), 0);
}
END_TEST

/* Device strings: each names a transport, or is refused before anything opens. */
static const struct { const char *dev; int status; const char *needle; } dev_rows[] = {
	{ "nonsense", -EINVAL, "names no transport" },
	{ "tcp:host:1", -EINVAL, "names no transport" },
	{ "dev/vgpu_stub", -EINVAL, "names no transport" },
	{ "kmod:", -EINVAL, "kmod: no device path" },
	{ "kmod:/nonexistent/vgpu_stub", -ENODEV, "kmod: cannot open /nonexistent" },
	{ "/nonexistent/vgpu_stub", -ENODEV, "kmod" },
	{ "loopback:/tmp", -EINVAL, "needs ?domid=N" },
	{ "loopback:/tmp?domid=0", -EINVAL, "bad option 'domid=0'" },
	{ "loopback:/tmp?domid=256", -EINVAL, "bad option" },
	{ "loopback:/tmp?domid=1&colour=blue", -EINVAL, "bad option 'colour=blue'" },
	{ "loopback:/tmp?domid=1&timeout_ms=", -EINVAL, "bad option" },
	{ "loopback:/tmp?domid", -EINVAL, "not key=value" },
	{ "loopback:/nonexistent/world?domid=1", -ENODEV, "no loopback world at /nonexistent/world" },
};

START_TEST(device_string_table)
{
	vgpu_t *x = (vgpu_t *)&x;
	int st = vgpu_open(dev_rows[_i].dev, &x);

	ck_assert_msg(st == dev_rows[_i].status, "'%s': got %d (%s), want %d", dev_rows[_i].dev,
		      st, vgpu_open_error(), dev_rows[_i].status);
	ck_assert_ptr_null(x);
	ck_assert_msg(strstr(vgpu_open_error(), dev_rows[_i].needle),
		      "'%s': reason '%s', want '%s' in it", dev_rows[_i].dev, vgpu_open_error(),
		      dev_rows[_i].needle);
}
END_TEST

/* NULL takes $VGPU_DEVICE. */
START_TEST(device_from_environment)
{
	vgpu_t *x;

	setenv("VGPU_DEVICE", "loopback:/nonexistent/envworld?domid=3", 1);
	ck_assert_int_eq(vgpu_open(NULL, &x), -ENODEV);
	ck_assert_ptr_nonnull(strstr(vgpu_open_error(), "/nonexistent/envworld"));
	setenv("VGPU_DEVICE", "/nonexistent/envdev", 1);
	ck_assert_int_eq(vgpu_open(NULL, &x), -ENODEV);
	ck_assert_ptr_nonnull(strstr(vgpu_open_error(), "/nonexistent/envdev"));
	/* An explicit string wins. */
	ck_assert_int_eq(vgpu_open("nonsense", &x), -EINVAL);
	unsetenv("VGPU_DEVICE");
}
END_TEST

/* ------------------------------------------------------------- strings */

static const struct { int err; const char *needle; } str_rows[] = {
	{ 0, "success" },
	{ -ENODEV, "vgpu-front.ko" },
	{ -ENOTTY, "invalid command" },
	{ -EINTR, "signal" },
	{ -ETIMEDOUT, "watchdog" },
	{ -ENOTCONN, "no backend connected" },
	{ -EIO, "backend went away" },
	{ -EDQUOT, "quota" },
	{ -EBADF, "handle" },
	{ -ENOEXEC, "module image" },
	{ -EREMOTEIO, "GPU fault" },
	{ -E2BIG, "too large" },
	{ -ENOSYS, "unknown operation" },
	{ -ENOSPC, "grant references" },
	{ -EOPNOTSUPP, "not supported" },
	{ -EMFILE, "table full" },
	{ -ERANGE, "beyond the end" },
	{ -ENOENT, "no such kernel" },
	{ -ECONNREFUSED, "refused the connection" },
	{ -EPIPE, "Broken pipe" },      /* not ours: the C library's text */
	{ 1, "unknown error" },
	{ -5000, "unknown error" },
};

START_TEST(strerror_table)
{
	const char *s = vgpu_strerror(str_rows[_i].err);

	ck_assert_ptr_nonnull(s);
	ck_assert_msg(strstr(s, str_rows[_i].needle), "vgpu_strerror(%d) = '%s', want '%s' in it",
		      str_rows[_i].err, s, str_rows[_i].needle);
}
END_TEST

START_TEST(protocol_statuses_all_named)
{
	int st;

	for (st = -1; st >= -122; st--) {
		if (strcmp(vgpuif_status_str(st), "unknown status") == 0)
			continue;
		ck_assert_str_ne(vgpu_strerror(st), "unknown error");
		ck_assert_uint_gt(strlen(vgpu_strerror(st)), 5);
	}
}
END_TEST

START_TEST(names)
{
	ck_assert_str_eq(vgpu_priority_name(0), "high");
	ck_assert_str_eq(vgpu_priority_name(1), "medium");
	ck_assert_str_eq(vgpu_priority_name(2), "low");
	ck_assert_str_eq(vgpu_priority_name(3), "?");
	ck_assert_str_eq(vgpu_executor_name(1), "cpu");
	ck_assert_str_eq(vgpu_executor_name(2), "cuda");
	ck_assert_str_eq(vgpu_executor_name(0), "?");
}
END_TEST

/* ---------------------------------------------------------------- ABI */

static const struct { unsigned long cmd; size_t size; int dir; const char *name; } ioc_rows[] = {
	{ VGPU_STUB_IOC_QUERY, sizeof(struct vgpu_stub_query), _IOC_READ, "QUERY" },
	{ VGPU_STUB_IOC_NOP, sizeof(struct vgpu_stub_nop), _IOC_READ, "NOP" },
	{ VGPU_STUB_IOC_VECTOR_ADD, sizeof(struct vgpu_stub_vector_add), _IOC_READ | _IOC_WRITE, "VECTOR_ADD" },
	{ VGPU_STUB_IOC_MEM_ALLOC, sizeof(struct vgpu_stub_mem_alloc), _IOC_READ | _IOC_WRITE, "MEM_ALLOC" },
	{ VGPU_STUB_IOC_MEM_FREE, sizeof(struct vgpu_stub_mem_free), _IOC_WRITE, "MEM_FREE" },
	{ VGPU_STUB_IOC_MEMCPY_H2D, sizeof(struct vgpu_stub_memcpy), _IOC_WRITE, "MEMCPY_H2D" },
	{ VGPU_STUB_IOC_MEMCPY_D2H, sizeof(struct vgpu_stub_memcpy), _IOC_WRITE, "MEMCPY_D2H" },
	{ VGPU_STUB_IOC_MEMCPY_D2D, sizeof(struct vgpu_stub_memcpy_d2d), _IOC_WRITE, "MEMCPY_D2D" },
	{ VGPU_STUB_IOC_MEMSET, sizeof(struct vgpu_stub_memset), _IOC_WRITE, "MEMSET" },
	{ VGPU_STUB_IOC_MODULE_LOAD, sizeof(struct vgpu_stub_module_load), _IOC_READ | _IOC_WRITE, "MODULE_LOAD" },
	{ VGPU_STUB_IOC_MODULE_UNLOAD, sizeof(struct vgpu_stub_module_unload), _IOC_WRITE, "MODULE_UNLOAD" },
	{ VGPU_STUB_IOC_FUNC_GET, sizeof(struct vgpu_stub_func_get), _IOC_READ | _IOC_WRITE, "FUNC_GET" },
	{ VGPU_STUB_IOC_LAUNCH, sizeof(struct vgpu_stub_launch), _IOC_WRITE, "LAUNCH" },
	{ VGPU_STUB_IOC_SYNC, sizeof(struct vgpu_stub_sync), _IOC_READ, "SYNC" },
	{ VGPU_STUB_IOC_CALL, sizeof(struct vgpu_stub_call), _IOC_READ | _IOC_WRITE, "CALL" },
};

START_TEST(ioctl_numbers)
{
	unsigned int j;

	ck_assert_uint_eq(_IOC_TYPE(ioc_rows[_i].cmd), 'V');
	ck_assert_uint_eq(_IOC_SIZE(ioc_rows[_i].cmd), ioc_rows[_i].size);
	ck_assert_int_eq(_IOC_DIR(ioc_rows[_i].cmd), ioc_rows[_i].dir);
	ck_assert_uint_eq(ioc_rows[_i].size % 8, 0);
	for (j = 0; j < sizeof(ioc_rows) / sizeof(ioc_rows[0]); j++)
		if (j != (unsigned int)_i)
			ck_assert_msg(_IOC_NR(ioc_rows[j].cmd) != _IOC_NR(ioc_rows[_i].cmd),
				      "%s and %s share a number", ioc_rows[j].name, ioc_rows[_i].name);
}
END_TEST

START_TEST(struct_layout)
{
	ck_assert_uint_eq(sizeof(struct vgpu_stub_query), 208);
	ck_assert_uint_eq(offsetof(struct vgpu_stub_query, gpu_name), 16);
	ck_assert_uint_eq(offsetof(struct vgpu_stub_query, total_mem), 80);
	ck_assert_uint_eq(offsetof(struct vgpu_stub_query, cc_major), 112);
	ck_assert_uint_eq(offsetof(struct vgpu_stub_query, generation), 160);
	ck_assert_uint_eq(offsetof(struct vgpu_stub_query, ctx), 168);
	ck_assert_uint_eq(offsetof(struct vgpu_stub_vector_add, n), 24);
	ck_assert_uint_eq(offsetof(struct vgpu_stub_vector_add, _pad0), 28);
	ck_assert_uint_eq(offsetof(struct vgpu_stub_memcpy, host), 16);
	ck_assert_uint_eq(offsetof(struct vgpu_stub_memcpy, length), 24);
	ck_assert_uint_eq(offsetof(struct vgpu_stub_memset, value), 24);
	ck_assert_uint_eq(offsetof(struct vgpu_stub_module_load, log_len), 24);
	ck_assert_uint_eq(offsetof(struct vgpu_stub_module_load, format), 28);
	ck_assert_uint_eq(offsetof(struct vgpu_stub_module_load, log_written), 40);
	ck_assert_uint_eq(offsetof(struct vgpu_stub_func_get, name_len), 16);
	ck_assert_uint_eq(offsetof(struct vgpu_stub_func_get, func), 24);
	ck_assert_uint_eq(offsetof(struct vgpu_stub_launch, grid), 8);
	ck_assert_uint_eq(offsetof(struct vgpu_stub_launch, block), 20);
	ck_assert_uint_eq(offsetof(struct vgpu_stub_launch, shared_mem), 32);
	ck_assert_uint_eq(offsetof(struct vgpu_stub_launch, param_len), 36);
	ck_assert_uint_eq(offsetof(struct vgpu_stub_query, ops), 176);
	ck_assert_uint_eq(offsetof(struct vgpu_stub_query, inline_bytes), 180);
	ck_assert_uint_eq(offsetof(struct vgpu_stub_query, gpu), 184);
	ck_assert_uint_eq(offsetof(struct vgpu_stub_query, reserved), 192);
	ck_assert_uint_eq(sizeof(struct vgpu_stub_call), 200);
	ck_assert_uint_eq(offsetof(struct vgpu_stub_call, args), 16);
	ck_assert_uint_eq(offsetof(struct vgpu_stub_call, regions), 64);
	ck_assert_uint_eq(offsetof(struct vgpu_stub_call, result), 160);
	ck_assert_uint_eq(offsetof(struct vgpu_stub_call, exec_ns), 176);
	ck_assert_uint_eq(offsetof(struct vgpu_stub_region, flags), 16);
	/* The query carries the protocol's info fields unshortened. */
	ck_assert_uint_eq(sizeof(((struct vgpu_stub_query *)0)->gpu_name),
			  sizeof(((struct vgpuif_info *)0)->gpu_name));
}
END_TEST

/* ====================================================== the device tier */

static char device[512];          /* the device string of the tier */
#ifdef VGPU_TEST_LOOPBACK
static struct tf_world W;
static struct tf_dom D;
#endif

static vgpu_t *dev_open(void)
{
	vgpu_t *x = NULL;
	int st = vgpu_open(device, &x);

	ck_assert_msg(st == 0, "open %s: %d (%s)", device, st, vgpu_open_error());
	return x;
}

/*
 * The device tier's backend: $VGPU_TEST_DEVICE, or a loopback world with a
 * real vgpu-backend started once for the whole test case (each test runs
 * in a child process of its own, with a connection of its own).
 */
static void dev_tier_setup(void)
{
	const char *env = getenv("VGPU_TEST_DEVICE");

	if (env) {
		snprintf(device, sizeof(device), "%s", env);
		return;
	}
#ifdef VGPU_TEST_LOOPBACK
	/* The dom0-wide arbiter is shared with whatever else runs here. */
	setenv("VGPU_ARB", "off", 1);
	tf_backend_path();
	ck_assert_int_eq(tf_world_init(&W), 0);
	memset(&D, 0, sizeof(D));
	ck_assert_int_eq(tf_dom_create(&W, &D, 5, 0), 0);
	snprintf(device, sizeof(device), "loopback:%s?domid=5&timeout_ms=%d", W.dir, TF_WAIT_MS);
#else
	ck_abort_msg("no device: set VGPU_TEST_DEVICE");
#endif
}

#ifdef VGPU_TEST_LOOPBACK
/* The same, with a backend that serves revision 1 only. */
static void r1_tier_setup(void)
{
	setenv("VGPU_ARB", "off", 1);
	tf_backend_path();
	ck_assert_int_eq(tf_world_init(&W), 0);
	memset(&D, 0, sizeof(D));
	D.extra[0] = "--protocol-revision";
	D.extra[1] = "1";
	ck_assert_int_eq(tf_dom_create(&W, &D, 8, 0), 0);
	snprintf(device, sizeof(device), "loopback:%s?domid=8&timeout_ms=%d", W.dir, TF_WAIT_MS);
}
#endif

static void dev_tier_teardown(void)
{
#ifdef VGPU_TEST_LOOPBACK
	if (!getenv("VGPU_TEST_DEVICE")) {
		int st = tf_backend_stop(&D);

		if (st)
			fprintf(stderr, "backend exited %d (log %s)\n", st, D.log);
		tf_dom_destroy(&D);
		tf_world_fini(&W);
	}
#endif
}

static void dev_setup(void)
{
	v = dev_open();
}

static void dev_teardown(void)
{
	vgpu_close(v);
	v = NULL;
}

/* Does the backend serve revision 2? (until it does: ENOSYS rows) */
static bool dev_r2(void)
{
	struct vgpu_info i;

	ck_assert_int_eq(vgpu_query(v, &i), 0);
	return i.ops > VGPUIF_OP_MODULE_GLOBAL;
}

/*
 * One row per call with the status a real backend answers, the same on
 * both transports. Each runs on a fresh handle holding one 64 KiB
 * allocation (mem) with a pattern in it.
 */
enum dcall {
	D_NOP, D_QUERY, D_VADD, D_VADD_ODD, D_ALLOC, D_FREE_UNKNOWN, D_FREE_TWICE, D_H2D,
	D_H2D_UNKNOWN, D_H2D_PAST_END, D_H2D_AT_END, D_D2H, D_D2H_PAST_END, D_D2D_SYNC,
	D_D2D_PAST_END_SYNC, D_MEMSET_SYNC, D_MEMSET_UNKNOWN_SYNC, D_ASYNC_ERR_CLEARED,
	D_LAUNCH_UNKNOWN_SYNC, D_FGET_UNKNOWN_MODULE, D_UNLOAD_UNKNOWN, D_MLOAD_GARBAGE,
	D_SEND_OP_UNKNOWN, D_SEND_OP_SYNC, D_SYNC, D_BIG_COPY, D_HOST_COPY_ASYNC,
	D_HOST_CONTAINS, D_STREAM0_SYNC,
	/* revision 2: ENOSYS from a revision-1 backend */
	D_R2_DEVINFO, D_R2_STREAM_CREATE, D_R2_EVENT_CREATE, D_R2_FINFO, D_R2_GLOBAL,
	D_R2_STREAM_ASYNC_COPY,
	/* revision 2 served: what it must answer */
	D_RD_DEVINFO, D_RD_STREAM_LIFE, D_RD_STREAM_UNKNOWN, D_RD_STREAM_ASYNC_ERR,
	D_RD_EVENTS, D_RD_EVENT_NO_TIMING, D_RD_WAIT_EVENT, D_RD_STREAM_COPIES,
	D_RD_KERNEL, D_RD_GLOBALS, D_RD_GLOBAL_MISSING, D_RD_FINFO_UNKNOWN,
	D_RD_LAUNCH_UNKNOWN_STREAM,
};

static uint64_t mem;
#define MEM_SIZE 65536u

static int vadd_check(uint32_t n, size_t skew)
{
	float *m = malloc((3 * n + 8) * sizeof(float)), *a = m + skew;
	uint32_t i, bad = 0;
	int st;

	ck_assert_ptr_nonnull(m);
	for (i = 0; i < n; i++) {
		a[i] = (float)i;
		a[n + i] = 0.5f * (float)i;
		a[2 * n + i] = -1;
	}
	st = vgpu_vector_add(v, a, a + n, a + 2 * n, n);
	for (i = 0; !st && i < n; i++)
		bad += a[2 * n + i] != a[i] + a[n + i];
	free(m);
	return st ? st : bad ? 1000 + (int)bad : 0;
}

static int copy_roundtrip(size_t len, size_t hoff, uint64_t doff)
{
	uint8_t *in = malloc(len + hoff), *out = malloc(len + 8);
	uint64_t big;
	size_t i;
	int st;

	ck_assert_ptr_nonnull(in);
	ck_assert_ptr_nonnull(out);
	for (i = 0; i < len; i++)
		in[hoff + i] = (uint8_t)(i * 131 + (i >> 12));
	st = vgpu_mem_alloc(v, len + doff, &big, NULL);
	if (!st)
		st = vgpu_memcpy_h2d(v, big, doff, in + hoff, len);
	memset(out, 0x5a, len + 8);
	if (!st)
		st = vgpu_memcpy_d2h(v, out + 3, big, doff, len);
	if (!st && (memcmp(in + hoff, out + 3, len) || out[2] != 0x5a || out[len + 3] != 0x5a))
		st = 1000;
	if (big)
		vgpu_mem_free(v, big);
	free(in);
	free(out);
	return st;
}

/* saxpy (tests/exec/ptx-kernels.h) on stream st: y = 2x + y, checked. */
static int run_saxpy(uint64_t st)
{
	enum { N = 300 };
	struct vgpu_func_info fi;
	struct vgpu_launch_cfg lc = { .grid = { 3, 1, 1 }, .block = { 128, 1, 1 }, .stream = st };
	float x[N], y[N], out[N];
	uint64_t mod, fn, bytes, mx, my, ax, ay;
	uint8_t params[24];
	int32_t n = N;
	float a = 2.0f;
	int r, i;

	r = vgpu_module_load(v, ptxk_saxpy, sizeof(ptxk_saxpy), VGPU_MODULE_PTX, NULL, 0,
			     &mod, NULL);
	if (!r)
		r = vgpu_func_get(v, mod, "_Z5saxpyifPKfPf", &fn, &bytes);
	if (!r)
		r = vgpu_func_info(v, fn, &fi);
	if (!r && (fi.nr_params != 4 || fi.param[1].offset != 4 || fi.param[2].offset != 8 ||
		   fi.param[3].offset != 16 || fi.param_bytes != 24))
		return 1100;
	for (i = 0; i < N; i++) {
		x[i] = (float)i;
		y[i] = 1.0f;
	}
	if (!r)
		r = vgpu_mem_alloc(v, sizeof(x), &mx, &ax);
	if (!r)
		r = vgpu_mem_alloc(v, sizeof(y), &my, &ay);
	if (!r)
		r = vgpu_memcpy_h2d_async(v, st, mx, 0, x, sizeof(x));
	if (!r)
		r = vgpu_memcpy_h2d_async(v, st, my, 0, y, sizeof(y));
	memcpy(params, &n, 4);
	memcpy(params + 4, &a, 4);
	memcpy(params + 8, &ax, 8);
	memcpy(params + 16, &ay, 8);
	lc.func = fn;
	lc.params = params;
	lc.param_len = sizeof(params);
	if (!r)
		r = vgpu_launch_async(v, &lc);
	memset(params, 0, sizeof(params));  /* captured at the call */
	if (!r)
		r = vgpu_memcpy_d2h_async(v, st, out, my, 0, sizeof(out));
	if (!r)
		r = vgpu_stream_sync(v, st);
	for (i = 0; !r && i < N; i++)
		if (out[i] != 2.0f * x[i] + 1.0f)
			r = 1200 + i;
	if (!r)
		r = vgpu_module_unload(v, mod);
	return r;
}

static int do_dcall(enum dcall c)
{
	static const char garbage[] = "not a module at all";
	struct vgpu_device_info di;
	struct vgpu_func_info fi;
	struct vgpu_info info;
	uint8_t b[256] = { 0 };
	uint64_t h = 0;
	char log[256];
	int st;
	void *p;

	switch (c) {
	case D_NOP: return vgpu_nop(v, NULL);
	case D_QUERY:
		st = vgpu_query(v, &info);
		if (!st && (info.domid == 0 || info.ctx == 0 || info.ring_slots == 0 ||
			    info.max_segments < VGPUIF_MAX_DIRECT_SEGMENTS ||
			    info.ops < VGPUIF_OP_COUNT_V1 || info.generation == 0))
			return 1000;
		return st;
	case D_VADD: return vadd_check(1024, 0);
	case D_VADD_ODD: return vadd_check(1500, 1);   /* 18000 bytes, misaligned */
	case D_ALLOC: return vgpu_mem_alloc(v, 4096, &h, NULL);
	case D_FREE_UNKNOWN: return vgpu_mem_free(v, 0x7777);
	case D_FREE_TWICE:
		st = vgpu_mem_free(v, mem);
		return st ? st : vgpu_mem_free(v, mem);
	case D_H2D: return vgpu_memcpy_h2d(v, mem, 5, b, sizeof(b));
	case D_H2D_UNKNOWN: return vgpu_memcpy_h2d(v, 0x7777, 0, b, sizeof(b));
	case D_H2D_PAST_END: return vgpu_memcpy_h2d(v, mem, MEM_SIZE - 10, b, 11);
	case D_H2D_AT_END: return vgpu_memcpy_h2d(v, mem, MEM_SIZE - 11, b, 11);
	case D_D2H: return vgpu_memcpy_d2h(v, b + 1, mem, 0, 200);
	case D_D2H_PAST_END: return vgpu_memcpy_d2h(v, b, mem, MEM_SIZE, 1);
	case D_D2D_SYNC:
		st = vgpu_memcpy_d2d(v, mem, 0, mem, 4096, 4096);
		return st ? st : vgpu_sync(v);
	case D_D2D_PAST_END_SYNC:
		st = vgpu_memcpy_d2d(v, mem, 0, mem, MEM_SIZE - 1, 2);
		return st ? st : vgpu_sync(v);
	case D_MEMSET_SYNC:
		st = vgpu_memset(v, mem, 8, 0xabcd, 2, 64);
		return st ? st : vgpu_sync(v);
	case D_MEMSET_UNKNOWN_SYNC:
		st = vgpu_memset(v, 0x7777, 0, 0, 4, 64);
		return st ? st : vgpu_sync(v);
	case D_ASYNC_ERR_CLEARED:
		/* The first async error comes back once, then is gone. */
		st = vgpu_memset(v, 0x7777, 0, 0, 4, 64);
		if (!st && vgpu_sync(v) != -EBADF)
			return 1000;
		return st ? st : vgpu_sync(v);
	case D_LAUNCH_UNKNOWN_SYNC:
		st = vgpu_launch(v, 0x7777, g1, g1, 0, b, 16);
		return st ? st : vgpu_sync(v);
	case D_FGET_UNKNOWN_MODULE: return vgpu_func_get(v, 0x7777, "k", &h, NULL);
	case D_UNLOAD_UNKNOWN: return vgpu_module_unload(v, 0x7777);
	case D_MLOAD_GARBAGE:
		return vgpu_module_load(v, garbage, sizeof(garbage), VGPU_MODULE_PTX, log,
					sizeof(log), &h, NULL);
	case D_SEND_OP_UNKNOWN: return vgpu_send_op(v, 0xEE);
	case D_SEND_OP_SYNC: return vgpu_send_op(v, VGPUIF_OP_SYNC);
	case D_SYNC: return vgpu_sync(v);
	case D_BIG_COPY: return copy_roundtrip((40u << 20) + 5, 3, 1);
	case D_HOST_COPY_ASYNC:
		st = vgpu_host_alloc(v, 3 * 4096, &p);
		if (st)
			return st;
		memset(p, 0x42, 3 * 4096);
		st = vgpu_memcpy_h2d_async(v, 0, mem, 0, (uint8_t *)p + 7, 2 * 4096);
		if (!st)
			st = vgpu_memset(v, mem, 4096, 0, 1, 1);
		if (!st)
			st = vgpu_memcpy_d2h_async(v, 0, (uint8_t *)p + 2 * 4096, mem, 4095, 2);
		if (!st)
			st = vgpu_sync(v);
		if (!st && (((uint8_t *)p)[2 * 4096] != 0x42 || ((uint8_t *)p)[2 * 4096 + 1] != 0))
			st = 1000;
		vgpu_host_free(v, p);
		return st;
	case D_HOST_CONTAINS:
		st = vgpu_host_alloc(v, 5000, &p);
		if (st)
			return st;
		st = vgpu_host_contains(v, p, 5000) && vgpu_host_contains(v, (char *)p + 4999, 1) &&
		     !vgpu_host_contains(v, b, 1) && !vgpu_host_contains(v, p, 1u << 30) ? 0 : 1000;
		if (vgpu_host_free(v, p) || vgpu_host_free(v, p) != -EINVAL)
			st = 1001;
		return st;
	case D_STREAM0_SYNC:
		return dev_r2() ? vgpu_stream_sync(v, 0) : 0;
	case D_R2_DEVINFO: return vgpu_device_info(v, &di);
	case D_R2_STREAM_CREATE: return vgpu_stream_create(v, 0, 0, &h);
	case D_R2_EVENT_CREATE: return vgpu_event_create(v, 0, &h);
	case D_R2_FINFO: return vgpu_func_info(v, 0x7777, &fi);
	case D_R2_GLOBAL: return vgpu_module_global(v, 0x7777, "g", &h, NULL, NULL);
	case D_R2_STREAM_ASYNC_COPY: return vgpu_memcpy_h2d_async(v, 0x7777, mem, 0, b, 16);
	case D_RD_DEVINFO:
		st = vgpu_device_info(v, &di);
		return st ? st : di.version != 1 || !di.name[0] || di.total_mem == 0 ? 1000 : 0;
	case D_RD_STREAM_LIFE: {
		uint64_t s1;

		st = vgpu_stream_create(v, VGPU_STREAM_NON_BLOCKING, 0, &s1);
		if (!st)
			st = vgpu_memset_async(v, s1, mem, 0, 7, 1, 128);
		if (!st)
			st = vgpu_stream_sync(v, s1);
		if (!st)
			st = vgpu_stream_query(v, s1);
		if (!st)
			st = vgpu_stream_destroy(v, s1);
		return st ? st : vgpu_stream_destroy(v, s1);  /* gone: EBADF */
	}
	case D_RD_STREAM_UNKNOWN: return vgpu_stream_sync(v, 0x7777);
	case D_RD_STREAM_ASYNC_ERR: {
		uint64_t s1;

		st = vgpu_stream_create(v, 0, 0, &s1);
		if (!st)
			st = vgpu_memset_async(v, s1, 0x7777, 0, 0, 4, 64);
		if (!st)
			st = vgpu_stream_sync(v, s1);   /* the memset's EBADF */
		if (st == -EBADF && vgpu_sync(v) == 0 && vgpu_stream_destroy(v, s1) == 0)
			return -EBADF;
		return st ? st : 1000;
	}
	case D_RD_EVENTS: {
		uint64_t e;
		float ms = -1;

		st = vgpu_event_create(v, 0, &e);
		if (!st)
			st = vgpu_memset_async(v, 0, mem, 0, 1, 4, 4096);
		if (!st)
			st = vgpu_event_record(v, e, 0);
		if (!st)
			st = vgpu_event_sync(v, e);
		if (!st)
			st = vgpu_event_query(v, e);
		if (!st)
			st = vgpu_event_elapsed(v, e, e, &ms);
		if (!st && !(ms >= 0.0f))
			st = 1000;
		return st ? st : vgpu_event_destroy(v, e);
	}
	case D_RD_EVENT_NO_TIMING: {
		uint64_t e;
		float ms;

		st = vgpu_event_create(v, VGPU_EVENT_DISABLE_TIMING, &e);
		if (!st)
			st = vgpu_event_record(v, e, 0);
		if (!st)
			st = vgpu_event_sync(v, e);
		if (!st)
			st = vgpu_event_elapsed(v, e, e, &ms);
		vgpu_event_destroy(v, e);
		return st;
	}
	case D_RD_WAIT_EVENT: {
		uint64_t s1, s2, e;

		st = vgpu_stream_create(v, VGPU_STREAM_NON_BLOCKING, 0, &s1);
		if (!st)
			st = vgpu_stream_create(v, VGPU_STREAM_NON_BLOCKING, 0, &s2);
		if (!st)
			st = vgpu_event_create(v, VGPU_EVENT_DISABLE_TIMING, &e);
		if (!st)
			st = vgpu_memset_async(v, s1, mem, 0, 0x11, 1, 256);
		if (!st)
			st = vgpu_event_record(v, e, s1);
		if (!st)
			st = vgpu_stream_wait_event(v, s2, e);
		if (!st)
			st = vgpu_memcpy_d2d_async(v, s2, mem, 1024, mem, 0, 256);
		if (!st)
			st = vgpu_memcpy_d2h_async(v, s2, b, mem, 1024, 256);
		if (!st)
			st = vgpu_stream_sync(v, s2);
		if (!st && (b[0] != 0x11 || b[255] != 0x11))
			st = 1000;
		return st;
	}
	case D_RD_STREAM_COPIES: {
		uint64_t s1;
		uint8_t out[256];

		memset(b, 0x33, sizeof(b));
		st = vgpu_stream_create(v, 0, 0, &s1);
		if (!st)
			st = vgpu_memcpy_h2d_async(v, s1, mem, 3, b, sizeof(b));
		if (!st)
			st = vgpu_memcpy_d2h_async(v, s1, out, mem, 3, sizeof(out));
		if (!st)
			st = vgpu_stream_sync(v, s1);
		return st ? st : memcmp(b, out, sizeof(b)) ? 1000 : 0;
	}
	case D_RD_KERNEL: return run_saxpy(0);
	case D_RD_GLOBALS: {
		uint64_t mod, gm, addr, size;
		float coef[4];

		st = vgpu_module_load(v, ptxk_poly, sizeof(ptxk_poly), VGPU_MODULE_PTX, NULL, 0,
				      &mod, NULL);
		if (!st)
			st = vgpu_module_global(v, mod, "hits", &gm, &addr, &size);
		if (!st && (size != 4 || addr == 0 || gm == 0))
			st = 1000;
		if (!st)
			st = vgpu_module_global(v, mod, "coef", &gm, &addr, &size);
		if (!st && size != 16)
			st = 1001;
		if (!st)
			st = vgpu_memcpy_d2h(v, coef, gm, 0, sizeof(coef));
		if (!st && (coef[0] != 1.0f || coef[3] != 4.0f))
			st = 1002;
		return st ? st : vgpu_module_unload(v, mod);
	}
	case D_RD_GLOBAL_MISSING: {
		uint64_t mod;

		st = vgpu_module_load(v, ptxk_poly, sizeof(ptxk_poly), VGPU_MODULE_PTX, NULL, 0,
				      &mod, NULL);
		return st ? st : vgpu_module_global(v, mod, "nothing_here", &h, NULL, NULL);
	}
	case D_RD_FINFO_UNKNOWN: return vgpu_func_info(v, 0x7777, &fi);
	case D_RD_LAUNCH_UNKNOWN_STREAM: {
		struct vgpu_launch_cfg lc = { .func = 0x7777, .grid = { 1, 1, 1 },
					      .block = { 1, 1, 1 }, .stream = 0x7777 };

		st = vgpu_launch_async(v, &lc);
		return st ? st : vgpu_sync(v);
	}
	}
	return 12345;
}

/*
 * alt: a second status some executors give (the cpu executor has no
 * module loader: EOPNOTSUPP; the cuda one rejects the image: ENOEXEC).
 * r2: the row's status is for a revision-1 backend (ENOSYS); skipped on a
 * backend that serves revision 2 (its own tests cover it).
 */
static const struct { enum dcall call; int status, alt; bool r2; const char *what; } dev_rows_tab[] = {
	{ D_NOP, 0, 0, false, "nop" },
	{ D_QUERY, 0, 0, false, "query: domain, context, ring, ops filled in" },
	{ D_VADD, 0, 0, false, "vector add of 1024, checked" },
	{ D_VADD_ODD, 0, 0, false, "vector add of 1500 from a misaligned buffer, checked" },
	{ D_ALLOC, 0, 0, false, "alloc" },
	{ D_FREE_UNKNOWN, -EBADF, 0, false, "free of a handle never given" },
	{ D_FREE_TWICE, -EBADF, 0, false, "free twice" },
	{ D_H2D, 0, 0, false, "H2D of 256 bytes at offset 5" },
	{ D_H2D_UNKNOWN, -EBADF, 0, false, "H2D to an unknown handle" },
	{ D_H2D_PAST_END, -ERANGE, 0, false, "H2D one byte past the end" },
	{ D_H2D_AT_END, 0, 0, false, "H2D up to the last byte" },
	{ D_D2H, 0, 0, false, "D2H into a misaligned buffer" },
	{ D_D2H_PAST_END, -ERANGE, 0, false, "D2H from the end" },
	{ D_D2D_SYNC, 0, 0, false, "D2D, then sync" },
	{ D_D2D_PAST_END_SYNC, -ERANGE, 0, false, "D2D past the end: the error comes at sync" },
	{ D_MEMSET_SYNC, 0, 0, false, "memset, then sync" },
	{ D_MEMSET_UNKNOWN_SYNC, -EBADF, 0, false, "memset of an unknown handle: at sync" },
	{ D_ASYNC_ERR_CLEARED, 0, 0, false, "an async error is reported once" },
	{ D_LAUNCH_UNKNOWN_SYNC, -EBADF, 0, false, "launch of an unknown function: at sync" },
	{ D_FGET_UNKNOWN_MODULE, -EBADF, 0, false, "func get in an unknown module" },
	{ D_UNLOAD_UNKNOWN, -EBADF, 0, false, "unload of an unknown module" },
	{ D_MLOAD_GARBAGE, -EOPNOTSUPP, -ENOEXEC, false, "module load of garbage" },
	{ D_SEND_OP_UNKNOWN, -ENOSYS, 0, false, "an opcode no backend serves" },
	{ D_SEND_OP_SYNC, 0, 0, false, "SYNC as a raw op" },
	{ D_SYNC, 0, 0, false, "sync with nothing queued" },
	{ D_BIG_COPY, 0, 0, false, "40 MiB + 5 copied there and back (split), checked" },
	{ D_HOST_COPY_ASYNC, 0, 0, false, "async copies from and to host memory, checked" },
	{ D_HOST_CONTAINS, 0, 0, false, "host memory is known as such" },
	{ D_STREAM0_SYNC, 0, 0, false, "sync of the default stream" },
	{ D_R2_DEVINFO, -ENOSYS, 0, true, "device info" },
	{ D_R2_STREAM_CREATE, -ENOSYS, 0, true, "stream create" },
	{ D_R2_EVENT_CREATE, -ENOSYS, 0, true, "event create" },
	{ D_R2_FINFO, -ENOSYS, 0, true, "func info" },
	{ D_R2_GLOBAL, -ENOSYS, 0, true, "module global" },
	{ D_R2_STREAM_ASYNC_COPY, -ENOSYS, 0, true, "a copy on a stream" },
};

/* Revision 2 served (feature-ops 31): each row's answer. */
/*
 * alt: EOPNOTSUPP where the executor has no module loader (the cpu
 * executor before its PTX support is served).
 */
static const struct { enum dcall call; int status, alt; const char *what; } r2_rows[] = {
	{ D_RD_DEVINFO, 0, 0, "device info: version 1, a name, memory" },
	{ D_RD_STREAM_LIFE, -EBADF, 0, "stream create, memset, sync, query, destroy; destroy again" },
	{ D_RD_STREAM_UNKNOWN, -EBADF, 0, "sync of an unknown stream" },
	{ D_RD_STREAM_ASYNC_ERR, -EBADF, 0, "a stream's async error comes at its sync, once" },
	{ D_RD_EVENTS, 0, 0, "event record, sync, query, elapsed, destroy" },
	{ D_RD_EVENT_NO_TIMING, -EINVAL, 0, "elapsed of an event without timing" },
	{ D_RD_WAIT_EVENT, 0, 0, "a stream waits for another's event; data checked" },
	{ D_RD_STREAM_COPIES, 0, 0, "async copies on a stream, checked" },
	{ D_RD_KERNEL, 0, -EOPNOTSUPP, "a PTX kernel: func info, launch, checked" },
	{ D_RD_GLOBALS, 0, -EOPNOTSUPP, "module globals: sizes, a __constant__ read back" },
	{ D_RD_GLOBAL_MISSING, -ENOENT, -EOPNOTSUPP, "a global that is not there" },
	{ D_RD_FINFO_UNKNOWN, -EBADF, 0, "func info of an unknown function" },
	{ D_RD_LAUNCH_UNKNOWN_STREAM, -EBADF, 0, "a launch on an unknown stream: at sync" },
};

/* One allocation with a pattern, for every row. */
static void mem_setup(void)
{
	uint8_t pat[MEM_SIZE];

	for (size_t i = 0; i < sizeof(pat); i++)
		pat[i] = (uint8_t)i;
	ck_assert_int_eq(vgpu_mem_alloc(v, MEM_SIZE, &mem, NULL), 0);
	ck_assert_int_eq(vgpu_memcpy_h2d(v, mem, 0, pat, sizeof(pat)), 0);
}

START_TEST(r2_table)
{
	int st;

	if (!dev_r2()) {
		printf("r2_table: the backend serves revision 1: rows skipped\n");
		return;
	}
	mem_setup();
	st = do_dcall(r2_rows[_i].call);
	if (st && st == r2_rows[_i].alt)
		printf("r2_table: %s: %s (no module loader)\n", r2_rows[_i].what,
		       vgpu_strerror(st));
	ck_assert_msg(st == r2_rows[_i].status || (st && st == r2_rows[_i].alt), "%s over %s: got %d (%s: %s), want %d",
		      r2_rows[_i].what, vgpu_transport_name(v), st, vgpu_strerror(st),
		      vgpu_error(v), r2_rows[_i].status);
	ck_assert_int_eq(vgpu_nop(v, NULL), 0);
}
END_TEST

/* Against a revision-1 backend: every revision-2 call is ENOSYS, locally. */
START_TEST(r1_table)
{
	unsigned int i;

	ck_assert(!dev_r2());
	mem_setup();
	for (i = 0; i < sizeof(dev_rows_tab) / sizeof(dev_rows_tab[0]); i++) {
		int st;

		if (!dev_rows_tab[i].r2)
			continue;
		st = do_dcall(dev_rows_tab[i].call);
		ck_assert_msg(st == -ENOSYS, "%s: got %d, want ENOSYS", dev_rows_tab[i].what, st);
		ck_assert_ptr_nonnull(strstr(vgpu_error(v), "revision 1"));
	}
	ck_assert_int_eq(vgpu_nop(v, NULL), 0);
}
END_TEST

/*
 * A new guest against a backend without feature-host-mem (here one serving
 * revision 1): registering host memory is -EOPNOTSUPP and copies from and
 * to that memory go the old way, every byte right.
 */
START_TEST(r1_host_memory)
{
	size_t len = (1u << 20) + 4099, i;
	uint8_t *p = NULL, *out = malloc(len);
	uint64_t m;

	ck_assert(!dev_r2());
	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(vgpu_host_alloc(v, len, (void **)&p), 0);
	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 13 + (i >> 12));
	ck_assert_int_eq(vgpu_host_register(v, p, len, 0), -EOPNOTSUPP);
	ck_assert_int_eq(vgpu_mem_alloc(v, len, &m, NULL), 0);
	ck_assert_int_eq(vgpu_memcpy_h2d(v, m, 0, p, len), 0);
	memset(out, 0, len);
	ck_assert_int_eq(vgpu_memcpy_d2h(v, out, m, 0, len), 0);
	ck_assert(!memcmp(out, p, len));
	ck_assert_int_eq(vgpu_memcpy_d2h(v, p + 7, m, 0, 4096), 0);
	ck_assert(!memcmp(p + 7, out, 4096));
	ck_assert_int_eq(vgpu_mem_free(v, m), 0);
	ck_assert_int_eq(vgpu_host_free(v, p), 0);
	free(out);
}
END_TEST

START_TEST(device_table)
{
	int st;

	if (dev_rows_tab[_i].r2 && dev_r2())
		return;
	mem_setup();
	st = do_dcall(dev_rows_tab[_i].call);
	ck_assert_msg(st == dev_rows_tab[_i].status ||
		      (dev_rows_tab[_i].alt && st == dev_rows_tab[_i].alt),
		      "%s over %s: got %d (%s: %s), want %d", dev_rows_tab[_i].what,
		      vgpu_transport_name(v), st, vgpu_strerror(st), vgpu_error(v),
		      dev_rows_tab[_i].status);
	/* Whatever the row did, the handle still works. */
	ck_assert_int_eq(vgpu_nop(v, NULL), 0);
}
END_TEST

/*
 * Registered host memory (revision 3): a block of more than one region
 * (a region is at most one request's pages), registered from an unaligned
 * pointer; copies from and to it, sync and async, crossing the region
 * boundary, land every byte; overlapping and foreign registrations are
 * refused; after unregistering, copies go the old way. The kmod transport
 * says EOPNOTSUPP and its copies work as before.
 */
START_TEST(host_registered)
{
	size_t len = (32u << 20) + 3 * 4096, i;
	uint8_t *p = NULL, *out = malloc(len);
	struct vgpu_info info;
	uint64_t m, s;
	int st;

	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(vgpu_host_alloc(v, len, (void **)&p), 0);
	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 7 + (i >> 16));
	st = vgpu_host_register(v, p + 100, len - 200, 0);
	if (!strcmp(vgpu_transport_name(v), "kmod")) {
		ck_assert_int_eq(st, -EOPNOTSUPP);
	} else {
		ck_assert_msg(st == 0, "register: %d (%s)", st, vgpu_error(v));
		ck_assert_int_eq(vgpu_query(v, &info), 0);
		/* the cpu executor copies from dom0's mapping itself */
		ck_assert_uint_ne(info.copy_mode, 0);
		ck_assert_uint_ne(info.copy_mode, VGPUIF_COPY_STAGED);
		/* its pages are registered already (whole pages) */
		ck_assert_int_eq(vgpu_host_register(v, p + 4096, 10, 0), -EEXIST);
		ck_assert_int_eq(vgpu_host_register(v, p, 1, 0), -EEXIST);
		/* only guest memory can be granted for good here */
		ck_assert_int_eq(vgpu_host_register(v, out, 4096, 0), -EINVAL);
		ck_assert_int_eq(vgpu_host_unregister(v, p + 8192), -EINVAL);
	}
	ck_assert_int_eq(vgpu_mem_alloc(v, len, &m, NULL), 0);
	/* the whole block, across the region boundary at 32 MiB */
	ck_assert_int_eq(vgpu_memcpy_h2d(v, m, 0, p, len), 0);
	memset(out, 0, len);
	ck_assert_int_eq(vgpu_memcpy_d2h(v, out, m, 0, len), 0);
	ck_assert(!memcmp(out, p, len));
	/* D2H into registered memory, unaligned, across the boundary */
	ck_assert_int_eq(vgpu_memcpy_h2d(v, m, 0, out + 5, len - 5), 0);
	ck_assert_int_eq(vgpu_memcpy_d2h(v, p + (32u << 20) - 4099, m, 0, 8195), 0);
	ck_assert(!memcmp(p + (32u << 20) - 4099, out + 5, 8195));
	/* async on a stream, where the backend serves streams */
	if (vgpu_stream_create(v, 0, 0, &s) == 0) {
		ck_assert_int_eq(vgpu_memcpy_h2d_async(v, s, m, 4096, p + 12345, 65536), 0);
		ck_assert_int_eq(vgpu_memcpy_d2h_async(v, s, p + (1u << 20), m, 4096, 65536), 0);
		ck_assert_int_eq(vgpu_stream_sync(v, s), 0);
		for (i = 0; i < 65536; i++)
			ck_assert_uint_eq(p[(1u << 20) + i],
					  (uint8_t)((12345 + i) * 7 + ((12345 + i) >> 16)));
		ck_assert_int_eq(vgpu_stream_destroy(v, s), 0);
	}
	if (strcmp(vgpu_transport_name(v), "kmod")) {
		ck_assert_int_eq(vgpu_host_unregister(v, p + 100), 0);
		ck_assert_int_eq(vgpu_host_unregister(v, p + 100), -EINVAL);
		/* and again, read-only, then freed while registered */
		ck_assert_int_eq(vgpu_host_register(v, p, 4096, VGPU_HOST_READ_ONLY), 0);
	}
	/* copies after the unregister: the old way, same bytes */
	ck_assert_int_eq(vgpu_memcpy_h2d(v, m, 0, p + 3, 100000), 0);
	ck_assert_int_eq(vgpu_memcpy_d2h(v, out, m, 0, 100000), 0);
	ck_assert(!memcmp(out, p + 3, 100000));
	/* D2H into the read-only page: the old way too (granted writable) */
	ck_assert_int_eq(vgpu_memcpy_d2h(v, p + 10, m, 0, 100), 0);
	ck_assert(!memcmp(p + 10, out, 100));
	ck_assert_int_eq(vgpu_mem_free(v, m), 0);
	ck_assert_int_eq(vgpu_host_free(v, p), 0);
	free(out);
}
END_TEST

/* A failure names the transport, the op and the reason. */
START_TEST(error_says_where)
{
	ck_assert_int_eq(vgpu_mem_free(v, 0x7777), -EBADF);
	ck_assert_ptr_nonnull(strstr(vgpu_error(v), vgpu_transport_name(v)));
	ck_assert_ptr_nonnull(strstr(vgpu_error(v), "MEM_FREE"));
	ck_assert_ptr_nonnull(strstr(vgpu_error(v), "handle"));
}
END_TEST

/* Two handles in one process: two contexts, each with its own handles. */
START_TEST(two_handles)
{
	vgpu_t *w = dev_open();
	struct vgpu_info a, b;
	uint64_t m;

	/* Each makes its context by its first op that needs one (kmod makes
	 * it there, not at open), then the queries name both. */
	ck_assert_int_eq(vgpu_mem_alloc(v, 4096, &m, NULL), 0);
	ck_assert_int_eq(vgpu_sync(w), 0);
	ck_assert_int_eq(vgpu_query(v, &a), 0);
	ck_assert_int_eq(vgpu_query(w, &b), 0);
	ck_assert_uint_ne(a.ctx, 0);
	ck_assert_uint_ne(b.ctx, 0);
	ck_assert_uint_ne(a.ctx, b.ctx);
	ck_assert_int_eq(vgpu_mem_free(w, m), -EBADF);
	ck_assert_int_eq(vgpu_memset(w, m, 0, 0, 4, 4), 0);
	ck_assert_int_eq(vgpu_sync(w), -EBADF);
	ck_assert_int_eq(vgpu_sync(v), 0);       /* w's error is w's */
	vgpu_close(w);
	ck_assert_int_eq(vgpu_mem_free(v, m), 0);
	ck_assert_int_eq(vgpu_nop(v, NULL), 0);
}
END_TEST

/* One handle from several threads: many requests in flight, none starved. */
#define NTHREADS 4
#define ROUNDS   60

struct thr {
	pthread_t tid;
	unsigned int idx;
	int err;
	const char *what;
};

static void *thread_fn(void *arg)
{
	struct thr *t = arg;
	uint8_t in[9000], out[9000];
	float a[3 * 300];

	for (unsigned int r = 0; r < ROUNDS && !t->err; r++) {
		uint64_t m = 0;

		switch ((r + t->idx) % 4) {
		case 0:
			t->what = "nop";
			t->err = vgpu_nop(v, NULL);
			break;
		case 1:
			t->what = "vector add";
			for (int i = 0; i < 300; i++) {
				a[i] = (float)(i + t->idx);
				a[300 + i] = (float)r;
			}
			t->err = vgpu_vector_add(v, a, a + 300, a + 600, 300);
			for (int i = 0; !t->err && i < 300; i++)
				if (a[600 + i] != a[i] + a[300 + i])
					t->err = 1000;
			break;
		case 2:
			t->what = "alloc, copies, free";
			memset(in, (int)(r * 7 + t->idx), sizeof(in));
			t->err = vgpu_mem_alloc(v, sizeof(in), &m, NULL);
			if (!t->err)
				t->err = vgpu_memcpy_h2d(v, m, 0, in, sizeof(in));
			if (!t->err)
				t->err = vgpu_memcpy_d2h(v, out, m, 0, sizeof(out));
			if (!t->err && memcmp(in, out, sizeof(in)))
				t->err = 1000;
			if (m && vgpu_mem_free(v, m) && !t->err)
				t->err = 1001;
			break;
		default:
			t->what = "memsets and sync";
			t->err = vgpu_mem_alloc(v, 4096, &m, NULL);
			for (int i = 0; !t->err && i < 32; i++)
				t->err = vgpu_memset(v, m, (uint64_t)i * 4, (uint32_t)i, 4, 4);
			if (!t->err)
				t->err = vgpu_sync(v);
			if (m && vgpu_mem_free(v, m) && !t->err)
				t->err = 1001;
			break;
		}
	}
	return NULL;
}

START_TEST(one_handle_many_threads)
{
	struct thr t[NTHREADS];
	int i;

	for (i = 0; i < NTHREADS; i++) {
		t[i] = (struct thr){ .idx = (unsigned int)i };
		ck_assert_int_eq(pthread_create(&t[i].tid, NULL, thread_fn, &t[i]), 0);
	}
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(t[i].tid, NULL);
		ck_assert_msg(t[i].err == 0, "thread %d: %s: %d (%s)", i, t[i].what, t[i].err,
			      vgpu_error(v));
	}
	ck_assert_int_eq(vgpu_sync(v), 0);
}
END_TEST

/* ============================================== loopback's own bad inputs */

#ifdef VGPU_TEST_LOOPBACK
static struct tf_world LW;

static void lb_setup(void)
{
	setenv("VGPU_ARB", "off", 1);
	tf_backend_path();
	ck_assert_int_eq(tf_world_init(&LW), 0);
}

static void lb_teardown(void)
{
	tf_world_fini(&LW);
}

static int lb_open(uint32_t domid, int timeout_ms, vgpu_t **x)
{
	char dev[600];

	snprintf(dev, sizeof(dev), "loopback:%s?domid=%u&timeout_ms=%d", LW.dir, domid,
		 timeout_ms);
	return vgpu_open(dev, x);
}

START_TEST(lb_no_such_domain)
{
	vgpu_t *x;

	ck_assert_int_eq(lb_open(9, 500, &x), -ENODEV);
	ck_assert_ptr_nonnull(strstr(vgpu_open_error(), "domain 9 does not exist"));
}
END_TEST

START_TEST(lb_domain_without_device)
{
	vgpu_t *x;

	ck_assert_int_eq(lb_domain_create(LW.w, 3), 0);
	ck_assert_int_eq(lb_open(3, 500, &x), -ENODEV);
	ck_assert_ptr_nonnull(strstr(vgpu_open_error(), "loopback: domain 3 has no vgpu device"));
}
END_TEST

START_TEST(lb_backend_not_running)
{
	vgpu_t *x;

	ck_assert_int_eq(lb_domain_create(LW.w, 4), 0);
	ck_assert_int_eq(lb_attach_device(LW.w, 4, 0, NULL, 0, 0), 0);
	ck_assert_int_eq(lb_open(4, 300, &x), -ETIMEDOUT);
	ck_assert_ptr_nonnull(strstr(vgpu_open_error(), "backend not connected"));
	ck_assert_ptr_nonnull(strstr(vgpu_open_error(), "after 300 ms"));
}
END_TEST

/*
 * Killed mid-call: requests are on the ring, unanswered, when the backend
 * dies (it is stopped first, so nothing can be answered before the kill,
 * however the threads are scheduled). The waiting call and every later one
 * end with a clear error within the handle's timeout; nothing hangs (the
 * tcase timeout would say so); the close does not wait for an answer.
 */
struct midcall {
	vgpu_t *x;
	int st;
	char why[256];
};

static void *midcall_sync(void *arg)
{
	struct midcall *m = arg;

	m->st = vgpu_sync(m->x);
	snprintf(m->why, sizeof(m->why), "%s", vgpu_error(m->x));
	return NULL;
}

START_TEST(lb_backend_dies_mid_call)
{
	struct midcall m = { 0 };
	struct tf_dom d;
	pthread_t tid;
	uint64_t mm;
	int st;

	memset(&d, 0, sizeof(d));
	ck_assert_int_eq(tf_dom_create(&LW, &d, 6, 0), 0);
	ck_assert_int_eq(lb_open(6, 1000, &m.x), 0);
	ck_assert_int_eq(vgpu_mem_alloc(m.x, 4096, &mm, NULL), 0);
	ck_assert_int_eq(kill(d.backend, SIGSTOP), 0);
	/* Queued on the ring: in flight when the backend dies. */
	ck_assert_int_eq(vgpu_memset(m.x, mm, 0, 1, 4, 4096), 0);
	ck_assert_int_eq(pthread_create(&tid, NULL, midcall_sync, &m), 0);
	kill(d.backend, SIGKILL);
	waitpid(d.backend, &st, 0);
	d.backend = 0;
	pthread_join(tid, NULL);
	ck_assert_int_eq(m.st, -ETIMEDOUT);
	ck_assert_msg(strstr(m.why, "loopback: SYNC: no answer within 1000 ms"),
		      "the waiting thread's reason: '%s'", m.why);
	/* Later calls on the handle: the same clear error, in time. */
	ck_assert_int_eq(vgpu_nop(m.x, NULL), -ETIMEDOUT);
	ck_assert_ptr_nonnull(strstr(vgpu_error(m.x), "loopback: NOP: no answer within 1000 ms"));
	vgpu_close(m.x);
	tf_dom_destroy(&d);
}
END_TEST

/*
 * The dom0 GPU serving the domain reaches the guest: a backend pinned to
 * stand-in GPU 1 of 2 (the cpu executor's $VGPU_CPU_GPUS) says so in every
 * query.
 */
START_TEST(lb_gpu_ordinal)
{
	struct vgpu_info i;
	struct tf_dom d;
	vgpu_t *x;
	int st;

	memset(&d, 0, sizeof(d));
	setenv("VGPU_CPU_GPUS", "2", 1);
	d.extra[0] = "--gpu";
	d.extra[1] = "1";
	ck_assert_int_eq(tf_dom_create(&LW, &d, 10, 0), 0);
	unsetenv("VGPU_CPU_GPUS");
	ck_assert_int_eq(lb_open(10, TF_WAIT_MS, &x), 0);
	ck_assert_int_eq(vgpu_query(x, &i), 0);
	ck_assert_uint_eq(i.gpu, 1);
	vgpu_close(x);
	st = tf_backend_stop(&d);
	ck_assert_msg(st == 0, "backend exited %d (log %s)", st, d.log);
	tf_dom_destroy(&d);
}
END_TEST

/* Restarted under a handle: it reconnects, with a new context. */
START_TEST(lb_backend_restarted)
{
	struct tf_dom d;
	struct vgpu_info i1, i2;
	vgpu_t *x;
	uint64_t m;
	int st;

	memset(&d, 0, sizeof(d));
	ck_assert_int_eq(tf_dom_create(&LW, &d, 7, 0), 0);
	ck_assert_int_eq(lb_open(7, TF_WAIT_MS, &x), 0);
	ck_assert_int_eq(vgpu_query(x, &i1), 0);
	ck_assert_int_eq(vgpu_mem_alloc(x, 4096, &m, NULL), 0);
	kill(d.backend, SIGKILL);
	waitpid(d.backend, &st, 0);
	d.backend = 0;
	ck_assert(tf_backend_start(&d) > 0);
	/* The new backend asks the stale frontend to close, then waits. */
	ck_assert_int_eq(tf_wait_be_state(&d, 5), 0);
	ck_assert_int_eq(vgpu_nop(x, NULL), 0);
	ck_assert_int_eq(vgpu_query(x, &i2), 0);
	ck_assert_uint_gt(i2.generation, i1.generation);
	/* The old context's handles went with it. */
	ck_assert_int_eq(vgpu_mem_free(x, m), -EBADF);
	ck_assert_int_eq(vgpu_sync(x), 0);
	vgpu_close(x);
	st = tf_backend_stop(&d);
	ck_assert_msg(st == 0, "backend exited %d (log %s)", st, d.log);
	tf_dom_destroy(&d);
}
END_TEST
#endif

/* ---------------------------------------------------------------- main */

static Suite *libvgpu_suite(const char *tier)
{
	Suite *s = suite_create("libvgpu");
	TCase *tc;

	tc = tcase_create("arguments");
	tcase_add_checked_fixture(tc, null_setup, null_teardown);
	tcase_add_loop_test(tc, argument_table, 0, NROWS(arg_rows));
	tcase_add_test(tc, open_errors);
	tcase_add_loop_test(tc, device_string_table, 0, NROWS(dev_rows));
	tcase_add_test(tc, device_from_environment);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_loop_test(tc, strerror_table, 0, NROWS(str_rows));
	tcase_add_test(tc, protocol_statuses_all_named);
	tcase_add_test(tc, names);
	suite_add_tcase(s, tc);

	tc = tcase_create("abi");
	tcase_add_loop_test(tc, ioctl_numbers, 0, NROWS(ioc_rows));
	tcase_add_test(tc, struct_layout);
	suite_add_tcase(s, tc);

	if (!strcmp(tier, "unit"))
		return s;
	tc = tcase_create("device");
	tcase_add_unchecked_fixture(tc, dev_tier_setup, dev_tier_teardown);
	tcase_add_checked_fixture(tc, dev_setup, dev_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, device_table, 0, NROWS(dev_rows_tab));
	tcase_add_loop_test(tc, r2_table, 0, NROWS(r2_rows));
	tcase_add_test(tc, error_says_where);
	tcase_add_test(tc, host_registered);
	tcase_add_test(tc, two_handles);
	tcase_add_test(tc, one_handle_many_threads);
	suite_add_tcase(s, tc);
#ifdef VGPU_TEST_LOOPBACK
	if (!strcmp(tier, "loopback")) {
		tc = tcase_create("loopback");
		tcase_add_checked_fixture(tc, lb_setup, lb_teardown);
		tcase_set_timeout(tc, 120);
		tcase_add_test(tc, lb_no_such_domain);
		tcase_add_test(tc, lb_domain_without_device);
		tcase_add_test(tc, lb_backend_not_running);
		tcase_add_test(tc, lb_backend_dies_mid_call);
		tcase_add_test(tc, lb_backend_restarted);
		tcase_add_test(tc, lb_gpu_ordinal);
		suite_add_tcase(s, tc);

		tc = tcase_create("revision1");
		tcase_add_unchecked_fixture(tc, r1_tier_setup, dev_tier_teardown);
		tcase_add_checked_fixture(tc, dev_setup, dev_teardown);
		tcase_add_test(tc, r1_table);
		tcase_add_test(tc, r1_host_memory);
		suite_add_tcase(s, tc);
	}
#endif
	return s;
}

int main(void)
{
	const char *tier = getenv("VGPU_TEST_TIER");
	SRunner *sr;
	int failed;

	if (!tier)
		tier = "unit";
	if (strcmp(tier, "unit") && strcmp(tier, "loopback") && strcmp(tier, "device")) {
		fprintf(stderr, "test_libvgpu: VGPU_TEST_TIER must be unit, loopback or device\n");
		return 2;
	}
	if (!strcmp(tier, "device") && !getenv("VGPU_TEST_DEVICE")) {
		printf("SKIP: the device tier needs VGPU_TEST_DEVICE\n");
		return 77;
	}
	sr = srunner_create(libvgpu_suite(tier));
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
