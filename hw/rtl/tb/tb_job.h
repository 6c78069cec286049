/* SPDX-License-Identifier: MIT */
/*
 * RTL testbench, C side: one GEMM job as the device would get it (descriptor plus operands in
 * a flat memory image), its expected result from the C model (vitsa_model_exec), and the
 * store of the RTL's results into a second image that is compared byte for byte.
 *
 * Plain C so the model headers stay C; the Verilator driver (tb_main.cpp) sees only this.
 */
#ifndef TB_JOB_H
#define TB_JOB_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct tb_job;

/* A job's shape and modes; any field may be chosen by tb_job_new() (see tb_job.c). */
struct tb_shape {
	uint32_t m, n, k;
	uint32_t a_type, b_type, c_type;	/* VITSA_DTYPE_* */
	int b_trans, bias, requant;
	int32_t c_zero;
};

/* Random job for a rows x cols array from @seed; @fix, if not NULL, fixes the shape (m, n, k
 * non-zero) while types, flags and data stay random.  NULL when memory runs out. */
struct tb_job *tb_job_new(uint32_t rows, uint32_t cols, uint64_t seed, const struct tb_shape *fix,
			  uint32_t max_m, uint32_t max_n);
void tb_job_free(struct tb_job *j);

const struct tb_shape *tb_job_shape(const struct tb_job *j);
uint64_t tb_job_model_cycles(const struct tb_job *j);	/* vitsa_model_cycles() */

/* Element codes as the DMA delivers them: the byte, or the nibble of an int4 element. */
uint8_t tb_job_a(const struct tb_job *j, uint32_t m, uint32_t k);
uint8_t tb_job_b(const struct tb_job *j, uint32_t k, uint32_t n);
void tb_job_table(const struct tb_job *j, uint32_t n, int32_t *bias, int32_t *mult,
		  uint32_t *shift);

/* Record the RTL's result for C[m][n]; returns -1 (and remembers it) for an index outside
 * the matrix or a second result for the same element. */
int tb_job_store(struct tb_job *j, uint32_t m, uint32_t n, int32_t y);

/* Pack the recorded results as the device's store unit would and compare the whole memory
 * image with the model's; 0 when equal, else -1 with a description in @msg. */
int tb_job_check(struct tb_job *j, char *msg, size_t len);

/* One line naming the job: shape, types, flags. */
void tb_job_describe(const struct tb_job *j, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* TB_JOB_H */
