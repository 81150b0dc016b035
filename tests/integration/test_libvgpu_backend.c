/* SPDX-License-Identifier: MIT */
/*
 * test_libvgpu_backend.c - the real vgpu-backend driven through libvgpu
 * (vgpu.h) on the loopback transport, under load: a multi-page ring, copies
 * larger than one request (split and kept in flight together) from
 * ordinary and from host memory, with persistent grants on and off,
 * thousands of async requests in flight, and several domains at once from
 * one process. (The call-by-call table, the bad inputs and a backend
 * killed under a handle: tests/guest/test_libvgpu.c.)
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tfront.h"
#include "vgpu.h"

static struct tf_world W;

static void setup(void)
{
	/* The dom0-wide arbiter is shared with whatever else runs here. */
	setenv("VGPU_ARB", "off", 1);
	tf_backend_path();
	ck_assert_int_eq(tf_world_init(&W), 0);
}

static void teardown(void)
{
	tf_world_fini(&W);
}

/* Domain + device + backend (tfront's toolstack part), then a handle. */
static vgpu_t *open_dom(struct tf_dom *d, uint32_t domid, int persistent)
{
	char dev[512];
	vgpu_t *v;

	memset(d, 0, sizeof(*d));
	ck_assert_int_eq(tf_dom_create(&W, d, domid, 0), 0);
	snprintf(dev, sizeof(dev), "loopback:%s?domid=%u&persistent=%d&timeout_ms=%d",
		 W.dir, domid, persistent, TF_WAIT_MS);
	ck_assert_msg(vgpu_open(dev, &v) == 0, "vgpu_open: %s", vgpu_open_error());
	return v;
}

static void close_dom(struct tf_dom *d, vgpu_t *v)
{
	int st;

	vgpu_close(v);
	st = tf_backend_stop(d);
	ck_assert_msg(st == 0, "backend exited %d (log %s)", st, d->log);
	tf_dom_destroy(d);
}

static void big_copy_roundtrip(vgpu_t *v, size_t len, bool host)
{
	uint8_t *p, *q;
	uint64_t mem;
	size_t i;

	if (host) {
		ck_assert_int_eq(vgpu_host_alloc(v, len, (void **)&p), 0);
		ck_assert_int_eq(vgpu_host_alloc(v, len, (void **)&q), 0);
	} else {
		p = malloc(len);
		q = malloc(len);
		ck_assert_ptr_nonnull(p);
		ck_assert_ptr_nonnull(q);
	}
	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 131 + (i >> 12));
	memset(q, 0, len);
	ck_assert_int_eq(vgpu_mem_alloc(v, len, &mem, NULL), 0);
	ck_assert_int_eq(vgpu_memcpy_h2d(v, mem, 0, p, len), 0);
	ck_assert_int_eq(vgpu_memcpy_d2h(v, q, mem, 0, len), 0);
	ck_assert(memcmp(p, q, len) == 0);
	ck_assert_int_eq(vgpu_mem_free(v, mem), 0);
	if (host) {
		ck_assert_int_eq(vgpu_host_free(v, p), 0);
		ck_assert_int_eq(vgpu_host_free(v, q), 0);
	} else {
		free(p);
		free(q);
	}
}

START_TEST(test_large_copies)
{
	struct tf_dom d;
	vgpu_t *v = open_dom(&d, 2, _i);
	struct vgpu_info i;

	ck_assert_int_eq(vgpu_query(v, &i), 0);
	ck_assert_uint_ge(i.ring_slots, 32);
	big_copy_roundtrip(v, 40u << 20, false); /* more than one request's 32 MiB */
	big_copy_roundtrip(v, 40u << 20, true);
	big_copy_roundtrip(v, 4096 * 3 + 17, false);
	close_dom(&d, v);
}
END_TEST

/* 5000 queued memsets keep the ring full; every one is answered. */
START_TEST(test_many_in_flight)
{
	struct tf_dom d;
	vgpu_t *v = open_dom(&d, 3, 1);
	uint64_t mem;
	uint8_t back[64];
	int i;

	ck_assert_int_eq(vgpu_mem_alloc(v, 4096, &mem, NULL), 0);
	for (i = 0; i < 5000; i++)
		ck_assert_int_eq(vgpu_memset(v, mem, 0, (uint32_t)i & 0xff, 1, 64), 0);
	ck_assert_int_eq(vgpu_sync(v), 0);
	ck_assert_int_eq(vgpu_memcpy_d2h(v, back, mem, 0, sizeof(back)), 0);
	ck_assert_uint_eq(back[0], 4999 & 0xff);
	ck_assert_uint_eq(back[63], 4999 & 0xff);
	close_dom(&d, v);
}
END_TEST

START_TEST(test_domains_in_parallel)
{
	struct tf_dom d[3];
	vgpu_t *v[3];
	unsigned int i;

	for (i = 0; i < 3; i++)
		v[i] = open_dom(&d[i], 4 + i, 1);
	for (i = 0; i < 3; i++)
		big_copy_roundtrip(v[i], 1u << 20, i == 1);
	for (i = 0; i < 3; i++)
		close_dom(&d[i], v[i]);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("backend-libvgpu");
	TCase *tc = tcase_create("load");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, test_large_copies, 0, 2); /* persistent 0, 1 */
	tcase_add_test(tc, test_many_in_flight);
	tcase_add_test(tc, test_domains_in_parallel);
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
