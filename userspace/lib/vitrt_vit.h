/* SPDX-License-Identifier: MIT */
/*
 * The floating-point ViT: checkpoint loading and the FP32 reference forward.
 *
 * A pre-norm ViT (Documentation/runtime.rst): patch embedding, depth blocks of
 * x += proj(attn(LN1(x))); x += fc2(GELU(fc1(LN2(x)))), a final LayerNorm and a linear head
 * on the class token, on the class and distillation tokens (DeiT distilled: the two heads
 * averaged) or on the mean of the patch tokens (timm's global_pool='avg').  The forward
 * matches PyTorch (timm / torchvision) to ~1e-5 relative on the logits and exposes every
 * quantization point to a hook ("taps"), which may rewrite the tensor in place: the forward
 * continues from the rewritten values.
 */
#ifndef VITRT_VIT_H
#define VITRT_VIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vitrt.h"
#include "vitrt_image.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The taps, in forward order.  T tokens, C channels, H heads, M = MLP width.  Per-block taps
 * carry the block index as @layer; INPUT, EMBED, NORMF and LOGITS_OUT carry 0.
 */
enum vitrt_tap {
	VITRT_TAP_INPUT,	/* chans x img x img, the normalized image */
	VITRT_TAP_EMBED,	/* T x C: patch GEMM + prefix tokens + position */
	VITRT_TAP_NORM1,	/* T x C: LayerNorm output before the affine */
	VITRT_TAP_Q,		/* T x C */
	VITRT_TAP_K,		/* T x C */
	VITRT_TAP_V,		/* T x C */
	VITRT_TAP_LOGITS,	/* H x T x T: q k^T * D^-0.5 */
	VITRT_TAP_PROBS,	/* H x T x T: softmax of LOGITS */
	VITRT_TAP_ATTN,		/* T x C: PROBS V, heads side by side, before proj */
	VITRT_TAP_RES1,		/* T x C: residual stream after the attention branch */
	VITRT_TAP_NORM2,	/* T x C: before the affine */
	VITRT_TAP_FC1,		/* T x M: fc1 output, the GELU input */
	VITRT_TAP_GELU,		/* T x M: the fc2 input */
	VITRT_TAP_RES2,		/* T x C: residual stream after the MLP branch */
	VITRT_TAP_NORMF,	/* R x C: final LN before the affine (vitrt_vit_normf_rows) */
	VITRT_TAP_LOGITS_OUT,	/* classes */
	VITRT_TAP_COUNT
};

/* "input", "embed", "norm1", ... */
const char *vitrt_tap_name(enum vitrt_tap tap);

/* Called at every tap with the tensor's @n floats at @x, which it may rewrite. */
typedef void (*vitrt_vit_hook)(void *ctx, enum vitrt_tap tap, uint32_t layer, float *x, size_t n);

#define VITRT_VIT_MAX_CHANS	4

/* What the head reads (timm's global_pool). */
enum vitrt_vit_pool {
	VITRT_POOL_TOKEN,	/* the class token (distilled: and its token, heads averaged) */
	VITRT_POOL_AVG,		/* the mean of the patch tokens, prefix tokens left out */
};

struct vitrt_vit_config {
	uint32_t chans;		/* input channels */
	uint32_t img;		/* input height = width */
	uint32_t patch;		/* patch height = width */
	uint32_t grid;		/* img / patch */
	uint32_t prefix;	/* tokens before the patches: 0, class, or class + distillation */
	uint32_t tokens;	/* prefix + grid^2 */
	enum vitrt_vit_pool pool;
	bool fc_norm;		/* AVG: the final norm after the mean (timm fc_norm), not before */
	uint32_t dim;		/* C */
	uint32_t heads;		/* H */
	uint32_t head_dim;	/* D = C / H */
	uint32_t depth;		/* blocks */
	uint32_t mlp;		/* M, fc1 outputs */
	uint32_t classes;
	float eps;		/* LayerNorm epsilon */
	float mean[VITRT_VIT_MAX_CHANS];	/* input normalization: (pixel/255 - mean) / std */
	float std[VITRT_VIT_MAX_CHANS];
	enum vitrt_interp interp;	/* how a picture is resized for this model ... */
	double crop_pct;		/* ... and cropped (vitrt_prep); timm's DeiT defaults */
};

/* Linear weights are row-major [out][in]: each output is a dot product with one row. */
struct vitrt_vit_block {
	float *norm1_w, *norm1_b;	/* [C] */
	float *qkv_w, *qkv_b;		/* [3C][C], [3C]: rows q, then k, then v; head h owns rows hD.. */
	float *proj_w, *proj_b;		/* [C][C], [C] */
	float *norm2_w, *norm2_b;	/* [C] */
	float *fc1_w, *fc1_b;		/* [M][C], [M] */
	float *fc2_w, *fc2_b;		/* [C][M], [C] */
};

/*
 * The loader canonicalizes what is exact enough to: LayerScale (DeiT-III's ls1/ls2 gamma) is
 * folded into proj and fc2, a qkv without bias gets a zero one, and a position embedding
 * without rows for the prefix tokens (timm's no_embed_class) gets zero rows for them.
 */
struct vitrt_vit {
	struct vitrt_vit_config cfg;
	const char *format;		/* "timm" or "torchvision": the names found */
	const char *variant;		/* "ViT", "DeiT distilled", "ViT average-pooled", ... */
	float *patch_w, *patch_b;	/* [C][chans * patch * patch] (c, y, x order), [C] */
	float *cls_token;		/* [C], or NULL without a class token */
	float *dist_token;		/* [C], or NULL without a distillation token */
	float *pos_embed;		/* [T][C] */
	struct vitrt_vit_block *blocks;	/* [depth] */
	float *norm_w, *norm_b;		/* [C]: the final norm (timm norm or fc_norm) */
	float *head_w, *head_b;		/* [classes][C], [classes] */
	float *head_dist_w, *head_dist_b;	/* the distillation head, or NULL */
	char **labels;			/* [classes] from the sidecar or config.json, or NULL */
	void *priv;			/* the checkpoint owning the weights */
	float *own;			/* the tensors the loader made (zero biases, ...) */
};

/* Rows of the NORMF tap: 1 (class token, pooled mean), 2 (distilled) or the patches. */
uint32_t vitrt_vit_normf_rows(const struct vitrt_vit_config *cfg);

/* What the caller knows better than the checkpoint (vitrt's --mean, --std). */
struct vitrt_vit_opts {
	uint32_t nmean, nstd;		/* values given (0: the checkpoint's) */
	float mean[VITRT_VIT_MAX_CHANS], std[VITRT_VIT_MAX_CHANS];
};

/*
 * Load a ViT checkpoint: a safetensors file (timm or torchvision names) with its optional
 * sidecar "<path>.json", or a timm / Hugging Face model folder holding model.safetensors and
 * config.json (Documentation/runtime.rst).  The sidecar is an object
 * {"heads": H, "eps": 1e-6, "mean": [..], "std": [..], "labels": [..], "interpolation":
 * "bicubic", "crop_pct": 0.875, "global_pool": "token"}; every key is optional and checked
 * (mean/std: one number per input channel, std > 0; labels: one string per class); other
 * keys are ignored, so writers may add provenance.  Without "heads", H = C / 64 when C is a
 * multiple of 64 (16 for C = 1280, ViT-H), else it is an error.
 * The input mean and std must come from the sidecar, config.json or @o (which wins).
 * The checkpoint must hold exactly the tensors of one supported variant with the shapes
 * implied by the config: a missing, misshapen or unexpected tensor is an error naming the
 * tensor.  NULL on error with *@err and "<file>: <problem>" in @msg.
 */
struct vitrt_vit *vitrt_vit_load_opts(const char *path, const struct vitrt_vit_opts *o,
				      int *err, char *msg, size_t cap);
/* vitrt_vit_load_opts without options. */
struct vitrt_vit *vitrt_vit_load(const char *path, int *err, char *msg, size_t cap);
void vitrt_vit_free(struct vitrt_vit *m);

/*
 * Run one image: @image is [chans][img][img], already normalized; @logits receives
 * cfg.classes floats.  @hook may be NULL.  Returns 0, or VITRT_ENOMEM.  Thread-safe: the
 * model is only read (scratch memory is per call).
 */
int vitrt_vit_forward(const struct vitrt_vit *m, const float *image, float *logits,
		      vitrt_vit_hook hook, void *ctx);

/*
 * Fold every LayerNorm affine into the Linear that follows it (norm1 -> qkv, norm2 -> fc1,
 * final norm -> head and head_dist; the mean of average pooling commutes with it):
 * W' = W diag(gamma), b' = b + W beta, then gamma = 1, beta = 0.  Exact in real arithmetic;
 * the logits move only by float rounding.
 */
void vitrt_vit_fold_norms(struct vitrt_vit *m);

/* Multiply-accumulates of one forward (GEMMs and attention matmuls). */
uint64_t vitrt_vit_macs(const struct vitrt_vit_config *cfg);

/*
 * C[m][n] = sum_k A[m][k] * B[n][k] (+ bias[n]): rows of A and B are @lda / @ldb floats apart,
 * rows of C @ldc.  The forward's kernel, exposed for the tests and the calibration code.
 */
void vitrt_sgemm_nt(float *c, size_t ldc, const float *a, size_t lda, const float *b,
		    size_t ldb, const float *bias, uint32_t m, uint32_t n, uint32_t k);
/* Its plain twin: the same sums, accumulated in double. */
void vitrt_sgemm_nt_ref(float *c, size_t ldc, const float *a, size_t lda,
			const float *b, size_t ldb, const float *bias, uint32_t m,
			uint32_t n, uint32_t k);

#ifdef __cplusplus
}
#endif

#endif /* VITRT_VIT_H */
