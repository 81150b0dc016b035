/* SPDX-License-Identifier: MIT */
/*
 * test_gpu_exec.c - the cuda executor on a real GPU: the executor contract
 * (every op, data integrity at many sizes and unaligned offsets, the bad
 * input table), a guest-supplied PTX kernel loaded and launched with its
 * parameter layout checked, JIT errors returned as text, a GPU fault and a
 * watchdog expiry that cost only the faulting domain (a second executor in
 * another process keeps running), many ops in flight, and leak checks
 * (device memory back to baseline after a context or a domain goes).
 *
 * Without a usable GPU it prints "SKIP: no CUDA device (reason)" and exits
 * 77.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gpu-test.h"
#include "gpu-kernels.h"
#include "gpu-kernels-r2.h"

#define SLACK (4ull << 20)

bool fake_cuda(void)
{
	const char *e = getenv("VGPU_TEST_FAKE_CUDA");

	return e && *e == '1';
}

struct vgpu_exec *ex;
struct vgpu_exec_ctx *ctx;

/* The executor's log lines since log_clear() (the last 64 KiB). */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_text[65536];
static size_t log_n;

static void log_line(void *arg, int level, const char *msg)
{
	size_t n = strlen(msg);

	(void)arg;
	if (level <= 2)
		fprintf(stderr, "  [log] %s\n", msg);
	pthread_mutex_lock(&log_lock);
	if (log_n + n + 2 > sizeof(log_text))
		log_n = 0;
	if (n + 2 <= sizeof(log_text)) {
		memcpy(log_text + log_n, msg, n);
		log_n += n;
		log_text[log_n++] = '\n';
		log_text[log_n] = '\0';
	}
	pthread_mutex_unlock(&log_lock);
}

bool log_has(const char *needle)
{
	bool yes;

	pthread_mutex_lock(&log_lock);
	yes = log_n && strstr(log_text, needle) != NULL;
	pthread_mutex_unlock(&log_lock);
	return yes;
}

void log_clear(void)
{
	pthread_mutex_lock(&log_lock);
	log_n = 0;
	log_text[0] = '\0';
	pthread_mutex_unlock(&log_lock);
}

struct vgpu_exec *open_cuda(uint32_t watchdog_ms)
{
	return open_cuda_limits(watchdog_ms, 0, 0, 0);
}

struct vgpu_exec *open_cuda_limits(uint32_t watchdog_ms, uint64_t heap,
				   uint64_t printf_fifo, uint32_t stack)
{
	struct vgpu_exec_config cfg = {
		.name = "cuda", .domid = 9, .watchdog_ms = watchdog_ms,
		.log = log_line, .ctx_heap_bytes = heap,
		.ctx_printf_bytes = printf_fifo, .ctx_stack_bytes = stack,
	};
	struct vgpu_exec *e = NULL;
	const char *why = NULL;
	int rc = vgpu_exec_open(&e, &cfg, &why);

	ck_assert_msg(rc == 0, "open cuda: %d %s", rc, why ? why : "");
	return e;
}

void setup(void)
{
	ex = open_cuda(0);
	ck_assert_int_eq(vgpu_exec_ctx_create(ex, &ctx), 0);
}

static void setup_watchdog(void)
{
	ex = open_cuda(700);
	ck_assert_int_eq(vgpu_exec_ctx_create(ex, &ctx), 0);
}

void teardown(void)
{
	if (!ex)
		return;
	vgpu_exec_ctx_destroy(ex, ctx);
	vgpu_exec_close(ex);
	ex = NULL;
}

/* ----------------------------------------------------- module helpers */

int load_module(struct vgpu_exec_ctx *c, const void *image, size_t len,
		uint32_t format, char *log, uint32_t log_len,
		struct vgpu_exec_mod **mod, uint64_t *log_written)
{
	return load_module_q(c, image, len, format, log, log_len, mod,
			     log_written, NULL);
}

int load_module_q(struct vgpu_exec_ctx *c, const void *image, size_t len,
		  uint32_t format, char *log, uint32_t log_len,
		  struct vgpu_exec_mod **mod, uint64_t *log_written,
		  struct et_quota *q)
{
	/* one guard byte after the log area, outside the stream */
	unsigned char *s = calloc(1, len + log_len + 1);
	struct vgpu_exec_iov iov[2];
	struct vgpu_exec_op op = { .opcode = VGPUIF_OP_MODULE_LOAD, .ctx = c };
	int rc;

	ck_assert_ptr_nonnull(s);
	memcpy(s, image, len);
	memset(s + len, 0x7e, log_len + 1);
	/* image and log split across two iovs at an odd place */
	iov[0].base = s;
	iov[0].len = len / 2 + 1;
	iov[1].base = s + iov[0].len;
	iov[1].len = len + log_len - iov[0].len;
	op.iov = iov;
	op.niov = 2;
	op.u.module_load.image_len = len;
	op.u.module_load.format = format;
	op.u.module_load.log_len = log_len;
	if (q) {
		op.mem_limited = q->limited;
		op.mem_limit = q->limit;
	}
	rc = et_run(ex, &op);
	if (q) {
		q->result0 = op.result[0];
		q->charged = op.mem_charged;
	}
	if (log)        /* the caller's buffer holds log_len + 1 bytes */
		memcpy(log, s + len, log_len + 1);
	if (log_written)
		*log_written = op.result[1];
	if (!rc)
		*mod = op.object;
	free(s);
	return rc;
}

int func_get(struct vgpu_exec_ctx *c, struct vgpu_exec_mod *mod,
		    const char *name, struct vgpu_exec_func **f, uint64_t *pbytes)
{
	struct vgpu_exec_op op = { .opcode = VGPUIF_OP_FUNC_GET, .ctx = c };
	struct vgpu_exec_iov iov = { (void *)name, strlen(name) };
	int rc;

	op.u.func_get.mod = mod;
	op.u.func_get.name_len = (uint32_t)strlen(name);
	op.iov = &iov;
	op.niov = 1;
	rc = et_run(ex, &op);
	if (!rc) {
		*f = op.object;
		if (pbytes)
			*pbytes = op.result[1];
	}
	return rc;
}

int launch_on(struct vgpu_exec_ctx *c, struct vgpu_exec_stream *st,
	      struct vgpu_exec_func *f, uint32_t grid, uint32_t block,
	      void *params, uint32_t plen)
{
	return launch_q(c, st, f, grid, block, params, plen, NULL);
}

int launch_q(struct vgpu_exec_ctx *c, struct vgpu_exec_stream *st,
	     struct vgpu_exec_func *f, uint32_t grid, uint32_t block,
	     void *params, uint32_t plen, struct et_quota *q)
{
	struct vgpu_exec_op op = { .opcode = VGPUIF_OP_LAUNCH, .ctx = c,
				   .stream = st };
	struct vgpu_exec_iov iov = { params, plen };
	int rc;

	op.u.launch.func = f;
	op.u.launch.grid[0] = grid;
	op.u.launch.grid[1] = op.u.launch.grid[2] = 1;
	op.u.launch.block[0] = block;
	op.u.launch.block[1] = op.u.launch.block[2] = 1;
	op.u.launch.param_len = plen;
	op.iov = plen ? &iov : NULL;
	op.niov = plen ? 1 : 0;
	if (q) {
		op.mem_limited = q->limited;
		op.mem_limit = q->limit;
	}
	rc = et_run(ex, &op);
	if (q)
		q->charged = op.mem_charged;
	return rc;
}

static int launch(struct vgpu_exec_ctx *c, struct vgpu_exec_func *f,
		  uint32_t grid, uint32_t block, void *params, uint32_t plen)
{
	return launch_on(c, NULL, f, grid, block, params, plen);
}

struct vgpu_exec_func *guest_kernel(const char *name)
{
	struct vgpu_exec_mod *mod;
	struct vgpu_exec_func *f;

	ck_assert_int_eq(load_module(ctx, vt_kernels_ptx, sizeof(vt_kernels_ptx),
				     VGPUIF_MODULE_PTX, NULL, 0, &mod, NULL), 0);
	ck_assert_int_eq(func_get(ctx, mod, name, &f, NULL), 0);
	return f;
}

struct saxpy_params {   /* vt_saxpy(float *y, const float *x, float a, u32 n) */
	uint64_t y, x;
	float a;
	uint32_t n;
};

/* ---------------------------------------------------------------- tests */

START_TEST(test_gpu_info)
{
	struct vgpu_exec_info info;

	ck_assert_int_eq(vgpu_exec_get_info(ex, &info), 0);
	ck_assert_int_eq(info.kind, VGPUIF_EXECUTOR_CUDA);
	ck_assert_uint_ge(info.cc_major, 3);
	ck_assert_uint_gt(info.sm_count, 0);
	ck_assert_uint_gt(info.total_mem, 1ull << 30);
	/* what registered guest memory gets (test_zero_copy checks it does) */
	ck_assert_int_eq(info.copy_mode, VGPUIF_COPY_ZERO_COPY);
	ck_assert_uint_gt(info.ctx_overhead, 0);
	ck_assert_uint_lt(info.ctx_overhead, info.total_mem);
	printf("GPU: %s, cc %u.%u, %u SMs, %llu MiB, %llu MiB free, registered copies zero-copy, "
	       "context overhead %llu MiB\n",
	       info.name, info.cc_major, info.cc_minor, info.sm_count,
	       (unsigned long long)(info.total_mem >> 20),
	       (unsigned long long)(info.free_mem >> 20),
	       (unsigned long long)(info.ctx_overhead >> 20));
}
END_TEST

START_TEST(test_guest_ptx)
{
	enum { N = 100003 };
	struct vgpu_exec_mod *mod;
	struct vgpu_exec_func *f, *fe;
	struct vgpu_exec_mem *my, *mx;
	uint64_t ay, ax, pbytes = 0, logw = 0;
	float *x = malloc(4 * N), *y = malloc(4 * N), *out = malloc(4 * N);
	struct saxpy_params p;
	char log[4096];
	unsigned char big[40];

	ck_assert_int_eq(load_module(ctx, vt_kernels_ptx, sizeof(vt_kernels_ptx),
				     VGPUIF_MODULE_PTX, log, sizeof(log) - 1, &mod,
				     &logw), 0);
	ck_assert_uint_le(logw, sizeof(log) - 1);
	if (logw)
		ck_assert_int_eq(log[logw - 1], '\0');
	ck_assert_int_eq(func_get(ctx, mod, "vt_saxpy", &f, &pbytes), 0);
	/* the driver reports the layout (cuFuncGetParamInfo, CUDA 12.4+) */
	ck_assert_msg(pbytes == 24 || pbytes == 0, "param bytes %llu",
		      (unsigned long long)pbytes);
	printf("vt_saxpy: %llu parameter bytes reported\n", (unsigned long long)pbytes);

	for (int i = 0; i < N; i++) {
		x[i] = (float)i * 0.125f;
		y[i] = 1000.0f - (float)i;
	}
	ck_assert_int_eq(et_alloc(ex, ctx, 4 * N, &my, &ay), 0);
	ck_assert_int_eq(et_alloc(ex, ctx, 4 * N, &mx, &ax), 0);
	ck_assert_int_eq(et_h2d(ex, ctx, my, 0, y, 4 * N, 1), 0);
	ck_assert_int_eq(et_h2d(ex, ctx, mx, 0, x, 4 * N, 0), 0);
	p.y = ay;
	p.x = ax;
	p.a = 3.0f;
	p.n = N;
	ck_assert_int_eq(launch(ctx, f, (N + 255) / 256, 256, &p, 24), 0);
	ck_assert_int_eq(et_d2h(ex, ctx, my, 0, out, 4 * N, 2), 0);
	for (int i = 0; i < N; i++)
		ck_assert_msg(out[i] == 3.0f * x[i] + y[i], "i %d: %f", i,
			      (double)out[i]);

	if (pbytes == 24) {
		/* blobs that do not match the layout are refused */
		memset(big, 0, sizeof(big));
		ck_assert_int_eq(launch(ctx, f, 1, 32, big, 16), VGPUIF_RSP_EINVAL);
		ck_assert_int_eq(launch(ctx, f, 1, 32, big, 32), VGPUIF_RSP_EINVAL);
		ck_assert_int_eq(launch(ctx, f, 1, 32, big, 0), VGPUIF_RSP_EINVAL);
	}
	/* bad shapes */
	ck_assert_int_eq(launch(ctx, f, 0, 32, &p, 24), VGPUIF_RSP_EINVAL);
	ck_assert_int_eq(launch(ctx, f, 1, 2048, &p, 24), VGPUIF_RSP_EINVAL);
	ck_assert_int_eq(launch(ctx, f, 1, 32, big, VGPUIF_MAX_PARAM_BYTES + 1),
			 VGPUIF_RSP_E2BIG);
	/* an empty kernel, no parameters */
	ck_assert_int_eq(func_get(ctx, mod, "vt_empty", &fe, &pbytes), 0);
	ck_assert_uint_eq(pbytes, 0);
	ck_assert_int_eq(launch(ctx, fe, 1, 1, NULL, 0), 0);
	ck_assert_int_eq(et_sync(ex, ctx), 0);

	/* unload: its functions go with it */
	{
		struct vgpu_exec_op op = { .opcode = VGPUIF_OP_MODULE_UNLOAD, .ctx = ctx };

		op.u.module_unload.mod = mod;
		ck_assert_int_eq(et_run(ex, &op), 0);
	}
	ck_assert_int_eq(et_free(ex, ctx, my), 0);
	ck_assert_int_eq(et_free(ex, ctx, mx), 0);
	free(x);
	free(y);
	free(out);
}
END_TEST

START_TEST(test_module_errors)
{
	static const char bad_ptx[] =
		".version 7.0\n.target sm_75\n.address_size 64\n"
		".visible .entry broken()\n{\n\tthis_is_not_an_instruction;\n\tret;\n}\n";
	static const unsigned char bad_elf[64] = { 0x7f, 'E', 'L', 'F', 2, 1, 1 };
	struct vgpu_exec_mod *mod;
	struct vgpu_exec_func *f;
	char log[2048];
	uint64_t logw = 0;
	int rc;

	rc = load_module(ctx, bad_ptx, sizeof(bad_ptx), VGPUIF_MODULE_PTX, log,
			 sizeof(log) - 1, &mod, &logw);
	ck_assert_int_eq(rc, VGPUIF_RSP_ENOEXEC);
	ck_assert_uint_gt(logw, 1);
	ck_assert_uint_le(logw, sizeof(log) - 1);
	ck_assert_int_eq(log[sizeof(log) - 1], 0x7e);
	ck_assert_int_eq(log[logw - 1], '\0');
	printf("JIT log for the broken PTX: %s\n", log);
	/* a short log area: truncated, still NUL-terminated */
	rc = load_module(ctx, bad_ptx, sizeof(bad_ptx), VGPUIF_MODULE_PTX, log,
			 8, &mod, &logw);
	ck_assert_int_eq(rc, VGPUIF_RSP_ENOEXEC);
	ck_assert_uint_eq(logw, 8);
	ck_assert_int_eq(log[7], '\0');
	ck_assert_int_eq(log[8], 0x7e);         /* nothing past log_len */
	/* PTX without its NUL (auto-detected): the executor adds it */
	ck_assert_int_eq(load_module(ctx, vt_kernels_ptx, sizeof(vt_kernels_ptx) - 1,
				     VGPUIF_MODULE_AUTO, NULL, 0, &mod, NULL), 0);
	ck_assert_int_eq(func_get(ctx, mod, "no_such_kernel", &f, NULL),
			 VGPUIF_RSP_ENOENT);
	ck_assert_int_eq(func_get(ctx, mod, "vt_sax\0py", &f, NULL),
			 VGPUIF_RSP_ENOENT); /* strlen stops at the NUL: "vt_sax" */
	/* a broken ELF */
	rc = load_module(ctx, bad_elf, sizeof(bad_elf), VGPUIF_MODULE_CUBIN, log,
			 sizeof(log) - 1, &mod, &logw);
	ck_assert_int_eq(rc, VGPUIF_RSP_ENOEXEC);
	/* the executor is still fine */
	ck_assert_int_eq(et_sync(ex, ctx), 0);
}
END_TEST

/* The bystander's unit of work: a vector add (no context). */
static bool bystander_va_round(struct vgpu_exec *e2, long round)
{
	enum { N = 4096 };
	static float s[3 * N];
	struct vgpu_exec_iov iov = { s, sizeof(s) };
	struct vgpu_exec_op op = { .opcode = VGPUIF_OP_VECTOR_ADD };

	for (int i = 0; i < N; i++) {
		s[i] = (float)(i + round);
		s[N + i] = 2.0f;
		s[2 * N + i] = -1.0f;
	}
	op.u.vector_add.n = N;
	op.iov = &iov;
	op.niov = 1;
	if (et_run(e2, &op) != 0)
		return false;
	for (int i = 0; i < N; i++)
		if (s[2 * N + i] != (float)(i + round) + 2.0f)
			return false;
	return true;
}

/* The bystander's unit of work with streams: vt_fill, D2H on its stream. */
struct bystander_streams {
	struct vgpu_exec_ctx *c;
	struct vgpu_exec_stream *s;
	struct vgpu_exec_func *fill;
	struct vgpu_exec_mem *m;
	uint64_t addr;
};

static bool bystander_stream_round(struct vgpu_exec *e2,
				   struct bystander_streams *b, long round)
{
	enum { N = 8192 };
	static uint32_t out[N];
	struct { uint64_t p; uint32_t v, n; } prm = { b->addr, (uint32_t)round, N };
	struct vgpu_exec_iov iov = { out, sizeof(out) };
	struct vgpu_exec_op op = { .opcode = VGPUIF_OP_MEMCPY_D2H, .ctx = b->c,
				   .stream = b->s, .iov = &iov, .niov = 1 };

	if (launch_on(b->c, b->s, b->fill, N / 256, 256, &prm, sizeof(prm)))
		return false;
	op.u.copy.mem = b->m;
	op.u.copy.length = sizeof(out);
	if (et_run(e2, &op) != 0)
		return false;
	for (int i = 0; i < N; i++)
		if (out[i] != (uint32_t)round)
			return false;
	return true;
}

/*
 * A second "domain" in another process, working until told to stop:
 * vector adds, or (streams) kernels and copies on a stream of its own.
 */
pid_t start_bystander(int *stop_fd, int *ready_fd, bool streams)
{
	int p1[2], p2[2];
	pid_t pid;

	ck_assert_int_eq(pipe(p1), 0);
	ck_assert_int_eq(pipe(p2), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct vgpu_exec *e2 = open_cuda(0);
		struct bystander_streams b;
		long rounds = 0, after = 0;
		char c = 'r';
		int flags;

		close(p1[1]);
		close(p2[0]);
		if (streams) {
			struct vgpu_exec_mod *mod;

			ex = e2;        /* this process's copy of the helpers' */
			if (vgpu_exec_ctx_create(e2, &b.c) ||
			    load_module(b.c, vt_r2_ptx, sizeof(vt_r2_ptx),
					VGPUIF_MODULE_PTX, NULL, 0, &mod, NULL) ||
			    func_get(b.c, mod, "vt_fill", &b.fill, NULL) ||
			    et_stream_create(e2, b.c, VGPUIF_STREAM_NON_BLOCKING, &b.s) ||
			    et_alloc(e2, b.c, 4 * 8192, &b.m, &b.addr))
				_exit(7);
		}
		if (write(p2[1], &c, 1) != 1)
			_exit(3);
		flags = 1;
		for (;;) {
			fd_set rs;
			struct timeval tv = { 0, 0 };

			if (!(streams ? bystander_stream_round(e2, &b, rounds)
				      : bystander_va_round(e2, rounds)))
				_exit(streams ? 8 : 5);
			rounds++;
			FD_ZERO(&rs);
			FD_SET(p1[0], &rs);
			if (select(p1[0] + 1, &rs, NULL, NULL, &tv) > 0) {
				if (read(p1[0], &c, 1) != 1 || c == 'q')
					break;
				after = 0;      /* 'm': the fault happened: count */
				flags = 2;
			}
			if (flags == 2)
				after++;
		}
		vgpu_exec_close(e2);
		printf("bystander domain: %ld %s, %ld after the fault, all correct\n",
		       rounds, streams ? "stream rounds (kernel + copy)" : "vector adds",
		       after);
		_exit(after > 0 ? 0 : 6);
	}
	close(p1[0]);
	close(p2[1]);
	*stop_fd = p1[1];
	*ready_fd = p2[0];
	return pid;
}

void stop_bystander(pid_t pid, int stop_fd)
{
	int st;
	char c = 'm';

	ck_assert_int_eq(write(stop_fd, &c, 1), 1);
	usleep(300000);         /* let it run on after the fault */
	c = 'q';
	ck_assert_int_eq(write(stop_fd, &c, 1), 1);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "the other domain was harmed: %s %d (exit 4/5: a vector add "
		      "failed or was wrong, 8: a stream round failed or was wrong, "
		      "7: its setup failed, 6: no work after the fault)",
		      WIFEXITED(st) ? "exit" : "signal",
		      WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	close(stop_fd);
}

/* After a fault or a watchdog: old objects are gone, new work runs. */
void check_recovered(struct vgpu_exec_mem *old)
{
	struct vgpu_exec_mem *m;
	unsigned char in[5000], out[5000];
	struct vgpu_exec_ctx *c2;

	ck_assert_int_eq(et_h2d(ex, ctx, old, 0, in, 16, 0), VGPUIF_RSP_EREMOTEIO);
	ck_assert_int_eq(et_free(ex, ctx, old), 0);
	/* the same guest context, a fresh CUDA context behind it */
	ck_assert_int_eq(et_alloc(ex, ctx, sizeof(in), &m, NULL), 0);
	et_fill(in, sizeof(in), 5);
	ck_assert_int_eq(et_h2d(ex, ctx, m, 0, in, sizeof(in), 1), 0);
	ck_assert_int_eq(et_d2h(ex, ctx, m, 0, out, sizeof(out), 0), 0);
	ck_assert(!memcmp(in, out, sizeof(in)));
	ck_assert_int_eq(et_free(ex, ctx, m), 0);
	/* and a new guest context */
	ck_assert_int_eq(vgpu_exec_ctx_create(ex, &c2), 0);
	ck_assert_int_eq(et_alloc(ex, c2, 4096, &m, NULL), 0);
	ck_assert_int_eq(et_h2d(ex, c2, m, 0, in, 4096, 0), 0);
	vgpu_exec_ctx_destroy(ex, c2);
}

START_TEST(test_fault_isolated)
{
	struct vgpu_exec_func *f;
	struct vgpu_exec_mem *m;
	uint64_t bogus = 0x10;
	int stop_fd, ready_fd;
	char c;
	pid_t other;

	other = start_bystander(&stop_fd, &ready_fd, false);
	ck_assert_int_eq(read(ready_fd, &c, 1), 1);
	ck_assert_int_eq(et_alloc(ex, ctx, 4096, &m, NULL), 0);
	f = guest_kernel("vt_fault");
	ck_assert_int_eq(launch(ctx, f, 1, 1, &bogus, 8), VGPUIF_RSP_EREMOTEIO);
	check_recovered(m);
	stop_bystander(other, stop_fd);
}
END_TEST

/*
 * What a guest sends the moment its faulting op is answered (from inside
 * that done(), before the executor has replaced its worker) goes to the
 * new worker: a SYNC then succeeds. It was sent to the poisoned one and
 * answered EREMOTEIO.
 */
struct after_fault {
	struct et_wait w;       /* first: et_done's priv */
	struct vgpu_exec_op sync;
	struct et_wait sw;
	int submit;
};

static void fault_done(struct vgpu_exec_op *op, int status)
{
	struct after_fault *a = op->priv;

	a->sync = (struct vgpu_exec_op){ .opcode = VGPUIF_OP_SYNC, .ctx = ctx,
					 .done = et_done, .priv = &a->sw };
	a->submit = vgpu_exec_submit(ex, &a->sync);
	et_done(op, status);
}

START_TEST(test_op_right_after_fault)
{
	struct vgpu_exec_func *f = guest_kernel("vt_fault");
	struct vgpu_exec_op op = { .opcode = VGPUIF_OP_LAUNCH, .ctx = ctx };
	uint64_t bogus = 0x10;
	struct vgpu_exec_iov iov = { &bogus, 8 };
	struct after_fault a;

	et_wait_init(&a.w);
	et_wait_init(&a.sw);
	op.u.launch.func = f;
	op.u.launch.grid[0] = op.u.launch.grid[1] = op.u.launch.grid[2] = 1;
	op.u.launch.block[0] = op.u.launch.block[1] = op.u.launch.block[2] = 1;
	op.u.launch.param_len = 8;
	op.iov = &iov;
	op.niov = 1;
	op.done = fault_done;
	op.priv = &a;
	ck_assert_int_eq(vgpu_exec_submit(ex, &op), 0);
	pthread_mutex_lock(&a.w.lock);
	while (!a.w.calls)
		pthread_cond_wait(&a.w.cond, &a.w.lock);
	pthread_mutex_unlock(&a.w.lock);
	ck_assert_int_eq(a.w.status, VGPUIF_RSP_EREMOTEIO);
	ck_assert_int_eq(a.submit, 0);
	pthread_mutex_lock(&a.sw.lock);
	while (!a.sw.calls)
		pthread_cond_wait(&a.sw.cond, &a.sw.lock);
	pthread_mutex_unlock(&a.sw.lock);
	ck_assert_msg(a.sw.status == 0, "the SYNC sent right after the fault: %d",
		      a.sw.status);
}
END_TEST

START_TEST(test_watchdog_isolated)
{
	struct vgpu_exec_func *f;
	struct vgpu_exec_mem *m;
	uint64_t cycles = 60ull * 2000000000ull; /* about a minute */
	int stop_fd, ready_fd;
	char c;
	pid_t other;

	other = start_bystander(&stop_fd, &ready_fd, false);
	ck_assert_int_eq(read(ready_fd, &c, 1), 1);
	ck_assert_int_eq(et_alloc(ex, ctx, 4096, &m, NULL), 0);
	f = guest_kernel("vt_spin");
	/* a short spin stays under the limit */
	{
		uint64_t short_cycles = 1000000;

		ck_assert_int_eq(launch(ctx, f, 1, 1, &short_cycles, 8), 0);
	}
	/*
	 * The spinning launch and a SYNC that waits for it: both get
	 * ETIMEDOUT (the SYNC's wait ended because of the watchdog, as
	 * CUDA's sticky LAUNCH_TIMEOUT says), not EREMOTEIO.
	 */
	{
		struct vgpu_exec_op op = { .opcode = VGPUIF_OP_LAUNCH, .ctx = ctx };
		struct vgpu_exec_op sy = { .opcode = VGPUIF_OP_SYNC, .ctx = ctx };
		struct vgpu_exec_iov iov = { &cycles, 8 };
		struct et_wait wl, ws;

		et_wait_init(&wl);
		et_wait_init(&ws);
		op.u.launch.func = f;
		op.u.launch.grid[0] = 132;
		op.u.launch.grid[1] = op.u.launch.grid[2] = 1;
		op.u.launch.block[0] = 128;
		op.u.launch.block[1] = op.u.launch.block[2] = 1;
		op.u.launch.param_len = 8;
		op.iov = &iov;
		op.niov = 1;
		op.done = et_done;
		op.priv = &wl;
		sy.done = et_done;
		sy.priv = &ws;
		ck_assert_int_eq(vgpu_exec_submit(ex, &op), 0);
		ck_assert_int_eq(vgpu_exec_submit(ex, &sy), 0);
		for (struct et_wait *w = &wl; w; w = w == &wl ? &ws : NULL) {
			pthread_mutex_lock(&w->lock);
			while (!w->calls)
				pthread_cond_wait(&w->cond, &w->lock);
			pthread_mutex_unlock(&w->lock);
		}
		ck_assert_int_eq(wl.status, VGPUIF_RSP_ETIMEDOUT);
		ck_assert_int_eq(ws.status, VGPUIF_RSP_ETIMEDOUT);
	}
	check_recovered(m);
	stop_bystander(other, stop_fd);
}
END_TEST

START_TEST(test_many_inflight)
{
	enum { N = 2000 };
	struct vgpu_exec_op *ops = calloc(N, sizeof(*ops));
	struct et_wait *w = calloc(N, sizeof(*w));
	struct vgpu_exec_iov *iov = calloc(N, sizeof(*iov));
	static unsigned char data[N][64], back[N][64];
	struct vgpu_exec_mem *m;

	ck_assert_ptr_nonnull(ops);
	ck_assert_int_eq(et_alloc(ex, ctx, N * 64, &m, NULL), 0);
	for (int i = 0; i < N; i++) {
		et_fill(data[i], 64, (uint32_t)i);
		et_wait_init(&w[i]);
		iov[i].base = data[i];
		iov[i].len = 64;
		ops[i].opcode = VGPUIF_OP_MEMCPY_H2D;
		ops[i].ctx = ctx;
		ops[i].u.copy.mem = m;
		ops[i].u.copy.offset = (uint64_t)i * 64;
		ops[i].u.copy.length = 64;
		ops[i].iov = &iov[i];
		ops[i].niov = 1;
		ops[i].done = NULL;
	}
	/* submit them all before any is waited for */
	for (int i = 0; i < N; i++) {
		ops[i].done = et_done;
		ops[i].priv = &w[i];
		ck_assert_int_eq(vgpu_exec_submit(ex, &ops[i]), 0);
	}
	ck_assert_int_eq(et_sync(ex, ctx), 0);
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(w[i].calls, 1);
		ck_assert_int_eq(w[i].status, 0);
	}
	ck_assert_int_eq(et_d2h(ex, ctx, m, 0, back, sizeof(back), 1), 0);
	ck_assert(!memcmp(back, data, sizeof(back)));
	ck_assert_int_eq(et_free(ex, ctx, m), 0);
	free(ops);
	free(w);
	free(iov);
}
END_TEST

/* A domain that disconnects (its executor closes) gives back everything. */
START_TEST(test_leak_domain)
{
	uint64_t f0, f1, f2, t;
	struct vgpu_exec *e2;
	struct vgpu_exec_ctx *c2;
	struct vgpu_exec_mem *m;
	struct vgpu_exec_mod *mod;
	struct vgpu_exec *save = ex;

	ck_assert_int_eq(vgpu_exec_mem_info(ex, &f0, &t), 0);
	for (int round = 0; round < 2; round++) {
		e2 = open_cuda(0);
		ex = e2;
		ck_assert_int_eq(vgpu_exec_ctx_create(e2, &c2), 0);
		for (int i = 0; i < 4; i++)
			ck_assert_int_eq(et_alloc(e2, c2, 256u << 20, &m, NULL), 0);
		ck_assert_int_eq(load_module(c2, vt_kernels_ptx, sizeof(vt_kernels_ptx),
					     VGPUIF_MODULE_PTX, NULL, 0, &mod, NULL), 0);
		ex = save;
		if (fake_cuda()) {
			/*
			 * The fake driver counts memory per process: what
			 * another domain holds is not visible from here, and
			 * a killed process gives nothing back to the count.
			 */
			vgpu_exec_close(e2);
			printf("domain leak check: not with the fake driver\n");
			continue;
		}
		ck_assert_int_eq(vgpu_exec_mem_info(ex, &f1, &t), 0);
		ck_assert_uint_le(f1 + (1024ull << 20), f0);
		/* disconnect without freeing anything */
		vgpu_exec_close(e2);
		ck_assert_int_eq(vgpu_exec_mem_info(ex, &f2, &t), 0);
		printf("domain leak check: baseline %llu MiB free, %llu with the "
		       "domain, %llu after it closed\n",
		       (unsigned long long)(f0 >> 20), (unsigned long long)(f1 >> 20),
		       (unsigned long long)(f2 >> 20));
		ck_assert_uint_ge(f2 + SLACK, f0);
	}
}
END_TEST

/* A guest context destroyed with memory and modules in it. */
START_TEST(test_leak_context)
{
	uint64_t f0, f1, f2, t;
	struct vgpu_exec_ctx *c2;
	struct vgpu_exec_mem *m;
	struct vgpu_exec_mod *mod;

	ck_assert_int_eq(vgpu_exec_mem_info(ex, &f0, &t), 0);
	for (int round = 0; round < 3; round++) {
		ck_assert_int_eq(vgpu_exec_ctx_create(ex, &c2), 0);
		for (int i = 0; i < 8; i++)
			ck_assert_int_eq(et_alloc(ex, c2, 64u << 20, &m, NULL), 0);
		ck_assert_int_eq(load_module(c2, vt_kernels_ptx, sizeof(vt_kernels_ptx),
					     VGPUIF_MODULE_PTX, NULL, 0, &mod, NULL), 0);
		ck_assert_int_eq(vgpu_exec_mem_info(ex, &f1, &t), 0);
		ck_assert_uint_le(f1 + (512ull << 20), f0);
		vgpu_exec_ctx_destroy(ex, c2);
		ck_assert_int_eq(vgpu_exec_mem_info(ex, &f2, &t), 0);
		ck_assert_uint_ge(f2 + SLACK, f0);
	}
}
END_TEST

/* The file pages [first, first + n) into dst, a range of ours. */
static void map_file_pages(void *dst, int fd, size_t first, size_t n)
{
	void *p = mmap(dst, n * 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		       fd, (off_t)(first * 4096));

	ck_assert_ptr_eq(p, dst);
}

/* H2D or D2H naming a registration, with iov (the staged path's source). */
static int host_copy(int opcode, struct vgpu_exec_mem *m, uint64_t off,
		     struct vgpu_exec_hostreg *hr, uint64_t hoff, void *iovbuf,
		     size_t len)
{
	struct vgpu_exec_op op = { .opcode = (uint8_t)opcode, .ctx = ctx };
	struct vgpu_exec_iov iov = { iovbuf, len };

	op.u.copy.mem = m;
	op.u.copy.offset = off;
	op.u.copy.length = len;
	op.u.copy.host = hr;
	op.u.copy.host_offset = hoff;
	op.iov = &iov;
	op.niov = 1;
	return et_run(ex, &op);
}

/*
 * Registered guest memory (#14 item 4): the GPU worker maps the pages
 * itself from the file and offsets given (here a memfd standing in for the
 * loopback world's guest memory, its pages in two runs out of order) and
 * registers them with the driver; copies naming the registration DMA from
 * (to) those pages. To tell that apart from staging, the op's iov names a
 * decoy buffer with other bytes (the contract says they are the same
 * bytes, so an executor may use either: this one must use the pages).
 * After a worker restart (a GPU fault) the registration's copies are
 * staged (from the iov), logged. Without a file, or with
 * VGPU_EXEC_ZERO_COPY=0, registration is refused: staged.
 */
START_TEST(test_zero_copy)
{
	enum { NP = 1024 };
	size_t len = (size_t)NP * 4096, half = len / 2;
	uint8_t *b, *want = malloc(len), *decoy = malloc(len), *got = malloc(len);
	uint64_t *off = malloc(NP * sizeof(*off));
	struct vgpu_exec_hostmem hm;
	struct vgpu_exec_hostreg *hr = NULL;
	struct vgpu_exec_mem *m;
	uint32_t mode = 0;
	const char *why = NULL;
	int fd = memfd_create("zero-copy-test", MFD_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	ck_assert_ptr_nonnull(want);
	ck_assert_ptr_nonnull(decoy);
	ck_assert_ptr_nonnull(got);
	ck_assert_ptr_nonnull(off);
	ck_assert_int_eq(ftruncate(fd, (off_t)(len + 3 * 4096)), 0);
	b = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(b, MAP_FAILED);
	/* region page i: file page NP/2 + 3 + i (first half), 1 + i (second) */
	map_file_pages(b, fd, NP / 2 + 3, NP / 2);
	map_file_pages(b + half, fd, 1, NP / 2);
	for (size_t i = 0; i < NP; i++)
		off[i] = 4096ull * (i < NP / 2 ? NP / 2 + 3 + i : 1 + i - NP / 2);
	hm = (struct vgpu_exec_hostmem){ .addr = b, .len = len, .writable = true,
					 .fd = fd, .file_off = off };

	/* refused without a file, and when turned off */
	hm.fd = -1;
	ck_assert_int_eq(vgpu_exec_host_register(ex, &hm, &hr, &mode, &why), -EOPNOTSUPP);
	ck_assert(why && *why);
	hm.fd = fd;
	setenv("VGPU_EXEC_ZERO_COPY", "0", 1);
	ck_assert_int_eq(vgpu_exec_host_register(ex, &hm, &hr, &mode, &why), -EOPNOTSUPP);
	unsetenv("VGPU_EXEC_ZERO_COPY");

	ck_assert_msg(vgpu_exec_host_register(ex, &hm, &hr, &mode, &why) == 0,
		      "register: %s", why);
	ck_assert_ptr_nonnull(hr);
	ck_assert_uint_eq(mode, VGPUIF_COPY_ZERO_COPY);
	ck_assert_int_eq(close(fd), 0);         /* the worker has its own */
	ck_assert_int_eq(et_alloc(ex, ctx, len, &m, NULL), 0);

	/* H2D from the pages, not from the decoy */
	et_fill(b, len, 7);
	memcpy(want, b, len);
	et_fill(decoy, len, 99);
	ck_assert_int_eq(host_copy(VGPUIF_OP_MEMCPY_H2D, m, 0, hr, 0, decoy, len), 0);
	ck_assert_int_eq(et_d2h(ex, ctx, m, 0, got, len, 0), 0);
	ck_assert_msg(!memcmp(got, want, len), "H2D did not come from the registered pages");
	/* D2H into the pages (an unaligned piece across the two runs) */
	memset(b, 0, len);
	memset(decoy, 0, len);
	ck_assert_int_eq(host_copy(VGPUIF_OP_MEMCPY_D2H, m, 1000, hr, half - 777,
				   decoy, 100000), 0);
	ck_assert_msg(!memcmp(b + half - 777, want + 1000, 100000),
		      "D2H did not land in the registered pages");
	ck_assert_uint_eq(decoy[0], 0);
	ck_assert_uint_eq(b[half - 778], 0);
	ck_assert_uint_eq(b[half - 777 + 100000], 0);
	/* past the registration: refused */
	ck_assert_int_eq(host_copy(VGPUIF_OP_MEMCPY_H2D, m, 0, hr, len - 10, decoy, 11),
			 VGPUIF_RSP_ERANGE);
	/* the decoy really is what the staged path would read */
	et_fill(decoy, len, 99);
	ck_assert_int_eq(et_h2d(ex, ctx, m, 0, decoy, 4096, 0), 0);

	/* a GPU fault replaces the worker: staged from then on, logged */
	{
		struct vgpu_exec_func *f = guest_kernel("vt_fault");
		uint64_t bogus = 0x10;

		ck_assert_int_eq(launch(ctx, f, 1, 1, &bogus, 8), VGPUIF_RSP_EREMOTEIO);
	}
	/* the context's objects went with the worker: a new allocation */
	ck_assert_int_eq(et_alloc(ex, ctx, len, &m, NULL), 0);
	log_clear();
	ck_assert_int_eq(host_copy(VGPUIF_OP_MEMCPY_H2D, m, 0, hr, 0, decoy, 65536), 0);
	ck_assert_int_eq(et_d2h(ex, ctx, m, 0, got, 65536, 0), 0);
	ck_assert_msg(!memcmp(got, decoy, 65536), "after the restart the copy must be staged");
	ck_assert(log_has("staged from now on"));
	vgpu_exec_host_unregister(ex, hr);
	munmap(b, len);
	free(want);
	free(decoy);
	free(got);
	free(off);
}
END_TEST

static Suite *gpu_suite(void)
{
	Suite *s = suite_create("cuda executor on a GPU");
	TCase *tc;

	tc = tcase_create("kernels");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_gpu_info);
	tcase_add_test(tc, test_guest_ptx);
	tcase_add_test(tc, test_module_errors);
	tcase_add_test(tc, test_many_inflight);
	suite_add_tcase(s, tc);

	tc = tcase_create("isolation");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_fault_isolated);
	tcase_add_test(tc, test_op_right_after_fault);
	tcase_add_test(tc, test_zero_copy);
	suite_add_tcase(s, tc);

	tc = tcase_create("watchdog");
	tcase_add_checked_fixture(tc, setup_watchdog, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_watchdog_isolated);
	suite_add_tcase(s, tc);

	tc = tcase_create("leaks");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_leak_context);
	tcase_add_test(tc, test_leak_domain);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	struct vgpu_exec_config cfg = { .name = "cuda" };
	struct vgpu_exec *probe;
	const char *why = NULL;
	SRunner *sr;
	int failed;

	/* CUDA itself runs in the executor's worker process, not here */
	if (vgpu_exec_open(&probe, &cfg, &why) < 0) {
		printf("SKIP: no CUDA device (%s)\n", why ? why : "unknown reason");
		return 77;
	}
	vgpu_exec_close(probe);

	sr = srunner_create(gpu_suite());
	srunner_add_suite(sr, et_contract_suite("cuda"));
	srunner_add_suite(sr, gpu_r2_suite());
	srunner_add_suite(sr, et_contract_r2_suite("cuda", false));
	srunner_add_suite(sr, gpu_quota_suite());
	srunner_run_all(sr, CK_ENV); /* CK_VERBOSITY=verbose lists every test */
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
