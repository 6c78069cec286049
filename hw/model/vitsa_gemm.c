// SPDX-License-Identifier: MIT
/*
 * vitsa functional model: one GEMM descriptor, executed by the GEMM kernels of vitsa_kern.h.
 *
 * C is cut into tasks of up to NC columns by a group of rows.  A task brings its columns of B
 * in as byte rows (B transposed: row j is column j), packs them once for the kernel, and then
 * runs blocks of MC rows of A through it; the epilogue (bias, requantization, saturation,
 * packing) writes each row back.  Operands are reached through the memory callbacks, or in
 * place where the host maps them and no widening is needed.  A B the host keeps unchanged
 * (weights) is packed once and kept in its cache (vitsa_wcache.h).  Working memory is bounded
 * by MAX_DIM whatever the guest asks for.  vitsa_ref.c is the specification.
 */
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "vitsa_dtype.h"
#include "vitsa_gemm.h"
#include "../include/vitsa_int.h"
#include "vitsa_kern.h"
#include "vitsa_model.h"
#include "vitsa_vec.h"
#include "vitsa_wcache.h"

#define MC		48		/* rows per kernel call: a multiple of every MR */
#define NC		64		/* columns per task: even (int4 starts on a byte) */
#define TASKS_PER_WORKER 4
#define ROW_ALIGN	VITSA_MODEL_ROW_ALIGN	/* row groups split at multiples of every MR */
#define SHARED_B_MAX	(64u << 20)	/* B packed once per job up to this, else per task */
#define PAR_MIN_MACS	(4u << 20)	/* a smaller job costs less than waking threads */

struct vitsa_gemm {
	const struct vitsa_hw_desc *d;
	const struct vitsa_mem_ops *ops;
	void *opaque;
	const struct vitsa_kern *kern;
	uint32_t sign;			/* VITSA_KERN_*_SIGNED of A and B */
	int32_t *bias;			/* N, zeros without BIAS */
	int64_t *mult, *half;		/* N requant multipliers and rounding terms */
	uint64_t *shift;		/* N requant shifts */
	int64_t *eo;			/* the three by even and odd columns (vitsa_kern_epi) */
	uint8_t *raw;			/* the tables as read, 8 bytes per column */
	struct vitsa_kern_epi epi;	/* the tables as the kernels take them */
	uint32_t *corr;			/* the kernel's row corrections of A, or NULL */
	uint32_t tasks_n, tasks_m;	/* column tasks x row groups */
	uint32_t group_m;		/* rows per group, a multiple of ROW_ALIGN */
	const uint8_t *pb_all;		/* B packed once for every task, or NULL */
	uint8_t *pb_new;		/* pb_all when this job packs it (its pack phase) */
	size_t pb_stride;		/* bytes of one column slice in pb_all */
	struct vitsa_wcache *wc;	/* the host's cache holding B's packing, or NULL */
	struct vitsa_wcache_key wkey;
	_Atomic uint32_t err;		/* first failure of any task */
	_Atomic uint64_t rd_bytes, wr_bytes;
};

/* One task's buffers, sized for MC rows and NC columns of K. */
struct work {
	uint8_t *row;			/* one row of any operand or result, as stored */
	uint8_t *a8, *b8;		/* A rows, B columns as bytes, when not read in place */
	void *pb, *kw;			/* packed B, the kernel's working memory */
	const void *pbv;		/* the packed B in use: pb or a slice of pb_all */
	int32_t *acc;			/* MC x NC accumulators */
	int32_t *out;			/* NC results of one row */
	uint8_t *cblk;			/* MC x NC results as stored, when C is not mapped */
	uint32_t *corr;			/* the kernel's corrections of MC rows */
	uint64_t rd, wr;		/* bytes moved */
};

static bool cancelled(struct vitsa_gemm *g)
{
	return g->ops->cancelled && g->ops->cancelled(g->opaque);
}

/* Host memory for [addr, addr + len) when the host maps it, else NULL. */
static uint8_t *mapped(struct vitsa_gemm *g, uint64_t addr, uint64_t len)
{
	return g->ops->map ? g->ops->map(g->opaque, addr, len) : NULL;
}

static uint32_t mem_read(struct vitsa_gemm *g, struct work *w, uint64_t addr, void *buf, size_t len)
{
	const uint8_t *p = mapped(g, addr, len);

	w->rd += len;
	if (p) {
		memcpy(buf, p, len);
		return VITSA_ERR_OK;
	}
	return g->ops->read(g->opaque, addr, buf, len) ? VITSA_ERR_DMA_READ : VITSA_ERR_OK;
}

static uint32_t mem_write(struct vitsa_gemm *g, struct work *w, uint64_t addr, const void *buf,
			  size_t len)
{
	uint8_t *p = mapped(g, addr, len);

	w->wr += len;
	if (p) {
		memcpy(p, buf, len);
		return VITSA_ERR_OK;
	}
	return g->ops->write(g->opaque, addr, buf, len) ? VITSA_ERR_DMA_WRITE : VITSA_ERR_OK;
}

/* Carves 64-byte aligned pieces out of one block; with base NULL it only adds up their sizes. */
struct carve {
	uint8_t *base;
	size_t at;
};

static void *carve(struct carve *c, size_t bytes)
{
	void *p = c->base ? c->base + c->at : NULL;

	c->at += (bytes + 63) & ~(size_t)63;
	return p;
}

/* The job's tables after @g in one block (a malloc each cost as much as decoding them). */
static void tables_carve(struct vitsa_gemm *g, struct carve *c)
{
	const struct vitsa_dtype_traits *t = &vitsa_dtypes[VITSA_DESC_C_TYPE(g->d->types)];
	uint32_t n = g->d->n;

	g->bias = carve(c, n * sizeof(*g->bias));
	g->mult = carve(c, n * sizeof(*g->mult));
	g->half = carve(c, n * sizeof(*g->half));
	g->shift = carve(c, n * sizeof(*g->shift));
	g->eo = carve(c, (n + 15) / 16 * VITSA_KERN_EO_WORDS * sizeof(*g->eo));
	g->raw = carve(c, 8ull * n);
	g->epi = (struct vitsa_kern_epi){
		.bias = g->bias, .mult = g->mult, .half = g->half, .shift = g->shift, .eo = g->eo,
		.zero = g->d->c_zero, .lo = t->min, .hi = t->max, .bits = t->bits,
	};
}

/* Requant words of @n columns into the tables; false on a shift past VITSA_RQ_MAX_SHIFT. */
static bool decode_rq(const uint8_t *restrict raw, uint32_t n, int64_t *restrict mult,
		      int64_t *restrict half, uint64_t *restrict shift, int64_t *restrict eo)
{
	for (uint32_t c = 0; c < n; c++) {
		int64_t *e = eo + c / 16 * VITSA_KERN_EO_WORDS + c % 16 / 2 + c % 2 * 8;
		uint64_t sh = vitsa_int_le32(raw + 8ull * c + 4);

		if (sh > VITSA_RQ_MAX_SHIFT)
			return false;
		mult[c] = e[0] = vitsa_int_wrap32(vitsa_int_le32(raw + 8ull * c));
		half[c] = e[16] = sh ? (int64_t)1 << (sh - 1) : 0;
		shift[c] = sh;
		e[32] = (int64_t)sh;
	}
	return true;
}

/*
 * Bias and requant tables, each read at once and decoded from little-endian; shifts checked.
 * What a flag leaves out reads as zeros, as the kernels expect.
 */
static uint32_t load_tables(struct vitsa_gemm *g, struct work *w)
{
	const struct vitsa_hw_desc *d = g->d;
	uint32_t n = d->n, err = VITSA_ERR_OK;
	int32_t *restrict bias = g->bias;
	const uint8_t *raw = g->raw;

	if (!(d->flags & VITSA_DESC_BIAS)) {
		memset(bias, 0, n * sizeof(*bias));
	} else {
		err = mem_read(g, w, d->bias_addr, g->raw, 4ull * n);
		for (uint32_t c = 0; c < n && !err; c++)
			bias[c] = vitsa_int_wrap32(vitsa_int_le32(raw + 4ull * c));
	}
	if (err)
		return err;
	if (!(d->flags & VITSA_DESC_REQUANT)) {
		memset(g->mult, 0, n * sizeof(*g->mult));
		memset(g->half, 0, n * sizeof(*g->half));
		memset(g->shift, 0, n * sizeof(*g->shift));
		memset(g->eo, 0, (n + 15) / 16 * VITSA_KERN_EO_WORDS * sizeof(*g->eo));
		g->epi.mult = NULL;
		return VITSA_ERR_OK;
	}
	if (n % 16)	/* the columns past N of the last group of 16 */
		memset(g->eo + n / 16 * VITSA_KERN_EO_WORDS, 0,
		       VITSA_KERN_EO_WORDS * sizeof(*g->eo));
	err = mem_read(g, w, d->rq_addr, g->raw, 8ull * n);
	if (!err && !decode_rq(raw, n, g->mult, g->half, g->shift, g->eo))
		err = VITSA_ERR_RQ;
	return err;
}

/*
 * The hot parts outside the kernels.  GCC vectorizes them only at -O3, and QEMU builds with
 * -O2, so they ask for both themselves; the best clone is picked at load time from the CPU.
 */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(VITSA_AVX2_ONLY)
#define VITSA_HOT __attribute__((optimize("O3"), target_clones("avx2", "default")))
#elif defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define VITSA_HOT __attribute__((optimize("O3"), target_clones("avx512f", "avx2", "default")))
#else
#define VITSA_HOT
#endif

/* The @cnt int4 elements of a packed row as one byte each, sign-extended for s4. */
VITSA_HOT static void widen4(uint8_t *restrict dst, const uint8_t *restrict row, uint32_t cnt,
			     bool is_signed)
{
	uint8_t sign = is_signed ? 8 : 0;

	for (uint32_t i = 0; i < cnt / 2; i++) {
		dst[2 * i] = (uint8_t)(((row[i] & 0xf) ^ sign) - sign);
		dst[2 * i + 1] = (uint8_t)(((row[i] >> 4) ^ sign) - sign);
	}
	if (cnt % 2)
		dst[cnt - 1] = (uint8_t)(((row[cnt / 2] & 0xf) ^ sign) - sign);
}

/*
 * @rows rows of @cols elements of type @t from @addr (@stride apart) as byte rows: in place
 * when mapped and already bytes (*ld = stride), else into @buf (*ld = cols).
 */
static uint32_t byte_rows(struct vitsa_gemm *g, struct work *w, uint32_t t, uint64_t addr,
			  uint64_t stride, uint32_t rows, uint32_t cols, uint8_t *buf,
			  const uint8_t **out, size_t *ld)
{
	uint64_t bytes = vitsa_row_bytes(t, cols);
	const uint8_t *p = NULL;

	if (vitsa_dtypes[t].bits == 8)
		p = mapped(g, addr, (rows - 1) * stride + bytes);
	if (p) {
		w->rd += rows * bytes;
		*out = p;
		*ld = stride;
		return VITSA_ERR_OK;
	}
	for (uint32_t i = 0; i < rows; i++) {
		uint8_t *dst = buf + (size_t)i * cols;
		uint32_t err = mem_read(g, w, addr + i * stride, vitsa_dtypes[t].bits == 8 ? dst :
					w->row, bytes);

		if (err)
			return err;
		if (vitsa_dtypes[t].bits == 4)
			widen4(dst, w->row, cols, vitsa_dtypes[t].min < 0);
	}
	*out = buf;
	*ld = cols;
	return VITSA_ERR_OK;
}

/* Columns n0..n0+nb of B as byte rows, transposed from B's rows of N unless B_TRANS. */
static uint32_t load_b(struct vitsa_gemm *g, struct work *w, uint32_t n0, uint32_t nb,
		       const uint8_t **b, size_t *ldb)
{
	const struct vitsa_hw_desc *d = g->d;
	uint32_t t = VITSA_DESC_B_TYPE(d->types);
	uint64_t off = vitsa_dtype_offset(t, n0);
	uint8_t seg[NC];

	if (d->flags & VITSA_DESC_B_TRANS)
		return byte_rows(g, w, t, d->b_addr + n0 * d->b_stride, d->b_stride, nb, d->k,
				 w->b8, b, ldb);
	for (uint32_t k = 0; k < d->k; k++) {
		const uint8_t *src;
		size_t ld;
		uint32_t err = byte_rows(g, w, t, d->b_addr + k * d->b_stride + off, 0, 1, nb,
					 seg, &src, &ld);

		if (err)
			return err;
		for (uint32_t j = 0; j < nb; j++)
			w->b8[(size_t)j * d->k + k] = src[j];
	}
	*b = w->b8;
	*ldb = d->k;
	return VITSA_ERR_OK;
}


/*
 * Epilogue of one row segment, columns n0..: bias, then the raw int32 (two's complement of the
 * sum modulo 2^32), or requantized and saturated to the result type.  >> of a negative int64
 * is an arithmetic shift in GCC and Clang; with shift 0 the rounding term is 0 and the shift
 * a no-op.
 */
VITSA_HOT static void finish_row(const struct vitsa_kern_epi *e, int32_t *out, const int32_t *acc,
				 uint32_t n0, uint32_t nb)
{
	const int32_t *bias = e->bias + n0;

	if (!e->mult) {
		for (uint32_t j = 0; j < nb; j++)
			out[j] = (int32_t)((uint32_t)acc[j] + (uint32_t)bias[j]);
		return;
	}
	const int64_t *mult = e->mult + n0, *half = e->half + n0;
	const uint64_t *shift = e->shift + n0;

	for (uint32_t j = 0; j < nb; j++) {
		int32_t v = (int32_t)((uint32_t)acc[j] + (uint32_t)bias[j]);
		int64_t p = (((int64_t)v * mult[j] + half[j]) >> shift[j]) + e->zero;

		out[j] = (int32_t)(p < e->lo ? e->lo : p > e->hi ? e->hi : p);
	}
}

/* Store @nb results (already in range) as one packed row. */
static void pack_row(uint8_t *row, const int32_t *v, uint32_t nb, uint32_t type)
{
	switch (vitsa_dtypes[type].bits) {
	case 8:
		for (uint32_t j = 0; j < nb; j++)
			row[j] = (uint8_t)v[j];
		break;
	case 16:
		for (uint32_t j = 0; j < nb; j++) {
			row[2 * j] = (uint8_t)v[j];
			row[2 * j + 1] = (uint8_t)(v[j] >> 8);
		}
		break;
	default:
		memset(row, 0, vitsa_row_bytes(type, nb));
		for (uint32_t j = 0; j < nb; j++)
			vitsa_dtypes[type].set(row, j, v[j]);
	}
}

/* Row corrections of the kernel for rows m0.. of A (job-wide ones if they were made). */
static const uint32_t *corrections(struct vitsa_gemm *g, struct work *w, const uint8_t *a,
				   size_t lda, uint32_t m0, uint32_t mb)
{
	if (!g->kern->row_corr)
		return NULL;
	if (g->corr)
		return g->corr + m0;
	g->kern->row_corr(w->corr, a, lda, mb, g->d->k, g->sign);
	return w->corr;
}

/* Through a fused kernel: results go straight to C where it is mapped, else via w->cblk. */
static uint32_t block_fused(struct vitsa_gemm *g, struct work *w, const uint8_t *a, size_t lda,
			    const uint32_t *corr, uint32_t m0, uint32_t mb, uint32_t n0,
			    uint32_t nb)
{
	const struct vitsa_hw_desc *d = g->d;
	uint32_t t = VITSA_DESC_C_TYPE(d->types), err = VITSA_ERR_OK;
	uint64_t addr = d->c_addr + m0 * d->c_stride + vitsa_dtype_offset(t, n0);
	uint64_t bytes = vitsa_row_bytes(t, nb);
	uint8_t *c = mapped(g, addr, (mb - 1) * d->c_stride + bytes);
	struct vitsa_kern_out o = { .c = c ? c : w->cblk, .ldc = c ? d->c_stride : bytes,
				    .n0 = n0, .e = &g->epi };

	g->kern->gemm(NULL, 0, a, lda, w->pbv, mb, nb, d->k, g->sign, corr, &o, w->kw);
	if (c)
		w->wr += mb * bytes;
	for (uint32_t i = 0; i < mb && !c && !err; i++)
		err = mem_write(g, w, addr + i * d->c_stride, w->cblk + i * bytes, bytes);
	return err;
}

/* Rows m0..m0+mb of C, columns n0..n0+nb, from packed B at w->pbv. */
static uint32_t compute_block(struct vitsa_gemm *g, struct work *w, uint32_t m0, uint32_t mb,
			      uint32_t n0, uint32_t nb)
{
	const struct vitsa_hw_desc *d = g->d;
	uint32_t t = VITSA_DESC_C_TYPE(d->types);
	const uint32_t *corr;
	const uint8_t *a;
	size_t lda;
	uint32_t err = byte_rows(g, w, VITSA_DESC_A_TYPE(d->types), d->a_addr + m0 * d->a_stride,
				 d->a_stride, mb, d->k, w->a8, &a, &lda);

	if (err)
		return err;
	corr = corrections(g, w, a, lda, m0, mb);
	if (g->kern->fused && g->epi.bits != 4)
		return block_fused(g, w, a, lda, corr, m0, mb, n0, nb);
	g->kern->gemm(w->acc, NC, a, lda, w->pbv, mb, nb, d->k, g->sign, corr, NULL, w->kw);
	for (uint32_t i = 0; i < mb && !err; i++) {
		uint64_t addr = d->c_addr + (m0 + i) * d->c_stride + vitsa_dtype_offset(t, n0);

		finish_row(&g->epi, w->out, w->acc + (size_t)i * NC, n0, nb);
		pack_row(w->row, w->out, nb, t);
		err = mem_write(g, w, addr, w->row, vitsa_row_bytes(t, nb));
	}
	return err;
}

/*
 * A thread's task buffers, kept from task to task: nine mallocs and frees per task were a
 * tenth of the QEMU device's time.  The block grows to the largest task the thread ran and
 * is freed when the thread exits (the key only runs that destructor).
 */
struct scratch {
	size_t cap;
	alignas(64) uint8_t data[];
};

static _Thread_local struct scratch *scratch;
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void scratch_key_make(void)
{
	pthread_key_create(&scratch_key, free);
}

static void *scratch_get(size_t bytes)
{
	if (scratch && scratch->cap >= bytes)
		return scratch->data;
	pthread_once(&scratch_once, scratch_key_make);
	free(scratch);
	scratch = aligned_alloc(64, (offsetof(struct scratch, data) + bytes + 63) & ~(size_t)63);
	if (scratch)
		scratch->cap = bytes;
	pthread_setspecific(scratch_key, scratch);
	return scratch ? scratch->data : NULL;
}

/* The pieces of a task's buffers; @packs: it packs a slice of B (into w->pb unless shared). */
static void work_carve(struct work *w, const struct vitsa_gemm *g, bool packs, struct carve *c)
{
	size_t k = g->d->k;

	w->row = carve(c, 4 * (k > g->d->n ? k : g->d->n) + 8);
	w->a8 = carve(c, MC * k);
	w->b8 = packs ? carve(c, NC * k) : NULL;
	w->pb = g->pb_all ? NULL : carve(c, g->kern->b_size(NC, k));
	w->kw = carve(c, g->kern->work_size(MC, k) + 1);
	w->acc = carve(c, sizeof(*w->acc) * MC * NC);
	w->out = carve(c, sizeof(*w->out) * NC);
	w->cblk = carve(c, sizeof(int32_t) * MC * NC);
	w->corr = carve(c, sizeof(*w->corr) * MC);
}

/* A task's buffers, from this thread's scratch: valid until its next task. */
static bool work_alloc(struct work *w, const struct vitsa_gemm *g, bool packs)
{
	struct carve c = { 0 };

	*w = (struct work){ 0 };
	work_carve(w, g, packs, &c);
	c = (struct carve){ .base = scratch_get(c.at) };
	if (!c.base)
		return false;
	work_carve(w, g, packs, &c);
	return true;
}

static void fail(struct vitsa_gemm *g, uint32_t err)
{
	uint32_t ok = VITSA_ERR_OK;

	atomic_compare_exchange_strong(&g->err, &ok, err);
}

/*
 * Columns n0.. of a B stored as K rows of N bytes, packed from where the host maps them when
 * the kernel packs that layout itself (no transpose); false if it cannot.
 */
static bool pack_slice_kn(struct vitsa_gemm *g, struct work *w, uint32_t n0, uint32_t nb,
			  void *pb)
{
	const struct vitsa_hw_desc *d = g->d;
	const uint8_t *b;

	if ((d->flags & VITSA_DESC_B_TRANS) || !g->kern->pack_b_kn ||
	    vitsa_dtypes[VITSA_DESC_B_TYPE(d->types)].bits != 8)
		return false;
	b = mapped(g, d->b_addr + n0, (d->k - 1) * d->b_stride + nb);
	if (!b)
		return false;
	g->kern->pack_b_kn(pb, b, d->b_stride, nb, d->k, g->sign);
	w->rd += (uint64_t)d->k * nb;
	return true;
}

/* Columns n0.. of B (up to NC), loaded and packed for the kernel into @pb. */
static uint32_t pack_slice(struct vitsa_gemm *g, struct work *w, uint32_t n0, void *pb)
{
	const struct vitsa_hw_desc *d = g->d;
	uint32_t nb = d->n - n0 < NC ? d->n - n0 : NC;
	const uint8_t *b;
	size_t ldb;
	uint32_t err;

	if (pack_slice_kn(g, w, n0, nb, pb))
		return VITSA_ERR_OK;
	err = load_b(g, w, n0, nb, &b, &ldb);

	if (!err)
		g->kern->pack_b(pb, b, ldb, nb, d->k, g->sign);
	return err;
}

static void task_done(struct vitsa_gemm *g, struct work *w, uint32_t err)
{
	if (err)
		fail(g, err);
	atomic_fetch_add(&g->rd_bytes, w->rd);
	atomic_fetch_add(&g->wr_bytes, w->wr);
}

/* Shared-B phase, task @t: column slice t packed into pb_all. */
static void pack_task(void *arg, uint32_t t)
{
	struct vitsa_gemm *g = arg;
	struct work w;
	uint32_t err = VITSA_ERR_OK;

	if (atomic_load(&g->err))
		return;
	if (!work_alloc(&w, g, true))
		err = VITSA_ERR_INTERNAL;
	if (!err)
		err = pack_slice(g, &w, t * NC, g->pb_new + t * g->pb_stride);
	task_done(g, &w, err);
}

/* Rows [m_start, m_end) of column slice @s, B packed in pb_all or here into w->pb. */
static uint32_t run_slice(struct vitsa_gemm *g, struct work *w, uint32_t s, uint32_t m_start,
			  uint32_t m_end)
{
	const struct vitsa_hw_desc *d = g->d;
	uint32_t n0 = s * NC, nb = d->n - n0 < NC ? d->n - n0 : NC;
	uint32_t err = VITSA_ERR_OK;

	w->pbv = g->pb_all ? g->pb_all + s * g->pb_stride : w->pb;
	if (!g->pb_all)
		err = pack_slice(g, w, n0, w->pb);
	for (uint32_t m0 = m_start; m0 < m_end && !err; m0 += MC) {
		if (cancelled(g))
			err = VITSA_ERR_ABORTED;
		else
			err = compute_block(g, w, m0, m_end - m0 < MC ? m_end - m0 : MC, n0, nb);
	}
	return err;
}

/* Task @t: one column slice of up to NC by one group of rows. */
static void run_task(void *arg, uint32_t t)
{
	struct vitsa_gemm *g = arg;
	const struct vitsa_hw_desc *d = g->d;
	uint32_t m_start = t / g->tasks_n * g->group_m;
	uint32_t m_end = d->m - m_start < g->group_m ? d->m : m_start + g->group_m;
	uint32_t err = VITSA_ERR_OK;
	struct work w;

	if (atomic_load(&g->err))
		return;
	if (!work_alloc(&w, g, !g->pb_all))
		err = VITSA_ERR_INTERNAL;
	if (!err)
		err = run_slice(g, &w, t % g->tasks_n, m_start, m_end);
	task_done(g, &w, err);
}

bool vitsa_gemm_by_rows(const struct vitsa_gemm *g)
{
	return g->pb_all && vitsa_gemm_parallel_worth(vitsa_gemm_macs(g));
}

void vitsa_gemm_rows(struct vitsa_gemm *g, uint32_t lo, uint32_t hi)
{
	uint32_t err = VITSA_ERR_OK;
	struct work w;

	if (atomic_load(&g->err))
		return;
	if (!g->pb_all || !work_alloc(&w, g, false))	/* only by_rows jobs come here */
		err = VITSA_ERR_INTERNAL;
	for (uint32_t s = 0; s < g->tasks_n && !err; s++)
		err = run_slice(g, &w, s, lo, hi);
	task_done(g, &w, err);
}

/*
 * The kernel's row corrections once for the whole job when A can be read in place; tasks
 * make their own otherwise (then A is copied per block anyway).
 */
static void job_corrections(struct vitsa_gemm *g)
{
	const struct vitsa_hw_desc *d = g->d;
	uint32_t t = VITSA_DESC_A_TYPE(d->types);
	const uint8_t *a;

	if (!g->kern->row_corr || vitsa_dtypes[t].bits != 8)
		return;
	a = mapped(g, d->a_addr, (d->m - 1) * d->a_stride + d->k);
	g->corr = a ? malloc(sizeof(*g->corr) * d->m) : NULL;
	if (g->corr)
		g->kern->row_corr(g->corr, a, d->a_stride, d->m, d->k, g->sign);
}

/*
 * B packed by an earlier job, from the host's cache, when the host keeps B unchanged; else
 * g->wc is left set for finish to keep this job's packing.
 */
static void cached_b(struct vitsa_gemm *g)
{
	const struct vitsa_hw_desc *d = g->d;
	uint32_t t = VITSA_DESC_B_TYPE(d->types), trans = d->flags & VITSA_DESC_B_TRANS;
	uint64_t last;

	if (!g->ops->wcache ||
	    !vitsa_extent_last(d->b_addr, trans ? d->n : d->k, d->b_stride,
			       vitsa_row_bytes(t, trans ? d->k : d->n), &last))
		return;
	g->wc = g->ops->wcache(g->opaque, d->b_addr, last);
	if (!g->wc)
		return;
	g->wkey = (struct vitsa_wcache_key){
		.addr = d->b_addr, .last = last, .stride = d->b_stride, .k = d->k, .n = d->n,
		.type = t, .trans = trans, .sign = g->sign, .kern = g->kern,
	};
	g->pb_all = vitsa_wcache_get(g->wc, &g->wkey);
	/* the device reads B all the same: the DMA counters do not see the host's cache */
	if (g->pb_all)
		atomic_fetch_add(&g->rd_bytes, (trans ? d->n : d->k) *
				 vitsa_row_bytes(t, trans ? d->k : d->n));
}

/*
 * Enough tasks to keep every worker busy: column slices, then row groups if too few.  When
 * row groups share a slice, or the host's cache will keep it, B is packed once for all tasks
 * (bounded by SHARED_B_MAX).
 */
static void plan(struct vitsa_gemm *g)
{
	const struct vitsa_hw_desc *d = g->d;
	uint32_t workers = g->ops->workers ? g->ops->workers(g->opaque) : 1;
	uint32_t aligned = (d->m + ROW_ALIGN - 1) / ROW_ALIGN;
	uint64_t macs = (uint64_t)d->m * d->n * d->k;
	uint32_t want = workers > 1 && vitsa_gemm_parallel_worth(macs) ?
			TASKS_PER_WORKER * workers : 1;

	g->tasks_n = (d->n + NC - 1) / NC;
	g->tasks_m = (want + g->tasks_n - 1) / g->tasks_n;
	if (g->tasks_m > aligned)
		g->tasks_m = aligned;
	g->group_m = (aligned + g->tasks_m - 1) / g->tasks_m * ROW_ALIGN;
	g->tasks_m = (d->m + g->group_m - 1) / g->group_m;
	g->pb_stride = g->kern->b_size(NC, d->k);
	if ((uint64_t)g->pb_stride * g->tasks_n > SHARED_B_MAX)
		return;						/* packed per task */
	cached_b(g);
	if (!g->pb_all && (g->tasks_m > 1 || g->wc || (g->ops->split && want > 1)))
		g->pb_all = g->pb_new = malloc(g->pb_stride * g->tasks_n);	/* or per task */
}

uint64_t vitsa_gemm_macs(const struct vitsa_gemm *g)
{
	return (uint64_t)g->d->m * g->d->n * g->d->k;
}

bool vitsa_gemm_parallel_worth(uint64_t macs)
{
	return macs >= PAR_MIN_MACS;
}

uint32_t vitsa_gemm_tasks(const struct vitsa_gemm *g, bool pack)
{
	return pack ? (g->pb_new ? g->tasks_n : 0) : g->tasks_n * g->tasks_m;
}

void vitsa_gemm_task(struct vitsa_gemm *g, bool pack, uint32_t t)
{
	if (pack)
		pack_task(g, t);
	else
		run_task(g, t);
}

/* The job's state and its tables in one block. */
static struct vitsa_gemm *gemm_alloc(const struct vitsa_hw_desc *d)
{
	struct vitsa_gemm probe = { .d = d }, *g;
	struct carve c = { 0 };

	carve(&c, sizeof(*g));
	tables_carve(&probe, &c);
	g = aligned_alloc(64, c.at);
	if (!g)
		return NULL;
	c = (struct carve){ .base = (uint8_t *)g };
	*g = (struct vitsa_gemm){ .d = d };
	carve(&c, sizeof(*g));
	tables_carve(g, &c);
	return g;
}

struct vitsa_gemm *vitsa_gemm_prepare(const struct vitsa_hw_desc *d,
				      const struct vitsa_mem_ops *ops, void *opaque,
				      uint32_t *status)
{
	uint32_t ta = VITSA_DESC_A_TYPE(d->types), tb = VITSA_DESC_B_TYPE(d->types);
	struct vitsa_gemm *g;
	struct work w = { 0 };

	*status = vitsa_desc_check(d);
	if (*status)
		return NULL;
	g = gemm_alloc(d);
	if (!g) {
		*status = VITSA_ERR_INTERNAL;
		return NULL;
	}
	g->ops = ops;
	g->opaque = opaque;
	g->kern = vitsa_kern_active();
	g->sign = (vitsa_dtypes[ta].min < 0 ? VITSA_KERN_A_SIGNED : 0) |
		  (vitsa_dtypes[tb].min < 0 ? VITSA_KERN_B_SIGNED : 0);
	*status = load_tables(g, &w);
	g->rd_bytes = w.rd;
	if (!*status) {
		plan(g);
		job_corrections(g);
	}
	return g;
}

uint32_t vitsa_gemm_finish(struct vitsa_gemm *g, uint32_t status, const struct vitsa_model_cfg *cfg,
			   struct vitsa_job_stats *st)
{
	const struct vitsa_hw_desc *d = g->d;

	status = status ? status : atomic_load(&g->err);
	*st = (struct vitsa_job_stats){ .rd_bytes = atomic_load(&g->rd_bytes),
					.wr_bytes = atomic_load(&g->wr_bytes) };
	if (!status) {
		st->macs = (uint64_t)d->m * d->n * d->k;
		st->cycles = vitsa_model_cycles(cfg, d->m, d->n, d->k);
	}
	if (!g->pb_new || !g->wc || status ||
	    !vitsa_wcache_put(g->wc, &g->wkey, g->pb_new, g->pb_stride * g->tasks_n))
		free(g->pb_new);
	free(g->corr);
	free(g);
	return status;
}

/* The tasks of one phase of @g, on the host's threads if it lends them. */
struct phase {
	struct vitsa_gemm *g;
	bool pack;
};

static void phase_task(void *arg, uint32_t t)
{
	struct phase *p = arg;

	vitsa_gemm_task(p->g, p->pack, t);
}

static void run_phase(struct vitsa_gemm *g, bool pack)
{
	struct phase p = { g, pack };
	uint32_t tasks = vitsa_gemm_tasks(g, pack);

	if (g->ops->parallel && tasks > 1 && vitsa_gemm_parallel_worth(vitsa_gemm_macs(g)))
		g->ops->parallel(g->opaque, tasks, phase_task, &p);
	else
		for (uint32_t t = 0; t < tasks; t++)
			vitsa_gemm_task(g, pack, t);
}

uint32_t vitsa_model_exec(const struct vitsa_model_cfg *cfg, const struct vitsa_hw_desc *d,
			  const struct vitsa_mem_ops *ops, void *opaque,
			  struct vitsa_job_stats *st)
{
	uint32_t status;
	struct vitsa_gemm *g;

	if (vitsa_vec_op_valid(d->opcode))
		return vitsa_vec_exec(cfg, d, ops, opaque, st);
	g = vitsa_gemm_prepare(d, ops, opaque, &status);
	if (!g) {
		memset(st, 0, sizeof(*st));
		return status;
	}
	if (!status) {
		run_phase(g, true);
		run_phase(g, false);
	}
	return vitsa_gemm_finish(g, status, cfg, st);
}
