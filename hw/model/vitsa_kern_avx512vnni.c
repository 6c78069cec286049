// SPDX-License-Identifier: MIT
/* vitsa GEMM kernel for AVX-512 VNNI: vpdpbusd on 512-bit vectors (vitsa_kern_vnni.h). */
#include <immintrin.h>

#define TARGET		__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
#define VEC		__m512i
#define MR		8
#define NV		2
#define LANES		16
#define V_ZERO()	_mm512_setzero_si512()
#define V_LOAD(p)	_mm512_loadu_si512((const void *)(p))
#define V_SET1(x)	_mm512_set1_epi32(x)
#define V_DPBUSD(c, u, s) _mm512_dpbusd_epi32(c, u, s)
#define V_STORE(p, v)	_mm512_storeu_si512((void *)(p), v)
#define V_HSUM(v)	_mm512_reduce_add_epi32(v)
#define KERN_NAME	vitsa_kern_avx512vnni
#define KERN_STR	"avx512vnni"
#define KERN_PEAK	peak
#define KERN_SUPPORTED	avx512vnni_supported
#define V_EPI		struct epi16
#define V_EPI_LOAD(t, n, cnt, e) epi16_load(t, n, cnt, e)
#define V_FINISH(dst, v, t, cnt, e) finish_vec(dst, v, t, cnt, e)
#define KERN_PACK_B	pack_b_fast

#include <stdbool.h>
#include <stdint.h>

static bool avx512vnni_supported(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
	       __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
}

#include "vitsa_kern.h"

/*
 * The epilogue's tables for sixteen columns: the bias, and the requantization's multipliers,
 * rounding terms and shifts of the even columns and of the odd ones (e->eo).
 */
struct epi16 {
	__m512i bias, me, mo, he, ho, se, so;
};

/*
 * @cnt (<= 16) columns from n (a multiple of 16: a whole group of e->eo, which is padded);
 * the bias has n + cnt entries, and nothing past them is read.
 */
TARGET static inline void epi16_load(struct epi16 *t, uint32_t n, uint32_t cnt,
				     const struct vitsa_kern_epi *e)
{
	const int64_t *eo = e->eo + n / 16 * VITSA_KERN_EO_WORDS;
	__mmask16 m = cnt >= 16 ? 0xffff : (__mmask16)((1u << cnt) - 1);

	t->bias = _mm512_maskz_loadu_epi32(m, e->bias + n);
	if (!e->mult) {		/* no tables: the raw int32 (set only to keep them defined) */
		t->me = t->mo = t->he = t->ho = t->se = t->so = _mm512_setzero_si512();
		return;
	}
	t->me = _mm512_loadu_si512(eo);
	t->mo = _mm512_loadu_si512(eo + 8);
	t->he = _mm512_loadu_si512(eo + 16);
	t->ho = _mm512_loadu_si512(eo + 24);
	t->se = _mm512_loadu_si512(eo + 32);
	t->so = _mm512_loadu_si512(eo + 40);
}

/*
 * Sixteen requantized lanes: the even columns' 64-bit products come from the low halves of
 * the 64-bit lanes, the odd ones' after a shift; both are shifted and clamped in 64 bits, and
 * the odd results blended back in as high halves.
 */
TARGET static inline __m512i requant16(__m512i v, const struct epi16 *t,
				       const struct vitsa_kern_epi *e)
{
	__m512i lo = _mm512_set1_epi64(e->lo), hi = _mm512_set1_epi64(e->hi);
	__m512i pe = _mm512_mul_epi32(v, t->me);
	__m512i po = _mm512_mul_epi32(_mm512_srli_epi64(v, 32), t->mo);

	pe = _mm512_srav_epi64(_mm512_add_epi64(pe, t->he), t->se);
	po = _mm512_srav_epi64(_mm512_add_epi64(po, t->ho), t->so);
	if (e->zero) {
		pe = _mm512_add_epi64(pe, _mm512_set1_epi64(e->zero));
		po = _mm512_add_epi64(po, _mm512_set1_epi64(e->zero));
	}
	pe = _mm512_min_epi64(_mm512_max_epi64(pe, lo), hi);
	po = _mm512_min_epi64(_mm512_max_epi64(po, lo), hi);
	return _mm512_mask_blend_epi32(0xaaaa, pe, _mm512_slli_epi64(po, 32));
}

/* @cnt (<= 16) results, accumulated in @acc, with the tables @t, stored at @out. */
TARGET static inline void finish_vec(uint8_t *out, __m512i acc, const struct epi16 *t,
				     uint32_t cnt, const struct vitsa_kern_epi *e)
{
	__mmask16 m = cnt >= 16 ? 0xffff : (__mmask16)((1u << cnt) - 1);
	__m512i v = _mm512_add_epi32(acc, t->bias);

	if (e->mult)
		v = requant16(v, t, e);
	if (e->bits == 8)
		_mm512_mask_cvtepi32_storeu_epi8(out, m, v);
	else if (e->bits == 16)
		_mm512_mask_cvtepi32_storeu_epi16(out, m, v);
	else
		_mm512_mask_storeu_epi32(out, m, v);
}

/* Transpose 16 x 16 dwords in place: r[i] lane j <-> r[j] lane i. */
TARGET static inline void transpose16(__m512i r[16])
{
	__m512i t[16];

	for (int i = 0; i < 16; i += 2) {
		t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
		t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
	}
	for (int i = 0; i < 16; i += 4) {
		r[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
		r[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
		r[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
		r[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
	}
	/* each 128-bit lane now holds a 4 x 4 block transposed; the shuffles move the blocks */
	for (int i = 0; i < 4; i++) {
		t[i] = _mm512_shuffle_i32x4(r[i], r[i + 4], 0x88);
		t[i + 4] = _mm512_shuffle_i32x4(r[i], r[i + 4], 0xdd);
		t[i + 8] = _mm512_shuffle_i32x4(r[i + 8], r[i + 12], 0x88);
		t[i + 12] = _mm512_shuffle_i32x4(r[i + 8], r[i + 12], 0xdd);
	}
	for (int i = 0; i < 4; i++) {
		r[i] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0x88);
		r[i + 8] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0xdd);
		r[i + 4] = _mm512_shuffle_i32x4(t[i + 4], t[i + 12], 0x88);
		r[i + 12] = _mm512_shuffle_i32x4(t[i + 4], t[i + 12], 0xdd);
	}
}

/*
 * pack_b sixteen columns by sixteen groups of four k at a time: a 64-byte load from each of
 * the @cols (<= 16) rows of B from row @r0 on (masked at the row's end, so nothing past it is
 * read), flipped, transposed; missing rows are zero columns.  Bytes past k may be flipped
 * too: A's last group is zero-filled there.
 */
#define PREFETCH	256	/* bytes ahead in a row: B usually comes from DRAM, once */

TARGET static void pack_b16(uint32_t *out, const uint8_t *b, size_t ldb, uint32_t r0,
			    uint32_t cols, uint32_t k, uint32_t stride, __m512i flip)
{
	uint32_t kq = (k + 3) / 4;

	for (uint32_t q0 = 0; q0 < kq; q0 += 16) {
		uint32_t left = k - 4 * q0;
		__mmask64 m = left >= 64 ? ~0ull : (1ull << left) - 1;
		__m512i r[16];

		for (uint32_t i = 0; i < cols && i < 16 && 4 * q0 + PREFETCH < k; i++)
			_mm_prefetch((const char *)b + (r0 + i) * ldb + 4 * q0 + PREFETCH,
				     _MM_HINT_T0);
		for (uint32_t i = 0; i < 16; i++) {
			const uint8_t *row;

			r[i] = _mm512_setzero_si512();
			if (i >= cols)	/* rows past the slice are not even addressed */
				continue;
			row = b + (r0 + i) * ldb + 4 * q0;
			r[i] = _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, row), flip);
		}
		transpose16(r);
		for (uint32_t i = 0; i < 16 && q0 + i < kq; i++)
			_mm512_storeu_si512(out + (size_t)(q0 + i) * stride, r[i]);
	}
}

TARGET static void pack_b_fast(void *dst, const uint8_t *b, size_t ldb, uint32_t nb, uint32_t k,
			       uint32_t sign)
{
	bool same = !(sign & VITSA_KERN_A_SIGNED) == !(sign & VITSA_KERN_B_SIGNED);
	__m512i flip = _mm512_set1_epi8(same ? (char)0x80 : 0);
	uint32_t kq = (k + 3) / 4, nr = NV * 16, *out = dst;

	for (uint32_t p = 0; p < nb; p += nr, out += (size_t)nr * kq)
		for (uint32_t h = 0; h < nr; h += 16)
			pack_b16(out + h, b, ldb, p + h, p + h < nb ? nb - p - h : 0, k, nr, flip);
}

/* 12 independent chains of the multiply instruction, in asm so nothing is folded away. */
static uint64_t peak(uint64_t iters)
{
	for (uint64_t i = 0; i < iters; i++)
		__asm__ volatile("vpdpbusd %%zmm14, %%zmm15, %%zmm0\n\t"
				 "vpdpbusd %%zmm14, %%zmm15, %%zmm1\n\t"
				 "vpdpbusd %%zmm14, %%zmm15, %%zmm2\n\t"
				 "vpdpbusd %%zmm14, %%zmm15, %%zmm3\n\t"
				 "vpdpbusd %%zmm14, %%zmm15, %%zmm4\n\t"
				 "vpdpbusd %%zmm14, %%zmm15, %%zmm5\n\t"
				 "vpdpbusd %%zmm14, %%zmm15, %%zmm6\n\t"
				 "vpdpbusd %%zmm14, %%zmm15, %%zmm7\n\t"
				 "vpdpbusd %%zmm14, %%zmm15, %%zmm8\n\t"
				 "vpdpbusd %%zmm14, %%zmm15, %%zmm9\n\t"
				 "vpdpbusd %%zmm14, %%zmm15, %%zmm10\n\t"
				 "vpdpbusd %%zmm14, %%zmm15, %%zmm11\n\t"
				 ::: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
				     "xmm8", "xmm9", "xmm10", "xmm11");
	return iters * 12 * 64;
}

#include "vitsa_kern_vnni.h"
