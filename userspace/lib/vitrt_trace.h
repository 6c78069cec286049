/* SPDX-License-Identifier: MIT */
/*
 * libvitrt's trace hook: a device can tell a callback what ran on it and when.  Three kinds
 * of event, each with its start and end on CLOCK_MONOTONIC:
 *
 *  - STEP: a step of a compiled program run on the host (an integer op of the split schedule),
 *    on the thread that ran it;
 *  - SUBMIT: a submission of a program's run (vitrt_session_run*) from the call that queued it
 *    to the return of the wait for it, on the submitting thread;
 *  - JOB: one job of a submission.  The in-process device ("sim") reports each job on the
 *    submitting thread right after it ran and before the next one starts, with the model's
 *    cycles: its buffers then hold what the job read and wrote.  A /dev/vitsaN device's jobs
 *    are reported when the submission's wait returns, with the driver's times of the ring job
 *    that ran them (VITSA_IOCTL_JOB_TIMES: when the device could start it, when it retired;
 *    VITRT_TRACE_DRIVER): a job of its own ring job takes those; the entries of a list, one
 *    ring job, are placed one after the other within them in proportion to their modeled
 *    cycles (and VITRT_TRACE_PLACED).  A driver without JOB_TIMES (uapi < 1.4) gets its jobs
 *    placed within the whole submission, VITRT_TRACE_PLACED alone.
 *
 * Without a tracer a device pays one predictable branch per step and per submission.  With
 * one, the in-process device runs a submission's jobs one at a time (to time each), where it
 * would otherwise run independent neighbours (the heads of an attention layer) together.
 */
#ifndef VITRT_TRACE_H
#define VITRT_TRACE_H

#include "vitrt.h"

#ifdef __cplusplus
extern "C" {
#endif

enum vitrt_trace_kind {
	VITRT_TRACE_STEP,
	VITRT_TRACE_SUBMIT,
	VITRT_TRACE_JOB,
};

#define VITRT_TRACE_NONE	UINT32_MAX	/* step, op and image of a job of no program */
#define VITRT_TRACE_PLACED	(1u << 0)	/* JOB: t0, t1 placed by cycles, not measured */
#define VITRT_TRACE_DRIVER	(1u << 1)	/* JOB: within the driver's times of its ring job */

struct vitrt_trace_event {
	enum vitrt_trace_kind kind;
	const struct vitrt_dev *dev;
	uint64_t t0, t1;		/* start and end, ns on CLOCK_MONOTONIC */
	uint32_t step;			/* STEP, JOB: index of the program's step */
	uint32_t op;			/* STEP, JOB: that step's op (vitrt_op_name) */
	uint32_t image;			/* STEP, JOB: the session's tag (vitrt_session_set_tag) */
	uint32_t jobs;			/* SUBMIT: jobs in it; JOB: its index in the submission */
	const struct vitrt_job *job;	/* JOB: the job */
	uint64_t cycles;		/* JOB: device cycles (the hw cycle model's) */
	uint32_t status;		/* JOB: the device's VITSA_ERR_* (0: done) */
	uint32_t flags;			/* JOB: VITRT_TRACE_* */
};

/*
 * event() runs on whichever thread did the work, often several at once: it must be
 * thread-safe, and quick (it runs between jobs).  @ev and what it points to live for the call.
 */
struct vitrt_tracer {
	void (*event)(void *arg, const struct vitrt_trace_event *ev);
	void *arg;
};

/*
 * Report @dev's work to @tr (copied; NULL stops reporting).  Set it while nothing runs on
 * @dev: job lists made before it report no jobs.
 */
void vitrt_dev_set_tracer(struct vitrt_dev *dev, const struct vitrt_tracer *tr);

/* Now on CLOCK_MONOTONIC, in ns: the clock of the events. */
uint64_t vitrt_trace_now(void);

#ifdef __cplusplus
}
#endif

#endif /* VITRT_TRACE_H */
