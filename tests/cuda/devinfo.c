/* SPDX-License-Identifier: MIT */
/*
 * devinfo.c - prints the device snapshot dom0 gives (DEVICE_INFO, through
 * libvgpu, not the guest libcuda), one fact a line, so that the driver-API
 * tests can compare what libcuda answers with what dom0 said:
 *   name <text> | total_mem <n> | driver <n> | quota <n> | attr <i> <v> |
 *   priorities <least> <greatest>
 * usage: lcu-devinfo [DEVICE]  ($VGPU_DEVICE by default)
 */
#include <stdio.h>

#include "vgpu.h"

int main(int argc, char **argv)
{
	struct vgpu_device_info d;
	struct vgpu_info vi;
	vgpu_t *v;
	unsigned int i;
	int rc;

	rc = vgpu_open(argc > 1 ? argv[1] : NULL, &v);
	if (rc) {
		fprintf(stderr, "lcu-devinfo: %s\n", vgpu_open_error());
		return 1;
	}
	rc = vgpu_query(v, &vi);
	if (rc == 0)
		rc = vgpu_device_info(v, &d);
	if (rc) {
		fprintf(stderr, "lcu-devinfo: %s\n", vgpu_strerror(rc));
		vgpu_close(v);
		return 1;
	}
	printf("name %s\ntotal_mem %llu\ndriver %u\nquota %llu\n", d.name,
	       (unsigned long long)d.total_mem, d.driver_version,
	       (unsigned long long)vi.mem_quota);
	printf("priorities %d %d\n", d.stream_priority_least, d.stream_priority_greatest);
	for (i = 1; i < VGPU_MAX_DEVICE_ATTRS; i++)
		if (d.attr_valid[i / 32] & (1u << (i % 32)))
			printf("attr %u %d\n", i, d.attr[i]);
	vgpu_close(v);
	return 0;
}
