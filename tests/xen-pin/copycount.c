// SPDX-License-Identifier: MIT
/*
 * vgpu-xen-copies - a guest program for the grant-operation counts of the
 * gntdev-pin scenario: opens the default device (libvgpu: the kmod
 * transport, vgpu-front.ko, in a Xen guest), allocates device memory and
 * copies MiB mebibytes REPS times in one direction, from ordinary
 * (malloc) memory, then closes. The scenario reads the backend's counters
 * before and after; REPS 0 measures what opening and closing cost alone.
 *
 *   vgpu-xen-copies h2d|d2h MiB REPS
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vgpu.h"

int main(int argc, char **argv)
{
	unsigned int mib, reps, i;
	uint64_t mem;
	size_t len;
	vgpu_t *v;
	void *buf;
	int d2h;

	if (argc != 4 || (strcmp(argv[1], "h2d") && strcmp(argv[1], "d2h"))) {
		fprintf(stderr, "usage: vgpu-xen-copies h2d|d2h MiB REPS\n");
		return 2;
	}
	d2h = !strcmp(argv[1], "d2h");
	mib = (unsigned int)strtoul(argv[2], NULL, 10);
	reps = (unsigned int)strtoul(argv[3], NULL, 10);
	len = (size_t)mib << 20;
	buf = malloc(len ? len : 1);
	if (!buf)
		return 1;
	memset(buf, 0x33, len);
	if (vgpu_open(NULL, &v)) {
		fprintf(stderr, "vgpu-xen-copies: %s\n", vgpu_open_error());
		return 1;
	}
	if (vgpu_mem_alloc(v, len ? len : 4096, &mem, NULL)) {
		fprintf(stderr, "vgpu-xen-copies: mem_alloc: %s\n", vgpu_error(v));
		return 1;
	}
	for (i = 0; i < reps; i++) {
		int rc = d2h ? vgpu_memcpy_d2h(v, buf, mem, 0, len) :
			       vgpu_memcpy_h2d(v, mem, 0, buf, len);

		if (rc) {
			fprintf(stderr, "vgpu-xen-copies: copy %u: %s\n", i, vgpu_error(v));
			return 1;
		}
	}
	vgpu_mem_free(v, mem);
	vgpu_close(v);
	printf("%s %u MiB x %u done\n", argv[1], mib, reps);
	return 0;
}
