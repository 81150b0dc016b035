// SPDX-License-Identifier: MIT
/*
 * common.c - helpers shared by the dom0 tools; see common.h.
 */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

/* Retries of a transaction that keeps colliding before we give up. */
#define VGPU_XS_TXN_RETRIES 64

/* ------------------------------------------------------------- parsing */

int vgpu_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	const char *p;

	if (!s || !*s || !out)
		return -EINVAL;
	/* No leading zeros beyond a lone "0": "007" is more likely a typo. */
	if (s[0] == '0' && s[1] != '\0')
		return -EINVAL;
	for (p = s; *p; p++) {
		unsigned int d;

		if (*p < '0' || *p > '9')
			return -EINVAL;
		d = (unsigned int)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int vgpu_parse_u32(const char *s, uint32_t max, uint32_t *out)
{
	uint64_t v;
	int rc;

	if (!out)
		return -EINVAL;
	rc = vgpu_parse_u64(s, &v);
	if (rc)
		return rc;
	if (v > max)
		return -ERANGE;
	*out = (uint32_t)v;
	return 0;
}

int vgpu_parse_domid(const char *s, uint32_t *out)
{
	return vgpu_parse_u32(s, VGPU_MAX_DOMID, out);
}

int vgpu_parse_size(const char *s, uint64_t *out)
{
	static const struct { char c; unsigned int shift; } suf[] = {
		{ 'K', 10 }, { 'M', 20 }, { 'G', 30 }, { 'T', 40 },
	};
	char digits[32];
	unsigned int shift = 0, i;
	size_t len;
	uint64_t v;
	int rc;

	if (!s || !out)
		return -EINVAL;
	if (strcmp(s, "none") == 0 || strcmp(s, "unlimited") == 0) {
		*out = 0;
		return 0;
	}
	len = strlen(s);
	if (len == 0 || len >= sizeof(digits))
		return len ? -ERANGE : -EINVAL;
	memcpy(digits, s, len + 1);
	for (i = 0; i < sizeof(suf) / sizeof(suf[0]); i++) {
		char last = digits[len - 1];

		if (toupper((unsigned char)last) == suf[i].c) {
			shift = suf[i].shift;
			digits[--len] = '\0';
			/* Accept "4G", "4GB", "4GiB"? Only the single letter. */
			break;
		}
	}
	rc = vgpu_parse_u64(digits, &v);
	if (rc)
		return rc;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = v << shift;
	return 0;
}

bool vgpu_priority_valid(const char *s)
{
	return s && (strcmp(s, "high") == 0 || strcmp(s, "medium") == 0 ||
		     strcmp(s, "low") == 0);
}

/* ------------------------------------------------------------ XenStore */

static const char *alarm_prog = "vgpu";
static char alarm_msg[256];

static void connect_timeout(int sig)
{
	ssize_t n;

	(void)sig;
	/* Only async-signal-safe calls here. */
	n = write(STDERR_FILENO, alarm_msg, strlen(alarm_msg));
	(void)n;
	_exit(1);
}

const char *vgpu_xs_strerror(int err)
{
	switch (err) {
	case EACCES:
	case EPERM:
		return "permission denied (run as root in dom0)";
	case ENOENT:
		return "no such node";
	case EAGAIN:
		return "too many concurrent XenStore writers; try again";
	case ENOSPC:
	case EDQUOT:
		return "XenStore quota exhausted";
	default:
		return strerror(err);
	}
}

struct xs_handle *vgpu_xs_connect(const char *prog, unsigned int timeout_s)
{
	struct sigaction sa, old;
	struct xs_handle *xs;
	unsigned int len;
	char *v;
	int err;

	alarm_prog = prog;
	errno = 0;
	xs = xs_open(0);
	if (!xs) {
		err = errno ? errno : ENOENT;
		if (err == EACCES || err == EPERM)
			fprintf(stderr, "%s: XenStore: permission denied opening "
				"/run/xenstored/socket or /dev/xen/xenbus: run "
				"as root in dom0\n", prog);
		else if (access("/proc/xen", F_OK) != 0 &&
			 access("/dev/xen", F_OK) != 0)
			fprintf(stderr, "%s: XenStore unreachable: this is not "
				"a Xen dom0 (no /proc/xen, no /dev/xen)\n", prog);
		else
			fprintf(stderr, "%s: XenStore unreachable: cannot "
				"connect (%s); is xenstored running? is xenfs "
				"mounted on /proc/xen?\n", prog, strerror(err));
		return NULL;
	}

	/* Prove it answers: a read of dom0's own domid. */
	snprintf(alarm_msg, sizeof(alarm_msg),
		 "%s: XenStore unreachable: no answer within %u s (is "
		 "xenstored running?)\n", alarm_prog, timeout_s);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = connect_timeout;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, &old);
	alarm(timeout_s);
	errno = 0;
	v = xs_read(xs, XBT_NULL, "/local/domain/0/domid", &len);
	err = errno;
	alarm(0);
	sigaction(SIGALRM, &old, NULL);
	if (!v && err != ENOENT) {
		fprintf(stderr, "%s: XenStore: cannot read /local/domain/0/domid: "
			"%s\n", prog, vgpu_xs_strerror(err ? err : EIO));
		xs_close(xs);
		return NULL;
	}
	free(v);
	return xs;
}

int vgpu_xs_transact(struct xs_handle *xs, vgpu_xs_txn_fn fn, void *arg)
{
	xs_transaction_t t;
	unsigned int tries;
	int rc;

	for (tries = 0; tries < VGPU_XS_TXN_RETRIES; tries++) {
		errno = 0;
		t = xs_transaction_start(xs);
		if (t == XBT_NULL)
			return errno ? -errno : -EIO;
		rc = fn(xs, t, arg);
		if (rc) {
			xs_transaction_end(xs, t, true);
			return rc;
		}
		errno = 0;
		if (xs_transaction_end(xs, t, false))
			return 0;
		if (errno != EAGAIN)
			return errno ? -errno : -EIO;
		/* Someone else wrote under our feet: run the body again. */
	}
	return -EAGAIN;
}

char *vgpu_xs_readf(struct xs_handle *xs, xs_transaction_t t,
		    const char *fmt, ...)
{
	char path[XENSTORE_ABS_PATH_MAX + 1];
	unsigned int len;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	errno = 0;
	return xs_read(xs, t, path, &len);
}

int vgpu_xs_writef(struct xs_handle *xs, xs_transaction_t t, const char *path,
		   const char *fmt, ...)
{
	char val[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(val))
		return -E2BIG;
	errno = 0;
	if (!xs_write(xs, t, path, val, (unsigned int)n))
		return errno ? -errno : -EIO;
	return 0;
}

int vgpu_xs_exists(struct xs_handle *xs, xs_transaction_t t, const char *path)
{
	unsigned int len;
	char *v;

	errno = 0;
	v = xs_read(xs, t, path, &len);
	if (v) {
		free(v);
		return 1;
	}
	if (errno == ENOENT)
		return 0;
	return errno ? -errno : -EIO;
}

int vgpu_xs_read_state(struct xs_handle *xs, xs_transaction_t t,
		       const char *path)
{
	unsigned int len;
	uint32_t st;
	char *v;
	int rc;

	errno = 0;
	v = xs_read(xs, t, path, &len);
	if (!v)
		return errno ? -errno : -EIO;
	rc = vgpu_parse_u32(v, VGPU_XB_RECONFIGURED, &st);
	free(v);
	return rc ? -EINVAL : (int)st;
}

int vgpu_domain_exists(struct xs_handle *xs, uint32_t domid)
{
	char path[64];

	snprintf(path, sizeof(path), "/local/domain/%u", domid);
	return vgpu_xs_exists(xs, XBT_NULL, path);
}

/* ------------------------------------------------------- names, paths */

const char *vgpu_xb_state_name(int state)
{
	static const char *const names[] = {
		"Unknown", "Initialising", "InitWait", "Initialised",
		"Connected", "Closing", "Closed", "Reconfiguring",
		"Reconfigured",
	};

	if (state == -ENOENT)
		return "absent";
	if (state < 0 || state > VGPU_XB_RECONFIGURED)
		return "invalid";
	return names[state];
}

static int pathf(char *buf, size_t len, const char *fmt, uint32_t a,
		 uint32_t b)
{
	int n = snprintf(buf, len, fmt, a, b);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int vgpu_fe_path(char *buf, size_t len, uint32_t domid, uint32_t devid)
{
	return pathf(buf, len, "/local/domain/%u/device/vgpu/%u", domid, devid);
}

int vgpu_be_path(char *buf, size_t len, uint32_t domid, uint32_t devid)
{
	return pathf(buf, len, "/local/domain/0/backend/vgpu/%u/%u", domid,
		     devid);
}

int vgpu_instance(char *buf, size_t len, uint32_t domid, uint32_t devid)
{
	int n = devid ? snprintf(buf, len, "%u-%u", domid, devid) :
			snprintf(buf, len, "%u", domid);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

const char *vgpu_printable(const char *s, char *buf, size_t len)
{
	size_t i;

	if (!len)
		return "";
	if (!s)
		s = "-";
	for (i = 0; s[i] && i + 1 < len; i++)
		buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	buf[i] = '\0';
	return buf;
}

void vgpu_json_str(FILE *f, const char *s)
{
	const unsigned char *p;

	if (!s) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	for (p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

/* --------------------------------------------------- backend processes */

int vgpu_pidfile_path(char *buf, size_t len, uint32_t domid, uint32_t devid)
{
	char inst[32];
	int n;

	if (vgpu_instance(inst, sizeof(inst), domid, devid))
		return -ENAMETOOLONG;
	n = snprintf(buf, len, VGPU_RUN_DIR "/backend-%s.pid", inst);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int vgpu_envfile_path(char *buf, size_t len, uint32_t domid, uint32_t devid)
{
	char inst[32];
	int n;

	if (vgpu_instance(inst, sizeof(inst), domid, devid))
		return -ENAMETOOLONG;
	n = snprintf(buf, len, VGPU_RUN_DIR "/backend-%s.env", inst);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

pid_t vgpu_pidfile_read(const char *path)
{
	char buf[32];
	uint32_t pid;
	size_t n;
	FILE *f;

	f = fopen(path, "re");
	if (!f)
		return -errno;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	if (vgpu_parse_u32(buf, 0x3fffffff, &pid) || pid < 2)
		return -EINVAL;
	return (pid_t)pid;
}

bool vgpu_proc_alive(pid_t pid)
{
	char path[64], line[512], *p;
	size_t n;
	FILE *f;

	if (pid <= 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	n = fread(line, 1, sizeof(line) - 1, f);
	fclose(f);
	line[n] = '\0';
	/* "pid (comm) S ...": comm may hold anything, take the last ')'. */
	p = strrchr(line, ')');
	if (!p || p[1] != ' ')
		return false;
	return p[2] != 'Z' && p[2] != 'X' && p[2] != 'x';
}

bool vgpu_proc_is_backend(pid_t pid)
{
	char path[64], argv0[4096], *base;
	size_t n;
	FILE *f;

	if (!vgpu_proc_alive(pid))
		return false;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	n = fread(argv0, 1, sizeof(argv0) - 1, f);
	fclose(f);
	argv0[n] = '\0';   /* cmdline is NUL-separated: this is argv[0] */
	base = strrchr(argv0, '/');
	base = base ? base + 1 : argv0;
	return strcmp(base, "vgpu-backend") == 0;
}

bool vgpu_systemd_running(void)
{
	return access("/run/systemd/system", F_OK) == 0;
}

bool vgpu_systemd_unit_installed(void)
{
	static const char *const dirs[] = {
		"/etc/systemd/system", "/run/systemd/system",
		"/usr/local/lib/systemd/system", "/lib/systemd/system",
		"/usr/lib/systemd/system",
	};
	char path[256];
	size_t i;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/vgpu-backend@.service",
			 dirs[i]);
		if (access(path, F_OK) == 0)
			return true;
	}
	return false;
}

int vgpu_run(char *const argv[], bool quiet)
{
	pid_t pid;
	int status;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (quiet) {
			int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

			if (fd >= 0)
				dup2(fd, STDOUT_FILENO);
		}
		execvp(argv[0], argv);
		fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

int vgpu_mkdir(const char *path)
{
	if (mkdir(path, 0755) == 0 || errno == EEXIST)
		return 0;
	return -errno;
}
