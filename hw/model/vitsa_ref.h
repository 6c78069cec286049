/* SPDX-License-Identifier: MIT */
/*
 * vitsa reference GEMM: the arithmetic of Documentation/hw/vitsa.rst as a plain loop over one
 * flat memory image.  It is the specification the model (vitsa_gemm.c), the QEMU device, the
 * RTL and every backend are tested against, so it is written for obviousness, not speed.
 */
#ifndef VITSA_REF_H
#define VITSA_REF_H

#include <stddef.h>
#include <stdint.h>

#include "../include/vitsa_hw.h"

/*
 * Execute @d on @mem, where descriptor addresses are byte offsets into @mem (@size bytes).
 * Returns the descriptor check's VITSA_ERR_*, VITSA_ERR_RQ, or VITSA_ERR_DMA_READ/WRITE when an
 * operand lies outside @mem; C is written only when the result is VITSA_ERR_OK.
 */
uint32_t vitsa_ref_gemm(const struct vitsa_hw_desc *d, uint8_t *mem, size_t size);

/* floor((x + 2^(s-1)) / 2^s), or x for s = 0, without relying on >> of negative values. */
int64_t vitsa_ref_rshift_round(int64_t x, uint32_t s);

#endif /* VITSA_REF_H */
