/* SPDX-License-Identifier: MIT */
/*
 * executor.h - the one line between vgpu-backend and the GPU.
 *
 * The backend has already copied, parsed and validated every request, checked
 * every handle against its own tables, enforced every limit (handles per
 * context, in-flight requests, mem-quota) and mapped every data segment into
 * host memory. An executor only executes. Two implementations:
 *   cuda  exec-cuda.c + cuda-worker.c: CUDA driver API (loaded with dlopen,
 *         so every program starts without a driver), one CUcontext per
 *         executor (that is, per guest domain) owned by a GPU worker
 *         process the executor starts (the program itself re-executed), a
 *         stream per guest context, completions in order from a reader
 *         thread. A GPU fault or a watchdog expiry ends the worker and
 *         starts a new one: on the H100 a sticky error poisons every
 *         context of its process and a spinning kernel cannot be stopped
 *         short of ending its process (measured; docs/performance.md).
 *         Guest data is staged through a pinned arena shared with the
 *         worker (copy mode "staged")
 *   cpu   exec-cpu.c: host memory behind device-style handles; a reference
 *         for machines without a GPU; MODULE_LOAD/FUNC_GET/LAUNCH answer
 *         VGPUIF_RSP_EOPNOTSUPP
 *
 * Threading: vgpu_exec_submit() is called from the backend's ring thread and
 * must not block on GPU work. Completion is reported by calling op->done()
 * exactly once per submitted op, from any thread (possibly from inside
 * submit for ops that finish at once). Ops of one executor context complete
 * in submission order; ops of different contexts in any order.
 *
 * Status values are VGPUIF_RSP_* (0 or negative), as sent to the guest.
 */
#ifndef VGPU_EXEC_H
#define VGPU_EXEC_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "vgpuif.h"

struct vgpu_exec;       /* one per backend: a device and its context    */
struct vgpu_exec_ctx;   /* one per guest context: streams, ordering     */
struct vgpu_exec_mem;   /* a device allocation                          */
struct vgpu_exec_mod;   /* a loaded module                              */
struct vgpu_exec_func;  /* a kernel of a module                         */

/* A mapped piece of the request's data stream, in stream order. */
struct vgpu_exec_iov {
	void   *base;
	size_t  len;
};

struct vgpu_exec_config {
	const char *name;          /* "cuda", "cpu" or "auto"                  */
	int         device;        /* GPU ordinal for cuda                     */
	uint32_t    domid;         /* for log lines                            */
	uint32_t    watchdog_ms;   /* kernel time limit; 0 = none              */
	uint32_t    cpu_op_delay_us; /* cpu executor: extra time per op, for
				    * deterministic scheduling tests           */
	void      (*log)(void *arg, int level, const char *msg);
	void       *log_arg;        /* levels: 0 error, 1 warn, 2 info, 3 debug */
	bool        cpu_async;     /* cpu executor: complete ops from its worker
				    * thread (always so when cpu_op_delay_us
				    * is not 0); else inline, inside submit   */
};

/* Filled by vgpu_exec_get_info(). */
struct vgpu_exec_info {
	enum vgpuif_executor_kind kind;
	char     name[64];         /* GPU name or "cpu reference executor"  */
	uint64_t total_mem;
	uint64_t free_mem;
	uint32_t cc_major, cc_minor, sm_count;
	enum vgpuif_copy_mode copy_mode;
};

/* One operation, prepared by the backend. */
struct vgpu_exec_op {
	uint8_t  opcode;                 /* VGPUIF_OP_*                     */
	struct vgpu_exec_ctx *ctx;       /* NULL for ops outside a context  */
	union {
		struct { uint64_t size; } mem_alloc;
		struct { struct vgpu_exec_mem *mem; } mem_free;
		/* H2D: stream -> mem+offset; D2H: mem+offset -> stream */
		struct { struct vgpu_exec_mem *mem; uint64_t offset, length; } copy;
		struct {
			struct vgpu_exec_mem *dst; uint64_t dst_offset;
			struct vgpu_exec_mem *src; uint64_t src_offset;
			uint64_t length;
		} d2d;
		struct {
			struct vgpu_exec_mem *mem; uint64_t offset, length;
			uint32_t value, elem_size;
		} memset;
		/* image = stream[0, image_len); log written after it */
		struct { uint64_t image_len; uint32_t format, log_len; } module_load;
		struct { struct vgpu_exec_mod *mod; } module_unload;
		/* name = stream[0, name_len) (not NUL-terminated) */
		struct { struct vgpu_exec_mod *mod; uint32_t name_len; } func_get;
		/* params = stream[0, param_len) */
		struct {
			struct vgpu_exec_func *func;
			uint32_t grid[3], block[3], shared_mem, param_len;
		} launch;
		struct { uint32_t n; } vector_add; /* a, b read; c written */
	} u;
	const struct vgpu_exec_iov *iov; /* the data stream                 */
	unsigned int niov;

	/* Filled by the executor before done(). */
	uint64_t result[2];    /* as the response's result[]                */
	void    *object;       /* MEM_ALLOC/MODULE_LOAD/FUNC_GET: the new
				* vgpu_exec_mem/mod/func                     */
	uint64_t exec_ns;      /* time spent executing                      */

	void (*done)(struct vgpu_exec_op *op, int status);
	void *priv;            /* the backend's                             */
};

/*
 * Open an executor. cfg->name "auto" picks cuda when a usable GPU is present,
 * else cpu. Returns 0 or -errno; *why gets a human-readable reason (static
 * or owned by the executor) on failure.
 */
int  vgpu_exec_open(struct vgpu_exec **out, const struct vgpu_exec_config *cfg,
		    const char **why);
/* Waits for outstanding ops (each still gets done()), frees everything. */
void vgpu_exec_close(struct vgpu_exec *ex);
const char *vgpu_exec_name(const struct vgpu_exec *ex); /* "cuda"/"cpu" */
/* Why this executor was chosen, e.g. "auto: no usable GPU (cuInit: ...)". */
const char *vgpu_exec_why(const struct vgpu_exec *ex);
int  vgpu_exec_get_info(struct vgpu_exec *ex, struct vgpu_exec_info *info);

/* Guest contexts. destroy releases everything still allocated in it. */
int  vgpu_exec_ctx_create(struct vgpu_exec *ex, struct vgpu_exec_ctx **out);
void vgpu_exec_ctx_destroy(struct vgpu_exec *ex, struct vgpu_exec_ctx *ctx);

/*
 * Queue an op; returns 0 (done() will be called) or a status (it won't).
 *
 * Per opcode (what the executor reads and fills):
 *   NOP          nothing
 *   GET_INFO     ctx may be NULL; when the stream holds at least
 *                sizeof(struct vgpuif_info) bytes, the executor's fields of
 *                a struct vgpuif_info are written there (the backend's own:
 *                mem_quota, mem_used, max_segments, priority, pool, domid
 *                stay 0 for it to fill); result[0] = total, [1] = free mem
 *   CTX_CREATE   object = a new struct vgpu_exec_ctx (as ctx_create())
 *   CTX_DESTROY  destroys op->ctx after its earlier ops (as ctx_destroy())
 *   MEM_ALLOC    object = vgpu_exec_mem; result[0] = size,
 *                result[1] = device address (stable while it lives)
 *   MEMCPY_*, MEMSET, D2D: range-checked again here (VGPUIF_RSP_ERANGE)
 *   MODULE_LOAD  object = vgpu_exec_mod; result[1] = log bytes written
 *                (also on failure, ENOEXEC)
 *   FUNC_GET     object = vgpu_exec_func; result[1] = parameter bytes
 *   LAUNCH       VGPUIF_RSP_EREMOTEIO on a GPU fault, VGPUIF_RSP_ETIMEDOUT
 *                past watchdog_ms: the executor's CUDA context was replaced,
 *                every object of every guest context is gone (later ops on
 *                them get VGPUIF_RSP_EREMOTEIO until the guest context is
 *                destroyed)
 *   VECTOR_ADD   ctx may be NULL; stream = a, b (read), c (written)
 *   SYNC         completes after every earlier op of ctx
 */
int  vgpu_exec_submit(struct vgpu_exec *ex, struct vgpu_exec_op *op);

/* Objects die with their context, or explicitly through MEM_FREE etc. */

/*
 * Host memory that stays mapped (persistent grants) may be registered with
 * the device for zero-copy DMA. Returns 0 or -errno (then copies are staged);
 * the cpu executor accepts and ignores; the cuda executor answers
 * -EOPNOTSUPP (its CUDA context lives in the worker process, which cannot
 * see this process's mappings).
 */
int  vgpu_exec_host_register(struct vgpu_exec *ex, void *addr, size_t len);
void vgpu_exec_host_unregister(struct vgpu_exec *ex, void *addr);

/*
 * Device memory free now (cuMemGetInfo), for leak checks and vgpu-smi.
 * cuda: exact when no guest op is in flight (it waits for the worker);
 * with guest work in flight, the last figure seen, so that the caller (the
 * ring thread) never waits behind a long kernel.
 */
int  vgpu_exec_mem_info(struct vgpu_exec *ex, uint64_t *free_b,
			uint64_t *total_b);

#endif /* VGPU_EXEC_H */
