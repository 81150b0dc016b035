/* SPDX-License-Identifier: MIT */
/*
 * grant.c - guest frames, the grant table a guest fills in, and the
 * backend's view of it: mapping grant refs into one contiguous range the
 * way xengnttab_map_grant_refs does, with the checks Xen makes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lb-private.h"

static bool frame_used(const struct lb_shm_gnttab *g, uint64_t f)
{
	return g->frame_used[f / 8] & (1u << (f % 8));
}

static void frame_mark(struct lb_shm_gnttab *g, uint64_t f, bool used)
{
	if (used)
		g->frame_used[f / 8] |= (uint8_t)(1u << (f % 8));
	else
		g->frame_used[f / 8] &= (uint8_t)~(1u << (f % 8));
}

/* The grant table of an alive guest domain, world lock held. */
static struct lb_shm_gnttab *gnttab_alive(struct lb_world *w, uint32_t domid,
					  int *err)
{
	struct lb_shm_gnttab *g;

	if (domid == 0 || domid > LB_MAX_DOMID) {
		*err = -EINVAL;
		return NULL;
	}
	if (!lb_dom_alive_locked(w, domid)) {
		*err = -ESRCH;
		return NULL;
	}
	g = lb_gnttab(w, domid);
	if (!g || g->magic != LB_GNT_MAGIC) {
		*err = g ? -EIO : -errno;
		return NULL;
	}
	return g;
}

int64_t lb_frames_alloc(struct lb_world *w, uint32_t domid, uint32_t n)
{
	struct lb_shm_gnttab *g;
	uint64_t run = 0, start = 0;
	int64_t r;
	int err = 0;

	if (n == 0)
		return -EINVAL;
	r = lb_lock(w);
	if (r)
		return r;
	g = gnttab_alive(w, domid, &err);
	r = err ? err : -ENOMEM;
	for (uint64_t f = 1; g && f < g->frames; f++) {
		if (frame_used(g, f)) {
			run = 0;
			continue;
		}
		if (run++ == 0)
			start = f;
		if (run == n) {
			for (uint64_t k = start; k < start + n; k++)
				frame_mark(g, k, true);
			r = (int64_t)start;
			break;
		}
	}
	lb_unlock(w);
	return r;
}

int lb_frames_free(struct lb_world *w, uint32_t domid, uint64_t frame,
		   uint32_t n)
{
	struct lb_shm_gnttab *g;
	int r, err = 0;

	r = lb_lock(w);
	if (r)
		return r;
	g = gnttab_alive(w, domid, &err);
	r = err;
	if (g && (frame == 0 || frame >= g->frames || n > g->frames - frame))
		r = -EINVAL;
	for (uint64_t f = frame; !r && f < frame + n; f++)
		if (!frame_used(g, f))
			r = -EINVAL;
	for (uint64_t f = frame; !r && f < frame + n; f++)
		frame_mark(g, f, false);
	lb_unlock(w);
	return r;
}

/* ------------------------------------------------------ guest side */

int lb_grant_access(struct lb_world *w, uint32_t granter, uint32_t to_domid,
		    uint64_t frame, bool readonly)
{
	struct lb_shm_gnttab *g;
	int r, err = 0;

	if (to_domid > LB_MAX_DOMID)
		return -EINVAL;
	r = lb_lock(w);
	if (r)
		return r;
	g = gnttab_alive(w, granter, &err);
	r = err;
	if (g && frame >= g->frames)
		r = -EINVAL;
	if (!r) {
		r = -ENOSPC;
		/*
		 * A revoked ref still mapped by a live process stays out of
		 * reuse, as Xen keeps it busy. Whether its mapper lives costs
		 * a look at /proc, so the first pass takes only refs nobody
		 * maps (a guest whose backend keeps persistent grants has
		 * many revoked-but-mapped ones: one /proc read each, per
		 * grant made, under the world lock); the second pass also
		 * takes refs whose mapper died.
		 */
		for (int pass = 0; pass < 2 && r == -ENOSPC; pass++) {
			uint32_t ref = g->hint;

			for (uint32_t k = 0; k < LB_NR_GRANTS - LB_GNT_RESERVED; k++) {
				struct lb_shm_gnt *e;

				if (ref >= LB_NR_GRANTS || ref < LB_GNT_RESERVED)
					ref = LB_GNT_RESERVED;
				e = &g->e[ref];
				if (!e->flags && (!e->map_count ||
				    (pass && !lb_proc_alive(e->map_pid, e->map_start)))) {
					e->map_count = 0;
					e->domid = to_domid;
					e->frame = frame;
					e->flags = LB_GTF_PERMIT |
						   (readonly ? LB_GTF_READONLY : 0);
					g->hint = ref + 1;
					r = (int)ref;
					break;
				}
				ref++;
			}
		}
	}
	lb_unlock(w);
	return r;
}

static int end_access_locked(struct lb_world *w, uint32_t granter,
			     uint32_t gref)
{
	struct lb_shm_gnttab *g;
	struct lb_shm_gnt *e;
	int err = 0;

	g = gnttab_alive(w, granter, &err);
	if (!g)
		return err;
	if (gref < LB_GNT_RESERVED || gref >= LB_NR_GRANTS)
		return -EINVAL;
	e = &g->e[gref];
	if (!(e->flags & LB_GTF_PERMIT))
		return -EINVAL;
	if (e->map_count) {
		if (lb_proc_alive(e->map_pid, e->map_start))
			return -EBUSY;
		e->map_count = 0;   /* its mapper died: the mapping went too */
	}
	e->flags = 0;
	return 0;
}

int lb_end_access(struct lb_world *w, uint32_t granter, uint32_t gref)
{
	int r = lb_lock(w);

	if (r)
		return r;
	r = end_access_locked(w, granter, gref);
	lb_unlock(w);
	return r;
}

int lb_grant_set_raw(struct lb_world *w, uint32_t granter, uint32_t gref,
		     uint32_t flags, uint32_t to_domid, uint64_t frame)
{
	struct lb_shm_gnttab *g;
	int r, err = 0;

	if (gref >= LB_NR_GRANTS)
		return -EINVAL;
	r = lb_lock(w);
	if (r)
		return r;
	g = gnttab_alive(w, granter, &err);
	r = err;
	if (g) {
		g->e[gref].flags = flags;
		g->e[gref].domid = to_domid;
		g->e[gref].frame = frame;
	}
	lb_unlock(w);
	return r;
}

int lb_grant_map_count(struct lb_world *w, uint32_t granter, uint32_t gref)
{
	struct lb_shm_gnttab *g;
	int r, err = 0;

	if (gref >= LB_NR_GRANTS)
		return -EINVAL;
	r = lb_lock(w);
	if (r)
		return r;
	g = gnttab_alive(w, granter, &err);
	r = g ? (int)g->e[gref].map_count : err;
	lb_unlock(w);
	return r;
}

void lb_grants_revoke_locked(struct lb_world *w, uint32_t domid)
{
	struct lb_shm_gnttab *g = lb_gnttab(w, domid);

	if (!g || g->magic != LB_GNT_MAGIC)
		return;
	for (uint32_t i = 0; i < LB_NR_GRANTS; i++)
		g->e[i].flags = 0;
}

/* ---------------------------------------------------- backend side */

/*
 * Check refs and take a mapping reference on each (world lock held). On
 * failure nothing is taken. Frames are returned in frames[].
 */
static int grants_take_locked(struct lb_world *w, uint32_t mapper,
			      uint32_t domid, uint32_t count,
			      const uint32_t *refs, bool writable,
			      uint64_t *frames)
{
	struct lb_shm_gnttab *g;
	uint64_t st = lb_self_starttime();
	int err = 0;

	g = gnttab_alive(w, domid, &err);
	if (!g)
		return err;
	for (uint32_t i = 0; i < count; i++) {
		struct lb_shm_gnt e;

		/* Only refs the guest could have granted, in range. */
		if (refs[i] < LB_GNT_RESERVED || refs[i] >= LB_NR_GRANTS)
			return -EFAULT;
		/* One copy, checked: the guest's process can write its table
		 * at any time (volatile: the compiler may not read it again). */
		e = *(volatile struct lb_shm_gnt *)&g->e[refs[i]];
		/* Bounds from dom0's domain table, not the guest's table. */
		if (!(e.flags & LB_GTF_PERMIT) || e.domid != mapper ||
		    e.frame == 0 || e.frame >= w->shm->dom[domid].mem_frames)
			return -EFAULT;
		if (writable && (e.flags & LB_GTF_READONLY))
			return -EPERM;
		frames[i] = e.frame;
	}
	for (uint32_t i = 0; i < count; i++) {
		struct lb_shm_gnt *e = &g->e[refs[i]];

		e->map_count++;
		e->map_pid = getpid();
		e->map_start = st;
	}
	return 0;
}

static void grants_put(struct lb_world *w, uint32_t domid, uint32_t count,
		       const uint32_t *refs)
{
	struct lb_shm_gnttab *g;

	if (lb_lock(w))
		return;
	g = lb_gnttab(w, domid);
	for (uint32_t i = 0; g && i < count; i++)
		if (refs[i] < LB_NR_GRANTS && g->e[refs[i]].map_count)
			g->e[refs[i]].map_count--;
	lb_unlock(w);
}

void *lb_map_grants(struct lb_world *w, uint32_t mapper, uint32_t domid,
		    uint32_t count, const uint32_t *refs, bool writable)
{
	int prot = PROT_READ | (writable ? PROT_WRITE : 0);
	struct lb_mapping *m;
	uint64_t *frames;
	size_t len;
	uint8_t *base;
	int r, fd;

	if (count == 0 || count > LB_NR_GRANTS || !refs) {
		errno = EINVAL;
		return NULL;
	}
	fd = lb_mem_fd(w, domid);
	if (fd < 0) {
		errno = fd == -EINVAL ? EFAULT : -fd;
		return NULL;
	}
	m = malloc(sizeof(*m) + count * sizeof(uint32_t));
	frames = malloc(count * sizeof(*frames));
	r = -ENOMEM;
	if (!m || !frames)
		goto out_free;
	memcpy(m->refs, refs, count * sizeof(uint32_t));
	m->domid = domid;
	m->count = count;
	len = (size_t)count * LB_PAGE_SIZE;
	/* Reserve one range, then put each granted frame into it. */
	base = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
		    MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED) {
		r = -errno;
		goto out_free;
	}
	r = lb_lock(w);
	if (r)
		goto out_unreserve;
	r = grants_take_locked(w, mapper, domid, count, m->refs, writable,
			       frames);
	lb_unlock(w);
	if (r)
		goto out_unreserve;
	/*
	 * Each run of consecutive frames goes in with one mmap: guest
	 * buffers are usually physically contiguous, so a large request is
	 * a few system calls, not one per page.
	 */
	for (uint32_t i = 0, j; i < count; i = j) {
		void *p;

		for (j = i + 1; j < count && frames[j] == frames[j - 1] + 1; j++)
			;
		p = mmap(base + (size_t)i * LB_PAGE_SIZE,
			 (size_t)(j - i) * LB_PAGE_SIZE, prot,
			 MAP_SHARED | MAP_FIXED | MAP_POPULATE, fd,
			 (off_t)(frames[i] * LB_PAGE_SIZE));
		if (p == MAP_FAILED) {
			r = -errno;
			goto out_put;
		}
	}
	m->addr = base;
	m->frames = frames;
	pthread_mutex_lock(&w->cache_lock);
	m->next = w->mappings;
	w->mappings = m;
	pthread_mutex_unlock(&w->cache_lock);
	return base;

out_put:
	grants_put(w, domid, count, m->refs);
out_unreserve:
	munmap(base, len);
out_free:
	free(frames);
	free(m);
	errno = -r;
	return NULL;
}

int lb_unmap_grants(struct lb_world *w, void *addr, uint32_t count)
{
	struct lb_mapping **pp, *m;

	pthread_mutex_lock(&w->cache_lock);
	for (pp = &w->mappings; *pp; pp = &(*pp)->next)
		if ((*pp)->addr == addr)
			break;
	m = *pp;
	if (!m || m->count != count) {
		pthread_mutex_unlock(&w->cache_lock);
		return -EINVAL;
	}
	*pp = m->next;
	pthread_mutex_unlock(&w->cache_lock);
	munmap(m->addr, (size_t)m->count * LB_PAGE_SIZE);
	grants_put(w, m->domid, m->count, m->refs);
	free(m->frames);
	free(m);
	return 0;
}

int lb_mapping_frames(struct lb_world *w, void *addr, uint32_t count,
		      uint64_t *frames)
{
	struct lb_mapping *m;
	uint32_t domid = 0;
	int found = 0;

	pthread_mutex_lock(&w->cache_lock);
	for (m = w->mappings; m; m = m->next)
		if (m->addr == addr && m->count == count) {
			memcpy(frames, m->frames, count * sizeof(*frames));
			domid = m->domid;
			found = 1;
			break;
		}
	pthread_mutex_unlock(&w->cache_lock);
	if (!found)
		return -EINVAL;
	return lb_mem_fd(w, domid);
}
