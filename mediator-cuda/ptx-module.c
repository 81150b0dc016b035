/* SPDX-License-Identifier: MIT */
/*
 * ptx-module.c - the module model after parsing: each kernel's frame laid
 * out (parameters, static and dynamic shared memory, local memory), its
 * variable references folded into constant offsets, the limits ptxas would
 * enforce checked; loading (PTX text, or the PTX of a fat binary), lookups
 * by name and what FUNC_INFO reports.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ptx-insn.h"

/* CUfunction_attribute values (the driver API's numbering) */
enum {
	FA_MAX_THREADS_PER_BLOCK = 0, FA_SHARED_SIZE_BYTES = 1,
	FA_CONST_SIZE_BYTES = 2, FA_LOCAL_SIZE_BYTES = 3, FA_NUM_REGS = 4,
	FA_PTX_VERSION = 5, FA_BINARY_VERSION = 6, FA_CACHE_MODE_CA = 7,
	FA_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8,
	FA_PREFERRED_SHARED_MEMORY_CARVEOUT = 9,
	FA_COUNT_ANSWERED = 10
};

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

static uint64_t window_of(unsigned int space)
{
	switch (space) {
	case PS_SHARED:
		return PTX_WINDOW_SHARED;
	case PS_LOCAL:
		return PTX_WINDOW_LOCAL;
	case PS_PARAM:
		return PTX_WINDOW_PARAM;
	default:
		return 0;
	}
}

/* ------------------------------------------------------------- layout */

int ptx_kernel_layout(struct ptx_kernel *k, char *msg, size_t cap)
{
	struct ptx_module *m = k->mod;
	uint64_t *moff = NULL;           /* module .shared offsets, or ~0 */
	bool *cused = NULL;              /* module variables named         */
	uint64_t shared = 0, local = 0, ext_align = 16;
	bool ext = false;
	int rc = -1;

	if (m->nshared) {
		moff = malloc(m->nshared * sizeof(*moff));
		if (!moff)
			goto out_nomem;
		memset(moff, 0xff, m->nshared * sizeof(*moff));
	}
	if (m->nglobals) {
		cused = calloc(m->nglobals, sizeof(*cused));
		if (!cused)
			goto out_nomem;
	}
	/* which module variables it names */
	for (uint32_t i = 0; i < k->ncode; i++)
		for (unsigned int j = 0; j < 5; j++) {
			const struct ptx_opnd *o = &k->code[i].o[j];

			if (o->kind != PK_ADDR && o->kind != PK_SYM)
				continue;
			if (o->frame == FR_MSHARED)
				moff[o->sym] = 0;
			else if (!o->frame && o->sym >= 0)
				cused[o->sym] = true;
		}
	/* static shared: its own, then the module's it names */
	for (uint32_t i = 0; i < k->nvars; i++) {
		struct ptx_var *v = &k->vars[i];

		if (v->space != PS_SHARED)
			continue;
		if (v->is_extern) {
			ext = true;
			if (v->align > ext_align)
				ext_align = v->align;
			continue;
		}
		shared = align_up(shared, v->align);
		v->addr = shared;
		shared += v->size;
		if (shared > PTX_MAX_STATIC_SHARED)
			break;
	}
	for (uint32_t i = 0; i < m->nshared && shared <= PTX_MAX_STATIC_SHARED;
	     i++) {
		struct ptx_var *v = &m->shared[i];

		if (moff[i])
			continue;       /* not named */
		if (v->is_extern) {
			ext = true;
			if (v->align > ext_align)
				ext_align = v->align;
			continue;
		}
		shared = align_up(shared, v->align);
		moff[i] = shared;
		shared += v->size;
	}
	if (shared > PTX_MAX_STATIC_SHARED) {
		snprintf(msg, cap, "entry '%s' uses too much shared data "
			 "(more than 0x%x bytes)", k->name, PTX_MAX_STATIC_SHARED);
		goto out;
	}
	k->shared_static = (uint32_t)shared;
	k->dyn_shared = ext;
	k->dyn_base = (uint32_t)align_up(shared, ext_align);
	for (uint32_t i = 0; i < k->nvars; i++)
		if (k->vars[i].space == PS_SHARED && k->vars[i].is_extern)
			k->vars[i].addr = k->dyn_base;
	for (uint32_t i = 0; i < m->nshared; i++)
		if (!moff[i] && m->shared[i].is_extern)
			moff[i] = k->dyn_base;

	/* local: one frame per thread */
	for (uint32_t i = 0; i < k->nvars; i++) {
		struct ptx_var *v = &k->vars[i];

		if (v->space != PS_LOCAL)
			continue;
		local = align_up(local, v->align);
		v->addr = local;
		local += v->size;
		if (local > PTX_MAX_LOCAL_PER_THREAD) {
			snprintf(msg, cap, "entry '%s' uses too much local data "
				 "(more than 0x%x bytes per thread)", k->name,
				 PTX_MAX_LOCAL_PER_THREAD);
			goto out;
		}
	}
	k->local_bytes = (uint32_t)local;

	k->const_bytes = 0;
	for (uint32_t i = 0; i < m->nglobals; i++)
		if (cused[i] && m->globals[i].space == PS_CONST)
			k->const_bytes = (uint32_t)(k->const_bytes +
				m->globals[i].size > UINT32_MAX ? UINT32_MAX :
				k->const_bytes + m->globals[i].size);

	/* fold frame references into offsets, generic ones into windows */
	for (uint32_t i = 0; i < k->ncode; i++) {
		struct ptx_insn *in = &k->code[i];
		bool generic = (in->op == PO_LD || in->op == PO_ST ||
				in->op == PO_ATOM || in->op == PO_NOP) &&
			       in->space == PS_GENERIC;

		if (in->op == PO_BRA && in->target > k->ncode) {
			snprintf(msg, cap, "a branch leaves '%s'", k->name);
			goto out;
		}
		for (unsigned int j = 0; j < 5; j++) {
			struct ptx_opnd *o = &in->o[j];
			uint64_t base;
			unsigned int space;

			if ((o->kind != PK_ADDR && o->kind != PK_SYM) || !o->frame)
				continue;
			switch (o->frame) {
			case FR_PARAM:
				base = k->params[o->sym].offset;
				space = PS_PARAM;
				break;
			case FR_KVAR:
				base = k->vars[o->sym].addr;
				space = k->vars[o->sym].space;
				break;
			default:
				base = moff[o->sym];
				space = PS_SHARED;
				break;
			}
			if (o->kind == PK_ADDR && generic)
				base += window_of(space);
			o->imm += base;
			o->frame = FR_NONE;
			o->sym = -1;
		}
	}
	rc = 0;
	goto out;
out_nomem:
	snprintf(msg, cap, "out of memory");
out:
	free(moff);
	free(cused);
	return rc;
}

static void var_free(struct ptx_var *v)
{
	free(v->name);
	free(v->init);
}

void ptx_kernel_free(struct ptx_kernel *k)
{
	if (!k)
		return;
	for (uint32_t i = 0; i < k->nparams; i++)
		free(k->params[i].name);
	for (uint32_t i = 0; i < k->nvars; i++)
		var_free(&k->vars[i]);
	free(k->params);
	free(k->vars);
	free(k->code);
	free(k->name);
	free(k);
}

void ptx_module_free(struct ptx_module *m)
{
	if (!m)
		return;
	for (uint32_t i = 0; i < m->nkernels; i++)
		ptx_kernel_free(m->kernels[i]);
	for (uint32_t i = 0; i < m->nglobals; i++)
		var_free(&m->globals[i]);
	for (uint32_t i = 0; i < m->nshared; i++)
		var_free(&m->shared[i]);
	free(m->kernels);
	free(m->globals);
	free(m->shared);
	free(m);
}

/* ------------------------------------------------------------ loading */

int ptx_module_load(const void *image, size_t len, struct ptx_module **out,
		    char *log, size_t log_cap)
{
	const unsigned char *b = image;
	char *text = NULL;
	size_t text_len = 0;
	int rc;

	if (log && log_cap)
		log[0] = '\0';
	*out = NULL;
	if (!image || !len) {
		ptx_log(log, log_cap, "ptx: error: empty image\n");
		return -ENOEXEC;
	}
	if (len >= 4 && !memcmp(b, "\177ELF", 4)) {
		ptx_log(log, log_cap, "ptx: error: this is a cubin (ELF with "
			"SASS for one GPU), which the cpu executor cannot run; "
			"load PTX, or a fat binary that carries PTX\n");
		return -EOPNOTSUPP;
	}
	if (len >= 4 && b[0] == 0x50 && b[1] == 0xed && b[2] == 0x55 &&
	    b[3] == 0xba) {
		rc = ptx_fatbin_extract(image, len, &text, &text_len, log,
					log_cap);
		if (rc)
			return rc;
		rc = ptx_parse(text, text_len, out, log, log_cap);
		free(text);
		return rc;
	}
	return ptx_parse(image, len, out, log, log_cap);
}

/* ------------------------------------------------------------ lookups */

unsigned int ptx_module_nglobals(const struct ptx_module *m)
{
	return m->nglobals;
}

void ptx_module_global(const struct ptx_module *m, unsigned int i,
		       struct ptx_global_info *gi)
{
	const struct ptx_var *v = &m->globals[i];

	gi->name = v->name;
	gi->is_const = v->space == PS_CONST;
	gi->size = v->size;
	gi->align = v->align;
	gi->init = v->init;
	gi->init_len = v->init_len;
}

static bool name_eq(const char *a, const char *b, size_t len)
{
	return strlen(a) == len && !memcmp(a, b, len);
}

int ptx_module_find_global(const struct ptx_module *m, const char *name,
			   size_t len)
{
	for (uint32_t i = 0; i < m->nglobals; i++)
		if (name_eq(m->globals[i].name, name, len))
			return (int)i;
	return -1;
}

void ptx_module_bind_global(struct ptx_module *m, unsigned int i, uint64_t addr)
{
	m->globals[i].addr = addr;
	m->globals[i].bound = true;
}

void ptx_module_usage(const struct ptx_module *m, struct ptx_module_usage *u)
{
	memset(u, 0, sizeof(*u));
	for (uint32_t i = 0; i < m->nglobals; i++) {
		if (m->globals[i].space == PS_CONST)
			u->const_bytes += m->globals[i].size;
		else
			u->global_bytes += m->globals[i].size;
	}
	for (uint32_t i = 0; i < m->nkernels; i++) {
		const struct ptx_kernel *k = m->kernels[i];

		if (!k->is_entry)
			continue;
		if (k->local_bytes > u->local_per_thread)
			u->local_per_thread = k->local_bytes;
		if (k->shared_static > u->shared_static)
			u->shared_static = k->shared_static;
	}
}

const struct ptx_kernel *ptx_module_kernel(const struct ptx_module *m,
					   const char *name, size_t len)
{
	for (uint32_t i = 0; i < m->nkernels; i++)
		if (m->kernels[i]->is_entry &&
		    name_eq(m->kernels[i]->name, name, len))
			return m->kernels[i];
	return NULL;
}

unsigned int ptx_module_nentries(const struct ptx_module *m)
{
	unsigned int n = 0;

	for (uint32_t i = 0; i < m->nkernels; i++)
		n += m->kernels[i]->is_entry;
	return n;
}

const struct ptx_kernel *ptx_module_entry(const struct ptx_module *m,
					  unsigned int i)
{
	for (uint32_t j = 0; j < m->nkernels; j++)
		if (m->kernels[j]->is_entry && !i--)
			return m->kernels[j];
	return NULL;
}

const char *ptx_kernel_name(const struct ptx_kernel *k)
{
	return k->name;
}

/* --------------------------------------------------------- attributes */

void ptx_kernel_attrs(const struct ptx_kernel *k, struct ptx_kernel_attrs *a)
{
	uint32_t mt = PTX_MAX_THREADS;

	memset(a, 0, sizeof(*a));
	a->nparams = k->nparams;
	a->param_bytes = k->param_bytes;
	if (k->maxntid[0])
		mt = k->maxntid[0] * k->maxntid[1] * k->maxntid[2];
	if (k->reqntid[0]) {
		uint32_t r = k->reqntid[0] * k->reqntid[1] * k->reqntid[2];

		if (r < mt)
			mt = r;
		memcpy(a->reqntid, k->reqntid, sizeof(a->reqntid));
	}
	a->max_threads = mt > PTX_MAX_THREADS ? PTX_MAX_THREADS : mt;
	a->shared_static = k->shared_static;
	a->const_bytes = k->const_bytes;
	a->local_bytes = k->local_bytes;
	a->num_regs = k->nslots;
	a->ptx_version = k->mod->ptx_major * 10 + k->mod->ptx_minor;
	a->binary_version = k->mod->sm;
}

void ptx_kernel_param(const struct ptx_kernel *k, unsigned int i,
		      uint32_t *offset, uint32_t *size)
{
	*offset = k->params[i].offset;
	*size = k->params[i].size;
}

uint32_t ptx_kernel_default_dyn_shared(const struct ptx_kernel *k)
{
	return PTX_MAX_STATIC_SHARED - k->shared_static;
}

void ptx_kernel_func_info(const struct ptx_kernel *k, uint32_t max_dyn_shared,
			  int32_t carveout, struct vgpuif_func_info *fi)
{
	struct ptx_kernel_attrs a;

	ptx_kernel_attrs(k, &a);
	memset(fi, 0, sizeof(*fi));
	fi->nr_params = a.nparams < VGPUIF_MAX_FUNC_PARAMS ? a.nparams :
			VGPUIF_MAX_FUNC_PARAMS;
	fi->param_bytes = a.param_bytes;
	for (uint32_t i = 0; i < fi->nr_params; i++) {
		fi->param[i].offset = k->params[i].offset;
		fi->param[i].size = k->params[i].size;
	}
	fi->attr[FA_MAX_THREADS_PER_BLOCK] = (int32_t)a.max_threads;
	fi->attr[FA_SHARED_SIZE_BYTES] = (int32_t)a.shared_static;
	fi->attr[FA_CONST_SIZE_BYTES] = (int32_t)a.const_bytes;
	fi->attr[FA_LOCAL_SIZE_BYTES] = (int32_t)a.local_bytes;
	fi->attr[FA_NUM_REGS] = (int32_t)a.num_regs;
	fi->attr[FA_PTX_VERSION] = (int32_t)a.ptx_version;
	fi->attr[FA_BINARY_VERSION] = (int32_t)a.binary_version;
	fi->attr[FA_CACHE_MODE_CA] = 0;
	fi->attr[FA_MAX_DYNAMIC_SHARED_SIZE_BYTES] = (int32_t)(max_dyn_shared ?
		max_dyn_shared : ptx_kernel_default_dyn_shared(k));
	fi->attr[FA_PREFERRED_SHARED_MEMORY_CARVEOUT] = carveout;
	fi->attr_valid = (1u << FA_COUNT_ANSWERED) - 1;
}
