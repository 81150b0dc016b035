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
 * persistent-grants = auto (the default): the cache's bound in pages, per
 * device. Measured (vgpu-bench-loopback and tests/integration's
 * test_grant_cache): a working set beyond the bound costs one batched
 * one-shot map per request for what does not fit, so the bound must cover
 * what a guest copies again and again. A guest cannot have more of its
 * pages granted at once than its own grant table holds: Xen's default
 * (max_grant_frames 64, 512 v1 entries a frame) is 32768 pages, 128 MiB;
 * auto covers that plus indirect descriptor pages (2 x 64 MiB buffers, an
 * H2D source and a D2H destination, cached 32800 pages). A smaller guest
 * gets its memory's worth (memory/static-max in XenStore) plus the
 * indirect allowance. Each cached grant holds one of dom0's maptrack
 * entries (262144 by default, for all of dom0's mappings of all guests):
 * with many guests that copy this much, an operator sets a number instead.
 * blkback's 1056 (4 MiB) made 16 and 64 MiB copies map 33 and 173 times
 * each; 16640 (64 MiB) still 10-16 map calls per copy with two or three
 * 64 MiB buffers (docs/performance.md).
 */
#define VGPUBACK_PERSISTENT_GRANTS_AUTO   UINT32_MAX
#define VGPUBACK_AUTO_GRANT_DATA_PAGES    32768u
#define VGPUBACK_AUTO_GRANT_INDIRECT      512u
#define VGPUBACK_DEFAULT_PERSISTENT_GRANTS VGPUBACK_PERSISTENT_GRANTS_AUTO

/*
 * The bound a device's cache gets: setting (a count, 0 = off, or
 * VGPUBACK_PERSISTENT_GRANTS_AUTO) and the guest's memory in KiB (0 when
 * unknown). Only ever lowered by what the guest says about its memory.
 */
uint32_t vgpuback_grants_bound(uint32_t setting, uint64_t guest_mem_kib);

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
