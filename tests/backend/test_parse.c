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
static struct vgpuback_ctx *A, *B, *A6;
static uint64_t mem_a, mem_b, mem_freed, mem_dom6, mod_a, func_a, func_dead;
static uint32_t ctx_stale;
static struct vgpuback_policy POL = { VGPUIF_MAX_INDIRECT_SEGMENTS, 1 << 20 };

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
	{ "unknown opcode 16", 16, 0, 0, C_NONE, 0, 0, 0, 0, 0, VGPUIF_RSP_ENOSYS, NULL },
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
	struct vgpuback_policy pol = { 0, 0 };
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
	suite_add_tcase(s, tc);
	tc = tcase_create("helpers");
	tcase_add_test(tc, test_header_no_indirect_when_not_advertised);
	tcase_add_test(tc, test_written_segments);
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
