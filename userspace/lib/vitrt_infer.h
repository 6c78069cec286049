/* SPDX-License-Identifier: MIT */
/*
 * Classifying images: one interface over the integer program on a backend and the FP32
 * reference forward of a checkpoint, for the CLI's run, eval and bench.
 */
#ifndef VITRT_INFER_H
#define VITRT_INFER_H

#include <stdbool.h>

#include "vitrt_exec.h"

#define VITRT_TOPK 5

struct vitrt_result {
	uint32_t classes;
	const float *logits;	/* [classes]: dequantized for printing (integer program) */
	const float *prob;	/* [classes]: softmax of the logits */
	uint32_t top[VITRT_TOPK];	/* best first; ties go to the lower class */
};

struct vitrt_infer;

/* A compiled model on @backend (see vitrt_dev_open). */
VITRT_API struct vitrt_infer *vitrt_infer_int(const char *model, const char *backend, int *err,
					      char *msg, size_t cap);
struct vitrt_vit_opts;
struct vitrt_prep;

/* The FP32 reference forward of a checkpoint (@o: see vitrt_vit_load_opts, may be NULL). */
VITRT_API struct vitrt_infer *vitrt_infer_fp32(const char *ckpt, const struct vitrt_vit_opts *o,
					       int *err, char *msg, size_t cap);
VITRT_API void vitrt_infer_free(struct vitrt_infer *inf);

/* Classify planar u8 pixels [chans][size][size]; @r points into @inf until the next call. */
VITRT_API int vitrt_infer_run(struct vitrt_infer *inf, const uint8_t *pix, struct vitrt_result *r);

/*
 * Room for @batch images per vitrt_infer_run_batch (1..VITRT_MAX_BATCH): the integer program
 * gets a session per image (activations of its own, the constants shared).  0 or an error.
 */
#define VITRT_MAX_BATCH 256
/*
 * Shard batches over more devices: @spec (as vitrt_dev_open) gets the model's constants and
 * every image i of a batch with i % devices == its index (the first device is index 0).  Call
 * before vitrt_infer_set_batch; results are those of one device, bit for bit.  0, or an error
 * with @msg naming the device.
 */
#define VITRT_MAX_DEVICES 16
VITRT_API int vitrt_infer_add_device(struct vitrt_infer *inf, const char *spec, char *msg,
				     size_t cap);
VITRT_API uint32_t vitrt_infer_devices(const struct vitrt_infer *inf);
/*
 * Report the integer program's work on every device to @tr (vitrt_trace.h; NULL: stop), after
 * the devices are added.  Events name an image by its place in its batch (0: the first).
 */
struct vitrt_tracer;
VITRT_API void vitrt_infer_set_tracer(struct vitrt_infer *inf, const struct vitrt_tracer *tr);
VITRT_API int vitrt_infer_set_batch(struct vitrt_infer *inf, uint32_t batch);
/*
 * Classify @count (<= the batch) images stored one after another in @pix; r[i] is image i's,
 * pointing into @inf until the next run.  On the in-process device the images run at once,
 * one per thread of libvitrt's pool; a device (each of several, at once) runs its images in
 * lockstep, one submission per SYNC for all of them (vitrt_session_run_lockstep); FP32 runs
 * them one after the other.  Results are those of vitrt_infer_run, bit for bit.
 */
VITRT_API int vitrt_infer_run_batch(struct vitrt_infer *inf, const uint8_t *pix, uint32_t count,
				    struct vitrt_result *r);

VITRT_API uint32_t vitrt_infer_size(const struct vitrt_infer *inf);
VITRT_API uint32_t vitrt_infer_chans(const struct vitrt_infer *inf);
VITRT_API uint32_t vitrt_infer_classes(const struct vitrt_infer *inf);
VITRT_API char *const *vitrt_infer_labels(const struct vitrt_infer *inf);
/*
 * How a picture becomes the model's input: channels and size, and the resize and crop of the
 * checkpoint's config (FP32) or timm's DeiT defaults (a compiled model keeps none).
 */
VITRT_API void vitrt_infer_prep(const struct vitrt_infer *inf, struct vitrt_prep *p);
/* The integer program's raw s16 logits of the last run (NULL for FP32). */
VITRT_API const int16_t *vitrt_infer_raw(const struct vitrt_infer *inf);
/* The compiled model (NULL for FP32). */
VITRT_API const struct vitrt_prog *vitrt_infer_prog(const struct vitrt_infer *inf);
/* The device of the integer program (NULL for the FP32 reference). */
VITRT_API const struct vitrt_dev *vitrt_infer_dev(const struct vitrt_infer *inf);
/* Whether a batch is one device submission (vitrt_session_whole), else split at SYNC steps. */
VITRT_API bool vitrt_infer_whole(const struct vitrt_infer *inf);
/* Device work of the integer program so far (NULL for FP32). */
VITRT_API const struct vitrt_run_stats *vitrt_infer_stats(const struct vitrt_infer *inf);
/* The work of device @d (0 .. vitrt_infer_devices - 1) so far, all its sessions summed. */
VITRT_API void vitrt_infer_device_stats(const struct vitrt_infer *inf, uint32_t d,
					struct vitrt_run_stats *st);

#endif /* VITRT_INFER_H */
