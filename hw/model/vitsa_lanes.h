/* SPDX-License-Identifier: MIT */
/*
 * vitsa functional model: what a descriptor touches, and a list's entries cut into lanes that
 * touch nothing another lane writes.  A host with several threads may run the lanes at once
 * and get, bit for bit, what running the list in order gives: a batch's list holds each
 * image's chain of jobs, which share only the weights they read.
 */
#ifndef VITSA_LANES_H
#define VITSA_LANES_H
#include <stdbool.h>
#include <stdint.h>

#include "../include/vitsa_hw.h"

/* A byte range [first, last]; empty when first > last. */
struct vitsa_span {
	uint64_t first, last;
};

/* The inputs a descriptor touches: a vector op's in0 and in1 are A's and B's. */
enum { VITSA_TOUCH_A, VITSA_TOUCH_B, VITSA_TOUCH_BIAS, VITSA_TOUCH_RQ, VITSA_TOUCH_IN };

#define VITSA_LANES_MAX	16	/* lanes of one plan at most */

/* The bytes a descriptor reads and writes. */
struct vitsa_touch {
	struct vitsa_span in[VITSA_TOUCH_IN];
	struct vitsa_span out;
};

/*
 * What GEMM or vector descriptor @d touches, in *@t; false (and nothing touched) when @d fails
 * its checks, which it does before touching memory.
 */
bool vitsa_touch_of(const struct vitsa_hw_desc *d, struct vitsa_touch *t);

/* @a and @b share a byte. */
bool vitsa_span_meet(struct vitsa_span a, struct vitsa_span b);

/*
 * Cut the entries @d[0..n) into at most @max (<= VITSA_LANES_MAX) lanes: entries of
 * different lanes never share a byte one of them writes.  Lane l is order[first[l] ..
 * first[l + 1]), in list order; lanes are balanced by work (MACs, vector elements).
 * written[i] gets bit s when in[s] of entry i meets what some entry writes (a B operand so
 * marked is an activation, not weights).  Returns the lanes (1 when the entries form one
 * set), or 0 when an entry fails its checks or is not a GEMM or vector op, or without memory:
 * the list then runs in order.  @order: n, @first: max + 1, @written: n.
 */
uint32_t vitsa_lanes_plan(const struct vitsa_hw_desc *d, uint32_t n, uint32_t max,
			  uint32_t *order, uint32_t *first, uint8_t *written);

/* Every shift of the @n requant words at @raw is in range (else a GEMM fails with RQ). */
bool vitsa_rq_ok(const uint8_t *raw, uint32_t n);

#endif /* VITSA_LANES_H */
