/* SPDX-License-Identifier: MIT */
/*
 * libvitrt: the vitsa runtime library.
 *
 * Device layer: open a backend (the in-process model "sim", or a /dev/vitsaN "dev"), allocate
 * buffers the device can reach, queue GEMM jobs that name memory as buffer + offset, wait for
 * them.  Errors follow <vitrt/core.h>.  What applications may use (version, errors, images,
 * classification) is declared in userspace/include/vitrt/; everything declared here is
 * libvitrt's own, for the CLI and the tests, and hidden in libvitrt.so.
 */
#ifndef VITRT_H
#define VITRT_H

#include <stddef.h>
#include <stdint.h>

#include <vitrt/core.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Element types: the values of the uapi and the hardware. */
enum vitrt_type {
	VITRT_S8 = 0, VITRT_U8 = 1, VITRT_S4 = 2, VITRT_U4 = 3, VITRT_S16 = 4, VITRT_S32 = 5,
	VITRT_TYPE_COUNT
};

const char *vitrt_type_name(enum vitrt_type t);
/* The type named @name ("s8", "u4", ...), or -1. */
int vitrt_type_parse(const char *name);
/* Bytes of one row of @cols elements (int4 rows round up to whole bytes). */
uint64_t vitrt_row_bytes(enum vitrt_type t, uint32_t cols);

/* ---- devices ---- */

struct vitrt_dev;

struct vitrt_dev_info {
	const char *backend;	/* "sim" or "dev" */
	const char *path;	/* device node, or "in-process" */
	uint32_t rows, cols;	/* array geometry */
	uint32_t max_dim;	/* largest M, N, K */
	uint64_t max_buf_size;
	uint32_t hw_version;	/* major << 16 | minor */
	uint32_t vec_ops;	/* bit (op - VITRT_VEC_FIRST) per vector op it runs; 0: GEMMs only */
};

/*
 * @spec: NULL or "auto" (the first /dev/vitsa* if present, else "sim"), "sim", "dev" (first
 * /dev/vitsa*) or "dev:/dev/vitsaN".
 */
struct vitrt_dev *vitrt_dev_open(const char *spec, int *err);
void vitrt_dev_close(struct vitrt_dev *dev);
const struct vitrt_dev_info *vitrt_dev_info(const struct vitrt_dev *dev);
/*
 * The CPUs that take @dev's completion interrupt, as a CPU list ("0", "2-3") into @list: 0,
 * or VITRT_EUNSUPPORTED (in-process, or the kernel does not say).
 */
int vitrt_dev_irq_cpus(struct vitrt_dev *dev, char *list, size_t cap);

/* ---- buffers ---- */

struct vitrt_buf;

/* A zero-filled buffer of at least @size bytes, mapped into this process. */
struct vitrt_buf *vitrt_buf_new(struct vitrt_dev *dev, size_t size, int *err);
void vitrt_buf_del(struct vitrt_buf *buf);
void *vitrt_buf_map(const struct vitrt_buf *buf);
size_t vitrt_buf_size(const struct vitrt_buf *buf);
/*
 * Promise that @buf's contents stay as they are until it is deleted (weights): the device may
 * keep them in its own form (the in-process device keeps B operands packed for its kernels).
 * Jobs may no longer write to it, and the in-process device makes its mapping read-only.
 */
int vitrt_buf_seal(struct vitrt_buf *buf);

/* ---- jobs ---- */

#define VITRT_GEMM_B_TRANS	(1u << 0)	/* B stored N x K */
#define VITRT_GEMM_BIAS		(1u << 1)	/* add int32 bias[n] */
#define VITRT_GEMM_REQUANT	(1u << 2)	/* requantize with rq[n] = {int32 mult, uint32 shift} */

/* A matrix in a buffer: rows start @stride bytes apart from @offset.  buf NULL = unused. */
struct vitrt_mat {
	struct vitrt_buf *buf;
	uint64_t offset;
	uint64_t stride;
};

/* C = A x B (+ bias), int32 accumulation; arithmetic of Documentation/hw/vitsa.rst. */
struct vitrt_gemm {
	uint32_t m, n, k;
	uint32_t flags;			/* VITRT_GEMM_* */
	enum vitrt_type a_type, b_type, c_type;
	int32_t c_zero;
	struct vitrt_mat a, b, c, bias, rq;
};

/*
 * A job of the device's vector unit (hardware 1.3): @op over @rows x @cols, its operands and
 * parameter words as Documentation/hw/vitsa.rst's "Vector unit" gives them.  Unused operands
 * have buf NULL; strides are at least one row's bytes.
 */
#define VITRT_VEC_FIRST		0x10	/* the first vector opcode (VITSA_OP_INPUT) */
#define VITRT_VEC_PARAMS	7
struct vitrt_vec {
	uint32_t op;			/* the device's opcode */
	uint32_t rows, cols;
	struct vitrt_mat in0, in1, out;
	uint32_t param[VITRT_VEC_PARAMS];
};

enum vitrt_job_kind { VITRT_JOB_GEMM, VITRT_JOB_VEC };

struct vitrt_job {
	enum vitrt_job_kind kind;
	union {
		struct vitrt_gemm gemm;
		struct vitrt_vec vec;
	};
};

struct vitrt_job_error {
	uint64_t fence;		/* first failed job since the last report, 0 if none */
	uint32_t status;	/* its VITSA_JOB_* code (uapi/vitsa.h) */
};

/*
 * Queue @count jobs; they run in order.  Every job is checked first (types, dimensions, ranges
 * inside their buffers, C sharing no byte with an input): on error (VITRT_EINVAL) nothing is
 * queued.  *@fence receives the last job's fence.
 */
int vitrt_submit(struct vitrt_dev *dev, const struct vitrt_gemm *jobs, unsigned count,
		 uint64_t *fence);
/*
 * The same for jobs of either kind; a vector job also needs its op in the device's vec_ops
 * (else VITRT_EUNSUPPORTED, nothing queued).
 */
int vitrt_submit_jobs(struct vitrt_dev *dev, const struct vitrt_job *jobs,
		      unsigned count, uint64_t *fence);

/*
 * A list of jobs checked and put in the backend's form once, then submitted as often as
 * wanted (a compiled program's batch: only the data in its buffers changes).  The buffers it
 * names must outlive it.  vitrt_submit_jobs is a list made, submitted and freed.
 */
struct vitrt_joblist;
struct vitrt_joblist *vitrt_joblist_new(struct vitrt_dev *dev,
					const struct vitrt_job *jobs, unsigned count,
					int *err);
/* Queue the list's jobs in order; *@fence receives the last one's fence. */
int vitrt_joblist_submit(struct vitrt_joblist *list, uint64_t *fence);
void vitrt_joblist_free(struct vitrt_joblist *list);

/*
 * Wait until every job up to @fence completed, at most @timeout_ns.  Returns VITRT_EJOB (with
 * @jerr filled, if given) when one of them failed, VITRT_ETIMEDOUT when time ran out.
 */
int vitrt_wait(struct vitrt_dev *dev, uint64_t fence, uint64_t timeout_ns,
	       struct vitrt_job_error *jerr);

/* Modeled array cycles of one M x N x K GEMM on @dev's array. */
uint64_t vitrt_gemm_cycles(const struct vitrt_dev *dev, uint32_t m, uint32_t n, uint32_t k);

/* Name of a job status code (VITSA_JOB_*, uapi/vitsa.h: the device's codes and the driver's). */
const char *vitrt_job_status_name(uint32_t status);

/*
 * The GEMM kernel of the in-process device (and of the QEMU device, which runs the same
 * model): chosen from CPUID at first use.  vitrt_cpu_select("ref" | "avx2" | "avxvnni" |
 * "avx512vnni") overrides it for the whole process: 0, or VITRT_EINVAL when the name is
 * unknown or this CPU cannot run it.  vitrt_cpu_kernels lists those it can, best last.
 */
int vitrt_cpu_select(const char *name);
/*
 * One core's peak of the kernel in use, in multiply-accumulates per second: its multiply
 * instruction on independent accumulators for about @seconds (0 when it has no such loop).
 */
double vitrt_cpu_peak(double seconds);
const char *vitrt_cpu_kernel(void);
const char *vitrt_cpu_kernels(void);

#ifdef __cplusplus
}
#endif

#endif /* VITRT_H */
