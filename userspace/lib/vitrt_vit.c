// SPDX-License-Identifier: MIT
/*
 * libvitrt: the FP32 ViT forward with its taps; its matrix products are vitrt_sgemm.c's,
 * loading is vitrt_vit_load.c and LayerNorm folding vitrt_vit_fold.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vitrt_priv.h"
#include "vitrt_safetensors.h"
#include "vitrt_vit.h"
#include "vitrt_hot.h"

static const char *const tap_names[] = {
	[VITRT_TAP_INPUT] = "input",
	[VITRT_TAP_EMBED] = "embed",
	[VITRT_TAP_NORM1] = "norm1",
	[VITRT_TAP_Q] = "q",
	[VITRT_TAP_K] = "k",
	[VITRT_TAP_V] = "v",
	[VITRT_TAP_LOGITS] = "logits",
	[VITRT_TAP_PROBS] = "probs",
	[VITRT_TAP_ATTN] = "attn",
	[VITRT_TAP_RES1] = "res1",
	[VITRT_TAP_NORM2] = "norm2",
	[VITRT_TAP_FC1] = "fc1",
	[VITRT_TAP_GELU] = "gelu",
	[VITRT_TAP_RES2] = "res2",
	[VITRT_TAP_NORMF] = "normf",
	[VITRT_TAP_LOGITS_OUT] = "logits_out",
};

_Static_assert(sizeof(tap_names) / sizeof(tap_names[0]) == VITRT_TAP_COUNT,
	       "one name per tap");

const char *vitrt_tap_name(enum vitrt_tap tap)
{
	return (unsigned)tap < VITRT_TAP_COUNT ? tap_names[tap] : "?";
}

/* ---- the other operators ---- */

/* out[r] = (x[r] - mean) / sqrt(var + eps) per row of @dim (biased variance, in double). */
static void layernorm(float *out, const float *x, uint32_t rows, uint32_t dim, float eps)
{
	for (uint32_t r = 0; r < rows; r++, x += dim, out += dim) {
		double mean = 0, var = 0, rstd;

		for (uint32_t i = 0; i < dim; i++)
			mean += x[i];
		mean /= dim;
		for (uint32_t i = 0; i < dim; i++)
			var += (x[i] - mean) * (x[i] - mean);
		var /= dim;
		rstd = 1.0 / sqrt(var + eps);
		for (uint32_t i = 0; i < dim; i++)
			out[i] = (float)((x[i] - mean) * rstd);
	}
}

/* x[r][i] = x[r][i] * w[i] + b[i] */
VIT_HOT static void affine(float *x, const float *w, const float *b, uint32_t rows, uint32_t dim)
{
	for (uint32_t r = 0; r < rows; r++, x += dim)
		for (uint32_t i = 0; i < dim; i++)
			x[i] = x[i] * w[i] + b[i];
}

VIT_HOT static void add(float *x, const float *y, size_t n)
{
	for (size_t i = 0; i < n; i++)
		x[i] += y[i];
}

VIT_HOT static void scale(float *x, float s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		x[i] *= s;
}

/* Softmax of each row of @n, in place: exp(x - max) / sum. */
static void softmax(float *x, uint32_t rows, uint32_t n)
{
	for (uint32_t r = 0; r < rows; r++, x += n) {
		float max = x[0];
		double sum = 0;
		float inv;

		for (uint32_t i = 1; i < n; i++)
			max = x[i] > max ? x[i] : max;
		for (uint32_t i = 0; i < n; i++) {
			x[i] = expf(x[i] - max);
			sum += x[i];
		}
		inv = (float)(1.0 / sum);
		for (uint32_t i = 0; i < n; i++)
			x[i] *= inv;
	}
}

/* Exact GELU: x * Phi(x) = x/2 (1 + erf(x / sqrt 2)). */
static void gelu(float *y, const float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		y[i] = 0.5f * x[i] * (1.0f + erff(x[i] * (float)M_SQRT1_2));
}

/* dst[d][t] = src[t][d] for a @rows x @cols block of a matrix with row stride @ld. */
static void transpose(float *dst, const float *src, size_t ld, uint32_t rows, uint32_t cols)
{
	for (uint32_t t = 0; t < rows; t++)
		for (uint32_t d = 0; d < cols; d++)
			dst[(size_t)d * rows + t] = src[t * ld + d];
}

/* ---- forward ---- */

/* Per-call scratch: every activation of one block, reused by the next. */
struct vit_ws {
	float *in;	/* chans x img x img */
	float *patches;	/* grid^2 x chans*patch^2 */
	float *x;	/* T x C residual stream */
	float *a;	/* T x C LayerNorm output */
	float *q, *k, *v;	/* T x C each */
	float *att;	/* H x T x T */
	float *vt;	/* D x T: one head of V, transposed */
	float *o;	/* T x C attention output */
	float *t;	/* T x C branch output */
	float *f;	/* T x M */
	float *g;	/* T x M */
	float *logits;	/* classes: may exceed a T x C row */
	float *logits2;	/* classes: the distillation head's */
	float *mem;
};

static int ws_alloc(struct vit_ws *w, const struct vitrt_vit_config *c)
{
	size_t T = c->tokens, C = c->dim, kk = (size_t)c->chans * c->patch * c->patch;
	struct {
		float **p;
		size_t n;
	} parts[] = {
		{ &w->in, (size_t)c->chans * c->img * c->img },
		{ &w->patches, (T - c->prefix) * kk },
		{ &w->x, T * C }, { &w->a, T * C }, { &w->q, T * C }, { &w->k, T * C },
		{ &w->v, T * C }, { &w->att, c->heads * T * T }, { &w->vt, c->head_dim * T },
		{ &w->o, T * C }, { &w->t, T * C }, { &w->f, T * c->mlp }, { &w->g, T * c->mlp },
		{ &w->logits, c->classes }, { &w->logits2, c->classes },
	};
	size_t total = 0;

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		total += (parts[i].n + 15) & ~(size_t)15;
	w->mem = aligned_alloc(64, total * sizeof(float));
	if (!w->mem)
		return VITRT_ENOMEM;
	total = 0;
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		*parts[i].p = w->mem + total;
		total += (parts[i].n + 15) & ~(size_t)15;
	}
	return 0;
}

#define TAP(tap, layer, x, n)						\
	do {								\
		if (hook)						\
			hook(ctx, VITRT_TAP_##tap, layer, x, n);	\
	} while (0)

/* x = [cls; dist; patches W^T + b] + pos, the prefix tokens those the model has */
static void embed(const struct vitrt_vit *m, struct vit_ws *w)
{
	const struct vitrt_vit_config *c = &m->cfg;
	uint32_t p = c->patch, kk = c->chans * p * p;

	for (uint32_t gy = 0; gy < c->grid; gy++) {
		for (uint32_t gx = 0; gx < c->grid; gx++) {
			float *row = w->patches + (size_t)(gy * c->grid + gx) * kk;

			for (uint32_t ch = 0; ch < c->chans; ch++)
				for (uint32_t y = 0; y < p; y++)
					memcpy(row + (ch * p + y) * p,
					       w->in + ((size_t)ch * c->img + gy * p + y) * c->img +
						       gx * p, p * sizeof(float));
		}
	}
	if (m->cls_token)
		memcpy(w->x, m->cls_token, c->dim * sizeof(float));
	if (m->dist_token)
		memcpy(w->x + c->dim, m->dist_token, c->dim * sizeof(float));
	vitrt_sgemm_nt(w->x + (size_t)c->prefix * c->dim, c->dim, w->patches, kk, m->patch_w, kk,
		       m->patch_b, c->tokens - c->prefix, c->dim, kk);
	add(w->x, m->pos_embed, (size_t)c->tokens * c->dim);
}

/* o = concat_h softmax(q_h k_h^T / sqrt D) v_h, with the LOGITS, PROBS and ATTN taps. */
static void attention(const struct vitrt_vit *m, struct vit_ws *w, uint32_t l,
		      vitrt_vit_hook hook, void *ctx)
{
	const struct vitrt_vit_config *c = &m->cfg;
	uint32_t T = c->tokens, C = c->dim, D = c->head_dim, H = c->heads;
	size_t tt = (size_t)T * T;

	for (uint32_t h = 0; h < H; h++)
		vitrt_sgemm_nt(w->att + h * tt, T, w->q + h * D, C, w->k + h * D, C, NULL, T, T, D);
	scale(w->att, 1.0f / sqrtf((float)D), H * tt);
	TAP(LOGITS, l, w->att, H * tt);
	softmax(w->att, H * T, T);
	TAP(PROBS, l, w->att, H * tt);
	for (uint32_t h = 0; h < H; h++) {
		transpose(w->vt, w->v + h * D, C, T, D);
		vitrt_sgemm_nt(w->o + h * D, C, w->att + h * tt, T, w->vt, T, NULL, T, D, T);
	}
	TAP(ATTN, l, w->o, (size_t)T * C);
}

static void block(const struct vitrt_vit *m, struct vit_ws *w, uint32_t l, vitrt_vit_hook hook,
		  void *ctx)
{
	const struct vitrt_vit_config *c = &m->cfg;
	const struct vitrt_vit_block *b = &m->blocks[l];
	uint32_t T = c->tokens, C = c->dim, M = c->mlp;
	size_t tc = (size_t)T * C, tm = (size_t)T * M, cc = (size_t)C * C;

	layernorm(w->a, w->x, T, C, c->eps);
	TAP(NORM1, l, w->a, tc);
	affine(w->a, b->norm1_w, b->norm1_b, T, C);
	vitrt_sgemm_nt(w->q, C, w->a, C, b->qkv_w, C, b->qkv_b, T, C, C);
	vitrt_sgemm_nt(w->k, C, w->a, C, b->qkv_w + cc, C, b->qkv_b + C, T, C, C);
	vitrt_sgemm_nt(w->v, C, w->a, C, b->qkv_w + 2 * cc, C, b->qkv_b + 2 * C, T, C, C);
	TAP(Q, l, w->q, tc);
	TAP(K, l, w->k, tc);
	TAP(V, l, w->v, tc);
	attention(m, w, l, hook, ctx);
	vitrt_sgemm_nt(w->t, C, w->o, C, b->proj_w, C, b->proj_b, T, C, C);
	add(w->x, w->t, tc);
	TAP(RES1, l, w->x, tc);

	layernorm(w->a, w->x, T, C, c->eps);
	TAP(NORM2, l, w->a, tc);
	affine(w->a, b->norm2_w, b->norm2_b, T, C);
	vitrt_sgemm_nt(w->f, M, w->a, C, b->fc1_w, C, b->fc1_b, T, M, C);
	TAP(FC1, l, w->f, tm);
	gelu(w->g, w->f, tm);
	TAP(GELU, l, w->g, tm);
	vitrt_sgemm_nt(w->t, C, w->g, M, b->fc2_w, M, b->fc2_b, T, C, M);
	add(w->x, w->t, tc);
	TAP(RES2, l, w->x, tc);
}

uint32_t vitrt_vit_normf_rows(const struct vitrt_vit_config *c)
{
	if (c->pool == VITRT_POOL_AVG)
		return c->fc_norm ? 1 : c->tokens - c->prefix;
	return c->prefix;
}

/* out[i] = the mean of @rows rows of @x (@dim floats each), in double. */
static void mean_rows(float *out, const float *x, uint32_t rows, uint32_t dim)
{
	for (uint32_t i = 0; i < dim; i++) {
		double s = 0;

		for (uint32_t r = 0; r < rows; r++)
			s += x[(size_t)r * dim + i];
		out[i] = (float)(s / rows);
	}
}

/*
 * The final norm and the head, as timm: LN of the class token (and of the distillation
 * token, the two heads' logits averaged); or the mean of the patch tokens then LN (fc_norm);
 * or LN of every patch token then their mean.
 */
static void head(const struct vitrt_vit *m, struct vit_ws *w, vitrt_vit_hook hook, void *ctx)
{
	const struct vitrt_vit_config *c = &m->cfg;
	uint32_t C = c->dim, rows = vitrt_vit_normf_rows(c);
	const float *x = w->x;

	if (c->pool == VITRT_POOL_AVG) {
		x += (size_t)c->prefix * C;
		if (c->fc_norm) {
			mean_rows(w->t, x, c->tokens - c->prefix, C);
			x = w->t;
		}
	}
	layernorm(w->a, x, rows, C, c->eps);
	TAP(NORMF, 0, w->a, (size_t)rows * C);
	affine(w->a, m->norm_w, m->norm_b, rows, C);
	if (rows > 1 && c->pool == VITRT_POOL_AVG) {
		mean_rows(w->t, w->a, rows, C);
		memcpy(w->a, w->t, C * sizeof(float));
	}
	vitrt_sgemm_nt(w->logits, c->classes, w->a, C, m->head_w, C, m->head_b, 1, c->classes, C);
	if (m->head_dist_w) {
		vitrt_sgemm_nt(w->logits2, c->classes, w->a + C, C, m->head_dist_w, C,
			       m->head_dist_b, 1, c->classes, C);
		for (uint32_t i = 0; i < c->classes; i++)
			w->logits[i] = (w->logits[i] + w->logits2[i]) / 2;
	}
	TAP(LOGITS_OUT, 0, w->logits, c->classes);
}

int vitrt_vit_forward(const struct vitrt_vit *m, const float *image, float *logits,
		      vitrt_vit_hook hook, void *ctx)
{
	const struct vitrt_vit_config *c = &m->cfg;
	struct vit_ws w;
	size_t nin = (size_t)c->chans * c->img * c->img;
	int ret;

	ret = ws_alloc(&w, c);
	if (ret)
		return ret;
	memcpy(w.in, image, nin * sizeof(float));
	TAP(INPUT, 0, w.in, nin);
	embed(m, &w);
	TAP(EMBED, 0, w.x, (size_t)c->tokens * c->dim);
	for (uint32_t l = 0; l < c->depth; l++)
		block(m, &w, l, hook, ctx);
	head(m, &w, hook, ctx);
	memcpy(logits, w.logits, c->classes * sizeof(float));
	free(w.mem);
	return 0;
}

uint64_t vitrt_vit_macs(const struct vitrt_vit_config *c)
{
	uint64_t T = c->tokens, C = c->dim, M = c->mlp, P = c->grid * c->grid;
	uint64_t blk = T * C * 3 * C + 2 * T * T * C + T * C * C + 2 * T * C * M;
	uint64_t heads = c->pool == VITRT_POOL_TOKEN ? c->prefix : 1;

	return P * C * c->chans * c->patch * c->patch + c->depth * blk + heads * C * c->classes;
}

