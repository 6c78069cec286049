/* SPDX-License-Identifier: MIT */
/*
 * libvitrt: a job as the device's descriptor.  The one place a struct vitrt_job becomes a
 * struct vitsa_hw_desc: the sim backend runs these, the job checks run the device's own checks
 * on them, the modeled-cycle count reads them, and vitrt gemm hands them to the reference.
 */
#ifndef VITRT_DESC_H
#define VITRT_DESC_H

#include <stdint.h>

#include "vitrt.h"

struct vitsa_hw_desc;

/*
 * @j as the descriptor the device would run, with @seq.  An operand's address is its buffer's
 * mapping plus its offset (distinct buffers never share an address, as the OVERLAP check
 * needs); an operand without a buffer is at its offset alone, so a job whose operands name
 * offsets into one flat image becomes a descriptor over that image.
 */
void vitrt_job_desc(struct vitsa_hw_desc *d, const struct vitrt_job *j, uint64_t seq);

#endif /* VITRT_DESC_H */
