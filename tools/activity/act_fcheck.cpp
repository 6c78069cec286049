// SPDX-License-Identifier: MIT
/*
 * act_fcheck: the baseline PE's fp16 multiplier and fp32/fp16 adders (Verilated act_fcheck)
 * against the host's IEEE arithmetic, bit for bit, on seeded random operands.
 *
 * The reference rounds once: a fp16 product is exact in float and a sum of two fp16 values is
 * exact in double, so (_Float16)(float product) and (_Float16)(double sum) are the correctly
 * rounded results; float + float is the fp32 reference.  Results the RTL flushes (below the
 * smallest normal) are expected as +0; operands stay clear of overflow, which the RTL
 * saturates instead of producing inf.
 *
 *   act_fcheck [-n COUNT] [-s SEED]     KTAP on stdout, one result per unit
 */
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unistd.h>

#include "Vact_fcheck.h"
#include "verilated.h"

static uint64_t rng_state;

static uint32_t rnd(void)
{
	/* xorshift64*: seeded, reproducible, no libc state */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 2685821657736338717ull) >> 32);
}

static uint16_t h_bits(_Float16 h) { uint16_t u; memcpy(&u, &h, 2); return u; }
static _Float16 h_val(uint16_t u) { _Float16 h; memcpy(&h, &u, 2); return h; }
static uint32_t f_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static float f_val(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

/* A normal fp16 with biased exponent in [lo, hi] (or +-0 one time in 32). */
static uint16_t rnd_h(unsigned lo, unsigned hi)
{
	if (rnd() % 32 == 0)
		return (uint16_t)(rnd() & 0x8000);
	return (uint16_t)((rnd() & 0x8000) | (lo + rnd() % (hi - lo + 1)) << 10 | (rnd() & 0x3ff));
}

/* y near x in magnitude (cancellation, ties) or far from it (alignment, sticky bits). */
static uint32_t rnd_partner(uint32_t x, unsigned mw, unsigned ew_max)
{
	uint32_t sign = 1u << (mw + (ew_max == 255 ? 8 : 5));

	switch (rnd() % 4) {
	case 0: return x ^ sign;				/* exact cancellation */
	case 1: return (x ^ (rnd() & sign)) + (rnd() % 5) - 2;	/* nearly equal */
	case 2: return (x ^ (rnd() & sign)) - ((rnd() % (mw + 6)) << mw); /* exponent gap */
	default: return 0;					/* filled in by the caller */
	}
}

static float flush32(float r) { return std::fabs(r) < 0x1p-126f ? 0.0f : r; }
static _Float16 flush16(_Float16 r) { return std::fabs((float)r) < 0x1p-14f ? (_Float16)0 : r; }

struct fails { unsigned p32, p16, s32, s16; };

static void one(Vact_fcheck *m, struct fails *f, unsigned i)
{
	uint16_t a = rnd_h(9, 21), b = rnd_h(9, 21);	/* products in [2^-12, 2^14) */
	uint32_t x32 = (rnd() & 0x80000000u) | (64 + rnd() % 128) << 23 | (rnd() & 0x7fffff);
	uint32_t y32 = rnd_partner(x32, 23, 255);
	uint16_t x16 = rnd_h(2, 28), y16 = (uint16_t)rnd_partner(x16, 10, 31);

	if (!y32)
		y32 = (rnd() & 0x80000000u) | (64 + rnd() % 128) << 23 | (rnd() & 0x7fffff);
	if (!y16)
		y16 = rnd_h(2, 28);
	if (((y16 >> 10) & 31) == 31 || ((y16 >> 10) & 31) == 0)
		y16 = x16;	/* the partner left the normal range: use x itself */
	m->a = a; m->b = b; m->x32 = x32; m->y32 = y32; m->x16 = x16; m->y16 = y16;
	m->eval();
	float pa = (float)h_val(a), pb = (float)h_val(b);
	uint32_t e_p32 = f_bits(pa * pb);
	uint16_t e_p16 = h_bits(flush16((_Float16)(pa * pb)));
	uint32_t e_s32 = f_bits(flush32(f_val(x32) + f_val(y32)) + 0.0f);
	uint16_t e_s16 = h_bits(flush16((_Float16)((double)h_val(x16) + (double)h_val(y16))));

	if (e_p32 == 0x80000000u) e_p32 = 0;	/* the RTL's zero is +0 */
	if (e_p16 == 0x8000) e_p16 = 0;
	if (e_s16 == 0x8000) e_s16 = 0;
	if (e_s32 == 0x80000000u) e_s32 = 0;
	f->p32 += m->p32 != e_p32;
	f->p16 += m->p16 != e_p16;
	f->s32 += m->s32 != e_s32;
	f->s16 += m->s16 != e_s16;
	if ((m->p32 != e_p32 || m->p16 != e_p16 || m->s32 != e_s32 || m->s16 != e_s16) &&
	    f->p32 + f->p16 + f->s32 + f->s16 <= 5)
		printf("# case %u: a %04x b %04x p32 %08x/%08x p16 %04x/%04x | x %08x y %08x "
		       "s32 %08x/%08x | x %04x y %04x s16 %04x/%04x (rtl/ref)\n", i, a, b, m->p32,
		       e_p32, m->p16, e_p16, x32, y32, m->s32, e_s32, x16, y16, m->s16, e_s16);
}

int main(int argc, char **argv)
{
	unsigned long count = 1000000;
	uint64_t seed = 0xf16;
	int c;

	while ((c = getopt(argc, argv, "n:s:")) != -1) {
		if (c == 'n')
			count = strtoul(optarg, NULL, 0);
		else if (c == 's')
			seed = strtoull(optarg, NULL, 0);
		else
			return fprintf(stderr, "usage: act_fcheck [-n COUNT] [-s SEED]\n"), 2;
	}
	rng_state = seed | 1;
	Vact_fcheck *m = new Vact_fcheck;
	struct fails f = { 0, 0, 0, 0 };

	for (unsigned long i = 0; i < count; i++)
		one(m, &f, (unsigned)i);
	printf("KTAP version 1\n1..4\n");
	printf("%s 1 fmul fp16 x fp16 -> fp32 (%lu cases, %u differ)\n", f.p32 ? "not ok" : "ok", count, f.p32);
	printf("%s 2 fmul fp16 x fp16 -> fp16 (%lu cases, %u differ)\n", f.p16 ? "not ok" : "ok", count, f.p16);
	printf("%s 3 fadd fp32 + fp32 (%lu cases, %u differ)\n", f.s32 ? "not ok" : "ok", count, f.s32);
	printf("%s 4 fadd fp16 + fp16 (%lu cases, %u differ)\n", f.s16 ? "not ok" : "ok", count, f.s16);
	delete m;
	return f.p32 || f.p16 || f.s32 || f.s16;
}
