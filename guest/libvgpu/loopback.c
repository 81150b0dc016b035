// SPDX-License-Identifier: MIT
/*
 * loopback.c - libvgpu's loopback transport: the userspace frontend
 * (guest/loopfront) in this process, acting as guest domain N of a
 * loopback world (loopback-xen/). It does here what vgpu-front.ko does in
 * a guest kernel, no more:
 *   - one connection (ring) per device and process, shared by every handle
 *     on it; each handle is one context, made anew after a reconnect;
 *   - data travels in guest memory: host memory (vgpu_host_alloc) is
 *     guest memory already (zero copy); other regions are bounced through
 *     pooled guest buffers (their persistent grants stay), or sent inline;
 *   - host memory registered with vgpu_host_register() (revision 3,
 *     feature-host-mem) is granted once, in regions of at most one
 *     request's pages; copies inside one region name it (F_HOST_MEM) and
 *     carry no segments;
 *   - async requests carry their first error to the next sync.
 * Device string: loopback:DIR?domid=N[&devid=M][&timeout_ms=T]
 * [&ring_order=K][&persistent=0|1][&spin_us=US].
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "private.h"
#include "loopback.h"
#include "loopfront.h"
#include "vgpu-front-logic.h"

_Static_assert(VGPU_REGION_WRITE == VGPUFRONT_REGION_WRITE &&
	       VGPU_REGION_COPY == VGPUFRONT_REGION_COPY, "region flags");

#define LB_DEFAULT_TIMEOUT_MS 60000
/* Bounce bytes one call keeps in flight before waiting for the oldest. */
#define LB_WINDOW_BYTES       (16u << 20)
/* Idle bounce buffers a connection keeps for reuse. */
#define LB_POOL_MAX           32u
#define LB_POOL_MAX_BYTES     (64u << 20)

struct lb_host;
struct lb_xfer;

/* One connection: a device of a domain of a world, in this process. */
struct lb_dev {
	struct lb_dev *next;            /* in lb_devs                */
	char dir[PATH_MAX];
	uint32_t domid, devid;
	unsigned int refs;              /* handles + host blocks; lb_devs_lock */
	struct loopfront *lf;
	pthread_mutex_t reconnect_lock; /* one reconnect at a time   */
	/*
	 * Protects the pool, the host blocks and every transfer's done and
	 * orphan flags. Taken inside loopfront's lock (in done callbacks),
	 * so never held while calling loopfront.
	 */
	pthread_mutex_t lock;
	struct lb_xfer *pool;           /* idle transfers with their buffers */
	unsigned int npool;
	size_t pool_bytes;
	struct lb_xfer *trash;          /* beyond the pool: to free outside */
	struct lb_host *hosts;
};

static struct lb_dev *lb_devs;
static pthread_mutex_t lb_devs_lock = PTHREAD_MUTEX_INITIALIZER; /* lb_devs, refs */

/* One registered region (HOST_REGISTER) of a host block. */
struct lb_hreg {
	size_t group;                   /* block offset vgpu_host_register got */
	size_t off, len;                /* block bytes, whole pages            */
	uint64_t handle;                /* the backend's                       */
	uint64_t gen;                   /* the connection it belongs to        */
	bool ro;
};

/* A vgpu_host_alloc() block: a guest buffer. */
struct lb_host {
	struct lb_host *next;
	struct loopfront_buf *buf;
	uint8_t *ptr;
	size_t size;
	struct lb_hreg *regs;           /* dev->lock                           */
	unsigned int nregs;
};

/* One handle: a context on a connection. */
struct lb_handle {
	struct lb_dev *dev;
	int timeout_ms;
	pthread_mutex_t ctx_lock;       /* ctx and ctx_gen            */
	uint32_t ctx;
	uint64_t ctx_gen;               /* the connection it belongs to */
	int refs;                       /* the vgpu_t + async requests; atomic */
	int async_err;                  /* first async error; atomic  */
};

/* A bounced region: where its bytes are in the bounce buffer. */
struct lb_bounce {
	uint64_t host;
	size_t off, len;
	bool back;                      /* copied back after the answer */
};

/* One request in flight. */
struct lb_xfer {
	struct lb_xfer *next;           /* in the pool                */
	struct lb_dev *dev;
	struct lb_handle *h;            /* async only: a held reference */
	struct loopfront_buf *bounce;
	size_t bounce_size;
	/*
	 * The bounce buffer registered with dom0 (HOST_REGISTER, revision 3)
	 * so that a pageable copy bounced through it goes as F_HOST_MEM: one
	 * copy in the guest, none in dom0 where its executor maps the pages
	 * (zero copy). 0: not registered; breg_failed: do not try again.
	 */
	uint64_t breg, breg_gen;
	bool breg_failed;
	struct loopfront_req q;
	struct loopfront_region lr[VGPU_REQ_MAX_REGIONS];
	uint8_t inline_buf[VGPUIF_MAX_INLINE_BYTES];
	struct lb_bounce bb[VGPU_REQ_MAX_REGIONS];
	unsigned int nbb;
	size_t need;                    /* bounce bytes this request uses */
	struct vgpuif_response rsp;
	int done;                       /* atomic: answered           */
	bool orphan;                    /* its waiter left; dev->lock */
	bool async;
};

static struct lb_handle *H(const vgpu_t *v)
{
	return v->priv;
}

static void handle_put(struct lb_handle *h)
{
	if (__atomic_sub_fetch(&h->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		pthread_mutex_destroy(&h->ctx_lock);
		free(h);
	}
}

/* ---------------------------------------------------------- connections */

static void dev_free(struct lb_dev *d)
{
	/* Their buffers went with the connection. */
	while (d->pool) {
		struct lb_xfer *x = d->pool;

		d->pool = x->next;
		free(x);
	}
	while (d->trash) {
		struct lb_xfer *x = d->trash;

		d->trash = x->next;
		free(x);
	}
	pthread_mutex_destroy(&d->lock);
	pthread_mutex_destroy(&d->reconnect_lock);
	free(d);
}

static void dev_put(struct lb_dev *d)
{
	struct lb_dev **pp;
	bool last;

	pthread_mutex_lock(&lb_devs_lock);
	last = --d->refs == 0;
	if (last)
		for (pp = &lb_devs; *pp; pp = &(*pp)->next)
			if (*pp == d) {
				*pp = d->next;
				break;
			}
	pthread_mutex_unlock(&lb_devs_lock);
	if (!last)
		return;
	/* Outstanding requests are answered -EIO here (done callbacks). */
	loopfront_close(d->lf);
	dev_free(d);
}

static int open_errno(int e)
{
	switch (e) {
	case ENOENT: case ESRCH: case ENODEV:
		return -ENODEV;     /* no world, no domain, no device */
	default:
		return -e;
	}
}

/* The connection to (dir, domid, devid): shared, or made now. */
static int dev_get(const char *dir, const struct loopfront_opts *o,
		   struct lb_dev **out)
{
	char why[300];
	struct lb_dev *d;
	int ret = 0;

	pthread_mutex_lock(&lb_devs_lock);
	for (d = lb_devs; d; d = d->next)
		if (!strcmp(d->dir, dir) && d->domid == o->domid &&
		    d->devid == o->devid)
			break;
	if (d) {
		d->refs++;
		goto out;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		ret = -ENOMEM;
		goto out;
	}
	snprintf(d->dir, sizeof(d->dir), "%s", dir);
	d->domid = o->domid;
	d->devid = o->devid;
	d->refs = 1;
	pthread_mutex_init(&d->lock, NULL);
	pthread_mutex_init(&d->reconnect_lock, NULL);
	/* The handshake runs under lb_devs_lock: one per process at a time. */
	d->lf = loopfront_open(o, why, sizeof(why));
	if (!d->lf) {
		ret = open_errno(errno);
		vgpu_set_open_error("loopback: %s", why);
		dev_free(d);
		d = NULL;
		goto out;
	}
	d->next = lb_devs;
	lb_devs = d;
out:
	pthread_mutex_unlock(&lb_devs_lock);
	*out = d;
	return ret;
}

/*
 * The backend closed the device (restarted, or closed on us): connect
 * again, once for all the threads that saw the same connection go, as the
 * module does when the backend returns to InitWait. gen: the connection
 * the caller saw.
 */
static int dev_reconnect(struct lb_dev *d, uint64_t gen)
{
	int ret = 0;

	pthread_mutex_lock(&d->reconnect_lock);
	if (loopfront_generation(d->lf) == gen && loopfront_closed(d->lf))
		ret = loopfront_reconnect(d->lf);
	pthread_mutex_unlock(&d->reconnect_lock);
	return ret;
}

/* ---------------------------------------------------------- transfers */

/* Bounce buffers of pageable copies this big or more are registered. */
#define LB_BOUNCE_REG_MIN (64u << 10)

/* Unregister x's bounce buffer before its grants go (not in a callback). */
static void bounce_unreg(struct lb_dev *d, struct lb_xfer *x)
{
	struct vgpuif_response rsp;
	union vgpuif_args a;

	if (x->breg && x->breg_gen == loopfront_generation(d->lf)) {
		memset(&a, 0, sizeof(a));
		a.host_unregister.region = x->breg;
		loopfront_call(d->lf, VGPUIF_OP_HOST_UNREGISTER, 0, &a, NULL, 0, &rsp);
	}
	x->breg = 0;
	x->breg_failed = false;
}

/* Register x's bounce buffer once (not in a callback); true when it is. */
static bool bounce_reg(struct lb_dev *d, struct lb_xfer *x)
{
	uint64_t gen = loopfront_generation(d->lf);
	struct loopfront_region g = { x->bounce, 0, x->bounce_size, true };
	struct vgpuif_response rsp;
	struct loopfront_req q;

	if (x->breg && x->breg_gen == gen)
		return true;
	x->breg = 0;
	if (x->breg_failed || !loopfront_host_mem(d->lf) || !loopfront_persistent(d->lf) ||
	    x->bounce_size > (size_t)loopfront_max_indirect(d->lf) * VGPUIF_PAGE_SIZE)
		return false;
	memset(&q, 0, sizeof(q));
	q.op = VGPUIF_OP_HOST_REGISTER;
	q.args.host_register.length = x->bounce_size;
	q.regs = &g;
	q.nregs = 1;
	if (loopfront_call_req(d->lf, &q, &rsp) || rsp.status) {
		x->breg_failed = true;  /* copies bounce as before */
		return false;
	}
	x->breg = rsp.result[0];
	x->breg_gen = gen;
	return true;
}

/* Frees the transfers the pool had no room for (not in a callback). */
static void dev_empty_trash(struct lb_dev *d)
{
	struct lb_xfer *t;

	pthread_mutex_lock(&d->lock);
	t = d->trash;
	d->trash = NULL;
	pthread_mutex_unlock(&d->lock);
	while (t) {
		struct lb_xfer *x = t;

		t = x->next;
		bounce_unreg(d, x);
		if (x->bounce)
			loopfront_buf_free(d->lf, x->bounce);
		free(x);
	}
}

/* An idle transfer with at least need bounce bytes, or a new one. */
static struct lb_xfer *xfer_get(struct lb_dev *d, size_t need)
{
	struct lb_xfer *x, **pp, **best = NULL;
	struct loopfront_buf *old = NULL;

	dev_empty_trash(d);
	pthread_mutex_lock(&d->lock);
	for (pp = &d->pool; *pp; pp = &(*pp)->next) {
		x = *pp;
		if (x->bounce_size >= need &&
		    (!best || x->bounce_size < (*best)->bounce_size))
			best = pp;
	}
	if (!best && need && d->pool)
		best = &d->pool;   /* too small: give its buffer back */
	x = NULL;
	if (best) {
		x = *best;
		*best = x->next;
		d->npool--;
		d->pool_bytes -= x->bounce_size;
	}
	pthread_mutex_unlock(&d->lock);
	if (x && x->bounce_size < need) {
		bounce_unreg(d, x);
		old = x->bounce;
		x->bounce = NULL;
		x->bounce_size = 0;
	}
	if (old)
		loopfront_buf_free(d->lf, old);
	if (!x) {
		x = calloc(1, sizeof(*x));
		if (!x)
			return NULL;
		x->dev = d;
	}
	if (need && !x->bounce) {
		size_t sz = (need + VGPUIF_PAGE_SIZE - 1) & ~(size_t)(VGPUIF_PAGE_SIZE - 1);

		x->bounce = loopfront_buf_alloc(d->lf, sz);
		if (!x->bounce) {
			free(x);
			return NULL;
		}
		x->bounce_size = sz;
	}
	x->done = 0;
	x->orphan = false;
	x->h = NULL;
	x->nbb = 0;
	return x;
}

/* Back to the pool, or to the trash when it is full; dev->lock held. */
static void xfer_put_locked(struct lb_dev *d, struct lb_xfer *x)
{
	if (d->npool >= LB_POOL_MAX ||
	    d->pool_bytes + x->bounce_size > LB_POOL_MAX_BYTES) {
		x->next = d->trash;
		d->trash = x;
		return;
	}
	x->next = d->pool;
	d->pool = x;
	d->npool++;
	d->pool_bytes += x->bounce_size;
}

static void xfer_put(struct lb_dev *d, struct lb_xfer *x)
{
	pthread_mutex_lock(&d->lock);
	xfer_put_locked(d, x);
	pthread_mutex_unlock(&d->lock);
}

/*
 * A transfer's answer (loopfront's lock held: no loopfront call here).
 * An async one's error is kept for the next sync of its handle; a
 * synchronous one wakes its waiter, or is dropped if the waiter left.
 */
static void xfer_done(void *cookie, const struct vgpuif_response *rsp)
{
	struct lb_xfer *x = cookie;
	struct lb_dev *d = x->dev;
	struct lb_handle *h = x->h;

	x->rsp = *rsp;
	if (x->async) {
		int st = vgpufront_rsp_status(rsp->status), zero = 0;

		if (st && h)
			__atomic_compare_exchange_n(&h->async_err, &zero, st, false,
						    __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
		if (h)
			handle_put(h);
		xfer_put(d, x);
		return;
	}
	pthread_mutex_lock(&d->lock);
	__atomic_store_n(&x->done, 1, __ATOMIC_RELEASE);
	if (x->orphan)
		xfer_put_locked(d, x);
	pthread_mutex_unlock(&d->lock);
}

static bool xfer_answered(void *arg)
{
	return __atomic_load_n(&((struct lb_xfer *)arg)->done, __ATOMIC_ACQUIRE);
}

/* The host block holding [p, p + len), dev->lock held. */
static struct lb_host *host_find_locked(struct lb_dev *d, uint64_t p, uint64_t len)
{
	struct lb_host *b;

	for (b = d->hosts; b; b = b->next) {
		uint64_t s = vgpu_ptr64(b->ptr);

		if (p >= s && p - s <= b->size && len <= b->size - (p - s))
			return b;
	}
	return NULL;
}

/* The registered region of b holding [off, off + len), lock held. */
static const struct lb_hreg *hreg_find_locked(struct lb_dev *d,
					      const struct lb_host *b,
					      size_t off, size_t len)
{
	uint64_t gen = loopfront_generation(d->lf);

	for (unsigned int i = 0; i < b->nregs; i++) {
		const struct lb_hreg *g = &b->regs[i];

		if (g->gen == gen && off >= g->off && off - g->off < g->len &&
		    len <= g->len - (off - g->off))
			return g;
	}
	return NULL;
}

/*
 * A copy whose host side lies in one registered region: name it
 * (F_HOST_MEM) instead of granting anything. True when q was so made.
 */
static bool hreg_copy(struct lb_dev *d, const struct vgpu_req *r,
		      struct loopfront_req *q)
{
	const struct vgpu_region *g = &r->regions[0];
	const struct lb_hreg *h = NULL;
	struct lb_host *b;
	bool writes;

	if ((r->op != VGPUIF_OP_MEMCPY_H2D && r->op != VGPUIF_OP_MEMCPY_D2H) ||
	    r->nr_regions != 1 || (g->flags & VGPU_REGION_COPY) ||
	    !loopfront_host_mem(d->lf))
		return false;
	writes = r->op == VGPUIF_OP_MEMCPY_D2H;
	pthread_mutex_lock(&d->lock);
	b = host_find_locked(d, g->addr, g->len);
	if (b)
		h = hreg_find_locked(d, b, (size_t)(g->addr - vgpu_ptr64(b->ptr)),
				     (size_t)g->len);
	if (h && !(writes && h->ro)) {
		q->host_mem = true;
		q->args.memcpy.host_region = h->handle;
		q->args.memcpy.host_offset = g->addr - vgpu_ptr64(b->ptr) - h->off;
	}
	pthread_mutex_unlock(&d->lock);
	return q->host_mem;
}

/*
 * Lays a request's regions out: host memory as it is, the rest in a
 * bounce buffer (copied there now when the backend reads it), or inline.
 */
static int xfer_build(struct lb_handle *h, const struct vgpu_req *r,
		      uint32_t ctx, struct lb_xfer **out)
{
	struct lb_dev *d = h->dev;
	uint64_t lens[VGPU_REQ_MAX_REGIONS];
	uint32_t flags[VGPU_REQ_MAX_REGIONS];
	struct loopfront_buf *hb[VGPU_REQ_MAX_REGIONS];
	size_t hoff[VGPU_REQ_MAX_REGIONS], need = 0;
	bool inl;
	struct lb_xfer *x;
	unsigned int i;

	if (r->nr_regions > VGPU_REQ_MAX_REGIONS)
		return -EINVAL;
	for (i = 0; i < r->nr_regions; i++) {
		lens[i] = r->regions[i].len;
		flags[i] = r->regions[i].flags;
	}
	inl = vgpufront_can_inline(lens, flags, r->nr_regions,
				   loopfront_inline_bytes(d->lf));
	pthread_mutex_lock(&d->lock);
	for (i = 0; i < r->nr_regions && !inl; i++) {
		const struct vgpu_region *g = &r->regions[i];
		struct lb_host *b = NULL;

		if (!(g->flags & VGPU_REGION_COPY))
			b = host_find_locked(d, g->addr, g->len);
		hb[i] = b ? b->buf : NULL;
		hoff[i] = b ? (size_t)(g->addr - vgpu_ptr64(b->ptr)) : 0;
		if (!b)
			need += g->len;
	}
	pthread_mutex_unlock(&d->lock);
	x = xfer_get(d, need);
	if (!x)
		return -ENOMEM;
	memset(&x->q, 0, sizeof(x->q));
	x->q.op = (uint8_t)r->op;
	x->q.ctx = ctx;
	x->q.args = r->args;
	x->need = need;
	if (!inl && hreg_copy(d, r, &x->q)) {
		*out = x;       /* a registered region: no data to lay out */
		return 0;
	}
	if (inl) {
		size_t at = 0;

		for (i = 0; i < r->nr_regions; i++) {
			memcpy(x->inline_buf + at,
			       (const void *)(uintptr_t)r->regions[i].addr,
			       r->regions[i].len);
			at += r->regions[i].len;
		}
		x->q.inline_data = x->inline_buf;
		x->q.inline_len = (unsigned int)at;
		*out = x;
		return 0;
	}
	need = 0;
	for (i = 0; i < r->nr_regions; i++) {
		const struct vgpu_region *g = &r->regions[i];
		bool writes = g->flags & VGPU_REGION_WRITE;

		if (hb[i]) {
			x->lr[i] = (struct loopfront_region){ hb[i], hoff[i], g->len, writes };
			continue;
		}
		x->lr[i] = (struct loopfront_region){ x->bounce, need, g->len, writes };
		x->bb[x->nbb++] = (struct lb_bounce){ g->addr, need, g->len, writes };
		if (!writes)
			memcpy((uint8_t *)loopfront_buf_ptr(x->bounce) + need,
			       (const void *)(uintptr_t)g->addr, g->len);
		need += g->len;
	}
	x->q.regs = x->lr;
	x->q.nregs = r->nr_regions;
	/*
	 * A pageable copy, bounced: name the registered bounce buffer instead
	 * of granting its pages, so that dom0 need not stage it again.
	 */
	if ((r->op == VGPUIF_OP_MEMCPY_H2D || r->op == VGPUIF_OP_MEMCPY_D2H) &&
	    r->nr_regions == 1 && x->nbb == 1 && x->bb[0].off == 0 &&
	    x->bb[0].len >= LB_BOUNCE_REG_MIN && bounce_reg(d, x)) {
		x->q.regs = NULL;
		x->q.nregs = 0;
		x->q.host_mem = true;
		x->q.args.memcpy.host_region = x->breg;
		x->q.args.memcpy.host_offset = 0;
	}
	*out = x;
	return 0;
}

/* A synchronous transfer's answer into its request; bounced bytes back. */
static void xfer_finish(struct lb_xfer *x, struct vgpu_req *r)
{
	unsigned int i;

	for (i = 0; i < x->nbb; i++)
		if (x->bb[i].back)
			memcpy((void *)(uintptr_t)x->bb[i].host,
			       (uint8_t *)loopfront_buf_ptr(x->bounce) + x->bb[i].off,
			       x->bb[i].len);
	r->status = vgpufront_rsp_status(x->rsp.status);
	r->result[0] = x->rsp.result[0];
	r->result[1] = x->rsp.result[1];
	r->exec_ns = x->rsp.exec_ns;
}

/* ------------------------------------------------------------- contexts */

static int lb_call_raw(struct lb_dev *d, uint8_t op, uint32_t ctx,
		       struct vgpuif_response *rsp)
{
	int ret = loopfront_call(d->lf, op, ctx, NULL, NULL, 0, rsp);

	return ret ? ret : vgpufront_rsp_status(rsp->status);
}

/*
 * The handle's context on the current connection, made anew after a
 * reconnect (its handles went with the old one), as vgpufront_file_ctx.
 */
static int handle_ctx(struct lb_handle *h, uint32_t *ctx)
{
	struct lb_dev *d = h->dev;
	struct vgpuif_response rsp;
	uint64_t gen;
	int ret = 0;

	pthread_mutex_lock(&h->ctx_lock);
	gen = loopfront_generation(d->lf);
	if (!h->ctx || h->ctx_gen != gen) {
		ret = lb_call_raw(d, VGPUIF_OP_CTX_CREATE, 0, &rsp);
		if (!ret && (rsp.result[0] == 0 || rsp.result[0] > UINT32_MAX))
			ret = -EIO;
		if (!ret) {
			h->ctx = (uint32_t)rsp.result[0];
			h->ctx_gen = gen;
			__atomic_store_n(&h->async_err, 0, __ATOMIC_RELAXED);
		}
	}
	*ctx = h->ctx;
	pthread_mutex_unlock(&h->ctx_lock);
	return ret;
}

/* ---------------------------------------------------------------- calls */

/* A reason for vgpu_error(), when the connection failed a request. */
static void conn_error(vgpu_t *v, const struct vgpu_req *r, int ret)
{
	vgpu_set_error(v, "loopback: %s: %s", vgpuif_op_name(r->op),
		       loopfront_error(H(v)->dev->lf));
	(void)ret;
}

/*
 * Start one request. 0 and *xo (a synchronous one to finish), 0 and NULL
 * (async, queued), or -errno (nothing sent). Reconnects once when the
 * backend closed the device before the request went out.
 */
static int lb_start(vgpu_t *v, struct vgpu_req *r, struct lb_xfer **xo)
{
	struct lb_handle *h = H(v);
	struct lb_dev *d = h->dev;
	bool async = r->flags & VGPU_REQ_ASYNC;
	struct lb_xfer *x;
	uint32_t ctx = 0;
	unsigned int i;
	int ret, tries;

	*xo = NULL;
	for (tries = 0; tries < 2; tries++) {
		uint64_t gen = loopfront_generation(d->lf);

		if (loopfront_broken(d->lf))
			return -EIO;
		if (loopfront_closed(d->lf)) {
			ret = dev_reconnect(d, gen);
			if (ret)
				return ret;
		}
		/* 1 stands for "the caller's": is a context needed? */
		ret = vgpufront_op_ctx(r->op, 1, &ctx);
		if (!ret && ctx)
			ret = handle_ctx(h, &ctx);
		if (ret)
			return ret;
		ret = xfer_build(h, r, ctx, &x);
		if (ret)
			return ret;
		/* A region the backend writes through a bounce buffer needs a
		 * waiter to copy it back: such a request runs synchronously. */
		for (i = 0; i < x->nbb; i++)
			if (x->bb[i].back)
				async = false;
		x->async = async;
		if (async) {
			__atomic_add_fetch(&h->refs, 1, __ATOMIC_ACQ_REL);
			x->h = h;
		}
		ret = loopfront_start(d->lf, &x->q, xfer_done, x);
		if (!ret) {
			*xo = async ? NULL : x;
			return 0;
		}
		if (async)
			handle_put(h);
		xfer_put(d, x);
		if (ret != -ESHUTDOWN)
			return ret;
	}
	return ret;
}

/* Wait for a synchronous transfer; its answer into r. */
static int lb_finish(vgpu_t *v, struct lb_xfer *x, struct vgpu_req *r)
{
	struct lb_handle *h = H(v);
	struct lb_dev *d = h->dev;
	int ret = loopfront_wait(d->lf, xfer_answered, x, h->timeout_ms);
	bool answered;

	pthread_mutex_lock(&d->lock);
	answered = __atomic_load_n(&x->done, __ATOMIC_ACQUIRE);
	if (!answered)
		x->orphan = true;   /* xfer_done gives it back */
	pthread_mutex_unlock(&d->lock);
	if (!answered) {
		if (ret == -ETIMEDOUT)
			vgpu_set_error(v, "loopback: %s: no answer within %d ms "
				       "(is the backend alive?)",
				       vgpuif_op_name(r->op), h->timeout_ms);
		else
			conn_error(v, r, ret);
		/* Sent but lost with the connection: as the module says. */
		return ret == -ESHUTDOWN ? -EIO : ret ? ret : -EIO;
	}
	xfer_finish(x, r);
	xfer_put(d, x);
	if (vgpufront_op_reports_async(r->op)) {
		/* Answers of one context come in ring order: every earlier
		 * async one has been taken in before this one. */
		int aerr = __atomic_exchange_n(&h->async_err, 0, __ATOMIC_ACQ_REL);

		if (!r->status)
			r->status = aerr;
	}
	return 0;
}

#define LB_BATCH 16u

/*
 * Start every request of the batch, keeping at most LB_WINDOW_BYTES of
 * bounced data in flight, then collect the synchronous ones in order.
 */
static int lb_call(vgpu_t *v, struct vgpu_req *reqs, unsigned int n)
{
	struct lb_xfer *x[LB_BATCH];
	unsigned int i, next = 0;
	size_t window = 0;
	int ret = 0, ret2;

	if (n > LB_BATCH) {
		for (i = 0; i < n && !ret; i += LB_BATCH)
			ret = lb_call(v, reqs + i, n - i < LB_BATCH ? n - i : LB_BATCH);
		return ret;
	}
	for (i = 0; i < n; i++)
		x[i] = NULL;
	for (i = 0; i < n && !ret; i++) {
		for (; window > LB_WINDOW_BYTES && next < i; next++) {
			if (!x[next])
				continue;
			window -= x[next]->need;
			ret2 = lb_finish(v, x[next], &reqs[next]);
			if (ret2 && !ret)
				ret = ret2;
		}
		if (ret)
			break;
		ret = lb_start(v, &reqs[i], &x[i]);
		if (ret)
			conn_error(v, &reqs[i], ret);
		else if (x[i])
			window += x[i]->need;
		else
			reqs[i].status = 0;
	}
	for (; next < n; next++) {
		if (!x[next])
			continue;
		ret2 = lb_finish(v, x[next], &reqs[next]);
		if (ret2 && !ret)
			ret = ret2;
	}
	return ret;
}

/* ------------------------------------------------------------ handles */

static int parse_num(const char *s, size_t n, long long lo, long long hi,
		     long long *out)
{
	char buf[32], *end;
	long long x;

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	errno = 0;
	x = strtoll(buf, &end, 10);
	if (errno || *end || x < lo || x > hi)
		return -1;
	*out = x;
	return 0;
}

/* "DIR?key=value&..." into opts; the world directory into dir. */
static int parse_spec(const char *spec, struct loopfront_opts *o, char *dir,
		      size_t dirlen, int *timeout_ms)
{
	const char *q = strchr(spec, '?'), *p;
	bool have_domid = false;
	size_t n = q ? (size_t)(q - spec) : strlen(spec);

	loopfront_opts_init(o);
	*timeout_ms = LB_DEFAULT_TIMEOUT_MS;
	if (n >= dirlen) {
		vgpu_set_open_error("loopback: world directory too long");
		return -EINVAL;
	}
	memcpy(dir, spec, n);
	dir[n] = '\0';
	for (p = q ? q + 1 : NULL; p && *p;) {
		const char *amp = strchr(p, '&'), *eq = strchr(p, '=');
		size_t len = amp ? (size_t)(amp - p) : strlen(p);
		long long x;
		size_t kl;

		if (!eq || eq > p + len) {
			vgpu_set_open_error("loopback: '%.*s' is not key=value",
					    (int)len, p);
			return -EINVAL;
		}
		kl = (size_t)(eq - p);
		eq++;
#define KEY(k) (kl == sizeof(k) - 1 && !strncmp(p, k, kl))
		if (KEY("domid") && !parse_num(eq, len - kl - 1, 1, 255, &x)) {
			o->domid = (uint32_t)x;
			have_domid = true;
		} else if (KEY("devid") && !parse_num(eq, len - kl - 1, 0, UINT32_MAX, &x)) {
			o->devid = (uint32_t)x;
		} else if (KEY("timeout_ms") &&
			   !parse_num(eq, len - kl - 1, 1, INT32_MAX, &x)) {
			*timeout_ms = (int)x;
		} else if (KEY("ring_order") &&
			   !parse_num(eq, len - kl - 1, 0, VGPUIF_MAX_RING_PAGE_ORDER, &x)) {
			o->ring_order = (int)x;
		} else if (KEY("persistent") && !parse_num(eq, len - kl - 1, 0, 1, &x)) {
			o->persistent = (int)x;
		} else if (KEY("spin_us") && !parse_num(eq, len - kl - 1, 0, 1000000, &x)) {
			o->spin_us = (unsigned int)x;
		} else {
			vgpu_set_open_error("loopback: bad option '%.*s' (want domid=N, "
					    "devid=M, timeout_ms=T, ring_order=K, "
					    "persistent=0|1, spin_us=US)", (int)len, p);
			return -EINVAL;
		}
#undef KEY
		p = amp ? amp + 1 : NULL;
	}
	if (!have_domid) {
		vgpu_set_open_error("loopback: the device string needs ?domid=N "
				    "(the guest domain to act as)");
		return -EINVAL;
	}
	o->timeout_ms = *timeout_ms;
	return 0;
}

static int lb_open(vgpu_t *v, const char *spec)
{
	char dir[PATH_MAX], real[PATH_MAX];
	struct loopfront_opts o;
	struct lb_handle *h;
	uint32_t ctx;
	int ret, timeout;

	ret = parse_spec(spec, &o, dir, sizeof(dir), &timeout);
	if (ret)
		return ret;
	/* One connection per world, however its directory was named. */
	o.world_dir = dir[0] ? dir : lb_default_dir();
	if (realpath(o.world_dir, real))
		o.world_dir = real;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->refs = 1;
	h->timeout_ms = timeout;
	pthread_mutex_init(&h->ctx_lock, NULL);
	ret = dev_get(o.world_dir, &o, &h->dev);
	if (ret)
		goto out_free;
	v->priv = h;
	/* As open() on /dev/vgpu_stub: the context exists from here on. */
	if (loopfront_closed(h->dev->lf))
		dev_reconnect(h->dev, loopfront_generation(h->dev->lf));
	ret = handle_ctx(h, &ctx);
	if (ret) {
		vgpu_set_open_error("loopback: domain %u: CTX_CREATE: %s",
				    o.domid, vgpu_strerror(ret));
		goto out_put;
	}
	return 0;

out_put:
	dev_put(h->dev);
	v->priv = NULL;
out_free:
	handle_put(h);
	return ret;
}

static int lb_open_fd(vgpu_t *v, int fd)
{
	(void)v;
	(void)fd;
	return -EINVAL;
}

/* The context goes, without waiting, as at release() of the module. */
static void lb_close(vgpu_t *v)
{
	struct lb_handle *h = H(v);
	struct lb_dev *d = h->dev;
	struct lb_xfer *x;

	if (h->ctx && h->ctx_gen == loopfront_generation(d->lf) &&
	    !loopfront_closed(d->lf) && !loopfront_broken(d->lf)) {
		x = xfer_get(d, 0);
		if (x) {
			memset(&x->q, 0, sizeof(x->q));
			x->q.op = VGPUIF_OP_CTX_DESTROY;
			x->q.ctx = h->ctx;
			x->async = true;
			if (loopfront_start(d->lf, &x->q, xfer_done, x))
				xfer_put(d, x);
		}
	}
	dev_put(d);
	handle_put(h);
}

static int lb_fd(const vgpu_t *v)
{
	(void)v;
	return -1;
}

static int lb_limits(vgpu_t *v, struct vgpu_limits *l)
{
	struct loopfront *lf = H(v)->dev->lf;

	l->max_segs = vgpufront_max_segs(loopfront_max_indirect(lf), 0);
	l->ops = loopfront_ops(lf);
	l->inline_bytes = loopfront_inline_bytes(lf);
	return 0;
}

static int lb_query(vgpu_t *v, struct vgpu_info *info)
{
	struct lb_handle *h = H(v);
	struct loopfront *lf = h->dev->lf;
	struct vgpuif_info w;
	struct vgpu_limits l;
	struct vgpu_req r;
	int ret;

	memset(&r, 0, sizeof(r));
	memset(&w, 0, sizeof(w));
	r.op = VGPUIF_OP_GET_INFO;
	r.nr_regions = 1;
	r.regions[0] = (struct vgpu_region){ vgpu_ptr64(&w), sizeof(w),
					     VGPU_REGION_WRITE, 0 };
	ret = lb_call(v, &r, 1);
	if (!ret)
		ret = r.status;
	if (ret)
		return ret;
	vgpu_info_from_wire(info, &w);
	lb_limits(v, &l);
	info->max_segments = l.max_segs;
	info->ops = l.ops;
	info->inline_bytes = l.inline_bytes;
	info->ring_pages = 1u << loopfront_ring_order(lf);
	info->ring_slots = loopfront_ring_size(lf);
	info->devid = loopfront_devid(lf);
	info->generation = loopfront_generation(lf);
	pthread_mutex_lock(&h->ctx_lock);
	info->ctx = h->ctx;
	pthread_mutex_unlock(&h->ctx_lock);
	return 0;
}

/* ---------------------------------------------------------- host memory */

static void hreg_drop(struct lb_dev *d, struct lb_host *b, size_t group, bool all);

static int lb_host_alloc(vgpu_t *v, size_t size, void **ptr)
{
	struct lb_dev *d = H(v)->dev;
	struct lb_host *b = calloc(1, sizeof(*b));

	if (!b)
		return -ENOMEM;
	b->buf = loopfront_buf_alloc(d->lf, size);
	if (!b->buf) {
		free(b);
		return -ENOMEM;
	}
	b->ptr = loopfront_buf_ptr(b->buf);
	b->size = size;
	pthread_mutex_lock(&lb_devs_lock);
	d->refs++;              /* the block keeps the connection */
	pthread_mutex_unlock(&lb_devs_lock);
	pthread_mutex_lock(&d->lock);
	b->next = d->hosts;
	d->hosts = b;
	pthread_mutex_unlock(&d->lock);
	*ptr = b->ptr;
	return 0;
}

static int lb_host_free(vgpu_t *v, void *ptr)
{
	struct lb_dev *d = H(v)->dev;
	struct lb_host **pp, *b = NULL;

	pthread_mutex_lock(&d->lock);
	for (pp = &d->hosts; *pp; pp = &(*pp)->next)
		if ((*pp)->ptr == ptr) {
			b = *pp;
			*pp = b->next;
			break;
		}
	pthread_mutex_unlock(&d->lock);
	if (!b)
		return -EINVAL;
	hreg_drop(d, b, 0, true);       /* before its grants go */
	loopfront_buf_free(d->lf, b->buf);
	free(b->regs);
	free(b);
	dev_put(d);
	return 0;
}

/* HOST_UNREGISTER of every region of b in [group] (all: all of them). */
static void hreg_drop(struct lb_dev *d, struct lb_host *b, size_t group, bool all)
{
	uint64_t gen = loopfront_generation(d->lf);
	unsigned int i = 0;

	for (;;) {
		struct vgpuif_response rsp;
		union vgpuif_args a;
		struct lb_hreg g;
		bool found = false;

		pthread_mutex_lock(&d->lock);
		for (; i < b->nregs; i++)
			if (all || b->regs[i].group == group) {
				g = b->regs[i];
				b->regs[i] = b->regs[--b->nregs];
				found = true;
				break;
			}
		pthread_mutex_unlock(&d->lock);
		if (!found)
			return;
		if (g.gen != gen)
			continue;       /* its connection went: nothing to tell */
		memset(&a, 0, sizeof(a));
		a.host_unregister.region = g.handle;
		/* answered after the copies naming it */
		loopfront_call(d->lf, VGPUIF_OP_HOST_UNREGISTER, 0, &a, NULL, 0, &rsp);
	}
}

/*
 * Register [p, p + len) of a host block, its whole pages, in regions of at
 * most one request's pages. -EOPNOTSUPP when the backend lacks
 * feature-host-mem or grants are not persistent; -EINVAL outside a host
 * block; -EEXIST over a registered range.
 */
static int lb_host_register(vgpu_t *v, void *p, size_t len, uint32_t flags)
{
	struct lb_dev *d = H(v)->dev;
	uint32_t segs = loopfront_max_indirect(d->lf);
	size_t start, end, chunk, off;
	uint64_t gen = loopfront_generation(d->lf);
	bool ro = flags & VGPU_HOST_READ_ONLY;
	struct lb_host *b;
	int ret = 0;

	if (!loopfront_host_mem(d->lf) || !loopfront_persistent(d->lf))
		return -EOPNOTSUPP;
	if (segs < VGPUIF_MAX_DIRECT_SEGMENTS)
		segs = VGPUIF_MAX_DIRECT_SEGMENTS;
	if (segs > VGPUIF_MAX_INDIRECT_SEGMENTS)
		segs = VGPUIF_MAX_INDIRECT_SEGMENTS;
	chunk = (size_t)segs * VGPUIF_PAGE_SIZE;
	pthread_mutex_lock(&d->lock);
	b = host_find_locked(d, vgpu_ptr64(p), len);
	if (b) {
		start = (size_t)((uint8_t *)p - b->ptr) & ~(size_t)(VGPUIF_PAGE_SIZE - 1);
		end = ((size_t)((uint8_t *)p - b->ptr) + len + VGPUIF_PAGE_SIZE - 1) &
		      ~(size_t)(VGPUIF_PAGE_SIZE - 1);
		for (unsigned int i = 0; i < b->nregs && !ret; i++)
			if (b->regs[i].gen == gen && b->regs[i].off < end &&
			    start < b->regs[i].off + b->regs[i].len)
				ret = -EEXIST;
		if (!ret) {
			size_t n = b->nregs + (end - start + chunk - 1) / chunk;
			struct lb_hreg *nr = realloc(b->regs, n * sizeof(*nr));

			if (nr)
				b->regs = nr;
			else
				ret = -ENOMEM;
		}
	}
	pthread_mutex_unlock(&d->lock);
	if (!b)
		return -EINVAL;
	if (ret)
		return ret;
	/* the block's pages end at its page-rounded size (it owns them) */
	for (off = start; off < end && !ret; off += chunk) {
		size_t n = end - off < chunk ? end - off : chunk;
		struct loopfront_region g = { b->buf, off, n, !ro };
		struct loopfront_req q;
		struct vgpuif_response rsp;

		if (off + n > loopfront_buf_size(b->buf)) {
			ret = -EINVAL;
			break;
		}
		memset(&q, 0, sizeof(q));
		q.op = VGPUIF_OP_HOST_REGISTER;
		q.args.host_register.length = n;
		q.args.host_register.flags = ro ? VGPUIF_HOST_READ_ONLY : 0;
		q.regs = &g;
		q.nregs = 1;
		ret = loopfront_call_req(d->lf, &q, &rsp);
		if (!ret)
			ret = vgpufront_rsp_status(rsp.status);
		if (ret)
			break;
		pthread_mutex_lock(&d->lock);
		b->regs[b->nregs++] = (struct lb_hreg){ start, off, n, rsp.result[0],
							gen, ro };
		pthread_mutex_unlock(&d->lock);
	}
	if (ret)
		hreg_drop(d, b, start, false);
	return ret;
}

static int lb_host_unregister(vgpu_t *v, void *p)
{
	struct lb_dev *d = H(v)->dev;
	struct lb_host *b;
	size_t group = 0;
	bool found = false;

	pthread_mutex_lock(&d->lock);
	b = host_find_locked(d, vgpu_ptr64(p), 1);
	if (b) {
		group = (size_t)((uint8_t *)p - b->ptr) & ~(size_t)(VGPUIF_PAGE_SIZE - 1);
		for (unsigned int i = 0; i < b->nregs; i++)
			if (b->regs[i].group == group)
				found = true;
	}
	pthread_mutex_unlock(&d->lock);
	if (!found)
		return -EINVAL;
	hreg_drop(d, b, group, false);
	return 0;
}

/* Bytes from p on (at most len) inside one registered region; 0: none. */
static uint64_t lb_host_reg_span(vgpu_t *v, const void *p, uint64_t len)
{
	struct lb_dev *d = H(v)->dev;
	const struct lb_hreg *h = NULL;
	struct lb_host *b;
	uint64_t span = 0;

	if (!loopfront_host_mem(d->lf))
		return 0;
	pthread_mutex_lock(&d->lock);
	b = host_find_locked(d, vgpu_ptr64(p), 1);
	if (b)
		h = hreg_find_locked(d, b, (size_t)((const uint8_t *)p - b->ptr), 1);
	if (h) {
		span = h->off + h->len - (uint64_t)((const uint8_t *)p - b->ptr);
		if (span > len)
			span = len;
	}
	pthread_mutex_unlock(&d->lock);
	return span;
}

static int lb_host_contains(vgpu_t *v, const void *p, size_t len)
{
	struct lb_dev *d = H(v)->dev;
	int in;

	pthread_mutex_lock(&d->lock);
	in = host_find_locked(d, vgpu_ptr64(p), len) != NULL;
	pthread_mutex_unlock(&d->lock);
	return in;
}

const struct vgpu_transport vgpu_transport_loopback = {
	.name = "loopback",
	.open = lb_open,
	.open_fd = lb_open_fd,
	.close = lb_close,
	.call = lb_call,
	.query = lb_query,
	.limits = lb_limits,
	.host_alloc = lb_host_alloc,
	.host_free = lb_host_free,
	.host_contains = lb_host_contains,
	.host_register = lb_host_register,
	.host_unregister = lb_host_unregister,
	.host_reg_span = lb_host_reg_span,
	.fd = lb_fd,
};
