/* SPDX-License-Identifier: MIT */
/*
 * loopfront.h - a userspace vgpu frontend over the loopback world: the
 * engine of libvgpu's loopback transport (guest/libvgpu/loopback.c).
 *
 * It speaks the protocol of ring/vgpuif.h exactly as vgpu-front.ko does
 * (XenStore handshake, granted ring of 2^order pages, event channel,
 * direct and indirect segments, persistent grants, inline data,
 * reconnect), but in a process acting as guest domain <domid> of a
 * loopback world (loopback-xen/). Programs reach it through vgpu.h
 * ("loopback:DIR?domid=N"); only libvgpu and this frontend's own tests
 * (tests/loopback/test_loopfront.c, against a fake backend) use this
 * header. It always keeps the protocol: the malicious-frontend tests break
 * it with a raw frontend of their own (tests/integration/tfront.c).
 *
 * The frontend does not trust the backend: a response producer index that
 * runs ahead of what was requested, or a response whose id is not
 * outstanding, marks the frontend broken (every later call fails with
 * -EIO, loopfront_error() says why), as the module does.
 *
 * Threads: a handle may be used by several threads at once. Many requests may be in flight; a thread waiting for one
 * answer takes in every answer that arrives meanwhile and hands it on, and
 * only one thread at a time sleeps on the event channel, so that no waiter
 * starves another.
 *
 * Errno contract: calls returning int return 0 (or a stated non-negative
 * value) on success and -errno on a local failure; a response's status is
 * the backend's verdict (VGPUIF_RSP_*) and never a local failure.
 */
#ifndef VGPU_LOOPFRONT_H
#define VGPU_LOOPFRONT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vgpuif.h"

struct loopfront;
struct loopfront_buf;
struct lb_world;
struct lb_xs;

struct loopfront_opts {
	const char *world_dir;  /* NULL: $VGPU_LOOPBACK_DIR or the default */
	uint32_t domid;         /* the guest domain this process acts as (>= 1) */
	uint32_t devid;         /* vgpu device id; default 0                 */
	int ring_order;         /* wanted log2 ring pages; -1: 2 (the default);
				 * the backend's max-ring-page-order caps it  */
	int persistent;         /* -1/1: reuse data grants (feature-persistent),
				 * 0: grant and revoke per request            */
	int timeout_ms;         /* handshake, close and each wait for a
				 * response; 0: 60000; < 0: wait forever     */
	unsigned int spin_us;   /* before sleeping on the event channel, poll
				 * the ring this long for a response (lower
				 * latency, burns a CPU); 0: off;
				 * LOOPFRONT_SPIN_AUTO (the default):
				 * $VGPU_LOOPFRONT_SPIN_US if set, else a
				 * window that adapts to the backend's pace
				 * (none on fewer than 4 CPUs)                */
};

#define LOOPFRONT_SPIN_AUTO UINT_MAX

/* Fill o with the defaults. */
void loopfront_opts_init(struct loopfront_opts *o);

/*
 * Connect device devid of domain domid: opens the world (which must exist,
 * with the domain alive and the device attached: lb_attach_device), writes
 * state Initialising, waits for the backend's InitWait, reads
 * max-ring-page-order, feature-max-indirect-segments, feature-persistent,
 * feature-ops and feature-inline, allocates and grants the ring, allocates
 * an event channel, writes ring-ref* / ring-page-order, event-channel,
 * protocol and feature-persistent in one transaction (retried on EAGAIN),
 * goes Initialised and waits for the backend's Connected, then goes
 * Connected. NULL and errno on failure (ENOENT no world, ESRCH no such
 * domain, ENODEV no such device, ETIMEDOUT the backend did not answer,
 * ECONNREFUSED the backend closed); why (if not NULL, whylen bytes)
 * receives an explanation for a human.
 */
struct loopfront *loopfront_open(const struct loopfront_opts *o, char *why,
				 size_t whylen);
/*
 * Disconnect: state Closing, wait for the backend to close (it unmaps),
 * fail what is still in flight (-EIO to its callback), revoke every
 * grant, state Closed, free the ring and every buffer. No other thread may
 * use the handle any more. Returns 0, or -errno describing a step that
 * failed (the handle is freed in any case).
 */
int loopfront_close(struct loopfront *lf);

/*
 * After the backend closed the device (calls fail with -ESHUTDOWN; e.g. it
 * was restarted) or after the frontend broke: wait until the backend lets
 * go of the ring, go Closed, fail what was in flight (-EIO), give the old
 * ring back and connect again from Initialising, as vgpu-front.ko does
 * when the backend returns to InitWait. Buffers stay valid. 0 or -errno
 * (as loopfront_open). loopfront_generation() counts the connections.
 */
int loopfront_reconnect(struct loopfront *lf);

/* What was negotiated. */
unsigned int loopfront_ring_order(const struct loopfront *lf);
unsigned int loopfront_ring_size(const struct loopfront *lf);  /* slots */
uint32_t loopfront_max_indirect(const struct loopfront *lf);
bool loopfront_persistent(const struct loopfront *lf);
/* The backend's feature-ops (16 when absent) and the inline bytes one
 * request may carry (VGPUIF_MAX_INLINE_BYTES with feature-inline, else 0). */
uint32_t loopfront_ops(const struct loopfront *lf);
uint32_t loopfront_inline_bytes(const struct loopfront *lf);
/* The backend serves registered host memory (feature-host-mem, rev. 3). */
bool loopfront_host_mem(const struct loopfront *lf);
uint32_t loopfront_domid(const struct loopfront *lf);
uint32_t loopfront_devid(const struct loopfront *lf);
/* Connections made so far: 1 after open, +1 per reconnect. */
uint64_t loopfront_generation(const struct loopfront *lf);
/* The backend's and the frontend's directories; one of the backend's keys
 * (malloc'd; NULL if absent). */
const char *loopfront_backend_path(const struct loopfront *lf);
const char *loopfront_frontend_path(const struct loopfront *lf);
char *loopfront_backend_read(struct loopfront *lf, const char *key);
/* Broken by a lying backend; closed by the backend (reconnect to go on). */
bool loopfront_broken(const struct loopfront *lf);
bool loopfront_closed(const struct loopfront *lf);
/* A human-readable line about the last failure ("" when none). */
const char *loopfront_error(const struct loopfront *lf);

/* ------------------------------------------------------------- buffers */

/*
 * A buffer of guest memory (page-aligned, physically contiguous frames of
 * the guest domain), the only memory a request's data can live in. NULL
 * and errno (ENOMEM) on failure. Freed by loopfront_close too.
 */
struct loopfront_buf *loopfront_buf_alloc(struct loopfront *lf, size_t size);
/* Revokes its persistent grants (EBUSY is retried at close). */
void loopfront_buf_free(struct loopfront *lf, struct loopfront_buf *b);
void *loopfront_buf_ptr(const struct loopfront_buf *b);
size_t loopfront_buf_size(const struct loopfront_buf *b);
/*
 * The buffer holding all of [p, p + len), and *off the offset of p in it;
 * NULL when no buffer of this handle holds the whole range.
 */
struct loopfront_buf *loopfront_buf_find(struct loopfront *lf, const void *p,
					 size_t len, size_t *off);

/*
 * One piece of a request's data stream: length bytes of buf at offset.
 * The pieces, in order, form the stream (vgpuif.h says per op which bytes
 * the backend reads and which it writes). backend_writes: the backend
 * writes this piece, so its pages are granted writable; otherwise
 * read-only.
 */
struct loopfront_region {
	struct loopfront_buf *buf;
	size_t offset;
	size_t length;
	bool backend_writes;
};

/*
 * A request. The data stream is either regs (granted pages: direct
 * segments, or indirect pages when the backend offered enough
 * feature-max-indirect-segments) or inline_data (VGPUIF_F_INLINE: 1 ..
 * loopfront_inline_bytes() bytes the backend only reads, copied into the
 * request), never both.
 */
struct loopfront_req {
	uint8_t op;
	uint32_t ctx;
	union vgpuif_args args;
	const struct loopfront_region *regs;
	unsigned int nregs;
	const void *inline_data;
	unsigned int inline_len;
	/*
	 * VGPUIF_F_HOST_MEM (MEMCPY_H2D/D2H, with loopfront_host_mem()): the
	 * host side is a registered region named in args.memcpy.host_region
	 * and host_offset; no regs, no inline data.
	 */
	bool host_mem;
};

/* --------------------------------------------------------------- calls */

/*
 * Send one request and wait for its response (waiting for ring room
 * first). Returns 0 with *rsp filled (rsp->status is the backend's
 * verdict), or -errno: -EINVAL bad region or inline data, -E2BIG too many
 * segments, -EIO broken, -ESHUTDOWN backend closed, -ETIMEDOUT no response
 * within the handle's timeout (the request stays outstanding until the
 * backend answers or the connection goes).
 */
int loopfront_call_req(struct loopfront *lf, const struct loopfront_req *req,
		       struct vgpuif_response *rsp);
int loopfront_call(struct loopfront *lf, uint8_t op, uint32_t ctx,
		   const union vgpuif_args *args,
		   const struct loopfront_region *regs, unsigned int nregs,
		   struct vgpuif_response *rsp);

/*
 * Asynchronous, with a completion callback: queue req (waiting for ring
 * room up to the handle's timeout) and return. done(cookie, rsp) is called
 * exactly once, by whichever thread takes the answer in (with the handle's
 * lock held: done must not call this library), with the backend's
 * response, or with status -EIO when the connection is torn down
 * (reconnect, close) before an answer came. Not called when this returns
 * an error.
 */
typedef void (*loopfront_done_fn)(void *cookie, const struct vgpuif_response *rsp);
int loopfront_start(struct loopfront *lf, const struct loopfront_req *req,
		    loopfront_done_fn done, void *cookie);
/*
 * Wait until pred(arg) holds (evaluated with the handle's lock held, after
 * each batch of answers taken in: it may read what done() callbacks
 * write), at most timeout_ms (< 0: the handle's timeout). 0, or -ETIMEDOUT,
 * -ESHUTDOWN (backend closed), -EIO (broken).
 */
int loopfront_wait(struct loopfront *lf, bool (*pred)(void *arg), void *arg,
		   int timeout_ms);

/*
 * Asynchronous, polled: queue a request without waiting. *id (may be NULL)
 * receives the id its response will carry. -EAGAIN when the ring is full:
 * poll first.
 */
int loopfront_submit(struct loopfront *lf, uint8_t op, uint32_t ctx,
		     const union vgpuif_args *args,
		     const struct loopfront_region *regs, unsigned int nregs,
		     uint64_t *id);
/*
 * Next completed response of a loopfront_submit() request, in completion
 * order: 1 and *rsp, 0 when none came within timeout_ms (0: do not wait;
 * < 0: the handle's timeout), or -errno (-EIO broken, -ESHUTDOWN closed,
 * -ENOENT nothing in flight that it could return).
 */
int loopfront_poll(struct loopfront *lf, struct vgpuif_response *rsp,
		   int timeout_ms);
/* Requests on the ring whose answer has not been handed out yet. */
unsigned int loopfront_inflight(struct loopfront *lf);
/* Grants revoked while still mapped, waiting; and the retry passes so far
 * (for tests). */
unsigned int loopfront_deferred_grants(struct loopfront *lf, uint64_t *passes);

#endif /* VGPU_LOOPFRONT_H */
