// SPDX-License-Identifier: MIT
/*
 * Executing a compiled program on a device: the arenas become device buffers (one per
 * VITRT_ARENA_CHUNK).  On a device with a vector unit that runs every op of the program, the
 * whole program is one submission: every step a job, the ring's order the dependencies.
 * Otherwise (the split schedule) GEMM steps are queued and submitted together at SYNC steps,
 * and the integer ops run on the mapped buffers in between, on the host's threads, through the
 * same functions the vector unit runs (vitsa_vec_run).
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vitrt_exec.h"
#include "vitrt_ops.h"
#include "vitrt_pool.h"
#include "vitrt_priv.h"

struct vitrt_session {
	struct vitrt_dev *dev;
	const struct vitrt_prog *prog;
	struct vitrt_buf **bufs[VITRT_ARENA_COUNT];
	uint32_t nbufs[VITRT_ARENA_COUNT];
	bool shared_const;		/* bufs[CONST] belong to another session */
	bool whole;			/* the program as one submission (vector unit) */
	struct vitrt_job *queue;	/* a job per step at most */
	uint32_t *qstep;		/* the step of each queued job */
	uint32_t queued;
	uint64_t id;			/* this session, among all of the process's */
	uint32_t tag;			/* its trace events' image */
	struct vitrt_run_stats per_run;	/* what a run adds to stats (images and syncs aside) */
	/* whole program: the jobs of the last batch led by this session, checked once */
	struct vitrt_joblist *list;
	uint64_t *list_ids;		/* the batch's sessions, in order */
	uint32_t list_n;
	uint64_t fence;			/* the batch it led, queued and not yet waited for */
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

/* A tensor the step uses, its stride @row_bytes where the program leaves it 0 (one row). */
static struct vitrt_mat opnd(const struct vitrt_session *s, const struct vitrt_pref *r,
			     uint64_t row_bytes)
{
	return (struct vitrt_mat){ .buf = s->bufs[r->arena][r->offset / VITRT_ARENA_CHUNK],
				   .offset = r->offset % VITRT_ARENA_CHUNK,
				   .stride = r->stride ? r->stride : row_bytes };
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

/* ---- steps as jobs ---- */

static struct vitrt_job gemm_job(const struct vitrt_session *s, const struct vitrt_step *st)
{
	const struct vitrt_pgemm *g = &s->prog->gemms[st->index];

	return (struct vitrt_job){ .kind = VITRT_JOB_GEMM, .gemm = {
		.m = g->m, .n = g->n, .k = g->k, .flags = g->flags,
		.a_type = g->a_type, .b_type = g->b_type, .c_type = g->c_type, .c_zero = g->c_zero,
		.a = mat(s, &g->a), .b = mat(s, &g->b), .c = mat(s, &g->c),
		.bias = (g->flags & VITRT_GEMM_BIAS) ? mat(s, &g->bias) : (struct vitrt_mat){ 0 },
		.rq = (g->flags & VITRT_GEMM_REQUANT) ? mat(s, &g->rq) : (struct vitrt_mat){ 0 },
	} };
}

/* A CPU step as the vector unit's job: the op's tensors and parameter words as they are. */
static struct vitrt_job vec_job(const struct vitrt_session *s, const struct vitrt_step *st)
{
	const struct vitrt_pref *ref[VITRT_OPND_COUNT] = { &st->in0, &st->in1, &st->out };
	struct vitrt_job j = { .kind = VITRT_JOB_VEC };
	struct vitrt_mat *m[VITRT_OPND_COUNT] = { &j.vec.in0, &j.vec.in1, &j.vec.out };
	union vitsa_vec_params u;
	struct vitrt_op_shape sh;

	vitrt_op_decode(&u, st);
	vitrt_op_shape(&sh, st, &u);
	j.vec.op = vitrt_op_traits(st->op)->vop;
	j.vec.rows = st->rows;
	j.vec.cols = st->cols;
	if (st->op == VITRT_OP_INPUT) {	/* the patch rows, s8 */
		j.vec.rows = (uint32_t)sh.rows[VITRT_OPND_OUT];
		j.vec.cols = (uint32_t)sh.row_bytes[VITRT_OPND_OUT];
	}
	for (int o = 0; o < VITRT_OPND_COUNT; o++)
		if (sh.rows[o])
			*m[o] = opnd(s, ref[o], sh.row_bytes[o]);
	memcpy(j.vec.param, st->p, sizeof(j.vec.param));
	return j;
}

static void queue_job(struct vitrt_session *s, const struct vitrt_step *st)
{
	s->qstep[s->queued] = (uint32_t)(st - s->prog->steps);
	s->queue[s->queued++] = st->op == VITRT_OP_GEMM ? gemm_job(s, st) : vec_job(s, st);
}

/*
 * The whole program fits the device's vector unit: every op is one it runs (VITRT_SCHEDULE=split
 * asks for the split schedule regardless) and every step is a job the device accepts.
 */
static bool whole_program(const struct vitrt_session *s)
{
	const char *e = getenv("VITRT_SCHEDULE");

	if (e && !strcmp(e, "split"))
		return false;
	for (uint32_t i = 0; i < s->prog->nsteps; i++) {
		const struct vitrt_step *st = &s->prog->steps[i];
		struct vitrt_job j;

		if (!vitrt_op_traits(st->op)->vop)
			continue;
		j = vec_job(s, st);
		if (vitrt_job_check(s->dev, &j))
			return false;
	}
	return true;
}

/* The device's share of one run: every GEMM, and every op with the whole program. */
static void per_run(struct vitrt_session *s)
{
	for (uint32_t i = 0; i < s->prog->nsteps; i++) {
		const struct vitrt_step *st = &s->prog->steps[i];
		const struct vitrt_pgemm *g;

		if (st->op == VITRT_OP_GEMM) {
			g = &s->prog->gemms[st->index];
			s->per_run.jobs++;
			s->per_run.macs += (uint64_t)g->m * g->n * g->k;
			s->per_run.cycles += vitrt_gemm_cycles(s->dev, g->m, g->n, g->k);
		} else if (s->whole && vitrt_op_traits(st->op)->vop) {
			struct vitrt_job j = vec_job(s, st);

			s->per_run.jobs++;
			s->per_run.cycles += vitrt_job_cycles(s->dev, &j);
		}
	}
}

static int session_queue(struct vitrt_session *s)
{
	static _Atomic uint64_t ids;

	s->id = atomic_fetch_add(&ids, 1) + 1;
	s->queue = calloc(s->prog->nsteps ? s->prog->nsteps : 1, sizeof(*s->queue));
	s->qstep = calloc(s->prog->nsteps ? s->prog->nsteps : 1, sizeof(*s->qstep));
	if (!s->queue || !s->qstep)
		return VITRT_ENOMEM;
	s->whole = whole_program(s);
	per_run(s);
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
	*err = *err ?: session_queue(s);
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
	if (alloc_arena(s, VITRT_ARENA_ACT, err) || session_queue(s)) {
		*err = *err ?: VITRT_ENOMEM;
		vitrt_session_free(s);
		return NULL;
	}
	return s;
}

void vitrt_session_free(struct vitrt_session *s)
{
	if (!s)
		return;
	if (s->fence)	/* a batch it led still queued: its buffers are the device's */
		vitrt_wait(s->dev, s->fence, UINT64_MAX, NULL);
	for (uint32_t a = 0; a < VITRT_ARENA_COUNT; a++) {
		if (a == VITRT_ARENA_CONST && s->shared_const)
			continue;
		for (uint32_t i = 0; i < s->nbufs[a]; i++)
			vitrt_buf_del(s->bufs[a][i]);
		free(s->bufs[a]);
	}
	free(s->queue);
	free(s->qstep);
	vitrt_joblist_free(s->list);
	free(s->list_ids);
	free(s);
}

bool vitrt_session_whole(const struct vitrt_session *s)
{
	return s->whole;
}

void vitrt_session_set_tag(struct vitrt_session *s, uint32_t tag)
{
	s->tag = tag;
}

/* ---- CPU steps of the split schedule ---- */

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
	const struct vitsa_vec_args *a;
	uint32_t vop;
};

static void rows_range(void *arg, uint32_t lo, uint32_t hi)
{
	const struct rows_job *j = arg;

	vitsa_vec_run(j->vop, j->a, lo, hi);
}

static void for_rows(uint32_t vop, const struct vitsa_vec_args *a, const struct vitrt_op_shape *sh)
{
	struct rows_job j = { .a = a, .vop = vop };
	uint32_t align = sh->par_align ? sh->par_align : 1;

	if (vitrt_threads() == 1 || sh->par_elems < par_min_elems() || sh->par_rows < 2) {
		vitsa_vec_run(vop, a, 0, sh->par_rows);
		return;
	}
	/* tests split tiny steps too: then a range may be a single row */
	vitrt_parallel_split(sh->par_rows, sh->par_rows > align ? align : 1, rows_range, &j);
}

/* A CPU step: its parameters decoded, its tensors mapped, its rows run by the op's traits. */
static int op_cpu(struct vitrt_session *s, const struct vitrt_step *st)
{
	const struct vitrt_pref *ref[VITRT_OPND_COUNT] = { &st->in0, &st->in1, &st->out };
	struct vitsa_vec_args a = { .rows = st->rows, .cols = st->cols };
	struct vitrt_op_shape sh;

	vitrt_op_decode(&a.p, st);
	vitrt_op_shape(&sh, st, &a.p);
	for (int o = 0; o < VITRT_OPND_COUNT; o++) {
		if (!sh.rows[o])
			continue;	/* not validated, so not mapped */
		a.t[o] = host(s, ref[o]);
		a.stride[o] = ref[o]->stride ? ref[o]->stride : sh.row_bytes[o];
	}
	for_rows(vitrt_op_traits(st->op)->vop, &a, &sh);
	return 0;
}

/* ---- running: images in lockstep (vitrt_session_run is one image of it) ---- */

struct lockstep {
	struct vitrt_session *const *s;
	uint32_t n;
	const struct vitrt_step *st;
	struct vitrt_job *all;		/* every session's queue, for one submission */
	uint32_t cap;
};

/* Host step @st of @s ran from @t0 until now. */
static void trace_step(const struct vitrt_session *s, const struct vitrt_step *st, uint64_t t0)
{
	struct vitrt_trace_event ev = {
		.kind = VITRT_TRACE_STEP, .dev = s->dev, .t0 = t0, .t1 = vitrt_trace_now(),
		.step = (uint32_t)(st - s->prog->steps), .op = st->op, .image = s->tag,
	};

	vitrt_trace_emit(s->dev, &ev);
}

static void lockstep_cpu(void *arg, uint32_t j)
{
	const struct lockstep *l = arg;
	uint64_t t0;

	if (!l->s[j]->dev->tracer.event) {
		op_cpu(l->s[j], l->st);
		return;
	}
	t0 = vitrt_trace_now();
	op_cpu(l->s[j], l->st);
	trace_step(l->s[j], l->st, t0);
}

/*
 * Where each job queued by @s[0..n) came from, in the order of their sessions, for a traced
 * device (*@org NULL when it is not traced): 0 or VITRT_ENOMEM.
 */
static int origins(struct vitrt_session *const *s, uint32_t n, uint32_t total,
		   struct vitrt_job_origin **org)
{
	*org = NULL;
	if (!s[0]->dev->tracer.event)
		return 0;
	*org = malloc(sizeof(**org) * (total ? total : 1));
	if (!*org)
		return VITRT_ENOMEM;
	for (uint32_t j = 0, at = 0; j < n; j++) {
		for (uint32_t q = 0; q < s[j]->queued; q++, at++) {
			uint32_t step = s[j]->qstep[q];

			(*org)[at] = (struct vitrt_job_origin){
				.step = step, .op = s[j]->prog->steps[step].op, .image = s[j]->tag };
		}
	}
	return 0;
}

/* @count jobs from @org as one submission, waited for. */
static int submit_wait(struct vitrt_dev *dev, const struct vitrt_job *jobs,
		       const struct vitrt_job_origin *org, uint32_t count)
{
	struct vitrt_job_error jerr;
	int err;
	struct vitrt_joblist *list = vitrt_joblist_make(dev, jobs, org, count, &err);

	if (!list)
		return err;
	err = vitrt_joblist_run(list, &jerr);
	vitrt_joblist_free(list);
	return err;
}

/*
 * Every session's queued jobs as one submission, waited for once (counted as one sync, the
 * first session's).
 */
static int lockstep_sync(struct lockstep *l)
{
	struct vitrt_session *const *s = l->s;
	const struct vitrt_job *jobs = s[0]->queue;	/* one image: its queue as it is */
	struct vitrt_job_origin *org;
	uint32_t total = 0;
	int err;

	for (uint32_t j = 0; j < l->n; j++)
		total += s[j]->queued;
	if (!total)
		return 0;
	if (l->n > 1) {
		if (total > l->cap) {
			struct vitrt_job *all = realloc(l->all, total * sizeof(*all));

			if (!all)
				return VITRT_ENOMEM;
			l->all = all;
			l->cap = total;
		}
		for (uint32_t j = 0, at = 0; j < l->n; at += s[j++]->queued)
			memcpy(l->all + at, s[j]->queue, s[j]->queued * sizeof(*l->all));
		jobs = l->all;
	}
	err = origins(s, l->n, total, &org);
	for (uint32_t j = 0; j < l->n; j++)
		s[j]->queued = 0;
	if (err)
		return err;
	s[0]->stats.syncs++;
	err = submit_wait(s[0]->dev, jobs, org, total);
	free(org);
	return err;
}

/* The batch's sessions are those s[0]'s list was made for. */
static bool list_fits(const struct lockstep *l)
{
	const struct vitrt_session *s0 = l->s[0];

	if (!s0->list || s0->list_n != l->n ||
	    vitrt_joblist_traced(s0->list) != !!s0->dev->tracer.event)
		return false;
	for (uint32_t j = 0; j < l->n; j++)
		if (s0->list_ids[j] != l->s[j]->id)
			return false;
	return true;
}

/* Every session's jobs, in the order of their sessions, as s[0]'s list. */
static int list_make(struct lockstep *l)
{
	struct vitrt_session *s0 = l->s[0];
	struct vitrt_job_origin *org = NULL;
	uint32_t total = 0;
	int err = 0;

	vitrt_joblist_free(s0->list);
	s0->list = NULL;
	free(s0->list_ids);
	s0->list_ids = malloc(sizeof(*s0->list_ids) * l->n);
	if (!s0->list_ids)
		return VITRT_ENOMEM;
	for (uint32_t j = 0; j < l->n; j++) {
		struct vitrt_session *s = l->s[j];

		s->queued = 0;
		for (uint32_t i = 0; i < s->prog->nsteps; i++)
			if (s->prog->steps[i].op != VITRT_OP_SYNC)
				queue_job(s, &s->prog->steps[i]);
		total += s->queued;
		s0->list_ids[j] = s->id;
	}
	if (l->n > 1) {
		l->all = malloc(sizeof(*l->all) * (total ? total : 1));
		if (!l->all)
			return VITRT_ENOMEM;
		for (uint32_t j = 0, at = 0; j < l->n; at += l->s[j++]->queued)
			memcpy(l->all + at, l->s[j]->queue, l->s[j]->queued * sizeof(*l->all));
	}
	err = origins(l->s, l->n, total, &org);
	if (!err)
		s0->list = vitrt_joblist_make(s0->dev, l->n > 1 ? l->all : s0->queue, org, total,
					      &err);
	s0->list_n = s0->list ? l->n : 0;
	free(org);
	return err;
}

/*
 * The whole program of every image as one submission.  The jobs are the same every time the
 * same sessions run together (only the images differ): they are made, checked and put in the
 * backend's form once.  Untraced, it is only queued: s[0]->fence is what finish waits for;
 * traced, it is waited for here, where the trace takes the device's times.
 */
static int whole_start(struct lockstep *l)
{
	struct vitrt_session *s0 = l->s[0];
	struct vitrt_job_error jerr;
	int err = list_fits(l) ? 0 : list_make(l);

	if (err)
		return err;
	s0->stats.syncs++;
	if (vitrt_joblist_traced(s0->list))
		return vitrt_joblist_run(s0->list, &jerr);
	err = vitrt_joblist_submit(s0->list, &s0->fence);
	if (err)
		s0->fence = 0;	/* what it queued before the refusal was waited for */
	return err;
}

/* Step @st of every image (split schedule): run on the host, queued, or a SYNC. */
static int lockstep_step(struct lockstep *l)
{
	if (vitrt_op_traits(l->st->op)->vop) {
		vitrt_parallel(l->n, lockstep_cpu, l);	/* each op's rows then run inline */
		return 0;
	}
	if (l->st->op == VITRT_OP_GEMM) {
		for (uint32_t j = 0; j < l->n; j++)
			queue_job(l->s[j], l->st);
		return 0;
	}
	return lockstep_sync(l);
}

int vitrt_session_start_lockstep(struct vitrt_session *const *s, uint32_t n,
				 const uint8_t *const *image)
{
	const struct vitrt_prog *p = n ? s[0]->prog : NULL;
	struct lockstep l = { .s = s, .n = n };
	const struct vitrt_prog_info *in;
	int err = 0;

	if (!n || s[0]->fence)
		return VITRT_EINVAL;
	in = &p->info;
	for (uint32_t j = 0; j < n && !err; j++) {
		if (s[j]->dev != s[0]->dev || s[j]->prog != p || s[j]->whole != s[0]->whole)
			err = VITRT_EINVAL;
		else
			memcpy(host(s[j], &p->image), image[j], (size_t)in->chans * in->img * in->img);
		s[j]->queued = 0;
	}
	if (!err && s[0]->whole) {
		err = whole_start(&l);
	} else {
		for (uint32_t i = 0; i < p->nsteps && !err; i++) {
			l.st = &p->steps[i];
			err = lockstep_step(&l);
		}
		err = err ?: lockstep_sync(&l);
	}
	free(l.all);
	return err;
}

int vitrt_session_finish_lockstep(struct vitrt_session *const *s, uint32_t n,
				  int16_t *const *logits)
{
	const struct vitrt_prog *p = s[0]->prog;
	struct vitrt_job_error jerr;
	int err = 0;

	if (s[0]->fence)
		err = vitrt_wait(s[0]->dev, s[0]->fence, UINT64_MAX, &jerr);
	s[0]->fence = 0;
	for (uint32_t j = 0; j < n && !err; j++) {
		const struct vitrt_run_stats *r = &s[j]->per_run;

		memcpy(logits[j], host(s[j], &p->logits), 2ull * p->info.classes);
		s[j]->stats.images++;
		s[j]->stats.jobs += r->jobs;
		s[j]->stats.macs += r->macs;
		s[j]->stats.cycles += r->cycles;
	}
	return err;
}

int vitrt_session_run_lockstep(struct vitrt_session *const *s, uint32_t n,
			       const uint8_t *const *image, int16_t *const *logits)
{
	return vitrt_session_start_lockstep(s, n, image) ?:
	       vitrt_session_finish_lockstep(s, n, logits);
}

const struct vitrt_run_stats *vitrt_session_stats(const struct vitrt_session *s)
{
	return &s->stats;
}

int vitrt_session_run(struct vitrt_session *s, const uint8_t *image, int16_t *logits)
{
	return vitrt_session_run_lockstep(&s, 1, &image, &logits);
}
