// SPDX-License-Identifier: MIT
/*
 * libvitrt's trace hook (vitrt_trace.h): the events of a device's work, built here from what
 * the executor (steps), the device layer (submissions) and the backends (jobs) measured.
 */
#include <time.h>

#include "vitrt_priv.h"

void vitrt_dev_set_tracer(struct vitrt_dev *dev, const struct vitrt_tracer *tr)
{
	dev->tracer = tr && tr->event ? *tr : (struct vitrt_tracer){ 0 };
}

uint64_t vitrt_trace_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void vitrt_trace_emit(const struct vitrt_dev *dev, const struct vitrt_trace_event *ev)
{
	dev->tracer.event(dev->tracer.arg, ev);
}

void vitrt_trace_job(const struct vitrt_trace_sub *ts, unsigned i, uint64_t t0, uint64_t t1,
		     uint64_t cycles, uint32_t status, uint32_t flags)
{
	const struct vitrt_job_origin *o = ts->org ? &ts->org[i] : NULL;
	struct vitrt_trace_event ev = {
		.kind = VITRT_TRACE_JOB, .dev = ts->dev, .t0 = t0, .t1 = t1,
		.step = o ? o->step : VITRT_TRACE_NONE, .op = o ? o->op : VITRT_TRACE_NONE,
		.image = o ? o->image : VITRT_TRACE_NONE, .jobs = i, .job = &ts->jobs[i],
		.cycles = cycles, .status = status, .flags = flags,
	};

	vitrt_trace_emit(ts->dev, &ev);
}

/*
 * Jobs [@first, @first + @count) one after the other across [@t0, @t1], each as long as its
 * share of the cycles: where a device reports no times per job, the order and the proportions
 * are still true.  Integer arithmetic, so that each job ends exactly where the next starts and
 * the last at @t1.
 */
void vitrt_trace_place(const struct vitrt_trace_sub *ts, unsigned first, unsigned count,
		       uint64_t t0, uint64_t t1, uint32_t flags)
{
	uint64_t total = 0, at = 0, a = t0, b;

	for (unsigned i = first; i < first + count; i++)
		total += vitrt_job_cycles(ts->dev, &ts->jobs[i]);
	for (unsigned i = first; i < first + count; i++, a = b) {
		uint64_t c = vitrt_job_cycles(ts->dev, &ts->jobs[i]);

		at += c;
		b = total ? t0 + (uint64_t)((unsigned __int128)(t1 - t0) * at / total) : t1;
		vitrt_trace_job(ts, i, a, b, c, 0, VITRT_TRACE_PLACED | flags);
	}
}

void vitrt_trace_submit(const struct vitrt_trace_sub *ts, unsigned count, uint64_t t0,
			uint64_t t1, bool place)
{
	struct vitrt_trace_event ev = {
		.kind = VITRT_TRACE_SUBMIT, .dev = ts->dev, .t0 = t0, .t1 = t1,
		.step = VITRT_TRACE_NONE, .op = VITRT_TRACE_NONE, .image = VITRT_TRACE_NONE,
		.jobs = count,
	};

	vitrt_trace_emit(ts->dev, &ev);
	if (place)
		vitrt_trace_place(ts, 0, count, t0, t1, 0);
}
