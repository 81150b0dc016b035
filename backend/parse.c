/* SPDX-License-Identifier: MIT */
/*
 * parse.c - validation of a copied request. Every field is checked here,
 * once, on the backend's private copy (XSA-155: never read twice from
 * shared memory).
 */
#include <string.h>

#include "parse.h"

int vgpuback_parse_header(const struct vgpuif_request *req,
			  const struct vgpuback_policy *pol)
{
	/* Revision-2 ops are not served yet (feature-ops is not written). */
	if (req->op >= VGPUIF_OP_COUNT_V1)
		return VGPUIF_RSP_ENOSYS;
	return vgpuif_check_nr_segments(req->flags, req->nr_segments,
					pol->max_indirect_segments);
}

/* Bytes of args beyond the op's struct must be zero ("unused = zero"). */
static int tail_zero(const union vgpuif_args *a, size_t used)
{
	size_t i;

	for (i = used; i < sizeof(a->raw); i++)
		if (a->raw[i])
			return 0;
	return 1;
}

static int need_obj(struct vgpuback_handles *h, struct vgpuback_ctx *ctx,
		    enum vgpuback_obj_type type, uint64_t handle,
		    struct vgpuback_obj **out)
{
	*out = vgpuback_obj_lookup(h, ctx, type, handle);
	return *out ? 0 : VGPUIF_RSP_EBADF;
}

int vgpuback_segment_written(const struct vgpuback_parsed *p,
			     uint64_t seg_start, uint32_t seg_len)
{
	if (!p->write_len)
		return 0;
	return seg_start < p->write_off + p->write_len &&
	       seg_start + seg_len > p->write_off;
}

int vgpuback_parse(struct vgpuback_handles *h,
		   const struct vgpuback_policy *pol,
		   const struct vgpuif_request *req,
		   const struct vgpuif_segment *segs, uint32_t nr_segs,
		   struct vgpuback_parsed *out)
{
	const union vgpuif_args *a = &req->args;
	uint64_t stream = 0;
	uint32_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = vgpuback_parse_header(req, pol);
	if (rc)
		return rc;
	if (nr_segs != req->nr_segments)
		return VGPUIF_RSP_EINVAL;
	out->op = req->op;

	/* Segments: each inside its own page; the sum is the stream. */
	for (i = 0; i < nr_segs; i++) {
		if (!vgpuif_segment_valid(&segs[i]))
			return VGPUIF_RSP_EFAULT;
		stream += segs[i].length;
	}
	/* Unused direct segment slots must be zero, as unused args. */
	if (!(req->flags & VGPUIF_F_INDIRECT)) {
		static const struct vgpuif_segment zero;

		for (i = req->nr_segments; i < VGPUIF_MAX_DIRECT_SEGMENTS; i++)
			if (memcmp(&req->u.seg[i], &zero, sizeof(zero)))
				return VGPUIF_RSP_EINVAL;
	} else {
		uint32_t np = vgpuif_indirect_pages(req->nr_segments);

		for (i = np; i < VGPUIF_MAX_INDIRECT_PAGES; i++)
			if (req->u.indirect_gref[i])
				return VGPUIF_RSP_EINVAL;
	}

	/* Context: none for the three context-free ops, a live one for all. */
	switch (req->op) {
	case VGPUIF_OP_NOP:
	case VGPUIF_OP_GET_INFO:
	case VGPUIF_OP_CTX_CREATE:
		if (req->ctx != 0)
			return VGPUIF_RSP_EINVAL;
		break;
	default:
		out->ctx = vgpuback_ctx_lookup(h, req->ctx);
		if (!out->ctx)
			return VGPUIF_RSP_EBADF;
	}

	switch (req->op) {
	case VGPUIF_OP_NOP:
	case VGPUIF_OP_CTX_CREATE:
	case VGPUIF_OP_CTX_DESTROY:
	case VGPUIF_OP_SYNC:
		if (!tail_zero(a, 0))
			return VGPUIF_RSP_EINVAL;
		break;
	case VGPUIF_OP_GET_INFO:
		if (!tail_zero(a, 0))
			return VGPUIF_RSP_EINVAL;
		out->stream_len = sizeof(struct vgpuif_info);
		out->write_off = 0;
		out->write_len = sizeof(struct vgpuif_info);
		break;
	case VGPUIF_OP_MEM_ALLOC:
		if (!tail_zero(a, sizeof(a->mem_alloc)))
			return VGPUIF_RSP_EINVAL;
		if (a->mem_alloc.size == 0)
			return VGPUIF_RSP_EINVAL;
		if (pol->mem_quota &&
		    (h->mem_used > pol->mem_quota ||
		     a->mem_alloc.size > pol->mem_quota - h->mem_used))
			return VGPUIF_RSP_EDQUOT;
		break;
	case VGPUIF_OP_MEM_FREE:
		if (!tail_zero(a, sizeof(a->mem_free)))
			return VGPUIF_RSP_EINVAL;
		rc = need_obj(h, out->ctx, VGPUBACK_OBJ_MEM, a->mem_free.mem,
			      &out->obj[0]);
		if (rc)
			return rc;
		break;
	case VGPUIF_OP_MEMCPY_H2D:
	case VGPUIF_OP_MEMCPY_D2H:
		if (!tail_zero(a, sizeof(a->memcpy)))
			return VGPUIF_RSP_EINVAL;
		if (a->memcpy.length == 0)
			return VGPUIF_RSP_EINVAL;
		if (a->memcpy.length > VGPUIF_MAX_REQUEST_BYTES)
			return VGPUIF_RSP_E2BIG;
		rc = need_obj(h, out->ctx, VGPUBACK_OBJ_MEM, a->memcpy.mem,
			      &out->obj[0]);
		if (rc)
			return rc;
		if (!vgpuif_range_ok(a->memcpy.offset, a->memcpy.length,
				     out->obj[0]->size))
			return VGPUIF_RSP_ERANGE;
		out->stream_len = a->memcpy.length;
		if (req->op == VGPUIF_OP_MEMCPY_D2H)
			out->write_len = a->memcpy.length;
		break;
	case VGPUIF_OP_MEMCPY_D2D:
		if (!tail_zero(a, sizeof(a->memcpy_d2d)))
			return VGPUIF_RSP_EINVAL;
		if (a->memcpy_d2d.length == 0)
			return VGPUIF_RSP_EINVAL;
		rc = need_obj(h, out->ctx, VGPUBACK_OBJ_MEM,
			      a->memcpy_d2d.dst_mem, &out->obj[0]);
		if (!rc)
			rc = need_obj(h, out->ctx, VGPUBACK_OBJ_MEM,
				      a->memcpy_d2d.src_mem, &out->obj[1]);
		if (rc)
			return rc;
		if (!vgpuif_range_ok(a->memcpy_d2d.dst_offset,
				     a->memcpy_d2d.length, out->obj[0]->size) ||
		    !vgpuif_range_ok(a->memcpy_d2d.src_offset,
				     a->memcpy_d2d.length, out->obj[1]->size))
			return VGPUIF_RSP_ERANGE;
		break;
	case VGPUIF_OP_MEMSET: {
		uint32_t es = a->memset.elem_size;

		if (!tail_zero(a, sizeof(a->memset)))
			return VGPUIF_RSP_EINVAL;
		if (es != 1 && es != 2 && es != 4)
			return VGPUIF_RSP_EINVAL;
		if (a->memset.length == 0 || a->memset.length % es ||
		    a->memset.offset % es)
			return VGPUIF_RSP_EINVAL;
		rc = need_obj(h, out->ctx, VGPUBACK_OBJ_MEM, a->memset.mem,
			      &out->obj[0]);
		if (rc)
			return rc;
		if (!vgpuif_range_ok(a->memset.offset, a->memset.length,
				     out->obj[0]->size))
			return VGPUIF_RSP_ERANGE;
		break;
	}
	case VGPUIF_OP_MODULE_LOAD:
		if (!tail_zero(a, sizeof(a->module_load)))
			return VGPUIF_RSP_EINVAL;
		if (a->module_load.image_len == 0 ||
		    a->module_load.format > VGPUIF_MODULE_FATBIN)
			return VGPUIF_RSP_EINVAL;
		if (a->module_load.image_len > VGPUIF_MAX_MODULE_BYTES ||
		    a->module_load.log_len > VGPUIF_MAX_MODULE_LOG)
			return VGPUIF_RSP_E2BIG;
		out->stream_len = a->module_load.image_len +
				  a->module_load.log_len;
		out->write_off = a->module_load.image_len;
		out->write_len = a->module_load.log_len;
		break;
	case VGPUIF_OP_MODULE_UNLOAD:
		if (!tail_zero(a, sizeof(a->module_unload)))
			return VGPUIF_RSP_EINVAL;
		rc = need_obj(h, out->ctx, VGPUBACK_OBJ_MOD,
			      a->module_unload.module, &out->obj[0]);
		if (rc)
			return rc;
		break;
	case VGPUIF_OP_FUNC_GET:
		if (!tail_zero(a, sizeof(a->func_get)) || a->func_get._pad0)
			return VGPUIF_RSP_EINVAL;
		if (a->func_get.name_len == 0)
			return VGPUIF_RSP_EINVAL;
		if (a->func_get.name_len > VGPUIF_MAX_FUNC_NAME)
			return VGPUIF_RSP_E2BIG;
		rc = need_obj(h, out->ctx, VGPUBACK_OBJ_MOD,
			      a->func_get.module, &out->obj[0]);
		if (rc)
			return rc;
		out->stream_len = a->func_get.name_len;
		break;
	case VGPUIF_OP_LAUNCH: {
		const uint32_t *g = a->launch.grid, *b = a->launch.block;
		uint64_t threads;

		if (!tail_zero(a, sizeof(a->launch)))
			return VGPUIF_RSP_EINVAL;
		if (g[0] == 0 || g[0] > VGPUIF_MAX_GRID_DIM_X ||
		    g[1] == 0 || g[1] > VGPUIF_MAX_GRID_DIM_YZ ||
		    g[2] == 0 || g[2] > VGPUIF_MAX_GRID_DIM_YZ)
			return VGPUIF_RSP_EINVAL;
		/* Each at most the product's bound: no 64-bit wrap below. */
		if (b[0] == 0 || b[1] == 0 || b[2] == 0 ||
		    b[0] > VGPUIF_MAX_BLOCK_THREADS ||
		    b[1] > VGPUIF_MAX_BLOCK_THREADS ||
		    b[2] > VGPUIF_MAX_BLOCK_THREADS)
			return VGPUIF_RSP_EINVAL;
		threads = (uint64_t)b[0] * b[1] * b[2];
		if (threads > VGPUIF_MAX_BLOCK_THREADS)
			return VGPUIF_RSP_EINVAL;
		if (a->launch.param_len > VGPUIF_MAX_PARAM_BYTES)
			return VGPUIF_RSP_E2BIG;
		rc = need_obj(h, out->ctx, VGPUBACK_OBJ_FUNC, a->launch.func,
			      &out->obj[0]);
		if (rc)
			return rc;
		out->stream_len = a->launch.param_len;
		break;
	}
	case VGPUIF_OP_VECTOR_ADD:
		if (!tail_zero(a, sizeof(a->vector_add)) || a->vector_add._pad0)
			return VGPUIF_RSP_EINVAL;
		if (a->vector_add.n == 0)
			return VGPUIF_RSP_EINVAL;
		if (a->vector_add.n > VGPUIF_MAX_VECTOR_ADD_ELEMS)
			return VGPUIF_RSP_E2BIG;
		out->stream_len = 12ull * a->vector_add.n;
		out->write_off = 8ull * a->vector_add.n;
		out->write_len = 4ull * a->vector_add.n;
		break;
	default:
		return VGPUIF_RSP_ENOSYS;
	}

	/* The segments must cover exactly the op's stream. */
	if (stream != out->stream_len)
		return VGPUIF_RSP_EINVAL;
	return 0;
}
