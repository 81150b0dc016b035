/* SPDX-License-Identifier: MIT */
/*
 * main.c - vgpu-backend: command line, config, signals and the event loop
 * of the dom0 daemon that serves one guest domain's vgpu device.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "common.h"
#include "hostmem.h"
#include "log.h"

/* While polling, other descriptors (signals, XenStore) are looked at this often. */
#define POLL_SLICE_NS (20ull * 1000)
/* poll-us auto polls on machines with at least this many CPUs. */
#define POLL_AUTO_MIN_CPUS 4

static const char usage_text[] =
"Usage: vgpu-backend --domid N [OPTION]...\n"
"\n"
"The dom0 backend of vgpu-xen for one guest domain's vgpu device. It writes\n"
"its features to XenStore (backend/vgpu/N/M), waits for the guest's frontend\n"
"(device/vgpu/M) to publish a ring, maps it, and serves the guest's GPU\n"
"requests: every request is copied off the shared ring, validated against\n"
"the protocol's limits and this domain's own handle tables, and handed to\n"
"an executor (the CUDA worker pool, or the CPU reference executor). One\n"
"process serves one (domain, device); the toolstack (vgpu-attach) or the\n"
"systemd unit vgpu-backend@N.service starts it.\n"
"\n"
"Options:\n"
"  --domid N            the guest domain to serve (required)\n"
"  --devid M            the vgpu device number in that domain (default 0)\n"
"  --executor E         auto|cuda|cpu (default auto: cuda when a usable GPU\n"
"                       is present, else cpu)\n"
"  --gpu I|auto         the GPU to serve the domain on: a CUDA ordinal, or\n"
"                       auto (the default): the GPU of the domain's pool\n"
"                       with the fewest domains, as the arbiter places it\n"
"                       (pool key; VGPU_ARB_GPUS, VGPU_ARB_POOLS)\n"
"  --transport T        xen|loopback (default xen); loopback is the\n"
"                       shared-memory test transport\n"
"  --loopback-dir DIR   the loopback world directory (default\n"
"                       $VGPU_LOOPBACK_DIR, else /run/vgpu-xen/loopback)\n"
"  --config FILE        host-wide defaults (default " VGPUBACK_DEFAULT_CONFIG
" when\n"
"                       it exists); flags override the file\n"
"  --foreground         stay in the foreground and log to stderr (systemd);\n"
"                       otherwise detach and log to --log-file or syslog\n"
"  --log-level L        error|warn|info|debug (default info)\n"
"  --log-file FILE      append log lines to FILE; reopened on SIGHUP\n"
"  --watchdog-ms MS     kernel time limit, 0 = none (default 10000); the\n"
"                       domain's watchdog-ms key, when the operator set\n"
"                       one, takes precedence\n"
"  --mem-quota BYTES    GPU memory quota when XenStore's mem-quota is absent\n"
"                       (K/M/G/T suffixes; 0 = none)\n"
"  --max-inflight N     requests executing at once (default: the ring size)\n"
"  --max-contexts N     guest contexts (default 256)\n"
"  --max-handles-per-context N   handles per context (default 4096)\n"
"  --max-indirect-segments N     advertised limit (default 8192, 0 = none)\n"
"  --max-ring-page-order N       advertised limit (default 4)\n"
"  --persistent-grants auto|N    guest pages the persistent grant cache\n"
"                       keeps mapped (default auto: 33280, 128 MiB of data,\n"
"                       a default guest grant table's worth, and indirect\n"
"                       pages; less for a guest with less memory; 0 turns\n"
"                       feature-persistent off)\n"
"  --storm-limit N      idle notifications per second before the event\n"
"                       channel is throttled (default 20000; 0 = never)\n"
"  --shutdown-timeout-ms MS      on SIGTERM, detach or the domain's death,\n"
"                       how long to wait for work already on the GPU\n"
"                       before stopping it (default 10000)\n"
"  --cpu-op-delay-us US cpu executor: extra time per op (tests)\n"
"  --host-mem-limit SIZE  most host memory the executor holds for the guest\n"
"                       (cpu: its device memory; cuda: pinned staging); auto\n"
"                       (default): the cgroup's memory.max (the unit's\n"
"                       MemoryMax) less 64 MiB, else half of dom0's RAM;\n"
"                       allocations past it answer ENOMEM\n"
"  --host-mem-reserve SIZE  memory every allocation leaves available to the\n"
"                       rest of dom0 (MemAvailable); auto (default): 1/16 of\n"
"                       dom0's RAM, at least 64 MiB; 0 = no check\n"
"  --poll-us US|auto    how long to keep polling the ring and the GPU's\n"
"                       completions after the last work before sleeping.\n"
"                       auto (the default): while the domain has work in\n"
"                       flight or had some in the last few hundred\n"
"                       microseconds, poll (a busy domain's requests then\n"
"                       cost no wake-up), and sleep when it is idle (an\n"
"                       idle domain costs no CPU); the window adapts to\n"
"                       the guest's pace; no polling on a machine of fewer\n"
"                       than 4 CPUs. US pins the window\n"
"                       (0 = never poll: every request and completion\n"
"                       wakes the process)\n"
"  --ctx-heap SIZE      the guest context's device heap (malloc in kernels),\n"
"                       fixed by dom0, counted in the context's memory\n"
"                       (CTX-MEM); 0 (default): CUDA's 8 MiB\n"
"  --ctx-printf SIZE    its printf buffer; 0 (default): the driver's (8448\n"
"                       KiB on an H200 with driver 580)\n"
"  --ctx-stack SIZE     its stack per thread (times every thread the GPU\n"
"                       holds at once); 0 (default): CUDA's 1 KiB\n"
"  --protocol-revision R  3 (default): serve ops 0..32, inline data and\n"
"                       registered host memory, advertised as feature-ops\n"
"                       33, feature-inline 1 and feature-host-mem 1;\n"
"                       2: ops 0..30 and inline data (feature-ops 31, no\n"
"                       feature-host-mem); 1: ops 0..15 only and none of\n"
"                       the keys, as older backends (compatibility tests)\n"
"  --print-config       print the effective settings and exit\n"
"  --mark-closed REASON for a supervisor, after this device's backend died\n"
"                       without closing (SIGKILL, OOM): write state Closed\n"
"                       and error = REASON in the backend directory, unless\n"
"                       it is gone or already Closed, so that the guest's\n"
"                       calls fail instead of waiting; serves nothing, exits\n"
"                       0 (1 when XenStore cannot be written)\n"
"  -h, --help           this text\n"
"  --version            the version\n"
"\n"
"Config file: one 'key = value' per line, '#' comments; keys are the long\n"
"option names above (executor, gpu, transport, loopback-dir, log-level,\n"
"log-file, watchdog-ms, mem-quota, max-inflight, max-contexts,\n"
"max-handles-per-context, max-indirect-segments, max-ring-page-order,\n"
"persistent-grants, storm-limit, shutdown-timeout-ms, cpu-op-delay-us,\n"
"poll-us, protocol-revision, host-mem-limit, host-mem-reserve, ctx-heap,\n"
"ctx-printf, ctx-stack).\n"
"A malformed file is an error that names the line.\n"
"\n"
"XenStore: reads the frontend's ring-ref / ring-ref%u, ring-page-order,\n"
"event-channel, protocol (must be " VGPUIF_PROTOCOL "), feature-persistent,\n"
"state; writes max-ring-page-order, feature-persistent,\n"
"feature-max-indirect-segments, feature-ops, feature-inline, gpu-name,\n"
"gpu-memory, gpu-compute-capability, executor, state (and error on a failed connect);\n"
"reads the operator's priority (high|medium|low), pool and mem-quota from\n"
"its own directory.\n"
"\n"
"Signals:\n"
"  SIGTERM, SIGINT  stop taking requests (those still on the ring are\n"
"                   answered ESHUTDOWN), let work on the GPU finish, tell\n"
"                   the frontend Closing then Closed, release everything,\n"
"                   exit 0\n"
"  SIGHUP           reopen the log file\n"
"  SIGUSR1          log request and grant-cache statistics\n"
"\n"
"Exit status: 0 after a clean shutdown (signal, detach, domain gone),\n"
"1 on a runtime failure, 2 on a usage or configuration error.\n";

enum {
	OPT_DOMID = 256, OPT_DEVID, OPT_CONFIG, OPT_FOREGROUND, OPT_VERSION,
	OPT_PRINT, OPT_SET, OPT_MARK_CLOSED
};

static const struct option long_opts[] = {
	{ "domid", required_argument, NULL, OPT_DOMID },
	{ "devid", required_argument, NULL, OPT_DEVID },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "foreground", no_argument, NULL, OPT_FOREGROUND },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "print-config", no_argument, NULL, OPT_PRINT },
	{ "mark-closed", required_argument, NULL, OPT_MARK_CLOSED },
	{ "executor", required_argument, NULL, OPT_SET },
	{ "gpu", required_argument, NULL, OPT_SET },
	{ "transport", required_argument, NULL, OPT_SET },
	{ "loopback-dir", required_argument, NULL, OPT_SET },
	{ "log-level", required_argument, NULL, OPT_SET },
	{ "log-file", required_argument, NULL, OPT_SET },
	{ "watchdog-ms", required_argument, NULL, OPT_SET },
	{ "mem-quota", required_argument, NULL, OPT_SET },
	{ "max-inflight", required_argument, NULL, OPT_SET },
	{ "max-contexts", required_argument, NULL, OPT_SET },
	{ "max-handles-per-context", required_argument, NULL, OPT_SET },
	{ "max-indirect-segments", required_argument, NULL, OPT_SET },
	{ "max-ring-page-order", required_argument, NULL, OPT_SET },
	{ "persistent-grants", required_argument, NULL, OPT_SET },
	{ "storm-limit", required_argument, NULL, OPT_SET },
	{ "shutdown-timeout-ms", required_argument, NULL, OPT_SET },
	{ "cpu-op-delay-us", required_argument, NULL, OPT_SET },
	{ "poll-us", required_argument, NULL, OPT_SET },
	{ "host-mem-limit", required_argument, NULL, OPT_SET },
	{ "host-mem-reserve", required_argument, NULL, OPT_SET },
	{ "protocol-revision", required_argument, NULL, OPT_SET },
	{ "ctx-heap", required_argument, NULL, OPT_SET },
	{ "ctx-printf", required_argument, NULL, OPT_SET },
	{ "ctx-stack", required_argument, NULL, OPT_SET },
	{ NULL, 0, NULL, 0 }
};

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "vgpu-backend: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'vgpu-backend --help'.\n");
	return 2;
}

/* Two passes: find --config first, so that flags override the file. */
static int parse_args(int argc, char **argv, struct vgpuback_config *cfg,
		      bool *print_only, const char **mark_closed)
{
	const char *config = NULL;
	char errbuf[512];
	uint64_t v;
	int c, idx, err;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", long_opts, &idx)) != -1) {
		switch (c) {
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		case OPT_VERSION:
			printf("vgpu-backend 0.1.0 (protocol %s)\n", VGPUIF_PROTOCOL);
			exit(0);
		case OPT_CONFIG:
			config = optarg;
			break;
		case '?':
			if (optopt)
				return usage_error("option '-%c' is unknown or lacks its argument",
						   (char[]){ (char)optopt, 0 });
			return usage_error("unknown option or missing argument in '%s'",
					   argv[optind - 1]);
		default:
			break;
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);

	err = vgpuback_config_load(cfg, config ? config : VGPUBACK_DEFAULT_CONFIG,
				   errbuf, sizeof(errbuf));
	if (err && !(err == -ENOENT && !config)) {
		fprintf(stderr, "vgpu-backend: config: %s\n", errbuf);
		return 2;
	}

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", long_opts, &idx)) != -1) {
		const char *why;

		switch (c) {
		case OPT_DOMID:
			if (vgpuback_config_parse_u64(optarg, false, &v) ||
			    v > 0x7fef)
				return usage_error("--domid wants a domain id 0..32751, not '%s'",
						   optarg);
			cfg->domid = (uint32_t)v;
			cfg->have_domid = true;
			break;
		case OPT_DEVID:
			if (vgpuback_config_parse_u64(optarg, false, &v) ||
			    v > 0xffff)
				return usage_error("--devid wants a device number 0..65535, not '%s'",
						   optarg);
			cfg->devid = (uint32_t)v;
			break;
		case OPT_FOREGROUND:
			cfg->foreground = true;
			break;
		case OPT_PRINT:
			*print_only = true;
			break;
		case OPT_MARK_CLOSED:
			*mark_closed = optarg;
			break;
		case OPT_SET:
			if (vgpuback_config_set(cfg, long_opts[idx].name,
						optarg, &why)) {
				fprintf(stderr, "vgpu-backend: --%s %s: %s\nTry 'vgpu-backend --help'.\n",
					long_opts[idx].name, optarg, why);
				return 2;
			}
			break;
		default:
			break;
		}
	}
	if (!cfg->have_domid && !*print_only)
		return usage_error("%s", "--domid N is required");
	return 0;
}

static void exec_log(void *arg, int level, const char *msg)
{
	(void)arg;
	vgpuback_log(level, "executor: %s", msg);
}

static int mark_closed_main(const struct vgpuback_config *cfg,
			    const char *reason);

int main(int argc, char **argv)
{
	struct vgpuback_config cfg;
	struct vgpuback_transport *t = NULL;
	struct vgpu_exec *exec = NULL;
	struct vgpuback_device dev;
	struct vgpu_exec_config ecfg;
	bool print_only = false, dev_ready = false, xb_ready = false;
	const char *mark_closed = NULL;
	uint64_t deadline = 0, spin_until = 0, last_work = 0;
	const char *why = NULL;
	sigset_t sigs;
	int sfd = -1, rc = 1, err;

	vgpuback_config_defaults(&cfg);
	err = parse_args(argc, argv, &cfg, &print_only, &mark_closed);
	if (err)
		return err;
	if (print_only) {
		vgpuback_config_dump(&cfg, stdout);
		return 0;
	}
	if (mark_closed)
		return mark_closed_main(&cfg, mark_closed);

	err = vgpuback_log_init(cfg.domid, cfg.devid, cfg.log_level,
				cfg.log_file[0] ? cfg.log_file : NULL,
				!cfg.foreground);
	if (err) {
		fprintf(stderr, "vgpu-backend: cannot open log file %s: %s\n",
			cfg.log_file, strerror(-err));
		return 2;
	}
	if (!cfg.foreground && daemon(0, 0)) {
		fprintf(stderr, "vgpu-backend: cannot detach: %s\n", strerror(errno));
		return 1;
	}

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGUSR1);
	/* Block before any thread starts, so only signalfd sees them. */
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	sfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0) {
		vb_err("signalfd: %s", strerror(errno));
		goto out;
	}

	t = vgpuback_transport_open(cfg.transport,
				    cfg.loopback_dir[0] ? cfg.loopback_dir : NULL,
				    &why);
	if (!t) {
		vb_err("cannot open the %s transport: %s", cfg.transport,
		       why ? why : strerror(errno));
		goto out;
	}

	/*
	 * Polling pays only where a core is free for it: on a machine of
	 * fewer than POLL_AUTO_MIN_CPUS the guest's own process (loopback)
	 * or vCPU and ours fight over the cores, and a round trip got slower,
	 * not faster (docs/performance.md). An explicit poll-us still polls.
	 */
	if (cfg.poll_us == VGPUBACK_POLL_AUTO &&
	    sysconf(_SC_NPROCESSORS_ONLN) < POLL_AUTO_MIN_CPUS) {
		vb_info("poll-us auto: %ld CPUs, fewer than %d: not polling",
			sysconf(_SC_NPROCESSORS_ONLN), POLL_AUTO_MIN_CPUS);
		cfg.poll_us = 0;
	}

	/*
	 * The device first, without an executor: the arbiter places the
	 * domain on a GPU of its pool (read from our XenStore directory), and
	 * the executor opens on that GPU.
	 */
	err = vgpuback_dev_init(&dev, &cfg, t, NULL);
	if (err) {
		vb_err("cannot set up the device: %s", strerror(-err));
		goto out;
	}
	dev_ready = true;
	err = vgpuback_xenbus_prepare(&dev);
	if (err) {
		vb_err("cannot prepare %s: %s", "the backend directory", strerror(-err));
		goto out;
	}
	xb_ready = true;

	memset(&ecfg, 0, sizeof(ecfg));
	ecfg.name = cfg.executor;
	ecfg.device = vgpuback_sched_place(&dev);
	ecfg.domid = cfg.domid;
	ecfg.watchdog_ms = vgpuback_xenbus_watchdog(t, &cfg);
	ecfg.cpu_op_delay_us = cfg.cpu_op_delay_us;
	ecfg.ctx_heap_bytes = cfg.ctx_heap_bytes;
	ecfg.ctx_printf_bytes = cfg.ctx_printf_bytes;
	ecfg.ctx_stack_bytes = cfg.ctx_stack_bytes;
	{
		struct vgpu_hostmem hm;
		char note[256];

		if (vgpu_hostmem_read(NULL, &hm)) {
			vb_warn("cannot read /proc/meminfo: no host memory limits beyond the settings");
			hm.total = hm.available = 0;
			hm.cgroup_limit = UINT64_MAX;
		}
		vgpuback_config_host_mem(&cfg, &hm, &ecfg.host_mem_limit,
					 &ecfg.host_mem_reserve, note, sizeof(note));
		if (note[0])
			vb_warn("%s", note);
		vb_info("host memory: limit %llu MiB, dom0 reserve %llu MiB (dom0 has %llu MiB, %llu MiB available, cgroup limit %s)",
			(unsigned long long)(ecfg.host_mem_limit >> 20),
			(unsigned long long)(ecfg.host_mem_reserve >> 20),
			(unsigned long long)(hm.total >> 20),
			(unsigned long long)(hm.available >> 20),
			hm.cgroup_limit == UINT64_MAX ? "none" : "set");
	}
	ecfg.log = exec_log;
	why = NULL;
	err = vgpu_exec_open(&exec, &ecfg, &why);
	if (err) {
		vb_err("cannot open the %s executor: %s", cfg.executor,
		       why ? why : strerror(-err));
		goto out;
	}

	dev.gpu = ecfg.device;
	err = vgpuback_dev_set_exec(&dev, exec);
	if (err) {
		vb_err("cannot read the executor's device: %s", strerror(-err));
		goto out;
	}
	vb_info("GPU %d (%s)%s", ecfg.device, dev.einfo.name,
		cfg.gpu < 0 ? ", placed by the arbiter" : ", from --gpu");
	err = vgpuback_xenbus_init(&dev);
	if (err)
		goto out;
	vgpuback_xenbus_changed(&dev);

	while (!dev.quit) {
		bool spin = false, slept, worked = false;
		struct pollfd pfd[4] = {
			{ .fd = sfd, .events = POLLIN },
			{ .fd = t->ops->xs_watch_fd(t), .events = POLLIN },
			{ .fd = t->ops->evtchn_fd(t), .events = POLLIN },
			{ .fd = dev.done_fd, .events = POLLIN },
		};
		int timeout;

		/*
		 * Leaving for any reason (signal, domain gone, detach): work
		 * on the executor gets shutdown-timeout-ms, then is stopped,
		 * so that a kernel that never ends cannot keep us (and the
		 * domain's GPU context) alive forever.
		 */
		if (dev.leaving && !deadline)
			deadline = vgpuback_now_ns() +
				   cfg.shutdown_timeout_ms * 1000000ull;
		timeout = vgpuback_ring_timeout_ms(&dev);
		if (deadline) {
			uint64_t now = vgpuback_now_ns();
			int left = now >= deadline ? 0 :
				   (int)((deadline - now) / 1000000 + 1);

			if (timeout < 0 || left < timeout)
				timeout = left;
		}
		/*
		 * Polling window (poll-us; auto by default): while the domain is
		 * busy, look at the ring and the completion queue in memory,
		 * with a zero-timeout poll() for the other descriptors every
		 * POLL_SLICE_NS; requests and completions then cost neither
		 * the guest's notification nor a wake-up. Idle, sleep.
		 */
		if (cfg.poll_us && dev.conn == VGPUBACK_CONNECTED && !dev.leaving &&
		    vgpuback_now_ns() < spin_until) {
			spin = true;
			timeout = 0;
		}
		vgpuback_ring_spin(&dev, spin);
		if (spin) {
			uint64_t now = vgpuback_now_ns();
			uint64_t slice = now + POLL_SLICE_NS;

			if (slice > spin_until)
				slice = spin_until;
			while (!vgpuback_ring_has_work(&dev) && now < slice) {
				__builtin_ia32_pause();
				now = vgpuback_now_ns();
			}
			if (vgpuback_ring_poll(&dev))
				worked = true;
		} else if (timeout != 0 && !vgpuback_ring_prepare_sleep(&dev)) {
			timeout = 0;    /* a completion came meanwhile */
		}
		slept = timeout != 0;
		err = poll(pfd, 4, timeout);
		vgpuback_ring_woke(&dev);
		if (err < 0) {
			if (errno == EINTR)
				continue;
			vb_err("poll: %s", strerror(errno));
			goto out;
		}
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				switch (si.ssi_signo) {
				case SIGTERM:
				case SIGINT:
					vb_info("signal %u: shutting down", si.ssi_signo);
					if (!deadline)
						deadline = vgpuback_now_ns() +
							   cfg.shutdown_timeout_ms * 1000000ull;
					vgpuback_xenbus_shutdown(&dev);
					break;
				case SIGHUP:
					if (vgpuback_log_reopen())
						vb_err("cannot reopen the log file");
					else
						vb_info("log reopened");
					break;
				case SIGUSR1:
					vgpuback_ring_log_stats(&dev);
					break;
				}
			}
		}
		if (pfd[3].revents & POLLIN) {
			vgpuback_ring_completions(&dev);
			worked = true;
		} else if (!spin && vgpuback_ring_has_work(&dev)) {
			worked |= vgpuback_ring_poll(&dev); /* queued while awake */
		}
		if (pfd[2].revents & POLLIN) {
			uint64_t seen = dev.stats.requests;

			vgpuback_ring_event(&dev);
			/* Only work opens the window: a storm of empty events
			 * does not keep us polling. */
			if (dev.stats.requests != seen)
				worked = true;
		}
		if (worked) {
			uint64_t now = vgpuback_now_ns();

			/* Woken by work: would a longer window have caught it? */
			if (slept)
				vgpuback_ring_poll_slept(&dev, now - last_work);
			last_work = now;
			spin_until = now + vgpuback_ring_poll_window_ns(&dev);
		}
		if (pfd[1].revents & POLLIN) {
			char *path, *token;
			int n = 0;

			while (t->ops->xs_read_watch(t, &path, &token) > 0) {
				free(path);
				free(token);
				n++;
			}
			if (n)
				vgpuback_xenbus_changed(&dev);
		}
		if (pfd[1].revents & (POLLERR | POLLHUP)) {
			vb_err("lost the XenStore connection; exiting");
			goto out;
		}
		vgpuback_ring_timer(&dev);
		if (deadline && !dev.quit && vgpuback_now_ns() >= deadline &&
		    dev.exec) {
			vb_err("%u request(s) still executing after %u ms; stopping the executor",
			       dev.inflight, cfg.shutdown_timeout_ms);
			vgpu_exec_close(dev.exec); /* answers everything */
			dev.exec = exec = NULL;
			vgpuback_ring_completions(&dev);
			vgpuback_xenbus_changed(&dev);
		}
	}
	vb_info("exiting");
	rc = 0;
out:
	if (xb_ready)
		vgpuback_xenbus_uninit(&dev);
	if (exec)
		vgpu_exec_close(exec);
	if (dev_ready)
		vgpuback_dev_uninit(&dev);
	if (t)
		t->ops->close(t);
	if (sfd >= 0)
		close(sfd);
	vgpuback_log_uninit();
	return rc;
}

/* --mark-closed: the supervisor's job, in the foreground, then exit. */
static int mark_closed_main(const struct vgpuback_config *cfg,
			    const char *reason)
{
	struct vgpuback_transport *t;
	const char *why = NULL;
	int err;

	err = vgpuback_log_init(cfg->domid, cfg->devid, cfg->log_level,
				cfg->log_file[0] ? cfg->log_file : NULL, 0);
	if (err) {
		fprintf(stderr, "vgpu-backend: cannot open log file %s: %s\n",
			cfg->log_file, strerror(-err));
		return 2;
	}
	t = vgpuback_transport_open(cfg->transport,
				    cfg->loopback_dir[0] ? cfg->loopback_dir : NULL,
				    &why);
	if (!t) {
		vb_err("--mark-closed: cannot open the %s transport: %s",
		       cfg->transport, why ? why : strerror(errno));
		vgpuback_log_uninit();
		return 1;
	}
	err = vgpuback_mark_closed(t, cfg->domid, cfg->devid, reason);
	t->ops->close(t);
	vgpuback_log_uninit();
	return err ? 1 : 0;
}
