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
 *         for machines without a GPU; its modules are PTX (or the PTX of a
 *         fat binary), its kernels run on an interpreter (ptx-exec.c, ptx.h:
 *         the supported subset); cubins and SASS-only images answer
 *         VGPUIF_RSP_EOPNOTSUPP
 *
 * Threading: vgpu_exec_submit() is called from the backend's ring thread and
 * must not block on GPU work. Completion is reported by calling op->done()
 * exactly once per submitted op, from any thread (possibly from inside
 * submit for ops that finish at once).
 *
 * Ordering (protocol revision 2; docs/protocol.md section 6 is the guest's
 * view of the same rules). Every op is in one of four classes:
 *
 *   stream-ordered  MEMCPY_H2D/D2H/D2D, MEMSET, LAUNCH, VECTOR_ADD (default
 *                   stream), EVENT_RECORD, STREAM_WAIT_EVENT: runs on
 *                   op->stream (NULL = the context's default stream) after
 *                   the earlier ops of that stream; done() when it has
 *                   completed (its effects visible). done() calls of one
 *                   stream come in submission order.
 *                   The default stream is CUDA's legacy NULL stream: an op
 *                   on it runs after every earlier op of the context on a
 *                   blocking stream (created without
 *                   VGPUIF_STREAM_NON_BLOCKING), and an op on a blocking
 *                   stream runs after every earlier op on the default
 *                   stream. A non-blocking stream has no implicit order
 *                   with the default stream.
 *                   STREAM_WAIT_EVENT: later ops of op->stream run after the
 *                   event's latest EVENT_RECORD submitted before it (none:
 *                   no wait).
 *   waits           SYNC (every earlier op of the context, every stream),
 *                   STREAM_SYNC (the earlier ops of op->stream, NULL = the
 *                   default stream), EVENT_SYNC (the event's latest record
 *                   submitted before it), STREAM_DESTROY (the stream's earlier
 *                   ops, then the stream is freed), MEM_FREE and
 *                   MODULE_UNLOAD (every earlier op of the context that may
 *                   use the object: an executor may simply wait for every
 *                   earlier op of the context): done() after the work waited
 *                   for has completed and after that work's own done() calls.
 *   at once         STREAM_CREATE, EVENT_CREATE, STREAM_QUERY, EVENT_QUERY,
 *                   EVENT_ELAPSED, EVENT_DESTROY, FUNC_INFO, FUNC_SET_ATTR:
 *                   answered without waiting for stream work (done() may come
 *                   from inside submit). A query tells the truth at the time
 *                   it runs: it answers "done"/"idle" only when that work has
 *                   completed and its done() calls have been made, so the
 *                   guest sees those responses no later than the query's.
 *                   EVENT_DESTROY keeps the event alive for earlier ops that
 *                   still name it.
 *   context ops     NOP, GET_INFO, CTX_CREATE, MEM_ALLOC, MODULE_LOAD,
 *                   FUNC_GET, MODULE_GLOBAL: not ordered against stream work
 *                   (an executor may run them after earlier work, as the cpu
 *                   executor does, or before).
 * Ops of different contexts complete in any order. A revision-1 guest puts
 * everything on the default stream, so its ops of one context still
 * complete in submission order.
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
struct vgpu_exec_stream; /* a stream of a guest context (revision 2)     */
struct vgpu_exec_event; /* an event of a guest context (revision 2)     */
struct vgpu_exec_hostreg; /* registered guest memory (revision 3)       */

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
	/*
	 * Per-context limits dom0 fixes when the executor makes its device
	 * context (cuda: cuCtxSetLimit; the guest cannot change them), in
	 * bytes; 0 = the executor's default (CUDA's own: a 8 MiB device heap
	 * for malloc, a 1 MiB printf buffer, 1 KiB of stack per thread). What
	 * the driver reserves for them (the stack times every thread the
	 * device can hold at once) is part of vgpu_exec_info's ctx_overhead.
	 */
	uint64_t    ctx_heap_bytes;
	uint64_t    ctx_printf_bytes;
	uint32_t    ctx_stack_bytes;
	uint32_t    cpu_op_delay_us; /* cpu executor: extra time per op, for
				    * deterministic scheduling tests           */
	void      (*log)(void *arg, int level, const char *msg);
	void       *log_arg;        /* levels: 0 error, 1 warn, 2 info, 3 debug */
	bool        cpu_async;     /* cpu executor: complete ops from its worker
				    * thread (always so when cpu_op_delay_us
				    * is not 0); else inline, inside submit
				    * (but long ones on the worker)          */
	/*
	 * dom0's memory (the backend resolves both from hostmem.h and its
	 * settings): the most host memory the executor may hold for guests
	 * (cpu: its "device" memory; cuda: its pinned arena and staging),
	 * 0 = the executor's own default; and what it leaves available to the
	 * rest of dom0, checked at each allocation, 0 = no check. Past either,
	 * allocations answer VGPUIF_RSP_ENOMEM.
	 */
	uint64_t    host_mem_limit;
	uint64_t    host_mem_reserve;
};

/* Filled by vgpu_exec_get_info(). */
struct vgpu_exec_info {
	enum vgpuif_executor_kind kind;
	char     name[64];         /* GPU name or "cpu reference executor"  */
	uint64_t total_mem;
	uint64_t free_mem;
	uint32_t cc_major, cc_minor, sm_count;
	enum vgpuif_copy_mode copy_mode;
	/*
	 * Device memory the executor's own context takes for this domain
	 * (not the guest's allocations): the CUDA context and what the driver
	 * reserves with it (heap, stack, printf buffer). Reported per domain
	 * in GET_INFO and vgpu-smi for capacity planning; 0 = none or not
	 * measured. cpu: 0. cuda: what the GPU worker measured with NVML
	 * from before cuCtxCreate to after its first launch (its limits,
	 * arena and built-in kernel set up, no guest allocation yet), else
	 * estimated from the limits (cuda-worker.c); a restarted worker
	 * measures again. The backend reads it with get_info when the
	 * executor opens and passes it to the arbiter.
	 */
	uint64_t ctx_overhead;
};

/* One operation, prepared by the backend. */
struct vgpu_exec_op {
	uint8_t  opcode;                 /* VGPUIF_OP_*                     */
	struct vgpu_exec_ctx *ctx;       /* NULL for ops outside a context  */
	/*
	 * Stream-ordered ops: the stream they run on; STREAM_DESTROY,
	 * STREAM_SYNC, STREAM_QUERY: the stream concerned. NULL = the
	 * context's default stream (never for STREAM_DESTROY). Else NULL.
	 */
	struct vgpu_exec_stream *stream;
	union {
		struct { uint64_t size; } mem_alloc;
		struct { struct vgpu_exec_mem *mem; } mem_free;
		/*
		 * H2D: stream -> mem+offset; D2H: mem+offset -> stream.
		 * host (revision 3; else NULL): the stream is bytes
		 * [host_offset, +length) of this registration, which the
		 * executor may use instead of the iov (zero copy); the iov
		 * names the same bytes, so an executor may also ignore it.
		 */
		struct {
			struct vgpu_exec_mem *mem; uint64_t offset, length;
			struct vgpu_exec_hostreg *host; uint64_t host_offset;
		} copy;
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
		/* flags VGPUIF_STREAM_*; priority clamped to the device's range */
		struct { uint32_t flags; int32_t priority; } stream_create;
		/* flags VGPUIF_EVENT_* */
		struct { uint32_t flags; } event_create;
		/*
		 * EVENT_RECORD (on op->stream), STREAM_WAIT_EVENT (op->stream
		 * waits for it), EVENT_DESTROY, EVENT_SYNC, EVENT_QUERY
		 */
		struct { struct vgpu_exec_event *event; } event;
		/* EVENT_ELAPSED */
		struct { struct vgpu_exec_event *start, *end; } elapsed;
		/* FUNC_INFO: struct vgpuif_func_info written to stream[0, sizeof) */
		struct { struct vgpu_exec_func *func; } func_info;
		/* FUNC_SET_ATTR: a CUfunction_attribute or
		 * VGPUIF_FUNC_ATTR_CACHE_CONFIG, and its value */
		struct { struct vgpu_exec_func *func; uint32_t attr; int32_t value; } func_attr;
		/* MODULE_GLOBAL: name = stream[0, name_len) (not NUL-terminated) */
		struct { struct vgpu_exec_mod *mod; uint32_t name_len; } module_global;
	} u;
	const struct vgpu_exec_iov *iov; /* the data stream                 */
	unsigned int niov;
	/*
	 * The domain's device-memory quota, for ops that make its context
	 * hold memory besides MEM_ALLOC (MODULE_LOAD: the module's code,
	 * variables and constants; LAUNCH: local memory the driver reserves
	 * for a kernel that needs more per thread than any before it). When
	 * mem_limited, such an op may add at most mem_limit bytes (the quota
	 * less what the domain holds); past it the executor answers
	 * VGPUIF_RSP_EDQUOT before anything is loaded or launched and logs
	 * what and how much. Not limited: no check (mem_charged still says).
	 */
	bool     mem_limited;
	uint64_t mem_limit;
	/*
	 * A domain of a higher priority is using this GPU (the arbiter's
	 * hint): keep little of this op on the device at a time, so that the
	 * higher domain's work waits behind a small piece of it, not all of
	 * it (cuda: copies and memsets go in slices, each waited for before
	 * the next, and the worker sleeps instead of spinning). An executor
	 * may ignore it; results are the same either way.
	 */
	bool     yield;

	/* Filled by the executor before done(). */
	uint64_t result[2];    /* as the response's result[]                */
	void    *object;       /* MEM_ALLOC/MODULE_LOAD/FUNC_GET/
				* STREAM_CREATE/EVENT_CREATE/MODULE_GLOBAL:
				* the new vgpu_exec_mem/mod/func/stream/event
				* (MODULE_GLOBAL: the module's own mem)      */
	uint64_t exec_ns;      /* time spent executing                      */
	/*
	 * Device memory the op made the domain's context hold, to charge to
	 * its quota: MODULE_LOAD, the module's (also result[0]), held until
	 * its MODULE_UNLOAD; LAUNCH, local memory the driver now keeps for the
	 * executor's context for as long as the executor lives (the cuda
	 * executor keeps it reserved across worker restarts, so the charge
	 * stays true), set at submit and true whatever the launch's status;
	 * 0 for everything else and for a MODULE_LOAD that failed (whose
	 * result[0] says, with EDQUOT, what it would have held).
	 */
	uint64_t mem_charged;

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
/*
 * The device snapshot for DEVICE_INFO (revision 2), taken once when the
 * executor opened, so that every answer is the same: 0, or -EOPNOTSUPP for
 * an executor that takes none.
 */
int  vgpu_exec_device_info(struct vgpu_exec *ex, struct vgpuif_device_info *out);

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
 *                (also on failure, ENOEXEC); result[0] = the device memory
 *                its __device__/__constant__ variables hold, in bytes, when
 *                the executor knows it (cpu: exactly; 0 = unknown;
 *                cuda: its code, variables and constants, read from the
 *                cubin before it is loaded, a PTX text linked to one
 *                first); VGPUIF_RSP_EDQUOT past mem_limit (the log says
 *                how much it needs)
 *   FUNC_GET     object = vgpu_exec_func; result[1] = parameter bytes
 *   LAUNCH       VGPUIF_RSP_EDQUOT when the kernel's local memory would
 *                make the driver reserve more than mem_limit (cuda: its
 *                local bytes per thread, past the most any launch asked
 *                before, times the threads the device holds at once);
 *                VGPUIF_RSP_EREMOTEIO on a GPU fault, VGPUIF_RSP_ETIMEDOUT
 *                past watchdog_ms (cuda: so does every op in flight with
 *                it, a SYNC waiting for it included; after a fault those
 *                get EREMOTEIO): the executor's CUDA context was replaced,
 *                every object of every guest context is gone (later ops on
 *                them get VGPUIF_RSP_EREMOTEIO until the guest context is
 *                destroyed)
 *   VECTOR_ADD   ctx may be NULL; stream = a, b (read), c (written)
 *   SYNC         completes after every earlier op of ctx
 * Revision 2 (ordering classes above; an executor that lacks one of these
 * answers VGPUIF_RSP_ENOSYS, which the backend turns into EOPNOTSUPP):
 *   STREAM_CREATE   object = vgpu_exec_stream of ctx (it dies with ctx)
 *   STREAM_DESTROY  after op->stream's earlier ops; the stream is freed
 *   STREAM_SYNC     after op->stream's earlier ops
 *   STREAM_QUERY    result[0] = 1 when every op submitted on op->stream
 *                   has completed, else 0
 *   STREAM_WAIT_EVENT  as above; done() once op->stream has reached it
 *   EVENT_CREATE    object = vgpu_exec_event of ctx (it dies with ctx)
 *   EVENT_DESTROY   at once; the event lives on for earlier ops naming it
 *   EVENT_RECORD    the event captures op->stream's work so far (each
 *                   record replaces the one before); done() when reached
 *   EVENT_SYNC      after the event's latest record (never recorded: at once)
 *   EVENT_QUERY     result[0] = 1 when the latest record has completed
 *                   (or there is none), else 0
 *   EVENT_ELAPSED   result[0] = the ms from start to end as IEEE-754
 *                   binary32 bits, as cuEventElapsedTime; VGPUIF_RSP_EBUSY
 *                   while either record is pending; VGPUIF_RSP_EINVAL when
 *                   either was never recorded or has DISABLE_TIMING
 *   FUNC_INFO       struct vgpuif_func_info of func into stream[0, sizeof)
 *   FUNC_SET_ATTR   VGPUIF_RSP_EINVAL for an attribute or value the device
 *                   refuses
 *   MODULE_GLOBAL   object = the global's vgpu_exec_mem, owned by mod (the
 *                   same pointer each time for the same name, freed by
 *                   MODULE_UNLOAD, never passed to MEM_FREE, usable in copies
 *                   and memsets of ctx); result[0] = its device address,
 *                   result[1] = its size; VGPUIF_RSP_ENOENT: no such global
 */
int  vgpu_exec_submit(struct vgpu_exec *ex, struct vgpu_exec_op *op);

/* Objects die with their context, or explicitly through MEM_FREE etc. */

/*
 * Guest memory a program pinned, registered once (HOST_REGISTER, protocol
 * revision 3), as the backend holds it mapped.
 */
struct vgpu_exec_hostmem {
	void     *addr;        /* the backend's mapping of the pages        */
	size_t    len;         /* bytes, a multiple of 4096                 */
	bool      writable;    /* D2H copies may write it                   */
	/*
	 * Where the pages live, for an executor whose GPU context is in
	 * another process: a descriptor of a file holding them (-1: none;
	 * valid during the call only) and each page's byte offset in it
	 * (len / 4096 entries).
	 */
	int       fd;
	const uint64_t *file_off;
};

/*
 * Register hm with the device for zero-copy DMA: 0 and *out (copies whose
 * op->u.copy.host is *out may go straight between the guest's pages and
 * the GPU; *mode VGPUIF_COPY_ZERO_COPY, or VGPUIF_COPY_HOST for the cpu
 * executor, which copies from the mapping itself), or -errno with *why a
 * reason for the log (the backend then stages those copies).
 * cuda: the GPU worker maps the pages itself from hm->fd and registers
 * them with the driver (cuMemHostRegister); without a file, or when the
 * driver refuses (or VGPU_EXEC_ZERO_COPY=0), -EOPNOTSUPP/-errno. After a
 * worker restart its copies are staged again (logged). Not from done().
 */
int  vgpu_exec_host_register(struct vgpu_exec *ex,
			     const struct vgpu_exec_hostmem *hm,
			     struct vgpu_exec_hostreg **out, uint32_t *mode,
			     const char **why);
/* After every op naming it has had its done(). */
void vgpu_exec_host_unregister(struct vgpu_exec *ex,
			       struct vgpu_exec_hostreg *r);

/*
 * Device memory free now (cuMemGetInfo), for leak checks and vgpu-smi.
 * cuda: exact when no guest op is in flight (it waits for the worker);
 * with guest work in flight, the last figure seen, so that the caller (the
 * ring thread) never waits behind a long kernel.
 */
int  vgpu_exec_mem_info(struct vgpu_exec *ex, uint64_t *free_b,
			uint64_t *total_b);

/*
 * For the quota, before a LAUNCH of func is submitted: the device memory
 * the launch would make the context reserve more if it were submitted
 * now (its local memory per thread past the most any launch asked before,
 * times the threads the device holds at once), 0 when none. The
 * reservation only grows, so the op's mem_charged is never more than this
 * for a launch submitted after the call. Cheap, never waits (the ring
 * thread asks it for every LAUNCH under a quota).
 */
uint64_t vgpu_exec_launch_mem(struct vgpu_exec *ex, struct vgpu_exec_func *func);

#endif /* VGPU_EXEC_H */
