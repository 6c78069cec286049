// SPDX-License-Identifier: MIT
/*
 * libvitrt: the FP32 sgemm under the reference forward and calibration, C = A B^T (+ bias),
 * both operands row-major along K (vitrt_vit.h), and its plain twin.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vitrt_hot.h"
#include "vitrt_vit.h"

typedef float v8sf __attribute__((vector_size(32)));

/*
 * A is packed in panels of MR rows stored k-major (P[k][MR], zero-padded), so that one k step
 * of a panel is two vectors; the micro-kernel multiplies them by NR broadcast elements of B
 * into an MR x NR tile of accumulators: no horizontal sums, every output a plain float sum
 * in k order.  B is walked in blocks of rows that stay in L2 while every panel passes.
 */
#define MR	16
#define NR	6
#define B_BLOCK_FLOATS	(128 * 1024)	/* 512 KiB of B per block */

/* P[t][r] = A[r][t] for rows r < @rm of a panel, 0 beyond. */
static void pack_panel(float *p, const float *a, size_t lda, uint32_t rm, uint32_t k)
{
	for (uint32_t t = 0; t < k; t++)
		for (uint32_t r = 0; r < MR; r++)
			p[t * MR + r] = r < rm ? a[r * lda + t] : 0.0f;
}

/* C[0..rm)[0..rn) = panel @p times rows 0..rn of B (+ bias), @rn a compile-time constant. */
VIT_INLINE void micro(float *c, size_t ldc, const float *p, const float *b, size_t ldb,
		      const float *bias, uint32_t rm, uint32_t k, const int rn)
{
	v8sf acc[2][NR];

	for (int j = 0; j < rn; j++)
		acc[0][j] = acc[1][j] = (v8sf){ 0 };
	for (uint32_t t = 0; t < k; t++) {
		v8sf a0 = *(const v8sf *)(p + t * MR), a1 = *(const v8sf *)(p + t * MR + 8);

		for (int j = 0; j < rn; j++) {
			float e = b[j * ldb + t];
			v8sf bv = { e, e, e, e, e, e, e, e };

			acc[0][j] += a0 * bv;
			acc[1][j] += a1 * bv;
		}
	}
	for (int j = 0; j < rn; j++) {
		float bj = bias ? bias[j] : 0.0f;

		for (uint32_t i = 0; i < rm; i++)
			c[i * ldc + j] = acc[i / 8][j][i % 8] + bj;
	}
}

/* One panel against rows [n0, n1) of B. */
VIT_INLINE void panel_row(float *c, size_t ldc, const float *p, const float *b, size_t ldb,
			  const float *bias, uint32_t rm, uint32_t n0, uint32_t n1, uint32_t k)
{
	uint32_t j = n0;

#define MICRO(rn) micro(c + j, ldc, p, b + j * ldb, ldb, bias ? bias + j : NULL, rm, k, rn)
	for (; j + NR <= n1; j += NR)
		MICRO(NR);
	switch (n1 - j) {
	case 5: MICRO(5); break;
	case 4: MICRO(4); break;
	case 3: MICRO(3); break;
	case 2: MICRO(2); break;
	case 1: MICRO(1); break;
	}
#undef MICRO
}

_Static_assert(NR == 6, "panel_row handles up to NR - 1 = 5 leftover columns");

VIT_HOT void vitrt_sgemm_nt(float *c, size_t ldc, const float *a, size_t lda, const float *b,
			    size_t ldb, const float *bias, uint32_t m, uint32_t n, uint32_t k)
{
	uint32_t panels = (m + MR - 1) / MR, nb;
	float *pack;

	if (!m || !n)
		return;
	pack = aligned_alloc(64, ((size_t)panels * MR * k + 16) * sizeof(float));
	if (!pack) {
		/* no memory for the packed copy: the plain loop needs none */
		vitrt_sgemm_nt_ref(c, ldc, a, lda, b, ldb, bias, m, n, k);
		return;
	}
	for (uint32_t i = 0; i < panels; i++)
		pack_panel(pack + (size_t)i * MR * k, a + (size_t)i * MR * lda, lda,
			   m - i * MR < MR ? m - i * MR : MR, k);
	nb = k ? B_BLOCK_FLOATS / k / NR * NR : n;
	nb = nb < NR ? NR : nb;
	for (uint32_t n0 = 0; n0 < n; n0 += nb) {
		uint32_t n1 = n - n0 > nb ? n0 + nb : n;

		for (uint32_t i = 0; i < panels; i++)
			panel_row(c + (size_t)i * MR * ldc, ldc, pack + (size_t)i * MR * k, b, ldb,
				  bias, m - i * MR < MR ? m - i * MR : MR, n0, n1, k);
	}
	free(pack);
}

void vitrt_sgemm_nt_ref(float *c, size_t ldc, const float *a, size_t lda, const float *b,
			size_t ldb, const float *bias, uint32_t m, uint32_t n, uint32_t k)
{
	for (uint32_t i = 0; i < m; i++) {
		for (uint32_t j = 0; j < n; j++) {
			double s = bias ? bias[j] : 0.0;

			for (uint32_t t = 0; t < k; t++)
				s += (double)a[i * lda + t] * b[j * ldb + t];
			c[i * ldc + j] = (float)s;
		}
	}
}
