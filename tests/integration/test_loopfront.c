/* SPDX-License-Identifier: MIT */
/*
 * test_loopfront.c - the real vgpu-backend driven by the project's
 * userspace frontend (guest/loopfront) over the loopback transport: a
 * multi-page ring, large copies split across indirect requests, many
 * requests in flight, persistent grants on and off, several domains at
 * once, and a backend killed -9 and restarted under a connected frontend.
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
#include "loopfront.h"

static struct tf_world W;

static void setup(void)
{
	tf_backend_path();
	ck_assert_int_eq(tf_world_init(&W), 0);
}

static void teardown(void)
{
	tf_world_fini(&W);
}

/* Domain + device + backend (tfront's toolstack part), then loopfront. */
static struct loopfront *open_lf(struct tf_dom *d, uint32_t domid, int persistent)
{
	struct loopfront_opts o;
	struct loopfront *lf;
	char why[256];

	memset(d, 0, sizeof(*d));
	ck_assert_int_eq(tf_dom_create(&W, d, domid, 0), 0);
	loopfront_opts_init(&o);
	o.world_dir = W.dir;
	o.domid = domid;
	o.persistent = persistent;
	o.timeout_ms = TF_WAIT_MS;
	lf = loopfront_open(&o, why, sizeof(why));
	ck_assert_msg(lf != NULL, "loopfront_open: %s", why);
	return lf;
}

static void close_lf(struct tf_dom *d, struct loopfront *lf)
{
	int st;

	ck_assert_int_eq(loopfront_close(lf), 0);
	st = tf_backend_stop(d);
	ck_assert_msg(st == 0, "backend exited %d (log %s)", st, d->log);
	tf_dom_destroy(d);
}

static void big_copy_roundtrip(struct loopfront *lf, size_t len)
{
	struct loopfront_buf *in = loopfront_buf_alloc(lf, len);
	struct loopfront_buf *out = loopfront_buf_alloc(lf, len);
	uint32_t ctx;
	uint64_t mem;
	uint8_t *p, *q;
	size_t i;

	ck_assert_ptr_nonnull(in);
	ck_assert_ptr_nonnull(out);
	p = loopfront_buf_ptr(in);
	q = loopfront_buf_ptr(out);
	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 131 + (i >> 12));
	memset(q, 0, len);
	ck_assert_int_eq(loopfront_ctx_create(lf, &ctx), 0);
	ck_assert_int_eq(loopfront_mem_alloc(lf, ctx, len, &mem, NULL), 0);
	ck_assert_int_eq(loopfront_memcpy_h2d(lf, ctx, mem, 0, in, 0, len), 0);
	ck_assert_int_eq(loopfront_memcpy_d2h(lf, ctx, mem, 0, out, 0, len), 0);
	ck_assert(memcmp(p, q, len) == 0);
	ck_assert_int_eq(loopfront_mem_free(lf, ctx, mem), 0);
	ck_assert_int_eq(loopfront_ctx_destroy(lf, ctx), 0);
	loopfront_buf_free(lf, in);
	loopfront_buf_free(lf, out);
}

START_TEST(test_large_copies)
{
	struct tf_dom d;
	struct loopfront *lf = open_lf(&d, 2, _i);

	ck_assert_uint_ge(loopfront_ring_size(lf), 32);
	big_copy_roundtrip(lf, 40u << 20); /* more than one request's 32 MiB */
	big_copy_roundtrip(lf, 4096 * 3 + 17);
	close_lf(&d, lf);
}
END_TEST

START_TEST(test_many_in_flight)
{
	struct tf_dom d;
	struct loopfront *lf = open_lf(&d, 3, 1);
	struct vgpuif_response rsp;
	union vgpuif_args a;
	unsigned int depth, n = 0, sent = 0;
	uint32_t ctx;
	uint64_t mem, id;

	ck_assert_int_eq(loopfront_ctx_create(lf, &ctx), 0);
	ck_assert_int_eq(loopfront_mem_alloc(lf, ctx, 4096, &mem, NULL), 0);
	depth = loopfront_ring_size(lf);
	memset(&a, 0, sizeof(a));
	a.memset.mem = mem;
	a.memset.length = 64;
	a.memset.elem_size = 1;
	while (n < 5000) {
		while (sent < 5000 && loopfront_inflight(lf) < depth &&
		       loopfront_submit(lf, VGPUIF_OP_MEMSET, ctx, &a, NULL, 0, &id) == 0)
			sent++;
		ck_assert_int_eq(loopfront_poll(lf, &rsp, -1), 1);
		ck_assert_int_eq(rsp.status, 0);
		n++;
	}
	close_lf(&d, lf);
}
END_TEST

START_TEST(test_domains_in_parallel)
{
	struct tf_dom d[3];
	struct loopfront *lf[3];
	unsigned int i;

	for (i = 0; i < 3; i++)
		lf[i] = open_lf(&d[i], 4 + i, 1);
	for (i = 0; i < 3; i++)
		big_copy_roundtrip(lf[i], 1u << 20);
	for (i = 0; i < 3; i++)
		close_lf(&d[i], lf[i]);
}
END_TEST

START_TEST(test_kill9_restart_loopfront)
{
	struct tf_dom d;
	struct loopfront *lf = open_lf(&d, 8, 1);
	struct loopfront_opts o;
	uint32_t ctx;
	char why[256];
	int st, r;

	ck_assert_int_eq(loopfront_ctx_create(lf, &ctx), 0);
	kill(d.backend, SIGKILL);
	waitpid(d.backend, &st, 0);
	d.backend = 0;
	ck_assert(tf_backend_start(&d) > 0);
	/* The new backend asks the stale frontend to close. */
	ck_assert_int_eq(tf_wait_be_state(&d, 5), 0);
	r = loopfront_nop(lf);
	ck_assert_msg(r != 0, "a NOP on the dead connection succeeded");
	loopfront_close(lf);
	ck_assert_int_eq(tf_wait_be_state(&d, 2), 0);
	loopfront_opts_init(&o);
	o.world_dir = W.dir;
	o.domid = 8;
	o.timeout_ms = TF_WAIT_MS;
	lf = loopfront_open(&o, why, sizeof(why));
	ck_assert_msg(lf != NULL, "reconnect: %s", why);
	ck_assert_int_eq(loopfront_nop(lf), 0);
	ck_assert_int_eq(loopfront_sync(lf, ctx), VGPUIF_RSP_EBADF);
	close_lf(&d, lf);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("backend-loopfront");
	TCase *tc = tcase_create("loopfront");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, test_large_copies, 0, 2); /* persistent 0, 1 */
	tcase_add_test(tc, test_many_in_flight);
	tcase_add_test(tc, test_domains_in_parallel);
	tcase_add_test(tc, test_kill9_restart_loopfront);
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
