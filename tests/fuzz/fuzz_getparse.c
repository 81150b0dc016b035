/* SPDX-License-Identifier: MIT */
/*
 * fuzz_getparse.c - libFuzzer target for the backend's get and parse
 * stages (ring.c vgpuback_get_parse, parse.c), indirect descriptors
 * included, and for the strict XenStore number parser.
 *
 * Input: byte 0 = control bits, bytes 1..128 = the request as the guest
 * wrote it, then up to 17 pages that the fake guest grants as refs
 * 8, 9, ... (indirect descriptor pages). Control bits steer the input
 * towards the interesting paths a 64-bit guess would never reach:
 *   0x01  point indirect_gref[i] at the granted pages
 *   0x02  use a live context handle
 *   0x04  use a live memory handle for the op's first handle field
 *   0x08  persistent grants on (indirect pages through the cache)
 *   0x10  also feed the request bytes to vgpuback_parse_u64
 *   0x20  grant the pages read-only
 *   0x40  a live function handle for the first handle field (with 0x04
 *         too: a live module handle)
 *   0x80  live stream and event handles where the op names them
 *         (revision 2: stream/event fields, the stream of ordered ops)
 * Invariants checked on success: every segment lies in its page, the
 * segments cover exactly the op's stream (with F_INLINE: the inline bytes
 * do, at most 64, nothing written, the rest of u zero), handles resolved
 * belong to the request's context.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "log.h"
#include "../backend/fake.h"

static struct fake_transport *T;
static struct vgpuback_config CFG;
static struct vgpuback_device DEV;
static uint32_t CTX;
static uint64_t MEM, FUNC, MOD, STREAM, EVENT, HREG;
static struct vgpuif_segment *SEGS;

static void init(void)
{
	struct vgpuback_ctx *c;
	struct vgpuback_obj *o;

	setenv("VGPU_ARB", "off", 1);
	vgpuback_log_init(1, 0, VGPUBACK_LOG_ERROR - 1, NULL, 0);
	T = fake_transport_new();
	vgpuback_config_defaults(&CFG);
	CFG.domid = 1;
	CFG.max_contexts = 4;
	CFG.max_handles_per_ctx = 16;
	CFG.mem_quota = 1 << 20;
	if (!T || vgpuback_dev_init(&DEV, &CFG, &T->t, NULL))
		abort();
	if (vgpuback_gcache_init(&DEV.gcache, &T->t, 1, 16))
		abort();
	if (vgpuback_ctx_alloc(&DEV.handles, &c))
		abort();
	CTX = c->handle;
	if (vgpuback_obj_reserve(&DEV.handles, c, VGPUBACK_OBJ_MEM, &o, &MEM))
		abort();
	o->size = 65536;
	DEV.handles.mem_used += o->size;
	vgpuback_obj_commit(o, (void *)1);
	/* A module and one of its functions, for LAUNCH (ctl 0x40). */
	{
		struct vgpuback_obj *m, *f;
		uint64_t mh;

		if (vgpuback_obj_reserve(&DEV.handles, c, VGPUBACK_OBJ_MOD, &m, &mh) ||
		    vgpuback_obj_reserve(&DEV.handles, c, VGPUBACK_OBJ_FUNC, &f, &FUNC))
			abort();
		vgpuback_obj_commit(m, (void *)1);
		f->parent_slot = m->slot;
		f->parent_gen = m->gen;
		vgpuback_obj_commit(f, (void *)1);
		MOD = mh;
	}
	/* A registered host region (revision 3): named by F_HOST_MEM copies. */
	{
		struct vgpuif_segment sg[4];
		struct vgpuback_hostreg *hr;

		for (int k = 0; k < 4; k++)
			sg[k] = (struct vgpuif_segment){ 400u + (uint32_t)k, 0, 4096 };
		if (vgpuback_hostreg_reserve(&DEV.handles, sg, 4, &hr, &HREG))
			abort();
		hr->live = true;
	}
	/* A stream and an event (ctl 0x80). */
	if (vgpuback_obj_reserve(&DEV.handles, c, VGPUBACK_OBJ_STREAM, &o, &STREAM))
		abort();
	vgpuback_obj_commit(o, (void *)1);
	if (vgpuback_obj_reserve(&DEV.handles, c, VGPUBACK_OBJ_EVENT, &o, &EVENT))
		abort();
	vgpuback_obj_commit(o, (void *)1);
	SEGS = malloc(VGPUIF_MAX_INDIRECT_PAGES * VGPUIF_PAGE_SIZE);
}

/* Live stream/event handles in the fields the op has for them. */
static void place_r2_handles(struct vgpuif_request *req)
{
	union vgpuif_args *a = &req->args;

	switch (req->op) {
	case VGPUIF_OP_MEMCPY_H2D:
	case VGPUIF_OP_MEMCPY_D2H:
		a->memcpy.stream = STREAM;
		break;
	case VGPUIF_OP_MEMCPY_D2D:
		a->memcpy_d2d.stream = STREAM;
		break;
	case VGPUIF_OP_MEMSET:
		a->memset.stream = STREAM;
		break;
	case VGPUIF_OP_LAUNCH:
		a->launch.stream = STREAM;
		break;
	case VGPUIF_OP_STREAM_DESTROY:
	case VGPUIF_OP_STREAM_SYNC:
	case VGPUIF_OP_STREAM_QUERY:
		a->stream.stream = STREAM;
		break;
	case VGPUIF_OP_STREAM_WAIT_EVENT:
		a->stream.stream = STREAM;
		a->stream.event = EVENT;
		break;
	case VGPUIF_OP_EVENT_RECORD:
		a->event.stream = STREAM;
		/* fall through */
	case VGPUIF_OP_EVENT_DESTROY:
	case VGPUIF_OP_EVENT_SYNC:
	case VGPUIF_OP_EVENT_QUERY:
		a->event.event = EVENT;
		break;
	case VGPUIF_OP_EVENT_ELAPSED:
		a->event.event = EVENT;
		a->event.end = EVENT;
		break;
	default:
		break;
	}
}

static void check_u64(const uint8_t *d, size_t n)
{
	char buf[64];
	uint64_t v;

	if (n >= sizeof(buf))
		n = sizeof(buf) - 1;
	memcpy(buf, d, n);
	buf[n] = '\0';
	if (vgpuback_parse_u64(buf, UINT64_MAX, &v) == 0) {
		/* Only digits, no leading zero, and it round-trips. */
		char back[32];

		snprintf(back, sizeof(back), "%llu", (unsigned long long)v);
		if (strcmp(back, buf))
			__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vgpuif_request req;
	struct vgpuback_parsed p;
	uint32_t npages, i;
	uint64_t sum = 0;
	uint8_t ctl;
	int rc;

	if (!T)
		init();
	if (size < 1 + sizeof(req))
		return 0;
	ctl = data[0];
	memcpy(&req, data + 1, sizeof(req));
	data += 1 + sizeof(req);
	size -= 1 + sizeof(req);

	npages = (uint32_t)(size / VGPUIF_PAGE_SIZE);
	if (npages > VGPUIF_MAX_INDIRECT_PAGES + 1)
		npages = VGPUIF_MAX_INDIRECT_PAGES + 1;
	for (i = 0; i < FAKE_PAGES; i++)
		T->granted[i] = 0;
	for (i = 0; i < npages; i++) {
		memcpy(fake_page(T, FAKE_FIRST + i), data + (size_t)i * VGPUIF_PAGE_SIZE,
		       VGPUIF_PAGE_SIZE);
		fake_grant(T, FAKE_FIRST + i, (ctl & 0x20) != 0);
		if ((ctl & 0x01) && i < VGPUIF_MAX_INDIRECT_PAGES)
			req.u.indirect_gref[i] = FAKE_FIRST + i;
	}
	if (ctl & 0x02)
		req.ctx = CTX;
	if (ctl & 0x04)
		memcpy(req.args.raw, &MEM, sizeof(MEM));
	if (ctl & 0x40)
		memcpy(req.args.raw, (ctl & 0x04) ? &MOD : &FUNC, sizeof(FUNC));
	if (ctl & 0x80)
		place_r2_handles(&req);
	/* a copy naming the registered region; or unregistering it */
	if ((req.flags & VGPUIF_F_HOST_MEM) && (ctl & 0x04))
		memcpy(req.args.raw + 32, &HREG, sizeof(HREG));
	if (req.op == VGPUIF_OP_HOST_UNREGISTER && (ctl & 0x04))
		memcpy(req.args.raw, &HREG, sizeof(HREG));
	DEV.ring.persistent = (ctl & 0x08) != 0;
	if (ctl & 0x10)
		check_u64((const uint8_t *)&req, sizeof(req));

	rc = vgpuback_get_parse(&DEV, &req, SEGS, &p);
	if (getenv("VGPU_FUZZ_SHOW")) /* to see what a seed reaches */
		fprintf(stderr, "op %u: %d (%s)\n", req.op, rc, vgpuif_status_str(rc));
	if (rc > 0)
		__builtin_trap();
	if (rc == 0 && (req.flags & VGPUIF_F_INLINE)) {
		/* inline: the bytes are the stream, read only, rest of u 0 */
		if (!p.inline_data || req.flags & VGPUIF_F_INDIRECT ||
		    req.nr_segments == 0 ||
		    req.nr_segments > VGPUIF_MAX_INLINE_BYTES ||
		    p.stream_len != req.nr_segments || p.write_len)
			__builtin_trap();
		for (i = req.nr_segments; i < VGPUIF_MAX_INLINE_BYTES; i++)
			if (req.u.inline_data[i])
				__builtin_trap();
	} else if (rc == 0 && p.host_mem) {
		/* a registered region: no segments, inside the region */
		if (req.nr_segments || !p.hreg || !p.hreg->live || p.hreg->dying ||
		    !vgpuif_range_ok(p.host_offset, p.stream_len,
				     (uint64_t)p.hreg->npages * VGPUIF_PAGE_SIZE) ||
		    (p.write_len && p.hreg->read_only))
			__builtin_trap();
	} else if (rc == 0) {
		if (p.inline_data)
			__builtin_trap();
		if (req.nr_segments > ((req.flags & VGPUIF_F_INDIRECT) ?
				       VGPUIF_MAX_INDIRECT_SEGMENTS :
				       VGPUIF_MAX_DIRECT_SEGMENTS))
			__builtin_trap();
		for (i = 0; i < req.nr_segments; i++) {
			if (!vgpuif_segment_valid(&SEGS[i]))
				__builtin_trap();
			sum += SEGS[i].length;
		}
		if (sum != p.stream_len)
			__builtin_trap();
		if (p.ctx && p.ctx->handle != req.ctx)
			__builtin_trap();
		if (p.stream && (p.stream->type != VGPUBACK_OBJ_STREAM ||
				 p.stream->state != VGPUBACK_SLOT_LIVE))
			__builtin_trap();
		if (req.op >= VGPUIF_OP_COUNT)
			__builtin_trap();
		if (p.write_len && p.write_off + p.write_len > p.stream_len)
			__builtin_trap();
		/* What reaches the executor is within the protocol's limits. */
		if (req.op == VGPUIF_OP_LAUNCH) {
			const uint32_t *b = req.args.launch.block;

			if (b[0] > VGPUIF_MAX_BLOCK_THREADS ||
			    b[1] > VGPUIF_MAX_BLOCK_THREADS ||
			    b[2] > VGPUIF_MAX_BLOCK_THREADS ||
			    (uint64_t)b[0] * b[1] * b[2] > VGPUIF_MAX_BLOCK_THREADS)
				__builtin_trap();
		}
	}
	/* Nothing stays mapped but the persistent cache (bounded). */
	if (fake_live_maps(T) > (int)DEV.gcache.count)
		__builtin_trap();
	return 0;
}
