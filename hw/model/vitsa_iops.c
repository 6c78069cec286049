// SPDX-License-Identifier: MIT
/*
 * vitsa integer operations (the vector unit's, and the runtime's CPU path): dyadic
 * requantization, the int16 residual stream, I-LayerNorm, Shiftmax and ShiftGELU (vitsa_iops.h
 * has the formulas, Documentation/runtime.rst the bounds).
 *
 * Their specifications, the *_ref twins, are vitsa_iops_ref.c (plain loops, floor division
 * through vitsa_floor_div).  These use >> on negative numbers (arithmetic in GCC and Clang,
 * checked below), 32-bit arithmetic where a bound proves it exact, and 256-entry tables for the
 * element-wise exponentials, which they fill by calling the _ref element functions here
 * (vitsa_shift_exp_ref, vitsa_gelu_sigmoid_ref) and keep per thread for the last parameters.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vitsa_iops_priv.h"
#include "../include/vitsa_int.h"

_Static_assert((-1 >> 1) == -1 && (-5 >> 1) == -3 && (-5ll >> 1) == -3ll,
	       ">> of a negative number must be an arithmetic shift (floor)");

/* Loops worth vectorizing ask for O3 themselves and get AVX-512 and AVX2 clones (as hw/model does). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(VITSA_AVX2_ONLY)
#define IOPS_HOT __attribute__((optimize("O3"), target_clones("avx2", "default")))
#define IOPS_IVDEP _Pragma("GCC ivdep")
#elif defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define IOPS_HOT __attribute__((optimize("O3"), target_clones("arch=x86-64-v4", "avx2", "default")))
#define IOPS_IVDEP _Pragma("GCC ivdep")
#else
#define IOPS_HOT
#define IOPS_IVDEP
#endif

#define LOG2E 1.4426950408889634074

/* ---- integer helpers ---- */

int64_t vitsa_floor_div(int64_t a, int64_t b)
{
	int64_t q, r;

	IOPS_ASSERT(b > 0);
	q = a / b;		/* C division truncates toward zero ... */
	r = a % b;
	return r < 0 ? q - 1 : q;	/* ... so step down once for a negative remainder */
}

int64_t vitsa_floor_shr(int64_t a, uint32_t s)
{
	IOPS_ASSERT(s <= 62);
	return vitsa_int_floor_shr(a, s);
}

static inline int32_t clamp4(int32_t v, int32_t lo)
{
	return v < lo ? lo : v > lo + 15 ? lo + 15 : v;
}

/*
 * n s8 values plus @zero, saturated to [lo, lo + 15] (s4: lo = -8, u4: 0) and packed; an odd
 * row's last high nibble is 0.
 */
IOPS_HOT static void pack_4(uint8_t *restrict out, const int8_t *restrict x, size_t n,
			    int32_t zero, int32_t lo)
{
	IOPS_IVDEP
	for (size_t i = 0; i + 1 < n; i += 2)
		out[i / 2] = (uint8_t)((clamp4(x[i] + zero, lo) & 0xf) |
				       (clamp4(x[i + 1] + zero, lo) & 0xf) << 4);
	if (n % 2)
		out[n / 2] = (uint8_t)(clamp4(x[n - 1] + zero, lo) & 0xf);
}

/*
 * The double square root of v (v rounded to 53 bits) is within one of floor(sqrt(v)); the
 * corrections step to it exactly, x * x and (x + 1)^2 fitting 64 bits for x < 2^32.  Faster
 * than Newton's iteration, whose every step is a 64-bit division.
 */
uint32_t vitsa_isqrt64(uint64_t v)
{
	uint64_t x = (uint64_t)__builtin_sqrt((double)v);

	if (x > UINT32_MAX)
		x = UINT32_MAX;
	while (x * x > v)
		x--;
	while (x < UINT32_MAX && (x + 1) * (x + 1) <= v)
		x++;
	return (uint32_t)x;
}

/* ---- dyadic numbers ---- */

/* @x rounded to the nearest integer, ties away from zero; 0 <= x < 2^62. */
static int64_t round_pos(double x)
{
	int64_t t = (int64_t)x;		/* the integer part, exactly */

	return x - (double)t >= 0.5 ? t + 1 : t;	/* the fraction is exact too */
}

struct vitsa_dyadic vitsa_dyadic_from_ratio(double ratio)
{
	double f = ratio;
	int e = 0, shift;
	int64_t m;

	if (!(ratio > 0))
		return (struct vitsa_dyadic){ 0, 0 };
	if (ratio >= 0x1p31)	/* also +inf */
		return (struct vitsa_dyadic){ INT32_MAX, 0 };
	while (f >= 1) {	/* f = ratio * 2^-e in [0.5, 1), by exact halving/doubling */
		f /= 2;
		e++;
	}
	while (f < 0.5) {
		f *= 2;
		e--;
	}
	shift = 31 - e;
	if (shift > VITSA_DYADIC_MAX_SHIFT)
		return (struct vitsa_dyadic){ (int32_t)round_pos(ratio * 0x1p62), 62 };
	m = round_pos(f * 0x1p31);
	if (m == (int64_t)1 << 31) {
		m = (int64_t)1 << 30;
		shift--;
	}
	if (shift < 0)
		return (struct vitsa_dyadic){ INT32_MAX, 0 };
	return (struct vitsa_dyadic){ (int32_t)m, (uint32_t)shift };
}

double vitsa_dyadic_value(struct vitsa_dyadic d)
{
	double v = d.mult;

	for (uint32_t i = 0; i < d.shift && i < 1100; i++)
		v /= 2;
	return v;
}

/* ---- requantized rows ---- */

/*
 * One loop for the three result types.  |x * mult| <= 2^62 and the rounding term <= 2^61, so
 * nothing wraps; (p + half) >> shift is the floor because >> is arithmetic.
 */
#define REQUANT_ROW(out, x, n, d, zero, lo, hi, type)				\
	do {									\
		const int64_t m_ = (d).mult;					\
		const int64_t half_ = (d).shift ? (int64_t)1 << ((d).shift - 1) : 0;	\
		const uint32_t s_ = (d).shift;					\
										\
		IOPS_ASSERT(s_ <= VITSA_DYADIC_MAX_SHIFT);			\
		for (size_t i_ = 0; i_ < (n); i_++) {				\
			int64_t q_ = (((int64_t)(x)[i_] * m_ + half_) >> s_) + (zero); \
										\
			(out)[i_] = (type)(q_ < (lo) ? (lo) : q_ > (hi) ? (hi) : q_); \
		}								\
	} while (0)

IOPS_HOT void vitsa_requant_s8(int8_t *restrict out, const int32_t *restrict x, size_t n,
			       struct vitsa_dyadic d, int32_t zero)
{
	REQUANT_ROW(out, x, n, d, zero, INT8_MIN, INT8_MAX, int8_t);
}

IOPS_HOT void vitsa_requant_u8(uint8_t *restrict out, const int32_t *restrict x, size_t n,
			       struct vitsa_dyadic d, int32_t zero)
{
	REQUANT_ROW(out, x, n, d, zero, 0, UINT8_MAX, uint8_t);
}

IOPS_HOT void vitsa_requant_s16(int16_t *restrict out, const int32_t *restrict x, size_t n,
				struct vitsa_dyadic d, int32_t zero)
{
	REQUANT_ROW(out, x, n, d, zero, INT16_MIN, INT16_MAX, int16_t);
}

/* ---- residual stream ---- */

/*
 * out may alias a or b element for element, so no restrict; ivdep tells GCC the only overlap
 * is the same element, which an element-wise loop reads before it writes.
 */
#define RESIDUAL_ADD(out, a, b, n, da, db)					\
	do {									\
		const int64_t ma_ = (da).mult, mb_ = (db).mult;		\
		const int64_t ha_ = (da).shift ? (int64_t)1 << ((da).shift - 1) : 0; \
		const int64_t hb_ = (db).shift ? (int64_t)1 << ((db).shift - 1) : 0; \
		const uint32_t sa_ = (da).shift, sb_ = (db).shift;		\
										\
		IOPS_ASSERT(sa_ <= VITSA_DYADIC_MAX_SHIFT && sb_ <= VITSA_DYADIC_MAX_SHIFT); \
		IOPS_IVDEP							\
		for (size_t i_ = 0; i_ < (n); i_++) {				\
			int64_t v_ = (((int64_t)(a)[i_] * ma_ + ha_) >> sa_) +	\
				     (((int64_t)(b)[i_] * mb_ + hb_) >> sb_);	\
										\
			(out)[i_] = (int16_t)(v_ < INT16_MIN ? INT16_MIN :	\
					      v_ > INT16_MAX ? INT16_MAX : v_); \
		}								\
	} while (0)

IOPS_HOT void vitsa_residual_add(int16_t *out, const int16_t *a, const int16_t *b, size_t n,
				 struct vitsa_dyadic da, struct vitsa_dyadic db)
{
	RESIDUAL_ADD(out, a, b, n, da, db);
}

IOPS_HOT void vitsa_residual_add_s32(int16_t *out, const int16_t *a, const int32_t *b, size_t n,
				     struct vitsa_dyadic da, struct vitsa_dyadic db)
{
	RESIDUAL_ADD(out, a, b, n, da, db);
}

/* ---- I-LayerNorm ---- */

/*
 * The same statistics, vectorizable: |sum| <= 65536 * 32768 = 2^31 fits an int32 (the most
 * negative sum is exactly INT32_MIN); y^2 <= 65535^2 < 2^32 is exact in uint32 arithmetic.
 */
IOPS_HOT static struct ln_stats ln_stats(const int16_t *restrict x, uint32_t cols)
{
	int32_t sum = 0, mean;
	uint64_t var = 0;
	uint32_t sd;

	for (uint32_t i = 0; i < cols; i++)
		sum += x[i];
	mean = (int32_t)vitsa_floor_div(2 * (int64_t)sum + cols, 2 * (int64_t)cols);
	for (uint32_t i = 0; i < cols; i++) {
		uint32_t y = (uint32_t)(x[i] - mean);

		var += y * y;
	}
	sd = vitsa_isqrt64(var);
	return (struct ln_stats){ mean, sd ? (int32_t)(INT32_MAX / sd) : 0 };
}

/*
 * y * F is exact in int32: y^2 <= var, so |y| <= floor(sqrt(var)) = std, and
 * |y| * F <= std * floor((2^31 - 1) / std) <= 2^31 - 1.
 */
IOPS_HOT void vitsa_layernorm(int32_t *restrict out, size_t out_stride,
			      const int16_t *restrict x, size_t x_stride, uint32_t rows,
			      uint32_t cols)
{
	ln_check(rows, cols, out_stride, x_stride);
	for (uint32_t r = 0; r < rows; r++) {
		const int16_t *xr = x + r * x_stride;
		int32_t *o = out + r * out_stride;
		struct ln_stats st = ln_stats(xr, cols);

		for (uint32_t i = 0; i < cols; i++)
			o[i] = ((xr[i] - st.mean) * st.factor) >> 1;
	}
}

/* n normalized values of one row (statistics @st) requantized with @d to s8. */
IOPS_HOT static void ln_row_s8(int8_t *restrict o, const int16_t *restrict xr, uint32_t n,
			       struct ln_stats st, struct vitsa_dyadic d)
{
	const int64_t m = d.mult, half = d.shift ? (int64_t)1 << (d.shift - 1) : 0;
	const uint32_t s = d.shift;

	for (uint32_t i = 0; i < n; i++) {
		int32_t v = ((xr[i] - st.mean) * st.factor) >> 1;
		int64_t q = ((int64_t)v * m + half) >> s;

		o[i] = (int8_t)(q < INT8_MIN ? INT8_MIN : q > INT8_MAX ? INT8_MAX : q);
	}
}

void vitsa_layernorm_s8(int8_t *out, size_t out_stride, const int16_t *x, size_t x_stride,
			uint32_t rows, uint32_t cols, struct vitsa_dyadic d)
{
	ln_check(rows, cols, out_stride, x_stride);
	IOPS_ASSERT(d.shift <= VITSA_DYADIC_MAX_SHIFT);
	for (uint32_t r = 0; r < rows; r++)
		ln_row_s8(out + r * out_stride, x + r * x_stride, cols,
			  ln_stats(x + r * x_stride, cols), d);
}

/* Through s8 in chunks: clamping to s8 and then to s4 is clamping to s4. */
void vitsa_layernorm_s4(uint8_t *out, size_t out_stride, const int16_t *x, size_t x_stride,
			uint32_t rows, uint32_t cols, struct vitsa_dyadic d)
{
	int8_t tmp[512];

	ln_check(rows, cols, 2 * out_stride, x_stride);
	IOPS_ASSERT(d.shift <= VITSA_DYADIC_MAX_SHIFT);
	for (uint32_t r = 0; r < rows; r++) {
		const int16_t *xr = x + r * x_stride;
		struct ln_stats st = ln_stats(xr, cols);

		for (uint32_t i = 0; i < cols; i += sizeof(tmp)) {
			uint32_t n = cols - i < sizeof(tmp) ? cols - i : sizeof(tmp);

			ln_row_s8(tmp, xr + i, n, st, d);
			pack_4(out + r * out_stride + i / 2, tmp, n, 0, -8);
		}
	}
}

/* ---- the shift exponential ---- */

#define EXP_MAX_X0 (1 << 20)
#define EXP_MAX_N 30
#define EXP_FINE_X0 (1 << 10)	/* steps per halving wanted: the slope within 0.05% */

uint32_t vitsa_shift_exp_ref(int32_t d, int32_t x0, uint32_t n, uint32_t k, uint32_t j)
{
	int64_t t, q, r, v, e, dd;

	IOPS_ASSERT(d <= 0 && x0 < 0 && x0 >= -EXP_MAX_X0 && n <= EXP_MAX_N &&
		    j <= VITSA_EXP_MAX_J);
	dd = (int64_t)d * ((int64_t)1 << j);	/* |d| < 2^31: |dd| < 2^55 */
	t = dd + vitsa_floor_div(dd, 2) - vitsa_floor_div(dd, 16);
	if (t < (int64_t)n * x0)
		t = (int64_t)n * x0;
	q = vitsa_floor_div(-t, -(int64_t)x0);	/* floor(t / x0): 0 <= q <= n */
	r = t - (int64_t)x0 * q;		/* x0 < r <= 0 */
	v = vitsa_floor_div(r, 2) - x0;		/* 1 <= v <= -x0 <= 2^20 */
	if (q + k > 62)
		return 0;
	e = vitsa_floor_shr(v * ((int64_t)1 << n), (uint32_t)(q + k));	/* v * 2^n <= 2^50 */
	IOPS_ASSERT(e <= UINT32_MAX);
	return (uint32_t)e;
}

/* The checks behind every bound: E = floor(-x0 * 2^n / 2^k) in [1, cap] bounds every e. */
static int exp_check(int32_t x0, uint32_t n, uint32_t k, uint32_t j, uint64_t cap)
{
	uint64_t e;

	if (x0 >= 0 || x0 < -EXP_MAX_X0 || n < 1 || n > EXP_MAX_N || k > 62 ||
	    j > VITSA_EXP_MAX_J)
		return -1;
	e = ((uint64_t)-(int64_t)x0 << n) >> k;
	return e >= 1 && e <= cap ? 0 : -1;
}

/*
 * j and x0 for a scale @s of the exponent's argument (vitsa_shiftmax_params); k for the bound
 * @cap on E.
 */
static int exp_params(double s, uint32_t n, uint64_t cap, int32_t *x0, uint32_t *k,
		      uint32_t *j)
{
	double a;
	int64_t u;

	if (!(s > 0 && s <= 0x1p1000))
		return -1;
	a = 1.4375 / (s * LOG2E);	/* d * 1.4375 / a = d * s * log2(e) */
	if (!(a <= EXP_MAX_X0))
		return -1;
	for (*j = 0; *j < VITSA_EXP_MAX_J && (a * (double)(1u << *j) < EXP_FINE_X0 || *j < 4) &&
		     a * (double)(2u << *j) <= EXP_MAX_X0; (*j)++)
		;
	u = round_pos(a * (double)(1u << *j));
	if (u < 1)
		u = 1;
	if (u > EXP_MAX_X0)
		return -1;
	*x0 = (int32_t)-u;
	for (*k = 0; (((uint64_t)u << n) >> *k) > cap; (*k)++)
		;
	return exp_check(*x0, n, *k, *j, cap);
}

/* ---- Shiftmax ---- */

static uint64_t shiftmax_cap(uint32_t max_len)
{
	uint64_t c = INT32_MAX / max_len;

	return c < VITSA_SHIFTMAX_EXP_MAX ? c : VITSA_SHIFTMAX_EXP_MAX;
}

int vitsa_shiftmax_check(const struct vitsa_shiftmax *p)
{
	if (p->max_len < 1 || p->max_len > VITSA_SHIFTMAX_MAX_LEN)
		return -1;
	return exp_check(p->x0, p->n, p->k, p->j, shiftmax_cap(p->max_len));
}

int vitsa_shiftmax_params(struct vitsa_shiftmax *p, double s, uint32_t max_len)
{
	*p = (struct vitsa_shiftmax){ .n = VITSA_SHIFTMAX_N, .max_len = max_len };
	if (max_len < 1 || max_len > VITSA_SHIFTMAX_MAX_LEN)
		return -1;
	return exp_params(s, p->n, shiftmax_cap(max_len), &p->x0, &p->k, &p->j);
}

#if defined(__GNUC__) && defined(__x86_64__) && !defined(VITSA_AVX2_ONLY)
/*
 * GCC 12's AVX-512 intrinsics start from _mm512_undefined_*(), which -W(maybe-)uninitialized
 * reports once inlined under some flags (QEMU's build): GCC bug 105593, not ours.
 */
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>

#define VBMI __attribute__((target("avx512f,avx512bw,avx512vbmi")))

/*
 * out[i] = lut[x[i] ^ flip], 64 lookups at a time: vpermi2b covers 128 entries, bit 7 of the
 * index picks the half.  @flip 0x80 indexes by s8 value + 128, 0 by u8 value.
 */
VBMI static void lut8_vbmi(int8_t *out, const uint8_t *x, size_t n, const int8_t lut[256],
			   uint8_t flip)
{
	__m512i t0 = _mm512_loadu_si512(lut), t1 = _mm512_loadu_si512(lut + 64);
	__m512i t2 = _mm512_loadu_si512(lut + 128), t3 = _mm512_loadu_si512(lut + 192);
	__m512i bias = _mm512_set1_epi8((char)flip);

	for (size_t i = 0; i < n; i += 64) {
		__mmask64 m = n - i >= 64 ? ~0ull : (1ull << (n - i)) - 1;
		__m512i idx = _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, x + i), bias);
		__m512i lo = _mm512_permutex2var_epi8(t0, idx, t1);
		__m512i hi = _mm512_permutex2var_epi8(t2, idx, t3);

		_mm512_mask_storeu_epi8(out + i, m,
					_mm512_mask_blend_epi8(_mm512_movepi8_mask(idx), lo, hi));
	}
}

/*
 * e[i] = exp[m - x[i]] for a row, and their sum: 32 lookups at a time in the table's low and
 * high halfwords (@half), each four 64-entry vpermi2w picked by bits 6 and 7 of the index.
 * Loaded one entry at a time, Shiftmax took as long as DeiT-S's q.k^T GEMMs.
 */
VBMI static __m512i exps32(const __m512i t[2][8], __m512i d, __mmask32 k, uint32_t *e)
{
	__mmask32 k6 = _mm512_test_epi16_mask(d, _mm512_set1_epi16(64));
	__mmask32 k7 = _mm512_test_epi16_mask(d, _mm512_set1_epi16(128));
	__m512i w[2], lo, hi, v0, v1;

	for (int h = 0; h < 2; h++) {
		__m512i a = _mm512_permutex2var_epi16(t[h][0], d, t[h][1]);
		__m512i b = _mm512_permutex2var_epi16(t[h][2], d, t[h][3]);
		__m512i c = _mm512_permutex2var_epi16(t[h][4], d, t[h][5]);
		__m512i f = _mm512_permutex2var_epi16(t[h][6], d, t[h][7]);

		w[h] = _mm512_mask_blend_epi16(k7, _mm512_mask_blend_epi16(k6, a, b),
					       _mm512_mask_blend_epi16(k6, c, f));
	}
	lo = _mm512_cvtepu16_epi32(_mm512_castsi512_si256(w[0]));
	hi = _mm512_cvtepu16_epi32(_mm512_castsi512_si256(w[1]));
	v0 = _mm512_maskz_or_epi32((__mmask16)k, lo, _mm512_slli_epi32(hi, 16));
	lo = _mm512_cvtepu16_epi32(_mm512_extracti64x4_epi64(w[0], 1));
	hi = _mm512_cvtepu16_epi32(_mm512_extracti64x4_epi64(w[1], 1));
	v1 = _mm512_maskz_or_epi32((__mmask16)(k >> 16), lo, _mm512_slli_epi32(hi, 16));
	_mm512_mask_storeu_epi32(e, (__mmask16)k, v0);
	_mm512_mask_storeu_epi32(e + 16, (__mmask16)(k >> 16), v1);
	return _mm512_add_epi32(v0, v1);
}

VBMI static uint32_t exps_bw(const int8_t *x, uint32_t len, int8_t m,
			     const uint16_t half[2][256], uint32_t *e)
{
	__m512i t[2][8], sum = _mm512_setzero_si512(), vm = _mm512_set1_epi16(m);

	for (int h = 0; h < 2; h++)
		for (int j = 0; j < 8; j++)
			t[h][j] = _mm512_loadu_si512(half[h] + 32 * j);
	for (uint32_t i = 0; i < len; i += 32) {
		__mmask32 k = len - i >= 32 ? ~0u : (1u << (len - i)) - 1;
		__m512i x16 = _mm512_cvtepi8_epi16(
			_mm512_castsi512_si256(_mm512_maskz_loadu_epi8(k, x + i)));

		sum = _mm512_add_epi32(sum, exps32(t, _mm512_sub_epi16(vm, x16), k, e + i));
	}
	return (uint32_t)_mm512_reduce_add_epi32(sum);
}

/* Called from several threads at once (a batch's sessions): the cache is atomic. */
static bool have_vbmi(void)
{
	static _Atomic int have = -1;
	int h = atomic_load_explicit(&have, memory_order_relaxed);

	if (h < 0) {
		__builtin_cpu_init();
		h = __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("avx512bw");
		atomic_store_explicit(&have, h, memory_order_relaxed);
	}
	return h;
}
#else
static bool have_vbmi(void)
{
	return false;
}

static void lut8_vbmi(int8_t *out, const uint8_t *x, size_t n, const int8_t lut[256],
		      uint8_t flip)
{
	(void)out, (void)x, (void)n, (void)lut, (void)flip;
}

static uint32_t exps_bw(const int8_t *x, uint32_t len, int8_t m, const uint16_t half[2][256],
			uint32_t *e)
{
	(void)x, (void)len, (void)m, (void)half, (void)e;
	return 0;
}
#endif

/* The exponential of every d = max - x, whole and split into its low and high halfwords. */
struct sm_table {
	uint32_t exp[256];
	uint16_t half[2][256];
};

/* e of every element of a row into @e (from the table of d = max - x), and their sum S. */
static inline __attribute__((always_inline)) uint32_t
shiftmax_exps(const int8_t *restrict x, uint32_t len, const struct sm_table *restrict t,
	      uint32_t *restrict e)
{
	int8_t m = x[0];
	uint32_t sum = 0;

	for (uint32_t i = 1; i < len; i++)
		m = x[i] > m ? x[i] : m;
	if (have_vbmi())
		return exps_bw(x, len, m, t->half, e);
	for (uint32_t i = 0; i < len; i++) {
		e[i] = t->exp[m - x[i]];
		sum += e[i];
	}
	return sum;
}

IOPS_HOT static void shiftmax_row(uint8_t *restrict out, const int8_t *restrict x, uint32_t len,
				  const struct sm_table *restrict lut, uint32_t *restrict e)
{
	uint32_t f = INT32_MAX / shiftmax_exps(x, len, lut, e);

	for (uint32_t i = 0; i < len; i++) {
		uint32_t v = (e[i] * f + (1u << 22)) >> VITSA_SHIFTMAX_SHIFT;

		out[i] = (uint8_t)(v > 255 ? 255 : v);
	}
}

/*
 * Tables of the exponential and of GELU are built once per parameters and thread and kept in
 * TABLE_SLOTS slots: a program has one set per layer, and rebuilding a table at every step
 * (256 exponentials) cost as much as the step itself.  A set may sit in any of TABLE_WAYS
 * slots from the one its parameters pick, so that two layers whose parameters pick the same
 * slot do not evict each other at every image; a miss takes the ways in turn.
 */
#define TABLE_SLOTS	32
#define TABLE_WAYS	4

static uint32_t table_slot(int32_t a, uint32_t b, uint32_t c)
{
	uint32_t h = (uint32_t)a * 0x9e3779b1u ^ b * 0x85ebca77u ^ c * 0xc2b2ae3du;

	return (h ^ h >> 15) % TABLE_SLOTS;
}

/* The tables of the parameters of @p. */
static __thread struct {
	bool valid;
	int32_t x0;
	uint32_t n, k, j;
	struct sm_table t;
} sm_cache[TABLE_SLOTS];

static __thread uint32_t sm_victim, gelu_victim;	/* the way a miss takes next */

static const struct sm_table *shiftmax_table(const struct vitsa_shiftmax *p)
{
	uint32_t slot = table_slot(p->x0, p->n, p->k ^ p->j << 8), pick = TABLE_WAYS;
	typeof(&sm_cache[0]) c;

	for (uint32_t w = 0; w < TABLE_WAYS; w++) {
		c = &sm_cache[(slot + w) % TABLE_SLOTS];
		if (c->valid && c->x0 == p->x0 && c->n == p->n && c->k == p->k && c->j == p->j)
			return &c->t;
		if (!c->valid && pick == TABLE_WAYS)
			pick = w;
	}
	if (pick == TABLE_WAYS)		/* every way taken: each in turn */
		pick = sm_victim++ % TABLE_WAYS;
	c = &sm_cache[(slot + pick) % TABLE_SLOTS];
	for (int32_t d = 0; d < 256; d++) {
		c->t.exp[d] = vitsa_shift_exp_ref(-d, p->x0, p->n, p->k, p->j);
		c->t.half[0][d] = (uint16_t)c->t.exp[d];
		c->t.half[1][d] = (uint16_t)(c->t.exp[d] >> 16);
	}
	c->x0 = p->x0;
	c->n = p->n;
	c->k = p->k;
	c->j = p->j;
	c->valid = true;
	return &c->t;
}

void vitsa_shiftmax(uint8_t *out, size_t out_stride, const int8_t *x, size_t x_stride,
		    uint32_t rows, uint32_t len, const struct vitsa_shiftmax *p)
{
	uint32_t e[VITSA_SHIFTMAX_MAX_LEN];
	const struct sm_table *lut;

	shiftmax_check_args(rows, len, out_stride, x_stride, p);
	lut = shiftmax_table(p);
	for (uint32_t r = 0; r < rows; r++)
		shiftmax_row(out + r * out_stride, x + r * x_stride, len, lut, e);
}

/* ---- Shiftmax for long rows: two u8 parts, and their GEMMs joined ---- */

IOPS_HOT static void shiftmax16_row(uint8_t *restrict hi, uint8_t *restrict lo,
				    const int8_t *restrict x, uint32_t len,
				    const struct sm_table *restrict lut, uint32_t *restrict e)
{
	uint64_t f = (1ull << VITSA_SHIFTMAX16_NUM) / shiftmax_exps(x, len, lut, e);

	for (uint32_t i = 0; i < len; i++) {
		uint64_t v = (e[i] * f + (1u << 29)) >> VITSA_SHIFTMAX16_SHIFT;

		v = v > UINT16_MAX ? UINT16_MAX : v;
		hi[i] = (uint8_t)(v >> 8);
		lo[i] = (uint8_t)v;
	}
}

void vitsa_shiftmax16(uint8_t *out, size_t out_stride, size_t lo_off, const int8_t *x,
		      size_t x_stride, uint32_t rows, uint32_t len, const struct vitsa_shiftmax *p)
{
	uint32_t e[VITSA_SHIFTMAX_MAX_LEN];
	const struct sm_table *lut;

	shiftmax16_check_args(rows, len, out_stride, lo_off, x_stride, p);
	lut = shiftmax_table(p);
	for (uint32_t r = 0; r < rows; r++)
		shiftmax16_row(out + r * out_stride, out + r * out_stride + lo_off,
			       x + r * x_stride, len, lut, e);
}

/* |acc| <= 2^31 after the saturation: as REQUANT_ROW, nothing wraps. */
IOPS_HOT void vitsa_join16_s8(int8_t *restrict out, const int32_t *restrict hi,
			      const int32_t *restrict lo, size_t n, struct vitsa_dyadic d)
{
	const int64_t m = d.mult, half = d.shift ? (int64_t)1 << (d.shift - 1) : 0;
	const uint32_t s = d.shift;

	IOPS_ASSERT(s <= VITSA_DYADIC_MAX_SHIFT);
	for (size_t i = 0; i < n; i++) {
		int64_t acc = (int64_t)hi[i] * 256 + lo[i], q;

		acc = acc < INT32_MIN ? INT32_MIN : acc > INT32_MAX ? INT32_MAX : acc;
		q = (acc * m + half) >> s;
		out[i] = (int8_t)(q < INT8_MIN ? INT8_MIN : q > INT8_MAX ? INT8_MAX : q);
	}
}

/* ---- ShiftGELU ---- */

int vitsa_gelu_check(const struct vitsa_gelu *p)
{
	return exp_check(p->x0, p->n, p->k, p->j, VITSA_GELU_EXP_MAX);
}

int vitsa_gelu_params(struct vitsa_gelu *p, double s)
{
	*p = (struct vitsa_gelu){ .n = VITSA_GELU_N };
	return exp_params(1.702 * s, p->n, VITSA_GELU_EXP_MAX, &p->x0, &p->k, &p->j);
}

/*
 * Bounds: e <= E <= 2^16, so 1 <= E + e <= 2^17 and F <= 2^31 - 1; e * F <= (E + e) * F <=
 * 2^31 - 1, plus 2^16 fits a uint32; e <= E gives e * F <= 2^30, so g <= 2^13.
 */
int32_t vitsa_gelu_sigmoid_ref(int32_t x, const struct vitsa_gelu *p)
{
	uint64_t big, e, f;
	int64_t g;

	IOPS_ASSERT(vitsa_gelu_check(p) == 0);
	IOPS_ASSERT(x > -(1 << 30) && x < (1 << 30));
	big = vitsa_shift_exp_ref(0, p->x0, p->n, p->k, p->j);
	e = vitsa_shift_exp_ref(x < 0 ? x : -x, p->x0, p->n, p->k, p->j);
	f = INT32_MAX / (big + e);
	g = vitsa_floor_shr((int64_t)(e * f) + (1 << 16), 31 - VITSA_GELU_SIG_BITS);
	return (int32_t)(x < 0 ? g : (1 << VITSA_GELU_SIG_BITS) - g);
}

/* GELU of every s8 value at index x + 128, and the same requantized with d (slots as above). */
static __thread struct gelu_slot {
	bool valid, valid8;
	struct vitsa_gelu p;
	struct vitsa_dyadic d;
	int32_t lut[256];
	int8_t lut8[256];
} gelu_cache[TABLE_SLOTS];

static bool gelu_same(const struct vitsa_gelu *a, const struct vitsa_gelu *b)
{
	return a->x0 == b->x0 && a->n == b->n && a->k == b->k && a->j == b->j;
}

static struct gelu_slot *gelu_slot(const struct vitsa_gelu *p)
{
	uint32_t slot = table_slot(p->x0, p->n, p->k ^ p->j << 8), pick = TABLE_WAYS;
	struct gelu_slot *c;

	for (uint32_t w = 0; w < TABLE_WAYS; w++) {
		c = &gelu_cache[(slot + w) % TABLE_SLOTS];
		if (c->valid && gelu_same(&c->p, p))
			return c;
		if (!c->valid && pick == TABLE_WAYS)
			pick = w;
	}
	if (pick == TABLE_WAYS)		/* every way taken: each in turn */
		pick = gelu_victim++ % TABLE_WAYS;
	c = &gelu_cache[(slot + pick) % TABLE_SLOTS];
	IOPS_ASSERT(vitsa_gelu_check(p) == 0);
	for (int32_t v = -128; v < 128; v++)
		c->lut[v + 128] = v * vitsa_gelu_sigmoid_ref(v, p);
	c->p = *p;
	c->valid = true;
	c->valid8 = false;
	return c;
}

static const int32_t *gelu_table(const struct vitsa_gelu *p)
{
	return gelu_slot(p)->lut;
}

static const int8_t *gelu_table_s8(const struct vitsa_gelu *p, struct vitsa_dyadic d)
{
	struct gelu_slot *c = gelu_slot(p);

	if (!c->valid8 || c->d.mult != d.mult || c->d.shift != d.shift) {
		vitsa_requant_s8(c->lut8, c->lut, 256, d, 0);
		c->d = d;
		c->valid8 = true;
	}
	return c->lut8;
}

IOPS_HOT void vitsa_gelu(int32_t *restrict out, const int8_t *restrict x, size_t n,
			 const struct vitsa_gelu *p)
{
	const int32_t *lut = gelu_table(p);

	for (size_t i = 0; i < n; i++)
		out[i] = lut[x[i] + 128];
}

void vitsa_gelu_s8(int8_t *out, const int8_t *x, size_t n, const struct vitsa_gelu *p,
		   struct vitsa_dyadic d)
{
	const int8_t *lut8 = gelu_table_s8(p, d);

	if (have_vbmi()) {
		lut8_vbmi(out, (const uint8_t *)x, n, lut8, 0x80);
		return;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = lut8[(uint8_t)x[i] ^ 0x80];	/* x + 128 */
}

/* Through s8: with 0 <= zero <= 15, clamp(clamp(v, -128, 127) + zero, 0, 15) is the u4 clamp. */
void vitsa_gelu_u4(uint8_t *out, const int8_t *x, size_t n, const struct vitsa_gelu *p,
		   struct vitsa_dyadic d, int32_t zero)
{
	int8_t tmp[512];

	IOPS_ASSERT(zero >= 0 && zero <= 15);
	for (size_t i = 0; i < n; i += sizeof(tmp)) {
		size_t k = n - i < sizeof(tmp) ? n - i : sizeof(tmp);

		vitsa_gelu_s8(tmp, x + i, k, p, d);
		pack_4(out + i / 2, tmp, k, zero, 0);
	}
}

/* ---- the input and the token stream ---- */

/* One image row through a channel's table: 64 pixels per step where the CPU has VBMI. */
static void lut_row(int8_t *out, const uint8_t *px, uint32_t n, const int8_t lut[256])
{
	if (have_vbmi()) {
		lut8_vbmi(out, px, n, lut, 0);
		return;
	}
	for (uint32_t i = 0; i < n; i++)
		out[i] = lut[px[i]];
}

/*
 * Image row by image row instead of pixel by pixel: each of the patch * chans rows under a row
 * of patches is looked up once, contiguously, then dealt out in runs of @patch bytes.
 */
void vitsa_patches_s8(int8_t *out, size_t out_stride, const uint8_t *image, const int8_t *lut,
		      uint32_t chans, uint32_t img, uint32_t patch, uint32_t py0, uint32_t py1)
{
	uint32_t per = img / patch;
	int8_t q[VITSA_PATCHES_MAX_IMG];

	patches_check(out_stride, chans, img, patch, py0, py1);
	for (uint32_t py = py0; py < py1; py++) {
		for (uint32_t c = 0; c < chans; c++) {
			for (uint32_t ky = 0; ky < patch; ky++) {
				int8_t *dst = out + (size_t)py * per * out_stride +
					      ((size_t)c * patch + ky) * patch;

				lut_row(q, image + ((size_t)c * img + (size_t)py * patch + ky) * img,
					img, lut + c * 256);
				for (uint32_t px = 0; px < per; px++)
					memcpy(dst + px * out_stride, q + (size_t)px * patch, patch);
			}
		}
	}
}

static void mean_check(uint32_t rows, uint32_t cols, size_t stride)
{
	IOPS_ASSERT(rows >= 1 && rows <= VITSA_MEAN_MAX_ROWS && cols >= 1);
	IOPS_ASSERT(rows == 1 || stride >= cols);
}

void vitsa_mean_s16_ref(int16_t *out, const int16_t *x, size_t stride, uint32_t rows,
			uint32_t cols)
{
	mean_check(rows, cols, stride);
	for (uint32_t c = 0; c < cols; c++) {
		int64_t sum = 0;

		for (uint32_t r = 0; r < rows; r++)
			sum += x[r * stride + c];
		out[c] = (int16_t)vitsa_floor_div(2 * sum + rows, 2 * (int64_t)rows);
	}
}

/* Column sums row by row in int32 (vectorized), then one division per column. */
IOPS_HOT static void sum_rows16(int32_t *restrict sum, const int16_t *restrict row, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		sum[i] += row[i];
}

void vitsa_mean_s16(int16_t *out, const int16_t *x, size_t stride, uint32_t rows, uint32_t cols)
{
	int32_t *sum = calloc(cols, sizeof(*sum));

	mean_check(rows, cols, stride);
	if (!sum) {		/* the reference needs no memory */
		vitsa_mean_s16_ref(out, x, stride, rows, cols);
		return;
	}
	for (uint32_t r = 0; r < rows; r++)
		sum_rows16(sum, x + r * stride, cols);
	for (uint32_t c = 0; c < cols; c++)
		out[c] = (int16_t)vitsa_floor_div(2 * (int64_t)sum[c] + rows, 2 * (int64_t)rows);
	free(sum);
}

IOPS_HOT static void add_sat16(int16_t *restrict out, const int16_t *restrict a,
			       const int16_t *restrict b, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		int32_t v = (int32_t)a[i] + b[i];

		out[i] = (int16_t)(v < INT16_MIN ? INT16_MIN : v > INT16_MAX ? INT16_MAX : v);
	}
}

void vitsa_embed_s16(int16_t *out, size_t out_stride, const int16_t *x, size_t x_stride,
		     const int16_t *pos, size_t pos_stride, uint32_t prefix, uint32_t r0,
		     uint32_t r1, uint32_t cols)
{
	uint32_t r = r0;

	embed_check(prefix, r0, r1, cols, out_stride, x_stride, pos_stride);
	for (; r < r1 && r < prefix; r++)
		memcpy(out + r * out_stride, pos + r * pos_stride, cols * sizeof(*out));
	for (; r < r1; r++)
		add_sat16(out + r * out_stride, x + (r - prefix) * x_stride, pos + r * pos_stride,
			  cols);
}
