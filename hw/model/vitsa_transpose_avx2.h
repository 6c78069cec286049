/* SPDX-License-Identifier: MIT */
/* An 8 x 8 transpose of 32-bit lanes in AVX2 registers, for the kernels' B packing. */
#ifndef VITSA_TRANSPOSE_AVX2_H
#define VITSA_TRANSPOSE_AVX2_H

#include <immintrin.h>

/* Transpose 8 x 8 dwords in place: r[i] lane j <-> r[j] lane i. */
__attribute__((target("avx2"))) static inline void transpose8(__m256i r[8])
{
	__m256i t[8], u[8];

	for (int i = 0; i < 8; i += 2) {
		t[i] = _mm256_unpacklo_epi32(r[i], r[i + 1]);
		t[i + 1] = _mm256_unpackhi_epi32(r[i], r[i + 1]);
	}
	for (int i = 0; i < 8; i += 4) {
		u[i] = _mm256_unpacklo_epi64(t[i], t[i + 2]);
		u[i + 1] = _mm256_unpackhi_epi64(t[i], t[i + 2]);
		u[i + 2] = _mm256_unpacklo_epi64(t[i + 1], t[i + 3]);
		u[i + 3] = _mm256_unpackhi_epi64(t[i + 1], t[i + 3]);
	}
	for (int i = 0; i < 4; i++) {	/* each 128-bit lane holds 4 x 4; swap the halves */
		r[i] = _mm256_permute2x128_si256(u[i], u[i + 4], 0x20);
		r[i + 4] = _mm256_permute2x128_si256(u[i], u[i + 4], 0x31);
	}
}

#endif /* VITSA_TRANSPOSE_AVX2_H */
