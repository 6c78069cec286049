// SPDX-License-Identifier: MIT
/*
 * vitsa GEMM job with its memory traffic: Documentation/hw/vitsa.rst, "Whole-inference model".
 * Tiles run in the array's order (column tile j outer, K tile i inner); before tile (j, i)
 * starts, DRAM must have delivered its operands into one of two weight-tile buffers.  One
 * channel carries the fetches and the write-back of C, in tile order.
 */
#include "vitsa_timing.h"

static uint64_t div_up(uint64_t a, uint64_t b)
{
	return (a + b - 1) / b;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

uint64_t vitsa_timing_xfer(uint64_t bytes, uint32_t bw)
{
	return bw ? div_up(bytes, bw) : 0;
}

/* Bytes of @elems elements of @bits each, packed (int4 pairs share a byte). */
static uint64_t packed(uint64_t elems, uint32_t bits)
{
	return div_up(elems * bits, 8);
}

/* Columns of C in column tile @j. */
static uint64_t tile_cols(const struct vitsa_model_cfg *cfg, const struct vitsa_timing_gemm *g,
			  uint64_t j)
{
	return min_u64(cfg->cols, g->n - j * cfg->cols);
}

/* DRAM bytes due before tile (j, i) starts: its weights, and A's K block when A is off chip
 * (or, loaded once, in the first column). */
static uint64_t tile_bytes(const struct vitsa_model_cfg *cfg, const struct vitsa_timing_gemm *g,
			   uint64_t j, uint64_t i)
{
	uint64_t rows = min_u64(cfg->rows, g->k - i * cfg->rows), bytes = 0;

	if (g->b_dram)
		bytes += packed(rows * tile_cols(cfg, g, j), g->b_bits);
	if (g->a_dram || (g->a_once && j == 0))
		bytes += packed((uint64_t)g->m * rows, g->a_bits);
	return bytes;
}

/* Bytes of column tile @j's C when it goes to DRAM. */
static uint64_t c_bytes(const struct vitsa_model_cfg *cfg, const struct vitsa_timing_gemm *g,
			uint64_t j)
{
	return g->c_dram ? packed((uint64_t)g->m * tile_cols(cfg, g, j), g->c_bits) : 0;
}

/*
 * The channel after writing column @j's C, which may leave once the column's last tile
 * (started at @last) has passed: its rows drain from the accumulator as they go.
 */
static uint64_t write_c(const struct vitsa_model_cfg *cfg, const struct vitsa_timing_gemm *g,
			uint32_t bw, uint64_t j, uint64_t done, uint64_t last, uint64_t *bytes)
{
	uint64_t b = c_bytes(cfg, g, j);

	*bytes += b;
	return b ? max_u64(done, last + max_u64(g->m, cfg->rows)) + vitsa_timing_xfer(b, bw) : done;
}

void vitsa_timing_gemm(const struct vitsa_model_cfg *cfg, uint32_t bw,
		       const struct vitsa_timing_gemm *g, struct vitsa_timing *t)
{
	uint64_t ktiles = div_up(g->k, cfg->rows), ntiles = div_up(g->n, cfg->cols);
	uint64_t p = max_u64(g->m, cfg->rows), done = 0, bytes = 0;
	uint64_t start = 0, start1 = 0, start2 = 0;	/* tiles idx, idx - 1, idx - 2 */

	/* No tiles, so no last column to write: an empty GEMM is no work (the device refuses it). */
	if (!g->m || !g->n || !g->k) {
		*t = (struct vitsa_timing){ 0 };
		return;
	}

	for (uint64_t idx = 0; idx < ktiles * ntiles; idx++) {
		uint64_t b = tile_bytes(cfg, g, idx / ktiles, idx % ktiles);

		/* two buffers: tile idx fills the one tile idx - 2 emptied as it shifted in */
		done = max_u64(done, start2) + vitsa_timing_xfer(b, bw);
		bytes += b;
		/* weights shift in (rows cycles) once fetched, under the tile before */
		start = idx ? max_u64(start1 + p, done + cfg->rows) : done + cfg->rows;
		/* a new column: the previous one's C follows this tile's fetch on the channel */
		if (idx && idx % ktiles == 0)
			done = write_c(cfg, g, bw, idx / ktiles - 1, done, start1, &bytes);
		start2 = idx ? start1 : 0;
		start1 = start;
	}
	done = write_c(cfg, g, bw, ntiles - 1, done, start, &bytes);
	t->array = vitsa_model_cycles(cfg, g->m, g->n, g->k);
	t->cycles = max_u64(start + p + cfg->rows + cfg->cols - 1 + 2, done);
	t->stall = t->cycles - t->array;
	t->dram_bytes = bytes;
}
