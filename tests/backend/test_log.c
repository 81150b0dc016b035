/* SPDX-License-Identifier: MIT */
/*
 * test_log.c - the backend's log escaping: one row per input a guest could
 * put into a logged value, with the exact text that must reach the log.
 */
#include <check.h>
#include <string.h>

#include "log.h"

static const struct {
	const char *in, *out;
} rows[] = {
	{ "plain ASCII stays", "plain ASCII stays" },
	{ "", "" },
	{ "new\nline", "new\\x0aline" },
	{ "cr\r and esc\x1b[2J", "cr\\x0d and esc\\x1b[2J" },
	{ "tab\there", "tab\\x09here" },
	{ "del\x7f", "del\\x7f" },
	{ "high \x80\xff bytes", "high \\x80\\xff bytes" },
	{ "utf-8 \xc3\xa9", "utf-8 \\xc3\\xa9" },
	{ "a \\ backslash", "a \\\\ backslash" },
	{ "forged \\x0a escape", "forged \\\\x0a escape" },
	{ "~ and space ", "~ and space " },
};

START_TEST(test_escape_rows)
{
	char out[256];
	size_t n = vgpuback_log_escape(rows[_i].in, out, sizeof(out));

	ck_assert_str_eq(out, rows[_i].out);
	ck_assert_uint_eq(n, strlen(rows[_i].out));
}
END_TEST

/* Truncation keeps whole escapes and always a NUL. */
static const struct {
	const char *in;
	size_t outlen;
	const char *out;
} trunc_rows[] = {
	{ "abc", 1, "" },
	{ "abc", 3, "ab" },
	{ "a\xff", 4, "a" },        /* "\xff" needs 4 bytes + NUL */
	{ "a\xff", 6, "a\\xff" },
	{ "\\\\", 2, "" },
	{ "\\\\", 4, "\\\\" },
};

START_TEST(test_truncation_rows)
{
	char out[16];

	memset(out, 'Z', sizeof(out));
	vgpuback_log_escape(trunc_rows[_i].in, out, trunc_rows[_i].outlen);
	ck_assert_str_eq(out, trunc_rows[_i].out);
}
END_TEST

/* Every byte value: the output is printable ASCII only. */
START_TEST(test_every_byte)
{
	char in[256], out[4 * 256 + 1];
	int i;

	for (i = 1; i < 256; i++)
		in[i - 1] = (char)i;
	in[255] = '\0';
	vgpuback_log_escape(in, out, sizeof(out));
	for (i = 0; out[i]; i++)
		ck_assert_msg((unsigned char)out[i] >= 0x20 && (unsigned char)out[i] < 0x7f,
			      "byte 0x%02x at %d", (unsigned char)out[i], i);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("backend-log");
	TCase *tc = tcase_create("escape");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, test_escape_rows, 0, sizeof(rows) / sizeof(rows[0]));
	tcase_add_loop_test(tc, test_truncation_rows, 0,
			    sizeof(trunc_rows) / sizeof(trunc_rows[0]));
	tcase_add_test(tc, test_every_byte);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
