/* SPDX-License-Identifier: MIT */
/*
 * exec-test-r2.c - the executor contract for protocol revision 2: the
 * device snapshot, streams (per-stream order, the default stream, queries),
 * events (record, wait, sync, query, elapsed) and their bad input. Every
 * executor runs it; what needs control over the order (work that is really
 * pending) is in the executor's own suite.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec-test.h"

/* ------------------------------------------------------------- helpers */

int et_stream_create(struct vgpu_exec *ex, struct vgpu_exec_ctx *ctx,
		     uint32_t flags, struct vgpu_exec_stream **out)
{
	struct vgpu_exec_op op = { .opcode = VGPUIF_OP_STREAM_CREATE, .ctx = ctx };
	int rc;

	op.u.stream_create.flags = flags;
	rc = et_run(ex, &op);
	if (!rc) {
		ck_assert_ptr_nonnull(op.object);
		*out = op.object;
	} else {
		ck_assert_ptr_null(op.object);
	}
	return rc;
}

int et_stream_op(struct vgpu_exec *ex, struct vgpu_exec_ctx *ctx, int opcode,
		 struct vgpu_exec_stream *s, uint64_t *result0)
{
	struct vgpu_exec_op op = { .opcode = (uint8_t)opcode, .ctx = ctx,
				   .stream = s };
	int rc = et_run(ex, &op);

	if (result0)
		*result0 = op.result[0];
	return rc;
}

int et_event_create(struct vgpu_exec *ex, struct vgpu_exec_ctx *ctx,
		    uint32_t flags, struct vgpu_exec_event **out)
{
	struct vgpu_exec_op op = { .opcode = VGPUIF_OP_EVENT_CREATE, .ctx = ctx };
	int rc;

	op.u.event_create.flags = flags;
	rc = et_run(ex, &op);
	if (!rc) {
		ck_assert_ptr_nonnull(op.object);
		*out = op.object;
	} else {
		ck_assert_ptr_null(op.object);
	}
	return rc;
}

int et_event_op(struct vgpu_exec *ex, struct vgpu_exec_ctx *ctx, int opcode,
		struct vgpu_exec_event *e, struct vgpu_exec_stream *s,
		uint64_t *result0)
{
	struct vgpu_exec_op op = { .opcode = (uint8_t)opcode, .ctx = ctx,
				   .stream = s };
	int rc;

	op.u.event.event = e;
	rc = et_run(ex, &op);
	if (result0)
		*result0 = op.result[0];
	return rc;
}

int et_elapsed(struct vgpu_exec *ex, struct vgpu_exec_ctx *ctx,
	       struct vgpu_exec_event *a, struct vgpu_exec_event *b, float *ms)
{
	struct vgpu_exec_op op = { .opcode = VGPUIF_OP_EVENT_ELAPSED, .ctx = ctx };
	uint32_t bits;
	int rc;

	op.u.elapsed.start = a;
	op.u.elapsed.end = b;
	rc = et_run(ex, &op);
	if (!rc && ms) {
		ck_assert_uint_eq(op.result[0] >> 32, 0);
		bits = (uint32_t)op.result[0];
		memcpy(ms, &bits, sizeof(*ms));
	}
	return rc;
}

static int copy_on(struct vgpu_exec *ex, struct vgpu_exec_ctx *c, int opcode,
		   struct vgpu_exec_stream *s, struct vgpu_exec_mem *m,
		   uint64_t off, void *buf, size_t len)
{
	struct vgpu_exec_iov iov = { buf, len };
	struct vgpu_exec_op op = { .opcode = (uint8_t)opcode, .ctx = c,
				   .stream = s, .iov = &iov, .niov = 1 };

	op.u.copy.mem = m;
	op.u.copy.offset = off;
	op.u.copy.length = len;
	return et_run(ex, &op);
}

static int memset_on(struct vgpu_exec *ex, struct vgpu_exec_ctx *c,
		     struct vgpu_exec_stream *s, struct vgpu_exec_mem *m,
		     uint64_t off, uint64_t len, uint8_t v)
{
	struct vgpu_exec_op op = { .opcode = VGPUIF_OP_MEMSET, .ctx = c,
				   .stream = s };

	op.u.memset.mem = m;
	op.u.memset.offset = off;
	op.u.memset.length = len;
	op.u.memset.value = v;
	op.u.memset.elem_size = 1;
	return et_run(ex, &op);
}

/* ------------------------------------------------------------ fixture */

static const char *r2_name;
static bool r2_async;
static struct vgpu_exec *ex;
static struct vgpu_exec_ctx *ctx, *ctx2;

static void log_quiet(void *arg, int level, const char *msg)
{
	(void)arg;
	if (level <= 1)
		fprintf(stderr, "%s\n", msg);
}

static void setup(void)
{
	struct vgpu_exec_config cfg = {
		.name = r2_name, .domid = 8, .log = log_quiet,
		.cpu_async = r2_async,
	};
	const char *why = NULL;
	int rc;

	rc = vgpu_exec_open(&ex, &cfg, &why);
	ck_assert_msg(rc == 0, "open %s: %d (%s)", r2_name, rc, why ? why : "?");
	ck_assert_int_eq(vgpu_exec_ctx_create(ex, &ctx), 0);
	ck_assert_int_eq(vgpu_exec_ctx_create(ex, &ctx2), 0);
}

static void teardown(void)
{
	vgpu_exec_ctx_destroy(ex, ctx2);
	vgpu_exec_ctx_destroy(ex, ctx);
	vgpu_exec_close(ex);
	ex = NULL;
	ctx = ctx2 = NULL;
}

static bool attr_valid(const struct vgpuif_device_info *d, unsigned int i)
{
	return d->attr_valid[i / 32] & (1u << (i % 32));
}

/* ---------------------------------------------------- device snapshot */

START_TEST(test_device_info)
{
	struct vgpuif_device_info d, d2;
	struct vgpu_exec_info info;

	ck_assert_int_eq(vgpu_exec_get_info(ex, &info), 0);
	memset(&d, 0xa5, sizeof(d));
	ck_assert_int_eq(vgpu_exec_device_info(ex, &d), 0);
	ck_assert_uint_eq(d.version, 1);
	ck_assert(memchr(d.name, '\0', sizeof(d.name)) != NULL);
	ck_assert_uint_gt(strlen(d.name), 0);
	ck_assert_uint_eq(d.total_mem, info.total_mem);
	ck_assert_uint_le(d.nr_attrs, VGPUIF_MAX_DEVICE_ATTRS);
	ck_assert_uint_gt(d.nr_attrs, 106);
	/* i = 0 is no attribute: never valid */
	ck_assert(!attr_valid(&d, 0));
	ck_assert_int_eq(d.attr[0], 0);
	/* what every CUDA program reads (CUdevice_attribute values) */
	ck_assert(attr_valid(&d, 10));
	ck_assert_int_eq(d.attr[10], 32);                /* WARP_SIZE */
	ck_assert(attr_valid(&d, 1));
	ck_assert_int_eq(d.attr[1], VGPUIF_MAX_BLOCK_THREADS);
	ck_assert(attr_valid(&d, 16));                   /* MULTIPROCESSORS */
	ck_assert_int_eq(d.attr[16], (int32_t)info.sm_count);
	ck_assert(attr_valid(&d, 75) && attr_valid(&d, 76));
	ck_assert_int_eq(d.attr[75], (int32_t)info.cc_major);
	ck_assert_int_eq(d.attr[76], (int32_t)info.cc_minor);
	for (unsigned int i = d.nr_attrs; i < VGPUIF_MAX_DEVICE_ATTRS; i++) {
		ck_assert(!attr_valid(&d, i));
		ck_assert_int_eq(d.attr[i], 0);
	}
	for (unsigned int i = 0; i < VGPUIF_MAX_DEVICE_ATTRS; i++)
		if (!attr_valid(&d, i))
			ck_assert_int_eq(d.attr[i], 0);
	ck_assert_int_le(d.stream_priority_greatest, d.stream_priority_least);
	for (size_t i = 0; i < sizeof(d.reserved); i++)
		ck_assert_uint_eq(d.reserved[i], 0);
	if (!strcmp(r2_name, "cpu")) {
		ck_assert_uint_eq(d.driver_version, 0);
		ck_assert_str_eq(d.name, info.name);
	} else {
		ck_assert_uint_gt(d.driver_version, 0);
	}
	/* a snapshot: the same answer every time, even with memory in use */
	{
		struct vgpu_exec_mem *m;

		ck_assert_int_eq(et_alloc(ex, ctx, 1 << 20, &m, NULL), 0);
		ck_assert_int_eq(vgpu_exec_device_info(ex, &d2), 0);
		ck_assert(!memcmp(&d, &d2, sizeof(d)));
		ck_assert_int_eq(et_free(ex, ctx, m), 0);
	}
	ck_assert_int_eq(vgpu_exec_device_info(NULL, &d2), -EINVAL);
	ck_assert_int_eq(vgpu_exec_device_info(ex, NULL), -EINVAL);
}
END_TEST

/* ------------------------------------------------------------ streams */

/* Work on three streams (default, blocking, non-blocking), each in order. */
START_TEST(test_stream_order)
{
	enum { SZ = 3 * 4096, ROUNDS = 16 };
	struct vgpu_exec_stream *s[3] = { NULL };
	struct vgpu_exec_mem *m;
	static unsigned char in[3][SZ], out[SZ];
	uint64_t idle;

	ck_assert_int_eq(et_stream_create(ex, ctx, 0, &s[1]), 0);
	ck_assert_int_eq(et_stream_create(ex, ctx, VGPUIF_STREAM_NON_BLOCKING,
					  &s[2]), 0);
	ck_assert_ptr_ne(s[1], s[2]);
	ck_assert_int_eq(et_alloc(ex, ctx, 3 * SZ, &m, NULL), 0);
	for (int r = 0; r < ROUNDS; r++) {
		for (int k = 0; k < 3; k++) {
			/* each stream: H2D, then a memset over its first
			 * bytes, then the next round's H2D: the last wins */
			et_fill(in[k], SZ, (uint32_t)(r * 3 + k));
			ck_assert_int_eq(copy_on(ex, ctx, VGPUIF_OP_MEMCPY_H2D,
						 s[k], m, (uint64_t)k * SZ,
						 in[k], SZ), 0);
			ck_assert_int_eq(memset_on(ex, ctx, s[k], m,
						   (uint64_t)k * SZ, 100,
						   (uint8_t)(r + k)), 0);
		}
	}
	for (int k = 0; k < 3; k++) {
		ck_assert_int_eq(et_stream_op(ex, ctx, VGPUIF_OP_STREAM_SYNC,
					      s[k], NULL), 0);
		ck_assert_int_eq(et_stream_op(ex, ctx, VGPUIF_OP_STREAM_QUERY,
					      s[k], &idle), 0);
		ck_assert_uint_eq(idle, 1);
		ck_assert_int_eq(copy_on(ex, ctx, VGPUIF_OP_MEMCPY_D2H, s[k], m,
					 (uint64_t)k * SZ, out, SZ), 0);
		memset(in[k], ROUNDS - 1 + k, 100);
		ck_assert_msg(!memcmp(out, in[k], SZ), "stream %d", k);
	}
	ck_assert_int_eq(et_stream_op(ex, ctx, VGPUIF_OP_STREAM_DESTROY, s[1],
				      NULL), 0);
	ck_assert_int_eq(et_stream_op(ex, ctx, VGPUIF_OP_STREAM_DESTROY, s[2],
				      NULL), 0);
	ck_assert_int_eq(et_sync(ex, ctx), 0);
	ck_assert_int_eq(et_free(ex, ctx, m), 0);
}
END_TEST

/* Streams die with their context (no leak, under ASan/LSan). */
START_TEST(test_streams_die_with_ctx)
{
	struct vgpu_exec_ctx *c;
	struct vgpu_exec_stream *s;
	struct vgpu_exec_event *e;

	for (int round = 0; round < 3; round++) {
		ck_assert_int_eq(vgpu_exec_ctx_create(ex, &c), 0);
		for (int i = 0; i < 16; i++) {
			ck_assert_int_eq(et_stream_create(ex, c, 0, &s), 0);
			ck_assert_int_eq(et_event_create(ex, c, 0, &e), 0);
			ck_assert_int_eq(et_event_op(ex, c, VGPUIF_OP_EVENT_RECORD,
						     e, s, NULL), 0);
		}
		vgpu_exec_ctx_destroy(ex, c);
	}
}
END_TEST

/* ------------------------------------------------------------- events */

START_TEST(test_events)
{
	struct vgpu_exec_stream *s, *s2;
	struct vgpu_exec_event *a, *b, *nt;
	struct vgpu_exec_mem *m;
	static unsigned char buf[65536], out[65536];
	uint64_t done;
	float ms = -1;

	ck_assert_int_eq(et_stream_create(ex, ctx, 0, &s), 0);
	ck_assert_int_eq(et_stream_create(ex, ctx, VGPUIF_STREAM_NON_BLOCKING,
					  &s2), 0);
	ck_assert_int_eq(et_event_create(ex, ctx, 0, &a), 0);
	ck_assert_int_eq(et_event_create(ex, ctx, VGPUIF_EVENT_BLOCKING_SYNC,
					  &b), 0);
	ck_assert_int_eq(et_event_create(ex, ctx, VGPUIF_EVENT_DISABLE_TIMING,
					  &nt), 0);
	ck_assert_int_eq(et_alloc(ex, ctx, sizeof(buf), &m, NULL), 0);

	/* never recorded: done; sync at once; no elapsed time */
	ck_assert_int_eq(et_event_op(ex, ctx, VGPUIF_OP_EVENT_QUERY, a, NULL,
				     &done), 0);
	ck_assert_uint_eq(done, 1);
	ck_assert_int_eq(et_event_op(ex, ctx, VGPUIF_OP_EVENT_SYNC, a, NULL,
				     NULL), 0);
	ck_assert_int_eq(et_elapsed(ex, ctx, a, b, &ms), VGPUIF_RSP_EINVAL);

	/* a, work, b on s; s2 waits for b, then reads what s wrote */
	et_fill(buf, sizeof(buf), 77);
	ck_assert_int_eq(et_event_op(ex, ctx, VGPUIF_OP_EVENT_RECORD, a, s,
				     NULL), 0);
	ck_assert_int_eq(copy_on(ex, ctx, VGPUIF_OP_MEMCPY_H2D, s, m, 0, buf,
				 sizeof(buf)), 0);
	ck_assert_int_eq(et_event_op(ex, ctx, VGPUIF_OP_EVENT_RECORD, b, s,
				     NULL), 0);
	ck_assert_int_eq(et_event_op(ex, ctx, VGPUIF_OP_EVENT_RECORD, nt, s,
				     NULL), 0);
	ck_assert_int_eq(et_event_op(ex, ctx, VGPUIF_OP_STREAM_WAIT_EVENT, b,
				     s2, NULL), 0);
	ck_assert_int_eq(copy_on(ex, ctx, VGPUIF_OP_MEMCPY_D2H, s2, m, 0, out,
				 sizeof(out)), 0);
	ck_assert(!memcmp(buf, out, sizeof(buf)));
	ck_assert_int_eq(et_event_op(ex, ctx, VGPUIF_OP_EVENT_SYNC, b, NULL,
				     NULL), 0);
	ck_assert_int_eq(et_event_op(ex, ctx, VGPUIF_OP_EVENT_QUERY, b, NULL,
				     &done), 0);
	ck_assert_uint_eq(done, 1);
	ck_assert_int_eq(et_elapsed(ex, ctx, a, b, &ms), 0);
	ck_assert(isfinite(ms));
	ck_assert(ms >= 0.0f);
	ck_assert_int_eq(et_elapsed(ex, ctx, a, nt, &ms), VGPUIF_RSP_EINVAL);
	ck_assert_int_eq(et_elapsed(ex, ctx, nt, b, &ms), VGPUIF_RSP_EINVAL);
	/* a record on the default stream, a wait on the default stream */
	ck_assert_int_eq(et_event_op(ex, ctx, VGPUIF_OP_EVENT_RECORD, a, NULL,
				     NULL), 0);
	ck_assert_int_eq(et_event_op(ex, ctx, VGPUIF_OP_STREAM_WAIT_EVENT, a,
				     NULL, NULL), 0);
	ck_assert_int_eq(et_event_op(ex, ctx, VGPUIF_OP_EVENT_SYNC, a, NULL,
				     NULL), 0);

	ck_assert_int_eq(et_event_op(ex, ctx, VGPUIF_OP_EVENT_DESTROY, a, NULL,
				     NULL), 0);
	ck_assert_int_eq(et_event_op(ex, ctx, VGPUIF_OP_EVENT_DESTROY, b, NULL,
				     NULL), 0);
	ck_assert_int_eq(et_event_op(ex, ctx, VGPUIF_OP_EVENT_DESTROY, nt, NULL,
				     NULL), 0);
	ck_assert_int_eq(et_stream_op(ex, ctx, VGPUIF_OP_STREAM_DESTROY, s,
				      NULL), 0);
	ck_assert_int_eq(et_stream_op(ex, ctx, VGPUIF_OP_STREAM_DESTROY, s2,
				      NULL), 0);
	ck_assert_int_eq(et_free(ex, ctx, m), 0);
}
END_TEST

/* ---------------------------------------------------- bad input table */

enum r2_obj { O_NONE, O_MINE, O_OTHER_CTX };

static const struct r2_row {
	const char *what;
	uint8_t opcode;
	uint32_t flags;          /* create flags                            */
	enum r2_obj stream, event, event2;
	int status;
} r2_rows[] = {
	{ "stream_create flag 0x2", VGPUIF_OP_STREAM_CREATE, 0x2, O_NONE, O_NONE, O_NONE, VGPUIF_RSP_EINVAL },
	{ "stream_create all bits", VGPUIF_OP_STREAM_CREATE, ~0u, O_NONE, O_NONE, O_NONE, VGPUIF_RSP_EINVAL },
	{ "event_create INTERPROCESS", VGPUIF_OP_EVENT_CREATE, 0x4, O_NONE, O_NONE, O_NONE, VGPUIF_RSP_EINVAL },
	{ "event_create flag 0x80", VGPUIF_OP_EVENT_CREATE, 0x80, O_NONE, O_NONE, O_NONE, VGPUIF_RSP_EINVAL },
	{ "stream_destroy default", VGPUIF_OP_STREAM_DESTROY, 0, O_NONE, O_NONE, O_NONE, VGPUIF_RSP_EBADF },
	{ "stream_destroy other ctx", VGPUIF_OP_STREAM_DESTROY, 0, O_OTHER_CTX, O_NONE, O_NONE, VGPUIF_RSP_EBADF },
	{ "stream_sync other ctx", VGPUIF_OP_STREAM_SYNC, 0, O_OTHER_CTX, O_NONE, O_NONE, VGPUIF_RSP_EBADF },
	{ "stream_query other ctx", VGPUIF_OP_STREAM_QUERY, 0, O_OTHER_CTX, O_NONE, O_NONE, VGPUIF_RSP_EBADF },
	{ "h2d on other ctx's stream", VGPUIF_OP_MEMCPY_H2D, 0, O_OTHER_CTX, O_NONE, O_NONE, VGPUIF_RSP_EBADF },
	{ "memset on other ctx's stream", VGPUIF_OP_MEMSET, 0, O_OTHER_CTX, O_NONE, O_NONE, VGPUIF_RSP_EBADF },
	{ "record other ctx's event", VGPUIF_OP_EVENT_RECORD, 0, O_MINE, O_OTHER_CTX, O_NONE, VGPUIF_RSP_EBADF },
	{ "record on other ctx's stream", VGPUIF_OP_EVENT_RECORD, 0, O_OTHER_CTX, O_MINE, O_NONE, VGPUIF_RSP_EBADF },
	{ "wait for other ctx's event", VGPUIF_OP_STREAM_WAIT_EVENT, 0, O_MINE, O_OTHER_CTX, O_NONE, VGPUIF_RSP_EBADF },
	{ "event_sync other ctx", VGPUIF_OP_EVENT_SYNC, 0, O_NONE, O_OTHER_CTX, O_NONE, VGPUIF_RSP_EBADF },
	{ "event_query other ctx", VGPUIF_OP_EVENT_QUERY, 0, O_NONE, O_OTHER_CTX, O_NONE, VGPUIF_RSP_EBADF },
	{ "event_destroy other ctx", VGPUIF_OP_EVENT_DESTROY, 0, O_NONE, O_OTHER_CTX, O_NONE, VGPUIF_RSP_EBADF },
	{ "elapsed start of other ctx", VGPUIF_OP_EVENT_ELAPSED, 0, O_NONE, O_OTHER_CTX, O_MINE, VGPUIF_RSP_EBADF },
	{ "elapsed end of other ctx", VGPUIF_OP_EVENT_ELAPSED, 0, O_NONE, O_MINE, O_OTHER_CTX, VGPUIF_RSP_EBADF },
	{ "event_query no event", VGPUIF_OP_EVENT_QUERY, 0, O_NONE, O_NONE, O_NONE, VGPUIF_RSP_EBADF },
	{ "record no event", VGPUIF_OP_EVENT_RECORD, 0, O_MINE, O_NONE, O_NONE, VGPUIF_RSP_EBADF },
};

START_TEST(test_r2_bad_input)
{
	const struct r2_row *r = &r2_rows[_i];
	struct vgpu_exec_stream *mine_s, *other_s;
	struct vgpu_exec_event *mine_e, *other_e;
	struct vgpu_exec_mem *m;
	unsigned char buf[16] = { 0 };
	struct vgpu_exec_iov iov = { buf, sizeof(buf) };
	struct vgpu_exec_op op = { .opcode = r->opcode, .ctx = ctx };
	int rc;

	ck_assert_int_eq(et_stream_create(ex, ctx, 0, &mine_s), 0);
	ck_assert_int_eq(et_stream_create(ex, ctx2, 0, &other_s), 0);
	ck_assert_int_eq(et_event_create(ex, ctx, 0, &mine_e), 0);
	ck_assert_int_eq(et_event_create(ex, ctx2, 0, &other_e), 0);
	ck_assert_int_eq(et_alloc(ex, ctx, 4096, &m, NULL), 0);

	op.stream = r->stream == O_MINE ? mine_s :
		    r->stream == O_OTHER_CTX ? other_s : NULL;
	switch (r->opcode) {
	case VGPUIF_OP_STREAM_CREATE:
		op.u.stream_create.flags = r->flags;
		break;
	case VGPUIF_OP_EVENT_CREATE:
		op.u.event_create.flags = r->flags;
		break;
	case VGPUIF_OP_MEMCPY_H2D:
		op.u.copy.mem = m;
		op.u.copy.length = sizeof(buf);
		op.iov = &iov;
		op.niov = 1;
		break;
	case VGPUIF_OP_MEMSET:
		op.u.memset.mem = m;
		op.u.memset.length = 16;
		op.u.memset.elem_size = 1;
		break;
	case VGPUIF_OP_EVENT_ELAPSED:
		op.u.elapsed.start = r->event == O_MINE ? mine_e : other_e;
		op.u.elapsed.end = r->event2 == O_MINE ? mine_e : other_e;
		break;
	default:
		op.u.event.event = r->event == O_MINE ? mine_e :
				   r->event == O_OTHER_CTX ? other_e : NULL;
		break;
	}
	rc = et_run(ex, &op);
	ck_assert_msg(rc == r->status, "%s: got %d (%s), want %d", r->what, rc,
		      vgpuif_status_str(rc), r->status);
	ck_assert_ptr_null(op.object);
	/* nothing broke: the objects still work */
	ck_assert_int_eq(et_event_op(ex, ctx, VGPUIF_OP_EVENT_RECORD, mine_e,
				     mine_s, NULL), 0);
	ck_assert_int_eq(et_stream_op(ex, ctx, VGPUIF_OP_STREAM_SYNC, mine_s,
				      NULL), 0);
	ck_assert_int_eq(et_event_op(ex, ctx2, VGPUIF_OP_EVENT_RECORD, other_e,
				     other_s, NULL), 0);
	ck_assert_int_eq(et_stream_op(ex, ctx2, VGPUIF_OP_STREAM_SYNC, other_s,
				      NULL), 0);
	ck_assert_int_eq(et_free(ex, ctx, m), 0);
}
END_TEST

Suite *et_contract_r2_suite(const char *exec_name, bool cpu_async)
{
	Suite *s = suite_create(cpu_async ? "executor contract r2 (worker thread)"
					  : "executor contract r2");
	TCase *tc;

	r2_name = exec_name;
	r2_async = cpu_async;
	tc = tcase_create("revision 2");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_device_info);
	tcase_add_test(tc, test_stream_order);
	tcase_add_test(tc, test_streams_die_with_ctx);
	tcase_add_test(tc, test_events);
	suite_add_tcase(s, tc);

	tc = tcase_create("revision 2 bad input");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_r2_bad_input, 0,
			    (int)(sizeof(r2_rows) / sizeof(r2_rows[0])));
	suite_add_tcase(s, tc);
	return s;
}
