/* SPDX-License-Identifier: MIT */
/*
 * gpu-quota.c - the GPU memory a domain causes besides MEM_ALLOC (#15 item
 * 1), on the cuda executor: a module's code, __device__ variables and
 * __constant__ banks, known before it is loaded and refused past the quota
 * (EDQUOT, with a log line that says what and how much); the local memory
 * a launch makes the driver reserve, charged or refused before the launch;
 * the context limits dom0 fixes and the context's own memory. Also the
 * slicing of copies and memsets while a higher-priority domain uses the
 * GPU (op->yield, #15 item 4): the same bytes, in pieces.
 *
 * The executor does not keep the quota: the backend passes what is left
 * (op->mem_limited, op->mem_limit) and charges what the op reports
 * (op->mem_charged), as these tests do with a ledger of their own.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda.h>

#include "gpu-test.h"
#include "gpu-kernels.h"

#define KIB (1ull << 10)
#define MIB (1ull << 20)
#define GIB (1ull << 30)
#define Q_SLACK (4 * MIB)      /* device-wide figures move by pages */
#define Q_LOCAL 16384u         /* q_local's local bytes per thread */

/*
 * A module of hand-written PTX (as nvcc --ptx -arch=compute_75 writes it)
 * with a __device__ array of gbytes (kernel q_touch(out, i): out[0] =
 * q_var[i..i+3]) and a __constant__ table of cbytes (q_ctab(out, i)).
 */
static char *quota_ptx(uint64_t gbytes, uint32_t cbytes)
{
	char *p = malloc(4096);
	size_t n;

	ck_assert_ptr_nonnull(p);
	n = (size_t)snprintf(p, 4096, ".version 7.0\n.target sm_75\n"
			     ".address_size 64\n\n");
	if (gbytes)
		n += (size_t)snprintf(p + n, 4096 - n,
			".global .align 4 .b8 q_var[%" PRIu64 "];\n\n"
			".visible .entry q_touch(\n"
			"\t.param .u64 q_touch_param_0,\n"
			"\t.param .u32 q_touch_param_1\n"
			")\n{\n"
			"\t.reg .b32 \t%%r<3>;\n"
			"\t.reg .b64 \t%%rd<6>;\n\n"
			"\tld.param.u64 \t%%rd1, [q_touch_param_0];\n"
			"\tld.param.u32 \t%%r1, [q_touch_param_1];\n"
			"\tcvta.to.global.u64 \t%%rd2, %%rd1;\n"
			"\tmov.u64 \t%%rd3, q_var;\n"
			"\tcvt.u64.u32 \t%%rd4, %%r1;\n"
			"\tadd.s64 \t%%rd5, %%rd3, %%rd4;\n"
			"\tld.global.u32 \t%%r2, [%%rd5];\n"
			"\tst.global.u32 \t[%%rd2], %%r2;\n"
			"\tret;\n\n}\n", gbytes);
	if (cbytes)
		n += (size_t)snprintf(p + n, 4096 - n,
			".const .align 4 .b8 q_tab[%u];\n\n"
			".visible .entry q_ctab(\n"
			"\t.param .u64 q_ctab_param_0,\n"
			"\t.param .u32 q_ctab_param_1\n"
			")\n{\n"
			"\t.reg .b32 \t%%r<3>;\n"
			"\t.reg .b64 \t%%rd<6>;\n\n"
			"\tld.param.u64 \t%%rd1, [q_ctab_param_0];\n"
			"\tld.param.u32 \t%%r1, [q_ctab_param_1];\n"
			"\tcvta.to.global.u64 \t%%rd2, %%rd1;\n"
			"\tmov.u64 \t%%rd3, q_tab;\n"
			"\tcvt.u64.u32 \t%%rd4, %%r1;\n"
			"\tadd.s64 \t%%rd5, %%rd3, %%rd4;\n"
			"\tld.const.u32 \t%%r2, [%%rd5];\n"
			"\tst.global.u32 \t[%%rd2], %%r2;\n"
			"\tret;\n\n}\n", cbytes);
	ck_assert_uint_lt(n, 4096);
	return p;
}

/*
 * q_local(out, i): a 16 KiB local array indexed by i (so ptxas keeps all
 * of it), one element read back into out[0].
 */
static const char q_local_ptx[] =
	".version 7.0\n"
	".target sm_75\n"
	".address_size 64\n"
	"\n"
	".visible .entry q_local(\n"
	"\t.param .u64 q_local_param_0,\n"
	"\t.param .u32 q_local_param_1\n"
	")\n"
	"{\n"
	"\t.local .align 4 .b8 \t__local_depot0[16384];\n"
	"\t.reg .b64 \t%SPL;\n"
	"\t.reg .b32 \t%r<4>;\n"
	"\t.reg .b64 \t%rd<6>;\n"
	"\n"
	"\tmov.u64 \t%SPL, __local_depot0;\n"
	"\tld.param.u64 \t%rd1, [q_local_param_0];\n"
	"\tld.param.u32 \t%r1, [q_local_param_1];\n"
	"\tand.b32 \t%r2, %r1, 4095;\n"
	"\tmul.wide.u32 \t%rd2, %r2, 4;\n"
	"\tadd.s64 \t%rd3, %SPL, %rd2;\n"
	"\tst.local.u32 \t[%rd3], %r1;\n"
	"\tld.local.u32 \t%r3, [%SPL+4];\n"
	"\tcvta.to.global.u64 \t%rd4, %rd1;\n"
	"\tst.global.u32 \t[%rd4], %r3;\n"
	"\tret;\n"
	"\n"
	"}\n";

static uint64_t free_now(void)
{
	uint64_t f, t;

	ck_assert_int_eq(vgpu_exec_mem_info(ex, &f, &t), 0);
	return f;
}

/* ----------------------------------------------------- module memory */

struct qrow {
	const char *what;
	uint64_t gbytes;        /* __device__ array                       */
	uint32_t cbytes;        /* __constant__ table                     */
	bool vt;                /* gpu-kernels.h's module instead          */
	bool limited;
	uint64_t limit;
	int status;
};

static const struct qrow qrows[] = {
	{ "a 2 GiB __device__ array, 1 GiB left (#15's hostile guest)",
	  2 * GIB, 0, false, true, GIB, VGPUIF_RSP_EDQUOT },
	{ "a 256 MiB array, 1 GiB left", 256 * MIB, 0, false, true, GIB, 0 },
	{ "a 256 MiB array, one byte less than the array left",
	  256 * MIB, 0, false, true, 256 * MIB - 1, VGPUIF_RSP_EDQUOT },
	{ "a 256 MiB array, no quota", 256 * MIB, 0, false, false, 0, 0 },
	{ "a 32 KiB __constant__ table, 16 KiB left",
	  0, 32 * KIB, false, true, 16 * KIB, VGPUIF_RSP_EDQUOT },
	{ "a 32 KiB __constant__ table, 1 MiB left",
	  0, 32 * KIB, false, true, MIB, 0 },
	{ "both, 300 MiB left", 256 * MIB, 32 * KIB, false, true, 300 * MIB, 0 },
	{ "kernels only (code), nothing left", 0, 0, true, true, 0,
	  VGPUIF_RSP_EDQUOT },
	{ "kernels only (code), 1 MiB left", 0, 0, true, true, MIB, 0 },
};

START_TEST(test_module_quota)
{
	const struct qrow *r = &qrows[_i];
	uint64_t vars = r->gbytes + r->cbytes, f0, f1, out_addr = 0;
	struct et_quota q = { .limited = r->limited, .limit = r->limit };
	char *ptx = r->vt ? NULL : quota_ptx(r->gbytes, r->cbytes);
	const void *img = r->vt ? (const void *)vt_kernels_ptx : ptx;
	size_t len = r->vt ? sizeof(vt_kernels_ptx) : strlen(ptx) + 1;
	char mlog[1025];
	struct vgpu_exec_mod *mod = NULL;
	struct vgpu_exec_func *f;
	struct vgpu_exec_mem *out;
	int rc;

	log_clear();
	f0 = free_now();
	rc = load_module_q(ctx, img, len, VGPUIF_MODULE_PTX, mlog, 1024, &mod,
			   NULL, &q);
	f1 = free_now();
	printf("  quota: %s: status %d, the module holds %" PRIu64 " bytes "
	       "(variables %" PRIu64 "), charged %" PRIu64 "\n", r->what, rc,
	       q.result0, vars, q.charged);
	ck_assert_msg(rc == r->status, "%s: status %d, expected %d (log: %s)",
		      r->what, rc, r->status, mlog);
	/* what it holds: its variables, and some code */
	ck_assert_uint_ge(q.result0, vars);
	ck_assert_uint_gt(q.result0, vars);
	ck_assert_uint_le(q.result0, vars + MIB);
	if (rc) {
		ck_assert_uint_eq(q.charged, 0);
		ck_assert_msg(strstr(mlog, "module refused") != NULL,
			      "%s: the module log does not say why: %s", r->what, mlog);
		ck_assert_msg(log_has("refused MODULE_LOAD (EDQUOT)"),
			      "%s: no log line for the refusal", r->what);
		/* nothing was loaded */
		ck_assert_uint_le(f1, f0 + Q_SLACK);
		ck_assert_uint_ge(f1 + Q_SLACK, f0);
		free(ptx);
		return;
	}
	ck_assert_uint_eq(q.charged, q.result0);
	if (!fake_cuda())   /* the driver took at least the variables */
		ck_assert_uint_ge(f0 + Q_SLACK, f1 + vars);
	/* and the memory is real: its last word reads back zero */
	ck_assert_int_eq(et_alloc(ex, ctx, 4096, &out, &out_addr), 0);
	if (r->gbytes || r->cbytes) {
		struct { uint64_t out; uint32_t i; uint32_t pad; } p = {
			out_addr, (uint32_t)((r->gbytes ? r->gbytes : r->cbytes) - 4), 0 };
		uint32_t v = 0xffffffffu;

		ck_assert_int_eq(func_get(ctx, mod, r->gbytes ? "q_touch" : "q_ctab",
					  &f, NULL), 0);
		ck_assert_int_eq(launch_on(ctx, NULL, f, 1, 1, &p, 12), 0);
		ck_assert_int_eq(et_d2h(ex, ctx, out, 0, &v, 4, 1), 0);
		if (!fake_cuda())
			ck_assert_uint_eq(v, 0);
	} else {
		ck_assert_int_eq(func_get(ctx, mod, "vt_empty", &f, NULL), 0);
	}
	free(ptx);
}
END_TEST

/* Modules that fit one by one and not together; an unload gives back. */
START_TEST(test_modules_add_up)
{
	const uint64_t quota = 160 * MIB;
	uint64_t used = 0, charge[4] = { 0 };
	struct vgpu_exec_mod *mod[4];
	char *ptx = quota_ptx(64 * MIB, 0);
	struct et_quota q;
	int rc;

	for (int i = 0; i < 3; i++) {
		q = (struct et_quota){ .limited = true, .limit = quota - used };
		rc = load_module_q(ctx, ptx, strlen(ptx) + 1, VGPUIF_MODULE_PTX,
				   NULL, 0, &mod[i], NULL, &q);
		printf("  quota: 64 MiB module %d with %" PRIu64 " MiB left: "
		       "status %d\n", i + 1, (quota - used) >> 20, rc);
		ck_assert_int_eq(rc, i < 2 ? 0 : VGPUIF_RSP_EDQUOT);
		charge[i] = q.charged;
		used += q.charged;
	}
	ck_assert_uint_gt(used, 128 * MIB);
	/* MODULE_UNLOAD returns the first one's charge */
	{
		struct vgpu_exec_op op = { .opcode = VGPUIF_OP_MODULE_UNLOAD,
					   .ctx = ctx };

		op.u.module_unload.mod = mod[0];
		ck_assert_int_eq(et_run(ex, &op), 0);
		used -= charge[0];
	}
	q = (struct et_quota){ .limited = true, .limit = quota - used };
	ck_assert_int_eq(load_module_q(ctx, ptx, strlen(ptx) + 1,
				       VGPUIF_MODULE_PTX, NULL, 0, &mod[3],
				       NULL, &q), 0);
	ck_assert_uint_eq(q.charged, charge[1]);
	free(ptx);
}
END_TEST

/* ------------------------------------------------------ local memory */

static uint64_t resident_threads(void)
{
	struct vgpuif_device_info di;

	ck_assert_int_eq(vgpu_exec_device_info(ex, &di), 0);
	return (uint64_t)di.attr[CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR] *
	       di.attr[CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT];
}

static struct vgpu_exec_func *local_kernel(void)
{
	struct vgpu_exec_mod *mod;
	struct vgpu_exec_func *f;

	ck_assert_int_eq(load_module(ctx, q_local_ptx, sizeof(q_local_ptx),
				     VGPUIF_MODULE_PTX, NULL, 0, &mod, NULL), 0);
	ck_assert_int_eq(func_get(ctx, mod, "q_local", &f, NULL), 0);
	return f;
}

struct lparams {
	uint64_t out;
	uint32_t i, pad;
};

/*
 * The first launch of a kernel that needs 16 KiB per thread: refused
 * while the quota cannot hold what the driver would reserve for it, then
 * charged exactly that (at least what the driver took); launched again it
 * costs nothing more; a kernel with no local memory never does.
 */
START_TEST(test_local_quota)
{
	uint64_t res = resident_threads(), grow, f0, f1, addr;
	struct vgpu_exec_func *f = local_kernel(), *empty;
	struct et_quota q = { .limited = true, .limit = 64 * MIB };
	struct vgpu_exec_mem *out;
	struct lparams p;

	ck_assert_uint_gt(res, 0);
	ck_assert_int_eq(et_alloc(ex, ctx, 4096, &out, &addr), 0);
	p = (struct lparams){ addr, 77, 0 };
	/* the context starts with CUDA's 1 KiB stack per thread */
	grow = (uint64_t)(Q_LOCAL - 1024) * res;
	log_clear();
	ck_assert_int_eq(launch_q(ctx, NULL, f, 4, 128, &p, 12, &q),
			 VGPUIF_RSP_EDQUOT);
	ck_assert_uint_eq(q.charged, 0);
	ck_assert_msg(log_has("refused LAUNCH (EDQUOT)"), "no log line");
	ck_assert_int_eq(et_sync(ex, ctx), 0);
	f0 = free_now();
	q = (struct et_quota){ .limited = true, .limit = grow };
	ck_assert_int_eq(launch_q(ctx, NULL, f, 4, 128, &p, 12, &q), 0);
	ck_assert_int_eq(et_sync(ex, ctx), 0);
	f1 = free_now();
	printf("  quota: 16 KiB of local memory per thread, %" PRIu64 " threads "
	       "at once: charged %" PRIu64 " MiB, the driver took %" PRIu64
	       " MiB\n", res, q.charged >> 20,
	       (f0 > f1 ? f0 - f1 : 0) >> 20);
	ck_assert_uint_eq(q.charged, grow);
	/* never less than what the driver took */
	ck_assert_uint_ge(q.charged + Q_SLACK, f0 > f1 ? f0 - f1 : 0);
	q = (struct et_quota){ .limited = true, .limit = 0 };
	ck_assert_int_eq(launch_q(ctx, NULL, f, 4, 128, &p, 12, &q), 0);
	ck_assert_uint_eq(q.charged, 0);
	empty = guest_kernel("vt_empty");
	q = (struct et_quota){ .limited = true, .limit = 0 };
	ck_assert_int_eq(launch_q(ctx, NULL, empty, 1, 32, NULL, 0, &q), 0);
	ck_assert_uint_eq(q.charged, 0);
	ck_assert_int_eq(et_sync(ex, ctx), 0);
}
END_TEST

/*
 * A GPU fault ends the worker; the new one is made with the local memory
 * already charged as its stack, so the same kernel costs nothing again.
 */
START_TEST(test_local_kept_across_restart)
{
	uint64_t res = resident_threads(), addr, bogus = 0x10;
	struct et_quota q = { .limited = false };
	struct vgpu_exec_func *f = local_kernel(), *fault;
	struct vgpu_exec_mem *out;
	struct lparams p;

	ck_assert_int_eq(et_alloc(ex, ctx, 4096, &out, &addr), 0);
	p = (struct lparams){ addr, 5, 0 };
	ck_assert_int_eq(launch_q(ctx, NULL, f, 1, 64, &p, 12, &q), 0);
	ck_assert_uint_eq(q.charged, (uint64_t)(Q_LOCAL - 1024) * res);
	fault = guest_kernel("vt_fault");
	ck_assert_int_eq(launch_on(ctx, NULL, fault, 1, 1, &bogus, 8),
			 VGPUIF_RSP_EREMOTEIO);
	ck_assert_int_eq(et_sync(ex, ctx), 0);
	ck_assert_msg(log_has("stack 16384 bytes per thread"),
		      "the new worker was not made with the charged stack");
	f = local_kernel();
	ck_assert_int_eq(et_alloc(ex, ctx, 4096, &out, &addr), 0);
	p = (struct lparams){ addr, 6, 0 };
	q = (struct et_quota){ .limited = true, .limit = 0 };
	ck_assert_int_eq(launch_q(ctx, NULL, f, 1, 64, &p, 12, &q), 0);
	ck_assert_uint_eq(q.charged, 0);
	ck_assert_int_eq(et_sync(ex, ctx), 0);
}
END_TEST

/* ---------------------------------------------------- context limits */

static void setup_limits(void)
{
	log_clear();
	ex = open_cuda_limits(0, 16 * MIB, 2 * MIB, 2048);
	ck_assert_int_eq(vgpu_exec_ctx_create(ex, &ctx), 0);
}

/*
 * The limits dom0 gives the context are the driver's (read back), the
 * context's own memory is reported, and local memory is charged past the
 * fixed stack, not past CUDA's default.
 */
START_TEST(test_limits_fixed)
{
	uint64_t res = resident_threads(), addr;
	struct et_quota q = { .limited = false };
	struct vgpu_exec_func *f = local_kernel();
	struct vgpu_exec_mem *out;
	struct lparams p;

	ck_assert_msg(log_has("heap 16384 KiB, printf buffer 2048 KiB, stack "
			      "2048 bytes per thread"),
		      "the limits are not the ones fixed");
	if (!fake_cuda())
		ck_assert_msg(log_has("measured with NVML"),
			      "the context's memory was not measured");
	ck_assert_int_eq(et_alloc(ex, ctx, 4096, &out, &addr), 0);
	p = (struct lparams){ addr, 1, 0 };
	ck_assert_int_eq(launch_q(ctx, NULL, f, 1, 64, &p, 12, &q), 0);
	ck_assert_uint_eq(q.charged, (uint64_t)(Q_LOCAL - 2048) * res);
	ck_assert_int_eq(et_sync(ex, ctx), 0);
}
END_TEST

/* ------------------------------------------ yielding to a higher domain */

static int yop(int opcode, struct vgpu_exec_mem *m, uint64_t off, void *buf,
	       uint64_t len)
{
	struct vgpu_exec_op op = { .opcode = (uint8_t)opcode, .ctx = ctx,
				   .yield = true };
	struct vgpu_exec_iov iov = { buf, (size_t)len };

	op.u.copy.mem = m;
	op.u.copy.offset = off;
	op.u.copy.length = len;
	op.iov = &iov;
	op.niov = 1;
	return et_run(ex, &op);
}

/*
 * op->yield (a higher-priority domain uses the GPU): copies and memsets
 * larger than a slice go in slices; every byte lands where it would have.
 */
START_TEST(test_yield_sliced)
{
	const uint64_t len = 5 * MIB + 12;      /* 5 slices and a tail */
	unsigned char *a = malloc(len), *b = malloc(len);
	struct vgpu_exec_mem *m, *m2;
	struct vgpu_exec_op op = { .opcode = VGPUIF_OP_MEMSET, .ctx = ctx,
				   .yield = true };

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(et_alloc(ex, ctx, len + 64, &m, NULL), 0);
	ck_assert_int_eq(et_alloc(ex, ctx, len + 64, &m2, NULL), 0);
	et_fill(a, len, 7);
	ck_assert_int_eq(yop(VGPUIF_OP_MEMCPY_H2D, m, 4, a, len), 0);
	memset(b, 0, len);
	ck_assert_int_eq(yop(VGPUIF_OP_MEMCPY_D2H, m, 4, b, len), 0);
	ck_assert(!memcmp(a, b, len));
	/* D2D: m[4..] to m2[8..] */
	{
		struct vgpu_exec_op d = { .opcode = VGPUIF_OP_MEMCPY_D2D,
					  .ctx = ctx, .yield = true };

		d.u.d2d.dst = m2;
		d.u.d2d.dst_offset = 8;
		d.u.d2d.src = m;
		d.u.d2d.src_offset = 4;
		d.u.d2d.length = len;
		ck_assert_int_eq(et_run(ex, &d), 0);
	}
	memset(b, 0, len);
	ck_assert_int_eq(et_d2h(ex, ctx, m2, 8, b, len, 1), 0);
	ck_assert(!memcmp(a, b, len));
	/* a 32-bit memset of all of it but the first and last words */
	op.u.memset.mem = m2;
	op.u.memset.offset = 12;
	op.u.memset.length = len - 8;
	op.u.memset.value = 0xa5c3e1f7u;
	op.u.memset.elem_size = 4;
	ck_assert_int_eq(et_run(ex, &op), 0);
	ck_assert_int_eq(et_d2h(ex, ctx, m2, 8, b, len, 1), 0);
	ck_assert(!memcmp(b, a, 4));
	for (uint64_t i = 4; i + 4 <= len - 4; i += 4) {
		uint32_t w;

		memcpy(&w, b + i, 4);
		ck_assert_msg(w == 0xa5c3e1f7u, "word at %" PRIu64 ": %08x", i, w);
	}
	ck_assert(!memcmp(b + len - 4, a + len - 4, 4));
	free(a);
	free(b);
}
END_TEST

Suite *gpu_quota_suite(void)
{
	Suite *s = suite_create("cuda executor: GPU memory a domain causes");
	TCase *tc;

	tc = tcase_create("module memory");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_module_quota, 0,
			    (int)(sizeof(qrows) / sizeof(qrows[0])));
	tcase_add_test(tc, test_modules_add_up);
	suite_add_tcase(s, tc);

	tc = tcase_create("local memory");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_local_quota);
	tcase_add_test(tc, test_local_kept_across_restart);
	suite_add_tcase(s, tc);

	tc = tcase_create("yielding");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_yield_sliced);
	suite_add_tcase(s, tc);

	tc = tcase_create("context limits");
	tcase_add_checked_fixture(tc, setup_limits, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_limits_fixed);
	suite_add_tcase(s, tc);
	return s;
}
