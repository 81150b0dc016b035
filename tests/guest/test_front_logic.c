// SPDX-License-Identifier: MIT
/*
 * test_front_logic.c - the pure logic of vgpu-front.ko (vgpu-front-logic.h),
 * compiled in userspace: segments of a user buffer, splitting of large
 * copies, direct/indirect layout, request-id bookkeeping, the checks on
 * what the backend answers, and the CALL ioctl's checks (a table of bad
 * calls with the status each must get), contexts and inline decisions.
 * libvgpu's loopback transport uses the same code.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vgpu-front-logic.h"

/* ------------------------------------------------------------ segments */

static const struct { uint64_t addr, len; } seg_rows[] = {
	{ 0, 1 }, { 4095, 1 }, { 4095, 2 }, { 1, 4095 }, { 0, 4096 }, { 0, 4097 },
	{ 4096 * 7 + 13, 12288 }, { 3, 1048579 }, { 1, 64u << 20 }, { 0x7fff0001, 4 },
};

START_TEST(segments_cover_the_buffer)
{
	uint64_t addr = seg_rows[_i].addr, len = seg_rows[_i].len, sum = 0;
	uint32_t n = vgpuif_pages_spanned(addr, len), i;

	ck_assert_uint_ge(n, 1);
	for (i = 0; i < n; i++) {
		struct vgpuif_segment s = { .gref = 1 };

		vgpufront_page_seg(addr, len, i, &s.offset, &s.length);
		ck_assert_msg(vgpuif_segment_valid(&s), "row %d seg %u: off %u len %u", _i, i,
			      s.offset, s.length);
		if (i == 0)
			ck_assert_uint_eq(s.offset, addr & 4095);
		else
			ck_assert_uint_eq(s.offset, 0);
		/* every segment but the last ends at the end of its page */
		if (i + 1 < n)
			ck_assert_uint_eq(s.offset + s.length, 4096);
		sum += s.length;
	}
	ck_assert_uint_eq(sum, len);
}
END_TEST

/* A whole transfer split into requests of at most max_segs pages. */
static const struct { uint64_t addr, len; uint32_t max_segs; } chunk_rows[] = {
	{ 0, 1, 8 }, { 4095, 4097, 8 }, { 1, 32768, 8 }, { 3, (64u << 20) + 3, 1024 },
	{ 0, 64u << 20, 8192 }, { 5, 1u << 30, 8192 }, { 4000, 100000, 9 },
};

START_TEST(chunks_cover_the_transfer)
{
	uint64_t addr = chunk_rows[_i].addr, len = chunk_rows[_i].len, done = 0;
	uint32_t max = chunk_rows[_i].max_segs, nreq = 0;

	while (done < len) {
		uint64_t c = vgpufront_chunk_len(addr + done, len - done, max);

		ck_assert_uint_gt(c, 0);
		ck_assert_uint_le(vgpuif_pages_spanned(addr + done, c), max);
		ck_assert_uint_le(c, VGPUIF_MAX_REQUEST_BYTES);
		done += c;
		nreq++;
		ck_assert_uint_lt(nreq, 1u << 20);
	}
	ck_assert_uint_eq(done, len);
	/* Only the last request may be short of a full max_segs pages. */
	ck_assert_uint_le(nreq, len / ((uint64_t)max * 4096 - 4095) + 2);
}
END_TEST

START_TEST(chunk_edges)
{
	ck_assert_uint_eq(vgpufront_chunk_len(0, 100, 0), 0);
	ck_assert_uint_eq(vgpufront_chunk_len(0, 1u << 20, 8), 32768);
	ck_assert_uint_eq(vgpufront_chunk_len(1, 1u << 20, 8), 32767);
	ck_assert_uint_eq(vgpufront_chunk_len(4095, 1u << 20, 1), 1);
	ck_assert_uint_eq(vgpufront_chunk_len(0, 1ull << 40, 8192), VGPUIF_MAX_REQUEST_BYTES);
	ck_assert_uint_eq(vgpufront_chunk_len(0, 1ull << 40, 100000), VGPUIF_MAX_REQUEST_BYTES);
}
END_TEST

static const struct { uint32_t backend, cap, want; } maxseg_rows[] = {
	{ 0, 0, 8 }, { 4, 0, 8 }, { 8, 0, 8 }, { 100, 0, 100 }, { 100000, 0, 8192 },
	{ 8192, 1024, 1024 }, { 8192, 4, 8 }, { 512, 1024, 512 },
};

START_TEST(max_segments)
{
	ck_assert_uint_eq(vgpufront_max_segs(maxseg_rows[_i].backend, maxseg_rows[_i].cap),
			  maxseg_rows[_i].want);
}
END_TEST

/* nr segments, the backend's max indirect -> status, indirect pages */
static const struct { uint32_t nr, max; int status; uint32_t pages; } layout_rows[] = {
	{ 0, 0, 0, 0 },       { 1, 0, 0, 0 },        { 8, 0, 0, 0 },
	{ 8, 8192, 0, 0 },    { 9, 0, -7, 0 },       { 9, 8, -7, 0 },
	{ 9, 512, 0, 1 },     { 512, 512, 0, 1 },    { 513, 512, -7, 0 },
	{ 513, 8192, 0, 2 },  { 8192, 8192, 0, 16 }, { 8193, 100000, -7, 0 },
	{ 600, 100000, 0, 2 }, { 65535, 65535, -7, 0 },
};

START_TEST(seg_layout_table)
{
	uint32_t pages = 99;
	int st = vgpufront_seg_layout(layout_rows[_i].nr, layout_rows[_i].max, &pages);

	ck_assert_int_eq(st, layout_rows[_i].status);
	ck_assert_uint_eq(pages, layout_rows[_i].pages);
	if (st == 0 && pages)
		ck_assert_uint_le(pages, VGPUIF_MAX_INDIRECT_PAGES);
}
END_TEST

/* ---------------------------------------------------------------- ids */

static struct vgpufront_slots *slots_new(uint32_t size)
{
	struct vgpufront_slots *s = calloc(1, sizeof(*s));

	ck_assert_ptr_nonnull(s);
	vgpufront_slots_init(s, size);
	return s;
}

START_TEST(slots_fill_and_drain)
{
	struct vgpufront_slots *s = slots_new(16);
	uint64_t ids[16];
	uint32_t slot = 0, i, j, got = 0;

	for (i = 0; i < 16; i++) {
		ids[i] = vgpufront_slots_get(s, &slot);
		ck_assert_uint_ne(ids[i], 0);
		ck_assert_uint_lt(slot, 16);
		for (j = 0; j < i; j++)
			ck_assert_uint_ne(ids[i], ids[j]);
	}
	ck_assert_uint_eq(vgpufront_slots_get(s, &slot), 0);   /* full */
	for (i = 0; i < 16; i++) {
		ck_assert_int_eq(vgpufront_slots_lookup(s, ids[i], &got), 0);
		ck_assert_uint_eq(got, ids[i] & 0xffff);
		vgpufront_slots_put(s, got);
		ck_assert_int_eq(vgpufront_slots_lookup(s, ids[i], &got), -22); /* answered */
	}
	ck_assert_uint_eq(s->nr_free, 16);
	free(s);
}
END_TEST

/* Ids a lying backend could send: none may match an outstanding request. */
START_TEST(slots_reject_bad_ids)
{
	struct vgpufront_slots *s = slots_new(32);
	uint32_t slot = 0, got = 0;
	uint64_t id = vgpufront_slots_get(s, &slot), old;
	const uint64_t bad[] = {
		0, id + 1, id ^ (1ull << 16), id | 0xffff, (id & ~0xffffull) | 31,
		(id & ~0xffffull) | 32, ~0ull, id & 0xffff, id + (1ull << 48),
	};
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(vgpufront_slots_lookup(s, bad[i], &got) == -22,
			      "bad id %#llx accepted", (unsigned long long)bad[i]);
	/* A slot reused: the old id (a late or replayed answer) no longer matches. */
	vgpufront_slots_put(s, slot);
	old = id;
	id = vgpufront_slots_get(s, &got);
	ck_assert_uint_eq(got, slot);
	ck_assert_uint_ne(id, old);
	ck_assert_int_eq(vgpufront_slots_lookup(s, old, &got), -22);
	ck_assert_int_eq(vgpufront_slots_lookup(s, id, &got), 0);
	/* Putting twice, or a slot out of range, changes nothing. */
	vgpufront_slots_put(s, slot);
	vgpufront_slots_put(s, slot);
	vgpufront_slots_put(s, 1000);
	ck_assert_uint_eq(s->nr_free, 32);
	free(s);
}
END_TEST

START_TEST(slots_size_clamped_and_seq_wraps)
{
	struct vgpufront_slots *s = slots_new(100000);
	uint32_t slot = 0, i;
	uint64_t id;

	ck_assert_uint_eq(s->size, VGPUFRONT_MAX_SLOTS);
	ck_assert_uint_eq(VGPUFRONT_MAX_SLOTS, 256);
	s->seq = (1u << 31) - 2;
	for (i = 0; i < 5; i++) {
		id = vgpufront_slots_get(s, &slot);
		ck_assert_uint_ne(id, 0);
		ck_assert_uint_lt(id >> 16, 1u << 31);
		ck_assert_uint_ge(id >> 16, 1);
		vgpufront_slots_put(s, slot);
	}
	free(s);
}
END_TEST

/* ---------------------------------------------------------- responses */

static const struct { uint32_t rp, cons, req; int ok; } prod_rows[] = {
	{ 0, 0, 0, 1 },  { 1, 0, 0, 0 },  { 5, 3, 10, 1 },  { 10, 3, 10, 1 },
	{ 11, 3, 10, 0 }, { 2, 3, 10, 0 }, /* behind the consumer = huge ahead */
	{ 2, 0xfffffffeu, 3, 1 }, { 3, 0xfffffffeu, 3, 1 }, { 4, 0xfffffffeu, 3, 0 },
	{ 0x80000000u, 0, 16, 0 },
};

START_TEST(rsp_prod_table)
{
	ck_assert_int_eq(vgpufront_rsp_prod_ok(prod_rows[_i].rp, prod_rows[_i].cons,
					       prod_rows[_i].req), prod_rows[_i].ok);
}
END_TEST

static const struct { int32_t in; int out; } status_rows[] = {
	{ 0, 0 }, { -22, -22 }, { -122, -122 }, { -4095, -4095 }, { 1, -5 },
	{ 12345, -5 }, { -4096, -5 }, { -5000, -5 }, { INT32_MIN, -5 }, { INT32_MAX, -5 },
};

START_TEST(rsp_status_table)
{
	ck_assert_int_eq(vgpufront_rsp_status(status_rows[_i].in), status_rows[_i].out);
}
END_TEST

/* ------------------------------------------------------------- CALL */

enum { R_NONE, R_ONE, R_COPY, R_WRITE, R_TWO_COPY };

/* A CALL of op with nr regions of kind k, then one field spoiled. */
static const struct {
	uint32_t op, flags, nr, kind;
	int spoil;              /* 0 none, 1 reserved, 2 region pad, 3 region flag,
				 * 4 len 0, 5 wraps, 6 copy+write, 7 copy of 4097,
				 * 8 too many pages */
	int status;
	uint32_t segs;
	const char *what;
} call_rows[] = {
	{ VGPUIF_OP_NOP, 0, 0, R_NONE, 0, 0, 0, "NOP, nothing" },
	{ VGPUIF_OP_MEMCPY_H2D, 0, 1, R_ONE, 0, 0, 3, "H2D of 8193 bytes from offset 5" },
	{ VGPUIF_OP_MEMCPY_D2H, 0, 1, R_WRITE, 0, 0, 3, "D2H, written region" },
	{ VGPUIF_OP_LAUNCH, VGPU_STUB_CALL_ASYNC, 1, R_COPY, 0, 0, 1, "async launch, copied params" },
	{ VGPUIF_OP_MODULE_GLOBAL, 0, 2, R_TWO_COPY, 0, 0, 2, "two copied regions" },
	{ 0xEE, 0, 0, R_NONE, 0, 0, 0, "an unknown op goes to the backend" },
	{ 255, 0, 0, R_NONE, 0, 0, 0, "op 255" },
	{ 256, 0, 0, R_NONE, 0, -22, 0, "op 256" },
	{ VGPUIF_OP_CTX_CREATE, 0, 0, R_NONE, 0, -1, 0, "CTX_CREATE is the module's" },
	{ VGPUIF_OP_CTX_DESTROY, 0, 0, R_NONE, 0, -1, 0, "CTX_DESTROY is the module's" },
	{ VGPUIF_OP_NOP, 0x2, 0, R_NONE, 0, -22, 0, "unknown call flag" },
	{ VGPUIF_OP_NOP, 0, 5, R_NONE, 0, -22, 0, "5 regions" },
	{ VGPUIF_OP_NOP, 0, 0, R_NONE, 1, -22, 0, "reserved not zero" },
	{ VGPUIF_OP_MEMCPY_H2D, 0, 1, R_ONE, 2, -22, 0, "region padding not zero" },
	{ VGPUIF_OP_MEMCPY_H2D, 0, 1, R_ONE, 3, -22, 0, "unknown region flag" },
	{ VGPUIF_OP_MEMCPY_H2D, 0, 1, R_ONE, 4, -22, 0, "empty region" },
	{ VGPUIF_OP_MEMCPY_H2D, 0, 1, R_ONE, 5, -14, 0, "region wraps the address space" },
	{ VGPUIF_OP_MEMCPY_H2D, 0, 1, R_ONE, 6, -22, 0, "copied and written" },
	{ VGPUIF_OP_LAUNCH, 0, 1, R_COPY, 7, -7, 0, "copied region above a page" },
	{ VGPUIF_OP_MEMCPY_H2D, 0, 1, R_ONE, 8, -7, 0, "more pages than any request" },
};

START_TEST(call_check_table)
{
	struct vgpu_stub_call c;
	uint32_t segs = 12345, i;
	int st;

	memset(&c, 0, sizeof(c));
	c.op = call_rows[_i].op;
	c.flags = call_rows[_i].flags;
	c.nr_regions = call_rows[_i].nr;
	for (i = 0; i < VGPU_STUB_MAX_REGIONS; i++) {
		c.regions[i].addr = 0x10005 + i * 0x10000;
		c.regions[i].len = call_rows[_i].kind == R_ONE || call_rows[_i].kind == R_WRITE ?
				   8193 : 100;
		c.regions[i].flags = call_rows[_i].kind == R_WRITE ? VGPU_STUB_REGION_WRITE :
				     call_rows[_i].kind >= R_COPY && call_rows[_i].kind != R_WRITE ?
				     VGPU_STUB_REGION_COPY : 0;
	}
	switch (call_rows[_i].spoil) {
	case 1: c.reserved[1] = 1; break;
	case 2: c.regions[0]._pad0 = 1; break;
	case 3: c.regions[0].flags |= 0x4; break;
	case 4: c.regions[0].len = 0; break;
	case 5: c.regions[0].addr = UINT64_MAX - 10; break;
	case 6: c.regions[0].flags = VGPU_STUB_REGION_WRITE | VGPU_STUB_REGION_COPY; break;
	case 7: c.regions[0].len = 4097; break;
	case 8: c.regions[0].len = (uint64_t)VGPUIF_MAX_REQUEST_BYTES + 1; break;
	default: break;
	}
	st = vgpufront_call_check(&c, &segs);
	ck_assert_msg(st == call_rows[_i].status, "%s: got %d, want %d", call_rows[_i].what, st,
		      call_rows[_i].status);
	if (!st)
		ck_assert_uint_eq(segs, call_rows[_i].segs);
}
END_TEST

START_TEST(op_contexts)
{
	uint32_t ctx = 99;

	ck_assert_int_eq(vgpufront_op_ctx(VGPUIF_OP_NOP, 7, &ctx), 0);
	ck_assert_uint_eq(ctx, 0);
	ck_assert_int_eq(vgpufront_op_ctx(VGPUIF_OP_GET_INFO, 7, &ctx), 0);
	ck_assert_uint_eq(ctx, 0);
	ctx = 99;
	ck_assert_int_eq(vgpufront_op_ctx(VGPUIF_OP_DEVICE_INFO, 7, &ctx), 0);
	ck_assert_uint_eq(ctx, 0);
	ck_assert_int_eq(vgpufront_op_ctx(VGPUIF_OP_LAUNCH, 7, &ctx), 0);
	ck_assert_uint_eq(ctx, 7);
	ck_assert_int_eq(vgpufront_op_ctx(VGPUIF_OP_MODULE_GLOBAL, 7, &ctx), 0);
	ck_assert_uint_eq(ctx, 7);
	ck_assert_int_eq(vgpufront_op_ctx(0xEE, 7, &ctx), 0);
	ck_assert_uint_eq(ctx, 7);
	ck_assert_int_eq(vgpufront_op_ctx(VGPUIF_OP_CTX_CREATE, 7, &ctx), -1);
	ck_assert_int_eq(vgpufront_op_ctx(300, 7, &ctx), -22);
	for (uint32_t op = 0; op < 256; op++)
		ck_assert_int_eq(vgpufront_op_reports_async(op),
				 op == VGPUIF_OP_SYNC || op == VGPUIF_OP_STREAM_SYNC ||
				 op == VGPUIF_OP_EVENT_SYNC);
}
END_TEST

/* Inline: every region copied and read-only, all within the limit. */
static const struct { uint64_t len[3]; uint32_t flags[3]; uint32_t nr, limit; int out; } inl_rows[] = {
	{ { 8 }, { VGPUFRONT_REGION_COPY }, 1, 64, 1 },
	{ { 64 }, { VGPUFRONT_REGION_COPY }, 1, 64, 1 },
	{ { 65 }, { VGPUFRONT_REGION_COPY }, 1, 64, 0 },
	{ { 8 }, { VGPUFRONT_REGION_COPY }, 1, 0, 0 },            /* no feature-inline */
	{ { 32, 32 }, { VGPUFRONT_REGION_COPY, VGPUFRONT_REGION_COPY }, 2, 64, 1 },
	{ { 32, 33 }, { VGPUFRONT_REGION_COPY, VGPUFRONT_REGION_COPY }, 2, 64, 0 },
	{ { 8, 16 }, { VGPUFRONT_REGION_COPY, VGPUFRONT_REGION_WRITE }, 2, 64, 0 },
	{ { 8 }, { 0 }, 1, 64, 0 },                               /* not copied: pinned */
	{ { 0 }, { 0 }, 0, 64, 0 },                               /* nothing to inline */
	{ { 8 }, { VGPUFRONT_REGION_COPY }, 1, 4096, 1 },         /* capped at 64 anyway */
	{ { 100 }, { VGPUFRONT_REGION_COPY }, 1, 4096, 0 },
};

START_TEST(inline_table)
{
	ck_assert_int_eq(vgpufront_can_inline(inl_rows[_i].len, inl_rows[_i].flags,
					      inl_rows[_i].nr, inl_rows[_i].limit),
			 inl_rows[_i].out);
}
END_TEST

#define NROWS(a) ((int)(sizeof(a) / sizeof((a)[0])))

static Suite *front_logic_suite(void)
{
	Suite *s = suite_create("front_logic");
	TCase *tc;

	tc = tcase_create("segments");
	tcase_add_loop_test(tc, segments_cover_the_buffer, 0, NROWS(seg_rows));
	tcase_add_loop_test(tc, chunks_cover_the_transfer, 0, NROWS(chunk_rows));
	tcase_add_test(tc, chunk_edges);
	tcase_add_loop_test(tc, max_segments, 0, NROWS(maxseg_rows));
	tcase_add_loop_test(tc, seg_layout_table, 0, NROWS(layout_rows));
	suite_add_tcase(s, tc);

	tc = tcase_create("request_ids");
	tcase_add_test(tc, slots_fill_and_drain);
	tcase_add_test(tc, slots_reject_bad_ids);
	tcase_add_test(tc, slots_size_clamped_and_seq_wraps);
	suite_add_tcase(s, tc);

	tc = tcase_create("responses");
	tcase_add_loop_test(tc, rsp_prod_table, 0, NROWS(prod_rows));
	tcase_add_loop_test(tc, rsp_status_table, 0, NROWS(status_rows));
	suite_add_tcase(s, tc);

	tc = tcase_create("call");
	tcase_add_loop_test(tc, call_check_table, 0, NROWS(call_rows));
	tcase_add_test(tc, op_contexts);
	tcase_add_loop_test(tc, inline_table, 0, NROWS(inl_rows));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(front_logic_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
