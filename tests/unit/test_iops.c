// SPDX-License-Identifier: MIT
/*
 * libvitrt integer ops (vitsa_iops.c): hand-worked cases, edge values, every optimized kernel
 * against its _ref twin on random data (bit for bit), the requantization against the device's
 * reference GEMM, and the approximation quality against float references (used only here).
 *
 * IOPS_BENCH=1 in the environment adds timings of optimized vs _ref (the "bench" case); the
 * figures are printed as "#" lines and never asserted.
 */
#include <math.h>
#include <stdint.h>
#include <time.h>

#include "tap.h"
#include "vitsa_iops.h"
#include "vitsa_ref.h"
#include "vtest.h"

/*
 * Named tolerances, in real units (probability, normalized value, GELU output).  Measured
 * maxima are printed by the quality cases; see Documentation/runtime.rst for the sources of
 * error (I-ViT's approximations dominate; the integer arithmetic adds at most about 1 LSB).
 */
#define SWEEP_STEPS		100	/* log-spaced scales of the quality sweeps, and one */
#define SHIFTMAX_S_MIN		0.001	/* the documented range of logit scales */
#define SHIFTMAX_S_MAX		2.0
#define GELU_S_MIN		0.001	/* ... and of GELU input scales */
#define GELU_S_MAX		0.5
#define MAX_SHIFTMAX_ABS_ERR	0.025	/* |out / 256 - softmax| per probability (0.018) */
#define MAX_SHIFTMAX_MEAN_ERR	0.008	/* mean of the same over every element */
#define MAX_SHIFTMAX16_L1_ERR	0.02	/* sum |P / 2^16 - softmax|, a row of 257..4096,
					   beyond 2 len 2^-16 (the mass the 2^-16 clamp
					   moves): 0.013 */
#define MAX_LN_ABS_ERR		0.006	/* |out sqrt(C) / 2^30 - (x - mean) / sigma|, sigma >= 256 */
#define MAX_GELU_ABS_ERR	0.030	/* |out * s / 2^14 - x Phi(x)| for x in the s8 grid */
#define MAX_GELU_REL_ERR	0.005	/* the same divided by max(1, |x|) ... for |x| >= 4 */
#define MAX_SIGMOID_ABS_ERR	0.020	/* |sigmoid / 2^14 - sigmoid(1.702 x)| (0.0145) */

/* ---- deterministic random numbers ---- */

/* The shared stream (tests/lib/vtest.h) under short names: a hundred call sites use them. */
static struct vtest_rng rng = VTEST_RNG(0x9e3779b97f4a7c15ull);

static uint64_t rnd64(void)
{
	return vtest_rng_u64(&rng);
}

/* Uniform in [lo, hi]. */
static int64_t rnd_range(int64_t lo, int64_t hi)
{
	return vtest_rng_range(&rng, lo, hi);
}

/* Roughly normal (sum of uniforms), mean 0, standard deviation 1. */
static double rnd_normal(void)
{
	double s = 0;

	for (int i = 0; i < 12; i++)
		s += vtest_rng_unit(&rng);
	return s - 6;
}

static struct vitsa_dyadic rnd_dyadic(void)
{
	return (struct vitsa_dyadic){ (int32_t)rnd64(), (uint32_t)rnd_range(0, 62) };
}

static int16_t sat16(double v)
{
	return (int16_t)(v < -32768 ? -32768 : v > 32767 ? 32767 : lrint(v));
}

static int8_t sat8(double v)
{
	return (int8_t)(v < -128 ? -128 : v > 127 ? 127 : lrint(v));
}

/* ---- helpers ---- */

TEST(floor_helpers)
{
	CHECK(vitsa_floor_div(7, 2) == 3 && vitsa_floor_div(-7, 2) == -4, "odd / 2");
	CHECK(vitsa_floor_div(-8, 2) == -4 && vitsa_floor_div(0, 5) == 0, "exact");
	CHECK(vitsa_floor_div(-1, 16) == -1 && vitsa_floor_div(-16, 16) == -1 &&
	      vitsa_floor_div(-17, 16) == -2, "-x / 16");
	CHECK(vitsa_floor_div(INT64_MIN, 1) == INT64_MIN && vitsa_floor_div(INT64_MIN, 3) ==
	      -3074457345618258603ll, "INT64_MIN");	/* -9223372036854775808 / 3 = ...602.67 */
	CHECK(vitsa_floor_shr(-1, 62) == -1 && vitsa_floor_shr(1, 62) == 0, "shr 62");
	CHECK(vitsa_floor_shr(INT64_MIN, 62) == -2 && vitsa_floor_shr(INT64_MAX, 62) == 1, "ends");
	CHECK(vitsa_floor_shr(-5, 0) == -5 && vitsa_floor_shr(-5, 1) == -3, "shr 0, 1");
	for (int i = 0; i < 100000; i++) {
		int64_t a = (int64_t)rnd64() >> rnd_range(0, 62);
		int64_t b = rnd_range(1, INT32_MAX);
		int64_t q = vitsa_floor_div(a, b);
		__int128 lo = (__int128)q * b;

		CHECK(lo <= a && a < lo + b, "floor_div(%lld, %lld) = %lld", (long long)a,
		      (long long)b, (long long)q);
	}
}

/*
 * I-ViT's integer sqrt: k = 2^16, then 10 steps k = (k + var/k) / 2.  Kept here only to pin the
 * claim in the docs that it is wrong outside a band of variances.
 */
static uint64_t ivit_sqrt10(uint64_t v)
{
	uint64_t k = 1 << 16;

	for (int i = 0; i < 10; i++)
		k = (k + v / k) / 2;
	return k;
}

TEST(isqrt)
{
	static const uint64_t edge[] = { 0, 1, 2, 3, 4, 5, 8, 9, 10, 15, 16, 17, 255, 256,
					 65535, 65536, 1ull << 32, (1ull << 32) - 1,
					 (1ull << 62) - 1, 1ull << 62, UINT64_MAX - 1, UINT64_MAX };
	int bad = 0;

	CHECK(vitsa_isqrt64_ref(UINT64_MAX) == UINT32_MAX, "sqrt(2^64 - 1) = 2^32 - 1");
	CHECK(vitsa_isqrt64_ref(500) == 22 && vitsa_isqrt64(500) == 22, "sqrt(500) = 22");
	for (size_t i = 0; i < sizeof(edge) / sizeof(edge[0]); i++)
		CHECK(vitsa_isqrt64(edge[i]) == vitsa_isqrt64_ref(edge[i]), "edge %llu",
		      (unsigned long long)edge[i]);
	for (int i = 0; i < 300000 && !bad; i++) {
		uint64_t v = rnd64() >> rnd_range(0, 63), r = vitsa_isqrt64_ref(v);
		uint64_t sq = i % 3 ? v : (uint64_t)(uint32_t)v * (uint32_t)v - (i % 2);

		bad |= !((unsigned __int128)r * r <= v && (unsigned __int128)(r + 1) * (r + 1) > v);
		bad |= vitsa_isqrt64(v) != r || vitsa_isqrt64(sq) != vitsa_isqrt64_ref(sq);
	}
	CHECK(!bad, "floor sqrt, from the double == bitwise");
	/* The fixed 10 iterations: 64 instead of 1, and not yet converged for var = 2^60. */
	CHECK(ivit_sqrt10(1) == 64 && ivit_sqrt10(1ull << 60) != 1ull << 30, "I-ViT sqrt");
	CHECK(ivit_sqrt10(1ull << 32) == 1ull << 16, "I-ViT sqrt fine near 2^32");
}

/* ---- dyadic numbers and requantization ---- */

TEST(dyadic_from_ratio)
{
	struct vitsa_dyadic d;

	d = vitsa_dyadic_from_ratio(1.0);	/* 0.5 * 2^1: mult 2^30, shift 31 - 1 */
	CHECK(d.mult == 1 << 30 && d.shift == 30, "1.0 -> %d >> %u", d.mult, d.shift);
	d = vitsa_dyadic_from_ratio(0.75);	/* 0.75 * 2^0: 0.75 * 2^31 = 1610612736 */
	CHECK(d.mult == 1610612736 && d.shift == 31, "0.75");
	d = vitsa_dyadic_from_ratio(1.0 - 0x1p-33);	/* mantissa rounds up to 2^31 */
	CHECK(d.mult == 1 << 30 && d.shift == 30, "1 - 2^-33 -> 1.0");
	d = vitsa_dyadic_from_ratio(0x1p-40);	/* needs shift 70: 2^-40 * 2^62 = 2^22 at 62 */
	CHECK(d.mult == 1 << 22 && d.shift == 62, "2^-40");
	d = vitsa_dyadic_from_ratio(0x1p-64);	/* 2^-2 at shift 62 rounds to 0 */
	CHECK(d.mult == 0 && d.shift == 62, "2^-64");
	d = vitsa_dyadic_from_ratio(0x1p-32);	/* just fits: 2^30 >> 62 */
	CHECK(d.mult == 1 << 30 && d.shift == 62, "2^-32");
	d = vitsa_dyadic_from_ratio(2147483647.0);	/* 2^31 - 1 at shift 0 */
	CHECK(d.mult == INT32_MAX && d.shift == 0, "2^31 - 1");
	d = vitsa_dyadic_from_ratio(2147483647.5);	/* rounds to 2^31: saturates */
	CHECK(d.mult == INT32_MAX && d.shift == 0, "2^31 - 1/2");
	d = vitsa_dyadic_from_ratio(3e9);
	CHECK(d.mult == INT32_MAX && d.shift == 0, "3e9");
	d = vitsa_dyadic_from_ratio(INFINITY);
	CHECK(d.mult == INT32_MAX && d.shift == 0, "inf");
	d = vitsa_dyadic_from_ratio(0);
	CHECK(d.mult == 0 && d.shift == 0, "0");
	d = vitsa_dyadic_from_ratio(-1);
	CHECK(d.mult == 0 && d.shift == 0, "negative");
	d = vitsa_dyadic_from_ratio(NAN);
	CHECK(d.mult == 0 && d.shift == 0, "NaN");
	for (int i = 0; i < 100000; i++) {
		double r = ldexp(1 + vtest_rng_unit(&rng), (int)rnd_range(-32, 30));

		d = vitsa_dyadic_from_ratio(r);
		CHECK(d.mult >= 1 << 30 && d.shift <= 62, "%g -> %d >> %u", r, d.mult, d.shift);
		CHECK(fabs(vitsa_dyadic_value(d) / r - 1) <= 0x1p-31, "%g: relative error", r);
	}
}

TEST(requant_hand)
{
	struct vitsa_dyadic half = { 1, 1 }, q = { 3, 2 };

	/* floor((x + 1) / 2): 2.5 -> 3, -2.5 -> -2, -1.5 -> -1 (half up, as the device) */
	CHECK(vitsa_requant_ref(5, half) == 3 && vitsa_requant(5, half) == 3, "2.5");
	CHECK(vitsa_requant_ref(-5, half) == -2 && vitsa_requant(-5, half) == -2, "-2.5");
	CHECK(vitsa_requant_ref(-3, half) == -1 && vitsa_requant(-3, half) == -1, "-1.5");
	/* -7 * 3 = -21; floor((-21 + 2) / 4) = floor(-4.75) = -5 */
	CHECK(vitsa_requant_ref(-7, q) == -5 && vitsa_requant(-7, q) == -5, "-5.25");
	/* shift 0 is the plain product */
	CHECK(vitsa_requant_ref(-3, (struct vitsa_dyadic){ 7, 0 }) == -21, "shift 0");
	CHECK(vitsa_requant_ref(INT32_MIN, (struct vitsa_dyadic){ INT32_MIN, 0 }) == 1ll << 62,
	      "-2^31 * -2^31");
	/* shift 62, the 64-bit extremes: (2^62 - 2^31 + 2^61) / 2^62 = 1.49.. -> 1 */
	CHECK(vitsa_requant_ref(INT32_MIN, (struct vitsa_dyadic){ INT32_MIN, 62 }) == 1, "62 a");
	CHECK(vitsa_requant_ref(-(1ll << 31), (struct vitsa_dyadic){ INT32_MAX, 62 }) == -1,
	      "62 b");		/* -(1 - 2^-31) -> -1 */
	CHECK(vitsa_requant_ref(1ll << 31, (struct vitsa_dyadic){ INT32_MAX, 62 }) == 1, "62 c");
	CHECK(vitsa_requant_ref(1, (struct vitsa_dyadic){ INT32_MAX, 62 }) == 0, "62 d");
}

TEST(requant_vs_device)
{
	/* Random int32 x random dyadic: ours == the device spec's rshift_round of the product. */
	for (int i = 0; i < 200000; i++) {
		int64_t x = (int32_t)rnd64();
		struct vitsa_dyadic d = rnd_dyadic();
		int64_t want = vitsa_ref_rshift_round(x * d.mult, d.shift);

		CHECK(vitsa_requant_ref(x, d) == want && vitsa_requant(x, d) == want,
		      "%lld * %d >> %u", (long long)x, d.mult, d.shift);
	}
}

/*
 * The device itself: a 1 x N x 1 GEMM of zeros with BIAS and REQUANT gives
 * C[n] = sat(requant(bias[n], rq[n]) + c_zero), which must equal vitsa_requant_s16.
 */
TEST(requant_gemm_on_device_model)
{
	enum { N = 512 };
	static uint8_t mem[64 + 4 * N + 8 * N + 2 * N];
	struct vitsa_hw_desc d = {
		.opcode = VITSA_OP_GEMM, .flags = VITSA_DESC_BIAS | VITSA_DESC_REQUANT,
		.m = 1, .n = N, .k = 1,
		.types = VITSA_DESC_TYPES(VITSA_DTYPE_S8, VITSA_DTYPE_S8, VITSA_DTYPE_S16),
		.a_addr = 0, .b_addr = 8, .bias_addr = 64, .rq_addr = 64 + 4 * N,
		.c_addr = 64 + 12 * N, .a_stride = 1, .b_stride = N, .c_stride = 2 * N,
	};
	int bad = 0;

	for (int round = 0; round < 50; round++) {
		int32_t bias[N];
		struct vitsa_dyadic rq[N];

		d.c_zero = (int32_t)rnd_range(-100, 100);
		for (int n = 0; n < N; n++) {
			bias[n] = (int32_t)rnd64();
			rq[n] = (struct vitsa_dyadic){ (int32_t)rnd64() >> rnd_range(0, 31),
						       (uint32_t)rnd_range(0, 62) };
		}
		memset(mem, 0, sizeof(mem));
		memcpy(mem + d.bias_addr, bias, sizeof(bias));	/* host is little-endian */
		memcpy(mem + d.rq_addr, rq, sizeof(rq));
		CHECK(vitsa_ref_gemm(&d, mem, sizeof(mem)) == VITSA_ERR_OK, "gemm");
		for (int n = 0; n < N; n++) {
			int16_t dev, ours, ref;

			memcpy(&dev, mem + d.c_addr + 2 * n, 2);
			vitsa_requant_s16(&ours, &bias[n], 1, rq[n], d.c_zero);
			vitsa_requant_s16_ref(&ref, &bias[n], 1, rq[n], d.c_zero);
			bad += dev != ours || dev != ref;
		}
	}
	CHECK(!bad, "%d results differ from the device", bad);
}

TEST(requant_rows_opt_eq_ref)
{
	enum { N = 1031 };
	int32_t x[N];
	int8_t a8[N], b8[N];
	uint8_t au[N], bu[N];
	int16_t a16[N], b16[N];
	int bad = 0;

	for (int round = 0; round < 400; round++) {
		struct vitsa_dyadic d = rnd_dyadic();
		int32_t zero = (int32_t)rnd_range(-300, 300);
		size_t n = (size_t)rnd_range(0, N);

		if (round % 4 == 0)	/* useful ratios, so not everything saturates */
			d = vitsa_dyadic_from_ratio(ldexp(1, (int)rnd_range(-30, 0)));
		for (size_t i = 0; i < n; i++)
			x[i] = round % 3 ? (int32_t)rnd64() : (int32_t)rnd_range(-5000, 5000);
		x[0] = round % 2 ? INT32_MIN : INT32_MAX;
		vitsa_requant_s8(a8, x, n, d, zero);
		vitsa_requant_s8_ref(b8, x, n, d, zero);
		vitsa_requant_u8(au, x, n, d, zero);
		vitsa_requant_u8_ref(bu, x, n, d, zero);
		vitsa_requant_s16(a16, x, n, d, zero);
		vitsa_requant_s16_ref(b16, x, n, d, zero);
		bad += memcmp(a8, b8, n) || memcmp(au, bu, n) || memcmp(a16, b16, 2 * n);
	}
	CHECK(!bad, "%d rows differ", bad);
	/* saturation at both ends of each type */
	x[0] = 1000;
	x[1] = -1000;
	vitsa_requant_s8(a8, x, 2, (struct vitsa_dyadic){ 1, 0 }, 0);
	vitsa_requant_u8(au, x, 2, (struct vitsa_dyadic){ 1, 0 }, 0);
	CHECK(a8[0] == 127 && a8[1] == -128 && au[0] == 255 && au[1] == 0, "s8/u8 saturate");
	x[0] = 40000;
	x[1] = -40000;
	vitsa_requant_s16(a16, x, 2, (struct vitsa_dyadic){ 1, 0 }, 0);
	CHECK(a16[0] == 32767 && a16[1] == -32768, "s16 saturates");
}

/* ---- residual stream ---- */

TEST(residual_add)
{
	enum { N = 2053 };
	int16_t a[N], b[N], o1[N], o2[N], inplace[N];
	int32_t b32[N];
	/* 1.0 and 0.5: 100 + floor((-51 + 1) / 2) = 100 - 25 = 75; 32767 + 32767 saturates */
	struct vitsa_dyadic one = { 1, 0 }, half = { 1, 1 };
	int16_t ha[3] = { 100, 32767, -32768 }, hb[3] = { -51, 32767, -32768 }, ho[3];
	int bad = 0;

	vitsa_residual_add_ref(ho, ha, hb, 3, one, half);
	CHECK(ho[0] == 75 && ho[1] == 32767 && ho[2] == -32768, "hand: %d %d %d", ho[0], ho[1],
	      ho[2]);
	vitsa_residual_add(ho, ha, hb, 3, one, one);
	CHECK(ho[0] == 49 && ho[1] == 32767 && ho[2] == -32768, "saturation");
	for (int round = 0; round < 300; round++) {
		struct vitsa_dyadic da = rnd_dyadic(), db = rnd_dyadic();
		size_t n = (size_t)rnd_range(0, N);

		if (round % 2)
			da = vitsa_dyadic_from_ratio(ldexp(1 + rnd_normal() / 8, -(int)rnd_range(0, 3)));
		for (size_t i = 0; i < n; i++) {
			a[i] = (int16_t)rnd64();
			b[i] = (int16_t)rnd64();
			b32[i] = (int32_t)rnd64() >> rnd_range(0, 31);
		}
		if (n) {
			a[0] = INT16_MIN;
			b[0] = INT16_MIN;
			b32[0] = INT32_MIN;
		}
		vitsa_residual_add(o1, a, b, n, da, db);
		vitsa_residual_add_ref(o2, a, b, n, da, db);
		bad += memcmp(o1, o2, 2 * n) != 0;
		memcpy(inplace, a, 2 * n);	/* x += branch */
		vitsa_residual_add(inplace, inplace, b, n, da, db);
		bad += memcmp(inplace, o2, 2 * n) != 0;
		vitsa_residual_add_s32(o1, a, b32, n, da, db);
		vitsa_residual_add_s32_ref(o2, a, b32, n, da, db);
		bad += memcmp(o1, o2, 2 * n) != 0;
		memcpy(inplace, a, 2 * n);
		vitsa_residual_add_s32(inplace, inplace, b32, n, da, db);
		bad += memcmp(inplace, o2, 2 * n) != 0;
	}
	CHECK(!bad, "%d mismatches", bad);
}

/* ---- I-LayerNorm ---- */

TEST(layernorm_hand)
{
	/*
	 * x = 10 20 30 40: sum 100, mean = floor((200 + 4) / 8) = 25, y = -15 -5 5 15,
	 * var = 225 + 25 + 25 + 225 = 500, std = 22 (22^2 = 484 <= 500 < 529),
	 * F = floor(2147483647 / 22) = 97612893 (22 F = 2147483646),
	 * out = floor(y F / 2): -1464193395 / 2 = -732096697.5 -> -732096698,
	 * -488064465 / 2 -> -244032233, 244032232, 732096697.
	 * Scale sqrt(4) / 2^30: 732096697 * 2 / 2^30 = 1.3636 (float: 15 / sqrt(125) = 1.3416;
	 * the difference is floor(sqrt(500)) = 22 against 22.36).
	 */
	static const int16_t x[4] = { 10, 20, 30, 40 };
	static const int32_t want[4] = { -732096698, -244032233, 244032232, 732096697 };
	int32_t a[4], b[4];
	int8_t s8[4];

	vitsa_layernorm_ref(a, 4, x, 4, 1, 4);
	vitsa_layernorm(b, 4, x, 4, 1, 4);
	CHECK(!memcmp(a, want, sizeof(want)) && !memcmp(b, want, sizeof(want)),
	      "%d %d %d %d", a[0], a[1], a[2], a[3]);
	/* to s8 at 1/32 per unit: d = (2 / 2^30) * 32 = 2^-24 -> 1.36 * 32 = 43.6 -> 44 */
	vitsa_layernorm_s8(s8, 4, x, 4, 1, 4, (struct vitsa_dyadic){ 1, 24 });
	CHECK(s8[0] == -44 && s8[1] == -15 && s8[2] == 15 && s8[3] == 44, "s8: %d %d %d %d",
	      s8[0], s8[1], s8[2], s8[3]);
	/* mean rounds half up: 1 2 -> mean floor((6 + 2) / 4) = 2, y = -1 0, std 1 */
	{
		static const int16_t x2[2] = { 1, 2 };

		vitsa_layernorm(a, 2, x2, 2, 1, 2);
		CHECK(a[0] == -1073741824 && a[1] == 0, "half up: %d %d", a[0], a[1]);
	}
}

TEST(layernorm_edges)
{
	enum { C = VITSA_LAYERNORM_MAX_COLS };
	static int16_t x[C];
	static int32_t a[C], b[C];
	int bad = 0;

	/* zero variance: every row of equal values gives exactly 0, no division */
	for (int v = -32768; v <= 32767; v += 4369) {
		for (int i = 0; i < 384; i++)
			x[i] = (int16_t)v;
		vitsa_layernorm_ref(a, 384, x, 384, 1, 384);
		vitsa_layernorm(b, 384, x, 384, 1, 384);
		for (int i = 0; i < 384; i++)
			bad += a[i] != 0 || b[i] != 0;
	}
	x[0] = -7;
	vitsa_layernorm(a, 1, x, 1, 1, 1);	/* one column: var 0 */
	bad += a[0] != 0;
	CHECK(!bad, "zero variance gives 0");
	/* the widest row at the int16 extremes: sum = -2^31 exactly, then +-32767.5 swings */
	for (int i = 0; i < C; i++)
		x[i] = INT16_MIN;
	vitsa_layernorm(a, C, x, C, 1, C);
	CHECK(a[0] == 0 && a[C - 1] == 0, "all -32768");
	for (int i = 0; i < C; i++)
		x[i] = i % 2 ? INT16_MAX : INT16_MIN;
	vitsa_layernorm_ref(a, C, x, C, 1, C);
	vitsa_layernorm(b, C, x, C, 1, C);
	CHECK(!memcmp(a, b, sizeof(a)), "alternating extremes: opt == ref");
	/*
	 * sum = -32768: mean = floor((-65536 + 65536) / 131072) = 0, y = -32768 and 32767,
	 * var = 32768 * (32768^2 + 32767^2) = 70366596726784, std = 8388480, F = 256,
	 * out = -32768 * 128 = -4194304 and floor(32767 * 256 / 2) = 4194176: at scale 256 / 2^30,
	 * -1.0 and 0.99997.
	 */
	CHECK(a[0] == -4194304 && a[1] == 4194176, "%d %d", a[0], a[1]);
	/*
	 * one outlier: mean = floor((-65536 + 65536) / 131072) = 0, var = 2^30, std = 32768,
	 * F = 65535, out = -32768 * 65535 / 2 = -1073725440: |y| = std, |y F| near 2^31 - 1
	 */
	memset(x, 0, sizeof(x));
	x[5] = INT16_MIN;
	vitsa_layernorm_ref(a, C, x, C, 1, C);
	vitsa_layernorm(b, C, x, C, 1, C);
	CHECK(!memcmp(a, b, sizeof(a)) && a[5] == -1073725440 && a[0] == 0, "outlier: %d", a[5]);
	x[5] = INT16_MAX;
	vitsa_layernorm_ref(a, 2, x, 2, 1, 2);
	vitsa_layernorm(b, 2, x, 2, 1, 2);
	CHECK(!memcmp(a, b, 8), "two columns");
}

TEST(layernorm_opt_eq_ref)
{
	enum { ROWS = 8, MAXC = 1600 };
	static int16_t x[ROWS * (MAXC + 7)];
	static int32_t a[ROWS * MAXC], b[ROWS * MAXC];
	static int8_t a8[ROWS * MAXC], b8[ROWS * MAXC];
	int bad = 0;

	for (int round = 0; round < 500; round++) {
		uint32_t cols = (uint32_t)(round % 5 ? rnd_range(1, MAXC) : 192 << rnd_range(0, 2));
		size_t xs = cols + (size_t)rnd_range(0, 7);
		double sigma = ldexp(1, (int)rnd_range(0, 15)), mu = rnd_normal() * 8000;
		struct vitsa_dyadic d = rnd_dyadic();

		if (round % 2)
			d = vitsa_dyadic_from_ratio(sqrt(cols) / 0x1p30 * ldexp(1, (int)rnd_range(3, 6)));
		for (size_t i = 0; i < ROWS * xs; i++)
			x[i] = sat16(mu + sigma * rnd_normal());
		vitsa_layernorm(a, cols, x, xs, ROWS, cols);
		vitsa_layernorm_ref(b, cols, x, xs, ROWS, cols);
		bad += memcmp(a, b, 4ull * ROWS * cols) != 0;
		vitsa_layernorm_s8(a8, cols, x, xs, ROWS, cols, d);
		vitsa_layernorm_s8_ref(b8, cols, x, xs, ROWS, cols, d);
		bad += memcmp(a8, b8, (size_t)ROWS * cols) != 0;
	}
	CHECK(!bad, "%d of 1000 comparisons differ", bad);
}

/*
 * Against float LayerNorm (no epsilon).  Per element the integer result is within
 *   0.5 / sigma + (|n| + 1) / std + |n| * std / 2^31 + 2^-20
 * (mean rounding, floor of the sqrt, floor of F; sigma the per-element deviation in integer
 * units, std = sqrt(C) sigma, n the normalized value): checked for every row.  With the stream
 * using at least 8 of its 16 bits (sigma >= 256) that is MAX_LN_ABS_ERR.
 */
TEST(layernorm_quality)
{
	enum { MAXC = 768 };
	static const uint32_t cs[] = { 16, 64, 192, 384, 768 };
	int16_t x[MAXC];
	int32_t o[MAXC];
	double worst = 0, worst_small = 0;
	int bad = 0;

	for (int round = 0; round < 3000; round++) {
		uint32_t c = cs[round % 5];
		double sigma = 4 * ldexp(1, (int)rnd_range(0, 12)), mu = rnd_normal() * 1000;
		double sum = 0, var = 0, sd;

		for (uint32_t i = 0; i < c; i++) {
			x[i] = sat16(mu + sigma * rnd_normal());
			sum += x[i];
		}
		for (uint32_t i = 0; i < c; i++)
			var += (x[i] - sum / c) * (x[i] - sum / c);
		if (var == 0)
			continue;
		sd = sqrt(var);
		vitsa_layernorm(o, c, x, c, 1, c);
		for (uint32_t i = 0; i < c; i++) {
			double want = (x[i] - sum / c) / (sd / sqrt(c));
			double err = fabs(o[i] * sqrt(c) / 0x1p30 - want);

			bad += err > 0.5 * sqrt(c) / sd + (fabs(want) + 1) / sd +
				     fabs(want) * sd / 0x1p31 + 0x1p-20;
			if (sd / sqrt(c) >= 256)
				worst = fmax(worst, err);
			else
				worst_small = fmax(worst_small, err);
		}
	}
	printf("# layernorm: max |error| %.5f for sigma >= 256 (bound %.5f), %.5f below\n",
	       worst, MAX_LN_ABS_ERR, worst_small);
	CHECK(!bad, "%d elements beyond the derived bound", bad);
	CHECK(worst <= MAX_LN_ABS_ERR, "%g", worst);
}

/* ---- Shiftmax ---- */

TEST(shiftmax_params)
{
	struct vitsa_shiftmax p;

	/*
	 * s = 0.25: a = 1.4375 / (0.25 log2 e) = 3.986, 2^8 a = 1020.3 < 2^10: j 9, x0 =
	 * -round(2040.7) = -2041; E = 2041 * 2^16 > 2^22: k 5 (2041 * 2^11 = 4179968)
	 */
	CHECK(!vitsa_shiftmax_params(&p, 0.25, 3) && p.x0 == -2041 && p.n == 16 && p.k == 5 &&
	      p.j == 9, "0.25: x0 %d k %u j %u", p.x0, p.k, p.j);
	/* s = 0.01: a = 99.64, j 4 (the least), x0 = -round(1594.2) = -1594, k 5 (3264512) */
	CHECK(!vitsa_shiftmax_params(&p, 0.01, 197) && p.x0 == -1594 && p.k == 5 && p.j == 4,
	      "0.01: x0 %d k %u j %u", p.x0, p.k, p.j);
	/* 4096 columns: E <= 2^31 / 4096 = 524287.9: 1594 * 2^16 >> 8 = 408064 */
	CHECK(!vitsa_shiftmax_params(&p, 0.01, 4096) && p.k == 8, "k %u", p.k);
	/* huge scale: a = 0.00996, j 17, x0 = -round(1305.7) */
	CHECK(!vitsa_shiftmax_params(&p, 100, 10) && p.x0 == -1306 && p.j == 17, "100");
	CHECK(vitsa_shiftmax_params(&p, 0, 10) == -1, "s 0");
	CHECK(vitsa_shiftmax_params(&p, -1, 10) == -1, "s < 0");
	CHECK(vitsa_shiftmax_params(&p, NAN, 10) == -1, "NaN");
	CHECK(vitsa_shiftmax_params(&p, INFINITY, 10) == -1, "inf");
	CHECK(vitsa_shiftmax_params(&p, 1e-7, 10) == -1, "too fine");
	CHECK(vitsa_shiftmax_params(&p, 0.1, 0) == -1, "len 0");
	CHECK(vitsa_shiftmax_params(&p, 0.1, 4097) == -1, "len 4097");
	/* a = 498199.6: j 1 is the most that keeps -x0 <= 2^20 */
	CHECK(!vitsa_shiftmax_params(&p, 2e-6, 4096) && p.x0 == -996399 && p.j == 1, "finest: %d",
	      p.x0);
	p = (struct vitsa_shiftmax){ -4, 16, 0, 3, 0 };
	CHECK(!vitsa_shiftmax_check(&p), "good");
	p.k = 63;
	CHECK(vitsa_shiftmax_check(&p) == -1, "k 63");
	p = (struct vitsa_shiftmax){ -16, 16, 0, 4096, 0 };	/* 4096 * 2^20 > 2^31 */
	CHECK(vitsa_shiftmax_check(&p) == -1, "sum could overflow");
	p = (struct vitsa_shiftmax){ -4, 16, 19, 3, 0 };	/* E = 0 */
	CHECK(vitsa_shiftmax_check(&p) == -1, "E 0");
	p = (struct vitsa_shiftmax){ 0, 16, 0, 3, 0 };
	CHECK(vitsa_shiftmax_check(&p) == -1, "x0 0");
	p = (struct vitsa_shiftmax){ -4, 31, 13, 3, 0 };
	CHECK(vitsa_shiftmax_check(&p) == -1, "n 31");
	p = (struct vitsa_shiftmax){ -4, 16, 0, 3, VITSA_EXP_MAX_J + 1 };
	CHECK(vitsa_shiftmax_check(&p) == -1, "j too large");
}

TEST(shift_exp_hand)
{
	/*
	 * x0 = -4, n = 16, k = 0.
	 * d = 0:   t = 0, q = 0, r = 0, v = 0 + 4 = 4, e = 4 << 16 = 262144
	 * d = -4:  t = -4 + floor(-2) - floor(-0.25) = -4 - 2 + 1 = -5, q = floor(-5 / -4) = 1,
	 *          r = -5 + 4 = -1, v = floor(-0.5) + 4 = 3, e = 3 << 15 = 98304
	 * d = -12: t = -12 - 6 + 1 = -17, q = 4, r = -1, v = 3, e = 3 << 12 = 12288
	 * d = -255: t = -255 - 128 + 16 = -367, clamped to 16 * -4 = -64: q = 16, r = 0, v = 4,
	 *          e = 4
	 */
	CHECK(vitsa_shift_exp_ref(0, -4, 16, 0, 0) == 262144, "0");
	CHECK(vitsa_shift_exp_ref(-4, -4, 16, 0, 0) == 98304, "-4");
	CHECK(vitsa_shift_exp_ref(-12, -4, 16, 0, 0) == 12288, "-12");
	CHECK(vitsa_shift_exp_ref(-255, -4, 16, 0, 0) == 4, "-255 clamps");
	CHECK(vitsa_shift_exp_ref(-255, -4, 16, 3, 0) == 0, "-255, k 3: 4 >> 3");
	/*
	 * The same slope 2^4 times finer (j 4, x0 -64), d = -4: D = -64, t = -64 - 32 + 4 = -92
	 * (exactly -64 * 1.4375), q = 1, r = -28, v = -14 + 64 = 50, e = 50 << 15 = 1638400
	 * (2^-1.4375 = 0.369, 50/64 / 2 = 0.391; j 0 gave 98304 / 262144 = 0.375).
	 */
	CHECK(vitsa_shift_exp_ref(-4, -64, 16, 0, 4) == 1638400, "-4, j 4");
	/* monotone in d for many parameter sets, and never above E */
	for (int round = 0; round < 300; round++) {
		int32_t x0 = -(int32_t)rnd_range(1, round % 2 ? 64 : 1 << 20);
		uint32_t n = (uint32_t)rnd_range(1, 30), k = (uint32_t)rnd_range(0, 40);
		uint32_t j = (uint32_t)rnd_range(0, VITSA_EXP_MAX_J);
		uint64_t big = ((uint64_t)-x0 << n) >> k, prev = 0;

		if (big > UINT32_MAX)
			continue;
		for (int32_t d = -300; d <= 0; d++) {
			uint64_t e = vitsa_shift_exp_ref(d, x0, n, k, j);

			CHECK(e >= prev && e <= big, "x0 %d n %u k %u j %u d %d", x0, n, k, j, d);
			prev = e;
		}
		CHECK(prev == big, "e(0) = E");
	}
}

TEST(shiftmax_hand)
{
	/*
	 * I-ViT's parameters for s = 0.25 (x0 -4, n 16, k 0, j 0), logits 4 0 -8 (1.0, 0,
	 * -2.0): d = 0 -4 -12,
	 * e = 262144 98304 12288 (shift_exp_hand), S = 372736,
	 * F = floor(2147483647 / 372736) = 5761 (372736 * 5761 = 2147332096),
	 * out = floor((e F + 2^22) / 2^23): 262144 * 5761 / 2^23 = 180.03 -> 180;
	 * 98304 * 5761 / 2^23 = 67.51 -> 68; 12288 * 5761 / 2^23 = 8.44 -> 8.  Sum 256.
	 * Float: 256 softmax(1, 0, -2) = 180.6 66.4 9.0.
	 */
	static const int8_t x[3] = { 4, 0, -8 };
	struct vitsa_shiftmax p = { .x0 = -4, .n = 16, .k = 0, .max_len = 3, .j = 0 };
	uint8_t a[3], b[3];

	vitsa_shiftmax_ref(a, 3, x, 3, 1, 3, &p);
	vitsa_shiftmax(b, 3, x, 3, 1, 3, &p);
	CHECK(a[0] == 180 && a[1] == 68 && a[2] == 8, "ref: %d %d %d", a[0], a[1], a[2]);
	CHECK(!memcmp(a, b, 3), "opt: %d %d %d", b[0], b[1], b[2]);
}

/* P of element @i of a SHIFTMAX16 output row. */
static uint32_t p16(const uint8_t *row, size_t lo_off, uint32_t i)
{
	return (uint32_t)row[i] << 8 | row[lo_off + i];
}

/*
 * SHIFTMAX16's edges at the parameters of one scale @s: a row of one is 65535 (1, clamped),
 * all-equal rows 65536 / len within 1, and one huge logit leaves each of the others about
 * one step (the 2^-16 clamp); returns the rows that fail.
 */
static int shiftmax16_edge_rows(const struct vitsa_shiftmax *p, double s)
{
	enum { L = VITSA_SHIFTMAX_MAX_LEN };
	static int8_t x[L];
	static uint8_t o[2 * L];
	int bad = 0;

	x[0] = -128;
	vitsa_shiftmax16(o, 2, 1, x, 1, 1, 1, p);
	bad += p16(o, 1, 0) != 65535;
	for (uint32_t len = 1; len <= L; len = len * 3 + 1) {
		memset(x, rnd64() & 1 ? 127 : -128, len);
		vitsa_shiftmax16(o, 2 * len, len, x, len, 1, len, p);
		for (uint32_t i = 0; i < len; i++)
			bad += fabs(p16(o, len, i) - fmin(65536.0 / len, 65535)) > 1;
	}
	for (uint32_t len = 2; len <= L && s >= 0.1; len *= 4) {
		memset(x, -128, len);
		x[len / 2] = 127;
		vitsa_shiftmax16(o, 2 * len, len, x, len, 1, len, p);
		bad += p16(o, len, len / 2) < 65535 - len || p16(o, len, 0) > 1;
	}
	return bad;
}

TEST(shiftmax_edges)
{
	enum { L = VITSA_SHIFTMAX_MAX_LEN };
	static int8_t x[L];
	static uint8_t a[L], b[L];
	static const double scales[] = { 2e-6, 0.003, 0.03, 0.1, 0.25, 1, 100 };

	for (size_t si = 0; si < sizeof(scales) / sizeof(scales[0]); si++) {
		struct vitsa_shiftmax p;
		int bad = 0;

		CHECK(!vitsa_shiftmax_params(&p, scales[si], L), "params %g", scales[si]);
		/* a row of one: probability 1 = 256, clamped to 255 */
		x[0] = -128;
		vitsa_shiftmax_ref(a, 1, x, 1, 1, 1, &p);
		vitsa_shiftmax(b, 1, x, 1, 1, 1, &p);
		CHECK(a[0] == 255 && b[0] == 255, "len 1: %d %d", a[0], b[0]);
		/* all equal (all -128 too): uniform, round(256 / len) within 1 */
		for (uint32_t len = 1; len <= L; len = len * 3 + 1) {
			for (int v = -128; v <= 127; v += 255) {
				double want = 256.0 / len;

				memset(x, v, len);
				vitsa_shiftmax_ref(a, len, x, len, 1, len, &p);
				vitsa_shiftmax(b, len, x, len, 1, len, &p);
				bad += memcmp(a, b, len) != 0;
				for (uint32_t i = 0; i < len; i++)
					bad += fabs(a[i] - fmin(want, 255)) > 1 || a[i] != a[0];
			}
		}
		CHECK(!bad, "uniform rows, s %g", scales[si]);
		/* one huge logit among the smallest: it takes (almost) everything */
		for (uint32_t len = 2; len <= L; len *= 4) {
			memset(x, -128, len);
			x[len / 2] = 127;
			vitsa_shiftmax_ref(a, len, x, len, 1, len, &p);
			vitsa_shiftmax(b, len, x, len, 1, len, &p);
			CHECK(!memcmp(a, b, len), "huge logit, len %u", len);
			if (scales[si] >= 0.1)	/* 255 s >= 25.5: the rest is below 2^-36 */
				CHECK(a[len / 2] >= 255 - len / 256 && a[0] == 0,
				      "s %g len %u: %d %d", scales[si], len, a[len / 2], a[0]);
		}
		CHECK(!shiftmax16_edge_rows(&p, scales[si]), "two parts, s %g", scales[si]);
	}
}

/*
 * @n random logits of a @kind: 0 uniform, 1 spread normally, 2 all near the top, 3 all one
 * extreme value, 4 one 127 among -128s.
 */
static void rnd_logits(int8_t *x, size_t n, int kind)
{
	int8_t same = rnd64() & 1 ? 127 : -128;

	for (size_t i = 0; i < n; i++)
		x[i] = kind == 0 ? (int8_t)rnd64() : kind == 1 ? sat8(rnd_normal() * 30) :
		       kind == 2 ? (int8_t)rnd_range(120, 127) : kind == 3 ? same : -128;
	if (kind == 4)
		x[rnd64() % n] = 127;
}

/* The largest row of one parameter set, with strides, against ref; returns mismatches. */
static int shiftmax_compare(const struct vitsa_shiftmax *p, uint32_t rows, uint32_t len, int kind)
{
	static int8_t x[8 * (VITSA_SHIFTMAX_MAX_LEN + 5)];
	static uint8_t a[8 * (VITSA_SHIFTMAX_MAX_LEN + 3)], b[8 * (VITSA_SHIFTMAX_MAX_LEN + 3)];
	size_t xs = len + (size_t)rnd_range(0, 5), os = len + (size_t)rnd_range(0, 3);
	int bad = 0;

	rnd_logits(x, rows * xs, kind);
	memset(a, 0xaa, rows * os);
	memset(b, 0xaa, rows * os);
	vitsa_shiftmax_ref(a, os, x, xs, rows, len, p);
	vitsa_shiftmax(b, os, x, xs, rows, len, p);
	for (uint32_t r = 0; r < rows; r++)
		bad += memcmp(a + r * os, b + r * os, len) != 0;
	return bad;
}

TEST(shiftmax_opt_eq_ref)
{
	int bad = 0, rows = 0;

	for (int round = 0; round < 800; round++) {
		struct vitsa_shiftmax p;
		uint32_t max_len = (uint32_t)(round % 4 ? rnd_range(1, 256) :
					      rnd_range(1, VITSA_SHIFTMAX_MAX_LEN));
		uint32_t len = (uint32_t)rnd_range(1, max_len), nrows = (uint32_t)rnd_range(1, 8);
		double s = ldexp(1 + vtest_rng_unit(&rng), (int)rnd_range(-18, 3));

		if (vitsa_shiftmax_params(&p, s, max_len))
			continue;
		bad += shiftmax_compare(&p, nrows, len, round % 3);
		rows += nrows;
	}
	CHECK(!bad, "%d of %d rows differ", bad, rows);
}

static void softmax(double *out, const int8_t *x, uint32_t len, double s)
{
	double m = x[0], sum = 0;

	for (uint32_t i = 1; i < len; i++)
		m = fmax(m, x[i]);
	for (uint32_t i = 0; i < len; i++)
		sum += out[i] = exp((x[i] - m) * s);
	for (uint32_t i = 0; i < len; i++)
		out[i] /= sum;
}

/* Max and mean |out/256 - softmax| over random rows; optionally with I-ViT's x0 = floor(-1/s). */
static void shiftmax_error(double s, uint32_t len, int ivit_x0, double *max, double *mean)
{
	enum { ROWS = 200 };
	int8_t x[256];
	uint8_t o[256];
	double want[256], sum = 0;
	struct vitsa_shiftmax p;

	vitsa_shiftmax_params(&p, s, len);
	if (ivit_x0) {
		p.x0 = (int32_t)floor(-1 / s);
		p.j = 0;
		for (p.k = 0; vitsa_shiftmax_check(&p); p.k++)
			;
	}
	*max = 0;
	for (int r = 0; r < ROWS; r++) {
		double spread = rnd_range(10, 60);

		for (uint32_t i = 0; i < len; i++)
			x[i] = sat8(rnd_normal() * spread);
		vitsa_shiftmax(o, len, x, len, 1, len, &p);
		softmax(want, x, len, s);
		for (uint32_t i = 0; i < len; i++) {
			double e = fabs(o[i] / 256.0 - want[i]);

			*max = fmax(*max, e);
			sum += e;
		}
	}
	*mean = sum / (ROWS * len);
}

/*
 * The documented bounds over the documented scale range, SHIFTMAX_S_MIN..SHIFTMAX_S_MAX in
 * SWEEP_STEPS log-spaced scales, rows of several lengths; a few also with I-ViT's own x0.
 */
TEST(shiftmax_quality)
{
	static const uint32_t lens[] = { 3, 17, 50, 197, 256 };
	double worst = 0, worst_mean = 0, worst_s = 0;

	for (int si = 0; si <= SWEEP_STEPS; si++) {
		double s = SHIFTMAX_S_MIN * pow(SHIFTMAX_S_MAX / SHIFTMAX_S_MIN,
						(double)si / SWEEP_STEPS);

		for (size_t li = 0; li < 5; li++) {
			double mx, mean, imx, imean;

			shiftmax_error(s, lens[li], 0, &mx, &mean);
			if (mx > worst)
				worst = mx, worst_s = s;
			worst_mean = fmax(worst_mean, mean);
			if (si % 10 || li != 3)
				continue;
			shiftmax_error(s, lens[li], 1, &imx, &imean);
			printf("# shiftmax s %.4f len %3u: max %.4f mean %.5f (I-ViT's x0 = "
			       "floor(-1/s): max %.4f mean %.5f)\n", s, lens[li], mx, mean, imx,
			       imean);
		}
	}
	printf("# shiftmax, %d scales %g..%g: max %.4f (at s %.4f), mean at most %.5f\n",
	       SWEEP_STEPS + 1, SHIFTMAX_S_MIN, SHIFTMAX_S_MAX, worst, worst_s, worst_mean);
	CHECK(worst <= MAX_SHIFTMAX_ABS_ERR, "max %g at s %g", worst, worst_s);
	CHECK(worst_mean <= MAX_SHIFTMAX_MEAN_ERR, "mean %g", worst_mean);
}

/*
 * Properties on random rows: the outputs follow the order of the logits (equal logits, equal
 * outputs), and sum to 256 within |sum - 256| <= len / 2 + S / 2^23 + 1 (runtime.rst).
 */
TEST(shiftmax_properties)
{
	int8_t x[256];
	uint8_t o[256];
	int bad_order = 0, bad_sum = 0;
	double dev = 0;
	int rows = 0;

	for (int round = 0; round < 3000; round++) {
		struct vitsa_shiftmax p;
		uint32_t len = (uint32_t)rnd_range(1, 256), sum = 0;
		uint64_t big_s = 0;
		double s = 0.01 + vtest_rng_unit(&rng) * 0.3;
		int8_t m = -128;

		vitsa_shiftmax_params(&p, s, len);
		for (uint32_t i = 0; i < len; i++) {
			x[i] = sat8(rnd_normal() * (double)rnd_range(5, 60));
			m = x[i] > m ? x[i] : m;
		}
		vitsa_shiftmax(o, len, x, len, 1, len, &p);
		for (uint32_t i = 0; i < len; i++) {
			sum += o[i];
			big_s += vitsa_shift_exp_ref(x[i] - m, p.x0, p.n, p.k, p.j);
			for (uint32_t j = 0; j < len; j++)
				bad_order += x[i] < x[j] ? o[i] > o[j] : x[i] == x[j] && o[i] != o[j];
		}
		bad_sum += fabs(sum - 256.0) > len / 2.0 + big_s / 0x1p23 + 1;
		dev += fabs(sum - 256.0);
		rows++;
	}
	printf("# shiftmax: mean |row sum - 256| = %.2f\n", dev / rows);
	CHECK(!bad_order, "%d order violations", bad_order);
	CHECK(!bad_sum, "%d row sums out of bounds", bad_sum);
}

/* ---- Shiftmax for long rows, and joining its parts ---- */

TEST(shiftmax16_hand)
{
	/*
	 * shiftmax_hand's row: e = 262144 98304 12288, S = 372736,
	 * F = floor(2^46 / 372736) = 188789771,
	 * P = floor((e F + 2^29) / 2^30) = 46091 17284 2161 (2^16 e / S = 46091.25 17284.22
	 * 2160.53), sum 65536: hi = 180 67 8, lo = 11 132 113, 5 bytes into the row; the two
	 * bytes between the parts are not written.
	 */
	static const int8_t x[3] = { 4, 0, -8 };
	static const uint8_t want[8] = { 180, 67, 8, 0xaa, 0xaa, 11, 132, 113 };
	struct vitsa_shiftmax p = { .x0 = -4, .n = 16, .k = 0, .max_len = 3, .j = 0 };
	uint8_t a[8], b[8];

	memset(a, 0xaa, 8);
	memset(b, 0xaa, 8);
	vitsa_shiftmax16_ref(a, 8, 5, x, 3, 1, 3, &p);
	vitsa_shiftmax16(b, 8, 5, x, 3, 1, 3, &p);
	CHECK(!memcmp(a, want, 8), "ref: %d %d %d | %d %d %d", a[0], a[1], a[2], a[5], a[6], a[7]);
	CHECK(!memcmp(b, want, 8), "opt: %d %d %d | %d %d %d", b[0], b[1], b[2], b[5], b[6], b[7]);
}

/*
 * @rows rows of @len logits of @kind, strided, the low parts a few bytes past the high ones:
 * opt against ref over the whole buffer (gaps included); returns 1 if they differ.
 */
static int shiftmax16_compare(const struct vitsa_shiftmax *p, uint32_t rows, uint32_t len,
			      int kind)
{
	enum { L = VITSA_SHIFTMAX_MAX_LEN };
	static int8_t x[4 * (L + 5)];
	static uint8_t a[4 * (2 * L + 6)], b[4 * (2 * L + 6)];
	size_t xs = len + (size_t)rnd_range(0, 5), lo = len + (size_t)rnd_range(0, 3);
	size_t os = lo + len + (size_t)rnd_range(0, 3);

	rnd_logits(x, rows * xs, kind);
	memset(a, 0xaa, rows * os);
	memset(b, 0xaa, rows * os);
	vitsa_shiftmax16_ref(a, os, lo, x, xs, rows, len, p);
	vitsa_shiftmax16(b, os, lo, x, xs, rows, len, p);
	return memcmp(a, b, rows * os) != 0;
}

/* A random logit scale 2^-18 .. 2^4. */
static double rnd_logit_scale(void)
{
	return ldexp(1 + vtest_rng_unit(&rng), (int)rnd_range(-18, 3));
}

/* Every length 1..600 (past 256, the rows SHIFTMAX16 is for), then random ones up to 4096. */
TEST(shiftmax16_opt_eq_ref)
{
	int bad = 0, rows = 0;

	for (uint32_t round = 0; round < 900; round++) {
		struct vitsa_shiftmax p;
		uint32_t len = round < 600 ? round + 1 :
			       (uint32_t)rnd_range(1, VITSA_SHIFTMAX_MAX_LEN);
		uint32_t max_len = (uint32_t)rnd_range(len, VITSA_SHIFTMAX_MAX_LEN);
		uint32_t nrows = (uint32_t)rnd_range(1, 4);

		if (vitsa_shiftmax_params(&p, rnd_logit_scale(), max_len))
			continue;
		bad += shiftmax16_compare(&p, nrows, len, (int)(round % 5));
		rows += nrows;
	}
	CHECK(!bad, "%d of the calls differ", bad);
	CHECK(rows > 1500, "only %d rows", rows);
}

/*
 * On random rows up to 4096 long: every P is 2^16 e_i / S rounded (within 1/2 + 2^-8, e_i
 * from the spec's exponential), P follows the order of the logits, and the row sums to 2^16
 * within len / 2 + 2 (runtime.rst: what keeps 256 hi V + lo V inside int32).
 */
TEST(shiftmax16_properties)
{
	enum { L = VITSA_SHIFTMAX_MAX_LEN };
	static int8_t x[L];
	static uint8_t o[2 * L];
	int bad_round = 0, bad_order = 0, bad_sum = 0;

	for (int round = 0; round < 300; round++) {
		struct vitsa_shiftmax p;
		uint32_t len = (uint32_t)rnd_range(1, L), lo_p[256], hi_p[256];
		uint64_t S = 0, sum = 0;
		int8_t m = -128;

		vitsa_shiftmax_params(&p, 0.005 + vtest_rng_unit(&rng) * 0.3, len);
		rnd_logits(x, len, round % 2);
		for (uint32_t i = 0; i < len; i++)
			m = x[i] > m ? x[i] : m;
		for (uint32_t i = 0; i < len; i++)
			S += vitsa_shift_exp_ref(x[i] - m, p.x0, p.n, p.k, p.j);
		vitsa_shiftmax16(o, 2 * len, len, x, len, 1, len, &p);
		memset(lo_p, 0xff, sizeof(lo_p));
		memset(hi_p, 0, sizeof(hi_p));
		for (uint32_t i = 0; i < len; i++) {
			uint32_t P = p16(o, len, i), v = (uint32_t)(x[i] + 128);
			double e = vitsa_shift_exp_ref(x[i] - m, p.x0, p.n, p.k, p.j);

			bad_round += fabs(P - fmin(65536.0 * e / (double)S, 65535)) > 0.5 + 0x1p-8;
			lo_p[v] = P < lo_p[v] ? P : lo_p[v];
			hi_p[v] = P > hi_p[v] ? P : hi_p[v];
			sum += P;
		}
		for (uint32_t v = 0, prev = 0; v < 256; v++) {
			if (lo_p[v] > hi_p[v])
				continue;	/* no logit of this value */
			bad_order += lo_p[v] != hi_p[v] || lo_p[v] < prev;
			prev = hi_p[v];
		}
		bad_sum += fabs((double)sum - 65536) > len / 2.0 + 2;
	}
	CHECK(!bad_round, "%d probabilities not 2^16 e / S rounded", bad_round);
	CHECK(!bad_order, "%d order violations", bad_order);
	CHECK(!bad_sum, "%d row sums out of bounds", bad_sum);
}

/*
 * Rows past 256 against float softmax over the documented scale range: the row's L1 error
 * sum |p - softmax| of SHIFTMAX16 within its bound and, at the finest scale (near-uniform
 * rows), under 1% where the u8 form, whose steps are coarser than the values, loses 90%.
 */
TEST(shiftmax16_quality)
{
	static const uint32_t lens[] = { 257, 577, 1024, 4096 };
	enum { L = VITSA_SHIFTMAX_MAX_LEN, ROWS = 20 };
	static int8_t x[L];
	static uint8_t o[2 * L], o8[L];
	static double want[L];
	double worst = 0, worst_s = 0;
	int flat_bad = 0;

	for (int si = 0; si <= 20; si++) {
		double s = SHIFTMAX_S_MIN * pow(SHIFTMAX_S_MAX / SHIFTMAX_S_MIN, si / 20.0);

		for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
			uint32_t len = lens[li];
			struct vitsa_shiftmax p;
			double l1 = 0, l1_8 = 0;

			vitsa_shiftmax_params(&p, s, len);
			for (int r = 0; r < ROWS; r++) {
				for (uint32_t i = 0; i < len; i++)
					x[i] = sat8(rnd_normal() * (double)rnd_range(2, 40));
				vitsa_shiftmax16(o, 2 * len, len, x, len, 1, len, &p);
				vitsa_shiftmax(o8, len, x, len, 1, len, &p);
				softmax(want, x, len, s);
				for (uint32_t i = 0; i < len; i++) {
					l1 += fabs(p16(o, len, i) / 65536.0 - want[i]) / ROWS;
					l1_8 += fabs(o8[i] / 256.0 - want[i]) / ROWS;
				}
			}
			l1 -= 2.0 * len / 65536;	/* the clamp's share of the bound */
			if (l1 > worst)
				worst = l1, worst_s = s;
			flat_bad += si == 0 && len >= 577 && (l1 > 0.01 || l1_8 < 0.9);
			if (si % 10 == 0)
				printf("# shiftmax16 s %.4f len %4u: row L1 error %.4f "
				       "(u8: %.4f)\n", s, len, l1 + 2.0 * len / 65536, l1_8);
		}
	}
	printf("# shiftmax16, rows 257..4096: row L1 error at most %.4f + 2 len 2^-16 (s %.4f)\n",
	       worst, worst_s);
	CHECK(worst <= MAX_SHIFTMAX16_L1_ERR, "row L1 error %g + 2 len 2^-16 at s %g", worst,
	      worst_s);
	CHECK(!flat_bad, "near-uniform rows: %d lengths not the two-part form's win", flat_bad);
}

TEST(join16_hand)
{
	/*
	 * d = 2^30 / 2^34 = 1/16: 256 * 3 + 200 = 968 -> 60.5 -> 61 (half up); -1 -> -0.0625 -> 0;
	 * 256 * 2 - 1024 = -512 -> -32; the sums of the extremes saturate to int32, then s8.
	 */
	static const int32_t hi[5] = { 3, -1, 2, INT32_MAX, INT32_MIN };
	static const int32_t lo[5] = { 200, 255, -1024, INT32_MAX, INT32_MIN };
	static const int8_t want[5] = { 61, 0, -32, 127, -128 };
	struct vitsa_dyadic d = { 1 << 30, 34 };
	int8_t a[5], b[5];

	vitsa_join16_s8_ref(a, hi, lo, 5, d);
	vitsa_join16_s8(b, hi, lo, 5, d);
	CHECK(!memcmp(a, want, 5), "ref: %d %d %d %d %d", a[0], a[1], a[2], a[3], a[4]);
	CHECK(!memcmp(b, want, 5), "opt: %d %d %d %d %d", b[0], b[1], b[2], b[3], b[4]);
}

/* A random accumulator: any int32, an extreme, or the size a SHIFTMAX16 part's GEMM gives. */
static int32_t rnd_acc(int kind)
{
	return kind == 0 ? (int32_t)rnd64() : kind == 1 ? (rnd64() & 1 ? INT32_MAX : INT32_MIN) :
	       (int32_t)rnd_range(-(1 << 24), 1 << 24);
}

TEST(join16_opt_eq_ref)
{
	static int32_t hi[1000], lo[1000];
	static int8_t a[1000], b[1000];
	int bad = 0;

	for (int round = 0; round < 400; round++) {
		size_t n = (size_t)rnd_range(1, 1000);
		struct vitsa_dyadic d = round % 2 ? rnd_dyadic() :
					vitsa_dyadic_from_ratio(ldexp(1, (int)rnd_range(-30, 0)));

		for (size_t i = 0; i < n; i++) {
			hi[i] = rnd_acc((int)rnd_range(0, 2));
			lo[i] = rnd_acc((int)rnd_range(0, 2));
		}
		vitsa_join16_s8_ref(a, hi, lo, n, d);
		vitsa_join16_s8(b, hi, lo, n, d);
		bad += memcmp(a, b, n) != 0;
	}
	CHECK(!bad, "%d of 400 rows differ", bad);
}

/* ---- ShiftGELU ---- */

TEST(gelu_params)
{
	struct vitsa_gelu p;

	/* s = 0.25: a = 1.4375 / (1.702 * 0.25 * log2 e) = 2.342, j 9: -round(1199.0) -> k 18 */
	CHECK(!vitsa_gelu_params(&p, 0.25) && p.x0 == -1199 && p.n == 23 && p.k == 18 &&
	      p.j == 9, "0.25: x0 %d k %u j %u", p.x0, p.k, p.j);
	/* s = 0.05: 11.71, j 7: -1499; 1499 * 2^23 >> 18 = 47968 <= 2^16 (k 17 gives 95936) */
	CHECK(!vitsa_gelu_params(&p, 0.05) && p.x0 == -1499 && p.k == 18 && p.j == 7,
	      "0.05: x0 %d k %u j %u", p.x0, p.k, p.j);
	CHECK(vitsa_gelu_params(&p, 0) == -1, "0");
	CHECK(vitsa_gelu_params(&p, 1e-8) == -1, "too fine");
	p = (struct vitsa_gelu){ -2, 23, 7, 0 };	/* E = 2^17 */
	CHECK(vitsa_gelu_check(&p) == -1, "E too big");
}

TEST(gelu_hand)
{
	/*
	 * I-ViT's parameters for s = 0.25 (x0 -2, n 23, k 8, j 0), x = 4 (1.0):
	 * E = 2 * 2^23 >> 8 = 65536.  d = -4: t = -4 - 2 + 1 = -5, q = floor(5 / 2) = 2,
	 * r = -5 + 4 = -1, v = floor(-0.5) + 2 = 1, e = 2^23 >> 10 = 8192.
	 * F = floor(2147483647 / 73728) = 29127 (73728 * 29127 = 2147475456);
	 * g = floor((8192 * 29127 + 2^16) / 2^17) = floor(238673920 / 131072) = 1820;
	 * sigmoid(4) = 16384 - 1820 = 14564 (0.889; float sigmoid(1.702) = 0.846), out = 58256,
	 * 58256 * 0.25 / 2^14 = 0.889 (GELU(1) = 0.841).  x = -4: sigmoid 1820, out -7280.
	 */
	struct vitsa_gelu p = { .x0 = -2, .n = 23, .k = 8, .j = 0 };
	static const int8_t x[3] = { 4, -4, 0 };
	int32_t a[3], b[3];

	CHECK(vitsa_gelu_sigmoid_ref(4, &p) == 14564 && vitsa_gelu_sigmoid_ref(-4, &p) == 1820,
	      "sigmoid");
	CHECK(vitsa_gelu_sigmoid_ref(0, &p) == 8192, "sigmoid(0) = 1/2");
	vitsa_gelu_ref(a, x, 3, &p);
	vitsa_gelu(b, x, 3, &p);
	CHECK(a[0] == 58256 && a[1] == -7280 && a[2] == 0, "%d %d %d", a[0], a[1], a[2]);
	CHECK(!memcmp(a, b, sizeof(a)), "opt");
}

TEST(gelu_opt_eq_ref)
{
	enum { N = 5000 };
	int8_t x[N], a8[N], b8[N];
	int32_t a[N], b[N];
	int bad = 0, bad_sym = 0;

	for (int round = 0; round < 300; round++) {
		struct vitsa_gelu p;
		struct vitsa_dyadic d = rnd_dyadic();
		double s = ldexp(1 + vtest_rng_unit(&rng), (int)rnd_range(-19, 4));
		size_t n = (size_t)rnd_range(0, N);

		if (vitsa_gelu_params(&p, s))
			continue;
		if (round % 2)	/* a plausible output scale */
			d = vitsa_dyadic_from_ratio(ldexp(1, -14 + (int)rnd_range(-2, 2)));
		for (size_t i = 0; i < n; i++)
			x[i] = (int8_t)(i < 256 ? i : rnd64());	/* every value, then random */
		vitsa_gelu(a, x, n, &p);
		vitsa_gelu_ref(b, x, n, &p);
		bad += memcmp(a, b, 4 * n) != 0;
		vitsa_gelu_s8(a8, x, n, &p, d);
		vitsa_gelu_s8_ref(b8, x, n, &p, d);
		bad += memcmp(a8, b8, n) != 0;
		memcpy(a8, x, n);	/* in place */
		vitsa_gelu_s8(a8, a8, n, &p, d);
		bad += memcmp(a8, b8, n) != 0;
		/* exactly symmetric: GELU(x) - GELU(-x) = x, i.e. x * 2^14 at scale s 2^-14 */
		for (int v = -127; v <= 127; v++)
			bad_sym += v * vitsa_gelu_sigmoid_ref(v, &p) +
				   v * vitsa_gelu_sigmoid_ref(-v, &p) != v * (1 << 14);
	}
	CHECK(!bad, "%d mismatches", bad);
	CHECK(!bad_sym, "%d asymmetric", bad_sym);
}

/*
 * W4A4's outputs by hand: the LayerNorm of layernorm_hand at 1/4 per unit (d = 2^-27) is
 * 5.45 -1.82 ... -> -5 -2 2 5, nibbles B E 2 5, element 2i low; at 1/32 (d = 2^-24) it is
 * -44 -15 15 44 as s8 and saturates to -8 -8 7 7.  GELU of gelu_hand (58256 -7280 0) with
 * d = 2^-14 is 4 0 0, plus zero point 2: 6 2 2, an odd row's last high nibble 0; with zero
 * point 15 the 4 saturates.
 */
TEST(int4_outputs_hand)
{
	static const int16_t x[4] = { 10, 20, 30, 40 };
	static const int8_t g[3] = { 4, -4, 0 };
	struct vitsa_gelu p = { .x0 = -2, .n = 23, .k = 8, .j = 0 };
	uint8_t a[2], b[2];

	vitsa_layernorm_s4(a, 2, x, 4, 1, 4, (struct vitsa_dyadic){ 1, 27 });
	vitsa_layernorm_s4_ref(b, 2, x, 4, 1, 4, (struct vitsa_dyadic){ 1, 27 });
	CHECK(a[0] == 0xeb && a[1] == 0x52 && !memcmp(a, b, 2), "s4: %02x %02x, ref %02x %02x",
	      a[0], a[1], b[0], b[1]);
	vitsa_layernorm_s4(a, 2, x, 4, 1, 4, (struct vitsa_dyadic){ 1, 24 });
	vitsa_layernorm_s4_ref(b, 2, x, 4, 1, 4, (struct vitsa_dyadic){ 1, 24 });
	CHECK(a[0] == 0x88 && a[1] == 0x77 && !memcmp(a, b, 2), "saturated: %02x %02x", a[0],
	      a[1]);
	memset(a, 0xff, 2);
	memset(b, 0xff, 2);
	vitsa_gelu_u4(a, g, 3, &p, (struct vitsa_dyadic){ 1, 14 }, 2);
	vitsa_gelu_u4_ref(b, g, 3, &p, (struct vitsa_dyadic){ 1, 14 }, 2);
	CHECK(a[0] == 0x26 && a[1] == 0x02 && !memcmp(a, b, 2), "u4: %02x %02x, ref %02x %02x",
	      a[0], a[1], b[0], b[1]);
	vitsa_gelu_u4(a, g, 1, &p, (struct vitsa_dyadic){ 1, 14 }, 15);
	CHECK(a[0] == 0x0f, "u4 saturated: %02x", a[0]);
}

/* The packed 4-bit twins on random rows: odd lengths, strides with room, bytes past a row. */
TEST(int4_opt_eq_ref)
{
	enum { ROWS = 6, MAXC = 1100, OS = MAXC / 2 + 9 };
	static int16_t x[ROWS * (MAXC + 7)];
	static int8_t g[ROWS * MAXC];
	static uint8_t a[ROWS * OS], b[ROWS * OS];
	int bad = 0, tried = 0;

	for (int round = 0; round < 400; round++) {
		uint32_t cols = rnd_range(1, MAXC);
		size_t xs = cols + (size_t)rnd_range(0, 7), os = (cols + 1) / 2 + rnd_range(0, 8);
		double sigma = ldexp(1, (int)rnd_range(0, 15)), mu = rnd_normal() * 8000;
		struct vitsa_dyadic d = vitsa_dyadic_from_ratio(sqrt(cols) / 0x1p30 *
								ldexp(1, (int)rnd_range(0, 4)));
		struct vitsa_gelu p;
		int32_t zero = (int32_t)rnd_range(0, 15);

		for (size_t i = 0; i < ROWS * xs; i++)
			x[i] = sat16(mu + sigma * rnd_normal());
		memset(a, 0xa5, sizeof(a));
		memset(b, 0xa5, sizeof(b));
		vitsa_layernorm_s4(a, os, x, xs, ROWS, cols, d);
		vitsa_layernorm_s4_ref(b, os, x, xs, ROWS, cols, d);
		bad += memcmp(a, b, sizeof(a)) != 0 ||
		       (os > (cols + 1) / 2 && a[(cols + 1) / 2] != 0xa5) ||
		       a[(ROWS - 1) * os + (cols + 1) / 2] != 0xa5;
		if (vitsa_gelu_params(&p, ldexp(1, (int)rnd_range(-12, 0))))
			continue;
		for (size_t i = 0; i < cols; i++)
			g[i] = (int8_t)(i < 256 ? i : rnd64());
		memset(a, 0xa5, sizeof(a));
		memset(b, 0xa5, sizeof(b));
		d = vitsa_dyadic_from_ratio(ldexp(1, -14 + (int)rnd_range(-2, 2)));
		vitsa_gelu_u4(a, g, cols, &p, d, zero);
		vitsa_gelu_u4_ref(b, g, cols, &p, d, zero);
		bad += memcmp(a, b, sizeof(a)) != 0 || a[(cols + 1) / 2] != 0xa5;
		tried++;
	}
	CHECK(!bad && tried > 300, "%d of %d rounds differ", bad, tried);
}

/* The optimized kernels keep their tables per thread: alternating parameters row by row. */
TEST(tables_follow_params)
{
	enum { N = 300 };
	struct vitsa_gelu g[2];
	struct vitsa_shiftmax sm[2];
	struct vitsa_dyadic d[2] = { { 1 << 30, 40 }, { 1 << 30, 41 } };
	int8_t x[N], a8[N], b8[N];
	int32_t a[N], b[N];
	uint8_t au[N], bu[N];
	int bad = 0;

	vitsa_gelu_params(&g[0], 0.05);
	vitsa_gelu_params(&g[1], 0.08);
	vitsa_shiftmax_params(&sm[0], 0.05, N);
	vitsa_shiftmax_params(&sm[1], 0.2, N);
	for (int round = 0; round < 64; round++) {
		int i = round & 1, j = (round >> 1) & 1, k = (round >> 2) & 1;

		for (int e = 0; e < N; e++)
			x[e] = (int8_t)rnd64();
		vitsa_gelu_s8(a8, x, N, &g[i], d[j]);
		vitsa_gelu_s8_ref(b8, x, N, &g[i], d[j]);
		bad += memcmp(a8, b8, N) != 0;
		vitsa_gelu(a, x, N, &g[j]);
		vitsa_gelu_ref(b, x, N, &g[j]);
		bad += memcmp(a, b, sizeof(a)) != 0;
		vitsa_shiftmax(au, N, x, N, 1, N, &sm[k]);
		vitsa_shiftmax_ref(bu, N, x, N, 1, N, &sm[k]);
		bad += memcmp(au, bu, N) != 0;
	}
	CHECK(!bad, "%d mismatches", bad);
}

/* As shiftmax_quality, over GELU_S_MIN..GELU_S_MAX. */
TEST(gelu_quality)
{
	double worst = 0, worst_rel = 0, worst_sig = 0;

	for (int si = 0; si <= SWEEP_STEPS; si++) {
		double s = GELU_S_MIN * pow(GELU_S_MAX / GELU_S_MIN, (double)si / SWEEP_STEPS);
		struct vitsa_gelu p;
		double mx = 0, sig_mx = 0, prev = -1;

		vitsa_gelu_params(&p, s);
		for (int v = -128; v <= 127; v++) {
			double xr = v * s;
			double got = v * vitsa_gelu_sigmoid_ref(v, &p) * s / 0x1p14;
			double want = xr * 0.5 * (1 + erf(xr / sqrt(2)));
			double sig = vitsa_gelu_sigmoid_ref(v, &p) / 0x1p14;

			mx = fmax(mx, fabs(got - want));
			if (fabs(xr) >= 4)
				worst_rel = fmax(worst_rel, fabs(got - want) / fabs(xr));
			sig_mx = fmax(sig_mx, fabs(sig - 1 / (1 + exp(-1.702 * xr))));
			CHECK(sig >= prev, "sigmoid monotone at %d", v);
			prev = sig;
		}
		if (si % 10 == 0)
			printf("# gelu s %.4f (x0 %d k %u j %u, range +-%.1f): max |GELU error| %.4f, "
			       "max |sigmoid(1.702x) error| %.4f\n", s, p.x0, p.k, p.j, 128 * s, mx,
			       sig_mx);
		worst = fmax(worst, mx);
		worst_sig = fmax(worst_sig, sig_mx);
	}
	printf("# gelu, %d scales %g..%g: max |GELU error| %.4f, relative %.4f, sigmoid %.4f\n",
	       SWEEP_STEPS + 1, GELU_S_MIN, GELU_S_MAX, worst, worst_rel, worst_sig);
	CHECK(worst <= MAX_GELU_ABS_ERR, "max %g", worst);
	CHECK(worst_rel <= MAX_GELU_REL_ERR, "relative %g", worst_rel);
	CHECK(worst_sig <= MAX_SIGMOID_ABS_ERR, "sigmoid %g", worst_sig);
}

/* ---- the input and the token stream ---- */

TEST(patches_hand_worked)
{
	/* 2 channels of 4x4, patches of 2x2: pixel c*16 + y*4 + x, tables v + 50c - 100 */
	uint8_t img[2 * 16];
	int8_t lut[2 * 256], out[4 * 8], ref[4 * 8];
	const int8_t want1[8] = { 2, 3, 6, 7, 18, 19, 22, 23 };	/* patch (0, 1), before lut */

	for (int i = 0; i < 32; i++)
		img[i] = (uint8_t)i;
	for (int c = 0; c < 2; c++)
		for (int v = 0; v < 256; v++)
			lut[c * 256 + v] = (int8_t)(v + 50 * c - 100);
	vitsa_patches_s8(out, 8, img, lut, 2, 4, 2, 0, 2);
	vitsa_patches_s8_ref(ref, 8, img, lut, 2, 4, 2, 0, 2);
	for (int i = 0; i < 8; i++)
		CHECK(out[8 + i] == lut[(i / 4) * 256 + want1[i]] && ref[8 + i] == out[8 + i],
		      "patch 1 element %d: %d, ref %d", i, out[8 + i], ref[8 + i]);
	CHECK(out[0] == -100 && out[31] == (int8_t)(31 + 50 - 100), "first and last: %d %d",
	      out[0], out[31]);
}

/* One random geometry: both kernels on the same patch rows, the whole buffers compared. */
static int patches_compare(uint32_t chans, uint32_t img, uint32_t patch)
{
	uint32_t per = img / patch, py0 = (uint32_t)rnd_range(0, per);
	uint32_t py1 = (uint32_t)rnd_range(py0, per);
	size_t per_row = (size_t)chans * patch * patch, stride = per_row + rnd_range(0, 40);
	size_t n = per * per * stride, npix = (size_t)chans * img * img;
	uint8_t *image = malloc(npix);
	int8_t lut[4 * 256], *a = malloc(n), *b = malloc(n);
	int same;

	for (size_t i = 0; i < npix; i++)
		image[i] = (uint8_t)rnd64();
	for (size_t i = 0; i < sizeof(lut); i++)
		lut[i] = (int8_t)rnd64();
	for (size_t i = 0; i < n; i++)
		a[i] = b[i] = (int8_t)rnd64();	/* gaps and other rows must stay as they are */
	vitsa_patches_s8(a, stride, image, lut, chans, img, patch, py0, py1);
	vitsa_patches_s8_ref(b, stride, image, lut, chans, img, patch, py0, py1);
	same = !memcmp(a, b, n);
	free(image);
	free(a);
	free(b);
	return same;
}

TEST(patches_matches_ref)
{
	for (int it = 0; it < 400; it++) {
		uint32_t chans = (uint32_t)rnd_range(1, 4), patch = (uint32_t)rnd_range(1, 16);
		uint32_t img = patch * (uint32_t)rnd_range(1, 80 / patch + 1);

		CHECK(patches_compare(chans, img, patch), "chans %u img %u patch %u", chans, img,
		      patch);
	}
	CHECK(patches_compare(3, 224, 16), "DeiT geometry");
	CHECK(patches_compare(1, 28, 7), "Fashion-MNIST geometry");
	CHECK(patches_compare(1, 4096, 64), "largest image");
}

TEST(embed_hand_worked)
{
	const int16_t x[2][2] = { { 32767, -32768 }, { 100, -100 } };
	const int16_t pos[3][2] = { { 5, -7 }, { 1, -1 }, { -50, 50 } };
	int16_t out[3][2], ref[3][2];

	vitsa_embed_s16(out[0], 2, x[0], 2, pos[0], 2, 1, 0, 3, 2);
	vitsa_embed_s16_ref(ref[0], 2, x[0], 2, pos[0], 2, 1, 0, 3, 2);
	CHECK(out[0][0] == 5 && out[0][1] == -7, "class token row: %d %d", out[0][0], out[0][1]);
	CHECK(out[1][0] == 32767 && out[1][1] == -32768, "saturated: %d %d", out[1][0], out[1][1]);
	CHECK(out[2][0] == 50 && out[2][1] == -50, "sum: %d %d", out[2][0], out[2][1]);
	CHECK(!memcmp(out, ref, sizeof(out)), "ref differs");
	vitsa_embed_s16(out[0], 2, NULL, 2, pos[0], 2, 1, 0, 1, 2);	/* class token alone */
	CHECK(out[0][0] == 5 && out[0][1] == -7, "class token only");
	/* class and distillation tokens: two rows of their own, then patch x[0] at row 2 */
	vitsa_embed_s16(out[0], 2, x[1], 2, pos[0], 2, 2, 0, 3, 2);
	vitsa_embed_s16_ref(ref[0], 2, x[1], 2, pos[0], 2, 2, 0, 3, 2);
	CHECK(out[1][0] == 1 && out[1][1] == -1 && out[2][0] == 50 && out[2][1] == -50,
	      "distilled: %d %d %d %d", out[1][0], out[1][1], out[2][0], out[2][1]);
	CHECK(!memcmp(out, ref, sizeof(out)), "ref differs, distilled");
	vitsa_embed_s16(out[0], 2, x[0], 2, pos[0], 2, 0, 0, 2, 2);	/* no class token */
	CHECK(out[0][0] == 32767 && out[1][0] == 101, "no prefix: %d %d", out[0][0], out[1][0]);
}

TEST(embed_matches_ref)
{
	for (int it = 0; it < 300; it++) {
		uint32_t rows = (uint32_t)rnd_range(1, 200), cols = (uint32_t)rnd_range(1, 300);
		uint32_t r0 = (uint32_t)rnd_range(0, rows), r1 = (uint32_t)rnd_range(r0, rows);
		uint32_t prefix = (uint32_t)rnd_range(0, VITSA_EMBED_MAX_PREFIX);
		size_t os = cols + rnd_range(0, 8), xs = cols + rnd_range(0, 8);
		size_t ps = cols + rnd_range(0, 8);
		int16_t *x = malloc((rows * xs + 1) * 2), *pos = malloc(rows * ps * 2);
		int16_t *a = malloc(rows * os * 2), *b = malloc(rows * os * 2);
		int big = it % 2;	/* half the cases near the ends: saturation both ways */

		for (size_t i = 0; i < rows * xs; i++)
			x[i] = big ? (int16_t)rnd64() : sat16(rnd_normal() * 3000);
		for (size_t i = 0; i < rows * ps; i++)
			pos[i] = big ? (int16_t)rnd64() : sat16(rnd_normal() * 300);
		for (size_t i = 0; i < rows * os; i++)
			a[i] = b[i] = (int16_t)rnd64();
		vitsa_embed_s16(a, os, x, xs, pos, ps, prefix, r0, r1, cols);
		vitsa_embed_s16_ref(b, os, x, xs, pos, ps, prefix, r0, r1, cols);
		CHECK(!memcmp(a, b, rows * os * 2), "rows %u [%u, %u) cols %u prefix %u", rows, r0,
		      r1, cols, prefix);
		free(x);
		free(pos);
		free(a);
		free(b);
	}
}

TEST(mean_hand_worked)
{
	const int16_t x[3][2] = { { 1, -1 }, { 2, -2 }, { 2, -2 } };	/* 5/3, -5/3 */
	const int16_t y[2][2] = { { 1, -1 }, { 2, -2 } };		/* 3/2 up, -3/2 up */
	const int16_t big[2][1] = { { 32767 }, { 32767 } };
	int16_t out[2], ref[2];

	vitsa_mean_s16(out, x[0], 2, 3, 2);
	vitsa_mean_s16_ref(ref, x[0], 2, 3, 2);
	CHECK(out[0] == 2 && out[1] == -2 && !memcmp(out, ref, sizeof(out)), "thirds: %d %d",
	      out[0], out[1]);
	vitsa_mean_s16(out, y[0], 2, 2, 2);
	CHECK(out[0] == 2 && out[1] == -1, "halves round up: %d %d", out[0], out[1]);
	vitsa_mean_s16(out, big[0], 1, 2, 1);
	CHECK(out[0] == 32767, "no overflow: %d", out[0]);
}

TEST(mean_matches_ref)
{
	for (int it = 0; it < 200; it++) {
		uint32_t rows = (uint32_t)rnd_range(1, 600), cols = (uint32_t)rnd_range(1, 400);
		size_t stride = cols + rnd_range(0, 8);
		int16_t *x = malloc(rows * stride * 2), *a = malloc(cols * 2), *b = malloc(cols * 2);

		for (size_t i = 0; i < rows * stride; i++)
			x[i] = it % 2 ? (int16_t)rnd64() : sat16(rnd_normal() * 3000);
		vitsa_mean_s16(a, x, stride, rows, cols);
		vitsa_mean_s16_ref(b, x, stride, rows, cols);
		CHECK(!memcmp(a, b, cols * 2), "rows %u cols %u", rows, cols);
		free(x);
		free(a);
		free(b);
	}
}

/* ---- timings (IOPS_BENCH=1) ---- */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The fastest of @reps calls (the machine may be shared). */
#define TIME(var, reps, stmt)						\
	do {								\
		var = 1e9;						\
		for (int r_ = 0; r_ < (reps); r_++) {			\
			double t0_ = now();				\
									\
			stmt;						\
			var = fmin(var, now() - t0_);			\
		}							\
	} while (0)

TEST(bench)
{
	/* DeiT-S shapes: T = 197 tokens, C = 384, 6 heads, MLP 1536 */
	enum { T = 197, C = 384, H = 6, M = 1536 };
	static int16_t res[T * C], res2[T * C];
	static int32_t i32[T * M], o32[T * M];
	static int8_t s8[H * T * T], g8[T * M];
	static uint8_t u8[H * T * T];
	struct vitsa_shiftmax sp;
	struct vitsa_gelu gp;
	struct vitsa_dyadic d = vitsa_dyadic_from_ratio(0.37), d2 = vitsa_dyadic_from_ratio(0.9);
	double ref, opt;

	if (!getenv("IOPS_BENCH")) {
		printf("# bench: set IOPS_BENCH=1 for timings\n");
		return;
	}
	for (size_t i = 0; i < T * C; i++)
		res[i] = res2[i] = sat16(rnd_normal() * 3000);
	for (size_t i = 0; i < T * M; i++)
		i32[i] = (int32_t)rnd_range(-100000, 100000);
	for (size_t i = 0; i < H * T * T; i++)
		s8[i] = sat8(rnd_normal() * 30);
	for (size_t i = 0; i < T * M; i++)
		g8[i] = sat8(rnd_normal() * 30);
	vitsa_shiftmax_params(&sp, 0.08, T);
	vitsa_gelu_params(&gp, 0.05);

	TIME(ref, 20, vitsa_layernorm_s8_ref(s8, C, res, C, T, C, d));
	TIME(opt, 200, vitsa_layernorm_s8(s8, C, res, C, T, C, d));
	printf("# bench layernorm_s8 %ux%u: ref %.1f us, opt %.1f us, %.1fx\n", T, C, ref * 1e6,
	       opt * 1e6, ref / opt);
	TIME(ref, 5, vitsa_shiftmax_ref(u8, T, s8, T, H * T, T, &sp));
	TIME(opt, 50, vitsa_shiftmax(u8, T, s8, T, H * T, T, &sp));
	printf("# bench shiftmax %ux%ux%u: ref %.1f us, opt %.1f us, %.1fx\n", H, T, T, ref * 1e6,
	       opt * 1e6, ref / opt);
	TIME(ref, 5, vitsa_gelu_s8_ref(g8, g8, T * M, &gp, d));
	TIME(opt, 100, vitsa_gelu_s8(g8, g8, T * M, &gp, d));
	printf("# bench gelu_s8 %ux%u: ref %.1f us, opt %.1f us, %.1fx\n", T, M, ref * 1e6,
	       opt * 1e6, ref / opt);
	TIME(opt, 100, for (int r = 0; r < T; r++) vitsa_gelu_s8(g8 + r * M, g8 + r * M, M, &gp, d));
	printf("# bench gelu_s8 row by row: opt %.1f us\n", opt * 1e6);
	TIME(ref, 5, vitsa_residual_add_ref(res2, res2, res, T * C, d2, d));
	TIME(opt, 100, vitsa_residual_add(res2, res2, res, T * C, d2, d));
	printf("# bench residual_add %ux%u: ref %.1f us, opt %.1f us, %.1fx\n", T, C, ref * 1e6,
	       opt * 1e6, ref / opt);
	TIME(ref, 5, vitsa_requant_s8_ref(g8, i32, T * M, d, 3));
	TIME(opt, 100, vitsa_requant_s8(g8, i32, T * M, d, 3));
	printf("# bench requant_s8 %ux%u: ref %.1f us, opt %.1f us, %.1fx\n", T, M, ref * 1e6,
	       opt * 1e6, ref / opt);
	TIME(ref, 5, vitsa_patches_s8_ref(g8, 768, u8, s8, 3, 224, 16, 0, 14));
	TIME(opt, 50, vitsa_patches_s8(g8, 768, u8, s8, 3, 224, 16, 0, 14));
	printf("# bench patches_s8 3x224x224 / 16: ref %.1f us, opt %.1f us, %.1fx\n", ref * 1e6,
	       opt * 1e6, ref / opt);
	TIME(ref, 5, vitsa_embed_s16_ref(res2, C, res, C, res, C, 1, 0, T, C));
	TIME(opt, 100, vitsa_embed_s16(res2, C, res, C, res, C, 1, 0, T, C));
	printf("# bench embed_s16 %ux%u: ref %.1f us, opt %.1f us, %.1fx\n", T, C, ref * 1e6,
	       opt * 1e6, ref / opt);
	TIME(ref, 5, vitsa_gelu_ref(o32, g8, T * M, &gp));
	TIME(opt, 100, vitsa_gelu(o32, g8, T * M, &gp));
	printf("# bench gelu (int32) %ux%u: ref %.1f us, opt %.1f us, %.1fx\n", T, M, ref * 1e6,
	       opt * 1e6, ref / opt);
}

TAP_MAIN
