// SPDX-License-Identifier: MIT
/* Classifying images with the integer program or the FP32 reference (vitrt_infer.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vitrt_image.h"
#include "vitrt_infer.h"
#include "vitrt_vit.h"

struct vitrt_infer {
	/* integer program */
	struct vitrt_prog *prog;
	struct vitrt_dev *dev;
	struct vitrt_session *sess;
	int16_t *raw;
	/* FP32 reference */
	struct vitrt_vit *vit;
	float *input;
	/* both */
	uint32_t size, chans, classes;
	char *const *labels;
	float *logits, *prob;
};

static int alloc_outputs(struct vitrt_infer *inf)
{
	inf->logits = calloc(inf->classes, sizeof(float));
	inf->prob = calloc(inf->classes, sizeof(float));
	return inf->logits && inf->prob ? 0 : VITRT_ENOMEM;
}

struct vitrt_infer *vitrt_infer_int(const char *model, const char *backend, int *err,
				    char *msg, size_t cap)
{
	struct vitrt_infer *inf = calloc(1, sizeof(*inf));

	if (!inf) {
		*err = VITRT_ENOMEM;
		snprintf(msg, cap, "out of memory");
		return NULL;
	}
	inf->prog = vitrt_prog_load(model, err, msg, cap);
	if (!inf->prog)
		goto fail;
	inf->size = inf->prog->info.img;
	inf->chans = inf->prog->info.chans;
	inf->classes = inf->prog->info.classes;
	inf->labels = inf->prog->labels;
	inf->dev = vitrt_dev_open(backend, err);
	if (!inf->dev) {
		snprintf(msg, cap, "backend '%s': %s", backend ? backend : "auto", vitrt_strerror(*err));
		goto fail;
	}
	inf->sess = vitrt_session_new(inf->dev, inf->prog, err);
	if (!inf->sess) {
		snprintf(msg, cap, "%s: cannot set up on the device: %s", model, vitrt_strerror(*err));
		goto fail;
	}
	inf->raw = calloc(inf->classes, sizeof(*inf->raw));
	*err = inf->raw ? alloc_outputs(inf) : VITRT_ENOMEM;
	if (!*err)
		return inf;
	snprintf(msg, cap, "out of memory");
fail:
	vitrt_infer_free(inf);
	return NULL;
}

struct vitrt_infer *vitrt_infer_fp32(const char *ckpt, int *err, char *msg, size_t cap)
{
	struct vitrt_infer *inf = calloc(1, sizeof(*inf));

	if (!inf) {
		*err = VITRT_ENOMEM;
		snprintf(msg, cap, "out of memory");
		return NULL;
	}
	inf->vit = vitrt_vit_load(ckpt, err, msg, cap);
	if (!inf->vit) {
		vitrt_infer_free(inf);
		return NULL;
	}
	inf->size = inf->vit->cfg.img;
	inf->chans = inf->vit->cfg.chans;
	inf->classes = inf->vit->cfg.classes;
	inf->labels = inf->vit->labels;
	inf->input = malloc((size_t)inf->chans * inf->size * inf->size * sizeof(float));
	*err = inf->input ? alloc_outputs(inf) : VITRT_ENOMEM;
	if (*err) {
		snprintf(msg, cap, "out of memory");
		vitrt_infer_free(inf);
		return NULL;
	}
	return inf;
}

void vitrt_infer_free(struct vitrt_infer *inf)
{
	if (!inf)
		return;
	vitrt_session_free(inf->sess);
	vitrt_dev_close(inf->dev);
	vitrt_prog_free(inf->prog);
	vitrt_vit_free(inf->vit);
	free(inf->raw);
	free(inf->input);
	free(inf->logits);
	free(inf->prob);
	free(inf);
}

/* Softmax for printing, and the top classes (by the logits, ties to the lower class). */
static void rank(struct vitrt_infer *inf, struct vitrt_result *r)
{
	float max = -INFINITY;
	double sum = 0;

	for (uint32_t c = 0; c < inf->classes; c++)
		max = fmaxf(max, inf->logits[c]);
	for (uint32_t c = 0; c < inf->classes; c++)
		sum += inf->prob[c] = expf(inf->logits[c] - max);
	for (uint32_t c = 0; c < inf->classes; c++)
		inf->prob[c] = (float)(inf->prob[c] / sum);
	for (uint32_t i = 0; i < VITRT_TOPK; i++) {
		uint32_t best = UINT32_MAX;

		for (uint32_t c = 0; c < inf->classes; c++) {
			bool taken = false;

			for (uint32_t j = 0; j < i; j++)
				taken |= r->top[j] == c;
			if (!taken && (best == UINT32_MAX || inf->logits[c] > inf->logits[best]))
				best = c;
		}
		r->top[i] = best == UINT32_MAX ? 0 : best;
	}
	r->classes = inf->classes;
	r->logits = inf->logits;
	r->prob = inf->prob;
}

int vitrt_infer_run(struct vitrt_infer *inf, const uint8_t *pix, struct vitrt_result *r)
{
	int err;

	if (inf->prog) {
		err = vitrt_session_run(inf->sess, pix, inf->raw);
		for (uint32_t c = 0; !err && c < inf->classes; c++)
			inf->logits[c] = inf->raw[c] * inf->prog->info.logit_scale;
	} else {
		const struct vitrt_vit_config *c = &inf->vit->cfg;

		vitrt_image_to_input(inf->input, pix, c->chans, c->chans,
				     (size_t)c->img * c->img, c->mean, c->std);
		err = vitrt_vit_forward(inf->vit, inf->input, inf->logits, NULL, NULL);
	}
	if (!err)
		rank(inf, r);
	return err;
}

uint32_t vitrt_infer_size(const struct vitrt_infer *inf)
{
	return inf->size;
}

uint32_t vitrt_infer_chans(const struct vitrt_infer *inf)
{
	return inf->chans;
}

uint32_t vitrt_infer_classes(const struct vitrt_infer *inf)
{
	return inf->classes;
}

char *const *vitrt_infer_labels(const struct vitrt_infer *inf)
{
	return inf->labels;
}

const int16_t *vitrt_infer_raw(const struct vitrt_infer *inf)
{
	return inf->raw;
}

const struct vitrt_prog *vitrt_infer_prog(const struct vitrt_infer *inf)
{
	return inf->prog;
}

const struct vitrt_run_stats *vitrt_infer_stats(const struct vitrt_infer *inf)
{
	return inf->sess ? vitrt_session_stats(inf->sess) : NULL;
}

const struct vitrt_dev *vitrt_infer_dev(const struct vitrt_infer *inf)
{
	return inf->dev;
}
