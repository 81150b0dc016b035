/*
 * test_arbiter.c - the dom0-wide arbiter (mediator-cuda/arbiter.h): config
 * and input tables, order of service (class, FIFO, aging, GPU-time share,
 * several turns), memory quotas, accounting, and backends that die holding
 * the lock, a turn or a place in the queue (kill -9 of a real process).
 *
 * Each test runs on a private region (vgpu-arb-test-PID-N) that the fixture
 * removes. Ordering tests are deterministic: waiters are queued one at a time
 * (the test waits until the arbiter shows each one queued before starting the
 * next), and aging runs on a clock the test sets.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "arbiter.h"

#define MS 1000000ull
#define SEC 1000000000ull

/* -------------------------------------------------------------- fixture */

static char g_name[64];
static struct vgpu_arb *g_arb;
static struct vgpu_arb_config g_cfg;

static void region_name(void)
{
	static int n;

	snprintf(g_name, sizeof(g_name), "vgpu-arb-test-%d-%d", (int)getpid(), n++);
}

static struct vgpu_arb *open_region(const struct vgpu_arb_config *cfg)
{
	struct vgpu_arb *arb = NULL;
	const char *why = NULL;
	int rc = vgpu_arb_open(&arb, g_name, cfg, 0, &why);

	ck_assert_msg(rc == 0, "open %s: %d (%s)", g_name, rc, why ? why : "");
	return arb;
}

static void setup(void)
{
	region_name();
	vgpu_arb_unlink(g_name);
	vgpu_arb_config_default(&g_cfg);
	g_cfg.tokens = 1;  /* one turn unless a test says otherwise */
	g_cfg.low_gap_ns = 0;  /* no low gap unless a test says so (test_low_gap) */
	g_arb = NULL;
}

static void teardown(void)
{
	if (g_arb)
		vgpu_arb_close(g_arb);
	g_arb = NULL;
	vgpu_arb_unlink(g_name);
}

static struct vgpu_arb_slot *reg(uint32_t domid, uint32_t prio)
{
	struct vgpu_arb_domain d = { .domid = domid, .priority = prio, .gpu = -1 };
	struct vgpu_arb_slot *slot = NULL;
	int rc = vgpu_arb_register(g_arb, &d, &slot);

	ck_assert_msg(rc == 0, "register domain %u: %d", domid, rc);
	return slot;
}

static const struct vgpu_arb_domain_info *dom_info(const struct vgpu_arb_snapshot *s,
						    uint32_t domid)
{
	for (uint32_t i = 0; i < s->ndomains; i++)
		if (s->dom[i].domid == domid)
			return &s->dom[i];
	return NULL;
}

static struct vgpu_arb_snapshot *snap(void)
{
	static struct vgpu_arb_snapshot s;

	ck_assert_int_eq(vgpu_arb_snapshot(g_arb, &s), 0);
	return &s;
}

/* Wait until the arbiter shows `domid` with `waiting` queued acquires. */
static void wait_queued(uint32_t domid, uint32_t waiting)
{
	for (int i = 0; i < 60000; i++) {   /* a bound, not a timing claim */
		const struct vgpu_arb_domain_info *d = dom_info(snap(), domid);
		if (d && d->waiting == waiting)
			return;
		usleep(1000);
	}
	ck_abort_msg("domain %u never showed %u waiting", domid, waiting);
}

/* ------------------------------------------------------- config tables */

START_TEST(test_config_bad)
{
	static const struct {
		const char *what;
		uint32_t ngpus, tokens;
		uint64_t aging_ns, window_ns;
		uint32_t pool0;
	} rows[] = {
		{ "no GPU",            0, 1, 0, 100 * MS, 0 },
		{ "17 GPUs",          17, 1, 0, 100 * MS, 0 },
		{ "no turn",           1, 0, 0, 100 * MS, 0 },
		{ "65 turns",          1, 65, 0, 100 * MS, 0 },
		{ "window 0",          1, 1, 0, 0, 0 },
		{ "window < 1 ms",     1, 1, 0, MS - 1, 0 },
		{ "window > 1 h",      1, 1, 0, 3601 * SEC, 0 },
		{ "aging > 1 h",       1, 1, 3601 * SEC, 100 * MS, 0 },
		{ "pool beyond GPUs",  2, 1, 0, 100 * MS, 0x4 },
		{ "burst < turns",     1, 17, 0, 100 * MS, 0 },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct vgpu_arb_config c;
		struct vgpu_arb *arb = NULL;
		const char *why = NULL;

		vgpu_arb_config_default(&c);
		c.ngpus = rows[i].ngpus;
		c.tokens = rows[i].tokens;
		c.aging_ns = rows[i].aging_ns;
		c.share_window_ns = rows[i].window_ns;
		c.pool_mask[0] = rows[i].pool0;
		ck_assert_msg(vgpu_arb_config_check(&c, &why) == -EINVAL && why,
			      "row %zu (%s) accepted", i, rows[i].what);
		ck_assert_msg(vgpu_arb_open(&arb, g_name, &c, 0, &why) == -EINVAL,
			      "row %zu (%s) opened", i, rows[i].what);
	}
}
END_TEST

START_TEST(test_pools_parse)
{
	static const struct {
		const char *s;
		int rc;
		uint32_t m0, m1, m2;
	} rows[] = {
		{ "0=0-3;1=4,5",   0, 0x0f, 0x30, 0 },
		{ "2=7",           0, 0, 0, 0x80 },
		{ "0=0,2-3;1=1",   0, 0x0d, 0x02, 0 },
		{ "0=0;",          0, 0x01, 0, 0 },
		{ "",              -EINVAL, 0, 0, 0 },
		{ "x",             -EINVAL, 0, 0, 0 },
		{ "0",             -EINVAL, 0, 0, 0 },
		{ "0=",            -EINVAL, 0, 0, 0 },
		{ "0=8",           -EINVAL, 0, 0, 0 },   /* 8 GPUs: 0..7 */
		{ "16=0",          -EINVAL, 0, 0, 0 },
		{ "0=3-1",         -EINVAL, 0, 0, 0 },
		{ "0=0;0=1",       -EINVAL, 0, 0, 0 },
		{ "0=0,",          -EINVAL, 0, 0, 0 },
		{ "0=0;;",         -EINVAL, 0, 0, 0 },
		{ "0=-1",          -EINVAL, 0, 0, 0 },
		{ "0=1 ",          -EINVAL, 0, 0, 0 },
		{ "0=99999999999", -EINVAL, 0, 0, 0 },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct vgpu_arb_config c;
		const char *why = NULL;
		int rc;

		vgpu_arb_config_default(&c);
		c.ngpus = 8;
		rc = vgpu_arb_parse_pools(rows[i].s, &c, &why);
		ck_assert_msg(rc == rows[i].rc, "row %zu \"%s\": %d", i, rows[i].s, rc);
		if (rc) {
			ck_assert_ptr_nonnull(why);
			continue;
		}
		ck_assert_uint_eq(c.pool_mask[0], rows[i].m0);
		ck_assert_uint_eq(c.pool_mask[1], rows[i].m1);
		ck_assert_uint_eq(c.pool_mask[2], rows[i].m2);
	}
}
END_TEST

START_TEST(test_priority_parse)
{
	static const struct { const char *s; int want; } rows[] = {
		{ "high", VGPUIF_PRIO_HIGH }, { "medium", VGPUIF_PRIO_MEDIUM },
		{ "low", VGPUIF_PRIO_LOW }, { "0", 0 }, { "2", 2 },
		{ "3", -EINVAL }, { "", -EINVAL }, { "HIGH", -EINVAL },
		{ "high ", -EINVAL }, { NULL, -EINVAL },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		ck_assert_msg(vgpu_arb_parse_priority(rows[i].s) == rows[i].want,
			      "row %zu", i);
	ck_assert_str_eq(vgpu_arb_priority_name(VGPUIF_PRIO_LOW), "low");
	ck_assert_str_eq(vgpu_arb_priority_name(7), "?");
}
END_TEST

START_TEST(test_env)
{
	static const struct { const char *var, *val; int rc; } rows[] = {
		{ "VGPU_ARB_TOKENS", "4", 0 },
		{ "VGPU_ARB_TOKENS", "0", -EINVAL },
		{ "VGPU_ARB_TOKENS", "65", -EINVAL },
		{ "VGPU_ARB_TOKENS", "two", -EINVAL },
		{ "VGPU_ARB_TOKENS", "-1", -EINVAL },
		{ "VGPU_ARB_GPUS", "17", -EINVAL },
		{ "VGPU_ARB_AGING_MS", "0", 0 },
		{ "VGPU_ARB_AGING_MS", "3600001", -EINVAL },
		{ "VGPU_ARB_SHARE_WINDOW_MS", "0", -EINVAL },
		{ "VGPU_ARB_POOLS", "0=1", -EINVAL },   /* 1 GPU: only GPU 0 */
		{ "VGPU_ARB_POOLS", "0=0;1=0", 0 },
		{ "VGPU_ARB_BURST", "0", -EINVAL },
		{ "VGPU_ARB_BURST", "257", -EINVAL },
		{ "VGPU_ARB_BURST", "256", 0 },
		{ "VGPU_ARB_TOKENS", "32", 0 },   /* burst follows */
		{ "VGPU_ARB_HIGH_RESERVE", "0", 0 },
		{ "VGPU_ARB_HIGH_RESERVE", "65", -EINVAL },
		{ "VGPU_ARB_HIGH_RESERVE", "x", -EINVAL },
		{ "VGPU_ARB_LOW_GAP_US", "0", 0 },
		{ "VGPU_ARB_LOW_GAP_US", "5000", 0 },
		{ "VGPU_ARB_LOW_GAP_US", "1000000", 0 },
		{ "VGPU_ARB_LOW_GAP_US", "1000001", -EINVAL },
		{ "VGPU_ARB_LOW_GAP_US", "5ms", -EINVAL },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct vgpu_arb_config c;
		const char *why = NULL;

		vgpu_arb_config_default(&c);
		setenv(rows[i].var, rows[i].val, 1);
		ck_assert_msg(vgpu_arb_config_from_env(&c, &why) == rows[i].rc,
			      "row %zu %s=%s", i, rows[i].var, rows[i].val);
		unsetenv(rows[i].var);
	}
	{
		struct vgpu_arb_config c;
		const char *why;

		vgpu_arb_config_default(&c);
		setenv("VGPU_ARB_TOKENS", "3", 1);
		setenv("VGPU_ARB_AGING_MS", "7", 1);
		ck_assert_int_eq(vgpu_arb_config_from_env(&c, &why), 0);
		ck_assert_uint_eq(c.tokens, 3);
		ck_assert_uint_eq(c.aging_ns, 7 * MS);
		unsetenv("VGPU_ARB_TOKENS");
		unsetenv("VGPU_ARB_AGING_MS");
	}
}
END_TEST

START_TEST(test_region_names)
{
	static const char *bad[] = {
		"../etc", "a/b", ".hidden", "sp ace", "semi;colon",
		("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct vgpu_arb *arb = NULL;
		const char *why = NULL;

		ck_assert_msg(vgpu_arb_open(&arb, bad[i], &g_cfg, 0, &why) == -EINVAL,
			      "row %zu accepted", i);
		ck_assert_ptr_nonnull(why);
	}
	{
		struct vgpu_arb *arb = NULL;
		const char *why = NULL;

		/* NOCREATE on a region nobody made: a clear -ENOENT. */
		ck_assert_int_eq(vgpu_arb_open(&arb, g_name, NULL, VGPU_ARB_NOCREATE,
					       &why), -ENOENT);
		ck_assert_ptr_nonnull(why);
		ck_assert_int_eq(vgpu_arb_open(&arb, g_name, &g_cfg, 0x80, &why), -EINVAL);
	}
	/* The environment names the region when the caller does not. */
	setenv(VGPU_ARB_ENV_NAME, g_name, 1);
	{
		struct vgpu_arb *arb = NULL;
		const char *why = NULL;

		ck_assert_int_eq(vgpu_arb_open(&arb, NULL, &g_cfg, 0, &why), 0);
		ck_assert_str_eq(vgpu_arb_name(arb), g_name);
		vgpu_arb_close(arb);
	}
	unsetenv(VGPU_ARB_ENV_NAME);
}
END_TEST

/* A file that is not a region of this version: refused, never used. */
START_TEST(test_region_foreign)
{
	static const size_t sizes[] = { 1, 4096, 1 << 20 };
	char path[160];
	struct vgpu_arb *arb = NULL;
	const char *why = NULL;

	snprintf(path, sizeof(path), "/dev/shm/%s.v%u", g_name,
		 (unsigned int)VGPU_ARB_VERSION);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		FILE *f = fopen(path, "w");

		ck_assert_ptr_nonnull(f);
		ck_assert_int_eq(ftruncate(fileno(f), (off_t)sizes[i]), 0);
		fclose(f);
		ck_assert_msg(vgpu_arb_open(&arb, g_name, &g_cfg, 0, &why) == -EPROTO,
			      "size %zu accepted", sizes[i]);
		ck_assert_ptr_nonnull(why);
		ck_assert_int_eq(vgpu_arb_open(&arb, g_name, NULL, VGPU_ARB_NOCREATE,
					       &why), -EPROTO);
		unlink(path);
	}
	/* The right size, garbage inside (no magic): initialised afresh,
	 * nothing of the garbage trusted. */
	g_arb = open_region(&g_cfg);
	vgpu_arb_close(g_arb);
	g_arb = NULL;
	{
		FILE *f = fopen(path, "r+");
		unsigned char junk[8192];

		ck_assert_ptr_nonnull(f);
		memset(junk, 0xa5, sizeof(junk));
		ck_assert_uint_eq(fwrite(junk, 1, sizeof(junk), f), sizeof(junk));
		fclose(f);
	}
	g_arb = open_region(&g_cfg);
	{
		struct vgpu_arb_slot *s = reg(3, VGPUIF_PRIO_LOW);

		ck_assert_uint_eq(snap()->ndomains, 1);
		ck_assert_uint_eq(snap()->gpu[0].in_use, 0);
		ck_assert_int_eq(vgpu_arb_acquire(s, 0), 0);
		ck_assert_int_eq(vgpu_arb_release(s, 0), 0);
		vgpu_arb_unregister(s);
	}
}
END_TEST

/* A region's config sticks while domains live; a later opener adopts it. */
START_TEST(test_config_first_wins)
{
	struct vgpu_arb_config c2, got;
	struct vgpu_arb *arb2;
	struct vgpu_arb_slot *s;

	g_cfg.tokens = 2;
	g_arb = open_region(&g_cfg);
	s = reg(1, VGPUIF_PRIO_LOW);
	c2 = g_cfg;
	c2.tokens = 5;
	arb2 = open_region(&c2);
	vgpu_arb_get_config(arb2, &got);
	ck_assert_uint_eq(got.tokens, 2);
	vgpu_arb_close(arb2);
	vgpu_arb_unregister(s);
	/* Nobody registered: the next opener's config applies. */
	arb2 = open_region(&c2);
	vgpu_arb_get_config(arb2, &got);
	ck_assert_uint_eq(got.tokens, 5);
	vgpu_arb_close(arb2);
}
END_TEST

/* --------------------------------------------------------- registration */

START_TEST(test_register_bad)
{
	static const struct {
		const char *what;
		struct vgpu_arb_domain d;
		int rc;
	} rows[] = {
		{ "reserved domid",  { .domid = 0x7ff0, .gpu = -1 }, -EINVAL },
		{ "domid 0xffff",    { .domid = 0xffff, .gpu = -1 }, -EINVAL },
		{ "priority 3",      { .domid = 1, .priority = 3, .gpu = -1 }, -EINVAL },
		{ "pool 16",         { .domid = 1, .pool = 16, .gpu = -1 }, -EINVAL },
		{ "share 101 %",     { .domid = 1, .gpu_share_pct = 101, .gpu = -1 }, -EINVAL },
		{ "gpu -2",          { .domid = 1, .gpu = -2 }, -EINVAL },
		{ "gpu 16",          { .domid = 1, .gpu = 16 }, -EINVAL },
		{ "empty pool 2",    { .domid = 1, .pool = 2, .gpu = -1 }, -ENOENT },
		{ "gpu outside pool",{ .domid = 1, .pool = 1, .gpu = 0 }, -EPERM },
		{ "gpu 3 of 2",      { .domid = 1, .pool = 0, .gpu = 3 }, -EPERM },
	};
	struct vgpu_arb_slot *s = NULL, *dup = NULL;
	struct vgpu_arb_domain d = { .domid = 9, .devid = 0, .gpu = -1 };
	const char *why;

	g_cfg.ngpus = 2;
	ck_assert_int_eq(vgpu_arb_parse_pools("0=0;1=1", &g_cfg, &why), 0);
	g_arb = open_region(&g_cfg);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct vgpu_arb_slot *x = NULL;
		ck_assert_msg(vgpu_arb_register(g_arb, &rows[i].d, &x) == rows[i].rc,
			      "row %zu (%s)", i, rows[i].what);
		ck_assert_ptr_null(x);
	}
	ck_assert_int_eq(vgpu_arb_register(g_arb, &d, &s), 0);
	ck_assert_int_eq(vgpu_arb_register(g_arb, &d, &dup), -EBUSY);
	d.devid = 1;  /* a second device of the same domain is another slot */
	ck_assert_int_eq(vgpu_arb_register(g_arb, &d, &dup), 0);
	ck_assert_int_eq(snap()->ndomains, 2);
	vgpu_arb_unregister(dup);
	vgpu_arb_unregister(s);
	ck_assert_int_eq(snap()->ndomains, 0);
	/* Setters check their input too. */
	s = reg(3, VGPUIF_PRIO_LOW);
	ck_assert_int_eq(vgpu_arb_set_priority(s, 3), -EINVAL);
	ck_assert_int_eq(vgpu_arb_set_share(s, 101), -EINVAL);
	ck_assert_int_eq(vgpu_arb_set_priority(s, VGPUIF_PRIO_HIGH), 0);
	ck_assert_uint_eq(dom_info(snap(), 3)->priority, VGPUIF_PRIO_HIGH);
	vgpu_arb_unregister(s);
}
END_TEST

START_TEST(test_pool_placement)
{
	static const uint32_t want[] = { 2, 3, 2, 3, 2 };
	struct vgpu_arb_slot *s[5], *pinned;
	struct vgpu_arb_domain d = { .pool = 1, .gpu = -1 };
	const char *why;

	g_cfg.ngpus = 4;
	ck_assert_int_eq(vgpu_arb_parse_pools("0=0-1;1=2-3", &g_cfg, &why), 0);
	g_arb = open_region(&g_cfg);
	for (int i = 0; i < 5; i++) {
		d.domid = 10 + i;
		ck_assert_int_eq(vgpu_arb_register(g_arb, &d, &s[i]), 0);
		ck_assert_int_eq(vgpu_arb_slot_gpu(s[i]), want[i]);
		ck_assert_uint_eq(dom_info(snap(), 10 + i)->gpu, want[i]);
	}
	d.domid = 20;
	d.gpu = 3;
	ck_assert_int_eq(vgpu_arb_register(g_arb, &d, &pinned), 0);
	ck_assert_int_eq(vgpu_arb_slot_gpu(pinned), 3);
	ck_assert_uint_eq(snap()->gpu[3].domains, 3);
	ck_assert_uint_eq(snap()->gpu[0].domains, 0);
	for (int i = 0; i < 5; i++)
		vgpu_arb_unregister(s[i]);
	vgpu_arb_unregister(pinned);
}
END_TEST

/* No pools configured: any pool id may use any GPU. */
START_TEST(test_pools_unconfigured)
{
	struct vgpu_arb_domain d = { .domid = 1, .pool = 7, .gpu = -1 };
	struct vgpu_arb_slot *a, *b;

	g_cfg.ngpus = 2;
	g_arb = open_region(&g_cfg);
	ck_assert_int_eq(vgpu_arb_register(g_arb, &d, &a), 0);
	d.domid = 2;
	d.pool = 15;
	d.gpu = 1;
	ck_assert_int_eq(vgpu_arb_register(g_arb, &d, &b), 0);
	ck_assert_int_eq(vgpu_arb_slot_gpu(b), 1);
	ck_assert_uint_eq(dom_info(snap(), 1)->pool, 7);
	vgpu_arb_unregister(a);
	vgpu_arb_unregister(b);
}
END_TEST

START_TEST(test_slot_table_full)
{
	static struct vgpu_arb_slot *s[VGPU_ARB_MAX_SLOTS];
	struct vgpu_arb_domain d = { .gpu = -1 };
	struct vgpu_arb_slot *extra = NULL;

	g_arb = open_region(&g_cfg);
	for (uint32_t i = 0; i < VGPU_ARB_MAX_SLOTS; i++) {
		d.domid = i + 1;
		ck_assert_int_eq(vgpu_arb_register(g_arb, &d, &s[i]), 0);
	}
	d.domid = 999;
	ck_assert_int_eq(vgpu_arb_register(g_arb, &d, &extra), -ENOSPC);
	vgpu_arb_unregister(s[7]);
	ck_assert_int_eq(vgpu_arb_register(g_arb, &d, &extra), 0);
	s[7] = extra;
	for (uint32_t i = 0; i < VGPU_ARB_MAX_SLOTS; i++)
		vgpu_arb_unregister(s[i]);
}
END_TEST

/* ------------------------------------------------------ order of service */

struct waiter {
	struct vgpu_arb_slot *slot;
	uint32_t id;
	pthread_t thr;
	int rc;
};

static pthread_mutex_t order_lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t order[32];
static unsigned int norder;

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;

	w->rc = vgpu_arb_acquire(w->slot, 60 * SEC);
	if (w->rc)
		return NULL;
	pthread_mutex_lock(&order_lock);
	order[norder++] = w->id;
	pthread_mutex_unlock(&order_lock);
	w->rc = vgpu_arb_release(w->slot, 1000);
	return NULL;
}

/*
 * One turn: `holder` takes it, then domains ids[] (priorities prio[]) queue
 * in that order, then the holder lets go: the order of service must be want[].
 */
static void check_order(unsigned int n, const uint32_t *ids, const uint32_t *prio,
			const uint32_t *want)
{
	struct vgpu_arb_slot *holder = reg(100, VGPUIF_PRIO_HIGH);
	struct waiter w[16];

	norder = 0;
	ck_assert_int_eq(vgpu_arb_acquire(holder, 0), 0);
	for (unsigned int i = 0; i < n; i++) {
		w[i].slot = reg(ids[i], prio[i]);
		w[i].id = ids[i];
		w[i].rc = -1;
		ck_assert_int_eq(pthread_create(&w[i].thr, NULL, waiter_main, &w[i]), 0);
		wait_queued(ids[i], 1);
	}
	ck_assert_uint_eq(snap()->gpu[0].waiting, n);
	ck_assert_int_eq(vgpu_arb_release(holder, 0), 0);
	for (unsigned int i = 0; i < n; i++) {
		pthread_join(w[i].thr, NULL);
		ck_assert_int_eq(w[i].rc, 0);
	}
	ck_assert_uint_eq(norder, n);
	for (unsigned int i = 0; i < n; i++)
		ck_assert_msg(order[i] == want[i], "position %u: domain %u, want %u",
			      i, order[i], want[i]);
	for (unsigned int i = 0; i < n; i++)
		vgpu_arb_unregister(w[i].slot);
	vgpu_arb_unregister(holder);
}

#define H VGPUIF_PRIO_HIGH
#define M VGPUIF_PRIO_MEDIUM
#define L VGPUIF_PRIO_LOW

START_TEST(test_order_by_class)
{
	static const uint32_t ids[] = { 1, 2, 3 }, prio[] = { L, M, H };
	static const uint32_t want[] = { 3, 2, 1 };

	g_cfg.aging_ns = 0;
	g_arb = open_region(&g_cfg);
	check_order(3, ids, prio, want);
}
END_TEST

START_TEST(test_fifo_within_class)
{
	static const uint32_t ids[] = { 5, 3, 9, 1 }, prio[] = { L, L, L, L };
	static const uint32_t want[] = { 5, 3, 9, 1 };

	g_cfg.aging_ns = 0;
	g_arb = open_region(&g_cfg);
	check_order(4, ids, prio, want);
}
END_TEST

START_TEST(test_order_mixed)
{
	static const uint32_t ids[] = { 1, 2, 3, 4, 5, 6 };
	static const uint32_t prio[] = { L, H, L, H, M, M };
	static const uint32_t want[] = { 2, 4, 5, 6, 1, 3 };

	g_cfg.aging_ns = 0;
	g_arb = open_region(&g_cfg);
	check_order(6, ids, prio, want);
}
END_TEST

/* The test's clock, in ns, for aging and share windows. */
static uint64_t fake_now;
static uint64_t fake_clock(void *arg)
{
	(void)arg;
	return __atomic_load_n(&fake_now, __ATOMIC_SEQ_CST);
}

/*
 * Aging, on the test's clock (aging_ns = 1 s). Row: when (in aging periods)
 * each of L1, M1, H1 queues, the clock at release, the order of service.
 */
START_TEST(test_aging)
{
	static const struct {
		const char *what;
		uint64_t aging_ns;
		uint64_t at[3];      /* enqueue times of L1, M1, H1 */
		uint64_t release;
		uint32_t want[3];
		uint64_t l_aged;
	} rows[] = {
		{ "no aging",         0,   { 0, 0, 0 }, 10 * SEC, { 3, 2, 1 }, 0 },
		{ "too young",        SEC, { 0, 0, 0 }, SEC - 1,  { 3, 2, 1 }, 0 },
		/* L1 waited 1 period: medium, ahead of M1 (FIFO) but not H1 */
		{ "low to medium",    SEC, { 0, SEC, SEC }, SEC,  { 3, 1, 2 }, 1 },
		/* L1 waited 2 periods: high and first; M1 1 period: high too */
		{ "low to high",      SEC, { 0, SEC, SEC }, 2 * SEC, { 1, 2, 3 }, 1 },
		/* all waited long: plain FIFO */
		{ "everyone aged",    SEC, { 0, 0, 0 }, 5 * SEC, { 1, 2, 3 }, 1 },
	};
	static const uint32_t ids[] = { 1, 2, 3 }, prio[] = { L, M, H };

	for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		struct vgpu_arb_slot *holder;
		struct waiter w[3];

		region_name();
		g_cfg.aging_ns = rows[r].aging_ns;
		g_arb = open_region(&g_cfg);
		vgpu_arb_debug_set_clock(g_arb, fake_clock, NULL);
		fake_now = 0;
		norder = 0;
		holder = reg(100, H);
		ck_assert_int_eq(vgpu_arb_acquire(holder, 0), 0);
		for (int i = 0; i < 3; i++) {
			__atomic_store_n(&fake_now, rows[r].at[i], __ATOMIC_SEQ_CST);
			w[i].slot = reg(ids[i], prio[i]);
			w[i].id = ids[i];
			ck_assert_int_eq(pthread_create(&w[i].thr, NULL, waiter_main, &w[i]), 0);
			wait_queued(ids[i], 1);
		}
		__atomic_store_n(&fake_now, rows[r].release, __ATOMIC_SEQ_CST);
		ck_assert_int_eq(vgpu_arb_release(holder, 0), 0);
		for (int i = 0; i < 3; i++) {
			pthread_join(w[i].thr, NULL);
			ck_assert_int_eq(w[i].rc, 0);
		}
		for (int i = 0; i < 3; i++)
			ck_assert_msg(order[i] == rows[r].want[i],
				      "row %zu (%s) position %d: domain %u, want %u",
				      r, rows[r].what, i, order[i], rows[r].want[i]);
		ck_assert_msg(dom_info(snap(), 1)->aged == rows[r].l_aged,
			      "row %zu (%s): aged %llu", r, rows[r].what,
			      (unsigned long long)dom_info(snap(), 1)->aged);
		for (int i = 0; i < 3; i++)
			vgpu_arb_unregister(w[i].slot);
		vgpu_arb_unregister(holder);
		vgpu_arb_close(g_arb);
		g_arb = NULL;
		vgpu_arb_unlink(g_name);
	}
}
END_TEST

/* A domain over its GPU-time share yields to one that is not. */
START_TEST(test_share)
{
	struct vgpu_arb_domain da = { .domid = 1, .priority = H, .gpu = -1,
				      .gpu_share_pct = 10 };
	struct vgpu_arb_slot *a, *b, *holder;
	struct waiter w[2];

	g_cfg.aging_ns = 0;
	g_cfg.share_window_ns = SEC;
	g_arb = open_region(&g_cfg);
	vgpu_arb_debug_set_clock(g_arb, fake_clock, NULL);
	fake_now = 0;
	ck_assert_int_eq(vgpu_arb_register(g_arb, &da, &a), 0);
	b = reg(2, L);
	holder = reg(100, H);
	/* A uses 200 ms of a 1 s window: over 10 %. */
	ck_assert_int_eq(vgpu_arb_acquire(a, 0), 0);
	ck_assert_int_eq(vgpu_arb_release(a, 200 * MS), 0);

	for (int round = 0; round < 2; round++) {
		norder = 0;
		/* round 1: a new window, A is under its share again */
		__atomic_store_n(&fake_now, round ? 3 * SEC : 300 * MS, __ATOMIC_SEQ_CST);
		ck_assert_int_eq(vgpu_arb_acquire(holder, 0), 0);
		w[0] = (struct waiter){ .slot = a, .id = 1 };
		w[1] = (struct waiter){ .slot = b, .id = 2 };
		for (int i = 0; i < 2; i++) {
			ck_assert_int_eq(pthread_create(&w[i].thr, NULL, waiter_main, &w[i]), 0);
			wait_queued(w[i].id, 1);
		}
		ck_assert_int_eq(vgpu_arb_release(holder, 0), 0);
		for (int i = 0; i < 2; i++) {
			pthread_join(w[i].thr, NULL);
			ck_assert_int_eq(w[i].rc, 0);
		}
		if (round == 0) {
			ck_assert_uint_eq(order[0], 2);  /* low B first: A over share */
			ck_assert_uint_eq(order[1], 1);  /* work-conserving */
		} else {
			ck_assert_uint_eq(order[0], 1);
			ck_assert_uint_eq(order[1], 2);
		}
	}
	vgpu_arb_unregister(a);
	vgpu_arb_unregister(b);
	vgpu_arb_unregister(holder);
}
END_TEST

/*
 * The executor's yield hint: a domain below high is told when one of a
 * higher class uses its GPU (holds a turn, holds requests, or was seen
 * within the window), and never about lower classes or other GPUs.
 */
START_TEST(test_higher_active)
{
	struct vgpu_arb_slot *sl[4];
	static const uint32_t prio[4] = { L, M, H, H };
	static const int32_t gpu[4] = { 0, 0, 0, 1 };
	struct vgpu_arb_slot *l, *m, *h, *h1;

	g_cfg.ngpus = 2;
	g_arb = open_region(&g_cfg);
	vgpu_arb_debug_set_clock(g_arb, fake_clock, NULL);
	fake_now = 0;
	for (int i = 0; i < 4; i++) {
		struct vgpu_arb_domain d = { .domid = (uint32_t)i + 1,
					     .priority = prio[i], .gpu = gpu[i] };

		ck_assert_int_eq(vgpu_arb_register(g_arb, &d, &sl[i]), 0);
	}
	l = sl[0];
	m = sl[1];
	h = sl[2];
	h1 = sl[3];             /* high, on the other GPU */
	/* all just registered (seen at 0): within a 2 ms window at 1 ms */
	__atomic_store_n(&fake_now, 1 * MS, __ATOMIC_SEQ_CST);
	ck_assert(vgpu_arb_higher_active(l, 2 * MS));
	ck_assert(vgpu_arb_higher_active(m, 2 * MS));
	ck_assert(!vgpu_arb_higher_active(h, 2 * MS));  /* nobody is higher */
	/* all idle for 10 ms: nothing */
	__atomic_store_n(&fake_now, 10 * MS, __ATOMIC_SEQ_CST);
	ck_assert(!vgpu_arb_higher_active(l, 2 * MS));
	ck_assert(!vgpu_arb_higher_active(m, 2 * MS));
	/* the other GPU's high domain busy: not ours */
	vgpu_arb_set_queue(h1, 3);
	ck_assert(!vgpu_arb_higher_active(l, 2 * MS));
	/* the medium one holds requests: the low one yields, medium not */
	vgpu_arb_set_queue(m, 1);
	ck_assert(vgpu_arb_higher_active(l, 2 * MS));
	ck_assert(!vgpu_arb_higher_active(m, 2 * MS));
	vgpu_arb_set_queue(m, 0);
	/* ours holds a turn: both below it yield, also later */
	ck_assert_int_eq(vgpu_arb_acquire(h, 0), 0);
	__atomic_store_n(&fake_now, 30 * MS, __ATOMIC_SEQ_CST);
	ck_assert(vgpu_arb_higher_active(l, 2 * MS));
	ck_assert(vgpu_arb_higher_active(m, 2 * MS));
	ck_assert_int_eq(vgpu_arb_release(h, 0), 0);
	/* released at 30 ms: seen 1 ms ago, then 5 ms ago */
	__atomic_store_n(&fake_now, 31 * MS, __ATOMIC_SEQ_CST);
	ck_assert(vgpu_arb_higher_active(l, 2 * MS));
	__atomic_store_n(&fake_now, 35 * MS, __ATOMIC_SEQ_CST);
	ck_assert(!vgpu_arb_higher_active(l, 2 * MS));
	for (int i = 3; i >= 0; i--)
		vgpu_arb_unregister(sl[i]);
}
END_TEST


/*
 * The low gap (tokens 2, one reserved for high, gap 5 ms): while the high
 * domain is active (holds a turn, holds requests, or was seen within 2 ms)
 * the low domains together get one turn per gap; otherwise the gap does
 * not apply. One row per step on the fake clock: who, what, the answer.
 */
enum { G_ACQ, G_REL, G_QUEUE };

START_TEST(test_low_gap)
{
	static const struct {
		uint64_t at;         /* fake clock, ms */
		int who;             /* 0, 1: low domains; 2: the high one */
		int what;
		int arg;             /* G_QUEUE: requests held */
		int rc;              /* G_ACQ: acquire(0)'s answer */
	} steps[] = {
		/* high idle (seen at 0 ms, the window passed): no gap */
		{ 100, 0, G_ACQ, 0, 0 },
		{ 100, 0, G_REL, 0, 0 },
		{ 100, 1, G_ACQ, 0, 0 },
		{ 100, 1, G_REL, 0, 0 },
		/* high holds a turn: the last low turn was at 100 ms */
		{ 101, 2, G_ACQ, 0, 0 },
		{ 101, 0, G_ACQ, 0, -ETIMEDOUT },
		{ 104, 1, G_ACQ, 0, -ETIMEDOUT },
		{ 105, 1, G_ACQ, 0, 0 },          /* the gap is over   */
		{ 105, 1, G_REL, 0, 0 },
		{ 106, 0, G_ACQ, 0, -ETIMEDOUT }, /* the next gap     */
		/* high lets go at 107: still active (seen) until 109 */
		{ 107, 2, G_REL, 0, 0 },
		{ 108, 0, G_ACQ, 0, -ETIMEDOUT },
		{ 109, 0, G_ACQ, 0, 0 },          /* high idle: no gap */
		{ 109, 0, G_REL, 0, 0 },
		/* high holds requests in its backend: active */
		{ 120, 2, G_QUEUE, 3, 0 },
		{ 120, 1, G_ACQ, 0, 0 },          /* 11 ms since the last */
		{ 120, 1, G_REL, 0, 0 },
		{ 121, 0, G_ACQ, 0, -ETIMEDOUT },
		{ 124, 2, G_QUEUE, 0, 0 },        /* last seen at 107   */
		{ 124, 0, G_ACQ, 0, 0 },          /* idle: no gap       */
		{ 124, 0, G_REL, 0, 0 },
		/* the high domain itself is never gated */
		{ 126, 2, G_ACQ, 0, 0 },
		{ 126, 0, G_ACQ, 0, -ETIMEDOUT }, /* 2 ms since 124    */
		{ 126, 2, G_REL, 0, 0 },
		{ 126, 2, G_ACQ, 0, 0 },
		{ 126, 2, G_REL, 0, 0 },
	};
	struct vgpu_arb_slot *sl[3];
	struct waiter w;

	g_cfg.tokens = 2;
	g_cfg.high_reserve = 1;
	g_cfg.low_gap_ns = 5 * MS;
	g_arb = open_region(&g_cfg);
	vgpu_arb_debug_set_clock(g_arb, fake_clock, NULL);
	__atomic_store_n(&fake_now, 0, __ATOMIC_SEQ_CST);
	sl[0] = reg(1, L);
	sl[1] = reg(2, M);
	sl[2] = reg(3, H);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		int rc = 0;

		__atomic_store_n(&fake_now, steps[i].at * MS, __ATOMIC_SEQ_CST);
		if (steps[i].what == G_ACQ)
			rc = vgpu_arb_acquire(sl[steps[i].who], 0);
		else if (steps[i].what == G_REL)
			rc = vgpu_arb_release(sl[steps[i].who], 0);
		else
			vgpu_arb_set_queue(sl[steps[i].who], (uint32_t)steps[i].arg);
		ck_assert_msg(rc == steps[i].rc, "step %zu (at %llu ms, domain %d): "
			      "%d, want %d", i, (unsigned long long)steps[i].at,
			      steps[i].who, rc, steps[i].rc);
	}
	/*
	 * A waiter held back by the gap gets its turn when the gap ends
	 * (it naps until then), with nobody releasing anything.
	 */
	__atomic_store_n(&fake_now, 200 * MS, __ATOMIC_SEQ_CST);
	ck_assert_int_eq(vgpu_arb_acquire(sl[1], 0), 0);       /* low, at 200 */
	ck_assert_int_eq(vgpu_arb_release(sl[1], 0), 0);
	ck_assert_int_eq(vgpu_arb_acquire(sl[2], 0), 0);       /* high holds  */
	w = (struct waiter){ .slot = sl[0], .id = 1, .rc = 1 };
	ck_assert_int_eq(pthread_create(&w.thr, NULL, waiter_main, &w), 0);
	wait_queued(1, 1);
	__atomic_store_n(&fake_now, 206 * MS, __ATOMIC_SEQ_CST);
	pthread_join(w.thr, NULL);
	ck_assert_int_eq(w.rc, 0);
	ck_assert_uint_ge(snap()->gpu[0].low_gated, 1);
	ck_assert_int_eq(vgpu_arb_release(sl[2], 0), 0);
	for (int i = 2; i >= 0; i--)
		vgpu_arb_unregister(sl[i]);
}
END_TEST

START_TEST(test_tokens)
{
	struct vgpu_arb_slot *a, *b, *c;

	g_cfg.tokens = 2;
	g_cfg.high_reserve = 0;
	g_arb = open_region(&g_cfg);
	a = reg(1, L);
	b = reg(2, L);
	c = reg(3, H);
	ck_assert_int_eq(vgpu_arb_acquire(a, 0), 0);
	ck_assert_int_eq(vgpu_arb_acquire(b, 0), 0);
	ck_assert_uint_eq(snap()->gpu[0].in_use, 2);
	/* Both turns held: even high waits, and a timeout leaves no ticket. */
	ck_assert_int_eq(vgpu_arb_acquire(c, 10 * MS), -ETIMEDOUT);
	ck_assert_uint_eq(snap()->gpu[0].waiting, 0);
	ck_assert_uint_eq(dom_info(snap(), 3)->waiting, 0);
	ck_assert_int_eq(vgpu_arb_release(a, 5), 0);
	ck_assert_int_eq(vgpu_arb_acquire(c, 0), 0);
	/* One domain may hold several turns. */
	ck_assert_int_eq(vgpu_arb_release(b, 5), 0);
	ck_assert_int_eq(vgpu_arb_acquire(c, 0), 0);
	ck_assert_uint_eq(dom_info(snap(), 3)->inflight, 2);
	ck_assert_int_eq(vgpu_arb_release(c, 0), 0);
	ck_assert_int_eq(vgpu_arb_release(c, 0), 0);
	ck_assert_int_eq(vgpu_arb_release(c, 0), -EINVAL);
	ck_assert_uint_eq(snap()->gpu[0].in_use, 0);
	/* Unregister gives back what a slot still holds. */
	ck_assert_int_eq(vgpu_arb_acquire(a, 0), 0);
	vgpu_arb_unregister(a);
	ck_assert_uint_eq(snap()->gpu[0].in_use, 0);
	vgpu_arb_unregister(b);
	vgpu_arb_unregister(c);
}
END_TEST

/* cancel() ends a wait (backend shutdown) and leaves no ticket. */
START_TEST(test_cancel)
{
	struct vgpu_arb_slot *holder, *w;
	struct waiter wt;

	g_arb = open_region(&g_cfg);
	holder = reg(1, H);
	w = reg(2, L);
	ck_assert_int_eq(vgpu_arb_acquire(holder, 0), 0);
	wt = (struct waiter){ .slot = w, .id = 2, .rc = 1 };
	ck_assert_int_eq(pthread_create(&wt.thr, NULL, waiter_main, &wt), 0);
	wait_queued(2, 1);
	vgpu_arb_cancel(w);
	pthread_join(wt.thr, NULL);
	ck_assert_int_eq(wt.rc, -ECANCELED);
	ck_assert_uint_eq(snap()->gpu[0].waiting, 0);
	ck_assert_int_eq(vgpu_arb_acquire(w, 0), -ECANCELED);  /* sticky */
	ck_assert_int_eq(vgpu_arb_release(holder, 0), 0);
	vgpu_arb_unregister(holder);
	vgpu_arb_unregister(w);
}
END_TEST

/*
 * Two turns, one reserved for the high class: low domains share one turn,
 * a high domain finds the other free.
 */
START_TEST(test_high_reserve)
{
	struct vgpu_arb_slot *a, *b, *h, *h2;

	g_cfg.tokens = 2;
	g_cfg.high_reserve = 1;
	g_arb = open_region(&g_cfg);
	a = reg(1, L);
	b = reg(2, M);
	h = reg(3, H);
	h2 = reg(4, H);
	ck_assert_int_eq(vgpu_arb_acquire(a, 0), 0);
	ck_assert_int_eq(vgpu_arb_acquire(b, 0), -ETIMEDOUT);  /* the reserve */
	ck_assert_int_eq(vgpu_arb_acquire(h, 0), 0);           /* no wait */
	ck_assert_int_eq(vgpu_arb_acquire(h2, 0), -ETIMEDOUT); /* all taken */
	ck_assert_uint_eq(snap()->gpu[0].in_use, 2);
	ck_assert_int_eq(vgpu_arb_release(a, 0), 0);
	ck_assert_int_eq(vgpu_arb_acquire(b, 0), 0);           /* low share */
	ck_assert_int_eq(vgpu_arb_release(h, 0), 0);
	ck_assert_int_eq(vgpu_arb_acquire(a, 0), -ETIMEDOUT);  /* reserve again */
	ck_assert_int_eq(vgpu_arb_acquire(h2, 0), 0);
	/* Two high domains may hold both turns. */
	ck_assert_int_eq(vgpu_arb_release(b, 0), 0);
	ck_assert_int_eq(vgpu_arb_acquire(h, 0), 0);
	ck_assert_uint_eq(snap()->gpu[0].in_use, 2);
	ck_assert_int_eq(vgpu_arb_release(h, 0), 0);
	ck_assert_int_eq(vgpu_arb_release(h2, 0), 0);
	vgpu_arb_unregister(a);
	vgpu_arb_unregister(b);
	vgpu_arb_unregister(h);
	vgpu_arb_unregister(h2);
}
END_TEST

/* A domain alone may hold `burst` turns; a newcomer waits for `tokens`. */
START_TEST(test_burst)
{
	struct vgpu_arb_slot *a, *b;
	struct waiter wb;

	g_cfg.tokens = 1;
	g_cfg.burst = 3;
	g_arb = open_region(&g_cfg);
	a = reg(1, L);
	b = reg(2, H);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(vgpu_arb_acquire(a, 0), 0);
	ck_assert_int_eq(vgpu_arb_acquire(a, 0), -ETIMEDOUT);   /* burst used */
	ck_assert_uint_eq(snap()->gpu[0].in_use, 3);
	ck_assert_int_eq(vgpu_arb_acquire(b, 0), -ETIMEDOUT);   /* not alone */
	wb = (struct waiter){ .slot = b, .id = 2, .rc = 1 };
	norder = 0;
	ck_assert_int_eq(pthread_create(&wb.thr, NULL, waiter_main, &wb), 0);
	wait_queued(2, 1);
	/* b waits: a may not burst again, and 2 in use is still >= 1 turn */
	ck_assert_int_eq(vgpu_arb_release(a, 0), 0);
	ck_assert_int_eq(vgpu_arb_acquire(a, 0), -ETIMEDOUT);
	ck_assert_int_eq(vgpu_arb_release(a, 0), 0);
	ck_assert_uint_eq(dom_info(snap(), 2)->waiting, 1);
	ck_assert_uint_eq(norder, 0);
	ck_assert_int_eq(vgpu_arb_release(a, 0), 0);
	pthread_join(wb.thr, NULL);
	ck_assert_int_eq(wb.rc, 0);
	ck_assert_uint_eq(norder, 1);
	vgpu_arb_unregister(a);
	vgpu_arb_unregister(b);
}
END_TEST

START_TEST(test_accounting)
{
	struct vgpu_arb_slot *a, *b;
	const struct vgpu_arb_domain_info *d;

	g_arb = open_region(&g_cfg);
	a = reg(7, M);
	b = reg(8, L);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(vgpu_arb_acquire(a, 0), 0);
		ck_assert_int_eq(vgpu_arb_release(a, 1500), 0);
	}
	vgpu_arb_count(a, 10, 2);
	vgpu_arb_count(a, 5, 0);
	vgpu_arb_count(b, 1, 1);
	d = dom_info(snap(), 7);
	ck_assert_uint_eq(d->gpu_ns, 4500);
	ck_assert_uint_eq(d->grants, 3);
	ck_assert_uint_eq(d->requests, 15);
	ck_assert_uint_eq(d->errors, 2);
	ck_assert_uint_eq(d->priority, M);
	ck_assert_int_eq(d->pid, getpid());
	ck_assert_uint_eq(d->alive, 1);
	d = dom_info(snap(), 8);
	ck_assert_uint_eq(d->requests, 1);
	ck_assert_uint_eq(d->gpu_ns, 0);
	ck_assert_uint_eq(snap()->gpu[0].grants, 3);
	ck_assert_uint_eq(snap()->ndomains, 2);
	vgpu_arb_unregister(a);
	vgpu_arb_unregister(b);
}
END_TEST

/* -------------------------------------------------------------- quotas */

START_TEST(test_quota_table)
{
	static const struct {
		int op;            /* 0 reserve, 1 release, 2 set quota */
		uint64_t bytes;
		int rc;
		uint64_t used_after;
	} rows[] = {
		{ 0, 600, 0, 600 },
		{ 0, 400, 0, 1000 },
		{ 0, 1, VGPUIF_RSP_EDQUOT, 1000 },          /* exactly at quota */
		{ 1, 500, 0, 500 },
		{ 0, 501, VGPUIF_RSP_EDQUOT, 500 },
		{ 0, 500, 0, 1000 },
		{ 0, UINT64_MAX, VGPUIF_RSP_EDQUOT, 1000 },
		{ 0, 0, VGPUIF_RSP_EINVAL, 1000 },
		{ 1, 2000, -EINVAL, 0 },                    /* more than used */
		{ 2, 0, 0, 0 },                             /* no quota */
		{ 0, 1ull << 40, 0, 1ull << 40 },
		{ 0, UINT64_MAX, VGPUIF_RSP_EDQUOT, 1ull << 40 }, /* overflow */
		{ 2, 100, 0, 1ull << 40 },                  /* lowered below use */
		{ 0, 1, VGPUIF_RSP_EDQUOT, 1ull << 40 },
		{ 1, 1ull << 40, 0, 0 },
		{ 0, 100, 0, 100 },
	};
	struct vgpu_arb_domain d = { .domid = 4, .gpu = -1, .mem_quota = 1000 };
	struct vgpu_arb_slot *s;
	uint64_t refusals = 0;

	g_arb = open_region(&g_cfg);
	ck_assert_int_eq(vgpu_arb_register(g_arb, &d, &s), 0);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int rc;

		if (rows[i].op == 0)
			rc = vgpu_arb_mem_reserve(s, rows[i].bytes);
		else if (rows[i].op == 1)
			rc = vgpu_arb_mem_release(s, rows[i].bytes);
		else
			rc = vgpu_arb_set_quota(s, rows[i].bytes);
		if (rc == VGPUIF_RSP_EDQUOT)
			refusals++;
		ck_assert_msg(rc == rows[i].rc, "row %zu: %d, want %d", i, rc, rows[i].rc);
		ck_assert_msg(dom_info(snap(), 4)->mem_used == rows[i].used_after,
			      "row %zu: used %llu", i,
			      (unsigned long long)dom_info(snap(), 4)->mem_used);
	}
	ck_assert_uint_eq(dom_info(snap(), 4)->quota_refusals, refusals);
	ck_assert_uint_eq(dom_info(snap(), 4)->mem_peak, 1ull << 40);
	ck_assert_uint_eq(dom_info(snap(), 4)->mem_quota, 100);
	vgpu_arb_unregister(s);
}
END_TEST

/* Racing reservations never pass the quota together. */
struct mem_racer { struct vgpu_arb_slot *s; int ok; };
static void *mem_race_main(void *arg)
{
	struct mem_racer *r = arg;

	for (int i = 0; i < 1000; i++)
		if (vgpu_arb_mem_reserve(r->s, 1) == 0)
			r->ok++;
	return NULL;
}

START_TEST(test_quota_race)
{
	struct vgpu_arb_domain d = { .domid = 4, .gpu = -1, .mem_quota = 1500 };
	struct mem_racer r[4];
	pthread_t t[4];
	struct vgpu_arb_slot *s;
	int total = 0;

	g_arb = open_region(&g_cfg);
	ck_assert_int_eq(vgpu_arb_register(g_arb, &d, &s), 0);
	for (int i = 0; i < 4; i++) {
		r[i] = (struct mem_racer){ .s = s };
		pthread_create(&t[i], NULL, mem_race_main, &r[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		total += r[i].ok;
	}
	ck_assert_int_eq(total, 1500);
	ck_assert_uint_eq(dom_info(snap(), 4)->mem_used, 1500);
	ck_assert_uint_eq(dom_info(snap(), 4)->quota_refusals, 2500);
	vgpu_arb_unregister(s);
}
END_TEST

/* ------------------------------------------------ backends that die */

enum child_act { HOLD_LOCK, HOLD_TURN, WAIT_TURN, HOLD_BOTH, EXIT_REGISTERED };

/*
 * A child process plays a backend: opens the region, registers `domid`,
 * does `act`, tells the parent through a pipe, then sleeps until killed.
 */
static pid_t spawn_backend(uint32_t domid, uint32_t prio, enum child_act act)
{
	int p[2];
	pid_t pid;
	char c;

	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct vgpu_arb_domain d = { .domid = domid, .priority = prio,
					     .gpu = -1, .mem_quota = 1 << 20 };
		struct vgpu_arb_slot *s;
		struct vgpu_arb *arb;
		const char *why;
		int rc;

		close(p[0]);
		if (vgpu_arb_open(&arb, g_name, &g_cfg, 0, &why) ||
		    vgpu_arb_register(arb, &d, &s))
			_exit(2);
		vgpu_arb_mem_reserve(s, 4096);
		switch (act) {
		case HOLD_LOCK:
			rc = vgpu_arb_debug_hold_lock(arb);
			break;
		case HOLD_TURN:
			rc = vgpu_arb_acquire(s, 0);
			break;
		case HOLD_BOTH:
			rc = vgpu_arb_acquire(s, 0);
			if (!rc)
				rc = vgpu_arb_debug_hold_lock(arb);
			break;
		case WAIT_TURN:
			c = 'w';
			if (write(p[1], &c, 1) != 1)
				_exit(3);
			vgpu_arb_acquire(s, VGPU_ARB_FOREVER);
			_exit(4);  /* never: the parent holds the turn */
		case EXIT_REGISTERED:
			rc = 0;
			break;
		default:
			rc = -1;
		}
		c = rc ? 'e' : 'k';
		if (write(p[1], &c, 1) != 1)
			_exit(3);
		if (act == EXIT_REGISTERED)
			_exit(0);  /* no unregister: as if it crashed */
		for (;;)
			pause();
	}
	close(p[1]);
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	ck_assert_msg(c == 'k' || c == 'w', "child failed to set up (%c)", c);
	close(p[0]);
	return pid;
}

static void kill9(pid_t pid, int reap)
{
	int st;

	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	if (reap) {
		ck_assert_int_eq(waitpid(pid, &st, 0), pid);
		ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	}
}

START_TEST(test_crash_holding_lock)
{
	struct vgpu_arb_slot *s;
	struct vgpu_arb_snapshot *sn;
	pid_t pid;

	g_arb = open_region(&g_cfg);
	pid = spawn_backend(5, L, HOLD_LOCK);
	kill9(pid, 1);
	/* The next locker repairs; the dead backend's slot is gone. */
	s = reg(6, L);
	sn = snap();
	ck_assert_uint_eq(sn->repairs, 1);
	ck_assert_ptr_null(dom_info(sn, 5));
	ck_assert_uint_ge(sn->reaped, 1);
	ck_assert_int_eq(vgpu_arb_acquire(s, 0), 0);
	ck_assert_int_eq(vgpu_arb_release(s, 0), 0);
	/* domid 5 can come back (a restarted backend) */
	vgpu_arb_unregister(reg(5, L));
	vgpu_arb_unregister(s);
}
END_TEST

/* Killed while holding the turn: a waiter gets it (zombie not reaped yet). */
START_TEST(test_crash_holding_turn)
{
	struct vgpu_arb_slot *s;
	pid_t pid;
	int st;

	g_arb = open_region(&g_cfg);
	pid = spawn_backend(5, L, HOLD_TURN);
	s = reg(6, H);
	ck_assert_uint_eq(snap()->gpu[0].in_use, 1);
	ck_assert_int_eq(vgpu_arb_acquire(s, 0), -ETIMEDOUT);
	kill9(pid, 0);    /* a zombie until waitpid below */
	ck_assert_int_eq(vgpu_arb_acquire(s, 60 * SEC), 0);
	ck_assert_ptr_null(dom_info(snap(), 5));
	ck_assert_uint_eq(snap()->gpu[0].in_use, 1);   /* ours */
	ck_assert_uint_eq(snap()->repairs, 0);
	ck_assert_int_eq(vgpu_arb_release(s, 0), 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	vgpu_arb_unregister(s);
}
END_TEST

START_TEST(test_crash_holding_both)
{
	struct vgpu_arb_slot *s;
	pid_t pid;

	g_cfg.tokens = 1;
	g_arb = open_region(&g_cfg);
	pid = spawn_backend(5, L, HOLD_BOTH);
	kill9(pid, 1);
	s = reg(6, L);
	ck_assert_int_eq(vgpu_arb_acquire(s, 60 * SEC), 0);
	ck_assert_uint_eq(snap()->repairs, 1);
	ck_assert_uint_eq(snap()->gpu[0].in_use, 1);
	ck_assert_int_eq(vgpu_arb_release(s, 0), 0);
	vgpu_arb_unregister(s);
}
END_TEST

/* A dead waiter ahead in the queue does not block the ones behind it. */
START_TEST(test_crash_waiting)
{
	struct vgpu_arb_slot *holder, *low;
	pid_t pid;

	g_arb = open_region(&g_cfg);
	holder = reg(1, L);
	low = reg(2, L);
	ck_assert_int_eq(vgpu_arb_acquire(holder, 0), 0);
	pid = spawn_backend(5, H, WAIT_TURN);
	wait_queued(5, 1);
	kill9(pid, 1);
	ck_assert_int_eq(vgpu_arb_release(holder, 0), 0);
	ck_assert_int_eq(vgpu_arb_acquire(low, 60 * SEC), 0);
	ck_assert_ptr_null(dom_info(snap(), 5));
	ck_assert_uint_eq(snap()->gpu[0].waiting, 0);
	ck_assert_int_eq(vgpu_arb_release(low, 0), 0);
	vgpu_arb_unregister(holder);
	vgpu_arb_unregister(low);
}
END_TEST

/* A backend that exited without unregistering: its domid is free again. */
START_TEST(test_dead_slot_takeover)
{
	struct vgpu_arb_slot *s;
	pid_t pid;

	g_arb = open_region(&g_cfg);
	pid = spawn_backend(5, L, EXIT_REGISTERED);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	ck_assert_ptr_nonnull(dom_info(snap(), 5));
	ck_assert_uint_eq(dom_info(snap(), 5)->alive, 0);
	ck_assert_uint_eq(dom_info(snap(), 5)->mem_used, 4096);
	s = reg(5, H);
	ck_assert_uint_eq(dom_info(snap(), 5)->alive, 1);
	ck_assert_uint_eq(dom_info(snap(), 5)->mem_used, 0);
	ck_assert_uint_eq(snap()->ndomains, 1);
	vgpu_arb_unregister(s);
}
END_TEST

/* --------------------------------------------------------------- runner */

static Suite *arbiter_suite(void)
{
	Suite *s = suite_create("arbiter");
	TCase *tc;

	tc = tcase_create("config");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_config_bad);
	tcase_add_test(tc, test_pools_parse);
	tcase_add_test(tc, test_priority_parse);
	tcase_add_test(tc, test_env);
	tcase_add_test(tc, test_region_names);
	tcase_add_test(tc, test_config_first_wins);
	tcase_add_test(tc, test_region_foreign);
	suite_add_tcase(s, tc);

	tc = tcase_create("register");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_register_bad);
	tcase_add_test(tc, test_pool_placement);
	tcase_add_test(tc, test_pools_unconfigured);
	tcase_add_test(tc, test_slot_table_full);
	suite_add_tcase(s, tc);

	tc = tcase_create("order");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_order_by_class);
	tcase_add_test(tc, test_fifo_within_class);
	tcase_add_test(tc, test_order_mixed);
	tcase_add_test(tc, test_aging);
	tcase_add_test(tc, test_share);
	tcase_add_test(tc, test_tokens);
	tcase_add_test(tc, test_higher_active);
	tcase_add_test(tc, test_low_gap);
	tcase_add_test(tc, test_cancel);
	tcase_add_test(tc, test_burst);
	tcase_add_test(tc, test_high_reserve);
	tcase_add_test(tc, test_accounting);
	suite_add_tcase(s, tc);

	tc = tcase_create("quota");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_quota_table);
	tcase_add_test(tc, test_quota_race);
	suite_add_tcase(s, tc);

	tc = tcase_create("crash");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_crash_holding_lock);
	tcase_add_test(tc, test_crash_holding_turn);
	tcase_add_test(tc, test_crash_holding_both);
	tcase_add_test(tc, test_crash_waiting);
	tcase_add_test(tc, test_dead_slot_takeover);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(arbiter_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
