/* SPDX-License-Identifier: MIT */
/*
 * Classifying images with a compiled model (a .vitsa file from `vitrt quantize`): the integer
 * program runs on a backend, the in-process model of the accelerator or a /dev/vitsaN.
 */
#ifndef LIBVITRT_INFER_H
#define LIBVITRT_INFER_H

#include <stddef.h>
#include <stdint.h>

#include <vitrt/core.h>
#include <vitrt/image.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VITRT_TOPK 5

struct vitrt_result {
	uint32_t classes;
	const float *logits;	/* [classes]: dequantized for printing (integer program) */
	const float *prob;	/* [classes]: softmax of the logits */
	uint32_t top[VITRT_TOPK];	/* best first; ties go to the lower class */
};

struct vitrt_infer;

/*
 * The compiled model @model on @backend: NULL or "auto" (the first /dev/vitsa* if present,
 * else "sim"), "sim" (in-process), "dev" (the first /dev/vitsa*) or "dev:/dev/vitsaN".  NULL
 * on failure, with the code in *@err and @msg naming the file or backend.
 */
VITRT_API struct vitrt_infer *vitrt_infer_int(const char *model, const char *backend, int *err,
					      char *msg, size_t cap);
VITRT_API void vitrt_infer_free(struct vitrt_infer *inf);

/* Classify planar u8 pixels [chans][size][size]; @r points into @inf until the next call. */
VITRT_API int vitrt_infer_run(struct vitrt_infer *inf, const uint8_t *pix, struct vitrt_result *r);

/*
 * Room for @batch images per vitrt_infer_run_batch (1..VITRT_MAX_BATCH): the integer program
 * gets a session per image (activations of its own, the constants shared).  0 or an error.
 */
#define VITRT_MAX_BATCH 256
VITRT_API int vitrt_infer_set_batch(struct vitrt_infer *inf, uint32_t batch);
/*
 * Classify @count (<= the batch) images stored one after another in @pix; r[i] is image i's,
 * pointing into @inf until the next run.  On the in-process device the images run at once,
 * one per thread of libvitrt's pool; a device runs them in lockstep.  Results are those of
 * vitrt_infer_run, bit for bit.
 */
VITRT_API int vitrt_infer_run_batch(struct vitrt_infer *inf, const uint8_t *pix, uint32_t count,
				    struct vitrt_result *r);

/*
 * Batches in flight, so that the host loads and reads images while the device computes.
 * submit starts @count (<= the batch) images from @pix and returns when a device has them
 * (@pix may then be reused); collect waits for the oldest batch submitted and gives its
 * *@count results in r[], pointing into @inf until the next collect but one.  Up to
 * vitrt_infer_depth batches may be in flight: VITRT_MAX_IN_FLIGHT on one /dev/vitsaN that runs a batch as one
 * submission, else 1, and submit then runs the batch itself.  Results are those of
 * vitrt_infer_run_batch bit for bit.  VITRT_EINVAL for a submit beyond the depth, a collect
 * of nothing, and vitrt_infer_run, vitrt_infer_run_batch or vitrt_infer_set_batch while a
 * batch is in flight.  After an error of either call, collect what is still in flight.
 */
#define VITRT_MAX_IN_FLIGHT 2
VITRT_API int vitrt_infer_submit_batch(struct vitrt_infer *inf, const uint8_t *pix,
				       uint32_t count);
VITRT_API int vitrt_infer_collect_batch(struct vitrt_infer *inf, struct vitrt_result *r,
					uint32_t *count);
VITRT_API uint32_t vitrt_infer_depth(const struct vitrt_infer *inf);

/* The model's input: @size x @size pixels of @chans channels. */
VITRT_API uint32_t vitrt_infer_size(const struct vitrt_infer *inf);
VITRT_API uint32_t vitrt_infer_chans(const struct vitrt_infer *inf);
VITRT_API uint32_t vitrt_infer_classes(const struct vitrt_infer *inf);
/* The classes' names, [classes], or NULL when the model has none. */
VITRT_API char *const *vitrt_infer_labels(const struct vitrt_infer *inf);
/*
 * How a picture becomes the model's input (for vitrt_image_load): channels and size, and the
 * resize and crop its calibration images had.
 */
VITRT_API void vitrt_infer_prep(const struct vitrt_infer *inf, struct vitrt_prep *p);

#ifdef __cplusplus
}
#endif

#endif /* LIBVITRT_INFER_H */
