/* SPDX-License-Identifier: MIT */
/*
 * handles.c - per-domain handle tables (see handles.h for the encoding).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vgpuif.h"
#include "handles.h"

#define GEN_MASK      0xffffffu
#define OBJ_SLOT_BITS 12
#define OBJ_CTX_SHIFT 12
#define OBJ_TYPE_SHIFT 20
#define OBJ_DOM_SHIFT 24
#define OBJ_GEN_SHIFT 40

_Static_assert(VGPUIF_MAX_HANDLES_PER_CTX <= (1u << OBJ_SLOT_BITS), "slot bits");
_Static_assert(VGPUIF_MAX_CTX_PER_DEVICE <= 256, "ctx bits");
_Static_assert(VGPUIF_MAX_HANDLES_PER_CTX % VGPUBACK_OBJ_CHUNK == 0, "chunks");

static void free_chunks(struct vgpuback_ctx *ctx)
{
	uint32_t i;

	for (i = 0; i < VGPUBACK_OBJ_CHUNKS; i++) {
		free(ctx->chunk[i]);
		ctx->chunk[i] = NULL;
	}
	ctx->nr_alloc = 0;
}

static uint32_t next_gen(struct vgpuback_handles *h)
{
	h->gen_next = (h->gen_next + 1) & GEN_MASK;
	if (h->gen_next == 0)
		h->gen_next = 1;
	return h->gen_next;
}

int vgpuback_handles_init(struct vgpuback_handles *h, uint32_t domid,
			  uint32_t max_ctx, uint32_t max_per_ctx)
{
	memset(h, 0, sizeof(*h));
	if (max_ctx == 0 || max_ctx > VGPUIF_MAX_CTX_PER_DEVICE ||
	    max_per_ctx == 0 || max_per_ctx > VGPUIF_MAX_HANDLES_PER_CTX)
		return -EINVAL;
	h->ctxs = calloc(max_ctx, sizeof(*h->ctxs));
	if (!h->ctxs)
		return -ENOMEM;
	h->domid = domid;
	h->max_ctx = max_ctx;
	h->max_per_ctx = max_per_ctx;
	h->max_streams = VGPUIF_MAX_STREAMS_PER_CTX;
	h->max_events = VGPUIF_MAX_EVENTS_PER_CTX;
	/* Different domains start far apart (Knuth's multiplicative hash). */
	h->gen_next = ((domid + 1) * 2654435761u) & GEN_MASK;
	return 0;
}

void vgpuback_handles_uninit(struct vgpuback_handles *h)
{
	uint32_t i;

	if (!h->ctxs)
		return;
	for (i = 0; i < h->max_ctx; i++)
		free_chunks(&h->ctxs[i]);
	free(h->ctxs);
	h->ctxs = NULL;
	if (h->hregs)
		for (i = 0; i < VGPUIF_MAX_HOST_REGIONS; i++)
			free(h->hregs[i].grefs);
	free(h->hregs);
	h->hregs = NULL;
	h->nr_hregs = h->hreg_pages = 0;
}

int vgpuback_ctx_alloc(struct vgpuback_handles *h, struct vgpuback_ctx **out)
{
	uint32_t i;

	for (i = 0; i < h->max_ctx; i++) {
		struct vgpuback_ctx *c = &h->ctxs[i];

		if (c->state != VGPUBACK_CTX_FREE)
			continue;
		free_chunks(c);
		memset(c, 0, sizeof(*c));
		c->state = VGPUBACK_CTX_LIVE;
		c->idx = (uint8_t)i;
		c->gen = next_gen(h);
		c->handle = (c->gen << 8) | i;
		h->nr_ctx++;
		*out = c;
		return 0;
	}
	return -EMFILE;
}

struct vgpuback_ctx *vgpuback_ctx_lookup(struct vgpuback_handles *h,
					 uint32_t handle)
{
	uint32_t idx = handle & 0xff, gen = handle >> 8;
	struct vgpuback_ctx *c;

	if (gen == 0 || idx >= h->max_ctx)
		return NULL;
	c = &h->ctxs[idx];
	if (c->state != VGPUBACK_CTX_LIVE || c->gen != gen)
		return NULL;
	return c;
}

void vgpuback_ctx_free(struct vgpuback_handles *h, struct vgpuback_ctx *ctx)
{
	uint32_t i;

	if (ctx->state == VGPUBACK_CTX_FREE)
		return;
	for (i = 0; i < ctx->high; i++) {
		struct vgpuback_obj *o = vgpuback_obj_at(ctx, i);

		if (o->state != VGPUBACK_SLOT_FREE &&
		    ((o->type == VGPUBACK_OBJ_MEM &&
		      !(o->oflags & VGPUBACK_OBJF_MODULE_OWNED)) ||
		     o->type == VGPUBACK_OBJ_MOD))
			h->mem_used -= o->size;
	}
	free_chunks(ctx);
	memset(ctx, 0, sizeof(*ctx));
	h->nr_ctx--;
}

/* One more chunk of slots; the ones before it stay where they are. */
static int grow(struct vgpuback_ctx *ctx)
{
	uint32_t c = ctx->nr_alloc / VGPUBACK_OBJ_CHUNK;

	if (c >= VGPUBACK_OBJ_CHUNKS)
		return -EMFILE;
	ctx->chunk[c] = calloc(VGPUBACK_OBJ_CHUNK, sizeof(struct vgpuback_obj));
	if (!ctx->chunk[c])
		return -ENOMEM;
	ctx->nr_alloc += VGPUBACK_OBJ_CHUNK;
	return 0;
}

int vgpuback_obj_room(const struct vgpuback_handles *h,
		      const struct vgpuback_ctx *ctx, enum vgpuback_obj_type type)
{
	if (ctx->nr_used >= h->max_per_ctx)
		return -EMFILE;
	if (type == VGPUBACK_OBJ_STREAM && ctx->nr_streams >= h->max_streams)
		return -EMFILE;
	if (type == VGPUBACK_OBJ_EVENT && ctx->nr_events >= h->max_events)
		return -EMFILE;
	return 0;
}

int vgpuback_obj_reserve(struct vgpuback_handles *h, struct vgpuback_ctx *ctx,
			 enum vgpuback_obj_type type, struct vgpuback_obj **out,
			 uint64_t *handle)
{
	struct vgpuback_obj *o;
	uint32_t slot;
	int err;

	err = vgpuback_obj_room(h, ctx, type);
	if (err)
		return err;
	if (ctx->free_head) {
		slot = ctx->free_head - 1;
		ctx->free_head = vgpuback_obj_at(ctx, slot)->next_free;
	} else {
		if (ctx->high >= ctx->nr_alloc) {
			err = grow(ctx);
			if (err)
				return err;
		}
		slot = ctx->high++;
	}
	o = vgpuback_obj_at(ctx, slot);
	memset(o, 0, sizeof(*o));
	o->type = (uint8_t)type;
	o->state = VGPUBACK_SLOT_PENDING;
	o->slot = (uint16_t)slot;
	o->gen = next_gen(h);
	ctx->nr_used++;
	if (type == VGPUBACK_OBJ_STREAM)
		ctx->nr_streams++;
	else if (type == VGPUBACK_OBJ_EVENT)
		ctx->nr_events++;
	*out = o;
	if (handle)
		*handle = vgpuback_obj_handle(h, ctx, o);
	return 0;
}

void vgpuback_obj_commit(struct vgpuback_obj *obj, void *eobj)
{
	obj->eobj = eobj;
	obj->state = VGPUBACK_SLOT_LIVE;
}

void vgpuback_obj_release(struct vgpuback_handles *h, struct vgpuback_ctx *ctx,
			  struct vgpuback_obj *obj)
{
	if (obj->state == VGPUBACK_SLOT_FREE)
		return;
	if ((obj->type == VGPUBACK_OBJ_MEM &&
	     !(obj->oflags & VGPUBACK_OBJF_MODULE_OWNED)) ||
	    obj->type == VGPUBACK_OBJ_MOD)
		h->mem_used -= obj->size;
	else if (obj->type == VGPUBACK_OBJ_STREAM)
		ctx->nr_streams--;
	else if (obj->type == VGPUBACK_OBJ_EVENT)
		ctx->nr_events--;
	obj->state = VGPUBACK_SLOT_FREE;
	obj->oflags = 0;
	obj->uflags = 0;
	obj->eobj = NULL;
	obj->size = 0;
	obj->gen = 0;
	obj->next_free = ctx->free_head;
	ctx->free_head = (uint32_t)obj->slot + 1;
	ctx->nr_used--;
}

uint64_t vgpuback_obj_handle(const struct vgpuback_handles *h,
			     const struct vgpuback_ctx *ctx,
			     const struct vgpuback_obj *obj)
{
	return (uint64_t)obj->slot |
	       ((uint64_t)ctx->idx << OBJ_CTX_SHIFT) |
	       ((uint64_t)obj->type << OBJ_TYPE_SHIFT) |
	       ((uint64_t)(h->domid & 0xffff) << OBJ_DOM_SHIFT) |
	       ((uint64_t)obj->gen << OBJ_GEN_SHIFT);
}

struct vgpuback_obj *vgpuback_obj_lookup(struct vgpuback_handles *h,
					 struct vgpuback_ctx *ctx,
					 enum vgpuback_obj_type type,
					 uint64_t handle)
{
	uint32_t slot = handle & ((1u << OBJ_SLOT_BITS) - 1);
	uint32_t cidx = (handle >> OBJ_CTX_SHIFT) & 0xff;
	uint32_t htype = (handle >> OBJ_TYPE_SHIFT) & 0xf;
	uint32_t dom = (handle >> OBJ_DOM_SHIFT) & 0xffff;
	uint32_t gen = (uint32_t)(handle >> OBJ_GEN_SHIFT);
	struct vgpuback_obj *o;

	if (!ctx || ctx->state != VGPUBACK_CTX_LIVE)
		return NULL;
	if (gen == 0 || cidx != ctx->idx || htype != (uint32_t)type ||
	    dom != (h->domid & 0xffff) || slot >= ctx->high)
		return NULL;
	o = vgpuback_obj_at(ctx, slot);
	if (o->state != VGPUBACK_SLOT_LIVE || o->type != type || o->gen != gen)
		return NULL;
	if (type == VGPUBACK_OBJ_FUNC ||
	    (o->oflags & VGPUBACK_OBJF_MODULE_OWNED)) {
		struct vgpuback_obj *m;

		if (o->parent_slot >= ctx->high)
			return NULL;
		m = vgpuback_obj_at(ctx, o->parent_slot);
		if (m->state != VGPUBACK_SLOT_LIVE ||
		    m->type != VGPUBACK_OBJ_MOD || m->gen != o->parent_gen)
			return NULL;
	}
	return o;
}

/* Does o hang off module mod (a function or a global of it)? */
static bool is_child(const struct vgpuback_obj *o, const struct vgpuback_obj *mod)
{
	if (o->state == VGPUBACK_SLOT_FREE)
		return false;
	if (o->type != VGPUBACK_OBJ_FUNC &&
	    !(o->type == VGPUBACK_OBJ_MEM &&
	      (o->oflags & VGPUBACK_OBJF_MODULE_OWNED)))
		return false;
	return o->parent_slot == mod->slot && o->parent_gen == mod->gen;
}

void vgpuback_obj_release_children(struct vgpuback_handles *h,
				   struct vgpuback_ctx *ctx,
				   const struct vgpuback_obj *mod)
{
	uint32_t i;

	for (i = 0; i < ctx->high; i++) {
		struct vgpuback_obj *o = vgpuback_obj_at(ctx, i);

		if (o != mod && is_child(o, mod))
			vgpuback_obj_release(h, ctx, o);
	}
}

struct vgpuback_obj *vgpuback_obj_find_global(struct vgpuback_ctx *ctx,
					      const struct vgpuback_obj *mod,
					      const void *eobj)
{
	uint32_t i;

	for (i = 0; i < ctx->high; i++) {
		struct vgpuback_obj *o = vgpuback_obj_at(ctx, i);

		if (o->state == VGPUBACK_SLOT_LIVE &&
		    o->type == VGPUBACK_OBJ_MEM && o->eobj == eobj &&
		    is_child(o, mod))
			return o;
	}
	return NULL;
}

/* ---------------------------------------------------- host regions */

#define HREG_SLOT_BITS 8u
#define HREG_DOM_SHIFT 8u
#define HREG_GEN_SHIFT 24u

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static bool hreg_has(const struct vgpuback_hostreg *r, uint32_t gref)
{
	uint32_t lo = 0, hi = r->npages;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (r->grefs[mid] == gref)
			return true;
		if (r->grefs[mid] < gref)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* The sorted refs of segs (malloc'd) or NULL with *status set. */
static uint32_t *hreg_sorted(struct vgpuback_handles *h,
			     const struct vgpuif_segment *segs, uint32_t nr,
			     int *status)
{
	uint32_t *g, i, k;

	*status = 0;
	if (h->nr_hregs >= VGPUIF_MAX_HOST_REGIONS) {
		*status = VGPUIF_RSP_EMFILE;
		return NULL;
	}
	if (nr == 0 || nr > VGPUIF_MAX_HOST_PAGES ||
	    h->hreg_pages > VGPUIF_MAX_HOST_PAGES - nr) {
		*status = nr ? VGPUIF_RSP_ENOMEM : VGPUIF_RSP_EINVAL;
		return NULL;
	}
	g = malloc((size_t)nr * sizeof(*g));
	if (!g) {
		*status = VGPUIF_RSP_ENOMEM;
		return NULL;
	}
	for (i = 0; i < nr; i++)
		g[i] = segs[i].gref;
	qsort(g, nr, sizeof(*g), cmp_u32);
	for (i = 1; i < nr; i++)
		if (g[i] == g[i - 1])
			goto overlap;   /* one page twice */
	if (h->hregs)
		for (k = 0; k < VGPUIF_MAX_HOST_REGIONS; k++) {
			const struct vgpuback_hostreg *r = &h->hregs[k];

			if (!r->gen || !r->grefs)
				continue;
			for (i = 0; i < nr; i++)
				if (hreg_has(r, g[i]))
					goto overlap;
		}
	return g;
overlap:
	free(g);
	*status = VGPUIF_RSP_EINVAL;
	return NULL;
}

int vgpuback_hostreg_check(struct vgpuback_handles *h,
			   const struct vgpuif_segment *segs, uint32_t nr)
{
	int status;
	uint32_t *g = hreg_sorted(h, segs, nr, &status);

	free(g);
	return status;
}

int vgpuback_hostreg_reserve(struct vgpuback_handles *h,
			     const struct vgpuif_segment *segs, uint32_t nr,
			     struct vgpuback_hostreg **out, uint64_t *handle)
{
	struct vgpuback_hostreg *r = NULL;
	uint32_t *g, k;
	int status;

	g = hreg_sorted(h, segs, nr, &status);
	if (!g)
		return status;
	if (!h->hregs) {
		h->hregs = calloc(VGPUIF_MAX_HOST_REGIONS, sizeof(*h->hregs));
		if (!h->hregs) {
			free(g);
			return VGPUIF_RSP_ENOMEM;
		}
	}
	for (k = 0; k < VGPUIF_MAX_HOST_REGIONS && !r; k++)
		if (!h->hregs[k].gen)
			r = &h->hregs[k];
	if (!r) {       /* cannot happen: nr_hregs said there is room */
		free(g);
		return VGPUIF_RSP_EMFILE;
	}
	memset(r, 0, sizeof(*r));
	h->hreg_gen++;
	if (h->hreg_gen == 0)
		h->hreg_gen = 1;
	r->gen = h->hreg_gen;
	r->npages = nr;
	r->grefs = g;
	h->nr_hregs++;
	h->hreg_pages += nr;
	*out = r;
	*handle = vgpuback_hostreg_handle(h, r);
	return 0;
}

uint64_t vgpuback_hostreg_handle(const struct vgpuback_handles *h,
				 const struct vgpuback_hostreg *r)
{
	uint64_t slot = (uint64_t)(r - h->hregs);

	return slot | (uint64_t)(h->domid & 0xffffu) << HREG_DOM_SHIFT |
	       (uint64_t)r->gen << HREG_GEN_SHIFT;
}

struct vgpuback_hostreg *vgpuback_hostreg_lookup(struct vgpuback_handles *h,
						 uint64_t handle)
{
	uint64_t slot = handle & ((1u << HREG_SLOT_BITS) - 1);
	struct vgpuback_hostreg *r;

	if (!h->hregs || !handle || handle >> 56 ||
	    ((handle >> HREG_DOM_SHIFT) & 0xffffu) != (h->domid & 0xffffu))
		return NULL;
	r = &h->hregs[slot];
	if (!r->gen || !r->live || r->dying ||
	    (uint32_t)(handle >> HREG_GEN_SHIFT) != r->gen)
		return NULL;
	return r;
}

void vgpuback_hostreg_release(struct vgpuback_handles *h,
			      struct vgpuback_hostreg *r)
{
	if (!r->gen)
		return;
	free(r->grefs);
	h->nr_hregs--;
	h->hreg_pages -= r->npages;
	memset(r, 0, sizeof(*r));
}
