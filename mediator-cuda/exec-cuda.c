/* SPDX-License-Identifier: MIT */
/*
 * exec-cuda.c - the cuda executor: one CUDA context per executor (per guest
 * domain), owned by a GPU worker process (cuda-worker.c) that this file
 * starts, feeds and, after a GPU fault or a watchdog expiry, kills and
 * restarts. cuda-ipc.h says why a process: on the H100 a sticky error
 * poisons every context of its process, and a spinning kernel cannot be
 * stopped short of ending the process that owns it.
 *
 * Data path: submit() (the backend's ring thread) validates the op again,
 * stages its bulk input into the shared arena (small input travels inline
 * in the command) and sends one command; it never waits for the GPU. The
 * reader thread receives the worker's answers, which come in the order of
 * executor.h's classes (per stream for stream work, at once for queries,
 * after their work for waits), finds each one's op by tag, copies output
 * from the arena or the answer to the op's stream, and calls done(). Ops
 * that do not fit in the arena yet wait in a pending FIFO that the reader
 * flushes as space frees, so submission order holds on the way in. The
 * arena is a ring: an op's range is reused once every op staged before it
 * has been answered.
 *
 * Faults: a response with lost set (the context is poisoned), the worker's
 * death, or an op that has been the oldest in flight for longer than
 * watchdog_ms ends the worker. The op at fault gets VGPUIF_RSP_EREMOTEIO
 * (VGPUIF_RSP_ETIMEDOUT for the watchdog), every other in-flight op
 * VGPUIF_RSP_EREMOTEIO. A new worker starts with a fresh context; guest
 * contexts carry on (their default streams are re-created on next use) but
 * every object made before (memory, modules, functions, streams, events) is
 * gone: ops naming one get VGPUIF_RSP_EREMOTEIO; freeing or destroying one
 * succeeds (so the backend can clean up).
 *
 * Lock order: ce->lock only; done() is always called without it.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <dlfcn.h>

#include "exec-private.h"
#include "cuda-ipc.h"

extern char **environ;

#define CU_CTX_MAGIC  0x41445543u  /* "CUDA" */
#define CU_OBJ_MAGIC  0x4a424f43u  /* "COBJ" */
#define CU_DEAD_MAGIC 0xdeadbeefu
/* The staging arena: room for several of the largest requests in flight. */
#define CU_ARENA_DEFAULT (128ull << 20)
#define CU_HELLO_TIMEOUT_MS 60000
#define CU_CLOSE_WAIT_S 10
/* Buckets of the in-flight table (by tag; tags are sequential). */
#define CU_TAG_BUCKETS 1024u

enum cobj_kind { K_MEM = 1, K_MOD, K_FUNC, K_STREAM, K_EVENT };

/* What vgpu_exec_mem / _mod / _func / _stream / _event are: one shape. */
struct cobj {
	uint32_t magic;
	uint8_t  kind;
	bool     global;                /* mem: a module's global (no free)  */
	uint32_t gen;                   /* worker generation it belongs to  */
	struct vgpu_exec_ctx *ctx;
	uint64_t wid;                   /* the worker's object id           */
	uint64_t size, addr;            /* mem                              */
	uint32_t param_bytes;           /* func: 0 = unknown                */
	uint32_t local_bytes;           /* func: local memory per thread    */
	struct cobj *mod;               /* func, global: its module         */
	struct cobj *prev, *next;       /* ctx->objs                        */
};
struct vgpu_exec_mem    { struct cobj h; };
struct vgpu_exec_mod    { struct cobj h; };
struct vgpu_exec_func   { struct cobj h; };
struct vgpu_exec_stream { struct cobj h; };
struct vgpu_exec_event  { struct cobj h; };

struct vgpu_exec_ctx {
	uint32_t magic;
	uint64_t id;
	uint32_t gen;                   /* it exists in the worker of gen   */
	struct cobj *objs;
	struct vgpu_exec_ctx *prev, *next;
};

/* A synchronous caller waiting for an internal command. */
struct xwait {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	struct cw_rsp rsp;
};

struct xop {
	struct vgpu_exec_op *op;        /* NULL: internal command            */
	struct xwait *w;                /* internal: who waits (may be NULL) */
	struct cw_cmd cmd;
	uint32_t inl;                   /* stream [0, inl) goes inline        */
	bool staged;                    /* holds arena [stage_off, +len)     */
	bool stale;                     /* names an object of a dead worker  */
	struct cobj *uses[4];           /* objects named: stale when their
					 * worker is gone by the time it is sent */
	struct cobj *freeobj;           /* freed when answered              */
	struct vgpu_exec_ctx *freectx;  /* CTX_DESTROY op                    */
	struct xop *prev, *next;        /* pending FIFO, or in flight        */
	struct xop *hnext;              /* in-flight bucket                  */
	/* internal commands: inline bytes of their own, a descriptor */
	const void *idata;
	uint32_t idata_len;
	bool has_fd;
	int sendfd;
	struct vgpu_exec_hostreg *hreg; /* HOST_REGISTER: told the worker
					 * generation it was sent to        */
};

/*
 * Registered guest memory (vgpu_exec_host_register): mapped and registered
 * by the worker of generation gen as its object wid. A copy naming it goes
 * zero-copy while that worker lives; after a restart it is staged.
 */
#define CU_HOSTREG_MAGIC 0x43485247u
struct vgpu_exec_hostreg {
	uint32_t magic;
	uint32_t gen;
	uint64_t wid;
	size_t   len;
	bool     writable;
	bool     warned;                /* logged the fallback after a restart */
};

struct cuda_exec {
	struct vgpu_exec base;          /* first: exec.c casts               */
	int memfd;
	unsigned char *arena;
	size_t arena_size;
	int device;
	uint32_t watchdog_ms;
	struct vgpuif_device_info dev;  /* the snapshot, fixed at open       */

	pthread_mutex_t lock;           /* protects everything below         */
	pthread_cond_t idle_cond;       /* lists drained / worker state      */
	int sock;                       /* -1 while restarting               */
	pid_t pid;
	uint32_t gen;
	bool dead;                      /* no worker can be started          */
	bool replacing;                 /* a fault was answered: nothing more
					 * goes to this worker (the reader
					 * replaces it next)                 */
	bool closing;
	struct cw_hello hello;
	size_t arena_head;              /* next free byte (ring allocator)   */
	struct xop *inflight, *inflight_tail; /* in submission order        */
	struct xop *bucket[CU_TAG_BUCKETS];
	struct xop *pending, *pending_tail;
	uint64_t head_since;            /* when the in-flight head became it */
	uint64_t next_tag, next_ctx_id;
	struct vgpu_exec_ctx *ctxs;
	uint32_t restarts;
	/*
	 * Local memory: the most any launch asked per thread (at least the
	 * stack limit the context was made with). The driver reserves that
	 * for every thread the device holds at once and keeps it for the
	 * context's life, so a new worker is made with it as its stack limit
	 * and the domain's charge for it stays true.
	 */
	uint64_t lmem_per_thread;
	uint64_t refusal_log_ns;        /* rate limit of refusal log lines  */
	uint32_t refusals_quiet;        /* refusals not logged since        */
	pthread_t reader;
};

static bool zero_copy_off(void)
{
	const char *e = getenv("VGPU_EXEC_ZERO_COPY");

	return e && !strcmp(e, "0");
}

static struct cuda_exec *to_ce(struct vgpu_exec *ex)
{
	return (struct cuda_exec *)ex;
}

#define CLOG(ce, lvl, ...) vgpu_exec_log(&(ce)->base.cfg, "cuda", lvl, __VA_ARGS__)

/*
 * A quota refusal's log line (lock held): what and how much, at most one a
 * second (a guest can ask again and again), with how many went unsaid.
 */
static void refusal_log(struct cuda_exec *ce, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void refusal_log(struct cuda_exec *ce, const char *fmt, ...)
{
	uint64_t now = vgpu_exec_now_ns();
	char msg[384];
	va_list ap;

	if (ce->refusal_log_ns && now - ce->refusal_log_ns < 1000000000ull) {
		ce->refusals_quiet++;
		return;
	}
	ce->refusal_log_ns = now;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ce->refusals_quiet)
		CLOG(ce, VGPU_EXEC_LOG_WARN, "%s (and %u refusals since the "
		     "last line)", msg, ce->refusals_quiet);
	else
		CLOG(ce, VGPU_EXEC_LOG_WARN, "%s", msg);
	ce->refusals_quiet = 0;
}

/* ------------------------------------------------------------- worker */

/*
 * Start a worker: /proc/self/exe with CW_ENV set (cuda-worker.c's
 * constructor takes over), the socket and the arena's memfd inherited.
 * Waits for its hello. Returns 0 with *sock_out and *pid_out, or -errno with
 * why filled.
 */
static int worker_spawn(struct cuda_exec *ce, int *sock_out, pid_t *pid_out,
			struct cw_hello *hello, char *why, size_t whylen)
{
	int sv[2], rc, n = 0, st;
	char spec[128], envvar[192];
	char **envp;
	char *argv[] = { (char *)"vgpu-exec-cuda-worker", NULL };
	struct pollfd pfd;
	pid_t pid;
	ssize_t got;
	int bufsz = 1 << 20;
	uint64_t stack;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		snprintf(why, whylen, "socketpair: %s", strerror(errno));
		return -errno;
	}
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
	setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
	pthread_mutex_lock(&ce->lock);
	stack = ce->lmem_per_thread > ce->base.cfg.ctx_stack_bytes ?
		ce->lmem_per_thread : ce->base.cfg.ctx_stack_bytes;
	pthread_mutex_unlock(&ce->lock);
	snprintf(spec, sizeof(spec), CW_SPEC_FMT, sv[1], ce->memfd,
		 (unsigned long long)ce->arena_size, ce->device,
		 (unsigned long long)ce->base.cfg.ctx_heap_bytes,
		 (unsigned long long)ce->base.cfg.ctx_printf_bytes,
		 (unsigned long long)stack);
	snprintf(envvar, sizeof(envvar), "%s=%s", CW_ENV, spec);
	while (environ && environ[n])
		n++;
	envp = calloc((size_t)n + 2, sizeof(*envp));
	if (!envp) {
		close(sv[0]);
		close(sv[1]);
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	for (int i = 0, j = 0; i < n; i++)
		if (strncmp(environ[i], CW_ENV "=", sizeof(CW_ENV)))
			envp[j++] = environ[i];
	for (int j = 0; ; j++)
		if (!envp[j]) {
			envp[j] = envvar;
			break;
		}

	pid = fork();
	if (pid < 0) {
		rc = -errno;
		snprintf(why, whylen, "fork: %s", strerror(errno));
		free(envp);
		close(sv[0]);
		close(sv[1]);
		return rc;
	}
	if (pid == 0) {
		/* only async-signal-safe calls until execve */
		fcntl(sv[1], F_SETFD, 0);
		fcntl(ce->memfd, F_SETFD, 0);
		execve("/proc/self/exe", argv, envp);
		_exit(127);
	}
	free(envp);
	close(sv[1]);

	pfd.fd = sv[0];
	pfd.events = POLLIN;
	do
		rc = poll(&pfd, 1, CU_HELLO_TIMEOUT_MS);
	while (rc < 0 && errno == EINTR);
	got = rc > 0 ? recv(sv[0], hello, sizeof(*hello), 0) : -1;
	if (got != (ssize_t)sizeof(*hello) || hello->status) {
		if (got == (ssize_t)sizeof(*hello)) {
			hello->why[sizeof(hello->why) - 1] = '\0';
			snprintf(why, whylen, "%s", hello->why);
			rc = hello->status;
		} else {
			snprintf(why, whylen, rc == 0 ?
				 "the GPU worker did not report within %d s" :
				 "the GPU worker exited before reporting",
				 CU_HELLO_TIMEOUT_MS / 1000);
			rc = -EIO;
		}
		kill(pid, SIGKILL);
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		close(sv[0]);
		return rc;
	}
	hello->name[sizeof(hello->name) - 1] = '\0';
	*sock_out = sv[0];
	*pid_out = pid;
	return 0;
}

static void worker_reap(struct cuda_exec *ce, int sock, pid_t pid)
{
	int st;

	(void)ce;
	if (sock >= 0)
		close(sock);
	if (pid > 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
	}
}

/* ------------------------------------------------------------ objects */

static void obj_link(struct vgpu_exec_ctx *ctx, struct cobj *o)
{
	o->ctx = ctx;
	o->prev = NULL;
	o->next = ctx->objs;
	if (o->next)
		o->next->prev = o;
	ctx->objs = o;
}

static void obj_free(struct cobj *o)
{
	struct vgpu_exec_ctx *ctx = o->ctx;

	if (o->prev)
		o->prev->next = o->next;
	else
		ctx->objs = o->next;
	if (o->next)
		o->next->prev = o->prev;
	o->magic = CU_DEAD_MAGIC;
	free(o);
}

/* A module takes its functions and globals with it. */
static void obj_free_mod(struct cobj *mod)
{
	struct cobj *o = mod->ctx->objs, *next;

	for (; o; o = next) {
		next = o->next;
		if ((o->kind == K_FUNC || o->kind == K_MEM) && o->mod == mod)
			obj_free(o);
	}
	obj_free(mod);
}

static void obj_free_any(struct cobj *o)
{
	if (o->kind == K_MOD)
		obj_free_mod(o);
	else
		obj_free(o);
}

static void ctx_free(struct cuda_exec *ce, struct vgpu_exec_ctx *ctx)
{
	while (ctx->objs)
		obj_free(ctx->objs);
	if (ctx->prev)
		ctx->prev->next = ctx->next;
	else
		ce->ctxs = ctx->next;
	if (ctx->next)
		ctx->next->prev = ctx->prev;
	ctx->magic = CU_DEAD_MAGIC;
	free(ctx);
}

static bool obj_ok(const struct vgpu_exec_ctx *ctx, const void *p, int kind)
{
	const struct cobj *o = p;

	return ctx && o && o->magic == CU_OBJ_MAGIC && o->kind == kind &&
	       o->ctx == ctx;
}

static struct cobj *obj_new(struct cuda_exec *ce, int kind, uint64_t wid)
{
	struct cobj *o = calloc(1, sizeof(*o));

	if (!o)
		return NULL;
	o->magic = CU_OBJ_MAGIC;
	o->kind = (uint8_t)kind;
	o->gen = ce->gen;
	o->wid = wid;
	return o;
}

/* --------------------------------------------------------------- arena */

/* Oldest staged in-flight op: where the ring allocator's free space ends. */
static bool arena_alloc(struct cuda_exec *ce, uint64_t len, uint64_t *off)
{
	struct xop *x;
	size_t tail;

	for (x = ce->inflight; x && !x->staged; x = x->next)
		;
	if (!x) {
		ce->arena_head = 0;     /* nothing staged: the arena is empty */
		if (len > ce->arena_size)
			return false;
		*off = 0;
		ce->arena_head = (size_t)len;
		return true;
	}
	tail = (size_t)x->cmd.stage_off;
	if (ce->arena_head >= tail) {
		if (len <= ce->arena_size - ce->arena_head) {
			*off = ce->arena_head;
			ce->arena_head += (size_t)len;
			return true;
		}
		if (len < tail) {       /* wrap; the end's gap is skipped */
			*off = 0;
			ce->arena_head = (size_t)len;
			return true;
		}
		return false;
	}
	if (len < tail - ce->arena_head) {
		*off = ce->arena_head;
		ce->arena_head += (size_t)len;
		return true;
	}
	return false;
}

/* ------------------------------------------------------------ in flight */

static void fifo_push(struct xop **head, struct xop **tail, struct xop *x)
{
	x->next = NULL;
	x->prev = *tail;
	if (*tail)
		(*tail)->next = x;
	else
		*head = x;
	*tail = x;
}

/* Lock held. x was sent: it waits for its answer. */
static void inflight_add(struct cuda_exec *ce, struct xop *x)
{
	struct xop **b = &ce->bucket[x->cmd.tag % CU_TAG_BUCKETS];

	if (!ce->inflight)
		ce->head_since = vgpu_exec_now_ns();
	fifo_push(&ce->inflight, &ce->inflight_tail, x);
	x->hnext = *b;
	*b = x;
}

/* Lock held. The in-flight op of this tag, taken off the lists; or NULL. */
static struct xop *inflight_take(struct cuda_exec *ce, uint64_t tag)
{
	struct xop **pp = &ce->bucket[tag % CU_TAG_BUCKETS], *x;

	for (; *pp; pp = &(*pp)->hnext)
		if ((*pp)->cmd.tag == tag)
			break;
	x = *pp;
	if (!x)
		return NULL;
	*pp = x->hnext;
	if (x == ce->inflight)
		ce->head_since = vgpu_exec_now_ns(); /* a new oldest op */
	if (x->prev)
		x->prev->next = x->next;
	else
		ce->inflight = x->next;
	if (x->next)
		x->next->prev = x->prev;
	else
		ce->inflight_tail = x->prev;
	return x;
}

/* ------------------------------------------------------------ sending */

/* One command, with its inline bytes from the op's stream. Lock held. */
static int send_cmd(struct cuda_exec *ce, struct xop *x)
{
	unsigned char data[CW_MAX_INLINE];
	const void *p = data;
	uint32_t n = x->inl;

	if (!x->op && x->idata) {
		p = x->idata;
		n = x->idata_len;
	} else if (n && (n > sizeof(data) || !x->op ||
			 vgpu_exec_stream_read(x->op->iov, x->op->niov, 0, data, n))) {
		return -EIO;    /* checked in submit: cannot happen */
	}
	x->cmd.inline_len = n;
	if (x->has_fd)
		return cw_send_fd(ce->sock, &x->cmd, sizeof(x->cmd), p, n,
				  x->sendfd) ? -EIO : 0;
	return cw_send(ce->sock, &x->cmd, sizeof(x->cmd), p, n, 0) ? -EIO : 0;
}

/* Queue an internal command (no op) right away; caller holds the lock. */
static struct xop *internal_new(uint32_t opcode, uint64_t ctx_id, struct xwait *w)
{
	struct xop *x = calloc(1, sizeof(*x));

	if (!x)
		return NULL;
	x->w = w;
	x->cmd.op = opcode;
	x->cmd.ctx = ctx_id;
	return x;
}

/* ------------------------------------------------------- parallel copy */

/*
 * Staging copies of a MiB or more are split over a process-wide pool of
 * helper threads: one thread's memcpy (about 8 GB/s here) would cap the
 * bandwidth far below the DMA engines'.
 */
#define PC_MIN   (1u << 20)
#define PC_PART  (512u << 10)
#define PC_MAXTH 8

struct pjob {
	const struct vgpu_exec_iov *iov;
	unsigned int niov;
	unsigned char *arena;           /* stream byte 0 <-> arena[0]        */
	uint64_t len;
	bool to_stream;
	int nparts, next, finished;
	struct pjob *next_job;
};

static struct {
	pthread_once_t once;
	pthread_mutex_t lock;           /* protects jobs and their counters  */
	pthread_cond_t work, done;
	struct pjob *jobs;
	int nthreads;
} pc = { .once = PTHREAD_ONCE_INIT, .lock = PTHREAD_MUTEX_INITIALIZER,
	 .work = PTHREAD_COND_INITIALIZER, .done = PTHREAD_COND_INITIALIZER };

static void pc_part(struct pjob *j, int p)
{
	uint64_t off = (uint64_t)p * j->len / (uint64_t)j->nparts;
	uint64_t end = (uint64_t)(p + 1) * j->len / (uint64_t)j->nparts;

	if (j->to_stream)
		vgpu_exec_stream_write(j->iov, j->niov, off, j->arena + off,
				       (size_t)(end - off));
	else
		vgpu_exec_stream_read(j->iov, j->niov, off, j->arena + off,
				      (size_t)(end - off));
}

/* Take a part of the first job with parts left (lock held), or -1. */
static int pc_take(struct pjob **jp)
{
	struct pjob **pp = &pc.jobs;

	while (*pp) {
		struct pjob *j = *pp;

		if (j->next < j->nparts) {
			int p = j->next++;

			if (j->next == j->nparts)
				*pp = j->next_job;      /* fully handed out */
			*jp = j;
			return p;
		}
		pp = &j->next_job;
	}
	return -1;
}

static void *pc_thread(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "cuda-copy");
	pthread_mutex_lock(&pc.lock);
	for (;;) {
		struct pjob *j;
		int p = pc_take(&j);

		if (p < 0) {
			pthread_cond_wait(&pc.work, &pc.lock);
			continue;
		}
		pthread_mutex_unlock(&pc.lock);
		pc_part(j, p);
		pthread_mutex_lock(&pc.lock);
		if (++j->finished == j->nparts)
			pthread_cond_broadcast(&pc.done);
	}
	return NULL;
}

static void pc_init(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int n = cpus > 2 ? (int)(cpus / 2) : 1;
	pthread_attr_t a;

	if (n > PC_MAXTH)
		n = PC_MAXTH;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	for (int i = 0; i < n; i++) {
		pthread_t t;

		if (pthread_create(&t, &a, pc_thread, NULL))
			break;
		pc.nthreads++;
	}
	pthread_attr_destroy(&a);
}

/* Copy stream [0, len) to (or from) arena, in parallel when large. */
static void pc_copy(const struct vgpu_exec_iov *iov, unsigned int niov,
		    unsigned char *arena, uint64_t len, bool to_stream)
{
	struct pjob j = { .iov = iov, .niov = niov, .arena = arena, .len = len,
			  .to_stream = to_stream };

	if (len >= PC_MIN)
		pthread_once(&pc.once, pc_init);
	if (len < PC_MIN || !pc.nthreads) {
		j.nparts = 1;
		pc_part(&j, 0);
		return;
	}
	j.nparts = (int)((len + PC_PART - 1) / PC_PART);
	if (j.nparts > 4 * (pc.nthreads + 1))
		j.nparts = 4 * (pc.nthreads + 1);
	pthread_mutex_lock(&pc.lock);
	j.next_job = pc.jobs;
	pc.jobs = &j;
	pthread_cond_broadcast(&pc.work);
	for (;;) {
		struct pjob *jj;
		int p;

		/* the caller helps with its own job's parts */
		if (j.next >= j.nparts)
			break;
		p = pc_take(&jj);
		if (p < 0)
			break;
		pthread_mutex_unlock(&pc.lock);
		pc_part(jj, p);
		pthread_mutex_lock(&pc.lock);
		if (++jj->finished == jj->nparts)
			pthread_cond_broadcast(&pc.done);
	}
	while (j.finished < j.nparts)
		pthread_cond_wait(&pc.done, &pc.lock);
	pthread_mutex_unlock(&pc.lock);
}

/* Stage an op's bulk input into the arena. */
static void stage_in(struct cuda_exec *ce, struct xop *x)
{
	struct vgpu_exec_op *op = x->op;
	uint64_t len = 0;

	switch (op->opcode) {
	case VGPUIF_OP_MEMCPY_H2D:   len = op->u.copy.length; break;
	case VGPUIF_OP_VECTOR_ADD:   len = 8ull * op->u.vector_add.n; break;
	case VGPUIF_OP_MODULE_LOAD:  len = op->u.module_load.image_len; break;
	default: return;
	}
	/* lengths were checked against the stream in submit */
	pc_copy(op->iov, op->niov, ce->arena + x->cmd.stage_off, len, false);
}

/*
 * Send what can be sent from the pending FIFO, in order; caller holds the
 * lock. Stops at the first op the arena has no room for yet.
 */
static void flush_pending(struct cuda_exec *ce)
{
	while (ce->pending && ce->sock >= 0 && !ce->replacing) {
		struct xop *x = ce->pending;
		struct vgpu_exec_ctx *ctx = x->op ? x->op->ctx : NULL;
		uint64_t off = 0;

		/* a guest context from before a restart exists again */
		if (ctx && ctx->gen != ce->gen && x->cmd.op != VGPUIF_OP_CTX_DESTROY) {
			struct xop *cx = internal_new(VGPUIF_OP_CTX_CREATE, ctx->id, NULL);

			if (!cx)
				return; /* retried at the next flush */
			cx->cmd.tag = ce->next_tag++;
			if (send_cmd(ce, cx)) {
				free(cx);
				return; /* the reader sees the socket die */
			}
			inflight_add(ce, cx);
			ctx->gen = ce->gen;
		}
		for (int i = 0; i < 4; i++)
			if (x->uses[i] && x->uses[i]->gen != ce->gen)
				x->stale = true;
		if (x->stale) {
			/* answered by the worker at once, as a NOP */
			x->cmd.op = VGPUIF_OP_NOP;
			x->cmd.arg[0] = (uint64_t)(int64_t)VGPUIF_RSP_EREMOTEIO;
			x->cmd.stage_len = 0;
			x->cmd.flags &= ~CW_F_HOST;
			x->inl = 0;
		} else if ((x->cmd.flags & CW_F_HOST) && x->op &&
			   x->op->u.copy.host->gen != ce->gen) {
			/* registered with a worker that is gone: staged */
			struct vgpu_exec_hostreg *h = x->op->u.copy.host;

			if (!h->warned)
				CLOG(ce, VGPU_EXEC_LOG_WARN,
				     "registered guest memory (%zu KiB) belongs to "
				     "an earlier GPU worker: its copies are staged "
				     "from now on", h->len >> 10);
			h->warned = true;
			x->cmd.flags &= ~CW_F_HOST;
			x->cmd.obj[1] = 0;
			x->cmd.arg[2] = 0;
			x->cmd.stage_len = x->op->u.copy.length;
		}
		if (x->cmd.stage_len) {
			if (!arena_alloc(ce, x->cmd.stage_len, &off))
				return;
			x->cmd.stage_off = off;
			x->staged = true;
			if (x->op)
				stage_in(ce, x);
		}
		x->cmd.tag = ce->next_tag++;
		if (send_cmd(ce, x))
			return;
		if (x->hreg)
			x->hreg->gen = ce->gen;
		ce->pending = x->next;
		if (ce->pending)
			ce->pending->prev = NULL;
		else
			ce->pending_tail = NULL;
		inflight_add(ce, x);
	}
}

/* ------------------------------------------------------ completing ops */

static void finish_wire_info(struct cuda_exec *ce, struct vgpu_exec_op *op,
			     const struct cw_rsp *r)
{
	struct vgpu_exec_info ei;
	struct vgpuif_info wi;

	memset(&ei, 0, sizeof(ei));
	ei.kind = VGPUIF_EXECUTOR_CUDA;
	memcpy(ei.name, ce->hello.name, sizeof(ei.name));
	ei.total_mem = ce->dev.total_mem;
	ei.free_mem = r->result[0];
	ei.cc_major = ce->hello.cc_major;
	ei.cc_minor = ce->hello.cc_minor;
	ei.sm_count = ce->hello.sm_count;
	ei.ctx_overhead = ce->hello.ctx_overhead;
	ei.copy_mode = zero_copy_off() ? VGPUIF_COPY_STAGED : VGPUIF_COPY_ZERO_COPY;
	op->result[0] = ei.total_mem;
	op->result[1] = ei.free_mem;
	ce->hello.free_mem = ei.free_mem;       /* lock held: the cached figure */
	if (vgpu_exec_stream_len(op->iov, op->niov) >= sizeof(wi)) {
		vgpu_exec_fill_wire_info(&ei, &wi);
		vgpu_exec_stream_write(op->iov, op->niov, 0, &wi, sizeof(wi));
	}
}

/* MODULE_GLOBAL: the same object each time for the same global. */
static int finish_global(struct cuda_exec *ce, struct vgpu_exec_op *op,
			 const struct cw_rsp *r)
{
	struct cobj *mod = (struct cobj *)op->u.module_global.mod, *o;

	for (o = op->ctx->objs; o; o = o->next)
		if (o->kind == K_MEM && o->global && o->mod == mod &&
		    o->wid == r->obj)
			break;
	if (!o) {
		o = obj_new(ce, K_MEM, r->obj);
		if (!o)
			return VGPUIF_RSP_ENOMEM;
		o->global = true;
		o->mod = mod;
		o->addr = r->result[0];
		o->size = r->result[1];
		obj_link(op->ctx, o);
	}
	op->object = o;
	op->result[0] = o->addr;
	op->result[1] = o->size;
	return 0;
}

/*
 * The worker answered x (lock held): copy output, make or free objects.
 * Returns the status for done().
 */
static int finish(struct cuda_exec *ce, struct xop *x, const struct cw_rsp *r,
		  const unsigned char *data)
{
	struct vgpu_exec_op *op = x->op;
	const unsigned char *stage = ce->arena + x->cmd.stage_off;
	struct cobj *o;
	int st = r->status;

	op->exec_ns = r->exec_ns;
	if (x->stale) {
		if (x->freeobj) {       /* freeing a dead worker's object: fine */
			obj_free_any(x->freeobj);
			return 0;
		}
		return st;
	}
	switch (op->opcode) {
	case VGPUIF_OP_GET_INFO:
		if (!st)
			finish_wire_info(ce, op, r);
		break;
	case VGPUIF_OP_MEMCPY_D2H:
		/* zero copy: the GPU wrote the guest's pages itself */
		if (!st && !(x->cmd.flags & CW_F_HOST))
			pc_copy(op->iov, op->niov, (unsigned char *)stage,
				op->u.copy.length, true);
		break;
	case VGPUIF_OP_VECTOR_ADD:
		if (!st)
			vgpu_exec_stream_write(op->iov, op->niov,
					       8ull * op->u.vector_add.n,
					       stage + 8ull * op->u.vector_add.n,
					       4ull * op->u.vector_add.n);
		break;
	case VGPUIF_OP_FUNC_INFO:
		if (st)
			break;
		if (r->inline_len != sizeof(struct vgpuif_func_info)) {
			st = VGPUIF_RSP_EIO;
			break;
		}
		vgpu_exec_stream_write(op->iov, op->niov, 0, data, r->inline_len);
		break;
	case VGPUIF_OP_STREAM_QUERY:
	case VGPUIF_OP_EVENT_QUERY:
	case VGPUIF_OP_EVENT_ELAPSED:
		op->result[0] = r->result[0];
		break;
	case VGPUIF_OP_MODULE_GLOBAL:
		if (!st)
			st = finish_global(ce, op, r);
		break;
	case VGPUIF_OP_MODULE_LOAD:
		op->result[1] = r->result[1];
		op->result[0] = r->result[0];   /* with EDQUOT: what it would */
		if (!st)
			op->mem_charged = r->result[0];
		else if (st == VGPUIF_RSP_EDQUOT)
			refusal_log(ce, "refused MODULE_LOAD (EDQUOT): the module "
				    "would hold %llu bytes of device memory (code, "
				    "variables and constants) and the domain's "
				    "quota leaves %llu",
				    (unsigned long long)r->result[0],
				    (unsigned long long)op->mem_limit);
		if (r->result[1] && r->result[1] <= op->u.module_load.log_len)
			vgpu_exec_stream_write(op->iov, op->niov,
					       op->u.module_load.image_len,
					       stage + op->u.module_load.image_len,
					       (size_t)r->result[1]);
		/* fall through */
	case VGPUIF_OP_MEM_ALLOC:
	case VGPUIF_OP_FUNC_GET:
	case VGPUIF_OP_STREAM_CREATE:
	case VGPUIF_OP_EVENT_CREATE:
		if (st)
			break;
		o = obj_new(ce, K_MEM, r->obj);
		if (!o) {
			/* the worker's object leaks until the context dies */
			st = VGPUIF_RSP_ENOMEM;
			break;
		}
		switch (op->opcode) {
		case VGPUIF_OP_MEM_ALLOC:
			o->size = op->u.mem_alloc.size;
			o->addr = r->result[1];
			op->result[0] = o->size;
			op->result[1] = o->addr;
			break;
		case VGPUIF_OP_MODULE_LOAD:
			o->kind = K_MOD;
			break;
		case VGPUIF_OP_FUNC_GET:
			o->kind = K_FUNC;
			o->mod = (struct cobj *)op->u.func_get.mod;
			o->param_bytes = (uint32_t)r->result[1];
			o->local_bytes = r->result[0] > UINT32_MAX ? UINT32_MAX :
					 (uint32_t)r->result[0];
			op->result[1] = r->result[1];
			break;
		case VGPUIF_OP_STREAM_CREATE:
			o->kind = K_STREAM;
			op->result[1] = r->result[1];   /* the priority it got */
			break;
		default:
			o->kind = K_EVENT;
			break;
		}
		obj_link(op->ctx, o);
		op->object = o;
		break;
	case VGPUIF_OP_MEM_FREE:
	case VGPUIF_OP_MODULE_UNLOAD:
	case VGPUIF_OP_STREAM_DESTROY:
	case VGPUIF_OP_EVENT_DESTROY:
		if (!st)
			obj_free_any(x->freeobj);
		break;
	case VGPUIF_OP_CTX_DESTROY:
		ctx_free(ce, x->freectx);
		break;
	default:
		break;
	}
	return st;
}

/* ------------------------------------------------------------- reader */

struct done_item {
	struct vgpu_exec_op *op;
	int status;
};

static void complete_internal(struct xop *x, const struct cw_rsp *r)
{
	if (x->w) {
		pthread_mutex_lock(&x->w->lock);
		x->w->rsp = *r;
		x->w->done = true;
		pthread_cond_broadcast(&x->w->cond);
		pthread_mutex_unlock(&x->w->lock);
	}
	free(x);
}

/*
 * End the worker (lock held): every in-flight op fails, the oldest with
 * head_status; returns the ops to complete (count in *n, array malloc'd).
 */
static struct done_item *fail_inflight(struct cuda_exec *ce, int head_status,
				       size_t *n)
{
	struct done_item *items;
	size_t cnt = 0, i = 0;
	struct xop *x, *next;

	for (x = ce->inflight; x; x = x->next)
		cnt++;
	items = calloc(cnt ? cnt : 1, sizeof(*items));
	for (x = ce->inflight; x; x = next) {
		struct cw_rsp r = { .tag = x->cmd.tag };
		/*
		 * The head's status; with it, a watchdog expiry is every
		 * in-flight op's cause (a SYNC that waited for the stopped
		 * kernel says ETIMEDOUT, as CUDA's sticky LAUNCH_TIMEOUT
		 * does); after a fault the others only lost their state.
		 */
		int st = x == ce->inflight || head_status == VGPUIF_RSP_ETIMEDOUT ?
			 head_status : VGPUIF_RSP_EREMOTEIO;

		next = x->next;
		r.status = st;
		r.lost = 1;
		if (!x->op) {
			complete_internal(x, &r);
			continue;
		}
		if (x->freeobj) {       /* the object is gone with the worker */
			st = 0;
			obj_free_any(x->freeobj);
		}
		if (x->freectx) {
			st = 0;
			ctx_free(ce, x->freectx);
		}
		if (items) {
			items[i].op = x->op;
			items[i].status = st;
			i++;
		}
		free(x);
	}
	ce->inflight = ce->inflight_tail = NULL;
	memset(ce->bucket, 0, sizeof(ce->bucket));
	ce->arena_head = 0;
	*n = i;
	return items;
}

static void call_done(struct done_item *items, size_t n)
{
	for (size_t i = 0; i < n; i++)
		items[i].op->done(items[i].op, items[i].status);
	free(items);
}

/* Kill the worker, fail what it held, start a new one. Lock not held. */
static void worker_restart(struct cuda_exec *ce, int head_status,
			   const char *reason)
{
	struct done_item *items;
	size_t n;
	int sock, rc;
	pid_t pid;
	char why[256];
	struct cw_hello hello;

	pthread_mutex_lock(&ce->lock);
	sock = ce->sock;
	pid = ce->pid;
	ce->sock = -1;
	ce->pid = 0;
	ce->replacing = false;          /* sock < 0 holds everything now */
	items = fail_inflight(ce, head_status, &n);
	ce->gen++;
	ce->restarts++;
	pthread_mutex_unlock(&ce->lock);

	worker_reap(ce, sock, pid);
	if (__atomic_load_n(&ce->closing, __ATOMIC_ACQUIRE)) {
		call_done(items, n);
		return;
	}
	CLOG(ce, VGPU_EXEC_LOG_WARN,
	     "%s: the domain's CUDA context is lost (%zu requests failed); "
	     "starting a new GPU worker", reason, n);
	call_done(items, n);

	rc = worker_spawn(ce, &sock, &pid, &hello, why, sizeof(why));
	pthread_mutex_lock(&ce->lock);
	if (rc) {
		ce->dead = true;
		CLOG(ce, VGPU_EXEC_LOG_ERROR, "cannot restart the GPU worker: %s", why);
	} else {
		ce->sock = sock;
		ce->pid = pid;
		ce->hello = hello;
		if (hello.lim_stack > ce->lmem_per_thread)
			ce->lmem_per_thread = hello.lim_stack;
		CLOG(ce, VGPU_EXEC_LOG_INFO, "GPU worker %d ready (generation %u, "
		     "stack %llu bytes per thread)", (int)pid, ce->gen,
		     (unsigned long long)hello.lim_stack);
		flush_pending(ce);      /* what came in meanwhile */
	}
	pthread_cond_broadcast(&ce->idle_cond);
	pthread_mutex_unlock(&ce->lock);
}

/* Answer every pending op (the executor is dead or closing). */
static void fail_pending(struct cuda_exec *ce, int status)
{
	struct done_item *items;
	size_t n = 0, i = 0;
	struct xop *x, *next;

	pthread_mutex_lock(&ce->lock);
	for (x = ce->pending; x; x = x->next)
		n++;
	items = calloc(n ? n : 1, sizeof(*items));
	for (x = ce->pending; x; x = next) {
		struct cw_rsp r = { .status = status };

		next = x->next;
		if (!x->op) {
			complete_internal(x, &r);
			continue;
		}
		if (x->freectx)
			ctx_free(ce, x->freectx);
		if (items) {
			items[i].op = x->op;
			items[i].status = status;
			i++;
		}
		free(x);
	}
	ce->pending = ce->pending_tail = NULL;
	pthread_cond_broadcast(&ce->idle_cond);
	pthread_mutex_unlock(&ce->lock);
	call_done(items, i);
}

static void *reader_thread(void *arg)
{
	struct cuda_exec *ce = arg;
	uint64_t spin_ns = 30000;
	const char *sp = getenv("VGPU_EXEC_SPIN_US");
	static __thread struct {
		struct cw_rsp r;
		unsigned char data[CW_MAX_INLINE];
	} in;

	if (sp)
		spin_ns = strtoull(sp, NULL, 10) * 1000ull;
	pthread_setname_np(pthread_self(), "cuda-reader");
	for (;;) {
		struct cw_rsp *r = &in.r;
		struct pollfd pfd;
		struct xop *x;
		ssize_t got;
		int timeout = -1, rc, st;
		int sock;
		uint64_t t;

		pthread_mutex_lock(&ce->lock);
		while (ce->sock < 0 && !ce->dead && !ce->closing)
			pthread_cond_wait(&ce->idle_cond, &ce->lock);
		if (ce->dead || (ce->closing && ce->sock < 0)) {
			pthread_mutex_unlock(&ce->lock);
			break;
		}
		sock = ce->sock;
		if (ce->watchdog_ms && ce->inflight) {
			uint64_t age = vgpu_exec_now_ns() - ce->head_since;
			uint64_t lim = (uint64_t)ce->watchdog_ms * 1000000ull;

			if (age >= lim) {
				pthread_mutex_unlock(&ce->lock);
				CLOG(ce, VGPU_EXEC_LOG_WARN,
				     "watchdog: a request ran past %u ms", ce->watchdog_ms);
				worker_restart(ce, VGPUIF_RSP_ETIMEDOUT,
					       "watchdog expired");
				continue;
			}
			timeout = (int)((lim - age) / 1000000ull) + 1;
		} else if (ce->watchdog_ms) {
			timeout = 50;   /* an op may arrive: look again soon */
		}
		pthread_mutex_unlock(&ce->lock);

		/* a short spin first: answers of small ops come within µs */
		t = vgpu_exec_now_ns();
		do
			got = cw_recv(sock, &in, sizeof(in), MSG_DONTWAIT);
		while ((got == -EAGAIN || got == -EINTR) &&
		       vgpu_exec_now_ns() - t < spin_ns);
		if (got == -EAGAIN || got == -EINTR) {
			pfd.fd = sock;
			pfd.events = POLLIN;
			rc = poll(&pfd, 1, timeout);
			if (rc == 0 || (rc < 0 && errno == EINTR))
				continue;
			got = cw_recv(sock, &in, sizeof(in), MSG_DONTWAIT);
			if (got == -EAGAIN || got == -EINTR)
				continue;
		}
		if (got < (ssize_t)sizeof(*r) ||
		    (size_t)got != sizeof(*r) + r->inline_len) {
			if (__atomic_load_n(&ce->closing, __ATOMIC_ACQUIRE)) {
				struct done_item *items;
				size_t n;

				/* a forced close: what was in flight is answered */
				pthread_mutex_lock(&ce->lock);
				sock = ce->sock;
				ce->sock = -1;
				items = fail_inflight(ce, VGPUIF_RSP_ESHUTDOWN, &n);
				pthread_mutex_unlock(&ce->lock);
				worker_reap(ce, sock, ce->pid);
				ce->pid = 0;
				for (size_t i = 0; i < n; i++)
					if (items[i].status)
						items[i].status = VGPUIF_RSP_ESHUTDOWN;
				call_done(items, n);
				break;
			}
			worker_restart(ce, VGPUIF_RSP_EREMOTEIO,
				       got > 0 ? "the GPU worker sent a malformed answer"
					       : "the GPU worker died");
			continue;
		}

		pthread_mutex_lock(&ce->lock);
		x = inflight_take(ce, r->tag);
		if (!x) {
			pthread_mutex_unlock(&ce->lock);
			worker_restart(ce, VGPUIF_RSP_EIO,
				       "the GPU worker answered a request never sent");
			continue;
		}
		if (!x->op) {
			if (x->cmd.op == VGPUIF_OP_CTX_CREATE && r->status)
				CLOG(ce, VGPU_EXEC_LOG_WARN,
				     "context %llu: no default stream: %s",
				     (unsigned long long)x->cmd.ctx,
				     vgpuif_status_str(r->status));
			complete_internal(x, r);
			st = 0;
			x = NULL;
		} else {
			st = finish(ce, x, r, in.data);
		}
		/*
		 * A poisoned context: what the guest sends after this answer
		 * (done() below) waits for the new worker, not the old one,
		 * which would answer it EREMOTEIO.
		 */
		if (r->lost)
			ce->replacing = true;
		flush_pending(ce);
		if (!ce->inflight && !ce->pending)
			pthread_cond_broadcast(&ce->idle_cond);
		pthread_mutex_unlock(&ce->lock);

		if (x) {
			struct vgpu_exec_op *op = x->op;

			free(x);
			op->done(op, st);
		}
		if (r->lost)
			worker_restart(ce, VGPUIF_RSP_EREMOTEIO,
				       "a GPU fault (sticky CUDA error)");
	}
	fail_pending(ce, ce->dead ? VGPUIF_RSP_EIO : VGPUIF_RSP_ESHUTDOWN);
	return NULL;
}

/* ------------------------------------------------------------- submit */

/* op->stream: NULL (the default stream) or a stream of ctx. */
static bool use_stream(struct vgpu_exec_op *op, struct xop *x, int slot)
{
	struct cobj *s = (struct cobj *)op->stream;

	if (!s)
		return true;
	if (!obj_ok(op->ctx, s, K_STREAM))
		return false;
	x->cmd.stream = s->wid;
	x->uses[slot] = s;
	return true;
}

/* An event of ctx, into cmd.event[i]. */
static bool use_event(struct vgpu_exec_op *op, struct xop *x, const void *e,
		      int i, int slot)
{
	const struct cobj *o = e;

	if (!obj_ok(op->ctx, o, K_EVENT))
		return false;
	x->cmd.event[i] = o->wid;
	x->uses[slot] = (struct cobj *)o;
	return true;
}

/* A device range of ctx: ordinary memory or a module's global. */
static bool use_mem(struct vgpu_exec_op *op, struct xop *x, const void *m,
		    int i)
{
	struct cobj *o = (struct cobj *)m;

	if (!obj_ok(op->ctx, o, K_MEM))
		return false;
	x->cmd.obj[i] = o->wid;
	x->uses[i] = o;
	return true;
}

/*
 * LAUNCH: local memory. A kernel that needs more local bytes per thread
 * than any launch before makes the driver grow the context's reservation
 * to that many bytes for every thread the device holds at once, and keep
 * it: the growth is charged (op->mem_charged), or refused past mem_limit
 * before the launch is made.
 */
static int local_charge(struct cuda_exec *ce, struct vgpu_exec_op *op,
			const struct cobj *f)
{
	uint64_t per = ((uint64_t)f->local_bytes + 15u) & ~15ull, grow;
	int st = 0;

	op->mem_charged = 0;
	if (!per)
		return 0;
	pthread_mutex_lock(&ce->lock);
	if (per > ce->lmem_per_thread) {
		grow = (per - ce->lmem_per_thread) * ce->hello.resident_threads;
		if (op->mem_limited && grow > op->mem_limit) {
			st = VGPUIF_RSP_EDQUOT;
			refusal_log(ce, "refused LAUNCH (EDQUOT): the kernel needs "
				    "%u bytes of local memory per thread, so the "
				    "driver would reserve %llu bytes more (%llu "
				    "bytes per thread for the %llu threads the GPU "
				    "holds at once, %llu now); the domain's quota "
				    "leaves %llu", f->local_bytes,
				    (unsigned long long)grow,
				    (unsigned long long)per,
				    (unsigned long long)ce->hello.resident_threads,
				    (unsigned long long)ce->lmem_per_thread,
				    (unsigned long long)op->mem_limit);
		} else {
			ce->lmem_per_thread = per;
			op->mem_charged = grow;
		}
	}
	pthread_mutex_unlock(&ce->lock);
	return st;
}

/* What local_charge would charge for a launch of f now (executor.h). */
static uint64_t cuda_launch_mem(struct vgpu_exec *ex, struct vgpu_exec_func *func)
{
	struct cuda_exec *ce = (struct cuda_exec *)ex;
	const struct cobj *f = (const struct cobj *)func;
	uint64_t per, grow = 0;

	if (!f || f->magic != CU_OBJ_MAGIC || f->kind != K_FUNC)
		return 0;
	per = ((uint64_t)f->local_bytes + 15u) & ~15ull;
	pthread_mutex_lock(&ce->lock);
	if (per > ce->lmem_per_thread)
		grow = (per - ce->lmem_per_thread) * ce->hello.resident_threads;
	pthread_mutex_unlock(&ce->lock);
	return grow;
}

static int check_op(struct cuda_exec *ce, struct vgpu_exec_op *op,
		    struct xop *x)
{
	struct vgpu_exec_ctx *ctx = op->ctx;
	struct cw_cmd *c = &x->cmd;
	uint64_t slen = vgpu_exec_stream_len(op->iov, op->niov);
	struct cobj *m, *m2;

	c->op = op->opcode;
	c->flags = op->yield ? CW_F_YIELD : 0;
	switch (op->opcode) {
	case VGPUIF_OP_GET_INFO:
		c->op = CW_OP_MEMINFO;
		return 0;
	case VGPUIF_OP_NOP:
		return 0;
	case VGPUIF_OP_SYNC:
	case VGPUIF_OP_VECTOR_ADD:
		/* the context is optional */
		if (ctx && ctx->magic != CU_CTX_MAGIC)
			return VGPUIF_RSP_EBADF;
		c->ctx = ctx ? ctx->id : 0;
		if (op->opcode == VGPUIF_OP_SYNC)
			return 0;
		if (op->u.vector_add.n == 0 ||
		    op->u.vector_add.n > VGPUIF_MAX_VECTOR_ADD_ELEMS)
			return VGPUIF_RSP_EINVAL;
		if (slen < 12ull * op->u.vector_add.n)
			return VGPUIF_RSP_ERANGE;
		c->arg[0] = op->u.vector_add.n;
		c->stage_len = 12ull * op->u.vector_add.n;
		return 0;
	case VGPUIF_OP_CTX_CREATE:
		return 0;       /* handled by the caller */
	case VGPUIF_OP_CTX_DESTROY:
	case VGPUIF_OP_MEM_ALLOC:
	case VGPUIF_OP_MEM_FREE:
	case VGPUIF_OP_MEMCPY_H2D:
	case VGPUIF_OP_MEMCPY_D2H:
	case VGPUIF_OP_MEMCPY_D2D:
	case VGPUIF_OP_MEMSET:
	case VGPUIF_OP_MODULE_LOAD:
	case VGPUIF_OP_MODULE_UNLOAD:
	case VGPUIF_OP_FUNC_GET:
	case VGPUIF_OP_LAUNCH:
	case VGPUIF_OP_STREAM_CREATE:
	case VGPUIF_OP_STREAM_DESTROY:
	case VGPUIF_OP_STREAM_SYNC:
	case VGPUIF_OP_STREAM_QUERY:
	case VGPUIF_OP_STREAM_WAIT_EVENT:
	case VGPUIF_OP_EVENT_CREATE:
	case VGPUIF_OP_EVENT_DESTROY:
	case VGPUIF_OP_EVENT_RECORD:
	case VGPUIF_OP_EVENT_SYNC:
	case VGPUIF_OP_EVENT_QUERY:
	case VGPUIF_OP_EVENT_ELAPSED:
	case VGPUIF_OP_FUNC_INFO:
	case VGPUIF_OP_FUNC_SET_ATTR:
	case VGPUIF_OP_MODULE_GLOBAL:
		if (!ctx || ctx->magic != CU_CTX_MAGIC)
			return VGPUIF_RSP_EBADF;
		c->ctx = ctx->id;
		break;
	default:
		/* DEVICE_INFO too: the backend answers it from the snapshot */
		return VGPUIF_RSP_ENOSYS;
	}

	switch (op->opcode) {
	case VGPUIF_OP_CTX_DESTROY:
		x->freectx = ctx;
		return 0;
	case VGPUIF_OP_MEM_ALLOC:
		if (op->u.mem_alloc.size == 0)
			return VGPUIF_RSP_EINVAL;
		c->arg[0] = op->u.mem_alloc.size;
		return 0;
	case VGPUIF_OP_MEM_FREE:
		m = (struct cobj *)op->u.mem_free.mem;
		if (!use_mem(op, x, m, 0))
			return VGPUIF_RSP_EBADF;
		if (m->global)
			return VGPUIF_RSP_EINVAL;       /* it goes with its module */
		x->freeobj = m;
		return 0;
	case VGPUIF_OP_MEMCPY_H2D:
	case VGPUIF_OP_MEMCPY_D2H:
		m = (struct cobj *)op->u.copy.mem;
		if (!use_mem(op, x, m, 0) || !use_stream(op, x, 2))
			return VGPUIF_RSP_EBADF;
		if (op->u.copy.length == 0)
			return VGPUIF_RSP_EINVAL;
		if (!vgpuif_range_ok(op->u.copy.offset, op->u.copy.length, m->size) ||
		    slen < op->u.copy.length)
			return VGPUIF_RSP_ERANGE;
		if (op->u.copy.length > ce->arena_size)
			return VGPUIF_RSP_E2BIG;
		c->arg[0] = op->u.copy.offset;
		c->arg[1] = op->u.copy.length;
		if (op->u.copy.host) {
			struct vgpu_exec_hostreg *h = op->u.copy.host;

			if (h->magic != CU_HOSTREG_MAGIC)
				return VGPUIF_RSP_EBADF;
			if (!vgpuif_range_ok(op->u.copy.host_offset,
					     op->u.copy.length, h->len))
				return VGPUIF_RSP_ERANGE;
			if (op->opcode == VGPUIF_OP_MEMCPY_D2H && !h->writable)
				return VGPUIF_RSP_EPERM;
			/* zero copy (flush_pending stages it after a restart) */
			c->flags |= CW_F_HOST;
			c->obj[1] = h->wid;
			c->arg[2] = op->u.copy.host_offset;
			return 0;
		}
		c->stage_len = op->u.copy.length;
		return 0;
	case VGPUIF_OP_MEMCPY_D2D:
		m = (struct cobj *)op->u.d2d.dst;
		m2 = (struct cobj *)op->u.d2d.src;
		if (!use_mem(op, x, m, 0) || !use_mem(op, x, m2, 1) ||
		    !use_stream(op, x, 2))
			return VGPUIF_RSP_EBADF;
		if (op->u.d2d.length == 0)
			return VGPUIF_RSP_EINVAL;
		if (!vgpuif_range_ok(op->u.d2d.dst_offset, op->u.d2d.length, m->size) ||
		    !vgpuif_range_ok(op->u.d2d.src_offset, op->u.d2d.length, m2->size))
			return VGPUIF_RSP_ERANGE;
		c->arg[0] = op->u.d2d.dst_offset;
		c->arg[1] = op->u.d2d.src_offset;
		c->arg[2] = op->u.d2d.length;
		return 0;
	case VGPUIF_OP_MEMSET: {
		uint32_t es = op->u.memset.elem_size;

		m = (struct cobj *)op->u.memset.mem;
		if (!use_mem(op, x, m, 0) || !use_stream(op, x, 2))
			return VGPUIF_RSP_EBADF;
		if (es != 1 && es != 2 && es != 4)
			return VGPUIF_RSP_EINVAL;
		if (op->u.memset.length == 0 || op->u.memset.offset % es ||
		    op->u.memset.length % es)
			return VGPUIF_RSP_EINVAL;
		if (!vgpuif_range_ok(op->u.memset.offset, op->u.memset.length, m->size))
			return VGPUIF_RSP_ERANGE;
		c->arg[0] = op->u.memset.offset;
		c->arg[1] = op->u.memset.length;
		c->arg[2] = op->u.memset.value;
		c->arg[3] = es;
		return 0;
	}
	case VGPUIF_OP_MODULE_LOAD: {
		uint64_t il = op->u.module_load.image_len;
		uint32_t ll = op->u.module_load.log_len;

		if (il == 0 || op->u.module_load.format > VGPUIF_MODULE_FATBIN)
			return VGPUIF_RSP_EINVAL;
		if (il > VGPUIF_MAX_MODULE_BYTES || ll > VGPUIF_MAX_MODULE_LOG)
			return VGPUIF_RSP_E2BIG;
		if (slen < il + ll)
			return VGPUIF_RSP_ERANGE;
		c->arg[0] = il;
		c->arg[1] = op->u.module_load.format;
		c->arg[2] = ll;
		c->arg[3] = op->mem_limited ? op->mem_limit : UINT64_MAX;
		c->stage_len = il + ll;
		return 0;
	}
	case VGPUIF_OP_MODULE_UNLOAD:
		m = (struct cobj *)op->u.module_unload.mod;
		if (!obj_ok(ctx, m, K_MOD))
			return VGPUIF_RSP_EBADF;
		c->obj[0] = m->wid;
		x->freeobj = m;
		x->uses[0] = m;
		return 0;
	case VGPUIF_OP_FUNC_GET:
	case VGPUIF_OP_MODULE_GLOBAL: {
		uint32_t len = op->opcode == VGPUIF_OP_FUNC_GET ?
			       op->u.func_get.name_len : op->u.module_global.name_len;
		uint32_t max = op->opcode == VGPUIF_OP_FUNC_GET ?
			       VGPUIF_MAX_FUNC_NAME : VGPUIF_MAX_GLOBAL_NAME;

		m = (struct cobj *)(op->opcode == VGPUIF_OP_FUNC_GET ?
				    (void *)op->u.func_get.mod :
				    (void *)op->u.module_global.mod);
		if (!obj_ok(ctx, m, K_MOD))
			return VGPUIF_RSP_EBADF;
		if (len == 0)
			return VGPUIF_RSP_EINVAL;
		if (len > max || len > CW_MAX_INLINE)
			return VGPUIF_RSP_E2BIG;
		if (slen < len)
			return VGPUIF_RSP_ERANGE;
		c->obj[0] = m->wid;
		x->inl = len;
		x->uses[0] = m;
		return 0;
	}
	case VGPUIF_OP_LAUNCH: {
		const uint32_t *g = op->u.launch.grid, *b = op->u.launch.block;
		uint32_t plen = op->u.launch.param_len;

		m = (struct cobj *)op->u.launch.func;
		if (!obj_ok(ctx, m, K_FUNC) || !use_stream(op, x, 2))
			return VGPUIF_RSP_EBADF;
		if (!g[0] || !g[1] || !g[2] || !b[0] || !b[1] || !b[2])
			return VGPUIF_RSP_EINVAL;
		if (g[0] > VGPUIF_MAX_GRID_DIM_X || g[1] > VGPUIF_MAX_GRID_DIM_YZ ||
		    g[2] > VGPUIF_MAX_GRID_DIM_YZ ||
		    (uint64_t)b[0] * b[1] * b[2] > VGPUIF_MAX_BLOCK_THREADS)
			return VGPUIF_RSP_EINVAL;
		if (plen > VGPUIF_MAX_PARAM_BYTES || plen > CW_MAX_INLINE)
			return VGPUIF_RSP_E2BIG;
		if (slen < plen)
			return VGPUIF_RSP_ERANGE;
		/* checked again by the worker against the kernel's layout */
		if (m->param_bytes &&
		    (plen < m->param_bytes || plen > ((m->param_bytes + 7u) & ~7u)))
			return VGPUIF_RSP_EINVAL;
		c->obj[0] = m->wid;
		memcpy(c->dims, g, 3 * sizeof(*g));
		memcpy(c->dims + 3, b, 3 * sizeof(*b));
		c->dims[6] = op->u.launch.shared_mem;
		c->dims[7] = plen;
		x->inl = plen;
		x->uses[0] = m;
		return local_charge(ce, op, m);
	}
	case VGPUIF_OP_STREAM_CREATE:
		if (op->u.stream_create.flags & ~VGPUIF_STREAM_F_ALL)
			return VGPUIF_RSP_EINVAL;
		c->arg[0] = op->u.stream_create.flags;
		c->arg[1] = (uint64_t)(int64_t)op->u.stream_create.priority;
		return 0;
	case VGPUIF_OP_STREAM_DESTROY:
		if (!op->stream || !use_stream(op, x, 2))
			return VGPUIF_RSP_EBADF;
		x->freeobj = (struct cobj *)op->stream;
		return 0;
	case VGPUIF_OP_STREAM_SYNC:
	case VGPUIF_OP_STREAM_QUERY:
		return use_stream(op, x, 2) ? 0 : VGPUIF_RSP_EBADF;
	case VGPUIF_OP_STREAM_WAIT_EVENT:
	case VGPUIF_OP_EVENT_RECORD:
		if (!use_stream(op, x, 2) || !use_event(op, x, op->u.event.event, 0, 0))
			return VGPUIF_RSP_EBADF;
		return 0;
	case VGPUIF_OP_EVENT_CREATE:
		if (op->u.event_create.flags & ~VGPUIF_EVENT_F_ALL)
			return VGPUIF_RSP_EINVAL;
		c->arg[0] = op->u.event_create.flags;
		return 0;
	case VGPUIF_OP_EVENT_DESTROY:
	case VGPUIF_OP_EVENT_SYNC:
	case VGPUIF_OP_EVENT_QUERY:
		if (!use_event(op, x, op->u.event.event, 0, 0))
			return VGPUIF_RSP_EBADF;
		if (op->opcode == VGPUIF_OP_EVENT_DESTROY)
			x->freeobj = (struct cobj *)op->u.event.event;
		return 0;
	case VGPUIF_OP_EVENT_ELAPSED:
		if (!use_event(op, x, op->u.elapsed.start, 0, 0) ||
		    !use_event(op, x, op->u.elapsed.end, 1, 1))
			return VGPUIF_RSP_EBADF;
		return 0;
	case VGPUIF_OP_FUNC_INFO:
	case VGPUIF_OP_FUNC_SET_ATTR:
		m = (struct cobj *)(op->opcode == VGPUIF_OP_FUNC_INFO ?
				    (void *)op->u.func_info.func :
				    (void *)op->u.func_attr.func);
		if (!obj_ok(ctx, m, K_FUNC))
			return VGPUIF_RSP_EBADF;
		c->obj[0] = m->wid;
		x->uses[0] = m;
		if (op->opcode == VGPUIF_OP_FUNC_INFO) {
			if (slen < sizeof(struct vgpuif_func_info))
				return VGPUIF_RSP_ERANGE;
			return 0;
		}
		c->arg[0] = op->u.func_attr.attr;
		c->arg[1] = (uint64_t)(int64_t)op->u.func_attr.value;
		return 0;
	}
	return VGPUIF_RSP_ENOSYS;
}

static int queue_xop(struct cuda_exec *ce, struct xop *x)
{
	pthread_mutex_lock(&ce->lock);
	if (ce->dead || ce->closing) {
		pthread_mutex_unlock(&ce->lock);
		return ce->dead ? VGPUIF_RSP_EIO : VGPUIF_RSP_ESHUTDOWN;
	}
	fifo_push(&ce->pending, &ce->pending_tail, x);
	flush_pending(ce);
	pthread_mutex_unlock(&ce->lock);
	return 0;
}

static int cuda_ctx_create(struct vgpu_exec *ex, struct vgpu_exec_ctx **out);

static int cuda_submit(struct vgpu_exec *ex, struct vgpu_exec_op *op)
{
	struct cuda_exec *ce = to_ce(ex);
	struct xop *x;
	int rc;

	if (op->opcode == VGPUIF_OP_NOP && !op->ctx) {
		/* nothing to order against: answer at once */
		op->done(op, 0);
		return 0;
	}
	if (op->opcode == VGPUIF_OP_CTX_CREATE) {
		struct vgpu_exec_ctx *ctx;

		rc = cuda_ctx_create(ex, &ctx);
		if (rc < 0)
			return rc == -ENOMEM ? VGPUIF_RSP_ENOMEM : VGPUIF_RSP_EIO;
		op->object = ctx;
		op->done(op, 0);
		return 0;
	}
	x = calloc(1, sizeof(*x));
	if (!x)
		return VGPUIF_RSP_ENOMEM;
	x->op = op;
	rc = check_op(ce, op, x);
	if (rc) {
		free(x);
		return rc;
	}
	rc = queue_xop(ce, x);
	if (rc)
		free(x);
	return rc;
}

/* Send an internal command and wait for its answer (not on the reader). */
static int internal_wait(struct cuda_exec *ce, uint32_t opcode, uint64_t ctx_id,
			 struct cw_rsp *rsp)
{
	struct xwait w;
	struct xop *x;
	int rc;

	memset(&w, 0, sizeof(w));
	pthread_mutex_init(&w.lock, NULL);
	pthread_cond_init(&w.cond, NULL);
	x = internal_new(opcode, ctx_id, &w);
	if (!x)
		return -ENOMEM;
	rc = queue_xop(ce, x);
	if (rc) {
		free(x);
		return -EIO;
	}
	pthread_mutex_lock(&w.lock);
	while (!w.done)
		pthread_cond_wait(&w.cond, &w.lock);
	pthread_mutex_unlock(&w.lock);
	pthread_cond_destroy(&w.cond);
	pthread_mutex_destroy(&w.lock);
	*rsp = w.rsp;
	return 0;
}

/* ------------------------------------------------------ the interface */

static int cuda_ctx_create(struct vgpu_exec *ex, struct vgpu_exec_ctx **out)
{
	struct cuda_exec *ce = to_ce(ex);
	struct vgpu_exec_ctx *ctx = calloc(1, sizeof(*ctx));
	struct xop *x;

	if (!ctx)
		return -ENOMEM;
	x = internal_new(VGPUIF_OP_CTX_CREATE, 0, NULL);
	if (!x) {
		free(ctx);
		return -ENOMEM;
	}
	pthread_mutex_lock(&ce->lock);
	if (ce->dead) {
		pthread_mutex_unlock(&ce->lock);
		free(x);
		free(ctx);
		return -EIO;
	}
	ctx->magic = CU_CTX_MAGIC;
	ctx->id = ++ce->next_ctx_id;
	ctx->gen = ce->gen;
	ctx->next = ce->ctxs;
	if (ctx->next)
		ctx->next->prev = ctx;
	ce->ctxs = ctx;
	/* the worker makes its default stream in order, without us waiting */
	x->cmd.ctx = ctx->id;
	fifo_push(&ce->pending, &ce->pending_tail, x);
	flush_pending(ce);
	pthread_mutex_unlock(&ce->lock);
	*out = ctx;
	return 0;
}

static void cuda_ctx_destroy(struct vgpu_exec *ex, struct vgpu_exec_ctx *ctx)
{
	struct cuda_exec *ce = to_ce(ex);
	struct cw_rsp r;

	if (ctx->magic != CU_CTX_MAGIC)
		return;
	if (pthread_equal(pthread_self(), ce->reader)) {
		/* from inside done(): cannot wait for the worker */
		struct xop *x = internal_new(VGPUIF_OP_CTX_DESTROY, ctx->id, NULL);

		if (x && queue_xop(ce, x))
			free(x);
	} else {
		/* waits for the context's work; frees its device memory */
		internal_wait(ce, VGPUIF_OP_CTX_DESTROY, ctx->id, &r);
	}
	pthread_mutex_lock(&ce->lock);
	ctx_free(ce, ctx);
	pthread_mutex_unlock(&ce->lock);
}

/* Is a guest op (not one of ours, which are quick) queued? Lock held. */
static bool guest_work_queued(struct cuda_exec *ce)
{
	for (struct xop *x = ce->inflight; x; x = x->next)
		if (x->op)
			return true;
	for (struct xop *x = ce->pending; x; x = x->next)
		if (x->op)
			return true;
	return false;
}

static int cuda_mem_info(struct vgpu_exec *ex, uint64_t *free_b, uint64_t *total_b)
{
	struct cuda_exec *ce = to_ce(ex);
	struct cw_rsp r;
	int rc;

	/*
	 * The worker answers at once, but behind what it is executing (a
	 * module's JIT, say): with guest work queued or from inside done(),
	 * answer the last value seen instead of making the caller (the
	 * backend's ring thread) wait. Idle, the figure is exact (leak checks
	 * rely on it).
	 */
	pthread_mutex_lock(&ce->lock);
	if (guest_work_queued(ce) || pthread_equal(pthread_self(), ce->reader)) {
		*free_b = ce->hello.free_mem;
		*total_b = ce->dev.total_mem;
		pthread_mutex_unlock(&ce->lock);
		return 0;
	}
	pthread_mutex_unlock(&ce->lock);
	rc = internal_wait(ce, CW_OP_MEMINFO, 0, &r);
	if (rc)
		return rc;
	if (r.status)
		return -EIO;
	pthread_mutex_lock(&ce->lock);
	ce->hello.free_mem = r.result[0];
	pthread_mutex_unlock(&ce->lock);
	*free_b = r.result[0];
	*total_b = ce->dev.total_mem;
	return 0;
}

static int cuda_get_info(struct vgpu_exec *ex, struct vgpu_exec_info *info)
{
	struct cuda_exec *ce = to_ce(ex);
	uint64_t f = 0, t = 0;

	info->kind = VGPUIF_EXECUTOR_CUDA;
	pthread_mutex_lock(&ce->lock);
	memcpy(info->name, ce->hello.name, sizeof(info->name));
	info->total_mem = ce->dev.total_mem;
	info->free_mem = ce->hello.free_mem;
	info->cc_major = ce->hello.cc_major;
	info->cc_minor = ce->hello.cc_minor;
	info->sm_count = ce->hello.sm_count;
	info->ctx_overhead = ce->hello.ctx_overhead;
	pthread_mutex_unlock(&ce->lock);
	/*
	 * What registered guest memory gets where the transport lets the
	 * worker map it (the backend says staged where it does not).
	 */
	info->copy_mode = zero_copy_off() ? VGPUIF_COPY_STAGED : VGPUIF_COPY_ZERO_COPY;
	if (!cuda_mem_info(ex, &f, &t))
		info->free_mem = f;
	return 0;
}

/* The snapshot the first worker took: the same answer for the executor's
 * whole life, restarts included. */
static int cuda_device_info(struct vgpu_exec *ex, struct vgpuif_device_info *out)
{
	*out = to_ce(ex)->dev;
	return 0;
}

/* Send an internal command built by the caller and wait for its answer. */
static int internal_call(struct cuda_exec *ce, struct xop *x, struct xwait *w,
			 struct cw_rsp *rsp)
{
	int rc;

	memset(w, 0, sizeof(*w));
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	x->w = w;
	rc = queue_xop(ce, x);
	if (rc) {
		free(x);
	} else {
		pthread_mutex_lock(&w->lock);
		while (!w->done)
			pthread_cond_wait(&w->cond, &w->lock);
		pthread_mutex_unlock(&w->lock);
		*rsp = w->rsp;
	}
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	return rc ? -EIO : 0;
}

/*
 * Guest pages live in the backend process, the GPU context in the worker:
 * the worker maps the same pages itself (from the file the transport says
 * holds them: the loopback world's guest memory) and registers them with
 * the driver once, so copies naming them DMA straight from the guest's
 * pages. Without such a file (Xen: the worker would have to map the grants
 * through gntdev, not done) or when the driver refuses, copies are staged.
 */
static int cuda_host_register(struct vgpu_exec *ex,
			      const struct vgpu_exec_hostmem *hm,
			      struct vgpu_exec_hostreg **out, uint32_t *mode,
			      const char **why)
{
	static __thread char whybuf[160];
	struct cuda_exec *ce = to_ce(ex);
	uint32_t npages = (uint32_t)(hm->len / VGPUIF_PAGE_SIZE), nruns = 0;
	uint64_t runs[2 * (CW_MAX_INLINE / 16)];
	struct vgpu_exec_hostreg *h;
	struct xwait w;
	struct cw_rsp r;
	struct xop *x;

	if (zero_copy_off()) {
		*why = "zero copy turned off (VGPU_EXEC_ZERO_COPY=0)";
		return -EOPNOTSUPP;
	}
	if (hm->fd < 0 || !hm->file_off) {
		*why = "the transport cannot show the GPU worker the guest's pages "
		       "(on Xen the worker would map the grants itself through "
		       "gntdev: not done)";
		return -EOPNOTSUPP;
	}
	if (pthread_equal(pthread_self(), ce->reader)) {
		*why = "called from a completion";
		return -EDEADLK;
	}
	/* runs of consecutive file pages: usually one */
	for (uint32_t i = 0; i < npages; i++) {
		if (nruns && runs[2 * (nruns - 1)] + runs[2 * (nruns - 1) + 1] ==
			     hm->file_off[i]) {
			runs[2 * (nruns - 1) + 1] += VGPUIF_PAGE_SIZE;
			continue;
		}
		if (nruns == CW_MAX_INLINE / 16) {
			*why = "the guest's pages are too scattered (more than 256 runs)";
			return -E2BIG;
		}
		runs[2 * nruns] = hm->file_off[i];
		runs[2 * nruns + 1] = VGPUIF_PAGE_SIZE;
		nruns++;
	}
	h = calloc(1, sizeof(*h));
	x = internal_new(CW_OP_HOST_REGISTER, 0, NULL);
	if (!h || !x) {
		free(h);
		free(x);
		*why = "out of memory";
		return -ENOMEM;
	}
	h->magic = CU_HOSTREG_MAGIC;
	h->len = hm->len;
	h->writable = hm->writable;
	x->cmd.arg[0] = hm->len;
	x->cmd.arg[1] = hm->writable;
	x->idata = runs;
	x->idata_len = nruns * 16;
	x->has_fd = true;
	x->sendfd = hm->fd;
	x->hreg = h;
	if (internal_call(ce, x, &w, &r)) {
		free(h);
		*why = "the GPU worker is gone";
		return -EIO;
	}
	if (r.status || !r.obj) {
		if (r.result[0])
			snprintf(whybuf, sizeof(whybuf), "the GPU worker could not "
				 "register them: cuMemHostRegister: CUresult %llu",
				 (unsigned long long)r.result[0]);
		else
			snprintf(whybuf, sizeof(whybuf), "the GPU worker could not "
				 "map them: %s", vgpuif_status_str(r.status));
		*why = whybuf;
		free(h);
		return -EIO;
	}
	h->wid = r.obj;
	*out = h;
	*mode = VGPUIF_COPY_ZERO_COPY;
	return 0;
}

static void cuda_host_unregister(struct vgpu_exec *ex, struct vgpu_exec_hostreg *h)
{
	struct cuda_exec *ce = to_ce(ex);
	struct xwait w;
	struct cw_rsp r;
	struct xop *x;
	bool mine;

	if (h->magic != CU_HOSTREG_MAGIC)
		return;
	pthread_mutex_lock(&ce->lock);
	mine = h->gen == ce->gen && !ce->dead;
	pthread_mutex_unlock(&ce->lock);
	/* a restarted worker never had it (its process took it along) */
	if (mine && !pthread_equal(pthread_self(), ce->reader)) {
		x = internal_new(CW_OP_HOST_UNREGISTER, 0, NULL);
		if (x) {
			x->cmd.obj[0] = h->wid;
			internal_call(ce, x, &w, &r);
		}
	}
	h->magic = 0;
	free(h);
}

static int cuda_open(struct vgpu_exec **out, const struct vgpu_exec_config *cfg,
		     const char **why)
{
	static __thread char whybuf[256];
	struct cuda_exec *ce;
	const char *env;
	void *h;
	int rc;

	/* no driver: say so without starting a worker */
	h = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
	if (!h) {
		snprintf(whybuf, sizeof(whybuf), "no NVIDIA driver (%s)", dlerror());
		*why = whybuf;
		return -ENODEV;
	}
	dlclose(h);

	ce = calloc(1, sizeof(*ce));
	if (!ce) {
		*why = "out of memory";
		return -ENOMEM;
	}
	ce->base.cfg = *cfg;
	ce->device = cfg->device;
	ce->watchdog_ms = cfg->watchdog_ms;
	ce->arena_size = CU_ARENA_DEFAULT;
	env = getenv("VGPU_EXEC_ARENA_MB");
	if (env && strtoull(env, NULL, 10) >= 40)
		ce->arena_size = strtoull(env, NULL, 10) << 20;
	/*
	 * The pinned staging arena is host memory of dom0's: at most half of
	 * the backend's host-mem-limit (which follows dom0's memory and the
	 * unit's cgroup), never less than the 40 MiB the copies need.
	 */
	if (cfg->host_mem_limit && ce->arena_size > cfg->host_mem_limit / 2) {
		ce->arena_size = (cfg->host_mem_limit / 2) & ~((1ull << 20) - 1);
		if (ce->arena_size < (40ull << 20))
			ce->arena_size = 40ull << 20;
	}
	ce->sock = -1;
	pthread_mutex_init(&ce->lock, NULL);
	pthread_cond_init(&ce->idle_cond, NULL);

	ce->memfd = memfd_create("vgpu-exec-arena", MFD_CLOEXEC);
	if (ce->memfd < 0 || ftruncate(ce->memfd, (off_t)ce->arena_size) < 0) {
		rc = -errno;
		snprintf(whybuf, sizeof(whybuf), "staging arena: %s", strerror(errno));
		goto out_free;
	}
	ce->arena = mmap(NULL, ce->arena_size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 ce->memfd, 0);
	if (ce->arena == MAP_FAILED) {
		rc = -errno;
		snprintf(whybuf, sizeof(whybuf), "staging arena: %s", strerror(errno));
		goto out_close;
	}
	rc = worker_spawn(ce, &ce->sock, &ce->pid, &ce->hello, whybuf, sizeof(whybuf));
	if (rc)
		goto out_unmap;
	ce->dev = ce->hello.dev;
	ce->dev.name[sizeof(ce->dev.name) - 1] = '\0';
	ce->hello.overhead_why[sizeof(ce->hello.overhead_why) - 1] = '\0';
	ce->lmem_per_thread = ce->hello.lim_stack;
	rc = pthread_create(&ce->reader, NULL, reader_thread, ce);
	if (rc) {
		snprintf(whybuf, sizeof(whybuf), "cannot start the reader thread");
		rc = -rc;
		goto out_worker;
	}
	CLOG(ce, VGPU_EXEC_LOG_INFO,
	     "open: %s (cc %u.%u, %u SMs, %llu MiB), driver %u.%u, GPU worker "
	     "pid %d, copies staged through a %zu MiB pinned arena (registered guest memory: zero copy where the worker can map it), watchdog %u ms",
	     ce->hello.name, ce->hello.cc_major, ce->hello.cc_minor,
	     ce->hello.sm_count, (unsigned long long)(ce->hello.total_mem >> 20),
	     ce->hello.driver_version / 1000, ce->hello.driver_version % 1000 / 10,
	     (int)ce->pid, ce->arena_size >> 20, ce->watchdog_ms);
	CLOG(ce, VGPU_EXEC_LOG_INFO,
	     "context: %llu MiB of device memory of its own (%s%s%s); limits "
	     "fixed: heap %llu KiB, printf buffer %llu KiB, stack %llu bytes per "
	     "thread (%llu MiB for the %llu threads the GPU holds at once)",
	     (unsigned long long)(ce->hello.ctx_overhead >> 20),
	     ce->hello.overhead_measured ? "measured with NVML" :
	     "estimated from the limits and the built-in kernel's buffer; "
	     "not measured: ",
	     ce->hello.overhead_measured ? "" : ce->hello.overhead_why, "",
	     (unsigned long long)(ce->hello.lim_heap >> 10),
	     (unsigned long long)(ce->hello.lim_printf >> 10),
	     (unsigned long long)ce->hello.lim_stack,
	     (unsigned long long)((ce->hello.lim_stack *
				   ce->hello.resident_threads) >> 20),
	     (unsigned long long)ce->hello.resident_threads);
	*out = &ce->base;
	return 0;

out_worker:
	worker_reap(ce, ce->sock, ce->pid);
out_unmap:
	munmap(ce->arena, ce->arena_size);
out_close:
	if (ce->memfd >= 0)
		close(ce->memfd);
out_free:
	pthread_cond_destroy(&ce->idle_cond);
	pthread_mutex_destroy(&ce->lock);
	free(ce);
	*why = whybuf;
	return rc;
}

static void cuda_close(struct vgpu_exec *ex)
{
	struct cuda_exec *ce = to_ce(ex);
	struct timespec deadline;
	int sock;

	/*
	 * Every op still gets done(): wait until both lists drain, but not
	 * for ever (a kernel may spin and no watchdog be set): after
	 * CU_CLOSE_WAIT_S the worker is killed and what is left is answered
	 * VGPUIF_RSP_ESHUTDOWN.
	 */
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += CU_CLOSE_WAIT_S;
	pthread_mutex_lock(&ce->lock);
	while ((ce->inflight || ce->pending) && !ce->dead)
		if (pthread_cond_timedwait(&ce->idle_cond, &ce->lock,
					   &deadline) == ETIMEDOUT)
			break;
	/* also read without the lock, by the reader when the socket ends */
	__atomic_store_n(&ce->closing, true, __ATOMIC_RELEASE);
	sock = ce->sock;
	if (ce->inflight || ce->pending) {
		CLOG(ce, VGPU_EXEC_LOG_WARN, "close: GPU work still running after "
		     "%d s: ending the GPU worker", CU_CLOSE_WAIT_S);
		if (ce->pid > 0)
			kill(ce->pid, SIGKILL);
	}
	if (sock >= 0)
		shutdown(sock, SHUT_RDWR);  /* the worker sees EOF and exits */
	pthread_cond_broadcast(&ce->idle_cond);
	pthread_mutex_unlock(&ce->lock);
	pthread_join(ce->reader, NULL);
	pthread_mutex_lock(&ce->lock);
	if (ce->sock >= 0 || ce->pid > 0) {
		sock = ce->sock;
		ce->sock = -1;
		pthread_mutex_unlock(&ce->lock);
		worker_reap(ce, sock, ce->pid);
		pthread_mutex_lock(&ce->lock);
	}
	while (ce->ctxs)
		ctx_free(ce, ce->ctxs);
	pthread_mutex_unlock(&ce->lock);
	munmap(ce->arena, ce->arena_size);
	close(ce->memfd);
	pthread_cond_destroy(&ce->idle_cond);
	pthread_mutex_destroy(&ce->lock);
	free(ce);
}

const struct vgpu_exec_impl vgpu_exec_cuda_impl = {
	.name            = "cuda",
	.open            = cuda_open,
	.close           = cuda_close,
	.get_info        = cuda_get_info,
	.device_info     = cuda_device_info,
	.ctx_create      = cuda_ctx_create,
	.ctx_destroy     = cuda_ctx_destroy,
	.submit          = cuda_submit,
	.host_register   = cuda_host_register,
	.host_unregister = cuda_host_unregister,
	.mem_info        = cuda_mem_info,
	.launch_mem      = cuda_launch_mem,
};

/* Keeps cuda-worker.o (and its constructor) in every linked program. */
int (*const vgpu_exec_cuda_worker_entry)(const char *) = vgpu_exec_cuda_worker_main;
