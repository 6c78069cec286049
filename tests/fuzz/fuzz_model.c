// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness: a raw 128-byte descriptor and a small memory image through the hw model
 * (vitsa_model_exec) and the reference (vitsa_ref_gemm), which must agree: the same status
 * and, when it is OK, the same memory afterwards.  vitsa_ref_gemm specifies GEMMs: a valid
 * vector descriptor (hw 1.3) is held to the model itself instead, run once through copies and
 * once in place, which must agree the same way (a vector descriptor the check refuses still
 * meets the reference, whose check is the model's).
 *
 * Input: the descriptor (struct vitsa_hw_desc, as the device reads it), then the memory image
 * (addresses are offsets into it).  Bits of seq, which the device only echoes, pick the array
 * geometry and whether the model may map memory (its in-place kernels) or only copy it.
 *
 * Both read the bias and requant tables first (RQ before any operand's DMA_READ).  After
 * that, C is written as it is computed, so a descriptor with both an unreadable operand and
 * an unwritable C may report either DMA_READ or DMA_WRITE (hw/vitsa.rst): that one pair is
 * accepted, unless FUZZ_MODEL_STRICT is set in the environment; a field error, RQ against
 * anything else, OK against an error, or different memory after OK never is.
 */
#include <stdbool.h>

#include "fuzz_util.h"
#include "vitsa_hw_vec.h"
#include "vitsa_model.h"
#include "vitsa_ref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct flat {
	uint8_t *mem;
	size_t size;
};

static int flat_read(void *opaque, uint64_t addr, void *buf, size_t len)
{
	struct flat *f = opaque;

	if (addr > f->size || len > f->size - addr)
		return -1;
	memcpy(buf, f->mem + addr, len);
	return 0;
}

static int flat_write(void *opaque, uint64_t addr, const void *buf, size_t len)
{
	struct flat *f = opaque;

	if (addr > f->size || len > f->size - addr)
		return -1;
	memcpy(f->mem + addr, buf, len);
	return 0;
}

static void *flat_map(void *opaque, uint64_t addr, uint64_t len)
{
	struct flat *f = opaque;

	if (addr > f->size || len > f->size - addr)
		return NULL;
	return f->mem + addr;
}

static const struct vitsa_mem_ops copy_ops = { .read = flat_read, .write = flat_write };
static const struct vitsa_mem_ops map_ops = {
	.read = flat_read, .write = flat_write, .map = flat_map,
};

static const struct vitsa_model_cfg geometry[4] = {
	{ 16, 16 }, { 4, 7 }, { 9, 3 }, { 64, 64 },
};

static bool dma_err(uint32_t e)
{
	return e == VITSA_ERR_DMA_READ || e == VITSA_ERR_DMA_WRITE;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int strict = -1;
	struct vitsa_job_stats st;
	struct vitsa_hw_desc d;
	uint32_t e_model, e_ref;
	struct flat f;
	uint8_t *ref;

	if (size < sizeof(d))
		return 0;
	memcpy(&d, data, sizeof(d));
	f.size = size - sizeof(d);
	f.mem = malloc(f.size ? f.size : 1);
	ref = malloc(f.size ? f.size : 1);
	if (!f.mem || !ref)
		abort();
	memcpy(f.mem, data + sizeof(d), f.size);
	memcpy(ref, data + sizeof(d), f.size);

	e_model = vitsa_model_exec(&geometry[(d.seq >> 1) & 3], &d, d.seq & 1 ? &map_ops : &copy_ops,
				   &f, &st);
	if (vitsa_vec_op_valid(d.opcode) && !vitsa_desc_check(&d)) {
		struct flat r = { ref, f.size };

		e_ref = vitsa_model_exec(&geometry[(d.seq >> 1) & 3], &d,
					 d.seq & 1 ? &copy_ops : &map_ops, &r, &st);
	} else {
		e_ref = vitsa_ref_gemm(&d, ref, f.size);
	}
	if (strict < 0)
		strict = getenv("FUZZ_MODEL_STRICT") != NULL;
	if (e_model != e_ref && (strict || !dma_err(e_model) || !dma_err(e_ref))) {
		fprintf(stderr, "model %s, ref %s\n", vitsa_err_name(e_model), vitsa_err_name(e_ref));
		abort();
	}
	if (e_model == VITSA_ERR_OK && memcmp(f.mem, ref, f.size)) {
		fprintf(stderr, "model and ref both OK, memory differs\n");
		abort();
	}
	free(ref);
	free(f.mem);
	return 0;
}
