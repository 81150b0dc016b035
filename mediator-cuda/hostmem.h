/* SPDX-License-Identifier: MIT */
/*
 * hostmem.h - dom0's real memory, as a backend sees it: what the machine
 * has (MemTotal), what is free for the taking now (MemAvailable), and the
 * limit of the backend's own cgroup (the systemd unit's MemoryMax, cgroup v2
 * memory.max or v1 memory.limit_in_bytes, the tightest of the cgroup and its
 * parents).
 *
 * The settings that bound a backend's host memory follow from these: the
 * cpu executor's "device" memory and the cuda executor's pinned staging are
 * host memory in dom0, and dom0 is precious. A backend refuses what would
 * pass its limit, or leave less than the reserve available to dom0, with
 * ENOMEM, so that neither its cgroup's nor dom0's OOM killer has to act.
 */
#ifndef VGPU_HOSTMEM_H
#define VGPU_HOSTMEM_H

#include <stdint.h>

struct vgpu_hostmem {
	uint64_t total;            /* MemTotal, bytes                        */
	uint64_t available;        /* MemAvailable, bytes                    */
	uint64_t cgroup_limit;     /* bytes; UINT64_MAX = none               */
};

/*
 * Read /proc/meminfo and this process's cgroup. 0, or -errno when
 * /proc/meminfo cannot be read (the cgroup limit is then UINT64_MAX too).
 * root: "" for the real system; tests pass a directory that holds
 * proc/meminfo, proc/self/cgroup and sys/fs/cgroup/... instead.
 */
int vgpu_hostmem_read(const char *root, struct vgpu_hostmem *m);

/* MemAvailable alone, for the check at each allocation; 0 when unknown. */
uint64_t vgpu_hostmem_available(const char *root);

/*
 * The default limit of one backend's host memory: under a cgroup limit,
 * that limit less 64 MiB for the backend itself (at least half of it);
 * else half of MemTotal.
 */
uint64_t vgpu_hostmem_default_limit(const struct vgpu_hostmem *m);

/*
 * The default reserve: what every backend leaves available to the rest of
 * dom0 (xenstored, the toolstack, other backends): 1/16 of MemTotal, at
 * least 64 MiB.
 */
uint64_t vgpu_hostmem_default_reserve(const struct vgpu_hostmem *m);

#endif /* VGPU_HOSTMEM_H */
