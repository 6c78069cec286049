/* SPDX-License-Identifier: MIT */
/* libvitrt: how the FP32 path's hot functions ask for vector code (vitrt_vit.c, vitrt_sgemm.c). */
#ifndef VITRT_HOT_H
#define VITRT_HOT_H

/*
 * The -O2 default leaves GCC's vector extensions to SSE: a hot function asks for O3 and an
 * x86-64-v3 clone (AVX2 + FMA) itself, picked at load time when the CPU has it (as
 * hw/model/vitsa_gemm.c does with AVX2).  The Makefile's TSan flavour looks for VIT_HOT.
 */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define VIT_HOT __attribute__((optimize("O3"), target_clones("arch=x86-64-v3", "default")))
#else
#define VIT_HOT
#endif
#define VIT_INLINE static inline __attribute__((always_inline))

#endif /* VITRT_HOT_H */
