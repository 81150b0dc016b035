/* SPDX-License-Identifier: MIT */
/*
 * sched.c - the one hook between the backend's execute stage and the
 * executor. Every validated op that needs the GPU passes through
 * vgpuback_sched_submit(); its completion passes through
 * vgpuback_sched_complete() on the ring thread before the response goes out.
 *
 * This is where the dom0-wide arbiter (mediator-cuda/arbiter.h, vgpu_arb_*)
 * plugs in: acquire a slot for this domain at its priority before
 * submitting, release it and account GPU time (req->exec_ns) on completion.
 * The arbiter's owner edits this file only; nothing else in the backend
 * knows about it. dev->priority (enum vgpuif_priority) and dev->pool come
 * from the operator's XenStore keys; dev->sched and req->sched_priv are free
 * for the arbiter's state.
 *
 * Without an arbiter, ops go straight to the executor.
 */
#include "common.h"

int vgpuback_sched_init(struct vgpuback_device *dev)
{
	dev->sched = NULL;
	return 0;
}

void vgpuback_sched_uninit(struct vgpuback_device *dev)
{
	dev->sched = NULL;
}

int vgpuback_sched_submit(struct vgpuback_device *dev, struct vgpuback_req *req)
{
	if (!dev->exec)
		return VGPUIF_RSP_EIO;
	return vgpu_exec_submit(dev->exec, &req->eop);
}

void vgpuback_sched_complete(struct vgpuback_device *dev,
			     struct vgpuback_req *req)
{
	(void)dev;
	(void)req;
}
