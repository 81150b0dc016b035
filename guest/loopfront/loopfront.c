/* SPDX-License-Identifier: MIT */
/*
 * loopfront.c - the userspace vgpu frontend: XenStore handshake, ring and
 * grant management, request building (direct, indirect, persistent
 * grants), response checking, synchronous and asynchronous calls.
 * Ordered like xen-blkfront.c: state, helpers, ring, handshake, calls.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "loopback.h"
#include "lf-internal.h"

/* Standard XenbusState values (xen/io/xenbus.h). */
enum { XS_UNKNOWN, XS_INITIALISING, XS_INITWAIT, XS_INITIALISED,
       XS_CONNECTED, XS_CLOSING, XS_CLOSED };

#define LF_DEFAULT_ORDER    2
#define LF_DEFAULT_TIMEOUT  60000
#define LF_ID_BITS          16      /* low bits of a wire id: shadow slot */
/* Persistent grants kept at most; beyond, data pages get one-shot grants. */
#define LF_MAX_PERSISTENT   (LB_NR_GRANTS / 2)

struct loopfront_buf {
	struct loopfront_buf *next;
	uint8_t *ptr;
	size_t size;
	uint64_t frame;
	uint32_t npages;
	int32_t *gref_ro;       /* persistent grants per page, -1: none */
	int32_t *gref_rw;
};

/* One outstanding request (blkfront's shadow). */
struct lf_shadow {
	uint64_t id;
	bool in_use;
	bool done;
	struct vgpuif_response rsp;
	uint32_t *oneshot;      /* grants to revoke when it completes */
	uint32_t noneshot;
	int64_t ind_frame;      /* its indirect pages, granted read-only */
	uint32_t ind_gref[VGPUIF_MAX_INDIRECT_PAGES];
};

struct loopfront {
	struct loopfront_opts o;
	struct lb_world *w;
	struct lb_xs *xs;
	struct lb_evtchn *ev;
	uint8_t *mem;
	char fe_path[LB_PATH_MAX];
	char be_path[LB_PATH_MAX];
	uint32_t be_domid;
	int be_state;

	unsigned int order;
	int64_t ring_frame;
	uint32_t ring_gref[1u << VGPUIF_MAX_RING_PAGE_ORDER];
	struct vgpuif_front_ring ring;
	int port;
	uint32_t max_indirect;
	bool persistent;
	unsigned int npersistent;

	struct lf_shadow *shadow;
	unsigned int nshadow;
	unsigned int inflight;
	uint64_t seq;
	unsigned int *done_q;   /* completion FIFO of shadow slots */
	unsigned int done_head, done_n;

	uint32_t *deferred;     /* grants still mapped when revoked */
	unsigned int ndeferred, cap_deferred;
	struct loopfront_buf *bufs;
	struct loopfront_buf *scratch;

	bool broken;
	bool closed;            /* the backend closed on us */
	bool consume;
	char err[256];
};

static void lf_err(struct loopfront *lf, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void lf_err(struct loopfront *lf, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(lf->err, sizeof(lf->err), fmt, ap);
	va_end(ap);
}

void lf_set_error(struct loopfront *lf, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(lf->err, sizeof(lf->err), fmt, ap);
	va_end(ap);
}

struct loopfront_buf *lf_scratch(struct loopfront *lf)
{
	if (!lf->scratch)
		lf->scratch = loopfront_buf_alloc(lf, LB_PAGE_SIZE);
	return lf->scratch;
}

static void lf_break(struct loopfront *lf, const char *why)
{
	if (!lf->broken)
		lf_err(lf, "backend broke the protocol: %s", why);
	lf->broken = true;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void loopfront_opts_init(struct loopfront_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->domid = 1;
	o->ring_order = -1;
	o->persistent = -1;
}

/* ---------------------------------------------------------- store */

static int xs_read_u64(struct loopfront *lf, const char *dir, const char *key,
		       uint64_t *out)
{
	char path[2 * LB_PATH_MAX + 8], *v, *end;
	unsigned long long x;

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	v = lb_xs_read(lf->xs, LB_XBT_NULL, path, NULL);
	if (!v)
		return -errno;
	errno = 0;
	x = strtoull(v, &end, 10);
	if (errno || end == v || *end || v[0] == '-') {
		free(v);
		return -EINVAL;
	}
	free(v);
	*out = x;
	return 0;
}

static int xs_printf(struct loopfront *lf, uint32_t xbt, const char *dir,
		     const char *key, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static int xs_printf(struct loopfront *lf, uint32_t xbt, const char *dir,
		     const char *key, const char *fmt, ...)
{
	char path[2 * LB_PATH_MAX + 8], val[128];
	va_list ap;

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	return lb_xs_write(lf->xs, xbt, path, val);
}

static int switch_state(struct loopfront *lf, int state)
{
	return xs_printf(lf, LB_XBT_NULL, lf->fe_path, VGPUIF_XS_STATE, "%d",
			 state);
}

/* The backend's state now; XS_CLOSED when its directory is gone. */
static int backend_state(struct loopfront *lf)
{
	uint64_t v;
	int r = xs_read_u64(lf, lf->be_path, VGPUIF_XS_STATE, &v);

	if (r == -ENOENT || r == -EACCES)
		return XS_CLOSED;
	if (r || v > XS_CLOSED)
		return XS_UNKNOWN;
	return (int)v;
}

/* Drain watch events; refresh be_state. */
static void drain_watches(struct loopfront *lf)
{
	char *p, *t;

	while (lb_xs_read_watch(lf->xs, &p, &t) == 1) {
		free(p);
		free(t);
	}
	lf->be_state = backend_state(lf);
}

/* Wait (watching the backend) until pred holds or the timeout passes. */
static int wait_backend(struct loopfront *lf, bool (*pred)(int state),
			int timeout_ms)
{
	int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;

	for (;;) {
		struct pollfd p = { .fd = lb_xs_fd(lf->xs), .events = POLLIN };
		int left = -1;

		drain_watches(lf);
		if (pred(lf->be_state))
			return 0;
		if (deadline >= 0) {
			int64_t l = deadline - now_ms();

			if (l <= 0)
				return -ETIMEDOUT;
			left = (int)l;
		}
		if (poll(&p, 1, left) < 0 && errno != EINTR)
			return -errno;
	}
}

static bool is_initwait(int s)
{
	return s == XS_INITWAIT;
}

static bool is_connected_or_closing(int s)
{
	return s == XS_CONNECTED || s == XS_CLOSING || s == XS_CLOSED;
}

static bool is_closed_or_idle(int s)
{
	return s == XS_CLOSING || s == XS_CLOSED || s == XS_INITWAIT ||
	       s == XS_INITIALISING;
}

/* ---------------------------------------------------------- grants */

static void revoke(struct loopfront *lf, uint32_t gref)
{
	int r = lb_end_access(lf->w, lf->o.domid, gref);

	if (r != -EBUSY)
		return;
	/* Still mapped by the backend: retry later, as blkfront defers. */
	if (lf->ndeferred == lf->cap_deferred) {
		unsigned int cap = lf->cap_deferred ? lf->cap_deferred * 2 : 64;
		uint32_t *d = realloc(lf->deferred, cap * sizeof(*d));

		if (!d)
			return;         /* leaked grant, as a kernel would */
		lf->deferred = d;
		lf->cap_deferred = cap;
	}
	lf->deferred[lf->ndeferred++] = gref;
}

static void retry_deferred(struct loopfront *lf)
{
	unsigned int k = 0;

	for (unsigned int i = 0; i < lf->ndeferred; i++)
		if (lb_end_access(lf->w, lf->o.domid, lf->deferred[i]) == -EBUSY)
			lf->deferred[k++] = lf->deferred[i];
	lf->ndeferred = k;
}

/* The grant ref for page pg of b, in the mode needed. */
static int buf_gref(struct loopfront *lf, struct loopfront_buf *b, uint32_t pg,
		    bool writable, struct lf_shadow *sh)
{
	int32_t *cache = writable ? b->gref_rw : b->gref_ro;
	int r;

	if (lf->persistent && cache[pg] >= 0)
		return cache[pg];
	r = lb_grant_access(lf->w, lf->o.domid, lf->be_domid, b->frame + pg,
			    !writable);
	if (r < 0)
		return r;
	if (lf->persistent && lf->npersistent < LF_MAX_PERSISTENT) {
		cache[pg] = r;
		lf->npersistent++;
	} else {
		sh->oneshot[sh->noneshot++] = (uint32_t)r;
	}
	return r;
}

/* ---------------------------------------------------------- buffers */

struct loopfront_buf *loopfront_buf_alloc(struct loopfront *lf, size_t size)
{
	struct loopfront_buf *b;
	int64_t f;
	uint64_t pages;

	if (size == 0 || size > LB_MAX_MEM) {
		errno = EINVAL;
		return NULL;
	}
	pages = (size + LB_PAGE_SIZE - 1) / LB_PAGE_SIZE;
	b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->gref_ro = malloc(pages * sizeof(int32_t));
	b->gref_rw = malloc(pages * sizeof(int32_t));
	if (!b->gref_ro || !b->gref_rw)
		goto out_free;
	for (uint64_t i = 0; i < pages; i++)
		b->gref_ro[i] = b->gref_rw[i] = -1;
	f = lb_frames_alloc(lf->w, lf->o.domid, (uint32_t)pages);
	if (f < 0) {
		errno = (int)-f;
		goto out_free_errno;
	}
	b->frame = (uint64_t)f;
	b->npages = (uint32_t)pages;
	b->size = size;
	b->ptr = lf->mem + b->frame * LB_PAGE_SIZE;
	memset(b->ptr, 0, pages * LB_PAGE_SIZE);
	b->next = lf->bufs;
	lf->bufs = b;
	return b;

out_free:
	errno = ENOMEM;
out_free_errno:
	free(b->gref_ro);
	free(b->gref_rw);
	free(b);
	return NULL;
}

static void buf_release(struct loopfront *lf, struct loopfront_buf *b)
{
	for (uint32_t i = 0; i < b->npages; i++) {
		if (b->gref_ro[i] >= 0) {
			revoke(lf, (uint32_t)b->gref_ro[i]);
			lf->npersistent--;
		}
		if (b->gref_rw[i] >= 0) {
			revoke(lf, (uint32_t)b->gref_rw[i]);
			lf->npersistent--;
		}
	}
	lb_frames_free(lf->w, lf->o.domid, b->frame, b->npages);
	free(b->gref_ro);
	free(b->gref_rw);
	free(b);
}

void loopfront_buf_free(struct loopfront *lf, struct loopfront_buf *b)
{
	struct loopfront_buf **pp;

	if (!b)
		return;
	for (pp = &lf->bufs; *pp && *pp != b; pp = &(*pp)->next)
		;
	if (!*pp)
		return;
	*pp = b->next;
	if (b == lf->scratch)
		lf->scratch = NULL;
	buf_release(lf, b);
}

void *loopfront_buf_ptr(const struct loopfront_buf *b)
{
	return b->ptr;
}

size_t loopfront_buf_size(const struct loopfront_buf *b)
{
	return b->size;
}

/* ------------------------------------------------------------- ring */

static void complete(struct loopfront *lf, unsigned int slot)
{
	struct lf_shadow *sh = &lf->shadow[slot];

	sh->done = true;
	for (uint32_t i = 0; i < sh->noneshot; i++)
		revoke(lf, sh->oneshot[i]);
	sh->noneshot = 0;
	lf->done_q[(lf->done_head + lf->done_n) % lf->nshadow] = slot;
	lf->done_n++;
}

/* Take every response the backend produced; false if it lied. */
static bool consume_responses(struct loopfront *lf)
{
	RING_IDX i, rp;
	int more;

	if (!lf->consume || lf->broken)
		return !lf->broken;
	do {
		rp = __atomic_load_n(&lf->ring.sring->rsp_prod, __ATOMIC_RELAXED);
		xen_rmb(); /* see responses up to rp */
		if (RING_RESPONSE_PROD_OVERFLOW(&lf->ring, rp)) {
			lf_break(lf, "response producer index ran past the "
				 "requests outstanding");
			return false;
		}
		for (i = lf->ring.rsp_cons; i != rp; i++) {
			struct vgpuif_response rsp;
			unsigned int slot;
			struct lf_shadow *sh;

			RING_COPY_RESPONSE(&lf->ring, i, &rsp);
			slot = (unsigned int)(rsp.id & ((1u << LF_ID_BITS) - 1));
			sh = slot < lf->nshadow ? &lf->shadow[slot] : NULL;
			if (!sh || !sh->in_use || sh->done || sh->id != rsp.id) {
				lf->ring.rsp_cons = i + 1;
				lf_break(lf, "response with an id that is not "
					 "outstanding");
				return false;
			}
			sh->rsp = rsp;
			complete(lf, slot);
		}
		lf->ring.rsp_cons = i;
		RING_FINAL_CHECK_FOR_RESPONSES(&lf->ring, more);
	} while (more);
	if (lf->ndeferred)
		retry_deferred(lf);
	return true;
}

/*
 * Wait for an event (or a backend state change) for at most timeout_ms.
 * 0 woke or timed out; -errno.
 */
static int wait_event(struct loopfront *lf, int timeout_ms)
{
	struct pollfd p[2] = {
		{ .fd = lb_evtchn_fd(lf->ev), .events = POLLIN },
		{ .fd = lb_xs_fd(lf->xs), .events = POLLIN },
	};
	int port, r;

	r = poll(p, 2, timeout_ms);
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	while ((port = lb_evtchn_pending(lf->ev)) >= 0)
		lb_evtchn_unmask(lf->ev, (uint32_t)port);
	if (p[1].revents) {
		drain_watches(lf);
		if (lf->be_state == XS_CLOSING || lf->be_state == XS_CLOSED) {
			if (!lf->closed)
				lf_err(lf, "the backend closed the device "
				       "(state %d)", lf->be_state);
			lf->closed = true;
		}
	}
	return 0;
}

/* Poll the ring for up to spin_us before sleeping: true if a response came. */
static bool spin_for_response(struct loopfront *lf)
{
	int64_t end_ns;
	struct timespec ts;

	if (!lf->o.spin_us)
		return false;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	end_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec +
		 (int64_t)lf->o.spin_us * 1000;
	for (;;) {
		if (__atomic_load_n(&lf->ring.sring->rsp_prod, __ATOMIC_ACQUIRE) !=
		    lf->ring.rsp_cons)
			return true;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		if ((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec >= end_ns)
			return false;
		__builtin_ia32_pause();
	}
}

static int release_slot(struct loopfront *lf, unsigned int slot,
			struct vgpuif_response *rsp)
{
	struct lf_shadow *sh = &lf->shadow[slot];

	if (rsp)
		*rsp = sh->rsp;
	sh->in_use = false;
	sh->done = false;
	lf->inflight--;
	return 1;
}

/* ------------------------------------------------------------ submit */

static int free_slot(struct loopfront *lf)
{
	for (unsigned int i = 0; i < lf->nshadow; i++)
		if (!lf->shadow[i].in_use)
			return (int)i;
	return -EAGAIN;
}

static int ensure_indirect(struct loopfront *lf, struct lf_shadow *sh)
{
	int64_t f;

	if (sh->ind_frame > 0)
		return 0;
	f = lb_frames_alloc(lf->w, lf->o.domid, VGPUIF_MAX_INDIRECT_PAGES);
	if (f < 0)
		return (int)f;
	for (uint32_t i = 0; i < VGPUIF_MAX_INDIRECT_PAGES; i++) {
		int r = lb_grant_access(lf->w, lf->o.domid, lf->be_domid,
					(uint64_t)f + i, true);

		if (r < 0) {
			while (i--)
				revoke(lf, sh->ind_gref[i]);
			lb_frames_free(lf->w, lf->o.domid, (uint64_t)f,
				       VGPUIF_MAX_INDIRECT_PAGES);
			return r;
		}
		sh->ind_gref[i] = (uint32_t)r;
	}
	sh->ind_frame = f;
	return 0;
}

int loopfront_submit(struct loopfront *lf, uint8_t op, uint32_t ctx,
		     const union vgpuif_args *args,
		     const struct loopfront_region *regs, unsigned int nregs,
		     uint64_t *id)
{
	struct vgpuif_request req;
	struct vgpuif_segment *segs;
	struct lf_shadow *sh;
	uint64_t nseg = 0;
	unsigned int k = 0;
	bool indirect;
	int slot, notify, r;

	if (lf->broken)
		return -EIO;
	if (lf->closed)
		return -ESHUTDOWN;
	if (nregs && !regs)
		return -EINVAL;
	for (unsigned int i = 0; i < nregs; i++) {
		const struct loopfront_region *g = &regs[i];

		if (!g->buf || g->length == 0 || g->offset > g->buf->size ||
		    g->length > g->buf->size - g->offset) {
			lf_err(lf, "region %u lies outside its buffer", i);
			return -EINVAL;
		}
		nseg += vgpuif_pages_spanned(g->offset, g->length);
	}
	indirect = nseg > VGPUIF_MAX_DIRECT_SEGMENTS;
	if (indirect && nseg > (lf->max_indirect < VGPUIF_MAX_INDIRECT_SEGMENTS ?
				lf->max_indirect : VGPUIF_MAX_INDIRECT_SEGMENTS)) {
		lf_err(lf, "%" PRIu64 " segments: more than the backend takes "
		       "in one request (%u)", nseg,
		       lf->max_indirect ? lf->max_indirect :
		       VGPUIF_MAX_DIRECT_SEGMENTS);
		return -E2BIG;
	}
	consume_responses(lf);
	if (RING_FULL(&lf->ring))
		return -EAGAIN;
	slot = free_slot(lf);
	if (slot < 0)
		return slot;
	sh = &lf->shadow[slot];
	memset(&req, 0, sizeof(req));
	if (indirect) {
		r = ensure_indirect(lf, sh);
		if (r)
			return r;
		segs = (struct vgpuif_segment *)(lf->mem +
			(uint64_t)sh->ind_frame * LB_PAGE_SIZE);
		req.flags = VGPUIF_F_INDIRECT;
		for (uint32_t i = 0; i < vgpuif_indirect_pages((uint32_t)nseg); i++)
			req.u.indirect_gref[i] = sh->ind_gref[i];
	} else {
		segs = req.u.seg;
	}
	sh->noneshot = 0;
	if (nseg) {
		uint32_t *o = realloc(sh->oneshot, nseg * sizeof(uint32_t));

		if (!o)
			return -ENOMEM;
		sh->oneshot = o;
	}
	for (unsigned int i = 0; i < nregs; i++) {
		const struct loopfront_region *g = &regs[i];
		size_t cur = g->offset, left = g->length;

		while (left) {
			uint32_t pg = (uint32_t)(cur / LB_PAGE_SIZE);
			uint32_t off = (uint32_t)(cur % LB_PAGE_SIZE);
			uint32_t l = LB_PAGE_SIZE - off;

			if (l > left)
				l = (uint32_t)left;
			r = buf_gref(lf, g->buf, pg, g->backend_writes, sh);
			if (r < 0)
				goto out_ungrant;
			segs[k].gref = (uint32_t)r;
			segs[k].offset = (uint16_t)off;
			segs[k].length = (uint16_t)l;
			k++;
			cur += l;
			left -= l;
		}
	}
	sh->id = ((++lf->seq) << LF_ID_BITS) | (uint64_t)slot;
	sh->in_use = true;
	sh->done = false;
	req.id = sh->id;
	req.op = op;
	req.nr_segments = (uint16_t)nseg;
	req.ctx = ctx;
	if (args)
		req.args = *args;
	*RING_GET_REQUEST(&lf->ring, lf->ring.req_prod_pvt) = req;
	lf->ring.req_prod_pvt++;
	lf->inflight++;
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&lf->ring, notify);
	if (notify)
		lb_evtchn_notify(lf->ev, (uint32_t)lf->port);
	if (id)
		*id = sh->id;
	return 0;

out_ungrant:
	for (uint32_t i = 0; i < sh->noneshot; i++)
		revoke(lf, sh->oneshot[i]);
	sh->noneshot = 0;
	lf_err(lf, "cannot grant a data page: %s", strerror(-r));
	return r;
}

int loopfront_poll(struct loopfront *lf, struct vgpuif_response *rsp,
		   int timeout_ms)
{
	int64_t deadline;

	if (timeout_ms < 0)
		timeout_ms = lf->o.timeout_ms;
	deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	for (;;) {
		int left = -1, r;

		if (!consume_responses(lf))
			return -EIO;
		if (lf->done_n) {
			unsigned int slot = lf->done_q[lf->done_head];

			lf->done_head = (lf->done_head + 1) % lf->nshadow;
			lf->done_n--;
			return release_slot(lf, slot, rsp);
		}
		if (lf->closed)
			return -ESHUTDOWN;
		if (lf->inflight == 0)
			return -ENOENT;
		if (deadline >= 0) {
			int64_t l = deadline - now_ms();

			if (l <= 0)
				return 0;
			left = (int)l;
		}
		if (spin_for_response(lf))
			continue;
		r = wait_event(lf, left);
		if (r)
			return r;
	}
}

unsigned int loopfront_inflight(const struct loopfront *lf)
{
	return lf->inflight;
}

int loopfront_call(struct loopfront *lf, uint8_t op, uint32_t ctx,
		   const union vgpuif_args *args,
		   const struct loopfront_region *regs, unsigned int nregs,
		   struct vgpuif_response *rsp)
{
	int64_t deadline = lf->o.timeout_ms < 0 ? -1 : now_ms() + lf->o.timeout_ms;
	uint64_t id;
	unsigned int slot;
	int r;

	/* Wait for room when async requests fill the ring. */
	while ((r = loopfront_submit(lf, op, ctx, args, regs, nregs, &id)) ==
	       -EAGAIN) {
		r = wait_event(lf, 100);
		if (r)
			return r;
		if (!consume_responses(lf))
			return -EIO;
		if (deadline >= 0 && now_ms() > deadline)
			return -ETIMEDOUT;
	}
	if (r)
		return r;
	slot = (unsigned int)(id & ((1u << LF_ID_BITS) - 1));
	for (;;) {
		int left = -1;

		if (!consume_responses(lf))
			return -EIO;
		if (lf->shadow[slot].done) {
			/* Take it out of the completion FIFO. */
			unsigned int n = lf->done_n, k = 0;
			unsigned int *tmp = lf->done_q;

			for (unsigned int i = 0; i < n; i++) {
				unsigned int s = tmp[(lf->done_head + i) %
						     lf->nshadow];

				if (s != slot)
					tmp[(lf->done_head + k++) %
					    lf->nshadow] = s;
			}
			lf->done_n = k;
			release_slot(lf, slot, rsp);
			if (rsp->status)
				lf_err(lf, "%s: %s (%d)", vgpuif_op_name(op),
				       vgpuif_status_str(rsp->status),
				       rsp->status);
			return 0;
		}
		if (lf->closed)
			return -ESHUTDOWN;
		if (deadline >= 0) {
			int64_t l = deadline - now_ms();

			if (l <= 0) {
				lf_err(lf, "%s: no response within %d ms",
				       vgpuif_op_name(op), lf->o.timeout_ms);
				return -ETIMEDOUT;
			}
			left = (int)l;
		}
		if (spin_for_response(lf))
			continue;
		r = wait_event(lf, left);
		if (r)
			return r;
	}
}

/* ---------------------------------------------------------- handshake */

static int publish(struct loopfront *lf)
{
	uint32_t xbt;
	int r;

	for (;;) {
		r = lb_xs_transaction_start(lf->xs, &xbt);
		if (r)
			return r;
		if (lf->order == 0) {
			r = xs_printf(lf, xbt, lf->fe_path, VGPUIF_XS_RING_REF,
				      "%u", lf->ring_gref[0]);
		} else {
			r = xs_printf(lf, xbt, lf->fe_path,
				      VGPUIF_XS_RING_PAGE_ORDER, "%u", lf->order);
			for (unsigned int i = 0; !r && i < (1u << lf->order); i++) {
				char key[32];

				snprintf(key, sizeof(key), VGPUIF_XS_RING_REF_FMT, i);
				r = xs_printf(lf, xbt, lf->fe_path, key, "%u",
					      lf->ring_gref[i]);
			}
		}
		if (!r)
			r = xs_printf(lf, xbt, lf->fe_path,
				      VGPUIF_XS_EVENT_CHANNEL, "%d", lf->port);
		if (!r)
			r = xs_printf(lf, xbt, lf->fe_path, VGPUIF_XS_PROTOCOL,
				      "%s", VGPUIF_PROTOCOL);
		if (!r)
			r = xs_printf(lf, xbt, lf->fe_path,
				      VGPUIF_XS_FEATURE_PERSISTENT, "%d",
				      lf->o.persistent != 0);
		if (r) {
			lb_xs_transaction_end(lf->xs, xbt, true);
			return r;
		}
		r = lb_xs_transaction_end(lf->xs, xbt, false);
		if (r != -EAGAIN)
			return r;
	}
}

static int setup_ring(struct loopfront *lf)
{
	unsigned int pages = 1u << lf->order;
	struct vgpuif_sring *s;
	int r;

	lf->ring_frame = lb_frames_alloc(lf->w, lf->o.domid, pages);
	if (lf->ring_frame < 0)
		return (int)lf->ring_frame;
	s = (struct vgpuif_sring *)(lf->mem +
				    (uint64_t)lf->ring_frame * LB_PAGE_SIZE);
	memset(s, 0, (size_t)pages * LB_PAGE_SIZE);
	SHARED_RING_INIT(s);
	FRONT_RING_INIT(&lf->ring, s, (size_t)pages * LB_PAGE_SIZE);
	for (unsigned int i = 0; i < pages; i++) {
		r = lb_grant_access(lf->w, lf->o.domid, lf->be_domid,
				    (uint64_t)lf->ring_frame + i, false);
		if (r < 0)
			return r;
		lf->ring_gref[i] = (uint32_t)r;
	}
	lf->nshadow = RING_SIZE(&lf->ring);
	lf->shadow = calloc(lf->nshadow, sizeof(*lf->shadow));
	lf->done_q = calloc(lf->nshadow, sizeof(*lf->done_q));
	if (!lf->shadow || !lf->done_q)
		return -ENOMEM;
	r = lb_evtchn_alloc_unbound(lf->ev, lf->be_domid);
	if (r < 0)
		return r;
	lf->port = r;
	return 0;
}

/* Give back the ring, its grants, event channel and request state. */
static void ring_release(struct loopfront *lf)
{
	for (unsigned int i = 0; lf->shadow && i < lf->nshadow; i++) {
		struct lf_shadow *sh = &lf->shadow[i];

		for (uint32_t k = 0; k < sh->noneshot; k++)
			revoke(lf, sh->oneshot[k]);
		if (sh->ind_frame > 0) {
			for (uint32_t k = 0; k < VGPUIF_MAX_INDIRECT_PAGES; k++)
				revoke(lf, sh->ind_gref[k]);
			lb_frames_free(lf->w, lf->o.domid,
				       (uint64_t)sh->ind_frame,
				       VGPUIF_MAX_INDIRECT_PAGES);
		}
		free(sh->oneshot);
	}
	if (lf->ring_frame > 0) {
		for (unsigned int i = 0; i < (1u << lf->order); i++)
			if (lf->ring_gref[i])
				revoke(lf, lf->ring_gref[i]);
		lb_frames_free(lf->w, lf->o.domid, (uint64_t)lf->ring_frame,
			       1u << lf->order);
	}
	if (lf->port > 0)
		lb_evtchn_unbind(lf->ev, (uint32_t)lf->port);
	free(lf->shadow);
	free(lf->done_q);
	lf->shadow = NULL;
	lf->done_q = NULL;
	lf->nshadow = lf->inflight = lf->done_n = lf->done_head = 0;
	lf->ring_frame = 0;
	memset(lf->ring_gref, 0, sizeof(lf->ring_gref));
	memset(&lf->ring, 0, sizeof(lf->ring));
	lf->port = -1;
}

static void teardown(struct loopfront *lf)
{
	while (lf->bufs) {
		struct loopfront_buf *b = lf->bufs;

		lf->bufs = b->next;
		buf_release(lf, b);
	}
	ring_release(lf);
	free(lf->deferred);
	lb_evtchn_close(lf->ev);
	lb_xs_close(lf->xs);
	lb_world_close(lf->w);
	free(lf);
}

/*
 * The handshake from Initialising to Connected (xenbus's talk_to_backend
 * and connect): negotiate, set up and publish the ring, wait for the
 * backend.
 */
static int lf_connect(struct loopfront *lf)
{
	uint64_t v;
	int r;

	/* A new frontend instance starts from Initialising. */
	r = switch_state(lf, XS_INITIALISING);
	if (r) {
		lf_err(lf, "cannot write %s/state: %s", lf->fe_path,
		       strerror(-r));
		return r;
	}
	r = wait_backend(lf, is_initwait, lf->o.timeout_ms);
	if (r) {
		lf_err(lf, "the backend did not reach InitWait (state %d) "
		       "within %d ms: is vgpu-backend --domid %u running?",
		       lf->be_state, lf->o.timeout_ms, lf->o.domid);
		return r;
	}
	/* Negotiate: the backend's limits cap our wishes. */
	v = 0;
	(void)xs_read_u64(lf, lf->be_path, VGPUIF_XS_MAX_RING_PAGE_ORDER, &v);
	lf->order = lf->o.ring_order < 0 ? LF_DEFAULT_ORDER :
		    (unsigned int)lf->o.ring_order;
	if (lf->order > v)
		lf->order = (unsigned int)v;
	if (lf->order > VGPUIF_MAX_RING_PAGE_ORDER)
		lf->order = VGPUIF_MAX_RING_PAGE_ORDER;
	v = 0;
	(void)xs_read_u64(lf, lf->be_path, VGPUIF_XS_FEATURE_MAX_INDIRECT, &v);
	lf->max_indirect = v > VGPUIF_MAX_INDIRECT_SEGMENTS ?
			   VGPUIF_MAX_INDIRECT_SEGMENTS : (uint32_t)v;
	v = 0;
	(void)xs_read_u64(lf, lf->be_path, VGPUIF_XS_FEATURE_PERSISTENT, &v);
	lf->persistent = lf->o.persistent != 0 && v == 1;

	r = setup_ring(lf);
	if (r) {
		lf_err(lf, "cannot set up the ring: %s", strerror(-r));
		return r;
	}
	r = publish(lf);
	if (!r)
		r = switch_state(lf, XS_INITIALISED);
	if (r) {
		lf_err(lf, "cannot publish the ring in XenStore: %s",
		       strerror(-r));
		return r;
	}
	r = wait_backend(lf, is_connected_or_closing, lf->o.timeout_ms);
	if (!r && lf->be_state != XS_CONNECTED)
		r = -ECONNREFUSED;
	if (r) {
		lf_err(lf, "the backend did not connect (state %d): %s; see "
		       "its log", lf->be_state, strerror(-r));
		switch_state(lf, XS_CLOSED);
		return r;
	}
	return switch_state(lf, XS_CONNECTED);
}

struct loopfront *loopfront_open(const struct loopfront_opts *o, char *why,
				 size_t whylen)
{
	struct loopfront *lf;
	uint64_t v;
	char path[2 * LB_PATH_MAX + 8], *s;
	int r;

	lf = calloc(1, sizeof(*lf));
	if (!lf) {
		if (why)
			snprintf(why, whylen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	lf->o = *o;
	if (lf->o.timeout_ms == 0)
		lf->o.timeout_ms = LF_DEFAULT_TIMEOUT;
	if (!lf->o.spin_us && getenv("VGPU_LOOPFRONT_SPIN_US"))
		lf->o.spin_us = (unsigned int)strtoul(
			getenv("VGPU_LOOPFRONT_SPIN_US"), NULL, 10);
	if (lf->o.spin_us > 1000000)
		lf->o.spin_us = 1000000;
	lf->consume = true;
	lf->port = -1;
	lf->w = lb_world_open(o->world_dir, false);
	if (!lf->w) {
		r = -errno;
		lf_err(lf, "cannot open the loopback world %s: %s",
		       o->world_dir ? o->world_dir : lb_default_dir(),
		       strerror(-r));
		goto out;
	}
	if (o->domid == 0 || lb_domain_alive(lf->w, o->domid) != 1) {
		r = -ESRCH;
		lf_err(lf, "domain %u does not exist in the world (or is "
		       "dom0)", o->domid);
		goto out;
	}
	lf->xs = lb_xs_open(lf->w, o->domid);
	lf->ev = lf->xs ? lb_evtchn_open(lf->w, o->domid) : NULL;
	lf->mem = lf->ev ? lb_mem_map(lf->w, o->domid, NULL) : NULL;
	if (!lf->mem) {
		r = -errno;
		lf_err(lf, "cannot attach to domain %u: %s", o->domid,
		       strerror(-r));
		goto out;
	}
	snprintf(lf->fe_path, sizeof(lf->fe_path),
		 "/local/domain/%u/device/%s/%u", o->domid,
		 VGPUIF_XS_DEVICE_TYPE, o->devid);
	snprintf(path, sizeof(path), "%s/backend", lf->fe_path);
	s = lb_xs_read(lf->xs, LB_XBT_NULL, path, NULL);
	if (!s || !*s || strlen(s) >= sizeof(lf->be_path)) {
		free(s);
		r = -ENODEV;
		lf_err(lf, "no vgpu device %u attached to domain %u (%s "
		       "missing)", o->devid, o->domid, path);
		goto out;
	}
	snprintf(lf->be_path, sizeof(lf->be_path), "%s", s);
	free(s);
	r = xs_read_u64(lf, lf->fe_path, "backend-id", &v);
	if (r || v > LB_MAX_DOMID) {
		r = -ENODEV;
		lf_err(lf, "%s/backend-id is missing or garbage", lf->fe_path);
		goto out;
	}
	lf->be_domid = (uint32_t)v;

	r = lb_xs_watch(lf->xs, lf->be_path, "backend");
	if (r) {
		lf_err(lf, "cannot watch %s: %s", lf->be_path, strerror(-r));
		goto out;
	}
	r = lf_connect(lf);
	if (r)
		goto out;
	lf->err[0] = '\0';
	return lf;

out:
	if (why)
		snprintf(why, whylen, "%s", lf->err);
	if (lf->xs)
		teardown(lf);
	else {
		if (lf->w)
			lb_world_close(lf->w);
		free(lf);
	}
	errno = -r;
	return NULL;
}

int loopfront_reconnect(struct loopfront *lf)
{
	int r;

	/* Whatever was in flight is lost with the old ring. */
	r = wait_backend(lf, is_closed_or_idle, lf->o.timeout_ms);
	if (r) {
		lf_err(lf, "the backend did not let go of the old ring in time");
		return r;
	}
	switch_state(lf, XS_CLOSED);
	ring_release(lf);
	retry_deferred(lf);
	lf->closed = false;
	lf->broken = false;
	r = lf_connect(lf);
	if (r) {
		lf->closed = true;
		return r;
	}
	lf->err[0] = '\0';
	return 0;
}

int loopfront_close(struct loopfront *lf)
{
	int timeout, r = 0;

	if (!lf)
		return 0;
	timeout = lf->o.timeout_ms;
	/* Closing: the backend unmaps everything, then says so. */
	if (!switch_state(lf, XS_CLOSING)) {
		r = wait_backend(lf, is_closed_or_idle, timeout);
		if (r)
			lf_err(lf, "the backend did not close in time");
	}
	switch_state(lf, XS_CLOSED);
	lb_xs_unwatch(lf->xs, lf->be_path, "backend");
	retry_deferred(lf);
	teardown(lf);
	return r;
}

/* --------------------------------------------------------- accessors */

unsigned int loopfront_ring_order(const struct loopfront *lf)
{
	return lf->order;
}

unsigned int loopfront_ring_size(const struct loopfront *lf)
{
	return lf->nshadow;
}

uint32_t loopfront_max_indirect(const struct loopfront *lf)
{
	return lf->max_indirect;
}

bool loopfront_persistent(const struct loopfront *lf)
{
	return lf->persistent;
}

uint32_t loopfront_domid(const struct loopfront *lf)
{
	return lf->o.domid;
}

const char *loopfront_backend_path(const struct loopfront *lf)
{
	return lf->be_path;
}

const char *loopfront_frontend_path(const struct loopfront *lf)
{
	return lf->fe_path;
}

char *loopfront_backend_read(struct loopfront *lf, const char *key)
{
	char path[2 * LB_PATH_MAX + 8];

	snprintf(path, sizeof(path), "%s/%s", lf->be_path, key);
	return lb_xs_read(lf->xs, LB_XBT_NULL, path, NULL);
}

bool loopfront_broken(const struct loopfront *lf)
{
	return lf->broken;
}

const char *loopfront_error(const struct loopfront *lf)
{
	return lf->err;
}

/* --------------------------------------------------------------- RAW */

int loopfront_raw_write_slot(struct loopfront *lf, uint32_t idx,
			     const void *bytes, size_t len)
{
	if (len > sizeof(struct vgpuif_request))
		return -E2BIG;
	memcpy(RING_GET_REQUEST(&lf->ring, idx), bytes, len);
	return 0;
}

uint32_t loopfront_raw_req_prod_pvt(const struct loopfront *lf)
{
	return lf->ring.req_prod_pvt;
}

void loopfront_raw_set_req_prod(struct loopfront *lf, uint32_t value)
{
	xen_wmb(); /* slots before the index */
	lf->ring.sring->req_prod = value;
	xen_mb();
}

int loopfront_raw_push(struct loopfront *lf, const struct vgpuif_request *req)
{
	int notify;

	*RING_GET_REQUEST(&lf->ring, lf->ring.req_prod_pvt) = *req;
	lf->ring.req_prod_pvt++;
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&lf->ring, notify);
	if (notify)
		return lb_evtchn_notify(lf->ev, (uint32_t)lf->port);
	return 0;
}

int loopfront_raw_notify(struct loopfront *lf, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		int r = lb_evtchn_notify(lf->ev, (uint32_t)lf->port);

		if (r)
			return r;
	}
	return 0;
}

int loopfront_raw_next_response(struct loopfront *lf,
				struct vgpuif_response *rsp, int timeout_ms)
{
	int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;

	for (;;) {
		RING_IDX rp = lf->ring.sring->rsp_prod;
		int left = -1, r;

		xen_rmb(); /* see responses up to rp */
		if (rp != lf->ring.rsp_cons) {
			RING_COPY_RESPONSE(&lf->ring, lf->ring.rsp_cons, rsp);
			if (lf->consume)
				lf->ring.rsp_cons++;
			return 1;
		}
		lf->ring.sring->rsp_event = lf->ring.rsp_cons + 1;
		xen_mb();
		if (lf->ring.sring->rsp_prod != rp)
			continue;
		if (deadline >= 0) {
			int64_t l = deadline - now_ms();

			if (l <= 0)
				return 0;
			left = (int)l;
		}
		r = wait_event(lf, left);
		if (r)
			return r;
	}
}

void loopfront_raw_set_consume(struct loopfront *lf, bool consume)
{
	lf->consume = consume;
}

int loopfront_raw_grant(struct loopfront *lf, struct loopfront_buf *buf,
			uint32_t page, bool readonly)
{
	if (!buf || page >= buf->npages)
		return -EINVAL;
	return lb_grant_access(lf->w, lf->o.domid, lf->be_domid,
			       buf->frame + page, readonly);
}

int loopfront_raw_end_access(struct loopfront *lf, uint32_t gref)
{
	return lb_end_access(lf->w, lf->o.domid, gref);
}

int loopfront_raw_xs_write(struct loopfront *lf, const char *key,
			   const void *value, unsigned int len)
{
	char path[2 * LB_PATH_MAX + 8];

	if (key[0] == '/')
		snprintf(path, sizeof(path), "%s", key);
	else
		snprintf(path, sizeof(path), "%s/%s", lf->fe_path, key);
	return lb_xs_write_len(lf->xs, LB_XBT_NULL, path, value, len);
}

struct lb_world *loopfront_raw_world(struct loopfront *lf)
{
	return lf->w;
}

struct lb_xs *loopfront_raw_xs(struct loopfront *lf)
{
	return lf->xs;
}

struct vgpuif_sring *loopfront_raw_sring(struct loopfront *lf)
{
	return lf->ring.sring;
}

int loopfront_raw_port(const struct loopfront *lf)
{
	return lf->port;
}
