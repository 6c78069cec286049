/* SPDX-License-Identifier: MIT */
/*
 * vitsa GEMM kernels: the functional model's fast path, one traits row per instruction set.
 *
 * A kernel computes a block of int32 accumulators acc[m][n] = sum_k A[m][k] * B[n][k] modulo
 * 2^32 from byte operands: A rows of K elements (s8 or u8, int4 already widened to a byte) and
 * B given transposed, N rows of K.  B is packed once per block into the kernel's own layout;
 * A is read in place.  vitsa_gemm.c does the rest (loading, bias, requantization, storing) and
 * vitsa_ref.c stays the specification every kernel is tested against.  Kernels are chosen at
 * run time from CPUID, never from the build machine's flags.
 */
#ifndef VITSA_KERN_H
#define VITSA_KERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * VITSA_AVX2_ONLY builds the model as a CPU without AVX-512 and AVX-VNNI runs it: no kernel,
 * clone or lookup above AVX2 (make bench's stand-in for such a CPU, and the check that the
 * paths it takes give the same bits).
 */
#ifdef VITSA_AVX2_ONLY
#define VITSA_ISA_TOP	VITSA_ISA_AVX2
#else
#define VITSA_ISA_TOP	(VITSA_ISA_COUNT - 1)
#endif

enum vitsa_isa {
	VITSA_ISA_REF = 0,	/* plain C, the kernels' own specification */
	VITSA_ISA_AVX2,		/* vpmaddwd on int16: exact for every operand pair */
	VITSA_ISA_AVXVNNI,	/* vpdpbusd on 256-bit vectors (VEX) */
	VITSA_ISA_AVX512VNNI,	/* vpdpbusd on 512-bit vectors */
	VITSA_ISA_COUNT
};

/* Operand signedness of a block, as the kernels take it. */
#define VITSA_KERN_A_SIGNED	(1u << 0)
#define VITSA_KERN_B_SIGNED	(1u << 1)

/*
 * The epilogue of a job, per output column n: y = acc + bias[n] modulo 2^32, then (with mult)
 * sat(((y * mult[n] + half[n]) >> shift[n]) + zero) to [lo, hi], stored as @bits-bit
 * little-endian integers.  Tables are widened to 64 bits once per job.
 */
struct vitsa_kern_epi {
	const int32_t *bias;		/* zeros without a bias */
	const int64_t *mult;		/* NULL: the raw int32, bits 32 */
	const int64_t *half;		/* 2^(shift - 1), 0 for shift 0 */
	const uint64_t *shift;
	/*
	 * The same three tables for 512-bit lanes: per 16 columns, 48 words: the multipliers of
	 * the even columns, of the odd ones, the rounding terms so, the shifts so (NULL without).
	 */
	const int64_t *eo;
	int64_t zero, lo, hi;
	uint32_t bits;			/* 4, 8, 16 or 32 */
};
#define VITSA_KERN_EO_WORDS	48	/* per 16 columns */

/* Where a fused kernel stores finished results: row i, column j of the block at c + i * ldc. */
struct vitsa_kern_out {
	uint8_t *c;
	size_t ldc;
	uint32_t n0;			/* the block's first column in the tables */
	const struct vitsa_kern_epi *e;
};

struct vitsa_kern {
	const char *name;
	bool (*supported)(void);
	/* Bytes of packed B for @nb columns of @k elements. */
	size_t (*b_size)(uint32_t nb, uint32_t k);
	/* Pack @nb rows of B (row j holds column j, @k bytes, @ldb apart) into @dst. */
	void (*pack_b)(void *dst, const uint8_t *b, size_t ldb, uint32_t nb, uint32_t k,
		       uint32_t sign);
	/*
	 * Optional: the same packing from B as stored without B_TRANS, @k rows of at least @nb
	 * bytes, @ldb apart (column j of row q at b[q * ldb + j]); saves a transpose.
	 */
	void (*pack_b_kn)(void *dst, const uint8_t *b, size_t ldb, uint32_t nb, uint32_t k,
			  uint32_t sign);
	/* Bytes of working memory gemm needs for @mb rows of @k elements (may be 0). */
	size_t (*work_size)(uint32_t mb, uint32_t k);
	/*
	 * What this kernel's arithmetic must add to every accumulator of each of @rows rows of A
	 * (modulo 2^32), or NULL if nothing.  Computed once per row and job, handed to gemm.
	 */
	void (*row_corr)(uint32_t *corr, const uint8_t *a, size_t lda, uint32_t rows, uint32_t k,
			 uint32_t sign);
	/*
	 * The block: A (@mb rows of @k bytes, @lda apart, never read past a row's k-th byte)
	 * times B packed by pack_b; @corr from row_corr (NULL if it is NULL); @work has
	 * work_size(mb, k) bytes.  Without @out, acc[i * ldacc + j] = the sum for i < mb, j < nb;
	 * with @out (only when fused and out->e->bits is 8, 16 or 32), the epilogue's results
	 * are stored through it and acc is not used.
	 */
	void (*gemm)(int32_t *acc, size_t ldacc, const uint8_t *a, size_t lda, const void *pb,
		     uint32_t mb, uint32_t nb, uint32_t k, uint32_t sign, const uint32_t *corr,
		     const struct vitsa_kern_out *out, void *work);
	bool fused;			/* gemm can finish results itself */
	/*
	 * For benchmarks: @iters rounds of the kernel's multiply instruction on independent
	 * accumulators, nothing else; returns the multiply-accumulates done (0: no such loop).
	 * MACs over time is this CPU core's peak for the kernel.
	 */
	uint64_t (*peak)(uint64_t iters);
};

extern const struct vitsa_kern vitsa_kern_ref;
extern const struct vitsa_kern vitsa_kern_avx2;
extern const struct vitsa_kern vitsa_kern_avxvnni;
extern const struct vitsa_kern vitsa_kern_avx512vnni;

/* The kernel of @isa, or NULL if this CPU lacks it. */
const struct vitsa_kern *vitsa_kern_get(uint32_t isa);

/* The kernel in use: the best this CPU has unless vitsa_kern_select chose another. */
const struct vitsa_kern *vitsa_kern_active(void);

/*
 * Use the kernel named @name ("ref", "avx2", "avxvnni", "avx512vnni") from now on, for every
 * job in the process.  0, or -1 if the name is unknown or this CPU cannot run it.
 */
int vitsa_kern_select(const char *name);

#endif /* VITSA_KERN_H */
