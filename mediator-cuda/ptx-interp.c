/* SPDX-License-Identifier: MIT */
/*
 * ptx-interp.c - run a kernel of the module model over a grid.
 *
 * Blocks run one after another. In a block every thread is a resumable
 * state (its registers and pc): the scheduler runs each runnable thread
 * until it waits at a barrier or exits, then releases the barriers whose
 * threads have all arrived, and goes round again. So bar.sync really holds
 * every thread of the block until all have reached it (an exited thread
 * counts as arrived, as on the GPU), and bar.warp.sync the threads of its
 * warp. A round in which nobody can move is a deadlock: the GPU would hang
 * until its watchdog; the launch ends with -ETIMEDOUT at once.
 *
 * Safety: the host never trusts the kernel. Every address is checked
 * (space, bounds, natural alignment) before the one memcpy that touches
 * memory; integer division, shifts and float-to-integer conversion are
 * defined for every input (no host trap, no undefined behaviour); the
 * instruction budget bounds the time, counting the cost of starting
 * threads and blocks too.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ptx-insn.h"

enum { T_RUN = 0, T_BAR, T_WARP, T_DONE };

struct thr {
	uint64_t *r;
	uint32_t pc;
	uint8_t  state;
	uint8_t  bar;            /* T_BAR: barrier id                    */
	uint32_t count;          /* T_BAR: thread count asked, 0 = all;
				  * T_WARP: the member mask              */
	uint32_t tid[3];
	uint32_t lin;
	unsigned char *local;
};

struct lctx {
	struct ptx_launch *l;
	const struct ptx_kernel *k;
	const struct ptx_insn *code;
	uint32_t ncode;
	const struct ptx_var *g;         /* module variables (addresses) */
	unsigned char *params;
	uint32_t param_size;             /* readable parameter bytes     */
	unsigned char *shared;
	uint32_t shared_size;
	uint32_t local_size;
	uint32_t nthreads;
	struct thr *thr;
	uint32_t ctaid[3];
	uint64_t executed;               /* instructions so far          */
	uint64_t limit;                  /* stop at this count (budget)  */
	uint64_t next_check;             /* look at cancel then          */
	size_t last_region;
};

/* ------------------------------------------------------------ helpers */

static inline uint64_t mk(unsigned int sz)
{
	return sz >= 8 ? ~0ull : (1ull << (sz * 8)) - 1;
}

static inline uint64_t sx(uint64_t v, unsigned int sz)
{
	unsigned int sh;

	if (sz >= 8)
		return v;
	sh = 64 - sz * 8;
	return (uint64_t)((int64_t)(v << sh) >> sh);
}

static inline float f32(uint64_t v)
{
	uint32_t b = (uint32_t)v;
	float f;

	memcpy(&f, &b, 4);
	return f;
}

static inline double f64(uint64_t v)
{
	double d;

	memcpy(&d, &v, 8);
	return d;
}

static inline uint64_t b32(float f)
{
	uint32_t b;

	memcpy(&b, &f, 4);
	return b;
}

static inline uint64_t b64(double d)
{
	uint64_t b;

	memcpy(&b, &d, 8);
	return b;
}

static inline float ftz32(float f)
{
	return fpclassify(f) == FP_SUBNORMAL ? copysignf(0.0f, f) : f;
}

static inline float sat32(float f)
{
	return isnan(f) ? 0.0f : f < 0.0f ? 0.0f : f > 1.0f ? 1.0f : f;
}

static inline double sat64(double d)
{
	return isnan(d) ? 0.0 : d < 0.0 ? 0.0 : d > 1.0 ? 1.0 : d;
}

static const char *const space_names[PS_COUNT] = {
	[PS_GENERIC] = "generic", [PS_GLOBAL] = "global", [PS_CONST] = "const",
	[PS_SHARED] = "shared", [PS_LOCAL] = "local", [PS_PARAM] = "param",
};

static const char *op_name(unsigned int op)
{
	static const char *const n[PO_COUNT] = {
		[PO_NOP] = "nop", [PO_MOV] = "mov", [PO_MOVPACK] = "mov",
		[PO_MOVUNPACK] = "mov", [PO_ADD] = "add", [PO_SUB] = "sub",
		[PO_MUL] = "mul", [PO_MAD] = "mad", [PO_FMA] = "fma",
		[PO_DIV] = "div", [PO_REM] = "rem", [PO_ABS] = "abs",
		[PO_NEG] = "neg", [PO_MIN] = "min", [PO_MAX] = "max",
		[PO_AND] = "and", [PO_OR] = "or", [PO_XOR] = "xor",
		[PO_NOT] = "not", [PO_CNOT] = "cnot", [PO_SHL] = "shl",
		[PO_SHR] = "shr", [PO_POPC] = "popc", [PO_CLZ] = "clz",
		[PO_BREV] = "brev", [PO_BFE] = "bfe", [PO_BFI] = "bfi",
		[PO_PRMT] = "prmt", [PO_RCP] = "rcp", [PO_SQRT] = "sqrt",
		[PO_RSQRT] = "rsqrt", [PO_EX2] = "ex2", [PO_LG2] = "lg2",
		[PO_SIN] = "sin", [PO_COS] = "cos", [PO_TANH] = "tanh",
		[PO_COPYSIGN] = "copysign", [PO_TESTP] = "testp",
		[PO_SETP] = "setp", [PO_SELP] = "selp", [PO_CVT] = "cvt",
		[PO_CVTA] = "cvta", [PO_CVTA_TO] = "cvta.to",
		[PO_ISSPACEP] = "isspacep", [PO_LD] = "ld", [PO_ST] = "st",
		[PO_ATOM] = "atom", [PO_BRA] = "bra", [PO_RET] = "ret",
		[PO_BAR] = "bar.sync", [PO_BARWARP] = "bar.warp.sync",
		[PO_TRAP] = "trap",
	};

	return op < PO_COUNT && n[op] ? n[op] : "instruction";
}

static int fail(struct lctx *L, const struct thr *t, const struct ptx_insn *in,
		int rc, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int fail(struct lctx *L, const struct thr *t, const struct ptx_insn *in,
		int rc, const char *fmt, ...)
{
	char what[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (t && in)
		snprintf(L->l->why, sizeof(L->l->why), "kernel %s, %s at ptx "
			 "line %u, thread (%u,%u,%u) of block (%u,%u,%u): %s",
			 L->k->name, op_name(in->op), in->line, t->tid[0],
			 t->tid[1], t->tid[2], L->ctaid[0], L->ctaid[1],
			 L->ctaid[2], what);
	else
		snprintf(L->l->why, sizeof(L->l->why), "kernel %s: %s",
			 L->k->name, what);
	return rc;
}

/* ------------------------------------------------------------- memory */

static const struct ptx_region *region_at(struct lctx *L, uint64_t a,
					  uint64_t size)
{
	const struct ptx_region *rg = L->l->regions;
	size_t lo = 0, hi = L->l->nregions;

	if (L->last_region < hi) {
		const struct ptx_region *c = &rg[L->last_region];

		if (a >= c->addr && a - c->addr <= c->size &&
		    size <= c->size - (a - c->addr))
			return c;
	}
	/* the last region with addr <= a */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (rg[mid].addr <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	rg = &rg[lo - 1];
	if (a - rg->addr > rg->size || size > rg->size - (a - rg->addr))
		return NULL;
	L->last_region = lo - 1;
	return rg;
}

/*
 * The host address of [a, a + size) in space, for a read or a write;
 * NULL after fail() when the kernel may not touch it.
 */
static unsigned char *mem_at(struct lctx *L, const struct thr *t,
			     const struct ptx_insn *in, unsigned int space,
			     uint64_t a, unsigned int size, bool write)
{
	const struct ptx_region *rg;
	uint64_t off;

	if (space == PS_GENERIC) {
		if (a - PTX_WINDOW_SHARED < PTX_WINDOW_SIZE) {
			space = PS_SHARED;
			a -= PTX_WINDOW_SHARED;
		} else if (a - PTX_WINDOW_LOCAL < PTX_WINDOW_SIZE) {
			space = PS_LOCAL;
			a -= PTX_WINDOW_LOCAL;
		} else if (a - PTX_WINDOW_PARAM < PTX_WINDOW_SIZE) {
			space = PS_PARAM;
			a -= PTX_WINDOW_PARAM;
		} else {
			space = PS_GLOBAL;
		}
	}
	if (a & (size - 1)) {
		fail(L, t, in, -EFAULT, "misaligned %s address 0x%llx (%u bytes)",
		     space_names[space], (unsigned long long)a, size);
		return NULL;
	}
	switch (space) {
	case PS_SHARED:
		if (a > L->shared_size || size > L->shared_size - a)
			break;
		return L->shared + a;
	case PS_LOCAL:
		if (a > L->local_size || size > L->local_size - a)
			break;
		return t->local + a;
	case PS_PARAM:
		if (write) {
			fail(L, t, in, -EFAULT, "store to parameter memory");
			return NULL;
		}
		if (a > L->param_size || size > L->param_size - a)
			break;
		return L->params + a;
	default:
		rg = region_at(L, a, size);
		if (!rg)
			break;
		if (space == PS_CONST && !rg->is_const) {
			fail(L, t, in, -EFAULT, "const address 0x%llx is not in a "
			     ".const variable", (unsigned long long)a);
			return NULL;
		}
		if (write && rg->is_const) {
			fail(L, t, in, -EFAULT, "store to .const variable at "
			     "0x%llx", (unsigned long long)a);
			return NULL;
		}
		off = a - rg->addr;
		return rg->host + off;
	}
	fail(L, t, in, -EFAULT, "%s address 0x%llx (%u bytes) is outside %s",
	     space_names[space], (unsigned long long)a, size,
	     space == PS_SHARED ? "the block's shared memory" :
	     space == PS_LOCAL ? "the thread's local memory" :
	     space == PS_PARAM ? "the parameters" :
	     "every allocation and variable of the context");
	return NULL;
}

/* ----------------------------------------------------------- operands */

static uint64_t sreg(const struct lctx *L, const struct thr *t, unsigned int id,
		     uint64_t now)
{
	const struct ptx_launch *l = L->l;
	uint32_t lane = t->lin & 31;

	switch (id) {
	case SR_TID_X: case SR_TID_Y: case SR_TID_Z:
		return t->tid[id - SR_TID_X];
	case SR_NTID_X: case SR_NTID_Y: case SR_NTID_Z:
		return l->block[id - SR_NTID_X];
	case SR_CTAID_X: case SR_CTAID_Y: case SR_CTAID_Z:
		return L->ctaid[id - SR_CTAID_X];
	case SR_NCTAID_X: case SR_NCTAID_Y: case SR_NCTAID_Z:
		return l->grid[id - SR_NCTAID_X];
	case SR_LANEID:
		return lane;
	case SR_WARPID:
		return t->lin >> 5;
	case SR_NWARPID:
		return (L->nthreads + 31) >> 5;
	case SR_SMID:
		return 0;
	case SR_NSMID:
	case SR_GRIDID:
		return 1;
	case SR_LANEMASK_EQ:
		return 1u << lane;
	case SR_LANEMASK_LT:
		return (1u << lane) - 1;
	case SR_LANEMASK_LE:
		return (uint32_t)((2ull << lane) - 1);
	case SR_LANEMASK_GT:
		return (uint32_t)~((2ull << lane) - 1);
	case SR_LANEMASK_GE:
		return (uint32_t)~((1u << lane) - 1);
	case SR_CLOCK:
		return (uint32_t)now;
	case SR_CLOCK64:
		return now;
	case SR_GLOBALTIMER: {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	}
	case SR_DYN_SMEM:
		return l->shared_mem;
	case SR_TOTAL_SMEM:
		return L->shared_size;
	default:
		return 0;
	}
}

#define VAL(o) val(L, t, (o), L->executed + n)

static inline uint64_t val(const struct lctx *L, const struct thr *t,
			   const struct ptx_opnd *o, uint64_t now)
{
	switch (o->kind) {
	case PK_REG:
		return t->r[o->reg];
	case PK_IMM:
		return o->imm;
	case PK_SREG:
		return sreg(L, t, o->reg, now);
	case PK_SYM:
		return o->imm + (o->sym >= 0 ? L->g[o->sym].addr : 0);
	default:
		return 0;
	}
}

static inline bool pval(const struct thr *t, const struct ptx_opnd *o)
{
	return ((t->r[o->reg] & 1) != 0) != (o->neg != 0);
}

/* Write v, a value of sz bytes (sign-extended when sgn), to register o. */
static inline void wr(struct thr *t, const struct ptx_opnd *o, uint64_t v,
		      unsigned int sz, bool sgn)
{
	if (o->reg == PTX_NOREG)
		return;
	v = sgn ? sx(v, sz) : v & mk(sz);
	t->r[o->reg] = v & mk(o->rsize);
}

static uint64_t ea(const struct lctx *L, const struct thr *t,
		   const struct ptx_opnd *o)
{
	uint64_t a = o->imm;

	if (o->reg != PTX_NOREG)
		a += t->r[o->reg] & mk(o->rsize);
	if (o->sym >= 0)
		a += L->g[o->sym].addr;
	return a;
}

/* ----------------------------------------------------------- integers */

static uint64_t int_div(uint64_t a, uint64_t b, unsigned int sz, bool sgn,
			bool rem)
{
	/* PTX leaves x/0 undefined; here it is all ones (rem: a) */
	if (sgn) {
		int64_t x = (int64_t)sx(a, sz), y = (int64_t)sx(b, sz);

		if (y == 0)
			return rem ? (uint64_t)x : ~0ull;
		if (y == -1)    /* INT_MIN / -1 would trap on the host */
			return rem ? 0 : (uint64_t)0 - (uint64_t)x;
		return rem ? (uint64_t)(x % y) : (uint64_t)(x / y);
	}
	a &= mk(sz);
	b &= mk(sz);
	if (b == 0)
		return rem ? a : ~0ull;
	return rem ? a % b : a / b;
}

static uint64_t mul_hi(uint64_t a, uint64_t b, unsigned int sz, bool sgn)
{
	if (sz == 8) {
		if (sgn)
			return (uint64_t)(((__int128)(int64_t)a *
					   (__int128)(int64_t)b) >> 64);
		return (uint64_t)(((unsigned __int128)a * b) >> 64);
	}
	if (sgn)
		return (uint64_t)(((int64_t)sx(a, sz) * (int64_t)sx(b, sz)) >>
				  (sz * 8));
	return ((a & mk(sz)) * (b & mk(sz))) >> (sz * 8);
}

static uint64_t bfe(uint64_t a, uint32_t pos, uint32_t len, unsigned int sz,
		    bool sgn)
{
	unsigned int msb = sz * 8 - 1;
	uint64_t d = 0, sbit = 0;

	pos &= 0xff;
	len &= 0xff;
	if (sgn && len)
		sbit = (a >> (pos + len - 1 > msb ? msb : pos + len - 1)) & 1;
	for (unsigned int i = 0; i <= msb; i++) {
		uint64_t bit = (i < len && pos + i <= msb) ? (a >> (pos + i)) & 1 :
			       sbit;

		d |= bit << i;
	}
	return d;
}

static uint64_t bfi(uint64_t f, uint64_t b, uint32_t pos, uint32_t len,
		    unsigned int sz)
{
	unsigned int msb = sz * 8 - 1;

	pos &= 0xff;
	len &= 0xff;
	for (unsigned int i = 0; i < len && pos + i <= msb; i++)
		b = (b & ~(1ull << (pos + i))) | (((f >> i) & 1) << (pos + i));
	return b;
}

static uint64_t prmt(uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t tmp = (b & 0xffffffffull) << 32 | (a & 0xffffffffull), d = 0;

	for (unsigned int i = 0; i < 4; i++) {
		unsigned int sel = (c >> (4 * i)) & 0xf;
		uint64_t byte = (tmp >> (8 * (sel & 7))) & 0xff;

		if (sel & 8)
			byte = (byte & 0x80) ? 0xff : 0;
		d |= byte << (8 * i);
	}
	return d;
}

static uint64_t brev(uint64_t a, unsigned int sz)
{
	uint64_t d = 0;

	for (unsigned int i = 0; i < sz * 8; i++)
		d |= ((a >> i) & 1) << (sz * 8 - 1 - i);
	return d;
}

static uint64_t int_alu(const struct ptx_insn *in, uint64_t a, uint64_t b,
			uint64_t c)
{
	unsigned int sz = ptx_type_size(in->type);
	bool sgn = ptx_type_signed(in->type);
	uint64_t sh;

	switch (in->op) {
	case PO_ADD:
	case PO_SUB:
		if (in->flags & PF_SAT) {       /* .s32 only */
			int64_t r = (int64_t)sx(a, 4) +
				    (in->op == PO_ADD ? (int64_t)sx(b, 4) :
				     -(int64_t)sx(b, 4));

			return (uint64_t)(r > INT32_MAX ? INT32_MAX :
					  r < INT32_MIN ? INT32_MIN : r);
		}
		return in->op == PO_ADD ? a + b : a - b;
	case PO_MUL:
		if (in->mode == PM_HI)
			return mul_hi(a, b, sz, sgn);
		return a * b;
	case PO_MAD:
		if (in->mode == PM_HI)
			return mul_hi(a, b, sz, sgn) + c;
		return a * b + c;
	case PO_DIV:
		return int_div(a, b, sz, sgn, false);
	case PO_REM:
		return int_div(a, b, sz, sgn, true);
	case PO_ABS:
		return (int64_t)sx(a, sz) < 0 ? (uint64_t)0 - a : a;
	case PO_NEG:
		return (uint64_t)0 - a;
	case PO_MIN:
	case PO_MAX: {
		bool lt = sgn ? (int64_t)sx(a, sz) < (int64_t)sx(b, sz) :
				(a & mk(sz)) < (b & mk(sz));

		return (in->op == PO_MIN) == lt ? a : b;
	}
	case PO_AND:
		return a & b;
	case PO_OR:
		return a | b;
	case PO_XOR:
		return a ^ b;
	case PO_NOT:
		return ~a;
	case PO_CNOT:
		return (a & mk(sz)) == 0;
	case PO_SHL:
		sh = b & 0xffffffffu;
		return sh >= sz * 8 ? 0 : a << sh;
	case PO_SHR:
		sh = b & 0xffffffffu;
		if (sgn) {
			int64_t x = (int64_t)sx(a, sz);

			return (uint64_t)(sh >= sz * 8 ? (x < 0 ? -1 : 0) :
					  x >> sh);
		}
		return sh >= sz * 8 ? 0 : (a & mk(sz)) >> sh;
	case PO_POPC:
		return (uint64_t)__builtin_popcountll(a & mk(sz));
	case PO_CLZ:
		a &= mk(sz);
		return a ? (uint64_t)(__builtin_clzll(a) - (64 - (int)sz * 8)) :
			   sz * 8;
	case PO_BREV:
		return brev(a, sz);
	case PO_BFE:
		return bfe(a, (uint32_t)b, (uint32_t)c, sz, sgn);
	case PO_PRMT:
		return prmt(a, b, c);
	default:
		return 0;
	}
}

/* ------------------------------------------------------------- floats */

static uint64_t f32_alu(const struct ptx_insn *in, float a, float b, float c)
{
	bool ftz = in->flags & PF_FTZ;
	float r;

	if (ftz) {
		a = ftz32(a);
		b = ftz32(b);
		c = ftz32(c);
	}
	switch (in->op) {
	case PO_ADD: r = a + b; break;
	case PO_SUB: r = a - b; break;
	case PO_MUL: r = a * b; break;
	case PO_MAD:
	case PO_FMA: r = fmaf(a, b, c); break;
	case PO_DIV: r = a / b; break;
	case PO_ABS: r = fabsf(a); break;
	case PO_NEG: r = -a; break;
	case PO_MIN: r = fminf(a, b); break;
	case PO_MAX: r = fmaxf(a, b); break;
	case PO_RCP: r = 1.0f / a; break;
	case PO_SQRT: r = sqrtf(a); break;
	case PO_RSQRT: r = 1.0f / sqrtf(a); break;
	case PO_EX2: r = exp2f(a); break;
	case PO_LG2: r = log2f(a); break;
	case PO_SIN: r = sinf(a); break;
	case PO_COS: r = cosf(a); break;
	case PO_TANH: r = tanhf(a); break;
	case PO_COPYSIGN: r = copysignf(b, a); break;
	default: r = 0; break;
	}
	if (ftz)
		r = ftz32(r);
	if (in->flags & PF_SAT)
		r = sat32(r);
	return b32(r);
}

static uint64_t f64_alu(const struct ptx_insn *in, double a, double b, double c)
{
	double r;

	switch (in->op) {
	case PO_ADD: r = a + b; break;
	case PO_SUB: r = a - b; break;
	case PO_MUL: r = a * b; break;
	case PO_MAD:
	case PO_FMA: r = fma(a, b, c); break;
	case PO_DIV: r = a / b; break;
	case PO_ABS: r = fabs(a); break;
	case PO_NEG: r = -a; break;
	case PO_MIN: r = fmin(a, b); break;
	case PO_MAX: r = fmax(a, b); break;
	case PO_RCP: r = 1.0 / a; break;
	case PO_SQRT: r = sqrt(a); break;
	case PO_RSQRT: r = 1.0 / sqrt(a); break;
	case PO_COPYSIGN: r = copysign(b, a); break;
	default: r = 0; break;
	}
	if (in->flags & PF_SAT)
		r = sat64(r);
	return b64(r);
}

/* testp in the operand's own precision (a float subnormal is a normal double) */
static bool testp(const struct ptx_insn *in, uint64_t v)
{
	int c = in->type == PT_F32 ? fpclassify(f32(v)) : fpclassify(f64(v));

	switch (in->mode) {
	case PT_FINITE: return c != FP_INFINITE && c != FP_NAN;
	case PT_INFINITE: return c == FP_INFINITE;
	case PT_NUMBER: return c != FP_NAN;
	case PT_NOTANUMBER: return c == FP_NAN;
	case PT_NORMAL: return c == FP_NORMAL;
	default: return c == FP_SUBNORMAL;
	}
}

static bool compare(const struct ptx_insn *in, uint64_t a, uint64_t b)
{
	unsigned int sz = ptx_type_size(in->type), c = in->mode;

	if (ptx_type_float(in->type)) {
		double x, y;
		bool nan;

		if (in->type == PT_F32) {
			float fx = f32(a), fy = f32(b);

			if (in->flags & PF_FTZ) {
				fx = ftz32(fx);
				fy = ftz32(fy);
			}
			x = fx;
			y = fy;
		} else {
			x = f64(a);
			y = f64(b);
		}
		nan = isnan(x) || isnan(y);
		switch (c) {
		case PC_EQ: return !nan && x == y;
		case PC_NE: return !nan && x != y;
		case PC_LT: return !nan && x < y;
		case PC_LE: return !nan && x <= y;
		case PC_GT: return !nan && x > y;
		case PC_GE: return !nan && x >= y;
		case PC_EQU: return nan || x == y;
		case PC_NEU: return nan || x != y;
		case PC_LTU: return nan || x < y;
		case PC_LEU: return nan || x <= y;
		case PC_GTU: return nan || x > y;
		case PC_GEU: return nan || x >= y;
		case PC_NUM: return !nan;
		default: return nan;
		}
	}
	if (ptx_type_signed(in->type) && c <= PC_GE) {
		int64_t x = (int64_t)sx(a, sz), y = (int64_t)sx(b, sz);

		switch (c) {
		case PC_EQ: return x == y;
		case PC_NE: return x != y;
		case PC_LT: return x < y;
		case PC_LE: return x <= y;
		case PC_GT: return x > y;
		default: return x >= y;
		}
	}
	a &= mk(sz);
	b &= mk(sz);
	switch (c) {
	case PC_EQ: return a == b;
	case PC_NE: return a != b;
	case PC_LT: case PC_LO: return a < b;
	case PC_LE: case PC_LS: return a <= b;
	case PC_GT: case PC_HI: return a > b;
	default: return a >= b;
	}
}

/* float -> integer: rounded as mode says, NaN 0, clamped to the type */
static uint64_t f2i(double d, unsigned int mode, unsigned int dt)
{
	unsigned int sz = ptx_type_size(dt);

	switch (mode) {
	case PR_RNI: d = nearbyint(d); break;
	case PR_RZI: d = trunc(d); break;
	case PR_RMI: d = floor(d); break;
	default: d = ceil(d); break;
	}
	if (isnan(d))
		return 0;
	if (ptx_type_signed(dt)) {
		double lim = ldexp(1.0, (int)sz * 8 - 1);

		if (d >= lim)
			return (uint64_t)(int64_t)(lim - 1 >= 9.2e18 ?
					 INT64_MAX : (int64_t)(lim - 1));
		if (d < -lim)
			return (uint64_t)(sz == 8 ? INT64_MIN : -(int64_t)lim);
		return (uint64_t)(int64_t)d;
	}
	if (d <= 0)
		return 0;
	if (d >= ldexp(1.0, (int)sz * 8))
		return mk(sz);
	return (uint64_t)d;
}

static uint64_t cvt(const struct ptx_insn *in, uint64_t v)
{
	unsigned int dt = in->type, at = in->type2;
	unsigned int dsz = ptx_type_size(dt), asz = ptx_type_size(at);
	bool sat = in->flags & PF_SAT;

	if (!ptx_type_float(at)) {
		bool as = ptx_type_signed(at);
		int64_t x = (int64_t)(as ? sx(v, asz) : v & mk(asz));

		if (dt == PT_F32) {
			float f = as ? (float)x : (float)(uint64_t)x;

			return b32(sat ? sat32(f) : f);
		}
		if (dt == PT_F64) {
			double d = as ? (double)x : (double)(uint64_t)x;

			return b64(sat ? sat64(d) : d);
		}
		if (sat) {
			bool ds = ptx_type_signed(dt);

			if (as && x < 0) {
				if (!ds)
					return 0;
				if (dsz < 8 && x < -(int64_t)(1ull << (dsz * 8 - 1)))
					return (uint64_t)-(int64_t)(1ull <<
								    (dsz * 8 - 1));
				return (uint64_t)x;
			}
			/* x >= 0 (as unsigned when the source is) */
			if (ds) {
				uint64_t max = mk(dsz) >> 1;

				return (uint64_t)x > max ? max : (uint64_t)x;
			}
			return (uint64_t)x > mk(dsz) ? mk(dsz) : (uint64_t)x;
		}
		return (uint64_t)x;
	}
	/* a float source */
	if (at == PT_F32) {
		float f = f32(v);

		if (in->flags & PF_FTZ)
			f = ftz32(f);
		if (dt == PT_F32) {
			switch (in->mode) {
			case PR_RNI: f = nearbyintf(f); break;
			case PR_RZI: f = truncf(f); break;
			case PR_RMI: f = floorf(f); break;
			case PR_RPI: f = ceilf(f); break;
			default: break;
			}
			if (in->flags & PF_FTZ)
				f = ftz32(f);
			return b32(sat ? sat32(f) : f);
		}
		if (dt == PT_F64)
			return b64(sat ? sat64((double)f) : (double)f);
		return f2i((double)f, in->mode, dt);
	}
	{
		double d = f64(v);

		if (dt == PT_F64) {
			switch (in->mode) {
			case PR_RNI: d = nearbyint(d); break;
			case PR_RZI: d = trunc(d); break;
			case PR_RMI: d = floor(d); break;
			case PR_RPI: d = ceil(d); break;
			default: break;
			}
			return b64(sat ? sat64(d) : d);
		}
		if (dt == PT_F32) {
			float f = (float)d;

			if (in->flags & PF_FTZ)
				f = ftz32(f);
			return b32(sat ? sat32(f) : f);
		}
		return f2i(d, in->mode, dt);
	}
}

static uint64_t window_base(unsigned int space)
{
	return space == PS_SHARED ? PTX_WINDOW_SHARED :
	       space == PS_LOCAL ? PTX_WINDOW_LOCAL :
	       space == PS_PARAM ? PTX_WINDOW_PARAM : 0;
}

static bool isspacep(struct lctx *L, unsigned int space, uint64_t a)
{
	bool sh = a - PTX_WINDOW_SHARED < PTX_WINDOW_SIZE,
	     lo = a - PTX_WINDOW_LOCAL < PTX_WINDOW_SIZE,
	     pa = a - PTX_WINDOW_PARAM < PTX_WINDOW_SIZE;
	const struct ptx_region *rg;

	switch (space) {
	case PS_SHARED: return sh;
	case PS_LOCAL: return lo;
	case PS_PARAM: return pa;
	case PS_CONST:
		rg = region_at(L, a, 1);
		return rg && rg->is_const;
	default:
		return !sh && !lo && !pa;
	}
}

/* --------------------------------------------------------- ld/st/atom */

static int do_ld(struct lctx *L, struct thr *t, const struct ptx_insn *in)
{
	unsigned int sz = ptx_type_size(in->type), nv = in->vec;
	bool sgn = ptx_type_signed(in->type);
	unsigned char *p = mem_at(L, t, in, in->space, ea(L, t, &in->o[1]),
				  sz * nv, false);

	if (!p)
		return -EFAULT;
	if (nv == 1) {
		uint64_t v = 0;

		memcpy(&v, p, sz);
		wr(t, &in->o[0], v, sz, sgn);
		return 0;
	}
	for (unsigned int i = 0; i < nv; i++) {
		struct ptx_opnd e = { .reg = in->o[0].vreg[i],
				      .rsize = in->o[0].rsize };
		uint64_t v = 0;

		memcpy(&v, p + i * sz, sz);
		wr(t, &e, v, sz, sgn);
	}
	return 0;
}

static int do_st(struct lctx *L, struct thr *t, const struct ptx_insn *in,
		 uint64_t now)
{
	unsigned int sz = ptx_type_size(in->type), nv = in->vec;
	unsigned char *p = mem_at(L, t, in, in->space, ea(L, t, &in->o[0]),
				  sz * nv, true);

	if (!p)
		return -EFAULT;
	if (nv == 1) {
		uint64_t v = val(L, t, &in->o[1], now);

		memcpy(p, &v, sz);
		return 0;
	}
	for (unsigned int i = 0; i < nv; i++)
		memcpy(p + i * sz, &t->r[in->o[1].vreg[i]], sz);
	return 0;
}

static int do_atom(struct lctx *L, struct thr *t, const struct ptx_insn *in,
		   uint64_t now)
{
	unsigned int sz = ptx_type_size(in->type);
	bool sgn = ptx_type_signed(in->type);
	unsigned char *p = mem_at(L, t, in, in->space, ea(L, t, &in->o[1]), sz,
				  true);
	uint64_t old = 0, b, nw;

	if (!p)
		return -EFAULT;
	memcpy(&old, p, sz);
	b = val(L, t, &in->o[2], now) & mk(sz);
	switch (in->mode) {
	case PA_ADD:
		if (in->type == PT_F32)
			nw = b32(f32(old) + f32(b));
		else if (in->type == PT_F64)
			nw = b64(f64(old) + f64(b));
		else
			nw = old + b;
		break;
	case PA_MIN:
	case PA_MAX: {
		bool lt = sgn ? (int64_t)sx(b, sz) < (int64_t)sx(old, sz) : b < old;

		nw = (in->mode == PA_MIN) == lt ? b : old;
		break;
	}
	case PA_EXCH:
		nw = b;
		break;
	case PA_CAS:
		nw = old == b ? val(L, t, &in->o[3], now) : old;
		break;
	case PA_AND:
		nw = old & b;
		break;
	case PA_OR:
		nw = old | b;
		break;
	case PA_XOR:
		nw = old ^ b;
		break;
	case PA_INC:
		nw = old >= b ? 0 : old + 1;
		break;
	default:        /* PA_DEC */
		nw = (old == 0 || old > b) ? b : old - 1;
		break;
	}
	memcpy(p, &nw, sz);
	wr(t, &in->o[0], old, sz, false);
	return 0;
}

/* -------------------------------------------------------------- a thread */

/*
 * Run t until it waits at a barrier, exits, faults or the budget ends.
 * Returns 0 or a negative errno (l->why says why).
 */
static int run_thread(struct lctx *L, struct thr *t)
{
	const struct ptx_insn *code = L->code;
	uint64_t *r = t->r;
	uint64_t n = 0, stop = L->next_check - L->executed;
	int rc = 0;

	for (;;) {
		const struct ptx_insn *in;
		uint64_t a, b, c;

		if (t->pc >= L->ncode) {
			t->state = T_DONE;
			break;
		}
		in = &code[t->pc];
		if (__builtin_expect(++n >= stop, 0)) {
			L->executed += n;
			n = 0;
			if (L->executed >= L->limit) {
				rc = fail(L, t, in, -ETIMEDOUT, "the instruction "
					  "budget (%llu) ran out",
					  (unsigned long long)L->l->budget);
				break;
			}
			if (L->l->cancel && *L->l->cancel) {
				rc = fail(L, t, in, -ECANCELED, "cancelled");
				break;
			}
			L->next_check = L->executed + (1u << 20);
			if (L->next_check > L->limit)
				L->next_check = L->limit;
			stop = L->next_check - L->executed;
			if (!stop)
				stop = 1;
		}
		if (in->guard != PTX_NOREG &&
		    ((r[in->guard] & 1) != 0) == (in->guard_neg != 0)) {
			t->pc++;
			continue;
		}
		switch (in->op) {
		case PO_NOP:
			break;
		case PO_MOV:
			wr(t, &in->o[0], VAL(&in->o[1]),
			   ptx_type_size(in->type), false);
			break;
		case PO_MOVPACK: {
			unsigned int es = in->o[1].rsize;
			uint64_t v = 0;

			for (unsigned int i = 0; i < in->o[1].nvec; i++)
				v |= (r[in->o[1].vreg[i]] & mk(es)) << (8 * es * i);
			wr(t, &in->o[0], v, ptx_type_size(in->type), false);
			break;
		}
		case PO_MOVUNPACK: {
			unsigned int es = in->o[0].rsize;

			a = VAL(&in->o[1]);
			for (unsigned int i = 0; i < in->o[0].nvec; i++) {
				if (in->o[0].vreg[i] == PTX_NOREG)
					continue;
				r[in->o[0].vreg[i]] = (a >> (8 * es * i)) & mk(es);
			}
			break;
		}
		case PO_ADD: case PO_SUB: case PO_MUL: case PO_MAD:
		case PO_FMA: case PO_DIV: case PO_REM: case PO_ABS:
		case PO_NEG: case PO_MIN: case PO_MAX: case PO_AND:
		case PO_OR: case PO_XOR: case PO_NOT: case PO_CNOT:
		case PO_SHL: case PO_SHR: case PO_POPC: case PO_CLZ:
		case PO_BREV: case PO_BFE: case PO_PRMT: case PO_RCP:
		case PO_SQRT: case PO_RSQRT: case PO_EX2: case PO_LG2:
		case PO_SIN: case PO_COS: case PO_TANH: case PO_COPYSIGN: {
			unsigned int sz = ptx_type_size(in->type);

			a = VAL(&in->o[1]);
			b = in->nops > 2 ? VAL(&in->o[2]) : 0;
			c = in->nops > 3 ? VAL(&in->o[3]) : 0;
			if (in->type == PT_F32) {
				wr(t, &in->o[0], f32_alu(in, f32(a), f32(b),
							 f32(c)), 4, false);
			} else if (in->type == PT_F64) {
				wr(t, &in->o[0], f64_alu(in, f64(a), f64(b),
							 f64(c)), 8, false);
			} else if (in->type == PT_PRED) {
				/* and/or/xor/not of predicates */
				wr(t, &in->o[0], int_alu(in, a, b, c) & 1, 1,
				   false);
			} else if (in->mode == PM_WIDE &&
				   (in->op == PO_MUL || in->op == PO_MAD)) {
				unsigned int ssz = ptx_type_size(in->type2);
				bool s = ptx_type_signed(in->type2);
				uint64_t x = s ? sx(a, ssz) : a & mk(ssz),
					 y = s ? sx(b, ssz) : b & mk(ssz);

				wr(t, &in->o[0], x * y + c, ssz * 2, false);
			} else if (in->op == PO_POPC || in->op == PO_CLZ) {
				wr(t, &in->o[0], int_alu(in, a, b, c), 4, false);
			} else {
				wr(t, &in->o[0], int_alu(in, a, b, c), sz, false);
			}
			break;
		}
		case PO_BFI:
			wr(t, &in->o[0], bfi(VAL(&in->o[1]), VAL(&in->o[2]),
					     (uint32_t)VAL(&in->o[3]),
					     (uint32_t)VAL(&in->o[4]),
					     ptx_type_size(in->type)),
			   ptx_type_size(in->type), false);
			break;
		case PO_TESTP:
			wr(t, &in->o[0], testp(in, VAL(&in->o[1])), 1, false);
			break;
		case PO_SETP: {
			bool p = compare(in, VAL(&in->o[2]), VAL(&in->o[3])),
			     q = !p;

			if (in->boolop != PB_NONE) {
				bool cc = pval(t, &in->o[4]);

				switch (in->boolop) {
				case PB_AND: p = p && cc; q = q && cc; break;
				case PB_OR: p = p || cc; q = q || cc; break;
				default: p = p != cc; q = q != cc; break;
				}
			}
			wr(t, &in->o[0], p, 1, false);
			if (in->o[1].kind == PK_REG)
				wr(t, &in->o[1], q, 1, false);
			break;
		}
		case PO_SELP:
			wr(t, &in->o[0], pval(t, &in->o[3]) ? VAL(&in->o[1]) :
			   VAL(&in->o[2]), ptx_type_size(in->type), false);
			break;
		case PO_CVT:
			wr(t, &in->o[0], cvt(in, VAL(&in->o[1])),
			   ptx_type_size(in->type), ptx_type_signed(in->type));
			break;
		case PO_CVTA:
			wr(t, &in->o[0], VAL(&in->o[1]) + window_base(in->space),
			   ptx_type_size(in->type), false);
			break;
		case PO_CVTA_TO:
			wr(t, &in->o[0], VAL(&in->o[1]) - window_base(in->space),
			   ptx_type_size(in->type), false);
			break;
		case PO_ISSPACEP:
			wr(t, &in->o[0], isspacep(L, in->space, VAL(&in->o[1])), 1,
			   false);
			break;
		case PO_LD:
			rc = do_ld(L, t, in);
			break;
		case PO_ST:
			rc = do_st(L, t, in, L->executed + n);
			break;
		case PO_ATOM:
			rc = do_atom(L, t, in, L->executed + n);
			break;
		case PO_BRA:
			t->pc = in->target;
			continue;
		case PO_RET:
			t->state = T_DONE;
			goto out;
		case PO_TRAP:
			rc = fail(L, t, in, -EFAULT, "trap");
			break;
		case PO_BAR:
			a = VAL(&in->o[0]) & 0xffffffffu;
			if (a > 15) {
				rc = fail(L, t, in, -EFAULT, "barrier %llu: there "
					  "are 16", (unsigned long long)a);
				break;
			}
			t->bar = (uint8_t)a;
			t->count = 0;
			if (in->flags & PF_HASCOUNT) {
				b = VAL(&in->o[1]) & 0xffffffffu;
				if (b == 0 || b > PTX_MAX_THREADS) {
					rc = fail(L, t, in, -EFAULT, "barrier "
						  "thread count %llu",
						  (unsigned long long)b);
					break;
				}
				t->count = (uint32_t)b;
			}
			t->state = T_BAR;
			t->pc++;
			goto out;
		case PO_BARWARP:
			t->count = (uint32_t)VAL(&in->o[0]);
			if (!(t->count & (1u << (t->lin & 31)))) {
				rc = fail(L, t, in, -EFAULT, "the member mask "
					  "0x%08x leaves out the thread itself",
					  t->count);
				break;
			}
			t->state = T_WARP;
			t->pc++;
			goto out;
		default:
			rc = fail(L, t, in, -EFAULT, "internal: opcode %u",
				  in->op);
			break;
		}
		if (rc)
			break;
		t->pc++;
	}
out:
	L->executed += n;
	return rc;
}

/* -------------------------------------------------------------- a block */

/* Release warp barriers and block barriers whose threads have arrived. */
static bool release(struct lctx *L)
{
	uint32_t waiting[16] = { 0 }, want[16] = { 0 }, live = 0;
	bool any = false;

	for (uint32_t w = 0; w < L->nthreads; w += 32) {
		uint32_t end = w + 32 < L->nthreads ? w + 32 : L->nthreads;
		uint32_t mask = 0, ready = 0;

		for (uint32_t i = w; i < end; i++)
			if (L->thr[i].state == T_WARP)
				mask |= L->thr[i].count;
		/* lanes past the block's last thread count as exited */
		if (end - w < 32)
			mask &= (1u << (end - w)) - 1;
		if (!mask)
			continue;
		for (uint32_t i = w; i < end; i++) {
			struct thr *t = &L->thr[i];

			if (!(mask & (1u << (i - w))))
				continue;
			if (t->state == T_WARP || t->state == T_DONE)
				ready |= 1u << (i - w);
		}
		if ((ready & mask) != mask)
			continue;
		for (uint32_t i = w; i < end; i++)
			if (L->thr[i].state == T_WARP &&
			    (mask & (1u << (i - w)))) {
				L->thr[i].state = T_RUN;
				any = true;
			}
	}
	for (uint32_t i = 0; i < L->nthreads; i++) {
		struct thr *t = &L->thr[i];

		if (t->state != T_DONE)
			live++;
		if (t->state == T_BAR) {
			if (!waiting[t->bar]++)
				want[t->bar] = t->count;
		}
	}
	for (unsigned int b = 0; b < 16; b++) {
		uint32_t need = want[b] ? want[b] : live;

		if (!waiting[b] || waiting[b] < need)
			continue;
		for (uint32_t i = 0; i < L->nthreads; i++)
			if (L->thr[i].state == T_BAR && L->thr[i].bar == b)
				L->thr[i].state = T_RUN;
		any = true;
	}
	return any;
}

static int deadlock(struct lctx *L)
{
	const struct thr *t = NULL;
	uint32_t nbar = 0, nwarp = 0, done = 0;

	for (uint32_t i = 0; i < L->nthreads; i++) {
		if (L->thr[i].state == T_BAR)
			nbar++;
		else if (L->thr[i].state == T_WARP)
			nwarp++;
		else
			done++;
		if (!t && L->thr[i].state != T_DONE)
			t = &L->thr[i];
	}
	return fail(L, t, t ? &L->code[t->pc - 1] : NULL, -ETIMEDOUT,
		    "deadlock: %u threads wait at bar.sync, %u at "
		    "bar.warp.sync, %u have exited, and none can go on (a GPU "
		    "would hang until its watchdog)", nbar, nwarp, done);
}

static int run_block(struct lctx *L)
{
	for (;;) {
		bool live = false;

		for (uint32_t i = 0; i < L->nthreads; i++) {
			struct thr *t = &L->thr[i];
			int rc;

			if (t->state != T_RUN)
				continue;
			rc = run_thread(L, t);
			if (rc)
				return rc;
		}
		for (uint32_t i = 0; i < L->nthreads && !live; i++)
			live = L->thr[i].state != T_DONE;
		if (!live)
			return 0;
		if (!release(L))
			return deadlock(L);
	}
}

/* ------------------------------------------------------------ a launch */

static int check_launch(struct lctx *L)
{
	struct ptx_launch *l = L->l;
	const struct ptx_kernel *k = l->kernel;
	uint64_t threads = (uint64_t)l->block[0] * l->block[1] * l->block[2];
	uint32_t pb = k->param_bytes, limit;

	for (int i = 0; i < 3; i++)
		if (!l->grid[i] || !l->block[i])
			return fail(L, NULL, NULL, -EINVAL, "a grid or block "
				    "dimension of 0");
	if (threads > PTX_MAX_THREADS)
		return fail(L, NULL, NULL, -EINVAL, "%llu threads per block "
			    "(at most %u)", (unsigned long long)threads,
			    PTX_MAX_THREADS);
	if (k->reqntid[0] && (l->block[0] != k->reqntid[0] ||
			      l->block[1] != k->reqntid[1] ||
			      l->block[2] != k->reqntid[2]))
		return fail(L, NULL, NULL, -EINVAL, "the block must be "
			    "%ux%ux%u (.reqntid)", k->reqntid[0], k->reqntid[1],
			    k->reqntid[2]);
	if (k->maxntid[0] &&
	    threads > (uint64_t)k->maxntid[0] * k->maxntid[1] * k->maxntid[2])
		return fail(L, NULL, NULL, -EINVAL, "%llu threads per block, "
			    "more than .maxntid allows",
			    (unsigned long long)threads);
	/* the parameter buffer: its size, up to tail padding to 8 */
	if (l->param_len < pb || l->param_len > ((pb + 7u) & ~7u) ||
	    (l->param_len && !l->params))
		return fail(L, NULL, NULL, -EINVAL, "%zu parameter bytes; the "
			    "kernel takes %u", l->param_len, pb);
	limit = l->max_dyn_shared ? l->max_dyn_shared :
		PTX_MAX_SHARED_PER_BLOCK - k->shared_static;
	if (l->shared_mem > limit ||
	    (uint64_t)k->dyn_base + l->shared_mem > PTX_MAX_SHARED_PER_BLOCK)
		return fail(L, NULL, NULL, -EINVAL, "%u bytes of dynamic shared "
			    "memory (at most %u)", l->shared_mem,
			    PTX_MAX_SHARED_PER_BLOCK - k->dyn_base < limit ?
			    PTX_MAX_SHARED_PER_BLOCK - k->dyn_base : limit);
	if (threads * k->local_bytes > PTX_MAX_LOCAL_PER_THREAD * 128ull)
		return fail(L, NULL, NULL, -EINVAL, "out of resources: %llu "
			    "threads of %u local bytes each",
			    (unsigned long long)threads, k->local_bytes);
	for (size_t i = 0; i < l->nregions; i++)
		if (l->regions[i].addr < PTX_GENERIC_LIMIT ||
		    l->regions[i].size > UINT64_MAX - l->regions[i].addr ||
		    (i && l->regions[i].addr < l->regions[i - 1].addr +
		     l->regions[i - 1].size))
			return fail(L, NULL, NULL, -EINVAL, "the executor's "
				    "regions are not sorted, disjoint and above "
				    "the generic windows");
	for (uint32_t i = 0; i < k->mod->nglobals; i++)
		if (!k->mod->globals[i].bound)
			return fail(L, NULL, NULL, -EINVAL, "variable '%s' has no "
				    "address", k->mod->globals[i].name);
	return 0;
}

/* Charge the budget for what starting a block costs the host. */
static int charge(struct lctx *L, uint64_t cost)
{
	L->executed += cost;
	if (L->executed >= L->limit)
		return fail(L, NULL, NULL, -ETIMEDOUT, "the instruction budget "
			    "(%llu) ran out", (unsigned long long)L->l->budget);
	if (L->l->cancel && *L->l->cancel)
		return fail(L, NULL, NULL, -ECANCELED, "cancelled");
	if (L->next_check <= L->executed)
		L->next_check = L->executed + 1;
	return 0;
}

int ptx_launch(struct ptx_launch *l)
{
	const struct ptx_kernel *k = l->kernel;
	struct lctx L;
	uint64_t start_cost;
	uint32_t nslots;
	int rc;

	memset(&L, 0, sizeof(L));
	l->why[0] = '\0';
	l->insns = 0;
	if (!k || !k->is_entry) {
		snprintf(l->why, sizeof(l->why), "no kernel");
		return -EINVAL;
	}
	L.l = l;
	L.k = k;
	L.code = k->code;
	L.ncode = k->ncode;
	L.g = k->mod->globals;
	rc = check_launch(&L);
	if (rc)
		return rc;
	L.nthreads = l->block[0] * l->block[1] * l->block[2];
	L.shared_size = k->dyn_base + l->shared_mem;
	if (!k->dyn_shared && !l->shared_mem)
		L.shared_size = k->shared_static;
	L.local_size = k->local_bytes;
	L.param_size = (k->param_bytes + 7u) & ~7u;
	L.limit = l->budget ? l->budget : UINT64_MAX;
	L.next_check = L.limit < (1u << 20) ? L.limit : (1u << 20);
	nslots = k->nslots ? k->nslots : 1;

	rc = -ENOMEM;
	L.params = calloc(1, L.param_size ? L.param_size : 1);
	L.shared = calloc(1, L.shared_size ? L.shared_size : 1);
	L.thr = calloc(L.nthreads, sizeof(*L.thr));
	if (!L.params || !L.shared || !L.thr)
		goto out;
	if (l->param_len)
		memcpy(L.params, l->params, l->param_len < L.param_size ?
		       l->param_len : L.param_size);
	L.thr[0].r = calloc((size_t)L.nthreads * nslots, sizeof(uint64_t));
	if (!L.thr[0].r)
		goto out;
	if (L.local_size) {
		L.thr[0].local = calloc(L.nthreads, L.local_size);
		if (!L.thr[0].local)
			goto out;
	}
	for (uint32_t i = 0; i < L.nthreads; i++) {
		struct thr *t = &L.thr[i];

		t->r = L.thr[0].r + (size_t)i * nslots;
		if (L.local_size)
			t->local = L.thr[0].local + (size_t)i * L.local_size;
		t->lin = i;
		t->tid[0] = i % l->block[0];
		t->tid[1] = i / l->block[0] % l->block[1];
		t->tid[2] = i / (l->block[0] * l->block[1]);
	}
	/* a block's start costs its threads, registers and shared memory */
	start_cost = L.nthreads * (1ull + nslots / 8) + L.shared_size / 64;

	rc = 0;
	for (uint32_t z = 0; z < l->grid[2] && !rc; z++)
		for (uint32_t y = 0; y < l->grid[1] && !rc; y++)
			for (uint32_t x = 0; x < l->grid[0] && !rc; x++) {
				L.ctaid[0] = x;
				L.ctaid[1] = y;
				L.ctaid[2] = z;
				rc = charge(&L, start_cost);
				if (rc)
					break;
				memset(L.thr[0].r, 0, (size_t)L.nthreads * nslots *
				       sizeof(uint64_t));
				memset(L.shared, 0, L.shared_size);
				for (uint32_t i = 0; i < L.nthreads; i++) {
					L.thr[i].pc = 0;
					L.thr[i].state = T_RUN;
				}
				rc = run_block(&L);
			}
out:
	if (rc == -ENOMEM)
		snprintf(l->why, sizeof(l->why), "kernel %s: out of host memory "
			 "for %u threads", k->name, L.nthreads);
	l->insns = L.executed;
	if (L.thr) {
		free(L.thr[0].r);
		free(L.thr[0].local);
	}
	free(L.thr);
	free(L.shared);
	free(L.params);
	return rc;
}
