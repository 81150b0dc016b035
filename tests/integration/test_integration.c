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

static Suite *suite(void)
{
	Suite *s = suite_create("backend-integration");
	TCase *tc = tcase_create("requests");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_basic_ops);
	tcase_add_test(tc, test_bad_requests);
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
