/* SPDX-License-Identifier: MIT */
/*
 * gpu-bench - the cuda executor against native CUDA on the same GPU, in one
 * run: vector_add(1024) round trip, empty LAUNCH+SYNC, async small-op
 * throughput, H2D/D2H bandwidth from 4 KiB to 256 MiB, and 7 guests at
 * once. Three columns:
 *   native    the CUDA driver API called directly from this process
 *   executor  the cuda executor's interface (executor.h), as the backend
 *             calls it: every op through the domain's GPU worker process
 *   loopback  (with --backend) the whole mediated path: a real
 *             vgpu-backend process per guest domain over the loopback
 *             transport, driven through libvgpu (vgpu.h, the loopback
 *             transport) as a guest program would, from host memory
 *             (vgpu_host_alloc: guest pages, no bounce copy) and, for
 *             copies, from pageable memory too; and the CPU an idle
 *             domain's backend and worker use
 * Not a test: nothing here asserts, except that results are correct.
 */
#include <cuda.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "executor.h"
#include "gpu-kernels.h"
#include "kernels/vector_add_ptx.h"
#ifdef VGPU_BENCH_LOOPBACK
#include "loopback.h"
#include "vgpu.h"
#endif

static const char usage_text[] =
"Usage: gpu-bench [OPTIONS]\n"
"Benchmark the cuda executor against native CUDA on the same GPU.\n"
"\n"
"  -n, --iters N        round trips per latency figure (default 5000)\n"
"  -a, --async N        ops per throughput figure (default 100000)\n"
"  -s, --seconds S      duration of each 7-guest run (default 3)\n"
"  -b, --backend PATH   also measure the whole path through vgpu-backend\n"
"                       over the loopback transport (PATH: the program)\n"
"  -m, --max-mib N      largest bandwidth size in MiB (default 256)\n"
"  -p, --poll-us US     loopback: backends busy-poll US microseconds\n"
"                       (vgpu-backend --poll-us) and so does the frontend\n"
"                       (VGPU_LOOPFRONT_SPIN_US); default: both ends'\n"
"                       defaults (adaptive: poll while busy, sleep idle)\n"
"  -o, --only-bw        only the bandwidth table (native and executor)\n"
"  -h, --help           this text\n"
"\n"
"Prints a table (p50 and p99 in microseconds, rates, GB/s); exit status 0\n"
"when every result was correct, 1 otherwise, 2 on a usage error, 77 when\n"
"there is no usable GPU.\n";

static int iters = 5000, async_n = 100000, seconds = 3, max_mib = 256;
static const char *backend_path;
static const char *poll_us;
static bool only_bw;
static int wrong;

#define CK(x) do { CUresult r_ = (x); if (r_) { const char *s_ = "?"; \
	cuGetErrorName(r_, &s_); fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, \
	__LINE__, #x, s_); exit(1); } } while (0)

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct lat { double p50, p99; };

static struct lat percentiles(uint64_t *v, int n)
{
	struct lat l;

	qsort(v, (size_t)n, sizeof(*v), cmp_u64);
	l.p50 = (double)v[n / 2] / 1000.0;
	l.p99 = (double)v[(int)((double)n * 0.99)] / 1000.0;
	return l;
}

static void bad(const char *what, int st)
{
	if (!wrong)
		fprintf(stderr, "WRONG: %s: status %d (%s)\n", what, st,
			vgpuif_status_str(st));
	wrong = 1;
}

static void fill_ab(float *s, uint32_t n, uint32_t seed)
{
	for (uint32_t i = 0; i < n; i++) {
		s[i] = (float)((i * 7 + seed) % 1000) * 0.5f;
		s[n + i] = (float)((i * 13 + seed) % 777) * 0.25f;
		s[2 * n + i] = -1.0f;
	}
}

static void check_c(const float *s, uint32_t n, const char *what)
{
	for (uint32_t i = 0; i < n; i++)
		if (s[2 * n + i] != s[i] + s[n + i]) {
			fprintf(stderr, "WRONG: %s: c[%u] = %f\n", what, i,
				(double)s[2 * n + i]);
			wrong = 1;
			return;
		}
}

/* ================================================================ native */

static CUcontext nctx;
static CUstream nstream;
static CUfunction n_va, n_empty;

static void native_init(void)
{
	CUdevice dev;
	CUmodule m1, m2;

	CK(cuInit(0));
	CK(cuDeviceGet(&dev, 0));
	CK(cuCtxCreate(&nctx, NULL, 0, dev));
	CK(cuStreamCreate(&nstream, CU_STREAM_NON_BLOCKING));
	CK(cuModuleLoadData(&m1, vgpu_vector_add_ptx));
	CK(cuModuleGetFunction(&n_va, m1, "vgpu_vector_add"));
	CK(cuModuleLoadData(&m2, vt_kernels_ptx));
	CK(cuModuleGetFunction(&n_empty, m2, "vt_empty"));
}

static struct lat native_va(bool pinned)
{
	const uint32_t n = 1024;
	CUdeviceptr d;
	float *s;
	uint64_t *t = calloc((size_t)iters, sizeof(*t));

	CK(cuMemAlloc(&d, 12 * n));
	if (pinned)
		CK(cuMemAllocHost((void **)&s, 12 * n));
	else
		s = malloc(12 * n);
	for (int i = -200; i < iters; i++) {
		CUdeviceptr a = d, b = d + 4 * n, c = d + 8 * n;
		uint32_t nn = n;
		void *p[] = { &a, &b, &c, &nn };
		uint64_t t0;

		fill_ab(s, n, (uint32_t)i);
		t0 = now_ns();
		if (pinned) {
			CK(cuMemcpyHtoDAsync(d, s, 8 * n, nstream));
			CK(cuLaunchKernel(n_va, (n + 255) / 256, 1, 1, 256, 1, 1, 0,
					  nstream, p, NULL));
			CK(cuMemcpyDtoHAsync(s + 2 * n, c, 4 * n, nstream));
			CK(cuStreamSynchronize(nstream));
		} else {
			CK(cuMemcpyHtoD(d, s, 8 * n));
			CK(cuLaunchKernel(n_va, (n + 255) / 256, 1, 1, 256, 1, 1, 0,
					  NULL, p, NULL));
			CK(cuMemcpyDtoH(s + 2 * n, c, 4 * n));
		}
		if (i >= 0)
			t[i] = now_ns() - t0;
		if (i == iters - 1)
			check_c(s, n, "native vector_add");
	}
	if (pinned)
		cuMemFreeHost(s);
	else
		free(s);
	cuMemFree(d);
	{
		struct lat l = percentiles(t, iters);

		free(t);
		return l;
	}
}

static struct lat native_empty(void)
{
	uint64_t *t = calloc((size_t)iters, sizeof(*t));

	for (int i = -200; i < iters; i++) {
		uint64_t t0 = now_ns();

		CK(cuLaunchKernel(n_empty, 1, 1, 1, 1, 1, 1, 0, nstream, NULL, NULL));
		CK(cuStreamSynchronize(nstream));
		if (i >= 0)
			t[i] = now_ns() - t0;
	}
	{
		struct lat l = percentiles(t, iters);

		free(t);
		return l;
	}
}

static double native_async(void)
{
	uint64_t t0;

	for (int i = 0; i < 1000; i++)
		CK(cuLaunchKernel(n_empty, 1, 1, 1, 1, 1, 1, 0, nstream, NULL, NULL));
	CK(cuStreamSynchronize(nstream));
	t0 = now_ns();
	for (int i = 0; i < async_n; i++)
		CK(cuLaunchKernel(n_empty, 1, 1, 1, 1, 1, 1, 0, nstream, NULL, NULL));
	CK(cuStreamSynchronize(nstream));
	return (double)async_n / ((double)(now_ns() - t0) / 1e9);
}

/* GB/s of copies of size bytes, repeated to move at least 1 GiB. */
static double native_bw(size_t size, bool h2d, bool pinned)
{
	CUdeviceptr d;
	void *h;
	int reps = (int)((1ull << 30) / size);
	uint64_t t0;

	if (reps < 4)
		reps = 4;
	if (reps > 2000)
		reps = 2000;
	CK(cuMemAlloc(&d, size));
	if (pinned)
		CK(cuMemAllocHost(&h, size));
	else
		h = malloc(size);
	memset(h, 1, size);
	for (int pass = 0; pass < 2; pass++) {
		int n = pass ? reps : 2;

		t0 = now_ns();
		for (int i = 0; i < n; i++) {
			if (pinned) {
				if (h2d)
					CK(cuMemcpyHtoDAsync(d, h, size, nstream));
				else
					CK(cuMemcpyDtoHAsync(h, d, size, nstream));
			} else {
				if (h2d)
					CK(cuMemcpyHtoD(d, h, size));
				else
					CK(cuMemcpyDtoH(h, d, size));
			}
		}
		CK(cuStreamSynchronize(nstream));
	}
	{
		double gbs = (double)size * reps / ((double)(now_ns() - t0));

		if (pinned)
			cuMemFreeHost(h);
		else
			free(h);
		cuMemFree(d);
		return gbs;
	}
}

/* Native guests: n processes (forked before this one touches CUDA), each
 * with its own context, vector_add(1024) round trips for `seconds`. */
static double native_procs(int n, double *one)
{
	int fd[2];
	double sum = 0;

	if (pipe(fd))
		return 0;
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid == 0) {
			uint64_t until, start;
			long done = 0;
			double rate;
			const uint32_t nn = 1024;
			float *s;
			CUdeviceptr d;

			close(fd[0]);
			native_init();
			CK(cuMemAlloc(&d, 12 * nn));
			s = malloc(12 * nn);
			start = now_ns();
			until = start + (uint64_t)seconds * 1000000000ull;
			while (now_ns() < until) {
				CUdeviceptr a = d, b = d + 4 * nn, c = d + 8 * nn;
				uint32_t k = nn;
				void *p[] = { &a, &b, &c, &k };

				fill_ab(s, nn, (uint32_t)done);
				CK(cuMemcpyHtoD(d, s, 8 * nn));
				CK(cuLaunchKernel(n_va, (nn + 255) / 256, 1, 1, 256, 1, 1,
						  0, NULL, p, NULL));
				CK(cuMemcpyDtoH(s + 2 * nn, c, 4 * nn));
				done++;
			}
			check_c(s, nn, "native guest vector_add");
			rate = (double)done / ((double)(now_ns() - start) / 1e9);
			if (write(fd[1], &rate, sizeof(rate)) != sizeof(rate))
				_exit(1);
			_exit(wrong);
		}
	}
	close(fd[1]);
	for (int i = 0; i < n; i++) {
		double r;

		if (read(fd[0], &r, sizeof(r)) == sizeof(r))
			sum += r;
	}
	close(fd[0]);
	while (wait(NULL) > 0)
		;
	if (one)
		*one = sum;
	return sum;
}

/* ============================================================== executor */

struct waiter {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int done, status;
};

static void w_done(struct vgpu_exec_op *op, int status)
{
	struct waiter *w = op->priv;

	pthread_mutex_lock(&w->lock);
	w->done = 1;
	w->status = status;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

/*
 * Submit and wait, as a polling backend would: spin up to 50 us on the
 * completion before sleeping (vgpu-backend --poll-us does the same on its
 * event channel), so that a thread wake-up is not what is measured.
 */
static int x_run(struct vgpu_exec *ex, struct vgpu_exec_op *op)
{
	struct waiter w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0 };
	uint64_t t0;
	int rc;

	op->done = w_done;
	op->priv = &w;
	rc = vgpu_exec_submit(ex, op);
	if (rc)
		return rc;
	t0 = now_ns();
	while (!__atomic_load_n(&w.done, __ATOMIC_ACQUIRE) && now_ns() - t0 < 50000)
		;
	pthread_mutex_lock(&w.lock);
	while (!w.done)
		pthread_cond_wait(&w.cond, &w.lock);
	pthread_mutex_unlock(&w.lock);
	return w.status;
}

static struct vgpu_exec *x_open(void)
{
	struct vgpu_exec_config cfg = { .name = "cuda", .domid = 1 };
	struct vgpu_exec *ex;
	const char *why = NULL;

	if (vgpu_exec_open(&ex, &cfg, &why)) {
		fprintf(stderr, "cuda executor: %s\n", why ? why : "?");
		exit(1);
	}
	return ex;
}

static double x_va_loop(struct vgpu_exec *ex, uint64_t *t, int n_iter,
			uint64_t until_ns)
{
	const uint32_t n = 1024;
	float *s = malloc(12 * n);
	long done = 0;
	uint64_t start = now_ns();

	for (int i = -200; until_ns ? now_ns() < until_ns : i < n_iter; i++) {
		struct vgpu_exec_iov iov = { s, 12 * n };
		struct vgpu_exec_op op = { .opcode = VGPUIF_OP_VECTOR_ADD };
		uint64_t t0;

		fill_ab(s, n, (uint32_t)i);
		op.u.vector_add.n = n;
		op.iov = &iov;
		op.niov = 1;
		t0 = now_ns();
		int st = x_run(ex, &op);

		if (st) {
			bad("executor vector_add", st);
			break;
		}
		if (t && i >= 0)
			t[i] = now_ns() - t0;
		if (i % 97 == 0)
			check_c(s, n, "executor vector_add");
		done++;
	}
	free(s);
	return (double)done / ((double)(now_ns() - start) / 1e9);
}

static struct vgpu_exec_func *x_func(struct vgpu_exec *ex,
				     struct vgpu_exec_ctx *ctx, const char *name)
{
	struct vgpu_exec_iov iov = { (void *)vt_kernels_ptx, sizeof(vt_kernels_ptx) };
	struct vgpu_exec_op op = { .opcode = VGPUIF_OP_MODULE_LOAD, .ctx = ctx };
	struct vgpu_exec_iov niov = { (void *)name, strlen(name) };

	op.u.module_load.image_len = sizeof(vt_kernels_ptx);
	op.u.module_load.format = VGPUIF_MODULE_PTX;
	op.iov = &iov;
	op.niov = 1;
	if (x_run(ex, &op))
		exit(1);
	memset(&op.u, 0, sizeof(op.u));
	op.u.func_get.mod = op.object;
	op.opcode = VGPUIF_OP_FUNC_GET;
	op.u.func_get.name_len = (uint32_t)strlen(name);
	op.iov = &niov;
	if (x_run(ex, &op))
		exit(1);
	return op.object;
}

static struct lat x_empty(struct vgpu_exec *ex, struct vgpu_exec_ctx *ctx,
			  struct vgpu_exec_func *f)
{
	int c;
	uint64_t *t = calloc((size_t)iters, sizeof(*t));

	for (int i = -200; i < iters; i++) {
		struct vgpu_exec_op op = { .opcode = VGPUIF_OP_LAUNCH, .ctx = ctx };
		uint64_t t0;

		op.u.launch.func = f;
		op.u.launch.grid[0] = op.u.launch.grid[1] = op.u.launch.grid[2] = 1;
		op.u.launch.block[0] = op.u.launch.block[1] = op.u.launch.block[2] = 1;
		t0 = now_ns();
		if ((c = x_run(ex, &op)))
			bad("executor empty launch", c);
		if (i >= 0)
			t[i] = now_ns() - t0;
	}
	{
		struct lat l = percentiles(t, iters);

		free(t);
		return l;
	}
}

static long x_async_done;
static void count_done(struct vgpu_exec_op *op, int status)
{
	if (status)
		bad(vgpuif_op_name(op->opcode), status);
	__atomic_add_fetch(&x_async_done, 1, __ATOMIC_RELEASE);
}

static double x_async(struct vgpu_exec *ex, struct vgpu_exec_ctx *ctx,
		      struct vgpu_exec_func *f)
{
	int c;
	struct vgpu_exec_op *ops = calloc((size_t)async_n, sizeof(*ops));
	uint64_t t0;

	for (int i = 0; i < async_n; i++) {
		ops[i].opcode = VGPUIF_OP_LAUNCH;
		ops[i].ctx = ctx;
		ops[i].u.launch.func = f;
		ops[i].u.launch.grid[0] = ops[i].u.launch.grid[1] = 1;
		ops[i].u.launch.grid[2] = 1;
		ops[i].u.launch.block[0] = ops[i].u.launch.block[1] = 1;
		ops[i].u.launch.block[2] = 1;
		ops[i].done = count_done;
	}
	x_async_done = 0;
	t0 = now_ns();
	for (int i = 0; i < async_n; i++)
		if ((c = vgpu_exec_submit(ex, &ops[i]))) {
			bad("executor async submit", c);
			__atomic_add_fetch(&x_async_done, 1, __ATOMIC_RELEASE);
		}
	while (__atomic_load_n(&x_async_done, __ATOMIC_ACQUIRE) < async_n)
		usleep(50);
	{
		double r = (double)async_n / ((double)(now_ns() - t0) / 1e9);

		free(ops);
		return r;
	}
}

static double x_bw(struct vgpu_exec *ex, struct vgpu_exec_ctx *ctx, size_t size,
		   bool h2d)
{
	const size_t chunk_max = VGPUIF_MAX_REQUEST_BYTES;
	struct vgpu_exec_mem *m;
	unsigned char *h = malloc(size);
	int reps = (int)((1ull << 30) / size);
	size_t nch = (size + chunk_max - 1) / chunk_max;
	struct vgpu_exec_op *ops = calloc(nch * 64, sizeof(*ops));
	struct vgpu_exec_iov *iov = calloc(nch * 64, sizeof(*iov));
	struct vgpu_exec_op op = { .opcode = VGPUIF_OP_MEM_ALLOC, .ctx = ctx };
	uint64_t t0 = 0;

	if (reps < 4)
		reps = 4;
	if (reps > 2000)
		reps = 2000;
	memset(h, 3, size);
	op.u.mem_alloc.size = size;
	if (x_run(ex, &op))
		exit(1);
	m = op.object;
	for (int pass = 0; pass < 2; pass++) {
		int n = pass ? reps : 2;
		long total = 0;

		x_async_done = 0;
		t0 = now_ns();
		for (int r = 0; r < n; r++) {
			for (size_t c = 0; c < nch; c++) {
				size_t k = (size_t)(r % 64) * nch + c;
				size_t off = c * chunk_max;
				size_t len = size - off < chunk_max ? size - off : chunk_max;

				/* keep at most 64 batches in flight */
				while (total - __atomic_load_n(&x_async_done, __ATOMIC_ACQUIRE)
				       >= (long)(63 * nch))
					;
				memset(&ops[k], 0, sizeof(ops[k]));
				iov[k].base = h + off;
				iov[k].len = len;
				ops[k].opcode = h2d ? VGPUIF_OP_MEMCPY_H2D : VGPUIF_OP_MEMCPY_D2H;
				ops[k].ctx = ctx;
				ops[k].u.copy.mem = m;
				ops[k].u.copy.offset = off;
				ops[k].u.copy.length = len;
				ops[k].iov = &iov[k];
				ops[k].niov = 1;
				ops[k].done = count_done;
				int st = vgpu_exec_submit(ex, &ops[k]);

				if (st) {
					bad("executor copy submit", st);
					__atomic_add_fetch(&x_async_done, 1, __ATOMIC_RELEASE);
				}
				total++;
			}
		}
		while (__atomic_load_n(&x_async_done, __ATOMIC_ACQUIRE) < total)
			;
	}
	{
		double gbs = (double)size * reps / (double)(now_ns() - t0);
		struct vgpu_exec_op f = { .opcode = VGPUIF_OP_MEM_FREE, .ctx = ctx };

		f.u.mem_free.mem = m;
		x_run(ex, &f);
		free(h);
		free(ops);
		free(iov);
		return gbs;
	}
}

struct guest_arg {
	struct vgpu_exec *ex;
	uint64_t until;
	double rate;
#ifdef VGPU_BENCH_LOOPBACK
	vgpu_t *v;
#endif
};

static void *x_guest(void *p)
{
	struct guest_arg *g = p;

	g->rate = x_va_loop(g->ex, NULL, 0, g->until);
	return NULL;
}

/* ============================================================= loopback */

#ifdef VGPU_BENCH_LOOPBACK
static char world_dir[256];
static pid_t bpids[8];

static void lb_start(int ndom)
{
	struct lb_world *w;

	/* guest memory of the loopback world: tmpfs, not a disk-backed /tmp */
	snprintf(world_dir, sizeof(world_dir), "%s/vgpu-gpu-bench-XXXXXX",
		 access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm");
	if (!mkdtemp(world_dir)) {
		perror("mkdtemp");
		exit(1);
	}
	w = lb_world_open(world_dir, true);
	if (!w) {
		perror("lb_world_open");
		exit(1);
	}
	for (int d = 1; d <= ndom; d++) {
		char dom[16], log[300];
		pid_t pid;

		/* domain 1 gets room for the 256 MiB bandwidth buffers */
		if (lb_domain_create_ex(w, (uint32_t)d, 0,
					d == 1 ? (768ull << 20) : (64ull << 20)) ||
		    lb_attach_device(w, (uint32_t)d, 0, "medium", 0, 0)) {
			fprintf(stderr, "loopback domain %d: %s\n", d, strerror(errno));
			exit(1);
		}
		snprintf(dom, sizeof(dom), "%d", d);
		snprintf(log, sizeof(log), "%s/backend-%d.log", world_dir, d);
		pid = fork();
		if (pid == 0) {
			if (poll_us)
				execl(backend_path, backend_path, "--domid", dom,
				      "--transport", "loopback", "--loopback-dir",
				      world_dir, "--executor", "cuda", "--foreground",
				      "--log-level", "info", "--log-file", log,
				      "--poll-us", poll_us, (char *)NULL);
			else
				execl(backend_path, backend_path, "--domid", dom,
				      "--transport", "loopback", "--loopback-dir",
				      world_dir, "--executor", "cuda", "--foreground",
				      "--log-level", "info", "--log-file", log,
				      (char *)NULL);
			_exit(127);
		}
		bpids[d] = pid;
	}
	lb_world_close(w);
}

/* CPU clock ticks used so far by pid and its children (the GPU worker). */
static unsigned long long proc_tree_ticks(pid_t pid)
{
	char path[96], buf[1024];
	unsigned long long sum = 0;
	int kids[16], nk = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", pid, pid);
	if ((f = fopen(path, "r"))) {
		while (nk < 16 && fscanf(f, "%d", &kids[nk]) == 1)
			nk++;
		fclose(f);
	}
	for (int k = -1; k < nk; k++) {
		unsigned long long ut = 0, st = 0;
		char *p;

		snprintf(path, sizeof(path), "/proc/%d/stat", k < 0 ? pid : kids[k]);
		if (!(f = fopen(path, "r")))
			continue;
		if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) &&
		    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			   &ut, &st) == 2)
			sum += ut + st;
		fclose(f);
	}
	return sum;
}

/*
 * What an idle domain costs dom0: each backend with its GPU worker, after
 * the work above, idle for 3 s (their default waiting: no polling once the
 * domain is quiet). Percent of one core, the busiest domain and the mean.
 */
static void lf_idle_cpu(int ndom)
{
	unsigned long long t0[8], t1[8];
	double hz = (double)sysconf(_SC_CLK_TCK), worst = 0, sum = 0;
	uint64_t s0, s1;

	usleep(200000);  /* let polling windows close */
	s0 = now_ns();
	for (int d = 1; d <= ndom; d++)
		t0[d] = proc_tree_ticks(bpids[d]);
	sleep(3);
	for (int d = 1; d <= ndom; d++)
		t1[d] = proc_tree_ticks(bpids[d]);
	s1 = now_ns();
	for (int d = 1; d <= ndom; d++) {
		double pct = 100.0 * (double)(t1[d] - t0[d]) / hz /
			     ((double)(s1 - s0) / 1e9);

		sum += pct;
		if (pct > worst)
			worst = pct;
	}
	printf("idle domain, %% of a core          loopback: backend + GPU worker, "
	       "busiest %.2f, mean %.2f (%d domains, %.1f s, clock ticks of %.0f ms)\n",
	       worst, sum / ndom, ndom, (double)(s1 - s0) / 1e9, 1000 / hz);
}

static void lb_stop(int ndom)
{
	for (int d = 1; d <= ndom; d++) {
		int st;

		if (bpids[d] <= 0)
			continue;
		kill(bpids[d], SIGTERM);
		waitpid(bpids[d], &st, 0);
		bpids[d] = 0;
	}
}

static vgpu_t *lf_connect(int domid)
{
	char dev[400];
	vgpu_t *v;

	snprintf(dev, sizeof(dev), "loopback:%s?domid=%d", world_dir, domid);
	if (vgpu_open(dev, &v)) {
		fprintf(stderr, "loopback domain %d: %s\n", domid, vgpu_open_error());
		exit(1);
	}
	return v;
}

static double lf_va_loop(vgpu_t *v, uint64_t *t, int n_iter, uint64_t until_ns)
{
	const uint32_t n = 1024;
	long done = 0;
	uint64_t start = now_ns();
	float *s;

	if (vgpu_host_alloc(v, 12 * n, (void **)&s)) {
		bad("loopback host memory", -ENOMEM);
		return 0;
	}
	for (int i = -200; until_ns ? now_ns() < until_ns : i < n_iter; i++) {
		uint64_t t0;

		fill_ab(s, n, (uint32_t)i);
		t0 = now_ns();
		int st = vgpu_vector_add(v, s, s + n, s + 2 * n, n);

		if (st) {
			fprintf(stderr, "loopback vector_add: %s\n", vgpu_error(v));
			bad("loopback vector_add", st);
			break;
		}
		if (t && i >= 0)
			t[i] = now_ns() - t0;
		if (i % 97 == 0)
			check_c(s, n, "loopback vector_add");
		done++;
	}
	vgpu_host_free(v, s);
	return (double)done / ((double)(now_ns() - start) / 1e9);
}

static void *lf_guest(void *p)
{
	struct guest_arg *g = p;

	g->rate = lf_va_loop(g->v, NULL, 0, g->until);
	return NULL;
}

/* vt_empty through the backend: module load, func get. */
static int lf_empty_setup(vgpu_t *v, uint64_t *func)
{
	char log[1024];
	uint64_t mod;

	if (vgpu_module_load(v, vt_kernels_ptx, sizeof(vt_kernels_ptx), VGPU_MODULE_PTX,
			     log, sizeof(log), &mod, NULL) ||
	    vgpu_func_get(v, mod, "vt_empty", func, NULL)) {
		fprintf(stderr, "loopback module: %s\n", vgpu_error(v));
		return -1;
	}
	return 0;
}

static const uint32_t one3[3] = { 1, 1, 1 };

/* LAUNCH (queued) + SYNC, as cuLaunchKernel + cuCtxSynchronize. */
static struct lat lf_empty(vgpu_t *v, uint64_t func)
{
	uint64_t *t = calloc((size_t)iters, sizeof(*t));

	for (int i = -200; i < iters; i++) {
		uint64_t t0 = now_ns();
		int st = vgpu_launch(v, func, one3, one3, 0, NULL, 0);

		if (!st)
			st = vgpu_sync(v);
		if (st)
			bad("loopback empty launch", st);
		if (i >= 0)
			t[i] = now_ns() - t0;
	}
	{
		struct lat l = percentiles(t, iters);

		free(t);
		return l;
	}
}

/* async_n queued launches, then one SYNC: the ring stays full. */
static double lf_async(vgpu_t *v, uint64_t func)
{
	uint64_t t0 = now_ns();
	int st = 0;

	for (long i = 0; i < async_n && !st; i++)
		st = vgpu_launch(v, func, one3, one3, 0, NULL, 0);
	if (!st)
		st = vgpu_sync(v);
	if (st)
		bad("loopback async launch", st);
	return (double)async_n / ((double)(now_ns() - t0) / 1e9);
}

/*
 * Copies from host memory (pinned: vgpu_host_alloc, guest pages, no bounce
 * copy in the guest), from such memory registered with dom0 once
 * (vgpu_host_register: copies name the registration; zero copy where the
 * backend's executor maps it, GET_INFO's copy mode says), or from
 * ordinary (pageable) memory of the program, which libvgpu bounces
 * through guest buffers. Registered copies are checked once per size.
 */
enum lf_mem { LF_PAGEABLE, LF_PINNED, LF_REGISTERED };
static uint32_t lf_reg_mode;            /* copy mode registered memory got */

static double lf_bw(vgpu_t *v, size_t size, bool h2d, enum lf_mem kind)
{
	uint64_t mem, addr, t0 = 0;
	int reps = (int)((1ull << 30) / size);
	bool pinned = kind != LF_PAGEABLE;
	void *b = NULL;

	if ((pinned ? vgpu_host_alloc(v, size, &b) : !(b = malloc(size))) ||
	    vgpu_mem_alloc(v, size, &mem, &addr)) {
		fprintf(stderr, "loopback bandwidth %zu: %s\n", size, vgpu_error(v));
		return 0;
	}
	if (kind == LF_REGISTERED) {
		struct vgpu_info info;
		uint8_t *chk = malloc(size);
		int rc = vgpu_host_register(v, b, size, 0);

		if (rc) {
			fprintf(stderr, "loopback bandwidth %zu: vgpu_host_register: %s\n",
				size, vgpu_strerror(rc));
			vgpu_mem_free(v, mem);
			vgpu_host_free(v, b);
			free(chk);
			return 0;
		}
		if (!vgpu_query(v, &info))
			lf_reg_mode = info.copy_mode;
		for (size_t i = 0; i < size; i++)
			((uint8_t *)b)[i] = (uint8_t)(i * 13 + (i >> 12));
		if (!chk || vgpu_memcpy_h2d(v, mem, 0, b, size) ||
		    vgpu_memcpy_d2h(v, chk, mem, 0, size) || memcmp(chk, b, size) ||
		    (memset(b, 0, size), vgpu_memcpy_d2h(v, b, mem, 0, size)) ||
		    memcmp(chk, b, size))
			bad("loopback registered copy", -EIO);
		free(chk);
	}
	if (reps < 4)
		reps = 4;
	if (reps > 500)
		reps = 500;
	memset(b, 5, size);
	for (int pass = 0; pass < 2; pass++) {
		int n = pass ? reps : 1;

		t0 = now_ns();
		for (int i = 0; i < n; i++) {
			int rc = h2d ? vgpu_memcpy_h2d(v, mem, 0, b, size)
				     : vgpu_memcpy_d2h(v, b, mem, 0, size);
			if (rc) {
				bad(h2d ? "loopback h2d" : "loopback d2h", rc);
				break;
			}
		}
	}
	{
		double gbs = (double)size * reps / (double)(now_ns() - t0);

		vgpu_mem_free(v, mem);
		if (pinned)
			vgpu_host_free(v, b);
		else
			free(b);
		return gbs;
	}
}
#endif

/* ================================================================== main */

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "iters", required_argument, NULL, 'n' },
		{ "async", required_argument, NULL, 'a' },
		{ "seconds", required_argument, NULL, 's' },
		{ "backend", required_argument, NULL, 'b' },
		{ "max-mib", required_argument, NULL, 'm' },
		{ "poll-us", required_argument, NULL, 'p' },
		{ "only-bw", no_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct vgpu_exec *ex;
	struct vgpu_exec_ctx *xctx;
	struct vgpu_exec_func *xf;
	struct vgpu_exec_info info;
	struct lat nl = { 0, 0 }, nlp = { 0, 0 }, xl, el, xe;
	uint64_t *t;
	double nr = 0, xr, er = 0, one_x, one_e = 0;
	int c, drv = 0;
	char name[128];
	CUdevice dev;

	while ((c = getopt_long(argc, argv, "n:a:s:b:m:p:oh", opts, NULL)) != -1) {
		switch (c) {
		case 'n': iters = atoi(optarg); break;
		case 'a': async_n = atoi(optarg); break;
		case 's': seconds = atoi(optarg); break;
		case 'b': backend_path = optarg; break;
		case 'm': max_mib = atoi(optarg); break;
		case 'p': poll_us = optarg; setenv("VGPU_LOOPFRONT_SPIN_US", optarg, 1); break;
		case 'o': only_bw = true; break;
		case 'h': fputs(usage_text, stdout); return 0;
		default: fputs(usage_text, stderr); return 2;
		}
	}
	if (iters < 100 || async_n < 1000 || seconds < 1 || max_mib < 1) {
		fputs(usage_text, stderr);
		return 2;
	}
#ifndef VGPU_BENCH_LOOPBACK
	if (backend_path) {
		fprintf(stderr, "gpu-bench: built without the loopback transport\n");
		return 2;
	}
#endif
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!only_bw) {
		/* before this process touches CUDA: forked native guests */
		double n1, n7;

		native_procs(1, &n1);
		n7 = native_procs(7, NULL);
		if (n1 > 0)
			printf("7 guests, vector_add(1024)/s      native processes: one alone %.0f, "
			       "7 at once %.0f total (%.2fx one)\n", n1, n7, n7 / n1);
	}
	if (cuInit(0) || cuDeviceGet(&dev, 0)) {
		printf("SKIP: no CUDA device\n");
		return 77;
	}
	cuDriverGetVersion(&drv);
	cuDeviceGetName(name, sizeof(name), dev);
	native_init();
	ex = x_open();
	vgpu_exec_get_info(ex, &info);
	if (vgpu_exec_ctx_create(ex, &xctx))
		return 1;
	xf = x_func(ex, xctx, "vt_empty");
	{
		time_t now = time(NULL);
		char date[64];

		strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", gmtime(&now));
		printf("# gpu-bench: %s, %u SMs, CUDA driver %d.%d, %s\n", name,
		       info.sm_count, drv / 1000, drv % 1000 / 10, date);
	}

	t = calloc((size_t)iters, sizeof(*t));
	if (only_bw)
		goto bandwidth;
	/* ---- vector_add(1024) round trip ---- */
	nl = native_va(false);
	nlp = native_va(true);
	x_va_loop(ex, t, iters, 0);
	xl = percentiles(t, iters);
	printf("vector_add(1024) round trip, us   native pageable p50 %.1f p99 %.1f | "
	       "native pinned p50 %.1f p99 %.1f | executor p50 %.1f p99 %.1f (%.2fx pageable)\n",
	       nl.p50, nl.p99, nlp.p50, nlp.p99, xl.p50, xl.p99, xl.p50 / nl.p50);

	/* ---- empty launch + sync ---- */
	el = native_empty();
	xe = x_empty(ex, xctx, xf);
	printf("empty LAUNCH+SYNC, us             native p50 %.1f p99 %.1f | "
	       "executor p50 %.1f p99 %.1f\n", el.p50, el.p99, xe.p50, xe.p99);

	/* ---- async throughput ---- */
	nr = native_async();
	xr = x_async(ex, xctx, xf);
	printf("async empty launches, K/s         native %.0f | executor %.0f (%.0f%%)\n",
	       nr / 1000, xr / 1000, 100 * xr / nr);

	/* ---- bandwidth ---- */
bandwidth:
	printf("bandwidth, GB/s        size   native-pinned H2D D2H | native-pageable H2D D2H | executor H2D D2H (%% of pinned)\n");
	for (size_t sz = 4096; sz <= (size_t)max_mib << 20; sz *= 4) {
		double nph = native_bw(sz, true, true), npd = native_bw(sz, false, true);
		double nuh = native_bw(sz, true, false), nud = native_bw(sz, false, false);
		double xh = x_bw(ex, xctx, sz, true), xd = x_bw(ex, xctx, sz, false);

		printf("  %12zu   %6.2f %6.2f | %6.2f %6.2f | %6.2f %6.2f (%3.0f%% %3.0f%%)\n",
		       sz, nph, npd, nuh, nud, xh, xd, 100 * xh / nph, 100 * xd / npd);
	}

	/* ---- 7 guests ---- */
	if (!only_bw) {
		struct vgpu_exec *g[7];
		struct guest_arg ga[7];
		pthread_t th[7];
		double sum = 0;

		for (int i = 0; i < 7; i++)
			g[i] = x_open();
		ga[0].ex = g[0];
		ga[0].until = now_ns() + (uint64_t)seconds * 1000000000ull;
		x_guest(&ga[0]);
		one_x = ga[0].rate;
		for (int i = 0; i < 7; i++) {
			ga[i].ex = g[i];
			ga[i].until = now_ns() + (uint64_t)seconds * 1000000000ull;
			pthread_create(&th[i], NULL, x_guest, &ga[i]);
		}
		for (int i = 0; i < 7; i++) {
			pthread_join(th[i], NULL);
			sum += ga[i].rate;
		}
		printf("7 guests, vector_add(1024)/s      executor: one alone %.0f, "
		       "7 at once %.0f total (min %.0f, max %.0f per guest)\n",
		       one_x, sum, ga[0].rate, ga[6].rate);
		for (int i = 0; i < 7; i++)
			vgpu_exec_close(g[i]);
	}

#ifdef VGPU_BENCH_LOOPBACK
	if (backend_path && !only_bw) {
		vgpu_t *lf[8];
		uint64_t lfunc;
		struct lat ll, le;
		struct guest_arg ga[7];
		pthread_t th[7];
		double sum = 0;

		lb_start(7);
		for (int d = 1; d <= 7; d++)
			lf[d] = lf_connect(d);
		printf("# loopback: 7 vgpu-backend processes (--executor cuda%s%s), "
		       "guests through libvgpu (loopback transport); world %s\n",
		       poll_us ? ", --poll-us " : "", poll_us ? poll_us : "", world_dir);
		lf_va_loop(lf[1], t, iters, 0);
		ll = percentiles(t, iters);
		printf("vector_add(1024) round trip, us   loopback p50 %.1f p99 %.1f "
		       "(%.2fx native pageable, %.2fx pinned)\n", ll.p50, ll.p99,
		       ll.p50 / nl.p50, ll.p50 / nlp.p50);
		ga[0].v = lf[1];
		ga[0].until = now_ns() + (uint64_t)seconds * 1000000000ull;
		lf_guest(&ga[0]);
		one_e = ga[0].rate;
		for (int i = 0; i < 7; i++) {
			ga[i].v = lf[i + 1];
			ga[i].until = now_ns() + (uint64_t)seconds * 1000000000ull;
			pthread_create(&th[i], NULL, lf_guest, &ga[i]);
		}
		for (int i = 0; i < 7; i++) {
			pthread_join(th[i], NULL);
			sum += ga[i].rate;
		}
		printf("7 guests, vector_add(1024)/s      loopback: one alone %.0f, "
		       "7 at once %.0f total (%.0f%% of 7x alone is not the target; "
		       "aggregate vs one: %.2fx)\n", one_e, sum,
		       100 * sum / (7 * one_e), sum / one_e);
		if (!lf_empty_setup(lf[1], &lfunc)) {
			le = lf_empty(lf[1], lfunc);
			printf("empty LAUNCH+SYNC, us             loopback p50 %.1f p99 %.1f\n",
			       le.p50, le.p99);
			er = lf_async(lf[1], lfunc);
			printf("async empty launches, K/s         loopback %.0f (%.0f%% of native)\n",
			       er / 1000, 100 * er / nr);
			printf("bandwidth, GB/s        size   loopback registered H2D D2H (%% of native pinned) | "
			       "loopback pinned, not registered H2D D2H (%% of native pinned) | "
			       "loopback pageable H2D D2H (%% of native pageable)\n");
			for (size_t sz = 4096; sz <= (size_t)max_mib << 20; sz *= 16) {
				double rh = lf_bw(lf[1], sz, true, LF_REGISTERED);
				double rd = lf_bw(lf[1], sz, false, LF_REGISTERED);
				double h = lf_bw(lf[1], sz, true, LF_PINNED);
				double d = lf_bw(lf[1], sz, false, LF_PINNED);
				double uh = lf_bw(lf[1], sz, true, LF_PAGEABLE);
				double ud = lf_bw(lf[1], sz, false, LF_PAGEABLE);
				double nh = native_bw(sz, true, true), nd = native_bw(sz, false, true);

				printf("  %12zu   %6.2f %6.2f (%3.0f%% %3.0f%%) | %6.2f %6.2f (%3.0f%% %3.0f%%) | "
				       "%6.2f %6.2f (%3.0f%% %3.0f%%)\n",
				       sz, rh, rd, 100 * rh / nh, 100 * rd / nd,
				       h, d, 100 * h / nh, 100 * d / nd,
				       uh, ud,
				       100 * uh / native_bw(sz, true, false),
				       100 * ud / native_bw(sz, false, false));
			}
			printf("registered copies: copy mode %s (GET_INFO)\n",
			       lf_reg_mode == 2 ? "zero-copy" : lf_reg_mode == 1 ? "staged" :
			       lf_reg_mode == 3 ? "host memcpy" : "unknown");
			{
				/* what domain 1's backend logged of it (why, if staged) */
				char path[400], line[512];
				FILE *f;
				int shown = 0;

				snprintf(path, sizeof(path), "%s/backend-1.log", world_dir);
				f = fopen(path, "r");
				while (f && fgets(line, sizeof(line), f) && shown < 2)
					if (strstr(line, "host region")) {
						printf("  backend: %s", strstr(line, "host region"));
						shown++;
					}
				if (f)
					fclose(f);
			}
		}
		lf_idle_cpu(7);
		for (int d = 1; d <= 7; d++)
			vgpu_close(lf[d]);
		lb_stop(7);
	}
#endif
	(void)er;
	free(t);
	vgpu_exec_ctx_destroy(ex, xctx);
	vgpu_exec_close(ex);
	printf("%s\n", wrong ? "RESULT: some results were WRONG" : "RESULT: all results correct");
	return wrong ? 1 : 0;
}
