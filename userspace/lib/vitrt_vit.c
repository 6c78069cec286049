// SPDX-License-Identifier: MIT
/* libvitrt: the FP32 ViT forward (with its taps), LayerNorm folding and the sgemm under it. */
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

/* ---- sgemm: C = A B^T (+ bias), both operands row-major along K ---- */

/*
 * The -O2 default leaves the vector extensions below to SSE; the hot function asks for O3 and
 * an x86-64-v3 clone (AVX2 + FMA) itself, picked at load time when the CPU has it (as
 * hw/model/vitsa_gemm.c does with AVX2).
 */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define VIT_HOT __attribute__((optimize("O3"), target_clones("arch=x86-64-v3", "default")))
#else
#define VIT_HOT
#endif
#define VIT_INLINE static inline __attribute__((always_inline))

typedef float v8sf __attribute__((vector_size(32)));

/*
 * A is packed in panels of MR rows stored k-major (P[k][MR], zero-padded), so that one k step
 * of a panel is two vectors; the micro-kernel multiplies them by NR broadcast elements of B
 * into an MR x NR tile of accumulators: no horizontal sums, every output a plain float sum
 * in k order.  B is walked in blocks of rows that stay in L2 while every panel passes.
 */
#define MR	16
#define NR	6
#define B_BLOCK_FLOATS	(128 * 1024)	/* 512 KiB of B per block */

/* P[t][r] = A[r][t] for rows r < @rm of a panel, 0 beyond. */
static void pack_panel(float *p, const float *a, size_t lda, uint32_t rm, uint32_t k)
{
	for (uint32_t t = 0; t < k; t++)
		for (uint32_t r = 0; r < MR; r++)
			p[t * MR + r] = r < rm ? a[r * lda + t] : 0.0f;
}

/* C[0..rm)[0..rn) = panel @p times rows 0..rn of B (+ bias), @rn a compile-time constant. */
VIT_INLINE void micro(float *c, size_t ldc, const float *p, const float *b, size_t ldb,
		      const float *bias, uint32_t rm, uint32_t k, const int rn)
{
	v8sf acc[2][NR];

	for (int j = 0; j < rn; j++)
		acc[0][j] = acc[1][j] = (v8sf){ 0 };
	for (uint32_t t = 0; t < k; t++) {
		v8sf a0 = *(const v8sf *)(p + t * MR), a1 = *(const v8sf *)(p + t * MR + 8);

		for (int j = 0; j < rn; j++) {
			float e = b[j * ldb + t];
			v8sf bv = { e, e, e, e, e, e, e, e };

			acc[0][j] += a0 * bv;
			acc[1][j] += a1 * bv;
		}
	}
	for (int j = 0; j < rn; j++) {
		float bj = bias ? bias[j] : 0.0f;

		for (uint32_t i = 0; i < rm; i++)
			c[i * ldc + j] = acc[i / 8][j][i % 8] + bj;
	}
}

/* One panel against rows [n0, n1) of B. */
VIT_INLINE void panel_row(float *c, size_t ldc, const float *p, const float *b, size_t ldb,
			  const float *bias, uint32_t rm, uint32_t n0, uint32_t n1, uint32_t k)
{
	uint32_t j = n0;

#define MICRO(rn) micro(c + j, ldc, p, b + j * ldb, ldb, bias ? bias + j : NULL, rm, k, rn)
	for (; j + NR <= n1; j += NR)
		MICRO(NR);
	switch (n1 - j) {
	case 5: MICRO(5); break;
	case 4: MICRO(4); break;
	case 3: MICRO(3); break;
	case 2: MICRO(2); break;
	case 1: MICRO(1); break;
	}
#undef MICRO
}

_Static_assert(NR == 6, "panel_row handles up to NR - 1 = 5 leftover columns");

VIT_HOT void vitrt_sgemm_nt(float *c, size_t ldc, const float *a, size_t lda, const float *b,
			    size_t ldb, const float *bias, uint32_t m, uint32_t n, uint32_t k)
{
	uint32_t panels = (m + MR - 1) / MR, nb;
	float *pack;

	if (!m || !n)
		return;
	pack = aligned_alloc(64, ((size_t)panels * MR * k + 16) * sizeof(float));
	if (!pack) {
		/* no memory for the packed copy: the plain loop needs none */
		vitrt_sgemm_nt_ref(c, ldc, a, lda, b, ldb, bias, m, n, k);
		return;
	}
	for (uint32_t i = 0; i < panels; i++)
		pack_panel(pack + (size_t)i * MR * k, a + (size_t)i * MR * lda, lda,
			   m - i * MR < MR ? m - i * MR : MR, k);
	nb = k ? B_BLOCK_FLOATS / k / NR * NR : n;
	nb = nb < NR ? NR : nb;
	for (uint32_t n0 = 0; n0 < n; n0 += nb) {
		uint32_t n1 = n - n0 > nb ? n0 + nb : n;

		for (uint32_t i = 0; i < panels; i++)
			panel_row(c + (size_t)i * MR * ldc, ldc, pack + (size_t)i * MR * k, b, ldb,
				  bias, m - i * MR < MR ? m - i * MR : MR, n0, n1, k);
	}
	free(pack);
}

void vitrt_sgemm_nt_ref(float *c, size_t ldc, const float *a, size_t lda, const float *b,
			size_t ldb, const float *bias, uint32_t m, uint32_t n, uint32_t k)
{
	for (uint32_t i = 0; i < m; i++) {
		for (uint32_t j = 0; j < n; j++) {
			double s = bias ? bias[j] : 0.0;

			for (uint32_t t = 0; t < k; t++)
				s += (double)a[i * lda + t] * b[j * ldb + t];
			c[i * ldc + j] = (float)s;
		}
	}
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
	float *patches;	/* (T-1) x chans*patch^2 */
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
	float *mem;
};

static int ws_alloc(struct vit_ws *w, const struct vitrt_vit_config *c)
{
	size_t T = c->tokens, C = c->dim, kk = (size_t)c->chans * c->patch * c->patch;
	struct {
		float **p;
		size_t n;
	} parts[] = {
		{ &w->in, (size_t)c->chans * c->img * c->img }, { &w->patches, (T - 1) * kk },
		{ &w->x, T * C }, { &w->a, T * C }, { &w->q, T * C }, { &w->k, T * C },
		{ &w->v, T * C }, { &w->att, c->heads * T * T }, { &w->vt, c->head_dim * T },
		{ &w->o, T * C }, { &w->t, T * C }, { &w->f, T * c->mlp }, { &w->g, T * c->mlp },
		{ &w->logits, c->classes },
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

/* x = [cls; patches W^T + b] + pos */
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
	memcpy(w->x, m->cls_token, c->dim * sizeof(float));
	vitrt_sgemm_nt(w->x + c->dim, c->dim, w->patches, kk, m->patch_w, kk, m->patch_b,
		       c->tokens - 1, c->dim, kk);
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

	/* only the class token reaches the head */
	layernorm(w.a, w.x, 1, c->dim, c->eps);
	TAP(NORMF, 0, w.a, c->dim);
	affine(w.a, m->norm_w, m->norm_b, 1, c->dim);
	vitrt_sgemm_nt(w.logits, c->classes, w.a, c->dim, m->head_w, c->dim, m->head_b, 1,
		       c->classes, c->dim);
	TAP(LOGITS_OUT, 0, w.logits, c->classes);
	memcpy(logits, w.logits, c->classes * sizeof(float));
	free(w.mem);
	return 0;
}

uint64_t vitrt_vit_macs(const struct vitrt_vit_config *c)
{
	uint64_t T = c->tokens, C = c->dim, M = c->mlp;
	uint64_t blk = T * C * 3 * C + 2 * T * T * C + T * C * C + 2 * T * C * M;

	return (T - 1) * C * c->chans * c->patch * c->patch + c->depth * blk + C * c->classes;
}

/* ---- LayerNorm folding ---- */

/* W (g * n + beta) + b = (W diag g) n + (W beta + b) for the @out x @in Linear after a norm. */
static void fold_one(float *g, float *beta, float *wt, float *bias, uint32_t out, uint32_t in)
{
	for (uint32_t o = 0; o < out; o++) {
		float *row = wt + (size_t)o * in;
		double s = bias[o];

		for (uint32_t i = 0; i < in; i++)
			s += (double)row[i] * beta[i];
		bias[o] = (float)s;
		for (uint32_t i = 0; i < in; i++)
			row[i] *= g[i];
	}
	for (uint32_t i = 0; i < in; i++) {
		g[i] = 1.0f;
		beta[i] = 0.0f;
	}
}

void vitrt_vit_fold_norms(struct vitrt_vit *m)
{
	const struct vitrt_vit_config *c = &m->cfg;

	for (uint32_t l = 0; l < c->depth; l++) {
		struct vitrt_vit_block *b = &m->blocks[l];

		fold_one(b->norm1_w, b->norm1_b, b->qkv_w, b->qkv_b, 3 * c->dim, c->dim);
		fold_one(b->norm2_w, b->norm2_b, b->fc1_w, b->fc1_b, c->mlp, c->dim);
	}
	fold_one(m->norm_w, m->norm_b, m->head_w, m->head_b, c->classes, c->dim);
}

/* ---- loading ---- */

/* A tensor's name in timm, torchvision and (some) old torchvision checkpoints. */
struct vit_name {
	const char *timm, *tv, *tv_old;
};

enum { N_CLS, N_POS, N_PATCH_W, N_PATCH_B, N_NORM_W, N_NORM_B, N_HEAD_W, N_HEAD_B };

static const struct vit_name top_names[] = {
	[N_CLS] = { "cls_token", "class_token" },
	[N_POS] = { "pos_embed", "encoder.pos_embedding" },
	[N_PATCH_W] = { "patch_embed.proj.weight", "conv_proj.weight" },
	[N_PATCH_B] = { "patch_embed.proj.bias", "conv_proj.bias" },
	[N_NORM_W] = { "norm.weight", "encoder.ln.weight" },
	[N_NORM_B] = { "norm.bias", "encoder.ln.bias" },
	[N_HEAD_W] = { "head.weight", "heads.head.weight" },
	[N_HEAD_B] = { "head.bias", "heads.head.bias" },
};

#define TV_LAYER "encoder.layers.encoder_layer_%u."

enum {
	B_NORM1_W, B_NORM1_B, B_QKV_W, B_QKV_B, B_PROJ_W, B_PROJ_B,
	B_NORM2_W, B_NORM2_B, B_FC1_W, B_FC1_B, B_FC2_W, B_FC2_B, B_COUNT
};

static const struct vit_name block_names[B_COUNT] = {
	[B_NORM1_W] = { "blocks.%u.norm1.weight", TV_LAYER "ln_1.weight" },
	[B_NORM1_B] = { "blocks.%u.norm1.bias", TV_LAYER "ln_1.bias" },
	[B_QKV_W] = { "blocks.%u.attn.qkv.weight", TV_LAYER "self_attention.in_proj_weight" },
	[B_QKV_B] = { "blocks.%u.attn.qkv.bias", TV_LAYER "self_attention.in_proj_bias" },
	[B_PROJ_W] = { "blocks.%u.attn.proj.weight", TV_LAYER "self_attention.out_proj.weight" },
	[B_PROJ_B] = { "blocks.%u.attn.proj.bias", TV_LAYER "self_attention.out_proj.bias" },
	[B_NORM2_W] = { "blocks.%u.norm2.weight", TV_LAYER "ln_2.weight" },
	[B_NORM2_B] = { "blocks.%u.norm2.bias", TV_LAYER "ln_2.bias" },
	[B_FC1_W] = { "blocks.%u.mlp.fc1.weight", TV_LAYER "mlp.0.weight",
		      TV_LAYER "mlp.linear_1.weight" },
	[B_FC1_B] = { "blocks.%u.mlp.fc1.bias", TV_LAYER "mlp.0.bias",
		      TV_LAYER "mlp.linear_1.bias" },
	[B_FC2_W] = { "blocks.%u.mlp.fc2.weight", TV_LAYER "mlp.3.weight",
		      TV_LAYER "mlp.linear_2.weight" },
	[B_FC2_B] = { "blocks.%u.mlp.fc2.bias", TV_LAYER "mlp.3.bias",
		      TV_LAYER "mlp.linear_2.bias" },
};

/* Sanity limits: every size product of the forward stays far from overflow. */
#define MAX_DIM		16384
#define MAX_TOKENS	16384
#define MAX_MLP		65536
#define MAX_CLASSES	(1u << 20)
#define MAX_PATCH	256
#define MAX_DEPTH	1024

struct vit_load {
	const char *path;
	struct vitrt_st *st;
	bool tv;		/* torchvision names */
	bool *used;		/* per checkpoint tensor */
	char name[160];		/* the last name looked up, as the checkpoint spells it */
	char *msg;
	size_t cap;
};

/* "<file>: <problem>" into the caller's message buffer; evaluates to @err. */
#define load_fail(ld, err, file, ...) \
	vitrt_file_error((ld)->msg, (ld)->cap, (err), (file), __VA_ARGS__)

/* Look @nm (of block @layer) up in the checkpoint's naming; leaves the name in ld->name. */
static struct vitrt_st_tensor *vit_find(struct vit_load *ld, const struct vit_name *nm,
					uint32_t layer)
{
	const char *fmts[2] = { ld->tv ? nm->tv : nm->timm, ld->tv ? nm->tv_old : NULL };
	struct vitrt_st_tensor *t = NULL;
	uint32_t idx;

	for (int i = 1; i >= 0; i--) {
		if (!fmts[i])
			continue;
		snprintf(ld->name, sizeof(ld->name), fmts[i], layer);
		t = vitrt_st_find(ld->st, ld->name, &idx);
		if (t) {
			ld->used[idx] = true;
			return t;
		}
	}
	return NULL;
}

static void dims_str(char *buf, size_t cap, uint32_t ndim, const uint64_t *shape)
{
	size_t o = snprintf(buf, cap, "[");

	for (uint32_t i = 0; i < ndim && o < cap; i++)
		o += snprintf(buf + o, cap - o, "%s%llu", i ? ", " : "",
			      (unsigned long long)shape[i]);
	if (o < cap)
		snprintf(buf + o, cap - o, "]");
}

/* The tensor @nm of block @layer with exactly the shape @d0.. (@ndim of them), in *@out. */
static int vit_expect(struct vit_load *ld, float **out, const struct vit_name *nm, uint32_t layer,
		      uint32_t ndim, uint64_t d0, uint64_t d1, uint64_t d2, uint64_t d3)
{
	const uint64_t want[4] = { d0, d1, d2, d3 };
	struct vitrt_st_tensor *t = vit_find(ld, nm, layer);
	char got_s[96], want_s[96];

	if (!t)
		return load_fail(ld, VITRT_EFORMAT, ld->path, "missing tensor '%s'", ld->name);
	if (t->ndim == ndim && !memcmp(t->shape, want, ndim * sizeof(want[0]))) {
		*out = t->data;
		return 0;
	}
	dims_str(got_s, sizeof(got_s), t->ndim, t->shape);
	dims_str(want_s, sizeof(want_s), ndim, want);
	return load_fail(ld, VITRT_EFORMAT, ld->path, "tensor '%s' has shape %s, expected %s",
			 ld->name, got_s, want_s);
}

/* A tensor read only for its shape: @ndim dimensions, checked by the caller. */
static struct vitrt_st_tensor *vit_probe(struct vit_load *ld, const struct vit_name *nm,
					 uint32_t layer, uint32_t ndim, const char *want, int *ret)
{
	struct vitrt_st_tensor *t = vit_find(ld, nm, layer);
	char got_s[96];

	if (!t) {
		*ret = load_fail(ld, VITRT_EFORMAT, ld->path, "missing tensor '%s'", ld->name);
		return NULL;
	}
	if (t->ndim != ndim) {
		dims_str(got_s, sizeof(got_s), t->ndim, t->shape);
		*ret = load_fail(ld, VITRT_EFORMAT, ld->path, "tensor '%s' has shape %s, expected %s",
				 ld->name, got_s, want);
		return NULL;
	}
	*ret = 0;
	return t;
}

static uint32_t isqrt(uint32_t v)
{
	uint32_t r = (uint32_t)sqrt((double)v);

	while (r * r > v)
		r--;
	while ((r + 1) * (r + 1) <= v)
		r++;
	return r;
}

/* Too small or too large for a sane ViT: an error naming the tensor the size came from. */
static int vit_range(struct vit_load *ld, const char *what, uint64_t v, uint64_t lo, uint64_t hi)
{
	if (v >= lo && v <= hi)
		return 0;
	return load_fail(ld, VITRT_EUNSUPPORTED, ld->path,
			 "tensor '%s': %s %llu is outside [%llu, %llu]", ld->name, what,
			 (unsigned long long)v, (unsigned long long)lo, (unsigned long long)hi);
}

/* Embedding dim, channels, patch, tokens, depth, MLP width and classes from the shapes. */
static int vit_infer(struct vit_load *ld, struct vitrt_vit_config *c)
{
	struct vitrt_st_tensor *t;
	int ret;

	t = vit_probe(ld, &top_names[N_PATCH_W], 0, 4, "[C, chans, patch, patch]", &ret);
	if (!t)
		return ret;
	if (t->shape[2] != t->shape[3])
		return load_fail(ld, VITRT_EUNSUPPORTED, ld->path,
				 "tensor '%s': non-square patches %llux%llu", ld->name,
				 (unsigned long long)t->shape[2], (unsigned long long)t->shape[3]);
	if ((ret = vit_range(ld, "embedding dimension", t->shape[0], 1, MAX_DIM)) ||
	    (ret = vit_range(ld, "input channels", t->shape[1], 1, VITRT_VIT_MAX_CHANS)) ||
	    (ret = vit_range(ld, "patch size", t->shape[2], 1, MAX_PATCH)))
		return ret;
	c->dim = (uint32_t)t->shape[0];
	c->chans = (uint32_t)t->shape[1];
	c->patch = (uint32_t)t->shape[2];

	t = vit_probe(ld, &top_names[N_POS], 0, 3, "[1, T, C]", &ret);
	if (!t)
		return ret;
	if ((ret = vit_range(ld, "token count", t->shape[1], 2, MAX_TOKENS)))
		return ret;
	c->tokens = (uint32_t)t->shape[1];
	c->grid = isqrt(c->tokens - 1);
	if (c->grid * c->grid != c->tokens - 1)
		return load_fail(ld, VITRT_EUNSUPPORTED, ld->path,
				 "tensor '%s': %u tokens are not a class token and a square grid",
				 ld->name, c->tokens);
	c->img = c->grid * c->patch;

	while (c->depth <= MAX_DEPTH && vit_find(ld, &block_names[B_NORM1_W], c->depth))
		c->depth++;
	if (c->depth == 0 || c->depth > MAX_DEPTH) {
		snprintf(ld->name, sizeof(ld->name), ld->tv ? block_names[B_NORM1_W].tv :
			 block_names[B_NORM1_W].timm, c->depth);
		if (c->depth)
			return load_fail(ld, VITRT_EUNSUPPORTED, ld->path,
					 "more than %u blocks (found '%s')", MAX_DEPTH, ld->name);
		return load_fail(ld, VITRT_EFORMAT, ld->path, "no blocks (no tensor '%s')",
				 ld->name);
	}

	t = vit_probe(ld, &block_names[B_FC1_W], 0, 2, "[M, C]", &ret);
	if (!t)
		return ret;
	if ((ret = vit_range(ld, "MLP width", t->shape[0], 1, MAX_MLP)))
		return ret;
	c->mlp = (uint32_t)t->shape[0];

	t = vit_probe(ld, &top_names[N_HEAD_W], 0, 2, "[classes, C]", &ret);
	if (!t)
		return ret;
	if ((ret = vit_range(ld, "class count", t->shape[0], 1, MAX_CLASSES)))
		return ret;
	c->classes = (uint32_t)t->shape[0];
	return 0;
}

/* Every tensor of the architecture, with its exact shape. */
static int vit_bind(struct vit_load *ld, struct vitrt_vit *m)
{
	const struct vitrt_vit_config *c = &m->cfg;
	uint64_t C = c->dim, M = c->mlp;
	int ret;

#define EXPECT(dst, nm, layer, ndim, d0, d1, d2, d3)					\
	do {										\
		ret = vit_expect(ld, &(dst), nm, layer, ndim, d0, d1, d2, d3);		\
		if (ret)								\
			return ret;							\
	} while (0)
	EXPECT(m->patch_w, &top_names[N_PATCH_W], 0, 4, C, c->chans, c->patch, c->patch);
	EXPECT(m->patch_b, &top_names[N_PATCH_B], 0, 1, C, 0, 0, 0);
	EXPECT(m->cls_token, &top_names[N_CLS], 0, 3, 1, 1, C, 0);
	EXPECT(m->pos_embed, &top_names[N_POS], 0, 3, 1, c->tokens, C, 0);
	for (uint32_t l = 0; l < c->depth; l++) {
		struct vitrt_vit_block *b = &m->blocks[l];

		EXPECT(b->norm1_w, &block_names[B_NORM1_W], l, 1, C, 0, 0, 0);
		EXPECT(b->norm1_b, &block_names[B_NORM1_B], l, 1, C, 0, 0, 0);
		EXPECT(b->qkv_w, &block_names[B_QKV_W], l, 2, 3 * C, C, 0, 0);
		EXPECT(b->qkv_b, &block_names[B_QKV_B], l, 1, 3 * C, 0, 0, 0);
		EXPECT(b->proj_w, &block_names[B_PROJ_W], l, 2, C, C, 0, 0);
		EXPECT(b->proj_b, &block_names[B_PROJ_B], l, 1, C, 0, 0, 0);
		EXPECT(b->norm2_w, &block_names[B_NORM2_W], l, 1, C, 0, 0, 0);
		EXPECT(b->norm2_b, &block_names[B_NORM2_B], l, 1, C, 0, 0, 0);
		EXPECT(b->fc1_w, &block_names[B_FC1_W], l, 2, M, C, 0, 0);
		EXPECT(b->fc1_b, &block_names[B_FC1_B], l, 1, M, 0, 0, 0);
		EXPECT(b->fc2_w, &block_names[B_FC2_W], l, 2, C, M, 0, 0);
		EXPECT(b->fc2_b, &block_names[B_FC2_B], l, 1, C, 0, 0, 0);
	}
	EXPECT(m->norm_w, &top_names[N_NORM_W], 0, 1, C, 0, 0, 0);
	EXPECT(m->norm_b, &top_names[N_NORM_B], 0, 1, C, 0, 0, 0);
	EXPECT(m->head_w, &top_names[N_HEAD_W], 0, 2, c->classes, C, 0, 0);
	EXPECT(m->head_b, &top_names[N_HEAD_B], 0, 1, c->classes, 0, 0, 0);
#undef EXPECT

	for (uint32_t i = 0; i < vitrt_st_count(ld->st); i++)
		if (!ld->used[i])
			return load_fail(ld, VITRT_EUNSUPPORTED, ld->path,
					 "unexpected tensor '%s' (not part of a %s ViT with %u blocks)",
					 vitrt_st_tensor(ld->st, i)->name, m->format, c->depth);
	return 0;
}

/* ---- the sidecar ---- */

/* The whole of a small text file; NULL with errno (ENOENT: absent, EFBIG: too large). */
static char *read_small(const char *path, size_t limit, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0;

	if (!f)
		return NULL;
	buf = malloc(limit + 1);
	if (buf) {
		n = fread(buf, 1, limit + 1, f);
		if (ferror(f) || n > limit) {
			free(buf);
			buf = NULL;
			errno = n > limit ? EFBIG : EIO;
		}
	}
	fclose(f);
	*len = n;
	return buf;
}

/* An array of @n finite numbers into @out; @positive: each > 0. */
static int side_floats(struct vit_load *ld, const char *file, const struct vitrt_json *v,
		       float *out, uint32_t n, bool positive)
{
	if (v->kind != VITRT_JSON_ARRAY || v->len != n)
		return load_fail(ld, VITRT_EFORMAT, file,
				 "\"%s\" must be an array of %u numbers (one per input channel)",
				 v->key, n);
	for (uint32_t i = 0; i < n; i++) {
		const struct vitrt_json *e = &v->items[i];

		if (e->kind != VITRT_JSON_NUMBER || (positive && !(e->num > 0)))
			return load_fail(ld, VITRT_EFORMAT, file, "\"%s\"[%u] must be a %snumber",
					 v->key, i, positive ? "positive " : "");
		out[i] = (float)e->num;
	}
	return 0;
}

static int side_labels(struct vit_load *ld, const char *file, const struct vitrt_json *v,
		       struct vitrt_vit *m)
{
	uint32_t n = m->cfg.classes;

	if (v->kind != VITRT_JSON_ARRAY || v->len != n)
		return load_fail(ld, VITRT_EFORMAT, file,
				 "\"labels\" must be an array of %u strings (one per class)", n);
	m->labels = calloc(n, sizeof(*m->labels));
	if (!m->labels)
		return load_fail(ld, VITRT_ENOMEM, file, "out of memory");
	for (uint32_t i = 0; i < n; i++) {
		if (v->items[i].kind != VITRT_JSON_STRING)
			return load_fail(ld, VITRT_EFORMAT, file, "\"labels\"[%u] is not a string", i);
		m->labels[i] = strdup(v->items[i].str);
		if (!m->labels[i])
			return load_fail(ld, VITRT_ENOMEM, file, "out of memory");
	}
	return 0;
}

/* One member of the sidecar object. */
static int side_member(struct vit_load *ld, const char *file, const struct vitrt_json *v,
		       struct vitrt_vit *m)
{
	struct vitrt_vit_config *c = &m->cfg;

	if (!strcmp(v->key, "heads")) {
		if (v->kind != VITRT_JSON_NUMBER || !v->is_int || v->ival < 1 ||
		    v->ival > c->dim || c->dim % v->ival)
			return load_fail(ld, VITRT_EFORMAT, file,
					 "\"heads\" must be a positive integer dividing the "
					 "embedding dimension %u", c->dim);
		c->heads = (uint32_t)v->ival;
		return 0;
	}
	if (!strcmp(v->key, "eps")) {
		if (v->kind != VITRT_JSON_NUMBER || !(v->num > 0) || v->num > 1)
			return load_fail(ld, VITRT_EFORMAT, file,
					 "\"eps\" must be a number in (0, 1]");
		c->eps = (float)v->num;
		return 0;
	}
	if (!strcmp(v->key, "mean"))
		return side_floats(ld, file, v, c->mean, c->chans, false);
	if (!strcmp(v->key, "std"))
		return side_floats(ld, file, v, c->std, c->chans, true);
	if (!strcmp(v->key, "labels"))
		return side_labels(ld, file, v, m);
	/* informational keys (provenance, accuracy, ...) are the writer's business */
	return 0;
}

/* Read "<checkpoint>.json" if present; then settle the number of heads. */
static int vit_sidecar(struct vit_load *ld, struct vitrt_vit *m)
{
	struct vitrt_vit_config *c = &m->cfg;
	struct vitrt_json *doc = NULL;
	char *file, *text, jmsg[256];
	size_t len;
	int ret = 0;

	if (asprintf(&file, "%s.json", ld->path) < 0)
		return load_fail(ld, VITRT_ENOMEM, ld->path, "out of memory");
	text = read_small(file, 16u << 20, &len);
	if (!text && errno != ENOENT) {
		ret = load_fail(ld, VITRT_ESYS, file, "%s", strerror(errno));
	} else if (text) {
		doc = vitrt_json_parse(text, len, jmsg, sizeof(jmsg));
		if (!doc)
			ret = load_fail(ld, VITRT_EFORMAT, file, "%s", jmsg);
		else if (doc->kind != VITRT_JSON_OBJECT)
			ret = load_fail(ld, VITRT_EFORMAT, file, "is %s, not an object",
					vitrt_json_kind_name(doc->kind));
		for (uint32_t i = 0; !ret && i < doc->len; i++)
			ret = side_member(ld, file, &doc->items[i], m);
	}
	if (!ret && !c->heads) {
		if (c->dim % 64)
			ret = load_fail(ld, VITRT_EFORMAT, file,
					"no \"heads\", and the embedding dimension %u is not a "
					"multiple of 64: give \"heads\" in this sidecar", c->dim);
		c->heads = c->dim / 64;
	}
	c->head_dim = c->heads ? c->dim / c->heads : 0;
	vitrt_json_free(doc);
	free(text);
	free(file);
	return ret;
}

/* ---- load / free ---- */

static int vit_load_all(struct vit_load *ld, struct vitrt_vit *m)
{
	struct vitrt_vit_config *c = &m->cfg;
	int ret;

	ld->tv = vitrt_st_find(ld->st, "conv_proj.weight", NULL) ||
		 vitrt_st_find(ld->st, "class_token", NULL);
	if (!ld->tv && !vitrt_st_find(ld->st, "patch_embed.proj.weight", NULL))
		return load_fail(ld, VITRT_EFORMAT, ld->path,
				 "not a ViT checkpoint: neither 'patch_embed.proj.weight' (timm) "
				 "nor 'conv_proj.weight' (torchvision)");
	m->format = ld->tv ? "torchvision" : "timm";
	c->eps = 1e-6f;
	for (int i = 0; i < VITRT_VIT_MAX_CHANS; i++) {
		c->mean[i] = 0.0f;
		c->std[i] = 1.0f;
	}
	ret = vit_infer(ld, c);
	if (ret)
		return ret;
	m->blocks = calloc(c->depth, sizeof(*m->blocks));
	if (!m->blocks)
		return load_fail(ld, VITRT_ENOMEM, ld->path, "out of memory");
	ret = vit_bind(ld, m);
	if (ret)
		return ret;
	return vit_sidecar(ld, m);
}

struct vitrt_vit *vitrt_vit_load(const char *path, int *err, char *msg, size_t cap)
{
	struct vit_load ld = { .path = path, .msg = msg, .cap = cap };
	struct vitrt_vit *m;
	int ret;

	ld.st = vitrt_st_open(path, err, msg, cap);
	if (!ld.st)
		return NULL;
	m = calloc(1, sizeof(*m));
	ld.used = calloc(vitrt_st_count(ld.st) + 1, sizeof(*ld.used));
	if (!m || !ld.used) {
		free(ld.used);
		free(m);
		vitrt_st_close(ld.st);
		*err = vitrt_file_error(msg, cap, VITRT_ENOMEM, path, "out of memory");
		return NULL;
	}
	m->priv = ld.st;
	ret = vit_load_all(&ld, m);
	free(ld.used);
	if (ret) {
		vitrt_vit_free(m);
		*err = ret;
		return NULL;
	}
	*err = 0;
	return m;
}

void vitrt_vit_free(struct vitrt_vit *m)
{
	if (!m)
		return;
	if (m->labels)
		for (uint32_t i = 0; i < m->cfg.classes; i++)
			free(m->labels[i]);
	free(m->labels);
	free(m->blocks);
	vitrt_st_close(m->priv);
	free(m);
}
