// SPDX-License-Identifier: MIT
/*
 * vitsa GEMM kernel for AVX2 without VNNI.  vpmaddubsw would saturate (two u8 x s8 products
 * reach 65,025 + 65,025), so both operands are widened to int16 and multiplied with vpmaddwd,
 * whose pair sums are exact in int32: half the rate of bytes, right for every operand pair.
 * B is packed in panels of NR columns, for each pair of k NR x 2 int16; A is widened into
 * @work, one row of round_up(k, 2) int16 per row, and broadcast a pair at a time.
 */
#include <immintrin.h>
#include <stdbool.h>
#include <string.h>

#include "vitsa_kern.h"
#include "vitsa_transpose_avx2.h"

#define TARGET	__attribute__((target("avx2")))
#define INLINE	static inline __attribute__((always_inline)) TARGET
#define UNROLL	_Pragma("GCC unroll 16")	/* keeps the register tile in registers */
#define LANES	8
#define NR	(2 * LANES)
#define MR	6

static bool avx2_supported(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx2");
}

static inline int16_t val(uint8_t v, bool is_signed)
{
	return (int16_t)(is_signed ? (int32_t)v - ((int32_t)(v & 0x80) << 1) : (int32_t)v);
}

static uint32_t pairs(uint32_t k)
{
	return (k + 1) / 2;
}

static size_t b_size(uint32_t nb, uint32_t k)
{
	return (size_t)((nb + NR - 1) / NR) * NR * pairs(k) * 2 * sizeof(int16_t);
}

/* 16 bytes of a row from @k0 on (zero past the row's @k), widened to int16. */
TARGET static inline __m256i row16(const uint8_t *row, uint32_t k0, uint32_t k, bool is_signed)
{
	uint8_t tmp[16] = { 0 };
	__m128i v;

	if (k - k0 >= 16) {
		v = _mm_loadu_si128((const void *)(row + k0));
	} else {
		memcpy(tmp, row + k0, k - k0);
		v = _mm_loadu_si128((const void *)tmp);
	}
	return is_signed ? _mm256_cvtepi8_epi16(v) : _mm256_cvtepu8_epi16(v);
}

/* Eight columns of a panel, eight k-pairs at a time: widen each row's bytes, transpose. */
TARGET static void pack_b(void *dst, const uint8_t *b, size_t ldb, uint32_t nb, uint32_t k,
			  uint32_t sign)
{
	bool s = sign & VITSA_KERN_B_SIGNED;
	uint32_t kp = pairs(k);
	int16_t *out = dst;

	for (uint32_t p = 0; p < nb; p += NR, out += (size_t)NR * kp * 2) {
		for (uint32_t h = 0; h < NR; h += LANES) {
			for (uint32_t k0 = 0; k0 < k; k0 += 16) {
				__m256i r[8];

				for (uint32_t i = 0; i < 8; i++) {
					r[i] = _mm256_setzero_si256();
					if (p + h + i < nb)	/* past the slice: not addressed */
						r[i] = row16(b + (size_t)(p + h + i) * ldb, k0, k, s);
				}
				transpose8(r);
				for (uint32_t q = 0; q < 8 && k0 / 2 + q < kp; q++) {
					size_t at = ((size_t)(k0 / 2 + q) * NR + h) * 2;

					_mm256_storeu_si256((void *)(out + at), r[q]);
				}
			}
		}
	}
}

static size_t work_size(uint32_t mb, uint32_t k)
{
	return (size_t)mb * pairs(k) * 2 * sizeof(int16_t);
}

/* One row of A as int16, zero-padded to an even length: 16 at a time, then the tail. */
TARGET static void widen_row(int16_t *dst, const uint8_t *src, uint32_t k, bool is_signed)
{
	uint32_t kk = 0;

	for (; kk + 16 <= k; kk += 16) {
		__m128i v = _mm_loadu_si128((const void *)(src + kk));

		_mm256_storeu_si256((void *)(dst + kk), is_signed ? _mm256_cvtepi8_epi16(v)
								   : _mm256_cvtepu8_epi16(v));
	}
	for (; kk < k; kk++)
		dst[kk] = val(src[kk], is_signed);
	if (k % 2)
		dst[k] = 0;
}

/* @mr rows of widened A (constant at each call) against one panel of @nb <= NR columns. */
INLINE void tile(int32_t *acc, size_t ldacc, const int16_t *aw, uint32_t kp, const int16_t *pb,
		 uint32_t nb, const int mr)
{
	__m256i c0[MR], c1[MR];

	UNROLL
	for (int r = 0; r < mr; r++)
		c0[r] = c1[r] = _mm256_setzero_si256();
	for (uint32_t q = 0; q < kp; q++, pb += 2 * NR) {
		__m256i b0 = _mm256_loadu_si256((const void *)pb);
		__m256i b1 = _mm256_loadu_si256((const void *)(pb + 2 * LANES));

		UNROLL
		for (int r = 0; r < mr; r++) {
			int32_t w;

			memcpy(&w, aw + (size_t)r * 2 * kp + 2 * q, 4);
			__m256i av = _mm256_set1_epi32(w);

			c0[r] = _mm256_add_epi32(c0[r], _mm256_madd_epi16(av, b0));
			c1[r] = _mm256_add_epi32(c1[r], _mm256_madd_epi16(av, b1));
		}
	}
	UNROLL
	for (int r = 0; r < mr; r++) {
		int32_t tmp[NR];

		_mm256_storeu_si256((void *)tmp, c0[r]);
		_mm256_storeu_si256((void *)(tmp + LANES), c1[r]);
		memcpy(acc + r * ldacc, tmp, nb * sizeof(*acc));
	}
}

INLINE void rows(int32_t *acc, size_t ldacc, const int16_t *aw, uint32_t kp, const int16_t *pb,
		 uint32_t nb, const int mr)
{
	for (uint32_t p = 0; p < nb; p += NR, pb += (size_t)NR * kp * 2)
		tile(acc + p, ldacc, aw, kp, pb, nb - p < NR ? nb - p : NR, mr);
}

TARGET static void gemm(int32_t *acc, size_t ldacc, const uint8_t *a, size_t lda,
			const void *pb, uint32_t mb, uint32_t nb, uint32_t k, uint32_t sign,
			const uint32_t *corr, const struct vitsa_kern_out *out, void *work)
{
	bool s = sign & VITSA_KERN_A_SIGNED;

	(void)corr, (void)out;	/* int16 products are exact; never fused */
	uint32_t kp = pairs(k);
	int16_t *aw = work;

	for (uint32_t i = 0; i < mb; i++)
		widen_row(aw + (size_t)i * 2 * kp, a + i * lda, k, s);
	for (uint32_t i = 0; i < mb; i += MR, acc += MR * ldacc, aw += (size_t)MR * 2 * kp) {
		switch (mb - i < MR ? mb - i : MR) {
		case 6: rows(acc, ldacc, aw, kp, pb, nb, 6); break;
		case 5: rows(acc, ldacc, aw, kp, pb, nb, 5); break;
		case 4: rows(acc, ldacc, aw, kp, pb, nb, 4); break;
		case 3: rows(acc, ldacc, aw, kp, pb, nb, 3); break;
		case 2: rows(acc, ldacc, aw, kp, pb, nb, 2); break;
		default: rows(acc, ldacc, aw, kp, pb, nb, 1); break;
		}
	}
}

/* 12 independent vpmaddwd of 16 products each, in asm (the kernel also adds them up). */
static uint64_t peak(uint64_t iters)
{
	for (uint64_t i = 0; i < iters; i++)
		__asm__ volatile("vpmaddwd %%ymm14, %%ymm15, %%ymm0\n\t"
				 "vpmaddwd %%ymm14, %%ymm15, %%ymm1\n\t"
				 "vpmaddwd %%ymm14, %%ymm15, %%ymm2\n\t"
				 "vpmaddwd %%ymm14, %%ymm15, %%ymm3\n\t"
				 "vpmaddwd %%ymm14, %%ymm15, %%ymm4\n\t"
				 "vpmaddwd %%ymm14, %%ymm15, %%ymm5\n\t"
				 "vpmaddwd %%ymm14, %%ymm15, %%ymm6\n\t"
				 "vpmaddwd %%ymm14, %%ymm15, %%ymm7\n\t"
				 "vpmaddwd %%ymm14, %%ymm15, %%ymm8\n\t"
				 "vpmaddwd %%ymm14, %%ymm15, %%ymm9\n\t"
				 "vpmaddwd %%ymm14, %%ymm15, %%ymm10\n\t"
				 "vpmaddwd %%ymm14, %%ymm15, %%ymm11\n\t"
				 ::: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
				     "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13",
				     "xmm14", "xmm15");
	return iters * 12 * 16;
}

const struct vitsa_kern vitsa_kern_avx2 = {
	.name = "avx2",
	.supported = avx2_supported,
	.b_size = b_size,
	.pack_b = pack_b,
	.work_size = work_size,
	.gemm = gemm,
	.peak = peak,
};
