/* SPDX-License-Identifier: MIT */
/*
 * test_exec_cpu.c - the executor dispatch and the cpu reference executor:
 * the executor contract (exec-test.c) on "cpu", opening by name with bad
 * names, "auto", a refused module, inline and worker-thread completion,
 * per-context order, the per-op delay and its exec_ns; revision 2: queries,
 * syncs and destroys while work is really pending (held by a gate).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec-test.h"

/* ------------------------------------------------------------ opening */

static const struct {
	const char *what;
	const char *name;       /* NULL row: cfg itself NULL */
	bool null_cfg;
	int rc;
} open_rows[] = {
	{ "unknown name",        "gpu",   false, -EINVAL },
	{ "empty name",          "",      false, -EINVAL },
	{ "upper case",          "CPU",   false, -EINVAL },
	{ "prefix of a name",    "cu",    false, -EINVAL },
	{ "no config",           NULL,    true,  -EINVAL },
};

START_TEST(test_open_bad)
{
	struct vgpu_exec_config cfg = { .name = open_rows[_i].name };
	struct vgpu_exec *ex = (void *)1;
	const char *why = NULL;
	int rc;

	rc = vgpu_exec_open(&ex, open_rows[_i].null_cfg ? NULL : &cfg, &why);
	ck_assert_msg(rc == open_rows[_i].rc, "%s: %d", open_rows[_i].what, rc);
	ck_assert_ptr_nonnull(why);
	ck_assert_uint_gt(strlen(why), 0);
}
END_TEST

START_TEST(test_open_cpu_and_auto)
{
	struct vgpu_exec_config cfg = { .name = "cpu" };
	struct vgpu_exec *ex;
	const char *why = NULL;

	ck_assert_int_eq(vgpu_exec_open(&ex, &cfg, &why), 0);
	ck_assert_str_eq(vgpu_exec_name(ex), "cpu");
	vgpu_exec_close(ex);

	/* auto: cuda with a usable GPU, else cpu; either way it says why */
	cfg.name = "auto";
	ck_assert_int_eq(vgpu_exec_open(&ex, &cfg, &why), 0);
	ck_assert(!strcmp(vgpu_exec_name(ex), "cpu") ||
		  !strcmp(vgpu_exec_name(ex), "cuda"));
	ck_assert_msg(!strncmp(vgpu_exec_why(ex), "auto: ", 6), "why: %s",
		      vgpu_exec_why(ex));
	if (!strcmp(vgpu_exec_name(ex), "cpu"))
		ck_assert_ptr_nonnull(strstr(vgpu_exec_why(ex), "no usable GPU ("));
	printf("auto picked %s: %s\n", vgpu_exec_name(ex), vgpu_exec_why(ex));
	vgpu_exec_close(ex);

	cfg.name = NULL;        /* NULL name means auto */
	ck_assert_int_eq(vgpu_exec_open(&ex, &cfg, &why), 0);
	vgpu_exec_close(ex);
}
END_TEST

/* Without a GPU (or a build without cuda.h) "cuda" fails with a reason;
 * with one it opens. Either way: no crash, a reason on failure. */
START_TEST(test_open_cuda_reason)
{
	struct vgpu_exec_config cfg = { .name = "cuda" };
	struct vgpu_exec *ex = NULL;
	const char *why = NULL;
	int rc;

	rc = vgpu_exec_open(&ex, &cfg, &why);
	if (rc == 0) {
		ck_assert_str_eq(vgpu_exec_name(ex), "cuda");
		vgpu_exec_close(ex);
		return;
	}
	ck_assert_int_lt(rc, 0);
	ck_assert_ptr_null(ex);
	ck_assert_ptr_nonnull(why);
	ck_assert_uint_gt(strlen(why), 0);
#ifndef VGPU_HAVE_CUDA
	ck_assert_int_eq(rc, -ENODEV);
#endif
	printf("cuda not available: %s\n", why);
}
END_TEST

/* ----------------------------------------------------- modules */

/*
 * The cpu executor loads PTX (tests/exec/test_exec_cpu_ptx.c has the rest):
 * an image that is not PTX it can run is ENOEXEC, with the loader's log.
 */
START_TEST(test_module_refused)
{
	struct vgpu_exec_config cfg = { .name = "cpu" };
	struct vgpu_exec *ex;
	struct vgpu_exec_ctx *ctx;
	struct vgpu_exec_op op = { .opcode = VGPUIF_OP_MODULE_LOAD };
	char buf[14 + 128] = ".version 8.0\n";
	struct vgpu_exec_iov iov = { buf, sizeof(buf) };

	ck_assert_int_eq(vgpu_exec_open(&ex, &cfg, NULL), 0);
	ck_assert_int_eq(vgpu_exec_ctx_create(ex, &ctx), 0);
	op.ctx = ctx;
	op.iov = &iov;
	op.niov = 1;
	op.u.module_load.image_len = 14;
	op.u.module_load.log_len = 128;
	ck_assert_int_eq(et_run(ex, &op), VGPUIF_RSP_ENOEXEC);
	ck_assert_ptr_null(op.object);
	ck_assert_uint_eq(op.result[1], strlen(buf + 14) + 1);
	ck_assert_ptr_nonnull(strstr(buf + 14, "no .target"));
	vgpu_exec_ctx_destroy(ex, ctx);
	vgpu_exec_close(ex);
}
END_TEST

/* ------------------------------------------------------- completion */

struct order_rec {
	pthread_mutex_t lock;
	int seen[2][256];
	int nseen[2];
	int calls;
	bool other_thread;
	pthread_t main;
	uint64_t min_exec_ns;
};

struct order_op {
	struct vgpu_exec_op op;
	struct order_rec *rec;
	int ctxno, seq;
};

static void order_done(struct vgpu_exec_op *op, int status)
{
	struct order_op *o = (struct order_op *)op;
	struct order_rec *r = o->rec;

	ck_assert_int_eq(status, 0);
	pthread_mutex_lock(&r->lock);
	r->seen[o->ctxno][r->nseen[o->ctxno]++] = o->seq;
	r->calls++;
	if (!pthread_equal(pthread_self(), r->main))
		r->other_thread = true;
	if (op->exec_ns < r->min_exec_ns)
		r->min_exec_ns = op->exec_ns;
	pthread_mutex_unlock(&r->lock);
}

/* Ops on two contexts, mixed; each context's completions in order. */
static void run_order(uint32_t delay_us, bool async, int nops)
{
	struct vgpu_exec_config cfg = {
		.name = "cpu", .cpu_op_delay_us = delay_us, .cpu_async = async,
	};
	struct vgpu_exec *ex;
	struct vgpu_exec_ctx *ctx[2];
	struct vgpu_exec_mem *mem[2];
	struct order_op *ops = calloc((size_t)nops, sizeof(*ops));
	struct order_rec rec;
	static unsigned char data[256][64];
	static struct vgpu_exec_iov iov[256];

	ck_assert_ptr_nonnull(ops);
	memset(&rec, 0, sizeof(rec));
	pthread_mutex_init(&rec.lock, NULL);
	rec.main = pthread_self();
	rec.min_exec_ns = UINT64_MAX;
	ck_assert_int_eq(vgpu_exec_open(&ex, &cfg, NULL), 0);
	for (int c = 0; c < 2; c++) {
		ck_assert_int_eq(vgpu_exec_ctx_create(ex, &ctx[c]), 0);
		ck_assert_int_eq(et_alloc(ex, ctx[c], 64 * 256, &mem[c], NULL), 0);
	}
	for (int i = 0; i < nops; i++) {
		struct order_op *o = &ops[i];

		o->rec = &rec;
		o->ctxno = (i * 7 / 3) % 2;
		o->seq = i;
		iov[i].base = data[i];
		iov[i].len = 64;
		o->op.opcode = i % 3 ? VGPUIF_OP_MEMCPY_H2D : VGPUIF_OP_SYNC;
		o->op.ctx = ctx[o->ctxno];
		o->op.u.copy.mem = mem[o->ctxno];
		o->op.u.copy.offset = (uint64_t)i * 64;
		o->op.u.copy.length = 64;
		o->op.iov = &iov[i];
		o->op.niov = 1;
		o->op.done = order_done;
		ck_assert_int_eq(vgpu_exec_submit(ex, &o->op), 0);
		if (!async && !delay_us) /* inline: done before submit returns */
			ck_assert_int_eq(rec.calls, i + 1);
	}
	for (int c = 0; c < 2; c++)
		ck_assert_int_eq(et_sync(ex, ctx[c]), 0);
	ck_assert_int_eq(rec.calls, nops);
	for (int c = 0; c < 2; c++)
		for (int k = 1; k < rec.nseen[c]; k++)
			ck_assert_int_lt(rec.seen[c][k - 1], rec.seen[c][k]);
	ck_assert(rec.other_thread == (async || delay_us));
	if (delay_us)
		ck_assert_uint_ge(rec.min_exec_ns, (uint64_t)delay_us * 1000);
	for (int c = 0; c < 2; c++)
		vgpu_exec_ctx_destroy(ex, ctx[c]);
	vgpu_exec_close(ex);
	free(ops);
}

START_TEST(test_inline_order)
{
	run_order(0, false, 256);
}
END_TEST

START_TEST(test_worker_order)
{
	run_order(0, true, 256);
}
END_TEST

START_TEST(test_delay)
{
	run_order(1500, false, 40);
}
END_TEST

/* Addresses are stable and never reused, even after a free. */
START_TEST(test_addresses_not_reused)
{
	struct vgpu_exec_config cfg = { .name = "cpu" };
	struct vgpu_exec *ex;
	struct vgpu_exec_ctx *ctx;
	struct vgpu_exec_mem *m;
	uint64_t a[32], sz[32];

	ck_assert_int_eq(vgpu_exec_open(&ex, &cfg, NULL), 0);
	ck_assert_int_eq(vgpu_exec_ctx_create(ex, &ctx), 0);
	for (int i = 0; i < 32; i++) {
		sz[i] = 1 + (uint64_t)i * 1000;
		ck_assert_int_eq(et_alloc(ex, ctx, sz[i], &m, &a[i]), 0);
		ck_assert_uint_eq(a[i] % 256, 0);
		for (int j = 0; j < i; j++)
			ck_assert(a[i] >= a[j] + sz[j] || a[j] >= a[i] + sz[i]);
		ck_assert_int_eq(et_free(ex, ctx, m), 0);
	}
	vgpu_exec_ctx_destroy(ex, ctx);
	vgpu_exec_close(ex);
}
END_TEST

/* ------------------------------------------- pending work (revision 2) */

/*
 * A gate: an op whose done() blocks the cpu executor's worker thread until
 * the test opens it, so that later work is really pending while the test
 * asks about it, with no timing involved.
 */
struct gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool entered, open;
	int order[16];          /* tags of done() calls, in order          */
	int n;
};

struct gated_op {
	struct vgpu_exec_op op;
	struct gate *g;
	int tag;
	int status;
	bool blocks;            /* this one holds the worker               */
};

static struct gate G;

static void gate_init(struct gate *g)
{
	memset(g, 0, sizeof(*g));
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cond, NULL);
}

static void gated_done(struct vgpu_exec_op *op, int status)
{
	struct gated_op *o = (struct gated_op *)op;
	struct gate *g = o->g;

	pthread_mutex_lock(&g->lock);
	o->status = status;
	g->order[g->n++] = o->tag;
	if (o->blocks) {
		g->entered = true;
		pthread_cond_broadcast(&g->cond);
		while (!g->open)
			pthread_cond_wait(&g->cond, &g->lock);
	}
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

static void gated_submit(struct vgpu_exec *e, struct gated_op *o, int tag,
			 bool blocks)
{
	o->g = &G;
	o->tag = tag;
	o->blocks = blocks;
	o->status = 1;
	o->op.done = gated_done;
	ck_assert_int_eq(vgpu_exec_submit(e, &o->op), 0);
}

static bool gate_seen(int tag)
{
	bool seen = false;

	pthread_mutex_lock(&G.lock);
	for (int i = 0; i < G.n; i++)
		seen |= G.order[i] == tag;
	pthread_mutex_unlock(&G.lock);
	return seen;
}

static void gate_wait_seen(int tag)
{
	pthread_mutex_lock(&G.lock);
	for (;;) {
		bool seen = false;

		for (int i = 0; i < G.n; i++)
			seen |= G.order[i] == tag;
		if (seen)
			break;
		pthread_cond_wait(&G.cond, &G.lock);
	}
	pthread_mutex_unlock(&G.lock);
}

static void gate_hold(void)
{
	pthread_mutex_lock(&G.lock);
	while (!G.entered)
		pthread_cond_wait(&G.cond, &G.lock);
	pthread_mutex_unlock(&G.lock);
}

static void gate_open(void)
{
	pthread_mutex_lock(&G.lock);
	G.open = true;
	pthread_cond_broadcast(&G.cond);
	pthread_mutex_unlock(&G.lock);
}

static int tag_pos(int tag)
{
	for (int i = 0; i < G.n; i++)
		if (G.order[i] == tag)
			return i;
	return -1;
}

static void gated_memset(struct gated_op *o, struct vgpu_exec_ctx *c,
			 struct vgpu_exec_stream *s, struct vgpu_exec_mem *m)
{
	memset(o, 0, sizeof(*o));
	o->op.opcode = VGPUIF_OP_MEMSET;
	o->op.ctx = c;
	o->op.stream = s;
	o->op.u.memset.mem = m;
	o->op.u.memset.length = 64;
	o->op.u.memset.elem_size = 1;
}

/*
 * Queries tell the truth while work is pending; syncs wait for exactly
 * their work and answer after it; an idle stream's sync answers at once.
 */
START_TEST(test_pending_truth)
{
	struct vgpu_exec_config cfg = { .name = "cpu", .cpu_async = true };
	struct vgpu_exec *e;
	struct vgpu_exec_ctx *c;
	struct vgpu_exec_stream *s1, *s2;
	struct vgpu_exec_event *before, *after;
	struct vgpu_exec_mem *m;
	struct gated_op a, b, rec, ssync, esync;
	uint64_t r;
	float ms;

	gate_init(&G);
	ck_assert_int_eq(vgpu_exec_open(&e, &cfg, NULL), 0);
	ck_assert_int_eq(vgpu_exec_ctx_create(e, &c), 0);
	ck_assert_int_eq(et_stream_create(e, c, 0, &s1), 0);
	ck_assert_int_eq(et_stream_create(e, c, VGPUIF_STREAM_NON_BLOCKING,
					  &s2), 0);
	ck_assert_int_eq(et_event_create(e, c, 0, &before), 0);
	ck_assert_int_eq(et_event_create(e, c, 0, &after), 0);
	ck_assert_int_eq(et_alloc(e, c, 4096, &m, NULL), 0);
	ck_assert_int_eq(et_event_op(e, c, VGPUIF_OP_EVENT_RECORD, before, s1,
				     NULL), 0);

	gated_memset(&a, c, s1, m);
	gated_submit(e, &a, 1, true);
	gate_hold();                       /* the worker is inside a's done() */
	gated_memset(&b, c, s1, m);
	gated_submit(e, &b, 2, false);
	memset(&rec, 0, sizeof(rec));
	rec.op.opcode = VGPUIF_OP_EVENT_RECORD;
	rec.op.ctx = c;
	rec.op.stream = s1;
	rec.op.u.event.event = after;
	gated_submit(e, &rec, 3, false);

	ck_assert_int_eq(et_stream_op(e, c, VGPUIF_OP_STREAM_QUERY, s1, &r), 0);
	ck_assert_uint_eq(r, 0);           /* a, b and the record pending */
	ck_assert_int_eq(et_stream_op(e, c, VGPUIF_OP_STREAM_QUERY, s2, &r), 0);
	ck_assert_uint_eq(r, 1);
	ck_assert_int_eq(et_stream_op(e, c, VGPUIF_OP_STREAM_QUERY, NULL, &r), 0);
	ck_assert_uint_eq(r, 1);           /* nothing on the default stream */
	ck_assert_int_eq(et_event_op(e, c, VGPUIF_OP_EVENT_QUERY, before, NULL,
				     &r), 0);
	ck_assert_uint_eq(r, 1);
	ck_assert_int_eq(et_event_op(e, c, VGPUIF_OP_EVENT_QUERY, after, NULL,
				     &r), 0);
	ck_assert_uint_eq(r, 0);
	ck_assert_int_eq(et_elapsed(e, c, before, after, &ms), VGPUIF_RSP_EBUSY);
	/* s2 is idle: its sync answers now, while s1 is held */
	ck_assert_int_eq(et_stream_op(e, c, VGPUIF_OP_STREAM_SYNC, s2, NULL), 0);

	memset(&ssync, 0, sizeof(ssync));
	ssync.op.opcode = VGPUIF_OP_STREAM_SYNC;
	ssync.op.ctx = c;
	ssync.op.stream = s1;
	gated_submit(e, &ssync, 4, false);
	memset(&esync, 0, sizeof(esync));
	esync.op.opcode = VGPUIF_OP_EVENT_SYNC;
	esync.op.ctx = c;
	esync.op.u.event.event = after;
	gated_submit(e, &esync, 5, false);
	ck_assert(!gate_seen(4) && !gate_seen(5) && !gate_seen(2));

	gate_open();
	gate_wait_seen(4);
	gate_wait_seen(5);
	/* the syncs answered after the work they waited for */
	ck_assert_int_lt(tag_pos(1), tag_pos(2));
	ck_assert_int_lt(tag_pos(2), tag_pos(3));
	ck_assert_int_lt(tag_pos(3), tag_pos(4));
	ck_assert_int_lt(tag_pos(3), tag_pos(5));
	ck_assert_int_eq(a.status, 0);
	ck_assert_int_eq(b.status, 0);
	ck_assert_int_eq(rec.status, 0);
	ck_assert_int_eq(ssync.status, 0);
	ck_assert_int_eq(esync.status, 0);
	ck_assert_int_eq(et_stream_op(e, c, VGPUIF_OP_STREAM_QUERY, s1, &r), 0);
	ck_assert_uint_eq(r, 1);
	ck_assert_int_eq(et_event_op(e, c, VGPUIF_OP_EVENT_QUERY, after, NULL,
				     &r), 0);
	ck_assert_uint_eq(r, 1);
	ck_assert_int_eq(et_elapsed(e, c, before, after, &ms), 0);
	ck_assert(ms >= 0.0f);
	vgpu_exec_ctx_destroy(e, c);
	vgpu_exec_close(e);
}
END_TEST

/*
 * EVENT_DESTROY answers at once while its record is pending (the event
 * lives until the record ran); STREAM_DESTROY waits for the stream's work;
 * a context destroyed with pending work frees all of it (LSan checks).
 */
START_TEST(test_destroy_while_pending)
{
	struct vgpu_exec_config cfg = { .name = "cpu", .cpu_async = true };
	struct vgpu_exec *e;
	struct vgpu_exec_ctx *c;
	struct vgpu_exec_stream *s;
	struct vgpu_exec_event *ev;
	struct vgpu_exec_mem *m;
	struct gated_op a, rec, sdestroy;

	gate_init(&G);
	ck_assert_int_eq(vgpu_exec_open(&e, &cfg, NULL), 0);
	ck_assert_int_eq(vgpu_exec_ctx_create(e, &c), 0);
	ck_assert_int_eq(et_stream_create(e, c, 0, &s), 0);
	ck_assert_int_eq(et_event_create(e, c, 0, &ev), 0);
	ck_assert_int_eq(et_alloc(e, c, 4096, &m, NULL), 0);

	gated_memset(&a, c, s, m);
	gated_submit(e, &a, 1, true);
	gate_hold();
	memset(&rec, 0, sizeof(rec));
	rec.op.opcode = VGPUIF_OP_EVENT_RECORD;
	rec.op.ctx = c;
	rec.op.stream = s;
	rec.op.u.event.event = ev;
	gated_submit(e, &rec, 2, false);
	ck_assert_int_eq(et_event_op(e, c, VGPUIF_OP_EVENT_DESTROY, ev, NULL,
				     NULL), 0);
	/* the destroyed event is no longer accepted */
	ck_assert_int_eq(et_event_op(e, c, VGPUIF_OP_EVENT_QUERY, ev, NULL,
				     NULL), VGPUIF_RSP_EBADF);
	memset(&sdestroy, 0, sizeof(sdestroy));
	sdestroy.op.opcode = VGPUIF_OP_STREAM_DESTROY;
	sdestroy.op.ctx = c;
	sdestroy.op.stream = s;
	gated_submit(e, &sdestroy, 3, false);
	ck_assert(!gate_seen(3));
	/* the dying stream takes no more work */
	ck_assert_int_eq(et_stream_op(e, c, VGPUIF_OP_STREAM_QUERY, s, NULL),
			 VGPUIF_RSP_EBADF);
	gate_open();
	gate_wait_seen(3);
	ck_assert_int_lt(tag_pos(2), tag_pos(3));
	ck_assert_int_eq(sdestroy.status, 0);

	/* pending work, then the context goes: everything freed */
	gate_init(&G);
	ck_assert_int_eq(et_stream_create(e, c, 0, &s), 0);
	ck_assert_int_eq(et_event_create(e, c, 0, &ev), 0);
	gated_memset(&a, c, s, m);
	gated_submit(e, &a, 1, true);
	gate_hold();
	memset(&rec, 0, sizeof(rec));
	rec.op.opcode = VGPUIF_OP_EVENT_RECORD;
	rec.op.ctx = c;
	rec.op.stream = s;
	rec.op.u.event.event = ev;
	gated_submit(e, &rec, 2, false);
	gate_open();
	vgpu_exec_ctx_destroy(e, c);   /* waits for a and the record */
	ck_assert(gate_seen(2));
	vgpu_exec_close(e);
}
END_TEST

/* The data path refuses null/incomplete ops up front. */
START_TEST(test_submit_bad_op)
{
	struct vgpu_exec_config cfg = { .name = "cpu" };
	struct vgpu_exec *ex;
	struct vgpu_exec_op op = { .opcode = VGPUIF_OP_NOP };

	ck_assert_int_eq(vgpu_exec_open(&ex, &cfg, NULL), 0);
	ck_assert_int_eq(vgpu_exec_submit(ex, NULL), VGPUIF_RSP_EINVAL);
	ck_assert_int_eq(vgpu_exec_submit(ex, &op), VGPUIF_RSP_EINVAL); /* no done */
	ck_assert_int_eq(vgpu_exec_submit(NULL, &op), VGPUIF_RSP_EINVAL);
	{
		static uint8_t page[4096] __attribute__((aligned(4096)));
		struct vgpu_exec_hostmem hm = { .addr = page, .len = sizeof(page),
						.writable = true, .fd = -1 };
		struct vgpu_exec_hostreg *hr = NULL;
		uint32_t mode = 0;
		const char *why = NULL;

		hm.len = 100;   /* not whole pages */
		ck_assert_int_eq(vgpu_exec_host_register(ex, &hm, &hr, &mode, &why),
				 -EINVAL);
		hm.len = sizeof(page);
		ck_assert_int_eq(vgpu_exec_host_register(ex, &hm, &hr, &mode, &why), 0);
		ck_assert_ptr_nonnull(hr);
		ck_assert_uint_eq(mode, VGPUIF_COPY_HOST);
		vgpu_exec_host_unregister(ex, hr);
	}
	vgpu_exec_close(ex);
	vgpu_exec_close(NULL);
}
END_TEST

static Suite *cpu_suite(void)
{
	Suite *s = suite_create("cpu executor");
	TCase *tc;

	tc = tcase_create("open");
	tcase_add_loop_test(tc, test_open_bad, 0,
			    (int)(sizeof(open_rows) / sizeof(open_rows[0])));
	tcase_add_test(tc, test_open_cpu_and_auto);
	tcase_add_test(tc, test_open_cuda_reason);
	suite_add_tcase(s, tc);

	tc = tcase_create("ops");
	tcase_add_test(tc, test_module_refused);
	tcase_add_test(tc, test_addresses_not_reused);
	tcase_add_test(tc, test_submit_bad_op);
	suite_add_tcase(s, tc);

	tc = tcase_create("completion");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_inline_order);
	tcase_add_test(tc, test_worker_order);
	tcase_add_test(tc, test_delay);
	suite_add_tcase(s, tc);

	tc = tcase_create("pending work");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_pending_truth);
	tcase_add_test(tc, test_destroy_while_pending);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(cpu_suite());
	int failed;

	srunner_add_suite(sr, et_contract_suite("cpu"));
	srunner_add_suite(sr, et_contract_r2_suite("cpu", false));
	srunner_run_all(sr, CK_ENV); /* CK_VERBOSITY=verbose lists every test */
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
