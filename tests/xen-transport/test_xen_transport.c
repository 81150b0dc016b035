// SPDX-License-Identifier: MIT
/*
 * test_xen_transport.c - backend/transport-xen.c where no Xen runs: open
 * fails with errno and a reason an operator can act on; every op refuses bad
 * arguments (one table row per bad input, with the errno it must get) before
 * any library sees them. Where Xen does run (a dom0), the open case instead
 * does a real XenStore round trip.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The unit under test, compiled in so its static ops are reachable. */
#include "../../backend/transport-xen.c"

/* A transport whose library handles are NULL: any op that got past its
 * argument checks would crash here, so a passing row proves the check. */
static struct vgpuback_xen fake = { .base = { .ops = &vgpuback_xen_ops } };
static struct vgpuback_transport *ft = &fake.base;

static char long_path[XENSTORE_ABS_PATH_MAX + 16];
static char big_value[XENSTORE_PAYLOAD_MAX + 1];
static const uint32_t one_ref[1] = { 8 };
static char page_buf[2 * 4096];

static void make_inputs(void)
{
	memset(long_path, 'a', sizeof(long_path) - 1);
	long_path[0] = '/';
	long_path[sizeof(long_path) - 1] = '\0';
	memset(big_value, 'v', sizeof(big_value) - 1);
	big_value[sizeof(big_value) - 1] = '\0';
}

/* ------------------------------------------------------------ bad inputs */

enum op { OP_READ, OP_WRITE, OP_MKDIR, OP_RM, OP_DIR, OP_PERMS, OP_TEND,
	  OP_TSTART, OP_WATCH, OP_UNWATCH, OP_RWATCH, OP_ALIVE, OP_MAP,
	  OP_UNMAP, OP_BIND, OP_UNBIND, OP_NOTIFY, OP_UNMASK };

struct bad_row {
	const char *what;
	enum op op;
	const char *path;     /* "LONG": long_path                          */
	const char *value;    /* "BIG": big_value                           */
	uint32_t domid;
	uint32_t count;       /* map/unmap pages; perms: acl entries        */
	int port;
	int acl_kind;         /* 0 ok, 1 NULL acl, 2 bad perm, 3 bad domid  */
	int addr_kind;        /* unmap: 0 NULL, 1 misaligned, 2 aligned     */
	int expect;           /* -errno                                     */
};

static const struct bad_row bad_rows[] = {
	{ "read NULL path",          OP_READ,   NULL, 0, 0, 0, 0, 0, 0, -EINVAL },
	{ "read empty path",         OP_READ,   "", 0, 0, 0, 0, 0, 0, -EINVAL },
	{ "read relative path",      OP_READ,   "device/vgpu/0", 0, 0, 0, 0, 0, 0, -EINVAL },
	{ "read special path",       OP_READ,   "@releaseDomain", 0, 0, 0, 0, 0, 0, -EINVAL },
	{ "read too-long path",      OP_READ,   "LONG", 0, 0, 0, 0, 0, 0, -ENAMETOOLONG },
	{ "write NULL value",        OP_WRITE,  "/a", NULL, 0, 0, 0, 0, 0, -EINVAL },
	{ "write value too big",     OP_WRITE,  "/a", "BIG", 0, 0, 0, 0, 0, -E2BIG },
	{ "write relative path",     OP_WRITE,  "a/b", "1", 0, 0, 0, 0, 0, -EINVAL },
	{ "mkdir NULL path",         OP_MKDIR,  NULL, 0, 0, 0, 0, 0, 0, -EINVAL },
	{ "rm relative path",        OP_RM,     "local", 0, 0, 0, 0, 0, 0, -EINVAL },
	{ "rm the root",             OP_RM,     "/", 0, 0, 0, 0, 0, 0, -EPERM },
	{ "rm /local/domain",        OP_RM,     "/local/domain", 0, 0, 0, 0, 0, 0, -EPERM },
	{ "directory NULL num",      OP_DIR,    "/local", 0, 0, 0, 0, 0, 0, -EINVAL },
	{ "directory too-long path", OP_DIR,    "LONG", 0, 0, 0, 0, 0, 0, -ENAMETOOLONG },
	{ "perms empty list",        OP_PERMS,  "/a", 0, 0, 0, 0, 0, 0, -EINVAL },
	{ "perms NULL list",         OP_PERMS,  "/a", 0, 0, 1, 0, 1, 0, -EINVAL },
	{ "perms unknown perm",      OP_PERMS,  "/a", 0, 0, 1, 0, 2, 0, -EINVAL },
	{ "perms reserved domid",    OP_PERMS,  "/a", 0, 0, 1, 0, 3, 0, -EINVAL },
	{ "perms list too long",     OP_PERMS,  "/a", 0, 0, 65, 0, 0, 0, -E2BIG },
	{ "transaction end NULL id", OP_TEND,   NULL, 0, 0, 0, 0, 0, 0, -EINVAL },
	{ "transaction start NULL",  OP_TSTART, NULL, 0, 0, 0, 0, 0, 0, -EINVAL },
	{ "watch NULL token",        OP_WATCH,  "/a", NULL, 0, 0, 0, 0, 0, -EINVAL },
	{ "watch empty token",       OP_WATCH,  "/a", "", 0, 0, 0, 0, 0, -EINVAL },
	{ "watch token too big",     OP_WATCH,  "/a", "BIG", 0, 0, 0, 0, 0, -E2BIG },
	{ "watch relative path",     OP_WATCH,  "a", "t", 0, 0, 0, 0, 0, -EINVAL },
	{ "unwatch NULL path",       OP_UNWATCH, NULL, "t", 0, 0, 0, 0, 0, -EINVAL },
	{ "read_watch NULL out",     OP_RWATCH, NULL, 0, 0, 0, 0, 0, 0, -EINVAL },
	{ "alive reserved domid",    OP_ALIVE,  NULL, 0, 0x7FF0, 0, 0, 0, 0, -EINVAL },
	{ "alive DOMID_SELF",        OP_ALIVE,  NULL, 0, 0x7FF0 + 0xF, 0, 0, 0, 0, -EINVAL },
	{ "map zero pages",          OP_MAP,    NULL, 0, 1, 0, 0, 0, 0, -EINVAL },
	{ "map too many pages",      OP_MAP,    NULL, 0, 1, (1u << 18) + 1, 0, 0, 0, -E2BIG },
	{ "map reserved domid",      OP_MAP,    NULL, 0, 0x7FF2, 1, 0, 0, 0, -EINVAL },
	{ "map NULL refs",           OP_MAP,    "NULLREFS", 0, 1, 1, 0, 0, 0, -EINVAL },
	{ "unmap NULL address",      OP_UNMAP,  NULL, 0, 0, 1, 0, 0, 0, -EINVAL },
	{ "unmap misaligned",        OP_UNMAP,  NULL, 0, 0, 1, 0, 0, 1, -EINVAL },
	{ "unmap zero pages",        OP_UNMAP,  NULL, 0, 0, 0, 0, 0, 2, -EINVAL },
	{ "bind remote port 0",      OP_BIND,   NULL, 0, 1, 0, 0, 0, 0, -EINVAL },
	{ "bind port beyond FIFO",   OP_BIND,   NULL, 0, 1, 0, 1 << 17, 0, 0, -EINVAL },
	{ "bind reserved domid",     OP_BIND,   NULL, 0, 0x7FF0, 0, 5, 0, 0, -EINVAL },
	{ "unbind negative port",    OP_UNBIND, NULL, 0, 0, 0, -1, 0, 0, -EINVAL },
	{ "notify negative port",    OP_NOTIFY, NULL, 0, 0, 0, -5, 0, 0, -EINVAL },
	{ "notify huge port",        OP_NOTIFY, NULL, 0, 0, 0, 1 << 20, 0, 0, -EINVAL },
	{ "unmask negative port",    OP_UNMASK, NULL, 0, 0, 0, -1, 0, 0, -EINVAL },
};

static const char *arg_str(const char *s)
{
	if (s && strcmp(s, "LONG") == 0)
		return long_path;
	if (s && strcmp(s, "BIG") == 0)
		return big_value;
	return s;
}

/* Run one row; returns -errno as the op reported it. */
static int run_row(const struct bad_row *r)
{
	const struct vgpuback_transport_ops *o = ft->ops;
	const char *path = arg_str(r->path), *value = arg_str(r->value);
	struct vgpuback_xs_acl acl[80];
	unsigned int i, num = 0;
	char *p = NULL, *k = NULL;
	void *v;
	int rc;

	errno = 0;
	switch (r->op) {
	case OP_READ:
		v = o->xs_read(ft, 0, path, NULL);
		return v ? 0 : -errno;
	case OP_WRITE:
		return o->xs_write(ft, 0, path, value);
	case OP_MKDIR:
		return o->xs_mkdir(ft, 0, path);
	case OP_RM:
		return o->xs_rm(ft, 0, path);
	case OP_DIR:
		v = o->xs_directory(ft, 0, path, NULL);
		(void)num;
		return v ? 0 : -errno;
	case OP_PERMS:
		for (i = 0; i < 80; i++) {
			acl[i].domid = i;
			acl[i].perm = VGPUBACK_XS_PERM_READ;
		}
		if (r->acl_kind == 2)
			acl[0].perm = (enum vgpuback_xs_perm)7;
		if (r->acl_kind == 3)
			acl[0].domid = 0x7FF1;
		return o->xs_set_perms(ft, 0, path, r->acl_kind == 1 ? NULL : acl,
				       r->count);
	case OP_TEND:
		return o->xs_transaction_end(ft, VGPUBACK_XBT_NULL, false);
	case OP_TSTART:
		return o->xs_transaction_start(ft, NULL);
	case OP_WATCH:
		return o->xs_watch(ft, path, value);
	case OP_UNWATCH:
		return o->xs_unwatch(ft, path, value);
	case OP_RWATCH:
		rc = o->xs_read_watch(ft, NULL, &k);
		return rc ? rc : o->xs_read_watch(ft, &p, NULL);
	case OP_ALIVE:
		return o->domain_alive(ft, r->domid);
	case OP_MAP:
		v = o->map_grants(ft, r->domid, r->count,
				  r->path ? NULL : one_ref, true);
		return v ? 0 : -errno;
	case OP_UNMAP: {
		/* A page-aligned address inside our own buffer. */
		uintptr_t a = ((uintptr_t)page_buf + 4095) & ~(uintptr_t)4095;

		if (r->addr_kind == 0)
			return o->unmap_grants(ft, NULL, r->count);
		return o->unmap_grants(ft, (void *)(a + (r->addr_kind == 1)),
				       r->count);
	}
	case OP_BIND:
		return o->evtchn_bind(ft, r->domid, (uint32_t)r->port);
	case OP_UNBIND:
		return o->evtchn_unbind(ft, r->port);
	case OP_NOTIFY:
		return o->evtchn_notify(ft, r->port);
	case OP_UNMASK:
		return o->evtchn_unmask(ft, r->port);
	}
	return 1;
}

START_TEST(bad_input)
{
	const struct bad_row *r = &bad_rows[_i];
	int rc;

	make_inputs();
	rc = run_row(r);
	ck_assert_msg(rc == r->expect, "%s: got %d (%s), want %d (%s)", r->what,
		      rc, strerror(-rc), r->expect, strerror(-r->expect));
}
END_TEST

START_TEST(ops_table_complete)
{
	const struct vgpuback_transport_ops *o = &vgpuback_xen_ops;

	ck_assert_str_eq(o->name, "xen");
	ck_assert_ptr_nonnull(o->close);
	ck_assert_ptr_nonnull(o->xs_read);
	ck_assert_ptr_nonnull(o->xs_write);
	ck_assert_ptr_nonnull(o->xs_mkdir);
	ck_assert_ptr_nonnull(o->xs_rm);
	ck_assert_ptr_nonnull(o->xs_directory);
	ck_assert_ptr_nonnull(o->xs_set_perms);
	ck_assert_ptr_nonnull(o->xs_transaction_start);
	ck_assert_ptr_nonnull(o->xs_transaction_end);
	ck_assert_ptr_nonnull(o->xs_watch);
	ck_assert_ptr_nonnull(o->xs_unwatch);
	ck_assert_ptr_nonnull(o->xs_watch_fd);
	ck_assert_ptr_nonnull(o->xs_read_watch);
	ck_assert_ptr_nonnull(o->domain_alive);
	ck_assert_ptr_nonnull(o->map_grants);
	ck_assert_ptr_nonnull(o->unmap_grants);
	ck_assert_ptr_nonnull(o->evtchn_bind);
	ck_assert_ptr_nonnull(o->evtchn_unbind);
	ck_assert_ptr_nonnull(o->evtchn_notify);
	ck_assert_ptr_nonnull(o->evtchn_fd);
	ck_assert_ptr_nonnull(o->evtchn_pending);
	ck_assert_ptr_nonnull(o->evtchn_unmask);
}
END_TEST

/* ------------------------------------------------------------------- open */

/* Where XenStore answers (a dom0), exercise it for real. */
static void real_round_trip(struct vgpuback_transport *t)
{
	const struct vgpuback_transport_ops *o = t->ops;
	const char *base = "/vgpu-test-transport";
	struct vgpuback_xs_acl acl = { 0, VGPUBACK_XS_PERM_NONE };
	char path[128], *v, **d, *wp = NULL, *wt = NULL;
	vgpuback_xbt_t xbt;
	unsigned int len = 0, n = 0;
	int rc, tries;

	o->xs_rm(t, 0, base);
	ck_assert_int_eq(o->xs_mkdir(t, 0, base), 0);
	ck_assert_int_eq(o->xs_set_perms(t, 0, base, &acl, 1), 0);
	ck_assert_int_eq(o->xs_watch(t, base, "tok"), 0);
	for (tries = 0;; tries++) {
		ck_assert_int_eq(o->xs_transaction_start(t, &xbt), 0);
		snprintf(path, sizeof(path), "%s/key", base);
		ck_assert_int_eq(o->xs_write(t, xbt, path, "value"), 0);
		rc = o->xs_transaction_end(t, xbt, false);
		if (rc != -EAGAIN || tries > 10)
			break;
	}
	ck_assert_int_eq(rc, 0);
	v = o->xs_read(t, 0, path, &len);
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(v, "value");
	ck_assert_uint_eq(len, 5);
	free(v);
	d = o->xs_directory(t, 0, base, &n);
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(d[0], "key");
	free(d);
	/* The watch fired at least once (when set); read it without blocking. */
	rc = o->xs_read_watch(t, &wp, &wt);
	for (tries = 0; rc == 0 && tries < 100; tries++) {
		usleep(10000);
		rc = o->xs_read_watch(t, &wp, &wt);
	}
	ck_assert_int_eq(rc, 1);
	ck_assert_str_eq(wt, "tok");
	free(wp);
	free(wt);
	ck_assert_int_eq(o->xs_unwatch(t, base, "tok"), 0);
	ck_assert_int_eq(o->xs_rm(t, 0, base), 0);
	errno = 0;
	ck_assert_ptr_null(o->xs_read(t, 0, path, NULL));
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(o->domain_alive(t, 0), 1);
	ck_assert_int_eq(o->domain_alive(t, 0x7FEF), 0);
	ck_assert_int_eq(o->evtchn_pending(t), -EAGAIN);
}

START_TEST(open_without_xen_says_why)
{
	const char *why = (const char *)1;
	struct vgpuback_transport *t;

	errno = 0;
	t = vgpuback_transport_xen_open(&why);
	if (t) {
		/* A real dom0: the reason is cleared and the store works. */
		ck_assert_ptr_null(why);
		ck_assert_str_eq(t->ops->name, "xen");
		real_round_trip(t);
		t->ops->close(t);
		return;
	}
	ck_assert_int_ne(errno, 0);
	ck_assert_ptr_nonnull(why);
	ck_assert_msg(strlen(why) > 20, "reason too short: '%s'", why);
	if (!on_xen())
		ck_assert_msg(strstr(why, "not running on Xen") != NULL,
			      "reason does not say Xen is absent: '%s'", why);
	/* No reason pointer is fine too. */
	errno = 0;
	ck_assert_ptr_null(vgpuback_transport_xen_open(NULL));
	ck_assert_int_ne(errno, 0);
}
END_TEST

START_TEST(reasons_name_the_fix)
{
	ck_assert_ptr_nonnull(strstr(why_gnt(ENOENT), "xen-gntdev"));
	ck_assert_ptr_nonnull(strstr(why_gnt(EACCES), "root"));
	ck_assert_ptr_nonnull(strstr(why_evt(ENOENT), "xen-evtchn"));
	ck_assert_ptr_nonnull(strstr(why_evt(EPERM), "root"));
	ck_assert_ptr_nonnull(why_xs(ENOENT));
}
END_TEST

static Suite *xen_transport_suite(void)
{
	Suite *s = suite_create("xen-transport");
	TCase *tc;

	tc = tcase_create("bad-input");
	tcase_add_loop_test(tc, bad_input, 0,
			    (int)(sizeof(bad_rows) / sizeof(bad_rows[0])));
	tcase_add_test(tc, ops_table_complete);
	suite_add_tcase(s, tc);

	tc = tcase_create("open");
	tcase_add_test(tc, open_without_xen_says_why);
	tcase_add_test(tc, reasons_name_the_fix);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(xen_transport_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
