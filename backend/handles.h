/* SPDX-License-Identifier: MIT */
/*
 * handles.h - one domain's tables of guest-visible handles.
 *
 * A guest names its objects only through opaque handles that this table
 * issued; every lookup checks the handle against the table of the request's
 * own context, so a guessed, stale, freed, wrong-type, other-context or
 * other-domain handle fails (VGPUIF_RSP_EBADF) instead of reaching the
 * executor.
 *
 * Context handles (32-bit, req.ctx):
 *   bits 0..7   context slot (VGPUIF_MAX_CTX_PER_DEVICE = 256)
 *   bits 8..31  generation (never 0)
 * Object handles (64-bit: memory, module, function, stream, event):
 *   bits 0..11  object slot in its context (VGPUIF_MAX_HANDLES_PER_CTX)
 *   bits 12..19 context slot
 *   bits 20..23 type (enum vgpuback_obj_type)
 *   bits 24..39 domain id
 *   bits 40..63 generation (never 0)
 * Generations come from one counter per table, seeded from the domain id, so
 * a slot reused after a free gets a new handle and two domains hand out
 * different values for the same slot.
 *
 * Not thread-safe: only the backend's ring thread touches it.
 */
#ifndef VGPUBACK_HANDLES_H
#define VGPUBACK_HANDLES_H

#include <stdbool.h>
#include <stdint.h>

#include "vgpuif.h"

struct vgpu_exec_ctx;

enum vgpuback_obj_type {
	VGPUBACK_OBJ_NONE = 0,
	VGPUBACK_OBJ_MEM  = 1,
	VGPUBACK_OBJ_MOD  = 2,
	VGPUBACK_OBJ_FUNC = 3,
	VGPUBACK_OBJ_STREAM = 4, /* revision 2: at most max_streams per ctx  */
	VGPUBACK_OBJ_EVENT = 5   /* revision 2: at most max_events per ctx   */
};

/* vgpuback_obj.oflags */
/*
 * MEM: a module global (MODULE_GLOBAL): its module in parent_*; found only
 * while the module lives, never freed by MEM_FREE, released by
 * MODULE_UNLOAD, not counted in mem_used (the module's memory is not an
 * allocation of the guest's).
 */
#define VGPUBACK_OBJF_MODULE_OWNED 0x1u

enum vgpuback_slot_state {
	VGPUBACK_SLOT_FREE    = 0,
	VGPUBACK_SLOT_PENDING = 1, /* reserved for an op in flight           */
	VGPUBACK_SLOT_LIVE    = 2
};

struct vgpuback_obj {
	uint8_t  type;           /* enum vgpuback_obj_type                  */
	uint8_t  state;          /* enum vgpuback_slot_state                */
	uint16_t slot;
	uint8_t  oflags;         /* VGPUBACK_OBJF_*                          */
	uint32_t uflags;         /* STREAM/EVENT: the guest's create flags   */
	uint32_t gen;            /* 24 bits                                  */
	uint32_t next_free;      /* free list, slot index + 1; 0 = end      */
	uint32_t parent_slot;    /* FUNC, module-owned MEM: its module's
				  * slot and generation                      */
	uint32_t parent_gen;
	void    *eobj;           /* executor object (vgpu_exec_mem etc.)    */
	uint64_t size;           /* MEM: bytes, counted against the quota  */
	uint64_t dev_addr;       /* MEM: device address reported to guest  */
};

#define VGPUBACK_OBJ_CHUNK  64u  /* slots per chunk                  */
#define VGPUBACK_OBJ_CHUNKS (VGPUIF_MAX_HANDLES_PER_CTX / VGPUBACK_OBJ_CHUNK)

enum vgpuback_ctx_state {
	VGPUBACK_CTX_FREE  = 0,
	VGPUBACK_CTX_LIVE  = 1,
	VGPUBACK_CTX_DYING = 2   /* CTX_DESTROY waits for in-flight ops     */
};

struct vgpuback_ctx {
	uint8_t  state;          /* enum vgpuback_ctx_state                 */
	uint8_t  idx;
	uint32_t gen;
	uint32_t handle;
	struct vgpu_exec_ctx *ectx;
	/*
	 * Object slots, allocated a chunk at a time up to max_per_ctx. Chunks
	 * never move: requests in flight hold pointers to their slots while
	 * later requests grow the table.
	 */
	struct vgpuback_obj *chunk[VGPUBACK_OBJ_CHUNKS];
	uint32_t nr_alloc;       /* slots in allocated chunks                */
	uint32_t high;           /* slots ever used                          */
	uint32_t nr_used;        /* slots PENDING or LIVE                    */
	uint32_t nr_streams;     /* of them STREAM                           */
	uint32_t nr_events;      /* of them EVENT                            */
	uint32_t free_head;      /* slot index + 1; 0 = none                */
	uint32_t inflight;       /* requests submitted, not yet answered    */
	void    *destroy_req;    /* the CTX_DESTROY waiting for inflight==0 */
};

/*
 * A registered host region (revision 3, HOST_REGISTER): guest pages granted
 * once and kept mapped until HOST_UNREGISTER or the disconnect. Per device,
 * not per context: any context's copies may name it. Handles:
 *   bits 0..7   slot (VGPUIF_MAX_HOST_REGIONS = 256)
 *   bits 8..23  domain id
 *   bits 24..55 generation (never 0)
 */
struct vgpuback_hostreg {
	uint32_t gen;            /* 0: free slot                            */
	bool     live;           /* mapped; copies may name it              */
	bool     dying;          /* HOST_UNREGISTER taken: invalid handle   */
	bool     read_only;      /* VGPUIF_HOST_READ_ONLY                   */
	uint32_t npages;
	uint32_t users;          /* copies in flight naming it              */
	uint32_t *grefs;         /* sorted: the overlap check               */
	void    *addr;           /* the backend's mapping (ring.c)          */
	void    *ereg;           /* the executor's registration; NULL =
				  * copies staged                          */
	uint32_t copy_mode;      /* enum vgpuif_copy_mode it got            */
	void    *unreg_req;      /* HOST_UNREGISTER waiting for users == 0  */
};

struct vgpuback_handles {
	uint32_t domid;
	uint32_t max_ctx;        /* <= VGPUIF_MAX_CTX_PER_DEVICE            */
	uint32_t max_per_ctx;    /* <= VGPUIF_MAX_HANDLES_PER_CTX           */
	uint32_t max_streams;    /* VGPUIF_MAX_STREAMS_PER_CTX, or lower    */
	uint32_t max_events;     /* VGPUIF_MAX_EVENTS_PER_CTX, or lower     */
	uint32_t nr_ctx;         /* LIVE or DYING                            */
	uint32_t gen_next;
	/*
	 * Device memory charged to the domain: MEM objects (PENDING
	 * included), modules (a MOD object's size: its code, variables and
	 * constants as the executor charged them), and the local memory
	 * launches made the executor reserve (ring.c adds it, nothing here
	 * takes it out).
	 */
	uint64_t mem_used;
	uint64_t mem_held;       /* in-flight LAUNCHes' holds (ring.c)      */
	struct vgpuback_ctx *ctxs;
	/* Registered host regions (revision 3), allocated at the first. */
	struct vgpuback_hostreg *hregs;  /* VGPUIF_MAX_HOST_REGIONS        */
	uint32_t nr_hregs;       /* slots not free (dying included)         */
	uint32_t hreg_pages;     /* their pages                              */
	uint32_t hreg_gen;
};

int  vgpuback_handles_init(struct vgpuback_handles *h, uint32_t domid,
			   uint32_t max_ctx, uint32_t max_per_ctx);
/* Frees the tables (not the executor objects: the caller destroys those). */
void vgpuback_handles_uninit(struct vgpuback_handles *h);

/* A new LIVE context; -EMFILE when the table is full, -ENOMEM. */
int  vgpuback_ctx_alloc(struct vgpuback_handles *h, struct vgpuback_ctx **out);
/* The LIVE context named by handle, or NULL (DYING ones are not found). */
struct vgpuback_ctx *vgpuback_ctx_lookup(struct vgpuback_handles *h,
					 uint32_t handle);
/* Release a context slot and all its object slots (subtracts its memory). */
void vgpuback_ctx_free(struct vgpuback_handles *h, struct vgpuback_ctx *ctx);

/*
 * May ctx take one more object of this type? 0, or -EMFILE when it holds
 * max_per_ctx objects, or (streams, events) max_streams / max_events of
 * that type, already.
 */
int  vgpuback_obj_room(const struct vgpuback_handles *h,
		       const struct vgpuback_ctx *ctx, enum vgpuback_obj_type type);
/*
 * Reserve an object slot (PENDING) in ctx; *handle receives its future
 * handle. -EMFILE as vgpuback_obj_room(), -ENOMEM.
 */
int  vgpuback_obj_reserve(struct vgpuback_handles *h, struct vgpuback_ctx *ctx,
			  enum vgpuback_obj_type type, struct vgpuback_obj **out,
			  uint64_t *handle);
/* PENDING -> LIVE. */
void vgpuback_obj_commit(struct vgpuback_obj *obj, void *eobj);
/* Free a slot (PENDING or LIVE); MEM bytes leave mem_used. */
void vgpuback_obj_release(struct vgpuback_handles *h, struct vgpuback_ctx *ctx,
			  struct vgpuback_obj *obj);
/* Release what hangs off module mod: its functions and its globals. */
void vgpuback_obj_release_children(struct vgpuback_handles *h,
				   struct vgpuback_ctx *ctx,
				   const struct vgpuback_obj *mod);
/* The LIVE global of module mod whose executor object is eobj, or NULL. */
struct vgpuback_obj *vgpuback_obj_find_global(struct vgpuback_ctx *ctx,
					      const struct vgpuback_obj *mod,
					      const void *eobj);
/*
 * The LIVE object of this type named by handle in ctx, or NULL. A FUNC or
 * a module-owned MEM is found only while its module is still LIVE with the
 * same generation.
 */
struct vgpuback_obj *vgpuback_obj_lookup(struct vgpuback_handles *h,
					 struct vgpuback_ctx *ctx,
					 enum vgpuback_obj_type type,
					 uint64_t handle);
uint64_t vgpuback_obj_handle(const struct vgpuback_handles *h,
			     const struct vgpuback_ctx *ctx,
			     const struct vgpuback_obj *obj);

/*
 * Host regions. check: may a new region of these nr page-sized segments
 * be registered? 0, VGPUIF_RSP_EINVAL (a grant twice, or one already in a
 * live or dying region), VGPUIF_RSP_EMFILE (VGPUIF_MAX_HOST_REGIONS
 * already), VGPUIF_RSP_ENOMEM (past VGPUIF_MAX_HOST_PAGES, or no memory).
 * reserve: the same checks, then a slot (not live yet) with its handle.
 * lookup: the live, not dying region of a handle, or NULL. release: free
 * the slot (the caller unmapped it). Only the table: ring.c maps.
 */
int  vgpuback_hostreg_check(struct vgpuback_handles *h,
			    const struct vgpuif_segment *segs, uint32_t nr);
int  vgpuback_hostreg_reserve(struct vgpuback_handles *h,
			      const struct vgpuif_segment *segs, uint32_t nr,
			      struct vgpuback_hostreg **out, uint64_t *handle);
struct vgpuback_hostreg *vgpuback_hostreg_lookup(struct vgpuback_handles *h,
						 uint64_t handle);
void vgpuback_hostreg_release(struct vgpuback_handles *h,
			      struct vgpuback_hostreg *r);
uint64_t vgpuback_hostreg_handle(const struct vgpuback_handles *h,
				 const struct vgpuback_hostreg *r);

/* Slot i of ctx (i < ctx->high). */
static inline struct vgpuback_obj *vgpuback_obj_at(struct vgpuback_ctx *ctx,
						   uint32_t i)
{
	return &ctx->chunk[i / VGPUBACK_OBJ_CHUNK][i % VGPUBACK_OBJ_CHUNK];
}

/* Iterate LIVE/DYING contexts: i from 0 while < h->max_ctx. */
static inline struct vgpuback_ctx *vgpuback_ctx_at(struct vgpuback_handles *h,
						   uint32_t i)
{
	return h->ctxs[i].state != VGPUBACK_CTX_FREE ? &h->ctxs[i] : NULL;
}

#endif /* VGPUBACK_HANDLES_H */
