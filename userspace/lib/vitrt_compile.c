// SPDX-License-Identifier: MIT
/*
 * Lowering a folded floating-point ViT to the integer program (Documentation/runtime.rst).
 *
 * Weights are quantized symmetrically per output channel; every Linear and MatMul runs on the
 * array with the dequantization moved behind it: the int32 accumulator (scale s_x * s_w[n])
 * goes through the device's per-channel requantization straight to the next tensor's scale.
 * This file is the only place where scales (floats) become integers.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vitrt_calib.h"
#include "vitrt_compile.h"
#include "vitrt_ops.h"

static const struct vitrt_pref NO_TENSOR;	/* an op's unused in1 */

struct builder {
	const struct vitrt_vit *m;
	const struct vitrt_scales *sc;
	const struct vitrt_compile_opts *o;
	uint8_t *konst;
	uint64_t konst_len, konst_cap, act_len;
	struct vitrt_step *steps;
	uint32_t nsteps, steps_cap;
	struct vitrt_pgemm *gemms;
	uint32_t ngemms, gemms_cap;
	int err;
	uint32_t T, C, H, D, M, P, K0;	/* tokens, dim, heads, head dim, mlp, patches, patch len */
	uint32_t TP;			/* bytes per row of the attention logits and probabilities */
	uint32_t wtype;			/* VITRT_S8 or VITRT_S4 */
	uint32_t atype;			/* the blocks' Linear inputs: VITRT_S8, VITRT_S4 for W4A4 */
	/*
	 * Activation tensors, reused by every block; nrm_a, attn and g are Linear inputs of
	 * atype (nrm_a is nrm's memory, whose s8 rows the head reads).
	 */
	struct vitrt_pref image, patches, x, nrm, nrm_a, qkv, s, pr, attn, y, hb, g, logits;
	/* probabilities in two parts (sc->probs 2^-16): see plan_probs16 */
	bool two;
	uint32_t LP;			/* bytes of each part in a row: [hi: LP | lo: LP] */
	uint32_t hpg, ngroups;		/* heads per probability tensor, tensors */
	struct vitrt_pref *prg;		/* [ngroups] */
	struct vitrt_pref acc_hi, acc_lo;	/* s32 [T][C]: hi V and lo V of every head */
};

/* Next offset >= @at, aligned, such that [off, off + len) stays inside one chunk. */
static uint64_t place(uint64_t at, uint64_t len)
{
	uint64_t off = (at + VITRT_ARENA_ALIGN - 1) & ~(uint64_t)(VITRT_ARENA_ALIGN - 1);

	if (off / VITRT_ARENA_CHUNK != (off + len - 1) / VITRT_ARENA_CHUNK)
		off = (off / VITRT_ARENA_CHUNK + 1) * VITRT_ARENA_CHUNK;
	return off;
}

static struct vitrt_pref act(struct builder *b, uint64_t rows, uint64_t row_bytes)
{
	uint64_t off = place(b->act_len, rows * row_bytes);

	b->act_len = off + rows * row_bytes;
	return (struct vitrt_pref){ .arena = VITRT_ARENA_ACT, .offset = off, .stride = row_bytes };
}

/* Room for @len constant bytes; NULL (and b->err) when out of memory or over a chunk. */
static uint8_t *konst(struct builder *b, uint64_t len, uint64_t row_bytes, struct vitrt_pref *r)
{
	uint64_t off = place(b->konst_len, len);

	if (b->err || len > VITRT_ARENA_CHUNK) {
		b->err = b->err ?: VITRT_EUNSUPPORTED;
		return NULL;
	}
	if (off + len > b->konst_cap) {
		uint64_t cap = b->konst_cap ? b->konst_cap : 1 << 20;
		uint8_t *np;

		while (cap < off + len)
			cap *= 2;
		np = realloc(b->konst, cap);
		if (!np) {
			b->err = VITRT_ENOMEM;
			return NULL;
		}
		b->konst = np;
		b->konst_cap = cap;
	}
	memset(b->konst + b->konst_len, 0, off + len - b->konst_len);
	b->konst_len = off + len;
	*r = (struct vitrt_pref){ .arena = VITRT_ARENA_CONST, .offset = off, .stride = row_bytes };
	return b->konst + off;
}

/* Room for one more element in a growing array of @n; false (and b->err) when out of memory. */
static bool grow(struct builder *b, void **arr, uint32_t n, uint32_t *cap, size_t elem)
{
	uint32_t ncap = *cap ? 2 * *cap : 64;
	void *np;

	if (n < *cap)
		return true;
	np = realloc(*arr, ncap * elem);
	if (!np) {
		b->err = VITRT_ENOMEM;
		return false;
	}
	*arr = np;
	*cap = ncap;
	return true;
}

static void step(struct builder *b, struct vitrt_step s)
{
	if (grow(b, (void **)&b->steps, b->nsteps, &b->steps_cap, sizeof(s)))
		b->steps[b->nsteps++] = s;
}

static void gemm(struct builder *b, struct vitrt_pgemm g)
{
	if (!grow(b, (void **)&b->gemms, b->ngemms, &b->gemms_cap, sizeof(g)))
		return;
	step(b, (struct vitrt_step){ .op = VITRT_OP_GEMM, .index = b->ngemms });
	b->gemms[b->ngemms++] = g;
}

static void sync(struct builder *b)
{
	step(b, (struct vitrt_step){ .op = VITRT_OP_SYNC });
}

/* A column block of a tensor: same rows and stride, @bytes further in. */
static struct vitrt_pref at(struct vitrt_pref r, uint64_t bytes)
{
	r.offset += bytes;
	return r;
}

/* ---- quantization helpers ---- */

static int32_t clamp_round(double v, double lo, double hi)
{
	double r = nearbyint(v);

	return (int32_t)(r < lo ? lo : r > hi ? hi : r);
}

/* The device's requant entry for the real ratio @r (> 0). */
static void rq_entry(uint8_t *dst, double r)
{
	struct vitsa_dyadic d = vitsa_dyadic_from_ratio(r);

	memcpy(dst, &d.mult, 4);
	memcpy(dst + 4, &d.shift, 4);
}

/* Per-channel weight scale: max |w| mapped to qmax; for 4-bit, the clip with least error. */
double vitrt_weight_scale(const float *w, uint32_t k, int qmax)
{
	double amax = 0, best = 0, best_err = INFINITY;

	for (uint32_t i = 0; i < k; i++)
		amax = fmax(amax, fabs(w[i]));
	if (amax == 0)
		return 1.0;
	if (qmax > 7)
		return amax / qmax;
	for (int step = 0; step <= 40; step++) {
		double s = amax * (1.0 - step * 0.0125) / qmax, e = 0;

		for (uint32_t i = 0; i < k; i++) {
			double q = clamp_round(w[i] / s, -qmax - 1, qmax) * s - w[i];

			e += q * q;
		}
		if (e < best_err) {
			best_err = e;
			best = s;
		}
	}
	return best;
}

/*
 * A Linear y = x W^T + bias (W [n][k]) as constants for a GEMM with B = W stored N x K: the
 * quantized weights, the int32 bias at scale s_x * s_w, and the requant entries that map the
 * accumulator of column j to scale s_y[j].  An input with zero point @x_zero (x = (a - z) s_x)
 * costs nothing on the array: sum_i w_i (a_i - z) = sum_i w_i a_i - z sum_i w_i, and the last
 * term goes into the bias.
 */
static void linear_zero(struct builder *b, struct vitrt_pgemm *g, const float *w,
			const float *bias, uint32_t n, uint32_t k, double s_x, int32_t x_zero,
			const float *s_y)
{
	int qmax = b->wtype == VITRT_S4 ? 7 : 127;
	uint64_t rb = vitrt_row_bytes(b->wtype, k);
	uint8_t *wq = konst(b, n * rb, rb, &g->b);
	uint8_t *bq, *rq;

	if (!wq)
		return;
	bq = konst(b, 4ull * n, 0, &g->bias);
	rq = bq ? konst(b, 8ull * n, 0, &g->rq) : NULL;
	wq = b->konst + g->b.offset;	/* konst() may have moved the arena */
	bq = b->konst + g->bias.offset;
	if (!rq)
		return;
	for (uint32_t j = 0; j < n; j++) {
		double s_w = vitrt_weight_scale(w + (size_t)j * k, k, qmax);
		int64_t wsum = 0;
		int32_t bv;

		for (uint32_t i = 0; i < k; i++) {
			int32_t q = clamp_round(w[(size_t)j * k + i] / s_w, -qmax - 1, qmax);

			if (b->wtype == VITRT_S4)
				wq[j * rb + i / 2] |= (uint8_t)((q & 0xf) << (4 * (i % 2)));
			else
				wq[j * rb + i] = (uint8_t)q;
			wsum += q;
		}
		bv = clamp_round(bias[j] / (s_x * s_w) - (double)x_zero * wsum, INT32_MIN,
				 INT32_MAX);
		memcpy(bq + 4 * j, &bv, 4);
		rq_entry(rq + 8 * j, s_x * s_w / s_y[j]);
	}
	g->k = k;
	g->n = n;
	g->b_type = b->wtype;
	g->flags = VITRT_GEMM_B_TRANS | VITRT_GEMM_BIAS | VITRT_GEMM_REQUANT;
}

static void linear(struct builder *b, struct vitrt_pgemm *g, const float *w, const float *bias,
		   uint32_t n, uint32_t k, double s_x, const float *s_y)
{
	linear_zero(b, g, w, bias, n, k, s_x, 0, s_y);
}

/* A requant table of @n equal entries (MatMuls: one scale for the whole output). */
static struct vitrt_pref uniform_rq(struct builder *b, uint32_t n, double r)
{
	struct vitrt_pref ref = { 0 };
	uint8_t *p = konst(b, 8ull * n, 0, &ref);

	for (uint32_t j = 0; p && j < n; j++)
		rq_entry(p + 8 * j, r);
	return ref;
}

static float *fill(uint32_t n, float v)
{
	float *a = malloc(n * sizeof(*a));

	for (uint32_t i = 0; a && i < n; i++)
		a[i] = v;
	return a;
}

/* A CPU step of @op, its parameters packed into words by the op's traits (vitrt_ops.c). */
static void cpu_step(struct builder *b, uint32_t op, uint32_t rows, uint32_t cols,
		     struct vitrt_pref in0, struct vitrt_pref in1, struct vitrt_pref out,
		     const union vitsa_vec_params *u)
{
	step(b, vitrt_op_step(op, rows, cols, in0, in1, out, u));
}

/*
 * Softmax of s8 logits at scale @s over rows of @len: SHIFTMAX, or SHIFTMAX16 with the low
 * parts @lo bytes into each row (its Shiftmax parameters lie where SHIFTMAX's do).
 */
static void shiftmax(struct builder *b, uint32_t op, struct vitrt_pref in, struct vitrt_pref out,
		     uint32_t rows, uint32_t len, double s, uint32_t lo)
{
	union vitsa_vec_params u;

	if (vitsa_shiftmax_params(&u.shiftmax16.sm, s, len)) {
		b->err = b->err ?: VITRT_EINVAL;
		return;
	}
	u.shiftmax16.lo = lo;
	cpu_step(b, op, rows, len, in, NO_TENSOR, out, &u);
}

/*
 * ShiftGELU of s8 input at @s_in, its output (scale s_in * 2^-14) requantized to @s_out: s8,
 * or u4 with zero point @zero under 4-bit activations.
 */
static void gelu(struct builder *b, struct vitrt_pref in, struct vitrt_pref out, uint32_t rows,
		 uint32_t cols, double s_in, double s_out, int32_t zero)
{
	union vitsa_vec_params u = { 0 };

	if (vitsa_gelu_params(&u.gelu.gelu, s_in)) {
		b->err = b->err ?: VITRT_EINVAL;
		return;
	}
	u.gelu.out = vitsa_dyadic_from_ratio(s_in / (1u << VITSA_GELU_SIG_BITS) / s_out);
	u.gelu.zero = zero;
	cpu_step(b, b->atype == VITRT_S4 ? VITRT_OP_GELU_U4 : VITRT_OP_GELU, rows, cols, in,
		 NO_TENSOR, out, &u);
}

/* ---- the graph ---- */

static void lower_input(struct builder *b)
{
	const struct vitrt_vit_config *c = &b->m->cfg;
	struct vitrt_pref lut_ref, cls_ref;
	int8_t *lut = (int8_t *)konst(b, c->chans * 256ull, 0, &lut_ref);
	int16_t *cp;

	for (uint32_t ch = 0; lut && ch < c->chans; ch++)
		for (uint32_t v = 0; v < 256; v++)
			lut[ch * 256 + v] = (int8_t)clamp_round(((v / 255.0 - c->mean[ch]) / c->std[ch]) /
								b->sc->input, -128, 127);
	/* rows and cols 0: the geometry says it all */
	cpu_step(b, VITRT_OP_INPUT, 0, 0, b->image, lut_ref, b->patches,
		 &(union vitsa_vec_params){ .input = { c->chans, c->img, c->patch } });

	/* patch embedding straight to the stream's scale, then class token and positions */
	float *sy = fill(b->C, b->sc->embed);
	struct vitrt_pgemm g = { .m = b->P, .a_type = VITRT_S8, .c_type = VITRT_S16,
				 .a = b->patches, .c = b->y };

	if (!sy) {
		b->err = VITRT_ENOMEM;
		return;
	}
	linear(b, &g, b->m->patch_w, b->m->patch_b, b->C, b->K0, b->sc->input, sy);
	free(sy);
	gemm(b, g);
	sync(b);
	cp = (int16_t *)konst(b, 2ull * b->T * b->C, 2ull * b->C, &cls_ref);
	for (uint32_t t = 0; cp && t < b->T; t++) {
		const float *tok = t == 0 ? b->m->cls_token : t == 1 && c->prefix == 2 ?
				   b->m->dist_token : NULL;

		for (uint32_t j = 0; j < b->C; j++)
			cp[t * b->C + j] = (int16_t)clamp_round(
				(b->m->pos_embed[t * b->C + j] + (tok ? tok[j] : 0)) / b->sc->embed,
				INT16_MIN, INT16_MAX);
	}
	cpu_step(b, VITRT_OP_EMBED, b->T, b->C, b->y, cls_ref, b->x,
		 &(union vitsa_vec_params){ .embed = { c->prefix } });
}

/*
 * I-LayerNorm of @rows rows of @in (s16, any scale) at @s_out: into b->nrm_a for a block's
 * Linear layers, into b->nrm (s8) for the head.
 */
static void layernorm_of(struct builder *b, struct vitrt_pref in, uint32_t rows, double s_out,
			 bool head)
{
	/* I-LayerNorm's output has scale sqrt(C) / 2^30 */
	union vitsa_vec_params u = { .layernorm.out = vitsa_dyadic_from_ratio(
		sqrt((double)b->C) / (1u << 30) / s_out) };
	bool s4 = !head && b->atype == VITRT_S4;

	cpu_step(b, s4 ? VITRT_OP_LAYERNORM_S4 : VITRT_OP_LAYERNORM, rows, b->C, in, NO_TENSOR,
		 head ? b->nrm : b->nrm_a, &u);
}

static void layernorm(struct builder *b, uint32_t rows, double s_out)
{
	layernorm_of(b, b->x, rows, s_out, false);
}

/* x = requant(x, s_x -> s_sum) + y, where y already has scale s_sum. */
static void residual(struct builder *b, double s_x, double s_sum)
{
	union vitsa_vec_params u = { .add = { .a = vitsa_dyadic_from_ratio(s_x / s_sum),
					     .b = vitsa_dyadic_from_ratio(1.0) } };

	cpu_step(b, VITRT_OP_ADD, b->T, b->C, b->x, b->y, b->x, &u);
}

/* Shiftmax to u8 probabilities (scale 2^-8), times V_h into the heads' columns of attn. */
static void probs_v8(struct builder *b, const struct vitrt_layer_scales *ls)
{
	uint32_t T = b->T, C = b->C, D = b->D;

	shiftmax(b, VITRT_OP_SHIFTMAX, b->s, b->pr, b->H * T, T, ls->logits, 0);
	struct vitrt_pref rq_o = uniform_rq(b, D, ls->v / 256.0 / ls->attn);
	for (uint32_t h = 0; h < b->H; h++)
		gemm(b, (struct vitrt_pgemm){
			.m = T, .n = D, .k = T, .a_type = VITRT_U8, .b_type = VITRT_S8,
			.c_type = b->atype, .flags = VITRT_GEMM_REQUANT,
			.a = at(b->pr, (uint64_t)h * T * b->TP), .b = at(b->qkv, 2 * C + h * D),
			.c = at(b->attn, vitrt_row_bytes(b->atype, h * D)), .rq = rq_o });
}

/* Part @part (0 hi, 1 lo) of head @h's probabilities: T rows of T bytes, 2 LP apart. */
static struct vitrt_pref part16(const struct builder *b, uint32_t h, uint32_t part)
{
	return at(b->prg[h / b->hpg], ((uint64_t)(h % b->hpg) * b->T * 2 + part) * b->LP);
}

/*
 * Long rows: Shiftmax to P at 2^-16 as two u8 parts, one step per probability tensor; per head
 * hi V and lo V into int32 (no requantization), then JOIN16 takes 256 hi + lo = P V (scale
 * 2^-16 s_v) to attn's scale.  Nothing overflows int32: a row has sum P_i <= 2^16 + T/2
 * (vitsa_shiftmax16), so sum hi_i <= sum P_i / 256 <= 256 + T/512 (264 at T = 4096) and
 * |hi V| <= 264 * 128 < 2^16; lo_i <= 255, so |lo V| <= 255 * 128 * T < 2^27; and the join
 * 256 hi V + lo V is exactly P V, |P V| <= 128 (2^16 + T/2) < 2^24.
 */
static void probs_v16(struct builder *b, const struct vitrt_layer_scales *ls)
{
	uint32_t T = b->T, C = b->C, D = b->D;
	union vitsa_vec_params u = { .join16.out = vitsa_dyadic_from_ratio(
		ls->v / 65536.0 / ls->attn) };

	for (uint32_t g = 0; g < b->ngroups; g++) {
		uint32_t h0 = g * b->hpg, nh = b->H - h0 < b->hpg ? b->H - h0 : b->hpg;

		shiftmax(b, VITRT_OP_SHIFTMAX16, at(b->s, (uint64_t)h0 * T * b->TP), b->prg[g],
			 nh * T, T, ls->logits, b->LP);
	}
	for (uint32_t h = 0; h < b->H; h++)
		for (uint32_t part = 0; part < 2; part++)
			gemm(b, (struct vitrt_pgemm){
				.m = T, .n = D, .k = T, .a_type = VITRT_U8, .b_type = VITRT_S8,
				.c_type = VITRT_S32, .a = part16(b, h, part),
				.b = at(b->qkv, 2 * C + h * D),
				.c = at(part ? b->acc_lo : b->acc_hi, 4ull * h * D) });
	sync(b);
	cpu_step(b, VITRT_OP_JOIN16, T, C, b->acc_hi, b->acc_lo, b->attn, &u);
}

static void lower_attention(struct builder *b, const struct vitrt_vit_block *w,
			    const struct vitrt_layer_scales *ls)
{
	uint32_t T = b->T, C = b->C, D = b->D;
	float *sy = malloc(3 * C * sizeof(*sy));
	struct vitrt_pgemm g = { .m = T, .a_type = b->atype, .c_type = VITRT_S8,
				 .a = b->nrm_a, .c = b->qkv };

	if (!sy) {
		b->err = VITRT_ENOMEM;
		return;
	}
	for (uint32_t j = 0; j < 3 * C; j++)
		sy[j] = j < C ? ls->q : j < 2 * C ? ls->k : ls->v;
	linear(b, &g, w->qkv_w, w->qkv_b, 3 * C, C, ls->norm1, sy);
	free(sy);
	gemm(b, g);
	/* logits of head h: Q_h K_h^T, 1/sqrt(D) folded into the requantization */
	struct vitrt_pref rq_s = uniform_rq(b, T, ls->q * ls->k / sqrt((double)D) / ls->logits);
	for (uint32_t h = 0; h < b->H; h++)
		gemm(b, (struct vitrt_pgemm){
			.m = T, .n = T, .k = D, .a_type = VITRT_S8, .b_type = VITRT_S8,
			.c_type = VITRT_S8, .flags = VITRT_GEMM_B_TRANS | VITRT_GEMM_REQUANT,
			.a = at(b->qkv, h * D), .b = at(b->qkv, C + h * D),
			.c = at(b->s, (uint64_t)h * T * b->TP), .rq = rq_s });
	sync(b);
	if (b->two)
		probs_v16(b, ls);
	else
		probs_v8(b, ls);
	sy = fill(C, ls->res1);
	g = (struct vitrt_pgemm){ .m = T, .a_type = b->atype, .c_type = VITRT_S16, .a = b->attn,
				  .c = b->y };
	if (!sy) {
		b->err = VITRT_ENOMEM;
		return;
	}
	linear(b, &g, w->proj_w, w->proj_b, C, C, ls->attn, sy);
	free(sy);
	gemm(b, g);
	sync(b);
}

static void lower_mlp(struct builder *b, const struct vitrt_vit_block *w,
		      const struct vitrt_layer_scales *ls)
{
	uint32_t T = b->T, C = b->C, M = b->M;
	float *s1 = fill(M, ls->fc1), *s2 = fill(C, ls->res2);
	struct vitrt_pgemm g1 = { .m = T, .a_type = b->atype, .c_type = VITRT_S8, .a = b->nrm_a,
				  .c = b->hb };
	bool a4 = b->atype == VITRT_S4;
	int32_t zero = a4 ? ls->gelu_zero : 0;
	struct vitrt_pgemm g2 = { .m = T, .a_type = a4 ? VITRT_U4 : VITRT_S8,
				  .c_type = VITRT_S16, .a = b->g, .c = b->y };

	if (!s1 || !s2) {
		free(s1);
		free(s2);
		b->err = VITRT_ENOMEM;
		return;
	}
	linear(b, &g1, w->fc1_w, w->fc1_b, M, C, ls->norm2, s1);
	gemm(b, g1);
	sync(b);
	gelu(b, b->hb, b->g, T, M, ls->fc1, ls->gelu, zero);
	linear_zero(b, &g2, w->fc2_w, w->fc2_b, C, M, ls->gelu, zero, s2);
	gemm(b, g2);
	sync(b);
	free(s1);
	free(s2);
}

/* The patch tokens' rows of the stream (past the prefix tokens). */
static struct vitrt_pref patch_rows(struct builder *b)
{
	return at(b->x, 2ull * b->m->cfg.prefix * b->C);
}

/*
 * LN of every patch token, then their mean (timm's avg pooling without fc_norm): the mean of
 * the s8 norms as a GEMM, ones[1 x R] * nrm[R x C], requantized by 1/R into attn's first row
 * at the norms' own scale (a mean never leaves their range).
 */
static void mean_of_norms(struct builder *b)
{
	uint32_t R = b->T - b->m->cfg.prefix;
	struct vitrt_pref ones_ref;
	uint8_t *ones = konst(b, R, R, &ones_ref);

	if (!ones)
		return;
	memset(ones, 1, R);
	gemm(b, (struct vitrt_pgemm){
		.m = 1, .n = b->C, .k = R, .a_type = VITRT_U8, .b_type = VITRT_S8,
		.c_type = VITRT_S8, .flags = VITRT_GEMM_REQUANT, .a = ones_ref, .b = b->nrm,
		.c = b->attn, .rq = uniform_rq(b, b->C, 1.0 / R) });
}

/*
 * The head on the class token; a distilled model's two heads, averaged, as one GEMM over the
 * class and distillation tokens' norms side by side (one row of 2C: they are adjacent rows):
 * (W x_cls + b + W_d x_dist + b_d) / 2 = [W/2 | W_d/2] [x_cls; x_dist] + (b + b_d) / 2.
 */
static void lower_head(struct builder *b, double s_x)
{
	const struct vitrt_vit *m = b->m;
	uint32_t N = m->cfg.classes, rows = m->head_dist_w ? 2 : 1, K = rows * b->C;
	float *sy = fill(N, b->sc->logits), *w = NULL, *bias = NULL;
	struct vitrt_pgemm g = { .m = 1, .a_type = VITRT_S8, .c_type = VITRT_S16,
				 .a = b->nrm, .c = b->logits };

	(void)s_x;
	if (rows == 2) {
		w = malloc(sizeof(*w) * N * K);
		bias = malloc(sizeof(*bias) * N);
	}
	if (!sy || (rows == 2 && (!w || !bias))) {
		b->err = VITRT_ENOMEM;
	} else if (rows == 2) {
		vitrt_head_pair(w, bias, m->head_w, m->head_b, m->head_dist_w, m->head_dist_b, N,
				b->C);
		g.a.stride = K;
	}
	if (!b->err && m->cfg.pool == VITRT_POOL_AVG && m->cfg.fc_norm) {
		/* average pooling of the patch tokens into y's first row, then fc_norm */
		cpu_step(b, VITRT_OP_MEAN, b->T - m->cfg.prefix, b->C, patch_rows(b), NO_TENSOR,
			 b->y, &(union vitsa_vec_params){ 0 });
		layernorm_of(b, b->y, 1, b->sc->normf, true);
	} else if (!b->err && m->cfg.pool == VITRT_POOL_AVG) {
		layernorm_of(b, patch_rows(b), b->T - m->cfg.prefix, b->sc->normf, true);
		mean_of_norms(b);
		g.a = b->attn;
	} else if (!b->err) {
		layernorm_of(b, b->x, rows, b->sc->normf, true);
	}
	if (!b->err) {
		linear(b, &g, w ? w : m->head_w, bias ? bias : m->head_b, N, K, b->sc->normf, sy);
		gemm(b, g);
		sync(b);
	}
	free(sy);
	free(w);
	free(bias);
}

/* @r seen as rows of @cols elements of @type (smaller than the s8 rows it was planned for). */
static struct vitrt_pref typed(struct vitrt_pref r, uint32_t type, uint32_t cols)
{
	r.stride = vitrt_row_bytes(type, cols);
	return r;
}

/*
 * Two parts make every head's probabilities twice as large: a tensor of all heads would not
 * fit a 4 MiB chunk at 577 tokens, so they are split into groups of as many heads as fit one,
 * balanced (DeiT-S at 384: 2 x 3 heads), each its own SHIFTMAX16 step.
 */
static void plan_probs16(struct builder *b)
{
	uint64_t head;

	b->LP = 2ull * b->T * b->TP <= VITRT_ARENA_CHUNK ? b->TP : b->T;
	head = 2ull * b->T * b->LP;
	if (head > VITRT_ARENA_CHUNK) {
		b->err = b->err ?: VITRT_EUNSUPPORTED;
		return;
	}
	b->hpg = (uint32_t)(VITRT_ARENA_CHUNK / head);
	b->ngroups = (b->H + b->hpg - 1) / b->hpg;
	b->hpg = (b->H + b->ngroups - 1) / b->ngroups;
	b->prg = calloc(b->ngroups, sizeof(*b->prg));
	if (!b->prg) {
		b->err = VITRT_ENOMEM;
		return;
	}
	for (uint32_t g = 0; g < b->ngroups; g++)
		b->prg[g] = act(b, (uint64_t)b->hpg * b->T, 2ull * b->LP);
	b->acc_hi = act(b, b->T, 4ull * b->C);
	b->acc_lo = act(b, b->T, 4ull * b->C);
}

static void plan_acts(struct builder *b)
{
	const struct vitrt_vit_config *c = &b->m->cfg;

	b->image = act(b, 1, (uint64_t)c->chans * c->img * c->img);
	b->patches = act(b, b->P, b->K0);
	b->x = act(b, b->T, 2ull * b->C);
	b->y = act(b, b->T, 2ull * b->C);
	b->nrm = act(b, b->T, b->C);
	b->nrm_a = typed(b->nrm, b->atype, b->C);
	b->qkv = act(b, b->T, 3ull * b->C);
	/*
	 * Rows of the attention matrices start on cache lines where that fits a chunk: the heads'
	 * column tasks run on different threads, and a line shared by two of them would bounce.
	 */
	b->TP = (b->T + VITRT_ARENA_ALIGN - 1) & ~(VITRT_ARENA_ALIGN - 1);
	if ((uint64_t)b->H * b->T * b->TP > VITRT_ARENA_CHUNK)
		b->TP = b->T;
	b->s = act(b, (uint64_t)b->H * b->T, b->TP);
	if (b->two)
		plan_probs16(b);
	else
		b->pr = act(b, (uint64_t)b->H * b->T, b->TP);
	b->attn = act(b, b->T, vitrt_row_bytes(b->atype, b->C));
	b->hb = act(b, b->T, b->M);
	b->g = act(b, b->T, vitrt_row_bytes(b->atype, b->M));
	b->logits = act(b, 1, 2ull * c->classes);
}

static struct vitrt_prog *finish(struct builder *b)
{
	struct vitrt_prog *p = calloc(1, sizeof(*p));
	const struct vitrt_vit_config *c = &b->m->cfg;

	if (!p) {
		b->err = VITRT_ENOMEM;
		return NULL;
	}
	p->info = (struct vitrt_prog_info){
		.img = c->img, .patch = c->patch, .chans = c->chans, .dim = c->dim,
		.depth = c->depth, .heads = c->heads, .mlp = c->mlp, .classes = c->classes,
		.tokens = b->T, .scheme = b->o->scheme, .array_rows = b->o->array_rows,
		.array_cols = b->o->array_cols, .logit_scale = b->sc->logits,
		.fp32_top1 = b->o->fp32_top1,
		.interp = b->m->cfg.interp, .crop_pct = (float)b->m->cfg.crop_pct,
	};
	p->arena[VITRT_ARENA_CONST] = b->konst;
	p->arena_size[VITRT_ARENA_CONST] = b->konst_len;
	p->arena_size[VITRT_ARENA_ACT] = b->act_len;
	p->steps = b->steps;
	p->nsteps = b->nsteps;
	p->gemms = b->gemms;
	p->ngemms = b->ngemms;
	p->image = b->image;
	p->logits = b->logits;
	/* Out of memory here fails the compilation: the caller frees p, labels and all. */
	if (b->m->labels) {
		p->labels = calloc(c->classes, sizeof(*p->labels));
		for (uint32_t i = 0; p->labels && i < c->classes; i++)
			if (!(p->labels[i] = strdup(b->m->labels[i])))
				b->err = VITRT_ENOMEM;
		if (!p->labels)
			b->err = VITRT_ENOMEM;
	}
	return p;
}

float vitrt_probs_scale(uint32_t tokens)
{
	return tokens <= VITRT_PROBS_ONE_PART_MAX ? 0x1p-8f : 0x1p-16f;
}

int vitrt_compile_supported(const struct vitrt_vit *m, char *msg, size_t cap)
{
	if (m->cfg.pool == VITRT_POOL_AVG || m->cfg.prefix >= 1)
		return 0;
	snprintf(msg, cap, "%s: not supported by the integer compiler (no class token to read "
		 "and no pooling; run --fp32 runs it)", m->variant);
	return VITRT_EUNSUPPORTED;
}

struct vitrt_prog *vitrt_compile(const struct vitrt_vit *m, const struct vitrt_scales *sc,
				 const struct vitrt_compile_opts *o, int *err, char *msg,
				 size_t cap)
{
	const struct vitrt_vit_config *c = &m->cfg;
	struct builder b = {
		.m = m, .sc = sc, .o = o, .C = c->dim, .H = c->heads, .D = c->dim / c->heads,
		.M = c->mlp, .P = (c->img / c->patch) * (c->img / c->patch),
		.K0 = c->chans * c->patch * c->patch,
		.wtype = o->scheme == VITRT_SCHEME_W8A8 ? VITRT_S8 : VITRT_S4,
		.atype = vitrt_scheme_act_bits(o->scheme) == 4 ? VITRT_S4 : VITRT_S8,
	};
	struct vitrt_prog *p = NULL;
	double s_x;

	b.T = b.P + c->prefix;
	b.two = sc->probs == 0x1p-16f;
	*err = vitrt_compile_supported(m, msg, cap);
	if (*err)
		return NULL;
	if (sc->act_bits != vitrt_scheme_act_bits(o->scheme)) {
		snprintf(msg, cap, "scheme %s: the scales were calibrated for %u-bit activations",
			 vitrt_scheme_name(o->scheme), sc->act_bits);
		*err = VITRT_EINVAL;
		return NULL;
	}
	if (!b.two && sc->probs != 0x1p-8f) {
		snprintf(msg, cap, "compiling: probabilities at scale %g (2^-8 or 2^-16 only)",
			 (double)sc->probs);
		*err = VITRT_EINVAL;
		return NULL;
	}
	if (b.atype == VITRT_S4 && b.two) {
		/* JOIN16 writes s8 */
		snprintf(msg, cap, "scheme w4a4: not with probabilities in two parts (%u tokens > "
			 "%u)", b.T, VITRT_PROBS_ONE_PART_MAX);
		*err = VITRT_EUNSUPPORTED;
		return NULL;
	}
	if (b.atype == VITRT_S4 && b.D % 2) {
		/* each head's P.V writes its columns of the packed s4 rows from a byte boundary */
		snprintf(msg, cap, "scheme w4a4: head dim %u is odd", b.D);
		*err = VITRT_EUNSUPPORTED;
		return NULL;
	}
	plan_acts(&b);
	lower_input(&b);
	s_x = sc->embed;
	for (uint32_t l = 0; l < c->depth && !b.err; l++) {
		const struct vitrt_layer_scales *ls = &sc->layer[l];

		layernorm(&b, b.T, ls->norm1);
		lower_attention(&b, &m->blocks[l], ls);
		residual(&b, s_x, ls->res1);
		layernorm(&b, b.T, ls->norm2);
		lower_mlp(&b, &m->blocks[l], ls);
		residual(&b, ls->res1, ls->res2);
		s_x = ls->res2;
	}
	lower_head(&b, s_x);
	free(b.prg);
	if (!b.err)
		p = finish(&b);
	if (!b.err && vitrt_prog_validate(p, msg, cap))
		b.err = VITRT_EFORMAT;	/* a compiler bug: say so rather than write it */
	if (b.err) {
		if (!p) {
			free(b.konst);
			free(b.steps);
			free(b.gemms);
		}
		vitrt_prog_free(p);
		if (b.err != VITRT_EFORMAT)
			snprintf(msg, cap, "compiling: %s", vitrt_strerror(b.err));
		*err = b.err;
		return NULL;
	}
	*err = 0;
	return p;
}
