/* SPDX-License-Identifier: MIT */
/*
 * transport-loopback.c - backend/transport.h over a loopback world
 * (loopback-xen/): the backend acts as dom0 in the world's store, maps
 * the grants guests put in their tables, and binds to their event
 * channels. Same semantics as transport-xen.c.
 */
#include <errno.h>
#include <stdlib.h>

#include "loopback.h"
#include "transport.h"

struct lb_transport {
	struct vgpuback_transport t;    /* first: the handle callers see */
	struct lb_world *w;
	struct lb_xs *xs;
	struct lb_evtchn *ev;
};

static struct lb_transport *lbt(struct vgpuback_transport *t)
{
	return (struct lb_transport *)t;
}

static void lbt_close(struct vgpuback_transport *t)
{
	struct lb_transport *l = lbt(t);

	lb_evtchn_close(l->ev);
	lb_xs_close(l->xs);
	lb_world_close(l->w);
	free(l);
}

static char *lbt_xs_read(struct vgpuback_transport *t, vgpuback_xbt_t xbt,
			 const char *path, unsigned int *len)
{
	return lb_xs_read(lbt(t)->xs, xbt, path, len);
}

static int lbt_xs_write(struct vgpuback_transport *t, vgpuback_xbt_t xbt,
			const char *path, const char *value)
{
	return lb_xs_write(lbt(t)->xs, xbt, path, value);
}

static int lbt_xs_mkdir(struct vgpuback_transport *t, vgpuback_xbt_t xbt,
			const char *path)
{
	return lb_xs_mkdir(lbt(t)->xs, xbt, path);
}

static int lbt_xs_rm(struct vgpuback_transport *t, vgpuback_xbt_t xbt,
		     const char *path)
{
	return lb_xs_rm(lbt(t)->xs, xbt, path);
}

static char **lbt_xs_directory(struct vgpuback_transport *t,
			       vgpuback_xbt_t xbt, const char *path,
			       unsigned int *num)
{
	return lb_xs_directory(lbt(t)->xs, xbt, path, num);
}

static int lbt_xs_set_perms(struct vgpuback_transport *t, vgpuback_xbt_t xbt,
			    const char *path,
			    const struct vgpuback_xs_acl *acl, unsigned int n)
{
	struct lb_xs_acl a[LB_MAX_ACL];

	if (n == 0 || !acl)
		return -EINVAL;
	if (n > LB_MAX_ACL)
		return -E2BIG;
	for (unsigned int i = 0; i < n; i++) {
		a[i].domid = acl[i].domid;
		a[i].perm = (uint32_t)acl[i].perm;
	}
	return lb_xs_set_perms(lbt(t)->xs, xbt, path, a, n);
}

static int lbt_xs_transaction_start(struct vgpuback_transport *t,
				    vgpuback_xbt_t *xbt)
{
	return lb_xs_transaction_start(lbt(t)->xs, xbt);
}

static int lbt_xs_transaction_end(struct vgpuback_transport *t,
				  vgpuback_xbt_t xbt, bool abort)
{
	return lb_xs_transaction_end(lbt(t)->xs, xbt, abort);
}

static int lbt_xs_watch(struct vgpuback_transport *t, const char *path,
			const char *token)
{
	return lb_xs_watch(lbt(t)->xs, path, token);
}

static int lbt_xs_unwatch(struct vgpuback_transport *t, const char *path,
			  const char *token)
{
	return lb_xs_unwatch(lbt(t)->xs, path, token);
}

static int lbt_xs_watch_fd(struct vgpuback_transport *t)
{
	return lb_xs_fd(lbt(t)->xs);
}

static int lbt_xs_read_watch(struct vgpuback_transport *t, char **path,
			     char **token)
{
	return lb_xs_read_watch(lbt(t)->xs, path, token);
}

static int lbt_domain_alive(struct vgpuback_transport *t, uint32_t domid)
{
	return lb_domain_alive(lbt(t)->w, domid);
}

static void *lbt_map_grants(struct vgpuback_transport *t, uint32_t domid,
			    uint32_t count, const uint32_t *refs,
			    bool writable)
{
	return lb_map_grants(lbt(t)->w, 0, domid, count, refs, writable);
}

static int lbt_unmap_grants(struct vgpuback_transport *t, void *addr,
			    uint32_t count)
{
	return lb_unmap_grants(lbt(t)->w, addr, count);
}

static int lbt_grant_pages_file(struct vgpuback_transport *t, void *addr,
				uint32_t count, uint64_t *file_off)
{
	int fd = lb_mapping_frames(lbt(t)->w, addr, count, file_off);

	if (fd < 0)
		return fd;
	for (uint32_t i = 0; i < count; i++)
		file_off[i] *= LB_PAGE_SIZE;
	return fd;
}

static int lbt_evtchn_bind(struct vgpuback_transport *t, uint32_t domid,
			   uint32_t remote_port)
{
	return lb_evtchn_bind_interdomain(lbt(t)->ev, domid, remote_port);
}

static int lbt_evtchn_unbind(struct vgpuback_transport *t, int local_port)
{
	if (local_port <= 0)
		return -EINVAL;
	return lb_evtchn_unbind(lbt(t)->ev, (uint32_t)local_port);
}

static int lbt_evtchn_notify(struct vgpuback_transport *t, int local_port)
{
	if (local_port <= 0)
		return -EINVAL;
	return lb_evtchn_notify(lbt(t)->ev, (uint32_t)local_port);
}

static int lbt_evtchn_fd(struct vgpuback_transport *t)
{
	return lb_evtchn_fd(lbt(t)->ev);
}

static int lbt_evtchn_pending(struct vgpuback_transport *t)
{
	return lb_evtchn_pending(lbt(t)->ev);
}

static int lbt_evtchn_unmask(struct vgpuback_transport *t, int local_port)
{
	if (local_port <= 0)
		return -EINVAL;
	return lb_evtchn_unmask(lbt(t)->ev, (uint32_t)local_port);
}

static const struct vgpuback_transport_ops lbt_ops = {
	.name = "loopback",
	.close = lbt_close,
	.xs_read = lbt_xs_read,
	.xs_write = lbt_xs_write,
	.xs_mkdir = lbt_xs_mkdir,
	.xs_rm = lbt_xs_rm,
	.xs_directory = lbt_xs_directory,
	.xs_set_perms = lbt_xs_set_perms,
	.xs_transaction_start = lbt_xs_transaction_start,
	.xs_transaction_end = lbt_xs_transaction_end,
	.xs_watch = lbt_xs_watch,
	.xs_unwatch = lbt_xs_unwatch,
	.xs_watch_fd = lbt_xs_watch_fd,
	.xs_read_watch = lbt_xs_read_watch,
	.domain_alive = lbt_domain_alive,
	.map_grants = lbt_map_grants,
	.unmap_grants = lbt_unmap_grants,
	.grant_pages_file = lbt_grant_pages_file,
	.evtchn_bind = lbt_evtchn_bind,
	.evtchn_unbind = lbt_evtchn_unbind,
	.evtchn_notify = lbt_evtchn_notify,
	.evtchn_fd = lbt_evtchn_fd,
	.evtchn_pending = lbt_evtchn_pending,
	.evtchn_unmask = lbt_evtchn_unmask,
};

struct vgpuback_transport *vgpuback_transport_loopback_open(const char *dir,
							    const char **why)
{
	struct lb_transport *l;
	const char *reason = "out of memory";
	int e = ENOMEM;

	l = calloc(1, sizeof(*l));
	if (!l)
		goto out;
	l->t.ops = &lbt_ops;
	/* The backend never creates the world: the toolstack side does. */
	l->w = lb_world_open(dir, false);
	if (!l->w) {
		e = errno;
		reason = e == ENOENT ?
			 "no loopback world in that directory (create one "
			 "with vgpu-loopback-xl world-create)" :
			 "cannot open the loopback world's store";
		goto out_free;
	}
	l->xs = lb_xs_open(l->w, 0);
	if (!l->xs) {
		e = errno;
		reason = "cannot open a store connection in the loopback world";
		goto out_world;
	}
	l->ev = lb_evtchn_open(l->w, 0);
	if (!l->ev) {
		e = errno;
		reason = "cannot open event channels in the loopback world";
		goto out_xs;
	}
	return &l->t;

out_xs:
	lb_xs_close(l->xs);
out_world:
	lb_world_close(l->w);
out_free:
	free(l);
out:
	if (why)
		*why = reason;
	errno = e;
	return NULL;
}
