/* SPDX-License-Identifier: MIT */
/*
 * dark-cls.c - context-local storage, the CONTEXT_LOCAL_STORAGE table's
 * store (dark.c). NVIDIA's runtime keeps its per-context state here: one
 * entry per (context, key), with a destructor the driver must run when the
 * context is destroyed or reset, so that the runtime forgets a context that
 * no longer exists (without it, the next cudaSetDevice after a
 * cudaDeviceReset would use freed state). Guest bookkeeping only.
 */
#include "dark.h"

#include <pthread.h>
#include <stdlib.h>

struct cls_entry {
	CUcontext ctx;
	void *key;
	void *value;
	void (*dtor)(CUcontext, void *, void *);
	struct cls_entry *next;
};

/* Guards cls_head and every entry on it. Never held across a destructor. */
static pthread_mutex_t cls_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cls_entry *cls_head;

/*
 * The context an entry is for: ctx itself when it is a live context, the
 * calling thread's current one for NULL.
 */
static CUresult cls_context(CUcontext ctx, CUcontext *out)
{
	unsigned int version;
	CUresult r;

	if (!ctx) {
		r = cuCtxGetCurrent(&ctx);
		if (r != CUDA_SUCCESS)
			return r;
		if (!ctx)
			return CUDA_ERROR_INVALID_CONTEXT;
	}
	/* Any call that checks the handle; this one has no side effect. */
	r = cuCtxGetApiVersion(ctx, &version);
	if (r != CUDA_SUCCESS)
		return r;
	*out = ctx;
	return CUDA_SUCCESS;
}

static struct cls_entry **cls_find(CUcontext ctx, void *key)
{
	struct cls_entry **pp;

	for (pp = &cls_head; *pp; pp = &(*pp)->next)
		if ((*pp)->ctx == ctx && (*pp)->key == key)
			return pp;
	return NULL;
}

CUresult vgpu_cls_put(CUcontext ctx, void *key, void *value,
		      void (*dtor)(CUcontext, void *, void *))
{
	struct cls_entry **pp, *e;
	CUresult r;

	r = cls_context(ctx, &ctx);
	if (r != CUDA_SUCCESS)
		return r;
	pthread_mutex_lock(&cls_lock);
	pp = cls_find(ctx, key);
	if (pp) {
		/* A new value for the key replaces the old (no destructor). */
		(*pp)->value = value;
		(*pp)->dtor = dtor;
		pthread_mutex_unlock(&cls_lock);
		return CUDA_SUCCESS;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		pthread_mutex_unlock(&cls_lock);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	e->ctx = ctx;
	e->key = key;
	e->value = value;
	e->dtor = dtor;
	e->next = cls_head;
	cls_head = e;
	pthread_mutex_unlock(&cls_lock);
	return CUDA_SUCCESS;
}

CUresult vgpu_cls_delete(CUcontext ctx, void *key)
{
	struct cls_entry **pp, *e = NULL;
	CUresult r;

	r = cls_context(ctx, &ctx);
	if (r != CUDA_SUCCESS)
		return r;
	pthread_mutex_lock(&cls_lock);
	pp = cls_find(ctx, key);
	if (pp) {
		e = *pp;
		*pp = e->next;
	}
	pthread_mutex_unlock(&cls_lock);
	if (!e)
		return CUDA_ERROR_INVALID_HANDLE;
	free(e);
	return CUDA_SUCCESS;
}

CUresult vgpu_cls_get(void **value, CUcontext ctx, void *key)
{
	struct cls_entry **pp;
	CUresult r;

	if (!value)
		return CUDA_ERROR_INVALID_VALUE;
	r = cls_context(ctx, &ctx);
	if (r != CUDA_SUCCESS)
		return r;
	pthread_mutex_lock(&cls_lock);
	pp = cls_find(ctx, key);
	if (pp)
		*value = (*pp)->value;
	pthread_mutex_unlock(&cls_lock);
	/* Not there yet: the runtime creates its state and puts it. */
	return pp ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

void vgpu_cls_context_gone(CUcontext ctx)
{
	struct cls_entry **pp, *gone = NULL, *e;

	pthread_mutex_lock(&cls_lock);
	for (pp = &cls_head; *pp;) {
		e = *pp;
		if (e->ctx == ctx) {
			*pp = e->next;
			e->next = gone;
			gone = e;
		} else {
			pp = &e->next;
		}
	}
	pthread_mutex_unlock(&cls_lock);
	/* Outside the lock: a destructor may use the storage again. */
	while (gone) {
		e = gone;
		gone = e->next;
		if (e->dtor)
			e->dtor(ctx, e->key, e->value);
		free(e);
	}
}

size_t vgpu_cls_count(void)
{
	struct cls_entry *e;
	size_t n = 0;

	pthread_mutex_lock(&cls_lock);
	for (e = cls_head; e; e = e->next)
		n++;
	pthread_mutex_unlock(&cls_lock);
	return n;
}
