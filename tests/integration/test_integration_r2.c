/* SPDX-License-Identifier: MIT */
/*
 * test_integration_r2.c - protocol revision 2 end to end: the real
 * vgpu-backend over the loopback transport with the cpu executor, driven by
 * the raw test frontend (tfront.c).
 *
 *   features     feature-ops / feature-inline written by a revision-2
 *                backend, absent from one told --protocol-revision 1, which
 *                answers ENOSYS to ops 16..30 and refuses F_INLINE; a
 *                revision-1 session (what an old guest sends) gets the same
 *                answers from both
 *   ordering     with --cpu-op-delay-us the work on a stream is really
 *                pending: queries answer at once and say so, syncs and
 *                STREAM_DESTROY answer after exactly that work, a refused
 *                request answers at once, every response's place in the
 *                arrival order is what docs/protocol.md section 6 says
 *   objects      DEVICE_INFO, inline copies, the stream limit, streams and
 *                events left to the context's end (the backend must still
 *                exit 0: under LSan a leak makes it fail)
 *
 * The arrival order of responses is the backend's to choose within the
 * rules; these tests assert only what the rules fix. The one time figure
 * checked (EVENT_ELAPSED at least the delay the backend was told to sleep)
 * is a lower bound the executor guarantees, not a speed.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tfront.h"

#define DELAY_US  100000        /* --cpu-op-delay-us: 100 ms per op */
#define NQUEUED   5             /* ops queued on a stream before asking */

static struct tf_world W;
static struct tf_dom D;

static void setup(void)
{
	tf_backend_path();
	/* Off the host-wide arbiter: other suites' domains share its turns. */
	setenv("VGPU_ARB", "off", 1);
	ck_assert_int_eq(tf_world_init(&W), 0);
	memset(&D, 0, sizeof(D));
}

static void teardown(void)
{
	tf_dom_destroy(&D);
	tf_world_fini(&W);
}

static void up(struct tf_dom *d, const char *delay_us, bool rev1)
{
	int n = 0;

	if (delay_us) {
		d->extra[n++] = "--cpu-op-delay-us";
		d->extra[n++] = delay_us;
	}
	if (rev1) {
		d->extra[n++] = "--protocol-revision";
		d->extra[n++] = "1";
	}
	d->extra[n] = NULL;
	ck_assert_int_eq(tf_dom_create(&W, d, 3, 0), 0);
	ck_assert_int_eq(tf_connect(d), 0);
}

static void down_clean(struct tf_dom *d)
{
	int st = tf_backend_stop(d);

	ck_assert_msg(st == 0, "backend exited %d (see %s)", st, d->log);
}

/* ------------------------------------------------------------ helpers */

static uint64_t r2_create(struct tf_dom *d, uint8_t op, uint32_t ctx,
			  uint32_t flags)
{
	struct vgpuif_request r;
	struct vgpuif_response p;

	memset(&r, 0, sizeof(r));
	r.op = op;
	r.ctx = ctx;
	if (op == VGPUIF_OP_STREAM_CREATE)
		r.args.stream_create.flags = flags;
	else
		r.args.event_create.flags = flags;
	ck_assert_int_eq(tf_call(d, &r, &p), 0);
	ck_assert_uint_ne(p.result[0], 0);
	return p.result[0];
}

static void mk_memset(struct vgpuif_request *r, uint32_t ctx, uint64_t mem,
		      uint64_t stream, uint64_t off, uint8_t v)
{
	memset(r, 0, sizeof(*r));
	r->op = VGPUIF_OP_MEMSET;
	r->ctx = ctx;
	r->args.memset.mem = mem;
	r->args.memset.offset = off;
	r->args.memset.length = 256;
	r->args.memset.value = v;
	r->args.memset.elem_size = 1;
	r->args.memset.stream = stream;
}

static void mk_stream_op(struct vgpuif_request *r, uint8_t op, uint32_t ctx,
			 uint64_t stream)
{
	memset(r, 0, sizeof(*r));
	r->op = op;
	r->ctx = ctx;
	r->args.stream.stream = stream;
}

static void mk_event_op(struct vgpuif_request *r, uint8_t op, uint32_t ctx,
			uint64_t ev, uint64_t stream, uint64_t end)
{
	memset(r, 0, sizeof(*r));
	r->op = op;
	r->ctx = ctx;
	r->args.event.event = ev;
	r->args.event.stream = stream;
	r->args.event.end = end;
}

/* Responses in arrival order; pos() is the place of an id among them. */
struct arrivals {
	struct vgpuif_response rsp[64];
	int n;
};

static void collect(struct tf_dom *d, struct arrivals *a, int n)
{
	for (int i = 0; i < n; i++) {
		ck_assert_int_lt(a->n, 64);
		ck_assert_int_eq(tf_wait_rsp(d, &a->rsp[a->n]), 0);
		a->n++;
	}
}

static const struct vgpuif_response *find(const struct arrivals *a,
					  uint64_t id, int *pos)
{
	for (int i = 0; i < a->n; i++)
		if (a->rsp[i].id == id) {
			if (pos)
				*pos = i;
			return &a->rsp[i];
		}
	ck_abort_msg("no response for request %llu", (unsigned long long)id);
	return NULL;
}

static int pos_of(const struct arrivals *a, uint64_t id)
{
	int p = -1;

	find(a, id, &p);
	return p;
}

static float ms_of(const struct vgpuif_response *p)
{
	uint32_t bits = (uint32_t)p->result[0];
	float ms;

	memcpy(&ms, &bits, sizeof(ms));
	return ms;
}

/* ------------------------------------------------- features, versions */

START_TEST(test_features_advertised)
{
	char *v;

	up(&D, NULL, false);
	v = tf_be_read(&D, VGPUIF_XS_FEATURE_OPS);
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(v, "33");     /* revision 3 */
	free(v);
	v = tf_be_read(&D, VGPUIF_XS_FEATURE_INLINE);
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(v, "1");
	free(v);
	v = tf_be_read(&D, VGPUIF_XS_FEATURE_HOST_MEM);
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(v, "1");
	free(v);
	down_clean(&D);
}
END_TEST

/* ---------------------------------------------- registered host memory */

/*
 * Revision 3 through the real backend (cpu executor), one connection, a
 * table run in order (later rows see what earlier ones did): good and bad
 * registrations (foreign, revoked and read-only grants, unaligned,
 * overlapping, with a context), copies naming a region (in range, past
 * it, into a read-only one, after unregister), unregister of unknown and
 * stale handles. Then the data: what a registered copy moved is what the
 * pages hold. The backend must exit 0 (regions left registered go with
 * the disconnect; under LSan a leak fails it).
 */
enum hm_kind {
	HM_REG,          /* register npages frames from `first` on          */
	HM_UNREG,        /* unregister handle `which`                       */
	HM_COPY,         /* op on region `which` at off, len                */
};
enum { HW_GOOD = 0, HW_RO, HW_GONE, HW_GARBAGE };
struct hm_row {
	const char *name;
	enum hm_kind kind;
	int first;               /* HM_REG: frame index into fr[]           */
	uint32_t npages;
	uint32_t flags;          /* HM_REG: VGPUIF_HOST_*                   */
	int which;               /* HW_*                                    */
	uint8_t op;              /* HM_COPY                                 */
	uint64_t off, len;
	int seg_off;             /* HM_REG: first segment's offset          */
	bool with_ctx;
	int expect;
	int save;                /* HM_REG ok: store its handle as HW_*     */
};

#define H2D VGPUIF_OP_MEMCPY_H2D
#define D2H VGPUIF_OP_MEMCPY_D2H
/* fr[0..7] granted writable, fr[8] never granted, fr[9] granted and
 * revoked, fr[10] granted read-only, fr[11..] writable */
static const struct hm_row hm_rows[] = {
	{ "register 4 pages", HM_REG, 0, 4, .expect = 0, .save = HW_GOOD },
	{ "register a foreign page (never granted)", HM_REG, 8, 1, .expect = VGPUIF_RSP_EFAULT, .save = -1 },
	{ "register a revoked grant", HM_REG, 9, 1, .expect = VGPUIF_RSP_EFAULT, .save = -1 },
	{ "register a read-only grant writable", HM_REG, 10, 1, .expect = VGPUIF_RSP_EFAULT, .save = -1 },
	{ "register a read-only grant read-only", HM_REG, 10, 1, .flags = VGPUIF_HOST_READ_ONLY, .expect = 0, .save = HW_RO },
	{ "register unaligned (offset 16)", HM_REG, 11, 2, .seg_off = 16, .expect = VGPUIF_RSP_EINVAL, .save = -1 },
	/* the backend knows grants, not frames: the same refs again */
	{ "register overlapping a live region", HM_REG, 2, 4, .expect = VGPUIF_RSP_EINVAL, .save = -1 },
	{ "register with a context", HM_REG, 11, 1, .with_ctx = true, .expect = VGPUIF_RSP_EINVAL, .save = -1 },
	{ "h2d from the region", HM_COPY, .which = HW_GOOD, .op = H2D, .off = 100, .len = 8000, .expect = 0 },
	{ "d2h into the region", HM_COPY, .which = HW_GOOD, .op = D2H, .off = 8192, .len = 8192, .expect = 0 },
	{ "h2d past the region", HM_COPY, .which = HW_GOOD, .op = H2D, .off = 12288, .len = 8192, .expect = VGPUIF_RSP_ERANGE },
	{ "d2h into the read-only region", HM_COPY, .which = HW_RO, .op = D2H, .off = 0, .len = 16, .expect = VGPUIF_RSP_EPERM },
	{ "h2d from the read-only region", HM_COPY, .which = HW_RO, .op = H2D, .off = 0, .len = 16, .expect = 0 },
	{ "unregister the read-only region", HM_UNREG, .which = HW_RO, .expect = 0 },
	{ "unregister it again (stale)", HM_UNREG, .which = HW_RO, .expect = VGPUIF_RSP_EBADF },
	{ "h2d after unregister", HM_COPY, .which = HW_RO, .op = H2D, .off = 0, .len = 16, .expect = VGPUIF_RSP_EBADF },
	{ "unregister an unknown handle", HM_UNREG, .which = HW_GARBAGE, .expect = VGPUIF_RSP_EBADF },
	{ "register its page again", HM_REG, 10, 1, .flags = VGPUIF_HOST_READ_ONLY, .expect = 0, .save = HW_GONE },
};

static void hm_run(struct tf_dom *d, uint32_t ctx, uint64_t mem, const int64_t *fr,
		   uint64_t *hand)
{
	uint32_t good_refs[4] = { 0 };

	for (size_t i = 0; i < sizeof(hm_rows) / sizeof(hm_rows[0]); i++) {
		const struct hm_row *w = &hm_rows[i];
		struct vgpuif_request r;
		struct vgpuif_response p;
		int st;

		memset(&r, 0, sizeof(r));
		switch (w->kind) {
		case HM_REG:
			r.op = VGPUIF_OP_HOST_REGISTER;
			r.ctx = w->with_ctx ? ctx : 0;
			r.nr_segments = (uint16_t)w->npages;
			r.args.host_register.length = 4096ull * w->npages;
			r.args.host_register.flags = w->flags;
			for (uint32_t k = 0; k < w->npages; k++) {
				int g = w->first == 8 ? 4000 + (int)k : /* never granted */
					w->first == 9 ? (int)hand[4] :
					/* the first region's refs 2 and 3 */
					w->first == 2 && k < 2 ? (int)good_refs[2 + k] :
					tf_grant(d, fr[w->first + (int)k],
						 w->first == 10);
				r.u.seg[k] = (struct vgpuif_segment){ (uint32_t)g, 0, 4096 };
				if (i == 0)
					good_refs[k] = (uint32_t)g;
			}
			if (w->seg_off) {
				r.u.seg[0].offset = (uint16_t)w->seg_off;
				r.u.seg[0].length = (uint16_t)(4096 - w->seg_off);
			}
			break;
		case HM_UNREG:
			r.op = VGPUIF_OP_HOST_UNREGISTER;
			r.args.host_unregister.region = hand[w->which];
			break;
		case HM_COPY:
			r.op = w->op;
			r.ctx = ctx;
			r.flags = VGPUIF_F_HOST_MEM;
			r.args.memcpy.mem = mem;
			r.args.memcpy.offset = w->off;
			r.args.memcpy.length = w->len;
			r.args.memcpy.host_region = hand[w->which];
			r.args.memcpy.host_offset = w->off;
			break;
		}
		st = tf_call(d, &r, &p);
		ck_assert_msg(st == w->expect, "%s: got %d (%s), want %d", w->name, st,
			      vgpuif_status_str(st), w->expect);
		if (w->kind == HM_REG && !st) {
			ck_assert_uint_ne(p.result[0], 0);
			ck_assert_uint_eq(p.result[1], VGPUIF_COPY_HOST);
			if (w->save >= 0)
				hand[w->save] = p.result[0];
		}
	}
}

START_TEST(test_host_memory)
{
	int64_t fr[16];
	uint64_t hand[5] = { 0, 0, 0, 0x7700000123ull, 0 }, mem;
	uint8_t *pg[4];
	uint32_t ctx;
	int g;

	up(&D, NULL, false);
	ck_assert_int_eq(tf_ctx_create(&D, &ctx), 0);
	ck_assert_int_eq(tf_mem_alloc(&D, ctx, 65536, &mem), 0);
	fr[0] = tf_frames(&D, 16);
	ck_assert_int_gt(fr[0], 0);
	for (int k = 1; k < 16; k++)
		fr[k] = fr[0] + k;
	for (int k = 0; k < 4; k++) {
		pg[k] = tf_page(&D, fr[k]);
		memset(pg[k], 0x30 + k, 4096);
	}
	/* a grant made and revoked: its ref names nothing now */
	g = tf_grant(&D, fr[9], false);
	ck_assert_int_ge(g, 0);
	ck_assert_int_eq(lb_end_access(D.tw->w, D.domid, (uint32_t)g), 0);
	hand[4] = (uint64_t)g;
	{
		static uint8_t sev[8192];

		memset(sev, 0x77, sizeof(sev));
		ck_assert_int_eq(tf_copy(&D, H2D, ctx, mem, 8192, sev, 8192, false), 0);
	}
	hm_run(&D, ctx, mem, fr, hand);
	/* the data: h2d [100, 8100) of the pages went to mem[100, 8100), and
	 * d2h mem[8192, 16384) came back into pages 2 and 3 */
	{
		static uint8_t out[8192];

		ck_assert_int_eq(tf_copy(&D, D2H, ctx, mem, 100, out, 8000, false), 0);
		for (int k = 0; k < 8000; k++)
			ck_assert_uint_eq(out[k], 0x30 + (100 + k) / 4096);
		/* pages 2 and 3 hold what the region's D2H wrote there */
		ck_assert_int_eq(tf_copy(&D, D2H, ctx, mem, 8192, out, 8192, false), 0);
		ck_assert(!memcmp(pg[2], out, 4096));
		ck_assert(!memcmp(pg[3], out + 4096, 4096));
		ck_assert_uint_eq(pg[3][0], 0x77);      /* it did write them */
	}
	ck_assert_int_ge(tf_log_count(&D, "host region"), 1);
	down_clean(&D);
}
END_TEST

/* A backend told to speak revision 2: no feature-host-mem, ENOSYS, EINVAL. */
START_TEST(test_host_memory_revision2)
{
	struct vgpuif_request r;
	struct vgpuif_response p;
	uint32_t ctx;
	uint64_t mem;
	char *v;

	D.extra[0] = "--protocol-revision";
	D.extra[1] = "2";
	D.extra[2] = NULL;
	ck_assert_int_eq(tf_dom_create(&W, &D, 3, 0), 0);
	ck_assert_int_eq(tf_connect(&D), 0);
	v = tf_be_read(&D, VGPUIF_XS_FEATURE_OPS);
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(v, "31");
	free(v);
	ck_assert_ptr_null(tf_be_read(&D, VGPUIF_XS_FEATURE_HOST_MEM));
	ck_assert_int_eq(tf_ctx_create(&D, &ctx), 0);
	ck_assert_int_eq(tf_mem_alloc(&D, ctx, 4096, &mem), 0);
	memset(&r, 0, sizeof(r));
	r.op = VGPUIF_OP_HOST_REGISTER;
	ck_assert_int_eq(tf_call(&D, &r, &p), VGPUIF_RSP_ENOSYS);
	memset(&r, 0, sizeof(r));
	r.op = VGPUIF_OP_HOST_UNREGISTER;
	ck_assert_int_eq(tf_call(&D, &r, &p), VGPUIF_RSP_ENOSYS);
	memset(&r, 0, sizeof(r));
	r.op = VGPUIF_OP_MEMCPY_H2D;
	r.ctx = ctx;
	r.flags = VGPUIF_F_HOST_MEM;
	r.args.memcpy.mem = mem;
	r.args.memcpy.length = 16;
	r.args.memcpy.host_region = 1;
	ck_assert_int_eq(tf_call(&D, &r, &p), VGPUIF_RSP_EINVAL);
	down_clean(&D);
}
END_TEST

/*
 * A backend told to speak revision 1 looks to a new guest exactly like an
 * old backend: no feature-ops (so 16), no feature-inline, ENOSYS for every
 * new op, EINVAL for F_INLINE (an unknown flag) and for a stream field (its
 * padding then).
 */
START_TEST(test_revision1_backend)
{
	struct vgpuif_request r;
	struct vgpuif_response p;
	uint32_t ctx;
	uint64_t mem;

	up(&D, NULL, true);
	ck_assert_ptr_null(tf_be_read(&D, VGPUIF_XS_FEATURE_OPS));
	ck_assert_ptr_null(tf_be_read(&D, VGPUIF_XS_FEATURE_INLINE));
	ck_assert_int_eq(tf_ctx_create(&D, &ctx), 0);
	ck_assert_int_eq(tf_mem_alloc(&D, ctx, 4096, &mem), 0);
	for (unsigned int op = VGPUIF_OP_COUNT_V1; op <= VGPUIF_OP_COUNT; op++) {
		memset(&r, 0, sizeof(r));
		r.op = (uint8_t)op;
		r.ctx = op == VGPUIF_OP_DEVICE_INFO ? 0 : ctx;
		ck_assert_msg(tf_call(&D, &r, &p) == VGPUIF_RSP_ENOSYS,
			      "op %u: %d", op, p.status);
	}
	memset(&r, 0, sizeof(r));
	r.op = VGPUIF_OP_MEMCPY_H2D;
	r.ctx = ctx;
	r.flags = VGPUIF_F_INLINE;
	r.nr_segments = 4;
	r.args.memcpy.mem = mem;
	r.args.memcpy.length = 4;
	memcpy(r.u.inline_data, "abcd", 4);
	ck_assert_int_eq(tf_call(&D, &r, &p), VGPUIF_RSP_EINVAL);
	mk_memset(&r, ctx, mem, 1, 0, 1);
	ck_assert_int_eq(tf_call(&D, &r, &p), VGPUIF_RSP_EINVAL);
	mk_memset(&r, ctx, mem, 0, 0, 1);
	ck_assert_int_eq(tf_call(&D, &r, &p), 0);
	down_clean(&D);
}
END_TEST

/*
 * What a revision-1 guest sends, against a revision-2 backend and one told
 * to speak revision 1: the same statuses, results and data.
 */
START_TEST(test_old_guest_same_answers)
{
	static const int expect[] = { 0, 0, 0, 0, 0, VGPUIF_RSP_ERANGE,
				      VGPUIF_RSP_ENOSYS, 0, 0 };
	int got[2][9];
	uint8_t data[2][300];

	for (int rev1 = 0; rev1 < 2; rev1++) {
		struct vgpuif_request r;
		struct vgpuif_response p;
		uint8_t in[300];
		uint32_t ctx;
		uint64_t mem;
		int k = 0;

		memset(&D, 0, sizeof(D));
		up(&D, NULL, rev1);
		for (int i = 0; i < 300; i++)
			in[i] = (uint8_t)(i * 3);
		got[rev1][k++] = tf_nop(&D);
		got[rev1][k++] = tf_ctx_create(&D, &ctx);
		got[rev1][k++] = tf_mem_alloc(&D, ctx, 4096, &mem);
		got[rev1][k++] = tf_copy(&D, VGPUIF_OP_MEMCPY_H2D, ctx, mem, 10,
					 in, sizeof(in), false);
		mk_memset(&r, ctx, mem, 0, 20, 0x77);
		got[rev1][k++] = tf_call(&D, &r, &p);
		mk_memset(&r, ctx, mem, 0, 4000, 0x77);   /* past the end */
		got[rev1][k++] = tf_call(&D, &r, &p);
		memset(&r, 0, sizeof(r));
		r.op = VGPUIF_OP_COUNT;                    /* op 33: no revision's */
		got[rev1][k++] = tf_call(&D, &r, &p);
		memset(&r, 0, sizeof(r));
		r.op = VGPUIF_OP_SYNC;
		r.ctx = ctx;
		got[rev1][k++] = tf_call(&D, &r, &p);
		got[rev1][k++] = tf_copy(&D, VGPUIF_OP_MEMCPY_D2H, ctx, mem, 10,
					 data[rev1], sizeof(data[rev1]), false);
		down_clean(&D);
		tf_dom_destroy(&D);
		for (int i = 0; i < 9; i++)
			ck_assert_msg(got[rev1][i] == expect[i],
				      "revision %d, step %d: %d", rev1 ? 1 : 2,
				      i, got[rev1][i]);
	}
	ck_assert(!memcmp(data[0], data[1], sizeof(data[0])));
	ck_assert_uint_eq(data[0][10], 0x77);
	ck_assert_uint_eq(data[0][9], 27);
}
END_TEST

/* ----------------------------------------------------------- ordering */

/*
 * Work queued on stream s1 (each op 100 ms): queries answer before it is
 * done and say it is pending; the idle stream s2 and its sync answer at
 * once; a request the backend refuses answers at once; the record, the
 * stream sync and the event sync answer after the work they cover.
 */
START_TEST(test_pending_work_is_seen)
{
	struct vgpuif_request r;
	struct arrivals a = { .n = 0 };
	uint64_t mem, s1, s2, e0, e1, id_set[NQUEUED], id_rec, id_q1, id_q2,
		 id_qe, id_el, id_bad, id_sync2, id_ssync, id_esync;
	const struct vgpuif_response *p;
	uint32_t ctx;

	up(&D, "100000", false);
	ck_assert_int_eq(tf_ctx_create(&D, &ctx), 0);
	ck_assert_int_eq(tf_mem_alloc(&D, ctx, 1 << 16, &mem), 0);
	s1 = r2_create(&D, VGPUIF_OP_STREAM_CREATE, ctx, 0);
	s2 = r2_create(&D, VGPUIF_OP_STREAM_CREATE, ctx, VGPUIF_STREAM_NON_BLOCKING);
	e0 = r2_create(&D, VGPUIF_OP_EVENT_CREATE, ctx, 0);
	e1 = r2_create(&D, VGPUIF_OP_EVENT_CREATE, ctx, 0);

	mk_event_op(&r, VGPUIF_OP_EVENT_RECORD, ctx, e0, s1, 0);
	ck_assert_int_eq(tf_call(&D, &r, &a.rsp[0]), 0);
	for (int i = 0; i < NQUEUED; i++) {
		mk_memset(&r, ctx, mem, s1, (uint64_t)i * 256, (uint8_t)(i + 1));
		id_set[i] = tf_submit(&D, &r);
	}
	mk_event_op(&r, VGPUIF_OP_EVENT_RECORD, ctx, e1, s1, 0);
	id_rec = tf_submit(&D, &r);
	mk_stream_op(&r, VGPUIF_OP_STREAM_QUERY, ctx, s1);
	id_q1 = tf_submit(&D, &r);
	mk_stream_op(&r, VGPUIF_OP_STREAM_QUERY, ctx, s2);
	id_q2 = tf_submit(&D, &r);
	mk_event_op(&r, VGPUIF_OP_EVENT_QUERY, ctx, e1, 0, 0);
	id_qe = tf_submit(&D, &r);
	mk_event_op(&r, VGPUIF_OP_EVENT_ELAPSED, ctx, e0, 0, e1);
	id_el = tf_submit(&D, &r);
	mk_memset(&r, ctx, mem, s1, (1 << 16) - 128, 9);   /* past the end */
	id_bad = tf_submit(&D, &r);
	mk_stream_op(&r, VGPUIF_OP_STREAM_SYNC, ctx, s2);
	id_sync2 = tf_submit(&D, &r);
	mk_stream_op(&r, VGPUIF_OP_STREAM_SYNC, ctx, s1);
	id_ssync = tf_submit(&D, &r);
	mk_event_op(&r, VGPUIF_OP_EVENT_SYNC, ctx, e1, 0, 0);
	id_esync = tf_submit(&D, &r);
	a.n = 0;
	collect(&D, &a, NQUEUED + 9);

	/* the answers that do not wait, and what they say */
	p = find(&a, id_q1, NULL);
	ck_assert_int_eq(p->status, 0);
	ck_assert_uint_eq(p->result[0], 0);                 /* s1 busy */
	p = find(&a, id_q2, NULL);
	ck_assert_int_eq(p->status, 0);
	ck_assert_uint_eq(p->result[0], 1);                 /* s2 idle */
	p = find(&a, id_qe, NULL);
	ck_assert_int_eq(p->status, 0);
	ck_assert_uint_eq(p->result[0], 0);                 /* e1 pending */
	ck_assert_int_eq(find(&a, id_el, NULL)->status, VGPUIF_RSP_EBUSY);
	ck_assert_int_eq(find(&a, id_bad, NULL)->status, VGPUIF_RSP_ERANGE);
	ck_assert_int_eq(find(&a, id_sync2, NULL)->status, 0);
	/* ... all came before the last queued op finished */
	ck_assert_int_lt(pos_of(&a, id_q1), pos_of(&a, id_set[NQUEUED - 1]));
	ck_assert_int_lt(pos_of(&a, id_q2), pos_of(&a, id_set[NQUEUED - 1]));
	ck_assert_int_lt(pos_of(&a, id_qe), pos_of(&a, id_set[NQUEUED - 1]));
	ck_assert_int_lt(pos_of(&a, id_el), pos_of(&a, id_set[NQUEUED - 1]));
	ck_assert_int_lt(pos_of(&a, id_bad), pos_of(&a, id_set[NQUEUED - 1]));
	ck_assert_int_lt(pos_of(&a, id_sync2), pos_of(&a, id_set[NQUEUED - 1]));
	/* the stream's own order, and the waits after what they wait for */
	for (int i = 0; i < NQUEUED; i++) {
		ck_assert_int_eq(find(&a, id_set[i], NULL)->status, 0);
		if (i)
			ck_assert_int_lt(pos_of(&a, id_set[i - 1]),
					 pos_of(&a, id_set[i]));
	}
	ck_assert_int_lt(pos_of(&a, id_set[NQUEUED - 1]), pos_of(&a, id_rec));
	ck_assert_int_lt(pos_of(&a, id_rec), pos_of(&a, id_ssync));
	ck_assert_int_lt(pos_of(&a, id_rec), pos_of(&a, id_esync));
	ck_assert_int_eq(find(&a, id_ssync, NULL)->status, 0);
	ck_assert_int_eq(find(&a, id_esync, NULL)->status, 0);

	/* now everything is done, and says so */
	mk_stream_op(&r, VGPUIF_OP_STREAM_QUERY, ctx, s1);
	ck_assert_int_eq(tf_call(&D, &r, &a.rsp[0]), 0);
	ck_assert_uint_eq(a.rsp[0].result[0], 1);
	mk_event_op(&r, VGPUIF_OP_EVENT_QUERY, ctx, e1, 0, 0);
	ck_assert_int_eq(tf_call(&D, &r, &a.rsp[0]), 0);
	ck_assert_uint_eq(a.rsp[0].result[0], 1);
	mk_event_op(&r, VGPUIF_OP_EVENT_ELAPSED, ctx, e0, 0, e1);
	ck_assert_int_eq(tf_call(&D, &r, &a.rsp[0]), 0);
	/* e0's record and each memset slept DELAY_US: a lower bound */
	ck_assert_msg(ms_of(&a.rsp[0]) >= (NQUEUED + 1) * (DELAY_US / 1000.0f) - 0.01f,
		      "elapsed %f ms", (double)ms_of(&a.rsp[0]));
	{
		uint8_t out[NQUEUED * 256];

		ck_assert_int_eq(tf_copy(&D, VGPUIF_OP_MEMCPY_D2H, ctx, mem, 0,
					 out, sizeof(out), false), 0);
		for (int i = 0; i < NQUEUED; i++)
			ck_assert_uint_eq(out[i * 256 + 255], i + 1);
	}
	down_clean(&D);
}
END_TEST

/*
 * STREAM_DESTROY answers after the stream's work; its handle is gone for
 * the requests after it at once. Work on the default stream (the legacy
 * stream) answers after the blocking stream's earlier work.
 */
START_TEST(test_destroy_and_default_stream)
{
	struct vgpuif_request r;
	struct arrivals a = { .n = 0 };
	uint64_t mem, s1, id_set[3], id_destroy, id_after, id_dflt;
	uint32_t ctx;

	up(&D, "100000", false);
	ck_assert_int_eq(tf_ctx_create(&D, &ctx), 0);
	ck_assert_int_eq(tf_mem_alloc(&D, ctx, 4096, &mem), 0);
	s1 = r2_create(&D, VGPUIF_OP_STREAM_CREATE, ctx, 0);
	for (int i = 0; i < 3; i++) {
		mk_memset(&r, ctx, mem, s1, (uint64_t)i * 256, 1);
		id_set[i] = tf_submit(&D, &r);
	}
	mk_memset(&r, ctx, mem, 0, 1024, 2);        /* legacy default stream */
	id_dflt = tf_submit(&D, &r);
	mk_stream_op(&r, VGPUIF_OP_STREAM_DESTROY, ctx, s1);
	id_destroy = tf_submit(&D, &r);
	mk_memset(&r, ctx, mem, s1, 0, 3);
	id_after = tf_submit(&D, &r);
	collect(&D, &a, 6);
	ck_assert_int_eq(find(&a, id_after, NULL)->status, VGPUIF_RSP_EBADF);
	ck_assert_int_lt(pos_of(&a, id_after), pos_of(&a, id_set[0]));
	ck_assert_int_lt(pos_of(&a, id_set[2]), pos_of(&a, id_dflt));
	ck_assert_int_lt(pos_of(&a, id_set[2]), pos_of(&a, id_destroy));
	ck_assert_int_eq(find(&a, id_destroy, NULL)->status, 0);
	mk_stream_op(&r, VGPUIF_OP_STREAM_SYNC, ctx, s1);
	ck_assert_int_eq(tf_call(&D, &r, &a.rsp[0]), VGPUIF_RSP_EBADF);
	down_clean(&D);
}
END_TEST

/* ------------------------------------------------------------ objects */

START_TEST(test_device_info_and_inline)
{
	struct vgpuif_request r;
	struct vgpuif_response p;
	struct vgpuif_device_info *di;
	uint8_t in[64], out[64];
	uint32_t ctx;
	uint64_t mem;
	int64_t f;
	int g;

	up(&D, NULL, false);
	f = tf_frames(&D, 1);
	g = tf_grant(&D, f, false);
	memset(&r, 0, sizeof(r));
	r.op = VGPUIF_OP_DEVICE_INFO;
	r.nr_segments = 1;
	r.u.seg[0].gref = (uint32_t)g;
	r.u.seg[0].length = sizeof(*di);
	ck_assert_int_eq(tf_call(&D, &r, &p), 0);
	di = tf_page(&D, f);
	ck_assert_uint_eq(di->version, 1);
	ck_assert_str_eq(di->name, "cpu reference executor");
	ck_assert_uint_eq(di->driver_version, 0);
	ck_assert_int_eq(di->attr[10], 32);                 /* WARP_SIZE */
	ck_assert_int_eq(di->attr[1], 1024);                /* MAX_THREADS */

	ck_assert_int_eq(tf_ctx_create(&D, &ctx), 0);
	ck_assert_int_eq(tf_mem_alloc(&D, ctx, 4096, &mem), 0);
	for (int i = 0; i < 64; i++)
		in[i] = (uint8_t)(200 - i);
	memset(&r, 0, sizeof(r));
	r.op = VGPUIF_OP_MEMCPY_H2D;
	r.ctx = ctx;
	r.flags = VGPUIF_F_INLINE;
	r.nr_segments = 64;
	r.args.memcpy.mem = mem;
	r.args.memcpy.offset = 4000;
	r.args.memcpy.length = 64;
	memcpy(r.u.inline_data, in, 64);
	ck_assert_int_eq(tf_call(&D, &r, &p), 0);
	ck_assert_int_eq(tf_copy(&D, VGPUIF_OP_MEMCPY_D2H, ctx, mem, 4000, out,
				 64, false), 0);
	ck_assert(!memcmp(in, out, 64));
	down_clean(&D);
}
END_TEST

/*
 * The stream limit of a context; streams and events left alive, some with
 * work queued, when the context and then the connection go: the backend
 * releases them all and exits 0.
 */
START_TEST(test_limits_and_leftovers)
{
	struct vgpuif_request r;
	struct vgpuif_response p;
	uint32_t ctx, ctx2;
	uint64_t mem, s = 0, e;

	up(&D, "2000", false);
	ck_assert_int_eq(tf_ctx_create(&D, &ctx), 0);
	for (unsigned int i = 0; i < VGPUIF_MAX_STREAMS_PER_CTX; i++)
		s = r2_create(&D, VGPUIF_OP_STREAM_CREATE, ctx, 0);
	memset(&r, 0, sizeof(r));
	r.op = VGPUIF_OP_STREAM_CREATE;
	r.ctx = ctx;
	ck_assert_int_eq(tf_call(&D, &r, &p), VGPUIF_RSP_EMFILE);
	/* another context has its own limit */
	ck_assert_int_eq(tf_ctx_create(&D, &ctx2), 0);
	r2_create(&D, VGPUIF_OP_STREAM_CREATE, ctx2, 0);
	ck_assert_int_eq(tf_mem_alloc(&D, ctx2, 4096, &mem), 0);
	for (int i = 0; i < 8; i++)
		e = r2_create(&D, VGPUIF_OP_EVENT_CREATE, ctx2, 0);
	mk_event_op(&r, VGPUIF_OP_EVENT_RECORD, ctx2, e, 0, 0);
	ck_assert_int_eq(tf_call(&D, &r, &p), 0);
	/* destroy ctx: its 256 streams go; stream handles of it are stale */
	memset(&r, 0, sizeof(r));
	r.op = VGPUIF_OP_CTX_DESTROY;
	r.ctx = ctx;
	ck_assert_int_eq(tf_call(&D, &r, &p), 0);
	mk_stream_op(&r, VGPUIF_OP_STREAM_QUERY, ctx2, s);
	ck_assert_int_eq(tf_call(&D, &r, &p), VGPUIF_RSP_EBADF);
	/* work queued on ctx2 when the frontend closes */
	for (int i = 0; i < 4; i++) {
		mk_memset(&r, ctx2, mem, 0, 0, 5);
		tf_submit(&D, &r);
	}
	mk_event_op(&r, VGPUIF_OP_EVENT_RECORD, ctx2, e, 0, 0);
	tf_submit(&D, &r);
	ck_assert_int_eq(tf_close(&D), 0);
	down_clean(&D);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("integration r2");
	TCase *tc = tcase_create("versions");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_features_advertised);
	tcase_add_test(tc, test_revision1_backend);
	tcase_add_test(tc, test_old_guest_same_answers);
	suite_add_tcase(s, tc);
	tc = tcase_create("ordering");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_pending_work_is_seen);
	tcase_add_test(tc, test_destroy_and_default_stream);
	suite_add_tcase(s, tc);
	tc = tcase_create("objects");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_device_info_and_inline);
	tcase_add_test(tc, test_host_memory);
	tcase_add_test(tc, test_host_memory_revision2);
	tcase_add_test(tc, test_limits_and_leftovers);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
