// SPDX-License-Identifier: MIT
/*
 * vgpu-list - every vgpu device attached on this host, with both ends'
 * xenbus states, its policy and its backend process.
 *
 * The frontend's directory belongs to the guest: everything read from it
 * (its state above all) is parsed strictly and printed sanitised.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "vgpuif.h"

#define PROG "vgpu-list"

static const char usage_text[] =
"Usage: vgpu-list [--json] [DOMID]\n"
"List the vgpu devices attached on this host (all domains, or DOMID's).\n"
"\n"
"For each device: the domain id and name, the device id, the backend's and\n"
"the frontend's xenbus state (1 Initialising, 2 InitWait, 3 Initialised,\n"
"4 Connected, 5 Closing, 6 Closed; 'absent' when the node is missing,\n"
"'invalid' when the guest wrote something else), priority, pool, mem-quota,\n"
"executor, GPU, and the backend process (pid from /run/vgpu-xen, or\n"
"'systemd' for a vgpu-backend@ unit; 'dead' when the pid file names a\n"
"process that is gone).\n"
"\n"
"Options:\n"
"  --json       one JSON object: {\"devices\": [{...}, ...]}; states as\n"
"               numbers (null when absent or invalid) and names\n"
"  -h, --help   this text\n"
"\n"
"Exit status: 0 listed (possibly nothing); 1 XenStore unreachable or\n"
"permission denied; 2 bad usage.\n"
"See also: vgpu-attach(8), vgpu-detach(8), vgpu-smi(1).\n";

struct dev_info {
	uint32_t domid, devid;
	char *name, *priority, *pool, *quota, *executor, *gpu;
	int be_state, fe_state;
	char proc[32];
};

static void dev_free(struct dev_info *d)
{
	free(d->name);
	free(d->priority);
	free(d->pool);
	free(d->quota);
	free(d->executor);
	free(d->gpu);
}

static void describe_process(struct dev_info *d)
{
	char path[128];
	pid_t pid;

	vgpu_envfile_path(path, sizeof(path), d->domid, d->devid);
	if (access(path, F_OK) == 0) {
		snprintf(d->proc, sizeof(d->proc), "systemd");
		return;
	}
	vgpu_pidfile_path(path, sizeof(path), d->domid, d->devid);
	pid = vgpu_pidfile_read(path);
	if (pid == -ENOENT)
		snprintf(d->proc, sizeof(d->proc), "-");
	else if (pid > 0 && vgpu_proc_is_backend(pid))
		snprintf(d->proc, sizeof(d->proc), "%d", (int)pid);
	else
		snprintf(d->proc, sizeof(d->proc), "dead");
}

static void collect(struct xs_handle *xs, uint32_t domid, uint32_t devid,
		    struct dev_info *d)
{
	char be[128], fe[128], p[192], *fe_path;

	memset(d, 0, sizeof(*d));
	d->domid = domid;
	d->devid = devid;
	vgpu_be_path(be, sizeof(be), domid, devid);
	d->name = vgpu_xs_readf(xs, XBT_NULL, "/local/domain/%u/name", domid);
	d->priority = vgpu_xs_readf(xs, XBT_NULL, "%s/%s", be, VGPUIF_XS_PRIORITY);
	d->pool = vgpu_xs_readf(xs, XBT_NULL, "%s/%s", be, VGPUIF_XS_POOL);
	d->quota = vgpu_xs_readf(xs, XBT_NULL, "%s/%s", be, VGPUIF_XS_MEM_QUOTA);
	d->executor = vgpu_xs_readf(xs, XBT_NULL, "%s/%s", be, VGPUIF_XS_EXECUTOR);
	d->gpu = vgpu_xs_readf(xs, XBT_NULL, "%s/%s", be, VGPUIF_XS_GPU_NAME);
	snprintf(p, sizeof(p), "%s/%s", be, VGPUIF_XS_STATE);
	d->be_state = vgpu_xs_read_state(xs, XBT_NULL, p);

	/* Only trust the backend's "frontend" link if it points where a
	 * vgpu frontend of this domain must live. */
	vgpu_fe_path(fe, sizeof(fe), domid, devid);
	fe_path = vgpu_xs_readf(xs, XBT_NULL, "%s/frontend", be);
	if (fe_path && strcmp(fe_path, fe) != 0)
		d->fe_state = -EINVAL;
	else {
		snprintf(p, sizeof(p), "%s/%s", fe, VGPUIF_XS_STATE);
		d->fe_state = vgpu_xs_read_state(xs, XBT_NULL, p);
	}
	free(fe_path);
	describe_process(d);
}

static void print_state_json(const char *key, int st)
{
	printf("\"%s\": ", key);
	if (st >= 0)
		printf("%d", st);
	else
		printf("null");
	printf(", \"%s_name\": \"%s\"", key, vgpu_xb_state_name(st));
}

static void print_json(const struct dev_info *d, bool first)
{
	printf("%s\n    {\"domid\": %u, \"name\": ", first ? "" : ",", d->domid);
	vgpu_json_str(stdout, d->name);
	printf(", \"devid\": %u, ", d->devid);
	print_state_json("backend_state", d->be_state);
	printf(", ");
	print_state_json("frontend_state", d->fe_state);
	printf(", \"priority\": ");
	vgpu_json_str(stdout, d->priority);
	printf(", \"pool\": ");
	vgpu_json_str(stdout, d->pool);
	printf(", \"mem_quota\": ");
	vgpu_json_str(stdout, d->quota);
	printf(", \"executor\": ");
	vgpu_json_str(stdout, d->executor);
	printf(", \"gpu\": ");
	vgpu_json_str(stdout, d->gpu);
	printf(", \"backend_process\": ");
	vgpu_json_str(stdout, d->proc);
	printf("}");
}

static void print_row(const struct dev_info *d)
{
	char name[20], prio[10], pool[12], quota[22], exe[8], gpu[40];
	char bs[20], fs[20];

	snprintf(bs, sizeof(bs), "%d %s", d->be_state < 0 ? 0 : d->be_state,
		 vgpu_xb_state_name(d->be_state));
	if (d->be_state < 0)
		snprintf(bs, sizeof(bs), "%s", vgpu_xb_state_name(d->be_state));
	snprintf(fs, sizeof(fs), "%d %s", d->fe_state < 0 ? 0 : d->fe_state,
		 vgpu_xb_state_name(d->fe_state));
	if (d->fe_state < 0)
		snprintf(fs, sizeof(fs), "%s", vgpu_xb_state_name(d->fe_state));
	printf("%-6u %-16s %-5u %-16s %-16s %-8s %-5s %-14s %-8s %-8s %s\n",
	       d->domid, vgpu_printable(d->name, name, sizeof(name) - 3),
	       d->devid, bs, fs, vgpu_printable(d->priority, prio, sizeof(prio)),
	       vgpu_printable(d->pool, pool, sizeof(pool)),
	       vgpu_printable(d->quota, quota, sizeof(quota)),
	       vgpu_printable(d->executor, exe, sizeof(exe)), d->proc,
	       vgpu_printable(d->gpu, gpu, sizeof(gpu)));
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool json = false, first = true, only = false;
	uint32_t only_domid = 0, domid, devid;
	char **doms, **devs, path[96];
	unsigned int nd = 0, nv, i, j, shown = 0;
	struct xs_handle *xs;
	int c;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			fprintf(stderr, "Try '" PROG " --help'.\n");
			return 2;
		}
	}
	if (optind < argc) {
		if (optind + 1 < argc ||
		    vgpu_parse_domid(argv[optind], &only_domid)) {
			fprintf(stderr, PROG ": '%s' is not a domain id\n"
				"Try '" PROG " --help'.\n", argv[optind]);
			return 2;
		}
		only = true;
	}

	xs = vgpu_xs_connect(PROG, 10);
	if (!xs)
		return 1;

	if (json)
		printf("{\"devices\": [");
	else
		printf("%-6s %-16s %-5s %-16s %-16s %-8s %-5s %-14s %-8s %-8s %s\n",
		       "DOMID", "NAME", "DEVID", "BACKEND", "FRONTEND", "PRIO",
		       "POOL", "MEM-QUOTA", "EXEC", "PROCESS", "GPU");
	errno = 0;
	doms = xs_directory(xs, XBT_NULL, "/local/domain/0/backend/vgpu", &nd);
	if (!doms && errno != ENOENT) {
		fprintf(stderr, PROG ": cannot read /local/domain/0/backend/vgpu: "
			"%s\n", vgpu_xs_strerror(errno ? errno : EIO));
		xs_close(xs);
		return 1;
	}
	for (i = 0; doms && i < nd; i++) {
		if (vgpu_parse_domid(doms[i], &domid))
			continue;
		if (only && domid != only_domid)
			continue;
		snprintf(path, sizeof(path), "/local/domain/0/backend/vgpu/%u",
			 domid);
		nv = 0;
		devs = xs_directory(xs, XBT_NULL, path, &nv);
		for (j = 0; devs && j < nv; j++) {
			struct dev_info d;

			if (vgpu_parse_u32(devs[j], VGPU_MAX_DEVID, &devid))
				continue;
			collect(xs, domid, devid, &d);
			if (json)
				print_json(&d, first);
			else
				print_row(&d);
			first = false;
			shown++;
			dev_free(&d);
		}
		free(devs);
	}
	free(doms);
	if (json)
		printf("%s]}\n", first ? "" : "\n");
	else if (!shown)
		printf("(no vgpu devices attached)\n");
	xs_close(xs);
	return 0;
}
