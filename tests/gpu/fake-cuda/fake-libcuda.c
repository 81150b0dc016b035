/* SPDX-License-Identifier: MIT */
/*
 * fake-libcuda.c - a stand-in libcuda.so.1 for machines without a GPU: the
 * part of NVIDIA's driver API that the cuda executor's GPU worker calls,
 * executed on the CPU, so that the executor and its worker (process
 * hand-off, per-stream completion, legacy default-stream ordering, events,
 * waits, faults, restarts) run in CI. It is not a GPU: kernels are known by
 * name (the guest kernels of tests/gpu/gpu-kernels*.h) and run as C; PTX is
 * only scanned for its entry points, parameter lists, globals and local
 * arrays. The linker (cuLink*) turns PTX into a small cubin-shaped ELF
 * whose sections say what the module holds (.text.<kernel>, .nv.global,
 * .nv.constant0) and which carries the PTX text itself (.fake.ptx), which
 * is what cuModuleLoadData loads from such an image. Local memory is
 * modelled as the driver reserves it: the stack limit (cuCtxSetLimit, or
 * the largest kernel frame launched) for every thread the device holds at
 * once, counted in cuMemGetInfo, never shrunk.
 *
 * Semantics follow NVIDIA's documentation of each call: every stream is a
 * thread that runs its work in order; an event record completes when its
 * stream reaches it; cuStreamWaitEvent waits for the record current when
 * it was called; a kernel that writes outside every allocation poisons the
 * context (CUDA_ERROR_ILLEGAL_ADDRESS from then on, from every call).
 *
 * Self-contained on purpose (no cuda.h): it declares what it implements,
 * by the versioned names the driver exports. FAKE_CUDA_LOG=1 traces calls.
 */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;
typedef struct fctx *CUcontext;
typedef struct fstream *CUstream;
typedef struct fevent *CUevent;
typedef struct fmod *CUmodule;
typedef struct ffunc *CUfunction;

#define API __attribute__((visibility("default")))

enum {
	FR_OK = 0, FR_INVALID_VALUE = 1, FR_OUT_OF_MEMORY = 2,
	FR_NOT_INITIALIZED = 3, FR_INVALID_DEVICE = 101, FR_INVALID_CONTEXT = 201, FR_INVALID_IMAGE = 200,
	FR_INVALID_PTX = 218, FR_INVALID_HANDLE = 400, FR_NOT_FOUND = 500,
	FR_NOT_READY = 600, FR_ILLEGAL_ADDRESS = 700,
};

#define F_TOTAL_MEM     (8ull << 30)
#define F_EVENT_BLOCKING 0x1u
#define F_EVENT_NO_TIMING 0x2u
#define F_MAX_ATTR      140
#define F_MAX_SHARED_DEFAULT (48 * 1024)
#define F_MAX_SHARED_OPTIN   (227 * 1024)
#define F_SMS           8
#define F_THREADS_PER_SM 2048
#define F_RESIDENT      ((uint64_t)F_SMS * F_THREADS_PER_SM)
#define F_TEXT_BYTES    128             /* code per kernel in a fake cubin */

/* ------------------------------------------------------------- state */

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER; /* everything */
static pthread_cond_t g_cond = PTHREAD_COND_INITIALIZER;   /* any progress */
static bool g_init;
static CUresult g_poison;               /* sticky error of the context */
static uint64_t g_used;
/* cuCtxSetLimit's values: stack, printf FIFO, malloc heap (CUDA's defaults) */
static uint64_t g_limit[3] = { 1024, 1u << 20, 8u << 20 };
static uint64_t g_lmem;                 /* local memory reserved, in g_used */
static struct fctx { int dummy; } g_ctx;

struct falloc {                         /* device memory: host memory */
	unsigned char *p;
	size_t size;
	struct falloc *next;
};
static struct falloc *g_allocs;

struct fevent {
	unsigned int flags;
	uint64_t rec_gen, done_gen;
	uint64_t t_ns;
	bool destroyed;
};

enum task_kind { T_COPY, T_SET, T_KERNEL, T_RECORD, T_WAIT };

struct task {
	enum task_kind kind;
	void *dst;
	const void *src;
	size_t n;
	uint32_t value, esize;          /* T_SET */
	struct ffunc *f;                /* T_KERNEL */
	unsigned char params[4096];
	unsigned int grid, block;
	struct fevent *ev;              /* T_RECORD, T_WAIT */
	uint64_t gen;
	struct task *next;
};

struct fstream {
	pthread_t th;
	struct task *head, *tail;
	unsigned int busy;              /* tasks queued or running */
	bool destroyed;
};

struct fparam { uint32_t off, size; };

struct ffunc {
	char name[256];
	uint32_t local_bytes;           /* its .local arrays, per thread */
	unsigned int nparams;
	struct fparam param[64];
	uint32_t param_bytes;
	int max_dyn_shared, carveout, cache;
	struct fmod *mod;
	struct ffunc *next;
};

struct fglobal {
	char name[256];
	struct falloc *mem;             /* NULL in a module only scanned */
	size_t size;
	bool is_const;
	struct fglobal *next;
};

struct fmod {
	struct ffunc *funcs;
	struct fglobal *globals;
};

static void trace(const char *fmt, ...)
{
	static int on = -1;
	va_list ap;

	if (on < 0) {
		const char *e = getenv("FAKE_CUDA_LOG");

		on = e && *e == '1';
	}
	if (!on)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "fake-cuda[%d]: ", (int)getpid());
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Locked. The first call after poison answers it; so do all later ones. */
static CUresult check(void)
{
	if (!g_init)
		return FR_NOT_INITIALIZED;
	return g_poison;
}

#define ENTER() CUresult _r; pthread_mutex_lock(&g_lock); _r = check(); \
	if (_r) { pthread_mutex_unlock(&g_lock); return _r; }
#define LEAVE(r) do { CUresult r_ = (r); pthread_mutex_unlock(&g_lock); \
	return r_; } while (0)

/* Locked. Is [p, p + n) inside one allocation? */
static bool dev_range(const void *p, size_t n)
{
	for (struct falloc *a = g_allocs; a; a = a->next)
		if ((const unsigned char *)p >= a->p &&
		    (const unsigned char *)p + n <= a->p + a->size)
			return true;
	return false;
}

/* ------------------------------------------------------------ kernels */

static void poison(CUresult r)
{
	pthread_mutex_lock(&g_lock);
	if (!g_poison)
		g_poison = r;
	pthread_cond_broadcast(&g_cond);
	pthread_mutex_unlock(&g_lock);
}

static uint64_t p64(const struct task *t, unsigned int i)
{
	uint64_t v = 0;

	if (i < t->f->nparams)
		memcpy(&v, t->params + t->f->param[i].off,
		       t->f->param[i].size < 8 ? t->f->param[i].size : 8);
	return v;
}

static uint32_t p32(const struct task *t, unsigned int i)
{
	return (uint32_t)p64(t, i);
}

static float pf(const struct task *t, unsigned int i)
{
	uint32_t b = p32(t, i);
	float f;

	memcpy(&f, &b, 4);
	return f;
}

/* A device pointer a kernel touches; false (and the context poisoned) if
 * it lies outside every allocation. */
static bool kptr(uint64_t p, size_t n)
{
	bool ok;

	pthread_mutex_lock(&g_lock);
	ok = dev_range((void *)(uintptr_t)p, n);
	pthread_mutex_unlock(&g_lock);
	if (!ok)
		poison(FR_ILLEGAL_ADDRESS);
	return ok;
}

static struct fglobal *global_of(struct fmod *m, const char *name)
{
	for (struct fglobal *g = m->globals; g; g = g->next)
		if (!strcmp(g->name, name))
			return g;
	return NULL;
}

static void run_kernel(const struct task *t)
{
	const char *k = t->f->name;
	uint64_t threads = (uint64_t)t->grid * t->block;

	if (!strcmp(k, "vgpu_vector_add")) {
		uint32_t n = p32(t, 3);
		float *a = (float *)(uintptr_t)p64(t, 0);
		float *b = (float *)(uintptr_t)p64(t, 1);
		float *c = (float *)(uintptr_t)p64(t, 2);

		if (!kptr(p64(t, 0), 4ull * n) || !kptr(p64(t, 1), 4ull * n) ||
		    !kptr(p64(t, 2), 4ull * n))
			return;
		for (uint32_t i = 0; i < n && i < threads; i++)
			c[i] = a[i] + b[i];
	} else if (!strcmp(k, "vt_saxpy")) {
		uint32_t n = p32(t, 3);
		float *y = (float *)(uintptr_t)p64(t, 0);
		const float *x = (const float *)(uintptr_t)p64(t, 1);
		float a = pf(t, 2);

		if (!kptr(p64(t, 0), 4ull * n) || !kptr(p64(t, 1), 4ull * n))
			return;
		for (uint32_t i = 0; i < n && i < threads; i++)
			y[i] = a * x[i] + y[i];
	} else if (!strcmp(k, "vt_fault")) {
		if (kptr(p64(t, 0), 4))
			*(volatile int *)(uintptr_t)p64(t, 0) = 1;
	} else if (!strcmp(k, "vt_spin")) {
		/* clock64 cycles at a nominal 2 GHz */
		uint64_t end = now_ns() + p64(t, 0) / 2;

		while (now_ns() < end) {
			pthread_mutex_lock(&g_lock);
			if (g_poison) {
				pthread_mutex_unlock(&g_lock);
				return;
			}
			pthread_mutex_unlock(&g_lock);
			usleep(200);
		}
	} else if (!strcmp(k, "vt_gate")) {
		volatile uint32_t *flag = (volatile uint32_t *)(uintptr_t)p64(t, 0);

		if (!kptr(p64(t, 0), 4))
			return;
		while (!__atomic_load_n(flag, __ATOMIC_ACQUIRE))
			usleep(100);
	} else if (!strcmp(k, "vt_fill")) {
		uint32_t *p = (uint32_t *)(uintptr_t)p64(t, 0);
		uint32_t v = p32(t, 1), n = p32(t, 2);

		if (!kptr(p64(t, 0), 4ull * n))
			return;
		for (uint32_t i = 0; i < n && i < threads; i++)
			p[i] = v;
	} else if (!strcmp(k, "vt_global_rw")) {
		/* out[0] = vt_counter++; out[1] = vt_table word 1 */
		struct fglobal *c = global_of(t->f->mod, "vt_counter");
		struct fglobal *tb = global_of(t->f->mod, "vt_table");
		uint32_t *out = (uint32_t *)(uintptr_t)p64(t, 0);
		uint32_t *cv, *tv;

		if (!c || !tb || !kptr(p64(t, 0), 8))
			return;
		cv = (uint32_t *)c->mem->p;
		tv = (uint32_t *)tb->mem->p;
		out[0] = *cv;
		*cv += 1;
		out[1] = tv[1];
	}
	/* vt_empty and unknown kernels: nothing */
}

/* ------------------------------------------------------------ streams */

static void *stream_thread(void *arg)
{
	struct fstream *s = arg;

	pthread_mutex_lock(&g_lock);
	for (;;) {
		struct task *t;

		while (!s->head && !s->destroyed)
			pthread_cond_wait(&g_cond, &g_lock);
		if (!s->head)
			break;
		t = s->head;
		if (t->kind == T_WAIT) {
			/* the record current when the wait was queued */
			while (t->ev->done_gen < t->gen && !g_poison)
				pthread_cond_wait(&g_cond, &g_lock);
		}
		pthread_mutex_unlock(&g_lock);
		if (!g_poison) {
			switch (t->kind) {
			case T_COPY:
				memmove(t->dst, t->src, t->n);
				break;
			case T_SET:
				for (size_t i = 0; i < t->n; i++)
					memcpy((unsigned char *)t->dst + i * t->esize,
					       &t->value, t->esize);
				break;
			case T_KERNEL:
				run_kernel(t);
				break;
			default:
				break;
			}
		}
		pthread_mutex_lock(&g_lock);
		if (t->kind == T_RECORD && t->ev->done_gen < t->gen) {
			t->ev->done_gen = t->gen;
			t->ev->t_ns = now_ns();
		}
		s->head = t->next;
		if (!s->head)
			s->tail = NULL;
		s->busy--;
		free(t);
		pthread_cond_broadcast(&g_cond);
	}
	pthread_mutex_unlock(&g_lock);
	free(s);
	return NULL;
}

/* Locked. */
static void push(struct fstream *s, struct task *t)
{
	t->next = NULL;
	if (s->tail)
		s->tail->next = t;
	else
		s->head = t;
	s->tail = t;
	s->busy++;
	pthread_cond_broadcast(&g_cond);
}

static struct task *task_new(enum task_kind k)
{
	struct task *t = calloc(1, sizeof(*t));

	if (t)
		t->kind = k;
	return t;
}

/* ------------------------------------------------- the API: device */

API CUresult cuInit(unsigned int flags)
{
	if (flags)
		return FR_INVALID_VALUE;
	pthread_mutex_lock(&g_lock);
	g_init = true;
	pthread_mutex_unlock(&g_lock);
	return FR_OK;
}

API CUresult cuDriverGetVersion(int *v)
{
	if (!v)
		return FR_INVALID_VALUE;
	*v = 13000;
	return FR_OK;
}

API CUresult cuDeviceGetCount(int *n)
{
	ENTER();
	*n = 1;
	LEAVE(FR_OK);
}

API CUresult cuDeviceGet(CUdevice *d, int ordinal)
{
	ENTER();
	if (ordinal != 0)
		LEAVE(FR_INVALID_DEVICE);
	*d = 0;
	LEAVE(FR_OK);
}

API CUresult cuDeviceGetName(char *name, int len, CUdevice d)
{
	ENTER();
	if (d != 0 || !name || len <= 0)
		LEAVE(FR_INVALID_VALUE);
	snprintf(name, (size_t)len, "vgpu fake GPU (CPU, no CUDA)");
	LEAVE(FR_OK);
}

API CUresult cuDeviceTotalMem_v2(size_t *b, CUdevice d)
{
	ENTER();
	if (d != 0 || !b)
		LEAVE(FR_INVALID_VALUE);
	*b = F_TOTAL_MEM;
	LEAVE(FR_OK);
}

API CUresult cuDeviceGetUuid_v2(unsigned char *uuid, CUdevice d)
{
	ENTER();
	if (d != 0 || !uuid)
		LEAVE(FR_INVALID_VALUE);
	for (int i = 0; i < 16; i++)
		uuid[i] = (unsigned char)(0xf0 + i);
	LEAVE(FR_OK);
}

/* CUdevice_attribute values (NVIDIA's documentation) a program reads. */
API CUresult cuDeviceGetAttribute(int *v, int attr, CUdevice d)
{
	ENTER();
	if (d != 0 || !v || attr <= 0 || attr >= F_MAX_ATTR)
		LEAVE(FR_INVALID_VALUE);
	switch (attr) {
	case 1: case 2: case 3: *v = 1024; break;       /* threads, block x y */
	case 4: *v = 64; break;                         /* block z */
	case 5: *v = 0x7fffffff; break;                 /* grid x */
	case 6: case 7: *v = 65535; break;              /* grid y z */
	case 8: *v = F_MAX_SHARED_DEFAULT; break;
	case 10: *v = 32; break;                        /* warp */
	case 16: *v = F_SMS; break;                     /* SMs */
	case 39: *v = F_THREADS_PER_SM; break;          /* threads per SM */
	case 75: *v = 9; break;                         /* cc major */
	case 76: *v = 0; break;                         /* cc minor */
	case 78: *v = 1; break;                         /* stream priorities */
	case 97: *v = F_MAX_SHARED_OPTIN; break;
	default: *v = attr * 7 + 3; break;              /* something stable */
	}
	LEAVE(FR_OK);
}

/* ----------------------------------------------- the API: context */

static CUresult ctx_create(CUcontext *c, CUdevice d)
{
	ENTER();
	if (!c || d != 0)
		LEAVE(FR_INVALID_VALUE);
	*c = &g_ctx;
	LEAVE(FR_OK);
}

API CUresult cuCtxCreate_v4(CUcontext *c, void *params, unsigned int flags, CUdevice d)
{
	(void)params; (void)flags;
	return ctx_create(c, d);
}

API CUresult cuCtxCreate_v2(CUcontext *c, unsigned int flags, CUdevice d)
{
	(void)flags;
	return ctx_create(c, d);
}

API CUresult cuCtxDestroy_v2(CUcontext c)
{
	return c == &g_ctx ? FR_OK : FR_INVALID_CONTEXT;
}

API CUresult cuCtxSetCurrent(CUcontext c)
{
	(void)c;
	return FR_OK;
}

API CUresult cuCtxGetStreamPriorityRange(int *least, int *greatest)
{
	ENTER();
	if (least)
		*least = 0;
	if (greatest)
		*greatest = -5;
	LEAVE(FR_OK);
}

/* CU_LIMIT_STACK_SIZE 0, PRINTF_FIFO_SIZE 1, MALLOC_HEAP_SIZE 2 */
API CUresult cuCtxSetLimit(int limit, size_t v)
{
	ENTER();
	if (limit < 0 || limit > 2 || (limit == 0 && v > 512 * 1024))
		LEAVE(FR_INVALID_VALUE);
	g_limit[limit] = v;
	LEAVE(FR_OK);
}

API CUresult cuCtxGetLimit(size_t *v, int limit)
{
	ENTER();
	if (!v || limit < 0 || limit > 2)
		LEAVE(FR_INVALID_VALUE);
	*v = (size_t)g_limit[limit];
	LEAVE(FR_OK);
}

API CUresult cuGetErrorName(CUresult r, const char **s)
{
	static const struct { CUresult r; const char *n; } names[] = {
		{ FR_OK, "CUDA_SUCCESS" }, { FR_INVALID_VALUE, "CUDA_ERROR_INVALID_VALUE" },
		{ FR_OUT_OF_MEMORY, "CUDA_ERROR_OUT_OF_MEMORY" },
		{ FR_NOT_INITIALIZED, "CUDA_ERROR_NOT_INITIALIZED" },
		{ FR_INVALID_IMAGE, "CUDA_ERROR_INVALID_IMAGE" },
		{ FR_INVALID_PTX, "CUDA_ERROR_INVALID_PTX" },
		{ FR_INVALID_HANDLE, "CUDA_ERROR_INVALID_HANDLE" },
		{ FR_NOT_FOUND, "CUDA_ERROR_NOT_FOUND" },
		{ FR_NOT_READY, "CUDA_ERROR_NOT_READY" },
		{ FR_ILLEGAL_ADDRESS, "CUDA_ERROR_ILLEGAL_ADDRESS" },
	};

	if (!s)
		return FR_INVALID_VALUE;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].r == r) {
			*s = names[i].n;
			return FR_OK;
		}
	*s = NULL;
	return FR_INVALID_VALUE;
}

/* ------------------------------------------------ the API: memory */

API CUresult cuMemGetInfo_v2(size_t *fr, size_t *tot)
{
	ENTER();
	if (fr)
		*fr = (size_t)(F_TOTAL_MEM - g_used);
	if (tot)
		*tot = (size_t)F_TOTAL_MEM;
	LEAVE(FR_OK);
}

static struct falloc *alloc_locked(size_t n)
{
	struct falloc *a;

	if (!n || g_used + n > F_TOTAL_MEM)
		return NULL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->p = calloc(1, n);
	if (!a->p) {
		free(a);
		return NULL;
	}
	a->size = n;
	a->next = g_allocs;
	g_allocs = a;
	g_used += n;
	return a;
}

API CUresult cuMemAlloc_v2(CUdeviceptr *p, size_t n)
{
	struct falloc *a;

	ENTER();
	if (!p || !n)
		LEAVE(FR_INVALID_VALUE);
	a = alloc_locked(n);
	if (!a)
		LEAVE(FR_OUT_OF_MEMORY);
	*p = (CUdeviceptr)(uintptr_t)a->p;
	trace("cuMemAlloc %zu -> %#llx", n, *p);
	LEAVE(FR_OK);
}

static CUresult free_locked(void *p)
{
	for (struct falloc **pp = &g_allocs; *pp; pp = &(*pp)->next)
		if ((*pp)->p == p) {
			struct falloc *a = *pp;

			*pp = a->next;
			g_used -= a->size;
			free(a->p);
			free(a);
			return FR_OK;
		}
	return FR_INVALID_VALUE;
}

API CUresult cuMemFree_v2(CUdeviceptr p)
{
	ENTER();
	LEAVE(free_locked((void *)(uintptr_t)p));
}

API CUresult cuMemHostRegister_v2(void *p, size_t n, unsigned int flags)
{
	(void)flags;
	if (!p || !n)
		return FR_INVALID_VALUE;
	return FR_OK;
}

static CUresult copy_async(void *dst, const void *src, size_t n, CUstream s,
			   bool dst_dev, bool src_dev)
{
	struct task *t;

	ENTER();
	if (!s || s->destroyed || (dst_dev && !dev_range(dst, n)) ||
	    (src_dev && !dev_range(src, n)))
		LEAVE(FR_INVALID_VALUE);
	t = task_new(T_COPY);
	if (!t)
		LEAVE(FR_OUT_OF_MEMORY);
	t->dst = dst;
	t->src = src;
	t->n = n;
	push(s, t);
	LEAVE(FR_OK);
}

API CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr d, const void *h, size_t n, CUstream s)
{
	return copy_async((void *)(uintptr_t)d, h, n, s, true, false);
}

API CUresult cuMemcpyDtoHAsync_v2(void *h, CUdeviceptr d, size_t n, CUstream s)
{
	return copy_async(h, (void *)(uintptr_t)d, n, s, false, true);
}

API CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr d, CUdeviceptr src, size_t n, CUstream s)
{
	return copy_async((void *)(uintptr_t)d, (void *)(uintptr_t)src, n, s,
			  true, true);
}

static CUresult set_async(CUdeviceptr d, uint32_t v, uint32_t es, size_t n,
			  CUstream s)
{
	struct task *t;

	ENTER();
	if (!s || s->destroyed || !dev_range((void *)(uintptr_t)d, n * es))
		LEAVE(FR_INVALID_VALUE);
	t = task_new(T_SET);
	if (!t)
		LEAVE(FR_OUT_OF_MEMORY);
	t->dst = (void *)(uintptr_t)d;
	t->value = v;
	t->esize = es;
	t->n = n;
	push(s, t);
	LEAVE(FR_OK);
}

API CUresult cuMemsetD8Async(CUdeviceptr d, unsigned char v, size_t n, CUstream s)
{
	return set_async(d, v, 1, n, s);
}

API CUresult cuMemsetD16Async(CUdeviceptr d, unsigned short v, size_t n, CUstream s)
{
	return set_async(d, v, 2, n, s);
}

API CUresult cuMemsetD32Async(CUdeviceptr d, unsigned int v, size_t n, CUstream s)
{
	return set_async(d, v, 4, n, s);
}

/* ------------------------------------------- the API: streams, events */

API CUresult cuStreamCreateWithPriority(CUstream *out, unsigned int flags, int prio)
{
	struct fstream *s;

	ENTER();
	if (!out || flags > 1)
		LEAVE(FR_INVALID_VALUE);
	(void)prio;
	s = calloc(1, sizeof(*s));
	if (!s)
		LEAVE(FR_OUT_OF_MEMORY);
	if (pthread_create(&s->th, NULL, stream_thread, s)) {
		free(s);
		LEAVE(FR_OUT_OF_MEMORY);
	}
	pthread_detach(s->th);
	*out = s;
	LEAVE(FR_OK);
}

/* The driver frees it once its work is done; so does its thread. */
API CUresult cuStreamDestroy_v2(CUstream s)
{
	ENTER();
	if (!s || s->destroyed)
		LEAVE(FR_INVALID_HANDLE);
	s->destroyed = true;
	pthread_cond_broadcast(&g_cond);
	LEAVE(FR_OK);
}

API CUresult cuStreamWaitEvent(CUstream s, CUevent e, unsigned int flags)
{
	struct task *t;

	ENTER();
	if (!s || s->destroyed || !e || e->destroyed || flags)
		LEAVE(FR_INVALID_HANDLE);
	if (!e->rec_gen)
		LEAVE(FR_OK);    /* never recorded: nothing to wait for */
	t = task_new(T_WAIT);
	if (!t)
		LEAVE(FR_OUT_OF_MEMORY);
	t->ev = e;
	t->gen = e->rec_gen;
	push(s, t);
	LEAVE(FR_OK);
}

API CUresult cuEventCreate(CUevent *out, unsigned int flags)
{
	struct fevent *e;

	ENTER();
	if (!out || (flags & ~3u))
		LEAVE(FR_INVALID_VALUE);
	e = calloc(1, sizeof(*e));
	if (!e)
		LEAVE(FR_OUT_OF_MEMORY);
	e->flags = flags;
	*out = e;
	LEAVE(FR_OK);
}

/* Kept (never freed): a queued record or wait may still name it. */
API CUresult cuEventDestroy_v2(CUevent e)
{
	ENTER();
	if (!e || e->destroyed)
		LEAVE(FR_INVALID_HANDLE);
	e->destroyed = true;
	LEAVE(FR_OK);
}

API CUresult cuEventRecord(CUevent e, CUstream s)
{
	struct task *t;

	ENTER();
	if (!e || e->destroyed || !s || s->destroyed)
		LEAVE(FR_INVALID_HANDLE);
	t = task_new(T_RECORD);
	if (!t)
		LEAVE(FR_OUT_OF_MEMORY);
	t->ev = e;
	t->gen = ++e->rec_gen;
	push(s, t);
	LEAVE(FR_OK);
}

API CUresult cuEventQuery(CUevent e)
{
	ENTER();
	if (!e || e->destroyed)
		LEAVE(FR_INVALID_HANDLE);
	LEAVE(e->done_gen >= e->rec_gen ? FR_OK : FR_NOT_READY);
}

API CUresult cuEventSynchronize(CUevent e)
{
	ENTER();
	if (!e || e->destroyed)
		LEAVE(FR_INVALID_HANDLE);
	while (e->done_gen < e->rec_gen && !g_poison)
		pthread_cond_wait(&g_cond, &g_lock);
	LEAVE(g_poison);
}

static CUresult elapsed(float *ms, CUevent a, CUevent b)
{
	ENTER();
	if (!ms || !a || !b || a->destroyed || b->destroyed)
		LEAVE(FR_INVALID_HANDLE);
	if (!a->rec_gen || !b->rec_gen ||
	    ((a->flags | b->flags) & F_EVENT_NO_TIMING))
		LEAVE(FR_INVALID_HANDLE);
	if (a->done_gen < a->rec_gen || b->done_gen < b->rec_gen)
		LEAVE(FR_NOT_READY);
	*ms = (float)((double)((int64_t)(b->t_ns - a->t_ns)) / 1e6);
	LEAVE(FR_OK);
}

API CUresult cuEventElapsedTime_v2(float *ms, CUevent a, CUevent b)
{
	return elapsed(ms, a, b);
}

API CUresult cuEventElapsedTime(float *ms, CUevent a, CUevent b)
{
	return elapsed(ms, a, b);
}

/* ------------------------------------------------ the API: modules */

/* Bytes of a PTX scalar type (".u64" ...), 0 if unknown. */
static unsigned int ptx_type_size(const char *t)
{
	if (!strncmp(t, ".u64", 4) || !strncmp(t, ".s64", 4) ||
	    !strncmp(t, ".b64", 4) || !strncmp(t, ".f64", 4))
		return 8;
	if (!strncmp(t, ".u32", 4) || !strncmp(t, ".s32", 4) ||
	    !strncmp(t, ".b32", 4) || !strncmp(t, ".f32", 4))
		return 4;
	if (!strncmp(t, ".u16", 4) || !strncmp(t, ".s16", 4) ||
	    !strncmp(t, ".b16", 4))
		return 2;
	if (!strncmp(t, ".u8", 3) || !strncmp(t, ".s8", 3) || !strncmp(t, ".b8", 3))
		return 1;
	return 0;
}

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

/* ".param .u64 name" or ".param .align N .b8 name[M]": size, alignment. */
static bool ptx_param(const char **pp, uint32_t *size, uint32_t *align)
{
	const char *p = skip_ws(*pp);
	unsigned int es, n = 1, al = 0;

	if (strncmp(p, ".param", 6))
		return false;
	p = skip_ws(p + 6);
	if (!strncmp(p, ".align", 6)) {
		al = (unsigned int)strtoul(p + 6, (char **)&p, 10);
		p = skip_ws(p);
	}
	es = ptx_type_size(p);
	if (!es)
		return false;
	while (*p && *p != ',' && *p != ')' && *p != '[')
		p++;
	if (*p == '[') {
		n = (unsigned int)strtoul(p + 1, (char **)&p, 10);
		while (*p && *p != ',' && *p != ')')
			p++;
	}
	*size = es * n;
	*align = al ? al : es;
	*pp = p;
	return true;
}

static void mod_free(struct fmod *m)
{
	while (m->funcs) {
		struct ffunc *f = m->funcs;

		m->funcs = f->next;
		free(f);
	}
	while (m->globals) {
		struct fglobal *g = m->globals;

		m->globals = g->next;
		if (g->mem)
			free_locked(g->mem->p);
		free(g);
	}
	free(m);
}

/*
 * A declaration's "[.align N] .type name[count]" at q: its bytes (0 if it
 * is not one), its name into name (may be NULL).
 */
static size_t decl_bytes(const char *q, char *name, size_t cap)
{
	unsigned long cnt = 1;
	unsigned int es;
	size_t n = 0;

	q = skip_ws(q);
	if (!strncmp(q, ".align", 6)) {
		strtoul(q + 6, (char **)&q, 10);
		q = skip_ws(q);
	}
	es = ptx_type_size(q);
	if (!es)
		return 0;
	while (*q && *q != ' ' && *q != '\t')
		q++;
	q = skip_ws(q);
	while (*q && *q != ';' && *q != '[' && *q != ' ') {
		if (name && n < cap - 1)
			name[n++] = *q;
		q++;
	}
	if (name)
		name[n] = '\0';
	if (*q == '[')
		cnt = strtoul(q + 1, NULL, 10);
	return (size_t)es * (cnt ? cnt : 1);
}

/* A directive kw at p that starts a line (not an instruction's suffix). */
static bool directive_at(const char *text, const char *p, const char *kw)
{
	size_t n = strlen(kw);

	return (p == text || p[-1] == '\n' || p[-1] == '\t' || p[-1] == ' ') &&
	       (p[n] == ' ' || p[n] == '\t');
}

/*
 * Locked. Scan PTX for entries (parameters, .local bytes) and globals;
 * scan_only: the globals get no memory (the linker's look).
 */
static CUresult ptx_load(struct fmod *m, const char *ptx, bool scan_only,
			 char *err, size_t errlen)
{
	const char *p;

	if (strstr(ptx, "this_is_not_an_instruction")) {
		snprintf(err, errlen, "ptxas application ptx input, line 5; error   : "
			 "Unknown instruction 'this_is_not_an_instruction' (fake driver)");
		return FR_INVALID_PTX;
	}
	if (!strstr(ptx, ".version") || !strstr(ptx, ".target")) {
		snprintf(err, errlen, "not PTX (fake driver loads PTX text only)");
		return FR_INVALID_PTX;
	}
	for (p = ptx; (p = strstr(p, ".entry")); ) {
		struct ffunc *f = calloc(1, sizeof(*f));
		const char *end, *l;
		size_t n = 0;
		uint32_t off = 0;

		if (!f)
			return FR_OUT_OF_MEMORY;
		p = skip_ws(p + 6);
		while (*p && *p != '(' && *p != ' ' && *p != '\n' && n < sizeof(f->name) - 1)
			f->name[n++] = *p++;
		p = strchr(p, '(');
		if (!p) {
			free(f);
			break;
		}
		p++;
		for (;;) {
			uint32_t size, align;

			if (!ptx_param(&p, &size, &align))
				break;
			if (f->nparams == 64)
				break;
			off = (off + align - 1) & ~(align - 1);
			f->param[f->nparams].off = off;
			f->param[f->nparams].size = size;
			f->nparams++;
			off += size;
			p = skip_ws(p);
			if (*p == ',')
				p++;
		}
		/* ".local .align 4 .b8 __local_depot0[N];" in its body */
		end = strstr(p, ".entry");
		for (l = p; (l = strstr(l, ".local")) && (!end || l < end); l++)
			if (directive_at(ptx, l, ".local"))
				f->local_bytes += (uint32_t)decl_bytes(l + 6, NULL, 0);
		f->param_bytes = off;
		f->max_dyn_shared = F_MAX_SHARED_DEFAULT;
		f->carveout = -1;
		f->mod = m;
		f->next = m->funcs;
		m->funcs = f;
	}
	/* ".global .align 4 .u32 name;" / ".global .align 4 .b8 name[256];" */
	for (const char *kw = ".global"; kw; kw = strcmp(kw, ".global") ? NULL : ".const") {
		for (p = ptx; (p = strstr(p, kw)); p++) {
			struct fglobal *g;
			size_t bytes;

			if (p > ptx && p[-1] != '\n')
				continue;       /* an instruction's state space */
			g = calloc(1, sizeof(*g));
			if (!g)
				return FR_OUT_OF_MEMORY;
			bytes = decl_bytes(p + strlen(kw), g->name, sizeof(g->name));
			if (!bytes) {
				free(g);
				continue;
			}
			g->size = bytes;
			g->is_const = !strcmp(kw, ".const");
			if (!scan_only) {
				g->mem = alloc_locked(bytes);
				if (!g->mem) {
					free(g);
					return FR_OUT_OF_MEMORY;
				}
			}
			g->next = m->globals;
			m->globals = g;
		}
	}
	return FR_OK;
}

/* ------------------------------------------------- the API: the linker */

struct flink {
	char *ptx;
	char *elog, *ilog;
	size_t elen, ilen;
	unsigned char *elf;
};

static void jit_logs(unsigned int nopt, const int *opt, void **val, char **elog,
		     size_t *elen, char **ilog, size_t *ilen)
{
	for (unsigned int i = 0; i < nopt; i++) {
		switch (opt[i]) {
		case 3: *ilog = val[i]; break;                    /* INFO_LOG_BUFFER */
		case 4: *ilen = (size_t)(uintptr_t)val[i]; break;
		case 5: *elog = val[i]; break;                    /* ERROR_LOG_BUFFER */
		case 6: *elen = (size_t)(uintptr_t)val[i]; break;
		default: break;
		}
	}
}

API CUresult cuLinkCreate_v2(unsigned int nopt, int *opt, void **val, struct flink **out)
{
	struct flink *l;

	ENTER();
	if (!out)
		LEAVE(FR_INVALID_VALUE);
	l = calloc(1, sizeof(*l));
	if (!l)
		LEAVE(FR_OUT_OF_MEMORY);
	jit_logs(nopt, opt, val, &l->elog, &l->elen, &l->ilog, &l->ilen);
	*out = l;
	LEAVE(FR_OK);
}

API CUresult cuLinkAddData_v2(struct flink *l, int type, void *data, size_t size,
			      const char *name, unsigned int nopt, int *opt, void **val)
{
	char err[512] = "";
	struct fmod *m;
	CUresult r;

	(void)name; (void)nopt; (void)opt; (void)val;
	ENTER();
	if (!l || !data || !size || l->ptx)
		LEAVE(FR_INVALID_VALUE);
	if (type != 1) {                                  /* CU_JIT_INPUT_PTX */
		if (l->elog && l->elen)
			snprintf(l->elog, l->elen, "fake linker: PTX input only");
		LEAVE(FR_INVALID_IMAGE);
	}
	l->ptx = strndup(data, size);
	m = calloc(1, sizeof(*m));
	if (!l->ptx || !m) {
		free(m);
		LEAVE(FR_OUT_OF_MEMORY);
	}
	r = ptx_load(m, l->ptx, true, err, sizeof(err));
	mod_free(m);
	if (r && l->elog && l->elen)
		snprintf(l->elog, l->elen, "%s", err);
	LEAVE(r);
}

/* A growing byte buffer, little-endian writes at offsets. */
struct ebuf {
	unsigned char *p;
	size_t n, cap;
};

static size_t eb_add(struct ebuf *b, const void *d, size_t n)
{
	size_t at = b->n;

	if (b->n + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		unsigned char *q;

		while (cap < b->n + n)
			cap *= 2;
		q = realloc(b->p, cap);
		if (!q)
			abort();        /* a test double: no half-made images */
		b->p = q;
		b->cap = cap;
	}
	if (d)
		memcpy(b->p + b->n, d, n);
	else
		memset(b->p + b->n, 0, n);
	b->n += n;
	return at;
}

static void put_le(unsigned char *p, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

struct fsect {
	size_t name;                    /* offset in the name table */
	uint32_t type;
	uint64_t flags, off, size;
};

/* An ELF64 EM_CUDA image of what the module m (scanned from ptx) holds. */
static unsigned char *fake_cubin(const struct fmod *m, const char *ptx, size_t *len)
{
	struct ebuf img = { 0 }, names = { 0 };
	struct fsect sec[64];
	unsigned int ns = 1;            /* [0] is SHN_UNDEF */
	uint64_t gsize = 0, csize = 0;
	size_t shoff;

	memset(sec, 0, sizeof(sec));
	eb_add(&names, "", 1);
	eb_add(&img, NULL, 64);         /* the header, written last */
	sec[ns].name = eb_add(&names, ".shstrtab", 10);
	sec[ns++].type = 3;             /* SHT_STRTAB, body placed below */
	sec[ns].name = eb_add(&names, ".fake.ptx", 10);
	sec[ns].type = 1;               /* SHT_PROGBITS */
	sec[ns].size = strlen(ptx) + 1;
	sec[ns++].off = eb_add(&img, ptx, strlen(ptx) + 1);
	for (const struct fglobal *g = m->globals; g; g = g->next) {
		if (g->is_const)
			csize += g->size;
		else
			gsize += g->size;
	}
	if (gsize) {
		sec[ns].name = eb_add(&names, ".nv.global", 11);
		sec[ns].type = 8;       /* SHT_NOBITS */
		sec[ns].flags = 3;      /* SHF_WRITE | SHF_ALLOC */
		sec[ns++].size = gsize;
	}
	if (csize) {
		sec[ns].name = eb_add(&names, ".nv.constant0", 14);
		sec[ns].type = 1;
		sec[ns].flags = 2;
		sec[ns].size = csize;
		sec[ns++].off = eb_add(&img, NULL, (size_t)csize);
	}
	for (const struct ffunc *f = m->funcs; f && ns < 64; f = f->next) {
		char nm[300];

		snprintf(nm, sizeof(nm), ".text.%s", f->name);
		sec[ns].name = eb_add(&names, nm, strlen(nm) + 1);
		sec[ns].type = 1;
		sec[ns].flags = 6;      /* SHF_ALLOC | SHF_EXECINSTR */
		sec[ns].size = F_TEXT_BYTES;
		sec[ns++].off = eb_add(&img, NULL, F_TEXT_BYTES);
	}
	sec[1].size = names.n;
	sec[1].off = eb_add(&img, names.p, names.n);
	free(names.p);
	while (img.n % 8)
		eb_add(&img, NULL, 1);
	shoff = eb_add(&img, NULL, (size_t)ns * 64);
	for (unsigned int i = 1; i < ns; i++) {
		unsigned char *sh = img.p + shoff + (size_t)i * 64;

		put_le(sh, sec[i].name, 4);
		put_le(sh + 4, sec[i].type, 4);
		put_le(sh + 8, sec[i].flags, 8);
		put_le(sh + 24, sec[i].off, 8);
		put_le(sh + 32, sec[i].size, 8);
		put_le(sh + 48, 1, 8);
	}
	memcpy(img.p, "\177ELF\2\1\1\x33\7", 9); /* 64-bit, LE, CUDA ABI 7 */
	put_le(img.p + 16, 2, 2);       /* ET_EXEC */
	put_le(img.p + 18, 190, 2);     /* EM_CUDA */
	put_le(img.p + 20, 1, 4);
	put_le(img.p + 40, shoff, 8);
	put_le(img.p + 48, 90, 4);      /* sm_90 */
	put_le(img.p + 52, 64, 2);
	put_le(img.p + 58, 64, 2);
	put_le(img.p + 60, ns, 2);
	put_le(img.p + 62, 1, 2);       /* .shstrtab */
	*len = img.n;
	return img.p;
}

API CUresult cuLinkComplete(struct flink *l, void **cubin, size_t *size)
{
	char err[512] = "";
	struct fmod *m;
	CUresult r;

	ENTER();
	if (!l || !cubin || !size || !l->ptx)
		LEAVE(FR_INVALID_VALUE);
	m = calloc(1, sizeof(*m));
	if (!m)
		LEAVE(FR_OUT_OF_MEMORY);
	r = ptx_load(m, l->ptx, true, err, sizeof(err));
	if (!r) {
		free(l->elf);
		l->elf = fake_cubin(m, l->ptx, size);
		*cubin = l->elf;
		if (l->ilog && l->ilen)
			snprintf(l->ilog, l->ilen, "fake linker: linked");
	}
	mod_free(m);
	LEAVE(r);
}

API CUresult cuLinkDestroy(struct flink *l)
{
	if (!l)
		return FR_INVALID_HANDLE;
	free(l->ptx);
	free(l->elf);
	free(l);
	return FR_OK;
}

/* The PTX a fake cubin carries (its .fake.ptx section), or NULL. */
static const char *fake_cubin_ptx(const unsigned char *e)
{
	uint64_t shoff = 0;
	unsigned int shnum = 0, shstr = 0;
	const unsigned char *strtab;

	for (int i = 7; i >= 0; i--)
		shoff = shoff << 8 | e[40 + i];
	shnum = (unsigned int)(e[60] | e[61] << 8);
	shstr = (unsigned int)(e[62] | e[63] << 8);
	if (shstr >= shnum)
		return NULL;
	{
		const unsigned char *sh = e + shoff + (size_t)shstr * 64;
		uint64_t off = 0;

		for (int i = 7; i >= 0; i--)
			off = off << 8 | sh[24 + i];
		strtab = e + off;
	}
	for (unsigned int i = 1; i < shnum; i++) {
		const unsigned char *sh = e + shoff + (size_t)i * 64;
		uint32_t nm = (uint32_t)(sh[0] | sh[1] << 8 | sh[2] << 16 |
					 (uint32_t)sh[3] << 24);
		uint64_t off = 0;

		if (strcmp((const char *)strtab + nm, ".fake.ptx"))
			continue;
		for (int k = 7; k >= 0; k--)
			off = off << 8 | sh[24 + k];
		return (const char *)e + off;
	}
	return NULL;
}

API CUresult cuModuleLoadDataEx(CUmodule *out, const void *image, unsigned int nopt,
				int *opt, void **val)
{
	char err[512] = "", *elog = NULL, *ilog = NULL;
	size_t elen = 0, ilen = 0;
	const char *ptx = image;
	struct fmod *m;
	CUresult r;

	ENTER();
	if (!out || !image)
		LEAVE(FR_INVALID_VALUE);
	jit_logs(nopt, opt, val, &elog, &elen, &ilog, &ilen);
	if (!memcmp(image, "\177ELF", 4))
		ptx = fake_cubin_ptx(image);    /* what the fake linker made */
	if (!ptx || !memcmp(image, "\x50\xed\x55\xba", 4)) {
		snprintf(err, sizeof(err), "fake driver: binary images are not "
			 "supported (but its linker's)");
		r = FR_INVALID_IMAGE;
		goto out_log;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		LEAVE(FR_OUT_OF_MEMORY);
	r = ptx_load(m, ptx, false, err, sizeof(err));
	if (r) {
		mod_free(m);
		goto out_log;
	}
	if (ilog && ilen)
		snprintf(ilog, ilen, "fake JIT: loaded");
	*out = m;
	LEAVE(FR_OK);
out_log:
	if (elog && elen)
		snprintf(elog, elen, "%s", err);
	LEAVE(r);
}

API CUresult cuModuleUnload(CUmodule m)
{
	ENTER();
	if (!m)
		LEAVE(FR_INVALID_HANDLE);
	mod_free(m);
	LEAVE(FR_OK);
}

API CUresult cuModuleGetFunction(CUfunction *f, CUmodule m, const char *name)
{
	ENTER();
	if (!f || !m || !name)
		LEAVE(FR_INVALID_VALUE);
	for (struct ffunc *x = m->funcs; x; x = x->next)
		if (!strcmp(x->name, name)) {
			*f = x;
			LEAVE(FR_OK);
		}
	LEAVE(FR_NOT_FOUND);
}

API CUresult cuModuleGetGlobal_v2(CUdeviceptr *p, size_t *n, CUmodule m, const char *name)
{
	struct fglobal *g;

	ENTER();
	if (!m || !name)
		LEAVE(FR_INVALID_VALUE);
	g = global_of(m, name);
	if (!g)
		LEAVE(FR_NOT_FOUND);
	if (p)
		*p = (CUdeviceptr)(uintptr_t)g->mem->p;
	if (n)
		*n = g->mem->size;
	LEAVE(FR_OK);
}

API CUresult cuFuncGetParamInfo(CUfunction f, size_t i, size_t *off, size_t *size)
{
	ENTER();
	if (!f || !off || i >= f->nparams)
		LEAVE(FR_INVALID_VALUE);
	*off = f->param[i].off;
	if (size)
		*size = f->param[i].size;
	LEAVE(FR_OK);
}

API CUresult cuFuncGetAttribute(int *v, int attr, CUfunction f)
{
	ENTER();
	if (!v || !f)
		LEAVE(FR_INVALID_VALUE);
	switch (attr) {
	case 0: *v = 1024; break;               /* MAX_THREADS_PER_BLOCK */
	case 1: case 2: *v = 0; break;          /* shared, const */
	case 3: *v = (int)f->local_bytes; break; /* LOCAL_SIZE_BYTES */
	case 4: *v = 16; break;                 /* NUM_REGS */
	case 5: *v = 70; break;                 /* PTX_VERSION */
	case 6: *v = 90; break;                 /* BINARY_VERSION */
	case 7: *v = 0; break;                  /* CACHE_MODE_CA */
	case 8: *v = f->max_dyn_shared; break;
	case 9: *v = f->carveout; break;
	default: LEAVE(FR_INVALID_VALUE);
	}
	LEAVE(FR_OK);
}

API CUresult cuFuncSetAttribute(CUfunction f, int attr, int v)
{
	ENTER();
	if (!f)
		LEAVE(FR_INVALID_HANDLE);
	if (attr == 8 && v >= 0 && v <= F_MAX_SHARED_OPTIN)
		f->max_dyn_shared = v;
	else if (attr == 9 && v >= -1 && v <= 100)
		f->carveout = v;
	else
		LEAVE(FR_INVALID_VALUE);
	LEAVE(FR_OK);
}

API CUresult cuFuncSetCacheConfig(CUfunction f, int cfg)
{
	ENTER();
	if (!f)
		LEAVE(FR_INVALID_HANDLE);
	if (cfg < 0 || cfg > 3)
		LEAVE(FR_INVALID_VALUE);
	f->cache = cfg;
	LEAVE(FR_OK);
}

API CUresult cuLaunchKernel(CUfunction f, unsigned int gx, unsigned int gy,
			    unsigned int gz, unsigned int bx, unsigned int by,
			    unsigned int bz, unsigned int shared, CUstream s,
			    void **params, void **extra)
{
	struct task *t;

	ENTER();
	if (!f || !s || s->destroyed || !gx || !gy || !gz || !bx || !by || !bz ||
	    (uint64_t)bx * by * bz > 1024 || shared > (unsigned int)f->max_dyn_shared)
		LEAVE(FR_INVALID_VALUE);
	t = task_new(T_KERNEL);
	if (!t)
		LEAVE(FR_OUT_OF_MEMORY);
	t->f = f;
	t->grid = gx * gy * gz;
	t->block = bx * by * bz;
	if (params) {
		for (unsigned int i = 0; i < f->nparams; i++)
			memcpy(t->params + f->param[i].off, params[i], f->param[i].size);
	} else if (extra) {
		void *buf = NULL;
		size_t len = 0;

		for (int i = 0; extra[i]; i += 2) {
			if (extra[i] == (void *)1)
				buf = extra[i + 1];
			else if (extra[i] == (void *)2)
				len = *(size_t *)extra[i + 1];
		}
		if (!buf || len > sizeof(t->params) || len < f->param_bytes) {
			free(t);
			LEAVE(FR_INVALID_VALUE);
		}
		memcpy(t->params, buf, len);
	} else if (f->nparams) {
		free(t);
		LEAVE(FR_INVALID_VALUE);
	}
	/* the driver grows the stack to the kernel's frame, for every thread */
	if (f->local_bytes > g_limit[0])
		g_limit[0] = f->local_bytes;
	if (g_limit[0] * F_RESIDENT > g_lmem) {
		g_used += g_limit[0] * F_RESIDENT - g_lmem;
		g_lmem = g_limit[0] * F_RESIDENT;
	}
	trace("launch %s grid %u block %u", f->name, t->grid, t->block);
	push(s, t);
	LEAVE(FR_OK);
}
