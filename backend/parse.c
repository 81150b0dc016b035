/* SPDX-License-Identifier: MIT */
/*
 * parse.c - validation of a copied request. Every field is checked here,
 * once, on the backend's private copy (XSA-155: never read twice from
 * shared memory). docs/protocol.md section 5 lists the same rules with
 * their statuses.
 */
#include <string.h>

#include "parse.h"

int vgpuback_parse_header(const struct vgpuif_request *req,
			  const struct vgpuback_policy *pol)
{
	if (req->op >= (pol->revision1 ? VGPUIF_OP_COUNT_V1 :
			pol->no_host_mem ? VGPUIF_OP_COUNT_V2 : VGPUIF_OP_COUNT))
		return VGPUIF_RSP_ENOSYS;
	/* Revision 1 knows no F_INLINE: an unknown flag, as it says. */
	if (pol->revision1 && (req->flags & VGPUIF_F_INLINE))
		return VGPUIF_RSP_EINVAL;
	/* Revision 2 knows no F_HOST_MEM, likewise. */
	if ((pol->revision1 || pol->no_host_mem) &&
	    (req->flags & VGPUIF_F_HOST_MEM))
		return VGPUIF_RSP_EINVAL;
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

/*
 * The stream an op is ordered on: 0 = the default stream, else a live
 * stream of the request's context. A revision-1 backend had padding there.
 */
static int need_stream(struct vgpuback_handles *h,
		       const struct vgpuback_policy *pol,
		       struct vgpuback_parsed *out, uint64_t handle)
{
	out->stream = NULL;
	if (!handle)
		return 0;
	if (pol->revision1)
		return VGPUIF_RSP_EINVAL;
	return need_obj(h, out->ctx, VGPUBACK_OBJ_STREAM, handle, &out->stream);
}

/* Room for one more object of the type the op creates (EMFILE). */
static int need_room(struct vgpuback_handles *h, struct vgpuback_ctx *ctx,
		     enum vgpuback_obj_type type)
{
	return vgpuback_obj_room(h, ctx, type) ? VGPUIF_RSP_EMFILE : 0;
}

int vgpuback_segment_written(const struct vgpuback_parsed *p,
			     uint64_t seg_start, uint32_t seg_len)
{
	if (!p->write_len)
		return 0;
	return seg_start < p->write_off + p->write_len &&
	       seg_start + seg_len > p->write_off;
}

/*
 * FUNC_SET_ATTR: the CUfunction_attribute values a program may set
 * (cuFuncSetAttribute), and cuFuncSetCacheConfig's, each with the values
 * the driver documents; the device may refuse more (the executor answers).
 */
static int func_attr_ok(uint32_t attr, int32_t value)
{
	switch (attr) {
	case 8:         /* MAX_DYNAMIC_SHARED_SIZE_BYTES              */
	case 11:        /* REQUIRED_CLUSTER_WIDTH                     */
	case 12:        /* REQUIRED_CLUSTER_HEIGHT                    */
	case 13:        /* REQUIRED_CLUSTER_DEPTH                     */
		return value >= 0;
	case 9:         /* PREFERRED_SHARED_MEMORY_CARVEOUT: -1 = default */
		return value >= -1 && value <= 100;
	case 14:        /* NON_PORTABLE_CLUSTER_SIZE_ALLOWED          */
		return value == 0 || value == 1;
	case 15:        /* CLUSTER_SCHEDULING_POLICY_PREFERENCE       */
		return value >= 0 && value <= 2;
	case VGPUIF_FUNC_ATTR_CACHE_CONFIG: /* CUfunc_cache: 0..3       */
		return value >= 0 && value <= 3;
	default:        /* read-only attributes, unknown ones        */
		return 0;
	}
}

/* The revision-2 ops (op >= VGPUIF_OP_COUNT_V1); out->ctx is set. */
static int parse_r2(struct vgpuback_handles *h,
		    const struct vgpuback_policy *pol,
		    const struct vgpuif_request *req,
		    struct vgpuback_parsed *out)
{
	const union vgpuif_args *a = &req->args;
	int rc;

	switch (req->op) {
	case VGPUIF_OP_DEVICE_INFO:
		if (!tail_zero(a, 0))
			return VGPUIF_RSP_EINVAL;
		out->stream_len = sizeof(struct vgpuif_device_info);
		out->write_len = sizeof(struct vgpuif_device_info);
		return 0;
	case VGPUIF_OP_STREAM_CREATE:
		if (!tail_zero(a, sizeof(a->stream_create)))
			return VGPUIF_RSP_EINVAL;
		if (a->stream_create.flags & ~VGPUIF_STREAM_F_ALL)
			return VGPUIF_RSP_EINVAL;
		return need_room(h, out->ctx, VGPUBACK_OBJ_STREAM);
	case VGPUIF_OP_STREAM_DESTROY:
	case VGPUIF_OP_STREAM_SYNC:
	case VGPUIF_OP_STREAM_QUERY:
		if (!tail_zero(a, sizeof(a->stream)) || a->stream.event)
			return VGPUIF_RSP_EINVAL;
		/* the default stream cannot be destroyed */
		if (req->op == VGPUIF_OP_STREAM_DESTROY && !a->stream.stream)
			return VGPUIF_RSP_EINVAL;
		return need_stream(h, pol, out, a->stream.stream);
	case VGPUIF_OP_STREAM_WAIT_EVENT:
		if (!tail_zero(a, sizeof(a->stream)))
			return VGPUIF_RSP_EINVAL;
		rc = need_stream(h, pol, out, a->stream.stream);
		if (rc)
			return rc;
		return need_obj(h, out->ctx, VGPUBACK_OBJ_EVENT, a->stream.event,
				&out->obj[0]);
	case VGPUIF_OP_EVENT_CREATE:
		if (!tail_zero(a, sizeof(a->event_create)) ||
		    a->event_create._pad0)
			return VGPUIF_RSP_EINVAL;
		/* INTERPROCESS (0x4) and anything unknown: refused */
		if (a->event_create.flags & ~VGPUIF_EVENT_F_ALL)
			return VGPUIF_RSP_EINVAL;
		return need_room(h, out->ctx, VGPUBACK_OBJ_EVENT);
	case VGPUIF_OP_EVENT_DESTROY:
	case VGPUIF_OP_EVENT_SYNC:
	case VGPUIF_OP_EVENT_QUERY:
	case VGPUIF_OP_EVENT_RECORD:
		if (!tail_zero(a, sizeof(a->event)) || a->event.end)
			return VGPUIF_RSP_EINVAL;
		if (req->op != VGPUIF_OP_EVENT_RECORD && a->event.stream)
			return VGPUIF_RSP_EINVAL;
		rc = need_obj(h, out->ctx, VGPUBACK_OBJ_EVENT, a->event.event,
			      &out->obj[0]);
		if (rc)
			return rc;
		return need_stream(h, pol, out, a->event.stream);
	case VGPUIF_OP_EVENT_ELAPSED:
		if (!tail_zero(a, sizeof(a->event)) || a->event.stream)
			return VGPUIF_RSP_EINVAL;
		rc = need_obj(h, out->ctx, VGPUBACK_OBJ_EVENT, a->event.event,
			      &out->obj[0]);
		if (!rc)
			rc = need_obj(h, out->ctx, VGPUBACK_OBJ_EVENT,
				      a->event.end, &out->obj[1]);
		if (rc)
			return rc;
		if ((out->obj[0]->uflags | out->obj[1]->uflags) &
		    VGPUIF_EVENT_DISABLE_TIMING)
			return VGPUIF_RSP_EINVAL;
		return 0;
	case VGPUIF_OP_FUNC_INFO:
		if (!tail_zero(a, sizeof(a->func)) || a->func.attr ||
		    a->func.value)
			return VGPUIF_RSP_EINVAL;
		rc = need_obj(h, out->ctx, VGPUBACK_OBJ_FUNC, a->func.func,
			      &out->obj[0]);
		if (rc)
			return rc;
		out->stream_len = sizeof(struct vgpuif_func_info);
		out->write_len = sizeof(struct vgpuif_func_info);
		return 0;
	case VGPUIF_OP_FUNC_SET_ATTR:
		if (!tail_zero(a, sizeof(a->func)))
			return VGPUIF_RSP_EINVAL;
		if (!func_attr_ok(a->func.attr, a->func.value))
			return VGPUIF_RSP_EINVAL;
		return need_obj(h, out->ctx, VGPUBACK_OBJ_FUNC, a->func.func,
				&out->obj[0]);
	case VGPUIF_OP_MODULE_GLOBAL:
		if (!tail_zero(a, sizeof(a->module_global)) ||
		    a->module_global._pad0)
			return VGPUIF_RSP_EINVAL;
		if (a->module_global.name_len == 0)
			return VGPUIF_RSP_EINVAL;
		if (a->module_global.name_len > VGPUIF_MAX_GLOBAL_NAME)
			return VGPUIF_RSP_E2BIG;
		rc = need_obj(h, out->ctx, VGPUBACK_OBJ_MOD,
			      a->module_global.module, &out->obj[0]);
		if (rc)
			return rc;
		/* name read, then {device address, size} written */
		out->stream_len = (uint64_t)a->module_global.name_len + 16;
		out->write_off = a->module_global.name_len;
		out->write_len = 16;
		return 0;
	default:
		return VGPUIF_RSP_ENOSYS;
	}
}

/*
 * The revision-3 ops. HOST_REGISTER: whole pages, each once, in no other
 * region; its segments are mapped by ring.c (not as a data stream).
 */
static int parse_r3(struct vgpuback_handles *h,
		    const struct vgpuif_request *req,
		    const struct vgpuif_segment *segs, uint32_t nr_segs,
		    struct vgpuback_parsed *out)
{
	const union vgpuif_args *a = &req->args;
	uint32_t i;

	switch (req->op) {
	case VGPUIF_OP_HOST_REGISTER:
		if (!tail_zero(a, sizeof(a->host_register)) ||
		    a->host_register._pad0 ||
		    (a->host_register.flags & ~VGPUIF_HOST_F_ALL))
			return VGPUIF_RSP_EINVAL;
		if (out->inline_data || nr_segs == 0)
			return VGPUIF_RSP_EINVAL;
		if (a->host_register.length !=
		    (uint64_t)nr_segs * VGPUIF_PAGE_SIZE)
			return VGPUIF_RSP_EINVAL;
		for (i = 0; i < nr_segs; i++)
			if (segs[i].offset || segs[i].length != VGPUIF_PAGE_SIZE)
				return VGPUIF_RSP_EINVAL;  /* not whole pages */
		out->stream_len = a->host_register.length;
		if (!(a->host_register.flags & VGPUIF_HOST_READ_ONLY))
			out->write_len = a->host_register.length;
		return vgpuback_hostreg_check(h, segs, nr_segs);
	case VGPUIF_OP_HOST_UNREGISTER:
		if (!tail_zero(a, sizeof(a->host_unregister)))
			return VGPUIF_RSP_EINVAL;
		out->hreg = vgpuback_hostreg_lookup(h, a->host_unregister.region);
		return out->hreg ? 0 : VGPUIF_RSP_EBADF;
	default:
		return VGPUIF_RSP_ENOSYS;
	}
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
	out->op = req->op;
	out->inline_data = req->flags & VGPUIF_F_INLINE;
	out->host_mem = req->flags & VGPUIF_F_HOST_MEM;

	if (out->host_mem) {
		/* A registered region instead of segments: u is all zero. */
		static const uint8_t zero[sizeof(req->u)];

		if (req->op != VGPUIF_OP_MEMCPY_H2D &&
		    req->op != VGPUIF_OP_MEMCPY_D2H)
			return VGPUIF_RSP_EINVAL;
		if (nr_segs != 0 || memcmp(&req->u, zero, sizeof(zero)))
			return VGPUIF_RSP_EINVAL;
	} else if (out->inline_data) {
		/* The stream is u.inline_data[0, nr); the rest of u is zero. */
		if (nr_segs != 0)
			return VGPUIF_RSP_EINVAL;
		stream = req->nr_segments;
		for (i = req->nr_segments; i < VGPUIF_MAX_INLINE_BYTES; i++)
			if (req->u.inline_data[i])
				return VGPUIF_RSP_EINVAL;
	} else if (nr_segs != req->nr_segments) {
		return VGPUIF_RSP_EINVAL;
	}

	/* Segments: each inside its own page; the sum is the stream. */
	for (i = 0; i < nr_segs; i++) {
		if (!vgpuif_segment_valid(&segs[i]))
			return VGPUIF_RSP_EFAULT;
		stream += segs[i].length;
	}
	/* Unused direct segment slots must be zero, as unused args. */
	if (out->inline_data || out->host_mem) {
		/* checked above */
	} else if (!(req->flags & VGPUIF_F_INDIRECT)) {
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

	/* Context: none for the four context-free ops, a live one for all. */
	switch (req->op) {
	case VGPUIF_OP_NOP:
	case VGPUIF_OP_GET_INFO:
	case VGPUIF_OP_CTX_CREATE:
	case VGPUIF_OP_DEVICE_INFO:
	case VGPUIF_OP_HOST_REGISTER:
	case VGPUIF_OP_HOST_UNREGISTER:
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
		/* (in-flight launches' holds count; a module's: ring.c) */
		if (pol->mem_quota &&
		    (h->mem_used + h->mem_held > pol->mem_quota ||
		     a->mem_alloc.size > pol->mem_quota - h->mem_used - h->mem_held))
			return VGPUIF_RSP_EDQUOT;
		break;
	case VGPUIF_OP_MEM_FREE:
		if (!tail_zero(a, sizeof(a->mem_free)))
			return VGPUIF_RSP_EINVAL;
		rc = need_obj(h, out->ctx, VGPUBACK_OBJ_MEM, a->mem_free.mem,
			      &out->obj[0]);
		if (rc)
			return rc;
		/* a module's global lives as long as its module */
		if (out->obj[0]->oflags & VGPUBACK_OBJF_MODULE_OWNED)
			return VGPUIF_RSP_EINVAL;
		break;
	case VGPUIF_OP_MEMCPY_H2D:
	case VGPUIF_OP_MEMCPY_D2H:
		if (!tail_zero(a, sizeof(a->memcpy)))
			return VGPUIF_RSP_EINVAL;
		/* the region fields: only with F_HOST_MEM (else padding) */
		if (!out->host_mem &&
		    (a->memcpy.host_region || a->memcpy.host_offset))
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
		rc = need_stream(h, pol, out, a->memcpy.stream);
		if (rc)
			return rc;
		out->stream_len = a->memcpy.length;
		if (req->op == VGPUIF_OP_MEMCPY_D2H)
			out->write_len = a->memcpy.length;
		if (out->host_mem) {
			out->hreg = vgpuback_hostreg_lookup(h, a->memcpy.host_region);
			if (!out->hreg)
				return VGPUIF_RSP_EBADF;
			if (!vgpuif_range_ok(a->memcpy.host_offset, a->memcpy.length,
					     (uint64_t)out->hreg->npages *
					     VGPUIF_PAGE_SIZE))
				return VGPUIF_RSP_ERANGE;
			/* a read-only registration is never written */
			if (out->write_len && out->hreg->read_only)
				return VGPUIF_RSP_EPERM;
			out->host_offset = a->memcpy.host_offset;
			stream = out->stream_len;      /* the region covers it */
		}
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
		rc = need_stream(h, pol, out, a->memcpy_d2d.stream);
		if (rc)
			return rc;
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
		rc = need_stream(h, pol, out, a->memset.stream);
		if (rc)
			return rc;
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
		rc = need_stream(h, pol, out, a->launch.stream);
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
	case VGPUIF_OP_HOST_REGISTER:
	case VGPUIF_OP_HOST_UNREGISTER:
		rc = parse_r3(h, req, segs, nr_segs, out);
		if (rc)
			return rc;
		break;
	default:
		rc = parse_r2(h, pol, req, out);
		if (rc)
			return rc;
		break;
	}

	/* The segments (or the inline bytes) must cover exactly the stream. */
	if (stream != out->stream_len)
		return VGPUIF_RSP_EINVAL;
	/* Inline bytes are read-only: a written range needs a granted page. */
	if (out->inline_data && out->write_len)
		return VGPUIF_RSP_EINVAL;
	return 0;
}
