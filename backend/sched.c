/* SPDX-License-Identifier: MIT */
/*
 * sched.c - the one hook between the backend's execute stage and the
 * executor: the dom0-wide arbiter (mediator-cuda/arbiter.h) plugs in here.
 * Nothing else in the backend knows about it.
 *
 *   submit    (ring thread) an op that puts work on the GPU
 *             (vgpu_arb_op_needs_turn) needs a turn on this domain's GPU,
 *             given at the domain's priority. When one is free at once the
 *             op goes straight to the executor; otherwise it joins this
 *             backend's FIFO and the submitter thread waits for the turn
 *             and submits it. Once anything waits in the FIFO every later
 *             op (whatever its kind) queues behind it, so the executor sees
 *             ops in ring order. The ring thread never blocks on the
 *             arbiter. MEM_ALLOC is also checked against mem-quota in the
 *             arbiter's host-wide accounting;
 *   done()    (executor thread) gives the turn back at once and accounts the
 *             op's GPU time (exec_ns);
 *   complete  (ring thread) mirrors requests, errors and memory into the
 *             domain's slot, which vgpu-smi reads.
 *
 * The domain registers at its first op that reaches this hook, so that the
 * operator's priority/pool/mem-quota (read from XenStore after init) are
 * known; later changes of priority and quota are passed on; a new pool
 * takes effect when the backend restarts. Host-wide policy comes from the
 * environment (VGPU_ARB_NAME, VGPU_ARB_TOKENS, VGPU_ARB_AGING_MS,
 * VGPU_ARB_POOLS, ...; see arbiter.h); VGPU_ARB=off runs without an
 * arbiter. If the region cannot be used the backend says so once and
 * serves its domain without arbitration rather than refusing GPU work.
 *
 * Locking: st->lock protects the FIFO and `pending`, and is held around
 * every vgpu_exec_submit() of this backend, so submissions from the ring
 * thread and the submitter thread are serialised in ring order. The arbiter
 * and the slot handle are thread-safe.
 */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "arbiter.h"
#include "common.h"
#include "log.h"

/* req->sched_priv marks a request that holds a turn. */
#define SCHED_HOLDS_TURN ((void *)1)

struct sched_item {
	struct vgpuback_req *req;
	bool needs_turn;
	struct sched_item *next;
};

struct sched_state {
	struct vgpuback_device *dev;
	struct vgpu_arb *arb;
	struct vgpu_arb_slot *slot;
	bool disabled;              /* off, or the region is unusable       */
	bool refused;               /* pool excludes our GPU: EPERM         */
	uint32_t priority, pool;    /* as registered                        */
	bool yield;                 /* lock (atomic store): a higher domain
				     * uses the GPU                         */
	bool slice;                 /* pass the hint to the executor (its
				     * slicing): only without the low gap  */
	bool poll_yield;            /* no polling then (VGPU_POLL_YIELD=0:
				     * poll anyway, to measure it)          */
	uint64_t yield_checked_ns;  /* lock: when that was looked up        */
	uint64_t mem_quota;
	uint64_t ctx_overhead;      /* as the slot shows it                 */
	uint32_t gpu_share;         /* percent, 0 = no cap                  */
	uint64_t mem_synced;        /* bytes the slot holds for us          */
	uint64_t responses_synced, errors_synced;
	uint64_t refused_synced;    /* refusals the slot counts for us      */
	void (*exec_done)(struct vgpu_exec_op *op, int status);

	pthread_mutex_t lock;       /* FIFO, pending, stopping; submits     */
	pthread_cond_t cond;        /* FIFO not empty, or stopping          */
	struct sched_item *head, *tail;
	uint32_t pending;           /* queued, or taken but not submitted   */
	bool stopping;
	bool thread_started;
	pthread_t thread;
};

static void sched_log(void *arg, int level, const char *msg)
{
	(void)arg;
	vgpuback_log(level, "%s", msg);
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

/*
 * Below high priority: is a higher domain using the GPU (st->lock held)?
 * The arbiter's hint, looked up at most every SCHED_YIELD_EVERY_NS; the
 * executor then puts this domain's work on the GPU in small pieces.
 */
#define SCHED_YIELD_EVERY_NS  (500ull * 1000)
#define SCHED_YIELD_WINDOW_NS (2ull * 1000 * 1000)

static bool sched_yield_hint(struct sched_state *st)
{
	uint64_t now;

	if (st->priority == VGPUIF_PRIO_HIGH || !st->slot)
		return false;
	now = vgpuback_now_ns();
	if (now - st->yield_checked_ns >= SCHED_YIELD_EVERY_NS) {
		__atomic_store_n(&st->yield, vgpu_arb_higher_active(st->slot,
				 SCHED_YIELD_WINDOW_NS), __ATOMIC_RELAXED);
		st->yield_checked_ns = now;
	}
	return st->yield;
}

/* Hand one op to the executor; st->lock held. done() comes either way. */
static void sched_submit_locked(struct sched_state *st, struct vgpuback_req *r,
				bool turn)
{
	struct vgpu_exec_op *e = &r->eop;
	int rc;

	if (!st->dev->exec) {  /* closed by a shutdown that timed out */
		if (turn)
			vgpu_arb_release(st->slot, 0);
		e->done(e, VGPUIF_RSP_ESHUTDOWN);
		return;
	}
	r->sched_priv = turn ? SCHED_HOLDS_TURN : NULL;
	if (turn) {
		st->exec_done = e->done;
		e->done = sched_done;
		/*
		 * The hint (poll-us auto reads it too); to the executor only
		 * while the arbiter keeps no low gap: with one, each slice
		 * would be one more GPU context switch in the high domain's
		 * way (GPU batch B: 7.3x with slicing, 1.2x without).
		 */
		e->yield = sched_yield_hint(st) && st->slice;
	}
	rc = vgpu_exec_submit(st->dev->exec, e);
	if (rc) {
		/* Refused at once: done() will not come from the executor. */
		if (r->sched_priv == SCHED_HOLDS_TURN) {
			r->sched_priv = NULL;
			vgpu_arb_release(st->slot, 0);
		}
		if (turn)
			e->done = st->exec_done;
		e->done(e, rc < 0 ? rc : VGPUIF_RSP_EIO);
	}
}

/* The wait for a turn ends early on SIGTERM (acquire_until's stop). */
static bool sched_stop_waiting(void *arg)
{
	struct sched_state *st = arg;

	return __atomic_load_n(&st->dev->shutting_down, __ATOMIC_RELAXED);
}

/* The submitter thread: turns for the FIFO's head, in order. */
static void *sched_thread(void *arg)
{
	struct sched_state *st = arg;

	/* Named, so that per-thread figures (top -H, /proc) say who it is. */
	pthread_setname_np(pthread_self(), "vb-submit");
	vgpuback_log(VGPUBACK_LOG_DEBUG, "arbiter submitter thread running");
	pthread_mutex_lock(&st->lock);
	for (;;) {
		struct sched_item *it;
		bool turn = false;

		while (!st->head && !st->stopping)
			pthread_cond_wait(&st->cond, &st->lock);
		if (!st->head)
			break;  /* stopping and nothing left */
		it = st->head;
		/*
		 * SIGTERM (shutting_down) or teardown: what has not reached
		 * the GPU yet is answered, not run, so the drain is quick and
		 * nothing is submitted while main() closes the executor.
		 */
		if (st->stopping ||
		    __atomic_load_n(&st->dev->shutting_down, __ATOMIC_RELAXED)) {
			st->head = it->next;
			if (!st->head)
				st->tail = NULL;
			st->pending--;
			it->req->eop.done(&it->req->eop, VGPUIF_RSP_ESHUTDOWN);
			free(it);
			continue;
		}
		if (it->needs_turn && !st->disabled) {
			int rc;

			/* Wait without the lock: the ring thread queues on. */
			pthread_mutex_unlock(&st->lock);
			rc = vgpu_arb_acquire_until(st->slot, VGPU_ARB_FOREVER,
						    sched_stop_waiting, st);
			pthread_mutex_lock(&st->lock);
			if (rc == -ECANCELED)
				continue;  /* stopping: answered above */
			if (!rc && sched_stop_waiting(st)) {
				/* SIGTERM while we got it: answer instead */
				vgpu_arb_release(st->slot, 0);
				continue;
			}
			if (rc) {
				vb_err("arbiter: no turn for our ops (%s); serving "
				       "without GPU arbitration", strerror(-rc));
				st->disabled = true;
			} else {
				turn = true;
			}
		}
		st->head = it->next;
		if (!st->head)
			st->tail = NULL;
		sched_submit_locked(st, it->req, turn);
		st->pending--;
		free(it);
	}
	pthread_mutex_unlock(&st->lock);
	return NULL;
}

int vgpuback_sched_init(struct vgpuback_device *dev)
{
	struct sched_state *st = calloc(1, sizeof(*st));
	const char *v = getenv("VGPU_ARB");

	if (!st)
		return -ENOMEM;
	st->dev = dev;
	v = getenv("VGPU_POLL_YIELD");
	st->poll_yield = !(v && !strcmp(v, "0"));
	v = getenv("VGPU_ARB");
	pthread_mutex_init(&st->lock, NULL);
	pthread_cond_init(&st->cond, NULL);
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
	pthread_mutex_lock(&st->lock);
	st->stopping = true;
	pthread_cond_broadcast(&st->cond);
	pthread_mutex_unlock(&st->lock);
	if (st->slot)
		vgpu_arb_cancel(st->slot);  /* the thread may wait for a turn */
	if (st->thread_started)
		pthread_join(st->thread, NULL);  /* submits what is left */
	vgpu_arb_unregister(st->slot);
	vgpu_arb_close(st->arb);
	pthread_cond_destroy(&st->cond);
	pthread_mutex_destroy(&st->lock);
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
		.ctx_overhead = dev->einfo.ctx_overhead,
	};
	const char *why = NULL;
	int rc;

	d.gpu_share_pct = dev->gpu_share;
	rc = vgpu_arb_open(&st->arb, NULL, NULL, 0, &why);
	if (rc) {
		vb_err("arbiter unusable (%s: %s); serving this domain without "
		       "GPU arbitration", why ? why : "open failed", strerror(-rc));
		st->arb = NULL;
		st->disabled = true;
		return 0;
	}
	vgpu_arb_set_log(st->arb, sched_log, NULL);
	{
		struct vgpu_arb_config ac;

		vgpu_arb_get_config(st->arb, &ac);
		st->slice = ac.low_gap_ns == 0;
	}
	rc = vgpu_arb_register(st->arb, &d, &st->slot);
	if (rc == -ENOENT || rc == -EPERM) {
		/* The operator's pool excludes this backend's GPU: refuse. */
		if (rc == -ENOENT)
			vb_err("arbiter: pool %u has no GPU on this host; refusing "
			       "GPU work (fix the domain's pool or VGPU_ARB_POOLS)",
			       dev->pool);
		else
			vb_err("arbiter: pool %u does not include GPU %d; refusing "
			       "GPU work (fix the domain's pool or the backend's "
			       "--gpu)", dev->pool, dev->cfg->gpu);
		st->refused = true;
		return VGPUIF_RSP_EPERM;
	}
	if (rc) {
		vb_err("arbiter: cannot register domain %u device %u (%s); serving "
		       "without GPU arbitration", dev->domid, dev->devid,
		       rc == -EBUSY ? "another live backend has it" : strerror(-rc));
		st->disabled = true;
		return 0;
	}
	rc = pthread_create(&st->thread, NULL, sched_thread, st);
	if (rc) {
		vb_err("arbiter: cannot start the submitter thread (%s); serving "
		       "without GPU arbitration", strerror(rc));
		vgpu_arb_unregister(st->slot);
		st->slot = NULL;
		st->disabled = true;
		return 0;
	}
	st->thread_started = true;
	st->priority = dev->priority;
	st->pool = dev->pool;
	st->mem_quota = dev->policy.mem_quota;
	st->ctx_overhead = d.ctx_overhead;
	st->gpu_share = dev->gpu_share;
	vb_info("arbiter %s: priority %s, pool %u, GPU %d, mem-quota %llu, "
		"gpu-share %u%%%s", vgpu_arb_name(st->arb),
		vgpu_arb_priority_name(dev->priority), dev->pool,
		vgpu_arb_slot_gpu(st->slot),
		(unsigned long long)dev->policy.mem_quota, d.gpu_share_pct,
		d.gpu_share_pct ? "" : " (no cap)");
	return 0;
}

int vgpuback_sched_place(struct vgpuback_device *dev)
{
	struct sched_state *st = dev->sched;
	int fallback = dev->cfg->gpu >= 0 ? dev->cfg->gpu : 0;

	if (!st || st->disabled)
		return fallback;
	if (!st->slot && !st->refused)
		sched_register(dev, st);
	if (!st->slot)
		return fallback;  /* disabled or refused on the way: said why */
	return vgpu_arb_slot_gpu(st->slot);
}

/* Pass on what changed in XenStore; register at first use. */
static int sched_update(struct vgpuback_device *dev, struct sched_state *st)
{
	if (st->disabled)
		return 0;
	if (st->refused)
		return VGPUIF_RSP_EPERM;
	if (!st->slot)
		return sched_register(dev, st);
	if (dev->pool != st->pool) {
		vb_warn("arbiter: pool changed %u -> %u; it takes effect when "
			"the backend restarts", st->pool, dev->pool);
		st->pool = dev->pool;
	}
	if (dev->priority != st->priority &&
	    vgpu_arb_set_priority(st->slot, dev->priority) == 0)
		st->priority = dev->priority;
	if (dev->policy.mem_quota != st->mem_quota &&
	    vgpu_arb_set_quota(st->slot, dev->policy.mem_quota) == 0)
		st->mem_quota = dev->policy.mem_quota;
	if (dev->gpu_share != st->gpu_share &&
	    vgpu_arb_set_share(st->slot, dev->gpu_share) == 0)
		st->gpu_share = dev->gpu_share;
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
	uint64_t ref = dev->stats.refused;

	if (ref != st->refused_synced) {
		vgpu_arb_count_refused(st->slot, ref - st->refused_synced);
		st->refused_synced = ref;
	}
	if (rsp == st->responses_synced && err == st->errors_synced)
		return;
	vgpu_arb_count(st->slot, rsp - st->responses_synced,
		       err - st->errors_synced);
	st->responses_synced = rsp;
	st->errors_synced = err;
}

int vgpuback_sched_submit(struct vgpuback_device *dev, struct vgpuback_req *req)
{
	struct sched_state *st = dev->sched;
	struct sched_item *it;
	bool turn;
	int rc;

	if (!dev->exec)
		return VGPUIF_RSP_EIO;
	if (!st)
		return vgpu_exec_submit(dev->exec, &req->eop);
	rc = sched_update(dev, st);
	if (rc)
		return rc;
	if (!st->slot)   /* disabled: straight through */
		return vgpu_exec_submit(dev->exec, &req->eop);
	sched_sync_counts(dev, st);
	vgpu_arb_set_queue(st->slot, dev->inflight);

	if (req->op == VGPUIF_OP_MEM_ALLOC) {
		/* handles.mem_used already counts this allocation. */
		uint64_t size = req->eop.u.mem_alloc.size;

		sched_sync_mem(st, dev->handles.mem_used >= size ?
				   dev->handles.mem_used - size : 0);
		rc = vgpu_arb_mem_reserve(st->slot, size);
		if (rc) {
			/*
			 * VGPUIF_RSP_EDQUOT: the arbiter counted the refusal;
			 * the answer (next, on this thread) must not again.
			 */
			if (rc == VGPUIF_RSP_EDQUOT)
				st->refused_synced++;
			return rc;
		}
		st->mem_synced += size;
	}

	turn = vgpu_arb_op_needs_turn(req->op);
	pthread_mutex_lock(&st->lock);
	if (!st->pending && (!turn || st->disabled ||
			     vgpu_arb_acquire(st->slot, 0) == 0)) {
		/* Nothing queued before it and a turn (if needed) at once. */
		sched_submit_locked(st, req, turn && !st->disabled);
		pthread_mutex_unlock(&st->lock);
		return 0;
	}
	it = malloc(sizeof(*it));
	if (!it) {
		pthread_mutex_unlock(&st->lock);
		return VGPUIF_RSP_ENOMEM;
	}
	it->req = req;
	it->needs_turn = turn;
	it->next = NULL;
	if (st->tail)
		st->tail->next = it;
	else
		st->head = it;
	st->tail = it;
	st->pending++;
	pthread_cond_signal(&st->cond);
	pthread_mutex_unlock(&st->lock);
	return 0;
}

void vgpuback_sched_complete(struct vgpuback_device *dev,
			     struct vgpuback_req *req)
{
	struct sched_state *st = dev->sched;

	if (!st || !st->slot)
		return;
	/*
	 * The response goes out after this hook: count it here so that a
	 * domain's figures are complete when it falls idle.
	 */
	sched_sync_counts(dev, st);
	if (vgpuback_is_refusal(req->op, req->status)) {
		vgpu_arb_count(st->slot, 1, 0);
		vgpu_arb_count_refused(st->slot, 1);
		st->refused_synced++;
	} else {
		vgpu_arb_count(st->slot, 1, req->status ? 1 : 0);
		if (req->status)
			st->errors_synced++;
	}
	/* dev->inflight still counts this request (answered next). */
	vgpu_arb_set_queue(st->slot, dev->inflight ? dev->inflight - 1 : 0);
	st->responses_synced++;
	if (req->op == VGPUIF_OP_MEM_ALLOC && req->status) {
		/* finish() takes a failed allocation out of mem_used next. */
		uint64_t size = req->eop.u.mem_alloc.size;

		sched_sync_mem(st, dev->handles.mem_used >= size ?
				   dev->handles.mem_used - size : 0);
	} else if ((req->op == VGPUIF_OP_MEM_FREE ||
		    req->op == VGPUIF_OP_MODULE_UNLOAD) &&
		   !req->status && req->freeobj) {
		/* finish() takes the memory (a module's charge) out next */
		uint64_t size = req->freeobj->size;

		sched_sync_mem(st, dev->handles.mem_used >= size ?
				   dev->handles.mem_used - size : 0);
	} else {
		sched_sync_mem(st, dev->handles.mem_used);
	}
}

void vgpuback_sched_exec_info(struct vgpuback_device *dev)
{
	struct sched_state *st = dev->sched;

	if (!st || !st->slot || dev->einfo.ctx_overhead == st->ctx_overhead)
		return;
	if (vgpu_arb_set_overhead(st->slot, dev->einfo.ctx_overhead) == 0)
		st->ctx_overhead = dev->einfo.ctx_overhead;
}

void vgpuback_sched_refused(struct vgpuback_device *dev)
{
	struct sched_state *st = dev->sched;

	if (!st || !dev->exec || sched_update(dev, st) || !st->slot)
		return;
	sched_sync_counts(dev, st);
}

bool vgpuback_sched_yielding(const struct vgpuback_device *dev)
{
	const struct sched_state *st = dev->sched;

	return st && st->poll_yield && __atomic_load_n(&st->yield, __ATOMIC_RELAXED);
}
