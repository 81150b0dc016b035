/*
 * test_protocol.c - the wire protocol: layout, ring arithmetic at the edges,
 * segment and limit helpers.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vgpuif.h"

/* ------------------------------------------------------------- layout */

START_TEST(test_sizes)
{
	ck_assert_uint_eq(sizeof(struct vgpuif_segment), 8);
	ck_assert_uint_eq(sizeof(union vgpuif_args), 48);
	ck_assert_uint_eq(sizeof(struct vgpuif_request), 128);
	ck_assert_uint_eq(sizeof(struct vgpuif_response), 40);
	ck_assert_uint_eq(sizeof(struct vgpuif_info), 208);
	/* One segment page holds exactly 512 descriptors. */
	ck_assert_uint_eq(VGPUIF_SEGS_PER_INDIRECT_PAGE * sizeof(struct vgpuif_segment),
			  VGPUIF_PAGE_SIZE);
	/* The indirect refs fit in the space of the direct segments. */
	ck_assert_uint_le(VGPUIF_MAX_INDIRECT_PAGES * sizeof(uint32_t),
			  sizeof(((struct vgpuif_request *)0)->u));
}
END_TEST

/* Every 64-bit field is on an 8-byte offset, so i386 guests agree. */
START_TEST(test_u64_alignment)
{
	static const size_t offs[] = {
		offsetof(struct vgpuif_request, id),
		offsetof(struct vgpuif_request, args),
		offsetof(struct vgpuif_request, args.memcpy.mem),
		offsetof(struct vgpuif_request, args.memcpy.offset),
		offsetof(struct vgpuif_request, args.memcpy.length),
		offsetof(struct vgpuif_request, args.memcpy_d2d.length),
		offsetof(struct vgpuif_request, args.memset.length),
		offsetof(struct vgpuif_request, args.module_load.image_len),
		offsetof(struct vgpuif_request, args.launch.func),
		offsetof(struct vgpuif_response, id),
		offsetof(struct vgpuif_response, result),
		offsetof(struct vgpuif_response, exec_ns),
		offsetof(struct vgpuif_info, total_mem),
		offsetof(struct vgpuif_info, free_mem),
		offsetof(struct vgpuif_info, mem_quota),
		offsetof(struct vgpuif_info, mem_used),
	};
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++)
		ck_assert_msg(offs[i] % 8 == 0, "row %zu: offset %zu", i, offs[i]);
	ck_assert_uint_eq(sizeof(struct vgpuif_request) % 8, 0);
	ck_assert_uint_eq(sizeof(struct vgpuif_response) % 8, 0);
	ck_assert_uint_eq(sizeof(struct vgpuif_info) % 8, 0);
}
END_TEST

START_TEST(test_ring_size_per_order)
{
	/* (4096 << order) - 64 header bytes, in 128-byte slots, power of 2. */
	static const unsigned int want[] = { 16, 32, 64, 128, 256 };
	for (unsigned int order = 0; order <= VGPUIF_MAX_RING_PAGE_ORDER; order++) {
		size_t bytes = (size_t)VGPUIF_PAGE_SIZE << order;
		unsigned int entries = VGPUIF_RING_SIZE(order);

		ck_assert_uint_eq(entries, want[order]);
		ck_assert_uint_le(64 + entries * 128, bytes);
	}
}
END_TEST

/* ------------------------------------------------- ring arithmetic */

struct ring_fixture {
	void *page;
	struct vgpuif_sring *sring;
	struct vgpuif_front_ring front;
	struct vgpuif_back_ring back;
};

static void ring_setup(struct ring_fixture *f, RING_IDX start)
{
	f->page = aligned_alloc(VGPUIF_PAGE_SIZE, VGPUIF_PAGE_SIZE);
	ck_assert_ptr_nonnull(f->page);
	f->sring = f->page;
	SHARED_RING_INIT(f->sring);
	FRONT_RING_INIT(&f->front, f->sring, VGPUIF_PAGE_SIZE);
	BACK_RING_INIT(&f->back, f->sring, VGPUIF_PAGE_SIZE);
	/* Start both ends near an arbitrary index, e.g. just below 2^32. */
	f->sring->req_prod = f->sring->rsp_prod = start;
	f->sring->req_event = f->sring->rsp_event = start + 1;
	f->front.req_prod_pvt = f->front.rsp_cons = start;
	f->back.rsp_prod_pvt = f->back.req_cons = start;
}

static void ring_teardown(struct ring_fixture *f)
{
	free(f->page);
}

/* Push n requests with ids id0.., consume them at the back, answer them. */
static void ring_round(struct ring_fixture *f, unsigned int n, uint64_t id0)
{
	int notify, more;

	for (unsigned int i = 0; i < n; i++) {
		struct vgpuif_request *req;
		ck_assert(!RING_FULL(&f->front));
		req = RING_GET_REQUEST(&f->front, f->front.req_prod_pvt);
		memset(req, 0, sizeof(*req));
		req->id = id0 + i;
		req->op = VGPUIF_OP_NOP;
		f->front.req_prod_pvt++;
	}
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&f->front, notify);
	ck_assert_int_eq(notify, 1);

	RING_IDX rp = f->sring->req_prod;
	ck_assert(!RING_REQUEST_PROD_OVERFLOW(&f->back, rp));
	unsigned int seen = 0;
	while (f->back.req_cons != rp) {
		struct vgpuif_request copy;
		struct vgpuif_response *rsp;
		ck_assert(!RING_REQUEST_CONS_OVERFLOW(&f->back, f->back.req_cons));
		RING_COPY_REQUEST(&f->back, f->back.req_cons, &copy);
		f->back.req_cons++;
		ck_assert_uint_eq(copy.id, id0 + seen);
		rsp = RING_GET_RESPONSE(&f->back, f->back.rsp_prod_pvt);
		rsp->id = copy.id;
		rsp->status = VGPUIF_RSP_OK;
		f->back.rsp_prod_pvt++;
		seen++;
	}
	ck_assert_uint_eq(seen, n);
	RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&f->back, notify);
	RING_FINAL_CHECK_FOR_REQUESTS(&f->back, more);
	ck_assert_int_eq(more, 0);

	RING_IDX prod = f->sring->rsp_prod;
	ck_assert(!RING_RESPONSE_PROD_OVERFLOW(&f->front, prod));
	for (unsigned int i = 0; f->front.rsp_cons != prod; i++) {
		struct vgpuif_response r;
		RING_COPY_RESPONSE(&f->front, f->front.rsp_cons, &r);
		ck_assert_uint_eq(r.id, id0 + i);
		f->front.rsp_cons++;
	}
	RING_FINAL_CHECK_FOR_RESPONSES(&f->front, more);
	ck_assert_int_eq(more, 0);
}

/* Indices that cross 2^32 wrap: the ring keeps working, in order. */
START_TEST(test_ring_wrap_u32)
{
	static const RING_IDX starts[] = { 0, 5, 0xfffffff0u, 0xfffffffeu, 0xffffffffu };
	struct ring_fixture f;

	ring_setup(&f, starts[_i]);
	for (unsigned int round = 0; round < 40; round++)
		ring_round(&f, 1 + round % 16, (uint64_t)round << 8);
	/* 40 rounds of 1..16 pushed the indices far past the start. */
	ck_assert_uint_ne(f.front.req_prod_pvt, starts[_i]);
	ring_teardown(&f);
}
END_TEST

START_TEST(test_ring_full)
{
	struct ring_fixture f;
	unsigned int size;

	ring_setup(&f, 0xfffffff8u); /* fill across the wrap */
	size = RING_SIZE(&f.front);
	unsigned int want = VGPUIF_RING_SIZE(0);
	ck_assert_uint_eq(size, want);
	for (unsigned int i = 0; i < size; i++) {
		ck_assert(!RING_FULL(&f.front));
		f.front.req_prod_pvt++;
	}
	ck_assert(RING_FULL(&f.front));
	ck_assert_uint_eq(RING_FREE_REQUESTS(&f.front), 0);
	/* One response consumed frees one slot. */
	f.front.rsp_cons++;
	ck_assert(!RING_FULL(&f.front));
	ck_assert_uint_eq(RING_FREE_REQUESTS(&f.front), 1);
	ring_teardown(&f);
}
END_TEST

/* A producer index that jumped by more than the ring size is a lie. */
START_TEST(test_ring_prod_overflow)
{
	static const RING_IDX starts[] = { 0, 100, 0xfffffff0u, 0xffffffffu };
	static const struct { int64_t delta; int lying; } rows[] = {
		{ 0, 0 }, { 1, 0 }, { 15, 0 }, { 16, 0 }, /* up to RING_SIZE */
		{ 17, 1 }, { 1000, 1 }, { 0x7fffffff, 1 },
		{ -1, 1 },                   /* moved backwards: wraps huge */
	};
	struct ring_fixture f;

	for (unsigned int s = 0; s < sizeof(starts) / sizeof(starts[0]); s++) {
		ring_setup(&f, starts[s]);
		for (unsigned int i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
			RING_IDX prod = (RING_IDX)(starts[s] + (RING_IDX)rows[i].delta);
			ck_assert_msg((RING_REQUEST_PROD_OVERFLOW(&f.back, prod) ? 1 : 0) ==
				      rows[i].lying, "start %u delta %lld",
				      starts[s], (long long)rows[i].delta);
			ck_assert_msg((RING_RESPONSE_PROD_OVERFLOW(&f.front, prod) ? 1 : 0) ==
				      rows[i].lying, "rsp start %u delta %lld",
				      starts[s], (long long)rows[i].delta);
		}
		ring_teardown(&f);
	}
}
END_TEST

/* --------------------------------------------------------- helpers */

START_TEST(test_segment_valid)
{
	static const struct { uint16_t off, len; int ok; } rows[] = {
		{ 0, 1, 1 }, { 0, 4096, 1 }, { 4095, 1, 1 }, { 100, 3996, 1 },
		{ 0, 0, 0 },          /* empty */
		{ 4095, 2, 0 },       /* runs past the page */
		{ 4096, 1, 0 },       /* offset outside the page */
		{ 1, 4096, 0 },
		{ 65535, 65535, 0 },  /* no 16-bit wrap */
		{ 0, 65535, 0 },
	};
	for (unsigned int i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct vgpuif_segment s = { .gref = 8, .offset = rows[i].off,
					    .length = rows[i].len };
		ck_assert_msg(vgpuif_segment_valid(&s) == rows[i].ok, "row %u", i);
	}
}
END_TEST

START_TEST(test_indirect_pages)
{
	ck_assert_uint_eq(vgpuif_indirect_pages(0), 0);
	ck_assert_uint_eq(vgpuif_indirect_pages(1), 1);
	ck_assert_uint_eq(vgpuif_indirect_pages(512), 1);
	ck_assert_uint_eq(vgpuif_indirect_pages(513), 2);
	ck_assert_uint_eq(vgpuif_indirect_pages(VGPUIF_MAX_INDIRECT_SEGMENTS),
			  VGPUIF_MAX_INDIRECT_PAGES);
	ck_assert_uint_eq(vgpuif_indirect_pages(VGPUIF_MAX_INDIRECT_SEGMENTS + 1),
			  VGPUIF_MAX_INDIRECT_PAGES + 1);
}
END_TEST

START_TEST(test_check_nr_segments)
{
	static const struct { uint8_t flags; uint32_t nr, max; int want; } rows[] = {
		{ 0, 0, 0, 0 }, { 0, 8, 0, 0 },
		{ 0, 9, 8192, VGPUIF_RSP_E2BIG },
		{ VGPUIF_F_INDIRECT, 0, 8192, VGPUIF_RSP_EINVAL },
		{ VGPUIF_F_INDIRECT, 1, 8192, 0 },
		{ VGPUIF_F_INDIRECT, 8192, 8192, 0 },
		{ VGPUIF_F_INDIRECT, 8193, 8192, VGPUIF_RSP_E2BIG },
		{ VGPUIF_F_INDIRECT, 600, 512, VGPUIF_RSP_E2BIG },  /* advertised less */
		{ VGPUIF_F_INDIRECT, 9000, 65535, VGPUIF_RSP_E2BIG }, /* capped */
		{ VGPUIF_F_INDIRECT, 1, 0, VGPUIF_RSP_E2BIG },       /* no indirect */
		{ 0x80, 1, 8192, VGPUIF_RSP_EINVAL },                /* unknown flag */
		{ 0x02 | VGPUIF_F_INDIRECT, 1, 8192, VGPUIF_RSP_EINVAL },
		{ VGPUIF_F_HOST_MEM, 0, 8192, 0 },                   /* revision 3 */
		{ VGPUIF_F_HOST_MEM, 1, 8192, VGPUIF_RSP_EINVAL },   /* no segments */
		{ VGPUIF_F_HOST_MEM | VGPUIF_F_INDIRECT, 0, 8192, VGPUIF_RSP_EINVAL },
		{ VGPUIF_F_HOST_MEM | VGPUIF_F_INLINE, 0, 8192, VGPUIF_RSP_EINVAL },
		{ 0x08, 0, 8192, VGPUIF_RSP_EINVAL },                /* unknown flag */
	};
	for (unsigned int i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		ck_assert_msg(vgpuif_check_nr_segments(rows[i].flags, rows[i].nr,
						       rows[i].max) == rows[i].want,
			      "row %u", i);
}
END_TEST

START_TEST(test_pages_spanned)
{
	static const struct { uint64_t off, len; uint32_t want; } rows[] = {
		{ 0, 0, 0 }, { 0, 1, 1 }, { 0, 4096, 1 }, { 1, 4096, 2 },
		{ 4095, 2, 2 }, { 4096, 1, 1 }, { 3, 1048579, 257 },
		{ 0, 64ull << 20, 16384 }, { 7, (64ull << 20), 16385 },
	};
	for (unsigned int i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		ck_assert_msg(vgpuif_pages_spanned(rows[i].off, rows[i].len) ==
			      rows[i].want, "row %u", i);
}
END_TEST

START_TEST(test_range_ok)
{
	static const struct { uint64_t off, len, size; int ok; } rows[] = {
		{ 0, 0, 0, 1 }, { 0, 10, 10, 1 }, { 5, 5, 10, 1 }, { 10, 0, 10, 1 },
		{ 6, 5, 10, 0 }, { 11, 0, 10, 0 }, { 0, 11, 10, 0 },
		{ UINT64_MAX, 2, 10, 0 },            /* off + len wraps */
		{ 2, UINT64_MAX, 10, 0 },
		{ UINT64_MAX - 1, 1, UINT64_MAX, 1 },
	};
	for (unsigned int i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		ck_assert_msg(vgpuif_range_ok(rows[i].off, rows[i].len, rows[i].size) ==
			      rows[i].ok, "row %u", i);
}
END_TEST

START_TEST(test_names_and_status)
{
	static const int codes[] = {
		VGPUIF_RSP_OK, VGPUIF_RSP_EPERM, VGPUIF_RSP_ENOENT, VGPUIF_RSP_EIO,
		VGPUIF_RSP_E2BIG, VGPUIF_RSP_ENOEXEC, VGPUIF_RSP_EBADF,
		VGPUIF_RSP_EAGAIN, VGPUIF_RSP_ENOMEM, VGPUIF_RSP_EFAULT,
		VGPUIF_RSP_EINVAL, VGPUIF_RSP_EMFILE, VGPUIF_RSP_ERANGE,
		VGPUIF_RSP_ENOSYS, VGPUIF_RSP_EOPNOTSUPP, VGPUIF_RSP_ESHUTDOWN,
		VGPUIF_RSP_ETIMEDOUT, VGPUIF_RSP_EREMOTEIO, VGPUIF_RSP_EDQUOT,
	};
	const unsigned int n = sizeof(codes) / sizeof(codes[0]);

	for (unsigned int op = 0; op < VGPUIF_OP_COUNT; op++)
		ck_assert_str_ne(vgpuif_op_name(op), "?");
	ck_assert_str_eq(vgpuif_op_name(VGPUIF_OP_COUNT), "?");
	ck_assert_str_eq(vgpuif_op_name(255), "?");
	ck_assert_str_eq(vgpuif_op_name(VGPUIF_OP_VECTOR_ADD), "VECTOR_ADD");

	/* Every code has its own message, and none is the fallback. */
	for (unsigned int i = 0; i < n; i++) {
		ck_assert(codes[i] <= 0);
		ck_assert_str_ne(vgpuif_status_str(codes[i]), "unknown status");
		for (unsigned int j = 0; j < i; j++)
			ck_assert_str_ne(vgpuif_status_str(codes[i]),
					 vgpuif_status_str(codes[j]));
	}
	ck_assert_str_eq(vgpuif_status_str(-4242), "unknown status");
	ck_assert_str_eq(vgpuif_status_str(1), "unknown status");
}
END_TEST

/* The fixed limits are consistent with one another. */
START_TEST(test_limits)
{
	ck_assert_uint_eq(VGPUIF_MAX_INDIRECT_SEGMENTS,
			  VGPUIF_MAX_INDIRECT_PAGES * VGPUIF_SEGS_PER_INDIRECT_PAGE);
	ck_assert_uint_eq(VGPUIF_MAX_REQUEST_BYTES, 32u << 20);
	ck_assert_uint_le(VGPUIF_MAX_FUNC_NAME, VGPUIF_MAX_DIRECT_SEGMENTS * VGPUIF_PAGE_SIZE);
	ck_assert_uint_le(VGPUIF_MAX_PARAM_BYTES, VGPUIF_MAX_DIRECT_SEGMENTS * VGPUIF_PAGE_SIZE);
	ck_assert_uint_le(sizeof(struct vgpuif_info), VGPUIF_PAGE_SIZE);
	ck_assert_str_eq(VGPUIF_PROTOCOL, "vgpuif-1");
}
END_TEST

static Suite *protocol_suite(void)
{
	Suite *s = suite_create("protocol");
	TCase *tc;

	tc = tcase_create("layout");
	tcase_add_test(tc, test_sizes);
	tcase_add_test(tc, test_u64_alignment);
	tcase_add_test(tc, test_ring_size_per_order);
	suite_add_tcase(s, tc);

	tc = tcase_create("ring");
	tcase_add_loop_test(tc, test_ring_wrap_u32, 0, 5);
	tcase_add_test(tc, test_ring_full);
	tcase_add_test(tc, test_ring_prod_overflow);
	suite_add_tcase(s, tc);

	tc = tcase_create("helpers");
	tcase_add_test(tc, test_segment_valid);
	tcase_add_test(tc, test_indirect_pages);
	tcase_add_test(tc, test_check_nr_segments);
	tcase_add_test(tc, test_pages_spanned);
	tcase_add_test(tc, test_range_ok);
	tcase_add_test(tc, test_names_and_status);
	tcase_add_test(tc, test_limits);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(protocol_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
