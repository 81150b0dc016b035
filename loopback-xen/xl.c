/* SPDX-License-Identifier: MIT */
/*
 * vgpu-loopback-xl - the toolstack of a loopback world, as xl is Xen's:
 * create the world and guest domains, attach and detach vgpu devices,
 * look at the store. Guest programs then reach the device through
 * libvgpu with VGPU_DEVICE=loopback:DIR?domid=N.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/vfs.h>

#include "loopback.h"

static const char usage[] =
"Usage: vgpu-loopback-xl [OPTIONS] COMMAND [ARGS]\n"
"\n"
"The toolstack of a loopback world: a directory in which shared memory,\n"
"sockets and a small XenStore stand in for Xen, so that vgpu-backend\n"
"--transport loopback can serve guests on a machine without a hypervisor.\n"
"It does what xl and libxl do on Xen: domains, devices, the store. The\n"
"guest side is any libvgpu program (vgpu, gpu_test, a CUDA program on the\n"
"guest libcuda) run with VGPU_DEVICE=loopback:DIR?domid=N, or --device.\n"
"\n"
"Commands:\n"
"  world-create             create the world directory and its store\n"
"  domain-create N          create guest domain N (1..255); it lives until\n"
"                           domain-destroy (--mem MB sets its memory)\n"
"  domain-destroy N         destroy domain N (@releaseDomain fires; its\n"
"                           grants are revoked, its event channels closed)\n"
"  attach N                 attach vgpu device --devid to domain N, writing\n"
"                           the frontend and backend nodes as xl does\n"
"                           (--priority, --pool, --mem-quota)\n"
"  detach N                 remove the device's nodes (a forced detach)\n"
"  xs-read PATH             print a store value (as dom0)\n"
"  xs-ls PATH               list a store node's children (as dom0)\n"
"  xs-write PATH VALUE      write a store value (as dom0)\n"
"\n"
"Options:\n"
"  -w, --world DIR          the world directory (default: $VGPU_LOOPBACK_DIR,\n"
"                           else " LB_DEFAULT_DIR ")\n"
"  -D, --devid M            the vgpu device id (default 0)\n"
"      --mem MB             memory of a new domain (default 256)\n"
"      --priority P         high|medium|low (attach; default medium)\n"
"      --pool N             GPU pool id (attach; default 0)\n"
"      --mem-quota BYTES    GPU memory quota (attach; default 0 = none)\n"
"  -h, --help               this text\n"
"\n"
"Exit status: 0 success, 1 the command failed (the reason is printed),\n"
"2 usage error.\n"
"\n"
"Example (what `make demo` does):\n"
"  vgpu-loopback-xl -w /dev/shm/w world-create\n"
"  vgpu-loopback-xl -w /dev/shm/w domain-create 1\n"
"  vgpu-loopback-xl -w /dev/shm/w attach 1 --priority high\n"
"  vgpu-backend --domid 1 --transport loopback --loopback-dir /dev/shm/w &\n"
"  VGPU_DEVICE='loopback:/dev/shm/w?domid=1' gpu_test vector_add\n"
"  vgpu-loopback-xl -w /dev/shm/w xs-ls /local/domain/0/backend/vgpu/1/0\n";

struct cfg {
	const char *world;
	uint32_t devid;
	uint64_t mem_mb;
	const char *priority;
	uint32_t pool;
	uint64_t quota;
};

static const char *world_name(const struct cfg *c)
{
	return c->world ? c->world : lb_default_dir();
}

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

/* Store access as dom0, for looking around a world. */
static int cmd_xs(const struct cfg *c, const char *cmd, int argc, char **argv)
{
	bool write = !strcmp(cmd, "xs-write");
	struct lb_world *w;
	struct lb_xs *xs;
	unsigned int n;
	char *v, **d;
	int r = 0;

	if (argc != (write ? 2 : 1)) {
		fprintf(stderr, "vgpu-loopback-xl: %s needs %s. Try "
			"'vgpu-loopback-xl --help'.\n", cmd,
			write ? "PATH VALUE" : "PATH");
		return 2;
	}
	w = lb_world_open(c->world, false);
	xs = w ? lb_xs_open(w, 0) : NULL;
	if (!xs) {
		fprintf(stderr, "vgpu-loopback-xl: no loopback world at %s: %s\n",
			world_name(c), strerror(errno));
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
		fprintf(stderr, "vgpu-loopback-xl: %s %s: %s\n", cmd, argv[0],
			strerror(-r));
	lb_xs_close(xs);
	lb_world_close(w);
	return r ? 1 : 0;
}

/* world-create, domain-*, attach, detach. */
static int cmd_toolstack(const struct cfg *c, const char *cmd, int argc, char **argv)
{
	bool create = !strcmp(cmd, "world-create");
	struct lb_world *w;
	uint64_t dom = 0;
	int r = 0;

	if (argc != (create ? 0 : 1) ||
	    (!create && (parse_u64(argv[0], LB_MAX_DOMID, &dom) || dom == 0))) {
		if (create)
			fprintf(stderr, "vgpu-loopback-xl: world-create takes no "
				"argument\n");
		else
			fprintf(stderr, "vgpu-loopback-xl: %s needs one guest "
				"domain id, 1..%u\n", cmd, LB_MAX_DOMID);
		return 2;
	}
	w = lb_world_open(c->world, create);
	if (!w) {
		fprintf(stderr, "vgpu-loopback-xl: %s loopback world at %s: %s\n",
			create ? "cannot create the" : "no", world_name(c),
			strerror(errno));
		return 1;
	}
	if (!strcmp(cmd, "domain-create"))
		r = lb_domain_create_ex(w, (uint32_t)dom, LB_DOMAIN_PERSISTENT,
					c->mem_mb << 20);
	else if (!strcmp(cmd, "domain-destroy"))
		r = lb_domain_destroy(w, (uint32_t)dom);
	else if (!strcmp(cmd, "attach"))
		r = lb_attach_device(w, (uint32_t)dom, c->devid, c->priority,
				     c->pool, c->quota);
	else if (!strcmp(cmd, "detach"))
		r = lb_detach_device(w, (uint32_t)dom, c->devid);
	if (r == -ESRCH)
		fprintf(stderr, "vgpu-loopback-xl: %s %" PRIu64 ": no domain %" PRIu64
			" in %s\n", cmd, dom, dom, lb_world_dir(w));
	else if (r == -EEXIST)
		fprintf(stderr, "vgpu-loopback-xl: %s %" PRIu64 ": domain %" PRIu64
			" exists already\n", cmd, dom, dom);
	else if (r)
		fprintf(stderr, "vgpu-loopback-xl: %s %" PRIu64 ": %s\n", cmd, dom,
			strerror(-r));
	if (!r && create) {
		struct statfs sf;

		if (statfs(lb_world_dir(w), &sf) == 0 && sf.f_type != TMPFS_MAGIC)
			fprintf(stderr, "vgpu-loopback-xl: note: %s is not on "
				"tmpfs; guest memory there is slow (every "
				"written page is tracked for writeback). "
				"/dev/shm is better.\n", lb_world_dir(w));
	}
	lb_world_close(w);
	return r ? 1 : 0;
}

int main(int argc, char **argv)
{
	enum { O_MEM = 256, O_PRIO, O_POOL, O_QUOTA };
	static const struct option opts[] = {
		{ "world", required_argument, NULL, 'w' },
		{ "devid", required_argument, NULL, 'D' },
		{ "mem", required_argument, NULL, O_MEM },
		{ "priority", required_argument, NULL, O_PRIO },
		{ "pool", required_argument, NULL, O_POOL },
		{ "mem-quota", required_argument, NULL, O_QUOTA },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct cfg c = { .mem_mb = 256 };
	const char *cmd;
	uint64_t v;
	int opt;

	while ((opt = getopt_long(argc, argv, "w:D:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'w':
			c.world = optarg;
			break;
		case 'D':
			if (parse_u64(optarg, UINT32_MAX, &v))
				goto bad;
			c.devid = (uint32_t)v;
			break;
		case O_MEM:
			if (parse_u64(optarg, LB_MAX_MEM >> 20, &v) || v == 0)
				goto bad;
			c.mem_mb = v;
			break;
		case O_PRIO:
			if (strcmp(optarg, "high") && strcmp(optarg, "medium") &&
			    strcmp(optarg, "low"))
				goto bad;
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
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs("Try 'vgpu-loopback-xl --help'.\n", stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		fputs("vgpu-loopback-xl: no command given. Try 'vgpu-loopback-xl "
		      "--help'.\n", stderr);
		return 2;
	}
	cmd = argv[optind++];
	if (!strcmp(cmd, "xs-read") || !strcmp(cmd, "xs-ls") ||
	    !strcmp(cmd, "xs-write"))
		return cmd_xs(&c, cmd, argc - optind, argv + optind);
	if (!strcmp(cmd, "world-create") || !strcmp(cmd, "domain-create") ||
	    !strcmp(cmd, "domain-destroy") || !strcmp(cmd, "attach") ||
	    !strcmp(cmd, "detach"))
		return cmd_toolstack(&c, cmd, argc - optind, argv + optind);
	fprintf(stderr, "vgpu-loopback-xl: unknown command '%s'. Try "
		"'vgpu-loopback-xl --help'.\n", cmd);
	return 2;

bad:
	fprintf(stderr, "vgpu-loopback-xl: bad value '%s' for an option. Try "
		"'vgpu-loopback-xl --help'.\n", optarg);
	return 2;
}
