// SPDX-License-Identifier: MIT
/*
 * The specification of vitsa's integer operations (vitsa_iops.h): each *_ref function is plain
 * loops, floor division through vitsa_floor_div, int64 everywhere.  The tests hold the
 * operations of vitsa_iops.c to these bit for bit; nothing else runs them, so they live in the
 * test-support library (build/libvitsa_test.a), not in libvitrt.  vitsa_shift_exp_ref,
 * vitsa_gelu_sigmoid_ref and vitsa_mean_s16_ref stay in vitsa_iops.c: the operations fill their
 * tables with them.
 */
#include <stdint.h>
#include <string.h>

#include "vitsa_iops_priv.h"
#include "../include/vitsa_int.h"

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
	return vitsa_int_clamp(v, lo, hi);
}

/*
 * int4 elements, packed as the array reads them: element 2i in bits [3:0], 2i+1 in [7:4].
 * put_4_ref stores v + zero clamped to [lo, lo + 15].
 */
static void put_4_ref(uint8_t *row, uint32_t i, int64_t v, int32_t zero, int32_t lo)
{
	uint8_t nib = (uint8_t)(clamp64(v + zero, lo, lo + 15) & 0xf);

	row[i / 2] = i % 2 ? (uint8_t)((row[i / 2] & 0x0f) | nib << 4) : nib;
}

/* Greedy, most significant bit first: the largest r with r * r <= v. */
uint32_t vitsa_isqrt64_ref(uint64_t v)
{
	uint64_t r = 0;

	for (int b = 31; b >= 0; b--) {
		uint64_t t = r | (uint64_t)1 << b;	/* t < 2^32, so t * t cannot wrap */

		if (t * t <= v)
			r = t;
	}
	return (uint32_t)r;
}

int64_t vitsa_requant_ref(int64_t x, struct vitsa_dyadic d)
{
	int64_t p, half;

	IOPS_ASSERT(d.shift <= VITSA_DYADIC_MAX_SHIFT);
	IOPS_ASSERT(!__builtin_mul_overflow(x, (int64_t)d.mult, &p));
	if (d.shift == 0)
		return p;
	half = (int64_t)1 << (d.shift - 1);
	IOPS_ASSERT(p <= INT64_MAX - half);
	return vitsa_floor_shr(p + half, d.shift);
}

void vitsa_requant_s8_ref(int8_t *out, const int32_t *x, size_t n, struct vitsa_dyadic d,
			  int32_t zero)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (int8_t)clamp64(vitsa_requant_ref(x[i], d) + zero, INT8_MIN, INT8_MAX);
}

void vitsa_requant_u8_ref(uint8_t *out, const int32_t *x, size_t n, struct vitsa_dyadic d,
			  int32_t zero)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)clamp64(vitsa_requant_ref(x[i], d) + zero, 0, UINT8_MAX);
}

void vitsa_requant_s16_ref(int16_t *out, const int32_t *x, size_t n, struct vitsa_dyadic d,
			   int32_t zero)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (int16_t)clamp64(vitsa_requant_ref(x[i], d) + zero, INT16_MIN, INT16_MAX);
}

void vitsa_residual_add_ref(int16_t *out, const int16_t *a, const int16_t *b, size_t n,
			    struct vitsa_dyadic da, struct vitsa_dyadic db)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (int16_t)clamp64(vitsa_requant_ref(a[i], da) + vitsa_requant_ref(b[i], db),
					  INT16_MIN, INT16_MAX);
}

void vitsa_residual_add_s32_ref(int16_t *out, const int16_t *a, const int32_t *b, size_t n,
				struct vitsa_dyadic da, struct vitsa_dyadic db)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (int16_t)clamp64(vitsa_requant_ref(a[i], da) + vitsa_requant_ref(b[i], db),
					  INT16_MIN, INT16_MAX);
}

/* The specification of one row's statistics. */
static struct ln_stats ln_stats_ref(const int16_t *x, uint32_t cols)
{
	int64_t sum = 0, mean;
	uint64_t var = 0;
	uint32_t sd;

	for (uint32_t i = 0; i < cols; i++)
		sum += x[i];
	mean = vitsa_floor_div(2 * sum + cols, 2 * (int64_t)cols);
	for (uint32_t i = 0; i < cols; i++) {
		int64_t y = x[i] - mean;

		var += (uint64_t)(y * y);
	}
	sd = vitsa_isqrt64_ref(var);
	return (struct ln_stats){ (int32_t)mean, sd ? (int32_t)(INT32_MAX / sd) : 0 };
}

void vitsa_layernorm_ref(int32_t *out, size_t out_stride, const int16_t *x, size_t x_stride,
			 uint32_t rows, uint32_t cols)
{
	ln_check(rows, cols, out_stride, x_stride);
	for (uint32_t r = 0; r < rows; r++) {
		const int16_t *xr = x + r * x_stride;
		struct ln_stats st = ln_stats_ref(xr, cols);

		for (uint32_t i = 0; i < cols; i++)
			out[r * out_stride + i] =
				(int32_t)vitsa_floor_div(((int64_t)xr[i] - st.mean) * st.factor, 2);
	}
}

void vitsa_layernorm_s8_ref(int8_t *out, size_t out_stride, const int16_t *x, size_t x_stride,
			    uint32_t rows, uint32_t cols, struct vitsa_dyadic d)
{
	ln_check(rows, cols, out_stride, x_stride);
	for (uint32_t r = 0; r < rows; r++) {
		const int16_t *xr = x + r * x_stride;
		struct ln_stats st = ln_stats_ref(xr, cols);

		for (uint32_t i = 0; i < cols; i++) {
			int64_t v = vitsa_floor_div(((int64_t)xr[i] - st.mean) * st.factor, 2);

			out[r * out_stride + i] =
				(int8_t)clamp64(vitsa_requant_ref(v, d), INT8_MIN, INT8_MAX);
		}
	}
}

void vitsa_layernorm_s4_ref(uint8_t *out, size_t out_stride, const int16_t *x, size_t x_stride,
			    uint32_t rows, uint32_t cols, struct vitsa_dyadic d)
{
	ln_check(rows, cols, 2 * out_stride, x_stride);
	for (uint32_t r = 0; r < rows; r++) {
		const int16_t *xr = x + r * x_stride;
		struct ln_stats st = ln_stats_ref(xr, cols);

		for (uint32_t i = 0; i < cols; i++)
			put_4_ref(out + r * out_stride, i, vitsa_requant_ref(
				vitsa_floor_div(((int64_t)xr[i] - st.mean) * st.factor, 2), d), 0, -8);
	}
}

/* S of a row and its maximum in *@m. */
static uint64_t shiftmax_sum_ref(const int8_t *x, uint32_t len, const struct vitsa_shiftmax *p,
				 int32_t *m)
{
	uint64_t sum = 0;

	*m = x[0];
	for (uint32_t i = 1; i < len; i++)
		*m = x[i] > *m ? x[i] : *m;
	for (uint32_t i = 0; i < len; i++)
		sum += vitsa_shift_exp_ref(x[i] - *m, p->x0, p->n, p->k, p->j);
	IOPS_ASSERT(sum >= 1 && sum <= INT32_MAX);
	return sum;
}

/*
 * Bounds: e_i <= E <= (2^31 - 1) / max_len, so S <= len * E <= 2^31 - 1, and S >= E >= 1 (the
 * maximum has d = 0).  e_i * F <= S * F <= 2^31 - 1, plus 2^22 still fits a uint32.
 */
void vitsa_shiftmax_ref(uint8_t *out, size_t out_stride, const int8_t *x, size_t x_stride,
			uint32_t rows, uint32_t len, const struct vitsa_shiftmax *p)
{
	shiftmax_check_args(rows, len, out_stride, x_stride, p);
	for (uint32_t r = 0; r < rows; r++) {
		const int8_t *xr = x + r * x_stride;
		int32_t m;
		uint64_t f = INT32_MAX / shiftmax_sum_ref(xr, len, p, &m);	/* the floor */

		for (uint32_t i = 0; i < len; i++) {
			uint64_t e = vitsa_shift_exp_ref(xr[i] - m, p->x0, p->n, p->k, p->j);
			int64_t v = vitsa_floor_shr((int64_t)(e * f) + (1 << 22),
						    VITSA_SHIFTMAX_SHIFT);

			out[r * out_stride + i] = (uint8_t)clamp64(v, 0, 255);
		}
	}
}

/*
 * Bounds: S as in vitsa_shiftmax_ref, so F = floor(2^46 / S) >= 2^15; e_i * F <= S * F <= 2^46,
 * and the rounding term 2^29 keeps it far inside 64 bits.
 */
void vitsa_shiftmax16_ref(uint8_t *out, size_t out_stride, size_t lo_off, const int8_t *x,
			  size_t x_stride, uint32_t rows, uint32_t len,
			  const struct vitsa_shiftmax *p)
{
	shiftmax16_check_args(rows, len, out_stride, lo_off, x_stride, p);
	for (uint32_t r = 0; r < rows; r++) {
		const int8_t *xr = x + r * x_stride;
		uint8_t *o = out + r * out_stride;
		int32_t m;
		uint64_t f = (1ull << VITSA_SHIFTMAX16_NUM) / shiftmax_sum_ref(xr, len, p, &m);

		for (uint32_t i = 0; i < len; i++) {
			uint64_t e = vitsa_shift_exp_ref(xr[i] - m, p->x0, p->n, p->k, p->j);
			int64_t v = vitsa_floor_shr((int64_t)(e * f) + (1 << 29),
						    VITSA_SHIFTMAX16_SHIFT);

			v = clamp64(v, 0, UINT16_MAX);
			o[i] = (uint8_t)(v >> 8);
			o[lo_off + i] = (uint8_t)(v & 255);
		}
	}
}

void vitsa_join16_s8_ref(int8_t *out, const int32_t *hi, const int32_t *lo, size_t n,
			 struct vitsa_dyadic d)
{
	for (size_t i = 0; i < n; i++) {
		int64_t acc = clamp64((int64_t)hi[i] * 256 + lo[i], INT32_MIN, INT32_MAX);

		out[i] = (int8_t)clamp64(vitsa_requant_ref(acc, d), INT8_MIN, INT8_MAX);
	}
}

void vitsa_gelu_ref(int32_t *out, const int8_t *x, size_t n, const struct vitsa_gelu *p)
{
	for (size_t i = 0; i < n; i++)
		out[i] = x[i] * vitsa_gelu_sigmoid_ref(x[i], p);
}

void vitsa_gelu_s8_ref(int8_t *out, const int8_t *x, size_t n, const struct vitsa_gelu *p,
		       struct vitsa_dyadic d)
{
	for (size_t i = 0; i < n; i++) {
		int32_t v = x[i] * vitsa_gelu_sigmoid_ref(x[i], p);

		out[i] = (int8_t)clamp64(vitsa_requant_ref(v, d), INT8_MIN, INT8_MAX);
	}
}

void vitsa_gelu_u4_ref(uint8_t *out, const int8_t *x, size_t n, const struct vitsa_gelu *p,
		       struct vitsa_dyadic d, int32_t zero)
{
	IOPS_ASSERT(zero >= 0 && zero <= 15);
	for (size_t i = 0; i < n; i++)
		put_4_ref(out, (uint32_t)i, vitsa_requant_ref(x[i] * vitsa_gelu_sigmoid_ref(x[i], p),
							     d), zero, 0);
}

void vitsa_patches_s8_ref(int8_t *out, size_t out_stride, const uint8_t *image,
			  const int8_t *lut, uint32_t chans, uint32_t img, uint32_t patch,
			  uint32_t py0, uint32_t py1)
{
	uint32_t per = img / patch;

	patches_check(out_stride, chans, img, patch, py0, py1);
	for (uint32_t py = py0; py < py1; py++) {
		for (uint32_t px = 0; px < per; px++) {
			int8_t *row = out + (size_t)(py * per + px) * out_stride;

			for (uint32_t c = 0; c < chans; c++)
				for (uint32_t ky = 0; ky < patch; ky++)
					for (uint32_t kx = 0; kx < patch; kx++)
						*row++ = lut[c * 256 + image[((size_t)c * img +
									      py * patch + ky) * img +
									     px * patch + kx]];
		}
	}
}

void vitsa_embed_s16_ref(int16_t *out, size_t out_stride, const int16_t *x, size_t x_stride,
			 const int16_t *pos, size_t pos_stride, uint32_t prefix, uint32_t r0,
			 uint32_t r1, uint32_t cols)
{
	embed_check(prefix, r0, r1, cols, out_stride, x_stride, pos_stride);
	for (uint32_t r = r0; r < r1; r++)
		for (uint32_t c = 0; c < cols; c++)
			out[r * out_stride + c] =
				r < prefix ? pos[r * pos_stride + c]
					   : (int16_t)clamp64((int64_t)x[(r - prefix) * x_stride + c] +
							      pos[r * pos_stride + c], INT16_MIN,
							      INT16_MAX);
}
