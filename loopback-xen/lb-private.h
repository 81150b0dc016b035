/* SPDX-License-Identifier: MIT */
/*
 * lb-private.h - the shared-memory layout of a loopback world and the
 * helpers its files share. Nothing here is visible outside loopback-xen.
 */
#ifndef VGPU_LB_PRIVATE_H
#define VGPU_LB_PRIVATE_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "loopback.h"

#define LB_MAGIC        0x766770756c6f6f70ull /* "vgpuloop" */
#define LB_GNT_MAGIC    0x766770756e74626cull
#define LB_VERSION      1u
#define LB_MAX_DOMAINS  (LB_MAX_DOMID + 1)
#define LB_MAX_CONNS    256u
#define LB_MAX_FRAMES   (LB_MAX_MEM / LB_PAGE_SIZE)

enum lb_dom_state { LB_DOM_NONE = 0, LB_DOM_ALIVE = 1, LB_DOM_DEAD = 2 };

/* A process attached to the world: owner of watches and ports. */
struct lb_shm_conn {
	uint32_t in_use;
	int32_t  pid;
	uint64_t starttime;     /* /proc/<pid>/stat field 22: pid reuse guard */
	uint64_t nonce;         /* names its socket; changes on reuse          */
	uint32_t domid;
	uint32_t kind;          /* LB_CONN_XS or LB_CONN_EVTCHN               */
	int32_t  bell;          /* pid that queued (or is about to send) a
				 * wake-up datagram to it; 0: none         */
	uint32_t _pad;
};
enum { LB_CONN_XS = 1, LB_CONN_EVTCHN = 2 };

struct lb_shm_domain {
	uint32_t state;         /* enum lb_dom_state                          */
	uint32_t flags;         /* LB_DOMAIN_*                                */
	int32_t  pid;           /* creator; 0 when persistent                  */
	uint32_t _pad;
	uint64_t starttime;
	uint64_t mem_frames;
};

enum lb_port_state { LB_PORT_FREE = 0, LB_PORT_UNBOUND = 1,
		     LB_PORT_INTERDOMAIN = 2 };
struct lb_shm_port {
	uint32_t state;         /* enum lb_port_state                         */
	uint32_t conn;          /* owning connection slot                     */
	uint32_t remote_dom;
	uint32_t remote_port;
	uint32_t pending;       /* fired, not yet read                        */
	uint32_t masked;        /* fired ports stay masked until unmask       */
	uint32_t queued;        /* delivered to the owner, not yet read       */
	uint32_t _pad;
};

struct lb_shm_acl {
	uint32_t domid;
	uint32_t perm;
};

struct lb_shm_node {
	uint32_t in_use;
	uint32_t value_len;
	uint64_t gen;           /* store generation of its last change        */
	uint32_t nacl;
	uint32_t _pad;
	struct lb_shm_acl acl[LB_MAX_ACL];
	char path[LB_PATH_MAX];
	char value[LB_VALUE_MAX];
};

struct lb_shm_watch {
	uint32_t in_use;
	uint32_t conn;
	uint32_t domid;
	uint32_t pending;       /* an event is queued and not yet read        */
	uint64_t nonce;         /* identifies this registration in datagrams  */
	char path[LB_PATH_MAX];
	char token[LB_TOKEN_MAX];
	char pending_path[LB_PATH_MAX];
};

struct lb_shm_store {
	uint64_t magic;         /* written last by the creator                 */
	uint32_t version;
	uint32_t _pad;
	uint64_t world_id;      /* random: names the world's sockets          */
	/* Protects everything below, and every grant table of the world. */
	pthread_mutex_t lock;
	uint64_t recoveries;    /* EOWNERDEAD recoveries                      */
	uint64_t gen;           /* bumped on every store change               */
	uint64_t nonce_seq;
	struct lb_shm_domain dom[LB_MAX_DOMAINS];
	struct lb_shm_conn conn[LB_MAX_CONNS];
	struct lb_shm_port port[LB_MAX_DOMAINS][LB_MAX_PORTS];
	struct lb_shm_watch watch[LB_MAX_WATCHES];
	struct lb_shm_node node[LB_MAX_NODES];
};

/* One grant entry; written only under the world lock. */
struct lb_shm_gnt {
	uint32_t flags;         /* LB_GTF_*                                   */
	uint32_t domid;         /* who may map it                             */
	uint64_t frame;
	uint32_t map_count;
	int32_t  map_pid;       /* last mapper: a dead one holds no mapping   */
	uint64_t map_start;
};

struct lb_shm_gnttab {
	uint64_t magic;
	uint64_t frames;        /* guest memory size in frames                */
	uint32_t hint;          /* next ref to try                            */
	uint32_t _pad;
	uint8_t  frame_used[LB_MAX_FRAMES / 8];
	struct lb_shm_gnt e[LB_NR_GRANTS];
};

/* A live mapping made by lb_map_grants, remembered for unmap. */
struct lb_mapping {
	struct lb_mapping *next;
	void *addr;
	uint32_t domid;
	uint32_t count;
	uint64_t *frames;       /* each page's frame (lb_mapping_frames)  */
	uint32_t refs[];
};

struct lb_world {
	char *dir;
	int store_fd;
	int send_fd;            /* unbound datagram socket for doorbells      */
	struct lb_shm_store *shm;
	/* Protects the per-domain caches and the mapping list below. */
	pthread_mutex_t cache_lock;
	int mem_fd[LB_MAX_DOMAINS];
	void *mem_map[LB_MAX_DOMAINS];
	size_t mem_size[LB_MAX_DOMAINS];
	struct lb_shm_gnttab *gnt[LB_MAX_DOMAINS];
	/* pidfds of domain creators, for a cheap liveness check */
	int dom_pidfd[LB_MAX_DOMAINS];
	int32_t dom_pidfd_pid[LB_MAX_DOMAINS];
	uint64_t dom_pidfd_start[LB_MAX_DOMAINS];
	struct lb_mapping *mappings;
};

/* world.c */
int lb_lock(struct lb_world *w);
void lb_unlock(struct lb_world *w);
uint64_t lb_proc_starttime(pid_t pid);
uint64_t lb_self_starttime(void);
bool lb_proc_alive(pid_t pid, uint64_t starttime);
int lb_conn_alloc(struct lb_world *w, uint32_t domid, uint32_t kind);
void lb_conn_release_locked(struct lb_world *w, uint32_t slot);
int lb_conn_socket(struct lb_world *w, uint32_t slot);
void lb_conn_ring_locked(struct lb_world *w, uint32_t slot);
void lb_conn_drain(int fd);
void lb_conn_rearm_locked(struct lb_world *w, uint32_t slot);
bool lb_dom_alive_locked(struct lb_world *w, uint32_t domid);
int lb_domain_destroy_locked(struct lb_world *w, uint32_t domid);
struct lb_shm_gnttab *lb_gnttab(struct lb_world *w, uint32_t domid);
int lb_mem_fd(struct lb_world *w, uint32_t domid);

/* store.c */
int lb_store_init_locked(struct lb_world *w);
int lb_node_write_locked(struct lb_world *w, uint32_t caller, const char *path,
			 const void *val, unsigned int len, bool check_perm);
int lb_node_rm_locked(struct lb_world *w, uint32_t caller, const char *path,
		      bool check_perm);
int lb_node_set_perms_locked(struct lb_world *w, uint32_t caller,
			     const char *path, const struct lb_xs_acl *acl,
			     unsigned int n, bool check_perm);
void lb_fire_special_locked(struct lb_world *w, const char *special);
void lb_watches_drop_conn_locked(struct lb_world *w, uint32_t conn);

/* evtchn.c */
void lb_ports_close_domain_locked(struct lb_world *w, uint32_t domid);
void lb_ports_drop_conn_locked(struct lb_world *w, uint32_t conn);

/* grant.c */
void lb_grants_revoke_locked(struct lb_world *w, uint32_t domid);

#endif /* VGPU_LB_PRIVATE_H */
