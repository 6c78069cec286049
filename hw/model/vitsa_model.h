/* SPDX-License-Identifier: MIT */
/*
 * vitsa functional and cycle model: executes one GEMM descriptor bit-exactly.
 *
 * Plain C99 with no QEMU or kernel dependency.  Host memory is reached only through
 * struct vitsa_mem_ops, so the QEMU device (pci_dma_read/write) and the in-process backend
 * (plain pointers) run this same code.  Nothing here aborts on bad input: every descriptor
 * field is checked and reported as a VITSA_ERR_* status.
 */
#ifndef VITSA_MODEL_H
#define VITSA_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../include/vitsa_hw.h"

#define VITSA_MODEL_MAX_DIM	32768u	/* largest M, N, K (the MAX_DIM register) */
#define VITSA_MODEL_ROW_ALIGN	8u	/* rows of a job split over threads: at multiples of this */

/* The array's geometry, fixed when the device is created. */
struct vitsa_model_cfg {
	uint32_t rows;		/* PE rows: the K extent of one weight tile */
	uint32_t cols;		/* PE columns: the N extent of one weight tile */
};

/*
 * Host memory access.  read/write return 0 or -1 on a failed access (reported as
 * VITSA_ERR_DMA_READ/WRITE).  cancelled, if set, is polled between tiles; returning true
 * stops the job with VITSA_ERR_ABORTED (and vitsa_model_exec_group before each of its runs
 * of jobs: those left get VITSA_ERR_ABORTED, unrun).
 *
 * Optional services of a host that runs the model in its own address space:
 *  map       host memory for all of [addr, addr + len), readable and writable, or NULL (then
 *            read/write are used); lets the kernels read operands in place.
 *  workers   how many threads parallel runs at once.
 *  parallel  call fn(arg, t) once for every t < tasks, from any of its threads, and return
 *            when all calls have returned.  Tasks write disjoint parts of C, so read, write,
 *            map and cancelled must be safe to call from several threads at once.
 *  wcache    the cache of packed B operands (vitsa_wcache.h) if the host keeps all of
 *            [addr, last] unchanged until it drops that range from the cache, else NULL.
 *  split     like parallel, but fn(arg, lo, hi) once per thread over [0, items) cut into
 *            ranges at multiples of @align, range i always on the same thread: a job split
 *            by rows (VITSA_MODEL_ROW_ALIGN), or a run of jobs by job, leaves each row in the
 *            cache of the thread whose next step (the host's, split the same way) reads it.
 *  job       told by vitsa_model_exec_group which of its jobs (the index in the group) it
 *            prepares or runs next, before it does: a host whose wcache answers per job
 *            knows which job asks.
 */
struct vitsa_wcache;

struct vitsa_mem_ops {
	int (*read)(void *opaque, uint64_t addr, void *buf, size_t len);
	int (*write)(void *opaque, uint64_t addr, const void *buf, size_t len);
	bool (*cancelled)(void *opaque);
	void *(*map)(void *opaque, uint64_t addr, uint64_t len);
	uint32_t (*workers)(void *opaque);
	void (*parallel)(void *opaque, uint32_t tasks, void (*fn)(void *arg, uint32_t t),
			 void *arg);
	struct vitsa_wcache *(*wcache)(void *opaque, uint64_t addr, uint64_t last);
	void (*split)(void *opaque, uint32_t items, uint32_t align,
		      void (*fn)(void *arg, uint32_t lo, uint32_t hi), void *arg);
	void (*job)(void *opaque, uint32_t j);
};

/* What one job did, for the completion record and the performance counters. */
struct vitsa_job_stats {
	uint64_t macs;
	uint64_t cycles;
	uint64_t rd_bytes;
	uint64_t wr_bytes;
};

/* Check every field of @d against the spec; VITSA_ERR_OK or the first violation. */
uint32_t vitsa_desc_check(const struct vitsa_hw_desc *d);

/* Execute @d; returns VITSA_ERR_*.  On error C may be partly written; @st is always filled. */
uint32_t vitsa_model_exec(const struct vitsa_model_cfg *cfg, const struct vitsa_hw_desc *d,
			  const struct vitsa_mem_ops *ops, void *opaque,
			  struct vitsa_job_stats *st);

/*
 * Execute @count descriptors with the result of running them in order (status[i] and st[i]
 * per job, as vitsa_model_exec would give them); runs of consecutive jobs that touch nothing
 * another of them writes are executed together, their tasks in one parallel region.
 */
void vitsa_model_exec_group(const struct vitsa_model_cfg *cfg, const struct vitsa_hw_desc *d,
			    uint32_t count, const struct vitsa_mem_ops *ops, void *opaque,
			    struct vitsa_job_stats *st, uint32_t *status);

/*
 * The runs vitsa_model_exec_group makes of @count (>= 1) descriptors, for a host that runs the
 * same ones often: run r is d[ends[r - 1]] to d[ends[r] - 1] (from d[0] for r = 0); returns
 * the number of runs.  Then vitsa_model_exec_run executes one run: its @n descriptors from
 * @d, the group's job @at first (for mem_ops.job).
 */
uint32_t vitsa_model_group_runs(const struct vitsa_hw_desc *d, uint32_t count, uint32_t *ends);
void vitsa_model_exec_run(const struct vitsa_model_cfg *cfg, const struct vitsa_hw_desc *d,
			  uint32_t n, uint32_t at, const struct vitsa_mem_ops *ops, void *opaque,
			  struct vitsa_job_stats *st, uint32_t *status);

/* Modeled array cycles of an M x N x K GEMM (Documentation/hw/vitsa.rst, "Cycle model"). */
uint64_t vitsa_model_cycles(const struct vitsa_model_cfg *cfg, uint32_t m, uint32_t n,
			    uint32_t k);

/* Bytes one row of @cols elements of @dtype occupies (int4 rows round up to a byte). */
uint64_t vitsa_row_bytes(uint32_t dtype, uint32_t cols);

/*
 * The last byte of @rows (>= 1) rows of @row_bytes (>= 1) bytes, @stride apart, from @addr, in
 * *@last; false when it would lie beyond 2^64 - 1 (the descriptor's RANGE check).
 */
bool vitsa_extent_last(uint64_t addr, uint64_t rows, uint64_t stride, uint64_t row_bytes,
		       uint64_t *last);

/* Human-readable name of a VITSA_ERR_* code. */
const char *vitsa_err_name(uint32_t err);

#endif /* VITSA_MODEL_H */
