/* SPDX-License-Identifier: MIT */
/*
 * module.c - modules (cuModuleLoad*, cuModuleGetFunction, cuModuleGetGlobal,
 * cuModuleUnload), functions (attributes, parameter layout) and the linker
 * (cuLink*) for the single-input case.
 *
 * An image is handed over as a bare pointer: its length is found here
 * (cuda-api/fatbin.c: a fat binary's header, an ELF's tables, a PTX text's
 * NUL), and a registration wrapper (what nvcc's code passes) is unwrapped
 * first. dom0's driver loads it (a fat binary without SASS for dom0's GPU
 * is JIT-compiled there from its PTX). A function's parameter layout and
 * attributes come with it (FUNC_INFO), once, so that launches are packed
 * and attribute queries answered in the guest.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fatbin.h"
#include "internal.h"
#include "runtime.h"

/* ------------------------------------------------------------ loading */

/* The JIT options a load honours: the log buffers and the wall time. */
struct jit_opts {
	char *err_buf, *info_buf;
	size_t err_len, info_len;
	int err_i, info_i, wall_i;     /* where to write back, -1 none  */
};

static CUresult jit_parse(unsigned int n, CUjit_option *opt, void **val, struct jit_opts *j)
{
	unsigned int i;

	memset(j, 0, sizeof(*j));
	j->err_i = j->info_i = j->wall_i = -1;
	if (n && (!opt || !val))
		return CUDA_ERROR_INVALID_VALUE;
	for (i = 0; i < n; i++) {
		switch (opt[i]) {
		case CU_JIT_ERROR_LOG_BUFFER:
			j->err_buf = val[i];
			break;
		case CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES:
			j->err_len = (size_t)(uintptr_t)val[i];
			j->err_i = (int)i;
			break;
		case CU_JIT_INFO_LOG_BUFFER:
			j->info_buf = val[i];
			break;
		case CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES:
			j->info_len = (size_t)(uintptr_t)val[i];
			j->info_i = (int)i;
			break;
		case CU_JIT_WALL_TIME:
			j->wall_i = (int)i;
			break;
		default:
			/*
			 * Compiler choices (optimisation level, registers, target,
			 * debug info, ...): dom0's driver compiles with its defaults.
			 */
			if ((unsigned int)opt[i] > CU_JIT_OVERRIDE_DIRECTIVE_VALUES)
				return CUDA_ERROR_INVALID_VALUE;
			break;
		}
	}
	if (!j->err_buf)
		j->err_len = 0;
	if (!j->info_buf)
		j->info_len = 0;
	return CUDA_SUCCESS;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/*
 * The image's start, length and format, or CUDA_ERROR_INVALID_IMAGE for
 * bytes that are no module image. As on NVIDIA's driver 580: nvcc's
 * registration wrapper is no image here (the runtime's paths, dark.c's
 * module loads and cuLibraryLoadData, unwrap it themselves), and text
 * without a PTX .version directive is no image either (CUDA_ERROR_
 * INVALID_IMAGE; PTX with errors in it is dom0's CUDA_ERROR_INVALID_PTX).
 */
static CUresult image_of(const void *image, const void **start, size_t *len,
			 enum vgpu_module_format *fmt)
{
	enum vgpu_image_kind kind;
	const void *p = image;
	int rc;

	rc = vgpu_image_length(p, SIZE_MAX, &kind, len);
	if (rc)
		return rc == -EOPNOTSUPP ? CUDA_ERROR_NOT_SUPPORTED : CUDA_ERROR_INVALID_IMAGE;
	switch (kind) {
	case VGPU_IMAGE_PTX:
		if (!strstr(p, ".version"))
			return CUDA_ERROR_INVALID_IMAGE;
		*fmt = VGPU_MODULE_PTX;
		break;
	case VGPU_IMAGE_CUBIN:
		*fmt = VGPU_MODULE_CUBIN;
		break;
	case VGPU_IMAGE_FATBIN:
		*fmt = VGPU_MODULE_FATBIN;
		break;
	default:
		return CUDA_ERROR_INVALID_IMAGE;
	}
	*start = p;
	return CUDA_SUCCESS;
}

static CUresult module_load(CUmodule *pmod, const void *image, unsigned int nopt,
			    CUjit_option *opt, void **val)
{
	struct lcu_ctx *c;
	struct lcu_module *m = NULL;
	struct jit_opts j;
	enum vgpu_module_format fmt;
	const void *p;
	size_t len, written = 0;
	char *log = NULL;
	size_t log_len;
	double t0 = now_ms();
	CUresult r = lcu_ctx_current(&c);
	vgpu_t *v;
	int rc;

	if (r != CUDA_SUCCESS)
		return r;
	if (!pmod || !image)
		return CUDA_ERROR_INVALID_VALUE;
	r = jit_parse(nopt, opt, val, &j);
	if (r == CUDA_SUCCESS)
		r = image_of(image, &p, &len, &fmt);
	if (r != CUDA_SUCCESS)
		return r;
	if (len > VGPU_MAX_MODULE_BYTES) {
		lcu_log("a module image of %zu bytes is beyond the protocol's %u", len,
			VGPU_MAX_MODULE_BYTES);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	v = lcu_ctx_vgpu(c, &r);
	if (!v)
		return r;
	m = calloc(1, sizeof(*m));
	if (!m)
		return CUDA_ERROR_OUT_OF_MEMORY;
	log_len = j.err_len > j.info_len ? j.err_len : j.info_len;
	if (log_len > VGPU_MAX_MODULE_LOG)
		log_len = VGPU_MAX_MODULE_LOG;
	if (log_len && !(log = calloc(1, log_len))) {
		free(m);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	rc = vgpu_module_load(v, p, len, fmt, log, log_len, &m->h, &written);
	r = lcu_ctx_result(c, rc, fmt == VGPU_MODULE_PTX ? LCU_OP_LOAD_PTX : LCU_OP_LOAD_BIN);
	/*
	 * dom0's log goes to the buffer of the outcome; the other is emptied.
	 * The backend answers a failed load with no results (so no length):
	 * the log is NUL-terminated text in a zeroed buffer, measured here.
	 */
	if (log_len && (written == 0 || written > log_len))
		written = strnlen(log, log_len);
	/* Each log is cut to its buffer, NUL included, as the JIT's are. */
	if (j.err_buf && j.err_len) {
		size_t n = r != CUDA_SUCCESS ? (written < j.err_len ? written : j.err_len - 1) : 0;

		if (n)
			memcpy(j.err_buf, log, n);
		j.err_buf[n < j.err_len ? n : j.err_len - 1] = '\0';
		val[j.err_i] = (void *)(uintptr_t)(n ? n + 1 : 0);
	}
	if (j.info_buf && j.info_len) {
		size_t n = r == CUDA_SUCCESS ? (written < j.info_len ? written : j.info_len - 1) : 0;

		if (n)
			memcpy(j.info_buf, log, n);
		j.info_buf[n < j.info_len ? n : j.info_len - 1] = '\0';
		val[j.info_i] = (void *)(uintptr_t)(n ? n + 1 : 0);
	}
	if (j.wall_i >= 0) {
		float ms = (float)(now_ms() - t0);

		memcpy(&val[j.wall_i], &ms, sizeof(ms));
	}
	free(log);
	if (r != CUDA_SUCCESS) {
		free(m);
		return r;
	}
	m->obj.kind = LCU_MODULE;
	m->ctx = c;
	if (lcu_obj_add(&m->obj)) {
		vgpu_module_unload(v, m->h);
		free(m);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	pthread_mutex_lock(&c->lock);
	m->next = c->modules;
	c->modules = m;
	pthread_mutex_unlock(&c->lock);
	*pmod = (CUmodule)m;
	return CUDA_SUCCESS;
}

LCU_API CUresult CUDAAPI cuModuleLoadData(CUmodule *module, const void *image)
{
	CUresult r = module_load(module, image, 0, NULL, NULL);

	return LCU_TRACE("cuModuleLoadData", r, "(%p, %p) -> %p", (void *)module, image,
			 r ? NULL : (void *)*module);
}

LCU_API CUresult CUDAAPI cuModuleLoadDataEx(CUmodule *module, const void *image,
					    unsigned int numOptions, CUjit_option *options,
					    void **optionValues)
{
	CUresult r = module_load(module, image, numOptions, options, optionValues);

	return LCU_TRACE("cuModuleLoadDataEx", r, "(%p, %p, %u, %p, %p) -> %p", (void *)module,
			 image, numOptions, (void *)options, (void *)optionValues,
			 r ? NULL : (void *)*module);
}

LCU_API CUresult CUDAAPI cuModuleLoadFatBinary(CUmodule *module, const void *fatCubin)
{
	CUresult r = module_load(module, fatCubin, 0, NULL, NULL);

	return LCU_TRACE("cuModuleLoadFatBinary", r, "(%p, %p) -> %p", (void *)module, fatCubin,
			 r ? NULL : (void *)*module);
}

/* A whole file, NUL-terminated (PTX), or NULL with *r set. */
static void *read_file(const char *path, size_t *len, CUresult *r)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		*r = CUDA_ERROR_FILE_NOT_FOUND;
		return NULL;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    (uint64_t)st.st_size > VGPU_MAX_MODULE_BYTES) {
		*r = st.st_size > 0 ? CUDA_ERROR_INVALID_IMAGE : CUDA_ERROR_FILE_NOT_FOUND;
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		*r = CUDA_ERROR_OUT_OF_MEMORY;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n <= 0) {
			free(buf);
			buf = NULL;
			*r = CUDA_ERROR_FILE_NOT_FOUND;
			goto out;
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	*len = got;
out:
	close(fd);
	return buf;
}

LCU_API CUresult CUDAAPI cuModuleLoad(CUmodule *module, const char *fname)
{
	CUresult r = lcu_init_check();
	size_t len;
	void *buf = NULL;

	if (r == CUDA_SUCCESS && (!module || !fname))
		r = CUDA_ERROR_INVALID_VALUE;
	if (r == CUDA_SUCCESS && (buf = read_file(fname, &len, &r)))
		r = module_load(module, buf, 0, NULL, NULL);
	free(buf);
	return LCU_TRACE("cuModuleLoad", r, "(%p, \"%s\") -> %p", (void *)module,
			 fname ? fname : "(null)", r ? NULL : (void *)*module);
}

/* A live module and its context's vgpu_t. */
static CUresult module_args(CUmodule h, struct lcu_module **out, vgpu_t **v)
{
	CUresult r = lcu_init_check();
	struct lcu_module *m = NULL;

	if (r != CUDA_SUCCESS)
		return r;
	m = (struct lcu_module *)lcu_obj_get(h, LCU_MODULE);
	if (!m)
		return CUDA_ERROR_INVALID_HANDLE;
	*v = lcu_ctx_vgpu(m->ctx, &r);
	if (!*v)
		return r;
	*out = m;
	return CUDA_SUCCESS;
}

static void func_free(struct lcu_func *f)
{
	lcu_obj_del(&f->obj);
	free(f->name);
	free(f->info);
	free(f);
}

/* Unlinks m from its context (ctx->lock held) and frees its functions. */
static void module_forget_locked(struct lcu_module *m)
{
	struct lcu_module **pp;
	struct lcu_func *f, *fn;

	for (pp = &m->ctx->modules; *pp; pp = &(*pp)->next)
		if (*pp == m) {
			*pp = m->next;
			break;
		}
	for (f = m->funcs; f; f = fn) {
		fn = f->next;
		func_free(f);
	}
	m->funcs = NULL;
}

LCU_API CUresult CUDAAPI cuModuleUnload(CUmodule hmod)
{
	struct lcu_module *m = NULL;
	vgpu_t *v;
	CUresult r = module_args(hmod, &m, &v);
	int rc;

	if (r == CUDA_SUCCESS) {
		lcu_obj_del(&m->obj);
		pthread_mutex_lock(&m->ctx->lock);
		module_forget_locked(m);
		pthread_mutex_unlock(&m->ctx->lock);
		lcu_mem_drop_module(m);
		rc = vgpu_module_unload(v, m->h);
		r = rc ? lcu_ctx_result(m->ctx, rc, LCU_OP_GENERIC) : CUDA_SUCCESS;
		free(m);
	}
	return LCU_TRACE("cuModuleUnload", r, "(%p)", (void *)hmod);
}

void lcu_modules_drop(struct lcu_ctx *c)
{
	struct lcu_module *m = NULL;

	pthread_mutex_lock(&c->lock);
	while ((m = c->modules)) {
		lcu_obj_del(&m->obj);
		module_forget_locked(m);
		free(m);
	}
	pthread_mutex_unlock(&c->lock);
}

static CUresult module_get_function(CUfunction *hfunc, CUmodule hmod, const char *name)
{
	struct lcu_module *m = NULL;
	struct lcu_func *f;
	vgpu_t *v;
	CUresult r = module_args(hmod, &m, &v);
	int rc;

	if (r != CUDA_SUCCESS)
		return r;
	if (!hfunc || !name)
		return CUDA_ERROR_INVALID_VALUE;
	/* The same name gives the same function, as CUDA's does. */
	pthread_mutex_lock(&m->ctx->lock);
	for (f = m->funcs; f; f = f->next)
		if (!strcmp(f->name, name))
			break;
	pthread_mutex_unlock(&m->ctx->lock);
	if (f) {
		*hfunc = (CUfunction)f;
		return CUDA_SUCCESS;
	}
	f = calloc(1, sizeof(*f));
	if (!f || !(f->name = strdup(name)) || !(f->info = calloc(1, sizeof(*f->info)))) {
		if (f) {
			free(f->name);
			free(f);
		}
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	rc = vgpu_func_get(v, m->h, name, &f->h, &f->param_bytes);
	if (rc) {
		free(f->info);
		free(f->name);
		free(f);
		return lcu_ctx_result(m->ctx, rc, LCU_OP_LOOKUP);
	}
	rc = vgpu_func_info(v, f->h, f->info);
	if (rc == 0) {
		f->info_ok = true;
	} else if (rc != -ENOSYS && rc != -EOPNOTSUPP) {
		free(f->info);
		free(f->name);
		free(f);
		return lcu_ctx_result(m->ctx, rc, LCU_OP_LOOKUP);
	}
	f->obj.kind = LCU_FUNC;
	f->module = m;
	f->max_dyn_shared = -1;
	f->carveout = -1;
	if (lcu_obj_add(&f->obj)) {
		free(f->info);
		free(f->name);
		free(f);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	pthread_mutex_lock(&m->ctx->lock);
	f->next = m->funcs;
	m->funcs = f;
	pthread_mutex_unlock(&m->ctx->lock);
	*hfunc = (CUfunction)f;
	return CUDA_SUCCESS;
}

LCU_API CUresult CUDAAPI cuModuleGetFunction(CUfunction *hfunc, CUmodule hmod, const char *name)
{
	CUresult r = module_get_function(hfunc, hmod, name);

	return LCU_TRACE("cuModuleGetFunction", r, "(%p, %p, \"%s\") -> %p", (void *)hfunc,
			 (void *)hmod, name ? name : "(null)", r ? NULL : (void *)*hfunc);
}

static CUresult module_get_global(CUdeviceptr *dptr, size_t *bytes, CUmodule hmod,
				  const char *name)
{
	struct lcu_module *m = NULL;
	struct lcu_mem g = { 0 };
	vgpu_t *v;
	CUresult r = module_args(hmod, &m, &v);
	int rc;

	if (r != CUDA_SUCCESS)
		return r;
	/* One of the two answers must be wanted (NVIDIA's driver 580 agrees). */
	if (!name || (!dptr && !bytes))
		return CUDA_ERROR_INVALID_VALUE;
	rc = vgpu_module_global(v, m->h, name, &g.h, &g.base, &g.size);
	if (rc)
		return lcu_ctx_result(m->ctx, rc, LCU_OP_LOOKUP);
	g.ctx = m->ctx;
	g.kind = LCU_MEM_GLOBAL;
	g.module = m;
	/* Copies to it need its handle; asked twice, it is there already. */
	if (g.size) {
		rc = lcu_mem_add(&g);
		if (rc && rc != -EEXIST)
			return CUDA_ERROR_OUT_OF_MEMORY;
	}
	if (dptr)
		*dptr = g.base;
	if (bytes)
		*bytes = (size_t)g.size;
	return CUDA_SUCCESS;
}

LCU_API CUresult CUDAAPI cuModuleGetGlobal(CUdeviceptr *dptr, size_t *bytes, CUmodule hmod,
					   const char *name)
{
	CUresult r = module_get_global(dptr, bytes, hmod, name);

	return LCU_TRACE("cuModuleGetGlobal_v2", r, "(%p, %p, %p, \"%s\") -> %#llx",
			 (void *)dptr, (void *)bytes, (void *)hmod, name ? name : "(null)",
			 r || !dptr ? 0ull : (unsigned long long)*dptr);
}

LCU_API CUresult CUDAAPI cuModuleGetLoadingMode(CUmoduleLoadingMode *mode)
{
	CUresult r = lcu_init_check();
	const char *e = getenv("CUDA_MODULE_LOADING");

	if (r == CUDA_SUCCESS && !mode)
		r = CUDA_ERROR_INVALID_VALUE;
	else if (r == CUDA_SUCCESS)
		/* CUDA's default is lazy; the runtime's libraries follow it. */
		*mode = e && !strcmp(e, "EAGER") ? CU_MODULE_EAGER_LOADING
						 : CU_MODULE_LAZY_LOADING;
	return LCU_TRACE("cuModuleGetLoadingMode", r, "(%p)", (void *)mode);
}

/* ---------------------------------------------------------- functions */

CUresult lcu_func_get(CUfunction h, struct lcu_func **out)
{
	CUresult r = lcu_init_check();
	struct lcu_func *f;
	CUfunction fn;

	if (r != CUDA_SUCCESS)
		return r;
	if (!h)
		return CUDA_ERROR_INVALID_HANDLE;
	/* A CUkernel is its function in the current context. */
	r = vgpu_rt_resolve_function(h, &fn);
	if (r != CUDA_SUCCESS)
		return r;
	f = (struct lcu_func *)lcu_obj_get(fn, LCU_FUNC);
	if (!f)
		return CUDA_ERROR_INVALID_HANDLE;
	*out = f;
	return CUDA_SUCCESS;
}

/* A function argument, with its context's vgpu_t. */
static CUresult func_args(CUfunction h, struct lcu_func **out, vgpu_t **v)
{
	CUresult r = lcu_func_get(h, out);

	if (r != CUDA_SUCCESS)
		return r;
	*v = lcu_ctx_vgpu((*out)->module->ctx, &r);
	return *v ? CUDA_SUCCESS : r;
}

static CUresult func_get_attr(int *pi, CUfunction_attribute a, CUfunction h)
{
	struct lcu_func *f;
	vgpu_t *v;
	CUresult r;
	unsigned int i = (unsigned int)a;

	/*
	 * A CUkernel is no function here, as on NVIDIA's driver 580
	 * (CUDA_ERROR_INVALID_HANDLE): cuKernelGetAttribute is its call.
	 */
	if (h && vgpu_rt_is_kernel(h))
		return lcu_init_check() ?: CUDA_ERROR_INVALID_HANDLE;
	r = func_args(h, &f, &v);

	if (r != CUDA_SUCCESS)
		return r;
	if (!pi || i >= CU_FUNC_ATTRIBUTE_MAX)
		return CUDA_ERROR_INVALID_VALUE;
	if (a == CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES && f->max_dyn_shared >= 0) {
		*pi = f->max_dyn_shared;
		return CUDA_SUCCESS;
	}
	if (a == CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT && f->carveout != -1) {
		*pi = f->carveout;
		return CUDA_SUCCESS;
	}
	if (!f->info_ok || i >= VGPU_MAX_FUNC_ATTRS || !(f->info->attr_valid & (1u << i)))
		return CUDA_ERROR_INVALID_VALUE;
	*pi = f->info->attr[i];
	return CUDA_SUCCESS;
}

LCU_API CUresult CUDAAPI cuFuncGetAttribute(int *pi, CUfunction_attribute attrib, CUfunction hfunc)
{
	CUresult r = func_get_attr(pi, attrib, hfunc);

	return LCU_TRACE("cuFuncGetAttribute", r, "(%p, %d, %p) -> %d", (void *)pi, (int)attrib,
			 (void *)hfunc, r ? 0 : *pi);
}

static CUresult func_set_attr(CUfunction h, CUfunction_attribute a, int value)
{
	struct lcu_func *f;
	vgpu_t *v;
	CUresult r = func_args(h, &f, &v);
	int rc;

	if (r != CUDA_SUCCESS)
		return r;
	switch (a) {
	case CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES:
		if (value < 0)
			return CUDA_ERROR_INVALID_VALUE;
		break;
	case CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT:
		if (value < -1 || value > 100)
			return CUDA_ERROR_INVALID_VALUE;
		break;
	case CU_FUNC_ATTRIBUTE_REQUIRED_CLUSTER_WIDTH:
	case CU_FUNC_ATTRIBUTE_REQUIRED_CLUSTER_HEIGHT:
	case CU_FUNC_ATTRIBUTE_REQUIRED_CLUSTER_DEPTH:
	case CU_FUNC_ATTRIBUTE_NON_PORTABLE_CLUSTER_SIZE_ALLOWED:
	case CU_FUNC_ATTRIBUTE_CLUSTER_SCHEDULING_POLICY_PREFERENCE:
		/* No cluster launches here. */
		return CUDA_ERROR_NOT_SUPPORTED;
	default:
		return CUDA_ERROR_INVALID_VALUE;
	}
	rc = vgpu_func_set_attr(v, f->h, (uint32_t)a, value);
	r = lcu_ctx_result(f->module->ctx, rc, LCU_OP_GENERIC);
	if (r == CUDA_SUCCESS) {
		if (a == CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES)
			f->max_dyn_shared = value;
		else
			f->carveout = value;
	}
	return r;
}

LCU_API CUresult CUDAAPI cuFuncSetAttribute(CUfunction hfunc, CUfunction_attribute attrib, int value)
{
	return LCU_TRACE("cuFuncSetAttribute", func_set_attr(hfunc, attrib, value), "(%p, %d, %d)",
			 (void *)hfunc, (int)attrib, value);
}

LCU_API CUresult CUDAAPI cuFuncSetCacheConfig(CUfunction hfunc, CUfunc_cache config)
{
	struct lcu_func *f;
	vgpu_t *v;
	CUresult r = func_args(hfunc, &f, &v);
	int rc;

	if (r == CUDA_SUCCESS && (unsigned int)config > CU_FUNC_CACHE_PREFER_EQUAL)
		r = CUDA_ERROR_INVALID_VALUE;
	if (r == CUDA_SUCCESS) {
		rc = vgpu_func_set_attr(v, f->h, VGPU_FUNC_ATTR_CACHE_CONFIG, (int32_t)config);
		/* A preference: a backend that cannot pass it on may ignore it. */
		if (rc == -ENOSYS || rc == -EOPNOTSUPP)
			rc = 0;
		r = lcu_ctx_result(f->module->ctx, rc, LCU_OP_GENERIC);
		if (r == CUDA_SUCCESS)
			f->cache_config = config;
	}
	return LCU_TRACE("cuFuncSetCacheConfig", r, "(%p, %d)", (void *)hfunc, (int)config);
}

LCU_API CUresult CUDAAPI cuFuncGetParamInfo(CUfunction func, size_t paramIndex,
					    size_t *paramOffset, size_t *paramSize)
{
	struct lcu_func *f;
	vgpu_t *v;
	CUresult r = func_args(func, &f, &v);

	if (r == CUDA_SUCCESS && !f->info_ok)
		r = CUDA_ERROR_NOT_SUPPORTED;
	else if (r == CUDA_SUCCESS && (paramIndex >= f->info->nr_params ||
				       (!paramOffset && !paramSize)))
		r = CUDA_ERROR_INVALID_VALUE;
	if (r == CUDA_SUCCESS) {
		if (paramOffset)
			*paramOffset = f->info->param[paramIndex].offset;
		if (paramSize)
			*paramSize = f->info->param[paramIndex].size;
	}
	return LCU_TRACE("cuFuncGetParamInfo", r, "(%p, %zu, %p, %p)", (void *)func, paramIndex,
			 (void *)paramOffset, (void *)paramSize);
}

LCU_API CUresult CUDAAPI cuFuncGetModule(CUmodule *hmod, CUfunction hfunc)
{
	struct lcu_func *f;
	vgpu_t *v;
	CUresult r = func_args(hfunc, &f, &v);

	if (r == CUDA_SUCCESS && !hmod)
		r = CUDA_ERROR_INVALID_VALUE;
	else if (r == CUDA_SUCCESS)
		*hmod = (CUmodule)f->module;
	return LCU_TRACE("cuFuncGetModule", r, "(%p, %p)", (void *)hmod, (void *)hfunc);
}

LCU_API CUresult CUDAAPI cuFuncGetName(const char **name, CUfunction hfunc)
{
	struct lcu_func *f;
	vgpu_t *v;
	CUresult r = func_args(hfunc, &f, &v);

	if (r == CUDA_SUCCESS && !name)
		r = CUDA_ERROR_INVALID_VALUE;
	else if (r == CUDA_SUCCESS)
		*name = f->name;
	return LCU_TRACE("cuFuncGetName", r, "(%p, %p)", (void *)name, (void *)hfunc);
}

LCU_API CUresult CUDAAPI cuFuncIsLoaded(CUfunctionLoadingState *state, CUfunction function)
{
	struct lcu_func *f;
	vgpu_t *v;
	CUresult r = func_args(function, &f, &v);

	if (r == CUDA_SUCCESS && !state)
		r = CUDA_ERROR_INVALID_VALUE;
	else if (r == CUDA_SUCCESS)
		*state = CU_FUNCTION_LOADING_STATE_LOADED;   /* modules load eagerly */
	return LCU_TRACE("cuFuncIsLoaded", r, "(%p, %p)", (void *)state, (void *)function);
}

LCU_API CUresult CUDAAPI cuFuncLoad(CUfunction function)
{
	struct lcu_func *f;
	vgpu_t *v;

	return LCU_TRACE("cuFuncLoad", func_args(function, &f, &v), "(%p)", (void *)function);
}

/* ------------------------------------------------------------- linker */

/*
 * What the linker can do here: one input (PTX, a cubin or a fat binary)
 * "linked" into itself, which this library's cuModuleLoadData then loads
 * (dom0's driver compiles PTX). Several inputs would need dom0's linker.
 */
struct lcu_link {
	struct lcu_obj obj;
	void *data;
	size_t size;
	unsigned int inputs;
	struct jit_opts j;
	void **jval;
};

static CUresult link_create(unsigned int n, CUjit_option *opt, void **val, CUlinkState *out)
{
	struct lcu_ctx *c;
	struct lcu_link *l;
	CUresult r = lcu_ctx_current(&c);

	if (r != CUDA_SUCCESS)
		return r;
	if (!out)
		return CUDA_ERROR_INVALID_VALUE;
	l = calloc(1, sizeof(*l));
	if (!l)
		return CUDA_ERROR_OUT_OF_MEMORY;
	r = jit_parse(n, opt, val, &l->j);
	if (r != CUDA_SUCCESS) {
		free(l);
		return r;
	}
	l->jval = val;
	l->obj.kind = LCU_LINK;
	if (lcu_obj_add(&l->obj)) {
		free(l);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	*out = (CUlinkState)l;
	return CUDA_SUCCESS;
}

LCU_API CUresult CUDAAPI cuLinkCreate(unsigned int numOptions, CUjit_option *options,
				      void **optionValues, CUlinkState *stateOut)
{
	return LCU_TRACE("cuLinkCreate_v2", link_create(numOptions, options, optionValues, stateOut),
			 "(%u, %p, %p, %p)", numOptions, (void *)options, (void *)optionValues,
			 (void *)stateOut);
}

static CUresult link_add(CUlinkState state, CUjitInputType type, const void *data, size_t size)
{
	static atomic_flag once = ATOMIC_FLAG_INIT;
	struct lcu_link *l = (struct lcu_link *)lcu_obj_get(state, LCU_LINK);
	const void *p;
	size_t len;
	enum vgpu_module_format fmt;
	CUresult r;

	if (!l)
		return CUDA_ERROR_INVALID_HANDLE;
	if (!data || !size)
		return CUDA_ERROR_INVALID_VALUE;
	if (type != CU_JIT_INPUT_PTX && type != CU_JIT_INPUT_CUBIN && type != CU_JIT_INPUT_FATBINARY) {
		if (!atomic_flag_test_and_set(&once))
			lcu_log("cuLinkAddData: input type %d (an object or a library) needs "
				"a device linker, which the guest library has not: "
				"CUDA_ERROR_NOT_SUPPORTED", (int)type);
		return CUDA_ERROR_NOT_SUPPORTED;
	}
	r = image_of(data, &p, &len, &fmt);
	if (r != CUDA_SUCCESS)
		return type == CU_JIT_INPUT_PTX ? CUDA_ERROR_INVALID_PTX : r;
	if (len > size && fmt != VGPU_MODULE_PTX)
		return CUDA_ERROR_INVALID_IMAGE;
	l->inputs++;
	if (l->inputs > 1)
		return CUDA_SUCCESS;   /* refused at cuLinkComplete, with why */
	/* A PTX text may come without its NUL: keep one. */
	l->data = malloc(size + 1);
	if (!l->data)
		return CUDA_ERROR_OUT_OF_MEMORY;
	memcpy(l->data, data, size);
	((char *)l->data)[size] = '\0';
	l->size = fmt == VGPU_MODULE_PTX ? strlen(l->data) + 1 : size;
	return CUDA_SUCCESS;
}

LCU_API CUresult CUDAAPI cuLinkAddData(CUlinkState state, CUjitInputType type, void *data,
				       size_t size, const char *name, unsigned int numOptions,
				       CUjit_option *options, void **optionValues)
{
	(void)numOptions;
	(void)options;
	(void)optionValues;
	return LCU_TRACE("cuLinkAddData_v2", link_add(state, type, data, size),
			 "(%p, %d, %p, %zu, \"%s\")", (void *)state, (int)type, data, size,
			 name ? name : "");
}

LCU_API CUresult CUDAAPI cuLinkAddFile(CUlinkState state, CUjitInputType type, const char *path,
				       unsigned int numOptions, CUjit_option *options,
				       void **optionValues)
{
	CUresult r = CUDA_SUCCESS;
	size_t len = 0;
	void *buf = NULL;

	(void)numOptions;
	(void)options;
	(void)optionValues;
	if (!lcu_obj_get(state, LCU_LINK))
		r = CUDA_ERROR_INVALID_HANDLE;
	else if (!path)
		r = CUDA_ERROR_INVALID_VALUE;
	else if ((buf = read_file(path, &len, &r)))
		r = link_add(state, type, buf, type == CU_JIT_INPUT_PTX ? len + 1 : len);
	free(buf);
	return LCU_TRACE("cuLinkAddFile_v2", r, "(%p, %d, \"%s\")", (void *)state, (int)type,
			 path ? path : "(null)");
}

LCU_API CUresult CUDAAPI cuLinkComplete(CUlinkState state, void **cubinOut, size_t *sizeOut)
{
	struct lcu_link *l = (struct lcu_link *)lcu_obj_get(state, LCU_LINK);
	CUresult r = CUDA_SUCCESS;

	if (!l)
		r = CUDA_ERROR_INVALID_HANDLE;
	else if (!cubinOut || !sizeOut)
		r = CUDA_ERROR_INVALID_VALUE;
	else if (!l->inputs)
		r = CUDA_ERROR_INVALID_VALUE;
	else if (l->inputs > 1) {
		lcu_log("cuLinkComplete: %u inputs; the guest library links one input only "
			"(CUDA_ERROR_NOT_SUPPORTED)", l->inputs);
		r = CUDA_ERROR_NOT_SUPPORTED;
	}
	if (r == CUDA_SUCCESS) {
		/* Empty logs: nothing was compiled here. */
		if (l->j.err_buf && l->j.err_len)
			l->j.err_buf[0] = '\0';
		if (l->j.info_buf && l->j.info_len)
			l->j.info_buf[0] = '\0';
		*cubinOut = l->data;
		*sizeOut = l->size;
	}
	return LCU_TRACE("cuLinkComplete", r, "(%p, %p, %p)", (void *)state, (void *)cubinOut,
			 (void *)sizeOut);
}

LCU_API CUresult CUDAAPI cuLinkDestroy(CUlinkState state)
{
	struct lcu_link *l = (struct lcu_link *)lcu_obj_get(state, LCU_LINK);
	CUresult r = CUDA_SUCCESS;

	if (!l) {
		r = CUDA_ERROR_INVALID_HANDLE;
	} else {
		lcu_obj_del(&l->obj);
		free(l->data);
		free(l);
	}
	return LCU_TRACE("cuLinkDestroy", r, "(%p)", (void *)state);
}

/* The unversioned names (CUDA 5.5 - 6.0): the same arguments. */
CUresult CUDAAPI lcu_cuLinkCreate_v1(unsigned int n, CUjit_option *o, void **v, CUlinkState *s)
	__asm__("cuLinkCreate");
CUresult CUDAAPI lcu_cuLinkCreate_v1(unsigned int n, CUjit_option *o, void **v, CUlinkState *s)
{
	return LCU_TRACE("cuLinkCreate", link_create(n, o, v, s), "(%u, %p, %p, %p)", n, (void *)o,
			 (void *)v, (void *)s);
}

CUresult CUDAAPI lcu_cuLinkAddData_v1(CUlinkState state, CUjitInputType type, void *data,
				      size_t size, const char *name, unsigned int n,
				      CUjit_option *o, void **v) __asm__("cuLinkAddData");
CUresult CUDAAPI lcu_cuLinkAddData_v1(CUlinkState state, CUjitInputType type, void *data,
				      size_t size, const char *name, unsigned int n,
				      CUjit_option *o, void **v)
{
	return cuLinkAddData(state, type, data, size, name, n, o, v);
}

CUresult CUDAAPI lcu_cuLinkAddFile_v1(CUlinkState state, CUjitInputType type, const char *path,
				      unsigned int n, CUjit_option *o, void **v)
	__asm__("cuLinkAddFile");
CUresult CUDAAPI lcu_cuLinkAddFile_v1(CUlinkState state, CUjitInputType type, const char *path,
				      unsigned int n, CUjit_option *o, void **v)
{
	return cuLinkAddFile(state, type, path, n, o, v);
}
