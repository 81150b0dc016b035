/* SPDX-License-Identifier: MIT */
/*
 * loopback.h - the loopback "world": Xen's semantics across unrelated
 * processes with no hypervisor.
 *
 * A world is a directory. In it:
 *   store         a small XenStore, grant tables, event-channel ports and
 *                 domain table in one shared-memory file, guarded by one
 *                 process-shared robust mutex (a process killed -9 while
 *                 holding it does not wedge the world)
 *   mem-<domid>   the guest memory of domain <domid>, addressed by frame
 *                 number (frame f = bytes [f*4096, f*4096+4096))
 *   gnttab-<domid> that domain's grant table and frame allocator
 * Notifications (event channels, watch events) travel as datagrams on
 * abstract Unix sockets named after the world, so they work between
 * processes that share nothing but the directory.
 *
 * Domains are numbered like Xen's: 0 is dom0 (the backend side, privileged
 * in the store), guests are 1 .. LB_MAX_DOMID.
 *
 * Roles:
 *   toolstack  lb_world_open(create), lb_domain_create, lb_attach_device
 *   guest      lb_mem_map, lb_frames_alloc, lb_grant_access/lb_end_access,
 *              lb_evtchn_* (alloc_unbound), lb_xs_* as its domid
 *   backend    lb_map_grants/lb_unmap_grants, lb_evtchn_* (bind_interdomain),
 *              lb_xs_* as domid 0; backend/transport-loopback.c wraps these
 *              into backend/transport.h
 *
 * Errno contract: calls returning int return 0 (or the non-negative value
 * stated) on success and -errno on failure; calls returning a pointer
 * return NULL and set errno. Strings and arrays returned are malloc'd and
 * freed by the caller. A world handle may be used by several threads; an
 * lb_xs or lb_evtchn handle by one thread at a time.
 */
#ifndef VGPU_LOOPBACK_H
#define VGPU_LOOPBACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LB_PAGE_SIZE      4096u
#define LB_MAX_DOMID      255u    /* domids 0 .. 255                      */
#define LB_PATH_MAX       256u    /* store path, NUL included             */
#define LB_VALUE_MAX      2048u   /* store value bytes                    */
#define LB_TOKEN_MAX      128u    /* watch token, NUL included            */
#define LB_MAX_ACL        8u      /* owner entry + 7                      */
#define LB_MAX_NODES      4096u   /* store nodes in a world               */
#define LB_MAX_WATCHES    512u
/* What one guest domain may hold, so no guest can starve dom0 or others
 * (xenstored has the same kind of quotas); dom0 is not limited. */
#define LB_QUOTA_NODES    256u    /* store nodes it owns                  */
#define LB_QUOTA_WATCHES  32u
#define LB_QUOTA_CONNS    16u     /* open lb_xs + lb_evtchn handles       */
#define LB_MAX_PORTS      128u    /* event-channel ports per domain; 0 is
				   * never valid, as in Xen              */
#define LB_NR_GRANTS      (1u << 18) /* grant refs per domain (1 GiB of
				      * pages, as a dom0 booted with a raised
				      * gnttab_max_frames); 0..7 reserved   */
#define LB_GNT_RESERVED   8u
#define LB_DEFAULT_MEM    (256ull << 20) /* guest memory, bytes           */
#define LB_MAX_MEM        (4ull << 30)
#define LB_DEFAULT_DIR    "/run/vgpu-xen/loopback"

struct lb_world;
struct lb_xs;
struct lb_evtchn;

/* ------------------------------------------------------------ world */

/*
 * The world directory to use when none is given: $VGPU_LOOPBACK_DIR, else
 * LB_DEFAULT_DIR. Static or environment storage; do not free.
 */
const char *lb_default_dir(void);

/*
 * Open the world in dir (NULL: lb_default_dir()). With create, make the
 * directory (mode 0700, parents too) and an empty store when absent; an
 * existing world is opened as it is. Without create a missing world is
 * ENOENT. Opening a world never creates domains.
 */
struct lb_world *lb_world_open(const char *dir, bool create);
void lb_world_close(struct lb_world *w);
const char *lb_world_dir(const struct lb_world *w);
/* Times the store mutex was recovered from a dead owner (for tests). */
uint64_t lb_world_recoveries(struct lb_world *w);
/*
 * Take / release the world lock by hand. Only for tests that kill a
 * process while it holds the lock; ordinary callers never need this.
 */
int lb_world_lock(struct lb_world *w);
void lb_world_unlock(struct lb_world *w);

/* ---------------------------------------------------------- domains */

#define LB_DOMAIN_PERSISTENT 0x1u /* lives until lb_domain_destroy, not
				   * tied to the creating process        */

/*
 * Create guest domain domid (1 .. LB_MAX_DOMID) with LB_DEFAULT_MEM of
 * memory. The domain lives as long as the calling process (or until
 * lb_domain_destroy). Writes /local/domain/<domid> (owner dom0, the guest
 * may read) with the guest-writable children device/ and data/, fires
 * "@introduceDomain". EEXIST when it is alive already; a dead domain of the
 * same id is reaped first.
 */
int lb_domain_create(struct lb_world *w, uint32_t domid);
int lb_domain_create_ex(struct lb_world *w, uint32_t domid, unsigned flags,
			uint64_t mem_bytes);
/*
 * Destroy domid: mark it dead, revoke all its grants, close its event
 * channels (the peers' ends become unbound), remove /local/domain/<domid>
 * and fire "@releaseDomain". ESRCH when no such domain exists.
 */
int lb_domain_destroy(struct lb_world *w, uint32_t domid);
/*
 * 1 when domid exists and is alive, 0 when not (never created, destroyed,
 * or its creating process died: such a domain is destroyed here), -errno.
 * Domain 0 is always alive.
 */
int lb_domain_alive(struct lb_world *w, uint32_t domid);
/* Destroy every domain whose creator died; returns how many. */
int lb_reap(struct lb_world *w);

/* ---------------------------------------------------- guest memory */

/*
 * Map all of domid's memory into this process (read/write, shared); *size
 * receives its length. The mapping belongs to the world handle: it stays
 * valid until lb_world_close. Meant for the guest side.
 */
void *lb_mem_map(struct lb_world *w, uint32_t domid, size_t *size);
/*
 * Allocate n physically contiguous frames of domid: the first frame number
 * (>= 1; frame 0 is never handed out) or -ENOMEM / -errno.
 */
int64_t lb_frames_alloc(struct lb_world *w, uint32_t domid, uint32_t n);
int lb_frames_free(struct lb_world *w, uint32_t domid, uint64_t frame,
		   uint32_t n);

/* ----------------------------------------------------------- grants */

/*
 * Guest side (gnttab_grant_foreign_access): let to_domid map frame of
 * granter, read-only or writable. Returns the grant ref (>= LB_GNT_RESERVED)
 * or -ENOSPC when the table is full, -EINVAL for a frame outside the
 * granter's memory, -ESRCH for a dead granter.
 */
int lb_grant_access(struct lb_world *w, uint32_t granter, uint32_t to_domid,
		    uint64_t frame, bool readonly);
/*
 * Guest side (gnttab_end_foreign_access_ref): revoke gref. -EBUSY while
 * some process has it mapped (its map count is not zero), -EINVAL for a ref
 * out of range or not granted.
 */
int lb_end_access(struct lb_world *w, uint32_t granter, uint32_t gref);
/*
 * Raw write of a grant entry, for malicious-guest tests: flags is
 * LB_GTF_* (0 revokes without the map-count check).
 */
#define LB_GTF_PERMIT   0x1u
#define LB_GTF_READONLY 0x2u
int lb_grant_set_raw(struct lb_world *w, uint32_t granter, uint32_t gref,
		     uint32_t flags, uint32_t to_domid, uint64_t frame);
/* How many mappings of gref exist now (tests); -errno. */
int lb_grant_map_count(struct lb_world *w, uint32_t granter, uint32_t gref);

/*
 * Backend side (xengnttab_map_grant_refs): map count refs granted by domid
 * to mapper into ONE contiguous range. Any ref never granted, revoked,
 * granted to another domain or out of range fails with EFAULT; a read-only
 * grant mapped writable fails with EPERM; a dead domid with ESRCH; nothing
 * stays mapped on failure. Thread-safe.
 */
void *lb_map_grants(struct lb_world *w, uint32_t mapper, uint32_t domid,
		    uint32_t count, const uint32_t *refs, bool writable);
/* Unmap a range returned by lb_map_grants (count must match). EINVAL. */
int lb_unmap_grants(struct lb_world *w, void *addr, uint32_t count);
/*
 * Where the pages of a range lb_map_grants returned live, so that another
 * process (the cuda executor's GPU worker) can map the same guest pages:
 * returns the guest memory file's descriptor (the world's: valid until
 * lb_world_close; dup it to keep it) and fills frames[i] with page i's
 * frame (its offset in the file / 4096). -EINVAL for no such range.
 */
int lb_mapping_frames(struct lb_world *w, void *addr, uint32_t count,
		      uint64_t *frames);

/* --------------------------------------------------- event channels */

/* An event-channel handle acting as domain domid (xenevtchn_open). */
struct lb_evtchn *lb_evtchn_open(struct lb_world *w, uint32_t domid);
/* Closes every port bound through the handle. */
void lb_evtchn_close(struct lb_evtchn *e);
/* A new unbound port that remote_domid may bind to; the port (>= 1). */
int lb_evtchn_alloc_unbound(struct lb_evtchn *e, uint32_t remote_domid);
/*
 * Bind to remote_port of remote_domid (which must be unbound and offered to
 * this handle's domain); returns the local port. EINVAL otherwise, ESRCH for
 * a dead remote domain, ENOSPC when no port is free.
 */
int lb_evtchn_bind_interdomain(struct lb_evtchn *e, uint32_t remote_domid,
			       uint32_t remote_port);
int lb_evtchn_unbind(struct lb_evtchn *e, uint32_t port);
/*
 * Signal the peer of port. The peer's port becomes pending; if it is not
 * masked it is masked and the peer's fd becomes readable. A notify to a
 * pending port coalesces into the event already pending. Notifying a port
 * whose peer has gone is a silent no-op, as in Xen.
 */
int lb_evtchn_notify(struct lb_evtchn *e, uint32_t port);
int lb_evtchn_fd(struct lb_evtchn *e);
/* Next fired port without blocking; -EAGAIN when none. */
int lb_evtchn_pending(struct lb_evtchn *e);
/* Unmask port; if an event arrived while masked it fires again now. */
int lb_evtchn_unmask(struct lb_evtchn *e, uint32_t port);

/* ------------------------------------------------------------ store */

/* Permissions, as xs_permissions. */
enum lb_xs_perm {
	LB_XS_PERM_NONE  = 0,
	LB_XS_PERM_READ  = 1,
	LB_XS_PERM_WRITE = 2,
	LB_XS_PERM_BOTH  = 3
};
struct lb_xs_acl {
	uint32_t domid;        /* first entry: the owner           */
	uint32_t perm;         /* first entry: everyone else's     */
};
#define LB_XBT_NULL 0u

/*
 * A store connection acting as domain domid. Dom0 may do anything; any
 * other domain is checked against each node's permissions (the owner has
 * all rights, then the per-domain entries, then the default). Paths not
 * starting with '/' are relative to /local/domain/<domid>.
 */
struct lb_xs *lb_xs_open(struct lb_world *w, uint32_t domid);
/* Removes the connection's watches and aborts its transactions. */
void lb_xs_close(struct lb_xs *xs);

/* ENOENT, EACCES, E2BIG (path too long), EINVAL (malformed path). */
char *lb_xs_read(struct lb_xs *xs, uint32_t xbt, const char *path,
		 unsigned int *len);
/*
 * Write (creating missing parents, which inherit their parent's
 * permissions, owned by the writer when it is not dom0). EACCES, E2BIG for
 * a value over LB_VALUE_MAX or a path over LB_PATH_MAX, ENOSPC when the
 * store is full.
 */
int lb_xs_write(struct lb_xs *xs, uint32_t xbt, const char *path,
		const char *value);
int lb_xs_write_len(struct lb_xs *xs, uint32_t xbt, const char *path,
		    const void *data, unsigned int len);
int lb_xs_mkdir(struct lb_xs *xs, uint32_t xbt, const char *path);
/* Remove path and everything below it. */
int lb_xs_rm(struct lb_xs *xs, uint32_t xbt, const char *path);
/* Children names; *num set; one malloc'd block (free once). */
char **lb_xs_directory(struct lb_xs *xs, uint32_t xbt, const char *path,
		       unsigned int *num);
/* Only dom0 or the node's owner may set permissions; n 1 .. LB_MAX_ACL. */
int lb_xs_set_perms(struct lb_xs *xs, uint32_t xbt, const char *path,
		    const struct lb_xs_acl *acl, unsigned int n);
/* The node's permissions; returns the number of entries. */
int lb_xs_get_perms(struct lb_xs *xs, uint32_t xbt, const char *path,
		    struct lb_xs_acl *acl, unsigned int max);
/*
 * Transactions are optimistic: operations are logged in this process and
 * see their own writes; commit applies them atomically under the world
 * lock if no node they read or wrote changed since; otherwise -EAGAIN and
 * the caller retries from the start.
 */
int lb_xs_transaction_start(struct lb_xs *xs, uint32_t *xbt);
int lb_xs_transaction_end(struct lb_xs *xs, uint32_t xbt, bool abort);
/*
 * Watch path and everything below it (or a special path: "@releaseDomain",
 * "@introduceDomain"). Fires once on registration and after each change.
 * Events of one watch coalesce while one is pending: the pending event
 * keeps its path if every change was to the same node, else it reports the
 * watched path itself ("something below here changed"). EEXIST for a
 * duplicate path+token, ENOSPC when the watch table is full.
 */
int lb_xs_watch(struct lb_xs *xs, const char *path, const char *token);
int lb_xs_unwatch(struct lb_xs *xs, const char *path, const char *token);
/* Polls readable when a watch event may be pending. */
int lb_xs_fd(struct lb_xs *xs);
/* 1 and *path, *token (malloc'd), 0 when none is pending, -errno. */
int lb_xs_read_watch(struct lb_xs *xs, char **path, char **token);

/* -------------------------------------------------------- toolstack */

/*
 * Write a vgpu device's XenStore nodes exactly as a toolstack does:
 * frontend dir /local/domain/<domid>/device/vgpu/<devid> (owner the guest,
 * dom0 reads) with backend and backend-id; backend dir
 * /local/domain/0/backend/vgpu/<domid>/<devid> (owner dom0, the guest
 * reads) with frontend, frontend-id, priority, pool, mem-quota, online=1;
 * then backend state=1 and, last, the frontend's state=1. priority NULL
 * means "medium". The domain must be alive (ESRCH).
 */
int lb_attach_device(struct lb_world *w, uint32_t domid, uint32_t devid,
		     const char *priority, uint32_t pool, uint64_t mem_quota);
/* Remove both directories of the device (a forced detach). */
int lb_detach_device(struct lb_world *w, uint32_t domid, uint32_t devid);

#endif /* VGPU_LOOPBACK_H */
