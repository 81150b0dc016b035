/* SPDX-License-Identifier: MIT */
/*
 * ops.c - convenience wrappers over loopfront_call/submit: one function per
 * operation of ring/vgpuif.h, with the stream layout each op defines.
 */
#include <errno.h>
#include <string.h>

#include "lf-internal.h"

/* Call, and return the status (or the local -errno). */
static int call(struct loopfront *lf, uint8_t op, uint32_t ctx,
		const union vgpuif_args *args,
		const struct loopfront_region *regs, unsigned int nregs,
		struct vgpuif_response *out)
{
	struct vgpuif_response rsp;
	int r = loopfront_call(lf, op, ctx, args, regs, nregs, &rsp);

	if (r)
		return r;
	if (out)
		*out = rsp;
	return rsp.status;
}

int loopfront_nop(struct loopfront *lf)
{
	return call(lf, VGPUIF_OP_NOP, 0, NULL, NULL, 0, NULL);
}

int loopfront_get_info(struct loopfront *lf, struct vgpuif_info *info)
{
	struct loopfront_buf *b = lf_scratch(lf);
	struct loopfront_region reg;
	int r;

	if (!b)
		return -ENOMEM;
	reg = (struct loopfront_region){ b, 0, sizeof(*info), true };
	memset(loopfront_buf_ptr(b), 0, sizeof(*info));
	r = call(lf, VGPUIF_OP_GET_INFO, 0, NULL, &reg, 1, NULL);
	if (r == 0)
		memcpy(info, loopfront_buf_ptr(b), sizeof(*info));
	return r;
}

int loopfront_ctx_create(struct loopfront *lf, uint32_t *ctx)
{
	struct vgpuif_response rsp;
	int r = call(lf, VGPUIF_OP_CTX_CREATE, 0, NULL, NULL, 0, &rsp);

	if (r == 0) {
		if (rsp.result[0] == 0 || rsp.result[0] > UINT32_MAX) {
			lf_set_error(lf, "CTX_CREATE returned an impossible "
				     "handle");
			return -EIO;
		}
		*ctx = (uint32_t)rsp.result[0];
	}
	return r;
}

int loopfront_ctx_destroy(struct loopfront *lf, uint32_t ctx)
{
	return call(lf, VGPUIF_OP_CTX_DESTROY, ctx, NULL, NULL, 0, NULL);
}

int loopfront_mem_alloc(struct loopfront *lf, uint32_t ctx, uint64_t size,
			uint64_t *mem, uint64_t *dev_addr)
{
	union vgpuif_args a;
	struct vgpuif_response rsp;
	int r;

	memset(&a, 0, sizeof(a));
	a.mem_alloc.size = size;
	r = call(lf, VGPUIF_OP_MEM_ALLOC, ctx, &a, NULL, 0, &rsp);
	if (r == 0) {
		if (mem)
			*mem = rsp.result[0];
		if (dev_addr)
			*dev_addr = rsp.result[1];
	}
	return r;
}

int loopfront_mem_free(struct loopfront *lf, uint32_t ctx, uint64_t mem)
{
	union vgpuif_args a;

	memset(&a, 0, sizeof(a));
	a.mem_free.mem = mem;
	return call(lf, VGPUIF_OP_MEM_FREE, ctx, &a, NULL, 0, NULL);
}

/* Most bytes one request can carry starting at buffer offset off. */
static size_t chunk_max(struct loopfront *lf, size_t off)
{
	uint32_t segs = loopfront_max_indirect(lf);

	if (segs < VGPUIF_MAX_DIRECT_SEGMENTS)
		segs = VGPUIF_MAX_DIRECT_SEGMENTS;
	return (size_t)segs * VGPUIF_PAGE_SIZE - (off % VGPUIF_PAGE_SIZE);
}

static int memcpy_split(struct loopfront *lf, uint8_t op, uint32_t ctx,
			uint64_t mem, uint64_t mem_off,
			struct loopfront_buf *buf, size_t buf_off, size_t len)
{
	bool pipelined = loopfront_inflight(lf) == 0;
	int first = 0;
	size_t done = 0;

	if (!buf || len == 0 || buf_off > loopfront_buf_size(buf) ||
	    len > loopfront_buf_size(buf) - buf_off)
		return -EINVAL;
	while (done < len || (pipelined && loopfront_inflight(lf))) {
		struct vgpuif_response rsp;
		struct loopfront_region reg;
		union vgpuif_args a;
		size_t n;
		int r = -EAGAIN;

		if (done < len) {
			n = chunk_max(lf, buf_off + done);
			if (n > len - done)
				n = len - done;
			memset(&a, 0, sizeof(a));
			a.memcpy.mem = mem;
			a.memcpy.offset = mem_off + done;
			a.memcpy.length = n;
			reg = (struct loopfront_region){
				buf, buf_off + done, n,
				op == VGPUIF_OP_MEMCPY_D2H };
			if (!pipelined) {
				r = call(lf, op, ctx, &a, &reg, 1, NULL);
				if (r)
					return r;
				done += n;
				continue;
			}
			r = loopfront_submit(lf, op, ctx, &a, &reg, 1, NULL);
			if (r == 0) {
				done += n;
				continue;
			}
			if (r != -EAGAIN)
				return first ? first : r;
		}
		/* Ring full or all submitted: collect one. */
		r = loopfront_poll(lf, &rsp, -1);
		if (r < 0)
			return r;
		if (r == 0)
			return -ETIMEDOUT;
		if (rsp.status && !first) {
			first = rsp.status;
			lf_set_error(lf, "%s: %s (%d)", vgpuif_op_name(op),
				     vgpuif_status_str(rsp.status), rsp.status);
		}
	}
	return first;
}

int loopfront_memcpy_h2d(struct loopfront *lf, uint32_t ctx, uint64_t mem,
			 uint64_t mem_off, struct loopfront_buf *buf,
			 size_t buf_off, size_t len)
{
	return memcpy_split(lf, VGPUIF_OP_MEMCPY_H2D, ctx, mem, mem_off, buf,
			    buf_off, len);
}

int loopfront_memcpy_d2h(struct loopfront *lf, uint32_t ctx, uint64_t mem,
			 uint64_t mem_off, struct loopfront_buf *buf,
			 size_t buf_off, size_t len)
{
	return memcpy_split(lf, VGPUIF_OP_MEMCPY_D2H, ctx, mem, mem_off, buf,
			    buf_off, len);
}

int loopfront_memset(struct loopfront *lf, uint32_t ctx, uint64_t mem,
		     uint64_t off, uint64_t len, uint32_t value,
		     uint32_t elem_size)
{
	union vgpuif_args a;

	memset(&a, 0, sizeof(a));
	a.memset.mem = mem;
	a.memset.offset = off;
	a.memset.length = len;
	a.memset.value = value;
	a.memset.elem_size = elem_size;
	return call(lf, VGPUIF_OP_MEMSET, ctx, &a, NULL, 0, NULL);
}

int loopfront_vector_add(struct loopfront *lf, uint32_t ctx, uint32_t n,
			 struct loopfront_buf *buf, size_t off)
{
	struct loopfront_region reg[3];
	union vgpuif_args a;
	size_t v = (size_t)n * sizeof(float);

	if (!buf || n == 0 || off > loopfront_buf_size(buf) ||
	    3 * v > loopfront_buf_size(buf) - off)
		return -EINVAL;
	memset(&a, 0, sizeof(a));
	a.vector_add.n = n;
	reg[0] = (struct loopfront_region){ buf, off, v, false };
	reg[1] = (struct loopfront_region){ buf, off + v, v, false };
	reg[2] = (struct loopfront_region){ buf, off + 2 * v, v, true };
	return call(lf, VGPUIF_OP_VECTOR_ADD, ctx, &a, reg, 3, NULL);
}

int loopfront_sync(struct loopfront *lf, uint32_t ctx)
{
	return call(lf, VGPUIF_OP_SYNC, ctx, NULL, NULL, 0, NULL);
}
