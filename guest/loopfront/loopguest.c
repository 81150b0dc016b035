/* SPDX-License-Identifier: MIT */
/*
 * vgpu-loopguest - act as a guest (or as the toolstack) in a loopback
 * world: create the world and domains, attach devices, and run the
 * original prototype's test plan against a real vgpu-backend through the
 * userspace frontend (loopfront).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/magic.h>
#include <sys/vfs.h>

#include "loopback.h"
#include "loopfront.h"

static const char usage[] =
"Usage: vgpu-loopguest [OPTIONS] COMMAND [ARGS]\n"
"\n"
"Act as a Xen guest (or as the toolstack) in a loopback world: a directory\n"
"in which shared memory, sockets and a small XenStore stand in for Xen, so\n"
"that vgpu-backend --transport loopback can serve guests on a machine\n"
"without a hypervisor. Guest commands speak the vgpuif protocol exactly as\n"
"the guest kernel module vgpu-front.ko does.\n"
"\n"
"Toolstack commands:\n"
"  world-create             create the world directory and its store\n"
"  domain-create N          create guest domain N (1..255); it lives until\n"
"                           domain-destroy (--mem MB sets its memory)\n"
"  domain-destroy N         destroy domain N (@releaseDomain fires)\n"
"  attach N                 attach vgpu device --devid to domain N, writing\n"
"                           the frontend and backend nodes as xl does\n"
"                           (--priority, --pool, --mem-quota)\n"
"  detach N                 remove the device's nodes (forced detach)\n"
"  xs-read PATH             print a store value (as dom0)\n"
"  xs-ls PATH               list a store node's children (as dom0)\n"
"  xs-write PATH VALUE      write a store value (as dom0)\n"
"\n"
"Guest commands (need --domid; the backend must be running):\n"
"  test-plan                the original prototype's test plan: NOP;\n"
"                           GET_INFO; VECTOR_ADD of 1024 elements checked\n"
"                           on the CPU; --repeat more vector adds; an\n"
"                           unknown opcode, which must be refused. Exit\n"
"                           status 0 only when every step passed.\n"
"  info                     connect and print what GET_INFO reports\n"
"  nop-bench                time --count NOP round trips (p50, p99)\n"
"\n"
"Options:\n"
"  -w, --world DIR          the world directory (default: $VGPU_LOOPBACK_DIR,\n"
"                           else " LB_DEFAULT_DIR ")\n"
"  -d, --domid N            the guest domain to act as\n"
"  -D, --devid M            the vgpu device id (default 0)\n"
"  -o, --ring-order K       wanted log2 of ring pages (default 2; the\n"
"                           backend's max-ring-page-order caps it)\n"
"      --no-persistent      grant and revoke data pages per request\n"
"  -t, --timeout MS         handshake and response timeout (default 60000)\n"
"      --spin-us US         poll the ring this long before sleeping on the\n"
"                           event channel (default 0 = never; lower latency,\n"
"                           burns a CPU)\n"
"  -r, --repeat N           vector adds in the repeat step (default 10)\n"
"  -n, --count N            round trips for nop-bench (default 10000)\n"
"      --mem MB             memory of a new domain (default 256)\n"
"      --priority P         high|medium|low (attach; default medium)\n"
"      --pool N             GPU pool id (attach; default 0)\n"
"      --mem-quota BYTES    GPU memory quota (attach; default 0 = none)\n"
"  -h, --help               this text\n"
"\n"
"Exit status: 0 success, 1 a test or command failed, 2 usage error.\n"
"\n"
"Example (what `make demo` does):\n"
"  vgpu-loopguest -w /dev/shm/w world-create\n"
"  vgpu-loopguest -w /dev/shm/w domain-create 1\n"
"  vgpu-loopguest -w /dev/shm/w attach 1\n"
"  vgpu-backend --domid 1 --transport loopback --loopback-dir /dev/shm/w &\n"
"  vgpu-loopguest -w /dev/shm/w --domid 1 test-plan\n";

struct cfg {
	struct loopfront_opts fo;
	unsigned int repeat;
	unsigned long count;
	uint64_t mem_mb;
	const char *priority;
	uint32_t pool;
	uint64_t quota;
	bool have_domid;
};

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

static double us_since(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a->tv_sec) * 1e6 +
	       (double)(b.tv_nsec - a->tv_nsec) / 1e3;
}

static struct loopfront *connect_dev(struct cfg *c)
{
	char why[300];
	struct loopfront *lf;

	lf = loopfront_open(&c->fo, why, sizeof(why));
	if (!lf)
		fprintf(stderr, "vgpu-loopguest: domain %u: %s\n", c->fo.domid,
			why);
	return lf;
}

static const char *executor_name(uint32_t e)
{
	return e == VGPUIF_EXECUTOR_CUDA ? "cuda" :
	       e == VGPUIF_EXECUTOR_CPU ? "cpu" : "unknown";
}

/* One vector add of n elements with data seeded by seed; errors found. */
static int vector_add_once(struct loopfront *lf, uint32_t ctx,
			   struct loopfront_buf *b, uint32_t n, unsigned seed,
			   unsigned int *errors)
{
	float *a = loopfront_buf_ptr(b), *bb = a + n, *cc = a + 2 * n;
	int r;

	for (uint32_t i = 0; i < n; i++) {
		a[i] = (float)((i + seed) % 1000) * 0.5f;
		bb[i] = (float)(i % 97) * 2.0f + (float)seed;
		cc[i] = -1.0f;
	}
	r = loopfront_vector_add(lf, ctx, n, b, 0);
	if (r)
		return r;
	*errors = 0;
	for (uint32_t i = 0; i < n; i++)
		if (cc[i] != a[i] + bb[i])
			(*errors)++;
	return 0;
}

static int cmd_test_plan(struct cfg *c)
{
	const uint32_t n = 1024;
	struct vgpuif_response rsp;
	struct vgpuif_info info;
	struct loopfront_buf *b;
	struct loopfront *lf;
	struct timespec t0;
	unsigned int errors = 0, passed = 0;
	uint32_t ctx = 0;
	char *ex;
	int r, fails = 0;
	double us;

	lf = connect_dev(c);
	if (!lf)
		return 1;
	printf("connected to %s: ring of %u page(s) (%u slots), %u indirect "
	       "segments, persistent grants %s\n", loopfront_backend_path(lf),
	       1u << loopfront_ring_order(lf), loopfront_ring_size(lf),
	       loopfront_max_indirect(lf),
	       loopfront_persistent(lf) ? "on" : "off");

	/* 1. NOP */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = loopfront_nop(lf);
	us = us_since(&t0);
	if (r) {
		printf("NOP: FAILED: %s\n", loopfront_error(lf));
		fails++;
	} else {
		printf("NOP: ok (round trip %.0f us)\n", us);
	}

	/* 2. GET_INFO: which executor serves us */
	r = loopfront_get_info(lf, &info);
	ex = loopfront_backend_read(lf, VGPUIF_XS_EXECUTOR);
	if (r) {
		printf("GET_INFO: FAILED: %s\n", loopfront_error(lf));
		fails++;
	} else {
		info.gpu_name[sizeof(info.gpu_name) - 1] = '\0';
		printf("GET_INFO: executor %s (XenStore says %s), device \"%s\", "
		       "%" PRIu64 " MiB, priority %u, seen as domain %u\n",
		       executor_name(info.executor), ex ? ex : "nothing",
		       info.gpu_name, info.total_mem >> 20, info.priority,
		       info.domid);
		if (info.domid != c->fo.domid) {
			printf("GET_INFO: FAILED: backend thinks we are domain "
			       "%u\n", info.domid);
			fails++;
		}
	}
	free(ex);

	r = loopfront_ctx_create(lf, &ctx);
	if (r) {
		printf("CTX_CREATE: FAILED: %s\n", loopfront_error(lf));
		loopfront_close(lf);
		return 1;
	}
	b = loopfront_buf_alloc(lf, 3 * n * sizeof(float));
	if (!b) {
		printf("cannot allocate guest memory: %s\n", strerror(errno));
		loopfront_close(lf);
		return 1;
	}

	/* 3. the prototype's vector add */
	r = vector_add_once(lf, ctx, b, n, 0, &errors);
	if (r) {
		printf("Vector add FAILED: %s\n", loopfront_error(lf));
		fails++;
	} else {
		printf("Vector add %s: %u elements, %u errors\n",
		       errors ? "FAILED" : "passed", n, errors);
		fails += errors != 0;
	}

	/* 4. repeats */
	for (unsigned int i = 0; i < c->repeat; i++) {
		r = vector_add_once(lf, ctx, b, n, i + 1, &errors);
		if (r == 0 && errors == 0)
			passed++;
		else if (r)
			printf("repeat %u: %s\n", i + 1, loopfront_error(lf));
		else
			printf("repeat %u: %u wrong elements\n", i + 1, errors);
	}
	printf("Repeated vector add %u times: %u passed\n", c->repeat, passed);
	fails += passed != c->repeat;

	/* 5. an invalid command must be refused, clearly */
	r = loopfront_call(lf, 0xEE, ctx, NULL, NULL, 0, &rsp);
	if (r) {
		printf("invalid command: FAILED: no answer: %s\n",
		       loopfront_error(lf));
		fails++;
	} else if (rsp.status == 0) {
		printf("invalid command: FAILED: the backend accepted opcode "
		       "0xEE\n");
		fails++;
	} else {
		printf("Error: Invalid command (opcode 0xEE): %s (status %d)\n",
		       vgpuif_status_str(rsp.status), rsp.status);
	}
	/* The ring is still healthy after it. */
	r = loopfront_nop(lf);
	if (r) {
		printf("NOP after the invalid command: FAILED: %s\n",
		       loopfront_error(lf));
		fails++;
	}

	r = loopfront_ctx_destroy(lf, ctx);
	if (r) {
		printf("CTX_DESTROY: FAILED: %s\n", loopfront_error(lf));
		fails++;
	}
	r = loopfront_close(lf);
	if (r) {
		printf("close: FAILED: the backend did not close in time\n");
		fails++;
	}
	printf("%s: %d step(s) failed\n", fails ? "FAIL" : "PASS", fails);
	return fails ? 1 : 0;
}

static int cmd_info(struct cfg *c)
{
	struct vgpuif_info info;
	struct loopfront *lf = connect_dev(c);
	int r;

	if (!lf)
		return 1;
	r = loopfront_get_info(lf, &info);
	if (r) {
		fprintf(stderr, "vgpu-loopguest: GET_INFO: %s\n",
			loopfront_error(lf));
		loopfront_close(lf);
		return 1;
	}
	info.gpu_name[sizeof(info.gpu_name) - 1] = '\0';
	printf("protocol-version %u\nexecutor %s\ngpu-name %s\n"
	       "total-mem %" PRIu64 "\nfree-mem %" PRIu64 "\nmem-quota %" PRIu64
	       "\nmem-used %" PRIu64 "\ncompute-capability %u.%u\n"
	       "sm-count %u\ncopy-mode %u\nmax-segments %u\npriority %u\n"
	       "pool %u\ndomid %u\nring-order %u\n",
	       info.protocol_version, executor_name(info.executor),
	       info.gpu_name, info.total_mem, info.free_mem, info.mem_quota,
	       info.mem_used, info.cc_major, info.cc_minor, info.sm_count,
	       info.copy_mode, info.max_segments, info.priority, info.pool,
	       info.domid, loopfront_ring_order(lf));
	return loopfront_close(lf) ? 1 : 0;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int cmd_nop_bench(struct cfg *c)
{
	struct loopfront *lf = connect_dev(c);
	struct timespec t0;
	double *lat;
	int r = 0;

	if (!lf)
		return 1;
	lat = calloc(c->count, sizeof(*lat));
	if (!lat) {
		loopfront_close(lf);
		return 1;
	}
	for (unsigned long i = 0; i < c->count && !r; i++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		r = loopfront_nop(lf);
		lat[i] = us_since(&t0);
	}
	if (r) {
		fprintf(stderr, "vgpu-loopguest: NOP: %s\n", loopfront_error(lf));
	} else {
		qsort(lat, c->count, sizeof(*lat), cmp_d);
		printf("NOP round trip over %lu calls: p50 %.1f us, p99 %.1f us, "
		       "max %.1f us\n", c->count, lat[c->count / 2],
		       lat[c->count * 99 / 100], lat[c->count - 1]);
	}
	free(lat);
	loopfront_close(lf);
	return r ? 1 : 0;
}

/* Store access as dom0, for looking around a world. */
static int cmd_xs(struct cfg *c, const char *cmd, int argc, char **argv)
{
	struct lb_world *w;
	struct lb_xs *xs;
	unsigned int n;
	char *v, **d;
	int r = 0;

	if (argc != (strcmp(cmd, "xs-write") ? 1 : 2)) {
		fprintf(stderr, "vgpu-loopguest: %s needs %s\n", cmd,
			strcmp(cmd, "xs-write") ? "PATH" : "PATH VALUE");
		return 2;
	}
	w = lb_world_open(c->fo.world_dir, false);
	xs = w ? lb_xs_open(w, 0) : NULL;
	if (!xs) {
		fprintf(stderr, "vgpu-loopguest: cannot open the loopback world "
			"%s: %s\n", c->fo.world_dir ? c->fo.world_dir :
			lb_default_dir(), strerror(errno));
		lb_world_close(w);
		return 1;
	}
	if (!strcmp(cmd, "xs-read")) {
		v = lb_xs_read(xs, LB_XBT_NULL, argv[0], NULL);
		if (v)
			printf("%s\n", v);
		else
			r = -errno;
		free(v);
	} else if (!strcmp(cmd, "xs-ls")) {
		d = lb_xs_directory(xs, LB_XBT_NULL, argv[0], &n);
		for (unsigned int i = 0; d && i < n; i++)
			printf("%s\n", d[i]);
		if (!d)
			r = -errno;
		free(d);
	} else {
		r = lb_xs_write(xs, LB_XBT_NULL, argv[0], argv[1]);
	}
	if (r)
		fprintf(stderr, "vgpu-loopguest: %s %s: %s\n", cmd, argv[0],
			strerror(-r));
	lb_xs_close(xs);
	lb_world_close(w);
	return r ? 1 : 0;
}

int main(int argc, char **argv)
{
	enum { O_NOPERS = 256, O_MEM, O_PRIO, O_POOL, O_QUOTA, O_SPIN };
	static const struct option opts[] = {
		{ "world", required_argument, NULL, 'w' },
		{ "domid", required_argument, NULL, 'd' },
		{ "devid", required_argument, NULL, 'D' },
		{ "ring-order", required_argument, NULL, 'o' },
		{ "no-persistent", no_argument, NULL, O_NOPERS },
		{ "timeout", required_argument, NULL, 't' },
		{ "repeat", required_argument, NULL, 'r' },
		{ "count", required_argument, NULL, 'n' },
		{ "mem", required_argument, NULL, O_MEM },
		{ "priority", required_argument, NULL, O_PRIO },
		{ "pool", required_argument, NULL, O_POOL },
		{ "mem-quota", required_argument, NULL, O_QUOTA },
		{ "spin-us", required_argument, NULL, O_SPIN },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct cfg c = { .repeat = 10, .count = 10000, .mem_mb = 256 };
	const char *cmd;
	struct lb_world *w;
	uint64_t v, dom = 0;
	int opt, r;

	loopfront_opts_init(&c.fo);
	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt_long(argc, argv, "w:d:D:o:t:r:n:h", opts,
				  NULL)) != -1) {
		switch (opt) {
		case 'w':
			c.fo.world_dir = optarg;
			break;
		case 'd':
			if (parse_u64(optarg, LB_MAX_DOMID, &v) || v == 0)
				goto bad;
			c.fo.domid = (uint32_t)v;
			c.have_domid = true;
			break;
		case 'D':
			if (parse_u64(optarg, UINT32_MAX, &v))
				goto bad;
			c.fo.devid = (uint32_t)v;
			break;
		case 'o':
			if (parse_u64(optarg, VGPUIF_MAX_RING_PAGE_ORDER, &v))
				goto bad;
			c.fo.ring_order = (int)v;
			break;
		case O_NOPERS:
			c.fo.persistent = 0;
			break;
		case 't':
			if (parse_u64(optarg, INT32_MAX, &v) || v == 0)
				goto bad;
			c.fo.timeout_ms = (int)v;
			break;
		case 'r':
			if (parse_u64(optarg, 1000000, &v))
				goto bad;
			c.repeat = (unsigned int)v;
			break;
		case 'n':
			if (parse_u64(optarg, 100000000, &v) || v == 0)
				goto bad;
			c.count = (unsigned long)v;
			break;
		case O_MEM:
			if (parse_u64(optarg, LB_MAX_MEM >> 20, &v) || v == 0)
				goto bad;
			c.mem_mb = v;
			break;
		case O_PRIO:
			c.priority = optarg;
			break;
		case O_POOL:
			if (parse_u64(optarg, UINT32_MAX, &v))
				goto bad;
			c.pool = (uint32_t)v;
			break;
		case O_QUOTA:
			if (parse_u64(optarg, UINT64_MAX, &v))
				goto bad;
			c.quota = v;
			break;
		case O_SPIN:
			if (parse_u64(optarg, 1000000, &v))
				goto bad;
			c.fo.spin_us = (unsigned int)v;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs("Try 'vgpu-loopguest --help'.\n", stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		fputs("vgpu-loopguest: no command given. Try 'vgpu-loopguest "
		      "--help'.\n", stderr);
		return 2;
	}
	cmd = argv[optind++];

	if (!strcmp(cmd, "test-plan") || !strcmp(cmd, "info") ||
	    !strcmp(cmd, "nop-bench")) {
		if (!c.have_domid) {
			fprintf(stderr, "vgpu-loopguest: %s needs --domid N\n",
				cmd);
			return 2;
		}
		if (!strcmp(cmd, "test-plan"))
			return cmd_test_plan(&c);
		if (!strcmp(cmd, "info"))
			return cmd_info(&c);
		return cmd_nop_bench(&c);
	}
	if (!strcmp(cmd, "xs-read") || !strcmp(cmd, "xs-ls") ||
	    !strcmp(cmd, "xs-write"))
		return cmd_xs(&c, cmd, argc - optind, argv + optind);
	if (strcmp(cmd, "world-create") && strcmp(cmd, "domain-create") &&
	    strcmp(cmd, "domain-destroy") && strcmp(cmd, "attach") &&
	    strcmp(cmd, "detach")) {
		fprintf(stderr, "vgpu-loopguest: unknown command '%s'. Try "
			"'vgpu-loopguest --help'.\n", cmd);
		return 2;
	}
	if (strcmp(cmd, "world-create")) {
		if (optind >= argc || parse_u64(argv[optind], LB_MAX_DOMID, &dom) ||
		    dom == 0) {
			fprintf(stderr, "vgpu-loopguest: %s needs a guest "
				"domain id 1..%u\n", cmd, LB_MAX_DOMID);
			return 2;
		}
	}
	w = lb_world_open(c.fo.world_dir, !strcmp(cmd, "world-create"));
	if (!w) {
		fprintf(stderr, "vgpu-loopguest: cannot open the loopback world "
			"%s: %s\n", c.fo.world_dir ? c.fo.world_dir :
			lb_default_dir(), strerror(errno));
		return 1;
	}
	r = 0;
	if (!strcmp(cmd, "domain-create"))
		r = lb_domain_create_ex(w, (uint32_t)dom, LB_DOMAIN_PERSISTENT,
					c.mem_mb << 20);
	else if (!strcmp(cmd, "domain-destroy"))
		r = lb_domain_destroy(w, (uint32_t)dom);
	else if (!strcmp(cmd, "attach"))
		r = lb_attach_device(w, (uint32_t)dom, c.fo.devid, c.priority,
				     c.pool, c.quota);
	else if (!strcmp(cmd, "detach"))
		r = lb_detach_device(w, (uint32_t)dom, c.fo.devid);
	if (r)
		fprintf(stderr, "vgpu-loopguest: %s %" PRIu64 ": %s\n", cmd, dom,
			strerror(-r));
	if (!r && !strcmp(cmd, "world-create")) {
		struct statfs sf;

		if (statfs(lb_world_dir(w), &sf) == 0 &&
		    sf.f_type != TMPFS_MAGIC)
			fprintf(stderr, "vgpu-loopguest: note: %s is not on "
				"tmpfs; guest memory there is slow (every "
				"written page is tracked for writeback). "
				"/dev/shm is better.\n", lb_world_dir(w));
	}
	lb_world_close(w);
	return r ? 1 : 0;

bad:
	fprintf(stderr, "vgpu-loopguest: bad value '%s' for an option. Try "
		"'vgpu-loopguest --help'.\n", optarg);
	return 2;
}
