/*
 * fuzz_fatbin.c - cuda-api/fatbin.c under arbitrary bytes, as dom0 sees a
 * guest's module image. Every entry point runs over the input; the target
 * traps on a crash, a sanitizer report, or a result that points outside
 * the input (an image length, an entry's header, payload or name).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fatbin.h"

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

static void walk(const uint8_t *d, size_t n)
{
	struct vgpu_fatbin_iter it;
	struct vgpu_fatbin_entry e;
	struct vgpu_cubin_info ci;
	unsigned int guard = 0;
	uint8_t out[4096];
	int r;

	if (vgpu_fatbin_iter_init(&it, d, n) != 0)
		return;
	while ((r = vgpu_fatbin_next(&it, &e)) == 1) {
		CHECK(e.header_size >= VGPU_FATBIN_ENTRY_MIN_HEADER);
		CHECK(e.payload_offset == e.offset + e.header_size);
		CHECK(e.payload_offset <= n && e.payload_size <= n - e.payload_offset);
		CHECK(!e.name_len || (e.name_offset >= e.offset &&
				      e.name_offset + e.name_len <= e.payload_offset));
		if (e.kind == VGPU_FATBIN_KIND_ELF && e.compression == VGPU_FATBIN_UNCOMPRESSED)
			(void)vgpu_cubin_info(d + e.payload_offset, e.payload_size, &ci);
		if (e.compression == VGPU_FATBIN_LZ4 && e.payload_size) {
			long got = vgpu_lz4_decompress(d + e.payload_offset, e.payload_size,
						       out, sizeof(out));

			CHECK(got <= (long)sizeof(out));
		}
		CHECK(++guard <= n); /* every entry takes at least a header */
	}
	CHECK(r <= 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned int sms[] = { 75, 80, 86, 89, 90, 100, 120 };
	struct vgpu_cubin_info ci;
	struct vgpu_fatbin_entry e;
	enum vgpu_image_kind k;
	size_t n = 0, chain;
	uint8_t *d;

	if (size == 0)
		return 0;
	/* An exact-size copy: ASan sees a read one byte past the input. */
	d = malloc(size);
	if (!d)
		return 0;
	memcpy(d, data, size);
	if (vgpu_image_length(d, size, &k, &n) == 0)
		CHECK(n >= 1 && n <= size);
	if (vgpu_fatbin_chain_len(d, size, 0, &chain, NULL) == 0)
		CHECK(chain <= size);
	walk(d, size);
	(void)vgpu_cubin_info(d, size, &ci);
	for (size_t i = 0; i < sizeof(sms) / sizeof(sms[0]); i++) {
		if (vgpu_fatbin_select(d, size, sms[i], &e) == 1)
			CHECK(e.payload_offset + e.payload_size <= size);
		(void)vgpu_image_module_info(d, size, sms[i], 1 << 16, &ci);
	}
	{
		int nk = vgpu_image_kernels(d, size, 1 << 16, NULL, NULL);

		CHECK(nk < 0 || (size_t)nk <= size);
	}
	{
		uint8_t out[1024];
		long got = vgpu_lz4_decompress(d, size, out, sizeof(out));

		CHECK(got <= (long)sizeof(out));
	}
	free(d);
	return 0;
}
