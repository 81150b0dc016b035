/* SPDX-License-Identifier: MIT */
/*
 * test_parse.c - the parse stage, table-driven: one row per request (bad
 * ones and good ones), each with the status it must get.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "vgpuif.h"
#include "handles.h"
#include "parse.h"

/* Fixture: domain 5 with contexts A and B and some objects; domain 6. */
static struct vgpuback_handles H, H6;
static struct vgpuback_ctx *A, *B, *A6, *CF, *CS;
static uint64_t mem_a, mem_b, mem_freed, mem_dom6, mod_a, func_a, func_dead;
static uint32_t ctx_stale;
/* Revision 2: streams, events, a global (see setup). */
static uint64_t str_a, str_b, str_dead, str_stale, str_dom6;
static uint64_t ev_a, ev_b, ev_dead, ev_nt, ev_dom6;
static uint64_t glob_a, glob_dead, func_b, mod_gone, cf_mod;
static struct vgpuback_policy POL = {
	.max_indirect_segments = VGPUIF_MAX_INDIRECT_SEGMENTS,
	.mem_quota = 1 << 20,
};
/* The same domain served by a backend told to speak revision 1 only. */
static struct vgpuback_policy POL1 = {
	.max_indirect_segments = VGPUIF_MAX_INDIRECT_SEGMENTS,
	.mem_quota = 1 << 20,
	.revision1 = true,
	.no_host_mem = true,
};
/* A backend told to speak revision 2 (no registered host memory). */
static struct vgpuback_policy POL2 = {
	.max_indirect_segments = VGPUIF_MAX_INDIRECT_SEGMENTS,
	.mem_quota = 1 << 20,
	.no_host_mem = true,
};
/* Revision 3: registered host regions of domain 5 (see setup_r3). */
static uint64_t hr_a, hr_ro, hr_gone, hr_dying, hr_dom6;

static uint64_t mk(struct vgpuback_handles *h, struct vgpuback_ctx *c,
		   enum vgpuback_obj_type t, uint64_t size)
{
	struct vgpuback_obj *o;
	uint64_t hd;

	ck_assert_int_eq(vgpuback_obj_reserve(h, c, t, &o, &hd), 0);
	o->size = size;
	if (t == VGPUBACK_OBJ_MEM)
		h->mem_used += size;
	vgpuback_obj_commit(o, (void *)0x1);
	return hd;
}

static uint64_t mk(struct vgpuback_handles *h, struct vgpuback_ctx *c,
		   enum vgpuback_obj_type t, uint64_t size);

/* A global (module-owned memory) of module mod in ctx c. */
static uint64_t mk_global(struct vgpuback_ctx *c, uint64_t mod, uint64_t size)
{
	struct vgpuback_obj *m = vgpuback_obj_at(c, mod & 0xfff), *o;
	uint64_t hd;

	ck_assert_int_eq(vgpuback_obj_reserve(&H, c, VGPUBACK_OBJ_MEM, &o, &hd), 0);
	o->size = size;
	o->oflags = VGPUBACK_OBJF_MODULE_OWNED;
	o->parent_slot = m->slot;
	o->parent_gen = m->gen;
	vgpuback_obj_commit(o, (void *)0x2);
	return hd;
}

/*
 * Revision-2 objects: streams and events of A (one of each destroyed, one
 * slot reused so that its old handle is stale), of B and of domain 6; an
 * event with DISABLE_TIMING; a global of mod_a and one of an unloaded
 * module (mod_dead, already released); context CS at its stream and event
 * limits (4 each here), context CF with a full handle table.
 */
static void setup_r2(uint64_t mod_dead)
{
	struct vgpuback_obj *o;
	uint64_t mod_tmp;

	mod_gone = mod_dead;
	H.max_streams = 4;
	H.max_events = 4;
	str_a = mk(&H, A, VGPUBACK_OBJ_STREAM, 0);
	str_b = mk(&H, B, VGPUBACK_OBJ_STREAM, 0);
	str_dom6 = mk(&H6, A6, VGPUBACK_OBJ_STREAM, 0);
	str_dead = mk(&H, A, VGPUBACK_OBJ_STREAM, 0);
	vgpuback_obj_release(&H, A, vgpuback_obj_lookup(&H, A, VGPUBACK_OBJ_STREAM,
							str_dead));
	str_stale = mk(&H, A, VGPUBACK_OBJ_STREAM, 0);
	vgpuback_obj_release(&H, A, vgpuback_obj_lookup(&H, A, VGPUBACK_OBJ_STREAM,
							str_stale));
	/* the slot of str_stale now holds an event: same slot, new handle */
	ev_a = mk(&H, A, VGPUBACK_OBJ_EVENT, 0);
	ck_assert_uint_eq(ev_a & 0xfff, str_stale & 0xfff);
	ev_b = mk(&H, B, VGPUBACK_OBJ_EVENT, 0);
	ev_dom6 = mk(&H6, A6, VGPUBACK_OBJ_EVENT, 0);
	ev_dead = mk(&H, A, VGPUBACK_OBJ_EVENT, 0);
	vgpuback_obj_release(&H, A, vgpuback_obj_lookup(&H, A, VGPUBACK_OBJ_EVENT,
							ev_dead));
	ev_nt = mk(&H, A, VGPUBACK_OBJ_EVENT, 0);
	vgpuback_obj_lookup(&H, A, VGPUBACK_OBJ_EVENT, ev_nt)->uflags =
		VGPUIF_EVENT_DISABLE_TIMING;
	glob_a = mk_global(A, mod_a, 256);
	mod_tmp = mk(&H, A, VGPUBACK_OBJ_MOD, 0);
	glob_dead = mk_global(A, mod_tmp, 256);
	o = vgpuback_obj_lookup(&H, A, VGPUBACK_OBJ_MOD, mod_tmp);
	vgpuback_obj_release(&H, A, o);   /* unloaded: its global is stale */
	{
		struct vgpuback_obj *fo, *mo;
		uint64_t mod_b = mk(&H, B, VGPUBACK_OBJ_MOD, 0);

		func_b = mk(&H, B, VGPUBACK_OBJ_FUNC, 0);
		mo = vgpuback_obj_lookup(&H, B, VGPUBACK_OBJ_MOD, mod_b);
		fo = vgpuback_obj_at(B, func_b & 0xfff);
		fo->parent_slot = mo->slot;
		fo->parent_gen = mo->gen;
	}
	ck_assert_int_eq(vgpuback_ctx_alloc(&H, &CS), 0);
	for (int i = 0; i < 4; i++) {
		mk(&H, CS, VGPUBACK_OBJ_STREAM, 0);
		mk(&H, CS, VGPUBACK_OBJ_EVENT, 0);
	}
	ck_assert_int_eq(vgpuback_ctx_alloc(&H, &CF), 0);
	for (int i = 0; i < 64; i++)
		cf_mod = mk(&H, CF, VGPUBACK_OBJ_MOD, 0);
}

/* A live region of n pages from gref first on (segments as a guest sends). */
static uint64_t mk_region(struct vgpuback_handles *h, uint32_t first, uint32_t n,
			  bool ro)
{
	struct vgpuif_segment sg[8];
	struct vgpuback_hostreg *r;
	uint64_t hd;

	for (uint32_t i = 0; i < n; i++)
		sg[i] = (struct vgpuif_segment){ first + i, 0, 4096 };
	ck_assert_int_eq(vgpuback_hostreg_reserve(h, sg, n, &r, &hd), 0);
	r->live = true;
	r->read_only = ro;
	return hd;
}

/*
 * hr_a: 4 writable pages (grefs 500-503); hr_ro: 2 read-only (510-511);
 * hr_gone: unregistered (520, free again); hr_dying: HOST_UNREGISTER
 * taken, copies still in flight (530); hr_dom6: domain 6's.
 */
static void setup_r3(void)
{
	hr_a = mk_region(&H, 500, 4, false);
	hr_ro = mk_region(&H, 510, 2, true);
	hr_gone = mk_region(&H, 520, 1, false);
	vgpuback_hostreg_release(&H, &H.hregs[hr_gone & 0xff]);
	hr_dying = mk_region(&H, 530, 1, false);
	H.hregs[hr_dying & 0xff].dying = true;
	hr_dom6 = mk_region(&H6, 500, 1, false);
}

static void setup(void)
{
	struct vgpuback_ctx *dead;
	struct vgpuback_obj *o, *fd;
	uint64_t mod_dead;

	ck_assert_int_eq(vgpuback_handles_init(&H, 5, 8, 64), 0);
	ck_assert_int_eq(vgpuback_handles_init(&H6, 6, 8, 64), 0);
	ck_assert_int_eq(vgpuback_ctx_alloc(&H, &A), 0);
	ck_assert_int_eq(vgpuback_ctx_alloc(&H, &B), 0);
	ck_assert_int_eq(vgpuback_ctx_alloc(&H, &dead), 0);
	ctx_stale = dead->handle;
	vgpuback_ctx_free(&H, dead);
	ck_assert_int_eq(vgpuback_ctx_alloc(&H6, &A6), 0);
	mem_a = mk(&H, A, VGPUBACK_OBJ_MEM, 4096);
	mem_b = mk(&H, B, VGPUBACK_OBJ_MEM, 4096);
	mem_freed = mk(&H, A, VGPUBACK_OBJ_MEM, 4096);
	o = vgpuback_obj_lookup(&H, A, VGPUBACK_OBJ_MEM, mem_freed);
	ck_assert_ptr_nonnull(o);
	vgpuback_obj_release(&H, A, o);
	mem_dom6 = mk(&H6, A6, VGPUBACK_OBJ_MEM, 4096);
	mod_a = mk(&H, A, VGPUBACK_OBJ_MOD, 0);
	func_a = mk(&H, A, VGPUBACK_OBJ_FUNC, 0);
	o = vgpuback_obj_lookup(&H, A, VGPUBACK_OBJ_MOD, mod_a);
	fd = vgpuback_obj_at(A, func_a & 0xfff);
	fd->parent_slot = o->slot;
	fd->parent_gen = o->gen;
	/* A function whose module was unloaded. */
	mod_dead = mk(&H, A, VGPUBACK_OBJ_MOD, 0);
	func_dead = mk(&H, A, VGPUBACK_OBJ_FUNC, 0);
	o = vgpuback_obj_lookup(&H, A, VGPUBACK_OBJ_MOD, mod_dead);
	fd = vgpuback_obj_at(A, func_dead & 0xfff);
	fd->parent_slot = o->slot;
	fd->parent_gen = o->gen;
	vgpuback_obj_release(&H, A, o);
	setup_r2(mod_dead);
	setup_r3();
}

static void teardown(void)
{
	vgpuback_handles_uninit(&H);
	vgpuback_handles_uninit(&H6);
}

/* Tokens replaced by real handles when a row is built. */
enum { T_MEM_A = 1, T_MEM_B, T_MEM_FREED, T_MEM_DOM6, T_MOD_A, T_FUNC_A,
       T_FUNC_DEAD, T_MEM_AS_MOD };
enum { C_NONE = 0, C_A, C_B, C_STALE, C_DOM6, C_GARBAGE };

static uint64_t tok(uint64_t v)
{
	switch (v) {
	case T_MEM_A:     return mem_a;
	case T_MEM_B:     return mem_b;
	case T_MEM_FREED: return mem_freed;
	case T_MEM_DOM6:  return mem_dom6;
	case T_MOD_A:     return mod_a;
	case T_FUNC_A:    return func_a;
	case T_FUNC_DEAD: return func_dead;
	case T_MEM_AS_MOD: return mem_a;
	default:          return v;
	}
}

struct row {
	const char *name;
	uint8_t op, flags;
	uint16_t nr;             /* nr_segments                             */
	int ctx;                 /* C_*                                     */
	uint64_t h;              /* handle token for the op's first handle  */
	uint64_t a1, a2, a3;     /* op-specific, see build()                */
	uint32_t seg_len;        /* each direct segment's length            */
	int expect;
	void (*fix)(struct vgpuif_request *r, struct vgpuif_segment *s);
};

static void fix_seg_past_page(struct vgpuif_request *r, struct vgpuif_segment *s)
{
	(void)r;
	s[0].offset = 4000;
	s[0].length = 200; /* 4000 + 200 > 4096 */
}
static void fix_seg_zero_len(struct vgpuif_request *r, struct vgpuif_segment *s)
{
	(void)r;
	s[0].length = 0;
}
static void fix_seg_offset_4096(struct vgpuif_request *r, struct vgpuif_segment *s)
{
	(void)r;
	s[0].offset = 4096;
	s[0].length = 1;
}
static void fix_unused_seg(struct vgpuif_request *r, struct vgpuif_segment *s)
{
	(void)s;
	r->u.seg[7].gref = 99;
}
static void fix_args_tail(struct vgpuif_request *r, struct vgpuif_segment *s)
{
	(void)s;
	r->args.raw[47] = 1;
}
/* Block dimensions whose product wraps 64 bits to 0 (2^22 * 2^22 * 2^20). */
static void fix_block_wraps(struct vgpuif_request *r, struct vgpuif_segment *s)
{
	(void)s;
	r->args.launch.block[0] = 1u << 22;
	r->args.launch.block[1] = 1u << 22;
	r->args.launch.block[2] = 1u << 20;
}
static void fix_d2d_other_ctx(struct vgpuif_request *r, struct vgpuif_segment *s)
{
	(void)s;
	r->args.memcpy_d2d.src_mem = mem_b;
}
static void fix_unused_indirect(struct vgpuif_request *r, struct vgpuif_segment *s)
{
	(void)s;
	r->u.indirect_gref[5] = 7;
}

static void build(const struct row *w, struct vgpuif_request *r,
		  struct vgpuif_segment *segs)
{
	union vgpuif_args *a = &r->args;
	uint32_t i;

	memset(r, 0, sizeof(*r));
	r->id = 42;
	r->op = w->op;
	r->flags = w->flags;
	r->nr_segments = w->nr;
	switch (w->ctx) {
	case C_A:       r->ctx = A->handle; break;
	case C_B:       r->ctx = B->handle; break;
	case C_STALE:   r->ctx = ctx_stale; break;
	case C_DOM6:    r->ctx = A6->handle; break;
	case C_GARBAGE: r->ctx = 0xdeadbeef; break;
	default:        r->ctx = 0; break;
	}
	switch (w->op) {
	case VGPUIF_OP_MEM_ALLOC:
		a->mem_alloc.size = w->a1;
		break;
	case VGPUIF_OP_MEM_FREE:
		a->mem_free.mem = tok(w->h);
		break;
	case VGPUIF_OP_MEMCPY_H2D:
	case VGPUIF_OP_MEMCPY_D2H:
		a->memcpy.mem = tok(w->h);
		a->memcpy.offset = w->a1;
		a->memcpy.length = w->a2;
		break;
	case VGPUIF_OP_MEMCPY_D2D:
		a->memcpy_d2d.dst_mem = tok(w->h);
		a->memcpy_d2d.src_mem = tok(w->h);
		a->memcpy_d2d.dst_offset = w->a1;
		a->memcpy_d2d.src_offset = w->a3;
		a->memcpy_d2d.length = w->a2;
		break;
	case VGPUIF_OP_MEMSET:
		a->memset.mem = tok(w->h);
		a->memset.offset = w->a1;
		a->memset.length = w->a2;
		a->memset.elem_size = (uint32_t)w->a3;
		break;
	case VGPUIF_OP_MODULE_LOAD:
		a->module_load.image_len = w->a1;
		a->module_load.log_len = (uint32_t)w->a2;
		a->module_load.format = (uint32_t)w->a3;
		break;
	case VGPUIF_OP_MODULE_UNLOAD:
		a->module_unload.module = tok(w->h);
		break;
	case VGPUIF_OP_FUNC_GET:
		a->func_get.module = tok(w->h);
		a->func_get.name_len = (uint32_t)w->a1;
		break;
	case VGPUIF_OP_LAUNCH:
		a->launch.func = tok(w->h);
		a->launch.grid[0] = (uint32_t)w->a1;
		a->launch.grid[1] = a->launch.grid[2] = 1;
		a->launch.block[0] = (uint32_t)w->a2;
		a->launch.block[1] = a->launch.block[2] = 1;
		a->launch.param_len = (uint32_t)w->a3;
		break;
	case VGPUIF_OP_VECTOR_ADD:
		a->vector_add.n = (uint32_t)w->a1;
		break;
	default:
		break;
	}
	if (w->flags & VGPUIF_F_INDIRECT) {
		for (i = 0; i < vgpuif_indirect_pages(w->nr) &&
			    i < VGPUIF_MAX_INDIRECT_PAGES; i++)
			r->u.indirect_gref[i] = 200 + i;
		for (i = 0; i < w->nr && i < VGPUIF_MAX_INDIRECT_SEGMENTS; i++) {
			segs[i].gref = 300 + i;
			segs[i].offset = 0;
			segs[i].length = (uint16_t)w->seg_len;
		}
	} else {
		for (i = 0; i < w->nr && i < VGPUIF_MAX_DIRECT_SEGMENTS; i++) {
			r->u.seg[i].gref = 100 + i;
			r->u.seg[i].offset = 0;
			r->u.seg[i].length = (uint16_t)w->seg_len;
		}
	}
	if (w->fix)
		w->fix(r, (w->flags & VGPUIF_F_INDIRECT) ? segs : r->u.seg);
	if (!(w->flags & VGPUIF_F_INDIRECT))
		memcpy(segs, r->u.seg, sizeof(r->u.seg));
}

#define INFO ((uint32_t)sizeof(struct vgpuif_info))
static const struct row rows[] = {
	/* name                          op  flags nr ctx  h  a1 a2 a3 seglen expect */
	{ "nop ok", VGPUIF_OP_NOP, 0, 0, C_NONE, 0, 0, 0, 0, 0, 0, NULL },
	{ "unknown opcode 31", VGPUIF_OP_COUNT, 0, 0, C_NONE, 0, 0, 0, 0, 0, VGPUIF_RSP_ENOSYS, NULL },
	{ "unknown opcode 255", 255, 0, 0, C_A, 0, 0, 0, 0, 0, VGPUIF_RSP_ENOSYS, NULL },
	{ "unknown flag", VGPUIF_OP_NOP, 0x80, 0, C_NONE, 0, 0, 0, 0, 0, VGPUIF_RSP_EINVAL, NULL },
	{ "nop with ctx", VGPUIF_OP_NOP, 0, 0, C_A, 0, 0, 0, 0, 0, VGPUIF_RSP_EINVAL, NULL },
	{ "nop with segments", VGPUIF_OP_NOP, 0, 1, C_NONE, 0, 0, 0, 0, 64, VGPUIF_RSP_EINVAL, NULL },
	{ "nop args not zero", VGPUIF_OP_NOP, 0, 0, C_NONE, 0, 0, 0, 0, 0, VGPUIF_RSP_EINVAL, fix_args_tail },
	{ "nop unused seg slot", VGPUIF_OP_NOP, 0, 0, C_NONE, 0, 0, 0, 0, 0, VGPUIF_RSP_EINVAL, fix_unused_seg },
	{ "direct nr 9 > 8", VGPUIF_OP_MEMCPY_H2D, 0, 9, C_A, T_MEM_A, 0, 9, 0, 1, VGPUIF_RSP_E2BIG, NULL },
	{ "indirect nr 0", VGPUIF_OP_MEMCPY_H2D, VGPUIF_F_INDIRECT, 0, C_A, T_MEM_A, 0, 0, 0, 1, VGPUIF_RSP_EINVAL, NULL },
	{ "indirect nr 8193 (17 pages)", VGPUIF_OP_MEMCPY_H2D, VGPUIF_F_INDIRECT, 8193, C_A, T_MEM_A, 0, 8193, 0, 1, VGPUIF_RSP_E2BIG, NULL },
	{ "indirect nr 65535", VGPUIF_OP_MEMCPY_H2D, VGPUIF_F_INDIRECT, 65535, C_A, T_MEM_A, 0, 1, 0, 1, VGPUIF_RSP_E2BIG, NULL },
	{ "indirect unused gref set", VGPUIF_OP_MEMCPY_H2D, VGPUIF_F_INDIRECT, 10, C_A, T_MEM_A, 0, 10, 0, 1, VGPUIF_RSP_EINVAL, fix_unused_indirect },
	{ "indirect h2d ok", VGPUIF_OP_MEMCPY_H2D, VGPUIF_F_INDIRECT, 10, C_A, T_MEM_A, 0, 10, 0, 1, 0, NULL },
	{ "segment past its page", VGPUIF_OP_MEMCPY_H2D, 0, 1, C_A, T_MEM_A, 0, 200, 0, 200, VGPUIF_RSP_EFAULT, fix_seg_past_page },
	{ "segment length 0", VGPUIF_OP_MEMCPY_H2D, 0, 1, C_A, T_MEM_A, 0, 1, 0, 1, VGPUIF_RSP_EFAULT, fix_seg_zero_len },
	{ "segment offset 4096", VGPUIF_OP_MEMCPY_H2D, 0, 1, C_A, T_MEM_A, 0, 1, 0, 1, VGPUIF_RSP_EFAULT, fix_seg_offset_4096 },
	{ "get_info ok", VGPUIF_OP_GET_INFO, 0, 1, C_NONE, 0, 0, 0, 0, INFO, 0, NULL },
	{ "get_info short stream", VGPUIF_OP_GET_INFO, 0, 1, C_NONE, 0, 0, 0, 0, INFO - 1, VGPUIF_RSP_EINVAL, NULL },
	{ "ctx_create ok", VGPUIF_OP_CTX_CREATE, 0, 0, C_NONE, 0, 0, 0, 0, 0, 0, NULL },
	{ "ctx_destroy ok", VGPUIF_OP_CTX_DESTROY, 0, 0, C_A, 0, 0, 0, 0, 0, 0, NULL },
	{ "ctx 0 for ctx op", VGPUIF_OP_SYNC, 0, 0, C_NONE, 0, 0, 0, 0, 0, VGPUIF_RSP_EBADF, NULL },
	{ "ctx stale (freed)", VGPUIF_OP_SYNC, 0, 0, C_STALE, 0, 0, 0, 0, 0, VGPUIF_RSP_EBADF, NULL },
	{ "ctx of another domain", VGPUIF_OP_SYNC, 0, 0, C_DOM6, 0, 0, 0, 0, 0, VGPUIF_RSP_EBADF, NULL },
	{ "ctx garbage", VGPUIF_OP_SYNC, 0, 0, C_GARBAGE, 0, 0, 0, 0, 0, VGPUIF_RSP_EBADF, NULL },
	{ "mem_alloc ok", VGPUIF_OP_MEM_ALLOC, 0, 0, C_A, 0, 4096, 0, 0, 0, 0, NULL },
	{ "mem_alloc size 0", VGPUIF_OP_MEM_ALLOC, 0, 0, C_A, 0, 0, 0, 0, 0, VGPUIF_RSP_EINVAL, NULL },
	{ "mem_alloc beyond quota", VGPUIF_OP_MEM_ALLOC, 0, 0, C_A, 0, (1 << 20) - 8192 + 1, 0, 0, 0, VGPUIF_RSP_EDQUOT, NULL },
	{ "mem_alloc quota exactly", VGPUIF_OP_MEM_ALLOC, 0, 0, C_A, 0, (1 << 20) - 8192, 0, 0, 0, 0, NULL },
	{ "mem_alloc 2^64-1", VGPUIF_OP_MEM_ALLOC, 0, 0, C_A, 0, UINT64_MAX, 0, 0, 0, VGPUIF_RSP_EDQUOT, NULL },
	{ "mem_free ok", VGPUIF_OP_MEM_FREE, 0, 0, C_A, T_MEM_A, 0, 0, 0, 0, 0, NULL },
	{ "mem_free already freed", VGPUIF_OP_MEM_FREE, 0, 0, C_A, T_MEM_FREED, 0, 0, 0, 0, VGPUIF_RSP_EBADF, NULL },
	{ "mem_free other context", VGPUIF_OP_MEM_FREE, 0, 0, C_A, T_MEM_B, 0, 0, 0, 0, VGPUIF_RSP_EBADF, NULL },
	{ "mem_free other domain", VGPUIF_OP_MEM_FREE, 0, 0, C_A, T_MEM_DOM6, 0, 0, 0, 0, VGPUIF_RSP_EBADF, NULL },
	{ "mem_free a module handle", VGPUIF_OP_MEM_FREE, 0, 0, C_A, T_MOD_A, 0, 0, 0, 0, VGPUIF_RSP_EBADF, NULL },
	{ "mem_free garbage", VGPUIF_OP_MEM_FREE, 0, 0, C_A, 0x123456789abcull, 0, 0, 0, 0, VGPUIF_RSP_EBADF, NULL },
	{ "h2d ok", VGPUIF_OP_MEMCPY_H2D, 0, 2, C_A, T_MEM_A, 0, 8, 0, 4, 0, NULL },
	{ "h2d to the last byte", VGPUIF_OP_MEMCPY_H2D, 0, 1, C_A, T_MEM_A, 4095, 1, 0, 1, 0, NULL },
	{ "h2d past the end", VGPUIF_OP_MEMCPY_H2D, 0, 1, C_A, T_MEM_A, 4095, 2, 0, 2, VGPUIF_RSP_ERANGE, NULL },
	{ "h2d offset overflow", VGPUIF_OP_MEMCPY_H2D, 0, 1, C_A, T_MEM_A, UINT64_MAX, 1, 0, 1, VGPUIF_RSP_ERANGE, NULL },
	{ "h2d length 0", VGPUIF_OP_MEMCPY_H2D, 0, 0, C_A, T_MEM_A, 0, 0, 0, 0, VGPUIF_RSP_EINVAL, NULL },
	{ "h2d length > 32 MiB", VGPUIF_OP_MEMCPY_H2D, 0, 0, C_A, T_MEM_A, 0, VGPUIF_MAX_REQUEST_BYTES + 1ull, 0, 0, VGPUIF_RSP_E2BIG, NULL },
	{ "h2d stream shorter", VGPUIF_OP_MEMCPY_H2D, 0, 1, C_A, T_MEM_A, 0, 8, 0, 4, VGPUIF_RSP_EINVAL, NULL },
	{ "h2d stream longer", VGPUIF_OP_MEMCPY_H2D, 0, 3, C_A, T_MEM_A, 0, 8, 0, 4, VGPUIF_RSP_EINVAL, NULL },
	{ "d2h other context's mem", VGPUIF_OP_MEMCPY_D2H, 0, 1, C_A, T_MEM_B, 0, 8, 0, 8, VGPUIF_RSP_EBADF, NULL },
	{ "d2h freed mem", VGPUIF_OP_MEMCPY_D2H, 0, 1, C_A, T_MEM_FREED, 0, 8, 0, 8, VGPUIF_RSP_EBADF, NULL },
	{ "d2h ok", VGPUIF_OP_MEMCPY_D2H, 0, 1, C_A, T_MEM_A, 8, 8, 0, 8, 0, NULL },
	{ "d2d ok", VGPUIF_OP_MEMCPY_D2D, 0, 0, C_A, T_MEM_A, 0, 2048, 2048, 0, 0, NULL },
	{ "d2d past the end", VGPUIF_OP_MEMCPY_D2D, 0, 0, C_A, T_MEM_A, 2049, 2048, 0, 0, VGPUIF_RSP_ERANGE, NULL },
	{ "d2d src of other ctx", VGPUIF_OP_MEMCPY_D2D, 0, 0, C_A, T_MEM_A, 0, 16, 0, 0, VGPUIF_RSP_EBADF, fix_d2d_other_ctx },
	{ "d2d with segments", VGPUIF_OP_MEMCPY_D2D, 0, 1, C_A, T_MEM_A, 0, 16, 0, 16, VGPUIF_RSP_EINVAL, NULL },
	{ "memset ok", VGPUIF_OP_MEMSET, 0, 0, C_A, T_MEM_A, 4, 8, 4, 0, 0, NULL },
	{ "memset elem 3", VGPUIF_OP_MEMSET, 0, 0, C_A, T_MEM_A, 0, 6, 3, 0, VGPUIF_RSP_EINVAL, NULL },
	{ "memset misaligned", VGPUIF_OP_MEMSET, 0, 0, C_A, T_MEM_A, 2, 8, 4, 0, VGPUIF_RSP_EINVAL, NULL },
	{ "memset past end", VGPUIF_OP_MEMSET, 0, 0, C_A, T_MEM_A, 4092, 8, 4, 0, VGPUIF_RSP_ERANGE, NULL },
	{ "module_load ok", VGPUIF_OP_MODULE_LOAD, 0, 2, C_A, 0, 64, 64, VGPUIF_MODULE_PTX, 64, 0, NULL },
	{ "module_load format 4", VGPUIF_OP_MODULE_LOAD, 0, 1, C_A, 0, 64, 0, 4, 64, VGPUIF_RSP_EINVAL, NULL },
	{ "module_load image 0", VGPUIF_OP_MODULE_LOAD, 0, 0, C_A, 0, 0, 0, 1, 0, VGPUIF_RSP_EINVAL, NULL },
	{ "module_load image > 16 MiB", VGPUIF_OP_MODULE_LOAD, 0, 0, C_A, 0, VGPUIF_MAX_MODULE_BYTES + 1ull, 0, 1, 0, VGPUIF_RSP_E2BIG, NULL },
	{ "module_load log > 64 KiB", VGPUIF_OP_MODULE_LOAD, 0, 0, C_A, 0, 64, VGPUIF_MAX_MODULE_LOG + 1ull, 1, 0, VGPUIF_RSP_E2BIG, NULL },
	{ "module_unload ok", VGPUIF_OP_MODULE_UNLOAD, 0, 0, C_A, T_MOD_A, 0, 0, 0, 0, 0, NULL },
	{ "module_unload a mem handle", VGPUIF_OP_MODULE_UNLOAD, 0, 0, C_A, T_MEM_AS_MOD, 0, 0, 0, 0, VGPUIF_RSP_EBADF, NULL },
	{ "func_get ok", VGPUIF_OP_FUNC_GET, 0, 1, C_A, T_MOD_A, 10, 0, 0, 10, 0, NULL },
	{ "func_get name 0", VGPUIF_OP_FUNC_GET, 0, 0, C_A, T_MOD_A, 0, 0, 0, 0, VGPUIF_RSP_EINVAL, NULL },
	{ "func_get name 1025", VGPUIF_OP_FUNC_GET, 0, 1, C_A, T_MOD_A, 1025, 0, 0, 1025, VGPUIF_RSP_E2BIG, NULL },
	{ "launch ok", VGPUIF_OP_LAUNCH, 0, 1, C_A, T_FUNC_A, 1, 256, 16, 16, 0, NULL },
	{ "launch func of unloaded module", VGPUIF_OP_LAUNCH, 0, 1, C_A, T_FUNC_DEAD, 1, 256, 16, 16, VGPUIF_RSP_EBADF, NULL },
	{ "launch grid 0", VGPUIF_OP_LAUNCH, 0, 0, C_A, T_FUNC_A, 0, 256, 0, 0, VGPUIF_RSP_EINVAL, NULL },
	{ "launch block 1025", VGPUIF_OP_LAUNCH, 0, 0, C_A, T_FUNC_A, 1, 1025, 0, 0, VGPUIF_RSP_EINVAL, NULL },
	{ "launch grid.x 2^31", VGPUIF_OP_LAUNCH, 0, 0, C_A, T_FUNC_A, 0x80000000u, 1, 0, 0, VGPUIF_RSP_EINVAL, NULL },
	{ "launch params 4097", VGPUIF_OP_LAUNCH, 0, 0, C_A, T_FUNC_A, 1, 1, 4097, 0, VGPUIF_RSP_E2BIG, NULL },
	{ "launch block product wraps to 0", VGPUIF_OP_LAUNCH, 0, 1, C_A, T_FUNC_A, 1, 256, 16, 16, VGPUIF_RSP_EINVAL, fix_block_wraps },
	{ "launch block.x 2^22 alone", VGPUIF_OP_LAUNCH, 0, 1, C_A, T_FUNC_A, 1, 1u << 22, 16, 16, VGPUIF_RSP_EINVAL, NULL },
	{ "vector_add ok", VGPUIF_OP_VECTOR_ADD, 0, 3, C_A, 0, 16, 0, 0, 64, 0, NULL },
	{ "vector_add n 0", VGPUIF_OP_VECTOR_ADD, 0, 0, C_A, 0, 0, 0, 0, 0, VGPUIF_RSP_EINVAL, NULL },
	{ "vector_add n 2^20+1", VGPUIF_OP_VECTOR_ADD, 0, 0, C_A, 0, (1u << 20) + 1, 0, 0, 0, VGPUIF_RSP_E2BIG, NULL },
	{ "vector_add no ctx", VGPUIF_OP_VECTOR_ADD, 0, 3, C_NONE, 0, 16, 0, 0, 64, VGPUIF_RSP_EBADF, NULL },
	{ "sync ok", VGPUIF_OP_SYNC, 0, 0, C_A, 0, 0, 0, 0, 0, 0, NULL },
};

/* ------------------------------------------------------ revision 2 */

/* Tokens for revision-2 handles (tok2), beside those of tok(). */
enum { T_STR_A = 100, T_STR_B, T_STR_DEAD, T_STR_STALE, T_STR_DOM6,
       T_EV_A, T_EV_B, T_EV_DEAD, T_EV_NT, T_EV_DOM6, T_GLOB_A, T_GLOB_DEAD,
       T_FUNC_B, T_STR_AS_EV, T_EV_AS_STR, T_MOD_GONE, T_CF_MOD };
enum { C_CS = 20, C_CF };

static uint64_t tok2(uint64_t v)
{
	switch (v) {
	case T_STR_A:     return str_a;
	case T_STR_B:     return str_b;
	case T_STR_DEAD:  return str_dead;
	case T_STR_STALE: return str_stale;
	case T_STR_DOM6:  return str_dom6;
	case T_EV_A:      return ev_a;
	case T_EV_B:      return ev_b;
	case T_EV_DEAD:   return ev_dead;
	case T_EV_NT:     return ev_nt;
	case T_EV_DOM6:   return ev_dom6;
	case T_GLOB_A:    return glob_a;
	case T_GLOB_DEAD: return glob_dead;
	case T_FUNC_B:    return func_b;
	case T_STR_AS_EV: return str_a;
	case T_EV_AS_STR: return ev_a;
	case T_MOD_GONE:  return mod_gone;
	case T_CF_MOD:    return cf_mod;
	default:          return tok(v);
	}
}

/*
 * One request of revision 2 (designated initializers; unnamed fields 0):
 *   h    the op's first handle (memory, function, module, event; the
 *        stream of STREAM_DESTROY/SYNC/QUERY)
 *   s    the stream field (ordered ops, EVENT_RECORD, STREAM_WAIT_EVENT)
 *   a1.. op-specific, see build2()
 *   seg  each direct segment's length; with F_INLINE, nr is the byte count
 */
struct row2 {
	const char *name;
	uint8_t op, flags;
	uint16_t nr;
	int ctx;
	uint64_t h, s, a1, a2, a3;
	uint32_t seg;
	bool rev1;               /* parse under POL1                        */
	bool segs_too;           /* F_INLINE, but descriptors passed too    */
	int expect;
	void (*fix)(struct vgpuif_request *r);
};

static void fix2_tail(struct vgpuif_request *r) { r->args.raw[47] = 1; }
static void fix2_inline_8(struct vgpuif_request *r) { r->u.inline_data[8] = 1; }
static void fix2_inline_63(struct vgpuif_request *r) { r->u.inline_data[63] = 1; }
static void fix2_evpad(struct vgpuif_request *r) { r->args.event_create._pad0 = 1; }
static void fix2_mgpad(struct vgpuif_request *r) { r->args.module_global._pad0 = 1; }
static void fix2_two_halves(struct vgpuif_request *r)
{
	/* a stream of two segments of half the size each */
	r->u.seg[1] = r->u.seg[0];
	r->u.seg[1].gref++;
	r->u.seg[0].length /= 2;
	r->u.seg[1].length = (uint16_t)(r->u.seg[1].length - r->u.seg[0].length);
}

static void build2(const struct row2 *w, struct vgpuif_request *r,
		   struct vgpuif_segment *segs)
{
	union vgpuif_args *a = &r->args;
	uint32_t i;

	memset(r, 0, sizeof(*r));
	r->id = 43;
	r->op = w->op;
	r->flags = w->flags;
	r->nr_segments = w->nr;
	switch (w->ctx) {
	case C_A:       r->ctx = A->handle; break;
	case C_B:       r->ctx = B->handle; break;
	case C_STALE:   r->ctx = ctx_stale; break;
	case C_DOM6:    r->ctx = A6->handle; break;
	case C_CS:      r->ctx = CS->handle; break;
	case C_CF:      r->ctx = CF->handle; break;
	default:        r->ctx = 0; break;
	}
	switch (w->op) {
	case VGPUIF_OP_MEM_FREE:
		a->mem_free.mem = tok2(w->h);
		break;
	case VGPUIF_OP_MEMCPY_H2D:
	case VGPUIF_OP_MEMCPY_D2H:
		a->memcpy.mem = tok2(w->h);
		a->memcpy.offset = w->a1;
		a->memcpy.length = w->a2;
		a->memcpy.stream = tok2(w->s);
		break;
	case VGPUIF_OP_MEMCPY_D2D:
		a->memcpy_d2d.dst_mem = a->memcpy_d2d.src_mem = tok2(w->h);
		a->memcpy_d2d.src_offset = 2048;
		a->memcpy_d2d.length = w->a2;
		a->memcpy_d2d.stream = tok2(w->s);
		break;
	case VGPUIF_OP_MEMSET:
		a->memset.mem = tok2(w->h);
		a->memset.length = w->a2;
		a->memset.elem_size = 1;
		a->memset.stream = tok2(w->s);
		break;
	case VGPUIF_OP_MODULE_LOAD:
		a->module_load.image_len = w->a1;
		a->module_load.log_len = (uint32_t)w->a2;
		a->module_load.format = VGPUIF_MODULE_PTX;
		break;
	case VGPUIF_OP_FUNC_GET:
		a->func_get.module = tok2(w->h);
		a->func_get.name_len = (uint32_t)w->a1;
		break;
	case VGPUIF_OP_LAUNCH:
		a->launch.func = tok2(w->h);
		a->launch.grid[0] = a->launch.grid[1] = a->launch.grid[2] = 1;
		a->launch.block[0] = a->launch.block[1] = a->launch.block[2] = 1;
		a->launch.param_len = (uint32_t)w->a3;
		a->launch.stream = tok2(w->s);
		break;
	case VGPUIF_OP_VECTOR_ADD:
		a->vector_add.n = (uint32_t)w->a1;
		break;
	case VGPUIF_OP_STREAM_CREATE:
		a->stream_create.flags = (uint32_t)w->a1;
		a->stream_create.priority = (int32_t)w->a2;
		break;
	case VGPUIF_OP_STREAM_DESTROY:
	case VGPUIF_OP_STREAM_SYNC:
	case VGPUIF_OP_STREAM_QUERY:
		a->stream.stream = tok2(w->h);
		a->stream.event = w->a1;
		break;
	case VGPUIF_OP_STREAM_WAIT_EVENT:
		a->stream.stream = tok2(w->s);
		a->stream.event = tok2(w->h);
		break;
	case VGPUIF_OP_EVENT_CREATE:
		a->event_create.flags = (uint32_t)w->a1;
		break;
	case VGPUIF_OP_EVENT_DESTROY:
	case VGPUIF_OP_EVENT_SYNC:
	case VGPUIF_OP_EVENT_QUERY:
	case VGPUIF_OP_EVENT_RECORD:
		a->event.event = tok2(w->h);
		a->event.stream = tok2(w->s);
		a->event.end = w->a1;
		break;
	case VGPUIF_OP_EVENT_ELAPSED:
		a->event.event = tok2(w->h);
		a->event.end = tok2(w->a1);
		a->event.stream = tok2(w->s);
		break;
	case VGPUIF_OP_FUNC_INFO:
	case VGPUIF_OP_FUNC_SET_ATTR:
		a->func.func = tok2(w->h);
		a->func.attr = (uint32_t)w->a1;
		a->func.value = (int32_t)w->a2;
		break;
	case VGPUIF_OP_MODULE_GLOBAL:
		a->module_global.module = tok2(w->h);
		a->module_global.name_len = (uint32_t)w->a1;
		break;
	default:
		break;
	}
	if (w->flags & VGPUIF_F_INLINE) {
		for (i = 0; i < w->nr && i < VGPUIF_MAX_INLINE_BYTES; i++)
			r->u.inline_data[i] = (uint8_t)(0xa0 + i);
	} else {
		for (i = 0; i < w->nr && i < VGPUIF_MAX_DIRECT_SEGMENTS; i++) {
			r->u.seg[i].gref = 100 + i;
			r->u.seg[i].length = (uint16_t)w->seg;
		}
	}
	if (w->fix)
		w->fix(r);
	memcpy(segs, r->u.seg, sizeof(r->u.seg));
}

#define DI ((uint32_t)sizeof(struct vgpuif_device_info))
#define FI ((uint32_t)sizeof(struct vgpuif_func_info))
#define H2D VGPUIF_OP_MEMCPY_H2D
#define INL VGPUIF_F_INLINE
static const struct row2 rows2[] = {
	/* inline data */
	{ "inline h2d 64 bytes", H2D, INL, 64, C_A, T_MEM_A, .a2 = 64, .expect = 0 },
	{ "inline h2d 1 byte", H2D, INL, 1, C_A, T_MEM_A, .a2 = 1, .expect = 0 },
	{ "inline h2d 65 bytes", H2D, INL, 65, C_A, T_MEM_A, .a2 = 65, .expect = VGPUIF_RSP_E2BIG },
	{ "inline 0 bytes", H2D, INL, 0, C_A, T_MEM_A, .a2 = 1, .expect = VGPUIF_RSP_EINVAL },
	{ "inline with indirect", H2D, INL | VGPUIF_F_INDIRECT, 8, C_A, T_MEM_A, .a2 = 8, .expect = VGPUIF_RSP_EINVAL },
	{ "inline bytes != copy length", H2D, INL, 8, C_A, T_MEM_A, .a2 = 16, .expect = VGPUIF_RSP_EINVAL },
	{ "inline rest of u not zero", H2D, INL, 8, C_A, T_MEM_A, .a2 = 8, .expect = VGPUIF_RSP_EINVAL, .fix = fix2_inline_8 },
	{ "inline last byte of u set", H2D, INL, 8, C_A, T_MEM_A, .a2 = 8, .expect = VGPUIF_RSP_EINVAL, .fix = fix2_inline_63 },
	{ "inline with descriptors too", H2D, INL, 8, C_A, T_MEM_A, .a2 = 8, .segs_too = true, .expect = VGPUIF_RSP_EINVAL },
	{ "inline d2h (backend writes)", VGPUIF_OP_MEMCPY_D2H, INL, 8, C_A, T_MEM_A, .a2 = 8, .expect = VGPUIF_RSP_EINVAL },
	{ "inline launch params", VGPUIF_OP_LAUNCH, INL, 24, C_A, T_FUNC_A, .a3 = 24, .expect = 0 },
	{ "inline launch 64 params", VGPUIF_OP_LAUNCH, INL, 64, C_A, T_FUNC_A, .a3 = 64, .expect = 0 },
	{ "inline launch params short", VGPUIF_OP_LAUNCH, INL, 16, C_A, T_FUNC_A, .a3 = 24, .expect = VGPUIF_RSP_EINVAL },
	{ "inline func_get name", VGPUIF_OP_FUNC_GET, INL, 10, C_A, T_MOD_A, .a1 = 10, .expect = 0 },
	{ "inline module_load, no log", VGPUIF_OP_MODULE_LOAD, INL, 32, C_A, .a1 = 32, .expect = 0 },
	{ "inline module_load with log", VGPUIF_OP_MODULE_LOAD, INL, 48, C_A, .a1 = 32, .a2 = 16, .expect = VGPUIF_RSP_EINVAL },
	{ "inline get_info", VGPUIF_OP_GET_INFO, INL, 64, C_NONE, .expect = VGPUIF_RSP_EINVAL },
	{ "inline nop", VGPUIF_OP_NOP, INL, 1, C_NONE, .expect = VGPUIF_RSP_EINVAL },
	{ "inline vector_add (c written)", VGPUIF_OP_VECTOR_ADD, INL, 48, C_A, .a1 = 4, .expect = VGPUIF_RSP_EINVAL },
	{ "inline module_global (written)", VGPUIF_OP_MODULE_GLOBAL, INL, 24, C_A, T_MOD_A, .a1 = 8, .expect = VGPUIF_RSP_EINVAL },
	{ "inline device_info", VGPUIF_OP_DEVICE_INFO, INL, 64, C_NONE, .expect = VGPUIF_RSP_EINVAL },
	{ "inline func_info", VGPUIF_OP_FUNC_INFO, INL, 64, C_A, T_FUNC_A, .expect = VGPUIF_RSP_EINVAL },

	/* a backend serving revision 1 only */
	{ "rev1: device_info", VGPUIF_OP_DEVICE_INFO, 0, 1, C_NONE, .seg = DI, .rev1 = true, .expect = VGPUIF_RSP_ENOSYS },
	{ "rev1: stream_create", VGPUIF_OP_STREAM_CREATE, 0, 0, C_A, .rev1 = true, .expect = VGPUIF_RSP_ENOSYS },
	{ "rev1: event_elapsed", VGPUIF_OP_EVENT_ELAPSED, 0, 0, C_A, T_EV_A, .a1 = T_EV_B, .rev1 = true, .expect = VGPUIF_RSP_ENOSYS },
	{ "rev1: module_global", VGPUIF_OP_MODULE_GLOBAL, 0, 1, C_A, T_MOD_A, .a1 = 8, .seg = 24, .rev1 = true, .expect = VGPUIF_RSP_ENOSYS },
	{ "rev1: inline flag", H2D, INL, 8, C_A, T_MEM_A, .a2 = 8, .rev1 = true, .expect = VGPUIF_RSP_EINVAL },
	{ "rev1: h2d stream field set", H2D, 0, 1, C_A, T_MEM_A, T_STR_A, .a2 = 8, .seg = 8, .rev1 = true, .expect = VGPUIF_RSP_EINVAL },
	{ "rev1: launch stream field set", VGPUIF_OP_LAUNCH, 0, 0, C_A, T_FUNC_A, T_STR_A, .rev1 = true, .expect = VGPUIF_RSP_EINVAL },
	{ "rev1: h2d default stream ok", H2D, 0, 1, C_A, T_MEM_A, .a2 = 8, .seg = 8, .rev1 = true, .expect = 0 },
	{ "op 33", 33, 0, 0, C_A, .expect = VGPUIF_RSP_ENOSYS },

	/* the stream field of ordered ops */
	{ "h2d on a stream", H2D, 0, 1, C_A, T_MEM_A, T_STR_A, .a2 = 8, .seg = 8, .expect = 0 },
	{ "h2d on B's stream", H2D, 0, 1, C_A, T_MEM_A, T_STR_B, .a2 = 8, .seg = 8, .expect = VGPUIF_RSP_EBADF },
	{ "h2d on a destroyed stream", H2D, 0, 1, C_A, T_MEM_A, T_STR_DEAD, .a2 = 8, .seg = 8, .expect = VGPUIF_RSP_EBADF },
	{ "h2d on a stale stream (slot reused)", H2D, 0, 1, C_A, T_MEM_A, T_STR_STALE, .a2 = 8, .seg = 8, .expect = VGPUIF_RSP_EBADF },
	{ "h2d on domain 6's stream", H2D, 0, 1, C_A, T_MEM_A, T_STR_DOM6, .a2 = 8, .seg = 8, .expect = VGPUIF_RSP_EBADF },
	{ "h2d on an event handle", H2D, 0, 1, C_A, T_MEM_A, T_EV_AS_STR, .a2 = 8, .seg = 8, .expect = VGPUIF_RSP_EBADF },
	{ "h2d on a garbage stream", H2D, 0, 1, C_A, T_MEM_A, 0xfeedfacecafeull, .a2 = 8, .seg = 8, .expect = VGPUIF_RSP_EBADF },
	{ "d2h on a stream", VGPUIF_OP_MEMCPY_D2H, 0, 1, C_A, T_MEM_A, T_STR_A, .a2 = 8, .seg = 8, .expect = 0 },
	{ "d2d on a stream", VGPUIF_OP_MEMCPY_D2D, 0, 0, C_A, T_MEM_A, T_STR_A, .a2 = 16, .expect = 0 },
	{ "d2d on a destroyed stream", VGPUIF_OP_MEMCPY_D2D, 0, 0, C_A, T_MEM_A, T_STR_DEAD, .a2 = 16, .expect = VGPUIF_RSP_EBADF },
	{ "memset on a stream", VGPUIF_OP_MEMSET, 0, 0, C_A, T_MEM_A, T_STR_A, .a2 = 16, .expect = 0 },
	{ "memset on B's stream", VGPUIF_OP_MEMSET, 0, 0, C_A, T_MEM_A, T_STR_B, .a2 = 16, .expect = VGPUIF_RSP_EBADF },
	{ "launch on a stream", VGPUIF_OP_LAUNCH, 0, 0, C_A, T_FUNC_A, T_STR_A, .expect = 0 },
	{ "launch on B's stream", VGPUIF_OP_LAUNCH, 0, 0, C_A, T_FUNC_A, T_STR_B, .expect = VGPUIF_RSP_EBADF },

	/* DEVICE_INFO */
	{ "device_info", VGPUIF_OP_DEVICE_INFO, 0, 1, C_NONE, .seg = DI, .expect = 0 },
	{ "device_info in two segments", VGPUIF_OP_DEVICE_INFO, 0, 2, C_NONE, .seg = DI, .expect = 0, .fix = fix2_two_halves },
	{ "device_info short", VGPUIF_OP_DEVICE_INFO, 0, 1, C_NONE, .seg = DI - 1, .expect = VGPUIF_RSP_EINVAL },
	{ "device_info long", VGPUIF_OP_DEVICE_INFO, 0, 1, C_NONE, .seg = DI + 1, .expect = VGPUIF_RSP_EINVAL },
	{ "device_info no stream", VGPUIF_OP_DEVICE_INFO, 0, 0, C_NONE, .expect = VGPUIF_RSP_EINVAL },
	{ "device_info with ctx", VGPUIF_OP_DEVICE_INFO, 0, 1, C_A, .seg = DI, .expect = VGPUIF_RSP_EINVAL },
	{ "device_info args set", VGPUIF_OP_DEVICE_INFO, 0, 1, C_NONE, .seg = DI, .expect = VGPUIF_RSP_EINVAL, .fix = fix2_tail },

	/* STREAM_CREATE */
	{ "stream_create", VGPUIF_OP_STREAM_CREATE, 0, 0, C_A, .expect = 0 },
	{ "stream_create non-blocking, priority -5", VGPUIF_OP_STREAM_CREATE, 0, 0, C_A, .a1 = VGPUIF_STREAM_NON_BLOCKING, .a2 = (uint64_t)-5, .expect = 0 },
	{ "stream_create flag 0x2", VGPUIF_OP_STREAM_CREATE, 0, 0, C_A, .a1 = 2, .expect = VGPUIF_RSP_EINVAL },
	{ "stream_create all flags", VGPUIF_OP_STREAM_CREATE, 0, 0, C_A, .a1 = 0xffffffffu, .expect = VGPUIF_RSP_EINVAL },
	{ "stream_create args tail", VGPUIF_OP_STREAM_CREATE, 0, 0, C_A, .expect = VGPUIF_RSP_EINVAL, .fix = fix2_tail },
	{ "stream_create with segments", VGPUIF_OP_STREAM_CREATE, 0, 1, C_A, .seg = 8, .expect = VGPUIF_RSP_EINVAL },
	{ "stream_create no ctx", VGPUIF_OP_STREAM_CREATE, 0, 0, C_NONE, .expect = VGPUIF_RSP_EBADF },
	{ "stream_create stale ctx", VGPUIF_OP_STREAM_CREATE, 0, 0, C_STALE, .expect = VGPUIF_RSP_EBADF },
	{ "stream_create past the stream limit", VGPUIF_OP_STREAM_CREATE, 0, 0, C_CS, .expect = VGPUIF_RSP_EMFILE },
	{ "stream_create, handle table full", VGPUIF_OP_STREAM_CREATE, 0, 0, C_CF, .expect = VGPUIF_RSP_EMFILE },

	/* STREAM_DESTROY, STREAM_SYNC, STREAM_QUERY */
	{ "stream_destroy", VGPUIF_OP_STREAM_DESTROY, 0, 0, C_A, T_STR_A, .expect = 0 },
	{ "stream_destroy default stream", VGPUIF_OP_STREAM_DESTROY, 0, 0, C_A, 0, .expect = VGPUIF_RSP_EINVAL },
	{ "stream_destroy event field set", VGPUIF_OP_STREAM_DESTROY, 0, 0, C_A, T_STR_A, .a1 = 1, .expect = VGPUIF_RSP_EINVAL },
	{ "stream_destroy twice (destroyed)", VGPUIF_OP_STREAM_DESTROY, 0, 0, C_A, T_STR_DEAD, .expect = VGPUIF_RSP_EBADF },
	{ "stream_destroy B's stream", VGPUIF_OP_STREAM_DESTROY, 0, 0, C_A, T_STR_B, .expect = VGPUIF_RSP_EBADF },
	{ "stream_destroy domain 6's stream", VGPUIF_OP_STREAM_DESTROY, 0, 0, C_A, T_STR_DOM6, .expect = VGPUIF_RSP_EBADF },
	{ "stream_destroy an event handle", VGPUIF_OP_STREAM_DESTROY, 0, 0, C_A, T_EV_AS_STR, .expect = VGPUIF_RSP_EBADF },
	{ "stream_destroy stale", VGPUIF_OP_STREAM_DESTROY, 0, 0, C_A, T_STR_STALE, .expect = VGPUIF_RSP_EBADF },
	{ "stream_destroy with segments", VGPUIF_OP_STREAM_DESTROY, 0, 1, C_A, T_STR_A, .seg = 4, .expect = VGPUIF_RSP_EINVAL },
	{ "stream_sync", VGPUIF_OP_STREAM_SYNC, 0, 0, C_A, T_STR_A, .expect = 0 },
	{ "stream_sync default stream", VGPUIF_OP_STREAM_SYNC, 0, 0, C_A, 0, .expect = 0 },
	{ "stream_sync B's stream", VGPUIF_OP_STREAM_SYNC, 0, 0, C_A, T_STR_B, .expect = VGPUIF_RSP_EBADF },
	{ "stream_sync destroyed", VGPUIF_OP_STREAM_SYNC, 0, 0, C_A, T_STR_DEAD, .expect = VGPUIF_RSP_EBADF },
	{ "stream_sync event field set", VGPUIF_OP_STREAM_SYNC, 0, 0, C_A, T_STR_A, .a1 = 5, .expect = VGPUIF_RSP_EINVAL },
	{ "stream_query", VGPUIF_OP_STREAM_QUERY, 0, 0, C_A, T_STR_A, .expect = 0 },
	{ "stream_query default stream", VGPUIF_OP_STREAM_QUERY, 0, 0, C_A, 0, .expect = 0 },
	{ "stream_query garbage", VGPUIF_OP_STREAM_QUERY, 0, 0, C_A, 0x1234ull, .expect = VGPUIF_RSP_EBADF },
	{ "stream_query no ctx", VGPUIF_OP_STREAM_QUERY, 0, 0, C_NONE, T_STR_A, .expect = VGPUIF_RSP_EBADF },

	/* STREAM_WAIT_EVENT */
	{ "wait_event", VGPUIF_OP_STREAM_WAIT_EVENT, 0, 0, C_A, T_EV_A, T_STR_A, .expect = 0 },
	{ "wait_event on the default stream", VGPUIF_OP_STREAM_WAIT_EVENT, 0, 0, C_A, T_EV_A, 0, .expect = 0 },
	{ "wait_event no event", VGPUIF_OP_STREAM_WAIT_EVENT, 0, 0, C_A, 0, T_STR_A, .expect = VGPUIF_RSP_EBADF },
	{ "wait_event destroyed event", VGPUIF_OP_STREAM_WAIT_EVENT, 0, 0, C_A, T_EV_DEAD, T_STR_A, .expect = VGPUIF_RSP_EBADF },
	{ "wait_event B's event", VGPUIF_OP_STREAM_WAIT_EVENT, 0, 0, C_A, T_EV_B, T_STR_A, .expect = VGPUIF_RSP_EBADF },
	{ "wait_event on B's stream", VGPUIF_OP_STREAM_WAIT_EVENT, 0, 0, C_A, T_EV_A, T_STR_B, .expect = VGPUIF_RSP_EBADF },
	{ "wait_event a stream as event", VGPUIF_OP_STREAM_WAIT_EVENT, 0, 0, C_A, T_STR_AS_EV, T_STR_A, .expect = VGPUIF_RSP_EBADF },
	{ "wait_event args tail", VGPUIF_OP_STREAM_WAIT_EVENT, 0, 0, C_A, T_EV_A, T_STR_A, .expect = VGPUIF_RSP_EINVAL, .fix = fix2_tail },

	/* EVENT_CREATE */
	{ "event_create", VGPUIF_OP_EVENT_CREATE, 0, 0, C_A, .expect = 0 },
	{ "event_create blocking, no timing", VGPUIF_OP_EVENT_CREATE, 0, 0, C_A, .a1 = VGPUIF_EVENT_BLOCKING_SYNC | VGPUIF_EVENT_DISABLE_TIMING, .expect = 0 },
	{ "event_create INTERPROCESS", VGPUIF_OP_EVENT_CREATE, 0, 0, C_A, .a1 = 4, .expect = VGPUIF_RSP_EINVAL },
	{ "event_create flag 0x8", VGPUIF_OP_EVENT_CREATE, 0, 0, C_A, .a1 = 8, .expect = VGPUIF_RSP_EINVAL },
	{ "event_create padding set", VGPUIF_OP_EVENT_CREATE, 0, 0, C_A, .expect = VGPUIF_RSP_EINVAL, .fix = fix2_evpad },
	{ "event_create past the event limit", VGPUIF_OP_EVENT_CREATE, 0, 0, C_CS, .expect = VGPUIF_RSP_EMFILE },
	{ "event_create, handle table full", VGPUIF_OP_EVENT_CREATE, 0, 0, C_CF, .expect = VGPUIF_RSP_EMFILE },

	/* EVENT_DESTROY, EVENT_SYNC, EVENT_QUERY, EVENT_RECORD */
	{ "event_destroy", VGPUIF_OP_EVENT_DESTROY, 0, 0, C_A, T_EV_A, .expect = 0 },
	{ "event_destroy destroyed", VGPUIF_OP_EVENT_DESTROY, 0, 0, C_A, T_EV_DEAD, .expect = VGPUIF_RSP_EBADF },
	{ "event_destroy B's event", VGPUIF_OP_EVENT_DESTROY, 0, 0, C_A, T_EV_B, .expect = VGPUIF_RSP_EBADF },
	{ "event_destroy stream field set", VGPUIF_OP_EVENT_DESTROY, 0, 0, C_A, T_EV_A, T_STR_A, .expect = VGPUIF_RSP_EINVAL },
	{ "event_destroy end field set", VGPUIF_OP_EVENT_DESTROY, 0, 0, C_A, T_EV_A, .a1 = 1, .expect = VGPUIF_RSP_EINVAL },
	{ "event_sync", VGPUIF_OP_EVENT_SYNC, 0, 0, C_A, T_EV_A, .expect = 0 },
	{ "event_sync domain 6's event", VGPUIF_OP_EVENT_SYNC, 0, 0, C_A, T_EV_DOM6, .expect = VGPUIF_RSP_EBADF },
	{ "event_query", VGPUIF_OP_EVENT_QUERY, 0, 0, C_A, T_EV_A, .expect = 0 },
	{ "event_query a stream handle", VGPUIF_OP_EVENT_QUERY, 0, 0, C_A, T_STR_AS_EV, .expect = VGPUIF_RSP_EBADF },
	{ "event_query a mem handle", VGPUIF_OP_EVENT_QUERY, 0, 0, C_A, T_MEM_A, .expect = VGPUIF_RSP_EBADF },
	{ "event_record on the default stream", VGPUIF_OP_EVENT_RECORD, 0, 0, C_A, T_EV_A, 0, .expect = 0 },
	{ "event_record on a stream", VGPUIF_OP_EVENT_RECORD, 0, 0, C_A, T_EV_A, T_STR_A, .expect = 0 },
	{ "event_record on B's stream", VGPUIF_OP_EVENT_RECORD, 0, 0, C_A, T_EV_A, T_STR_B, .expect = VGPUIF_RSP_EBADF },
	{ "event_record destroyed stream", VGPUIF_OP_EVENT_RECORD, 0, 0, C_A, T_EV_A, T_STR_DEAD, .expect = VGPUIF_RSP_EBADF },
	{ "event_record domain 6's event", VGPUIF_OP_EVENT_RECORD, 0, 0, C_A, T_EV_DOM6, T_STR_A, .expect = VGPUIF_RSP_EBADF },
	{ "event_record end field set", VGPUIF_OP_EVENT_RECORD, 0, 0, C_A, T_EV_A, T_STR_A, .a1 = 9, .expect = VGPUIF_RSP_EINVAL },

	/* EVENT_ELAPSED */
	{ "elapsed", VGPUIF_OP_EVENT_ELAPSED, 0, 0, C_A, T_EV_A, .a1 = T_EV_A, .expect = 0 },
	{ "elapsed end of B", VGPUIF_OP_EVENT_ELAPSED, 0, 0, C_A, T_EV_A, .a1 = T_EV_B, .expect = VGPUIF_RSP_EBADF },
	{ "elapsed start destroyed", VGPUIF_OP_EVENT_ELAPSED, 0, 0, C_A, T_EV_DEAD, .a1 = T_EV_A, .expect = VGPUIF_RSP_EBADF },
	{ "elapsed no end", VGPUIF_OP_EVENT_ELAPSED, 0, 0, C_A, T_EV_A, .a1 = 0, .expect = VGPUIF_RSP_EBADF },
	{ "elapsed start DISABLE_TIMING", VGPUIF_OP_EVENT_ELAPSED, 0, 0, C_A, T_EV_NT, .a1 = T_EV_A, .expect = VGPUIF_RSP_EINVAL },
	{ "elapsed end DISABLE_TIMING", VGPUIF_OP_EVENT_ELAPSED, 0, 0, C_A, T_EV_A, .a1 = T_EV_NT, .expect = VGPUIF_RSP_EINVAL },
	{ "elapsed stream field set", VGPUIF_OP_EVENT_ELAPSED, 0, 0, C_A, T_EV_A, T_STR_A, .a1 = T_EV_A, .expect = VGPUIF_RSP_EINVAL },

	/* FUNC_INFO */
	{ "func_info", VGPUIF_OP_FUNC_INFO, 0, 1, C_A, T_FUNC_A, .seg = FI, .expect = 0 },
	{ "func_info in two segments", VGPUIF_OP_FUNC_INFO, 0, 2, C_A, T_FUNC_A, .seg = FI, .expect = 0, .fix = fix2_two_halves },
	{ "func_info short", VGPUIF_OP_FUNC_INFO, 0, 1, C_A, T_FUNC_A, .seg = FI - 1, .expect = VGPUIF_RSP_EINVAL },
	{ "func_info long", VGPUIF_OP_FUNC_INFO, 0, 1, C_A, T_FUNC_A, .seg = FI + 1, .expect = VGPUIF_RSP_EINVAL },
	{ "func_info no stream", VGPUIF_OP_FUNC_INFO, 0, 0, C_A, T_FUNC_A, .expect = VGPUIF_RSP_EINVAL },
	{ "func_info of an unloaded module", VGPUIF_OP_FUNC_INFO, 0, 1, C_A, T_FUNC_DEAD, .seg = FI, .expect = VGPUIF_RSP_EBADF },
	{ "func_info of B", VGPUIF_OP_FUNC_INFO, 0, 1, C_A, T_FUNC_B, .seg = FI, .expect = VGPUIF_RSP_EBADF },
	{ "func_info a module handle", VGPUIF_OP_FUNC_INFO, 0, 1, C_A, T_MOD_A, .seg = FI, .expect = VGPUIF_RSP_EBADF },
	{ "func_info attr set", VGPUIF_OP_FUNC_INFO, 0, 1, C_A, T_FUNC_A, .a1 = 8, .seg = FI, .expect = VGPUIF_RSP_EINVAL },
	{ "func_info value set", VGPUIF_OP_FUNC_INFO, 0, 1, C_A, T_FUNC_A, .a2 = 1, .seg = FI, .expect = VGPUIF_RSP_EINVAL },

	/* FUNC_SET_ATTR */
	{ "set max dynamic shared 64 KiB", VGPUIF_OP_FUNC_SET_ATTR, 0, 0, C_A, T_FUNC_A, .a1 = 8, .a2 = 65536, .expect = 0 },
	{ "set max dynamic shared -1", VGPUIF_OP_FUNC_SET_ATTR, 0, 0, C_A, T_FUNC_A, .a1 = 8, .a2 = (uint64_t)-1, .expect = VGPUIF_RSP_EINVAL },
	{ "set carveout default (-1)", VGPUIF_OP_FUNC_SET_ATTR, 0, 0, C_A, T_FUNC_A, .a1 = 9, .a2 = (uint64_t)-1, .expect = 0 },
	{ "set carveout 100", VGPUIF_OP_FUNC_SET_ATTR, 0, 0, C_A, T_FUNC_A, .a1 = 9, .a2 = 100, .expect = 0 },
	{ "set carveout 101", VGPUIF_OP_FUNC_SET_ATTR, 0, 0, C_A, T_FUNC_A, .a1 = 9, .a2 = 101, .expect = VGPUIF_RSP_EINVAL },
	{ "set carveout -2", VGPUIF_OP_FUNC_SET_ATTR, 0, 0, C_A, T_FUNC_A, .a1 = 9, .a2 = (uint64_t)-2, .expect = VGPUIF_RSP_EINVAL },
	{ "set cluster width 2", VGPUIF_OP_FUNC_SET_ATTR, 0, 0, C_A, T_FUNC_A, .a1 = 11, .a2 = 2, .expect = 0 },
	{ "set non-portable cluster 2", VGPUIF_OP_FUNC_SET_ATTR, 0, 0, C_A, T_FUNC_A, .a1 = 14, .a2 = 2, .expect = VGPUIF_RSP_EINVAL },
	{ "set scheduling policy 3", VGPUIF_OP_FUNC_SET_ATTR, 0, 0, C_A, T_FUNC_A, .a1 = 15, .a2 = 3, .expect = VGPUIF_RSP_EINVAL },
	{ "set cache config 3", VGPUIF_OP_FUNC_SET_ATTR, 0, 0, C_A, T_FUNC_A, .a1 = VGPUIF_FUNC_ATTR_CACHE_CONFIG, .a2 = 3, .expect = 0 },
	{ "set cache config 4", VGPUIF_OP_FUNC_SET_ATTR, 0, 0, C_A, T_FUNC_A, .a1 = VGPUIF_FUNC_ATTR_CACHE_CONFIG, .a2 = 4, .expect = VGPUIF_RSP_EINVAL },
	{ "set read-only attr 0 (max threads)", VGPUIF_OP_FUNC_SET_ATTR, 0, 0, C_A, T_FUNC_A, .a1 = 0, .a2 = 64, .expect = VGPUIF_RSP_EINVAL },
	{ "set read-only attr 4 (registers)", VGPUIF_OP_FUNC_SET_ATTR, 0, 0, C_A, T_FUNC_A, .a1 = 4, .a2 = 1, .expect = VGPUIF_RSP_EINVAL },
	{ "set unknown attr 16", VGPUIF_OP_FUNC_SET_ATTR, 0, 0, C_A, T_FUNC_A, .a1 = 16, .expect = VGPUIF_RSP_EINVAL },
	{ "set unknown attr 0x101", VGPUIF_OP_FUNC_SET_ATTR, 0, 0, C_A, T_FUNC_A, .a1 = 0x101, .expect = VGPUIF_RSP_EINVAL },
	{ "set attr of a dead function", VGPUIF_OP_FUNC_SET_ATTR, 0, 0, C_A, T_FUNC_DEAD, .a1 = 8, .a2 = 1, .expect = VGPUIF_RSP_EBADF },
	{ "set attr with segments", VGPUIF_OP_FUNC_SET_ATTR, 0, 1, C_A, T_FUNC_A, .a1 = 8, .a2 = 1, .seg = 4, .expect = VGPUIF_RSP_EINVAL },
	{ "set attr args tail", VGPUIF_OP_FUNC_SET_ATTR, 0, 0, C_A, T_FUNC_A, .a1 = 8, .a2 = 1, .expect = VGPUIF_RSP_EINVAL, .fix = fix2_tail },

	/* MODULE_GLOBAL */
	{ "global name 8", VGPUIF_OP_MODULE_GLOBAL, 0, 1, C_A, T_MOD_A, .a1 = 8, .seg = 24, .expect = 0 },
	{ "global name 1", VGPUIF_OP_MODULE_GLOBAL, 0, 1, C_A, T_MOD_A, .a1 = 1, .seg = 17, .expect = 0 },
	{ "global name 1024", VGPUIF_OP_MODULE_GLOBAL, 0, 1, C_A, T_MOD_A, .a1 = 1024, .seg = 1040, .expect = 0 },
	{ "global name 0", VGPUIF_OP_MODULE_GLOBAL, 0, 1, C_A, T_MOD_A, .a1 = 0, .seg = 16, .expect = VGPUIF_RSP_EINVAL },
	{ "global name 1025", VGPUIF_OP_MODULE_GLOBAL, 0, 1, C_A, T_MOD_A, .a1 = 1025, .seg = 1041, .expect = VGPUIF_RSP_E2BIG },
	{ "global name 2^32-1", VGPUIF_OP_MODULE_GLOBAL, 0, 0, C_A, T_MOD_A, .a1 = 0xffffffffu, .expect = VGPUIF_RSP_E2BIG },
	{ "global stream without answer room", VGPUIF_OP_MODULE_GLOBAL, 0, 1, C_A, T_MOD_A, .a1 = 8, .seg = 8, .expect = VGPUIF_RSP_EINVAL },
	{ "global stream 1 byte long", VGPUIF_OP_MODULE_GLOBAL, 0, 1, C_A, T_MOD_A, .a1 = 8, .seg = 25, .expect = VGPUIF_RSP_EINVAL },
	{ "global padding set", VGPUIF_OP_MODULE_GLOBAL, 0, 1, C_A, T_MOD_A, .a1 = 8, .seg = 24, .expect = VGPUIF_RSP_EINVAL, .fix = fix2_mgpad },
	{ "global of an unloaded module", VGPUIF_OP_MODULE_GLOBAL, 0, 1, C_A, T_MOD_GONE, .a1 = 8, .seg = 24, .expect = VGPUIF_RSP_EBADF },
	{ "global of a function handle", VGPUIF_OP_MODULE_GLOBAL, 0, 1, C_A, T_FUNC_A, .a1 = 8, .seg = 24, .expect = VGPUIF_RSP_EBADF },
	{ "global of B's module (func_b's)", VGPUIF_OP_MODULE_GLOBAL, 0, 1, C_A, T_FUNC_B, .a1 = 8, .seg = 24, .expect = VGPUIF_RSP_EBADF },
	{ "global of a mem handle", VGPUIF_OP_MODULE_GLOBAL, 0, 1, C_A, T_MEM_A, .a1 = 8, .seg = 24, .expect = VGPUIF_RSP_EBADF },
	/* a full table may still name a global it holds (the ring decides) */
	{ "global with a full handle table", VGPUIF_OP_MODULE_GLOBAL, 0, 1, C_CF, T_CF_MOD, .a1 = 8, .seg = 24, .expect = 0 },

	/* module-owned memory */
	{ "mem_free of a global", VGPUIF_OP_MEM_FREE, 0, 0, C_A, T_GLOB_A, .expect = VGPUIF_RSP_EINVAL },
	{ "h2d into a global", H2D, 0, 1, C_A, T_GLOB_A, .a2 = 256, .seg = 256, .expect = 0 },
	{ "h2d past a global's end", H2D, 0, 1, C_A, T_GLOB_A, .a1 = 1, .a2 = 256, .seg = 256, .expect = VGPUIF_RSP_ERANGE },
	{ "h2d into a global of an unloaded module", H2D, 0, 1, C_A, T_GLOB_DEAD, .a2 = 8, .seg = 8, .expect = VGPUIF_RSP_EBADF },
	{ "memset a global", VGPUIF_OP_MEMSET, 0, 0, C_A, T_GLOB_A, .a2 = 16, .expect = 0 },
	{ "mem_free of a dead global", VGPUIF_OP_MEM_FREE, 0, 0, C_A, T_GLOB_DEAD, .expect = VGPUIF_RSP_EBADF },
};

/*
 * Revision 3: registered host memory. Segments are built as whole pages,
 * grefs 700 + i (direct, or indirect when F_INDIRECT), then fixed up.
 */
enum { R_NONE = 0, R_A, R_RO, R_GONE, R_DYING, R_DOM6, R_GARBAGE };
enum { P3 = 0, P2, P1 };

struct row3 {
	const char *name;
	uint8_t op, flags;
	uint16_t nr;             /* segments                                */
	int ctx;                 /* C_*                                     */
	int region;              /* R_*: the region named                   */
	uint64_t len;            /* register: length; copies: bytes         */
	uint64_t off;            /* copies: offset in the region            */
	uint32_t rflags;         /* register: VGPUIF_HOST_*                 */
	int pol;                 /* P3 (default), P2, P1                    */
	int expect;
	void (*fix)(struct vgpuif_request *r, struct vgpuif_segment *s);
};

static uint64_t rtok(int r)
{
	switch (r) {
	case R_A:       return hr_a;
	case R_RO:      return hr_ro;
	case R_GONE:    return hr_gone;
	case R_DYING:   return hr_dying;
	case R_DOM6:    return hr_dom6;
	case R_GARBAGE: return 0x123456789aull;
	default:        return 0;
	}
}

static void fix3_seg_offset(struct vgpuif_request *r, struct vgpuif_segment *s)
{
	(void)r;
	s[1].offset = 8;
	s[1].length = 4088;
}
static void fix3_seg_short(struct vgpuif_request *r, struct vgpuif_segment *s)
{
	(void)r;
	s[2].length = 100;
}
static void fix3_seg_twice(struct vgpuif_request *r, struct vgpuif_segment *s)
{
	(void)r;
	s[3].gref = s[0].gref;
}
static void fix3_seg_live(struct vgpuif_request *r, struct vgpuif_segment *s)
{
	(void)r;
	s[1].gref = 501;        /* hr_a's */
}
static void fix3_seg_ro(struct vgpuif_request *r, struct vgpuif_segment *s)
{
	(void)r;
	s[0].gref = 511;        /* hr_ro's */
}
static void fix3_seg_dying(struct vgpuif_request *r, struct vgpuif_segment *s)
{
	(void)r;
	s[0].gref = 530;        /* hr_dying's: still mapped */
}
static void fix3_seg_gone(struct vgpuif_request *r, struct vgpuif_segment *s)
{
	(void)r;
	s[0].gref = 520;        /* hr_gone's: unregistered, free again */
}
static void fix3_seg_indirect_twice(struct vgpuif_request *r, struct vgpuif_segment *s)
{
	(void)r;
	s[599].gref = s[3].gref;
}
static void fix3_pad(struct vgpuif_request *r, struct vgpuif_segment *s)
{
	(void)s;
	r->args.host_register._pad0 = 1;
}
static void fix3_tail(struct vgpuif_request *r, struct vgpuif_segment *s)
{
	(void)s;
	r->args.raw[47] = 1;
}
static void fix3_u_set(struct vgpuif_request *r, struct vgpuif_segment *s)
{
	(void)s;
	r->u.seg[0].gref = 9;
}
static void fix3_host_region_only(struct vgpuif_request *r, struct vgpuif_segment *s)
{
	(void)s;
	r->args.memcpy.host_region = hr_a;
}
static void fix3_host_offset_only(struct vgpuif_request *r, struct vgpuif_segment *s)
{
	(void)s;
	r->args.memcpy.host_offset = 4096;
}

#define HR VGPUIF_OP_HOST_REGISTER
#define HU VGPUIF_OP_HOST_UNREGISTER
#define D2H VGPUIF_OP_MEMCPY_D2H
#define HM VGPUIF_F_HOST_MEM
#define IND VGPUIF_F_INDIRECT
static const struct row3 rows3[] = {
	/* HOST_REGISTER */
	{ "register 4 pages", HR, 0, 4, C_NONE, .len = 16384, .expect = 0 },
	{ "register 1 page read-only", HR, 0, 1, C_NONE, .len = 4096, .rflags = VGPUIF_HOST_READ_ONLY, .expect = 0 },
	{ "register 600 pages (indirect)", HR, IND, 600, C_NONE, .len = 600 * 4096, .expect = 0 },
	{ "register 8192 pages (indirect, 32 MiB)", HR, IND, 8192, C_NONE, .len = 8192ull * 4096, .expect = 0 },
	{ "register a page of an unregistered region", HR, 0, 1, C_NONE, .len = 4096, .expect = 0, .fix = fix3_seg_gone },
	{ "register with a context", HR, 0, 4, C_A, .len = 16384, .expect = VGPUIF_RSP_EINVAL },
	{ "register no pages", HR, 0, 0, C_NONE, .len = 0, .expect = VGPUIF_RSP_EINVAL },
	{ "register length short of the pages", HR, 0, 4, C_NONE, .len = 12288, .expect = VGPUIF_RSP_EINVAL },
	{ "register length past the pages", HR, 0, 4, C_NONE, .len = 20480, .expect = VGPUIF_RSP_EINVAL },
	{ "register length not whole pages", HR, 0, 4, C_NONE, .len = 16000, .expect = VGPUIF_RSP_EINVAL },
	{ "register unaligned segment (offset 8)", HR, 0, 4, C_NONE, .len = 16384, .expect = VGPUIF_RSP_EINVAL, .fix = fix3_seg_offset },
	{ "register partial page (100 bytes)", HR, 0, 4, C_NONE, .len = 16384, .expect = VGPUIF_RSP_EINVAL, .fix = fix3_seg_short },
	{ "register overlapping: a page twice", HR, 0, 4, C_NONE, .len = 16384, .expect = VGPUIF_RSP_EINVAL, .fix = fix3_seg_twice },
	{ "register overlapping: twice, indirect", HR, IND, 600, C_NONE, .len = 600 * 4096, .expect = VGPUIF_RSP_EINVAL, .fix = fix3_seg_indirect_twice },
	{ "register overlapping a live region", HR, 0, 4, C_NONE, .len = 16384, .expect = VGPUIF_RSP_EINVAL, .fix = fix3_seg_live },
	{ "register overlapping a read-only region", HR, 0, 1, C_NONE, .len = 4096, .expect = VGPUIF_RSP_EINVAL, .fix = fix3_seg_ro },
	{ "register overlapping a dying region", HR, 0, 1, C_NONE, .len = 4096, .expect = VGPUIF_RSP_EINVAL, .fix = fix3_seg_dying },
	{ "register unknown flag 0x2", HR, 0, 1, C_NONE, .len = 4096, .rflags = 2, .expect = VGPUIF_RSP_EINVAL },
	{ "register padding set", HR, 0, 1, C_NONE, .len = 4096, .expect = VGPUIF_RSP_EINVAL, .fix = fix3_pad },
	{ "register args tail set", HR, 0, 1, C_NONE, .len = 4096, .expect = VGPUIF_RSP_EINVAL, .fix = fix3_tail },
	{ "register inline", HR, VGPUIF_F_INLINE, 8, C_NONE, .len = 4096, .expect = VGPUIF_RSP_EINVAL },
	{ "register with F_HOST_MEM", HR, HM, 0, C_NONE, .len = 4096, .expect = VGPUIF_RSP_EINVAL },
	{ "register 8193 pages", HR, IND, 8193, C_NONE, .len = 8193ull * 4096, .expect = VGPUIF_RSP_E2BIG },
	{ "rev2: register", HR, 0, 1, C_NONE, .len = 4096, .pol = P2, .expect = VGPUIF_RSP_ENOSYS },
	{ "rev1: register", HR, 0, 1, C_NONE, .len = 4096, .pol = P1, .expect = VGPUIF_RSP_ENOSYS },

	/* HOST_UNREGISTER */
	{ "unregister", HU, 0, 0, C_NONE, R_A, .expect = 0 },
	{ "unregister read-only", HU, 0, 0, C_NONE, R_RO, .expect = 0 },
	{ "unregister unknown handle", HU, 0, 0, C_NONE, R_GARBAGE, .expect = VGPUIF_RSP_EBADF },
	{ "unregister handle 0", HU, 0, 0, C_NONE, R_NONE, .expect = VGPUIF_RSP_EBADF },
	{ "unregister after unregister (stale)", HU, 0, 0, C_NONE, R_GONE, .expect = VGPUIF_RSP_EBADF },
	{ "unregister twice (dying)", HU, 0, 0, C_NONE, R_DYING, .expect = VGPUIF_RSP_EBADF },
	{ "unregister domain 6's region", HU, 0, 0, C_NONE, R_DOM6, .expect = VGPUIF_RSP_EBADF },
	{ "unregister with a context", HU, 0, 0, C_A, R_A, .expect = VGPUIF_RSP_EINVAL },
	{ "unregister with segments", HU, 0, 1, C_NONE, R_A, .expect = VGPUIF_RSP_EINVAL },
	{ "unregister args tail set", HU, 0, 0, C_NONE, R_A, .expect = VGPUIF_RSP_EINVAL, .fix = fix3_tail },
	{ "rev2: unregister", HU, 0, 0, C_NONE, R_A, .pol = P2, .expect = VGPUIF_RSP_ENOSYS },

	/* copies naming a region (VGPUIF_F_HOST_MEM) */
	{ "h2d from a region", H2D, HM, 0, C_A, R_A, .len = 4096, .expect = 0 },
	{ "h2d from a region at 100", H2D, HM, 0, C_A, R_A, .len = 4000, .off = 100, .expect = 0 },
	{ "h2d its last byte", H2D, HM, 0, C_A, R_A, .len = 1, .off = 16383, .expect = 0 },
	{ "d2h into a region", D2H, HM, 0, C_A, R_A, .len = 4096, .off = 12288, .expect = 0 },
	{ "h2d from a read-only region", H2D, HM, 0, C_A, R_RO, .len = 4096, .expect = 0 },
	{ "h2d from a region, other context", H2D, HM, 0, C_B, R_A, .len = 4096, .expect = VGPUIF_RSP_EBADF },
	{ "h2d past the region's end", H2D, HM, 0, C_A, R_A, .len = 1000, .off = 16000, .expect = VGPUIF_RSP_ERANGE },
	{ "h2d region offset past its end", H2D, HM, 0, C_A, R_A, .len = 1, .off = 16384, .expect = VGPUIF_RSP_ERANGE },
	{ "h2d region offset wraps", H2D, HM, 0, C_A, R_A, .len = 2, .off = UINT64_MAX, .expect = VGPUIF_RSP_ERANGE },
	{ "d2h into a read-only region", D2H, HM, 0, C_A, R_RO, .len = 4096, .expect = VGPUIF_RSP_EPERM },
	{ "h2d after unregister (stale)", H2D, HM, 0, C_A, R_GONE, .len = 4096, .expect = VGPUIF_RSP_EBADF },
	{ "h2d after unregister (dying)", H2D, HM, 0, C_A, R_DYING, .len = 4096, .expect = VGPUIF_RSP_EBADF },
	{ "d2h into an unknown region", D2H, HM, 0, C_A, R_GARBAGE, .len = 4096, .expect = VGPUIF_RSP_EBADF },
	{ "h2d from region 0", H2D, HM, 0, C_A, R_NONE, .len = 4096, .expect = VGPUIF_RSP_EBADF },
	{ "h2d from domain 6's region", H2D, HM, 0, C_A, R_DOM6, .len = 4096, .expect = VGPUIF_RSP_EBADF },
	{ "host mem with a segment too", H2D, HM, 1, C_A, R_A, .len = 4096, .expect = VGPUIF_RSP_EINVAL },
	{ "host mem with indirect", H2D, HM | IND, 1, C_A, R_A, .len = 4096, .expect = VGPUIF_RSP_EINVAL },
	{ "host mem with inline", H2D, HM | VGPUIF_F_INLINE, 8, C_A, R_A, .len = 8, .expect = VGPUIF_RSP_EINVAL },
	{ "host mem, u not zero", H2D, HM, 0, C_A, R_A, .len = 4096, .expect = VGPUIF_RSP_EINVAL, .fix = fix3_u_set },
	{ "host mem on d2d", VGPUIF_OP_MEMCPY_D2D, HM, 0, C_A, R_A, .len = 16, .expect = VGPUIF_RSP_EINVAL },
	{ "host mem on memset", VGPUIF_OP_MEMSET, HM, 0, C_A, R_A, .len = 16, .expect = VGPUIF_RSP_EINVAL },
	{ "host mem on launch", VGPUIF_OP_LAUNCH, HM, 0, C_A, R_A, .expect = VGPUIF_RSP_EINVAL },
	{ "host_region without the flag", H2D, 0, 1, C_A, R_NONE, .len = 8, .expect = VGPUIF_RSP_EINVAL, .fix = fix3_host_region_only },
	{ "host_offset without the flag", H2D, 0, 1, C_A, R_NONE, .len = 8, .expect = VGPUIF_RSP_EINVAL, .fix = fix3_host_offset_only },
	{ "rev2: host mem copy", H2D, HM, 0, C_A, R_A, .len = 4096, .pol = P2, .expect = VGPUIF_RSP_EINVAL },
	{ "rev1: host mem copy", H2D, HM, 0, C_A, R_A, .len = 4096, .pol = P1, .expect = VGPUIF_RSP_EINVAL },
	{ "rev2: host_region field set", H2D, 0, 1, C_A, R_NONE, .len = 8, .pol = P2, .expect = VGPUIF_RSP_EINVAL, .fix = fix3_host_region_only },
};

static void build3(const struct row3 *w, struct vgpuif_request *r,
		   struct vgpuif_segment *segs)
{
	union vgpuif_args *a = &r->args;
	uint32_t i, nseg = w->nr;

	memset(r, 0, sizeof(*r));
	r->id = 44;
	r->op = w->op;
	r->flags = w->flags;
	r->nr_segments = w->nr;
	r->ctx = w->ctx == C_A ? A->handle : w->ctx == C_B ? B->handle : 0;
	switch (w->op) {
	case HR:
		a->host_register.length = w->len;
		a->host_register.flags = w->rflags;
		break;
	case HU:
		a->host_unregister.region = rtok(w->region);
		break;
	case H2D:
	case D2H:
		a->memcpy.mem = mem_a;
		a->memcpy.length = w->len;
		if (w->flags & HM) {
			a->memcpy.host_region = rtok(w->region);
			a->memcpy.host_offset = w->off;
		}
		break;
	case VGPUIF_OP_MEMCPY_D2D:
		a->memcpy_d2d.dst_mem = a->memcpy_d2d.src_mem = mem_a;
		a->memcpy_d2d.src_offset = 2048;
		a->memcpy_d2d.length = w->len;
		break;
	case VGPUIF_OP_MEMSET:
		a->memset.mem = mem_a;
		a->memset.length = w->len;
		a->memset.elem_size = 1;
		break;
	case VGPUIF_OP_LAUNCH:
		a->launch.func = func_a;
		a->launch.grid[0] = a->launch.grid[1] = a->launch.grid[2] = 1;
		a->launch.block[0] = a->launch.block[1] = a->launch.block[2] = 1;
		break;
	}
	if (nseg > VGPUIF_MAX_INDIRECT_SEGMENTS)
		nseg = VGPUIF_MAX_INDIRECT_SEGMENTS;
	for (i = 0; i < nseg; i++)
		segs[i] = (struct vgpuif_segment){ 700 + i, 0, 4096 };
	if (w->op == H2D && !(w->flags & HM))
		segs[0].length = (uint16_t)w->len;
	if (w->flags & VGPUIF_F_INLINE) {
		for (i = 0; i < w->nr && i < VGPUIF_MAX_INLINE_BYTES; i++)
			r->u.inline_data[i] = (uint8_t)(1 + i);
	} else if (w->flags & IND) {
		for (i = 0; i < vgpuif_indirect_pages(w->nr) &&
			    i < VGPUIF_MAX_INDIRECT_PAGES; i++)
			r->u.indirect_gref[i] = 200 + i;
	}
	if (w->fix)
		w->fix(r, segs);
	if (!(w->flags & (IND | VGPUIF_F_INLINE)))
		for (i = 0; i < w->nr && i < VGPUIF_MAX_DIRECT_SEGMENTS; i++)
			r->u.seg[i] = segs[i];
}

START_TEST(test_row3)
{
	const struct row3 *w = &rows3[_i];
	static struct vgpuif_segment segs[VGPUIF_MAX_INDIRECT_SEGMENTS + 1];
	const struct vgpuback_policy *pol = w->pol == P2 ? &POL2 :
					    w->pol == P1 ? &POL1 : &POL;
	struct vgpuif_request req;
	struct vgpuback_parsed p;
	uint32_t nsegs;
	int rc;

	memset(segs, 0, sizeof(segs));
	build3(w, &req, segs);
	nsegs = req.flags & VGPUIF_F_INLINE ? 0 : req.nr_segments;
	if (nsegs > VGPUIF_MAX_INDIRECT_SEGMENTS)
		nsegs = VGPUIF_MAX_INDIRECT_SEGMENTS;
	rc = vgpuback_parse(&H, pol, &req, segs, nsegs, &p);
	ck_assert_msg(rc == w->expect, "%s: got %d (%s), want %d (%s)", w->name,
		      rc, vgpuif_status_str(rc), w->expect,
		      vgpuif_status_str(w->expect));
	if (rc)
		return;
	if (w->flags & HM) {
		ck_assert(p.host_mem);
		ck_assert_ptr_nonnull(p.hreg);
		ck_assert_uint_eq(p.host_offset, w->off);
	}
	if (w->op == HU)
		ck_assert_ptr_eq(p.hreg, &H.hregs[rtok(w->region) & 0xff]);
}
END_TEST

/* The bounds of the region table: regions per device, pages in all. */
START_TEST(test_host_region_limits)
{
	static struct vgpuif_segment sg[VGPUIF_MAX_INDIRECT_SEGMENTS];
	struct vgpuback_handles h;
	struct vgpuback_hostreg *r;
	uint64_t hd, first = 0;
	uint32_t i, g = 10;

	ck_assert_int_eq(vgpuback_handles_init(&h, 9, 4, 64), 0);
	for (i = 0; i < VGPUIF_MAX_HOST_REGIONS; i++) {
		sg[0] = (struct vgpuif_segment){ g++, 0, 4096 };
		ck_assert_int_eq(vgpuback_hostreg_reserve(&h, sg, 1, &r, &hd), 0);
		r->live = true;
		if (!first)
			first = hd;
	}
	sg[0] = (struct vgpuif_segment){ g++, 0, 4096 };
	/* too many regions */
	ck_assert_int_eq(vgpuback_hostreg_check(&h, sg, 1), VGPUIF_RSP_EMFILE);
	ck_assert_int_eq(vgpuback_hostreg_reserve(&h, sg, 1, &r, &hd), VGPUIF_RSP_EMFILE);
	/* one unregistered: room again, and its old handle is stale */
	r = vgpuback_hostreg_lookup(&h, first);
	ck_assert_ptr_nonnull(r);
	vgpuback_hostreg_release(&h, r);
	ck_assert_ptr_null(vgpuback_hostreg_lookup(&h, first));
	ck_assert_int_eq(vgpuback_hostreg_reserve(&h, sg, 1, &r, &hd), 0);
	ck_assert_uint_ne(hd, first);
	ck_assert_ptr_null(vgpuback_hostreg_lookup(&h, hd)); /* not live yet */
	r->live = true;
	ck_assert_ptr_eq(vgpuback_hostreg_lookup(&h, hd), r);
	vgpuback_handles_uninit(&h);

	/* pages in all: VGPUIF_MAX_HOST_PAGES */
	ck_assert_int_eq(vgpuback_handles_init(&h, 9, 4, 64), 0);
	for (i = 0; i < VGPUIF_MAX_HOST_PAGES / VGPUIF_MAX_INDIRECT_SEGMENTS; i++) {
		for (uint32_t k = 0; k < VGPUIF_MAX_INDIRECT_SEGMENTS; k++)
			sg[k] = (struct vgpuif_segment){ g++, 0, 4096 };
		ck_assert_int_eq(vgpuback_hostreg_reserve(&h, sg, VGPUIF_MAX_INDIRECT_SEGMENTS,
							  &r, &hd), 0);
	}
	sg[0] = (struct vgpuif_segment){ g++, 0, 4096 };
	ck_assert_int_eq(vgpuback_hostreg_check(&h, sg, 1), VGPUIF_RSP_ENOMEM);
	vgpuback_handles_uninit(&h);
}
END_TEST

START_TEST(test_row2)
{
	const struct row2 *w = &rows2[_i];
	static struct vgpuif_segment segs[VGPUIF_MAX_INDIRECT_SEGMENTS];
	struct vgpuif_request req;
	struct vgpuback_parsed p;
	uint32_t nsegs;
	int rc;

	memset(segs, 0, sizeof(segs));
	build2(w, &req, segs);
	nsegs = (req.flags & VGPUIF_F_INLINE) && !w->segs_too ? 0 : req.nr_segments;
	rc = vgpuback_parse(&H, w->rev1 ? &POL1 : &POL, &req, segs, nsegs, &p);
	ck_assert_msg(rc == w->expect, "%s: got %d (%s), want %d (%s)", w->name,
		      rc, vgpuif_status_str(rc), w->expect,
		      vgpuif_status_str(w->expect));
	if (rc)
		return;
	ck_assert_uint_eq(p.inline_data, !!(req.flags & VGPUIF_F_INLINE));
	if (w->s && !w->rev1)
		ck_assert_ptr_nonnull(p.stream);
	if (w->op == VGPUIF_OP_MODULE_GLOBAL) {
		ck_assert_uint_eq(p.write_off, w->a1);
		ck_assert_uint_eq(p.write_len, 16);
	}
	if (w->op == VGPUIF_OP_DEVICE_INFO || w->op == VGPUIF_OP_FUNC_INFO)
		ck_assert_uint_eq(p.write_len, p.stream_len);
}
END_TEST

START_TEST(test_row)
{
	const struct row *w = &rows[_i];
	static struct vgpuif_segment segs[VGPUIF_MAX_INDIRECT_SEGMENTS];
	struct vgpuif_request req;
	struct vgpuback_parsed p;
	int rc;

	memset(segs, 0, sizeof(segs));
	build(w, &req, segs);
	rc = vgpuback_parse(&H, &POL, &req, segs, req.nr_segments, &p);
	ck_assert_msg(rc == w->expect, "%s: got %d (%s), want %d (%s)", w->name,
		      rc, vgpuif_status_str(rc), w->expect,
		      vgpuif_status_str(w->expect));
	if (!rc && (w->op == VGPUIF_OP_MEMCPY_D2H))
		ck_assert_uint_eq(p.write_len, w->a2);
}
END_TEST

START_TEST(test_header_no_indirect_when_not_advertised)
{
	struct vgpuback_policy pol = { .max_indirect_segments = 0 };
	struct vgpuif_request r;

	memset(&r, 0, sizeof(r));
	r.op = VGPUIF_OP_MEMCPY_H2D;
	r.flags = VGPUIF_F_INDIRECT;
	r.nr_segments = 1;
	ck_assert_int_eq(vgpuback_parse_header(&r, &pol), VGPUIF_RSP_E2BIG);
	r.flags = 0;
	ck_assert_int_eq(vgpuback_parse_header(&r, &pol), 0);
}
END_TEST

START_TEST(test_written_segments)
{
	struct vgpuback_parsed p = { .write_off = 100, .write_len = 50 };

	ck_assert(!vgpuback_segment_written(&p, 0, 100));
	ck_assert(vgpuback_segment_written(&p, 0, 101));
	ck_assert(vgpuback_segment_written(&p, 149, 10));
	ck_assert(!vgpuback_segment_written(&p, 150, 10));
	p.write_len = 0;
	ck_assert(!vgpuback_segment_written(&p, 0, 4096));
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("parse");
	TCase *tc = tcase_create("table");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_row, 0, sizeof(rows) / sizeof(rows[0]));
	tcase_add_loop_test(tc, test_row2, 0, sizeof(rows2) / sizeof(rows2[0]));
	tcase_add_loop_test(tc, test_row3, 0, sizeof(rows3) / sizeof(rows3[0]));
	suite_add_tcase(s, tc);
	tc = tcase_create("helpers");
	tcase_add_test(tc, test_header_no_indirect_when_not_advertised);
	tcase_add_test(tc, test_written_segments);
	tcase_add_test(tc, test_host_region_limits);
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
