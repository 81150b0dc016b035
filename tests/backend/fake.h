/* SPDX-License-Identifier: MIT */
/*
 * fake.h - a fake transport (in-memory store, a guest memory file whose
 * pages really alias when mapped, counted grant maps, an eventfd event
 * channel) and a fake executor (host memory; completions inline or held
 * back and released by the test, from another thread). For the backend's
 * unit suites and its fuzz target.
 */
#ifndef VGPUBACK_FAKE_H
#define VGPUBACK_FAKE_H

#include <stdbool.h>
#include <stdint.h>

#include "transport.h"
#include "executor.h"

#define FAKE_PAGES   512u      /* guest frames; gref == frame number  */
#define FAKE_FIRST   8u        /* grefs below are never granted       */

struct fake_transport {
	struct vgpuback_transport t;
	int memfd;
	uint8_t *guest;                /* the guest's view of its memory */
	uint8_t granted[FAKE_PAGES];   /* 0 no, 1 ro, 2 rw               */
	int32_t maps[FAKE_PAGES];      /* live mappings per gref         */
	uint64_t map_calls, unmap_calls;
	int watch_fd, ev_fd;
	bool domain_dead;
	int eagain_commits;            /* transaction_end fails this often */
	int ro_errno;                  /* a read-only grant mapped writable:
					* EPERM (0, as loopback) or EFAULT
					* (as Xen's gntdev)                */
	uint64_t notifies;
	/* Called once after the next map of this gref is copied/unmapped. */
	uint32_t hook_gref;
	void (*on_unmap)(struct fake_transport *f, uint32_t gref);
	/* The store: a flat list. */
	unsigned int nkeys;
	char *keys[512], *vals[512];
};

struct fake_transport *fake_transport_new(void);
void fake_transport_free(struct fake_transport *f);
void fake_grant(struct fake_transport *f, uint32_t gref, bool readonly);
void fake_revoke(struct fake_transport *f, uint32_t gref);
void *fake_page(struct fake_transport *f, uint32_t gref);
int  fake_live_maps(struct fake_transport *f);
/* Store helpers: value (static until next call) or NULL. */
const char *fake_get(struct fake_transport *f, const char *path);
void fake_set(struct fake_transport *f, const char *path, const char *val);
void fake_rm(struct fake_transport *f, const char *path);

/* ---- the fake executor: vgpu_exec_* symbols ---- */
struct fake_exec_stats {
	int ctx_live, mem_live, submitted, completed;
	int streams_live, events_live, globals_live; /* revision 2 */
	int hostregs_live, zero_copies;              /* revision 3 */
	/* the last op submitted: its opcode, stream, and data stream */
	int last_op;
	const void *last_stream;
	uint8_t last_data[64];
	uint64_t last_len;
};
/* The fake device snapshot's name (DEVICE_INFO). */
#define FAKE_DEVICE_NAME "fake device"
/* Make the fake executor answer ENOSYS for revision-2 ops (an executor
 * that lacks them). */
void fake_exec_no_r2(bool no);
/* Make the fake executor refuse zero copy (registered copies staged). */
void fake_exec_no_zero_copy(bool no);
/* What the fake executor reports as its context's own device memory. */
void fake_exec_ctx_overhead(uint64_t bytes);
/* Hold back completions until fake_exec_release(). */
void fake_exec_hold(bool hold);
/* Complete n held ops (all when n < 0) from a separate thread. */
void fake_exec_release(int n);
int  fake_exec_held(void);
struct fake_exec_stats fake_exec_stats(void);
void fake_exec_reset(void);

#endif /* VGPUBACK_FAKE_H */
