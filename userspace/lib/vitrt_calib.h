/* SPDX-License-Identifier: MIT */
/* Calibration of activation scales and the fake-quant reference graph (vitrt_calib.c). */
#ifndef VITRT_CALIB_H
#define VITRT_CALIB_H

#include <stdbool.h>

#include "vitrt_compile.h"

struct vitrt_calib;

struct vitrt_calib *vitrt_calib_new(uint32_t depth);
void vitrt_calib_free(struct vitrt_calib *c);
/* A vitrt_vit_hook (ctx = the calib) that samples every tap. */
void vitrt_calib_hook(void *ctx, enum vitrt_tap tap, uint32_t layer, float *x, size_t n);
/*
 * Choose every scale from the samples, the blocks' Linear inputs for @act_bits (8, or 4 for
 * W4A4; VITRT_EINVAL otherwise); sc->layer is allocated (free() it).
 */
int vitrt_calib_scales(struct vitrt_calib *c, struct vitrt_scales *sc, uint32_t act_bits);

struct vitrt_dataset;
struct vitrt_prep;

struct vitrt_calib_opts {
	const struct vitrt_prep *prep;	/* how an image becomes the input (channels, size) */
	uint32_t count;			/* images to calibrate on */
	uint32_t act_bits;		/* vitrt_calib_scales' @act_bits; 0 means 8 */
	bool strict;			/* an unreadable image is an error, not skipped */
	/* If set: after each image used (images done, images to do) */
	void (*progress)(uint32_t done, uint32_t total);
	/* If set: told of each skipped image, with the error naming it */
	void (*skip)(const char *msg);
	uint32_t used, skipped;		/* out */
	uint32_t next;			/* out: the dataset index after the last image read */
	char msg[1024];			/* out: the error of a failing image with @strict */
};

/*
 * Calibrate @m (LayerNorms folded) on the first o->count readable images of @ds, streamed one
 * at a time: the FP32 forward with vitrt_calib_hook, then vitrt_calib_scales into @sc.
 * VITRT_EINVAL if no image could be read.
 */
int vitrt_calib_images(const struct vitrt_vit *m, const struct vitrt_dataset *ds,
		       struct vitrt_calib_opts *o, struct vitrt_scales *sc);
/*
 * The same on the first @count images of an IDX dataset at the model's size, every image
 * required; @progress as in vitrt_calib_opts.
 */
int vitrt_calib_dataset(const struct vitrt_vit *m, const struct vitrt_dataset *ds,
			uint32_t count, uint32_t act_bits, struct vitrt_scales *sc,
			void (*progress)(uint32_t done, uint32_t total));

/* A vitrt_vit_hook (ctx = the scales) rounding each tap to its integer grid. */
void vitrt_fakequant_hook(void *ctx, enum vitrt_tap tap, uint32_t layer, float *x, size_t n);
/*
 * Replace the folded model's Linear weights and biases by their quantized values, dequantized
 * (what the integer program multiplies), so that the FP forward with vitrt_fakequant_hook is
 * the naive quantize-dequantize graph.  0, or VITRT_ENOMEM with the model unchanged.
 */
int vitrt_fakequant_weights(struct vitrt_vit *m, const struct vitrt_scales *sc, uint32_t scheme);

/*
 * A distilled model's two heads (@n rows of @c each) as one of K = 2c, what the compiler
 * multiplies: row j = [hw_j / 2 | dw_j / 2], bias (hb_j + db_j) / 2, the average timm takes.
 */
void vitrt_head_pair(float *w, float *bias, const float *hw, const float *hb, const float *dw,
		     const float *db, uint32_t n, uint32_t c);

#endif /* VITRT_CALIB_H */
