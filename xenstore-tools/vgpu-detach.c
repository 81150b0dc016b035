// SPDX-License-Identifier: MIT
/*
 * vgpu-detach - take a vgpu device away from a Xen guest, the way libxl
 * removes its own devices: mark the backend offline and Closing, wait for the
 * frontend to close, stop the backend, remove both ends' nodes.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "vgpuif.h"

#define PROG "vgpu-detach"

static const char usage_text[] =
"Usage: vgpu-detach DOMID [OPTION]...\n"
"Take vgpu device DEVID (default 0) away from Xen domain DOMID.\n"
"\n"
"Steps, as libxl does for its own devices:\n"
"  1. write online=0 and state=5 (Closing) in the backend's directory\n"
"     /local/domain/0/backend/vgpu/DOMID/DEVID: the guest's frontend fails\n"
"     or finishes what is in flight, releases its ring and goes Closed (6);\n"
"  2. wait for the frontend's state to be Closed (or for a frontend that\n"
"     never connected: Initialising, or no frontend at all), at most\n"
"     --timeout seconds;\n"
"  3. stop the domain's vgpu-backend (systemctl stop vgpu-backend@INSTANCE,\n"
"     or SIGTERM to the pid in /run/vgpu-xen/backend-INSTANCE.pid, then\n"
"     SIGKILL after 10 s); it releases every GPU resource of the domain;\n"
"  4. remove both directories in one transaction.\n"
"If the domain is already gone, steps 1-2 are skipped.\n"
"\n"
"Options:\n"
"  --devid N        device id (default 0)\n"
"  --timeout SECS   how long to wait for the frontend to close (default 30)\n"
"  --force          tear the device down even when the frontend did not\n"
"                   close in time (the guest's driver then sees its device\n"
"                   vanish; in-flight requests fail)\n"
"  -h, --help       this text\n"
"\n"
"Exit status: 0 detached; 1 failed (not attached, XenStore unreachable,\n"
"permission denied, frontend did not close without --force); 2 bad usage.\n"
"See also: vgpu-attach(8), vgpu-list(8), docs/operations.md.\n";

struct detach_opts {
	uint32_t domid;
	uint32_t devid;
	uint32_t timeout_s;
	bool force;
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

static void parse_args(int argc, char **argv, struct detach_opts *o)
{
	enum { O_DEVID = 256, O_TIMEOUT, O_FORCE };
	static const struct option longopts[] = {
		{ "devid",   required_argument, NULL, O_DEVID },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "force",   no_argument,       NULL, O_FORCE },
		{ "help",    no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->timeout_s = 30;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case O_DEVID:
			if (vgpu_parse_u32(optarg, VGPU_MAX_DEVID, &o->devid))
				usage_error("--devid: '%s' is not a device id "
					    "(0..65535)", optarg);
			break;
		case O_TIMEOUT:
			if (vgpu_parse_u32(optarg, 3600, &o->timeout_s))
				usage_error("--timeout: '%s' is not a number of "
					    "seconds (0..3600)", optarg);
			break;
		case O_FORCE:
			o->force = true;
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

static int mark_closing(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	const struct detach_opts *o = arg;
	char p[160];
	int rc;

	rc = vgpu_xs_exists(xs, t, o->be);
	if (rc <= 0)
		return rc ? rc : -ENOENT;
	snprintf(p, sizeof(p), "%s/online", o->be);
	rc = vgpu_xs_writef(xs, t, p, "0");
	if (rc)
		return rc;
	snprintf(p, sizeof(p), "%s/%s", o->be, VGPUIF_XS_STATE);
	return vgpu_xs_writef(xs, t, p, "%d", VGPU_XB_CLOSING);
}

static int remove_nodes(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	const struct detach_opts *o = arg;
	char parent[96];
	unsigned int n = 0;
	char **d;

	errno = 0;
	if (!xs_rm(xs, t, o->fe) && errno != ENOENT)
		return errno ? -errno : -EIO;
	errno = 0;
	if (!xs_rm(xs, t, o->be) && errno != ENOENT)
		return errno ? -errno : -EIO;
	/* The per-domain backend dir goes with its last device. */
	snprintf(parent, sizeof(parent), "/local/domain/0/backend/vgpu/%u",
		 o->domid);
	d = xs_directory(xs, t, parent, &n);
	if (d && n == 0)
		xs_rm(xs, t, parent);
	free(d);
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Has the frontend let go? Closed, never started, or gone. */
static bool frontend_closed(int st)
{
	return st == VGPU_XB_CLOSED || st == VGPU_XB_INITIALISING ||
	       st == VGPU_XB_UNKNOWN || st == -ENOENT;
}

static int wait_closed(struct xs_handle *xs, const struct detach_opts *o)
{
	char fp[160], bp[160];
	double deadline = now_s() + o->timeout_s;
	int fs, bs;

	snprintf(fp, sizeof(fp), "%s/%s", o->fe, VGPUIF_XS_STATE);
	snprintf(bp, sizeof(bp), "%s/%s", o->be, VGPUIF_XS_STATE);
	for (;;) {
		fs = vgpu_xs_read_state(xs, XBT_NULL, fp);
		bs = vgpu_xs_read_state(xs, XBT_NULL, bp);
		if (frontend_closed(fs))
			return 0;
		if (vgpu_domain_exists(xs, o->domid) == 0)
			return 0;
		if (now_s() >= deadline)
			break;
		usleep(100000);
	}
	fprintf(stderr, PROG ": the frontend of domain %u device %u did not "
		"close within %u s (frontend state %d %s, backend state %d %s)\n",
		o->domid, o->devid, o->timeout_s, fs, vgpu_xb_state_name(fs),
		bs, vgpu_xb_state_name(bs));
	return -ETIMEDOUT;
}

/* Stop the backend however vgpu-attach started it; 0, or -1 (printed). */
static int stop_backend(const struct detach_opts *o)
{
	char inst[32], unit[96], envfile[128], pidfile[128];
	char *argv[] = { "systemctl", "stop", unit, NULL };
	pid_t pid;
	int i, rc;

	vgpu_instance(inst, sizeof(inst), o->domid, o->devid);
	vgpu_envfile_path(envfile, sizeof(envfile), o->domid, o->devid);
	vgpu_pidfile_path(pidfile, sizeof(pidfile), o->domid, o->devid);

	if (access(envfile, F_OK) == 0 && vgpu_systemd_running()) {
		snprintf(unit, sizeof(unit), "vgpu-backend@%s.service", inst);
		rc = vgpu_run(argv, true);
		if (rc != 0) {
			fprintf(stderr, PROG ": systemctl stop %s failed "
				"(status %d)\n", unit, rc);
			return -1;
		}
		unlink(envfile);
		return 0;
	}
	pid = vgpu_pidfile_read(pidfile);
	if (pid == -ENOENT) {
		fprintf(stderr, PROG ": note: no %s: no backend process to stop "
			"for domain %u device %u\n", pidfile, o->domid, o->devid);
		return 0;
	}
	if (pid < 0 || !vgpu_proc_is_backend(pid)) {
		/* Stale: the backend died (its pid may be someone else's). */
		unlink(pidfile);
		return 0;
	}
	kill(pid, SIGTERM);
	for (i = 0; i < 100 && vgpu_proc_alive(pid); i++)
		usleep(100000);
	if (vgpu_proc_alive(pid)) {
		fprintf(stderr, PROG ": vgpu-backend pid %d ignored SIGTERM for "
			"10 s; killing it\n", (int)pid);
		kill(pid, SIGKILL);
		for (i = 0; i < 50 && vgpu_proc_alive(pid); i++)
			usleep(100000);
	}
	unlink(pidfile);
	return 0;
}

int main(int argc, char **argv)
{
	struct detach_opts o;
	struct xs_handle *xs;
	int rc, alive;

	parse_args(argc, argv, &o);
	xs = vgpu_xs_connect(PROG, 10);
	if (!xs)
		return 1;

	alive = vgpu_domain_exists(xs, o.domid);
	rc = vgpu_xs_exists(xs, XBT_NULL, o.be);
	if (rc < 0) {
		fprintf(stderr, PROG ": cannot read %s: %s\n", o.be,
			vgpu_xs_strerror(-rc));
		goto out_close;
	}
	if (rc == 0 && vgpu_xs_exists(xs, XBT_NULL, o.fe) != 1) {
		fprintf(stderr, PROG ": domain %u has no vgpu device %u (no %s)%s\n",
			o.domid, o.devid, o.be,
			alive == 0 ? "; there is no such domain either" : "");
		rc = -1;
		goto out_close;
	}

	if (alive > 0) {
		rc = vgpu_xs_transact(xs, mark_closing, &o);
		if (rc && rc != -ENOENT) {
			fprintf(stderr, PROG ": cannot mark %s Closing: %s\n",
				o.be, vgpu_xs_strerror(-rc));
			goto out_close;
		}
		rc = wait_closed(xs, &o);
		if (rc && !o.force) {
			fprintf(stderr, PROG ": the device is left Closing; "
				"run '" PROG " %u --devid %u --force' to tear it "
				"down anyway\n", o.domid, o.devid);
			goto out_close;
		}
	}

	if (stop_backend(&o) && !o.force) {
		rc = -1;
		goto out_close;
	}
	rc = vgpu_xs_transact(xs, remove_nodes, &o);
	if (rc) {
		fprintf(stderr, PROG ": cannot remove %s and %s: %s\n", o.fe, o.be,
			vgpu_xs_strerror(-rc));
		goto out_close;
	}
	printf(PROG ": domain %u: vgpu device %u detached\n", o.domid, o.devid);
out_close:
	xs_close(xs);
	return rc ? 1 : 0;
}
