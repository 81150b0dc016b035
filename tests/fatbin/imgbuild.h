/* SPDX-License-Identifier: MIT */
/*
 * imgbuild.h - small, well-formed CUDA images built in memory for the
 * fatbin.c tests (test_fatbin.c mutates them into bad ones, row by row).
 */
#ifndef IMGBUILD_H
#define IMGBUILD_H

#include <stddef.h>
#include <stdint.h>

/*
 * A cubin (ELF64, EM_CUDA) with: .text.vadd (48 bytes, executable),
 * .text.scale (16), .nv.global (NOBITS, 1024), .nv.global.init (4),
 * .nv.constant3 (256), .nv.constant0.vadd (352), .nv.shared.vadd (NOBITS,
 * 512), .nv.local.scale (NOBITS, 32), .nv.info (8), then .shstrtab; the
 * section headers last. arch goes to e_flags' low byte. Returns its length
 * (at most IMG_CUBIN_MAX).
 */
#define IMG_CUBIN_MAX 2048
size_t img_cubin(uint8_t *buf, unsigned int arch);

/* Where img_cubin put things (for tests that break them). */
#define IMG_CUBIN_NSECT   11u
size_t img_cubin_shoff(const uint8_t *cubin);

/* One entry for img_fatbin. */
struct img_entry {
	uint16_t kind;        /* 1 PTX, 2 ELF */
	uint32_t arch;
	uint64_t flags;
	const void *payload;
	size_t payload_len;
	const char *name;     /* NULL: none */
	uint32_t compressed_len; /* 0: not compressed */
	uint64_t uncompressed_len;
};

/*
 * A fat binary container of n entries, each payload padded to 8 bytes.
 * Returns its length, 0 when it does not fit in cap.
 */
size_t img_fatbin(uint8_t *buf, size_t cap, const struct img_entry *e, unsigned int n);

/* Little-endian stores at an offset. */
void img_put16(uint8_t *p, size_t off, uint16_t v);
void img_put32(uint8_t *p, size_t off, uint32_t v);
void img_put64(uint8_t *p, size_t off, uint64_t v);

#endif
