/* SPDX-License-Identifier: MIT */
/*
 * evtchn.c - interdomain event channels with Xen's pending/mask rules, as
 * Linux's evtchn device shows them to userspace: a port that fires is
 * masked until the reader unmasks it; notifications while pending
 * coalesce; an unmask with an event pending fires again.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lb-private.h"

struct lb_evtchn {
	struct lb_world *w;
	uint32_t domid;
	uint32_t conn;
	int sock;
	uint32_t scan;          /* round-robin start of the pending scan */
};

static struct lb_shm_port *port_of(struct lb_world *w, uint32_t dom,
				   uint32_t port)
{
	if (dom > LB_MAX_DOMID || port == 0 || port >= LB_MAX_PORTS)
		return NULL;
	return &w->shm->port[dom][port];
}

/* A port of ours, bound through this handle (world lock held). */
static struct lb_shm_port *own_port(struct lb_evtchn *e, uint32_t port)
{
	struct lb_shm_port *p = port_of(e->w, e->domid, port);

	if (!p || p->state == LB_PORT_FREE || p->conn != e->conn)
		return NULL;
	return p;
}

static int port_alloc_locked(struct lb_evtchn *e)
{
	for (uint32_t i = 1; i < LB_MAX_PORTS; i++) {
		struct lb_shm_port *p = &e->w->shm->port[e->domid][i];

		if (p->state == LB_PORT_FREE) {
			memset(p, 0, sizeof(*p));
			p->conn = e->conn;
			return (int)i;
		}
	}
	return -ENOSPC;
}

/* Raise an event on a port (world lock held). */
static void port_raise_locked(struct lb_world *w, struct lb_shm_port *p)
{
	if (p->pending) {
		/* Coalesces with the one pending; re-ring in case whoever
		 * rang for it died before its wake-up left. */
		if (p->queued)
			lb_conn_ring_locked(w, p->conn);
		return;
	}
	p->pending = 1;
	if (p->masked)
		return;         /* delivered at unmask */
	p->masked = 1;
	p->queued = 1;
	lb_conn_ring_locked(w, p->conn);
}

/* Close one port; its peer (if bound to it) becomes unbound. */
static void port_close_locked(struct lb_world *w, uint32_t dom, uint32_t port)
{
	struct lb_shm_port *p = port_of(w, dom, port), *r;

	if (!p || p->state == LB_PORT_FREE)
		return;
	if (p->state == LB_PORT_INTERDOMAIN) {
		r = port_of(w, p->remote_dom, p->remote_port);
		if (r && r->state == LB_PORT_INTERDOMAIN &&
		    r->remote_dom == dom && r->remote_port == port) {
			r->state = LB_PORT_UNBOUND;
			r->remote_dom = dom;
			r->remote_port = 0;
		}
	}
	memset(p, 0, sizeof(*p));
}

void lb_ports_close_domain_locked(struct lb_world *w, uint32_t domid)
{
	for (uint32_t i = 1; i < LB_MAX_PORTS; i++)
		port_close_locked(w, domid, i);
}

void lb_ports_drop_conn_locked(struct lb_world *w, uint32_t conn)
{
	for (uint32_t d = 0; d < LB_MAX_DOMAINS; d++)
		for (uint32_t i = 1; i < LB_MAX_PORTS; i++)
			if (w->shm->port[d][i].state != LB_PORT_FREE &&
			    w->shm->port[d][i].conn == conn)
				port_close_locked(w, d, i);
}

struct lb_evtchn *lb_evtchn_open(struct lb_world *w, uint32_t domid)
{
	struct lb_evtchn *e;
	int r, slot;

	if (domid > LB_MAX_DOMID) {
		errno = EINVAL;
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->w = w;
	e->domid = domid;
	slot = lb_conn_alloc(w, domid, LB_CONN_EVTCHN);
	if (slot < 0) {
		r = slot;
		goto out_free;
	}
	e->conn = (uint32_t)slot;
	e->sock = lb_conn_socket(w, e->conn);
	if (e->sock < 0) {
		r = e->sock;
		goto out_release;
	}
	return e;

out_release:
	if (!lb_lock(w)) {
		lb_conn_release_locked(w, e->conn);
		lb_unlock(w);
	}
out_free:
	free(e);
	errno = -r;
	return NULL;
}

void lb_evtchn_close(struct lb_evtchn *e)
{
	if (!e)
		return;
	if (!lb_lock(e->w)) {
		lb_conn_release_locked(e->w, e->conn);  /* closes its ports */
		lb_unlock(e->w);
	}
	close(e->sock);
	free(e);
}

int lb_evtchn_alloc_unbound(struct lb_evtchn *e, uint32_t remote_domid)
{
	int r, port;

	if (remote_domid > LB_MAX_DOMID)
		return -EINVAL;
	r = lb_lock(e->w);
	if (r)
		return r;
	if (!lb_dom_alive_locked(e->w, e->domid)) {
		r = -ESRCH;
		goto out_unlock;
	}
	port = port_alloc_locked(e);
	if (port < 0) {
		r = port;
		goto out_unlock;
	}
	e->w->shm->port[e->domid][port].remote_dom = remote_domid;
	e->w->shm->port[e->domid][port].state = LB_PORT_UNBOUND;
	r = port;
out_unlock:
	lb_unlock(e->w);
	return r;
}

int lb_evtchn_bind_interdomain(struct lb_evtchn *e, uint32_t remote_domid,
			       uint32_t remote_port)
{
	struct lb_shm_port *rp, *lp;
	int r, port;

	r = lb_lock(e->w);
	if (r)
		return r;
	rp = port_of(e->w, remote_domid, remote_port);
	if (!lb_dom_alive_locked(e->w, remote_domid) ||
	    !lb_dom_alive_locked(e->w, e->domid)) {
		r = -ESRCH;
		goto out_unlock;
	}
	/* Xen: the remote port must be unbound and offered to us. */
	if (!rp || rp->state != LB_PORT_UNBOUND ||
	    rp->remote_dom != e->domid) {
		r = -EINVAL;
		goto out_unlock;
	}
	port = port_alloc_locked(e);
	if (port < 0) {
		r = port;
		goto out_unlock;
	}
	lp = &e->w->shm->port[e->domid][port];
	lp->remote_dom = remote_domid;
	lp->remote_port = remote_port;
	lp->state = LB_PORT_INTERDOMAIN;
	rp->remote_port = (uint32_t)port;
	rp->state = LB_PORT_INTERDOMAIN;
	r = port;
out_unlock:
	lb_unlock(e->w);
	return r;
}

int lb_evtchn_unbind(struct lb_evtchn *e, uint32_t port)
{
	int r = lb_lock(e->w);

	if (r)
		return r;
	if (!own_port(e, port))
		r = -EINVAL;
	else
		port_close_locked(e->w, e->domid, port);
	lb_unlock(e->w);
	return r;
}

int lb_evtchn_notify(struct lb_evtchn *e, uint32_t port)
{
	struct lb_shm_port *p, *r;
	int rc = lb_lock(e->w);

	if (rc)
		return rc;
	p = own_port(e, port);
	if (!p) {
		rc = -EINVAL;
		goto out_unlock;
	}
	if (p->state != LB_PORT_INTERDOMAIN)
		goto out_unlock;        /* peer not there: a no-op, as Xen */
	r = port_of(e->w, p->remote_dom, p->remote_port);
	if (r && r->state == LB_PORT_INTERDOMAIN &&
	    r->remote_dom == e->domid && r->remote_port == port)
		port_raise_locked(e->w, r);
out_unlock:
	lb_unlock(e->w);
	return rc;
}

int lb_evtchn_fd(struct lb_evtchn *e)
{
	return e->sock;
}

int lb_evtchn_pending(struct lb_evtchn *e)
{
	int r, got = -EAGAIN;
	bool more = false;

	lb_conn_drain(e->sock);
	r = lb_lock(e->w);
	if (r)
		return r;
	lb_conn_rearm_locked(e->w, e->conn);
	for (uint32_t k = 0; k < LB_MAX_PORTS; k++) {
		uint32_t i = (e->scan + k) % LB_MAX_PORTS;
		struct lb_shm_port *p = &e->w->shm->port[e->domid][i];

		if (i == 0 || p->state == LB_PORT_FREE || p->conn != e->conn ||
		    !p->queued)
			continue;
		if (got >= 0) {
			more = true;
			break;
		}
		p->queued = 0;
		p->pending = 0;         /* read: stays masked */
		got = (int)i;
	}
	if (got >= 0)
		e->scan = (uint32_t)got + 1;
	if (more)
		lb_conn_ring_locked(e->w, e->conn);
	lb_unlock(e->w);
	return got;
}

int lb_evtchn_unmask(struct lb_evtchn *e, uint32_t port)
{
	struct lb_shm_port *p;
	int r = lb_lock(e->w);

	if (r)
		return r;
	p = own_port(e, port);
	if (!p) {
		r = -EINVAL;
	} else if (p->masked) {
		p->masked = 0;
		if (p->pending) {
			/* Fired while masked: deliver it now. */
			p->pending = 0;
			port_raise_locked(e->w, p);
		}
	}
	lb_unlock(e->w);
	return r;
}
