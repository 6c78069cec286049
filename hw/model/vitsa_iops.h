/* SPDX-License-Identifier: MIT */
/*
 * vitsa integer operations: everything of the integer ViT graph that is not a GEMM, the one
 * implementation of the vector unit's ops (Documentation/hw/vitsa.rst) that the runtime's CPU
 * path calls too.
 *
 * The input's quantizer and patch split, the token stream, dyadic requantization, I-LayerNorm,
 * Shiftmax, ShiftGELU and the int16 residual stream, after
 * I-ViT (Li & Gu, ICCV 2023).  Floats appear only in the *_params() constructors, which run at
 * compile time (the compiler, vitrt quantize); everything that runs at inference time is integer code.
 *
 * Every kernel has a plain-C _ref twin: the specification, written as obvious loops with floor
 * division and shifts spelled out (vitsa_floor_div, vitsa_floor_shr), never relying on C's
 * truncating division or on >> of a negative number.  The optimized kernel must return the same
 * bits for every input (tests/unit/test_iops.c checks it on random data).
 *
 * Argument order: outputs, inputs, dims, parameters.  Strides count elements.  Preconditions
 * (lengths, parameter ranges) are checked by always-on asserts that abort with a message: they
 * are programming errors, because parameters from a file are checked first with the *_check()
 * functions.  The arithmetic, scales and bounds are derived in Documentation/runtime.rst,
 * "Integer non-linears".
 */
#ifndef VITSA_IOPS_H
#define VITSA_IOPS_H

#include <stddef.h>
#include <stdint.h>


#ifdef __cplusplus
extern "C" {
#endif

/* ---- integer helpers: floor semantics written out ---- */

/* floor(a / b) for b > 0, whatever the sign of a. */
int64_t vitsa_floor_div(int64_t a, int64_t b);
/* floor(a / 2^s) for s <= 62, without >> of a negative number. */
int64_t vitsa_floor_shr(int64_t a, uint32_t s);
/* floor(sqrt(v)), exact for every 64-bit v: bit by bit (the spec) and from a double's root. */
uint32_t vitsa_isqrt64_ref(uint64_t v);
uint32_t vitsa_isqrt64(uint64_t v);

/* ---- dyadic numbers: real = mult * 2^-shift ---- */

#define VITSA_DYADIC_MAX_SHIFT 62	/* as the device (VITSA_RQ_MAX_SHIFT) */

/* Same layout as the device's requant table entry (struct vitsa_hw_rq). */
struct vitsa_dyadic {
	int32_t mult;
	uint32_t shift;		/* 0..VITSA_DYADIC_MAX_SHIFT */
};

/*
 * The dyadic nearest to @ratio (compile time only).  ratio = f * 2^e with f in [0.5, 1);
 * mult = f * 2^31 rounded to nearest (ties away from zero), in [2^30, 2^31), shift = 31 - e;
 * a mantissa that rounds up to 2^31 becomes 2^30 with shift - 1.  Relative error <= 2^-31.
 * Saturation:
 *  - ratio < 2^-32 would need shift > 62: shift = 62, mult = round(ratio * 2^62) (fewer bits,
 *    0 below 2^-63);
 *  - ratio >= 2^31 - 1/2 would need shift < 0: {INT32_MAX, 0};
 *  - ratio <= 0 or NaN: {0, 0} (multiplies by zero); +inf: {INT32_MAX, 0}.
 */
struct vitsa_dyadic vitsa_dyadic_from_ratio(double ratio);
/* mult * 2^-shift, for messages and compile-time checks. */
double vitsa_dyadic_value(struct vitsa_dyadic d);

/*
 * floor((x * mult + 2^(shift-1)) / 2^shift), or x * mult for shift 0: round half up, exactly
 * the device's requantization (Documentation/hw/vitsa.rst, "Arithmetic").  The product and the
 * rounding term are computed in 64 bits, so x * mult + 2^(shift-1) must fit an int64; any
 * |x| <= 2^31 satisfies that for every dyadic (|mult| <= 2^31, shift <= 62).
 */
int64_t vitsa_requant_ref(int64_t x, struct vitsa_dyadic d);

/* The same; relies on GCC's arithmetic >> of negative numbers (checked in vitsa_iops.c). */
static inline int64_t vitsa_requant(int64_t x, struct vitsa_dyadic d)
{
	int64_t p = x * d.mult;

	return d.shift ? (p + ((int64_t)1 << (d.shift - 1))) >> d.shift : p;
}

/*
 * out[i] = clamp(requant(x[i], d) + zero) into the output type, like a device C with REQUANT and
 * c_zero.  out may not overlap x.
 */
void vitsa_requant_s8_ref(int8_t *out, const int32_t *x, size_t n,
				    struct vitsa_dyadic d, int32_t zero);
void vitsa_requant_s8(int8_t *out, const int32_t *x, size_t n, struct vitsa_dyadic d,
				int32_t zero);
void vitsa_requant_u8_ref(uint8_t *out, const int32_t *x, size_t n,
				    struct vitsa_dyadic d, int32_t zero);
void vitsa_requant_u8(uint8_t *out, const int32_t *x, size_t n, struct vitsa_dyadic d,
				int32_t zero);
void vitsa_requant_s16_ref(int16_t *out, const int32_t *x, size_t n,
				     struct vitsa_dyadic d, int32_t zero);
void vitsa_requant_s16(int16_t *out, const int32_t *x, size_t n, struct vitsa_dyadic d,
				 int32_t zero);

/* ---- the int16 residual stream ---- */

/*
 * out[i] = sat16(requant(a[i], da) + requant(b[i], db)): both operands brought to the sum's
 * scale, added in 64 bits (cannot overflow: |requant(s16)| <= 2^46, |requant(s32)| <= 2^62),
 * saturated to int16.  out may be a (in place: x += branch) or b, or disjoint from both.
 */
void vitsa_residual_add_ref(int16_t *out, const int16_t *a, const int16_t *b, size_t n,
				      struct vitsa_dyadic da, struct vitsa_dyadic db);
void vitsa_residual_add(int16_t *out, const int16_t *a, const int16_t *b, size_t n,
				  struct vitsa_dyadic da, struct vitsa_dyadic db);
/* The same with an int32 second operand (a GEMM accumulator). */
void vitsa_residual_add_s32_ref(int16_t *out, const int16_t *a, const int32_t *b,
					  size_t n, struct vitsa_dyadic da,
					  struct vitsa_dyadic db);
void vitsa_residual_add_s32(int16_t *out, const int16_t *a, const int32_t *b, size_t n,
				      struct vitsa_dyadic da, struct vitsa_dyadic db);

/* ---- I-LayerNorm ---- */

#define VITSA_LAYERNORM_MAX_COLS 65536

/*
 * I-LayerNorm without the affine (folded into the next Linear), row by row:
 *   mean = floor((2 * sum + C) / (2 * C))      sum / C rounded half up
 *   y    = x - mean                            |y| <= 65535
 *   var  = sum of y^2                          64 bits (< 2^48)
 *   std  = floor(sqrt(var))                    exact (vitsa_isqrt64)
 *   F    = floor((2^31 - 1) / std)             0 when std = 0 (all x equal: output 0)
 *   out  = floor(y * F / 2)                    |out| <= 2^30
 * out is the normalized value (x - mean) / sigma at scale sqrt(C) / 2^30.  x row r starts at
 * x + r * x_stride, out row r at out + r * out_stride.  1 <= cols <= VITSA_LAYERNORM_MAX_COLS.
 */
void vitsa_layernorm_ref(int32_t *out, size_t out_stride, const int16_t *x,
				   size_t x_stride, uint32_t rows, uint32_t cols);
void vitsa_layernorm(int32_t *out, size_t out_stride, const int16_t *x,
			       size_t x_stride, uint32_t rows, uint32_t cols);
/*
 * The same followed by requantization to s8: out = clamp(requant(ln, d), -128, 127), with
 * d = (sqrt(C) / 2^30) / s_out.
 */
void vitsa_layernorm_s8_ref(int8_t *out, size_t out_stride, const int16_t *x,
				      size_t x_stride, uint32_t rows, uint32_t cols,
				      struct vitsa_dyadic d);
void vitsa_layernorm_s8(int8_t *out, size_t out_stride, const int16_t *x,
				  size_t x_stride, uint32_t rows, uint32_t cols,
				  struct vitsa_dyadic d);
/*
 * The same to s4 (clamped to [-8, 7]) for W4A4, packed as the array reads int4: element 2i in
 * bits [3:0], 2i + 1 in [7:4], an odd row's last high nibble 0; out_stride in bytes.
 */
void vitsa_layernorm_s4_ref(uint8_t *out, size_t out_stride, const int16_t *x,
				      size_t x_stride, uint32_t rows, uint32_t cols,
				      struct vitsa_dyadic d);
void vitsa_layernorm_s4(uint8_t *out, size_t out_stride, const int16_t *x,
				  size_t x_stride, uint32_t rows, uint32_t cols,
				  struct vitsa_dyadic d);

/* ---- I-ViT's shift exponential ---- */

/*
 * e ~ 2^(n - k) * (-x0) * exp(d * s) for d <= 0 (s the scale of d, x0 = the integer for one
 * unit of log2 of d * 2^j, i.e. about -2^j / (s * log2 e)), I-ViT's int_exp_shift on d * 2^j:
 *   t = D + floor(D / 2) - floor(D / 16)       D = d * 2^j; D * 1.4375, about D * log2(e)
 *   t = max(t, n * x0)                         nothing below 2^-n
 *   q = floor(t / x0), r = t - x0 * q          t = q whole units + a fraction r in (x0, 0]
 *   v = floor(r / 2) - x0                      2^(-r/x0) ~ 1 - (r/x0)/2, times -x0
 *   e = floor(v * 2^n / 2^(q + k))             I-ViT's v << (n - q), then our pre-shift k
 * j = 0 is I-ViT's; j > 0 gives the slope 2^j times finer steps (x0 need not be small), and
 * from j = 4 on t is D * 1.4375 exactly.  Requires x0 < 0 and the ranges the *_check()
 * functions enforce.
 */
#define VITSA_EXP_MAX_J	24
uint32_t vitsa_shift_exp_ref(int32_t d, int32_t x0, uint32_t n, uint32_t k,
				       uint32_t j);

/* ---- Shiftmax ---- */

#define VITSA_SHIFTMAX_N	16	/* exponent clamp 2^-16: TVM's choice (PyTorch: 15) */
#define VITSA_SHIFTMAX_MAX_LEN	4096
#define VITSA_SHIFTMAX_EXP_MAX	(1u << 22)	/* bound on the largest exp, see below */
#define VITSA_SHIFTMAX_SHIFT	23	/* out = e * F >> 23: scale 2^31 / 2^23 = 256 per 1.0 */

/* The compiled form; five int32 words in a program step. */
struct vitsa_shiftmax {
	int32_t x0;		/* < 0 */
	uint32_t n;		/* 1..30 */
	uint32_t k;		/* pre-shift of every exp */
	uint32_t max_len;	/* longest row, 1..VITSA_SHIFTMAX_MAX_LEN */
	uint32_t j;		/* d scaled by 2^j, 0..VITSA_EXP_MAX_J */
};

/*
 * Parameters for s8 logits of scale @s and rows of at most @max_len elements (compile time):
 * j the smallest with a * 2^j >= 2^10 and j >= 4 (a = 1.4375 / (s * log2 e), the steps of d
 * in one halving), as long as a * 2^j <= 2^20; x0 = -round(a * 2^j) (at least 1 in
 * magnitude), a slope within 0.05% of log2 e for all but the tiniest scales; n =
 * VITSA_SHIFTMAX_N, k the smallest shift with E = floor(-x0 * 2^n / 2^k) <= min(2^22,
 * (2^31 - 1) / max_len).  -1 if s is not a positive finite number, -x0 would exceed
 * 2^20 (s < ~1.4e-6) or max_len is out of range.
 */
int vitsa_shiftmax_params(struct vitsa_shiftmax *p, double s, uint32_t max_len);
/* 0 if @p satisfies every bound the kernels rely on (parameters read from a file), else -1. */
int vitsa_shiftmax_check(const struct vitsa_shiftmax *p);

/*
 * Row-wise softmax of s8 logits to u8 probabilities at scale 2^-8:
 *   e_i = shift_exp(x_i - max(x))              e_max = E
 *   S   = sum of e_i                           <= len * E <= 2^31 - 1
 *   F   = floor((2^31 - 1) / S)
 *   out = min(255, floor((e_i * F + 2^22) / 2^23))   rounded half up
 * 1 <= len <= p->max_len.  The optimized kernel looks the exponential up in a 256-entry table
 * that each thread keeps for the last parameters it saw.
 */
void vitsa_shiftmax_ref(uint8_t *out, size_t out_stride, const int8_t *x,
				  size_t x_stride, uint32_t rows, uint32_t len,
				  const struct vitsa_shiftmax *p);
void vitsa_shiftmax(uint8_t *out, size_t out_stride, const int8_t *x, size_t x_stride,
			      uint32_t rows, uint32_t len, const struct vitsa_shiftmax *p);

/* ---- Shiftmax for long rows: 16-bit probabilities in two u8 parts ---- */

/*
 * A u8 probability at 2^-8 cannot hold rows longer than 256: a near-uniform row has every
 * probability below one step.  This form keeps 16 bits, P = round(2^16 e_i / S), and writes
 * them as two u8 parts a GEMM reads with a stride: hi = P >> 8 at out[i], lo = P & 255 at
 * out[lo_off + i], so P V = 256 (hi V) + (lo V) with two u8 x s8 GEMMs.
 */
#define VITSA_SHIFTMAX16_NUM	46	/* F = floor(2^46 / S): >= 2^15, S <= 2^31 - 1 */
#define VITSA_SHIFTMAX16_SHIFT	30	/* P = e F >> 30: scale 2^46 / 2^30, 2^16 per 1.0 */

/*
 * Row-wise softmax of s8 logits to P at scale 2^-16, parameters as vitsa_shiftmax:
 *   e_i = shift_exp(x_i - max(x)),  S = sum of e_i     as vitsa_shiftmax
 *   F   = floor(2^46 / S)                              2^15 < F <= 2^46
 *   P_i = min(65535, floor((e_i * F + 2^29) / 2^30))   rounded half up, 64-bit product
 *   out[r][i] = P_i >> 8,  out[r][lo_off + i] = P_i & 255
 * The floor of F costs e_i / 2^30 <= 2^-8 of a step (e_i <= 2^22), so P_i is the exact
 * ratio rounded, ties aside; the row sums to 2^16 within len / 2 + 2.  1 <= len <= max_len,
 * lo_off >= len, rows more than one: out_stride >= lo_off + len.
 */
void vitsa_shiftmax16_ref(uint8_t *out, size_t out_stride, size_t lo_off,
				    const int8_t *x, size_t x_stride, uint32_t rows, uint32_t len,
				    const struct vitsa_shiftmax *p);
void vitsa_shiftmax16(uint8_t *out, size_t out_stride, size_t lo_off, const int8_t *x,
				size_t x_stride, uint32_t rows, uint32_t len,
				const struct vitsa_shiftmax *p);

/*
 * The two parts' GEMM accumulators joined and requantized to s8:
 *   out[i] = clamp(requant(sat32(hi[i] * 256 + lo[i]), d), -128, 127)
 * The sum is formed in 64 bits and saturated to int32 so that any input is defined; the
 * accumulators of one Shiftmax16 row never come near it (runtime.rst: |acc| < 2^24).
 */
void vitsa_join16_s8_ref(int8_t *out, const int32_t *hi, const int32_t *lo, size_t n,
				   struct vitsa_dyadic d);
void vitsa_join16_s8(int8_t *out, const int32_t *hi, const int32_t *lo, size_t n,
			       struct vitsa_dyadic d);

/* ---- ShiftGELU ---- */

#define VITSA_GELU_N		23	/* exponent clamp 2^-23, as I-ViT */
#define VITSA_GELU_EXP_MAX	(1u << 16)
#define VITSA_GELU_SIG_BITS	14	/* sigmoid_int scale 2^-14 */

/* The compiled form; four int32 words in a program step. */
struct vitsa_gelu {
	int32_t x0;		/* < 0, for the scale s * 1.702 */
	uint32_t n;		/* 1..30 */
	uint32_t k;
	uint32_t j;		/* as in vitsa_shiftmax */
};

/*
 * Parameters for s8 input of scale @s (compile time): j and x0 as vitsa_shiftmax_params
 * chooses them for the scale 1.702 s, n = VITSA_GELU_N, k the smallest shift with
 * E = floor(-x0 * 2^n / 2^k) <= VITSA_GELU_EXP_MAX.  -1 like vitsa_shiftmax_params.
 */
int vitsa_gelu_params(struct vitsa_gelu *p, double s);
int vitsa_gelu_check(const struct vitsa_gelu *p);

/*
 * sigmoid(1.702 x s) at scale 2^-14, element by element with m = max(x, 0):
 *   E = shift_exp(0), e = shift_exp(-|x|)      exp(x - m) and exp(-m): one of them is E
 *   F = floor((2^31 - 1) / (E + e))
 *   g = floor((e * F + 2^16) / 2^17)           sigmoid(-|x|), rounded half up
 *   sigmoid = x < 0 ? g : 2^14 - g             exactly symmetric
 */
int32_t vitsa_gelu_sigmoid_ref(int32_t x, const struct vitsa_gelu *p);

/* out[i] = x[i] * sigmoid(x[i]): GELU(x * s) at scale s * 2^-14, |out| <= 2^21. */
void vitsa_gelu_ref(int32_t *out, const int8_t *x, size_t n,
			      const struct vitsa_gelu *p);
void vitsa_gelu(int32_t *out, const int8_t *x, size_t n, const struct vitsa_gelu *p);
/*
 * The same requantized to s8: d = (s * 2^-14) / s_out; out may be x.  The optimized kernels are
 * lookups in 256-entry tables that each thread keeps for the last parameters it saw.
 */
void vitsa_gelu_s8_ref(int8_t *out, const int8_t *x, size_t n,
				 const struct vitsa_gelu *p, struct vitsa_dyadic d);
void vitsa_gelu_s8(int8_t *out, const int8_t *x, size_t n, const struct vitsa_gelu *p,
			     struct vitsa_dyadic d);
/*
 * The same plus @zero (0..15) to packed u4 for W4A4: out = clamp(requant(v, d) + zero, 0, 15),
 * packed as vitsa_layernorm_s4.  GELU is never below -0.17 x: an unsigned grid with a small
 * zero point spends the 16 steps where the values are.  out must not overlap x.
 */
void vitsa_gelu_u4_ref(uint8_t *out, const int8_t *x, size_t n,
				 const struct vitsa_gelu *p, struct vitsa_dyadic d, int32_t zero);
void vitsa_gelu_u4(uint8_t *out, const int8_t *x, size_t n, const struct vitsa_gelu *p,
			     struct vitsa_dyadic d, int32_t zero);

/* ---- the input: image to patch rows, patch embeddings to the token stream ---- */

#define VITSA_PATCHES_MAX_IMG	4096

/*
 * The input quantizer and the patch split in one: image is u8 [chans][img][img], lut s8
 * [chans][256] (each channel's quantization of every pixel value), out has one row per patch,
 * (img / patch)^2 rows of chans * patch * patch, each [c][ky][kx]:
 *   out[py * (img / patch) + px][c][ky][kx] = lut[c][image[c][py * patch + ky][px * patch + kx]]
 * for the rows of patches py0 <= py < py1 (a thread's share).  out rows are out_stride bytes
 * apart, out_stride >= chans * patch * patch; img % patch == 0, img <= VITSA_PATCHES_MAX_IMG.
 */
void vitsa_patches_s8_ref(int8_t *out, size_t out_stride, const uint8_t *image,
				    const int8_t *lut, uint32_t chans, uint32_t img,
				    uint32_t patch, uint32_t py0, uint32_t py1);
void vitsa_patches_s8(int8_t *out, size_t out_stride, const uint8_t *image,
				const int8_t *lut, uint32_t chans, uint32_t img, uint32_t patch,
				uint32_t py0, uint32_t py1);

/*
 * The token stream: the first @prefix rows are the class (and distillation) tokens, pos rows
 * holding each plus its position; row r >= prefix the patch embedding x row r - prefix plus
 * position r, saturated to int16:
 *   out[r] = pos[r] (r < prefix),  out[r][c] = sat16(x[r - prefix][c] + pos[r][c])
 * for rows r0 <= r < r1 of out (x is not read when r1 <= prefix).  Strides count elements;
 * out shares no element with x or pos.
 */
#define VITSA_EMBED_MAX_PREFIX	2	/* class and distillation tokens */

/*
 * Average pooling of the token stream: out[c] = the mean of the @rows (1..VITSA_MEAN_MAX_ROWS)
 * rows' column c, rounded half up: floor((2 sum + rows) / (2 rows)).  @stride counts elements.
 */
#define VITSA_MEAN_MAX_ROWS	65535u	/* the optimized twin's int32 sums cannot overflow */
void vitsa_mean_s16_ref(int16_t *out, const int16_t *x, size_t stride, uint32_t rows,
				  uint32_t cols);
void vitsa_mean_s16(int16_t *out, const int16_t *x, size_t stride, uint32_t rows,
			      uint32_t cols);
void vitsa_embed_s16_ref(int16_t *out, size_t out_stride, const int16_t *x,
				   size_t x_stride, const int16_t *pos, size_t pos_stride,
				   uint32_t prefix, uint32_t r0, uint32_t r1, uint32_t cols);
void vitsa_embed_s16(int16_t *out, size_t out_stride, const int16_t *x,
			       size_t x_stride, const int16_t *pos, size_t pos_stride,
			       uint32_t prefix, uint32_t r0, uint32_t r1, uint32_t cols);

#ifdef __cplusplus
}
#endif

#endif /* VITSA_IOPS_H */
