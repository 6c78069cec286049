// SPDX-License-Identifier: MIT
/*
 * act_tb: drives one Verilated act_col (a column of ROWS PEs) with the operand stream of one
 * GEMM from act_dump, checks every partial sum leaving the column against a C reference, and
 * writes Verilator's toggle coverage (Documentation/hw/activity.rst).
 *
 *   act_tb_<pe> DUMP COVERAGE_OUT
 *
 * The column stands for each column c of a ROWS x COLS array in turn: it computes the tiles
 * that column c computes, in the array's order (N tile outer, K tile inner), so each PE sees
 * the operand sequence of the array's PE in its row.  ACT_FP (compile time) selects the
 * operands: 0, the integer codes as they are; 1, the dequantized values q * s rounded to fp16
 * (denormals flushed, as the baseline PE would), accumulated in fp32 or, with ACT_ACC16, fp16.
 * Prints one line: name, PE MAC slots (valid A operands x ROWS, zero lanes beyond K included),
 * cycles, flushed operands, partial sums checked, mismatches.
 */
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "Vact_col.h"
#include "verilated.h"
#include "verilated_cov.h"

extern "C" {
#include "act_dump.h"
}

static const uint32_t ROWS = 16, COLS = 16;

struct gemm {
	struct act_dump_hdr h;
	std::vector<int16_t> a, b;	/* [m][k], [k][n] */
	std::vector<float> sb;		/* [n] */
};

static bool read_dump(const char *path, gemm &g)
{
	FILE *f = fopen(path, "rb");
	bool ok = f && fread(&g.h, sizeof(g.h), 1, f) == 1 &&
		  !memcmp(g.h.magic, ACT_DUMP_MAGIC, 8) && g.h.version == ACT_DUMP_VERSION &&
		  g.h.m && g.h.n && g.h.k && g.h.m <= 4096 && g.h.n <= 4096 && g.h.k <= 4096;

	if (ok) {
		g.a.resize((size_t)g.h.m * g.h.k);
		g.b.resize((size_t)g.h.k * g.h.n);
		g.sb.resize(g.h.n);
		ok = fread(g.a.data(), 2, g.a.size(), f) == g.a.size() &&
		     fread(g.b.data(), 2, g.b.size(), f) == g.b.size() &&
		     fread(g.sb.data(), 4, g.sb.size(), f) == g.sb.size() && fgetc(f) == EOF;
	}
	if (f)
		fclose(f);
	if (!ok)
		fprintf(stderr, "act_tb: %s: not an act_dump file of a sane GEMM\n", path);
	return ok;
}

static unsigned flushed;

/* fp16 of a dequantized value; denormals become +0 (the baseline PE flushes them). */
static uint16_t to_h(float v)
{
	_Float16 h = (_Float16)v;
	uint16_t u;

	if (std::fabs((float)h) < 0x1p-14f) {
		flushed += v != 0.0f;
		return 0;
	}
	memcpy(&u, &h, 2);
	return u;
}

static float h_f(uint16_t u) { _Float16 h; memcpy(&h, &u, 2); return (float)h; }

/* The operand codes the PE gets: the code byte or nibble, or fp16 bits. */
static uint32_t a_code(const gemm &g, uint32_t m, uint32_t k)
{
	int16_t q = k < g.h.k ? g.a[(size_t)m * g.h.k + k] : 0;

	if (ACT_FP)
		return to_h((float)q * g.h.s_a);
	return (uint32_t)q & (g.h.a_type >= 2 ? 0xfu : 0xffu);
}

static uint32_t w_code(const gemm &g, uint32_t k, uint32_t n)
{
	int16_t q = k < g.h.k && n < g.h.n ? g.b[(size_t)k * g.h.n + n] : 0;

	if (ACT_FP)
		return to_h((float)q * g.sb[n < g.h.n ? n : 0]);
	return (uint32_t)q & (g.h.b_type >= 2 ? 0xfu : 0xffu);
}

/* Value of a code as the PE reads it, for the reference. */
static double val(uint32_t code, uint32_t type)
{
	if (ACT_FP)
		return h_f((uint16_t)code);
	if (type == 0)
		return (int8_t)code;
	if (type == 2)
		return (int)((code ^ 8) - 8);
	return code;
}

/* The column's partial sum: ROWS products added top to bottom as the PEs add them. */
static uint64_t ref_psum(const uint32_t *ac, const uint32_t *wc, uint32_t at, uint32_t bt)
{
	if (!ACT_FP) {
		int64_t s = 0;

		for (uint32_t r = 0; r < ROWS; r++)
			s += (int64_t)val(ac[r], at) * (int64_t)val(wc[r], bt);
		return (uint64_t)s & ((1u << 22) - 1);
	}
#if ACT_ACC16
	_Float16 s = 0;

	for (uint32_t r = 0; r < ROWS; r++) {
		_Float16 p = (_Float16)((float)val(ac[r], 0) * (float)val(wc[r], 0));

		p = std::fabs((float)p) < 0x1p-14f ? (_Float16)0 : p;
		s = (_Float16)((double)s + (double)p);
		s = std::fabs((float)s) < 0x1p-14f ? (_Float16)0 : s;
	}
	uint16_t u;

	memcpy(&u, &s, 2);
	return u == 0x8000 ? 0 : u;
#else
	float s = 0;

	for (uint32_t r = 0; r < ROWS; r++) {
		s += (float)val(ac[r], 0) * (float)val(wc[r], 0);
		s = std::fabs(s) < 0x1p-126f ? 0.0f : s;
	}
	uint32_t u;

	memcpy(&u, &s, 4);
	return u == 0x80000000u ? 0 : u;
#endif
}

/* Tile t of the whole run: column c, then N tile, then K tile. */
struct tile { uint32_t n, k0; };

struct run {
	const gemm *g;
	std::vector<tile> tiles;
	uint32_t P;			/* A slot: max(M, ROWS), as in vitsa_ctrl */
	uint64_t checked = 0, bad = 0;
};

static void set_lane(Vact_col *m, uint32_t r, uint32_t code)
{
	const unsigned ow = ACT_FP ? 16 : 8;

	for (unsigned b = 0; b < ow; b++) {
		unsigned bit = r * ow + b;
		uint32_t &w = m->a_row[bit / 32];

		w = (w & ~(1u << bit % 32)) | ((code >> b) & 1u) << bit % 32;
	}
}

/*
 * Inputs for cycle @t.  Tile i's A slot for row r spans cycles (i+1)P + r .. + P - 1; its
 * weight row j goes on the bus at cycle iP + j + 1, after row j switched to tile i - 1 and
 * before it needs tile i (vitsa_pe's shadow register).
 */
static void drive(Vact_col *m, const run &R, uint64_t t)
{
	const gemm &g = *R.g;
	uint64_t nt = R.tiles.size();

	m->w_we = 0;
	if (t >= 1 && (t - 1) / R.P < nt && (t - 1) % R.P < ROWS) {
		const tile &tl = R.tiles[(t - 1) / R.P];
		uint32_t j = (uint32_t)((t - 1) % R.P);

		m->w_we = 1;
		m->w_row = j;
		m->w_data = w_code(g, tl.k0 + j, tl.n);
	}
	m->v_row = 0;
	m->f_row = 0;
	for (uint32_t r = 0; r < ROWS; r++) {
		uint64_t u = t - r - R.P, i = u / R.P, mm = u % R.P;
		bool on = t >= r + R.P && i < nt && mm < g.h.m;

		set_lane(m, r, on ? a_code(g, (uint32_t)mm, R.tiles[i].k0 + r) : 0);
		m->v_row |= (uint32_t)on << r;
		m->f_row |= (uint32_t)(on && mm == 0) << r;
	}
}

/* After the edge that ends cycle @t: the bottom PE registered row m of tile i. */
static void check(Vact_col *m, run &R, uint64_t t)
{
	const gemm &g = *R.g;
	uint64_t u = t - ROWS - R.P, i = u / R.P, mm = u % R.P;
	uint32_t ac[ROWS], wc[ROWS];

	if (t < ROWS + R.P || i >= R.tiles.size() || mm >= g.h.m)
		return;
	for (uint32_t r = 0; r < ROWS; r++) {
		ac[r] = a_code(g, (uint32_t)mm, R.tiles[i].k0 + r);
		wc[r] = w_code(g, R.tiles[i].k0 + r, R.tiles[i].n);
	}
	uint64_t want = ref_psum(ac, wc, g.h.a_type, g.h.b_type);
	uint64_t got = (uint64_t)m->psum;

	if (got == 0x80000000ull && !ACT_ACC16 && ACT_FP)
		got = 0;
	R.checked++;
	if (got != want && R.bad++ < 3)
		fprintf(stderr, "act_tb: %s tile %llu row %llu: psum %llx, want %llx\n", g.h.name,
			(unsigned long long)i, (unsigned long long)mm, (unsigned long long)got,
			(unsigned long long)want);
}

int main(int argc, char **argv)
{
	gemm g;
	run R;

	if (argc != 3)
		return fprintf(stderr, "usage: act_tb DUMP COVERAGE_OUT\n"), 2;
	if (!read_dump(argv[1], g))
		return 1;
	R.g = &g;
	R.P = g.h.m > ROWS ? g.h.m : ROWS;
	for (uint32_t c = 0; c < COLS; c++)
		for (uint32_t n0 = 0; n0 < g.h.n; n0 += COLS)
			for (uint32_t k0 = 0; k0 < g.h.k; k0 += ROWS)
				R.tiles.push_back({ n0 + c, k0 });

	Vact_col *m = new Vact_col;
	uint64_t end = (R.tiles.size() + 1) * R.P + ROWS + 1;

	m->a_type = g.h.a_type;
	m->b_type = g.h.b_type;
	m->rst = 1;
	m->clk = 0;
	m->eval();
	m->clk = 1;
	m->eval();
	m->rst = 0;
	Verilated::threadContextp()->coveragep()->zero();	/* reset is not a MAC */
	for (uint64_t t = 0; t < end; t++) {
		m->clk = 0;
		drive(m, R, t);
		m->eval();
		m->clk = 1;
		m->eval();
		check(m, R, t);
	}
	Verilated::threadContextp()->coveragep()->write(argv[2]);
	printf("%s macs %llu cycles %llu flushed %u checked %llu bad %llu\n", g.h.name,
	       (unsigned long long)R.tiles.size() * g.h.m * ROWS, (unsigned long long)end, flushed,
	       (unsigned long long)R.checked, (unsigned long long)R.bad);
	delete m;
	return R.bad != 0;
}
