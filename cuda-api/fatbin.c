/* SPDX-License-Identifier: MIT */
/*
 * fatbin.c - CUDA module images: lengths, fat binary walks, cubin sections.
 * The contract (bounds, errors) is in fatbin.h. Every multi-byte field is
 * read with memcpy from an offset already checked against the buffer, so
 * an unaligned or hostile image is never dereferenced in place.
 */
#include "fatbin.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ELF64 (the System V gABI): the fields a cubin's reader needs. */
#define ELF_HEADER_SIZE     64u
#define ELF_SHDR_SIZE       64u
#define ELF_PHDR_SIZE       56u
#define ELFCLASS64          2u
#define ELFDATA2LSB         1u
#define EM_CUDA             190u
#define SHT_NOBITS          8u
#define SHF_EXECINSTR       0x4u
#define SHN_XINDEX          0xffffu

/* A wrapper as the program's compiler lays it out (host pointers). */
struct fatbin_wrapper {
	uint32_t magic;
	uint32_t version;
	const void *data;
	const void *filename_or_fatbins;
};

static uint16_t rd16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* *sum = a + b, or 0 when that overflows. */
static int add_ok(uint64_t a, uint64_t b, uint64_t *sum)
{
	return !__builtin_add_overflow(a, b, sum);
}

/* Does [off, off + n) fit inside len bytes? (no overflow) */
static int range_in(uint64_t off, uint64_t n, uint64_t len)
{
	return off <= len && n <= len - off;
}

const char *vgpu_image_kind_name(enum vgpu_image_kind kind)
{
	switch (kind) {
	case VGPU_IMAGE_PTX:    return "ptx";
	case VGPU_IMAGE_CUBIN:  return "cubin";
	case VGPU_IMAGE_FATBIN: return "fatbin";
	default:                return "none";
	}
}

/* ------------------------------------------------------------- fat binary */

/* The bytes of the container at p (header + files), checked against len. */
static int container_len(const uint8_t *p, size_t len, size_t *out)
{
	uint16_t version, hsize;
	uint64_t files, total;

	if (len < VGPU_FATBIN_HEADER_SIZE)
		return -EMSGSIZE;
	if (rd32(p) != VGPU_FATBIN_MAGIC)
		return -ENOEXEC;
	version = rd16(p + 4);
	hsize = rd16(p + 6);
	files = rd64(p + 8);
	if (version != VGPU_FATBIN_VERSION)
		return -EOPNOTSUPP;
	if (hsize < VGPU_FATBIN_HEADER_SIZE)
		return -EBADMSG;
	if (!add_ok(hsize, files, &total) || total > SIZE_MAX)
		return -EBADMSG;
	if (total > len)
		return -EMSGSIZE;
	*out = (size_t)total;
	return 0;
}

int vgpu_fatbin_chain_len(const void *data, size_t len, unsigned int max_containers,
			  size_t *chain_len, unsigned int *count)
{
	const uint8_t *p = data;
	size_t pos = 0, one;
	unsigned int n = 0;
	int err;

	if (!p || !chain_len)
		return -EINVAL;
	err = container_len(p, len, &one);
	if (err)
		return err;
	do {
		pos += one;
		n++;
		if (max_containers && n == max_containers)
			break;
		/* A following container counts only when it is whole. */
		if (len - pos < VGPU_FATBIN_HEADER_SIZE ||
		    container_len(p + pos, len - pos, &one) != 0)
			break;
	} while (1);
	*chain_len = pos;
	if (count)
		*count = n;
	return 0;
}

const void *vgpu_fatbin_unwrap(const void *p)
{
	struct fatbin_wrapper w;
	uint32_t magic;

	if (!p)
		return NULL;
	memcpy(&magic, p, sizeof(magic));
	if (magic == VGPU_FATBIN_MAGIC)
		return p;
	if (magic != VGPU_FATBIN_WRAPPER_MAGIC)
		return NULL;
	memcpy(&w, p, sizeof(w));
	if ((w.version != 1 && w.version != 2) || !w.data)
		return NULL;
	memcpy(&magic, w.data, sizeof(magic));
	return magic == VGPU_FATBIN_MAGIC ? w.data : NULL;
}

int vgpu_fatbin_iter_init(struct vgpu_fatbin_iter *it, const void *data, size_t len)
{
	size_t total;
	int err;

	if (!it || !data)
		return -EINVAL;
	memset(it, 0, sizeof(*it));
	err = container_len(data, len, &total);
	if (err)
		return err;
	it->data = data;
	it->len = len;
	it->pos = rd16((const uint8_t *)data + 6);
	it->end = total;
	return 0;
}

static enum vgpu_fatbin_compression compression_of(uint64_t flags)
{
	if (flags & VGPU_FATBIN_F_ZSTD)
		return VGPU_FATBIN_ZSTD;
	if (flags & (VGPU_FATBIN_F_LZ4 | VGPU_FATBIN_F_COMPRESS_OLD))
		return VGPU_FATBIN_LZ4;
	return VGPU_FATBIN_UNCOMPRESSED;
}

int vgpu_fatbin_next(struct vgpu_fatbin_iter *it, struct vgpu_fatbin_entry *e)
{
	const uint8_t *h;
	size_t room;
	uint64_t hsize, size, csize, name_off, name_len, next;

	if (!it || !e || !it->data)
		return -EINVAL;
	if (it->pos > it->end) /* a walk that failed stays failed */
		return -EBADMSG;
	if (it->pos == it->end)
		return 0;
	room = it->end - it->pos;
	if (room < VGPU_FATBIN_ENTRY_MIN_HEADER)
		goto bad;
	h = it->data + it->pos;
	hsize = rd32(h + 4);
	size = rd64(h + 8);
	csize = rd32(h + 16);
	name_off = rd32(h + 32);
	name_len = rd32(h + 36);
	if (hsize < VGPU_FATBIN_ENTRY_MIN_HEADER || hsize > room)
		goto bad;
	if (!add_ok(hsize, size, &next) || next > room)
		goto bad;
	memset(e, 0, sizeof(*e));
	e->kind = rd16(h);
	e->version = rd16(h + 2);
	e->minor = rd16(h + 24);
	e->major = rd16(h + 26);
	e->arch = rd32(h + 28);
	e->flags = rd64(h + 40);
	e->uncompressed_size = rd64(h + 56);
	e->compression = compression_of(e->flags);
	e->offset = it->pos;
	e->header_size = (size_t)hsize;
	e->payload_offset = it->pos + (size_t)hsize;
	/* Compressed: the stream is compressed_size bytes of the padded size. */
	if (e->compression != VGPU_FATBIN_UNCOMPRESSED && csize != 0) {
		if (csize > size)
			goto bad;
		e->payload_size = (size_t)csize;
	} else {
		e->payload_size = (size_t)size;
	}
	/* The object name lies inside the header, past its fixed part. */
	if (name_len) {
		if (name_off < VGPU_FATBIN_ENTRY_MIN_HEADER || !range_in(name_off, name_len, hsize))
			goto bad;
		e->name_offset = it->pos + (size_t)name_off;
		e->name_len = (size_t)name_len;
	}
	it->pos += (size_t)next;
	return 1;
bad:
	it->pos = it->end + 1;
	return -EBADMSG;
}

/* May a cubin for arch run on sm? (same major, not a later minor) */
static int sass_fits(uint32_t arch, unsigned int sm)
{
	return arch <= sm && arch / 10 == sm / 10;
}

int vgpu_fatbin_select(const void *data, size_t len, unsigned int sm,
		       struct vgpu_fatbin_entry *out)
{
	struct vgpu_fatbin_iter it;
	struct vgpu_fatbin_entry e, elf, ptx;
	int have_elf = 0, have_ptx = 0, r;

	if (!out)
		return -EINVAL;
	r = vgpu_fatbin_iter_init(&it, data, len);
	if (r)
		return r;
	while ((r = vgpu_fatbin_next(&it, &e)) == 1) {
		if (e.kind == VGPU_FATBIN_KIND_ELF && sass_fits(e.arch, sm)) {
			if (!have_elf || e.arch > elf.arch)
				elf = e;
			have_elf = 1;
		} else if (e.kind == VGPU_FATBIN_KIND_PTX && e.arch <= sm) {
			if (!have_ptx || e.arch > ptx.arch)
				ptx = e;
			have_ptx = 1;
		}
	}
	if (r < 0)
		return r;
	if (have_elf)
		*out = elf;
	else if (have_ptx)
		*out = ptx;
	else
		return 0;
	return 1;
}

/* ------------------------------------------------------------------- LZ4 */

/*
 * The LZ4 block format (lz4_Block_format.md of the reference project): a
 * sequence is a token (literal length high nibble, match length low
 * nibble, each 15 extended by bytes of 255 ... until one below 255), the
 * literals, a 16-bit little-endian offset back into the output, and the
 * match (length + 4). The last sequence has literals only.
 */
static int lz4_len(const uint8_t *src, size_t src_len, size_t *ip, size_t *n)
{
	uint8_t b;

	do {
		if (*ip >= src_len)
			return -EBADMSG;
		b = src[(*ip)++];
		if (*n > SIZE_MAX - b)
			return -EBADMSG;
		*n += b;
	} while (b == 255);
	return 0;
}

long vgpu_lz4_decompress(const void *srcv, size_t src_len, void *outv, size_t out_len)
{
	const uint8_t *src = srcv;
	uint8_t *out = outv;
	size_t ip = 0, op = 0;

	if (!src || !out || src_len == 0)
		return -EINVAL;
	if (out_len > (size_t)__LONG_MAX__)
		out_len = (size_t)__LONG_MAX__;
	for (;;) {
		uint8_t token;
		size_t lit, mlen, off;

		token = src[ip++];
		lit = token >> 4;
		if (lit == 15 && lz4_len(src, src_len, &ip, &lit))
			return -EBADMSG;
		if (lit > src_len - ip)
			return -EBADMSG;
		if (lit > out_len - op)
			return -EMSGSIZE;
		memcpy(out + op, src + ip, lit);
		ip += lit;
		op += lit;
		if (ip == src_len) /* the last sequence: literals only */
			return (long)op;
		if (src_len - ip < 2)
			return -EBADMSG;
		off = (size_t)src[ip] | (size_t)src[ip + 1] << 8;
		ip += 2;
		if (off == 0 || off > op)
			return -EBADMSG;
		mlen = token & 15;
		if (mlen == 15 && lz4_len(src, src_len, &ip, &mlen))
			return -EBADMSG;
		if (mlen > SIZE_MAX - 4)
			return -EBADMSG;
		mlen += 4;
		if (mlen > out_len - op)
			return -EMSGSIZE;
		/* Byte by byte: a match may overlap its own output. */
		while (mlen--) {
			out[op] = out[op - off];
			op++;
		}
		if (ip >= src_len)
			return -EBADMSG; /* a stream must end with literals */
	}
}

/* ------------------------------------------------------------------- ELF */

struct elf {
	const uint8_t *p;
	size_t len;
	uint64_t shoff, phoff;
	uint32_t flags;
	uint16_t shnum, phnum, shstrndx;
	uint8_t abi_version;
};

/* The ELF header's checks; *e filled. */
static int elf_open(const uint8_t *p, size_t len, struct elf *e)
{
	uint16_t shentsize, phentsize;

	if (len < ELF_HEADER_SIZE)
		return -EMSGSIZE;
	if (memcmp(p, "\177ELF", 4) != 0)
		return -ENOEXEC;
	if (p[4] != ELFCLASS64 || p[5] != ELFDATA2LSB)
		return -EOPNOTSUPP;
	if (rd16(p + 18) != EM_CUDA)
		return -ENOEXEC;
	memset(e, 0, sizeof(*e));
	e->p = p;
	e->len = len;
	e->abi_version = p[8];
	e->phoff = rd64(p + 32);
	e->shoff = rd64(p + 40);
	e->flags = rd32(p + 48);
	phentsize = rd16(p + 54);
	e->phnum = rd16(p + 56);
	shentsize = rd16(p + 58);
	e->shnum = rd16(p + 60);
	e->shstrndx = rd16(p + 62);
	if (rd16(p + 52) < ELF_HEADER_SIZE)
		return -EBADMSG;
	/* An entry size is the gABI's, or 0 for an absent table. */
	if (phentsize != ELF_PHDR_SIZE && (phentsize || e->phnum))
		return -EBADMSG;
	if (shentsize != ELF_SHDR_SIZE && (shentsize || e->shnum))
		return -EBADMSG;
	/* Extended numbering (over 65279 sections) is never a cubin. */
	if ((e->shnum == 0 && e->shoff != 0) || e->shstrndx == SHN_XINDEX)
		return -EOPNOTSUPP;
	if (e->shnum && e->shstrndx >= e->shnum)
		return -EBADMSG;
	return 0;
}

/* The end of a table of n entries of size esz at off; 0 on overflow. */
static int table_end(uint64_t off, uint64_t n, uint64_t esz, uint64_t *end)
{
	uint64_t bytes;

	if (n == 0) {
		*end = 0;
		return 1;
	}
	if (__builtin_mul_overflow(n, esz, &bytes))
		return 0;
	return add_ok(off, bytes, end);
}

/*
 * An ELF's length: the furthest end of its header, header tables, sections
 * with file bytes and segments. With len = SIZE_MAX the tables are read
 * where the header says (the guest's trusted case); otherwise each must
 * lie inside len before it is read.
 */
static int elf_length(const uint8_t *p, size_t len, size_t *out)
{
	struct elf e;
	uint64_t end = ELF_HEADER_SIZE, t;
	unsigned int i;
	int err;

	err = elf_open(p, len, &e);
	if (err)
		return err;
	if (!table_end(e.shoff, e.shnum, ELF_SHDR_SIZE, &t))
		return -EBADMSG;
	if (t > len)
		return -EMSGSIZE;
	end = t > end ? t : end;
	if (!table_end(e.phoff, e.phnum, ELF_PHDR_SIZE, &t))
		return -EBADMSG;
	if (t > len)
		return -EMSGSIZE;
	end = t > end ? t : end;
	for (i = 0; i < e.shnum; i++) {
		const uint8_t *sh = p + e.shoff + (uint64_t)i * ELF_SHDR_SIZE;

		if (rd32(sh + 4) == SHT_NOBITS)
			continue;
		if (!add_ok(rd64(sh + 24), rd64(sh + 32), &t))
			return -EBADMSG;
		end = t > end ? t : end;
	}
	for (i = 0; i < e.phnum; i++) {
		const uint8_t *ph = p + e.phoff + (uint64_t)i * ELF_PHDR_SIZE;

		if (!add_ok(rd64(ph + 8), rd64(ph + 32), &t))
			return -EBADMSG;
		end = t > end ? t : end;
	}
	if (end > len)
		return -EMSGSIZE;
	if (end > SIZE_MAX)
		return -EBADMSG;
	*out = (size_t)end;
	return 0;
}

/* Is name (n bytes, no NUL) prefix followed by digits only, then more? */
static int digits_after(const char *name, size_t n, const char *prefix, size_t *after)
{
	size_t pl = strlen(prefix), i = pl;

	if (n <= pl || memcmp(name, prefix, pl) != 0)
		return 0;
	while (i < n && name[i] >= '0' && name[i] <= '9')
		i++;
	if (i == pl)
		return 0;
	*after = i;
	return 1;
}

static int name_is(const char *name, size_t n, const char *what)
{
	return n == strlen(what) && memcmp(name, what, n) == 0;
}

static int name_has_prefix(const char *name, size_t n, const char *prefix)
{
	size_t pl = strlen(prefix);

	return n > pl && memcmp(name, prefix, pl) == 0;
}

static int sum(uint64_t *acc, uint64_t v)
{
	return add_ok(*acc, v, acc) ? 0 : -EBADMSG;
}

/* One section, as elf_sections() hands it over (name without its NUL). */
struct elf_sect {
	const char *name;
	size_t n;
	uint32_t type;
	uint64_t flags, size;
};

/*
 * Calls fn for every section but SHN_UNDEF, each checked first: its header
 * inside len (elf_length), its body too (unless NOBITS), its name inside
 * the section-name table and NUL-terminated there. *e receives the header.
 * Stops at fn's first nonzero return and returns it.
 */
static int elf_sections(const uint8_t *p, size_t len, struct elf *e,
			int (*fn)(const struct elf_sect *s, void *arg), void *arg)
{
	const uint8_t *strtab, *sh;
	uint64_t str_off, str_size;
	size_t elf_len;
	unsigned int i;
	int err;

	err = elf_length(p, len, &elf_len);
	if (err)
		return err;
	err = elf_open(p, len, e);
	if (err || e->shnum == 0)
		return err;
	sh = p + e->shoff + (uint64_t)e->shstrndx * ELF_SHDR_SIZE;
	if (rd32(sh + 4) == SHT_NOBITS)
		return -EBADMSG;
	str_off = rd64(sh + 24);
	str_size = rd64(sh + 32);
	if (!range_in(str_off, str_size, len))
		return -EBADMSG;
	strtab = p + str_off;
	for (i = 1; i < e->shnum; i++) {
		struct elf_sect s;
		uint32_t name_off;
		const char *nul;

		sh = p + e->shoff + (uint64_t)i * ELF_SHDR_SIZE;
		name_off = rd32(sh);
		s.type = rd32(sh + 4);
		s.flags = rd64(sh + 8);
		s.size = rd64(sh + 32);
		if (s.type != SHT_NOBITS && !range_in(rd64(sh + 24), s.size, len))
			return -EBADMSG;
		if (name_off >= str_size)
			return -EBADMSG;
		s.name = (const char *)strtab + name_off;
		nul = memchr(s.name, 0, (size_t)(str_size - name_off));
		if (!nul)
			return -EBADMSG;
		s.n = (size_t)(nul - s.name);
		err = fn(&s, arg);
		if (err)
			return err;
	}
	return 0;
}

static int info_section(const struct elf_sect *s, void *arg)
{
	struct vgpu_cubin_info *info = arg;
	size_t after;

	if (s->flags & SHF_EXECINSTR) {
		if (name_has_prefix(s->name, s->n, ".text."))
			info->nr_kernels++;
		return sum(&info->code_bytes, s->size);
	}
	if (name_is(s->name, s->n, ".nv.global"))
		return sum(&info->global_bytes, s->size);
	if (name_is(s->name, s->n, ".nv.global.init"))
		return sum(&info->global_init_bytes, s->size);
	if (digits_after(s->name, s->n, ".nv.constant", &after)) {
		if (after == s->n)
			return sum(&info->constant_bytes, s->size);
		if (s->name[after] == '.')
			return sum(&info->kernel_constant_bytes, s->size);
		return 0;
	}
	if (name_has_prefix(s->name, s->n, ".nv.shared.") && s->size > info->shared_bytes)
		info->shared_bytes = s->size;
	if (name_has_prefix(s->name, s->n, ".nv.local.") && s->size > info->local_bytes)
		info->local_bytes = s->size;
	return 0;
}

int vgpu_cubin_info(const void *data, size_t len, struct vgpu_cubin_info *info)
{
	struct elf e;
	int err;

	if (!data || !info || len == 0)
		return -EINVAL;
	memset(info, 0, sizeof(*info));
	err = elf_sections(data, len, &e, info_section, info);
	if (err)
		return err;
	/* Before ABI version 8 the SM is e_flags' low byte, then the next. */
	info->arch = e.abi_version >= 8 ? (e.flags >> 8) & 0xff : e.flags & 0xff;
	return 0;
}

struct kernel_walk {
	int (*fn)(const char *name, size_t n, void *arg);
	void *arg;
	int count;
};

static int kernel_section(const struct elf_sect *s, void *arg)
{
	struct kernel_walk *w = arg;
	int r;

	if (!(s->flags & SHF_EXECINSTR) || !name_has_prefix(s->name, s->n, ".text."))
		return 0;
	if (w->fn) {
		r = w->fn(s->name + 6, s->n - 6, w->arg);
		if (r)
			return r > 0 ? -ECANCELED : r;
	}
	w->count++;
	return 0;
}

/* ------------------------------------------------------------ any image */

static int looks_like_ptx(uint8_t c)
{
	return (c >= 0x20 && c < 0x7f) || c == '\t' || c == '\n' || c == '\r';
}

int vgpu_image_length(const void *data, size_t len, enum vgpu_image_kind *kind,
		      size_t *image_len)
{
	const uint8_t *p = data;
	enum vgpu_image_kind k = VGPU_IMAGE_NONE;
	size_t n = 0;
	int err;

	if (!p || !image_len || len == 0)
		return -EINVAL;
	if (len >= 4 && rd32(p) == VGPU_FATBIN_MAGIC) {
		k = VGPU_IMAGE_FATBIN;
		err = container_len(p, len, &n);
	} else if (len >= 4 && memcmp(p, "\177ELF", 4) == 0) {
		k = VGPU_IMAGE_CUBIN;
		err = elf_length(p, len, &n);
	} else if (looks_like_ptx(p[0])) {
		const uint8_t *nul = memchr(p, 0, len);

		k = VGPU_IMAGE_PTX;
		err = nul ? 0 : -EMSGSIZE;
		if (nul)
			n = (size_t)(nul - p) + 1;
	} else {
		err = -ENOEXEC;
	}
	if (err)
		return err;
	if (kind)
		*kind = k;
	*image_len = n;
	return 0;
}

int vgpu_image_module_info(const void *data, size_t len, unsigned int sm,
			   size_t max_uncompressed, struct vgpu_cubin_info *info)
{
	struct vgpu_fatbin_entry e;
	enum vgpu_image_kind kind;
	const uint8_t *p = data;
	size_t n;
	int r;

	if (!p || !info)
		return -EINVAL;
	r = vgpu_image_length(p, len, &kind, &n);
	if (r)
		return r;
	if (kind == VGPU_IMAGE_CUBIN)
		return vgpu_cubin_info(p, n, info);
	if (kind != VGPU_IMAGE_FATBIN)
		return -EOPNOTSUPP;
	r = vgpu_fatbin_select(p, n, sm, &e);
	if (r <= 0)
		return r ? r : -ENOENT;
	if (e.kind != VGPU_FATBIN_KIND_ELF)
		return -EOPNOTSUPP;
	if (e.compression == VGPU_FATBIN_UNCOMPRESSED)
		return vgpu_cubin_info(p + e.payload_offset, e.payload_size, info);
	if (e.compression != VGPU_FATBIN_LZ4)
		return -EOPNOTSUPP;
	{
		size_t cap = e.uncompressed_size && e.uncompressed_size < max_uncompressed
			     ? (size_t)e.uncompressed_size : max_uncompressed;
		uint8_t *buf;
		long got;

		if (cap == 0)
			return -EMSGSIZE;
		buf = malloc(cap);
		if (!buf)
			return -ENOMEM;
		got = vgpu_lz4_decompress(p + e.payload_offset, e.payload_size, buf, cap);
		r = got < 0 ? (int)got : vgpu_cubin_info(buf, (size_t)got, info);
		free(buf);
	}
	return r;
}

int vgpu_image_kernels(const void *data, size_t len, size_t max_uncompressed,
		       int (*fn)(const char *name, size_t n, void *arg), void *arg)
{
	struct kernel_walk w = { fn, arg, 0 };
	struct vgpu_fatbin_iter it;
	struct vgpu_fatbin_entry e;
	enum vgpu_image_kind kind;
	const uint8_t *p = data;
	struct elf hdr;
	size_t n;
	int r;

	if (!p)
		return -EINVAL;
	r = vgpu_image_length(p, len, &kind, &n);
	if (r)
		return r;
	if (kind == VGPU_IMAGE_CUBIN) {
		r = elf_sections(p, n, &hdr, kernel_section, &w);
		return r ? r : w.count;
	}
	if (kind != VGPU_IMAGE_FATBIN)
		return -EOPNOTSUPP;
	/* Every entry holds the same kernels: the first ELF that can be read. */
	r = vgpu_fatbin_iter_init(&it, p, n);
	if (r)
		return r;
	while ((r = vgpu_fatbin_next(&it, &e)) == 1) {
		uint8_t *buf;
		long got;

		if (e.kind != VGPU_FATBIN_KIND_ELF)
			continue;
		if (e.compression == VGPU_FATBIN_UNCOMPRESSED) {
			r = elf_sections(p + e.payload_offset, e.payload_size, &hdr,
					 kernel_section, &w);
			return r ? r : w.count;
		}
		if (e.compression != VGPU_FATBIN_LZ4 || !e.uncompressed_size ||
		    e.uncompressed_size > max_uncompressed)
			continue;
		buf = malloc((size_t)e.uncompressed_size);
		if (!buf)
			return -ENOMEM;
		got = vgpu_lz4_decompress(p + e.payload_offset, e.payload_size, buf,
					  (size_t)e.uncompressed_size);
		r = got < 0 ? (int)got
			    : elf_sections(buf, (size_t)got, &hdr, kernel_section, &w);
		free(buf);
		return r ? r : w.count;
	}
	return r < 0 ? r : -EOPNOTSUPP;
}
