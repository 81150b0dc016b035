/* SPDX-License-Identifier: MIT */
/*
 * parse.h - stage 2 of the data path: validate a private copy of a request.
 *
 * Input is what the get stage copied: the request and its segment
 * descriptors (direct, or read once from the indirect pages). Nothing here
 * reads shared memory, maps a grant or calls the executor, so the whole
 * stage runs in unit tests and under libFuzzer as it is. A request that
 * fails gets its status as the response; the executor never sees it.
 */
#ifndef VGPUBACK_PARSE_H
#define VGPUBACK_PARSE_H

#include <stdbool.h>
#include <stdint.h>

#include "vgpuif.h"
#include "handles.h"

/* What the backend allows this domain (from config and XenStore). */
struct vgpuback_policy {
	uint32_t max_indirect_segments; /* advertised; 0 = no indirect       */
	uint64_t mem_quota;             /* bytes; 0 = none                   */
	/*
	 * Serve protocol revision 1 only (backend option protocol-revision=1,
	 * for compatibility tests): ops from VGPUIF_OP_COUNT_V1 on answer
	 * ENOSYS, VGPUIF_F_INLINE and the stream fields are refused as a
	 * revision-1 backend refuses unknown flags and nonzero padding.
	 * false (zero) = revision 2.
	 */
	bool     revision1;
	/*
	 * Serve revision 2 at most (protocol-revision=2 or 1): HOST_REGISTER
	 * and HOST_UNREGISTER answer ENOSYS, VGPUIF_F_HOST_MEM and the
	 * memcpy host fields are refused as a revision-2 backend refuses
	 * unknown flags and nonzero padding.
	 */
	bool     no_host_mem;
};

struct vgpuback_parsed {
	uint8_t  op;
	struct vgpuback_ctx *ctx;       /* NULL for NOP/GET_INFO/CTX_CREATE  */
	struct vgpuback_obj *obj[2];    /* resolved handles: mem/mod/func/
					 * event; D2D: [0] = dst, [1] = src;
					 * EVENT_ELAPSED: [0] start, [1] end  */
	struct vgpuback_obj *stream;    /* the stream it is ordered on or
					 * names; NULL = the default stream   */
	bool     inline_data;           /* VGPUIF_F_INLINE: the stream is
					 * req.u.inline_data[0, stream_len)   */
	bool     host_mem;              /* VGPUIF_F_HOST_MEM: the host side
					 * is hreg at host_offset            */
	struct vgpuback_hostreg *hreg;  /* F_HOST_MEM copies, HOST_UNREGISTER */
	uint64_t host_offset;
	uint64_t stream_len;            /* bytes the segments must cover     */
	uint64_t write_off, write_len;  /* stream range the backend writes   */
};

/*
 * The header checks the get stage needs before it copies indirect pages:
 * opcode (against the revision served), flags (F_INLINE only in revision
 * 2), nr_segments against the direct, inline or advertised indirect limit.
 * 0 or a VGPUIF_RSP_* status.
 */
int vgpuback_parse_header(const struct vgpuif_request *req,
			  const struct vgpuback_policy *pol);

/*
 * Every check: the header again, each segment (or the inline bytes), the
 * op's arguments and padding, the stream length, the handles (streams and
 * events included) against this domain's table, the limits, the quota.
 * 0 and *out filled, or a VGPUIF_RSP_* status. With VGPUIF_F_INLINE,
 * nr_segs must be 0 (there are no descriptors).
 */
int vgpuback_parse(struct vgpuback_handles *h,
		   const struct vgpuback_policy *pol,
		   const struct vgpuif_request *req,
		   const struct vgpuif_segment *segs, uint32_t nr_segs,
		   struct vgpuback_parsed *out);

/* Does segment i (of segs, in stream order) overlap the written range? */
int vgpuback_segment_written(const struct vgpuback_parsed *p,
			     uint64_t seg_start, uint32_t seg_len);

#endif /* VGPUBACK_PARSE_H */
