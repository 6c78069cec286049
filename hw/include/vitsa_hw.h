/* SPDX-License-Identifier: MIT */
/*
 * vitsa accelerator: the hardware contract.
 *
 * PCI identity, the BAR0 register map, the GEMM command descriptor, the completion record and
 * the status codes.  The QEMU device, the kernel driver and the C model all include this one
 * header; Documentation/hw/vitsa.rst is its prose.  Everything is little-endian.
 */
#ifndef VITSA_HW_H
#define VITSA_HW_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <stdint.h>
#endif

/* PCI identity.  QEMU uses 1234:1111 (bochs VGA) and 1234:11e8 (edu); 7a51 is free. */
#define VITSA_PCI_VENDOR_ID		0x1234
#define VITSA_PCI_DEVICE_ID		0x7a51
#define VITSA_PCI_REVISION		0x01
#define VITSA_BAR0_SIZE			0x1000

#define VITSA_PCI_CLASS			0x1200	/* processing accelerator */

#define VITSA_ID_MAGIC			0x56495453u	/* "VITS" */
#define VITSA_HW_VERSION_MAJOR		1
#define VITSA_HW_VERSION_MINOR		3	/* 1.1: CLOCK_MHZ, CNT_IDLE_CYCLES, fault injection;
						 * 1.2: C overlapping an input fails (OVERLAP);
						 * 1.3: the vector unit (VITSA_CAP_VECTOR),
						 * descriptor lists (VITSA_CAP_LIST) */

/* BAR0 registers: 32-bit unless named _LO/_HI or in the counter block (64-bit). */
#define VITSA_REG_ID			0x000	/* RO: VITSA_ID_MAGIC */
#define VITSA_REG_VERSION		0x004	/* RO: major << 16 | minor */
#define VITSA_REG_CAPS			0x008	/* RO: VITSA_CAP_* */
#define VITSA_REG_ARRAY			0x00c	/* RO: rows [15:0], cols [31:16] */
#define VITSA_REG_MAX_DIM		0x010	/* RO: largest M, N or K a descriptor may name */
#define VITSA_REG_CLOCK_MHZ		0x014	/* RO: array clock in MHz (since 1.1) */
#define VITSA_REG_CTRL			0x020	/* RW: VITSA_CTRL_* */
#define VITSA_REG_STATUS		0x024	/* RO: VITSA_STATUS_* */
#define VITSA_REG_ERROR			0x028	/* RO: VITSA_ERR_* that halted the ring, 0 if none */
#define VITSA_REG_RING_BASE_LO		0x040	/* RW: command ring bus address, 128-byte aligned */
#define VITSA_REG_RING_BASE_HI		0x044
#define VITSA_REG_CPL_BASE_LO		0x048	/* RW: completion ring bus address, 32-byte aligned */
#define VITSA_REG_CPL_BASE_HI		0x04c
#define VITSA_REG_RING_SIZE		0x050	/* RW: entries in both rings, power of two */
#define VITSA_REG_RING_HEAD		0x054	/* RO: descriptors consumed (free-running) */
#define VITSA_REG_RING_TAIL		0x058	/* RW: descriptors produced (free-running); doorbell */
#define VITSA_REG_INT_STATUS		0x060	/* RO: VITSA_INT_* pending */
#define VITSA_REG_INT_ENABLE		0x064	/* RW: VITSA_INT_* that raise the interrupt */
#define VITSA_REG_INT_ACK		0x068	/* WO: write 1 to clear a pending VITSA_INT_* bit */
#define VITSA_REG_CNT_JOBS		0x100	/* RO 64: descriptors completed, successfully or not */
#define VITSA_REG_CNT_ERRORS		0x108	/* RO 64: descriptors completed with an error */
#define VITSA_REG_CNT_MACS		0x110	/* RO 64: multiply-accumulates performed */
#define VITSA_REG_CNT_BUSY_CYCLES	0x118	/* RO 64: modeled array cycles spent on jobs */
#define VITSA_REG_CNT_DMA_RD_BYTES	0x120	/* RO 64: bytes read from host memory */
#define VITSA_REG_CNT_DMA_WR_BYTES	0x128	/* RO 64: bytes written to host memory */
#define VITSA_REG_CNT_IDLE_CYCLES	0x130	/* RO 64: idle cycles of virtual time (since 1.1) */

/* Test-only fault injection: present only with VITSA_CAP_FAULT_INJECT, else unknown offsets. */
#define VITSA_REG_FAULT_KIND		0x200	/* RW: the VITSA_FAULT_* armed; back to NONE when it fires */
#define VITSA_REG_FAULT_MATCH_K		0x204	/* RW: 0 = next descriptor fetched, else next with this K */
#define VITSA_REG_FAULT_FIRED		0x208	/* RO: faults fired since the device was created */
#define VITSA_REG_FAULT_DMA_REFUSED	0x20c	/* RO: late writes of RESET_STUCK the bus refused */

#define VITSA_CAP_S8			(1u << 0)	/* operand types supported ... */
#define VITSA_CAP_U8			(1u << 1)
#define VITSA_CAP_S4			(1u << 2)
#define VITSA_CAP_U4			(1u << 3)
#define VITSA_CAP_REQUANT		(1u << 8)	/* per-channel dyadic requantization */
#define VITSA_CAP_B_TRANS		(1u << 9)	/* B given as N x K */
#define VITSA_CAP_BIAS			(1u << 10)
#define VITSA_CAP_VECTOR		(1u << 11)	/* the vector opcodes (vitsa_hw_vec.h), since 1.3 */
#define VITSA_CAP_LIST			(1u << 12)	/* VITSA_OP_LIST, since 1.3 */
#define VITSA_CAP_FAULT_INJECT		(1u << 16)	/* test only: the FAULT_* registers exist */

#define VITSA_CTRL_ENABLE		(1u << 0)	/* process the command ring */
#define VITSA_CTRL_RESET		(1u << 1)	/* WO, self-clearing: abort, clear ring and IRQ state */

#define VITSA_STATUS_ENABLED		(1u << 0)
#define VITSA_STATUS_BUSY		(1u << 1)	/* head != tail */
#define VITSA_STATUS_HALTED		(1u << 2)	/* ring error; only a reset restarts */
#define VITSA_STATUS_RESETTING		(1u << 3)	/* reset requested, DMA not yet stopped */

#define VITSA_INT_DONE			(1u << 0)	/* a descriptor completed */
#define VITSA_INT_ERROR			(1u << 1)	/* a descriptor failed or the ring halted */
#define VITSA_INT_ALL			(VITSA_INT_DONE | VITSA_INT_ERROR)

#define VITSA_RING_MIN_ENTRIES		2
#define VITSA_RING_MAX_ENTRIES		4096

/* Faults VITSA_REG_FAULT_KIND can arm (Documentation/hw/vitsa.rst, "Fault injection"). */
enum vitsa_fault {
	VITSA_FAULT_NONE = 0,
	VITSA_FAULT_HANG = 1,		/* the descriptor never completes until a reset */
	VITSA_FAULT_DMA_READ = 2,	/* its operand reads fail: status VITSA_ERR_DMA_READ */
	VITSA_FAULT_CPL_SEQ = 3,	/* its record carries seq ^ VITSA_FAULT_CPL_SEQ_XOR */
	VITSA_FAULT_RESET_STUCK = 4,	/* it hangs; the next reset waits for its late C write */
	VITSA_FAULT_COUNT
};

#define VITSA_FAULT_CPL_SEQ_XOR		0x8000000000000000ull

/*
 * Operand and result types.  int4 values are packed two per byte, element 2i in bits [3:0] and
 * element 2i+1 in bits [7:4]; every row starts on a byte boundary.  S16 and S32 are result-only.
 */
enum vitsa_dtype {
	VITSA_DTYPE_S8 = 0,
	VITSA_DTYPE_U8 = 1,
	VITSA_DTYPE_S4 = 2,
	VITSA_DTYPE_U4 = 3,
	VITSA_DTYPE_S16 = 4,
	VITSA_DTYPE_S32 = 5,
	VITSA_DTYPE_COUNT
};

#define VITSA_OP_GEMM			1
/*
 * Since 1.3 (VITSA_CAP_LIST): m descriptors at a_addr (VITSA_LIST_ALIGN-aligned, 128 bytes
 * each), executed in order as this one ring entry; every other field 0.  An entry's seq is
 * not looked at; an entry may not be a LIST.  The first entry that fails ends the list: its
 * status is the list's, and the completion record's entry field says which (m when all
 * completed); cycles and macs add up the entries executed.
 */
#define VITSA_OP_LIST			2
#define VITSA_LIST_MAX_ENTRIES		4096
#define VITSA_LIST_ALIGN		128
/* 0x10..: the vector unit's opcodes, with VITSA_CAP_VECTOR (vitsa_hw_vec.h) */

#define VITSA_DESC_B_TRANS		(1u << 0)	/* B is N x K (row n holds column n of B) */
#define VITSA_DESC_BIAS			(1u << 1)	/* add int32 bias[n] to the accumulator */
#define VITSA_DESC_REQUANT		(1u << 2)	/* requantize with rq[n] to c_type */
#define VITSA_DESC_FLAGS_ALL		(VITSA_DESC_B_TRANS | VITSA_DESC_BIAS | VITSA_DESC_REQUANT)

/*
 * One GEMM: C[M x N] = A[M x K] * B[K x N] (+ bias), computed exactly in int32 with two's
 * complement wrap-around, then either stored as int32 or requantized per output channel.
 * Strides are in bytes between consecutive rows.  Unused addresses and reserved words must be 0.
 *
 * A vector descriptor (vitsa_hw_vec.h) uses the same layout: m rows of n columns, a/b/c the
 * operands in0/in1/out with their strides, param[] its parameters; k, types, bias_addr,
 * rq_addr and c_zero are 0.
 */
struct vitsa_hw_desc {
	uint32_t opcode;	/* VITSA_OP_GEMM */
	uint32_t flags;		/* VITSA_DESC_* */
	uint64_t seq;		/* echoed in the completion record */
	uint32_t m, n, k;	/* each 1..MAX_DIM */
	uint32_t types;		/* a_type [3:0], b_type [7:4], c_type [11:8] */
	uint64_t a_addr;	/* M rows of K elements */
	uint64_t b_addr;	/* K rows of N elements, or N rows of K with B_TRANS */
	uint64_t c_addr;	/* M rows of N results */
	uint64_t bias_addr;	/* N x int32, with BIAS */
	uint64_t rq_addr;	/* N x struct vitsa_hw_rq, with REQUANT */
	uint64_t a_stride;
	uint64_t b_stride;
	uint64_t c_stride;
	int32_t c_zero;		/* added after requantization, before saturation */
	uint32_t param[7];	/* a vector op's parameters; 0 in a GEMM (reserved) */
};

#define VITSA_DESC_TYPES(a, b, c)	((uint32_t)(a) | (uint32_t)(b) << 4 | (uint32_t)(c) << 8)
#define VITSA_DESC_A_TYPE(t)		((t) & 0xf)
#define VITSA_DESC_B_TYPE(t)		(((t) >> 4) & 0xf)
#define VITSA_DESC_C_TYPE(t)		(((t) >> 8) & 0xf)
#define VITSA_DESC_TYPES_MASK		0xfffu

/*
 * Requantization of one output channel: y = sat(rshift_round(acc * mult, shift) + c_zero),
 * rshift_round(x, s) = floor((x + 2^(s-1)) / 2^s) for s > 0, x for s = 0 (round half up),
 * evaluated exactly in 64 bits; sat clamps to c_type's range.
 */
struct vitsa_hw_rq {
	int32_t mult;
	uint32_t shift;		/* 0..VITSA_RQ_MAX_SHIFT */
};
#define VITSA_RQ_MAX_SHIFT		62

/* Written to the completion slot with the descriptor's ring index, before HEAD moves past it. */
struct vitsa_hw_cpl {
	uint64_t seq;		/* the descriptor's seq */
	uint32_t status;	/* VITSA_ERR_* */
	uint32_t entry;		/* LIST: the entry that failed, or m; else 0 (since 1.3) */
	uint64_t cycles;	/* modeled array cycles */
	uint64_t macs;		/* M * N * K when executed, 0 on error */
};

/* Status codes: per descriptor in the completion record, and in VITSA_REG_ERROR for the ring. */
enum vitsa_err {
	VITSA_ERR_OK = 0,
	VITSA_ERR_OPCODE = 1,		/* unknown opcode */
	VITSA_ERR_FLAGS = 2,		/* unknown flag bits */
	VITSA_ERR_DIMS = 3,		/* M, N or K is 0 or above MAX_DIM */
	VITSA_ERR_TYPE = 4,		/* unknown type, result-only type as operand, bad result type */
	VITSA_ERR_STRIDE = 5,		/* a stride shorter than its row */
	VITSA_ERR_RESERVED = 6,		/* reserved word or unused address not zero */
	VITSA_ERR_RANGE = 7,		/* an operand's address range wraps the 64-bit space */
	VITSA_ERR_RQ = 8,		/* requant shift out of range */
	VITSA_ERR_DMA_READ = 9,		/* host memory read failed */
	VITSA_ERR_DMA_WRITE = 10,	/* host memory write failed */
	VITSA_ERR_RING = 11,		/* ring base, size or tail invalid (halts the ring) */
	VITSA_ERR_ABORTED = 12,		/* cancelled by reset */
	VITSA_ERR_INTERNAL = 13,	/* the model could not allocate its buffers */
	VITSA_ERR_OVERLAP = 14,		/* C shares a byte with A, B, bias or rq (since 1.2) */
	VITSA_ERR_PARAM = 15,		/* a vector op's parameter out of range (since 1.3) */
	VITSA_ERR_LIST = 16,		/* LIST: m out of range, a_addr misaligned, a field not 0,
					 * or an entry that is a LIST (since 1.3) */
	VITSA_ERR_COUNT
};

/*
 * For a header that restates these codes under its own prefix (the driver's uapi does, as
 * VITSA_JOB_*, so that it stands alone): check(p##CODE == VITSA_ERR_CODE) for every code.
 * The count is the restating side's to check, since it may add codes of its own above.
 */
#define VITSA_ERR_SAME_AS(check, p)						\
	check(p##OK == VITSA_ERR_OK);						\
	check(p##OPCODE == VITSA_ERR_OPCODE);					\
	check(p##FLAGS == VITSA_ERR_FLAGS);					\
	check(p##DIMS == VITSA_ERR_DIMS);					\
	check(p##TYPE == VITSA_ERR_TYPE);					\
	check(p##STRIDE == VITSA_ERR_STRIDE);					\
	check(p##RESERVED == VITSA_ERR_RESERVED);				\
	check(p##RANGE == VITSA_ERR_RANGE);					\
	check(p##RQ == VITSA_ERR_RQ);						\
	check(p##DMA_READ == VITSA_ERR_DMA_READ);				\
	check(p##DMA_WRITE == VITSA_ERR_DMA_WRITE);				\
	check(p##RING == VITSA_ERR_RING);					\
	check(p##ABORTED == VITSA_ERR_ABORTED);					\
	check(p##INTERNAL == VITSA_ERR_INTERNAL);				\
	check(p##OVERLAP == VITSA_ERR_OVERLAP);					\
	check(p##PARAM == VITSA_ERR_PARAM);					\
	check(p##LIST == VITSA_ERR_LIST)

#ifndef __KERNEL__
_Static_assert(sizeof(struct vitsa_hw_desc) == 128, "descriptor is 128 bytes");
_Static_assert(sizeof(struct vitsa_hw_cpl) == 32, "completion record is 32 bytes");
_Static_assert(sizeof(struct vitsa_hw_rq) == 8, "requant entry is 8 bytes");
#endif

#endif /* VITSA_HW_H */
