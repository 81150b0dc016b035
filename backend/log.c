/* SPDX-License-Identifier: MIT */
/*
 * log.c - the backend's log lines: "vgpu-backend dom<N>/<M>: <level>: msg".
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* Protects log_fp across threads (executor callbacks may log). */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *log_fp;          /* NULL: stderr                         */
static char *log_path;        /* reopened on SIGHUP                    */
static int log_syslog;
static int log_level = VGPUBACK_LOG_INFO;
static char log_prefix[64] = "vgpu-backend";

static const char *const level_names[] = { "error", "warn", "info", "debug" };

int vgpuback_log_level_parse(const char *s)
{
	unsigned int i;

	if (!s)
		return -EINVAL;
	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (!strcasecmp(s, level_names[i]))
			return (int)i;
	if (!strcasecmp(s, "warning"))
		return VGPUBACK_LOG_WARN;
	if (s[0] >= '0' && s[0] <= '3' && s[1] == '\0')
		return s[0] - '0';
	return -EINVAL;
}

const char *vgpuback_log_level_name(int level)
{
	if (level < 0 || level > VGPUBACK_LOG_DEBUG)
		return "?";
	return level_names[level];
}

uint64_t vgpuback_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int open_file(const char *path, FILE **out)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	FILE *fp;

	if (fd < 0)
		return -errno;
	fp = fdopen(fd, "a");
	if (!fp) {
		int err = -errno;

		close(fd);
		return err;
	}
	setvbuf(fp, NULL, _IOLBF, 0);
	*out = fp;
	return 0;
}

int vgpuback_log_init(uint32_t domid, uint32_t devid, int level,
		      const char *file, int use_syslog)
{
	FILE *fp = NULL;
	int err;

	snprintf(log_prefix, sizeof(log_prefix), "vgpu-backend dom%u/%u",
		 domid, devid);
	log_level = level;
	if (file) {
		err = open_file(file, &fp);
		if (err)
			return err;
	}
	pthread_mutex_lock(&log_lock);
	if (log_fp)
		fclose(log_fp);
	free(log_path);
	log_fp = fp;
	log_path = file ? strdup(file) : NULL;
	log_syslog = !file && use_syslog;
	pthread_mutex_unlock(&log_lock);
	if (log_syslog)
		openlog("vgpu-backend", LOG_PID, LOG_DAEMON);
	return 0;
}

int vgpuback_log_reopen(void)
{
	FILE *fp = NULL;
	int err;

	if (!log_path)
		return 0;
	err = open_file(log_path, &fp);
	if (err)
		return err;
	pthread_mutex_lock(&log_lock);
	if (log_fp)
		fclose(log_fp);
	log_fp = fp;
	pthread_mutex_unlock(&log_lock);
	return 0;
}

void vgpuback_log_uninit(void)
{
	pthread_mutex_lock(&log_lock);
	if (log_fp)
		fclose(log_fp);
	log_fp = NULL;
	free(log_path);
	log_path = NULL;
	pthread_mutex_unlock(&log_lock);
	if (log_syslog)
		closelog();
	log_syslog = 0;
}

void vgpuback_log_set_level(int level)
{
	log_level = level;
}

int vgpuback_log_get_level(void)
{
	return log_level;
}

size_t vgpuback_log_escape(const char *in, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;

	if (!outlen)
		return 0;
	for (; *in; in++) {
		unsigned char c = (unsigned char)*in;
		char e[4];
		size_t k = 1;

		if (c < 0x20 || c >= 0x7f) {
			e[0] = '\\';
			e[1] = 'x';
			e[2] = hex[c >> 4];
			e[3] = hex[c & 15];
			k = 4;
		} else if (c == '\\') {
			e[0] = e[1] = '\\';
			k = 2;
		} else {
			e[0] = (char)c;
		}
		if (n + k >= outlen)
			break;  /* whole escapes only */
		memcpy(out + n, e, k);
		n += k;
	}
	out[n] = '\0';
	return n;
}

static void vlog(int level, const char *fmt, va_list ap)
{
	static const int sysprio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char raw[1024], msg[4 * sizeof(raw)];
	FILE *out;

	vsnprintf(raw, sizeof(raw), fmt, ap);
	/*
	 * Messages may quote what a guest wrote (XenStore values, names): every
	 * byte outside printable ASCII is escaped (\xHH, a backslash doubled),
	 * so a guest can neither start a line of its own, nor drive a terminal,
	 * nor hand a log reader bytes it may take for UTF-8 or worse.
	 */
	vgpuback_log_escape(raw, msg, sizeof(msg));
	if (log_syslog) {
		syslog(sysprio[level], "%s: %s", log_prefix, msg);
		return;
	}
	pthread_mutex_lock(&log_lock);
	out = log_fp ? log_fp : stderr;
	if (log_fp) {
		struct timespec ts;
		struct tm tm;
		char tbuf[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(out, "%s.%03ldZ ", tbuf, ts.tv_nsec / 1000000);
	}
	fprintf(out, "%s: %s: %s\n", log_prefix, level_names[level], msg);
	fflush(out);
	pthread_mutex_unlock(&log_lock);
}

void vgpuback_log(int level, const char *fmt, ...)
{
	va_list ap;

	if (level < 0)
		level = 0;
	if (level > VGPUBACK_LOG_DEBUG || level > log_level)
		return;
	va_start(ap, fmt);
	vlog(level, fmt, ap);
	va_end(ap);
}

void vgpuback_log_rl(struct vgpuback_ratelimit *rl, int level,
		     const char *fmt, ...)
{
	uint64_t now = vgpuback_now_ns();
	va_list ap;

	if (level > log_level)
		return;
	if (now - rl->window_start >= rl->interval_ns) {
		if (rl->suppressed)
			vgpuback_log(level, "%llu similar messages suppressed",
				     (unsigned long long)rl->suppressed);
		rl->window_start = now;
		rl->printed = 0;
		rl->suppressed = 0;
	}
	if (rl->printed >= rl->burst) {
		rl->suppressed++;
		return;
	}
	rl->printed++;
	va_start(ap, fmt);
	vlog(level, fmt, ap);
	va_end(ap);
}
