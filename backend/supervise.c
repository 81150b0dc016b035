/* SPDX-License-Identifier: MIT */
/*
 * supervise.c - what a supervisor does when a backend died without closing
 * (SIGKILL, dom0's OOM killer, a crash): mark the device Closed in XenStore.
 *
 * A backend that dies leaves its state key at Connected, and the guest's
 * frontend, which trusts nothing but that key to learn of its peer, would
 * wait for answers that never come. `vgpu-backend --mark-closed REASON` is
 * run by whatever supervises the backend (the systemd unit's ExecStopPost,
 * the supervisor process vgpu-attach starts without systemd) after the
 * backend is gone: the frontend sees Closed, fails its in-flight requests
 * with EIO and later calls with ENOTCONN after its connect_timeout_ms, and a
 * new backend reconnects it from the top.
 *
 * In one transaction: nothing when the backend directory is gone (detached)
 * or already Closed (the backend closed cleanly); otherwise state = Closed
 * and error = REASON. A new backend started meanwhile restores its own
 * state (xenbus.c), so a late mark does no lasting harm.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "log.h"

#define XS_CLOSED 6

static int mark_once(struct vgpuback_transport *t, const char *be,
		     const char *reason, bool *marked)
{
	char state_path[160], error_path[160], buf[4];
	vgpuback_xbt_t xbt;
	unsigned int len = 0;
	uint64_t old = 0;
	char *v;
	int err;

	snprintf(state_path, sizeof(state_path), "%s/%s", be, VGPUIF_XS_STATE);
	snprintf(error_path, sizeof(error_path), "%s/error", be);
	err = t->ops->xs_transaction_start(t, &xbt);
	if (err < 0)
		return err;
	v = t->ops->xs_read(t, xbt, state_path, &len);
	if (!v) {
		/* Detached: writing would create the directory again. */
		t->ops->xs_transaction_end(t, xbt, true);
		return 0;
	}
	err = vgpuback_parse_u64(v, 8, &old);
	free(v);
	if (!err && old == XS_CLOSED) {
		t->ops->xs_transaction_end(t, xbt, true);
		return 0;
	}
	snprintf(buf, sizeof(buf), "%d", XS_CLOSED);
	err = t->ops->xs_write(t, xbt, error_path, reason);
	if (!err)
		err = t->ops->xs_write(t, xbt, state_path, buf);
	if (err) {
		t->ops->xs_transaction_end(t, xbt, true);
		return err;
	}
	err = t->ops->xs_transaction_end(t, xbt, false);
	if (!err)
		*marked = true;
	return err;
}

int vgpuback_mark_closed(struct vgpuback_transport *t, uint32_t domid,
			 uint32_t devid, const char *reason)
{
	char be[128], why[200];
	bool marked = false;
	int err = -EAGAIN, tries;

	snprintf(be, sizeof(be), "/local/domain/0/backend/%s/%u/%u",
		 VGPUIF_XS_DEVICE_TYPE, domid, devid);
	/* The guest reads the error key: keep it short and plain. */
	snprintf(why, sizeof(why), "backend died without closing (%s)",
		 reason && *reason ? reason : "no reason given");
	for (char *c = why; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
			*c = '?';
	for (tries = 0; tries < 16 && err == -EAGAIN; tries++)
		err = mark_once(t, be, why, &marked);
	if (err) {
		vb_err("cannot mark %s Closed: %s", be, strerror(-err));
		return err;
	}
	if (marked)
		vb_warn("%s; marked %s Closed: the guest's calls fail instead of waiting",
			why, be);
	else
		vb_info("%s is gone or already Closed; nothing to mark", be);
	return 0;
}
