// SPDX-License-Identifier: MIT
/*
 * libvitrt: modeled cycles and utilization of every GEMM of a ViT image.  The cycle count of
 * each GEMM is the hardware's (vitsa_model_cycles); this file only lists the GEMMs.
 */
#include <stdlib.h>
#include <string.h>

#include "vitrt_modeled.h"
#include "vitrt_prog.h"
#include "vitsa_model.h"
#include "vitsa_timing.h"

/* DeiT at 224 (Touvron et al.; ../shared/reference/integer-vit.md): patch 16, depth 12. */
static const struct vitrt_modeled_vit vits[] = {
	{ "deit-t", 224, 16, 3, 192, 3, 768, 12, 1000 },
	{ "deit-s", 224, 16, 3, 384, 6, 1536, 12, 1000 },
	{ "deit-b", 224, 16, 3, 768, 12, 3072, 12, 1000 },
};

static const char *const layer_names[VITRT_MODELED_COUNT] = {
	[VITRT_MODELED_EMBED] = "embed",
	[VITRT_MODELED_QKV] = "qkv",
	[VITRT_MODELED_QK] = "q.k^T",
	[VITRT_MODELED_AV] = "attn.v",
	[VITRT_MODELED_PROJ] = "proj",
	[VITRT_MODELED_FC1] = "fc1",
	[VITRT_MODELED_FC2] = "fc2",
	[VITRT_MODELED_HEAD] = "head",
};

const struct vitrt_modeled_vit *vitrt_modeled_find(const char *name)
{
	for (size_t i = 0; i < sizeof(vits) / sizeof(vits[0]); i++)
		if (!strcmp(name, vits[i].name))
			return &vits[i];
	return NULL;
}

const char *vitrt_modeled_names(void)
{
	return "deit-t, deit-s, deit-b";
}

static int vit_valid(const struct vitrt_modeled_vit *v)
{
	uint32_t side = v->patch ? v->img / v->patch : 0;

	return v->patch && v->img % v->patch == 0 && side && v->chans && v->heads &&
	       v->dim % v->heads == 0 && v->mlp && v->depth && v->classes &&
	       (uint64_t)side * side + 1 <= VITSA_MODEL_MAX_DIM &&
	       (uint64_t)v->chans * v->patch * v->patch <= VITSA_MODEL_MAX_DIM &&
	       3ull * v->dim <= VITSA_MODEL_MAX_DIM && v->mlp <= VITSA_MODEL_MAX_DIM &&
	       v->classes <= VITSA_MODEL_MAX_DIM;
}

static void set_layer(struct vitrt_modeled *r, enum vitrt_modeled_kind kind, uint32_t m,
		      uint32_t n, uint32_t k, uint64_t count)
{
	struct vitsa_model_cfg cfg = { .rows = r->rows, .cols = r->cols };
	struct vitrt_modeled_layer *l = &r->layers[kind];

	*l = (struct vitrt_modeled_layer){ .name = layer_names[kind], .m = m, .n = n, .k = k,
					   .count = count };
	l->cycles = vitsa_model_cycles(&cfg, m, n, k);
	l->macs = (uint64_t)m * n * k;
	l->utilization = (double)l->macs / ((double)l->cycles * r->rows * r->cols);
}

int vitrt_modeled_compute(const struct vitrt_modeled_vit *vit, uint32_t rows, uint32_t cols,
			  struct vitrt_modeled *out)
{
	uint32_t patches, T, D, hd;

	if (!vit || !vit_valid(vit) || !rows || rows > VITRT_ARRAY_MAX_SIDE || !cols ||
	    cols > VITRT_ARRAY_MAX_SIDE)
		return VITRT_EINVAL;
	patches = (vit->img / vit->patch) * (vit->img / vit->patch);
	T = patches + 1;	/* the class token joins after the patch embedding */
	D = vit->dim;
	hd = D / vit->heads;
	*out = (struct vitrt_modeled){ .vit = vit, .rows = rows, .cols = cols, .tokens = T };
	set_layer(out, VITRT_MODELED_EMBED, patches, D, vit->chans * vit->patch * vit->patch, 1);
	set_layer(out, VITRT_MODELED_QKV, T, 3 * D, D, vit->depth);
	set_layer(out, VITRT_MODELED_QK, T, T, hd, (uint64_t)vit->depth * vit->heads);
	set_layer(out, VITRT_MODELED_AV, T, hd, T, (uint64_t)vit->depth * vit->heads);
	set_layer(out, VITRT_MODELED_PROJ, T, D, D, vit->depth);
	set_layer(out, VITRT_MODELED_FC1, T, vit->mlp, D, vit->depth);
	set_layer(out, VITRT_MODELED_FC2, T, D, vit->mlp, vit->depth);
	/* Only the class token reaches the classifier. */
	set_layer(out, VITRT_MODELED_HEAD, 1, vit->classes, D, 1);
	for (int i = 0; i < VITRT_MODELED_COUNT; i++) {
		out->cycles += out->layers[i].cycles * out->layers[i].count;
		out->macs += out->layers[i].macs * out->layers[i].count;
	}
	out->utilization = (double)out->macs / ((double)out->cycles * rows * cols);
	return 0;
}

/* ---- the whole inference: Documentation/hw/vitsa.rst, "Whole-inference model" ---- */

enum engine { ARRAY, VECTOR, ENGINES };

/* Buffers the steps read and write: named ones, two slots for a head's logits and
 * probabilities, then x's rows chunk by chunk (chunks touch disjoint rows). */
enum buf {
	BUF_IMAGE, BUF_QKV, BUF_LN1, BUF_LOGITS, BUF_PROBS = BUF_LOGITS + 2,
	BUF_ATTN = BUF_PROBS + 2, BUF_Y1, BUF_Y2, BUF_LN2, BUF_HID, BUF_LNF, BUF_X
};

struct access {
	uint32_t buf, count;	/* buffers buf .. buf + count - 1 */
	bool write;
};

#define NONE UINT32_MAX
#define UNSCHEDULED UINT64_MAX
#define LOOKAHEAD 64u	/* steps of an engine the compiler may pull forward */

struct step {
	uint8_t engine, kind;	/* kind: a row of the report */
	uint64_t dur;		/* with memory */
	uint64_t nominal;	/* without: what the compiler orders by */
	uint64_t macs, array, vector, dram;
	size_t dep0;		/* its dependencies: deps[dep0 .. dep0 + ndeps) */
	uint32_t ndeps;
	uint64_t finish;
	uint32_t pred;		/* the step whose finish let it start, or NONE */
};

/* The last writer of a buffer and its readers since. */
struct bufstate {
	uint32_t writer;
	uint32_t *rd;
	size_t nrd, cap;
};

struct sched {
	struct step *s;
	size_t n, cap;
	uint32_t *deps;
	size_t ndeps, capdeps;
	struct bufstate *b;
	uint32_t nbufs;
	int err;
};

#define MEMO 32u

/* One candidate chunk count: shapes, residency, its steps. */
struct plan {
	const struct vitrt_modeled_vit *vit;
	const struct vitrt_modeled_hw *hw;
	struct vitsa_model_cfg cfg;
	uint32_t T, D, hd, chunks, spilled, slot;
	struct vitsa_timing_gemm memo_g[MEMO];	/* blocks repeat their jobs: time each once */
	struct vitsa_timing memo_t[MEMO];
	uint32_t nmemo;
	struct sched sc;
	struct vitrt_modeled_step *trace;	/* if set, the steps go here too */
	size_t trace_cap, *trace_n;
};

static const char *const vector_names[] = {
	[VITRT_MODELED_LAYERNORM - VITRT_MODELED_COUNT] = "layernorm",
	[VITRT_MODELED_SHIFTMAX - VITRT_MODELED_COUNT] = "shiftmax",
	[VITRT_MODELED_GELU - VITRT_MODELED_COUNT] = "gelu",
	[VITRT_MODELED_ADD - VITRT_MODELED_COUNT] = "add",
};

static const char *const tensor_names[VITRT_MODELED_T_COUNT] = {
	[VITRT_MODELED_T_IMAGE] = "image", [VITRT_MODELED_T_X] = "x",
	[VITRT_MODELED_T_QKV] = "qkv", [VITRT_MODELED_T_LN1] = "ln1",
	[VITRT_MODELED_T_LOGITS] = "logits", [VITRT_MODELED_T_PROBS] = "probs",
	[VITRT_MODELED_T_ATTN] = "attn", [VITRT_MODELED_T_Y1] = "y1", [VITRT_MODELED_T_Y2] = "y2",
	[VITRT_MODELED_T_LN2] = "ln2", [VITRT_MODELED_T_HID] = "hidden",
};

const char *vitrt_modeled_tensor_name(enum vitrt_modeled_tensor t)
{
	return (unsigned)t < VITRT_MODELED_T_COUNT ? tensor_names[t] : "?";
}

static uint64_t max64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* Room for @need items of @size in *@p (capacity *@cap); false when out of memory. */
static bool grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap ? *cap : 16;
	void *q;

	if (need <= *cap)
		return true;
	while (n < need)
		n *= 2;
	q = realloc(*p, n * size);
	if (!q)
		return false;
	*p = q;
	*cap = n;
	return true;
}

static void dep_on(struct sched *sc, uint32_t on)
{
	if (on == NONE || sc->err)
		return;
	if (!grow((void **)&sc->deps, &sc->capdeps, sc->ndeps + 1, sizeof(*sc->deps))) {
		sc->err = VITRT_ENOMEM;
		return;
	}
	sc->deps[sc->ndeps++] = on;
}

/* Read after write; a write also waits for the readers and the writer before it. */
static void deps_of(struct sched *sc, const struct access *a)
{
	for (uint32_t b = a->buf; b < a->buf + a->count; b++) {
		dep_on(sc, sc->b[b].writer);
		for (size_t r = 0; a->write && r < sc->b[b].nrd; r++)
			dep_on(sc, sc->b[b].rd[r]);
	}
}

static void record(struct sched *sc, const struct access *a, uint32_t self)
{
	for (uint32_t b = a->buf; b < a->buf + a->count && !sc->err; b++) {
		struct bufstate *bs = &sc->b[b];

		if (a->write) {
			bs->writer = self;
			bs->nrd = 0;
		} else if (grow((void **)&bs->rd, &bs->cap, bs->nrd + 1, sizeof(*bs->rd))) {
			bs->rd[bs->nrd++] = self;
		} else {
			sc->err = VITRT_ENOMEM;
		}
	}
}

/* Append @s, its dependencies derived from what it reads and writes, in program order. */
static void add_step(struct sched *sc, struct step s, const struct access *acc, uint32_t nacc)
{
	uint32_t self = (uint32_t)sc->n;

	if (sc->err || !grow((void **)&sc->s, &sc->cap, sc->n + 1, sizeof(*sc->s))) {
		sc->err = sc->err ? sc->err : VITRT_ENOMEM;
		return;
	}
	s.dep0 = sc->ndeps;
	for (uint32_t i = 0; i < nacc; i++)
		deps_of(sc, &acc[i]);
	s.ndeps = (uint32_t)(sc->ndeps - s.dep0);
	/* reads first, so that a step updating a buffer in place ends as its writer */
	for (uint32_t i = 0; i < nacc; i++)
		if (!acc[i].write)
			record(sc, &acc[i], self);
	for (uint32_t i = 0; i < nacc; i++)
		if (acc[i].write)
			record(sc, &acc[i], self);
	sc->s[sc->n++] = s;
}

static bool spilled(const struct plan *pl, enum vitrt_modeled_tensor t)
{
	return pl->spilled >> t & 1;
}

static uint64_t dram_if(const struct plan *pl, enum vitrt_modeled_tensor t, uint64_t bytes)
{
	return spilled(pl, t) ? bytes : 0;
}

static bool same_gemm(const struct vitsa_timing_gemm *a, const struct vitsa_timing_gemm *b)
{
	return a->m == b->m && a->n == b->n && a->k == b->k && a->a_bits == b->a_bits &&
	       a->b_bits == b->b_bits && a->c_bits == b->c_bits && a->a_dram == b->a_dram &&
	       a->a_once == b->a_once && a->b_dram == b->b_dram && a->c_dram == b->c_dram;
}

static void timed(struct plan *pl, const struct vitsa_timing_gemm *g, struct vitsa_timing *t)
{
	for (uint32_t i = 0; i < pl->nmemo; i++)
		if (same_gemm(&pl->memo_g[i], g)) {
			*t = pl->memo_t[i];
			return;
		}
	vitsa_timing_gemm(&pl->cfg, pl->hw->dram_bw, g, t);
	if (pl->nmemo < MEMO) {
		pl->memo_g[pl->nmemo] = *g;
		pl->memo_t[pl->nmemo++] = *t;
	}
}

static void add_gemm(struct plan *pl, int kind, const struct vitsa_timing_gemm *g,
		     const struct access *acc, uint32_t nacc)
{
	struct vitsa_timing t;

	timed(pl, g, &t);
	add_step(&pl->sc, (struct step){ .engine = ARRAY, .kind = (uint8_t)kind, .dur = t.cycles,
					 .nominal = t.array, .array = t.array,
					 .macs = (uint64_t)g->m * g->n * g->k,
					 .dram = t.dram_bytes }, acc, nacc);
}

/* A vector op streams its DRAM operands: it takes the longer of its compute and transfer. */
static void add_vec(struct plan *pl, int kind, enum vitsa_vop op, uint32_t rows, uint32_t cols,
		    uint64_t dram, const struct access *acc, uint32_t nacc)
{
	uint64_t c = vitsa_vector_cycles(op, pl->cfg.cols, rows, cols);
	uint64_t d = max64(c, vitsa_timing_xfer(dram, pl->hw->dram_bw));

	add_step(&pl->sc, (struct step){ .engine = VECTOR, .kind = (uint8_t)kind, .dur = d,
					 .nominal = c, .vector = d, .dram = dram }, acc, nacc);
}

/* A GEMM on W8A8 operands: weights from DRAM unless @b_onchip. */
static struct vitsa_timing_gemm gemm_of(uint32_t m, uint32_t n, uint32_t k, uint32_t c_bits)
{
	struct vitsa_timing_gemm g;

	memset(&g, 0, sizeof(g));
	g.m = m;
	g.n = n;
	g.k = k;
	g.a_bits = g.b_bits = 8;
	g.c_bits = c_bits;
	g.b_dram = true;
	return g;
}

#define ACC(b, n, w) ((struct access){ (b), (n), (w) })

static void lower_embed(struct plan *pl)
{
	const struct vitrt_modeled_vit *v = pl->vit;
	uint32_t side = v->img / v->patch;
	uint64_t xb = 2ull * pl->T * pl->D;
	struct vitsa_timing_gemm g = gemm_of(side * side, pl->D, v->chans * v->patch * v->patch,
					     16);
	struct access a[] = { ACC(BUF_IMAGE, 1, false), ACC(BUF_X, pl->chunks, true) };
	struct access b[] = { ACC(BUF_X, pl->chunks, false), ACC(BUF_X, pl->chunks, true) };

	/* the image comes from DRAM: once if the scratchpad keeps it, else per column tile */
	g.a_once = !spilled(pl, VITRT_MODELED_T_IMAGE);
	g.a_dram = !g.a_once;
	g.c_dram = spilled(pl, VITRT_MODELED_T_X);
	add_gemm(pl, VITRT_MODELED_EMBED, &g, a, 2);
	/* class token and positions: their table always comes from DRAM */
	add_vec(pl, VITRT_MODELED_ADD, VITSA_VOP_ADD, pl->T, pl->D,
		xb + dram_if(pl, VITRT_MODELED_T_X, 2 * xb), b, 2);
}

static void lower_phase1(struct plan *pl)
{
	uint64_t td = (uint64_t)pl->T * pl->D;
	struct vitsa_timing_gemm g = gemm_of(pl->T, 3 * pl->D, pl->D, 8);
	struct access a[] = { ACC(BUF_X, pl->chunks, false), ACC(BUF_LN1, 1, true) };
	struct access b[] = { ACC(BUF_LN1, 1, false), ACC(BUF_QKV, 1, true) };

	add_vec(pl, VITRT_MODELED_LAYERNORM, VITSA_VOP_LAYERNORM, pl->T, pl->D,
		dram_if(pl, VITRT_MODELED_T_X, 2 * td) + dram_if(pl, VITRT_MODELED_T_LN1, td), a, 2);
	g.a_dram = spilled(pl, VITRT_MODELED_T_LN1);
	g.c_dram = spilled(pl, VITRT_MODELED_T_QKV);
	add_gemm(pl, VITRT_MODELED_QKV, &g, b, 2);
}

/* Q_h K_h^T, Shiftmax, P_h V_h of @rows query rows; K_h and V_h are B, read from qkv. */
static void lower_head(struct plan *pl, uint32_t rows)
{
	uint32_t slot = pl->slot++ % 2;
	bool q = spilled(pl, VITRT_MODELED_T_QKV);
	struct vitsa_timing_gemm qk = gemm_of(rows, pl->T, pl->hd, 8);
	struct vitsa_timing_gemm pv = gemm_of(rows, pl->hd, pl->T, 8);
	struct access a[] = { ACC(BUF_QKV, 1, false), ACC(BUF_LOGITS + slot, 1, true) };
	struct access b[] = { ACC(BUF_LOGITS + slot, 1, false), ACC(BUF_PROBS + slot, 1, true) };
	struct access c[] = { ACC(BUF_PROBS + slot, 1, false), ACC(BUF_QKV, 1, false),
			      ACC(BUF_ATTN, 1, true) };
	uint64_t rt = (uint64_t)rows * pl->T;

	qk.a_dram = qk.b_dram = pv.b_dram = q;
	qk.c_dram = spilled(pl, VITRT_MODELED_T_LOGITS);
	add_gemm(pl, VITRT_MODELED_QK, &qk, a, 2);
	add_vec(pl, VITRT_MODELED_SHIFTMAX, VITSA_VOP_SHIFTMAX, rows, pl->T,
		dram_if(pl, VITRT_MODELED_T_LOGITS, rt) + dram_if(pl, VITRT_MODELED_T_PROBS, rt),
		b, 2);
	pv.a_dram = spilled(pl, VITRT_MODELED_T_PROBS);
	pv.c_dram = spilled(pl, VITRT_MODELED_T_ATTN);
	add_gemm(pl, VITRT_MODELED_AV, &pv, c, 3);
}

/* x[c] += y: the residual add of chunk @c's @rows rows. */
static void lower_add(struct plan *pl, uint32_t c, uint32_t rows, enum buf y,
		      enum vitrt_modeled_tensor yt)
{
	uint64_t rd = (uint64_t)rows * pl->D;
	struct access a[] = { ACC(y, 1, false), ACC(BUF_X + c, 1, false), ACC(BUF_X + c, 1, true) };

	add_vec(pl, VITRT_MODELED_ADD, VITSA_VOP_ADD, rows, pl->D,
		dram_if(pl, yt, 2 * rd) + dram_if(pl, VITRT_MODELED_T_X, 4 * rd), a, 3);
}

static void lower_attention(struct plan *pl, uint32_t c, uint32_t rows)
{
	struct vitsa_timing_gemm g = gemm_of(rows, pl->D, pl->D, 16);
	struct access a[] = { ACC(BUF_ATTN, 1, false), ACC(BUF_Y1, 1, true) };

	for (uint32_t h = 0; h < pl->vit->heads; h++)
		lower_head(pl, rows);
	g.a_dram = spilled(pl, VITRT_MODELED_T_ATTN);
	g.c_dram = spilled(pl, VITRT_MODELED_T_Y1);
	add_gemm(pl, VITRT_MODELED_PROJ, &g, a, 2);
	lower_add(pl, c, rows, BUF_Y1, VITRT_MODELED_T_Y1);
}

static void lower_mlp(struct plan *pl, uint32_t c, uint32_t rows)
{
	uint32_t mlp = pl->vit->mlp;
	uint64_t rd = (uint64_t)rows * pl->D, rm = (uint64_t)rows * mlp;
	struct vitsa_timing_gemm g1 = gemm_of(rows, mlp, pl->D, 8);
	struct vitsa_timing_gemm g2 = gemm_of(rows, pl->D, mlp, 16);
	struct access n[] = { ACC(BUF_X + c, 1, false), ACC(BUF_LN2, 1, true) };
	struct access f1[] = { ACC(BUF_LN2, 1, false), ACC(BUF_HID, 1, true) };
	struct access ge[] = { ACC(BUF_HID, 1, false), ACC(BUF_HID, 1, true) };
	struct access f2[] = { ACC(BUF_HID, 1, false), ACC(BUF_Y2, 1, true) };

	add_vec(pl, VITRT_MODELED_LAYERNORM, VITSA_VOP_LAYERNORM, rows, pl->D,
		dram_if(pl, VITRT_MODELED_T_X, 2 * rd) + dram_if(pl, VITRT_MODELED_T_LN2, rd), n, 2);
	g1.a_dram = spilled(pl, VITRT_MODELED_T_LN2);
	g1.c_dram = g2.a_dram = spilled(pl, VITRT_MODELED_T_HID);
	g2.c_dram = spilled(pl, VITRT_MODELED_T_Y2);
	add_gemm(pl, VITRT_MODELED_FC1, &g1, f1, 2);
	add_vec(pl, VITRT_MODELED_GELU, VITSA_VOP_GELU, rows, mlp,
		dram_if(pl, VITRT_MODELED_T_HID, 2 * rm), ge, 2);
	add_gemm(pl, VITRT_MODELED_FC2, &g2, f2, 2);
	lower_add(pl, c, rows, BUF_Y2, VITRT_MODELED_T_Y2);
}

/* The final LayerNorm of the class token, then the classifier; logits go to DRAM. */
static void lower_tail(struct plan *pl)
{
	struct vitsa_timing_gemm g = gemm_of(1, pl->vit->classes, pl->D, 16);
	struct access a[] = { ACC(BUF_X, 1, false), ACC(BUF_LNF, 1, true) };
	struct access b[] = { ACC(BUF_LNF, 1, false) };

	add_vec(pl, VITRT_MODELED_LAYERNORM, VITSA_VOP_LAYERNORM, 1, pl->D,
		dram_if(pl, VITRT_MODELED_T_X, 2ull * pl->D), a, 2);
	g.c_dram = true;
	add_gemm(pl, VITRT_MODELED_HEAD, &g, b, 1);
}

/* Rows of query chunk @c: T split as evenly as it goes. */
static uint32_t chunk_rows(const struct plan *pl, uint32_t c)
{
	return pl->T / pl->chunks + (c < pl->T % pl->chunks);
}

static void lower(struct plan *pl)
{
	lower_embed(pl);
	for (uint32_t blk = 0; blk < pl->vit->depth; blk++) {
		lower_phase1(pl);
		for (uint32_t c = 0; c < pl->chunks; c++) {
			lower_attention(pl, c, chunk_rows(pl, c));
			lower_mlp(pl, c, chunk_rows(pl, c));
		}
	}
	lower_tail(pl);
}

/* Bytes of tensor @t with chunks of @tc rows; activations 8 bits, the stream and y 16. */
static uint64_t tensor_bytes(const struct plan *pl, enum vitrt_modeled_tensor t, uint32_t tc)
{
	const struct vitrt_modeled_vit *v = pl->vit;
	uint64_t td = (uint64_t)pl->T * pl->D, cd = (uint64_t)tc * pl->D;

	switch (t) {
	case VITRT_MODELED_T_IMAGE:
		return (uint64_t)(v->img / v->patch) * (v->img / v->patch) * v->chans * v->patch *
		       v->patch;
	case VITRT_MODELED_T_X: return 2 * td;
	case VITRT_MODELED_T_QKV: return 3 * td;
	case VITRT_MODELED_T_LN1: return td;
	case VITRT_MODELED_T_LOGITS:
	case VITRT_MODELED_T_PROBS: return 2ull * tc * pl->T;
	case VITRT_MODELED_T_ATTN:
	case VITRT_MODELED_T_LN2: return cd;
	case VITRT_MODELED_T_Y1:
	case VITRT_MODELED_T_Y2: return 2 * cd;
	case VITRT_MODELED_T_HID: return (uint64_t)tc * v->mlp;
	default: return 0;
	}
}

/* Bytes of the tensors in @mask that are not spilled. */
static uint64_t on_chip(const struct plan *pl, uint32_t mask, uint32_t spill, uint32_t tc)
{
	uint64_t sum = 0;

	for (int t = 0; t < VITRT_MODELED_T_COUNT; t++)
		if ((mask & ~spill) >> t & 1)
			sum += tensor_bytes(pl, t, tc);
	return sum;
}

#define T_BIT(t)	(1u << VITRT_MODELED_T_##t)
#define PHASE0		(T_BIT(IMAGE) | T_BIT(X))
#define PHASE1		(T_BIT(X) | T_BIT(QKV) | T_BIT(LN1))
#define PHASE2		(T_BIT(X) | T_BIT(QKV) | T_BIT(LOGITS) | T_BIT(PROBS) | T_BIT(ATTN) | \
			 T_BIT(Y1) | T_BIT(Y2) | T_BIT(LN2) | T_BIT(HID))

/*
 * Scratchpad minus the two weight-tile buffers holds each phase's live tensors; while it does
 * not, the largest tensor still on chip moves to DRAM (a fixed order for a given chunk size,
 * so a larger scratchpad spills a subset).  Chunks overlap in time: their temporaries are
 * counted side by side, not by liveness.
 */
static uint32_t choose_spills(const struct plan *pl, uint32_t tc)
{
	uint64_t budget = (uint64_t)pl->hw->spad_kib * 1024 - 2ull * pl->cfg.rows * pl->cfg.cols;
	uint32_t spill = 0;

	while (on_chip(pl, PHASE0, spill, tc) > budget || on_chip(pl, PHASE1, spill, tc) > budget ||
	       on_chip(pl, PHASE2, spill, tc) > budget) {
		int big = -1;

		for (int t = 0; t < VITRT_MODELED_T_COUNT; t++)
			if (!(spill >> t & 1) &&
			    (big < 0 || tensor_bytes(pl, t, tc) > tensor_bytes(pl, big, tc)))
				big = t;
		spill |= 1u << big;
	}
	return spill;
}

/* Earliest start of step @i on an engine free at @from, or false: a dependency is pending. */
static bool startable(const struct sched *sc, uint32_t i, uint64_t from, uint64_t *at)
{
	const struct step *s = &sc->s[i];

	*at = from;
	for (uint32_t d = 0; d < s->ndeps; d++) {
		uint64_t f = sc->s[sc->deps[s->dep0 + d]].finish;

		if (f == UNSCHEDULED)
			return false;
		*at = max64(*at, f);
	}
	return true;
}

/* Of an engine's next LOOKAHEAD unscheduled steps (@list from *@pos), the one that can start
 * first on it (free from @avail); NONE if none can. */
static uint32_t pick(const struct sched *sc, const uint32_t *list, size_t len, size_t *pos,
		     uint64_t avail, uint64_t *best)
{
	uint32_t found = NONE, seen = 0;
	uint64_t at;

	while (*pos < len && sc->s[list[*pos]].finish != UNSCHEDULED)
		(*pos)++;
	for (size_t j = *pos; j < len && seen < LOOKAHEAD; j++) {
		if (sc->s[list[j]].finish != UNSCHEDULED)
			continue;
		seen++;
		if (startable(sc, list[j], avail, &at) && (found == NONE || at < *best)) {
			found = list[j];
			*best = at;
		}
	}
	return found;
}

/*
 * The compiler's order (into @order): list scheduling of the nominal durations (no memory),
 * each engine taking the step of its lookahead that can start first.  The order depends on
 * neither bandwidth nor scratchpad, so the timed schedule is monotone in both.
 */
static int order_steps(struct sched *sc, uint32_t *order, uint32_t *lists)
{
	size_t len[ENGINES] = { 0 }, pos[ENGINES] = { 0 };
	uint32_t *list[ENGINES] = { lists, lists + sc->n };
	uint64_t avail[ENGINES] = { 0 };

	for (size_t i = 0; i < sc->n; i++) {
		sc->s[i].finish = UNSCHEDULED;
		list[sc->s[i].engine][len[sc->s[i].engine]++] = (uint32_t)i;
	}
	for (size_t k = 0; k < sc->n; k++) {
		uint64_t at[ENGINES];
		uint32_t got[ENGINES];
		int e;

		for (e = 0; e < ENGINES; e++)
			got[e] = pick(sc, list[e], len[e], &pos[e], avail[e], &at[e]);
		e = got[ARRAY] == NONE ? VECTOR : got[VECTOR] == NONE ? ARRAY :
		    at[VECTOR] < at[ARRAY] || (at[VECTOR] == at[ARRAY] && got[VECTOR] < got[ARRAY]) ?
		    VECTOR : ARRAY;
		if (got[e] == NONE)
			return VITRT_EINVAL;	/* a cycle: cannot happen in program order */
		sc->s[got[e]].finish = avail[e] = at[e] + sc->s[got[e]].nominal;
		order[k] = got[e];
	}
	return 0;
}

/* The timed schedule: each engine runs its steps in @order as soon as their inputs are ready. */
static uint32_t run_steps(struct sched *sc, const uint32_t *order)
{
	uint64_t avail[ENGINES] = { 0 }, end = 0;
	uint32_t last[ENGINES] = { NONE, NONE }, final = NONE;

	for (size_t k = 0; k < sc->n; k++) {
		struct step *s = &sc->s[order[k]];
		uint64_t start = avail[s->engine];

		s->pred = last[s->engine];
		for (uint32_t d = 0; d < s->ndeps; d++) {
			uint32_t on = sc->deps[s->dep0 + d];

			if (sc->s[on].finish > start) {
				start = sc->s[on].finish;
				s->pred = on;
			}
		}
		s->finish = avail[s->engine] = start + s->dur;
		last[s->engine] = order[k];
		if (s->finish >= end) {
			end = s->finish;
			final = order[k];
		}
	}
	return final;
}

static void sched_free(struct sched *sc)
{
	for (uint32_t b = 0; sc->b && b < sc->nbufs; b++)
		free(sc->b[b].rd);
	free(sc->b);
	free(sc->s);
	free(sc->deps);
}

/* Per-row totals, and the critical path walked back from the last step to finish. */
static void summarize(const struct plan *pl, uint32_t final, struct vitrt_modeled_whole *w)
{
	const struct sched *sc = &pl->sc;

	for (int i = 0; i < VITRT_MODELED_ROWS; i++)
		w->costs[i].name = i < VITRT_MODELED_COUNT ? layer_names[i] :
				   vector_names[i - VITRT_MODELED_COUNT];
	for (size_t i = 0; i < sc->n; i++) {
		const struct step *s = &sc->s[i];
		struct vitrt_modeled_cost *c = &w->costs[s->kind];

		c->steps++;
		c->macs += s->macs;
		c->array += s->array;
		c->stall += s->engine == ARRAY ? s->dur - s->array : 0;
		c->vector += s->vector;
		c->dram_bytes += s->dram;
		*(s->engine == ARRAY ? &w->array_busy : &w->vector_busy) += s->dur;
		w->macs += s->macs;
		w->dram_bytes += s->dram;
	}
	w->cycles = sc->s[final].finish;
	for (uint32_t i = final; i != NONE; i = sc->s[i].pred)
		w->costs[sc->s[i].kind].critical += sc->s[i].dur;
	w->utilization = (double)w->macs / ((double)w->cycles * pl->cfg.rows * pl->cfg.cols);
}

static void copy_trace(const struct plan *pl)
{
	for (size_t i = 0; pl->trace && i < pl->sc.n && i < pl->trace_cap; i++) {
		const struct step *s = &pl->sc.s[i];

		pl->trace[i] = (struct vitrt_modeled_step){ .kind = s->kind,
							    .vector = s->engine == VECTOR,
							    .start = s->finish - s->dur,
							    .finish = s->finish };
	}
	if (pl->trace)
		*pl->trace_n = pl->sc.n;
}

/* Lower, order and time @pl's program into @w. */
static int schedule(struct plan *pl, struct vitrt_modeled_whole *w)
{
	struct sched *sc = &pl->sc;
	uint32_t *order = NULL, *lists = NULL, final;
	int err;

	sc->nbufs = BUF_X + pl->chunks;
	sc->b = calloc(sc->nbufs, sizeof(*sc->b));
	for (uint32_t b = 0; sc->b && b < sc->nbufs; b++)
		sc->b[b].writer = NONE;
	sc->err = sc->b ? 0 : VITRT_ENOMEM;
	lower(pl);
	if (!sc->err) {
		order = malloc(sc->n * sizeof(*order));
		lists = malloc(2 * sc->n * sizeof(*lists));
	}
	err = sc->err ? sc->err : !order || !lists ? VITRT_ENOMEM : order_steps(sc, order, lists);
	if (!err) {
		final = run_steps(sc, order);
		summarize(pl, final, w);
		copy_trace(pl);
	}
	free(order);
	free(lists);
	sched_free(sc);
	return err;
}

static uint32_t max_chunks(uint32_t T, uint32_t rows)
{
	uint32_t n = T / rows;

	n = n ? n : 1;	/* fewer tokens than PE rows: one chunk */
	return n < VITRT_MODELED_MAX_CHUNKS ? n : VITRT_MODELED_MAX_CHUNKS;
}

/* The whole inference with phase 2 in @chunks chunks; its steps into @trace if set. */
static int whole_at(const struct vitrt_modeled_vit *vit, const struct vitrt_modeled_hw *hw,
		    uint32_t chunks, struct vitrt_modeled_whole *w,
		    struct vitrt_modeled_step *trace, size_t cap, size_t *n)
{
	uint32_t side = vit->img / vit->patch;
	struct plan *pl = calloc(1, sizeof(*pl));
	int err;

	if (!pl)
		return VITRT_ENOMEM;
	pl->vit = vit;
	pl->hw = hw;
	pl->cfg = (struct vitsa_model_cfg){ .rows = hw->rows, .cols = hw->cols };
	pl->T = side * side + 1;
	pl->D = vit->dim;
	pl->hd = vit->dim / vit->heads;
	pl->chunks = chunks;
	pl->trace = trace;
	pl->trace_cap = cap;
	pl->trace_n = n;
	*w = (struct vitrt_modeled_whole){ .vit = vit, .hw = *hw, .tokens = pl->T,
					   .chunks = chunks,
					   .tc = (pl->T + chunks - 1) / chunks };
	pl->spilled = w->spilled = choose_spills(pl, w->tc);
	err = schedule(pl, w);
	free(pl);
	return err;
}

static bool hw_valid(const struct vitrt_modeled_hw *hw)
{
	return hw && hw->rows && hw->rows <= VITRT_ARRAY_MAX_SIDE && hw->cols &&
	       hw->cols <= VITRT_ARRAY_MAX_SIDE && hw->spad_kib &&
	       hw->spad_kib <= VITRT_MODELED_MAX_SPAD_KIB && hw->dram_bw &&
	       hw->dram_bw <= VITRT_MODELED_MAX_BW &&
	       /* room for the two weight-tile buffers */
	       (uint64_t)hw->spad_kib * 1024 >= 2ull * hw->rows * hw->cols;
}

int vitrt_modeled_whole(const struct vitrt_modeled_vit *vit, const struct vitrt_modeled_hw *hw,
			uint32_t chunks, struct vitrt_modeled_whole *out)
{
	struct vitrt_modeled_whole w;
	uint32_t most;
	int err;

	if (!vit || !vit_valid(vit) || !hw_valid(hw))
		return VITRT_EINVAL;
	most = max_chunks((vit->img / vit->patch) * (vit->img / vit->patch) + 1, hw->rows);
	if (chunks > most)
		return VITRT_EINVAL;
	if (chunks)
		return whole_at(vit, hw, chunks, out, NULL, 0, NULL);
	/* the compiler's choice: the fastest chunk count (a larger scratchpad never loses) */
	for (uint32_t n = 1; n <= most; n++) {
		if ((err = whole_at(vit, hw, n, &w, NULL, 0, NULL)))
			return err;
		if (n == 1 || w.cycles < out->cycles)
			*out = w;
	}
	return 0;
}

int vitrt_modeled_trace(const struct vitrt_modeled_vit *vit, const struct vitrt_modeled_hw *hw,
			uint32_t chunks, struct vitrt_modeled_step *steps, size_t cap, size_t *n)
{
	struct vitrt_modeled_whole w;

	if (!vit || !vit_valid(vit) || !hw_valid(hw) || !chunks || !n || (cap && !steps) ||
	    chunks > max_chunks((vit->img / vit->patch) * (vit->img / vit->patch) + 1, hw->rows))
		return VITRT_EINVAL;
	return whole_at(vit, hw, chunks, &w, steps, cap, n);
}
