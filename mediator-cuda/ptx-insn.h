/* SPDX-License-Identifier: MIT */
/*
 * ptx-insn.h - between the statement parser (ptx-parse.c) and the
 * instruction decoder (ptx-insn.c): one instruction as parsed, with its
 * names already resolved, turned into a struct ptx_insn or refused.
 */
#ifndef VGPU_PTX_INSN_H
#define VGPU_PTX_INSN_H

#include "ptx-ir.h"

/* Parse-time frame references in ptx_opnd.frame (resolved by the layout). */
enum { FR_NONE = 0, FR_PARAM, FR_KVAR, FR_MSHARED };

/* Immediates as written, before the operand's type is known. */
enum { IK_INT = 0, IK_F32BITS, IK_F64BITS, IK_DOUBLE };

struct ptx_popnd {
	struct ptx_opnd o;       /* kind, regs, sym/frame resolved          */
	uint8_t  rtype;          /* PK_REG: the register's declared type   */
	uint8_t  vtype[4];       /* PK_VEC: each element's declared type   */
	uint8_t  vspace;         /* PK_ADDR/PK_SYM of a variable: its space */
	uint8_t  imm_kind;       /* PK_IMM: IK_*                           */
	bool     negated;        /* PK_IMM written with a leading '-'      */
	uint64_t ival;           /* IK_INT / IK_F*BITS                     */
	double   fval;           /* IK_DOUBLE                              */
	bool     is_label;       /* a bare name that is no variable        */
	const char *name;        /* is_label: the name                     */
	uint32_t name_len;
};

struct ptx_pinsn {
	const char *op;          /* the opcode, e.g. "ld"                  */
	uint32_t op_len;
	struct { const char *s; uint32_t len; } mod[16];
	unsigned int nmods;
	struct ptx_popnd opnd[6];
	unsigned int nopnds;
	bool     has_pipe;       /* setp p|q: opnd[1] is q                 */
	uint16_t guard;          /* predicate slot or PTX_NOREG            */
	bool     guard_neg;
	bool     in_func;        /* in a .func body: never run (no call),
				  * so its st.param to return values passes */
	uint32_t line;
};

/*
 * Decode pi into *in. Returns 0, or -1 with msg (what is wrong or not
 * supported, without the line: the caller adds it). A branch's label stays
 * in pi->opnd[0] for the caller to resolve; in->target is then set by it.
 */
/* Is op[0, len) an instruction the decoder knows? 0, or -1 with msg. */
int ptx_insn_check_name(const char *op, uint32_t len, char *msg, size_t cap);

int ptx_insn_decode(const struct ptx_pinsn *pi, struct ptx_insn *in,
		    char *msg, size_t cap);

#endif /* VGPU_PTX_INSN_H */
