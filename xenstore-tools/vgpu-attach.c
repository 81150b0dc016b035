// SPDX-License-Identifier: MIT
/*
 * vgpu-attach - give a Xen guest a vgpu device: write its frontend and
 * backend XenStore nodes the way libxl writes its own devices, then start the
 * domain's vgpu-backend (a systemd instance where systemd runs, a daemon with
 * a pid file otherwise) and wait for it to reach InitWait.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "vgpuif.h"

#define PROG "vgpu-attach"

static const char usage_text[] =
"Usage: vgpu-attach DOMID [OPTION]...\n"
"Give Xen domain DOMID a vgpu device and start its backend.\n"
"\n"
"Writes the device's XenStore nodes in one transaction, the way the Xen\n"
"toolstack writes its own devices:\n"
"  /local/domain/0/backend/vgpu/DOMID/DEVID   owner dom0, the guest may read:\n"
"      frontend, frontend-id, online=1, priority, pool, state=1, and\n"
"      mem-quota, watchdog-ms when given\n"
"  /local/domain/DOMID/device/vgpu/DEVID      owner the guest, dom0 may read:\n"
"      backend, backend-id, state=1 (written last)\n"
"then starts vgpu-backend for the device (vgpu-backend@INSTANCE.service where\n"
"systemd runs and the unit is installed; otherwise a daemon whose pid is in\n"
"/run/vgpu-xen/backend-INSTANCE.pid and whose output goes to\n"
"/var/log/vgpu-xen/backend-INSTANCE.log; INSTANCE is DOMID, or DOMID-DEVID for\n"
"a device other than 0) and waits for the backend to reach InitWait. If the\n"
"backend cannot be started, the nodes are removed again. Without systemd a\n"
"small supervisor process waits for the daemon: if it dies without closing\n"
"(SIGKILL, dom0's OOM killer), the supervisor marks the device Closed in\n"
"XenStore (vgpu-backend --mark-closed), so the guest's calls fail at once\n"
"instead of waiting; it does not restart the backend.\n"
"\n"
"Options:\n"
"  --devid N             device id, 0..65535 (default 0)\n"
"  --priority CLASS      high, medium or low: the GPU scheduling class\n"
"                        (default medium)\n"
"  --pool P              GPU pool id (default 0)\n"
"  --mem-quota SIZE      most GPU memory the guest may hold: bytes, or with a\n"
"                        K, M, G or T suffix (binary); 0 or none: no quota;\n"
"                        without it the key is not written and the backend\n"
"                        applies the host-wide default (mem-quota in\n"
"                        /etc/vgpu-xen/backend.conf; none there: no quota)\n"
"  --watchdog-ms MS      the longest a guest kernel may run, 1..3600000 ms;\n"
"                        without it the backend's host-wide watchdog-ms\n"
"                        (default 10000) applies\n"
"  --executor E          passed to vgpu-backend: auto, cuda or cpu\n"
"  --log-level L         passed to vgpu-backend\n"
"  --backend PATH        the vgpu-backend program (default: $VGPU_BACKEND,\n"
"                        else next to vgpu-attach, else found in PATH)\n"
"  --no-systemd          start the backend directly even where systemd runs\n"
"  --no-start            only write the nodes; start no backend\n"
"  --wait SECS           how long to wait for the backend's InitWait\n"
"                        (default 30; 0: do not wait)\n"
"  -h, --help            this text\n"
"\n"
"Exit status: 0 attached; 1 failed (the reason is printed: no such domain,\n"
"already attached, no backend binary, XenStore unreachable, permission\n"
"denied, backend did not start); 2 bad usage.\n"
"\n"
"Examples:\n"
"  vgpu-attach 5\n"
"  vgpu-attach 7 --priority high --mem-quota 8G\n"
"See also: vgpu-detach(8), vgpu-list(8), vgpu-xl-create(8), vgpu-backend(8),\n"
"docs/operations.md.\n";

struct attach_opts {
	uint32_t domid;
	uint32_t devid;
	const char *priority;
	uint32_t pool;
	uint64_t mem_quota;
	bool have_quota;               /* else the backend's default        */
	uint32_t watchdog_ms;          /* 0: the backend's default          */
	const char *executor;
	const char *log_level;
	const char *backend;
	bool no_systemd;
	bool no_start;
	uint32_t wait_s;
	char fe[128];
	char be[128];
};

static void usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, PROG ": ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry '" PROG " --help'.\n");
	exit(2);
}

static void parse_args(int argc, char **argv, struct attach_opts *o)
{
	enum { O_DEVID = 256, O_PRIO, O_POOL, O_QUOTA, O_EXEC, O_LOGLEVEL,
	       O_BACKEND, O_NOSYSTEMD, O_NOSTART, O_WAIT, O_WATCHDOG };
	static const struct option longopts[] = {
		{ "devid",      required_argument, NULL, O_DEVID },
		{ "priority",   required_argument, NULL, O_PRIO },
		{ "pool",       required_argument, NULL, O_POOL },
		{ "mem-quota",  required_argument, NULL, O_QUOTA },
		{ "watchdog-ms", required_argument, NULL, O_WATCHDOG },
		{ "executor",   required_argument, NULL, O_EXEC },
		{ "log-level",  required_argument, NULL, O_LOGLEVEL },
		{ "backend",    required_argument, NULL, O_BACKEND },
		{ "no-systemd", no_argument,       NULL, O_NOSYSTEMD },
		{ "no-start",   no_argument,       NULL, O_NOSTART },
		{ "wait",       required_argument, NULL, O_WAIT },
		{ "help",       no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->priority = "medium";
	o->wait_s = 30;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case O_DEVID:
			if (vgpu_parse_u32(optarg, VGPU_MAX_DEVID, &o->devid))
				usage_error("--devid: '%s' is not a device id "
					    "(0..65535)", optarg);
			break;
		case O_PRIO:
			if (!vgpu_priority_valid(optarg))
				usage_error("--priority: '%s' is not high, "
					    "medium or low", optarg);
			o->priority = optarg;
			break;
		case O_POOL:
			if (vgpu_parse_u32(optarg, UINT32_MAX, &o->pool))
				usage_error("--pool: '%s' is not a pool id "
					    "(a decimal number)", optarg);
			break;
		case O_QUOTA:
			if (vgpu_parse_size(optarg, &o->mem_quota))
				usage_error("--mem-quota: '%s' is not a size "
					    "(e.g. 1073741824, 512M, 8G, none)",
					    optarg);
			o->have_quota = true;
			break;
		case O_WATCHDOG:
			if (vgpu_parse_u32(optarg, 3600000, &o->watchdog_ms) ||
			    o->watchdog_ms == 0)
				usage_error("--watchdog-ms: '%s' is not a time limit "
					    "(1..3600000 ms)", optarg);
			break;
		case O_EXEC:
			if (strcmp(optarg, "auto") && strcmp(optarg, "cuda") &&
			    strcmp(optarg, "cpu"))
				usage_error("--executor: '%s' is not auto, cuda "
					    "or cpu", optarg);
			o->executor = optarg;
			break;
		case O_LOGLEVEL:
			if (!*optarg || strchr(optarg, '\n'))
				usage_error("--log-level: bad value '%s'", optarg);
			o->log_level = optarg;
			break;
		case O_BACKEND:
			o->backend = optarg;
			break;
		case O_NOSYSTEMD:
			o->no_systemd = true;
			break;
		case O_NOSTART:
			o->no_start = true;
			break;
		case O_WAIT:
			if (vgpu_parse_u32(optarg, 3600, &o->wait_s))
				usage_error("--wait: '%s' is not a number of "
					    "seconds (0..3600)", optarg);
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		default:
			fprintf(stderr, "Try '" PROG " --help'.\n");
			exit(2);
		}
	}
	if (optind >= argc)
		usage_error("%s", "missing DOMID");
	if (optind + 1 < argc)
		usage_error("unexpected argument '%s'", argv[optind + 1]);
	if (vgpu_parse_domid(argv[optind], &o->domid))
		usage_error("'%s' is not a domain id (0..32751)", argv[optind]);
	vgpu_fe_path(o->fe, sizeof(o->fe), o->domid, o->devid);
	vgpu_be_path(o->be, sizeof(o->be), o->domid, o->devid);
}

/* ------------------------------------------------------- backend binary */

static bool executable(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISREG(st.st_mode) &&
	       access(p, X_OK) == 0;
}

/* The vgpu-backend to run, in buf; false (and a message) when none. */
static bool find_backend(const struct attach_opts *o, char *buf, size_t len)
{
	const char *env = getenv("VGPU_BACKEND");
	char self[PATH_MAX], *slash, *path, *dir, *save = NULL;
	ssize_t n;

	if (o->backend || (env && *env)) {
		const char *p = o->backend ? o->backend : env;

		if (!executable(p)) {
			fprintf(stderr, PROG ": no backend binary: %s (from %s) "
				"is not an executable file\n", p,
				o->backend ? "--backend" : "$VGPU_BACKEND");
			return false;
		}
		snprintf(buf, len, "%s", p);
		return true;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			if (snprintf(buf, len, "%s/vgpu-backend", self) <
			    (int)len && executable(buf))
				return true;
		}
	}
	path = strdup(getenv("PATH") ? getenv("PATH") : "/usr/sbin:/usr/bin:/sbin:/bin");
	for (dir = path ? strtok_r(path, ":", &save) : NULL; dir;
	     dir = strtok_r(NULL, ":", &save)) {
		if (snprintf(buf, len, "%s/vgpu-backend", dir) < (int)len &&
		    dir[0] == '/' && executable(buf)) {
			free(path);
			return true;
		}
	}
	free(path);
	fprintf(stderr, PROG ": no backend binary: vgpu-backend is not next to "
		"vgpu-attach nor in PATH (install it, or name it with --backend "
		"PATH or $VGPU_BACKEND)\n");
	return false;
}

/* ------------------------------------------------------------ the nodes */

static int write_nodes(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	const struct attach_opts *o = arg;
	struct xs_permissions be_perms[2] = {
		{ .id = 0,        .perms = XS_PERM_NONE },  /* owner dom0  */
		{ .id = o->domid, .perms = XS_PERM_READ },  /* guest reads */
	};
	struct xs_permissions fe_perms[2] = {
		{ .id = o->domid, .perms = XS_PERM_NONE },  /* owner guest */
		{ .id = 0,        .perms = XS_PERM_READ },  /* dom0 reads  */
	};
	char p[256];
	int rc;

	/* Checked inside the transaction: two attaches cannot both win. */
	rc = vgpu_xs_exists(xs, t, o->be);
	if (rc == 0)
		rc = vgpu_xs_exists(xs, t, o->fe);
	if (rc)
		return rc > 0 ? -EEXIST : rc;
	rc = vgpu_domain_exists(xs, o->domid);
	if (rc <= 0)
		return rc ? rc : -ESRCH;

	/*
	 * Each directory is created empty and given its permissions before
	 * any child is written, so the children inherit them; the frontend's
	 * state goes last (XEN-TESTBED.md pitfall 4: a guest that sees its
	 * device before the chmod gets EACCES writing ring-ref).
	 */
#define W(key, ...) do {						\
		snprintf(p, sizeof(p), "%s/%s", o->be, key);		\
		rc = vgpu_xs_writef(xs, t, p, __VA_ARGS__);		\
		if (rc)							\
			return rc;					\
	} while (0)
	errno = 0;
	if (!xs_mkdir(xs, t, o->be) ||
	    !xs_set_permissions(xs, t, o->be, be_perms, 2))
		return errno ? -errno : -EIO;
	W("frontend", "%s", o->fe);
	W("frontend-id", "%u", o->domid);
	W("online", "1");
	W(VGPUIF_XS_PRIORITY, "%s", o->priority);
	W(VGPUIF_XS_POOL, "%u", o->pool);
	if (o->have_quota)
		W(VGPUIF_XS_MEM_QUOTA, "%llu", (unsigned long long)o->mem_quota);
	if (o->watchdog_ms)
		W(VGPUIF_XS_WATCHDOG_MS, "%u", o->watchdog_ms);
	W(VGPUIF_XS_STATE, "%d", VGPU_XB_INITIALISING);
#undef W

	errno = 0;
	if (!xs_mkdir(xs, t, o->fe) ||
	    !xs_set_permissions(xs, t, o->fe, fe_perms, 2))
		return errno ? -errno : -EIO;
	snprintf(p, sizeof(p), "%s/backend", o->fe);
	rc = vgpu_xs_writef(xs, t, p, "%s", o->be);
	if (rc)
		return rc;
	snprintf(p, sizeof(p), "%s/backend-id", o->fe);
	rc = vgpu_xs_writef(xs, t, p, "0");
	if (rc)
		return rc;
	snprintf(p, sizeof(p), "%s/%s", o->fe, VGPUIF_XS_STATE);
	return vgpu_xs_writef(xs, t, p, "%d", VGPU_XB_INITIALISING);
}

struct rm_arg {
	uint32_t domid;
	const char *fe, *be;
};

static int remove_nodes(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	const struct rm_arg *r = arg;

	errno = 0;
	if (!xs_rm(xs, t, r->fe) && errno != ENOENT)
		return -errno;
	errno = 0;
	if (!xs_rm(xs, t, r->be) && errno != ENOENT)
		return -errno;
	return 0;
}

static void rollback_nodes(struct xs_handle *xs, const struct attach_opts *o)
{
	struct rm_arg r = { o->domid, o->fe, o->be };
	int rc = vgpu_xs_transact(xs, remove_nodes, &r);

	if (rc)
		fprintf(stderr, PROG ": could not remove %s and %s again: %s\n",
			o->fe, o->be, vgpu_xs_strerror(-rc));
}

/* --------------------------------------------------------- the backend */

/* argv for vgpu-backend (the strings live in o and bufs). */
static void backend_argv(const struct attach_opts *o, const char *bin,
			 char *domid, char *devid, char **argv)
{
	int i = 0;

	argv[i++] = (char *)bin;
	argv[i++] = "--domid";
	argv[i++] = domid;
	argv[i++] = "--devid";
	argv[i++] = devid;
	argv[i++] = "--transport";
	argv[i++] = "xen";
	argv[i++] = "--foreground";
	if (o->executor) {
		argv[i++] = "--executor";
		argv[i++] = (char *)o->executor;
	}
	if (o->log_level) {
		argv[i++] = "--log-level";
		argv[i++] = (char *)o->log_level;
	}
	argv[i] = NULL;
}

/*
 * How the backend ended, for the supervisor's --mark-closed reason; NULL
 * for a clean exit (it closed the device itself).
 */
static const char *death_reason(int status, char *buf, size_t len)
{
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return NULL;
	if (WIFSIGNALED(status))
		snprintf(buf, len, "supervisor: killed by signal %d (%s)",
			 WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "supervisor: exited with status %d",
			 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return buf;
}

/*
 * The supervisor, where no systemd runs: it is the daemon's parent, waits
 * for it and, when it dies without closing (SIGKILL, dom0's OOM killer, a
 * crash), becomes `vgpu-backend --mark-closed` so that the guest learns of
 * it at once instead of waiting for a backend that will not answer. It
 * restarts nothing (systemd's unit does; see docs/operations.md). Writes
 * the backend's pid to pidfd, then closes it; never returns.
 */
static void supervise(const struct attach_opts *o, const char *bin,
		      char **argv, int pidfd)
{
	char domid[16], devid[16], reason[128], *mark[12];
	const char *why;
	pid_t pid;
	int st, err;
	ssize_t n;

	pid = fork();
	if (pid == 0) {
		int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);

		/*
		 * If dom0 runs out of memory, a backend is what should go,
		 * not xenstored or the toolstack: the guest gets an error and
		 * the supervisor marks the device closed.
		 */
		if (fd >= 0) {
			n = write(fd, "500", 3);
			(void)n;
			close(fd);
		}
		execv(bin, argv);
		err = errno;
		n = write(pidfd, &err, sizeof(err));
		(void)n;
		_exit(127);
	}
	if (pid < 0 || write(pidfd, &pid, sizeof(pid)) != sizeof(pid))
		_exit(1);
	close(pidfd);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			_exit(1);
	why = death_reason(st, reason, sizeof(reason));
	if (!why || (WIFEXITED(st) && WEXITSTATUS(st) == 127))
		_exit(0);       /* closed cleanly, or never ran (exec failed) */
	snprintf(domid, sizeof(domid), "%u", o->domid);
	snprintf(devid, sizeof(devid), "%u", o->devid);
	mark[0] = (char *)bin;
	mark[1] = "--domid";
	mark[2] = domid;
	mark[3] = "--devid";
	mark[4] = devid;
	mark[5] = "--transport";
	mark[6] = "xen";
	mark[7] = "--mark-closed";
	mark[8] = (char *)why;
	mark[9] = NULL;
	execv(bin, mark);
	_exit(1);
}

/*
 * Daemonize vgpu-backend under a supervisor: fork, setsid, fork again (the
 * supervisor), which forks and execs the backend. A close-on-exec pipe
 * carries the backend's pid and, if exec fails, its errno.
 */
static pid_t start_direct(const struct attach_opts *o, const char *bin,
			  char *logpath, size_t loglen)
{
	char domid[16], devid[16], inst[32], pidfile[128], *argv[16];
	int pfd[2], logfd, err = 0, rc;
	pid_t child, pid = -1;
	ssize_t n;
	FILE *f;

	snprintf(domid, sizeof(domid), "%u", o->domid);
	snprintf(devid, sizeof(devid), "%u", o->devid);
	vgpu_instance(inst, sizeof(inst), o->domid, o->devid);
	vgpu_pidfile_path(pidfile, sizeof(pidfile), o->domid, o->devid);
	backend_argv(o, bin, domid, devid, argv);

	rc = vgpu_mkdir(VGPU_RUN_DIR);
	if (rc) {
		fprintf(stderr, PROG ": cannot create " VGPU_RUN_DIR ": %s\n",
			strerror(-rc));
		return -1;
	}
	pid = vgpu_pidfile_read(pidfile);
	if (pid > 0 && vgpu_proc_is_backend(pid)) {
		fprintf(stderr, PROG ": a backend for domain %u device %u "
			"already runs (pid %d, %s)\n", o->domid, o->devid,
			(int)pid, pidfile);
		return -1;
	}
	if (vgpu_mkdir(VGPU_LOG_DIR) == 0)
		snprintf(logpath, loglen, VGPU_LOG_DIR "/backend-%s.log", inst);
	else
		snprintf(logpath, loglen, VGPU_RUN_DIR "/backend-%s.log", inst);
	logfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (logfd < 0) {
		fprintf(stderr, PROG ": cannot open %s: %s\n", logpath,
			strerror(errno));
		return -1;
	}
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		fprintf(stderr, PROG ": pipe: %s\n", strerror(errno));
		close(logfd);
		return -1;
	}
	fflush(NULL);
	child = fork();
	if (child < 0) {
		fprintf(stderr, PROG ": fork: %s\n", strerror(errno));
		goto out_close;
	}
	if (child == 0) {
		pid_t gc;
		int null, fd;

		close(pfd[0]);
		setsid();
		gc = fork();
		if (gc != 0)
			_exit(gc < 0 ? 1 : 0);
		null = open("/dev/null", O_RDONLY);
		if (null >= 0)
			dup2(null, STDIN_FILENO);
		dup2(logfd, STDOUT_FILENO);
		dup2(logfd, STDERR_FILENO);
		/* Nothing of ours (the XenStore connection above all) leaks
		 * into the daemon; pfd[1] is close-on-exec already. */
		for (fd = 3; fd < 1024; fd++)
			if (fd != pfd[1])
				close(fd);
		if (chdir("/") < 0)
			_exit(1);
		umask(022);
		signal(SIGHUP, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		supervise(o, bin, argv, pfd[1]);
	}
	close(pfd[1]);
	pfd[1] = -1;
	while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
		;
	pid = -1;
	n = read(pfd[0], &pid, sizeof(pid));
	if (n != sizeof(pid) || pid <= 0) {
		fprintf(stderr, PROG ": could not start %s (fork failed)\n", bin);
		pid = -1;
		goto out_close;
	}
	n = read(pfd[0], &err, sizeof(err));   /* EOF: exec succeeded */
	if (n == sizeof(err)) {
		fprintf(stderr, PROG ": cannot execute %s: %s\n", bin,
			strerror(err));
		pid = -1;
		goto out_close;
	}
	f = fopen(pidfile, "we");
	rc = f ? fprintf(f, "%d\n", (int)pid) : -1;
	if (f && fclose(f) != 0)
		rc = -1;
	if (rc < 0)
		/* Not fatal: vgpu-detach then finds no pid to stop. */
		fprintf(stderr, PROG ": cannot write %s: %s (the backend runs "
			"as pid %d)\n", pidfile, strerror(errno), (int)pid);
out_close:
	close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	close(logfd);
	return pid;
}

static int start_systemd(const struct attach_opts *o)
{
	char inst[32], envfile[128], unit[96];
	char *argv[] = { "systemctl", "start", unit, NULL };
	FILE *f;
	int rc;

	vgpu_instance(inst, sizeof(inst), o->domid, o->devid);
	vgpu_envfile_path(envfile, sizeof(envfile), o->domid, o->devid);
	snprintf(unit, sizeof(unit), "vgpu-backend@%s.service", inst);
	rc = vgpu_mkdir(VGPU_RUN_DIR);
	if (rc) {
		fprintf(stderr, PROG ": cannot create " VGPU_RUN_DIR ": %s\n",
			strerror(-rc));
		return -1;
	}
	/* The unit reads the device and the extra options from here. */
	f = fopen(envfile, "we");
	if (!f) {
		fprintf(stderr, PROG ": cannot write %s: %s\n", envfile,
			strerror(errno));
		return -1;
	}
	fprintf(f, "VGPU_DOMID=%u\nVGPU_DEVID=%u\nVGPU_BACKEND_ARGS=", o->domid,
		o->devid);
	if (o->executor)
		fprintf(f, "--executor %s ", o->executor);
	if (o->log_level)
		fprintf(f, "--log-level %s", o->log_level);
	fputc('\n', f);
	if (fclose(f) != 0) {
		fprintf(stderr, PROG ": cannot write %s: %s\n", envfile,
			strerror(errno));
		return -1;
	}
	rc = vgpu_run(argv, false);
	if (rc != 0) {
		fprintf(stderr, PROG ": systemctl start %s failed (status %d); "
			"see: journalctl -u %s\n", unit, rc, unit);
		unlink(envfile);
		return -1;
	}
	return 0;
}

static void stop_started(const struct attach_opts *o, bool systemd, pid_t pid)
{
	char inst[32], unit[96], path[128];
	char *argv[] = { "systemctl", "stop", unit, NULL };
	int i;

	if (systemd) {
		vgpu_instance(inst, sizeof(inst), o->domid, o->devid);
		snprintf(unit, sizeof(unit), "vgpu-backend@%s.service", inst);
		vgpu_run(argv, true);
		vgpu_envfile_path(path, sizeof(path), o->domid, o->devid);
		unlink(path);
		return;
	}
	if (pid > 0 && vgpu_proc_is_backend(pid)) {
		kill(pid, SIGTERM);
		for (i = 0; i < 50 && vgpu_proc_alive(pid); i++)
			usleep(100000);
		if (vgpu_proc_alive(pid))
			kill(pid, SIGKILL);
	}
	vgpu_pidfile_path(path, sizeof(path), o->domid, o->devid);
	unlink(path);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Has systemd given up on the device's unit (start failed, or crashed
 * beyond its restart limit)? */
static bool unit_failed(const struct attach_opts *o)
{
	char inst[32], unit[96];
	char *argv[] = { "systemctl", "is-failed", "--quiet", unit, NULL };

	vgpu_instance(inst, sizeof(inst), o->domid, o->devid);
	snprintf(unit, sizeof(unit), "vgpu-backend@%s.service", inst);
	return vgpu_run(argv, true) == 0;
}

/* 0 once the backend is in InitWait (or further); -1 with a message. */
static int wait_initwait(struct xs_handle *xs, const struct attach_opts *o,
			 pid_t pid, const char *logpath)
{
	char p[160];
	double deadline = now_s() + o->wait_s;
	unsigned int polls = 0;
	int st = -ENOENT;

	snprintf(p, sizeof(p), "%s/%s", o->be, VGPUIF_XS_STATE);
	for (;;) {
		st = vgpu_xs_read_state(xs, XBT_NULL, p);
		if (st >= VGPU_XB_INITWAIT && st <= VGPU_XB_CONNECTED)
			return 0;
		if (st == VGPU_XB_CLOSING || st == VGPU_XB_CLOSED) {
			fprintf(stderr, PROG ": the backend of domain %u went "
				"to %s while starting\n", o->domid,
				vgpu_xb_state_name(st));
			break;
		}
		if (pid < 0 && ++polls % 10 == 0 && unit_failed(o)) {
			fprintf(stderr, PROG ": the unit of domain %u failed "
				"before reaching InitWait\n", o->domid);
			break;
		}
		if (pid > 0 && !vgpu_proc_alive(pid)) {
			fprintf(stderr, PROG ": vgpu-backend (pid %d) exited "
				"before reaching InitWait\n", (int)pid);
			break;
		}
		if (now_s() >= deadline) {
			fprintf(stderr, PROG ": the backend of domain %u did not "
				"reach InitWait within %u s (%s is %s)\n",
				o->domid, o->wait_s, p,
				vgpu_xb_state_name(st));
			break;
		}
		usleep(100000);
	}
	if (logpath && *logpath)
		fprintf(stderr, PROG ": its log: %s\n", logpath);
	else {
		char inst[32];

		vgpu_instance(inst, sizeof(inst), o->domid, o->devid);
		fprintf(stderr, PROG ": its log: journalctl -u "
			"vgpu-backend@%s.service\n", inst);
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct attach_opts o;
	char bin[PATH_MAX] = "", logpath[256] = "", *name;
	struct xs_handle *xs;
	bool systemd = false, explicit_backend;
	pid_t pid = -1;
	int rc;

	parse_args(argc, argv, &o);
	if (o.domid == 0) {
		fprintf(stderr, PROG ": domain 0 is where the backend runs; "
			"attach a vgpu to a guest domain\n");
		return 1;
	}
	/* A backend named explicitly is checked before anything else. */
	explicit_backend = o.backend || (getenv("VGPU_BACKEND") &&
					 *getenv("VGPU_BACKEND"));
	if (!o.no_start && explicit_backend &&
	    !find_backend(&o, bin, sizeof(bin)))
		return 1;

	xs = vgpu_xs_connect(PROG, 10);
	if (!xs)
		return 1;

	/* The operator's likeliest mistakes first: a wrong domid, a device
	 * that is already there (write_nodes checks both again, atomically). */
	rc = vgpu_domain_exists(xs, o.domid);
	if (rc == 0)
		rc = -ESRCH;
	else if (rc > 0)
		rc = vgpu_xs_exists(xs, XBT_NULL, o.be) > 0 ? -EEXIST : 0;
	if (!rc && !o.no_start && !explicit_backend &&
	    !find_backend(&o, bin, sizeof(bin)))
		rc = -ENOEXEC;
	if (!rc)
		rc = vgpu_xs_transact(xs, write_nodes, &o);

	if (rc) {
		if (rc == -ENOEXEC)
			;       /* find_backend said why */
		else if (rc == -ESRCH)
			fprintf(stderr, PROG ": no such domain %u (no "
				"/local/domain/%u in XenStore; see xl list)\n",
				o.domid, o.domid);
		else if (rc == -EEXIST)
			fprintf(stderr, PROG ": domain %u already has vgpu "
				"device %u (%s); vgpu-detach %u%s first, or "
				"choose another --devid\n", o.domid, o.devid,
				o.be, o.domid, o.devid ? " --devid N" : "");
		else
			fprintf(stderr, PROG ": writing the nodes of domain %u "
				"device %u failed: %s\n", o.domid, o.devid,
				vgpu_xs_strerror(-rc));
		goto out_close;
	}

	if (o.no_start) {
		printf(PROG ": domain %u: vgpu device %u nodes written (%s); no "
		       "backend started (--no-start)\n", o.domid, o.devid, o.be);
		xs_close(xs);
		return 0;
	}

	systemd = !o.no_systemd && vgpu_systemd_running();
	if (systemd && !vgpu_systemd_unit_installed()) {
		fprintf(stderr, PROG ": note: systemd runs but "
			"vgpu-backend@.service is not installed; starting the "
			"backend directly (it will not be restarted if it "
			"crashes)\n");
		systemd = false;
	}
	if (systemd)
		rc = start_systemd(&o);
	else
		rc = (pid = start_direct(&o, bin, logpath, sizeof(logpath))) > 0
		     ? 0 : -1;
	if (rc) {
		rollback_nodes(xs, &o);
		rc = -1;
		goto out_close;
	}

	if (o.wait_s && wait_initwait(xs, &o, systemd ? -1 : pid,
				      systemd ? NULL : logpath)) {
		stop_started(&o, systemd, pid);
		rollback_nodes(xs, &o);
		rc = -1;
		goto out_close;
	}

	name = vgpu_xs_readf(xs, XBT_NULL, "/local/domain/%u/name", o.domid);
	{
		char safe[64];

		char quota[32];

		if (o.have_quota)
			snprintf(quota, sizeof(quota), "%llu",
				 (unsigned long long)o.mem_quota);
		else
			snprintf(quota, sizeof(quota), "host default");
		printf(PROG ": domain %u (%s): vgpu device %u attached, "
		       "priority %s, pool %u, mem-quota %s; backend ",
		       o.domid, vgpu_printable(name ? name : "?", safe,
					       sizeof(safe)),
		       o.devid, o.priority, o.pool, quota);
	}
	free(name);
	if (systemd) {
		char inst[32];

		vgpu_instance(inst, sizeof(inst), o.domid, o.devid);
		printf("vgpu-backend@%s.service\n", inst);
	} else
		printf("pid %d, log %s\n", (int)pid, logpath);
	rc = 0;
out_close:
	xs_close(xs);
	return rc ? 1 : 0;
}
