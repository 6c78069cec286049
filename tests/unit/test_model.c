// SPDX-License-Identifier: MIT
/*
 * hw model tests: the model (vitsa_gemm.c) against the reference (vitsa_ref.c) and against
 * golden vectors computed by tests/golden/gen_gemm.py; descriptor checks; DMA faults; cancel;
 * the cycle formula.
 */
#include <stdint.h>

#include "tap.h"
#include "vitsa_dtype.h"
#include "vitsa_model.h"
#include "vitsa_ref.h"
#include "vtest.h"

#ifndef GOLDEN_DIR
#define GOLDEN_DIR "tests/golden"
#endif

/* A flat memory image; addresses are offsets.  fail_* make accesses at or above it fail. */
struct flat {
	uint8_t *mem;
	size_t size;
	uint64_t fail_read_at, fail_write_at;
	int cancel_after;	/* cancelled() polls until it says yes; < 0 never */
};

static int flat_read(void *opaque, uint64_t addr, void *buf, size_t len)
{
	struct flat *f = opaque;

	if (addr > f->size || len > f->size - addr || addr + len > f->fail_read_at)
		return -1;
	memcpy(buf, f->mem + addr, len);
	return 0;
}

static int flat_write(void *opaque, uint64_t addr, const void *buf, size_t len)
{
	struct flat *f = opaque;

	if (addr > f->size || len > f->size - addr || addr + len > f->fail_write_at)
		return -1;
	memcpy(f->mem + addr, buf, len);
	return 0;
}

static bool flat_cancelled(void *opaque)
{
	struct flat *f = opaque;

	return f->cancel_after >= 0 && f->cancel_after-- == 0;
}

static const struct vitsa_mem_ops flat_ops = {
	.read = flat_read, .write = flat_write, .cancelled = flat_cancelled,
};

static const struct vitsa_model_cfg cfg16 = { .rows = 16, .cols = 16 };

static uint32_t run_model(const struct vitsa_hw_desc *d, uint8_t *mem, size_t size,
			  struct vitsa_job_stats *st)
{
	struct flat f = { mem, size, UINT64_MAX, UINT64_MAX, -1 };

	return vitsa_model_exec(&cfg16, d, &flat_ops, &f, st);
}

/* ---- golden vectors ---- */

static size_t unhex(const char *s, uint8_t **out)
{
	size_t n = strlen(s) / 2;
	uint8_t *b = malloc(n ? n : 1);

	for (size_t i = 0; i < n; i++)
		sscanf(s + 2 * i, "%2hhx", &b[i]);
	*out = b;
	return n;
}

struct golden {
	char name[64];
	struct vitsa_hw_desc d;
	uint8_t *mem, *expect;
	size_t mem_size, expect_size;
};

/* Reads the next case; 1 on success, 0 at end of file, -1 on a malformed file. */
static int golden_next(FILE *f, struct golden *g, char *line, size_t cap)
{
	struct vitsa_hw_desc *d = &g->d;
	int got = 0;

	memset(g, 0, sizeof(*g));
	while (fgets(line, (int)cap, f)) {
		line[strcspn(line, "\n")] = 0;
		if (!strncmp(line, "case ", 5)) {
			snprintf(g->name, sizeof(g->name), "%.63s", line + 5);
		} else if (!strncmp(line, "desc ", 5)) {
			d->opcode = VITSA_OP_GEMM;
			got = sscanf(line + 5, "%u %u %u %u %u %lu %lu %lu %lu %lu %lu %lu %lu %d",
				     &d->m, &d->n, &d->k, &d->flags, &d->types, &d->a_addr,
				     &d->b_addr, &d->c_addr, &d->bias_addr, &d->rq_addr,
				     &d->a_stride, &d->b_stride, &d->c_stride, &d->c_zero);
		} else if (!strncmp(line, "mem ", 4)) {
			g->mem_size = unhex(line + 4, &g->mem);
		} else if (!strncmp(line, "expect ", 7)) {
			g->expect_size = unhex(line + 7, &g->expect);
		} else if (!strcmp(line, "end")) {
			return got == 14 && g->mem && g->expect ? 1 : -1;
		}
	}
	return 0;
}

TEST(golden_vectors)
{
	static char line[1 << 20];
	FILE *f = fopen(GOLDEN_DIR "/gemm.txt", "r");
	struct golden g;
	int cases = 0, r;

	CHECK(f, "cannot open %s/gemm.txt", GOLDEN_DIR);
	if (!f)
		return;
	while ((r = golden_next(f, &g, line, sizeof(line))) == 1) {
		uint8_t *ref = malloc(g.mem_size);
		struct vitsa_job_stats st;
		uint32_t e1, e2;

		memcpy(ref, g.mem, g.mem_size);
		e1 = run_model(&g.d, g.mem, g.mem_size, &st);
		e2 = vitsa_ref_gemm(&g.d, ref, g.mem_size);
		CHECK(e1 == VITSA_ERR_OK && e2 == VITSA_ERR_OK, "%s: model %u ref %u", g.name, e1, e2);
		CHECK(!memcmp(g.mem + g.d.c_addr, g.expect, g.expect_size), "%s: model != golden",
		      g.name);
		CHECK(!memcmp(ref + g.d.c_addr, g.expect, g.expect_size), "%s: ref != golden", g.name);
		free(ref);
		free(g.mem);
		free(g.expect);
		cases++;
	}
	fclose(f);
	CHECK(r == 0, "malformed golden file after %d cases", cases);
	CHECK(cases >= 50, "only %d golden cases", cases);
	printf("# %d golden cases\n", cases);
}

/* ---- random descriptors, model == reference over the whole memory image ---- */

static void random_round(int count, uint32_t max_dim)
{
	static struct vtest_rng rng = VTEST_RNG(0x9e3779b97f4a7c15ull);
	const struct vtest_gemm_opts opts = { .max_dim = max_dim, .a_type = VTEST_ANY,
					      .b_type = VTEST_ANY, .row_pad = 2, .gap = 8 };

	for (int i = 0; i < count; i++) {
		struct vitsa_hw_desc d;
		struct vitsa_job_stats st;
		uint8_t *mem, *ref;
		size_t size = vtest_gemm_new(&rng, &opts, &d, &mem);
		uint32_t e1, e2;

		ref = malloc(size);
		memcpy(ref, mem, size);
		e1 = run_model(&d, mem, size, &st);
		e2 = vitsa_ref_gemm(&d, ref, size);
		CHECK(e1 == 0 && e2 == 0, "job %d: model %u ref %u", i, e1, e2);
		CHECK(!memcmp(mem, ref, size), "job %d (%ux%ux%u flags %u types %#x): model != ref",
		      i, d.m, d.n, d.k, d.flags, d.types);
		CHECK(st.macs == (uint64_t)d.m * d.n * d.k, "job %d: macs", i);
		free(mem);
		free(ref);
	}
}

TEST(random_small_model_equals_ref)
{
	random_round(600, 40);
}

TEST(random_large_model_equals_ref)
{
	random_round(12, 300);
}

/* ---- descriptor checks ---- */

static struct vitsa_hw_desc good_desc(void)
{
	return (struct vitsa_hw_desc){
		.opcode = VITSA_OP_GEMM, .m = 4, .n = 4, .k = 4,
		.types = VITSA_DESC_TYPES(VITSA_DTYPE_S8, VITSA_DTYPE_S8, VITSA_DTYPE_S32),
		.a_addr = 0, .b_addr = 64, .c_addr = 128, .a_stride = 4, .b_stride = 4,
		.c_stride = 16,
	};
}

TEST(descriptor_checks)
{
	struct vitsa_hw_desc d;

#define EXPECT(mutation, code)							\
	do {								\
		d = good_desc();					\
		mutation;						\
		CHECK(vitsa_desc_check(&d) == (code), "%s: got %u", #mutation, vitsa_desc_check(&d)); \
	} while (0)

	EXPECT((void)0, VITSA_ERR_OK);
	EXPECT(d.opcode = 0, VITSA_ERR_OPCODE);
	EXPECT(d.opcode = 2, VITSA_ERR_OPCODE);
	EXPECT(d.flags = 1u << 3, VITSA_ERR_FLAGS);
	EXPECT(d.m = 0, VITSA_ERR_DIMS);
	EXPECT(d.n = VITSA_MODEL_MAX_DIM + 1, VITSA_ERR_DIMS);
	EXPECT(d.k = UINT32_MAX, VITSA_ERR_DIMS);
	EXPECT(d.types = VITSA_DESC_TYPES(VITSA_DTYPE_S16, 0, VITSA_DTYPE_S32), VITSA_ERR_TYPE);
	EXPECT(d.types = VITSA_DESC_TYPES(0, 9, VITSA_DTYPE_S32), VITSA_ERR_TYPE);
	EXPECT(d.types = VITSA_DESC_TYPES(0, 0, VITSA_DTYPE_S8), VITSA_ERR_TYPE);
	EXPECT((d.flags = VITSA_DESC_REQUANT, d.rq_addr = 256), VITSA_ERR_TYPE);
	EXPECT(d.types |= 1u << 12, VITSA_ERR_TYPE);
	EXPECT(d.param[6] = 1, VITSA_ERR_RESERVED);
	EXPECT(d.bias_addr = 8, VITSA_ERR_RESERVED);
	EXPECT(d.c_zero = 1, VITSA_ERR_RESERVED);
	EXPECT(d.a_stride = 3, VITSA_ERR_STRIDE);
	EXPECT(d.c_stride = 15, VITSA_ERR_STRIDE);
	EXPECT((d.flags = VITSA_DESC_B_TRANS, d.n = 8, d.b_stride = 3), VITSA_ERR_STRIDE);
	EXPECT(d.a_addr = UINT64_MAX - 8, VITSA_ERR_RANGE);
	EXPECT(d.c_addr = UINT64_MAX - 63, VITSA_ERR_OK);	/* last byte is 2^64 - 1 */
	EXPECT(d.c_addr = UINT64_MAX - 62, VITSA_ERR_RANGE);
	EXPECT(d.c_stride = UINT64_MAX / 2, VITSA_ERR_RANGE);
	EXPECT((d.m = VITSA_MODEL_MAX_DIM, d.a_stride = 1ull << 50), VITSA_ERR_RANGE);
#undef EXPECT
}

/* Model, reference and check all refuse @d with OVERLAP, and @mem is untouched. */
static void expect_overlap(const char *what, const struct vitsa_hw_desc *d, uint8_t *mem,
			   size_t size)
{
	struct vitsa_job_stats st;
	uint8_t *copy = malloc(size);
	uint32_t e1, e2, e3 = vitsa_desc_check(d);

	memcpy(copy, mem, size);
	e1 = run_model(d, mem, size, &st);
	e2 = vitsa_ref_gemm(d, mem, size);
	CHECK(e1 == VITSA_ERR_OVERLAP && e2 == VITSA_ERR_OVERLAP && e3 == VITSA_ERR_OVERLAP,
	      "%s: model %u ref %u check %u", what, e1, e2, e3);
	CHECK(!memcmp(copy, mem, size), "%s: memory written", what);
	free(copy);
}

TEST(overlap_refused)
{
	uint8_t mem[1024];
	struct vitsa_hw_desc d = good_desc();	/* A 0..15, B 64..79, C 128..191 */
	struct vitsa_job_stats st;

	for (size_t i = 0; i < sizeof(mem); i++)
		mem[i] = (uint8_t)(i * 37);
	/* the in-place GEMM: 1x128x128, C over A */
	d = (struct vitsa_hw_desc){
		.opcode = VITSA_OP_GEMM, .m = 1, .n = 128, .k = 128,
		.types = VITSA_DESC_TYPES(VITSA_DTYPE_S8, VITSA_DTYPE_S8, VITSA_DTYPE_S8),
		.flags = VITSA_DESC_REQUANT | VITSA_DESC_B_TRANS, .a_addr = 0, .b_addr = 0,
		.c_addr = 0, .rq_addr = 0, .a_stride = 128, .b_stride = 128, .c_stride = 128,
	};
	memset(mem, 0, 8 * 128);	/* shifts 0 */
	expect_overlap("in place", &d, mem, sizeof(mem));

	d = good_desc();
	d.c_addr = 15 - 15;		/* C's first byte is A's first */
	expect_overlap("C on A", &d, mem, sizeof(mem));
	d = good_desc();
	d.c_addr = 79 - 63;		/* C's last byte is B's first */
	expect_overlap("C ends on B", &d, mem, sizeof(mem));
	d = good_desc();
	d.a_stride = 128;		/* A's rows at 0, 128, 256, 384; C 4..67 in a gap */
	d.c_addr = 4;
	d.b_addr = 600;
	expect_overlap("C in A's row gaps", &d, mem, sizeof(mem));
	d = good_desc();
	d.flags = VITSA_DESC_BIAS;
	d.bias_addr = 191;		/* bias 191..206, C 128..191 */
	expect_overlap("C on bias", &d, mem, sizeof(mem));
	d = good_desc();
	d.flags = VITSA_DESC_REQUANT;
	d.types = VITSA_DESC_TYPES(VITSA_DTYPE_S8, VITSA_DTYPE_S8, VITSA_DTYPE_S8);
	d.c_stride = 4;
	d.rq_addr = 136;		/* rq 136..167, C 128..143 */
	memset(mem + 136, 0, 32);
	expect_overlap("C on rq", &d, mem, sizeof(mem));

	/* touching is not overlapping; inputs may share bytes; unused tables do not count */
	d = good_desc();
	d.c_addr = 16;			/* C 16..79 right after A 0..15 */
	d.b_addr = 80;
	CHECK(run_model(&d, mem, sizeof(mem), &st) == VITSA_ERR_OK, "C after A");
	d.c_addr = 300;
	d.c_stride = 16;
	d.b_addr = 236;			/* B 236..299, right before C */
	CHECK(run_model(&d, mem, sizeof(mem), &st) == VITSA_ERR_OK, "C after B");
	d = good_desc();
	d.b_addr = 0;			/* A and B the same bytes */
	CHECK(run_model(&d, mem, sizeof(mem), &st) == VITSA_ERR_OK, "A = B");
	CHECK(vitsa_ref_gemm(&d, mem, sizeof(mem)) == VITSA_ERR_OK, "ref: A = B");
	d.flags = VITSA_DESC_BIAS;
	d.bias_addr = 8;		/* bias over A and B */
	CHECK(vitsa_desc_check(&d) == VITSA_ERR_OK, "bias on A");
	CHECK(!strcmp(vitsa_err_name(VITSA_ERR_OVERLAP), "C overlaps an input"), "name");
}

/*
 * The reference on extents the checks allow up to 2^64 - 1: C from 0 to the last byte of the
 * address space wrapped (rows - 1) * stride + row_bytes to 0 and wrote before its memory; C over
 * the requant table re-read shifts it had overwritten.  Both are refused, nothing is written.
 */
TEST(ref_extent_to_top)
{
	uint8_t *buf = calloc(1024, 1), *mem = buf + 256;
	struct vitsa_hw_desc d = good_desc();
	uint64_t last;
	bool clean = true;

	CHECK(vitsa_extent_last(0, 2, UINT64_MAX - 15, 16, &last) && last == UINT64_MAX, "top");
	CHECK(!vitsa_extent_last(1, 2, UINT64_MAX - 15, 16, &last), "past the top");
	CHECK(vitsa_extent_last(UINT64_MAX, 1, 0, 1, &last) && last == UINT64_MAX, "last byte");
	d.m = 2;
	d.c_addr = 0;
	d.c_stride = UINT64_MAX - 15;	/* row 1 at -16: ends at 2^64 - 1 */
	d.a_addr = 256;
	d.b_addr = 320;
	memset(mem + 256, 1, 128);	/* C would be 4s */
	CHECK(vitsa_ref_gemm(&d, mem, 512) != VITSA_ERR_OK, "C to 2^64 - 1 accepted");
	for (int i = 0; i < 1024; i++)
		clean &= !buf[i] || (i >= 256 + 256 && i < 256 + 512);
	CHECK(clean, "written outside C's memory");

	d = good_desc();
	d.flags = VITSA_DESC_REQUANT;
	d.types = VITSA_DESC_TYPES(VITSA_DTYPE_S8, VITSA_DTYPE_S8, VITSA_DTYPE_S16);
	d.c_stride = 8;
	d.rq_addr = 128;		/* C's first row is rq[0] */
	memset(mem, 0x7f, 128);
	memset(mem + 128, 0, 32);
	CHECK(vitsa_ref_gemm(&d, mem, 512) == VITSA_ERR_OVERLAP, "C over rq accepted");
	free(buf);
}

TEST(requant_shift_limit)
{
	uint8_t mem[512] = { 0 };
	struct vitsa_hw_desc d = good_desc();
	struct vitsa_job_stats st;
	uint32_t shift = VITSA_RQ_MAX_SHIFT + 1;

	d.flags = VITSA_DESC_REQUANT;
	d.types = VITSA_DESC_TYPES(VITSA_DTYPE_S8, VITSA_DTYPE_S8, VITSA_DTYPE_S8);
	d.c_stride = 4;
	d.rq_addr = 256;
	memcpy(mem + 256 + 8 * 3 + 4, &shift, 4);
	memset(mem + 128, 0x77, 16);
	CHECK(run_model(&d, mem, sizeof(mem), &st) == VITSA_ERR_RQ, "shift 63 accepted");
	CHECK(mem[128] == 0x77 && mem[143] == 0x77, "C written despite a bad shift");
	CHECK(vitsa_ref_gemm(&d, mem, sizeof(mem)) == VITSA_ERR_RQ, "ref accepts shift 63");
	shift = VITSA_RQ_MAX_SHIFT;
	memcpy(mem + 256 + 8 * 3 + 4, &shift, 4);
	CHECK(run_model(&d, mem, sizeof(mem), &st) == VITSA_ERR_OK, "shift 62 refused");
}

TEST(dma_faults_and_cancel)
{
	uint8_t mem[512] = { 0 };
	struct vitsa_hw_desc d = good_desc();
	struct vitsa_job_stats st;
	struct flat f = { mem, sizeof(mem), 70, UINT64_MAX, -1 };	/* B at 64..79 */

	CHECK(vitsa_model_exec(&cfg16, &d, &flat_ops, &f, &st) == VITSA_ERR_DMA_READ, "read");
	CHECK(st.macs == 0 && st.cycles == 0, "stats of a failed job");
	f = (struct flat){ mem, sizeof(mem), UINT64_MAX, 130, -1 };
	CHECK(vitsa_model_exec(&cfg16, &d, &flat_ops, &f, &st) == VITSA_ERR_DMA_WRITE, "write");
	d.a_addr = 1ull << 40;
	f = (struct flat){ mem, sizeof(mem), UINT64_MAX, UINT64_MAX, -1 };
	CHECK(vitsa_model_exec(&cfg16, &d, &flat_ops, &f, &st) == VITSA_ERR_DMA_READ, "far");
	d = good_desc();
	f.cancel_after = 0;
	CHECK(vitsa_model_exec(&cfg16, &d, &flat_ops, &f, &st) == VITSA_ERR_ABORTED, "cancel");
	f.cancel_after = -1;
	CHECK(vitsa_model_exec(&cfg16, &d, &flat_ops, &f, &st) == VITSA_ERR_OK, "after cancel");
	CHECK(st.rd_bytes == 4 * 4 + 4 * 4 && st.wr_bytes == 4 * 16, "bytes %lu %lu",
	      st.rd_bytes, st.wr_bytes);
}

TEST(cycle_model)
{
	struct vitsa_model_cfg c32 = { .rows = 32, .cols = 32 };

	/* rows + tiles * max(M, rows) + rows + cols - 1 + 2, worked by hand */
	CHECK(vitsa_model_cycles(&cfg16, 16, 16, 16) == 16 + 16 + 31 + 2, "16^3");
	CHECK(vitsa_model_cycles(&cfg16, 1, 1, 1) == 16 + 16 + 31 + 2, "1^3");
	CHECK(vitsa_model_cycles(&cfg16, 197, 384, 384) == 16 + 576 * 197 + 31 + 2, "qkv-ish");
	CHECK(vitsa_model_cycles(&cfg16, 197, 197, 64) == 16 + 4 * 13 * 197 + 31 + 2, "qk^T");
	CHECK(vitsa_model_cycles(&c32, 100, 33, 65) == 32 + 3 * 2 * 100 + 63 + 2, "32x32");
}

TEST(dtype_traits)
{
	uint8_t row[4] = { 0 };

	for (int32_t v = -8; v <= 7; v++) {
		vitsa_dtypes[VITSA_DTYPE_S4].set(row, 1, v);
		CHECK(vitsa_dtypes[VITSA_DTYPE_S4].get(row, 1) == v, "s4 %d", v);
		CHECK((row[0] & 0xf) == 0, "s4 set touched the other nibble");
	}
	vitsa_dtypes[VITSA_DTYPE_S16].set(row, 1, -2);
	CHECK(row[2] == 0xfe && row[3] == 0xff, "s16 little-endian");
	CHECK(vitsa_dtypes[VITSA_DTYPE_S32].get((const uint8_t[]){ 0, 0, 0, 0x80 }, 0) == INT32_MIN,
	      "s32 min");
	CHECK(vitsa_row_bytes(VITSA_DTYPE_U4, 7) == 4 && vitsa_row_bytes(VITSA_DTYPE_S32, 3) == 12,
	      "row bytes");
	CHECK(vitsa_ref_rshift_round(-5, 1) == -2 && vitsa_ref_rshift_round(5, 1) == 3 &&
	      vitsa_ref_rshift_round(-6, 2) == -1 && vitsa_ref_rshift_round(INT64_MIN / 2, 62) == -1,
	      "rshift_round");
}

TAP_MAIN
