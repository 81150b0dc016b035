/* SPDX-License-Identifier: MIT */
/*
 * transport.c - open a transport by name. Which implementations exist is
 * decided at build time (backend/CMakeLists.txt defines
 * VGPUBACK_HAVE_TRANSPORT_XEN / _LOOPBACK when their sources are built in).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "transport.h"

struct vgpuback_transport *vgpuback_transport_open(const char *name,
						   const char *arg,
						   const char **why)
{
	const char *dummy;

	if (!why)
		why = &dummy;
	*why = NULL;
	if (!name || !strcmp(name, "xen")) {
#ifdef VGPUBACK_HAVE_TRANSPORT_XEN
		return vgpuback_transport_xen_open(why);
#else
		*why = "this vgpu-backend was built without the xen transport (libxen* headers missing at build time)";
		errno = ENOSYS;
		return NULL;
#endif
	}
	if (!strcmp(name, "loopback")) {
#ifdef VGPUBACK_HAVE_TRANSPORT_LOOPBACK
		return vgpuback_transport_loopback_open(arg, why);
#else
		(void)arg;
		*why = "this vgpu-backend was built without the loopback transport";
		errno = ENOSYS;
		return NULL;
#endif
	}
	*why = "unknown transport (want xen or loopback)";
	errno = EINVAL;
	return NULL;
}
