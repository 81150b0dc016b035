/*
 * Compiled with -m32: the ioctl structs of uapi/vgpu_stub.h must be laid out
 * as in a 64-bit program (the header's own asserts check the sizes), so that
 * compat_ptr_ioctl passes them unchanged.
 */
#include "uapi/vgpu_stub.h"

_Static_assert(sizeof(void *) == 4, "this file must be built with -m32");
_Static_assert(sizeof(struct vgpu_stub_query) == 208, "32-bit query size");
_Static_assert(sizeof(struct vgpu_stub_launch) == 48, "32-bit launch size");
_Static_assert(VGPU_STUB_IOC_LAUNCH == _IOW('V', 0x0c, struct vgpu_stub_launch), "same number");
_Static_assert(sizeof(struct vgpu_stub_call) == 200, "32-bit call size");
_Static_assert(__builtin_offsetof(struct vgpu_stub_call, regions) == 64, "32-bit call.regions");
_Static_assert(__builtin_offsetof(struct vgpu_stub_call, result) == 160, "32-bit call.result");
_Static_assert(sizeof(struct vgpu_stub_region) == 24, "32-bit region size");
_Static_assert(VGPU_STUB_IOC_CALL == _IOWR('V', 0x0e, struct vgpu_stub_call), "same number");

int vgpu_uapi_layout_m32_marker;
