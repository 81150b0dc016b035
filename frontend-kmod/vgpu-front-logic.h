/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * vgpu-front-logic.h - the pure parts of vgpu-front.ko: segment layout,
 * request splitting, request-id bookkeeping and response checks.
 *
 * No kernel API in here, only ring/vgpuif.h types and arithmetic, so that the
 * same code is compiled into the module and into a userspace Check suite
 * (tests/guest/test_front_logic.c), as Xen's tools/tests/vpci does with
 * vpci.c. Errors are negative errno values (the VGPUIF_RSP_* numbers).
 */
#ifndef VGPU_FRONT_LOGIC_H
#define VGPU_FRONT_LOGIC_H

#include "vgpuif.h"
#include "uapi/vgpu_stub.h"

/* Largest ring the frontend maps: 2^VGPUIF_MAX_RING_PAGE_ORDER pages. */
#define VGPUFRONT_MAX_SLOTS VGPUIF_RING_SIZE(VGPUIF_MAX_RING_PAGE_ORDER)

/*
 * The i-th segment of a buffer that starts at address addr (any alignment)
 * and is len bytes long: one segment per page it touches.
 */
static inline void vgpufront_page_seg(uint64_t addr, uint64_t len, uint32_t i,
				      uint16_t *off, uint16_t *length)
{
	uint64_t first = VGPUIF_PAGE_SIZE - (addr & (VGPUIF_PAGE_SIZE - 1));
	uint64_t start, rest;

	if (i == 0) {
		*off = (uint16_t)(addr & (VGPUIF_PAGE_SIZE - 1));
		*length = (uint16_t)(len < first ? len : first);
		return;
	}
	start = first + (uint64_t)(i - 1) * VGPUIF_PAGE_SIZE;
	rest = len - start;
	*off = 0;
	*length = (uint16_t)(rest < VGPUIF_PAGE_SIZE ? rest : VGPUIF_PAGE_SIZE);
}

/*
 * Bytes of a transfer that one request can carry, starting at addr with
 * remaining bytes left, when a request may hold at most max_segs segments.
 * At least one byte whenever remaining and max_segs are not zero.
 */
static inline uint64_t vgpufront_chunk_len(uint64_t addr, uint64_t remaining,
					   uint32_t max_segs)
{
	uint64_t room = (uint64_t)max_segs * VGPUIF_PAGE_SIZE -
			(addr & (VGPUIF_PAGE_SIZE - 1));

	if (max_segs == 0)
		return 0;
	if (room > VGPUIF_MAX_REQUEST_BYTES)
		room = VGPUIF_MAX_REQUEST_BYTES;
	return remaining < room ? remaining : room;
}

/*
 * Segments one request may carry: 8 direct, or as many indirect ones as the
 * backend advertises (feature-max-indirect-segments), capped by the
 * protocol's limit and by the frontend's own cap (module parameter).
 */
static inline uint32_t vgpufront_max_segs(uint32_t backend_max_indirect,
					  uint32_t frontend_cap)
{
	uint32_t n = backend_max_indirect;

	if (n > VGPUIF_MAX_INDIRECT_SEGMENTS)
		n = VGPUIF_MAX_INDIRECT_SEGMENTS;
	if (frontend_cap && n > frontend_cap)
		n = frontend_cap;
	return n > VGPUIF_MAX_DIRECT_SEGMENTS ? n : VGPUIF_MAX_DIRECT_SEGMENTS;
}

/*
 * How nr segments go on the wire: *nr_indirect = 0 when they fit in the
 * request (direct), else the indirect pages they need. -E2BIG when the
 * backend does not take that many.
 */
static inline int vgpufront_seg_layout(uint32_t nr, uint32_t backend_max_indirect,
				       uint32_t *nr_indirect)
{
	*nr_indirect = 0;
	if (nr <= VGPUIF_MAX_DIRECT_SEGMENTS)
		return 0;
	if (vgpuif_check_nr_segments(VGPUIF_F_INDIRECT, nr, backend_max_indirect))
		return VGPUIF_RSP_E2BIG;
	*nr_indirect = vgpuif_indirect_pages(nr);
	return 0;
}

/*
 * Request-id bookkeeping. Each outstanding request owns a slot; its id is
 * (seq << 16) | slot with seq bumped on every allocation, so that a response
 * naming a slot that was since reused (or never used) does not match.
 * Not thread-safe: the module holds its ring lock around every call.
 */
struct vgpufront_slots {
	uint32_t size;                          /* usable slots, <= MAX  */
	uint32_t nr_free;
	uint32_t free_head;                     /* size = none free      */
	uint32_t seq;
	uint16_t next_free[VGPUFRONT_MAX_SLOTS];
	uint64_t id[VGPUFRONT_MAX_SLOTS];       /* 0 = slot free         */
};

static inline void vgpufront_slots_init(struct vgpufront_slots *s, uint32_t size)
{
	uint32_t i;

	if (size > VGPUFRONT_MAX_SLOTS)
		size = VGPUFRONT_MAX_SLOTS;
	s->size = size;
	s->nr_free = size;
	s->free_head = 0;
	if (s->seq == 0)
		s->seq = 1;
	for (i = 0; i < VGPUFRONT_MAX_SLOTS; i++) {
		s->next_free[i] = (uint16_t)(i + 1 < size ? i + 1 : size);
		s->id[i] = 0;
	}
}

/* A free slot and its new id; 0 when none is free (ids are never 0). */
static inline uint64_t vgpufront_slots_get(struct vgpufront_slots *s,
					   uint32_t *slot)
{
	uint32_t i = s->free_head;
	uint64_t id;

	if (s->nr_free == 0 || i >= VGPUFRONT_MAX_SLOTS || i >= s->size)
		return 0;
	s->free_head = s->next_free[i];
	s->nr_free--;
	if (++s->seq == 0 || s->seq >= (1u << 31))
		s->seq = 1;
	id = ((uint64_t)s->seq << 16) | i;
	s->id[i] = id;
	*slot = i;
	return id;
}

/*
 * Which slot does a response's id name? -EINVAL when it names no
 * outstanding request (a lying or confused backend).
 */
static inline int vgpufront_slots_lookup(const struct vgpufront_slots *s,
					 uint64_t id, uint32_t *slot)
{
	uint32_t i = (uint32_t)(id & 0xffffu);

	if (id == 0 || i >= VGPUFRONT_MAX_SLOTS || i >= s->size || s->id[i] != id)
		return VGPUIF_RSP_EINVAL;
	*slot = i;
	return 0;
}

static inline void vgpufront_slots_put(struct vgpufront_slots *s, uint32_t slot)
{
	if (slot >= VGPUFRONT_MAX_SLOTS || slot >= s->size || s->id[slot] == 0)
		return;
	s->id[slot] = 0;
	s->next_free[slot] = (uint16_t)s->free_head;
	s->free_head = slot;
	s->nr_free++;
}

/*
 * Is the backend's response producer index believable? It may not be ahead
 * of the requests we produced (the ring's RING_RESPONSE_PROD_OVERFLOW test is
 * weaker: it only bounds it by the ring size).
 */
static inline int vgpufront_rsp_prod_ok(uint32_t rsp_prod, uint32_t rsp_cons,
					uint32_t req_prod_pvt)
{
	return (uint32_t)(rsp_prod - rsp_cons) <= (uint32_t)(req_prod_pvt - rsp_cons);
}

/*
 * Which context an op names: NOP, GET_INFO and DEVICE_INFO none (0),
 * every other op (an unknown one too: the backend answers it) the caller's. CTX_CREATE
 * and CTX_DESTROY belong to the frontend, never to its caller: -EPERM.
 */
static inline int vgpufront_op_ctx(uint32_t op, uint32_t caller_ctx,
				   uint32_t *ctx)
{
	if (op > 255)
		return VGPUIF_RSP_EINVAL;
	if (op == VGPUIF_OP_CTX_CREATE || op == VGPUIF_OP_CTX_DESTROY)
		return VGPUIF_RSP_EPERM;
	/*
	 * Registered host memory (revision 3) keeps its grants past the call:
	 * the transport's own business (libvgpu's loopback transport), never a
	 * CALL's, whose grants end with its answer. The module has no ioctl
	 * for it (not done): vgpu_host_register() answers EOPNOTSUPP there.
	 */
	if (op == VGPUIF_OP_HOST_REGISTER || op == VGPUIF_OP_HOST_UNREGISTER)
		return VGPUIF_RSP_EPERM;
	*ctx = op == VGPUIF_OP_NOP || op == VGPUIF_OP_GET_INFO ||
	       op == VGPUIF_OP_DEVICE_INFO ? 0 : caller_ctx;
	return 0;
}

/*
 * Does the answer of op also carry the first error of the context's
 * asynchronous requests since the last such op? (CUDA reports
 * asynchronous errors at the next synchronisation.)
 */
static inline int vgpufront_op_reports_async(uint32_t op)
{
	return op == VGPUIF_OP_SYNC || op == VGPUIF_OP_STREAM_SYNC ||
	       op == VGPUIF_OP_EVENT_SYNC;
}

/* Region flags, as the ioctl ABI's VGPU_STUB_REGION_* and libvgpu's. */
#define VGPUFRONT_REGION_WRITE 0x1u /* the backend writes it            */
#define VGPUFRONT_REGION_COPY  0x2u /* read-only, copied at the call    */
VGPUIF_STATIC_ASSERT(VGPUFRONT_REGION_WRITE == VGPU_STUB_REGION_WRITE &&
		     VGPUFRONT_REGION_COPY == VGPU_STUB_REGION_COPY, "region flags");

/*
 * May a data stream of nr regions of these lengths and flags travel
 * inline, given the
 * backend's inline limit (0: no feature-inline)? Only when every region is
 * copied and read-only and all fit.
 */
static inline int vgpufront_can_inline(const uint64_t *len, const uint32_t *flags,
				       uint32_t nr, uint32_t inline_bytes)
{
	uint64_t total = 0;
	uint32_t i;

	if (nr == 0 || inline_bytes == 0)
		return 0;
	for (i = 0; i < nr; i++) {
		if ((flags[i] & (VGPUFRONT_REGION_WRITE | VGPUFRONT_REGION_COPY)) !=
		    VGPUFRONT_REGION_COPY)
			return 0;
		total += len[i];
	}
	return total <= inline_bytes && total <= VGPUIF_MAX_INLINE_BYTES;
}

/*
 * Checks a CALL (uapi/vgpu_stub.h) on its own, before anything is pinned:
 * 0 and *nr_segs (the segments its regions need: one kernel page per
 * copied region, a segment per page touched otherwise), or -EINVAL (a bad
 * flag, padding or count, an empty region, a region both copied and
 * written), -EPERM (CTX_CREATE, CTX_DESTROY: the module's own),
 * -E2BIG (a copied region above a page, or more segments than any request
 * carries), -EFAULT (a region wrapping the address space).
 */
static inline int vgpufront_call_check(const struct vgpu_stub_call *c,
				       uint32_t *nr_segs)
{
	uint64_t segs = 0;
	uint32_t i, ctx;
	int ret;

	if (c->flags & ~VGPU_STUB_CALL_F_ALL || c->nr_regions > VGPU_STUB_MAX_REGIONS ||
	    c->reserved[0] || c->reserved[1])
		return VGPUIF_RSP_EINVAL;
	ret = vgpufront_op_ctx(c->op, 1, &ctx);
	if (ret)
		return ret;
	for (i = 0; i < c->nr_regions; i++) {
		const struct vgpu_stub_region *g = &c->regions[i];

		if (g->len == 0 || g->_pad0 || g->flags & ~VGPU_STUB_REGION_F_ALL)
			return VGPUIF_RSP_EINVAL;
		if ((g->flags & VGPU_STUB_REGION_COPY) && (g->flags & VGPU_STUB_REGION_WRITE))
			return VGPUIF_RSP_EINVAL;
		if (g->addr + g->len < g->addr)
			return VGPUIF_RSP_EFAULT;
		if (g->flags & VGPU_STUB_REGION_COPY) {
			if (g->len > VGPUIF_PAGE_SIZE)
				return VGPUIF_RSP_E2BIG;
			segs++;
		} else {
			segs += vgpuif_pages_spanned(g->addr, g->len);
		}
	}
	if (segs > VGPUIF_MAX_INDIRECT_SEGMENTS)
		return VGPUIF_RSP_E2BIG;
	*nr_segs = (uint32_t)segs;
	return 0;
}

/* May a checked CALL's regions travel inline (vgpufront_can_inline)? */
static inline int vgpufront_call_inline(const struct vgpu_stub_call *c,
					uint32_t inline_bytes)
{
	uint64_t len[VGPU_STUB_MAX_REGIONS];
	uint32_t flags[VGPU_STUB_MAX_REGIONS], i;

	for (i = 0; i < c->nr_regions && i < VGPU_STUB_MAX_REGIONS; i++) {
		len[i] = c->regions[i].len;
		flags[i] = c->regions[i].flags;
	}
	return vgpufront_can_inline(len, flags, i, inline_bytes);
}

/* A response status as a kernel return value: 0 or -errno (else -EIO). */
static inline int vgpufront_rsp_status(int32_t status)
{
	if (status > 0 || status < -4095)
		return VGPUIF_RSP_EIO;
	return status;
}

#endif /* VGPU_FRONT_LOGIC_H */
