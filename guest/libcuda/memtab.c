/* SPDX-License-Identifier: MIT */
/*
 * memtab.c - the guest's tables of memory: device address ranges (what
 * cuMemAlloc and module globals returned, with the context and dom0
 * handle each belongs to) and host blocks (cuMemAllocHost, cuMemHostAlloc,
 * cuMemHostRegister). Both are sorted arrays searched by address.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static pthread_rwlock_t mem_lock = PTHREAD_RWLOCK_INITIALIZER; /* mem_* */
static struct lcu_mem *mem_v;
static size_t mem_n, mem_cap;
static uint64_t mem_next_id = 1;

/* The first index whose base is > addr. */
static size_t mem_upper(uint64_t addr)
{
	size_t lo = 0, hi = mem_n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (mem_v[mid].base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int lcu_mem_add(const struct lcu_mem *m)
{
	size_t i;
	int rc = 0;

	if (!m->size || m->base + m->size < m->base)
		return -EINVAL;
	pthread_rwlock_wrlock(&mem_lock);
	i = mem_upper(m->base);
	if ((i > 0 && mem_v[i - 1].base + mem_v[i - 1].size > m->base) ||
	    (i < mem_n && m->base + m->size > mem_v[i].base)) {
		rc = -EEXIST;
		goto out;
	}
	if (mem_n == mem_cap) {
		size_t cap = mem_cap ? mem_cap * 2 : 64;
		struct lcu_mem *n = realloc(mem_v, cap * sizeof(*n));

		if (!n) {
			rc = -ENOMEM;
			goto out;
		}
		mem_v = n;
		mem_cap = cap;
	}
	memmove(&mem_v[i + 1], &mem_v[i], (mem_n - i) * sizeof(*mem_v));
	mem_v[i] = *m;
	mem_v[i].buffer_id = mem_next_id++;
	mem_n++;
out:
	pthread_rwlock_unlock(&mem_lock);
	return rc;
}

int lcu_mem_del(uint64_t base, struct lcu_mem *out)
{
	size_t i;
	int rc = -ENOENT;

	pthread_rwlock_wrlock(&mem_lock);
	i = mem_upper(base);
	if (i > 0 && mem_v[i - 1].base == base) {
		if (out)
			*out = mem_v[i - 1];
		memmove(&mem_v[i - 1], &mem_v[i], (mem_n - i) * sizeof(*mem_v));
		mem_n--;
		rc = 0;
	}
	pthread_rwlock_unlock(&mem_lock);
	return rc;
}

int lcu_mem_find(uint64_t addr, struct lcu_mem *out)
{
	size_t i;
	int rc = -ENOENT;

	pthread_rwlock_rdlock(&mem_lock);
	i = mem_upper(addr);
	if (i > 0 && addr - mem_v[i - 1].base < mem_v[i - 1].size) {
		*out = mem_v[i - 1];
		rc = 0;
	}
	pthread_rwlock_unlock(&mem_lock);
	return rc;
}

/* Removes every entry for which drop() says so. */
static void mem_filter(bool (*drop)(const struct lcu_mem *, const void *), const void *arg)
{
	size_t i, j;

	pthread_rwlock_wrlock(&mem_lock);
	for (i = j = 0; i < mem_n; i++)
		if (!drop(&mem_v[i], arg))
			mem_v[j++] = mem_v[i];
	mem_n = j;
	pthread_rwlock_unlock(&mem_lock);
}

static bool of_ctx(const struct lcu_mem *m, const void *c)
{
	return m->ctx == c;
}

static bool of_module(const struct lcu_mem *m, const void *mod)
{
	return m->kind == LCU_MEM_GLOBAL && m->module == mod;
}

void lcu_mem_drop_ctx(struct lcu_ctx *c)
{
	mem_filter(of_ctx, c);
}

void lcu_mem_drop_module(struct lcu_module *m)
{
	mem_filter(of_module, m);
}

CUresult lcu_mem_range(uint64_t addr, uint64_t len, struct lcu_mem *m, uint64_t *off)
{
	if (lcu_mem_find(addr, m))
		return CUDA_ERROR_INVALID_VALUE;
	*off = addr - m->base;
	if (len > m->size - *off)
		return CUDA_ERROR_INVALID_VALUE;
	return CUDA_SUCCESS;
}

/* ---------------------------------------------------------- host blocks */

static pthread_mutex_t host_lock = PTHREAD_MUTEX_INITIALIZER; /* host_* */
static struct lcu_host *host_v;
static size_t host_n, host_cap;

static size_t host_upper(uintptr_t p)
{
	size_t lo = 0, hi = host_n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if ((uintptr_t)host_v[mid].p <= p)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int lcu_host_add(const struct lcu_host *h)
{
	uintptr_t p = (uintptr_t)h->p;
	size_t i;
	int rc = 0;

	pthread_mutex_lock(&host_lock);
	i = host_upper(p);
	if ((i > 0 && (uintptr_t)host_v[i - 1].p + host_v[i - 1].size > p) ||
	    (i < host_n && p + h->size > (uintptr_t)host_v[i].p)) {
		rc = -EEXIST;
		goto out;
	}
	if (host_n == host_cap) {
		size_t cap = host_cap ? host_cap * 2 : 32;
		struct lcu_host *n = realloc(host_v, cap * sizeof(*n));

		if (!n) {
			rc = -ENOMEM;
			goto out;
		}
		host_v = n;
		host_cap = cap;
	}
	memmove(&host_v[i + 1], &host_v[i], (host_n - i) * sizeof(*host_v));
	host_v[i] = *h;
	host_n++;
out:
	pthread_mutex_unlock(&host_lock);
	return rc;
}

int lcu_host_del(const void *p, bool registered, struct lcu_host *out)
{
	size_t i;
	int rc = -ENOENT;

	pthread_mutex_lock(&host_lock);
	i = host_upper((uintptr_t)p);
	if (i > 0 && host_v[i - 1].p == p && host_v[i - 1].registered == registered) {
		if (out)
			*out = host_v[i - 1];
		memmove(&host_v[i - 1], &host_v[i], (host_n - i) * sizeof(*host_v));
		host_n--;
		rc = 0;
	}
	pthread_mutex_unlock(&host_lock);
	return rc;
}

int lcu_host_find(const void *p, struct lcu_host *out)
{
	size_t i;
	int rc = -ENOENT;

	pthread_mutex_lock(&host_lock);
	i = host_upper((uintptr_t)p);
	if (i > 0 && (uintptr_t)p - (uintptr_t)host_v[i - 1].p < host_v[i - 1].size) {
		*out = host_v[i - 1];
		rc = 0;
	}
	pthread_mutex_unlock(&host_lock);
	return rc;
}
