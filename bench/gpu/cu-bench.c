/* SPDX-License-Identifier: MIT */
/*
 * cu-bench - a CUDA driver-API program that times what issue #14's table
 * asks of the whole path, against whichever libcuda.so.1 the dynamic
 * loader gives it: NVIDIA's (native) or the guest library (guest/libcuda,
 * LD_LIBRARY_PATH=<build>/libcuda and VGPU_DEVICE=loopback:...), which
 * carries every call through libvgpu, the loopback transport, vgpu-backend
 * and its GPU worker. Run both in one script (scripts/gpu/fastpath-bench.sh)
 * for mediated vs native in the same run.
 *
 * Every line is "cu-bench LABEL WHAT: figures", so two runs paste side by
 * side. Not a test: it asserts nothing except that results are correct
 * (exit 1 otherwise).
 */
#include <cuda.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gpu-kernels.h"
#include "kernels/vector_add_ptx.h"

static const char *label = "native";
static int iters = 3000, async_n = 50000, max_mib = 256;
static int wrong;

#define CK(call) do {							\
	CUresult r_ = (call);						\
	if (r_ != CUDA_SUCCESS) {					\
		const char *n_ = NULL;					\
		cuGetErrorName(r_, &n_);				\
		fprintf(stderr, "cu-bench %s: %s:%d: %s: %s\n", label,	\
			__FILE__, __LINE__, #call, n_ ? n_ : "?");	\
		exit(1);						\
	}								\
} while (0)

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* p50 and p99 of t[0..n) (sorted in place). */
static void pct(double *t, int n, double *p50, double *p99)
{
	qsort(t, (size_t)n, sizeof(*t), cmp_double);
	*p50 = t[n / 2];
	*p99 = t[n * 99 / 100];
}

static void launch_sync(CUfunction f, unsigned int grid, unsigned int block,
			void **params, const char *what)
{
	double *t = calloc((size_t)iters, sizeof(*t)), p50, p99;

	for (int i = -200; i < iters; i++) {
		double t0 = now_us();

		CK(cuLaunchKernel(f, grid, 1, 1, block, 1, 1, 0, NULL, params, NULL));
		CK(cuCtxSynchronize());
		if (i >= 0)
			t[i] = now_us() - t0;
	}
	pct(t, iters, &p50, &p99);
	printf("cu-bench %s %s launch+sync: p50 %.1f p99 %.1f us\n", label, what,
	       p50, p99);
	free(t);
}

/* vector_add(1024) with its copies: H2D a and b, kernel, D2H c, as a
 * runtime program's cudaMemcpy + <<<>>> + cudaMemcpy. */
static void vector_add(CUfunction f, bool pinned)
{
	const unsigned int n = 1024;
	double *t = calloc((size_t)iters, sizeof(*t)), p50, p99;
	CUdeviceptr d;
	float *h;
	void *p[4];
	CUdeviceptr da, db, dc;

	CK(cuMemAlloc(&d, 12 * n));
	if (pinned)
		CK(cuMemAllocHost((void **)&h, 12 * n));
	else if (!(h = malloc(12 * n)))
		exit(1);
	da = d;
	db = d + 4 * n;
	dc = d + 8 * n;
	p[0] = &da;
	p[1] = &db;
	p[2] = &dc;
	p[3] = (void *)&n;
	for (int i = -200; i < iters; i++) {
		double t0;

		for (unsigned int k = 0; k < n; k++) {
			h[k] = (float)(k + (unsigned int)i);
			h[n + k] = 2.0f * (float)k;
		}
		t0 = now_us();
		CK(cuMemcpyHtoD(d, h, 8 * n));
		CK(cuLaunchKernel(f, (n + 255) / 256, 1, 1, 256, 1, 1, 0, NULL, p, NULL));
		CK(cuMemcpyDtoH(h + 2 * n, dc, 4 * n));
		if (i >= 0)
			t[i] = now_us() - t0;
		if (i % 97 == 0)
			for (unsigned int k = 0; k < n; k++)
				if (h[2 * n + k] != h[k] + h[n + k]) {
					wrong = 1;
					break;
				}
	}
	pct(t, iters, &p50, &p99);
	printf("cu-bench %s vector_add(1024) with copies, %s: p50 %.1f p99 %.1f us\n",
	       label, pinned ? "pinned" : "pageable", p50, p99);
	if (pinned)
		cuMemFreeHost(h);
	else
		free(h);
	cuMemFree(d);
	free(t);
}

static void async_launches(CUfunction f)
{
	double t0 = now_us(), rate;

	for (int i = 0; i < async_n; i++)
		CK(cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, NULL, NULL, NULL));
	CK(cuCtxSynchronize());
	rate = async_n / ((now_us() - t0) / 1e6);
	printf("cu-bench %s async empty launches: %.1f K/s\n", label, rate / 1e3);
}

/* GB/s of reps copies of size bytes (after one warm-up copy). */
static double bw(CUdeviceptr d, void *h, size_t size, bool h2d)
{
	int reps = (int)((1ull << 30) / size);
	double t0 = 0;

	if (reps < 4)
		reps = 4;
	if (reps > 1000)
		reps = 1000;
	for (int pass = 0; pass < 2; pass++) {
		int n = pass ? reps : 1;

		t0 = now_us();
		for (int i = 0; i < n; i++) {
			if (h2d)
				CK(cuMemcpyHtoD(d, h, size));
			else
				CK(cuMemcpyDtoH(h, d, size));
		}
	}
	return (double)size * reps / ((now_us() - t0) * 1e3);
}

static void bandwidth(void)
{
	for (size_t sz = 4096; sz <= (size_t)max_mib << 20; sz *= 4) {
		CUdeviceptr d;
		void *hp, *hu;
		double ph, pd, uh, ud;

		CK(cuMemAlloc(&d, sz));
		CK(cuMemAllocHost(&hp, sz));
		if (!(hu = malloc(sz)))
			exit(1);
		memset(hp, 3, sz);
		memset(hu, 4, sz);
		ph = bw(d, hp, sz, true);
		pd = bw(d, hp, sz, false);
		uh = bw(d, hu, sz, true);
		ud = bw(d, hu, sz, false);
		printf("cu-bench %s bandwidth %9zu B: pinned H2D %6.2f D2H %6.2f | "
		       "pageable H2D %6.2f D2H %6.2f GB/s\n", label, sz, ph, pd, uh, ud);
		cuMemFreeHost(hp);
		free(hu);
		cuMemFree(d);
	}
}

int main(int argc, char **argv)
{
	CUdevice dev;
	CUcontext ctx;
	CUmodule mk, mv;
	CUfunction f_empty, f_saxpy, f_va;
	CUdeviceptr y;
	char name[128];
	float a = 1.0f;
	unsigned int n = 1024;
	void *sp[4];

	if (argc > 1)
		label = argv[1];
	if (argc > 2)
		max_mib = atoi(argv[2]);
	if (argc > 3)
		iters = atoi(argv[3]);
	if (argc > 4)
		async_n = atoi(argv[4]);
	if (argc > 5 || iters < 100 || async_n < 1000 || max_mib < 1) {
		fprintf(stderr, "usage: cu-bench [LABEL [MAX_MIB [ITERS [ASYNC]]]]\n"
			"  (defaults: native 256 3000 50000)\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	CK(cuInit(0));
	CK(cuDeviceGet(&dev, 0));
	CK(cuDeviceGetName(name, sizeof(name), dev));
	CK(cuCtxCreate(&ctx, NULL, 0, dev));
	printf("cu-bench %s device: %s\n", label, name);
	CK(cuModuleLoadData(&mk, vt_kernels_ptx));
	CK(cuModuleLoadData(&mv, vgpu_vector_add_ptx));
	CK(cuModuleGetFunction(&f_empty, mk, "vt_empty"));
	CK(cuModuleGetFunction(&f_saxpy, mk, "vt_saxpy"));
	CK(cuModuleGetFunction(&f_va, mv, "vgpu_vector_add"));
	CK(cuMemAlloc(&y, 4 * n));
	CK(cuMemsetD8(y, 0, 4 * n));
	sp[0] = &y;
	sp[1] = &y;
	sp[2] = &a;
	sp[3] = &n;
	launch_sync(f_empty, 1, 1, NULL, "empty kernel");
	launch_sync(f_saxpy, n / 256, 256, sp, "saxpy(1024)");
	vector_add(f_va, false);
	vector_add(f_va, true);
	async_launches(f_empty);
	bandwidth();
	cuMemFree(y);
	cuModuleUnload(mk);
	cuModuleUnload(mv);
	cuCtxDestroy(ctx);
	printf("cu-bench %s RESULT: %s\n", label,
	       wrong ? "some results were WRONG" : "all results correct");
	return wrong;
}
