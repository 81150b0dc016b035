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

uint32_t vgpuback_grants_bound(uint32_t setting, uint64_t guest_mem_kib)
{
	uint64_t pages;

	if (setting != VGPUBACK_PERSISTENT_GRANTS_AUTO)
		return setting;
	pages = VGPUBACK_AUTO_GRANT_DATA_PAGES;
	if (guest_mem_kib && guest_mem_kib / (VGPUIF_PAGE_SIZE / 1024) < pages)
		pages = guest_mem_kib / (VGPUIF_PAGE_SIZE / 1024);
	return (uint32_t)pages + VGPUBACK_AUTO_GRANT_INDIRECT;
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

/* Drop an unused entry from the cache; the last of its range unmaps it. */
static void entry_remove(struct vgpuback_gcache *gc, struct vgpuback_gent *e)
{
	struct vgpuback_gent **pp = &gc->buckets[hash_gref(gc, e->gref)];
	struct vgpuback_grange *r = e->range;

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	lru_unlink(e);
	e->cached = false;
	if (gc->page_removed)
		gc->page_removed(gc->page_arg, e->addr);
	gc->count--;
	if (--r->live)
		return;
	gc->t->ops->unmap_grants(gc->t, r->base, r->npages);
	gc->stats.unmap_calls++;
	gc->mapped -= r->npages;
	free(r);
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

/* Every cached entry of r idle? */
static bool range_idle(const struct vgpuback_grange *r)
{
	for (uint32_t k = 0; k < r->npages; k++)
		if (r->ent[k].cached && r->ent[k].users)
			return false;
	return true;
}

/* Drop every cached entry of an idle range (which unmaps it). */
static void range_evict(struct vgpuback_gcache *gc, struct vgpuback_grange *r)
{
	uint32_t n = r->live;

	for (uint32_t k = 0; n && k < r->npages; k++)
		if (r->ent[k].cached) {
			n--;
			gc->stats.evictions++;
			entry_remove(gc, &r->ent[k]); /* the last one frees r */
		}
}

/*
 * Room for `need` more pages? Within the bound, yes. A full cache does not
 * evict on every miss (a working set larger than the cache would then remap
 * forever): the miss is mapped one-shot, batched, and at most every
 * PURGE_INTERVAL the least recently used idle ranges (PURGE_PERCENT of the
 * bound, or what the request needs) are dropped, so the cache follows a
 * changing working set (xen-blkback's purge_persistent_gnt() policy).
 */
#define PURGE_INTERVAL_NS (100ull * 1000 * 1000)
#define PURGE_PERCENT     5u

static bool make_room(struct vgpuback_gcache *gc, uint32_t need)
{
	struct vgpuback_gent *e;
	uint32_t freed = 0, want;
	uint64_t now;

	if (need > gc->max)
		return false;
	if (gc->mapped + need <= gc->max)
		return true;
	now = vgpuback_now_ns();
	if (now - gc->last_purge < PURGE_INTERVAL_NS)
		return false;
	gc->last_purge = now;
	want = gc->max * PURGE_PERCENT / 100;
	if (want < need)
		want = need;
	/* Oldest first; a range goes whole, and only when none of it is held. */
	for (e = gc->lru.lru_next; e != &gc->lru && freed < want;) {
		struct vgpuback_grange *r = e->range;

		if (e->users || !range_idle(r)) {
			e = e->lru_next;
			continue;
		}
		freed += r->npages;
		range_evict(gc, r);
		e = gc->lru.lru_next;   /* the list changed under us */
	}
	return gc->mapped + need <= gc->max;
}

/*
 * Map n grants in one call and cache each page. ents[i] receives the entry
 * of refs[i] (for a ref twice in the batch: its first entry). 0 or -errno.
 */
static int map_range_cached(struct vgpuback_gcache *gc, const uint32_t *refs,
			    uint32_t n, bool w, struct vgpuback_gent **ents)
{
	struct vgpuback_grange *r;

	r = calloc(1, sizeof(*r) + (size_t)n * sizeof(r->ent[0]));
	if (!r)
		return -ENOMEM;
	gc->stats.map_calls++;
	errno = 0;
	r->base = gc->t->ops->map_grants(gc->t, gc->domid, n, refs, w);
	if (!r->base) {
		int err = errno ? -errno : -EFAULT;

		free(r);
		return err;
	}
	gc->stats.pages_mapped += n;
	r->npages = n;
	gc->mapped += n;
	for (uint32_t i = 0; i < n; i++) {
		struct vgpuback_gent *e = &r->ent[i], *old = lookup(gc, refs[i]);
		uint32_t b;

		e->gref = refs[i];
		e->writable = w;
		e->range = r;
		e->addr = (uint8_t *)r->base + (size_t)i * VGPUIF_PAGE_SIZE;
		if (old && old->range == r) {
			ents[i] = old;  /* the same page twice in one request */
			continue;
		}
		b = hash_gref(gc, refs[i]);
		e->hnext = gc->buckets[b];
		gc->buckets[b] = e;
		e->cached = true;
		lru_append(gc, e);
		r->live++;
		gc->count++;
		if (gc->page_added)
			gc->page_added(gc->page_arg, e->addr, VGPUIF_PAGE_SIZE);
		ents[i] = e;
	}
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

/* Hold e for m; its page for segment i. */
static void hold(struct vgpuback_gmap *m, struct vgpuback_gent *e,
		 uint8_t **pages, uint32_t i)
{
	e->users++;
	m->ents[m->nents++] = e;
	pages[i] = e->addr;
}

/*
 * The cache misses of a request (idx[0..n), none cached): as many as there
 * is room for, mapped in one call and cached, writable where the guest
 * allows it, so that the same buffer serves reads and writes without a
 * remap later (a batch the guest granted read-only in part is mapped in
 * two: what is written, writable). How many were cached (idx[0..that)),
 * the rest being the caller's to map one-shot; or -errno.
 */
static int get_misses(struct vgpuback_gcache *gc,
		      const struct vgpuif_segment *segs, const uint8_t *writable,
		      const uint32_t *idx, uint32_t n, uint32_t *refs,
		      struct vgpuback_gent **ents, struct vgpuback_gmap *m,
		      uint8_t **pages)
{
	uint32_t i, k;
	int err;

	if (!make_room(gc, n)) {
		n = gc->max > gc->mapped ? gc->max - gc->mapped : 0;
		if (!n)
			return 0;
	}
	if (!gc->grants_ro) {
		for (i = 0; i < n; i++)
			refs[i] = segs[idx[i]].gref;
		err = map_range_cached(gc, refs, n, true, ents);
		if (!err) {
			for (i = 0; i < n; i++)
				hold(m, ents[i], pages, idx[i]);
			return (int)n;
		}
		if (err != -EPERM)
			return err;
		/*
		 * Some are read-only grants (as a frontend that grants each
		 * page in the mode it is used makes them): from now on, what
		 * is only read is mapped read-only at once.
		 */
		gc->grants_ro = true;
	}
	for (int pass = 0; pass < 2; pass++) {
		bool w = pass == 1;
		uint32_t sub[VGPUIF_MAX_DIRECT_SEGMENTS], *which = sub;

		if (n > VGPUIF_MAX_DIRECT_SEGMENTS) {
			which = malloc(n * sizeof(*which));
			if (!which)
				return -ENOMEM;
		}
		for (i = k = 0; i < n; i++)
			if ((writable && writable[idx[i]]) == w) {
				which[k] = idx[i];
				refs[k++] = segs[idx[i]].gref;
			}
		err = k ? map_range_cached(gc, refs, k, w, ents) : 0;
		for (i = 0; !err && i < k; i++)
			hold(m, ents[i], pages, which[i]);
		if (which != sub)
			free(which);
		if (err)
			return err;
	}
	return (int)n;
}

int vgpuback_grants_get(struct vgpuback_gcache *gc,
			const struct vgpuif_segment *segs, uint32_t nr,
			const uint8_t *writable, bool persistent,
			struct vgpuback_gmap *m, uint8_t **pages)
{
	uint32_t *refs = NULL, *which = NULL, nmiss = 0;
	struct vgpuback_gent **ents = NULL;
	uint8_t *cls = NULL;  /* per segment: 0 held, 1 one-shot ro, 2 rw, 3 miss */
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
	refs = malloc(nr * sizeof(*refs));
	which = malloc(nr * sizeof(*which));
	if (!cls || !refs || !which) {
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
			lru_unlink(e);
			lru_append(gc, e);
			hold(m, e, pages, i);
			continue;
		}
		if (e) {
			/* Cached read-only, needed writable now. */
			if (e->users || !range_idle(e->range)) {
				cls[i] = 2;
				gc->stats.oneshot++;
				continue;
			}
			range_evict(gc, e->range);
		}
		gc->stats.misses++;
		cls[i] = 3;
		which[nmiss++] = i;
	}
	if (nmiss) {
		ents = malloc(nmiss * sizeof(*ents));
		err = ents ? get_misses(gc, segs, writable, which, nmiss, refs,
					ents, m, pages) : -ENOMEM;
		if (err < 0)
			goto out_put;
		/* what did not fit: one-shot */
		for (i = (uint32_t)err; i < nmiss; i++) {
			cls[which[i]] = writable && writable[which[i]] ? 2 : 1;
			gc->stats.oneshot++;
		}
		for (i = 0; i < (uint32_t)err; i++)
			cls[which[i]] = 0;
		err = 0;
	}

	/* The rest: at most two batched one-shot maps (read-only, writable). */
	for (c = 1; c <= 2; c++) {
		uint32_t n = 0;
		uint8_t *base;

		for (i = 0; i < nr; i++)
			if (cls[i] == c) {
				which[n] = i;
				refs[n++] = segs[i].gref;
			}
		if (!n)
			continue;
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
	free(ents);
	free(refs);
	free(which);
	free(cls);
	return 0;

out_put:
	free(ents);
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
