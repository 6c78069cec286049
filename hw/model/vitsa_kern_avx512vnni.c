// SPDX-License-Identifier: MIT
/* vitsa GEMM kernel for AVX-512 VNNI: vpdpbusd on 512-bit vectors (vitsa_kern_vnni.h). */
#include <immintrin.h>

#define TARGET		__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
#define VEC		__m512i
#define LANES		16
#define V_ZERO()	_mm512_setzero_si512()
#define V_LOAD(p)	_mm512_loadu_si512((const void *)(p))
#define V_SET1(x)	_mm512_set1_epi32(x)
#define V_DPBUSD(c, u, s) _mm512_dpbusd_epi32(c, u, s)
#define V_STORE(p, v)	_mm512_storeu_si512((void *)(p), v)
#define V_HSUM(v)	_mm512_reduce_add_epi32(v)
#define KERN_NAME	vitsa_kern_avx512vnni
#define KERN_STR	"avx512vnni"
#define KERN_SUPPORTED	avx512vnni_supported

#include <stdbool.h>

static bool avx512vnni_supported(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
	       __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
}

#include "vitsa_kern_vnni.h"
