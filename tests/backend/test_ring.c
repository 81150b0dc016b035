/* SPDX-License-Identifier: MIT */
/*
 * test_ring.c - the data path (ring.c, grants.c) over the fake transport
 * and fake executor: persistent grants, LRU bound, indirect descriptors
 * copied once, completions from another thread, backpressure, ordering of
 * CTX_DESTROY, disconnect with work in flight, quota and table limits,
 * the event-storm throttle and a lying producer index.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "log.h"
#include "fake.h"

#define RING_GREF 8u

static struct fake_transport *T;
static struct vgpu_exec *EX;
static struct vgpuback_config CFG;
static struct vgpuback_device DEV;
static struct vgpuif_front_ring FR;
static uint64_t next_id;

static void base_setup(void)
{
	/* Unit tests stay off the host-wide arbiter region. */
	setenv("VGPU_ARB", "off", 1);
	T = fake_transport_new();
	ck_assert_ptr_nonnull(T);
	fake_exec_reset();
	vgpuback_config_defaults(&CFG);
	CFG.domid = 3;
	CFG.persistent_grants = 4;
	vgpuback_log_init(3, 0, getenv("VGPUBACK_TEST_DEBUG") ?
			  VGPUBACK_LOG_DEBUG : VGPUBACK_LOG_ERROR, NULL, 0);
	next_id = 0;
}

static void start(bool persistent)
{
	const char *why = NULL;
	uint32_t ref = RING_GREF;
	struct vgpuif_sring *s;

	ck_assert_int_eq(vgpu_exec_open(&EX, NULL, NULL), 0);
	ck_assert_int_eq(vgpuback_dev_init(&DEV, &CFG, &T->t, EX), 0);
	DEV.be_path = strdup("/be");
	DEV.fe_path = strdup("/fe");
	fake_grant(T, RING_GREF, false);
	s = fake_page(T, RING_GREF);
	SHARED_RING_INIT(s);
	FRONT_RING_INIT(&FR, s, 4096);
	ck_assert_int_eq(vgpuback_ring_connect(&DEV, &ref, 1, 5, persistent, &why), 0);
	ck_assert_int_eq(DEV.conn, VGPUBACK_CONNECTED);
}

static void teardown(void)
{
	fake_exec_release(-1);
	vgpuback_ring_completions(&DEV);
	vgpuback_ring_disconnect(&DEV);
	ck_assert_int_eq(DEV.conn, VGPUBACK_DISCONNECTED);
	vgpuback_xenbus_uninit(&DEV);
	vgpuback_dev_uninit(&DEV);
	vgpu_exec_close(EX);
	ck_assert_int_eq(fake_live_maps(T), 0);
	ck_assert_int_eq(fake_exec_stats().ctx_live, 0);
	ck_assert_int_eq(fake_exec_stats().mem_live, 0);
	ck_assert_int_eq(fake_exec_stats().streams_live, 0);
	ck_assert_int_eq(fake_exec_stats().events_live, 0);
	ck_assert_int_eq(fake_exec_stats().globals_live, 0);
	ck_assert_int_eq(fake_exec_stats().hostregs_live, 0);
	fake_transport_free(T);
	vgpuback_log_uninit();
}

static void push(struct vgpuif_request *r)
{
	int notify;

	if (!r->id)
		r->id = ++next_id;
	memcpy(RING_GET_REQUEST(&FR, FR.req_prod_pvt), r, sizeof(*r));
	FR.req_prod_pvt++;
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&FR, notify);
	(void)notify;
}

static int pending_rsps(void)
{
	return (int)(FR.sring->rsp_prod - FR.rsp_cons);
}

static struct vgpuif_response pop(void)
{
	struct vgpuif_response p;

	ck_assert_int_gt(pending_rsps(), 0);
	memcpy(&p, RING_GET_RESPONSE(&FR, FR.rsp_cons), sizeof(p));
	FR.rsp_cons++;
	return p;
}

static int call(struct vgpuif_request *r, struct vgpuif_response *out)
{
	struct vgpuif_response p;

	push(r);
	vgpuback_ring_kick(&DEV);
	p = pop();
	ck_assert_uint_eq(p.id, r->id);
	if (out)
		*out = p;
	return p.status;
}

static uint32_t ctx_create(void)
{
	struct vgpuif_request r = { .op = VGPUIF_OP_CTX_CREATE };
	struct vgpuif_response p;

	ck_assert_int_eq(call(&r, &p), 0);
	return (uint32_t)p.result[0];
}

static int mem_alloc(uint32_t ctx, uint64_t size, uint64_t *mem)
{
	struct vgpuif_request r = { .op = VGPUIF_OP_MEM_ALLOC, .ctx = ctx };
	struct vgpuif_response p;
	int st;

	r.args.mem_alloc.size = size;
	st = call(&r, &p);
	*mem = p.result[0];
	return st;
}

static int copy(uint8_t op, uint32_t ctx, uint64_t mem, uint32_t gref,
		uint32_t len)
{
	struct vgpuif_request r = { .op = op, .ctx = ctx, .nr_segments = 1 };

	r.args.memcpy.mem = mem;
	r.args.memcpy.length = len;
	r.u.seg[0].gref = gref;
	r.u.seg[0].length = (uint16_t)len;
	return call(&r, NULL);
}

/* ---------------------------------------------------------- grants */

START_TEST(test_persistent_steady_state)
{
	uint64_t mem, maps, unmaps;
	uint32_t ctx;
	int i;

	start(true);
	ctx = ctx_create();
	ck_assert_int_eq(mem_alloc(ctx, 65536, &mem), 0);
	fake_grant(T, 20, false);
	memset(fake_page(T, 20), 0x5a, 4096);
	ck_assert_int_eq(copy(VGPUIF_OP_MEMCPY_H2D, ctx, mem, 20, 4096), 0);
	maps = T->map_calls;
	unmaps = T->unmap_calls;
	for (i = 0; i < 100; i++) {
		ck_assert_int_eq(copy(VGPUIF_OP_MEMCPY_H2D, ctx, mem, 20, 4096), 0);
		ck_assert_int_eq(copy(VGPUIF_OP_MEMCPY_D2H, ctx, mem, 20, 4096), 0);
	}
	ck_assert_uint_eq(T->map_calls, maps);
	ck_assert_uint_eq(T->unmap_calls, unmaps);
	ck_assert_uint_eq(DEV.gcache.stats.hits, 200);
	ck_assert_uint_eq(((uint8_t *)fake_page(T, 20))[4095], 0x5a);
}
END_TEST

START_TEST(test_nonpersistent_maps_each_request)
{
	uint64_t mem, maps;
	uint32_t ctx;
	int i;

	start(false);
	ctx = ctx_create();
	ck_assert_int_eq(mem_alloc(ctx, 4096, &mem), 0);
	fake_grant(T, 20, false);
	maps = T->map_calls;
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(copy(VGPUIF_OP_MEMCPY_H2D, ctx, mem, 20, 100), 0);
	ck_assert_uint_eq(T->map_calls - maps, 10);
	ck_assert_int_eq(fake_live_maps(T), 1); /* the ring only */
}
END_TEST

START_TEST(test_lru_bound)
{
	uint64_t mem;
	uint32_t ctx, g;
	int round;

	start(true); /* cache of 4 */
	ctx = ctx_create();
	ck_assert_int_eq(mem_alloc(ctx, 4096, &mem), 0);
	for (g = 20; g < 26; g++)
		fake_grant(T, g, true);
	for (round = 0; round < 3; round++)
		for (g = 20; g < 26; g++) {
			ck_assert_int_eq(copy(VGPUIF_OP_MEMCPY_H2D, ctx, mem, g, 64), 0);
			ck_assert_uint_le(DEV.gcache.count, 4);
		}
	ck_assert_uint_gt(DEV.gcache.stats.evictions, 0);
	ck_assert_int_eq(fake_live_maps(T), 1 + 4);
	/* Read-only cached, needed writable: remapped, not failed. */
	fake_grant(T, 25, false);
	ck_assert_int_eq(copy(VGPUIF_OP_MEMCPY_D2H, ctx, mem, 25, 64), 0);
}
END_TEST

/* One copy of n whole pages, granted as grefs g0, g0 + 1, ... */
static int copy_pages(uint8_t op, uint32_t ctx, uint64_t mem, uint32_t g0,
		      uint32_t n)
{
	struct vgpuif_request r = { .op = op, .ctx = ctx, .nr_segments = (uint16_t)n };

	r.args.memcpy.mem = mem;
	r.args.memcpy.length = 4096ull * n;
	for (uint32_t i = 0; i < n; i++) {
		r.u.seg[i].gref = g0 + i;
		r.u.seg[i].length = 4096;
	}
	return call(&r, NULL);
}

/*
 * A request's cache misses are mapped in one call, and the cache never
 * holds more pages than its bound: what does not fit is mapped for the
 * request only (cache of 4 pages, requests of 8).
 */
START_TEST(test_persistent_misses_batched_bounded)
{
	uint64_t mem, maps;
	uint32_t ctx, g;

	start(true); /* cache of 4 */
	ctx = ctx_create();
	ck_assert_int_eq(mem_alloc(ctx, 65536, &mem), 0);
	for (g = 20; g < 28; g++)
		fake_grant(T, g, false);
	maps = T->map_calls;
	ck_assert_int_eq(copy_pages(VGPUIF_OP_MEMCPY_H2D, ctx, mem, 20, 8), 0);
	/* 4 cached in one call, 4 one-shot in another (was 4 + 1) */
	ck_assert_uint_eq(T->map_calls - maps, 2);
	ck_assert_uint_eq(DEV.gcache.count, 4);
	ck_assert_uint_le(DEV.gcache.mapped, 4);
	maps = T->map_calls;
	ck_assert_int_eq(copy_pages(VGPUIF_OP_MEMCPY_D2H, ctx, mem, 20, 8), 0);
	ck_assert_uint_eq(T->map_calls - maps, 1);  /* the 4 that do not fit */
	ck_assert_uint_le(DEV.gcache.mapped, 4);
	ck_assert_int_eq(fake_live_maps(T), 1 + 4); /* ring + the cached pages */
}
END_TEST

/* With room, a request's 8 misses are one map call, and then none. */
/*
 * Run twice: read-only grants mapped writable fail with EPERM (loopback)
 * and with EFAULT (Xen's gntdev, which reports every failed grant alike:
 * a persistent-grant frontend granting read-only pages failed there).
 */
START_TEST(test_persistent_misses_one_call)
{
	uint64_t mem, maps;
	uint32_t ctx, g;

	CFG.persistent_grants = 16;
	T->ro_errno = _i ? EFAULT : 0;
	start(true);
	ctx = ctx_create();
	ck_assert_int_eq(mem_alloc(ctx, 65536, &mem), 0);
	for (g = 20; g < 28; g++)
		fake_grant(T, g, g < 22); /* 20, 21 read-only */
	maps = T->map_calls;
	/* Only read: writable where the guest allows it, so the writable
	 * try fails (EPERM) on the read-only pair: two calls, then read-only. */
	ck_assert_int_eq(copy_pages(VGPUIF_OP_MEMCPY_H2D, ctx, mem, 20, 8), 0);
	ck_assert_uint_eq(T->map_calls - maps, 1 + 1);
	ck_assert_uint_eq(DEV.gcache.count, 8);
	maps = T->map_calls;
	ck_assert_int_eq(copy_pages(VGPUIF_OP_MEMCPY_H2D, ctx, mem, 20, 8), 0);
	ck_assert_uint_eq(T->map_calls, maps);
	/* Written now: cached read-only, so remapped writable, in one call. */
	ck_assert_int_eq(copy_pages(VGPUIF_OP_MEMCPY_D2H, ctx, mem, 22, 6), 0);
	ck_assert_int_eq(copy_pages(VGPUIF_OP_MEMCPY_D2H, ctx, mem, 22, 6), 0);
	ck_assert_uint_eq(T->map_calls - maps, 1);
	/* The read-only ones cannot be written: refused, nothing held. */
	ck_assert_int_eq(copy_pages(VGPUIF_OP_MEMCPY_D2H, ctx, mem, 20, 8),
			 VGPUIF_RSP_EFAULT);
	for (g = 28; g < 36; g++)
		fake_grant(T, g, false);
	maps = T->map_calls;
	ck_assert_int_eq(copy_pages(VGPUIF_OP_MEMCPY_D2H, ctx, mem, 28, 8), 0);
	ck_assert_uint_eq(T->map_calls - maps, 1);
	ck_assert_uint_le(DEV.gcache.mapped, 16);
}
END_TEST

START_TEST(test_bad_grants)
{
	uint64_t mem;
	uint32_t ctx;

	start(true);
	ctx = ctx_create();
	ck_assert_int_eq(mem_alloc(ctx, 4096, &mem), 0);
	ck_assert_int_eq(copy(VGPUIF_OP_MEMCPY_H2D, ctx, mem, 3, 64), VGPUIF_RSP_EFAULT);
	ck_assert_int_eq(copy(VGPUIF_OP_MEMCPY_H2D, ctx, mem, 99999, 64), VGPUIF_RSP_EFAULT);
	fake_grant(T, 21, true);
	ck_assert_int_eq(copy(VGPUIF_OP_MEMCPY_D2H, ctx, mem, 21, 64), VGPUIF_RSP_EFAULT);
	fake_revoke(T, 21);
	ck_assert_int_eq(copy(VGPUIF_OP_MEMCPY_H2D, ctx, mem, 21, 64), VGPUIF_RSP_EFAULT);
	ck_assert_int_eq(fake_live_maps(T), 1);
}
END_TEST

/* The guest rewrites its indirect page right after the backend read it. */
static void scribble(struct fake_transport *f, uint32_t gref)
{
	struct vgpuif_segment *s = fake_page(f, gref);

	s[0].gref = 3; /* never granted */
	s[0].offset = 4000;
	s[0].length = 4000;
}

START_TEST(test_indirect_changed_after_copy)
{
	struct vgpuif_request r = { .op = VGPUIF_OP_MEMCPY_H2D };
	struct vgpuif_segment *s;
	uint64_t mem;
	uint32_t ctx;

	start(false); /* one-shot copy of the descriptor page */
	ctx = ctx_create();
	ck_assert_int_eq(mem_alloc(ctx, 4096, &mem), 0);
	fake_grant(T, 30, true);
	fake_grant(T, 31, false);
	memset(fake_page(T, 31), 0x77, 4096);
	s = fake_page(T, 30);
	s[0].gref = 31;
	s[0].offset = 0;
	s[0].length = 128;
	T->hook_gref = 30;
	T->on_unmap = scribble;
	r.ctx = ctx;
	r.flags = VGPUIF_F_INDIRECT;
	r.nr_segments = 1;
	r.u.indirect_gref[0] = 30;
	r.args.memcpy.mem = mem;
	r.args.memcpy.length = 128;
	ck_assert_int_eq(call(&r, NULL), 0);
	ck_assert_ptr_null(T->on_unmap); /* the hook ran */
	ck_assert_uint_eq(s[0].gref, 3);
	/* The data came from gref 31, as the copy said. */
	memset(fake_page(T, 31), 0, 4096);
	ck_assert_int_eq(copy(VGPUIF_OP_MEMCPY_D2H, ctx, mem, 31, 128), 0);
	ck_assert_uint_eq(((uint8_t *)fake_page(T, 31))[127], 0x77);
}
END_TEST

/* ------------------------------------------------- completions/ordering */

START_TEST(test_completions_from_thread_with_backpressure)
{
	struct vgpuif_request r;
	uint32_t ctx;
	int i, got = 0;

	CFG.max_inflight = 2;
	start(true);
	ctx = ctx_create();
	fake_exec_hold(true);
	for (i = 0; i < 6; i++) {
		memset(&r, 0, sizeof(r));
		r.op = VGPUIF_OP_SYNC;
		r.ctx = ctx;
		push(&r);
	}
	vgpuback_ring_kick(&DEV);
	ck_assert_int_eq(fake_exec_held(), 2);
	ck_assert_int_eq(pending_rsps(), 0);
	while (got < 6) {
		struct vgpuif_response p;

		ck_assert_int_gt(fake_exec_held(), 0);
		fake_exec_release(-1);          /* done() from another thread */
		vgpuback_ring_completions(&DEV); /* what the eventfd triggers */
		while (pending_rsps()) {
			p = pop();
			ck_assert_int_eq(p.status, 0);
			ck_assert_uint_eq(p.id, (uint64_t)got + 2); /* in order */
			got++;
		}
		ck_assert_int_le(fake_exec_held(), 2);
	}
}
END_TEST

/*
 * Completion batching: executor threads signal the eventfd once per batch
 * while the ring thread sleeps, and not at all while it is awake (it looks
 * at the queue itself), and no completion is lost either way.
 */
START_TEST(test_completion_wakeups_batched)
{
	struct vgpuif_request r;
	uint32_t ctx;
	int i, got = 0;

	start(true);
	ctx = ctx_create();
	fake_exec_hold(true);
	for (i = 0; i < 5; i++) {
		memset(&r, 0, sizeof(r));
		r.op = VGPUIF_OP_SYNC;
		r.ctx = ctx;
		push(&r);
	}
	vgpuback_ring_kick(&DEV);
	ck_assert_int_eq(fake_exec_held(), 5);
	/* Asleep: five completions, one wake-up. */
	ck_assert(vgpuback_ring_prepare_sleep(&DEV));
	fake_exec_release(-1);
	ck_assert_uint_eq(DEV.stats.completion_wakeups, 1);
	/* A completion queued: the ring thread must not go to sleep. */
	ck_assert(!vgpuback_ring_prepare_sleep(&DEV));
	vgpuback_ring_woke(&DEV);
	vgpuback_ring_completions(&DEV);
	while (pending_rsps()) {
		ck_assert_int_eq(pop().status, 0);
		got++;
	}
	ck_assert_int_eq(got, 5);
	/* Awake: no wake-up at all; the queue is seen by a poll. */
	for (i = 0; i < 3; i++) {
		memset(&r, 0, sizeof(r));
		r.op = VGPUIF_OP_SYNC;
		r.ctx = ctx;
		push(&r);
	}
	vgpuback_ring_kick(&DEV);
	ck_assert_int_eq(fake_exec_held(), 3);
	fake_exec_release(-1);
	ck_assert_uint_eq(DEV.stats.completion_wakeups, 1);
	ck_assert(vgpuback_ring_has_work(&DEV));
	ck_assert(vgpuback_ring_poll(&DEV));
	ck_assert(!vgpuback_ring_has_work(&DEV));
	for (got = 0; pending_rsps(); got++)
		ck_assert_int_eq(pop().status, 0);
	ck_assert_int_eq(got, 3);
	/* Asleep again: the next batch signals again. */
	push(&r);
	r.id = 0;
	vgpuback_ring_kick(&DEV);
	ck_assert(vgpuback_ring_prepare_sleep(&DEV));
	fake_exec_release(-1);
	ck_assert_uint_eq(DEV.stats.completion_wakeups, 2);
	vgpuback_ring_woke(&DEV);
	vgpuback_ring_completions(&DEV);
	ck_assert_int_eq(pending_rsps(), 1);
	pop();
}
END_TEST

/* poll-us auto: the window follows the guest's pace (halt-polling rule). */
START_TEST(test_poll_window_adapts)
{
	uint64_t w, prev;
	int i;

	CFG.poll_us = VGPUBACK_POLL_AUTO;
	start(true);
	w = vgpuback_ring_poll_window_ns(&DEV);
	ck_assert_uint_gt(w, 0);
	/* Work keeps coming 100 us apart: the window grows to cover it. */
	for (i = 0; i < 10; i++)
		vgpuback_ring_poll_slept(&DEV, 100000);
	ck_assert_uint_ge(vgpuback_ring_poll_window_ns(&DEV), 100000);
	prev = vgpuback_ring_poll_window_ns(&DEV);
	vgpuback_ring_poll_slept(&DEV, 100000);
	ck_assert_uint_le(vgpuback_ring_poll_window_ns(&DEV), 500000); /* bounded */
	ck_assert_uint_ge(vgpuback_ring_poll_window_ns(&DEV), prev);
	/* Long quiet spells (long kernels, an idle guest): down to nothing. */
	for (i = 0; i < 20; i++)
		vgpuback_ring_poll_slept(&DEV, 10000000);
	ck_assert_uint_eq(vgpuback_ring_poll_window_ns(&DEV), 0);
	/* Busy again: it comes back. */
	vgpuback_ring_poll_slept(&DEV, 30000);
	ck_assert_uint_gt(vgpuback_ring_poll_window_ns(&DEV), 0);
	/* A fixed poll-us is not adapted. */
	CFG.poll_us = 50;
	vgpuback_ring_poll_slept(&DEV, 10000000);
	ck_assert_uint_eq(vgpuback_ring_poll_window_ns(&DEV), 50000);
	CFG.poll_us = VGPUBACK_POLL_AUTO;
}
END_TEST

START_TEST(test_ctx_destroy_waits_for_its_ops)
{
	struct vgpuif_request r;
	struct vgpuif_response p;
	uint32_t ctx;

	start(true);
	ctx = ctx_create();
	fake_exec_hold(true);
	memset(&r, 0, sizeof(r));
	r.op = VGPUIF_OP_SYNC;
	r.ctx = ctx;
	push(&r);
	memset(&r, 0, sizeof(r));
	r.op = VGPUIF_OP_CTX_DESTROY;
	r.ctx = ctx;
	push(&r);
	/* A request after the destroy already finds no context. */
	memset(&r, 0, sizeof(r));
	r.op = VGPUIF_OP_SYNC;
	r.ctx = ctx;
	push(&r);
	vgpuback_ring_kick(&DEV);
	ck_assert_int_eq(pending_rsps(), 1);
	p = pop();
	ck_assert_uint_eq(p.id, 4);
	ck_assert_int_eq(p.status, VGPUIF_RSP_EBADF);
	ck_assert_int_eq(fake_exec_stats().ctx_live, 1);
	fake_exec_release(-1);
	vgpuback_ring_completions(&DEV);
	p = pop();
	ck_assert_uint_eq(p.id, 2);
	ck_assert_int_eq(p.status, 0);
	p = pop();
	ck_assert_uint_eq(p.id, 3);
	ck_assert_int_eq(p.status, 0);
	ck_assert_int_eq(fake_exec_stats().ctx_live, 0);
}
END_TEST

START_TEST(test_disconnect_with_work_in_flight)
{
	struct vgpuif_request r;
	uint64_t mem;
	uint32_t ctx;
	int i;

	start(true);
	ctx = ctx_create();
	ck_assert_int_eq(mem_alloc(ctx, 4096, &mem), 0);
	fake_grant(T, 20, false);
	fake_exec_hold(true);
	for (i = 0; i < 3; i++) {
		memset(&r, 0, sizeof(r));
		r.op = VGPUIF_OP_MEMCPY_D2H;
		r.ctx = ctx;
		r.nr_segments = 1;
		r.args.memcpy.mem = mem;
		r.args.memcpy.length = 64;
		r.u.seg[0].gref = 20;
		r.u.seg[0].length = 64;
		push(&r);
	}
	vgpuback_ring_kick(&DEV);
	vgpuback_ring_disconnect(&DEV);
	ck_assert_int_eq(DEV.conn, VGPUBACK_DRAINING);
	ck_assert_int_gt(fake_live_maps(T), 1);
	fake_exec_release(-1);
	vgpuback_ring_completions(&DEV);
	ck_assert_int_eq(DEV.conn, VGPUBACK_DISCONNECTED);
	ck_assert_int_eq(fake_live_maps(T), 0);
	ck_assert_int_eq(fake_exec_stats().ctx_live, 0);
}
END_TEST

/* ------------------------------------------------------------ limits */

START_TEST(test_quota_counts_allocations_in_flight)
{
	struct vgpuif_request r;
	struct vgpuif_response p;
	uint64_t mem;
	uint32_t ctx;

	CFG.mem_quota = 1 << 20;
	start(true);
	ctx = ctx_create();
	fake_exec_hold(true);
	memset(&r, 0, sizeof(r));
	r.op = VGPUIF_OP_MEM_ALLOC;
	r.ctx = ctx;
	r.args.mem_alloc.size = 600 << 10;
	push(&r);
	vgpuback_ring_kick(&DEV);
	ck_assert_int_eq(pending_rsps(), 0);
	memset(&r, 0, sizeof(r));
	r.op = VGPUIF_OP_MEM_ALLOC;
	r.ctx = ctx;
	r.args.mem_alloc.size = 600 << 10;
	push(&r);
	vgpuback_ring_kick(&DEV);
	p = pop();
	ck_assert_int_eq(p.status, VGPUIF_RSP_EDQUOT);
	fake_exec_release(-1);
	vgpuback_ring_completions(&DEV);
	p = pop();
	ck_assert_int_eq(p.status, 0);
	ck_assert_uint_eq(DEV.handles.mem_used, 600 << 10);
	fake_exec_hold(false);
	memset(&r, 0, sizeof(r));
	r.op = VGPUIF_OP_MEM_FREE;
	r.ctx = ctx;
	r.args.mem_free.mem = p.result[0];
	ck_assert_int_eq(call(&r, NULL), 0);
	ck_assert_uint_eq(DEV.handles.mem_used, 0);
	ck_assert_int_eq(mem_alloc(ctx, 1 << 20, &mem), 0);
}
END_TEST

/*
 * A context's object table grows while allocations are in flight: the
 * requests in flight must still find (and commit) their own slots, so a
 * slot's address may not move when the table grows (it did: realloc left
 * every in-flight request pointing into freed memory).
 */
START_TEST(test_table_grows_with_ops_in_flight)
{
	struct vgpuif_request r;
	struct vgpuif_response p;
	uint64_t mem, handles[12];
	uint32_t ctx;
	int i;

	start(true);
	ctx = ctx_create();
	for (i = 0; i < 60; i++)               /* slots 0..59 live */
		ck_assert_int_eq(mem_alloc(ctx, 64, &mem), 0);
	fake_exec_hold(true);
	for (i = 0; i < 12; i++) {     /* slots 60..71: the table grows at 64 */
		memset(&r, 0, sizeof(r));
		r.op = VGPUIF_OP_MEM_ALLOC;
		r.ctx = ctx;
		r.args.mem_alloc.size = 64;
		push(&r);
	}
	vgpuback_ring_kick(&DEV);
	ck_assert_int_eq(fake_exec_held(), 12);
	fake_exec_release(-1);
	vgpuback_ring_completions(&DEV);
	fake_exec_hold(false);
	for (i = 0; i < 12; i++) {
		p = pop();
		ck_assert_int_eq(p.status, 0);
		handles[i] = p.result[0];
	}
	ck_assert_uint_eq(DEV.handles.mem_used, 72 * 64);
	for (i = 0; i < 12; i++) {
		memset(&r, 0, sizeof(r));
		r.op = VGPUIF_OP_MEM_FREE;
		r.ctx = ctx;
		r.args.mem_free.mem = handles[i];
		ck_assert_msg(call(&r, NULL) == 0, "free of allocation %d", i);
	}
	ck_assert_uint_eq(DEV.handles.mem_used, 60 * 64);
}
END_TEST

START_TEST(test_table_limits)
{
	struct vgpuif_request r = { .op = VGPUIF_OP_CTX_CREATE };
	uint64_t mem;
	uint32_t ctx;

	CFG.max_contexts = 2;
	CFG.max_handles_per_ctx = 2;
	start(true);
	ctx = ctx_create();
	ctx_create();
	ck_assert_int_eq(call(&r, NULL), VGPUIF_RSP_EMFILE);
	ck_assert_int_eq(mem_alloc(ctx, 16, &mem), 0);
	ck_assert_int_eq(mem_alloc(ctx, 16, &mem), 0);
	ck_assert_int_eq(mem_alloc(ctx, 16, &mem), VGPUIF_RSP_EMFILE);
}
END_TEST

/* ------------------------------------------------------ hostile rings */

START_TEST(test_storm_throttle)
{
	uint64_t one = 1;
	int i;

	CFG.storm_limit = 100;
	start(true);
	for (i = 0; i < 1000; i++) {
		ck_assert_int_eq(write(T->ev_fd, &one, sizeof(one)), sizeof(one));
		vgpuback_ring_event(&DEV);
	}
	ck_assert_uint_ge(DEV.stats.spurious_events, 100);
	ck_assert_uint_ge(DEV.stats.throttled, 1);
	ck_assert_int_gt(vgpuback_ring_timeout_ms(&DEV), 0);
	/* Requests still get through once the throttle lifts. */
	{
		struct vgpuif_request r = { .op = VGPUIF_OP_NOP };

		push(&r);
		DEV.unmask_at_ns = 1; /* pretend the time passed */
		vgpuback_ring_timer(&DEV);
		ck_assert_int_eq(pop().status, 0);
	}
}
END_TEST

START_TEST(test_producer_overflow_halts)
{
	struct vgpuif_request r = { .op = VGPUIF_OP_NOP };

	start(true);
	ck_assert_int_eq(call(&r, NULL), 0);
	FR.sring->req_prod = FR.req_prod_pvt + RING_SIZE(&FR) + 1;
	vgpuback_ring_kick(&DEV);
	ck_assert_int_eq(DEV.conn, VGPUBACK_HALTED);
	ck_assert_str_eq(fake_get(T, "/be/state"), "5");
	ck_assert_ptr_nonnull(strstr(fake_get(T, "/be/error"), "overflow"));
	/* Nothing more is consumed. */
	vgpuback_ring_kick(&DEV);
	ck_assert_int_eq(pending_rsps(), 0);
}
END_TEST

/*
 * A halted ring consumes nothing, so every notification is idle: a guest
 * that keeps notifying one must be throttled like any other storm, not
 * answered with an unmask per event for as long as it likes.
 */
START_TEST(test_storm_on_halted_ring_throttled)
{
	uint64_t one = 1;
	int i;

	CFG.storm_limit = 100;
	start(true);
	FR.sring->req_prod = FR.req_prod_pvt + RING_SIZE(&FR) + 1;
	vgpuback_ring_kick(&DEV);
	ck_assert_int_eq(DEV.conn, VGPUBACK_HALTED);
	for (i = 0; i < 1000; i++) {
		ck_assert_int_eq(write(T->ev_fd, &one, sizeof(one)), sizeof(one));
		vgpuback_ring_event(&DEV);
	}
	ck_assert_uint_ge(DEV.stats.throttled, 1);
	ck_assert_int_gt(vgpuback_ring_timeout_ms(&DEV), 0);
}
END_TEST

/*
 * The same storm while the backend holds back (max-inflight reached, work
 * still executing): nothing can be consumed, so every notification is
 * idle and must count towards the throttle.
 */
START_TEST(test_storm_under_backpressure_throttled)
{
	struct vgpuif_request r;
	uint64_t one = 1;
	uint32_t ctx;
	int i;

	CFG.storm_limit = 100;
	CFG.max_inflight = 2;
	start(true);
	ctx = ctx_create();
	fake_exec_hold(true);
	for (i = 0; i < 4; i++) {
		memset(&r, 0, sizeof(r));
		r.op = VGPUIF_OP_SYNC;
		r.ctx = ctx;
		push(&r);
	}
	vgpuback_ring_kick(&DEV);
	ck_assert(DEV.backpressure);
	for (i = 0; i < 1000; i++) {
		ck_assert_int_eq(write(T->ev_fd, &one, sizeof(one)), sizeof(one));
		vgpuback_ring_event(&DEV);
	}
	ck_assert_uint_ge(DEV.stats.throttled, 1);
	/* The held work still finishes and the rest is consumed. */
	fake_exec_hold(false);
	fake_exec_release(-1);
	vgpuback_ring_completions(&DEV);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(pop().status, 0);
}
END_TEST

START_TEST(test_shutdown_answers_eshutdown)
{
	struct vgpuif_request r = { .op = VGPUIF_OP_NOP };

	start(true);
	DEV.shutting_down = true;
	push(&r);
	vgpuback_ring_kick(&DEV);
	ck_assert_int_eq(pop().status, VGPUIF_RSP_ESHUTDOWN);
}
END_TEST

/* ------------------------------------------------------ revision 2 */

static int r2_call(uint8_t op, uint32_t ctx, struct vgpuif_request *r,
		   struct vgpuif_response *p)
{
	r->op = op;
	r->ctx = ctx;
	return call(r, p);
}

/* An op whose stream is one segment of len bytes in page gref. */
static void one_seg(struct vgpuif_request *r, uint32_t gref, uint32_t len)
{
	r->nr_segments = 1;
	r->u.seg[0].gref = gref;
	r->u.seg[0].length = (uint16_t)len;
}

/* Inline stream: len bytes of data. */
static void inline_data(struct vgpuif_request *r, const void *data, uint32_t len)
{
	r->flags = VGPUIF_F_INLINE;
	r->nr_segments = (uint16_t)len;
	memcpy(r->u.inline_data, data, len);
}

START_TEST(test_device_info_dispatch)
{
	struct vgpuif_request r = { 0 };
	struct vgpuif_device_info *d;

	start(true);
	fake_grant(T, 30, false);
	memset(fake_page(T, 30), 0xee, 4096);
	one_seg(&r, 30, sizeof(*d));
	ck_assert_int_eq(r2_call(VGPUIF_OP_DEVICE_INFO, 0, &r, NULL), 0);
	d = fake_page(T, 30);
	ck_assert_str_eq(d->name, FAKE_DEVICE_NAME);
	ck_assert_int_eq(d->attr[10], 32);
	ck_assert_uint_eq(d->version, 1);
	ck_assert_uint_eq(((uint8_t *)d)[sizeof(*d)], 0xee); /* nothing past it */
	/* the answer needs a writable grant */
	fake_grant(T, 31, true);
	memset(&r, 0, sizeof(r));
	one_seg(&r, 31, sizeof(*d));
	ck_assert_int_eq(r2_call(VGPUIF_OP_DEVICE_INFO, 0, &r, NULL), VGPUIF_RSP_EFAULT);
}
END_TEST

/* GET_INFO carries the executor's own context memory (the capacity
 * figure) at its offset, and nothing in the bytes around it. */
START_TEST(test_get_info_ctx_overhead)
{
	static const uint64_t overhead = 1288490189ull; /* 1.2 GiB */
	struct vgpuif_request r = { 0 };
	struct vgpuif_info info;
	const uint8_t *b;
	size_t i;

	fake_exec_ctx_overhead(overhead);
	start(true);
	fake_grant(T, 30, false);
	memset(fake_page(T, 30), 0xee, 4096);
	one_seg(&r, 30, sizeof(info));
	r.op = VGPUIF_OP_GET_INFO;
	ck_assert_int_eq(call(&r, NULL), 0);
	memcpy(&info, fake_page(T, 30), sizeof(info));
	ck_assert_uint_eq(info.ctx_overhead, overhead);
	ck_assert_uint_eq(info.mem_used, 0);  /* not part of the allocations */
	b = (const uint8_t *)fake_page(T, 30);
	for (i = offsetof(struct vgpuif_info, reserved0);
	     i < offsetof(struct vgpuif_info, ctx_overhead); i++)
		ck_assert_msg(b[i] == 0, "byte %zu is %#x", i, b[i]);
	for (i = offsetof(struct vgpuif_info, reserved); i < sizeof(info); i++)
		ck_assert_msg(b[i] == 0, "byte %zu is %#x", i, b[i]);
	ck_assert_uint_eq(b[sizeof(info)], 0xee);  /* nothing past it */
}
END_TEST

START_TEST(test_streams_events_dispatch)
{
	struct vgpuif_request r = { 0 };
	struct vgpuif_response p;
	uint64_t mem, st, st2, ev, ev2, errors;
	uint32_t ctx;
	const void *estream;

	start(true);
	ctx = ctx_create();
	ck_assert_int_eq(mem_alloc(ctx, 4096, &mem), 0);
	ck_assert_int_eq(r2_call(VGPUIF_OP_STREAM_CREATE, ctx, &r, &p), 0);
	st = p.result[0];
	ck_assert_uint_ne(st, 0);
	ck_assert_int_eq(fake_exec_stats().streams_live, 1);

	/* an ordered op reaches the executor on its stream */
	memset(&r, 0, sizeof(r));
	r.args.memset.mem = mem;
	r.args.memset.length = 64;
	r.args.memset.elem_size = 1;
	r.args.memset.stream = st;
	ck_assert_int_eq(r2_call(VGPUIF_OP_MEMSET, ctx, &r, NULL), 0);
	estream = fake_exec_stats().last_stream;
	ck_assert_ptr_nonnull(estream);
	r.args.memset.stream = 0;
	ck_assert_int_eq(r2_call(VGPUIF_OP_MEMSET, ctx, &r, NULL), 0);
	ck_assert_ptr_null(fake_exec_stats().last_stream);

	/* events: create, record on the stream, query, elapsed, destroy */
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(r2_call(VGPUIF_OP_EVENT_CREATE, ctx, &r, &p), 0);
	ev = p.result[0];
	r.args.event_create.flags = VGPUIF_EVENT_DISABLE_TIMING;
	ck_assert_int_eq(r2_call(VGPUIF_OP_EVENT_CREATE, ctx, &r, &p), 0);
	ev2 = p.result[0];
	ck_assert_uint_ne(ev, ev2);
	memset(&r, 0, sizeof(r));
	r.args.event.event = ev;
	r.args.event.stream = st;
	ck_assert_int_eq(r2_call(VGPUIF_OP_EVENT_RECORD, ctx, &r, NULL), 0);
	ck_assert_ptr_eq(fake_exec_stats().last_stream, estream);
	r.args.event.stream = 0;
	ck_assert_int_eq(r2_call(VGPUIF_OP_EVENT_QUERY, ctx, &r, &p), 0);
	ck_assert_uint_eq(p.result[0], 1);
	r.args.event.end = ev;
	ck_assert_int_eq(r2_call(VGPUIF_OP_EVENT_ELAPSED, ctx, &r, NULL), 0);
	r.args.event.end = ev2;  /* no timing: refused before the executor */
	ck_assert_int_eq(r2_call(VGPUIF_OP_EVENT_ELAPSED, ctx, &r, NULL),
			 VGPUIF_RSP_EINVAL);
	memset(&r, 0, sizeof(r));
	r.args.stream.stream = st;
	r.args.stream.event = ev;
	ck_assert_int_eq(r2_call(VGPUIF_OP_STREAM_WAIT_EVENT, ctx, &r, NULL), 0);
	memset(&r, 0, sizeof(r));
	r.args.event.event = ev;
	ck_assert_int_eq(r2_call(VGPUIF_OP_EVENT_DESTROY, ctx, &r, NULL), 0);
	ck_assert_int_eq(r2_call(VGPUIF_OP_EVENT_SYNC, ctx, &r, NULL),
			 VGPUIF_RSP_EBADF);
	ck_assert_int_eq(fake_exec_stats().events_live, 1);

	/* the stream limit of the context (a refusal, not an error), then
	 * destroy frees a place */
	DEV.handles.max_streams = 2;
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(r2_call(VGPUIF_OP_STREAM_CREATE, ctx, &r, &p), 0);
	st2 = p.result[0];
	errors = DEV.stats.errors;
	ck_assert_uint_eq(DEV.stats.refused, 0);
	ck_assert_int_eq(r2_call(VGPUIF_OP_STREAM_CREATE, ctx, &r, &p),
			 VGPUIF_RSP_EMFILE);
	ck_assert_uint_eq(DEV.stats.refused, 1);
	ck_assert_uint_eq(DEV.stats.errors, errors);
	/* the event limit alike */
	DEV.handles.max_events = 1;
	ck_assert_int_eq(r2_call(VGPUIF_OP_EVENT_CREATE, ctx, &r, &p),
			 VGPUIF_RSP_EMFILE);
	ck_assert_uint_eq(DEV.stats.refused, 2);
	ck_assert_uint_eq(DEV.stats.errors, errors);
	ck_assert_int_eq(fake_exec_stats().events_live, 1);
	DEV.handles.max_events = VGPUIF_MAX_EVENTS_PER_CTX;
	memset(&r, 0, sizeof(r));
	r.args.stream.stream = st2;
	ck_assert_int_eq(r2_call(VGPUIF_OP_STREAM_DESTROY, ctx, &r, NULL), 0);
	ck_assert_int_eq(r2_call(VGPUIF_OP_STREAM_SYNC, ctx, &r, NULL),
			 VGPUIF_RSP_EBADF);
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(r2_call(VGPUIF_OP_STREAM_CREATE, ctx, &r, &p), 0);
	ck_assert_uint_ne(p.result[0], st2);  /* a new handle, never the old */
	ck_assert_int_eq(fake_exec_stats().streams_live, 2);

	/* the context takes its streams and events with it */
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(r2_call(VGPUIF_OP_CTX_DESTROY, ctx, &r, NULL), 0);
	ck_assert_int_eq(fake_exec_stats().streams_live, 0);
	ck_assert_int_eq(fake_exec_stats().events_live, 0);
}
END_TEST

/* A small LAUNCH (and H2D) carries its bytes inline: no grant at all. */
START_TEST(test_inline_maps_nothing)
{
	static const uint8_t params[24] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
	static const char image[] = ".version 8.0\n.target sm_90\n";
	struct vgpuif_request r = { 0 };
	struct vgpuif_response p;
	uint64_t mem, mod, func, maps;
	uint32_t ctx;
	uint8_t data[40];

	start(true);
	ctx = ctx_create();
	ck_assert_int_eq(mem_alloc(ctx, 4096, &mem), 0);
	maps = T->map_calls;
	r.args.module_load.image_len = sizeof(image) - 1;
	r.args.module_load.format = VGPUIF_MODULE_PTX;
	inline_data(&r, image, sizeof(image) - 1);
	ck_assert_int_eq(r2_call(VGPUIF_OP_MODULE_LOAD, ctx, &r, &p), 0);
	mod = p.result[0];
	memset(&r, 0, sizeof(r));
	r.args.func_get.module = mod;
	r.args.func_get.name_len = 6;
	inline_data(&r, "kernel", 6);
	ck_assert_int_eq(r2_call(VGPUIF_OP_FUNC_GET, ctx, &r, &p), 0);
	func = p.result[0];
	for (int i = 0; i < 3; i++) {
		memset(&r, 0, sizeof(r));
		r.args.launch.func = func;
		r.args.launch.grid[0] = r.args.launch.grid[1] = r.args.launch.grid[2] = 1;
		r.args.launch.block[0] = r.args.launch.block[1] = r.args.launch.block[2] = 1;
		r.args.launch.param_len = sizeof(params);
		inline_data(&r, params, sizeof(params));
		ck_assert_int_eq(r2_call(VGPUIF_OP_LAUNCH, ctx, &r, NULL), 0);
		ck_assert_uint_eq(fake_exec_stats().last_len, sizeof(params));
		ck_assert(!memcmp(fake_exec_stats().last_data, params, sizeof(params)));
	}
	/* 40 bytes into device memory inline, read back through a page */
	for (int i = 0; i < 40; i++)
		data[i] = (uint8_t)(0x40 + i);
	memset(&r, 0, sizeof(r));
	r.args.memcpy.mem = mem;
	r.args.memcpy.offset = 100;
	r.args.memcpy.length = sizeof(data);
	inline_data(&r, data, sizeof(data));
	ck_assert_int_eq(r2_call(VGPUIF_OP_MEMCPY_H2D, ctx, &r, NULL), 0);
	ck_assert_uint_eq(T->map_calls, maps);        /* not one grant mapped */
	fake_grant(T, 40, false);
	ck_assert_int_eq(copy(VGPUIF_OP_MEMCPY_D2H, ctx, mem, 40, 140), 0);
	ck_assert(!memcmp((uint8_t *)fake_page(T, 40) + 100, data, sizeof(data)));
	/* inline where the backend writes: refused, nothing reached the exec */
	memset(&r, 0, sizeof(r));
	r.args.memcpy.mem = mem;
	r.args.memcpy.length = 8;
	inline_data(&r, data, 8);
	ck_assert_int_eq(r2_call(VGPUIF_OP_MEMCPY_D2H, ctx, &r, NULL), VGPUIF_RSP_EINVAL);
	ck_assert_int_eq(fake_exec_stats().submitted, 8);
}
END_TEST

static int global(uint32_t ctx, uint64_t mod, const char *name, uint32_t gref,
		  struct vgpuif_response *p)
{
	struct vgpuif_request r = { 0 };
	uint32_t n = (uint32_t)strlen(name);

	memcpy(fake_page(T, gref), name, n);
	r.args.module_global.module = mod;
	r.args.module_global.name_len = n;
	one_seg(&r, gref, n + 16);
	return r2_call(VGPUIF_OP_MODULE_GLOBAL, ctx, &r, p);
}

/*
 * MODULE_GLOBAL: the same handle for the same name, the answer bytes in
 * the stream, not freeable, released with its module (functions too).
 */
START_TEST(test_module_global)
{
	struct vgpuif_request r = { 0 };
	struct vgpuif_response p, p2;
	uint64_t mod, func, g, ans[2];
	uint32_t ctx, used;
	struct vgpuback_ctx *c;

	start(true);
	ctx = ctx_create();
	c = vgpuback_ctx_lookup(&DEV.handles, ctx);
	fake_grant(T, 50, false);
	r.args.module_load.image_len = 4;
	inline_data(&r, "ptx!", 4);
	ck_assert_int_eq(r2_call(VGPUIF_OP_MODULE_LOAD, ctx, &r, &p), 0);
	mod = p.result[0];
	memset(&r, 0, sizeof(r));
	r.args.func_get.module = mod;
	r.args.func_get.name_len = 1;
	inline_data(&r, "k", 1);
	ck_assert_int_eq(r2_call(VGPUIF_OP_FUNC_GET, ctx, &r, &p), 0);
	func = p.result[0];
	used = c->nr_used;

	ck_assert_int_eq(global(ctx, mod, "counter", 50, &p), 0);
	g = p.result[0];
	ck_assert_uint_eq(p.result[1], 64 + 7);
	memcpy(ans, (uint8_t *)fake_page(T, 50) + 7, sizeof(ans));
	ck_assert_uint_eq(ans[0], 0xd000000000ull + 7);
	ck_assert_uint_eq(ans[1], 64 + 7);
	ck_assert_int_eq(global(ctx, mod, "counter", 50, &p2), 0);
	ck_assert_uint_eq(p2.result[0], g);            /* asked twice: same */
	ck_assert_uint_eq(c->nr_used, used + 1);
	ck_assert_int_eq(global(ctx, mod, "missing", 50, &p2), VGPUIF_RSP_ENOENT);
	ck_assert_uint_eq(c->nr_used, used + 1);
	ck_assert_int_eq(fake_exec_stats().globals_live, 1);

	/* a global is memory for copies, but not the guest's to free */
	ck_assert_int_eq(copy(VGPUIF_OP_MEMCPY_H2D, ctx, g, 50, 71), 0);
	ck_assert_int_eq(copy(VGPUIF_OP_MEMCPY_H2D, ctx, g, 50, 72), VGPUIF_RSP_ERANGE);
	memset(&r, 0, sizeof(r));
	r.args.mem_free.mem = g;
	ck_assert_int_eq(r2_call(VGPUIF_OP_MEM_FREE, ctx, &r, NULL), VGPUIF_RSP_EINVAL);
	ck_assert_uint_eq(DEV.handles.mem_used, 0);

	/* a full table still finds the global it holds; a new one: EMFILE */
	DEV.handles.max_per_ctx = c->nr_used;
	ck_assert_int_eq(global(ctx, mod, "counter", 50, &p2), 0);
	ck_assert_uint_eq(p2.result[0], g);
	ck_assert_int_eq(global(ctx, mod, "other", 50, &p2), VGPUIF_RSP_EMFILE);
	DEV.handles.max_per_ctx = VGPUIF_MAX_HANDLES_PER_CTX;

	/* unload: the function and the global go, their slots too */
	memset(&r, 0, sizeof(r));
	r.args.module_unload.module = mod;
	ck_assert_int_eq(r2_call(VGPUIF_OP_MODULE_UNLOAD, ctx, &r, NULL), 0);
	ck_assert_uint_eq(c->nr_used, used - 2);
	ck_assert_int_eq(fake_exec_stats().globals_live, 0);
	ck_assert_int_eq(copy(VGPUIF_OP_MEMCPY_H2D, ctx, g, 50, 8), VGPUIF_RSP_EBADF);
	memset(&r, 0, sizeof(r));
	r.args.func.func = func;
	one_seg(&r, 50, sizeof(struct vgpuif_func_info));
	ck_assert_int_eq(r2_call(VGPUIF_OP_FUNC_INFO, ctx, &r, NULL), VGPUIF_RSP_EBADF);
}
END_TEST

START_TEST(test_func_info_dispatch)
{
	struct vgpuif_request r = { 0 };
	struct vgpuif_response p;
	struct vgpuif_func_info *fi;
	uint64_t mod, func;
	uint32_t ctx;

	start(true);
	ctx = ctx_create();
	r.args.module_load.image_len = 4;
	inline_data(&r, "ptx!", 4);
	ck_assert_int_eq(r2_call(VGPUIF_OP_MODULE_LOAD, ctx, &r, &p), 0);
	mod = p.result[0];
	memset(&r, 0, sizeof(r));
	r.args.func_get.module = mod;
	r.args.func_get.name_len = 1;
	inline_data(&r, "k", 1);
	ck_assert_int_eq(r2_call(VGPUIF_OP_FUNC_GET, ctx, &r, &p), 0);
	func = p.result[0];
	fake_grant(T, 60, false);
	memset(&r, 0, sizeof(r));
	r.args.func.func = func;
	one_seg(&r, 60, sizeof(*fi));
	ck_assert_int_eq(r2_call(VGPUIF_OP_FUNC_INFO, ctx, &r, NULL), 0);
	fi = fake_page(T, 60);
	ck_assert_uint_eq(fi->nr_params, 2);
	ck_assert_uint_eq(fi->param[1].offset, 8);
	memset(&r, 0, sizeof(r));
	r.args.func.func = func;
	r.args.func.attr = 8;
	r.args.func.value = 1024;
	ck_assert_int_eq(r2_call(VGPUIF_OP_FUNC_SET_ATTR, ctx, &r, NULL), 0);
	ck_assert_int_eq(fake_exec_stats().last_op, VGPUIF_OP_FUNC_SET_ATTR);
}
END_TEST

/* An executor that lacks the revision-2 ops: EOPNOTSUPP, nothing held. */
START_TEST(test_executor_without_r2)
{
	struct vgpuif_request r = { 0 };
	uint32_t ctx, used;
	struct vgpuback_ctx *c;

	start(true);
	ctx = ctx_create();
	c = vgpuback_ctx_lookup(&DEV.handles, ctx);
	used = c->nr_used;
	fake_exec_no_r2(true);
	ck_assert_int_eq(r2_call(VGPUIF_OP_STREAM_CREATE, ctx, &r, NULL),
			 VGPUIF_RSP_EOPNOTSUPP);
	ck_assert_int_eq(r2_call(VGPUIF_OP_EVENT_CREATE, ctx, &r, NULL),
			 VGPUIF_RSP_EOPNOTSUPP);
	ck_assert_int_eq(r2_call(VGPUIF_OP_STREAM_QUERY, ctx, &r, NULL),
			 VGPUIF_RSP_EOPNOTSUPP);
	ck_assert_uint_eq(c->nr_used, used);
	ck_assert_uint_eq(c->nr_streams + c->nr_events, 0);
	fake_exec_no_r2(false);
}
END_TEST

/* A backend told to speak revision 1: the new ops are unknown to it. */
/* HOST_REGISTER of n pages from gref first on (granted here). */
static int host_register(uint32_t first, uint32_t n, uint32_t flags,
			 struct vgpuif_response *out)
{
	struct vgpuif_request r = { .op = VGPUIF_OP_HOST_REGISTER };

	r.nr_segments = (uint16_t)n;
	r.args.host_register.length = (uint64_t)n * 4096;
	r.args.host_register.flags = flags;
	for (uint32_t k = 0; k < n; k++)
		r.u.seg[k] = (struct vgpuif_segment){ first + k, 0, 4096 };
	return call(&r, out);
}

static void host_copy_req(struct vgpuif_request *r, uint8_t op, uint32_t ctx,
			  uint64_t mem, uint64_t region, uint64_t off, uint64_t len)
{
	memset(r, 0, sizeof(*r));
	r->op = op;
	r->flags = VGPUIF_F_HOST_MEM;
	r->ctx = ctx;
	r->args.memcpy.mem = mem;
	r->args.memcpy.length = len;
	r->args.memcpy.host_region = region;
	r->args.memcpy.host_offset = off;
}

/*
 * Registered host memory end to end over the fake transport: the pages are
 * mapped once (not per copy), the executor maps them itself from the file
 * and offsets the transport names (the fake checks they are the same
 * pages), copies go through its mapping both ways, GET_INFO says zero-copy,
 * unregister unmaps.
 */
START_TEST(test_host_region_zero_copy)
{
	struct vgpuif_request r;
	struct vgpuif_response p;
	uint64_t mem, region, maps;
	uint8_t *g;
	uint32_t ctx;

	start(true);
	ctx = ctx_create();
	ck_assert_int_eq(mem_alloc(ctx, 8192, &mem), 0);
	for (uint32_t k = 0; k < 3; k++) {
		fake_grant(T, 40 + k, false);
		memset(fake_page(T, 40 + k), 0x10 + (int)k, 4096);
	}
	ck_assert_int_eq(host_register(40, 3, 0, &p), 0);
	region = p.result[0];
	ck_assert_uint_ne(region, 0);
	ck_assert_uint_eq(p.result[1], VGPUIF_COPY_ZERO_COPY);
	ck_assert_uint_eq(vgpuback_copy_mode(&DEV), VGPUIF_COPY_ZERO_COPY);
	ck_assert_int_eq(fake_exec_stats().hostregs_live, 1);
	maps = T->map_calls;
	/* H2D from the middle page, D2H into the last: no grant mapped */
	host_copy_req(&r, VGPUIF_OP_MEMCPY_H2D, ctx, mem, region, 4096, 4096);
	ck_assert_int_eq(call(&r, NULL), 0);
	host_copy_req(&r, VGPUIF_OP_MEMCPY_D2H, ctx, mem, region, 8192, 4096);
	ck_assert_int_eq(call(&r, NULL), 0);
	ck_assert_uint_eq(T->map_calls, maps);
	ck_assert_int_eq(fake_exec_stats().zero_copies, 2);
	g = fake_page(T, 42);
	ck_assert_uint_eq(g[0], 0x11);
	ck_assert_uint_eq(g[4095], 0x11);
	/* a second region may not take its pages */
	ck_assert_int_eq(host_register(41, 1, 0, &p), VGPUIF_RSP_EINVAL);
	/* unregister: unmapped, handle gone */
	memset(&r, 0, sizeof(r));
	r.op = VGPUIF_OP_HOST_UNREGISTER;
	r.args.host_unregister.region = region;
	ck_assert_int_eq(call(&r, NULL), 0);
	ck_assert_int_eq(fake_exec_stats().hostregs_live, 0);
	ck_assert_int_eq(call(&r, NULL), VGPUIF_RSP_EBADF);
	host_copy_req(&r, VGPUIF_OP_MEMCPY_H2D, ctx, mem, region, 0, 16);
	ck_assert_int_eq(call(&r, NULL), VGPUIF_RSP_EBADF);
	/* the pages are free for a new region */
	ck_assert_int_eq(host_register(41, 2, VGPUIF_HOST_READ_ONLY, &p), 0);
}
END_TEST

/* Executor refuses zero copy: the region's copies are staged, and said so. */
START_TEST(test_host_region_staged_fallback)
{
	struct vgpuif_request r;
	struct vgpuif_response p;
	uint64_t mem;
	uint32_t ctx;
	uint8_t *m;

	fake_exec_no_zero_copy(true);
	start(true);
	ctx = ctx_create();
	ck_assert_int_eq(mem_alloc(ctx, 4096, &mem), 0);
	fake_grant(T, 60, false);
	memset(fake_page(T, 60), 0x5a, 4096);
	ck_assert_int_eq(host_register(60, 1, 0, &p), 0);
	ck_assert_uint_eq(p.result[1], VGPUIF_COPY_STAGED);
	ck_assert_uint_eq(vgpuback_copy_mode(&DEV), VGPUIF_COPY_STAGED);
	host_copy_req(&r, VGPUIF_OP_MEMCPY_H2D, ctx, mem, p.result[0], 100, 64);
	ck_assert_int_eq(call(&r, NULL), 0);
	ck_assert_int_eq(fake_exec_stats().zero_copies, 0);
	ck_assert_int_eq(fake_exec_stats().last_op, VGPUIF_OP_MEMCPY_H2D);
	m = fake_page(T, 60);
	ck_assert_uint_eq(m[100], 0x5a);
	/* through the iov: the executor saw the bytes */
	ck_assert_uint_eq(fake_exec_stats().last_data[0], 0x5a);
}
END_TEST

/*
 * Bad registrations at the ring: foreign, revoked and read-only grants
 * (EFAULT, nothing left mapped), a copy past the region (ERANGE), and an
 * unregister while a copy is in flight: answered after the copy.
 */
START_TEST(test_host_region_bad_grants_and_unregister_in_flight)
{
	struct vgpuif_request r;
	struct vgpuif_response p;
	uint64_t mem, region;
	uint32_t ctx;
	int live;

	start(true);
	ctx = ctx_create();
	ck_assert_int_eq(mem_alloc(ctx, 4096, &mem), 0);
	live = fake_live_maps(T);
	/* never granted (foreign) */
	ck_assert_int_eq(host_register(70, 1, 0, &p), VGPUIF_RSP_EFAULT);
	/* granted, then revoked */
	fake_grant(T, 71, false);
	fake_revoke(T, 71);
	ck_assert_int_eq(host_register(71, 1, 0, &p), VGPUIF_RSP_EFAULT);
	/* one good page, one read-only grant registered writable */
	fake_grant(T, 72, false);
	fake_grant(T, 73, true);
	ck_assert_int_eq(host_register(72, 2, 0, &p), VGPUIF_RSP_EFAULT);
	ck_assert_int_eq(fake_live_maps(T), live);
	ck_assert_int_eq(fake_exec_stats().hostregs_live, 0);
	/* ... which registers read-only; a D2H into it is refused */
	ck_assert_int_eq(host_register(72, 2, VGPUIF_HOST_READ_ONLY, &p), 0);
	region = p.result[0];
	host_copy_req(&r, VGPUIF_OP_MEMCPY_D2H, ctx, mem, region, 0, 4096);
	ck_assert_int_eq(call(&r, NULL), VGPUIF_RSP_EPERM);
	host_copy_req(&r, VGPUIF_OP_MEMCPY_H2D, ctx, mem, region, 8000, 400);
	ck_assert_int_eq(call(&r, NULL), VGPUIF_RSP_ERANGE);
	/* unregister behind a copy in flight */
	fake_exec_hold(true);
	host_copy_req(&r, VGPUIF_OP_MEMCPY_H2D, ctx, mem, region, 100, 4096);
	push(&r);
	memset(&r, 0, sizeof(r));
	r.op = VGPUIF_OP_HOST_UNREGISTER;
	r.args.host_unregister.region = region;
	push(&r);
	vgpuback_ring_kick(&DEV);
	ck_assert_int_eq(fake_exec_held(), 1);
	ck_assert_int_eq(pending_rsps(), 0);        /* the unregister waits */
	/* the handle is invalid at once */
	host_copy_req(&r, VGPUIF_OP_MEMCPY_H2D, ctx, mem, region, 0, 16);
	ck_assert_int_eq(call(&r, NULL), VGPUIF_RSP_EBADF);
	ck_assert_int_eq(fake_exec_stats().hostregs_live, 1);
	fake_exec_release(-1);
	vgpuback_ring_completions(&DEV);
	p = pop();
	ck_assert_int_eq(p.op, VGPUIF_OP_MEMCPY_H2D);
	ck_assert_int_eq(p.status, 0);
	p = pop();
	ck_assert_int_eq(p.op, VGPUIF_OP_HOST_UNREGISTER);
	ck_assert_int_eq(p.status, 0);
	ck_assert_int_eq(fake_exec_stats().hostregs_live, 0);
	ck_assert_int_eq(fake_live_maps(T), live);
	/* a region left registered goes with the disconnect (teardown) */
	fake_exec_hold(false);
	ck_assert_int_eq(host_register(72, 1, 0, &p), 0);
}
END_TEST

START_TEST(test_revision1_backend)
{
	struct vgpuif_request r = { 0 };
	uint64_t mem;
	uint32_t ctx;

	CFG.protocol_revision = 1;
	start(true);
	ctx = ctx_create();
	ck_assert_int_eq(mem_alloc(ctx, 4096, &mem), 0);
	for (uint8_t op = VGPUIF_OP_COUNT_V1; op < VGPUIF_OP_COUNT; op++) {
		memset(&r, 0, sizeof(r));
		ck_assert_int_eq(r2_call(op, op == VGPUIF_OP_DEVICE_INFO ? 0 : ctx,
					 &r, NULL), VGPUIF_RSP_ENOSYS);
	}
	memset(&r, 0, sizeof(r));
	r.args.memcpy.mem = mem;
	r.args.memcpy.length = 4;
	inline_data(&r, "abcd", 4);
	ck_assert_int_eq(r2_call(VGPUIF_OP_MEMCPY_H2D, ctx, &r, NULL), VGPUIF_RSP_EINVAL);
	fake_grant(T, 20, false);
	ck_assert_int_eq(copy(VGPUIF_OP_MEMCPY_H2D, ctx, mem, 20, 4), 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("ring");
	TCase *tc = tcase_create("grants");

	tcase_add_checked_fixture(tc, base_setup, teardown);
	tcase_add_test(tc, test_persistent_steady_state);
	tcase_add_test(tc, test_nonpersistent_maps_each_request);
	tcase_add_test(tc, test_persistent_misses_batched_bounded);
	tcase_add_loop_test(tc, test_persistent_misses_one_call, 0, 2);
	tcase_add_test(tc, test_lru_bound);
	tcase_add_test(tc, test_bad_grants);
	tcase_add_test(tc, test_indirect_changed_after_copy);
	suite_add_tcase(s, tc);
	tc = tcase_create("completions");
	tcase_add_checked_fixture(tc, base_setup, teardown);
	tcase_add_test(tc, test_completions_from_thread_with_backpressure);
	tcase_add_test(tc, test_completion_wakeups_batched);
	tcase_add_test(tc, test_poll_window_adapts);
	tcase_add_test(tc, test_ctx_destroy_waits_for_its_ops);
	tcase_add_test(tc, test_disconnect_with_work_in_flight);
	suite_add_tcase(s, tc);
	tc = tcase_create("limits");
	tcase_add_checked_fixture(tc, base_setup, teardown);
	tcase_add_test(tc, test_quota_counts_allocations_in_flight);
	tcase_add_test(tc, test_table_limits);
	tcase_add_test(tc, test_table_grows_with_ops_in_flight);
	suite_add_tcase(s, tc);
	tc = tcase_create("hostile");
	tcase_add_checked_fixture(tc, base_setup, teardown);
	tcase_add_test(tc, test_storm_throttle);
	tcase_add_test(tc, test_producer_overflow_halts);
	tcase_add_test(tc, test_storm_on_halted_ring_throttled);
	tcase_add_test(tc, test_storm_under_backpressure_throttled);
	tcase_add_test(tc, test_shutdown_answers_eshutdown);
	suite_add_tcase(s, tc);
	tc = tcase_create("revision 2");
	tcase_add_checked_fixture(tc, base_setup, teardown);
	tcase_add_test(tc, test_device_info_dispatch);
	tcase_add_test(tc, test_get_info_ctx_overhead);
	tcase_add_test(tc, test_streams_events_dispatch);
	tcase_add_test(tc, test_inline_maps_nothing);
	tcase_add_test(tc, test_module_global);
	tcase_add_test(tc, test_func_info_dispatch);
	tcase_add_test(tc, test_executor_without_r2);
	tcase_add_test(tc, test_revision1_backend);
	tcase_add_test(tc, test_host_region_zero_copy);
	tcase_add_test(tc, test_host_region_staged_fallback);
	tcase_add_test(tc, test_host_region_bad_grants_and_unregister_in_flight);
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
