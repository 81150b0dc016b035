/* SPDX-License-Identifier: MIT */
/*
 * ptx-fatbin.c - the PTX inside a fat binary, for the cpu executor, which
 * runs PTX and nothing else. The containers are walked with the runtime's
 * reader (cuda-api/fatbin.h: every offset and size checked against the
 * image, nothing followed outside it); of all PTX entries of all the
 * containers chained back to back, the one of the highest architecture is
 * taken (the interpreter runs any): uncompressed, LZ4, or zstd (CUDA 13's
 * default for PTX), the last through the system's libzstd.so.1, loaded
 * with dlopen (Debian's base system has it: apt needs it), so no build
 * depends on it. What cannot be run says why: SASS only (a cubin for one
 * GPU), or zstd without the library.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fatbin.h"
#include "ptx-ir.h"

/* A decompressed PTX text may be at most this long. */
#define FATBIN_MAX_PTX (4u * VGPUIF_MAX_MODULE_BYTES)

/* zstd's API (zstd.h of the zstd project): the two calls used. */
typedef size_t (*zstd_decompress_fn)(void *dst, size_t dst_cap,
				     const void *src, size_t src_len);
typedef unsigned int (*zstd_is_error_fn)(size_t code);

static pthread_once_t zstd_once = PTHREAD_ONCE_INIT;
static zstd_decompress_fn zstd_decompress;
static zstd_is_error_fn zstd_is_error;

static void zstd_load(void)
{
	void *h = dlopen("libzstd.so.1", RTLD_NOW | RTLD_LOCAL);

	if (!h)
		return;
	zstd_is_error = (zstd_is_error_fn)dlsym(h, "ZSTD_isError");
	zstd_decompress = (zstd_decompress_fn)dlsym(h, "ZSTD_decompress");
	if (!zstd_is_error || !zstd_decompress) {
		zstd_decompress = NULL;
		dlclose(h);
	}
	/* else kept for the life of the process */
}

static bool have_zstd(void)
{
	pthread_once(&zstd_once, zstd_load);
	return zstd_decompress != NULL;
}

struct pick {
	bool have;
	struct vgpu_fatbin_entry e;
	const unsigned char *base;       /* of the entry's container       */
	unsigned int nptx, nzstd, nelf;
	uint32_t elf_arch;
};

static int walk(const unsigned char *p, size_t len, struct pick *pk,
		char *log, size_t cap)
{
	size_t off = 0;

	while (off < len) {
		struct vgpu_fatbin_iter it;
		struct vgpu_fatbin_entry e;
		int rc;

		/* trailing zeros (section padding) end the chain */
		if (len - off < VGPU_FATBIN_HEADER_SIZE ||
		    (off && p[off] == 0 && !memcmp(p + off, p + off + 1,
						    VGPU_FATBIN_HEADER_SIZE - 1)))
			break;
		rc = vgpu_fatbin_iter_init(&it, p + off, len - off);
		if (rc) {
			if (off)
				break;  /* what follows the first is not ours */
			ptx_log(log, cap, "ptx: error: malformed fat binary "
				"header (%s)\n", rc == -EMSGSIZE ? "truncated" :
				"inconsistent");
			return -ENOEXEC;
		}
		while ((rc = vgpu_fatbin_next(&it, &e)) == 1) {
			if (e.kind == VGPU_FATBIN_KIND_ELF) {
				pk->nelf++;
				if (e.arch > pk->elf_arch)
					pk->elf_arch = e.arch;
				continue;
			}
			if (e.kind != VGPU_FATBIN_KIND_PTX)
				continue;
			pk->nptx++;
			if (e.compression == VGPU_FATBIN_ZSTD && !have_zstd()) {
				pk->nzstd++;
				continue;
			}
			if (!pk->have || e.arch > pk->e.arch) {
				pk->have = true;
				pk->e = e;
				pk->base = p + off;
			}
		}
		if (rc < 0) {
			ptx_log(log, cap, "ptx: error: malformed fat binary entry "
				"(%s)\n", rc == -EMSGSIZE ? "truncated" :
				"inconsistent sizes");
			return -ENOEXEC;
		}
		off += it.end;
	}
	return 0;
}

int ptx_fatbin_payload(const void *container, const struct vgpu_fatbin_entry *e,
		       size_t max, unsigned char **out, size_t *out_len)
{
	const unsigned char *payload = (const unsigned char *)container +
				       e->payload_offset;
	unsigned char *t;
	size_t n;

	*out = NULL;
	*out_len = 0;
	if (e->compression == VGPU_FATBIN_UNCOMPRESSED) {
		if (e->payload_size > max)
			return -EMSGSIZE;
		t = malloc(e->payload_size + 1);
		if (!t)
			return -ENOMEM;
		memcpy(t, payload, e->payload_size);
		n = e->payload_size;
	} else {
		long got;

		if (!e->uncompressed_size)
			return -ENOEXEC;
		if (e->uncompressed_size > max)
			return -EMSGSIZE;
		if (e->compression == VGPU_FATBIN_ZSTD && !have_zstd())
			return -EOPNOTSUPP;
		t = malloc((size_t)e->uncompressed_size + 1);
		if (!t)
			return -ENOMEM;
		if (e->compression == VGPU_FATBIN_LZ4) {
			got = vgpu_lz4_decompress(payload, e->payload_size, t,
						  (size_t)e->uncompressed_size);
		} else {
			/* bounded by the size the entry declares */
			size_t r = zstd_decompress(t, (size_t)e->uncompressed_size,
						   payload, e->payload_size);

			got = zstd_is_error(r) ? -1 : (long)r;
		}
		if (got < 0) {
			free(t);
			return -ENOEXEC;
		}
		n = (size_t)got;
	}
	t[n] = '\0';
	*out = t;
	*out_len = n;
	return 0;
}

int ptx_fatbin_extract(const void *image, size_t len, char **text,
		       size_t *text_len, char *log, size_t log_cap)
{
	struct pick pk;
	unsigned char *t;
	size_t n;
	int rc;

	*text = NULL;
	*text_len = 0;
	memset(&pk, 0, sizeof(pk));
	rc = walk(image, len, &pk, log, log_cap);
	if (rc)
		return rc;
	if (!pk.have) {
		if (pk.nzstd) {
			ptx_log(log, log_cap, "ptx: error: the fat binary's PTX is "
				"zstd-compressed (CUDA 13's default) and this dom0 has "
				"no libzstd.so.1; load the PTX text, or a fat binary "
				"built without compression\n");
			return -EOPNOTSUPP;
		}
		if (pk.nelf) {
			ptx_log(log, log_cap, "ptx: error: the fat binary holds only "
				"SASS (cubin up to sm_%u), which only a GPU runs; the "
				"cpu executor needs PTX (nvcc -gencode "
				"arch=compute_XX,code=compute_XX)\n", pk.elf_arch);
			return -EOPNOTSUPP;
		}
		ptx_log(log, log_cap, "ptx: error: the fat binary holds no PTX\n");
		return -ENOEXEC;
	}
	rc = ptx_fatbin_payload(pk.base, &pk.e, FATBIN_MAX_PTX, &t, &n);
	if (rc == -ENOMEM)
		return rc;
	if (rc) {
		if (pk.e.compression == VGPU_FATBIN_UNCOMPRESSED)
			ptx_log(log, log_cap, "ptx: error: the fat binary's PTX "
				"is too long\n");
		else if (rc == -ENOEXEC && pk.e.uncompressed_size)
			ptx_log(log, log_cap, "ptx: error: the fat binary's PTX "
				"does not decompress (%s)\n",
				pk.e.compression == VGPU_FATBIN_LZ4 ? "LZ4" : "zstd");
		else
			ptx_log(log, log_cap, "ptx: error: the fat binary's "
				"compressed PTX has no usable size\n");
		return -ENOEXEC;
	}
	*text = (char *)t;
	*text_len = strnlen((char *)t, n);       /* the payload is NUL-padded */
	return 0;
}
