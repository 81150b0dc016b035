/* SPDX-License-Identifier: MIT */
/*
 * exec-cpu.c - the cpu reference executor: "device" memory is host memory
 * behind device-style handles, each allocation with a fake but stable device
 * address. For machines without a GPU and for tests of everything above the
 * executor. MODULE_LOAD, MODULE_UNLOAD, FUNC_GET and LAUNCH answer
 * VGPUIF_RSP_EOPNOTSUPP.
 *
 * Ops run inline inside submit, or (cfg.cpu_async, or cfg.cpu_op_delay_us
 * not 0) on one worker thread per executor in submission order, which keeps
 * the per-context order the interface promises. With cpu_op_delay_us every
 * op takes at least that long, so schedulers above can be tested
 * deterministically.
 *
 * The backend validates every request, but this executor still never
 * touches memory outside the objects and the stream it was given: every
 * range is checked again here (VGPUIF_RSP_ERANGE).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec-private.h"

#define CPU_CTX_MAGIC  0x43505543u   /* "CUPC" */
#define CPU_MEM_MAGIC  0x4d555043u   /* "CPUM" */
#define CPU_DEAD_MAGIC 0xdeadbeefu
/* Fake device addresses: a 47-bit range like CUDA's, never reused. */
#define CPU_VA_BASE    0x0000700000000000ull
#define CPU_VA_ALIGN   4096ull
/* Device memory the cpu executor pretends to have. */
#define CPU_TOTAL_MEM  (16ull << 30)
#define CPU_NAME       "cpu reference executor"

struct vgpu_exec_mem {
	uint32_t magic;
	struct vgpu_exec_ctx *ctx;
	uint64_t size;
	uint64_t addr;                  /* fake device address              */
	unsigned char *data;
	struct vgpu_exec_mem *prev, *next;
};

struct vgpu_exec_ctx {
	uint32_t magic;
	struct vgpu_exec_mem *mems;     /* under cpu_exec.lock               */
	struct vgpu_exec_ctx *prev, *next;
};

struct cpu_job {
	struct vgpu_exec_op *op;
	struct cpu_job *next;
};

struct cpu_exec {
	struct vgpu_exec base;          /* first: exec.c casts                */
	uint32_t delay_us;
	bool async;

	pthread_mutex_t lock;           /* protects everything below         */
	struct vgpu_exec_ctx *ctxs;
	uint64_t next_addr;
	uint64_t used;                  /* bytes allocated                    */

	/* async mode only */
	pthread_cond_t work_cond;       /* jobs queued, or stopping           */
	pthread_cond_t idle_cond;       /* seq_done moved                     */
	struct cpu_job *head, *tail;
	uint64_t seq_submitted, seq_done;
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
	free(m->data);
	free(m);
}

static void ctx_release(struct cpu_exec *ce, struct vgpu_exec_ctx *ctx)
{
	pthread_mutex_lock(&ce->lock);
	while (ctx->mems)
		mem_release(ce, ctx->mems);
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

/* ----------------------------------------------------------------- ops */

static int op_mem_alloc(struct cpu_exec *ce, struct vgpu_exec_op *op)
{
	uint64_t size = op->u.mem_alloc.size;
	struct vgpu_exec_mem *m;

	if (size == 0)
		return VGPUIF_RSP_EINVAL;
	if (size > CPU_TOTAL_MEM)
		return VGPUIF_RSP_ENOMEM;
	m = calloc(1, sizeof(*m));
	if (!m)
		return VGPUIF_RSP_ENOMEM;
	/* zeroed: no data of an earlier allocation (or guest) shows through */
	m->data = calloc(1, (size_t)size);
	if (!m->data) {
		free(m);
		return VGPUIF_RSP_ENOMEM;
	}
	m->magic = CPU_MEM_MAGIC;
	m->ctx = op->ctx;
	m->size = size;

	pthread_mutex_lock(&ce->lock);
	if (ce->used + size > CPU_TOTAL_MEM) {
		pthread_mutex_unlock(&ce->lock);
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

	if (!mem_ok(op->ctx, m))
		return VGPUIF_RSP_EBADF;
	pthread_mutex_lock(&ce->lock);
	mem_release(ce, m);
	pthread_mutex_unlock(&ce->lock);
	return 0;
}

static int op_copy(struct vgpu_exec_op *op, bool h2d)
{
	struct vgpu_exec_mem *m = op->u.copy.mem;
	uint64_t off = op->u.copy.offset, len = op->u.copy.length;

	if (!mem_ok(op->ctx, m))
		return VGPUIF_RSP_EBADF;
	if (len == 0)
		return VGPUIF_RSP_EINVAL;
	if (!vgpuif_range_ok(off, len, m->size) || len > SIZE_MAX)
		return VGPUIF_RSP_ERANGE;
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

static int cpu_exec_op(struct cpu_exec *ce, struct vgpu_exec_op *op)
{
	switch (op->opcode) {
	case VGPUIF_OP_NOP:
	case VGPUIF_OP_SYNC:            /* ops run in order: nothing earlier is
					 * still running */
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
	default:
		return VGPUIF_RSP_EOPNOTSUPP; /* modules, kernels: checked in submit */
	}
}

/* Run one op: the configured delay, the op, exec_ns, done(). */
static void cpu_run(struct cpu_exec *ce, struct vgpu_exec_op *op)
{
	uint64_t t0 = vgpu_exec_now_ns();
	int status;

	status = cpu_exec_op(ce, op);
	if (ce->delay_us)
		vgpu_exec_sleep_until(t0 + (uint64_t)ce->delay_us * 1000u);
	op->exec_ns = vgpu_exec_now_ns() - t0;
	op->done(op, status);
}

/* ------------------------------------------------------------- worker */

static void *cpu_worker(void *arg)
{
	struct cpu_exec *ce = arg;

	pthread_mutex_lock(&ce->lock);
	for (;;) {
		struct cpu_job *j;

		while (!ce->head && !ce->stopping)
			pthread_cond_wait(&ce->work_cond, &ce->lock);
		if (!ce->head)
			break;          /* stopping and drained */
		j = ce->head;
		ce->head = j->next;
		if (!ce->head)
			ce->tail = NULL;
		pthread_mutex_unlock(&ce->lock);

		cpu_run(ce, j->op);
		free(j);

		pthread_mutex_lock(&ce->lock);
		ce->seq_done++;
		pthread_cond_broadcast(&ce->idle_cond);
	}
	pthread_mutex_unlock(&ce->lock);
	return NULL;
}

/* Wait until every op submitted before now has completed. */
static void cpu_drain(struct cpu_exec *ce)
{
	uint64_t seq;

	if (!ce->async || pthread_equal(pthread_self(), ce->worker))
		return;
	pthread_mutex_lock(&ce->lock);
	seq = ce->seq_submitted;
	while (ce->seq_done < seq)
		pthread_cond_wait(&ce->idle_cond, &ce->lock);
	pthread_mutex_unlock(&ce->lock);
}

/* ------------------------------------------------------ the interface */

static int cpu_submit(struct vgpu_exec *ex, struct vgpu_exec_op *op)
{
	struct cpu_exec *ce = to_cpu(ex);
	struct cpu_job *j;

	switch (op->opcode) {
	case VGPUIF_OP_NOP:
	case VGPUIF_OP_GET_INFO:
	case VGPUIF_OP_CTX_CREATE:
	case VGPUIF_OP_SYNC:
	case VGPUIF_OP_VECTOR_ADD:
		break;
	case VGPUIF_OP_CTX_DESTROY:
	case VGPUIF_OP_MEM_ALLOC:
	case VGPUIF_OP_MEM_FREE:
	case VGPUIF_OP_MEMCPY_H2D:
	case VGPUIF_OP_MEMCPY_D2H:
	case VGPUIF_OP_MEMCPY_D2D:
	case VGPUIF_OP_MEMSET:
		if (!op->ctx || op->ctx->magic != CPU_CTX_MAGIC)
			return VGPUIF_RSP_EBADF;
		break;
	case VGPUIF_OP_MODULE_LOAD:
	case VGPUIF_OP_MODULE_UNLOAD:
	case VGPUIF_OP_FUNC_GET:
	case VGPUIF_OP_LAUNCH:
		return VGPUIF_RSP_EOPNOTSUPP;
	default:
		return VGPUIF_RSP_ENOSYS;
	}

	if (!ce->async) {
		cpu_run(ce, op);
		return 0;
	}
	j = malloc(sizeof(*j));
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
	if (ce->tail)
		ce->tail->next = j;
	else
		ce->head = j;
	ce->tail = j;
	ce->seq_submitted++;
	pthread_cond_signal(&ce->work_cond);
	pthread_mutex_unlock(&ce->lock);
	return 0;
}

static int cpu_get_info(struct vgpu_exec *ex, struct vgpu_exec_info *info)
{
	struct cpu_exec *ce = to_cpu(ex);

	memset(info, 0, sizeof(*info));
	info->kind = VGPUIF_EXECUTOR_CPU;
	snprintf(info->name, sizeof(info->name), "%s", CPU_NAME);
	info->total_mem = CPU_TOTAL_MEM;
	pthread_mutex_lock(&ce->lock);
	info->free_mem = CPU_TOTAL_MEM - ce->used;
	pthread_mutex_unlock(&ce->lock);
	info->copy_mode = VGPUIF_COPY_HOST;
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
	cpu_drain(ce);  /* ops of ctx still queued would touch it */
	ctx_release(ce, ctx);
}

static int cpu_host_register(struct vgpu_exec *ex, void *addr, size_t len)
{
	(void)ex; (void)addr; (void)len;
	return 0;
}

static void cpu_host_unregister(struct vgpu_exec *ex, void *addr)
{
	(void)ex; (void)addr;
}

static int cpu_mem_info(struct vgpu_exec *ex, uint64_t *free_b, uint64_t *total_b)
{
	struct cpu_exec *ce = to_cpu(ex);

	pthread_mutex_lock(&ce->lock);
	*free_b = CPU_TOTAL_MEM - ce->used;
	pthread_mutex_unlock(&ce->lock);
	*total_b = CPU_TOTAL_MEM;
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
	ce->delay_us = cfg->cpu_op_delay_us;
	ce->async = cfg->cpu_async || cfg->cpu_op_delay_us;
	ce->next_addr = CPU_VA_BASE;
	pthread_mutex_init(&ce->lock, NULL);
	pthread_cond_init(&ce->work_cond, NULL);
	pthread_cond_init(&ce->idle_cond, NULL);
	if (ce->async) {
		rc = pthread_create(&ce->worker, NULL, cpu_worker, ce);
		if (rc) {
			*why = "cannot start the worker thread";
			goto out_free;
		}
	}
	vgpu_exec_log(cfg, "cpu", VGPU_EXEC_LOG_INFO,
		      "open: %s, %s completion, %u us per op",
		      CPU_NAME, ce->async ? "worker-thread" : "inline",
		      ce->delay_us);
	*out = &ce->base;
	return 0;

out_free:
	pthread_cond_destroy(&ce->idle_cond);
	pthread_cond_destroy(&ce->work_cond);
	pthread_mutex_destroy(&ce->lock);
	free(ce);
	return -rc;
}

static void cpu_close(struct vgpu_exec *ex)
{
	struct cpu_exec *ce = to_cpu(ex);

	if (ce->async) {
		/* every queued op still runs and gets done() */
		pthread_mutex_lock(&ce->lock);
		ce->stopping = true;
		pthread_cond_signal(&ce->work_cond);
		pthread_mutex_unlock(&ce->lock);
		pthread_join(ce->worker, NULL);
	}
	while (ce->ctxs)
		ctx_release(ce, ce->ctxs);
	pthread_cond_destroy(&ce->idle_cond);
	pthread_cond_destroy(&ce->work_cond);
	pthread_mutex_destroy(&ce->lock);
	free(ce);
}

const struct vgpu_exec_impl vgpu_exec_cpu_impl = {
	.name            = "cpu",
	.open            = cpu_open,
	.close           = cpu_close,
	.get_info        = cpu_get_info,
	.ctx_create      = cpu_ctx_create,
	.ctx_destroy     = cpu_ctx_destroy,
	.submit          = cpu_submit,
	.host_register   = cpu_host_register,
	.host_unregister = cpu_host_unregister,
	.mem_info        = cpu_mem_info,
};
