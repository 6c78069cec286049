/* SPDX-License-Identifier: MIT */
/*
 * The vpdpbusd kernel, written once for both vector widths.  vitsa_kern_avx512vnni.c and
 * vitsa_kern_avxvnni.c define the vector type and intrinsics below, then include this file.
 *
 * vpdpbusd multiplies unsigned bytes by signed bytes, four per 32-bit lane, and adds without
 * saturation, so int32 wrap-around is exact.  A is broadcast four bytes at a time straight from
 * its rows; B is packed in panels of NR columns: for each group of four k, NR x 4 bytes.  Of
 * the two operands the unsigned one takes the first slot.  When both have the same signedness,
 * B's bytes are flipped (b ^ 0x80 = b + 128 for s8, b - 128 for u8, read the other way) and the
 * row sums of A take the difference back out:
 *   s8 x s8: sum a * (b + 128) - 128 * sum a;   u8 x u8: sum a * (b - 128) + 128 * sum a.
 *
 * Expected from the includer: TARGET, VEC, LANES, MR (rows of A per register tile), NV (vectors
 * of a B panel), V_ZERO(), V_LOAD(p), V_SET1(x), V_DPBUSD(acc, u, s), V_STORE(p, v), V_HSUM(v),
 * KERN_NAME, KERN_STR, KERN_SUPPORTED, KERN_PEAK (the peak loop), KERN_PACK_B (packs B in the
 * layout above, flipped as below) and, optionally, a fused epilogue: V_EPI, the type of the
 * tables of LANES columns, V_EPI_LOAD(t, n, cnt, e) loading those of cnt columns from n into *t,
 * and V_FINISH(dst, vec, t, cnt, e) storing cnt <= LANES results at dst.
 */
#include <string.h>

#include "vitsa_kern.h"

#define NR	(NV * LANES)	/* columns of a B panel */

/* The register tile must live in registers: every loop over its rows and vectors unrolled. */
#define UNROLL	_Pragma("GCC unroll 16")
#define INLINE	static inline __attribute__((always_inline)) TARGET

static size_t b_size(uint32_t nb, uint32_t k)
{
	return (size_t)((nb + NR - 1) / NR) * NR * ((k + 3) / 4) * 4;
}

static size_t work_size(uint32_t mb, uint32_t k)
{
	(void)mb, (void)k;
	return 0;
}

/* B is flipped when both operands have the same signedness. */
static bool flip_b(uint32_t sign)
{
	return !(sign & VITSA_KERN_A_SIGNED) == !(sign & VITSA_KERN_B_SIGNED);
}

/* Bytes 4q.. of a row of @k, zero-filled past the row's end, as one little-endian word. */
static inline __attribute__((always_inline)) uint32_t quad(const uint8_t *row, uint32_t q,
							    uint32_t k)
{
	uint32_t w = 0, n = k - 4 * q < 4 ? k - 4 * q : 4;

	memcpy(&w, row + 4 * q, n);
	return w;
}

/* The correction of row sums for each of @rows rows (0 unless B was flipped), modulo 2^32. */
TARGET static void row_corr(uint32_t *corr, const uint8_t *a, size_t lda, uint32_t rows,
			    uint32_t k, uint32_t sign)
{
	bool a_signed = sign & VITSA_KERN_A_SIGNED;

	for (uint32_t r = 0; r < rows; r++) {
		const uint8_t *row = a + r * lda;
		uint32_t s = 0, q = 0;

		if (!flip_b(sign)) {
			corr[r] = 0;
			continue;
		}
		VEC acc = V_ZERO(), ones = V_SET1(0x01010101);

		for (; q + 4 * LANES <= k; q += 4 * LANES)
			acc = a_signed ? V_DPBUSD(acc, ones, V_LOAD(row + q))
				       : V_DPBUSD(acc, V_LOAD(row + q), ones);
		s = (uint32_t)V_HSUM(acc);
		for (; q < k; q++)
			s += a_signed ? (uint32_t)(int8_t)row[q] : row[q];
		corr[r] = a_signed ? (uint32_t)-128 * s : 128u * s;
	}
}

/*
 * Sixteen columns from @col of rows q0..q0+3 of a K x N B: four 16-byte rows, zero past
 * column @nb or row @k, interleaved to each column's four bytes (the panel's k-group).
 */
INLINE void pack_kn16(uint8_t *out, const uint8_t *b, size_t ldb, uint32_t col, uint32_t nb,
		      uint32_t q0, uint32_t k, __m128i flip)
{
	__m128i r[4];

	for (uint32_t i = 0; i < 4; i++) {
		uint8_t tmp[16] = { 0 };

		if (q0 + i >= k) {		/* past B: not even addressed */
			r[i] = _mm_setzero_si128();
		} else if (nb - col >= 16) {
			r[i] = _mm_loadu_si128((const void *)(b + (size_t)(q0 + i) * ldb + col));
		} else {
			memcpy(tmp, b + (size_t)(q0 + i) * ldb + col, nb - col);
			r[i] = _mm_loadu_si128((const void *)tmp);
		}
		r[i] = _mm_xor_si128(r[i], flip);
	}
	__m128i lo01 = _mm_unpacklo_epi8(r[0], r[1]), hi01 = _mm_unpackhi_epi8(r[0], r[1]);
	__m128i lo23 = _mm_unpacklo_epi8(r[2], r[3]), hi23 = _mm_unpackhi_epi8(r[2], r[3]);

	_mm_storeu_si128((void *)out, _mm_unpacklo_epi16(lo01, lo23));
	_mm_storeu_si128((void *)(out + 16), _mm_unpackhi_epi16(lo01, lo23));
	_mm_storeu_si128((void *)(out + 32), _mm_unpacklo_epi16(hi01, hi23));
	_mm_storeu_si128((void *)(out + 48), _mm_unpackhi_epi16(hi01, hi23));
}

/* pack_b from B's own rows: four rows interleaved per k-group, no transpose (NR % 16 == 0). */
TARGET static void pack_b_kn(void *dst, const uint8_t *b, size_t ldb, uint32_t nb, uint32_t k,
			     uint32_t sign)
{
	__m128i flip = _mm_set1_epi8(flip_b(sign) ? (char)0x80 : 0);
	uint32_t groups = (k + 3) / 4;
	uint8_t *out = dst;

	for (uint32_t p = 0; p < nb; p += NR, out += (size_t)NR * groups * 4)
		for (uint32_t g = 0; g < groups; g++)
			for (uint32_t h = 0; h < NR; h += 16)
				pack_kn16(out + ((size_t)g * NR + h) * 4, b, ldb,
					  p + h < nb ? p + h : nb, nb, 4 * g, k, flip);
}

/* One k-group of one row of A against the NV vectors of a panel. */
INLINE void fma_row(VEC *c, const VEC *b, uint32_t w, const bool a_u)
{
	VEC av = V_SET1((int32_t)w);

	UNROLL
	for (int v = 0; v < NV; v++)
		c[v] = a_u ? V_DPBUSD(c[v], av, b[v]) : V_DPBUSD(c[v], b[v], av);
}

/* Row @r of a tile, @nb <= NR columns from column @p: the accumulators into @acc. */
INLINE void store_row(const VEC *c, int32_t *acc, size_t ldacc, uint32_t nb, uint32_t r,
		      uint32_t p)
{
	int32_t tmp[NR], *dst_acc;

	dst_acc = acc + r * ldacc + p;
	UNROLL
	for (int v = 0; v < NV; v++)
		V_STORE(nb == NR ? dst_acc + v * LANES : tmp + v * LANES, c[v]);
	if (nb != NR)
		memcpy(dst_acc, tmp, nb * sizeof(*dst_acc));
}

/*
 * One tile: @mr rows of A against the B panel of columns p.. (@nb <= NR of them).  @a_u: A
 * takes the unsigned slot.  mr and a_u are constants in every call, so each use is its own
 * loop, with the whole tile in registers.
 */
INLINE void tile(int32_t *acc, size_t ldacc, const uint8_t *a, size_t lda, const uint32_t *pb,
		 uint32_t p, uint32_t nb, uint32_t k, const uint32_t *corr,
		 const struct vitsa_kern_out *o, const int mr, const bool a_u)
{
	VEC c[MR][NV], b[NV];
	uint32_t q;

	UNROLL
	for (int r = 0; r < mr; r++)
		UNROLL
		for (int v = 0; v < NV; v++)
			c[r][v] = V_SET1(corr ? (int32_t)corr[r] : 0);
	for (q = 0; q < k / 4; q++, pb += NR) {
		UNROLL
		for (int v = 0; v < NV; v++)
			b[v] = V_LOAD(pb + v * LANES);
		UNROLL
		for (int r = 0; r < mr; r++) {
			uint32_t w;

			memcpy(&w, a + r * lda + 4 * q, 4);
			fma_row(c[r], b, w, a_u);
		}
	}
	if (k % 4) {	/* the last, partial group: A's row ends inside it */
		UNROLL
		for (int v = 0; v < NV; v++)
			b[v] = V_LOAD(pb + v * LANES);
		UNROLL
		for (int r = 0; r < mr; r++)
			fma_row(c[r], b, quad(a + r * lda, q, k), a_u);
	}
#ifdef V_FINISH
	/*
	 * Finished results through @o, a vector of columns at a time: its tables are loaded once
	 * for all the tile's rows (K = 384 leaves the epilogue a fifth of the work).
	 */
	if (o) {
		UNROLL
		for (int v = 0; v < NV; v++) {
			V_EPI t;

			if (v * LANES >= (int)nb)
				continue;
			V_EPI_LOAD(&t, o->n0 + p + v * LANES, nb - v * LANES, o->e);
			UNROLL
			for (int r = 0; r < mr; r++)
				V_FINISH(o->c + r * o->ldc + (size_t)(p + v * LANES) * o->e->bits / 8,
					 c[r][v], &t, nb - v * LANES, o->e);
		}
		return;
	}
#endif
	(void)o;
	UNROLL
	for (int r = 0; r < mr; r++)
		store_row(c[r], acc, ldacc, nb, r, p);
}

/* Every tile of @mr rows (a constant at each call) across all panels of B. */
INLINE void rows(int32_t *acc, size_t ldacc, const uint8_t *a, size_t lda, const uint32_t *pb,
		 uint32_t nb, uint32_t k, const uint32_t *corr, const struct vitsa_kern_out *o,
		 const int mr, const bool a_u)
{
	uint32_t kq = (k + 3) / 4;

	for (uint32_t p = 0; p < nb; p += NR, pb += (size_t)NR * kq)
		tile(acc, ldacc, a, lda, pb, p, nb - p < NR ? nb - p : NR, k, corr, o, mr, a_u);
}

#define ROWS_CASE(n) \
	case n: \
		if (a_u) \
			rows(accb, ldacc, ab, lda, pb, nb, k, cb, o, n, true); \
		else \
			rows(accb, ldacc, ab, lda, pb, nb, k, cb, o, n, false); \
		break

TARGET static void gemm(int32_t *acc, size_t ldacc, const uint8_t *a, size_t lda,
			const void *pb, uint32_t mb, uint32_t nb, uint32_t k, uint32_t sign,
			const uint32_t *corr, const struct vitsa_kern_out *out, void *work)
{
	bool a_u = !(sign & VITSA_KERN_A_SIGNED);	/* else B is unsigned, or flipped to it */
	struct vitsa_kern_out shifted, *o = out ? &shifted : NULL;

	(void)work;	/* A is read in place */
	for (uint32_t i = 0; i < mb; i += MR) {
		/* block i's rows only: nothing past the last row is even addressed */
		uint32_t mr = mb - i < MR ? mb - i : MR;
		const uint8_t *ab = a + (size_t)i * lda;
		int32_t *accb = acc ? acc + (size_t)i * ldacc : NULL;	/* NULL when fused */
		const uint32_t *cb = corr ? corr + i : NULL;

		if (out)
			shifted = (struct vitsa_kern_out){ .c = out->c + i * out->ldc,
							   .ldc = out->ldc, .n0 = out->n0,
							   .e = out->e };
		switch (mr) {
#if MR > 8
#error "ROWS_CASE covers tiles of up to 8 rows"
#endif
#if MR >= 8
		ROWS_CASE(8);
		ROWS_CASE(7);
#endif
#if MR >= 6
		ROWS_CASE(6);
		ROWS_CASE(5);
#endif
		ROWS_CASE(4);
		ROWS_CASE(3);
		ROWS_CASE(2);
		ROWS_CASE(1);
		}
	}
}

const struct vitsa_kern KERN_NAME = {
	.name = KERN_STR,
	.supported = KERN_SUPPORTED,
	.b_size = b_size,
	.pack_b = KERN_PACK_B,
	.pack_b_kn = pack_b_kn,
	.work_size = work_size,
	.row_corr = row_corr,
	.gemm = gemm,
#ifdef V_FINISH
	.fused = true,
#endif
	.peak = KERN_PEAK,
};
