/* SPDX-License-Identifier: MIT */
/*
 * context.c - primary and explicit contexts and the per-thread current-
 * context stack.
 *
 * Each active context is one vgpu_t (one context in dom0). The primary
 * context is made at its first retain and closed at its last release or a
 * reset; its CUcontext value stays the same across activations, as CUDA's
 * does. A destroyed context keeps its struct (marked by v == NULL) so that
 * a thread that still has it current gets CUDA_ERROR_CONTEXT_IS_DESTROYED,
 * and a handle that names it gets CUDA_ERROR_INVALID_CONTEXT, never a
 * dangling pointer. As with NVIDIA's driver, destroying a context while
 * another thread is inside a call on it is the program's error.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "runtime.h"

/* The calling thread's current-context stack (top = [depth - 1]). */
static __thread struct lcu_ctx **tls_stack;
static __thread unsigned int tls_depth, tls_cap;
static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;

static pthread_mutex_t prim_lock = PTHREAD_MUTEX_INITIALIZER; /* primary, prim_flags */
static struct lcu_ctx *primary;
static unsigned int prim_flags;
static _Atomic uint64_t next_ctx_id = 1;

_Atomic unsigned int lcu_fault_epoch;
_Atomic CUresult lcu_fault_err = CUDA_SUCCESS;

static void tls_free(void *p)
{
	free(p);
}

static void tls_make_key(void)
{
	pthread_key_create(&tls_key, tls_free);
}

static int stack_push(struct lcu_ctx *c)
{
	if (tls_depth == tls_cap) {
		unsigned int cap = tls_cap ? tls_cap * 2 : 8;
		struct lcu_ctx **n = realloc(tls_stack, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		pthread_once(&tls_once, tls_make_key);
		/* Freed with the thread (the key's destructor). */
		pthread_setspecific(tls_key, n);
		tls_stack = n;
		tls_cap = cap;
	}
	tls_stack[tls_depth++] = c;
	return 0;
}

static struct lcu_ctx *stack_top(void)
{
	return tls_depth ? tls_stack[tls_depth - 1] : NULL;
}

/* ------------------------------------------------------------ helpers */

static struct lcu_ctx *ctx_alloc(CUdevice dev, bool is_primary)
{
	struct lcu_ctx *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->obj.kind = LCU_CTX;
	c->dev = dev;
	c->primary = is_primary;
	pthread_mutex_init(&c->lock, NULL);
	if (lcu_obj_add(&c->obj)) {
		pthread_mutex_destroy(&c->lock);
		free(c);
		return NULL;
	}
	return c;
}

/* The limits a new context starts with (CUDA's documented defaults). */
static void ctx_defaults(struct lcu_ctx *c)
{
	memset(c->limits, 0, sizeof(c->limits));
	c->limits[CU_LIMIT_STACK_SIZE] = 1024;
	c->limits[CU_LIMIT_PRINTF_FIFO_SIZE] = 1u << 20;
	c->limits[CU_LIMIT_MALLOC_HEAP_SIZE] = 8u << 20;
	c->limits[CU_LIMIT_DEV_RUNTIME_SYNC_DEPTH] = 2;
	c->limits[CU_LIMIT_DEV_RUNTIME_PENDING_LAUNCH_COUNT] = 2048;
	c->limits[CU_LIMIT_MAX_L2_FETCH_GRANULARITY] = 32;
	c->limits[CU_LIMIT_PERSISTING_L2_CACHE_SIZE] = 0;
	c->cache_config = CU_FUNC_CACHE_PREFER_NONE;
	c->lost = false;
	c->lost_err = CUDA_SUCCESS;
}

/* Opens the context's vgpu_t (a context in dom0). */
static CUresult ctx_activate(struct lcu_ctx *c, unsigned int flags)
{
	vgpu_t *v;
	int rc;

	rc = vgpu_open(lcu_dev->device, &v);
	if (rc) {
		lcu_log("cannot make a context on %s: %s", lcu_dev->device,
			vgpu_open_error()[0] ? vgpu_open_error() : vgpu_strerror(rc));
		return rc == -ENOMEM || rc == -EMFILE ? CUDA_ERROR_OUT_OF_MEMORY
						      : CUDA_ERROR_UNKNOWN;
	}
	pthread_mutex_lock(&c->lock);
	ctx_defaults(c);
	c->flags = flags;
	c->id = atomic_fetch_add(&next_ctx_id, 1);
	c->epoch = atomic_load(&lcu_fault_epoch);
	c->gen++;
	c->v = v;
	pthread_mutex_unlock(&c->lock);
	return CUDA_SUCCESS;
}

/*
 * Frees everything of an active context: the runtime's per-context state
 * first (its destructors may still call the driver on c), then this
 * library's bookkeeping, then the context in dom0 (which frees its memory,
 * modules, streams and events there).
 */
static void ctx_teardown(struct lcu_ctx *c)
{
	vgpu_t *v;

	vgpu_rt_context_gone((CUcontext)c);
	lcu_modules_drop(c);
	lcu_streams_drop(c);
	lcu_mem_drop_ctx(c);
	pthread_mutex_lock(&c->lock);
	v = c->v;
	c->v = NULL;
	pthread_mutex_unlock(&c->lock);
	vgpu_close(v);
}

/*
 * c (its lock held) is lost: its own fault, or one in another context of
 * the domain since it was activated (which it then records as its own).
 */
static bool ctx_lost_locked(struct lcu_ctx *c)
{
	if (!c->lost && c->epoch != atomic_load(&lcu_fault_epoch)) {
		c->lost = true;
		c->lost_err = atomic_load(&lcu_fault_err);
	}
	return c->lost;
}

static bool sched_flags_ok(unsigned int flags)
{
	unsigned int sched = flags & CU_CTX_SCHED_MASK;

	if (flags & ~(unsigned int)(CU_CTX_SCHED_MASK | CU_CTX_MAP_HOST |
				    CU_CTX_LMEM_RESIZE_TO_MAX | CU_CTX_COREDUMP_ENABLE |
				    CU_CTX_USER_COREDUMP_ENABLE | CU_CTX_SYNC_MEMOPS))
		return false;
	return sched == CU_CTX_SCHED_AUTO || sched == CU_CTX_SCHED_SPIN ||
	       sched == CU_CTX_SCHED_YIELD || sched == CU_CTX_SCHED_BLOCKING_SYNC;
}

CUresult lcu_ctx_current(struct lcu_ctx **out)
{
	CUresult r = lcu_init_check();
	struct lcu_ctx *c;

	if (r != CUDA_SUCCESS)
		return r;
	c = stack_top();
	if (!c)
		return CUDA_ERROR_INVALID_CONTEXT;
	pthread_mutex_lock(&c->lock);
	if (!c->v)
		r = CUDA_ERROR_CONTEXT_IS_DESTROYED;
	else if (ctx_lost_locked(c))
		r = c->lost_err;
	pthread_mutex_unlock(&c->lock);
	if (r == CUDA_SUCCESS)
		*out = c;
	return r;
}

CUresult lcu_ctx_current_destroyed(void)
{
	struct lcu_ctx *c = stack_top();
	CUresult r = CUDA_SUCCESS;

	if (!c)
		return r;
	pthread_mutex_lock(&c->lock);
	if (!c->v)
		r = CUDA_ERROR_CONTEXT_IS_DESTROYED;
	pthread_mutex_unlock(&c->lock);
	return r;
}

CUresult lcu_ctx_use(CUcontext h, struct lcu_ctx **out)
{
	CUresult r;
	struct lcu_ctx *c;

	if (!h)
		return lcu_ctx_current(out);
	r = lcu_init_check();
	if (r != CUDA_SUCCESS)
		return r;
	c = (struct lcu_ctx *)lcu_obj_get(h, LCU_CTX);
	if (!c)
		return CUDA_ERROR_INVALID_CONTEXT;
	pthread_mutex_lock(&c->lock);
	if (!c->v)
		r = CUDA_ERROR_INVALID_CONTEXT;
	else if (ctx_lost_locked(c))
		r = c->lost_err;
	pthread_mutex_unlock(&c->lock);
	if (r == CUDA_SUCCESS)
		*out = c;
	return r;
}

vgpu_t *lcu_ctx_vgpu(struct lcu_ctx *c, CUresult *err)
{
	vgpu_t *v;

	pthread_mutex_lock(&c->lock);
	v = c->v;
	if (!v)
		*err = CUDA_ERROR_CONTEXT_IS_DESTROYED;
	else if (ctx_lost_locked(c)) {
		*err = c->lost_err;
		v = NULL;
	}
	pthread_mutex_unlock(&c->lock);
	return v;
}

CUresult lcu_ctx_result(struct lcu_ctx *c, int rc, enum lcu_op what)
{
	CUresult r = lcu_err_of(rc, what);

	if (rc == -EREMOTEIO || rc == -ETIMEDOUT) {
		pthread_mutex_lock(&c->lock);
		if (!ctx_lost_locked(c)) {
			c->lost = true;
			c->lost_err = r;
			/* The error first: a context that sees the new epoch reads it. */
			atomic_store(&lcu_fault_err, r);
			atomic_fetch_add(&lcu_fault_epoch, 1);
			c->epoch = atomic_load(&lcu_fault_epoch);
			lcu_log("context %llu lost its GPU state (%s), and with it every "
				"context of this domain: every later call in them fails; "
				"destroy them (or reset the device) and make new ones",
				(unsigned long long)c->id, lcu_result_name(r));
		}
		pthread_mutex_unlock(&c->lock);
	}
	return r;
}

/* ---------------------------------------------------- primary context */

static CUresult primary_retain(CUcontext *pctx, CUdevice dev)
{
	CUresult r = lcu_dev_check(dev);

	if (r != CUDA_SUCCESS)
		return r;
	if (!pctx)
		return CUDA_ERROR_INVALID_VALUE;
	pthread_mutex_lock(&prim_lock);
	if (!primary && !(primary = ctx_alloc(dev, true))) {
		r = CUDA_ERROR_OUT_OF_MEMORY;
		goto out;
	}
	if (primary->refs == 0) {
		r = ctx_activate(primary, prim_flags);
		if (r != CUDA_SUCCESS)
			goto out;
	}
	primary->refs++;
	*pctx = (CUcontext)primary;
out:
	pthread_mutex_unlock(&prim_lock);
	return r;
}

LCU_API CUresult CUDAAPI cuDevicePrimaryCtxRetain(CUcontext *pctx, CUdevice dev)
{
	CUresult r = primary_retain(pctx, dev);

	return LCU_TRACE("cuDevicePrimaryCtxRetain", r, "(%p, %d) -> %p", (void *)pctx, dev,
			 r ? NULL : (void *)*pctx);
}

static CUresult primary_release(CUdevice dev)
{
	CUresult r = lcu_dev_check(dev);
	struct lcu_ctx *c = NULL;

	if (r != CUDA_SUCCESS)
		return r;
	pthread_mutex_lock(&prim_lock);
	if (!primary || primary->refs == 0) {
		r = CUDA_ERROR_INVALID_CONTEXT;
	} else if (--primary->refs == 0) {
		c = primary;
	}
	pthread_mutex_unlock(&prim_lock);
	/*
	 * Teardown outside prim_lock: the runtime's destructors may retain
	 * the primary context again (they then get a fresh activation after
	 * this one is gone).
	 */
	if (c)
		ctx_teardown(c);
	return r;
}

LCU_API CUresult CUDAAPI cuDevicePrimaryCtxRelease(CUdevice dev)
{
	return LCU_TRACE("cuDevicePrimaryCtxRelease_v2", primary_release(dev), "(%d)", dev);
}

static CUresult primary_reset(CUdevice dev)
{
	CUresult r = lcu_dev_check(dev);
	struct lcu_ctx *c = NULL;

	if (r != CUDA_SUCCESS)
		return r;
	pthread_mutex_lock(&prim_lock);
	if (primary && primary->refs) {
		c = primary;
		primary->refs = 0;
	}
	prim_flags = 0;
	pthread_mutex_unlock(&prim_lock);
	if (c)
		ctx_teardown(c);
	return CUDA_SUCCESS;
}

LCU_API CUresult CUDAAPI cuDevicePrimaryCtxReset(CUdevice dev)
{
	return LCU_TRACE("cuDevicePrimaryCtxReset_v2", primary_reset(dev), "(%d)", dev);
}

static CUresult primary_set_flags(CUdevice dev, unsigned int flags)
{
	CUresult r = lcu_dev_check(dev);

	if (r != CUDA_SUCCESS)
		return r;
	if (!sched_flags_ok(flags))
		return CUDA_ERROR_INVALID_VALUE;
	pthread_mutex_lock(&prim_lock);
	prim_flags = flags;
	if (primary && primary->refs) {
		pthread_mutex_lock(&primary->lock);
		primary->flags = flags;
		pthread_mutex_unlock(&primary->lock);
	}
	pthread_mutex_unlock(&prim_lock);
	return CUDA_SUCCESS;
}

LCU_API CUresult CUDAAPI cuDevicePrimaryCtxSetFlags(CUdevice dev, unsigned int flags)
{
	return LCU_TRACE("cuDevicePrimaryCtxSetFlags_v2", primary_set_flags(dev, flags),
			 "(%d, %#x)", dev, flags);
}

LCU_API CUresult CUDAAPI cuDevicePrimaryCtxGetState(CUdevice dev, unsigned int *flags, int *active)
{
	CUresult r = lcu_dev_check(dev);

	if (r == CUDA_SUCCESS && (!flags || !active))
		r = CUDA_ERROR_INVALID_VALUE;
	if (r == CUDA_SUCCESS) {
		pthread_mutex_lock(&prim_lock);
		*flags = prim_flags;
		*active = primary && primary->refs ? 1 : 0;
		pthread_mutex_unlock(&prim_lock);
	}
	return LCU_TRACE("cuDevicePrimaryCtxGetState", r, "(%d, %p, %p) -> %#x %d", dev,
			 (void *)flags, (void *)active, r ? 0 : *flags, r ? 0 : *active);
}

/* ------------------------------------------------- explicit contexts */

static CUresult ctx_create(CUcontext *pctx, unsigned int flags, CUdevice dev)
{
	CUresult r = lcu_dev_check(dev);
	struct lcu_ctx *c;

	if (r != CUDA_SUCCESS)
		return r;
	if (!pctx || !sched_flags_ok(flags))
		return CUDA_ERROR_INVALID_VALUE;
	c = ctx_alloc(dev, false);
	if (!c)
		return CUDA_ERROR_OUT_OF_MEMORY;
	r = ctx_activate(c, flags);
	if (r != CUDA_SUCCESS)
		goto out_free;
	if (stack_push(c)) {
		r = CUDA_ERROR_OUT_OF_MEMORY;
		goto out_teardown;
	}
	*pctx = (CUcontext)c;
	return CUDA_SUCCESS;

out_teardown:
	ctx_teardown(c);
out_free:
	lcu_obj_del(&c->obj);
	pthread_mutex_destroy(&c->lock);
	free(c);
	return r;
}

LCU_API CUresult CUDAAPI cuCtxCreate(CUcontext *pctx, CUctxCreateParams *ctxCreateParams,
				     unsigned int flags, CUdevice dev)
{
	CUresult r = CUDA_SUCCESS;

	if (ctxCreateParams) {
		/* No execution affinity (no SM partitions) and no CIG here. */
		if (ctxCreateParams->execAffinityParams && ctxCreateParams->numExecAffinityParams)
			r = CUDA_ERROR_UNSUPPORTED_EXEC_AFFINITY;
		else if (ctxCreateParams->cigParams)
			r = CUDA_ERROR_NOT_SUPPORTED;
	}
	if (r == CUDA_SUCCESS)
		r = ctx_create(pctx, flags, dev);
	return LCU_TRACE("cuCtxCreate_v4", r, "(%p, %p, %#x, %d) -> %p", (void *)pctx,
			 (void *)ctxCreateParams, flags, dev, r ? NULL : (void *)*pctx);
}

/* cuCtxCreate and cuCtxCreate_v2 of older headers: the same arguments. */
CUresult CUDAAPI lcu_cuCtxCreate_v2(CUcontext *pctx, unsigned int flags, CUdevice dev)
	__asm__("cuCtxCreate_v2");
CUresult CUDAAPI lcu_cuCtxCreate_v2(CUcontext *pctx, unsigned int flags, CUdevice dev)
{
	CUresult r = ctx_create(pctx, flags, dev);

	return LCU_TRACE("cuCtxCreate_v2", r, "(%p, %#x, %d) -> %p", (void *)pctx, flags, dev,
			 r ? NULL : (void *)*pctx);
}

CUresult CUDAAPI lcu_cuCtxCreate_v1(CUcontext *pctx, unsigned int flags, CUdevice dev)
	__asm__("cuCtxCreate");
CUresult CUDAAPI lcu_cuCtxCreate_v1(CUcontext *pctx, unsigned int flags, CUdevice dev)
{
	CUresult r = ctx_create(pctx, flags, dev);

	return LCU_TRACE("cuCtxCreate", r, "(%p, %#x, %d) -> %p", (void *)pctx, flags, dev,
			 r ? NULL : (void *)*pctx);
}

CUresult CUDAAPI lcu_cuCtxCreate_v3(CUcontext *pctx, CUexecAffinityParam *paramsArray,
				    int numParams, unsigned int flags, CUdevice dev)
	__asm__("cuCtxCreate_v3");
CUresult CUDAAPI lcu_cuCtxCreate_v3(CUcontext *pctx, CUexecAffinityParam *paramsArray,
				    int numParams, unsigned int flags, CUdevice dev)
{
	CUresult r;

	if (paramsArray && numParams > 0)
		r = CUDA_ERROR_UNSUPPORTED_EXEC_AFFINITY;
	else
		r = ctx_create(pctx, flags, dev);
	return LCU_TRACE("cuCtxCreate_v3", r, "(%p, %p, %d, %#x, %d) -> %p", (void *)pctx,
			 (void *)paramsArray, numParams, flags, dev, r ? NULL : (void *)*pctx);
}

static CUresult ctx_destroy(CUcontext ctx)
{
	CUresult r = lcu_init_check();
	struct lcu_ctx *c;

	if (r != CUDA_SUCCESS)
		return r;
	if (!ctx)
		return CUDA_ERROR_INVALID_VALUE;
	c = (struct lcu_ctx *)lcu_obj_get(ctx, LCU_CTX);
	if (!c || c->primary)
		return CUDA_ERROR_INVALID_CONTEXT;
	/* Destroyed already: what NVIDIA's driver 580 says to that. */
	pthread_mutex_lock(&c->lock);
	if (!c->v)
		r = CUDA_ERROR_CONTEXT_IS_DESTROYED;
	pthread_mutex_unlock(&c->lock);
	if (r != CUDA_SUCCESS)
		return r;
	/*
	 * Current to this thread: popped, as by cuCtxPopCurrent. Deeper in a
	 * stack, or current to another thread, it stays there, destroyed.
	 */
	if (stack_top() == c)
		tls_depth--;
	ctx_teardown(c);
	return CUDA_SUCCESS;
}

LCU_API CUresult CUDAAPI cuCtxDestroy(CUcontext ctx)
{
	return LCU_TRACE("cuCtxDestroy_v2", ctx_destroy(ctx), "(%p)", (void *)ctx);
}

CUresult CUDAAPI lcu_cuCtxDestroy_v1(CUcontext ctx) __asm__("cuCtxDestroy");
CUresult CUDAAPI lcu_cuCtxDestroy_v1(CUcontext ctx)
{
	return LCU_TRACE("cuCtxDestroy", ctx_destroy(ctx), "(%p)", (void *)ctx);
}

static CUresult ctx_push(CUcontext ctx)
{
	CUresult r = lcu_init_check();
	struct lcu_ctx *c;

	if (r != CUDA_SUCCESS)
		return r;
	c = (struct lcu_ctx *)lcu_obj_get(ctx, LCU_CTX);
	if (!c)
		return CUDA_ERROR_INVALID_CONTEXT;
	pthread_mutex_lock(&c->lock);
	if (!c->v)
		r = CUDA_ERROR_INVALID_CONTEXT;
	pthread_mutex_unlock(&c->lock);
	if (r == CUDA_SUCCESS && stack_push(c))
		r = CUDA_ERROR_OUT_OF_MEMORY;
	return r;
}

LCU_API CUresult CUDAAPI cuCtxPushCurrent(CUcontext ctx)
{
	return LCU_TRACE("cuCtxPushCurrent_v2", ctx_push(ctx), "(%p)", (void *)ctx);
}

CUresult CUDAAPI lcu_cuCtxPushCurrent_v1(CUcontext ctx) __asm__("cuCtxPushCurrent");
CUresult CUDAAPI lcu_cuCtxPushCurrent_v1(CUcontext ctx)
{
	return LCU_TRACE("cuCtxPushCurrent", ctx_push(ctx), "(%p)", (void *)ctx);
}

static CUresult ctx_pop(CUcontext *pctx)
{
	CUresult r = lcu_init_check();
	struct lcu_ctx *c;

	if (r != CUDA_SUCCESS)
		return r;
	c = stack_top();
	if (!c)
		return CUDA_ERROR_INVALID_CONTEXT;
	tls_depth--;
	if (pctx)
		*pctx = (CUcontext)c;
	return CUDA_SUCCESS;
}

LCU_API CUresult CUDAAPI cuCtxPopCurrent(CUcontext *pctx)
{
	CUresult r = ctx_pop(pctx);

	return LCU_TRACE("cuCtxPopCurrent_v2", r, "(%p) -> %p", (void *)pctx,
			 r || !pctx ? NULL : (void *)*pctx);
}

CUresult CUDAAPI lcu_cuCtxPopCurrent_v1(CUcontext *pctx) __asm__("cuCtxPopCurrent");
CUresult CUDAAPI lcu_cuCtxPopCurrent_v1(CUcontext *pctx)
{
	CUresult r = ctx_pop(pctx);

	return LCU_TRACE("cuCtxPopCurrent", r, "(%p) -> %p", (void *)pctx,
			 r || !pctx ? NULL : (void *)*pctx);
}

LCU_API CUresult CUDAAPI cuCtxSetCurrent(CUcontext ctx)
{
	CUresult r = lcu_init_check();
	struct lcu_ctx *c = NULL;

	if (r == CUDA_SUCCESS && ctx) {
		c = (struct lcu_ctx *)lcu_obj_get(ctx, LCU_CTX);
		if (!c) {
			r = CUDA_ERROR_INVALID_CONTEXT;
		} else {
			pthread_mutex_lock(&c->lock);
			if (!c->v)
				r = CUDA_ERROR_INVALID_CONTEXT;
			pthread_mutex_unlock(&c->lock);
		}
	}
	if (r == CUDA_SUCCESS) {
		if (!c) {
			if (tls_depth)
				tls_depth--;
		} else if (tls_depth) {
			tls_stack[tls_depth - 1] = c;
		} else if (stack_push(c)) {
			r = CUDA_ERROR_OUT_OF_MEMORY;
		}
	}
	return LCU_TRACE("cuCtxSetCurrent", r, "(%p)", (void *)ctx);
}

LCU_API CUresult CUDAAPI cuCtxGetCurrent(CUcontext *pctx)
{
	CUresult r = lcu_init_check();

	if (r == CUDA_SUCCESS && !pctx)
		r = CUDA_ERROR_INVALID_VALUE;
	else if (r == CUDA_SUCCESS)
		*pctx = (CUcontext)stack_top();
	return LCU_TRACE("cuCtxGetCurrent", r, "(%p) -> %p", (void *)pctx,
			 r ? NULL : (void *)*pctx);
}

LCU_API CUresult CUDAAPI cuCtxGetDevice(CUdevice *device)
{
	struct lcu_ctx *c = NULL;
	CUresult r = lcu_ctx_current(&c);

	/*
	 * A destroyed context still current (deeper in the stack when it was
	 * destroyed) keeps its device, as on NVIDIA's driver 580.
	 */
	if (r == CUDA_ERROR_CONTEXT_IS_DESTROYED) {
		c = stack_top();
		r = c ? CUDA_SUCCESS : r;
	}
	if (r == CUDA_SUCCESS && !device)
		r = CUDA_ERROR_INVALID_VALUE;
	else if (r == CUDA_SUCCESS)
		*device = c->dev;
	return LCU_TRACE("cuCtxGetDevice", r, "(%p) -> %d", (void *)device, r ? -1 : *device);
}

LCU_API CUresult CUDAAPI cuCtxGetFlags(unsigned int *flags)
{
	struct lcu_ctx *c;
	CUresult r = lcu_ctx_current(&c);

	if (r == CUDA_SUCCESS && !flags)
		r = CUDA_ERROR_INVALID_VALUE;
	else if (r == CUDA_SUCCESS)
		*flags = c->flags;
	return LCU_TRACE("cuCtxGetFlags", r, "(%p) -> %#x", (void *)flags, r ? 0 : *flags);
}

LCU_API CUresult CUDAAPI cuCtxGetId(CUcontext ctx, unsigned long long *ctxId)
{
	struct lcu_ctx *c;
	CUresult r = lcu_ctx_use(ctx, &c);

	if (r == CUDA_SUCCESS && !ctxId)
		r = CUDA_ERROR_INVALID_VALUE;
	else if (r == CUDA_SUCCESS)
		*ctxId = c->id;
	return LCU_TRACE("cuCtxGetId", r, "(%p, %p) -> %llu", (void *)ctx, (void *)ctxId,
			 r ? 0ull : *ctxId);
}

LCU_API CUresult CUDAAPI cuCtxSynchronize(void)
{
	struct lcu_ctx *c;
	CUresult r = lcu_ctx_current(&c);
	vgpu_t *v;

	if (r == CUDA_SUCCESS && (v = lcu_ctx_vgpu(c, &r)))
		r = lcu_ctx_result(c, vgpu_sync(v), LCU_OP_GENERIC);
	return LCU_TRACE("cuCtxSynchronize", r, "()");
}

LCU_API CUresult CUDAAPI cuCtxGetApiVersion(CUcontext ctx, unsigned int *version)
{
	struct lcu_ctx *c;
	CUresult r = lcu_ctx_use(ctx, &c);

	if (r == CUDA_SUCCESS && !version)
		r = CUDA_ERROR_INVALID_VALUE;
	else if (r == CUDA_SUCCESS)
		/* Every context here has the 3.2 (64-bit pointer) interface. */
		*version = 3020;
	return LCU_TRACE("cuCtxGetApiVersion", r, "(%p, %p) -> %u", (void *)ctx,
			 (void *)version, r ? 0 : *version);
}

LCU_API CUresult CUDAAPI cuCtxGetLimit(size_t *pvalue, CUlimit limit)
{
	struct lcu_ctx *c;
	CUresult r = lcu_ctx_current(&c);

	if (r == CUDA_SUCCESS && !pvalue)
		r = CUDA_ERROR_INVALID_VALUE;
	else if (r == CUDA_SUCCESS && ((unsigned int)limit > CU_LIMIT_PERSISTING_L2_CACHE_SIZE))
		r = CUDA_ERROR_INVALID_VALUE;   /* no such limit (NVIDIA's driver 580 agrees) */
	else if (r == CUDA_SUCCESS)
		*pvalue = c->limits[limit];
	return LCU_TRACE("cuCtxGetLimit", r, "(%p, %d) -> %zu", (void *)pvalue, (int)limit,
			 r ? 0 : *pvalue);
}

LCU_API CUresult CUDAAPI cuCtxSetLimit(CUlimit limit, size_t value)
{
	static atomic_flag once = ATOMIC_FLAG_INIT;
	struct lcu_ctx *c;
	CUresult r = lcu_ctx_current(&c);

	if (r == CUDA_SUCCESS && (unsigned int)limit > CU_LIMIT_PERSISTING_L2_CACHE_SIZE) {
		r = CUDA_ERROR_INVALID_VALUE;   /* no such limit, as cuCtxGetLimit */
	} else if (r == CUDA_SUCCESS) {
		/*
		 * dom0's context keeps CUDA's defaults (the protocol carries no
		 * limits): a request within them holds as asked, one beyond them
		 * cannot be honoured.
		 */
		struct lcu_ctx fresh;

		ctx_defaults(&fresh);
		if (value <= fresh.limits[limit] || limit == CU_LIMIT_PERSISTING_L2_CACHE_SIZE ||
		    limit == CU_LIMIT_MAX_L2_FETCH_GRANULARITY) {
			if (limit == CU_LIMIT_PERSISTING_L2_CACHE_SIZE && value)
				r = CUDA_ERROR_NOT_SUPPORTED;
			else
				c->limits[limit] = value;
		} else {
			r = CUDA_ERROR_NOT_SUPPORTED;
		}
		if (r == CUDA_ERROR_NOT_SUPPORTED && !atomic_flag_test_and_set(&once))
			lcu_log("cuCtxSetLimit(%d, %zu): dom0's context keeps CUDA's default "
				"limits; raising one is not supported", (int)limit, value);
	}
	return LCU_TRACE("cuCtxSetLimit", r, "(%d, %zu)", (int)limit, value);
}

LCU_API CUresult CUDAAPI cuCtxGetCacheConfig(CUfunc_cache *pconfig)
{
	struct lcu_ctx *c;
	CUresult r = lcu_ctx_current(&c);

	if (r == CUDA_SUCCESS && !pconfig)
		r = CUDA_ERROR_INVALID_VALUE;
	else if (r == CUDA_SUCCESS)
		*pconfig = c->cache_config;
	return LCU_TRACE("cuCtxGetCacheConfig", r, "(%p)", (void *)pconfig);
}

LCU_API CUresult CUDAAPI cuCtxSetCacheConfig(CUfunc_cache config)
{
	struct lcu_ctx *c;
	CUresult r = lcu_ctx_current(&c);

	/* A preference the driver may ignore (as dom0's does: not carried). */
	if (r == CUDA_SUCCESS && (unsigned int)config > CU_FUNC_CACHE_PREFER_EQUAL)
		r = CUDA_ERROR_INVALID_VALUE;
	else if (r == CUDA_SUCCESS)
		c->cache_config = config;
	return LCU_TRACE("cuCtxSetCacheConfig", r, "(%d)", (int)config);
}

LCU_API CUresult CUDAAPI cuCtxGetStreamPriorityRange(int *leastPriority, int *greatestPriority)
{
	struct lcu_ctx *c;
	CUresult r = lcu_ctx_current(&c);

	if (r == CUDA_SUCCESS) {
		int least = 0, greatest = 0;

		lcu_dev_stream_priorities(&least, &greatest);
		if (leastPriority)
			*leastPriority = least;
		if (greatestPriority)
			*greatestPriority = greatest;
	}
	return LCU_TRACE("cuCtxGetStreamPriorityRange", r, "(%p, %p)", (void *)leastPriority,
			 (void *)greatestPriority);
}

/* The unversioned primary-context names (CUDA 7.0 - 10.2): the same calls. */
CUresult CUDAAPI lcu_cuDevicePrimaryCtxRelease_v1(CUdevice dev)
	__asm__("cuDevicePrimaryCtxRelease");
CUresult CUDAAPI lcu_cuDevicePrimaryCtxRelease_v1(CUdevice dev)
{
	return LCU_TRACE("cuDevicePrimaryCtxRelease", primary_release(dev), "(%d)", dev);
}

CUresult CUDAAPI lcu_cuDevicePrimaryCtxReset_v1(CUdevice dev) __asm__("cuDevicePrimaryCtxReset");
CUresult CUDAAPI lcu_cuDevicePrimaryCtxReset_v1(CUdevice dev)
{
	return LCU_TRACE("cuDevicePrimaryCtxReset", primary_reset(dev), "(%d)", dev);
}

CUresult CUDAAPI lcu_cuDevicePrimaryCtxSetFlags_v1(CUdevice dev, unsigned int flags)
	__asm__("cuDevicePrimaryCtxSetFlags");
CUresult CUDAAPI lcu_cuDevicePrimaryCtxSetFlags_v1(CUdevice dev, unsigned int flags)
{
	return LCU_TRACE("cuDevicePrimaryCtxSetFlags", primary_set_flags(dev, flags),
			 "(%d, %#x)", dev, flags);
}
