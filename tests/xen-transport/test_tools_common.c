// SPDX-License-Identifier: MIT
/*
 * test_tools_common.c - xenstore-tools/common.c without Xen: strict number
 * and size parsing (one row per input, with what it must give), paths,
 * instance names, state names, output sanitising, JSON escaping.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

struct u32_row { const char *in; uint32_t max; int rc; uint32_t out; };
static const struct u32_row u32_rows[] = {
	{ "0", 10, 0, 0 },
	{ "10", 10, 0, 10 },
	{ "11", 10, -ERANGE, 0 },
	{ "4294967295", UINT32_MAX, 0, UINT32_MAX },
	{ "4294967296", UINT32_MAX, -ERANGE, 0 },
	{ "99999999999999999999999", UINT32_MAX, -ERANGE, 0 },
	{ "", 10, -EINVAL, 0 },
	{ "-1", 10, -EINVAL, 0 },
	{ "+1", 10, -EINVAL, 0 },
	{ " 1", 10, -EINVAL, 0 },
	{ "1 ", 10, -EINVAL, 0 },
	{ "1\n", 10, -EINVAL, 0 },
	{ "0x5", 10, -EINVAL, 0 },
	{ "05", 10, -EINVAL, 0 },
	{ "1e3", 5000, -EINVAL, 0 },
	{ "abc", 10, -EINVAL, 0 },
	{ NULL, 10, -EINVAL, 0 },
};

START_TEST(parse_u32_table)
{
	const struct u32_row *r = &u32_rows[_i];
	uint32_t v = 12345;
	int rc = vgpu_parse_u32(r->in, r->max, &v);

	ck_assert_msg(rc == r->rc, "'%s': rc %d, want %d", r->in ? r->in : "NULL",
		      rc, r->rc);
	if (rc == 0)
		ck_assert_uint_eq(v, r->out);
	else
		ck_assert_uint_eq(v, 12345);   /* untouched on error */
}
END_TEST

struct size_row { const char *in; int rc; uint64_t out; };
static const struct size_row size_rows[] = {
	{ "0", 0, 0 },
	{ "none", 0, 0 },
	{ "unlimited", 0, 0 },
	{ "1073741824", 0, 1073741824ull },
	{ "512M", 0, 512ull << 20 },
	{ "512m", 0, 512ull << 20 },
	{ "8G", 0, 8ull << 30 },
	{ "1T", 0, 1ull << 40 },
	{ "4K", 0, 4096 },
	{ "18446744073709551615", 0, UINT64_MAX },
	{ "18446744073709551616", -ERANGE, 0 },
	{ "16777216T", -ERANGE, 0 },
	{ "", -EINVAL, 0 },
	{ "G", -EINVAL, 0 },
	{ "8X", -EINVAL, 0 },
	{ "8GB", -EINVAL, 0 },
	{ "-1G", -EINVAL, 0 },
	{ "1.5G", -EINVAL, 0 },
	{ " 8G", -EINVAL, 0 },
	{ "99999999999999999999999999999999999", -ERANGE, 0 },
};

START_TEST(parse_size_table)
{
	const struct size_row *r = &size_rows[_i];
	uint64_t v = 77;
	int rc = vgpu_parse_size(r->in, &v);

	ck_assert_msg(rc == r->rc, "'%s': rc %d, want %d", r->in, rc, r->rc);
	if (rc == 0)
		ck_assert_msg(v == r->out, "'%s': %llu, want %llu", r->in,
			      (unsigned long long)v, (unsigned long long)r->out);
}
END_TEST

START_TEST(domid_and_priority)
{
	uint32_t d;

	ck_assert_int_eq(vgpu_parse_domid("32751", &d), 0);
	ck_assert_uint_eq(d, 0x7FEF);
	ck_assert_int_eq(vgpu_parse_domid("32752", &d), -ERANGE);  /* DOMID_FIRST_RESERVED */
	ck_assert_int_eq(vgpu_parse_domid("32753", &d), -ERANGE);
	ck_assert(vgpu_priority_valid("high"));
	ck_assert(vgpu_priority_valid("medium"));
	ck_assert(vgpu_priority_valid("low"));
	ck_assert(!vgpu_priority_valid("HIGH"));
	ck_assert(!vgpu_priority_valid("highest"));
	ck_assert(!vgpu_priority_valid(""));
	ck_assert(!vgpu_priority_valid(NULL));
}
END_TEST

START_TEST(paths_and_instances)
{
	char b[128], tiny[8];

	ck_assert_int_eq(vgpu_fe_path(b, sizeof(b), 5, 0), 0);
	ck_assert_str_eq(b, "/local/domain/5/device/vgpu/0");
	ck_assert_int_eq(vgpu_be_path(b, sizeof(b), 5, 3), 0);
	ck_assert_str_eq(b, "/local/domain/0/backend/vgpu/5/3");
	ck_assert_int_eq(vgpu_be_path(tiny, sizeof(tiny), 5, 3), -ENAMETOOLONG);
	ck_assert_int_eq(vgpu_instance(b, sizeof(b), 12, 0), 0);
	ck_assert_str_eq(b, "12");
	ck_assert_int_eq(vgpu_instance(b, sizeof(b), 12, 2), 0);
	ck_assert_str_eq(b, "12-2");
	ck_assert_int_eq(vgpu_pidfile_path(b, sizeof(b), 12, 0), 0);
	ck_assert_str_eq(b, "/run/vgpu-xen/backend-12.pid");
	ck_assert_int_eq(vgpu_envfile_path(b, sizeof(b), 12, 1), 0);
	ck_assert_str_eq(b, "/run/vgpu-xen/backend-12-1.env");
}
END_TEST

START_TEST(state_names)
{
	ck_assert_str_eq(vgpu_xb_state_name(1), "Initialising");
	ck_assert_str_eq(vgpu_xb_state_name(2), "InitWait");
	ck_assert_str_eq(vgpu_xb_state_name(4), "Connected");
	ck_assert_str_eq(vgpu_xb_state_name(6), "Closed");
	ck_assert_str_eq(vgpu_xb_state_name(9), "invalid");
	ck_assert_str_eq(vgpu_xb_state_name(-EINVAL), "invalid");
	ck_assert_str_eq(vgpu_xb_state_name(-ENOENT), "absent");
}
END_TEST

START_TEST(sanitising)
{
	char b[16], *mem = NULL;
	size_t len = 0;
	FILE *f;

	ck_assert_str_eq(vgpu_printable("g1", b, sizeof(b)), "g1");
	ck_assert_str_eq(vgpu_printable("a\033[2Jb\n", b, sizeof(b)), "a?[2Jb?");
	ck_assert_str_eq(vgpu_printable("0123456789abcdefXYZ", b, sizeof(b)),
			 "0123456789abcde");
	ck_assert_str_eq(vgpu_printable(NULL, b, sizeof(b)), "-");

	f = open_memstream(&mem, &len);
	ck_assert_ptr_nonnull(f);
	vgpu_json_str(f, "a\"b\\c\n\x01\xff");
	fputc(' ', f);
	vgpu_json_str(f, NULL);
	fclose(f);
	ck_assert_str_eq(mem, "\"a\\\"b\\\\c\\u000a\\u0001\\u00ff\" null");
	free(mem);
}
END_TEST

START_TEST(pidfile_and_proc)
{
	char path[] = "/tmp/vgpu-test-pidXXXXXX";
	int fd = mkstemp(path);
	FILE *f;

	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	fprintf(f, "%d\n", (int)getpid());
	fclose(f);
	ck_assert_int_eq(vgpu_pidfile_read(path), getpid());
	ck_assert(vgpu_proc_alive(getpid()));
	/* This test program is not vgpu-backend: never a kill target. */
	ck_assert(!vgpu_proc_is_backend(getpid()));
	f = fopen(path, "w");
	fprintf(f, "12abc\n");
	fclose(f);
	ck_assert_int_eq(vgpu_pidfile_read(path), -EINVAL);
	f = fopen(path, "w");
	fprintf(f, "1\n");   /* init: never ours */
	fclose(f);
	ck_assert_int_eq(vgpu_pidfile_read(path), -EINVAL);
	unlink(path);
	ck_assert_int_eq(vgpu_pidfile_read(path), -ENOENT);
	ck_assert(!vgpu_proc_alive(0));
	ck_assert(!vgpu_proc_alive(-1));
}
END_TEST

static Suite *tools_suite(void)
{
	Suite *s = suite_create("tools-common");
	TCase *tc;

	tc = tcase_create("parse");
	tcase_add_loop_test(tc, parse_u32_table, 0,
			    (int)(sizeof(u32_rows) / sizeof(u32_rows[0])));
	tcase_add_loop_test(tc, parse_size_table, 0,
			    (int)(sizeof(size_rows) / sizeof(size_rows[0])));
	tcase_add_test(tc, domid_and_priority);
	suite_add_tcase(s, tc);

	tc = tcase_create("names");
	tcase_add_test(tc, paths_and_instances);
	tcase_add_test(tc, state_names);
	tcase_add_test(tc, sanitising);
	tcase_add_test(tc, pidfile_and_proc);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(tools_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
