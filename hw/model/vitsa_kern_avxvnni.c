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
#define KERN_SUPPORTED	avxvnni_supported

#include <stdbool.h>
#include <stdint.h>

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
				 ::: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11");
	return iters * 12 * 32;
}

#include "vitsa_kern_vnni.h"
