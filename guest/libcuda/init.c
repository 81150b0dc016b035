/* SPDX-License-Identifier: MIT */
/*
 * init.c - cuInit, cuDriverGetVersion and the device queries, all answered
 * from one snapshot of dom0's device taken at cuInit (DEVICE_INFO), plus
 * the mapping of libvgpu's errors to CUresults.
 *
 * The device: the vgpu device named by $VGPU_DEVICE (a libvgpu device
 * string: "/dev/vgpu_stub", "loopback:DIR?domid=N", ...), else
 * /dev/vgpu_stub. One device, ordinal 0, or none (cuInit answers
 * CUDA_ERROR_NO_DEVICE and logs why once).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest-attrs.h"
#include "internal.h"

struct lcu_device *lcu_dev;

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static CUresult init_result = CUDA_ERROR_NOT_INITIALIZED;
static _Atomic int init_done;     /* cuInit ran (init_result is final) */
static struct lcu_device the_dev;

/* What the library really does where dom0's device could do more (guest-attrs.h). */
static const struct { CUdevice_attribute a; int v; } guest_attrs[] = {
#define LCU_GA(a_, v_) { a_, v_ },
	LCU_GUEST_ATTRS(LCU_GA)
#undef LCU_GA
};

static void attr_set(struct vgpu_device_info *d, unsigned int a, int v)
{
	if (a >= VGPU_MAX_DEVICE_ATTRS)
		return;
	d->attr[a] = v;
	d->attr_valid[a / 32] |= 1u << (a % 32);
	if (d->nr_attrs <= a)
		d->nr_attrs = a + 1;
}

/* A revision-1 backend has no DEVICE_INFO: what GET_INFO says. */
static void info_from_query(struct lcu_device *d)
{
	memset(&d->info, 0, sizeof(d->info));
	d->info.version = 1;
	snprintf(d->info.name, sizeof(d->info.name), "%s", d->vinfo.gpu_name);
	d->info.total_mem = d->vinfo.total_mem;
	attr_set(&d->info, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, (int)d->vinfo.cc_major);
	attr_set(&d->info, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, (int)d->vinfo.cc_minor);
	attr_set(&d->info, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, (int)d->vinfo.sm_count);
	attr_set(&d->info, CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK, VGPU_MAX_BLOCK_THREADS);
	attr_set(&d->info, CU_DEVICE_ATTRIBUTE_WARP_SIZE, 32);
}

static void do_init(void)
{
	struct lcu_device *d = &the_dev;
	const char *dev = getenv("VGPU_DEVICE");
	size_t i;
	int rc;

	snprintf(d->device, sizeof(d->device), "%s", dev && *dev ? dev : VGPU_DEFAULT_DEVICE);
	rc = vgpu_open(d->device, &d->v);
	if (rc) {
		lcu_log("no device: cannot open %s: %s (%s)", d->device,
			vgpu_open_error()[0] ? vgpu_open_error() : vgpu_strerror(rc),
			"set VGPU_DEVICE to the vgpu device, e.g. loopback:DIR?domid=N");
		init_result = CUDA_ERROR_NO_DEVICE;
		return;
	}
	rc = vgpu_query(d->v, &d->vinfo);
	if (rc) {
		lcu_log("%s: GET_INFO failed: %s", d->device, vgpu_strerror(rc));
		goto out_close;
	}
	rc = vgpu_device_info(d->v, &d->info);
	if (rc == 0) {
		d->info_r2 = true;
	} else if (rc == -ENOSYS || rc == -EOPNOTSUPP) {
		lcu_log("%s: the backend serves protocol revision 1 only: "
			"device attributes from GET_INFO, no streams or events", d->device);
		info_from_query(d);
	} else {
		lcu_log("%s: DEVICE_INFO failed: %s", d->device, vgpu_strerror(rc));
		goto out_close;
	}
	d->info.name[sizeof(d->info.name) - 1] = '\0';
	for (i = 0; i < sizeof(guest_attrs) / sizeof(guest_attrs[0]); i++)
		attr_set(&d->info, (unsigned int)guest_attrs[i].a, guest_attrs[i].v);
	lcu_dev = d;
	init_result = CUDA_SUCCESS;
	return;

out_close:
	vgpu_close(d->v);
	d->v = NULL;
	init_result = CUDA_ERROR_NO_DEVICE;
}

CUresult lcu_init_check(void)
{
	return atomic_load(&init_done) ? init_result : CUDA_ERROR_NOT_INITIALIZED;
}

CUresult lcu_dev_check(CUdevice dev)
{
	CUresult r = lcu_init_check();

	if (r != CUDA_SUCCESS)
		return r;
	return dev == 0 ? CUDA_SUCCESS : CUDA_ERROR_INVALID_DEVICE;
}

int lcu_dev_attr(CUdevice_attribute a, int *value)
{
	unsigned int i = (unsigned int)a;

	if (!lcu_dev || i == 0 || i >= VGPU_MAX_DEVICE_ATTRS ||
	    !(lcu_dev->info.attr_valid[i / 32] & (1u << (i % 32))))
		return -1;
	*value = lcu_dev->info.attr[i];
	return 0;
}

CUresult lcu_err_of(int rc, enum lcu_op what)
{
	switch (rc) {
	case 0:
		return CUDA_SUCCESS;
	case -EINVAL:
	case -ERANGE:
	case -EFAULT:
	case -E2BIG:
		return CUDA_ERROR_INVALID_VALUE;
	case -ENOMEM:
	case -EDQUOT:
	case -EMFILE:
		return CUDA_ERROR_OUT_OF_MEMORY;
	case -ENOENT:
		return CUDA_ERROR_NOT_FOUND;
	case -EBADF:
		return CUDA_ERROR_INVALID_HANDLE;
	case -ENOEXEC:
		return what == LCU_OP_LOAD_PTX ? CUDA_ERROR_INVALID_PTX
					       : CUDA_ERROR_NO_BINARY_FOR_GPU;
	case -EBUSY:
		return CUDA_ERROR_NOT_READY;
	case -EREMOTEIO:
		return CUDA_ERROR_ILLEGAL_ADDRESS;
	case -ETIMEDOUT:
		return CUDA_ERROR_LAUNCH_TIMEOUT;
	case -ENOSYS:
	case -EOPNOTSUPP:
		/*
		 * A backend that serves PTX but not this binary (the cpu
		 * executor runs no SASS): a device without code for it.
		 */
		return what == LCU_OP_LOAD_BIN ? CUDA_ERROR_NO_BINARY_FOR_GPU
					       : CUDA_ERROR_NOT_SUPPORTED;
	case -EPERM:
		return CUDA_ERROR_NOT_PERMITTED;
	case -ENODEV:
	case -ESHUTDOWN:
	case -ENOTCONN:
	case -ECONNRESET:
	case -EPIPE:
		return CUDA_ERROR_DEVICE_UNAVAILABLE;
	default:
		return CUDA_ERROR_UNKNOWN;
	}
}

/* ------------------------------------------------------------- the API */

LCU_API CUresult CUDAAPI cuInit(unsigned int Flags)
{
	CUresult r;

	if (Flags != 0) {
		r = CUDA_ERROR_INVALID_VALUE;
	} else {
		pthread_once(&init_once, do_init);
		atomic_store(&init_done, 1);
		r = init_result;
	}
	return LCU_TRACE("cuInit", r, "(%u)", Flags);
}

LCU_API CUresult CUDAAPI cuDriverGetVersion(int *driverVersion)
{
	CUresult r = CUDA_SUCCESS;

	if (!driverVersion) {
		r = CUDA_ERROR_INVALID_VALUE;
	} else if (lcu_dev && lcu_dev->info.driver_version) {
		/* dom0's driver: what the GPU there can run. */
		*driverVersion = (int)lcu_dev->info.driver_version;
	} else {
		/* Before cuInit, or a cpu executor: the API this library serves. */
		*driverVersion = CUDA_VERSION;
	}
	return LCU_TRACE("cuDriverGetVersion", r, "(%p) -> %d", (void *)driverVersion,
			 r ? 0 : *driverVersion);
}

LCU_API CUresult CUDAAPI cuDeviceGet(CUdevice *device, int ordinal)
{
	CUresult r = lcu_init_check();

	if (r == CUDA_SUCCESS && !device)
		r = CUDA_ERROR_INVALID_VALUE;
	else if (r == CUDA_SUCCESS && ordinal != 0)
		r = CUDA_ERROR_INVALID_DEVICE;
	else if (r == CUDA_SUCCESS)
		*device = 0;
	return LCU_TRACE("cuDeviceGet", r, "(%p, %d)", (void *)device, ordinal);
}

LCU_API CUresult CUDAAPI cuDeviceGetCount(int *count)
{
	CUresult r = lcu_init_check();

	if (r == CUDA_SUCCESS && !count)
		r = CUDA_ERROR_INVALID_VALUE;
	else if (r == CUDA_SUCCESS)
		*count = 1;
	return LCU_TRACE("cuDeviceGetCount", r, "(%p) -> %d", (void *)count,
			 r ? 0 : *count);
}

LCU_API CUresult CUDAAPI cuDeviceGetName(char *name, int len, CUdevice dev)
{
	CUresult r = lcu_dev_check(dev);

	if (r == CUDA_SUCCESS && (!name || len <= 0))
		r = CUDA_ERROR_INVALID_VALUE;
	else if (r == CUDA_SUCCESS)
		snprintf(name, (size_t)len, "%s", lcu_dev->info.name);
	return LCU_TRACE("cuDeviceGetName", r, "(%p, %d, %d) -> \"%s\"", (void *)name, len,
			 dev, r ? "" : name);
}

static CUresult device_uuid(CUuuid *uuid, CUdevice dev)
{
	CUresult r = lcu_dev_check(dev);

	if (r == CUDA_SUCCESS && !uuid)
		r = CUDA_ERROR_INVALID_VALUE;
	else if (r == CUDA_SUCCESS)
		memcpy(uuid->bytes, lcu_dev->info.uuid, sizeof(uuid->bytes));
	return r;
}

LCU_API CUresult CUDAAPI cuDeviceGetUuid(CUuuid *uuid, CUdevice dev)
{
	return LCU_TRACE("cuDeviceGetUuid_v2", device_uuid(uuid, dev), "(%p, %d)",
			 (void *)uuid, dev);
}

/* The unversioned export (CUDA 9.2 to 11.3): the same answer. */
LCU_API CUresult CUDAAPI lcu_cuDeviceGetUuid_v1(CUuuid *uuid, CUdevice dev)
	__asm__("cuDeviceGetUuid");
CUresult CUDAAPI lcu_cuDeviceGetUuid_v1(CUuuid *uuid, CUdevice dev)
{
	return LCU_TRACE("cuDeviceGetUuid", device_uuid(uuid, dev), "(%p, %d)",
			 (void *)uuid, dev);
}

/*
 * The domain's device size: the operator's mem-quota where one is set (the
 * guest can never use more), else dom0's device.
 */
static uint64_t device_total(void)
{
	uint64_t t = lcu_dev->info.total_mem;

	if (lcu_dev->vinfo.mem_quota && lcu_dev->vinfo.mem_quota < t)
		t = lcu_dev->vinfo.mem_quota;
	return t;
}

LCU_API CUresult CUDAAPI cuDeviceTotalMem(size_t *bytes, CUdevice dev)
{
	CUresult r = lcu_dev_check(dev);

	if (r == CUDA_SUCCESS && !bytes)
		r = CUDA_ERROR_INVALID_VALUE;
	else if (r == CUDA_SUCCESS)
		*bytes = (size_t)device_total();
	return LCU_TRACE("cuDeviceTotalMem_v2", r, "(%p, %d) -> %zu", (void *)bytes, dev,
			 r ? 0 : *bytes);
}

LCU_API CUresult CUDAAPI cuDeviceGetAttribute(int *pi, CUdevice_attribute attrib, CUdevice dev)
{
	CUresult r = lcu_dev_check(dev);

	if (r == CUDA_SUCCESS && (!pi || attrib <= 0 || attrib >= CU_DEVICE_ATTRIBUTE_MAX))
		r = CUDA_ERROR_INVALID_VALUE;
	else if (r == CUDA_SUCCESS && lcu_dev_attr(attrib, pi) != 0) {
		/*
		 * An attribute of the API that dom0's snapshot lacks. Where
		 * dom0 has NVIDIA's driver (the snapshot names its version),
		 * that driver refused it (a number its enum leaves out, one
		 * this driver no longer has): its answer, CUDA_ERROR_INVALID_
		 * VALUE, as a program would get natively. The cpu executor's
		 * reference device (driver version 0) describes only what it
		 * has: 0 (no such feature, no such limit) for the rest, since
		 * the runtime's cudaGetDeviceProperties asks for all of them.
		 */
		if (lcu_dev->info_r2 && lcu_dev->info.driver_version != 0)
			r = CUDA_ERROR_INVALID_VALUE;
		else
			*pi = 0;
	}
	return LCU_TRACE("cuDeviceGetAttribute", r, "(%p, %d, %d) -> %d", (void *)pi,
			 (int)attrib, dev, r ? 0 : *pi);
}

LCU_API CUresult CUDAAPI cuDeviceComputeCapability(int *major, int *minor, CUdevice dev)
{
	CUresult r = lcu_dev_check(dev);

	if (r == CUDA_SUCCESS && (!major || !minor))
		r = CUDA_ERROR_INVALID_VALUE;
	if (r == CUDA_SUCCESS &&
	    (lcu_dev_attr(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, major) ||
	     lcu_dev_attr(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, minor)))
		r = CUDA_ERROR_UNKNOWN;
	return LCU_TRACE("cuDeviceComputeCapability", r, "(%p, %p, %d) -> %d.%d",
			 (void *)major, (void *)minor, dev, r ? 0 : *major, r ? 0 : *minor);
}

static void pci_ids(int *domain, int *bus, int *device)
{
	*domain = *bus = *device = 0;
	lcu_dev_attr(CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID, domain);
	lcu_dev_attr(CU_DEVICE_ATTRIBUTE_PCI_BUS_ID, bus);
	lcu_dev_attr(CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID, device);
}

LCU_API CUresult CUDAAPI cuDeviceGetPCIBusId(char *pciBusId, int len, CUdevice dev)
{
	CUresult r = lcu_dev_check(dev);
	int d, b, s;

	if (r == CUDA_SUCCESS && (!pciBusId || len <= 0))
		r = CUDA_ERROR_INVALID_VALUE;
	if (r == CUDA_SUCCESS) {
		pci_ids(&d, &b, &s);
		/* As NVIDIA's driver 580 writes it: "0000:00:06.0". */
		snprintf(pciBusId, (size_t)len, "%04x:%02x:%02x.0", (unsigned int)d,
			 (unsigned int)b, (unsigned int)s);
	}
	return LCU_TRACE("cuDeviceGetPCIBusId", r, "(%p, %d, %d) -> %s", (void *)pciBusId, len,
			 dev, r ? "" : pciBusId);
}

LCU_API CUresult CUDAAPI cuDeviceGetByPCIBusId(CUdevice *dev, const char *pciBusId)
{
	CUresult r = lcu_init_check();
	unsigned int d = 0, b, s, f = 0;
	int md, mb, ms;

	if (r == CUDA_SUCCESS && (!dev || !pciBusId))
		r = CUDA_ERROR_INVALID_VALUE;
	if (r == CUDA_SUCCESS) {
		/* domain:bus:device.function, bus:device.function, or without .f */
		if (sscanf(pciBusId, "%x:%x:%x.%x", &d, &b, &s, &f) < 3) {
			d = 0;
			f = 0;
			if (sscanf(pciBusId, "%x:%x.%x", &b, &s, &f) < 2)
				r = CUDA_ERROR_INVALID_VALUE;
		}
	}
	if (r == CUDA_SUCCESS) {
		pci_ids(&md, &mb, &ms);
		if (d == (unsigned int)md && b == (unsigned int)mb && s == (unsigned int)ms)
			*dev = 0;
		else
			r = CUDA_ERROR_INVALID_DEVICE;
	}
	return LCU_TRACE("cuDeviceGetByPCIBusId", r, "(%p, \"%s\")", (void *)dev,
			 pciBusId ? pciBusId : "(null)");
}

LCU_API CUresult CUDAAPI cuDeviceCanAccessPeer(int *canAccessPeer, CUdevice dev, CUdevice peerDev)
{
	CUresult r = lcu_dev_check(dev);

	if (r == CUDA_SUCCESS)
		r = lcu_dev_check(peerDev);
	if (r == CUDA_SUCCESS && !canAccessPeer)
		r = CUDA_ERROR_INVALID_VALUE;
	/* One device: no peer of itself (0, CUDA_SUCCESS, as NVIDIA's driver 580 says). */
	if (r == CUDA_SUCCESS)
		*canAccessPeer = 0;
	return LCU_TRACE("cuDeviceCanAccessPeer", r, "(%p, %d, %d)", (void *)canAccessPeer,
			 dev, peerDev);
}

/* The domain's memory: dom0's answer now (mem_used moves), capped by quota. */
CUresult lcu_mem_info(size_t *free_b, size_t *total_b)
{
	struct vgpu_info vi;
	uint64_t total, used_free;
	int rc;

	rc = vgpu_query(lcu_dev->v, &vi);
	if (rc)
		return lcu_err_of(rc, LCU_OP_QUERY);
	total = vi.total_mem;
	used_free = vi.free_mem;
	if (vi.mem_quota && vi.mem_quota < total) {
		uint64_t left = vi.mem_quota > vi.mem_used ? vi.mem_quota - vi.mem_used : 0;

		total = vi.mem_quota;
		if (left < used_free)
			used_free = left;
	}
	if (free_b)
		*free_b = (size_t)used_free;
	if (total_b)
		*total_b = (size_t)total;
	return CUDA_SUCCESS;
}

void lcu_dev_stream_priorities(int *least, int *greatest)
{
	/*
	 * dom0's range from the snapshot (the worker's own
	 * cuCtxGetStreamPriorityRange; STREAM_CREATE clamps to it there too).
	 * A range that is not one (greatest above least, or absurd values), or
	 * a backend that leaves the fields zero, is a device without
	 * priorities: 0 and 0.
	 */
	*least = 0;
	*greatest = 0;
	if (!lcu_dev)
		return;
	if (lcu_dev->info.stream_priority_greatest <= lcu_dev->info.stream_priority_least &&
	    lcu_dev->info.stream_priority_greatest >= -1024 &&
	    lcu_dev->info.stream_priority_least <= 1024) {
		*least = lcu_dev->info.stream_priority_least;
		*greatest = lcu_dev->info.stream_priority_greatest;
	}
}
