/* SPDX-License-Identifier: MIT */
/*
 * test_cu_module.c - modules, functions and launches with real kernels:
 * nvcc 13.0's images of tests/data/cuda-13.0/kern.cu (PTX text, fat
 * binaries with SASS and PTX, PTX only, zstd-compressed, an nvcc
 * registration wrapper, a file) loaded, their kernels' parameter layouts
 * and attributes read, and launched with kernelParams and with `extra`,
 * on streams with events, through cuLaunchKernelEx and as a CUkernel of a
 * library; __constant__ and __device__ variables written and read; dynamic
 * shared memory; occupancy; every result checked on the CPU. Then the
 * answers for misuse and a kernel that faults (the last case: a fault
 * loses every context's GPU state).
 *
 * On CI the cpu executor runs the PTX on its interpreter (SASS-only images
 * get CUDA_ERROR_NO_BINARY_FOR_GPU there); on the GPU machine the same
 * program runs on dom0's driver. argv[1]: the tests/data/cuda-13.0 folder.
 */
#include <math.h>
#include <stdint.h>
#include <sys/stat.h>

#include "cutest.h"

static const char *data_dir;
static int cpu_device;   /* the cpu executor's reference device (no SASS) */

/* A data file, with a NUL after it (PTX text is a C string to the API). */
static void *load_file(const char *name, size_t *len)
{
	char path[1024];
	struct stat st;
	FILE *f;
	char *buf;

	snprintf(path, sizeof(path), "%s/%s", data_dir, name);
	f = fopen(path, "rb");
	if (!f || fstat(fileno(f), &st) || st.st_size <= 0) {
		t_fail(__FILE__, __LINE__, "cannot read %s", path);
		if (f)
			fclose(f);
		return NULL;
	}
	buf = calloc(1, (size_t)st.st_size + 1);
	if (buf && fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (len)
		*len = (size_t)st.st_size;
	return buf;
}

/* ------------------------------------------------------------- images */

static void images(void)
{
	static const char *const fatbins[] = {
		"kern.default.fatbin", "kern.sm_90+ptx.fatbin", "kern.ptx-only.fatbin",
		"kern.compressed.fatbin",
	};
	char path[1024], err[256], info[256];
	CUjit_option opt[5] = {
		CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES,
		CU_JIT_INFO_LOG_BUFFER, CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES, CU_JIT_WALL_TIME,
	};
	void *val[5];
	CUmodule m;
	CUfunction f;
	size_t i, len;
	char *ptx, *img;
	/* nvcc's registration wrapper: magic, version, the fat binary, unused. */
	struct { uint32_t magic, version; const void *data; void *unused; } wrap;

	ptx = load_file("kern.compute_90.ptx", NULL);
	if (!ptx)
		return;
	CU_OK(cuModuleLoadData(&m, ptx));
	CU_OK(cuModuleGetFunction(&f, m, "vadd"));
	CU_OK(cuModuleUnload(m));
	/* With the logs: an empty error log, the wall time written back. */
	val[0] = err;
	val[1] = (void *)(uintptr_t)sizeof(err);
	val[2] = info;
	val[3] = (void *)(uintptr_t)sizeof(info);
	val[4] = NULL;
	err[0] = 'x';
	CU_OK(cuModuleLoadDataEx(&m, ptx, 5, opt, val));
	T_CHECK(err[0] == '\0', "error log after a good load: \"%.40s\"", err);
	CU_OK(cuModuleUnload(m));
	/* A PTX error: CUDA_ERROR_INVALID_PTX, and the log says why. */
	val[1] = (void *)(uintptr_t)sizeof(err);
	val[3] = (void *)(uintptr_t)sizeof(info);
	memset(err, 0, sizeof(err));
	CU_EXPECT(cuModuleLoadDataEx(&m, ".version 8.0\n.target sm_90\n.address_size 64\n"
				     ".visible .entry k() { bogus.u32 %r1; }\n", 5, opt, val),
		  CUDA_ERROR_INVALID_PTX);
	T_CHECK(err[0] != '\0', "no error log for bad PTX");
	free(ptx);

	for (i = 0; i < sizeof(fatbins) / sizeof(fatbins[0]); i++) {
		img = load_file(fatbins[i], NULL);
		if (!img)
			continue;
		t_case = fatbins[i];
		CU_OK(cuModuleLoadData(&m, img));
		CU_OK(cuModuleGetFunction(&f, m, "saxpy"));
		CU_OK(cuModuleUnload(m));
		CU_OK(cuModuleLoadFatBinary(&m, img));
		CU_OK(cuModuleUnload(m));
		/*
		 * nvcc's registration wrapper is what the runtime hands its
		 * own paths (cuLibraryLoadData, the export tables), not an
		 * image for cuModuleLoadData: NVIDIA's driver 580 says
		 * CUDA_ERROR_INVALID_IMAGE, and so does the guest library.
		 */
		wrap.magic = 0x466243b1u;
		wrap.version = 1;
		wrap.data = img;
		wrap.unused = NULL;
		CU_EXPECT(cuModuleLoadData(&m, &wrap), CUDA_ERROR_INVALID_IMAGE);
		free(img);
	}
	t_case = "images";
	/* SASS only: runs on a GPU of that architecture, nowhere else. */
	img = load_file("kern.sm_90.cubin", NULL);
	if (img) {
		CUresult want = cpu_device ? CUDA_ERROR_NO_BINARY_FOR_GPU : CUDA_SUCCESS;
		CUresult r = cuModuleLoadData(&m, img);

		T_CHECK(r == want, "sm_90 cubin: %s, expected %s", t_name(r), t_name(want));
		if (r == CUDA_SUCCESS)
			cuModuleUnload(m);
		free(img);
	}
	/* A file. */
	snprintf(path, sizeof(path), "%s/kern.compute_90.ptx", data_dir);
	CU_OK(cuModuleLoad(&m, path));
	CU_OK(cuModuleGetFunction(&f, m, "reduce_sum"));
	CU_OK(cuModuleUnload(m));
	/*
	 * Not images: an ELF header over garbage, text that is no PTX (no
	 * .version directive: CUDA_ERROR_INVALID_IMAGE, as NVIDIA's driver 580
	 * says; PTX with errors is CUDA_ERROR_INVALID_PTX, above).
	 */
	len = 4096;
	img = calloc(1, len);
	if (img) {
		memset(img, 0x5a, len - 1);
		CU_EXPECT(cuModuleLoadData(&m, img), CUDA_ERROR_INVALID_IMAGE);
		memcpy(img, "\x7f" "ELF\x02\x01\x01", 7);
		CU_EXPECT(cuModuleLoadData(&m, img), CUDA_ERROR_INVALID_IMAGE);
		free(img);
	}
	CU_EXPECT(cuModuleLoadData(&m, NULL), CUDA_ERROR_INVALID_VALUE);
	CU_EXPECT(cuModuleLoadData(NULL, "x"), CUDA_ERROR_INVALID_VALUE);
	CU_EXPECT(cuModuleLoad(&m, "/nonexistent/kern.ptx"), CUDA_ERROR_FILE_NOT_FOUND);
}

/* ----------------------------------------------------------- functions */

static CUmodule mod;   /* kern.default.fatbin: nvcc's plain build */

static void functions(void)
{
	static const size_t vadd_off[] = { 0, 8, 16, 24 }, vadd_size[] = { 8, 8, 8, 4 };
	/* char, short, int, long long, float, double, struct Big (32, align 8), float * */
	static const size_t mix_off[] = { 0, 2, 4, 8, 16, 24, 32, 64 };
	static const size_t mix_size[] = { 1, 2, 4, 8, 4, 8, 32, 8 };
	CUfunction f, f2, g;
	CUmodule m2;
	CUdeviceptr dv;
	size_t off, size, i;
	const char *name;
	int v;

	CU_MUST(cuModuleGetFunction(&f, mod, "vadd"));
	CU_OK(cuModuleGetFunction(&f2, mod, "vadd"));
	T_CHECK(f == f2, "the same name gave two functions");
	for (i = 0; i < 4; i++) {
		CU_OK(cuFuncGetParamInfo(f, i, &off, &size));
		T_CHECK(off == vadd_off[i] && size == vadd_size[i], "vadd param %zu at %zu size %zu",
			i, off, size);
	}
	CU_EXPECT(cuFuncGetParamInfo(f, 4, &off, &size), CUDA_ERROR_INVALID_VALUE);
	CU_MUST(cuModuleGetFunction(&g, mod, "params_mixed"));
	for (i = 0; i < 8; i++) {
		CU_OK(cuFuncGetParamInfo(g, i, &off, &size));
		T_CHECK(off == mix_off[i] && size == mix_size[i],
			"params_mixed param %zu at %zu size %zu", i, off, size);
	}
	CU_OK(cuFuncGetName(&name, f));
	T_CHECK(name && !strcmp(name, "vadd"), "name %s", name ? name : "(null)");
	CU_OK(cuFuncGetModule(&m2, f));
	T_CHECK(m2 == mod, "cuFuncGetModule");
	CU_OK(cuFuncGetAttribute(&v, CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, f));
	T_CHECK(v >= 32 && v <= 1024, "max threads %d", v);
	CU_OK(cuFuncGetAttribute(&v, CU_FUNC_ATTRIBUTE_NUM_REGS, f));
	T_CHECK(v >= 0 && v <= 255, "registers %d", v);
	CU_OK(cuFuncGetAttribute(&v, CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES, f));
	T_CHECK(v == 0, "vadd's static shared memory %d", v);
	CU_MUST(cuModuleGetFunction(&g, mod, "matmul_tiled"));
	CU_OK(cuFuncGetAttribute(&v, CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES, g));
	T_CHECK(v == 2 * 16 * 16 * 4, "matmul_tiled's static shared memory %d", v);
	CU_OK(cuFuncGetAttribute(&v, CU_FUNC_ATTRIBUTE_PTX_VERSION, g));
	T_CHECK(v > 0, "PTX version %d", v);
	CU_MUST(cuModuleGetFunction(&g, mod, "reduce_sum"));
	CU_OK(cuFuncSetAttribute(g, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, 4096));
	CU_OK(cuFuncGetAttribute(&v, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, g));
	T_CHECK(v == 4096, "max dynamic shared %d", v);
	CU_OK(cuFuncSetCacheConfig(g, CU_FUNC_CACHE_PREFER_SHARED));
	CU_EXPECT(cuFuncSetCacheConfig(g, (CUfunc_cache)9), CUDA_ERROR_INVALID_VALUE);
	CU_EXPECT(cuFuncGetAttribute(&v, CU_FUNC_ATTRIBUTE_MAX, f), CUDA_ERROR_INVALID_VALUE);
	CU_EXPECT(cuFuncGetAttribute(NULL, CU_FUNC_ATTRIBUTE_NUM_REGS, f), CUDA_ERROR_INVALID_VALUE);
	CU_EXPECT(cuModuleGetFunction(&g, mod, "no_such_kernel"), CUDA_ERROR_NOT_FOUND);
	CU_EXPECT(cuModuleGetFunction(&g, mod, NULL), CUDA_ERROR_INVALID_VALUE);
	CU_EXPECT(cuModuleGetFunction(NULL, mod, "vadd"), CUDA_ERROR_INVALID_VALUE);
	CU_EXPECT(cuModuleGetGlobal(&dv, NULL, mod, "no_such_variable"), CUDA_ERROR_NOT_FOUND);
	/* Neither answer wanted: CUDA_ERROR_INVALID_VALUE (NVIDIA's driver 580 too). */
	CU_EXPECT(cuModuleGetGlobal(NULL, NULL, mod, "no_such_variable"), CUDA_ERROR_INVALID_VALUE);
}

/* ------------------------------------------------------------ launches */

static int near(float a, float b)
{
	return fabsf(a - b) <= 1e-5f * (fabsf(a) + fabsf(b) + 1.0f);
}

static void vadd_forms(void)
{
	enum { N = 1000 };
	static float a[N], b[N], c[N];
	CUdeviceptr da, db, dc;
	CUfunction f;
	CUstream s;
	CUevent e0, e1;
	CUlaunchConfig cfg;
	CUlaunchAttribute attr;
	float ms = -1.0f;
	int n = N, i, bad;
	void *kp[] = { &da, &db, &dc, &n };
	struct { CUdeviceptr a, b, c; int n; } __attribute__((packed)) blob;
	size_t blob_size = 28;
	void *extra[] = { CU_LAUNCH_PARAM_BUFFER_POINTER, &blob, CU_LAUNCH_PARAM_BUFFER_SIZE,
			  &blob_size, CU_LAUNCH_PARAM_END };

	for (i = 0; i < N; i++) {
		a[i] = (float)i * 0.5f;
		b[i] = (float)(N - i);
	}
	CU_MUST(cuModuleGetFunction(&f, mod, "vadd"));
	CU_MUST(cuMemAlloc(&da, sizeof(a)));
	CU_MUST(cuMemAlloc(&db, sizeof(b)));
	CU_MUST(cuMemAlloc(&dc, sizeof(c)));
	CU_OK(cuMemcpyHtoD(da, a, sizeof(a)));
	CU_OK(cuMemcpyHtoD(db, b, sizeof(b)));

	/* kernelParams on the legacy stream. */
	CU_OK(cuMemsetD32(dc, 0, N));
	CU_OK(cuLaunchKernel(f, (N + 255) / 256, 1, 1, 256, 1, 1, 0, NULL, kp, NULL));
	CU_OK(cuMemcpyDtoH(c, dc, sizeof(c)));
	for (i = 0, bad = 0; i < N; i++)
		bad += c[i] != a[i] + b[i];
	T_CHECK(!bad, "vadd (kernelParams): %d wrong", bad);

	/* The extra buffer form, on a stream between two events. */
	CU_MUST(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
	CU_MUST(cuEventCreate(&e0, 0));
	CU_MUST(cuEventCreate(&e1, 0));
	blob.a = db;
	blob.b = da;
	blob.c = dc;
	blob.n = N / 2;
	CU_OK(cuMemsetD32Async(dc, 0, N, s));
	CU_OK(cuEventRecord(e0, s));
	CU_OK(cuLaunchKernel(f, 4, 1, 1, 256, 1, 1, 0, s, NULL, extra));
	CU_OK(cuEventRecord(e1, s));
	CU_OK(cuEventSynchronize(e1));
	CU_OK(cuEventElapsedTime(&ms, e0, e1));
	T_CHECK(ms >= 0.0f, "elapsed %f", (double)ms);
	CU_OK(cuMemcpyDtoH(c, dc, sizeof(c)));
	for (i = 0, bad = 0; i < N; i++)
		bad += c[i] != (i < N / 2 ? a[i] + b[i] : 0.0f);
	T_CHECK(!bad, "vadd (extra, n = %d): %d wrong", N / 2, bad);

	/* cuLaunchKernelEx with a priority hint. */
	memset(&cfg, 0, sizeof(cfg));
	cfg.gridDimX = (N + 127) / 128;
	cfg.gridDimY = cfg.gridDimZ = 1;
	cfg.blockDimX = 128;
	cfg.blockDimY = cfg.blockDimZ = 1;
	cfg.hStream = s;
	attr.id = CU_LAUNCH_ATTRIBUTE_PRIORITY;
	memset(&attr.value, 0, sizeof(attr.value));
	attr.value.priority = 0;
	cfg.attrs = &attr;
	cfg.numAttrs = 1;
	CU_OK(cuMemsetD32Async(dc, 0, N, s));
	CU_OK(cuLaunchKernelEx(&cfg, f, kp, NULL));
	CU_OK(cuStreamSynchronize(s));
	CU_OK(cuMemcpyDtoH(c, dc, sizeof(c)));
	for (i = 0, bad = 0; i < N; i++)
		bad += c[i] != a[i] + b[i];
	T_CHECK(!bad, "vadd (cuLaunchKernelEx): %d wrong", bad);

	cuEventDestroy(e0);
	cuEventDestroy(e1);
	cuStreamDestroy(s);
	cuMemFree(da);
	cuMemFree(db);
	cuMemFree(dc);
}

static void grid_stride_and_tiles(void)
{
	enum { N = 3000, M = 40 };
	static float x[N], y[N], y0[N], A[M * M], B[M * M], C[M * M];
	CUdeviceptr dx, dy, dA, dB, dC;
	CUfunction saxpy, mm;
	float alpha = 2.5f;
	int n = N, m = M, i, j, k, bad;
	void *kp_s[] = { &n, &alpha, &dx, &dy };
	void *kp_m[] = { &dA, &dB, &dC, &m };

	for (i = 0; i < N; i++) {
		x[i] = (float)(i % 17);
		y0[i] = (float)(i % 5);
	}
	for (i = 0; i < M * M; i++) {
		A[i] = (float)(i % 7) - 3.0f;
		B[i] = (float)(i % 11) * 0.25f;
	}
	CU_MUST(cuModuleGetFunction(&saxpy, mod, "saxpy"));
	CU_MUST(cuModuleGetFunction(&mm, mod, "matmul_tiled"));
	CU_MUST(cuMemAlloc(&dx, sizeof(x)));
	CU_MUST(cuMemAlloc(&dy, sizeof(y)));
	CU_OK(cuMemcpyHtoD(dx, x, sizeof(x)));
	CU_OK(cuMemcpyHtoD(dy, y0, sizeof(y0)));
	/* Fewer threads than elements: each loops. */
	CU_OK(cuLaunchKernel(saxpy, 3, 1, 1, 128, 1, 1, 0, NULL, kp_s, NULL));
	CU_OK(cuMemcpyDtoH(y, dy, sizeof(y)));
	for (i = 0, bad = 0; i < N; i++)
		bad += y[i] != alpha * x[i] + y0[i];
	T_CHECK(!bad, "saxpy: %d wrong", bad);

	/* A tiled multiply with shared memory; n not a multiple of the tile. */
	CU_MUST(cuMemAlloc(&dA, sizeof(A)));
	CU_MUST(cuMemAlloc(&dB, sizeof(B)));
	CU_MUST(cuMemAlloc(&dC, sizeof(C)));
	CU_OK(cuMemcpyHtoD(dA, A, sizeof(A)));
	CU_OK(cuMemcpyHtoD(dB, B, sizeof(B)));
	CU_OK(cuLaunchKernel(mm, (M + 15) / 16, (M + 15) / 16, 1, 16, 16, 1, 0, NULL, kp_m, NULL));
	CU_OK(cuMemcpyDtoH(C, dC, sizeof(C)));
	for (i = 0, bad = 0; i < M; i++)
		for (j = 0; j < M; j++) {
			float acc = 0.0f;

			for (k = 0; k < M; k++)
				acc += A[i * M + k] * B[k * M + j];
			bad += !near(C[i * M + j], acc);
		}
	T_CHECK(!bad, "matmul_tiled %dx%d: %d wrong", M, M, bad);
	cuMemFree(dx);
	cuMemFree(dy);
	cuMemFree(dA);
	cuMemFree(dB);
	cuMemFree(dC);
}

static void shared_and_variables(void)
{
	enum { N = 1000, BS = 128 };
	static float in[N], x[N], y[N], table[256], out[N];
	static int v[N], idx[N];
	float coef[4] = { 1.0f, 2.0f, 0.5f, 99.0f }, sum = -1.0f, want = 0.0f;
	CUdeviceptr din, dsum, dx, dy, dv, didx, dout, g;
	CUfunction red, poly, hits, look;
	size_t gsize;
	int n = N, want_hits = 3, counted = -1, expect_hits = 0, i, bad;
	void *kp_r[] = { &din, &dsum, &n };
	void *kp_p[] = { &dx, &dy, &n };
	void *kp_h[] = { &dv, &n, &want_hits };
	void *kp_l[] = { &didx, &dout, &n };

	for (i = 0; i < N; i++) {
		in[i] = (float)(i % 9);
		want += in[i];
		x[i] = (float)(i % 13) * 0.125f;
		v[i] = i % 7;
		expect_hits += v[i] == want_hits;
		idx[i] = i * 37;
	}
	for (i = 0; i < 256; i++)
		table[i] = (float)i * 1.5f;
	CU_MUST(cuModuleGetFunction(&red, mod, "reduce_sum"));
	CU_MUST(cuModuleGetFunction(&poly, mod, "const_poly"));
	CU_MUST(cuModuleGetFunction(&hits, mod, "count_hits"));
	CU_MUST(cuModuleGetFunction(&look, mod, "table_lookup"));

	/* Dynamic shared memory: one float per thread. */
	CU_MUST(cuMemAlloc(&din, sizeof(in)));
	CU_MUST(cuMemAlloc(&dsum, sizeof(float)));
	CU_OK(cuMemcpyHtoD(din, in, sizeof(in)));
	CU_OK(cuMemsetD32(dsum, 0, 1));
	CU_OK(cuLaunchKernel(red, (N + BS - 1) / BS, 1, 1, BS, 1, 1, BS * sizeof(float), NULL,
			     kp_r, NULL));
	CU_OK(cuMemcpyDtoH(&sum, dsum, sizeof(sum)));
	T_CHECK(sum == want, "reduce_sum %f, expected %f", (double)sum, (double)want);

	/* __constant__ float kc_coef[4]. */
	CU_OK(cuModuleGetGlobal(&g, &gsize, mod, "kc_coef"));
	T_CHECK(gsize == sizeof(coef), "kc_coef is %zu bytes", gsize);
	CU_OK(cuMemcpyHtoD(g, coef, sizeof(coef)));
	CU_MUST(cuMemAlloc(&dx, sizeof(x)));
	CU_MUST(cuMemAlloc(&dy, sizeof(y)));
	CU_OK(cuMemcpyHtoD(dx, x, sizeof(x)));
	CU_OK(cuLaunchKernel(poly, (N + 255) / 256, 1, 1, 256, 1, 1, 0, NULL, kp_p, NULL));
	CU_OK(cuMemcpyDtoH(y, dy, sizeof(y)));
	for (i = 0, bad = 0; i < N; i++)
		bad += !near(y[i], coef[0] + x[i] * (coef[1] + x[i] * coef[2]));
	T_CHECK(!bad, "const_poly: %d wrong", bad);

	/* __device__ int kd_counter: zeroed, counted into, read back. */
	CU_OK(cuModuleGetGlobal(&g, &gsize, mod, "kd_counter"));
	T_CHECK(gsize == sizeof(int), "kd_counter is %zu bytes", gsize);
	CU_OK(cuMemsetD32(g, 0, 1));
	CU_MUST(cuMemAlloc(&dv, sizeof(v)));
	CU_OK(cuMemcpyHtoD(dv, v, sizeof(v)));
	CU_OK(cuLaunchKernel(hits, (N + 255) / 256, 1, 1, 256, 1, 1, 0, NULL, kp_h, NULL));
	CU_OK(cuMemcpyDtoH(&counted, g, sizeof(counted)));
	T_CHECK(counted == expect_hits, "count_hits %d, expected %d", counted, expect_hits);

	/* __device__ float kd_table[256]. */
	CU_OK(cuModuleGetGlobal(&g, &gsize, mod, "kd_table"));
	T_CHECK(gsize == sizeof(table), "kd_table is %zu bytes", gsize);
	CU_OK(cuMemcpyHtoD(g, table, sizeof(table)));
	CU_MUST(cuMemAlloc(&didx, sizeof(idx)));
	CU_MUST(cuMemAlloc(&dout, sizeof(out)));
	CU_OK(cuMemcpyHtoD(didx, idx, sizeof(idx)));
	CU_OK(cuLaunchKernel(look, (N + 255) / 256, 1, 1, 256, 1, 1, 0, NULL, kp_l, NULL));
	CU_OK(cuMemcpyDtoH(out, dout, sizeof(out)));
	for (i = 0, bad = 0; i < N; i++)
		bad += out[i] != table[idx[i] & 255];
	T_CHECK(!bad, "table_lookup: %d wrong", bad);
	cuMemFree(din);
	cuMemFree(dsum);
	cuMemFree(dx);
	cuMemFree(dy);
	cuMemFree(dv);
	cuMemFree(didx);
	cuMemFree(dout);
}

struct big { double d[3]; int k; char c; };

static void mixed_parameters(void)
{
	char c = 3;
	short s = -7;
	int i = 1000;
	long long l = 1LL << 20;
	float f = 0.25f, out = 0.0f, want;
	double d = 2.5;
	struct big b = { { 1.0, 8.0, 3.0 }, 11, 2 };
	CUdeviceptr dout;
	CUfunction fn, empty;
	void *kp[] = { &c, &s, &i, &l, &f, &d, &b, &dout };

	want = c + s + i + (float)l + f + (float)d + (float)b.d[1] + b.k + b.c;
	CU_MUST(cuModuleGetFunction(&fn, mod, "params_mixed"));
	CU_MUST(cuMemAlloc(&dout, sizeof(float)));
	CU_OK(cuLaunchKernel(fn, 1, 1, 1, 1, 1, 1, 0, NULL, kp, NULL));
	CU_OK(cuMemcpyDtoH(&out, dout, sizeof(out)));
	T_CHECK(out == want, "params_mixed %f, expected %f", (double)out, (double)want);
	cuMemFree(dout);
	CU_MUST(cuModuleGetFunction(&empty, mod, "empty_kernel"));
	CU_OK(cuLaunchKernel(empty, 1, 1, 1, 1, 1, 1, 0, NULL, NULL, NULL));
	CU_OK(cuCtxSynchronize());
}

/* A library's CUkernel wherever a function goes (what the runtime does). */
static void kernels_as_functions(void)
{
	enum { N = 300 };
	static int v[N];
	CUlibrary lib;
	CUkernel k;
	CUfunction f;
	CUdeviceptr dv;
	unsigned int val = 0xabcd1234u, bad = 0;
	unsigned long long n = N;
	int attr, nb, grid, block, i;
	void *kp[] = { &dv, &val, &n };
	char *img = load_file("kern.default.fatbin", NULL);

	if (!img)
		return;
	CU_MUST(cuLibraryLoadData(&lib, img, NULL, NULL, 0, NULL, NULL, 0));
	CU_MUST(cuLibraryGetKernel(&k, lib, "fill_u32"));
	CU_MUST(cuMemAlloc(&dv, sizeof(v)));
	CU_OK(cuLaunchKernel((CUfunction)k, 2, 1, 1, 64, 1, 1, 0, NULL, kp, NULL));
	CU_OK(cuMemcpyDtoH(v, dv, sizeof(v)));
	for (i = 0; i < N; i++)
		bad += (unsigned int)v[i] != val;
	T_CHECK(!bad, "fill_u32 as a CUkernel: %u wrong", bad);
	/* Not where a function's attributes are asked (NVIDIA's driver 580 agrees)... */
	CU_EXPECT(cuFuncGetAttribute(&attr, CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, (CUfunction)k),
		  CUDA_ERROR_INVALID_HANDLE);
	/* ...but as a kernel's, for the device. */
	CU_OK(cuKernelGetAttribute(&attr, CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, k, 0));
	T_CHECK(attr > 0, "a kernel's max threads %d", attr);
	CU_OK(cuOccupancyMaxActiveBlocksPerMultiprocessor(&nb, (CUfunction)k, 64, 0));
	T_CHECK(nb >= 1, "a kernel's occupancy %d", nb);
	CU_OK(cuOccupancyMaxPotentialBlockSize(&grid, &block, (CUfunction)k, NULL, 0, 0));
	T_CHECK(block > 0 && grid > 0, "a kernel's potential block %d grid %d", block, grid);
	CU_OK(cuKernelGetFunction(&f, k));
	CU_OK(cuFuncGetAttribute(&attr, CU_FUNC_ATTRIBUTE_NUM_REGS, f));
	cuMemFree(dv);
	CU_OK(cuLibraryUnload(lib));
	free(img);
}

static void occupancy(void)
{
	CUfunction f, red;
	int nb, grid, block, max, warp;
	size_t dyn;

	CU_MUST(cuModuleGetFunction(&f, mod, "vadd"));
	CU_MUST(cuModuleGetFunction(&red, mod, "reduce_sum"));
	CU_OK(cuFuncGetAttribute(&max, CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, f));
	CU_OK(cuDeviceGetAttribute(&warp, CU_DEVICE_ATTRIBUTE_WARP_SIZE, 0));
	CU_OK(cuOccupancyMaxActiveBlocksPerMultiprocessor(&nb, f, 128, 0));
	T_CHECK(nb >= 1, "vadd at 128 threads: %d blocks per SM", nb);
	CU_OK(cuOccupancyMaxActiveBlocksPerMultiprocessor(&nb, f, max + 1, 0));
	T_CHECK(nb == 0, "a block past the kernel's limit: %d blocks", nb);
	CU_OK(cuOccupancyMaxPotentialBlockSize(&grid, &block, f, NULL, 0, 0));
	T_CHECK(block > 0 && block <= max && block % warp == 0 && grid > 0,
		"potential block %d grid %d (max %d)", block, grid, max);
	CU_OK(cuOccupancyMaxPotentialBlockSize(&grid, &block, f, NULL, 0, 64));
	T_CHECK(block > 0 && block <= 64, "block size limit 64: %d", block);
	CU_OK(cuOccupancyAvailableDynamicSMemPerBlock(&dyn, red, 1, 128));
	T_CHECK(dyn >= 128 * sizeof(float), "dynamic shared for one block: %zu", dyn);
	CU_EXPECT(cuOccupancyMaxActiveBlocksPerMultiprocessor(NULL, f, 128, 0),
		  CUDA_ERROR_INVALID_VALUE);
	CU_EXPECT(cuOccupancyMaxActiveBlocksPerMultiprocessor(&nb, f, 0, 0),
		  CUDA_ERROR_INVALID_VALUE);
	CU_EXPECT(cuOccupancyMaxPotentialBlockSize(NULL, &block, f, NULL, 0, 0),
		  CUDA_ERROR_INVALID_VALUE);
}

/* --------------------------------------------------------------- misuse */

static void launch_misuse(void)
{
	CUfunction f, red;
	CUmodule m2;
	CUdeviceptr d;
	int n = 1;
	void *kp[] = { &d, &d, &d, &n };
	size_t small = 8, big = 28;
	char blob[32] = { 0 };
	void *extra_small[] = { CU_LAUNCH_PARAM_BUFFER_POINTER, blob,
				CU_LAUNCH_PARAM_BUFFER_SIZE, &small, CU_LAUNCH_PARAM_END };
	void *extra_ok[] = { CU_LAUNCH_PARAM_BUFFER_POINTER, blob,
			     CU_LAUNCH_PARAM_BUFFER_SIZE, &big, CU_LAUNCH_PARAM_END };
	char *img = load_file("kern.default.fatbin", NULL);

	if (!img)
		return;
	CU_MUST(cuMemAlloc(&d, 64));
	CU_MUST(cuModuleGetFunction(&f, mod, "vadd"));
	CU_MUST(cuModuleGetFunction(&red, mod, "reduce_sum"));
	/*
	 * The wrong parameter count. A buffer shorter than the kernel's is
	 * taken (NVIDIA's driver 580 takes it too, test_cu_errors compares
	 * that): here the rest is zero, so vadd sees n = 0; natively it sees
	 * garbage and faults, which would end this test's context, so natively
	 * it is not made here.
	 */
	CU_EXPECT_GUEST(cuLaunchKernel(f, 1, 1, 1, 32, 1, 1, 0, NULL, NULL, extra_small),
			CUDA_SUCCESS);
	CU_EXPECT(cuLaunchKernel(f, 1, 1, 1, 32, 1, 1, 0, NULL, NULL, NULL),
		  CUDA_ERROR_INVALID_VALUE);
	CU_EXPECT(cuLaunchKernel(f, 1, 1, 1, 32, 1, 1, 0, NULL, kp, extra_ok),
		  CUDA_ERROR_INVALID_VALUE);
	/* Shapes. */
	CU_EXPECT(cuLaunchKernel(f, 0, 1, 1, 32, 1, 1, 0, NULL, kp, NULL), CUDA_ERROR_INVALID_VALUE);
	CU_EXPECT(cuLaunchKernel(f, 1, 1, 1, 2048, 1, 1, 0, NULL, kp, NULL),
		  CUDA_ERROR_INVALID_VALUE);
	CU_EXPECT(cuLaunchKernel(f, 1, 1, 1, 32, 32, 2, 0, NULL, kp, NULL),
		  CUDA_ERROR_INVALID_VALUE);
	CU_EXPECT(cuLaunchKernel(red, 1, 1, 1, 32, 1, 1, 1u << 30, NULL, kp, NULL),
		  CUDA_ERROR_INVALID_VALUE);
	CU_EXPECT(cuLaunchKernel(NULL, 1, 1, 1, 32, 1, 1, 0, NULL, kp, NULL),
		  CUDA_ERROR_INVALID_HANDLE);
	/* A function of an unloaded module. */
	CU_MUST(cuModuleLoadData(&m2, img));
	CU_MUST(cuModuleGetFunction(&f, m2, "vadd"));
	CU_OK(cuModuleUnload(m2));
	CU_EXPECT(cuLaunchKernel(f, 1, 1, 1, 32, 1, 1, 0, NULL, kp, NULL), CUDA_ERROR_INVALID_HANDLE);
	/* The unloaded module's handle: not comparable natively (NVIDIA's driver 580 crashes). */
	CU_EXPECT_GUEST(cuModuleGetFunction(&f, m2, "vadd"), CUDA_ERROR_INVALID_HANDLE);
	CU_EXPECT_GUEST(cuModuleUnload(m2), CUDA_ERROR_INVALID_HANDLE);
	CU_OK(cuCtxSynchronize());
	cuMemFree(d);
	free(img);
}

/* A function of one context launched in another. */
static void other_context(void)
{
	CUcontext mine, other;
	CUfunction f;
	CUdeviceptr d;
	int n = 0;
	void *kp[] = { &d, &d, &d, &n };

	CU_MUST(cuCtxGetCurrent(&mine));
	CU_MUST(cuModuleGetFunction(&f, mod, "vadd"));
	CU_MUST(cuCtxCreate(&other, NULL, 0, 0));
	CU_MUST(cuMemAlloc(&d, 64));
	CU_EXPECT(cuLaunchKernel(f, 1, 1, 1, 32, 1, 1, 0, NULL, kp, NULL), CUDA_ERROR_INVALID_HANDLE);
	cuMemFree(d);
	CU_OK(cuCtxDestroy(other));
	CU_OK(cuCtxSetCurrent(mine));
}

/*
 * A kernel that writes through a bad pointer: CUDA_ERROR_ILLEGAL_ADDRESS
 * at the next synchronisation, then from every call in the context (and in
 * the domain's other contexts, as on a GPU). A new context works.
 */
static void fault(void)
{
	CUcontext c, bystander;
	CUmodule m;
	CUfunction f;
	CUdeviceptr bad_ptr = 0x100, d;
	void *kp[] = { &bad_ptr };
	char *img = load_file("kern.default.fatbin", NULL);
	unsigned int w = 0;

	if (!img)
		return;
	CU_MUST(cuCtxCreate(&bystander, NULL, 0, 0));
	CU_MUST(cuCtxCreate(&c, NULL, 0, 0));
	CU_MUST(cuModuleLoadData(&m, img));
	CU_MUST(cuModuleGetFunction(&f, m, "fault_write"));
	CU_OK(cuLaunchKernel(f, 1, 1, 1, 32, 1, 1, 0, NULL, kp, NULL));
	CU_EXPECT(cuCtxSynchronize(), CUDA_ERROR_ILLEGAL_ADDRESS);
	CU_EXPECT(cuMemAlloc(&d, 16), CUDA_ERROR_ILLEGAL_ADDRESS);
	CU_EXPECT(cuCtxSynchronize(), CUDA_ERROR_ILLEGAL_ADDRESS);
	CU_OK(cuCtxDestroy(c));
	CU_OK(cuCtxSetCurrent(bystander));
	CU_EXPECT(cuMemAlloc(&d, 16), CUDA_ERROR_ILLEGAL_ADDRESS);
	CU_OK(cuCtxDestroy(bystander));
	free(img);
	/*
	 * In a guest, fresh contexts work again (dom0 restarted the domain's
	 * GPU worker); NVIDIA's driver makes none in a process after a fault.
	 */
	if (!getenv("VGPU_DEVICE"))
		return;
	CU_MUST(cuCtxCreate(&c, NULL, 0, 0));
	CU_OK(cuMemAlloc(&d, 16));
	CU_OK(cuMemsetD32(d, 7, 4));
	CU_OK(cuMemcpyDtoH(&w, d, 4));
	T_CHECK(w == 7, "a new context after the fault: %u", w);
	CU_OK(cuCtxDestroy(c));
}

int main(int argc, char **argv)
{
	CUcontext c;
	char name[256];
	int major = 0;
	char *img;

	if (argc < 2) {
		fprintf(stderr, "usage: %s DATA_DIR (tests/data/cuda-13.0)\n", argv[0]);
		return 2;
	}
	data_dir = argv[1];
	if (cuInit(0) != CUDA_SUCCESS)
		t_skip("cuInit failed: no device");
	if (cuCtxCreate(&c, NULL, 0, 0) != CUDA_SUCCESS)
		t_skip("no context");
	cuDeviceGetName(name, sizeof(name), 0);
	cuDeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, 0);
	cpu_device = major == 0 || strstr(name, "cpu reference") != NULL;
	T_RUN(images);
	img = load_file("kern.default.fatbin", NULL);
	if (!img || cuModuleLoadData(&mod, img) != CUDA_SUCCESS) {
		t_fail(__FILE__, __LINE__, "kern.default.fatbin does not load");
		return t_done("test_cu_module");
	}
	T_RUN(functions);
	T_RUN(vadd_forms);
	T_RUN(grid_stride_and_tiles);
	T_RUN(shared_and_variables);
	T_RUN(mixed_parameters);
	T_RUN(kernels_as_functions);
	T_RUN(occupancy);
	T_RUN(launch_misuse);
	T_RUN(other_context);
	CU_OK(cuModuleUnload(mod));
	free(img);
	CU_OK(cuCtxSetCurrent(c));
	T_RUN(fault);
	cuCtxDestroy(c);
	return t_done("test_cu_module");
}
