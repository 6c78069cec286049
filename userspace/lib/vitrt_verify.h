/* SPDX-License-Identifier: MIT */
/*
 * The check every compiled model passes before it is written (vitrt_verify.c): the integer
 * program against the fake-quant graph it was lowered from, on images calibration did not see.
 */
#ifndef VITRT_VERIFY_H
#define VITRT_VERIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "vitrt.h"

#ifdef __cplusplus
extern "C" {
#endif

struct vitrt_dataset;
struct vitrt_prep;
struct vitrt_prog;
struct vitrt_scales;
struct vitrt_vit;

/*
 * Largest |integer - fake-quant| logit, as a fraction of the image's fake-quant logit range,
 * that vitrt quantize accepts by default, on one image and on average (Documentation/
 * runtime.rst, "Checking a compiled model"): the shipped model reaches 0.05 on the default 32
 * held-out images and 0.18 on 1,000, a requantization 10% off in every GEMM 0.36, a wrong
 * shift in one layer several times more.
 */
#define VITRT_VERIFY_MAX_ERR		0.25
#define VITRT_VERIFY_MEAN_ERR		0.10
/*
 * With 4-bit activations (W4A4) one rounding that goes the other way moves a value by 1/16 of
 * its range: the shipped model reaches 0.22 on 32 held-out images and 0.40 on 1,000.  The
 * mean tells a wrong program from an unlucky image better.
 */
#define VITRT_VERIFY_MAX_ERR_A4		0.5
#define VITRT_VERIFY_MEAN_ERR_A4	0.15

/* The default bound for @scheme on one image, or with @mean on average. */
double vitrt_verify_bound(uint32_t scheme, bool mean);

struct vitrt_verify {
	uint32_t images;	/* compared */
	uint32_t agree;		/* with the same top-1 class */
	uint32_t skipped;	/* unreadable, skipped */
	double max_err;		/* the largest logit error, as a fraction of the logit range */
	double mean_err;	/* the same per image, averaged */
	uint32_t worst;		/* the dataset index of the image where it occurred */
};

/*
 * Run @p in-process and the FP32 forward of @fake (the folded model after
 * vitrt_fakequant_weights, taps rounded by vitrt_fakequant_hook with @sc) on the readable
 * images of @ds from @first on, up to @count of them, prepared by @prep.  0 or an error
 * (message in @msg); an unreadable image is skipped unless @strict.
 */
int vitrt_verify_program(const struct vitrt_prog *p, const struct vitrt_vit *fake,
			 const struct vitrt_scales *sc, const struct vitrt_dataset *ds,
			 const struct vitrt_prep *prep, uint32_t first, uint32_t count,
			 bool strict, struct vitrt_verify *r, char *msg, size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* VITRT_VERIFY_H */
