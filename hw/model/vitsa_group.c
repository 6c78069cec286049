// SPDX-License-Identifier: MIT
/*
 * Several descriptors in one go, as the in-process device runs a submission: the result is
 * that of executing them one after the other, but consecutive jobs that do not touch what
 * another of them writes run together, their tasks in one parallel region.  The heads of an
 * attention layer are such a run of jobs; alone, each would be too small to keep the threads
 * busy.  (The QEMU device keeps to one descriptor at a time, as its ring prescribes.)  When
 * the host splits work by ranges (vitsa_mem_ops.split), a lone job's compute phase goes by
 * rows and a run's by jobs, each range on the same thread every time.
 */
#include <stdlib.h>
#include <string.h>

#include "vitsa_dtype.h"
#include "vitsa_gemm.h"
#include "vitsa_model.h"
#include "vitsa_vec.h"

/* A byte range [first, last] of memory a job reads or writes; empty when first > last. */
struct span {
	uint64_t first, last;
};

struct extents {
	struct span in[4];		/* A, B, bias, rq */
	struct span out;		/* C */
	bool alone;			/* a vector op: never in a wave */
};

static struct span span_of(uint64_t addr, uint64_t rows, uint64_t stride, uint64_t row_bytes)
{
	uint64_t last;

	if (!vitsa_extent_last(addr, rows, stride, row_bytes, &last))
		return (struct span){ 0, UINT64_MAX };	/* refused by the check: alone */
	return (struct span){ addr, last };
}

static void extents_of(const struct vitsa_hw_desc *d, struct extents *e)
{
	bool bt = d->flags & VITSA_DESC_B_TRANS;
	uint32_t ta = VITSA_DESC_A_TYPE(d->types), tb = VITSA_DESC_B_TYPE(d->types);
	uint32_t tc = VITSA_DESC_C_TYPE(d->types);
	struct span none = { 1, 0 };

	if (vitsa_vec_op_valid(d->opcode)) {	/* runs alone: its extents do not matter */
		*e = (struct extents){ { none, none, none, none }, none, true };
		return;
	}
	if (vitsa_desc_check(d)) {	/* fails without touching memory */
		*e = (struct extents){ { none, none, none, none }, none, false };
		return;
	}
	e->alone = false;
	e->in[0] = span_of(d->a_addr, d->m, d->a_stride, vitsa_row_bytes(ta, d->k));
	e->in[1] = span_of(d->b_addr, bt ? d->n : d->k, d->b_stride,
			   vitsa_row_bytes(tb, bt ? d->k : d->n));
	e->in[2] = (d->flags & VITSA_DESC_BIAS) ? span_of(d->bias_addr, 1, 0, 4ull * d->n) : none;
	e->in[3] = (d->flags & VITSA_DESC_REQUANT) ? span_of(d->rq_addr, 1, 0, 8ull * d->n) : none;
	e->out = span_of(d->c_addr, d->m, d->c_stride, vitsa_row_bytes(tc, d->n));
}

static bool meet(struct span a, struct span b)
{
	return a.first <= a.last && b.first <= b.last && a.first <= b.last && b.first <= a.last;
}

/* Job @b may run beside job @a: neither writes what the other reads or writes. */
static bool independent(const struct extents *a, const struct extents *b)
{
	if (meet(a->out, b->out))
		return false;
	for (int i = 0; i < 4; i++)
		if (meet(a->out, b->in[i]) || meet(b->out, a->in[i]))
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

/* Jobs d[0..n): prepared (each reads its tables now, after the waves before it), run, done. */
static void run_wave(const struct vitsa_model_cfg *cfg, const struct vitsa_hw_desc *d, uint32_t n,
		     const struct vitsa_mem_ops *ops, void *opaque, struct vitsa_job_stats *st,
		     uint32_t *status, struct wave *w)
{
	w->jobs = n;
	w->m0 = d[0].m;
	for (uint32_t j = 0; j < n; j++) {
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

void vitsa_model_exec_group(const struct vitsa_model_cfg *cfg, const struct vitsa_hw_desc *d,
			    uint32_t count, const struct vitsa_mem_ops *ops, void *opaque,
			    struct vitsa_job_stats *st, uint32_t *status)
{
	struct extents *e = malloc(sizeof(*e) * count);
	struct wave w = { .g = malloc(sizeof(*w.g) * count),
			  .first = malloc(sizeof(*w.first) * (count + 1)) };

	if (!e || !w.g || !w.first) {	/* no memory to group: one job at a time */
		for (uint32_t j = 0; j < count; j++)
			status[j] = vitsa_model_exec(cfg, &d[j], ops, opaque, &st[j]);
	} else {
		for (uint32_t j = 0; j < count; j++)
			extents_of(&d[j], &e[j]);
		for (uint32_t j = 0, end; j < count; j = end) {
			if (e[j].alone) {
				status[j] = vitsa_vec_exec(cfg, &d[j], ops, opaque, &st[j]);
				end = j + 1;
				continue;
			}
			end = wave_end(e, j, count);
			run_wave(cfg, d + j, end - j, ops, opaque, st + j, status + j, &w);
		}
	}
	free(e);
	free(w.g);
	free(w.first);
}
