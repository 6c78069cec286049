/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR MIT) */
/*
 * vitsa: the kernel <-> userspace ABI of /dev/vitsaN.
 *
 * Conventions (Documentation/uapi.rst has the long form):
 *  - structs hold only __u32/__u64/__s32, naturally aligned; every pad and reserved field is In
 *    and must be 0, every flags field rejects unknown bits (-EINVAL);
 *  - userspace names memory only as buffer-object handle + byte offset; handles belong to the
 *    open file that created them;
 *  - timeouts are __u64 nanoseconds, relative to the call, on CLOCK_MONOTONIC;
 *  - unknown ioctl: -ENOTTY; bad argument: -EINVAL; unknown handle: -ENOENT.
 */
#ifndef _UAPI_VITSA_H
#define _UAPI_VITSA_H

#include <linux/ioctl.h>
#include <linux/types.h>

#if defined(__cplusplus)
extern "C" {
#endif

#define VITSA_UAPI_MAJOR	1
#define VITSA_UAPI_MINOR	4	/* 1.1: VITSA_PARAM_GEMM_FLAGS; 1.2: VITSA_SUBMIT_NONBLOCK,
					 * VITSA_JOB_TIMEOUT, poll(2), VITSA_PARAM_JOB_TIMEOUT_MS;
					 * 1.3: vector jobs (VITSA_SUBMIT_JOBS, VITSA_PARAM_VEC_OPS),
					 * job lists (VITSA_IOCTL_LIST_*, VITSA_PARAM_LIST_MAX);
					 * 1.4: VITSA_IOCTL_JOB_TIMES */

/* Parameters of VITSA_IOCTL_GET_PARAM. */
#define VITSA_PARAM_UAPI_VERSION	0	/* major << 16 | minor */
#define VITSA_PARAM_HW_VERSION		1	/* device's VERSION register */
#define VITSA_PARAM_ARRAY_ROWS		2
#define VITSA_PARAM_ARRAY_COLS		3
#define VITSA_PARAM_DTYPES		4	/* bit (1 << VITSA_TYPE_x) per operand type */
#define VITSA_PARAM_MAX_DIM		5	/* largest M, N or K */
#define VITSA_PARAM_MAX_BO_SIZE		6	/* bytes */
#define VITSA_PARAM_RING_ENTRIES	7	/* jobs the device queues at once */
#define VITSA_PARAM_GEMM_FLAGS		8	/* VITSA_GEMM_* the device executes (since 1.1) */
#define VITSA_PARAM_JOB_TIMEOUT_MS	9	/* a job running longer is hung (since 1.2) */
#define VITSA_PARAM_VEC_OPS		10	/* bit (1 << (op - VITSA_VEC_FIRST)) per VITSA_VEC_*
						 * op the device executes; 0 without a vector unit
						 * (since 1.3) */
#define VITSA_PARAM_LIST_MAX		11	/* most jobs in a job list; 0: the device runs
						 * none (since 1.3) */
#define VITSA_PARAM_COUNT		12

/**
 * struct vitsa_get_param - query one device or driver parameter
 * @param: In. VITSA_PARAM_*.
 * @pad: In. Must be 0.
 * @value: Out. The parameter's value.
 */
struct vitsa_get_param {
	__u32 param;
	__u32 pad;
	__u64 value;
};

/**
 * struct vitsa_bo_create - allocate a buffer object, zero-filled, mappable by mmap(2)
 * @size: In/Out. Bytes wanted, 1..MAX_BO_SIZE; rounded up to the page size on return.
 * @flags: In. Must be 0.
 * @handle: Out. Handle, non-zero, valid in this open file only.
 * @mmap_offset: Out. Offset to pass to mmap(2) on this file to map the object.
 */
struct vitsa_bo_create {
	__u64 size;
	__u32 flags;
	__u32 handle;
	__u64 mmap_offset;
};

/**
 * struct vitsa_bo_destroy - drop the handle; the memory lives on while jobs or mappings use it
 * @handle: In.
 * @pad: In. Must be 0.
 */
struct vitsa_bo_destroy {
	__u32 handle;
	__u32 pad;
};

/* Operand and result types (same values as the device's). S16/S32 are result types only. */
#define VITSA_TYPE_S8		0
#define VITSA_TYPE_U8		1
#define VITSA_TYPE_S4		2	/* packed two per byte, low nibble first */
#define VITSA_TYPE_U4		3
#define VITSA_TYPE_S16		4
#define VITSA_TYPE_S32		5

/**
 * struct vitsa_mem - a matrix in a buffer object
 * @handle: In. Buffer object; 0 when the operand is unused (then every field must be 0).
 * @pad: In. Must be 0.
 * @offset: In. Byte offset of the first row in the object.
 * @stride: In. Bytes between rows, at least one row's bytes; must be 0 for bias and rq (one row).
 */
struct vitsa_mem {
	__u32 handle;
	__u32 pad;
	__u64 offset;
	__u64 stride;
};

#define VITSA_GEMM_B_TRANS	(1u << 0)	/* B is stored N x K */
#define VITSA_GEMM_BIAS		(1u << 1)	/* add bias: N x __s32 */
#define VITSA_GEMM_REQUANT	(1u << 2)	/* requantize with rq: N x {__s32 mult, __u32 shift} */
#define VITSA_GEMM_FLAGS	(VITSA_GEMM_B_TRANS | VITSA_GEMM_BIAS | VITSA_GEMM_REQUANT)

/**
 * struct vitsa_gemm - one GEMM job, C = A x B (+ bias), int32 accumulation
 * @m: In. Rows of A and C, 1..MAX_DIM.
 * @n: In. Columns of B and C, 1..MAX_DIM.
 * @k: In. Columns of A, rows of B, 1..MAX_DIM.
 * @flags: In. VITSA_GEMM_*.
 * @a_type: In. VITSA_TYPE_S8/U8/S4/U4.
 * @b_type: In. VITSA_TYPE_S8/U8/S4/U4.
 * @c_type: In. VITSA_TYPE_S32 without REQUANT; S8/U8/S4/U4/S16 with it.
 * @c_zero: In. Added after requantization; 0 without REQUANT.
 * @a: In. M x K.
 * @b: In. K x N, or N x K with B_TRANS.
 * @c: In. M x N, written by the device.
 * @bias: In. With BIAS, else all 0.
 * @rq: In. With REQUANT, else all 0.
 *
 * The exact arithmetic (wrap-around, rounding, saturation) is Documentation/hw/vitsa.rst's.
 */
struct vitsa_gemm {
	__u32 m;
	__u32 n;
	__u32 k;
	__u32 flags;
	__u32 a_type;
	__u32 b_type;
	__u32 c_type;
	__s32 c_zero;
	struct vitsa_mem a;
	struct vitsa_mem b;
	struct vitsa_mem c;
	struct vitsa_mem bias;
	struct vitsa_mem rq;
};

/*
 * Vector-unit ops (the device's opcodes; the arithmetic and each operand's extent are
 * Documentation/hw/vitsa.rst's, "Vector unit").  Since 1.3, on a device whose
 * VITSA_PARAM_VEC_OPS has the op's bit.
 */
#define VITSA_VEC_INPUT		0x10	/* in0 u8 image, in1 s8 tables -> out s8 patch rows */
#define VITSA_VEC_EMBED		0x11	/* in0 s16 patches, in1 s16 tokens + positions -> s16 */
#define VITSA_VEC_LAYERNORM	0x12	/* in0 s16 -> out s8 */
#define VITSA_VEC_LAYERNORM_S4	0x13	/* in0 s16 -> out packed s4 */
#define VITSA_VEC_SHIFTMAX	0x14	/* in0 s8 -> out u8 */
#define VITSA_VEC_SHIFTMAX16	0x15	/* in0 s8 -> out two u8 parts per row */
#define VITSA_VEC_GELU		0x16	/* in0 s8 -> out s8 */
#define VITSA_VEC_GELU_U4	0x17	/* in0 s8 -> out packed u4 */
#define VITSA_VEC_ADD		0x18	/* in0 s16 + in1 s16 -> out s16; out may be an input */
#define VITSA_VEC_MEAN		0x19	/* in0 s16 rows -> out one s16 row */
#define VITSA_VEC_JOIN16	0x1a	/* in0 s32 hi, in1 s32 lo -> out s8 */
#define VITSA_VEC_FIRST		VITSA_VEC_INPUT
#define VITSA_VEC_PARAMS	7

/**
 * struct vitsa_vec - one vector-unit job: an integer op over rows (since 1.3)
 * @op: In. VITSA_VEC_*.
 * @rows: In. Rows, 1..MAX_DIM.
 * @cols: In. Columns, 1..MAX_DIM.
 * @pad: In. Must be 0.
 * @in0: In. First input; all 0 when the op takes none.
 * @in1: In. Second input; all 0 when the op takes none.
 * @out: In. Output, written by the device.
 * @param: In. The op's parameter words; those past its count must be 0.
 * @pad2: In. Must be 0.
 *
 * Strides are at least one row's bytes, also for an operand of one row.
 */
struct vitsa_vec {
	__u32 op;
	__u32 rows;
	__u32 cols;
	__u32 pad;
	struct vitsa_mem in0;
	struct vitsa_mem in1;
	struct vitsa_mem out;
	__u32 param[VITSA_VEC_PARAMS];
	__u32 pad2;
};

/**
 * struct vitsa_list_run - run a job list (VITSA_IOCTL_LIST_CREATE) as one job
 * @handle: In. The list, of this file.
 * @pad: In. Must be 0.
 *
 * The list's jobs run in order on the device as one ring entry, with one fence; the first
 * that fails ends it, and WAIT reports its status.
 */
struct vitsa_list_run {
	__u32 handle;
	__u32 pad;
};

#define VITSA_JOB_KIND_GEMM	0
#define VITSA_JOB_KIND_VEC	1
#define VITSA_JOB_KIND_LIST	2	/* only in SUBMIT, never inside a list */

/**
 * struct vitsa_job - a job of any kind, for VITSA_SUBMIT_JOBS and lists (since 1.3)
 * @kind: In. VITSA_JOB_KIND_*.
 * @pad: In. Must be 0.
 * @gemm: In. With VITSA_JOB_KIND_GEMM.
 * @vec: In. With VITSA_JOB_KIND_VEC; the rest of the union must be 0.
 * @list: In. With VITSA_JOB_KIND_LIST; the rest of the union must be 0.
 */
struct vitsa_job {
	__u32 kind;
	__u32 pad;
	union {
		struct vitsa_gemm gemm;
		struct vitsa_vec vec;
		struct vitsa_list_run list;
	};
};

/**
 * struct vitsa_list_create - check jobs once and keep them as a list to run many times
 * @jobs: In. Pointer to @count struct vitsa_job of kinds GEMM and VEC.
 * @count: In. 1..LIST_MAX.
 * @flags: In. Must be 0.
 * @handle: Out. The list, non-zero, valid in this open file only.
 * @pad: In. Must be 0.
 *
 * Each job is checked as SUBMIT checks it; on error nothing is kept.  The list holds its
 * buffer objects until it is destroyed and its last run has completed.  Its descriptors are
 * device memory charged as a buffer object of count * 128 bytes.  Errors as SUBMIT's,
 * -EDQUOT past the file's budget and -ENOSPC past the lists a file may hold
 * (Documentation/uapi.rst).
 */
struct vitsa_list_create {
	__u64 jobs;
	__u32 count;
	__u32 flags;
	__u32 handle;
	__u32 pad;
};

/**
 * struct vitsa_list_destroy - drop a list's handle; runs in flight complete
 * @handle: In.
 * @pad: In. Must be 0.
 */
struct vitsa_list_destroy {
	__u32 handle;
	__u32 pad;
};

#define VITSA_SUBMIT_MAX_JOBS	1024

#define VITSA_SUBMIT_NONBLOCK	(1u << 0)	/* -EAGAIN rather than wait for ring space */
#define VITSA_SUBMIT_JOBS	(1u << 1)	/* @jobs are struct vitsa_job (since 1.3) */
#define VITSA_SUBMIT_FLAGS	(VITSA_SUBMIT_NONBLOCK | VITSA_SUBMIT_JOBS)

/**
 * struct vitsa_submit - queue jobs; they run in order and get consecutive fences
 * @jobs: In. Pointer to @count struct vitsa_gemm, or struct vitsa_job with VITSA_SUBMIT_JOBS.
 * @count: In. 1..VITSA_SUBMIT_MAX_JOBS; with VITSA_SUBMIT_NONBLOCK 1..RING_ENTRIES / 2.
 * @flags: In. VITSA_SUBMIT_*.
 * @fence: Out. Fence of the last job; the first is @fence - @count + 1.
 *
 * Every job is validated before any is queued: on error nothing runs.  Blocks while the ring
 * is full; with VITSA_SUBMIT_NONBLOCK returns -EAGAIN instead (nothing queued) when the ring
 * has no room for all @count jobs or another SUBMIT is waiting for room.  poll(2) reports
 * EPOLLOUT once half the ring is free.  Returns -ENOENT for an unknown handle, -EINVAL for a
 * bad field or a range outside its buffer object, -EFAULT for a bad pointer, -ENODEV once
 * the device is gone, -EIO when it could not be restarted after a failure.
 */
struct vitsa_submit {
	__u64 jobs;
	__u32 count;
	__u32 flags;
	__u64 fence;
};

/**
 * struct vitsa_wait - wait until every job of this file up to @fence has completed
 * @fence: In. A fence returned by VITSA_IOCTL_SUBMIT on this file.
 * @timeout_ns: In. Relative timeout on CLOCK_MONOTONIC; 0 only polls.
 * @error_fence: Out. Fence of the oldest failed job up to @fence not reported before, or 0.
 * @error: Out. Its status, VITSA_JOB_*; 0 when @error_fence is 0.
 * @flags: In. Must be 0.
 *
 * Returns 0 when the jobs completed (check @error_fence), -ETIMEDOUT when the timeout passed
 * first, -EINVAL for a fence never handed out.
 */
struct vitsa_wait {
	__u64 fence;
	__u64 timeout_ns;
	__u64 error_fence;
	__u32 error;
	__u32 flags;
};

#define VITSA_JOB_TIMES_KEPT	64	/* retired jobs per file whose times are kept */

/**
 * struct vitsa_job_times - when one of this file's jobs ran, as the driver saw it
 * @fence: In. A fence of this file whose job has retired, one of the last
 *	VITSA_JOB_TIMES_KEPT of the file to retire.
 * @queued_ns: Out. When the job entered the device's ring, on CLOCK_MONOTONIC.
 * @started_ns: Out. When the device could start it: the later of @queued_ns and the
 *	retirement of the job before it in the ring (whichever file's).
 * @done_ns: Out. When the driver retired it: its completion's interrupt, or the reset
 *	that ended it.
 * @flags: In. Must be 0.
 * @pad: In. Must be 0.
 *
 * A list's run is one job: its entries' times are not known apart.  Returns -EINVAL for a
 * fence never handed out (or nonzero @flags or @pad), -EAGAIN for one not retired yet,
 * -ENOENT for one retired before the last VITSA_JOB_TIMES_KEPT.
 */
struct vitsa_job_times {
	__u64 fence;
	__u64 queued_ns;
	__u64 started_ns;
	__u64 done_ns;
	__u32 flags;
	__u32 pad;
};

/*
 * Job status in vitsa_wait.error: below 32 the device's codes (Documentation/hw/vitsa.rst,
 * the same numbers as its completion records), from 32 the driver's.  The driver checks a job
 * before the device sees it, so most of the device's codes do not occur (Documentation/uapi.rst,
 * WAIT); all are named so that any status can be printed.  ABORTED: the job
 * did not run to completion because the device was reset or removed, or because an earlier job
 * of the same file hung.  TIMEOUT: the job ran longer than the job timeout; the device was
 * reset.
 */
#define VITSA_JOB_OK		0
#define VITSA_JOB_OPCODE	1	/* unknown opcode */
#define VITSA_JOB_FLAGS		2	/* unknown flag bits */
#define VITSA_JOB_DIMS		3	/* M, N or K is 0 or above MAX_DIM */
#define VITSA_JOB_TYPE		4	/* bad operand or result type */
#define VITSA_JOB_STRIDE	5	/* a stride shorter than its row */
#define VITSA_JOB_RESERVED	6	/* a reserved word or unused address not 0 */
#define VITSA_JOB_RANGE		7	/* an operand's address range wraps */
#define VITSA_JOB_RQ		8	/* requantization shift out of range */
#define VITSA_JOB_DMA_READ	9
#define VITSA_JOB_DMA_WRITE	10
#define VITSA_JOB_RING		11	/* the command ring is invalid */
#define VITSA_JOB_ABORTED	12
#define VITSA_JOB_INTERNAL	13	/* the device could not allocate its buffers */
#define VITSA_JOB_OVERLAP	14	/* C shares a byte with an input */
#define VITSA_JOB_PARAM		15	/* since 1.3: a vector op's parameter out of range */
#define VITSA_JOB_LIST		16	/* since 1.3: the device refused a list's form */
#define VITSA_JOB_DEVICE_COUNT	17	/* the device's codes are 0..DEVICE_COUNT - 1 */
#define VITSA_JOB_TIMEOUT	32	/* since 1.2 */
#define VITSA_JOB_STATUS_COUNT	33

/*
 * A name for every status, for messages: a designated initializer for a table of
 * VITSA_JOB_STATUS_COUNT strings (the codes between the device's and the driver's are NULL).
 */
#define VITSA_JOB_STATUS_NAMES {					\
	[VITSA_JOB_OK] = "ok",						\
	[VITSA_JOB_OPCODE] = "unknown opcode",				\
	[VITSA_JOB_FLAGS] = "unknown flags",				\
	[VITSA_JOB_DIMS] = "dimension out of range",			\
	[VITSA_JOB_TYPE] = "bad operand or result type",		\
	[VITSA_JOB_STRIDE] = "stride shorter than a row",		\
	[VITSA_JOB_RESERVED] = "reserved field not zero",		\
	[VITSA_JOB_RANGE] = "address range wraps",			\
	[VITSA_JOB_RQ] = "requant shift out of range",			\
	[VITSA_JOB_DMA_READ] = "DMA read failed",			\
	[VITSA_JOB_DMA_WRITE] = "DMA write failed",			\
	[VITSA_JOB_RING] = "command ring invalid",			\
	[VITSA_JOB_ABORTED] = "aborted by reset",			\
	[VITSA_JOB_INTERNAL] = "model out of memory",			\
	[VITSA_JOB_OVERLAP] = "C overlaps an input",			\
	[VITSA_JOB_PARAM] = "vector parameter out of range",		\
	[VITSA_JOB_LIST] = "bad descriptor list",			\
	[VITSA_JOB_TIMEOUT] = "job timeout, device reset",		\
}

/* The name of @status, or "unknown status"; for the kernel and userspace alike. */
static inline const char *vitsa_job_status_name(__u32 status)
{
	static const char *const names[VITSA_JOB_STATUS_COUNT] = VITSA_JOB_STATUS_NAMES;

	return status < VITSA_JOB_STATUS_COUNT && names[status] ? names[status] : "unknown status";
}

#define VITSA_IOCTL_BASE	0xb9

#define VITSA_IOCTL_GET_PARAM	_IOWR(VITSA_IOCTL_BASE, 0x00, struct vitsa_get_param)
#define VITSA_IOCTL_BO_CREATE	_IOWR(VITSA_IOCTL_BASE, 0x01, struct vitsa_bo_create)
#define VITSA_IOCTL_BO_DESTROY	_IOW(VITSA_IOCTL_BASE, 0x02, struct vitsa_bo_destroy)
#define VITSA_IOCTL_SUBMIT	_IOWR(VITSA_IOCTL_BASE, 0x03, struct vitsa_submit)
#define VITSA_IOCTL_WAIT	_IOWR(VITSA_IOCTL_BASE, 0x04, struct vitsa_wait)
#define VITSA_IOCTL_LIST_CREATE	_IOWR(VITSA_IOCTL_BASE, 0x05, struct vitsa_list_create)
#define VITSA_IOCTL_LIST_DESTROY _IOW(VITSA_IOCTL_BASE, 0x06, struct vitsa_list_destroy)
#define VITSA_IOCTL_JOB_TIMES	_IOWR(VITSA_IOCTL_BASE, 0x07, struct vitsa_job_times)

#if defined(__cplusplus)
}
#endif

#endif /* _UAPI_VITSA_H */
