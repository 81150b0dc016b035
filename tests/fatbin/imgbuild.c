/* SPDX-License-Identifier: MIT */
/* imgbuild.c - see imgbuild.h. */
#include "imgbuild.h"

#include <string.h>

void img_put16(uint8_t *p, size_t off, uint16_t v)
{
	memcpy(p + off, &v, sizeof(v));
}

void img_put32(uint8_t *p, size_t off, uint32_t v)
{
	memcpy(p + off, &v, sizeof(v));
}

void img_put64(uint8_t *p, size_t off, uint64_t v)
{
	memcpy(p + off, &v, sizeof(v));
}

struct sect {
	const char *name;
	uint32_t type;      /* 1 PROGBITS, 3 STRTAB, 8 NOBITS */
	uint64_t flags;
	uint64_t size;
};

static const struct sect sects[IMG_CUBIN_NSECT - 1] = {
	{ ".text.vadd",         1, 0x6, 48 },
	{ ".text.scale",        1, 0x6, 16 },
	{ ".nv.global",         8, 0x3, 1024 },
	{ ".nv.global.init",    1, 0x3, 4 },
	{ ".nv.constant3",      1, 0x2, 256 },
	{ ".nv.constant0.vadd", 1, 0x42, 352 },
	{ ".nv.shared.vadd",    8, 0x43, 512 },
	{ ".nv.local.scale",    8, 0x3, 32 },
	{ ".nv.info",           0x70000000, 0, 8 },
	{ ".shstrtab",          3, 0, 0 },  /* size set below */
};

size_t img_cubin(uint8_t *b, unsigned int arch)
{
	uint64_t offs[IMG_CUBIN_NSECT], names[IMG_CUBIN_NSECT];
	char strtab[256];
	size_t pos = 64, slen = 1, shoff, i;

	memset(b, 0, IMG_CUBIN_MAX);
	memset(strtab, 0, sizeof(strtab));
	for (i = 0; i < IMG_CUBIN_NSECT - 1; i++) {
		names[i + 1] = slen;
		memcpy(strtab + slen, sects[i].name, strlen(sects[i].name) + 1);
		slen += strlen(sects[i].name) + 1;
	}
	/* Section bodies, 8-aligned, in table order; NOBITS take no bytes. */
	for (i = 0; i < IMG_CUBIN_NSECT - 1; i++) {
		uint64_t size = i == IMG_CUBIN_NSECT - 2 ? slen : sects[i].size;

		offs[i + 1] = pos;
		if (sects[i].type == 8)
			continue;
		if (i == IMG_CUBIN_NSECT - 2)
			memcpy(b + pos, strtab, slen);
		else
			memset(b + pos, 0x11 * (int)(i + 1), size);
		pos = (pos + size + 7) & ~(size_t)7;
	}
	shoff = pos;
	memcpy(b, "\177ELF", 4);
	b[4] = 2;     /* ELFCLASS64 */
	b[5] = 1;     /* little-endian */
	b[6] = 1;
	b[7] = 0x33;  /* ELFOSABI_CUDA */
	b[8] = 7;     /* ABI version */
	img_put16(b, 16, 2);        /* ET_EXEC */
	img_put16(b, 18, 190);      /* EM_CUDA */
	img_put32(b, 20, 1);
	img_put64(b, 40, shoff);
	img_put32(b, 48, arch | 0x500u | (arch << 16));
	img_put16(b, 52, 64);
	img_put16(b, 54, 56);
	img_put16(b, 58, 64);
	img_put16(b, 60, IMG_CUBIN_NSECT);
	img_put16(b, 62, IMG_CUBIN_NSECT - 1);
	for (i = 1; i < IMG_CUBIN_NSECT; i++) {
		uint8_t *sh = b + shoff + i * 64;
		const struct sect *s = &sects[i - 1];

		img_put32(sh, 0, (uint32_t)names[i]);
		img_put32(sh, 4, s->type);
		img_put64(sh, 8, s->flags);
		img_put64(sh, 24, offs[i]);
		img_put64(sh, 32, i == IMG_CUBIN_NSECT - 1 ? slen : s->size);
		img_put64(sh, 48, 8);
	}
	return shoff + IMG_CUBIN_NSECT * 64;
}

size_t img_cubin_shoff(const uint8_t *cubin)
{
	uint64_t v;

	memcpy(&v, cubin + 40, sizeof(v));
	return (size_t)v;
}

size_t img_fatbin(uint8_t *b, size_t cap, const struct img_entry *e, unsigned int n)
{
	size_t pos = 16, i;

	if (cap < 16)
		return 0;
	memset(b, 0, cap);
	for (i = 0; i < n; i++) {
		size_t nl = e[i].name ? strlen(e[i].name) : 0;
		size_t hsize = 64 + ((nl + 7) & ~(size_t)7);
		size_t padded = (e[i].payload_len + 7) & ~(size_t)7;
		uint8_t *h = b + pos;

		if (pos + hsize + padded > cap)
			return 0;
		img_put16(h, 0, e[i].kind);
		img_put16(h, 2, 0x101);
		img_put32(h, 4, (uint32_t)hsize);
		img_put64(h, 8, padded);
		img_put32(h, 16, e[i].compressed_len);
		img_put16(h, 24, 7);
		img_put16(h, 26, e[i].kind == 1 ? 8 : 1);
		img_put32(h, 28, e[i].arch);
		if (nl) {
			img_put32(h, 32, 64);
			img_put32(h, 36, (uint32_t)nl);
			memcpy(h + 64, e[i].name, nl);
		}
		img_put64(h, 40, e[i].flags);
		img_put64(h, 56, e[i].uncompressed_len);
		memcpy(h + hsize, e[i].payload, e[i].payload_len);
		pos += hsize + padded;
	}
	img_put32(b, 0, 0xBA55ED50u);
	img_put16(b, 4, 1);
	img_put16(b, 6, 16);
	img_put64(b, 8, pos - 16);
	return pos;
}
