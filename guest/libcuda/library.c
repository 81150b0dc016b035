/* SPDX-License-Identifier: MIT */
/*
 * library.c - the cuLibrary* and cuKernel* families: context-independent
 * modules and kernels, loaded lazily into each context that uses them.
 *
 * This is how the CUDA runtime (12.0 on) loads a program's fat binaries:
 * cuLibraryLoadData(registration wrapper, ..., BINARY_IS_PRESERVED), then a
 * cuLibraryGetKernel per kernel, launched as cuLaunchKernel((CUfunction)
 * kernel, ...), and cuLibraryGetGlobal for __device__/__constant__ data.
 * A CUlibrary holds the image (the program's own bytes when preserved, else
 * a copy) and, per context, the module loaded from it there; a CUkernel
 * holds a name and, per context, the function. Loading happens on first use
 * in a context (or at once with CUDA_MODULE_LOADING=EAGER or JIT options),
 * through this library's cuModuleLoadData, so a fat binary without SASS for
 * dom0's GPU is JIT-compiled by dom0's driver. Attributes set on a kernel
 * are replayed on each context's function.
 *
 * Locks: rt_lock guards the handle set and the list of libraries; each
 * library's lock guards its per-context lists and its kernels. Order:
 * rt_lock, then a library's lock; never a library's lock while taking
 * rt_lock.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dark.h"
#include "fatbin.h"
#include "internal.h"
#include "runtime.h"

#define LIB_MAGIC    0x4c494252u /* "LIBR" */
#define KERNEL_MAGIC 0x4b45524eu /* "KERN" */
#define FREED_MAGIC  0xdeadbeefu

struct ctx_mod {
	CUcontext ctx;
	CUmodule mod;
	struct ctx_mod *next;
};

struct ctx_fn {
	CUcontext ctx;
	CUfunction fn;
	struct ctx_fn *next;
};

/* An attribute set on a kernel, replayed in each new context. */
struct kattr {
	int is_cache;            /* 1: cuFuncSetCacheConfig(value) */
	CUfunction_attribute attr;
	int value;
	struct kattr *next;
};

struct rt_lib;

struct rt_kernel {
	uint32_t magic;
	struct rt_lib *lib;
	char *name;
	struct ctx_fn *fns;
	struct kattr *attrs;
	struct rt_kernel *next;
};

struct rt_lib {
	uint32_t magic;
	pthread_mutex_t lock;    /* mods, kernels and their lists */
	const void *image;       /* what cuModuleLoadData gets */
	size_t image_len;
	void *owned;             /* our copy of it, or NULL */
	struct ctx_mod *mods;
	struct rt_kernel *kernels;
	struct rt_lib *next;
};

/* ---------------------------------------------------- the handle set */

/*
 * Every live library and kernel, by address: a launch asks "is this
 * CUfunction one of our kernels?" on every call, so open addressing with
 * linear probing; slots hold the pointer, NULL (empty) or TOMB (removed).
 */
#define TOMB ((void *)1)

static pthread_mutex_t rt_lock = PTHREAD_MUTEX_INITIALIZER;
static void **set_slots;
static size_t set_cap, set_used; /* used counts live and tombstones */
static struct rt_lib *rt_libs;

static size_t set_hash(const void *p)
{
	uint64_t h = (uint64_t)(uintptr_t)p;

	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return (size_t)h;
}

static int set_has(const void *p)
{
	size_t i, n;

	if (!set_cap || !p || p == TOMB)
		return 0;
	for (i = set_hash(p) & (set_cap - 1), n = 0; n < set_cap;
	     i = (i + 1) & (set_cap - 1), n++) {
		if (set_slots[i] == p)
			return 1;
		if (!set_slots[i])
			return 0;
	}
	return 0;
}

static int set_add(void *p);

static int set_grow(void)
{
	void **old = set_slots;
	size_t old_cap = set_cap, i;

	set_cap = old_cap ? old_cap * 2 : 64;
	set_slots = calloc(set_cap, sizeof(*set_slots));
	if (!set_slots) {
		set_slots = old;
		set_cap = old_cap;
		return -ENOMEM;
	}
	set_used = 0;
	for (i = 0; i < old_cap; i++)
		if (old[i] && old[i] != TOMB)
			set_add(old[i]);
	free(old);
	return 0;
}

static int set_add(void *p)
{
	size_t i;

	if ((set_used + 1) * 2 > set_cap && set_grow())
		return -ENOMEM;
	for (i = set_hash(p) & (set_cap - 1);; i = (i + 1) & (set_cap - 1)) {
		if (!set_slots[i] || set_slots[i] == TOMB) {
			if (!set_slots[i])
				set_used++;
			set_slots[i] = p;
			return 0;
		}
	}
}

static void set_del(const void *p)
{
	size_t i, n;

	if (!set_cap)
		return;
	for (i = set_hash(p) & (set_cap - 1), n = 0; n < set_cap;
	     i = (i + 1) & (set_cap - 1), n++) {
		if (set_slots[i] == p) {
			set_slots[i] = TOMB;
			return;
		}
		if (!set_slots[i])
			return;
	}
}

static struct rt_lib *lib_get(CUlibrary h)
{
	struct rt_lib *lib = NULL;

	pthread_mutex_lock(&rt_lock);
	if (set_has(h) && ((struct rt_lib *)h)->magic == LIB_MAGIC)
		lib = (struct rt_lib *)h;
	pthread_mutex_unlock(&rt_lock);
	return lib;
}

static struct rt_kernel *kernel_get(const void *h)
{
	struct rt_kernel *k = NULL;

	pthread_mutex_lock(&rt_lock);
	if (set_has(h) && ((const struct rt_kernel *)h)->magic == KERNEL_MAGIC)
		k = (struct rt_kernel *)h;
	pthread_mutex_unlock(&rt_lock);
	return k;
}

int vgpu_rt_is_kernel(const void *k)
{
	return kernel_get(k) != NULL;
}

static void rt_log_once(atomic_flag *once, const char *what, const char *name)
{
	if (!atomic_flag_test_and_set(once))
		fprintf(stderr, "libcuda: %s%s%s: not supported here (CUDA_ERROR_NOT_SUPPORTED)\n",
			what, name ? " " : "", name ? name : "");
}

/* ---------------------------------------------------- per context */

static CUresult current_ctx(CUcontext *ctx)
{
	CUresult r = cuCtxGetCurrent(ctx);

	if (r != CUDA_SUCCESS)
		return r;
	return *ctx ? CUDA_SUCCESS : CUDA_ERROR_INVALID_CONTEXT;
}

/* The library's module in ctx (the current context), loaded if need be. */
static CUresult lib_module_locked(struct rt_lib *lib, CUcontext ctx, CUmodule *out)
{
	struct ctx_mod *m;
	CUmodule mod;
	CUresult r;

	for (m = lib->mods; m; m = m->next) {
		if (m->ctx == ctx) {
			*out = m->mod;
			return CUDA_SUCCESS;
		}
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return CUDA_ERROR_OUT_OF_MEMORY;
	r = cuModuleLoadData(&mod, lib->image);
	if (r != CUDA_SUCCESS) {
		free(m);
		return r;
	}
	m->ctx = ctx;
	m->mod = mod;
	m->next = lib->mods;
	lib->mods = m;
	*out = mod;
	return CUDA_SUCCESS;
}

/* The kernel's function in ctx (current), with its attributes replayed. */
static CUresult kernel_fn_locked(struct rt_kernel *k, CUcontext ctx, CUfunction *out)
{
	struct ctx_fn *f;
	struct kattr *a;
	CUmodule mod;
	CUfunction fn;
	CUresult r;

	for (f = k->fns; f; f = f->next) {
		if (f->ctx == ctx) {
			*out = f->fn;
			return CUDA_SUCCESS;
		}
	}
	r = lib_module_locked(k->lib, ctx, &mod);
	if (r != CUDA_SUCCESS)
		return r;
	r = cuModuleGetFunction(&fn, mod, k->name);
	if (r != CUDA_SUCCESS)
		return r;
	for (a = k->attrs; a; a = a->next) {
		r = a->is_cache ? cuFuncSetCacheConfig(fn, (CUfunc_cache)a->value)
				: cuFuncSetAttribute(fn, a->attr, a->value);
		if (r != CUDA_SUCCESS)
			return r;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return CUDA_ERROR_OUT_OF_MEMORY;
	f->ctx = ctx;
	f->fn = fn;
	f->next = k->fns;
	k->fns = f;
	*out = fn;
	return CUDA_SUCCESS;
}

static CUresult kernel_fn_current(struct rt_kernel *k, CUfunction *out)
{
	CUcontext ctx;
	CUresult r;

	r = current_ctx(&ctx);
	if (r != CUDA_SUCCESS)
		return r;
	pthread_mutex_lock(&k->lib->lock);
	r = kernel_fn_locked(k, ctx, out);
	pthread_mutex_unlock(&k->lib->lock);
	return r;
}

/*
 * The kernel's function for device dev: in the current context when it is
 * dev's, else in dev's primary context (made current for the call).
 */
static CUresult kernel_fn_for_dev(struct rt_kernel *k, CUdevice dev, CUfunction *out,
				  int *pushed)
{
	CUcontext ctx = NULL, prim;
	CUdevice cur;
	CUresult r;

	*pushed = 0;
	if (cuCtxGetCurrent(&ctx) == CUDA_SUCCESS && ctx &&
	    cuCtxGetDevice(&cur) == CUDA_SUCCESS && cur == dev)
		return kernel_fn_current(k, out);
	r = cuDevicePrimaryCtxRetain(&prim, dev);
	if (r != CUDA_SUCCESS)
		return r;
	r = cuCtxPushCurrent(prim);
	if (r != CUDA_SUCCESS) {
		cuDevicePrimaryCtxRelease(dev);
		return r;
	}
	*pushed = 1;
	return kernel_fn_current(k, out);
}

static void kernel_fn_done(CUdevice dev, int pushed)
{
	CUcontext ctx;

	if (!pushed)
		return;
	cuCtxPopCurrent(&ctx);
	cuDevicePrimaryCtxRelease(dev);
}

/* ------------------------------------------------------- loading */

static int option_set(CUlibraryOption *opts, void **values, unsigned int n,
		      CUlibraryOption which)
{
	unsigned int i;

	for (i = 0; opts && i < n; i++)
		if (opts[i] == which)
			return values && values[i] != NULL;
	return 0;
}

static int eager_loading(void)
{
	const char *v = getenv("CUDA_MODULE_LOADING");

	return v && !strcmp(v, "EAGER");
}

/*
 * A library from an image (owned: our buffer, freed with the library).
 * Loads it in the current context at once when asked for eager loading or
 * given JIT options (which apply to that load only).
 */
static CUresult lib_create(CUlibrary *out, const void *image, size_t image_len, void *owned,
			   CUjit_option *jit, void **jit_values, unsigned int njit)
{
	struct rt_lib *lib;
	CUcontext ctx = NULL;
	CUresult r;

	lib = calloc(1, sizeof(*lib));
	if (!lib) {
		free(owned);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	lib->magic = LIB_MAGIC;
	pthread_mutex_init(&lib->lock, NULL);
	lib->image = image;
	lib->image_len = image_len;
	lib->owned = owned;
	if ((njit || eager_loading()) && cuCtxGetCurrent(&ctx) == CUDA_SUCCESS && ctx) {
		struct ctx_mod *m = calloc(1, sizeof(*m));

		r = m ? cuModuleLoadDataEx(&m->mod, image, njit, jit, jit_values)
		      : CUDA_ERROR_OUT_OF_MEMORY;
		if (r != CUDA_SUCCESS) {
			free(m);
			goto out_free;
		}
		m->ctx = ctx;
		lib->mods = m;
	}
	pthread_mutex_lock(&rt_lock);
	if (set_add(lib)) {
		pthread_mutex_unlock(&rt_lock);
		r = CUDA_ERROR_OUT_OF_MEMORY;
		goto out_unload;
	}
	lib->next = rt_libs;
	rt_libs = lib;
	pthread_mutex_unlock(&rt_lock);
	*out = (CUlibrary)lib;
	return CUDA_SUCCESS;
out_unload:
	if (lib->mods) {
		cuModuleUnload(lib->mods->mod);
		free(lib->mods);
	}
out_free:
	pthread_mutex_destroy(&lib->lock);
	free(lib->owned);
	free(lib);
	return r;
}

static CUresult cuLibraryLoadData_untraced(CUlibrary *library, const void *code,
				   CUjit_option *jitOptions, void **jitOptionsValues,
				   unsigned int numJitOptions, CUlibraryOption *libraryOptions,
				   void **libraryOptionValues, unsigned int numLibraryOptions)
{
	const void *image;
	enum vgpu_image_kind kind;
	size_t len;
	void *copy = NULL;

	if (!library || !code || (numJitOptions && !jitOptions) ||
	    (numLibraryOptions && !libraryOptions))
		return CUDA_ERROR_INVALID_VALUE;
	/* A registration wrapper names its container; else code is the image. */
	image = vgpu_fatbin_unwrap(code);
	if (!image)
		image = code;
	if (vgpu_image_length(image, SIZE_MAX, &kind, &len) != 0)
		return CUDA_ERROR_INVALID_IMAGE;
	if (!option_set(libraryOptions, libraryOptionValues, numLibraryOptions,
			CU_LIBRARY_BINARY_IS_PRESERVED)) {
		/* Not preserved: keep a copy for the contexts still to come. */
		copy = malloc(len);
		if (!copy)
			return CUDA_ERROR_OUT_OF_MEMORY;
		memcpy(copy, image, len);
		image = copy;
	}
	return lib_create(library, image, len, copy, jitOptions, jitOptionsValues, numJitOptions);
}

CUresult CUDAAPI cuLibraryLoadData(CUlibrary *library, const void *code,
				   CUjit_option *jitOptions, void **jitOptionsValues,
				   unsigned int numJitOptions, CUlibraryOption *libraryOptions,
				   void **libraryOptionValues, unsigned int numLibraryOptions)
{
	CUresult r = cuLibraryLoadData_untraced(library, code, jitOptions, jitOptionsValues,
						numJitOptions, libraryOptions,
						libraryOptionValues, numLibraryOptions);

	return LCU_TRACE("cuLibraryLoadData", r, "(%p, %p, %u jit, %u lib) -> %p",
			 (void *)library, code, numJitOptions, numLibraryOptions,
			 r || !library ? NULL : (void *)*library);
}

CUresult CUDAAPI cuLibraryLoadFromFile(CUlibrary *library, const char *fileName,
				       CUjit_option *jitOptions, void **jitOptionsValues,
				       unsigned int numJitOptions,
				       CUlibraryOption *libraryOptions,
				       void **libraryOptionValues,
				       unsigned int numLibraryOptions)
{
	enum vgpu_image_kind kind;
	struct stat st;
	size_t len;
	uint8_t *buf;
	FILE *f;

	(void)libraryOptions; (void)libraryOptionValues; (void)numLibraryOptions;
	if (!library || !fileName || (numJitOptions && !jitOptions))
		return CUDA_ERROR_INVALID_VALUE;
	f = fopen(fileName, "rb");
	if (!f)
		return CUDA_ERROR_FILE_NOT_FOUND;
	if (fstat(fileno(f), &st) != 0 || st.st_size <= 0 ||
	    (uint64_t)st.st_size > SIZE_MAX - 1) {
		fclose(f);
		return CUDA_ERROR_INVALID_IMAGE;
	}
	/* One byte more: a PTX file need not end in a NUL, its image must. */
	buf = calloc(1, (size_t)st.st_size + 1);
	if (!buf) {
		fclose(f);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	if (fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		fclose(f);
		free(buf);
		return CUDA_ERROR_FILE_NOT_FOUND;
	}
	fclose(f);
	if (vgpu_image_length(buf, (size_t)st.st_size + 1, &kind, &len) != 0) {
		free(buf);
		return CUDA_ERROR_INVALID_IMAGE;
	}
	return lib_create(library, buf, len, buf, jitOptions, jitOptionsValues, numJitOptions);
}

static void kernel_free(struct rt_kernel *k)
{
	struct ctx_fn *f;
	struct kattr *a;

	while ((f = k->fns)) {
		k->fns = f->next;
		free(f);
	}
	while ((a = k->attrs)) {
		k->attrs = a->next;
		free(a);
	}
	k->magic = FREED_MAGIC;
	free(k->name);
	free(k);
}

static CUresult cuLibraryUnload_untraced(CUlibrary library)
{
	struct rt_lib *lib, **pp;
	struct rt_kernel *k;
	struct ctx_mod *m;

	pthread_mutex_lock(&rt_lock);
	if (!set_has(library) || ((struct rt_lib *)library)->magic != LIB_MAGIC) {
		pthread_mutex_unlock(&rt_lock);
		return CUDA_ERROR_INVALID_HANDLE;
	}
	lib = (struct rt_lib *)library;
	set_del(lib);
	for (pp = &rt_libs; *pp; pp = &(*pp)->next) {
		if (*pp == lib) {
			*pp = lib->next;
			break;
		}
	}
	pthread_mutex_lock(&lib->lock);
	for (k = lib->kernels; k; k = k->next)
		set_del(k);
	pthread_mutex_unlock(&lib->lock);
	pthread_mutex_unlock(&rt_lock);
	/* Nobody can find it now: free without its lock. */
	while ((k = lib->kernels)) {
		lib->kernels = k->next;
		kernel_free(k);
	}
	while ((m = lib->mods)) {
		lib->mods = m->next;
		cuModuleUnload(m->mod);
		free(m);
	}
	lib->magic = FREED_MAGIC;
	pthread_mutex_destroy(&lib->lock);
	free(lib->owned);
	free(lib);
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuLibraryUnload(CUlibrary library)
{
	return LCU_TRACE("cuLibraryUnload", cuLibraryUnload_untraced(library), "(%p)",
			 (void *)library);
}

/* -------------------------------------------------------- lookups */

static CUresult cuLibraryGetKernel_untraced(CUkernel *pKernel, CUlibrary library, const char *name)
{
	struct rt_lib *lib;
	struct rt_kernel *k;
	CUcontext ctx = NULL;
	CUfunction fn;
	CUresult r = CUDA_SUCCESS;

	if (!pKernel || !name)
		return CUDA_ERROR_INVALID_VALUE;
	lib = lib_get(library);
	if (!lib)
		return CUDA_ERROR_INVALID_HANDLE;
	pthread_mutex_lock(&lib->lock);
	for (k = lib->kernels; k; k = k->next)
		if (!strcmp(k->name, name))
			break;
	if (k) {
		pthread_mutex_unlock(&lib->lock);
		*pKernel = (CUkernel)k;
		return CUDA_SUCCESS;
	}
	k = calloc(1, sizeof(*k));
	if (k)
		k->name = strdup(name);
	if (!k || !k->name) {
		pthread_mutex_unlock(&lib->lock);
		free(k);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	k->magic = KERNEL_MAGIC;
	k->lib = lib;
	/* With a current context the name is checked now (loading there). */
	if (cuCtxGetCurrent(&ctx) == CUDA_SUCCESS && ctx)
		r = kernel_fn_locked(k, ctx, &fn);
	if (r != CUDA_SUCCESS) {
		pthread_mutex_unlock(&lib->lock);
		kernel_free(k);
		return r;
	}
	k->next = lib->kernels;
	lib->kernels = k;
	pthread_mutex_unlock(&lib->lock);
	pthread_mutex_lock(&rt_lock);
	r = set_add(k) ? CUDA_ERROR_OUT_OF_MEMORY : CUDA_SUCCESS;
	pthread_mutex_unlock(&rt_lock);
	/* (An unregistered kernel stays on the list; freed with its library.) */
	if (r == CUDA_SUCCESS)
		*pKernel = (CUkernel)k;
	return r;
}

CUresult CUDAAPI cuLibraryGetKernel(CUkernel *pKernel, CUlibrary library, const char *name)
{
	CUresult r = cuLibraryGetKernel_untraced(pKernel, library, name);

	return LCU_TRACE("cuLibraryGetKernel", r, "(%p, %p, \"%s\") -> %p", (void *)pKernel,
			 (void *)library, name ? name : "(null)",
			 r || !pKernel ? NULL : (void *)*pKernel);
}

static CUresult cuLibraryGetModule_untraced(CUmodule *pMod, CUlibrary library)
{
	struct rt_lib *lib;
	CUcontext ctx;
	CUresult r;

	if (!pMod)
		return CUDA_ERROR_INVALID_VALUE;
	lib = lib_get(library);
	if (!lib)
		return CUDA_ERROR_INVALID_HANDLE;
	r = current_ctx(&ctx);
	if (r != CUDA_SUCCESS)
		return r;
	pthread_mutex_lock(&lib->lock);
	r = lib_module_locked(lib, ctx, pMod);
	pthread_mutex_unlock(&lib->lock);
	return r;
}

CUresult CUDAAPI cuLibraryGetModule(CUmodule *pMod, CUlibrary library)
{
	CUresult r = cuLibraryGetModule_untraced(pMod, library);

	return LCU_TRACE("cuLibraryGetModule", r, "(%p, %p) -> %p", (void *)pMod, (void *)library,
			 r || !pMod ? NULL : (void *)*pMod);
}

static CUresult cuLibraryGetGlobal_untraced(CUdeviceptr *dptr, size_t *bytes, CUlibrary library,
				    const char *name)
{
	CUmodule mod;
	CUresult r;

	if (!name || (!dptr && !bytes))
		return CUDA_ERROR_INVALID_VALUE;
	r = cuLibraryGetModule(&mod, library);
	if (r != CUDA_SUCCESS)
		return r;
	return cuModuleGetGlobal(dptr, bytes, mod, name);
}

CUresult CUDAAPI cuLibraryGetGlobal(CUdeviceptr *dptr, size_t *bytes, CUlibrary library,
				    const char *name)
{
	CUresult r = cuLibraryGetGlobal_untraced(dptr, bytes, library, name);

	return LCU_TRACE("cuLibraryGetGlobal", r, "(%p, %p, %p, \"%s\") -> %#llx", (void *)dptr,
			 (void *)bytes, (void *)library, name ? name : "(null)",
			 r || !dptr ? 0ull : (unsigned long long)*dptr);
}

/*
 * Managed (__managed__) variables live in memory both sides address; a
 * guest's host memory is not the GPU's, so there is no honest answer but
 * "not supported" (a name that is no variable at all is still NOT_FOUND).
 */
CUresult CUDAAPI cuLibraryGetManaged(CUdeviceptr *dptr, size_t *bytes, CUlibrary library,
				     const char *name)
{
	static atomic_flag once = ATOMIC_FLAG_INIT;
	CUdeviceptr p;
	size_t n;
	CUresult r;

	if (!name || (!dptr && !bytes))
		return CUDA_ERROR_INVALID_VALUE;
	r = cuLibraryGetGlobal(&p, &n, library, name);
	if (r != CUDA_SUCCESS)
		return r;
	rt_log_once(&once, "cuLibraryGetManaged: managed memory, variable", name);
	return CUDA_ERROR_NOT_SUPPORTED;
}

CUresult CUDAAPI cuLibraryGetUnifiedFunction(void **fptr, CUlibrary library, const char *symbol)
{
	static atomic_flag once = ATOMIC_FLAG_INIT;

	if (!fptr || !symbol)
		return CUDA_ERROR_INVALID_VALUE;
	if (!lib_get(library))
		return CUDA_ERROR_INVALID_HANDLE;
	rt_log_once(&once, "cuLibraryGetUnifiedFunction", symbol);
	return CUDA_ERROR_NOT_SUPPORTED;
}

/*
 * The kernels of a library, from its image's ELF entry (fatbin.h): names
 * need no round trip. A library whose image holds only PTX or zstd entries
 * cannot be listed here (CUDA_ERROR_NOT_SUPPORTED).
 */
#define LIB_MAX_UNCOMPRESSED (64u << 20)

CUresult CUDAAPI cuLibraryGetKernelCount(unsigned int *count, CUlibrary library)
{
	struct rt_lib *lib;
	int n;

	if (!count)
		return CUDA_ERROR_INVALID_VALUE;
	lib = lib_get(library);
	if (!lib)
		return CUDA_ERROR_INVALID_HANDLE;
	n = vgpu_image_kernels(lib->image, lib->image_len, LIB_MAX_UNCOMPRESSED, NULL, NULL);
	if (n < 0)
		return n == -ENOMEM ? CUDA_ERROR_OUT_OF_MEMORY : CUDA_ERROR_NOT_SUPPORTED;
	*count = (unsigned int)n;
	return CUDA_SUCCESS;
}

struct enum_walk {
	CUlibrary lib;
	CUkernel *out;
	unsigned int room, got;
	CUresult r;
};

static int enum_one(const char *name, size_t n, void *arg)
{
	struct enum_walk *w = arg;
	char *z;

	if (w->got == w->room)
		return 1;
	z = strndup(name, n);
	if (!z) {
		w->r = CUDA_ERROR_OUT_OF_MEMORY;
		return 1;
	}
	w->r = cuLibraryGetKernel(&w->out[w->got], w->lib, z);
	free(z);
	if (w->r != CUDA_SUCCESS)
		return 1;
	w->got++;
	return 0;
}

CUresult CUDAAPI cuLibraryEnumerateKernels(CUkernel *kernels, unsigned int numKernels,
					   CUlibrary library)
{
	struct enum_walk w = { library, kernels, numKernels, 0, CUDA_SUCCESS };
	struct rt_lib *lib;
	int n;

	if (!kernels || !numKernels)
		return CUDA_ERROR_INVALID_VALUE;
	lib = lib_get(library);
	if (!lib)
		return CUDA_ERROR_INVALID_HANDLE;
	n = vgpu_image_kernels(lib->image, lib->image_len, LIB_MAX_UNCOMPRESSED, enum_one, &w);
	if (w.r != CUDA_SUCCESS)
		return w.r;
	if (n < 0 && n != -ECANCELED)
		return n == -ENOMEM ? CUDA_ERROR_OUT_OF_MEMORY : CUDA_ERROR_NOT_SUPPORTED;
	return CUDA_SUCCESS;
}

/* --------------------------------------------------------- kernels */

static CUresult cuKernelGetFunction_untraced(CUfunction *pFunc, CUkernel kernel)
{
	struct rt_kernel *k;

	if (!pFunc)
		return CUDA_ERROR_INVALID_VALUE;
	k = kernel_get(kernel);
	if (!k)
		return CUDA_ERROR_INVALID_HANDLE;
	return kernel_fn_current(k, pFunc);
}

CUresult CUDAAPI cuKernelGetFunction(CUfunction *pFunc, CUkernel kernel)
{
	CUresult r = cuKernelGetFunction_untraced(pFunc, kernel);

	return LCU_TRACE("cuKernelGetFunction", r, "(%p, %p) -> %p", (void *)pFunc, (void *)kernel,
			 r || !pFunc ? NULL : (void *)*pFunc);
}

CUresult vgpu_rt_resolve_function(CUfunction f, CUfunction *out)
{
	struct rt_kernel *k = kernel_get(f);

	if (!k) {
		*out = f;
		return CUDA_SUCCESS;
	}
	return kernel_fn_current(k, out);
}

CUresult CUDAAPI cuKernelGetAttribute(int *pi, CUfunction_attribute attrib, CUkernel kernel,
				      CUdevice dev)
{
	struct rt_kernel *k;
	CUfunction fn;
	CUresult r;
	int pushed;

	if (!pi)
		return CUDA_ERROR_INVALID_VALUE;
	k = kernel_get(kernel);
	if (!k)
		return CUDA_ERROR_INVALID_HANDLE;
	r = kernel_fn_for_dev(k, dev, &fn, &pushed);
	if (r == CUDA_SUCCESS)
		r = cuFuncGetAttribute(pi, attrib, fn);
	kernel_fn_done(dev, pushed);
	return r;
}

/* Sets on dev's function now, and remembers it for contexts to come. */
static CUresult kernel_set(CUkernel kernel, CUdevice dev, int is_cache,
			   CUfunction_attribute attrib, int val)
{
	struct rt_kernel *k;
	struct kattr *a;
	CUfunction fn;
	CUresult r;
	int pushed;

	k = kernel_get(kernel);
	if (!k)
		return CUDA_ERROR_INVALID_HANDLE;
	r = kernel_fn_for_dev(k, dev, &fn, &pushed);
	if (r == CUDA_SUCCESS)
		r = is_cache ? cuFuncSetCacheConfig(fn, (CUfunc_cache)val)
			     : cuFuncSetAttribute(fn, attrib, val);
	kernel_fn_done(dev, pushed);
	if (r != CUDA_SUCCESS)
		return r;
	pthread_mutex_lock(&k->lib->lock);
	for (a = k->attrs; a; a = a->next)
		if (a->is_cache == is_cache && (is_cache || a->attr == attrib))
			break;
	if (!a) {
		a = calloc(1, sizeof(*a));
		if (a) {
			a->next = k->attrs;
			k->attrs = a;
		}
	}
	if (a) {
		a->is_cache = is_cache;
		a->attr = attrib;
		a->value = val;
	}
	pthread_mutex_unlock(&k->lib->lock);
	return a ? CUDA_SUCCESS : CUDA_ERROR_OUT_OF_MEMORY;
}

CUresult CUDAAPI cuKernelSetAttribute(CUfunction_attribute attrib, int val, CUkernel kernel,
				      CUdevice dev)
{
	return kernel_set(kernel, dev, 0, attrib, val);
}

CUresult CUDAAPI cuKernelSetCacheConfig(CUkernel kernel, CUfunc_cache config, CUdevice dev)
{
	return kernel_set(kernel, dev, 1, (CUfunction_attribute)0, (int)config);
}

CUresult CUDAAPI cuKernelGetParamInfo(CUkernel kernel, size_t paramIndex, size_t *paramOffset,
				      size_t *paramSize)
{
	struct rt_kernel *k;
	CUfunction fn;
	CUresult r;

	k = kernel_get(kernel);
	if (!k)
		return CUDA_ERROR_INVALID_HANDLE;
	r = kernel_fn_current(k, &fn);
	if (r != CUDA_SUCCESS)
		return r;
	return cuFuncGetParamInfo(fn, paramIndex, paramOffset, paramSize);
}

CUresult CUDAAPI cuKernelGetName(const char **name, CUkernel hfunc)
{
	struct rt_kernel *k;

	if (!name)
		return CUDA_ERROR_INVALID_VALUE;
	k = kernel_get(hfunc);
	if (!k)
		return CUDA_ERROR_INVALID_HANDLE;
	*name = k->name;
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuKernelGetLibrary(CUlibrary *pLib, CUkernel kernel)
{
	struct rt_kernel *k;

	if (!pLib)
		return CUDA_ERROR_INVALID_VALUE;
	k = kernel_get(kernel);
	if (!k)
		return CUDA_ERROR_INVALID_HANDLE;
	*pLib = (CUlibrary)k->lib;
	return CUDA_SUCCESS;
}

/* ------------------------------------------------- context teardown */

void vgpu_rt_context_gone(CUcontext ctx)
{
	struct rt_lib *lib;
	struct rt_kernel *k;

	/* First the runtime's destructors: they may still use ctx. */
	vgpu_cls_context_gone(ctx);
	pthread_mutex_lock(&rt_lock);
	for (lib = rt_libs; lib; lib = lib->next) {
		struct ctx_mod **mp;

		pthread_mutex_lock(&lib->lock);
		/* The context's teardown frees its modules in dom0. */
		for (mp = &lib->mods; *mp;) {
			struct ctx_mod *m = *mp;

			if (m->ctx == ctx) {
				*mp = m->next;
				free(m);
			} else {
				mp = &m->next;
			}
		}
		for (k = lib->kernels; k; k = k->next) {
			struct ctx_fn **fp;

			for (fp = &k->fns; *fp;) {
				struct ctx_fn *f = *fp;

				if (f->ctx == ctx) {
					*fp = f->next;
					free(f);
				} else {
					fp = &f->next;
				}
			}
		}
		pthread_mutex_unlock(&lib->lock);
	}
	pthread_mutex_unlock(&rt_lock);
}
