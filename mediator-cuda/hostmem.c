/* SPDX-License-Identifier: MIT */
/*
 * hostmem.c - dom0's memory and this process's cgroup limit (hostmem.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostmem.h"

#define MIB (1024ull * 1024ull)

static FILE *open_at(const char *root, const char *path)
{
	char p[512];

	if ((size_t)snprintf(p, sizeof(p), "%s%s", root ? root : "", path) >=
	    sizeof(p))
		return NULL;
	return fopen(p, "re");
}

/* "Key:   1234 kB" lines of /proc/meminfo. */
static int read_meminfo(const char *root, uint64_t *total, uint64_t *avail)
{
	FILE *f = open_at(root, "/proc/meminfo");
	char line[256];
	int found = 0;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long kb;

		if (sscanf(line, "MemTotal: %llu kB", &kb) == 1 && total) {
			*total = (uint64_t)kb * 1024;
			found |= 1;
		} else if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1 && avail) {
			*avail = (uint64_t)kb * 1024;
			found |= 2;
		}
	}
	fclose(f);
	return found ? 0 : -EINVAL;
}

/* A limit file's value: a number, or "max" (none). */
static uint64_t read_limit(const char *root, const char *path)
{
	FILE *f = open_at(root, path);
	unsigned long long v;
	char buf[64];
	uint64_t r = UINT64_MAX;

	if (!f)
		return UINT64_MAX;
	if (fgets(buf, sizeof(buf), f) && strncmp(buf, "max", 3) &&
	    sscanf(buf, "%llu", &v) == 1)
		r = (uint64_t)v;
	fclose(f);
	/* v1 says "none" with a huge page-rounded LONG_MAX. */
	return r >= (1ull << 62) ? UINT64_MAX : r;
}

/* The tightest limit of the cgroup at path and each of its parents. */
static uint64_t walk_limits(const char *root, const char *base,
			    const char *cg, const char *file)
{
	char path[512], *slash;
	uint64_t lim = UINT64_MAX, v;

	if ((size_t)snprintf(path, sizeof(path), "%s", cg) >= sizeof(path))
		return UINT64_MAX;
	for (;;) {
		char full[600];

		snprintf(full, sizeof(full), "%s%s/%s", base,
			 strcmp(path, "/") ? path : "", file);
		v = read_limit(root, full);
		if (v < lim)
			lim = v;
		slash = strrchr(path, '/');
		if (!slash || slash == path)
			break;
		*slash = '\0';
	}
	return lim;
}

static uint64_t cgroup_limit(const char *root)
{
	FILE *f = open_at(root, "/proc/self/cgroup");
	char line[512], v2[512] = "", v1[512] = "";
	uint64_t lim = UINT64_MAX, l;

	if (!f)
		return UINT64_MAX;
	while (fgets(line, sizeof(line), f)) {
		char *nl = strchr(line, '\n'), *p;

		if (nl)
			*nl = '\0';
		if (!strncmp(line, "0::", 3)) {
			snprintf(v2, sizeof(v2), "%s", line + 3);
			continue;
		}
		/* v1: "N:controllers:path", memory among the controllers */
		p = strchr(line, ':');
		if (!p)
			continue;
		if (!strncmp(p + 1, "memory:", 7) || strstr(p + 1, ",memory:"))
			snprintf(v1, sizeof(v1), "%s", strchr(p + 1, ':') + 1);
	}
	fclose(f);
	if (v2[0]) {
		l = walk_limits(root, "/sys/fs/cgroup", v2, "memory.max");
		if (l < lim)
			lim = l;
	}
	if (v1[0]) {
		l = walk_limits(root, "/sys/fs/cgroup/memory", v1,
				"memory.limit_in_bytes");
		if (l < lim)
			lim = l;
	}
	return lim;
}

int vgpu_hostmem_read(const char *root, struct vgpu_hostmem *m)
{
	int err;

	memset(m, 0, sizeof(*m));
	m->cgroup_limit = UINT64_MAX;
	err = read_meminfo(root, &m->total, &m->available);
	if (err)
		return err;
	m->cgroup_limit = cgroup_limit(root);
	return 0;
}

uint64_t vgpu_hostmem_available(const char *root)
{
	uint64_t avail = 0;

	if (read_meminfo(root, NULL, &avail))
		return 0;
	return avail;
}

uint64_t vgpu_hostmem_default_limit(const struct vgpu_hostmem *m)
{
	uint64_t base = m->total;

	if (m->cgroup_limit != UINT64_MAX && m->cgroup_limit < base) {
		base = m->cgroup_limit;
		return base > 128 * MIB ? base - 64 * MIB : base / 2;
	}
	return base / 2;
}

uint64_t vgpu_hostmem_default_reserve(const struct vgpu_hostmem *m)
{
	uint64_t r = m->total / 16;

	return r > 64 * MIB ? r : 64 * MIB;
}
