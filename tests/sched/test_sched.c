/*
 * test_sched.c - the arbiter with real vgpu-backend processes: several
 * domains over the loopback transport, cpu executor, one private arbiter
 * region, one turn per GPU. The order of service is read from the arbiter
 * (each domain's last_grant), never from timing:
 *
 *   - the test itself takes the only turn (it registers a domain of its own
 *     in the region), lets the backends queue one GPU op each, one after
 *     the other (waiting until the arbiter shows each one queued), then
 *     lets go: service must follow class, then arrival;
 *   - aging: a low op that has waited more than two aging periods goes
 *     before a high op that came later (a sleep gives a lower bound on the
 *     wait, nothing asserts on time);
 *   - mem-quota: a refused allocation, and the arbiter's mirror of memory;
 *   - a backend killed -9 while it holds the turn, or while it waits for
 *     it: the others go on.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "arbiter.h"
#include "tfront.h"

#define TEST_DOMID 32000u   /* the test's own slot in the region */
#define MAXDOM 8

static struct tf_world W;
static struct tf_dom D[MAXDOM];
static char g_region[64];
static struct vgpu_arb *g_arb;

static void set_env(const char *aging_ms)
{
	static int n;

	snprintf(g_region, sizeof(g_region), "vgpu-sched-test-%d-%d", (int)getpid(), n++);
	vgpu_arb_unlink(g_region);
	/* Inherited by every backend this test starts. */
	setenv("VGPU_ARB_NAME", g_region, 1);
	setenv("VGPU_ARB_TOKENS", "1", 1);
	setenv("VGPU_ARB_AGING_MS", aging_ms, 1);
	unsetenv("VGPU_ARB");
	unsetenv("VGPU_ARB_POOLS");
	unsetenv("VGPU_ARB_GPUS");
	unsetenv("VGPU_CPU_GPUS");
}

static void open_region(void)
{
	const char *why = NULL;
	int rc = vgpu_arb_open(&g_arb, g_region, NULL, 0, &why);

	ck_assert_msg(rc == 0, "arbiter region %s: %d (%s)", g_region, rc, why ? why : "");
}

static void setup(void)
{
	tf_backend_path();
	ck_assert_int_eq(tf_world_init(&W), 0);
	memset(D, 0, sizeof(D));
	g_arb = NULL;
	set_env("0");
}

static void teardown(void)
{
	for (int i = 0; i < MAXDOM; i++)
		tf_dom_destroy(&D[i]);
	tf_world_fini(&W);
	if (g_arb)
		vgpu_arb_close(g_arb);
	g_arb = NULL;
	vgpu_arb_unlink(g_region);
}

/* tf_dom_create with the operator's priority, pool and quota in XenStore. */
static void up_pool(struct tf_dom *d, uint32_t domid, const char *prio,
		    uint32_t pool, uint64_t quota, const char *delay_us,
		    uint32_t *ctx);

static void up(struct tf_dom *d, uint32_t domid, const char *prio,
	       uint64_t quota, const char *delay_us, uint32_t *ctx)
{
	up_pool(d, domid, prio, 0, quota, delay_us, ctx);
}

static void up_pool(struct tf_dom *d, uint32_t domid, const char *prio,
		    uint32_t pool, uint64_t quota, const char *delay_us,
		    uint32_t *ctx)
{
	memset(d, 0, sizeof(*d));
	d->tw = &W;
	d->domid = domid;
	d->devid = 0;
	d->ring_gref = -1;
	d->port = -1;
	snprintf(d->log, sizeof(d->log), "%s/backend-%u.log", W.dir, domid);
	snprintf(d->fe, sizeof(d->fe), "/local/domain/%u/device/vgpu/0", domid);
	snprintf(d->be, sizeof(d->be), "/local/domain/0/backend/vgpu/%u/0", domid);
	ck_assert_int_eq(lb_domain_create(W.w, domid), 0);
	ck_assert_int_eq(lb_attach_device(W.w, domid, 0, prio, pool, quota), 0);
	d->xs = lb_xs_open(W.w, domid);
	d->ev = lb_evtchn_open(W.w, domid);
	d->mem = lb_mem_map(W.w, domid, &d->memsz);
	ck_assert(d->xs && d->ev && d->mem);
	d->extra[0] = "--cpu-op-delay-us";
	d->extra[1] = delay_us;
	ck_assert_int_gt(tf_backend_start(d), 0);
	ck_assert_int_eq(tf_wait_be_state(d, 2), 0);
	ck_assert_int_eq(tf_connect(d), 0);
	ck_assert_int_eq(tf_ctx_create(d, ctx), 0);
}

static struct vgpu_arb_snapshot *snap(void)
{
	static struct vgpu_arb_snapshot s;

	ck_assert_int_eq(vgpu_arb_snapshot(g_arb, &s), 0);
	return &s;
}

static const struct vgpu_arb_domain_info *dom(uint32_t domid)
{
	struct vgpu_arb_snapshot *s = snap();

	for (uint32_t i = 0; i < s->ndomains; i++)
		if (s->dom[i].domid == domid)
			return &s->dom[i];
	return NULL;
}

/* Wait (bounded, to turn a hang into a failure) for a domain's state. */
static void wait_dom(uint32_t domid, uint32_t waiting, uint32_t inflight)
{
	for (int i = 0; i < TF_WAIT_MS; i++) {
		const struct vgpu_arb_domain_info *d = dom(domid);

		if (d && d->waiting == waiting && d->inflight == inflight)
			return;
		tf_msleep(1);
	}
	ck_abort_msg("domain %u never showed waiting %u inflight %u", domid,
		     waiting, inflight);
}

static uint64_t submit_sync(struct tf_dom *d, uint32_t ctx)
{
	struct vgpuif_request r;

	memset(&r, 0, sizeof(r));
	r.op = VGPUIF_OP_SYNC;
	r.ctx = ctx;
	return tf_submit(d, &r);
}

static void expect_ok(struct tf_dom *d, uint64_t id)
{
	struct vgpuif_response p;

	ck_assert_int_eq(tf_wait_rsp(d, &p), 0);
	ck_assert_uint_eq(p.id, id);
	ck_assert_msg(p.status == 0, "domain %u: status %d (see %s)", d->domid,
		      p.status, d->log);
}

/*
 * Domains prio[i] (domids 10+i) each queue one SYNC while the test holds
 * the turn, in index order; then the order of service must be want[].
 */
static void run_order(unsigned int n, const char *const *prio, const uint32_t *want)
{
	struct vgpu_arb_domain me = { .domid = TEST_DOMID, .priority = VGPUIF_PRIO_HIGH,
				      .gpu = -1 };
	struct vgpu_arb_slot *slot;
	uint64_t id[MAXDOM], seq[MAXDOM];
	uint32_t ctx[MAXDOM];

	for (unsigned int i = 0; i < n; i++)
		up(&D[i], 10 + i, prio[i], 0, "1000", &ctx[i]);
	open_region();
	ck_assert_int_eq(vgpu_arb_register(g_arb, &me, &slot), 0);
	ck_assert_int_eq(vgpu_arb_acquire(slot, 60ull * 1000000000ull), 0);
	for (unsigned int i = 0; i < n; i++) {
		id[i] = submit_sync(&D[i], ctx[i]);
		wait_dom(10 + i, 1, 0);
		ck_assert_str_eq(vgpu_arb_priority_name(dom(10 + i)->priority), prio[i]);
		ck_assert_uint_eq(dom(10 + i)->queue, 1);  /* the SYNC, unanswered */
	}
	ck_assert_int_eq(vgpu_arb_release(slot, 0), 0);
	for (unsigned int i = 0; i < n; i++)
		expect_ok(&D[i], id[i]);
	for (unsigned int i = 0; i < n; i++) {
		const struct vgpu_arb_domain_info *d = dom(10 + i);
		ck_assert_ptr_nonnull(d);
		ck_assert_uint_eq(d->grants, 1);
		seq[i] = d->last_grant;
	}
	/* want[k] is the domain index served k-th: seq must rise along it. */
	for (unsigned int k = 1; k < n; k++)
		ck_assert_msg(seq[want[k - 1]] < seq[want[k]],
			      "domain %u (%s) was served before domain %u (%s)",
			      10 + want[k], prio[want[k]], 10 + want[k - 1],
			      prio[want[k - 1]]);
	vgpu_arb_unregister(slot);
}

START_TEST(test_order_by_class)
{
	static const char *const prio[] = { "low", "medium", "high" };
	static const uint32_t want[] = { 2, 1, 0 };

	run_order(3, prio, want);
}
END_TEST

START_TEST(test_fifo_within_class)
{
	static const char *const prio[] = { "low", "low", "low", "low" };
	static const uint32_t want[] = { 0, 1, 2, 3 };

	run_order(4, prio, want);
}
END_TEST

START_TEST(test_order_mixed)
{
	static const char *const prio[] = { "low", "high", "medium", "high", "low" };
	static const uint32_t want[] = { 1, 3, 2, 0, 4 };

	run_order(5, prio, want);
}
END_TEST

/* Aging 100 ms: a low op queued > 200 ms ago beats a fresh high one. */
START_TEST(test_aging)
{
	struct vgpu_arb_domain me = { .domid = TEST_DOMID, .priority = VGPUIF_PRIO_HIGH,
				      .gpu = -1 };
	struct vgpu_arb_slot *slot;
	uint64_t idl, idh;
	uint32_t cl, ch;

	set_env("100");
	up(&D[0], 10, "low", 0, "1000", &cl);
	up(&D[1], 11, "high", 0, "1000", &ch);
	open_region();
	ck_assert_int_eq(vgpu_arb_register(g_arb, &me, &slot), 0);
	ck_assert_int_eq(vgpu_arb_acquire(slot, 60ull * 1000000000ull), 0);
	idl = submit_sync(&D[0], cl);
	wait_dom(10, 1, 0);
	tf_msleep(250);   /* the low op has now waited >= 2.5 aging periods */
	idh = submit_sync(&D[1], ch);
	wait_dom(11, 1, 0);
	ck_assert_int_eq(vgpu_arb_release(slot, 0), 0);
	expect_ok(&D[0], idl);
	expect_ok(&D[1], idh);
	ck_assert_uint_lt(dom(10)->last_grant, dom(11)->last_grant);
	ck_assert_uint_eq(dom(10)->aged, 1);
	ck_assert_uint_eq(dom(11)->aged, 0);
	vgpu_arb_unregister(slot);
}
END_TEST

/* mem-quota: refusal with EDQUOT, and the arbiter's mirror of memory. */
START_TEST(test_quota)
{
	uint64_t m1, m2;
	uint32_t ctx;
	struct vgpuif_request r;
	struct vgpuif_response p;
	const struct vgpu_arb_domain_info *d;

	up(&D[0], 10, "medium", 1 << 20, "0", &ctx);
	open_region();
	ck_assert_int_eq(tf_mem_alloc(&D[0], ctx, 600 << 10, &m1), 0);
	ck_assert_int_eq(tf_mem_alloc(&D[0], ctx, 600 << 10, &m2), VGPUIF_RSP_EDQUOT);
	ck_assert_int_eq(tf_mem_alloc(&D[0], ctx, 400 << 10, &m2), 0);
	d = dom(10);
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(d->mem_quota, 1 << 20);
	ck_assert_uint_eq(d->mem_used, 1000 << 10);
	ck_assert_uint_eq(d->mem_peak, 1000 << 10);
	memset(&r, 0, sizeof(r));
	r.op = VGPUIF_OP_MEM_FREE;
	r.ctx = ctx;
	r.args.mem_free.mem = m1;
	ck_assert_int_eq(tf_call(&D[0], &r, &p), 0);
	ck_assert_uint_eq(dom(10)->mem_used, 400 << 10);
	/*
	 * Answers are counted: 1 ctx + 3 allocs + 1 free; the EDQUOT is a
	 * refusal (vgpu-smi's REFUSED), not an error.
	 */
	ck_assert_uint_ge(dom(10)->requests, 4);
	ck_assert_uint_eq(dom(10)->quota_refusals, 1);
	ck_assert_uint_eq(dom(10)->errors, 0);
}
END_TEST

static void kill9(struct tf_dom *d)
{
	int st;

	ck_assert_int_eq(kill(d->backend, SIGKILL), 0);
	ck_assert_int_eq(waitpid(d->backend, &st, 0), d->backend);
	d->backend = 0;
}

/* A backend killed -9 while its op holds the only turn. */
START_TEST(test_kill_holder)
{
	uint32_t ca, cb;
	uint64_t idb;
	int attempt;

	up(&D[1], 11, "low", 0, "1000", &cb);
	open_region();
	for (attempt = 0; attempt < 5; attempt++) {
		struct tf_dom *a = &D[2 + attempt % 2];

		tf_dom_destroy(a);
		/* a 1 s op: it holds the turn while we kill its backend */
		up(a, 20 + attempt, "high", 0, "1000000", &ca);
		submit_sync(a, ca);
		wait_dom(20 + attempt, 0, 1);
		kill9(a);
		if (snap()->gpu[0].in_use == 1)
			break;  /* died holding it: the case we want */
		/* the op finished before the kill: the machine is slow; again */
	}
	ck_assert_msg(attempt < 5, "could not kill a backend while its op ran");
	ck_assert_uint_eq(dom(20 + attempt)->alive, 0);
	/* Another domain's op still gets the GPU. */
	idb = submit_sync(&D[1], cb);
	expect_ok(&D[1], idb);
	ck_assert_ptr_null(dom(20 + attempt));
	ck_assert_uint_ge(snap()->reaped, 1);
	ck_assert_uint_eq(snap()->gpu[0].in_use, 0);
}
END_TEST

/* A backend killed -9 while it waits in the queue, ahead of another. */
START_TEST(test_kill_waiter)
{
	struct vgpu_arb_domain me = { .domid = TEST_DOMID, .priority = VGPUIF_PRIO_HIGH,
				      .gpu = -1 };
	struct vgpu_arb_slot *slot;
	uint32_t ca, cb;
	uint64_t idb;

	up(&D[0], 10, "high", 0, "1000", &ca);
	up(&D[1], 11, "low", 0, "1000", &cb);
	open_region();
	ck_assert_int_eq(vgpu_arb_register(g_arb, &me, &slot), 0);
	ck_assert_int_eq(vgpu_arb_acquire(slot, 60ull * 1000000000ull), 0);
	submit_sync(&D[0], ca);
	wait_dom(10, 1, 0);
	idb = submit_sync(&D[1], cb);
	wait_dom(11, 1, 0);
	kill9(&D[0]);
	ck_assert_int_eq(vgpu_arb_release(slot, 0), 0);
	expect_ok(&D[1], idb);
	ck_assert_ptr_null(dom(10));
	ck_assert_uint_eq(snap()->gpu[0].waiting, 0);
	vgpu_arb_unregister(slot);
}
END_TEST

/*
 * gpu-share from XenStore: domain A (1 % of a 60 s window) spends 1 s of
 * GPU time, then A and B (same class, A first) queue behind the test's
 * turn: B must go first, A right after (work-conserving).
 */
START_TEST(test_gpu_share)
{
	struct vgpu_arb_domain me = { .domid = TEST_DOMID, .priority = VGPUIF_PRIO_HIGH,
				      .gpu = -1 };
	struct vgpu_arb_slot *slot;
	struct lb_xs *xs0;
	uint32_t ca, cb;
	uint64_t ida, idb;

	setenv("VGPU_ARB_SHARE_WINDOW_MS", "60000", 1);
	up(&D[0], 10, "low", 0, "1000000", &ca);
	/* Read at registration, i.e. at the domain's first GPU op. */
	xs0 = lb_xs_open(W.w, 0);
	ck_assert_ptr_nonnull(xs0);
	ck_assert_int_eq(lb_xs_write(xs0, 0, "/local/domain/0/backend/vgpu/10/0/gpu-share",
				     "1"), 0);
	lb_xs_close(xs0);
	up(&D[1], 11, "low", 0, "1000", &cb);
	open_region();
	/* A's first op registers it (reading gpu-share) and uses 1 s. */
	ida = submit_sync(&D[0], ca);
	expect_ok(&D[0], ida);
	ck_assert_uint_eq(dom(10)->gpu_share_pct, 1);
	ck_assert_uint_ge(dom(10)->gpu_ns, 1000000000ull);

	ck_assert_int_eq(vgpu_arb_register(g_arb, &me, &slot), 0);
	ck_assert_int_eq(vgpu_arb_acquire(slot, 60ull * 1000000000ull), 0);
	ida = submit_sync(&D[0], ca);
	wait_dom(10, 1, 0);
	idb = submit_sync(&D[1], cb);
	wait_dom(11, 1, 0);
	ck_assert_int_eq(vgpu_arb_release(slot, 0), 0);
	expect_ok(&D[1], idb);
	expect_ok(&D[0], ida);
	ck_assert_uint_lt(dom(11)->last_grant, dom(10)->last_grant);
	vgpu_arb_unregister(slot);
	unsetenv("VGPU_ARB_SHARE_WINDOW_MS");
}
END_TEST

/*
 * SIGTERM while the backend's ops wait for a turn (the test holds it): they
 * are answered ESHUTDOWN at once and the backend leaves cleanly, its slot
 * and tickets gone.
 */
START_TEST(test_sigterm_while_waiting)
{
	struct vgpu_arb_domain me = { .domid = TEST_DOMID, .priority = VGPUIF_PRIO_HIGH,
				      .gpu = -1 };
	struct vgpu_arb_slot *slot;
	struct vgpuif_response p;
	uint32_t ca;
	int st, n = 0, shut = 0;

	up(&D[0], 10, "low", 0, "1000", &ca);
	open_region();
	ck_assert_int_eq(vgpu_arb_register(g_arb, &me, &slot), 0);
	ck_assert_int_eq(vgpu_arb_acquire(slot, 60ull * 1000000000ull), 0);
	for (int i = 0; i < 3; i++)
		submit_sync(&D[0], ca);
	wait_dom(10, 1, 0);
	st = tf_backend_stop(&D[0]);
	ck_assert_msg(st == 0, "backend exited %d (see %s)", st, D[0].log);
	while (RING_HAS_UNCONSUMED_RESPONSES(&D[0].fr)) {
		memcpy(&p, RING_GET_RESPONSE(&D[0].fr, D[0].fr.rsp_cons), sizeof(p));
		D[0].fr.rsp_cons++;
		n++;
		if (p.status == VGPUIF_RSP_ESHUTDOWN)
			shut++;
	}
	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(shut, 3);
	ck_assert_ptr_null(dom(10));
	ck_assert_uint_eq(snap()->gpu[0].waiting, 0);
	ck_assert_int_eq(vgpu_arb_release(slot, 0), 0);
	vgpu_arb_unregister(slot);
}
END_TEST

/* vgpu-smi's source of truth after real traffic: counters add up. */
START_TEST(test_accounting)
{
	uint32_t c0, c1;
	uint64_t id;
	const struct vgpu_arb_domain_info *d;

	up(&D[0], 10, "high", 0, "2000", &c0);
	up(&D[1], 11, "low", 0, "2000", &c1);
	open_region();
	for (int i = 0; i < 10; i++) {
		id = submit_sync(&D[0], c0);
		expect_ok(&D[0], id);
		if (i % 2 == 0) {
			id = submit_sync(&D[1], c1);
			expect_ok(&D[1], id);
		}
	}
	d = dom(10);
	ck_assert_uint_eq(d->grants, 10);
	ck_assert_uint_ge(d->gpu_ns, 10ull * 2000 * 1000);  /* each op >= 2 ms */
	ck_assert_str_eq(vgpu_arb_priority_name(d->priority), "high");
	ck_assert_uint_eq(d->alive, 1);
	ck_assert_int_eq(d->pid, D[0].backend);
	d = dom(11);
	ck_assert_uint_eq(d->grants, 5);
	ck_assert_uint_ge(d->gpu_ns, 5ull * 2000 * 1000);
	ck_assert_uint_eq(snap()->gpu[0].grants, 15);
	ck_assert_uint_eq(dom(10)->queue, 0);   /* everything answered */
	/* A backend that stops cleanly unregisters. */
	ck_assert_int_eq(tf_backend_stop(&D[1]), 0);
	ck_assert_ptr_null(dom(11));
	ck_assert_uint_eq(snap()->reaped, 0);
}
END_TEST


/* GET_INFO through one writable granted page. */
static void get_info(struct tf_dom *d, struct vgpuif_info *out)
{
	struct vgpuif_request r;
	struct vgpuif_response p;
	int64_t f = tf_frames(d, 1);
	int g = tf_grant(d, f, false);

	ck_assert_int_ge(g, 0);
	memset(&r, 0, sizeof(r));
	r.op = VGPUIF_OP_GET_INFO;
	r.nr_segments = 1;
	r.u.seg[0].gref = (uint32_t)g;
	r.u.seg[0].length = sizeof(struct vgpuif_info);
	ck_assert_int_eq(tf_call(d, &r, &p), 0);
	ck_assert_int_eq(p.status, 0);
	memcpy(out, tf_page(d, f), sizeof(*out));
}

/*
 * Pools on a host of two GPUs (the cpu executor's stand-ins): pool 1 may use
 * GPU 0 only, pool 2 GPU 1 only, pool 3 both, pool 5 none. Each domain runs
 * on the GPU the arbiter placed it on (its executor opened there: GET_INFO
 * and the arbiter agree), pool 3's two domains are spread over both GPUs,
 * and a domain of a pool without a GPU is refused its work. Before the
 * backend let the arbiter's choice drive the executor, every domain ran on
 * GPU 0 whatever its pool said (and pool 2 was refused outright).
 */
START_TEST(test_pools_place)
{
	static const struct { uint32_t domid, pool; int gpu; } want[] = {
		{ 10, 1, 0 }, { 11, 2, 1 }, { 12, 1, 0 }, { 13, 2, 1 },
		{ 14, 3, -1 }, { 15, 3, -1 },
	};
	int on[2] = { 0, 0 };
	uint32_t ctx;
	uint64_t mem;

	setenv("VGPU_ARB_GPUS", "2", 1);
	setenv("VGPU_CPU_GPUS", "2", 1);
	setenv("VGPU_ARB_POOLS", "1=0;2=1;3=0,1", 1);
	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct vgpuif_info info;
		const struct vgpu_arb_domain_info *di;

		up_pool(&D[i], want[i].domid, "medium", want[i].pool, 0, "0", &ctx);
		if (i == 0)
			open_region();
		di = dom(want[i].domid);
		ck_assert_ptr_nonnull(di);
		if (want[i].gpu >= 0)
			ck_assert_msg((int)di->gpu == want[i].gpu,
				      "domain %u of pool %u on GPU %u, want %d",
				      want[i].domid, want[i].pool, di->gpu, want[i].gpu);
		ck_assert_uint_lt(di->gpu, 2);
		on[di->gpu]++;
		get_info(&D[i], &info);
		ck_assert_uint_eq(info.gpu, di->gpu);
		ck_assert_uint_eq(info.pool, want[i].pool);
		if (di->gpu == 1)
			ck_assert_str_eq(info.gpu_name, "cpu reference executor #1");
		else
			ck_assert_str_eq(info.gpu_name, "cpu reference executor");
		/* Work runs there. */
		ck_assert_int_eq(tf_mem_alloc(&D[i], ctx, 4096, &mem), 0);
	}
	/* Pool 3's pair went one to each GPU (each was least loaded then). */
	ck_assert_int_eq(on[0], 3);
	ck_assert_int_eq(on[1], 3);
	ck_assert_uint_ne(dom(14)->gpu, dom(15)->gpu);

	/* A pool without a GPU: the domain connects but gets no GPU work. */
	up_pool(&D[6], 16, "medium", 5, 0, "0", &ctx);
	ck_assert_int_eq(tf_mem_alloc(&D[6], ctx, 4096, &mem), VGPUIF_RSP_EPERM);
	ck_assert_int_gt(tf_log_count(&D[6], "pool 5 has no GPU"), 0);
	unsetenv("VGPU_CPU_GPUS");
}
END_TEST

static Suite *sched_suite(void)
{
	Suite *s = suite_create("sched");
	TCase *tc = tcase_create("backends");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_order_by_class);
	tcase_add_test(tc, test_fifo_within_class);
	tcase_add_test(tc, test_order_mixed);
	tcase_add_test(tc, test_aging);
	tcase_add_test(tc, test_quota);
	tcase_add_test(tc, test_kill_holder);
	tcase_add_test(tc, test_kill_waiter);
	tcase_add_test(tc, test_gpu_share);
	tcase_add_test(tc, test_pools_place);
	tcase_add_test(tc, test_sigterm_while_waiting);
	tcase_add_test(tc, test_accounting);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(sched_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
