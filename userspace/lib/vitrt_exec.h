/* SPDX-License-Identifier: MIT */
/* Running a compiled integer program on a device (vitrt_exec.c). */
#ifndef VITRT_EXEC_H
#define VITRT_EXEC_H

#include <stdbool.h>

#include "vitrt_prog.h"

struct vitrt_session;

struct vitrt_run_stats {
	uint64_t images;
	uint64_t jobs;		/* device jobs: GEMMs, and vector ops in a whole-program run */
	uint64_t macs;
	uint64_t cycles;	/* modeled device cycles: array, and vector unit in a whole run */
	uint64_t syncs;		/* submit-and-wait points */
};

/* Upload @p's constants to @dev and plan its activation buffers. */
struct vitrt_session *vitrt_session_new(struct vitrt_dev *dev,
					const struct vitrt_prog *p, int *err);
/*
 * Another session of the same program on the same device, with activations of its own and
 * @owner's constants (not copied again); free it before @owner.  Sessions run concurrently
 * on the in-process device.
 */
struct vitrt_session *vitrt_session_new_shared(const struct vitrt_session *owner, int *err);
void vitrt_session_free(struct vitrt_session *s);
/* One image (u8 [chans][img][img]) to its s16 logits ([classes], scale info.logit_scale). */
int vitrt_session_run(struct vitrt_session *s, const uint8_t *image, int16_t *logits);
/*
 * One image per session of @s[0..n) (all of one program on one device), run in lockstep: each
 * step for every image, and the GEMMs all images queued up to a SYNC submitted together and
 * waited for once, so a batch costs the device round trips of one image.  The logits are
 * those of vitrt_session_run, bit for bit.  VITRT_EINVAL for sessions of different devices or
 * programs.
 */
int vitrt_session_run_lockstep(struct vitrt_session *const *s, uint32_t n,
			       const uint8_t *const *image, int16_t *const *logits);
/*
 * vitrt_session_run_lockstep in two halves, so that the host prepares one batch while the
 * device computes another.  start copies the images in and, when the device runs the whole
 * program as one submission (untraced), only queues it; finish waits for it and copies the
 * logits out.  In between the sessions' activations are the device's.  Split at SYNC steps,
 * or traced, start runs the batch to its end.  start: VITRT_EINVAL while s[0]'s last batch
 * is not finished.
 */
int vitrt_session_start_lockstep(struct vitrt_session *const *s, uint32_t n,
				 const uint8_t *const *image);
int vitrt_session_finish_lockstep(struct vitrt_session *const *s, uint32_t n,
				  int16_t *const *logits);
const struct vitrt_run_stats *vitrt_session_stats(const struct vitrt_session *s);
/*
 * Whether @s runs its program as one submission per batch (the device's vector unit runs every
 * op; VITRT_SCHEDULE=split in the environment says no) or split at SYNC steps with the
 * integer ops on the host.  The two give the same bits.
 */
bool vitrt_session_whole(const struct vitrt_session *s);
/*
 * The image the trace events of @s's steps and jobs name (vitrt_trace.h; vitrt_infer gives
 * each session its image's place in a batch).  0 until set; set it before @s first runs.
 */
void vitrt_session_set_tag(struct vitrt_session *s, uint32_t tag);

#endif /* VITRT_EXEC_H */
