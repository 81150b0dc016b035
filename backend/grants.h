/* SPDX-License-Identifier: MIT */
/*
 * grants.h - mapping a request's data grants: a bounded LRU cache of
 * persistent mappings, and one-shot mappings for everything else.
 *
 * With feature-persistent negotiated, a data grant stays mapped after its
 * request completes, so a guest reusing its buffers pays no map/unmap per
 * request (blkback's scheme). A request's cache misses are mapped in one
 * transport call (one batch of grant operations on Xen, one mmap on the
 * loopback transport) and cached page by page; the pages of one call leave
 * the cache together. The bound is on pages mapped, so a guest cannot make
 * dom0 map more than `max` of its pages through the cache. When the cache
 * is full of grants in use, the rest of a request is mapped for that
 * request only. Everything is unmapped on disconnect.
 *
 * Only the ring thread calls these.
 */
#ifndef VGPUBACK_GRANTS_H
#define VGPUBACK_GRANTS_H

#include <stdbool.h>
#include <stdint.h>

#include "vgpuif.h"

struct vgpuback_transport;

/*
 * 64 MiB of guest data pages and their indirect descriptor pages: a GPU
 * program's buffers of 16-64 MiB (copied again and again) stay mapped.
 * blkback's 1056 (4 MiB) made such copies map 33-173 times each
 * (docs/performance.md). On Xen each cached grant holds one of dom0's
 * maptrack entries (262144 by default, host-wide).
 */
#define VGPUBACK_DEFAULT_PERSISTENT_GRANTS 16640u

struct vgpuback_grange;

struct vgpuback_gent {
	uint32_t gref;
	bool     writable;
	bool     cached;                /* in the hash and LRU (a duplicate
					 * page of its map call is not)     */
	uint32_t users;                 /* requests holding it now          */
	void    *addr;                  /* one page                          */
	struct vgpuback_grange *range;  /* the map call it came from        */
	struct vgpuback_gent *hnext;    /* hash chain                        */
	struct vgpuback_gent *lru_prev, *lru_next; /* LRU: head = oldest   */
};

/* The pages of one map call; unmapped when its last cached entry goes. */
struct vgpuback_grange {
	void    *base;
	uint32_t npages;
	uint32_t live;                  /* entries still cached             */
	struct vgpuback_gent ent[];     /* one per page                     */
};

struct vgpuback_gstats {
	uint64_t map_calls, unmap_calls; /* transport calls, data grants    */
	uint64_t pages_mapped;
	uint64_t hits, misses, evictions, oneshot;
};

struct vgpuback_gcache {
	struct vgpuback_transport *t;
	uint32_t domid;
	uint32_t max;                   /* pages; 0: no persistent grants    */
	uint32_t count;                 /* entries cached                    */
	uint32_t mapped;                /* pages of live ranges (<= max)     */
	uint32_t nbuckets;              /* power of two                      */
	struct vgpuback_gent **buckets;
	struct vgpuback_gent lru;       /* sentinel                          */
	uint64_t last_purge;            /* ns; see make_room() in grants.c  */
	bool     grants_ro;             /* the guest grants read-only what
					 * we only read: map those so       */
	/*
	 * Optional: told of every page that enters or leaves the cache, so
	 * that long-lived mappings can be registered with the device for
	 * zero-copy DMA (vgpu_exec_host_register). One-shot maps are not.
	 */
	void   (*page_added)(void *arg, void *addr, size_t len);
	void   (*page_removed)(void *arg, void *addr);
	void    *page_arg;
	struct vgpuback_gstats stats;
};

/* What one request holds; released by vgpuback_grants_put(). */
struct vgpuback_gmap {
	uint32_t nents;
	struct vgpuback_gent **ents;    /* cache entries held                */
	struct vgpuback_gent *ents_inline[VGPUIF_MAX_DIRECT_SEGMENTS];
	void    *oneshot[2];            /* one-shot ranges: [0] ro, [1] rw   */
	uint32_t oneshot_n[2];
};

int  vgpuback_gcache_init(struct vgpuback_gcache *gc,
			  struct vgpuback_transport *t, uint32_t domid,
			  uint32_t max);
/* Unmap every cached grant (callers first put every request's). */
void vgpuback_gcache_uninit(struct vgpuback_gcache *gc);

/*
 * Map the pages of nr segments; writable[i] says segment i is written.
 * persistent: use (and fill) the cache. pages[i] receives the address of
 * segment i's page. 0, or -EFAULT/-EPERM/-ENOMEM with nothing held.
 */
int  vgpuback_grants_get(struct vgpuback_gcache *gc,
			 const struct vgpuif_segment *segs, uint32_t nr,
			 const uint8_t *writable, bool persistent,
			 struct vgpuback_gmap *m, uint8_t **pages);
void vgpuback_grants_put(struct vgpuback_gcache *gc, struct vgpuback_gmap *m);

/* One-shot read-only map and copy of count pages (indirect descriptors). */
int  vgpuback_grants_copy_pages(struct vgpuback_gcache *gc,
				const uint32_t *refs, uint32_t count,
				void *dst);

#endif /* VGPUBACK_GRANTS_H */
