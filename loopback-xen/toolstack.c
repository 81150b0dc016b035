/* SPDX-License-Identifier: MIT */
/*
 * toolstack.c - what xl/libxl would write to attach a vgpu device: both
 * device directories with their permissions and keys, states last.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "lb-private.h"
#include "vgpuif.h"

static int wr(struct lb_world *w, const char *dir, const char *key,
	      const char *val)
{
	char path[LB_PATH_MAX];
	int n = snprintf(path, sizeof(path), "%s/%s", dir, key);

	if (n < 0 || n >= (int)sizeof(path))
		return -E2BIG;
	return lb_node_write_locked(w, 0, path, val, strlen(val), false);
}

int lb_attach_device(struct lb_world *w, uint32_t domid, uint32_t devid,
		     const char *priority, uint32_t pool, uint64_t mem_quota)
{
	char fe[LB_PATH_MAX], be[LB_PATH_MAX], v[64];
	struct lb_xs_acl fe_acl[2] = { { domid, LB_XS_PERM_NONE },
				       { 0, LB_XS_PERM_READ } };
	struct lb_xs_acl be_acl[2] = { { 0, LB_XS_PERM_NONE },
				       { domid, LB_XS_PERM_READ } };
	int r;

	if (domid == 0 || domid > LB_MAX_DOMID)
		return -EINVAL;
	if (!priority)
		priority = "medium";
	if (strcmp(priority, "high") && strcmp(priority, "medium") &&
	    strcmp(priority, "low"))
		return -EINVAL;
	snprintf(fe, sizeof(fe), "/local/domain/%u/device/%s/%u", domid,
		 VGPUIF_XS_DEVICE_TYPE, devid);
	snprintf(be, sizeof(be), "/local/domain/0/backend/%s/%u/%u",
		 VGPUIF_XS_DEVICE_TYPE, domid, devid);
	r = lb_lock(w);
	if (r)
		return r;
	if (!lb_dom_alive_locked(w, domid)) {
		r = -ESRCH;
		goto out_unlock;
	}
	(void)lb_node_rm_locked(w, 0, fe, false);
	(void)lb_node_rm_locked(w, 0, be, false);
	r = lb_node_write_locked(w, 0, fe, "", 0, false);
	if (!r) {
		/* The guest owns everything on its way to the device. */
		char par[LB_PATH_MAX];
		struct lb_xs_acl own = { domid, LB_XS_PERM_NONE };

		snprintf(par, sizeof(par), "/local/domain/%u/device/%s", domid,
			 VGPUIF_XS_DEVICE_TYPE);
		r = lb_node_set_perms_locked(w, 0, par, &own, 1, false);
	}
	if (!r)
		r = lb_node_set_perms_locked(w, 0, fe, fe_acl, 2, false);
	if (!r)
		r = lb_node_write_locked(w, 0, be, "", 0, false);
	if (!r)
		r = lb_node_set_perms_locked(w, 0, be, be_acl, 2, false);
	if (!r)
		r = wr(w, fe, "backend", be);
	if (!r)
		r = wr(w, fe, "backend-id", "0");
	if (!r)
		r = wr(w, be, "frontend", fe);
	snprintf(v, sizeof(v), "%u", domid);
	if (!r)
		r = wr(w, be, "frontend-id", v);
	if (!r)
		r = wr(w, be, VGPUIF_XS_PRIORITY, priority);
	snprintf(v, sizeof(v), "%u", pool);
	if (!r)
		r = wr(w, be, VGPUIF_XS_POOL, v);
	snprintf(v, sizeof(v), "%" PRIu64, mem_quota);
	if (!r)
		r = wr(w, be, VGPUIF_XS_MEM_QUOTA, v);
	if (!r)
		r = wr(w, be, "online", "1");
	if (!r)
		r = wr(w, be, VGPUIF_XS_STATE, "1");
	if (!r)
		r = wr(w, fe, VGPUIF_XS_STATE, "1");    /* last */
	if (r) {
		(void)lb_node_rm_locked(w, 0, fe, false);
		(void)lb_node_rm_locked(w, 0, be, false);
	}
out_unlock:
	lb_unlock(w);
	return r;
}

int lb_detach_device(struct lb_world *w, uint32_t domid, uint32_t devid)
{
	char fe[LB_PATH_MAX], be[LB_PATH_MAX];
	int r, a, b;

	if (domid == 0 || domid > LB_MAX_DOMID)
		return -EINVAL;
	snprintf(fe, sizeof(fe), "/local/domain/%u/device/%s/%u", domid,
		 VGPUIF_XS_DEVICE_TYPE, devid);
	snprintf(be, sizeof(be), "/local/domain/0/backend/%s/%u/%u",
		 VGPUIF_XS_DEVICE_TYPE, domid, devid);
	r = lb_lock(w);
	if (r)
		return r;
	a = lb_node_rm_locked(w, 0, fe, false);
	b = lb_node_rm_locked(w, 0, be, false);
	lb_unlock(w);
	return a && b ? -ENOENT : 0;
}
