/* SPDX-License-Identifier: MIT */
/*
 * config.h - vgpu-backend's settings: built-in defaults, then the host-wide
 * config file (/etc/vgpu-xen/backend.conf), then command-line flags.
 */
#ifndef VGPUBACK_CONFIG_H
#define VGPUBACK_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define VGPUBACK_DEFAULT_CONFIG "/etc/vgpu-xen/backend.conf"
/* The kernel time limit when neither the domain nor the host sets one. */
#define VGPUBACK_DEFAULT_WATCHDOG_MS 10000u

/*
 * poll-us "auto" (the default): poll while the domain is active, sleep when
 * it is idle (ring.c's vgpuback_ring_poll_window says how long).
 */
#define VGPUBACK_POLL_AUTO UINT32_MAX

struct vgpuback_config {
	uint32_t domid;
	uint32_t devid;
	bool     have_domid;
	char     executor[16];          /* auto|cuda|cpu                      */
	int      gpu;                   /* CUDA ordinal; -1 = auto (arbiter) */
	uint32_t watchdog_ms;           /* kernel time limit; 0 = none        */
	/*
	 * The guest context's limits dom0 fixes (executor.h; the guest cannot
	 * change them): device heap for malloc, printf buffer, stack per
	 * thread, in bytes; 0 = CUDA's defaults.
	 */
	uint64_t ctx_heap_bytes, ctx_printf_bytes;
	uint32_t ctx_stack_bytes;
	uint32_t cpu_op_delay_us;
	char     transport[16];         /* xen|loopback                       */
	char     loopback_dir[256];     /* "" = the transport's default       */
	bool     foreground;
	int      log_level;
	char     log_file[256];         /* "" = stderr / syslog               */
	uint32_t max_inflight;          /* 0 = the ring size                  */
	uint32_t max_contexts;
	uint32_t max_handles_per_ctx;
	uint32_t max_indirect_segments; /* advertised                         */
	uint32_t max_ring_page_order;
	uint32_t persistent_grants;     /* cache bound; 0 = feature off       */
	uint64_t mem_quota;             /* default when XenStore has none     */
	uint32_t storm_limit;           /* idle events/s before throttling    */
	uint32_t shutdown_timeout_ms;   /* SIGTERM: wait for in-flight ops    */
	uint32_t poll_us;               /* busy-poll the ring this long after
					 * the last work before sleeping; 0 off;
					 * VGPUBACK_POLL_AUTO: adaptive       */
	uint32_t protocol_revision;     /* 3 (default), or 2 or 1: serve
					 * and advertise that revision only,
					 * as an old backend (compatibility
					 * tests)                             */
	/*
	 * dom0's memory: the most host memory this backend's executor holds
	 * for its guest, and what it leaves available to the rest of dom0;
	 * VGPUBACK_AUTO = follow dom0's real memory (hostmem.h), a reserve of
	 * 0 = no check.
	 */
	uint64_t host_mem_limit;
	uint64_t host_mem_reserve;
};

#define VGPUBACK_AUTO UINT64_MAX

void vgpuback_config_defaults(struct vgpuback_config *cfg);

/*
 * Apply one "key = value" setting (config-file keys are also the long flag
 * names). 0, or -EINVAL (bad value) / -ENOENT (unknown key) with *why set.
 */
int vgpuback_config_set(struct vgpuback_config *cfg, const char *key,
			const char *value, const char **why);

/*
 * Read a config file. 0, -ENOENT when it does not exist, or another -errno
 * with errbuf holding "FILE:LINE: reason".
 */
int vgpuback_config_load(struct vgpuback_config *cfg, const char *path,
			 char *errbuf, size_t errlen);

/* Strict decimal with optional K/M/G/T suffix (for sizes): 0 or -EINVAL. */
int vgpuback_config_parse_u64(const char *s, bool size_suffix, uint64_t *out);

/*
 * The host memory settings as they apply here: auto values from dom0's
 * real memory (hostmem.h, under root: "" for the system), an explicit limit
 * above the cgroup's allows lowered to it. note (may be NULL) gets a line
 * for the log, e.g. what was lowered and why.
 */
struct vgpu_hostmem;
void vgpuback_config_host_mem(const struct vgpuback_config *cfg,
			      const struct vgpu_hostmem *m,
			      uint64_t *limit, uint64_t *reserve,
			      char *note, size_t notelen);

/* One line per setting, as a config file would say it. */
void vgpuback_config_dump(const struct vgpuback_config *cfg, FILE *out);

#endif /* VGPUBACK_CONFIG_H */
