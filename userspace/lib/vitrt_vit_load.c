// SPDX-License-Identifier: MIT
/*
 * libvitrt: loading a ViT checkpoint.  The tensors (safetensors, timm or torchvision names)
 * give the architecture and its variant; the sidecar "<file>.json" or a model folder's
 * config.json (timm / Hugging Face) what they cannot: heads, input normalization, resize and
 * crop, labels.  What is exact enough is canonicalized here (LayerScale, a qkv without bias,
 * a position embedding without prefix rows), so the forward and the compiler never see it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vitrt_json.h"
#include "vitrt_priv.h"
#include "vitrt_safetensors.h"
#include "vitrt_vit.h"

/* A tensor's name in timm, torchvision and (some) old torchvision checkpoints. */
struct vit_name {
	const char *timm, *tv, *tv_old;
};

enum {
	N_CLS, N_DIST, N_POS, N_PATCH_W, N_PATCH_B, N_NORM_W, N_NORM_B, N_FC_NORM_W, N_FC_NORM_B,
	N_HEAD_W, N_HEAD_B, N_HEAD_DIST_W, N_HEAD_DIST_B
};

static const struct vit_name top_names[] = {
	[N_CLS] = { "cls_token", "class_token" },
	[N_DIST] = { "dist_token" },
	[N_POS] = { "pos_embed", "encoder.pos_embedding" },
	[N_PATCH_W] = { "patch_embed.proj.weight", "conv_proj.weight" },
	[N_PATCH_B] = { "patch_embed.proj.bias", "conv_proj.bias" },
	[N_NORM_W] = { "norm.weight", "encoder.ln.weight" },
	[N_NORM_B] = { "norm.bias", "encoder.ln.bias" },
	[N_FC_NORM_W] = { "fc_norm.weight" },
	[N_FC_NORM_B] = { "fc_norm.bias" },
	[N_HEAD_W] = { "head.weight", "heads.head.weight" },
	[N_HEAD_B] = { "head.bias", "heads.head.bias" },
	[N_HEAD_DIST_W] = { "head_dist.weight" },
	[N_HEAD_DIST_B] = { "head_dist.bias" },
};

#define TV_LAYER "encoder.layers.encoder_layer_%u."

enum {
	B_NORM1_W, B_NORM1_B, B_QKV_W, B_QKV_B, B_PROJ_W, B_PROJ_B, B_LS1,
	B_NORM2_W, B_NORM2_B, B_FC1_W, B_FC1_B, B_FC2_W, B_FC2_B, B_LS2, B_COUNT
};

static const struct vit_name block_names[B_COUNT] = {
	[B_NORM1_W] = { "blocks.%u.norm1.weight", TV_LAYER "ln_1.weight" },
	[B_NORM1_B] = { "blocks.%u.norm1.bias", TV_LAYER "ln_1.bias" },
	[B_QKV_W] = { "blocks.%u.attn.qkv.weight", TV_LAYER "self_attention.in_proj_weight" },
	[B_QKV_B] = { "blocks.%u.attn.qkv.bias", TV_LAYER "self_attention.in_proj_bias" },
	[B_PROJ_W] = { "blocks.%u.attn.proj.weight", TV_LAYER "self_attention.out_proj.weight" },
	[B_PROJ_B] = { "blocks.%u.attn.proj.bias", TV_LAYER "self_attention.out_proj.bias" },
	[B_LS1] = { "blocks.%u.ls1.gamma" },
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
	[B_LS2] = { "blocks.%u.ls2.gamma" },
};

/* Sanity limits: every size product of the forward stays far from overflow. */
#define MAX_DIM		16384
#define MAX_TOKENS	16384
#define MAX_MLP		65536
#define MAX_CLASSES	(1u << 20)
#define MAX_PATCH	256
#define MAX_DEPTH	1024

struct vit_load {
	const char *path;	/* as given: a file or a model folder */
	char *st_path;		/* the safetensors file */
	char *cfg_path;		/* the sidecar, or the folder's config.json */
	bool folder;
	const struct vitrt_vit_opts *opts;
	struct vitrt_st *st;
	bool tv;		/* torchvision names */
	bool *used;		/* per checkpoint tensor */
	bool no_embed_class;	/* pos_embed has no rows for the prefix tokens */
	bool layer_scale;	/* ls1/ls2 found (and folded) */
	bool has_fc_norm;	/* the final norm is timm's fc_norm */
	bool has_mean, has_std;
	int pool;		/* enum vitrt_vit_pool from the config, or -1 */
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

	/* a name torchvision lacks still names the tensor in messages */
	snprintf(ld->name, sizeof(ld->name), fmts[0] ? fmts[0] : nm->timm, layer);
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

/*
 * The tensor @nm of block @layer with exactly the shape @d0.. (@ndim of them), in *@out;
 * @optional: absent is fine (*@out = NULL).
 */
static int vit_bind_one(struct vit_load *ld, float **out, const struct vit_name *nm,
			uint32_t layer, bool optional, uint32_t ndim, uint64_t d0, uint64_t d1,
			uint64_t d2, uint64_t d3)
{
	const uint64_t want[4] = { d0, d1, d2, d3 };
	struct vitrt_st_tensor *t = vit_find(ld, nm, layer);
	char got_s[96], want_s[96];

	*out = NULL;
	if (!t && optional)
		return 0;
	if (!t)
		return load_fail(ld, VITRT_EFORMAT, ld->st_path, "missing tensor '%s'", ld->name);
	if (t->ndim == ndim && !memcmp(t->shape, want, ndim * sizeof(want[0]))) {
		*out = t->data;
		return 0;
	}
	dims_str(got_s, sizeof(got_s), t->ndim, t->shape);
	dims_str(want_s, sizeof(want_s), ndim, want);
	return load_fail(ld, VITRT_EFORMAT, ld->st_path, "tensor '%s' has shape %s, expected %s",
			 ld->name, got_s, want_s);
}

/* A tensor read only for its shape: @ndim dimensions, checked by the caller. */
static struct vitrt_st_tensor *vit_probe(struct vit_load *ld, const struct vit_name *nm,
					 uint32_t layer, uint32_t ndim, const char *want, int *ret)
{
	struct vitrt_st_tensor *t = vit_find(ld, nm, layer);
	char got_s[96];

	if (!t) {
		*ret = load_fail(ld, VITRT_EFORMAT, ld->st_path, "missing tensor '%s'", ld->name);
		return NULL;
	}
	if (t->ndim != ndim) {
		dims_str(got_s, sizeof(got_s), t->ndim, t->shape);
		*ret = load_fail(ld, VITRT_EFORMAT, ld->st_path,
				 "tensor '%s' has shape %s, expected %s", ld->name, got_s, want);
		return NULL;
	}
	*ret = 0;
	return t;
}

/* Whether the checkpoint has @nm, without marking it used. */
static bool vit_has(struct vit_load *ld, const struct vit_name *nm)
{
	const char *name = ld->tv ? nm->tv : nm->timm;

	return name && vitrt_st_find(ld->st, name, NULL);
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
	return load_fail(ld, VITRT_EUNSUPPORTED, ld->st_path,
			 "tensor '%s': %s %llu is outside [%llu, %llu]", ld->name, what,
			 (unsigned long long)v, (unsigned long long)lo, (unsigned long long)hi);
}

/* Embedding dim, channels and patch from the patch embedding. */
static int infer_patch(struct vit_load *ld, struct vitrt_vit_config *c)
{
	struct vitrt_st_tensor *t;
	int ret;

	t = vit_probe(ld, &top_names[N_PATCH_W], 0, 4, "[C, chans, patch, patch]", &ret);
	if (!t)
		return ret;
	if (t->shape[2] != t->shape[3])
		return load_fail(ld, VITRT_EUNSUPPORTED, ld->st_path,
				 "tensor '%s': non-square patches %llux%llu", ld->name,
				 (unsigned long long)t->shape[2], (unsigned long long)t->shape[3]);
	if ((ret = vit_range(ld, "embedding dimension", t->shape[0], 1, MAX_DIM)) ||
	    (ret = vit_range(ld, "input channels", t->shape[1], 1, VITRT_VIT_MAX_CHANS)) ||
	    (ret = vit_range(ld, "patch size", t->shape[2], 1, MAX_PATCH)))
		return ret;
	c->dim = (uint32_t)t->shape[0];
	c->chans = (uint32_t)t->shape[1];
	c->patch = (uint32_t)t->shape[2];
	return 0;
}

/*
 * Prefix tokens from the tokens present, the grid from the position embedding's rows: the
 * prefix and a square grid, or (timm's no_embed_class, DeiT-III) a square grid alone.  A
 * square plus 1 or 2 is never a square, so the two cannot be confused.
 */
static int infer_tokens(struct vit_load *ld, struct vitrt_vit_config *c)
{
	struct vitrt_st_tensor *t;
	uint32_t rows, g;
	int ret;

	c->prefix = vit_has(ld, &top_names[N_CLS]) + vit_has(ld, &top_names[N_DIST]);
	if (c->prefix == 1 && vit_has(ld, &top_names[N_DIST]))
		return load_fail(ld, VITRT_EUNSUPPORTED, ld->st_path,
				 "tensor 'dist_token' without a class token 'cls_token'");
	t = vit_probe(ld, &top_names[N_POS], 0, 3, "[1, T, C]", &ret);
	if (!t)
		return ret;
	if ((ret = vit_range(ld, "token count", t->shape[1], 1, MAX_TOKENS)))
		return ret;
	rows = (uint32_t)t->shape[1];
	g = rows > c->prefix ? isqrt(rows - c->prefix) : 0;
	if (g && g * g == rows - c->prefix) {
		c->grid = g;
	} else if (c->prefix && isqrt(rows) * isqrt(rows) == rows) {
		c->grid = isqrt(rows);
		ld->no_embed_class = true;
	} else {
		return load_fail(ld, VITRT_EUNSUPPORTED, ld->st_path,
				 "tensor '%s': %u rows are not %u prefix token(s) and a square "
				 "grid, nor a square grid", ld->name, rows, c->prefix);
	}
	c->tokens = c->prefix + c->grid * c->grid;
	c->img = c->grid * c->patch;
	return 0;
}

/* Embedding dim, channels, patch, tokens, depth, MLP width and classes from the shapes. */
static int vit_infer(struct vit_load *ld, struct vitrt_vit_config *c)
{
	struct vitrt_st_tensor *t;
	int ret;

	if ((ret = infer_patch(ld, c)) || (ret = infer_tokens(ld, c)))
		return ret;
	while (c->depth <= MAX_DEPTH && vit_find(ld, &block_names[B_NORM1_W], c->depth))
		c->depth++;
	if (c->depth == 0 || c->depth > MAX_DEPTH) {
		snprintf(ld->name, sizeof(ld->name), ld->tv ? block_names[B_NORM1_W].tv :
			 block_names[B_NORM1_W].timm, c->depth);
		if (c->depth)
			return load_fail(ld, VITRT_EUNSUPPORTED, ld->st_path,
					 "more than %u blocks (found '%s')", MAX_DEPTH, ld->name);
		return load_fail(ld, VITRT_EFORMAT, ld->st_path, "no blocks (no tensor '%s')",
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

/* LayerScale x + gamma * (W a + b) folded into the Linear: row o of W and b[o] times gamma[o]. */
static void fold_layer_scale(float *w, float *b, const float *gamma, uint32_t out, uint32_t in)
{
	for (uint32_t o = 0; o < out; o++) {
		for (uint32_t i = 0; i < in; i++)
			w[(size_t)o * in + i] *= gamma[o];
		b[o] *= gamma[o];
	}
}

#define BIND(dst, nm, layer, opt, ndim, d0, d1, d2, d3)					\
	do {										\
		int ret_ = vit_bind_one(ld, &(dst), nm, layer, opt, ndim, d0, d1, d2, d3); \
		if (ret_)								\
			return ret_;							\
	} while (0)

/* Block @l: a missing qkv bias is zeros of its own (folding writes it), LayerScale is folded. */
static int bind_block(struct vit_load *ld, struct vitrt_vit *m, uint32_t l, float *zero_qkv_b)
{
	const struct vitrt_vit_config *c = &m->cfg;
	struct vitrt_vit_block *b = &m->blocks[l];
	uint64_t C = c->dim, M = c->mlp;
	float *ls1, *ls2;

	BIND(b->norm1_w, &block_names[B_NORM1_W], l, false, 1, C, 0, 0, 0);
	BIND(b->norm1_b, &block_names[B_NORM1_B], l, false, 1, C, 0, 0, 0);
	BIND(b->qkv_w, &block_names[B_QKV_W], l, false, 2, 3 * C, C, 0, 0);
	BIND(b->qkv_b, &block_names[B_QKV_B], l, true, 1, 3 * C, 0, 0, 0);
	BIND(b->proj_w, &block_names[B_PROJ_W], l, false, 2, C, C, 0, 0);
	BIND(b->proj_b, &block_names[B_PROJ_B], l, false, 1, C, 0, 0, 0);
	BIND(ls1, &block_names[B_LS1], l, true, 1, C, 0, 0, 0);
	BIND(b->norm2_w, &block_names[B_NORM2_W], l, false, 1, C, 0, 0, 0);
	BIND(b->norm2_b, &block_names[B_NORM2_B], l, false, 1, C, 0, 0, 0);
	BIND(b->fc1_w, &block_names[B_FC1_W], l, false, 2, M, C, 0, 0);
	BIND(b->fc1_b, &block_names[B_FC1_B], l, false, 1, M, 0, 0, 0);
	BIND(b->fc2_w, &block_names[B_FC2_W], l, false, 2, C, M, 0, 0);
	BIND(b->fc2_b, &block_names[B_FC2_B], l, false, 1, C, 0, 0, 0);
	BIND(ls2, &block_names[B_LS2], l, true, 1, C, 0, 0, 0);
	if (!b->qkv_b)
		b->qkv_b = zero_qkv_b;
	if (ls1)
		fold_layer_scale(b->proj_w, b->proj_b, ls1, c->dim, c->dim);
	if (ls2)
		fold_layer_scale(b->fc2_w, b->fc2_b, ls2, c->dim, c->mlp);
	ld->layer_scale |= ls1 || ls2;
	return 0;
}

/* The final norm: timm's norm, or fc_norm (then norm is Identity, so absent). */
static int bind_norm(struct vit_load *ld, struct vitrt_vit *m)
{
	uint64_t C = m->cfg.dim;

	ld->has_fc_norm = vit_has(ld, &top_names[N_FC_NORM_W]);
	if (ld->has_fc_norm && vit_has(ld, &top_names[N_NORM_W]))
		return load_fail(ld, VITRT_EUNSUPPORTED, ld->st_path,
				 "both 'norm.weight' and 'fc_norm.weight': a ViT has one final "
				 "norm (timm's norm is Identity when fc_norm is used)");
	if (ld->has_fc_norm) {
		BIND(m->norm_w, &top_names[N_FC_NORM_W], 0, false, 1, C, 0, 0, 0);
		BIND(m->norm_b, &top_names[N_FC_NORM_B], 0, false, 1, C, 0, 0, 0);
	} else {
		BIND(m->norm_w, &top_names[N_NORM_W], 0, false, 1, C, 0, 0, 0);
		BIND(m->norm_b, &top_names[N_NORM_B], 0, false, 1, C, 0, 0, 0);
	}
	return 0;
}

/* The position embedding, with zero rows for the prefix tokens when it has none (in @own). */
static int bind_pos(struct vit_load *ld, struct vitrt_vit *m, float *own)
{
	const struct vitrt_vit_config *c = &m->cfg;
	uint64_t C = c->dim, P = (uint64_t)c->grid * c->grid;
	float *pos;

	if (!ld->no_embed_class) {
		BIND(m->pos_embed, &top_names[N_POS], 0, false, 3, 1, c->tokens, C, 0);
		return 0;
	}
	BIND(pos, &top_names[N_POS], 0, false, 3, 1, P, C, 0);
	memcpy(own + c->prefix * C, pos, P * C * sizeof(float));
	m->pos_embed = own;
	return 0;
}

/* Every tensor of the architecture, with its exact shape; canonicalized into m->own. */
static int vit_bind(struct vit_load *ld, struct vitrt_vit *m)
{
	const struct vitrt_vit_config *c = &m->cfg;
	uint64_t C = c->dim, K = c->classes;
	float *zero_qkv_b = m->own + (size_t)c->tokens * C;
	int ret;

	BIND(m->patch_w, &top_names[N_PATCH_W], 0, false, 4, C, c->chans, c->patch, c->patch);
	BIND(m->patch_b, &top_names[N_PATCH_B], 0, false, 1, C, 0, 0, 0);
	if (c->prefix > 0)
		BIND(m->cls_token, &top_names[N_CLS], 0, false, 3, 1, 1, C, 0);
	if (c->prefix > 1)
		BIND(m->dist_token, &top_names[N_DIST], 0, false, 3, 1, 1, C, 0);
	if ((ret = bind_pos(ld, m, m->own)))
		return ret;
	for (uint32_t l = 0; l < c->depth; l++)
		if ((ret = bind_block(ld, m, l, zero_qkv_b + (size_t)l * 3 * C)))
			return ret;
	if ((ret = bind_norm(ld, m)))
		return ret;
	BIND(m->head_w, &top_names[N_HEAD_W], 0, false, 2, K, C, 0, 0);
	BIND(m->head_b, &top_names[N_HEAD_B], 0, false, 1, K, 0, 0, 0);
	if (c->prefix > 1) {
		BIND(m->head_dist_w, &top_names[N_HEAD_DIST_W], 0, false, 2, K, C, 0, 0);
		BIND(m->head_dist_b, &top_names[N_HEAD_DIST_B], 0, false, 1, K, 0, 0, 0);
	}
	for (uint32_t i = 0; i < vitrt_st_count(ld->st); i++)
		if (!ld->used[i])
			return load_fail(ld, VITRT_EUNSUPPORTED, ld->st_path,
					 "unexpected tensor '%s' (not part of a %s ViT with %u "
					 "blocks)", vitrt_st_tensor(ld->st, i)->name, m->format,
					 c->depth);
	return 0;
}

/* ---- the sidecar and config.json ---- */

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

/* Member @key's array @v of @n finite numbers into @out; @positive: each > 0. */
static int cfg_floats(struct vit_load *ld, const char *key, const json_t *v, float *out,
		      uint32_t n, bool positive)
{
	if (!json_is_array(v) || json_array_size(v) != n)
		return load_fail(ld, VITRT_EFORMAT, ld->cfg_path,
				 "\"%s\" must be an array of %u numbers (one per input channel)",
				 key, n);
	for (uint32_t i = 0; i < n; i++) {
		const json_t *e = json_array_get(v, i);

		if (!json_is_number(e) || (positive && !(json_number_value(e) > 0)))
			return load_fail(ld, VITRT_EFORMAT, ld->cfg_path,
					 "\"%s\"[%u] must be a %snumber", key, i,
					 positive ? "positive " : "");
		out[i] = (float)json_number_value(e);
	}
	return 0;
}

/*
 * One string per class from member @key's @v; with @desc (timm's label_descriptions, an
 * object keyed by label name), a label's description replaces its name.
 */
static int cfg_labels(struct vit_load *ld, const char *key, const json_t *v, const json_t *desc,
		      struct vitrt_vit *m)
{
	uint32_t n = m->cfg.classes;

	if (!json_is_array(v) || json_array_size(v) != n)
		return load_fail(ld, VITRT_EFORMAT, ld->cfg_path,
				 "\"%s\" must be an array of %u strings (one per class)", key, n);
	m->labels = calloc(n, sizeof(*m->labels));
	if (!m->labels)
		return load_fail(ld, VITRT_ENOMEM, ld->cfg_path, "out of memory");
	for (uint32_t i = 0; i < n; i++) {
		const char *label = json_string_value(json_array_get(v, i)), *d;

		if (!label)
			return load_fail(ld, VITRT_EFORMAT, ld->cfg_path,
					 "\"%s\"[%u] is not a string", key, i);
		/* NULL unless @desc is an object with a string for @label */
		d = json_string_value(json_object_get(desc, label));
		m->labels[i] = strdup(d ? d : label);
		if (!m->labels[i])
			return load_fail(ld, VITRT_ENOMEM, ld->cfg_path, "out of memory");
	}
	return 0;
}

static int cfg_heads(struct vit_load *ld, const char *key, const json_t *v,
		     struct vitrt_vit_config *c)
{
	json_int_t h = json_integer_value(v);

	if (!json_is_integer(v) || h < 1 || h > c->dim || c->dim % h)
		return load_fail(ld, VITRT_EFORMAT, ld->cfg_path,
				 "\"%s\" must be a positive integer dividing the embedding "
				 "dimension %u", key, c->dim);
	c->heads = (uint32_t)h;
	return 0;
}

static int cfg_interp(struct vit_load *ld, const char *key, const json_t *v,
		      struct vitrt_vit_config *c)
{
	int i = json_is_string(v) ? vitrt_interp_parse(json_string_value(v)) : -1;

	if (i < 0)
		return load_fail(ld, json_is_string(v) ? VITRT_EUNSUPPORTED : VITRT_EFORMAT,
				 ld->cfg_path, "\"%s\" must be \"bicubic\" or \"bilinear\"", key);
	c->interp = (enum vitrt_interp)i;
	return 0;
}

static int cfg_crop_pct(struct vit_load *ld, const char *key, const json_t *v,
			struct vitrt_vit_config *c)
{
	double pct = json_number_value(v);

	/* the CLI's --crop-pct bound: the resized side is at most 20 times the model's */
	if (!json_is_number(v) || !(pct >= 0.05 && pct <= 1.0))
		return load_fail(ld, VITRT_EFORMAT, ld->cfg_path,
				 "\"%s\" must be a number in [0.05, 1]", key);
	c->crop_pct = pct;
	return 0;
}

static int cfg_pool(struct vit_load *ld, const char *key, const json_t *v)
{
	const char *s = json_string_value(v);

	if (!s)
		return load_fail(ld, VITRT_EFORMAT, ld->cfg_path, "\"%s\" must be a string", key);
	if (!strcmp(s, "token"))
		ld->pool = VITRT_POOL_TOKEN;
	else if (!strcmp(s, "avg"))
		ld->pool = VITRT_POOL_AVG;
	else
		return load_fail(ld, VITRT_EUNSUPPORTED, ld->cfg_path,
				 "\"%s\": '%s' pooling is not supported (\"token\" or \"avg\")",
				 key, s);
	return 0;
}

/* The members config.json and the sidecar share; 1 if @key is none of them. */
static int cfg_common(struct vit_load *ld, const char *key, const json_t *v, struct vitrt_vit *m)
{
	struct vitrt_vit_config *c = &m->cfg;

	if (!strcmp(key, "mean")) {
		ld->has_mean = true;
		return cfg_floats(ld, key, v, c->mean, c->chans, false);
	}
	if (!strcmp(key, "std")) {
		ld->has_std = true;
		return cfg_floats(ld, key, v, c->std, c->chans, true);
	}
	if (!strcmp(key, "interpolation"))
		return cfg_interp(ld, key, v, c);
	if (!strcmp(key, "crop_pct"))
		return cfg_crop_pct(ld, key, v, c);
	if (!strcmp(key, "global_pool"))
		return cfg_pool(ld, key, v);
	return 1;
}

/* One member of the sidecar object. */
static int side_member(struct vit_load *ld, const char *key, const json_t *v, struct vitrt_vit *m)
{
	int ret = cfg_common(ld, key, v, m);

	if (ret <= 0)
		return ret;
	if (!strcmp(key, "heads"))
		return cfg_heads(ld, key, v, &m->cfg);
	if (!strcmp(key, "eps")) {
		double eps = json_number_value(v);

		if (!json_is_number(v) || !(eps > 0) || eps > 1)
			return load_fail(ld, VITRT_EFORMAT, ld->cfg_path,
					 "\"eps\" must be a number in (0, 1]");
		m->cfg.eps = (float)eps;
		return 0;
	}
	if (!strcmp(key, "labels"))
		return cfg_labels(ld, key, v, NULL, m);
	/* informational keys (provenance, accuracy, ...) are the writer's business */
	return 0;
}

/* pretrained_cfg's input_size [chans, img, img] must be the checkpoint's. */
static int cfg_input_size(struct vit_load *ld, const json_t *v, const struct vitrt_vit_config *c)
{
	const uint32_t want[3] = { c->chans, c->img, c->img };

	if (!json_is_array(v) || json_array_size(v) != 3)
		return load_fail(ld, VITRT_EFORMAT, ld->cfg_path,
				 "\"input_size\" must be an array [channels, height, width]");
	for (uint32_t i = 0; i < 3; i++) {
		const json_t *e = json_array_get(v, i);

		if (!json_is_integer(e) || json_integer_value(e) != want[i])
			return load_fail(ld, VITRT_EFORMAT, ld->cfg_path,
					 "\"input_size\" is not the checkpoint's [%u, %u, %u] "
					 "(patch %u, %u position rows)", c->chans, c->img, c->img,
					 c->patch, c->tokens);
	}
	return 0;
}

/* config.json's pretrained_cfg: preprocessing; its other keys are timm's business. */
static int cfg_pretrained(struct vit_load *ld, json_t *pc, struct vitrt_vit *m)
{
	const char *key;
	json_t *v;
	int ret;

	if (!json_is_object(pc))
		return load_fail(ld, VITRT_EFORMAT, ld->cfg_path,
				 "\"pretrained_cfg\" must be an object");
	json_object_foreach(pc, key, v) {
		const char *s = json_string_value(v);

		if (json_is_null(v) || !strcmp(key, "global_pool"))
			continue;
		if (!strcmp(key, "input_size"))
			ret = cfg_input_size(ld, v, &m->cfg);
		else if (!strcmp(key, "crop_mode") && (!s || strcmp(s, "center")))
			ret = load_fail(ld, VITRT_EUNSUPPORTED, ld->cfg_path,
					"\"crop_mode\" must be \"center\" (the only crop vitrt "
					"does)");
		else
			ret = cfg_common(ld, key, v, m);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* config.json's model_args: only num_heads matters (the shapes give the rest). */
static int cfg_model_args(struct vit_load *ld, const json_t *a, struct vitrt_vit *m)
{
	const json_t *v;

	if (!json_is_object(a))
		return load_fail(ld, VITRT_EFORMAT, ld->cfg_path,
				 "\"model_args\" must be an object");
	v = json_object_get(a, "num_heads");
	return v ? cfg_heads(ld, "num_heads", v, &m->cfg) : 0;
}

static int cfg_num_classes(struct vit_load *ld, const json_t *v, const struct vitrt_vit_config *c)
{
	if (!json_is_integer(v) || json_integer_value(v) != c->classes)
		return load_fail(ld, VITRT_EFORMAT, ld->cfg_path,
				 "\"num_classes\" must be %u, the rows of 'head.weight'",
				 c->classes);
	return 0;
}

/* One member of a timm config.json (hub.py's save_config_for_hf). */
static int config_member(struct vit_load *ld, const json_t *doc, const char *key, json_t *v,
			 struct vitrt_vit *m)
{
	if (json_is_null(v))
		return 0;
	if (!strcmp(key, "architecture"))
		return json_is_string(v) ? 0 :
		       load_fail(ld, VITRT_EFORMAT, ld->cfg_path,
				 "\"architecture\" must be a string");
	if (!strcmp(key, "num_classes"))
		return cfg_num_classes(ld, v, &m->cfg);
	if (!strcmp(key, "global_pool"))
		return cfg_pool(ld, key, v);
	if (!strcmp(key, "label_names"))
		return cfg_labels(ld, key, v, json_object_get(doc, "label_descriptions"), m);
	if (!strcmp(key, "pretrained_cfg"))
		return cfg_pretrained(ld, v, m);
	if (!strcmp(key, "model_args"))
		return cfg_model_args(ld, v, m);
	return 0;
}

/* Every member of the sidecar or config.json @doc, in the file's order. */
static int config_members(struct vit_load *ld, json_t *doc, struct vitrt_vit *m)
{
	const char *key;
	json_t *v;
	int ret;

	if (!json_is_object(doc))
		return load_fail(ld, VITRT_EFORMAT, ld->cfg_path, "is %s, not an object",
				 vitrt_json_kind(doc));
	json_object_foreach(doc, key, v) {
		ret = ld->folder ? config_member(ld, doc, key, v, m) : side_member(ld, key, v, m);
		if (ret)
			return ret;
	}
	return 0;
}

/* Read the sidecar (optional) or config.json (required) into @m. */
static int vit_config(struct vit_load *ld, struct vitrt_vit *m)
{
	char *text, jmsg[256];
	json_t *doc;
	size_t len;
	int ret;

	text = read_small(ld->cfg_path, 16u << 20, &len);
	if (!text && (errno != ENOENT || ld->folder))
		return load_fail(ld, VITRT_ESYS, ld->cfg_path, "%s", strerror(errno));
	if (!text)
		return 0;
	doc = vitrt_json_load(text, len, jmsg, sizeof(jmsg));
	free(text);
	if (!doc)
		return load_fail(ld, VITRT_EFORMAT, ld->cfg_path, "%s", jmsg);
	ret = config_members(ld, doc, m);
	json_decref(doc);
	return ret;
}

/* ---- settling the variant ---- */

/* Heads: given, or C / 64 (16 for ViT-H's 1280, which is not 64 wide per head). */
static int settle_heads(struct vit_load *ld, struct vitrt_vit_config *c)
{
	if (!c->heads && c->dim == 1280)
		c->heads = 16;
	if (!c->heads && c->dim % 64 == 0)
		c->heads = c->dim / 64;
	if (!c->heads)
		return load_fail(ld, VITRT_EFORMAT, ld->cfg_path,
				 "no %s, and the embedding dimension %u is not a multiple of 64: "
				 "give %s", ld->folder ? "\"model_args\": {\"num_heads\"}" :
				 "\"heads\"", c->dim, ld->folder ? "it in config.json" :
				 "\"heads\" in this sidecar");
	c->head_dim = c->dim / c->heads;
	return 0;
}

/* The pooling: fc_norm means avg (timm), no class token needs avg, distillation needs token. */
static int settle_pool(struct vit_load *ld, struct vitrt_vit *m)
{
	struct vitrt_vit_config *c = &m->cfg;

	c->fc_norm = ld->has_fc_norm;
	c->pool = ld->pool >= 0 ? (enum vitrt_vit_pool)ld->pool :
		  ld->has_fc_norm || !c->prefix ? VITRT_POOL_AVG : VITRT_POOL_TOKEN;
	if (c->pool == VITRT_POOL_TOKEN && ld->has_fc_norm)
		return load_fail(ld, VITRT_EUNSUPPORTED, ld->cfg_path,
				 "\"global_pool\" is \"token\" but the checkpoint has "
				 "'fc_norm.weight' (timm's norm for average pooling)");
	if (c->pool == VITRT_POOL_TOKEN && !c->prefix)
		return load_fail(ld, VITRT_EUNSUPPORTED, ld->cfg_path,
				 "\"global_pool\" is \"token\" but the checkpoint has no class "
				 "token 'cls_token'");
	if (c->pool == VITRT_POOL_AVG && c->prefix > 1)
		return load_fail(ld, VITRT_EUNSUPPORTED, ld->cfg_path,
				 "\"global_pool\" is \"avg\" but a distilled DeiT ('dist_token') "
				 "pools tokens (timm asserts it)");
	if (c->prefix > 1)
		m->variant = "DeiT distilled";
	else if (c->pool == VITRT_POOL_AVG)
		m->variant = c->fc_norm ? "average-pooled ViT (fc_norm)" : "average-pooled ViT";
	else
		m->variant = ld->layer_scale || ld->no_embed_class ? "DeiT-III" : "ViT";
	return 0;
}

/* Mean and std: @o's, else the config's; neither is an error naming where to give them. */
static int settle_norm(struct vit_load *ld, struct vitrt_vit_config *c)
{
	const struct vitrt_vit_opts *o = ld->opts;

	if (o && ((o->nmean && o->nmean != c->chans) || (o->nstd && o->nstd != c->chans)))
		return load_fail(ld, VITRT_EINVAL, ld->path,
				 "%u mean and %u std values given for %u input channels",
				 o->nmean, o->nstd, c->chans);
	for (uint32_t i = 0; o && i < o->nmean; i++)
		c->mean[i] = o->mean[i];
	for (uint32_t i = 0; o && i < o->nstd; i++) {
		if (!(o->std[i] > 0))
			return load_fail(ld, VITRT_EINVAL, ld->path, "std[%u] must be positive", i);
		c->std[i] = o->std[i];
	}
	if ((ld->has_mean || (o && o->nmean)) && (ld->has_std || (o && o->nstd)))
		return 0;
	if (ld->folder)
		return load_fail(ld, VITRT_EFORMAT, ld->cfg_path,
				 "no input mean/std: give them in pretrained_cfg, or on the "
				 "command line (--mean, --std)");
	return load_fail(ld, VITRT_EFORMAT, ld->path,
			 "no input mean/std: give them in a sidecar %s, or on the command line "
			 "(--mean, --std)", ld->cfg_path);
}

/* ---- load / free ---- */

static void vit_defaults(struct vitrt_vit_config *c)
{
	struct vitrt_prep p = VITRT_PREP_INIT(0, 0);

	c->eps = 1e-6f;
	c->interp = p.interp;
	c->crop_pct = p.crop_pct;
	for (int i = 0; i < VITRT_VIT_MAX_CHANS; i++) {
		c->mean[i] = 0.0f;
		c->std[i] = 1.0f;
	}
}

static int vit_load_all(struct vit_load *ld, struct vitrt_vit *m)
{
	struct vitrt_vit_config *c = &m->cfg;
	int ret;

	ld->tv = vitrt_st_find(ld->st, "conv_proj.weight", NULL) ||
		 vitrt_st_find(ld->st, "class_token", NULL);
	if (!ld->tv && !vitrt_st_find(ld->st, "patch_embed.proj.weight", NULL))
		return load_fail(ld, VITRT_EFORMAT, ld->st_path,
				 "not a ViT checkpoint: neither 'patch_embed.proj.weight' (timm) "
				 "nor 'conv_proj.weight' (torchvision)");
	m->format = ld->tv ? "torchvision" : "timm";
	vit_defaults(c);
	ret = vit_infer(ld, c);
	if (ret)
		return ret;
	m->blocks = calloc(c->depth, sizeof(*m->blocks));
	/* position rows for a no_embed_class model, then a zero qkv bias per block */
	m->own = calloc((size_t)c->tokens * c->dim + (size_t)c->depth * 3 * c->dim,
			sizeof(float));
	if (!m->blocks || !m->own)
		return load_fail(ld, VITRT_ENOMEM, ld->st_path, "out of memory");
	if ((ret = vit_bind(ld, m)) || (ret = vit_config(ld, m)) ||
	    (ret = settle_heads(ld, c)) || (ret = settle_pool(ld, m)))
		return ret;
	return settle_norm(ld, c);
}

/* The safetensors file and the config of @path: a model folder or a checkpoint file. */
static int vit_paths(struct vit_load *ld)
{
	struct stat sb;
	int n;

	ld->folder = !stat(ld->path, &sb) && S_ISDIR(sb.st_mode);
	if (ld->folder)
		n = asprintf(&ld->st_path, "%s/model.safetensors", ld->path) < 0 ||
		    asprintf(&ld->cfg_path, "%s/config.json", ld->path) < 0;
	else
		n = !(ld->st_path = strdup(ld->path)) ||
		    asprintf(&ld->cfg_path, "%s.json", ld->path) < 0;
	if (n)
		return load_fail(ld, VITRT_ENOMEM, ld->path, "out of memory");
	if (ld->folder && stat(ld->st_path, &sb))
		return load_fail(ld, VITRT_ESYS, ld->path,
				 "no model.safetensors (%s; a .pth or .bin state_dict converts "
				 "with models/convert_state_dict.py)", strerror(errno));
	return 0;
}

struct vitrt_vit *vitrt_vit_load_opts(const char *path, const struct vitrt_vit_opts *o,
				      int *err, char *msg, size_t cap)
{
	struct vit_load ld = { .path = path, .opts = o, .pool = -1, .msg = msg, .cap = cap };
	struct vitrt_vit *m = NULL;
	int ret;

	ret = vit_paths(&ld);
	if (!ret) {
		ld.st = vitrt_st_open(ld.st_path, &ret, msg, cap);
		if (ld.st) {
			m = calloc(1, sizeof(*m));
			ld.used = calloc(vitrt_st_count(ld.st) + 1, sizeof(*ld.used));
			ret = m && ld.used ? 0 : vitrt_file_error(msg, cap, VITRT_ENOMEM, path,
								    "out of memory");
		}
	}
	if (m)
		m->priv = ld.st;	/* the weights stay in the checkpoint's memory */
	else
		vitrt_st_close(ld.st);
	if (!ret)
		ret = vit_load_all(&ld, m);
	free(ld.used);
	free(ld.st_path);
	free(ld.cfg_path);
	if (ret) {
		vitrt_vit_free(m);
		m = NULL;
	}
	*err = ret;
	return m;
}

struct vitrt_vit *vitrt_vit_load(const char *path, int *err, char *msg, size_t cap)
{
	return vitrt_vit_load_opts(path, NULL, err, msg, cap);
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
	free(m->own);
	vitrt_st_close(m->priv);
	free(m);
}
