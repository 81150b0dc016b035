/* SPDX-License-Identifier: MIT */
/*
 * private.h - libvgpu's transport interface (as Xen's tools/libs/evtchn
 * private.h): core.c checks arguments and builds every request once; a
 * transport carries it to dom0.
 *
 *   kmod.c      ioctls on /dev/vgpu_stub (vgpu-front.ko)
 *   loopback.c  the userspace frontend (guest/loopfront) in this process,
 *               over the loopback world
 *
 * A request is one wire op: its args as union vgpuif_args lays them out,
 * and up to VGPU_REQ_MAX_REGIONS host regions that, in order, form its data
 * stream. Which context it names, how its regions reach dom0 (pinned and
 * granted, bounced through guest memory, inline) and how asynchronous
 * errors are kept for the next sync are the transport's business, as they
 * are the module's.
 */
#ifndef VGPU_PRIVATE_H
#define VGPU_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vgpu.h"
#include "vgpuif.h"

#define VGPU_REQ_MAX_REGIONS 4
/* The backend writes the region. */
#define VGPU_REGION_WRITE    0x1u
/*
 * Read-only bytes the transport copies when the request is made (at most
 * one page): the caller may reuse them at once, even for an async
 * request (launch parameters, names).
 */
#define VGPU_REGION_COPY     0x2u

struct vgpu_region {
	uint64_t addr;          /* host pointer                   */
	uint64_t len;           /* >= 1                           */
	uint32_t flags;         /* VGPU_REGION_*                  */
	uint32_t _pad0;
};

/* Return once queued; the status comes back from the next sync. */
#define VGPU_REQ_ASYNC       0x1u

struct vgpu_req {
	uint32_t op;            /* enum vgpuif_op                 */
	uint32_t flags;         /* VGPU_REQ_*                     */
	uint32_t nr_regions;
	int32_t  status;        /* out: the answer's status       */
	union vgpuif_args args;
	struct vgpu_region regions[VGPU_REQ_MAX_REGIONS];
	uint64_t result[2];     /* out                            */
	uint64_t exec_ns;       /* out                            */
};

/* What a transport negotiated; core.c sizes and gates requests with it. */
struct vgpu_limits {
	uint32_t max_segs;      /* pages one request may span     */
	uint32_t ops;           /* feature-ops                    */
	uint32_t inline_bytes;  /* feature-inline, 0 none         */
};

struct vgpu_transport {
	const char *name;
	/* spec: what followed "kmod:" / "loopback:". Fills v->priv. */
	int (*open)(vgpu_t *v, const char *spec);
	int (*open_fd)(vgpu_t *v, int fd);
	void (*close)(vgpu_t *v);
	/*
	 * Carry n requests, in order, keeping several in flight where the
	 * transport can; returns when the synchronous ones are answered and
	 * the async ones queued. 0 with each req->status filled (a request
	 * after a failed one is still sent: callers batch only independent
	 * chunks), or a local -errno for the first request that could not
	 * be carried (later ones not sent).
	 */
	int (*call)(vgpu_t *v, struct vgpu_req *reqs, unsigned int n);
	/* GET_INFO and what the transport knows of its connection. */
	int (*query)(vgpu_t *v, struct vgpu_info *info);
	int (*limits)(vgpu_t *v, struct vgpu_limits *l);
	int (*host_alloc)(vgpu_t *v, size_t size, void **ptr);
	int (*host_free)(vgpu_t *v, void *ptr);
	/* 1 when [p, p + len) lies inside one host_alloc block. */
	int (*host_contains)(vgpu_t *v, const void *p, size_t len);
	/*
	 * Registered host memory (revision 3; NULL: -EOPNOTSUPP): register
	 * [p, p + len) once, unregister what started at p, and how many bytes
	 * from p on (at most len) one registered region holds (0: none), so
	 * that copies are cut at region ends.
	 */
	int (*host_register)(vgpu_t *v, void *p, size_t len, uint32_t flags);
	int (*host_unregister)(vgpu_t *v, void *p);
	uint64_t (*host_reg_span)(vgpu_t *v, const void *p, uint64_t len);
	int (*fd)(const vgpu_t *v);
};

struct vgpu {
	const struct vgpu_transport *t;
	void *priv;             /* the transport's                */
	/* Fetched once, on first use (core.c). */
	struct vgpu_limits lim;
	bool lim_valid;
};

extern const struct vgpu_transport vgpu_transport_kmod;
extern const struct vgpu_transport vgpu_transport_loopback;

/* Record the reason of a failure (this thread's), for vgpu_error() /
 * vgpu_open_error(). */
void vgpu_set_error(vgpu_t *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void vgpu_set_open_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* struct vgpuif_info (as GET_INFO writes it) into struct vgpu_info. */
void vgpu_info_from_wire(struct vgpu_info *info, const struct vgpuif_info *w);

static inline uint64_t vgpu_ptr64(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

#endif /* VGPU_PRIVATE_H */
