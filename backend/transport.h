/* SPDX-License-Identifier: MIT */
/*
 * transport.h - the one narrow line between vgpu-backend and Xen.
 *
 * The backend reaches the hypervisor only through these calls: XenStore
 * read/write/watch, grant map/unmap, event-channel bind/notify/wait. There are
 * two implementations with the same semantics:
 *   xen       transport-xen.c: libxenstore, libxengnttab, libxenevtchn
 *   loopback  transport-loopback.c: shared memory, a grant table the
 *             userspace frontend fills in, sockets for events, a small store
 *             with watches and permissions (loopback/)
 * Code above this line cannot tell which one it runs on.
 *
 * Errno contract: calls returning int return 0 (or a non-negative value where
 * stated) on success and -errno on failure. Calls returning a pointer return
 * NULL and set errno. Strings returned are malloc'd and freed by the caller.
 * All paths are absolute XenStore paths. One transport handle is used by one
 * thread at a time (the backend's control thread) except where stated.
 */
#ifndef VGPUBACK_TRANSPORT_H
#define VGPUBACK_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

struct vgpuback_transport;

/* A XenStore transaction id; VGPUBACK_XBT_NULL means "no transaction". */
typedef uint32_t vgpuback_xbt_t;
#define VGPUBACK_XBT_NULL 0u

/* XenStore permissions, as xs_permissions. */
enum vgpuback_xs_perm {
	VGPUBACK_XS_PERM_NONE  = 0,
	VGPUBACK_XS_PERM_READ  = 1,
	VGPUBACK_XS_PERM_WRITE = 2,
	VGPUBACK_XS_PERM_BOTH  = 3
};
struct vgpuback_xs_acl {
	uint32_t domid;                /* first entry: the owner          */
	enum vgpuback_xs_perm perm;    /* first entry: everyone else's    */
};

struct vgpuback_transport_ops {
	const char *name;              /* "xen" or "loopback"             */

	void (*close)(struct vgpuback_transport *t);

	/* ---- XenStore ---- */
	/* Value of path (NUL-terminated; *len without NUL if len != NULL). */
	char *(*xs_read)(struct vgpuback_transport *t, vgpuback_xbt_t xbt,
			 const char *path, unsigned int *len);
	int (*xs_write)(struct vgpuback_transport *t, vgpuback_xbt_t xbt,
			const char *path, const char *value);
	int (*xs_mkdir)(struct vgpuback_transport *t, vgpuback_xbt_t xbt,
			const char *path);
	int (*xs_rm)(struct vgpuback_transport *t, vgpuback_xbt_t xbt,
		     const char *path);
	/* Children names of path; *num set; one malloc'd block (free once). */
	char **(*xs_directory)(struct vgpuback_transport *t, vgpuback_xbt_t xbt,
			       const char *path, unsigned int *num);
	int (*xs_set_perms)(struct vgpuback_transport *t, vgpuback_xbt_t xbt,
			    const char *path, const struct vgpuback_xs_acl *acl,
			    unsigned int n);
	/* Start a transaction: >= 0 is not meaningful; *xbt receives it. */
	int (*xs_transaction_start)(struct vgpuback_transport *t,
				    vgpuback_xbt_t *xbt);
	/* End (commit unless abort); -EAGAIN when it must be retried. */
	int (*xs_transaction_end)(struct vgpuback_transport *t,
				  vgpuback_xbt_t xbt, bool abort);
	/*
	 * Watch path and everything below it. Like Xen, a watch fires once
	 * when set and again on each change; events may coalesce. The special
	 * path "@releaseDomain" fires when any domain dies.
	 */
	int (*xs_watch)(struct vgpuback_transport *t, const char *path,
			const char *token);
	int (*xs_unwatch)(struct vgpuback_transport *t, const char *path,
			  const char *token);
	/* fd that polls readable when a watch event is pending. */
	int (*xs_watch_fd)(struct vgpuback_transport *t);
	/*
	 * Next pending watch event, without blocking: 1 and *path, *token set
	 * (malloc'd), 0 when none is pending, or -errno.
	 */
	int (*xs_read_watch)(struct vgpuback_transport *t, char **path,
			     char **token);
	/* Is domain domid alive? 1 yes, 0 no, -errno. */
	int (*domain_alive)(struct vgpuback_transport *t, uint32_t domid);

	/* ---- grants ---- */
	/*
	 * Map count grant refs of domid into one contiguous range, writable or
	 * read-only. A ref never granted, revoked, granted to someone else or
	 * granted read-only when writable is asked fails the whole call
	 * (NULL, errno EFAULT or EPERM as Xen reports it); nothing is left
	 * mapped on failure. Thread-safe.
	 */
	void *(*map_grants)(struct vgpuback_transport *t, uint32_t domid,
			    uint32_t count, const uint32_t *refs, bool writable);
	/* Unmap a range returned by map_grants. Thread-safe. */
	int (*unmap_grants)(struct vgpuback_transport *t, void *addr,
			    uint32_t count);
	/*
	 * Optional (NULL: not available). Where the pages of a range
	 * map_grants returned live, so that another process (the cuda
	 * executor's GPU worker) can map the very same guest pages: a
	 * descriptor of a file holding them (the transport's, valid while
	 * the range is mapped; the caller dups it to keep it) and each
	 * page's byte offset in that file. Returns the descriptor or -errno.
	 * loopback: the guest memory file. xen: none (a worker would map the
	 * grants itself through gntdev; not done).
	 */
	int (*grant_pages_file)(struct vgpuback_transport *t, void *addr,
				uint32_t count, uint64_t *file_off);

	/* ---- event channels ---- */
	/* Bind to the remote port of domid; returns the local port (>= 0). */
	int (*evtchn_bind)(struct vgpuback_transport *t, uint32_t domid,
			   uint32_t remote_port);
	int (*evtchn_unbind)(struct vgpuback_transport *t, int local_port);
	/* Notify the peer. Thread-safe. */
	int (*evtchn_notify)(struct vgpuback_transport *t, int local_port);
	/* fd that polls readable when an event is pending. */
	int (*evtchn_fd)(struct vgpuback_transport *t);
	/*
	 * Next pending port without blocking: the port (>= 0), -EAGAIN when
	 * none. A port that fired stays masked until evtchn_unmask.
	 */
	int (*evtchn_pending)(struct vgpuback_transport *t);
	int (*evtchn_unmask)(struct vgpuback_transport *t, int local_port);
};

struct vgpuback_transport {
	const struct vgpuback_transport_ops *ops;
};

/*
 * Open a transport by name ("xen" or "loopback"). For loopback, arg is the
 * loopback world directory (NULL: $VGPU_LOOPBACK_DIR, else
 * /run/vgpu-xen/loopback). Returns NULL and sets errno; *why (if not NULL)
 * receives a static human-readable reason.
 */
struct vgpuback_transport *vgpuback_transport_open(const char *name,
						   const char *arg,
						   const char **why);

struct vgpuback_transport *vgpuback_transport_xen_open(const char **why);
struct vgpuback_transport *vgpuback_transport_loopback_open(const char *dir,
							    const char **why);

#endif /* VGPUBACK_TRANSPORT_H */
