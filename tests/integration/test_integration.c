/* SPDX-License-Identifier: MIT */
/*
 * test_integration.c - the real vgpu-backend process over the loopback
 * transport with the cpu executor, driven by a raw test frontend
 * (tfront.c) that can also misbehave. Each case checks the status or the
 * action the backend must take, that it survives, and that it exits 0 on
 * SIGTERM (under ASan/LSan a leak makes that exit non-zero).
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tfront.h"

static struct tf_world W;
static struct tf_dom D;

static void setup(void)
{
	tf_backend_path();
	ck_assert_int_eq(tf_world_init(&W), 0);
	memset(&D, 0, sizeof(D));
}

static void teardown(void)
{
	tf_dom_destroy(&D);
	tf_world_fini(&W);
}

static void up(struct tf_dom *d, uint32_t domid, uint64_t quota)
{
	ck_assert_int_eq(tf_dom_create(&W, d, domid, quota), 0);
	ck_assert_int_eq(tf_connect(d), 0);
}

/* The backend must leave cleanly: exit 0 (and no leak under LSan). */
static void down_clean(struct tf_dom *d)
{
	int st = tf_backend_stop(d);

	ck_assert_msg(st == 0, "backend of dom%u exited %d (see %s)", d->domid,
		      st, d->log);
}

/* --------------------------------------------------------- good path */

START_TEST(test_basic_ops)
{
	struct vgpuif_request r;
	struct vgpuif_response p;
	uint8_t in[10000], out[10000];
	float *a, *b, *c;
	uint32_t ctx, i;
	uint64_t mem, mem2;
	int64_t f;
	int g[3];

	up(&D, 3, 0);
	ck_assert_int_eq(tf_nop(&D), 0);

	/* GET_INFO into one writable granted page. */
	f = tf_frames(&D, 1);
	g[0] = tf_grant(&D, f, false);
	memset(&r, 0, sizeof(r));
	r.op = VGPUIF_OP_GET_INFO;
	r.nr_segments = 1;
	r.u.seg[0].gref = (uint32_t)g[0];
	r.u.seg[0].length = sizeof(struct vgpuif_info);
	ck_assert_int_eq(tf_call(&D, &r, &p), 0);
	{
		struct vgpuif_info *info = tf_page(&D, f);

		ck_assert_uint_eq(info->protocol_version, VGPUIF_PROTOCOL_VERSION);
		ck_assert_uint_eq(info->executor, VGPUIF_EXECUTOR_CPU);
		ck_assert_uint_eq(info->domid, 3);
		ck_assert_uint_eq(info->max_segments, VGPUIF_MAX_INDIRECT_SEGMENTS);
	}

	ck_assert_int_eq(tf_ctx_create(&D, &ctx), 0);
	ck_assert_uint_ne(ctx, 0);
	ck_assert_int_eq(tf_mem_alloc(&D, ctx, 1 << 20, &mem), 0);
	ck_assert_int_eq(tf_mem_alloc(&D, ctx, 1 << 20, &mem2), 0);
	for (i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 7 + 1);
	ck_assert_int_eq(tf_copy(&D, VGPUIF_OP_MEMCPY_H2D, ctx, mem, 100, in,
				 sizeof(in), false), 0);
	memset(out, 0, sizeof(out));
	ck_assert_int_eq(tf_copy(&D, VGPUIF_OP_MEMCPY_D2H, ctx, mem, 100, out,
				 sizeof(out), false), 0);
	ck_assert_mem_eq(in, out, sizeof(in));
	/* Indirect, 64 KiB + 1 (17 segments). */
	{
		static uint8_t big[65537], back[65537];

		for (i = 0; i < sizeof(big); i++)
			big[i] = (uint8_t)(i ^ (i >> 8));
		ck_assert_int_eq(tf_copy(&D, VGPUIF_OP_MEMCPY_H2D, ctx, mem,
					 200000, big, sizeof(big), true), 0);
		ck_assert_int_eq(tf_copy(&D, VGPUIF_OP_MEMCPY_D2H, ctx, mem,
					 200000, back, sizeof(back), true), 0);
		ck_assert_mem_eq(big, back, sizeof(big));
	}
	/* D2D then MEMSET, read back. */
	memset(&r, 0, sizeof(r));
	r.op = VGPUIF_OP_MEMCPY_D2D;
	r.ctx = ctx;
	r.args.memcpy_d2d.dst_mem = mem2;
	r.args.memcpy_d2d.src_mem = mem;
	r.args.memcpy_d2d.src_offset = 100;
	r.args.memcpy_d2d.length = 64;
	ck_assert_int_eq(tf_call(&D, &r, &p), 0);
	memset(&r, 0, sizeof(r));
	r.op = VGPUIF_OP_MEMSET;
	r.ctx = ctx;
	r.args.memset.mem = mem2;
	r.args.memset.offset = 32;
	r.args.memset.length = 32;
	r.args.memset.value = 0xab;
	r.args.memset.elem_size = 1;
	ck_assert_int_eq(tf_call(&D, &r, &p), 0);
	ck_assert_int_eq(tf_copy(&D, VGPUIF_OP_MEMCPY_D2H, ctx, mem2, 0, out,
				 64, false), 0);
	ck_assert_mem_eq(out, in, 32);
	for (i = 32; i < 64; i++)
		ck_assert_uint_eq(out[i], 0xab);

	/* VECTOR_ADD, n = 1024: a, b read-only, c writable. */
	f = tf_frames(&D, 3);
	a = tf_page(&D, f);
	b = tf_page(&D, f + 1);
	c = tf_page(&D, f + 2);
	for (i = 0; i < 1024; i++) {
		a[i] = (float)i;
		b[i] = 2.0f * (float)i;
		c[i] = -1;
	}
	memset(&r, 0, sizeof(r));
	r.op = VGPUIF_OP_VECTOR_ADD;
	r.ctx = ctx;
	r.args.vector_add.n = 1024;
	r.nr_segments = 3;
	for (i = 0; i < 3; i++) {
		r.u.seg[i].gref = (uint32_t)tf_grant(&D, f + i, i < 2);
		r.u.seg[i].length = 4096;
	}
	ck_assert_int_eq(tf_call(&D, &r, &p), 0);
	for (i = 0; i < 1024; i++)
		ck_assert(c[i] == 3.0f * (float)i);

	/* Free, then the freed handle is stale. */
	memset(&r, 0, sizeof(r));
	r.op = VGPUIF_OP_MEM_FREE;
	r.ctx = ctx;
	r.args.mem_free.mem = mem2;
	ck_assert_int_eq(tf_call(&D, &r, &p), 0);
	ck_assert_int_eq(tf_call(&D, &r, &p), VGPUIF_RSP_EBADF);
	memset(&r, 0, sizeof(r));
	r.op = VGPUIF_OP_SYNC;
	r.ctx = ctx;
	ck_assert_int_eq(tf_call(&D, &r, &p), 0);
	memset(&r, 0, sizeof(r));
	r.op = VGPUIF_OP_CTX_DESTROY;
	r.ctx = ctx;
	ck_assert_int_eq(tf_call(&D, &r, &p), 0);
	ck_assert_int_eq(tf_call(&D, &r, &p), VGPUIF_RSP_EBADF);
	ck_assert_int_eq(tf_close(&D), 0);
	down_clean(&D);
}
END_TEST

/* -------------------------------------------------- bad requests table */

struct bad_row {
	const char *name;
	int expect;
	void (*build)(struct tf_dom *d, struct vgpuif_request *r, uint32_t ctx,
		      uint64_t mem, uint32_t ctx_b, uint64_t mem_b);
};

static int data_gref(struct tf_dom *d, bool ro)
{
	return tf_grant(d, tf_frames(d, 1), ro);
}

static void b_unknown_op(struct tf_dom *d, struct vgpuif_request *r,
			 uint32_t c, uint64_t m, uint32_t cb, uint64_t mb)
{
	(void)d; (void)c; (void)m; (void)cb; (void)mb;
	r->op = 200;
}
static void b_too_many_segs(struct tf_dom *d, struct vgpuif_request *r,
			    uint32_t c, uint64_t m, uint32_t cb, uint64_t mb)
{
	(void)d; (void)cb; (void)mb;
	r->op = VGPUIF_OP_MEMCPY_H2D;
	r->ctx = c;
	r->args.memcpy.mem = m;
	r->args.memcpy.length = 9;
	r->nr_segments = 9;
}
static void b_seg_past_page(struct tf_dom *d, struct vgpuif_request *r,
			    uint32_t c, uint64_t m, uint32_t cb, uint64_t mb)
{
	(void)cb; (void)mb;
	r->op = VGPUIF_OP_MEMCPY_H2D;
	r->ctx = c;
	r->args.memcpy.mem = m;
	r->args.memcpy.length = 200;
	r->nr_segments = 1;
	r->u.seg[0].gref = (uint32_t)data_gref(d, true);
	r->u.seg[0].offset = 4000;
	r->u.seg[0].length = 200;
}
static void b_never_granted(struct tf_dom *d, struct vgpuif_request *r,
			    uint32_t c, uint64_t m, uint32_t cb, uint64_t mb)
{
	(void)d; (void)cb; (void)mb;
	r->op = VGPUIF_OP_MEMCPY_H2D;
	r->ctx = c;
	r->args.memcpy.mem = m;
	r->args.memcpy.length = 16;
	r->nr_segments = 1;
	r->u.seg[0].gref = 30000;
	r->u.seg[0].length = 16;
}
static void b_revoked(struct tf_dom *d, struct vgpuif_request *r,
		      uint32_t c, uint64_t m, uint32_t cb, uint64_t mb)
{
	int g = data_gref(d, true);

	(void)cb; (void)mb;
	ck_assert_int_eq(lb_end_access(d->tw->w, d->domid, (uint32_t)g), 0);
	r->op = VGPUIF_OP_MEMCPY_H2D;
	r->ctx = c;
	r->args.memcpy.mem = m;
	r->args.memcpy.length = 16;
	r->nr_segments = 1;
	r->u.seg[0].gref = (uint32_t)g;
	r->u.seg[0].length = 16;
}
static void b_readonly_for_d2h(struct tf_dom *d, struct vgpuif_request *r,
			       uint32_t c, uint64_t m, uint32_t cb, uint64_t mb)
{
	(void)cb; (void)mb;
	r->op = VGPUIF_OP_MEMCPY_D2H;
	r->ctx = c;
	r->args.memcpy.mem = m;
	r->args.memcpy.length = 16;
	r->nr_segments = 1;
	r->u.seg[0].gref = (uint32_t)data_gref(d, true);
	r->u.seg[0].length = 16;
}
static void b_too_many_indirect(struct tf_dom *d, struct vgpuif_request *r,
				uint32_t c, uint64_t m, uint32_t cb, uint64_t mb)
{
	(void)d; (void)cb; (void)mb;
	r->op = VGPUIF_OP_MEMCPY_H2D;
	r->flags = VGPUIF_F_INDIRECT;
	r->ctx = c;
	r->args.memcpy.mem = m;
	r->args.memcpy.length = 8193;
	r->nr_segments = 8193; /* 17 indirect pages */
}
static void b_indirect_ungranted(struct tf_dom *d, struct vgpuif_request *r,
				 uint32_t c, uint64_t m, uint32_t cb, uint64_t mb)
{
	(void)d; (void)cb; (void)mb;
	r->op = VGPUIF_OP_MEMCPY_H2D;
	r->flags = VGPUIF_F_INDIRECT;
	r->ctx = c;
	r->args.memcpy.mem = m;
	r->args.memcpy.length = 16;
	r->nr_segments = 1;
	r->u.indirect_gref[0] = 31000;
}
static void b_indirect_bad_seg(struct tf_dom *d, struct vgpuif_request *r,
			       uint32_t c, uint64_t m, uint32_t cb, uint64_t mb)
{
	int64_t f = tf_frames(d, 1);
	struct vgpuif_segment *s = tf_page(d, f);

	(void)cb; (void)mb;
	s[0].gref = (uint32_t)data_gref(d, true);
	s[0].offset = 4095;
	s[0].length = 2;
	r->op = VGPUIF_OP_MEMCPY_H2D;
	r->flags = VGPUIF_F_INDIRECT;
	r->ctx = c;
	r->args.memcpy.mem = m;
	r->args.memcpy.length = 2;
	r->nr_segments = 1;
	r->u.indirect_gref[0] = (uint32_t)tf_grant(d, f, true);
}
static void b_other_ctx_handle(struct tf_dom *d, struct vgpuif_request *r,
			       uint32_t c, uint64_t m, uint32_t cb, uint64_t mb)
{
	(void)d; (void)m; (void)cb;
	r->op = VGPUIF_OP_MEM_FREE;
	r->ctx = c;
	r->args.mem_free.mem = mb;
}
static void b_stale_ctx(struct tf_dom *d, struct vgpuif_request *r,
			uint32_t c, uint64_t m, uint32_t cb, uint64_t mb)
{
	(void)d; (void)c; (void)m; (void)mb;
	r->op = VGPUIF_OP_SYNC;
	r->ctx = cb ^ 0x100; /* right slot, wrong generation */
}
static void b_copy_past_end(struct tf_dom *d, struct vgpuif_request *r,
			    uint32_t c, uint64_t m, uint32_t cb, uint64_t mb)
{
	(void)cb; (void)mb;
	r->op = VGPUIF_OP_MEMCPY_H2D;
	r->ctx = c;
	r->args.memcpy.mem = m;
	r->args.memcpy.offset = 4096 - 8;
	r->args.memcpy.length = 16;
	r->nr_segments = 1;
	r->u.seg[0].gref = (uint32_t)data_gref(d, true);
	r->u.seg[0].length = 16;
}
static void b_beyond_quota(struct tf_dom *d, struct vgpuif_request *r,
			   uint32_t c, uint64_t m, uint32_t cb, uint64_t mb)
{
	(void)d; (void)m; (void)cb; (void)mb;
	r->op = VGPUIF_OP_MEM_ALLOC;
	r->ctx = c;
	r->args.mem_alloc.size = 1 << 20; /* quota 1 MiB, 8 KiB in use */
}
static void b_no_ctx(struct tf_dom *d, struct vgpuif_request *r,
		     uint32_t c, uint64_t m, uint32_t cb, uint64_t mb)
{
	(void)d; (void)c; (void)m; (void)cb; (void)mb;
	r->op = VGPUIF_OP_MEM_ALLOC;
	r->args.mem_alloc.size = 16;
}

static const struct bad_row bad_rows[] = {
	{ "unknown opcode", VGPUIF_RSP_ENOSYS, b_unknown_op },
	{ "nr_segments above the limit", VGPUIF_RSP_E2BIG, b_too_many_segs },
	{ "segment past its page", VGPUIF_RSP_EFAULT, b_seg_past_page },
	{ "grant ref never granted", VGPUIF_RSP_EFAULT, b_never_granted },
	{ "grant revoked before the request", VGPUIF_RSP_EFAULT, b_revoked },
	{ "read-only grant for D2H", VGPUIF_RSP_EFAULT, b_readonly_for_d2h },
	{ "too many indirect pages", VGPUIF_RSP_E2BIG, b_too_many_indirect },
	{ "indirect page never granted", VGPUIF_RSP_EFAULT, b_indirect_ungranted },
	{ "indirect segment past its page", VGPUIF_RSP_EFAULT, b_indirect_bad_seg },
	{ "handle of another context", VGPUIF_RSP_EBADF, b_other_ctx_handle },
	{ "stale context handle", VGPUIF_RSP_EBADF, b_stale_ctx },
	{ "copy past the end of an allocation", VGPUIF_RSP_ERANGE, b_copy_past_end },
	{ "allocation beyond the quota", VGPUIF_RSP_EDQUOT, b_beyond_quota },
	{ "context op without a context", VGPUIF_RSP_EBADF, b_no_ctx },
};

START_TEST(test_bad_requests)
{
	struct vgpuif_request r;
	struct vgpuif_response p;
	uint32_t ctx, ctx_b;
	uint64_t mem, mem_b;
	unsigned int i;

	up(&D, 4, 1 << 20);
	ck_assert_int_eq(tf_ctx_create(&D, &ctx), 0);
	ck_assert_int_eq(tf_ctx_create(&D, &ctx_b), 0);
	ck_assert_int_eq(tf_mem_alloc(&D, ctx, 4096, &mem), 0);
	ck_assert_int_eq(tf_mem_alloc(&D, ctx_b, 4096, &mem_b), 0);
	for (i = 0; i < sizeof(bad_rows) / sizeof(bad_rows[0]); i++) {
		int st;

		memset(&r, 0, sizeof(r));
		bad_rows[i].build(&D, &r, ctx, mem, ctx_b, mem_b);
		st = tf_call(&D, &r, &p);
		ck_assert_msg(st == bad_rows[i].expect, "%s: got %d (%s), want %d (%s)",
			      bad_rows[i].name, st, vgpuif_status_str(st),
			      bad_rows[i].expect,
			      vgpuif_status_str(bad_rows[i].expect));
		/* And the device still works. */
		ck_assert_int_eq(tf_nop(&D), 0);
	}
	/* A handle of another domain. */
	{
		struct tf_dom e;
		uint32_t ctx_e;
		uint64_t mem_e;

		memset(&e, 0, sizeof(e));
		up(&e, 5, 0);
		ck_assert_int_eq(tf_ctx_create(&e, &ctx_e), 0);
		ck_assert_int_eq(tf_mem_alloc(&e, ctx_e, 4096, &mem_e), 0);
		memset(&r, 0, sizeof(r));
		r.op = VGPUIF_OP_MEM_FREE;
		r.ctx = ctx;
		r.args.mem_free.mem = mem_e;
		ck_assert_int_eq(tf_call(&D, &r, &p), VGPUIF_RSP_EBADF);
		r.ctx = ctx_e;
		ck_assert_int_eq(tf_call(&D, &r, &p), VGPUIF_RSP_EBADF);
		/* Its own handle works in its own domain. */
		ck_assert_int_eq(tf_call(&e, &r, &p), 0);
		down_clean(&e);
		tf_dom_destroy(&e);
	}
	down_clean(&D);
}
END_TEST


/* ------------------------------------------------- malicious frontends */

/* Is the backend asleep (in poll), not spinning? Sampled a few times. */
static bool backend_sleeping(struct tf_dom *d)
{
	int i, sleeping = 0;

	for (i = 0; i < 20; i++) {
		char path[64], buf[512], *p;
		FILE *fp;

		snprintf(path, sizeof(path), "/proc/%d/stat", d->backend);
		fp = fopen(path, "r");
		if (!fp)
			return false;
		if (!fgets(buf, sizeof(buf), fp))
			buf[0] = 0;
		fclose(fp);
		p = strrchr(buf, ')');
		if (p && p[1] == ' ' && p[2] == 'S')
			sleeping++;
		tf_msleep(5);
	}
	/* A spinning process is almost never 'S'; a loaded machine may
	 * catch an idle one runnable now and then. */
	return sleeping >= 14;
}

START_TEST(test_req_prod_overflow_halts)
{
	char *err;

	up(&D, 6, 0);
	ck_assert_int_eq(tf_nop(&D), 0);
	/* Jump req_prod by more than the ring size. */
	tf_set_req_prod(&D, D.fr.req_prod_pvt + 1000);
	ck_assert_int_eq(tf_wait_be_state(&D, 5), 0); /* Closing */
	err = tf_be_read(&D, "error");
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err, "overflow"), "error node: %s", err);
	free(err);
	ck_assert(tf_backend_alive(&D));
	ck_assert(backend_sleeping(&D));
	/* The frontend resets and reconnects; the device works again. */
	ck_assert_int_eq(tf_close(&D), 0);
	ck_assert_int_eq(tf_connect(&D), 0);
	ck_assert_int_eq(tf_nop(&D), 0);
	down_clean(&D);
}
END_TEST

START_TEST(test_responses_never_consumed)
{
	struct vgpuif_request r;
	unsigned int i, size;

	up(&D, 7, 0);
	size = RING_SIZE(&D.fr);
	/* Fill the ring twice over without ever reading a response. */
	for (i = 0; i < 2 * size; i++) {
		memset(&r, 0, sizeof(r));
		r.op = VGPUIF_OP_NOP;
		r.id = i + 1;
		memcpy(RING_GET_REQUEST(&D.fr, D.fr.req_prod_pvt), &r, sizeof(r));
		D.fr.req_prod_pvt++;
		if ((i + 1) % size == 0) {
			RING_IDX want = D.fr.req_prod_pvt;

			tf_set_req_prod(&D, want);
			/* Wait until the backend answered all of them. */
			while (D.fr.sring->rsp_prod != want)
				tf_msleep(1);
		}
	}
	ck_assert_uint_eq(D.fr.sring->rsp_prod, 2 * size);
	ck_assert(tf_backend_alive(&D));
	ck_assert(backend_sleeping(&D));
	/* Consume everything now: the ring is usable. */
	D.fr.rsp_cons = D.fr.sring->rsp_prod;
	ck_assert_int_eq(tf_nop(&D), 0);
	down_clean(&D);
}
END_TEST

START_TEST(test_notification_storm)
{
	unsigned int i;
	int lines;

	up(&D, 8, 0);
	for (i = 0; i < 1000000; i++)
		lb_evtchn_notify(D.ev, (uint32_t)D.port);
	ck_assert(tf_backend_alive(&D));
	ck_assert_int_eq(tf_nop(&D), 0);
	ck_assert(backend_sleeping(&D));
	lines = tf_log_count(&D, "event storm");
	/*
	 * How many of the million events the backend sees depends on how the
	 * two processes are scheduled (pending events coalesce), so whether
	 * the throttle engages is not asserted; its log is rate-limited.
	 */
	ck_assert_msg(lines >= 0 && lines <= 20, "%d storm log lines", lines);
	down_clean(&D);
}
END_TEST

/* Garbage in the frontend's keys: Closing with an error, never a crash. */
struct key_row {
	const char *key, *value; /* value NULL: remove the key */
};
static const struct key_row key_rows[] = {
	{ VGPUIF_XS_RING_REF, "abc" },
	{ VGPUIF_XS_RING_REF, "-1" },
	{ VGPUIF_XS_RING_REF, "4294967296" },
	{ VGPUIF_XS_RING_REF, "" },
	{ VGPUIF_XS_RING_REF, " 12" },
	{ VGPUIF_XS_RING_REF, "0x10" },
	{ VGPUIF_XS_RING_REF, "012" },
	{ VGPUIF_XS_RING_REF, "99999999999999999999999" },
	{ VGPUIF_XS_RING_REF, NULL },
	{ VGPUIF_XS_RING_REF, "30000" },          /* never granted */
	{ VGPUIF_XS_EVENT_CHANNEL, "x" },
	{ VGPUIF_XS_EVENT_CHANNEL, "99999999999" },
	{ VGPUIF_XS_EVENT_CHANNEL, "77" },        /* not offered to dom0 */
	{ VGPUIF_XS_EVENT_CHANNEL, NULL },
	{ VGPUIF_XS_PROTOCOL, "vgpuif-2" },
	{ VGPUIF_XS_PROTOCOL, "vgpuif-1 " },
	{ VGPUIF_XS_PROTOCOL, NULL },
	{ VGPUIF_XS_RING_PAGE_ORDER, "5" },
	{ VGPUIF_XS_RING_PAGE_ORDER, "1" },       /* ring-ref0/1 missing */
	{ VGPUIF_XS_FEATURE_PERSISTENT, "2" },
};

START_TEST(test_garbage_keys)
{
	const struct key_row *k = &key_rows[_i];
	char *err;

	ck_assert_int_eq(tf_dom_create(&W, &D, 9, 0), 0);
	ck_assert_int_eq(tf_setup_ring(&D), 0);
	ck_assert_int_eq(tf_fe_write(&D, k->key, k->value), 0);
	tf_fe_write(&D, VGPUIF_XS_STATE, "3");
	ck_assert_msg(tf_wait_be_state(&D, 5) == 0, "%s=%s: no Closing", k->key,
		      k->value ? k->value : "(removed)");
	err = tf_be_read(&D, "error");
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(err[0], "empty error node");
	free(err);
	ck_assert(tf_backend_alive(&D));
	/* The frontend closes and comes back with good keys. */
	ck_assert_int_eq(tf_close(&D), 0);
	tf_fe_write(&D, k->key, NULL);
	ck_assert_int_eq(tf_connect(&D), 0);
	ck_assert_int_eq(tf_nop(&D), 0);
	down_clean(&D);
}
END_TEST

/*
 * A value the guest wrote reaches the log (the bad protocol string is
 * quoted in the error): a newline in it must not start a line of its own,
 * or a guest could write log lines that look like dom0's.
 */
START_TEST(test_guest_cannot_forge_log_lines)
{
	char line[2048];
	FILE *fp;
	int forged = 0, quoted = 0;

	ck_assert_int_eq(tf_dom_create(&W, &D, 9, 0), 0);
	ck_assert_int_eq(tf_setup_ring(&D), 0);
	ck_assert_int_eq(tf_fe_write(&D, VGPUIF_XS_PROTOCOL,
				     "x\nFORGED: connected\r\x1b[2J"), 0);
	tf_fe_write(&D, VGPUIF_XS_STATE, "3");
	ck_assert_int_eq(tf_wait_be_state(&D, 5), 0);
	fp = fopen(D.log, "r");
	ck_assert_ptr_nonnull(fp);
	while (fgets(line, sizeof(line), fp)) {
		if (!strncmp(line, "FORGED", 6))
			forged++;
		if (strstr(line, "FORGED"))
			quoted++;
		ck_assert_msg(!strchr(line, '\r') && !strchr(line, '\x1b'),
			      "control character in a log line: %s", line);
	}
	fclose(fp);
	ck_assert_int_eq(forged, 0);
	ck_assert_int_ge(quoted, 1);   /* the value is still shown, escaped */
	ck_assert(tf_backend_alive(&D));
}
END_TEST

START_TEST(test_close_with_requests_in_flight)
{
	struct vgpuif_request r;
	uint32_t ctx;
	int i;

	D.extra[0] = "--cpu-op-delay-us";
	D.extra[1] = "20000";
	up(&D, 10, 0);
	ck_assert_int_eq(tf_ctx_create(&D, &ctx), 0);
	for (i = 0; i < 16; i++) {
		memset(&r, 0, sizeof(r));
		r.op = VGPUIF_OP_SYNC;
		r.ctx = ctx;
		tf_submit(&D, &r);
	}
	/* Close at once, with the syncs queued in the executor. */
	tf_fe_write(&D, VGPUIF_XS_STATE, "5");
	ck_assert_int_eq(tf_wait_be_state(&D, 5), 0);
	tf_fe_write(&D, VGPUIF_XS_STATE, "6");
	ck_assert_int_eq(tf_wait_be_state(&D, 2), 0);
	ck_assert(tf_backend_alive(&D));
	ck_assert_int_ge(tf_log_count(&D, "disconnected: 1 guest context(s) released"), 1);
	/* Reconnect: the old context is gone. */
	D.port = -1;
	D.ring_gref = -1;
	ck_assert_int_eq(tf_connect(&D), 0);
	memset(&r, 0, sizeof(r));
	r.op = VGPUIF_OP_SYNC;
	r.ctx = ctx;
	{
		struct vgpuif_response p;

		ck_assert_int_eq(tf_call(&D, &r, &p), VGPUIF_RSP_EBADF);
	}
	down_clean(&D);
}
END_TEST

START_TEST(test_sigterm_with_work_queued)
{
	struct vgpuif_request r;
	struct vgpuif_response p;
	uint32_t ctx;
	int i, n = 0, bad = 0;

	D.extra[0] = "--cpu-op-delay-us";
	D.extra[1] = "5000";
	up(&D, 11, 0);
	ck_assert_int_eq(tf_ctx_create(&D, &ctx), 0);
	/* A ring of one page holds 16: stay within it (no lying here). */
	for (i = 0; i < 12; i++) {
		memset(&r, 0, sizeof(r));
		r.op = VGPUIF_OP_SYNC;
		r.ctx = ctx;
		tf_submit(&D, &r);
	}
	down_clean(&D);
	/* Every answer is success or a clear ESHUTDOWN; the device closed. */
	while (RING_HAS_UNCONSUMED_RESPONSES(&D.fr)) {
		memcpy(&p, RING_GET_RESPONSE(&D.fr, D.fr.rsp_cons), sizeof(p));
		D.fr.rsp_cons++;
		n++;
		if (p.status != 0 && p.status != VGPUIF_RSP_ESHUTDOWN)
			bad++;
	}
	ck_assert_int_eq(bad, 0);
	ck_assert_int_eq(n, 12);
	ck_assert_int_eq(tf_be_state(&D), 6);
}
END_TEST

START_TEST(test_kill9_and_restart)
{
	struct vgpuif_request r;
	struct vgpuif_response p;
	uint32_t ctx;
	int st;

	up(&D, 12, 0);
	ck_assert_int_eq(tf_ctx_create(&D, &ctx), 0);
	kill(D.backend, SIGKILL);
	waitpid(D.backend, &st, 0);
	D.backend = 0;
	/* A new instance finds the frontend connected to the dead one. */
	ck_assert(tf_backend_start(&D) > 0);
	ck_assert_int_eq(tf_wait_be_state(&D, 5), 0);
	/* The frontend fails what it had in flight, closes, reconnects. */
	ck_assert_int_eq(tf_close(&D), 0);
	ck_assert_int_eq(tf_connect(&D), 0);
	ck_assert_int_eq(tf_nop(&D), 0);
	memset(&r, 0, sizeof(r));
	r.op = VGPUIF_OP_SYNC;
	r.ctx = ctx;
	ck_assert_int_eq(tf_call(&D, &r, &p), VGPUIF_RSP_EBADF);
	ck_assert_int_eq(tf_ctx_create(&D, &ctx), 0);
	down_clean(&D);
}
END_TEST

/*
 * The domain dies while its work cannot finish (each op takes a second
 * here; a GPU kernel that never ends, in real life): the backend must not
 * wait for it forever, but stop the executor after --shutdown-timeout-ms,
 * as on SIGTERM, and exit 0.
 */
START_TEST(test_domain_dies_with_work_stuck)
{
	struct vgpuif_request r;
	struct vgpuif_response rsp;
	uint32_t ctx;
	int st, i;

	D.extra[0] = "--cpu-op-delay-us";
	D.extra[1] = "1000000";
	D.extra[2] = "--shutdown-timeout-ms";
	D.extra[3] = "300";
	up(&D, 14, 0);
	ck_assert_int_eq(tf_ctx_create(&D, &ctx), 0);
	for (i = 0; i < 12; i++) {
		memset(&r, 0, sizeof(r));
		r.op = VGPUIF_OP_SYNC;
		r.ctx = ctx;
		tf_submit(&D, &r);
	}
	/*
	 * The first answer (after about a second) proves the backend took the
	 * chain off the ring: the other eleven are in flight, not still on
	 * the ring, when the domain dies (on a loaded host the destroy could
	 * otherwise come first, leaving nothing to stop).
	 */
	ck_assert_int_eq(tf_wait_rsp(&D, &rsp), 0);
	ck_assert_int_eq(lb_domain_destroy(W.w, 14), 0);
	for (i = 0; i < TF_WAIT_MS / 5; i++) {
		if (waitpid(D.backend, &st, WNOHANG) == D.backend)
			break;
		tf_msleep(5);
	}
	ck_assert_msg(i < TF_WAIT_MS / 5, "backend still running after its domain died");
	D.backend = 0;
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	/* It stopped the work rather than sitting the 12 seconds out. */
	ck_assert_int_ge(tf_log_count(&D, "stopping the executor"), 1);
}
END_TEST

START_TEST(test_domain_dies)
{
	uint32_t ctx;
	uint64_t mem;
	int st, i;

	up(&D, 13, 0);
	ck_assert_int_eq(tf_ctx_create(&D, &ctx), 0);
	ck_assert_int_eq(tf_mem_alloc(&D, ctx, 4096, &mem), 0);
	ck_assert_int_eq(lb_domain_destroy(W.w, 13), 0);
	/* The backend releases everything and exits 0 by itself. */
	for (i = 0; i < TF_WAIT_MS / 5; i++) {
		if (waitpid(D.backend, &st, WNOHANG) == D.backend)
			break;
		tf_msleep(5);
	}
	ck_assert_msg(i < TF_WAIT_MS / 5, "backend still running after its domain died");
	D.backend = 0;
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
}
END_TEST

START_TEST(test_several_domains)
{
	static struct tf_dom d[3];
	uint32_t ctx[3];
	uint64_t mem[3];
	unsigned int i, round;

	for (i = 0; i < 3; i++) {
		memset(&d[i], 0, sizeof(d[i]));
		up(&d[i], 20 + i, 0);
		ck_assert_int_eq(tf_ctx_create(&d[i], &ctx[i]), 0);
		ck_assert_int_eq(tf_mem_alloc(&d[i], ctx[i], 8192, &mem[i]), 0);
	}
	for (round = 0; round < 20; round++) {
		for (i = 0; i < 3; i++) {
			uint8_t buf[512], back[512];

			memset(buf, (int)(i * 50 + round), sizeof(buf));
			ck_assert_int_eq(tf_copy(&d[i], VGPUIF_OP_MEMCPY_H2D, ctx[i],
						 mem[i], 0, buf, sizeof(buf), false), 0);
			ck_assert_int_eq(tf_copy(&d[i], VGPUIF_OP_MEMCPY_D2H, ctx[i],
						 mem[i], 0, back, sizeof(back), false), 0);
			ck_assert_mem_eq(buf, back, sizeof(buf));
		}
	}
	for (i = 0; i < 3; i++) {
		struct vgpuif_request r;
		struct vgpuif_response p;

		/* Another domain's (context, memory) pair means nothing here. */
		memset(&r, 0, sizeof(r));
		r.op = VGPUIF_OP_MEM_FREE;
		r.ctx = ctx[(i + 1) % 3];
		r.args.mem_free.mem = mem[(i + 1) % 3];
		ck_assert_int_eq(tf_call(&d[i], &r, &p), VGPUIF_RSP_EBADF);
	}
	for (i = 0; i < 3; i++) {
		down_clean(&d[i]);
		tf_dom_destroy(&d[i]);
	}
}
END_TEST

START_TEST(test_busy_poll_mode)
{
	uint8_t buf[3000], back[3000];
	uint32_t ctx;
	uint64_t mem;
	int i;

	D.extra[0] = "--poll-us";
	D.extra[1] = "300";
	up(&D, 15, 0);
	ck_assert_int_eq(tf_ctx_create(&D, &ctx), 0);
	ck_assert_int_eq(tf_mem_alloc(&D, ctx, 4096, &mem), 0);
	for (i = 0; i < 2000; i++) {
		ck_assert_int_eq(tf_nop(&D), 0);
		if (i % 100 == 0)
			tf_msleep(1); /* let the spin window close now and then */
	}
	memset(buf, 0x42, sizeof(buf));
	ck_assert_int_eq(tf_copy(&D, VGPUIF_OP_MEMCPY_H2D, ctx, mem, 0, buf,
				 sizeof(buf), false), 0);
	ck_assert_int_eq(tf_copy(&D, VGPUIF_OP_MEMCPY_D2H, ctx, mem, 0, back,
				 sizeof(back), false), 0);
	ck_assert_mem_eq(buf, back, sizeof(buf));
	ck_assert_int_eq(tf_log_count(&D, "event storm"), 0);
	ck_assert(backend_sleeping(&D)); /* idle: the window closed */
	down_clean(&D);
}
END_TEST

/* CPU clock ticks the backend process has used (all its threads). */
static unsigned long long backend_cpu_ticks(struct tf_dom *d)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/stat", d->backend);
	fp = fopen(path, "r");
	ck_assert_ptr_nonnull(fp);
	if (!fgets(buf, sizeof(buf), fp))
		buf[0] = 0;
	fclose(fp);
	p = strrchr(buf, ')');
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
				"%*u %llu %llu", &ut, &st), 2);
	return ut + st;
}

/*
 * The default waiting (poll-us auto) polls while the domain is busy and
 * sleeps when it is idle: after a burst of work the backend is asleep and
 * uses no CPU. (A polling loop uses a whole second of CPU per second; the
 * bound is a hundredth of that, CPU used, not time taken.)
 */
START_TEST(test_adaptive_poll_idle_costs_nothing)
{
	unsigned long long t0, t1;
	int i;

	/* Row 0: the defaults (auto; on fewer than 4 CPUs that polls not at
	 * all); row 1: a fixed window, which polls on any machine. */
	if (_i == 1) {
		D.extra[0] = "--poll-us";
		D.extra[1] = "500";
	}
	up(&D, 16, 0);
	for (i = 0; i < 3000; i++)
		ck_assert_int_eq(tf_nop(&D), 0);
	tf_msleep(100);
	ck_assert(backend_sleeping(&D));
	t0 = backend_cpu_ticks(&D);
	tf_msleep(1000);
	t1 = backend_cpu_ticks(&D);
	ck_assert_msg(t1 - t0 <= (unsigned long long)sysconf(_SC_CLK_TCK) / 100 + 1,
		      "idle backend used %llu ticks in a second", t1 - t0);
	ck_assert_int_eq(tf_nop(&D), 0);  /* and wakes up for the next one */
	down_clean(&D);
}
END_TEST

START_TEST(test_sighup_reopens_log)
{
	char moved[400];

	up(&D, 14, 0);
	snprintf(moved, sizeof(moved), "%s.1", D.log);
	ck_assert_int_eq(rename(D.log, moved), 0);
	kill(D.backend, SIGHUP);
	/* The file appears (reopen) before its first line is written. */
	for (int i = 0; i < TF_WAIT_MS &&
	     tf_log_count(&D, "log reopened") < 1; i++)
		tf_msleep(1);
	ck_assert_int_eq(access(D.log, F_OK), 0);
	ck_assert_int_ge(tf_log_count(&D, "log reopened"), 1);
	ck_assert_int_ge(tf_log_count(&D, "dom14/0"), 1);
	down_clean(&D);
}
END_TEST

/*
 * A grant the guest revokes (raw, ignoring the map count) while the
 * backend holds it in its persistent cache: the mapping the backend made
 * stays valid (as under Xen, where the guest cannot end access to a mapped
 * grant), the request is served, nothing crashes; a grant revoked before
 * the backend ever mapped it fails with EFAULT; at disconnect every data
 * grant is unmapped.
 */
START_TEST(test_revoke_while_mapped)
{
	struct vgpuif_request r;
	struct vgpuif_response p;
	int64_t f = -1, f2;
	uint32_t ctx;
	uint64_t mem;
	int g, g2, i;

	up(&D, 16, 0);
	ck_assert_int_eq(tf_ctx_create(&D, &ctx), 0);
	ck_assert_int_eq(tf_mem_alloc(&D, ctx, 4096, &mem), 0);
	f = tf_frames(&D, 1);
	g = tf_grant(&D, f, false);
	memset(&r, 0, sizeof(r));
	r.op = VGPUIF_OP_MEMCPY_H2D;
	r.ctx = ctx;
	r.args.memcpy.mem = mem;
	r.args.memcpy.length = 64;
	r.nr_segments = 1;
	r.u.seg[0].gref = (uint32_t)g;
	r.u.seg[0].length = 64;
	ck_assert_int_eq(tf_call(&D, &r, &p), 0);
	ck_assert_int_eq(lb_grant_map_count(W.w, 16, (uint32_t)g), 1);
	ck_assert_int_eq(lb_grant_set_raw(W.w, 16, (uint32_t)g, 0, 0, 0), 0);
	for (i = 0; i < 3; i++) {
		r.id = 0;
		ck_assert_int_eq(tf_call(&D, &r, &p), 0);
	}
	f2 = tf_frames(&D, 1);
	g2 = tf_grant(&D, f2, false);
	ck_assert_int_eq(lb_grant_set_raw(W.w, 16, (uint32_t)g2, 0, 0, 0), 0);
	r.id = 0;
	r.u.seg[0].gref = (uint32_t)g2;
	ck_assert_int_eq(tf_call(&D, &r, &p), VGPUIF_RSP_EFAULT);
	ck_assert_int_eq(tf_close(&D), 0);
	ck_assert_int_eq(lb_grant_map_count(W.w, 16, (uint32_t)g), 0);
	ck_assert_int_eq(lb_grant_map_count(W.w, 16, (uint32_t)g2), 0);
	down_clean(&D);
}
END_TEST

/* vgpu-detach's way: online=0 and Closing in the backend directory. */
START_TEST(test_detach_online_0)
{
	struct lb_xs *dom0;
	char path[200];
	int st, i;

	up(&D, 17, 0);
	ck_assert_int_eq(tf_nop(&D), 0);
	snprintf(path, sizeof(path), "%s/online", D.be);
	dom0 = lb_xs_open(W.w, 0);
	ck_assert_ptr_nonnull(dom0);
	ck_assert_int_eq(lb_xs_write(dom0, LB_XBT_NULL, path, "0"), 0);
	lb_xs_close(dom0);
	for (i = 0; i < TF_WAIT_MS / 5; i++) {
		if (waitpid(D.backend, &st, WNOHANG) == D.backend)
			break;
		tf_msleep(5);
	}
	ck_assert_msg(i < TF_WAIT_MS / 5, "backend did not leave after online=0");
	D.backend = 0;
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	ck_assert_int_eq(tf_be_state(&D), 6);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("backend-integration");
	TCase *tc = tcase_create("requests");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_basic_ops);
	tcase_add_test(tc, test_bad_requests);
	suite_add_tcase(s, tc);
	tc = tcase_create("malicious");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_req_prod_overflow_halts);
	tcase_add_test(tc, test_responses_never_consumed);
	tcase_add_test(tc, test_notification_storm);
	tcase_add_loop_test(tc, test_garbage_keys, 0,
			    sizeof(key_rows) / sizeof(key_rows[0]));
	tcase_add_test(tc, test_guest_cannot_forge_log_lines);
	suite_add_tcase(s, tc);
	tc = tcase_create("lifecycle");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_close_with_requests_in_flight);
	tcase_add_test(tc, test_sigterm_with_work_queued);
	tcase_add_test(tc, test_kill9_and_restart);
	tcase_add_test(tc, test_domain_dies);
	tcase_add_test(tc, test_domain_dies_with_work_stuck);
	tcase_add_test(tc, test_several_domains);
	tcase_add_test(tc, test_sighup_reopens_log);
	tcase_add_test(tc, test_busy_poll_mode);
	tcase_add_loop_test(tc, test_adaptive_poll_idle_costs_nothing, 0, 2);
	tcase_add_test(tc, test_revoke_while_mapped);
	tcase_add_test(tc, test_detach_online_0);
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
