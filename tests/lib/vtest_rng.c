// SPDX-License-Identifier: MIT
/* vitsa test support: the PRNG (vtest.h). */
#include "vtest.h"

/* splitmix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number generators"). */
uint64_t vtest_rng_u64(struct vtest_rng *r)
{
	uint64_t z = (r->state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint32_t vtest_rng_in(struct vtest_rng *r, uint32_t lo, uint32_t hi)
{
	return lo + (uint32_t)(vtest_rng_u64(r) % ((uint64_t)hi - lo + 1));
}

int64_t vtest_rng_range(struct vtest_rng *r, int64_t lo, int64_t hi)
{
	uint64_t span = (uint64_t)hi - (uint64_t)lo + 1;

	/* span 0: the whole 64-bit range */
	return (int64_t)((uint64_t)lo + (span ? vtest_rng_u64(r) % span : vtest_rng_u64(r)));
}

double vtest_rng_unit(struct vtest_rng *r)
{
	return (double)(vtest_rng_u64(r) >> 11) * 0x1p-53;
}

uint32_t vtest_rng_dim(struct vtest_rng *r, uint32_t max)
{
	uint32_t bits = 0, lo, hi;

	while ((2ull << bits) <= max)
		bits++;
	lo = 1u << vtest_rng_in(r, 0, bits);
	hi = 2 * (uint64_t)lo - 1 < max ? 2 * lo - 1 : max;
	return vtest_rng_in(r, lo, hi);
}

void vtest_rng_fill(struct vtest_rng *r, void *p, size_t n)
{
	uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(vtest_rng_u64(r) >> 56);
}
