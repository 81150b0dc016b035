/* SPDX-License-Identifier: MIT */
/*
 * exec-cpu.c - the cpu reference executor: "device" memory is host memory
 * behind device-style handles, each allocation with a fake but stable device
 * address. For machines without a GPU and for tests of everything above the
 * executor. Modules are PTX, run by an interpreter (ptx-exec.c, ptx.h):
 * MODULE_LOAD, FUNC_GET, LAUNCH and the rest hang off it; a kernel that
 * faults or outlives the watchdog loses the domain's device state as on a
 * GPU (vgpu_exec_cpu_lose_state).
 *
 * Ops run inline inside submit, or (cfg.cpu_async, or cfg.cpu_op_delay_us
 * not 0) on one worker thread per executor in submission order. Even
 * inline, the caller (the backend's ring thread) never waits seconds inside
 * submit: a memset or device copy of CPU_LONG_BYTES or more goes to the
 * worker, and every ordered op after it until the worker is idle again, so
 * that the one order holds; an allocation that large (a context op, not
 * ordered against stream work) goes to an allocator thread of its own, and
 * a SYNC of its context waits for it, so that every other request of the
 * domain keeps flowing while dom0 populates the memory. With
 * cpu_op_delay_us every op that goes through that order takes at least that
 * long, so schedulers above can be tested deterministically, and work
 * really is pending while a guest queries it.
 *
 * Streams and events (revision 2): one order for all the work of the
 * executor satisfies every stream rule of executor.h (per stream, the legacy
 * default stream, STREAM_WAIT_EVENT), so the streams here only remember the
 * sequence number of their latest op. Each op that goes through the order
 * gets the next sequence number; seq_done counts those completed (in order),
 * so "stream s is idle" is "s->last_seq <= seq_done", an event is done when
 * its latest record's number is, and STREAM_SYNC / EVENT_SYNC /
 * STREAM_DESTROY wait for exactly that number (a waiter list the worker
 * answers after each op), not for the whole queue. Queries and creates are
 * answered inside submit, without the delay.
 *
 * The backend validates every request, but this executor still never
 * touches memory outside the objects and the stream it was given: every
 * range is checked again here (VGPUIF_RSP_ERANGE), every object against its
 * context.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "exec-private.h"
#include "hostmem.h"
#include "ptx-exec.h"

#define CPU_CTX_MAGIC  0x43505543u   /* "CUPC" */
#define CPU_MEM_MAGIC  0x4d555043u   /* "CPUM" */
#define CPU_STREAM_MAGIC 0x53555043u /* "CPUS" */
#define CPU_EVENT_MAGIC  0x45555043u /* "CPUE" */
#define CPU_DEAD_MAGIC 0xdeadbeefu
/* Fake device addresses: a 47-bit range like CUDA's, never reused. */
#define CPU_VA_BASE    0x0000700000000000ull
#define CPU_VA_ALIGN   4096ull
/*
 * Device memory the cpu executor pretends to have at most; it is dom0's host
 * memory, so cfg.host_mem_limit (which follows dom0's real memory) lowers it.
 */
#define CPU_TOTAL_MEM  (16ull << 30)
/*
 * Allocations from here up are mapped and populated at once (the memory is
 * really taken when the guest is told it has it, so dom0's MemAvailable
 * tells every backend the truth), and they, like memsets and device copies
 * as large, run on the worker, never inside submit.
 */
#define CPU_LONG_BYTES (16ull << 20)
#define CPU_NAME       "cpu reference executor"
/*
 * What the reference device reports of itself: one multiprocessor (one
 * worker runs everything), no compute capability of a real GPU (0.0) until
 * the executor runs PTX, no stream priorities.
 */
#define CPU_SM_COUNT   1u
#define CPU_CC_MAJOR   0u
#define CPU_CC_MINOR   0u

struct vgpu_exec_mem {
	uint32_t magic;
	struct vgpu_exec_ctx *ctx;
	uint64_t size;
	uint64_t addr;                  /* fake device address              */
	unsigned char *data;
	bool     mapped;                /* data is an mmap'd, populated range */
	bool     module_var;            /* a module's variable: MEM_FREE refuses */
	bool     is_const;              /* a .const one: kernels only read it */
	bool     lost;                  /* device state lost: EREMOTEIO       */
	struct vgpu_exec_mem *prev, *next;
};

/* A stream; the context's default stream is embedded in the context. */
struct vgpu_exec_stream {
	uint32_t magic;
	struct vgpu_exec_ctx *ctx;
	uint32_t flags;                 /* VGPUIF_STREAM_*                    */
	uint64_t last_seq;              /* its latest op's number; 0 = none  */
	bool     dying;                 /* STREAM_DESTROY submitted          */
	struct vgpu_exec_stream *prev, *next; /* ctx->streams             */
};

struct vgpu_exec_event {
	uint32_t magic;
	struct vgpu_exec_ctx *ctx;
	uint32_t flags;                 /* VGPUIF_EVENT_*                     */
	uint64_t rec_seq;               /* latest record's number; 0 = never */
	uint64_t t_ns;                  /* when that record ran              */
	uint32_t refs;                  /* records queued, not yet run       */
	bool     destroyed;             /* EVENT_DESTROY: free at refs 0     */
	struct vgpu_exec_event *prev, *next;  /* ctx->events               */
};

/* All lists and numbers below are under cpu_exec.lock. */
struct vgpu_exec_ctx {
	uint32_t magic;
	struct vgpu_exec_mem *mems;
	struct vgpu_exec_stream dflt;   /* the legacy default stream         */
	struct vgpu_exec_stream *streams;
	struct vgpu_exec_event *events;
	uint64_t last_seq;              /* its latest op's number            */
	uint32_t allocs_pending;        /* on the allocator thread           */
	struct vgpu_exec_ctx *prev, *next;
};

struct cpu_job {
	struct vgpu_exec_op *op;
	uint64_t seq;
	struct cpu_job *next;
};

/* An op answered once seq_done reaches until (STREAM/EVENT_SYNC, DESTROY). */
struct cpu_waiter {
	struct vgpu_exec_op *op;
	uint64_t until;
	struct vgpu_exec_stream *free_stream; /* STREAM_DESTROY: then free it */
	struct cpu_waiter *next;
};

struct cpu_exec {
	struct vgpu_exec base;          /* first: exec.c casts                */
	int device;                     /* ordinal among $VGPU_CPU_GPUS       */
	char name[64];                  /* CPU_NAME, "#N" after it for N > 0  */
	uint32_t delay_us;
	bool async;                     /* every ordered op on the worker     */
	uint64_t total;                 /* "device" memory: host memory cap   */
	uint64_t reserve;               /* leave this much available to dom0 */
	uint64_t refused_log_ns;        /* rate limit of the refusal line     */

	struct vgpuif_device_info dinfo; /* the snapshot, fixed at open      */
	struct ptx_exec *ptx;           /* modules and kernels (ptx-exec.c)   */

	pthread_mutex_t lock;           /* protects everything below         */
	struct vgpu_exec_ctx *ctxs;
	uint64_t next_addr;
	uint64_t used;                  /* bytes allocated                    */
	uint64_t seq_submitted, seq_done; /* ordered ops numbered, completed  */
	struct cpu_waiter *waiters, *waiters_tail; /* in submission order     */

	uint32_t queued;                /* jobs on the worker, not yet run    */
	bool inline_running;            /* an op runs inside submit; the worker
					 * waits (seq_done moves in order)    */

	/* the allocator: long MEM_ALLOCs, and SYNCs parked behind them */
	pthread_cond_t alloc_cond;      /* allocs queued, or stopping         */
	struct cpu_job *alloc_head, *alloc_tail;
	struct cpu_job *parked;         /* SYNC ops waiting for allocs        */
	bool alloc_stopping;
	pthread_t allocator;

	/* the worker (always started: long ops go there even inline) */
	pthread_cond_t work_cond;       /* jobs queued, or stopping           */
	pthread_cond_t idle_cond;       /* seq_done or delivering moved       */
	struct cpu_job *head, *tail;
	uint32_t delivering;            /* waiters taken off, done() pending  */
	bool stopping;
	pthread_t worker;
};

static struct cpu_exec *to_cpu(struct vgpu_exec *ex)
{
	return (struct cpu_exec *)ex;
}

/* ------------------------------------------------------------- objects */

static void mem_release(struct cpu_exec *ce, struct vgpu_exec_mem *m)
{
	struct vgpu_exec_ctx *ctx = m->ctx;

	/* caller holds ce->lock */
	if (m->prev)
		m->prev->next = m->next;
	else
		ctx->mems = m->next;
	if (m->next)
		m->next->prev = m->prev;
	ce->used -= m->size;
	m->magic = CPU_DEAD_MAGIC;
	if (m->mapped)
		munmap(m->data, (size_t)m->size);
	else
		free(m->data);
	free(m);
}

static void stream_free(struct vgpu_exec_stream *s)
{
	struct vgpu_exec_ctx *ctx = s->ctx;

	/* caller holds ce->lock */
	if (s->prev)
		s->prev->next = s->next;
	else
		ctx->streams = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->magic = CPU_DEAD_MAGIC;
	free(s);
}

static void event_free(struct vgpu_exec_event *e)
{
	struct vgpu_exec_ctx *ctx = e->ctx;

	/* caller holds ce->lock */
	if (e->prev)
		e->prev->next = e->next;
	else
		ctx->events = e->next;
	if (e->next)
		e->next->prev = e->prev;
	e->magic = CPU_DEAD_MAGIC;
	free(e);
}

static void ctx_release(struct cpu_exec *ce, struct vgpu_exec_ctx *ctx)
{
	ptx_exec_ctx_gone(ce->ptx, ctx);        /* their variables go below */
	pthread_mutex_lock(&ce->lock);
	while (ctx->mems)
		mem_release(ce, ctx->mems);
	while (ctx->streams)
		stream_free(ctx->streams);
	while (ctx->events)
		event_free(ctx->events);
	ctx->dflt.magic = CPU_DEAD_MAGIC;
	if (ctx->prev)
		ctx->prev->next = ctx->next;
	else
		ce->ctxs = ctx->next;
	if (ctx->next)
		ctx->next->prev = ctx->prev;
	pthread_mutex_unlock(&ce->lock);
	ctx->magic = CPU_DEAD_MAGIC;
	free(ctx);
}

static int ctx_new(struct cpu_exec *ce, struct vgpu_exec_ctx **out)
{
	struct vgpu_exec_ctx *ctx = calloc(1, sizeof(*ctx));

	if (!ctx)
		return -ENOMEM;
	ctx->magic = CPU_CTX_MAGIC;
	ctx->dflt.magic = CPU_STREAM_MAGIC;
	ctx->dflt.ctx = ctx;
	pthread_mutex_lock(&ce->lock);
	ctx->next = ce->ctxs;
	if (ce->ctxs)
		ce->ctxs->prev = ctx;
	ce->ctxs = ctx;
	pthread_mutex_unlock(&ce->lock);
	*out = ctx;
	return 0;
}

/* Is m a live allocation of ctx? (guards against a backend bug) */
static bool mem_ok(const struct vgpu_exec_ctx *ctx, const struct vgpu_exec_mem *m)
{
	return ctx && m && m->magic == CPU_MEM_MAGIC && m->ctx == ctx;
}

/* Is s (NULL: the default stream) a live stream of ctx? */
static bool stream_ok(const struct vgpu_exec_ctx *ctx,
		      const struct vgpu_exec_stream *s)
{
	if (!s)
		return ctx != NULL;
	return ctx && s->magic == CPU_STREAM_MAGIC && s->ctx == ctx && !s->dying;
}

static bool event_ok(const struct vgpu_exec_ctx *ctx,
		     const struct vgpu_exec_event *e)
{
	return ctx && e && e->magic == CPU_EVENT_MAGIC && e->ctx == ctx &&
	       !e->destroyed;
}

/* ----------------------------------------------------------------- ops */

/*
 * Would size more bytes leave dom0 less than the reserve? Read each time:
 * other backends take from the same memory.
 */
static bool host_short(struct cpu_exec *ce, uint64_t size, uint64_t *avail)
{
	if (!ce->reserve)
		return false;
	*avail = vgpu_hostmem_available(NULL);
	return *avail && (*avail < ce->reserve || *avail - ce->reserve < size);
}

/*
 * Take the pages now, a chunk at a time: MAP_POPULATE would hold the
 * process's mmap lock for the whole range (seconds for a GiB), and with it
 * every other thread's malloc, the ring thread's included.
 */
static void populate(unsigned char *p, size_t len)
{
	const size_t chunk = 2u << 20;
	size_t off;

	for (off = 0; off < len; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;

#ifdef MADV_POPULATE_WRITE
		if (!madvise(p + off, n, MADV_POPULATE_WRITE))
			continue;
#endif
		for (size_t i = 0; i < n; i += 4096)
			((volatile unsigned char *)p)[off + i] = 0;
	}
}

static int refuse_alloc(struct cpu_exec *ce, uint64_t size, const char *why,
			uint64_t have)
{
	uint64_t now = vgpu_exec_now_ns();

	/* A guest can ask at will: one line per 10 s at most. */
	if (now - ce->refused_log_ns >= 10000000000ull || !ce->refused_log_ns) {
		ce->refused_log_ns = now;
		vgpu_exec_log(&ce->base.cfg, "cpu", VGPU_EXEC_LOG_WARN,
			      "refused MEM_ALLOC of %llu bytes (ENOMEM): %s (%llu bytes)",
			      (unsigned long long)size, why,
			      (unsigned long long)have);
	}
	return VGPUIF_RSP_ENOMEM;
}

static int op_mem_alloc(struct cpu_exec *ce, struct vgpu_exec_op *op)
{
	uint64_t size = op->u.mem_alloc.size, avail = 0, used;
	struct vgpu_exec_mem *m;

	if (size == 0)
		return VGPUIF_RSP_EINVAL;
	pthread_mutex_lock(&ce->lock);
	used = ce->used;
	pthread_mutex_unlock(&ce->lock);
	if (size > ce->total || used + size > ce->total)
		return refuse_alloc(ce, size, "past this backend's host memory limit",
				    ce->total - used);
	if (host_short(ce, size, &avail))
		return refuse_alloc(ce, size, "dom0 would have less than its reserve available",
				    avail);
	m = calloc(1, sizeof(*m));
	if (!m)
		return VGPUIF_RSP_ENOMEM;
	/* zeroed: no data of an earlier allocation (or guest) shows through */
	if (size >= CPU_LONG_BYTES && size <= SIZE_MAX) {
		m->data = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m->data == MAP_FAILED)
			m->data = NULL;
		m->mapped = m->data != NULL;
		if (m->data)
			populate(m->data, (size_t)size);
	} else {
		m->data = calloc(1, (size_t)size);
	}
	if (!m->data) {
		free(m);
		return VGPUIF_RSP_ENOMEM;
	}
	m->magic = CPU_MEM_MAGIC;
	m->ctx = op->ctx;
	m->size = size;

	pthread_mutex_lock(&ce->lock);
	if (ce->used + size > ce->total) {
		pthread_mutex_unlock(&ce->lock);
		if (m->mapped)
			munmap(m->data, (size_t)size);
		else
			free(m->data);
		free(m);
		return VGPUIF_RSP_ENOMEM;
	}
	ce->used += size;
	m->addr = ce->next_addr;
	/* a guard gap of one page between allocations, like a real VA */
	ce->next_addr += (size + 2 * CPU_VA_ALIGN - 1) & ~(CPU_VA_ALIGN - 1);
	m->next = op->ctx->mems;
	if (m->next)
		m->next->prev = m;
	op->ctx->mems = m;
	pthread_mutex_unlock(&ce->lock);

	op->object = m;
	op->result[0] = size;
	op->result[1] = m->addr;
	return 0;
}

static int op_mem_free(struct cpu_exec *ce, struct vgpu_exec_op *op)
{
	struct vgpu_exec_mem *m = op->u.mem_free.mem;

	if (!mem_ok(op->ctx, m) || m->module_var)
		return VGPUIF_RSP_EBADF;
	pthread_mutex_lock(&ce->lock);
	mem_release(ce, m);
	pthread_mutex_unlock(&ce->lock);
	return 0;
}

#define CPU_HOSTREG_MAGIC 0x68726567u   /* "hreg" */
struct vgpu_exec_hostreg {
	uint32_t magic;
	bool     writable;
	uint8_t *addr;
	size_t   len;
};

static int op_copy(struct vgpu_exec_op *op, bool h2d)
{
	struct vgpu_exec_mem *m = op->u.copy.mem;
	uint64_t off = op->u.copy.offset, len = op->u.copy.length;

	if (!mem_ok(op->ctx, m))
		return VGPUIF_RSP_EBADF;
	if (m->lost)
		return VGPUIF_RSP_EREMOTEIO;
	if (len == 0)
		return VGPUIF_RSP_EINVAL;
	if (!vgpuif_range_ok(off, len, m->size) || len > SIZE_MAX)
		return VGPUIF_RSP_ERANGE;
	if (op->u.copy.host) {
		/* registered guest memory: straight from (to) its mapping */
		const struct vgpu_exec_hostreg *hr = op->u.copy.host;

		if (hr->magic != CPU_HOSTREG_MAGIC)
			return VGPUIF_RSP_EBADF;
		if (!vgpuif_range_ok(op->u.copy.host_offset, len, hr->len))
			return VGPUIF_RSP_ERANGE;
		if (!h2d && !hr->writable)
			return VGPUIF_RSP_EPERM;
		if (h2d)
			memcpy(m->data + off, hr->addr + op->u.copy.host_offset,
			       (size_t)len);
		else
			memcpy(hr->addr + op->u.copy.host_offset, m->data + off,
			       (size_t)len);
		return 0;
	}
	if (h2d)
		return vgpu_exec_stream_read(op->iov, op->niov, 0, m->data + off,
					     (size_t)len);
	return vgpu_exec_stream_write(op->iov, op->niov, 0, m->data + off,
				      (size_t)len);
}

static int op_d2d(struct vgpu_exec_op *op)
{
	struct vgpu_exec_mem *d = op->u.d2d.dst, *s = op->u.d2d.src;
	uint64_t len = op->u.d2d.length;

	if (!mem_ok(op->ctx, d) || !mem_ok(op->ctx, s))
		return VGPUIF_RSP_EBADF;
	if (d->lost || s->lost)
		return VGPUIF_RSP_EREMOTEIO;
	if (len == 0)
		return VGPUIF_RSP_EINVAL;
	if (!vgpuif_range_ok(op->u.d2d.dst_offset, len, d->size) ||
	    !vgpuif_range_ok(op->u.d2d.src_offset, len, s->size))
		return VGPUIF_RSP_ERANGE;
	memmove(d->data + op->u.d2d.dst_offset, s->data + op->u.d2d.src_offset,
		(size_t)len);
	return 0;
}

static int op_memset(struct vgpu_exec_op *op)
{
	struct vgpu_exec_mem *m = op->u.memset.mem;
	uint64_t off = op->u.memset.offset, len = op->u.memset.length;
	uint32_t es = op->u.memset.elem_size, v = op->u.memset.value;
	unsigned char *p;

	if (!mem_ok(op->ctx, m))
		return VGPUIF_RSP_EBADF;
	if (m->lost)
		return VGPUIF_RSP_EREMOTEIO;
	if (es != 1 && es != 2 && es != 4)
		return VGPUIF_RSP_EINVAL;
	if (len == 0 || off % es || len % es)
		return VGPUIF_RSP_EINVAL;
	if (!vgpuif_range_ok(off, len, m->size))
		return VGPUIF_RSP_ERANGE;
	p = m->data + off;
	if (es == 1) {
		memset(p, (int)(v & 0xff), (size_t)len);
	} else if (es == 2) {
		uint16_t e = (uint16_t)v;

		for (uint64_t i = 0; i < len; i += 2)
			memcpy(p + i, &e, 2);
	} else {
		for (uint64_t i = 0; i < len; i += 4)
			memcpy(p + i, &v, 4);
	}
	return 0;
}

static int op_vector_add(struct vgpu_exec_op *op)
{
	enum { CHUNK = 1024 };
	float a[CHUNK], b[CHUNK];
	uint64_t n = op->u.vector_add.n;

	if (n == 0 || n > VGPUIF_MAX_VECTOR_ADD_ELEMS)
		return VGPUIF_RSP_EINVAL;
	if (vgpu_exec_stream_len(op->iov, op->niov) < 12 * n)
		return VGPUIF_RSP_ERANGE;
	for (uint64_t i = 0; i < n; i += CHUNK) {
		size_t k = n - i < CHUNK ? (size_t)(n - i) : CHUNK;
		int rc;

		rc = vgpu_exec_stream_read(op->iov, op->niov, 4 * i, a, 4 * k);
		if (!rc)
			rc = vgpu_exec_stream_read(op->iov, op->niov, 4 * (n + i),
						   b, 4 * k);
		if (rc)
			return rc;
		for (size_t j = 0; j < k; j++)
			a[j] += b[j];
		rc = vgpu_exec_stream_write(op->iov, op->niov, 4 * (2 * n + i),
					    a, 4 * k);
		if (rc)
			return rc;
	}
	return 0;
}

static int cpu_get_info(struct vgpu_exec *ex, struct vgpu_exec_info *info);

static int op_get_info(struct cpu_exec *ce, struct vgpu_exec_op *op)
{
	struct vgpu_exec_info ei;
	struct vgpuif_info wi;

	cpu_get_info(&ce->base, &ei);
	op->result[0] = ei.total_mem;
	op->result[1] = ei.free_mem;
	if (vgpu_exec_stream_len(op->iov, op->niov) < sizeof(wi))
		return 0;  /* the backend writes the answer itself */
	vgpu_exec_fill_wire_info(&ei, &wi);
	return vgpu_exec_stream_write(op->iov, op->niov, 0, &wi, sizeof(wi));
}

/* An EVENT_RECORD reached: its time, if it is still the latest record. */
static void op_event_record(struct cpu_exec *ce, struct vgpu_exec_event *e,
			    uint64_t seq)
{
	uint64_t now = vgpu_exec_now_ns();

	pthread_mutex_lock(&ce->lock);
	if (e->rec_seq == seq)
		e->t_ns = now;
	if (!--e->refs && e->destroyed)
		event_free(e);
	pthread_mutex_unlock(&ce->lock);
}

static int cpu_exec_op(struct cpu_exec *ce, struct vgpu_exec_op *op,
		       uint64_t seq)
{
	switch (op->opcode) {
	case VGPUIF_OP_NOP:
	case VGPUIF_OP_SYNC:            /* ops run in order: nothing earlier is
					 * still running */
	case VGPUIF_OP_STREAM_WAIT_EVENT: /* the record it waits for came
					 * earlier in the one order */
		return 0;
	case VGPUIF_OP_GET_INFO:
		return op_get_info(ce, op);
	case VGPUIF_OP_CTX_CREATE: {
		struct vgpu_exec_ctx *ctx;

		if (ctx_new(ce, &ctx) < 0)
			return VGPUIF_RSP_ENOMEM;
		op->object = ctx;
		return 0;
	}
	case VGPUIF_OP_CTX_DESTROY:
		ctx_release(ce, op->ctx);
		return 0;
	case VGPUIF_OP_MEM_ALLOC:
		return op_mem_alloc(ce, op);
	case VGPUIF_OP_MEM_FREE:
		return op_mem_free(ce, op);
	case VGPUIF_OP_MEMCPY_H2D:
		return op_copy(op, true);
	case VGPUIF_OP_MEMCPY_D2H:
		return op_copy(op, false);
	case VGPUIF_OP_MEMCPY_D2D:
		return op_d2d(op);
	case VGPUIF_OP_MEMSET:
		return op_memset(op);
	case VGPUIF_OP_VECTOR_ADD:
		return op_vector_add(op);
	case VGPUIF_OP_EVENT_RECORD:
		op_event_record(ce, op->u.event.event, seq);
		return 0;
	case VGPUIF_OP_MODULE_LOAD:
	case VGPUIF_OP_MODULE_UNLOAD:
	case VGPUIF_OP_FUNC_GET:
	case VGPUIF_OP_MODULE_GLOBAL:
	case VGPUIF_OP_LAUNCH:
		return ptx_exec_op(ce->ptx, op);
	default:
		return VGPUIF_RSP_EOPNOTSUPP; /* checked in submit */
	}
}

/* Take the waiters seq_done has reached off the list (ce->lock held). */
static struct cpu_waiter *waiters_reached(struct cpu_exec *ce)
{
	struct cpu_waiter **pp = &ce->waiters, *w, *out = NULL, **tail = &out;

	ce->waiters_tail = NULL;
	while ((w = *pp)) {
		if (w->until <= ce->seq_done) {
			*pp = w->next;
			w->next = NULL;
			*tail = w;
			tail = &w->next;
			continue;
		}
		ce->waiters_tail = w;
		pp = &w->next;
	}
	return out;
}

/* Answer waiters taken off the list, in their submission order. */
static void waiters_answer(struct cpu_exec *ce, struct cpu_waiter *w)
{
	while (w) {
		struct cpu_waiter *next = w->next;
		struct vgpu_exec_op *op = w->op;

		if (w->free_stream) {
			pthread_mutex_lock(&ce->lock);
			stream_free(w->free_stream);
			pthread_mutex_unlock(&ce->lock);
		}
		free(w);
		op->exec_ns = 0;
		op->done(op, 0);
		w = next;
	}
}

/* Run one op: the configured delay, the op, exec_ns, done(). */
static void cpu_run(struct cpu_exec *ce, struct vgpu_exec_op *op, uint64_t seq)
{
	uint64_t t0 = vgpu_exec_now_ns();
	struct cpu_waiter *w;
	int status;

	status = cpu_exec_op(ce, op, seq);
	if (ce->delay_us)
		vgpu_exec_sleep_until(t0 + (uint64_t)ce->delay_us * 1000u);
	op->exec_ns = vgpu_exec_now_ns() - t0;
	op->done(op, status);

	/* Only now is it done for queries: its done() came first. */
	pthread_mutex_lock(&ce->lock);
	ce->seq_done = seq;
	w = waiters_reached(ce);
	if (w)
		ce->delivering++;
	pthread_mutex_unlock(&ce->lock);
	if (!w)
		return;
	waiters_answer(ce, w);
	pthread_mutex_lock(&ce->lock);
	ce->delivering--;
	pthread_cond_broadcast(&ce->idle_cond);
	pthread_mutex_unlock(&ce->lock);
}

/* ------------------------------------------------------------- worker */

static void *cpu_worker(void *arg)
{
	struct cpu_exec *ce = arg;

	pthread_mutex_lock(&ce->lock);
	for (;;) {
		struct cpu_job *j;

		/* An inline op runs: the one order has one runner at a time. */
		while ((!ce->head && !ce->stopping) || ce->inline_running)
			pthread_cond_wait(&ce->work_cond, &ce->lock);
		if (!ce->head)
			break;          /* stopping and drained */
		j = ce->head;
		ce->head = j->next;
		if (!ce->head)
			ce->tail = NULL;
		pthread_mutex_unlock(&ce->lock);

		cpu_run(ce, j->op, j->seq);
		free(j);

		pthread_mutex_lock(&ce->lock);
		ce->queued--;
		pthread_cond_broadcast(&ce->idle_cond);
	}
	pthread_mutex_unlock(&ce->lock);
	return NULL;
}

/* Does a waiter (STREAM_SYNC, EVENT_SYNC, STREAM_DESTROY) of ctx wait? */
static bool ctx_waits_locked(struct cpu_exec *ce, struct vgpu_exec_ctx *ctx)
{
	for (struct cpu_waiter *w = ce->waiters; w; w = w->next)
		if (w->op->ctx == ctx)
			return true;
	return false;
}

/*
 * Wait until the ops of ctx have completed and been answered; those of
 * other contexts (a long allocation) may go on.
 */
static void cpu_drain_ctx(struct cpu_exec *ce, struct vgpu_exec_ctx *ctx)
{
	if (pthread_equal(pthread_self(), ce->worker))
		return;
	pthread_mutex_lock(&ce->lock);
	while (ce->seq_done < ctx->last_seq || ce->delivering ||
	       ctx->allocs_pending || ctx_waits_locked(ce, ctx))
		pthread_cond_wait(&ce->idle_cond, &ce->lock);
	pthread_mutex_unlock(&ce->lock);
}

/* An ordered op that may take long: on the worker, even inline. */
static bool op_is_long(const struct vgpu_exec_op *op)
{
	switch (op->opcode) {
	case VGPUIF_OP_MEMSET:
		return op->u.memset.length >= CPU_LONG_BYTES;
	case VGPUIF_OP_MEMCPY_D2D:
		return op->u.d2d.length >= CPU_LONG_BYTES;
	default:
		return false;
	}
}

/* --------------------------------------------------------- allocator */

static int cpu_queue_job(struct cpu_exec *ce, struct vgpu_exec_op *op,
			 bool on_stream);

/* A SYNC of a context that has allocations pending waits for them. */
static bool park_sync(struct cpu_exec *ce, struct vgpu_exec_op *op)
{
	struct cpu_job *j;
	bool parked = false;

	pthread_mutex_lock(&ce->lock);
	if (op->ctx->allocs_pending) {
		j = malloc(sizeof(*j));
		if (j) {
			j->op = op;
			j->seq = 0;
			j->next = ce->parked;
			ce->parked = j;
			parked = true;
		}
	}
	pthread_mutex_unlock(&ce->lock);
	/* Out of memory: it goes now, earlier than it should, never lost. */
	return parked;
}

static void *cpu_allocator(void *arg)
{
	struct cpu_exec *ce = arg;

	pthread_mutex_lock(&ce->lock);
	for (;;) {
		struct cpu_job *j, *p, **pp, *ready = NULL;
		struct vgpu_exec_op *op;
		uint64_t t0;
		int status;

		while (!ce->alloc_head && !ce->alloc_stopping)
			pthread_cond_wait(&ce->alloc_cond, &ce->lock);
		if (!ce->alloc_head)
			break;
		j = ce->alloc_head;
		ce->alloc_head = j->next;
		if (!ce->alloc_head)
			ce->alloc_tail = NULL;
		pthread_mutex_unlock(&ce->lock);

		op = j->op;
		free(j);
		t0 = vgpu_exec_now_ns();
		status = op_mem_alloc(ce, op);
		op->exec_ns = vgpu_exec_now_ns() - t0;
		/* Nothing of op or its context is touched after done(). */
		pthread_mutex_lock(&ce->lock);
		if (!--op->ctx->allocs_pending) {
			for (pp = &ce->parked; (p = *pp);) {
				if (p->op->ctx == op->ctx) {
					*pp = p->next;
					p->next = ready;
					ready = p;
				} else {
					pp = &p->next;
				}
			}
		}
		pthread_cond_broadcast(&ce->idle_cond);
		pthread_mutex_unlock(&ce->lock);
		op->done(op, status);
		/* The SYNCs that waited go into the one order now. */
		while (ready) {
			p = ready;
			ready = p->next;
			if (cpu_queue_job(ce, p->op, false)) {
				p->op->exec_ns = 0;
				p->op->done(p->op, VGPUIF_RSP_ENOMEM);
			}
			free(p);
		}
		pthread_mutex_lock(&ce->lock);
	}
	pthread_mutex_unlock(&ce->lock);
	return NULL;
}

/* A long MEM_ALLOC: to the allocator thread. */
static int cpu_alloc_long(struct cpu_exec *ce, struct vgpu_exec_op *op)
{
	struct cpu_job *j = malloc(sizeof(*j));

	if (!j)
		return VGPUIF_RSP_ENOMEM;
	j->op = op;
	j->seq = 0;
	j->next = NULL;
	pthread_mutex_lock(&ce->lock);
	if (ce->alloc_stopping) {
		pthread_mutex_unlock(&ce->lock);
		free(j);
		return VGPUIF_RSP_ESHUTDOWN;
	}
	op->ctx->allocs_pending++;
	if (ce->alloc_tail)
		ce->alloc_tail->next = j;
	else
		ce->alloc_head = j;
	ce->alloc_tail = j;
	pthread_cond_signal(&ce->alloc_cond);
	pthread_mutex_unlock(&ce->lock);
	return 0;
}

/* ------------------------------------------------------ the interface */

/*
 * Number an op of the one order and note it on its context, its stream and
 * (EVENT_RECORD) its event. ce->lock held.
 */
static uint64_t order_locked(struct cpu_exec *ce, struct vgpu_exec_op *op,
			     bool on_stream)
{
	uint64_t seq = ++ce->seq_submitted;

	if (op->ctx) {
		op->ctx->last_seq = seq;
		if (on_stream)
			(op->stream ? op->stream : &op->ctx->dflt)->last_seq = seq;
	}
	if (op->opcode == VGPUIF_OP_EVENT_RECORD) {
		op->u.event.event->rec_seq = seq;
		op->u.event.event->refs++;
	}
	return seq;
}

/* Put an op in the one order: run it now (inline) or queue it. */
static int cpu_enqueue(struct cpu_exec *ce, struct vgpu_exec_op *op,
		       bool on_stream)
{
	uint64_t seq;

	if (!ce->async && !op_is_long(op)) {
		pthread_mutex_lock(&ce->lock);
		/* Behind a long op on the worker: queue, keep the one order. */
		if (!ce->queued && !ce->inline_running) {
			seq = order_locked(ce, op, on_stream);
			ce->inline_running = true;
			pthread_mutex_unlock(&ce->lock);
			cpu_run(ce, op, seq);
			pthread_mutex_lock(&ce->lock);
			ce->inline_running = false;
			/* The allocator may have queued a SYNC meanwhile. */
			if (ce->head)
				pthread_cond_signal(&ce->work_cond);
			pthread_mutex_unlock(&ce->lock);
			return 0;
		}
		pthread_mutex_unlock(&ce->lock);
	}
	return cpu_queue_job(ce, op, on_stream);
}

/* Put an op in the one order, on the worker. */
static int cpu_queue_job(struct cpu_exec *ce, struct vgpu_exec_op *op,
			 bool on_stream)
{
	struct cpu_job *j = malloc(sizeof(*j));

	if (!j)
		return VGPUIF_RSP_ENOMEM;
	j->op = op;
	j->next = NULL;
	pthread_mutex_lock(&ce->lock);
	if (ce->stopping) {
		pthread_mutex_unlock(&ce->lock);
		free(j);
		return VGPUIF_RSP_ESHUTDOWN;
	}
	j->seq = order_locked(ce, op, on_stream);
	if (ce->tail)
		ce->tail->next = j;
	else
		ce->head = j;
	ce->tail = j;
	ce->queued++;
	pthread_cond_signal(&ce->work_cond);
	pthread_mutex_unlock(&ce->lock);
	return 0;
}

/*
 * Answer op once seq_done reaches until: now, or from the worker. With
 * free_stream (STREAM_DESTROY) the stream is freed first.
 */
static int cpu_wait_for(struct cpu_exec *ce, struct vgpu_exec_op *op,
			uint64_t until, struct vgpu_exec_stream *free_stream)
{
	struct cpu_waiter *w = calloc(1, sizeof(*w));

	if (!w)
		return VGPUIF_RSP_ENOMEM;
	w->op = op;
	w->until = until;
	w->free_stream = free_stream;
	pthread_mutex_lock(&ce->lock);
	if (free_stream)
		free_stream->dying = true;  /* no later op may name it */
	if (until > ce->seq_done) {
		if (ce->waiters_tail)
			ce->waiters_tail->next = w;
		else
			ce->waiters = w;
		ce->waiters_tail = w;
		pthread_mutex_unlock(&ce->lock);
		return 0;
	}
	pthread_mutex_unlock(&ce->lock);
	waiters_answer(ce, w);
	return 0;
}

static int op_stream_create(struct cpu_exec *ce, struct vgpu_exec_op *op)
{
	struct vgpu_exec_stream *s;

	if (op->u.stream_create.flags & ~VGPUIF_STREAM_F_ALL)
		return VGPUIF_RSP_EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return VGPUIF_RSP_ENOMEM;
	/* priority: the reference device has none; every value clamps to 0 */
	s->magic = CPU_STREAM_MAGIC;
	s->ctx = op->ctx;
	s->flags = op->u.stream_create.flags;
	pthread_mutex_lock(&ce->lock);
	s->next = op->ctx->streams;
	if (s->next)
		s->next->prev = s;
	op->ctx->streams = s;
	pthread_mutex_unlock(&ce->lock);
	op->object = s;
	return 0;
}

static int op_event_create(struct cpu_exec *ce, struct vgpu_exec_op *op)
{
	struct vgpu_exec_event *e;

	if (op->u.event_create.flags & ~VGPUIF_EVENT_F_ALL)
		return VGPUIF_RSP_EINVAL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return VGPUIF_RSP_ENOMEM;
	e->magic = CPU_EVENT_MAGIC;
	e->ctx = op->ctx;
	e->flags = op->u.event_create.flags;
	pthread_mutex_lock(&ce->lock);
	e->next = op->ctx->events;
	if (e->next)
		e->next->prev = e;
	op->ctx->events = e;
	pthread_mutex_unlock(&ce->lock);
	op->object = e;
	return 0;
}

/* EVENT_ELAPSED, ce->lock held. */
static int elapsed_locked(struct cpu_exec *ce, struct vgpu_exec_op *op)
{
	const struct vgpu_exec_event *a = op->u.elapsed.start;
	const struct vgpu_exec_event *b = op->u.elapsed.end;
	float ms;
	uint32_t bits;

	if ((a->flags | b->flags) & VGPUIF_EVENT_DISABLE_TIMING)
		return VGPUIF_RSP_EINVAL;
	if (!a->rec_seq || !b->rec_seq)
		return VGPUIF_RSP_EINVAL;
	if (a->rec_seq > ce->seq_done || b->rec_seq > ce->seq_done)
		return VGPUIF_RSP_EBUSY;
	ms = (float)((double)((int64_t)(b->t_ns - a->t_ns)) / 1e6);
	memcpy(&bits, &ms, sizeof(bits));
	op->result[0] = bits;
	return 0;
}

/* The ops answered inside submit, without waiting for the order. */
static int cpu_at_once(struct cpu_exec *ce, struct vgpu_exec_op *op)
{
	struct vgpu_exec_stream *s;
	struct vgpu_exec_event *e;
	int status = 0;

	switch (op->opcode) {
	case VGPUIF_OP_STREAM_CREATE:
		status = op_stream_create(ce, op);
		break;
	case VGPUIF_OP_EVENT_CREATE:
		status = op_event_create(ce, op);
		break;
	case VGPUIF_OP_STREAM_QUERY:
		s = op->stream ? op->stream : &op->ctx->dflt;
		pthread_mutex_lock(&ce->lock);
		op->result[0] = s->last_seq <= ce->seq_done;
		pthread_mutex_unlock(&ce->lock);
		break;
	case VGPUIF_OP_EVENT_QUERY:
		e = op->u.event.event;
		pthread_mutex_lock(&ce->lock);
		op->result[0] = e->rec_seq <= ce->seq_done;
		pthread_mutex_unlock(&ce->lock);
		break;
	case VGPUIF_OP_EVENT_ELAPSED:
		pthread_mutex_lock(&ce->lock);
		status = elapsed_locked(ce, op);
		pthread_mutex_unlock(&ce->lock);
		break;
	case VGPUIF_OP_EVENT_DESTROY:
		e = op->u.event.event;
		pthread_mutex_lock(&ce->lock);
		e->destroyed = true;
		if (!e->refs)
			event_free(e);      /* else the last record frees it */
		pthread_mutex_unlock(&ce->lock);
		break;
	}
	op->exec_ns = 0;
	if (status)
		op->object = NULL;
	op->done(op, status);
	return 0;
}

static int cpu_submit(struct vgpu_exec *ex, struct vgpu_exec_op *op)
{
	struct cpu_exec *ce = to_cpu(ex);
	bool ctx_ok = op->ctx && op->ctx->magic == CPU_CTX_MAGIC;

	switch (op->opcode) {
	case VGPUIF_OP_SYNC:
		if (ctx_ok && park_sync(ce, op))
			return 0;
		return cpu_enqueue(ce, op, false);
	case VGPUIF_OP_NOP:
	case VGPUIF_OP_GET_INFO:
	case VGPUIF_OP_CTX_CREATE:
		return cpu_enqueue(ce, op, false);
	case VGPUIF_OP_VECTOR_ADD:
		if (op->ctx && !ctx_ok)
			return VGPUIF_RSP_EBADF;
		return cpu_enqueue(ce, op, true);
	case VGPUIF_OP_MEM_ALLOC:
		if (!ctx_ok)
			return VGPUIF_RSP_EBADF;
		if (!ce->async && op->u.mem_alloc.size >= CPU_LONG_BYTES)
			return cpu_alloc_long(ce, op);
		return cpu_enqueue(ce, op, false);
	case VGPUIF_OP_CTX_DESTROY:
	case VGPUIF_OP_MEM_FREE:
		if (!ctx_ok)
			return VGPUIF_RSP_EBADF;
		return cpu_enqueue(ce, op, false);
	case VGPUIF_OP_MEMCPY_H2D:
	case VGPUIF_OP_MEMCPY_D2H:
	case VGPUIF_OP_MEMCPY_D2D:
	case VGPUIF_OP_MEMSET:
		if (!ctx_ok || !stream_ok(op->ctx, op->stream))
			return VGPUIF_RSP_EBADF;
		return cpu_enqueue(ce, op, true);
	case VGPUIF_OP_EVENT_RECORD:
	case VGPUIF_OP_STREAM_WAIT_EVENT:
		if (!ctx_ok || !stream_ok(op->ctx, op->stream) ||
		    !event_ok(op->ctx, op->u.event.event))
			return VGPUIF_RSP_EBADF;
		return cpu_enqueue(ce, op, true);
	case VGPUIF_OP_STREAM_SYNC:
	case VGPUIF_OP_STREAM_DESTROY: {
		struct vgpu_exec_stream *s = op->stream;
		uint64_t until;

		if (!ctx_ok || !stream_ok(op->ctx, s) ||
		    (op->opcode == VGPUIF_OP_STREAM_DESTROY && !s))
			return VGPUIF_RSP_EBADF;
		pthread_mutex_lock(&ce->lock);
		until = (s ? s : &op->ctx->dflt)->last_seq;
		pthread_mutex_unlock(&ce->lock);
		return cpu_wait_for(ce, op, until,
				    op->opcode == VGPUIF_OP_STREAM_DESTROY ? s : NULL);
	}
	case VGPUIF_OP_EVENT_SYNC: {
		uint64_t until;

		if (!ctx_ok || !event_ok(op->ctx, op->u.event.event))
			return VGPUIF_RSP_EBADF;
		pthread_mutex_lock(&ce->lock);
		until = op->u.event.event->rec_seq;
		pthread_mutex_unlock(&ce->lock);
		return cpu_wait_for(ce, op, until, NULL);
	}
	case VGPUIF_OP_STREAM_CREATE:
	case VGPUIF_OP_EVENT_CREATE:
		if (!ctx_ok)
			return VGPUIF_RSP_EBADF;
		return cpu_at_once(ce, op);
	case VGPUIF_OP_STREAM_QUERY:
		if (!ctx_ok || !stream_ok(op->ctx, op->stream))
			return VGPUIF_RSP_EBADF;
		return cpu_at_once(ce, op);
	case VGPUIF_OP_EVENT_QUERY:
	case VGPUIF_OP_EVENT_DESTROY:
		if (!ctx_ok || !event_ok(op->ctx, op->u.event.event))
			return VGPUIF_RSP_EBADF;
		return cpu_at_once(ce, op);
	case VGPUIF_OP_EVENT_ELAPSED:
		if (!ctx_ok || !event_ok(op->ctx, op->u.elapsed.start) ||
		    !event_ok(op->ctx, op->u.elapsed.end))
			return VGPUIF_RSP_EBADF;
		return cpu_at_once(ce, op);
	case VGPUIF_OP_MODULE_LOAD:
	case VGPUIF_OP_MODULE_UNLOAD:
	case VGPUIF_OP_FUNC_GET:
	case VGPUIF_OP_MODULE_GLOBAL:
		if (!ctx_ok)
			return VGPUIF_RSP_EBADF;
		return cpu_enqueue(ce, op, false);
	case VGPUIF_OP_LAUNCH: {
		int status;

		if (!ctx_ok || !stream_ok(op->ctx, op->stream))
			return VGPUIF_RSP_EBADF;
		/* the local memory it makes the device reserve: at submit */
		status = ptx_exec_local_charge(ce->ptx, op);
		if (status)
			return status;
		return cpu_enqueue(ce, op, true);
	}
	case VGPUIF_OP_FUNC_INFO:
	case VGPUIF_OP_FUNC_SET_ATTR: {
		int status;

		if (!ctx_ok)
			return VGPUIF_RSP_EBADF;
		status = ptx_exec_op(ce->ptx, op);  /* at once */
		op->exec_ns = 0;
		op->done(op, status);
		return 0;
	}
	default:
		/* DEVICE_INFO too: the backend answers it from the snapshot */
		return VGPUIF_RSP_ENOSYS;
	}
}

static uint64_t cpu_launch_mem(struct vgpu_exec *ex, struct vgpu_exec_func *func)
{
	return ptx_exec_launch_mem(to_cpu(ex)->ptx, func);
}

static int cpu_get_info(struct vgpu_exec *ex, struct vgpu_exec_info *info)
{
	struct cpu_exec *ce = to_cpu(ex);

	memset(info, 0, sizeof(*info));
	info->kind = VGPUIF_EXECUTOR_CPU;
	snprintf(info->name, sizeof(info->name), "%s", ce->name);
	info->total_mem = ce->total;
	pthread_mutex_lock(&ce->lock);
	info->free_mem = ce->total - ce->used;
	pthread_mutex_unlock(&ce->lock);
	info->cc_major = CPU_CC_MAJOR;
	info->cc_minor = CPU_CC_MINOR;
	info->sm_count = CPU_SM_COUNT;
	info->copy_mode = VGPUIF_COPY_HOST;
	return 0;
}

/*
 * CUdevice_attribute values (NVIDIA's driver API documentation) that the
 * reference device answers; the rest stay invalid (attr_valid bit clear).
 */
enum {
	CPU_ATTR_MAX_THREADS_PER_BLOCK = 1, CPU_ATTR_MAX_BLOCK_DIM_X = 2,
	CPU_ATTR_MAX_BLOCK_DIM_Y = 3, CPU_ATTR_MAX_BLOCK_DIM_Z = 4,
	CPU_ATTR_MAX_GRID_DIM_X = 5, CPU_ATTR_MAX_GRID_DIM_Y = 6,
	CPU_ATTR_MAX_GRID_DIM_Z = 7, CPU_ATTR_MAX_SHARED_PER_BLOCK = 8,
	CPU_ATTR_TOTAL_CONSTANT_MEMORY = 9, CPU_ATTR_WARP_SIZE = 10,
	CPU_ATTR_MAX_PITCH = 11, CPU_ATTR_MAX_REGISTERS_PER_BLOCK = 12,
	CPU_ATTR_CLOCK_RATE = 13, CPU_ATTR_TEXTURE_ALIGNMENT = 14,
	CPU_ATTR_GPU_OVERLAP = 15, CPU_ATTR_MULTIPROCESSOR_COUNT = 16,
	CPU_ATTR_KERNEL_EXEC_TIMEOUT = 17, CPU_ATTR_INTEGRATED = 18,
	CPU_ATTR_CAN_MAP_HOST_MEMORY = 19, CPU_ATTR_COMPUTE_MODE = 20,
	CPU_ATTR_CONCURRENT_KERNELS = 31, CPU_ATTR_ECC_ENABLED = 32,
	CPU_ATTR_PCI_BUS_ID = 33, CPU_ATTR_PCI_DEVICE_ID = 34,
	CPU_ATTR_TCC_DRIVER = 35, CPU_ATTR_MAX_THREADS_PER_MP = 39,
	CPU_ATTR_ASYNC_ENGINE_COUNT = 40, CPU_ATTR_UNIFIED_ADDRESSING = 41,
	CPU_ATTR_PCI_DOMAIN_ID = 50, CPU_ATTR_CC_MAJOR = 75,
	CPU_ATTR_CC_MINOR = 76, CPU_ATTR_STREAM_PRIORITIES = 78,
	CPU_ATTR_MAX_SHARED_PER_MP = 81, CPU_ATTR_MAX_REGISTERS_PER_MP = 82,
	CPU_ATTR_MANAGED_MEMORY = 83, CPU_ATTR_MULTI_GPU_BOARD = 84,
	CPU_ATTR_CONCURRENT_MANAGED_ACCESS = 89,
	CPU_ATTR_COOPERATIVE_LAUNCH = 95, CPU_ATTR_MAX_SHARED_OPTIN = 97,
	CPU_ATTR_MAX_BLOCKS_PER_MP = 106,
};

static void dinfo_set(struct vgpuif_device_info *d, unsigned int i, int32_t v)
{
	d->attr[i] = v;
	d->attr_valid[i / 32] |= 1u << (i % 32);
}

/* The snapshot of the reference device: what a CUDA program reads first. */
static void cpu_fill_device_info(struct vgpuif_device_info *d,
				 const struct vgpu_exec_config *cfg)
{
	static const struct { uint8_t attr; int32_t v; } a[] = {
		{ CPU_ATTR_MAX_THREADS_PER_BLOCK, VGPUIF_MAX_BLOCK_THREADS },
		{ CPU_ATTR_MAX_BLOCK_DIM_X, 1024 },
		{ CPU_ATTR_MAX_BLOCK_DIM_Y, 1024 },
		{ CPU_ATTR_MAX_BLOCK_DIM_Z, 64 },
		{ CPU_ATTR_MAX_GRID_DIM_X, (int32_t)VGPUIF_MAX_GRID_DIM_X },
		{ CPU_ATTR_MAX_GRID_DIM_Y, (int32_t)VGPUIF_MAX_GRID_DIM_YZ },
		{ CPU_ATTR_MAX_GRID_DIM_Z, (int32_t)VGPUIF_MAX_GRID_DIM_YZ },
		{ CPU_ATTR_MAX_SHARED_PER_BLOCK, 48 * 1024 },
		{ CPU_ATTR_TOTAL_CONSTANT_MEMORY, 64 * 1024 },
		{ CPU_ATTR_WARP_SIZE, 32 },
		{ CPU_ATTR_MAX_PITCH, 0x7fffffff },
		{ CPU_ATTR_MAX_REGISTERS_PER_BLOCK, 64 * 1024 },
		{ CPU_ATTR_CLOCK_RATE, 1000000 },         /* kHz: nominal */
		{ CPU_ATTR_TEXTURE_ALIGNMENT, 512 },
		{ CPU_ATTR_GPU_OVERLAP, 0 },              /* one worker: none */
		{ CPU_ATTR_MULTIPROCESSOR_COUNT, CPU_SM_COUNT },
		{ CPU_ATTR_INTEGRATED, 0 },
		{ CPU_ATTR_CAN_MAP_HOST_MEMORY, 0 },
		{ CPU_ATTR_COMPUTE_MODE, 0 },             /* default */
		{ CPU_ATTR_CONCURRENT_KERNELS, 0 },
		{ CPU_ATTR_ECC_ENABLED, 0 },
		{ CPU_ATTR_PCI_BUS_ID, 0 },
		{ CPU_ATTR_PCI_DEVICE_ID, 0 },
		{ CPU_ATTR_PCI_DOMAIN_ID, 0 },
		{ CPU_ATTR_TCC_DRIVER, 0 },
		{ CPU_ATTR_MAX_THREADS_PER_MP, VGPUIF_MAX_BLOCK_THREADS },
		{ CPU_ATTR_ASYNC_ENGINE_COUNT, 0 },
		{ CPU_ATTR_UNIFIED_ADDRESSING, 0 },
		{ CPU_ATTR_CC_MAJOR, CPU_CC_MAJOR },
		{ CPU_ATTR_CC_MINOR, CPU_CC_MINOR },
		{ CPU_ATTR_STREAM_PRIORITIES, 0 },
		{ CPU_ATTR_MAX_SHARED_PER_MP, 48 * 1024 },
		{ CPU_ATTR_MAX_REGISTERS_PER_MP, 64 * 1024 },
		{ CPU_ATTR_MANAGED_MEMORY, 0 },
		{ CPU_ATTR_MULTI_GPU_BOARD, 0 },
		{ CPU_ATTR_CONCURRENT_MANAGED_ACCESS, 0 },
		{ CPU_ATTR_COOPERATIVE_LAUNCH, 0 },
		{ CPU_ATTR_MAX_SHARED_OPTIN, 48 * 1024 },
		{ CPU_ATTR_MAX_BLOCKS_PER_MP, 1 },
	};
	/* A fixed identity: the same device every time, never a real GPU's. */
	static const uint8_t uuid[16] = "vgpu-xen cpu ref";

	memset(d, 0, sizeof(*d));
	d->version = 1;
	d->driver_version = 0;
	d->ordinal = (uint32_t)cfg->device;
	memcpy(d->uuid, uuid, sizeof(d->uuid));
	d->uuid[15] ^= (uint8_t)cfg->device;  /* each stand-in GPU its own */
	if (cfg->device)
		snprintf(d->name, sizeof(d->name), "%s #%d", CPU_NAME, cfg->device);
	else
		snprintf(d->name, sizeof(d->name), "%s", CPU_NAME);
	d->total_mem = cfg->host_mem_limit && cfg->host_mem_limit < CPU_TOTAL_MEM ?
		       cfg->host_mem_limit : CPU_TOTAL_MEM;
	for (size_t i = 0; i < sizeof(a) / sizeof(a[0]); i++)
		dinfo_set(d, a[i].attr, a[i].v);
	dinfo_set(d, CPU_ATTR_KERNEL_EXEC_TIMEOUT, cfg->watchdog_ms ? 1 : 0);
	d->nr_attrs = CPU_ATTR_MAX_BLOCKS_PER_MP + 1;
	d->stream_priority_least = 0;
	d->stream_priority_greatest = 0;
}

static int cpu_device_info(struct vgpu_exec *ex, struct vgpuif_device_info *out)
{
	*out = to_cpu(ex)->dinfo;
	return 0;
}

static int cpu_ctx_create(struct vgpu_exec *ex, struct vgpu_exec_ctx **out)
{
	return ctx_new(to_cpu(ex), out);
}

static void cpu_ctx_destroy(struct vgpu_exec *ex, struct vgpu_exec_ctx *ctx)
{
	struct cpu_exec *ce = to_cpu(ex);

	if (ctx->magic != CPU_CTX_MAGIC)
		return;
	cpu_drain_ctx(ce, ctx);  /* ops of ctx still queued would touch it */
	ctx_release(ce, ctx);
}

/*
 * Registered guest memory: the cpu executor's "device" is host memory, so
 * copies naming it are one memcpy between the backend's mapping of the
 * guest's pages and the allocation (copy mode host), no iov walk.
 */
static int cpu_host_register(struct vgpu_exec *ex,
			     const struct vgpu_exec_hostmem *hm,
			     struct vgpu_exec_hostreg **out, uint32_t *mode,
			     const char **why)
{
	struct vgpu_exec_hostreg *r = calloc(1, sizeof(*r));

	(void)ex;
	if (!r) {
		*why = "out of memory";
		return -ENOMEM;
	}
	r->magic = CPU_HOSTREG_MAGIC;
	r->addr = hm->addr;
	r->len = hm->len;
	r->writable = hm->writable;
	*out = r;
	*mode = VGPUIF_COPY_HOST;
	return 0;
}

static void cpu_host_unregister(struct vgpu_exec *ex, struct vgpu_exec_hostreg *r)
{
	(void)ex;
	if (r->magic == CPU_HOSTREG_MAGIC) {
		r->magic = 0;
		free(r);
	}
}

static int cpu_mem_info(struct vgpu_exec *ex, uint64_t *free_b, uint64_t *total_b)
{
	struct cpu_exec *ce = to_cpu(ex);

	uint64_t avail = 0;

	pthread_mutex_lock(&ce->lock);
	*free_b = ce->total - ce->used;
	pthread_mutex_unlock(&ce->lock);
	/* Free for this guest: also what dom0 can still give, less the reserve. */
	if (host_short(ce, *free_b, &avail))
		*free_b = avail > ce->reserve ? avail - ce->reserve : 0;
	*total_b = ce->total;
	return 0;
}

static int cpu_open(struct vgpu_exec **out, const struct vgpu_exec_config *cfg,
		    const char **why)
{
	struct cpu_exec *ce;
	int rc;

	ce = calloc(1, sizeof(*ce));
	if (!ce) {
		*why = "out of memory";
		return -ENOMEM;
	}
	/*
	 * Its stand-ins for several GPUs (policy tests on a machine with
	 * none): ordinal < $VGPU_CPU_GPUS (default 1), each its own device.
	 */
	{
		const char *n = getenv("VGPU_CPU_GPUS");
		long ngpus = n ? strtol(n, NULL, 10) : 1;

		if (ngpus < 1 || ngpus > 64)
			ngpus = 1;
		if (cfg->device < 0 || cfg->device >= ngpus) {
			free(ce);
			*why = "no such device: the cpu executor has as many as "
			       "$VGPU_CPU_GPUS says (default 1)";
			return -ENODEV;
		}
	}
	ce->device = cfg->device;
	if (ce->device)
		snprintf(ce->name, sizeof(ce->name), "%s #%d", CPU_NAME, ce->device);
	else
		snprintf(ce->name, sizeof(ce->name), "%s", CPU_NAME);
	ce->delay_us = cfg->cpu_op_delay_us;
	ce->async = cfg->cpu_async || cfg->cpu_op_delay_us;
	ce->total = cfg->host_mem_limit && cfg->host_mem_limit < CPU_TOTAL_MEM ?
		    cfg->host_mem_limit : CPU_TOTAL_MEM;
	ce->reserve = cfg->host_mem_reserve;
	ce->next_addr = CPU_VA_BASE;
	cpu_fill_device_info(&ce->dinfo, cfg);
	ce->ptx = ptx_exec_new(&ce->base);
	if (!ce->ptx) {
		free(ce);
		*why = "out of memory";
		return -ENOMEM;
	}
	pthread_mutex_init(&ce->lock, NULL);
	pthread_cond_init(&ce->work_cond, NULL);
	pthread_cond_init(&ce->idle_cond, NULL);
	pthread_cond_init(&ce->alloc_cond, NULL);
	rc = pthread_create(&ce->worker, NULL, cpu_worker, ce);
	if (rc) {
		*why = "cannot start the worker thread";
		goto out_free;
	}
	rc = pthread_create(&ce->allocator, NULL, cpu_allocator, ce);
	if (rc) {
		*why = "cannot start the allocator thread";
		goto out_worker;
	}
	vgpu_exec_log(cfg, "cpu", VGPU_EXEC_LOG_INFO,
		      "open: %s, %s completion, %u us per op, %llu MiB of device memory (host memory), dom0 reserve %llu MiB",
		      ce->name, ce->async ? "worker-thread" : "inline (long ops on the worker)",
		      ce->delay_us, (unsigned long long)(ce->total >> 20),
		      (unsigned long long)(ce->reserve >> 20));
	*out = &ce->base;
	return 0;

out_worker:
	pthread_mutex_lock(&ce->lock);
	ce->stopping = true;
	pthread_cond_signal(&ce->work_cond);
	pthread_mutex_unlock(&ce->lock);
	pthread_join(ce->worker, NULL);
out_free:
	pthread_cond_destroy(&ce->alloc_cond);
	pthread_cond_destroy(&ce->idle_cond);
	pthread_cond_destroy(&ce->work_cond);
	pthread_mutex_destroy(&ce->lock);
	ptx_exec_free(ce->ptx);
	free(ce);
	return -rc;
}

static void cpu_close(struct vgpu_exec *ex)
{
	struct cpu_exec *ce = to_cpu(ex);
	struct cpu_waiter *w;

	ptx_exec_cancel(ce->ptx);       /* a kernel running stops (ESHUTDOWN) */
	/*
	 * Allocations first (a SYNC parked behind one goes into the order
	 * when it ends), then every queued op still runs and gets done().
	 */
	pthread_mutex_lock(&ce->lock);
	ce->alloc_stopping = true;
	pthread_cond_signal(&ce->alloc_cond);
	pthread_mutex_unlock(&ce->lock);
	pthread_join(ce->allocator, NULL);
	pthread_mutex_lock(&ce->lock);
	ce->stopping = true;
	pthread_cond_signal(&ce->work_cond);
	pthread_mutex_unlock(&ce->lock);
	pthread_join(ce->worker, NULL);
	/* Every op ran, so every waiter was reached; this is a safety net. */
	pthread_mutex_lock(&ce->lock);
	ce->seq_done = ce->seq_submitted;
	w = waiters_reached(ce);
	pthread_mutex_unlock(&ce->lock);
	waiters_answer(ce, w);
	while (ce->ctxs)
		ctx_release(ce, ce->ctxs);
	pthread_cond_destroy(&ce->alloc_cond);
	ptx_exec_free(ce->ptx);
	pthread_cond_destroy(&ce->idle_cond);
	pthread_cond_destroy(&ce->work_cond);
	pthread_mutex_destroy(&ce->lock);
	free(ce);
}

/* --------------------------------------------- for the modules (ptx-exec.h) */

int vgpu_exec_cpu_var_new(struct vgpu_exec *ex, struct vgpu_exec_ctx *ctx,
			  uint64_t size, bool is_const,
			  struct vgpu_exec_mem **out, uint64_t *addr,
			  unsigned char **host)
{
	struct vgpu_exec_op op = {
		.opcode = VGPUIF_OP_MEM_ALLOC, .ctx = ctx,
		.u.mem_alloc.size = size ? size : 1,
	};
	struct vgpu_exec_mem *m;
	int rc;

	/* the same memory, limits and address space as MEM_ALLOC's */
	rc = op_mem_alloc(to_cpu(ex), &op);
	if (rc)
		return rc;
	m = op.object;
	m->module_var = true;
	m->is_const = is_const;
	*out = m;
	*addr = m->addr;
	*host = m->data;
	return 0;
}

void vgpu_exec_cpu_var_free(struct vgpu_exec *ex, struct vgpu_exec_mem *m)
{
	struct cpu_exec *ce = to_cpu(ex);

	pthread_mutex_lock(&ce->lock);
	mem_release(ce, m);
	pthread_mutex_unlock(&ce->lock);
}

uint64_t vgpu_exec_cpu_var_addr(const struct vgpu_exec_mem *m)
{
	return m->addr;
}

static int region_cmp(const void *a, const void *b)
{
	const struct ptx_region *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

int vgpu_exec_cpu_regions(struct vgpu_exec *ex, struct vgpu_exec_ctx *ctx,
			  struct ptx_region **out, size_t *n)
{
	struct cpu_exec *ce = to_cpu(ex);
	struct vgpu_exec_mem *m;
	struct ptx_region *r;
	size_t count = 0, i = 0;

	pthread_mutex_lock(&ce->lock);
	for (m = ctx->mems; m; m = m->next)
		count++;
	r = calloc(count ? count : 1, sizeof(*r));
	if (!r) {
		pthread_mutex_unlock(&ce->lock);
		return VGPUIF_RSP_ENOMEM;
	}
	for (m = ctx->mems; m; m = m->next) {
		if (m->lost)
			continue;
		r[i].addr = m->addr;
		r[i].size = m->size;
		r[i].host = m->data;
		r[i].is_const = m->is_const;
		i++;
	}
	pthread_mutex_unlock(&ce->lock);
	qsort(r, i, sizeof(*r), region_cmp);
	*out = r;
	*n = i;
	return 0;
}

void vgpu_exec_cpu_lose_state(struct vgpu_exec *ex)
{
	struct cpu_exec *ce = to_cpu(ex);

	pthread_mutex_lock(&ce->lock);
	for (struct vgpu_exec_ctx *ctx = ce->ctxs; ctx; ctx = ctx->next)
		for (struct vgpu_exec_mem *m = ctx->mems; m; m = m->next)
			m->lost = true;
	pthread_mutex_unlock(&ce->lock);
}

const struct vgpu_exec_impl vgpu_exec_cpu_impl = {
	.name            = "cpu",
	.open            = cpu_open,
	.close           = cpu_close,
	.get_info        = cpu_get_info,
	.device_info     = cpu_device_info,
	.ctx_create      = cpu_ctx_create,
	.ctx_destroy     = cpu_ctx_destroy,
	.submit          = cpu_submit,
	.host_register   = cpu_host_register,
	.host_unregister = cpu_host_unregister,
	.mem_info        = cpu_mem_info,
	.launch_mem      = cpu_launch_mem,
};
