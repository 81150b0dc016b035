/* SPDX-License-Identifier: MIT */
/*
 * test_ptx.c - the PTX library of the cpu executor (mediator-cuda/ptx.h),
 * on its own: real kernels (nvcc- and numba-style PTX) checked element by
 * element against C references; one instruction at a time against the PTX
 * ISA's rules (edge cases included); bad PTX, each row with its status and
 * the log line it must get; faults in every state space; launches the
 * driver would refuse; barriers that fail the test when threads are not
 * really synchronized; the instruction budget, deadlocks and cancelling.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>

#include "ptx.h"
#include "ptx-kernels.h"
#include "kernels/vector_add_ptx.h"

/* ---------------------------------------------------- a tiny device */

#define DEV_BASE 0x0000700000000000ull
#define DEV_MAX  64

/* Memory the tests hand to launches, as the executor does: regions. */
struct dev {
	struct ptx_region r[DEV_MAX];
	unsigned int n;
	uint64_t next;
};

static void dev_init(struct dev *d)
{
	memset(d, 0, sizeof(*d));
	d->next = DEV_BASE;
}

static uint64_t dev_alloc(struct dev *d, uint64_t size, void **host)
{
	struct ptx_region *r;

	ck_assert_uint_lt(d->n, DEV_MAX);
	r = &d->r[d->n++];
	r->addr = d->next;
	r->size = size;
	r->host = calloc(1, size ? size : 1);
	ck_assert_ptr_nonnull(r->host);
	/* a guard page between allocations, like the cpu executor's VA */
	d->next += (size + 2 * 4096 - 1) & ~4095ull;
	if (host)
		*host = r->host;
	return r->addr;
}

static void dev_free(struct dev *d)
{
	for (unsigned int i = 0; i < d->n; i++)
		free(d->r[i].host);
	d->n = 0;
}

/* Place every module variable in a region of its own, initialized. */
static void dev_bind(struct dev *d, struct ptx_module *m)
{
	for (unsigned int i = 0; i < ptx_module_nglobals(m); i++) {
		struct ptx_global_info gi;
		void *host;
		uint64_t a;

		ptx_module_global(m, i, &gi);
		a = dev_alloc(d, gi.size, &host);
		d->r[d->n - 1].is_const = gi.is_const;
		if (gi.init_len)
			memcpy(host, gi.init, (size_t)gi.init_len);
		ptx_module_bind_global(m, i, a);
	}
}

static struct ptx_module *load_ok(const char *text)
{
	struct ptx_module *m = NULL;
	char log[2048];
	int rc = ptx_module_load(text, strlen(text) + 1, &m, log, sizeof(log));

	ck_assert_msg(rc == 0, "load: %d: %s", rc, log);
	ck_assert_str_eq(log, "");
	return m;
}

static const struct ptx_kernel *kernel(const struct ptx_module *m,
				       const char *name)
{
	const struct ptx_kernel *k = ptx_module_kernel(m, name, strlen(name));

	ck_assert_msg(k != NULL, "no kernel %s", name);
	return k;
}

static int run(const struct ptx_kernel *k, struct dev *d, uint32_t gx,
	       uint32_t gy, uint32_t bx, uint32_t by, uint32_t shared,
	       const void *params, size_t plen, uint64_t budget,
	       char *why, size_t why_cap)
{
	struct ptx_launch l;
	int rc;

	memset(&l, 0, sizeof(l));
	l.kernel = k;
	l.grid[0] = gx;
	l.grid[1] = gy;
	l.grid[2] = 1;
	l.block[0] = bx;
	l.block[1] = by;
	l.block[2] = 1;
	l.shared_mem = shared;
	l.params = params;
	l.param_len = plen;
	l.regions = d->r;
	l.nregions = d->n;
	l.budget = budget;
	rc = ptx_launch(&l);
	if (why)
		snprintf(why, why_cap, "%s", l.why);
	return rc;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* -------------------------------------------------------- real kernels */

START_TEST(test_vector_add_1024)
{
	enum { N = 1024 };
	struct ptx_module *m = load_ok(vgpu_vector_add_ptx);
	const struct ptx_kernel *k = kernel(m, "vgpu_vector_add");
	float *a, *b, *c;
	struct dev d;
	struct { uint64_t a, b, c; uint32_t n; } __attribute__((packed)) p;
	char why[256];
	double t0;

	dev_init(&d);
	p.a = dev_alloc(&d, 4 * N, (void **)&a);
	p.b = dev_alloc(&d, 4 * N, (void **)&b);
	p.c = dev_alloc(&d, 4 * N, (void **)&c);
	p.n = N;
	for (int i = 0; i < N; i++) {
		a[i] = (float)i * 0.5f;
		b[i] = 1000.0f - (float)i;
	}
	t0 = now_ms();
	ck_assert_msg(run(k, &d, 4, 1, 256, 1, 0, &p, 28, 0, why, sizeof(why))
		      == 0, "%s", why);
	printf("vector add of 1024: %.2f ms\n", now_ms() - t0);
	for (int i = 0; i < N; i++)
		ck_assert_msg(c[i] == a[i] + b[i], "c[%d] = %g", i, c[i]);
	dev_free(&d);
	ptx_module_free(m);
}
END_TEST

/* n elements with block size bs: the tail block is partly idle */
static const struct { int n, bs; } saxpy_rows[] = {
	{ 1024, 256 }, { 1000, 256 }, { 1, 1 }, { 33, 32 }, { 4097, 1024 },
};

START_TEST(test_saxpy)
{
	int n = saxpy_rows[_i].n, bs = saxpy_rows[_i].bs;
	struct ptx_module *m = load_ok(ptxk_saxpy);
	const struct ptx_kernel *k = kernel(m, "_Z5saxpyifPKfPf");
	float *x, *y, *ref = malloc(sizeof(float) * (size_t)n);
	struct { int32_t n; float a; uint64_t x, y; } p;
	struct dev d;
	char why[256];

	dev_init(&d);
	p.n = n;
	p.a = 2.5f;
	p.x = dev_alloc(&d, 4ull * (uint64_t)n, (void **)&x);
	p.y = dev_alloc(&d, 4ull * (uint64_t)n, (void **)&y);
	for (int i = 0; i < n; i++) {
		x[i] = (float)i / 7.0f;
		y[i] = 3.0f - (float)i;
		ref[i] = fmaf(p.a, x[i], y[i]);
	}
	ck_assert_msg(run(k, &d, (uint32_t)((n + bs - 1) / bs), 1, (uint32_t)bs,
			  1, 0, &p, sizeof(p), 0, why, sizeof(why)) == 0,
		      "%s", why);
	for (int i = 0; i < n; i++)
		ck_assert_msg(y[i] == ref[i], "y[%d] = %g, want %g", i, y[i],
			      ref[i]);
	free(ref);
	dev_free(&d);
	ptx_module_free(m);
}
END_TEST

START_TEST(test_matmul_64)
{
	enum { N = 64, T = 16 };
	struct ptx_module *m = load_ok(ptxk_matmul);
	const struct ptx_kernel *k = kernel(m, "_Z6matmulPKfS0_Pfi");
	float *a, *b, *c;
	struct { uint64_t a, b, c; int32_t n; } __attribute__((packed)) p;
	struct ptx_kernel_attrs at;
	struct dev d;
	char why[256];
	double t0;

	ptx_kernel_attrs(k, &at);
	ck_assert_uint_eq(at.shared_static, 2048);
	dev_init(&d);
	p.a = dev_alloc(&d, 4 * N * N, (void **)&a);
	p.b = dev_alloc(&d, 4 * N * N, (void **)&b);
	p.c = dev_alloc(&d, 4 * N * N, (void **)&c);
	p.n = N;
	for (int i = 0; i < N * N; i++) {
		a[i] = (float)((i * 7) % 13) - 6.0f;
		b[i] = (float)((i * 5) % 11) * 0.25f;
	}
	t0 = now_ms();
	ck_assert_msg(run(k, &d, N / T, N / T, T, T, 0, &p, 28, 0, why,
			  sizeof(why)) == 0, "%s", why);
	printf("matmul 64x64: %.2f ms\n", now_ms() - t0);
	for (int r = 0; r < N; r++)
		for (int col = 0; col < N; col++) {
			float s = 0;

			/* the kernel's order: tiles, then k within a tile */
			for (int kk = 0; kk < N; kk++)
				s = fmaf(a[r * N + kk], b[kk * N + col], s);
			ck_assert_msg(c[r * N + col] == s, "c[%d][%d] = %g, want %g",
				      r, col, c[r * N + col], s);
		}
	dev_free(&d);
	ptx_module_free(m);
}
END_TEST

static const struct { uint32_t n, bs; } reduce_rows[] = {
	{ 1000, 256 }, { 1024, 1024 }, { 5, 8 }, { 4096, 64 },
};

START_TEST(test_reduce)
{
	uint32_t n = reduce_rows[_i].n, bs = reduce_rows[_i].bs;
	struct ptx_module *m = load_ok(ptxk_reduce);
	const struct ptx_kernel *k = kernel(m, "_Z6reducePKfPfj");
	float *in, *out, want = 0;
	struct { uint64_t in, out; uint32_t n; } __attribute__((packed)) p;
	struct dev d;
	char why[256];

	dev_init(&d);
	p.in = dev_alloc(&d, 4ull * n, (void **)&in);
	p.out = dev_alloc(&d, 4, (void **)&out);
	p.n = n;
	for (uint32_t i = 0; i < n; i++) {
		in[i] = (float)(i % 17);        /* integers: any order is exact */
		want += in[i];
	}
	ck_assert_msg(run(k, &d, (n + bs - 1) / bs, 1, bs, 1, bs * 4, &p, 20, 0,
			  why, sizeof(why)) == 0, "%s", why);
	ck_assert_msg(*out == want, "sum %g, want %g", *out, want);
	dev_free(&d);
	ptx_module_free(m);
}
END_TEST

START_TEST(test_fill_grid_stride)
{
	enum { N = 10000 };
	struct ptx_module *m = load_ok(ptxk_fill);
	const struct ptx_kernel *k = kernel(m, "_Z4fillPjjm");
	uint32_t *v;
	struct { uint64_t p; uint32_t v; uint32_t pad; uint64_t n; } p;
	struct dev d;
	char why[256];

	dev_init(&d);
	p.p = dev_alloc(&d, 4 * N + 4, (void **)&v);
	p.v = 0xabc00000u;
	p.pad = 0;
	p.n = N;
	v[N] = 0x5a5a5a5a;
	ck_assert_msg(run(k, &d, 3, 1, 128, 1, 0, &p, sizeof(p), 0, why,
			  sizeof(why)) == 0, "%s", why);
	for (uint32_t i = 0; i < N; i++)
		ck_assert_uint_eq(v[i], 0xabc00000u + i);
	ck_assert_uint_eq(v[N], 0x5a5a5a5a);  /* nothing past n */
	dev_free(&d);
	ptx_module_free(m);
}
END_TEST

START_TEST(test_const_and_global_vars)
{
	enum { N = 300 };
	struct ptx_module *m = load_ok(ptxk_poly);
	const struct ptx_kernel *k = kernel(m, "_Z4polyPKfPfi");
	struct ptx_global_info gi;
	struct ptx_kernel_attrs at;
	float *x, *y;
	uint32_t *hits;
	struct { uint64_t x, y; int32_t n; } __attribute__((packed)) p;
	struct dev d;
	char why[256];
	int ci, hi;

	ci = ptx_module_find_global(m, "coef", 4);
	hi = ptx_module_find_global(m, "hits", 4);
	ck_assert_int_ge(ci, 0);
	ck_assert_int_ge(hi, 0);
	ck_assert_int_eq(ptx_module_find_global(m, "coe", 3), -1);
	ptx_module_global(m, (unsigned int)ci, &gi);
	ck_assert(gi.is_const);
	ck_assert_uint_eq(gi.size, 16);
	ck_assert_uint_eq(gi.init_len, 16);
	ptx_kernel_attrs(k, &at);
	ck_assert_uint_eq(at.const_bytes, 16);
	dev_init(&d);
	dev_bind(&d, m);
	hits = (uint32_t *)d.r[hi].host;
	p.x = dev_alloc(&d, 4 * N, (void **)&x);
	p.y = dev_alloc(&d, 4 * N, (void **)&y);
	p.n = N;
	for (int i = 0; i < N; i++)
		x[i] = (float)i * 0.01f - 1.0f;
	ck_assert_msg(run(k, &d, 3, 1, 128, 1, 0, &p, 20, 0, why, sizeof(why))
		      == 0, "%s", why);
	for (int i = 0; i < N; i++) {
		float v = x[i];
		float want = fmaf(v, fmaf(v, fmaf(v, 4.0f, 3.0f), 2.0f), 1.0f);

		ck_assert_msg(y[i] == want, "y[%d] = %g, want %g", i, y[i], want);
	}
	ck_assert_uint_eq(*hits, N);
	dev_free(&d);
	ptx_module_free(m);
}
END_TEST

START_TEST(test_numba_add)
{
	enum { N = 777 };
	struct ptx_module *m = load_ok(ptxk_numba_add);
	const struct ptx_kernel *k = kernel(m, PTXK_NUMBA_NAME);
	struct ptx_kernel_attrs at;
	uint64_t p[21];
	float *a, *b, *c;
	struct dev d;
	char why[256];

	ptx_kernel_attrs(k, &at);
	ck_assert_uint_eq(at.nparams, 21);
	ck_assert_uint_eq(at.param_bytes, 168);
	ck_assert_uint_eq(at.ptx_version, 88);
	ck_assert_uint_eq(at.binary_version, 90);
	dev_init(&d);
	dev_bind(&d, m);                /* the .common NumbaEnv variable */
	memset(p, 0, sizeof(p));
	for (int arr = 0; arr < 3; arr++) {
		float **h = arr == 0 ? &a : arr == 1 ? &b : &c;

		p[arr * 7 + 2] = N;             /* nitems */
		p[arr * 7 + 3] = 4;             /* itemsize */
		p[arr * 7 + 4] = dev_alloc(&d, 4 * N, (void **)h);
		p[arr * 7 + 5] = N;             /* shape[0] */
		p[arr * 7 + 6] = 4;             /* strides[0] */
	}
	for (int i = 0; i < N; i++) {
		a[i] = (float)i;
		b[i] = (float)(N - i) * 0.5f;
	}
	ck_assert_msg(run(k, &d, (N + 127) / 128, 1, 128, 1, 0, p, sizeof(p), 0,
			  why, sizeof(why)) == 0, "%s", why);
	for (int i = 0; i < N; i++)
		ck_assert_msg(c[i] == a[i] + b[i], "c[%d] = %g", i, c[i]);
	dev_free(&d);
	ptx_module_free(m);
}
END_TEST

/* --------------------------------------------------------- barriers */

/* rounds of write, bar.sync, read the neighbour, bar.sync */
static const struct { uint32_t threads, blocks; int rounds; } rotate_rows[] = {
	{ 1024, 1, 5 }, { 256, 3, 3 }, { 33, 2, 7 }, { 1, 1, 4 }, { 64, 1, 0 },
};

START_TEST(test_barrier_really_waits)
{
	uint32_t n = rotate_rows[_i].threads, nb = rotate_rows[_i].blocks;
	int rounds = rotate_rows[_i].rounds;
	struct ptx_module *m = load_ok(ptxk_rotate);
	const struct ptx_kernel *k = kernel(m, "rotate");
	uint32_t *out, *ref = malloc(4ull * n), *tmp = malloc(4ull * n);
	struct { uint64_t out; int32_t rounds; } __attribute__((packed)) p;
	struct dev d;
	char why[256];

	for (uint32_t t = 0; t < n; t++)
		ref[t] = t;
	for (int r = 0; r < rounds; r++) {
		for (uint32_t t = 0; t < n; t++)
			tmp[t] = ref[t] * 3 + 1;
		for (uint32_t t = 0; t < n; t++)
			ref[t] = tmp[(t + 1) % n];
	}
	dev_init(&d);
	p.out = dev_alloc(&d, 4ull * n * nb, (void **)&out);
	p.rounds = rounds;
	ck_assert_msg(run(k, &d, nb, 1, n, 1, 0, &p, 12, 0, why, sizeof(why))
		      == 0, "%s", why);
	for (uint32_t b = 0; b < nb; b++)
		for (uint32_t t = 0; t < n; t++)
			ck_assert_msg(out[b * n + t] == ref[t], "block %u thread "
				      "%u: %u, want %u", b, t, out[b * n + t],
				      ref[t]);
	free(ref);
	free(tmp);
	dev_free(&d);
	ptx_module_free(m);
}
END_TEST

START_TEST(test_warp_barrier_really_waits)
{
	enum { N = 128 };
	struct ptx_module *m = load_ok(ptxk_warp_rotate);
	const struct ptx_kernel *k = kernel(m, "wrotate");
	uint32_t *out;
	uint64_t p;
	struct dev d;
	char why[256];

	dev_init(&d);
	p = dev_alloc(&d, 4 * N, (void **)&out);
	ck_assert_msg(run(k, &d, 1, 1, N, 1, 0, &p, 8, 0, why, sizeof(why)) == 0,
		      "%s", why);
	for (uint32_t t = 0; t < N; t++) {
		uint32_t src = (t & ~31u) + ((t + 1) & 31);

		ck_assert_msg(out[t] == src * 7 + 5, "thread %u: %u", t, out[t]);
	}
	dev_free(&d);
	ptx_module_free(m);
}
END_TEST

/* ------------------------------------------------- one instruction */

/*
 * Each row runs one instruction in a kernel that loads a, b, c into
 * registers of every width (%rdN 64-bit, %rN 32, %hN 16, %fN f32, %fdN
 * f64, %pN = (x != 0)) and stores the results %rd9 %r9 %f9 %fd9 %h9 %p9,
 * and a memory cell (initialised to a) for the atomics.
 */
enum { S64, S32, SF32, SF64, S16, SP, SCELL };
enum { IN_INT, IN_F32, IN_F64 };

struct isa_row {
	const char *insn;
	int in;                  /* how a/b/c are given                  */
	uint64_t u[3];
	double f[3];
	int slot;
	uint64_t want;           /* integer slots                         */
	double fwant;            /* float slots (NAN: any NaN)            */
	uint64_t cell;           /* atomics: the cell after (else 0)      */
};

#define I3(a, b, c) .in = IN_INT, .u = { (uint64_t)(a), (uint64_t)(b), (uint64_t)(c) }
#define F3(a, b, c) .in = IN_F32, .f = { a, b, c }
#define D3(a, b, c) .in = IN_F64, .f = { a, b, c }

static const struct isa_row isa_rows[] = {
	/* integer arithmetic */
	{ "add.s32 %r9, %r1, %r2", I3(0x7fffffff, 1, 0), .slot = S32, .want = 0x80000000 },
	{ "add.sat.s32 %r9, %r1, %r2", I3(0x7fffffff, 1, 0), .slot = S32, .want = 0x7fffffff },
	{ "sub.sat.s32 %r9, %r1, %r2", I3(0x80000000, 1, 0), .slot = S32, .want = 0x80000000 },
	{ "sub.s64 %rd9, %rd1, %rd2", I3(0, 1, 0), .slot = S64, .want = ~0ull },
	{ "add.u16 %h9, %h1, %h2", I3(0xffff, 2, 0), .slot = S16, .want = 1 },
	{ "mul.lo.s32 %r9, %r1, %r2", I3(-3, 5, 0), .slot = S32, .want = (uint32_t)-15 },
	{ "mul.hi.u32 %r9, %r1, %r2", I3(0xffffffff, 0xffffffff, 0), .slot = S32, .want = 0xfffffffe },
	{ "mul.hi.s32 %r9, %r1, %r2", I3(-2, 3, 0), .slot = S32, .want = 0xffffffff },
	{ "mul.hi.u64 %rd9, %rd1, %rd2", I3(~0ull, ~0ull, 0), .slot = S64, .want = 0xfffffffffffffffeull },
	{ "mul.hi.s64 %rd9, %rd1, %rd2", I3(-1, 1, 0), .slot = S64, .want = ~0ull },
	{ "mul.wide.s32 %rd9, %r1, %r2", I3(-2, 3, 0), .slot = S64, .want = (uint64_t)-6 },
	{ "mul.wide.u32 %rd9, %r1, %r2", I3(0xffffffff, 2, 0), .slot = S64, .want = 0x1fffffffeull },
	{ "mul.wide.u16 %r9, %h1, %h2", I3(0xffff, 0xffff, 0), .slot = S32, .want = 0xfffe0001 },
	{ "mad.lo.s32 %r9, %r1, %r2, %r3", I3(6, 7, -50), .slot = S32, .want = (uint32_t)-8 },
	{ "mad.wide.u32 %rd9, %r1, %r2, %rd3", I3(0xffffffff, 0xffffffff, 1), .slot = S64, .want = 0xfffffffe00000002ull },
	{ "mad.hi.u32 %r9, %r1, %r2, %r3", I3(0x80000000, 4, 5), .slot = S32, .want = 7 },
	{ "div.s32 %r9, %r1, %r2", I3(-7, 2, 0), .slot = S32, .want = (uint32_t)-3 },
	{ "div.s32 %r9, %r1, %r2", I3(0x80000000, -1, 0), .slot = S32, .want = 0x80000000 },
	{ "div.u32 %r9, %r1, %r2", I3(7, 0, 0), .slot = S32, .want = 0xffffffff },
	{ "div.s64 %rd9, %rd1, %rd2", I3(0x8000000000000000ull, -1, 0), .slot = S64, .want = 0x8000000000000000ull },
	{ "div.u64 %rd9, %rd1, %rd2", I3(100, 7, 0), .slot = S64, .want = 14 },
	{ "rem.s32 %r9, %r1, %r2", I3(-7, 2, 0), .slot = S32, .want = (uint32_t)-1 },
	{ "rem.u32 %r9, %r1, %r2", I3(7, 0, 0), .slot = S32, .want = 7 },
	{ "rem.s32 %r9, %r1, %r2", I3(0x80000000, -1, 0), .slot = S32, .want = 0 },
	{ "abs.s32 %r9, %r1", I3(0x80000000, 0, 0), .slot = S32, .want = 0x80000000 },
	{ "abs.s32 %r9, %r1", I3(-5, 0, 0), .slot = S32, .want = 5 },
	{ "neg.s64 %rd9, %rd1", I3(5, 0, 0), .slot = S64, .want = (uint64_t)-5 },
	{ "min.s32 %r9, %r1, %r2", I3(-1, 1, 0), .slot = S32, .want = 0xffffffff },
	{ "min.u32 %r9, %r1, %r2", I3(-1, 1, 0), .slot = S32, .want = 1 },
	{ "max.s64 %rd9, %rd1, %rd2", I3(-1, -2, 0), .slot = S64, .want = ~0ull },
	{ "max.u16 %h9, %h1, %h2", I3(0x8000, 1, 0), .slot = S16, .want = 0x8000 },
	/* bits */
	{ "and.b32 %r9, %r1, %r2", I3(0xf0f0, 0xff00, 0), .slot = S32, .want = 0xf000 },
	{ "or.b64 %rd9, %rd1, %rd2", I3(1ull << 63, 1, 0), .slot = S64, .want = (1ull << 63) | 1 },
	{ "xor.b32 %r9, %r1, 0xffffffff", I3(0x0f0f0f0f, 0, 0), .slot = S32, .want = 0xf0f0f0f0 },
	{ "not.b16 %h9, %h1", I3(0x00ff, 0, 0), .slot = S16, .want = 0xff00 },
	{ "cnot.b32 %r9, %r1", I3(0, 0, 0), .slot = S32, .want = 1 },
	{ "cnot.b32 %r9, %r1", I3(9, 0, 0), .slot = S32, .want = 0 },
	{ "shl.b32 %r9, %r1, %r2", I3(1, 31, 0), .slot = S32, .want = 0x80000000 },
	{ "shl.b32 %r9, %r1, %r2", I3(1, 32, 0), .slot = S32, .want = 0 },
	{ "shl.b64 %rd9, %rd1, %r2", I3(1, 0xffffffff, 0), .slot = S64, .want = 0 },
	{ "shr.u32 %r9, %r1, %r2", I3(0x80000000, 31, 0), .slot = S32, .want = 1 },
	{ "shr.s32 %r9, %r1, %r2", I3(0x80000000, 40, 0), .slot = S32, .want = 0xffffffff },
	{ "shr.s64 %rd9, %rd1, %r2", I3(-16, 2, 0), .slot = S64, .want = (uint64_t)-4 },
	{ "shr.b16 %h9, %h1, %r2", I3(0x8000, 15, 0), .slot = S16, .want = 1 },
	{ "popc.b64 %r9, %rd1", I3(0xff00ff00ff, 0, 0), .slot = S32, .want = 24 },
	{ "popc.b32 %r9, %r1", I3(0, 0, 0), .slot = S32, .want = 0 },
	{ "clz.b32 %r9, %r1", I3(1, 0, 0), .slot = S32, .want = 31 },
	{ "clz.b32 %r9, %r1", I3(0, 0, 0), .slot = S32, .want = 32 },
	{ "clz.b64 %r9, %rd1", I3(1ull << 40, 0, 0), .slot = S32, .want = 23 },
	{ "brev.b32 %r9, %r1", I3(1, 0, 0), .slot = S32, .want = 0x80000000 },
	{ "brev.b64 %rd9, %rd1", I3(3, 0, 0), .slot = S64, .want = 0xc000000000000000ull },
	{ "bfe.u32 %r9, %r1, %r2, %r3", I3(0xabcd1234, 8, 8), .slot = S32, .want = 0x12 },
	{ "bfe.s32 %r9, %r1, %r2, %r3", I3(0x00008000, 8, 8), .slot = S32, .want = 0xffffff80 },
	{ "bfe.u32 %r9, %r1, %r2, %r3", I3(0xffffffff, 28, 8), .slot = S32, .want = 0xf },
	{ "bfe.s32 %r9, %r1, %r2, %r3", I3(0x80000000, 28, 8), .slot = S32, .want = 0xfffffff8 },
	{ "bfe.u32 %r9, %r1, %r2, %r3", I3(0xffffffff, 4, 0), .slot = S32, .want = 0 },
	{ "bfi.b32 %r9, %r1, %r2, 8, 8", I3(0xff, 0, 0), .slot = S32, .want = 0xff00 },
	{ "bfi.b32 %r9, %r1, %r2, %r3, 8", I3(0xff, 0x12345678, 28), .slot = S32, .want = 0xf2345678 },
	{ "prmt.b32 %r9, %r1, %r2, %r3", I3(0x33221100, 0x77665544, 0x7531), .slot = S32, .want = 0x77553311 },
	{ "prmt.b32 %r9, %r1, %r2, %r3", I3(0x000080ff, 0, 0x4099), .slot = S32, .want = 0x00ffffff },
	/* compare and select */
	{ "setp.lt.s32 %p9, %r1, %r2", I3(-1, 0, 0), .slot = SP, .want = 1 },
	{ "setp.lt.u32 %p9, %r1, %r2", I3(-1, 0, 0), .slot = SP, .want = 0 },
	{ "setp.hi.u64 %p9, %rd1, %rd2", I3(-1, 0, 0), .slot = SP, .want = 1 },
	{ "setp.ls.u32 %p9, %r1, %r2", I3(5, 5, 0), .slot = SP, .want = 1 },
	{ "setp.ne.b16 %p9, %h1, %h2", I3(5, 5, 0), .slot = SP, .want = 0 },
	{ "setp.ge.s64 %p9, %rd1, 0", I3(-1, 0, 0), .slot = SP, .want = 0 },
	{ "setp.eq.and.s32 %p9, %r1, %r2, %p3", I3(1, 1, 0), .slot = SP, .want = 0 },
	{ "setp.eq.or.s32 %p9, %r1, %r2, !%p3", I3(1, 2, 0), .slot = SP, .want = 1 },
	{ "setp.eq.xor.s32 %p9|%p8, %r1, %r2, %p3", I3(1, 1, 1), .slot = SP, .want = 0 },
	{ "setp.lt.f32 %p9, %f1, %f2", F3(NAN, 1, 0), .slot = SP, .want = 0 },
	{ "setp.ltu.f32 %p9, %f1, %f2", F3(NAN, 1, 0), .slot = SP, .want = 1 },
	{ "setp.ne.f32 %p9, %f1, %f2", F3(NAN, 1, 0), .slot = SP, .want = 0 },
	{ "setp.neu.f32 %p9, %f1, %f2", F3(NAN, 1, 0), .slot = SP, .want = 1 },
	{ "setp.num.f64 %p9, %fd1, %fd2", D3(1, 2, 0), .slot = SP, .want = 1 },
	{ "setp.nan.f64 %p9, %fd1, %fd2", D3(1, NAN, 0), .slot = SP, .want = 1 },
	{ "setp.le.f64 %p9, %fd1, %fd2", D3(-0.0, 0.0, 0), .slot = SP, .want = 1 },
	{ "selp.b32 %r9, %r1, %r2, %p3", I3(11, 22, 1), .slot = S32, .want = 11 },
	{ "selp.b64 %rd9, %rd1, %rd2, %p3", I3(11, 22, 0), .slot = S64, .want = 22 },
	{ "selp.f32 %f9, 0f3F800000, %f2, %p3", F3(0, 2, 1), .slot = SF32, .fwant = 1.0 },
	{ "and.pred %p9, %p1, %p2", I3(1, 0, 0), .slot = SP, .want = 0 },
	{ "or.pred %p9, %p1, %p2", I3(1, 0, 0), .slot = SP, .want = 1 },
	{ "xor.pred %p9, %p1, %p2", I3(1, 1, 0), .slot = SP, .want = 0 },
	{ "not.pred %p9, %p1", I3(0, 0, 0), .slot = SP, .want = 1 },
	/* conversions */
	{ "cvt.u64.u32 %rd9, %r1", I3(0xffffffff, 0, 0), .slot = S64, .want = 0xffffffff },
	{ "cvt.s64.s32 %rd9, %r1", I3(0xffffffff, 0, 0), .slot = S64, .want = ~0ull },
	{ "cvt.u32.u64 %r9, %rd1", I3(0x123456789ull, 0, 0), .slot = S32, .want = 0x23456789 },
	{ "cvt.sat.u8.s32 %h9, %r1", I3(300, 0, 0), .slot = S16, .want = 255 },
	{ "cvt.sat.u8.s32 %h9, %r1", I3(-5, 0, 0), .slot = S16, .want = 0 },
	{ "cvt.sat.s16.s32 %h9, %r1", I3(-40000, 0, 0), .slot = S16, .want = 0x8000 },
	{ "cvt.sat.s32.u32 %r9, %r1", I3(0xffffffff, 0, 0), .slot = S32, .want = 0x7fffffff },
	{ "cvt.sat.u32.s64 %r9, %rd1", I3(-1, 0, 0), .slot = S32, .want = 0 },
	{ "cvt.s8.s32 %h9, %r1", I3(0x1ff, 0, 0), .slot = S16, .want = 0xffff },
	{ "cvt.u16.u32 %h9, %r1", I3(0x12345, 0, 0), .slot = S16, .want = 0x2345 },
	{ "cvt.s32.s16 %r9, %h1", I3(0x8000, 0, 0), .slot = S32, .want = 0xffff8000 },
	{ "cvt.rzi.s32.f32 %r9, %f1", F3(NAN, 0, 0), .slot = S32, .want = 0 },
	{ "cvt.rzi.s32.f32 %r9, %f1", F3(3e9, 0, 0), .slot = S32, .want = 0x7fffffff },
	{ "cvt.rzi.s32.f32 %r9, %f1", F3(-3e9, 0, 0), .slot = S32, .want = 0x80000000 },
	{ "cvt.rzi.s32.f32 %r9, %f1", F3(-2.7, 0, 0), .slot = S32, .want = (uint32_t)-2 },
	{ "cvt.rzi.u32.f32 %r9, %f1", F3(-5, 0, 0), .slot = S32, .want = 0 },
	{ "cvt.rzi.u32.f32 %r9, %f1", F3(5e9, 0, 0), .slot = S32, .want = 0xffffffff },
	{ "cvt.rni.s32.f32 %r9, %f1", F3(2.5, 0, 0), .slot = S32, .want = 2 },
	{ "cvt.rni.s32.f32 %r9, %f1", F3(3.5, 0, 0), .slot = S32, .want = 4 },
	{ "cvt.rmi.s32.f32 %r9, %f1", F3(-1.5, 0, 0), .slot = S32, .want = (uint32_t)-2 },
	{ "cvt.rpi.s32.f32 %r9, %f1", F3(1.2, 0, 0), .slot = S32, .want = 2 },
	{ "cvt.rzi.s64.f64 %rd9, %fd1", D3(1e300, 0, 0), .slot = S64, .want = 0x7fffffffffffffffull },
	{ "cvt.rzi.s64.f64 %rd9, %fd1", D3(-1e300, 0, 0), .slot = S64, .want = 0x8000000000000000ull },
	{ "cvt.rzi.u64.f64 %rd9, %fd1", D3(1.8e19, 0, 0), .slot = S64, .want = 18000000000000000000ull },
	{ "cvt.rzi.u64.f64 %rd9, %fd1", D3(1e20, 0, 0), .slot = S64, .want = ~0ull },
	{ "cvt.rzi.u16.f32 %h9, %f1", F3(70000, 0, 0), .slot = S16, .want = 0xffff },
	{ "cvt.rn.f32.s32 %f9, %r1", I3(-3, 0, 0), .slot = SF32, .fwant = -3.0 },
	{ "cvt.rn.f32.u64 %f9, %rd1", I3(~0ull, 0, 0), .slot = SF32, .fwant = 18446744073709551616.0 },
	{ "cvt.rn.f64.s64 %fd9, %rd1", I3(-(1ll << 53) - 1, 0, 0), .slot = SF64, .fwant = -9007199254740992.0 },
	{ "cvt.rn.f32.f64 %f9, %fd1", D3(0.1, 0, 0), .slot = SF32, .fwant = (double)0.1f },
	{ "cvt.f64.f32 %fd9, %f1", F3(0.5, 0, 0), .slot = SF64, .fwant = 0.5 },
	{ "cvt.rni.f32.f32 %f9, %f1", F3(2.5, 0, 0), .slot = SF32, .fwant = 2.0 },
	{ "cvt.rmi.f64.f64 %fd9, %fd1", D3(-0.5, 0, 0), .slot = SF64, .fwant = -1.0 },
	{ "cvt.sat.f32.f32 %f9, %f1", F3(7, 0, 0), .slot = SF32, .fwant = 1.0 },
	{ "cvt.ftz.f32.f32 %f9, %f1", F3(1e-40, 0, 0), .slot = SF32, .fwant = 0.0 },
	{ "mov.b64 %rd9, {%r1, %r2}", I3(0x11, 0x22, 0), .slot = S64, .want = 0x0000002200000011ull },
	{ "mov.b64 {%r9, %r8}, %rd1", I3(0x1111111122222222ull, 0, 0), .slot = S32, .want = 0x22222222 },
	{ "mov.b32 {%h9, _}, %r1", I3(0xaaaabbbb, 0, 0), .slot = S16, .want = 0xbbbb },
	{ "mov.b32 %r9, 0f3F800000", I3(0, 0, 0), .slot = S32, .want = 0x3f800000 },
	{ "mov.u32 %r9, -1", I3(0, 0, 0), .slot = S32, .want = 0xffffffff },
	{ "mov.u64 %rd9, 0x8000000000000000", I3(0, 0, 0), .slot = S64, .want = 0x8000000000000000ull },
	/* floats */
	{ "add.f32 %f9, %f1, %f2", F3(1.5, 2.25, 0), .slot = SF32, .fwant = 3.75 },
	{ "add.rn.sat.f32 %f9, %f1, %f2", F3(1.5, 2.25, 0), .slot = SF32, .fwant = 1.0 },
	{ "sub.f64 %fd9, %fd1, %fd2", D3(1, 3, 0), .slot = SF64, .fwant = -2.0 },
	{ "mul.rn.f32 %f9, %f1, %f2", F3(1.1, 3, 0), .slot = SF32, .fwant = (double)(1.1f * 3.0f) },
	{ "mul.ftz.f32 %f9, %f1, %f2", F3(1e-20, 1e-20, 0), .slot = SF32, .fwant = 0.0 },
	{ "fma.rn.f32 %f9, %f1, %f2, %f3", F3(0.1, 10, -1), .slot = SF32, .fwant = 0x1p-26 },
	{ "fma.rn.f64 %fd9, %fd1, %fd2, %fd3", D3(2, 3, 4), .slot = SF64, .fwant = 10.0 },
	{ "mad.rn.f32 %f9, %f1, %f2, %f3", F3(2, 3, 4), .slot = SF32, .fwant = 10.0 },
	{ "div.rn.f32 %f9, %f1, %f2", F3(1, 3, 0), .slot = SF32, .fwant = (double)(1.0f / 3.0f) },
	{ "div.approx.f32 %f9, %f1, %f2", F3(1, 4, 0), .slot = SF32, .fwant = 0.25 },
	{ "div.full.f32 %f9, %f1, %f2", F3(1, 0, 0), .slot = SF32, .fwant = INFINITY },
	{ "div.rn.f64 %fd9, %fd1, %fd2", D3(1, 3, 0), .slot = SF64, .fwant = 1.0 / 3.0 },
	{ "abs.f32 %f9, %f1", F3(-2, 0, 0), .slot = SF32, .fwant = 2.0 },
	{ "neg.f64 %fd9, %fd1", D3(2, 0, 0), .slot = SF64, .fwant = -2.0 },
	{ "min.f32 %f9, %f1, %f2", F3(NAN, 1, 0), .slot = SF32, .fwant = 1.0 },
	{ "max.f64 %fd9, %fd1, %fd2", D3(-1, NAN, 0), .slot = SF64, .fwant = -1.0 },
	{ "min.f32 %f9, %f1, %f2", F3(-3, 2, 0), .slot = SF32, .fwant = -3.0 },
	{ "rcp.rn.f32 %f9, %f1", F3(4, 0, 0), .slot = SF32, .fwant = 0.25 },
	{ "rcp.rn.f64 %fd9, %fd1", D3(8, 0, 0), .slot = SF64, .fwant = 0.125 },
	{ "sqrt.rn.f32 %f9, %f1", F3(2, 0, 0), .slot = SF32, .fwant = (double)1.41421356237f },
	{ "sqrt.approx.f32 %f9, %f1", F3(-1, 0, 0), .slot = SF32, .fwant = NAN },
	{ "sqrt.rn.f64 %fd9, %fd1", D3(16, 0, 0), .slot = SF64, .fwant = 4.0 },
	{ "rsqrt.approx.f32 %f9, %f1", F3(4, 0, 0), .slot = SF32, .fwant = 0.5 },
	{ "ex2.approx.f32 %f9, %f1", F3(3, 0, 0), .slot = SF32, .fwant = 8.0 },
	{ "lg2.approx.f32 %f9, %f1", F3(8, 0, 0), .slot = SF32, .fwant = 3.0 },
	{ "sin.approx.f32 %f9, %f1", F3(0, 0, 0), .slot = SF32, .fwant = 0.0 },
	{ "cos.approx.f32 %f9, %f1", F3(0, 0, 0), .slot = SF32, .fwant = 1.0 },
	{ "copysign.f32 %f9, %f1, %f2", F3(-1, 2, 0), .slot = SF32, .fwant = -2.0 },
	{ "testp.notanumber.f32 %p9, %f1", F3(NAN, 0, 0), .slot = SP, .want = 1 },
	{ "testp.finite.f64 %p9, %fd1", D3(INFINITY, 0, 0), .slot = SP, .want = 0 },
	{ "testp.subnormal.f32 %p9, %f1", F3(1e-40, 0, 0), .slot = SP, .want = 1 },
	{ "add.f32 %f9, %f1, 0f3F800000", F3(1, 0, 0), .slot = SF32, .fwant = 2.0 },
	{ "add.f64 %fd9, %fd1, 0d3FF0000000000000", D3(1, 0, 0), .slot = SF64, .fwant = 2.0 },
	{ "add.f32 %f9, %f1, -0f3F800000", F3(1, 0, 0), .slot = SF32, .fwant = 0.0 },
	{ "mul.f64 %fd9, %fd1, 2.5", D3(2, 0, 0), .slot = SF64, .fwant = 5.0 },
	/* atomics on a cell initialised to a */
	{ "atom.global.add.u32 %r9, [%rd0+32], %r2", I3(5, 3, 0), .slot = S32, .want = 5, .cell = 8 },
	{ "atom.global.add.u64 %rd9, [%rd0+32], %rd2", I3(~0ull, 2, 0), .slot = S64, .want = ~0ull, .cell = 1 },
	{ "atom.global.add.f32 %f9, [%rd0+32], %f2", F3(1.5, 2, 0), .slot = SF32, .fwant = 1.5, .cell = 0x40600000 },
	{ "atom.global.min.s32 %r9, [%rd0+32], %r2", I3(5, -3, 0), .slot = SCELL, .cell = 0xfffffffd },
	{ "atom.global.min.u32 %r9, [%rd0+32], %r2", I3(5, -3, 0), .slot = SCELL, .cell = 5 },
	{ "atom.global.max.s64 %rd9, [%rd0+32], %rd2", I3(-5, -3, 0), .slot = SCELL, .cell = (uint64_t)-3 },
	{ "atom.global.exch.b32 %r9, [%rd0+32], %r2", I3(5, 9, 0), .slot = S32, .want = 5, .cell = 9 },
	{ "atom.global.cas.b32 %r9, [%rd0+32], %r2, %r3", I3(5, 5, 9), .slot = S32, .want = 5, .cell = 9 },
	{ "atom.global.cas.b32 %r9, [%rd0+32], %r2, %r3", I3(5, 4, 9), .slot = S32, .want = 5, .cell = 5 },
	{ "atom.global.cas.b64 %rd9, [%rd0+32], %rd2, %rd3", I3(~0ull, ~0ull, 1), .slot = S64, .want = ~0ull, .cell = 1 },
	{ "atom.global.inc.u32 %r9, [%rd0+32], %r2", I3(5, 5, 0), .slot = SCELL, .cell = 0 },
	{ "atom.global.inc.u32 %r9, [%rd0+32], %r2", I3(4, 5, 0), .slot = SCELL, .cell = 5 },
	{ "atom.global.dec.u32 %r9, [%rd0+32], %r2", I3(0, 5, 0), .slot = SCELL, .cell = 5 },
	{ "atom.global.dec.u32 %r9, [%rd0+32], %r2", I3(3, 5, 0), .slot = SCELL, .cell = 2 },
	{ "atom.global.and.b32 %r9, [%rd0+32], %r2", I3(0xff, 0x0f, 0), .slot = SCELL, .cell = 0x0f },
	{ "atom.global.or.b64 %rd9, [%rd0+32], %rd2", I3(0xf0, 0x0f, 0), .slot = SCELL, .cell = 0xff },
	{ "atom.relaxed.gpu.global.xor.b32 %r9, [%rd0+32], %r2", I3(0xff, 0x0f, 0), .slot = SCELL, .cell = 0xf0 },
	{ "red.global.add.u32 [%rd0+32], %r2", I3(5, 3, 0), .slot = SCELL, .cell = 8 },
	{ "atom.add.u32 %r9, [%rd0+32], 1", I3(5, 0, 0), .slot = SCELL, .cell = 6 },
	/* special registers of thread 0 of block 0 in a 1x1 launch */
	{ "mov.u32 %r9, %laneid", I3(0, 0, 0), .slot = S32, .want = 0 },
	{ "mov.u32 %r9, %nctaid.y", I3(0, 0, 0), .slot = S32, .want = 1 },
	{ "mov.u32 %r9, %lanemask_le", I3(0, 0, 0), .slot = S32, .want = 1 },
	{ "mov.u32 %r9, %lanemask_gt", I3(0, 0, 0), .slot = S32, .want = 0xfffffffe },
	{ "mov.u32 %r9, %nwarpid", I3(0, 0, 0), .slot = S32, .want = 1 },
	{ "isspacep.global %p9, %rd0", I3(0, 0, 0), .slot = SP, .want = 1 },
	{ "isspacep.shared %p9, %rd0", I3(0, 0, 0), .slot = SP, .want = 0 },
};

static const char isa_head[] =
	".version 8.0\n.target sm_80\n.address_size 64\n"
	".visible .entry t(.param .u64 t_out, .param .b64 t_a, .param .b64 t_b,"
	" .param .b64 t_c)\n{\n"
	"\t.reg .pred %p<10>;\n\t.reg .b16 %h<10>;\n\t.reg .b32 %r<10>;\n"
	"\t.reg .f32 %f<10>;\n\t.reg .b64 %rd<10>;\n\t.reg .f64 %fd<10>;\n"
	"\tld.param.u64 %rd0, [t_out];\n\tld.param.b64 %rd1, [t_a];\n"
	"\tld.param.b64 %rd2, [t_b];\n\tld.param.b64 %rd3, [t_c];\n"
	"\tcvt.u32.u64 %r1, %rd1;\n\tcvt.u32.u64 %r2, %rd2;\n"
	"\tcvt.u32.u64 %r3, %rd3;\n\tcvt.u16.u64 %h1, %rd1;\n"
	"\tcvt.u16.u64 %h2, %rd2;\n\tcvt.u16.u64 %h3, %rd3;\n"
	"\tmov.b32 %f1, %r1;\n\tmov.b32 %f2, %r2;\n\tmov.b32 %f3, %r3;\n"
	"\tmov.b64 %fd1, %rd1;\n\tmov.b64 %fd2, %rd2;\n\tmov.b64 %fd3, %rd3;\n"
	"\tsetp.ne.u64 %p1, %rd1, 0;\n\tsetp.ne.u64 %p2, %rd2, 0;\n"
	"\tsetp.ne.u64 %p3, %rd3, 0;\n"
	"\tst.global.u64 [%rd0+32], %rd1;\n";
static const char isa_tail[] =
	"\tst.global.u64 [%rd0], %rd9;\n\tst.global.u32 [%rd0+8], %r9;\n"
	"\tst.global.f32 [%rd0+12], %f9;\n\tst.global.f64 [%rd0+16], %fd9;\n"
	"\tst.global.u16 [%rd0+24], %h9;\n\tselp.u32 %r8, 1, 0, %p9;\n"
	"\tst.global.u32 [%rd0+28], %r8;\n\tret;\n}\n";

static uint64_t in_bits(const struct isa_row *r, int i)
{
	if (r->in == IN_F32) {
		float f = (float)r->f[i];
		uint32_t b;

		memcpy(&b, &f, 4);
		return b;
	}
	if (r->in == IN_F64) {
		uint64_t b;

		memcpy(&b, &r->f[i], 8);
		return b;
	}
	return r->u[i];
}

START_TEST(test_isa)
{
	const struct isa_row *r = &isa_rows[_i];
	char text[4096];
	struct ptx_module *m;
	unsigned char *out;
	uint64_t p[4], got = 0;
	struct dev d;
	char why[256];

	snprintf(text, sizeof(text), "%s\t%s;\n%s", isa_head, r->insn, isa_tail);
	m = load_ok(text);
	dev_init(&d);
	p[0] = dev_alloc(&d, 40, (void **)&out);
	for (int i = 0; i < 3; i++)
		p[i + 1] = in_bits(r, i);
	ck_assert_msg(run(kernel(m, "t"), &d, 1, 1, 1, 1, 0, p, sizeof(p), 0, why,
			  sizeof(why)) == 0, "%s: %s", r->insn, why);
	switch (r->slot) {
	case S64: memcpy(&got, out, 8); break;
	case S32: memcpy(&got, out + 8, 4); break;
	case S16: memcpy(&got, out + 24, 2); break;
	case SP: memcpy(&got, out + 28, 4); break;
	case SF32: {
		float f;

		memcpy(&f, out + 12, 4);
		if (isnan(r->fwant))
			ck_assert_msg(isnan(f), "%s: %g", r->insn, f);
		else
			ck_assert_msg(f == (float)r->fwant &&
				      !signbit(f) == !signbit(r->fwant),
				      "%s: %a, want %a", r->insn, f, r->fwant);
		break;
	}
	case SF64: {
		double f;

		memcpy(&f, out + 16, 8);
		if (isnan(r->fwant))
			ck_assert_msg(isnan(f), "%s: %g", r->insn, f);
		else
			ck_assert_msg(f == r->fwant, "%s: %a, want %a", r->insn, f,
				      r->fwant);
		break;
	}
	default:
		break;
	}
	if (r->slot != SF32 && r->slot != SF64 && r->slot != SCELL)
		ck_assert_msg(got == r->want, "%s: 0x%llx, want 0x%llx", r->insn,
			      (unsigned long long)got,
			      (unsigned long long)r->want);
	if (r->cell || r->slot == SCELL) {
		uint64_t cell = 0;

		memcpy(&cell, out + 32, strstr(r->insn, "64") ? 8 : 4);
		ck_assert_msg(cell == r->cell, "%s: cell 0x%llx, want 0x%llx",
			      r->insn, (unsigned long long)cell,
			      (unsigned long long)r->cell);
	}
	dev_free(&d);
	ptx_module_free(m);
}
END_TEST

/* ------------------------------------------------------------ bad PTX */

#define HDR ".version 8.0\n.target sm_80\n.address_size 64\n"
#define K(body) HDR ".visible .entry k(.param .u64 k_p)\n{\n" \
	"\t.reg .pred %p<4>;\n\t.reg .b32 %r<10>;\n\t.reg .b64 %rd<10>;\n" \
	"\t.reg .f32 %f<4>;\n" body "\tret;\n}\n"

static const struct {
	const char *what;
	const char *text;
	int rc;
	const char *log;         /* a part of the log                     */
	int line;                /* the line it must name (0: none)       */
} bad_rows[] = {
	{ "empty", "", -ENOEXEC, "no .version", 0 },
	{ "not PTX", "hello world\n", -ENOEXEC, "expected a directive near 'hello'", 1 },
	{ "no .version", ".target sm_80\n", -ENOEXEC, "must begin with .version", 1 },
	{ "unknown version", ".version 12.0\n.target sm_80\n", -ENOEXEC, ".version 12.0", 1 },
	{ "no target", ".version 8.0\n.address_size 64\n", -ENOEXEC, "no .target", 0 },
	{ "bad target", ".version 8.0\n.target gfx90a\n", -ENOEXEC, "unknown target 'gfx90a'", 2 },
	{ "map_f64_to_f32", ".version 8.0\n.target sm_80, map_f64_to_f32\n", -ENOEXEC, "map_f64_to_f32", 2 },
	{ "32-bit", ".version 8.0\n.target sm_80\n.address_size 32\n", -ENOEXEC, "64-bit PTX only", 3 },
	{ "cubin", "\177ELF\2\1\1", -EOPNOTSUPP, "cubin", 0 },
	{ "unknown instruction", K("\tfrob.u32 %r1, %r2;\n"), -ENOEXEC, "instruction 'frob' is not supported", 10 },
	{ "texture fetch", K("\ttex.2d.v4.f32.f32 {%f1, %f2, %f3, %f0}, [t, {%f1, %f2}];\n"), -ENOEXEC, "instruction 'tex'", 10 },
	{ "call", K("\tcall.uni foo, (%r1);\n"), -ENOEXEC, "call is not supported", 10 },
	{ "shfl", K("\tshfl.sync.down.b32 %r1, %r2, 1, 31, -1;\n"), -ENOEXEC, "instruction 'shfl'", 10 },
	{ "vote", K("\tvote.sync.all.pred %p1, %p2, -1;\n"), -ENOEXEC, "instruction 'vote'", 10 },
	{ "half precision", K("\tadd.f16 %r1, %r2, %r3;\n"), -ENOEXEC, "type .f16 is not supported", 10 },
	{ "directed rounding", K("\tadd.rz.f32 %f1, %f2, %f3;\n"), -ENOEXEC, "rounding .rz", 10 },
	{ "carry", K("\tadd.cc.u32 %r1, %r2, %r3;\n"), -ENOEXEC, "modifier .cc", 10 },
	{ "undeclared register", K("\tmov.u32 %r1, %q5;\n"), -ENOEXEC, "register '%q5' is not declared", 10 },
	{ "register past its range", K("\tmov.u32 %r1, %r10;\n"), -ENOEXEC, "'%r10' is not declared", 10 },
	{ "width mismatch", K("\tadd.u32 %rd1, %r1, %r2;\n"), -ENOEXEC, "64-bit register for a .u32", 10 },
	{ "pred where a value is wanted", K("\tadd.u32 %r1, %p1, %r2;\n"), -ENOEXEC, "a .pred register where .u32", 10 },
	{ "operand count", K("\tadd.u32 %r1, %r2;\n"), -ENOEXEC, "takes 3 operands", 10 },
	{ "float constant for an integer", K("\tadd.u32 %r1, %r2, 1.5;\n"), -ENOEXEC, "floating-point constant", 10 },
	{ "ld without an address", K("\tld.global.u32 %r1, %rd1;\n"), -ENOEXEC, "must be an address", 10 },
	{ "st.const", K("\tst.const.u32 [%rd1], %r1;\n"), -ENOEXEC, "read-only", 10 },
	{ "st.param", K("\tst.param.u32 [%rd1], %r1;\n"), -ENOEXEC, "call sequences", 10 },
	{ "undefined label", K("\tbra $L__nowhere;\n"), -ENOEXEC, "label '$L__nowhere' is not defined", 10 },
	{ "label twice", K("L1:\nL1:\n"), -ENOEXEC, "label 'L1' is defined twice", 11 },
	{ "%tid without .x", K("\tmov.u32 %r1, %tid;\n"), -ENOEXEC, "%tid needs .x", 10 },
	{ "barrier 16", K("\tbar.sync 16;\n"), -ENOEXEC, "barrier 16", 10 },
	{ "barrier.arrive", K("\tbarrier.arrive 0;\n"), -ENOEXEC, "modifier .arrive", 10 },
	{ "no closing brace", HDR ".entry k()\n{\n\tret;\n", -ENOEXEC, "no closing '}'", 7 },
	{ "unterminated comment", HDR "/* never closed\n", -ENOEXEC, "unterminated /* comment", 4 },
	{ "stray character", HDR "#include <x>\n", -ENOEXEC, "unexpected character", 4 },
	{ "too much shared", HDR ".entry k()\n{\n\t.reg .b32 %r<2>;\n"
	  "\t.shared .b8 big[65536];\n\tmov.u32 %r1, big;\n\tret;\n}\n",
	  -ENOEXEC, "uses too much shared data", 4 },
	{ "too much local", HDR ".entry k()\n{\n\t.reg .b64 %rd<2>;\n"
	  "\t.local .b8 big[600000];\n\tmov.u64 %rd1, big;\n\tret;\n}\n",
	  -ENOEXEC, "uses too much local data", 4 },
	{ "extern .global", HDR ".extern .global .u32 x;\n", -ENOEXEC, "needs linking", 4 },
	{ "texref", HDR ".global .texref t;\n", -ENOEXEC, "textures and surfaces", 4 },
	{ "address initializer", HDR ".global .u32 a;\n.global .u64 p = generic(a);\n", -ENOEXEC, "address initializers", 5 },
	{ "too many initializers", HDR ".global .u32 a[2] = {1, 2, 3};\n", -ENOEXEC, "too many initializers", 4 },
	{ "no size", HDR ".global .u32 a[];\n", -ENOEXEC, "has no size", 4 },
	{ "variable twice", HDR ".global .u32 a;\n.global .u32 a;\n", -ENOEXEC, "'a' is declared twice", 5 },
	{ "kernel twice", HDR ".entry k()\n{\n\tret;\n}\n.entry k()\n{\n\tret;\n}\n", -ENOEXEC, "'k' is defined twice", 8 },
	{ "huge variable", HDR ".global .b8 a[2199023255553];\n", -ENOEXEC, "too large", 4 },
	{ "vector variable", HDR ".global .v4 .f32 a;\n", -ENOEXEC, "vector-typed", 4 },
	{ "mixed spaces", HDR ".shared .u32 s;\n.entry k()\n{\n\t.reg .b32 %r<2>;\n"
	  "\tld.global.u32 %r1, [s];\n\tret;\n}\n", -ENOEXEC, "another state space", 8 },
	{ "indirect branch", K("\tbra %r1;\n"), -ENOEXEC, "bra needs a label", 10 },
	{ "cluster directive", HDR ".entry k() .reqnctapercluster 2\n{\n\tret;\n}\n", -ENOEXEC, ".reqnctapercluster", 4 },
	{ "body .param", K("\t.param .b32 param0;\n"), -ENOEXEC, "does not support call", 10 },
	{ "too many types", K("\tadd.u32.u32.u32 %r1, %r2, %r3;\n"), -ENOEXEC, "too many types", 10 },
	{ "repeated modifier", K("\tld.global.global.u32 %r1, [%rd1];\n"), -ENOEXEC, "repeats", 10 },
	{ "cvt without rounding", K("\tcvt.s32.f32 %r1, %f1;\n"), -ENOEXEC, "needs .rni, .rzi", 10 },
	{ "sink as a source", K("\tadd.u32 %r1, _, %r2;\n"), -ENOEXEC, "'_' cannot be read", 10 },
	{ "integer mul without mode", K("\tmul.u32 %r1, %r2, %r3;\n"), -ENOEXEC, "needs .lo, .hi or .wide", 10 },
	{ "int too large", K("\tmov.u64 %rd1, 18446744073709551616;\n"), -ENOEXEC, "does not fit in 64 bits", 10 },
};

START_TEST(test_bad_ptx)
{
	const char *t = bad_rows[_i].text;
	struct ptx_module *m = (void *)1;
	char log[1024], line[32];
	size_t len = strlen(t) + 1;
	int rc;

	if (!strncmp(t, "\177ELF", 4))
		len = 7;
	if (!*t)
		len = 1;
	rc = ptx_module_load(t, len, &m, log, sizeof(log));
	ck_assert_msg(rc == bad_rows[_i].rc, "%s: %d (%s)", bad_rows[_i].what,
		      rc, log);
	ck_assert_ptr_null(m);
	ck_assert_msg(strstr(log, bad_rows[_i].log), "%s: log '%s' lacks '%s'",
		      bad_rows[_i].what, log, bad_rows[_i].log);
	if (bad_rows[_i].line) {
		snprintf(line, sizeof(line), "ptx line %d: error: ",
			 bad_rows[_i].line);
		ck_assert_msg(!strncmp(log, line, strlen(line)), "%s: log '%s' "
			      "does not start '%s'", bad_rows[_i].what, log, line);
	}
	/* a log that cannot hold the line is cut, still terminated */
	log[0] = 'x';
	m = (void *)1;
	rc = ptx_module_load(t, len, &m, log, 8);
	ck_assert_int_eq(rc, bad_rows[_i].rc);
	ck_assert_uint_le(strlen(log), 7);
	ck_assert_int_eq(ptx_module_load(t, len, &m, NULL, 0), bad_rows[_i].rc);
}
END_TEST

START_TEST(test_too_many_registers)
{
	size_t cap = 1u << 20, n;
	char *t = malloc(cap);
	struct ptx_module *m = NULL;
	char log[512];

	n = (size_t)snprintf(t, cap, HDR ".entry k()\n{\n\t.reg .b32 %%r<9000>;\n");
	for (int i = 0; i < 8300; i++)
		n += (size_t)snprintf(t + n, cap - n, "\tmov.u32 %%r%d, %d;\n", i, i);
	snprintf(t + n, cap - n, "\tret;\n}\n");
	ck_assert_int_eq(ptx_module_load(t, strlen(t) + 1, &m, log, sizeof(log)),
			 -ENOEXEC);
	ck_assert_ptr_nonnull(strstr(log, "more than 8192 registers"));
	free(t);
}
END_TEST

/* What the parser accepts that real PTX has: one module of the lot. */
START_TEST(test_accepts_real_ptx_forms)
{
	static const char t[] =
		"//\n// Generated by NVIDIA NVVM Compiler\n//\n"
		".version 7.8\n.target sm_52, debug\n.address_size 64\n"
		".file 1 \"/tmp/k.cu\"\n"
		".global .align 4 .b8 tab[2][3] = {{1, 2, 3}, {4, 5, 6}};\n"
		".global .align 8 .f64 dv[] = {1.5, -2.0e1, 0d3FF0000000000000};\n"
		".global .align 1 .b8 $str[6] = {104, 101, 108, 108, 111, 0};\n"
		".weak .global .align 4 .u32 w = 7;\n"
		".shared .align 8 .b8 ms[64];\n"
		".extern .func (.param .b32 func_retval0) vprintf\n"
		"(\n\t.param .b64 vprintf_param_0,\n\t.param .b64 vprintf_param_1\n);\n"
		".func (.param .b32 r) helper(.param .b32 a)\n{\n"
		"\t.reg .b32 %r<3>;\n\tld.param.b32 %r1, [a];\n"
		"\tst.param.b32 [r], %r1;\n\tret;\n}\n"
		".visible .entry k(\n\t.param .align 16 .b8 k_s[24],\n"
		"\t.param .u8 k_c,\n\t.param .f64 k_d\n)\n"
		".maxntid 128, 1, 1\n.minnctapersm 2\n{\n"
		"\t.local .align 8 .b8 __local_depot0[16];\n"
		"\t.reg .b64 %SP;\n\t.reg .b64 %SPL;\n"
		"\t.reg .b32 r<3>;\n\t.reg .pred p;\n"
		"\t.loc 1 5 3\n"
		"\tmov.u64 %SPL, __local_depot0;\n"
		"\tcvta.local.u64 %SP, %SPL;\n"
		"\t.pragma \"nounroll\";\n"
		"\t{\n\t.reg .b32 r<3>;\n\tmov.b32 r1, 5;\n\t}\n"
		"\tld.param.u32 r1, [k_s+4];\n"
		"\tsetp.eq.u32 p, r1, 0;\n"
		"\t@!p bra.uni $L__BB0_1;\n"
		"$L__BB0_1:\n"
		"\tmembar.gl;\n\tfence.acq_rel.gpu;\n"
		"\tld.global.L1::evict_last.L2::256B.u32 r2, [tab+4];\n"
		"\tld.volatile.shared.v2.u32 {r1, r2}, [ms+8];\n"
		"\tbar.sync 1, 32;\n"
		"\texit;\n}\n"
		".section .debug_info\n{\n.b32 1\n.b8 0, 1\n}\n";
	struct ptx_module *m = load_ok(t);
	const struct ptx_kernel *k = kernel(m, "k");
	struct ptx_kernel_attrs a;
	struct ptx_global_info gi;
	uint32_t off, sz;
	struct vgpuif_func_info fi;
	struct ptx_module_usage u;

	ptx_kernel_attrs(k, &a);
	ck_assert_uint_eq(a.nparams, 3);
	ptx_kernel_param(k, 0, &off, &sz);
	ck_assert_uint_eq(off, 0);
	ck_assert_uint_eq(sz, 24);
	ptx_kernel_param(k, 1, &off, &sz);
	ck_assert_uint_eq(off, 24);
	ck_assert_uint_eq(sz, 1);
	ptx_kernel_param(k, 2, &off, &sz);
	ck_assert_uint_eq(off, 32);
	ck_assert_uint_eq(sz, 8);
	ck_assert_uint_eq(a.param_bytes, 40);
	ck_assert_uint_eq(a.max_threads, 128);
	ck_assert_uint_eq(a.local_bytes, 16);
	ck_assert_uint_eq(a.shared_static, 64);
	ck_assert_uint_eq(a.ptx_version, 78);
	ck_assert_uint_eq(a.binary_version, 52);
	ck_assert_ptr_null(ptx_module_kernel(m, "helper", 6));  /* a .func */
	ck_assert_ptr_null(ptx_module_kernel(m, "k", 0));
	ck_assert_uint_eq(ptx_module_nglobals(m), 4);
	ptx_module_global(m, 0, &gi);
	ck_assert_str_eq(gi.name, "tab");
	ck_assert_uint_eq(gi.size, 6);
	ck_assert_uint_eq(gi.init_len, 6);
	ck_assert_int_eq(gi.init[5], 6);
	ptx_module_global(m, 1, &gi);
	ck_assert_uint_eq(gi.size, 24);
	{
		double v[3];

		memcpy(v, gi.init, 24);
		ck_assert(v[0] == 1.5 && v[1] == -20.0 && v[2] == 1.0);
	}
	ptx_module_usage(m, &u);
	ck_assert_uint_eq(u.global_bytes, 6 + 24 + 6 + 4);
	ck_assert_uint_eq(u.const_bytes, 0);
	ck_assert_uint_eq(u.local_per_thread, 16);
	ck_assert_uint_eq(u.shared_static, 64);
	ptx_kernel_func_info(k, 0, -1, &fi);
	ck_assert_uint_eq(fi.nr_params, 3);
	ck_assert_uint_eq(fi.param_bytes, 40);
	ck_assert_uint_eq(fi.param[2].offset, 32);
	ck_assert_int_eq(fi.attr[0], 128);
	ck_assert_int_eq(fi.attr[1], 64);
	ck_assert_int_eq(fi.attr[3], 16);
	ck_assert_int_eq(fi.attr[5], 78);
	ck_assert_int_eq(fi.attr[8], 48 * 1024 - 64);
	ck_assert_int_eq(fi.attr[9], -1);
	ck_assert_uint_eq(fi.attr_valid, 0x3ff);
	ptx_module_free(m);
}
END_TEST

/* --------------------------------------------------------- faults */

#define FK(body) HDR ".const .align 4 .u32 cv;\n" \
	".visible .entry f(.param .u64 f_p, .param .u64 f_q)\n{\n" \
	"\t.reg .pred %p<2>;\n\t.reg .b32 %r<10>;\n\t.reg .b64 %rd<10>;\n" \
	"\t.shared .align 8 .b8 sm[64];\n\t.local .align 8 .b8 lo[16];\n" \
	"\tld.param.u64 %rd1, [f_p];\n\tmov.u32 %r1, 7;\n" body "\tret;\n}\n"

static const struct {
	const char *what;
	const char *text;
	int rc;
	const char *why;
} fault_rows[] = {
	{ "global store past the end", FK("\tst.global.u32 [%rd1+64], %r1;\n"), -EFAULT, "(4 bytes) is outside every allocation and variable" },
	{ "global load before the start", FK("\tld.global.u32 %r2, [%rd1+-4];\n"), -EFAULT, "is outside every allocation" },
	{ "straddling the end", FK("\tld.global.v2.u32 {%r2, %r3}, [%rd1+56];\n\tld.global.u64 %rd2, [%rd1+60];\n"), -EFAULT, "misaligned" },
	{ "misaligned global", FK("\tld.global.u32 %r2, [%rd1+2];\n"), -EFAULT, "misaligned global address" },
	{ "misaligned vector", FK("\tld.global.v4.u32 {%r2, %r3, %r4, %r5}, [%rd1+8];\n"), -EFAULT, "misaligned" },
	{ "null pointer", FK("\tmov.u64 %rd2, 0;\n\tld.u32 %r2, [%rd2];\n"), -EFAULT, "global address 0x0" },
	{ "the guard gap", FK("\tld.global.u8 %r2, [%rd1+4096];\n"), -EFAULT, "outside every allocation" },
	{ "shared past its size", FK("\tst.shared.u32 [64], %r1;\n"), -EFAULT, "outside the block's shared memory" },
	{ "shared through a register", FK("\tmov.u32 %r2, sm;\n\tst.shared.u64 [%r2+60], %rd1;\n"), -EFAULT, "misaligned shared address" },
	{ "generic shared past its size", FK("\tmov.u64 %rd2, sm;\n\tcvta.shared.u64 %rd3, %rd2;\n\tst.u32 [%rd3+64], %r1;\n"), -EFAULT, "shared address 0x40 (4 bytes) is outside the block's shared memory" },
	{ "local past its size", FK("\tst.local.u32 [lo+16], %r1;\n"), -EFAULT, "outside the thread's local memory" },
	{ "generic local past its size", FK("\tmov.u64 %rd2, lo;\n\tcvta.local.u64 %rd3, %rd2;\n\tld.u32 %r2, [%rd3+16];\n"), -EFAULT, "local address 0x10" },
	{ "param past the end", FK("\tmov.u64 %rd2, 16;\n\tld.param.u64 %rd3, [%rd2];\n"), -EFAULT, "outside the parameters" },
	{ "store to the parameters", FK("\tmov.u64 %rd2, f_p;\n\tcvta.param.u64 %rd3, %rd2;\n\tst.u64 [%rd3], %rd1;\n"), -EFAULT, "store to parameter memory" },
	{ "store to .const", FK("\tmov.u64 %rd2, cv;\n\tst.global.u32 [%rd2], %r1;\n"), -EFAULT, "store to .const variable" },
	{ "ld.const of global memory", FK("\tld.const.u32 %r2, [%rd1];\n"), -EFAULT, "not in a .const variable" },
	{ "atomic past the end", FK("\tatom.global.add.u32 %r2, [%rd1+64], 1;\n"), -EFAULT, "outside every allocation" },
	{ "misaligned shared atomic", FK("\tatom.shared.add.u32 %r2, [sm+2], 1;\n"), -EFAULT, "misaligned shared address" },
	{ "red on .const", FK("\tmov.u64 %rd2, cv;\n\tred.add.u32 [%rd2], 1;\n"), -EFAULT, "store to .const" },
	{ "trap", FK("\ttrap;\n"), -EFAULT, "trap" },
	{ "barrier id in a register", FK("\tmov.u32 %r2, 16;\n\tbar.sync %r2;\n"), -EFAULT, "barrier 16" },
	{ "warp mask without itself", FK("\tbar.warp.sync 2;\n"), -EFAULT, "leaves out the thread itself" },
	{ "deadlock", FK("\tmov.u32 %r2, %tid.x;\n\tsetp.eq.u32 %p1, %r2, 0;\n"
			 "\t@%p1 bar.sync 1;\n\t@!%p1 bar.sync 2;\n"), -ETIMEDOUT, "deadlock" },
	{ "endless loop", FK("L:\n\tadd.u32 %r1, %r1, 1;\n\tbra L;\n"), -ETIMEDOUT, "instruction budget (100000) ran out" },
};

START_TEST(test_faults)
{
	struct ptx_module *m = load_ok(fault_rows[_i].text);
	uint64_t p[2];
	struct dev d;
	char why[256];
	int rc;

	dev_init(&d);
	dev_bind(&d, m);
	p[0] = dev_alloc(&d, 64, NULL);
	p[1] = dev_alloc(&d, 64, NULL);
	rc = run(kernel(m, "f"), &d, 2, 1, 64, 1, 0, p, sizeof(p), 100000, why,
		 sizeof(why));
	ck_assert_msg(rc == fault_rows[_i].rc, "%s: %d (%s)", fault_rows[_i].what,
		      rc, why);
	ck_assert_msg(strstr(why, fault_rows[_i].why), "%s: '%s' lacks '%s'",
		      fault_rows[_i].what, why, fault_rows[_i].why);
	ck_assert_msg(!strncmp(why, "kernel f", 8), "%s: '%s'",
		      fault_rows[_i].what, why);
	dev_free(&d);
	ptx_module_free(m);
}
END_TEST

/* ------------------------------------------------- launch refused */

static const char cfg_ptx[] = HDR
	".global .u32 g;\n"
	".extern .shared .align 8 .b8 dyn[];\n"
	".visible .entry plain(.param .u64 a, .param .u32 b)\n{\n"
	"\t.reg .b32 %r<2>;\n\tmov.u32 %r1, dyn;\n\tret;\n}\n"
	".visible .entry maxed(.param .u64 a) .maxntid 64\n{\n\tret;\n}\n"
	".visible .entry req(.param .u64 a) .reqntid 32, 2\n{\n\tret;\n}\n"
	".visible .entry usesg()\n{\n\t.reg .b64 %rd<2>;\n\tmov.u64 %rd1, g;\n"
	"\tret;\n}\n";

static const struct {
	const char *what;
	const char *kernel;
	uint32_t bx, by, shared, max_dyn;
	size_t plen;
	int regions;             /* 0 good, 1 unsorted, 2 in a window, 3 none */
	int rc;
	const char *why;
} cfg_rows[] = {
	{ "fits", "plain", 32, 1, 1024, 0, 12, 0, 0, "" },
	{ "padded to 8", "plain", 32, 1, 0, 0, 16, 0, 0, "" },
	{ "short parameters", "plain", 32, 1, 0, 0, 8, 0, -EINVAL, "8 parameter bytes; the kernel takes 12" },
	{ "long parameters", "plain", 32, 1, 0, 0, 24, 0, -EINVAL, "24 parameter bytes" },
	{ "1025 threads", "plain", 1025, 1, 0, 0, 12, 0, -EINVAL, "1025 threads per block" },
	{ "past .maxntid", "maxed", 128, 1, 0, 0, 8, 0, -EINVAL, ".maxntid" },
	{ "at .maxntid", "maxed", 64, 1, 0, 0, 8, 0, 0, "" },
	{ "not .reqntid", "req", 64, 1, 0, 0, 8, 0, -EINVAL, "must be 32x2x1" },
	{ "at .reqntid", "req", 32, 2, 0, 0, 8, 0, 0, "" },
	{ "too much dynamic shared", "plain", 32, 1, 48 * 1024 + 1, 0, 12, 0, -EINVAL, "dynamic shared memory" },
	{ "more than the attribute", "plain", 32, 1, 8192, 4096, 12, 0, -EINVAL, "(at most 4096)" },
	{ "up to the device", "plain", 32, 1, 48 * 1024, 0, 12, 0, 0, "" },
	{ "unsorted regions", "plain", 32, 1, 0, 0, 12, 1, -EINVAL, "not sorted" },
	{ "region in a window", "plain", 32, 1, 0, 0, 12, 2, -EINVAL, "above the generic windows" },
	{ "variable unbound", "usesg", 1, 1, 0, 0, 0, 3, -EINVAL, "'g' has no address" },
};

START_TEST(test_launch_refused)
{
	struct ptx_module *m = load_ok(cfg_ptx);
	unsigned char params[32] = { 0 };
	struct ptx_region rg[2];
	struct ptx_launch l;
	unsigned char host[16];
	int rc;

	memset(&l, 0, sizeof(l));
	memset(rg, 0, sizeof(rg));
	l.kernel = kernel(m, cfg_rows[_i].kernel);
	l.grid[0] = l.grid[1] = l.grid[2] = 1;
	l.block[0] = cfg_rows[_i].bx;
	l.block[1] = cfg_rows[_i].by;
	l.block[2] = 1;
	l.shared_mem = cfg_rows[_i].shared;
	l.max_dyn_shared = cfg_rows[_i].max_dyn;
	l.params = params;
	l.param_len = cfg_rows[_i].plen;
	rg[0].addr = DEV_BASE;
	rg[0].size = 16;
	rg[0].host = host;
	rg[1] = rg[0];
	rg[1].addr = DEV_BASE + 4096;
	if (cfg_rows[_i].regions != 3)
		ptx_module_bind_global(m, 0, DEV_BASE);
	if (cfg_rows[_i].regions == 1) {
		struct ptx_region t = rg[0];

		rg[0] = rg[1];
		rg[1] = t;
	}
	if (cfg_rows[_i].regions == 2)
		rg[0].addr = PTX_WINDOW_SHARED;
	l.regions = rg;
	l.nregions = 2;
	rc = ptx_launch(&l);
	ck_assert_msg(rc == cfg_rows[_i].rc, "%s: %d (%s)", cfg_rows[_i].what, rc,
		      l.why);
	ck_assert_msg(strstr(l.why, cfg_rows[_i].why), "%s: '%s' lacks '%s'",
		      cfg_rows[_i].what, l.why, cfg_rows[_i].why);
	ptx_module_free(m);
}
END_TEST

/* ---------------------------------------------------------- watchdog */

START_TEST(test_budget)
{
	struct ptx_module *m = load_ok(ptxk_spin);
	const struct ptx_kernel *k = kernel(m, "spin");
	static const uint64_t budgets[] = { 1, 1000, 1234567 };
	struct ptx_launch l;
	struct dev d;

	dev_init(&d);
	for (size_t i = 0; i < sizeof(budgets) / sizeof(budgets[0]); i++) {
		memset(&l, 0, sizeof(l));
		l.kernel = k;
		l.grid[0] = l.grid[1] = l.grid[2] = 1;
		l.block[0] = 32;
		l.block[1] = l.block[2] = 1;
		l.budget = budgets[i];
		ck_assert_int_eq(ptx_launch(&l), -ETIMEDOUT);
		ck_assert_ptr_nonnull(strstr(l.why, "budget"));
		/* it stops at the budget, not somewhere after it */
		ck_assert_uint_le(l.insns, budgets[i] + 64);
		ck_assert_uint_ge(l.insns, budgets[i]);
	}
	ptx_module_free(m);
}
END_TEST

/* Huge grids of empty blocks are bounded by the budget too. */
START_TEST(test_budget_counts_blocks)
{
	static const char t[] = HDR ".entry e()\n{\n\tret;\n}\n";
	struct ptx_module *m = load_ok(t);
	struct ptx_launch l;

	memset(&l, 0, sizeof(l));
	l.kernel = kernel(m, "e");
	l.grid[0] = 0x7fffffff;
	l.grid[1] = l.grid[2] = 65535;
	l.block[0] = l.block[1] = 1;
	l.block[2] = 1;
	l.budget = 1000000;
	ck_assert_int_eq(ptx_launch(&l), -ETIMEDOUT);
	ptx_module_free(m);
}
END_TEST

START_TEST(test_cancel)
{
	struct ptx_module *m = load_ok(ptxk_spin);
	volatile int cancel = 1;
	struct ptx_launch l;

	memset(&l, 0, sizeof(l));
	l.kernel = kernel(m, "spin");
	l.grid[0] = l.grid[1] = l.grid[2] = 1;
	l.block[0] = l.block[1] = l.block[2] = 1;
	l.cancel = &cancel;
	ck_assert_int_eq(ptx_launch(&l), -ECANCELED);
	ptx_module_free(m);
}
END_TEST

/* ------------------------------------------------------------- suite */

static Suite *ptx_suite(void)
{
	Suite *s = suite_create("ptx");
	TCase *tc;

	tc = tcase_create("kernels");
	tcase_add_test(tc, test_vector_add_1024);
	tcase_add_loop_test(tc, test_saxpy, 0, sizeof(saxpy_rows) /
			    sizeof(saxpy_rows[0]));
	tcase_add_test(tc, test_matmul_64);
	tcase_add_loop_test(tc, test_reduce, 0, sizeof(reduce_rows) /
			    sizeof(reduce_rows[0]));
	tcase_add_test(tc, test_fill_grid_stride);
	tcase_add_test(tc, test_const_and_global_vars);
	tcase_add_test(tc, test_numba_add);
	suite_add_tcase(s, tc);

	tc = tcase_create("barriers");
	tcase_add_loop_test(tc, test_barrier_really_waits, 0,
			    sizeof(rotate_rows) / sizeof(rotate_rows[0]));
	tcase_add_test(tc, test_warp_barrier_really_waits);
	suite_add_tcase(s, tc);

	tc = tcase_create("isa");
	tcase_add_loop_test(tc, test_isa, 0, sizeof(isa_rows) / sizeof(isa_rows[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("load");
	tcase_add_loop_test(tc, test_bad_ptx, 0, sizeof(bad_rows) /
			    sizeof(bad_rows[0]));
	tcase_add_test(tc, test_too_many_registers);
	tcase_add_test(tc, test_accepts_real_ptx_forms);
	suite_add_tcase(s, tc);

	tc = tcase_create("faults");
	tcase_add_loop_test(tc, test_faults, 0, sizeof(fault_rows) /
			    sizeof(fault_rows[0]));
	tcase_add_loop_test(tc, test_launch_refused, 0, sizeof(cfg_rows) /
			    sizeof(cfg_rows[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("watchdog");
	tcase_add_test(tc, test_budget);
	tcase_add_test(tc, test_budget_counts_blocks);
	tcase_add_test(tc, test_cancel);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(ptx_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
