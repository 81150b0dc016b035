/* SPDX-License-Identifier: MIT */
/*
 * obj.c - the registry of live handles: a program's CUcontext, CUstream,
 * CUevent, CUmodule, CUfunction and CUlinkState values are looked up here
 * before the library touches them, so that a freed, forged or mistyped
 * handle is CUDA_ERROR_INVALID_HANDLE (or _CONTEXT), never a dereference.
 */
#include <errno.h>
#include <stdlib.h>

#include "internal.h"

/* Open addressing over pointer values; a deleted slot holds TOMB. */
#define TOMB ((struct lcu_obj *)1)

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER; /* reg_* */
static struct lcu_obj **reg_slot;
static size_t reg_cap, reg_used, reg_live;

static size_t slot_of(const void *p, size_t cap)
{
	uint64_t x = (uint64_t)(uintptr_t)p;

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return (size_t)x & (cap - 1);
}

static int reg_grow(void)
{
	size_t cap = reg_cap ? reg_cap * 2 : 256, i;
	struct lcu_obj **n;

	/* Only live entries move; the tombstones go. */
	while (reg_live * 2 >= cap)
		cap *= 2;
	n = calloc(cap, sizeof(*n));
	if (!n)
		return -ENOMEM;
	for (i = 0; i < reg_cap; i++) {
		struct lcu_obj *o = reg_slot[i];
		size_t j;

		if (!o || o == TOMB)
			continue;
		for (j = slot_of(o, cap); n[j]; j = (j + 1) & (cap - 1))
			;
		n[j] = o;
	}
	free(reg_slot);
	reg_slot = n;
	reg_cap = cap;
	reg_used = reg_live;
	return 0;
}

/* The slot holding o, or (size_t)-1. Called with reg_lock held. */
static size_t reg_find(const void *o)
{
	size_t i;

	if (!reg_cap)
		return (size_t)-1;
	for (i = slot_of(o, reg_cap); reg_slot[i]; i = (i + 1) & (reg_cap - 1))
		if (reg_slot[i] == o)
			return i;
	return (size_t)-1;
}

int lcu_obj_add(struct lcu_obj *o)
{
	size_t i;
	int rc = 0;

	pthread_mutex_lock(&reg_lock);
	if ((reg_used + 1) * 2 > reg_cap && (rc = reg_grow()) != 0)
		goto out;
	for (i = slot_of(o, reg_cap); reg_slot[i] && reg_slot[i] != TOMB;
	     i = (i + 1) & (reg_cap - 1))
		;
	if (!reg_slot[i])
		reg_used++;
	reg_slot[i] = o;
	reg_live++;
out:
	pthread_mutex_unlock(&reg_lock);
	return rc;
}

void lcu_obj_del(struct lcu_obj *o)
{
	size_t i;

	pthread_mutex_lock(&reg_lock);
	i = reg_find(o);
	if (i != (size_t)-1) {
		reg_slot[i] = TOMB;
		reg_live--;
	}
	pthread_mutex_unlock(&reg_lock);
}

struct lcu_obj *lcu_obj_get(const void *o, enum lcu_kind kind)
{
	struct lcu_obj *found = NULL;
	size_t i;

	if (!o || o == TOMB)
		return NULL;
	pthread_mutex_lock(&reg_lock);
	i = reg_find(o);
	if (i != (size_t)-1 && reg_slot[i]->kind == kind)
		found = reg_slot[i];
	pthread_mutex_unlock(&reg_lock);
	return found;
}
