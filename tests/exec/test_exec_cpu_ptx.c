/* SPDX-License-Identifier: MIT */
/*
 * test_exec_cpu_ptx.c - the cpu executor's modules through executor.h, as
 * the backend drives them: MODULE_LOAD of real nvcc 13.0 output (the PTX
 * text and fat binaries of tests/data/cuda-13.0, zstd-compressed as CUDA
 * 13 makes them) with every kernel of it run and checked element by
 * element against C; FUNC_GET, FUNC_INFO, FUNC_SET_ATTR, MODULE_GLOBAL
 * (copies to __constant__ and __device__ variables), MODULE_UNLOAD; images
 * refused, each with its status and log; a fault and a watchdog expiry
 * losing the device state as on a GPU; module memory in mem_info; module
 * lifetime with contexts; completion on the worker thread.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec-test.h"
#include "fatbin.h"
#include "imgbuild.h"
#include "ptx-kernels.h"
#include "ptx.h"

#ifndef VGPU_TEST_DATA
#error "VGPU_TEST_DATA: the folder of nvcc's test images"
#endif

static struct vgpu_exec *ex;
static struct vgpu_exec_ctx *ctx;
static uint64_t last_mod_bytes;         /* the last MODULE_LOAD's result[0] */
static uint32_t watchdog_ms;
static bool async_mode;

static void setup(void)
{
	struct vgpu_exec_config cfg = {
		.name = "cpu", .watchdog_ms = watchdog_ms,
		.cpu_async = async_mode,
	};

	ck_assert_int_eq(vgpu_exec_open(&ex, &cfg, NULL), 0);
	ck_assert_int_eq(vgpu_exec_ctx_create(ex, &ctx), 0);
}

static void teardown(void)
{
	vgpu_exec_ctx_destroy(ex, ctx);
	vgpu_exec_close(ex);
}

static void *read_file(const char *name, size_t *len)
{
	char path[512];
	FILE *f;
	void *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s", VGPU_TEST_DATA, name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	((char *)buf)[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* --------------------------------------------------------- module ops */

/* MODULE_LOAD through a stream cut at odd places; the log comes back. */
static int load(const void *img, size_t len, uint32_t format, uint32_t log_len,
		struct vgpu_exec_mod **mod, char *log, uint64_t *log_bytes)
{
	size_t total = len + log_len;
	unsigned char *buf = malloc(total);
	struct vgpu_exec_iov iov[64];
	struct vgpu_exec_op op = { .opcode = VGPUIF_OP_MODULE_LOAD, .ctx = ctx };
	int rc;

	ck_assert_ptr_nonnull(buf);
	memcpy(buf, img, len);
	memset(buf + len, 'x', log_len);
	op.iov = iov;
	op.niov = et_split(buf, total, 1, iov, 64);
	op.u.module_load.image_len = len;
	op.u.module_load.format = format;
	op.u.module_load.log_len = log_len;
	rc = et_run(ex, &op);
	if (log) {
		memcpy(log, buf + len, log_len);
		log[log_len] = '\0';
	}
	if (log_bytes)
		*log_bytes = op.result[1];
	last_mod_bytes = op.result[0];
	*mod = op.object;
	if (rc)
		ck_assert_ptr_null(op.object);
	free(buf);
	return rc;
}

static struct vgpu_exec_mod *load_ok(const void *img, size_t len)
{
	struct vgpu_exec_mod *mod;
	char log[256];
	uint64_t n;
	int rc = load(img, len, VGPUIF_MODULE_AUTO, 200, &mod, log, &n);

	ck_assert_msg(rc == 0, "MODULE_LOAD: %d: %s", rc, log);
	ck_assert_uint_eq(n, 1);        /* an empty log: its NUL */
	ck_assert_str_eq(log, "");
	return mod;
}

static int unload(struct vgpu_exec_mod *mod)
{
	struct vgpu_exec_op op = { .opcode = VGPUIF_OP_MODULE_UNLOAD, .ctx = ctx };

	op.u.module_unload.mod = mod;
	return et_run(ex, &op);
}

static int func_get(struct vgpu_exec_mod *mod, const char *name, size_t len,
		    struct vgpu_exec_func **f, uint64_t *param_bytes)
{
	struct vgpu_exec_iov iov = { (void *)name, len };
	struct vgpu_exec_op op = {
		.opcode = VGPUIF_OP_FUNC_GET, .ctx = ctx, .iov = &iov, .niov = 1,
	};
	int rc;

	op.u.func_get.mod = mod;
	op.u.func_get.name_len = (uint32_t)len;
	rc = et_run(ex, &op);
	*f = op.object;
	if (param_bytes)
		*param_bytes = op.result[1];
	return rc;
}

static struct vgpu_exec_func *func(struct vgpu_exec_mod *mod, const char *name)
{
	struct vgpu_exec_func *f;
	int rc = func_get(mod, name, strlen(name), &f, NULL);

	ck_assert_msg(rc == 0, "FUNC_GET %s: %d", name, rc);
	return f;
}

static int func_info(struct vgpu_exec_func *f, struct vgpuif_func_info *fi)
{
	struct vgpu_exec_iov iov = { fi, sizeof(*fi) };
	struct vgpu_exec_op op = {
		.opcode = VGPUIF_OP_FUNC_INFO, .ctx = ctx, .iov = &iov, .niov = 1,
	};

	op.u.func_info.func = f;
	return et_run(ex, &op);
}

static int set_attr(struct vgpu_exec_func *f, uint32_t attr, int32_t v)
{
	struct vgpu_exec_op op = { .opcode = VGPUIF_OP_FUNC_SET_ATTR, .ctx = ctx };

	op.u.func_attr.func = f;
	op.u.func_attr.attr = attr;
	op.u.func_attr.value = v;
	return et_run(ex, &op);
}

static int global(struct vgpu_exec_mod *mod, const char *name,
		  struct vgpu_exec_mem **m, uint64_t *addr, uint64_t *size)
{
	unsigned char buf[64 + 16];
	struct vgpu_exec_iov iov = { buf, strlen(name) + 16 };
	struct vgpu_exec_op op = {
		.opcode = VGPUIF_OP_MODULE_GLOBAL, .ctx = ctx, .iov = &iov,
		.niov = 1,
	};
	int rc;

	memcpy(buf, name, strlen(name));
	op.u.module_global.mod = mod;
	op.u.module_global.name_len = (uint32_t)strlen(name);
	rc = et_run(ex, &op);
	*m = op.object;
	if (addr)
		*addr = op.result[0];
	if (size)
		*size = op.result[1];
	return rc;
}

static int launch(struct vgpu_exec_func *f, uint32_t gx, uint32_t gy,
		  uint32_t bx, uint32_t by, uint32_t shared, const void *params,
		  size_t plen)
{
	struct vgpu_exec_iov iov = { (void *)params, plen };
	struct vgpu_exec_op op = {
		.opcode = VGPUIF_OP_LAUNCH, .ctx = ctx, .iov = &iov,
		.niov = plen ? 1 : 0,
	};

	op.u.launch.func = f;
	op.u.launch.grid[0] = gx;
	op.u.launch.grid[1] = gy;
	op.u.launch.grid[2] = 1;
	op.u.launch.block[0] = bx;
	op.u.launch.block[1] = by;
	op.u.launch.block[2] = 1;
	op.u.launch.shared_mem = shared;
	op.u.launch.param_len = (uint32_t)plen;
	return et_run(ex, &op);
}

/* Device memory with host contents; returns the device address. */
static uint64_t dev_in(const void *host, size_t len, struct vgpu_exec_mem **m)
{
	uint64_t addr;

	ck_assert_int_eq(et_alloc(ex, ctx, len, m, &addr), 0);
	if (host)
		ck_assert_int_eq(et_h2d(ex, ctx, *m, 0, (void *)host, len, 0), 0);
	return addr;
}

static void dev_out(struct vgpu_exec_mem *m, void *host, size_t len)
{
	ck_assert_int_eq(et_d2h(ex, ctx, m, 0, host, len, 0), 0);
}

/* ---------------------------------------------- nvcc 13.0's kernels */

static const char *const nvcc_images[] = {
	"kern.compute_90.ptx", "kern.default.fatbin", "kern.sm_90+ptx.fatbin",
	"kern.compressed.fatbin",
};

struct p_ptrs3 { uint64_t a, b, c; int32_t n; } __attribute__((packed));

static void run_vadd(struct vgpu_exec_mod *mod)
{
	enum { N = 1000 };
	static float a[N], b[N], c[N];
	struct vgpu_exec_mem *ma, *mb, *mc;
	struct p_ptrs3 p;

	for (int i = 0; i < N; i++) {
		a[i] = (float)i * 0.25f;
		b[i] = 7.0f - (float)i;
	}
	p.a = dev_in(a, sizeof(a), &ma);
	p.b = dev_in(b, sizeof(b), &mb);
	p.c = dev_in(NULL, sizeof(c), &mc);
	p.n = N;
	ck_assert_int_eq(launch(func(mod, "vadd"), (N + 127) / 128, 1, 128, 1, 0,
				&p, sizeof(p)), 0);
	dev_out(mc, c, sizeof(c));
	for (int i = 0; i < N; i++)
		ck_assert_msg(c[i] == a[i] + b[i], "vadd c[%d] = %g", i, c[i]);
	et_free(ex, ctx, ma);
	et_free(ex, ctx, mb);
	et_free(ex, ctx, mc);
}

static void run_saxpy(struct vgpu_exec_mod *mod)
{
	enum { N = 5000 };
	static float x[N], y[N], want[N];
	struct vgpu_exec_mem *mx, *my;
	struct { int32_t n; float a; uint64_t x, y; } p;

	for (int i = 0; i < N; i++) {
		x[i] = (float)(i % 97) / 3.0f;
		y[i] = (float)i;
		want[i] = fmaf(1.5f, x[i], y[i]);
	}
	p.n = N;
	p.a = 1.5f;
	p.x = dev_in(x, sizeof(x), &mx);
	p.y = dev_in(y, sizeof(y), &my);
	/* fewer threads than elements: the grid-stride loop does the rest */
	ck_assert_int_eq(launch(func(mod, "saxpy"), 4, 1, 128, 1, 0, &p,
				sizeof(p)), 0);
	dev_out(my, y, sizeof(y));
	for (int i = 0; i < N; i++)
		ck_assert_msg(y[i] == want[i], "saxpy y[%d] = %g, want %g", i,
			      y[i], want[i]);
	et_free(ex, ctx, mx);
	et_free(ex, ctx, my);
}

static void run_matmul(struct vgpu_exec_mod *mod, int n)
{
	size_t sz = sizeof(float) * (size_t)(n * n);
	float *a = malloc(sz), *b = malloc(sz), *c = malloc(sz);
	struct vgpu_exec_mem *ma, *mb, *mc;
	struct p_ptrs3 p;
	int tiles = (n + 15) / 16;

	for (int i = 0; i < n * n; i++) {
		a[i] = (float)((i * 7) % 19) - 9.0f;
		b[i] = (float)((i * 3) % 23) * 0.5f;
	}
	p.a = dev_in(a, sz, &ma);
	p.b = dev_in(b, sz, &mb);
	p.c = dev_in(NULL, sz, &mc);
	p.n = n;
	ck_assert_int_eq(launch(func(mod, "matmul_tiled"), (uint32_t)tiles,
				(uint32_t)tiles, 16, 16, 0, &p, sizeof(p)), 0);
	dev_out(mc, c, sz);
	for (int r = 0; r < n; r++)
		for (int col = 0; col < n; col++) {
			float acc = 0;

			/* the kernel's order: tile by tile, zeros past n */
			for (int k = 0; k < tiles * 16; k++)
				acc = fmaf(k < n ? a[r * n + k] : 0.0f,
					   k < n ? b[k * n + col] : 0.0f, acc);
			ck_assert_msg(c[r * n + col] == acc, "matmul c[%d][%d] = %g, "
				      "want %g", r, col, c[r * n + col], acc);
		}
	et_free(ex, ctx, ma);
	et_free(ex, ctx, mb);
	et_free(ex, ctx, mc);
	free(a);
	free(b);
	free(c);
}

static void run_reduce(struct vgpu_exec_mod *mod)
{
	enum { N = 1000, B = 256 };
	static float in[N];
	float out = 0, want = 0;
	struct vgpu_exec_mem *mi, *mo;
	struct { uint64_t in, out; int32_t n; } __attribute__((packed)) p;

	for (int i = 0; i < N; i++) {
		in[i] = (float)(i % 13);
		want += in[i];
	}
	p.in = dev_in(in, sizeof(in), &mi);
	p.out = dev_in(&out, sizeof(out), &mo);
	p.n = N;
	ck_assert_int_eq(launch(func(mod, "reduce_sum"), (N + B - 1) / B, 1, B, 1,
				B * 4, &p, sizeof(p)), 0);
	dev_out(mo, &out, sizeof(out));
	ck_assert_msg(out == want, "reduce %g, want %g", out, want);
	et_free(ex, ctx, mi);
	et_free(ex, ctx, mo);
}

static void run_fill(struct vgpu_exec_mod *mod)
{
	enum { N = 3000 };
	static uint32_t v[N + 1];
	struct vgpu_exec_mem *m;
	struct { uint64_t p; uint32_t v, pad; uint64_t n; } p;

	v[N] = 0x12345678;
	p.p = dev_in(v, sizeof(v), &m);
	p.v = 0xdeadbeef;
	p.pad = 0;
	p.n = N;
	ck_assert_int_eq(launch(func(mod, "fill_u32"), 2, 1, 256, 1, 0, &p,
				sizeof(p)), 0);
	dev_out(m, v, sizeof(v));
	for (int i = 0; i < N; i++)
		ck_assert_uint_eq(v[i], 0xdeadbeef);
	ck_assert_uint_eq(v[N], 0x12345678);
	et_free(ex, ctx, m);
}

static void run_vars(struct vgpu_exec_mod *mod)
{
	enum { N = 500 };
	static float x[N], y[N], table[256], out[N];
	static int32_t v[N], idx[N];
	float coef[4] = { 1.0f, -2.0f, 0.5f, 99.0f };
	struct vgpu_exec_mem *mx, *my, *mv, *mi, *mo, *gcoef, *gcount, *gtable;
	uint64_t addr, size;
	int32_t counter = 0, want_hits = 0;
	struct { uint64_t x, y; int32_t n; } __attribute__((packed)) pp;
	struct { uint64_t v; int32_t n, want; } ph;

	/* __constant__ float kc_coef[4]: copied to like any memory */
	ck_assert_int_eq(global(mod, "kc_coef", &gcoef, &addr, &size), 0);
	ck_assert_uint_eq(size, 16);
	ck_assert_uint_ge(addr, PTX_GENERIC_LIMIT);
	ck_assert_int_eq(et_h2d(ex, ctx, gcoef, 0, coef, sizeof(coef), 0), 0);
	for (int i = 0; i < N; i++)
		x[i] = (float)i * 0.01f - 2.0f;
	pp.x = dev_in(x, sizeof(x), &mx);
	pp.y = dev_in(NULL, sizeof(y), &my);
	pp.n = N;
	ck_assert_int_eq(launch(func(mod, "const_poly"), 4, 1, 128, 1, 0, &pp,
				sizeof(pp)), 0);
	dev_out(my, y, sizeof(y));
	for (int i = 0; i < N; i++) {
		float want = fmaf(x[i], fmaf(x[i], coef[2], coef[1]), coef[0]);

		ck_assert_msg(y[i] == want, "const_poly y[%d] = %g, want %g", i,
			      y[i], want);
	}

	/* __device__ int kd_counter: atomics on it, read back by a copy */
	ck_assert_int_eq(global(mod, "kd_counter", &gcount, NULL, &size), 0);
	ck_assert_uint_eq(size, 4);
	for (int i = 0; i < N; i++) {
		v[i] = (i * 7) % 10;
		want_hits += v[i] == 3;
	}
	ph.v = dev_in(v, sizeof(v), &mv);
	ph.n = N;
	ph.want = 3;
	ck_assert_int_eq(launch(func(mod, "count_hits"), 2, 1, 256, 1, 0, &ph,
				sizeof(ph)), 0);
	ck_assert_int_eq(et_d2h(ex, ctx, gcount, 0, &counter, 4, 0), 0);
	ck_assert_int_eq(counter, want_hits);

	/* __device__ float kd_table[256] */
	ck_assert_int_eq(global(mod, "kd_table", &gtable, NULL, &size), 0);
	ck_assert_uint_eq(size, 1024);
	for (int i = 0; i < 256; i++)
		table[i] = (float)i * 1.5f;
	ck_assert_int_eq(et_h2d(ex, ctx, gtable, 0, table, sizeof(table), 0), 0);
	for (int i = 0; i < N; i++)
		idx[i] = i * 37 - 1000;
	pp.x = dev_in(idx, sizeof(idx), &mi);
	pp.y = dev_in(NULL, sizeof(out), &mo);
	ck_assert_int_eq(launch(func(mod, "table_lookup"), 4, 1, 128, 1, 0, &pp,
				sizeof(pp)), 0);
	dev_out(mo, out, sizeof(out));
	for (int i = 0; i < N; i++)
		ck_assert_msg(out[i] == table[idx[i] & 255], "table out[%d]", i);
	/* the same name gives the same memory */
	{
		struct vgpu_exec_mem *again;

		ck_assert_int_eq(global(mod, "kd_table", &again, NULL, NULL), 0);
		ck_assert_ptr_eq(again, gtable);
	}
	et_free(ex, ctx, mx);
	et_free(ex, ctx, my);
	et_free(ex, ctx, mv);
	et_free(ex, ctx, mi);
	et_free(ex, ctx, mo);
}

/* char, short, int, long long, float, double, struct Big, float *: the
 * buffer is laid out from FUNC_INFO's offsets, as the guest library does */
static void run_params_mixed(struct vgpu_exec_mod *mod)
{
	struct vgpu_exec_func *f = func(mod, "params_mixed");
	static const uint32_t off[8] = { 0, 2, 4, 8, 16, 24, 32, 64 };
	static const uint32_t size[8] = { 1, 2, 4, 8, 4, 8, 32, 8 };
	struct { double d[3]; int32_t k; char c; } big = { { 1.0, 2.25, 3.0 }, 7, 9 };
	struct vgpuif_func_info fi;
	unsigned char buf[72] = { 0 };
	struct vgpu_exec_mem *mo;
	char c = 3;
	int16_t s = -2;
	int32_t i = 100;
	int64_t l = 1000;
	float fl = 0.5f, out = 0, want;
	double d = 0.25;
	uint64_t po, pb;

	ck_assert_int_eq(func_get(mod, "params_mixed", 12, &f, &pb), 0);
	ck_assert_uint_eq(pb, 72);
	ck_assert_int_eq(func_info(f, &fi), 0);
	ck_assert_uint_eq(fi.nr_params, 8);
	ck_assert_uint_eq(fi.param_bytes, 72);
	for (int k = 0; k < 8; k++) {
		ck_assert_uint_eq(fi.param[k].offset, off[k]);
		ck_assert_uint_eq(fi.param[k].size, size[k]);
	}
	po = dev_in(NULL, 4, &mo);
	memcpy(buf + off[0], &c, 1);
	memcpy(buf + off[1], &s, 2);
	memcpy(buf + off[2], &i, 4);
	memcpy(buf + off[3], &l, 8);
	memcpy(buf + off[4], &fl, 4);
	memcpy(buf + off[5], &d, 8);
	memcpy(buf + off[6], &big, 29);
	memcpy(buf + off[7], &po, 8);
	ck_assert_int_eq(launch(f, 1, 1, 1, 1, 0, buf, sizeof(buf)), 0);
	dev_out(mo, &out, 4);
	want = (float)(c + s + i);
	want = (float)l + want;
	want = want + fl;
	want = want + (float)d;
	want = want + (float)big.d[1];
	want = want + (float)big.k;
	want = want + (float)(signed char)big.c;
	ck_assert_msg(out == want, "params_mixed %g, want %g", out, want);
	et_free(ex, ctx, mo);
}

START_TEST(test_nvcc13_kernels)
{
	size_t len;
	void *img = read_file(nvcc_images[_i], &len);
	struct vgpu_exec_mod *mod = load_ok(img, len);
	static const char *const names[] = {
		"vadd", "saxpy", "matmul_tiled", "reduce_sum", "fill_u32",
		"const_poly", "count_hits", "table_lookup", "fault_write",
		"spin_forever", "empty_kernel", "params_mixed",
	};
	struct vgpu_exec_func *f;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		func(mod, names[i]);
	run_vadd(mod);
	run_saxpy(mod);
	run_matmul(mod, 64);
	run_matmul(mod, 50);         /* partial tiles */
	run_reduce(mod);
	run_fill(mod);
	run_vars(mod);
	run_params_mixed(mod);
	f = func(mod, "empty_kernel");
	ck_assert_int_eq(launch(f, 7, 3, 32, 2, 0, NULL, 0), 0);
	ck_assert_int_eq(unload(mod), 0);
	free(img);
}
END_TEST

/* The hand-written kernels of ptx-kernels.h, through the executor too. */
START_TEST(test_project_kernels)
{
	enum { N = 64 * 64 };
	struct vgpu_exec_mod *mod = load_ok(ptxk_matmul, sizeof(ptxk_matmul));
	static float a[N], b[N], c[N];
	struct vgpu_exec_mem *ma, *mb, *mc;
	struct p_ptrs3 p;

	for (int i = 0; i < N; i++) {
		a[i] = (float)(i % 5);
		b[i] = (float)(i % 3) - 1.0f;
	}
	p.a = dev_in(a, sizeof(a), &ma);
	p.b = dev_in(b, sizeof(b), &mb);
	p.c = dev_in(NULL, sizeof(c), &mc);
	p.n = 64;
	ck_assert_int_eq(launch(func(mod, "_Z6matmulPKfS0_Pfi"), 4, 4, 16, 16, 0,
				&p, sizeof(p)), 0);
	dev_out(mc, c, sizeof(c));
	for (int r = 0; r < 64; r++)
		for (int col = 0; col < 64; col++) {
			float s = 0;

			for (int k = 0; k < 64; k++)
				s = fmaf(a[r * 64 + k], b[k * 64 + col], s);
			ck_assert(c[r * 64 + col] == s);
		}
	ck_assert_int_eq(unload(mod), 0);
}
END_TEST

/* ------------------------------------------------------- refused */

static const char bad_ptx[] = ".version 8.0\n.target sm_80\n.address_size 64\n"
	".entry k()\n{\n\tshfl.sync.bfly.b32 %r1, %r2, 1, 31, -1;\n}\n";

static const struct {
	const char *what;
	const char *file;            /* in tests/data/cuda-13.0, or NULL  */
	const char *text;            /* else this                         */
	uint32_t format, log_len;
	int rc;
	const char *log;             /* a part of the log                 */
	uint64_t log_bytes;          /* 0: strlen + 1                      */
} refuse_rows[] = {
	{ "unsupported instruction", NULL, bad_ptx, VGPUIF_MODULE_PTX, 512,
	  VGPUIF_RSP_ENOEXEC, "ptx line 6: error: instruction 'shfl' is not "
	  "supported by the cpu executor", 0 },
	{ "log cut to its room", NULL, bad_ptx, VGPUIF_MODULE_AUTO, 16,
	  VGPUIF_RSP_ENOEXEC, "ptx line 6: err", 16 },
	{ "no room for a log", NULL, bad_ptx, VGPUIF_MODULE_AUTO, 0,
	  VGPUIF_RSP_ENOEXEC, "", 0 },
	{ "not PTX at all", NULL, "\x01\x02garbage", VGPUIF_MODULE_AUTO, 512,
	  VGPUIF_RSP_ENOEXEC, "unexpected character", 0 },
	{ "a cubin", "kern.sm_90.cubin", NULL, VGPUIF_MODULE_AUTO, 512,
	  VGPUIF_RSP_EOPNOTSUPP, "this is a cubin (ELF with SASS", 0 },
	{ "a cubin, said so", "kern.sm_90.cubin", NULL, VGPUIF_MODULE_CUBIN, 512,
	  VGPUIF_RSP_EOPNOTSUPP, "cubin", 0 },
	{ "SASS only", "kern.sm_80+sm_90.fatbin", NULL, VGPUIF_MODULE_FATBIN, 512,
	  VGPUIF_RSP_EOPNOTSUPP, "holds only SASS (cubin up to sm_90)", 0 },
	{ "PTX said to be a cubin", "kern.compute_90.ptx", NULL,
	  VGPUIF_MODULE_CUBIN, 512, VGPUIF_RSP_ENOEXEC, "no ELF", 0 },
	{ "a truncated fat binary", "kern.default.fatbin", NULL,
	  VGPUIF_MODULE_AUTO, 512, VGPUIF_RSP_ENOEXEC, "malformed fat binary", 0 },
};

START_TEST(test_refused)
{
	const void *img = refuse_rows[_i].text;
	size_t len = img ? strlen(img) + 1 : 0;
	void *file = NULL;
	struct vgpu_exec_mod *mod = (void *)1;
	char log[600];
	uint64_t n;

	if (refuse_rows[_i].file) {
		img = file = read_file(refuse_rows[_i].file, &len);
		if (strstr(refuse_rows[_i].what, "truncated"))
			len = 100;
	}
	ck_assert_int_eq(load(img, len, refuse_rows[_i].format,
			      refuse_rows[_i].log_len, &mod, log, &n),
			 refuse_rows[_i].rc);
	ck_assert_ptr_null(mod);
	ck_assert_msg(strstr(log, refuse_rows[_i].log), "%s: log '%s'",
		      refuse_rows[_i].what, log);
	if (refuse_rows[_i].log_len)
		ck_assert_uint_eq(n, refuse_rows[_i].log_bytes ?
				  refuse_rows[_i].log_bytes : strlen(log) + 1);
	else
		ck_assert_uint_eq(n, 0);
	free(file);
}
END_TEST

START_TEST(test_names_and_attrs)
{
	size_t len;
	void *img = read_file("kern.compute_90.ptx", &len);
	struct vgpu_exec_mod *mod = load_ok(img, len);
	struct vgpu_exec_func *f, *r = func(mod, "reduce_sum");
	struct vgpu_exec_mem *m;
	struct vgpuif_func_info fi;

	ck_assert_int_eq(func_get(mod, "nosuch", 6, &f, NULL), VGPUIF_RSP_ENOENT);
	ck_assert_int_eq(func_get(mod, "vadd\0x", 6, &f, NULL), VGPUIF_RSP_EINVAL);
	ck_assert_int_eq(func_get(mod, "vad", 3, &f, NULL), VGPUIF_RSP_ENOENT);
	ck_assert_int_eq(func_get(mod, "kc_coef", 7, &f, NULL), VGPUIF_RSP_ENOENT);
	ck_assert_int_eq(global(mod, "vadd", &m, NULL, NULL), VGPUIF_RSP_ENOENT);
	ck_assert_int_eq(global(mod, "kd_count", &m, NULL, NULL), VGPUIF_RSP_ENOENT);

	/* attributes a program reads, and sets */
	ck_assert_int_eq(func_info(r, &fi), 0);
	ck_assert_uint_eq(fi.attr_valid & 0x3ff, 0x3ff);
	ck_assert_int_eq(fi.attr[0], 1024);     /* max threads per block */
	ck_assert_int_eq(fi.attr[1], 0);        /* static shared          */
	ck_assert_int_eq(fi.attr[5], 90);       /* PTX ISA 9.0            */
	ck_assert_int_eq(fi.attr[6], 90);       /* .target sm_90          */
	ck_assert_int_eq(fi.attr[8], 48 * 1024);
	ck_assert_int_eq(fi.attr[9], -1);
	ck_assert_int_eq(set_attr(r, 8, 8 * 1024), 0);
	ck_assert_int_eq(set_attr(r, 8, 48 * 1024 + 1), VGPUIF_RSP_EINVAL);
	ck_assert_int_eq(set_attr(r, 9, 50), 0);
	ck_assert_int_eq(set_attr(r, 9, 101), VGPUIF_RSP_EINVAL);
	ck_assert_int_eq(set_attr(r, 11, 2), VGPUIF_RSP_EINVAL);   /* clusters */
	ck_assert_int_eq(set_attr(r, VGPUIF_FUNC_ATTR_CACHE_CONFIG, 2), 0);
	ck_assert_int_eq(func_info(r, &fi), 0);
	ck_assert_int_eq(fi.attr[8], 8 * 1024);
	ck_assert_int_eq(fi.attr[9], 50);
	f = func(mod, "matmul_tiled");
	ck_assert_int_eq(func_info(f, &fi), 0);
	ck_assert_int_eq(fi.attr[1], 2048);
	ck_assert_int_eq(fi.attr[8], 48 * 1024 - 2048);
	ck_assert_int_eq(fi.attr[4], (int32_t)fi.attr[4]);
	ck_assert_int_gt(fi.attr[4], 0);

	/* a launch the device refuses changes nothing */
	{
		unsigned char p[64] = { 0 };

		ck_assert_int_eq(launch(f, 1, 1, 16, 16, 0, &p, 20),
				 VGPUIF_RSP_EINVAL);     /* 28 bytes expected */
		ck_assert_int_eq(launch(f, 1, 1, 16, 16, 0, &p, 40),
				 VGPUIF_RSP_EINVAL);
		ck_assert_int_eq(launch(r, 1, 1, 32, 1, 16 * 1024, &p, 20),
				 VGPUIF_RSP_EINVAL);     /* past the attribute */
	}
	run_vadd(mod);
	ck_assert_int_eq(unload(mod), 0);
	free(img);
}
END_TEST

/* A fat binary made here (the runtime's test image builder) with an
 * uncompressed PTX entry, and one with the PTX in two containers. */
START_TEST(test_plain_fatbin)
{
	size_t cap = 64 * 1024, n;
	unsigned char *fb = malloc(cap);
	struct img_entry e[2] = {
		{ .kind = VGPU_FATBIN_KIND_ELF, .arch = 90,
		  .flags = VGPU_FATBIN_F_64BIT | VGPU_FATBIN_F_LINUX,
		  .payload = "\177ELF", .payload_len = 4 },
		{ .kind = VGPU_FATBIN_KIND_PTX, .arch = 75,
		  .flags = VGPU_FATBIN_F_64BIT | VGPU_FATBIN_F_LINUX,
		  .payload = ptxk_saxpy, .payload_len = sizeof(ptxk_saxpy) },
	};
	struct vgpu_exec_mod *mod;

	ck_assert_ptr_nonnull(fb);
	n = img_fatbin(fb, cap, e, 2);
	ck_assert_uint_gt(n, 0);
	mod = load_ok(fb, n);
	func(mod, "_Z5saxpyifPKfPf");
	ck_assert_int_eq(unload(mod), 0);
	/* the PTX in the second of two containers back to back */
	{
		size_t n1 = img_fatbin(fb, cap, e, 1);
		size_t n2 = img_fatbin(fb + n1, cap - n1, e + 1, 1);

		ck_assert_uint_gt(n1 * n2, 0);
		mod = load_ok(fb, n1 + n2);
		func(mod, "_Z5saxpyifPKfPf");
		ck_assert_int_eq(unload(mod), 0);
	}
	free(fb);
}
END_TEST

/* ---------------------------------------------------- lost state */

START_TEST(test_fault_loses_state)
{
	size_t len;
	void *img = read_file("kern.compute_90.ptx", &len);
	struct vgpu_exec_mod *mod = load_ok(img, len), *mod2;
	struct vgpu_exec_func *fw = func(mod, "fault_write"), *f;
	struct vgpu_exec_mem *a, *g, *b;
	struct vgpu_exec_ctx *other;
	struct vgpu_exec_mem *oa;
	struct vgpuif_func_info fi;
	uint64_t bad = 0x10, addr;
	uint32_t word = 1;

	ck_assert_int_eq(vgpu_exec_ctx_create(ex, &other), 0);
	ck_assert_int_eq(et_alloc(ex, other, 64, &oa, NULL), 0);
	dev_in(&word, 4, &a);
	ck_assert_int_eq(global(mod, "kd_counter", &g, NULL, NULL), 0);

	/* p[threadIdx.x] = 1 with p = 0x10: an illegal address */
	ck_assert_int_eq(launch(fw, 1, 1, 32, 1, 0, &bad, 8), VGPUIF_RSP_EREMOTEIO);

	/* everything made before is gone, in every context */
	ck_assert_int_eq(et_h2d(ex, ctx, a, 0, &word, 4, 0), VGPUIF_RSP_EREMOTEIO);
	ck_assert_int_eq(et_d2h(ex, ctx, g, 0, &word, 4, 0), VGPUIF_RSP_EREMOTEIO);
	ck_assert_int_eq(et_h2d(ex, other, oa, 0, &word, 4, 0), VGPUIF_RSP_EREMOTEIO);
	ck_assert_int_eq(func_get(mod, "vadd", 4, &f, NULL), VGPUIF_RSP_EREMOTEIO);
	ck_assert_int_eq(launch(fw, 1, 1, 1, 1, 0, &bad, 8), VGPUIF_RSP_EREMOTEIO);
	ck_assert_int_eq(func_info(fw, &fi), VGPUIF_RSP_EREMOTEIO);
	ck_assert_int_eq(global(mod, "kd_table", &g, NULL, NULL), VGPUIF_RSP_EREMOTEIO);
	/* ... but can be freed, so the backend cleans up */
	ck_assert_int_eq(et_free(ex, ctx, a), 0);
	ck_assert_int_eq(unload(mod), 0);
	ck_assert_int_eq(et_free(ex, other, oa), 0);
	vgpu_exec_ctx_destroy(ex, other);

	/* fresh state works */
	mod2 = load_ok(img, len);
	addr = dev_in(NULL, 128, &b);
	ck_assert_int_eq(launch(func(mod2, "fault_write"), 1, 1, 32, 1, 0, &addr,
				8), 0);
	run_vadd(mod2);
	ck_assert_int_eq(et_free(ex, ctx, b), 0);
	ck_assert_int_eq(unload(mod2), 0);
	free(img);
}
END_TEST

/* ------------------------------------------------------- watchdog */

START_TEST(test_watchdog)
{
	size_t len;
	void *img = read_file("kern.compute_90.ptx", &len);
	struct vgpu_exec_mod *mod = load_ok(img, len), *dl;
	struct vgpu_exec_mem *flag;
	uint64_t fa = dev_in(NULL, 4, &flag);
	static const char deadlock[] = ".version 8.0\n.target sm_80\n"
		".address_size 64\n.entry d()\n{\n\t.reg .pred %p<2>;\n"
		"\t.reg .b32 %r<2>;\n\tmov.u32 %r1, %tid.x;\n"
		"\tsetp.eq.u32 %p1, %r1, 0;\n\t@%p1 bar.sync 0;\n"
		"\t@!%p1 bar.sync 1;\n\tret;\n}\n";

	/* while (*flag == 0) {}: stopped under the watchdog's budget */
	ck_assert_int_eq(launch(func(mod, "spin_forever"), 1, 1, 32, 1, 0, &fa, 8),
			 VGPUIF_RSP_ETIMEDOUT);
	ck_assert_int_eq(et_h2d(ex, ctx, flag, 0, &fa, 4, 0), VGPUIF_RSP_EREMOTEIO);
	ck_assert_int_eq(et_free(ex, ctx, flag), 0);
	ck_assert_int_eq(unload(mod), 0);
	/* a barrier nobody can pass: the GPU would hang until the watchdog */
	dl = load_ok(deadlock, sizeof(deadlock));
	ck_assert_int_eq(launch(func(dl, "d"), 1, 1, 64, 1, 0, NULL, 0),
			 VGPUIF_RSP_ETIMEDOUT);
	ck_assert_int_eq(unload(dl), 0);
	free(img);
}
END_TEST

/* ----------------------------------------------------- memory */

START_TEST(test_module_memory)
{
	size_t len;
	void *img = read_file("kern.compute_90.ptx", &len);
	static const char huge[] = ".version 8.0\n.target sm_80\n"
		".address_size 64\n.global .align 4 .b8 big[18253611008];\n";
	struct vgpu_exec_mod *mod, *m2;
	uint64_t free0, free1, free2, total;
	char log[256];

	ck_assert_int_eq(vgpu_exec_mem_info(ex, &free0, &total), 0);
	mod = load_ok(img, len);
	ck_assert_int_eq(vgpu_exec_mem_info(ex, &free1, &total), 0);
	/* kc_coef 16 + kd_counter 4 + kd_table 1024, as MODULE_LOAD said */
	ck_assert_uint_eq(free0 - free1, 16 + 4 + 1024);
	ck_assert_uint_eq(last_mod_bytes, 16 + 4 + 1024);
	/* globals past the device's memory: refused, nothing held */
	ck_assert_int_eq(load(huge, sizeof(huge), VGPUIF_MODULE_PTX, 200, &m2, log,
			      NULL), VGPUIF_RSP_ENOMEM);
	ck_assert_int_eq(vgpu_exec_mem_info(ex, &free2, &total), 0);
	ck_assert_uint_eq(free2, free1);
	ck_assert_int_eq(unload(mod), 0);
	ck_assert_int_eq(vgpu_exec_mem_info(ex, &free2, &total), 0);
	ck_assert_uint_eq(free2, free0);
	free(img);
}
END_TEST

/* Modules die with their context, and only theirs. */
START_TEST(test_contexts)
{
	size_t len;
	void *img = read_file("kern.compute_90.ptx", &len);
	struct vgpu_exec_ctx *c2 = ctx, *c1;
	struct vgpu_exec_mod *keep;
	uint64_t free0, free1, total;

	ck_assert_int_eq(vgpu_exec_mem_info(ex, &free0, &total), 0);
	keep = load_ok(img, len);
	ck_assert_int_eq(vgpu_exec_ctx_create(ex, &c1), 0);
	ctx = c1;
	for (int i = 0; i < 3; i++)
		load_ok(img, len);
	vgpu_exec_ctx_destroy(ex, c1);
	ctx = c2;
	ck_assert_int_eq(vgpu_exec_mem_info(ex, &free1, &total), 0);
	ck_assert_uint_eq(free0 - free1, 16 + 4 + 1024);
	run_vadd(keep);
	/* left loaded: teardown's context destroy and close free it */
	free(img);
}
END_TEST

/* ------------------------------------------------- worker thread */

START_TEST(test_launch_on_worker)
{
	struct vgpu_exec_mod *mod = load_ok(ptxk_spin, sizeof(ptxk_spin));
	struct vgpu_exec_op op = { .opcode = VGPUIF_OP_LAUNCH, .ctx = ctx };
	struct et_wait w;
	int rc;

	et_wait_init(&w);
	op.u.launch.func = func(mod, "spin");
	op.u.launch.grid[0] = op.u.launch.grid[1] = op.u.launch.grid[2] = 1;
	op.u.launch.block[0] = op.u.launch.block[1] = op.u.launch.block[2] = 1;
	op.done = et_done;
	op.priv = &w;
	rc = vgpu_exec_submit(ex, &op);
	ck_assert_int_eq(rc, 0);
	pthread_mutex_lock(&w.lock);
	while (!w.calls)
		pthread_cond_wait(&w.cond, &w.lock);
	pthread_mutex_unlock(&w.lock);
	ck_assert_int_eq(w.status, VGPUIF_RSP_ETIMEDOUT);
	ck_assert_int_eq(w.calls, 1);
	/* the kernel ran on the executor's worker, not inside submit */
	ck_assert(!pthread_equal(w.thread, pthread_self()));
	ck_assert_int_eq(unload(mod), 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("cpu executor: PTX modules");
	TCase *tc;

	tc = tcase_create("nvcc");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_nvcc13_kernels, 0,
			    sizeof(nvcc_images) / sizeof(nvcc_images[0]));
	tcase_add_test(tc, test_project_kernels);
	tcase_add_test(tc, test_plain_fatbin);
	suite_add_tcase(s, tc);

	tc = tcase_create("ops");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_refused, 0,
			    sizeof(refuse_rows) / sizeof(refuse_rows[0]));
	tcase_add_test(tc, test_names_and_attrs);
	tcase_add_test(tc, test_module_memory);
	tcase_add_test(tc, test_contexts);
	tcase_add_test(tc, test_fault_loses_state);
	suite_add_tcase(s, tc);
	return s;
}

/* The watchdog and the worker thread want their own settings. */
static Suite *suite_watchdog(void)
{
	Suite *s = suite_create("cpu executor: PTX watchdog");
	TCase *tc = tcase_create("watchdog");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_watchdog);
	tcase_add_test(tc, test_launch_on_worker);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	/* first: no watchdog, inline completion (the default) */
	sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);

	/* then: a 5 ms watchdog, worker-thread completion */
	watchdog_ms = 5;
	async_mode = true;
	sr = srunner_create(suite_watchdog());
	srunner_run_all(sr, CK_NORMAL);
	failed += srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
