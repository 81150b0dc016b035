/* SPDX-License-Identifier: MIT */
/*
 * gpu-r2.c - the GPU suite's revision-2 cases: the cuda executor's streams,
 * events and module queries on a real GPU (or on tests/gpu/fake-cuda).
 *
 * Whatever must be seen while work is still running is held by vt_gate, a
 * kernel that spins until a flag in device memory is set; a memset on a
 * non-blocking stream sets it. So "busy" answers are certain, not a race,
 * and the only time bound is a generous hang detector (GATE_WAIT_S) that
 * turns a wrong ordering into a clear failure instead of a suite timeout.
 *
 * Every case says what it does as it goes ("r2: ..." lines) and every
 * failure says what was expected and what came, so that one GPU run is
 * enough to find what went wrong.
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cuda.h>

#include "gpu-test.h"
#include "gpu-kernels.h"
#include "gpu-kernels-r2.h"

/* Longest a step that must finish may take before it counts as a hang. */
#define GATE_WAIT_S 30

static struct vgpu_exec_mod *r2mod;
static struct vgpu_exec_func *f_gate, *f_fill, *f_grw;
static struct vgpu_exec_stream *s_rel;          /* non-blocking: releases */
static struct vgpu_exec_mem *m_flag;
static uint64_t a_flag;

static void step(const char *fmt, ...)
{
	va_list ap;

	printf("  r2: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------- helpers */

static int copy_on(int opcode, struct vgpu_exec_stream *s, struct vgpu_exec_mem *m,
		   uint64_t off, void *buf, size_t len)
{
	struct vgpu_exec_iov iov = { buf, len };
	struct vgpu_exec_op op = { .opcode = (uint8_t)opcode, .ctx = ctx,
				   .stream = s, .iov = &iov, .niov = 1 };

	op.u.copy.mem = m;
	op.u.copy.offset = off;
	op.u.copy.length = len;
	return et_run(ex, &op);
}

/* vt_fill(p, v, n) on s, waited for. */
static int fill_on(struct vgpu_exec_stream *s, uint64_t addr, uint32_t v, uint32_t n)
{
	struct { uint64_t p; uint32_t v, n; } prm = { addr, v, n };

	return launch_on(ctx, s, f_fill, (n + 255) / 256, 256, &prm, sizeof(prm));
}

/* The all-u32 check of a buffer, with the first bad word in the message. */
static void expect_words(struct vgpu_exec_stream *s, struct vgpu_exec_mem *m,
			 uint32_t n, uint32_t want, const char *what)
{
	uint32_t *out = malloc(4ull * n);

	ck_assert_ptr_nonnull(out);
	memset(out, 0xee, 4ull * n);
	ck_assert_int_eq(copy_on(VGPUIF_OP_MEMCPY_D2H, s, m, 0, out, 4ull * n), 0);
	for (uint32_t i = 0; i < n; i++)
		ck_assert_msg(out[i] == want, "%s: word %u is %#x, want %#x", what,
			      i, out[i], want);
	free(out);
}

/*
 * An op submitted and not yet waited for: everything queued behind a gate
 * (et_run() would wait for it).
 */
struct pend {
	struct vgpu_exec_op op;
	struct et_wait w;
	const char *what;
	struct vgpu_exec_iov iov;
	unsigned char prm[32];
};

#define MAX_PEND 16
static struct pend pends[MAX_PEND];
static int npend;

static struct pend *pend_new(int opcode, struct vgpu_exec_stream *s, const char *what)
{
	struct pend *p;

	ck_assert_int_lt(npend, MAX_PEND);
	p = &pends[npend++];
	memset(p, 0, sizeof(*p));
	p->op.opcode = (uint8_t)opcode;
	p->op.ctx = ctx;
	p->op.stream = s;
	p->what = what;
	return p;
}

static struct pend *pend_submit(struct pend *p)
{
	et_wait_init(&p->w);
	p->op.done = et_done;
	p->op.priv = &p->w;
	ck_assert_msg(vgpu_exec_submit(ex, &p->op) == 0, "submit %s", p->what);
	return p;
}

static bool pend_done(struct pend *p)
{
	bool d;

	pthread_mutex_lock(&p->w.lock);
	d = p->w.calls > 0;
	pthread_mutex_unlock(&p->w.lock);
	return d;
}

static int memset32_on(struct vgpu_exec_stream *s, struct vgpu_exec_mem *m,
		       uint64_t off, uint64_t len, uint32_t v);

static int d2d_on(struct vgpu_exec_stream *s, struct vgpu_exec_mem *dst,
		  struct vgpu_exec_mem *src, uint64_t len)
{
	struct vgpu_exec_op op = { .opcode = VGPUIF_OP_MEMCPY_D2D, .ctx = ctx,
				   .stream = s };

	op.u.d2d.dst = dst;
	op.u.d2d.src = src;
	op.u.d2d.length = len;
	return et_run(ex, &op);
}

/* Its status; fails the test (saying why) if it does not come. */
static int pend_wait(struct pend *p, const char *if_hung)
{
	struct timespec dl;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += GATE_WAIT_S;
	pthread_mutex_lock(&p->w.lock);
	while (!p->w.calls && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&p->w.cond, &p->w.lock, &dl);
	pthread_mutex_unlock(&p->w.lock);
	if (!p->w.calls) {
		/* let the gate go so that the worker can end */
		memset32_on(s_rel, m_flag, 0, 4, 1);
		ck_abort_msg("%s did not complete within %d s: %s", p->what,
			     GATE_WAIT_S, if_hung);
	}
	ck_assert_int_eq(p->w.calls, 1);
	return p->w.status;
}

/* Wait for every pending op; each must have succeeded. */
static void pend_all(const char *if_hung)
{
	for (int i = 0; i < npend; i++) {
		int rc = pend_wait(&pends[i], if_hung);

		ck_assert_msg(rc == 0, "%s: %d (%s)", pends[i].what, rc,
			      vgpuif_status_str(rc));
	}
	npend = 0;
}

static struct pend *pend_launch(struct vgpu_exec_stream *s, struct vgpu_exec_func *f,
				uint32_t grid, const void *prm, uint32_t plen,
				const char *what)
{
	struct pend *p = pend_new(VGPUIF_OP_LAUNCH, s, what);

	memcpy(p->prm, prm, plen);
	p->iov.base = p->prm;
	p->iov.len = plen;
	p->op.iov = &p->iov;
	p->op.niov = 1;
	p->op.u.launch.func = f;
	p->op.u.launch.grid[0] = grid;
	p->op.u.launch.grid[1] = p->op.u.launch.grid[2] = 1;
	p->op.u.launch.block[0] = grid > 1 ? 256 : 1;
	p->op.u.launch.block[1] = p->op.u.launch.block[2] = 1;
	p->op.u.launch.param_len = plen;
	return pend_submit(p);
}

static struct pend *pend_fill(struct vgpu_exec_stream *s, uint64_t addr, uint32_t v,
			      uint32_t n, const char *what)
{
	struct { uint64_t p; uint32_t v, n; } prm = { addr, v, n };

	return pend_launch(s, f_fill, (n + 255) / 256, &prm, sizeof(prm), what);
}

static struct pend *pend_memset(struct vgpu_exec_stream *s, struct vgpu_exec_mem *m,
				uint64_t len, uint32_t v, const char *what)
{
	struct pend *p = pend_new(VGPUIF_OP_MEMSET, s, what);

	p->op.u.memset.mem = m;
	p->op.u.memset.length = len;
	p->op.u.memset.value = v;
	p->op.u.memset.elem_size = 4;
	return pend_submit(p);
}

static struct pend *pend_d2d(struct vgpu_exec_stream *s, struct vgpu_exec_mem *dst,
			     struct vgpu_exec_mem *src, uint64_t len, const char *what)
{
	struct pend *p = pend_new(VGPUIF_OP_MEMCPY_D2D, s, what);

	p->op.u.d2d.dst = dst;
	p->op.u.d2d.src = src;
	p->op.u.d2d.length = len;
	return pend_submit(p);
}

/* EVENT_RECORD, STREAM_WAIT_EVENT (on s), EVENT_SYNC. */
static struct pend *pend_event(int opcode, struct vgpu_exec_event *e,
			       struct vgpu_exec_stream *s, const char *what)
{
	struct pend *p = pend_new(opcode, s, what);

	p->op.u.event.event = e;
	return pend_submit(p);
}

/* STREAM_SYNC (on s), SYNC (s NULL). */
static struct pend *pend_sync(int opcode, struct vgpu_exec_stream *s, const char *what)
{
	return pend_submit(pend_new(opcode, s, what));
}

static int memset32_on(struct vgpu_exec_stream *s, struct vgpu_exec_mem *m,
		       uint64_t off, uint64_t len, uint32_t v)
{
	struct vgpu_exec_op op = { .opcode = VGPUIF_OP_MEMSET, .ctx = ctx,
				   .stream = s };

	op.u.memset.mem = m;
	op.u.memset.offset = off;
	op.u.memset.length = len;
	op.u.memset.value = v;
	op.u.memset.elem_size = 4;
	return et_run(ex, &op);
}

/* Hold s until release(): the gate kernel, pending. */
static void gate_on(struct vgpu_exec_stream *s, const char *which)
{
	uint64_t a = a_flag;

	ck_assert_int_eq(memset32_on(s_rel, m_flag, 0, 4, 0), 0);
	pend_launch(s, f_gate, 1, &a, sizeof(a), "the gate kernel");
	step("gate holds the %s stream", which);
}

static void release(void)
{
	ck_assert_int_eq(memset32_on(s_rel, m_flag, 0, 4, 1), 0);
	step("gate released (memset on a non-blocking stream)");
}

static uint64_t query(int opcode, struct vgpu_exec_stream *s, struct vgpu_exec_event *e)
{
	uint64_t r = 99;

	if (opcode == VGPUIF_OP_STREAM_QUERY)
		ck_assert_int_eq(et_stream_op(ex, ctx, opcode, s, &r), 0);
	else
		ck_assert_int_eq(et_event_op(ex, ctx, opcode, e, NULL, &r), 0);
	return r;
}

/* --------------------------------------------------------------- fixture */

static void r2_setup(void)
{
	char log[4096];
	uint64_t logw = 0;
	int rc;

	npend = 0;
	setup();
	memset(log, 0, sizeof(log));
	rc = load_module(ctx, vt_r2_ptx, sizeof(vt_r2_ptx), VGPUIF_MODULE_PTX,
			 log, sizeof(log) - 1, &r2mod, &logw);
	ck_assert_msg(rc == 0, "MODULE_LOAD of gpu-kernels-r2.h: %d (%s); JIT log: %s",
		      rc, vgpuif_status_str(rc), log);
	ck_assert_int_eq(func_get(ctx, r2mod, "vt_gate", &f_gate, NULL), 0);
	ck_assert_int_eq(func_get(ctx, r2mod, "vt_fill", &f_fill, NULL), 0);
	ck_assert_int_eq(func_get(ctx, r2mod, "vt_global_rw", &f_grw, NULL), 0);
	ck_assert_int_eq(et_stream_create(ex, ctx, VGPUIF_STREAM_NON_BLOCKING, &s_rel), 0);
	ck_assert_int_eq(et_alloc(ex, ctx, 4096, &m_flag, &a_flag), 0);
}

/* ------------------------------------------------------------------ cases */

/* Work on one stream reaches another through an event, in order. */
START_TEST(test_r2_event_order)
{
	enum { N = 65536 };
	struct vgpu_exec_stream *s1, *s2;
	struct vgpu_exec_event *e;
	struct vgpu_exec_mem *a, *b;
	uint64_t aa, ab;
	struct pend *sync2;

	ck_assert_int_eq(et_stream_create(ex, ctx, VGPUIF_STREAM_NON_BLOCKING, &s1), 0);
	ck_assert_int_eq(et_stream_create(ex, ctx, VGPUIF_STREAM_NON_BLOCKING, &s2), 0);
	ck_assert_int_eq(et_event_create(ex, ctx, VGPUIF_EVENT_DISABLE_TIMING, &e), 0);
	ck_assert_int_eq(et_alloc(ex, ctx, 4 * N, &a, &aa), 0);
	ck_assert_int_eq(et_alloc(ex, ctx, 4 * N, &b, &ab), 0);

	/* s1: gate, fill a; record e; s2: wait e, copy a -> b */
	gate_on(s1, "first");
	pend_fill(s1, aa, 0x1111, N, "fill on the first stream");
	pend_event(VGPUIF_OP_EVENT_RECORD, e, s1, "EVENT_RECORD on the first stream");
	pend_event(VGPUIF_OP_STREAM_WAIT_EVENT, e, s2, "STREAM_WAIT_EVENT on the second");
	pend_d2d(s2, b, a, 4 * N, "copy on the second stream");
	sync2 = pend_sync(VGPUIF_OP_STREAM_SYNC, s2, "STREAM_SYNC of the second stream");
	ck_assert_msg(query(VGPUIF_OP_STREAM_QUERY, s2, NULL) == 0,
		      "the second stream is idle although it waits for an event "
		      "behind a held kernel");
	ck_assert_uint_eq(query(VGPUIF_OP_EVENT_QUERY, NULL, e), 0);
	ck_assert_uint_eq(query(VGPUIF_OP_STREAM_QUERY, s1, NULL), 0);
	ck_assert_uint_eq(query(VGPUIF_OP_STREAM_QUERY, s_rel, NULL), 1);
	ck_assert_msg(!pend_done(sync2), "STREAM_SYNC of a stream waiting behind a "
		      "held kernel completed");
	release();
	pend_all("the wait for the event never ended");
	expect_words(s2, b, N, 0x1111, "copy on the second stream after the event");
	step("event order: the waiting stream saw the first stream's work");

	/* a wait is for the record before it, not for later ones */
	ck_assert_int_eq(fill_on(s1, aa, 0x2222, N), 0);
	ck_assert_int_eq(et_event_op(ex, ctx, VGPUIF_OP_EVENT_RECORD, e, s1, NULL), 0);
	ck_assert_int_eq(et_event_op(ex, ctx, VGPUIF_OP_STREAM_WAIT_EVENT, e, s2, NULL), 0);
	gate_on(s1, "first");
	pend_fill(s1, aa, 0x3333, N, "fill on the first stream");
	pend_event(VGPUIF_OP_EVENT_RECORD, e, s1, "EVENT_RECORD after the gate");
	sync2 = pend_d2d(s2, b, a, 4 * N, "copy on the second stream");
	ck_assert_msg(pend_wait(sync2, "the second stream waited for a record made "
				"after its wait") == 0, "copy on the second stream");
	expect_words(s2, b, N, 0x2222, "copy after the wait for the earlier record");
	ck_assert_uint_eq(query(VGPUIF_OP_EVENT_QUERY, NULL, e), 0);
	release();
	pend_all("the first stream never ran after its gate");
	expect_words(s1, a, N, 0x3333, "the first stream's last fill");
	step("a wait waits for the record before it only");

	/* many rounds through one event, each in order */
	for (uint32_t r = 0; r < 50; r++) {
		ck_assert_int_eq(fill_on(s1, aa, 0x100 + r, N), 0);
		ck_assert_int_eq(et_event_op(ex, ctx, VGPUIF_OP_EVENT_RECORD, e, s1, NULL), 0);
		ck_assert_int_eq(et_event_op(ex, ctx, VGPUIF_OP_STREAM_WAIT_EVENT, e, s2,
					     NULL), 0);
		ck_assert_int_eq(d2d_on(s2, b, a, 4 * N), 0);
	}
	expect_words(s2, b, N, 0x100 + 49, "after 50 rounds");
	ck_assert_int_eq(et_sync(ex, ctx), 0);
	step("50 rounds through one event in order");
}
END_TEST

/* The legacy default stream against a blocking and a non-blocking stream. */
START_TEST(test_r2_legacy_default_stream)
{
	enum { N = 16384 };
	struct vgpu_exec_stream *blk, *nb;
	struct vgpu_exec_mem *a, *c;
	uint64_t aa, ac;
	struct pend *p;

	ck_assert_int_eq(et_stream_create(ex, ctx, 0, &blk), 0);
	ck_assert_int_eq(et_stream_create(ex, ctx, VGPUIF_STREAM_NON_BLOCKING, &nb), 0);
	ck_assert_int_eq(et_alloc(ex, ctx, 4 * N, &a, &aa), 0);
	ck_assert_int_eq(et_alloc(ex, ctx, 4 * N, &c, &ac), 0);

	/* default stream held: the blocking stream waits, the other does not */
	gate_on(NULL, "default");
	pend_fill(NULL, aa, 1, N, "fill on the default stream");
	p = pend_memset(blk, a, 4 * N, 2, "memset on the blocking stream");
	ck_assert_int_eq(memset32_on(nb, c, 0, 4 * N, 3), 0);
	ck_assert_int_eq(et_stream_op(ex, ctx, VGPUIF_OP_STREAM_SYNC, nb, NULL), 0);
	expect_words(nb, c, N, 3, "the non-blocking stream's memset");
	ck_assert_msg(query(VGPUIF_OP_STREAM_QUERY, blk, NULL) == 0,
		      "the blocking stream is idle although it must wait for the "
		      "held default stream");
	ck_assert_uint_eq(query(VGPUIF_OP_STREAM_QUERY, NULL, NULL), 0);
	ck_assert_msg(!pend_done(p), "the blocking stream's work completed while "
		      "the default stream was held");
	release();
	pend_all("the blocking stream never ran");
	expect_words(blk, a, N, 2, "the blocking stream's memset came before the "
		     "default stream's earlier fill (want it after)");
	step("default stream held: blocking stream waited, non-blocking ran");

	/* blocking stream held: the default stream waits for it */
	gate_on(blk, "blocking");
	pend_fill(blk, aa, 4, N, "fill on the blocking stream");
	p = pend_memset(NULL, a, 4 * N, 5, "memset on the default stream");
	ck_assert_int_eq(memset32_on(nb, c, 0, 4 * N, 6), 0);
	ck_assert_msg(query(VGPUIF_OP_STREAM_QUERY, NULL, NULL) == 0,
		      "the default stream is idle although it must wait for the "
		      "held blocking stream");
	ck_assert(!pend_done(p));
	release();
	pend_all("the default stream never ran");
	expect_words(NULL, a, N, 5, "the default stream's memset came before the "
		     "blocking stream's earlier fill (want it after)");
	step("blocking stream held: the default stream waited for it");

	/* another guest context's default stream is not this one's */
	{
		struct vgpu_exec_ctx *c2, *save = ctx;
		struct vgpu_exec_mem *m2;

		gate_on(NULL, "default");
		ck_assert_int_eq(vgpu_exec_ctx_create(ex, &c2), 0);
		ck_assert_int_eq(et_alloc(ex, c2, 4096, &m2, NULL), 0);
		ctx = c2;
		p = pend_memset(NULL, m2, 4096, 7, "memset on another context's "
				"default stream");
		ctx = save;
		ck_assert_msg(pend_wait(p, "guest contexts share one legacy stream "
					"(the real CU_STREAM_LEGACY?)") == 0, "memset");
		release();
		pend_all("the gate never ended");
		vgpu_exec_ctx_destroy(ex, c2);
	}
	step("another guest context's default stream ran while this one was held");
}
END_TEST

/* Queries answer at once, and say busy while the work runs. */
START_TEST(test_r2_query_before_end)
{
	struct vgpu_exec_stream *s;
	struct vgpu_exec_event *e0, *e;
	struct pend *es, *ss, *cs;
	float ms = -1;

	ck_assert_int_eq(et_stream_create(ex, ctx, VGPUIF_STREAM_NON_BLOCKING, &s), 0);
	ck_assert_int_eq(et_event_create(ex, ctx, 0, &e0), 0);
	ck_assert_int_eq(et_event_create(ex, ctx, 0, &e), 0);
	ck_assert_int_eq(et_event_op(ex, ctx, VGPUIF_OP_EVENT_RECORD, e0, s, NULL), 0);
	ck_assert_int_eq(et_event_op(ex, ctx, VGPUIF_OP_EVENT_SYNC, e0, NULL, NULL), 0);
	gate_on(s, "non-blocking");
	pend_event(VGPUIF_OP_EVENT_RECORD, e, s, "EVENT_RECORD behind the gate");
	ck_assert_uint_eq(query(VGPUIF_OP_STREAM_QUERY, s, NULL), 0);
	ck_assert_uint_eq(query(VGPUIF_OP_EVENT_QUERY, NULL, e), 0);
	ck_assert_uint_eq(query(VGPUIF_OP_EVENT_QUERY, NULL, e0), 1);
	ck_assert_uint_eq(query(VGPUIF_OP_STREAM_QUERY, s_rel, NULL), 1);
	ck_assert_int_eq(et_elapsed(ex, ctx, e0, e, &ms), VGPUIF_RSP_EBUSY);
	es = pend_event(VGPUIF_OP_EVENT_SYNC, e, NULL, "EVENT_SYNC");
	ss = pend_sync(VGPUIF_OP_STREAM_SYNC, s, "STREAM_SYNC");
	cs = pend_sync(VGPUIF_OP_SYNC, NULL, "SYNC");
	/* queries and work elsewhere still answer while those wait */
	ck_assert_uint_eq(query(VGPUIF_OP_STREAM_QUERY, s, NULL), 0);
	ck_assert_int_eq(memset32_on(s_rel, m_flag, 4, 4, 9), 0);
	ck_assert_msg(!pend_done(es) && !pend_done(ss) && !pend_done(cs),
		      "a sync completed while its work was held (event %d, stream "
		      "%d, context %d)", pend_done(es), pend_done(ss), pend_done(cs));
	step("queries answered busy at once while the work was held");
	release();
	pend_all("a sync never returned");
	ck_assert_uint_eq(query(VGPUIF_OP_STREAM_QUERY, s, NULL), 1);
	ck_assert_uint_eq(query(VGPUIF_OP_EVENT_QUERY, NULL, e), 1);
	ck_assert_int_eq(et_elapsed(ex, ctx, e0, e, &ms), 0);
	ck_assert(isfinite(ms) && ms >= 0.0f);
	step("after the release: idle, done, %.3f ms between the events", (double)ms);
}
END_TEST

/* cuEventElapsedTime through the executor: positive, within the wall time. */
START_TEST(test_r2_elapsed)
{
	struct vgpu_exec_stream *s;
	struct vgpu_exec_event *a, *b, *nt;
	struct vgpu_exec_func *spin;
	uint64_t cycles = 20000000, t0, t1;   /* about 10 ms at 2 GHz */
	float ms = -1, wall;

	spin = guest_kernel("vt_spin");
	ck_assert_int_eq(et_stream_create(ex, ctx, VGPUIF_STREAM_NON_BLOCKING, &s), 0);
	ck_assert_int_eq(et_event_create(ex, ctx, 0, &a), 0);
	ck_assert_int_eq(et_event_create(ex, ctx, VGPUIF_EVENT_BLOCKING_SYNC, &b), 0);
	ck_assert_int_eq(et_event_create(ex, ctx, VGPUIF_EVENT_DISABLE_TIMING, &nt), 0);
	t0 = now_ns();
	ck_assert_int_eq(et_event_op(ex, ctx, VGPUIF_OP_EVENT_RECORD, a, s, NULL), 0);
	ck_assert_int_eq(launch_on(ctx, s, spin, 1, 1, &cycles, sizeof(cycles)), 0);
	ck_assert_int_eq(et_event_op(ex, ctx, VGPUIF_OP_EVENT_RECORD, b, s, NULL), 0);
	ck_assert_int_eq(et_event_op(ex, ctx, VGPUIF_OP_EVENT_RECORD, nt, s, NULL), 0);
	ck_assert_int_eq(et_event_op(ex, ctx, VGPUIF_OP_EVENT_SYNC, b, NULL, NULL), 0);
	t1 = now_ns();
	wall = (float)((double)(t1 - t0) / 1e6);
	ck_assert_int_eq(et_elapsed(ex, ctx, a, b, &ms), 0);
	step("elapsed %.3f ms across a %llu-cycle spin, %.3f ms of wall time",
	     (double)ms, (unsigned long long)cycles, (double)wall);
	ck_assert_msg(isfinite(ms) && ms > 0.0f, "elapsed %f ms", (double)ms);
	/* GPU time between two records lies inside the host time around them */
	ck_assert_msg(ms <= wall + 0.5f, "elapsed %f ms > wall %f ms", (double)ms,
		      (double)wall);
	ck_assert_int_eq(et_elapsed(ex, ctx, a, nt, &ms), VGPUIF_RSP_EINVAL);
	ck_assert_int_eq(et_elapsed(ex, ctx, nt, b, &ms), VGPUIF_RSP_EINVAL);
}
END_TEST

/* Stream priorities: any value is accepted and clamped to the device's. */
START_TEST(test_r2_priorities)
{
	static const int32_t prios[] = { INT_MIN, -100, -1, 0, 1, 100, INT_MAX };
	enum { N = 4096 };
	struct vgpuif_device_info d;
	struct vgpu_exec_mem *m;
	uint64_t am;

	ck_assert_int_eq(vgpu_exec_device_info(ex, &d), 0);
	step("stream priorities: greatest %d, least %d", d.stream_priority_greatest,
	     d.stream_priority_least);
	ck_assert_int_le(d.stream_priority_greatest, d.stream_priority_least);
	ck_assert_int_eq(et_alloc(ex, ctx, 4 * N, &m, &am), 0);
	for (size_t i = 0; i < sizeof(prios) / sizeof(prios[0]); i++) {
		struct vgpu_exec_op op = { .opcode = VGPUIF_OP_STREAM_CREATE, .ctx = ctx };
		int32_t want = prios[i], got;

		if (want < d.stream_priority_greatest)
			want = d.stream_priority_greatest;
		if (want > d.stream_priority_least)
			want = d.stream_priority_least;
		op.u.stream_create.flags = i % 2 ? VGPUIF_STREAM_NON_BLOCKING : 0;
		op.u.stream_create.priority = prios[i];
		ck_assert_int_eq(et_run(ex, &op), 0);
		got = (int32_t)op.result[1];
		ck_assert_msg(got == want, "priority %d: got %d, want %d", prios[i],
			      got, want);
		ck_assert_int_eq(fill_on(op.object, am, (uint32_t)i + 10, N), 0);
		expect_words(op.object, m, N, (uint32_t)i + 10, "a stream with a priority");
		ck_assert_int_eq(et_stream_op(ex, ctx, VGPUIF_OP_STREAM_DESTROY, op.object,
					      NULL), 0);
	}
	step("%zu priorities accepted, clamped, worked", sizeof(prios) / sizeof(prios[0]));
}
END_TEST

/* ------------------------------------------ the driver read directly */

/* The driver's own entry points, for comparison with what the executor says. */
static struct {
	void *h;
	CUresult (*Init)(unsigned int);
	CUresult (*DriverGetVersion)(int *);
	CUresult (*DeviceGet)(CUdevice *, int);
	CUresult (*DeviceGetAttribute)(int *, CUdevice_attribute, CUdevice);
	CUresult (*DeviceGetName)(char *, int, CUdevice);
	CUresult (*DeviceTotalMem)(size_t *, CUdevice);
	CUresult (*DeviceGetUuid)(CUuuid *, CUdevice);
	CUresult (*CtxCreate4)(CUcontext *, void *, unsigned int, CUdevice);
	CUresult (*CtxCreate2)(CUcontext *, unsigned int, CUdevice);
	CUresult (*CtxDestroy)(CUcontext);
	CUresult (*CtxGetStreamPriorityRange)(int *, int *);
	CUresult (*ModuleLoadDataEx)(CUmodule *, const void *, unsigned int,
				     CUjit_option *, void **);
	CUresult (*ModuleGetFunction)(CUfunction *, CUmodule, const char *);
	CUresult (*ModuleUnload)(CUmodule);
	CUresult (*FuncGetParamInfo)(CUfunction, size_t, size_t *, size_t *);
	CUresult (*FuncGetAttribute)(int *, CUfunction_attribute, CUfunction);
} drv;

static void *drv_sym(const char *a, const char *b)
{
	void *p = dlsym(drv.h, a);

	if (!p && b)
		p = dlsym(drv.h, b);
	return p;
}

#define DRV(f, ...) do { void *p_ = drv_sym(__VA_ARGS__); \
	memcpy(&drv.f, &p_, sizeof(p_)); } while (0)

/* Load the driver in this (test) process and make a context of its own. */
static CUcontext drv_open(int ordinal, CUdevice *dev)
{
	CUcontext c = NULL;
	CUresult r;

	drv.h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
	ck_assert_msg(drv.h != NULL, "dlopen libcuda.so.1: %s", dlerror());
	DRV(Init, "cuInit", NULL);
	DRV(DriverGetVersion, "cuDriverGetVersion", NULL);
	DRV(DeviceGet, "cuDeviceGet", NULL);
	DRV(DeviceGetAttribute, "cuDeviceGetAttribute", NULL);
	DRV(DeviceGetName, "cuDeviceGetName", NULL);
	DRV(DeviceTotalMem, "cuDeviceTotalMem_v2", NULL);
	DRV(DeviceGetUuid, "cuDeviceGetUuid_v2", "cuDeviceGetUuid");
	DRV(CtxCreate4, "cuCtxCreate_v4", NULL);
	DRV(CtxCreate2, "cuCtxCreate_v2", NULL);
	DRV(CtxDestroy, "cuCtxDestroy_v2", NULL);
	DRV(CtxGetStreamPriorityRange, "cuCtxGetStreamPriorityRange", NULL);
	DRV(ModuleLoadDataEx, "cuModuleLoadDataEx", NULL);
	DRV(ModuleGetFunction, "cuModuleGetFunction", NULL);
	DRV(ModuleUnload, "cuModuleUnload", NULL);
	DRV(FuncGetParamInfo, "cuFuncGetParamInfo", NULL);
	DRV(FuncGetAttribute, "cuFuncGetAttribute", NULL);
	ck_assert_msg(drv.Init && drv.DeviceGet && drv.DeviceGetAttribute &&
		      drv.CtxDestroy && (drv.CtxCreate4 || drv.CtxCreate2),
		      "the driver lacks an entry point this test calls");
	ck_assert_int_eq(drv.Init(0), 0);
	ck_assert_int_eq(drv.DeviceGet(dev, ordinal), 0);
	r = drv.CtxCreate4 ? drv.CtxCreate4(&c, NULL, 0, *dev)
			   : drv.CtxCreate2(&c, 0, *dev);
	ck_assert_msg(r == 0, "cuCtxCreate in the test process: %d", (int)r);
	return c;
}

static bool dvalid(const struct vgpuif_device_info *d, unsigned int i)
{
	return d->attr_valid[i / 32] & (1u << (i % 32));
}

START_TEST(test_r2_device_info_direct)
{
	struct vgpuif_device_info d;
	CUdevice dev;
	CUcontext c;
	char name[256] = "";
	size_t tot = 0;
	int v, least = 1, greatest = 1, bad = 0, nvalid = 0;

	ck_assert_int_eq(vgpu_exec_device_info(ex, &d), 0);
	c = drv_open((int)d.ordinal, &dev);
	for (unsigned int i = 1; i < VGPUIF_MAX_DEVICE_ATTRS; i++) {
		bool ok;

		v = 0;
		ok = drv.DeviceGetAttribute(&v, (CUdevice_attribute)i, dev) == 0;
		nvalid += ok;
		if (ok == dvalid(&d, i) && (!ok || v == d.attr[i]))
			continue;
		if (bad++ < 40)
			printf("  r2: attribute %u: snapshot %s %d, driver %s %d\n", i,
			       dvalid(&d, i) ? "valid" : "invalid", d.attr[i],
			       ok ? "valid" : "invalid", v);
	}
	ck_assert_msg(bad == 0, "%d attributes differ from cuDeviceGetAttribute "
		      "(listed above)", bad);
	drv.DeviceGetName(name, sizeof(name) - 1, dev);
	ck_assert_str_eq(d.name, name);
	drv.DeviceTotalMem(&tot, dev);
	ck_assert_uint_eq(d.total_mem, tot);
	if (drv.DeviceGetUuid) {
		CUuuid u;

		ck_assert_int_eq(drv.DeviceGetUuid(&u, dev), 0);
		ck_assert_msg(!memcmp(d.uuid, &u, 16), "UUID differs");
	}
	drv.DriverGetVersion(&v);
	ck_assert_int_eq((int)d.driver_version, v);
	ck_assert_int_eq(drv.CtxGetStreamPriorityRange(&least, &greatest), 0);
	ck_assert_int_eq(d.stream_priority_least, least);
	ck_assert_int_eq(d.stream_priority_greatest, greatest);
	step("device info: %d attributes, name, memory, UUID, driver %d, "
	     "priorities [%d, %d] as the driver answers them", nvalid, v,
	     greatest, least);
	drv.CtxDestroy(c);
}
END_TEST

static int func_info(struct vgpu_exec_func *f, struct vgpuif_func_info *fi)
{
	struct vgpu_exec_iov iov = { fi, sizeof(*fi) };
	struct vgpu_exec_op op = { .opcode = VGPUIF_OP_FUNC_INFO, .ctx = ctx,
				   .iov = &iov, .niov = 1 };

	memset(fi, 0xa5, sizeof(*fi));
	op.u.func_info.func = f;
	return et_run(ex, &op);
}

/* FUNC_INFO of one kernel against cuFuncGetParamInfo / cuFuncGetAttribute. */
static void compare_func(CUmodule dm, struct vgpu_exec_mod *mod, const char *name)
{
	struct vgpuif_func_info fi;
	struct vgpu_exec_func *f;
	CUfunction df;
	size_t off, sz, end = 0;
	unsigned int i;

	ck_assert_int_eq(func_get(ctx, mod, name, &f, NULL), 0);
	ck_assert_int_eq(func_info(f, &fi), 0);
	ck_assert_int_eq(drv.ModuleGetFunction(&df, dm, name), 0);
	ck_assert_msg(drv.FuncGetParamInfo != NULL, "no cuFuncGetParamInfo");
	for (i = 0; !drv.FuncGetParamInfo(df, i, &off, &sz); i++) {
		ck_assert_uint_lt(i, fi.nr_params);
		ck_assert_msg(fi.param[i].offset == off && fi.param[i].size == sz,
			      "%s parameter %u: FUNC_INFO %u+%u, driver %zu+%zu", name,
			      i, fi.param[i].offset, fi.param[i].size, off, sz);
		if (off + sz > end)
			end = off + sz;
	}
	ck_assert_msg(fi.nr_params == i, "%s: FUNC_INFO %u parameters, driver %u",
		      name, fi.nr_params, i);
	ck_assert_uint_eq(fi.param_bytes, end);
	for (i = 0; i < VGPUIF_MAX_FUNC_ATTRS; i++) {
		int v = 0;
		bool ok = !drv.FuncGetAttribute(&v, (CUfunction_attribute)i, df);
		bool have = fi.attr_valid & (1u << i);

		ck_assert_msg(ok == have && (!ok || v == fi.attr[i]),
			      "%s attribute %u: FUNC_INFO %s %d, driver %s %d", name, i,
			      have ? "valid" : "invalid", fi.attr[i],
			      ok ? "valid" : "invalid", v);
	}
	step("FUNC_INFO of %s: %u parameters, %u bytes, attributes as the driver's",
	     name, fi.nr_params, fi.param_bytes);
}

START_TEST(test_r2_func_info_direct)
{
	struct vgpuif_device_info d;
	struct vgpu_exec_mod *mod;
	struct vgpuif_func_info fi;
	CUmodule dm1, dm2;
	CUdevice dev;
	CUcontext c;

	ck_assert_int_eq(vgpu_exec_device_info(ex, &d), 0);
	c = drv_open((int)d.ordinal, &dev);
	ck_assert_int_eq(drv.ModuleLoadDataEx(&dm1, vt_kernels_ptx, 0, NULL, NULL), 0);
	ck_assert_int_eq(drv.ModuleLoadDataEx(&dm2, vt_r2_ptx, 0, NULL, NULL), 0);
	ck_assert_int_eq(load_module(ctx, vt_kernels_ptx, sizeof(vt_kernels_ptx),
				     VGPUIF_MODULE_PTX, NULL, 0, &mod, NULL), 0);
	compare_func(dm1, mod, "vt_saxpy");
	compare_func(dm1, mod, "vt_empty");
	compare_func(dm2, r2mod, "vt_fill");
	/* vt_saxpy(float *, const float *, float, u32): its ABI layout */
	{
		struct vgpu_exec_func *f;

		ck_assert_int_eq(func_get(ctx, mod, "vt_saxpy", &f, NULL), 0);
		ck_assert_int_eq(func_info(f, &fi), 0);
		ck_assert_uint_eq(fi.nr_params, 4);
		ck_assert_uint_eq(fi.param[2].offset, 16);
		ck_assert_uint_eq(fi.param[3].offset, 20);
		ck_assert_uint_eq(fi.param_bytes, 24);
		/* too short a stream for the answer */
		{
			struct vgpu_exec_iov iov = { &fi, sizeof(fi) - 1 };
			struct vgpu_exec_op op = { .opcode = VGPUIF_OP_FUNC_INFO,
						   .ctx = ctx, .iov = &iov, .niov = 1 };

			op.u.func_info.func = f;
			ck_assert_int_eq(et_run(ex, &op), VGPUIF_RSP_ERANGE);
		}
	}
	drv.ModuleUnload(dm1);
	drv.ModuleUnload(dm2);
	drv.CtxDestroy(c);
}
END_TEST

static int set_attr(struct vgpu_exec_func *f, uint32_t attr, int32_t value)
{
	struct vgpu_exec_op op = { .opcode = VGPUIF_OP_FUNC_SET_ATTR, .ctx = ctx };

	op.u.func_attr.func = f;
	op.u.func_attr.attr = attr;
	op.u.func_attr.value = value;
	return et_run(ex, &op);
}

START_TEST(test_r2_func_set_attr)
{
	struct vgpuif_func_info fi;
	struct vgpu_exec_mem *m;
	uint64_t am;
	struct { uint64_t p; uint32_t v, n; } prm;

	ck_assert_int_eq(set_attr(f_fill, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
				  64 * 1024), 0);
	ck_assert_int_eq(func_info(f_fill, &fi), 0);
	ck_assert(fi.attr_valid & (1u << CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES));
	ck_assert_int_eq(fi.attr[CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES], 64 * 1024);
	/* a launch that uses it */
	ck_assert_int_eq(et_alloc(ex, ctx, 4096, &m, &am), 0);
	prm.p = am;
	prm.v = 77;
	prm.n = 1024;
	{
		struct vgpu_exec_iov iov = { &prm, sizeof(prm) };
		struct vgpu_exec_op op = { .opcode = VGPUIF_OP_LAUNCH, .ctx = ctx,
					   .iov = &iov, .niov = 1 };

		op.u.launch.func = f_fill;
		op.u.launch.grid[0] = 4;
		op.u.launch.grid[1] = op.u.launch.grid[2] = 1;
		op.u.launch.block[0] = 256;
		op.u.launch.block[1] = op.u.launch.block[2] = 1;
		op.u.launch.shared_mem = 64 * 1024;
		op.u.launch.param_len = sizeof(prm);
		ck_assert_int_eq(et_run(ex, &op), 0);
	}
	expect_words(NULL, m, 1024, 77, "a launch with 64 KiB of dynamic shared memory");
	ck_assert_int_eq(set_attr(f_fill, CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT,
				  50), 0);
	ck_assert_int_eq(func_info(f_fill, &fi), 0);
	ck_assert_int_eq(fi.attr[CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT], 50);
	ck_assert_int_eq(set_attr(f_fill, VGPUIF_FUNC_ATTR_CACHE_CONFIG,
				  CU_FUNC_CACHE_PREFER_SHARED), 0);
	/* what the driver refuses */
	ck_assert_int_eq(set_attr(f_fill, VGPUIF_FUNC_ATTR_CACHE_CONFIG, 99),
			 VGPUIF_RSP_EINVAL);
	ck_assert_int_eq(set_attr(f_fill, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
				  64 << 20), VGPUIF_RSP_EINVAL);
	ck_assert_int_eq(set_attr(f_fill, 999, 1), VGPUIF_RSP_EINVAL);
	/* the function still works */
	ck_assert_int_eq(fill_on(NULL, am, 78, 1024), 0);
	expect_words(NULL, m, 1024, 78, "after refused attributes");
	step("FUNC_SET_ATTR: shared size, carveout, cache config set; bad ones refused");
}
END_TEST

static int module_global(struct vgpu_exec_mod *mod, const char *name, size_t len,
			 struct vgpu_exec_mem **g, uint64_t *addr, uint64_t *size)
{
	struct vgpu_exec_iov iov = { (void *)name, len };
	struct vgpu_exec_op op = { .opcode = VGPUIF_OP_MODULE_GLOBAL, .ctx = ctx,
				   .iov = &iov, .niov = 1 };
	int rc;

	op.u.module_global.mod = mod;
	op.u.module_global.name_len = (uint32_t)len;
	rc = et_run(ex, &op);
	if (!rc) {
		*g = op.object;
		*addr = op.result[0];
		*size = op.result[1];
	} else {
		ck_assert_ptr_null(op.object);
	}
	return rc;
}

START_TEST(test_r2_globals)
{
	struct vgpu_exec_mem *gc, *gc2, *gt, *g, *out;
	uint64_t ac, ac2, at, sc, st, aout, a, sz;
	uint32_t v = 41, table[64], res[2];

	ck_assert_int_eq(module_global(r2mod, "vt_counter", 10, &gc, &ac, &sc), 0);
	ck_assert_uint_eq(sc, 4);
	ck_assert_uint_ne(ac, 0);
	ck_assert_int_eq(module_global(r2mod, "vt_counter", 10, &gc2, &ac2, &sc), 0);
	ck_assert_ptr_eq(gc, gc2);      /* the same object for the same global */
	ck_assert_uint_eq(ac, ac2);
	ck_assert_int_eq(module_global(r2mod, "vt_table", 8, &gt, &at, &st), 0);
	ck_assert_uint_eq(st, 256);
	ck_assert_ptr_ne(gt, gc);
	ck_assert_int_eq(module_global(r2mod, "vt_nothing", 10, &g, &a, &sz),
			 VGPUIF_RSP_ENOENT);
	ck_assert_int_eq(module_global(r2mod, "vt_counter", 0, &g, &a, &sz),
			 VGPUIF_RSP_EINVAL);
	ck_assert_int_eq(module_global(r2mod, "vt_coun\0ter", 11, &g, &a, &sz),
			 VGPUIF_RSP_EINVAL);
	ck_assert_int_eq(module_global(NULL, "vt_counter", 10, &g, &a, &sz),
			 VGPUIF_RSP_EBADF);
	step("MODULE_GLOBAL: vt_counter 4 bytes at %#llx, vt_table 256 bytes",
	     (unsigned long long)ac);

	/* written by the host, read and written by a kernel */
	for (int i = 0; i < 64; i++)
		table[i] = 0x1000u + (uint32_t)i;
	table[1] = 0xabcd1234u;
	ck_assert_int_eq(copy_on(VGPUIF_OP_MEMCPY_H2D, NULL, gc, 0, &v, 4), 0);
	ck_assert_int_eq(copy_on(VGPUIF_OP_MEMCPY_H2D, NULL, gt, 0, table, 256), 0);
	ck_assert_int_eq(et_alloc(ex, ctx, 8, &out, &aout), 0);
	ck_assert_int_eq(launch_on(ctx, NULL, f_grw, 1, 1, &aout, sizeof(aout)), 0);
	ck_assert_int_eq(copy_on(VGPUIF_OP_MEMCPY_D2H, NULL, out, 0, res, 8), 0);
	ck_assert_msg(res[0] == 41 && res[1] == 0xabcd1234u,
		      "the kernel read %u and %#x from the globals", res[0], res[1]);
	ck_assert_int_eq(copy_on(VGPUIF_OP_MEMCPY_D2H, NULL, gc, 0, &v, 4), 0);
	ck_assert_uint_eq(v, 42);
	/* a memset and a range check on a global */
	ck_assert_int_eq(memset32_on(NULL, gc, 0, 4, 7), 0);
	ck_assert_int_eq(launch_on(ctx, NULL, f_grw, 1, 1, &aout, sizeof(aout)), 0);
	ck_assert_int_eq(copy_on(VGPUIF_OP_MEMCPY_D2H, NULL, out, 0, res, 8), 0);
	ck_assert_uint_eq(res[0], 7);
	ck_assert_int_eq(copy_on(VGPUIF_OP_MEMCPY_H2D, NULL, gc, 0, table, 8),
			 VGPUIF_RSP_ERANGE);
	/* not for MEM_FREE: it goes with its module */
	ck_assert_int_eq(et_free(ex, ctx, gc), VGPUIF_RSP_EINVAL);
	step("globals read and written by the host and by a kernel");
	{
		struct vgpu_exec_op op = { .opcode = VGPUIF_OP_MODULE_UNLOAD, .ctx = ctx };

		op.u.module_unload.mod = r2mod;
		ck_assert_int_eq(et_run(ex, &op), 0);
	}
}
END_TEST

/* A fault on one domain's stream; another domain's streams keep working. */
START_TEST(test_r2_fault_streams_isolated)
{
	struct vgpu_exec_func *fault;
	struct vgpu_exec_stream *s, *s2;
	struct vgpu_exec_event *e;
	struct vgpu_exec_mem *m, *m2;
	uint64_t bogus = 0x10, am2;
	int stop_fd, ready_fd, rc;
	char c;
	pid_t other;

	other = start_bystander(&stop_fd, &ready_fd, true);
	ck_assert_int_eq(read(ready_fd, &c, 1), 1);
	ck_assert_int_eq(et_alloc(ex, ctx, 4096, &m, NULL), 0);
	fault = guest_kernel("vt_fault");
	ck_assert_int_eq(et_stream_create(ex, ctx, VGPUIF_STREAM_NON_BLOCKING, &s), 0);
	ck_assert_int_eq(et_event_create(ex, ctx, 0, &e), 0);
	rc = launch_on(ctx, s, fault, 1, 1, &bogus, sizeof(bogus));
	ck_assert_msg(rc == VGPUIF_RSP_EREMOTEIO, "faulting launch on a stream: %d (%s)",
		      rc, vgpuif_status_str(rc));
	step("a fault on a stream: EREMOTEIO");
	/* the old stream and event are gone with the context */
	ck_assert_int_eq(et_stream_op(ex, ctx, VGPUIF_OP_STREAM_SYNC, s, NULL),
			 VGPUIF_RSP_EREMOTEIO);
	ck_assert_int_eq(et_event_op(ex, ctx, VGPUIF_OP_EVENT_RECORD, e, NULL, NULL),
			 VGPUIF_RSP_EREMOTEIO);
	ck_assert_int_eq(et_stream_op(ex, ctx, VGPUIF_OP_STREAM_DESTROY, s, NULL), 0);
	ck_assert_int_eq(et_event_op(ex, ctx, VGPUIF_OP_EVENT_DESTROY, e, NULL, NULL), 0);
	check_recovered(m);
	/* new streams work */
	ck_assert_int_eq(load_module(ctx, vt_r2_ptx, sizeof(vt_r2_ptx),
				     VGPUIF_MODULE_PTX, NULL, 0, &r2mod, NULL), 0);
	ck_assert_int_eq(func_get(ctx, r2mod, "vt_fill", &f_fill, NULL), 0);
	ck_assert_int_eq(et_stream_create(ex, ctx, 0, &s2), 0);
	ck_assert_int_eq(et_alloc(ex, ctx, 4 * 1024, &m2, &am2), 0);
	ck_assert_int_eq(fill_on(s2, am2, 0x5a5a, 1024), 0);
	expect_words(s2, m2, 1024, 0x5a5a, "a new stream after the fault");
	stop_bystander(other, stop_fd);
	step("the other domain's streams kept working");
}
END_TEST

Suite *gpu_r2_suite(void)
{
	Suite *s = suite_create("cuda executor revision 2 on a GPU");
	TCase *tc;

	tc = tcase_create("streams and events");
	tcase_add_checked_fixture(tc, r2_setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_r2_event_order);
	tcase_add_test(tc, test_r2_legacy_default_stream);
	tcase_add_test(tc, test_r2_query_before_end);
	tcase_add_test(tc, test_r2_elapsed);
	tcase_add_test(tc, test_r2_priorities);
	suite_add_tcase(s, tc);

	tc = tcase_create("device and functions");
	tcase_add_checked_fixture(tc, r2_setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_r2_device_info_direct);
	tcase_add_test(tc, test_r2_func_info_direct);
	tcase_add_test(tc, test_r2_func_set_attr);
	tcase_add_test(tc, test_r2_globals);
	suite_add_tcase(s, tc);

	tc = tcase_create("isolation with streams");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_r2_fault_streams_isolated);
	suite_add_tcase(s, tc);
	return s;
}
