/* SPDX-License-Identifier: MIT */
/*
 * internal.h - the guest libcuda.so.1's private interface between its
 * files (the driver API on libvgpu). Not installed; stable for the runtime
 * side (library.c, dark*.c), which also sees runtime.h.
 *
 * The model:
 *   - one device (ordinal 0): the vgpu device this process opened
 *     ($VGPU_DEVICE, else /dev/vgpu_stub), described by one DEVICE_INFO
 *     snapshot read at cuInit;
 *   - one vgpu_t per CUcontext (a context in dom0; the primary context is
 *     one more, made at its first retain and closed at its last release);
 *   - a current-context stack per thread, kept here;
 *   - every handle given to a program (context, stream, event, module,
 *     function, link state) is a struct of this library, found again
 *     through one registry (lcu_obj_get) before anything touches it, so a
 *     freed or forged handle is an error code, never a crash;
 *   - a table of device address ranges (lcu_mem_*): what cuMemAlloc and
 *     module globals returned, with their context and dom0 memory handle,
 *     for copies, memsets, kernel parameters' sake and pointer queries;
 *   - a table of host blocks (cuMemAllocHost, cuMemHostAlloc,
 *     cuMemHostRegister).
 *
 * Locks (each says what it protects where it is declared); order: a
 * context's lock, then lcu_mem's, then the registry's. No lock of this
 * library is held across a call into libvgpu that waits for dom0, except a
 * context's lock around module and function bookkeeping (never around
 * synchronisation).
 */
#ifndef VGPU_LIBCUDA_INTERNAL_H
#define VGPU_LIBCUDA_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cuda.h"
#include "vgpu.h"

/* What this library exports has default visibility; the rest is hidden. */
#define LCU_API __attribute__((visibility("default")))

/* ------------------------------------------------------------ objects */

enum lcu_kind {
	LCU_CTX = 1, LCU_STREAM, LCU_EVENT, LCU_MODULE, LCU_FUNC, LCU_LINK,
};

/* The head of every handle a program holds. */
struct lcu_obj {
	enum lcu_kind kind;
};

/* Registers o (kind set) so that lcu_obj_get finds it; 0 or -ENOMEM. */
int lcu_obj_add(struct lcu_obj *o);
/* Forgets o: lcu_obj_get no longer finds it. */
void lcu_obj_del(struct lcu_obj *o);
/* o if it is a live handle of that kind, else NULL. */
struct lcu_obj *lcu_obj_get(const void *o, enum lcu_kind kind);

/* ------------------------------------------------------------ devices */

struct lcu_device {
	struct vgpu_device_info info;  /* the snapshot (DEVICE_INFO)     */
	bool info_r2;                  /* from DEVICE_INFO (else from GET_INFO) */
	struct vgpu_info vinfo;        /* GET_INFO at cuInit             */
	vgpu_t *v;                     /* queries, host memory           */
	char device[512];              /* the device string opened       */
};

/* The device after a successful cuInit, else NULL. */
extern struct lcu_device *lcu_dev;

/*
 * CUDA_SUCCESS after a successful cuInit; the error cuInit gave, or
 * CUDA_ERROR_NOT_INITIALIZED before it. Every call that needs the driver
 * starts with this.
 */
CUresult lcu_init_check(void);
/* CUDA_ERROR_INVALID_DEVICE unless dev names the device. */
CUresult lcu_dev_check(CUdevice dev);
/* The snapshot's attribute, or -1 (not answered by dom0). */
int lcu_dev_attr(CUdevice_attribute a, int *value);
/* cuCtxGetStreamPriorityRange's answer for the device. */
void lcu_dev_stream_priorities(int *least, int *greatest);
/* The domain's free and total device memory, honest about its quota. */
CUresult lcu_mem_info(size_t *free_b, size_t *total_b);

/* ----------------------------------------------------------- contexts */

struct lcu_stream;
struct lcu_event;
struct lcu_module;

struct lcu_ctx {
	struct lcu_obj obj;
	CUdevice dev;
	bool primary;
	uint64_t id;                   /* cuCtxGetId                     */
	/*
	 * Protects everything below. A destroyed explicit context and an
	 * inactive primary context keep their struct (threads may still have
	 * it current: CUDA_ERROR_CONTEXT_IS_DESTROYED), with v NULL.
	 */
	pthread_mutex_t lock;
	vgpu_t *v;                     /* NULL: destroyed / inactive     */
	unsigned int flags;            /* CU_CTX_*                        */
	unsigned int refs;             /* primary: retains               */
	bool lost;                     /* a GPU fault: sticky error      */
	CUresult lost_err;
	unsigned int epoch;            /* lcu_fault_epoch at activation  */
	uint64_t gen;                  /* activations (a primary context's
					* streams of an older one are gone) */
	struct lcu_stream *streams;    /* created streams                */
	struct lcu_event *events;
	struct lcu_module *modules;
	size_t limits[8];              /* cuCtxSetLimit                   */
	CUfunc_cache cache_config;
};

/*
 * The calling thread's current context, checked: CUDA_SUCCESS with *out
 * set; CUDA_ERROR_INVALID_CONTEXT with none; CUDA_ERROR_CONTEXT_IS_DESTROYED
 * when it was destroyed (or is an inactive primary context); the sticky
 * error of a context that lost its GPU state. Runs lcu_init_check first.
 */
CUresult lcu_ctx_current(struct lcu_ctx **out);
/*
 * CUDA_ERROR_CONTEXT_IS_DESTROYED when this thread's current context is a
 * destroyed one (a call then fails so on NVIDIA's driver even where it
 * needs no context of its own, as cuMemFree); else CUDA_SUCCESS, with or
 * without a current context.
 */
CUresult lcu_ctx_current_destroyed(void);
/* The same for a context named by a handle (NULL: the current one). */
CUresult lcu_ctx_use(CUcontext h, struct lcu_ctx **out);
/* The context's vgpu_t, or NULL with *err set (destroyed, lost). */
vgpu_t *lcu_ctx_vgpu(struct lcu_ctx *c, CUresult *err);
/*
 * A libvgpu result of work in context c, as a CUresult. A GPU fault
 * (-EREMOTEIO) or a watchdog stop (-ETIMEDOUT) makes the context lost:
 * every later call in it returns the same error, as on a real GPU.
 * what names the operation for lcu_err_of's mapping (LCU_OP_*).
 */
enum lcu_op {
	LCU_OP_GENERIC = 0, LCU_OP_ALLOC, LCU_OP_LOAD_PTX, LCU_OP_LOAD_BIN,
	LCU_OP_LOOKUP, LCU_OP_LAUNCH, LCU_OP_QUERY,
};
CUresult lcu_ctx_result(struct lcu_ctx *c, int rc, enum lcu_op what);
/*
 * A fault loses the GPU state of every context of the domain (dom0 runs
 * them all in one GPU worker, which it restarts; on a real GPU a fault
 * poisons every context of the process alike): each fault moves the
 * epoch on, and a context activated before it is lost with lcu_fault_err.
 */
extern _Atomic unsigned int lcu_fault_epoch;
extern _Atomic CUresult lcu_fault_err;
/* A libvgpu error as a CUresult, with no context involved. */
CUresult lcu_err_of(int rc, enum lcu_op what);

/* ------------------------------------------------------------ streams */

struct lcu_stream {
	struct lcu_obj obj;
	struct lcu_ctx *ctx;
	uint64_t h;                    /* dom0's stream handle           */
	unsigned int flags;
	int priority;
	uint64_t id;
	bool per_thread;               /* a thread's CU_STREAM_PER_THREAD */
	struct lcu_stream *next;       /* in ctx->streams (ctx->lock)    */
};

/*
 * The dom0 stream a stream argument names in context c: NULL and
 * CU_STREAM_LEGACY the legacy default stream (0); CU_STREAM_PER_THREAD,
 * and NULL when per_thread (the _ptds/_ptsz entry points), the calling
 * thread's per-thread default stream of c (made on first use). Validates
 * a created stream (CUDA_ERROR_INVALID_HANDLE, also for a stream of
 * another context).
 */
CUresult lcu_stream_resolve(struct lcu_ctx *c, CUstream s, bool per_thread, uint64_t *h);
/*
 * The context a stream argument implies: the stream's own for a created
 * stream, else the current context.
 */
CUresult lcu_stream_ctx(CUstream s, struct lcu_ctx **out);
/* Forgets a context's streams and events (it is going away). */
void lcu_streams_drop(struct lcu_ctx *c);

struct lcu_event {
	struct lcu_obj obj;
	struct lcu_ctx *ctx;
	uint64_t h;
	unsigned int flags;
	bool recorded;
	struct lcu_event *next;        /* in ctx->events (ctx->lock)     */
};

/* ------------------------------------------------------------- memory */

enum lcu_mem_kind { LCU_MEM_DEVICE = 1, LCU_MEM_GLOBAL = 2 };

struct lcu_mem {
	uint64_t base, size;
	uint64_t h;                    /* dom0's memory handle           */
	struct lcu_ctx *ctx;
	enum lcu_mem_kind kind;
	struct lcu_module *module;     /* LCU_MEM_GLOBAL: its module      */
	uint64_t buffer_id;
};

/* Adds a range (returns 0, -ENOMEM, or -EEXIST for an overlap). */
int lcu_mem_add(const struct lcu_mem *m);
/* Removes the range starting at base; 0 or -ENOENT. *out: what it was. */
int lcu_mem_del(uint64_t base, struct lcu_mem *out);
/* The range containing addr (0 or -ENOENT), copied to *out. */
int lcu_mem_find(uint64_t addr, struct lcu_mem *out);
/* Removes every range of a context (when it is destroyed). */
void lcu_mem_drop_ctx(struct lcu_ctx *c);
/* Removes every range of a module (when it is unloaded). */
void lcu_mem_drop_module(struct lcu_module *m);

/*
 * A device range [addr, addr + len) inside one allocation, as (context,
 * dom0 handle, offset): CUDA_ERROR_INVALID_VALUE when addr is no device
 * memory of this process or the range runs past its allocation.
 */
CUresult lcu_mem_range(uint64_t addr, uint64_t len, struct lcu_mem *m, uint64_t *off);

/* Host blocks: cuMemAllocHost/cuMemHostAlloc (allocated) and registered. */
struct lcu_host {
	void *p;
	size_t size;
	unsigned int flags;
	bool registered;               /* cuMemHostRegister              */
	bool vgpu;                     /* from vgpu_host_alloc           */
	struct lcu_ctx *ctx;           /* current when it was made       */
};
int lcu_host_add(const struct lcu_host *h);
int lcu_host_del(const void *p, bool registered, struct lcu_host *out);
/* The block containing p (0 or -ENOENT). */
int lcu_host_find(const void *p, struct lcu_host *out);

/* ------------------------------------------------ modules, functions */

struct lcu_func;

struct lcu_module {
	struct lcu_obj obj;
	struct lcu_ctx *ctx;
	uint64_t h;
	struct lcu_func *funcs;        /* ctx->lock                      */
	struct lcu_module *next;       /* in ctx->modules (ctx->lock)    */
};

struct lcu_func {
	struct lcu_obj obj;
	struct lcu_module *module;
	uint64_t h;
	char *name;
	bool info_ok;                  /* FUNC_INFO answered              */
	struct vgpu_func_info *info;   /* parameters and attributes       */
	uint64_t param_bytes;          /* FUNC_GET's, when info is absent */
	int max_dyn_shared;            /* cuFuncSetAttribute's            */
	int carveout;
	CUfunc_cache cache_config;
	struct lcu_func *next;         /* in module->funcs               */
};

/*
 * A function argument checked: a CUkernel is turned into its function in
 * the current context first (runtime.h); then it must be a live function
 * whose module and context are alive. CUDA_ERROR_INVALID_HANDLE otherwise.
 */
CUresult lcu_func_get(CUfunction f, struct lcu_func **out);
/* Forgets a context's modules and functions (the context is going). */
void lcu_modules_drop(struct lcu_ctx *c);

/* --------------------------------------------------- tracing, logging */

/* VGPU_CUDA_TRACE: 1 trace every call to stderr (0 off). */
extern int lcu_trace_on;
void lcu_trace(const char *fn, CUresult r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* One line to stderr ("libcuda: ..."), always. */
void lcu_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "CUDA_ERROR_INVALID_VALUE" ... ("CUDA_ERROR_<number>" unknown). */
const char *lcu_result_name(CUresult r);

/*
 * Traces a call's result with its arguments (evaluated after the call, so
 * they may name what it wrote); evaluates to the result.
 */
#define LCU_TRACE(fn, r, ...) ({ \
	CUresult lcu_r_ = (r); \
	if (__builtin_expect(lcu_trace_on, 0)) \
		lcu_trace(fn, lcu_r_, __VA_ARGS__); \
	lcu_r_; })

/* Not implemented here: one log line per name, then NOT_SUPPORTED. */
CUresult lcu_unsupported(const char *name, atomic_flag *once);

#endif /* VGPU_LIBCUDA_INTERNAL_H */
