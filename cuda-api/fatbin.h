/* SPDX-License-Identifier: MIT */
/*
 * fatbin.h - reading CUDA module images: fat binaries, cubins (ELF) and PTX.
 *
 * Used on both sides: the guest's libcuda.so.1 finds the length of an image
 * it was handed as a bare pointer (cuModuleLoadData has no length argument)
 * and picks the fat binary a program registered; dom0 walks an image a guest
 * sent and reads a cubin's sections (its global, constant and code bytes) to
 * charge module memory to the domain's quota. In dom0 every byte is hostile.
 *
 * The contract of every call: it reads only inside [data, data + len) and
 * never follows a pointer stored in the image (vgpu_fatbin_unwrap() is the
 * one exception, and the only call that takes no length: guest use only).
 * Sizes are checked for overflow before any addition. Returns are 0 (or a
 * count) on success and a negative errno otherwise:
 *   -EINVAL    a NULL pointer or a zero length where one is needed
 *   -ENOEXEC   not an image this library knows (no fat binary, ELF or PTX)
 *   -EBADMSG   a known image whose headers contradict themselves: a size
 *              that overflows, a header smaller than its fixed part, an
 *              entry, section or name past the end of what contains it
 *   -EMSGSIZE  the image is longer than len (truncated)
 *   -EOPNOTSUPP a valid image in a form this library does not read (a
 *              32-bit or big-endian ELF, zstd compression)
 *
 * The formats are NVIDIA's, undocumented beyond the public fatbinary
 * headers' names; the layouts below were learnt from the public work of
 * ZLUDA, Cricket, gpgpu-sim and LLVM's offload runtime, and checked against
 * files nvcc made (tests/data/, with the commands that made them).
 */
#ifndef VGPU_FATBIN_H
#define VGPU_FATBIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A fat binary container: a 16-byte header, then entries back to back.
 *   u32 magic (VGPU_FATBIN_MAGIC), u16 version (1), u16 header_size (16),
 *   u64 files_size: the bytes of entries after the header.
 * nvcc may put several containers back to back (one per translation unit
 * in an executable's .nv_fatbin section; sometimes more for one unit).
 */
#define VGPU_FATBIN_MAGIC          0xBA55ED50u
#define VGPU_FATBIN_VERSION        1u
#define VGPU_FATBIN_HEADER_SIZE    16u
/*
 * What a program registers (__cudaRegisterFatBinary's argument, the
 * runtime's __fatBinC_Wrapper_t): u32 magic, u32 version (1 or 2), a
 * pointer to the container, a pointer to a file name (version 1) or to a
 * NULL-ended array of prelinked containers (version 2).
 */
#define VGPU_FATBIN_WRAPPER_MAGIC  0x466243B1u

/*
 * An entry's header (at least 64 bytes, little-endian):
 *   @0  u16 kind (VGPU_FATBIN_KIND_*)     @2  u16 version (0x101)
 *   @4  u32 header_size                   @8  u64 size: payload bytes
 *       (padded); the next entry starts at header_size + size
 *   @16 u32 compressed_size (0 when not)  @20 u32 (unknown)
 *   @24 u16 minor, @26 u16 major: the PTX ISA or cubin ELF version
 *   @28 u32 arch: the SM number, e.g. 90 for sm_90 / compute_90
 *   @32 u32 name_offset, @36 u32 name_len: an object name inside the header
 *   @40 u64 flags (VGPU_FATBIN_F_*)       @48 u64 (zero)
 *   @56 u64 uncompressed_size
 */
#define VGPU_FATBIN_ENTRY_MIN_HEADER 64u
#define VGPU_FATBIN_KIND_PTX       0x0001u
#define VGPU_FATBIN_KIND_ELF       0x0002u
#define VGPU_FATBIN_F_64BIT        0x0001ull
#define VGPU_FATBIN_F_DEBUG        0x0002ull
#define VGPU_FATBIN_F_LINUX        0x0010ull
#define VGPU_FATBIN_F_COMPRESS_OLD 0x1000ull
#define VGPU_FATBIN_F_LZ4          0x2000ull
#define VGPU_FATBIN_F_ZSTD         0x8000ull

enum vgpu_image_kind {
	VGPU_IMAGE_NONE   = 0,
	VGPU_IMAGE_PTX    = 1, /* NUL-terminated text                       */
	VGPU_IMAGE_CUBIN  = 2, /* ELF64, EM_CUDA                            */
	VGPU_IMAGE_FATBIN = 3  /* one container (see vgpu_fatbin_chain_len) */
};

enum vgpu_fatbin_compression {
	VGPU_FATBIN_UNCOMPRESSED = 0,
	VGPU_FATBIN_LZ4          = 1,
	VGPU_FATBIN_ZSTD         = 2
};

/*
 * What kind of image data is and how many bytes it has: a fat binary
 * container's header plus entries, an ELF's furthest header table,
 * section or segment, a PTX text's bytes including its NUL. len is what
 * may be read: pass SIZE_MAX for an image of unknown length that the
 * caller vouches for (the guest, for a pointer its own program passed);
 * dom0 passes what it received. A PTX text is recognised by its first
 * byte (printable ASCII or white space), and must end within len.
 */
int vgpu_image_length(const void *data, size_t len, enum vgpu_image_kind *kind,
		      size_t *image_len);

/* A name for a kind, for logs: "ptx", "cubin", "fatbin" or "none". */
const char *vgpu_image_kind_name(enum vgpu_image_kind kind);

/*
 * The bytes of the containers that follow each other from data on (one
 * at least; at most max_containers, 0 = no limit), each well-formed and
 * inside len. *count (may be NULL) receives how many.
 */
int vgpu_fatbin_chain_len(const void *data, size_t len, unsigned int max_containers,
			  size_t *chain_len, unsigned int *count);

/*
 * Guest only: if p is a registration wrapper (VGPU_FATBIN_WRAPPER_MAGIC,
 * version 1 or 2), the container it points to; if p is a container
 * itself, p; else NULL. Follows the wrapper's pointer: never in dom0.
 */
const void *vgpu_fatbin_unwrap(const void *p);

/* One entry of a container, as the walker found it (offsets from data). */
struct vgpu_fatbin_entry {
	uint16_t kind;             /* VGPU_FATBIN_KIND_*                    */
	uint16_t version;
	uint16_t major, minor;     /* PTX ISA / ELF ABI version             */
	uint32_t arch;             /* SM number                             */
	uint64_t flags;
	enum vgpu_fatbin_compression compression;
	size_t   offset;           /* of the entry's header                 */
	size_t   header_size;
	size_t   payload_offset;
	size_t   payload_size;     /* bytes stored (compressed when so)     */
	uint64_t uncompressed_size;/* as the header says (0: not given)     */
	size_t   name_offset;      /* object name (no NUL), 0 len if none   */
	size_t   name_len;
};

/* A walk over the entries of one container. */
struct vgpu_fatbin_iter {
	const uint8_t *data;
	size_t len;                /* of the whole buffer                   */
	size_t pos;                /* next entry                            */
	size_t end;                /* the container's end                   */
};

/*
 * Starts a walk over the container at data (its header checked: magic,
 * version, header size, files_size inside len). Returns 0 or an error.
 */
int vgpu_fatbin_iter_init(struct vgpu_fatbin_iter *it, const void *data, size_t len);
/*
 * The next entry: 1 and *e filled, 0 at the container's end, or an error
 * (the walk stops there: the same error again on every later call). An
 * entry whose header or payload reaches past the container's end is
 * -EBADMSG; trailing bytes shorter than an entry header are -EBADMSG too.
 */
int vgpu_fatbin_next(struct vgpu_fatbin_iter *it, struct vgpu_fatbin_entry *e);

/*
 * Picks what a device of compute capability sm (e.g. 90) would load from
 * a container: the ELF entry of the highest arch <= sm with the same major
 * (a cubin runs on later minors of its major only), else the PTX entry of
 * the highest arch <= sm (JIT-compiled). Returns 1 and *e, 0 when nothing
 * fits (CUDA_ERROR_NO_BINARY_FOR_GPU), or an error from the walk.
 */
int vgpu_fatbin_select(const void *data, size_t len, unsigned int sm,
		       struct vgpu_fatbin_entry *e);

/*
 * Decompresses an LZ4 entry's payload (the LZ4 block format) into out,
 * which holds out_len bytes. Returns the bytes written, -EBADMSG for a
 * malformed stream (an offset before the output's start, a literal or a
 * match past either end), -EMSGSIZE when out is too small.
 */
long vgpu_lz4_decompress(const void *src, size_t src_len, void *out, size_t out_len);

/* What a cubin asks of device memory when loaded (see vgpu_cubin_info). */
struct vgpu_cubin_info {
	uint32_t arch;             /* SM number, from e_flags               */
	uint32_t nr_kernels;       /* .text.<kernel> sections               */
	uint64_t code_bytes;       /* executable sections                   */
	uint64_t global_bytes;     /* .nv.global (zero-filled)              */
	uint64_t global_init_bytes;/* .nv.global.init (initialised)         */
	uint64_t constant_bytes;   /* module constant banks .nv.constantN   */
	uint64_t kernel_constant_bytes; /* per-kernel .nv.constantN.<kernel> */
	uint64_t shared_bytes;     /* largest .nv.shared.<kernel> (static)  */
	uint64_t local_bytes;      /* largest .nv.local.<kernel> (per thread) */
};

/*
 * Reads a cubin's section table (ELF64 little-endian, EM_CUDA) within len
 * and sums what the module will hold in device memory. Every section
 * header, name and (non-NOBITS) section body must lie inside len.
 */
int vgpu_cubin_info(const void *elf, size_t len, struct vgpu_cubin_info *info);

/*
 * Module memory of any image: a cubin's vgpu_cubin_info, or for a fat
 * binary, that of the entry vgpu_fatbin_select() picks for sm (an LZ4
 * payload decompressed into a buffer of at most max_uncompressed bytes
 * first). A PTX text, or a fat binary whose pick is PTX, is -EOPNOTSUPP:
 * its needs are known only once dom0's driver has compiled it.
 */
int vgpu_image_module_info(const void *data, size_t len, unsigned int sm,
			   size_t max_uncompressed, struct vgpu_cubin_info *info);

/*
 * The kernels of an image: fn (may be NULL: count only) gets each name (n
 * bytes, not NUL-terminated) of a cubin's .text.<kernel> sections; of a fat
 * binary, those of its first ELF entry that is uncompressed or LZ4 (at
 * most max_uncompressed bytes once decompressed). fn returning nonzero
 * stops the walk (a positive value becomes -ECANCELED). Returns the number
 * of kernels, or an error: -EOPNOTSUPP for PTX or a fat binary with no
 * readable ELF entry (zstd only, or PTX only).
 */
int vgpu_image_kernels(const void *data, size_t len, size_t max_uncompressed,
		       int (*fn)(const char *name, size_t n, void *arg), void *arg);

#ifdef __cplusplus
}
#endif

#endif /* VGPU_FATBIN_H */
