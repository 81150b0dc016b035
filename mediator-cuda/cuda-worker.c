/* SPDX-License-Identifier: MIT */
/*
 * cuda-worker.c - the GPU worker process of the cuda executor (see
 * cuda-ipc.h for why it is a process of its own).
 *
 * The executor starts it by executing /proc/self/exe with CW_ENV set; the
 * constructor below notices and runs the worker instead of the program's
 * main(). The worker loads the driver with dlopen (so that nothing links
 * libcuda.so.1 and every program still starts on a machine without a
 * driver), creates the domain's one CUDA context, takes the device
 * snapshot, registers the shared arena with the driver, loads the built-in
 * VECTOR_ADD kernel, says hello, and then executes commands.
 *
 * Streams. Every guest stream is a real CUstream, and so is each guest
 * context's default stream. All guest contexts of the domain share this
 * process's one CUcontext, so the real legacy stream (CU_STREAM_LEGACY)
 * would order them against each other: every stream is created
 * CU_STREAM_NON_BLOCKING, and CUDA's legacy default-stream rules are
 * emulated per guest context (legacy_order()): an op on the default stream
 * first waits for the earlier work of the context's blocking streams, an op
 * on a blocking stream for the earlier work of the default stream, each
 * with an event recorded on the other stream and cuStreamWaitEvent.
 *
 * Completion. Each command gets an answer record (crec). Records of
 * commands that need no GPU work are answered at once. A stream op's record
 * has a node in its stream's FIFO with an event to wait for: one event per
 * stream per burst of commands, recorded after all of the burst's work on
 * that stream, stands for all of them (waiting for later work than one's
 * own is safe and saves an event record per op); EVENT_RECORD closes the
 * group so that waits for it are exact. A wait (SYNC, STREAM_SYNC,
 * MEM_FREE, ...) puts a node without an event in each FIFO it waits for and
 * is answered when every one of them has been reached; EVENT_SYNC and
 * STREAM_WAIT_EVENT depend on the record of the event's latest
 * EVENT_RECORD. A pool of waiter threads serves the FIFOs, one thread per
 * busy stream: it spins briefly on the head's event, then blocks on it (the
 * events are BLOCKING_SYNC: a long kernel costs no CPU), answers, and goes
 * on with the stream. So answers come in order per stream, a wait comes
 * after the answers of the work it waits for, and a long kernel on one
 * stream delays no other stream's answers.
 *
 * Answers leave through one outbound list, in the order they became ready,
 * sent by whichever thread holds the drain token (the main thread only
 * without blocking, so that it always goes on reading commands).
 *
 * A sticky error (the context is poisoned) is answered with lost = 1; the
 * executor then kills this process and starts a new one.
 *
 * Threads: the main thread owns every object table and issues all stream
 * work; waiters touch only what q_lock protects, and the driver.
 */
#include <cuda.h>
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "vgpuif.h"
#include "cuda-ipc.h"
#include "kernels/vector_add_ptx.h"
#include "fatbin.h"
#include "ptx-ir.h"

/* ------------------------------------------------------ the driver API */

/*
 * The entry points, by the exact (versioned) names the driver exports, so
 * that nothing depends on how a header maps the plain names.
 */
static struct {
	CUresult (*Init)(unsigned int);
	CUresult (*DriverGetVersion)(int *);
	CUresult (*DeviceGet)(CUdevice *, int);
	CUresult (*DeviceGetCount)(int *);
	CUresult (*DeviceGetName)(char *, int, CUdevice);
	CUresult (*DeviceTotalMem)(size_t *, CUdevice);
	CUresult (*DeviceGetAttribute)(int *, CUdevice_attribute, CUdevice);
	CUresult (*DeviceGetUuid)(CUuuid *, CUdevice);
	CUresult (*CtxCreate4)(CUcontext *, void *, unsigned int, CUdevice);
	CUresult (*CtxCreate2)(CUcontext *, unsigned int, CUdevice);
	CUresult (*CtxSetCurrent)(CUcontext);
	CUresult (*CtxGetStreamPriorityRange)(int *, int *);
	CUresult (*MemGetInfo)(size_t *, size_t *);
	CUresult (*MemAlloc)(CUdeviceptr *, size_t);
	CUresult (*MemFree)(CUdeviceptr);
	CUresult (*MemHostRegister)(void *, size_t, unsigned int);
	CUresult (*MemHostUnregister)(void *);
	CUresult (*MemcpyHtoDAsync)(CUdeviceptr, const void *, size_t, CUstream);
	CUresult (*MemcpyDtoHAsync)(void *, CUdeviceptr, size_t, CUstream);
	CUresult (*MemcpyDtoDAsync)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
	CUresult (*MemsetD8Async)(CUdeviceptr, unsigned char, size_t, CUstream);
	CUresult (*MemsetD16Async)(CUdeviceptr, unsigned short, size_t, CUstream);
	CUresult (*MemsetD32Async)(CUdeviceptr, unsigned int, size_t, CUstream);
	CUresult (*StreamCreateWithPriority)(CUstream *, unsigned int, int);
	CUresult (*StreamDestroy)(CUstream);
	CUresult (*StreamWaitEvent)(CUstream, CUevent, unsigned int);
	CUresult (*EventCreate)(CUevent *, unsigned int);
	CUresult (*EventDestroy)(CUevent);
	CUresult (*EventRecord)(CUevent, CUstream);
	CUresult (*EventQuery)(CUevent);
	CUresult (*EventSynchronize)(CUevent);
	CUresult (*EventElapsedTime)(float *, CUevent, CUevent);
	CUresult (*ModuleLoadDataEx)(CUmodule *, const void *, unsigned int,
				     CUjit_option *, void **);
	CUresult (*ModuleUnload)(CUmodule);
	CUresult (*ModuleGetFunction)(CUfunction *, CUmodule, const char *);
	CUresult (*ModuleGetGlobal)(CUdeviceptr *, size_t *, CUmodule, const char *);
	CUresult (*LaunchKernel)(CUfunction, unsigned int, unsigned int,
				 unsigned int, unsigned int, unsigned int,
				 unsigned int, unsigned int, CUstream, void **,
				 void **);
	CUresult (*FuncGetAttribute)(int *, CUfunction_attribute, CUfunction);
	CUresult (*FuncSetAttribute)(CUfunction, CUfunction_attribute, int);
	CUresult (*FuncSetCacheConfig)(CUfunction, CUfunc_cache);
	CUresult (*FuncGetParamInfo)(CUfunction, size_t, size_t *, size_t *);
	CUresult (*GetErrorName)(CUresult, const char **);
	CUresult (*CtxSetLimit)(CUlimit, size_t);
	CUresult (*CtxGetLimit)(size_t *, CUlimit);
	CUresult (*DeviceGetPCIBusId)(char *, int, CUdevice);
	CUresult (*LinkCreate)(unsigned int, CUjit_option *, void **, CUlinkState *);
	CUresult (*LinkAddData)(CUlinkState, CUjitInputType, void *, size_t,
				const char *, unsigned int, CUjit_option *, void **);
	CUresult (*LinkComplete)(CUlinkState, void **, size_t *);
	CUresult (*LinkDestroy)(CUlinkState);
} cu;

struct cu_sym {
	void *slot;             /* &cu.<entry>                              */
	const char *name[2];    /* tried in order                           */
	bool optional;
};

#define CU_REQ(f, ...) { &cu.f, { __VA_ARGS__ }, false }
#define CU_OPT(f, ...) { &cu.f, { __VA_ARGS__ }, true }
static const struct cu_sym cu_syms[] = {
	CU_REQ(Init, "cuInit"),
	CU_REQ(DriverGetVersion, "cuDriverGetVersion"),
	CU_REQ(DeviceGet, "cuDeviceGet"),
	CU_REQ(DeviceGetCount, "cuDeviceGetCount"),
	CU_REQ(DeviceGetName, "cuDeviceGetName"),
	CU_REQ(DeviceTotalMem, "cuDeviceTotalMem_v2"),
	CU_REQ(DeviceGetAttribute, "cuDeviceGetAttribute"),
	CU_OPT(DeviceGetUuid, "cuDeviceGetUuid_v2", "cuDeviceGetUuid"),
	CU_OPT(CtxCreate4, "cuCtxCreate_v4"),
	CU_OPT(CtxCreate2, "cuCtxCreate_v2"),
	CU_REQ(CtxSetCurrent, "cuCtxSetCurrent"),
	CU_REQ(CtxGetStreamPriorityRange, "cuCtxGetStreamPriorityRange"),
	CU_REQ(MemGetInfo, "cuMemGetInfo_v2"),
	CU_REQ(MemAlloc, "cuMemAlloc_v2"),
	CU_REQ(MemFree, "cuMemFree_v2"),
	CU_REQ(MemHostRegister, "cuMemHostRegister_v2"),
	CU_OPT(MemHostUnregister, "cuMemHostUnregister"),
	CU_REQ(MemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2"),
	CU_REQ(MemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2"),
	CU_REQ(MemcpyDtoDAsync, "cuMemcpyDtoDAsync_v2"),
	CU_REQ(MemsetD8Async, "cuMemsetD8Async"),
	CU_REQ(MemsetD16Async, "cuMemsetD16Async"),
	CU_REQ(MemsetD32Async, "cuMemsetD32Async"),
	CU_REQ(StreamCreateWithPriority, "cuStreamCreateWithPriority"),
	CU_REQ(StreamDestroy, "cuStreamDestroy_v2"),
	CU_REQ(StreamWaitEvent, "cuStreamWaitEvent"),
	CU_REQ(EventCreate, "cuEventCreate"),
	CU_REQ(EventDestroy, "cuEventDestroy_v2"),
	CU_REQ(EventRecord, "cuEventRecord"),
	CU_REQ(EventQuery, "cuEventQuery"),
	CU_REQ(EventSynchronize, "cuEventSynchronize"),
	CU_REQ(EventElapsedTime, "cuEventElapsedTime_v2", "cuEventElapsedTime"),
	CU_REQ(ModuleLoadDataEx, "cuModuleLoadDataEx"),
	CU_REQ(ModuleUnload, "cuModuleUnload"),
	CU_REQ(ModuleGetFunction, "cuModuleGetFunction"),
	CU_REQ(ModuleGetGlobal, "cuModuleGetGlobal_v2"),
	CU_REQ(LaunchKernel, "cuLaunchKernel"),
	CU_REQ(FuncGetAttribute, "cuFuncGetAttribute"),
	CU_REQ(FuncSetAttribute, "cuFuncSetAttribute"),
	CU_REQ(FuncSetCacheConfig, "cuFuncSetCacheConfig"),
	CU_OPT(FuncGetParamInfo, "cuFuncGetParamInfo"),
	CU_REQ(GetErrorName, "cuGetErrorName"),
	CU_REQ(CtxSetLimit, "cuCtxSetLimit"),
	CU_REQ(CtxGetLimit, "cuCtxGetLimit"),
	CU_OPT(DeviceGetPCIBusId, "cuDeviceGetPCIBusId"),
	/* without the linker, a PTX module's needs are measured, not read */
	CU_OPT(LinkCreate, "cuLinkCreate_v2"),
	CU_OPT(LinkAddData, "cuLinkAddData_v2"),
	CU_OPT(LinkComplete, "cuLinkComplete"),
	CU_OPT(LinkDestroy, "cuLinkDestroy"),
};

static const char *errname(CUresult r)
{
	const char *s = NULL;

	if (cu.GetErrorName)
		cu.GetErrorName(r, &s);
	return s ? s : "unknown CUDA error";
}

/* ---------------------------------------------------------------- state */

struct crec;
struct cnode;
struct wctx;

/* The event a burst's records of one stream wait for. */
struct evgroup {
	CUevent ev;             /* NULL when none could be made           */
	CUresult failed;        /* its creation or record failed          */
	int refs;               /* nodes waiting for it (q_lock once queued) */
};

struct wstream {
	CUstream s;
	struct wctx *ctx;               /* NULL: the VECTOR_ADD stream      */
	bool blocking;                  /* a guest stream that syncs with the
					 * default stream (legacy rules)     */
	/* main thread only */
	bool dead;                      /* destroyed; freed once drained     */
	bool in_open;                   /* on the burst's open list          */
	uint64_t last_work;             /* ctx seq of its latest op; 0 none  */
	uint64_t saw_default;           /* blocking: the default stream's
					 * last_work it has waited for       */
	uint64_t default_saw;           /* blocking: its own last_work the
					 * default stream has waited for     */
	CUevent order_ev;               /* for implicit waits on this stream */
	uint64_t order_at;              /* last_work when order_ev recorded  */
	struct evgroup *open;           /* this burst's group, not recorded  */
	struct wstream *open_next;
	struct wstream *prev, *next;    /* ctx->streams                      */
	/* q_lock (nodes and work: atomics, changed under q_lock by waiters) */
	struct cnode *head, *tail;      /* the completion FIFO               */
	unsigned int nodes;             /* nodes made and not yet popped     */
	unsigned int work;              /* stream ops not yet answered       */
	bool owned;                     /* a waiter serves it                */
	bool ready;                     /* on the ready list                 */
	struct wstream *rnext;
};

/* Guest memory this worker mapped and registered (CW_OP_HOST_REGISTER). */
struct whost {
	unsigned char *p;
	size_t len;
	bool registered;
};

struct wmem {
	CUdeviceptr p;
	uint64_t size;
	struct wmem *prev, *next;       /* ctx->mems, or mod->globals        */
};

struct wfunc {
	CUfunction f;
	bool     layout_known;
	uint32_t param_bytes;           /* end of the last parameter         */
	uint32_t shared_set;            /* dynamic shared limit raised to    */
	struct wfunc *next;
};

struct wmod {
	CUmodule m;
	struct wfunc *funcs;
	struct wmem *globals;           /* MODULE_GLOBAL answers, once each  */
	struct wmod *prev, *next;
};

struct wevent {
	CUevent ev;
	bool recorded;
	struct crec *last;              /* q_lock: its latest EVENT_RECORD's
					 * record until that is answered     */
	struct wevent *prev, *next;
};

struct wctx {
	uint64_t id;
	struct wstream *d;              /* the default (legacy) stream       */
	struct wstream *streams;        /* all, d and dead ones included     */
	struct wevent *events;
	struct wmem *mems;
	struct wmod *mods;
	uint64_t seq;                   /* orders the legacy implicit waits  */
	struct wctx *next;
};

/* An answer and what it waits for. */
struct crec {
	struct cw_rsp rsp;
	void *data;                     /* inline answer bytes (malloc'd)   */
	int pending;                    /* unmet conditions (q_lock)         */
	struct cnode *bnode;            /* a stream op's node, popped when
					 * answered                          */
	struct wstream *work_ws;        /* a stream op's stream              */
	struct wevent *owner;           /* EVENT_RECORD: while its event's
					 * latest record (q_lock)            */
	struct crec *deps;              /* answers that wait for this one    */
	struct crec *dnext;
	void (*action)(void *);         /* run before the answer leaves      */
	void *action_arg;
	uint64_t t0;
	struct crec *onext;             /* burst or outbound list            */
};

/* A record's place in a stream's completion FIFO. */
struct cnode {
	struct crec *rec;
	struct evgroup *eg;             /* wait for it; NULL: nothing        */
	struct wstream *ws;
	bool blocking;                  /* a stream op: the FIFO goes on only
					 * after its answer                  */
	bool reached;
	struct cnode *next;             /* FIFO                              */
	struct cnode *bnext;            /* burst list                        */
};

static int sock = -1;
static int rx_fd = -1;                  /* the fd the latest command came with */
static unsigned char *arena;
static size_t arena_size;
static CUcontext cuctx;
static CUfunction va_fn;
static CUdeviceptr va_buf;
static struct wstream *va_ws;
static uint64_t va_seq;
static struct wctx *ctxs;
static int prio_least, prio_greatest;
static bool lost;                       /* atomic: the context is poisoned */
static uint64_t spin_ns = 30000;        /* idle threads, before sleeping   */
static uint64_t wait_spin_ns = 200000;  /* on an event, before blocking    */
/*
 * Yielding (CW_F_YIELD of the latest command; atomic): a higher-priority
 * domain uses the GPU. Then no thread of ours spins (the higher domain's
 * threads get the CPUs) and large copies and memsets go to the GPU in
 * slices of slice_bytes, each waited for before the next, so that the
 * higher domain's work waits behind one slice, not the whole op
 * (VGPU_EXEC_SLICE_KB; 0 = never sliced; VGPU_EXEC_YIELD=0 ignores the
 * hint altogether, to measure what it brings).
 */
static bool yielding;
static bool yield_ignored;              /* VGPU_EXEC_YIELD=0: for benchmarks */
static uint64_t slice_bytes = 1u << 20;

/*
 * Waiter threads, made as streams get busy. One per stream that waits at
 * the same time: past the cap, answers of further streams wait for a free
 * thread (their GPU work does not), so a guest that holds more streams at
 * once and waits for another stream's answer before releasing them would
 * wait for ever; the cap is its own domain's limit, not a host one.
 */
#define W_MAX_THREADS 64
#define EV_POOL 256

static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER; /* see wstream,
						  * crec, ready/outbound lists,
						  * waiter counts, ev_pool  */
static pthread_cond_t q_cond = PTHREAD_COND_INITIALIZER;   /* waiters: work */
static pthread_cond_t q_idle = PTHREAD_COND_INITIALIZER;   /* a stream was
						  * released (main waits)   */
static struct wstream *rq_head, *rq_tail;
static unsigned int rq_len;
static struct crec *out_head, *out_tail;
static bool draining;
static unsigned int n_threads, n_idle;
static bool spinner, main_waits;
static unsigned long work_gen;          /* atomic: new work for waiters */
static CUevent ev_pool[EV_POOL];
static unsigned int ev_pool_n;

/* The burst being read (main thread only), published by flush(). */
static struct cnode *b_nodes, *b_nodes_tail;
static struct crec *b_now, *b_now_tail;
static struct wstream *b_open;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Doubly linked object lists (head pointer, prev/next members). */
#define DL_PUSH(head, o) do { \
	(o)->prev = NULL; \
	(o)->next = (head); \
	if ((o)->next) \
		(o)->next->prev = (o); \
	(head) = (o); \
} while (0)
#define DL_UNLINK(head, o) do { \
	if ((o)->prev) \
		(o)->prev->next = (o)->next; \
	else \
		(head) = (o)->next; \
	if ((o)->next) \
		(o)->next->prev = (o)->prev; \
} while (0)

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static bool is_lost(void)
{
	return __atomic_load_n(&lost, __ATOMIC_ACQUIRE);
}

static bool sticky(CUresult r)
{
	switch (r) {
	case CUDA_ERROR_ILLEGAL_ADDRESS:
	case CUDA_ERROR_LAUNCH_TIMEOUT:
	case CUDA_ERROR_HARDWARE_STACK_ERROR:
	case CUDA_ERROR_ILLEGAL_INSTRUCTION:
	case CUDA_ERROR_MISALIGNED_ADDRESS:
	case CUDA_ERROR_INVALID_ADDRESS_SPACE:
	case CUDA_ERROR_INVALID_PC:
	case CUDA_ERROR_LAUNCH_FAILED:
	case CUDA_ERROR_ASSERT:
	case CUDA_ERROR_ECC_UNCORRECTABLE:
	case CUDA_ERROR_UNKNOWN:
		return true;
	default:
		return false;
	}
}

static int map_err(CUresult r)
{
	switch (r) {
	case CUDA_SUCCESS:                    return 0;
	case CUDA_ERROR_OUT_OF_MEMORY:        return VGPUIF_RSP_ENOMEM;
	case CUDA_ERROR_INVALID_VALUE:
	case CUDA_ERROR_INVALID_HANDLE:
	case CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES:
		return VGPUIF_RSP_EINVAL;
	case CUDA_ERROR_NOT_FOUND:            return VGPUIF_RSP_ENOENT;
	case CUDA_ERROR_NOT_READY:            return VGPUIF_RSP_EBUSY;
	case CUDA_ERROR_NOT_SUPPORTED:        return VGPUIF_RSP_EOPNOTSUPP;
	case CUDA_ERROR_NOT_PERMITTED:        return VGPUIF_RSP_EPERM;
	case CUDA_ERROR_INVALID_IMAGE:
	case CUDA_ERROR_INVALID_PTX:
	case CUDA_ERROR_NO_BINARY_FOR_GPU:
	case CUDA_ERROR_JIT_COMPILER_NOT_FOUND:
	case CUDA_ERROR_UNSUPPORTED_PTX_VERSION:
	case CUDA_ERROR_INVALID_SOURCE:
	case CUDA_ERROR_SHARED_OBJECT_INIT_FAILED:
	case CUDA_ERROR_SHARED_OBJECT_SYMBOL_NOT_FOUND:
	case CUDA_ERROR_JIT_COMPILATION_DISABLED:
		return VGPUIF_RSP_ENOEXEC;
	default:
		return sticky(r) ? VGPUIF_RSP_EREMOTEIO : VGPUIF_RSP_EIO;
	}
}

/* A driver result as a status; a sticky one loses the context. */
static int cu_status(CUresult r)
{
	if (sticky(r))
		__atomic_store_n(&lost, true, __ATOMIC_RELEASE);
	return map_err(r);
}

static void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n, sz);

	if (!p)
		_exit(3);       /* cannot even answer: the executor sees EOF */
	return p;
}

/* ----------------------------------------------------------- events */

static CUevent ev_get(CUresult *cr)
{
	CUevent ev = NULL;

	pthread_mutex_lock(&q_lock);
	if (ev_pool_n)
		ev = ev_pool[--ev_pool_n];
	pthread_mutex_unlock(&q_lock);
	*cr = CUDA_SUCCESS;
	if (!ev) {
		/* blocking: a waiter on a long kernel sleeps instead of spinning */
		*cr = cu.EventCreate(&ev, CU_EVENT_DISABLE_TIMING | CU_EVENT_BLOCKING_SYNC);
		if (*cr)
			ev = NULL;
	}
	return ev;
}

/* q_lock held. */
static void eg_put(struct evgroup *eg)
{
	if (!eg || --eg->refs)
		return;
	if (eg->ev) {
		if (ev_pool_n < EV_POOL)
			ev_pool[ev_pool_n++] = eg->ev;
		else
			cu.EventDestroy(eg->ev);
	}
	free(eg);
}

/* Wait for a group's event: spin a little, then block. */
static CUresult eg_wait(struct evgroup *eg)
{
	uint64_t t;
	CUresult cr;

	if (eg->failed || !eg->ev)
		return eg->failed ? eg->failed : CUDA_ERROR_UNKNOWN;
	t = now_ns();
	do {
		cr = cu.EventQuery(eg->ev);
		if (cr != CUDA_ERROR_NOT_READY)
			return cr;
		cpu_relax();
	} while (now_ns() - t < wait_spin_ns &&
		 !__atomic_load_n(&yielding, __ATOMIC_RELAXED));
	return cu.EventSynchronize(eg->ev);
}

/* -------------------------------------------------- answers (q_lock) */

static void wake_waiters(void)
{
	__atomic_add_fetch(&work_gen, 1, __ATOMIC_RELEASE);
	pthread_cond_signal(&q_cond);
}

static void make_ready(struct wstream *ws)
{
	if (ws->owned || ws->ready || !ws->head || ws->head->reached)
		return;
	ws->ready = true;
	ws->rnext = NULL;
	if (rq_tail)
		rq_tail->rnext = ws;
	else
		rq_head = ws;
	rq_tail = ws;
	rq_len++;
	wake_waiters();
}

static void out_append(struct crec *r)
{
	r->onext = NULL;
	if (out_tail)
		out_tail->onext = r;
	else
		out_head = r;
	out_tail = r;
}

static void pop_head(struct wstream *ws, struct cnode *n)
{
	ws->head = n->next;
	if (!ws->head)
		ws->tail = NULL;
	__atomic_sub_fetch(&ws->nodes, 1, __ATOMIC_RELEASE);
	eg_put(n->eg);
	free(n);
	if (main_waits)
		pthread_cond_broadcast(&q_idle);
}

/*
 * r has no unmet condition left and its action has run: queue its answer,
 * pop its stream node, then answer what waited for it.
 */
static void rec_answer(struct crec *r)
{
	struct crec *d, *dn;

	if (r->t0)
		r->rsp.exec_ns = now_ns() - r->t0;
	if (r->bnode) {
		struct wstream *ws = r->bnode->ws;

		pop_head(ws, r->bnode);
		r->bnode = NULL;
		make_ready(ws);
	}
	if (r->work_ws)
		__atomic_sub_fetch(&r->work_ws->work, 1, __ATOMIC_RELEASE);
	if (r->owner && r->owner->last == r)
		r->owner->last = NULL;
	out_append(r);
	for (d = r->deps; d; d = dn) {
		dn = d->dnext;
		if (r->rsp.lost) {
			d->rsp.status = VGPUIF_RSP_EREMOTEIO;
			d->rsp.lost = 1;
		}
		if (--d->pending == 0)
			rec_answer(d);  /* depth 1: dependents have none */
	}
	r->deps = NULL;
}

static void rec_fail(struct crec *r, CUresult cr)
{
	if (!r->rsp.status)
		r->rsp.status = cu_status(cr);
	if (sticky(cr))
		r->rsp.lost = 1;
}

/* ------------------------------------------------------ sending answers */

static void spawn_waiter(void);

/*
 * Send the outbound list in order. Only one thread at a time (the drain
 * token); the main thread never blocks in send (it must keep reading
 * commands): on a full socket it leaves the rest to a waiter.
 */
static void drain(bool may_block)
{
	pthread_mutex_lock(&q_lock);
	if (draining) {
		pthread_mutex_unlock(&q_lock);
		return;
	}
	draining = true;
	while (out_head) {
		struct crec *r = out_head, *next;

		out_head = out_tail = NULL;
		pthread_mutex_unlock(&q_lock);
		for (; r; r = next) {
			int rc;

			next = r->onext;
			rc = cw_send(sock, &r->rsp, sizeof(r->rsp), r->data,
				     r->rsp.inline_len, may_block ? 0 : MSG_DONTWAIT);
			if (rc == -EAGAIN) {
				struct crec *end = r;

				while (end->onext)
					end = end->onext;
				pthread_mutex_lock(&q_lock);
				end->onext = out_head;
				if (!out_head)
					out_tail = end;
				out_head = r;
				draining = false;
				if (!n_idle)
					spawn_waiter(); /* all may wait on kernels */
				wake_waiters();
				pthread_mutex_unlock(&q_lock);
				return;
			}
			if (rc)
				_exit(0);       /* the executor is gone */
			free(r->data);
			free(r);
		}
		pthread_mutex_lock(&q_lock);
	}
	draining = false;
	pthread_mutex_unlock(&q_lock);
}

/* ------------------------------------------------------------- waiters */

/* Serve one stream's FIFO (q_lock held, ws owned) until empty or blocked. */
static void serve_stream(struct wstream *ws)
{
	for (;;) {
		struct cnode *n = ws->head;
		struct evgroup *n_eg;
		struct crec *r;
		CUresult cr = CUDA_SUCCESS;

		if (!n || n->reached)
			break;
		n_eg = n->eg;   /* n may be freed below: hold the group */
		if (n_eg)
			n_eg->refs++;
		if (n->eg) {
			pthread_mutex_unlock(&q_lock);
			cr = eg_wait(n->eg);
			pthread_mutex_lock(&q_lock);
		}
		n->reached = true;
		r = n->rec;
		if (cr)
			rec_fail(r, cr);
		if (!n->blocking)
			pop_head(ws, n);        /* a wait's node holds nothing up */
		if (--r->pending) {
			eg_put(n_eg);
			continue;
		}
		if (r->action) {
			pthread_mutex_unlock(&q_lock);
			r->action(r->action_arg);
			pthread_mutex_lock(&q_lock);
			r->action = NULL;
		}
		rec_answer(r);
		/* send what is ready before waiting again (one pass per group) */
		if (!draining && (!ws->head || ws->head->eg != n_eg || ws->head->reached)) {
			pthread_mutex_unlock(&q_lock);
			drain(true);
			pthread_mutex_lock(&q_lock);
		}
		eg_put(n_eg);
	}
	ws->owned = false;
	if (main_waits)
		pthread_cond_broadcast(&q_idle);
}

static void *waiter_thread(void *arg)
{
	bool spun = false;

	(void)arg;
	pthread_setname_np(pthread_self(), "cw-waiter");
	cu.CtxSetCurrent(cuctx);
	pthread_mutex_lock(&q_lock);
	n_idle--;               /* counted idle from its spawn until now */
	for (;;) {
		if (rq_head) {
			struct wstream *ws = rq_head;

			rq_head = ws->rnext;
			if (!rq_head)
				rq_tail = NULL;
			rq_len--;
			ws->ready = false;
			ws->owned = true;
			serve_stream(ws);
			spun = false;
			continue;
		}
		if (out_head && !draining) {
			pthread_mutex_unlock(&q_lock);
			drain(true);
			pthread_mutex_lock(&q_lock);
			spun = false;
			continue;
		}
		/* one idle thread spins briefly: the next answer is often near */
		if (!spun && !spinner && spin_ns &&
		    !__atomic_load_n(&yielding, __ATOMIC_RELAXED)) {
			unsigned long g = __atomic_load_n(&work_gen, __ATOMIC_ACQUIRE);
			uint64_t t = now_ns();

			spinner = true;
			n_idle++;
			pthread_mutex_unlock(&q_lock);
			while (__atomic_load_n(&work_gen, __ATOMIC_ACQUIRE) == g &&
			       now_ns() - t < spin_ns)
				cpu_relax();
			pthread_mutex_lock(&q_lock);
			spinner = false;
			n_idle--;
			spun = true;
			continue;
		}
		n_idle++;
		pthread_cond_wait(&q_cond, &q_lock);
		n_idle--;
		spun = false;
	}
	return NULL;
}

/* q_lock held (or before any waiter runs). */
static void spawn_waiter(void)
{
	pthread_attr_t a;
	pthread_t t;

	if (n_threads >= W_MAX_THREADS)
		return;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	if (!pthread_create(&t, &a, waiter_thread, NULL)) {
		n_threads++;
		n_idle++;       /* so that the next ready stream gets another */
	}
	pthread_attr_destroy(&a);
}

/* q_lock held. One more waiter when streams wait and no thread is idle. */
static void maybe_spawn(void)
{
	while (rq_len > n_idle && n_threads < W_MAX_THREADS)
		spawn_waiter();
}

/* ------------------------------------------------ the burst (main only) */

static struct crec *rec_new(const struct cw_cmd *c, uint64_t t0)
{
	struct crec *r = xcalloc(1, sizeof(*r));

	r->rsp.tag = c->tag;
	r->t0 = t0;
	return r;
}

/* Answer r at the end of the burst, without waiting for anything. */
static void stage_now(struct crec *r, int status)
{
	if (!r->rsp.status)
		r->rsp.status = status;
	if (is_lost()) {
		r->rsp.status = VGPUIF_RSP_EREMOTEIO;
		r->rsp.lost = 1;
	}
	r->rsp.exec_ns = now_ns() - r->t0;
	r->t0 = 0;
	r->onext = NULL;
	if (b_now_tail)
		b_now_tail->onext = r;
	else
		b_now = r;
	b_now_tail = r;
}

static void answer_now(const struct cw_cmd *c, int status, uint64_t t0)
{
	stage_now(rec_new(c, t0), status);
}

static struct cnode *stage_node(struct crec *r, struct wstream *ws,
				struct evgroup *eg, bool blocking)
{
	struct cnode *n = xcalloc(1, sizeof(*n));

	n->rec = r;
	n->ws = ws;
	n->eg = eg;
	n->blocking = blocking;
	if (eg)
		eg->refs++;     /* before flush publishes it: no lock needed */
	if (blocking)
		r->bnode = n;
	__atomic_add_fetch(&ws->nodes, 1, __ATOMIC_RELEASE);
	if (b_nodes_tail)
		b_nodes_tail->bnext = n;
	else
		b_nodes = n;
	b_nodes_tail = n;
	return n;
}

/* The stream's group for this burst, made on first use. */
static struct evgroup *group_of(struct wstream *ws)
{
	if (!ws->open) {
		struct evgroup *eg = xcalloc(1, sizeof(*eg));

		eg->ev = ev_get(&eg->failed);
		ws->open = eg;
		if (!ws->in_open) {
			ws->in_open = true;
			ws->open_next = b_open;
			b_open = ws;
		}
	}
	return ws->open;
}

/* Record the stream's open group now: it covers the work queued so far. */
static void close_group(struct wstream *ws)
{
	struct evgroup *eg = ws->open;

	if (!eg)
		return;
	ws->open = NULL;
	if (eg->ev && !eg->failed) {
		CUresult cr = cu.EventRecord(eg->ev, ws->s);

		if (cr) {
			eg->failed = cr;
			cu_status(cr);
		}
	}
}

/* End of a burst: record its groups, queue its nodes and answers. */
static void flush(void)
{
	struct cnode *n, *nn;
	struct crec *r, *rn;
	bool any;

	for (struct wstream *ws = b_open, *next; ws; ws = next) {
		next = ws->open_next;
		ws->in_open = false;
		close_group(ws);
	}
	b_open = NULL;
	any = b_nodes || b_now;
	if (!any)
		return;
	pthread_mutex_lock(&q_lock);
	for (n = b_nodes; n; n = nn) {
		struct wstream *ws = n->ws;

		nn = n->bnext;
		n->next = NULL;
		if (ws->tail)
			ws->tail->next = n;
		else
			ws->head = n;
		ws->tail = n;
		make_ready(ws);
	}
	for (r = b_now; r; r = rn) {
		rn = r->onext;
		out_append(r);
	}
	b_nodes = b_nodes_tail = NULL;
	b_now = b_now_tail = NULL;
	maybe_spawn();
	pthread_mutex_unlock(&q_lock);
	drain(false);
}

/* ------------------------------------------------------------ objects */

static struct wctx *ctx_find(uint64_t id)
{
	for (struct wctx *c = ctxs; c; c = c->next)
		if (c->id == id)
			return c;
	return NULL;
}

static int stream_new(struct wctx *x, bool blocking, int prio,
		      struct wstream **out)
{
	struct wstream *ws = xcalloc(1, sizeof(*ws));
	CUresult cr;

	/* never the real legacy stream's rules: they would couple contexts */
	cr = cu.StreamCreateWithPriority(&ws->s, CU_STREAM_NON_BLOCKING, prio);
	if (cr) {
		free(ws);
		return cu_status(cr);
	}
	ws->ctx = x;
	ws->blocking = blocking;
	if (x)
		DL_PUSH(x->streams, ws);
	*out = ws;
	return 0;
}

/* A drained stream's end (main thread; nobody else can reach it). */
static void stream_free(struct wstream *ws)
{
	struct wctx *x = ws->ctx;

	if (x)
		DL_UNLINK(x->streams, ws);
	if (ws->open) {         /* not reachable: flushed before any free */
		ws->open->refs = 1;
		pthread_mutex_lock(&q_lock);
		eg_put(ws->open);
		pthread_mutex_unlock(&q_lock);
	}
	if (ws->order_ev)
		cu.EventDestroy(ws->order_ev);
	cu.StreamDestroy(ws->s);
	free(ws);
}

/* Is a stream done with for good? (its FIFO empty, no waiter on it) */
static bool stream_drained(struct wstream *ws)
{
	bool ok;

	pthread_mutex_lock(&q_lock);
	ok = !ws->owned && !__atomic_load_n(&ws->nodes, __ATOMIC_ACQUIRE);
	pthread_mutex_unlock(&q_lock);
	return ok;
}

/* Free the context's destroyed streams whose work has all been answered. */
static void reap_streams(struct wctx *x)
{
	for (struct wstream *ws = x->streams, *next; ws; ws = next) {
		next = ws->next;
		if (ws->dead && !ws->in_open && stream_drained(ws))
			stream_free(ws);
	}
}

static void mem_release(void *arg)
{
	struct wmem *m = arg;

	cu.MemFree(m->p);
	free(m);
}

static void mod_release(void *arg)
{
	struct wmod *m = arg;

	while (m->funcs) {
		struct wfunc *f = m->funcs;

		m->funcs = f->next;
		free(f);
	}
	while (m->globals) {
		struct wmem *g = m->globals;

		m->globals = g->next;
		free(g);        /* the module's own memory */
	}
	cu.ModuleUnload(m->m);
	free(m);
}

static void event_free(struct wctx *x, struct wevent *e)
{
	pthread_mutex_lock(&q_lock);
	if (e->last)
		e->last->owner = NULL;  /* its record still answers */
	e->last = NULL;
	pthread_mutex_unlock(&q_lock);
	DL_UNLINK(x->events, e);
	/* the driver frees it once its pending record completes */
	cu.EventDestroy(e->ev);
	free(e);
}

/* ---------------------------------------------------- legacy ordering */

/* dst's later work waits for src's work so far. */
static CUresult order_wait(struct wstream *dst, struct wstream *src)
{
	CUresult cr;

	if (!src->order_ev) {
		cr = cu.EventCreate(&src->order_ev, CU_EVENT_DISABLE_TIMING);
		if (cr) {
			src->order_ev = NULL;
			return cr;
		}
		src->order_at = 0;
	}
	if (src->order_at != src->last_work) {
		cr = cu.EventRecord(src->order_ev, src->s);
		if (cr)
			return cr;
		src->order_at = src->last_work;
	}
	cr = cu.StreamWaitEvent(dst->s, src->order_ev, 0);
	if (!cr)
		dst->order_at = UINT64_MAX;     /* its own record is stale now */
	return cr;
}

/*
 * CUDA's legacy default stream, per guest context: an op on the default
 * stream runs after the earlier work of every blocking stream, an op on a
 * blocking stream after the earlier work of the default stream. Only
 * streams with work the other side has not yet waited for cost anything.
 */
static CUresult legacy_order(struct wctx *x, struct wstream *ws)
{
	CUresult cr;

	if (!x || !ws->ctx)
		return CUDA_SUCCESS;
	if (ws == x->d) {
		for (struct wstream *b = x->streams; b; b = b->next) {
			if (!b->blocking || b->last_work <= b->default_saw)
				continue;
			cr = order_wait(ws, b);
			if (cr)
				return cr;
			b->default_saw = b->last_work;
		}
	} else if (ws->blocking && x->d->last_work > ws->saw_default) {
		cr = order_wait(ws, x->d);
		if (cr)
			return cr;
		ws->saw_default = x->d->last_work;
	}
	return CUDA_SUCCESS;
}

/* ------------------------------------------------------------ commands */

static struct wstream *stream_of(const struct cw_cmd *c, struct wctx *x)
{
	if (c->stream)
		return (struct wstream *)(uintptr_t)c->stream;
	return x ? x->d : NULL;
}

static int do_ctx_create(const struct cw_cmd *c)
{
	struct wctx *x;
	int st;

	if (ctx_find(c->ctx))
		return 0;       /* re-creation after a restart is idempotent */
	x = xcalloc(1, sizeof(*x));
	x->id = c->ctx;
	st = stream_new(x, false, 0, &x->d);
	if (st) {
		free(x);
		return st;
	}
	x->next = ctxs;
	ctxs = x;
	return 0;
}

/*
 * Waits here (the main thread) until every answer of the context has been
 * queued, then frees everything: like cuCtxDestroy, the caller waits.
 */
static int do_ctx_destroy(const struct cw_cmd *c)
{
	struct wctx **pp, *x = NULL;
	bool busy;

	for (pp = &ctxs; *pp; pp = &(*pp)->next)
		if ((*pp)->id == c->ctx) {
			x = *pp;
			*pp = x->next;
			break;
		}
	if (!x)
		return 0;
	flush();                /* its burst's work must reach the waiters */
	pthread_mutex_lock(&q_lock);
	main_waits = true;
	do {
		busy = false;
		for (struct wstream *ws = x->streams; ws; ws = ws->next)
			if (ws->owned || __atomic_load_n(&ws->nodes, __ATOMIC_ACQUIRE))
				busy = true;
		if (busy)
			pthread_cond_wait(&q_idle, &q_lock);
	} while (busy);
	main_waits = false;
	pthread_mutex_unlock(&q_lock);
	while (x->events)
		event_free(x, x->events);
	while (x->mods) {
		struct wmod *m = x->mods;

		DL_UNLINK(x->mods, m);
		mod_release(m);
	}
	while (x->mems) {
		struct wmem *m = x->mems;

		DL_UNLINK(x->mems, m);
		mem_release(m);
	}
	while (x->streams)
		stream_free(x->streams);
	free(x);
	return 0;
}

/*
 * Module memory. A module holds device memory for its code, its variables
 * (.nv.global, .nv.global.init) and its constant banks, allocated by the
 * driver when it is loaded: charged to the domain's quota, so known
 * before. A cubin's sections say it (cuda-api/fatbin.h); a fat binary's
 * cubin for this GPU is taken out (decompressed) and read alike; PTX (a
 * text, or a fat binary's pick) is linked to a cubin by the driver's
 * linker first. What gets loaded is then exactly the cubin that was read.
 * Only where that cannot be done (no linker, an image fatbin.h cannot
 * read) is the module loaded and its memory measured (cuMemGetInfo around
 * the load: device-wide, so exact only while nothing else allocates), and
 * unloaded again when it is past the quota.
 */
#define CW_MAX_CUBIN (256u << 20)       /* a decompressed or linked cubin */

static unsigned int dev_sm;             /* e.g. 90 for cc 9.0 */

struct modimg {
	const void *img;                /* what to load                      */
	unsigned char *own;             /* a decompressed payload (malloc)  */
	CUlinkState link;               /* holds a linked cubin             */
	bool known;                     /* ci read before loading           */
	struct vgpu_cubin_info ci;
	const char *how;                /* for the log                      */
};

static uint64_t ci_bytes(const struct vgpu_cubin_info *ci)
{
	return ci->code_bytes + ci->global_bytes + ci->global_init_bytes +
	       ci->constant_bytes + ci->kernel_constant_bytes;
}

/* PTX text to a cubin with the driver's linker (logs as opt/val say). */
static CUresult link_ptx(struct modimg *mi, const void *ptx, size_t len,
			 unsigned int nopt, CUjit_option *opt, void **val)
{
	void *cubin = NULL;
	size_t n = 0;
	CUresult cr;

	cr = cu.LinkCreate(nopt, opt, val, &mi->link);
	if (cr) {
		mi->link = NULL;
		return cr;
	}
	cr = cu.LinkAddData(mi->link, CU_JIT_INPUT_PTX, (void *)ptx, len,
			    "guest.ptx", 0, NULL, NULL);
	if (!cr)
		cr = cu.LinkComplete(mi->link, &cubin, &n);
	if (cr)
		return cr;
	mi->img = cubin;
	mi->how = "PTX linked to a cubin";
	mi->known = vgpu_cubin_info(cubin, n, &mi->ci) == 0;
	return CUDA_SUCCESS;
}

/*
 * Decide what to load for image (len bytes, zero-padded after) and read
 * what it holds. A CUresult (a link error: the log says why).
 */
static CUresult module_image(struct modimg *mi, const unsigned char *image,
			     size_t len, uint32_t format, unsigned int nopt,
			     CUjit_option *opt, void **val)
{
	bool linker = cu.LinkCreate && cu.LinkAddData && cu.LinkComplete &&
		      cu.LinkDestroy;
	struct vgpu_fatbin_entry e;
	size_t n;

	mi->img = image;
	switch (format) {
	case VGPUIF_MODULE_CUBIN:
		mi->how = "cubin";
		mi->known = vgpu_cubin_info(image, len, &mi->ci) == 0;
		return CUDA_SUCCESS;
	case VGPUIF_MODULE_FATBIN:
		mi->how = "fat binary";
		if (vgpu_fatbin_select(image, len, dev_sm, &e) != 1 ||
		    ptx_fatbin_payload(image, &e, CW_MAX_CUBIN, &mi->own, &n))
			return CUDA_SUCCESS;    /* the driver says what is wrong */
		if (e.kind == VGPU_FATBIN_KIND_ELF) {
			mi->img = mi->own;
			mi->how = "the fat binary's cubin";
			mi->known = vgpu_cubin_info(mi->own, n, &mi->ci) == 0;
			return CUDA_SUCCESS;
		}
		if (!linker)
			return CUDA_SUCCESS;
		return link_ptx(mi, mi->own, strnlen((char *)mi->own, n) + 1,
				nopt, opt, val);
	default:
		mi->how = "PTX";
		if (!linker)
			return CUDA_SUCCESS;
		return link_ptx(mi, image, strnlen((const char *)image, len) + 1,
				nopt, opt, val);
	}
}

static void modimg_free(struct modimg *mi)
{
	if (mi->link)
		cu.LinkDestroy(mi->link);
	free(mi->own);
}

/*
 * arg[3]: the most bytes the module may hold (UINT64_MAX: no quota).
 * result[0]: what it holds (also when refused: what it would).
 */
static int do_module_load(const struct cw_cmd *c, struct wctx *x, struct crec *out)
{
	uint64_t image_len = c->arg[0], log_len = c->arg[2], limit = c->arg[3];
	uint32_t format = (uint32_t)c->arg[1];
	static char err_log[VGPUIF_MAX_MODULE_LOG], info_log[VGPUIF_MAX_MODULE_LOG];
	const unsigned char *img = arena + c->stage_off;
	CUjit_option opt[5];
	void *val[5];
	unsigned char *copy;
	struct modimg mi;
	struct wmod *m;
	const char *log;
	uint64_t need = 0;
	size_t free0 = 0, free1 = 0, tot;
	int st = 0;
	CUresult cr;
	size_t n;

	if (image_len + log_len > c->stage_len)
		return VGPUIF_RSP_EINVAL;
	if (format == VGPUIF_MODULE_AUTO) {
		if (image_len >= 4 && !memcmp(img, "\177ELF", 4))
			format = VGPUIF_MODULE_CUBIN;
		else if (image_len >= 4 && img[0] == 0x50 && img[1] == 0xed &&
			 img[2] == 0x55 && img[3] == 0xba)
			format = VGPUIF_MODULE_FATBIN;
		else
			format = VGPUIF_MODULE_PTX;
	}
	if (format > VGPUIF_MODULE_FATBIN)
		return VGPUIF_RSP_EINVAL;
	/*
	 * A private, zero-padded copy: PTX gets its NUL; a binary image that
	 * lies about its sizes reads zeros, not the rest of the arena.
	 */
	copy = calloc(1, (size_t)image_len + 4096);
	if (!copy)
		return VGPUIF_RSP_ENOMEM;
	memcpy(copy, img, (size_t)image_len);
	err_log[0] = info_log[0] = '\0';
	opt[0] = CU_JIT_ERROR_LOG_BUFFER;
	val[0] = err_log;
	opt[1] = CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES;
	val[1] = (void *)(uintptr_t)sizeof(err_log);
	opt[2] = CU_JIT_INFO_LOG_BUFFER;
	val[2] = info_log;
	opt[3] = CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES;
	val[3] = (void *)(uintptr_t)sizeof(info_log);
	opt[4] = CU_JIT_LOG_VERBOSE;
	val[4] = (void *)(uintptr_t)0;

	memset(&mi, 0, sizeof(mi));
	m = xcalloc(1, sizeof(*m));
	cr = module_image(&mi, copy, (size_t)image_len, format, 5, opt, val);
	if (!cr && mi.known) {
		need = ci_bytes(&mi.ci);
		if (need > limit) {
			st = VGPUIF_RSP_EDQUOT;
			snprintf(err_log, sizeof(err_log),
				 "vgpu: module refused: loading it (%s) would take "
				 "%" PRIu64 " bytes of device memory (code %" PRIu64
				 ", variables %" PRIu64 ", constants %" PRIu64 ") "
				 "and the domain's quota leaves %" PRIu64,
				 mi.how, need, mi.ci.code_bytes,
				 mi.ci.global_bytes + mi.ci.global_init_bytes,
				 mi.ci.constant_bytes + mi.ci.kernel_constant_bytes,
				 limit);
		}
	}
	if (!cr && !st) {
		if (!mi.known)
			cu.MemGetInfo(&free0, &tot);
		cr = cu.ModuleLoadDataEx(&m->m, mi.img, 5, opt, val);
		if (!cr && !mi.known) {
			cu.MemGetInfo(&free1, &tot);
			need = free0 > free1 ? free0 - free1 : 0;
			if (need > limit) {
				cu.ModuleUnload(m->m);
				st = VGPUIF_RSP_EDQUOT;
				snprintf(err_log, sizeof(err_log),
					 "vgpu: module refused: once loaded (%s) it "
					 "took %" PRIu64 " bytes of device memory "
					 "(measured) and the domain's quota leaves %"
					 PRIu64, mi.how, need, limit);
			}
		}
	}
	modimg_free(&mi);
	free(copy);
	err_log[sizeof(err_log) - 1] = info_log[sizeof(info_log) - 1] = '\0';
	log = cr || st ? err_log : info_log;
	if (cr && !log[0])
		log = errname(cr);
	/* the log: NUL-terminated, truncated to log_len; result[1] = bytes */
	if (log_len) {
		n = strlen(log) + 1;
		if (n > log_len)
			n = (size_t)log_len;
		memcpy(arena + c->stage_off + image_len, log, n - 1);
		arena[c->stage_off + image_len + n - 1] = '\0';
		out->rsp.result[1] = n;
	}
	out->rsp.result[0] = need;
	if (cr || st) {
		free(m);
		return st ? st : cu_status(cr);
	}
	DL_PUSH(x->mods, m);
	out->rsp.obj = (uint64_t)(uintptr_t)m;
	return 0;
}

/* An inline name: 1..max bytes, no NUL inside; copied NUL-terminated. */
static bool inline_name(const struct cw_cmd *c, const unsigned char *data,
			char *name, size_t max)
{
	size_t len = c->inline_len;

	if (len == 0 || len > max || memchr(data, '\0', len))
		return false;
	memcpy(name, data, len);
	name[len] = '\0';
	return true;
}

/* Parameter count and the end of the last one; false when not known. */
static bool param_layout(CUfunction f, uint32_t *count, uint32_t *end_out,
			 struct vgpuif_func_info *fi)
{
	size_t off, sz, end = 0, i;

	if (!cu.FuncGetParamInfo)
		return false;
	for (i = 0; i < 8192; i++) {
		if (cu.FuncGetParamInfo(f, i, &off, &sz))
			break;
		if (fi && i < VGPUIF_MAX_FUNC_PARAMS) {
			fi->param[i].offset = (uint32_t)off;
			fi->param[i].size = (uint32_t)sz;
		}
		if (off + sz > end)
			end = off + sz;
	}
	*count = (uint32_t)i;
	*end_out = (uint32_t)end;
	return true;
}

static int do_func_get(const struct cw_cmd *c, const unsigned char *data,
		       struct crec *out)
{
	struct wmod *m = (struct wmod *)(uintptr_t)c->obj[0];
	char name[VGPUIF_MAX_FUNC_NAME + 1];
	struct wfunc *f;
	uint32_t count;
	CUresult cr;
	int lb = 0;

	if (!m)
		return VGPUIF_RSP_EINVAL;
	if (!inline_name(c, data, name, VGPUIF_MAX_FUNC_NAME))
		return VGPUIF_RSP_EINVAL;       /* a NUL inside the name */
	f = xcalloc(1, sizeof(*f));
	cr = cu.ModuleGetFunction(&f->f, m->m, name);
	if (cr) {
		free(f);
		return cu_status(cr);
	}
	f->layout_known = param_layout(f->f, &count, &f->param_bytes, NULL);
	f->next = m->funcs;
	m->funcs = f;
	out->rsp.obj = (uint64_t)(uintptr_t)f;
	out->rsp.result[1] = f->param_bytes;
	/* local bytes per thread: the executor bounds what launches reserve */
	if (!cu.FuncGetAttribute(&lb, CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES, f->f) &&
	    lb > 0)
		out->rsp.result[0] = (uint64_t)lb;
	return 0;
}

static int do_func_info(const struct cw_cmd *c, struct crec *out)
{
	struct wfunc *f = (struct wfunc *)(uintptr_t)c->obj[0];
	struct vgpuif_func_info *fi;
	uint32_t count = 0, end = 0;

	if (!f)
		return VGPUIF_RSP_EINVAL;
	fi = xcalloc(1, sizeof(*fi));
	if (param_layout(f->f, &count, &end, fi)) {
		fi->nr_params = count < VGPUIF_MAX_FUNC_PARAMS ? count
							      : VGPUIF_MAX_FUNC_PARAMS;
		fi->param_bytes = end;
	}
	for (uint32_t i = 0; i < VGPUIF_MAX_FUNC_ATTRS; i++) {
		int v = 0;

		if (!cu.FuncGetAttribute(&v, (CUfunction_attribute)i, f->f)) {
			fi->attr[i] = v;
			fi->attr_valid |= 1u << i;
		}
	}
	out->data = fi;
	out->rsp.inline_len = sizeof(*fi);
	out->rsp.result[0] = fi->nr_params;
	out->rsp.result[1] = fi->param_bytes;
	return 0;
}

static int do_func_set_attr(const struct cw_cmd *c)
{
	struct wfunc *f = (struct wfunc *)(uintptr_t)c->obj[0];
	uint32_t attr = (uint32_t)c->arg[0];
	int value = (int)(int32_t)c->arg[1];
	CUresult cr;

	if (!f)
		return VGPUIF_RSP_EINVAL;
	if (attr == VGPUIF_FUNC_ATTR_CACHE_CONFIG)
		cr = cu.FuncSetCacheConfig(f->f, (CUfunc_cache)value);
	else
		cr = cu.FuncSetAttribute(f->f, (CUfunction_attribute)attr, value);
	if (cr)
		return cu_status(cr);
	if (attr == CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES && value > 0)
		f->shared_set = (uint32_t)value;
	return 0;
}

static int do_module_global(const struct cw_cmd *c, const unsigned char *data,
			    struct crec *out)
{
	struct wmod *m = (struct wmod *)(uintptr_t)c->obj[0];
	char name[VGPUIF_MAX_GLOBAL_NAME + 1];
	struct wmem *g;
	CUdeviceptr p;
	size_t sz;
	CUresult cr;

	if (!m || !inline_name(c, data, name, VGPUIF_MAX_GLOBAL_NAME))
		return VGPUIF_RSP_EINVAL;
	cr = cu.ModuleGetGlobal(&p, &sz, m->m, name);
	if (cr)
		return cu_status(cr);
	for (g = m->globals; g; g = g->next)
		if (g->p == p)
			break;
	if (!g) {               /* the same object for the same global */
		g = xcalloc(1, sizeof(*g));
		g->p = p;
		g->size = sz;
		DL_PUSH(m->globals, g);
	}
	out->rsp.obj = (uint64_t)(uintptr_t)g;
	out->rsp.result[0] = p;
	out->rsp.result[1] = sz;
	return 0;
}

static int do_launch(const struct cw_cmd *c, const unsigned char *data,
		     CUstream s)
{
	struct wfunc *f = (struct wfunc *)(uintptr_t)c->obj[0];
	size_t plen = c->dims[7];
	uint32_t shared = c->dims[6];
	void *extra[] = {
		CU_LAUNCH_PARAM_BUFFER_POINTER, (void *)data,
		CU_LAUNCH_PARAM_BUFFER_SIZE, &plen,
		CU_LAUNCH_PARAM_END
	};
	CUresult cr;

	if (!f || plen > VGPUIF_MAX_PARAM_BYTES || plen != c->inline_len)
		return VGPUIF_RSP_EINVAL;
	/* the blob must match the kernel's layout, up to tail padding to 8 */
	if (f->layout_known &&
	    (plen < f->param_bytes || plen > ((f->param_bytes + 7u) & ~7u)))
		return VGPUIF_RSP_EINVAL;
	if (shared > 48 * 1024 && shared > f->shared_set) {
		/* revision-1 guests cannot set it themselves */
		cr = cu.FuncSetAttribute(f->f,
				CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
				(int)shared);
		if (cr)
			return VGPUIF_RSP_EINVAL;
		f->shared_set = shared;
	}
	cr = cu.LaunchKernel(f->f, c->dims[0], c->dims[1], c->dims[2],
			     c->dims[3], c->dims[4], c->dims[5], shared, s,
			     NULL, plen ? extra : NULL);
	return cu_status(cr);
}

/* Bytes [off, off + n) of a copy or memset, on s. */
static CUresult data_piece(const struct cw_cmd *c, uint64_t off, uint64_t n,
			   CUstream s)
{
	struct wmem *m = (struct wmem *)(uintptr_t)c->obj[0];
	struct wmem *m2 = (struct wmem *)(uintptr_t)c->obj[1];

	unsigned char *host = arena + c->stage_off;

	if (c->flags & CW_F_HOST)       /* checked by enqueue() */
		host = ((struct whost *)(uintptr_t)c->obj[1])->p + c->arg[2];
	switch (c->op) {
	case VGPUIF_OP_MEMCPY_H2D:
		return cu.MemcpyHtoDAsync(m->p + c->arg[0] + off, host + off,
					  (size_t)n, s);
	case VGPUIF_OP_MEMCPY_D2H:
		return cu.MemcpyDtoHAsync(host + off, m->p + c->arg[0] + off,
					  (size_t)n, s);
	case VGPUIF_OP_MEMCPY_D2D:
		return cu.MemcpyDtoDAsync(m->p + c->arg[0] + off,
					  m2->p + c->arg[1] + off, (size_t)n, s);
	default:        /* MEMSET; the element size checked by the caller */
		if (c->arg[3] == 1)
			return cu.MemsetD8Async(m->p + c->arg[0] + off,
						(unsigned char)c->arg[2], (size_t)n, s);
		if (c->arg[3] == 2)
			return cu.MemsetD16Async(m->p + c->arg[0] + off,
						 (unsigned short)c->arg[2],
						 (size_t)n / 2, s);
		return cu.MemsetD32Async(m->p + c->arg[0] + off,
					 (unsigned int)c->arg[2], (size_t)n / 4, s);
	}
}

/*
 * A copy or memset of len bytes on ws. While yielding, one slice at a time,
 * each waited for (a blocking-sync event: this thread sleeps) before the
 * next goes to the GPU; the last is left to the completion path like any
 * op. Slices are multiples of 4 bytes, so every element size divides them.
 */
static CUresult data_op(const struct cw_cmd *c, struct wstream *ws, uint64_t len)
{
	uint64_t slice = slice_bytes & ~3ull, off, n;
	CUevent ev;
	CUresult cr;

	if (!slice || len <= slice || !__atomic_load_n(&yielding, __ATOMIC_RELAXED))
		return data_piece(c, 0, len, ws->s);
	for (off = 0; off < len; off += n) {
		n = len - off < slice ? len - off : slice;
		cr = data_piece(c, off, n, ws->s);
		if (cr || off + n == len)
			return cr;
		ev = ev_get(&cr);
		if (!ev)
			return cr;
		cr = cu.EventRecord(ev, ws->s);
		if (!cr)
			cr = cu.EventSynchronize(ev);
		pthread_mutex_lock(&q_lock);
		if (ev_pool_n < EV_POOL)
			ev_pool[ev_pool_n++] = ev;
		else
			cu.EventDestroy(ev);
		pthread_mutex_unlock(&q_lock);
		if (cr)
			return cr;
	}
	return CUDA_SUCCESS;
}

/* Enqueue a stream op's work on ws; a status. */
static int enqueue(const struct cw_cmd *c, const unsigned char *data,
		   struct wctx *x, struct wstream *ws)
{
	struct wevent *e = (struct wevent *)(uintptr_t)c->event[0];
	CUresult cr;

	cr = legacy_order(x, ws);
	if (cr)
		return cu_status(cr);
	switch (c->op) {
	case VGPUIF_OP_MEMCPY_H2D:
	case VGPUIF_OP_MEMCPY_D2H:
		if (c->flags & CW_F_HOST) {
			const struct whost *h = (const struct whost *)(uintptr_t)c->obj[1];

			if (!h || !vgpuif_range_ok(c->arg[2], c->arg[1], h->len))
				return VGPUIF_RSP_EINVAL;
		} else if (c->arg[1] > c->stage_len) {
			return VGPUIF_RSP_EINVAL;
		}
		cr = data_op(c, ws, c->arg[1]);
		break;
	case VGPUIF_OP_MEMCPY_D2D:
		cr = data_op(c, ws, c->arg[2]);
		break;
	case VGPUIF_OP_MEMSET:
		if (c->arg[3] != 1 && c->arg[3] != 2 && c->arg[3] != 4)
			return VGPUIF_RSP_EINVAL;
		cr = data_op(c, ws, c->arg[1]);
		break;
	case VGPUIF_OP_LAUNCH:
		return do_launch(c, data, ws->s);
	case VGPUIF_OP_EVENT_RECORD:
		if (!e)
			return VGPUIF_RSP_EINVAL;
		cr = cu.EventRecord(e->ev, ws->s);
		break;
	case VGPUIF_OP_STREAM_WAIT_EVENT:
		if (!e)
			return VGPUIF_RSP_EINVAL;
		/* never recorded: no wait (CUDA waits for nothing either) */
		cr = e->recorded ? cu.StreamWaitEvent(ws->s, e->ev, 0) : CUDA_SUCCESS;
		break;
	default:
		return VGPUIF_RSP_ENOSYS;
	}
	return cu_status(cr);
}

/*
 * A stream op: its work on the stream, its answer in the stream's FIFO
 * (also when it failed at once, so that the stream's answers stay in order).
 */
static void stream_op(const struct cw_cmd *c, const unsigned char *data,
		      struct wctx *x, uint64_t t0)
{
	struct wstream *ws = stream_of(c, x);
	struct wevent *e = (struct wevent *)(uintptr_t)c->event[0];
	struct crec *r;
	int st;

	if (!ws) {
		answer_now(c, VGPUIF_RSP_EBADF, t0);
		return;
	}
	r = rec_new(c, t0);
	r->work_ws = ws;
	r->pending = 1;
	__atomic_add_fetch(&ws->work, 1, __ATOMIC_RELEASE);
	st = enqueue(c, data, x, ws);
	if (st) {
		r->rsp.status = st;
		r->rsp.lost = is_lost();
		stage_node(r, ws, NULL, true);
		return;
	}
	stage_node(r, ws, group_of(ws), true);
	ws->last_work = ++x->seq;
	if (c->op == VGPUIF_OP_EVENT_RECORD) {
		/* exact: waits for this record must not wait for later work */
		close_group(ws);
		e->recorded = true;
		pthread_mutex_lock(&q_lock);
		if (e->last)
			e->last->owner = NULL;
		e->last = r;
		r->owner = e;
		pthread_mutex_unlock(&q_lock);
	} else if (c->op == VGPUIF_OP_STREAM_WAIT_EVENT) {
		/* answered after the record it waits for */
		pthread_mutex_lock(&q_lock);
		if (e->last) {
			r->pending++;
			r->dnext = e->last->deps;
			e->last->deps = r;
		}
		pthread_mutex_unlock(&q_lock);
	}
}

/*
 * A wait: answered once every stream of set (n of them, or every stream of
 * x when set is NULL) has answered what was queued before it; action (may
 * be NULL) runs first.
 */
static void wait_op(const struct cw_cmd *c, struct wctx *x,
		    struct wstream **set, unsigned int n, uint64_t t0,
		    void (*action)(void *), void *arg)
{
	struct crec *r = rec_new(c, t0);
	struct wstream *ws;

	r->action = action;
	r->action_arg = arg;
	if (set) {
		for (unsigned int i = 0; i < n; i++)
			if (__atomic_load_n(&set[i]->nodes, __ATOMIC_ACQUIRE)) {
				stage_node(r, set[i], NULL, false);
				r->pending++;
			}
	} else {
		for (ws = x->streams; ws; ws = ws->next)
			if (__atomic_load_n(&ws->nodes, __ATOMIC_ACQUIRE)) {
				stage_node(r, ws, NULL, false);
				r->pending++;
			}
	}
	if (r->pending)
		return;
	if (action)
		action(arg);
	r->action = NULL;
	stage_now(r, 0);
}

static void event_sync(const struct cw_cmd *c, uint64_t t0)
{
	struct wevent *e = (struct wevent *)(uintptr_t)c->event[0];
	struct crec *r;

	if (!e) {
		answer_now(c, VGPUIF_RSP_EINVAL, t0);
		return;
	}
	r = rec_new(c, t0);
	pthread_mutex_lock(&q_lock);
	if (e->last) {
		r->pending = 1;
		r->dnext = e->last->deps;
		e->last->deps = r;
	}
	pthread_mutex_unlock(&q_lock);
	if (!r->pending)
		stage_now(r, 0);
}

static int do_stream_create(const struct cw_cmd *c, struct wctx *x,
			    struct crec *out)
{
	int prio = (int)(int32_t)c->arg[1];
	struct wstream *ws = NULL;
	int st;

	if (c->arg[0] & ~(uint64_t)VGPUIF_STREAM_F_ALL)
		return VGPUIF_RSP_EINVAL;
	/* lower numbers are higher priorities: greatest <= prio <= least */
	if (prio < prio_greatest)
		prio = prio_greatest;
	if (prio > prio_least)
		prio = prio_least;
	reap_streams(x);
	st = stream_new(x, !(c->arg[0] & VGPUIF_STREAM_NON_BLOCKING), prio, &ws);
	if (st)
		return st;
	out->rsp.obj = (uint64_t)(uintptr_t)ws;
	out->rsp.result[1] = (uint64_t)(int64_t)prio;
	return 0;
}

static int do_event_create(const struct cw_cmd *c, struct wctx *x,
			   struct crec *out)
{
	struct wevent *e;
	unsigned int fl = 0;
	CUresult cr;

	if (c->arg[0] & ~(uint64_t)VGPUIF_EVENT_F_ALL)
		return VGPUIF_RSP_EINVAL;
	if (c->arg[0] & VGPUIF_EVENT_BLOCKING_SYNC)
		fl |= CU_EVENT_BLOCKING_SYNC;
	if (c->arg[0] & VGPUIF_EVENT_DISABLE_TIMING)
		fl |= CU_EVENT_DISABLE_TIMING;
	e = xcalloc(1, sizeof(*e));
	cr = cu.EventCreate(&e->ev, fl);
	if (cr) {
		free(e);
		return cu_status(cr);
	}
	DL_PUSH(x->events, e);
	out->rsp.obj = (uint64_t)(uintptr_t)e;
	return 0;
}

static int do_event_elapsed(const struct cw_cmd *c, struct crec *out)
{
	struct wevent *a = (struct wevent *)(uintptr_t)c->event[0];
	struct wevent *b = (struct wevent *)(uintptr_t)c->event[1];
	bool pending;
	float ms = 0;
	uint32_t bits;
	CUresult cr;

	if (!a || !b)
		return VGPUIF_RSP_EINVAL;
	if (!a->recorded || !b->recorded)
		return VGPUIF_RSP_EINVAL;
	pthread_mutex_lock(&q_lock);
	pending = a->last || b->last;
	pthread_mutex_unlock(&q_lock);
	if (pending)
		return VGPUIF_RSP_EBUSY;
	cr = cu.EventElapsedTime(&ms, a->ev, b->ev);
	if (cr == CUDA_ERROR_INVALID_HANDLE)
		return VGPUIF_RSP_EINVAL;       /* DISABLE_TIMING */
	if (cr)
		return cu_status(cr);
	memcpy(&bits, &ms, sizeof(bits));
	out->rsp.result[0] = bits;
	return 0;
}

static void do_vector_add(const struct cw_cmd *c, struct wctx *x, uint64_t t0)
{
	uint32_t n = (uint32_t)c->arg[0];
	CUdeviceptr a = va_buf, b = va_buf + 4ull * n, d = va_buf + 8ull * n;
	void *params[] = { &a, &b, &d, &n };
	struct wstream *home = x ? x->d : va_ws;
	struct crec *r;
	CUresult cr;

	if (n == 0 || n > VGPUIF_MAX_VECTOR_ADD_ELEMS || 12ull * n > c->stage_len) {
		answer_now(c, VGPUIF_RSP_EINVAL, t0);
		return;
	}
	/*
	 * The scratch buffer is shared: every VECTOR_ADD runs on va_ws. With
	 * a context it also keeps its place on that context's default stream.
	 */
	cr = legacy_order(x, home);
	if (!cr && x && home->last_work)
		cr = order_wait(va_ws, home);
	if (!cr)
		cr = cu.MemcpyHtoDAsync(va_buf, arena + c->stage_off, 8ull * n, va_ws->s);
	if (!cr)
		cr = cu.LaunchKernel(va_fn, (n + 255) / 256, 1, 1, 256, 1, 1, 0,
				     va_ws->s, params, NULL);
	if (!cr)
		cr = cu.MemcpyDtoHAsync(arena + c->stage_off + 8ull * n, d,
					4ull * n, va_ws->s);
	va_ws->last_work = ++va_seq;
	if (!cr && x)
		cr = order_wait(home, va_ws);
	r = rec_new(c, t0);
	r->work_ws = home;
	r->pending = 1;
	__atomic_add_fetch(&home->work, 1, __ATOMIC_RELEASE);
	if (cr) {
		rec_fail(r, cr);
		stage_node(r, home, NULL, true);
		return;
	}
	stage_node(r, home, group_of(home), true);
	if (x)
		home->last_work = ++x->seq;
}

/*
 * Guest memory for zero copy: map the runs of rx_fd into one range of our
 * own and register it with the driver, so that copies DMA straight from
 * (to) the guest's pages. The answer's obj is the struct whost.
 */
static void do_host_register(const struct cw_cmd *c, const unsigned char *data,
			     uint64_t t0)
{
	struct crec *r = rec_new(c, t0);
	size_t len = (size_t)c->arg[0], pos = 0;
	uint32_t nruns = c->inline_len / 16, i;
	int prot = PROT_READ | (c->arg[1] ? PROT_WRITE : 0), st = 0;
	struct whost *h = NULL;
	unsigned char *p;
	CUresult cr;

	if (rx_fd < 0 || !len || len % 4096 || c->inline_len % 16 || !nruns) {
		stage_now(r, VGPUIF_RSP_EINVAL);
		return;
	}
	p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		 -1, 0);
	if (p == MAP_FAILED) {
		stage_now(r, VGPUIF_RSP_ENOMEM);
		return;
	}
	for (i = 0; i < nruns; i++) {
		uint64_t run[2];

		memcpy(run, data + 16 * i, sizeof(run));
		if (!run[1] || run[1] % 4096 || run[0] % 4096 || run[1] > len - pos ||
		    mmap(p + pos, (size_t)run[1], prot,
			 MAP_SHARED | MAP_FIXED | MAP_POPULATE, rx_fd,
			 (off_t)run[0]) == MAP_FAILED) {
			st = VGPUIF_RSP_EFAULT;
			goto fail;
		}
		pos += (size_t)run[1];
	}
	if (pos != len) {
		st = VGPUIF_RSP_EINVAL;
		goto fail;
	}
	cr = cu.MemHostRegister(p, len, CU_MEMHOSTREGISTER_PORTABLE |
				(c->arg[1] ? 0 : CU_MEMHOSTREGISTER_READ_ONLY));
	if (cr) {
		r->rsp.result[0] = cr;
		st = cu_status(cr);
		if (!st)
			st = VGPUIF_RSP_EIO;
		goto fail;
	}
	h = xcalloc(1, sizeof(*h));
	h->p = p;
	h->len = len;
	h->registered = true;
	r->rsp.obj = (uint64_t)(uintptr_t)h;
	r->rsp.result[1] = len;
	stage_now(r, 0);
	return;
fail:
	munmap(p, len);
	stage_now(r, st);
}

static void do_host_unregister(const struct cw_cmd *c, uint64_t t0)
{
	struct whost *h = (struct whost *)(uintptr_t)c->obj[0];

	if (!h) {
		answer_now(c, VGPUIF_RSP_EINVAL, t0);
		return;
	}
	if (h->registered && cu.MemHostUnregister)
		cu.MemHostUnregister(h->p);
	munmap(h->p, h->len);
	free(h);
	answer_now(c, 0, t0);
}

static bool stage_ok(const struct cw_cmd *c)
{
	return c->stage_off <= arena_size && c->stage_len <= arena_size - c->stage_off;
}

static void do_cmd(const struct cw_cmd *c, const unsigned char *data)
{
	uint64_t t0 = now_ns();
	struct wctx *x = NULL;
	struct wstream *ws;
	struct crec *r;
	int st;

	if (is_lost() || !stage_ok(c)) {
		answer_now(c, is_lost() ? VGPUIF_RSP_EREMOTEIO : VGPUIF_RSP_EINVAL, t0);
		return;
	}
	if (c->ctx)
		x = ctx_find(c->ctx);
	/* the arbiter's hint comes with the ops that take a turn */
	switch (c->op) {
	case VGPUIF_OP_MEMCPY_H2D:
	case VGPUIF_OP_MEMCPY_D2H:
	case VGPUIF_OP_MEMCPY_D2D:
	case VGPUIF_OP_MEMSET:
	case VGPUIF_OP_LAUNCH:
	case VGPUIF_OP_VECTOR_ADD:
		__atomic_store_n(&yielding, (c->flags & CW_F_YIELD) && !yield_ignored,
				 __ATOMIC_RELAXED);
		break;
	default:
		break;
	}

	switch (c->op) {
	case VGPUIF_OP_CTX_CREATE:
		answer_now(c, do_ctx_create(c), t0);
		return;
	case VGPUIF_OP_CTX_DESTROY:
		answer_now(c, do_ctx_destroy(c), t0);
		return;
	case CW_OP_MEMINFO: {
		size_t fr = 0, tot = 0;

		r = rec_new(c, t0);
		st = cu_status(cu.MemGetInfo(&fr, &tot));
		r->rsp.result[0] = fr;
		r->rsp.result[1] = tot;
		stage_now(r, st);
		return;
	}
	case VGPUIF_OP_NOP:
		answer_now(c, (int32_t)c->arg[0], t0);
		return;
	case CW_OP_HOST_REGISTER:
		do_host_register(c, data, t0);
		return;
	case CW_OP_HOST_UNREGISTER:
		do_host_unregister(c, t0);
		return;
	case VGPUIF_OP_VECTOR_ADD:
		do_vector_add(c, x, t0);
		return;
	case VGPUIF_OP_SYNC:
		if (c->ctx)
			break;
		/* no context: after the context-less VECTOR_ADDs */
		wait_op(c, NULL, &va_ws, 1, t0, NULL, NULL);
		return;
	}

	if (!x) {
		answer_now(c, VGPUIF_RSP_EBADF, t0);
		return;
	}
	switch (c->op) {
	case VGPUIF_OP_MEMCPY_H2D:
	case VGPUIF_OP_MEMCPY_D2H:
	case VGPUIF_OP_MEMCPY_D2D:
	case VGPUIF_OP_MEMSET:
	case VGPUIF_OP_LAUNCH:
	case VGPUIF_OP_EVENT_RECORD:
	case VGPUIF_OP_STREAM_WAIT_EVENT:
		stream_op(c, data, x, t0);
		return;
	case VGPUIF_OP_SYNC:
		reap_streams(x);
		wait_op(c, x, NULL, 0, t0, NULL, NULL);
		return;
	case VGPUIF_OP_STREAM_SYNC:
		ws = stream_of(c, x);
		wait_op(c, x, &ws, 1, t0, NULL, NULL);
		return;
	case VGPUIF_OP_STREAM_DESTROY:
		ws = stream_of(c, x);
		if (ws == x->d || ws->dead) {
			answer_now(c, VGPUIF_RSP_EINVAL, t0);
			return;
		}
		/* stays on the context's list (SYNC, legacy waits) until drained */
		ws->dead = true;
		wait_op(c, x, &ws, 1, t0, NULL, NULL);
		reap_streams(x);
		return;
	case VGPUIF_OP_EVENT_SYNC:
		event_sync(c, t0);
		return;
	case VGPUIF_OP_MEM_FREE: {
		struct wmem *m = (struct wmem *)(uintptr_t)c->obj[0];

		/* freed after the context's earlier work (it may use it) */
		DL_UNLINK(x->mems, m);
		wait_op(c, x, NULL, 0, t0, mem_release, m);
		return;
	}
	case VGPUIF_OP_MODULE_UNLOAD: {
		struct wmod *m = (struct wmod *)(uintptr_t)c->obj[0];

		DL_UNLINK(x->mods, m);
		wait_op(c, x, NULL, 0, t0, mod_release, m);
		return;
	}
	}

	/* at once */
	r = rec_new(c, t0);
	switch (c->op) {
	case VGPUIF_OP_MEM_ALLOC: {
		struct wmem *m = xcalloc(1, sizeof(*m));
		CUresult cr = cu.MemAlloc(&m->p, (size_t)c->arg[0]);

		if (cr) {
			free(m);
			st = cu_status(cr);
			break;
		}
		m->size = c->arg[0];
		DL_PUSH(x->mems, m);
		r->rsp.obj = (uint64_t)(uintptr_t)m;
		r->rsp.result[0] = m->size;
		r->rsp.result[1] = m->p;
		st = 0;
		break;
	}
	case VGPUIF_OP_MODULE_LOAD:
		st = do_module_load(c, x, r);
		break;
	case VGPUIF_OP_FUNC_GET:
		st = do_func_get(c, data, r);
		break;
	case VGPUIF_OP_FUNC_INFO:
		st = do_func_info(c, r);
		break;
	case VGPUIF_OP_FUNC_SET_ATTR:
		st = do_func_set_attr(c);
		break;
	case VGPUIF_OP_MODULE_GLOBAL:
		st = do_module_global(c, data, r);
		break;
	case VGPUIF_OP_STREAM_CREATE:
		st = do_stream_create(c, x, r);
		break;
	case VGPUIF_OP_EVENT_CREATE:
		st = do_event_create(c, x, r);
		break;
	case VGPUIF_OP_EVENT_DESTROY: {
		struct wevent *e = (struct wevent *)(uintptr_t)c->event[0];

		st = VGPUIF_RSP_EINVAL;
		if (e) {
			event_free(x, e);
			st = 0;
		}
		break;
	}
	case VGPUIF_OP_STREAM_QUERY:
		ws = stream_of(c, x);
		/* idle only once every answer of its work is on its way */
		r->rsp.result[0] = !__atomic_load_n(&ws->work, __ATOMIC_ACQUIRE);
		st = 0;
		break;
	case VGPUIF_OP_EVENT_QUERY: {
		struct wevent *e = (struct wevent *)(uintptr_t)c->event[0];

		st = VGPUIF_RSP_EINVAL;
		if (e) {
			pthread_mutex_lock(&q_lock);
			r->rsp.result[0] = !e->last;
			pthread_mutex_unlock(&q_lock);
			st = 0;
		}
		break;
	}
	case VGPUIF_OP_EVENT_ELAPSED:
		st = do_event_elapsed(c, r);
		break;
	default:
		st = VGPUIF_RSP_ENOSYS;
		break;
	}
	if (st) {
		free(r->data);
		r->data = NULL;
		r->rsp.inline_len = 0;
	}
	stage_now(r, st);
}

/* ---------------------------------------------------------------- setup */

static int load_driver(char *why, size_t whylen)
{
	void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		snprintf(why, whylen, "no NVIDIA driver: %s", dlerror());
		return -ENODEV;
	}
	for (size_t i = 0; i < sizeof(cu_syms) / sizeof(cu_syms[0]); i++) {
		const struct cu_sym *s = &cu_syms[i];
		void *p = NULL;

		for (int k = 0; k < 2 && !p && s->name[k]; k++)
			p = dlsym(h, s->name[k]);
		if (!p && !s->optional) {
			snprintf(why, whylen, "the NVIDIA driver lacks %s", s->name[0]);
			return -ENODEV;
		}
		/* dlsym's object pointer into a function pointer slot */
		memcpy(s->slot, &p, sizeof(p));
	}
	if (!cu.CtxCreate4 && !cu.CtxCreate2) {
		snprintf(why, whylen, "the NVIDIA driver lacks cuCtxCreate");
		return -ENODEV;
	}
	return 0;
}

/* The DEVICE_INFO snapshot: every attribute the driver answers. */
static void snapshot(CUdevice dev, int ordinal, struct cw_hello *h)
{
	struct vgpuif_device_info *d = &h->dev;
	uint32_t top = 0;

	d->version = 1;
	d->driver_version = h->driver_version;
	d->ordinal = (uint32_t)ordinal;
	cu.DeviceGetName(d->name, sizeof(d->name) - 1, dev);
	d->total_mem = h->total_mem;
	if (cu.DeviceGetUuid) {
		CUuuid u;

		if (!cu.DeviceGetUuid(&u, dev))
			memcpy(d->uuid, &u, sizeof(d->uuid));
	}
	for (uint32_t i = 1; i < VGPUIF_MAX_DEVICE_ATTRS; i++) {
		int v = 0;

		if (cu.DeviceGetAttribute(&v, (CUdevice_attribute)i, dev))
			continue;
		d->attr[i] = v;
		d->attr_valid[i / 32] |= 1u << (i % 32);
		top = i + 1;
	}
	d->nr_attrs = top;
}

/*
 * The device memory in use before the context exists (cuMemGetInfo needs
 * a context): NVML, the driver's own library (libnvidia-ml.so.1), by
 * dlopen, through three calls of NVIDIA's NVML reference:
 * nvmlInit_v2(), nvmlDeviceGetHandleByPciBusId_v2() and
 * nvmlDeviceGetMemoryInfo() (an nvmlMemory_t: total, free, used). The
 * figure is the device's, so another process allocating at the same
 * moment shows in it; it is what an operator plans capacity with.
 */
struct nvml_memory {
	unsigned long long total, free, used;
};

static struct {
	int (*Init)(void);
	int (*ByBusId)(const char *, void **);
	int (*MemoryInfo)(void *, struct nvml_memory *);
	void *dev;
} nv;

static bool nvml_open(CUdevice dev, char *why, size_t wl)
{
	char bus[32];
	void *h, *p[3];

	if (!cu.DeviceGetPCIBusId || cu.DeviceGetPCIBusId(bus, sizeof(bus), dev)) {
		snprintf(why, wl, "the driver gives no PCI bus id");
		return false;
	}
	h = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(why, wl, "no libnvidia-ml.so.1");
		return false;
	}
	p[0] = dlsym(h, "nvmlInit_v2");
	p[1] = dlsym(h, "nvmlDeviceGetHandleByPciBusId_v2");
	p[2] = dlsym(h, "nvmlDeviceGetMemoryInfo");
	memcpy(&nv.Init, &p[0], sizeof(p[0]));
	memcpy(&nv.ByBusId, &p[1], sizeof(p[1]));
	memcpy(&nv.MemoryInfo, &p[2], sizeof(p[2]));
	if (!nv.Init || !nv.ByBusId || !nv.MemoryInfo || nv.Init() ||
	    nv.ByBusId(bus, &nv.dev)) {
		snprintf(why, wl, "NVML does not answer for %s", bus);
		nv.MemoryInfo = NULL;
		return false;
	}
	return true;        /* kept open for the life of the worker */
}

static bool nvml_used(uint64_t *used)
{
	struct nvml_memory m;

	if (!nv.MemoryInfo || nv.MemoryInfo(nv.dev, &m))
		return false;
	*used = m.total - m.free;
	return true;
}

/* The context's limits, as dom0 fixed them (0: CUDA's default). */
static uint64_t lim_heap, lim_printf, lim_stack;

static CUresult set_limits(struct cw_hello *h, const char **step)
{
	static const struct {
		CUlimit l;
		const char *name;
	} lims[3] = {
		{ CU_LIMIT_MALLOC_HEAP_SIZE, "cuCtxSetLimit(MALLOC_HEAP_SIZE)" },
		{ CU_LIMIT_PRINTF_FIFO_SIZE, "cuCtxSetLimit(PRINTF_FIFO_SIZE)" },
		{ CU_LIMIT_STACK_SIZE, "cuCtxSetLimit(STACK_SIZE)" },
	};
	uint64_t want[3] = { lim_heap, lim_printf, lim_stack };
	uint64_t *got[3] = { &h->lim_heap, &h->lim_printf, &h->lim_stack };
	CUresult cr;

	for (int i = 0; i < 3; i++) {
		size_t v = 0;

		*step = lims[i].name;
		if (want[i]) {
			cr = cu.CtxSetLimit(lims[i].l, (size_t)want[i]);
			if (cr)
				return cr;
		}
		cr = cu.CtxGetLimit(&v, lims[i].l);
		if (cr)
			return cr;
		*got[i] = v;
	}
	return CUDA_SUCCESS;
}

/* One launch and its end: the driver reserves local memory now. */
static CUresult first_launch(void)
{
	CUdeviceptr a = va_buf;
	uint32_t zero = 0;
	void *params[] = { &a, &a, &a, &zero };
	CUevent ev;
	CUresult cr;

	cr = cu.LaunchKernel(va_fn, 1, 1, 1, 32, 1, 1, 0, va_ws->s, params, NULL);
	if (cr)
		return cr;
	cr = cu.EventCreate(&ev, CU_EVENT_DISABLE_TIMING);
	if (cr)
		return cr;
	cr = cu.EventRecord(ev, va_ws->s);
	if (!cr)
		cr = cu.EventSynchronize(ev);
	cu.EventDestroy(ev);
	return cr;
}

static int worker_init(int device, int memfd, struct cw_hello *h)
{
	CUdevice dev;
	CUmodule va_mod;
	CUresult cr;
	int count = 0, v;
	size_t fr, tot;
	const char *step;
	char *why = h->why;
	size_t wl = sizeof(h->why);
	uint64_t used0 = 0, used1 = 0;
	bool measure;
	int rc;

	rc = load_driver(why, wl);
	if (rc)
		return rc;
	step = "cuInit";
	cr = cu.Init(0);
	if (cr)
		goto cuda_fail;
	cu.DriverGetVersion(&v);
	h->driver_version = (uint32_t)v;
	step = "cuDeviceGetCount";
	cr = cu.DeviceGetCount(&count);
	if (cr)
		goto cuda_fail;
	if (count == 0) {
		snprintf(why, wl, "no CUDA device");
		return -ENODEV;
	}
	if (device < 0 || device >= count) {
		snprintf(why, wl, "no CUDA device %d (this machine has %d)", device, count);
		return -ENODEV;
	}
	step = "cuDeviceGet";
	cr = cu.DeviceGet(&dev, device);
	if (cr)
		goto cuda_fail;
	measure = nvml_open(dev, h->overhead_why, sizeof(h->overhead_why)) &&
		  nvml_used(&used0);
	step = "cuCtxCreate";
	cr = cu.CtxCreate4 ? cu.CtxCreate4(&cuctx, NULL, 0, dev)
			   : cu.CtxCreate2(&cuctx, 0, dev);
	if (cr)
		goto cuda_fail;
	cr = set_limits(h, &step);
	if (cr)
		goto cuda_fail;
	cu.DeviceGetName(h->name, sizeof(h->name) - 1, dev);
	cu.DeviceTotalMem(&tot, dev);
	h->total_mem = tot;
	cu.DeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev);
	h->cc_major = (uint32_t)v;
	cu.DeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev);
	h->cc_minor = (uint32_t)v;
	cu.DeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev);
	h->sm_count = (uint32_t)v;
	dev_sm = h->cc_major * 10 + h->cc_minor;
	cu.DeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR, dev);
	h->resident_threads = (uint64_t)(v > 0 ? v : 0) * h->sm_count;
	h->param_info = cu.FuncGetParamInfo != NULL;
	step = "cuCtxGetStreamPriorityRange";
	cr = cu.CtxGetStreamPriorityRange(&prio_least, &prio_greatest);
	if (cr)
		goto cuda_fail;
	h->prio_least = prio_least;
	h->prio_greatest = prio_greatest;
	snapshot(dev, device, h);
	h->dev.stream_priority_least = prio_least;
	h->dev.stream_priority_greatest = prio_greatest;

	arena = mmap(NULL, arena_size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (arena == MAP_FAILED) {
		snprintf(why, wl, "cannot map the staging arena: %s", strerror(errno));
		return -errno;
	}
	/* pinned: DMA straight from and to the arena */
	step = "cuMemHostRegister(arena)";
	cr = cu.MemHostRegister(arena, arena_size, CU_MEMHOSTREGISTER_PORTABLE);
	if (cr)
		goto cuda_fail;
	step = "cuModuleLoadDataEx(vector_add)";
	cr = cu.ModuleLoadDataEx(&va_mod, vgpu_vector_add_ptx, 0, NULL, NULL);
	if (cr)
		goto cuda_fail;
	step = "cuModuleGetFunction(vector_add)";
	cr = cu.ModuleGetFunction(&va_fn, va_mod, "vgpu_vector_add");
	if (cr)
		goto cuda_fail;
	step = "cuMemAlloc(vector_add buffer)";
	cr = cu.MemAlloc(&va_buf, 12ull * VGPUIF_MAX_VECTOR_ADD_ELEMS);
	if (cr)
		goto cuda_fail;
	step = "cuStreamCreateWithPriority";
	rc = stream_new(NULL, false, 0, &va_ws);
	if (rc) {
		snprintf(why, wl, "%s: %s", step, vgpuif_status_str(rc));
		return -EIO;
	}
	step = "the first launch";
	cr = first_launch();
	if (cr)
		goto cuda_fail;
	if (measure && nvml_used(&used1)) {
		h->ctx_overhead = used1 > used0 ? used1 - used0 : 0;
		h->overhead_measured = 1;
	} else {
		/* what the limits and the built-in kernel's buffer reserve */
		h->ctx_overhead = h->lim_heap + h->lim_printf +
				  h->lim_stack * h->resident_threads +
				  12ull * VGPUIF_MAX_VECTOR_ADD_ELEMS;
	}
	cu.MemGetInfo(&fr, &tot);
	h->free_mem = fr;
	return 0;

cuda_fail:
	snprintf(why, wl, "%s: %s (%d)", step, errname(cr), (int)cr);
	return cr == CUDA_ERROR_NO_DEVICE ? -ENODEV :
	       cr == CUDA_ERROR_OUT_OF_MEMORY ? -ENOMEM : -EIO;
}

static uint64_t env_u64(const char *name, uint64_t dflt)
{
	const char *s = getenv(name);
	unsigned long long v;

	if (s && sscanf(s, "%llu", &v) == 1)
		return v;
	return dflt;
}

static uint64_t env_us(const char *name, uint64_t dflt_ns)
{
	return env_u64(name, dflt_ns / 1000ull) * 1000ull;
}

/* A descriptor that came with a command is the command's only. */
static void rx_close(void)
{
	if (rx_fd >= 0)
		close(rx_fd);
	rx_fd = -1;
}

int vgpu_exec_cuda_worker_main(const char *spec)
{
	static struct {
		struct cw_cmd c;
		unsigned char data[CW_MAX_INLINE];
	} m;
	struct cw_hello h;
	int memfd, device;
	unsigned long long size, heap, printf_fifo, stack;

	memset(&h, 0, sizeof(h));
	h.pid = (uint32_t)getpid();
	/* "exe" otherwise (/proc/self/exe): say what this process is. */
	prctl(PR_SET_NAME, "cuda-worker", 0, 0, 0);
	if (sscanf(spec, CW_SPEC_FMT, &sock, &memfd, &size, &device,
		   &heap, &printf_fifo, &stack) != 7)
		return 2;
	lim_heap = heap;
	lim_printf = printf_fifo;
	lim_stack = stack;
	arena_size = (size_t)size;
	spin_ns = env_us("VGPU_EXEC_SPIN_US", spin_ns);
	slice_bytes = env_u64("VGPU_EXEC_SLICE_KB", slice_bytes >> 10) << 10;
	yield_ignored = env_u64("VGPU_EXEC_YIELD", 1) == 0;
	wait_spin_ns = env_us("VGPU_EXEC_WAIT_SPIN_US", wait_spin_ns);
	/*
	 * No PR_SET_PDEATHSIG (it fires when the forking thread ends, not the
	 * process): the executor's end closes the socket, and EOF ends us.
	 */

	h.status = worker_init(device, memfd, &h);
	if (cw_send(sock, &h, sizeof(h), NULL, 0, 0) || h.status)
		return 1;
	pthread_mutex_lock(&q_lock);
	spawn_waiter();
	pthread_mutex_unlock(&q_lock);
	if (!n_threads)
		return 1;

	for (;;) {
		ssize_t n;
		uint64_t t = now_ns();

		do {
			n = cw_recv_fd(sock, &m, sizeof(m), MSG_DONTWAIT, &rx_fd);
		} while ((n == -EAGAIN || n == -EINTR) && now_ns() - t < spin_ns &&
			 !__atomic_load_n(&yielding, __ATOMIC_RELAXED));
		if (n == -EAGAIN)
			n = cw_recv_fd(sock, &m, sizeof(m), 0, &rx_fd);
		if (n == -EINTR)
			continue;
		if (n <= 0)
			return 0;       /* the executor closed: the driver cleans up */
		if ((size_t)n != sizeof(m.c) + m.c.inline_len)
			return 2;
		do_cmd(&m.c, m.data);
		rx_close();
		/* the rest of the burst, without waiting; then queue it */
		for (int k = 1; k < 64; k++) {
			n = cw_recv_fd(sock, &m, sizeof(m), MSG_DONTWAIT, &rx_fd);
			if (n <= 0)
				break;
			if ((size_t)n != sizeof(m.c) + m.c.inline_len)
				return 2;
			do_cmd(&m.c, m.data);
			rx_close();
		}
		if (n == 0)
			return 0;
		flush();
	}
}

/* Runs before main() in every program that links the cuda executor. */
__attribute__((constructor)) static void cw_constructor(void)
{
	const char *spec = getenv(CW_ENV);

	if (spec)
		_exit(vgpu_exec_cuda_worker_main(spec));
}
