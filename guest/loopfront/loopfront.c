/* SPDX-License-Identifier: MIT */
/*
 * loopfront.c - the userspace vgpu frontend: XenStore handshake, ring and
 * grant management, request building (direct, indirect, inline, persistent
 * grants), response checking, and the waiting that lets several threads
 * keep requests in flight on one handle. Request ids, the response checks
 * and segment arithmetic are the module's own (frontend-kmod/
 * vgpu-front-logic.h), so both frontends judge a backend the same way.
 * Ordered like xen-blkfront.c: state, helpers, grants, buffers, ring,
 * submission, waiting, calls, handshake, accessors. (Malicious-frontend
 * tests write the ring by hand with their own raw frontend,
 * tests/integration/tfront.c, not with this one.)
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/sysinfo.h>

#include "loopback.h"
#include "loopfront.h"
#include "vgpu-front-logic.h"

/* Standard XenbusState values (xen/io/xenbus.h). */
enum { XS_UNKNOWN, XS_INITIALISING, XS_INITWAIT, XS_INITIALISED,
       XS_CONNECTED, XS_CLOSING, XS_CLOSED };

#define LF_DEFAULT_ORDER    2
#define LF_DEFAULT_TIMEOUT  60000
/* Persistent grants kept at most; beyond, data pages get one-shot grants. */
#define LF_MAX_PERSISTENT   (LB_NR_GRANTS / 2)
/*
 * Grants the backend still maps when we revoke them are retried this often
 * (Linux's gnttab_handle_deferred runs about once a second too). Not on
 * every response pass: a persistent grant stays mapped for the backend's
 * whole connection, so the list does not drain, and each retry costs the
 * world lock and a look at the mapper's /proc entry: with 256 such grants a
 * SYNC round trip went from 22 us to 8.8 ms (docs/performance.md).
 */
#define LF_DEFER_RETRY_NS   1000000000ll
/*
 * spin_us auto: the spin before sleeping adapts as the backend's poll-us
 * auto does (Linux's halt polling): it doubles from LF_SPIN_STEP_NS (up to
 * LF_SPIN_MAX_NS) when a sleep was ended by an answer within LF_SPIN_MAX_NS
 * of the wait's start (a longer spin would have caught it) and halves after
 * a longer wait (long kernels, an idle guest: no spinning). Only on machines
 * of at least LF_SPIN_MIN_CPUS, where a core is free for it.
 */
#define LF_SPIN_STEP_NS     20000ll
#define LF_SPIN_MAX_NS      500000ll
#define LF_SPIN_MIN_CPUS    4

struct loopfront_buf {
	struct loopfront_buf *next;
	uint8_t *ptr;
	size_t size;
	uint64_t frame;
	uint32_t npages;
	int32_t *gref_ro;       /* persistent grants per page, -1: none */
	int32_t *gref_rw;
};

/* How an outstanding request's answer is handed out. */
enum lf_owner {
	LF_POLLED,              /* to loopfront_poll, in completion order    */
	LF_WAITED,              /* a loopfront_call waits for it             */
	LF_CALLBACK,            /* to its done() callback                    */
	LF_ORPHAN,              /* its waiter gave up: drop the answer       */
};

/* One outstanding request (blkfront's shadow), by slot. */
struct lf_shadow {
	bool in_use;
	bool done;              /* answered (WAITED: not yet taken)          */
	uint8_t owner;          /* enum lf_owner                             */
	uint8_t op;
	loopfront_done_fn cb;
	void *cookie;
	struct vgpuif_response rsp;
	uint32_t *oneshot;      /* grants to revoke when it completes */
	uint32_t noneshot, cap_oneshot;
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

	/*
	 * Protects everything below, the buffers' grant caches and the use
	 * of xs and ev (one thread at a time each). Never held while
	 * sleeping on the event channel: that is the leader's job, outside.
	 */
	pthread_mutex_t lock;
	pthread_cond_t cond;    /* answers taken in, room, leader gone */
	bool leader;            /* a thread sleeps on the fds          */

	int be_state;
	unsigned int order;
	int64_t ring_frame;
	uint32_t ring_gref[1u << VGPUIF_MAX_RING_PAGE_ORDER];
	struct vgpuif_front_ring ring;
	int port;
	uint32_t max_indirect;
	uint32_t ops;
	uint32_t inline_bytes;
	bool host_mem;          /* feature-host-mem (revision 3)       */
	bool persistent;
	unsigned int npersistent;
	uint64_t gen;
	uint64_t epoch;         /* bumped when the ring goes: a waiter's
				 * slot is not its own any more      */

	struct vgpufront_slots slots;
	/* shadow and done_q have VGPUFRONT_MAX_SLOTS entries for the
	 * handle's whole life, so that no waiter ever holds a stale one;
	 * nshadow of them belong to the current ring (0: none). */
	struct lf_shadow *shadow;
	unsigned int nshadow;
	unsigned int inflight;  /* slots in use                        */
	unsigned int npolled;   /* of which LF_POLLED                  */
	unsigned int *done_q;   /* completion FIFO of LF_POLLED slots  */
	unsigned int done_head, done_n;

	uint32_t *deferred;     /* grants still mapped when revoked */
	unsigned int ndeferred, cap_deferred;
	int64_t deferred_retry_ns; /* next retry (CLOCK_MONOTONIC)   */
	uint64_t deferred_passes;  /* retry passes made (tests)      */
	struct loopfront_buf *bufs;

	bool spin_auto;         /* spin_us auto: spin_win_ns adapts    */
	int64_t spin_win_ns;    /* the leader's (only it touches it)   */

	bool broken;
	bool closed;            /* the backend closed on us */
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

static void lf_break(struct loopfront *lf, const char *why)
{
	if (!lf->broken)
		lf_err(lf, "backend broke the protocol: %s; calls fail with "
		       "EIO until it resets", why);
	lf->broken = true;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A deadline timeout_ms from now (< 0: the handle's timeout); -1 none. */
static int64_t deadline_in(const struct loopfront *lf, int timeout_ms)
{
	if (timeout_ms < 0)
		timeout_ms = lf->o.timeout_ms;
	return timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
}

void loopfront_opts_init(struct loopfront_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->domid = 1;
	o->ring_order = -1;
	o->persistent = -1;
	o->spin_us = LOOPFRONT_SPIN_AUTO;
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

/* Drain watch events; refresh be_state; notice the backend closing. */
static void drain_watches(struct loopfront *lf)
{
	char *p, *t;

	while (lb_xs_read_watch(lf->xs, &p, &t) == 1) {
		free(p);
		free(t);
	}
	lf->be_state = backend_state(lf);
	if (lf->nshadow && !lf->closed &&
	    (lf->be_state == XS_CLOSING || lf->be_state == XS_CLOSED)) {
		lf_err(lf, "the backend closed the device (state %d)",
		       lf->be_state);
		lf->closed = true;
		pthread_cond_broadcast(&lf->cond);
	}
}

/*
 * Wait (watching the backend) until pred holds or the timeout passes.
 * Handshake only: called with the lock held, nothing else in flight.
 */
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
	if (!lf->ndeferred)
		lf->deferred_retry_ns = now_ns() + LF_DEFER_RETRY_NS;
	lf->deferred[lf->ndeferred++] = gref;
}

static void retry_deferred(struct loopfront *lf)
{
	unsigned int k = 0;

	lf->deferred_passes++;
	for (unsigned int i = 0; i < lf->ndeferred; i++)
		if (lb_end_access(lf->w, lf->o.domid, lf->deferred[i]) == -EBUSY)
			lf->deferred[k++] = lf->deferred[i];
	lf->ndeferred = k;
	lf->deferred_retry_ns = now_ns() + LF_DEFER_RETRY_NS;
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
	pthread_mutex_lock(&lf->lock);
	b->next = lf->bufs;
	lf->bufs = b;
	pthread_mutex_unlock(&lf->lock);
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
	pthread_mutex_lock(&lf->lock);
	for (pp = &lf->bufs; *pp && *pp != b; pp = &(*pp)->next)
		;
	if (*pp) {
		*pp = b->next;
		buf_release(lf, b);
	}
	pthread_mutex_unlock(&lf->lock);
}

void *loopfront_buf_ptr(const struct loopfront_buf *b)
{
	return b->ptr;
}

size_t loopfront_buf_size(const struct loopfront_buf *b)
{
	return b->size;
}

struct loopfront_buf *loopfront_buf_find(struct loopfront *lf, const void *p,
					 size_t len, size_t *off)
{
	uintptr_t a = (uintptr_t)p;
	struct loopfront_buf *b;

	pthread_mutex_lock(&lf->lock);
	for (b = lf->bufs; b; b = b->next) {
		uintptr_t s = (uintptr_t)b->ptr;

		if (a >= s && a - s <= b->size && len <= b->size - (a - s)) {
			*off = a - s;
			break;
		}
	}
	pthread_mutex_unlock(&lf->lock);
	return b;
}

/* ------------------------------------------------------------- ring */

/* Give back what the request held and free its slot. */
static void release_slot(struct loopfront *lf, unsigned int slot)
{
	struct lf_shadow *sh = &lf->shadow[slot];

	for (uint32_t i = 0; i < sh->noneshot; i++)
		revoke(lf, sh->oneshot[i]);
	sh->noneshot = 0;
	if (sh->owner == LF_POLLED)
		lf->npolled--;
	sh->in_use = false;
	sh->done = false;
	sh->cb = NULL;
	vgpufront_slots_put(&lf->slots, slot);
	lf->inflight--;
}

/* The answer of slot arrived (or the connection went): hand it on. */
static void complete(struct loopfront *lf, unsigned int slot,
		     const struct vgpuif_response *rsp)
{
	struct lf_shadow *sh = &lf->shadow[slot];

	sh->rsp = *rsp;
	switch (sh->owner) {
	case LF_CALLBACK: {
		loopfront_done_fn cb = sh->cb;
		void *cookie = sh->cookie;

		release_slot(lf, slot);
		cb(cookie, rsp);
		break;
	}
	case LF_ORPHAN:
		release_slot(lf, slot);
		break;
	case LF_WAITED:
		sh->done = true;
		break;
	default:
		sh->done = true;
		lf->done_q[(lf->done_head + lf->done_n) % lf->nshadow] = slot;
		lf->done_n++;
		break;
	}
}

/*
 * Take in every response the backend produced; false if it lied. The
 * checks are the module's: the producer may not run ahead of our
 * requests, and each id must name an outstanding request of the same op.
 */
static bool consume_responses(struct loopfront *lf, unsigned int *taken)
{
	RING_IDX i, rp;
	int more;

	if (lf->broken || !lf->nshadow)
		return !lf->broken;
	do {
		rp = __atomic_load_n(&lf->ring.sring->rsp_prod, __ATOMIC_RELAXED);
		xen_rmb(); /* see responses up to rp */
		if (RING_RESPONSE_PROD_OVERFLOW(&lf->ring, rp) ||
		    !vgpufront_rsp_prod_ok(rp, lf->ring.rsp_cons,
					   lf->ring.req_prod_pvt)) {
			lf_break(lf, "response producer index ran past the "
				 "requests outstanding");
			return false;
		}
		for (i = lf->ring.rsp_cons; i != rp; i++) {
			struct vgpuif_response rsp;
			uint32_t slot;

			RING_COPY_RESPONSE(&lf->ring, i, &rsp);
			if (vgpufront_slots_lookup(&lf->slots, rsp.id, &slot) ||
			    slot >= lf->nshadow || !lf->shadow[slot].in_use ||
			    lf->shadow[slot].done) {
				lf->ring.rsp_cons = i + 1;
				lf_break(lf, "response with an id that is not "
					 "outstanding");
				return false;
			}
			if (rsp.op != lf->shadow[slot].op) {
				lf->ring.rsp_cons = i + 1;
				lf_break(lf, "response op differs from the "
					 "request's");
				return false;
			}
			complete(lf, slot, &rsp);
			(*taken)++;
		}
		lf->ring.rsp_cons = i;
		RING_FINAL_CHECK_FOR_RESPONSES(&lf->ring, more);
	} while (more);
	if (lf->ndeferred && now_ns() >= lf->deferred_retry_ns)
		retry_deferred(lf);
	return true;
}

/* consume_responses, waking the other waiters when answers came. */
static bool take_responses(struct loopfront *lf)
{
	unsigned int taken = 0;
	bool ok = consume_responses(lf, &taken);

	if (taken || !ok)
		pthread_cond_broadcast(&lf->cond);
	return ok;
}

/*
 * The connection goes (reconnect, close): every outstanding request is
 * answered -EIO locally, after the backend let go of the ring.
 */
static void fail_all(struct loopfront *lf)
{
	for (unsigned int i = 0; i < lf->nshadow; i++) {
		struct vgpuif_response rsp;

		if (!lf->shadow[i].in_use || lf->shadow[i].done)
			continue;
		memset(&rsp, 0, sizeof(rsp));
		rsp.id = lf->slots.id[i];
		rsp.op = lf->shadow[i].op;
		rsp.status = VGPUIF_RSP_EIO;
		complete(lf, i, &rsp);
	}
	pthread_cond_broadcast(&lf->cond);
}

/* --------------------------------------------------------- submission */

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

/* Checks a request on its own: regions inside their buffers, inline data. */
static int check_req(struct loopfront *lf, const struct loopfront_req *q,
		     uint64_t *nseg)
{
	*nseg = 0;
	if (q->host_mem) {
		/* a registered region names the host side: no data here */
		if (q->nregs || q->inline_len || !lf->host_mem ||
		    (q->op != VGPUIF_OP_MEMCPY_H2D && q->op != VGPUIF_OP_MEMCPY_D2H)) {
			lf_err(lf, "%s: a registered-memory copy the backend "
			       "cannot take", vgpuif_op_name(q->op));
			return -EINVAL;
		}
		return 0;
	}
	if (q->inline_len) {
		if (q->nregs || !q->inline_data ||
		    q->inline_len > lf->inline_bytes) {
			lf_err(lf, "%s: %u inline bytes, the backend takes %u",
			       vgpuif_op_name(q->op), q->inline_len,
			       lf->inline_bytes);
			return -EINVAL;
		}
		return 0;
	}
	if (q->nregs && !q->regs)
		return -EINVAL;
	for (unsigned int i = 0; i < q->nregs; i++) {
		const struct loopfront_region *g = &q->regs[i];

		if (!g->buf || g->length == 0 || g->offset > g->buf->size ||
		    g->length > g->buf->size - g->offset) {
			lf_err(lf, "region %u lies outside its buffer", i);
			return -EINVAL;
		}
		*nseg += vgpuif_pages_spanned(g->offset, g->length);
	}
	if (*nseg > UINT32_MAX)
		return -E2BIG;
	return 0;
}

/*
 * Put q on the ring. -EAGAIN when the ring or the slot table is full;
 * nothing was sent when it fails. Lock held.
 */
static int submit_locked(struct loopfront *lf, const struct loopfront_req *q,
			 enum lf_owner owner, loopfront_done_fn cb,
			 void *cookie, uint32_t *slot_out, uint64_t *id_out)
{
	struct vgpuif_request req;
	struct vgpuif_segment *segs;
	struct lf_shadow *sh;
	uint32_t nr_ind, slot;
	uint64_t nseg, id;
	unsigned int k = 0;
	int notify, r;

	if (lf->broken)
		return -EIO;
	/*
	 * What the module learns from its xenbus watch at once, we learn
	 * here: has the backend closed since we last looked? (A request put
	 * on a closing ring would only be lost.) A leader sleeping on the
	 * store's fd sees it itself.
	 */
	if (!lf->leader) {
		struct pollfd p = { .fd = lb_xs_fd(lf->xs), .events = POLLIN };

		if (poll(&p, 1, 0) == 1)
			drain_watches(lf);
	}
	if (lf->closed || !lf->nshadow)
		return -ESHUTDOWN;
	r = check_req(lf, q, &nseg);
	if (r)
		return r;
	if (vgpufront_seg_layout((uint32_t)nseg, lf->max_indirect, &nr_ind)) {
		lf_err(lf, "%s: %" PRIu64 " segments: more than the backend "
		       "takes in one request (%u)", vgpuif_op_name(q->op), nseg,
		       vgpufront_max_segs(lf->max_indirect, 0));
		return -E2BIG;
	}
	take_responses(lf);
	if (RING_FULL(&lf->ring) || !lf->slots.nr_free)
		return -EAGAIN;
	id = vgpufront_slots_get(&lf->slots, &slot);
	if (!id || slot >= lf->nshadow)
		return -EAGAIN;
	sh = &lf->shadow[slot];
	memset(&req, 0, sizeof(req));
	if (nr_ind) {
		r = ensure_indirect(lf, sh);
		if (r)
			goto out_put;
		segs = (struct vgpuif_segment *)(lf->mem +
			(uint64_t)sh->ind_frame * LB_PAGE_SIZE);
		req.flags = VGPUIF_F_INDIRECT;
		for (uint32_t i = 0; i < nr_ind; i++)
			req.u.indirect_gref[i] = sh->ind_gref[i];
	} else {
		segs = req.u.seg;
	}
	sh->noneshot = 0;
	if (nseg > sh->cap_oneshot) {
		uint32_t *o = realloc(sh->oneshot, nseg * sizeof(uint32_t));

		if (!o) {
			r = -ENOMEM;
			goto out_put;
		}
		sh->oneshot = o;
		sh->cap_oneshot = (uint32_t)nseg;
	}
	for (unsigned int i = 0; i < q->nregs; i++) {
		const struct loopfront_region *g = &q->regs[i];
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
	if (q->inline_len) {
		req.flags = VGPUIF_F_INLINE;
		memcpy(req.u.inline_data, q->inline_data, q->inline_len);
		nseg = q->inline_len;
	}
	if (q->host_mem)
		req.flags = VGPUIF_F_HOST_MEM;
	sh->in_use = true;
	sh->done = false;
	sh->owner = (uint8_t)owner;
	sh->op = q->op;
	sh->cb = cb;
	sh->cookie = cookie;
	if (owner == LF_POLLED)
		lf->npolled++;
	req.id = id;
	req.op = q->op;
	req.nr_segments = (uint16_t)nseg;
	req.ctx = q->ctx;
	req.args = q->args;
	*RING_GET_REQUEST(&lf->ring, lf->ring.req_prod_pvt) = req;
	lf->ring.req_prod_pvt++;
	lf->inflight++;
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&lf->ring, notify);
	if (notify)
		lb_evtchn_notify(lf->ev, (uint32_t)lf->port);
	if (slot_out)
		*slot_out = slot;
	if (id_out)
		*id_out = id;
	return 0;

out_ungrant:
	for (uint32_t i = 0; i < sh->noneshot; i++)
		revoke(lf, sh->oneshot[i]);
	sh->noneshot = 0;
	lf_err(lf, "cannot grant a data page: %s", strerror(-r));
out_put:
	vgpufront_slots_put(&lf->slots, slot);
	return r;
}

/* ------------------------------------------------------------ waiting */

/* Poll the ring for up to win_ns before sleeping: true if a response came. */
static bool spin_for_response(const struct vgpuif_sring *s, RING_IDX cons,
			      int64_t win_ns)
{
	int64_t end_ns;

	if (win_ns <= 0)
		return false;
	end_ns = now_ns() + win_ns;
	for (;;) {
		if (__atomic_load_n(&s->rsp_prod, __ATOMIC_ACQUIRE) != cons)
			return true;
		if (now_ns() >= end_ns)
			return false;
		__builtin_ia32_pause();
	}
}

/* spin_us auto: a wait of waited_ns ended by an answer after a sleep. */
static void spin_adapt(struct loopfront *lf, int64_t waited_ns)
{
	int64_t w = lf->spin_win_ns;

	if (waited_ns < LF_SPIN_MAX_NS) {
		w = w ? 2 * w : LF_SPIN_STEP_NS;
		if (w > LF_SPIN_MAX_NS)
			w = LF_SPIN_MAX_NS;
	} else {
		w /= 2;
		if (w < LF_SPIN_STEP_NS / 2)
			w = 0;
	}
	lf->spin_win_ns = w;
}

/*
 * Sleep as the leader: on the event channel and the store, with the lock
 * dropped, for at most left ms (-1: no limit); then unmask what fired and
 * read the store's events. Lock held on entry and exit.
 */
static void lead(struct loopfront *lf, int left)
{
	struct pollfd p[2] = {
		{ .fd = lb_evtchn_fd(lf->ev), .events = POLLIN },
		{ .fd = lb_xs_fd(lf->xs), .events = POLLIN },
	};
	const struct vgpuif_sring *s = lf->ring.sring;
	RING_IDX cons = lf->ring.rsp_cons;
	int port;

	int64_t win = lf->spin_auto ? lf->spin_win_ns : (int64_t)lf->o.spin_us * 1000;
	int64_t t0 = lf->spin_auto ? now_ns() : 0;
	bool slept = false;

	lf->leader = true;
	pthread_mutex_unlock(&lf->lock);
	if (!s || !spin_for_response(s, cons, win)) {
		(void)poll(p, 2, left);
		slept = true;
	}
	pthread_mutex_lock(&lf->lock);
	lf->leader = false;
	/* Woken by an answer: would a longer spin have caught it? */
	if (lf->spin_auto && slept && s &&
	    __atomic_load_n(&s->rsp_prod, __ATOMIC_ACQUIRE) != cons)
		spin_adapt(lf, now_ns() - t0);
	while ((port = lb_evtchn_pending(lf->ev)) >= 0)
		lb_evtchn_unmask(lf->ev, (uint32_t)port);
	if (p[1].revents)
		drain_watches(lf);
	/* A follower may take the lead, or find its answer. */
	pthread_cond_broadcast(&lf->cond);
}

static void follow(struct loopfront *lf, int64_t deadline)
{
	struct timespec ts;

	if (deadline < 0) {
		pthread_cond_wait(&lf->cond, &lf->lock);
		return;
	}
	ts.tv_sec = deadline / 1000;
	ts.tv_nsec = (deadline % 1000) * 1000000;
	pthread_cond_timedwait(&lf->cond, &lf->lock, &ts);
}

/*
 * Wait until pred(lf, arg) holds, taking answers in meanwhile: one thread
 * at a time sleeps on the fds (the leader), the others on the condition
 * variable, woken whenever answers were taken in or the leader left.
 * Lock held. 0, -ETIMEDOUT, -ESHUTDOWN, -EIO.
 */
static int wait_locked(struct loopfront *lf,
		       bool (*pred)(struct loopfront *lf, void *arg), void *arg,
		       int64_t deadline)
{
	for (;;) {
		int left = -1;

		take_responses(lf);
		if (pred(lf, arg))
			return 0;
		if (lf->broken)
			return -EIO;
		if (lf->closed)
			return -ESHUTDOWN;
		if (deadline >= 0) {
			int64_t l = deadline - now_ms();

			if (l <= 0)
				return -ETIMEDOUT;
			left = (int)l;
		}
		if (!lf->leader)
			lead(lf, left);
		else
			follow(lf, deadline);
	}
}

static bool has_room(struct loopfront *lf, void *arg)
{
	(void)arg;
	return !RING_FULL(&lf->ring) && lf->slots.nr_free;
}

/* Submit, waiting for room; lock held. */
static int submit_wait_locked(struct loopfront *lf, const struct loopfront_req *q,
			      enum lf_owner owner, loopfront_done_fn cb,
			      void *cookie, int64_t deadline, uint32_t *slot)
{
	int r;

	while ((r = submit_locked(lf, q, owner, cb, cookie, slot, NULL)) ==
	       -EAGAIN) {
		r = wait_locked(lf, has_room, NULL, deadline);
		if (r == -ETIMEDOUT)
			lf_err(lf, "%s: no room on the ring within %d ms",
			       vgpuif_op_name(q->op), lf->o.timeout_ms);
		if (r)
			return r;
	}
	return r;
}

/* ---------------------------------------------------------------- calls */

struct slot_arg {
	uint32_t slot;
	uint64_t epoch;
};

static bool slot_done(struct loopfront *lf, void *arg)
{
	struct slot_arg *a = arg;

	return a->epoch != lf->epoch || lf->shadow[a->slot].done;
}

int loopfront_call_req(struct loopfront *lf, const struct loopfront_req *q,
		       struct vgpuif_response *rsp)
{
	int64_t deadline = deadline_in(lf, -1);
	struct slot_arg a;
	int r;

	pthread_mutex_lock(&lf->lock);
	r = submit_wait_locked(lf, q, LF_WAITED, NULL, NULL, deadline, &a.slot);
	if (r)
		goto out;
	a.epoch = lf->epoch;
	r = wait_locked(lf, slot_done, &a, deadline);
	if (!r && a.epoch != lf->epoch) {
		/* The ring went (reconnect) with the request on it. */
		lf_err(lf, "%s: the connection was reset before the answer",
		       vgpuif_op_name(q->op));
		r = -EIO;
		goto out;
	}
	if (r) {
		/* Its answer, when it comes, is dropped. */
		lf->shadow[a.slot].owner = LF_ORPHAN;
		if (r == -ETIMEDOUT)
			lf_err(lf, "%s: no response within %d ms (is the "
			       "backend alive?)", vgpuif_op_name(q->op),
			       lf->o.timeout_ms);
		goto out;
	}
	*rsp = lf->shadow[a.slot].rsp;
	release_slot(lf, a.slot);
	if (rsp->status)
		lf_err(lf, "%s: %s (%d)", vgpuif_op_name(q->op),
		       vgpuif_status_str(rsp->status), rsp->status);
out:
	pthread_mutex_unlock(&lf->lock);
	return r;
}

static void fill_req(struct loopfront_req *q, uint8_t op, uint32_t ctx,
		     const union vgpuif_args *args,
		     const struct loopfront_region *regs, unsigned int nregs)
{
	memset(q, 0, sizeof(*q));
	q->op = op;
	q->ctx = ctx;
	if (args)
		q->args = *args;
	q->regs = regs;
	q->nregs = nregs;
}

int loopfront_call(struct loopfront *lf, uint8_t op, uint32_t ctx,
		   const union vgpuif_args *args,
		   const struct loopfront_region *regs, unsigned int nregs,
		   struct vgpuif_response *rsp)
{
	struct loopfront_req q;

	fill_req(&q, op, ctx, args, regs, nregs);
	return loopfront_call_req(lf, &q, rsp);
}

int loopfront_start(struct loopfront *lf, const struct loopfront_req *q,
		    loopfront_done_fn done, void *cookie)
{
	int r;

	if (!done)
		return -EINVAL;
	pthread_mutex_lock(&lf->lock);
	r = submit_wait_locked(lf, q, LF_CALLBACK, done, cookie,
			       deadline_in(lf, -1), NULL);
	pthread_mutex_unlock(&lf->lock);
	return r;
}

struct user_pred {
	bool (*pred)(void *arg);
	void *arg;
};

static bool user_pred(struct loopfront *lf, void *arg)
{
	struct user_pred *u = arg;

	(void)lf;
	return u->pred(u->arg);
}

int loopfront_wait(struct loopfront *lf, bool (*pred)(void *arg), void *arg,
		   int timeout_ms)
{
	struct user_pred u = { pred, arg };
	int r;

	pthread_mutex_lock(&lf->lock);
	r = wait_locked(lf, user_pred, &u, deadline_in(lf, timeout_ms));
	pthread_mutex_unlock(&lf->lock);
	return r;
}

int loopfront_submit(struct loopfront *lf, uint8_t op, uint32_t ctx,
		     const union vgpuif_args *args,
		     const struct loopfront_region *regs, unsigned int nregs,
		     uint64_t *id)
{
	struct loopfront_req q;
	int r;

	fill_req(&q, op, ctx, args, regs, nregs);
	pthread_mutex_lock(&lf->lock);
	r = submit_locked(lf, &q, LF_POLLED, NULL, NULL, NULL, id);
	pthread_mutex_unlock(&lf->lock);
	return r;
}

static bool polled_ready(struct loopfront *lf, void *arg)
{
	(void)arg;
	return lf->done_n || !lf->npolled;
}

int loopfront_poll(struct loopfront *lf, struct vgpuif_response *rsp,
		   int timeout_ms)
{
	int r;

	pthread_mutex_lock(&lf->lock);
	r = wait_locked(lf, polled_ready, NULL, deadline_in(lf, timeout_ms));
	if (r == -ETIMEDOUT) {
		r = 0;
	} else if (!r && lf->done_n) {
		unsigned int slot = lf->done_q[lf->done_head];

		lf->done_head = (lf->done_head + 1) % lf->nshadow;
		lf->done_n--;
		*rsp = lf->shadow[slot].rsp;
		release_slot(lf, slot);
		r = 1;
	} else if (!r) {
		r = -ENOENT;
	}
	pthread_mutex_unlock(&lf->lock);
	return r;
}

unsigned int loopfront_inflight(struct loopfront *lf)
{
	unsigned int n;

	pthread_mutex_lock(&lf->lock);
	n = lf->inflight;
	pthread_mutex_unlock(&lf->lock);
	return n;
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
	unsigned int pages = 1u << lf->order, nslots;
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
	nslots = RING_SIZE(&lf->ring);
	if (nslots > VGPUFRONT_MAX_SLOTS)
		nslots = VGPUFRONT_MAX_SLOTS;
	vgpufront_slots_init(&lf->slots, nslots);
	lf->nshadow = nslots;
	r = lb_evtchn_alloc_unbound(lf->ev, lf->be_domid);
	if (r < 0)
		return r;
	lf->port = r;
	return 0;
}

/* Fail what is in flight; give back the ring, its grants and event channel. */
static void ring_release(struct loopfront *lf)
{
	fail_all(lf);
	for (unsigned int i = 0; lf->shadow && i < VGPUFRONT_MAX_SLOTS; i++) {
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
		memset(sh, 0, sizeof(*sh));
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
	lf->epoch++;
	lf->nshadow = lf->inflight = lf->npolled = lf->done_n = 0;
	lf->done_head = 0;
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
	free(lf->shadow);
	free(lf->done_q);
	free(lf->deferred);
	lb_evtchn_close(lf->ev);
	lb_xs_close(lf->xs);
	lb_world_close(lf->w);
	pthread_cond_destroy(&lf->cond);
	pthread_mutex_destroy(&lf->lock);
	free(lf);
}

/* A feature key of the backend: its value, or def when absent or garbage. */
static uint64_t be_feature(struct loopfront *lf, const char *key, uint64_t def)
{
	uint64_t v;

	return xs_read_u64(lf, lf->be_path, key, &v) ? def : v;
}

/*
 * The handshake from Initialising to Connected (xenbus's talk_to_backend
 * and connect): negotiate, set up and publish the ring, wait for the
 * backend. Lock held.
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
		lf_err(lf, "backend not connected (state %d) after %d ms: is "
		       "vgpu-backend --domid %u --transport loopback running?",
		       lf->be_state, lf->o.timeout_ms, lf->o.domid);
		return r;
	}
	/* Negotiate: the backend's limits cap our wishes. */
	v = be_feature(lf, VGPUIF_XS_MAX_RING_PAGE_ORDER, 0);
	lf->order = lf->o.ring_order < 0 ? LF_DEFAULT_ORDER :
		    (unsigned int)lf->o.ring_order;
	if (lf->order > v)
		lf->order = (unsigned int)v;
	if (lf->order > VGPUIF_MAX_RING_PAGE_ORDER)
		lf->order = VGPUIF_MAX_RING_PAGE_ORDER;
	v = be_feature(lf, VGPUIF_XS_FEATURE_MAX_INDIRECT, 0);
	lf->max_indirect = v > VGPUIF_MAX_INDIRECT_SEGMENTS ?
			   VGPUIF_MAX_INDIRECT_SEGMENTS : (uint32_t)v;
	lf->persistent = lf->o.persistent != 0 &&
			 be_feature(lf, VGPUIF_XS_FEATURE_PERSISTENT, 0) == 1;
	v = be_feature(lf, VGPUIF_XS_FEATURE_OPS, VGPUIF_OP_COUNT_V1);
	lf->ops = v > 256 ? 256 : (uint32_t)v;
	lf->inline_bytes = be_feature(lf, VGPUIF_XS_FEATURE_INLINE, 0) == 1 ?
			   VGPUIF_MAX_INLINE_BYTES : 0;
	lf->host_mem = lf->ops >= VGPUIF_OP_COUNT &&
		       be_feature(lf, VGPUIF_XS_FEATURE_HOST_MEM, 0) == 1;

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
		lf_err(lf, "backend not connected (state %d) after %d ms: %s; "
		       "see its log", lf->be_state, lf->o.timeout_ms,
		       strerror(-r));
		switch_state(lf, XS_CLOSED);
		return r;
	}
	lf->gen++;
	return switch_state(lf, XS_CONNECTED);
}

static int lf_init_sync(struct loopfront *lf)
{
	pthread_condattr_t ca;

	if (pthread_mutex_init(&lf->lock, NULL))
		return -ENOMEM;
	if (pthread_condattr_init(&ca) ||
	    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) ||
	    pthread_cond_init(&lf->cond, &ca)) {
		pthread_mutex_destroy(&lf->lock);
		return -ENOMEM;
	}
	pthread_condattr_destroy(&ca);
	return 0;
}

struct loopfront *loopfront_open(const struct loopfront_opts *o, char *why,
				 size_t whylen)
{
	const char *dir = o->world_dir ? o->world_dir : lb_default_dir();
	struct loopfront *lf;
	uint64_t v;
	char path[2 * LB_PATH_MAX + 8], *s;
	int r;

	lf = calloc(1, sizeof(*lf));
	if (lf) {
		lf->shadow = calloc(VGPUFRONT_MAX_SLOTS, sizeof(*lf->shadow));
		lf->done_q = calloc(VGPUFRONT_MAX_SLOTS, sizeof(*lf->done_q));
	}
	if (!lf || !lf->shadow || !lf->done_q || lf_init_sync(lf)) {
		if (why)
			snprintf(why, whylen, "out of memory");
		if (lf) {
			free(lf->shadow);
			free(lf->done_q);
		}
		free(lf);
		errno = ENOMEM;
		return NULL;
	}
	lf->o = *o;
	if (lf->o.timeout_ms == 0)
		lf->o.timeout_ms = LF_DEFAULT_TIMEOUT;
	if (lf->o.spin_us == LOOPFRONT_SPIN_AUTO) {
		const char *e = getenv("VGPU_LOOPFRONT_SPIN_US");

		if (e) {
			lf->o.spin_us = (unsigned int)strtoul(e, NULL, 10);
		} else if (get_nprocs() < LF_SPIN_MIN_CPUS) {
			lf->o.spin_us = 0;  /* the backend needs the core */
		} else {
			lf->o.spin_us = 0;
			lf->spin_auto = true;
			lf->spin_win_ns = LF_SPIN_STEP_NS;
		}
	}
	if (lf->o.spin_us > 1000000)
		lf->o.spin_us = 1000000;
	lf->port = -1;
	lf->w = lb_world_open(o->world_dir, false);
	if (!lf->w) {
		r = -errno;
		lf_err(lf, "no loopback world at %s (%s)", dir, strerror(-r));
		goto out;
	}
	if (o->domid == 0 || lb_domain_alive(lf->w, o->domid) != 1) {
		r = -ESRCH;
		lf_err(lf, "domain %u does not exist in the loopback world %s",
		       o->domid, dir);
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
		lf_err(lf, "domain %u has no vgpu device %u (%s missing)",
		       o->domid, o->devid, path);
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
	pthread_mutex_lock(&lf->lock);
	r = lf_connect(lf);
	pthread_mutex_unlock(&lf->lock);
	if (r)
		goto out;
	lf->err[0] = '\0';
	return lf;

out:
	if (why)
		snprintf(why, whylen, "%s", lf->err);
	if (lf->xs) {
		teardown(lf);
	} else {
		if (lf->w)
			lb_world_close(lf->w);
		pthread_cond_destroy(&lf->cond);
		pthread_mutex_destroy(&lf->lock);
		free(lf->shadow);
		free(lf->done_q);
		free(lf);
	}
	errno = -r;
	return NULL;
}

int loopfront_reconnect(struct loopfront *lf)
{
	int r;

	pthread_mutex_lock(&lf->lock);
	/* The backend must have let go of the old ring first. */
	r = wait_backend(lf, is_closed_or_idle, lf->o.timeout_ms);
	if (r) {
		lf_err(lf, "the backend did not let go of the old ring in time");
		goto out;
	}
	switch_state(lf, XS_CLOSED);
	ring_release(lf);
	retry_deferred(lf);
	lf->closed = false;
	lf->broken = false;
	r = lf_connect(lf);
	if (r) {
		ring_release(lf);
		lf->closed = true;
		goto out;
	}
	lf->err[0] = '\0';
out:
	pthread_cond_broadcast(&lf->cond);
	pthread_mutex_unlock(&lf->lock);
	return r;
}

int loopfront_close(struct loopfront *lf)
{
	int r = 0;

	if (!lf)
		return 0;
	pthread_mutex_lock(&lf->lock);
	/* Closing: the backend unmaps everything, then says so. */
	if (!switch_state(lf, XS_CLOSING)) {
		r = wait_backend(lf, is_closed_or_idle, lf->o.timeout_ms);
		if (r)
			lf_err(lf, "the backend did not close in time");
	}
	switch_state(lf, XS_CLOSED);
	lb_xs_unwatch(lf->xs, lf->be_path, "backend");
	retry_deferred(lf);
	pthread_mutex_unlock(&lf->lock);
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

uint32_t loopfront_ops(const struct loopfront *lf)
{
	return lf->ops;
}

uint32_t loopfront_inline_bytes(const struct loopfront *lf)
{
	return lf->inline_bytes;
}

bool loopfront_host_mem(const struct loopfront *lf)
{
	return lf->host_mem;
}

uint32_t loopfront_domid(const struct loopfront *lf)
{
	return lf->o.domid;
}

uint32_t loopfront_devid(const struct loopfront *lf)
{
	return lf->o.devid;
}

uint64_t loopfront_generation(const struct loopfront *lf)
{
	return __atomic_load_n(&lf->gen, __ATOMIC_RELAXED);
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
	char path[2 * LB_PATH_MAX + 8], *v;

	snprintf(path, sizeof(path), "%s/%s", lf->be_path, key);
	pthread_mutex_lock(&lf->lock);
	v = lb_xs_read(lf->xs, LB_XBT_NULL, path, NULL);
	pthread_mutex_unlock(&lf->lock);
	return v;
}

bool loopfront_broken(const struct loopfront *lf)
{
	return __atomic_load_n(&lf->broken, __ATOMIC_RELAXED);
}

bool loopfront_closed(const struct loopfront *lf)
{
	return __atomic_load_n(&lf->closed, __ATOMIC_RELAXED);
}

const char *loopfront_error(const struct loopfront *lf)
{
	return lf->err;
}

unsigned int loopfront_deferred_grants(struct loopfront *lf, uint64_t *passes)
{
	unsigned int n;

	pthread_mutex_lock(&lf->lock);
	n = lf->ndeferred;
	if (passes)
		*passes = lf->deferred_passes;
	pthread_mutex_unlock(&lf->lock);
	return n;
}
