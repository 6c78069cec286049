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
#define KERN_SUPPORTED	avxvnni_supported

#include <stdbool.h>

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

#include "vitsa_kern_vnni.h"
