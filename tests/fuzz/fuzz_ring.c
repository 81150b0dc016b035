/* SPDX-License-Identifier: MIT */
/*
 * fuzz_ring.c - libFuzzer target for the whole data path: a sequence of
 * requests goes through the ring (get, parse, execute on the fake
 * executor, responses), then the device disconnects. After every input the
 * backend must have answered every request it consumed with a VGPUIF_RSP_*
 * status, and released everything: no grant mapped, no executor context or
 * allocation alive, no memory counted against the quota.
 *
 * Input: byte 0 = control (0x01 lie about req_prod once, 0x02 persistent
 * grants, 0x04 hold completions and release them from another thread),
 * then records of 1 + 128 bytes: a flags byte (0x01 ctx := the last
 * context created, 0x02 args' first handle := the last handle of the kind
 * the op names there (allocation, stream, event, module or function: see
 * first_handle()), 0x04 args' second handle := the last allocation (D2D's
 * source; EVENT_ELAPSED's end: the last event; STREAM_WAIT_EVENT's event),
 * 0x02|0x04 on a stream-ordered op: its stream field := the last stream
 * instead, 0x08 the used segment slots := granted guest pages 16..) and
 * the request.
 * Grefs 16..47 are granted writable, 48..63 read-only; their contents are
 * whatever the earlier bytes made.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "log.h"
#include "../backend/fake.h"

#define RING_GREF 8u

static struct fake_transport *T;
static struct vgpuback_config CFG;

/* The last handle of each kind the backend gave out. */
struct last_handles {
	uint32_t ctx;
	uint64_t mem, stream, event, mod, func;
};

/* What an op names in args' first handle. */
static uint64_t first_handle(const struct last_handles *l, uint8_t op)
{
	switch (op) {
	case VGPUIF_OP_STREAM_DESTROY:
	case VGPUIF_OP_STREAM_SYNC:
	case VGPUIF_OP_STREAM_QUERY:
	case VGPUIF_OP_STREAM_WAIT_EVENT:
		return l->stream;
	case VGPUIF_OP_EVENT_DESTROY:
	case VGPUIF_OP_EVENT_SYNC:
	case VGPUIF_OP_EVENT_QUERY:
	case VGPUIF_OP_EVENT_RECORD:
	case VGPUIF_OP_EVENT_ELAPSED:
		return l->event;
	case VGPUIF_OP_MODULE_UNLOAD:
	case VGPUIF_OP_FUNC_GET:
	case VGPUIF_OP_MODULE_GLOBAL:
		return l->mod;
	case VGPUIF_OP_LAUNCH:
	case VGPUIF_OP_FUNC_INFO:
	case VGPUIF_OP_FUNC_SET_ATTR:
		return l->func;
	default:
		return l->mem;
	}
}

/* Offset of the stream field of a stream-ordered op in args, or -1. */
static int stream_field(uint8_t op)
{
	switch (op) {
	case VGPUIF_OP_MEMCPY_H2D:
	case VGPUIF_OP_MEMCPY_D2H:
		return (int)offsetof(union vgpuif_args, memcpy.stream);
	case VGPUIF_OP_MEMCPY_D2D:
		return (int)offsetof(union vgpuif_args, memcpy_d2d.stream);
	case VGPUIF_OP_MEMSET:
		return (int)offsetof(union vgpuif_args, memset.stream);
	case VGPUIF_OP_LAUNCH:
		return (int)offsetof(union vgpuif_args, launch.stream);
	case VGPUIF_OP_EVENT_RECORD:
		return (int)offsetof(union vgpuif_args, event.stream);
	default:
		return -1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vgpuback_device dev;
	struct vgpuif_front_ring fr;
	struct vgpuif_sring *s;
	struct vgpu_exec *ex;
	const char *why;
	uint32_t ref = RING_GREF, g;
	struct last_handles last = { 0 };
	unsigned int answered = 0, pushed = 0;
	uint8_t ctl;
	bool lied = false;

	if (!T) {
		setenv("VGPU_ARB", "off", 1);
		vgpuback_log_init(1, 0, -1, NULL, 0);
		T = fake_transport_new();
		vgpuback_config_defaults(&CFG);
		CFG.domid = 1;
		CFG.max_contexts = 4;
		/* Past one 64-slot chunk: the table grows with work in flight. */
		CFG.max_handles_per_ctx = 80;
		CFG.mem_quota = 1 << 20;
		CFG.persistent_grants = 8;
		CFG.storm_limit = 0;
		if (!T)
			abort();
	}
	if (size < 1)
		return 0;
	ctl = *data++;
	size--;
	fake_exec_reset();
	fake_exec_hold((ctl & 0x04) != 0);
	for (g = 16; g < 64; g++)
		fake_grant(T, g, g >= 48);
	fake_grant(T, RING_GREF, false);
	s = fake_page(T, RING_GREF);
	SHARED_RING_INIT(s);
	FRONT_RING_INIT(&fr, s, 4096);
	if (vgpu_exec_open(&ex, NULL, NULL) || vgpuback_dev_init(&dev, &CFG, &T->t, ex))
		abort();
	dev.be_path = strdup("/be");
	dev.fe_path = strdup("/fe");
	if (vgpuback_ring_connect(&dev, &ref, 1, 5, (ctl & 0x02) != 0, &why))
		abort();

	while (size >= 129 && dev.conn == VGPUBACK_CONNECTED) {
		struct vgpuif_request req;
		uint8_t f = data[0];
		int notify;

		memcpy(&req, data + 1, sizeof(req));
		data += 129;
		size -= 129;
		if (f & 0x01)
			req.ctx = last.ctx;
		if (f & 0x02) {
			uint64_t h = first_handle(&last, req.op);

			memcpy(req.args.raw, &h, 8);
		}
		if ((f & 0x06) == 0x06 && stream_field(req.op) >= 0) {
			/* the stream field (D2D: and its source) */
			memcpy(req.args.raw + stream_field(req.op), &last.stream, 8);
			if (req.op == VGPUIF_OP_MEMCPY_D2D)
				memcpy(req.args.raw + 16, &last.mem, 8);
		} else if (f & 0x04) {
			if (req.op == VGPUIF_OP_STREAM_WAIT_EVENT)
				memcpy(req.args.raw + 8, &last.event, 8);
			else if (req.op == VGPUIF_OP_EVENT_ELAPSED)
				memcpy(req.args.raw + 16, &last.event, 8);
			else
				memcpy(req.args.raw + 16, &last.mem, 8);
		}
		if ((f & 0x08) && !(req.flags & VGPUIF_F_INDIRECT)) {
			unsigned int i;

			/* the used slots only: unused ones must stay zero */
			for (i = 0; i < VGPUIF_MAX_DIRECT_SEGMENTS &&
				    i < req.nr_segments; i++)
				req.u.seg[i].gref = 16 + (req.u.seg[i].gref % 48);
		}
		/* Room on the ring: the frontend side keeps its own rules. */
		if (RING_FULL(&fr))
			break;
		memcpy(RING_GET_REQUEST(&fr, fr.req_prod_pvt), &req, sizeof(req));
		fr.req_prod_pvt++;
		pushed++;
		RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&fr, notify);
		(void)notify;
		if ((ctl & 0x01) && !lied && pushed == 3) {
			s->req_prod += 1000; /* a lying producer: the ring halts */
			lied = true;
		}
		vgpuback_ring_kick(&dev);
		if (ctl & 0x04) {
			fake_exec_release(f >> 4);
			vgpuback_ring_completions(&dev);
		}
		while (fr.rsp_cons != s->rsp_prod) {
			struct vgpuif_response rsp;

			memcpy(&rsp, RING_GET_RESPONSE(&fr, fr.rsp_cons), sizeof(rsp));
			fr.rsp_cons++;
			answered++;
			if (getenv("VGPU_FUZZ_SHOW")) /* what a seed reaches */
				fprintf(stderr, "%s: %d\n", vgpuif_op_name(rsp.op),
					rsp.status);
			if (rsp.status > 0 || rsp.status < -200)
				__builtin_trap();
			if (rsp.status)
				continue;
			switch (rsp.op) {
			case VGPUIF_OP_CTX_CREATE:
				last.ctx = (uint32_t)rsp.result[0];
				break;
			case VGPUIF_OP_MEM_ALLOC:
			case VGPUIF_OP_MODULE_GLOBAL:
				last.mem = rsp.result[0];
				break;
			case VGPUIF_OP_STREAM_CREATE:
				last.stream = rsp.result[0];
				break;
			case VGPUIF_OP_EVENT_CREATE:
				last.event = rsp.result[0];
				break;
			case VGPUIF_OP_MODULE_LOAD:
				last.mod = rsp.result[0];
				break;
			case VGPUIF_OP_FUNC_GET:
				last.func = rsp.result[0];
				break;
			}
		}
	}
	/* Finish what is in flight, disconnect, and check nothing is left. */
	fake_exec_release(-1);
	vgpuback_ring_completions(&dev);
	vgpuback_ring_disconnect(&dev);
	fake_exec_release(-1);
	vgpuback_ring_completions(&dev);
	if (dev.conn != VGPUBACK_DISCONNECTED)
		__builtin_trap();
	if (answered > pushed)
		__builtin_trap();
	vgpuback_xenbus_uninit(&dev);
	if (dev.handles.mem_used != 0 || dev.handles.nr_ctx != 0)
		__builtin_trap();
	vgpuback_dev_uninit(&dev);
	vgpu_exec_close(ex);
	if (fake_live_maps(T) != 0)
		__builtin_trap();
	if (fake_exec_stats().ctx_live != 0 || fake_exec_stats().mem_live != 0)
		__builtin_trap();
	if (fake_exec_stats().streams_live != 0 ||
	    fake_exec_stats().events_live != 0 ||
	    fake_exec_stats().globals_live != 0)
		__builtin_trap();
	return 0;
}
