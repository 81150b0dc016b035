/* SPDX-License-Identifier: MIT */
/*
 * test_handles.c - per-domain handle tables: limits, stale handles,
 * wrong context/type/domain, memory accounting.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>

#include "vgpuif.h"
#include "handles.h"

static struct vgpuback_handles H;

static void setup(void)
{
	ck_assert_int_eq(vgpuback_handles_init(&H, 3, 4, 8), 0);
}

static void teardown(void)
{
	vgpuback_handles_uninit(&H);
}

START_TEST(test_init_limits)
{
	struct vgpuback_handles h;

	ck_assert_int_eq(vgpuback_handles_init(&h, 1, 0, 8), -EINVAL);
	ck_assert_int_eq(vgpuback_handles_init(&h, 1, 257, 8), -EINVAL);
	ck_assert_int_eq(vgpuback_handles_init(&h, 1, 4, 4097), -EINVAL);
	ck_assert_int_eq(vgpuback_handles_init(&h, 1, 256, 4096), 0);
	vgpuback_handles_uninit(&h);
}
END_TEST

START_TEST(test_ctx_table_full)
{
	struct vgpuback_ctx *c[5];
	int i;

	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(vgpuback_ctx_alloc(&H, &c[i]), 0);
		ck_assert_uint_ne(c[i]->handle, 0);
	}
	ck_assert_int_eq(vgpuback_ctx_alloc(&H, &c[4]), -EMFILE);
	ck_assert_uint_eq(H.nr_ctx, 4);
	vgpuback_ctx_free(&H, c[1]);
	ck_assert_int_eq(vgpuback_ctx_alloc(&H, &c[4]), 0);
}
END_TEST

START_TEST(test_ctx_stale_and_dying)
{
	struct vgpuback_ctx *c, *d;
	uint32_t old;

	ck_assert_int_eq(vgpuback_ctx_alloc(&H, &c), 0);
	old = c->handle;
	ck_assert_ptr_eq(vgpuback_ctx_lookup(&H, old), c);
	vgpuback_ctx_free(&H, c);
	ck_assert_ptr_null(vgpuback_ctx_lookup(&H, old));
	/* Same slot again, new generation: the old handle stays dead. */
	ck_assert_int_eq(vgpuback_ctx_alloc(&H, &d), 0);
	ck_assert_uint_eq(d->idx, old & 0xff);
	ck_assert_uint_ne(d->handle, old);
	ck_assert_ptr_null(vgpuback_ctx_lookup(&H, old));
	d->state = VGPUBACK_CTX_DYING;
	ck_assert_ptr_null(vgpuback_ctx_lookup(&H, d->handle));
	ck_assert_ptr_null(vgpuback_ctx_lookup(&H, 0));
	ck_assert_ptr_null(vgpuback_ctx_lookup(&H, 0xffffffffu));
}
END_TEST

START_TEST(test_obj_limit_and_reuse)
{
	struct vgpuback_ctx *c;
	struct vgpuback_obj *o[9];
	uint64_t h[9];
	int i;

	ck_assert_int_eq(vgpuback_ctx_alloc(&H, &c), 0);
	for (i = 0; i < 8; i++) {
		ck_assert_int_eq(vgpuback_obj_reserve(&H, c, VGPUBACK_OBJ_MEM,
						      &o[i], &h[i]), 0);
		/* PENDING is not visible yet. */
		ck_assert_ptr_null(vgpuback_obj_lookup(&H, c, VGPUBACK_OBJ_MEM, h[i]));
		vgpuback_obj_commit(o[i], (void *)(uintptr_t)(i + 1));
		ck_assert_ptr_eq(vgpuback_obj_lookup(&H, c, VGPUBACK_OBJ_MEM, h[i]), o[i]);
	}
	ck_assert_int_eq(vgpuback_obj_reserve(&H, c, VGPUBACK_OBJ_MEM, &o[8], &h[8]),
			 -EMFILE);
	vgpuback_obj_release(&H, c, o[3]);
	ck_assert_ptr_null(vgpuback_obj_lookup(&H, c, VGPUBACK_OBJ_MEM, h[3]));
	ck_assert_int_eq(vgpuback_obj_reserve(&H, c, VGPUBACK_OBJ_MEM, &o[8], &h[8]), 0);
	vgpuback_obj_commit(o[8], (void *)1);
	ck_assert_uint_ne(h[8], h[3]);
	ck_assert_ptr_null(vgpuback_obj_lookup(&H, c, VGPUBACK_OBJ_MEM, h[3]));
	ck_assert_ptr_eq(vgpuback_obj_lookup(&H, c, VGPUBACK_OBJ_MEM, h[8]), o[8]);
}
END_TEST

START_TEST(test_obj_wrong_ctx_type_domain)
{
	struct vgpuback_handles h2;
	struct vgpuback_ctx *a, *b, *a2;
	struct vgpuback_obj *o, *o2;
	uint64_t ha, h2a;

	ck_assert_int_eq(vgpuback_ctx_alloc(&H, &a), 0);
	ck_assert_int_eq(vgpuback_ctx_alloc(&H, &b), 0);
	ck_assert_int_eq(vgpuback_obj_reserve(&H, a, VGPUBACK_OBJ_MEM, &o, &ha), 0);
	vgpuback_obj_commit(o, (void *)1);
	ck_assert_ptr_null(vgpuback_obj_lookup(&H, b, VGPUBACK_OBJ_MEM, ha));
	ck_assert_ptr_null(vgpuback_obj_lookup(&H, a, VGPUBACK_OBJ_MOD, ha));
	ck_assert_ptr_null(vgpuback_obj_lookup(&H, a, VGPUBACK_OBJ_MEM, ha ^ (1ull << 40)));
	ck_assert_ptr_null(vgpuback_obj_lookup(&H, a, VGPUBACK_OBJ_MEM, ha + 1));

	/* Domain 4's table, same layout: neither accepts the other's. */
	ck_assert_int_eq(vgpuback_handles_init(&h2, 4, 4, 8), 0);
	ck_assert_int_eq(vgpuback_ctx_alloc(&h2, &a2), 0);
	ck_assert_int_eq(vgpuback_obj_reserve(&h2, a2, VGPUBACK_OBJ_MEM, &o2, &h2a), 0);
	vgpuback_obj_commit(o2, (void *)1);
	ck_assert_uint_eq(a->idx, a2->idx);
	ck_assert_ptr_null(vgpuback_ctx_lookup(&h2, a->handle));
	ck_assert_ptr_null(vgpuback_ctx_lookup(&H, a2->handle));
	ck_assert_ptr_null(vgpuback_obj_lookup(&h2, a2, VGPUBACK_OBJ_MEM, ha));
	ck_assert_ptr_null(vgpuback_obj_lookup(&H, a, VGPUBACK_OBJ_MEM, h2a));
	vgpuback_handles_uninit(&h2);
}
END_TEST

START_TEST(test_func_dies_with_module)
{
	struct vgpuback_ctx *c;
	struct vgpuback_obj *m, *f;
	uint64_t hm, hf;

	ck_assert_int_eq(vgpuback_ctx_alloc(&H, &c), 0);
	ck_assert_int_eq(vgpuback_obj_reserve(&H, c, VGPUBACK_OBJ_MOD, &m, &hm), 0);
	vgpuback_obj_commit(m, (void *)1);
	ck_assert_int_eq(vgpuback_obj_reserve(&H, c, VGPUBACK_OBJ_FUNC, &f, &hf), 0);
	f->parent_slot = m->slot;
	f->parent_gen = m->gen;
	vgpuback_obj_commit(f, (void *)2);
	ck_assert_ptr_eq(vgpuback_obj_lookup(&H, c, VGPUBACK_OBJ_FUNC, hf), f);
	vgpuback_obj_release(&H, c, m);
	ck_assert_ptr_null(vgpuback_obj_lookup(&H, c, VGPUBACK_OBJ_FUNC, hf));
	/* A new module in the old slot does not revive the function. */
	ck_assert_int_eq(vgpuback_obj_reserve(&H, c, VGPUBACK_OBJ_MOD, &m, &hm), 0);
	vgpuback_obj_commit(m, (void *)3);
	ck_assert_ptr_null(vgpuback_obj_lookup(&H, c, VGPUBACK_OBJ_FUNC, hf));
}
END_TEST

/* A reserved slot's address must survive the table growing (requests in
 * flight hold it until their completion commits or releases it). */
START_TEST(test_obj_address_stable_while_growing)
{
	struct vgpuback_handles h;
	struct vgpuback_ctx *c;
	struct vgpuback_obj *first, *o;
	uint64_t hd, first_hd;
	int i;

	ck_assert_int_eq(vgpuback_handles_init(&h, 1, 1, 4096), 0);
	ck_assert_int_eq(vgpuback_ctx_alloc(&h, &c), 0);
	ck_assert_int_eq(vgpuback_obj_reserve(&h, c, VGPUBACK_OBJ_MEM, &first,
					      &first_hd), 0);
	for (i = 1; i < 4096; i++)
		ck_assert_int_eq(vgpuback_obj_reserve(&h, c, VGPUBACK_OBJ_MOD,
						      &o, &hd), 0);
	ck_assert_int_eq(vgpuback_obj_reserve(&h, c, VGPUBACK_OBJ_MOD, &o, &hd),
			 -EMFILE);
	vgpuback_obj_commit(first, (void *)0x1);
	ck_assert_ptr_eq(vgpuback_obj_lookup(&h, c, VGPUBACK_OBJ_MEM, first_hd),
			 first);
	vgpuback_handles_uninit(&h);
}
END_TEST

START_TEST(test_mem_accounting)
{
	struct vgpuback_ctx *a, *b;
	struct vgpuback_obj *o;
	uint64_t h;

	ck_assert_int_eq(vgpuback_ctx_alloc(&H, &a), 0);
	ck_assert_int_eq(vgpuback_ctx_alloc(&H, &b), 0);
	ck_assert_int_eq(vgpuback_obj_reserve(&H, a, VGPUBACK_OBJ_MEM, &o, &h), 0);
	o->size = 1000;
	H.mem_used += 1000;
	ck_assert_int_eq(vgpuback_obj_reserve(&H, b, VGPUBACK_OBJ_MEM, &o, &h), 0);
	o->size = 500;
	H.mem_used += 500;
	vgpuback_obj_release(&H, b, o);
	ck_assert_uint_eq(H.mem_used, 1000);
	vgpuback_ctx_free(&H, a);
	ck_assert_uint_eq(H.mem_used, 0);
	ck_assert_uint_eq(H.nr_ctx, 1);
}
END_TEST

/* Streams and events: bounded per type, and within the handle table. */
START_TEST(test_stream_event_limits)
{
	struct vgpuback_handles h;
	struct vgpuback_ctx *c;
	struct vgpuback_obj *o[16];
	uint64_t hd;

	ck_assert_int_eq(vgpuback_handles_init(&h, 9, 2, 8), 0);
	ck_assert_uint_eq(h.max_streams, VGPUIF_MAX_STREAMS_PER_CTX);
	ck_assert_uint_eq(h.max_events, VGPUIF_MAX_EVENTS_PER_CTX);
	h.max_streams = 2;
	h.max_events = 3;
	ck_assert_int_eq(vgpuback_ctx_alloc(&h, &c), 0);
	ck_assert_int_eq(vgpuback_obj_reserve(&h, c, VGPUBACK_OBJ_STREAM, &o[0], &hd), 0);
	ck_assert_int_eq(vgpuback_obj_reserve(&h, c, VGPUBACK_OBJ_STREAM, &o[1], &hd), 0);
	ck_assert_int_eq(vgpuback_obj_room(&h, c, VGPUBACK_OBJ_STREAM), -EMFILE);
	ck_assert_int_eq(vgpuback_obj_reserve(&h, c, VGPUBACK_OBJ_STREAM, &o[2], &hd), -EMFILE);
	ck_assert_int_eq(vgpuback_obj_room(&h, c, VGPUBACK_OBJ_EVENT), 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(vgpuback_obj_reserve(&h, c, VGPUBACK_OBJ_EVENT,
						      &o[3 + i], &hd), 0);
	ck_assert_int_eq(vgpuback_obj_reserve(&h, c, VGPUBACK_OBJ_EVENT, &o[6], &hd), -EMFILE);
	ck_assert_uint_eq(c->nr_streams, 2);
	ck_assert_uint_eq(c->nr_events, 3);
	/* a released stream makes room for one */
	vgpuback_obj_release(&h, c, o[0]);
	ck_assert_uint_eq(c->nr_streams, 1);
	ck_assert_int_eq(vgpuback_obj_reserve(&h, c, VGPUBACK_OBJ_STREAM, &o[0], &hd), 0);
	/* 5 used of 8: the table itself bounds them too */
	ck_assert_int_eq(vgpuback_obj_reserve(&h, c, VGPUBACK_OBJ_MEM, &o[7], &hd), 0);
	ck_assert_int_eq(vgpuback_obj_reserve(&h, c, VGPUBACK_OBJ_MEM, &o[8], &hd), 0);
	ck_assert_int_eq(vgpuback_obj_reserve(&h, c, VGPUBACK_OBJ_MEM, &o[9], &hd), 0);
	ck_assert_uint_eq(c->nr_used, 8);
	h.max_events = 10;
	ck_assert_int_eq(vgpuback_obj_room(&h, c, VGPUBACK_OBJ_EVENT), -EMFILE);
	vgpuback_handles_uninit(&h);
}
END_TEST

/*
 * A module's globals: module-owned MEM, found while the module lives, not
 * in mem_used, found again by executor object, released with the module's
 * functions by release_children.
 */
START_TEST(test_module_globals)
{
	struct vgpuback_ctx *c;
	struct vgpuback_obj *mod, *mod2, *g, *g2, *f, *m;
	uint64_t hmod, hg, hg2, hf, hm;
	uint32_t used;

	ck_assert_int_eq(vgpuback_ctx_alloc(&H, &c), 0);
	ck_assert_int_eq(vgpuback_obj_reserve(&H, c, VGPUBACK_OBJ_MOD, &mod, &hmod), 0);
	vgpuback_obj_commit(mod, (void *)0x10);
	ck_assert_int_eq(vgpuback_obj_reserve(&H, c, VGPUBACK_OBJ_MOD, &mod2, NULL), 0);
	vgpuback_obj_commit(mod2, (void *)0x11);
	ck_assert_int_eq(vgpuback_obj_reserve(&H, c, VGPUBACK_OBJ_MEM, &m, &hm), 0);
	m->size = 100;
	H.mem_used += 100;
	vgpuback_obj_commit(m, (void *)0x12);

	ck_assert_int_eq(vgpuback_obj_reserve(&H, c, VGPUBACK_OBJ_MEM, &g, &hg), 0);
	g->oflags = VGPUBACK_OBJF_MODULE_OWNED;
	g->size = 4096;
	g->parent_slot = mod->slot;
	g->parent_gen = mod->gen;
	vgpuback_obj_commit(g, (void *)0x20);
	ck_assert_int_eq(vgpuback_obj_reserve(&H, c, VGPUBACK_OBJ_MEM, &g2, &hg2), 0);
	g2->oflags = VGPUBACK_OBJF_MODULE_OWNED;
	g2->parent_slot = mod2->slot;
	g2->parent_gen = mod2->gen;
	vgpuback_obj_commit(g2, (void *)0x20); /* same eobj, other module */
	ck_assert_int_eq(vgpuback_obj_reserve(&H, c, VGPUBACK_OBJ_FUNC, &f, &hf), 0);
	f->parent_slot = mod->slot;
	f->parent_gen = mod->gen;
	vgpuback_obj_commit(f, (void *)0x30);

	ck_assert_uint_eq(H.mem_used, 100);
	ck_assert_ptr_eq(vgpuback_obj_lookup(&H, c, VGPUBACK_OBJ_MEM, hg), g);
	ck_assert_ptr_eq(vgpuback_obj_find_global(c, mod, (void *)0x20), g);
	ck_assert_ptr_eq(vgpuback_obj_find_global(c, mod2, (void *)0x20), g2);
	ck_assert_ptr_null(vgpuback_obj_find_global(c, mod, (void *)0x21));
	ck_assert_ptr_null(vgpuback_obj_find_global(c, mod, (void *)0x12));

	used = c->nr_used;
	vgpuback_obj_release_children(&H, c, mod);
	ck_assert_uint_eq(c->nr_used, used - 2);         /* g and f */
	vgpuback_obj_release(&H, c, mod);
	ck_assert_ptr_null(vgpuback_obj_lookup(&H, c, VGPUBACK_OBJ_MEM, hg));
	ck_assert_ptr_null(vgpuback_obj_lookup(&H, c, VGPUBACK_OBJ_FUNC, hf));
	ck_assert_ptr_eq(vgpuback_obj_lookup(&H, c, VGPUBACK_OBJ_MEM, hg2), g2);
	ck_assert_ptr_eq(vgpuback_obj_lookup(&H, c, VGPUBACK_OBJ_MEM, hm), m);
	ck_assert_uint_eq(H.mem_used, 100);  /* globals never counted */
	/* a global whose module went without release_children: not found */
	vgpuback_obj_release(&H, c, mod2);
	ck_assert_ptr_null(vgpuback_obj_lookup(&H, c, VGPUBACK_OBJ_MEM, hg2));
	vgpuback_ctx_free(&H, c);
	ck_assert_uint_eq(H.mem_used, 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("handles");
	TCase *tc = tcase_create("contexts");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_init_limits);
	tcase_add_test(tc, test_ctx_table_full);
	tcase_add_test(tc, test_ctx_stale_and_dying);
	suite_add_tcase(s, tc);
	tc = tcase_create("objects");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_obj_limit_and_reuse);
	tcase_add_test(tc, test_obj_wrong_ctx_type_domain);
	tcase_add_test(tc, test_func_dies_with_module);
	tcase_add_test(tc, test_mem_accounting);
	tcase_add_test(tc, test_obj_address_stable_while_growing);
	tcase_add_test(tc, test_stream_event_limits);
	tcase_add_test(tc, test_module_globals);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
