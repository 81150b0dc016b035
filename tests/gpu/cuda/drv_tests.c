/* SPDX-License-Identifier: MIT */
/*
 * drv_tests.c - CUDA driver-API programs for the GPU machine (issue #12,
 * item 6): built there against NVIDIA's cuda.h and linked with -lcuda, the
 * same binary runs natively and, with the guest libcuda.so.1 first on
 * LD_LIBRARY_PATH, through vgpu-xen (run.sh). Every result is checked on
 * the CPU; the bench prints the numbers run.sh sets side by side.
 *
 * usage: drv_tests FATBIN PTX [TEST...]
 *   FATBIN  drv_kernels.cu as a fat binary with SASS for this GPU and PTX
 *   PTX     drv_kernels.cu as PTX text (JIT-compiled at load)
 *   TEST    fatbin ptx_jit constant dynshared streams (default: all five), bench
 * Output: "PASS name: ..." or "FAIL name: ..." per test, "bench ..." lines.
 * Exit: 0 every test passed, 1 otherwise, 2 usage.
 */
#include <cuda.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *fatbin_path, *ptx_path;
static const char *cur;
static int failed;

static const char *rname(CUresult r)
{
	const char *s = NULL;

	return cuGetErrorName(r, &s) == CUDA_SUCCESS && s ? s : "CUresult ?";
}

static void fail(const char *what, CUresult r)
{
	printf("FAIL %s: %s = %s\n", cur, what, rname(r));
	failed = 1;
}

/* A call the test needs: on an error the test stops, failed. */
#define CK(call) do { \
	CUresult ck_r_ = (call); \
	if (ck_r_ != CUDA_SUCCESS) { \
		fail(#call, ck_r_); \
		goto out; \
	} \
} while (0)

static void verdict(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void verdict(int ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s %s: ", ok ? "PASS" : "FAIL", cur);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!ok)
		failed = 1;
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = calloc(1, (size_t)n + 1)) && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf && len)
		*len = (size_t)n;
	return buf;
}

static CUresult load_fatbin(CUmodule *m)
{
	void *img = read_file(fatbin_path, NULL);
	CUresult r;

	if (!img)
		return CUDA_ERROR_FILE_NOT_FOUND;
	r = cuModuleLoadData(m, img);
	free(img);
	return r;
}

/* ------------------------------------------------------------- tests */

/* A fat binary with SASS and PTX: the driver picks the SASS. */
static void t_fatbin(void)
{
	enum { N = 1 << 20 };
	float *a = malloc(N * 4), *b = malloc(N * 4), *c = malloc(N * 4);
	CUmodule m = NULL;
	CUfunction f;
	CUdeviceptr da = 0, db = 0, dc = 0;
	int n = N, bin = 0, ptxv = 0, bad = 0, i;
	void *kp[] = { &da, &db, &dc, &n };

	if (!a || !b || !c)
		goto out;
	for (i = 0; i < N; i++) {
		a[i] = (float)(i % 1000) * 0.5f;
		b[i] = (float)(i % 77);
	}
	CK(load_fatbin(&m));
	CK(cuModuleGetFunction(&f, m, "dk_vadd"));
	CK(cuFuncGetAttribute(&bin, CU_FUNC_ATTRIBUTE_BINARY_VERSION, f));
	CK(cuFuncGetAttribute(&ptxv, CU_FUNC_ATTRIBUTE_PTX_VERSION, f));
	CK(cuMemAlloc(&da, N * 4));
	CK(cuMemAlloc(&db, N * 4));
	CK(cuMemAlloc(&dc, N * 4));
	CK(cuMemcpyHtoD(da, a, N * 4));
	CK(cuMemcpyHtoD(db, b, N * 4));
	CK(cuLaunchKernel(f, N / 256, 1, 1, 256, 1, 1, 0, NULL, kp, NULL));
	CK(cuMemcpyDtoH(c, dc, N * 4));
	for (i = 0; i < N; i++)
		bad += c[i] != a[i] + b[i];
	verdict(!bad, "dk_vadd of %d elements from the SASS+PTX fat binary, %d wrong "
		"(binary version %d, PTX version %d)", N, bad, bin, ptxv);
out:
	if (da)
		cuMemFree(da);
	if (db)
		cuMemFree(db);
	if (dc)
		cuMemFree(dc);
	if (m)
		cuModuleUnload(m);
	free(a);
	free(b);
	free(c);
}

/* PTX text only: the driver JIT-compiles it at load, with its logs. */
static void t_ptx_jit(void)
{
	enum { N = 1 << 20 };
	char err[1024], info[1024], *ptx = read_file(ptx_path, NULL);
	CUjit_option opt[5] = {
		CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES,
		CU_JIT_INFO_LOG_BUFFER, CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES, CU_JIT_WALL_TIME,
	};
	void *val[5] = { err, (void *)(uintptr_t)sizeof(err), info,
			 (void *)(uintptr_t)sizeof(info), NULL };
	float *x = malloc(N * 4), *y = malloc(N * 4), *y0 = malloc(N * 4), wall = -1, alpha = 3.0f;
	CUmodule m = NULL, bad_m;
	CUfunction f;
	CUdeviceptr dx = 0, dy = 0;
	CUresult r;
	int n = N, bad = 0, i;
	void *kp[] = { &n, &alpha, &dx, &dy };

	if (!ptx || !x || !y || !y0) {
		verdict(0, "cannot read %s", ptx_path);
		goto out;
	}
	for (i = 0; i < N; i++) {
		x[i] = (float)(i % 100);
		y0[i] = (float)(i % 7);
	}
	CK(cuModuleLoadDataEx(&m, ptx, 5, opt, val));
	memcpy(&wall, &val[4], sizeof(wall));
	CK(cuModuleGetFunction(&f, m, "dk_saxpy"));
	CK(cuMemAlloc(&dx, N * 4));
	CK(cuMemAlloc(&dy, N * 4));
	CK(cuMemcpyHtoD(dx, x, N * 4));
	CK(cuMemcpyHtoD(dy, y0, N * 4));
	/* Fewer threads than elements: a grid-stride loop. */
	CK(cuLaunchKernel(f, 120, 1, 1, 256, 1, 1, 0, NULL, kp, NULL));
	CK(cuMemcpyDtoH(y, dy, N * 4));
	for (i = 0; i < N; i++)
		bad += y[i] != alpha * x[i] + y0[i];
	/* And a PTX error comes back as one, with the JIT's words. */
	val[1] = (void *)(uintptr_t)sizeof(err);
	val[3] = (void *)(uintptr_t)sizeof(info);
	memset(err, 0, sizeof(err));
	r = cuModuleLoadDataEx(&bad_m, ".version 8.0\n.target sm_90\n.address_size 64\n"
			       ".visible .entry k() { no_such_op.u32 %r1; }\n", 5, opt, val);
	verdict(!bad && r == CUDA_ERROR_INVALID_PTX && err[0],
		"dk_saxpy from JIT-compiled PTX, %d wrong (JIT %.1f ms); bad PTX: %s, log \"%.60s\"",
		bad, (double)wall, rname(r), err);
out:
	if (dx)
		cuMemFree(dx);
	if (dy)
		cuMemFree(dy);
	if (m)
		cuModuleUnload(m);
	free(ptx);
	free(x);
	free(y);
	free(y0);
}

/* __constant__ coefficients and a __device__ counter, by name. */
static void t_constant(void)
{
	enum { N = 100000 };
	float coef[4] = { 1.0f, 0.5f, 0.25f, 7.0f }, *x = malloc(N * 4), *y = malloc(N * 4);
	CUmodule m = NULL;
	CUfunction f;
	CUdeviceptr dc, dh, dx = 0, dy = 0;
	size_t cs = 0, hs = 0;
	unsigned int hits = 0, want = 0;
	int n = N, bad = 0, i;
	void *kp[] = { &dx, &dy, &n };

	if (!x || !y)
		goto out;
	for (i = 0; i < N; i++) {
		x[i] = (float)(i % 16);
		want += x[i] == coef[3];
	}
	CK(load_fatbin(&m));
	CK(cuModuleGetFunction(&f, m, "dk_poly"));
	CK(cuModuleGetGlobal(&dc, &cs, m, "dk_coef"));
	CK(cuModuleGetGlobal(&dh, &hs, m, "dk_hits"));
	CK(cuMemcpyHtoD(dc, coef, sizeof(coef)));
	CK(cuMemsetD32(dh, 0, 1));
	CK(cuMemAlloc(&dx, N * 4));
	CK(cuMemAlloc(&dy, N * 4));
	CK(cuMemcpyHtoD(dx, x, N * 4));
	CK(cuLaunchKernel(f, (N + 255) / 256, 1, 1, 256, 1, 1, 0, NULL, kp, NULL));
	CK(cuMemcpyDtoH(y, dy, N * 4));
	CK(cuMemcpyDtoH(&hits, dh, sizeof(hits)));
	for (i = 0; i < N; i++)
		bad += y[i] != coef[0] + x[i] * (coef[1] + x[i] * coef[2]);
	verdict(!bad && hits == want && cs == sizeof(coef) && hs == 4,
		"dk_poly with __constant__ dk_coef (%zu bytes): %d wrong; __device__ dk_hits %u "
		"(expected %u)", cs, bad, hits, want);
out:
	if (dx)
		cuMemFree(dx);
	if (dy)
		cuMemFree(dy);
	if (m)
		cuModuleUnload(m);
	free(x);
	free(y);
}

/* Dynamic shared memory: the default size, then an opt-in past 48 KiB. */
static void t_dynshared(void)
{
	enum { N = 1 << 20, BS = 256 };
	unsigned int *in = malloc(N * 4);
	unsigned long long out[2], want = 0;
	CUmodule m = NULL;
	CUfunction f;
	CUdeviceptr din = 0, dout = 0;
	CUdevice dev;
	CUresult before = CUDA_SUCCESS;
	int n = N, extra = 0, optin = 0, i, ok = 1;
	unsigned int dyn;
	void *kp[] = { &din, &dout, &n, &extra };

	if (!in)
		goto out;
	for (i = 0; i < N; i++) {
		in[i] = (unsigned int)(i % 1000);
		want += in[i];
	}
	CK(cuCtxGetDevice(&dev));
	CK(cuDeviceGetAttribute(&optin, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN, dev));
	CK(load_fatbin(&m));
	CK(cuModuleGetFunction(&f, m, "dk_reduce"));
	CK(cuMemAlloc(&din, N * 4));
	CK(cuMemAlloc(&dout, sizeof(out)));
	CK(cuMemcpyHtoD(din, in, N * 4));
	CK(cuMemsetD32(dout, 0, 4));
	CK(cuLaunchKernel(f, N / BS, 1, 1, BS, 1, 1, BS * 4, NULL, kp, NULL));
	CK(cuMemcpyDtoH(out, dout, sizeof(out)));
	ok = out[0] == want && out[1] == 0;
	dyn = (unsigned int)optin;
	if (optin > 48 * 1024) {
		/* Refused until the kernel opts in, then used to the last word. */
		extra = (int)(dyn / 4) - BS;
		before = cuLaunchKernel(f, 8, 1, 1, BS, 1, 1, dyn, NULL, kp, NULL);
		CK(cuCtxSynchronize());
		CK(cuFuncSetAttribute(f, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, (int)dyn));
		CK(cuMemsetD32(dout, 0, 4));
		CK(cuLaunchKernel(f, N / BS, 1, 1, BS, 1, 1, dyn, NULL, kp, NULL));
		CK(cuMemcpyDtoH(out, dout, sizeof(out)));
		ok = ok && before == CUDA_ERROR_INVALID_VALUE && out[0] == want &&
		     out[1] == (unsigned long long)extra * (N / BS);
	}
	if (optin > 48 * 1024)
		verdict(ok, "dk_reduce, %d then %u bytes of dynamic shared memory (the opt-in): sum "
			"%llu (expected %llu); %s before cuFuncSetAttribute; %llu words of the opt-in "
			"used (expected %llu)", BS * 4, dyn, out[0], want, rname(before), out[1],
			(unsigned long long)extra * (N / BS));
	else
		verdict(ok, "dk_reduce with %d bytes of dynamic shared memory: sum %llu (expected "
			"%llu); the device has no opt-in past 48 KiB", BS * 4, out[0], want);
out:
	if (din)
		cuMemFree(din);
	if (dout)
		cuMemFree(dout);
	if (m)
		cuModuleUnload(m);
	free(in);
}

/*
 * Four streams with pinned buffers: copies and a kernel each, events; stream
 * 0 waits for stream 3's event and then works on stream 3's buffer.
 */
static void t_streams(void)
{
	enum { NS = 4, N = 1 << 18 };
	CUstream s[NS] = { 0 };
	CUevent start = NULL, ev[NS] = { 0 };
	CUdeviceptr d[NS] = { 0 };
	unsigned int *h[NS] = { 0 };
	unsigned int m3 = 1, k3 = 100;
	CUmodule m = NULL;
	CUfunction f;
	int n = N, lo = 0, hi = 0, bad = 0, i, j, prio = 1;
	unsigned int mul[NS], add[NS];
	void *kp[NS][4], *kp3[] = { &d[3], &m3, &k3, &n };
	float ms[NS] = { 0 };

	CK(load_fatbin(&m));
	CK(cuModuleGetFunction(&f, m, "dk_affine"));
	CK(cuCtxGetStreamPriorityRange(&lo, &hi));
	CK(cuEventCreate(&start, CU_EVENT_DEFAULT));
	for (j = 0; j < NS; j++) {
		if (j == 0)
			CK(cuStreamCreateWithPriority(&s[j], CU_STREAM_NON_BLOCKING, hi));
		else
			CK(cuStreamCreate(&s[j], CU_STREAM_NON_BLOCKING));
		CK(cuEventCreate(&ev[j], CU_EVENT_DEFAULT));
		CK(cuMemAllocHost((void **)&h[j], N * 4));
		CK(cuMemAlloc(&d[j], N * 4));
		for (i = 0; i < N; i++)
			h[j][i] = (unsigned int)(i + j);
		mul[j] = (unsigned int)j + 2;
		add[j] = (unsigned int)j;
		kp[j][0] = &d[j];
		kp[j][1] = &mul[j];
		kp[j][2] = &add[j];
		kp[j][3] = &n;
	}
	CK(cuStreamGetPriority(s[0], &prio));
	CK(cuEventRecord(start, s[0]));
	for (j = 0; j < NS; j++) {
		CK(cuMemcpyHtoDAsync(d[j], h[j], N * 4, s[j]));
		CK(cuLaunchKernel(f, N / 256, 1, 1, 256, 1, 1, 0, s[j], kp[j], NULL));
		CK(cuEventRecord(ev[j], s[j]));
	}
	/* Stream 0: after stream 3's kernel, once more over its buffer. */
	CK(cuStreamWaitEvent(s[0], ev[3], 0));
	CK(cuLaunchKernel(f, N / 256, 1, 1, 256, 1, 1, 0, s[0], kp3, NULL));
	for (j = 0; j < NS; j++)
		CK(cuMemcpyDtoHAsync(h[j], d[j], N * 4, j == 3 ? s[0] : s[j]));
	for (j = 0; j < NS; j++) {
		CK(cuStreamSynchronize(s[j]));
		CK(cuEventSynchronize(ev[j]));
		CK(cuEventElapsedTime(&ms[j], start, ev[j]));
		CK(cuStreamQuery(s[j]));
	}
	for (j = 0; j < NS; j++)
		for (i = 0; i < N; i++) {
			unsigned int w = (unsigned int)(i + j) * mul[j] + add[j];

			if (j == 3)
				w = w * m3 + k3;
			bad += h[j][i] != w;
		}
	verdict(!bad && prio == hi, "%d streams (one at priority %d of %d..%d), pinned async copies, "
		"a cross-stream wait: %d wrong; event times %.3f %.3f %.3f %.3f ms", NS, prio, lo, hi,
		bad, (double)ms[0], (double)ms[1], (double)ms[2], (double)ms[3]);
out:
	for (j = 0; j < NS; j++) {
		if (ev[j])
			cuEventDestroy(ev[j]);
		if (s[j])
			cuStreamDestroy(s[j]);
		if (h[j])
			cuMemFreeHost(h[j]);
		if (d[j])
			cuMemFree(d[j]);
	}
	if (start)
		cuEventDestroy(start);
	if (m)
		cuModuleUnload(m);
}

/* ------------------------------------------------------------- bench */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[(int)((n - 1) * p + 0.5)];
}

static void t_bench(void)
{
	static const size_t sizes[] = { 4096, 256 << 10, 4 << 20, 64 << 20 };
	enum { ITERS = 2000, ASYNC = 20000, MM = 512 };
	double *t = malloc(ITERS * sizeof(double)), t0;
	CUmodule m = NULL;
	CUfunction empty, vadd, mm;
	CUdeviceptr d = 0, d2 = 0, d3 = 0;
	void *pinned = NULL, *pageable = malloc(64 << 20);
	int i, k, nv = 1 << 20, nm = MM;
	void *kpv[] = { &d, &d2, &d3, &nv }, *kpm[] = { &d, &d2, &d3, &nm };

	if (!t || !pageable)
		goto out;
	memset(pageable, 1, 64 << 20);
	CK(load_fatbin(&m));
	CK(cuModuleGetFunction(&empty, m, "dk_empty"));
	CK(cuModuleGetFunction(&vadd, m, "dk_vadd"));
	CK(cuModuleGetFunction(&mm, m, "dk_matmul"));
	for (i = 0; i < 100; i++)
		CK(cuLaunchKernel(empty, 1, 1, 1, 1, 1, 1, 0, NULL, NULL, NULL));
	CK(cuCtxSynchronize());
	for (i = 0; i < ITERS; i++) {
		t0 = now_us();
		CK(cuLaunchKernel(empty, 1, 1, 1, 1, 1, 1, 0, NULL, NULL, NULL));
		CK(cuCtxSynchronize());
		t[i] = now_us() - t0;
	}
	printf("bench launch+sync_us p50=%.1f p99=%.1f\n", pct(t, ITERS, 0.5), pct(t, ITERS, 0.99));
	t0 = now_us();
	for (i = 0; i < ASYNC; i++)
		CK(cuLaunchKernel(empty, 1, 1, 1, 1, 1, 1, 0, NULL, NULL, NULL));
	CK(cuCtxSynchronize());
	printf("bench async_launches_per_s %.0f\n", ASYNC / ((now_us() - t0) / 1e6));

	CK(cuMemAllocHost(&pinned, 64 << 20));
	CK(cuMemAlloc(&d, 64 << 20));
	CK(cuMemAlloc(&d2, 64 << 20));
	CK(cuMemAlloc(&d3, 64 << 20));
	for (k = 0; k < (int)(sizeof(sizes) / sizeof(sizes[0])); k++) {
		size_t sz = sizes[k];
		int reps = sz >= (4 << 20) ? 9 : 49;
		double up[49], down[49], pup[49], pdown[49];

		for (i = 0; i < reps; i++) {
			t0 = now_us();
			CK(cuMemcpyHtoD(d, pinned, sz));
			up[i] = now_us() - t0;
			t0 = now_us();
			CK(cuMemcpyDtoH(pinned, d, sz));
			down[i] = now_us() - t0;
			t0 = now_us();
			CK(cuMemcpyHtoD(d, pageable, sz));
			pup[i] = now_us() - t0;
			t0 = now_us();
			CK(cuMemcpyDtoH(pageable, d, sz));
			pdown[i] = now_us() - t0;
		}
		printf("bench copy_%zuKiB_GBps pinned_h2d=%.2f pinned_d2h=%.2f pageable_h2d=%.2f "
		       "pageable_d2h=%.2f\n", sz >> 10, sz / pct(up, reps, 0.5) / 1e3,
		       sz / pct(down, reps, 0.5) / 1e3, sz / pct(pup, reps, 0.5) / 1e3,
		       sz / pct(pdown, reps, 0.5) / 1e3);
	}
	/* vadd of 1M floats with its copies, as a program does it. */
	for (i = 0; i < 50; i++) {
		t0 = now_us();
		CK(cuMemcpyHtoD(d, pageable, 4u << 20));
		CK(cuMemcpyHtoD(d2, pageable, 4u << 20));
		CK(cuLaunchKernel(vadd, nv / 256, 1, 1, 256, 1, 1, 0, NULL, kpv, NULL));
		CK(cuMemcpyDtoH(pageable, d3, 4u << 20));
		t[i] = now_us() - t0;
	}
	printf("bench vadd_1M_with_copies_us p50=%.1f p99=%.1f\n", pct(t, 50, 0.5), pct(t, 50, 0.99));
	for (i = 0; i < 20; i++) {
		t0 = now_us();
		CK(cuLaunchKernel(mm, MM / 16, MM / 16, 1, 16, 16, 1, 0, NULL, kpm, NULL));
		CK(cuCtxSynchronize());
		t[i] = now_us() - t0;
	}
	printf("bench matmul_512_us p50=%.1f p99=%.1f\n", pct(t, 20, 0.5), pct(t, 20, 0.99));
	verdict(1, "numbers above");
out:
	if (pinned)
		cuMemFreeHost(pinned);
	if (d)
		cuMemFree(d);
	if (d2)
		cuMemFree(d2);
	if (d3)
		cuMemFree(d3);
	if (m)
		cuModuleUnload(m);
	free(t);
	free(pageable);
}

static const struct {
	const char *name;
	void (*fn)(void);
	int by_default;
} tests[] = {
	{ "fatbin", t_fatbin, 1 }, { "ptx_jit", t_ptx_jit, 1 }, { "constant", t_constant, 1 },
	{ "dynshared", t_dynshared, 1 }, { "streams", t_streams, 1 }, { "bench", t_bench, 0 },
};

int main(int argc, char **argv)
{
	CUdevice dev;
	CUcontext ctx;
	CUresult r;
	char name[128];
	int drv = 0, i, j, any = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: %s FATBIN PTX [fatbin ptx_jit constant dynshared streams bench]\n",
			argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	fatbin_path = argv[1];
	ptx_path = argv[2];
	cur = "init";
	if ((r = cuInit(0)) || (r = cuDeviceGet(&dev, 0)) || (r = cuCtxCreate(&ctx, NULL, 0, dev))) {
		fail("cuInit/cuDeviceGet/cuCtxCreate", r);
		return 1;
	}
	cuDriverGetVersion(&drv);
	cuDeviceGetName(name, sizeof(name), dev);
	printf("# device %s, driver API %d\n", name, drv);
	for (i = 0; i < (int)(sizeof(tests) / sizeof(tests[0])); i++) {
		int run = argc == 3 && tests[i].by_default;

		for (j = 3; j < argc; j++)
			run |= !strcmp(argv[j], tests[i].name);
		if (!run)
			continue;
		any = 1;
		cur = tests[i].name;
		tests[i].fn();
	}
	cuCtxDestroy(ctx);
	if (!any) {
		fprintf(stderr, "%s: no such test\n", argv[0]);
		return 2;
	}
	return failed;
}
