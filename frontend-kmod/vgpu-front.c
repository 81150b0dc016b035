// SPDX-License-Identifier: GPL-2.0
/*
 * vgpu-front.c - the guest side of vgpu-xen: a xenbus frontend for device
 * type "vgpu" and the misc device /dev/vgpu_stub.
 *
 * A program opens /dev/vgpu_stub (one GPU context per open file) and issues
 * the ioctls of uapi/vgpu_stub.h. Each becomes one or more requests on a ring
 * shared with the dom0 backend (ring/vgpuif.h): user buffers are pinned and
 * granted page by page (read-only when the backend only reads them), and
 * carried as direct segments or, above eight, through indirect pages.
 *
 * Ordered bottom-up like xen-blkfront.c: state, helpers, request resources,
 * ring and interrupt, submission, the ioctls, the misc device, sysfs, the
 * xenbus side (ring setup, backend_changed), the driver table, module init.
 *
 * Trust: the backend is not trusted either. Responses are copied off the
 * ring before use; their id must name an outstanding request of the same op
 * and the producer index may not run ahead of our requests. A backend that
 * breaks these rules gets the device marked broken: in-flight requests fail
 * with -EIO, their pages stay granted (and alive) until the backend lets go
 * of them, and the device waits for the backend to restart from InitWait.
 */
#define pr_fmt(fmt) "vgpu-front: " fmt

#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/version.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/highmem.h>
#include <linux/interrupt.h>
#include <linux/miscdevice.h>
#include <linux/fs.h>
#include <linux/uaccess.h>
#include <linux/wait.h>
#include <linux/completion.h>
#include <linux/workqueue.h>
#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/list.h>
#include <linux/sched/signal.h>
#include <linux/delay.h>
#include <linux/atomic.h>

#include <xen/xen.h>
#include <xen/xenbus.h>
#include <xen/grant_table.h>
#include <xen/events.h>
#include <xen/page.h>
#include <xen/interface/io/ring.h>

#include "vgpuif.h"
#include "vgpu-front-logic.h"
#include "uapi/vgpu_stub.h"

/* ------------------------------------------------------------ parameters */

static unsigned int max_ring_page_order = VGPUIF_MAX_RING_PAGE_ORDER;
module_param(max_ring_page_order, uint, 0444);
MODULE_PARM_DESC(max_ring_page_order,
		 "Most ring pages to use, as log2 (0-4; the backend's max-ring-page-order caps it)");

static unsigned int max_request_segments = 1024;
module_param(max_request_segments, uint, 0644);
MODULE_PARM_DESC(max_request_segments,
		 "Most data segments (pages) per request; larger copies are split (8-8192, default 1024)");

/*
 * The bound on a call that finds no backend connected (none started yet, or
 * it died and its supervisor marked the device closed): long enough for a
 * supervisor's restart (systemd: about 1 s plus the backend's start), short
 * enough that a program learns of a lost backend instead of waiting for one.
 */
static unsigned int connect_timeout_ms = 10000;
module_param(connect_timeout_ms, uint, 0644);
MODULE_PARM_DESC(connect_timeout_ms,
		 "How long an ioctl waits for a backend to connect before failing with ENOTCONN (default 10000)");

/* ----------------------------------------------------------------- state */

enum vgpufront_conn {
	VGPUFRONT_DISCONNECTED,  /* no ring                                */
	VGPUFRONT_INITIALISED,   /* ring granted and advertised, no peer  */
	VGPUFRONT_CONNECTED,     /* requests may be issued                */
	VGPUFRONT_BROKEN,        /* the backend lied; waiting for a reset */
};

static const char *const vgpufront_conn_names[] = {
	[VGPUFRONT_DISCONNECTED] = "disconnected",
	[VGPUFRONT_INITIALISED] = "initialised",
	[VGPUFRONT_CONNECTED] = "connected",
	[VGPUFRONT_BROKEN] = "broken",
};

struct vgpufront_req;

/* One xenbus device vgpu-<devid>. */
struct vgpufront_info {
	struct kref kref;             /* the xenbus device + each open file */
	struct xenbus_device *xbdev;  /* NULL once removed                  */
	struct list_head node;        /* in vgpufront_devs                  */
	unsigned int devid;
	domid_t backend_id;

	/* Serialises connect/disconnect (xenbus callbacks, resume, remove). */
	struct mutex conn_mutex;

	/*
	 * Protects everything below: the ring, the slot table and shadow, the
	 * connection state and generation. Taken in the interrupt handler.
	 */
	spinlock_t lock;
	enum vgpufront_conn conn;
	bool removed;
	u64 gen;                      /* bumped at each Connected           */
	struct vgpuif_front_ring ring;
	void *ring_vaddr;
	unsigned int ring_order;
	grant_ref_t ring_ref[1u << VGPUIF_MAX_RING_PAGE_ORDER];
	evtchn_port_t evtchn;
	int irq;
	u32 max_indirect;             /* the backend's feature-max-indirect */
	u32 max_segs;                 /* per request, negotiated            */
	u32 ops;                      /* the backend's feature-ops          */
	u32 inline_bytes;             /* feature-inline: bytes, 0 = none    */
	struct vgpufront_slots slots;
	struct vgpufront_req *shadow[VGPUFRONT_MAX_SLOTS];

	/* Callers waiting for ring space, a connection or async completions. */
	wait_queue_head_t wq;
	struct work_struct broken_work; /* reports a lying backend (sleeps) */

	/* Statistics for sysfs. */
	atomic_t inflight;
	atomic64_t completed;
	atomic64_t errors;
	atomic_t grants;              /* data + indirect grants held now    */
	atomic64_t broken_count;
};

/* One guest context in the backend; outlives its file while async work runs. */
struct vgpufront_ctx {
	struct kref kref;             /* the file + each async request      */
	u32 handle;
	u64 gen;                      /* the connection it belongs to       */
	atomic_t async_err;           /* first async error since last SYNC  */
	atomic_t async_inflight;
};

/* One open file of /dev/vgpu_stub. */
struct vgpufront_file {
	struct vgpufront_info *info;
	struct mutex ctx_mutex;       /* protects ctx (re-created on reset) */
	struct vgpufront_ctx *ctx;
};

enum vgpufront_gkind {
	VGPUFRONT_G_USER,             /* a pinned user page                 */
	VGPUFRONT_G_KERNEL,           /* a page the module allocated        */
};

struct vgpufront_grant {
	grant_ref_t ref;
	struct page *page;
	u8 kind;                      /* enum vgpufront_gkind               */
	u8 dirty;                     /* the backend may have written it    */
};

/*
 * One request. A synchronous caller waits on comp and releases the request
 * itself; an async request, or one whose caller was interrupted (orphan), is
 * released by the reaper once answered, so that its pages stay pinned and
 * granted for as long as the backend may touch them.
 */
struct vgpufront_req {
	struct list_head reap;
	struct vgpuif_request wire;
	struct vgpuif_response rsp;
	struct completion comp;
	struct vgpufront_ctx *ctx;    /* held reference, async only         */
	atomic_t *grants_ctr;         /* info->grants, for the accounting   */
	domid_t backend_id;
	u64 gen;                      /* connection it was sent on          */
	bool async;                   /* under info->lock: */
	bool orphan;
	bool done;
	bool gen_check;               /* fail with -ESTALE if ctx is stale  */

	struct vgpufront_grant *g;    /* grants, data then indirect         */
	unsigned int nr_g, max_g;
	struct vgpuif_segment *segs;  /* the data stream                    */
	unsigned int nr_segs, max_segs;
	unsigned int inline_len;      /* F_INLINE: bytes in wire.u instead  */
	struct page *kpage;           /* a kernel bounce page (GET_INFO...) */
};

/* The devices, in probe order; /dev/vgpu_stub serves the first one. */
static LIST_HEAD(vgpufront_devs);
static DEFINE_MUTEX(vgpufront_devs_mutex);  /* protects vgpufront_devs */

/* Requests to release in process context (async, orphaned). */
static LIST_HEAD(vgpufront_reap_list);
static DEFINE_SPINLOCK(vgpufront_reap_lock); /* protects the list above */
static void vgpufront_reap_fn(struct work_struct *work);
static DECLARE_WORK(vgpufront_reap_work, vgpufront_reap_fn);

/* --------------------------------------------------------------- helpers */

static void vgpufront_info_release(struct kref *kref)
{
	struct vgpufront_info *info = container_of(kref, struct vgpufront_info, kref);

	kfree(info);
}

static void vgpufront_info_put(struct vgpufront_info *info)
{
	kref_put(&info->kref, vgpufront_info_release);
}

static void vgpufront_ctx_release(struct kref *kref)
{
	kfree(container_of(kref, struct vgpufront_ctx, kref));
}

static void vgpufront_ctx_put(struct vgpufront_ctx *ctx)
{
	if (ctx)
		kref_put(&ctx->kref, vgpufront_ctx_release);
}

/* ------------------------------------------------- request resources */

static struct vgpufront_req *vgpufront_req_alloc(struct vgpufront_info *info,
						 u8 op, u32 ctx)
{
	struct vgpufront_req *req = kzalloc(sizeof(*req), GFP_KERNEL);

	if (!req)
		return NULL;
	INIT_LIST_HEAD(&req->reap);
	init_completion(&req->comp);
	req->wire.op = op;
	req->wire.ctx = ctx;
	req->grants_ctr = &info->grants;
	req->backend_id = info->backend_id;
	return req;
}

/* Room for nr_segs data segments (and their grants, and indirect pages). */
static int vgpufront_req_reserve(struct vgpufront_req *req, unsigned int nr_segs)
{
	unsigned int nr_g = nr_segs + VGPUIF_MAX_INDIRECT_PAGES + 1;

	req->segs = kvcalloc(nr_segs ? nr_segs : 1, sizeof(*req->segs), GFP_KERNEL);
	req->g = kvcalloc(nr_g, sizeof(*req->g), GFP_KERNEL);
	if (!req->segs || !req->g)
		return -ENOMEM;
	req->max_segs = nr_segs;
	req->max_g = nr_g;
	return 0;
}

/*
 * Ends one grant and lets the page go. If the backend still has it mapped,
 * gnttab_end_foreign_access() keeps the page alive (its own reference for a
 * user page, ours for a kernel page) and ends the grant later, so the page is
 * never reused while dom0 can still write it.
 */
static void vgpufront_grant_end(struct vgpufront_grant *g)
{
	if (g->kind == VGPUFRONT_G_USER) {
		gnttab_end_foreign_access(g->ref, NULL);
		unpin_user_pages_dirty_lock(&g->page, 1, g->dirty);
	} else {
		gnttab_end_foreign_access(g->ref, g->page);
	}
}

/* Process context only (unpinning may sleep). */
static void vgpufront_req_free(struct vgpufront_req *req)
{
	unsigned int i;

	for (i = 0; i < req->nr_g; i++)
		vgpufront_grant_end(&req->g[i]);
	if (req->nr_g)
		atomic_sub(req->nr_g, req->grants_ctr);
	kvfree(req->g);
	kvfree(req->segs);
	vgpufront_ctx_put(req->ctx);
	kfree(req);
}

static void vgpufront_reap_fn(struct work_struct *work)
{
	struct vgpufront_req *req, *tmp;
	unsigned long flags;
	LIST_HEAD(list);

	spin_lock_irqsave(&vgpufront_reap_lock, flags);
	list_splice_init(&vgpufront_reap_list, &list);
	spin_unlock_irqrestore(&vgpufront_reap_lock, flags);
	list_for_each_entry_safe(req, tmp, &list, reap) {
		list_del(&req->reap);
		vgpufront_req_free(req);
	}
}

/* Grants one page to the backend and records it in req->g. */
static int vgpufront_grant_page(struct vgpufront_req *req, struct page *page,
				enum vgpufront_gkind kind, bool writable)
{
	struct vgpufront_grant *g;
	int ref;

	if (WARN_ON(req->nr_g >= req->max_g))
		return -EINVAL;
	ref = gnttab_grant_foreign_access(req->backend_id, xen_page_to_gfn(page),
					  !writable);
	if (ref < 0)
		return ref;
	g = &req->g[req->nr_g++];
	g->ref = ref;
	g->page = page;
	g->kind = kind;
	g->dirty = writable;
	atomic_inc(req->grants_ctr);
	return 0;
}

/*
 * Adds a user buffer to the request's data stream: pins its pages (writable
 * when the backend writes them) and grants each one, one segment per page.
 */
static int vgpufront_add_user(struct vgpufront_req *req, u64 uaddr, u64 len,
			      bool writable)
{
	u32 npages = vgpuif_pages_spanned(uaddr, len);
	unsigned long start = uaddr & PAGE_MASK;
	struct page *batch[16];
	u32 done = 0;
	int i, n, ret;

	if (!len)
		return 0;
	if (uaddr + len < uaddr || !access_ok(u64_to_user_ptr(uaddr), len))
		return -EFAULT;
	if (req->nr_segs + npages > req->max_segs)
		return -E2BIG;
	while (done < npages) {
		int want = min_t(u32, npages - done, ARRAY_SIZE(batch));

		n = pin_user_pages_fast(start + (unsigned long)done * PAGE_SIZE, want,
					writable ? FOLL_WRITE : 0, batch);
		if (n <= 0)
			return n ? n : -EFAULT;
		for (i = 0; i < n; i++) {
			struct vgpuif_segment *s = &req->segs[req->nr_segs];

			ret = vgpufront_grant_page(req, batch[i], VGPUFRONT_G_USER,
						   writable);
			if (ret) {
				unpin_user_pages(batch + i, n - i);
				return ret;
			}
			s->gref = req->g[req->nr_g - 1].ref;
			vgpufront_page_seg(uaddr, len, done + i, &s->offset, &s->length);
			req->nr_segs++;
		}
		done += n;
	}
	return 0;
}

/*
 * Adds bytes [0, len) of a fresh kernel page (the bounce page of GET_INFO,
 * FUNC_GET, LAUNCH) to the data stream. The page belongs to the grant list
 * from here on and is freed with it.
 */
static int vgpufront_add_kpage(struct vgpufront_req *req, unsigned int len,
			       bool writable, void **vaddr)
{
	struct page *page = alloc_page(GFP_KERNEL | __GFP_ZERO);
	struct vgpuif_segment *s;
	int ret;

	if (!page)
		return -ENOMEM;
	if (req->nr_segs >= req->max_segs) {
		__free_page(page);
		return -E2BIG;
	}
	ret = vgpufront_grant_page(req, page, VGPUFRONT_G_KERNEL, writable);
	if (ret) {
		__free_page(page);
		return ret;
	}
	s = &req->segs[req->nr_segs++];
	s->gref = req->g[req->nr_g - 1].ref;
	s->offset = 0;
	s->length = len;
	req->kpage = page;
	*vaddr = page_address(page);
	return 0;
}

/* Puts the data stream on the wire: direct, or through indirect pages. */
static int vgpufront_req_finish_segs(struct vgpufront_req *req, u32 max_indirect)
{
	u32 nr_ind, p;
	int ret;

	if (req->wire.flags & VGPUIF_F_INLINE) {
		req->wire.nr_segments = req->inline_len;
		return 0;
	}
	ret = vgpufront_seg_layout(req->nr_segs, max_indirect, &nr_ind);
	if (ret)
		return ret;
	req->wire.nr_segments = req->nr_segs;
	if (!nr_ind) {
		memcpy(req->wire.u.seg, req->segs, req->nr_segs * sizeof(*req->segs));
		return 0;
	}
	req->wire.flags |= VGPUIF_F_INDIRECT;
	for (p = 0; p < nr_ind; p++) {
		struct page *page = alloc_page(GFP_KERNEL | __GFP_ZERO);
		u32 first = p * VGPUIF_SEGS_PER_INDIRECT_PAGE;
		u32 n = min_t(u32, req->nr_segs - first, VGPUIF_SEGS_PER_INDIRECT_PAGE);

		if (!page)
			return -ENOMEM;
		memcpy(page_address(page), req->segs + first, n * sizeof(*req->segs));
		ret = vgpufront_grant_page(req, page, VGPUFRONT_G_KERNEL, false);
		if (ret) {
			__free_page(page);
			return ret;
		}
		req->wire.u.indirect_gref[p] = req->g[req->nr_g - 1].ref;
	}
	return 0;
}

/* --------------------------------------------------- ring and interrupt */

/* Called with info->lock held once req has its answer (or lost it). */
static void vgpufront_req_done_locked(struct vgpufront_info *info,
				      struct vgpufront_req *req)
{
	req->done = true;
	if (req->async) {
		int st = vgpufront_rsp_status(req->rsp.status);

		if (st && req->ctx)
			atomic_cmpxchg(&req->ctx->async_err, 0, st);
		if (req->ctx)
			atomic_dec(&req->ctx->async_inflight);
	}
	if (req->async || req->orphan) {
		spin_lock(&vgpufront_reap_lock);
		list_add_tail(&req->reap, &vgpufront_reap_list);
		spin_unlock(&vgpufront_reap_lock);
		queue_work(system_wq, &vgpufront_reap_work);
	} else {
		complete(&req->comp);
	}
}

/* Fails every outstanding request with status (the ring is going away). */
static void vgpufront_fail_all_locked(struct vgpufront_info *info, int status)
{
	unsigned int i;

	for (i = 0; i < VGPUFRONT_MAX_SLOTS; i++) {
		struct vgpufront_req *req = info->shadow[i];

		if (!req)
			continue;
		info->shadow[i] = NULL;
		vgpufront_slots_put(&info->slots, i);
		memset(&req->rsp, 0, sizeof(req->rsp));
		req->rsp.id = req->wire.id;
		req->rsp.op = req->wire.op;
		req->rsp.status = status;
		atomic_dec(&info->inflight);
		atomic64_inc(&info->errors);
		vgpufront_req_done_locked(info, req);
	}
	wake_up_all(&info->wq);
}

static void vgpufront_broken_locked(struct vgpufront_info *info, const char *why,
				    u64 a, u64 b)
{
	if (info->conn != VGPUFRONT_CONNECTED)
		return;
	dev_err(&info->xbdev->dev,
		"backend (domain %u) broke the protocol: %s (%llu, %llu); device marked broken, in-flight requests fail with EIO\n",
		info->backend_id, why, a, b);
	info->conn = VGPUFRONT_BROKEN;
	atomic64_inc(&info->broken_count);
	vgpufront_fail_all_locked(info, -EIO);
	schedule_work(&info->broken_work);
}

static irqreturn_t vgpufront_interrupt(int irq, void *dev_id)
{
	struct vgpufront_info *info = dev_id;
	struct vgpuif_response rsp;
	unsigned long flags;
	RING_IDX i, rp;
	int more;

	spin_lock_irqsave(&info->lock, flags);
	if (info->conn != VGPUFRONT_CONNECTED)
		goto out;
again:
	rp = READ_ONCE(info->ring.sring->rsp_prod);
	virt_rmb(); /* see the responses up to rp before reading them */
	if (RING_RESPONSE_PROD_OVERFLOW(&info->ring, rp) ||
	    !vgpufront_rsp_prod_ok(rp, info->ring.rsp_cons, info->ring.req_prod_pvt)) {
		vgpufront_broken_locked(info, "response producer ahead of the requests",
					rp, info->ring.req_prod_pvt);
		goto out;
	}
	for (i = info->ring.rsp_cons; i != rp; i++) {
		struct vgpufront_req *req;
		u32 slot;

		RING_COPY_RESPONSE(&info->ring, i, &rsp);
		if (vgpufront_slots_lookup(&info->slots, rsp.id, &slot) ||
		    !info->shadow[slot]) {
			vgpufront_broken_locked(info, "response to no outstanding request",
						rsp.id, i);
			goto out;
		}
		req = info->shadow[slot];
		if (rsp.op != req->wire.op) {
			vgpufront_broken_locked(info, "response op differs from the request's",
						rsp.op, req->wire.op);
			goto out;
		}
		info->shadow[slot] = NULL;
		vgpufront_slots_put(&info->slots, slot);
		req->rsp = rsp;
		atomic_dec(&info->inflight);
		atomic64_inc(&info->completed);
		if (rsp.status)
			atomic64_inc(&info->errors);
		vgpufront_req_done_locked(info, req);
	}
	info->ring.rsp_cons = i;
	RING_FINAL_CHECK_FOR_RESPONSES(&info->ring, more);
	if (more)
		goto again;
	wake_up_all(&info->wq);
out:
	spin_unlock_irqrestore(&info->lock, flags);
	return IRQ_HANDLED;
}

static void vgpufront_broken_fn(struct work_struct *work)
{
	struct vgpufront_info *info = container_of(work, struct vgpufront_info,
						   broken_work);

	mutex_lock(&info->conn_mutex);
	if (info->xbdev && READ_ONCE(info->conn) == VGPUFRONT_BROKEN)
		xenbus_dev_fatal(info->xbdev, -EPROTO,
				 "backend broke the vgpu protocol; waiting for it to reset");
	mutex_unlock(&info->conn_mutex);
}

/* ------------------------------------------------------------ submission */

#define VGPUFRONT_SUBMIT_ASYNC  0x1  /* don't wait for the answer          */
#define VGPUFRONT_SUBMIT_NOINTR 0x2  /* release(): no signal may stop us   */

static bool vgpufront_can_submit(struct vgpufront_info *info)
{
	bool ok;

	spin_lock_irq(&info->lock);
	ok = info->removed || info->conn != VGPUFRONT_CONNECTED ||
	     (!RING_FULL(&info->ring) && info->slots.nr_free);
	spin_unlock_irq(&info->lock);
	return ok;
}

static bool vgpufront_connected_or_gone(struct vgpufront_info *info)
{
	return READ_ONCE(info->removed) || READ_ONCE(info->conn) == VGPUFRONT_CONNECTED;
}

/*
 * Puts req on the ring, waiting for a connection and for ring space. Returns
 * 0 once it is on the ring; nothing was sent when it fails. -ESTALE when the
 * request names a context of an earlier connection.
 */
static int vgpufront_submit(struct vgpufront_info *info, struct vgpufront_req *req,
			    struct vgpufront_ctx *ctx, unsigned int flags)
{
	long left;
	int notify;
	u32 slot;
	u64 id;

	for (;;) {
		spin_lock_irq(&info->lock);
		if (info->removed) {
			spin_unlock_irq(&info->lock);
			return -ENODEV;
		}
		if (info->conn == VGPUFRONT_CONNECTED) {
			if (ctx && ctx->gen != info->gen) {
				spin_unlock_irq(&info->lock);
				return -ESTALE;
			}
			if (!RING_FULL(&info->ring) && info->slots.nr_free)
				break;
			spin_unlock_irq(&info->lock);
			if (flags & VGPUFRONT_SUBMIT_NOINTR)
				left = wait_event_timeout(info->wq, vgpufront_can_submit(info),
							  msecs_to_jiffies(5000));
			else
				left = wait_event_interruptible(info->wq,
								vgpufront_can_submit(info));
			if (left < 0)
				return -ERESTARTSYS;
			if ((flags & VGPUFRONT_SUBMIT_NOINTR) && !left)
				return -ETIMEDOUT;
			continue;
		}
		spin_unlock_irq(&info->lock);
		if (flags & VGPUFRONT_SUBMIT_NOINTR)
			return -ENOTCONN; /* nothing to tell a backend that is not there */
		left = wait_event_interruptible_timeout(info->wq,
							vgpufront_connected_or_gone(info),
							msecs_to_jiffies(connect_timeout_ms));
		if (left < 0)
			return -ERESTARTSYS;
		if (!left)
			return -ENOTCONN;
	}

	id = vgpufront_slots_get(&info->slots, &slot);
	if (WARN_ON(!id)) {
		spin_unlock_irq(&info->lock);
		return -EIO;
	}
	req->wire.id = id;
	req->gen = info->gen;
	req->async = !!(flags & VGPUFRONT_SUBMIT_ASYNC);
	if (req->async && ctx) {
		kref_get(&ctx->kref);
		req->ctx = ctx;
		atomic_inc(&ctx->async_inflight);
	}
	info->shadow[slot] = req;
	*RING_GET_REQUEST(&info->ring, info->ring.req_prod_pvt) = req->wire;
	info->ring.req_prod_pvt++;
	atomic_inc(&info->inflight);
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&info->ring, notify);
	if (notify)
		notify_remote_via_irq(info->irq);
	spin_unlock_irq(&info->lock);
	return 0;
}

/*
 * Sends req and waits for its answer. Returns the answer's status. On a
 * signal the request is left to the reaper (it keeps its pinned, granted
 * pages until the backend answers or goes away) and -EINTR is returned;
 * req must not be touched by the caller then.
 */
static int vgpufront_call(struct vgpufront_info *info, struct vgpufront_req *req,
			  struct vgpufront_ctx *ctx)
{
	int ret;

	ret = vgpufront_submit(info, req, ctx, 0);
	if (ret)
		return ret;
	if (wait_for_completion_interruptible(&req->comp)) {
		spin_lock_irq(&info->lock);
		if (!req->done) {
			req->orphan = true;
			spin_unlock_irq(&info->lock);
			return -EINTR;
		}
		spin_unlock_irq(&info->lock);
		wait_for_completion(&req->comp);
	}
	ret = vgpufront_rsp_status(req->rsp.status);
	/* Statuses that mean something else here (see vgpufront_req_put). */
	if (ret == -EINTR || ret == -ERESTARTSYS || ret == -ESTALE)
		ret = -EIO;
	return ret;
}

/* Releases req unless vgpufront_call() handed it to the reaper. */
static void vgpufront_req_put(struct vgpufront_req *req, int call_ret)
{
	if (call_ret != -EINTR)
		vgpufront_req_free(req);
}

/* ------------------------------------------------------------- contexts */

static int vgpufront_ctx_create(struct vgpufront_info *info,
				struct vgpufront_ctx **out)
{
	struct vgpufront_ctx *ctx;
	struct vgpufront_req *req;
	int ret;

	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);
	req = vgpufront_req_alloc(info, VGPUIF_OP_CTX_CREATE, 0);
	if (!ctx || !req) {
		kfree(ctx);
		kfree(req);
		return -ENOMEM;
	}
	kref_init(&ctx->kref);
	ret = vgpufront_call(info, req, NULL);
	if (!ret && (req->rsp.result[0] == 0 || req->rsp.result[0] > U32_MAX)) {
		pr_warn("backend domain %u gave context handle %llu\n",
			info->backend_id, req->rsp.result[0]);
		ret = -EIO;
	}
	if (!ret) {
		ctx->handle = (u32)req->rsp.result[0];
		ctx->gen = req->gen;
		*out = ctx;
	} else {
		kfree(ctx);
	}
	vgpufront_req_put(req, ret);
	return ret;
}

/* Tells the backend the context is gone, without waiting (release()). */
static void vgpufront_ctx_destroy(struct vgpufront_info *info,
				  struct vgpufront_ctx *ctx)
{
	struct vgpufront_req *req;

	req = vgpufront_req_alloc(info, VGPUIF_OP_CTX_DESTROY, ctx->handle);
	if (!req)
		return;
	if (vgpufront_submit(info, req, ctx,
			     VGPUFRONT_SUBMIT_ASYNC | VGPUFRONT_SUBMIT_NOINTR))
		vgpufront_req_free(req); /* not sent: stale, gone or ring stuck */
}

/*
 * The file's context on the current connection, made anew after the backend
 * reset (its handles are gone with the old one). Returns a held reference.
 */
static int vgpufront_file_ctx(struct vgpufront_file *f, struct vgpufront_ctx **out)
{
	struct vgpufront_info *info = f->info;
	struct vgpufront_ctx *ctx;
	bool stale;
	int ret = 0;

	mutex_lock(&f->ctx_mutex);
	spin_lock_irq(&info->lock);
	stale = !f->ctx || (info->conn == VGPUFRONT_CONNECTED && f->ctx->gen != info->gen);
	spin_unlock_irq(&info->lock);
	if (stale) {
		ret = vgpufront_ctx_create(info, &ctx);
		if (!ret) {
			vgpufront_ctx_put(f->ctx);
			f->ctx = ctx;
		}
	}
	if (!ret) {
		kref_get(&f->ctx->kref);
		*out = f->ctx;
	}
	mutex_unlock(&f->ctx_mutex);
	return ret;
}

/* ---------------------------------------------------------------- ioctls */

/*
 * Builds, sends and answers one request of the file's context. build() adds
 * the data stream; on success finish() reads the response. Retries once with
 * a fresh context when the backend reset under us.
 */
struct vgpufront_op {
	u8 op;
	bool async;
	bool noctx;             /* NOP, GET_INFO: no context            */
	bool finish_always;     /* finish() for error answers too       */
	unsigned int nr_segs;   /* data segments the stream needs */
	int (*build)(struct vgpufront_req *req, const struct vgpufront_op *o);
	void (*finish)(struct vgpufront_req *req, const struct vgpufront_op *o);
	union vgpuif_args args;
	void *arg;              /* the ioctl's struct, for build/finish */
};

static int vgpufront_run_op(struct vgpufront_file *f, struct vgpufront_op *o)
{
	struct vgpufront_info *info = f->info;
	struct vgpufront_ctx *ctx;
	struct vgpufront_req *req;
	int tries, ret;

	for (tries = 0; tries < 2; tries++) {
		ctx = NULL;
		if (!o->noctx) {
			ret = vgpufront_file_ctx(f, &ctx);
			if (ret)
				return ret;
		}
		req = vgpufront_req_alloc(info, o->op, ctx ? ctx->handle : 0);
		ret = req ? vgpufront_req_reserve(req, o->nr_segs) : -ENOMEM;
		if (!ret) {
			req->wire.args = o->args;
			ret = o->build ? o->build(req, o) : 0;
		}
		if (!ret)
			ret = vgpufront_req_finish_segs(req, READ_ONCE(info->max_indirect));
		if (ret) {
			if (req)
				vgpufront_req_free(req);
			vgpufront_ctx_put(ctx);
			return ret;
		}
		if (o->async) {
			ret = vgpufront_submit(info, req, ctx, VGPUFRONT_SUBMIT_ASYNC);
			if (ret)
				vgpufront_req_free(req);
		} else {
			ret = vgpufront_call(info, req, ctx);
			/* An answer came (the request is ours again, not orphaned). */
			if (o->finish && (!ret || (o->finish_always && ret != -EINTR &&
						   req->done)))
				o->finish(req, o);
			vgpufront_req_put(req, ret);
		}
		vgpufront_ctx_put(ctx);
		if (ret != -ESTALE)
			return ret;
	}
	return -EIO;
}

static int vgpufront_ioc_query(struct vgpufront_file *f, void __user *uarg)
{
	struct vgpufront_info *info = f->info;
	struct vgpu_stub_query q = {};
	struct vgpufront_req *req;
	struct vgpuif_info *vi;
	void *buf;
	int ret;

	req = vgpufront_req_alloc(info, VGPUIF_OP_GET_INFO, 0);
	if (!req)
		return -ENOMEM;
	ret = vgpufront_req_reserve(req, 1);
	if (!ret)
		ret = vgpufront_add_kpage(req, sizeof(*vi), true, &buf);
	if (!ret)
		ret = vgpufront_req_finish_segs(req, 0);
	if (ret) {
		vgpufront_req_free(req);
		return ret;
	}
	ret = vgpufront_call(info, req, NULL);
	if (ret) {
		vgpufront_req_put(req, ret);
		return ret;
	}
	/* The backend may still scribble on buf: copy once, then use the copy. */
	vi = kmemdup(buf, sizeof(*vi), GFP_KERNEL);
	vgpufront_req_free(req);
	if (!vi)
		return -ENOMEM;
	q.abi_version = VGPU_STUB_ABI_VERSION;
	q.protocol_version = vi->protocol_version;
	q.executor = vi->executor;
	q.copy_mode = vi->copy_mode;
	memcpy(q.gpu_name, vi->gpu_name, sizeof(q.gpu_name));
	q.gpu_name[sizeof(q.gpu_name) - 1] = '\0';
	q.total_mem = vi->total_mem;
	q.free_mem = vi->free_mem;
	q.mem_quota = vi->mem_quota;
	q.mem_used = vi->mem_used;
	q.cc_major = vi->cc_major;
	q.cc_minor = vi->cc_minor;
	q.sm_count = vi->sm_count;
	q.priority = vi->priority;
	q.pool = vi->pool;
	q.domid = vi->domid;
	q.max_param_bytes = vi->max_param_bytes;
	q.max_handles = vi->max_handles;
	kfree(vi);

	spin_lock_irq(&info->lock);
	q.max_segments = info->max_segs;
	q.ops = info->ops;
	q.inline_bytes = info->inline_bytes;
	q.ring_pages = 1u << info->ring_order;
	q.ring_slots = info->slots.size;
	q.generation = info->gen;
	spin_unlock_irq(&info->lock);
	q.devid = info->devid;
	mutex_lock(&f->ctx_mutex);
	q.ctx = f->ctx ? f->ctx->handle : 0;
	mutex_unlock(&f->ctx_mutex);
	return copy_to_user(uarg, &q, sizeof(q)) ? -EFAULT : 0;
}

static int vgpufront_ioc_nop(struct vgpufront_file *f, void __user *uarg)
{
	struct vgpufront_info *info = f->info;
	struct vgpu_stub_nop n = {};
	struct vgpufront_req *req;
	int ret;

	req = vgpufront_req_alloc(info, VGPUIF_OP_NOP, 0);
	if (!req)
		return -ENOMEM;
	ret = vgpufront_call(info, req, NULL);
	if (!ret)
		n.exec_ns = req->rsp.exec_ns;
	vgpufront_req_put(req, ret);
	if (ret)
		return ret;
	return copy_to_user(uarg, &n, sizeof(n)) ? -EFAULT : 0;
}

/* VECTOR_ADD: a and b are read, c is written. */
static int vgpufront_build_vadd(struct vgpufront_req *req, const struct vgpufront_op *o)
{
	const struct vgpu_stub_vector_add *v = o->arg;
	u64 bytes = (u64)v->n * 4;
	int ret;

	ret = vgpufront_add_user(req, v->a, bytes, false);
	if (!ret)
		ret = vgpufront_add_user(req, v->b, bytes, false);
	if (!ret)
		ret = vgpufront_add_user(req, v->c, bytes, true);
	return ret;
}

static void vgpufront_finish_vadd(struct vgpufront_req *req, const struct vgpufront_op *o)
{
	struct vgpu_stub_vector_add *v = o->arg;

	v->exec_ns = req->rsp.exec_ns;
}

static int vgpufront_ioc_vector_add(struct vgpufront_file *f, void __user *uarg)
{
	struct vgpu_stub_vector_add v;
	struct vgpufront_op o = {
		.op = VGPUIF_OP_VECTOR_ADD,
		.build = vgpufront_build_vadd,
		.finish = vgpufront_finish_vadd,
		.arg = &v,
	};
	u64 bytes;
	int ret;

	if (copy_from_user(&v, uarg, sizeof(v)))
		return -EFAULT;
	if (v._pad0 || v.n == 0)
		return -EINVAL;
	if (v.n > VGPUIF_MAX_VECTOR_ADD_ELEMS)
		return -E2BIG;
	bytes = (u64)v.n * 4;
	o.nr_segs = vgpuif_pages_spanned(v.a, bytes) + vgpuif_pages_spanned(v.b, bytes) +
		    vgpuif_pages_spanned(v.c, bytes);
	o.args.vector_add.n = v.n;
	ret = vgpufront_run_op(f, &o);
	if (ret)
		return ret;
	return copy_to_user(uarg, &v, sizeof(v)) ? -EFAULT : 0;
}

static void vgpufront_finish_results(struct vgpufront_req *req,
				     const struct vgpufront_op *o)
{
	u64 *res = o->arg;

	res[0] = req->rsp.result[0];
	res[1] = req->rsp.result[1];
}

static int vgpufront_ioc_mem_alloc(struct vgpufront_file *f, void __user *uarg)
{
	struct vgpu_stub_mem_alloc m;
	u64 res[2] = {};
	struct vgpufront_op o = {
		.op = VGPUIF_OP_MEM_ALLOC,
		.finish = vgpufront_finish_results,
		.arg = res,
	};
	int ret;

	if (copy_from_user(&m, uarg, sizeof(m)))
		return -EFAULT;
	if (m.size == 0)
		return -EINVAL;
	o.args.mem_alloc.size = m.size;
	ret = vgpufront_run_op(f, &o);
	if (ret)
		return ret;
	m.handle = res[0];
	m.dev_addr = res[1];
	return copy_to_user(uarg, &m, sizeof(m)) ? -EFAULT : 0;
}

/* MEM_FREE and MODULE_UNLOAD: one handle, no data. */
static int vgpufront_ioc_handle_op(struct vgpufront_file *f, void __user *uarg, u8 op)
{
	struct vgpufront_op o = { .op = op };
	u64 handle;

	if (copy_from_user(&handle, uarg, sizeof(handle)))
		return -EFAULT;
	if (op == VGPUIF_OP_MEM_FREE)
		o.args.mem_free.mem = handle;
	else
		o.args.module_unload.module = handle;
	return vgpufront_run_op(f, &o);
}

struct vgpufront_copy {
	u64 host;
	u64 len;
	bool to_host;
};

static int vgpufront_build_copy(struct vgpufront_req *req, const struct vgpufront_op *o)
{
	const struct vgpufront_copy *c = o->arg;

	return vgpufront_add_user(req, c->host, c->len, c->to_host);
}

/* MEMCPY_H2D / D2H of any size: one request per max_segs pages, in order. */
static int vgpufront_ioc_memcpy(struct vgpufront_file *f, void __user *uarg, bool d2h)
{
	struct vgpufront_info *info = f->info;
	struct vgpu_stub_memcpy m;
	struct vgpufront_copy c;
	struct vgpufront_op o = {
		.op = d2h ? VGPUIF_OP_MEMCPY_D2H : VGPUIF_OP_MEMCPY_H2D,
		.build = vgpufront_build_copy,
		.arg = &c,
	};
	u64 done = 0;
	int ret;

	if (copy_from_user(&m, uarg, sizeof(m)))
		return -EFAULT;
	if (m.length == 0 || m.offset + m.length < m.offset)
		return -EINVAL;
	if (m.host + m.length < m.host ||
	    !access_ok(u64_to_user_ptr(m.host), m.length))
		return -EFAULT;
	while (done < m.length) {
		u32 max_segs = min_t(u32, READ_ONCE(info->max_segs),
				     clamp_t(u32, READ_ONCE(max_request_segments),
					     VGPUIF_MAX_DIRECT_SEGMENTS,
					     VGPUIF_MAX_INDIRECT_SEGMENTS));
		u64 chunk = vgpufront_chunk_len(m.host + done, m.length - done,
						max_segs ? max_segs : VGPUIF_MAX_DIRECT_SEGMENTS);

		c.host = m.host + done;
		c.len = chunk;
		c.to_host = d2h;
		o.nr_segs = vgpuif_pages_spanned(c.host, chunk);
		memset(&o.args, 0, sizeof(o.args));
		o.args.memcpy.mem = m.mem;
		o.args.memcpy.offset = m.offset + done;
		o.args.memcpy.length = chunk;
		ret = vgpufront_run_op(f, &o);
		if (ret)
			return ret;
		done += chunk;
		if (done < m.length && fatal_signal_pending(current))
			return -EINTR;
	}
	return 0;
}

static int vgpufront_ioc_d2d(struct vgpufront_file *f, void __user *uarg)
{
	struct vgpu_stub_memcpy_d2d m;
	struct vgpufront_op o = { .op = VGPUIF_OP_MEMCPY_D2D, .async = true };

	if (copy_from_user(&m, uarg, sizeof(m)))
		return -EFAULT;
	if (m.length == 0)
		return -EINVAL;
	o.args.memcpy_d2d.dst_mem = m.dst_mem;
	o.args.memcpy_d2d.dst_offset = m.dst_offset;
	o.args.memcpy_d2d.src_mem = m.src_mem;
	o.args.memcpy_d2d.src_offset = m.src_offset;
	o.args.memcpy_d2d.length = m.length;
	return vgpufront_run_op(f, &o);
}

static int vgpufront_ioc_memset(struct vgpufront_file *f, void __user *uarg)
{
	struct vgpu_stub_memset m;
	struct vgpufront_op o = { .op = VGPUIF_OP_MEMSET, .async = true };

	if (copy_from_user(&m, uarg, sizeof(m)))
		return -EFAULT;
	if (m.elem_size != 1 && m.elem_size != 2 && m.elem_size != 4)
		return -EINVAL;
	if (m.length == 0 || m.length % m.elem_size || m.offset % m.elem_size)
		return -EINVAL;
	o.args.memset.mem = m.mem;
	o.args.memset.offset = m.offset;
	o.args.memset.length = m.length;
	o.args.memset.value = m.value;
	o.args.memset.elem_size = m.elem_size;
	return vgpufront_run_op(f, &o);
}

/* MODULE_LOAD: the image is read, the log area written. */
static int vgpufront_build_mload(struct vgpufront_req *req, const struct vgpufront_op *o)
{
	const struct vgpu_stub_module_load *m = o->arg;
	int ret;

	ret = vgpufront_add_user(req, m->image, m->image_len, false);
	if (!ret && m->log_len)
		ret = vgpufront_add_user(req, m->log, m->log_len, true);
	return ret;
}

static void vgpufront_finish_mload(struct vgpufront_req *req, const struct vgpufront_op *o)
{
	struct vgpu_stub_module_load *m = o->arg;

	m->module = req->rsp.result[0];
	m->log_written = min_t(u64, req->rsp.result[1], m->log_len);
}

static int vgpufront_ioc_module_load(struct vgpufront_file *f, void __user *uarg)
{
	struct vgpu_stub_module_load m;
	struct vgpufront_op o = {
		.op = VGPUIF_OP_MODULE_LOAD,
		.build = vgpufront_build_mload,
		.finish = vgpufront_finish_mload,
		.arg = &m,
	};
	int ret;

	if (copy_from_user(&m, uarg, sizeof(m)))
		return -EFAULT;
	if (m.image_len == 0 || m.format > VGPUIF_MODULE_FATBIN || (m.log_len && !m.log))
		return -EINVAL;
	if (m.image_len > VGPUIF_MAX_MODULE_BYTES || m.log_len > VGPUIF_MAX_MODULE_LOG)
		return -E2BIG;
	o.nr_segs = vgpuif_pages_spanned(m.image, m.image_len) +
		    vgpuif_pages_spanned(m.log, m.log_len);
	o.args.module_load.image_len = m.image_len;
	o.args.module_load.format = m.format;
	o.args.module_load.log_len = m.log_len;
	ret = vgpufront_run_op(f, &o);
	if (ret)
		return ret;
	return copy_to_user(uarg, &m, sizeof(m)) ? -EFAULT : 0;
}

/* FUNC_GET: the name is copied into a kernel page, granted read-only. */
static int vgpufront_build_fget(struct vgpufront_req *req, const struct vgpufront_op *o)
{
	const struct vgpu_stub_func_get *g = o->arg;
	void *buf;
	int ret;

	ret = vgpufront_add_kpage(req, g->name_len, false, &buf);
	if (ret)
		return ret;
	return copy_from_user(buf, u64_to_user_ptr(g->name), g->name_len) ? -EFAULT : 0;
}

static void vgpufront_finish_fget(struct vgpufront_req *req, const struct vgpufront_op *o)
{
	struct vgpu_stub_func_get *g = o->arg;

	g->func = req->rsp.result[0];
	g->param_bytes = req->rsp.result[1];
}

static int vgpufront_ioc_func_get(struct vgpufront_file *f, void __user *uarg)
{
	struct vgpu_stub_func_get g;
	struct vgpufront_op o = {
		.op = VGPUIF_OP_FUNC_GET,
		.nr_segs = 1,
		.build = vgpufront_build_fget,
		.finish = vgpufront_finish_fget,
		.arg = &g,
	};
	int ret;

	if (copy_from_user(&g, uarg, sizeof(g)))
		return -EFAULT;
	if (g._pad0 || g.name_len == 0 || !g.name)
		return -EINVAL;
	if (g.name_len > VGPUIF_MAX_FUNC_NAME)
		return -E2BIG;
	o.args.func_get.module = g.module;
	o.args.func_get.name_len = g.name_len;
	ret = vgpufront_run_op(f, &o);
	if (ret)
		return ret;
	return copy_to_user(uarg, &g, sizeof(g)) ? -EFAULT : 0;
}

/* LAUNCH: the parameter buffer is copied into a kernel page (read-only). */
static int vgpufront_build_launch(struct vgpufront_req *req, const struct vgpufront_op *o)
{
	const struct vgpu_stub_launch *l = o->arg;
	void *buf;
	int ret;

	if (!l->param_len)
		return 0;
	ret = vgpufront_add_kpage(req, l->param_len, false, &buf);
	if (ret)
		return ret;
	return copy_from_user(buf, u64_to_user_ptr(l->params), l->param_len) ? -EFAULT : 0;
}

static int vgpufront_ioc_launch(struct vgpufront_file *f, void __user *uarg)
{
	struct vgpu_stub_launch l;
	struct vgpufront_op o = {
		.op = VGPUIF_OP_LAUNCH,
		.async = true,
		.build = vgpufront_build_launch,
		.arg = &l,
	};
	int i;

	if (copy_from_user(&l, uarg, sizeof(l)))
		return -EFAULT;
	for (i = 0; i < 3; i++)
		if (!l.grid[i] || !l.block[i])
			return -EINVAL;
	if ((u64)l.block[0] * l.block[1] * l.block[2] > VGPUIF_MAX_BLOCK_THREADS)
		return -EINVAL;
	if (l.param_len && !l.params)
		return -EINVAL;
	if (l.param_len > VGPUIF_MAX_PARAM_BYTES)
		return -E2BIG;
	o.nr_segs = l.param_len ? 1 : 0;
	o.args.launch.func = l.func;
	memcpy(o.args.launch.grid, l.grid, sizeof(l.grid));
	memcpy(o.args.launch.block, l.block, sizeof(l.block));
	o.args.launch.shared_mem = l.shared_mem;
	o.args.launch.param_len = l.param_len;
	return vgpufront_run_op(f, &o);
}

static bool vgpufront_async_idle(struct vgpufront_ctx *ctx)
{
	return atomic_read(&ctx->async_inflight) == 0;
}

/* SYNC: all earlier work of this context is done; reports async errors. */
static int vgpufront_ioc_sync(struct vgpufront_file *f, void __user *uarg)
{
	struct vgpufront_info *info = f->info;
	struct vgpu_stub_sync s = {};
	u64 res[2] = {};
	struct vgpufront_op o = {
		.op = VGPUIF_OP_SYNC,
		.finish = vgpufront_finish_results,
		.arg = res,
	};
	struct vgpufront_ctx *ctx;
	int ret, ret2, aerr;

	ret = vgpufront_run_op(f, &o);
	if (ret == -EINTR || ret == -ERESTARTSYS || ret == -ENODEV || ret == -ENOTCONN)
		return ret;
	ret2 = vgpufront_file_ctx(f, &ctx);
	if (ret2)
		return ret ? ret : ret2;
	/* Responses may come back out of order: wait for the async ones too. */
	if (!ret && wait_event_interruptible(info->wq, vgpufront_async_idle(ctx))) {
		vgpufront_ctx_put(ctx);
		return -EINTR;
	}
	aerr = atomic_xchg(&ctx->async_err, 0);
	vgpufront_ctx_put(ctx);
	if (ret)
		return ret;
	if (aerr)
		return aerr;
	s.exec_ns = res[0];
	return copy_to_user(uarg, &s, sizeof(s)) ? -EFAULT : 0;
}

/*
 * CALL: any op of the protocol. Copied regions go inline when the backend
 * offers feature-inline and all of them fit, else each into a kernel page
 * (read-only); other regions are pinned and granted as they are (writable
 * when the backend writes them), and stay so until the answer, ASYNC
 * included.
 */
struct vgpufront_call {
	struct vgpu_stub_call c;
	struct vgpufront_info *info;
	bool inl;               /* this try's regions went inline */
};

static int vgpufront_build_call(struct vgpufront_req *req, const struct vgpufront_op *o)
{
	struct vgpufront_call *k = o->arg;
	const struct vgpu_stub_call *c = &k->c;
	u32 i, at = 0;
	int ret = 0;

	/* Read per try: a reconnect may bring a backend without inline data. */
	k->inl = vgpufront_call_inline(c, READ_ONCE(k->info->inline_bytes));
	for (i = 0; i < c->nr_regions && !ret; i++) {
		const struct vgpu_stub_region *g = &c->regions[i];
		void __user *u = u64_to_user_ptr(g->addr);
		void *buf;

		if (k->inl) {
			if (copy_from_user(req->wire.u.inline_data + at, u, g->len))
				return -EFAULT;
			at += g->len;
		} else if (g->flags & VGPU_STUB_REGION_COPY) {
			ret = vgpufront_add_kpage(req, g->len, false, &buf);
			if (!ret && copy_from_user(buf, u, g->len))
				ret = -EFAULT;
		} else {
			ret = vgpufront_add_user(req, g->addr, g->len,
						 g->flags & VGPU_STUB_REGION_WRITE);
		}
	}
	if (k->inl) {
		req->wire.flags |= VGPUIF_F_INLINE;
		req->inline_len = at;
	}
	return ret;
}

static void vgpufront_finish_call(struct vgpufront_req *req, const struct vgpufront_op *o)
{
	struct vgpufront_call *k = o->arg;

	k->c.status = vgpufront_rsp_status(req->rsp.status);
	k->c.result[0] = req->rsp.result[0];
	k->c.result[1] = req->rsp.result[1];
	k->c.exec_ns = req->rsp.exec_ns;
}

/*
 * After a sync-type op: every async request of the file's context is
 * answered; returns the first error among them (then cleared).
 */
static int vgpufront_async_errors(struct vgpufront_file *f)
{
	struct vgpufront_ctx *ctx;
	int ret, aerr;

	ret = vgpufront_file_ctx(f, &ctx);
	if (ret)
		return ret;
	/* Responses may come back out of order: wait for the async ones too. */
	if (wait_event_interruptible(f->info->wq, vgpufront_async_idle(ctx))) {
		vgpufront_ctx_put(ctx);
		return -EINTR;
	}
	aerr = atomic_xchg(&ctx->async_err, 0);
	vgpufront_ctx_put(ctx);
	return aerr;
}

static int vgpufront_ioc_call(struct vgpufront_file *f, void __user *uarg)
{
	struct vgpufront_call k = {};
	struct vgpufront_op o = {
		.build = vgpufront_build_call,
		.finish = vgpufront_finish_call,
		.finish_always = true,
		.arg = &k,
	};
	u32 nr_segs, ctx;
	int ret;

	if (copy_from_user(&k.c, uarg, sizeof(k.c)))
		return -EFAULT;
	ret = vgpufront_call_check(&k.c, &nr_segs);
	if (ret)
		return ret;
	for (ret = 0; ret < (int)k.c.nr_regions; ret++)
		if (!access_ok(u64_to_user_ptr(k.c.regions[ret].addr), k.c.regions[ret].len))
			return -EFAULT;
	vgpufront_op_ctx(k.c.op, 1, &ctx);
	o.op = (u8)k.c.op;
	o.noctx = !ctx;
	o.async = k.c.flags & VGPU_STUB_CALL_ASYNC;
	o.nr_segs = nr_segs;
	memcpy(&o.args, k.c.args, sizeof(o.args));
	k.info = f->info;
	k.c.status = 0;
	ret = vgpufront_run_op(f, &o);
	/* As SYNC: the first async error since, unless the op failed first. */
	if (!o.async && vgpufront_op_reports_async(k.c.op) && ret != -EINTR &&
	    ret != -ERESTARTSYS && ret != -ENODEV && ret != -ETIMEDOUT &&
	    ret != -ENOTCONN) {
		int aerr = vgpufront_async_errors(f);

		if (!ret && aerr) {
			ret = aerr;
			if (aerr != -EINTR)
				k.c.status = aerr;
		}
	}
	if (copy_to_user(uarg, &k.c, sizeof(k.c)))
		return -EFAULT;
	return ret;
}

static long vgpufront_ioctl(struct file *filp, unsigned int cmd, unsigned long arg)
{
	struct vgpufront_file *f = filp->private_data;
	void __user *uarg = (void __user *)arg;

	if (READ_ONCE(f->info->removed))
		return -ENODEV;
	switch (cmd) {
	case VGPU_STUB_IOC_QUERY:
		return vgpufront_ioc_query(f, uarg);
	case VGPU_STUB_IOC_NOP:
		return vgpufront_ioc_nop(f, uarg);
	case VGPU_STUB_IOC_VECTOR_ADD:
		return vgpufront_ioc_vector_add(f, uarg);
	case VGPU_STUB_IOC_MEM_ALLOC:
		return vgpufront_ioc_mem_alloc(f, uarg);
	case VGPU_STUB_IOC_MEM_FREE:
		return vgpufront_ioc_handle_op(f, uarg, VGPUIF_OP_MEM_FREE);
	case VGPU_STUB_IOC_MEMCPY_H2D:
		return vgpufront_ioc_memcpy(f, uarg, false);
	case VGPU_STUB_IOC_MEMCPY_D2H:
		return vgpufront_ioc_memcpy(f, uarg, true);
	case VGPU_STUB_IOC_MEMCPY_D2D:
		return vgpufront_ioc_d2d(f, uarg);
	case VGPU_STUB_IOC_MEMSET:
		return vgpufront_ioc_memset(f, uarg);
	case VGPU_STUB_IOC_MODULE_LOAD:
		return vgpufront_ioc_module_load(f, uarg);
	case VGPU_STUB_IOC_MODULE_UNLOAD:
		return vgpufront_ioc_handle_op(f, uarg, VGPUIF_OP_MODULE_UNLOAD);
	case VGPU_STUB_IOC_FUNC_GET:
		return vgpufront_ioc_func_get(f, uarg);
	case VGPU_STUB_IOC_LAUNCH:
		return vgpufront_ioc_launch(f, uarg);
	case VGPU_STUB_IOC_SYNC:
		return vgpufront_ioc_sync(f, uarg);
	case VGPU_STUB_IOC_CALL:
		return vgpufront_ioc_call(f, uarg);
	default:
		return -ENOTTY;
	}
}

/* ------------------------------------------------------------ misc device */

static int vgpufront_open(struct inode *inode, struct file *filp)
{
	struct vgpufront_info *info = NULL;
	struct vgpufront_file *f;
	int ret;

	mutex_lock(&vgpufront_devs_mutex);
	if (!list_empty(&vgpufront_devs)) {
		info = list_first_entry(&vgpufront_devs, struct vgpufront_info, node);
		kref_get(&info->kref);
	}
	mutex_unlock(&vgpufront_devs_mutex);
	if (!info)
		return -ENODEV;

	f = kzalloc(sizeof(*f), GFP_KERNEL);
	if (!f) {
		ret = -ENOMEM;
		goto out_put_info;
	}
	f->info = info;
	mutex_init(&f->ctx_mutex);
	/*
	 * No context yet: vgpufront_file_ctx() makes it at the first op that
	 * needs one. misc_open() holds misc_mtx around us, so a wait for the
	 * backend here would stall every misc-device open of the guest
	 * (/dev/xen/xenbus, and with it all XenStore tools) behind a dead or
	 * slow backend.
	 */
	filp->private_data = f;
	return 0;

out_put_info:
	vgpufront_info_put(info);
	return ret;
}

static int vgpufront_release(struct inode *inode, struct file *filp)
{
	struct vgpufront_file *f = filp->private_data;
	struct vgpufront_info *info = f->info;

	if (f->ctx) {
		vgpufront_ctx_destroy(info, f->ctx);
		vgpufront_ctx_put(f->ctx);
	}
	kfree(f);
	vgpufront_info_put(info);
	return 0;
}

static const struct file_operations vgpufront_fops = {
	.owner = THIS_MODULE,
	.open = vgpufront_open,
	.release = vgpufront_release,
	.unlocked_ioctl = vgpufront_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice vgpufront_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = VGPU_STUB_NAME,
	.fops = &vgpufront_fops,
	.mode = 0666,
};

/* ----------------------------------------------------------------- sysfs */

static struct vgpufront_info *vgpufront_dev_info(struct device *dev)
{
	return dev_get_drvdata(dev);
}

static ssize_t state_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	struct vgpufront_info *info = vgpufront_dev_info(dev);

	return sysfs_emit(buf, "%s\n", vgpufront_conn_names[READ_ONCE(info->conn)]);
}
static DEVICE_ATTR_RO(state);

static ssize_t inflight_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", atomic_read(&vgpufront_dev_info(dev)->inflight));
}
static DEVICE_ATTR_RO(inflight);

static ssize_t completed_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%lld\n",
			  (long long)atomic64_read(&vgpufront_dev_info(dev)->completed));
}
static DEVICE_ATTR_RO(completed);

static ssize_t errors_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%lld\n",
			  (long long)atomic64_read(&vgpufront_dev_info(dev)->errors));
}
static DEVICE_ATTR_RO(errors);

static ssize_t grants_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", atomic_read(&vgpufront_dev_info(dev)->grants));
}
static DEVICE_ATTR_RO(grants);

static ssize_t generation_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%llu\n",
			  (unsigned long long)READ_ONCE(vgpufront_dev_info(dev)->gen));
}
static DEVICE_ATTR_RO(generation);

static ssize_t ring_pages_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", 1u << READ_ONCE(vgpufront_dev_info(dev)->ring_order));
}
static DEVICE_ATTR_RO(ring_pages);

static ssize_t max_segments_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(vgpufront_dev_info(dev)->max_segs));
}
static DEVICE_ATTR_RO(max_segments);

static ssize_t broken_count_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%lld\n",
			  (long long)atomic64_read(&vgpufront_dev_info(dev)->broken_count));
}
static DEVICE_ATTR_RO(broken_count);

static struct attribute *vgpufront_attrs[] = {
	&dev_attr_state.attr,
	&dev_attr_inflight.attr,
	&dev_attr_completed.attr,
	&dev_attr_errors.attr,
	&dev_attr_grants.attr,
	&dev_attr_generation.attr,
	&dev_attr_ring_pages.attr,
	&dev_attr_max_segments.attr,
	&dev_attr_broken_count.attr,
	NULL,
};

/* Under /sys/bus/xen/devices/vgpu-N/vgpu/ (xenbus has its own "state"). */
static const struct attribute_group vgpufront_attr_group = {
	.name = "vgpu",
	.attrs = vgpufront_attrs,
};

/* ------------------------------------------------------------ xenbus side */

/*
 * Drops the ring: every in-flight request fails with status and its waiter
 * wakes; the interrupt is unbound, the ring pages ungranted (kept until the
 * backend unmaps them if it still has them mapped).
 */
static void vgpufront_disconnect(struct vgpufront_info *info, int status)
{
	int irq;

	spin_lock_irq(&info->lock);
	if (info->conn == VGPUFRONT_DISCONNECTED) {
		spin_unlock_irq(&info->lock);
		return;
	}
	info->conn = VGPUFRONT_DISCONNECTED;
	vgpufront_fail_all_locked(info, status);
	irq = info->irq;
	info->irq = 0;
	spin_unlock_irq(&info->lock);

	if (irq > 0)
		unbind_from_irqhandler(irq, info); /* waits for a running handler */
	info->evtchn = 0;
	if (info->ring_vaddr)
		xenbus_teardown_ring(&info->ring_vaddr, 1u << info->ring_order,
				     info->ring_ref);
	info->ring.sring = NULL;
	wake_up_all(&info->wq);
}

/* Writes the ring's keys in one transaction, retried on EAGAIN. */
static int vgpufront_write_keys(struct vgpufront_info *info)
{
	struct xenbus_device *dev = info->xbdev;
	struct xenbus_transaction xbt;
	unsigned int nr = 1u << info->ring_order, i;
	const char *what;
	int err;

again:
	err = xenbus_transaction_start(&xbt);
	if (err) {
		xenbus_dev_fatal(dev, err, "starting transaction");
		return err;
	}
	if (info->ring_order == 0) {
		what = "writing " VGPUIF_XS_RING_REF;
		err = xenbus_printf(xbt, dev->nodename, VGPUIF_XS_RING_REF, "%u",
				    info->ring_ref[0]);
		if (err)
			goto abort;
	} else {
		what = "writing " VGPUIF_XS_RING_PAGE_ORDER;
		err = xenbus_printf(xbt, dev->nodename, VGPUIF_XS_RING_PAGE_ORDER, "%u",
				    info->ring_order);
		if (err)
			goto abort;
		what = "writing ring-ref%u";
		for (i = 0; i < nr; i++) {
			char key[16];

			snprintf(key, sizeof(key), VGPUIF_XS_RING_REF_FMT, i);
			err = xenbus_printf(xbt, dev->nodename, key, "%u", info->ring_ref[i]);
			if (err)
				goto abort;
		}
	}
	what = "writing " VGPUIF_XS_EVENT_CHANNEL;
	err = xenbus_printf(xbt, dev->nodename, VGPUIF_XS_EVENT_CHANNEL, "%u",
			    info->evtchn);
	if (err)
		goto abort;
	what = "writing " VGPUIF_XS_PROTOCOL;
	err = xenbus_write(xbt, dev->nodename, VGPUIF_XS_PROTOCOL, VGPUIF_PROTOCOL);
	if (err)
		goto abort;
	what = "writing " VGPUIF_XS_FEATURE_PERSISTENT;
	err = xenbus_write(xbt, dev->nodename, VGPUIF_XS_FEATURE_PERSISTENT, "0");
	if (err)
		goto abort;
	err = xenbus_transaction_end(xbt, 0);
	if (err == -EAGAIN)
		goto again;
	if (err) {
		xenbus_dev_fatal(dev, err, "completing transaction");
		return err;
	}
	return 0;

abort:
	xenbus_transaction_end(xbt, 1);
	xenbus_dev_fatal(dev, err, "%s", what);
	return err;
}

/*
 * The backend is in InitWait: allocate and grant a ring of up to its
 * max-ring-page-order pages, bind an event channel, advertise them and go
 * Initialised.
 */
static int vgpufront_talk_to_backend(struct vgpufront_info *info)
{
	struct xenbus_device *dev = info->xbdev;
	unsigned int order, nr;
	void *sring;
	int err, irq;

	vgpufront_disconnect(info, -EIO); /* leftovers of an earlier connection */

	order = xenbus_read_unsigned(dev->otherend, VGPUIF_XS_MAX_RING_PAGE_ORDER, 0);
	order = min3(order, max_ring_page_order, VGPUIF_MAX_RING_PAGE_ORDER);
	nr = 1u << order;

	err = xenbus_setup_ring(dev, GFP_NOIO | __GFP_HIGH, &sring, nr, info->ring_ref);
	if (err)
		return err; /* xenbus_setup_ring reported it */
	SHARED_RING_INIT((struct vgpuif_sring *)sring);

	err = xenbus_alloc_evtchn(dev, &info->evtchn);
	if (err)
		goto out_teardown_ring;
	irq = bind_evtchn_to_irqhandler(info->evtchn, vgpufront_interrupt, 0,
					"vgpu-front", info);
	if (irq < 0) {
		err = irq;
		xenbus_dev_fatal(dev, err, "binding event channel %u", info->evtchn);
		goto out_free_evtchn;
	}

	spin_lock_irq(&info->lock);
	info->ring_vaddr = sring;
	info->ring_order = order;
	FRONT_RING_INIT(&info->ring, (struct vgpuif_sring *)sring, PAGE_SIZE * nr);
	vgpufront_slots_init(&info->slots, RING_SIZE(&info->ring));
	info->irq = irq;
	info->conn = VGPUFRONT_INITIALISED;
	spin_unlock_irq(&info->lock);

	err = vgpufront_write_keys(info);
	if (err) {
		vgpufront_disconnect(info, -EIO);
		return err;
	}
	xenbus_switch_state(dev, XenbusStateInitialised);
	dev_info(&dev->dev, "ring of %u page(s) (%u slots), event channel %u, waiting for backend domain %u\n",
		 nr, info->slots.size, info->evtchn, info->backend_id);
	return 0;

out_free_evtchn:
	xenbus_free_evtchn(dev, info->evtchn);
	info->evtchn = 0;
out_teardown_ring:
	xenbus_teardown_ring(&sring, nr, info->ring_ref);
	return err;
}

/* The backend is Connected: read what it offers, then accept requests. */
static void vgpufront_connect(struct vgpufront_info *info)
{
	struct xenbus_device *dev = info->xbdev;
	u32 max_ind = xenbus_read_unsigned(dev->otherend, VGPUIF_XS_FEATURE_MAX_INDIRECT, 0);
	u32 ops = xenbus_read_unsigned(dev->otherend, VGPUIF_XS_FEATURE_OPS,
				       VGPUIF_OP_COUNT_V1);
	bool inl = xenbus_read_unsigned(dev->otherend, VGPUIF_XS_FEATURE_INLINE, 0) == 1;

	spin_lock_irq(&info->lock);
	if (info->conn != VGPUFRONT_INITIALISED) {
		spin_unlock_irq(&info->lock);
		return;
	}
	info->max_indirect = min_t(u32, max_ind, VGPUIF_MAX_INDIRECT_SEGMENTS);
	info->max_segs = vgpufront_max_segs(info->max_indirect, 0);
	info->ops = min_t(u32, ops, 256);
	info->inline_bytes = inl ? VGPUIF_MAX_INLINE_BYTES : 0;
	info->gen++;
	info->conn = VGPUFRONT_CONNECTED;
	spin_unlock_irq(&info->lock);
	xenbus_switch_state(dev, XenbusStateConnected);
	wake_up_all(&info->wq);
	dev_info(&dev->dev, "connected to backend domain %u (connection %llu, %u segments per request, ops 0..%u, inline data %s)\n",
		 info->backend_id, (unsigned long long)info->gen, info->max_segs,
		 info->ops - 1, info->inline_bytes ? "yes" : "no");
}

static void vgpufront_backend_changed(struct xenbus_device *dev,
				      enum xenbus_state backend_state)
{
	struct vgpufront_info *info = dev_get_drvdata(&dev->dev);

	dev_dbg(&dev->dev, "backend %s, frontend %s\n", xenbus_strstate(backend_state),
		xenbus_strstate(dev->state));
	mutex_lock(&info->conn_mutex);
	switch (backend_state) {
	case XenbusStateInitWait:
		/*
		 * A fresh backend (first start, restart, or after our Closed).
		 * Initialised means our keys already wait for it; anything else
		 * (Connected: it restarted under us) starts from the top.
		 */
		if (dev->state == XenbusStateInitialised &&
		    READ_ONCE(info->conn) == VGPUFRONT_INITIALISED)
			break;
		if (READ_ONCE(info->conn) != VGPUFRONT_DISCONNECTED)
			dev_warn(&dev->dev, "backend domain %u restarted; in-flight requests fail with EIO, reconnecting\n",
				 info->backend_id);
		if (vgpufront_talk_to_backend(info))
			dev_err(&dev->dev, "cannot set up the ring; waiting for the backend to reset\n");
		break;
	case XenbusStateConnected:
		if (dev->state == XenbusStateInitialised)
			vgpufront_connect(info);
		break;
	case XenbusStateInitialising:
	case XenbusStateInitialised:
	case XenbusStateReconfiguring:
	case XenbusStateReconfigured:
		break;
	case XenbusStateUnknown:
		/* The backend's directory went away: the toolstack detached it. */
		if (READ_ONCE(info->conn) != VGPUFRONT_DISCONNECTED) {
			dev_warn(&dev->dev, "backend domain %u went away; in-flight requests fail with EIO\n",
				 info->backend_id);
			vgpufront_disconnect(info, -EIO);
		}
		break;
	case XenbusStateClosing:
	case XenbusStateClosed:
		if (READ_ONCE(info->conn) != VGPUFRONT_DISCONNECTED)
			dev_info(&dev->dev, "backend domain %u is %s; in-flight requests fail with EIO\n",
				 info->backend_id, xenbus_strstate(backend_state));
		vgpufront_disconnect(info, -EIO);
		if (dev->state != XenbusStateClosed)
			xenbus_frontend_closed(dev);
		break;
	}
	mutex_unlock(&info->conn_mutex);
}

static int vgpufront_probe(struct xenbus_device *dev, const struct xenbus_device_id *id)
{
	struct vgpufront_info *info;
	int err;

	info = kzalloc(sizeof(*info), GFP_KERNEL);
	if (!info) {
		xenbus_dev_fatal(dev, -ENOMEM, "allocating vgpu frontend state");
		return -ENOMEM;
	}
	kref_init(&info->kref);
	info->xbdev = dev;
	info->backend_id = dev->otherend_id;
	if (kstrtouint(strrchr(dev->nodename, '/') + 1, 10, &info->devid))
		info->devid = 0;
	mutex_init(&info->conn_mutex);
	spin_lock_init(&info->lock);
	init_waitqueue_head(&info->wq);
	INIT_WORK(&info->broken_work, vgpufront_broken_fn);
	info->conn = VGPUFRONT_DISCONNECTED;
	dev_set_drvdata(&dev->dev, info);

	err = sysfs_create_group(&dev->dev.kobj, &vgpufront_attr_group);
	if (err) {
		xenbus_dev_fatal(dev, err, "creating sysfs attributes");
		goto out_free;
	}
	mutex_lock(&vgpufront_devs_mutex);
	list_add_tail(&info->node, &vgpufront_devs);
	mutex_unlock(&vgpufront_devs_mutex);
	dev_info(&dev->dev, "probed %s, backend %s (domain %u)\n", dev->nodename,
		 dev->otherend, info->backend_id);
	/* The ring waits for the backend's InitWait (backend_changed). */
	return 0;

out_free:
	dev_set_drvdata(&dev->dev, NULL);
	kfree(info);
	return err;
}

/* After xl restore: the old ring and grants are gone; reconnect from the top. */
static int vgpufront_resume(struct xenbus_device *dev)
{
	struct vgpufront_info *info = dev_get_drvdata(&dev->dev);

	mutex_lock(&info->conn_mutex);
	dev_info(&dev->dev, "resumed; in-flight requests fail with EIO, reconnecting\n");
	vgpufront_disconnect(info, -EIO);
	info->backend_id = dev->otherend_id;
	mutex_unlock(&info->conn_mutex);
	return 0;
}

static void vgpufront_remove_common(struct xenbus_device *dev)
{
	struct vgpufront_info *info = dev_get_drvdata(&dev->dev);

	mutex_lock(&vgpufront_devs_mutex);
	list_del(&info->node);
	mutex_unlock(&vgpufront_devs_mutex);

	mutex_lock(&info->conn_mutex);
	spin_lock_irq(&info->lock);
	info->removed = true;
	spin_unlock_irq(&info->lock);
	vgpufront_disconnect(info, -ENODEV);
	mutex_unlock(&info->conn_mutex);
	wake_up_all(&info->wq);
	cancel_work_sync(&info->broken_work);

	sysfs_remove_group(&dev->dev.kobj, &vgpufront_attr_group);
	dev_set_drvdata(&dev->dev, NULL);
	dev_info(&dev->dev, "removed\n");
	info->xbdev = NULL;
	vgpufront_info_put(info);
}

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 1, 0)
static int vgpufront_remove(struct xenbus_device *dev)
{
	vgpufront_remove_common(dev);
	return 0;
}
#else
static void vgpufront_remove(struct xenbus_device *dev)
{
	vgpufront_remove_common(dev);
}
#endif

static const struct xenbus_device_id vgpufront_ids[] = {
	{ VGPUIF_XS_DEVICE_TYPE },
	{ "" }
};

static struct xenbus_driver vgpufront_driver = {
	.ids = vgpufront_ids,
	.probe = vgpufront_probe,
	.remove = vgpufront_remove,
	.resume = vgpufront_resume,
	.otherend_changed = vgpufront_backend_changed,
	.not_essential = true,
};

/* ------------------------------------------------------------ module init */

static int __init vgpufront_init(void)
{
	int err;

	BUILD_BUG_ON(sizeof(struct vgpuif_request) != 128);
	BUILD_BUG_ON(sizeof(struct vgpuif_response) != 40);
	BUILD_BUG_ON(VGPUIF_PAGE_SIZE != XEN_PAGE_SIZE);

	if (!xen_domain())
		return -ENODEV;
	if (max_ring_page_order > VGPUIF_MAX_RING_PAGE_ORDER) {
		pr_warn("max_ring_page_order %u is above %u; using %u\n", max_ring_page_order,
			VGPUIF_MAX_RING_PAGE_ORDER, VGPUIF_MAX_RING_PAGE_ORDER);
		max_ring_page_order = VGPUIF_MAX_RING_PAGE_ORDER;
	}
	err = misc_register(&vgpufront_misc);
	if (err) {
		pr_err("cannot register /dev/%s: %d\n", VGPU_STUB_NAME, err);
		return err;
	}
	err = xenbus_register_frontend(&vgpufront_driver);
	if (err) {
		pr_err("cannot register the xenbus driver: %d\n", err);
		goto out_misc;
	}
	pr_info("loaded: /dev/%s, xenbus device type \"%s\", protocol %s\n",
		VGPU_STUB_NAME, VGPUIF_XS_DEVICE_TYPE, VGPUIF_PROTOCOL);
	return 0;

out_misc:
	misc_deregister(&vgpufront_misc);
	return err;
}
module_init(vgpufront_init);

static void __exit vgpufront_exit(void)
{
	xenbus_unregister_driver(&vgpufront_driver);
	misc_deregister(&vgpufront_misc);
	flush_work(&vgpufront_reap_work);
	pr_info("unloaded\n");
}
module_exit(vgpufront_exit);

MODULE_DESCRIPTION("vgpu-xen guest frontend: xenbus driver \"vgpu\" and /dev/vgpu_stub");
MODULE_LICENSE("GPL");
MODULE_ALIAS("xen:vgpu");
