/* SPDX-License-Identifier: MIT */
/*
 * stream.c - streams and events: handles of dom0's (STREAM_* and EVENT_*
 * ops, per context), the legacy default stream (dom0's stream 0), and the
 * per-thread default streams (a blocking stream per thread and context,
 * made on first use).
 *
 * Host functions (cuLaunchHostFunc, cuStreamAddCallback) run in the
 * calling thread once the stream's earlier work is done: the stream's
 * later work is queued after they return, so the order is CUDA's; only the
 * caller waits, where CUDA would return at once.
 */
#include <errno.h>
#include <stdlib.h>

#include "internal.h"

static _Atomic uint64_t next_stream_id = 16;

/* A stream argument that is a created stream, or NULL. */
static struct lcu_stream *stream_obj(CUstream s)
{
	if (!s || s == CU_STREAM_LEGACY || s == CU_STREAM_PER_THREAD)
		return NULL;
	return (struct lcu_stream *)lcu_obj_get(s, LCU_STREAM);
}

static bool stream_special(CUstream s)
{
	return !s || s == CU_STREAM_LEGACY || s == CU_STREAM_PER_THREAD;
}

static CUresult stream_new(struct lcu_ctx *c, unsigned int flags, int priority, bool per_thread,
			   struct lcu_stream **out)
{
	struct lcu_stream *st;
	CUresult r;
	vgpu_t *v = lcu_ctx_vgpu(c, &r);
	int rc;

	if (!v)
		return r;
	st = calloc(1, sizeof(*st));
	if (!st)
		return CUDA_ERROR_OUT_OF_MEMORY;
	rc = vgpu_stream_create(v, flags & CU_STREAM_NON_BLOCKING ? VGPU_STREAM_NON_BLOCKING : 0,
				priority, &st->h);
	if (rc) {
		free(st);
		return lcu_ctx_result(c, rc, LCU_OP_ALLOC);
	}
	st->obj.kind = LCU_STREAM;
	st->ctx = c;
	st->flags = flags;
	st->priority = priority;
	st->per_thread = per_thread;
	st->id = atomic_fetch_add(&next_stream_id, 1);
	if (lcu_obj_add(&st->obj)) {
		vgpu_stream_destroy(v, st->h);
		free(st);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	pthread_mutex_lock(&c->lock);
	st->next = c->streams;
	c->streams = st;
	pthread_mutex_unlock(&c->lock);
	*out = st;
	return CUDA_SUCCESS;
}

/* The calling thread's per-thread default streams, one per context. */
struct ptds_ent {
	struct lcu_ctx *ctx;
	uint64_t gen;
	struct lcu_stream *st;
};
static __thread struct ptds_ent tls_ptds[8];
static __thread unsigned int tls_ptds_next;

static CUresult per_thread_stream(struct lcu_ctx *c, struct lcu_stream **out)
{
	unsigned int i;
	uint64_t gen;
	CUresult r;

	pthread_mutex_lock(&c->lock);
	gen = c->gen;
	pthread_mutex_unlock(&c->lock);
	for (i = 0; i < sizeof(tls_ptds) / sizeof(tls_ptds[0]); i++) {
		if (tls_ptds[i].ctx == c && tls_ptds[i].gen == gen &&
		    lcu_obj_get(tls_ptds[i].st, LCU_STREAM)) {
			*out = tls_ptds[i].st;
			return CUDA_SUCCESS;
		}
	}
	r = stream_new(c, CU_STREAM_DEFAULT, 0, true, out);
	if (r == CUDA_SUCCESS) {
		/* A thread with more contexts than slots makes another one later. */
		i = tls_ptds_next++ % (sizeof(tls_ptds) / sizeof(tls_ptds[0]));
		tls_ptds[i].ctx = c;
		tls_ptds[i].gen = gen;
		tls_ptds[i].st = *out;
	}
	return r;
}

CUresult lcu_stream_resolve(struct lcu_ctx *c, CUstream s, bool per_thread, uint64_t *h)
{
	struct lcu_stream *st;
	CUresult r;

	if (s == CU_STREAM_LEGACY || (!s && !per_thread)) {
		*h = 0;
		return CUDA_SUCCESS;
	}
	if (!s || s == CU_STREAM_PER_THREAD) {
		r = per_thread_stream(c, &st);
		if (r == CUDA_SUCCESS)
			*h = st->h;
		return r;
	}
	st = stream_obj(s);
	if (!st)
		return CUDA_ERROR_INVALID_HANDLE;
	/* Another context's stream is no handle of this one. */
	if (st->ctx != c)
		return CUDA_ERROR_INVALID_HANDLE;
	*h = st->h;
	return CUDA_SUCCESS;
}

CUresult lcu_stream_ctx(CUstream s, struct lcu_ctx **out)
{
	struct lcu_stream *st;
	CUresult r;

	if (stream_special(s))
		return lcu_ctx_current(out);
	r = lcu_init_check();
	if (r != CUDA_SUCCESS)
		return r;
	st = stream_obj(s);
	if (!st)
		return CUDA_ERROR_INVALID_HANDLE;
	return lcu_ctx_use((CUcontext)st->ctx, out);
}

void lcu_streams_drop(struct lcu_ctx *c)
{
	struct lcu_stream *st, *sn;
	struct lcu_event *e, *en;

	pthread_mutex_lock(&c->lock);
	st = c->streams;
	e = c->events;
	c->streams = NULL;
	c->events = NULL;
	pthread_mutex_unlock(&c->lock);
	/* dom0 frees them with the context: only the guest's structs go. */
	for (; st; st = sn) {
		sn = st->next;
		lcu_obj_del(&st->obj);
		free(st);
	}
	for (; e; e = en) {
		en = e->next;
		lcu_obj_del(&e->obj);
		free(e);
	}
}

/* ------------------------------------------------------------ streams */

static CUresult stream_create(CUstream *ph, unsigned int flags, int priority)
{
	struct lcu_ctx *c;
	struct lcu_stream *st;
	CUresult r = lcu_ctx_current(&c);
	int least, greatest;

	if (r != CUDA_SUCCESS)
		return r;
	if (!ph || (flags & ~(unsigned int)CU_STREAM_NON_BLOCKING))
		return CUDA_ERROR_INVALID_VALUE;
	/* Clamped to the device's range, as CUDA does. */
	lcu_dev_stream_priorities(&least, &greatest);
	if (priority > least)
		priority = least;
	if (priority < greatest)
		priority = greatest;
	r = stream_new(c, flags, priority, false, &st);
	if (r == CUDA_SUCCESS)
		*ph = (CUstream)st;
	return r;
}

LCU_API CUresult CUDAAPI cuStreamCreate(CUstream *phStream, unsigned int Flags)
{
	CUresult r = stream_create(phStream, Flags, 0);

	return LCU_TRACE("cuStreamCreate", r, "(%p, %#x) -> %p", (void *)phStream, Flags,
			 r ? NULL : (void *)*phStream);
}

LCU_API CUresult CUDAAPI cuStreamCreateWithPriority(CUstream *phStream, unsigned int flags,
						    int priority)
{
	CUresult r = stream_create(phStream, flags, priority);

	return LCU_TRACE("cuStreamCreateWithPriority", r, "(%p, %#x, %d) -> %p",
			 (void *)phStream, flags, priority, r ? NULL : (void *)*phStream);
}

static CUresult stream_destroy(CUstream s)
{
	struct lcu_stream *st, **pp;
	CUresult r = lcu_init_check();
	struct lcu_ctx *c;
	vgpu_t *v;
	int rc;

	if (r != CUDA_SUCCESS)
		return r;
	st = stream_obj(s);
	if (!st || st->per_thread)
		return CUDA_ERROR_INVALID_HANDLE;
	c = st->ctx;
	v = lcu_ctx_vgpu(c, &r);
	if (!v)
		return r;
	lcu_obj_del(&st->obj);
	pthread_mutex_lock(&c->lock);
	for (pp = &c->streams; *pp; pp = &(*pp)->next)
		if (*pp == st) {
			*pp = st->next;
			break;
		}
	pthread_mutex_unlock(&c->lock);
	/* dom0 destroys it after its earlier work; the call returns now. */
	rc = vgpu_stream_destroy(v, st->h);
	free(st);
	return rc ? lcu_ctx_result(c, rc, LCU_OP_GENERIC) : CUDA_SUCCESS;
}

LCU_API CUresult CUDAAPI cuStreamDestroy(CUstream hStream)
{
	return LCU_TRACE("cuStreamDestroy_v2", stream_destroy(hStream), "(%p)", (void *)hStream);
}

CUresult CUDAAPI lcu_cuStreamDestroy_v1(CUstream hStream) __asm__("cuStreamDestroy");
CUresult CUDAAPI lcu_cuStreamDestroy_v1(CUstream hStream)
{
	return LCU_TRACE("cuStreamDestroy", stream_destroy(hStream), "(%p)", (void *)hStream);
}

/* The context and dom0 handle of a stream argument. */
static CUresult stream_args(CUstream s, bool ptds, struct lcu_ctx **c, vgpu_t **v, uint64_t *h)
{
	CUresult r = lcu_stream_ctx(s, c);

	if (r != CUDA_SUCCESS)
		return r;
	*v = lcu_ctx_vgpu(*c, &r);
	if (!*v)
		return r;
	return lcu_stream_resolve(*c, s, ptds, h);
}

static CUresult stream_sync(CUstream s, bool ptds)
{
	struct lcu_ctx *c;
	vgpu_t *v;
	uint64_t h;
	CUresult r = stream_args(s, ptds, &c, &v, &h);

	return r ? r : lcu_ctx_result(c, vgpu_stream_sync(v, h), LCU_OP_GENERIC);
}

LCU_API CUresult CUDAAPI cuStreamSynchronize(CUstream hStream)
{
	return LCU_TRACE("cuStreamSynchronize", stream_sync(hStream, false), "(%p)",
			 (void *)hStream);
}

static CUresult stream_query(CUstream s, bool ptds)
{
	struct lcu_ctx *c;
	vgpu_t *v;
	uint64_t h;
	CUresult r = stream_args(s, ptds, &c, &v, &h);

	return r ? r : lcu_ctx_result(c, vgpu_stream_query(v, h), LCU_OP_QUERY);
}

LCU_API CUresult CUDAAPI cuStreamQuery(CUstream hStream)
{
	return LCU_TRACE("cuStreamQuery", stream_query(hStream, false), "(%p)", (void *)hStream);
}

static CUresult stream_wait_event(CUstream s, CUevent e, unsigned int flags, bool ptds)
{
	struct lcu_ctx *c;
	struct lcu_event *ev = NULL;
	vgpu_t *v, *ve;
	uint64_t h;
	CUresult r = stream_args(s, ptds, &c, &v, &h);

	if (r != CUDA_SUCCESS)
		return r;
	if (flags & ~(unsigned int)CU_EVENT_WAIT_EXTERNAL)
		return CUDA_ERROR_INVALID_VALUE;
	ev = (struct lcu_event *)lcu_obj_get(e, LCU_EVENT);
	if (!ev)
		return CUDA_ERROR_INVALID_HANDLE;
	if (!ev->recorded)
		return CUDA_SUCCESS;      /* nothing to wait for */
	if (ev->ctx == c)
		return lcu_ctx_result(c, vgpu_stream_wait_event(v, h, ev->h), LCU_OP_GENERIC);
	/* An event of another context (another dom0 context): the host waits. */
	ve = lcu_ctx_vgpu(ev->ctx, &r);
	if (!ve)
		return r;
	return lcu_ctx_result(ev->ctx, vgpu_event_sync(ve, ev->h), LCU_OP_GENERIC);
}

LCU_API CUresult CUDAAPI cuStreamWaitEvent(CUstream hStream, CUevent hEvent, unsigned int Flags)
{
	return LCU_TRACE("cuStreamWaitEvent", stream_wait_event(hStream, hEvent, Flags, false),
			 "(%p, %p, %#x)", (void *)hStream, (void *)hEvent, Flags);
}

static CUresult stream_get(CUstream s, bool ptds, int *prio, unsigned int *flags,
			   unsigned long long *id, CUcontext *pctx)
{
	struct lcu_ctx *c;
	struct lcu_stream *st = NULL;
	CUresult r = lcu_stream_ctx(s, &c);

	if (r != CUDA_SUCCESS)
		return r;
	if (s == CU_STREAM_PER_THREAD || (!s && ptds)) {
		r = per_thread_stream(c, &st);
		if (r != CUDA_SUCCESS)
			return r;
	} else if (!stream_special(s)) {
		st = stream_obj(s);
	}
	if (prio)
		*prio = st ? st->priority : 0;
	if (flags)
		*flags = st ? st->flags : CU_STREAM_DEFAULT;
	if (id)
		*id = st ? st->id : (unsigned long long)(uintptr_t)CU_STREAM_LEGACY;
	if (pctx)
		*pctx = (CUcontext)c;
	return CUDA_SUCCESS;
}

LCU_API CUresult CUDAAPI cuStreamGetPriority(CUstream hStream, int *priority)
{
	CUresult r = priority ? stream_get(hStream, false, priority, NULL, NULL, NULL)
			      : CUDA_ERROR_INVALID_VALUE;

	return LCU_TRACE("cuStreamGetPriority", r, "(%p, %p)", (void *)hStream, (void *)priority);
}

LCU_API CUresult CUDAAPI cuStreamGetFlags(CUstream hStream, unsigned int *flags)
{
	CUresult r = flags ? stream_get(hStream, false, NULL, flags, NULL, NULL)
			   : CUDA_ERROR_INVALID_VALUE;

	return LCU_TRACE("cuStreamGetFlags", r, "(%p, %p)", (void *)hStream, (void *)flags);
}

LCU_API CUresult CUDAAPI cuStreamGetId(CUstream hStream, unsigned long long *streamId)
{
	CUresult r = streamId ? stream_get(hStream, false, NULL, NULL, streamId, NULL)
			      : CUDA_ERROR_INVALID_VALUE;

	return LCU_TRACE("cuStreamGetId", r, "(%p, %p)", (void *)hStream, (void *)streamId);
}

LCU_API CUresult CUDAAPI cuStreamGetCtx(CUstream hStream, CUcontext *pctx)
{
	CUresult r = pctx ? stream_get(hStream, false, NULL, NULL, NULL, pctx)
			  : CUDA_ERROR_INVALID_VALUE;

	return LCU_TRACE("cuStreamGetCtx", r, "(%p, %p)", (void *)hStream, (void *)pctx);
}

static CUresult host_func(CUstream s, bool ptds, CUhostFn fn, void *ud, CUstreamCallback cb,
			  unsigned int cbflags)
{
	struct lcu_ctx *c;
	vgpu_t *v;
	uint64_t h;
	CUresult r, status;

	if ((!fn && !cb) || cbflags)
		return lcu_init_check() ? lcu_init_check() : CUDA_ERROR_INVALID_VALUE;
	r = stream_args(s, ptds, &c, &v, &h);
	if (r != CUDA_SUCCESS)
		return r;
	status = lcu_ctx_result(c, vgpu_stream_sync(v, h), LCU_OP_GENERIC);
	if (fn) {
		if (status != CUDA_SUCCESS)
			return status;   /* CUDA skips host functions after an error */
		fn(ud);
	} else {
		cb(s, status, ud);
	}
	return CUDA_SUCCESS;
}

LCU_API CUresult CUDAAPI cuLaunchHostFunc(CUstream hStream, CUhostFn fn, void *userData)
{
	return LCU_TRACE("cuLaunchHostFunc", host_func(hStream, false, fn, userData, NULL, 0),
			 "(%p, %p, %p)", (void *)hStream, (void *)(uintptr_t)fn, userData);
}

LCU_API CUresult CUDAAPI cuStreamAddCallback(CUstream hStream, CUstreamCallback callback,
					     void *userData, unsigned int flags)
{
	return LCU_TRACE("cuStreamAddCallback",
			 host_func(hStream, false, NULL, userData, callback, flags),
			 "(%p, %p, %p, %#x)", (void *)hStream, (void *)(uintptr_t)callback,
			 userData, flags);
}

static CUresult is_capturing(CUstream s, CUstreamCaptureStatus *st)
{
	struct lcu_ctx *c;
	CUresult r = lcu_stream_ctx(s, &c);

	if (r == CUDA_SUCCESS && !st)
		r = CUDA_ERROR_INVALID_VALUE;
	else if (r == CUDA_SUCCESS)
		/* Stream capture is not supported here: never capturing. */
		*st = CU_STREAM_CAPTURE_STATUS_NONE;
	return r;
}

LCU_API CUresult CUDAAPI cuStreamIsCapturing(CUstream hStream,
					     CUstreamCaptureStatus *captureStatus)
{
	return LCU_TRACE("cuStreamIsCapturing", is_capturing(hStream, captureStatus), "(%p, %p)",
			 (void *)hStream, (void *)captureStatus);
}

/* ------------------------------------------------------------- events */

static CUresult event_create(CUevent *ph, unsigned int flags)
{
	struct lcu_ctx *c;
	struct lcu_event *e;
	CUresult r = lcu_ctx_current(&c);
	vgpu_t *v;
	int rc;

	if (r != CUDA_SUCCESS)
		return r;
	if (!ph || (flags & ~(unsigned int)(CU_EVENT_BLOCKING_SYNC | CU_EVENT_DISABLE_TIMING |
					    CU_EVENT_INTERPROCESS)))
		return CUDA_ERROR_INVALID_VALUE;
	if (flags & CU_EVENT_INTERPROCESS)
		return (flags & CU_EVENT_DISABLE_TIMING) ? CUDA_ERROR_NOT_SUPPORTED
							 : CUDA_ERROR_INVALID_VALUE;
	v = lcu_ctx_vgpu(c, &r);
	if (!v)
		return r;
	e = calloc(1, sizeof(*e));
	if (!e)
		return CUDA_ERROR_OUT_OF_MEMORY;
	rc = vgpu_event_create(v, (flags & CU_EVENT_BLOCKING_SYNC ? VGPU_EVENT_BLOCKING_SYNC : 0) |
				  (flags & CU_EVENT_DISABLE_TIMING ? VGPU_EVENT_DISABLE_TIMING : 0),
			       &e->h);
	if (rc) {
		free(e);
		return lcu_ctx_result(c, rc, LCU_OP_ALLOC);
	}
	e->obj.kind = LCU_EVENT;
	e->ctx = c;
	e->flags = flags;
	if (lcu_obj_add(&e->obj)) {
		vgpu_event_destroy(v, e->h);
		free(e);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	pthread_mutex_lock(&c->lock);
	e->next = c->events;
	c->events = e;
	pthread_mutex_unlock(&c->lock);
	*ph = (CUevent)e;
	return CUDA_SUCCESS;
}

LCU_API CUresult CUDAAPI cuEventCreate(CUevent *phEvent, unsigned int Flags)
{
	CUresult r = event_create(phEvent, Flags);

	return LCU_TRACE("cuEventCreate", r, "(%p, %#x) -> %p", (void *)phEvent, Flags,
			 r ? NULL : (void *)*phEvent);
}

/* A live event and its context's vgpu_t. */
static CUresult event_args(CUevent e, struct lcu_event **out, vgpu_t **v)
{
	CUresult r = lcu_init_check();
	struct lcu_event *ev = NULL;

	if (r != CUDA_SUCCESS)
		return r;
	ev = (struct lcu_event *)lcu_obj_get(e, LCU_EVENT);
	if (!ev)
		return CUDA_ERROR_INVALID_HANDLE;
	*v = lcu_ctx_vgpu(ev->ctx, &r);
	if (!*v)
		return r;
	*out = ev;
	return CUDA_SUCCESS;
}

static CUresult event_record(CUevent e, CUstream s, unsigned int flags, bool ptds)
{
	struct lcu_event *ev = NULL;
	vgpu_t *v;
	uint64_t h;
	CUresult r = event_args(e, &ev, &v);

	if (r != CUDA_SUCCESS)
		return r;
	if (flags & ~(unsigned int)CU_EVENT_RECORD_EXTERNAL)
		return CUDA_ERROR_INVALID_VALUE;
	if (flags)
		return CUDA_ERROR_NOT_SUPPORTED;  /* external: for graphs only */
	r = lcu_stream_resolve(ev->ctx, s, ptds, &h);
	if (r != CUDA_SUCCESS)
		return r;
	r = lcu_ctx_result(ev->ctx, vgpu_event_record(v, ev->h, h), LCU_OP_GENERIC);
	if (r == CUDA_SUCCESS)
		ev->recorded = true;
	return r;
}

LCU_API CUresult CUDAAPI cuEventRecord(CUevent hEvent, CUstream hStream)
{
	return LCU_TRACE("cuEventRecord", event_record(hEvent, hStream, 0, false), "(%p, %p)",
			 (void *)hEvent, (void *)hStream);
}

LCU_API CUresult CUDAAPI cuEventRecordWithFlags(CUevent hEvent, CUstream hStream,
						unsigned int flags)
{
	return LCU_TRACE("cuEventRecordWithFlags", event_record(hEvent, hStream, flags, false),
			 "(%p, %p, %#x)", (void *)hEvent, (void *)hStream, flags);
}

LCU_API CUresult CUDAAPI cuEventQuery(CUevent hEvent)
{
	struct lcu_event *ev = NULL;
	vgpu_t *v;
	CUresult r = event_args(hEvent, &ev, &v);

	if (r == CUDA_SUCCESS && ev->recorded)
		r = lcu_ctx_result(ev->ctx, vgpu_event_query(v, ev->h), LCU_OP_QUERY);
	return LCU_TRACE("cuEventQuery", r, "(%p)", (void *)hEvent);
}

LCU_API CUresult CUDAAPI cuEventSynchronize(CUevent hEvent)
{
	struct lcu_event *ev = NULL;
	vgpu_t *v;
	CUresult r = event_args(hEvent, &ev, &v);

	if (r == CUDA_SUCCESS && ev->recorded)
		r = lcu_ctx_result(ev->ctx, vgpu_event_sync(v, ev->h), LCU_OP_GENERIC);
	return LCU_TRACE("cuEventSynchronize", r, "(%p)", (void *)hEvent);
}

static CUresult event_destroy(CUevent e)
{
	struct lcu_event *ev = NULL, **pp;
	vgpu_t *v;
	CUresult r = event_args(e, &ev, &v);
	struct lcu_ctx *c;
	int rc;

	if (r != CUDA_SUCCESS)
		return r;
	c = ev->ctx;
	lcu_obj_del(&ev->obj);
	pthread_mutex_lock(&c->lock);
	for (pp = &c->events; *pp; pp = &(*pp)->next)
		if (*pp == ev) {
			*pp = ev->next;
			break;
		}
	pthread_mutex_unlock(&c->lock);
	rc = vgpu_event_destroy(v, ev->h);
	free(ev);
	return rc ? lcu_ctx_result(c, rc, LCU_OP_GENERIC) : CUDA_SUCCESS;
}

LCU_API CUresult CUDAAPI cuEventDestroy(CUevent hEvent)
{
	return LCU_TRACE("cuEventDestroy_v2", event_destroy(hEvent), "(%p)", (void *)hEvent);
}

CUresult CUDAAPI lcu_cuEventDestroy_v1(CUevent hEvent) __asm__("cuEventDestroy");
CUresult CUDAAPI lcu_cuEventDestroy_v1(CUevent hEvent)
{
	return LCU_TRACE("cuEventDestroy", event_destroy(hEvent), "(%p)", (void *)hEvent);
}

static CUresult elapsed(float *ms, CUevent a, CUevent b)
{
	struct lcu_event *ea = NULL, *eb = NULL;
	vgpu_t *v, *vb;
	CUresult r;

	r = event_args(a, &ea, &v);
	if (r == CUDA_SUCCESS)
		r = event_args(b, &eb, &vb);
	if (r != CUDA_SUCCESS)
		return r;
	/* No place for the answer: what NVIDIA's driver 580 says to that. */
	if (!ms)
		return CUDA_ERROR_INVALID_HANDLE;
	if (!ea->recorded || !eb->recorded || ea->ctx != eb->ctx ||
	    (ea->flags & CU_EVENT_DISABLE_TIMING) || (eb->flags & CU_EVENT_DISABLE_TIMING))
		return CUDA_ERROR_INVALID_HANDLE;
	return lcu_ctx_result(ea->ctx, vgpu_event_elapsed(v, ea->h, eb->h, ms), LCU_OP_QUERY);
}

LCU_API CUresult CUDAAPI cuEventElapsedTime(float *pMilliseconds, CUevent hStart, CUevent hEnd)
{
	CUresult r = elapsed(pMilliseconds, hStart, hEnd);

	return LCU_TRACE("cuEventElapsedTime_v2", r, "(%p, %p, %p) -> %.6f ms",
			 (void *)pMilliseconds, (void *)hStart, (void *)hEnd,
			 r ? 0.0 : (double)*pMilliseconds);
}

CUresult CUDAAPI lcu_cuEventElapsedTime_v1(float *ms, CUevent a, CUevent b)
	__asm__("cuEventElapsedTime");
CUresult CUDAAPI lcu_cuEventElapsedTime_v1(float *ms, CUevent a, CUevent b)
{
	CUresult r = elapsed(ms, a, b);

	return LCU_TRACE("cuEventElapsedTime", r, "(%p, %p, %p) -> %.6f ms", (void *)ms,
			 (void *)a, (void *)b, r ? 0.0 : (double)*ms);
}

/* ------------------------------------- per-thread-default-stream forms */

#define PTSZ(sym, decl, call, fmt, ...) \
	CUresult CUDAAPI lcu_##sym decl __asm__(#sym); \
	CUresult CUDAAPI lcu_##sym decl \
	{ \
		return LCU_TRACE(#sym, call, fmt, __VA_ARGS__); \
	}

PTSZ(cuStreamSynchronize_ptsz, (CUstream s), stream_sync(s, true), "(%p)", (void *)s)
PTSZ(cuStreamQuery_ptsz, (CUstream s), stream_query(s, true), "(%p)", (void *)s)
PTSZ(cuStreamWaitEvent_ptsz, (CUstream s, CUevent e, unsigned int f),
     stream_wait_event(s, e, f, true), "(%p, %p, %#x)", (void *)s, (void *)e, f)
PTSZ(cuStreamGetPriority_ptsz, (CUstream s, int *p),
     p ? stream_get(s, true, p, NULL, NULL, NULL) : CUDA_ERROR_INVALID_VALUE, "(%p, %p)",
     (void *)s, (void *)p)
PTSZ(cuStreamGetFlags_ptsz, (CUstream s, unsigned int *f),
     f ? stream_get(s, true, NULL, f, NULL, NULL) : CUDA_ERROR_INVALID_VALUE, "(%p, %p)",
     (void *)s, (void *)f)
PTSZ(cuStreamGetId_ptsz, (CUstream s, unsigned long long *id),
     id ? stream_get(s, true, NULL, NULL, id, NULL) : CUDA_ERROR_INVALID_VALUE, "(%p, %p)",
     (void *)s, (void *)id)
PTSZ(cuStreamGetCtx_ptsz, (CUstream s, CUcontext *c),
     c ? stream_get(s, true, NULL, NULL, NULL, c) : CUDA_ERROR_INVALID_VALUE, "(%p, %p)",
     (void *)s, (void *)c)
PTSZ(cuStreamAddCallback_ptsz, (CUstream s, CUstreamCallback cb, void *ud, unsigned int f),
     host_func(s, true, NULL, ud, cb, f), "(%p, %p, %p, %#x)", (void *)s,
     (void *)(uintptr_t)cb, ud, f)
PTSZ(cuLaunchHostFunc_ptsz, (CUstream s, CUhostFn fn, void *ud),
     host_func(s, true, fn, ud, NULL, 0), "(%p, %p, %p)", (void *)s, (void *)(uintptr_t)fn, ud)
PTSZ(cuStreamIsCapturing_ptsz, (CUstream s, CUstreamCaptureStatus *st),
     is_capturing(s, st), "(%p, %p)", (void *)s, (void *)st)
PTSZ(cuEventRecord_ptsz, (CUevent e, CUstream s), event_record(e, s, 0, true), "(%p, %p)",
     (void *)e, (void *)s)
PTSZ(cuEventRecordWithFlags_ptsz, (CUevent e, CUstream s, unsigned int f),
     event_record(e, s, f, true), "(%p, %p, %#x)", (void *)e, (void *)s, f)
