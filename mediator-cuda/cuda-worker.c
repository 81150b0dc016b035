/* SPDX-License-Identifier: MIT */
/*
 * cuda-worker.c - the GPU worker process of the cuda executor (see
 * cuda-ipc.h for why it is a process of its own).
 *
 * The executor starts it by executing /proc/self/exe with CW_ENV set; the
 * constructor below notices and runs the worker instead of the program's
 * main(). The worker loads the driver with dlopen (so that nothing links
 * libcuda.so.1 and every program still starts on a machine without a
 * driver), creates the domain's one CUDA context, registers the shared
 * arena with the driver, loads the built-in VECTOR_ADD kernel, says hello,
 * and then executes commands:
 *   main thread        reads commands, enqueues their work on the guest
 *                      context's stream (async) or runs it (alloc, load),
 *                      and appends a completion record (with an event for
 *                      async work) to the completion FIFO;
 *   completion thread  waits for each record's event in FIFO order and
 *                      sends its response, so responses come in command
 *                      order and per-context order holds.
 * A sticky error (the context is poisoned) is answered with lost = 1; the
 * executor then kills this process and starts a new one.
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

/* ------------------------------------------------------ the driver API */

#define CW_XSTR(x) CW_STR(x)
#define CW_STR(x) #x

#define CW_FUNCS(X) \
	X(cuInit) X(cuDriverGetVersion) X(cuDeviceGet) X(cuDeviceGetCount) \
	X(cuDeviceGetName) X(cuDeviceTotalMem) X(cuDeviceGetAttribute) \
	X(cuCtxDestroy) X(cuCtxSetCurrent) X(cuMemGetInfo) X(cuMemAlloc) \
	X(cuMemFree) X(cuMemHostRegister) X(cuMemcpyHtoDAsync) \
	X(cuMemcpyDtoHAsync) X(cuMemcpyDtoDAsync) X(cuMemsetD8Async) \
	X(cuMemsetD16Async) X(cuMemsetD32Async) X(cuStreamCreate) \
	X(cuStreamDestroy) X(cuStreamSynchronize) X(cuEventCreate) \
	X(cuEventDestroy) X(cuEventRecord) X(cuEventSynchronize) \
	X(cuModuleLoadDataEx) X(cuModuleUnload) X(cuModuleGetFunction) \
	X(cuLaunchKernel) X(cuFuncSetAttribute) X(cuGetErrorName)

#define CW_DECL(n) static __typeof__(n) *p_##n;
CW_FUNCS(CW_DECL)
#undef CW_DECL

/* Newer than some drivers: looked up on their own, may stay NULL. */
static CUresult (*p_param_info)(CUfunction, size_t, size_t *, size_t *);
static CUresult (*p_ctx_create_v4)(CUcontext *, void *, unsigned int, CUdevice);
static CUresult (*p_ctx_create_v2)(CUcontext *, unsigned int, CUdevice);

static const char *errname(CUresult r)
{
	const char *s = NULL;

	if (p_cuGetErrorName)
		p_cuGetErrorName(r, &s);
	return s ? s : "unknown CUDA error";
}

/* ---------------------------------------------------------------- state */

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
	struct wmod *prev, *next;
};

struct wmem {
	CUdeviceptr p;
	uint64_t size;
	struct wmem *prev, *next;
};

struct wctx {
	uint64_t id;
	CUstream s;
	struct wmem *mems;
	struct wmod *mods;
	struct wctx *next;
};

/* One event, shared by the records of a burst on one stream. */
struct evref {
	CUevent ev;
	int refs;                       /* completion thread only, once queued */
};

struct crec {
	struct cw_rsp rsp;
	struct evref *er;               /* NULL: complete already            */
	CUstream s;                     /* async: the stream to wait for     */
	bool wait;                      /* async, event not yet recorded     */
	uint64_t t0;
	struct crec *next;
};

static int sock = -1;
static unsigned char *arena;
static size_t arena_size;
static CUcontext cuctx;
static CUfunction va_fn;
static CUdeviceptr va_buf;
static CUstream va_stream;
static struct wctx *ctxs;
static bool lost;                      /* main thread's view               */
static uint64_t spin_ns = 30000;

static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER; /* protects q_*, ev_pool */
static pthread_cond_t q_cond = PTHREAD_COND_INITIALIZER;
static struct crec *q_head, *q_tail;
static unsigned int q_len;              /* also read without the lock to spin */
static CUevent ev_pool[256];
static unsigned int ev_pool_n;
/* The burst being read (main thread only): queued together at its end. */
static struct crec *b_head, *b_tail;
static unsigned int b_len;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
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

/* ------------------------------------------------------ completion FIFO */

static CUevent ev_get(void)
{
	CUevent ev = NULL;

	pthread_mutex_lock(&q_lock);
	if (ev_pool_n)
		ev = ev_pool[--ev_pool_n];
	pthread_mutex_unlock(&q_lock);
	if (!ev && p_cuEventCreate(&ev, CU_EVENT_DISABLE_TIMING))
		ev = NULL;
	return ev;
}

static void ev_put(CUevent ev)
{
	pthread_mutex_lock(&q_lock);
	if (ev_pool_n < sizeof(ev_pool) / sizeof(ev_pool[0])) {
		ev_pool[ev_pool_n++] = ev;
		ev = NULL;
	}
	pthread_mutex_unlock(&q_lock);
	if (ev)
		p_cuEventDestroy(ev);
}

static void batch_add(struct crec *r)
{
	r->next = NULL;
	if (b_tail)
		b_tail->next = r;
	else
		b_head = r;
	b_tail = r;
	b_len++;
}

/*
 * End of a burst of commands: one event per stream, recorded after all of
 * the burst's work on it, stands for every async record of that stream in
 * the burst (waiting for later work than one's own is safe, and it saves
 * an event record per op); then the whole burst joins the FIFO.
 */
static void batch_flush(void)
{
	struct { CUstream s; struct evref *er; } seen[64];
	unsigned int nseen = 0;

	if (!b_head)
		return;
	for (struct crec *r = b_head; r; r = r->next) {
		struct evref *er = NULL;
		CUresult cr = CUDA_SUCCESS;

		if (!r->wait)
			continue;
		r->wait = false;
		for (unsigned int i = 0; i < nseen; i++)
			if (seen[i].s == r->s)
				er = seen[i].er;
		if (!er) {
			er = calloc(1, sizeof(*er));
			if (er)
				er->ev = ev_get();
			cr = er && er->ev ? p_cuEventRecord(er->ev, r->s)
					  : CUDA_ERROR_OUT_OF_MEMORY;
			if (cr) {
				if (er && er->ev)
					ev_put(er->ev);
				free(er);
				er = NULL;
			} else if (nseen < 64) {
				seen[nseen].s = r->s;
				seen[nseen].er = er;
				nseen++;
			}
		}
		if (!er) {
			/* no event: answer with the error, lose the context */
			r->rsp.status = map_err(cr);
			if (sticky(cr)) {
				lost = true;
				r->rsp.lost = 1;
			}
			continue;
		}
		er->refs++;
		r->er = er;
	}
	pthread_mutex_lock(&q_lock);
	if (q_tail)
		q_tail->next = b_head;
	else
		q_head = b_head;
	q_tail = b_tail;
	__atomic_add_fetch(&q_len, b_len, __ATOMIC_RELEASE);
	pthread_cond_signal(&q_cond);
	pthread_mutex_unlock(&q_lock);
	b_head = b_tail = NULL;
	b_len = 0;
}

/* Answer cmd now (in order): no GPU work pending for it. */
static void complete_now(const struct cw_cmd *c, int status, uint64_t t0,
			 const struct crec *tmpl)
{
	struct crec *r = calloc(1, sizeof(*r));

	if (!r) {
		/* cannot even queue an answer: the executor will see EOF */
		_exit(3);
	}
	if (tmpl)
		*r = *tmpl;
	r->rsp.tag = c->tag;
	r->rsp.status = status;
	r->rsp.exec_ns = now_ns() - t0;
	r->er = NULL;
	r->wait = false;
	r->next = NULL;
	if (lost) {
		r->rsp.status = VGPUIF_RSP_EREMOTEIO;
		r->rsp.lost = 1;
	}
	batch_add(r);
}

/* Answer cmd once the work enqueued on s so far has finished. */
static void complete_after(const struct cw_cmd *c, CUstream s, uint64_t t0)
{
	struct crec *r = calloc(1, sizeof(*r));

	if (!r)
		_exit(3);
	r->rsp.tag = c->tag;
	r->t0 = t0;
	r->s = s;
	r->wait = true;         /* its event comes at the end of the burst */
	batch_add(r);
}

static void send_all(const void *buf, size_t len)
{
	for (;;) {
		ssize_t n = send(sock, buf, len, MSG_NOSIGNAL);

		if (n == (ssize_t)len)
			return;
		if (n < 0 && errno == EINTR)
			continue;
		_exit(0);       /* the executor is gone */
	}
}

static void *completion_thread(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "cw-complete");
	p_cuCtxSetCurrent(cuctx);
	for (;;) {
		struct crec *r;
		uint64_t t;

		/* spin briefly before sleeping: the next command is often near */
		t = now_ns();
		while (!__atomic_load_n(&q_len, __ATOMIC_ACQUIRE) &&
		       now_ns() - t < spin_ns)
			;
		pthread_mutex_lock(&q_lock);
		while (!q_head)
			pthread_cond_wait(&q_cond, &q_lock);
		r = q_head;
		q_head = r->next;
		if (!q_head)
			q_tail = NULL;
		__atomic_sub_fetch(&q_len, 1, __ATOMIC_RELEASE);
		pthread_mutex_unlock(&q_lock);

		if (r->er) {
			CUresult cr = p_cuEventSynchronize(r->er->ev);

			r->rsp.exec_ns = now_ns() - r->t0;
			if (cr) {
				r->rsp.status = map_err(cr);
				if (sticky(cr))
					r->rsp.lost = 1;
			}
			if (--r->er->refs == 0) {
				ev_put(r->er->ev);
				free(r->er);
			}
		}
		send_all(&r->rsp, sizeof(r->rsp));
		free(r);
	}
	return NULL;
}

/* ------------------------------------------------------------ commands */

static struct wctx *ctx_find(uint64_t id)
{
	for (struct wctx *c = ctxs; c; c = c->next)
		if (c->id == id)
			return c;
	return NULL;
}

static void mod_free(struct wctx *c, struct wmod *m)
{
	if (m->prev)
		m->prev->next = m->next;
	else
		c->mods = m->next;
	if (m->next)
		m->next->prev = m->prev;
	while (m->funcs) {
		struct wfunc *f = m->funcs;

		m->funcs = f->next;
		free(f);
	}
	p_cuModuleUnload(m->m);
	free(m);
}

static void mem_free(struct wctx *c, struct wmem *m)
{
	if (m->prev)
		m->prev->next = m->next;
	else
		c->mems = m->next;
	if (m->next)
		m->next->prev = m->prev;
	p_cuMemFree(m->p);
	free(m);
}

static int do_ctx_create(const struct cw_cmd *c)
{
	struct wctx *x;
	CUresult cr;

	if (ctx_find(c->ctx))
		return 0;       /* re-creation after a restart is idempotent */
	x = calloc(1, sizeof(*x));
	if (!x)
		return VGPUIF_RSP_ENOMEM;
	cr = p_cuStreamCreate(&x->s, CU_STREAM_NON_BLOCKING);
	if (cr) {
		free(x);
		return map_err(cr);
	}
	x->id = c->ctx;
	x->next = ctxs;
	ctxs = x;
	return 0;
}

static int do_ctx_destroy(const struct cw_cmd *c)
{
	struct wctx **pp, *x = NULL;
	CUresult cr;

	for (pp = &ctxs; *pp; pp = &(*pp)->next)
		if ((*pp)->id == c->ctx) {
			x = *pp;
			*pp = x->next;
			break;
		}
	if (!x)
		return 0;
	cr = p_cuStreamSynchronize(x->s);
	if (sticky(cr))
		lost = true;
	while (x->mods)
		mod_free(x, x->mods);
	while (x->mems)
		mem_free(x, x->mems);
	p_cuStreamDestroy(x->s);
	free(x);
	return 0;
}

static int do_module_load(const struct cw_cmd *c, struct crec *out)
{
	uint64_t image_len = c->arg[0], log_len = c->arg[2];
	uint32_t format = (uint32_t)c->arg[1];
	static char err_log[VGPUIF_MAX_MODULE_LOG], info_log[VGPUIF_MAX_MODULE_LOG];
	const unsigned char *img = arena + c->stage_off;
	CUjit_option opt[5];
	void *val[5];
	unsigned char *copy;
	struct wctx *x = ctx_find(c->ctx);
	struct wmod *m;
	const char *log;
	CUresult cr;
	size_t n;

	if (!x)
		return VGPUIF_RSP_EBADF;
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

	m = calloc(1, sizeof(*m));
	if (!m) {
		free(copy);
		return VGPUIF_RSP_ENOMEM;
	}
	cr = p_cuModuleLoadDataEx(&m->m, copy, 5, opt, val);
	free(copy);
	err_log[sizeof(err_log) - 1] = info_log[sizeof(info_log) - 1] = '\0';
	log = cr ? err_log : info_log;
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
	if (cr) {
		free(m);
		if (sticky(cr))
			lost = true;
		return map_err(cr);
	}
	m->next = x->mods;
	if (m->next)
		m->next->prev = m;
	x->mods = m;
	out->rsp.obj = (uint64_t)(uintptr_t)m;
	return 0;
}

static int do_func_get(const struct cw_cmd *c, struct crec *out)
{
	struct wmod *m = (struct wmod *)(uintptr_t)c->obj[0];
	uint64_t len = c->arg[0];
	char name[VGPUIF_MAX_FUNC_NAME + 1];
	struct wfunc *f;
	CUresult cr;

	if (!m || len == 0 || len > VGPUIF_MAX_FUNC_NAME)
		return VGPUIF_RSP_EINVAL;
	memcpy(name, arena + c->stage_off, (size_t)len);
	name[len] = '\0';
	if (strlen(name) != len)
		return VGPUIF_RSP_EINVAL;       /* a NUL inside the name */
	f = calloc(1, sizeof(*f));
	if (!f)
		return VGPUIF_RSP_ENOMEM;
	cr = p_cuModuleGetFunction(&f->f, m->m, name);
	if (cr) {
		free(f);
		return map_err(cr);
	}
	if (p_param_info) {
		size_t off, sz, end = 0;

		for (size_t i = 0; i < VGPUIF_MAX_PARAM_BYTES; i++) {
			if (p_param_info(f->f, i, &off, &sz))
				break;
			if (off + sz > end)
				end = off + sz;
		}
		f->layout_known = true;
		f->param_bytes = (uint32_t)end;
	}
	f->next = m->funcs;
	m->funcs = f;
	out->rsp.obj = (uint64_t)(uintptr_t)f;
	out->rsp.result[1] = f->param_bytes;
	return 0;
}

static int do_launch(const struct cw_cmd *c, CUstream s)
{
	struct wfunc *f = (struct wfunc *)(uintptr_t)c->obj[0];
	size_t plen = c->dims[7];
	uint32_t shared = c->dims[6];
	void *extra[] = {
		CU_LAUNCH_PARAM_BUFFER_POINTER, arena + c->stage_off,
		CU_LAUNCH_PARAM_BUFFER_SIZE, &plen,
		CU_LAUNCH_PARAM_END
	};
	CUresult cr;

	if (!f || plen > VGPUIF_MAX_PARAM_BYTES)
		return VGPUIF_RSP_EINVAL;
	/* the blob must match the kernel's layout, up to tail padding to 8 */
	if (f->layout_known &&
	    (plen < f->param_bytes || plen > ((f->param_bytes + 7u) & ~7u)))
		return VGPUIF_RSP_EINVAL;
	if (shared > 48 * 1024 && shared > f->shared_set) {
		cr = p_cuFuncSetAttribute(f->f,
				CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
				(int)shared);
		if (cr)
			return VGPUIF_RSP_EINVAL;
		f->shared_set = shared;
	}
	cr = p_cuLaunchKernel(f->f, c->dims[0], c->dims[1], c->dims[2],
			      c->dims[3], c->dims[4], c->dims[5], shared, s,
			      NULL, plen ? extra : NULL);
	if (sticky(cr))
		lost = true;
	return map_err(cr);
}

static int do_vector_add(const struct cw_cmd *c)
{
	uint32_t n = (uint32_t)c->arg[0];
	CUdeviceptr a = va_buf, b = va_buf + 4ull * n, d = va_buf + 8ull * n;
	void *params[] = { &a, &b, &d, &n };
	CUresult cr;

	if (n == 0 || n > VGPUIF_MAX_VECTOR_ADD_ELEMS)
		return VGPUIF_RSP_EINVAL;
	cr = p_cuMemcpyHtoDAsync(va_buf, arena + c->stage_off, 8ull * n, va_stream);
	if (!cr)
		cr = p_cuLaunchKernel(va_fn, (n + 255) / 256, 1, 1, 256, 1, 1, 0,
				      va_stream, params, NULL);
	if (!cr)
		cr = p_cuMemcpyDtoHAsync(arena + c->stage_off + 8ull * n, d,
					 4ull * n, va_stream);
	if (sticky(cr))
		lost = true;
	return map_err(cr);
}

static bool stage_ok(const struct cw_cmd *c)
{
	return c->stage_off <= arena_size && c->stage_len <= arena_size - c->stage_off;
}

static void do_cmd(const struct cw_cmd *c)
{
	uint64_t t0 = now_ns();
	struct crec tmpl;
	struct wctx *x = NULL;
	struct wmem *m, *m2;
	CUstream s;
	CUresult cr = CUDA_SUCCESS;
	int st = 0;

	memset(&tmpl, 0, sizeof(tmpl));
	if (lost || !stage_ok(c)) {
		complete_now(c, lost ? VGPUIF_RSP_EREMOTEIO : VGPUIF_RSP_EINVAL, t0, NULL);
		return;
	}
	if (c->ctx)
		x = ctx_find(c->ctx);
	s = x ? x->s : va_stream;

	switch (c->op) {
	case VGPUIF_OP_CTX_CREATE:
		complete_now(c, do_ctx_create(c), t0, NULL);
		return;
	case VGPUIF_OP_CTX_DESTROY:
		batch_flush();  /* events of its stream first: it goes away */
		complete_now(c, do_ctx_destroy(c), t0, NULL);
		return;
	case CW_OP_MEMINFO: {
		size_t fr = 0, tot = 0;

		cr = p_cuMemGetInfo(&fr, &tot);
		tmpl.rsp.result[0] = fr;
		tmpl.rsp.result[1] = tot;
		complete_now(c, map_err(cr), t0, &tmpl);
		return;
	}
	case VGPUIF_OP_SYNC:
	case VGPUIF_OP_NOP:
		/* answers leave in FIFO order: all earlier work is done by then */
		complete_now(c, (int32_t)c->arg[0], t0, NULL);
		return;
	case VGPUIF_OP_VECTOR_ADD:
		st = do_vector_add(c);
		if (st)
			complete_now(c, st, t0, NULL);
		else
			complete_after(c, va_stream, t0);
		return;
	}

	if (!x) {
		complete_now(c, VGPUIF_RSP_EBADF, t0, NULL);
		return;
	}
	m = (struct wmem *)(uintptr_t)c->obj[0];
	m2 = (struct wmem *)(uintptr_t)c->obj[1];
	switch (c->op) {
	case VGPUIF_OP_MEM_ALLOC:
		m = calloc(1, sizeof(*m));
		if (!m) {
			complete_now(c, VGPUIF_RSP_ENOMEM, t0, NULL);
			return;
		}
		cr = p_cuMemAlloc(&m->p, (size_t)c->arg[0]);
		if (cr) {
			free(m);
			complete_now(c, map_err(cr), t0, NULL);
			return;
		}
		m->size = c->arg[0];
		m->next = x->mems;
		if (m->next)
			m->next->prev = m;
		x->mems = m;
		tmpl.rsp.obj = (uint64_t)(uintptr_t)m;
		tmpl.rsp.result[0] = m->size;
		tmpl.rsp.result[1] = m->p;
		complete_now(c, 0, t0, &tmpl);
		return;
	case VGPUIF_OP_MEM_FREE:
		/* cuMemFree waits for work that uses the memory */
		mem_free(x, m);
		complete_now(c, 0, t0, NULL);
		return;
	case VGPUIF_OP_MEMCPY_H2D:
		cr = p_cuMemcpyHtoDAsync(m->p + c->arg[0], arena + c->stage_off,
					 (size_t)c->arg[1], s);
		break;
	case VGPUIF_OP_MEMCPY_D2H:
		cr = p_cuMemcpyDtoHAsync(arena + c->stage_off, m->p + c->arg[0],
					 (size_t)c->arg[1], s);
		break;
	case VGPUIF_OP_MEMCPY_D2D:
		cr = p_cuMemcpyDtoDAsync(m->p + c->arg[0], m2->p + c->arg[1],
					 (size_t)c->arg[2], s);
		break;
	case VGPUIF_OP_MEMSET:
		if (c->arg[3] == 1)
			cr = p_cuMemsetD8Async(m->p + c->arg[0],
					       (unsigned char)c->arg[2],
					       (size_t)c->arg[1], s);
		else if (c->arg[3] == 2)
			cr = p_cuMemsetD16Async(m->p + c->arg[0],
						(unsigned short)c->arg[2],
						(size_t)c->arg[1] / 2, s);
		else
			cr = p_cuMemsetD32Async(m->p + c->arg[0],
						(unsigned int)c->arg[2],
						(size_t)c->arg[1] / 4, s);
		break;
	case VGPUIF_OP_MODULE_LOAD:
		st = do_module_load(c, &tmpl);
		complete_now(c, st, t0, &tmpl);
		return;
	case VGPUIF_OP_MODULE_UNLOAD:
		mod_free(x, (struct wmod *)(uintptr_t)c->obj[0]);
		complete_now(c, 0, t0, NULL);
		return;
	case VGPUIF_OP_FUNC_GET:
		st = do_func_get(c, &tmpl);
		complete_now(c, st, t0, &tmpl);
		return;
	case VGPUIF_OP_LAUNCH:
		st = do_launch(c, s);
		if (st)
			complete_now(c, st, t0, NULL);
		else
			complete_after(c, s, t0);
		return;
	default:
		complete_now(c, VGPUIF_RSP_ENOSYS, t0, NULL);
		return;
	}
	if (cr) {
		if (sticky(cr))
			lost = true;
		complete_now(c, map_err(cr), t0, NULL);
		return;
	}
	complete_after(c, s, t0);
}

/* ---------------------------------------------------------------- setup */

static int load_driver(char *why, size_t whylen)
{
	void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		snprintf(why, whylen, "no NVIDIA driver: %s", dlerror());
		return -ENODEV;
	}
#define CW_LOAD(n) \
	p_##n = (__typeof__(p_##n))dlsym(h, CW_XSTR(n)); \
	if (!p_##n) { \
		snprintf(why, whylen, "the NVIDIA driver lacks %s", CW_XSTR(n)); \
		return -ENODEV; \
	}
	CW_FUNCS(CW_LOAD)
#undef CW_LOAD
	p_param_info = (__typeof__(p_param_info))dlsym(h, "cuFuncGetParamInfo");
	p_ctx_create_v4 = (__typeof__(p_ctx_create_v4))dlsym(h, "cuCtxCreate_v4");
	p_ctx_create_v2 = (__typeof__(p_ctx_create_v2))dlsym(h, "cuCtxCreate_v2");
	if (!p_ctx_create_v4 && !p_ctx_create_v2) {
		snprintf(why, whylen, "the NVIDIA driver lacks cuCtxCreate");
		return -ENODEV;
	}
	return 0;
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
	int rc;

	rc = load_driver(why, wl);
	if (rc)
		return rc;
	step = "cuInit";
	cr = p_cuInit(0);
	if (cr)
		goto cuda_fail;
	p_cuDriverGetVersion(&v);
	h->driver_version = (uint32_t)v;
	step = "cuDeviceGetCount";
	cr = p_cuDeviceGetCount(&count);
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
	cr = p_cuDeviceGet(&dev, device);
	if (cr)
		goto cuda_fail;
	step = "cuCtxCreate";
	cr = p_ctx_create_v4 ? p_ctx_create_v4(&cuctx, NULL, 0, dev)
			     : p_ctx_create_v2(&cuctx, 0, dev);
	if (cr)
		goto cuda_fail;
	p_cuDeviceGetName(h->name, sizeof(h->name) - 1, dev);
	p_cuDeviceTotalMem(&tot, dev);
	h->total_mem = tot;
	p_cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev);
	h->cc_major = (uint32_t)v;
	p_cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev);
	h->cc_minor = (uint32_t)v;
	p_cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev);
	h->sm_count = (uint32_t)v;
	h->param_info = p_param_info != NULL;

	arena = mmap(NULL, arena_size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (arena == MAP_FAILED) {
		snprintf(why, wl, "cannot map the staging arena: %s", strerror(errno));
		return -errno;
	}
	/* pinned: DMA straight from and to the arena */
	step = "cuMemHostRegister(arena)";
	cr = p_cuMemHostRegister(arena, arena_size, CU_MEMHOSTREGISTER_PORTABLE);
	if (cr)
		goto cuda_fail;
	step = "cuModuleLoadDataEx(vector_add)";
	cr = p_cuModuleLoadDataEx(&va_mod, vgpu_vector_add_ptx, 0, NULL, NULL);
	if (cr)
		goto cuda_fail;
	step = "cuModuleGetFunction(vector_add)";
	cr = p_cuModuleGetFunction(&va_fn, va_mod, "vgpu_vector_add");
	if (cr)
		goto cuda_fail;
	step = "cuMemAlloc(vector_add buffer)";
	cr = p_cuMemAlloc(&va_buf, 12ull * VGPUIF_MAX_VECTOR_ADD_ELEMS);
	if (cr)
		goto cuda_fail;
	step = "cuStreamCreate";
	cr = p_cuStreamCreate(&va_stream, CU_STREAM_NON_BLOCKING);
	if (cr)
		goto cuda_fail;
	p_cuMemGetInfo(&fr, &tot);
	h->free_mem = fr;
	return 0;

cuda_fail:
	snprintf(why, wl, "%s: %s (%d)", step, errname(cr), (int)cr);
	return cr == CUDA_ERROR_NO_DEVICE ? -ENODEV :
	       cr == CUDA_ERROR_OUT_OF_MEMORY ? -ENOMEM : -EIO;
}

int vgpu_exec_cuda_worker_main(const char *spec)
{
	struct cw_hello h;
	pthread_t th;
	int memfd, device;
	unsigned long long size, spin_us;
	const char *sp;

	memset(&h, 0, sizeof(h));
	h.pid = (uint32_t)getpid();
	/* "exe" otherwise (/proc/self/exe): say what this process is. */
	prctl(PR_SET_NAME, "cuda-worker", 0, 0, 0);
	if (sscanf(spec, "%d:%d:%llu:%d", &sock, &memfd, &size, &device) != 4)
		return 2;
	arena_size = (size_t)size;
	sp = getenv("VGPU_EXEC_SPIN_US");
	if (sp && sscanf(sp, "%llu", &spin_us) == 1)
		spin_ns = spin_us * 1000ull;
	/*
	 * No PR_SET_PDEATHSIG (it fires when the forking thread ends, not the
	 * process): the executor's end closes the socket, and EOF ends us.
	 */

	h.status = worker_init(device, memfd, &h);
	send_all(&h, sizeof(h));
	if (h.status)
		return 1;
	if (pthread_create(&th, NULL, completion_thread, NULL))
		return 1;

	for (;;) {
		struct cw_cmd c;
		ssize_t n;
		uint64_t t = now_ns();

		do {
			n = recv(sock, &c, sizeof(c), MSG_DONTWAIT);
		} while (n < 0 && (errno == EAGAIN || errno == EINTR) &&
			 now_ns() - t < spin_ns);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			n = recv(sock, &c, sizeof(c), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;       /* the executor closed: the driver cleans up */
		if (n != sizeof(c))
			return 2;
		do_cmd(&c);
		/* the rest of the burst, without waiting; then queue it */
		for (int k = 1; k < 64; k++) {
			n = recv(sock, &c, sizeof(c), MSG_DONTWAIT);
			if (n != sizeof(c))
				break;
			do_cmd(&c);
		}
		if (n == 0)
			return 0;
		batch_flush();
	}
}

/* Runs before main() in every program that links the cuda executor. */
__attribute__((constructor)) static void cw_constructor(void)
{
	const char *spec = getenv(CW_ENV);

	if (spec)
		_exit(vgpu_exec_cuda_worker_main(spec));
}
