/* SPDX-License-Identifier: MIT */
/*
 * exec-test.c - helpers for executor tests and the executor contract suite:
 * what every executor (cpu, cuda) must do for every op of executor.h, with
 * good input at many sizes, split streams and unaligned offsets, and with a
 * table of bad inputs, each with the status it must get and a check that
 * nothing outside the objects was written.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec-test.h"

/* ------------------------------------------------------------- helpers */

void et_wait_init(struct et_wait *w)
{
	memset(w, 0, sizeof(*w));
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
}

void et_done(struct vgpu_exec_op *op, int status)
{
	struct et_wait *w = op->priv;

	pthread_mutex_lock(&w->lock);
	w->calls++;
	w->status = status;
	w->thread = pthread_self();
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

int et_run(struct vgpu_exec *ex, struct vgpu_exec_op *op)
{
	struct et_wait w;
	int rc;

	et_wait_init(&w);
	op->done = et_done;
	op->priv = &w;
	rc = vgpu_exec_submit(ex, op);
	if (rc) {
		ck_assert_int_eq(w.calls, 0); /* refused: done() must not come */
		return rc;
	}
	pthread_mutex_lock(&w.lock);
	while (!w.calls)
		pthread_cond_wait(&w.cond, &w.lock);
	pthread_mutex_unlock(&w.lock);
	ck_assert_int_eq(w.calls, 1);
	return w.status;
}

unsigned int et_split(void *buf, size_t len, int split,
		      struct vgpu_exec_iov *iov, unsigned int max)
{
	static const size_t pat1[] = { 1, 7, 4096, 13, 4083, 4096, 2, 65536 };
	static const size_t pat2[] = { 4096 };
	const size_t *pat = split == 1 ? pat1 : pat2;
	size_t npat = split == 1 ? 8 : 1;
	unsigned char *p = buf;
	unsigned int n = 0;

	if (!split) {
		iov[0].base = buf;
		iov[0].len = len;
		return len ? 1 : 0;
	}
	while (len && n < max) {
		size_t k = pat[n % npat];

		if (k > len || n == max - 1)
			k = len;
		iov[n].base = p;
		iov[n].len = k;
		p += k;
		len -= k;
		n++;
	}
	return n;
}

void et_fill(void *buf, size_t len, uint32_t seed)
{
	unsigned char *p = buf;
	uint32_t x = seed * 2654435761u + 12345u;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (unsigned char)(x | 1);
	}
}

int et_alloc(struct vgpu_exec *ex, struct vgpu_exec_ctx *ctx, uint64_t size,
	     struct vgpu_exec_mem **mem, uint64_t *addr)
{
	struct vgpu_exec_op op = { .opcode = VGPUIF_OP_MEM_ALLOC, .ctx = ctx };
	int rc;

	op.u.mem_alloc.size = size;
	rc = et_run(ex, &op);
	if (!rc) {
		ck_assert_ptr_nonnull(op.object);
		*mem = op.object;
		if (addr)
			*addr = op.result[1];
	}
	return rc;
}

int et_free(struct vgpu_exec *ex, struct vgpu_exec_ctx *ctx,
	    struct vgpu_exec_mem *mem)
{
	struct vgpu_exec_op op = { .opcode = VGPUIF_OP_MEM_FREE, .ctx = ctx };

	op.u.mem_free.mem = mem;
	return et_run(ex, &op);
}

#define ET_MAX_IOV 4096

static int et_copy(struct vgpu_exec *ex, struct vgpu_exec_ctx *ctx, int opcode,
		   struct vgpu_exec_mem *mem, uint64_t off, void *buf, size_t len,
		   int split)
{
	struct vgpu_exec_iov *iov = calloc(ET_MAX_IOV, sizeof(*iov));
	struct vgpu_exec_op op = { .opcode = (uint8_t)opcode, .ctx = ctx };
	int rc;

	ck_assert_ptr_nonnull(iov);
	op.u.copy.mem = mem;
	op.u.copy.offset = off;
	op.u.copy.length = len;
	op.iov = iov;
	op.niov = et_split(buf, len, split, iov, ET_MAX_IOV);
	rc = et_run(ex, &op);
	free(iov);
	return rc;
}

int et_h2d(struct vgpu_exec *ex, struct vgpu_exec_ctx *ctx,
	   struct vgpu_exec_mem *mem, uint64_t off, void *buf, size_t len,
	   int split)
{
	return et_copy(ex, ctx, VGPUIF_OP_MEMCPY_H2D, mem, off, buf, len, split);
}

int et_d2h(struct vgpu_exec *ex, struct vgpu_exec_ctx *ctx,
	   struct vgpu_exec_mem *mem, uint64_t off, void *buf, size_t len,
	   int split)
{
	return et_copy(ex, ctx, VGPUIF_OP_MEMCPY_D2H, mem, off, buf, len, split);
}

int et_sync(struct vgpu_exec *ex, struct vgpu_exec_ctx *ctx)
{
	struct vgpu_exec_op op = { .opcode = VGPUIF_OP_SYNC, .ctx = ctx };

	return et_run(ex, &op);
}

/* ------------------------------------------------------- the contract */

static const char *et_name;
static bool et_async;
static struct vgpu_exec *ex;
static struct vgpu_exec_ctx *ctx;

static void log_quiet(void *arg, int level, const char *msg)
{
	(void)arg;
	if (level <= 1)
		fprintf(stderr, "%s\n", msg);
}

static void setup(void)
{
	struct vgpu_exec_config cfg = {
		.name = et_name, .domid = 7, .log = log_quiet,
		.cpu_async = et_async,
	};
	const char *why = NULL;
	int rc;

	rc = vgpu_exec_open(&ex, &cfg, &why);
	ck_assert_msg(rc == 0, "open %s: %d (%s)", et_name, rc, why ? why : "?");
	ck_assert_str_eq(vgpu_exec_name(ex), et_name);
	ck_assert_int_eq(vgpu_exec_ctx_create(ex, &ctx), 0);
	ck_assert_ptr_nonnull(ctx);
}

static void teardown(void)
{
	vgpu_exec_ctx_destroy(ex, ctx);
	vgpu_exec_close(ex);
	ex = NULL;
	ctx = NULL;
}

/* Memory leak tolerance: the cpu executor is exact; a GPU driver may keep
 * a little bookkeeping, never a whole test allocation. */
static uint64_t slack(void)
{
	return strcmp(et_name, "cpu") ? (2u << 20) : 0;
}

START_TEST(test_info)
{
	struct vgpu_exec_info info;
	struct vgpuif_info wi;
	struct vgpu_exec_iov iov[64];
	struct vgpu_exec_op op = { .opcode = VGPUIF_OP_GET_INFO };
	uint64_t f, t;

	ck_assert_int_eq(vgpu_exec_get_info(ex, &info), 0);
	ck_assert_int_eq(info.kind, strcmp(et_name, "cpu") ?
			 VGPUIF_EXECUTOR_CUDA : VGPUIF_EXECUTOR_CPU);
	ck_assert_uint_gt(strlen(info.name), 0);
	ck_assert_uint_lt(strlen(info.name), sizeof(info.name));
	ck_assert_uint_gt(info.total_mem, 0);
	ck_assert_uint_le(info.free_mem, info.total_mem);
	ck_assert(info.copy_mode >= VGPUIF_COPY_STAGED &&
		  info.copy_mode <= VGPUIF_COPY_HOST);
	/* the context's own memory: none on the cpu, some for a CUDA context */
	if (strcmp(et_name, "cpu"))
		ck_assert_uint_gt(info.ctx_overhead, 0);
	else
		ck_assert_uint_eq(info.ctx_overhead, 0);
	ck_assert_int_eq(vgpu_exec_mem_info(ex, &f, &t), 0);
	ck_assert_uint_eq(t, info.total_mem);
	ck_assert_uint_le(f, t);

	/* GET_INFO op writing the wire struct across split iovs */
	memset(&wi, 0xa5, sizeof(wi));
	op.iov = iov;
	op.niov = et_split(&wi, sizeof(wi), 1, iov, 64);
	ck_assert_int_eq(et_run(ex, &op), 0);
	ck_assert_uint_eq(op.result[0], info.total_mem);
	ck_assert_uint_eq(wi.protocol_version, VGPUIF_PROTOCOL_VERSION);
	ck_assert_uint_eq(wi.executor, info.kind);
	ck_assert_str_eq(wi.gpu_name, info.name);
	ck_assert_uint_eq(wi.total_mem, info.total_mem);
	ck_assert_uint_eq(wi.cc_major, info.cc_major);
	ck_assert_uint_eq(wi.sm_count, info.sm_count);
	ck_assert_uint_eq(wi.copy_mode, info.copy_mode);
	ck_assert_uint_eq(wi.ctx_overhead, info.ctx_overhead);
	ck_assert_uint_eq(wi.max_param_bytes, VGPUIF_MAX_PARAM_BYTES);
	ck_assert_uint_eq(wi.mem_quota, 0);
	for (size_t i = 0; i < sizeof(wi.reserved); i++)
		ck_assert_uint_eq(wi.reserved[i], 0);

	/* no stream: only the results */
	memset(&op, 0, sizeof(op));
	op.opcode = VGPUIF_OP_GET_INFO;
	ck_assert_int_eq(et_run(ex, &op), 0);
	ck_assert_uint_eq(op.result[0], info.total_mem);
}
END_TEST

START_TEST(test_nop_sync)
{
	struct vgpu_exec_op op = { .opcode = VGPUIF_OP_NOP };

	ck_assert_int_eq(et_run(ex, &op), 0);
	ck_assert_int_eq(et_sync(ex, ctx), 0);
	ck_assert_int_eq(et_sync(ex, NULL), 0);
}
END_TEST

START_TEST(test_alloc_free)
{
	static const uint64_t sizes[] = { 1, 3, 4096, 4097, 1 << 20, 64 << 20 };
	enum { N = sizeof(sizes) / sizeof(sizes[0]) };
	struct vgpu_exec_mem *m[N];
	uint64_t a[N], f0, f1, f2, t;

	ck_assert_int_eq(vgpu_exec_mem_info(ex, &f0, &t), 0);
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(et_alloc(ex, ctx, sizes[i], &m[i], &a[i]), 0);
		ck_assert_uint_ne(a[i], 0);
		for (int j = 0; j < i; j++) /* no two ranges overlap */
			ck_assert(a[i] + sizes[i] <= a[j] || a[j] + sizes[j] <= a[i]);
	}
	ck_assert_int_eq(vgpu_exec_mem_info(ex, &f1, &t), 0);
	ck_assert_uint_le(f1 + (64u << 20), f0); /* the 64 MiB is counted */
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(et_free(ex, ctx, m[i]), 0);
	ck_assert_int_eq(vgpu_exec_mem_info(ex, &f2, &t), 0);
	ck_assert_uint_ge(f2 + slack(), f0);
}
END_TEST

START_TEST(test_copy_roundtrip)
{
	static const size_t sizes[] = { 1, 2, 3, 7, 64, 4095, 4096, 4097, 65539,
					(1 << 20) + 5 };
	static const uint64_t offs[] = { 0, 1, 3, 4095, 4096 };
	const uint64_t msize = (2u << 20) + 8192;
	size_t maxlen = (1 << 20) + 5;
	unsigned char *in = malloc(maxlen), *out = malloc(maxlen + 16);
	struct vgpu_exec_mem *m;
	uint32_t seed = 1;

	ck_assert_ptr_nonnull(in);
	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(et_alloc(ex, ctx, msize, &m, NULL), 0);
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
		for (size_t o = 0; o < sizeof(offs) / sizeof(offs[0]); o++)
			for (int split = 0; split < 3; split++) {
				size_t len = sizes[s];

				et_fill(in, len, seed++);
				memset(out, 0, len + 16);
				ck_assert_int_eq(et_h2d(ex, ctx, m, offs[o], in, len, split), 0);
				ck_assert_int_eq(et_d2h(ex, ctx, m, offs[o], out, len,
							(split + 1) % 3), 0);
				ck_assert_msg(!memcmp(in, out, len),
					      "len %zu off %llu split %d", len,
					      (unsigned long long)offs[o], split);
				for (int k = 0; k < 16; k++) /* not past the stream */
					ck_assert_uint_eq(out[len + k], 0);
			}
	/* the very end of the allocation */
	et_fill(in, 4096, seed);
	ck_assert_int_eq(et_h2d(ex, ctx, m, msize - 4096, in, 4096, 1), 0);
	ck_assert_int_eq(et_d2h(ex, ctx, m, msize - 4096, out, 4096, 0), 0);
	ck_assert(!memcmp(in, out, 4096));
	ck_assert_int_eq(et_free(ex, ctx, m), 0);
	free(in);
	free(out);
}
END_TEST

START_TEST(test_d2d)
{
	enum { SZ = 3 * 4096 + 17 };
	unsigned char in[SZ], out[SZ], ref[SZ];
	struct vgpu_exec_mem *a, *b;
	struct vgpu_exec_op op = { .opcode = VGPUIF_OP_MEMCPY_D2D, .ctx = ctx };

	et_fill(in, SZ, 42);
	ck_assert_int_eq(et_alloc(ex, ctx, SZ, &a, NULL), 0);
	ck_assert_int_eq(et_alloc(ex, ctx, SZ, &b, NULL), 0);
	ck_assert_int_eq(et_h2d(ex, ctx, a, 0, in, SZ, 0), 0);
	memset(out, 0x3c, SZ);
	ck_assert_int_eq(et_h2d(ex, ctx, b, 0, out, SZ, 0), 0);

	op.u.d2d.dst = b;
	op.u.d2d.dst_offset = 5;
	op.u.d2d.src = a;
	op.u.d2d.src_offset = 1;
	op.u.d2d.length = SZ - 9;
	ck_assert_int_eq(et_run(ex, &op), 0);
	memset(ref, 0x3c, SZ);
	memcpy(ref + 5, in + 1, SZ - 9);
	ck_assert_int_eq(et_d2h(ex, ctx, b, 0, out, SZ, 1), 0);
	ck_assert(!memcmp(out, ref, SZ));

	/* a copy within one allocation, not overlapping */
	memset(&op, 0, sizeof(op));
	op.opcode = VGPUIF_OP_MEMCPY_D2D;
	op.ctx = ctx;
	op.u.d2d.dst = a;
	op.u.d2d.dst_offset = 8192;
	op.u.d2d.src = a;
	op.u.d2d.src_offset = 0;
	op.u.d2d.length = 4096;
	ck_assert_int_eq(et_run(ex, &op), 0);
	memcpy(ref, in, SZ);
	memcpy(ref + 8192, in, 4096);
	ck_assert_int_eq(et_d2h(ex, ctx, a, 0, out, SZ, 0), 0);
	ck_assert(!memcmp(out, ref, SZ));
	ck_assert_int_eq(et_free(ex, ctx, a), 0);
	ck_assert_int_eq(et_free(ex, ctx, b), 0);
}
END_TEST

START_TEST(test_memset)
{
	static const struct { uint32_t es, value; uint64_t off, len; } rows[] = {
		{ 1, 0x1ab, 3, 1 },   { 1, 0x7f, 1, 4099 }, { 2, 0xbeef, 2, 2 },
		{ 2, 0x12345, 4094, 8 }, { 4, 0xdeadbeef, 4, 4 },
		{ 4, 0x01020304, 4092, 8200 },
	};
	enum { SZ = 16384 };
	static unsigned char ref[SZ], out[SZ];
	struct vgpu_exec_mem *m;

	ck_assert_int_eq(et_alloc(ex, ctx, SZ, &m, NULL), 0);
	for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		struct vgpu_exec_op op = { .opcode = VGPUIF_OP_MEMSET, .ctx = ctx };

		et_fill(ref, SZ, (uint32_t)r + 100);
		ck_assert_int_eq(et_h2d(ex, ctx, m, 0, ref, SZ, 0), 0);
		op.u.memset.mem = m;
		op.u.memset.offset = rows[r].off;
		op.u.memset.length = rows[r].len;
		op.u.memset.value = rows[r].value;
		op.u.memset.elem_size = rows[r].es;
		ck_assert_int_eq(et_run(ex, &op), 0);
		for (uint64_t i = 0; i < rows[r].len; i += rows[r].es)
			memcpy(ref + rows[r].off + i, &rows[r].value, rows[r].es);
		ck_assert_int_eq(et_d2h(ex, ctx, m, 0, out, SZ, 0), 0);
		ck_assert_msg(!memcmp(out, ref, SZ), "row %zu", r);
	}
	ck_assert_int_eq(et_free(ex, ctx, m), 0);
}
END_TEST

static void vector_add_check(struct vgpu_exec_ctx *c, uint32_t n, int split)
{
	size_t bytes = 12u * n;
	float *s = malloc(bytes + 64);
	struct vgpu_exec_iov *iov = calloc(ET_MAX_IOV, sizeof(*iov));
	struct vgpu_exec_op op = { .opcode = VGPUIF_OP_VECTOR_ADD, .ctx = c };

	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_nonnull(iov);
	for (uint32_t i = 0; i < n; i++) {
		s[i] = (float)i * 0.5f + 1.25f;
		s[n + i] = (float)(n - i) * 0.25f - 3.0f;
		s[2 * n + i] = -12345.0f; /* poison */
	}
	memset((unsigned char *)s + bytes, 0x77, 64);
	op.u.vector_add.n = n;
	op.iov = iov;
	op.niov = et_split(s, bytes, split, iov, ET_MAX_IOV);
	ck_assert_int_eq(et_run(ex, &op), 0);
	for (uint32_t i = 0; i < n; i++)
		ck_assert_msg(s[2 * n + i] == s[i] + s[n + i], "n %u i %u: %f",
			      n, i, (double)s[2 * n + i]);
	for (int k = 0; k < 64; k++)
		ck_assert_uint_eq(((unsigned char *)s)[bytes + k], 0x77);
	free(iov);
	free(s);
}

START_TEST(test_vector_add)
{
	static const uint32_t ns[] = { 1, 3, 1024, 1025, 65537,
				       VGPUIF_MAX_VECTOR_ADD_ELEMS };

	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++)
		for (int split = 0; split < 3; split++) {
			vector_add_check(ctx, ns[i], split);
			vector_add_check(NULL, ns[i] / 2 + 1, split);
		}
}
END_TEST

START_TEST(test_ctx_ops)
{
	struct vgpu_exec_op op = { .opcode = VGPUIF_OP_CTX_CREATE };
	struct vgpu_exec_ctx *c2;
	struct vgpu_exec_mem *m;
	uint64_t f0, f1, t;
	unsigned char buf[100], out[100];

	ck_assert_int_eq(vgpu_exec_mem_info(ex, &f0, &t), 0);
	ck_assert_int_eq(et_run(ex, &op), 0);
	c2 = op.object;
	ck_assert_ptr_nonnull(c2);
	ck_assert_ptr_ne(c2, ctx);
	ck_assert_int_eq(et_alloc(ex, c2, 32u << 20, &m, NULL), 0);
	et_fill(buf, sizeof(buf), 9);
	ck_assert_int_eq(et_h2d(ex, c2, m, 77, buf, sizeof(buf), 0), 0);
	ck_assert_int_eq(et_d2h(ex, c2, m, 77, out, sizeof(out), 0), 0);
	ck_assert(!memcmp(buf, out, sizeof(buf)));
	/* the memory of c2 is not c2's neighbour's: EBADF from ctx */
	ck_assert_int_eq(et_d2h(ex, ctx, m, 0, out, 1, 0), VGPUIF_RSP_EBADF);

	memset(&op, 0, sizeof(op));
	op.opcode = VGPUIF_OP_CTX_DESTROY;
	op.ctx = c2;
	ck_assert_int_eq(et_run(ex, &op), 0);   /* frees m with c2 */
	ck_assert_int_eq(vgpu_exec_mem_info(ex, &f1, &t), 0);
	ck_assert_uint_ge(f1 + slack(), f0);
}
END_TEST

START_TEST(test_ctx_destroy_releases)
{
	struct vgpu_exec_ctx *c2;
	struct vgpu_exec_mem *m;
	uint64_t f0, f1, f2, t;

	ck_assert_int_eq(vgpu_exec_mem_info(ex, &f0, &t), 0);
	for (int round = 0; round < 3; round++) {
		ck_assert_int_eq(vgpu_exec_ctx_create(ex, &c2), 0);
		for (int i = 0; i < 8; i++)
			ck_assert_int_eq(et_alloc(ex, c2, 16u << 20, &m, NULL), 0);
		ck_assert_int_eq(vgpu_exec_mem_info(ex, &f1, &t), 0);
		ck_assert_uint_le(f1 + (128u << 20), f0);
		vgpu_exec_ctx_destroy(ex, c2);
		ck_assert_int_eq(vgpu_exec_mem_info(ex, &f2, &t), 0);
		ck_assert_uint_ge(f2 + slack(), f0);
	}
}
END_TEST

/* ---------------------------------------------------- bad input table */

enum bad_target { T_MEM, T_OTHER_CTX_MEM, T_NO_CTX };

struct bad_row {
	const char *what;
	uint8_t opcode;
	enum bad_target target;
	uint64_t off, len;              /* copy/memset/d2d dst             */
	uint64_t src_off;               /* d2d                              */
	uint32_t es;                    /* memset elem size                */
	uint64_t stream;                /* bytes of stream given            */
	uint64_t size;                  /* MEM_ALLOC size, VECTOR_ADD n     */
	int status;
};

#define BAD_MSZ 8192u

static const struct bad_row bad_rows[] = {
	{ "h2d offset at end",       VGPUIF_OP_MEMCPY_H2D, T_MEM, BAD_MSZ, 1, 0, 0, 1, 0, VGPUIF_RSP_ERANGE },
	{ "h2d length past end",     VGPUIF_OP_MEMCPY_H2D, T_MEM, 1, BAD_MSZ, 0, 0, BAD_MSZ, 0, VGPUIF_RSP_ERANGE },
	{ "h2d offset+len wraps",    VGPUIF_OP_MEMCPY_H2D, T_MEM, UINT64_MAX - 1, 4, 0, 0, 4, 0, VGPUIF_RSP_ERANGE },
	{ "h2d stream short",        VGPUIF_OP_MEMCPY_H2D, T_MEM, 0, 100, 0, 0, 99, 0, VGPUIF_RSP_ERANGE },
	{ "h2d no stream",           VGPUIF_OP_MEMCPY_H2D, T_MEM, 0, 100, 0, 0, 0, 0, VGPUIF_RSP_ERANGE },
	{ "h2d length 0",            VGPUIF_OP_MEMCPY_H2D, T_MEM, 0, 0, 0, 0, 0, 0, VGPUIF_RSP_EINVAL },
	{ "h2d other ctx's mem",     VGPUIF_OP_MEMCPY_H2D, T_OTHER_CTX_MEM, 0, 10, 0, 0, 10, 0, VGPUIF_RSP_EBADF },
	{ "h2d no ctx",              VGPUIF_OP_MEMCPY_H2D, T_NO_CTX, 0, 10, 0, 0, 10, 0, VGPUIF_RSP_EBADF },
	{ "d2h offset past end",     VGPUIF_OP_MEMCPY_D2H, T_MEM, BAD_MSZ + 1, 1, 0, 0, 1, 0, VGPUIF_RSP_ERANGE },
	{ "d2h length past end",     VGPUIF_OP_MEMCPY_D2H, T_MEM, 4096, 4097, 0, 0, 4097, 0, VGPUIF_RSP_ERANGE },
	{ "d2h stream short",        VGPUIF_OP_MEMCPY_D2H, T_MEM, 0, 4096, 0, 0, 4095, 0, VGPUIF_RSP_ERANGE },
	{ "d2h other ctx's mem",     VGPUIF_OP_MEMCPY_D2H, T_OTHER_CTX_MEM, 0, 10, 0, 0, 10, 0, VGPUIF_RSP_EBADF },
	{ "d2d dst past end",        VGPUIF_OP_MEMCPY_D2D, T_MEM, BAD_MSZ - 1, 2, 0, 0, 0, 0, VGPUIF_RSP_ERANGE },
	{ "d2d src past end",        VGPUIF_OP_MEMCPY_D2D, T_MEM, 0, 2, BAD_MSZ - 1, 0, 0, 0, VGPUIF_RSP_ERANGE },
	{ "d2d src wraps",           VGPUIF_OP_MEMCPY_D2D, T_MEM, 0, 2, UINT64_MAX, 0, 0, 0, VGPUIF_RSP_ERANGE },
	{ "d2d length 0",            VGPUIF_OP_MEMCPY_D2D, T_MEM, 0, 0, 0, 0, 0, 0, VGPUIF_RSP_EINVAL },
	{ "d2d other ctx's mem",     VGPUIF_OP_MEMCPY_D2D, T_OTHER_CTX_MEM, 0, 1, 0, 0, 0, 0, VGPUIF_RSP_EBADF },
	{ "memset elem 3",           VGPUIF_OP_MEMSET, T_MEM, 0, 3, 0, 3, 0, 0, VGPUIF_RSP_EINVAL },
	{ "memset elem 0",           VGPUIF_OP_MEMSET, T_MEM, 0, 4, 0, 0, 0, 0, VGPUIF_RSP_EINVAL },
	{ "memset elem 8",           VGPUIF_OP_MEMSET, T_MEM, 0, 8, 0, 8, 0, 0, VGPUIF_RSP_EINVAL },
	{ "memset offset unaligned", VGPUIF_OP_MEMSET, T_MEM, 2, 4, 0, 4, 0, 0, VGPUIF_RSP_EINVAL },
	{ "memset length unaligned", VGPUIF_OP_MEMSET, T_MEM, 0, 6, 0, 4, 0, 0, VGPUIF_RSP_EINVAL },
	{ "memset length 0",         VGPUIF_OP_MEMSET, T_MEM, 0, 0, 0, 1, 0, 0, VGPUIF_RSP_EINVAL },
	{ "memset past end",         VGPUIF_OP_MEMSET, T_MEM, BAD_MSZ - 4, 8, 0, 4, 0, 0, VGPUIF_RSP_ERANGE },
	{ "memset wraps",            VGPUIF_OP_MEMSET, T_MEM, UINT64_MAX - 3, 8, 0, 4, 0, 0, VGPUIF_RSP_ERANGE },
	{ "memset other ctx's mem",  VGPUIF_OP_MEMSET, T_OTHER_CTX_MEM, 0, 4, 0, 4, 0, 0, VGPUIF_RSP_EBADF },
	{ "alloc 0 bytes",           VGPUIF_OP_MEM_ALLOC, T_MEM, 0, 0, 0, 0, 0, 0, VGPUIF_RSP_EINVAL },
	{ "alloc 2^62 bytes",        VGPUIF_OP_MEM_ALLOC, T_MEM, 0, 0, 0, 0, 0, 1ull << 62, VGPUIF_RSP_ENOMEM },
	{ "alloc no ctx",            VGPUIF_OP_MEM_ALLOC, T_NO_CTX, 0, 0, 0, 0, 0, 4096, VGPUIF_RSP_EBADF },
	{ "free other ctx's mem",    VGPUIF_OP_MEM_FREE, T_OTHER_CTX_MEM, 0, 0, 0, 0, 0, 0, VGPUIF_RSP_EBADF },
	{ "vector_add n 0",          VGPUIF_OP_VECTOR_ADD, T_MEM, 0, 0, 0, 0, 0, 0, VGPUIF_RSP_EINVAL },
	{ "vector_add n too big",    VGPUIF_OP_VECTOR_ADD, T_MEM, 0, 0, 0, 0, 64, VGPUIF_MAX_VECTOR_ADD_ELEMS + 1, VGPUIF_RSP_EINVAL },
	{ "vector_add stream short", VGPUIF_OP_VECTOR_ADD, T_MEM, 0, 0, 0, 0, 12 * 16 - 1, 16, VGPUIF_RSP_ERANGE },
	{ "DEVICE_INFO is no executor op", VGPUIF_OP_DEVICE_INFO, T_MEM, 0, 0, 0, 0, 0, 0, VGPUIF_RSP_ENOSYS },
	{ "unknown opcode 31",       VGPUIF_OP_COUNT, T_MEM, 0, 0, 0, 0, 0, 0, VGPUIF_RSP_ENOSYS },
	{ "unknown opcode 255",      255, T_MEM, 0, 0, 0, 0, 0, 0, VGPUIF_RSP_ENOSYS },
};

START_TEST(test_bad_input)
{
	const struct bad_row *r = &bad_rows[_i];
	static unsigned char pattern[BAD_MSZ], check[BAD_MSZ];
	unsigned char *stream = calloc(1, 16384 + 64);
	struct vgpu_exec_iov iov[64];
	struct vgpu_exec_ctx *other;
	struct vgpu_exec_mem *m, *om, *target;
	struct vgpu_exec_op op;
	uint64_t f0, f1, t;
	int rc;

	ck_assert_ptr_nonnull(stream);
	ck_assert_int_eq(vgpu_exec_ctx_create(ex, &other), 0);
	ck_assert_int_eq(et_alloc(ex, ctx, BAD_MSZ, &m, NULL), 0);
	ck_assert_int_eq(et_alloc(ex, other, BAD_MSZ, &om, NULL), 0);
	et_fill(pattern, BAD_MSZ, 77);
	ck_assert_int_eq(et_h2d(ex, ctx, m, 0, pattern, BAD_MSZ, 0), 0);
	ck_assert_int_eq(et_h2d(ex, other, om, 0, pattern, BAD_MSZ, 0), 0);
	ck_assert_int_eq(vgpu_exec_mem_info(ex, &f0, &t), 0);
	memset(stream, 0x5a, 16384 + 64);

	target = r->target == T_OTHER_CTX_MEM ? om : m;
	memset(&op, 0, sizeof(op));
	op.opcode = r->opcode;
	op.ctx = r->target == T_NO_CTX ? NULL : ctx;
	op.iov = iov;
	op.niov = et_split(stream, r->stream, 1, iov, 64);
	switch (r->opcode) {
	case VGPUIF_OP_MEMCPY_H2D:
	case VGPUIF_OP_MEMCPY_D2H:
		op.u.copy.mem = target;
		op.u.copy.offset = r->off;
		op.u.copy.length = r->len;
		break;
	case VGPUIF_OP_MEMCPY_D2D:
		op.u.d2d.dst = target;
		op.u.d2d.dst_offset = r->off;
		op.u.d2d.src = m;
		op.u.d2d.src_offset = r->src_off;
		op.u.d2d.length = r->len;
		break;
	case VGPUIF_OP_MEMSET:
		op.u.memset.mem = target;
		op.u.memset.offset = r->off;
		op.u.memset.length = r->len;
		op.u.memset.value = 0xffffffffu;
		op.u.memset.elem_size = r->es;
		break;
	case VGPUIF_OP_MEM_ALLOC:
		op.u.mem_alloc.size = r->size;
		break;
	case VGPUIF_OP_MEM_FREE:
		op.u.mem_free.mem = target;
		break;
	case VGPUIF_OP_VECTOR_ADD:
		op.u.vector_add.n = (uint32_t)r->size;
		break;
	}
	rc = et_run(ex, &op);
	ck_assert_msg(rc == r->status, "%s: got %d (%s), want %d", r->what, rc,
		      vgpuif_status_str(rc), r->status);

	/* nothing outside was written: both allocations and the stream */
	for (int i = 0; i < 16384 + 64; i++)
		ck_assert_msg(stream[i] == 0x5a, "%s: stream byte %d written",
			      r->what, i);
	ck_assert_int_eq(et_d2h(ex, ctx, m, 0, check, BAD_MSZ, 0), 0);
	ck_assert_msg(!memcmp(check, pattern, BAD_MSZ), "%s: mem changed", r->what);
	ck_assert_int_eq(et_d2h(ex, other, om, 0, check, BAD_MSZ, 0), 0);
	ck_assert_msg(!memcmp(check, pattern, BAD_MSZ), "%s: other mem changed",
		      r->what);
	ck_assert_int_eq(vgpu_exec_mem_info(ex, &f1, &t), 0);
	ck_assert_uint_ge(f1 + slack(), f0);    /* nothing allocated */
	vgpu_exec_ctx_destroy(ex, other);
	ck_assert_int_eq(et_free(ex, ctx, m), 0);
	free(stream);
}
END_TEST

/* Every op submitted before close gets exactly one done(). */
START_TEST(test_close_completes_all)
{
	enum { N = 64 };
	struct vgpu_exec_op ops[N];
	struct et_wait w[N];
	struct vgpu_exec_mem *m;
	static unsigned char buf[N][256];

	ck_assert_int_eq(et_alloc(ex, ctx, N * 256, &m, NULL), 0);
	for (int i = 0; i < N; i++) {
		static struct vgpu_exec_iov iov[N];

		et_wait_init(&w[i]);
		memset(&ops[i], 0, sizeof(ops[i]));
		iov[i].base = buf[i];
		iov[i].len = 256;
		ops[i].opcode = (i % 2) ? VGPUIF_OP_MEMCPY_H2D : VGPUIF_OP_NOP;
		ops[i].ctx = ctx;
		ops[i].u.copy.mem = m;
		ops[i].u.copy.offset = (uint64_t)i * 256;
		ops[i].u.copy.length = 256;
		ops[i].iov = &iov[i];
		ops[i].niov = 1;
		ops[i].done = et_done;
		ops[i].priv = &w[i];
		ck_assert_int_eq(vgpu_exec_submit(ex, &ops[i]), 0);
	}
	vgpu_exec_ctx_destroy(ex, ctx);
	ctx = NULL;
	vgpu_exec_close(ex);
	ex = NULL;
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(w[i].calls, 1);
		ck_assert_int_eq(w[i].status, 0);
	}
}
END_TEST

static void teardown_maybe_closed(void)
{
	if (ex)
		teardown();
}

Suite *et_contract_suite(const char *exec_name)
{
	return et_contract_suite_async(exec_name, false);
}

Suite *et_contract_suite_async(const char *exec_name, bool cpu_async)
{
	Suite *s = suite_create(cpu_async ? "executor contract (worker thread)"
					  : "executor contract");
	TCase *tc;

	et_name = exec_name;
	et_async = cpu_async;
	tc = tcase_create("ops");
	tcase_add_checked_fixture(tc, setup, teardown_maybe_closed);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_info);
	tcase_add_test(tc, test_nop_sync);
	tcase_add_test(tc, test_alloc_free);
	tcase_add_test(tc, test_copy_roundtrip);
	tcase_add_test(tc, test_d2d);
	tcase_add_test(tc, test_memset);
	tcase_add_test(tc, test_vector_add);
	suite_add_tcase(s, tc);

	tc = tcase_create("contexts");
	tcase_add_checked_fixture(tc, setup, teardown_maybe_closed);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_ctx_ops);
	tcase_add_test(tc, test_ctx_destroy_releases);
	tcase_add_test(tc, test_close_completes_all);
	suite_add_tcase(s, tc);

	tc = tcase_create("bad input");
	tcase_add_checked_fixture(tc, setup, teardown_maybe_closed);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_bad_input, 0,
			    (int)(sizeof(bad_rows) / sizeof(bad_rows[0])));
	suite_add_tcase(s, tc);
	return s;
}
