// SPDX-License-Identifier: MIT
/*
 * Executing a compiled program on a device: the arenas become device buffers (one per
 * VITRT_ARENA_CHUNK), GEMM steps are queued and submitted together at SYNC steps, and the
 * integer CPU ops run on the mapped buffers in between, each through its row of the ops table
 * (vitrt_ops.c).
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vitrt_exec.h"
#include "vitrt_ops.h"
#include "vitrt_pool.h"

#define MAX_QUEUE 256
/* No timeout of our own: the driver fails a job that runs past its job_timeout_ms. */
#define WAIT_FOREVER UINT64_MAX

struct vitrt_session {
	struct vitrt_dev *dev;
	const struct vitrt_prog *prog;
	struct vitrt_buf **bufs[VITRT_ARENA_COUNT];
	uint32_t nbufs[VITRT_ARENA_COUNT];
	bool shared_const;		/* bufs[CONST] belong to another session */
	struct vitrt_gemm queue[MAX_QUEUE];
	uint32_t queued;
	struct vitrt_run_stats stats;
};

/* Host address of a reference (validated: it lies inside one chunk). */
static uint8_t *host(const struct vitrt_session *s, const struct vitrt_pref *r)
{
	uint64_t chunk = r->offset / VITRT_ARENA_CHUNK;

	return (uint8_t *)vitrt_buf_map(s->bufs[r->arena][chunk]) + r->offset % VITRT_ARENA_CHUNK;
}

static struct vitrt_mat mat(const struct vitrt_session *s, const struct vitrt_pref *r)
{
	if (!r->stride && !r->offset && !r->arena)
		return (struct vitrt_mat){ 0 };
	return (struct vitrt_mat){ .buf = s->bufs[r->arena][r->offset / VITRT_ARENA_CHUNK],
				   .offset = r->offset % VITRT_ARENA_CHUNK, .stride = r->stride };
}

static int alloc_arena(struct vitrt_session *s, uint32_t a, int *err)
{
	uint64_t size = s->prog->arena_size[a];
	uint32_t n = (uint32_t)((size + VITRT_ARENA_CHUNK - 1) / VITRT_ARENA_CHUNK);

	s->bufs[a] = calloc(n ? n : 1, sizeof(*s->bufs[a]));
	if (!s->bufs[a])
		return *err = VITRT_ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t len = size - i * VITRT_ARENA_CHUNK;

		if (len > VITRT_ARENA_CHUNK)
			len = VITRT_ARENA_CHUNK;
		s->bufs[a][i] = vitrt_buf_new(s->dev, len, err);
		if (!s->bufs[a][i])
			return *err;
		s->nbufs[a] = i + 1;
		if (a != VITRT_ARENA_CONST)
			continue;
		memcpy(vitrt_buf_map(s->bufs[a][i]), s->prog->arena[a] + i * VITRT_ARENA_CHUNK, len);
		*err = vitrt_buf_seal(s->bufs[a][i]);	/* weights: packed once by the device */
		if (*err)
			return *err;
	}
	return 0;
}

struct vitrt_session *vitrt_session_new(struct vitrt_dev *dev, const struct vitrt_prog *p,
					int *err)
{
	struct vitrt_session *s = calloc(1, sizeof(*s));

	if (!s) {
		*err = VITRT_ENOMEM;
		return NULL;
	}
	s->dev = dev;
	s->prog = p;
	*err = vitrt_dev_info(dev)->max_buf_size < VITRT_ARENA_CHUNK ? VITRT_EUNSUPPORTED : 0;
	for (uint32_t a = 0; a < VITRT_ARENA_COUNT && !*err; a++)
		alloc_arena(s, a, err);
	if (*err) {
		vitrt_session_free(s);
		return NULL;
	}
	return s;
}

struct vitrt_session *vitrt_session_new_shared(const struct vitrt_session *owner, int *err)
{
	struct vitrt_session *s = calloc(1, sizeof(*s));

	if (!s) {
		*err = VITRT_ENOMEM;
		return NULL;
	}
	s->dev = owner->dev;
	s->prog = owner->prog;
	s->bufs[VITRT_ARENA_CONST] = owner->bufs[VITRT_ARENA_CONST];
	s->nbufs[VITRT_ARENA_CONST] = owner->nbufs[VITRT_ARENA_CONST];
	s->shared_const = true;
	*err = 0;
	if (alloc_arena(s, VITRT_ARENA_ACT, err)) {
		vitrt_session_free(s);
		return NULL;
	}
	return s;
}

void vitrt_session_free(struct vitrt_session *s)
{
	if (!s)
		return;
	for (uint32_t a = 0; a < VITRT_ARENA_COUNT; a++) {
		if (a == VITRT_ARENA_CONST && s->shared_const)
			continue;
		for (uint32_t i = 0; i < s->nbufs[a]; i++)
			vitrt_buf_del(s->bufs[a][i]);
		free(s->bufs[a]);
	}
	free(s);
}

/* ---- steps ---- */

static int op_gemm(struct vitrt_session *s, const struct vitrt_step *st)
{
	const struct vitrt_pgemm *g = &s->prog->gemms[st->index];

	if (s->queued == MAX_QUEUE)
		return VITRT_EINVAL;	/* the compiler puts a SYNC before this can happen */
	s->queue[s->queued++] = (struct vitrt_gemm){
		.m = g->m, .n = g->n, .k = g->k, .flags = g->flags,
		.a_type = g->a_type, .b_type = g->b_type, .c_type = g->c_type, .c_zero = g->c_zero,
		.a = mat(s, &g->a), .b = mat(s, &g->b), .c = mat(s, &g->c),
		.bias = (g->flags & VITRT_GEMM_BIAS) ? mat(s, &g->bias) : (struct vitrt_mat){ 0 },
		.rq = (g->flags & VITRT_GEMM_REQUANT) ? mat(s, &g->rq) : (struct vitrt_mat){ 0 },
	};
	s->stats.jobs++;
	s->stats.macs += (uint64_t)g->m * g->n * g->k;
	s->stats.cycles += vitrt_gemm_cycles(s->dev, g->m, g->n, g->k);
	return 0;
}

/*
 * CPU ops run as ranges of rows [r0, r1), one range per thread of libvitrt's pool when the
 * step is big enough to pay for a parallel region, cut as the in-process device cuts a job's
 * rows (vitrt_parallel_split), so each thread reads the rows it wrote.  Rows are independent,
 * so the result does not depend on how they are split.
 */
#define PAR_MIN_ELEMS	16384	/* below this a parallel region costs more than it saves */

/*
 * PAR_MIN_ELEMS, or VITRT_PAR_MIN_ELEMS from the environment (tests split tiny steps too).
 * Sessions of a batch run on several threads at once: the cached value is atomic (every
 * thread that finds it unset computes the same value).
 */
static uint64_t par_min_elems(void)
{
	static _Atomic uint64_t min;
	uint64_t m = atomic_load_explicit(&min, memory_order_relaxed);

	if (!m) {
		const char *e = getenv("VITRT_PAR_MIN_ELEMS");
		char *end;
		unsigned long long v = e ? strtoull(e, &end, 10) : 0;

		m = e && *e && !*end && v ? v : PAR_MIN_ELEMS;
		atomic_store_explicit(&min, m, memory_order_relaxed);
	}
	return m;
}
struct rows_job {
	const struct vitrt_op_args *a;
	vitrt_op_run_fn *fn;
};

static void rows_range(void *arg, uint32_t lo, uint32_t hi)
{
	const struct rows_job *j = arg;

	j->fn(j->a, lo, hi);
}

static void for_rows(vitrt_op_run_fn *fn, const struct vitrt_op_args *a,
		     const struct vitrt_op_shape *sh)
{
	struct rows_job j = { .a = a, .fn = fn };
	uint32_t align = sh->par_align ? sh->par_align : 1;

	if (vitrt_threads() == 1 || sh->par_elems < par_min_elems() || sh->par_rows < 2) {
		fn(a, 0, sh->par_rows);
		return;
	}
	/* tests split tiny steps too: then a range may be a single row */
	vitrt_parallel_split(sh->par_rows, sh->par_rows > align ? align : 1, rows_range, &j);
}

/* A CPU step: its parameters decoded, its tensors mapped, its rows run by the op's traits. */
static int op_cpu(struct vitrt_session *s, const struct vitrt_step *st)
{
	const struct vitrt_pref *ref[VITRT_OPND_COUNT] = { &st->in0, &st->in1, &st->out };
	struct vitrt_op_args a = { .rows = st->rows, .cols = st->cols };
	struct vitrt_op_shape sh;

	vitrt_op_decode(&a.p, st);
	vitrt_op_shape(&sh, st, &a.p);
	for (int o = 0; o < VITRT_OPND_COUNT; o++) {
		if (!sh.rows[o])
			continue;	/* not validated, so not mapped */
		a.t[o] = host(s, ref[o]);
		a.stride[o] = ref[o]->stride ? ref[o]->stride : sh.row_bytes[o];
	}
	for_rows(vitrt_op_traits(st->op)->run, &a, &sh);
	return 0;
}

/* ---- running: images in lockstep (vitrt_session_run is one image of it) ---- */

struct lockstep {
	struct vitrt_session *const *s;
	uint32_t n;
	const struct vitrt_step *st;
	struct vitrt_gemm *all;		/* every session's queue, for one submission */
	uint32_t cap;
};

static void lockstep_cpu(void *arg, uint32_t j)
{
	const struct lockstep *l = arg;

	op_cpu(l->s[j], l->st);
}

/*
 * Every session's queued GEMMs as one submission, waited for once (counted as one sync, the
 * first session's).
 */
static int lockstep_sync(struct lockstep *l)
{
	struct vitrt_session *const *s = l->s;
	const struct vitrt_gemm *jobs = s[0]->queue;	/* one image: its queue as it is */
	struct vitrt_job_error jerr;
	uint32_t total = 0;
	uint64_t fence;
	int err;

	for (uint32_t j = 0; j < l->n; j++)
		total += s[j]->queued;
	if (!total)
		return 0;
	if (l->n > 1) {
		if (total > l->cap) {
			struct vitrt_gemm *all = realloc(l->all, total * sizeof(*all));

			if (!all)
				return VITRT_ENOMEM;
			l->all = all;
			l->cap = total;
		}
		for (uint32_t j = 0, at = 0; j < l->n; at += s[j++]->queued)
			memcpy(l->all + at, s[j]->queue, s[j]->queued * sizeof(*l->all));
		jobs = l->all;
	}
	for (uint32_t j = 0; j < l->n; j++)
		s[j]->queued = 0;
	s[0]->stats.syncs++;
	err = vitrt_submit(s[0]->dev, jobs, total, &fence);
	return err ?: vitrt_wait(s[0]->dev, fence, WAIT_FOREVER, &jerr);
}

int vitrt_session_run_lockstep(struct vitrt_session *const *s, uint32_t n,
			       const uint8_t *const *image, int16_t *const *logits)
{
	const struct vitrt_prog *p = n ? s[0]->prog : NULL;
	struct lockstep l = { .s = s, .n = n };
	const struct vitrt_prog_info *in;
	int err = 0;

	if (!n)
		return VITRT_EINVAL;
	in = &p->info;
	for (uint32_t j = 0; j < n && !err; j++) {
		if (s[j]->dev != s[0]->dev || s[j]->prog != p)
			err = VITRT_EINVAL;
		else
			memcpy(host(s[j], &p->image), image[j], (size_t)in->chans * in->img * in->img);
		s[j]->queued = 0;
	}
	for (uint32_t i = 0; i < p->nsteps && !err; i++) {
		l.st = &p->steps[i];
		if (vitrt_op_traits(l.st->op)->run)
			vitrt_parallel(n, lockstep_cpu, &l);	/* each op's rows then run inline */
		else if (l.st->op == VITRT_OP_GEMM)
			for (uint32_t j = 0; j < n && !err; j++)
				err = op_gemm(s[j], l.st);
		else
			err = lockstep_sync(&l);
	}
	err = err ?: lockstep_sync(&l);
	for (uint32_t j = 0; j < n && !err; j++) {
		memcpy(logits[j], host(s[j], &p->logits), 2ull * in->classes);
		s[j]->stats.images++;
	}
	free(l.all);
	return err;
}

const struct vitrt_run_stats *vitrt_session_stats(const struct vitrt_session *s)
{
	return &s->stats;
}

int vitrt_session_run(struct vitrt_session *s, const uint8_t *image, int16_t *logits)
{
	return vitrt_session_run_lockstep(&s, 1, &image, &logits);
}
