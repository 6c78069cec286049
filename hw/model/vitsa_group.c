// SPDX-License-Identifier: MIT
/*
 * Several descriptors in one go, as the in-process device runs a submission and the QEMU
 * device a LIST: the result is that of executing them one after the other, but a wave of
 * consecutive jobs of one kind (GEMMs, or vector ops) none of which touches what another
 * writes runs together, their tasks in one parallel region.  The heads of an attention layer
 * are such a wave, and so is one step of every image of a batch whose list interleaves them;
 * alone, each would be too small to keep the threads busy.  When the host splits work by
 * ranges (vitsa_mem_ops.split), a lone GEMM's compute phase goes by rows and a wave's by jobs,
 * each range on the same thread every time.
 */
#include <stdlib.h>
#include <string.h>

#include "vitsa_dtype.h"
#include "vitsa_gemm.h"
#include "vitsa_model.h"
#include "vitsa_vec.h"

#define WAVE_MAX	64u	/* jobs in one wave: bounds the pairwise independence checks */
#define VWAVE_MIN_ELEMS	16384u	/* a wave of vector ops smaller than this runs on one thread */

/* A byte range [first, last] of memory a job reads or writes; empty when first > last. */
struct span {
	uint64_t first, last;
};

/* What a job is to a wave: only jobs of one kind share one. */
enum kind {
	KIND_GEMM,		/* GEMMs, and descriptors its check refuses: prepare fails them */
	KIND_VEC,		/* valid vector descriptors */
	KIND_ALONE,		/* vector descriptors that fail their check: alone, in order */
};

struct extents {
	struct span in[4];		/* A, B, bias, rq (a vector op: in0, in1) */
	struct span out;		/* C */
	enum kind kind;
};

static const struct span none = { 1, 0 };

static struct span span_of(uint64_t addr, uint64_t rows, uint64_t stride, uint64_t row_bytes)
{
	uint64_t last;

	if (!rows || !vitsa_extent_last(addr, rows, stride, row_bytes, &last))
		return none;	/* unused, or past 2^64: refused by the check */
	return (struct span){ addr, last };
}

static void vec_extents_of(const struct vitsa_hw_desc *d, struct extents *e)
{
	struct vitsa_vec_extent x;

	*e = (struct extents){ { none, none, none, none }, none, KIND_ALONE };
	if (vitsa_vec_check(d) || vitsa_vec_extent(d, &x))
		return;
	e->kind = KIND_VEC;
	e->in[0] = span_of(d->a_addr, x.rows[VITSA_VEC_IN0], d->a_stride, x.row_bytes[VITSA_VEC_IN0]);
	e->in[1] = span_of(d->b_addr, x.rows[VITSA_VEC_IN1], d->b_stride, x.row_bytes[VITSA_VEC_IN1]);
	e->out = span_of(d->c_addr, x.rows[VITSA_VEC_OUT], d->c_stride, x.row_bytes[VITSA_VEC_OUT]);
}

static void extents_of(const struct vitsa_hw_desc *d, struct extents *e)
{
	bool bt = d->flags & VITSA_DESC_B_TRANS;
	uint32_t ta = VITSA_DESC_A_TYPE(d->types), tb = VITSA_DESC_B_TYPE(d->types);
	uint32_t tc = VITSA_DESC_C_TYPE(d->types);

	if (vitsa_vec_op_valid(d->opcode)) {
		vec_extents_of(d, e);
		return;
	}
	*e = (struct extents){ { none, none, none, none }, none, KIND_GEMM };
	if (vitsa_desc_check(d))	/* fails at prepare, without touching memory */
		return;
	e->in[0] = span_of(d->a_addr, d->m, d->a_stride, vitsa_row_bytes(ta, d->k));
	e->in[1] = span_of(d->b_addr, bt ? d->n : d->k, d->b_stride,
			   vitsa_row_bytes(tb, bt ? d->k : d->n));
	if (d->flags & VITSA_DESC_BIAS)
		e->in[2] = span_of(d->bias_addr, 1, 0, 4ull * d->n);
	if (d->flags & VITSA_DESC_REQUANT)
		e->in[3] = span_of(d->rq_addr, 1, 0, 8ull * d->n);
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

/*
 * How many jobs from d[0] on form a wave (at least 1): of d[0]'s kind, each independent of
 * the others before it.  Their extents land in @e.
 */
static uint32_t wave_len(const struct vitsa_hw_desc *d, uint32_t count, struct extents *e)
{
	uint32_t n = 1;

	extents_of(&d[0], &e[0]);
	if (e[0].kind == KIND_ALONE)
		return 1;
	for (; n < count && n < WAVE_MAX; n++) {
		extents_of(&d[n], &e[n]);
		if (e[n].kind != e[0].kind)
			return n;
		for (uint32_t i = 0; i < n; i++)
			if (!independent(&e[i], &e[n]))
				return n;
	}
	return n;
}

struct wave {
	const struct vitsa_model_cfg *cfg;
	const struct vitsa_hw_desc *d;
	const struct vitsa_mem_ops *ops;
	void *opaque;
	struct vitsa_job_stats *st;
	uint32_t *status;
	struct vitsa_gemm *g[WAVE_MAX];	/* NULL for a job that already failed */
	uint32_t first[WAVE_MAX + 1];	/* the wave's task index of each job's first */
	uint32_t jobs;
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
static bool wave_split(struct wave *w, uint64_t macs)
{
	if (!w->ops->split || !vitsa_gemm_parallel_worth(macs))
		return false;
	if (w->jobs == 1) {
		if (!w->g[0] || !vitsa_gemm_by_rows(w->g[0]))
			return false;
		w->ops->split(w->opaque, w->d[0].m, VITSA_MODEL_ROW_ALIGN, rows_range, w->g[0]);
		return true;
	}
	w->ops->split(w->opaque, w->jobs, 1, jobs_range, w);
	return true;
}

/* One phase of every job of the wave, all tasks in one region. */
static void wave_phase(struct wave *w, bool pack)
{
	uint64_t macs = 0;

	w->pack = pack;
	w->first[0] = 0;
	for (uint32_t j = 0; j < w->jobs; j++) {
		w->first[j + 1] = w->first[j] + (w->g[j] ? vitsa_gemm_tasks(w->g[j], pack) : 0);
		macs += w->g[j] ? vitsa_gemm_macs(w->g[j]) : 0;
	}
	if (!pack && wave_split(w, macs))
		return;
	if (w->ops->parallel && w->first[w->jobs] > 1 && vitsa_gemm_parallel_worth(macs))
		w->ops->parallel(w->opaque, w->first[w->jobs], wave_task, w);
	else
		for (uint32_t t = 0; t < w->first[w->jobs]; t++)
			wave_task(w, t);
}

/*
 * The wave's GEMMs: prepared (each reads its tables now, after the waves before it), run,
 * done.  With @stop a job whose prepare fails ends the wave there, as in-order execution
 * would: the jobs after it are neither prepared nor run.  Returns the jobs it took.
 */
static uint32_t gemm_wave(struct wave *w, bool stop)
{
	uint32_t n = w->jobs;

	for (uint32_t j = 0; j < n; j++) {
		w->g[j] = vitsa_gemm_prepare(&w->d[j], w->ops, w->opaque, &w->status[j]);
		if (w->g[j] && w->status[j]) {
			w->status[j] = vitsa_gemm_finish(w->g[j], w->status[j], w->cfg, &w->st[j]);
			w->g[j] = NULL;
		} else if (!w->g[j]) {
			memset(&w->st[j], 0, sizeof(w->st[j]));
		}
		if (stop && w->status[j])
			w->jobs = n = j + 1;
	}
	wave_phase(w, true);
	wave_phase(w, false);
	for (uint32_t j = 0; j < n; j++)
		if (w->g[j])
			w->status[j] = vitsa_gemm_finish(w->g[j], 0, w->cfg, &w->st[j]);
	return n;
}

static void vec_task(void *arg, uint32_t t)
{
	const struct wave *w = arg;

	w->status[t] = vitsa_vec_exec_here(w->cfg, &w->d[t], w->ops, w->opaque, &w->st[t]);
}

/* The wave's vector ops (each passed its check), one task each. */
static uint32_t vec_wave(struct wave *w)
{
	uint64_t elems = 0;

	for (uint32_t j = 0; j < w->jobs; j++)
		elems += (uint64_t)w->d[j].m * w->d[j].n;
	if (w->ops->parallel && elems >= VWAVE_MIN_ELEMS)
		w->ops->parallel(w->opaque, w->jobs, vec_task, w);
	else
		for (uint32_t j = 0; j < w->jobs; j++)
			vec_task(w, j);
	return w->jobs;
}

static uint32_t exec_wave(const struct vitsa_model_cfg *cfg, const struct vitsa_hw_desc *d,
			  uint32_t count, const struct vitsa_mem_ops *ops, void *opaque,
			  struct vitsa_job_stats *st, uint32_t *status, bool stop)
{
	struct extents e[WAVE_MAX];
	struct wave w = { .cfg = cfg, .d = d, .ops = ops, .opaque = opaque, .st = st,
			  .status = status, .jobs = wave_len(d, count, e) };

	if (e[0].kind == KIND_GEMM)
		return gemm_wave(&w, stop);
	if (w.jobs == 1) {	/* alone: its own parallel region, or its check's status */
		status[0] = vitsa_vec_exec(cfg, d, ops, opaque, st);
		return 1;
	}
	return vec_wave(&w);
}

uint32_t vitsa_model_exec_wave(const struct vitsa_model_cfg *cfg, const struct vitsa_hw_desc *d,
			       uint32_t count, const struct vitsa_mem_ops *ops, void *opaque,
			       struct vitsa_job_stats *st, uint32_t *status)
{
	uint32_t n = exec_wave(cfg, d, count, ops, opaque, st, status, true);

	for (uint32_t j = 0; j < n; j++)
		if (status[j])
			return j + 1;
	return n;
}

void vitsa_model_exec_group(const struct vitsa_model_cfg *cfg, const struct vitsa_hw_desc *d,
			    uint32_t count, const struct vitsa_mem_ops *ops, void *opaque,
			    struct vitsa_job_stats *st, uint32_t *status)
{
	for (uint32_t j = 0; j < count;)
		j += exec_wave(cfg, d + j, count - j, ops, opaque, st + j, status + j, false);
}
