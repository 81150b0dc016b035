/* SPDX-License-Identifier: MIT */
/*
 * ptx-ir.h - the module model the PTX library shares between its files: the
 * parser (ptx-parse.c, ptx-insn.c) fills it, ptx-module.c lays it out and
 * answers lookups, ptx-interp.c executes it. Not for the executors: they
 * see only ptx.h.
 *
 * An instruction is decoded once, at load, into struct ptx_insn: every
 * operand is a register slot, an immediate already encoded in the operand's
 * type, a special register, or an address (register + constant, where the
 * constant already includes the offset of any .shared/.local/.param
 * variable named; .global/.const variables stay symbolic until the executor
 * binds their addresses). Branch targets are instruction indexes.
 */
#ifndef VGPU_PTX_IR_H
#define VGPU_PTX_IR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ptx.h"

/* ------------------------------------------------------------- types */

enum ptx_type {
	PT_NONE = 0,
	PT_PRED,
	PT_B8, PT_B16, PT_B32, PT_B64,
	PT_U8, PT_U16, PT_U32, PT_U64,
	PT_S8, PT_S16, PT_S32, PT_S64,
	PT_F32, PT_F64,
	PT_COUNT
};

static inline unsigned int ptx_type_size(unsigned int t)
{
	static const uint8_t sz[PT_COUNT] = {
		[PT_PRED] = 1,
		[PT_B8] = 1, [PT_B16] = 2, [PT_B32] = 4, [PT_B64] = 8,
		[PT_U8] = 1, [PT_U16] = 2, [PT_U32] = 4, [PT_U64] = 8,
		[PT_S8] = 1, [PT_S16] = 2, [PT_S32] = 4, [PT_S64] = 8,
		[PT_F32] = 4, [PT_F64] = 8,
	};
	return t < PT_COUNT ? sz[t] : 0;
}
static inline bool ptx_type_signed(unsigned int t)
{
	return t >= PT_S8 && t <= PT_S64;
}
static inline bool ptx_type_float(unsigned int t)
{
	return t == PT_F32 || t == PT_F64;
}
static inline bool ptx_type_int(unsigned int t)
{
	return t >= PT_B8 && t <= PT_S64;
}

/* State spaces. PS_GENERIC: an address in the generic space. */
enum ptx_space {
	PS_GENERIC = 0, PS_GLOBAL, PS_CONST, PS_SHARED, PS_LOCAL, PS_PARAM,
	PS_COUNT
};

/* ------------------------------------------------------------ opcodes */

enum ptx_op {
	PO_NOP = 0,     /* membar, fence, nanosleep, prefetch: nothing to do  */
	PO_MOV, PO_MOVPACK, PO_MOVUNPACK,
	PO_ADD, PO_SUB, PO_MUL, PO_MAD, PO_FMA, PO_DIV, PO_REM,
	PO_ABS, PO_NEG, PO_MIN, PO_MAX,
	PO_AND, PO_OR, PO_XOR, PO_NOT, PO_CNOT, PO_SHL, PO_SHR,
	PO_POPC, PO_CLZ, PO_BREV, PO_BFE, PO_BFI, PO_PRMT,
	PO_RCP, PO_SQRT, PO_RSQRT, PO_EX2, PO_LG2, PO_SIN, PO_COS, PO_TANH,
	PO_COPYSIGN, PO_TESTP,
	PO_SETP, PO_SELP,
	PO_CVT, PO_CVTA, PO_CVTA_TO, PO_ISSPACEP,
	PO_LD, PO_ST, PO_ATOM,
	PO_BRA, PO_RET, PO_BAR, PO_BARWARP, PO_TRAP,
	PO_COUNT
};

/* mode, by opcode */
enum {  /* mul, mad (integer) */
	PM_LO = 0, PM_HI, PM_WIDE
};
enum {  /* setp */
	PC_EQ = 0, PC_NE, PC_LT, PC_LE, PC_GT, PC_GE,
	PC_LO, PC_LS, PC_HI, PC_HS,
	PC_EQU, PC_NEU, PC_LTU, PC_LEU, PC_GTU, PC_GEU, PC_NUM, PC_NAN
};
enum {  /* setp's .and/.or/.xor with a third predicate */
	PB_NONE = 0, PB_AND, PB_OR, PB_XOR
};
enum {  /* cvt's rounding to an integer (float sources) */
	PR_NONE = 0, PR_RNI, PR_RZI, PR_RMI, PR_RPI
};
enum {  /* atom, red */
	PA_ADD = 0, PA_MIN, PA_MAX, PA_EXCH, PA_CAS, PA_AND, PA_OR, PA_XOR,
	PA_INC, PA_DEC
};
enum {  /* testp */
	PT_FINITE = 0, PT_INFINITE, PT_NUMBER, PT_NOTANUMBER, PT_NORMAL,
	PT_SUBNORMAL
};
enum {  /* div, rcp, sqrt, ex2...: how exact (all computed the same here) */
	PF_NONE = 0
};

/* insn.flags */
#define PF_SAT      0x01u  /* .sat                                        */
#define PF_FTZ      0x02u  /* .ftz (f32 subnormals flushed to zero)       */
#define PF_RED      0x04u  /* red: atom without a destination             */
#define PF_HASCOUNT 0x08u  /* bar.sync a, b: o[1] is the thread count    */

/* Special registers (operand kind PK_SREG, operand reg). */
enum ptx_sreg {
	SR_TID_X = 0, SR_TID_Y, SR_TID_Z,
	SR_NTID_X, SR_NTID_Y, SR_NTID_Z,
	SR_CTAID_X, SR_CTAID_Y, SR_CTAID_Z,
	SR_NCTAID_X, SR_NCTAID_Y, SR_NCTAID_Z,
	SR_LANEID, SR_WARPID, SR_NWARPID, SR_SMID, SR_NSMID, SR_GRIDID,
	SR_LANEMASK_EQ, SR_LANEMASK_LT, SR_LANEMASK_LE, SR_LANEMASK_GT,
	SR_LANEMASK_GE, SR_CLOCK, SR_CLOCK64, SR_GLOBALTIMER,
	SR_DYN_SMEM, SR_TOTAL_SMEM,
	SR_COUNT
};

/* ----------------------------------------------------------- operands */

enum ptx_opkind {
	PK_NONE = 0,
	PK_REG,         /* reg = slot                                         */
	PK_IMM,         /* imm = the value's bits in the operand's type       */
	PK_SREG,        /* reg = enum ptx_sreg                                */
	PK_ADDR,        /* [reg + sym + imm]: reg PTX_NOREG for none; sym a
			 * module variable index or -1                         */
	PK_VEC,         /* {vreg[0..nvec)}: slots, PTX_NOREG for '_'          */
	PK_SYM          /* the address of a variable (mov, cvta): sym + imm   */
};

#define PTX_NOREG 0xffffu

struct ptx_opnd {
	uint8_t  kind;
	uint8_t  rsize;          /* PK_REG: the register's width in bytes
				  * (1 for .pred); PK_VEC: of each element */
	uint8_t  neg;            /* !p                                     */
	uint8_t  nvec;
	uint8_t  frame;          /* parse time only: sym names a parameter,
				  * a kernel variable or a module .shared
				  * variable until the layout folds its
				  * offset into imm (FR_*, ptx-insn.h)     */
	uint8_t  pad0;
	uint16_t reg;
	uint16_t vreg[4];
	int32_t  sym;            /* module variable (.global/.const), or -1 */
	uint64_t imm;
};

struct ptx_insn {
	uint8_t  op;             /* enum ptx_op                             */
	uint8_t  type;           /* the instruction's type                  */
	uint8_t  type2;          /* cvt: source type; mul/mad.wide: source;
				  * bar.warp/bar: barrier scope             */
	uint8_t  space;          /* ld/st/atom/cvta/isspacep               */
	uint8_t  mode;           /* by op: PM_, PC_, PR_, PA_, PT_         */
	uint8_t  boolop;         /* setp: PB_                              */
	uint8_t  flags;          /* PF_                                    */
	uint8_t  vec;            /* ld/st: 1, 2 or 4                       */
	uint8_t  guard_neg;      /* @!p                                    */
	uint8_t  nops;
	uint16_t guard;          /* predicate slot, or PTX_NOREG           */
	uint32_t line;           /* in the PTX text                        */
	uint32_t target;         /* bra: instruction index                 */
	struct ptx_opnd o[5];
};

/* -------------------------------------------------------- declarations */

struct ptx_param {
	char    *name;
	uint32_t offset, size, align;
};

/* A variable of .shared or .local space of one kernel's frame. */
struct ptx_var {
	char    *name;
	uint8_t  space;          /* PS_GLOBAL, PS_CONST, PS_SHARED, PS_LOCAL */
	bool     is_extern;      /* extern .shared: dynamic shared memory  */
	uint32_t align;
	uint64_t size;
	uint32_t line;
	unsigned char *init;     /* .global/.const: init_len bytes, or NULL */
	uint64_t init_len;
	uint64_t addr;           /* .global/.const: bound by the executor;
				  * .shared/.local: offset in the kernel's
				  * frame (set by the layout)              */
	bool     bound;
};

struct ptx_kernel {
	struct ptx_module *mod;
	char    *name;
	bool     is_entry;       /* .entry, else .func (never launched)    */
	uint32_t line;

	struct ptx_param *params;
	uint32_t nparams, param_bytes;
	uint32_t maxntid[3], reqntid[3];   /* 0: not given                  */

	struct ptx_insn *code;
	uint32_t ncode;
	uint32_t nslots;         /* register slots                         */

	/* its own .shared/.local variables */
	struct ptx_var *vars;
	uint32_t nvars;

	uint32_t shared_static;  /* bytes, with the module-scope .shared
				  * variables it names                     */
	bool     dyn_shared;     /* names an extern .shared variable       */
	uint32_t dyn_base;       /* where extern .shared starts            */
	uint32_t local_bytes;
	uint32_t const_bytes;    /* .const variables it names              */
};

struct ptx_module {
	uint32_t ptx_major, ptx_minor;
	uint32_t sm;             /* .target sm_XX                          */

	struct ptx_kernel **kernels;
	uint32_t nkernels;
	struct ptx_var *globals; /* .global and .const, declaration order */
	uint32_t nglobals;
	struct ptx_var *shared;  /* module-scope .shared                   */
	uint32_t nshared;
};

/* ---------------------------------------------------- between the files */

/* ptx-module.c: lay out a parsed kernel; 0 or -ENOEXEC with msg. */
int  ptx_kernel_layout(struct ptx_kernel *k, char *msg, size_t cap);
void ptx_kernel_free(struct ptx_kernel *k);

/* ptx-parse.c: parse PTX text into *m (allocated); log as ptx.h says. */
int  ptx_parse(const char *text, size_t len, struct ptx_module **out,
	       char *log, size_t log_cap);

/* ptx-fatbin.c: find the PTX inside a fat binary (see there). */
int  ptx_fatbin_extract(const void *image, size_t len, char **text,
			size_t *text_len, char *log, size_t log_cap);
/*
 * ptx-fatbin.c, also for the cuda executor's worker: the payload of entry
 * e of the fat binary container at container (as vgpu_fatbin_next() found
 * it there), uncompressed, LZ4 or zstd (libzstd.so.1), in *out (malloc'd,
 * a NUL after its *out_len bytes). 0, or -EMSGSIZE (longer than max),
 * -EOPNOTSUPP (zstd without the library), -ENOEXEC (no usable size, or
 * it does not decompress), -ENOMEM.
 */
struct vgpu_fatbin_entry;
int  ptx_fatbin_payload(const void *container, const struct vgpu_fatbin_entry *e,
			size_t max, unsigned char **out, size_t *out_len);

/* Append one line to a log (NUL-terminated, truncated at cap). */
void ptx_log(char *log, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* VGPU_PTX_IR_H */
