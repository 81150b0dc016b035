/* SPDX-License-Identifier: MIT */
/*
 * arbiter.h - who may submit GPU work next: the dom0-wide arbiter.
 *
 * Every vgpu-backend (one per guest domain) on a host opens the same shared
 * memory region (/dev/shm/vgpu-arb.v7 by default: NAME.vVERSION, so that
 * backends of different layouts never share one) and asks it for a *turn*
 * before it hands an op to its executor:
 *
 *   vgpu_arb_acquire(slot)  blocks until this domain may submit one op
 *   vgpu_exec_submit(op)    ...
 *   op->done():  vgpu_arb_release(slot, op->exec_ns)
 *
 * Policy, per GPU:
 *   - `tokens` turns exist per GPU (default 2), `high_reserve` of them
 *     (default 1) only for domains of the high class: medium and low
 *     domains share the others, so a high domain finds a turn free and
 *     waits for the GPU itself, not for a lower op's completion to travel
 *     back. tokens 1 = one op on the GPU at a time (a high domain waits
 *     behind at most one in-flight op of a lower one).
 *   - Work-conserving burst: a domain alone on its GPU (no other domain
 *     holds a turn there or waits for one) may hold up to `burst` turns,
 *     so that one guest can keep many small ops in flight; the next domain
 *     to arrive waits until fewer than `tokens` are held.
 *   - A free turn goes to the best waiter: lowest effective priority class
 *     (high=0 < medium=1 < low=2), then first come first served (a global
 *     ticket sequence number).
 *   - Aging: a waiter is promoted one class for every `aging_ns` it has
 *     waited (so a low waiter becomes high after 2 * aging_ns, and then wins
 *     against every high waiter that came after it). 0 disables aging.
 *   - Low gap: while a high-priority domain is active on a GPU (it holds
 *     a turn, holds requests in its backend, or was seen within
 *     VGPU_ARB_HIGH_WINDOW_NS), the other classes together are given at
 *     most one turn per `low_gap_ns` there (aged waiters too), so little
 *     of their work reaches the GPU between the high domain's ops (a
 *     context switch and a CPU wake-up each); they still make progress,
 *     one op per gap. 0 = no gap; default 10 ms (measured on an H200:
 *     the high domain's p99 1.2x solo, against 5.8x without; the backend
 *     then passes no slicing hint to the executor).
 *   - Optional GPU-time share: a domain with gpu_share_pct > 0 that has used
 *     more than that percentage of the current share window (share_window_ns)
 *     yields to every waiter that has not; work-conserving: with nobody else
 *     waiting it still runs.
 *   - Pools: pool p may use the GPUs of cfg.pool_mask[p] (when no pool is
 *     configured, every pool may use every GPU); at registration a
 *     domain gets the GPU of its pool with the fewest domains (or the one it
 *     asks for, which must be in the pool).
 *
 * Accounting, per domain: requests, errors, GPU time (what release() is
 * told), turns granted, time spent waiting, aging promotions, memory used /
 * peak / quota, quota refusals. vgpu-smi reads it all with
 * vgpu_arb_snapshot() and needs no help from the backends.
 *
 * Robustness: one process-shared robust mutex protects the region. A process
 * that dies holding it (kill -9) is noticed by the next locker (EOWNERDEAD):
 * it marks the mutex consistent, then rebuilds every derived counter from the
 * per-domain slots, dropping the slots and tickets of dead processes. A
 * process that dies holding a *turn* (not the mutex) is noticed by waiters,
 * who poll for dead owners every VGPU_ARB_POLL_NS while they wait. Each
 * waiter sleeps on a futex word of its own ticket (no waiter state that a
 * dead process could corrupt); a release wakes only the next in line, and
 * every wait is bounded by VGPU_ARB_POLL_NS, so a lost wake-up costs time,
 * never progress.
 *
 * Errors are -errno unless stated otherwise; `why` strings are static.
 * Thread-safety: every call may be made from any thread; a slot handle must
 * not be used after vgpu_arb_unregister(), an arb handle after close.
 */
#ifndef VGPU_ARB_H
#define VGPU_ARB_H

#include <stdbool.h>
#include <stdint.h>

#include "vgpuif.h"

/* Layout version; also in the file name, so versions never share one. */
#define VGPU_ARB_VERSION      7
#define VGPU_ARB_DEFAULT_NAME "vgpu-arb"    /* /dev/shm/vgpu-arb.v7     */
#define VGPU_ARB_ENV_NAME     "VGPU_ARB_NAME" /* overrides the default  */

#define VGPU_ARB_MAX_GPUS     16u
#define VGPU_ARB_MAX_POOLS    16u
#define VGPU_ARB_MAX_SLOTS    256u   /* registered domains per host      */
#define VGPU_ARB_MAX_TICKETS  1024u  /* waiting acquire() calls per host */
#define VGPU_ARB_MAX_TOKENS   64u    /* turns per GPU                    */
#define VGPU_ARB_MAX_BURST    256u   /* turns of a domain alone on a GPU */
#define VGPU_ARB_MAX_NAME     128u   /* region name length               */

/* A high domain seen this recently is active (the low gap). */
#define VGPU_ARB_HIGH_WINDOW_NS (2ull * 1000 * 1000)

/* How often a waiter looks for dead turn holders. */
#define VGPU_ARB_POLL_NS      (20ull * 1000 * 1000)

/* acquire() timeout meaning "wait as long as it takes". */
#define VGPU_ARB_FOREVER      UINT64_MAX

struct vgpu_arb;        /* a process's handle on the region       */
struct vgpu_arb_slot;   /* a process's handle on one domain slot  */

/*
 * Host-wide policy. The first process to open a region (or the first one to
 * open it while no live domain is registered) sets it; later openers get the
 * region's config, which vgpu_arb_get_config() returns.
 */
struct vgpu_arb_config {
	uint32_t ngpus;            /* GPUs on this host, 1..MAX_GPUS; default 1 */
	uint32_t tokens;           /* turns per GPU, 1..MAX_TOKENS; default 2   */
	uint32_t burst;            /* turns one domain may hold while it is
				    * alone on its GPU (nobody else holds or
				    * waits): tokens..MAX_BURST; default 16.
				    * A newcomer waits until fewer than
				    * `tokens` are held                       */
	uint32_t high_reserve;     /* of the `tokens` turns, how many only
				    * high-priority domains may take (at most
				    * tokens - 1 is used): a high domain then
				    * never waits for a lower one's op to
				    * finish, only for the GPU. default 1     */
	uint64_t aging_ns;         /* promote one class per aging_ns waited;
				    * 0 = no aging; default 200 ms (a low
				    * waiter is high after 400 ms)           */
	uint64_t low_gap_ns;       /* while a high domain is active on the
				    * GPU: one turn per low_gap_ns for the
				    * other classes together; 0 = none; at
				    * most 1 s; default 10 ms               */
	uint64_t share_window_ns;  /* window of gpu_share_pct; default 100 ms,
				    * at least 1 ms                           */
	uint32_t pool_mask[VGPU_ARB_MAX_POOLS]; /* bit g: pool may use GPU g.
				    * All zero (no pools configured): every
				    * pool id may use every GPU              */
};

/* Defaults as documented above. */
void vgpu_arb_config_default(struct vgpu_arb_config *cfg);
/*
 * Apply the environment on top of *cfg: VGPU_ARB_GPUS (count),
 * VGPU_ARB_TOKENS, VGPU_ARB_BURST, VGPU_ARB_HIGH_RESERVE, VGPU_ARB_AGING_MS,
 * VGPU_ARB_LOW_GAP_US, VGPU_ARB_SHARE_WINDOW_MS,
 * VGPU_ARB_POOLS (as vgpu_arb_parse_pools). -EINVAL with *why on bad values.
 */
int  vgpu_arb_config_from_env(struct vgpu_arb_config *cfg, const char **why);
/*
 * Parse "POOL=GPUS[;POOL=GPUS...]", GPUS a comma list of indexes or ranges:
 * "0=0-3;1=4,5". Replaces cfg->pool_mask. -EINVAL with *why when malformed,
 * a pool or GPU index is out of range, or a GPU >= cfg->ngpus.
 */
int  vgpu_arb_parse_pools(const char *s, struct vgpu_arb_config *cfg,
			  const char **why);
/* Check a config; 0 or -EINVAL with *why. */
int  vgpu_arb_config_check(const struct vgpu_arb_config *cfg, const char **why);

/* "high"|"medium"|"low" (or "0".."2") -> VGPUIF_PRIO_*; else -EINVAL. */
int  vgpu_arb_parse_priority(const char *s);
const char *vgpu_arb_priority_name(uint32_t prio); /* "?" when invalid */

/* vgpu_arb_open() flags */
#define VGPU_ARB_NOCREATE  0x1u  /* fail with -ENOENT if the region is absent
				  * (vgpu-smi)                               */

/*
 * Open (creating when absent) region `name` (NULL: $VGPU_ARB_NAME, else
 * VGPU_ARB_DEFAULT_NAME), the file /dev/shm/NAME.vVERSION. A name is
 * 1..VGPU_ARB_MAX_NAME characters of [A-Za-z0-9._-], not starting with '.'.
 * cfg NULL = defaults + environment. The region file is mode 0600: only
 * root's backends share it. -EPROTO when the file has the wrong size (not
 * made by this code).
 */
int  vgpu_arb_open(struct vgpu_arb **out, const char *name,
		   const struct vgpu_arb_config *cfg, unsigned int flags,
		   const char **why);
void vgpu_arb_close(struct vgpu_arb *arb);
/* Remove a region's file (tests; an operator after the last backend). */
int  vgpu_arb_unlink(const char *name);
const char *vgpu_arb_name(const struct vgpu_arb *arb);
void vgpu_arb_get_config(struct vgpu_arb *arb, struct vgpu_arb_config *cfg);
/*
 * Operator-readable notes (a dead backend's turn reclaimed, a repaired
 * lock) go to this callback; none by default. level as vgpuback_log.
 */
void vgpu_arb_set_log(struct vgpu_arb *arb,
		      void (*log)(void *arg, int level, const char *msg),
		      void *arg);

/* One domain (one backend), as the operator configured it in XenStore. */
struct vgpu_arb_domain {
	uint32_t domid;          /* < 0x7ff0 (DOMID_FIRST_RESERVED)          */
	uint32_t devid;
	uint32_t priority;       /* VGPUIF_PRIO_*                            */
	uint32_t pool;           /* < MAX_POOLS, a pool with GPUs            */
	int32_t  gpu;            /* -1: least-loaded GPU of the pool         */
	uint32_t gpu_share_pct;  /* 0 = no cap, else 1..100                  */
	uint64_t mem_quota;      /* bytes; 0 = no quota                      */
	uint64_t ctx_overhead;   /* bytes its GPU context takes (executor)   */
};

/*
 * Register a domain. Errors: -EINVAL (bad field), -ENOENT (pool has no GPU),
 * -EPERM (gpu not in the pool), -EBUSY (domid/devid registered by a live
 * process), -ENOSPC (slot table full). A slot left by a dead process is
 * taken over (its counters start again from zero).
 */
int  vgpu_arb_register(struct vgpu_arb *arb, const struct vgpu_arb_domain *d,
		       struct vgpu_arb_slot **out);
/* Gives back every turn the slot still holds, drops its waiters' tickets. */
void vgpu_arb_unregister(struct vgpu_arb_slot *slot);
/* The GPU ordinal the slot was placed on (for vgpu_exec_config.device). */
int  vgpu_arb_slot_gpu(const struct vgpu_arb_slot *slot);
/* Operator changed XenStore: new priority / quota / share take effect now. */
int  vgpu_arb_set_priority(struct vgpu_arb_slot *slot, uint32_t prio);
int  vgpu_arb_set_quota(struct vgpu_arb_slot *slot, uint64_t mem_quota);
int  vgpu_arb_set_share(struct vgpu_arb_slot *slot, uint32_t gpu_share_pct);
/* The executor measured its context again (a new GPU worker). */
int  vgpu_arb_set_overhead(struct vgpu_arb_slot *slot, uint64_t ctx_overhead);

/*
 * Wait for a turn on the slot's GPU. 0: the caller holds one turn and must
 * give it back with vgpu_arb_release() exactly once. -ETIMEDOUT after
 * timeout_ns (VGPU_ARB_FOREVER: never); -ENOSPC when the ticket table is
 * full; -ESTALE when the slot was taken from this process; -ENOTRECOVERABLE
 * when the region's lock is beyond repair; -ECANCELED after
 * vgpu_arb_cancel(). A waiter keeps its place (arrival order, aging) for
 * the whole call: wait in one call, not in slices.
 */
int  vgpu_arb_acquire(struct vgpu_arb_slot *slot, uint64_t timeout_ns);
/*
 * acquire() that also gives up (-ECANCELED, place in the queue dropped)
 * once stop(arg) returns true; stop is called with the region locked at
 * least every VGPU_ARB_POLL_NS while waiting, so it must be quick and must
 * not call the arbiter.
 */
int  vgpu_arb_acquire_until(struct vgpu_arb_slot *slot, uint64_t timeout_ns,
			    bool (*stop)(void *arg), void *arg);
/*
 * Make every acquire() on this slot handle, waiting now or later, return
 * -ECANCELED (shutdown of the thread that waits). Sticky.
 */
void vgpu_arb_cancel(struct vgpu_arb_slot *slot);
/* Give back a turn; gpu_ns is the op's execution time. -EINVAL if no turn
 * is held. */
int  vgpu_arb_release(struct vgpu_arb_slot *slot, uint64_t gpu_ns);

/*
 * Memory accounting against mem-quota: reserve before MEM_ALLOC (0, or
 * VGPUIF_RSP_EDQUOT when used + bytes would pass the quota; bytes 0 is
 * VGPUIF_RSP_EINVAL), release after MEM_FREE / context destroy.
 * mem_release of more than is reserved clamps to 0 and returns -EINVAL.
 */
int  vgpu_arb_mem_reserve(struct vgpu_arb_slot *slot, uint64_t bytes);
int  vgpu_arb_mem_release(struct vgpu_arb_slot *slot, uint64_t bytes);

/*
 * Is a domain of a higher priority than the slot's using its GPU: holding
 * a turn, holding requests, or seen within window_ns? A hint for the
 * executor (the slot's own work then goes to the GPU in small pieces), read
 * without the region's lock; false for a high-priority slot.
 */
bool vgpu_arb_higher_active(struct vgpu_arb_slot *slot, uint64_t window_ns);

/* Requests the backend holds for the domain now (received, unanswered). */
void vgpu_arb_set_queue(struct vgpu_arb_slot *slot, uint32_t n);

/* Requests answered and how many of them with an error status. */
void vgpu_arb_count(struct vgpu_arb_slot *slot, uint64_t requests,
		    uint64_t errors);

/*
 * Allocations the backend refused itself (its own quota check, dom0's host
 * memory, a module past the quota): counted with the arbiter's own quota
 * refusals (vgpu-smi's REFUSED), not as errors.
 */
void vgpu_arb_count_refused(struct vgpu_arb_slot *slot, uint64_t n);

/* The ops that need a turn: those that put work on the GPU. */
bool vgpu_arb_op_needs_turn(uint8_t opcode);

/* ---- snapshot, for vgpu-smi and tests ---------------------------------- */

struct vgpu_arb_gpu_info {
	uint32_t index;
	uint32_t tokens;         /* turns                                  */
	uint32_t in_use;         /* turns held now                         */
	uint32_t waiting;        /* acquire() calls waiting now            */
	uint32_t domains;        /* live slots placed on it                */
	uint32_t _pad;
	uint64_t busy_ns;        /* time with at least one turn held       */
	uint64_t grants;         /* turns granted                          */
	uint64_t low_gated;      /* of which to a non-high waiter that the
				  * low gap held back                      */
};

struct vgpu_arb_domain_info {
	uint32_t domid, devid, priority, pool, gpu, gpu_share_pct;
	int32_t  pid;            /* the backend's                          */
	uint32_t alive;          /* pid exists                             */
	uint32_t waiting;        /* its acquire() calls waiting now        */
	uint32_t inflight;       /* turns it holds now                     */
	uint32_t queue;          /* requests its backend holds (set_queue) */
	uint32_t _pad;
	uint64_t mem_used, mem_peak, mem_quota;
	uint64_t ctx_overhead;   /* its GPU context's own device memory    */
	uint64_t requests, errors, quota_refusals;
	uint64_t gpu_ns;         /* GPU time, as told by release()         */
	uint64_t grants;         /* turns granted                          */
	uint64_t wait_ns;        /* total time its acquires waited         */
	uint64_t aged;           /* grants won by aging                    */
	uint64_t last_grant;     /* its GPU's `grants` when it last got a
				  * turn: the order of service             */
	uint64_t registered_ns;  /* CLOCK_MONOTONIC                        */
	uint64_t last_seen_ns;   /* last call from the backend             */
};

struct vgpu_arb_snapshot {
	uint64_t now_ns;         /* CLOCK_MONOTONIC when taken             */
	struct vgpu_arb_config cfg;
	uint64_t repairs;        /* dead lock holders recovered            */
	uint64_t reaped;         /* slots of dead processes reclaimed      */
	uint32_t ngpus;
	uint32_t ndomains;
	struct vgpu_arb_gpu_info gpu[VGPU_ARB_MAX_GPUS];
	struct vgpu_arb_domain_info dom[VGPU_ARB_MAX_SLOTS]; /* by domid */
};

/* A consistent copy of the region (taken under its lock). */
int  vgpu_arb_snapshot(struct vgpu_arb *arb, struct vgpu_arb_snapshot *snap);

/* ---- test hooks --------------------------------------------------------- */

/* Replace this handle's clock (tests of aging); NULL restores. */
void vgpu_arb_debug_set_clock(struct vgpu_arb *arb,
			      uint64_t (*now)(void *arg), void *arg);
/* Take the region's lock and return holding it (a test then kills -9). */
int  vgpu_arb_debug_hold_lock(struct vgpu_arb *arb);
void vgpu_arb_debug_drop_lock(struct vgpu_arb *arb);

#endif /* VGPU_ARB_H */
