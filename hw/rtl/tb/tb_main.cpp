// SPDX-License-Identifier: MIT
/*
 * RTL testbench: drives the Verilated vitsa_top as the device's DMA engine would.
 *
 * For every job (tb_job.c builds it and computes the expected C with the C model) the bench
 * loads the epilogue tables, raises start, keeps the next A row and the next weight row on the
 * stream ports (with junk in every lane beyond K or N and in the high nibble of int4 codes,
 * which the core must ignore), collects results, and checks:
 *   - every output bit against the model (the whole memory image, stride gaps included),
 *   - cycles (edges after the start edge up to the one that raises done) ==
 *     vitsa_model_cycles(), and the last result registered on that same edge (M >= rows,
 *     N a multiple of cols; earlier by the unused columns otherwise),
 *   - both streams consumed exactly, no underrun, no result after done.
 * Prints KTAP: one result per group of jobs, '#' lines with every job's cycle count.
 *
 *   vitsa_rtl_tb [-s SEED] [-n JOBS]      seeded and reproducible; defaults 0x5eed, 3000
 */
#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <unistd.h>

#include "Vvitsa_top.h"
#include "verilated.h"
#include "tb_job.h"

#ifndef TB_ROWS
#define TB_ROWS 16
#endif
#ifndef TB_COLS
#define TB_COLS 16
#endif
#ifndef TB_MW
#define TB_MW 10	/* vitsa_top's MW: accumulator depth 2^MW */
#endif
#ifndef TB_NTW
#define TB_NTW 8	/* vitsa_top's NTW: 2^NTW N tiles in the epilogue tables */
#endif

static const uint32_t ROWS = TB_ROWS, COLS = TB_COLS;
static const uint32_t MAX_M = 1u << TB_MW, MAX_N = COLS << TB_NTW;

/* Bit fields of a port: plain integers for narrow ports, VlWide for wide ones. */
template <typename T> static void put(T &p, unsigned lsb, unsigned w, uint32_t v)
{
	T mask = (T)((1ull << w) - 1) << lsb;

	p = (T)((p & ~mask) | (((T)v << lsb) & mask));
}

template <std::size_t N> static void put(VlWide<N> &p, unsigned lsb, unsigned w, uint32_t v)
{
	for (unsigned b = 0; b < w; b++) {
		unsigned i = lsb + b;
		uint32_t bit = 1u << (i % 32);

		p[i / 32] = (v >> b & 1) ? p[i / 32] | bit : p[i / 32] & ~bit;
	}
}

template <typename T> static uint32_t get(const T &p, unsigned lsb, unsigned w)
{
	return (uint32_t)(((uint64_t)p >> lsb) & ((1ull << w) - 1));
}

template <std::size_t N> static uint32_t get(const VlWide<N> &p, unsigned lsb, unsigned w)
{
	uint64_t lo = p[lsb / 32], hi = lsb / 32 + 1 < N ? p[lsb / 32 + 1] : 0;

	return (uint32_t)(((hi << 32 | lo) >> (lsb % 32)) & ((1ull << w) - 1));
}

/* Position in an operand stream: tiles N outer, K inner, then rows within the tile. */
struct stream_pos {
	uint32_t nt, kt, row;
	bool end;
};

static void stream_next(stream_pos &s, uint32_t rows_per_tile, const tb_shape &sh)
{
	if (++s.row < rows_per_tile)
		return;
	s.row = 0;
	if (++s.kt * ROWS < sh.k)
		return;
	s.kt = 0;
	if (++s.nt * COLS >= sh.n)
		s.end = true;
}

struct bench {
	std::unique_ptr<VerilatedContext> ctx;
	std::unique_ptr<Vvitsa_top> top;
	uint64_t junk = 1;
	uint64_t sim_cycles = 0;

	bench() : ctx(new VerilatedContext), top(new Vvitsa_top(ctx.get())) {}

	uint8_t junk8()
	{
		junk = junk * 6364136223846793005ull + 1442695040888963407ull;
		return (uint8_t)(junk >> 56);
	}

	void tick()
	{
		top->clk = 0;
		top->eval();
		top->clk = 1;
		top->eval();
		sim_cycles++;
	}

	void reset()
	{
		top->rst = 1;
		tick();
		tick();
		top->rst = 0;
	}
};

/* An element code with junk above it where the core must not look. */
static uint32_t dirty(bench &b, uint8_t code, uint32_t type)
{
	return type >= 2 ? (uint32_t)(code | (b.junk8() & 0xf0)) : code;
}

static void drive_a(bench &b, const tb_job *j, const stream_pos &s)
{
	const tb_shape &sh = *tb_job_shape(j);

	for (uint32_t r = 0; r < ROWS; r++) {
		uint32_t k = s.kt * ROWS + r;
		uint32_t v = !s.end && k < sh.k ? dirty(b, tb_job_a(j, s.row, k), sh.a_type)
						: b.junk8();
		put(b.top->a_data, r * 8, 8, v);
	}
	b.top->a_valid = !s.end;
}

static void drive_w(bench &b, const tb_job *j, const stream_pos &s)
{
	const tb_shape &sh = *tb_job_shape(j);

	for (uint32_t c = 0; c < COLS; c++) {
		uint32_t k = s.kt * ROWS + s.row, n = s.nt * COLS + c;
		uint32_t v = !s.end && k < sh.k && n < sh.n ?
			     dirty(b, tb_job_b(j, k, n), sh.b_type) : b.junk8();
		put(b.top->w_data, c * 8, 8, v);
	}
	b.top->w_valid = !s.end;
}

/* Results registered on the last edge; -1 if one is misplaced. */
static int collect(bench &b, tb_job *j, unsigned *count)
{
	int err = 0;

	for (uint32_t c = 0; c < COLS; c++) {
		if (!get(b.top->out_valid, c, 1))
			continue;
		uint32_t m = get(b.top->out_m, c * TB_MW, TB_MW);
		uint32_t n = get(b.top->out_n, c * 16, 16);

		if (j && tb_job_store(j, m, n, (int32_t)get(b.top->out_y, c * 32, 32)))
			err = -1;
		if (!j)
			err = -1;
		++*count;
	}
	return err;
}

/* Epilogue tables, through the table port before start (the device reads them first). */
static int load_tables(bench &b, const tb_job *j)
{
	const tb_shape &sh = *tb_job_shape(j);
	unsigned stray = 0;

	for (uint32_t n = 0; n < sh.n; n++) {
		int32_t bias, mult;
		uint32_t shift;

		tb_job_table(j, n, &bias, &mult, &shift);
		b.top->tbl_we = 1;
		b.top->tbl_col = n % COLS;
		b.top->tbl_idx = (n / COLS) & ((1u << TB_NTW) - 1);	/* ports must stay clean */
		b.top->tbl_bias = (uint32_t)bias;
		b.top->tbl_mult = (uint32_t)mult;
		b.top->tbl_shift = shift;
		b.tick();
		collect(b, nullptr, &stray);
	}
	b.top->tbl_we = 0;
	return stray ? -1 : 0;
}

static void configure(bench &b, const tb_shape &sh)
{
	b.top->cfg_m = sh.m;
	b.top->cfg_n = sh.n;
	b.top->cfg_k = sh.k;
	b.top->cfg_a_type = sh.a_type;
	b.top->cfg_b_type = sh.b_type;
	b.top->cfg_c_type = sh.c_type;
	b.top->cfg_bias = sh.bias;
	b.top->cfg_requant = sh.requant;
	b.top->cfg_c_zero = (uint32_t)sh.c_zero;
}

struct job_result {
	uint64_t cycles, model, last_out;
	bool underrun;
	std::string err;
};

/* One clock cycle of a job: drive both streams, sample the takes, clock, advance, collect. */
static void job_cycle(bench &b, tb_job *j, job_result &r, stream_pos &a, stream_pos &w,
		      bool starve)
{
	const tb_shape &sh = *tb_job_shape(j);
	unsigned outs = 0;

	drive_a(b, j, a);
	drive_w(b, j, w);
	if (starve)
		b.top->a_valid = 0;
	b.top->clk = 0;
	b.top->eval();
	bool ta = b.top->a_ready, tw = b.top->w_ready;

	b.top->clk = 1;
	b.top->eval();
	b.sim_cycles++;
	b.top->start = 0;
	if (ta && !a.end && !starve)
		stream_next(a, sh.m, sh);
	if (tw && !w.end)
		stream_next(w, ROWS, sh);
	if (collect(b, j, &outs) && r.err.empty())
		r.err = "a result with an index outside C or a repeated one";
	if (outs)
		r.last_out = r.cycles;
}

/*
 * Clock the job from start to done; fills @r, leaves checking the data to the caller.  On
 * edge @starve the A stream claims to be empty (the negative test of the underrun flag).
 */
static void run_job(bench &b, tb_job *j, job_result &r, uint64_t starve = UINT64_MAX)
{
	stream_pos a = {}, w = {};
	unsigned stray = 0;
	bool done = false;

	r.model = tb_job_model_cycles(j);
	r.last_out = 0;
	if (load_tables(b, j))
		r.err = "a result appeared while idle";
	configure(b, *tb_job_shape(j));
	b.top->start = 1;
	/* r.cycles numbers the edge just clocked: 0 is the one that samples start */
	for (r.cycles = 0; r.cycles <= r.model + 4 * (ROWS + COLS) + 64; r.cycles++) {
		job_cycle(b, j, r, a, w, r.cycles == starve);
		if ((done = b.top->done))
			break;
	}
	r.underrun = b.top->underrun;
	if (r.err.empty())
		r.err = !done ? "done never rose" : r.cycles == 0 ? "done still high after start"
		      : !a.end || !w.end ? "an operand stream was not consumed to its end"
		      : r.underrun ? "a stream underrun was flagged" : "";
	b.tick();		/* one idle cycle: nothing of this job may come after done */
	if (collect(b, nullptr, &stray) && r.err.empty())
		r.err = "a result after done";
}

/*
 * The edge of a job's last result, from the schedule (Documentation/hw/rtl.rst): done's edge
 * is that of the last slot's last row in the last column.  Rows M.. of a slot are bubbles, so
 * the last real row ends P - M earlier; the last N tile may use only its first columns, and
 * then the previous N tile (KT slots earlier, all columns) may finish last.
 */
static uint64_t last_result_edge(const tb_shape &sh, uint64_t done)
{
	uint64_t p = std::max(sh.m, ROWS), kt = (sh.k + ROWS - 1) / ROWS;
	uint64_t unused = COLS - 1 - (sh.n - 1) % COLS;

	if (sh.n > COLS)
		unused = std::min(unused, kt * p);
	return done - (p - sh.m) - unused;
}

/* Run one job and check it all; "" when it passed. */
static std::string check_job(bench &b, tb_job *j, uint64_t *cycles)
{
	const tb_shape &sh = *tb_job_shape(j);
	job_result r;
	char msg[160];

	run_job(b, j, r);
	*cycles = r.cycles;
	if (!r.err.empty())
		return r.err;
	if (r.cycles != r.model) {
		snprintf(msg, sizeof(msg), "cycles %" PRIu64 ", model %" PRIu64, r.cycles, r.model);
		return msg;
	}
	if (r.last_out != last_result_edge(sh, r.cycles)) {
		snprintf(msg, sizeof(msg), "last result on edge %" PRIu64 ", expected %" PRIu64
			 " (done on %" PRIu64 ")", r.last_out, last_result_edge(sh, r.cycles),
			 r.cycles);
		return msg;
	}
	if (tb_job_check(j, msg, sizeof(msg)))
		return msg;
	return "";
}

struct group {
	const char *name;
	unsigned jobs, failed;
	uint64_t cycles, macs;
};

/* Run the job of @seed (shape @fix or random), print its '#' line, count it in @g. */
static void job(bench &b, group &g, uint64_t seed, const tb_shape *fix)
{
	char desc[128];
	uint64_t cycles = 0;

	if (fix && (fix->m > MAX_M || fix->n > MAX_N)) {
		printf("# %ux%ux%u skipped: M or N beyond this core's accumulator or tables\n",
		       fix->m, fix->n, fix->k);
		return;
	}
	tb_job *j = tb_job_new(ROWS, COLS, seed, fix, MAX_M, MAX_N);

	g.jobs++;
	if (!j) {
		printf("# FAIL seed %#" PRIx64 ": could not build the job\n", seed);
		g.failed++;
		return;
	}
	tb_job_describe(j, desc, sizeof(desc));
	std::string err = check_job(b, j, &cycles);
	const tb_shape &sh = *tb_job_shape(j);
	uint64_t macs = (uint64_t)sh.m * sh.n * sh.k;

	g.cycles += cycles;
	g.macs += macs;
	if (!err.empty()) {
		g.failed++;
		printf("# FAIL seed %#" PRIx64 " %s: %s\n", seed, desc, err.c_str());
	} else {
		printf("# seed %#" PRIx64 " %s: %" PRIu64 " cycles = model, util %.1f%%\n", seed,
		       desc, cycles, 100.0 * macs / ((double)cycles * ROWS * COLS));
	}
	tb_job_free(j);
}

static void report(int n, const group &g)
{
	printf("# %s: %u jobs, %u failed, %" PRIu64 " cycles, util %.1f%%\n", g.name, g.jobs,
	       g.failed, g.cycles, g.cycles ? 100.0 * g.macs / ((double)g.cycles * ROWS * COLS) : 0);
	printf("%sok %d %s\n", g.failed ? "not " : "", n, g.name);
	fflush(stdout);
}

/*
 * ViT shapes (M x N x K): DeiT-S@224 attention of one head (QK^T, AV), the projection and both
 * MLP layers, DeiT at 112 px, the shipped model's shapes, a classifier row, one tile.
 */
static const tb_shape vit_shapes[] = {
	{ 197, 197, 64 }, { 197, 64, 197 }, { 197, 384, 384 }, { 197, 1536, 384 },
	{ 197, 384, 1536 },
	{ 50, 96, 96 }, { 50, 384, 96 }, { 17, 128, 128 }, { 1, 10, 128 }, { 16, 16, 16 },
};

/* A 3-tile job of @seed; false if it could not be built. */
static bool run_fixed(bench &b, uint64_t seed, uint64_t starve, job_result &r)
{
	tb_shape sh = { 3 * ROWS, COLS, 2 * ROWS };
	tb_job *j = tb_job_new(ROWS, COLS, seed, &sh, MAX_M, MAX_N);

	if (!j)
		return false;
	run_job(b, j, r, starve);
	tb_job_free(j);
	return true;
}

/* A stream that is empty when the core takes a row must raise underrun, until next start. */
static void underrun_test(bench &b, int n, uint64_t seed)
{
	job_result starved, clean;
	bool built = run_fixed(b, seed, ROWS + 5, starved) &&	/* inside the first A slot */
		     run_fixed(b, seed, UINT64_MAX, clean);
	bool ok = built && starved.underrun && !clean.underrun;

	if (!ok)
		printf("# underrun %s\n", !built ? "job not built" : !starved.underrun ?
		       "not flagged" : "still set on the next job");
	printf("%sok %d underrun: an empty A stream is flagged\n", ok ? "" : "not ", n);
}

int main(int argc, char **argv)
{
	uint64_t seed = 0x5eed;
	unsigned njobs = 3000, per_group = 500;
	int opt, n = 0;

	while ((opt = getopt(argc, argv, "s:n:")) != -1) {
		if (opt == 's')
			seed = strtoull(optarg, nullptr, 0);
		else if (opt == 'n')
			njobs = (unsigned)strtoul(optarg, nullptr, 0);
		else
			return fprintf(stderr, "usage: %s [-s SEED] [-n JOBS]\n", argv[0]), 2;
	}
	unsigned ngroups = (njobs + per_group - 1) / per_group;
	auto t0 = std::chrono::steady_clock::now();
	bench b;
	std::vector<group> groups;

	printf("TAP version 13\n1..%u\n", ngroups + 2);
	printf("# vitsa_top %ux%u, base seed %#" PRIx64 "\n", ROWS, COLS, seed);
	b.reset();

	group vit = { "vit shapes, every one with random types and modes" };
	for (unsigned i = 0; i < sizeof(vit_shapes) / sizeof(vit_shapes[0]); i++)
		job(b, vit, seed ^ (0xabcdull << 32) ^ i, &vit_shapes[i]);
	report(++n, vit);
	groups.push_back(vit);

	for (unsigned gi = 0; gi < ngroups; gi++) {
		unsigned lo = gi * per_group, hi = std::min(njobs, lo + per_group);
		std::string name = "random jobs " + std::to_string(lo + 1) + ".." + std::to_string(hi);
		group g = { name.c_str() };

		for (unsigned i = lo; i < hi; i++)
			job(b, g, seed + 0x100000001ull * (i + 1), nullptr);
		report(++n, g);
		g.name = "";
		groups.push_back(g);
	}

	underrun_test(b, ++n, seed);

	unsigned jobs = 0, failed = 0;
	uint64_t cyc = 0;
	for (const group &g : groups)
		jobs += g.jobs, failed += g.failed, cyc += g.cycles;
	double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
	printf("# %u jobs, %u bit-exact and cycle-exact, %u failed; %" PRIu64 " job cycles, %"
	       PRIu64 " simulated in %.1f s\n", jobs, jobs - failed, failed, cyc, b.sim_cycles, s);
	return failed ? 1 : 0;
}
