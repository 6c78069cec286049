/* SPDX-License-Identifier: MIT */
/*
 * Classifying images: one interface over the integer program on a backend and the FP32
 * reference forward of a checkpoint, for the CLI's run, eval and bench.  What applications
 * need of it is public (<vitrt/infer.h>); the FP32 forward, more devices and the statistics
 * are libvitrt's own.
 */
#ifndef VITRT_INFER_H
#define VITRT_INFER_H

#include <stdbool.h>

#include <vitrt/infer.h>

#include "vitrt_exec.h"

struct vitrt_vit_opts;

/* The FP32 reference forward of a checkpoint (@o: see vitrt_vit_load_opts, may be NULL). */
struct vitrt_infer *vitrt_infer_fp32(const char *ckpt, const struct vitrt_vit_opts *o,
				     int *err, char *msg, size_t cap);

/*
 * Shard batches over more devices: @spec (as vitrt_dev_open) gets the model's constants and
 * every image i of a batch with i % devices == its index (the first device is index 0).  Call
 * before vitrt_infer_set_batch; results are those of one device, bit for bit.  0, or an error
 * with @msg naming the device.
 */
#define VITRT_MAX_DEVICES 16
int vitrt_infer_add_device(struct vitrt_infer *inf, const char *spec, char *msg, size_t cap);
uint32_t vitrt_infer_devices(const struct vitrt_infer *inf);
/*
 * Report the integer program's work on every device to @tr (vitrt_trace.h; NULL: stop), after
 * the devices are added.  Events name an image by its place in its batch (0: the first).
 */
struct vitrt_tracer;
void vitrt_infer_set_tracer(struct vitrt_infer *inf, const struct vitrt_tracer *tr);
/* The integer program's raw s16 logits of the last run (NULL for FP32). */
const int16_t *vitrt_infer_raw(const struct vitrt_infer *inf);
/* The compiled model (NULL for FP32). */
const struct vitrt_prog *vitrt_infer_prog(const struct vitrt_infer *inf);
/* The device of the integer program (NULL for the FP32 reference). */
const struct vitrt_dev *vitrt_infer_dev(const struct vitrt_infer *inf);
/* Whether a batch is one device submission (vitrt_session_whole), else split at SYNC steps. */
bool vitrt_infer_whole(const struct vitrt_infer *inf);
/*
 * One device behind an interrupt: run the calling thread, which submits and waits for every
 * batch, on a CPU that takes the device's completion interrupt, so that a completion wakes
 * the waiter on its own CPU, not another CPU out of idle by an inter-processor interrupt.
 * The thread pool's workers still use every CPU.  Call after the devices are added.  0 and
 * that CPU in *@cpu; VITRT_EUNSUPPORTED (nothing changed) for FP32, in-process, on several
 * devices, or when the kernel does not say.
 */
int vitrt_infer_pin_submitter(struct vitrt_infer *inf, uint32_t *cpu);
/* The CPU vitrt_infer_pin_submitter ran the caller on, or -1. */
int32_t vitrt_infer_submitter_cpu(const struct vitrt_infer *inf);
/* Device work of the integer program so far (NULL for FP32). */
const struct vitrt_run_stats *vitrt_infer_stats(const struct vitrt_infer *inf);
/* The work of device @d (0 .. vitrt_infer_devices - 1) so far, all its sessions summed. */
void vitrt_infer_device_stats(const struct vitrt_infer *inf, uint32_t d,
			      struct vitrt_run_stats *st);

#endif /* VITRT_INFER_H */
