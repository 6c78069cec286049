// SPDX-License-Identifier: MIT
/*
 * Calibration: the FP32 forward runs on sample images with a hook that keeps a bounded random
 * sample of every tap's values; each 8-bit tensor then gets the clipping range with the least
 * quantization error over its sample (a grid search, better than plain min/max because a few
 * outliers no longer stretch the grid), each 16-bit stream a range with headroom over its
 * largest value.  The fake-quant hook rounds every tap to its grid: the naive "quantize,
 * dequantize, compute in float" graph the integer program is compared against.
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "vitrt_calib.h"
#include "vitrt_compile.h"
#include "vitrt_image.h"

#define SAMPLE_CAP	(1u << 15)	/* values kept per tap and layer */
#define CLIP_STEPS	64		/* clip candidates between 100% and 20% of max |x| */
#define S16_HEADROOM	1.25		/* residual streams: room for unseen larger values */

struct tap_sample {
	float *v;
	uint32_t n;
	uint64_t seen;
	double amax;
};

struct vitrt_calib {
	uint32_t depth;
	uint64_t rng;
	struct tap_sample *slot;	/* [VITRT_TAP_COUNT][depth] */
};

static struct tap_sample *slot(struct vitrt_calib *c, enum vitrt_tap tap, uint32_t layer)
{
	return &c->slot[(size_t)tap * c->depth + (layer < c->depth ? layer : 0)];
}

struct vitrt_calib *vitrt_calib_new(uint32_t depth)
{
	struct vitrt_calib *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->depth = depth ? depth : 1;
	c->rng = 0x2545f4914f6cdd1dull;
	c->slot = calloc((size_t)VITRT_TAP_COUNT * c->depth, sizeof(*c->slot));
	if (!c->slot) {
		free(c);
		return NULL;
	}
	return c;
}

void vitrt_calib_free(struct vitrt_calib *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < (size_t)VITRT_TAP_COUNT * c->depth; i++)
		free(c->slot[i].v);
	free(c->slot);
	free(c);
}

static uint64_t next(struct vitrt_calib *c)
{
	c->rng ^= c->rng << 13;
	c->rng ^= c->rng >> 7;
	c->rng ^= c->rng << 17;
	return c->rng;
}

/* Reservoir sampling: every value seen has the same chance to be in the sample. */
void vitrt_calib_hook(void *ctx, enum vitrt_tap tap, uint32_t layer, float *x, size_t n)
{
	struct vitrt_calib *c = ctx;
	struct tap_sample *s = slot(c, tap, layer);

	if (!s->v) {
		s->v = malloc(SAMPLE_CAP * sizeof(*s->v));
		if (!s->v)
			return;
	}
	for (size_t i = 0; i < n; i++) {
		s->amax = fmax(s->amax, fabs(x[i]));
		if (s->n < SAMPLE_CAP) {
			s->v[s->n++] = x[i];
		} else {
			uint64_t j = next(c) % (s->seen + 1);

			if (j < SAMPLE_CAP)
				s->v[j] = x[i];
		}
		s->seen++;
	}
}

/* Squared error of the sample on the grid {lo..hi} * sc. */
static double grid_error(const struct tap_sample *s, double sc, double lo, double hi)
{
	double e = 0;

	for (uint32_t j = 0; j < s->n; j++) {
		double q = nearbyint(s->v[j] / sc);

		q = q > hi ? hi : q < lo ? lo : q;
		e += (q * sc - s->v[j]) * (q * sc - s->v[j]);
	}
	return e;
}

/* The symmetric scale (grid -qmax-1..qmax) that reproduces the sample with least squared error. */
static float mse_scale(const struct tap_sample *s, int qmax)
{
	double best = s->amax / qmax, best_err = INFINITY;

	if (s->amax == 0 || !s->n)
		return 1.0f;
	for (int i = 0; i < CLIP_STEPS; i++) {
		double sc = s->amax * (1.0 - 0.8 * i / CLIP_STEPS) / qmax;
		double e = grid_error(s, sc, -qmax - 1, qmax);

		if (e < best_err) {
			best_err = e;
			best = sc;
		}
	}
	return (float)best;
}

/*
 * The same for an unsigned 4-bit grid with a zero point, {-z..15-z} * sc: every z that keeps
 * at least half the grid positive, each with the clip candidates of mse_scale.
 */
static float mse_scale_u4(const struct tap_sample *s, int32_t *zero)
{
	double best = s->amax / 15, best_err = INFINITY;

	*zero = 0;
	if (s->amax == 0 || !s->n)
		return 1.0f;
	for (int32_t z = 0; z <= 7; z++) {
		for (int i = 0; i < CLIP_STEPS; i++) {
			double sc = s->amax * (1.0 - 0.8 * i / CLIP_STEPS) / (15 - z);
			double e = grid_error(s, sc, -z, 15 - z);

			if (e < best_err) {
				best_err = e;
				best = sc;
				*zero = z;
			}
		}
	}
	return (float)best;
}

static float s16_scale(const struct tap_sample *s)
{
	return s->amax > 0 ? (float)(s->amax * S16_HEADROOM / 32767) : 1.0f;
}

int vitrt_calib_scales(struct vitrt_calib *c, struct vitrt_scales *sc, uint32_t act_bits)
{
	/* the Linear layers' inputs: 4 bits for W4A4, clipped by least error like the rest */
	int qa = act_bits == 4 ? 7 : 127;

	if (act_bits != 4 && act_bits != 8)
		return VITRT_EINVAL;
	sc->layer = calloc(c->depth, sizeof(*sc->layer));
	if (!sc->layer)
		return VITRT_ENOMEM;
	sc->act_bits = act_bits;
	sc->input = mse_scale(slot(c, VITRT_TAP_INPUT, 0), 127);
	sc->embed = s16_scale(slot(c, VITRT_TAP_EMBED, 0));
	sc->normf = mse_scale(slot(c, VITRT_TAP_NORMF, 0), 127);
	sc->logits = s16_scale(slot(c, VITRT_TAP_LOGITS_OUT, 0));
	sc->probs = vitrt_probs_scale(0);	/* the model's token count is not known here */
	for (uint32_t l = 0; l < c->depth; l++) {
		struct vitrt_layer_scales *ls = &sc->layer[l];

		ls->norm1 = mse_scale(slot(c, VITRT_TAP_NORM1, l), qa);
		ls->q = mse_scale(slot(c, VITRT_TAP_Q, l), 127);
		ls->k = mse_scale(slot(c, VITRT_TAP_K, l), 127);
		ls->v = mse_scale(slot(c, VITRT_TAP_V, l), 127);
		ls->logits = mse_scale(slot(c, VITRT_TAP_LOGITS, l), 127);
		ls->attn = mse_scale(slot(c, VITRT_TAP_ATTN, l), qa);
		ls->res1 = s16_scale(slot(c, VITRT_TAP_RES1, l));
		ls->norm2 = mse_scale(slot(c, VITRT_TAP_NORM2, l), qa);
		ls->fc1 = mse_scale(slot(c, VITRT_TAP_FC1, l), 127);
		if (act_bits == 4)
			ls->gelu = mse_scale_u4(slot(c, VITRT_TAP_GELU, l), &ls->gelu_zero);
		else
			ls->gelu = mse_scale(slot(c, VITRT_TAP_GELU, l), 127);
		ls->res2 = s16_scale(slot(c, VITRT_TAP_RES2, l));
	}
	return 0;
}

/* ---- fake quantization ---- */

/* Whether @tap is a Linear layer's input inside a block: s4 under W4A4 (GELU's is u4). */
static bool linear_input(enum vitrt_tap tap)
{
	return tap == VITRT_TAP_NORM1 || tap == VITRT_TAP_ATTN || tap == VITRT_TAP_NORM2;
}

/* Scale and integer range of a tap; false for taps that are not quantized. */
static bool tap_grid(const struct vitrt_scales *sc, enum vitrt_tap tap, uint32_t layer,
		     double *s, double *lo, double *hi)
{
	const struct vitrt_layer_scales *ls = &sc->layer[layer];
	const float *s8[VITRT_TAP_COUNT] = {
		[VITRT_TAP_INPUT] = &sc->input, [VITRT_TAP_NORM1] = &ls->norm1,
		[VITRT_TAP_Q] = &ls->q, [VITRT_TAP_K] = &ls->k, [VITRT_TAP_V] = &ls->v,
		[VITRT_TAP_LOGITS] = &ls->logits, [VITRT_TAP_ATTN] = &ls->attn,
		[VITRT_TAP_NORM2] = &ls->norm2, [VITRT_TAP_FC1] = &ls->fc1,
		[VITRT_TAP_GELU] = &ls->gelu, [VITRT_TAP_NORMF] = &sc->normf,
	};
	const float *s16[VITRT_TAP_COUNT] = {
		[VITRT_TAP_EMBED] = &sc->embed, [VITRT_TAP_RES1] = &ls->res1,
		[VITRT_TAP_RES2] = &ls->res2, [VITRT_TAP_LOGITS_OUT] = &sc->logits,
	};

	if (tap == VITRT_TAP_PROBS) {
		*s = sc->probs;		/* 2^-8 or 2^-16: the clamp is 1 - one step */
		*lo = 0;
		*hi = 1 / *s - 1;
	} else if (sc->act_bits == 4 && tap == VITRT_TAP_GELU) {
		*s = ls->gelu;
		*lo = -ls->gelu_zero;
		*hi = 15 - ls->gelu_zero;
	} else if (s8[tap]) {
		bool four = sc->act_bits == 4 && linear_input(tap);

		*s = *s8[tap];
		*lo = four ? -8 : -128;
		*hi = four ? 7 : 127;
	} else if (s16[tap]) {
		*s = *s16[tap];
		*lo = -32768;
		*hi = 32767;
	} else {
		return false;
	}
	return true;
}

void vitrt_fakequant_hook(void *ctx, enum vitrt_tap tap, uint32_t layer, float *x, size_t n)
{
	double s, lo, hi;

	if (!tap_grid(ctx, tap, layer, &s, &lo, &hi))
		return;
	for (size_t i = 0; i < n; i++) {
		double q = nearbyint(x[i] / s);

		x[i] = (float)((q < lo ? lo : q > hi ? hi : q) * s);
	}
}

/* W <- s_w * round(W / s_w) per row, b <- s_x s_w * round(b / (s_x s_w)): what the array sees. */
static void fake_linear(float *w, float *b, uint32_t n, uint32_t k, double s_x, int qmax)
{
	for (uint32_t j = 0; j < n; j++) {
		float *row = w + (size_t)j * k;
		double s_w = vitrt_weight_scale(row, k, qmax), sb = s_x * s_w;

		for (uint32_t i = 0; i < k; i++) {
			double q = nearbyint(row[i] / s_w);

			row[i] = (float)((q > qmax ? qmax : q < -qmax - 1 ? -qmax - 1 : q) * s_w);
		}
		b[j] = (float)(nearbyint(b[j] / sb) * sb);
	}
}

void vitrt_head_pair(float *w, float *bias, const float *hw, const float *hb, const float *dw,
		     const float *db, uint32_t n, uint32_t c)
{
	for (uint32_t j = 0; j < n; j++) {
		for (uint32_t i = 0; i < c; i++) {
			w[(size_t)j * 2 * c + i] = hw[(size_t)j * c + i] / 2;
			w[(size_t)j * 2 * c + c + i] = dw[(size_t)j * c + i] / 2;
		}
		bias[j] = (hb[j] + db[j]) / 2;
	}
}

/*
 * The distilled heads quantized as the compiler does, as one pair (vitrt_head_pair) with one
 * scale per class, and put back: W = 2 [pair's left], W_d = 2 [right], both biases the pair's.
 */
static int fake_head_pair(struct vitrt_vit *m, double s_x, int qmax)
{
	uint32_t n = m->cfg.classes, c = m->cfg.dim;
	float *w = malloc(sizeof(*w) * n * 2 * c), *bias = malloc(sizeof(*bias) * n);
	int err = w && bias ? 0 : VITRT_ENOMEM;

	if (!err) {
		vitrt_head_pair(w, bias, m->head_w, m->head_b, m->head_dist_w, m->head_dist_b, n, c);
		fake_linear(w, bias, n, 2 * c, s_x, qmax);
		for (uint32_t j = 0; j < n; j++) {
			for (uint32_t i = 0; i < c; i++) {
				m->head_w[(size_t)j * c + i] = 2 * w[(size_t)j * 2 * c + i];
				m->head_dist_w[(size_t)j * c + i] = 2 * w[(size_t)j * 2 * c + c + i];
			}
			m->head_b[j] = m->head_dist_b[j] = bias[j];
		}
	}
	free(w);
	free(bias);
	return err;
}

int vitrt_fakequant_weights(struct vitrt_vit *m, const struct vitrt_scales *sc, uint32_t scheme)
{
	const struct vitrt_vit_config *c = &m->cfg;
	int qmax = scheme == VITRT_SCHEME_W8A8 ? 127 : 7;

	/* first the one part that needs memory: a failure leaves the model as it was */
	if (m->head_dist_w && fake_head_pair(m, sc->normf, qmax))
		return VITRT_ENOMEM;
	if (!m->head_dist_w)
		fake_linear(m->head_w, m->head_b, c->classes, c->dim, sc->normf, qmax);
	fake_linear(m->patch_w, m->patch_b, c->dim, c->chans * c->patch * c->patch, sc->input,
		    qmax);
	for (uint32_t l = 0; l < c->depth; l++) {
		struct vitrt_vit_block *b = &m->blocks[l];
		const struct vitrt_layer_scales *ls = &sc->layer[l];

		fake_linear(b->qkv_w, b->qkv_b, 3 * c->dim, c->dim, ls->norm1, qmax);
		fake_linear(b->proj_w, b->proj_b, c->dim, c->dim, ls->attn, qmax);
		fake_linear(b->fc1_w, b->fc1_b, c->mlp, c->dim, ls->norm2, qmax);
		fake_linear(b->fc2_w, b->fc2_b, c->dim, c->mlp, ls->gelu, qmax);
	}
	return 0;
}

/* The next readable image from *next on into @pix: 0, an error, or 1 past the last. */
static int calib_next(const struct vitrt_dataset *ds, uint32_t *next,
		      struct vitrt_calib_opts *o, uint8_t *pix)
{
	int32_t label;
	int err;

	while (*next < ds->count) {
		err = vitrt_dataset_get(ds, (*next)++, o->prep, pix, &label, o->msg,
					sizeof(o->msg));
		if (!err)
			return 0;
		if (o->strict || err == VITRT_ENOMEM)
			return err;
		o->skipped++;
		if (o->skip)
			o->skip(o->msg);
	}
	return 1;
}

int vitrt_calib_images(const struct vitrt_vit *m, const struct vitrt_dataset *ds,
		       struct vitrt_calib_opts *o, struct vitrt_scales *sc)
{
	const struct vitrt_vit_config *c = &m->cfg;
	size_t npix = (size_t)c->img * c->img;
	uint32_t total = o->count < ds->count ? o->count : ds->count, next = 0;
	uint8_t *pix = malloc(c->chans * npix);
	float *in = malloc(c->chans * npix * sizeof(*in));
	float *logits = malloc(c->classes * sizeof(*logits));
	struct vitrt_calib *cal = vitrt_calib_new(c->depth);
	int err = pix && in && logits && cal ? 0 : VITRT_ENOMEM;

	o->used = o->skipped = 0;
	while (!err && o->used < total) {
		err = calib_next(ds, &next, o, pix);
		if (err)
			break;
		vitrt_image_to_input(in, pix, c->chans, c->chans, npix, c->mean, c->std);
		err = vitrt_vit_forward(m, in, logits, vitrt_calib_hook, cal);
		o->used++;
		if (o->progress)
			o->progress(o->used, total);
	}
	o->next = next;
	if (err == 1)	/* the end of the set: fewer images than asked is fine, none is not */
		err = o->used ? 0 : VITRT_EINVAL;
	if (!err)
		err = vitrt_calib_scales(cal, sc, o->act_bits ? o->act_bits : 8);
	sc->probs = vitrt_probs_scale(c->tokens);
	vitrt_calib_free(cal);
	free(pix);
	free(in);
	free(logits);
	return err;
}

int vitrt_calib_dataset(const struct vitrt_vit *m, const struct vitrt_dataset *ds,
			uint32_t count, uint32_t act_bits, struct vitrt_scales *sc,
			void (*progress)(uint32_t done, uint32_t total))
{
	struct vitrt_prep p = VITRT_PREP_INIT(m->cfg.chans, m->cfg.img);
	struct vitrt_calib_opts o = { .prep = &p, .count = count, .act_bits = act_bits,
				      .strict = true, .progress = progress };

	return vitrt_calib_images(m, ds, &o, sc);
}
