/* SPDX-License-Identifier: MIT */
/*
 * test_exec_cpu.c - the executor dispatch and the cpu reference executor:
 * the executor contract (exec-test.c) on "cpu", opening by name with bad
 * names, "auto", unsupported ops, inline and worker-thread completion,
 * per-context order, the per-op delay and its exec_ns.
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

/* ------------------------------------------------- unsupported ops */

static const uint8_t unsupported[] = {
	VGPUIF_OP_MODULE_LOAD, VGPUIF_OP_MODULE_UNLOAD, VGPUIF_OP_FUNC_GET,
	VGPUIF_OP_LAUNCH,
};

START_TEST(test_unsupported)
{
	struct vgpu_exec_config cfg = { .name = "cpu" };
	struct vgpu_exec *ex;
	struct vgpu_exec_ctx *ctx;
	struct vgpu_exec_op op = { .opcode = unsupported[_i] };
	char image[] = ".version 8.0\n";
	struct vgpu_exec_iov iov = { image, sizeof(image) };

	ck_assert_int_eq(vgpu_exec_open(&ex, &cfg, NULL), 0);
	ck_assert_int_eq(vgpu_exec_ctx_create(ex, &ctx), 0);
	op.ctx = ctx;
	op.iov = &iov;
	op.niov = 1;
	op.u.module_load.image_len = sizeof(image);
	ck_assert_int_eq(et_run(ex, &op), VGPUIF_RSP_EOPNOTSUPP);
	ck_assert_ptr_null(op.object);
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
	ck_assert_int_eq(vgpu_exec_host_register(ex, &op, sizeof(op)), 0);
	vgpu_exec_host_unregister(ex, &op);
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
	tcase_add_loop_test(tc, test_unsupported, 0, (int)sizeof(unsupported));
	tcase_add_test(tc, test_addresses_not_reused);
	tcase_add_test(tc, test_submit_bad_op);
	suite_add_tcase(s, tc);

	tc = tcase_create("completion");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_inline_order);
	tcase_add_test(tc, test_worker_order);
	tcase_add_test(tc, test_delay);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(cpu_suite());
	int failed;

	srunner_add_suite(sr, et_contract_suite("cpu"));
	srunner_run_all(sr, CK_ENV); /* CK_VERBOSITY=verbose lists every test */
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
