/* SPDX-License-Identifier: MIT */
/*
 * tfront.h - a raw test frontend over the loopback world, for the backend's
 * integration tests: it plays toolstack and guest, starts the real
 * vgpu-backend process, and writes the ring, grants and XenStore keys by
 * hand, so that it can also lie (malicious-frontend cases).
 *
 * Waits use generous deadlines only to turn a hang into a failure; nothing
 * asserts on time.
 */
#ifndef TFRONT_H
#define TFRONT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "vgpuif.h"
#include "loopback.h"

#define TF_WAIT_MS 20000

struct tf_world {
	char dir[256];
	char conf[300];
	struct lb_world *w;
};

struct tf_dom {
	struct tf_world *tw;
	uint32_t domid, devid;
	struct lb_xs *xs;
	struct lb_evtchn *ev;
	pid_t backend;
	char log[320];
	uint8_t *mem;
	size_t memsz;
	int64_t ring_frame;
	int ring_gref;
	int port;
	struct vgpuif_front_ring fr;
	char fe[128], be[128];
	uint64_t next_id;
	const char *extra[16];  /* extra backend arguments, NULL-terminated */
};

/* Skip (exit 77) when the backend binary is not available. */
const char *tf_backend_path(void);

int  tf_world_init(struct tf_world *tw);
void tf_world_fini(struct tf_world *tw);

/* Create domain + device (mem_quota bytes, 0 = none), start the backend. */
int  tf_dom_create(struct tf_world *tw, struct tf_dom *d, uint32_t domid,
		   uint64_t mem_quota);
void tf_dom_destroy(struct tf_dom *d);

pid_t tf_backend_start(struct tf_dom *d);
/*
 * Run the backend once with the common arguments plus args (NULL-terminated;
 * not d->extra), e.g. --mark-closed, and wait: its exit status, 128+sig, -1.
 */
int  tf_backend_run(struct tf_dom *d, const char *const *args);
/* SIGTERM and wait: the exit status (0..255), 128+sig when killed, -1. */
int  tf_backend_stop(struct tf_dom *d);
/* Is the backend process still running? */
bool tf_backend_alive(struct tf_dom *d);

int  tf_be_state(struct tf_dom *d);
int  tf_wait_be_state(struct tf_dom *d, int state);
int  tf_fe_write(struct tf_dom *d, const char *key, const char *val);
char *tf_be_read(struct tf_dom *d, const char *key);

/* Ring + event channel + keys, Initialised, wait Connected, Connected. */
int  tf_connect(struct tf_dom *d);
/* Only the ring and keys (no state change), for garbage-key tests. */
int  tf_setup_ring(struct tf_dom *d);
/* Closing, Closed; wait for the backend's InitWait; free the ring. */
int  tf_close(struct tf_dom *d);

/* Guest memory: n contiguous frames; address of a frame. */
int64_t tf_frames(struct tf_dom *d, uint32_t n);
void *tf_page(struct tf_dom *d, int64_t frame);
int  tf_grant(struct tf_dom *d, int64_t frame, bool readonly);

/* Put one request on the ring (id assigned if 0), push, notify. */
uint64_t tf_submit(struct tf_dom *d, struct vgpuif_request *req);
/* Push only req_prod = value (lying), and notify. */
void tf_set_req_prod(struct tf_dom *d, RING_IDX prod);
/* Next response: 0, or -ETIMEDOUT after TF_WAIT_MS. */
int  tf_wait_rsp(struct tf_dom *d, struct vgpuif_response *rsp);
/* submit + wait; returns the status (or -1000 on timeout). */
int  tf_call(struct tf_dom *d, struct vgpuif_request *req,
	     struct vgpuif_response *rsp);

/* Convenience: ops returning status and result[0]. */
int  tf_nop(struct tf_dom *d);
int  tf_ctx_create(struct tf_dom *d, uint32_t *ctx);
int  tf_mem_alloc(struct tf_dom *d, uint32_t ctx, uint64_t size, uint64_t *mem);
/* H2D/D2H of len bytes through a buffer of contiguous granted frames. */
int  tf_copy(struct tf_dom *d, uint8_t op, uint32_t ctx, uint64_t mem,
	     uint64_t off, void *buf, uint32_t len, bool indirect);

/* Count lines of the backend's log containing s. */
int  tf_log_count(struct tf_dom *d, const char *s);
void tf_msleep(int ms);

#endif /* TFRONT_H */
