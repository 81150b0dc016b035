/* SPDX-License-Identifier: MIT */
/*
 * ptx-lex.h - PTX tokens, read on demand from the module's text with a few
 * tokens of lookahead (a 16 MiB module is never held as a token array).
 */
#ifndef VGPU_PTX_LEX_H
#define VGPU_PTX_LEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ptx_tok_kind {
	TK_EOF = 0,
	TK_IDENT,       /* foo %r1 $L__BB0_2 _Z3fooPf %tid                  */
	TK_DOT,         /* .reg .u32 .L1::evict_last (text includes the dot)  */
	TK_INT,         /* 42 0x2a 052 0b101, with an optional U              */
	TK_FLOAT,       /* 1.5 1e-3 (a double), or 0f/0d hex bit patterns    */
	TK_STRING,      /* "..." (text without the quotes, escapes kept)     */
	TK_PUNCT,       /* one of { } ( ) [ ] , ; : + - ! @ | < > =          */
	TK_ERROR        /* a character or literal that is not PTX: err says  */
};

/* TK_FLOAT's flavours */
enum { TF_DEC = 0, TF_HEX32, TF_HEX64 };

struct ptx_tok {
	uint8_t  kind;
	uint8_t  fkind;          /* TK_FLOAT: TF_*                          */
	bool     glued;          /* no white space before it                */
	char     punct;          /* TK_PUNCT                                */
	uint32_t line;
	const char *s;           /* text in the module                      */
	uint32_t len;
	uint64_t ival;           /* TK_INT value; TF_HEX* bits              */
	double   fval;           /* TF_DEC                                  */
	const char *err;         /* TK_ERROR                                */
};

#define PTX_LEX_AHEAD 4

struct ptx_lex {
	const char *p, *end;
	uint32_t line;
	struct ptx_tok ahead[PTX_LEX_AHEAD];
	unsigned int nahead, first;
};

void ptx_lex_init(struct ptx_lex *lx, const char *text, size_t len);
/* The k-th token from here (k < PTX_LEX_AHEAD), without taking it. */
const struct ptx_tok *ptx_lex_peek(struct ptx_lex *lx, unsigned int k);
/* Take the next token (valid until the next call). */
struct ptx_tok ptx_lex_next(struct ptx_lex *lx);
/* Is t the punctuation c? the dot-word w? the identifier w? */
bool ptx_tok_punct(const struct ptx_tok *t, char c);
bool ptx_tok_is(const struct ptx_tok *t, const char *w);

#endif /* VGPU_PTX_LEX_H */
