/*
 * test_fatbin.c - cuda-api/fatbin.c: image lengths, the fat binary walker,
 * the pick a device would load, LZ4, cubin sections. Good images are built
 * in memory (imgbuild.c) and broken row by row: every bad input has the
 * status it must get, and runs under ASan in make check (a read past the
 * buffer is a failure there). The files nvcc made are in test_fatbin_data.c.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fatbin.h"
#include "imgbuild.h"

/* A copy in a heap block of exactly len bytes: ASan sees one past it. */
static uint8_t *exact(const void *src, size_t len)
{
	uint8_t *p = malloc(len ? len : 1);

	ck_assert_ptr_nonnull(p);
	memcpy(p, src, len);
	return p;
}

/* ------------------------------------------------------------ lengths */

START_TEST(test_length_kinds)
{
	static const char ptx[] = "//\n.version 8.0\n.target sm_90\n";
	uint8_t cub[IMG_CUBIN_MAX], fb[4096];
	struct img_entry e = { .kind = 2, .arch = 90 };
	enum vgpu_image_kind k;
	size_t n, clen, flen;
	uint8_t *p;

	p = exact(ptx, sizeof(ptx));
	ck_assert_int_eq(vgpu_image_length(p, sizeof(ptx), &k, &n), 0);
	ck_assert_int_eq(k, VGPU_IMAGE_PTX);
	ck_assert_uint_eq(n, sizeof(ptx));
	/* Unknown length (the guest's case): the NUL still ends it. */
	ck_assert_int_eq(vgpu_image_length(p, SIZE_MAX, &k, &n), 0);
	ck_assert_uint_eq(n, sizeof(ptx));
	free(p);

	clen = img_cubin(cub, 90);
	p = exact(cub, clen);
	ck_assert_int_eq(vgpu_image_length(p, clen, &k, &n), 0);
	ck_assert_int_eq(k, VGPU_IMAGE_CUBIN);
	ck_assert_uint_eq(n, clen);
	ck_assert_int_eq(vgpu_image_length(p, SIZE_MAX, &k, &n), 0);
	ck_assert_uint_eq(n, clen);
	free(p);

	e.payload = cub;
	e.payload_len = clen;
	flen = img_fatbin(fb, sizeof(fb), &e, 1);
	ck_assert_uint_gt(flen, 0);
	/* More bytes after the container are not part of it. */
	p = exact(fb, flen + 32);
	ck_assert_int_eq(vgpu_image_length(p, flen + 32, &k, &n), 0);
	ck_assert_int_eq(k, VGPU_IMAGE_FATBIN);
	ck_assert_uint_eq(n, flen);
	free(p);
	ck_assert_str_eq(vgpu_image_kind_name(VGPU_IMAGE_FATBIN), "fatbin");
	ck_assert_str_eq(vgpu_image_kind_name(99), "none");
}
END_TEST

/* One row: bytes of an image given to vgpu_image_length, and the status. */
struct len_row {
	const char *what;
	const uint8_t *bytes;
	size_t len;
	int status;
};

static const uint8_t fb_short[12] = { 0x50, 0xed, 0x55, 0xba, 1, 0, 16, 0 };
static const uint8_t fb_overflow[16] = { 0x50, 0xed, 0x55, 0xba, 1, 0, 16, 0,
					 0xf8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t fb_past_end[16] = { 0x50, 0xed, 0x55, 0xba, 1, 0, 16, 0, 0x40 };
static const uint8_t fb_small_header[16] = { 0x50, 0xed, 0x55, 0xba, 1, 0, 8, 0 };
static const uint8_t fb_version2[16] = { 0x50, 0xed, 0x55, 0xba, 2, 0, 16, 0 };
static const uint8_t ptx_no_nul[] = { '.', 'v', 'e', 'r' };
static const uint8_t garbage[] = { 0x00, 0x01, 0x02, 0x03, 0x04 };
static const uint8_t elf_short[20] = { 0x7f, 'E', 'L', 'F', 2, 1, 1 };

START_TEST(test_length_bad)
{
	static const struct len_row rows[] = {
		{ "fatbin header cut short",      fb_short, sizeof(fb_short), -EMSGSIZE },
		{ "fatbin size overflows",        fb_overflow, sizeof(fb_overflow), -EBADMSG },
		{ "fatbin longer than the buffer", fb_past_end, sizeof(fb_past_end), -EMSGSIZE },
		{ "fatbin header size < 16",      fb_small_header, sizeof(fb_small_header), -EBADMSG },
		{ "fatbin version 2",             fb_version2, sizeof(fb_version2), -EOPNOTSUPP },
		{ "PTX without its NUL",          ptx_no_nul, sizeof(ptx_no_nul), -EMSGSIZE },
		{ "binary garbage",               garbage, sizeof(garbage), -ENOEXEC },
		{ "ELF header cut short",         elf_short, sizeof(elf_short), -EMSGSIZE },
		{ "zero length",                  garbage, 0, -EINVAL },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint8_t *p = exact(rows[i].bytes, rows[i].len);
		size_t n = 12345;
		int r = vgpu_image_length(p, rows[i].len, NULL, &n);

		ck_assert_msg(r == rows[i].status, "row %zu (%s): %d, want %d", i,
			      rows[i].what, r, rows[i].status);
		ck_assert_msg(n == 12345, "row %zu: length written on failure", i);
		free(p);
	}
	ck_assert_int_eq(vgpu_image_length(NULL, 10, NULL, &(size_t){ 0 }), -EINVAL);
}
END_TEST

/* ----------------------------------------------------------- cubin ELF */

/* A change to a good cubin: width bytes of value at off in the ELF header
 * (sect 0) or in section header sect; then the buffer is cut to cut bytes
 * (0: not cut). */
struct elf_row {
	const char *what;
	unsigned int sect;
	size_t off;
	unsigned int width;
	uint64_t value;
	size_t cut;
	int info_status;     /* vgpu_cubin_info */
	int length_status;   /* vgpu_image_length */
};

static void poke(uint8_t *p, size_t off, unsigned int width, uint64_t v)
{
	if (width == 1)
		p[off] = (uint8_t)v;
	else if (width == 2)
		img_put16(p, off, (uint16_t)v);
	else if (width == 4)
		img_put32(p, off, (uint32_t)v);
	else
		img_put64(p, off, v);
}

START_TEST(test_cubin_info)
{
	uint8_t cub[IMG_CUBIN_MAX];
	struct vgpu_cubin_info in;
	size_t len = img_cubin(cub, 90);
	uint8_t *p = exact(cub, len);

	ck_assert_int_eq(vgpu_cubin_info(p, len, &in), 0);
	ck_assert_uint_eq(in.arch, 90);
	ck_assert_uint_eq(in.nr_kernels, 2);
	ck_assert_uint_eq(in.code_bytes, 64);
	ck_assert_uint_eq(in.global_bytes, 1024);
	ck_assert_uint_eq(in.global_init_bytes, 4);
	ck_assert_uint_eq(in.constant_bytes, 256);
	ck_assert_uint_eq(in.kernel_constant_bytes, 352);
	ck_assert_uint_eq(in.shared_bytes, 512);
	ck_assert_uint_eq(in.local_bytes, 32);
	free(p);
}
END_TEST

START_TEST(test_cubin_bad)
{
	static const struct elf_row rows[] = {
		{ "32-bit ELF", 0, 4, 1, 1, 0, -EOPNOTSUPP, -EOPNOTSUPP },
		{ "big-endian ELF", 0, 5, 1, 2, 0, -EOPNOTSUPP, -EOPNOTSUPP },
		{ "not EM_CUDA", 0, 18, 2, 62, 0, -ENOEXEC, -ENOEXEC },
		{ "e_ehsize too small", 0, 52, 2, 32, 0, -EBADMSG, -EBADMSG },
		{ "section entry size wrong", 0, 58, 2, 40, 0, -EBADMSG, -EBADMSG },
		{ "program entry size wrong", 0, 54, 2, 40, 0, -EBADMSG, -EBADMSG },
		{ "shstrndx past the table", 0, 62, 2, 11, 0, -EBADMSG, -EBADMSG },
		{ "shstrndx SHN_XINDEX", 0, 62, 2, 0xffff, 0, -EOPNOTSUPP, -EOPNOTSUPP },
		{ "extended section count", 0, 60, 2, 0, 0, -EOPNOTSUPP, -EOPNOTSUPP },
		{ "section table past the end", 0, 40, 8, 1u << 20, 0, -EMSGSIZE, -EMSGSIZE },
		{ "section table offset overflows", 0, 40, 8, UINT64_MAX - 100, 0,
		  -EBADMSG, -EBADMSG },
		{ "program table past the end", 0, 56, 2, 1000, 0, -EMSGSIZE, -EMSGSIZE },
		{ "cut inside the section table", 0, 0, 0, 0, 100, -EMSGSIZE, -EMSGSIZE },
		{ "section body past the end", 1, 32, 8, 1u << 20, 0, -EMSGSIZE, -EMSGSIZE },
		{ "section offset + size overflows", 1, 24, 8, UINT64_MAX - 8, 0,
		  -EBADMSG, -EBADMSG },
		{ "name past the string table", 2, 0, 4, 5000, 0, -EBADMSG, 0 },
		{ "string table smaller than its names", 10, 32, 8, 4, 0, -EBADMSG, 0 },
		{ "string table NOBITS", 10, 4, 4, 8, 0, -EBADMSG, 0 },
		{ "NOBITS globals sum overflows", 1, 0, 0, 0, 0, -EBADMSG, 0 },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct elf_row *r = &rows[i];
		uint8_t cub[IMG_CUBIN_MAX];
		struct vgpu_cubin_info in;
		size_t len = img_cubin(cub, 90), n;
		uint8_t *p;
		int st;

		if (r->width) {
			size_t base = r->sect ? img_cubin_shoff(cub) + r->sect * 64 : 0;

			poke(cub, base + r->off, r->width, r->value);
		} else if (!r->cut) {
			/* Two .nv.global sections of 2^63 bytes each. */
			size_t sh = img_cubin_shoff(cub);

			memcpy(cub + sh + 1 * 64, cub + sh + 3 * 64, 64);
			img_put64(cub, sh + 3 * 64 + 32, 1ull << 63);
			img_put64(cub, sh + 1 * 64 + 32, 1ull << 63);
		}
		if (r->cut)
			len = len - r->cut;
		p = exact(cub, len);
		st = vgpu_cubin_info(p, len, &in);
		ck_assert_msg(st == r->info_status, "row %zu (%s): info %d, want %d", i,
			      r->what, st, r->info_status);
		st = vgpu_image_length(p, len, NULL, &n);
		ck_assert_msg(st == r->length_status, "row %zu (%s): length %d, want %d", i,
			      r->what, st, r->length_status);
		free(p);
	}
}
END_TEST

/* -------------------------------------------------------- fatbin walk */

START_TEST(test_walk)
{
	static const char ptx[] = ".version 8.0\n.target sm_80\n";
	uint8_t cub[IMG_CUBIN_MAX], fb[8192];
	size_t clen = img_cubin(cub, 90), flen;
	struct img_entry es[3] = {
		{ .kind = 2, .arch = 90, .flags = 0x11, .payload = cub, .payload_len = clen,
		  .name = "kernels.cu" },
		{ .kind = 1, .arch = 80, .flags = 0x11, .payload = ptx, .payload_len = sizeof(ptx) },
		{ .kind = 2, .arch = 80, .flags = 0x2011, .payload = cub, .payload_len = clen,
		  .compressed_len = 100, .uncompressed_len = 5000 },
	};
	struct vgpu_fatbin_iter it;
	struct vgpu_fatbin_entry e;
	uint8_t *p;

	flen = img_fatbin(fb, sizeof(fb), es, 3);
	p = exact(fb, flen);
	ck_assert_int_eq(vgpu_fatbin_iter_init(&it, p, flen), 0);
	ck_assert_int_eq(vgpu_fatbin_next(&it, &e), 1);
	ck_assert_uint_eq(e.kind, VGPU_FATBIN_KIND_ELF);
	ck_assert_uint_eq(e.arch, 90);
	ck_assert_uint_eq(e.version, 0x101);
	ck_assert_uint_eq(e.offset, 16);
	ck_assert_uint_eq(e.header_size, 64 + 16);
	ck_assert_uint_eq(e.payload_offset, 16 + 80);
	ck_assert_uint_eq(e.payload_size, (clen + 7) & ~7u);
	ck_assert_int_eq(e.compression, VGPU_FATBIN_UNCOMPRESSED);
	ck_assert_uint_eq(e.name_len, 10);
	ck_assert_int_eq(memcmp(p + e.name_offset, "kernels.cu", 10), 0);
	ck_assert_int_eq(memcmp(p + e.payload_offset, "\177ELF", 4), 0);
	ck_assert_int_eq(vgpu_fatbin_next(&it, &e), 1);
	ck_assert_uint_eq(e.kind, VGPU_FATBIN_KIND_PTX);
	ck_assert_uint_eq(e.major, 8);
	ck_assert_uint_eq(e.minor, 7);
	ck_assert_uint_eq(e.name_len, 0);
	ck_assert_int_eq(memcmp(p + e.payload_offset, ".version", 8), 0);
	ck_assert_int_eq(vgpu_fatbin_next(&it, &e), 1);
	ck_assert_int_eq(e.compression, VGPU_FATBIN_LZ4);
	ck_assert_uint_eq(e.payload_size, 100);
	ck_assert_uint_eq(e.uncompressed_size, 5000);
	ck_assert_int_eq(vgpu_fatbin_next(&it, &e), 0);
	ck_assert_int_eq(vgpu_fatbin_next(&it, &e), 0);
	free(p);
}
END_TEST

/* A change to a one-entry container: width bytes of value at off (from the
 * container's start); then cut to len - cut. Status of the walk's first
 * vgpu_fatbin_next (init succeeds unless init_status says otherwise). */
struct walk_row {
	const char *what;
	size_t off;
	unsigned int width;
	uint64_t value;
	size_t cut;
	int init_status;
	int next_status;
};

START_TEST(test_walk_bad)
{
	/* The entry header starts at 16; the payload of 24 bytes at 80. */
	static const struct walk_row rows[] = {
		{ "entry header size < 64", 16 + 4, 4, 32, 0, 0, -EBADMSG },
		{ "entry header past the container", 16 + 4, 4, 4096, 0, 0, -EBADMSG },
		{ "payload past the container", 16 + 8, 8, 25, 0, 0, -EBADMSG },
		{ "payload size overflows", 16 + 8, 8, UINT64_MAX - 32, 0, 0, -EBADMSG },
		{ "compressed larger than stored", 16 + 16, 4, 25, 0, 0, -EBADMSG },
		{ "name before the header's end", 16 + 32, 4, 8, 0, 0, -EBADMSG },
		{ "name past the header", 16 + 36, 4, 200, 0, 0, -EBADMSG },
		{ "name offset + length overflow", 16 + 32, 4, 0xffffffffu, 0, 0, -EBADMSG },
		{ "container longer than the buffer", 8, 8, 96 + 8, 0, -EMSGSIZE, 0 },
		{ "container cut short", 0, 0, 0, 8, -EMSGSIZE, 0 },
		{ "wrong magic", 0, 4, 0x12345678, 0, -ENOEXEC, 0 },
	};
	static const uint8_t payload[24] = ".version 8.0\n";
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct walk_row *r = &rows[i];
		struct img_entry e1 = { .kind = 1, .arch = 90, .flags = 0x2011,
					.payload = payload, .payload_len = sizeof(payload),
					.compressed_len = 20, .name = "x" };
		uint8_t fb[512];
		struct vgpu_fatbin_iter it;
		struct vgpu_fatbin_entry e;
		size_t len = img_fatbin(fb, sizeof(fb), &e1, 1);
		uint8_t *p;
		int st;

		/* A name of 1 byte at 64 makes the header 72: the payload at 88. */
		if (r->width)
			poke(fb, r->off, r->width, r->value);
		len -= r->cut;
		p = exact(fb, len);
		st = vgpu_fatbin_iter_init(&it, p, len);
		ck_assert_msg(st == r->init_status, "row %zu (%s): init %d, want %d", i,
			      r->what, st, r->init_status);
		if (st == 0) {
			st = vgpu_fatbin_next(&it, &e);
			ck_assert_msg(st == r->next_status, "row %zu (%s): next %d, want %d",
				      i, r->what, st, r->next_status);
			/* A failed walk stays failed. */
			ck_assert_int_eq(vgpu_fatbin_next(&it, &e), -EBADMSG);
		}
		free(p);
	}
}
END_TEST

/* Garbage after a good entry, shorter than an entry header. */
START_TEST(test_walk_trailing_garbage)
{
	static const uint8_t payload[16] = ".version 8.0\n";
	struct img_entry e1 = { .kind = 1, .arch = 90, .payload = payload,
				.payload_len = sizeof(payload) };
	struct vgpu_fatbin_iter it;
	struct vgpu_fatbin_entry e;
	uint8_t fb[512];
	size_t len = img_fatbin(fb, sizeof(fb), &e1, 1);
	uint8_t *p;

	img_put64(fb, 8, len - 16 + 40); /* 40 bytes more in files_size */
	p = exact(fb, len + 40);
	ck_assert_int_eq(vgpu_fatbin_iter_init(&it, p, len + 40), 0);
	ck_assert_int_eq(vgpu_fatbin_next(&it, &e), 1);
	ck_assert_int_eq(vgpu_fatbin_next(&it, &e), -EBADMSG);
	free(p);
}
END_TEST

/* ----------------------------------------------------------- selection */

struct sel_row {
	unsigned int sm;
	int found;
	uint16_t kind;
	uint32_t arch;
};

START_TEST(test_select)
{
	static const char ptx[] = ".version 8.0\n";
	uint8_t cub[IMG_CUBIN_MAX], fb[16384];
	size_t clen = img_cubin(cub, 80), flen;
	struct img_entry es[4] = {
		{ .kind = 2, .arch = 80, .payload = cub, .payload_len = clen },
		{ .kind = 2, .arch = 86, .payload = cub, .payload_len = clen },
		{ .kind = 2, .arch = 90, .payload = cub, .payload_len = clen },
		{ .kind = 1, .arch = 75, .payload = ptx, .payload_len = sizeof(ptx) },
	};
	static const struct sel_row rows[] = {
		{ 90, 1, VGPU_FATBIN_KIND_ELF, 90 },   /* its own SASS */
		{ 89, 1, VGPU_FATBIN_KIND_ELF, 86 },   /* highest of its major */
		{ 86, 1, VGPU_FATBIN_KIND_ELF, 86 },
		{ 80, 1, VGPU_FATBIN_KIND_ELF, 80 },
		{ 100, 1, VGPU_FATBIN_KIND_PTX, 75 },  /* no SASS of major 10: JIT */
		{ 75, 1, VGPU_FATBIN_KIND_PTX, 75 },
		{ 70, 0, 0, 0 },                       /* nothing: NO_BINARY_FOR_GPU */
	};
	struct vgpu_fatbin_entry e;
	uint8_t *p;

	flen = img_fatbin(fb, sizeof(fb), es, 4);
	ck_assert_uint_gt(flen, 0);
	p = exact(fb, flen);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int r = vgpu_fatbin_select(p, flen, rows[i].sm, &e);

		ck_assert_msg(r == rows[i].found, "row %zu: sm %u: %d", i, rows[i].sm, r);
		if (r == 1) {
			ck_assert_msg(e.kind == rows[i].kind && e.arch == rows[i].arch,
				      "row %zu: sm %u picked kind %u arch %u", i, rows[i].sm,
				      e.kind, e.arch);
		}
	}
	free(p);
}
END_TEST

/* ----------------------------------------------------------------- LZ4 */

struct lz4_row {
	const char *what;
	const uint8_t *src;
	size_t len;
	size_t out_cap;
	long status;        /* bytes, or an error */
	const char *want;   /* output when status > 0 */
};

static const uint8_t lz_lit[] = { 0x50, 'h', 'e', 'l', 'l', 'o' };
static const uint8_t lz_match[] = { 0x35, 'a', 'b', 'c', 3, 0, 0x10, 'x' };
static const uint8_t lz_long[] = { 0xf0, 2, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j',
				   'k', 'l', 'm', 'n', 'o', 'p', 'q' };
static const uint8_t lz_longmatch[] = { 0x1f, 'z', 1, 0, 1, 0x10, '!' };
static const uint8_t lz_off0[] = { 0x35, 'a', 'b', 'c', 0, 0, 0x10, 'x' };
static const uint8_t lz_off_back[] = { 0x35, 'a', 'b', 'c', 4, 0, 0x10, 'x' };
static const uint8_t lz_lit_past[] = { 0x90, 'a', 'b' };
static const uint8_t lz_off_cut[] = { 0x35, 'a', 'b', 'c', 3 };
static const uint8_t lz_ends_match[] = { 0x35, 'a', 'b', 'c', 3, 0 };
static const uint8_t lz_len_cut[] = { 0xf0, 255, 255 };

START_TEST(test_lz4)
{
	static const struct lz4_row rows[] = {
		{ "literals only", lz_lit, sizeof(lz_lit), 16, 5, "hello" },
		{ "overlapping match", lz_match, sizeof(lz_match), 64, 13, "abcabcabcabcx" },
		{ "long literal length", lz_long, sizeof(lz_long), 64, 17, "abcdefghijklmnopq" },
		{ "long match length", lz_longmatch, sizeof(lz_longmatch), 64, 22,
		  "zzzzzzzzzzzzzzzzzzzzz!" },
		{ "offset 0", lz_off0, sizeof(lz_off0), 64, -EBADMSG, NULL },
		{ "offset before the start", lz_off_back, sizeof(lz_off_back), 64, -EBADMSG, NULL },
		{ "literals past the input", lz_lit_past, sizeof(lz_lit_past), 64, -EBADMSG, NULL },
		{ "offset cut", lz_off_cut, sizeof(lz_off_cut), 64, -EBADMSG, NULL },
		{ "ends after a match", lz_ends_match, sizeof(lz_ends_match), 64, -EBADMSG, NULL },
		{ "length bytes cut", lz_len_cut, sizeof(lz_len_cut), 64, -EBADMSG, NULL },
		{ "output too small for literals", lz_lit, sizeof(lz_lit), 4, -EMSGSIZE, NULL },
		{ "output too small for a match", lz_match, sizeof(lz_match), 8, -EMSGSIZE, NULL },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint8_t *src = exact(rows[i].src, rows[i].len);
		uint8_t *out = malloc(rows[i].out_cap);
		long r = vgpu_lz4_decompress(src, rows[i].len, out, rows[i].out_cap);

		ck_assert_msg(r == rows[i].status, "row %zu (%s): %ld, want %ld", i,
			      rows[i].what, r, rows[i].status);
		if (r > 0)
			ck_assert_msg(memcmp(out, rows[i].want, (size_t)r) == 0,
				      "row %zu (%s): wrong bytes", i, rows[i].what);
		free(src);
		free(out);
	}
}
END_TEST

/* An LZ4 entry's cubin read through vgpu_image_module_info. */
START_TEST(test_module_info_lz4)
{
	uint8_t cub[IMG_CUBIN_MAX], fb[8192], lz[IMG_CUBIN_MAX + 64];
	size_t clen = img_cubin(cub, 90), zl = 0, flen, left, pos = 0;
	struct vgpu_cubin_info in;
	uint8_t *p;

	/* Literals only: a valid LZ4 block of the whole cubin. */
	left = clen;
	lz[zl++] = 0xf0;
	left -= 15;
	while (left >= 255) {
		lz[zl++] = 255;
		left -= 255;
	}
	lz[zl++] = (uint8_t)left;
	memcpy(lz + zl, cub + pos, clen);
	zl += clen;
	{
		struct img_entry e = { .kind = 2, .arch = 90, .flags = 0x2011, .payload = lz,
				       .payload_len = zl, .compressed_len = (uint32_t)zl,
				       .uncompressed_len = clen };

		flen = img_fatbin(fb, sizeof(fb), &e, 1);
	}
	p = exact(fb, flen);
	ck_assert_int_eq(vgpu_image_module_info(p, flen, 90, 1 << 20, &in), 0);
	ck_assert_uint_eq(in.global_bytes, 1024);
	ck_assert_uint_eq(in.constant_bytes, 256);
	/* Its kernels, through the LZ4 entry; and of the plain cubin. */
	ck_assert_int_eq(vgpu_image_kernels(p, flen, 1 << 20, NULL, NULL), 2);
	ck_assert_int_eq(vgpu_image_kernels(p, flen, 100, NULL, NULL), -EOPNOTSUPP);
	/* A buffer too small for the decompressed cubin. */
	ck_assert_int_eq(vgpu_image_module_info(p, flen, 90, 100, &in), -EMSGSIZE);
	/* A device the entry does not fit. */
	ck_assert_int_eq(vgpu_image_module_info(p, flen, 80, 1 << 20, &in), -ENOENT);
	free(p);
	/* PTX: known only after dom0's JIT. */
	p = exact(".version 8.0\n", 14);
	ck_assert_int_eq(vgpu_image_module_info(p, 14, 90, 1 << 20, &in), -EOPNOTSUPP);
	free(p);
	/* A plain cubin. */
	p = exact(cub, clen);
	ck_assert_int_eq(vgpu_image_module_info(p, clen, 90, 0, &in), 0);
	ck_assert_uint_eq(in.code_bytes, 64);
	free(p);
}
END_TEST

/* -------------------------------------------------------------- chains */

START_TEST(test_chain)
{
	static const uint8_t payload[16] = ".version 8.0\n";
	struct img_entry e1 = { .kind = 1, .arch = 90, .payload = payload,
				.payload_len = sizeof(payload) };
	uint8_t one[256], buf[1024];
	size_t l1 = img_fatbin(one, sizeof(one), &e1, 1), n;
	unsigned int count;
	uint8_t *p;

	memcpy(buf, one, l1);
	memcpy(buf + l1, one, l1);
	memcpy(buf + 2 * l1, "\x50\xed\x55\xba\x01\x00", 6); /* a cut third */
	p = exact(buf, 2 * l1 + 6);
	ck_assert_int_eq(vgpu_fatbin_chain_len(p, 2 * l1 + 6, 0, &n, &count), 0);
	ck_assert_uint_eq(n, 2 * l1);
	ck_assert_uint_eq(count, 2);
	ck_assert_int_eq(vgpu_fatbin_chain_len(p, 2 * l1 + 6, 1, &n, &count), 0);
	ck_assert_uint_eq(n, l1);
	ck_assert_uint_eq(count, 1);
	ck_assert_int_eq(vgpu_fatbin_chain_len(p, l1 - 1, 0, &n, NULL), -EMSGSIZE);
	free(p);
}
END_TEST

START_TEST(test_unwrap)
{
	static const uint8_t payload[16] = ".version 8.0\n";
	struct img_entry e1 = { .kind = 1, .arch = 90, .payload = payload,
				.payload_len = sizeof(payload) };
	uint8_t fb[256];
	struct { uint32_t magic, version; const void *data, *name; } w;

	img_fatbin(fb, sizeof(fb), &e1, 1);
	w.magic = VGPU_FATBIN_WRAPPER_MAGIC;
	w.version = 1;
	w.data = fb;
	w.name = NULL;
	ck_assert_ptr_eq(vgpu_fatbin_unwrap(&w), fb);
	ck_assert_ptr_eq(vgpu_fatbin_unwrap(fb), fb);
	w.version = 3;
	ck_assert_ptr_null(vgpu_fatbin_unwrap(&w));
	w.version = 2;
	w.data = payload; /* not a container */
	ck_assert_ptr_null(vgpu_fatbin_unwrap(&w));
	w.data = NULL;
	ck_assert_ptr_null(vgpu_fatbin_unwrap(&w));
	ck_assert_ptr_null(vgpu_fatbin_unwrap(payload));
	ck_assert_ptr_null(vgpu_fatbin_unwrap(NULL));
}
END_TEST

static Suite *fatbin_suite(void)
{
	Suite *s = suite_create("fatbin");
	TCase *t;

	t = tcase_create("length");
	tcase_add_test(t, test_length_kinds);
	tcase_add_test(t, test_length_bad);
	suite_add_tcase(s, t);
	t = tcase_create("cubin");
	tcase_add_test(t, test_cubin_info);
	tcase_add_test(t, test_cubin_bad);
	suite_add_tcase(s, t);
	t = tcase_create("walk");
	tcase_add_test(t, test_walk);
	tcase_add_test(t, test_walk_bad);
	tcase_add_test(t, test_walk_trailing_garbage);
	tcase_add_test(t, test_select);
	tcase_add_test(t, test_chain);
	tcase_add_test(t, test_unwrap);
	suite_add_tcase(s, t);
	t = tcase_create("lz4");
	tcase_add_test(t, test_lz4);
	tcase_add_test(t, test_module_info_lz4);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(fatbin_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
