// SPDX-License-Identifier: MIT
/* vitsa GEMM kernel for AVX-VNNI: vpdpbusd on 256-bit vectors, VEX-encoded (vitsa_kern_vnni.h). */
#include <immintrin.h>

#define TARGET		__attribute__((target("avx2,avxvnni")))
#define VEC		__m256i
#define MR		6
#define NV		2
#define LANES		8
#define V_ZERO()	_mm256_setzero_si256()
#define V_LOAD(p)	_mm256_loadu_si256((const void *)(p))
#define V_SET1(x)	_mm256_set1_epi32(x)
#define V_DPBUSD(c, u, s) _mm256_dpbusd_avx_epi32(c, u, s)
#define V_STORE(p, v)	_mm256_storeu_si256((void *)(p), v)
#define V_HSUM(v)	hsum256(v)
#define KERN_NAME	vitsa_kern_avxvnni
#define KERN_STR	"avxvnni"
#define KERN_PEAK	peak
#define KERN_PACK_B	pack_b_fast
#define KERN_SUPPORTED	avxvnni_supported

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

static bool avxvnni_supported(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("avxvnni");
}

TARGET static inline int32_t hsum256(__m256i v)
{
	__m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));

	s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
	s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
	return _mm_cvtsi128_si32(s);
}

/* 12 independent chains of the multiply instruction, in asm so nothing is folded away. */
static uint64_t peak(uint64_t iters)
{
	for (uint64_t i = 0; i < iters; i++)
		__asm__ volatile("%{vex%} vpdpbusd %%ymm14, %%ymm15, %%ymm0\n\t"
				 "%{vex%} vpdpbusd %%ymm14, %%ymm15, %%ymm1\n\t"
				 "%{vex%} vpdpbusd %%ymm14, %%ymm15, %%ymm2\n\t"
				 "%{vex%} vpdpbusd %%ymm14, %%ymm15, %%ymm3\n\t"
				 "%{vex%} vpdpbusd %%ymm14, %%ymm15, %%ymm4\n\t"
				 "%{vex%} vpdpbusd %%ymm14, %%ymm15, %%ymm5\n\t"
				 "%{vex%} vpdpbusd %%ymm14, %%ymm15, %%ymm6\n\t"
				 "%{vex%} vpdpbusd %%ymm14, %%ymm15, %%ymm7\n\t"
				 "%{vex%} vpdpbusd %%ymm14, %%ymm15, %%ymm8\n\t"
				 "%{vex%} vpdpbusd %%ymm14, %%ymm15, %%ymm9\n\t"
				 "%{vex%} vpdpbusd %%ymm14, %%ymm15, %%ymm10\n\t"
				 "%{vex%} vpdpbusd %%ymm14, %%ymm15, %%ymm11\n\t"
				 ::: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
				     "xmm8", "xmm9", "xmm10", "xmm11");
	return iters * 12 * 32;
}

#include "vitsa_kern.h"
#include "vitsa_transpose_avx2.h"

/* Bytes 4 * q0.. of a row as 8 groups of four, zero past the row's @k, flipped by @flip. */
TARGET static inline __m256i row32(const uint8_t *row, uint32_t q0, uint32_t k, __m256i flip)
{
	uint8_t tmp[32] = { 0 };

	if (k - 4 * q0 >= 32)
		return _mm256_xor_si256(_mm256_loadu_si256((const void *)(row + 4 * q0)), flip);
	memcpy(tmp, row + 4 * q0, k - 4 * q0);
	return _mm256_xor_si256(_mm256_loadu_si256((const void *)tmp), flip);
}

/*
 * pack_b eight columns by eight groups of four k at a time (a register transpose).  Flipped
 * bytes past k are harmless: A's last group is zero-filled there.
 */
TARGET static void pack_b_fast(void *dst, const uint8_t *b, size_t ldb, uint32_t nb, uint32_t k,
			       uint32_t sign)
{
	bool same = !(sign & VITSA_KERN_A_SIGNED) == !(sign & VITSA_KERN_B_SIGNED);
	__m256i flip = _mm256_set1_epi8(same ? (char)0x80 : 0);
	uint32_t kq = (k + 3) / 4, nr = NV * LANES, *out = dst;

	for (uint32_t p = 0; p < nb; p += nr, out += (size_t)nr * kq) {
		for (uint32_t h = 0; h < nr; h += 8) {
			for (uint32_t q0 = 0; q0 < kq; q0 += 8) {
				__m256i r[8];

				for (uint32_t i = 0; i < 8; i++) {
					r[i] = _mm256_setzero_si256();
					if (p + h + i < nb)	/* past the slice: not addressed */
						r[i] = row32(b + (size_t)(p + h + i) * ldb, q0, k, flip);
				}
				transpose8(r);
				for (uint32_t q = 0; q < 8 && q0 + q < kq; q++) {
					uint32_t *at = out + ((size_t)q0 + q) * nr + h;

					_mm256_storeu_si256((void *)at, r[q]);
				}
			}
		}
	}
}

#include "vitsa_kern_vnni.h"
