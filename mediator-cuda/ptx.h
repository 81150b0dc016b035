/* SPDX-License-Identifier: MIT */
/*
 * ptx.h - PTX modules for the cpu reference executor: load PTX text (or the
 * PTX inside a fat binary), describe its kernels and variables, and run a
 * kernel for every thread of a grid with an interpreter that checks every
 * address. CI machines have no GPU; this is what the cpu executor runs
 * guests' kernels on, honestly (real PTX, real barriers, real faults), not a
 * mock. Files: ptx-lex.c (tokens), ptx-parse.c (declarations and
 * statements), ptx-insn.c (one instruction: opcode, modifiers, operands),
 * ptx-module.c (layout, lookups, attributes), ptx-interp.c (execution),
 * ptx-fatbin.c (the PTX inside a fat binary).
 *
 * The supported subset (mediator-cuda/README.md has the same list with
 * examples; anything outside it is refused at load with -ENOEXEC and a log
 * line naming the line and the instruction, never misexecuted):
 *
 *   module   .version (any 1.0 .. 9.x), .target sm_XX[a|f] (any; texmode_*
 *            and debug accepted), .address_size 64; .file/.loc/.section
 *            (debug information) and .pragma are skipped.
 *   entries  .entry with .param scalars (.b/.u/.s 8..64, .f32, .f64) and
 *            byte arrays (.param .align A .b8 name[N]), .ptr attributes,
 *            .maxntid/.reqntid (checked at launch), .minnctapersm,
 *            .maxnreg (accepted). .func bodies are parsed and checked, but
 *            `call` is refused (no call stack).
 *   vars     module-scope .global/.const with .align, arrays of any
 *            dimensions, scalar and brace initializers (integers, 0f/0d hex
 *            floats, decimal floats); .shared at module or entry scope,
 *            extern .shared (dynamic shared memory, LAUNCH's shared_mem);
 *            .local in a body (nvcc's __local_depot). Address initializers,
 *            .tex/.surf/.sampler, vector-typed variables: refused.
 *   regs     .reg of .pred, .b/.u/.s 8/16/32/64, .f32, .f64, single names
 *            or %name<N> ranges, nested { } scopes.
 *   special  %tid %ntid %ctaid %nctaid (.x .y .z), %laneid %warpid
 *            %nwarpid %smid %nsmid %gridid %lanemask_{eq,lt,le,gt,ge}
 *            %clock %clock64 %globaltimer %dynamic_smem_size
 *            %total_smem_size.
 *   integer  add sub mul.{lo,hi,wide} mad.{lo,hi,wide} div rem abs neg min
 *            max (s/u 16/32/64; add/sub .sat.s32), and or xor not cnot
 *            (.pred and .b16/32/64), shl shr, popc clz brev bfe bfi, prmt
 *            (default mode).
 *   float    add sub mul fma mad div (f32/f64, .rn or no rounding; .ftz
 *            .sat), div.approx/.full, abs neg min max, rcp sqrt (.rn
 *            .approx), rsqrt ex2 lg2 sin cos tanh (.approx), copysign, testp.
 *   compare  setp (eq ne lt le gt ge lo ls hi hs; equ neu ltu leu gtu geu
 *            num nan; p|q destinations; .and/.or/.xor with a predicate),
 *            selp.
 *   convert  cvt between all integer types (.sat), int<->f32/f64 (.rn;
 *            float to int .rni .rzi .rmi .rpi, saturating, NaN -> 0),
 *            f32<->f64, float to integral float (.rni...); mov (also the
 *            address of a variable, and {a,b} pack/unpack); cvta and
 *            cvta.to for .global .const .shared .local .param; isspacep.
 *   memory   ld ldu st (.global .const .shared .local .param or generic;
 *            .v2 .v4; cache, .nc, .volatile, .relaxed/.acquire/.release
 *            qualifiers accepted and ignored), atom and red (.global,
 *            .shared, generic: add on u32 s32 u64 f32 f64; min max on u32
 *            s32 u64 s64; exch cas and or xor on b32 b64; inc dec on u32),
 *            membar/fence (no-ops: threads run one at a time).
 *   control  bra (predicated, .uni), ret, exit, trap (a fault),
 *            bar.sync / barrier.sync [.aligned] with an optional thread
 *            count, bar.warp.sync (the warp's threads really wait for each
 *            other), nanosleep (a no-op).
 *
 * Execution: a grid runs block after block on the calling thread; in a
 * block every thread is a resumable interpreter state, stepped until it
 * waits at a barrier or exits, and a barrier releases only when every
 * thread it waits for has arrived, so bar.sync really synchronizes. Every
 * load, store and atomic is checked against the launch's regions (the
 * context's allocations and module variables), the block's shared memory,
 * the thread's local memory and the parameter buffer, with natural
 * alignment; a bad one stops the launch with -EFAULT and says which. A
 * barrier nobody can release (a deadlock) and the instruction budget end it
 * with -ETIMEDOUT, as the GPU's watchdog would.
 *
 * Not thread-safe on one module: the caller serializes loads, launches and
 * frees of a module (the cpu executor runs them on its one worker).
 */
#ifndef VGPU_PTX_H
#define VGPU_PTX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vgpuif.h"

/* Limits of the cpu executor's device, as ptxas and the driver enforce theirs. */
#define PTX_MAX_STATIC_SHARED    (48u * 1024u)   /* per kernel (ptxas)          */
#define PTX_MAX_SHARED_PER_BLOCK (48u * 1024u)   /* static + dynamic: what the
						  * device snapshot advertises
						  * (exec-cpu.c, opt-in too) */
#define PTX_MAX_LOCAL_PER_THREAD (512u * 1024u)  /* .local bytes per thread     */
#define PTX_MAX_REG_SLOTS        8192u           /* registers a kernel uses     */
#define PTX_MAX_THREADS          1024u           /* per block                   */
/*
 * The watchdog: a launch may run this many instructions per millisecond of
 * the executor's watchdog_ms (about what the interpreter does on one core),
 * so a spinning kernel ends the same way on every machine.
 */
#define PTX_INSNS_PER_MS         100000ull

/*
 * Generic addresses: shared, local and parameter memory appear in windows
 * below the device addresses of regions (which must lie at or above
 * PTX_GENERIC_LIMIT); an address in a window is an offset in that space.
 */
#define PTX_WINDOW_SHARED        0x0000500000000000ull
#define PTX_WINDOW_LOCAL         0x0000510000000000ull
#define PTX_WINDOW_PARAM         0x0000520000000000ull
#define PTX_WINDOW_SIZE          0x0000000100000000ull
#define PTX_GENERIC_LIMIT        0x0000600000000000ull

struct ptx_module;
struct ptx_kernel;

/*
 * Load a module from image[0, len): PTX text (up to a NUL or len), or a fat
 * binary whose PTX is used. Returns 0 (*out set), -ENOEXEC (not PTX the
 * cpu executor runs: the log says where and why), -EOPNOTSUPP (a binary
 * image with no PTX: cubin/SASS, which only a GPU runs; the log says so) or
 * -ENOMEM. The log (NUL-terminated, truncated to log_cap) gets one line per
 * error, "ptx line N: error: ...", as a JIT compiler's error log does; on
 * success it is empty. log may be NULL when log_cap is 0.
 */
int  ptx_module_load(const void *image, size_t len, struct ptx_module **out,
		     char *log, size_t log_cap);
void ptx_module_free(struct ptx_module *m);

/* Module variables (.global and .const), in declaration order. */
struct ptx_global_info {
	const char *name;
	bool is_const;                 /* .const, else .global               */
	uint64_t size;                 /* bytes, at least 1                  */
	uint32_t align;
	const unsigned char *init;     /* the first init_len bytes; the rest */
	uint64_t init_len;             /* are zero                           */
};
unsigned int ptx_module_nglobals(const struct ptx_module *m);
void ptx_module_global(const struct ptx_module *m, unsigned int i,
		       struct ptx_global_info *gi);
/* Index of the variable named name[0, len) (not NUL-terminated), or -1. */
int  ptx_module_find_global(const struct ptx_module *m, const char *name,
			    size_t len);
/*
 * The executor placed variable i at device address addr (in a region it
 * passes to every launch). Every variable must be bound before a launch.
 */
void ptx_module_bind_global(struct ptx_module *m, unsigned int i, uint64_t addr);

/* What the module makes the device hold, for the backend's quota. */
struct ptx_module_usage {
	uint64_t global_bytes;         /* .global variables                 */
	uint64_t const_bytes;          /* .const variables                  */
	uint32_t local_per_thread;     /* the most any kernel needs         */
	uint32_t shared_static;        /* the most any kernel needs         */
};
void ptx_module_usage(const struct ptx_module *m, struct ptx_module_usage *u);

/* The kernel (.entry) named name[0, len) (mangled, not NUL-terminated). */
const struct ptx_kernel *ptx_module_kernel(const struct ptx_module *m,
					   const char *name, size_t len);
/* The kernels (.entry) in declaration order, and a kernel's name. */
unsigned int ptx_module_nentries(const struct ptx_module *m);
const struct ptx_kernel *ptx_module_entry(const struct ptx_module *m,
					  unsigned int i);
const char *ptx_kernel_name(const struct ptx_kernel *k);

/* What a program reads of a kernel (cuFuncGetAttribute, ParamInfo). */
struct ptx_kernel_attrs {
	uint32_t nparams;
	uint32_t param_bytes;          /* end of the last parameter          */
	uint32_t max_threads;          /* per block: 1024, .maxntid, .reqntid */
	uint32_t reqntid[3];           /* 0: none                            */
	uint32_t shared_static;        /* bytes of static shared memory      */
	uint32_t const_bytes;          /* .const variables it uses           */
	uint32_t local_bytes;          /* .local bytes per thread            */
	uint32_t num_regs;             /* register slots the interpreter uses */
	uint32_t ptx_version;          /* major * 10 + minor                 */
	uint32_t binary_version;       /* the .target's sm number, e.g. 75   */
};
void ptx_kernel_attrs(const struct ptx_kernel *k, struct ptx_kernel_attrs *a);
/* Parameter i (< nparams): offset and size in the parameter buffer. */
void ptx_kernel_param(const struct ptx_kernel *k, unsigned int i,
		      uint32_t *offset, uint32_t *size);
/*
 * FUNC_INFO's answer (struct vgpuif_func_info, zeroed first): parameters,
 * and the CUfunction_attribute values 0..9 (max threads per block, shared,
 * const, local bytes, num regs, ptx and binary version, cache mode ca,
 * max dynamic shared bytes = max_dyn_shared, preferred carveout = carveout).
 */
void ptx_kernel_func_info(const struct ptx_kernel *k, uint32_t max_dyn_shared,
			  int32_t carveout, struct vgpuif_func_info *fi);
/* The most dynamic shared memory a launch may ask for by default. */
uint32_t ptx_kernel_default_dyn_shared(const struct ptx_kernel *k);

/* Device memory a launch may touch: sorted by addr, not overlapping. */
struct ptx_region {
	uint64_t addr, size;
	unsigned char *host;           /* size bytes                         */
	bool is_const;                 /* a .const variable: read-only, and
					* what ld.const may read           */
};

struct ptx_launch {
	const struct ptx_kernel *kernel;
	uint32_t grid[3], block[3];
	uint32_t shared_mem;           /* dynamic shared bytes               */
	uint32_t max_dyn_shared;       /* the kernel's limit (FUNC_SET_ATTR);
					* 0: ptx_kernel_default_dyn_shared  */
	const void *params;            /* the parameter buffer, param_len B  */
	size_t param_len;
	const struct ptx_region *regions;
	size_t nregions;
	uint64_t budget;               /* instructions; 0 = no limit         */
	const volatile int *cancel;    /* NULL, or stop when it becomes != 0 */
	/* out */
	uint64_t insns;                /* instructions executed              */
	char why[256];                 /* on failure: what happened, where   */
};

/*
 * Run l->kernel over the grid. Returns 0; -EINVAL (a launch the driver
 * refuses: parameter size, block size against .maxntid/.reqntid, shared
 * memory, a region in a generic window; nothing ran); -EFAULT (an access
 * outside every space, misaligned, a store to .const, trap); -ETIMEDOUT
 * (the budget ran out, or a barrier no thread can release); -ECANCELED
 * (*cancel became nonzero); -ENOMEM. l->why says what and where.
 */
int  ptx_launch(struct ptx_launch *l);

#endif /* VGPU_PTX_H */
