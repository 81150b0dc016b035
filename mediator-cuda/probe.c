/* SPDX-License-Identifier: MIT */
/*
 * vgpu-exec-probe - open an executor the way vgpu-backend does and print
 * what it found: which executor "auto" picks on this machine and why, the
 * device, its memory and the copy mode.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "executor.h"

static void usage(FILE *f)
{
	fputs(
"Usage: vgpu-exec-probe [OPTION]...\n"
"Open a vgpu-xen executor as vgpu-backend would, print what it found, close.\n"
"\n"
"  -e, --executor NAME  auto (default), cuda or cpu. auto picks cuda when a\n"
"                       usable NVIDIA GPU and driver are present, else cpu,\n"
"                       and says why.\n"
"  -d, --device N       GPU ordinal for cuda (default 0)\n"
"  -v, --verbose        print the executor's log lines (info and debug)\n"
"  -h, --help           this text\n"
"\n"
"Output: one 'key: value' line each for executor, why, name, memory, free,\n"
"compute capability, SMs and copy mode.\n"
"\n"
"Exit status: 0 when the executor opened; 1 when it did not (the reason is\n"
"printed on stderr); 2 on a usage error.\n", f);
}

static void log_line(void *arg, int level, const char *msg)
{
	int verbose = *(int *)arg;

	if (level <= 1 || verbose)
		fprintf(stderr, "%s\n", msg);
}

static const char *copy_mode_name(int m)
{
	switch (m) {
	case VGPUIF_COPY_STAGED:    return "staged (pinned bounce buffers)";
	case VGPUIF_COPY_ZERO_COPY: return "zero-copy (registered guest pages)";
	case VGPUIF_COPY_HOST:      return "host (memcpy)";
	default:                    return "?";
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "executor", required_argument, NULL, 'e' },
		{ "device",   required_argument, NULL, 'd' },
		{ "verbose",  no_argument,       NULL, 'v' },
		{ "help",     no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct vgpu_exec_config cfg = { .name = "auto" };
	struct vgpu_exec_info info;
	struct vgpu_exec *ex;
	const char *why = NULL;
	int verbose = 0, c, rc;
	char *end;

	while ((c = getopt_long(argc, argv, "e:d:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'e':
			cfg.name = optarg;
			break;
		case 'd':
			errno = 0;
			cfg.device = (int)strtol(optarg, &end, 10);
			if (errno || *end || cfg.device < 0) {
				fprintf(stderr, "vgpu-exec-probe: bad device '%s'\n", optarg);
				return 2;
			}
			break;
		case 'v':
			verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	cfg.log = log_line;
	cfg.log_arg = &verbose;
	rc = vgpu_exec_open(&ex, &cfg, &why);
	if (rc < 0) {
		fprintf(stderr, "vgpu-exec-probe: cannot open the %s executor: %s (%s)\n",
			cfg.name, why ? why : "unknown reason", strerror(-rc));
		return 1;
	}
	vgpu_exec_get_info(ex, &info);
	printf("executor: %s\n", vgpu_exec_name(ex));
	printf("why: %s\n", vgpu_exec_why(ex));
	printf("name: %s\n", info.name);
	printf("memory: %llu\n", (unsigned long long)info.total_mem);
	printf("free: %llu\n", (unsigned long long)info.free_mem);
	printf("compute capability: %u.%u\n", info.cc_major, info.cc_minor);
	printf("SMs: %u\n", info.sm_count);
	printf("copy mode: %s\n", copy_mode_name(info.copy_mode));
	vgpu_exec_close(ex);
	return 0;
}
