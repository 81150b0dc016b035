/*
 * test_fatbin_data.c - cuda-api/fatbin.c against the files nvcc 13.0 made
 * (tests/data/cuda-13.0, see its README): what cuobjdump and readelf said of
 * each is what the parser must find. Each file is read into a heap block of
 * its exact size (ASan in make check sees a read past it).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fatbin.h"

#ifndef VGPU_TEST_DATA_DIR
#error VGPU_TEST_DATA_DIR must name tests/data/cuda-13.0
#endif

static uint8_t *load(const char *name, size_t *len)
{
	char path[512];
	uint8_t *p;
	long n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", VGPU_TEST_DATA_DIR, name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	p = malloc((size_t)n);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(fread(p, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return p;
}

/* One expected entry of a container. */
struct want_entry {
	uint16_t kind;
	uint32_t arch;
	enum vgpu_fatbin_compression comp;
};

struct want_file {
	const char *name;
	unsigned int nr;
	struct want_entry e[3];
};

START_TEST(test_listings)
{
	/* listings.txt (cuobjdump), entry by entry, in container order. */
	static const struct want_file files[] = {
		{ "kern.default.fatbin", 2, { { 2, 75, VGPU_FATBIN_UNCOMPRESSED },
					      { 1, 75, VGPU_FATBIN_ZSTD } } },
		{ "kern.sm_90+ptx.fatbin", 2, { { 1, 90, VGPU_FATBIN_ZSTD },
						{ 2, 90, VGPU_FATBIN_UNCOMPRESSED } } },
		{ "kern.ptx-only.fatbin", 1, { { 1, 90, VGPU_FATBIN_ZSTD } } },
		{ "kern.sm_80+sm_90.fatbin", 2, { { 2, 80, VGPU_FATBIN_UNCOMPRESSED },
						  { 2, 90, VGPU_FATBIN_UNCOMPRESSED } } },
		{ "kern.compressed.fatbin", 2, { { 1, 90, VGPU_FATBIN_ZSTD },
						 { 2, 90, VGPU_FATBIN_ZSTD } } },
	};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct vgpu_fatbin_iter it;
		struct vgpu_fatbin_entry e;
		enum vgpu_image_kind kind;
		size_t len, n;
		uint8_t *p = load(files[i].name, &len);
		unsigned int j = 0;
		int r;

		ck_assert_int_eq(vgpu_image_length(p, len, &kind, &n), 0);
		ck_assert_int_eq(kind, VGPU_IMAGE_FATBIN);
		ck_assert_msg(n == len, "%s: length %zu of %zu", files[i].name, n, len);
		ck_assert_int_eq(vgpu_fatbin_iter_init(&it, p, len), 0);
		while ((r = vgpu_fatbin_next(&it, &e)) == 1) {
			ck_assert_msg(j < files[i].nr, "%s: too many entries", files[i].name);
			ck_assert_msg(e.kind == files[i].e[j].kind && e.arch == files[i].e[j].arch &&
				      e.compression == files[i].e[j].comp,
				      "%s entry %u: kind %u arch %u compression %d", files[i].name,
				      j, e.kind, e.arch, e.compression);
			if (e.kind == VGPU_FATBIN_KIND_ELF &&
			    e.compression == VGPU_FATBIN_UNCOMPRESSED)
				ck_assert_int_eq(memcmp(p + e.payload_offset, "\177ELF", 4), 0);
			if (e.compression == VGPU_FATBIN_ZSTD) /* zstd's frame magic */
				ck_assert_int_eq(memcmp(p + e.payload_offset, "\x28\xb5\x2f\xfd", 4), 0);
			j++;
		}
		ck_assert_int_eq(r, 0);
		ck_assert_uint_eq(j, files[i].nr);
		free(p);
	}
}
END_TEST

START_TEST(test_cubin)
{
	struct vgpu_cubin_info in;
	enum vgpu_image_kind kind;
	size_t len, n;
	uint8_t *p = load("kern.sm_90.cubin", &len);

	ck_assert_int_eq(vgpu_image_length(p, len, &kind, &n), 0);
	ck_assert_int_eq(kind, VGPU_IMAGE_CUBIN);
	ck_assert_uint_eq(n, len);
	/* The guest's case: the length found from the headers alone. */
	ck_assert_int_eq(vgpu_image_length(p, SIZE_MAX, &kind, &n), 0);
	ck_assert_uint_eq(n, len);
	ck_assert_int_eq(vgpu_cubin_info(p, len, &in), 0);
	/* kern.sm_90.cubin.sections.txt (readelf). */
	ck_assert_uint_eq(in.arch, 90);
	ck_assert_uint_eq(in.nr_kernels, 12);
	ck_assert_uint_eq(in.global_bytes, 0x404);      /* kd_table + kd_counter */
	ck_assert_uint_eq(in.constant_bytes, 0x10 + 0x10); /* .nv.constant3, 4 */
	ck_assert_uint_gt(in.code_bytes, 0);
	ck_assert_uint_gt(in.kernel_constant_bytes, 0);
	/* One byte short anywhere is refused, never read past. */
	ck_assert_int_eq(vgpu_cubin_info(p, len - 1, &in), -EMSGSIZE);
	ck_assert_int_eq(vgpu_image_length(p, len - 1, NULL, &n), -EMSGSIZE);
	free(p);
}
END_TEST

START_TEST(test_select_and_module_info)
{
	struct vgpu_cubin_info a, b;
	struct vgpu_fatbin_entry e;
	size_t len, clen;
	uint8_t *p, *cub = load("kern.sm_90.cubin", &clen);

	ck_assert_int_eq(vgpu_cubin_info(cub, clen, &a), 0);
	/* The sm_90 ELF of a fat binary is the cubin itself. */
	p = load("kern.sm_90+ptx.fatbin", &len);
	ck_assert_int_eq(vgpu_fatbin_select(p, len, 90, &e), 1);
	ck_assert_uint_eq(e.kind, VGPU_FATBIN_KIND_ELF);
	ck_assert_uint_eq(e.payload_size, clen);
	ck_assert_int_eq(memcmp(p + e.payload_offset, cub, clen), 0);
	ck_assert_int_eq(vgpu_image_module_info(p, len, 90, 1 << 20, &b), 0);
	ck_assert_uint_eq(b.global_bytes, a.global_bytes);
	ck_assert_uint_eq(b.code_bytes, a.code_bytes);
	free(p);
	/* Plain nvcc: sm_75 SASS cannot run on sm_90, so the PTX is picked. */
	p = load("kern.default.fatbin", &len);
	ck_assert_int_eq(vgpu_fatbin_select(p, len, 90, &e), 1);
	ck_assert_uint_eq(e.kind, VGPU_FATBIN_KIND_PTX);
	ck_assert_uint_eq(e.arch, 75);
	ck_assert_int_eq(vgpu_image_module_info(p, len, 90, 1 << 20, &b), -EOPNOTSUPP);
	ck_assert_int_eq(vgpu_fatbin_select(p, len, 75, &e), 1);
	ck_assert_uint_eq(e.kind, VGPU_FATBIN_KIND_ELF);
	free(p);
	/* SASS only: sm_86 takes sm_80, sm_100 nothing. */
	p = load("kern.sm_80+sm_90.fatbin", &len);
	ck_assert_int_eq(vgpu_fatbin_select(p, len, 86, &e), 1);
	ck_assert_uint_eq(e.arch, 80);
	ck_assert_int_eq(vgpu_fatbin_select(p, len, 100, &e), 0);
	ck_assert_int_eq(vgpu_image_module_info(p, len, 90, 1 << 20, &b), 0);
	ck_assert_uint_eq(b.nr_kernels, 12);
	free(p);
	/* zstd entries are walked but not read. */
	p = load("kern.compressed.fatbin", &len);
	ck_assert_int_eq(vgpu_image_module_info(p, len, 90, 1 << 20, &b), -EOPNOTSUPP);
	free(p);
	free(cub);
}
END_TEST

START_TEST(test_executable_section)
{
	size_t len, n, n2, chain;
	unsigned int count;
	uint8_t *p = load("app_vadd.nv_fatbin", &len);

	/* Two registered units back to back; each is one image. */
	ck_assert_int_eq(vgpu_image_length(p, len, NULL, &n), 0);
	ck_assert_uint_lt(n, len);
	ck_assert_int_eq(vgpu_fatbin_chain_len(p, len, 0, &chain, &count), 0);
	ck_assert_uint_eq(chain, len);
	ck_assert_uint_eq(count, 2);
	ck_assert_int_eq(vgpu_image_length(p + n, len - n, NULL, &n2), 0);
	ck_assert_uint_eq(n + n2, len);
	free(p);
}
END_TEST

START_TEST(test_ptx_file)
{
	enum vgpu_image_kind kind;
	size_t len, n;
	uint8_t *p = load("kern.compute_90.ptx", &len), *z;

	/* A PTX file has no NUL: as an image it is cut short. */
	ck_assert_int_eq(vgpu_image_length(p, len, &kind, &n), -EMSGSIZE);
	z = malloc(len + 1);
	memcpy(z, p, len);
	z[len] = 0;
	ck_assert_int_eq(vgpu_image_length(z, len + 1, &kind, &n), 0);
	ck_assert_int_eq(kind, VGPU_IMAGE_PTX);
	ck_assert_uint_eq(n, len + 1);
	free(z);
	free(p);
}
END_TEST

static int find_vadd(const char *name, size_t n, void *arg)
{
	if (n == 4 && !memcmp(name, "vadd", 4))
		(*(int *)arg)++;
	return 0;
}

static int stop_at_first(const char *name, size_t n, void *arg)
{
	(void)name; (void)n; (void)arg;
	return 1;
}

START_TEST(test_kernel_names)
{
	static const struct { const char *file; int count; } rows[] = {
		{ "kern.sm_90.cubin", 12 },
		{ "kern.default.fatbin", 12 },      /* its uncompressed sm_75 ELF */
		{ "kern.sm_80+sm_90.fatbin", 12 },
		{ "kern.sm_90+ptx.fatbin", 12 },
		{ "kern.ptx-only.fatbin", -EOPNOTSUPP },
		{ "kern.compressed.fatbin", -EOPNOTSUPP }, /* zstd only */
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		size_t len;
		uint8_t *p = load(rows[i].file, &len);
		int vadd = 0, r = vgpu_image_kernels(p, len, 1 << 24, find_vadd, &vadd);

		ck_assert_msg(r == rows[i].count, "%s: %d, want %d", rows[i].file, r,
			      rows[i].count);
		if (r > 0)
			ck_assert_msg(vadd == 1, "%s: vadd seen %d times", rows[i].file, vadd);
		if (r > 0)
			ck_assert_int_eq(vgpu_image_kernels(p, len, 0, stop_at_first, NULL),
					 -ECANCELED);
		free(p);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fatbin_data");
	TCase *t = tcase_create("nvcc-13.0");
	SRunner *sr;
	int failed;

	tcase_add_test(t, test_listings);
	tcase_add_test(t, test_cubin);
	tcase_add_test(t, test_select_and_module_info);
	tcase_add_test(t, test_executable_section);
	tcase_add_test(t, test_ptx_file);
	tcase_add_test(t, test_kernel_names);
	suite_add_tcase(s, t);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
