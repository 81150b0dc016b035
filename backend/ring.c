/* SPDX-License-Identifier: MIT */
/*
 * ring.c - the data path: get -> parse -> execute, and the responses.
 *
 * get      RING_REQUEST_PROD_OVERFLOW (a lying producer halts the ring),
 *          RING_COPY_REQUEST, indirect descriptor pages copied once;
 * parse    parse.c, on the private copies only;
 * execute  handles reserved, data grants mapped (grants.c), the op handed
 *          to the scheduler hook (sched.c) and the executor; done() may come
 *          from any thread: it queues the request and kicks an eventfd, and
 *          the ring thread writes the response
 *          (RING_PUSH_RESPONSES_AND_CHECK_NOTIFY) and re-checks the ring
 *          (RING_FINAL_CHECK_FOR_REQUESTS).
 * In flight: at most the ring size (or max-inflight); past that the backend
 * stops consuming until something completes, so a guest that never reads
 * its responses neither blocks nor spins the backend.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common.h"
#include "log.h"

#define RING_BUDGET        256u   /* requests per pass before other work */
/*
 * poll-us auto: the polling window adapts the way Linux's halt polling
 * does. Woken by work that came less than POLL_AUTO_MAX_NS after the last
 * (polling that long would have caught it), the window doubles (from
 * POLL_AUTO_STEP_NS, up to the maximum); woken after a longer quiet spell,
 * it halves, down to nothing. A guest issuing op after op keeps a window
 * as long as its round trip and pays no wake-up; one whose kernels run
 * for milliseconds, or that is idle, costs no polling.
 */
#define POLL_AUTO_STEP_NS (20ull * 1000)
#define POLL_AUTO_MAX_NS  (500ull * 1000)
#define STORM_THROTTLE_NS  (10ull * 1000 * 1000)

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

/* ------------------------------------------------------------ lifecycle */

int vgpuback_dev_init(struct vgpuback_device *dev,
		      const struct vgpuback_config *cfg,
		      struct vgpuback_transport *t, struct vgpu_exec *exec)
{
	int err;

	memset(dev, 0, sizeof(*dev));
	dev->domid = cfg->domid;
	dev->devid = cfg->devid;
	dev->cfg = cfg;
	dev->t = t;
	dev->exec = exec;
	dev->ring.port = -1;
	dev->done_fd = -1;
	dev->priority = VGPUIF_PRIO_MEDIUM;
	dev->policy.max_indirect_segments = cfg->max_indirect_segments;
	dev->policy.mem_quota = cfg->mem_quota;
	dev->policy.revision1 = cfg->protocol_revision == 1;
	dev->policy.no_host_mem = cfg->protocol_revision < 3;
	dev->ring_thread = pthread_self();
	dev->ring_awake = true;
	dev->poll_window_ns = POLL_AUTO_STEP_NS;
	pthread_mutex_init(&dev->done_lock, NULL);

	err = vgpuback_handles_init(&dev->handles, dev->domid,
				    cfg->max_contexts, cfg->max_handles_per_ctx);
	if (err)
		goto out_mutex;
	dev->seg_buf = malloc(VGPUIF_MAX_INDIRECT_PAGES * VGPUIF_PAGE_SIZE);
	if (!dev->seg_buf) {
		err = -ENOMEM;
		goto out_handles;
	}
	dev->done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (dev->done_fd < 0) {
		err = -errno;
		goto out_segbuf;
	}
	dev->dinfo_status = VGPUIF_RSP_EOPNOTSUPP;
	if (exec) {
		err = vgpuback_dev_set_exec(dev, exec);
		if (err)
			goto out_fd;
	}
	err = vgpuback_sched_init(dev);
	if (err)
		goto out_fd;
	return 0;

out_fd:
	close(dev->done_fd);
	dev->done_fd = -1;
out_segbuf:
	free(dev->seg_buf);
	dev->seg_buf = NULL;
out_handles:
	vgpuback_handles_uninit(&dev->handles);
out_mutex:
	pthread_mutex_destroy(&dev->done_lock);
	return err;
}

int vgpuback_dev_set_exec(struct vgpuback_device *dev, struct vgpu_exec *exec)
{
	int err = vgpu_exec_get_info(exec, &dev->einfo);

	if (err)
		return err;
	dev->exec = exec;
	/* The snapshot is fixed from here on: every answer the same. */
	dev->dinfo_status = VGPUIF_RSP_EOPNOTSUPP;
	if (vgpu_exec_device_info(exec, &dev->dinfo) == 0)
		dev->dinfo_status = 0;
	vgpuback_sched_exec_info(dev);
	return 0;
}

void vgpuback_dev_uninit(struct vgpuback_device *dev)
{
	vgpuback_sched_uninit(dev);
	if (dev->done_fd >= 0)
		close(dev->done_fd);
	dev->done_fd = -1;
	free(dev->seg_buf);
	dev->seg_buf = NULL;
	vgpuback_handles_uninit(&dev->handles);
	pthread_mutex_destroy(&dev->done_lock);
}

/* ------------------------------------------------------------ responses */

static void respond(struct vgpuback_device *dev, uint64_t id, uint8_t op,
		    int status, uint64_t r0, uint64_t r1, uint64_t exec_ns)
{
	struct vgpuif_response rsp;

	if (dev->conn == VGPUBACK_DISCONNECTED)
		return;
	memset(&rsp, 0, sizeof(rsp));
	rsp.id = id;
	rsp.status = status;
	rsp.op = op;
	rsp.result[0] = r0;
	rsp.result[1] = r1;
	rsp.exec_ns = exec_ns;
	memcpy(RING_GET_RESPONSE(&dev->ring.br, dev->ring.br.rsp_prod_pvt),
	       &rsp, sizeof(rsp));
	dev->ring.br.rsp_prod_pvt++;
	dev->pending_push = true;
	dev->stats.responses++;
	if (vgpuback_is_refusal(op, status))
		dev->stats.refused++;
	else if (status)
		dev->stats.errors++;
}

static void push_responses(struct vgpuback_device *dev)
{
	int notify;

	if (!dev->pending_push || dev->conn == VGPUBACK_DISCONNECTED)
		return;
	dev->pending_push = false;
	/* Publishes the responses, then reads rsp_event (ring.h orders it). */
	RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&dev->ring.br, notify);
	if (notify && dev->ring.port >= 0) {
		dev->t->ops->evtchn_notify(dev->t, dev->ring.port);
		dev->stats.notifies_sent++;
	}
}

/* ------------------------------------------------------------- requests */

static struct vgpuback_req *req_alloc(struct vgpuback_device *dev)
{
	struct vgpuback_req *r = dev->free_reqs;

	if (!r)
		return NULL;
	dev->free_reqs = r->next;
	memset(r, 0, sizeof(*r));
	r->dev = dev;
	r->iov = r->iov_inline;
	dev->inflight++;
	return r;
}

static void req_free(struct vgpuback_device *dev, struct vgpuback_req *r)
{
	if (r->iov != r->iov_inline)
		free(r->iov);
	r->iov = NULL;
	r->next = dev->free_reqs;
	dev->free_reqs = r;
	dev->inflight--;
}

static void req_answer(struct vgpuback_device *dev, struct vgpuback_req *r,
		       int status)
{
	respond(dev, r->id, r->op, status, status ? 0 : r->result[0],
		status ? 0 : r->result[1], r->exec_ns);
	req_free(dev, r);
}

/* Copy src into the request's (mapped) data stream from byte off on. */
static void stream_write_at(struct vgpuback_req *r, uint64_t off,
			    const void *src, size_t len)
{
	const uint8_t *p = src;
	uint32_t i;

	for (i = 0; i < r->niov && len; i++) {
		size_t n;

		if (off >= r->iov[i].len) {
			off -= r->iov[i].len;
			continue;
		}
		n = r->iov[i].len - (size_t)off;
		if (n > len)
			n = len;
		memcpy((uint8_t *)r->iov[i].base + off, p, n);
		p += n;
		len -= n;
		off = 0;
	}
}

static void stream_write(struct vgpuback_req *r, const void *src, size_t len)
{
	stream_write_at(r, 0, src, len);
}

/* --------------------------------------------------------- get + parse */

int vgpuback_get_parse(struct vgpuback_device *dev,
		       const struct vgpuif_request *req,
		       struct vgpuif_segment *segs,
		       struct vgpuback_parsed *parsed)
{
	uint32_t nr = req->nr_segments;
	int rc;

	rc = vgpuback_parse_header(req, &dev->policy);
	if (rc)
		return rc;
	if (req->flags & VGPUIF_F_INLINE) {
		nr = 0; /* the bytes are in the request: no descriptors */
	} else if (req->flags & VGPUIF_F_INDIRECT) {
		uint32_t np = vgpuif_indirect_pages(nr);
		uint32_t i;

		/* Header checks bound np by VGPUIF_MAX_INDIRECT_PAGES. */
		if (np == 0 || np > VGPUIF_MAX_INDIRECT_PAGES)
			return VGPUIF_RSP_E2BIG;
		for (i = np; i < VGPUIF_MAX_INDIRECT_PAGES; i++)
			if (req->u.indirect_gref[i])
				return VGPUIF_RSP_EINVAL;
		/*
		 * The one read of the descriptors: into our buffer, and only
		 * the buffer is used from here on, so a guest rewriting the
		 * pages afterwards changes nothing.
		 */
		if (dev->ring.persistent && dev->gcache.max) {
			struct vgpuif_segment pseg[VGPUIF_MAX_INDIRECT_PAGES];
			uint8_t *pages[VGPUIF_MAX_INDIRECT_PAGES];
			struct vgpuback_gmap m;

			for (i = 0; i < np; i++) {
				pseg[i].gref = req->u.indirect_gref[i];
				pseg[i].offset = 0;
				pseg[i].length = VGPUIF_PAGE_SIZE;
			}
			if (vgpuback_grants_get(&dev->gcache, pseg, np, NULL,
						true, &m, pages))
				return VGPUIF_RSP_EFAULT;
			for (i = 0; i < np; i++)
				memcpy((uint8_t *)segs + (size_t)i * VGPUIF_PAGE_SIZE,
				       pages[i], VGPUIF_PAGE_SIZE);
			vgpuback_grants_put(&dev->gcache, &m);
		} else if (vgpuback_grants_copy_pages(&dev->gcache,
						      req->u.indirect_gref,
						      np, segs)) {
			return VGPUIF_RSP_EFAULT;
		}
	} else {
		memcpy(segs, req->u.seg, sizeof(req->u.seg));
	}
	return vgpuback_parse(&dev->handles, &dev->policy, req, segs, nr,
			      parsed);
}

/* ------------------------------------------------------------- execute */

static void exec_done(struct vgpu_exec_op *op, int status)
{
	struct vgpuback_req *r = container_of(op, struct vgpuback_req, eop);
	struct vgpuback_device *dev = r->dev;
	uint64_t one = 1;
	bool was_empty;

	r->status = status;
	pthread_mutex_lock(&dev->done_lock);
	r->next = NULL;
	was_empty = !dev->done_head;
	if (dev->done_tail)
		dev->done_tail->next = r;
	else
		__atomic_store_n(&dev->done_head, r, __ATOMIC_RELAXED);
	dev->done_tail = r;
	pthread_mutex_unlock(&dev->done_lock);
	/* The ring thread drains after each submit; others may have to wake it. */
	if (pthread_equal(pthread_self(), dev->ring_thread))
		return;
	/*
	 * Completion batching: one wake-up per batch, none while the ring
	 * thread is awake (it looks at the queue before it sleeps, see
	 * vgpuback_ring_prepare_sleep). A queue that was not empty already
	 * has its wake-up coming, or an awake ring thread. The fence orders
	 * our append before the read of ring_awake (the other side stores
	 * ring_awake, fences, then reads the queue).
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!was_empty || __atomic_load_n(&dev->ring_awake, __ATOMIC_RELAXED))
		return;
	__atomic_fetch_add(&dev->stats.completion_wakeups, 1, __ATOMIC_RELAXED);
	if (write(dev->done_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		vb_err("cannot signal a completion: %s", strerror(errno));
}

static void ctx_destroy_now(struct vgpuback_device *dev,
			    struct vgpuback_ctx *ctx)
{
	if (ctx->ectx && dev->exec)
		vgpu_exec_ctx_destroy(dev->exec, ctx->ectx);
	ctx->ectx = NULL;
	vgpuback_ctx_free(&dev->handles, ctx);
}

/* A context's last op finished: a waiting CTX_DESTROY may go now. */
static void ctx_op_finished(struct vgpuback_device *dev,
			    struct vgpuback_ctx *ctx)
{
	struct vgpuback_req *d;

	ctx->inflight--;
	if (ctx->state != VGPUBACK_CTX_DYING || ctx->inflight || !ctx->destroy_req)
		return;
	d = ctx->destroy_req;
	ctx->destroy_req = NULL;
	ctx_destroy_now(dev, ctx);
	req_answer(dev, d, VGPUIF_RSP_OK);
}

/* Map the data segments and build the executor's iov. */
static int map_segments(struct vgpuback_device *dev, struct vgpuback_req *r,
			const struct vgpuback_parsed *p,
			const struct vgpuif_segment *segs, uint32_t nr)
{
	uint8_t wr_inline[VGPUIF_MAX_DIRECT_SEGMENTS], *wr = wr_inline;
	uint8_t *pg_inline[VGPUIF_MAX_DIRECT_SEGMENTS], **pages = pg_inline;
	uint64_t off = 0;
	uint32_t i;
	int err = 0;

	if (nr == 0)
		return 0;
	if (nr > VGPUIF_MAX_DIRECT_SEGMENTS) {
		wr = malloc(nr);
		pages = malloc(nr * sizeof(*pages));
		r->iov = malloc(nr * sizeof(*r->iov));
		if (!wr || !pages || !r->iov) {
			err = VGPUIF_RSP_ENOMEM;
			goto out;
		}
	}
	for (i = 0; i < nr; i++) {
		wr[i] = (uint8_t)vgpuback_segment_written(p, off, segs[i].length);
		off += segs[i].length;
	}
	if (vgpuback_grants_get(&dev->gcache, segs, nr, wr,
				dev->ring.persistent, &r->gmap, pages)) {
		vb_warn_rl("request %llu (%s): a data grant could not be mapped",
			   (unsigned long long)r->id, vgpuif_op_name(r->op));
		err = VGPUIF_RSP_EFAULT;
		goto out;
	}
	for (i = 0; i < nr; i++) {
		r->iov[i].base = pages[i] + segs[i].offset;
		r->iov[i].len = segs[i].length;
	}
	r->niov = nr;
out:
	if (wr != wr_inline)
		free(wr);
	if (pages != pg_inline)
		free(pages);
	if (err && r->iov != r->iov_inline) {
		free(r->iov);
		r->iov = r->iov_inline;
	}
	return err;
}

/*
 * The op's data stream for the executor: the inline bytes, copied into the
 * request (the ring slot they came in is the guest's again), or the mapped
 * segments. 0 or a status.
 */
static int map_stream(struct vgpuback_device *dev, struct vgpuback_req *r,
		      const struct vgpuif_request *req,
		      const struct vgpuback_parsed *p,
		      const struct vgpuif_segment *segs)
{
	if (p->inline_data) {
		memcpy(r->inline_buf, req->u.inline_data, p->stream_len);
		r->iov[0].base = r->inline_buf;
		r->iov[0].len = (size_t)p->stream_len;
		r->niov = 1;
		return 0;
	}
	if (p->host_mem) {
		/* a registered region: mapped already, held while in flight */
		r->hreg = p->hreg;
		r->hreg->users++;
		r->iov[0].base = (uint8_t *)p->hreg->addr + p->host_offset;
		r->iov[0].len = (size_t)p->stream_len;
		r->niov = 1;
		return 0;
	}
	return map_segments(dev, r, p, segs, req->nr_segments);
}

static void do_get_info(struct vgpuback_device *dev, struct vgpuback_req *r)
{
	struct vgpuif_info info;
	uint64_t free_b = 0, total_b = 0;

	memset(&info, 0, sizeof(info));
	info.protocol_version = VGPUIF_PROTOCOL_VERSION;
	info.executor = dev->einfo.kind;
	memcpy(info.gpu_name, dev->einfo.name, sizeof(info.gpu_name) - 1);
	info.total_mem = dev->einfo.total_mem;
	info.free_mem = dev->einfo.free_mem;
	if (dev->exec && !vgpu_exec_mem_info(dev->exec, &free_b, &total_b)) {
		info.free_mem = free_b;
		info.total_mem = total_b;
	}
	info.mem_quota = dev->policy.mem_quota;
	info.mem_used = dev->handles.mem_used;
	info.cc_major = dev->einfo.cc_major;
	info.cc_minor = dev->einfo.cc_minor;
	info.sm_count = dev->einfo.sm_count;
	info.copy_mode = vgpuback_copy_mode(dev);
	info.max_segments = dev->policy.max_indirect_segments;
	info.max_param_bytes = VGPUIF_MAX_PARAM_BYTES;
	info.max_handles = dev->handles.max_per_ctx;
	info.priority = dev->priority;
	info.pool = dev->pool;
	info.domid = dev->domid;
	info.ctx_overhead = dev->einfo.ctx_overhead;
	info.gpu = (uint32_t)dev->gpu;
	stream_write(r, &info, sizeof(info));
}

/* Undo what execute reserved for a request that will not run. */
static void unreserve(struct vgpuback_device *dev, struct vgpuback_req *r)
{
	if (r->newobj)
		vgpuback_obj_release(&dev->handles, r->ctx, r->newobj);
	r->newobj = NULL;
	if (r->freeobj)
		r->freeobj->state = VGPUBACK_SLOT_LIVE;
	r->freeobj = NULL;
}

/*
 * MODULE_GLOBAL done: the handle of the global (the one it already has if
 * asked before: the executor gives the same object for the same name),
 * and {device address, size} into the stream after the name. Runs before
 * the stream is unmapped. Returns the status to answer.
 */
static int global_done(struct vgpuback_device *dev, struct vgpuback_req *r)
{
	struct vgpuback_ctx *ctx = r->ctx;
	struct vgpuback_obj *mod = r->globmod, *g;
	uint64_t ans[2] = { r->eop.result[0], r->eop.result[1] };
	uint64_t handle;
	int rc;

	if (!r->eop.object) {
		vb_err("executor returned no object for MODULE_GLOBAL; failing it");
		return VGPUIF_RSP_EIO;
	}
	/* unloaded meanwhile (its MODULE_UNLOAD came later on the ring) */
	if (mod->state == VGPUBACK_SLOT_FREE || mod->type != VGPUBACK_OBJ_MOD ||
	    mod->gen != r->globmod_gen)
		return VGPUIF_RSP_EBADF;
	g = vgpuback_obj_find_global(ctx, mod, r->eop.object);
	if (g) {
		handle = vgpuback_obj_handle(&dev->handles, ctx, g);
	} else {
		rc = vgpuback_obj_reserve(&dev->handles, ctx, VGPUBACK_OBJ_MEM,
					  &g, &handle);
		if (rc)
			return rc == -EMFILE ? VGPUIF_RSP_EMFILE : VGPUIF_RSP_ENOMEM;
		g->oflags = VGPUBACK_OBJF_MODULE_OWNED;
		g->parent_slot = mod->slot;
		g->parent_gen = mod->gen;
		g->size = ans[1];
		g->dev_addr = ans[0];
		vgpuback_obj_commit(g, r->eop.object);
	}
	stream_write_at(r, r->glob_name_len, ans, sizeof(ans));
	r->result[0] = handle;
	r->result[1] = ans[1];
	return 0;
}

/* ---------------------------------------- registered host memory (rev 3) */

uint32_t vgpuback_copy_mode(const struct vgpuback_device *dev)
{
	uint32_t m = dev->einfo.copy_mode;

	if (dev->hostreg_mode)
		return dev->hostreg_mode;       /* what the latest one got */
	/* zero copy needs a transport that can show the worker the pages */
	if (m == VGPUIF_COPY_ZERO_COPY && !dev->t->ops->grant_pages_file)
		m = VGPUIF_COPY_STAGED;
	return m;
}

static const char *copy_mode_name(uint32_t m)
{
	switch (m) {
	case VGPUIF_COPY_ZERO_COPY: return "zero-copy";
	case VGPUIF_COPY_HOST:      return "host memcpy";
	default:                    return "staged";
	}
}

/* Unregister from the executor, unmap, free the slot. */
static void hostreg_drop(struct vgpuback_device *dev, struct vgpuback_hostreg *hr)
{
	if (hr->ereg && dev->exec)
		vgpu_exec_host_unregister(dev->exec, hr->ereg);
	hr->ereg = NULL;
	if (hr->addr)
		dev->t->ops->unmap_grants(dev->t, hr->addr, hr->npages);
	hr->addr = NULL;
	vgpuback_hostreg_release(&dev->handles, hr);
}

/* A copy naming hr is answered: a waiting HOST_UNREGISTER may go now. */
static void hostreg_put(struct vgpuback_device *dev, struct vgpuback_hostreg *hr)
{
	struct vgpuback_req *u;

	hr->users--;
	if (!hr->dying || hr->users || !hr->unreg_req)
		return;
	u = hr->unreg_req;
	hr->unreg_req = NULL;
	hostreg_drop(dev, hr);
	req_answer(dev, u, VGPUIF_RSP_OK);
}

/*
 * HOST_REGISTER: map the pages once, for the region's life, and let the
 * executor register them with the device (zero copy) where it can; else
 * its copies are staged as any other. Answered at once.
 */
static void host_register(struct vgpuback_device *dev, struct vgpuback_req *r,
			  const struct vgpuif_request *req,
			  const struct vgpuif_segment *segs)
{
	struct vgpuback_transport *t = dev->t;
	uint32_t nr = req->nr_segments, i, mode = VGPUIF_COPY_STAGED;
	bool ro = req->args.host_register.flags & VGPUIF_HOST_READ_ONLY;
	struct vgpuback_hostreg *hr;
	uint64_t handle, *off = NULL;
	uint32_t *refs;
	const char *why = "no executor";
	int rc, e;

	rc = vgpuback_hostreg_reserve(&dev->handles, segs, nr, &hr, &handle);
	if (rc) {
		req_answer(dev, r, rc);
		return;
	}
	hr->read_only = ro;
	refs = malloc((size_t)nr * sizeof(*refs));
	if (!refs) {
		vgpuback_hostreg_release(&dev->handles, hr);
		req_answer(dev, r, VGPUIF_RSP_ENOMEM);
		return;
	}
	for (i = 0; i < nr; i++)
		refs[i] = segs[i].gref;
	errno = 0;
	hr->addr = t->ops->map_grants(t, dev->domid, nr, refs, !ro);
	e = errno;
	free(refs);
	if (!hr->addr) {
		vb_warn_rl("HOST_REGISTER of %u page(s): the grants could not be "
			   "mapped (%s)", nr, strerror(e ? e : EFAULT));
		vgpuback_hostreg_release(&dev->handles, hr);
		req_answer(dev, r, e == ENOMEM ? VGPUIF_RSP_ENOMEM : VGPUIF_RSP_EFAULT);
		return;
	}
	hr->live = true;
	rc = -EIO;
	if (dev->exec) {
		struct vgpu_exec_hostmem hm = {
			.addr = hr->addr, .len = (size_t)nr * VGPUIF_PAGE_SIZE,
			.writable = !ro, .fd = -1,
		};
		struct vgpu_exec_hostreg *ereg = NULL;

		if (t->ops->grant_pages_file &&
		    (off = malloc((size_t)nr * sizeof(*off)))) {
			int fd = t->ops->grant_pages_file(t, hr->addr, nr, off);

			if (fd >= 0) {
				hm.fd = fd;
				hm.file_off = off;
			}
		}
		rc = vgpu_exec_host_register(dev->exec, &hm, &ereg, &mode, &why);
		hr->ereg = rc ? NULL : ereg;
		free(off);
	}
	if (rc) {
		hr->ereg = NULL;
		mode = VGPUIF_COPY_STAGED;
	}
	hr->copy_mode = mode;
	dev->hostreg_mode = mode;
	if (rc)
		vb_info_rl("host region %#llx: %u KiB registered, copies staged (%s)",
			   (unsigned long long)handle, nr * 4u, why);
	else
		vb_info_rl("host region %#llx: %u KiB registered, copies %s",
			   (unsigned long long)handle, nr * 4u, copy_mode_name(mode));
	r->result[0] = handle;
	r->result[1] = mode;
	req_answer(dev, r, VGPUIF_RSP_OK);
}

/* HOST_UNREGISTER: invalid at once; gone when its copies are answered. */
static void host_unregister(struct vgpuback_device *dev, struct vgpuback_req *r,
			    struct vgpuback_hostreg *hr)
{
	hr->dying = true;
	if (hr->users) {
		hr->unreg_req = r;      /* answered by hostreg_put */
		return;
	}
	hostreg_drop(dev, hr);
	req_answer(dev, r, VGPUIF_RSP_OK);
}

/* The disconnect: every region goes, waiting unregisters are answered. */
static void hostreg_drop_all(struct vgpuback_device *dev)
{
	struct vgpuback_handles *h = &dev->handles;

	if (!h->hregs)
		return;
	for (uint32_t i = 0; i < VGPUIF_MAX_HOST_REGIONS; i++) {
		struct vgpuback_hostreg *hr = &h->hregs[i];

		if (!hr->gen)
			continue;
		if (hr->unreg_req)
			req_answer(dev, hr->unreg_req, VGPUIF_RSP_OK);
		hr->unreg_req = NULL;
		hostreg_drop(dev, hr);
	}
	dev->hostreg_mode = 0;
}

/* ------------------------------------------------------------- quota */

static bool quota_op(uint8_t op)
{
	return op == VGPUIF_OP_MEM_ALLOC || op == VGPUIF_OP_MODULE_LOAD ||
	       op == VGPUIF_OP_LAUNCH;
}

/*
 * Just before a request goes to the executor: what the domain's quota
 * leaves, for the ops that make its context hold device memory. Every
 * byte counts against it at once: MEM_ALLOC its size; MODULE_LOAD holds
 * all that is left until it is answered (the executor knows the module's
 * size only when it has read or linked it, and refuses it with EDQUOT
 * past the limit); LAUNCH holds what its local memory may make the
 * executor reserve (vgpu_exec_launch_mem). finish() gives a hold back
 * and charges what the executor charged, which is never more. Without
 * a quota nothing is limited, but the charges are still counted. Returns
 * 0 or VGPUIF_RSP_EDQUOT (MEM_ALLOC past the quota).
 */
static int quota_take(struct vgpuback_device *dev, struct vgpuback_req *r)
{
	struct vgpuback_handles *h = &dev->handles;
	struct vgpu_exec_op *e = &r->eop;
	uint64_t quota = dev->policy.mem_quota;
	uint64_t used = h->mem_used + h->mem_held + dev->mod_held;
	uint64_t left = quota > used ? quota - used : 0;

	e->mem_charged = 0;
	e->mem_limited = quota != 0;
	e->mem_limit = left;
	switch (r->op) {
	case VGPUIF_OP_MEM_ALLOC:
		if (quota && e->u.mem_alloc.size > left)
			return VGPUIF_RSP_EDQUOT;
		/* counted while in flight; a failure gives it back */
		r->newobj->size = e->u.mem_alloc.size;
		h->mem_used += e->u.mem_alloc.size;
		return 0;
	case VGPUIF_OP_MODULE_LOAD:
		if (!quota)
			return 0;
		r->held = left;
		r->held_mod = true;
		dev->mod_held += left;
		dev->mod_holds++;
		return 0;
	case VGPUIF_OP_LAUNCH: {
		uint64_t grow;

		if (!quota || !dev->exec)
			return 0;
		grow = vgpu_exec_launch_mem(dev->exec, e->u.launch.func);
		r->held = grow < left ? grow : left;
		h->mem_held += r->held;
		return 0;
	}
	default:
		return 0;
	}
}

/* finish(): a request's hold back, and what the executor charged. */
static void quota_settle(struct vgpuback_device *dev, struct vgpuback_req *r,
			 int status)
{
	struct vgpuback_handles *h = &dev->handles;
	uint64_t charged = r->eop.mem_charged;

	if (r->held_mod) {
		dev->mod_held -= r->held;
		dev->mod_holds--;
	} else {
		h->mem_held -= r->held;
	}
	r->held = 0;
	r->held_mod = false;
	if (r->op == VGPUIF_OP_MODULE_LOAD) {
		/* the module's charge lives in its handle until unloaded */
		if (!status && r->newobj && charged) {
			r->newobj->size = charged;
			h->mem_used += charged;
		}
	} else if (r->op == VGPUIF_OP_LAUNCH && r->submitted && charged) {
		/* kept by the executor for its life, whatever the status */
		h->mem_used += charged;
		dev->mem_local += charged;
	}
	r->eop.mem_charged = 0;
}

static void quota_resume(struct vgpuback_device *dev);

/* A request's executor work is over (done() or a failed submit). */
static void finish(struct vgpuback_device *dev, struct vgpuback_req *r)
{
	struct vgpuback_ctx *ctx = r->ctx;
	struct vgpuback_hostreg *hreg;
	int status = r->status;
	bool resume = r->held_mod;

	if (quota_op(r->op))
		quota_settle(dev, r, status);
	if (r->submitted)
		vgpuback_sched_complete(dev, r);
	/*
	 * The protocol's ENOSYS says the backend does not know the op; one
	 * it serves that this executor lacks is EOPNOTSUPP.
	 */
	if (status == VGPUIF_RSP_ENOSYS)
		status = VGPUIF_RSP_EOPNOTSUPP;
	r->result[0] = r->eop.result[0];
	r->result[1] = r->eop.result[1];
	r->exec_ns = r->eop.exec_ns;
	if (!status && r->globmod)
		status = global_done(dev, r);
	vgpuback_grants_put(&dev->gcache, &r->gmap);
	if (status) {
		unreserve(dev, r);
	} else if (r->newobj) {
		if (!r->eop.object) {
			vb_err("executor returned no object for %s; failing it",
			       vgpuif_op_name(r->op));
			unreserve(dev, r);
			status = VGPUIF_RSP_EIO;
		} else {
			vgpuback_obj_commit(r->newobj, r->eop.object);
			if (r->op == VGPUIF_OP_MEM_ALLOC)
				r->newobj->dev_addr = r->eop.result[1];
			r->result[0] = r->newhandle;
		}
	} else if (r->freeobj) {
		/* an unloaded module's functions and globals go with it */
		if (r->freeobj->type == VGPUBACK_OBJ_MOD)
			vgpuback_obj_release_children(&dev->handles, ctx,
						      r->freeobj);
		vgpuback_obj_release(&dev->handles, ctx, r->freeobj);
	}
	hreg = r->hreg;
	r->hreg = NULL;
	req_answer(dev, r, status);
	if (hreg)
		hostreg_put(dev, hreg);
	if (ctx)
		ctx_op_finished(dev, ctx);
	if (resume)
		quota_resume(dev);
}


/*
 * To the executor (through the arbiter's hook), in ring order with what
 * the quota says. A MEM_ALLOC or MODULE_LOAD under a quota waits while a
 * module load holds the quota (or others wait before it); resumed: taken
 * off that queue now.
 */
static void submit(struct vgpuback_device *dev, struct vgpuback_req *r,
		   bool resumed)
{
	int rc;

	if (dev->policy.mem_quota &&
	    (r->op == VGPUIF_OP_MEM_ALLOC || r->op == VGPUIF_OP_MODULE_LOAD) &&
	    (dev->mod_holds || (!resumed && dev->qwait_head))) {
		r->next = NULL;
		if (dev->qwait_tail)
			dev->qwait_tail->next = r;
		else
			dev->qwait_head = r;
		dev->qwait_tail = r;
		return;
	}
	if (quota_op(r->op)) {
		rc = quota_take(dev, r);
		if (rc) {
			r->status = rc;
			finish(dev, r);
			return;
		}
	}
	dev->in_submit = true;
	rc = vgpuback_sched_submit(dev, r);
	dev->in_submit = false;
	if (rc) {
		r->status = rc < 0 ? rc : VGPUIF_RSP_EIO;
		finish(dev, r);
		return;
	}
	r->submitted = true;
}

/* A module load was answered: what waited for the quota goes on. */
static void quota_resume(struct vgpuback_device *dev)
{
	while (dev->qwait_head && !dev->mod_holds) {
		struct vgpuback_req *r = dev->qwait_head;

		dev->qwait_head = r->next;
		if (!dev->qwait_head)
			dev->qwait_tail = NULL;
		r->next = NULL;
		submit(dev, r, true);
	}
}

static void execute(struct vgpuback_device *dev, struct vgpuback_req *r,
		    const struct vgpuif_request *req,
		    const struct vgpuback_parsed *p,
		    const struct vgpuif_segment *segs)
{
	const union vgpuif_args *a = &req->args;
	struct vgpu_exec_op *e = &r->eop;
	struct vgpuback_ctx *ctx = p->ctx;
	int rc;

	switch (req->op) {
	case VGPUIF_OP_NOP:
		req_answer(dev, r, VGPUIF_RSP_OK);
		return;
	case VGPUIF_OP_CTX_CREATE: {
		struct vgpuback_ctx *c;

		rc = vgpuback_ctx_alloc(&dev->handles, &c);
		if (rc) {
			req_answer(dev, r, VGPUIF_RSP_EMFILE);
			return;
		}
		rc = dev->exec ? vgpu_exec_ctx_create(dev->exec, &c->ectx)
			       : VGPUIF_RSP_EIO;
		if (rc) {
			vgpuback_ctx_free(&dev->handles, c);
			vb_warn_rl("executor refused a new context: %s",
				   vgpuif_status_str(rc < 0 ? rc : -rc));
			req_answer(dev, r, rc < 0 ? rc : VGPUIF_RSP_EIO);
			return;
		}
		r->result[0] = c->handle;
		req_answer(dev, r, VGPUIF_RSP_OK);
		return;
	}
	case VGPUIF_OP_HOST_REGISTER:
		host_register(dev, r, req, segs);
		return;
	case VGPUIF_OP_HOST_UNREGISTER:
		host_unregister(dev, r, p->hreg);
		return;
	case VGPUIF_OP_CTX_DESTROY:
		ctx->state = VGPUBACK_CTX_DYING;
		if (ctx->inflight) {
			ctx->destroy_req = r; /* answered by ctx_op_finished */
			return;
		}
		ctx_destroy_now(dev, ctx);
		req_answer(dev, r, VGPUIF_RSP_OK);
		return;
	default:
		break;
	}

	r->ctx = ctx;
	if (req->op == VGPUIF_OP_DEVICE_INFO && dev->dinfo_status) {
		r->ctx = NULL;
		req_answer(dev, r, dev->dinfo_status);
		return;
	}
	rc = map_stream(dev, r, req, p, segs);
	if (rc) {
		r->ctx = NULL;
		req_answer(dev, r, rc);
		return;
	}
	if (req->op == VGPUIF_OP_GET_INFO || req->op == VGPUIF_OP_DEVICE_INFO) {
		if (req->op == VGPUIF_OP_GET_INFO)
			do_get_info(dev, r);
		else
			stream_write(r, &dev->dinfo, sizeof(dev->dinfo));
		vgpuback_grants_put(&dev->gcache, &r->gmap);
		req_answer(dev, r, VGPUIF_RSP_OK);
		return;
	}

	e->opcode = req->op;
	e->ctx = ctx->ectx;
	e->stream = p->stream ? p->stream->eobj : NULL;
	e->iov = r->iov;
	e->niov = r->niov;
	e->done = exec_done;
	e->priv = r;
	switch (req->op) {
	case VGPUIF_OP_MEM_ALLOC:
		e->u.mem_alloc.size = a->mem_alloc.size;
		/* counted against the quota by quota_take */
		rc = vgpuback_obj_reserve(&dev->handles, ctx, VGPUBACK_OBJ_MEM,
					  &r->newobj, &r->newhandle);
		break;
	case VGPUIF_OP_MEM_FREE:
		e->u.mem_free.mem = p->obj[0]->eobj;
		r->freeobj = p->obj[0];
		break;
	case VGPUIF_OP_MEMCPY_H2D:
	case VGPUIF_OP_MEMCPY_D2H:
		e->u.copy.mem = p->obj[0]->eobj;
		e->u.copy.offset = a->memcpy.offset;
		e->u.copy.length = a->memcpy.length;
		/* zero copy where the executor registered the region */
		if (p->host_mem && p->hreg->ereg) {
			e->u.copy.host = p->hreg->ereg;
			e->u.copy.host_offset = p->host_offset;
		}
		break;
	case VGPUIF_OP_MEMCPY_D2D:
		e->u.d2d.dst = p->obj[0]->eobj;
		e->u.d2d.dst_offset = a->memcpy_d2d.dst_offset;
		e->u.d2d.src = p->obj[1]->eobj;
		e->u.d2d.src_offset = a->memcpy_d2d.src_offset;
		e->u.d2d.length = a->memcpy_d2d.length;
		break;
	case VGPUIF_OP_MEMSET:
		e->u.memset.mem = p->obj[0]->eobj;
		e->u.memset.offset = a->memset.offset;
		e->u.memset.length = a->memset.length;
		e->u.memset.value = a->memset.value;
		e->u.memset.elem_size = a->memset.elem_size;
		break;
	case VGPUIF_OP_MODULE_LOAD:
		e->u.module_load.image_len = a->module_load.image_len;
		e->u.module_load.format = a->module_load.format;
		e->u.module_load.log_len = a->module_load.log_len;
		rc = vgpuback_obj_reserve(&dev->handles, ctx, VGPUBACK_OBJ_MOD,
					  &r->newobj, &r->newhandle);
		break;
	case VGPUIF_OP_MODULE_UNLOAD:
		e->u.module_unload.mod = p->obj[0]->eobj;
		r->freeobj = p->obj[0];
		break;
	case VGPUIF_OP_FUNC_GET:
		e->u.func_get.mod = p->obj[0]->eobj;
		e->u.func_get.name_len = a->func_get.name_len;
		rc = vgpuback_obj_reserve(&dev->handles, ctx, VGPUBACK_OBJ_FUNC,
					  &r->newobj, &r->newhandle);
		if (!rc) {
			r->newobj->parent_slot = p->obj[0]->slot;
			r->newobj->parent_gen = p->obj[0]->gen;
		}
		break;
	case VGPUIF_OP_LAUNCH:
		e->u.launch.func = p->obj[0]->eobj;
		memcpy(e->u.launch.grid, a->launch.grid, sizeof(e->u.launch.grid));
		memcpy(e->u.launch.block, a->launch.block,
		       sizeof(e->u.launch.block));
		e->u.launch.shared_mem = a->launch.shared_mem;
		e->u.launch.param_len = a->launch.param_len;
		break;
	case VGPUIF_OP_VECTOR_ADD:
		e->u.vector_add.n = a->vector_add.n;
		break;
	case VGPUIF_OP_STREAM_CREATE:
		e->u.stream_create.flags = a->stream_create.flags;
		e->u.stream_create.priority = a->stream_create.priority;
		rc = vgpuback_obj_reserve(&dev->handles, ctx, VGPUBACK_OBJ_STREAM,
					  &r->newobj, &r->newhandle);
		if (!rc)
			r->newobj->uflags = a->stream_create.flags;
		break;
	case VGPUIF_OP_STREAM_DESTROY:
		r->freeobj = p->stream;
		break;
	case VGPUIF_OP_EVENT_CREATE:
		e->u.event_create.flags = a->event_create.flags;
		rc = vgpuback_obj_reserve(&dev->handles, ctx, VGPUBACK_OBJ_EVENT,
					  &r->newobj, &r->newhandle);
		if (!rc)
			r->newobj->uflags = a->event_create.flags;
		break;
	case VGPUIF_OP_EVENT_DESTROY:
		r->freeobj = p->obj[0];
		/* fall through */
	case VGPUIF_OP_STREAM_WAIT_EVENT:
	case VGPUIF_OP_EVENT_RECORD:
	case VGPUIF_OP_EVENT_SYNC:
	case VGPUIF_OP_EVENT_QUERY:
		e->u.event.event = p->obj[0]->eobj;
		break;
	case VGPUIF_OP_EVENT_ELAPSED:
		e->u.elapsed.start = p->obj[0]->eobj;
		e->u.elapsed.end = p->obj[1]->eobj;
		break;
	case VGPUIF_OP_FUNC_INFO:
		e->u.func_info.func = p->obj[0]->eobj;
		break;
	case VGPUIF_OP_FUNC_SET_ATTR:
		e->u.func_attr.func = p->obj[0]->eobj;
		e->u.func_attr.attr = a->func.attr;
		e->u.func_attr.value = a->func.value;
		break;
	case VGPUIF_OP_MODULE_GLOBAL:
		e->u.module_global.mod = p->obj[0]->eobj;
		e->u.module_global.name_len = a->module_global.name_len;
		/* the handle is made (or found) when the executor answers */
		r->globmod = p->obj[0];
		r->globmod_gen = p->obj[0]->gen;
		r->glob_name_len = a->module_global.name_len;
		break;
	case VGPUIF_OP_SYNC:
	case VGPUIF_OP_STREAM_SYNC:
	case VGPUIF_OP_STREAM_QUERY:
	default:
		break;
	}
	if (rc) {
		/* -EMFILE: this context's handle table is full. */
		r->status = rc == -EMFILE ? VGPUIF_RSP_EMFILE : VGPUIF_RSP_ENOMEM;
		ctx->inflight++;
		finish(dev, r);
		return;
	}
	/* Freed objects vanish for later requests at once. */
	if (r->freeobj)
		r->freeobj->state = VGPUBACK_SLOT_PENDING;
	ctx->inflight++;
	submit(dev, r, false);
}

static void handle_request(struct vgpuback_device *dev,
			   const struct vgpuif_request *req)
{
	struct vgpuback_req *r = req_alloc(dev);
	struct vgpuback_parsed p;
	int rc;

	if (!r) /* cannot happen: consume() checks inflight < max first */
		return;
	r->id = req->id;
	r->op = req->op;
	dev->stats.requests++;
	if (dev->shutting_down) {
		req_answer(dev, r, VGPUIF_RSP_ESHUTDOWN);
		return;
	}
	rc = vgpuback_get_parse(dev, req, dev->seg_buf, &p);
	if (rc) {
		vb_debug_rl("request %llu (%s, op %u): %s",
			 (unsigned long long)req->id, vgpuif_op_name(req->op),
			 req->op, vgpuif_status_str(rc));
		req_answer(dev, r, rc);
		if (vgpuback_is_refusal(req->op, rc))
			vgpuback_sched_refused(dev);
		return;
	}
	execute(dev, r, req, &p, dev->seg_buf);
}

/* ------------------------------------------------------------- the ring */

static void halt(struct vgpuback_device *dev, RING_IDX rp)
{
	vb_err_rl("frontend's req_prod %u runs %u entries past our responses (ring of %u): halting the ring and closing the device",
	       rp, rp - dev->ring.br.rsp_prod_pvt, dev->ring.size);
	dev->conn = VGPUBACK_HALTED;
	vgpuback_xenbus_ring_halted(dev);
}

static void drain_completions(struct vgpuback_device *dev)
{
	struct vgpuback_req *r, *next;

	/* Racy peek first: most passes find nothing, and take no lock. */
	if (!__atomic_load_n(&dev->done_head, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&dev->done_lock);
	r = dev->done_head;
	__atomic_store_n(&dev->done_head, NULL, __ATOMIC_RELAXED);
	dev->done_tail = NULL;
	pthread_mutex_unlock(&dev->done_lock);
	for (; r; r = next) {
		next = r->next;
		finish(dev, r);
	}
}

static void finish_disconnect(struct vgpuback_device *dev);
static void completions(struct vgpuback_device *dev);

/* One pass: consume up to the budget, answer what finished, push. */
static void consume(struct vgpuback_device *dev)
{
	unsigned int budget = RING_BUDGET;
	struct vgpuif_request req;
	int more;

	dev->kick_pending = false;
	drain_completions(dev);
	if (dev->conn != VGPUBACK_CONNECTED)
		goto out;
	do {
		RING_IDX rc = dev->ring.br.req_cons;
		/* One read of the guest's index; only rp is used below. */
		RING_IDX rp = __atomic_load_n(&dev->ring.br.sring->req_prod,
					      __ATOMIC_RELAXED);

		xen_rmb(); /* read req_prod before the requests it covers */
		if (RING_REQUEST_PROD_OVERFLOW(&dev->ring.br, rp)) {
			halt(dev, rp);
			goto out;
		}
		while (rc != rp) {
			if (RING_REQUEST_CONS_OVERFLOW(&dev->ring.br, rc))
				break;
			if (dev->inflight >= dev->max_inflight) {
				dev->backpressure = true;
				goto out;
			}
			if (!budget--) {
				dev->kick_pending = true;
				goto out;
			}
			RING_COPY_REQUEST(&dev->ring.br, rc, &req);
			dev->ring.br.req_cons = ++rc;
			handle_request(dev, &req);
			drain_completions(dev);
			if (dev->conn != VGPUBACK_CONNECTED)
				goto out;
		}
		push_responses(dev);
		if (dev->spinning) {
			/*
			 * Busy-poll window: leave req_event where it is, so the
			 * frontend need not notify while we look anyway.
			 */
			more = RING_HAS_UNCONSUMED_REQUESTS(&dev->ring.br);
		} else {
			RING_FINAL_CHECK_FOR_REQUESTS(&dev->ring.br, more);
		}
	} while (more);
out:
	push_responses(dev);
	if (dev->conn == VGPUBACK_DRAINING && dev->inflight == 0)
		finish_disconnect(dev);
}

void vgpuback_ring_kick(struct vgpuback_device *dev)
{
	consume(dev);
}

bool vgpuback_ring_has_work(struct vgpuback_device *dev)
{
	if (dev->conn == VGPUBACK_DISCONNECTED)
		return false;
	/* Racy peeks are fine: consume() and the drain re-read properly. */
	if (__atomic_load_n(&dev->done_head, __ATOMIC_RELAXED))
		return true;
	return dev->conn == VGPUBACK_CONNECTED && !dev->backpressure &&
	       __atomic_load_n(&dev->ring.sring->req_prod, __ATOMIC_RELAXED) !=
	       dev->ring.br.req_cons;
}

bool vgpuback_ring_poll(struct vgpuback_device *dev)
{
	RING_IDX before = dev->ring.br.req_cons;
	uint64_t answered = dev->stats.responses;

	if (!vgpuback_ring_has_work(dev))
		return false;
	if (__atomic_load_n(&dev->done_head, __ATOMIC_RELAXED))
		completions(dev);
	if (dev->conn == VGPUBACK_CONNECTED && !dev->backpressure &&
	    dev->ring.br.req_cons == before)
		consume(dev);
	return dev->ring.br.req_cons != before ||
	       dev->stats.responses != answered;
}

uint64_t vgpuback_ring_poll_window_ns(const struct vgpuback_device *dev)
{
	uint32_t us = dev->cfg->poll_us;

	if (us != VGPUBACK_POLL_AUTO)
		return (uint64_t)us * 1000;
	/* a higher-priority domain is using the GPU: leave it the CPUs */
	if (vgpuback_sched_yielding(dev))
		return 0;
	return dev->poll_window_ns;
}

void vgpuback_ring_poll_slept(struct vgpuback_device *dev, uint64_t quiet_ns)
{
	uint64_t w = dev->poll_window_ns;

	if (dev->cfg->poll_us != VGPUBACK_POLL_AUTO)
		return;
	if (quiet_ns < POLL_AUTO_MAX_NS) {
		w = w ? 2 * w : POLL_AUTO_STEP_NS;
		if (w > POLL_AUTO_MAX_NS)
			w = POLL_AUTO_MAX_NS;
	} else {
		w /= 2;
		if (w < POLL_AUTO_STEP_NS / 2)
			w = 0;
	}
	dev->poll_window_ns = w;
}

bool vgpuback_ring_prepare_sleep(struct vgpuback_device *dev)
{
	__atomic_store_n(&dev->ring_awake, false, __ATOMIC_RELAXED);
	/* ring_awake before the queue: pairs with exec_done's fence. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&dev->done_head, __ATOMIC_RELAXED)) {
		dev->ring_awake = true;
		return false;
	}
	return true;
}

void vgpuback_ring_woke(struct vgpuback_device *dev)
{
	__atomic_store_n(&dev->ring_awake, true, __ATOMIC_RELAXED);
}

void vgpuback_ring_spin(struct vgpuback_device *dev, bool on)
{
	if (dev->spinning == on)
		return;
	dev->spinning = on;
	if (on)
		return;
	/* Leaving the window: re-arm req_event and look once more. */
	consume(dev);
}

/* Answer what finished; consume again if that lifts the backpressure. */
static void completions(struct vgpuback_device *dev)
{
	drain_completions(dev);
	push_responses(dev);
	if (dev->backpressure && dev->inflight < dev->max_inflight) {
		dev->backpressure = false;
		consume(dev);
		return;
	}
	if (dev->conn == VGPUBACK_DRAINING && dev->inflight == 0)
		finish_disconnect(dev);
}

void vgpuback_ring_completions(struct vgpuback_device *dev)
{
	uint64_t v;

	/* Clear the count first: a done() after this read kicks it again. */
	if (read(dev->done_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		vb_err("completion eventfd: %s", strerror(errno));
	completions(dev);
}

void vgpuback_ring_event(struct vgpuback_device *dev)
{
	struct vgpuback_transport *t = dev->t;
	bool ours = false;
	int port;
	RING_IDX before;

	/*
	 * One port per wake-up, as xenevtchn_pending(): with another port
	 * pending the fd stays readable and poll() brings us back.
	 */
	port = t->ops->evtchn_pending(t);
	if (port < 0)
		return;
	if (port == dev->ring.port)
		ours = true;
	else
		t->ops->evtchn_unmask(t, port); /* a stale port */
	if (!ours)
		return;
	dev->stats.events++;
	before = dev->ring.br.req_cons;
	if (dev->conn == VGPUBACK_CONNECTED && !dev->unmask_at_ns)
		consume(dev);
	if (dev->ring.port < 0)
		return; /* disconnected inside consume */
	/*
	 * A notification that brought nothing: count it (XSA-332). On a
	 * halted or draining ring, or while we hold back (max-inflight), every
	 * notification brings nothing; a frontend that keeps the rules sends
	 * few then (we do not re-arm req_event), and completions consume
	 * again without waiting for the throttle. While we poll the ring,
	 * req_event is not re-armed either: a frontend that keeps the rules
	 * sends at most one notification per polling window, which may find
	 * the ring drained already; far below the limit.
	 */
	if (dev->cfg->storm_limit &&
	    (dev->conn != VGPUBACK_CONNECTED ||
	     dev->ring.br.req_cons == before)) {
		uint64_t now = vgpuback_now_ns();

		dev->stats.spurious_events++;
		if (now - dev->storm_window_ns > 1000000000ull) {
			dev->storm_window_ns = now;
			dev->storm_count = 0;
		}
		if (++dev->storm_count > dev->cfg->storm_limit) {
			/* Stay masked a while: events coalesce meanwhile. */
			dev->stats.throttled++;
			dev->unmask_at_ns = now + STORM_THROTTLE_NS;
			vb_warn_rl("event storm: more than %u notifications/s without requests; throttling the event channel",
				   dev->cfg->storm_limit);
			return;
		}
	}
	/* Unmask only after draining (XSA-332). */
	t->ops->evtchn_unmask(t, dev->ring.port);
}

int vgpuback_ring_timeout_ms(struct vgpuback_device *dev)
{
	uint64_t now;

	if (dev->kick_pending)
		return 0;
	if (!dev->unmask_at_ns)
		return -1;
	now = vgpuback_now_ns();
	if (now >= dev->unmask_at_ns)
		return 0;
	return (int)((dev->unmask_at_ns - now + 999999) / 1000000);
}

void vgpuback_ring_timer(struct vgpuback_device *dev)
{
	if (dev->unmask_at_ns && vgpuback_now_ns() >= dev->unmask_at_ns) {
		dev->unmask_at_ns = 0;
		if (dev->ring.port >= 0) {
			consume(dev);
			if (dev->ring.port >= 0)
				dev->t->ops->evtchn_unmask(dev->t, dev->ring.port);
		}
	}
	if (dev->kick_pending)
		consume(dev);
}


int vgpuback_ring_connect(struct vgpuback_device *dev, const uint32_t *refs,
			  uint32_t nr_pages, uint32_t remote_port,
			  bool persistent, const char **why)
{
	struct vgpuback_transport *t = dev->t;
	uint32_t i, bound;
	int err;

	if (dev->conn != VGPUBACK_DISCONNECTED) {
		*why = "already connected";
		return -EBUSY;
	}
	dev->ring.sring = t->ops->map_grants(t, dev->domid, nr_pages, refs, true);
	if (!dev->ring.sring) {
		err = errno ? -errno : -EFAULT;
		*why = "cannot map the ring's grant references";
		return err;
	}
	dev->ring.nr_pages = nr_pages;
	BACK_RING_INIT(&dev->ring.br, dev->ring.sring,
		       (size_t)VGPUIF_PAGE_SIZE * nr_pages);
	dev->ring.size = RING_SIZE(&dev->ring.br);
	dev->reqs = calloc(dev->ring.size, sizeof(*dev->reqs));
	if (!dev->reqs) {
		err = -ENOMEM;
		*why = "out of memory for the request table";
		goto out_unmap;
	}
	dev->free_reqs = NULL;
	for (i = 0; i < dev->ring.size; i++) {
		dev->reqs[i].next = dev->free_reqs;
		dev->free_reqs = &dev->reqs[i];
	}
	dev->inflight = 0;
	dev->max_inflight = dev->ring.size;
	if (dev->cfg->max_inflight && dev->cfg->max_inflight < dev->ring.size)
		dev->max_inflight = dev->cfg->max_inflight;
	bound = persistent ? vgpuback_grants_bound(dev->cfg->persistent_grants,
						   dev->guest_mem_kib) : 0;
	err = vgpuback_gcache_init(&dev->gcache, t, dev->domid, bound);
	if (err) {
		*why = "out of memory for the grant cache";
		goto out_reqs;
	}
	dev->ring.persistent = bound != 0;
	/*
	 * No page_added hook: cached grants come and go with the LRU; what
	 * the executor registers for zero copy is what the guest registered
	 * (HOST_REGISTER), for as long as it says.
	 */
	err = t->ops->evtchn_bind(t, dev->domid, remote_port);
	if (err < 0) {
		*why = "cannot bind the event channel";
		goto out_gcache;
	}
	dev->ring.port = err;
	dev->conn = VGPUBACK_CONNECTED;
	dev->backpressure = false;
	dev->unmask_at_ns = 0;
	memset(&dev->stats, 0, sizeof(dev->stats));
	vb_info_rl("connected: ring of %u page(s), %u entries, event channel %u (local %d), persistent grants %s (cache of %u pages%s)",
		nr_pages, dev->ring.size, remote_port, dev->ring.port,
		dev->ring.persistent ? "on" : "off", bound,
		dev->cfg->persistent_grants == VGPUBACK_PERSISTENT_GRANTS_AUTO ?
		", auto" : "");
	/* The frontend may have queued requests before we came. */
	consume(dev);
	return 0;

out_gcache:
	vgpuback_gcache_uninit(&dev->gcache);
out_reqs:
	free(dev->reqs);
	dev->reqs = NULL;
out_unmap:
	t->ops->unmap_grants(t, dev->ring.sring, nr_pages);
	dev->ring.sring = NULL;
	return err;
}

/* rl: NULL to log unconditionally (SIGUSR1), else that rate limit. */
static void log_stats(struct vgpuback_device *dev,
		      struct vgpuback_ratelimit *rl)
{
	const struct vgpuback_gstats *g = &dev->gcache.stats;
	static const char fmt[] = "stats: requests %llu, errors %llu, refused %llu, responses %llu, notifies %llu, events %llu (%llu idle, %llu throttled), completion wake-ups %llu; grants: map calls %llu, unmap calls %llu, pages %llu, hits %llu, misses %llu, evictions %llu, one-shot %llu, cached %u";
#define STATS_ARGS \
		(unsigned long long)dev->stats.requests, \
		(unsigned long long)dev->stats.errors, \
		(unsigned long long)dev->stats.refused, \
		(unsigned long long)dev->stats.responses, \
		(unsigned long long)dev->stats.notifies_sent, \
		(unsigned long long)dev->stats.events, \
		(unsigned long long)dev->stats.spurious_events, \
		(unsigned long long)dev->stats.throttled, \
		(unsigned long long)__atomic_load_n(&dev->stats.completion_wakeups, \
						    __ATOMIC_RELAXED), \
		(unsigned long long)g->map_calls, \
		(unsigned long long)g->unmap_calls, \
		(unsigned long long)g->pages_mapped, \
		(unsigned long long)g->hits, (unsigned long long)g->misses, \
		(unsigned long long)g->evictions, \
		(unsigned long long)g->oneshot, dev->gcache.count

	if (rl)
		vgpuback_log_rl(rl, VGPUBACK_LOG_INFO, fmt, STATS_ARGS);
	else
		vgpuback_log(VGPUBACK_LOG_INFO, fmt, STATS_ARGS);
#undef STATS_ARGS
}

void vgpuback_ring_log_stats(struct vgpuback_device *dev)
{
	log_stats(dev, NULL);
}

static void finish_disconnect(struct vgpuback_device *dev)
{
	struct vgpuback_transport *t = dev->t;
	uint32_t i, released = 0;

	for (i = 0; i < dev->handles.max_ctx; i++) {
		struct vgpuback_ctx *c = vgpuback_ctx_at(&dev->handles, i);

		if (!c)
			continue;
		if (c->destroy_req)
			req_answer(dev, c->destroy_req, VGPUIF_RSP_OK);
		c->destroy_req = NULL;
		ctx_destroy_now(dev, c);
		released++;
	}
	hostreg_drop_all(dev);
	push_responses(dev);
	{
		static struct vgpuback_ratelimit rl = VGPUBACK_RATELIMIT_INIT(10, 20);

		log_stats(dev, &rl);
	}
	if (dev->ring.port >= 0)
		t->ops->evtchn_unbind(t, dev->ring.port);
	dev->ring.port = -1;
	vgpuback_gcache_uninit(&dev->gcache);
	if (dev->ring.sring)
		t->ops->unmap_grants(t, dev->ring.sring, dev->ring.nr_pages);
	dev->ring.sring = NULL;
	free(dev->reqs);
	dev->reqs = NULL;
	dev->free_reqs = NULL;
	dev->conn = VGPUBACK_DISCONNECTED;
	dev->unmask_at_ns = 0;
	dev->kick_pending = false;
	dev->backpressure = false;
	vb_info_rl("disconnected: %u guest context(s) released", released);
	vgpuback_xenbus_drained(dev);
}

void vgpuback_ring_disconnect(struct vgpuback_device *dev)
{
	if (dev->conn == VGPUBACK_DISCONNECTED) {
		vgpuback_xenbus_drained(dev);
		return;
	}
	if (dev->conn != VGPUBACK_DRAINING)
		vb_info_rl("disconnecting: %u request(s) in flight", dev->inflight);
	dev->conn = VGPUBACK_DRAINING;
	drain_completions(dev);
	if (dev->inflight == 0)
		finish_disconnect(dev);
}
