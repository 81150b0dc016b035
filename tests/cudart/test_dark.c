/*
 * test_dark.c - cuGetExportTable of the guest libcuda.so.1, called as NVIDIA's
 * runtime calls it: every table the CUDA 13.0 runtime asked of driver 580
 * (run1 trace) comes back with the size in its slot 0 and a callable slot
 * wherever the driver's had code; the probe UUID gets NOT_FOUND, an unknown
 * one INVALID_VALUE; the slots that need no GPU behave as the design note
 * in dark.c says. Linked with the library itself (no driver, no backend:
 * these slots touch neither).
 */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "cuda.h"
#include "dark.h"

struct table_row {
	const char *name;
	uint8_t uuid[16];
	unsigned int slots;   /* pointer-sized slots */
	int sized;            /* slot 0 holds slots * 8 */
	int null_slot;        /* a slot that must be NULL, or -1 */
};

static const struct table_row tables[] = {
	{ "CUDART_INTERFACE", { 0x6b, 0xd5, 0xfb, 0x6c, 0x5b, 0xf4, 0xe7, 0x4a,
	  0x89, 0x87, 0xd9, 0x39, 0x12, 0xfd, 0x9d, 0xf9 }, 13, 1, 10 },
	{ "TOOLS_RUNTIME_CALLBACK_HOOKS", { 0xa0, 0x94, 0x79, 0x8c, 0x2e, 0x74, 0x2e, 0x74,
	  0x93, 0xf2, 0x08, 0x00, 0x20, 0x0c, 0x0a, 0x66 }, 7, 1, -1 },
	{ "TOOLS_TLS", { 0x42, 0xd8, 0x5a, 0x81, 0x23, 0xf6, 0xcb, 0x47,
	  0x82, 0x98, 0xf6, 0xe7, 0x8a, 0x3a, 0xec, 0xdc }, 3, 1, -1 },
	{ "CONTEXT_LOCAL_STORAGE_INTERFACE_V0301", { 0xc6, 0x93, 0x33, 0x6e, 0x11, 0x21,
	  0xdf, 0x11, 0xa8, 0xc3, 0x68, 0xf3, 0x55, 0xd8, 0x95, 0x93 }, 4, 0, 3 },
	{ "CONTEXT_CHECKS", { 0x26, 0x3e, 0x88, 0x60, 0x7c, 0xd2, 0x61, 0x43,
	  0x92, 0xf6, 0xbb, 0xd5, 0x00, 0x6d, 0xfa, 0x7e }, 15, 1, -1 },
	{ "INTEGRITY_CHECK", { 0xd4, 0x08, 0x20, 0x55, 0xbd, 0xe6, 0x70, 0x4b,
	  0x8d, 0x34, 0xba, 0x12, 0x3c, 0x66, 0xe1, 0xf2 }, 3, 1, -1 },
	{ "CTX_CREATE_BYPASS", { 0x0c, 0xa5, 0x0b, 0x8c, 0x10, 0x04, 0x92, 0x9a,
	  0x89, 0xa7, 0xd0, 0xdf, 0x10, 0xe7, 0x72, 0x86 }, 2, 1, -1 },
	{ "HEAP_ACCESS", { 0x19, 0x5b, 0xcb, 0xf4, 0xd6, 0x7d, 0x02, 0x4a,
	  0xac, 0xc5, 0x1d, 0x29, 0xce, 0xa6, 0x31, 0xae }, 3, 1, -1 },
	{ "DEVICE_EXTENDED_RT", { 0xb1, 0x05, 0x41, 0xe1, 0xf7, 0xc7, 0xc7, 0x4a,
	  0x9f, 0x64, 0xf2, 0x23, 0xbe, 0x99, 0xf1, 0xe2 }, 26, 1, -1 },
};

static const uintptr_t *get(const uint8_t *uuid, CUresult *r)
{
	const void *t = (const void *)1;
	CUuuid id;

	memcpy(id.bytes, uuid, 16);
	*r = cuGetExportTable(&t, &id);
	return t;
}

START_TEST(test_tables)
{
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		const struct table_row *row = &tables[i];
		CUresult r;
		const uintptr_t *t = get(row->uuid, &r);

		ck_assert_msg(r == CUDA_SUCCESS && t, "%s: %d", row->name, r);
		ck_assert_str_eq(vgpu_dark_table_name(t), row->name);
		if (row->sized)
			ck_assert_msg(t[0] == row->slots * sizeof(void *), "%s: size %lu",
				      row->name, (unsigned long)t[0]);
		for (unsigned int s = row->sized ? 1 : 0; s < row->slots; s++) {
			if ((int)s == row->null_slot)
				ck_assert_msg(t[s] == 0, "%s slot %u not NULL", row->name, s);
			else
				ck_assert_msg(t[s] != 0, "%s slot %u NULL", row->name, s);
		}
		/* The same table each time (the integrity hash has its address). */
		ck_assert_ptr_eq(get(row->uuid, &r), t);
	}
}
END_TEST

START_TEST(test_refusals)
{
	static const uint8_t probe[16] = { 0xf8, 0xcf, 0xf9, 0x51, 0x21, 0x46, 0x8b, 0x4e,
					   0xb9, 0xe2, 0xfb, 0x46, 0x9e, 0x7c, 0x0d, 0xd9 };
	static const uint8_t unknown[16] = { 0x69, 0xa2, 0x8e, 0x9f, 0x24, 0x49, 0x8b, 0x47,
					     0xb0, 0x30, 0xc5, 0xda, 0x33, 0x0e, 0xa4, 0xe9 };
	const void *t = (const void *)1;
	CUuuid id;
	CUresult r;

	ck_assert_ptr_null(get(probe, &r));
	ck_assert_int_eq(r, CUDA_ERROR_NOT_FOUND);
	ck_assert_ptr_null(get(unknown, &r));
	ck_assert_int_eq(r, CUDA_ERROR_INVALID_VALUE);
	ck_assert_ptr_null(get(unknown, &r)); /* again: logged once, refused again */
	ck_assert_int_eq(r, CUDA_ERROR_INVALID_VALUE);
	memset(&id, 0, sizeof(id));
	ck_assert_int_eq(cuGetExportTable(NULL, &id), CUDA_ERROR_INVALID_VALUE);
	ck_assert_int_eq(cuGetExportTable(&t, NULL), CUDA_ERROR_INVALID_VALUE);
}
END_TEST

START_TEST(test_slots_without_gpu)
{
	CUresult r;
	const uintptr_t *hooks = get(tables[1].uuid, &r), *checks = get(tables[4].uuid, &r);
	const uintptr_t *cudart = get(tables[0].uuid, &r), *heap = get(tables[7].uuid, &r);
	void (*buf)(void **, size_t *);
	CUresult (*check)(CUcontext, unsigned int *, const void **);
	unsigned int (*flags)(void);
	CUresult (*stub)(void);
	CUresult (*fn7)(uintptr_t);
	CUresult (*getmod)(CUmodule *, const void *);
	void *p = NULL;
	size_t n = 0;
	unsigned int flag = 7;

	buf = (void (*)(void **, size_t *))hooks[2];
	buf(&p, &n);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(n, VGPU_DARK_TOOLS_BUF1_REPORTED);
	memset(p, 0xab, n * 8); /* room for either reading of n */
	buf = (void (*)(void **, size_t *))hooks[6];
	buf(&p, &n);
	ck_assert_uint_eq(n, VGPU_DARK_TOOLS_BUF2_REPORTED);
	memset(p, 0xab, n * 8);
	check = (CUresult (*)(CUcontext, unsigned int *, const void **))checks[2];
	ck_assert_int_eq(check(NULL, &flag, NULL), CUDA_SUCCESS);
	ck_assert_uint_eq(flag, 0);
	flags = (unsigned int (*)(void))checks[3];
	ck_assert_uint_eq(flags(), 0);
	stub = (CUresult (*)(void))heap[1];
	ck_assert_int_eq(stub(), CUDA_ERROR_NOT_SUPPORTED);
	fn7 = (CUresult (*)(uintptr_t))cudart[7];
	ck_assert_int_eq(fn7(0), CUDA_SUCCESS);
	/* Module slots refuse what is no fat binary before any request. */
	getmod = (CUresult (*)(CUmodule *, const void *))cudart[1];
	ck_assert_int_eq(getmod(NULL, "x"), CUDA_ERROR_INVALID_VALUE);
	ck_assert_int_eq(getmod((CUmodule *)&p, "not a fat binary"), CUDA_ERROR_INVALID_IMAGE);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dark");
	TCase *t = tcase_create("tables");
	SRunner *sr;
	int failed;

	tcase_add_test(t, test_tables);
	tcase_add_test(t, test_refusals);
	tcase_add_test(t, test_slots_without_gpu);
	suite_add_tcase(s, t);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
