/* SPDX-License-Identifier: MIT */
/*
 * One GEMM descriptor as the model runs it (vitsa_gemm.c), in steps, so that vitsa_group.c
 * can run the tasks of several independent jobs in one parallel region: prepare (check, read
 * the tables, plan), the pack phase's tasks, the compute phase's tasks, finish.
 */
#ifndef VITSA_GEMM_H
#define VITSA_GEMM_H

#include "vitsa_model.h"

struct vitsa_gemm;

/*
 * Check @d, read its bias and requant tables and plan its tasks.  NULL (with *status) when
 * the check failed or memory ran out; otherwise a job to finish, with *status non-zero if
 * reading its tables failed (then it has no tasks to run).
 */
struct vitsa_gemm *vitsa_gemm_prepare(const struct vitsa_hw_desc *d,
				      const struct vitsa_mem_ops *ops, void *opaque,
				      uint32_t *status);
/* Multiply-accumulates of the job; whether that many are worth a parallel region. */
uint64_t vitsa_gemm_macs(const struct vitsa_gemm *g);
bool vitsa_gemm_parallel_worth(uint64_t macs);
/* Tasks of the pack phase (B packed once for every row group; often none), or compute. */
uint32_t vitsa_gemm_tasks(const struct vitsa_gemm *g, bool pack);
/* Task @t of a phase: any order and any thread, every pack task before any compute task. */
void vitsa_gemm_task(struct vitsa_gemm *g, bool pack, uint32_t t);
/*
 * Whether the compute phase may instead go by rows (B is packed once for all of them and the
 * job is worth threads), and rows [lo, hi) of every column: the rows of the phase's tasks,
 * in ranges that cover all M rows once, any thread each.
 */
bool vitsa_gemm_by_rows(const struct vitsa_gemm *g);
void vitsa_gemm_rows(struct vitsa_gemm *g, uint32_t lo, uint32_t hi);
/* The job's status (@status if set, else its tasks' first failure) and @st; frees @g. */
uint32_t vitsa_gemm_finish(struct vitsa_gemm *g, uint32_t status,
			   const struct vitsa_model_cfg *cfg, struct vitsa_job_stats *st);

#endif /* VITSA_GEMM_H */
