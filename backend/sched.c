/* SPDX-License-Identifier: MIT */
/*
 * sched.c - the one hook between the backend's execute stage and the
 * executor: the dom0-wide arbiter (mediator-cuda/arbiter.h) plugs in here.
 * Nothing else in the backend knows about it.
 *
 *   submit    an op that puts work on the GPU (vgpu_arb_op_needs_turn)
 *             first waits for a turn on this domain's GPU, at the domain's
 *             priority; MEM_ALLOC is checked against mem-quota in the
 *             arbiter's host-wide accounting;
 *   done()    (executor thread) gives the turn back at once and accounts
 *             the op's GPU time (exec_ns): the turn must not wait for the
 *             ring thread, which may itself be waiting for the next turn;
 *   complete  (ring thread) mirrors requests, errors and memory into the
 *             domain's slot, which vgpu-smi reads.
 *
 * The domain registers lazily, at its first op that reaches this hook, so
 * that the operator's priority/pool/mem-quota (read from XenStore after
 * init) are known; later changes of priority and quota are passed on, a
 * change of pool re-registers. Host-wide policy comes from the environment
 * (VGPU_ARB_NAME, VGPU_ARB_TOKENS, VGPU_ARB_AGING_MS, VGPU_ARB_POOLS, ...;
 * see arbiter.h); VGPU_ARB=off runs without an arbiter. If the region
 * cannot be used the backend says so once and serves its domain without
 * arbitration rather than refusing GPU work.
 *
 * Threading: everything here runs on the ring thread except sched_done(),
 * which touches only the arbiter (thread-safe) and the request.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "arbiter.h"
#include "common.h"
#include "log.h"

/* A GPU op waits at most this long for a turn, then gets EAGAIN. */
#define SCHED_ACQUIRE_TIMEOUT_NS (30ull * 1000 * 1000 * 1000)

/* req->sched_priv marks a request that holds a turn. */
#define SCHED_HOLDS_TURN ((void *)1)

struct sched_state {
	struct vgpu_arb *arb;
	struct vgpu_arb_slot *slot;
	bool disabled;              /* off, or the region is unusable       */
	bool refused;               /* registration refused: ops get EPERM  */
	uint32_t priority, pool;    /* as registered                        */
	uint64_t mem_quota;
	uint64_t mem_synced;        /* bytes the slot holds for us          */
	uint64_t responses_synced, errors_synced;
	void (*exec_done)(struct vgpu_exec_op *op, int status);
};

static void sched_log(void *arg, int level, const char *msg)
{
	(void)arg;
	vgpuback_log(level, "%s", msg);
}

int vgpuback_sched_init(struct vgpuback_device *dev)
{
	struct sched_state *st = calloc(1, sizeof(*st));
	const char *v = getenv("VGPU_ARB");

	if (!st)
		return -ENOMEM;
	if (v && (!strcmp(v, "off") || !strcmp(v, "0"))) {
		vb_info("arbiter off (VGPU_ARB=%s): GPU ops are not arbitrated", v);
		st->disabled = true;
	}
	dev->sched = st;
	return 0;
}

void vgpuback_sched_uninit(struct vgpuback_device *dev)
{
	struct sched_state *st = dev->sched;

	if (!st)
		return;
	vgpu_arb_unregister(st->slot);
	vgpu_arb_close(st->arb);
	free(st);
	dev->sched = NULL;
}

static int sched_register(struct vgpuback_device *dev, struct sched_state *st)
{
	struct vgpu_arb_domain d = {
		.domid = dev->domid,
		.devid = dev->devid,
		.priority = dev->priority,
		.pool = dev->pool,
		.gpu = dev->cfg->gpu >= 0 ? dev->cfg->gpu : -1,
		.mem_quota = dev->policy.mem_quota,
	};
	const char *why = NULL;
	int rc;

	if (!st->arb) {
		rc = vgpu_arb_open(&st->arb, NULL, NULL, 0, &why);
		if (rc) {
			vb_err("arbiter unusable (%s: %s); serving this domain "
			       "without GPU arbitration", why ? why : "open failed",
			       strerror(-rc));
			st->disabled = true;
			return 0;
		}
		vgpu_arb_set_log(st->arb, sched_log, NULL);
	}
	rc = vgpu_arb_register(st->arb, &d, &st->slot);
	switch (rc) {
	case 0:
		break;
	case -EBUSY:
		vb_err("arbiter: domain %u device %u is registered by another "
		       "live backend; serving without GPU arbitration",
		       dev->domid, dev->devid);
		st->disabled = true;
		return 0;
	case -ENOENT:
	case -EPERM:
		/* The operator's pool excludes this backend's GPU: refuse. */
		vb_err("arbiter: pool %u %s GPU %d; refusing GPU work (fix the "
		       "domain's pool or the backend's --gpu)", dev->pool,
		       rc == -ENOENT ? "has no GPU, not even" : "does not include",
		       dev->cfg->gpu);
		st->refused = true;
		st->pool = dev->pool;
		return VGPUIF_RSP_EPERM;
	default:
		vb_err("arbiter: cannot register (%s); serving without GPU "
		       "arbitration", strerror(-rc));
		st->disabled = true;
		return 0;
	}
	st->priority = dev->priority;
	st->pool = dev->pool;
	st->mem_quota = dev->policy.mem_quota;
	st->mem_synced = 0;
	st->refused = false;
	vb_info("arbiter %s: priority %s, pool %u, GPU %d, mem-quota %llu",
		vgpu_arb_name(st->arb), vgpu_arb_priority_name(dev->priority),
		dev->pool, vgpu_arb_slot_gpu(st->slot),
		(unsigned long long)dev->policy.mem_quota);
	return 0;
}

/* Pass on what changed in XenStore; register at first use. */
static int sched_update(struct vgpuback_device *dev, struct sched_state *st)
{
	if (st->disabled)
		return 0;
	if ((st->slot || st->refused) && dev->pool != st->pool) {
		vb_info("arbiter: pool changed %u -> %u; registering again",
			st->pool, dev->pool);
		vgpu_arb_unregister(st->slot);
		st->slot = NULL;
		st->refused = false;
	}
	if (st->refused)
		return VGPUIF_RSP_EPERM;
	if (!st->slot)
		return sched_register(dev, st);
	if (dev->priority != st->priority &&
	    vgpu_arb_set_priority(st->slot, dev->priority) == 0)
		st->priority = dev->priority;
	if (dev->policy.mem_quota != st->mem_quota &&
	    vgpu_arb_set_quota(st->slot, dev->policy.mem_quota) == 0)
		st->mem_quota = dev->policy.mem_quota;
	return 0;
}

/* Mirror the backend's memory (its tables are the truth) into the slot. */
static void sched_sync_mem(struct sched_state *st, uint64_t target)
{
	if (target < st->mem_synced) {
		vgpu_arb_mem_release(st->slot, st->mem_synced - target);
		st->mem_synced = target;
	} else if (target > st->mem_synced &&
		   vgpu_arb_mem_reserve(st->slot, target - st->mem_synced) == 0) {
		st->mem_synced = target;
	}
}

static void sched_sync_counts(struct vgpuback_device *dev, struct sched_state *st)
{
	uint64_t rsp = dev->stats.responses, err = dev->stats.errors;

	if (rsp == st->responses_synced && err == st->errors_synced)
		return;
	vgpu_arb_count(st->slot, rsp - st->responses_synced,
		       err - st->errors_synced);
	st->responses_synced = rsp;
	st->errors_synced = err;
}

/* done() from the executor: give the turn back first, then the backend's. */
static void sched_done(struct vgpu_exec_op *op, int status)
{
	struct vgpuback_req *r = op->priv;
	struct sched_state *st = r->dev->sched;

	if (r->sched_priv == SCHED_HOLDS_TURN) {
		r->sched_priv = NULL;
		vgpu_arb_release(st->slot, op->exec_ns);
	}
	st->exec_done(op, status);
}

int vgpuback_sched_submit(struct vgpuback_device *dev, struct vgpuback_req *req)
{
	struct sched_state *st = dev->sched;
	struct vgpu_exec_op *e = &req->eop;
	int rc;

	if (!dev->exec)
		return VGPUIF_RSP_EIO;
	if (!st || st->disabled)
		return vgpu_exec_submit(dev->exec, e);
	rc = sched_update(dev, st);
	if (rc)
		return rc;
	if (st->disabled)      /* registration gave up just now */
		return vgpu_exec_submit(dev->exec, e);
	sched_sync_counts(dev, st);

	if (req->op == VGPUIF_OP_MEM_ALLOC) {
		/* handles.mem_used already counts this allocation. */
		uint64_t size = e->u.mem_alloc.size;
		uint64_t before = dev->handles.mem_used >= size ?
				  dev->handles.mem_used - size : 0;

		sched_sync_mem(st, before);
		rc = vgpu_arb_mem_reserve(st->slot, size);
		if (rc)
			return rc;  /* VGPUIF_RSP_EDQUOT: host-wide quota */
		st->mem_synced += size;
	}

	req->sched_priv = NULL;
	if (vgpu_arb_op_needs_turn(req->op)) {
		rc = vgpu_arb_acquire(st->slot, SCHED_ACQUIRE_TIMEOUT_NS);
		if (rc == -ESTALE || rc == -ENOTRECOVERABLE) {
			vb_err("arbiter: lost our slot (%s); serving without GPU "
			       "arbitration", strerror(-rc));
			st->slot = NULL;  /* already gone from the region */
			st->disabled = true;
			return vgpu_exec_submit(dev->exec, e);
		}
		if (rc) {
			vb_warn_rl("arbiter: no GPU turn for %s within %llu s (%s); "
				   "answering EAGAIN", vgpuif_op_name(req->op),
				   SCHED_ACQUIRE_TIMEOUT_NS / 1000000000ull,
				   strerror(-rc));
			return VGPUIF_RSP_EAGAIN;
		}
		req->sched_priv = SCHED_HOLDS_TURN;
		st->exec_done = e->done;
		e->done = sched_done;
	}
	rc = vgpu_exec_submit(dev->exec, e);
	if (rc && req->sched_priv == SCHED_HOLDS_TURN) {
		/* Refused at once: done() will not come. */
		req->sched_priv = NULL;
		vgpu_arb_release(st->slot, 0);
	}
	return rc;
}

void vgpuback_sched_complete(struct vgpuback_device *dev,
			     struct vgpuback_req *req)
{
	struct sched_state *st = dev->sched;

	(void)req;
	if (!st || st->disabled || !st->slot)
		return;
	/*
	 * The response is not counted yet (it goes out after this hook):
	 * count it here so an idle domain's figures are complete.
	 */
	sched_sync_counts(dev, st);
	vgpu_arb_count(st->slot, 1, req->status ? 1 : 0);
	st->responses_synced++;
	if (req->status)
		st->errors_synced++;
	/* A failed MEM_ALLOC leaves handles.mem_used right after finish(). */
	if (req->op == VGPUIF_OP_MEM_ALLOC && req->status) {
		uint64_t size = req->eop.u.mem_alloc.size;
		uint64_t after = dev->handles.mem_used >= size ?
				 dev->handles.mem_used - size : 0;
		sched_sync_mem(st, after);
	} else if (req->op == VGPUIF_OP_MEM_FREE && !req->status && req->freeobj) {
		uint64_t size = req->freeobj->size;
		sched_sync_mem(st, dev->handles.mem_used >= size ?
				   dev->handles.mem_used - size : 0);
	} else {
		sched_sync_mem(st, dev->handles.mem_used);
	}
}
