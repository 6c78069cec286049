// SPDX-License-Identifier: MIT
/*
 * Executing a compiled program on a device: the arenas become device buffers (one per
 * VITRT_ARENA_CHUNK), GEMM steps are queued and submitted together at SYNC steps, and the
 * integer CPU ops run on the mapped buffers in between.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vitrt_exec.h"
#include "vitrt_iops.h"
#include "vitrt_pool.h"

#define MAX_QUEUE 256

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
		if (a == VITRT_ARENA_CONST)
			memcpy(vitrt_buf_map(s->bufs[a][i]),
			       s->prog->arena[a] + i * VITRT_ARENA_CHUNK, len);
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

static int op_sync(struct vitrt_session *s, const struct vitrt_step *st)
{
	struct vitrt_job_error jerr;
	uint64_t fence;
	int err;

	(void)st;
	if (!s->queued)
		return 0;
	err = vitrt_submit(s->dev, s->queue, s->queued, &fence);
	s->queued = 0;
	s->stats.syncs++;
	if (!err)
		err = vitrt_wait(s->dev, fence, 10ull * 1000000000, &jerr);
	return err;
}

/*
 * Row-wise ops run as ranges of rows [r0, r1), spread over libvitrt's thread pool when the
 * step is big enough to pay for a parallel region.  Rows are independent, so the result does
 * not depend on how they are split.
 */
typedef void rows_fn(struct vitrt_session *s, const struct vitrt_step *st, uint32_t r0,
		     uint32_t r1);

#define PAR_MIN_ELEMS	16384	/* below this a parallel region costs more than it saves */

/* PAR_MIN_ELEMS, or VITRT_PAR_MIN_ELEMS from the environment (tests split tiny steps too). */
static uint64_t par_min_elems(void)
{
	static uint64_t min;

	if (!min) {
		const char *e = getenv("VITRT_PAR_MIN_ELEMS");
		char *end;
		unsigned long long v = e ? strtoull(e, &end, 10) : 0;

		min = e && *e && !*end && v ? v : PAR_MIN_ELEMS;
	}
	return min;
}
#define PAR_TASKS	4	/* tasks per thread: evens out rows of unequal cost */

struct rows_job {
	struct vitrt_session *s;
	const struct vitrt_step *st;
	rows_fn *fn;
	uint32_t rows, per;
};

static void rows_task(void *arg, uint32_t t)
{
	const struct rows_job *j = arg;
	uint32_t r0 = t * j->per, r1 = j->rows - r0 < j->per ? j->rows : r0 + j->per;

	j->fn(j->s, j->st, r0, r1);
}

static int for_rows(struct vitrt_session *s, const struct vitrt_step *st, uint32_t rows,
		    uint64_t elems, rows_fn *fn)
{
	uint32_t tasks = vitrt_threads() * PAR_TASKS;
	struct rows_job j = { .s = s, .st = st, .fn = fn, .rows = rows };

	if (tasks <= PAR_TASKS || elems < par_min_elems() || rows < 2) {
		fn(s, st, 0, rows);
		return 0;
	}
	if (tasks > rows)
		tasks = rows;
	j.per = (rows + tasks - 1) / tasks;
	vitrt_parallel((rows + j.per - 1) / j.per, rows_task, &j);
	return 0;
}

/* s8 patch rows from the u8 image, through each channel's quantization table: patch rows. */
static void input_rows(struct vitrt_session *s, const struct vitrt_step *st, uint32_t r0,
		       uint32_t r1)
{
	uint32_t chans = st->p[0], img = st->p[1], patch = st->p[2], per = img / patch;
	const uint8_t *in = host(s, &st->in0);
	const int8_t *lut = (const int8_t *)host(s, &st->in1);
	uint8_t *out = host(s, &st->out);
	uint64_t stride = st->out.stride ? st->out.stride : (uint64_t)chans * patch * patch;

	for (uint32_t py = r0; py < r1; py++) {
		for (uint32_t px = 0; px < per; px++) {
			int8_t *row = (int8_t *)(out + (py * per + px) * stride);

			for (uint32_t c = 0; c < chans; c++)
				for (uint32_t ky = 0; ky < patch; ky++)
					for (uint32_t kx = 0; kx < patch; kx++)
						*row++ = lut[c * 256 + in[(c * img + py * patch + ky) * img +
									   px * patch + kx]];
		}
	}
}

static int op_input(struct vitrt_session *s, const struct vitrt_step *st)
{
	uint32_t chans = st->p[0], img = st->p[1], patch = st->p[2];

	return for_rows(s, st, img / patch, (uint64_t)chans * img * img, input_rows);
}

static int16_t sat16(int32_t v)
{
	return v > INT16_MAX ? INT16_MAX : v < INT16_MIN ? INT16_MIN : (int16_t)v;
}

/* Rows of @st as typed pointers: row r of a reference. */
#define ROW(s, ref, r, type, cols) \
	((type *)(host(s, ref) + (uint64_t)(r) * ((ref)->stride ? (ref)->stride : (cols) * sizeof(type))))

/* Stream = [class token; patch embeddings] + positions, saturating. */
static void embed_rows(struct vitrt_session *s, const struct vitrt_step *st, uint32_t r0,
		       uint32_t r1)
{
	for (uint32_t r = r0; r < r1; r++) {
		const int16_t *add = ROW(s, &st->in1, r, int16_t, st->cols);
		int16_t *out = ROW(s, &st->out, r, int16_t, st->cols);
		const int16_t *in = r ? ROW(s, &st->in0, r - 1, int16_t, st->cols) : NULL;

		for (uint32_t c = 0; c < st->cols; c++)
			out[c] = in ? sat16((int32_t)in[c] + add[c]) : add[c];
	}
}

/* Elements between rows of a reference, for kernels that take strides in elements. */
static size_t estride(const struct vitrt_pref *r, uint32_t cols, size_t elem)
{
	return r->stride ? r->stride / elem : cols;
}

static void layernorm_rows(struct vitrt_session *s, const struct vitrt_step *st, uint32_t r0,
			   uint32_t r1)
{
	struct vitrt_dyadic d = { .mult = st->p[0], .shift = (uint32_t)st->p[1] };

	vitrt_layernorm_s8(ROW(s, &st->out, r0, int8_t, st->cols), estride(&st->out, st->cols, 1),
			   ROW(s, &st->in0, r0, int16_t, st->cols), estride(&st->in0, st->cols, 2),
			   r1 - r0, st->cols, d);
}

static void shiftmax_rows(struct vitrt_session *s, const struct vitrt_step *st, uint32_t r0,
			  uint32_t r1)
{
	struct vitrt_shiftmax p = { .x0 = st->p[0], .n = (uint32_t)st->p[1],
				    .k = (uint32_t)st->p[2], .max_len = (uint32_t)st->p[3] };

	vitrt_shiftmax(ROW(s, &st->out, r0, uint8_t, st->cols), estride(&st->out, st->cols, 1),
		       ROW(s, &st->in0, r0, int8_t, st->cols), estride(&st->in0, st->cols, 1),
		       r1 - r0, st->cols, &p);
}

static void gelu_rows(struct vitrt_session *s, const struct vitrt_step *st, uint32_t r0,
		      uint32_t r1)
{
	struct vitrt_gelu p = { .x0 = st->p[0], .n = (uint32_t)st->p[1], .k = (uint32_t)st->p[2] };
	struct vitrt_dyadic d = { .mult = st->p[3], .shift = (uint32_t)st->p[4] };

	if (estride(&st->out, st->cols, 1) == st->cols && estride(&st->in0, st->cols, 1) == st->cols) {
		/* element-wise: packed rows are one call */
		vitrt_gelu_s8(ROW(s, &st->out, r0, int8_t, st->cols),
			      ROW(s, &st->in0, r0, int8_t, st->cols), (size_t)(r1 - r0) * st->cols,
			      &p, d);
		return;
	}
	for (uint32_t r = r0; r < r1; r++)
		vitrt_gelu_s8(ROW(s, &st->out, r, int8_t, st->cols),
			      ROW(s, &st->in0, r, int8_t, st->cols), st->cols, &p, d);
}

static void add_rows(struct vitrt_session *s, const struct vitrt_step *st, uint32_t r0,
		     uint32_t r1)
{
	struct vitrt_dyadic da = { .mult = st->p[0], .shift = (uint32_t)st->p[1] };
	struct vitrt_dyadic db = { .mult = st->p[2], .shift = (uint32_t)st->p[3] };

	for (uint32_t r = r0; r < r1; r++)
		vitrt_residual_add(ROW(s, &st->out, r, int16_t, st->cols),
				   ROW(s, &st->in0, r, int16_t, st->cols),
				   ROW(s, &st->in1, r, int16_t, st->cols), st->cols, da, db);
}

/* The row-wise ops, each split over the pool by for_rows. */
#define ROWS_OP(name) \
	static int op_##name(struct vitrt_session *s, const struct vitrt_step *st) \
	{ \
		return for_rows(s, st, st->rows, (uint64_t)st->rows * st->cols, name##_rows); \
	}

ROWS_OP(embed)
ROWS_OP(layernorm)
ROWS_OP(shiftmax)
ROWS_OP(gelu)
ROWS_OP(add)

static int (*const ops[VITRT_OP_COUNT])(struct vitrt_session *, const struct vitrt_step *) = {
	[VITRT_OP_GEMM] = op_gemm,
	[VITRT_OP_SYNC] = op_sync,
	[VITRT_OP_INPUT] = op_input,
	[VITRT_OP_EMBED] = op_embed,
	[VITRT_OP_LAYERNORM] = op_layernorm,
	[VITRT_OP_SHIFTMAX] = op_shiftmax,
	[VITRT_OP_GELU] = op_gelu,
	[VITRT_OP_ADD] = op_add,
};

int vitrt_session_run(struct vitrt_session *s, const uint8_t *image, int16_t *logits)
{
	const struct vitrt_prog *p = s->prog;
	const struct vitrt_prog_info *in = &p->info;
	int err = 0;

	memcpy(host(s, &p->image), image, (size_t)in->chans * in->img * in->img);
	s->queued = 0;
	for (uint32_t i = 0; i < p->nsteps && !err; i++)
		err = ops[p->steps[i].op](s, &p->steps[i]);
	err = err ?: op_sync(s, NULL);
	if (!err)
		memcpy(logits, host(s, &p->logits), 2ull * in->classes);
	s->stats.images += !err;
	return err;
}

const struct vitrt_run_stats *vitrt_session_stats(const struct vitrt_session *s)
{
	return &s->stats;
}
