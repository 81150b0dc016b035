/* SPDX-License-Identifier: MIT */
/*
 * test_grant_cache.c - the persistent-grant cache holds a GPU program's
 * working set: the real vgpu-backend (loopback transport, cpu executor,
 * its default settings) driven through libvgpu as a guest program would,
 * copying the same 16 and 64 MiB buffers again and again, maps no grant in
 * the steady state: no page mapped for one request only, none evicted,
 * fewer map calls than copies (only a ring slot's indirect page met for the
 * first time). Counted by the backend's own counters (SIGUSR1 logs them),
 * never timed.
 *
 * Before the cache was sized for it (issue #14, item 5) the same rows cost
 * 5-30 map calls per copy with blkback's bound of 1056 pages, and 12.7 per
 * copy with two 64 MiB buffers at 16640 pages. TEST_GRANT_CACHE_PAGES=N
 * runs the backend with --persistent-grants N instead of its default, to
 * see such a bound fail here.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tfront.h"
#include "vgpu.h"

static struct tf_world W;

static void setup(void)
{
	setenv("VGPU_ARB", "off", 1);
	tf_backend_path();
	ck_assert_int_eq(tf_world_init(&W), 0);
}

static void teardown(void)
{
	tf_world_fini(&W);
}

struct gstats {
	long long map_calls, pages, evictions, oneshot;
};

static long long field(const char *line, const char *name)
{
	const char *p = strstr(line, name);

	ck_assert_msg(p != NULL, "no '%s' in the stats line: %s", name, line);
	return atoll(p + strlen(name));
}

/* The backend's grant counters so far: SIGUSR1, then its new stats line. */
static struct gstats grant_stats(struct tf_dom *d)
{
	int before = tf_log_count(d, "grants: map calls ");
	char line[2048], last[2048] = "";
	struct gstats g;
	int tries;
	FILE *f;

	kill(d->backend, SIGUSR1);
	for (tries = 0; tries < 2000; tries++) {
		if (tf_log_count(d, "grants: map calls ") > before)
			break;
		tf_msleep(10);
	}
	ck_assert_msg(tries < 2000, "no stats line in %s after SIGUSR1", d->log);
	f = fopen(d->log, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "grants: map calls "))
			memcpy(last, line, sizeof(last));
	fclose(f);
	g.map_calls = field(last, "grants: map calls ");
	g.pages = field(last, ", pages ");
	g.evictions = field(last, "evictions ");
	g.oneshot = field(last, "one-shot ");
	return g;
}

/*
 * One row: nbuf buffers of mib MiB from vgpu_host_alloc (the guest's own
 * pages, granted as they are), copied in turn: even ones H2D, odd ones D2H
 * (a program's input and output buffers).
 */
struct row {
	unsigned int nbuf, mib;
};

static const struct row rows[] = {
	{ 1, 16 },      /* 4096 pages                              */
	{ 1, 64 },      /* 16384 pages: over blkback's 1056        */
	{ 2, 64 },      /* 64 MiB in, 64 MiB out: over 16640       */
};

#define WARM 2
#define REPS 3

START_TEST(test_working_set_stays_mapped)
{
	const struct row *r = &rows[_i];
	size_t len = (size_t)r->mib << 20;
	const char *pg = getenv("TEST_GRANT_CACHE_PAGES");
	char dev[512];
	struct tf_dom d;
	void *buf[2];
	uint64_t mem;
	struct gstats g0 = { 0 }, g1;
	unsigned int i, k, n;
	vgpu_t *v;

	memset(&d, 0, sizeof(d));
	if (pg && *pg) {
		d.extra[0] = "--persistent-grants";
		d.extra[1] = pg;
	}
	ck_assert_int_eq(tf_dom_create(&W, &d, 10 + _i, 0), 0);
	snprintf(dev, sizeof(dev), "loopback:%s?domid=%u&persistent=1&timeout_ms=%d",
		 W.dir, d.domid, TF_WAIT_MS);
	ck_assert_msg(vgpu_open(dev, &v) == 0, "vgpu_open: %s", vgpu_open_error());
	ck_assert_int_eq(vgpu_mem_alloc(v, len, &mem, NULL), 0);
	for (k = 0; k < r->nbuf; k++) {
		ck_assert_int_eq(vgpu_host_alloc(v, len, &buf[k]), 0);
		memset(buf[k], 0x40 + (int)k, len);
	}
	for (i = 0; i < WARM + REPS; i++) {
		if (i == WARM)
			g0 = grant_stats(&d);
		for (k = 0; k < r->nbuf; k++) {
			int rc = k & 1 ? vgpu_memcpy_d2h(v, buf[k], mem, 0, len) :
					 vgpu_memcpy_h2d(v, mem, 0, buf[k], len);

			ck_assert_msg(rc == 0, "copy: %s", vgpu_error(v));
		}
	}
	g1 = grant_stats(&d);
	n = REPS * r->nbuf;
	printf("grant cache: %u x %u MiB (%s), backend --persistent-grants %s: "
	       "per copy %.2f map calls, %.1f pages mapped, %.1f one-shot, "
	       "%.1f evicted\n", r->nbuf, r->mib,
	       r->nbuf > 1 ? "H2D + D2H" : "H2D", pg && *pg ? pg : "default",
	       (double)(g1.map_calls - g0.map_calls) / n,
	       (double)(g1.pages - g0.pages) / n,
	       (double)(g1.oneshot - g0.oneshot) / n,
	       (double)(g1.evictions - g0.evictions) / n);
	fflush(stdout);
	/*
	 * Nothing already seen is mapped again: no page mapped for one
	 * request only, none evicted (and so none re-mapped). What may still
	 * be mapped is a ring slot's indirect descriptor page used for the
	 * first time (1-2 pages, one call, now and then): a new grant, not a
	 * miss of the working set, and at most one call per copy.
	 */
	ck_assert_msg(g1.oneshot == g0.oneshot && g1.evictions == g0.evictions &&
		      g1.map_calls - g0.map_calls < n,
		      "%u x %u MiB: in %u copies of buffers already mapped, "
		      "%lld map calls, %lld pages mapped, %lld one-shot, %lld "
		      "evicted (log %s)", r->nbuf, r->mib, n,
		      g1.map_calls - g0.map_calls, g1.pages - g0.pages,
		      g1.oneshot - g0.oneshot, g1.evictions - g0.evictions, d.log);
	/* The data went through: the D2H buffer holds what H2D last wrote. */
	if (r->nbuf > 1)
		ck_assert_uint_eq(((uint8_t *)buf[1])[len - 1], 0x40);
	for (k = 0; k < r->nbuf; k++)
		ck_assert_int_eq(vgpu_host_free(v, buf[k]), 0);
	ck_assert_int_eq(vgpu_mem_free(v, mem), 0);
	vgpu_close(v);
	ck_assert_int_eq(tf_backend_stop(&d), 0);
	tf_dom_destroy(&d);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("grant-cache");
	TCase *tc = tcase_create("working-set");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, test_working_set_stays_mapped, 0,
			    (int)(sizeof(rows) / sizeof(rows[0])));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
