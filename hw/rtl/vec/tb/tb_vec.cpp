// SPDX-License-Identifier: MIT
/*
 * Vector datapath testbench: drives the Verilated vitsa_vec_tbtop (every vector datapath of
 * hw/rtl/vec/) and checks each against the C model (hw/model/vitsa_iops.c), bit for bit:
 *   - vitsa_vec_sqrt against vitsa_isqrt64_ref, and its cycles (edges after the start edge up
 *     to the one that raises done) == VITSA_VEC_SQRT_LATENCY;
 *   - vitsa_vec_div against C's unsigned division, cycles == VITSA_VEC_DIV_LATENCY;
 *   - vitsa_vec_exp against vitsa_shift_exp_ref, for compiled and raw valid parameters;
 *   - whole Shiftmax rows (exp, divide, normalize in the RTL; max and sum in C) against
 *     vitsa_shiftmax_ref, and the u16 normalize against vitsa_shiftmax16_ref;
 *   - whole I-LayerNorm rows (sqrt and divide in the RTL) against vitsa_layernorm_ref;
 *   - vitsa_vec_gelu against vitsa_gelu_sigmoid_ref and vitsa_gelu_ref, every s8 input, as
 *     a stream (with bubbles, parameters changing per element), each element out exactly
 *     its latency after it went in, none lost or invented.
 * Edge values (0, 1, 2^k - 1, 2^k, 2^k + 1, the maxima) first, then seeded random ones.
 * KTAP on stdout; exit status 1 on any failure.
 *
 *   vitsa_vec_tb [-s SEED] [-n SCALE]      defaults 0x5eed, 1 (random counts times SCALE)
 */
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <vector>

#include <unistd.h>

#include "Vvitsa_vec_tbtop.h"
#include "verilated.h"

extern "C" {
#include "vitsa_iops.h"

/* tb_vec_model.c: VITSA_VEC_SQRT_LATENCY and VITSA_VEC_DIV_LATENCY of vitsa_timing.h */
extern const unsigned tb_vec_sqrt_latency, tb_vec_div_latency;
}

namespace {

uint64_t rng_state;

uint64_t rnd()		/* splitmix64 */
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, n) for n >= 1 (the bias of % is irrelevant here). */
uint64_t below(uint64_t n)
{
	return rnd() % n;
}

/* A random value of a random bit width 0..bits: small values as often as large ones. */
uint64_t rnd_bits(unsigned bits)
{
	unsigned w = (unsigned)below(bits + 1);

	return w ? rnd() >> (64 - w) : 0;
}

struct bench {
	std::unique_ptr<VerilatedContext> ctx;
	std::unique_ptr<Vvitsa_vec_tbtop> top;

	bench() : ctx(new VerilatedContext), top(new Vvitsa_vec_tbtop(ctx.get())) {}

	void tick()
	{
		top->clk = 0;
		top->eval();
		top->clk = 1;
		top->eval();
	}

	void reset()
	{
		top->rst = 1;
		top->sq_start = 0;
		top->dv_start = 0;
		top->ge_in_valid = 0;
		tick();
		tick();
		top->rst = 0;
	}

	/* floor(sqrt(v)) by the RTL; *cycles the edges after the start edge up to done. */
	uint32_t sqrt(uint64_t v, unsigned *cycles)
	{
		unsigned c = 0;

		top->sq_v = v;
		top->sq_start = 1;
		tick();
		top->sq_start = 0;
		top->sq_v = ~v;		/* sampled once: later values must not matter */
		while (!top->sq_done && c < 1000) {
			tick();
			c++;
		}
		*cycles = c;
		return top->sq_root;
	}

	uint32_t div(uint32_t num, uint32_t den, unsigned *cycles)
	{
		unsigned c = 0;

		top->dv_num = num;
		top->dv_den = den;
		top->dv_start = 1;
		tick();
		top->dv_start = 0;
		top->dv_num = ~num;
		top->dv_den = ~den;
		while (!top->dv_done && c < 1000) {
			tick();
			c++;
		}
		*cycles = c;
		return top->dv_quo;
	}

	void exp_params(int32_t x0, uint32_t n, uint32_t k, uint32_t j)
	{
		top->ex_x0 = (uint32_t)x0;
		top->ex_n = n;
		top->ex_k = k;
		top->ex_j = j;
	}

	uint32_t exp(int32_t d)
	{
		top->ex_d = (uint32_t)d;
		top->eval();
		return top->ex_e;
	}
};

/* One KTAP test: counts checks, reports the first few mismatches as diagnostics. */
struct test {
	const char *name;
	uint64_t checks = 0, fails = 0;

	explicit test(const char *n) : name(n) {}

	bool expect(bool ok, const char *what, uint64_t got, uint64_t want)
	{
		checks++;
		if (!ok && fails++ < 5)
			printf("# %s: %s: got %" PRIu64 " (0x%" PRIx64 "), want %" PRIu64
			       " (0x%" PRIx64 ")\n", name, what, got, got, want, want);
		return ok;
	}
};

int ntests, nfailed;

void report(const test &t)
{
	ntests++;
	if (t.fails)
		nfailed++;
	printf("# %" PRIu64 " checks, %" PRIu64 " failed\n", t.checks, t.fails);
	printf("%sok %d %s\n", t.fails ? "not " : "", ntests, t.name);
}

/* 0, 1, and 2^k - 1, 2^k, 2^k + 1 for every k < bits, and the all-ones value. */
std::vector<uint64_t> edges(unsigned bits)
{
	std::vector<uint64_t> v = { 0, 1 };
	uint64_t all = bits == 64 ? ~0ull : (1ull << bits) - 1;

	for (unsigned k = 1; k < bits; k++) {
		uint64_t p = 1ull << k;

		v.push_back(p - 1);
		v.push_back(p);
		v.push_back(p + 1);
	}
	v.push_back(all - 1);
	v.push_back(all);
	return v;
}

void check_sqrt(test &t, bench &b, uint64_t v)
{
	unsigned c;
	uint32_t r = b.sqrt(v, &c);

	t.expect(r == vitsa_isqrt64_ref(v), "root", r, vitsa_isqrt64_ref(v));
	t.expect(c == tb_vec_sqrt_latency, "cycles", c, tb_vec_sqrt_latency);
}

void test_sqrt(bench &b, unsigned scale)
{
	test te("sqrt: edge values, squares and their neighbours, root and cycles");
	test tr("sqrt: random radicands, root and cycles");
	test tb("sqrt: a start while busy is ignored");

	for (uint64_t v : edges(64))
		check_sqrt(te, b, v);
	for (uint64_t r : edges(32))	/* r^2 - 1, r^2, r^2 + 1: the compare's boundary */
		for (int dlt = -1; dlt <= 1; dlt++)
			check_sqrt(te, b, r * r + (uint64_t)(int64_t)dlt);
	for (unsigned i = 0; i < 50000 * scale; i++)
		check_sqrt(tr, b, i % 2 ? rnd() : rnd_bits(64));

	for (unsigned i = 0; i < 100; i++) {
		uint64_t v = rnd(), other = rnd();
		unsigned c = 0;

		b.top->sq_v = v;
		b.top->sq_start = 1;
		b.tick();
		b.top->sq_v = other;	/* start held high while busy, a new operand on the port */
		while (!b.top->sq_done && c < 1000) {
			b.tick();
			c++;
		}
		b.top->sq_start = 0;
		tb.expect(b.top->sq_root == vitsa_isqrt64_ref(v), "root", b.top->sq_root,
			  vitsa_isqrt64_ref(v));
		tb.expect(c == tb_vec_sqrt_latency, "cycles", c, tb_vec_sqrt_latency);
		b.tick();
		tb.expect(!b.top->sq_done && !b.top->sq_busy, "idle after done", b.top->sq_busy, 0);
	}
	report(te);
	report(tr);
	report(tb);
}

void check_div(test &t, bench &b, uint32_t num, uint32_t den)
{
	unsigned c;
	uint32_t q = b.div(num, den, &c);

	t.expect(q == num / den, "quotient", q, num / den);
	t.expect(c == tb_vec_div_latency, "cycles", c, tb_vec_div_latency);
}

void test_div(bench &b, unsigned scale)
{
	test t("div: edge and random operands, quotient and cycles");
	test tb("div: a start while busy is ignored; a zero divisor gives all ones");
	std::vector<uint64_t> e = edges(32);
	unsigned c;

	for (uint64_t n : e)
		for (uint64_t d : e)
			if (d)
				check_div(t, b, (uint32_t)n, (uint32_t)d);
	for (unsigned i = 0; i < 20000 * scale; i++) {
		uint32_t d = (uint32_t)rnd_bits(32);

		check_div(t, b, i % 2 ? INT32_MAX : (uint32_t)rnd_bits(32), d ? d : 1);
	}
	for (uint64_t n : e) {
		uint32_t q = b.div((uint32_t)n, 0, &c);

		tb.expect(q == 0xffffffffu, "quotient by 0", q, 0xffffffffu);
		tb.expect(c == tb_vec_div_latency, "cycles", c, tb_vec_div_latency);
	}
	for (unsigned i = 0; i < 100; i++) {
		uint32_t num = (uint32_t)rnd(), den = (uint32_t)rnd() | 1;

		c = 0;
		b.top->dv_num = num;
		b.top->dv_den = den;
		b.top->dv_start = 1;
		b.tick();
		b.top->dv_num = ~num;	/* start held high while busy, new operands on the port */
		b.top->dv_den = ~den | 1;
		while (!b.top->dv_done && c < 1000) {
			b.tick();
			c++;
		}
		b.top->dv_start = 0;
		tb.expect(b.top->dv_quo == num / den, "quotient", b.top->dv_quo, num / den);
		tb.expect(c == tb_vec_div_latency, "cycles", c, tb_vec_div_latency);
		b.tick();
		tb.expect(!b.top->dv_done && !b.top->dv_busy, "idle after done", b.top->dv_busy, 0);
	}
	report(t);
	report(tb);
}

/* Random valid shift-exponential parameters: compiled from a scale, or raw. */
struct expp {
	int32_t x0;
	uint32_t n, k, j;
};

expp rnd_scale_params(bool gelu)
{
	for (;;) {
		double s = std::pow(10.0, -5.5 + 6.5 * (double)below(1u << 20) / (1u << 20));

		if (gelu) {
			struct vitsa_gelu g;

			if (!vitsa_gelu_params(&g, s))
				return { g.x0, g.n, g.k, g.j };
		} else {
			struct vitsa_shiftmax p;

			if (!vitsa_shiftmax_params(&p, s, 1 + (uint32_t)below(VITSA_SHIFTMAX_MAX_LEN)))
				return { p.x0, p.n, p.k, p.j };
		}
	}
}

/* x0, n, j anywhere in range; k the smallest that keeps E <= cap, plus 0..3. */
expp rnd_raw_params(uint64_t cap)
{
	for (;;) {
		expp p;
		uint64_t u = 1 + rnd_bits(20);

		p.x0 = -(int32_t)(u > (1u << 20) ? 1u << 20 : u);
		p.n = 1 + (uint32_t)below(30);
		p.j = (uint32_t)below(VITSA_EXP_MAX_J + 1);
		for (p.k = 0; ((uint64_t)-(int64_t)p.x0 << p.n) >> p.k > cap; p.k++)
			;
		p.k += (uint32_t)below(4);
		struct vitsa_gelu g = { p.x0, p.n, p.k, p.j };
		struct vitsa_shiftmax s = { p.x0, p.n, p.k, 1, p.j };

		if (cap == VITSA_GELU_EXP_MAX ? !vitsa_gelu_check(&g) : !vitsa_shiftmax_check(&s))
			return p;
	}
}

void check_exp(test &t, bench &b, const expp &p, int32_t d)
{
	uint32_t got = b.exp(d), want = vitsa_shift_exp_ref(d, p.x0, p.n, p.k, p.j);

	if (!t.expect(got == want, "e", got, want) && t.fails <= 5)
		printf("#   d %d x0 %d n %u k %u j %u\n", d, p.x0, p.n, p.k, p.j);
}

void test_exp(bench &b, unsigned scale)
{
	test te("exp: edge arguments under compiled and raw parameters");
	test tr("exp: every s8 difference and random arguments, random parameters");

	for (unsigned i = 0; i < 500 * scale; i++) {
		expp p = i % 4 == 0 ? rnd_scale_params(false) : i % 4 == 1 ? rnd_scale_params(true) :
			 rnd_raw_params(i % 4 == 2 ? VITSA_SHIFTMAX_EXP_MAX : VITSA_GELU_EXP_MAX);

		b.exp_params(p.x0, p.n, p.k, p.j);
		for (uint64_t m : edges(31))
			check_exp(te, b, p, (int32_t)-(int64_t)m);
		check_exp(te, b, p, INT32_MIN);
		for (int32_t d = -255; d <= 0; d++)
			check_exp(tr, b, p, d);
		for (unsigned r = 0; r < 200; r++)
			check_exp(tr, b, p, (int32_t)-(int64_t)rnd_bits(31));
	}
	report(te);
	report(tr);
}

/* A random s8 row: values in a random window, so some rows are flat and some spread. */
void rnd_row(std::vector<int8_t> &x)
{
	int lo = -128 + (int)below(256), hi = lo + (int)below((uint64_t)(128 - lo));

	for (int8_t &v : x)
		v = (int8_t)(lo + (int)below((uint64_t)(hi - lo + 1)));
}

void test_shiftmax(bench &b, unsigned scale)
{
	test t8("shiftmax: u8 rows by exp, div, norm against vitsa_shiftmax_ref");
	test t16("shiftmax16: u16 rows by exp, norm against vitsa_shiftmax16_ref");

	for (unsigned i = 0; i < 1000 * scale; i++) {
		double s = std::pow(10.0, -3.0 + 3.0 * (double)below(1u << 20) / (1u << 20));
		uint32_t max_len = 1 + (uint32_t)(i % 3 ? below(400) : below(VITSA_SHIFTMAX_MAX_LEN));
		uint32_t len = 1 + (uint32_t)below(max_len);
		struct vitsa_shiftmax p;

		if (vitsa_shiftmax_params(&p, s, max_len))
			continue;
		std::vector<int8_t> x(len);
		std::vector<uint8_t> want8(len), want16(2 * len);
		std::vector<uint32_t> e(len);

		rnd_row(x);
		vitsa_shiftmax_ref(want8.data(), len, x.data(), len, 1, len, &p);
		vitsa_shiftmax16_ref(want16.data(), 2 * len, len, x.data(), 2 * len, 1, len, &p);

		int32_t m = x[0];
		uint64_t sum = 0;
		unsigned c;

		for (int8_t v : x)
			m = v > m ? v : m;
		b.exp_params(p.x0, p.n, p.k, p.j);
		for (uint32_t k = 0; k < len; k++)
			sum += e[k] = b.exp(x[k] - m);
		uint32_t f = b.div(INT32_MAX, (uint32_t)sum, &c);
		uint64_t f16 = (1ull << VITSA_SHIFTMAX16_NUM) / sum;

		t8.expect(c == tb_vec_div_latency, "div cycles", c, tb_vec_div_latency);
		b.top->nm_f8 = f;
		b.top->nm_f16 = f16;
		for (uint32_t k = 0; k < len; k++) {
			b.top->nm_e = e[k];
			b.top->eval();
			unsigned w16 = want16[k] << 8 | want16[len + k];

			t8.expect(b.top->nm_p8 == want8[k], "p8", b.top->nm_p8, want8[k]);
			t16.expect(b.top->nm_p16 == w16, "p16", b.top->nm_p16, w16);
		}
	}
	report(t8);
	report(t16);
}

void test_layernorm(bench &b, unsigned scale)
{
	test t("layernorm: rows by sqrt, div against vitsa_layernorm_ref");

	for (unsigned i = 0; i < 500 * scale; i++) {
		uint32_t cols = i % 4 ? 1 + (uint32_t)below(1024) : 768;
		std::vector<int16_t> x(cols);
		std::vector<int32_t> want(cols);
		int lo = -32768 + (int)below(65536), hi = lo + (int)below((uint64_t)(32768 - lo));

		if (i % 16 == 0)
			hi = lo;	/* flat: std 0, output 0 */
		for (int16_t &v : x)
			v = (int16_t)(i % 16 == 1 ? (below(2) ? -32768 : 32767) :
				      lo + (int)below((uint64_t)(hi - lo + 1)));
		vitsa_layernorm_ref(want.data(), cols, x.data(), cols, 1, cols);

		int64_t sum = 0, mean;
		uint64_t var = 0;
		unsigned c;

		for (int16_t v : x)
			sum += v;
		mean = vitsa_floor_div(2 * sum + cols, 2 * (int64_t)cols);
		for (int16_t v : x)
			var += (uint64_t)((v - mean) * (v - mean));
		uint32_t sd = b.sqrt(var, &c);

		t.expect(c == tb_vec_sqrt_latency, "sqrt cycles", c, tb_vec_sqrt_latency);
		uint32_t f = 0;

		if (sd) {
			f = b.div(INT32_MAX, sd, &c);
			t.expect(c == tb_vec_div_latency, "div cycles", c, tb_vec_div_latency);
		}
		for (uint32_t k = 0; k < cols; k++) {
			int32_t y = (int32_t)vitsa_floor_div((x[k] - mean) * (int64_t)f, 2);

			t.expect(y == want[k], "out", (uint32_t)y, (uint32_t)want[k]);
		}
	}
	report(t);
}

/* vitsa_vec_gelu.v: an element sampled on one edge leaves this many edges later. */
const uint64_t gelu_latency = 32;

/* Elements in vitsa_vec_gelu's pipeline, oldest first, each with the edge that sampled it. */
struct gelu_flight {
	int8_t x;
	struct vitsa_gelu g;
	uint64_t edge;
};

struct gelu_stream {
	bench &b;
	std::deque<gelu_flight> q;
	uint64_t edge = 0;

	explicit gelu_stream(bench &bb) : b(bb) {}

	/* One edge: offer x under g if valid, check whatever leaves against the model. */
	void step(test &t, bool valid, int8_t x, const struct vitsa_gelu &g)
	{
		b.top->ge_in_valid = valid;
		b.top->ge_x = (uint8_t)x;
		b.exp_params(g.x0, g.n, g.k, g.j);
		b.tick();
		edge++;
		if (valid)
			q.push_back({ x, g, edge });
		if (!b.top->ge_out_valid)
			return;
		if (!t.expect(!q.empty(), "an element out of an empty pipeline", 1, 0))
			return;
		gelu_flight f = q.front();
		int32_t s = vitsa_gelu_sigmoid_ref(f.x, &f.g), y;

		q.pop_front();
		vitsa_gelu_ref(&y, &f.x, 1, &f.g);
		t.expect(edge - f.edge == gelu_latency, "latency", edge - f.edge, gelu_latency);
		t.expect(b.top->ge_sig == (uint32_t)s, "sigmoid", b.top->ge_sig, (uint32_t)s);
		t.expect((int32_t)b.top->ge_y == y, "y", b.top->ge_y, (uint32_t)y);
	}

	/* Idle edges until everything has left; then nothing may remain. */
	void drain(test &t, const struct vitsa_gelu &g)
	{
		for (uint64_t i = 0; i < gelu_latency + 4; i++)
			step(t, false, 0, g);
		t.expect(q.empty(), "elements lost in the pipeline", q.size(), 0);
	}
};

struct vitsa_gelu rnd_gelu(unsigned i)
{
	expp p = i % 2 ? rnd_scale_params(true) : rnd_raw_params(VITSA_GELU_EXP_MAX);

	return { p.x0, p.n, p.k, p.j };
}

void test_gelu(bench &b, unsigned scale)
{
	test t("gelu: every s8 input back to back, sigmoid and output against vitsa_gelu_ref");
	test tb("gelu: random bubbles, parameters changing per element, latency 32");
	gelu_stream st(b);
	struct vitsa_gelu g = rnd_gelu(0), pool[16];

	for (unsigned i = 0; i < 300 * scale; i++) {
		g = rnd_gelu(i);
		for (int v = -128; v < 128; v++)
			st.step(t, true, (int8_t)v, g);
	}
	st.drain(t, g);
	for (struct vitsa_gelu &pg : pool)
		pg = rnd_gelu((unsigned)below(2));
	for (unsigned i = 0; i < 20000 * scale; i++)
		st.step(tb, below(2), (int8_t)rnd(), pool[below(16)]);
	st.drain(tb, g);
	report(t);
	report(tb);
}

}	/* namespace */

int main(int argc, char **argv)
{
	uint64_t seed = 0x5eed;
	unsigned scale = 1;
	int opt;

	while ((opt = getopt(argc, argv, "s:n:")) != -1) {
		if (opt == 's')
			seed = strtoull(optarg, nullptr, 0);
		else if (opt == 'n')
			scale = (unsigned)strtoul(optarg, nullptr, 0);
		else {
			fprintf(stderr, "usage: %s [-s SEED] [-n SCALE]\n", argv[0]);
			return 2;
		}
	}
	rng_state = seed;

	auto t0 = std::chrono::steady_clock::now();
	bench b;

	printf("TAP version 13\n1..12\n# seed 0x%" PRIx64 ", scale %u\n", seed, scale);
	b.reset();
	test_sqrt(b, scale);
	test_div(b, scale);
	test_exp(b, scale);
	test_shiftmax(b, scale);
	test_layernorm(b, scale);
	test_gelu(b, scale);
	printf("# %d of %d failed, %.2f s\n", nfailed, ntests,
	       std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
	return nfailed ? 1 : 0;
}
