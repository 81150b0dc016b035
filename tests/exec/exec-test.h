/* SPDX-License-Identifier: MIT */
/*
 * exec-test.h - helpers for tests of executors (tests/exec and tests/gpu):
 * synchronous submit, stream splitting, and the executor contract suite
 * that every executor must pass.
 */
#ifndef VGPU_EXEC_TEST_H
#define VGPU_EXEC_TEST_H

#include <check.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "executor.h"

/* Waits for one op's done(). */
struct et_wait {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int calls;              /* done() calls seen; must end at exactly 1 */
	int status;
	pthread_t thread;       /* who called done()                        */
};

void et_wait_init(struct et_wait *w);
/* A done() for ops whose priv is a struct et_wait. */
void et_done(struct vgpu_exec_op *op, int status);
/* op->done/priv are set; returns the submit status or done()'s status. */
int  et_run(struct vgpu_exec *ex, struct vgpu_exec_op *op);

/*
 * Cut buf[0, len) into iovs of sizes following a pattern (1, 7, 4096, 13,
 * page-sized ...), so that copies must cross iov edges at odd places.
 * split 0: one iov. Returns the count (at most max).
 */
unsigned int et_split(void *buf, size_t len, int split,
		      struct vgpu_exec_iov *iov, unsigned int max);

/* Ops through et_run; each returns the status. */
int et_alloc(struct vgpu_exec *ex, struct vgpu_exec_ctx *ctx, uint64_t size,
	     struct vgpu_exec_mem **mem, uint64_t *addr);
int et_free(struct vgpu_exec *ex, struct vgpu_exec_ctx *ctx,
	    struct vgpu_exec_mem *mem);
int et_h2d(struct vgpu_exec *ex, struct vgpu_exec_ctx *ctx,
	   struct vgpu_exec_mem *mem, uint64_t off, void *buf, size_t len,
	   int split);
int et_d2h(struct vgpu_exec *ex, struct vgpu_exec_ctx *ctx,
	   struct vgpu_exec_mem *mem, uint64_t off, void *buf, size_t len,
	   int split);
int et_sync(struct vgpu_exec *ex, struct vgpu_exec_ctx *ctx);

/* Fill with a pattern that depends on seed and position (never all zero). */
void et_fill(void *buf, size_t len, uint32_t seed);

/*
 * The executor contract: every op of executor.h with good and bad input.
 * exec_name is "cpu" or "cuda"; cfg_extra may set watchdog etc. (NULL: none).
 */
Suite *et_contract_suite(const char *exec_name);
/* The same with cfg.cpu_async (the cpu executor's worker thread). One of
 * the two per program: the suites share their settings. */
Suite *et_contract_suite_async(const char *exec_name, bool cpu_async);

/*
 * Revision 2 (exec-test-r2.c): the device snapshot, streams, events and
 * their bad input, on any executor. cpu_async as above.
 */
Suite *et_contract_r2_suite(const char *exec_name, bool cpu_async);

/* Revision-2 ops through et_run; each returns the status. */
int et_stream_create(struct vgpu_exec *ex, struct vgpu_exec_ctx *ctx,
		     uint32_t flags, struct vgpu_exec_stream **out);
int et_stream_op(struct vgpu_exec *ex, struct vgpu_exec_ctx *ctx, int opcode,
		 struct vgpu_exec_stream *s, uint64_t *result0);
int et_event_create(struct vgpu_exec *ex, struct vgpu_exec_ctx *ctx,
		    uint32_t flags, struct vgpu_exec_event **out);
/* EVENT_RECORD / STREAM_WAIT_EVENT (s used), EVENT_SYNC/QUERY/DESTROY. */
int et_event_op(struct vgpu_exec *ex, struct vgpu_exec_ctx *ctx, int opcode,
		struct vgpu_exec_event *e, struct vgpu_exec_stream *s,
		uint64_t *result0);
/* EVENT_ELAPSED; *ms on success. */
int et_elapsed(struct vgpu_exec *ex, struct vgpu_exec_ctx *ctx,
	       struct vgpu_exec_event *a, struct vgpu_exec_event *b, float *ms);

#endif /* VGPU_EXEC_TEST_H */
