// SPDX-License-Identifier: MIT
/*
 * vitsa functional model: a list's entries cut into independent lanes (vitsa_lanes.h).
 * Entries that share a byte one of them writes are joined (union-find) by a sweep over every
 * span sorted by its first byte, so a list of 4096 entries costs a sort, not 8 million pair
 * tests; the joined sets go to the lanes largest first, each to the least loaded.
 */
#include <stdlib.h>

#include "../include/vitsa_int.h"
#include "vitsa_lanes.h"
#include "vitsa_model.h"
#include "vitsa_vec.h"

#define VEC_WORK	16	/* a vector element's work, in MACs */

static const struct vitsa_span none = { 1, 0 };

bool vitsa_span_meet(struct vitsa_span a, struct vitsa_span b)
{
	return a.first <= a.last && b.first <= b.last && a.first <= b.last && b.first <= a.last;
}

/* @rows rows of @row_bytes, @stride apart, from @addr (the checks passed: no wrap). */
static struct vitsa_span span_of(uint64_t addr, uint64_t rows, uint64_t stride,
				 uint64_t row_bytes)
{
	uint64_t last;

	if (!rows || !row_bytes || !vitsa_extent_last(addr, rows, stride, row_bytes, &last))
		return none;
	return (struct vitsa_span){ addr, last };
}

static bool touch_vec(const struct vitsa_hw_desc *d, struct vitsa_touch *t)
{
	const uint64_t addr[VITSA_VEC_OPNDS] = { d->a_addr, d->b_addr, d->c_addr };
	const uint64_t stride[VITSA_VEC_OPNDS] = { d->a_stride, d->b_stride, d->c_stride };
	struct vitsa_vec_extent e;

	if (vitsa_vec_check(d) || vitsa_vec_extent(d, &e))
		return false;
	for (int o = 0; o < VITSA_VEC_OUT; o++)
		t->in[o] = span_of(addr[o], e.rows[o], stride[o], e.row_bytes[o]);
	t->in[2] = t->in[3] = none;
	t->out = span_of(addr[VITSA_VEC_OUT], e.rows[VITSA_VEC_OUT], stride[VITSA_VEC_OUT],
			 e.row_bytes[VITSA_VEC_OUT]);
	return true;
}

bool vitsa_touch_of(const struct vitsa_hw_desc *d, struct vitsa_touch *t)
{
	bool bt = d->flags & VITSA_DESC_B_TRANS;
	uint32_t ta = VITSA_DESC_A_TYPE(d->types), tb = VITSA_DESC_B_TYPE(d->types);

	*t = (struct vitsa_touch){ { none, none, none, none }, none };
	if (vitsa_vec_op_valid(d->opcode))
		return touch_vec(d, t);
	if (vitsa_desc_check(d))
		return false;
	t->in[0] = span_of(d->a_addr, d->m, d->a_stride, vitsa_row_bytes(ta, d->k));
	t->in[1] = span_of(d->b_addr, bt ? d->n : d->k, d->b_stride,
			   vitsa_row_bytes(tb, bt ? d->k : d->n));
	if (d->flags & VITSA_DESC_BIAS)
		t->in[2] = span_of(d->bias_addr, 1, 0, 4ull * d->n);
	if (d->flags & VITSA_DESC_REQUANT)
		t->in[3] = span_of(d->rq_addr, 1, 0, 8ull * d->n);
	t->out = span_of(d->c_addr, d->m, d->c_stride,
			 vitsa_row_bytes(VITSA_DESC_C_TYPE(d->types), d->n));
	return true;
}

bool vitsa_rq_ok(const uint8_t *raw, uint32_t n)
{
	for (uint32_t c = 0; c < n; c++)
		if (vitsa_int_le32(raw + 8ull * c + 4) > VITSA_RQ_MAX_SHIFT)
			return false;
	return true;
}

/* ---- joining entries ---- */

struct mark {
	struct vitsa_span s;
	uint32_t entry;
	uint8_t slot;		/* in[slot], or VITSA_TOUCH_IN for out */
};

static int by_first(const void *a, const void *b)
{
	uint64_t x = ((const struct mark *)a)->s.first, y = ((const struct mark *)b)->s.first;

	return x < y ? -1 : x > y;
}

static uint32_t root(uint32_t *up, uint32_t i)
{
	while (up[i] != i)
		i = up[i] = up[up[i]];
	return i;
}

static void join(uint32_t *up, uint32_t a, uint32_t b)
{
	up[root(up, a)] = root(up, b);
}

/*
 * The sweep's state.  Every span still open at a mark contains the mark's first byte, so the
 * open writes meet each other and are joined already: one (the furthest reaching, wlast)
 * stands for them.  Reads since the last write wait in @wait; a write joins those it meets and
 * folds them into one read standing for all (rlast, joined to the write).
 */
struct sweep {
	uint32_t *up;
	uint8_t *written;
	const struct mark *m;
	uint32_t *wait, nwait;
	bool w_open, r_open;
	uint64_t wlast, rlast;
	uint32_t wrep, rrep;
};

static void hit(struct sweep *sw, const struct mark *k)
{
	if (k->slot < VITSA_TOUCH_IN)
		sw->written[k->entry] |= 1u << k->slot;
}

static void sweep_write(struct sweep *sw, const struct mark *k)
{
	bool any = sw->r_open && sw->rlast >= k->s.first;
	uint64_t rlast = any ? sw->rlast : 0;

	if (any)
		join(sw->up, k->entry, sw->rrep);
	for (uint32_t i = 0; i < sw->nwait; i++) {
		const struct mark *r = &sw->m[sw->wait[i]];

		if (r->s.last >= k->s.first) {
			join(sw->up, k->entry, r->entry);
			hit(sw, r);
			rlast = any && rlast > r->s.last ? rlast : r->s.last;
			any = true;
		}
	}
	sw->nwait = 0;
	sw->r_open = any;
	sw->rlast = rlast;
	sw->rrep = k->entry;
	if (!sw->w_open || k->s.first > sw->wlast) {
		sw->w_open = true;
		sw->wlast = k->s.last;
		sw->wrep = k->entry;
	} else if (k->s.last > sw->wlast) {
		sw->wlast = k->s.last;
	}
}

static void sweep(struct sweep *sw, uint32_t count)
{
	for (uint32_t i = 0; i < count; i++) {
		const struct mark *k = &sw->m[i];

		if (sw->w_open && k->s.first <= sw->wlast) {
			join(sw->up, k->entry, sw->wrep);
			hit(sw, k);
		}
		if (k->slot == VITSA_TOUCH_IN)
			sweep_write(sw, k);
		else
			sw->wait[sw->nwait++] = i;
	}
}

/* Every span of @d[0..n) as marks, sorted; the count, or -1 when an entry fails its checks. */
static int64_t marks_of(const struct vitsa_hw_desc *d, uint32_t n, struct mark *m, uint64_t *work)
{
	uint32_t count = 0;

	for (uint32_t i = 0; i < n; i++) {
		struct vitsa_touch t;

		if ((!vitsa_vec_op_valid(d[i].opcode) && d[i].opcode != VITSA_OP_GEMM) ||
		    !vitsa_touch_of(&d[i], &t))
			return -1;
		for (uint8_t s = 0; s <= VITSA_TOUCH_IN; s++) {
			struct vitsa_span sp = s < VITSA_TOUCH_IN ? t.in[s] : t.out;

			if (sp.first <= sp.last)
				m[count++] = (struct mark){ sp, i, s };
		}
		work[i] = 1 + (d[i].opcode == VITSA_OP_GEMM ? (uint64_t)d[i].m * d[i].n * d[i].k :
			       (uint64_t)d[i].m * d[i].n * VEC_WORK);
	}
	qsort(m, count, sizeof(*m), by_first);
	return count;
}

/* ---- lanes ---- */

struct set {
	uint64_t work;
	uint32_t root;
};

static int by_work(const void *a, const void *b)
{
	uint64_t x = ((const struct set *)a)->work, y = ((const struct set *)b)->work;

	return x > y ? -1 : x < y;
}

/*
 * Each set of joined entries to a lane, largest first to the least loaded: lane[r] of each
 * root entry r (lane[] is the roots' set index meanwhile).  Returns the lanes used.
 */
static uint32_t deal(const uint32_t *up, const uint64_t *work, uint32_t n, uint32_t max,
		     struct set *sets, uint32_t *lane)
{
	uint64_t load[VITSA_LANES_MAX] = { 0 };
	uint32_t nsets = 0, used = 0;

	for (uint32_t i = 0; i < n; i++)
		if (up[i] == i) {
			lane[i] = nsets;
			sets[nsets++] = (struct set){ 0, i };
		}
	for (uint32_t i = 0; i < n; i++)
		sets[lane[up[i]]].work += work[i];
	qsort(sets, nsets, sizeof(*sets), by_work);
	for (uint32_t s = 0; s < nsets; s++) {
		uint32_t best = 0;

		for (uint32_t l = 1; l < max; l++)
			if (load[l] < load[best])
				best = l;
		load[best] += sets[s].work;
		lane[sets[s].root] = best;
		used = best + 1 > used ? best + 1 : used;
	}
	return used;
}

/* The lanes as order[] and first[], from lane[] of each root. */
static void lay_out(const uint32_t *up, const uint32_t *lane, uint32_t n, uint32_t lanes,
		    uint32_t *order, uint32_t *first)
{
	uint32_t at[VITSA_LANES_MAX + 1] = { 0 };

	for (uint32_t i = 0; i < n; i++)
		at[lane[up[i]] + 1]++;
	for (uint32_t l = 0; l < lanes; l++)
		at[l + 1] += at[l];
	for (uint32_t l = 0; l <= lanes; l++)
		first[l] = at[l];
	for (uint32_t i = 0; i < n; i++)
		order[at[lane[up[i]]]++] = i;
}

uint32_t vitsa_lanes_plan(const struct vitsa_hw_desc *d, uint32_t n, uint32_t max,
			  uint32_t *order, uint32_t *first, uint8_t *written)
{
	size_t marks = (VITSA_TOUCH_IN + 1) * (size_t)n;
	struct mark *m = malloc(sizeof(*m) * marks);
	uint32_t *wait = malloc(sizeof(*wait) * marks);
	uint32_t *up = malloc(sizeof(*up) * 2 * (size_t)n);	/* the sets, then lane[] */
	uint64_t *work = malloc(sizeof(*work) * (size_t)n);
	struct set *sets = malloc(sizeof(*sets) * (size_t)n);
	uint32_t lanes = 0;
	int64_t count;

	if (!m || !wait || !up || !work || !sets || !n || !max)
		goto out;
	if (max > VITSA_LANES_MAX)
		max = VITSA_LANES_MAX;
	count = marks_of(d, n, m, work);
	if (count < 0)
		goto out;
	for (uint32_t i = 0; i < n; i++) {
		up[i] = i;
		written[i] = 0;
	}
	sweep(&(struct sweep){ .up = up, .written = written, .m = m, .wait = wait },
	      (uint32_t)count);
	for (uint32_t i = 0; i < n; i++)
		up[i] = root(up, i);
	lanes = deal(up, work, n, max, sets, up + n);
	lay_out(up, up + n, n, lanes, order, first);
out:
	free(m);
	free(wait);
	free(up);
	free(work);
	free(sets);
	return lanes;
}
