// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness: the descriptor checks in front of the hw model.  kernel/vitsa_job.c's
 * SUBMIT checks need the kernel's headers (vitsa_drv.h pulls in pci, miscdevice, xarray,
 * workqueues) and do not build in userspace as they are; this harness checks the device's own
 * gate, vitsa_desc_check, which the driver's checks must imply (tests/fuzz/README.md), for
 * GEMM and vector descriptors alike:
 *  - a descriptor the check refuses is refused by the model with the same status, before any
 *    memory access;
 *  - one it accepts touches memory only inside its operands: reads inside A, B and (with
 *    their flags) bias and rq, or a vector op's in0 and in1, writes inside C or out, each
 *    within [addr, last] of the extent the check computed (vitsa_extent_last,
 *    vitsa_vec_extent), strides and gaps included; it fails, if at all, only on memory;
 *  - with the host mapping memory (seq odd), every mapped range lies inside one operand and
 *    no byte outside C or out changes.
 *
 * Input: the 128-byte descriptor, then the memory image (addresses are offsets into it).  An
 * opcode whose low byte is 0x20 or more is steered to the vector opcodes (and one past them),
 * so that most inputs reach the vector unit.
 */
#include "fuzz_util.h"
#include "vitsa_model.h"
#include "vitsa_vec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { OP_A, OP_B, OP_BIAS, OP_RQ, OP_C, OP_COUNT };

struct span {
	bool used;
	uint64_t first, last;
};

struct watch {
	uint8_t *mem;
	size_t size;
	struct span op[OP_COUNT];
	uint64_t accesses;
};

static const char *const op_names[OP_COUNT] = { "A", "B", "bias", "rq", "C" };

static bool inside(const struct span *s, uint64_t addr, size_t len)
{
	return s->used && len && addr >= s->first && addr <= s->last &&
	       len - 1 <= s->last - addr;
}

static void stray(const char *what, uint64_t addr, size_t len)
{
	fprintf(stderr, "model %s %zu bytes at %#llx outside its operands\n", what, len,
		(unsigned long long)addr);
	abort();
}

static int watch_read(void *opaque, uint64_t addr, void *buf, size_t len)
{
	struct watch *w = opaque;
	int i;

	w->accesses++;
	for (i = OP_A; i <= OP_RQ; i++)
		if (inside(&w->op[i], addr, len))
			break;
	if (i > OP_RQ)
		stray("read", addr, len);
	if (addr > w->size || len > w->size - addr)
		return -1;
	memcpy(buf, w->mem + addr, len);
	return 0;
}

static int watch_write(void *opaque, uint64_t addr, const void *buf, size_t len)
{
	struct watch *w = opaque;

	w->accesses++;
	if (!inside(&w->op[OP_C], addr, len))
		stray("write", addr, len);
	if (addr > w->size || len > w->size - addr)
		return -1;
	memcpy(w->mem + addr, buf, len);
	return 0;
}

/* A mapped range serves reads and writes alike: it must lie inside one of the operands. */
static void *watch_map(void *opaque, uint64_t addr, uint64_t len)
{
	struct watch *w = opaque;
	int i;

	w->accesses++;
	for (i = 0; i < OP_COUNT; i++)
		if (inside(&w->op[i], addr, len))
			break;
	if (i == OP_COUNT)
		stray("map", addr, len);
	return addr <= w->size && len <= w->size - addr ? w->mem + addr : NULL;
}

static const struct vitsa_mem_ops watch_ops = { .read = watch_read, .write = watch_write };
static const struct vitsa_mem_ops watch_map_ops = { .read = watch_read, .write = watch_write,
						    .map = watch_map };

static void span_of(struct watch *w, int i, uint64_t addr, uint64_t rows, uint64_t stride,
		    uint64_t row_bytes)
{
	struct span *s = &w->op[i];

	s->used = true;
	s->first = addr;
	if (!vitsa_extent_last(addr, rows, stride, row_bytes, &s->last)) {
		fprintf(stderr, "%s: the check accepted a wrapping extent\n", op_names[i]);
		abort();
	}
}

/* The operands of an accepted GEMM. */
static void gemm_spans(struct watch *w, const struct vitsa_hw_desc *d)
{
	uint32_t ta = VITSA_DESC_A_TYPE(d->types), tb = VITSA_DESC_B_TYPE(d->types);
	uint32_t tc = VITSA_DESC_C_TYPE(d->types);
	bool bt = d->flags & VITSA_DESC_B_TRANS;

	span_of(w, OP_A, d->a_addr, d->m, d->a_stride, vitsa_row_bytes(ta, d->k));
	span_of(w, OP_B, d->b_addr, bt ? d->n : d->k, d->b_stride,
		vitsa_row_bytes(tb, bt ? d->k : d->n));
	span_of(w, OP_C, d->c_addr, d->m, d->c_stride, vitsa_row_bytes(tc, d->n));
	if (d->flags & VITSA_DESC_BIAS)
		span_of(w, OP_BIAS, d->bias_addr, 1, 0, (uint64_t)d->n * 4);
	if (d->flags & VITSA_DESC_REQUANT)
		span_of(w, OP_RQ, d->rq_addr, 1, 0, (uint64_t)d->n * sizeof(struct vitsa_hw_rq));
}

/* The operands of an accepted vector op: in0 and in1 where A and B are, out where C is. */
static void vec_spans(struct watch *w, const struct vitsa_hw_desc *d)
{
	static const int slot[VITSA_VEC_OPNDS] = { OP_A, OP_B, OP_C };
	const uint64_t addr[VITSA_VEC_OPNDS] = { d->a_addr, d->b_addr, d->c_addr };
	const uint64_t stride[VITSA_VEC_OPNDS] = { d->a_stride, d->b_stride, d->c_stride };
	struct vitsa_vec_extent e;

	if (vitsa_vec_extent(d, &e)) {
		fprintf(stderr, "the check accepted a vector op without extents\n");
		abort();
	}
	for (int o = 0; o < VITSA_VEC_OPNDS; o++)
		if (e.rows[o])
			span_of(w, slot[o], addr[o], e.rows[o], stride[o], e.row_bytes[o]);
}

/* An opcode's low byte from 0x20 on picks a vector opcode, or the one past them. */
static uint32_t steer(uint32_t opcode)
{
	uint32_t b = opcode & 0xff, nvec = VITSA_OP_VEC_END - VITSA_OP_VEC_FIRST + 1;

	return b < 0x20 ? opcode : (opcode & ~0xffu) | (VITSA_OP_VEC_FIRST + b % nvec);
}

/* An accepted descriptor fails only on memory, and changes no byte outside C or out. */
static void accepted_ok(const struct watch *w, const uint8_t *before, uint32_t e_model)
{
	if (e_model != VITSA_ERR_OK && e_model != VITSA_ERR_DMA_READ &&
	    e_model != VITSA_ERR_DMA_WRITE && e_model != VITSA_ERR_RQ) {
		fprintf(stderr, "accepted, then the model says %s\n", vitsa_err_name(e_model));
		abort();
	}
	for (uint64_t i = 0; i < w->size; i++)
		if (w->mem[i] != before[i] && !inside(&w->op[OP_C], i, 1))
			stray("change", i, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct vitsa_model_cfg cfg = { 16, 16 };
	struct vitsa_job_stats st;
	struct vitsa_hw_desc d;
	struct watch w = { 0 };
	uint32_t e_check, e_model;
	uint8_t *before;

	if (size < sizeof(d))
		return 0;
	memcpy(&d, data, sizeof(d));
	d.opcode = steer(d.opcode);
	w.size = size - sizeof(d);
	w.mem = malloc(w.size ? w.size : 1);
	before = malloc(w.size ? w.size : 1);
	if (!w.mem || !before)
		abort();
	memcpy(w.mem, data + sizeof(d), w.size);
	memcpy(before, w.mem, w.size);

	e_check = vitsa_desc_check(&d);
	if (e_check == VITSA_ERR_OK && vitsa_vec_op_valid(d.opcode))
		vec_spans(&w, &d);
	else if (e_check == VITSA_ERR_OK)
		gemm_spans(&w, &d);

	e_model = vitsa_model_exec(&cfg, &d, d.seq & 1 ? &watch_map_ops : &watch_ops, &w, &st);
	if (e_check != VITSA_ERR_OK && (e_model != e_check || w.accesses)) {
		fprintf(stderr, "check %s, model %s after %llu accesses\n",
			vitsa_err_name(e_check), vitsa_err_name(e_model),
			(unsigned long long)w.accesses);
		abort();
	}
	if (e_check == VITSA_ERR_OK)
		accepted_ok(&w, before, e_model);
	free(w.mem);
	free(before);
	return 0;
}
