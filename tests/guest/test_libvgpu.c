// SPDX-License-Identifier: MIT
/*
 * test_libvgpu.c - libvgpu without a device: every call's argument checks (a
 * table, one row per bad input and the status it must get), what reaches the
 * device when the arguments are good (on /dev/null: ENOTTY), the error
 * strings, and the layout of the ioctl ABI (uapi/vgpu_stub.h).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "vgpu.h"
#include "vgpuif.h"
#include "uapi/vgpu_stub.h"

static vgpu_t *v;                 /* on /dev/null: any ioctl gets ENOTTY */
static float fa[4], fb[4], fc[4];
static char buf[64], longname[VGPU_MAX_FUNC_NAME + 2];
static const uint32_t g1[3] = { 1, 1, 1 }, g0[3] = { 1, 0, 1 }, b1025[3] = { 1025, 1, 1 },
			 b32x33[3] = { 32, 33, 1 }, b1024[3] = { 32, 32, 1 };

static void setup(void)
{
	int fd = open("/dev/null", O_RDWR);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(vgpu_open_fd(fd, &v), 0);
	memset(longname, 'k', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
}

static void teardown(void)
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
	C_SYNC_NULL_V,
	/* good arguments: they reach the device (/dev/null says ENOTTY) */
	C_OK_QUERY, C_OK_NOP, C_OK_VADD, C_OK_VADD_MAX, C_OK_ALLOC, C_OK_FREE, C_OK_H2D,
	C_OK_D2H, C_OK_D2D, C_OK_MEMSET, C_OK_MLOAD, C_OK_UNLOAD, C_OK_FGET, C_OK_LAUNCH,
	C_OK_LAUNCH_1024, C_OK_SYNC,
};

static int do_call(enum call c)
{
	uint64_t h = 0;
	size_t lw = 0;
	struct vgpu_info info;

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
	case C_OK_QUERY: return vgpu_query(v, &info);
	case C_OK_NOP: return vgpu_nop(v, NULL);
	case C_OK_VADD: return vgpu_vector_add(v, fa, fb, fc, 4);
	case C_OK_VADD_MAX: return vgpu_vector_add(v, fa, fb, fc, VGPU_MAX_VECTOR_ADD_ELEMS);
	case C_OK_ALLOC: return vgpu_mem_alloc(v, 1, &h, NULL);
	case C_OK_FREE: return vgpu_mem_free(v, 0);
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
	ck_assert_int_eq(vgpu_open(NULL, NULL), -EINVAL);
	ck_assert_int_eq(vgpu_open_fd(-1, &x), -EINVAL);
	ck_assert_int_eq(vgpu_open_fd(0, NULL), -EINVAL);
	ck_assert_int_eq(vgpu_fd(NULL), -1);
	vgpu_close(NULL);
	/* A directory is not a device: open(O_RDWR) says EISDIR. */
	ck_assert_int_eq(vgpu_open("/", &x), -EISDIR);
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
	/* The query carries the protocol's info fields unshortened. */
	ck_assert_uint_eq(sizeof(((struct vgpu_stub_query *)0)->gpu_name),
			  sizeof(((struct vgpuif_info *)0)->gpu_name));
}
END_TEST

#define NROWS(a) ((int)(sizeof(a) / sizeof((a)[0])))

static Suite *libvgpu_suite(void)
{
	Suite *s = suite_create("libvgpu");
	TCase *tc;

	tc = tcase_create("arguments");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, argument_table, 0, NROWS(arg_rows));
	tcase_add_test(tc, open_errors);
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
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(libvgpu_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
