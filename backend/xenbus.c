/* SPDX-License-Identifier: MIT */
/*
 * xenbus.c - the backend's control path: XenStore, features, the xenbus
 * state machine (see the diagram in ring/vgpuif.h).
 *
 * Every watch event (and the end of a drain) leads to one reconcile() that
 * re-reads the frontend's state and acts on (frontend state, our state,
 * ring), so coalesced or repeated events are harmless. Every value the guest
 * wrote is an untrusted string: strict decimal, range-checked, or an exact
 * protocol string; anything else fails the connection with an error node
 * and Closing, never the process.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "log.h"

/* Standard XenbusState values (xen/io/xenbus.h). */
enum {
	XS_UNKNOWN = 0, XS_INITIALISING = 1, XS_INITWAIT = 2,
	XS_INITIALISED = 3, XS_CONNECTED = 4, XS_CLOSING = 5, XS_CLOSED = 6,
	XS_RECONFIGURING = 7, XS_RECONFIGURED = 8
};

static const char *state_name(int s)
{
	static const char *const n[] = {
		"Unknown", "Initialising", "InitWait", "Initialised",
		"Connected", "Closing", "Closed", "Reconfiguring",
		"Reconfigured"
	};
	if (s < 0)
		return "none";
	return s <= 8 ? n[s] : "invalid";
}

int vgpuback_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	const char *p;

	if (!s || !*s)
		return -EINVAL;
	if (s[0] == '0' && s[1] != '\0')
		return -EINVAL; /* no leading zeros, no "0x" */
	for (p = s; *p; p++) {
		uint64_t d;

		if (*p < '0' || *p > '9')
			return -EINVAL;
		d = (uint64_t)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	if (v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

static char *path_of(const char *dir, const char *key)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, key) < 0)
		return NULL;
	return p;
}

/* Read dir/key; NULL when absent (errno set). Values are capped in length. */
static char *xs_get(struct vgpuback_device *dev, const char *dir,
		    const char *key)
{
	struct vgpuback_transport *t = dev->t;
	char *p = path_of(dir, key), *v;
	unsigned int len = 0;

	if (!p)
		return NULL;
	v = t->ops->xs_read(t, VGPUBACK_XBT_NULL, p, &len);
	free(p);
	if (v && (len > 4096 || strlen(v) != len)) {
		/* Embedded NULs or absurd length: garbage, treat as invalid. */
		free(v);
		v = strdup("\x01");
	}
	return v;
}

/* Read an unsigned key: 0 ok, -ENOENT absent, -EINVAL/-ERANGE garbage. */
static int xs_get_u64(struct vgpuback_device *dev, const char *dir,
		      const char *key, uint64_t max, uint64_t *out)
{
	char *v = xs_get(dev, dir, key);
	int err;

	if (!v)
		return -ENOENT;
	err = vgpuback_parse_u64(v, max, out);
	free(v);
	return err;
}

static int xs_put(struct vgpuback_device *dev, vgpuback_xbt_t xbt,
		  const char *key, const char *val)
{
	struct vgpuback_transport *t = dev->t;
	char *p = path_of(dev->be_path, key);
	int err;

	if (!p)
		return -ENOMEM;
	err = t->ops->xs_write(t, xbt, p, val);
	free(p);
	return err;
}

/* Remove a key of our directory; one that is not there is no error. */
static int xs_del(struct vgpuback_device *dev, vgpuback_xbt_t xbt,
		  const char *key)
{
	struct vgpuback_transport *t = dev->t;
	char *p = path_of(dev->be_path, key);
	int err;

	if (!p)
		return -ENOMEM;
	err = t->ops->xs_rm(t, xbt, p);
	free(p);
	return err == -ENOENT ? 0 : err;
}

static int switch_state(struct vgpuback_device *dev, int state)
{
	char buf[4];
	int err;

	if (dev->be_state == state)
		return 0;
	snprintf(buf, sizeof(buf), "%d", state);
	err = xs_put(dev, VGPUBACK_XBT_NULL, VGPUIF_XS_STATE, buf);
	if (err) {
		vb_err("cannot write state %s: %s", state_name(state),
		       strerror(-err));
		return err;
	}
	vb_info_rl("state %s -> %s (frontend %s)", state_name(dev->be_state),
		state_name(state), state_name(dev->fe_state));
	dev->be_state = state;
	return 0;
}

/* The one fatal-report site: error node, log, Closing. */
static void fail_connection(struct vgpuback_device *dev, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void fail_connection(struct vgpuback_device *dev, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	vb_err_rl("frontend %s: %s; closing the device", dev->fe_path, msg);
	xs_put(dev, VGPUBACK_XBT_NULL, "error", msg);
	switch_state(dev, XS_CLOSING);
}

/* Features and identity, in one transaction retried on EAGAIN. */
static int write_features(struct vgpuback_device *dev)
{
	struct vgpuback_transport *t = dev->t;
	const struct vgpuback_config *cfg = dev->cfg;
	char order[16], indirect[16], mem[32], cc[32], ops[16];
	int err, tries;

	snprintf(ops, sizeof(ops), "%u", dev->policy.no_host_mem ?
		 VGPUIF_OP_COUNT_V2 : (unsigned int)VGPUIF_OP_COUNT);

	snprintf(order, sizeof(order), "%u", cfg->max_ring_page_order);
	snprintf(indirect, sizeof(indirect), "%u", cfg->max_indirect_segments);
	snprintf(mem, sizeof(mem), "%" PRIu64, dev->einfo.total_mem);
	snprintf(cc, sizeof(cc), "%u.%u", dev->einfo.cc_major,
		 dev->einfo.cc_minor);
	for (tries = 0; tries < 16; tries++) {
		vgpuback_xbt_t xbt;

		err = t->ops->xs_transaction_start(t, &xbt);
		if (err < 0)
			return err;
		err = xs_put(dev, xbt, VGPUIF_XS_MAX_RING_PAGE_ORDER, order);
		if (!err)
			err = xs_put(dev, xbt, VGPUIF_XS_FEATURE_PERSISTENT,
				     cfg->persistent_grants ? "1" : "0");
		if (!err)
			err = xs_put(dev, xbt, VGPUIF_XS_FEATURE_MAX_INDIRECT,
				     indirect);
		if (!err)
			err = xs_put(dev, xbt, VGPUIF_XS_GPU_NAME,
				     dev->einfo.name[0] ? dev->einfo.name : "none");
		if (!err)
			err = xs_put(dev, xbt, VGPUIF_XS_GPU_MEMORY, mem);
		if (!err)
			err = xs_put(dev, xbt, VGPUIF_XS_GPU_CC, cc);
		if (!err)
			err = xs_put(dev, xbt, VGPUIF_XS_EXECUTOR,
				     dev->exec ? vgpu_exec_name(dev->exec) : "none");
		/*
		 * Revision 2: the ops served and inline data. A backend told
		 * to speak revision 1 has neither (and removes what an earlier
		 * instance wrote), as one that predates them: a frontend then
		 * assumes 16 ops and no inline data.
		 */
		if (!err)
			err = dev->policy.revision1 ?
			      xs_del(dev, xbt, VGPUIF_XS_FEATURE_OPS) :
			      xs_put(dev, xbt, VGPUIF_XS_FEATURE_OPS, ops);
		if (!err)
			err = dev->policy.revision1 ?
			      xs_del(dev, xbt, VGPUIF_XS_FEATURE_INLINE) :
			      xs_put(dev, xbt, VGPUIF_XS_FEATURE_INLINE, "1");
		/* Revision 3: registered host memory (likewise removed). */
		if (!err)
			err = dev->policy.no_host_mem ?
			      xs_del(dev, xbt, VGPUIF_XS_FEATURE_HOST_MEM) :
			      xs_put(dev, xbt, VGPUIF_XS_FEATURE_HOST_MEM, "1");
		if (err) {
			t->ops->xs_transaction_end(t, xbt, true);
			return err;
		}
		err = t->ops->xs_transaction_end(t, xbt, false);
		if (err != -EAGAIN)
			return err;
	}
	return -EAGAIN;
}

/* Operator policy from our own directory (the guest cannot write it). */
static void read_policy(struct vgpuback_device *dev)
{
	uint64_t v;
	char *s;
	int err;

	s = xs_get(dev, dev->be_path, VGPUIF_XS_PRIORITY);
	if (s) {
		uint32_t p = dev->priority;

		if (!strcmp(s, "high"))
			p = VGPUIF_PRIO_HIGH;
		else if (!strcmp(s, "medium"))
			p = VGPUIF_PRIO_MEDIUM;
		else if (!strcmp(s, "low"))
			p = VGPUIF_PRIO_LOW;
		else
			vb_warn_rl("ignoring priority '%.32s' (want high|medium|low)", s);
		if (p != dev->priority)
			vb_info("priority %s", s);
		dev->priority = p;
		free(s);
	}
	err = xs_get_u64(dev, dev->be_path, VGPUIF_XS_POOL, UINT32_MAX, &v);
	if (!err)
		dev->pool = (uint32_t)v;
	else if (err != -ENOENT)
		vb_warn_rl("ignoring a malformed pool value");
	err = xs_get_u64(dev, dev->be_path, VGPUIF_XS_GPU_SHARE, 100, &v);
	if (!err && v >= 1) {
		if (v != dev->gpu_share)
			vb_info("gpu-share %" PRIu64 " %%", v);
		dev->gpu_share = (uint32_t)v;
	} else if (err == -ENOENT) {
		dev->gpu_share = 0;
	} else {
		vb_warn_rl("ignoring a malformed gpu-share value (want 1..100)");
	}
	err = xs_get_u64(dev, dev->be_path, VGPUIF_XS_MEM_QUOTA, UINT64_MAX, &v);
	if (!err) {
		if (v != dev->policy.mem_quota)
			vb_info("mem-quota %" PRIu64 " bytes%s", v,
				v ? "" : " (none)");
		dev->policy.mem_quota = v;
	} else if (err != -ENOENT) {
		vb_warn_rl("ignoring a malformed mem-quota value");
	}
}

/* Read and validate the frontend's keys, then map. */
static void connect_ring(struct vgpuback_device *dev)
{
	uint32_t refs[1u << VGPUIF_MAX_RING_PAGE_ORDER];
	uint64_t order = 0, v, port;
	bool persistent = false;
	const char *why = NULL;
	uint32_t i, n;
	char *proto;
	int err;

	proto = xs_get(dev, dev->fe_path, VGPUIF_XS_PROTOCOL);
	if (!proto || strcmp(proto, VGPUIF_PROTOCOL)) {
		fail_connection(dev, "protocol %s%.40s%s is not %s",
				proto ? "'" : "", proto ? proto : "missing",
				proto ? "'" : "", VGPUIF_PROTOCOL);
		free(proto);
		return;
	}
	free(proto);

	err = xs_get_u64(dev, dev->fe_path, VGPUIF_XS_RING_PAGE_ORDER,
			 dev->cfg->max_ring_page_order, &order);
	if (err && err != -ENOENT) {
		fail_connection(dev, "ring-page-order is not a number in 0..%u",
				dev->cfg->max_ring_page_order);
		return;
	}
	n = 1u << order;
	if (order == 0) {
		err = xs_get_u64(dev, dev->fe_path, VGPUIF_XS_RING_REF,
				 UINT32_MAX, &v);
		if (err) {
			fail_connection(dev, "ring-ref %s",
					err == -ENOENT ? "missing" :
					"is not a 32-bit unsigned decimal");
			return;
		}
		refs[0] = (uint32_t)v;
	} else {
		for (i = 0; i < n; i++) {
			char key[32];

			snprintf(key, sizeof(key), VGPUIF_XS_RING_REF_FMT, i);
			err = xs_get_u64(dev, dev->fe_path, key, UINT32_MAX, &v);
			if (err) {
				fail_connection(dev, "%s %s", key,
						err == -ENOENT ? "missing" :
						"is not a 32-bit unsigned decimal");
				return;
			}
			refs[i] = (uint32_t)v;
		}
	}
	err = xs_get_u64(dev, dev->fe_path, VGPUIF_XS_EVENT_CHANNEL,
			 (1u << 24) - 1, &port);
	if (err) {
		fail_connection(dev, "event-channel %s",
				err == -ENOENT ? "missing" :
				"is not a port number");
		return;
	}
	err = xs_get_u64(dev, dev->fe_path, VGPUIF_XS_FEATURE_PERSISTENT, 1, &v);
	if (!err)
		persistent = v == 1;
	else if (err != -ENOENT) {
		fail_connection(dev, "feature-persistent is not 0 or 1");
		return;
	}
	read_policy(dev);
	{
		/* The guest's memory bounds its working set (grants.h). */
		char mdir[48];

		snprintf(mdir, sizeof(mdir), "/local/domain/%u/memory", dev->domid);
		if (xs_get_u64(dev, mdir, "static-max", UINT64_MAX >> 12, &v))
			v = 0;
		dev->guest_mem_kib = v;
	}
	err = vgpuback_ring_connect(dev, refs, n, (uint32_t)port,
				    persistent, &why);
	if (err) {
		fail_connection(dev, "%s (%s)", why, strerror(-err));
		return;
	}
	memcpy(dev->conn_refs, refs, n * sizeof(refs[0]));
	dev->conn_nr = n;
	dev->conn_port = (uint32_t)port;
	switch_state(dev, XS_CONNECTED);
}

/* Did the frontend publish a different ring than the one we mapped? */
static bool ring_changed(struct vgpuback_device *dev)
{
	uint64_t v;
	char key[32];
	uint32_t i;

	if (xs_get_u64(dev, dev->fe_path, VGPUIF_XS_EVENT_CHANNEL, UINT32_MAX, &v) ||
	    v != dev->conn_port)
		return true;
	for (i = 0; i < dev->conn_nr; i++) {
		if (dev->conn_nr == 1)
			snprintf(key, sizeof(key), "%s", VGPUIF_XS_RING_REF);
		else
			snprintf(key, sizeof(key), VGPUIF_XS_RING_REF_FMT, i);
		if (xs_get_u64(dev, dev->fe_path, key, UINT32_MAX, &v) ||
		    v != dev->conn_refs[i])
			return true;
	}
	return false;
}

static int read_fe_state(struct vgpuback_device *dev)
{
	uint64_t v;
	int err = xs_get_u64(dev, dev->fe_path, VGPUIF_XS_STATE, 8, &v);

	if (err == -ENOENT)
		return XS_CLOSED; /* the frontend vanished */
	if (err) {
		vb_warn_rl("frontend state is garbage; ignoring it");
		return -1;
	}
	return (int)v;
}

static void reconcile(struct vgpuback_device *dev)
{
	int fe;

	if (dev->leaving) {
		/* Shutdown, detach or a dead domain: drain, close, quit. */
		if (dev->conn != VGPUBACK_DISCONNECTED) {
			if (dev->conn == VGPUBACK_CONNECTED ||
			    dev->conn == VGPUBACK_HALTED)
				switch_state(dev, XS_CLOSING);
			vgpuback_ring_disconnect(dev);
			return;
		}
		if (!dev->domain_dead && !dev->be_gone)
			switch_state(dev, XS_CLOSED);
		dev->quit = true;
		return;
	}
	fe = read_fe_state(dev);
	if (fe < 0)
		return;
	if (fe != dev->fe_state)
		vb_debug("frontend state %s", state_name(fe));
	dev->fe_state = fe;

	switch (fe) {
	case XS_INITIALISING:
	case XS_INITWAIT:
	case XS_UNKNOWN:
		if (dev->conn != VGPUBACK_DISCONNECTED) {
			vb_info_rl("frontend restarted without closing");
			vgpuback_ring_disconnect(dev);
			return;
		}
		dev->stale_connection = false;
		switch_state(dev, XS_INITWAIT);
		break;
	case XS_INITIALISED:
	case XS_CONNECTED:
		if (dev->stale_connection)
			break; /* wait for it to notice our Closing */
		if (dev->conn == VGPUBACK_DISCONNECTED) {
			if (dev->be_state == XS_INITWAIT ||
			    dev->be_state == XS_CONNECTED)
				connect_ring(dev);
		} else if (dev->conn == VGPUBACK_CONNECTED) {
			if (ring_changed(dev)) {
				vb_info_rl("a new frontend instance published a new ring; reconnecting");
				vgpuback_ring_disconnect(dev);
				return;
			}
			switch_state(dev, XS_CONNECTED);
		}
		break;
	case XS_CLOSING:
		if (dev->conn != VGPUBACK_DISCONNECTED) {
			vgpuback_ring_disconnect(dev);
			return;
		}
		if (dev->be_state != XS_CLOSED)
			switch_state(dev, XS_CLOSING);
		break;
	case XS_CLOSED:
	default:
		if (dev->conn != VGPUBACK_DISCONNECTED) {
			vgpuback_ring_disconnect(dev);
			return;
		}
		dev->stale_connection = false;
		if (dev->be_state != XS_INITWAIT) {
			switch_state(dev, XS_CLOSED);
			/* Ready for a new frontend instance. */
			switch_state(dev, XS_INITWAIT);
		}
		break;
	}
}

/*
 * Our state key is ours: the one other writer, a supervisor marking a dead
 * predecessor Closed (supervise.c), can land after we started. Left alone,
 * the frontend would wait for an InitWait we believe we wrote.
 */
static void restore_own_state(struct vgpuback_device *dev)
{
	uint64_t v;
	int want = dev->be_state;

	if (want < 0 || xs_get_u64(dev, dev->be_path, VGPUIF_XS_STATE, 8, &v) ||
	    (int)v == want)
		return;
	vb_warn_rl("backend state was changed to %s behind our back (a supervisor marking a dead backend?); restoring %s",
		   state_name((int)v), state_name(want));
	dev->be_state = -1;
	switch_state(dev, want);
}

void vgpuback_xenbus_changed(struct vgpuback_device *dev)
{
	struct vgpuback_transport *t = dev->t;
	char *s;

	if (!dev->leaving) {
		int alive = t->ops->domain_alive(t, dev->domid);

		if (alive == 0) {
			vb_info("domain %u is gone; releasing everything", dev->domid);
			dev->domain_dead = true;
			dev->leaving = true;
		}
	}
	if (!dev->leaving) {
		s = xs_get(dev, dev->be_path, VGPUIF_XS_STATE);
		if (!s && errno == ENOENT) {
			char *d = t->ops->xs_read(t, VGPUBACK_XBT_NULL,
						  dev->be_path, NULL);
			if (!d) {
				vb_info("backend directory removed; releasing everything");
				dev->be_gone = true;
				dev->leaving = true;
			}
			free(d);
		}
		free(s);
	}
	if (!dev->leaving) {
		uint64_t online;

		if (!xs_get_u64(dev, dev->be_path, "online", 1, &online) &&
		    online == 0) {
			vb_info("toolstack set online=0: detaching");
			dev->leaving = true;
		}
		read_policy(dev);
	}
	if (!dev->leaving)
		restore_own_state(dev);
	reconcile(dev);
}

uint32_t vgpuback_xenbus_watchdog(struct vgpuback_transport *t,
				  const struct vgpuback_config *cfg)
{
	char path[160];
	unsigned int len = 0;
	uint64_t v = 0;
	char *s;

	snprintf(path, sizeof(path), "/local/domain/0/backend/%s/%u/%u/%s",
		 VGPUIF_XS_DEVICE_TYPE, cfg->domid, cfg->devid,
		 VGPUIF_XS_WATCHDOG_MS);
	s = t->ops->xs_read(t, VGPUBACK_XBT_NULL, path, &len);
	if (s && (len > 16 || strlen(s) != len ||
		  vgpuback_parse_u64(s, 3600000, &v))) {
		vb_warn("ignoring a malformed %s value (want 0..3600000 ms); the host-wide %u ms applies",
			VGPUIF_XS_WATCHDOG_MS, cfg->watchdog_ms);
		free(s);
		s = NULL;
	}
	if (!s) {
		if (cfg->watchdog_ms)
			vb_info("watchdog: a kernel is stopped after %u ms (host-wide setting)",
				cfg->watchdog_ms);
		else
			vb_warn("watchdog: off (host-wide watchdog-ms = 0): a kernel may run forever");
		return cfg->watchdog_ms;
	}
	free(s);
	if (v)
		vb_info("watchdog: a kernel is stopped after %u ms (the domain's %s)",
			(uint32_t)v, VGPUIF_XS_WATCHDOG_MS);
	else
		vb_warn("watchdog: off (the domain's %s = 0): a kernel may run forever",
			VGPUIF_XS_WATCHDOG_MS);
	return (uint32_t)v;
}

void vgpuback_xenbus_ring_halted(struct vgpuback_device *dev)
{
	fail_connection(dev, "ring producer index overflow (corrupt or hostile frontend)");
}

void vgpuback_xenbus_drained(struct vgpuback_device *dev)
{
	reconcile(dev);
}

void vgpuback_xenbus_shutdown(struct vgpuback_device *dev)
{
	if (dev->leaving)
		return;
	dev->leaving = true;
	dev->shutting_down = true;
	/* Answer what is already on the ring with ESHUTDOWN. */
	if (dev->conn == VGPUBACK_CONNECTED)
		vgpuback_ring_kick(dev);
	reconcile(dev);
}

/*
 * The first half of vgpuback_xenbus_init: our directory (made when no
 * toolstack wrote it) and the operator's policy in it, so that the arbiter
 * can place the domain on a GPU of its pool before the executor opens.
 */
int vgpuback_xenbus_prepare(struct vgpuback_device *dev)
{
	struct vgpuback_transport *t = dev->t;
	char *want_fe = NULL, *fe = NULL;
	char idbuf[16];
	int err;

	if (dev->be_path)
		return 0;

	if (asprintf(&dev->be_path, "/local/domain/0/backend/%s/%u/%u",
		     VGPUIF_XS_DEVICE_TYPE, dev->domid, dev->devid) < 0 ||
	    asprintf(&want_fe, "/local/domain/%u/device/%s/%u", dev->domid,
		     VGPUIF_XS_DEVICE_TYPE, dev->devid) < 0) {
		err = -ENOMEM;
		goto out;
	}
	fe = xs_get(dev, dev->be_path, "frontend");
	if (fe && strcmp(fe, want_fe)) {
		vb_err("backend key %s/frontend names '%.200s', expected %s; refusing",
		       dev->be_path, fe, want_fe);
		err = -EINVAL;
		goto out;
	}
	if (!fe) {
		/* No toolstack wrote it (bare loopback world): do its part. */
		struct vgpuback_xs_acl acl[2] = {
			{ 0, VGPUBACK_XS_PERM_NONE },
			{ dev->domid, VGPUBACK_XS_PERM_READ },
		};

		vb_info("no %s/frontend: creating the backend directory", dev->be_path);
		err = t->ops->xs_mkdir(t, VGPUBACK_XBT_NULL, dev->be_path);
		if (!err)
			err = t->ops->xs_set_perms(t, VGPUBACK_XBT_NULL,
						   dev->be_path, acl, 2);
		if (!err)
			err = xs_put(dev, VGPUBACK_XBT_NULL, "frontend", want_fe);
		snprintf(idbuf, sizeof(idbuf), "%u", dev->domid);
		if (!err)
			err = xs_put(dev, VGPUBACK_XBT_NULL, "frontend-id", idbuf);
		if (err) {
			vb_err("cannot create %s: %s", dev->be_path, strerror(-err));
			goto out;
		}
	}
	dev->fe_path = want_fe;
	want_fe = NULL;
	read_policy(dev);
	err = 0;
out:
	if (err) {
		free(dev->be_path);
		dev->be_path = NULL;
	}
	free(want_fe);
	free(fe);
	return err;
}

int vgpuback_xenbus_init(struct vgpuback_device *dev)
{
	struct vgpuback_transport *t = dev->t;
	uint64_t old = 0;
	int err;

	err = vgpuback_xenbus_prepare(dev);
	if (err)
		return err;

	/*
	 * A previous instance that died connected leaves the guest stale; so
	 * does one its supervisor marked Closed (supervise.c) before the
	 * frontend noticed: its ring keys name a ring nobody serves.
	 */
	if (!xs_get_u64(dev, dev->be_path, VGPUIF_XS_STATE, 8, &old) &&
	    (old == XS_CONNECTED || old == XS_CLOSING || old == XS_CLOSED)) {
		int fs = read_fe_state(dev);

		if (fs == XS_INITIALISED || fs == XS_CONNECTED) {
			vb_warn("a previous backend left the frontend %s; asking it to reconnect",
				state_name(fs));
			dev->stale_connection = true;
		}
	}
	dev->be_state = (int)old;
	xs_put(dev, VGPUBACK_XBT_NULL, "error", "");
	err = write_features(dev);
	if (err) {
		vb_err("cannot write features to %s: %s", dev->be_path,
		       strerror(-err));
		goto out;
	}
	read_policy(dev);
	{
		uint64_t q;

		if (xs_get_u64(dev, dev->be_path, VGPUIF_XS_MEM_QUOTA, UINT64_MAX, &q) == -ENOENT)
			vb_info("mem-quota: %" PRIu64 " bytes%s (host-wide default: no mem-quota key)",
				dev->policy.mem_quota,
				dev->policy.mem_quota ? "" : ", none: the domain may take all free device memory");
	}
	dev->be_state = -1; /* force the first write */
	err = switch_state(dev, dev->stale_connection ? XS_CLOSING : XS_INITWAIT);
	if (err)
		goto out;
	err = t->ops->xs_watch(t, dev->fe_path, "frontend");
	if (!err)
		err = t->ops->xs_watch(t, dev->be_path, "backend");
	if (!err)
		err = t->ops->xs_watch(t, "@releaseDomain", "release");
	if (err) {
		vb_err("cannot set XenStore watches: %s", strerror(-err));
		goto out;
	}
	vb_info("serving %s from %s (executor %s)", dev->fe_path, dev->be_path,
		dev->exec ? vgpu_exec_name(dev->exec) : "none");
out:
	return err;
}

void vgpuback_xenbus_uninit(struct vgpuback_device *dev)
{
	struct vgpuback_transport *t = dev->t;

	if (dev->fe_path)
		t->ops->xs_unwatch(t, dev->fe_path, "frontend");
	if (dev->be_path) {
		t->ops->xs_unwatch(t, dev->be_path, "backend");
		t->ops->xs_unwatch(t, "@releaseDomain", "release");
	}
	free(dev->be_path);
	free(dev->fe_path);
	dev->be_path = dev->fe_path = NULL;
}
