/* SPDX-License-Identifier: MIT */
/*
 * ptx-insn.c - one PTX instruction, as parsed, into struct ptx_insn: the
 * opcode and its modifiers checked against what the interpreter does, the
 * operands checked for kind and width, immediates encoded in the type each
 * operand has. What the interpreter would not run exactly as the PTX ISA
 * says is refused here, with the reason, so that nothing is misexecuted:
 * directed rounding (.rz .rm .rp), half precision, carries (.cc), calls,
 * textures, warp shuffles and votes, and everything not in ptx.h's list.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ptx-insn.h"

/* modifier categories */
enum {
	C_TYPE = 1u << 0, C_SPACE = 1u << 1, C_VEC = 1u << 2, C_CMP = 1u << 3,
	C_BOOL = 1u << 4, C_ATOM = 1u << 5, C_FRND = 1u << 6, C_IRND = 1u << 7,
	C_SAT = 1u << 8, C_FTZ = 1u << 9, C_APPROX = 1u << 10,
	C_FULL = 1u << 11, C_UNI = 1u << 12, C_ALIGNED = 1u << 13,
	C_SYNC = 1u << 14, C_TO = 1u << 15, C_WIDE = 1u << 16,
	C_WARP = 1u << 17, C_TESTP = 1u << 18, C_MEMQ = 1u << 19,
	C_SCOPE = 1u << 20,
};

struct mods {
	uint32_t used;
	uint8_t  types[2];
	unsigned int ntypes;
	int space, vec, cmp, boolop, atomop, frnd, irnd, testp;
	uint8_t  cat[16];        /* each modifier's category              */
};

static int err(char *msg, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int err(char *msg, size_t cap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, cap, fmt, ap);
	va_end(ap);
	return -1;
}

static bool mod_is(const char *s, uint32_t len, const char *w)
{
	size_t n = strlen(w);

	return len == n && !memcmp(s, w, n);
}

struct word { const char *s; int v; };

static int lookup(const struct word *w, size_t n, const char *s, uint32_t len)
{
	for (size_t i = 0; i < n; i++)
		if (mod_is(s, len, w[i].s))
			return w[i].v;
	return -1;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct word w_types[] = {
	{ ".pred", PT_PRED },
	{ ".b8", PT_B8 }, { ".b16", PT_B16 }, { ".b32", PT_B32 },
	{ ".b64", PT_B64 }, { ".u8", PT_U8 }, { ".u16", PT_U16 },
	{ ".u32", PT_U32 }, { ".u64", PT_U64 }, { ".s8", PT_S8 },
	{ ".s16", PT_S16 }, { ".s32", PT_S32 }, { ".s64", PT_S64 },
	{ ".f32", PT_F32 }, { ".f64", PT_F64 },
};
static const struct word w_spaces[] = {
	{ ".global", PS_GLOBAL }, { ".const", PS_CONST },
	{ ".shared", PS_SHARED }, { ".shared::cta", PS_SHARED },
	{ ".local", PS_LOCAL }, { ".param", PS_PARAM },
	{ ".param::entry", PS_PARAM },
};
static const struct word w_cmp[] = {
	{ ".eq", PC_EQ }, { ".ne", PC_NE }, { ".lt", PC_LT }, { ".le", PC_LE },
	{ ".gt", PC_GT }, { ".ge", PC_GE }, { ".lo", PC_LO }, { ".ls", PC_LS },
	{ ".hi", PC_HI }, { ".hs", PC_HS }, { ".equ", PC_EQU },
	{ ".neu", PC_NEU }, { ".ltu", PC_LTU }, { ".leu", PC_LEU },
	{ ".gtu", PC_GTU }, { ".geu", PC_GEU }, { ".num", PC_NUM },
	{ ".nan", PC_NAN },
};
static const struct word w_bool[] = {
	{ ".and", PB_AND }, { ".or", PB_OR }, { ".xor", PB_XOR },
};
static const struct word w_atom[] = {
	{ ".add", PA_ADD }, { ".min", PA_MIN }, { ".max", PA_MAX },
	{ ".exch", PA_EXCH }, { ".cas", PA_CAS }, { ".inc", PA_INC },
	{ ".dec", PA_DEC },
};
static const struct word w_irnd[] = {
	{ ".rni", PR_RNI }, { ".rzi", PR_RZI }, { ".rmi", PR_RMI },
	{ ".rpi", PR_RPI },
};
static const struct word w_testp[] = {
	{ ".finite", PT_FINITE }, { ".infinite", PT_INFINITE },
	{ ".number", PT_NUMBER }, { ".notanumber", PT_NOTANUMBER },
	{ ".normal", PT_NORMAL }, { ".subnormal", PT_SUBNORMAL },
};
static const struct word w_flags[] = {
	{ ".sat", C_SAT }, { ".ftz", C_FTZ }, { ".approx", C_APPROX },
	{ ".full", C_FULL }, { ".uni", C_UNI }, { ".aligned", C_ALIGNED },
	{ ".sync", C_SYNC }, { ".to", C_TO }, { ".wide", C_WIDE },
	{ ".warp", C_WARP },
};
/* memory-order and cache qualifiers: a single thread at a time honours
 * every one of them by running loads and stores in program order */
static const char *const w_memq[] = {
	".nc", ".volatile", ".weak", ".relaxed", ".acquire", ".release",
	".acq_rel", ".sc", ".ca", ".cg", ".cs", ".lu", ".cv", ".wb", ".wt",
	".gl",
};
static const char *const w_scope[] = { ".cta", ".gpu", ".sys", ".cluster" };
static const char *const w_unsup_types[] = {
	".f16", ".f16x2", ".bf16", ".bf16x2", ".tf32", ".e4m3", ".e5m2",
	".b128", ".u128", ".s128", ".e4m3x2", ".e5m2x2",
};

static int classify(const struct ptx_pinsn *pi, struct mods *m, char *msg,
		    size_t cap)
{
	memset(m, 0, sizeof(*m));
	m->space = m->vec = m->cmp = m->boolop = m->atomop = m->frnd =
		m->irnd = m->testp = -1;
	for (unsigned int i = 0; i < pi->nmods; i++) {
		const char *s = pi->mod[i].s;
		uint32_t len = pi->mod[i].len;
		uint32_t c = 0;
		int v;

		if ((v = lookup(w_types, N(w_types), s, len)) >= 0) {
			if (m->ntypes >= 2)
				return err(msg, cap, "too many types in '%.*s'",
					   (int)pi->op_len, pi->op);
			m->types[m->ntypes++] = (uint8_t)v;
			c = C_TYPE;
		} else if ((v = lookup(w_spaces, N(w_spaces), s, len)) >= 0) {
			m->space = v;
			c = C_SPACE;
		} else if (mod_is(s, len, ".v2") || mod_is(s, len, ".v4")) {
			m->vec = s[2] - '0';
			c = C_VEC;
		} else if ((v = lookup(w_cmp, N(w_cmp), s, len)) >= 0) {
			m->cmp = v;
			c = C_CMP;
		} else if ((v = lookup(w_bool, N(w_bool), s, len)) >= 0) {
			m->boolop = v;
			c = C_BOOL;
		} else if ((v = lookup(w_atom, N(w_atom), s, len)) >= 0) {
			m->atomop = v;
			c = C_ATOM;
		} else if (mod_is(s, len, ".rn")) {
			m->frnd = 0;
			c = C_FRND;
		} else if (mod_is(s, len, ".rz") || mod_is(s, len, ".rm") ||
			   mod_is(s, len, ".rp") || mod_is(s, len, ".rna") ||
			   mod_is(s, len, ".rs")) {
			return err(msg, cap, "rounding %.*s is not supported by "
				   "the cpu executor (only .rn)", (int)len, s);
		} else if ((v = lookup(w_irnd, N(w_irnd), s, len)) >= 0) {
			m->irnd = v;
			c = C_IRND;
		} else if ((v = lookup(w_testp, N(w_testp), s, len)) >= 0) {
			m->testp = v;
			c = C_TESTP;
		} else if ((v = lookup(w_flags, N(w_flags), s, len)) >= 0) {
			c = (uint32_t)v;
		} else {
			for (size_t j = 0; j < N(w_memq); j++)
				if (mod_is(s, len, w_memq[j]))
					c = C_MEMQ;
			for (size_t j = 0; j < N(w_scope); j++)
				if (mod_is(s, len, w_scope[j]))
					c = C_SCOPE;
			if ((len > 5 && !memcmp(s, ".L1::", 5)) ||
			    (len > 5 && !memcmp(s, ".L2::", 5) &&
			     !mod_is(s, len, ".L2::cache_hint")))
				c = C_MEMQ;
			for (size_t j = 0; j < N(w_unsup_types); j++)
				if (mod_is(s, len, w_unsup_types[j]))
					return err(msg, cap, "type %.*s is not "
						   "supported by the cpu executor",
						   (int)len, s);
			if (!c)
				return err(msg, cap, "'%.*s%.*s': modifier %.*s is "
					   "not supported by the cpu executor",
					   (int)pi->op_len, pi->op, (int)len, s,
					   (int)len, s);
		}
		if (m->used & c & ~(uint32_t)(C_TYPE | C_MEMQ | C_SCOPE))
			return err(msg, cap, "'%.*s': modifier %.*s repeats a "
				   "kind already given", (int)pi->op_len, pi->op,
				   (int)len, s);
		m->used |= c;
		m->cat[i] = (uint8_t)__builtin_ctz(c);
	}
	return 0;
}

/* Refuse modifiers outside allowed, naming the first. */
static int only(const struct ptx_pinsn *pi, const struct mods *m,
		uint32_t allowed, char *msg, size_t cap)
{
	for (unsigned int i = 0; i < pi->nmods; i++)
		if (!((1u << m->cat[i]) & allowed))
			return err(msg, cap, "'%.*s' does not take %.*s here",
				   (int)pi->op_len, pi->op, (int)pi->mod[i].len,
				   pi->mod[i].s);
	return 0;
}

/* type classes */
enum {
	TC_PRED = 1u << 0, TC_B = 1u << 1, TC_U = 1u << 2, TC_S = 1u << 3,
	TC_F32 = 1u << 4, TC_F64 = 1u << 5, TC_8 = 1u << 6, TC_16 = 1u << 7,
	TC_32 = 1u << 8, TC_64 = 1u << 9,
};
#define TC_INT  (TC_B | TC_U | TC_S)
#define TC_F    (TC_F32 | TC_F64)
#define TC_W    (TC_16 | TC_32 | TC_64)   /* ALU widths */

static bool type_in(unsigned int t, uint32_t cls)
{
	unsigned int sz = ptx_type_size(t);
	uint32_t w = sz == 1 ? TC_8 : sz == 2 ? TC_16 : sz == 4 ? TC_32 : TC_64;

	if (t == PT_PRED)
		return cls & TC_PRED;
	if (t == PT_F32)
		return cls & TC_F32;
	if (t == PT_F64)
		return cls & TC_F64;
	if (!(cls & w))
		return false;
	if (t >= PT_B8 && t <= PT_B64)
		return cls & TC_B;
	if (t >= PT_U8 && t <= PT_U64)
		return cls & TC_U;
	return cls & TC_S;
}

static const char *type_name(unsigned int t)
{
	for (size_t i = 0; i < N(w_types); i++)
		if (w_types[i].v == (int)t)
			return w_types[i].s;
	return "(none)";
}

/* The one type the instruction must name, of class cls. */
static int one_type(const struct ptx_pinsn *pi, const struct mods *m,
		    uint32_t cls, unsigned int *t, char *msg, size_t cap)
{
	if (m->ntypes != 1)
		return err(msg, cap, "'%.*s' needs exactly one type",
			   (int)pi->op_len, pi->op);
	if (!type_in(m->types[0], cls))
		return err(msg, cap, "'%.*s%s' is not supported by the cpu "
			   "executor (type)", (int)pi->op_len, pi->op,
			   type_name(m->types[0]));
	*t = m->types[0];
	return 0;
}

static int nops(const struct ptx_pinsn *pi, unsigned int lo, unsigned int hi,
		char *msg, size_t cap)
{
	if (pi->has_pipe)
		return err(msg, cap, "'%.*s' takes no p|q destination",
			   (int)pi->op_len, pi->op);
	if (pi->nopnds < lo || pi->nopnds > hi)
		return err(msg, cap, "'%.*s' takes %u%s operands, not %u",
			   (int)pi->op_len, pi->op, lo, hi > lo ? " or more" : "",
			   pi->nopnds);
	return 0;
}

/* --------------------------------------------------------- operands */

/* Encode an immediate for an operand of type t. */
static int enc_imm(const struct ptx_popnd *po, unsigned int t, uint64_t *out,
		   char *msg, size_t cap)
{
	unsigned int sz = ptx_type_size(t);
	uint64_t v = 0;

	if (t == PT_F32 || t == PT_F64) {
		double d;
		float f;

		switch (po->imm_kind) {
		case IK_INT:
			d = (double)po->ival;
			break;
		case IK_F32BITS: {
			uint32_t b = (uint32_t)po->ival;

			if (t == PT_F32 && !po->negated) {
				*out = b;       /* exact, NaN payloads too */
				return 0;
			}
			memcpy(&f, &b, 4);
			d = f;
			break;
		}
		case IK_F64BITS:
			if (t == PT_F64 && !po->negated) {
				*out = po->ival;
				return 0;
			}
			memcpy(&d, &po->ival, 8);
			break;
		default:
			d = po->fval;
			break;
		}
		if (po->negated)
			d = -d;
		if (t == PT_F32) {
			uint32_t b;

			f = (float)d;
			memcpy(&b, &f, 4);
			v = b;
		} else {
			memcpy(&v, &d, 8);
		}
		*out = v;
		return 0;
	}
	if (po->imm_kind == IK_DOUBLE)
		return err(msg, cap, "a floating-point constant for a %s operand",
			   type_name(t));
	if (po->imm_kind == IK_F32BITS || po->imm_kind == IK_F64BITS) {
		/* bit patterns for bit types of their size: mov.b32 %r, 0f... */
		if ((po->imm_kind == IK_F32BITS && sz != 4) ||
		    (po->imm_kind == IK_F64BITS && sz != 8) ||
		    t < PT_B8 || t > PT_B64)
			return err(msg, cap, "a floating-point constant for a %s "
				   "operand", type_name(t));
		v = po->ival;
		if (po->negated)
			v ^= 1ull << (sz * 8 - 1);
		*out = v;
		return 0;
	}
	v = po->negated ? (uint64_t)0 - po->ival : po->ival;
	if (t == PT_PRED) {
		*out = v != 0;
		return 0;
	}
	if (sz < 8)
		v &= (1ull << (sz * 8)) - 1;
	*out = v;
	return 0;
}

enum {
	OP_REG = 1u << 0, OP_IMM = 1u << 1, OP_SREG = 1u << 2,
	OP_SYM = 1u << 3, OP_WIDE = 1u << 4,    /* a wider register is fine */
	OP_NARROW = 1u << 5,                    /* a narrower one too       */
	OP_SINK = 1u << 6, OP_NEG = 1u << 7,
};
#define OP_VAL (OP_REG | OP_IMM | OP_SREG)

/* A source operand of type t: what kinds it may be, checked and copied. */
static int src(const struct ptx_pinsn *pi, unsigned int i, unsigned int t,
	       uint32_t ok, struct ptx_opnd *o, char *msg, size_t cap)
{
	const struct ptx_popnd *po = &pi->opnd[i];
	unsigned int sz = ptx_type_size(t);

	*o = po->o;
	if (po->is_label)
		return err(msg, cap, "operand %u of '%.*s': '%.*s' is not "
			   "declared", i + 1, (int)pi->op_len, pi->op,
			   (int)(po->name_len > 40 ? 40 : po->name_len), po->name);
	switch (po->o.kind) {
	case PK_REG:
		if (!(ok & OP_REG))
			break;
		if (po->o.reg == PTX_NOREG)
			return err(msg, cap, "operand %u of '%.*s': '_' cannot "
				   "be read", i + 1, (int)pi->op_len, pi->op);
		if ((t == PT_PRED) != (po->rtype == PT_PRED))
			return err(msg, cap, "operand %u of '%.*s': a %s "
				   "register where %s is wanted", i + 1,
				   (int)pi->op_len, pi->op, type_name(po->rtype),
				   type_name(t));
		if (po->o.neg && !(ok & OP_NEG))
			return err(msg, cap, "operand %u of '%.*s': '!' is not "
				   "allowed here", i + 1, (int)pi->op_len, pi->op);
		if (t != PT_PRED && po->o.rsize != sz &&
		    !(po->o.rsize > sz && (ok & OP_WIDE)) &&
		    !(po->o.rsize < sz && (ok & OP_NARROW)))
			return err(msg, cap, "operand %u of '%.*s': a %u-bit "
				   "register for a %s operand", i + 1,
				   (int)pi->op_len, pi->op, po->o.rsize * 8,
				   type_name(t));
		return 0;
	case PK_IMM:
		if (!(ok & OP_IMM))
			break;
		o->imm = 0;
		return enc_imm(po, t, &o->imm, msg, cap);
	case PK_SREG:
		if (!(ok & OP_SREG) || t == PT_PRED || ptx_type_float(t))
			break;
		return 0;
	case PK_SYM:
		if (!(ok & OP_SYM) || !ptx_type_int(t) || sz < 4)
			break;
		return 0;
	default:
		break;
	}
	return err(msg, cap, "operand %u of '%.*s' cannot be %s", i + 1,
		   (int)pi->op_len, pi->op,
		   po->o.kind == PK_IMM ? "a constant" :
		   po->o.kind == PK_SREG ? "a special register" :
		   po->o.kind == PK_ADDR ? "an address" :
		   po->o.kind == PK_VEC ? "a vector" :
		   po->o.kind == PK_SYM ? "a variable" : "that");
}

/* A destination register of type t. */
static int dst(const struct ptx_pinsn *pi, unsigned int i, unsigned int t,
	       uint32_t ok, struct ptx_opnd *o, char *msg, size_t cap)
{
	const struct ptx_popnd *po = &pi->opnd[i];
	unsigned int sz = ptx_type_size(t);

	*o = po->o;
	if (po->o.kind != PK_REG || po->is_label)
		return err(msg, cap, "operand %u of '%.*s' must be a register",
			   i + 1, (int)pi->op_len, pi->op);
	if (po->o.reg == PTX_NOREG) {
		if (!(ok & OP_SINK))
			return err(msg, cap, "operand %u of '%.*s' cannot be '_'",
				   i + 1, (int)pi->op_len, pi->op);
		o->rsize = (uint8_t)(sz ? sz : 8);
		return 0;
	}
	if (po->o.neg)
		return err(msg, cap, "a destination cannot be negated");
	if ((t == PT_PRED) != (po->rtype == PT_PRED))
		return err(msg, cap, "operand %u of '%.*s': a %s register where "
			   "%s is wanted", i + 1, (int)pi->op_len, pi->op,
			   type_name(po->rtype), type_name(t));
	if (t != PT_PRED && po->o.rsize != sz &&
	    !(po->o.rsize > sz && (ok & OP_WIDE)))
		return err(msg, cap, "operand %u of '%.*s': a %u-bit register "
			   "for a %s result", i + 1, (int)pi->op_len, pi->op,
			   po->o.rsize * 8, type_name(t));
	return 0;
}

static int addr(const struct ptx_pinsn *pi, unsigned int i, int space,
		struct ptx_opnd *o, char *msg, size_t cap)
{
	const struct ptx_popnd *po = &pi->opnd[i];

	*o = po->o;
	if (po->o.kind != PK_ADDR)
		return err(msg, cap, "operand %u of '%.*s' must be an address "
			   "[...]", i + 1, (int)pi->op_len, pi->op);
	if ((po->o.sym >= 0 || po->o.frame) && space != PS_GENERIC &&
	    po->vspace != space)
		return err(msg, cap, "'%.*s' of a variable in another state space",
			   (int)pi->op_len, pi->op);
	return 0;
}

/* ---------------------------------------------------------- decoders */

#define DEC(name) static int name(const struct ptx_pinsn *pi, \
	const struct mods *m, struct ptx_insn *in __attribute__((unused)), \
	char *msg, size_t cap)

/* d, a, b [, c]: every operand of the instruction's type */
static int ops_same(const struct ptx_pinsn *pi, struct ptx_insn *in,
		    unsigned int n, char *msg, size_t cap)
{
	if (nops(pi, n, n, msg, cap) ||
	    dst(pi, 0, in->type, 0, &in->o[0], msg, cap))
		return -1;
	for (unsigned int i = 1; i < n; i++)
		if (src(pi, i, in->type, OP_VAL | OP_SYM, &in->o[i], msg, cap))
			return -1;
	in->nops = (uint8_t)n;
	return 0;
}

static void flags_from(const struct mods *m, struct ptx_insn *in)
{
	if (m->used & C_SAT)
		in->flags |= PF_SAT;
	if (m->used & C_FTZ)
		in->flags |= PF_FTZ;
}

DEC(dec_addsub)
{
	unsigned int t;

	if (one_type(pi, m, TC_INT | TC_W | TC_F, &t, msg, cap))
		return -1;
	in->type = (uint8_t)t;
	if (ptx_type_float(t)) {
		if (only(pi, m, C_TYPE | C_FRND | C_FTZ | C_SAT, msg, cap))
			return -1;
		if ((m->used & C_SAT) && t != PT_F32)
			return err(msg, cap, ".sat needs .f32");
	} else {
		if (only(pi, m, C_TYPE | C_SAT, msg, cap))
			return -1;
		if ((m->used & C_SAT) && t != PT_S32)
			return err(msg, cap, "integer .sat needs .s32");
	}
	flags_from(m, in);
	return ops_same(pi, in, 3, msg, cap);
}

DEC(dec_mul)
{
	unsigned int t;
	bool fl;

	if (one_type(pi, m, TC_U | TC_S | TC_W | TC_F, &t, msg, cap))
		return -1;
	in->type = (uint8_t)t;
	fl = ptx_type_float(t);
	if (fl) {
		if (only(pi, m, C_TYPE | C_FRND | C_FTZ | C_SAT, msg, cap))
			return -1;
		if ((m->used & C_SAT) && t != PT_F32)
			return err(msg, cap, ".sat needs .f32");
		flags_from(m, in);
		return ops_same(pi, in, in->op == PO_MUL ? 3 : 4, msg, cap);
	}
	if (only(pi, m, C_TYPE | C_CMP | C_WIDE, msg, cap))
		return -1;
	if (m->used & C_WIDE) {
		in->mode = PM_WIDE;
	} else if (m->cmp == PC_LO) {
		in->mode = PM_LO;
	} else if (m->cmp == PC_HI) {
		in->mode = PM_HI;
	} else {
		return err(msg, cap, "integer '%.*s' needs .lo, .hi or .wide",
			   (int)pi->op_len, pi->op);
	}
	if (in->mode == PM_WIDE) {
		/* d is twice as wide as a and b (and c, for mad) */
		unsigned int wt;

		if (ptx_type_size(t) == 8)
			return err(msg, cap, ".wide takes 16- or 32-bit sources");
		wt = t + 1;     /* PT_U16 -> PT_U32 etc. */
		in->type2 = (uint8_t)t;
		if (nops(pi, in->op == PO_MUL ? 3 : 4, in->op == PO_MUL ? 3 : 4,
			 msg, cap) ||
		    dst(pi, 0, wt, 0, &in->o[0], msg, cap) ||
		    src(pi, 1, t, OP_VAL, &in->o[1], msg, cap) ||
		    src(pi, 2, t, OP_VAL, &in->o[2], msg, cap))
			return -1;
		if (in->op == PO_MAD &&
		    src(pi, 3, wt, OP_VAL, &in->o[3], msg, cap))
			return -1;
		in->nops = (uint8_t)pi->nopnds;
		return 0;
	}
	return ops_same(pi, in, in->op == PO_MUL ? 3 : 4, msg, cap);
}

DEC(dec_fma)
{
	unsigned int t;

	if (one_type(pi, m, TC_F, &t, msg, cap) ||
	    only(pi, m, C_TYPE | C_FRND | C_FTZ | C_SAT, msg, cap))
		return -1;
	if (!(m->used & C_FRND))
		return err(msg, cap, "fma needs a rounding modifier (.rn)");
	in->type = (uint8_t)t;
	flags_from(m, in);
	return ops_same(pi, in, 4, msg, cap);
}

DEC(dec_div)
{
	unsigned int t;

	if (one_type(pi, m, TC_U | TC_S | TC_W | TC_F, &t, msg, cap))
		return -1;
	in->type = (uint8_t)t;
	if (ptx_type_float(t)) {
		if (only(pi, m, C_TYPE | C_FRND | C_APPROX | C_FULL | C_FTZ,
			 msg, cap))
			return -1;
		if (t == PT_F32 && !(m->used & (C_FRND | C_APPROX | C_FULL)))
			return err(msg, cap, "div.f32 needs .rn, .approx or .full");
		flags_from(m, in);
	} else if (only(pi, m, C_TYPE, msg, cap)) {
		return -1;
	}
	return ops_same(pi, in, 3, msg, cap);
}

DEC(dec_rem)
{
	unsigned int t;

	if (one_type(pi, m, TC_U | TC_S | TC_W, &t, msg, cap) ||
	    only(pi, m, C_TYPE, msg, cap))
		return -1;
	in->type = (uint8_t)t;
	return ops_same(pi, in, 3, msg, cap);
}

DEC(dec_absneg)
{
	unsigned int t;

	if (one_type(pi, m, TC_S | TC_W | TC_F, &t, msg, cap) ||
	    only(pi, m, C_TYPE | C_FTZ, msg, cap))
		return -1;
	in->type = (uint8_t)t;
	flags_from(m, in);
	return ops_same(pi, in, 2, msg, cap);
}

DEC(dec_minmax)
{
	unsigned int t;

	if (one_type(pi, m, TC_U | TC_S | TC_W | TC_F, &t, msg, cap) ||
	    only(pi, m, C_TYPE | C_FTZ, msg, cap))
		return -1;
	in->type = (uint8_t)t;
	flags_from(m, in);
	return ops_same(pi, in, 3, msg, cap);
}

DEC(dec_logic)
{
	unsigned int t;

	if (one_type(pi, m, in->op == PO_CNOT ? TC_B | TC_W :
		     TC_PRED | TC_B | TC_W, &t, msg, cap) ||
	    only(pi, m, C_TYPE, msg, cap))
		return -1;
	in->type = (uint8_t)t;
	return ops_same(pi, in, in->op == PO_NOT || in->op == PO_CNOT ? 2 : 3,
			msg, cap);
}

DEC(dec_shift)
{
	unsigned int t;

	if (one_type(pi, m, in->op == PO_SHL ? TC_B | TC_W : TC_INT | TC_W,
		     &t, msg, cap) ||
	    only(pi, m, C_TYPE, msg, cap))
		return -1;
	in->type = (uint8_t)t;
	in->nops = 3;
	return nops(pi, 3, 3, msg, cap) ||
	       dst(pi, 0, t, 0, &in->o[0], msg, cap) ||
	       src(pi, 1, t, OP_VAL, &in->o[1], msg, cap) ||
	       src(pi, 2, PT_U32, OP_VAL, &in->o[2], msg, cap) ? -1 : 0;
}

/* popc, clz (u32 result), brev (same type) */
DEC(dec_bits)
{
	unsigned int t;

	if (one_type(pi, m, TC_B | TC_32 | TC_64, &t, msg, cap) ||
	    only(pi, m, C_TYPE, msg, cap))
		return -1;
	in->type = (uint8_t)t;
	in->nops = 2;
	return nops(pi, 2, 2, msg, cap) ||
	       dst(pi, 0, in->op == PO_BREV ? t : PT_U32, 0, &in->o[0], msg,
		   cap) ||
	       src(pi, 1, t, OP_VAL, &in->o[1], msg, cap) ? -1 : 0;
}

DEC(dec_bfe)
{
	unsigned int t;

	if (one_type(pi, m, TC_U | TC_S | TC_32 | TC_64, &t, msg, cap) ||
	    only(pi, m, C_TYPE, msg, cap))
		return -1;
	in->type = (uint8_t)t;
	in->nops = 4;
	return nops(pi, 4, 4, msg, cap) ||
	       dst(pi, 0, t, 0, &in->o[0], msg, cap) ||
	       src(pi, 1, t, OP_VAL, &in->o[1], msg, cap) ||
	       src(pi, 2, PT_U32, OP_VAL, &in->o[2], msg, cap) ||
	       src(pi, 3, PT_U32, OP_VAL, &in->o[3], msg, cap) ? -1 : 0;
}

DEC(dec_bfi)
{
	unsigned int t;

	if (one_type(pi, m, TC_B | TC_32 | TC_64, &t, msg, cap) ||
	    only(pi, m, C_TYPE, msg, cap))
		return -1;
	in->type = (uint8_t)t;
	in->nops = 5;
	return nops(pi, 5, 5, msg, cap) ||
	       dst(pi, 0, t, 0, &in->o[0], msg, cap) ||
	       src(pi, 1, t, OP_VAL, &in->o[1], msg, cap) ||
	       src(pi, 2, t, OP_VAL, &in->o[2], msg, cap) ||
	       src(pi, 3, PT_U32, OP_VAL, &in->o[3], msg, cap) ||
	       src(pi, 4, PT_U32, OP_VAL, &in->o[4], msg, cap) ? -1 : 0;
}

DEC(dec_prmt)
{
	unsigned int t;

	if (one_type(pi, m, TC_B | TC_32, &t, msg, cap) ||
	    only(pi, m, C_TYPE, msg, cap))
		return -1;
	in->type = (uint8_t)t;
	return ops_same(pi, in, 4, msg, cap);
}

/* rcp sqrt rsqrt ex2 lg2 sin cos tanh */
DEC(dec_fun)
{
	unsigned int t;
	uint32_t allowed = C_TYPE | C_FTZ | C_APPROX;

	if (in->op == PO_RCP || in->op == PO_SQRT)
		allowed |= C_FRND;
	if (one_type(pi, m, in->op == PO_RCP || in->op == PO_SQRT ||
		     in->op == PO_RSQRT ? TC_F : TC_F32, &t, msg, cap) ||
	    only(pi, m, allowed, msg, cap))
		return -1;
	if (!(m->used & (C_FRND | C_APPROX)))
		return err(msg, cap, "'%.*s' needs %s", (int)pi->op_len, pi->op,
			   allowed & C_FRND ? ".rn or .approx" : ".approx");
	in->type = (uint8_t)t;
	flags_from(m, in);
	return ops_same(pi, in, 2, msg, cap);
}

DEC(dec_copysign)
{
	unsigned int t;

	if (one_type(pi, m, TC_F, &t, msg, cap) || only(pi, m, C_TYPE, msg, cap))
		return -1;
	in->type = (uint8_t)t;
	return ops_same(pi, in, 3, msg, cap);
}

DEC(dec_testp)
{
	unsigned int t;

	if (one_type(pi, m, TC_F, &t, msg, cap) ||
	    only(pi, m, C_TYPE | C_TESTP, msg, cap))
		return -1;
	if (m->testp < 0)
		return err(msg, cap, "testp needs .finite, .infinite, .number, "
			   ".notanumber, .normal or .subnormal");
	in->type = (uint8_t)t;
	in->mode = (uint8_t)m->testp;
	in->nops = 2;
	return nops(pi, 2, 2, msg, cap) ||
	       dst(pi, 0, PT_PRED, 0, &in->o[0], msg, cap) ||
	       src(pi, 1, t, OP_REG | OP_IMM, &in->o[1], msg, cap) ? -1 : 0;
}

DEC(dec_setp)
{
	unsigned int t, c, first;

	if (one_type(pi, m, TC_INT | TC_W | TC_F, &t, msg, cap) ||
	    only(pi, m, C_TYPE | C_CMP | C_BOOL | C_FTZ, msg, cap))
		return -1;
	if (m->cmp < 0)
		return err(msg, cap, "setp needs a comparison (.eq, .lt, ...)");
	c = (unsigned int)m->cmp;
	if (ptx_type_float(t) ? (c >= PC_LO && c <= PC_HS) : c >= PC_EQU)
		return err(msg, cap, "comparison %s does not apply to %s",
			   w_cmp[c].s, type_name(t));
	in->type = (uint8_t)t;
	in->mode = (uint8_t)c;
	in->boolop = m->boolop < 0 ? PB_NONE : (uint8_t)m->boolop;
	flags_from(m, in);
	/* p[|q], a, b [, {!}c] */
	first = pi->has_pipe ? 2 : 1;
	if (pi->nopnds != first + 2 + (in->boolop != PB_NONE))
		return err(msg, cap, "setp takes %s, a, b%s", pi->has_pipe ?
			   "p|q" : "p", in->boolop ? ", c" : "");
	if (dst(pi, 0, PT_PRED, 0, &in->o[0], msg, cap))
		return -1;
	if (pi->has_pipe) {
		if (dst(pi, 1, PT_PRED, OP_SINK, &in->o[1], msg, cap))
			return -1;
	} else {
		in->o[1].kind = PK_NONE;
		in->o[1].reg = PTX_NOREG;
	}
	if (src(pi, first, t, OP_VAL | OP_SYM, &in->o[2], msg, cap) ||
	    src(pi, first + 1, t, OP_VAL | OP_SYM, &in->o[3], msg, cap))
		return -1;
	if (in->boolop != PB_NONE &&
	    src(pi, first + 2, PT_PRED, OP_REG | OP_NEG, &in->o[4], msg, cap))
		return -1;
	in->nops = 5;
	return 0;
}

DEC(dec_selp)
{
	unsigned int t;

	if (one_type(pi, m, TC_INT | TC_W | TC_F, &t, msg, cap) ||
	    only(pi, m, C_TYPE, msg, cap))
		return -1;
	in->type = (uint8_t)t;
	in->nops = 4;
	return nops(pi, 4, 4, msg, cap) ||
	       dst(pi, 0, t, 0, &in->o[0], msg, cap) ||
	       src(pi, 1, t, OP_VAL | OP_SYM, &in->o[1], msg, cap) ||
	       src(pi, 2, t, OP_VAL | OP_SYM, &in->o[2], msg, cap) ||
	       src(pi, 3, PT_PRED, OP_REG | OP_NEG, &in->o[3], msg, cap) ? -1 : 0;
}

DEC(dec_mov)
{
	const struct ptx_popnd *d = &pi->opnd[0], *a = &pi->opnd[1];
	unsigned int t;

	if (one_type(pi, m, TC_PRED | TC_INT | TC_16 | TC_32 | TC_64 | TC_F,
		     &t, msg, cap) ||
	    only(pi, m, C_TYPE, msg, cap) || nops(pi, 2, 2, msg, cap))
		return -1;
	in->type = (uint8_t)t;
	in->nops = 2;
	if (d->o.kind == PK_VEC || a->o.kind == PK_VEC) {
		const struct ptx_popnd *v = d->o.kind == PK_VEC ? d : a;
		unsigned int es;

		if (d->o.kind == PK_VEC && a->o.kind == PK_VEC)
			return err(msg, cap, "mov between two vectors");
		if ((t < PT_B16 || t > PT_B64) || (v->o.nvec != 2 && v->o.nvec != 4))
			return err(msg, cap, "mov pack/unpack takes .b16/.b32/"
				   ".b64 and 2 or 4 registers");
		es = ptx_type_size(t) / v->o.nvec;
		if (!es)
			return err(msg, cap, "mov: elements narrower than a byte");
		for (unsigned int i = 0; i < v->o.nvec; i++)
			if (v->o.vreg[i] != PTX_NOREG &&
			    ptx_type_size(v->vtype[i]) != es)
				return err(msg, cap, "mov pack/unpack: element %u "
					   "is not %u bits wide", i, es * 8);
		if (v == a) {
			/* pack: d = {a0, a1, ...} */
			for (unsigned int i = 0; i < v->o.nvec; i++)
				if (v->o.vreg[i] == PTX_NOREG)
					return err(msg, cap, "'_' cannot be read");
			in->op = PO_MOVPACK;
			in->o[1] = a->o;
			in->o[1].rsize = (uint8_t)es;
			return dst(pi, 0, t, 0, &in->o[0], msg, cap);
		}
		in->op = PO_MOVUNPACK;
		in->o[0] = d->o;
		in->o[0].rsize = (uint8_t)es;
		return src(pi, 1, t, OP_VAL, &in->o[1], msg, cap);
	}
	return dst(pi, 0, t, 0, &in->o[0], msg, cap) ||
	       src(pi, 1, t, OP_VAL | OP_SYM, &in->o[1], msg, cap) ? -1 : 0;
}

DEC(dec_cvt)
{
	unsigned int dt, at;
	bool df, af;

	if (m->ntypes != 2)
		return err(msg, cap, "cvt needs two types (.dtype.atype)");
	dt = m->types[0];
	at = m->types[1];
	if (dt == PT_PRED || at == PT_PRED)
		return err(msg, cap, "cvt does not convert .pred");
	if (only(pi, m, C_TYPE | C_FRND | C_IRND | C_SAT | C_FTZ, msg, cap))
		return -1;
	df = ptx_type_float(dt);
	af = ptx_type_float(at);
	if (!af && (m->used & (C_IRND | C_FTZ)))
		return err(msg, cap, "cvt from an integer takes no integer "
			   "rounding or .ftz");
	if (af && !df && !(m->used & C_IRND))
		return err(msg, cap, "cvt from float to integer needs .rni, .rzi, "
			   ".rmi or .rpi");
	if ((m->used & C_FRND) && !df)
		return err(msg, cap, "cvt to an integer takes .rni/.rzi/.rmi/.rpi");
	if (df && af && (m->used & C_IRND) && dt != at)
		return err(msg, cap, "cvt rounding to an integral value needs the "
			   "same float types");
	if (dt == PT_F32 && at == PT_F64 && !(m->used & C_FRND))
		return err(msg, cap, "cvt.f32.f64 needs .rn");
	in->type = (uint8_t)dt;
	in->type2 = (uint8_t)at;
	in->mode = m->irnd < 0 ? PR_NONE : (uint8_t)(m->irnd);
	flags_from(m, in);
	in->nops = 2;
	return nops(pi, 2, 2, msg, cap) ||
	       dst(pi, 0, dt, OP_WIDE, &in->o[0], msg, cap) ||
	       src(pi, 1, at, OP_VAL | OP_WIDE, &in->o[1], msg, cap) ? -1 : 0;
}

DEC(dec_cvta)
{
	unsigned int t;

	if (one_type(pi, m, TC_U | TC_B | TC_32 | TC_64, &t, msg, cap) ||
	    only(pi, m, C_TYPE | C_SPACE | C_TO, msg, cap))
		return -1;
	if (m->space < 0)
		return err(msg, cap, "cvta needs a state space");
	in->op = (m->used & C_TO) ? PO_CVTA_TO : PO_CVTA;
	in->type = (uint8_t)t;
	in->space = (uint8_t)m->space;
	in->nops = 2;
	if (nops(pi, 2, 2, msg, cap) || dst(pi, 0, t, 0, &in->o[0], msg, cap) ||
	    src(pi, 1, t, OP_REG | OP_SYM | OP_IMM | OP_WIDE | OP_NARROW,
		&in->o[1], msg, cap))
		return -1;
	if (pi->opnd[1].o.kind == PK_SYM && pi->opnd[1].vspace != m->space &&
	    !(m->space == PS_GLOBAL && pi->opnd[1].vspace == PS_CONST))
		return err(msg, cap, "cvta of a variable of another state space");
	return 0;
}

DEC(dec_isspacep)
{
	if (only(pi, m, C_SPACE, msg, cap))
		return -1;
	if (m->space < 0)
		return err(msg, cap, "isspacep needs a state space");
	in->space = (uint8_t)m->space;
	in->type = PT_U64;
	in->nops = 2;
	return nops(pi, 2, 2, msg, cap) ||
	       dst(pi, 0, PT_PRED, 0, &in->o[0], msg, cap) ||
	       src(pi, 1, PT_U64, OP_REG | OP_NARROW, &in->o[1], msg, cap) ?
		-1 : 0;
}

/* ld, ldu, st */
DEC(dec_ldst)
{
	bool st = in->op == PO_ST;
	unsigned int t, vi = st ? 1 : 0, ai = st ? 0 : 1;
	const struct ptx_popnd *v;

	if (one_type(pi, m, TC_INT | TC_8 | TC_W | TC_F, &t, msg, cap) ||
	    only(pi, m, C_TYPE | C_SPACE | C_VEC | C_MEMQ | C_SCOPE, msg, cap) ||
	    nops(pi, 2, 2, msg, cap))
		return -1;
	in->type = (uint8_t)t;
	in->space = m->space < 0 ? PS_GENERIC : (uint8_t)m->space;
	in->vec = m->vec < 0 ? 1 : (uint8_t)m->vec;
	in->nops = 2;
	if (st && in->space == PS_PARAM && !pi->in_func)
		return err(msg, cap, "st.param belongs to call sequences, which "
			   "the cpu executor does not support");
	if (st && in->space == PS_CONST)
		return err(msg, cap, "st.const: constant memory is read-only");
	if (ptx_type_size(t) * in->vec > 16)
		return err(msg, cap, "vector access wider than 16 bytes");
	if (addr(pi, ai, in->space, &in->o[ai], msg, cap))
		return -1;
	v = &pi->opnd[vi];
	if (in->vec == 1) {
		if (st)
			return src(pi, vi, t, OP_REG | OP_IMM | OP_WIDE,
				   &in->o[vi], msg, cap);
		return dst(pi, vi, t, OP_WIDE, &in->o[vi], msg, cap);
	}
	if (v->o.kind != PK_VEC || v->o.nvec != in->vec)
		return err(msg, cap, ".v%u needs {%s} with %u registers", in->vec,
			   in->vec == 2 ? "a, b" : "a, b, c, d", in->vec);
	for (unsigned int i = 0; i < v->o.nvec; i++) {
		if (v->o.vreg[i] == PTX_NOREG) {
			if (st)
				return err(msg, cap, "'_' cannot be stored");
			continue;
		}
		if (v->vtype[i] == PT_PRED ||
		    ptx_type_size(v->vtype[i]) < ptx_type_size(t))
			return err(msg, cap, "element %u of the vector is "
				   "narrower than %s", i, type_name(t));
	}
	in->o[vi] = v->o;
	return 0;
}

DEC(dec_atom)
{
	bool red = in->op == PO_ATOM && (in->flags & PF_RED);
	unsigned int t, op, n, ai = red ? 0 : 1;
	uint32_t cls;

	if (only(pi, m, C_TYPE | C_SPACE | C_ATOM | C_BOOL | C_MEMQ | C_SCOPE,
		 msg, cap))
		return -1;
	if (m->atomop >= 0)
		op = (unsigned int)m->atomop;
	else if (m->boolop >= 0)
		op = m->boolop == PB_AND ? PA_AND : m->boolop == PB_OR ? PA_OR :
		     PA_XOR;
	else
		return err(msg, cap, "'%.*s' needs an operation (.add, .cas, ...)",
			   (int)pi->op_len, pi->op);
	switch (op) {
	case PA_ADD:
		cls = TC_U | TC_S | TC_32 | TC_64 | TC_F;
		break;
	case PA_MIN:
	case PA_MAX:
		cls = TC_U | TC_S | TC_32 | TC_64;
		break;
	case PA_INC:
	case PA_DEC:
		cls = TC_U | TC_32;
		break;
	default:
		cls = TC_B | TC_U | TC_S | TC_32 | TC_64;
		break;
	}
	if (one_type(pi, m, cls, &t, msg, cap))
		return -1;
	if (m->space >= 0 && m->space != PS_GLOBAL && m->space != PS_SHARED)
		return err(msg, cap, "'%.*s' works on .global or .shared memory",
			   (int)pi->op_len, pi->op);
	if (red && op == PA_CAS)
		return err(msg, cap, "red has no .cas");
	if (red && op == PA_EXCH)
		return err(msg, cap, "red has no .exch");
	in->type = (uint8_t)t;
	in->mode = (uint8_t)op;
	in->space = m->space < 0 ? PS_GENERIC : (uint8_t)m->space;
	n = (red ? 2 : 3) + (op == PA_CAS);
	if (nops(pi, n, n, msg, cap))
		return -1;
	if (!red && dst(pi, 0, t, OP_SINK, &in->o[0], msg, cap))
		return -1;
	if (red) {
		in->o[0].kind = PK_REG;
		in->o[0].reg = PTX_NOREG;
		in->o[0].rsize = (uint8_t)ptx_type_size(t);
	}
	if (addr(pi, ai, in->space, &in->o[1], msg, cap) ||
	    src(pi, ai + 1, t, OP_VAL, &in->o[2], msg, cap))
		return -1;
	if (op == PA_CAS && src(pi, ai + 2, t, OP_VAL, &in->o[3], msg, cap))
		return -1;
	in->nops = (uint8_t)(op == PA_CAS ? 4 : 3);
	return 0;
}

/* bar.sync, bar (= bar.sync), barrier.sync[.aligned], bar.warp.sync */
DEC(dec_bar)
{
	bool barrier = pi->op_len == 7;

	if (only(pi, m, C_SYNC | C_ALIGNED | C_WARP, msg, cap))
		return -1;
	if (m->used & C_WARP) {
		if (barrier || !(m->used & C_SYNC) || (m->used & C_ALIGNED))
			return err(msg, cap, "the warp barrier is bar.warp.sync");
		in->op = PO_BARWARP;
		in->nops = 1;
		return nops(pi, 1, 1, msg, cap) ||
		       src(pi, 0, PT_B32, OP_REG | OP_IMM, &in->o[0], msg, cap) ?
			-1 : 0;
	}
	if (barrier && !(m->used & C_SYNC))
		return err(msg, cap, "barrier needs .sync (barrier.arrive and "
			   "barrier.red are not supported by the cpu executor)");
	if (nops(pi, 1, 2, msg, cap) ||
	    src(pi, 0, PT_U32, OP_REG | OP_IMM, &in->o[0], msg, cap))
		return -1;
	if (in->o[0].kind == PK_IMM && in->o[0].imm > 15)
		return err(msg, cap, "barrier %llu: there are 16 (0..15)",
			   (unsigned long long)in->o[0].imm);
	if (pi->nopnds == 2) {
		if (src(pi, 1, PT_U32, OP_REG | OP_IMM, &in->o[1], msg, cap))
			return -1;
		if (in->o[1].kind == PK_IMM &&
		    (in->o[1].imm == 0 || in->o[1].imm > PTX_MAX_THREADS))
			return err(msg, cap, "barrier thread count %llu",
				   (unsigned long long)in->o[1].imm);
		in->flags |= PF_HASCOUNT;
	}
	in->nops = (uint8_t)pi->nopnds;
	return 0;
}

DEC(dec_bra)
{
	if (only(pi, m, C_UNI, msg, cap) || nops(pi, 1, 1, msg, cap))
		return -1;
	if (!pi->opnd[0].is_label)
		return err(msg, cap, "bra needs a label (indirect branches are "
			   "not supported by the cpu executor)");
	in->nops = 0;
	return 0;
}

DEC(dec_ret)
{
	if (only(pi, m, C_UNI, msg, cap) || nops(pi, 0, 0, msg, cap))
		return -1;
	return 0;
}

DEC(dec_trap)
{
	if (only(pi, m, 0, msg, cap) || nops(pi, 0, 0, msg, cap))
		return -1;
	return 0;
}

/* membar, fence: order between threads, which run one at a time here */
DEC(dec_fence)
{
	if (only(pi, m, C_MEMQ | C_SCOPE, msg, cap) || nops(pi, 0, 0, msg, cap))
		return -1;
	return 0;
}

DEC(dec_nanosleep)
{
	unsigned int t;

	if (one_type(pi, m, TC_U | TC_32, &t, msg, cap) ||
	    only(pi, m, C_TYPE, msg, cap) || nops(pi, 1, 1, msg, cap))
		return -1;
	return src(pi, 0, t, OP_REG | OP_IMM, &in->o[0], msg, cap);
}

DEC(dec_prefetch)
{
	if (only(pi, m, C_SPACE | C_MEMQ, msg, cap) || nops(pi, 1, 1, msg, cap))
		return -1;
	return addr(pi, 0, PS_GENERIC, &in->o[0], msg, cap);
}

static const struct {
	const char *name;
	uint8_t op;
	int (*dec)(const struct ptx_pinsn *, const struct mods *,
		   struct ptx_insn *, char *, size_t);
} table[] = {
	{ "mov", PO_MOV, dec_mov },
	{ "add", PO_ADD, dec_addsub }, { "sub", PO_SUB, dec_addsub },
	{ "mul", PO_MUL, dec_mul }, { "mad", PO_MAD, dec_mul },
	{ "fma", PO_FMA, dec_fma },
	{ "div", PO_DIV, dec_div }, { "rem", PO_REM, dec_rem },
	{ "abs", PO_ABS, dec_absneg }, { "neg", PO_NEG, dec_absneg },
	{ "min", PO_MIN, dec_minmax }, { "max", PO_MAX, dec_minmax },
	{ "and", PO_AND, dec_logic }, { "or", PO_OR, dec_logic },
	{ "xor", PO_XOR, dec_logic }, { "not", PO_NOT, dec_logic },
	{ "cnot", PO_CNOT, dec_logic },
	{ "shl", PO_SHL, dec_shift }, { "shr", PO_SHR, dec_shift },
	{ "popc", PO_POPC, dec_bits }, { "clz", PO_CLZ, dec_bits },
	{ "brev", PO_BREV, dec_bits },
	{ "bfe", PO_BFE, dec_bfe }, { "bfi", PO_BFI, dec_bfi },
	{ "prmt", PO_PRMT, dec_prmt },
	{ "rcp", PO_RCP, dec_fun }, { "sqrt", PO_SQRT, dec_fun },
	{ "rsqrt", PO_RSQRT, dec_fun }, { "ex2", PO_EX2, dec_fun },
	{ "lg2", PO_LG2, dec_fun }, { "sin", PO_SIN, dec_fun },
	{ "cos", PO_COS, dec_fun }, { "tanh", PO_TANH, dec_fun },
	{ "copysign", PO_COPYSIGN, dec_copysign },
	{ "testp", PO_TESTP, dec_testp },
	{ "setp", PO_SETP, dec_setp }, { "selp", PO_SELP, dec_selp },
	{ "cvt", PO_CVT, dec_cvt }, { "cvta", PO_CVTA, dec_cvta },
	{ "isspacep", PO_ISSPACEP, dec_isspacep },
	{ "ld", PO_LD, dec_ldst }, { "ldu", PO_LD, dec_ldst },
	{ "st", PO_ST, dec_ldst },
	{ "atom", PO_ATOM, dec_atom }, { "red", PO_ATOM, dec_atom },
	{ "bar", PO_BAR, dec_bar }, { "barrier", PO_BAR, dec_bar },
	{ "bra", PO_BRA, dec_bra },
	{ "ret", PO_RET, dec_ret }, { "exit", PO_RET, dec_ret },
	{ "trap", PO_TRAP, dec_trap },
	{ "membar", PO_NOP, dec_fence }, { "fence", PO_NOP, dec_fence },
	{ "nanosleep", PO_NOP, dec_nanosleep },
	{ "prefetch", PO_NOP, dec_prefetch }, { "prefetchu", PO_NOP, dec_prefetch },
};

static int find_op(const char *op, uint32_t len)
{
	for (size_t i = 0; i < N(table); i++)
		if (strlen(table[i].name) == len && !memcmp(table[i].name, op, len))
			return (int)i;
	return -1;
}

int ptx_insn_check_name(const char *op, uint32_t len, char *msg, size_t cap)
{
	if (find_op(op, len) >= 0)
		return 0;
	if (len == 4 && !memcmp(op, "call", 4))
		return err(msg, cap, "call is not supported by the cpu executor "
			   "(device functions must be inlined; printf needs "
			   "vprintf)");
	return err(msg, cap, "instruction '%.*s' is not supported by the cpu "
		   "executor", (int)(len > 40 ? 40 : len), op);
}

int ptx_insn_decode(const struct ptx_pinsn *pi, struct ptx_insn *in,
		    char *msg, size_t cap)
{
	struct mods m;
	int i;

	memset(in, 0, sizeof(*in));
	in->guard = pi->guard;
	in->guard_neg = pi->guard_neg;
	in->line = pi->line;
	in->vec = 1;
	for (unsigned int j = 0; j < 5; j++) {
		in->o[j].reg = PTX_NOREG;
		in->o[j].sym = -1;
	}
	i = find_op(pi->op, pi->op_len);
	if (i < 0)
		return ptx_insn_check_name(pi->op, pi->op_len, msg, cap);
	if (classify(pi, &m, msg, cap))
		return -1;
	in->op = table[i].op;
	if (pi->op_len == 3 && !memcmp(pi->op, "red", 3))
		in->flags |= PF_RED;
	return table[i].dec(pi, &m, in, msg, cap);
}
