// SPDX-License-Identifier: MIT
/*
 * Several descriptors in one go, as the in-process device runs a submission: the result is
 * that of executing them one after the other, but consecutive jobs that do not touch what
 * another of them writes run together, their tasks in one parallel region.  The heads of an
 * attention layer are such a run of jobs; alone, each would be too small to keep the threads
 * busy.  (The QEMU device runs one ring entry at a time, a LIST's independent entries in
 * lanes, vitsa_lanes.h, and a list that is one lane as a group.)  When the host splits work
 * by ranges (vitsa_mem_ops.split), a lone job's compute phase goes by rows and a run's by
 * jobs, each range on the same thread every time.
 */
#include <stdlib.h>
#include <string.h>

#include "vitsa_dtype.h"
#include "vitsa_gemm.h"
#include "vitsa_lanes.h"
#include "vitsa_model.h"
#include "vitsa_vec.h"

struct extents {
	struct vitsa_touch t;		/* nothing for a job its check refuses */
	bool alone;			/* a vector op: never in a wave, never compared */
};

static void extents_of(const struct vitsa_hw_desc *d, struct extents *e)
{
	e->alone = vitsa_vec_op_valid(d->opcode);
	vitsa_touch_of(d, &e->t);
}

/* Job @b may run beside job @a: neither writes what the other reads or writes. */
static bool independent(const struct extents *a, const struct extents *b)
{
	if (vitsa_span_meet(a->t.out, b->t.out))
		return false;
	for (int i = 0; i < VITSA_TOUCH_IN; i++)
		if (vitsa_span_meet(a->t.out, b->t.in[i]) || vitsa_span_meet(b->t.out, a->t.in[i]))
			return false;
	return true;
}

/* The end of the run of jobs from @first on that are independent of each other. */
static uint32_t wave_end(const struct extents *e, uint32_t first, uint32_t count)
{
	uint32_t end = first + 1;

	for (; end < count && !e[end].alone; end++)
		for (uint32_t i = first; i < end; i++)
			if (!independent(&e[i], &e[end]))
				return end;
	return end;
}

struct wave {
	struct vitsa_gemm **g;		/* [jobs], NULL for a job that already failed */
	uint32_t *first;		/* [jobs + 1]: the wave's task index of each job's first */
	uint32_t jobs;
	uint32_t m0;			/* rows of the first job */
	bool pack;
};

static void wave_task(void *arg, uint32_t t)
{
	const struct wave *w = arg;
	uint32_t j = 0;

	while (t >= w->first[j + 1])
		j++;
	vitsa_gemm_task(w->g[j], w->pack, t - w->first[j]);
}

static void rows_range(void *arg, uint32_t lo, uint32_t hi)
{
	vitsa_gemm_rows(arg, lo, hi);
}

/* Every compute task of jobs [lo, hi) of the wave, on the calling thread. */
static void jobs_range(void *arg, uint32_t lo, uint32_t hi)
{
	const struct wave *w = arg;

	for (uint32_t t = w->first[lo]; t < w->first[hi]; t++)
		wave_task(arg, t);
}

/*
 * The compute phase through the host's split, if it has one: a lone job by rows, several by
 * jobs; false if the wave is not worth threads or its lone job has no shared B.
 */
static bool wave_split(struct wave *w, const struct vitsa_mem_ops *ops, void *opaque,
		       uint64_t macs)
{
	if (!ops->split || !vitsa_gemm_parallel_worth(macs))
		return false;
	if (w->jobs == 1) {
		if (!w->g[0] || !vitsa_gemm_by_rows(w->g[0]))
			return false;
		ops->split(opaque, w->m0, VITSA_MODEL_ROW_ALIGN, rows_range, w->g[0]);
		return true;
	}
	ops->split(opaque, w->jobs, 1, jobs_range, w);
	return true;
}

/* One phase of every job of the wave, all tasks in one region. */
static void wave_phase(struct wave *w, const struct vitsa_mem_ops *ops, void *opaque, bool pack)
{
	uint64_t macs = 0;

	w->pack = pack;
	w->first[0] = 0;
	for (uint32_t j = 0; j < w->jobs; j++) {
		w->first[j + 1] = w->first[j] + (w->g[j] ? vitsa_gemm_tasks(w->g[j], pack) : 0);
		macs += w->g[j] ? vitsa_gemm_macs(w->g[j]) : 0;
	}
	if (!pack && wave_split(w, ops, opaque, macs))
		return;
	if (ops->parallel && w->first[w->jobs] > 1 && vitsa_gemm_parallel_worth(macs))
		ops->parallel(opaque, w->first[w->jobs], wave_task, w);
	else
		for (uint32_t t = 0; t < w->first[w->jobs]; t++)
			wave_task(w, t);
}

/* The host told that job @j of the group comes next, if it asks. */
static void tell_job(const struct vitsa_mem_ops *ops, void *opaque, uint32_t j)
{
	if (ops->job)
		ops->job(opaque, j);
}

/*
 * Jobs d[0..n), the group's from @at on: prepared (each reads its tables now, after the
 * waves before it), run, done.
 */
static void run_wave(const struct vitsa_model_cfg *cfg, const struct vitsa_hw_desc *d, uint32_t n,
		     uint32_t at, const struct vitsa_mem_ops *ops, void *opaque,
		     struct vitsa_job_stats *st, uint32_t *status, struct wave *w)
{
	w->jobs = n;
	w->m0 = d[0].m;
	for (uint32_t j = 0; j < n; j++) {
		tell_job(ops, opaque, at + j);
		w->g[j] = vitsa_gemm_prepare(&d[j], ops, opaque, &status[j]);
		if (w->g[j] && status[j]) {
			status[j] = vitsa_gemm_finish(w->g[j], status[j], cfg, &st[j]);
			w->g[j] = NULL;
		} else if (!w->g[j]) {
			memset(&st[j], 0, sizeof(st[j]));
		}
	}
	wave_phase(w, ops, opaque, true);
	wave_phase(w, ops, opaque, false);
	for (uint32_t j = 0; j < n; j++)
		if (w->g[j])
			status[j] = vitsa_gemm_finish(w->g[j], 0, cfg, &st[j]);
}

/* @n jobs not run: cancelled before their turn. */
static void abort_rest(struct vitsa_job_stats *st, uint32_t *status, uint32_t n)
{
	memset(st, 0, sizeof(*st) * n);
	for (uint32_t j = 0; j < n; j++)
		status[j] = VITSA_ERR_ABORTED;
}

uint32_t vitsa_model_group_runs(const struct vitsa_hw_desc *d, uint32_t count, uint32_t *ends)
{
	struct extents *e = malloc(sizeof(*e) * count);
	uint32_t runs = 0;

	for (uint32_t j = 0; e && j < count; j++)
		extents_of(&d[j], &e[j]);
	for (uint32_t j = 0; j < count; j = ends[runs++])	/* no memory: a job a run */
		ends[runs] = !e || e[j].alone ? j + 1 : wave_end(e, j, count);
	free(e);
	return runs;
}

#define RUN_ON_STACK	128	/* jobs of a run whose wave needs no malloc: heads of a batch */

void vitsa_model_exec_run(const struct vitsa_model_cfg *cfg, const struct vitsa_hw_desc *d,
			  uint32_t n, uint32_t at, const struct vitsa_mem_ops *ops, void *opaque,
			  struct vitsa_job_stats *st, uint32_t *status)
{
	struct vitsa_gemm *g[RUN_ON_STACK];
	uint32_t first[RUN_ON_STACK + 1];
	struct wave w = { .g = g, .first = first };

	if (n == 1 && vitsa_vec_op_valid(d->opcode)) {
		tell_job(ops, opaque, at);
		status[0] = vitsa_vec_exec(cfg, d, ops, opaque, st);
		return;
	}
	if (n > RUN_ON_STACK)
		w = (struct wave){ .g = malloc(sizeof(*w.g) * n),
				   .first = malloc(sizeof(*w.first) * (n + 1)) };
	if (w.g && w.first) {
		run_wave(cfg, d, n, at, ops, opaque, st, status, &w);
	} else {		/* no memory for a region: one job at a time */
		for (uint32_t j = 0; j < n; j++) {
			tell_job(ops, opaque, at + j);
			status[j] = vitsa_model_exec(cfg, &d[j], ops, opaque, &st[j]);
		}
	}
	if (n > RUN_ON_STACK) {
		free(w.g);
		free(w.first);
	}
}

void vitsa_model_exec_group(const struct vitsa_model_cfg *cfg, const struct vitsa_hw_desc *d,
			    uint32_t count, const struct vitsa_mem_ops *ops, void *opaque,
			    struct vitsa_job_stats *st, uint32_t *status)
{
	uint32_t *ends = malloc(sizeof(*ends) * count);

	if (ends)
		vitsa_model_group_runs(d, count, ends);
	for (uint32_t r = 0, j = 0, end; j < count; j = end, r++) {
		end = ends ? ends[r] : j + 1;	/* no memory to group: a job a run */
		if (ops->cancelled && ops->cancelled(opaque)) {
			abort_rest(st + j, status + j, count - j);
			break;
		}
		vitsa_model_exec_run(cfg, d + j, end - j, j, ops, opaque, st + j, status + j);
	}
	free(ends);
}
