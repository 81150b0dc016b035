/* SPDX-License-Identifier: MIT */
/*
 * loopfront.h - a userspace vgpu frontend over the loopback world.
 *
 * It speaks the protocol of ring/vgpuif.h exactly as vgpu-front.ko does
 * (XenStore handshake, granted ring of 2^order pages, event channel,
 * direct and indirect segments, persistent grants), but as a program
 * acting as guest domain <domid> of a loopback world (loopback-xen/).
 * The loopback integration tests, the benchmarks and `make demo` drive the
 * real vgpu-backend through it. The RAW calls at the end break the
 * protocol on purpose, for malicious-frontend tests.
 *
 * The frontend does not trust the backend: a response producer index that
 * runs ahead of what was requested, or a response whose id is not
 * outstanding, marks the frontend broken (every later call fails with
 * -EIO, loopfront_error() says why).
 *
 * Errno contract: calls returning int return 0 (or a stated non-negative
 * value) on success and -errno on a local failure. The convenience wrappers
 * (loopfront_nop() and friends) return the backend's response status
 * (VGPUIF_RSP_*, 0 or negative) when a response arrived, and a local
 * -errno otherwise; loopfront_error() tells which and why. A handle is used
 * by one thread at a time.
 */
#ifndef VGPU_LOOPFRONT_H
#define VGPU_LOOPFRONT_H

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
				 * response; 0: 60000; < 0: wait forever     */	unsigned int spin_us;   /* before sleeping on the event channel, poll
				 * the ring this long for a response (lower
				 * latency, burns a CPU); 0: off, or
				 * $VGPU_LOOPFRONT_SPIN_US                    */
};

/* Fill o with the defaults. */
void loopfront_opts_init(struct loopfront_opts *o);

/*
 * Connect device devid of domain domid: opens the world (which must exist,
 * with the domain alive and the device attached: lb_attach_device), writes
 * state Initialising, waits for the backend's InitWait, reads
 * max-ring-page-order and feature-max-indirect-segments, allocates and
 * grants the ring, allocates an event channel, writes ring-ref* /
 * ring-page-order, event-channel, protocol and feature-persistent in one
 * transaction (retried on EAGAIN), goes Initialised and waits for the
 * backend's Connected, then goes Connected. NULL and errno on failure
 * (ENOENT no world, ENODEV no such device, ESRCH dead domain, ETIMEDOUT
 * backend did not answer, ECONNREFUSED backend closed); why (if not NULL,
 * whylen bytes) receives an explanation for a human.
 */
struct loopfront *loopfront_open(const struct loopfront_opts *o, char *why,
				 size_t whylen);
/*
 * Disconnect: state Closing, wait for the backend to close (it unmaps),
 * revoke every grant, state Closed, free the ring and every buffer.
 * Returns 0, or -errno describing a step that failed (the handle is freed
 * in any case).
 */
int loopfront_close(struct loopfront *lf);

/*
 * After the backend closed the device (calls fail with -ESHUTDOWN; e.g. it
 * was restarted) or after the frontend broke: wait until the backend lets
 * go of the ring, go Closed, give the old ring back and connect again from
 * Initialising, as vgpu-front.ko does when the backend returns to
 * InitWait. Requests in flight are lost; buffers stay valid. 0 or -errno
 * (as loopfront_open).
 */
int loopfront_reconnect(struct loopfront *lf);

/* What was negotiated. */
unsigned int loopfront_ring_order(const struct loopfront *lf);
unsigned int loopfront_ring_size(const struct loopfront *lf);  /* slots */
uint32_t loopfront_max_indirect(const struct loopfront *lf);
bool loopfront_persistent(const struct loopfront *lf);
uint32_t loopfront_domid(const struct loopfront *lf);
/* The backend's directory and its key "executor" ("cuda"/"cpu"; NULL if
 * absent; malloc'd). */
const char *loopfront_backend_path(const struct loopfront *lf);
char *loopfront_backend_read(struct loopfront *lf, const char *key);
/* Broken by a lying backend or a closed one; loopfront_error says why. */
bool loopfront_broken(const struct loopfront *lf);
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

/* --------------------------------------------------------------- calls */

/*
 * Send one request and wait for its response. The regions become direct
 * segments (at most VGPUIF_MAX_DIRECT_SEGMENTS) or indirect pages when the
 * backend offered enough feature-max-indirect-segments (else -E2BIG).
 * Returns 0 with *rsp filled (rsp->status is the backend's verdict), or
 * -errno: -EINVAL bad region, -E2BIG too many segments, -EIO broken,
 * -ESHUTDOWN backend closed, -ETIMEDOUT no response in time (the request
 * stays outstanding).
 */
int loopfront_call(struct loopfront *lf, uint8_t op, uint32_t ctx,
		   const union vgpuif_args *args,
		   const struct loopfront_region *regs, unsigned int nregs,
		   struct vgpuif_response *rsp);

/*
 * Asynchronous: queue a request (pushed at once; the backend is notified
 * when it asked to be). *id receives the request id its response will
 * carry. -EAGAIN when the ring is full: poll first.
 */
int loopfront_submit(struct loopfront *lf, uint8_t op, uint32_t ctx,
		     const union vgpuif_args *args,
		     const struct loopfront_region *regs, unsigned int nregs,
		     uint64_t *id);
/*
 * Next completed response, in completion order: 1 and *rsp, 0 when none
 * came within timeout_ms (0: do not wait; < 0: the handle's timeout), or
 * -errno (-EIO broken, -ESHUTDOWN closed, -ENOENT nothing in flight).
 */
int loopfront_poll(struct loopfront *lf, struct vgpuif_response *rsp,
		   int timeout_ms);
/* Requests submitted and not yet returned by loopfront_poll/call. */
unsigned int loopfront_inflight(const struct loopfront *lf);

/* ---------------------------------------------------------- wrappers */
/* Each returns the response status or a local -errno (see the top). */

int loopfront_nop(struct loopfront *lf);
int loopfront_get_info(struct loopfront *lf, struct vgpuif_info *info);
int loopfront_ctx_create(struct loopfront *lf, uint32_t *ctx);
int loopfront_ctx_destroy(struct loopfront *lf, uint32_t ctx);
int loopfront_mem_alloc(struct loopfront *lf, uint32_t ctx, uint64_t size,
			uint64_t *mem, uint64_t *dev_addr);
int loopfront_mem_free(struct loopfront *lf, uint32_t ctx, uint64_t mem);
/*
 * Copy len bytes between buf+buf_off and device memory mem+mem_off, of any
 * size: split into as many requests as the segment limits need, kept in
 * flight together. The first failing status is returned.
 */
int loopfront_memcpy_h2d(struct loopfront *lf, uint32_t ctx, uint64_t mem,
			 uint64_t mem_off, struct loopfront_buf *buf,
			 size_t buf_off, size_t len);
int loopfront_memcpy_d2h(struct loopfront *lf, uint32_t ctx, uint64_t mem,
			 uint64_t mem_off, struct loopfront_buf *buf,
			 size_t buf_off, size_t len);
int loopfront_memset(struct loopfront *lf, uint32_t ctx, uint64_t mem,
		     uint64_t off, uint64_t len, uint32_t value,
		     uint32_t elem_size);
/*
 * The built-in c = a + b over n float32: buf+off holds a (4n bytes), then
 * b (4n), then receives c (4n).
 */
int loopfront_vector_add(struct loopfront *lf, uint32_t ctx, uint32_t n,
			 struct loopfront_buf *buf, size_t off);
int loopfront_sync(struct loopfront *lf, uint32_t ctx);

/* --------------------------------------------------------------- RAW */
/*
 * For malicious-frontend tests: each breaks the protocol on purpose and
 * leaves the consequences (a halted ring, a backend closing) to be
 * observed. None of them marks the frontend broken by itself.
 */

/* Write len (<= 128) bytes into the request slot of ring index idx. */
int loopfront_raw_write_slot(struct loopfront *lf, uint32_t idx,
			     const void *bytes, size_t len);
/* The private producer index (next slot submit would use). */
uint32_t loopfront_raw_req_prod_pvt(const struct loopfront *lf);
/* Publish any value as the shared req_prod (after a write barrier). */
void loopfront_raw_set_req_prod(struct loopfront *lf, uint32_t value);
/* Put a whole request, untouched, in the next slot and push it. */
int loopfront_raw_push(struct loopfront *lf, const struct vgpuif_request *req);
/* Notify the backend n times. */
int loopfront_raw_notify(struct loopfront *lf, unsigned int n);
/*
 * Read the next response from the ring without any check (it is consumed
 * unless consumption is off): 1 and *rsp, 0 when none arrived in
 * timeout_ms.
 */
int loopfront_raw_next_response(struct loopfront *lf,
				struct vgpuif_response *rsp, int timeout_ms);
/* Stop (false) or resume (true) consuming responses in every call. */
void loopfront_raw_set_consume(struct loopfront *lf, bool consume);
/* Grant page `page` of buf to the backend; the ref, or -errno. */
int loopfront_raw_grant(struct loopfront *lf, struct loopfront_buf *buf,
			uint32_t page, bool readonly);
int loopfront_raw_end_access(struct loopfront *lf, uint32_t gref);
/* Write any bytes to a key (relative: under the frontend directory). */
int loopfront_raw_xs_write(struct loopfront *lf, const char *key,
			   const void *value, unsigned int len);
/* The underlying world, store connection, ring and local port. */
struct lb_world *loopfront_raw_world(struct loopfront *lf);
struct lb_xs *loopfront_raw_xs(struct loopfront *lf);
struct vgpuif_sring *loopfront_raw_sring(struct loopfront *lf);
int loopfront_raw_port(const struct loopfront *lf);
const char *loopfront_frontend_path(const struct loopfront *lf);

#endif /* VGPU_LOOPFRONT_H */
