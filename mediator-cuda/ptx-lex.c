/* SPDX-License-Identifier: MIT */
/*
 * ptx-lex.c - PTX tokens (PTX ISA "Syntax": identifiers, directives,
 * integer and floating-point constants, comments). The text ends at its
 * length or at a NUL, whichever comes first. Nothing here can read past
 * the end: every look at p[1] is behind a p + 1 < end check.
 */
#include <stdlib.h>
#include <string.h>

#include "ptx-lex.h"

static bool is_follow(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '$';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void ptx_lex_init(struct ptx_lex *lx, const char *text, size_t len)
{
	const char *nul = memchr(text, '\0', len);

	memset(lx, 0, sizeof(*lx));
	lx->p = text;
	lx->end = nul ? nul : text + len;
	lx->line = 1;
}

/* Skip white space and comments; says whether anything was skipped. */
static bool skip_space(struct ptx_lex *lx, const char **err)
{
	const char *p = lx->p, *start = p;

	while (p < lx->end) {
		if (*p == '\n') {
			lx->line++;
			p++;
		} else if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\f' ||
			   *p == '\v') {
			p++;
		} else if (*p == '/' && p + 1 < lx->end && p[1] == '/') {
			while (p < lx->end && *p != '\n')
				p++;
		} else if (*p == '/' && p + 1 < lx->end && p[1] == '*') {
			uint32_t start = lx->line;

			p += 2;
			for (;;) {
				if (p >= lx->end) {
					*err = "unterminated /* comment";
					lx->line = start;  /* name where it began */
					break;
				}
				if (*p == '*' && p + 1 < lx->end && p[1] == '/') {
					p += 2;
					break;
				}
				if (*p == '\n')
					lx->line++;
				p++;
			}
			if (*err)
				break;
		} else {
			break;
		}
	}
	lx->p = p;
	return p != start;
}

/* An integer constant at p: 0x.., 0b.., 0.. (octal), decimal; U suffix. */
static const char *lex_int(const char *p, const char *end, uint64_t *val,
			   const char **err)
{
	unsigned int base = 10;
	uint64_t v = 0;
	bool any = false;

	if (*p == '0' && p + 1 < end && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	} else if (*p == '0' && p + 1 < end && (p[1] == 'b' || p[1] == 'B')) {
		base = 2;
		p += 2;
	} else if (*p == '0') {
		base = 8;
		any = true;     /* "0" alone */
		p++;
	}
	for (; p < end; p++) {
		int d = hexval(*p);

		if (d < 0 || (unsigned int)d >= base)
			break;
		if (v > (UINT64_MAX - (uint64_t)d) / base) {
			*err = "integer constant does not fit in 64 bits";
			return p;
		}
		v = v * base + (uint64_t)d;
		any = true;
	}
	if (!any) {
		*err = "malformed integer constant";
		return p;
	}
	if (p < end && (*p == 'U' || *p == 'u'))
		p++;
	if (p < end && is_follow(*p))
		*err = "malformed integer constant";
	*val = v;
	return p;
}

/* A decimal floating-point constant: digits [. digits] [e [+-] digits]. */
static const char *lex_dec_float(const char *p, const char *end, double *val,
				 const char **err)
{
	char buf[128];
	const char *s = p;
	size_t n;

	while (p < end && is_digit(*p))
		p++;
	if (p < end && *p == '.') {
		p++;
		while (p < end && is_digit(*p))
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (p >= end || !is_digit(*p)) {
			*err = "malformed floating-point constant";
			return p;
		}
		while (p < end && is_digit(*p))
			p++;
	}
	n = (size_t)(p - s);
	if (n >= sizeof(buf) || (p < end && is_follow(*p))) {
		*err = "malformed floating-point constant";
		return p;
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	*val = strtod(buf, NULL);
	return p;
}

static void lex_one(struct ptx_lex *lx, struct ptx_tok *t)
{
	const char *err = NULL, *p;
	bool space;

	memset(t, 0, sizeof(*t));
	space = skip_space(lx, &err);
	t->glued = !space;
	t->line = lx->line;
	t->s = lx->p;
	if (err) {
		t->kind = TK_ERROR;
		t->err = err;
		lx->p = lx->end;
		return;
	}
	p = lx->p;
	if (p >= lx->end) {
		t->kind = TK_EOF;
		return;
	}
	if (*p == '.' && p + 1 < lx->end && is_follow(p[1])) {
		/* .word, .word::word, .L1::evict_last, .2d */
		p++;
		for (;;) {
			while (p < lx->end && is_follow(*p))
				p++;
			if (p + 2 < lx->end && p[0] == ':' && p[1] == ':' &&
			    is_follow(p[2])) {
				p += 2;
				continue;
			}
			break;
		}
		t->kind = TK_DOT;
	} else if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		   ((*p == '_' || *p == '$' || *p == '%') && p + 1 < lx->end &&
		    is_follow(p[1]))) {
		p++;
		while (p < lx->end && is_follow(*p))
			p++;
		t->kind = TK_IDENT;
	} else if (*p == '_') {
		p++;            /* the sink operand '_' */
		t->kind = TK_IDENT;
	} else if (is_digit(*p)) {
		const char *q = p;

		if (*p == '0' && p + 1 < lx->end &&
		    (p[1] == 'f' || p[1] == 'F' || p[1] == 'd' || p[1] == 'D')) {
			/* 0fXXXXXXXX (f32 bits), 0dXXXXXXXXXXXXXXXX (f64 bits) */
			unsigned int want = (p[1] == 'f' || p[1] == 'F') ? 8 : 16;
			uint64_t v = 0;
			unsigned int i;

			p += 2;
			for (i = 0; i < want && p < lx->end && hexval(*p) >= 0;
			     i++, p++)
				v = v << 4 | (uint64_t)hexval(*p);
			if (i != want || (p < lx->end && is_follow(*p)))
				err = "malformed hexadecimal floating-point constant";
			t->kind = TK_FLOAT;
			t->fkind = want == 8 ? TF_HEX32 : TF_HEX64;
			t->ival = v;
		} else {
			while (q < lx->end && is_digit(*q))
				q++;
			if (*p != '0' || !(p + 1 < lx->end &&
					   (p[1] == 'x' || p[1] == 'X' ||
					    p[1] == 'b' || p[1] == 'B'))) {
				if (q < lx->end && (*q == '.' || *q == 'e' ||
						    *q == 'E')) {
					p = lex_dec_float(p, lx->end, &t->fval,
							  &err);
					t->kind = TK_FLOAT;
					t->fkind = TF_DEC;
					goto out;
				}
			}
			p = lex_int(p, lx->end, &t->ival, &err);
			t->kind = TK_INT;
		}
	} else if (*p == '"') {
		p++;
		t->s = p;
		while (p < lx->end && *p != '"' && *p != '\n') {
			if (*p == '\\' && p + 1 < lx->end)
				p++;
			p++;
		}
		if (p >= lx->end || *p != '"') {
			err = "unterminated string";
		} else {
			t->len = (uint32_t)(p - t->s);
			p++;
		}
		t->kind = TK_STRING;
		lx->p = p;
		if (err) {
			t->kind = TK_ERROR;
			t->err = err;
		}
		return;
	} else if (strchr("{}()[],;:+-!@|<>=", *p)) {
		t->kind = TK_PUNCT;
		t->punct = *p++;
	} else {
		t->kind = TK_ERROR;
		t->err = "unexpected character";
		t->len = 1;
		lx->p = p + 1;
		return;
	}
out:
	t->len = (uint32_t)(p - t->s);
	lx->p = p;
	if (err) {
		t->kind = TK_ERROR;
		t->err = err;
	}
}

const struct ptx_tok *ptx_lex_peek(struct ptx_lex *lx, unsigned int k)
{
	if (k >= PTX_LEX_AHEAD)
		k = PTX_LEX_AHEAD - 1;
	while (lx->nahead <= k) {
		lex_one(lx, &lx->ahead[(lx->first + lx->nahead) % PTX_LEX_AHEAD]);
		lx->nahead++;
	}
	return &lx->ahead[(lx->first + k) % PTX_LEX_AHEAD];
}

struct ptx_tok ptx_lex_next(struct ptx_lex *lx)
{
	struct ptx_tok t = *ptx_lex_peek(lx, 0);

	/* EOF and errors stay: every later look sees them again */
	if (t.kind != TK_EOF && t.kind != TK_ERROR) {
		lx->first = (lx->first + 1) % PTX_LEX_AHEAD;
		lx->nahead--;
	}
	return t;
}

bool ptx_tok_punct(const struct ptx_tok *t, char c)
{
	return t->kind == TK_PUNCT && t->punct == c;
}

bool ptx_tok_is(const struct ptx_tok *t, const char *w)
{
	size_t n = strlen(w);

	return (t->kind == TK_DOT || t->kind == TK_IDENT) && t->len == n &&
	       !memcmp(t->s, w, n);
}
