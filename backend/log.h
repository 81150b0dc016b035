/* SPDX-License-Identifier: MIT */
/*
 * log.h - vgpu-backend's log: every line names the domain and device.
 *
 * Targets: stderr (foreground, systemd), a file (reopened on SIGHUP, for
 * logrotate) or syslog (daemon mode without a log file). One process serves
 * one (domain, device), so the prefix is process-wide.
 */
#ifndef VGPUBACK_LOG_H
#define VGPUBACK_LOG_H

#include <stddef.h>
#include <stdint.h>

enum vgpuback_log_level {
	VGPUBACK_LOG_ERROR = 0,
	VGPUBACK_LOG_WARN  = 1,
	VGPUBACK_LOG_INFO  = 2,
	VGPUBACK_LOG_DEBUG = 3
};

/* Parse "error|warn|info|debug" (or 0..3); -EINVAL when unknown. */
int vgpuback_log_level_parse(const char *s);
const char *vgpuback_log_level_name(int level);

/*
 * Configure: domain/device for the prefix, level, file (NULL: stderr, or
 * syslog when use_syslog). Returns 0 or -errno (file not openable).
 */
int vgpuback_log_init(uint32_t domid, uint32_t devid, int level,
		      const char *file, int use_syslog);
/* SIGHUP: reopen the log file (no-op for stderr/syslog). */
int vgpuback_log_reopen(void);
void vgpuback_log_uninit(void);
void vgpuback_log_set_level(int level);
int vgpuback_log_get_level(void);

void vgpuback_log(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * A rate-limited log site: at most `burst` lines per `interval_s` seconds;
 * the next line after a quiet period says how many were suppressed. For
 * anything a guest can trigger at will.
 */
struct vgpuback_ratelimit {
	uint64_t interval_ns;
	uint32_t burst;
	uint32_t printed;
	uint64_t window_start;
	uint64_t suppressed;
};
#define VGPUBACK_RATELIMIT_INIT(seconds, n) \
	{ (uint64_t)(seconds) * 1000000000ull, (n), 0, 0, 0 }

void vgpuback_log_rl(struct vgpuback_ratelimit *rl, int level,
		     const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Escape a message for the log: printable ASCII stays, a backslash
 * becomes two, every other byte \xHH. out always ends in NUL, holds whole
 * escapes only (4 * strlen(in) + 1 is always enough); returns its length.
 */
size_t vgpuback_log_escape(const char *in, char *out, size_t outlen);

/* Monotonic clock in ns. */
uint64_t vgpuback_now_ns(void);

#define vb_err(...)   vgpuback_log(VGPUBACK_LOG_ERROR, __VA_ARGS__)
#define vb_warn(...)  vgpuback_log(VGPUBACK_LOG_WARN, __VA_ARGS__)
#define vb_info(...)  vgpuback_log(VGPUBACK_LOG_INFO, __VA_ARGS__)
#define vb_debug(...) vgpuback_log(VGPUBACK_LOG_DEBUG, __VA_ARGS__)

/* Guest-triggerable warnings: one rate limit per call site. */
#define vb_warn_rl(...) do {                                             \
	static struct vgpuback_ratelimit rl_ = VGPUBACK_RATELIMIT_INIT(5, 10); \
	vgpuback_log_rl(&rl_, VGPUBACK_LOG_WARN, __VA_ARGS__);           \
} while (0)

/*
 * Connection lifecycle lines (states, connect, disconnect, a failed
 * connect): an operator wants each of them, but a guest can cycle its
 * frontend as fast as XenStore goes, so they are bounded too.
 */
#define vb_info_rl(...) do {                                             \
	static struct vgpuback_ratelimit rl_ = VGPUBACK_RATELIMIT_INIT(10, 20); \
	vgpuback_log_rl(&rl_, VGPUBACK_LOG_INFO, __VA_ARGS__);           \
} while (0)
#define vb_err_rl(...) do {                                              \
	static struct vgpuback_ratelimit rl_ = VGPUBACK_RATELIMIT_INIT(10, 20); \
	vgpuback_log_rl(&rl_, VGPUBACK_LOG_ERROR, __VA_ARGS__);          \
} while (0)

/* Per-request diagnostics a guest can trigger at will: rate-limited too. */
#define vb_debug_rl(...) do {                                            \
	static struct vgpuback_ratelimit rl_ = VGPUBACK_RATELIMIT_INIT(5, 50); \
	vgpuback_log_rl(&rl_, VGPUBACK_LOG_DEBUG, __VA_ARGS__);          \
} while (0)

#endif /* VGPUBACK_LOG_H */
