/* SPDX-License-Identifier: MIT */
/*
 * ptx-parse.c - PTX text into the module model (ptx-ir.h): module
 * directives, variables with their initializers, .entry/.func headers and
 * parameters, and bodies: register declarations, scopes, labels and
 * instructions (each decoded by ptx-insn.c). Names are resolved here, in
 * scopes (a { } block may shadow a register), so that an instruction
 * reaches the decoder with register slots, variables and labels known.
 *
 * The first error ends the parse: one log line "ptx line N: error: ...".
 * Everything is bounded by the text's length (no recursion deeper than
 * PARSE_MAX_DEPTH), and every size is checked for overflow, so a hostile
 * module costs at most memory in proportion to its size.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ptx-insn.h"
#include "ptx-lex.h"

#define PARSE_MAX_DEPTH     64       /* nested { } in a body, or in an init */
#define PARSE_MAX_VAR_BYTES (1ull << 40)
#define PARSE_MAX_INSNS     (1u << 20)  /* per module                       */
#define PARSE_MAX_PARAMS    4096u

/* ------------------------------------------------------------ names */

enum { N_REG = 1, N_REGFAM, N_PARAM, N_KVAR, N_GVAR, N_MSHARED, N_FUNC,
       N_LABEL };

struct name_ent {
	const char *s;
	uint32_t len;
	uint8_t  kind;
	uint8_t  type;
	uint32_t idx;            /* REGFAM: count; PARAM/KVAR/...: index;
				  * LABEL: instruction index            */
	uint16_t slot;           /* REG: slot, PTX_NOREG until used      */
	int32_t  shadow;         /* the entry this one hides, or -1      */
	uint32_t hslot;          /* its slot in the hash table           */
};

struct ntab_slot {
	const char *s;           /* NULL: empty                          */
	uint32_t len;
	int32_t  ent;            /* the visible entry, -1 for none       */
};

struct ntab {
	struct ntab_slot *tab;
	uint32_t cap, used;
	struct name_ent *ents;
	uint32_t nents, ents_cap;
};

/* register slots of family members: key (entry << 32 | index) -> slot */
struct slotmap {
	uint64_t *keys;          /* 0: empty (keys are stored + 1)        */
	uint16_t *vals;
	uint32_t cap, used;
};

struct pending_label {
	uint32_t insn;
	const char *s;
	uint32_t len;
	uint32_t line;
};

struct parser {
	struct ptx_lex lx;
	struct ptx_module *m;
	char *log;
	size_t log_cap;
	bool failed, nomem;
	uint32_t ninsns;         /* in the whole module                  */

	struct ntab names;       /* module scope at the bottom           */
	uint32_t scope_mark[PARSE_MAX_DEPTH + 2];
	unsigned int depth;

	/* the function being parsed */
	struct ptx_kernel *k;
	uint32_t code_cap, vars_cap, params_cap;
	struct ntab labels;
	struct slotmap fam;
	struct pending_label *pend;
	uint32_t npend, pend_cap;
};

static uint32_t hash_str(const char *s, uint32_t len)
{
	uint32_t h = 2166136261u;

	for (uint32_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

static struct ntab_slot *ntab_find(struct ntab *t, const char *s, uint32_t len)
{
	uint32_t i;

	if (!t->cap)
		return NULL;
	i = hash_str(s, len) & (t->cap - 1);
	for (;;) {
		struct ntab_slot *sl = &t->tab[i];

		if (!sl->s || (sl->len == len && !memcmp(sl->s, s, len)))
			return sl;
		i = (i + 1) & (t->cap - 1);
	}
}

static int ntab_grow(struct ntab *t)
{
	uint32_t ncap = t->cap ? t->cap * 2 : 256;
	struct ntab old = *t;

	t->tab = calloc(ncap, sizeof(*t->tab));
	if (!t->tab) {
		t->tab = old.tab;
		return -1;
	}
	t->cap = ncap;
	t->used = 0;
	for (uint32_t i = 0; i < old.cap; i++) {
		struct ntab_slot *sl;

		if (!old.tab[i].s || old.tab[i].ent < 0)
			continue;       /* keys nobody sees any more go */
		sl = ntab_find(t, old.tab[i].s, old.tab[i].len);
		*sl = old.tab[i];
		t->used++;
	}
	/* every entry, hidden ones too, learns its new slot */
	for (uint32_t e = 0; e < t->nents; e++) {
		struct ntab_slot *sl = ntab_find(t, t->ents[e].s, t->ents[e].len);

		if (!sl->s) {   /* a key whose entries are all hidden */
			sl->s = t->ents[e].s;
			sl->len = t->ents[e].len;
			sl->ent = -1;
			t->used++;
		}
		t->ents[e].hslot = (uint32_t)(sl - t->tab);
	}
	free(old.tab);
	return 0;
}

static struct name_ent *ntab_lookup(struct ntab *t, const char *s, uint32_t len)
{
	struct ntab_slot *sl = ntab_find(t, s, len);

	if (!sl || !sl->s || sl->ent < 0)
		return NULL;
	return &t->ents[sl->ent];
}

/* A new visible entry for s (hiding any other); NULL when out of memory. */
static struct name_ent *ntab_add(struct ntab *t, const char *s, uint32_t len)
{
	struct ntab_slot *sl;
	struct name_ent *e;

	if ((t->used + 1) * 2 > t->cap && ntab_grow(t))
		return NULL;
	if (t->nents == t->ents_cap) {
		uint32_t nc = t->ents_cap ? t->ents_cap * 2 : 256;
		void *p = realloc(t->ents, nc * sizeof(*t->ents));

		if (!p)
			return NULL;
		t->ents = p;
		t->ents_cap = nc;
	}
	sl = ntab_find(t, s, len);
	if (!sl->s) {
		sl->s = s;
		sl->len = len;
		sl->ent = -1;
		t->used++;
	}
	e = &t->ents[t->nents];
	memset(e, 0, sizeof(*e));
	e->s = s;
	e->len = len;
	e->slot = PTX_NOREG;
	e->shadow = sl->ent;
	e->hslot = (uint32_t)(sl - t->tab);
	sl->ent = (int32_t)t->nents++;
	return e;
}

/* Forget the entries from mark on, showing what they hid. */
static void ntab_pop(struct ntab *t, uint32_t mark)
{
	while (t->nents > mark) {
		struct name_ent *e = &t->ents[--t->nents];

		t->tab[e->hslot].ent = e->shadow;
	}
}

static void ntab_free(struct ntab *t)
{
	free(t->tab);
	free(t->ents);
	memset(t, 0, sizeof(*t));
}

static void ntab_clear(struct ntab *t)
{
	ntab_free(t);
}

static int slotmap_get(struct slotmap *sm, uint64_t key, uint16_t **val)
{
	uint32_t i;

	key++;
	if ((sm->used + 1) * 2 > sm->cap) {
		uint32_t ncap = sm->cap ? sm->cap * 2 : 256;
		uint64_t *nk = calloc(ncap, sizeof(*nk));
		uint16_t *nv = calloc(ncap, sizeof(*nv));

		if (!nk || !nv) {
			free(nk);
			free(nv);
			return -1;
		}
		for (uint32_t j = 0; j < sm->cap; j++) {
			if (!sm->keys[j])
				continue;
			i = (uint32_t)(sm->keys[j] * 0x9e3779b97f4a7c15ull >> 32) &
			    (ncap - 1);
			while (nk[i])
				i = (i + 1) & (ncap - 1);
			nk[i] = sm->keys[j];
			nv[i] = sm->vals[j];
		}
		free(sm->keys);
		free(sm->vals);
		sm->keys = nk;
		sm->vals = nv;
		sm->cap = ncap;
	}
	i = (uint32_t)(key * 0x9e3779b97f4a7c15ull >> 32) & (sm->cap - 1);
	while (sm->keys[i] && sm->keys[i] != key)
		i = (i + 1) & (sm->cap - 1);
	if (!sm->keys[i]) {
		sm->keys[i] = key;
		sm->vals[i] = PTX_NOREG;
		sm->used++;
	}
	*val = &sm->vals[i];
	return 0;
}

static void slotmap_free(struct slotmap *sm)
{
	free(sm->keys);
	free(sm->vals);
	memset(sm, 0, sizeof(*sm));
}

/* ------------------------------------------------------------ errors */

void ptx_log(char *log, size_t cap, const char *fmt, ...)
{
	size_t n;
	va_list ap;

	if (!log || !cap)
		return;
	n = strnlen(log, cap - 1);
	va_start(ap, fmt);
	vsnprintf(log + n, cap - n, fmt, ap);
	va_end(ap);
}

static int perr(struct parser *pp, uint32_t line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int perr(struct parser *pp, uint32_t line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (pp->failed)
		return -1;
	pp->failed = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ptx_log(pp->log, pp->log_cap, "ptx line %u: error: %s\n", line, msg);
	return -1;
}

static int pnomem(struct parser *pp)
{
	pp->nomem = true;
	pp->failed = true;
	return -1;
}

/* Quote a token for a message: at most 40 characters of it. */
#define TOKQ(t) (int)((t)->len > 40 ? 40 : (t)->len), (t)->s

static int expect_punct(struct parser *pp, char c)
{
	struct ptx_tok t = ptx_lex_next(&pp->lx);

	if (t.kind == TK_ERROR)
		return perr(pp, t.line, "%s", t.err);
	if (!ptx_tok_punct(&t, c)) {
		if (t.kind == TK_EOF)
			return perr(pp, t.line, "expected '%c', found the end "
				    "of the text", c);
		return perr(pp, t.line, "expected '%c' near '%.*s'", c,
			    TOKQ(&t));
	}
	return 0;
}

static int expect_uint(struct parser *pp, uint64_t max, uint64_t *v)
{
	struct ptx_tok t = ptx_lex_next(&pp->lx);

	if (t.kind == TK_ERROR)
		return perr(pp, t.line, "%s", t.err);
	if (t.kind != TK_INT)
		return perr(pp, t.line, "expected an integer near '%.*s'",
			    TOKQ(&t));
	if (t.ival > max)
		return perr(pp, t.line, "%llu is too large here (at most %llu)",
			    (unsigned long long)t.ival, (unsigned long long)max);
	*v = t.ival;
	return 0;
}

static char *dup_tok(struct parser *pp, const struct ptx_tok *t)
{
	char *s = malloc(t->len + 1u);

	if (!s) {
		pnomem(pp);
		return NULL;
	}
	memcpy(s, t->s, t->len);
	s[t->len] = '\0';
	return s;
}

/* Skip the rest of the line t is on (.loc and .file end at the newline). */
static void skip_line(struct parser *pp, uint32_t line)
{
	for (;;) {
		const struct ptx_tok *t = ptx_lex_peek(&pp->lx, 0);

		if (t->kind == TK_EOF || t->kind == TK_ERROR || t->line != line)
			return;
		ptx_lex_next(&pp->lx);
	}
}

/* Skip tokens up to and including the next ';'. */
static int skip_statement(struct parser *pp)
{
	for (;;) {
		struct ptx_tok t = ptx_lex_next(&pp->lx);

		if (t.kind == TK_ERROR)
			return perr(pp, t.line, "%s", t.err);
		if (t.kind == TK_EOF)
			return perr(pp, t.line, "expected ';' before the end");
		if (ptx_tok_punct(&t, ';'))
			return 0;
	}
}

/* .section name { ... } (debug information): skipped, braces balanced. */
static int skip_section(struct parser *pp)
{
	unsigned int depth = 0;

	for (;;) {
		struct ptx_tok t = ptx_lex_next(&pp->lx);

		if (t.kind == TK_ERROR)
			return perr(pp, t.line, "%s", t.err);
		if (t.kind == TK_EOF)
			return perr(pp, t.line, "unterminated .section");
		if (ptx_tok_punct(&t, '{')) {
			depth++;
		} else if (ptx_tok_punct(&t, '}')) {
			if (depth == 0)
				return perr(pp, t.line, "unbalanced '}' in .section");
			if (--depth == 0)
				return 0;
		}
	}
}

/* ------------------------------------------------------------- types */

static const struct { const char *s; uint8_t t; } type_names[] = {
	{ ".pred", PT_PRED },
	{ ".b8", PT_B8 }, { ".b16", PT_B16 }, { ".b32", PT_B32 },
	{ ".b64", PT_B64 },
	{ ".u8", PT_U8 }, { ".u16", PT_U16 }, { ".u32", PT_U32 },
	{ ".u64", PT_U64 },
	{ ".s8", PT_S8 }, { ".s16", PT_S16 }, { ".s32", PT_S32 },
	{ ".s64", PT_S64 },
	{ ".f32", PT_F32 }, { ".f64", PT_F64 },
};

static unsigned int tok_type(const struct ptx_tok *t)
{
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (ptx_tok_is(t, type_names[i].s))
			return type_names[i].t;
	return PT_NONE;
}

static bool tok_is_unsupported_type(const struct ptx_tok *t)
{
	static const char *const u[] = {
		".f16", ".f16x2", ".bf16", ".bf16x2", ".tf32", ".e4m3", ".e5m2",
		".b128", ".u128", ".s128", ".f8", ".e4m3x2", ".e5m2x2",
	};

	for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++)
		if (ptx_tok_is(t, u[i]))
			return true;
	return false;
}

/* Read a type token; refuses what the interpreter does not hold. */
static int expect_type(struct parser *pp, bool pred_ok, unsigned int *type)
{
	struct ptx_tok t = ptx_lex_next(&pp->lx);

	if (t.kind == TK_ERROR)
		return perr(pp, t.line, "%s", t.err);
	if (ptx_tok_is(&t, ".v2") || ptx_tok_is(&t, ".v4") ||
	    ptx_tok_is(&t, ".v8"))
		return perr(pp, t.line, "vector-typed declarations (%.*s) are "
			    "not supported by the cpu executor", TOKQ(&t));
	if (tok_is_unsupported_type(&t))
		return perr(pp, t.line, "type %.*s is not supported by the cpu "
			    "executor", TOKQ(&t));
	*type = tok_type(&t);
	if (*type == PT_NONE)
		return perr(pp, t.line, "expected a type near '%.*s'", TOKQ(&t));
	if (*type == PT_PRED && !pred_ok)
		return perr(pp, t.line, ".pred is not allowed here");
	return 0;
}

static int parse_align(struct parser *pp, uint32_t *align)
{
	uint64_t v = 0;

	ptx_lex_next(&pp->lx);  /* .align */
	if (expect_uint(pp, 1u << 16, &v))
		return -1;
	if (v == 0 || (v & (v - 1)))
		return perr(pp, pp->lx.line, ".align %llu is not a power of two",
			    (unsigned long long)v);
	*align = (uint32_t)v;
	return 0;
}

/* ------------------------------------------------------ initializers */

/* Store one initializer element of type t at buf (t's size bytes). */
static int init_elem(struct parser *pp, unsigned int type, unsigned char *buf)
{
	struct ptx_tok t = ptx_lex_next(&pp->lx);
	unsigned int sz = ptx_type_size(type);
	bool neg = false;
	uint64_t bits;

	if (ptx_tok_punct(&t, '-')) {
		neg = true;
		t = ptx_lex_next(&pp->lx);
	}
	if (t.kind == TK_ERROR)
		return perr(pp, t.line, "%s", t.err);
	if (t.kind == TK_IDENT)
		return perr(pp, t.line, "address initializers ('%.*s') are not "
			    "supported by the cpu executor", TOKQ(&t));
	if (t.kind == TK_INT) {
		uint64_t v = neg ? (uint64_t)0 - t.ival : t.ival;

		if (type == PT_F32) {
			float f = neg ? -(float)t.ival : (float)t.ival;

			memcpy(&bits, &f, 4);
		} else if (type == PT_F64) {
			double d = neg ? -(double)t.ival : (double)t.ival;

			memcpy(&bits, &d, 8);
		} else {
			bits = v;
		}
	} else if (t.kind == TK_FLOAT) {
		double d;

		if (!ptx_type_float(type))
			return perr(pp, t.line, "a floating-point initializer "
				    "for an integer variable");
		if (t.fkind == TF_HEX32) {
			float f;
			uint32_t b = (uint32_t)t.ival;

			memcpy(&f, &b, 4);
			d = f;
		} else if (t.fkind == TF_HEX64) {
			memcpy(&d, &t.ival, 8);
		} else {
			d = t.fval;
		}
		if (neg)
			d = -d;
		if (type == PT_F32) {
			float f = (float)d;

			if (t.fkind == TF_HEX32 && !neg) {
				uint32_t b = (uint32_t)t.ival; /* keep NaN bits */

				memcpy(&f, &b, 4);
			}
			memcpy(&bits, &f, 4);
		} else {
			if (t.fkind == TF_HEX64 && !neg)
				memcpy(&d, &t.ival, 8);
			memcpy(&bits, &d, 8);
		}
	} else {
		return perr(pp, t.line, "expected an initializer value near "
			    "'%.*s'", TOKQ(&t));
	}
	memcpy(buf, &bits, sz);        /* little-endian host, like the GPU */
	return 0;
}

/*
 * = value, or = { ... } with nested braces (structure not checked beyond
 * balance); elements fill the variable in order. *count gets the number of
 * elements given.
 */
static int parse_init(struct parser *pp, unsigned int type, uint64_t max_elems,
		      unsigned char **out, uint64_t *count)
{
	unsigned int sz = ptx_type_size(type);
	unsigned char *buf = NULL;
	uint64_t n = 0, cap = 0;
	unsigned int depth = 0;

	for (;;) {
		const struct ptx_tok *t = ptx_lex_peek(&pp->lx, 0);
		uint32_t line = t->line;

		if (ptx_tok_punct(t, '{')) {
			ptx_lex_next(&pp->lx);
			if (++depth > PARSE_MAX_DEPTH)
				goto fail_depth;
			continue;
		}
		if (ptx_tok_punct(t, '}')) {
			if (depth == 0) {
				perr(pp, line, "unbalanced '}' in an initializer");
				goto fail;
			}
			ptx_lex_next(&pp->lx);
			depth--;
		} else {
			if (n >= max_elems) {
				perr(pp, line, "too many initializers (the "
				     "variable has %llu elements)",
				     (unsigned long long)max_elems);
				goto fail;
			}
			if (n == cap) {
				uint64_t nc = cap ? cap * 2 : 64;
				void *p;

				if (nc > max_elems)
					nc = max_elems;
				p = realloc(buf, (size_t)(nc * sz));
				if (!p) {
					pnomem(pp);
					goto fail;
				}
				buf = p;
				cap = nc;
			}
			if (init_elem(pp, type, buf + n * sz))
				goto fail;
			n++;
		}
		if (depth == 0)
			break;
		t = ptx_lex_peek(&pp->lx, 0);
		if (ptx_tok_punct(t, ','))
			ptx_lex_next(&pp->lx);
		else if (!ptx_tok_punct(t, '}')) {
			perr(pp, t->line, "expected ',' or '}' in an initializer");
			goto fail;
		}
	}
	*out = buf;
	*count = n;
	return 0;
fail_depth:
	perr(pp, pp->lx.line, "initializer nested too deeply");
fail:
	free(buf);
	return -1;
}

/* --------------------------------------------------------- variables */

static struct ptx_var *var_slot(struct parser *pp, bool module, uint8_t space)
{
	struct ptx_var **arr;
	uint32_t *n;
	bool grow;
	void *p;

	if (!module) {
		arr = &pp->k->vars;
		n = &pp->k->nvars;
		grow = *n == pp->vars_cap;
	} else {
		arr = space == PS_SHARED ? &pp->m->shared : &pp->m->globals;
		n = space == PS_SHARED ? &pp->m->nshared : &pp->m->nglobals;
		/* module arrays double at each power of two */
		grow = (*n & (*n - 1)) == 0;
	}
	if (grow) {
		uint32_t nc = *n ? *n * 2 : 1;

		if (*n >= (1u << 24)) {
			perr(pp, pp->lx.line, "too many variables");
			return NULL;
		}
		p = realloc(*arr, nc * sizeof(**arr));
		if (!p) {
			pnomem(pp);
			return NULL;
		}
		*arr = p;
		if (!module)
			pp->vars_cap = nc;
	}
	memset(&(*arr)[*n], 0, sizeof(**arr));
	return &(*arr)[(*n)++];
}

/*
 * A variable declaration after its space token: [.align N] .type name[dims]
 * [= init] {, name[dims] [= init]} ;
 */
static int parse_var_decl(struct parser *pp, uint8_t space, bool is_extern,
			  bool module, uint32_t line)
{
	uint32_t align = 0;
	unsigned int type;

	if (ptx_tok_is(ptx_lex_peek(&pp->lx, 0), ".attribute"))
		return perr(pp, line, ".attribute on variables is not "
			    "supported by the cpu executor");
	if (ptx_tok_is(ptx_lex_peek(&pp->lx, 0), ".align") &&
	    parse_align(pp, &align))
		return -1;
	if (expect_type(pp, false, &type))
		return -1;
	if (ptx_tok_is(ptx_lex_peek(&pp->lx, 0), ".align") &&
	    parse_align(pp, &align))
		return -1;
	for (;;) {
		struct ptx_tok nt = ptx_lex_next(&pp->lx);
		uint64_t elems = 1, given = 0;
		bool open_dim = false;
		struct ptx_var *v;
		struct name_ent *e;
		unsigned char *init = NULL;

		if (nt.kind != TK_IDENT)
			return perr(pp, nt.line, "expected a variable name near "
				    "'%.*s'", TOKQ(&nt));
		if (module && ntab_lookup(&pp->names, nt.s, nt.len))
			return perr(pp, nt.line, "'%.*s' is declared twice",
				    TOKQ(&nt));
		while (ptx_tok_punct(ptx_lex_peek(&pp->lx, 0), '[')) {
			uint64_t d;

			ptx_lex_next(&pp->lx);
			if (ptx_tok_punct(ptx_lex_peek(&pp->lx, 0), ']')) {
				if (elems != 1 || open_dim)
					return perr(pp, nt.line, "only the first "
						    "dimension may be left open");
				open_dim = true;
				ptx_lex_next(&pp->lx);
				continue;
			}
			if (expect_uint(pp, PARSE_MAX_VAR_BYTES, &d) ||
			    expect_punct(pp, ']'))
				return -1;
			if (d == 0)
				return perr(pp, nt.line, "array dimension 0");
			if (elems > PARSE_MAX_VAR_BYTES / d)
				return perr(pp, nt.line, "variable '%.*s' is too "
					    "large", TOKQ(&nt));
			elems *= d;
		}
		if (elems > PARSE_MAX_VAR_BYTES / ptx_type_size(type))
			return perr(pp, nt.line, "variable '%.*s' is too large",
				    TOKQ(&nt));
		if (ptx_tok_punct(ptx_lex_peek(&pp->lx, 0), '=')) {
			ptx_lex_next(&pp->lx);
			if (space != PS_GLOBAL && space != PS_CONST)
				return perr(pp, nt.line, "only .global and .const "
					    "variables take initializers");
			if (is_extern)
				return perr(pp, nt.line, "an extern variable "
					    "takes no initializer");
			if (parse_init(pp, type, open_dim ?
				       PARSE_MAX_VAR_BYTES / ptx_type_size(type) /
				       elems : elems, &init, &given))
				return -1;
			if (open_dim) {
				/* given elements fill whole rows */
				elems = (given + elems - 1) / elems * elems;
				open_dim = false;
				if (!elems)
					elems = 1;
			}
		}
		if (open_dim && !(is_extern && space == PS_SHARED)) {
			free(init);
			return perr(pp, nt.line, "'%.*s' has no size", TOKQ(&nt));
		}
		if (is_extern && space != PS_SHARED) {
			free(init);
			return perr(pp, nt.line, "extern .global/.const variable "
				    "'%.*s' needs linking, which the cpu executor "
				    "does not do", TOKQ(&nt));
		}
		v = var_slot(pp, module, space);
		if (!v) {
			free(init);
			return -1;
		}
		v->name = dup_tok(pp, &nt);
		if (!v->name) {
			free(init);
			return -1;
		}
		v->space = space;
		v->is_extern = is_extern;
		v->align = align ? align : ptx_type_size(type);
		v->size = open_dim ? 0 : elems * ptx_type_size(type);
		v->line = nt.line;
		v->init = init;
		v->init_len = given * ptx_type_size(type);
		e = ntab_add(&pp->names, nt.s, nt.len);
		if (!e)
			return pnomem(pp);
		e->type = (uint8_t)type;
		if (!module) {
			e->kind = N_KVAR;
			e->idx = pp->k->nvars - 1;
		} else if (space == PS_SHARED) {
			e->kind = N_MSHARED;
			e->idx = pp->m->nshared - 1;
		} else {
			e->kind = N_GVAR;
			e->idx = pp->m->nglobals - 1;
		}
		nt = ptx_lex_next(&pp->lx);
		if (ptx_tok_punct(&nt, ';'))
			return 0;
		if (!ptx_tok_punct(&nt, ','))
			return perr(pp, nt.line, "expected ',' or ';' near '%.*s'",
				    TOKQ(&nt));
	}
}

/* --------------------------------------------------------- registers */

static int parse_reg_decl(struct parser *pp)
{
	unsigned int type;

	ptx_lex_next(&pp->lx);  /* .reg */
	if (expect_type(pp, true, &type))
		return -1;
	for (;;) {
		struct ptx_tok nt = ptx_lex_next(&pp->lx);
		struct name_ent *e;

		if (nt.kind != TK_IDENT || (nt.len == 1 && nt.s[0] == '_'))
			return perr(pp, nt.line, "expected a register name near "
				    "'%.*s'", TOKQ(&nt));
		e = ntab_add(&pp->names, nt.s, nt.len);
		if (!e)
			return pnomem(pp);
		e->type = (uint8_t)type;
		if (ptx_tok_punct(ptx_lex_peek(&pp->lx, 0), '<')) {
			uint64_t n;

			ptx_lex_next(&pp->lx);
			if (expect_uint(pp, UINT32_MAX, &n) ||
			    expect_punct(pp, '>'))
				return -1;
			e->kind = N_REGFAM;
			e->idx = (uint32_t)n;
		} else {
			e->kind = N_REG;
		}
		nt = ptx_lex_next(&pp->lx);
		if (ptx_tok_punct(&nt, ';'))
			return 0;
		if (!ptx_tok_punct(&nt, ','))
			return perr(pp, nt.line, "expected ',' or ';' near '%.*s'",
				    TOKQ(&nt));
	}
}

static int new_slot(struct parser *pp, uint32_t line, uint16_t *slot)
{
	if (pp->k->nslots >= PTX_MAX_REG_SLOTS)
		return perr(pp, line, "'%s' uses more than %u registers (the "
			    "cpu executor's limit)", pp->k->name,
			    PTX_MAX_REG_SLOTS);
	*slot = (uint16_t)pp->k->nslots++;
	return 0;
}

/*
 * Is s a member of a declared family (%r12 of %r<N>, 12 < N, no leading
 * zeros)? Returns the family's entry, with the member's index in *idx.
 */
static struct name_ent *family_member_idx(struct parser *pp, const char *s,
					  uint32_t len, uint32_t *idx)
{
	struct name_ent *e;
	uint32_t nd = 0;
	uint64_t v = 0;

	while (nd < len && nd < 10 && s[len - 1 - nd] >= '0' &&
	       s[len - 1 - nd] <= '9')
		nd++;
	if (!nd || nd == len || (nd > 1 && s[len - nd] == '0'))
		return NULL;
	for (uint32_t i = len - nd; i < len; i++)
		v = v * 10 + (uint64_t)(s[i] - '0');
	e = ntab_lookup(&pp->names, s, len - nd);
	if (!e || e->kind != N_REGFAM || v >= e->idx)
		return NULL;
	*idx = (uint32_t)v;
	return e;
}

static bool family_member(struct parser *pp, const char *s, uint32_t len)
{
	uint32_t idx;

	return family_member_idx(pp, s, len, &idx) != NULL;
}

/* The slot of a register named s; -1 with an error when undeclared. */
static int reg_lookup(struct parser *pp, const char *s, uint32_t len,
		      uint32_t line, uint16_t *slot, uint8_t *type)
{
	struct name_ent *e = ntab_lookup(&pp->names, s, len);
	uint32_t idx;

	if (e && e->kind == N_REG) {
		if (e->slot == PTX_NOREG && new_slot(pp, line, &e->slot))
			return -1;
		*slot = e->slot;
		*type = e->type;
		return 0;
	}
	e = family_member_idx(pp, s, len, &idx);
	if (e) {
		uint16_t *sl;

		if (slotmap_get(&pp->fam, ((uint64_t)(e - pp->names.ents) << 32) |
				idx, &sl))
			return pnomem(pp);
		if (*sl == PTX_NOREG && new_slot(pp, line, sl))
			return -1;
		*slot = *sl;
		*type = e->type;
		return 0;
	}
	return perr(pp, line, "register '%.*s' is not declared",
		    (int)(len > 40 ? 40 : len), s);
}

/* ------------------------------------------------------------ operands */

static const struct { const char *s; bool comp; uint8_t id; } sregs[] = {
	{ "%tid", true, SR_TID_X }, { "%ntid", true, SR_NTID_X },
	{ "%ctaid", true, SR_CTAID_X }, { "%nctaid", true, SR_NCTAID_X },
	{ "%laneid", false, SR_LANEID }, { "%warpid", false, SR_WARPID },
	{ "%nwarpid", false, SR_NWARPID }, { "%smid", false, SR_SMID },
	{ "%nsmid", false, SR_NSMID }, { "%gridid", false, SR_GRIDID },
	{ "%lanemask_eq", false, SR_LANEMASK_EQ },
	{ "%lanemask_lt", false, SR_LANEMASK_LT },
	{ "%lanemask_le", false, SR_LANEMASK_LE },
	{ "%lanemask_gt", false, SR_LANEMASK_GT },
	{ "%lanemask_ge", false, SR_LANEMASK_GE },
	{ "%clock", false, SR_CLOCK }, { "%clock64", false, SR_CLOCK64 },
	{ "%globaltimer", false, SR_GLOBALTIMER },
	{ "%dynamic_smem_size", false, SR_DYN_SMEM },
	{ "%total_smem_size", false, SR_TOTAL_SMEM },
};

/* A name as an operand (t taken already): register, special, variable... */
static int name_operand(struct parser *pp, const struct ptx_tok *t,
			struct ptx_popnd *po)
{
	struct name_ent *e;

	po->o.sym = -1;
	if (t->len == 1 && t->s[0] == '_') {
		po->o.kind = PK_REG;     /* the sink: writes go nowhere */
		po->o.reg = PTX_NOREG;
		po->o.rsize = 8;
		po->rtype = PT_B64;
		return 0;
	}
	if (t->s[0] == '%') {
		for (size_t i = 0; i < sizeof(sregs) / sizeof(sregs[0]); i++) {
			if (!ptx_tok_is(t, sregs[i].s))
				continue;
			po->o.kind = PK_SREG;
			po->o.reg = sregs[i].id;
			po->rtype = PT_U32;
			if (sregs[i].id == SR_CLOCK64 ||
			    sregs[i].id == SR_GLOBALTIMER)
				po->rtype = PT_U64;
			if (sregs[i].comp) {
				const struct ptx_tok *c = ptx_lex_peek(&pp->lx, 0);

				if (c->kind != TK_DOT || !c->glued || c->len != 2 ||
				    (c->s[1] != 'x' && c->s[1] != 'y' &&
				     c->s[1] != 'z'))
					return perr(pp, t->line, "%.*s needs .x, "
						    ".y or .z", TOKQ(t));
				po->o.reg = (uint16_t)(po->o.reg + (c->s[1] - 'x'));
				ptx_lex_next(&pp->lx);
			}
			return 0;
		}
	}
	e = ntab_lookup(&pp->names, t->s, t->len);
	if (e && (e->kind == N_PARAM || e->kind == N_KVAR ||
		  e->kind == N_GVAR || e->kind == N_MSHARED)) {
		po->o.kind = PK_SYM;
		po->o.sym = (int32_t)e->idx;
		switch (e->kind) {
		case N_PARAM:
			po->o.frame = FR_PARAM;
			po->vspace = PS_PARAM;
			break;
		case N_KVAR:
			po->o.frame = FR_KVAR;
			po->vspace = pp->k->vars[e->idx].space;
			break;
		case N_MSHARED:
			po->o.frame = FR_MSHARED;
			po->vspace = PS_SHARED;
			break;
		default:
			po->vspace = pp->m->globals[e->idx].space;
			break;
		}
		return 0;
	}
	if (e && e->kind == N_FUNC)
		return perr(pp, t->line, "function addresses ('%.*s') are not "
			    "supported by the cpu executor", TOKQ(t));
	if (t->s[0] == '%' || (e && e->kind == N_REG) ||
	    family_member(pp, t->s, t->len))
		goto reg;
	/* a plain name that is nothing else: a label (checked later) */
	po->is_label = true;
	po->name = t->s;
	po->name_len = t->len;
	return 0;
reg:
	{
		uint16_t slot = PTX_NOREG;
		uint8_t type = PT_NONE;

		if (reg_lookup(pp, t->s, t->len, t->line, &slot, &type))
			return -1;
		po->o.kind = PK_REG;
		po->o.reg = slot;
		po->rtype = type;
		po->o.rsize = (uint8_t)ptx_type_size(type);
		return 0;
	}
}

/* [reg], [var], [reg+imm], [var+imm], [imm], [reg+-imm] */
static int addr_operand(struct parser *pp, struct ptx_popnd *po)
{
	struct ptx_tok t = ptx_lex_next(&pp->lx);
	struct ptx_popnd base;

	memset(&base, 0, sizeof(base));
	po->o.kind = PK_ADDR;
	po->o.reg = PTX_NOREG;
	po->o.sym = -1;
	if (t.kind == TK_ERROR)
		return perr(pp, t.line, "%s", t.err);
	if (t.kind == TK_INT) {
		po->o.imm = t.ival;
		return expect_punct(pp, ']');
	}
	if (t.kind != TK_IDENT)
		return perr(pp, t.line, "expected an address near '%.*s'",
			    TOKQ(&t));
	if (name_operand(pp, &t, &base))
		return -1;
	if (base.is_label)
		return perr(pp, t.line, "'%.*s' is not declared", TOKQ(&t));
	if (base.o.kind == PK_REG) {
		if (base.o.reg == PTX_NOREG || base.rtype == PT_PRED ||
		    base.o.rsize < 4)
			return perr(pp, t.line, "'%.*s' cannot hold an address",
				    TOKQ(&t));
		po->o.reg = base.o.reg;
		po->o.rsize = base.o.rsize;
	} else if (base.o.kind == PK_SYM) {
		po->o.sym = base.o.sym;
		po->o.frame = base.o.frame;
		po->vspace = base.vspace;
	} else {
		return perr(pp, t.line, "'%.*s' cannot be an address", TOKQ(&t));
	}
	t = ptx_lex_next(&pp->lx);
	if (ptx_tok_punct(&t, '+') || ptx_tok_punct(&t, '-')) {
		bool neg = t.punct == '-';

		t = ptx_lex_next(&pp->lx);
		if (ptx_tok_punct(&t, '-')) {
			neg = !neg;
			t = ptx_lex_next(&pp->lx);
		}
		if (t.kind != TK_INT)
			return perr(pp, t.line, "expected an offset near '%.*s'",
				    TOKQ(&t));
		po->o.imm = neg ? (uint64_t)0 - t.ival : t.ival;
		t = ptx_lex_next(&pp->lx);
	}
	if (!ptx_tok_punct(&t, ']'))
		return perr(pp, t.line, "expected ']' near '%.*s'", TOKQ(&t));
	return 0;
}

static int vec_operand(struct parser *pp, struct ptx_popnd *po)
{
	po->o.kind = PK_VEC;
	po->o.sym = -1;
	for (;;) {
		struct ptx_tok t = ptx_lex_next(&pp->lx);
		struct ptx_popnd e;

		memset(&e, 0, sizeof(e));
		if (t.kind != TK_IDENT)
			return perr(pp, t.line, "expected a register in { } near "
				    "'%.*s'", TOKQ(&t));
		if (po->o.nvec >= 4)
			return perr(pp, t.line, "more than 4 registers in { }");
		if (name_operand(pp, &t, &e))
			return -1;
		if (e.o.kind != PK_REG)
			return perr(pp, t.line, "'%.*s' is not a register",
				    TOKQ(&t));
		po->o.vreg[po->o.nvec] = e.o.reg;
		po->vtype[po->o.nvec] = e.rtype;
		po->o.nvec++;
		t = ptx_lex_next(&pp->lx);
		if (ptx_tok_punct(&t, '}'))
			break;
		if (!ptx_tok_punct(&t, ','))
			return perr(pp, t.line, "expected ',' or '}' near '%.*s'",
				    TOKQ(&t));
	}
	/* each element's width: the widest named (sinks take it too) */
	for (unsigned int i = 0; i < po->o.nvec; i++)
		if (po->o.vreg[i] != PTX_NOREG &&
		    ptx_type_size(po->vtype[i]) > po->o.rsize)
			po->o.rsize = (uint8_t)ptx_type_size(po->vtype[i]);
	if (!po->o.rsize)
		po->o.rsize = 8;
	return 0;
}

static int operand(struct parser *pp, struct ptx_popnd *po)
{
	struct ptx_tok t = ptx_lex_next(&pp->lx);
	bool neg = false;

	memset(po, 0, sizeof(*po));
	po->o.sym = -1;
	po->o.reg = PTX_NOREG;
	if (t.kind == TK_ERROR)
		return perr(pp, t.line, "%s", t.err);
	if (ptx_tok_punct(&t, '['))
		return addr_operand(pp, po);
	if (ptx_tok_punct(&t, '{'))
		return vec_operand(pp, po);
	if (ptx_tok_punct(&t, '!')) {
		t = ptx_lex_next(&pp->lx);
		if (t.kind != TK_IDENT || name_operand(pp, &t, po))
			return perr(pp, t.line, "expected a predicate after '!'");
		if (po->o.kind != PK_REG || po->rtype != PT_PRED)
			return perr(pp, t.line, "'!' needs a .pred register");
		po->o.neg = 1;
		return 0;
	}
	if (ptx_tok_punct(&t, '-')) {
		neg = true;
		t = ptx_lex_next(&pp->lx);
	}
	if (t.kind == TK_INT) {
		po->o.kind = PK_IMM;
		po->imm_kind = IK_INT;
		po->ival = t.ival;
		po->negated = neg;
		return 0;
	}
	if (t.kind == TK_FLOAT) {
		po->o.kind = PK_IMM;
		po->negated = neg;
		po->imm_kind = t.fkind == TF_HEX32 ? IK_F32BITS :
			       t.fkind == TF_HEX64 ? IK_F64BITS : IK_DOUBLE;
		po->ival = t.ival;
		po->fval = t.fval;
		return 0;
	}
	if (neg)
		return perr(pp, t.line, "'-' must be followed by a constant");
	if (t.kind != TK_IDENT)
		return perr(pp, t.line, "expected an operand near '%.*s'",
			    TOKQ(&t));
	if (name_operand(pp, &t, po))
		return -1;
	/* var+4 as a value */
	if (po->o.kind == PK_SYM && ptx_tok_punct(ptx_lex_peek(&pp->lx, 0), '+') &&
	    ptx_lex_peek(&pp->lx, 1)->kind == TK_INT) {
		ptx_lex_next(&pp->lx);
		po->o.imm = ptx_lex_next(&pp->lx).ival;
	}
	return 0;
}

/* ------------------------------------------------------- instructions */

static int push_insn(struct parser *pp, const struct ptx_insn *in)
{
	struct ptx_kernel *k = pp->k;

	if (pp->ninsns >= PARSE_MAX_INSNS)
		return perr(pp, in->line, "more than %u instructions in the "
			    "module (the cpu executor's limit)", PARSE_MAX_INSNS);
	if (k->ncode == pp->code_cap) {
		uint32_t nc = pp->code_cap ? pp->code_cap * 2 : 64;
		void *p = realloc(k->code, nc * sizeof(*k->code));

		if (!p)
			return pnomem(pp);
		k->code = p;
		pp->code_cap = nc;
	}
	k->code[k->ncode++] = *in;
	pp->ninsns++;
	return 0;
}

static int parse_insn(struct parser *pp)
{
	struct ptx_pinsn pi;
	struct ptx_insn in;
	struct ptx_tok t;
	char msg[256];

	memset(&pi, 0, sizeof(pi));
	pi.guard = PTX_NOREG;
	pi.in_func = !pp->k->is_entry;
	t = ptx_lex_next(&pp->lx);
	pi.line = t.line;
	if (ptx_tok_punct(&t, '@')) {
		struct ptx_popnd g;

		memset(&g, 0, sizeof(g));
		t = ptx_lex_next(&pp->lx);
		if (ptx_tok_punct(&t, '!')) {
			pi.guard_neg = true;
			t = ptx_lex_next(&pp->lx);
		}
		if (t.kind != TK_IDENT || name_operand(pp, &t, &g) ||
		    g.o.kind != PK_REG || g.rtype != PT_PRED ||
		    g.o.reg == PTX_NOREG)
			return perr(pp, t.line, "expected a .pred register after "
				    "'@'");
		pi.guard = g.o.reg;
		t = ptx_lex_next(&pp->lx);
	}
	if (t.kind != TK_IDENT)
		return perr(pp, t.line, "expected an instruction near '%.*s'",
			    TOKQ(&t));
	pi.op = t.s;
	pi.op_len = t.len;
	/* an instruction it does not know is named before its operands */
	if (ptx_insn_check_name(pi.op, pi.op_len, msg, sizeof(msg)))
		return perr(pp, pi.line, "%s", msg);
	while (ptx_lex_peek(&pp->lx, 0)->kind == TK_DOT) {
		t = ptx_lex_next(&pp->lx);
		if (pi.nmods >= sizeof(pi.mod) / sizeof(pi.mod[0]))
			return perr(pp, t.line, "too many modifiers");
		pi.mod[pi.nmods].s = t.s;
		pi.mod[pi.nmods].len = t.len;
		pi.nmods++;
	}
	if (!ptx_tok_punct(ptx_lex_peek(&pp->lx, 0), ';')) {
		for (;;) {
			if (pi.nopnds >= sizeof(pi.opnd) / sizeof(pi.opnd[0]))
				return perr(pp, pi.line, "too many operands");
			if (operand(pp, &pi.opnd[pi.nopnds++]))
				return -1;
			t = ptx_lex_next(&pp->lx);
			if (ptx_tok_punct(&t, '|') && pi.nopnds == 1) {
				pi.has_pipe = true;
				continue;
			}
			if (ptx_tok_punct(&t, ';'))
				break;
			if (t.kind == TK_ERROR)
				return perr(pp, t.line, "%s", t.err);
			if (!ptx_tok_punct(&t, ','))
				return perr(pp, t.line, "expected ',' or ';' near "
					    "'%.*s'", TOKQ(&t));
		}
	} else {
		ptx_lex_next(&pp->lx);
	}
	msg[0] = '\0';
	if (ptx_insn_decode(&pi, &in, msg, sizeof(msg)))
		return perr(pp, pi.line, "%s", msg);
	if (in.op == PO_BRA) {
		if (pp->npend == pp->pend_cap) {
			uint32_t nc = pp->pend_cap ? pp->pend_cap * 2 : 32;
			void *p = realloc(pp->pend, nc * sizeof(*pp->pend));

			if (!p)
				return pnomem(pp);
			pp->pend = p;
			pp->pend_cap = nc;
		}
		pp->pend[pp->npend].insn = pp->k->ncode;
		pp->pend[pp->npend].s = pi.opnd[0].name;
		pp->pend[pp->npend].len = pi.opnd[0].name_len;
		pp->pend[pp->npend].line = pi.line;
		pp->npend++;
	}
	return push_insn(pp, &in);
}

static int parse_label(struct parser *pp)
{
	struct ptx_tok t = ptx_lex_next(&pp->lx);
	struct name_ent *e;

	ptx_lex_next(&pp->lx);  /* ':' */
	if (ntab_lookup(&pp->labels, t.s, t.len))
		return perr(pp, t.line, "label '%.*s' is defined twice",
			    TOKQ(&t));
	e = ntab_add(&pp->labels, t.s, t.len);
	if (!e)
		return pnomem(pp);
	e->kind = N_LABEL;
	e->idx = pp->k->ncode;
	return 0;
}

static int resolve_labels(struct parser *pp)
{
	for (uint32_t i = 0; i < pp->npend; i++) {
		struct pending_label *pl = &pp->pend[i];
		struct name_ent *e = ntab_lookup(&pp->labels, pl->s, pl->len);

		if (!e)
			return perr(pp, pl->line, "label '%.*s' is not defined "
				    "in '%s'", (int)(pl->len > 40 ? 40 : pl->len),
				    pl->s, pp->k->name);
		pp->k->code[pl->insn].target = e->idx;
	}
	return 0;
}

/* ------------------------------------------------------------- bodies */

static int push_scope(struct parser *pp, uint32_t line)
{
	if (pp->depth >= PARSE_MAX_DEPTH)
		return perr(pp, line, "blocks nested too deeply");
	pp->scope_mark[++pp->depth] = pp->names.nents;
	return 0;
}

static void pop_scope(struct parser *pp)
{
	ntab_pop(&pp->names, pp->scope_mark[pp->depth--]);
}

static int parse_body(struct parser *pp)
{
	unsigned int base = pp->depth;

	if (expect_punct(pp, '{') || push_scope(pp, pp->lx.line))
		return -1;
	for (;;) {
		const struct ptx_tok *t = ptx_lex_peek(&pp->lx, 0);
		uint32_t line = t->line;

		if (t->kind == TK_ERROR)
			return perr(pp, line, "%s", t->err);
		if (t->kind == TK_EOF)
			return perr(pp, line, "'%s' has no closing '}'",
				    pp->k->name);
		if (ptx_tok_punct(t, '}')) {
			ptx_lex_next(&pp->lx);
			pop_scope(pp);
			if (pp->depth == base)
				return 0;
			continue;
		}
		if (ptx_tok_punct(t, '{')) {
			ptx_lex_next(&pp->lx);
			if (push_scope(pp, line))
				return -1;
			continue;
		}
		if (t->kind == TK_DOT) {
			if (ptx_tok_is(t, ".reg")) {
				if (parse_reg_decl(pp))
					return -1;
			} else if (ptx_tok_is(t, ".local") ||
				   ptx_tok_is(t, ".shared")) {
				uint8_t sp = ptx_tok_is(t, ".local") ? PS_LOCAL :
					     PS_SHARED;

				ptx_lex_next(&pp->lx);
				if (parse_var_decl(pp, sp, false, false, line))
					return -1;
			} else if (ptx_tok_is(t, ".extern") &&
				   ptx_tok_is(ptx_lex_peek(&pp->lx, 1), ".shared")) {
				ptx_lex_next(&pp->lx);
				ptx_lex_next(&pp->lx);
				if (parse_var_decl(pp, PS_SHARED, true, false, line))
					return -1;
			} else if (ptx_tok_is(t, ".pragma")) {
				if (skip_statement(pp))
					return -1;
			} else if (ptx_tok_is(t, ".loc") || ptx_tok_is(t, ".file")) {
				ptx_lex_next(&pp->lx);
				skip_line(pp, line);
			} else if (ptx_tok_is(t, ".param")) {
				return perr(pp, line, ".param variables in a body "
					    "(call sequences) are not supported: "
					    "the cpu executor does not support "
					    "call");
			} else {
				return perr(pp, line, "directive '%.*s' is not "
					    "supported in a body by the cpu "
					    "executor", TOKQ(t));
			}
			continue;
		}
		if (t->kind == TK_IDENT &&
		    ptx_tok_punct(ptx_lex_peek(&pp->lx, 1), ':')) {
			if (parse_label(pp))
				return -1;
			continue;
		}
		if (t->kind == TK_IDENT || ptx_tok_punct(t, '@')) {
			if (parse_insn(pp))
				return -1;
			continue;
		}
		return perr(pp, line, "unexpected '%.*s'", TOKQ(t));
	}
}

/* ----------------------------------------------------------- functions */

static int add_param(struct parser *pp, const struct ptx_tok *nt,
		     uint32_t size, uint32_t align)
{
	struct ptx_kernel *k = pp->k;
	struct ptx_param *p;
	struct name_ent *e;
	uint64_t off;

	if (k->nparams >= PARSE_MAX_PARAMS)
		return perr(pp, nt->line, "too many parameters");
	if (k->nparams == pp->params_cap) {
		uint32_t nc = pp->params_cap ? pp->params_cap * 2 : 8;
		void *q = realloc(k->params, nc * sizeof(*k->params));

		if (!q)
			return pnomem(pp);
		k->params = q;
		pp->params_cap = nc;
	}
	off = ((uint64_t)k->param_bytes + align - 1) / align * align;
	if (off + size > (1u << 20))
		return perr(pp, nt->line, "parameters of '%s' are too large",
			    k->name);
	p = &k->params[k->nparams];
	p->name = dup_tok(pp, nt);
	if (!p->name)
		return -1;
	p->offset = (uint32_t)off;
	p->size = size;
	p->align = align;
	k->param_bytes = (uint32_t)(off + size);
	e = ntab_add(&pp->names, nt->s, nt->len);
	if (!e)
		return pnomem(pp);
	e->kind = N_PARAM;
	e->idx = k->nparams++;
	return 0;
}

/*
 * .param [.align A] .type [.ptr [.space] [.align N]] name [[N]]
 * .reg .type name (a .func's register parameter: declared as a register)
 */
static int parse_param(struct parser *pp)
{
	struct ptx_tok t = ptx_lex_next(&pp->lx);
	uint32_t align = 0, line = t.line;
	uint64_t count = 1;
	unsigned int type;

	if (ptx_tok_is(&t, ".reg")) {
		struct ptx_tok nt;
		struct name_ent *e;

		if (expect_type(pp, true, &type))
			return -1;
		nt = ptx_lex_next(&pp->lx);
		if (nt.kind != TK_IDENT)
			return perr(pp, nt.line, "expected a parameter name");
		e = ntab_add(&pp->names, nt.s, nt.len);
		if (!e)
			return pnomem(pp);
		e->kind = N_REG;
		e->type = (uint8_t)type;
		return 0;
	}
	if (!ptx_tok_is(&t, ".param"))
		return perr(pp, line, "expected .param near '%.*s'", TOKQ(&t));
	if (ptx_tok_is(ptx_lex_peek(&pp->lx, 0), ".align") &&
	    parse_align(pp, &align))
		return -1;
	if (expect_type(pp, false, &type))
		return -1;
	if (ptx_tok_is(ptx_lex_peek(&pp->lx, 0), ".ptr")) {
		uint32_t pointee;

		ptx_lex_next(&pp->lx);
		t = *ptx_lex_peek(&pp->lx, 0);
		if (ptx_tok_is(&t, ".global") || ptx_tok_is(&t, ".const") ||
		    ptx_tok_is(&t, ".shared") || ptx_tok_is(&t, ".local"))
			ptx_lex_next(&pp->lx);
		if (ptx_tok_is(ptx_lex_peek(&pp->lx, 0), ".align") &&
		    parse_align(pp, &pointee))
			return -1;
	}
	t = ptx_lex_next(&pp->lx);
	if (t.kind != TK_IDENT)
		return perr(pp, t.line, "expected a parameter name near '%.*s'",
			    TOKQ(&t));
	if (ptx_tok_punct(ptx_lex_peek(&pp->lx, 0), '[')) {
		ptx_lex_next(&pp->lx);
		if (expect_uint(pp, 1u << 20, &count) || expect_punct(pp, ']'))
			return -1;
		if (!count)
			return perr(pp, t.line, "array parameter of size 0");
	}
	if (!align)
		align = ptx_type_size(type);
	return add_param(pp, &t, (uint32_t)(count * ptx_type_size(type)), align);
}

static int parse_param_list(struct parser *pp)
{
	if (expect_punct(pp, '('))
		return -1;
	if (ptx_tok_punct(ptx_lex_peek(&pp->lx, 0), ')')) {
		ptx_lex_next(&pp->lx);
		return 0;
	}
	for (;;) {
		struct ptx_tok t;

		if (parse_param(pp))
			return -1;
		t = ptx_lex_next(&pp->lx);
		if (ptx_tok_punct(&t, ')'))
			return 0;
		if (!ptx_tok_punct(&t, ','))
			return perr(pp, t.line, "expected ',' or ')' near '%.*s'",
				    TOKQ(&t));
	}
}

static int parse_ntid(struct parser *pp, uint32_t out[3])
{
	for (int i = 0; i < 3; i++) {
		uint64_t v = 0;

		if (expect_uint(pp, PTX_MAX_THREADS, &v))
			return -1;
		if (!v)
			return perr(pp, pp->lx.line, "a thread count of 0");
		out[i] = (uint32_t)v;
		if (!ptx_tok_punct(ptx_lex_peek(&pp->lx, 0), ','))
			break;
		ptx_lex_next(&pp->lx);
	}
	for (int i = 0; i < 3; i++)
		if (!out[i])
			out[i] = 1;
	return 0;
}

static void func_reset(struct parser *pp)
{
	ntab_clear(&pp->labels);
	slotmap_free(&pp->fam);
	free(pp->pend);
	pp->pend = NULL;
	pp->npend = pp->pend_cap = 0;
	pp->code_cap = pp->vars_cap = pp->params_cap = 0;
	pp->k = NULL;
}

static int add_kernel(struct parser *pp, struct ptx_kernel *k)
{
	struct ptx_module *m = pp->m;

	if ((m->nkernels & (m->nkernels - 1)) == 0) {
		uint32_t nc = m->nkernels ? m->nkernels * 2 : 1;
		void *p;

		if (m->nkernels >= (1u << 20))
			return perr(pp, k->line, "too many functions");
		p = realloc(m->kernels, nc * sizeof(*m->kernels));
		if (!p)
			return pnomem(pp);
		m->kernels = p;
	}
	m->kernels[m->nkernels++] = k;
	return 0;
}

/* .entry / .func after its directive (and any linkage directives). */
/*
 * The function's name at module scope (looked up again here: entries move
 * when the table grows). defined: it has a body; a second body is an error.
 */
static int declare_func(struct parser *pp, const struct ptx_tok *nt,
			bool defined)
{
	struct name_ent *e = ntab_lookup(&pp->names, nt->s, nt->len);

	if (e && e->kind != N_FUNC)
		return perr(pp, nt->line, "'%.*s' is declared twice", TOKQ(nt));
	if (e && defined && e->idx)
		return perr(pp, nt->line, "'%.*s' is defined twice", TOKQ(nt));
	if (!e) {
		e = ntab_add(&pp->names, nt->s, nt->len);
		if (!e)
			return pnomem(pp);
		e->kind = N_FUNC;
	}
	if (defined)
		e->idx = 1;
	return 0;
}

/* .maxntid, .reqntid and the directives accepted and ignored. */
static int parse_func_directives(struct parser *pp, struct ptx_kernel *k)
{
	for (;;) {
		const struct ptx_tok *t = ptx_lex_peek(&pp->lx, 0);

		if (ptx_tok_is(t, ".maxntid")) {
			ptx_lex_next(&pp->lx);
			if (parse_ntid(pp, k->maxntid))
				return -1;
		} else if (ptx_tok_is(t, ".reqntid")) {
			ptx_lex_next(&pp->lx);
			if (parse_ntid(pp, k->reqntid))
				return -1;
		} else if (ptx_tok_is(t, ".minnctapersm") ||
			   ptx_tok_is(t, ".maxnctapersm") ||
			   ptx_tok_is(t, ".maxnreg")) {
			uint64_t v = 0;

			ptx_lex_next(&pp->lx);
			if (expect_uint(pp, UINT32_MAX, &v))
				return -1;
		} else if (ptx_tok_is(t, ".noreturn")) {
			ptx_lex_next(&pp->lx);
		} else if (ptx_tok_is(t, ".pragma")) {
			if (skip_statement(pp))
				return -1;
		} else if (t->kind == TK_DOT) {
			return perr(pp, t->line, "function directive '%.*s' is "
				    "not supported by the cpu executor", TOKQ(t));
		} else {
			return 0;
		}
	}
}

/* .entry / .func after its directive (and any linkage directives). */
static int parse_function(struct parser *pp, bool is_entry, bool is_extern,
			  uint32_t line)
{
	struct ptx_kernel *k = calloc(1, sizeof(*k));
	unsigned int depth0 = pp->depth;
	struct ptx_tok nt;
	char msg[256];

	if (!k)
		return pnomem(pp);
	k->mod = pp->m;
	k->is_entry = is_entry;
	k->line = line;
	pp->k = k;
	if (push_scope(pp, line))
		goto fail;
	/* .func (.param .b32 retval) name (...): the return parameters */
	if (!is_entry && ptx_tok_punct(ptx_lex_peek(&pp->lx, 0), '(')) {
		if (parse_param_list(pp))
			goto fail;
		/* return values are not inputs: forget them (their names
		 * stay declared; a .func never runs) */
		for (uint32_t i = 0; i < k->nparams; i++)
			free(k->params[i].name);
		k->nparams = 0;
		k->param_bytes = 0;
	}
	nt = ptx_lex_next(&pp->lx);
	if (nt.kind != TK_IDENT) {
		perr(pp, nt.line, "expected a function name near '%.*s'",
		     TOKQ(&nt));
		goto fail;
	}
	k->name = dup_tok(pp, &nt);
	if (!k->name)
		goto fail;
	if (ptx_tok_punct(ptx_lex_peek(&pp->lx, 0), '(') &&
	    parse_param_list(pp))
		goto fail;
	if (parse_func_directives(pp, k))
		goto fail;
	if (ptx_tok_punct(ptx_lex_peek(&pp->lx, 0), ';')) {
		/* a prototype: nothing to run */
		ptx_lex_next(&pp->lx);
		pop_scope(pp);
		if (is_entry && !is_extern) {
			perr(pp, nt.line, ".entry '%s' has no body", k->name);
			goto fail;
		}
		if (declare_func(pp, &nt, false))
			goto fail;
		ptx_kernel_free(k);
		func_reset(pp);
		return 0;
	}
	if (is_extern) {
		perr(pp, nt.line, "an .extern function has no body");
		goto fail;
	}
	if (parse_body(pp) || resolve_labels(pp))
		goto fail;
	pop_scope(pp);
	if (declare_func(pp, &nt, true))
		goto fail;
	msg[0] = '\0';
	if (ptx_kernel_layout(k, msg, sizeof(msg))) {
		perr(pp, line, "%s", msg);
		goto fail;
	}
	if (add_kernel(pp, k))
		goto fail;
	func_reset(pp);
	return 0;

fail:
	while (pp->depth > depth0)
		pop_scope(pp);
	ptx_kernel_free(k);
	func_reset(pp);
	return -1;
}

/* ------------------------------------------------------------- module */

static int parse_version(struct parser *pp, uint32_t line)
{
	struct ptx_tok t = ptx_lex_next(&pp->lx);
	unsigned int maj = 0, min = 0;
	uint32_t i = 0;

	if (t.kind != TK_FLOAT || t.fkind != TF_DEC)
		return perr(pp, line, "expected .version major.minor");
	while (i < t.len && t.s[i] >= '0' && t.s[i] <= '9' && maj < 100)
		maj = maj * 10 + (unsigned int)(t.s[i++] - '0');
	if (i >= t.len || t.s[i] != '.')
		return perr(pp, line, "expected .version major.minor");
	i++;
	while (i < t.len && t.s[i] >= '0' && t.s[i] <= '9' && min < 100)
		min = min * 10 + (unsigned int)(t.s[i++] - '0');
	if (i != t.len || maj < 1 || maj > 9)
		return perr(pp, line, ".version %.*s is not one the cpu executor "
			    "knows (1.0 .. 9.x)", TOKQ(&t));
	pp->m->ptx_major = maj;
	pp->m->ptx_minor = min;
	return 0;
}

static int parse_target(struct parser *pp, uint32_t line)
{
	bool have_sm = false;

	for (;;) {
		struct ptx_tok t = ptx_lex_next(&pp->lx);

		if (t.kind != TK_IDENT)
			return perr(pp, line, "expected a target near '%.*s'",
				    TOKQ(&t));
		if (t.len > 3 && !memcmp(t.s, "sm_", 3)) {
			uint32_t v = 0, i = 3;

			while (i < t.len && t.s[i] >= '0' && t.s[i] <= '9' &&
			       v < 10000)
				v = v * 10 + (uint32_t)(t.s[i++] - '0');
			if (i == 3 || (i < t.len && !((t.s[i] == 'a' ||
						      t.s[i] == 'f') &&
						     i + 1 == t.len)))
				return perr(pp, line, "unknown target '%.*s'",
					    TOKQ(&t));
			pp->m->sm = v;
			have_sm = true;
		} else if (ptx_tok_is(&t, "map_f64_to_f32")) {
			return perr(pp, line, "target map_f64_to_f32 is not "
				    "supported by the cpu executor");
		} else if (!ptx_tok_is(&t, "texmode_unified") &&
			   !ptx_tok_is(&t, "texmode_independent") &&
			   !ptx_tok_is(&t, "debug")) {
			return perr(pp, line, "unknown target '%.*s'", TOKQ(&t));
		}
		if (!ptx_tok_punct(ptx_lex_peek(&pp->lx, 0), ','))
			break;
		ptx_lex_next(&pp->lx);
	}
	if (!have_sm)
		return perr(pp, line, ".target names no sm_XX");
	return 0;
}

static int parse_module(struct parser *pp)
{
	bool have_version = false, have_target = false;

	for (;;) {
		struct ptx_tok t = *ptx_lex_peek(&pp->lx, 0);
		bool is_extern = false;

		if (pp->failed)
			return -1;
		if (t.kind == TK_EOF)
			break;
		if (t.kind == TK_ERROR)
			return perr(pp, t.line, "%s", t.err);
		if (t.kind != TK_DOT)
			return perr(pp, t.line, "expected a directive near '%.*s'",
				    TOKQ(&t));
		ptx_lex_next(&pp->lx);
		if (ptx_tok_is(&t, ".version")) {
			if (have_version)
				return perr(pp, t.line, ".version twice");
			if (parse_version(pp, t.line))
				return -1;
			have_version = true;
			continue;
		}
		if (!have_version)
			return perr(pp, t.line, "the module must begin with "
				    ".version");
		if (ptx_tok_is(&t, ".target")) {
			if (parse_target(pp, t.line))
				return -1;
			have_target = true;
			continue;
		}
		if (ptx_tok_is(&t, ".address_size")) {
			uint64_t v = 0;

			if (expect_uint(pp, 64, &v))
				return -1;
			if (v != 64)
				return perr(pp, t.line, ".address_size %llu: the "
					    "cpu executor runs 64-bit PTX only",
					    (unsigned long long)v);
			continue;
		}
		if (ptx_tok_is(&t, ".file") || ptx_tok_is(&t, ".loc")) {
			skip_line(pp, t.line);
			continue;
		}
		if (ptx_tok_is(&t, ".section")) {
			if (skip_section(pp))
				return -1;
			continue;
		}
		if (ptx_tok_is(&t, ".pragma")) {
			if (skip_statement(pp))
				return -1;
			continue;
		}
		if (!have_target)
			return perr(pp, t.line, ".target must come before '%.*s'",
				    TOKQ(&t));
		/* linkage: .visible .extern .weak .common, then the thing */
		while (ptx_tok_is(&t, ".visible") || ptx_tok_is(&t, ".extern") ||
		       ptx_tok_is(&t, ".weak") || ptx_tok_is(&t, ".common")) {
			if (ptx_tok_is(&t, ".extern"))
				is_extern = true;
			t = ptx_lex_next(&pp->lx);
		}
		if (ptx_tok_is(&t, ".entry") || ptx_tok_is(&t, ".func")) {
			if (parse_function(pp, ptx_tok_is(&t, ".entry"),
					   is_extern, t.line))
				return -1;
		} else if (ptx_tok_is(&t, ".global") || ptx_tok_is(&t, ".const") ||
			   ptx_tok_is(&t, ".shared")) {
			uint8_t sp = ptx_tok_is(&t, ".global") ? PS_GLOBAL :
				     ptx_tok_is(&t, ".const") ? PS_CONST :
				     PS_SHARED;
			const struct ptx_tok *n = ptx_lex_peek(&pp->lx, 0);

			if (ptx_tok_is(n, ".texref") || ptx_tok_is(n, ".surfref") ||
			    ptx_tok_is(n, ".samplerref"))
				return perr(pp, t.line, "textures and surfaces "
					    "(%.*s) are not supported by the cpu "
					    "executor", TOKQ(n));
			if (parse_var_decl(pp, sp, is_extern, true, t.line))
				return -1;
		} else if (t.kind == TK_ERROR) {
			return perr(pp, t.line, "%s", t.err);
		} else {
			return perr(pp, t.line, "directive '%.*s' is not supported "
				    "by the cpu executor", TOKQ(&t));
		}
	}
	if (!have_version)
		return perr(pp, pp->lx.line, "no .version: this is not PTX");
	if (!have_target)
		return perr(pp, pp->lx.line, "no .target");
	return 0;
}

int ptx_parse(const char *text, size_t len, struct ptx_module **out,
	      char *log, size_t log_cap)
{
	struct parser pp;
	int rc;

	memset(&pp, 0, sizeof(pp));
	pp.log = log;
	pp.log_cap = log_cap;
	pp.m = calloc(1, sizeof(*pp.m));
	if (!pp.m)
		return -ENOMEM;
	ptx_lex_init(&pp.lx, text, len);
	rc = parse_module(&pp);
	ntab_free(&pp.names);
	func_reset(&pp);
	if (rc || pp.failed) {
		ptx_module_free(pp.m);
		return pp.nomem ? -ENOMEM : -ENOEXEC;
	}
	*out = pp.m;
	return 0;
}
