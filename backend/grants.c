/* SPDX-License-Identifier: MIT */
/*
 * grants.c - persistent grant cache (bounded, LRU) and one-shot mappings.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "transport.h"
#include "grants.h"
#include "log.h"

static uint32_t hash_gref(const struct vgpuback_gcache *gc, uint32_t gref)
{
	return (gref * 2654435761u) & (gc->nbuckets - 1);
}

static void lru_unlink(struct vgpuback_gent *e)
{
	e->lru_prev->lru_next = e->lru_next;
	e->lru_next->lru_prev = e->lru_prev;
}

static void lru_append(struct vgpuback_gcache *gc, struct vgpuback_gent *e)
{
	e->lru_prev = gc->lru.lru_prev;
	e->lru_next = &gc->lru;
	gc->lru.lru_prev->lru_next = e;
	gc->lru.lru_prev = e;
}

int vgpuback_gcache_init(struct vgpuback_gcache *gc,
			 struct vgpuback_transport *t, uint32_t domid,
			 uint32_t max)
{
	memset(gc, 0, sizeof(*gc));
	gc->t = t;
	gc->domid = domid;
	gc->max = max;
	gc->lru.lru_prev = gc->lru.lru_next = &gc->lru;
	gc->nbuckets = 16;
	while (gc->nbuckets < 2 * max)
		gc->nbuckets <<= 1;
	gc->buckets = calloc(gc->nbuckets, sizeof(*gc->buckets));
	return gc->buckets ? 0 : -ENOMEM;
}

static struct vgpuback_gent *lookup(struct vgpuback_gcache *gc, uint32_t gref)
{
	struct vgpuback_gent *e;

	for (e = gc->buckets[hash_gref(gc, gref)]; e; e = e->hnext)
		if (e->gref == gref)
			return e;
	return NULL;
}

/* Drop an unused entry from the cache and unmap it. */
static void entry_remove(struct vgpuback_gcache *gc, struct vgpuback_gent *e)
{
	struct vgpuback_gent **pp = &gc->buckets[hash_gref(gc, e->gref)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	lru_unlink(e);
	if (gc->page_removed)
		gc->page_removed(gc->page_arg, e->addr);
	gc->t->ops->unmap_grants(gc->t, e->addr, 1);
	gc->stats.unmap_calls++;
	gc->count--;
	free(e);
}

void vgpuback_gcache_uninit(struct vgpuback_gcache *gc)
{
	if (!gc->buckets)
		return;
	while (gc->lru.lru_next != &gc->lru) {
		struct vgpuback_gent *e = gc->lru.lru_next;

		if (e->users)
			vb_err("grant %u still in use at disconnect (%u users); unmapping",
			       e->gref, e->users);
		entry_remove(gc, e);
	}
	free(gc->buckets);
	gc->buckets = NULL;
}

/*
 * Room for one more entry? Below the bound, yes. A full cache does not
 * evict on every miss (a working set larger than the cache would then remap
 * page by page, forever): the miss is mapped one-shot, batched, and at most
 * every PURGE_INTERVAL the least recently used idle entries (PURGE_PERCENT
 * of the bound) are dropped, so the cache follows a changing working set
 * (xen-blkback's purge_persistent_gnt() policy).
 */
#define PURGE_INTERVAL_NS (100ull * 1000 * 1000)
#define PURGE_PERCENT     5u

static int make_room(struct vgpuback_gcache *gc)
{
	struct vgpuback_gent *e, *next;
	uint32_t n;
	uint64_t now;

	if (gc->count < gc->max)
		return 1;
	now = vgpuback_now_ns();
	if (now - gc->last_purge < PURGE_INTERVAL_NS)
		return 0;
	gc->last_purge = now;
	n = gc->max * PURGE_PERCENT / 100;
	if (n == 0)
		n = 1;
	for (e = gc->lru.lru_next; e != &gc->lru && n; e = next) {
		next = e->lru_next;
		if (!e->users) {
			entry_remove(gc, e);
			gc->stats.evictions++;
			n--;
		}
	}
	return gc->count < gc->max;
}

static int map_one_cached(struct vgpuback_gcache *gc, uint32_t gref, bool w,
			  struct vgpuback_gent **out)
{
	struct vgpuback_gent *e = calloc(1, sizeof(*e));
	uint32_t b;

	if (!e)
		return -ENOMEM;
	gc->stats.map_calls++;
	e->addr = gc->t->ops->map_grants(gc->t, gc->domid, 1, &gref, w);
	if (!e->addr) {
		int err = errno ? -errno : -EFAULT;

		free(e);
		return err;
	}
	gc->stats.pages_mapped++;
	e->gref = gref;
	e->writable = w;
	b = hash_gref(gc, gref);
	e->hnext = gc->buckets[b];
	gc->buckets[b] = e;
	lru_append(gc, e);
	gc->count++;
	if (gc->page_added)
		gc->page_added(gc->page_arg, e->addr, VGPUIF_PAGE_SIZE);
	*out = e;
	return 0;
}

void vgpuback_grants_put(struct vgpuback_gcache *gc, struct vgpuback_gmap *m)
{
	uint32_t i;

	for (i = 0; i < m->nents; i++)
		m->ents[i]->users--;
	for (i = 0; i < 2; i++) {
		if (m->oneshot[i]) {
			gc->t->ops->unmap_grants(gc->t, m->oneshot[i],
						 m->oneshot_n[i]);
			gc->stats.unmap_calls++;
		}
		m->oneshot[i] = NULL;
		m->oneshot_n[i] = 0;
	}
	if (m->ents != m->ents_inline)
		free(m->ents);
	m->ents = NULL;
	m->nents = 0;
}

int vgpuback_grants_get(struct vgpuback_gcache *gc,
			const struct vgpuif_segment *segs, uint32_t nr,
			const uint8_t *writable, bool persistent,
			struct vgpuback_gmap *m, uint8_t **pages)
{
	uint32_t *refs = NULL, *which = NULL;
	uint8_t *cls = NULL;  /* per segment: 0 cached, 1 one-shot ro, 2 rw */
	uint32_t i, c;
	int err = 0;

	memset(m, 0, sizeof(*m));
	m->ents = m->ents_inline;
	if (nr == 0)
		return 0;
	if (nr > VGPUIF_MAX_DIRECT_SEGMENTS) {
		m->ents = calloc(nr, sizeof(*m->ents));
		if (!m->ents)
			return -ENOMEM;
	}
	cls = calloc(nr, 1);
	if (!cls) {
		err = -ENOMEM;
		goto out_put;
	}

	for (i = 0; i < nr; i++) {
		bool w = writable && writable[i];
		struct vgpuback_gent *e;

		if (!persistent || !gc->max) {
			cls[i] = w ? 2 : 1;
			continue;
		}
		e = lookup(gc, segs[i].gref);
		if (e && (e->writable || !w)) {
			gc->stats.hits++;
			e->users++;
			lru_unlink(e);
			lru_append(gc, e);
			m->ents[m->nents++] = e;
			pages[i] = e->addr;
			continue;
		}
		if (e) {
			/* Cached read-only, needed writable now. */
			if (e->users) {
				cls[i] = 2;
				gc->stats.oneshot++;
				continue;
			}
			entry_remove(gc, e);
		}
		gc->stats.misses++;
		if (!make_room(gc)) {
			cls[i] = w ? 2 : 1;
			gc->stats.oneshot++;
			continue;
		}
		/*
		 * Cache writable when the guest allows it, so that the same
		 * buffer serves reads and writes without a remap later.
		 */
		err = map_one_cached(gc, segs[i].gref, true, &e);
		if (err == -EPERM && !w)
			err = map_one_cached(gc, segs[i].gref, false, &e);
		if (err)
			goto out_put;
		e->users = 1;
		m->ents[m->nents++] = e;
		pages[i] = e->addr;
	}

	/* The rest: at most two batched one-shot maps (read-only, writable). */
	for (c = 1; c <= 2; c++) {
		uint32_t n = 0;
		uint8_t *base;

		for (i = 0; i < nr; i++)
			n += cls[i] == c;
		if (!n)
			continue;
		if (!refs) {
			refs = malloc(nr * sizeof(*refs));
			which = malloc(nr * sizeof(*which));
			if (!refs || !which) {
				err = -ENOMEM;
				goto out_put;
			}
		}
		n = 0;
		for (i = 0; i < nr; i++)
			if (cls[i] == c) {
				which[n] = i;
				refs[n++] = segs[i].gref;
			}
		gc->stats.map_calls++;
		base = gc->t->ops->map_grants(gc->t, gc->domid, n, refs, c == 2);
		if (!base) {
			err = errno ? -errno : -EFAULT;
			goto out_put;
		}
		gc->stats.pages_mapped += n;
		m->oneshot[c - 1] = base;
		m->oneshot_n[c - 1] = n;
		for (i = 0; i < n; i++)
			pages[which[i]] = base + (size_t)i * VGPUIF_PAGE_SIZE;
	}
	free(refs);
	free(which);
	free(cls);
	return 0;

out_put:
	free(refs);
	free(which);
	free(cls);
	vgpuback_grants_put(gc, m);
	return err;
}

int vgpuback_grants_copy_pages(struct vgpuback_gcache *gc,
			       const uint32_t *refs, uint32_t count, void *dst)
{
	void *src;

	gc->stats.map_calls++;
	src = gc->t->ops->map_grants(gc->t, gc->domid, count, refs, false);
	if (!src)
		return errno ? -errno : -EFAULT;
	gc->stats.pages_mapped += count;
	memcpy(dst, src, (size_t)count * VGPUIF_PAGE_SIZE);
	gc->t->ops->unmap_grants(gc->t, src, count);
	gc->stats.unmap_calls++;
	return 0;
}
