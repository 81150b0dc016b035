/*
 * Compiled with -m32: every _Static_assert in vgpuif.h must hold for a 32-bit
 * guest too, where uint64_t is 4-byte aligned inside structs. A layout that
 * differs fails the build. The asserts below repeat the key ones so this file
 * says what it checks.
 */
#include "vgpuif.h"

_Static_assert(sizeof(void *) == 4, "this file must be built with -m32");
_Static_assert(sizeof(struct vgpuif_request) == 128, "32-bit request size");
_Static_assert(sizeof(struct vgpuif_response) == 40, "32-bit response size");
_Static_assert(sizeof(struct vgpuif_info) == 208, "32-bit info size");
_Static_assert(sizeof(struct vgpuif_sring) == 64 + 128, "32-bit sring");
_Static_assert(VGPUIF_RING_SIZE(0) == 16, "32-bit ring entries per page");

int vgpuif_layout_m32_marker;
