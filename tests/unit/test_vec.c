// SPDX-License-Identifier: MIT
/*
 * vector unit tests (hardware 1.3, hw/model/vitsa_vec.c): every opcode on random descriptors
 * executed by vitsa_model_exec, operands mapped in place and copied through read/write, against
 * the _ref twins of vitsa_iops.h called on the same bytes; the extents, written out here from
 * Documentation/hw/vitsa.rst ("Vector unit") and compared with vitsa_vec_extent; every check
 * rule with its status, a refused descriptor touching no memory; the cycles of each op; vector
 * descriptors between GEMMs in vitsa_model_exec_group; a list's lanes (vitsa_lanes.h) against
 * pairs tested one by one, and lanes run in any order against the list in order.
 */
#include <math.h>
#include <stdint.h>

#include "tap.h"
#include "vitsa_lanes.h"
#include "vitsa_model.h"
#include "vitsa_timing.h"
#include "vitsa_vec.h"
#include "vtest.h"

#define NOPS	(VITSA_OP_VEC_END - VITSA_OP_VEC_FIRST)

static const char *const op_names[NOPS] = {
	"INPUT", "EMBED", "LAYERNORM", "LAYERNORM_S4", "SHIFTMAX", "SHIFTMAX16", "GELU",
	"GELU_U4", "ADD", "MEAN", "JOIN16",
};

static const char *op_name(uint32_t op)
{
	return vitsa_vec_op_valid(op) ? op_names[op - VITSA_OP_VEC_FIRST] : "?";
}

static struct vtest_rng rng = VTEST_RNG(0x2545f4914f6cdd1dull);

/* 2^e for e uniform in [lo, hi]. */
static double rnd_pow2(double lo, double hi)
{
	return exp2(lo + (hi - lo) * vtest_rng_unit(&rng));
}

/* ---- memory: an image whose addresses are offsets, every access counted ---- */

struct img {
	uint8_t *mem;
	size_t size;
	uint64_t fail_read_at, fail_write_at;	/* accesses reaching this fail */
	unsigned int reads, writes, maps;
	const uint8_t *may;		/* if set: MAY_READ may be read, MAY_WRITE written */
	unsigned int strays;		/* accesses outside them */
};

enum { MAY_READ = 1, MAY_WRITE = 2 };

/* Every byte of [addr, addr + len) allowed @what. */
static void img_allowed(struct img *m, uint64_t addr, size_t len, uint8_t what)
{
	for (size_t i = 0; m->may && i < len; i++)
		if (!(m->may[addr + i] & what)) {
			m->strays++;
			return;
		}
}

static bool img_inside(const struct img *m, uint64_t addr, uint64_t len)
{
	return addr <= m->size && len <= m->size - addr;
}

static int img_read(void *opaque, uint64_t addr, void *buf, size_t len)
{
	struct img *m = opaque;

	m->reads++;
	if (!img_inside(m, addr, len) || addr + len > m->fail_read_at)
		return -1;
	img_allowed(m, addr, len, MAY_READ);
	memcpy(buf, m->mem + addr, len);
	return 0;
}

static int img_write(void *opaque, uint64_t addr, const void *buf, size_t len)
{
	struct img *m = opaque;

	m->writes++;
	if (!img_inside(m, addr, len) || addr + len > m->fail_write_at)
		return -1;
	img_allowed(m, addr, len, MAY_WRITE);
	memcpy(m->mem + addr, buf, len);
	return 0;
}

static void *img_map(void *opaque, uint64_t addr, uint64_t len)
{
	struct img *m = opaque;

	m->maps++;
	return img_inside(m, addr, len) ? m->mem + addr : NULL;
}

/* A host's threads, one after the other, last range first: no order may matter. */
static void img_split(void *opaque, uint32_t items, uint32_t align,
		      void (*fn)(void *arg, uint32_t lo, uint32_t hi), void *arg)
{
	(void)opaque;
	for (uint32_t hi = items, lo; hi; hi = lo) {
		lo = hi > align ? (hi - 1) / align * align : 0;
		fn(arg, lo, hi);
	}
}

static void img_parallel(void *opaque, uint32_t tasks, void (*fn)(void *arg, uint32_t t),
			 void *arg)
{
	(void)opaque;
	while (tasks--)
		fn(arg, tasks);
}

static const struct vitsa_mem_ops ops_copy = { .read = img_read, .write = img_write };
static const struct vitsa_mem_ops ops_map = { .read = img_read, .write = img_write,
					      .map = img_map };
static const struct vitsa_mem_ops ops_threads = { .read = img_read, .write = img_write,
						  .map = img_map, .split = img_split,
						  .parallel = img_parallel };

static struct img img_of(uint8_t *mem, size_t size)
{
	return (struct img){ mem, size, UINT64_MAX, UINT64_MAX, 0, 0, 0, NULL, 0 };
}

static const struct vitsa_model_cfg cfg16 = { .rows = 16, .cols = 16 };

/* ---- the spec: operands, parameter words, the _ref twin of each op ---- */

/* An operand: rows of row_bytes, address and stride multiples of align; rows 0 if unused. */
struct opnd {
	uint64_t rows, row_bytes;
	uint32_t align;
};

static struct opnd rows_of(uint64_t rows, uint64_t row_bytes, uint32_t align)
{
	return (struct opnd){ rows, row_bytes, align };
}

/* The operands of a vector descriptor (Documentation/hw/vitsa.rst, "Vector unit"). */
static void spec_opnds(const struct vitsa_hw_desc *d, struct opnd *o)
{
	const uint32_t *w = d->param;
	uint64_t m = d->m, n = d->n;

	o[1] = rows_of(0, 0, 1);
	switch (d->opcode) {
	case VITSA_OP_INPUT:
		o[0] = rows_of(1, (uint64_t)w[0] * w[1] * w[1], 1);
		o[1] = rows_of(1, 256ull * w[0], 1);
		o[2] = rows_of(m, n, 1);
		break;
	case VITSA_OP_EMBED:
		o[0] = rows_of(m - w[0], 2 * n, 2);
		o[1] = o[2] = rows_of(m, 2 * n, 2);
		break;
	case VITSA_OP_LAYERNORM:
	case VITSA_OP_LAYERNORM_S4:
		o[0] = rows_of(m, 2 * n, 2);
		o[2] = rows_of(m, d->opcode == VITSA_OP_LAYERNORM ? n : (n + 1) / 2, 1);
		break;
	case VITSA_OP_SHIFTMAX:
	case VITSA_OP_GELU:
		o[0] = o[2] = rows_of(m, n, 1);
		break;
	case VITSA_OP_SHIFTMAX16:
		o[0] = rows_of(m, n, 1);
		o[2] = rows_of(m, w[5] + n, 1);
		break;
	case VITSA_OP_GELU_U4:
		o[0] = rows_of(m, n, 1);
		o[2] = rows_of(m, (n + 1) / 2, 1);
		break;
	case VITSA_OP_ADD:
		o[0] = o[1] = o[2] = rows_of(m, 2 * n, 2);
		break;
	case VITSA_OP_MEAN:
		o[0] = rows_of(m, 2 * n, 2);
		o[2] = rows_of(1, 2 * n, 2);
		break;
	case VITSA_OP_JOIN16:
		o[0] = o[1] = rows_of(m, 4 * n, 4);
		o[2] = rows_of(m, n, 1);
		break;
	}
	if (!o[0].rows)		/* EMBED of prefix rows alone */
		o[0] = rows_of(0, 0, 1);
}

static const uint8_t spec_nparams[NOPS] = { 3, 1, 2, 2, 5, 6, 6, 7, 4, 0, 2 };

/* The cycle model's class of each op (Documentation/hw/vitsa.rst, "The vector unit"). */
static enum vitsa_vop spec_class(uint32_t op)
{
	switch (op) {
	case VITSA_OP_LAYERNORM:
	case VITSA_OP_LAYERNORM_S4:
		return VITSA_VOP_LAYERNORM;
	case VITSA_OP_SHIFTMAX:
	case VITSA_OP_SHIFTMAX16:
		return VITSA_VOP_SHIFTMAX;
	case VITSA_OP_GELU:
	case VITSA_OP_GELU_U4:
		return VITSA_VOP_GELU;
	default:
		return VITSA_VOP_ADD;
	}
}

/* Parameter words, in the order the spec lists them. */
static void put_dyadic(uint32_t *w, struct vitsa_dyadic d)
{
	w[0] = (uint32_t)d.mult;
	w[1] = d.shift;
}

static struct vitsa_dyadic dyadic_at(const uint32_t *w)
{
	return (struct vitsa_dyadic){ (int32_t)w[0], w[1] };
}

static void put_shiftmax(uint32_t *w, const struct vitsa_shiftmax *p)
{
	w[0] = (uint32_t)p->x0, w[1] = p->n, w[2] = p->k, w[3] = p->max_len, w[4] = p->j;
}

static struct vitsa_shiftmax shiftmax_at(const uint32_t *w)
{
	return (struct vitsa_shiftmax){ (int32_t)w[0], w[1], w[2], w[3], w[4] };
}

static void put_gelu(uint32_t *w, const struct vitsa_gelu *p)
{
	w[0] = (uint32_t)p->x0, w[1] = p->n, w[2] = p->k, w[3] = p->j;
}

static struct vitsa_gelu gelu_at(const uint32_t *w)
{
	return (struct vitsa_gelu){ (int32_t)w[0], w[1], w[2], w[3] };
}

#define ROW(base, stride, r)	((base) + (uint64_t)(r) * (stride))

/* The element-wise ops, row by row through their _ref twins. */
static void ref_rows(const struct vitsa_hw_desc *d, uint8_t *in0, uint8_t *in1, uint8_t *out)
{
	const uint32_t *w = d->param;
	struct vitsa_gelu g = gelu_at(w);

	for (uint32_t r = 0; r < d->m; r++) {
		uint8_t *a = ROW(in0, d->a_stride, r), *b = ROW(in1, d->b_stride, r);
		uint8_t *c = ROW(out, d->c_stride, r);

		if (d->opcode == VITSA_OP_GELU)
			vitsa_gelu_s8_ref((int8_t *)c, (int8_t *)a, d->n, &g, dyadic_at(w + 4));
		else if (d->opcode == VITSA_OP_GELU_U4)
			vitsa_gelu_u4_ref(c, (int8_t *)a, d->n, &g, dyadic_at(w + 4),
					  (int32_t)w[6]);
		else if (d->opcode == VITSA_OP_ADD)
			vitsa_residual_add_ref((int16_t *)c, (int16_t *)a, (int16_t *)b, d->n,
					       dyadic_at(w), dyadic_at(w + 2));
		else
			vitsa_join16_s8_ref((int8_t *)c, (int32_t *)a, (int32_t *)b, d->n,
					    dyadic_at(w));
	}
}

/* What @d computes, by the _ref twins on the image @mem (addresses are offsets). */
static void ref_exec(const struct vitsa_hw_desc *d, uint8_t *mem)
{
	uint8_t *in0 = mem + d->a_addr, *in1 = mem + d->b_addr, *out = mem + d->c_addr;
	const uint32_t *w = d->param;
	struct vitsa_shiftmax sm = shiftmax_at(w);

	switch (d->opcode) {
	case VITSA_OP_INPUT:
		vitsa_patches_s8_ref((int8_t *)out, d->c_stride, in0, (int8_t *)in1, w[0], w[1],
				     w[2], 0, w[1] / w[2]);
		break;
	case VITSA_OP_EMBED:
		vitsa_embed_s16_ref((int16_t *)out, d->c_stride / 2, (int16_t *)in0,
				    d->a_stride / 2, (int16_t *)in1, d->b_stride / 2, w[0], 0, d->m,
				    d->n);
		break;
	case VITSA_OP_LAYERNORM:
		vitsa_layernorm_s8_ref((int8_t *)out, d->c_stride, (int16_t *)in0, d->a_stride / 2,
				       d->m, d->n, dyadic_at(w));
		break;
	case VITSA_OP_LAYERNORM_S4:
		vitsa_layernorm_s4_ref(out, d->c_stride, (int16_t *)in0, d->a_stride / 2, d->m,
				       d->n, dyadic_at(w));
		break;
	case VITSA_OP_SHIFTMAX:
		vitsa_shiftmax_ref(out, d->c_stride, (int8_t *)in0, d->a_stride, d->m, d->n, &sm);
		break;
	case VITSA_OP_SHIFTMAX16:
		vitsa_shiftmax16_ref(out, d->c_stride, w[5], (int8_t *)in0, d->a_stride, d->m, d->n,
				     &sm);
		break;
	case VITSA_OP_MEAN:
		vitsa_mean_s16_ref((int16_t *)out, (int16_t *)in0, d->a_stride / 2, d->m, d->n);
		break;
	default:
		ref_rows(d, in0, in1, out);
	}
}

/* Marks @bytes at @at, @rows rows @stride apart, with @what. */
static void mark_rows(uint8_t *may, uint64_t at, uint64_t rows, uint64_t stride, uint64_t bytes,
		      uint8_t what)
{
	for (uint64_t r = 0; r < rows; r++)
		for (uint64_t i = 0; i < bytes; i++)
			may[at + r * stride + i] |= what;
}

/*
 * What @d may touch: its inputs' rows to read, out's rows to write, SHIFTMAX16's two parts
 * without the gap between them; the bytes it writes in *@written.
 */
static void mark_access(const struct vitsa_hw_desc *d, uint8_t *may, uint64_t *written)
{
	struct opnd o[VITSA_VEC_OPNDS];
	uint64_t part, lo;

	spec_opnds(d, o);
	mark_rows(may, d->a_addr, o[0].rows, d->a_stride, o[0].row_bytes, MAY_READ);
	mark_rows(may, d->b_addr, o[1].rows, d->b_stride, o[1].row_bytes, MAY_READ);
	part = d->opcode == VITSA_OP_SHIFTMAX16 ? d->n : o[2].row_bytes;
	mark_rows(may, d->c_addr, o[2].rows, d->c_stride, part, MAY_WRITE);
	*written = o[2].rows * part;
	if (d->opcode == VITSA_OP_SHIFTMAX16) {
		lo = d->param[5];
		mark_rows(may, d->c_addr + lo, o[2].rows, d->c_stride, part, MAY_WRITE);
		*written *= 2;
	}
}

/* ---- random valid descriptors ---- */

static struct vitsa_dyadic rnd_dyadic(double lo, double hi)
{
	return vitsa_dyadic_from_ratio(rnd_pow2(lo, hi));
}

static void rnd_shiftmax(struct vitsa_hw_desc *d)
{
	struct vitsa_shiftmax p;

	while (vitsa_shiftmax_params(&p, rnd_pow2(-10, 1), vtest_rng_in(&rng, d->n, 4096)))
		;
	put_shiftmax(d->param, &p);
}

static void rnd_gelu(struct vitsa_hw_desc *d)
{
	struct vitsa_gelu g;

	while (vitsa_gelu_params(&g, rnd_pow2(-10, -1)))
		;
	put_gelu(d->param, &g);
	put_dyadic(d->param + 4, rnd_dyadic(-17, -11));
}

/* INPUT's geometry: 1..4 channels, patches of 1..4 pixels a side, 1..4 patches a side. */
static void rnd_input(struct vitsa_hw_desc *d)
{
	uint32_t chans = vtest_rng_in(&rng, 1, 4), patch = vtest_rng_in(&rng, 1, 4);
	uint32_t per = vtest_rng_in(&rng, 1, 4);

	d->param[0] = chans, d->param[1] = per * patch, d->param[2] = patch;
	d->m = per * per;
	d->n = chans * patch * patch;
}

/* Parameters of @d->opcode for m x n, from the constructors or within the valid ranges. */
static void rnd_params(struct vitsa_hw_desc *d)
{
	switch (d->opcode) {
	case VITSA_OP_INPUT:
		rnd_input(d);
		break;
	case VITSA_OP_EMBED:
		d->param[0] = vtest_rng_in(&rng, 0, d->m < 2 ? d->m : 2);
		break;
	case VITSA_OP_LAYERNORM:
	case VITSA_OP_LAYERNORM_S4:
		put_dyadic(d->param, rnd_dyadic(-30, -20));
		break;
	case VITSA_OP_SHIFTMAX16:
		d->param[5] = d->n + vtest_rng_in(&rng, 0, 9);
		/* fall through */
	case VITSA_OP_SHIFTMAX:
		rnd_shiftmax(d);
		break;
	case VITSA_OP_GELU_U4:
		d->param[6] = vtest_rng_in(&rng, 0, 15);
		/* fall through */
	case VITSA_OP_GELU:
		rnd_gelu(d);
		break;
	case VITSA_OP_ADD:
		put_dyadic(d->param, rnd_dyadic(-4, 2));
		put_dyadic(d->param + 2, rnd_dyadic(-4, 2));
		break;
	case VITSA_OP_JOIN16:
		put_dyadic(d->param, rnd_dyadic(-40, -22));
		break;
	}
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

/*
 * Lays the used operands out from @off in a random order, each after a gap, strides a row plus
 * 0..3 elements; ADD in place half of the time.  Returns the end of the last one.
 */
static uint64_t lay_out(struct vitsa_hw_desc *d, uint64_t off)
{
	uint64_t *addr[VITSA_VEC_OPNDS] = { &d->a_addr, &d->b_addr, &d->c_addr };
	uint64_t *stride[VITSA_VEC_OPNDS] = { &d->a_stride, &d->b_stride, &d->c_stride };
	struct opnd o[VITSA_VEC_OPNDS];
	uint32_t first = vtest_rng_in(&rng, 0, 2);

	spec_opnds(d, o);
	for (uint32_t i = 0; i < VITSA_VEC_OPNDS; i++) {
		uint32_t k = (first + i) % VITSA_VEC_OPNDS;

		if (!o[k].rows)
			continue;
		*stride[k] = o[k].row_bytes + o[k].align * vtest_rng_in(&rng, 0, 3);
		*addr[k] = align_up(off + vtest_rng_in(&rng, 1, 24), o[k].align);
		off = *addr[k] + (o[k].rows - 1) * *stride[k] + o[k].row_bytes;
	}
	/* x += branch, either side */
	if (d->opcode == VITSA_OP_ADD && vtest_rng_in(&rng, 0, 1)) {
		int k = vtest_rng_in(&rng, 0, 1);

		d->c_addr = *addr[k];
		d->c_stride = *stride[k];
	}
	return off;
}

/* A random valid descriptor of @op, at most @mmax x @nmax; returns the image size it needs. */
static size_t rnd_desc(struct vitsa_hw_desc *d, uint32_t op, uint32_t mmax, uint32_t nmax)
{
	memset(d, 0, sizeof(*d));
	d->opcode = op;
	d->seq = vtest_rng_u64(&rng);
	d->m = vtest_rng_in(&rng, 1, mmax);
	d->n = vtest_rng_in(&rng, 1, nmax);
	rnd_params(d);
	return lay_out(d, 0) + vtest_rng_in(&rng, 1, 24);
}

/* ---- running a descriptor against the reference ---- */

/* vitsa_vec_extent agrees with the spec's operands. */
static bool extent_is_spec(const struct vitsa_hw_desc *d)
{
	struct vitsa_vec_extent e;
	struct opnd o[VITSA_VEC_OPNDS];

	if (vitsa_vec_extent(d, &e))
		return false;
	spec_opnds(d, o);
	for (int i = 0; i < VITSA_VEC_OPNDS; i++)
		if (e.rows[i] != o[i].rows || e.row_bytes[i] != o[i].row_bytes ||
		    e.align[i] != o[i].align)
			return false;
	return true;
}

/* The stats of an executed @d: cycles of its class, no MACs, the bytes of its operands. */
static bool stats_are_spec(const struct vitsa_hw_desc *d, const struct vitsa_job_stats *st,
			   uint64_t written)
{
	struct opnd o[VITSA_VEC_OPNDS];
	uint64_t rd;

	spec_opnds(d, o);
	rd = o[0].rows * o[0].row_bytes + o[1].rows * o[1].row_bytes;
	return st->cycles == vitsa_vector_cycles(spec_class(d->opcode), cfg16.cols, d->m, d->n) &&
	       !st->macs && st->rd_bytes == rd && st->wr_bytes == written;
}

/*
 * @d on a random image of @size through each of @ops (NULL-terminated): byte for byte the
 * reference's image, out's bytes the only ones changed; copied, only the inputs' rows read and
 * only out's bytes written.
 */
static void run_vs_ref(const char *what, const struct vitsa_hw_desc *d, size_t size,
		       const struct vitsa_mem_ops *const *ops)
{
	uint8_t *orig = malloc(size), *want = malloc(size), *got = malloc(size);
	uint8_t *may = calloc(size, 1);
	const char *name = op_name(d->opcode);
	uint64_t written;

	vtest_rng_fill(&rng, orig, size);
	memcpy(want, orig, size);
	ref_exec(d, want);
	mark_access(d, may, &written);
	CHECK(extent_is_spec(d), "%s %s: extent", what, name);
	for (size_t i = 0; i < size; i++)
		CHECK((may[i] & MAY_WRITE) || want[i] == orig[i], "%s: ref wrote %zu", what, i);
	for (; *ops; ops++) {
		const char *how = (*ops)->map ? "mapped" : "copied";
		struct img m = img_of(got, size);
		struct vitsa_job_stats st;
		uint32_t e;

		memcpy(got, orig, size);
		m.may = may;
		e = vitsa_model_exec(&cfg16, d, *ops, &m, &st);
		CHECK(e == VITSA_ERR_OK, "%s %s %ux%u %s: %s", what, name, d->m, d->n, how,
		      vitsa_err_name(e));
		CHECK(!memcmp(got, want, size), "%s %s %ux%u %s: model != ref", what, name, d->m,
		      d->n, how);
		CHECK(!m.strays, "%s %s %s: %u accesses outside the operands", what, name, how,
		      m.strays);
		CHECK(stats_are_spec(d, &st, written), "%s %s: cycles %lu rd %lu wr %lu", what,
		      name, st.cycles, st.rd_bytes, st.wr_bytes);
	}
	free(orig);
	free(want);
	free(got);
	free(may);
}

static const struct vitsa_mem_ops *const both_ops[] = { &ops_map, &ops_copy, NULL };

TEST(random_small_model_equals_ref)
{
	for (uint32_t op = VITSA_OP_VEC_FIRST; op < VITSA_OP_VEC_END; op++) {
		for (int i = 0; i < 150; i++) {
			struct vitsa_hw_desc d;
			size_t size = rnd_desc(&d, op, 9, 40);

			CHECK(vitsa_desc_check(&d) == VITSA_ERR_OK, "%s %d: refused with %s",
			      op_name(op), i, vitsa_err_name(vitsa_desc_check(&d)));
			run_vs_ref("small", &d, size, both_ops);
		}
	}
}

/* Big enough to be split over the host's threads (which run the ranges last first). */
TEST(split_over_threads_equals_ref)
{
	static const struct vitsa_mem_ops *const ops[] = { &ops_threads, &ops_copy, NULL };

	for (uint32_t op = VITSA_OP_VEC_FIRST; op < VITSA_OP_VEC_END; op++) {
		for (int i = 0; i < 3; i++) {
			struct vitsa_hw_desc d = { .opcode = op, .m = vtest_rng_in(&rng, 50, 80),
						   .n = vtest_rng_in(&rng, 300, 400) };

			rnd_params(&d);
			if (op == VITSA_OP_INPUT) {	/* 32 rows of 32 patches of 4 x 4 */
				d.param[1] = 128, d.param[2] = 4;
				d.m = 32 * 32, d.n = d.param[0] * 16;
			}
			run_vs_ref("split", &d, lay_out(&d, 0) + 8, ops);
		}
	}
}

/* Edge shapes: one element, odd int4 rows, SHIFTMAX's longest row, SHIFTMAX16's parts adjacent. */
TEST(edge_shapes_equal_ref)
{
	static const uint32_t shapes[][2] = {
		{ 1, 1 }, { 1, 3 }, { 3, 1 }, { 2, 4096 }, { 7, 33 },
	};

	for (uint32_t op = VITSA_OP_VEC_FIRST; op < VITSA_OP_VEC_END; op++) {
		for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
			struct vitsa_hw_desc d = { .opcode = op, .m = shapes[s][0],
						   .n = shapes[s][1] };

			if (op == VITSA_OP_INPUT)
				continue;	/* its shape is its geometry's */
			rnd_params(&d);
			if (op == VITSA_OP_SHIFTMAX16)
				d.param[5] = d.n;	/* low parts right after the high ones */
			run_vs_ref("edge", &d, lay_out(&d, 0) + 8, both_ops);
		}
	}
}

/* ---- check rules: one descriptor of each op, mutated ---- */

#define RULE_IMG	4096	/* the image the rules' descriptors run on */

/* Valid parameters of @op: fixed, as the constructors give them. */
static void base_params(struct vitsa_hw_desc *d)
{
	struct vitsa_shiftmax sm;
	struct vitsa_gelu g;
	uint32_t *w = d->param;

	vitsa_shiftmax_params(&sm, 0.05, 64);
	vitsa_gelu_params(&g, 0.05);
	switch (d->opcode) {
	case VITSA_OP_INPUT:	/* one channel of 4 x 4 in 2 x 2 patches */
		w[0] = 1, w[1] = 4, w[2] = 2, d->m = 4, d->n = 4;
		break;
	case VITSA_OP_EMBED:
		w[0] = 1;
		break;
	case VITSA_OP_LAYERNORM:
	case VITSA_OP_LAYERNORM_S4:
		put_dyadic(w, (struct vitsa_dyadic){ 1 << 30, 52 });
		break;
	case VITSA_OP_SHIFTMAX16:
		w[5] = 8;
		/* fall through */
	case VITSA_OP_SHIFTMAX:
		put_shiftmax(w, &sm);
		break;
	case VITSA_OP_GELU_U4:
		w[6] = 3;
		/* fall through */
	case VITSA_OP_GELU:
		put_gelu(w, &g);
		put_dyadic(w + 4, (struct vitsa_dyadic){ 1 << 30, 44 });
		break;
	case VITSA_OP_ADD:
		put_dyadic(w, (struct vitsa_dyadic){ 1 << 30, 30 });
		put_dyadic(w + 2, (struct vitsa_dyadic){ -(1 << 29), 30 });
		break;
	case VITSA_OP_JOIN16:
		put_dyadic(w, (struct vitsa_dyadic){ 1 << 30, 40 });
		break;
	}
}

/* A valid 3 x 6 descriptor of @op: in0 at 0x100, in1 at 0x600, out at 0xa00, strides a row
 * plus one element. */
static struct vitsa_hw_desc base_desc(uint32_t op)
{
	struct vitsa_hw_desc d = { .opcode = op, .seq = 7, .m = 3, .n = 6 };
	uint64_t *addr[VITSA_VEC_OPNDS] = { &d.a_addr, &d.b_addr, &d.c_addr };
	uint64_t *stride[VITSA_VEC_OPNDS] = { &d.a_stride, &d.b_stride, &d.c_stride };
	static const uint64_t at[VITSA_VEC_OPNDS] = { 0x100, 0x600, 0xa00 };
	struct opnd o[VITSA_VEC_OPNDS];

	base_params(&d);
	spec_opnds(&d, o);
	for (int k = 0; k < VITSA_VEC_OPNDS; k++) {
		*addr[k] = o[k].rows ? at[k] : 0;
		*stride[k] = o[k].rows ? o[k].row_bytes + o[k].align : 0;
	}
	return d;
}

/*
 * @d is refused with @code by the check, and by the model in place and copied before any
 * memory access: nothing read or written, the stats zero.
 */
static void refused(const char *what, const struct vitsa_hw_desc *d, uint32_t code)
{
	static uint8_t mem[RULE_IMG], orig[RULE_IMG];
	const struct vitsa_mem_ops *const *ops;
	uint32_t e = vitsa_desc_check(d);

	CHECK(e == code, "%s %s: check %s, expected %s", op_name(d->opcode), what,
	      vitsa_err_name(e), vitsa_err_name(code));
	vtest_rng_fill(&rng, orig, sizeof(orig));
	for (ops = both_ops; *ops; ops++) {
		struct img m = img_of(mem, sizeof(mem));
		struct vitsa_job_stats st;

		memcpy(mem, orig, sizeof(mem));
		memset(&st, 0xff, sizeof(st));
		e = vitsa_model_exec(&cfg16, d, *ops, &m, &st);
		CHECK(e == code, "%s %s: model %s", op_name(d->opcode), what, vitsa_err_name(e));
		CHECK(!m.reads && !m.writes && !m.maps && !memcmp(mem, orig, sizeof(mem)),
		      "%s %s: %u reads, %u writes, %u maps", op_name(d->opcode), what, m.reads,
		      m.writes, m.maps);
		CHECK(!st.cycles && !st.macs && !st.rd_bytes && !st.wr_bytes, "%s %s: stats",
		      op_name(d->opcode), what);
	}
}

static void expect(const char *what, const struct vitsa_hw_desc *d, uint32_t code)
{
	if (code != VITSA_ERR_OK) {
		refused(what, d, code);
		return;
	}
	CHECK(vitsa_desc_check(d) == VITSA_ERR_OK, "%s %s: refused with %s", op_name(d->opcode),
	      what, vitsa_err_name(vitsa_desc_check(d)));
}

/* The base descriptor of @op mutated: refused with @code, or accepted (check only). */
#define EXPECT(op, mutation, code)						\
	do {									\
		struct vitsa_hw_desc d = base_desc(op);				\
		mutation;							\
		expect(#mutation, &d, code);					\
	} while (0)

/* The base descriptor of @op mutated: accepted and executed as the reference. */
#define RUNS(op, mutation)							\
	do {									\
		struct vitsa_hw_desc d = base_desc(op);				\
		mutation;							\
		run_vs_ref(#mutation, &d, RULE_IMG, both_ops);			\
	} while (0)

#define FOR_EACH_OP(op)	for (uint32_t op = VITSA_OP_VEC_FIRST; op < VITSA_OP_VEC_END; op++)

TEST(base_descriptors_run)
{
	FOR_EACH_OP(op)
		RUNS(op, (void)0);
}

TEST(rule_opcode)
{
	EXPECT(VITSA_OP_ADD, d.opcode = VITSA_OP_VEC_END, VITSA_ERR_OPCODE);
	EXPECT(VITSA_OP_ADD, d.opcode = VITSA_OP_VEC_FIRST - 1, VITSA_ERR_OPCODE);
	EXPECT(VITSA_OP_ADD, d.opcode = 0x100 | VITSA_OP_ADD, VITSA_ERR_OPCODE);
	EXPECT(VITSA_OP_ADD, d.opcode = 0, VITSA_ERR_OPCODE);
}

TEST(rule_flags)
{
	FOR_EACH_OP(op) {
		EXPECT(op, d.flags = VITSA_DESC_B_TRANS, VITSA_ERR_FLAGS);
		EXPECT(op, d.flags = 1u << 31, VITSA_ERR_FLAGS);
	}
}

TEST(rule_dims)
{
	FOR_EACH_OP(op) {
		EXPECT(op, d.m = 0, VITSA_ERR_DIMS);
		EXPECT(op, d.n = 0, VITSA_ERR_DIMS);
		EXPECT(op, d.m = VITSA_VEC_MAX_DIM + 1, VITSA_ERR_DIMS);
		EXPECT(op, d.n = VITSA_VEC_MAX_DIM + 1, VITSA_ERR_DIMS);
	}
	EXPECT(VITSA_OP_LAYERNORM, (d.m = VITSA_VEC_MAX_DIM, d.c_addr = 1ull << 32), VITSA_ERR_OK);
	EXPECT(VITSA_OP_MEAN, (d.n = VITSA_VEC_MAX_DIM, d.a_stride = d.c_stride = 1 << 16,
			       d.c_addr = 1ull << 32), VITSA_ERR_OK);
	/* an operand of at most 16 MiB: in0 of 32768 rows of 256 s16 is, of 257 is not */
	EXPECT(VITSA_OP_LAYERNORM, (d.m = VITSA_VEC_MAX_DIM, d.n = 256, d.a_stride = 512,
				    d.c_stride = 256, d.c_addr = 1ull << 32), VITSA_ERR_OK);
	EXPECT(VITSA_OP_LAYERNORM, (d.m = VITSA_VEC_MAX_DIM, d.n = 257, d.a_stride = 514,
				    d.c_stride = 257, d.c_addr = 1ull << 32), VITSA_ERR_DIMS);
	EXPECT(VITSA_OP_EMBED, (d.m = d.n = VITSA_VEC_MAX_DIM), VITSA_ERR_DIMS);
}

/* INPUT's geometry (1 channel, 4 x 4, patches of 2): its shape must be m and n. */
TEST(rule_dims_input_geometry)
{
	uint32_t op = VITSA_OP_INPUT;

	EXPECT(op, d.m = 5, VITSA_ERR_DIMS);
	EXPECT(op, d.n = 5, VITSA_ERR_DIMS);
	EXPECT(op, d.param[0] = 0, VITSA_ERR_DIMS);
	EXPECT(op, (d.param[0] = 5, d.n = 20), VITSA_ERR_DIMS);
	RUNS(op, (d.param[0] = 4, d.n = 16, d.a_stride = 64, d.b_stride = 1024, d.c_stride = 16));
	EXPECT(op, d.param[1] = 0, VITSA_ERR_DIMS);
	EXPECT(op, d.param[2] = 0, VITSA_ERR_DIMS);
	EXPECT(op, (d.param[1] = 5, d.a_stride = 25), VITSA_ERR_DIMS);	/* not by 2 */
	RUNS(op, (d.param[2] = 4, d.m = 1, d.n = 16, d.c_stride = 16));
	/* 4100 = 41 patches of 100: every other rule holds, the image is above 4096 */
	EXPECT(op, (d.param[1] = 4100, d.param[2] = 100, d.m = 41 * 41, d.n = 10000,
		    d.a_stride = 4100 * 4100, d.c_stride = 10000, d.c_addr = 1ull << 32),
	       VITSA_ERR_DIMS);
	EXPECT(op, (d.param[1] = 4096, d.param[2] = 64, d.m = 64 * 64, d.n = 4096,
		    d.a_stride = 4096 * 4096, d.c_stride = 4096, d.c_addr = 1ull << 32),
	       VITSA_ERR_OK);
}

TEST(rule_dims_embed_prefix_and_shiftmax16_lo)
{
	EXPECT(VITSA_OP_EMBED, d.param[0] = 3, VITSA_ERR_DIMS);
	EXPECT(VITSA_OP_EMBED, (d.m = 1, d.param[0] = 2), VITSA_ERR_DIMS);
	/* prefix = m: the stream is the prefix tokens alone, in0 unused */
	RUNS(VITSA_OP_EMBED, (d.m = 2, d.param[0] = 2, d.a_addr = d.a_stride = 0));
	RUNS(VITSA_OP_EMBED, (d.m = 1, d.param[0] = 1, d.a_addr = d.a_stride = 0));
	RUNS(VITSA_OP_EMBED, d.param[0] = 0);
	EXPECT(VITSA_OP_SHIFTMAX16, d.param[5] = d.n - 1, VITSA_ERR_DIMS);
	EXPECT(VITSA_OP_SHIFTMAX16, d.param[5] = 0, VITSA_ERR_DIMS);
	EXPECT(VITSA_OP_SHIFTMAX16, (d.param[5] = 65537, d.c_stride = 65537 + d.n),
	       VITSA_ERR_DIMS);
	EXPECT(VITSA_OP_SHIFTMAX16, (d.param[5] = 65536, d.c_stride = 65536 + d.n),
	       VITSA_ERR_OK);
	RUNS(VITSA_OP_SHIFTMAX16, (d.param[5] = d.n, d.c_stride = 2 * d.n));
}

/* The GEMM fields, each parameter word past the op's count, an unused operand's fields. */
TEST(rule_reserved)
{
	FOR_EACH_OP(op) {
		EXPECT(op, d.k = 1, VITSA_ERR_RESERVED);
		EXPECT(op, d.types = VITSA_DESC_TYPES(0, 0, VITSA_DTYPE_S32), VITSA_ERR_RESERVED);
		EXPECT(op, d.bias_addr = 0x100, VITSA_ERR_RESERVED);
		EXPECT(op, d.rq_addr = 8, VITSA_ERR_RESERVED);
		EXPECT(op, d.c_zero = -1, VITSA_ERR_RESERVED);
		for (uint32_t i = spec_nparams[op - VITSA_OP_VEC_FIRST]; i < 7; i++)
			EXPECT(op, d.param[i] = 1u << (i * 4), VITSA_ERR_RESERVED);
		CHECK(vitsa_vec_traits(op).nparams == spec_nparams[op - VITSA_OP_VEC_FIRST],
		      "%s: %u parameter words", op_name(op), vitsa_vec_traits(op).nparams);
		if (!base_desc(op).b_addr) {
			EXPECT(op, d.b_addr = 0x600, VITSA_ERR_RESERVED);
			EXPECT(op, d.b_stride = 1, VITSA_ERR_RESERVED);
		}
	}
	EXPECT(VITSA_OP_EMBED, (d.m = 1, d.param[0] = 1, d.a_stride = 0), VITSA_ERR_RESERVED);
	EXPECT(VITSA_OP_EMBED, (d.m = 1, d.param[0] = 1, d.a_addr = 0), VITSA_ERR_RESERVED);
	/* a GEMM's parameter words are reserved */
	refused("GEMM param[0]", &(struct vitsa_hw_desc){ .opcode = VITSA_OP_GEMM, .m = 1, .n = 1,
		.k = 1, .types = VITSA_DESC_TYPES(0, 0, VITSA_DTYPE_S32), .a_stride = 1,
		.b_stride = 1, .c_stride = 4, .c_addr = 8, .param = { 1 } }, VITSA_ERR_RESERVED);
}

/* Each op's parameter ranges; INPUT, EMBED and MEAN have none beyond their shape's. */
TEST(rule_param)
{
	for (uint32_t op = VITSA_OP_LAYERNORM; op <= VITSA_OP_LAYERNORM_S4; op++) {
		EXPECT(op, d.param[1] = VITSA_DYADIC_MAX_SHIFT + 1, VITSA_ERR_PARAM);
		RUNS(op, d.param[1] = VITSA_DYADIC_MAX_SHIFT);
		RUNS(op, d.param[1] = 0);
	}
	for (uint32_t op = VITSA_OP_SHIFTMAX; op <= VITSA_OP_SHIFTMAX16; op++) {
		EXPECT(op, d.param[0] = 0, VITSA_ERR_PARAM);			/* x0 */
		EXPECT(op, d.param[0] = (uint32_t)-(1 << 20) - 1, VITSA_ERR_PARAM);
		EXPECT(op, d.param[1] = 0, VITSA_ERR_PARAM);			/* n */
		EXPECT(op, d.param[1] = 31, VITSA_ERR_PARAM);
		EXPECT(op, d.param[2] = 0, VITSA_ERR_PARAM);		/* k: E too big */
		EXPECT(op, d.param[2] = 63, VITSA_ERR_PARAM);
		EXPECT(op, d.param[3] = 0, VITSA_ERR_PARAM);			/* max_len */
		EXPECT(op, d.param[3] = VITSA_SHIFTMAX_MAX_LEN + 1, VITSA_ERR_PARAM);
		EXPECT(op, d.param[3] = d.n - 1, VITSA_ERR_PARAM);		/* a row longer */
		RUNS(op, d.param[3] = d.n);
		EXPECT(op, d.param[4] = VITSA_EXP_MAX_J + 1, VITSA_ERR_PARAM);	/* j */
	}
	for (uint32_t op = VITSA_OP_GELU; op <= VITSA_OP_GELU_U4; op++) {
		EXPECT(op, d.param[0] = 1, VITSA_ERR_PARAM);
		EXPECT(op, d.param[1] = 0, VITSA_ERR_PARAM);
		EXPECT(op, d.param[2] = 0, VITSA_ERR_PARAM);	/* E above 2^16 */
		EXPECT(op, d.param[3] = VITSA_EXP_MAX_J + 1, VITSA_ERR_PARAM);
		EXPECT(op, d.param[5] = VITSA_DYADIC_MAX_SHIFT + 1, VITSA_ERR_PARAM);
	}
	EXPECT(VITSA_OP_GELU_U4, d.param[6] = (uint32_t)-1, VITSA_ERR_PARAM);	/* zero */
	EXPECT(VITSA_OP_GELU_U4, d.param[6] = 16, VITSA_ERR_PARAM);
	RUNS(VITSA_OP_GELU_U4, d.param[6] = 15);
	RUNS(VITSA_OP_GELU_U4, d.param[6] = 0);
	EXPECT(VITSA_OP_ADD, d.param[1] = VITSA_DYADIC_MAX_SHIFT + 1, VITSA_ERR_PARAM);
	EXPECT(VITSA_OP_ADD, d.param[3] = VITSA_DYADIC_MAX_SHIFT + 1, VITSA_ERR_PARAM);
	EXPECT(VITSA_OP_JOIN16, d.param[1] = VITSA_DYADIC_MAX_SHIFT + 1, VITSA_ERR_PARAM);
	RUNS(VITSA_OP_JOIN16, d.param[1] = VITSA_DYADIC_MAX_SHIFT);
}

/* Operand @k's address and stride in @d. */
static uint64_t *addr_of(struct vitsa_hw_desc *d, int k)
{
	return k == 0 ? &d->a_addr : k == 1 ? &d->b_addr : &d->c_addr;
}

static uint64_t *stride_of(struct vitsa_hw_desc *d, int k)
{
	return k == 0 ? &d->a_stride : k == 1 ? &d->b_stride : &d->c_stride;
}

/* Every used operand: a stride a byte short, misaligned s16 and s32 strides and addresses. */
TEST(rule_stride)
{
	FOR_EACH_OP(op) {
		struct vitsa_hw_desc b = base_desc(op);
		struct opnd o[VITSA_VEC_OPNDS];

		spec_opnds(&b, o);
		for (int k = 0; k < VITSA_VEC_OPNDS; k++) {
			uint64_t rb = o[k].row_bytes;

			if (!o[k].rows)
				continue;
			EXPECT(op, *stride_of(&d, k) = rb - 1, VITSA_ERR_STRIDE);
			EXPECT(op, *stride_of(&d, k) = 0, VITSA_ERR_STRIDE);
			RUNS(op, *stride_of(&d, k) = rb);
			for (uint32_t off = 1; off < o[k].align; off++) {
				EXPECT(op, *stride_of(&d, k) = rb + off, VITSA_ERR_STRIDE);
				EXPECT(op, *addr_of(&d, k) += off, VITSA_ERR_STRIDE);
			}
		}
	}
}

/* Every used operand ending on the last byte of the address space, then one step beyond. */
TEST(rule_range)
{
	FOR_EACH_OP(op) {
		struct vitsa_hw_desc b = base_desc(op);
		struct opnd o[VITSA_VEC_OPNDS];

		spec_opnds(&b, o);
		for (int k = 0; k < VITSA_VEC_OPNDS; k++) {
			uint64_t span = (o[k].rows - 1) * *stride_of(&b, k) + o[k].row_bytes;

			if (!o[k].rows)
				continue;
			EXPECT(op, *addr_of(&d, k) = -span, VITSA_ERR_OK);
			EXPECT(op, *addr_of(&d, k) = -span + o[k].align, VITSA_ERR_RANGE);
			EXPECT(op, *addr_of(&d, k) = -(uint64_t)o[k].align, VITSA_ERR_RANGE);
			if (o[k].rows > 1)	/* row 1 beyond the top */
				EXPECT(op, *stride_of(&d, k) = -4ull, VITSA_ERR_RANGE);
		}
	}
}

/* out on an input: from its first byte, by its last byte, in its row gaps. */
TEST(rule_overlap)
{
	FOR_EACH_OP(op) {
		struct vitsa_hw_desc b = base_desc(op);
		struct opnd o[VITSA_VEC_OPNDS];
		uint64_t out;

		spec_opnds(&b, o);
		out = (o[2].rows - 1) * b.c_stride + o[2].row_bytes;
		for (int k = 0; k < 2; k++) {
			uint64_t in = (o[k].rows - 1) * *stride_of(&b, k) + o[k].row_bytes;
			uint64_t at = *addr_of(&b, k), al = o[2].align;

			if (!o[k].rows)
				continue;
			EXPECT(op, d.c_addr = at + al, VITSA_ERR_OVERLAP);
			EXPECT(op, d.c_addr = (at + in - 1) / al * al, VITSA_ERR_OVERLAP);
			EXPECT(op, d.c_addr = at - out + al, VITSA_ERR_OVERLAP);
			RUNS(op, d.c_addr = at - out);			/* touching before */
			RUNS(op, d.c_addr = align_up(at + in, al));	/* touching after */
		}
	}
	/* in0's rows 0x100 apart, out between its first two */
	EXPECT(VITSA_OP_LAYERNORM, (d.a_stride = 0x100, d.c_addr = 0x100 + 12, d.c_stride = 6),
	       VITSA_ERR_OVERLAP);
	/* SHIFTMAX16: in0 inside the gap between out's high and low parts */
	EXPECT(VITSA_OP_SHIFTMAX16, (d.param[5] = 64, d.c_stride = 70, d.c_addr = 0x100 - 10),
	       VITSA_ERR_OVERLAP);
}

/* ADD may write in place, exactly on in0 or in1 (same address and stride), nothing else. */
TEST(rule_overlap_add_in_place)
{
	uint32_t op = VITSA_OP_ADD;

	RUNS(op, (d.c_addr = d.a_addr, d.c_stride = d.a_stride));
	RUNS(op, (d.c_addr = d.b_addr, d.c_stride = d.b_stride));
	RUNS(op, (d.b_addr = d.c_addr = d.a_addr, d.b_stride = d.c_stride = d.a_stride));
	RUNS(op, (d.b_addr = d.a_addr, d.b_stride = d.a_stride));	/* inputs may meet */
	EXPECT(op, (d.c_addr = d.a_addr, d.c_stride = d.a_stride + 2), VITSA_ERR_OVERLAP);
	EXPECT(op, (d.c_addr = d.a_addr, d.c_stride = d.a_stride - 2), VITSA_ERR_OVERLAP);
	EXPECT(op, (d.c_addr = d.a_addr + 2, d.c_stride = d.a_stride), VITSA_ERR_OVERLAP);
	EXPECT(op, (d.c_addr = d.a_addr - 2, d.c_stride = d.a_stride), VITSA_ERR_OVERLAP);
	/* on in0 exactly, but in1 shares a byte with it */
	EXPECT(op, (d.c_addr = d.a_addr, d.c_stride = d.a_stride, d.b_addr = d.a_addr + 14),
	       VITSA_ERR_OVERLAP);
	/* no other op writes in place */
	EXPECT(VITSA_OP_GELU, (d.c_addr = d.a_addr, d.c_stride = d.a_stride), VITSA_ERR_OVERLAP);
	EXPECT(VITSA_OP_SHIFTMAX, (d.c_addr = d.a_addr, d.c_stride = d.a_stride),
	       VITSA_ERR_OVERLAP);
	EXPECT(VITSA_OP_LAYERNORM, (d.c_addr = d.a_addr, d.c_stride = d.a_stride),
	       VITSA_ERR_OVERLAP);
	EXPECT(VITSA_OP_JOIN16, (d.c_addr = d.b_addr), VITSA_ERR_OVERLAP);
	EXPECT(VITSA_OP_EMBED, (d.c_addr = d.b_addr, d.c_stride = d.b_stride), VITSA_ERR_OVERLAP);
	RUNS(VITSA_OP_JOIN16, (d.b_addr = d.a_addr, d.b_stride = d.a_stride));
}

/* Two rules broken at once: the earlier one in the spec's order is reported. */
TEST(check_order)
{
	uint32_t ln = VITSA_OP_LAYERNORM;

	EXPECT(ln, (d.opcode = VITSA_OP_VEC_END, d.flags = 1), VITSA_ERR_OPCODE);
	EXPECT(ln, (d.flags = 1, d.m = 0), VITSA_ERR_FLAGS);
	EXPECT(ln, (d.m = 0, d.k = 1), VITSA_ERR_DIMS);
	EXPECT(VITSA_OP_SHIFTMAX16, (d.param[5] = 0, d.c_zero = 1), VITSA_ERR_DIMS);
	EXPECT(VITSA_OP_EMBED, (d.param[0] = 3, d.param[1] = 1), VITSA_ERR_DIMS);
	EXPECT(ln, (d.k = 1, d.param[1] = 63), VITSA_ERR_RESERVED);
	EXPECT(ln, (d.param[2] = 1, d.param[1] = 63), VITSA_ERR_RESERVED);
	EXPECT(ln, (d.param[1] = 63, d.a_stride = 1), VITSA_ERR_PARAM);
	EXPECT(ln, (d.param[1] = 63, d.c_addr = d.a_addr), VITSA_ERR_PARAM);
	EXPECT(ln, (d.a_stride = 1, d.c_addr = d.a_addr), VITSA_ERR_STRIDE);
	EXPECT(ln, (d.a_addr = -2, d.c_addr = -2), VITSA_ERR_RANGE);
	/* operand by operand: in0's range before out's stride, in0's stride before out's range */
	EXPECT(ln, (d.a_addr = -2, d.c_stride = 1), VITSA_ERR_RANGE);
	EXPECT(ln, (d.a_stride = 1, d.c_addr = -2), VITSA_ERR_STRIDE);
}

TEST(cycles)
{
	static const struct vitsa_model_cfg cfg8 = { .rows = 16, .cols = 8 };
	static uint8_t mem[RULE_IMG];
	struct vitsa_hw_desc d = base_desc(VITSA_OP_LAYERNORM);
	struct img m = img_of(mem, sizeof(mem));
	struct vitsa_job_stats st;

	/* rows * (2 * ceil(n / lanes) + 16), lanes the array's columns */
	d.n = 40, d.a_stride = 80, d.c_stride = 40;
	CHECK(vitsa_model_exec(&cfg16, &d, &ops_map, &m, &st) == 0 && st.cycles == 3 * (6 + 16),
	      "16 lanes: %lu", st.cycles);
	CHECK(vitsa_model_exec(&cfg8, &d, &ops_map, &m, &st) == 0 && st.cycles == 3 * (10 + 16),
	      "8 lanes: %lu", st.cycles);
	CHECK(vitsa_vector_cycles(VITSA_VOP_SHIFTMAX, 16, 2, 17) == 2 * (3 * 2 + 32), "shiftmax");
	CHECK(vitsa_vector_cycles(VITSA_VOP_GELU, 16, 4, 33) == 4 * 3, "gelu");
	CHECK(vitsa_vector_cycles(VITSA_VOP_ADD, 16, 5, 16) == 5, "add");
}

/* A failed read or write of an operand: DMA_READ or DMA_WRITE, no cycles, nothing written. */
TEST(dma_faults)
{
	static uint8_t mem[RULE_IMG], orig[RULE_IMG];
	struct vitsa_hw_desc d = base_desc(VITSA_OP_ADD);
	struct vitsa_job_stats st;
	struct img m = img_of(mem, sizeof(mem));
	uint32_t e;

	vtest_rng_fill(&rng, orig, sizeof(orig));
	memcpy(mem, orig, sizeof(mem));
	m.fail_read_at = d.b_addr + 20;		/* in1's second row */
	e = vitsa_model_exec(&cfg16, &d, &ops_copy, &m, &st);
	CHECK(e == VITSA_ERR_DMA_READ && !st.cycles && !memcmp(mem, orig, sizeof(mem)),
	      "read: %s, %lu cycles", vitsa_err_name(e), st.cycles);
	m = img_of(mem, sizeof(mem));
	m.fail_write_at = d.c_addr + 20;	/* out's second row */
	e = vitsa_model_exec(&cfg16, &d, &ops_copy, &m, &st);
	CHECK(e == VITSA_ERR_DMA_WRITE && !st.cycles, "write: %s", vitsa_err_name(e));
	d.a_addr = 1ull << 40;			/* beyond memory: the map fails too */
	m = img_of(mem, sizeof(mem));
	e = vitsa_model_exec(&cfg16, &d, &ops_map, &m, &st);
	CHECK(e == VITSA_ERR_DMA_READ, "far: %s", vitsa_err_name(e));
}

/* ---- vector descriptors between GEMMs in a group ---- */

/* @bytes of the image from @off on, 8-aligned after a gap. */
static uint64_t take(uint64_t *off, uint64_t bytes)
{
	uint64_t at = align_up(*off + vtest_rng_in(&rng, 1, 16), 8);

	*off = at + bytes;
	return at;
}

/*
 * An s8 GEMM, A m x k at @a, B k x n at @b, C at @c: S32, or @tc requantized by a table it
 * writes at @rq into @mem.
 */
static struct vitsa_hw_desc gemm_at(uint8_t *mem, uint32_t m, uint32_t n, uint32_t k,
				    uint64_t a, uint64_t b, uint64_t c, uint32_t tc, uint64_t rq)
{
	struct vitsa_hw_desc d = {
		.opcode = VITSA_OP_GEMM, .seq = vtest_rng_u64(&rng), .m = m, .n = n, .k = k,
		.types = VITSA_DESC_TYPES(VITSA_DTYPE_S8, VITSA_DTYPE_S8, tc),
		.a_addr = a, .b_addr = b, .c_addr = c, .a_stride = k, .b_stride = n,
		.c_stride = vitsa_row_bytes(tc, n),
	};

	if (tc == VITSA_DTYPE_S32)
		return d;
	d.flags = VITSA_DESC_REQUANT;
	d.rq_addr = rq;
	for (uint32_t i = 0; i < n; i++) {
		int32_t mult = (int32_t)vtest_rng_in(&rng, 1, 1 << 16);
		struct vitsa_hw_rq e = { vtest_rng_in(&rng, 0, 1) ? mult : -mult,
					 vtest_rng_in(&rng, 8, 20) };

		memcpy(mem + rq + 8 * i, &e, sizeof(e));
	}
	return d;
}

/* A vector op with random parameters and packed rows: in0, in1 (0 if unused), out. */
static struct vitsa_hw_desc vec_at(uint32_t op, uint32_t m, uint32_t n, uint64_t in0,
				   uint64_t in1, uint64_t out)
{
	struct vitsa_hw_desc d = { .opcode = op, .seq = vtest_rng_u64(&rng), .m = m, .n = n };
	struct opnd o[VITSA_VEC_OPNDS];

	rnd_params(&d);
	spec_opnds(&d, o);
	d.a_addr = in0, d.b_addr = in1, d.c_addr = out;
	d.a_stride = o[0].row_bytes, d.b_stride = o[1].row_bytes, d.c_stride = o[2].row_bytes;
	return d;
}

/*
 * One transformer-ish chain on t tokens of width w: GEMMs feeding vector ops feeding GEMMs,
 * in place adds, a wave of two GEMMs, a refused vector op and a refused GEMM, a GEMM writing
 * what a vector op read before.  Returns the count; the image is @*mem of @*size bytes.
 */
static uint32_t chain(struct vitsa_hw_desc *d, uint8_t **mem, size_t *size)
{
	uint32_t t = vtest_rng_in(&rng, 1, 24), w = vtest_rng_in(&rng, 1, 24);
	uint32_t k = vtest_rng_in(&rng, 1, 16), h = vtest_rng_in(&rng, 1, 16);
	uint64_t off = 0, x = take(&off, 2ull * t * w), a0 = take(&off, t * k);
	uint64_t b0 = take(&off, k * w), r0 = take(&off, 8 * w), c0 = take(&off, 2ull * t * w);
	uint64_t l = take(&off, t * w), b1 = take(&off, w * h), b2 = take(&off, w * h);
	uint64_t hi = take(&off, 4ull * t * h), lo = take(&off, 4ull * t * h);
	uint64_t j = take(&off, t * h), b3 = take(&off, h * w), r3 = take(&off, 8 * w);
	uint64_t p = take(&off, 2ull * t * w), c5 = take(&off, 4ull * t * w);
	uint64_t mo = take(&off, 2 * w), g = take(&off, t * w);
	uint8_t *m;

	*size = off + 16;
	*mem = m = malloc(*size);
	vtest_rng_fill(&rng, m, *size);
	d[0] = gemm_at(m, t, w, k, a0, b0, c0, VITSA_DTYPE_S16, r0);
	d[1] = vec_at(VITSA_OP_ADD, t, w, x, c0, x);
	d[2] = vec_at(VITSA_OP_LAYERNORM, t, w, x, 0, l);
	d[3] = gemm_at(m, t, h, w, l, b1, hi, VITSA_DTYPE_S32, 0);
	d[4] = gemm_at(m, t, h, w, l, b2, lo, VITSA_DTYPE_S32, 0);
	d[5] = vec_at(VITSA_OP_JOIN16, t, h, hi, lo, j);
	d[6] = gemm_at(m, t, w, h, j, b3, p, VITSA_DTYPE_S16, r3);
	d[7] = d[2];
	d[7].k = 1;					/* RESERVED */
	d[8] = gemm_at(m, t, w, k, a0, b0, c5, VITSA_DTYPE_S32, 0);
	d[9] = vec_at(VITSA_OP_ADD, t, w, p, x, x);
	d[10] = vec_at(VITSA_OP_MEAN, t, w, x, 0, mo);
	d[11] = vec_at(VITSA_OP_GELU, t, w, l, 0, g);
	d[12] = d[8];
	d[12].types = 0xfff;				/* TYPE */
	d[13] = gemm_at(m, t, h, w, g, b1, hi, VITSA_DTYPE_S32, 0);
	return 14;
}

TEST(group_with_vector_ops_equals_one_by_one)
{
	static const struct vitsa_mem_ops *const ops[] = { &ops_threads, &ops_map, &ops_copy };
	struct vitsa_hw_desc d[16];
	struct vitsa_job_stats st1[16], st2[16];
	uint32_t s1[16], s2[16];

	for (int round = 0; round < 40; round++) {
		uint8_t *mem, *want;
		size_t size;
		uint32_t n = chain(d, &mem, &size);
		struct img m = img_of(mem, size);

		want = malloc(size);
		memcpy(want, mem, size);
		m.mem = want;
		for (uint32_t i = 0; i < n; i++)
			s1[i] = vitsa_model_exec(&cfg16, &d[i], &ops_copy, &m, &st1[i]);
		CHECK(s1[7] == VITSA_ERR_RESERVED && s1[12] == VITSA_ERR_TYPE, "refused ones");
		for (size_t f = 0; f < sizeof(ops) / sizeof(ops[0]); f++) {
			uint8_t *got = malloc(size);

			memcpy(got, mem, size);
			m = img_of(got, size);
			vitsa_model_exec_group(&cfg16, d, n, ops[f], &m, st2, s2);
			CHECK(!memcmp(got, want, size), "round %d flavour %zu: memory", round, f);
			CHECK(!memcmp(s1, s2, n * sizeof(*s1)), "round %d flavour %zu: status",
			      round, f);
			CHECK(!memcmp(st1, st2, n * sizeof(*st1)), "round %d flavour %zu: stats",
			      round, f);
			free(got);
		}
		for (uint32_t i = 0; i < n; i++)
			CHECK(s1[i] == (i == 7 ? VITSA_ERR_RESERVED : i == 12 ? VITSA_ERR_TYPE : 0),
			      "round %d job %u: %s", round, i, vitsa_err_name(s1[i]));
		free(mem);
		free(want);
	}
}

/* ---- lanes ---- */

/* The bytes of @rows rows of @row_bytes, @stride apart, from @at, as [first, last]. */
static struct vitsa_span spec_span(uint64_t at, uint64_t rows, uint64_t stride, uint64_t row_bytes)
{
	if (!rows || !row_bytes)
		return (struct vitsa_span){ 1, 0 };
	return (struct vitsa_span){ at, at + (rows - 1) * stride + row_bytes - 1 };
}

/* What the valid @d reads (up to 4) and writes, from the spec. */
static void spec_touch(const struct vitsa_hw_desc *d, struct vitsa_span *in, struct vitsa_span *out)
{
	struct opnd o[VITSA_VEC_OPNDS];

	in[2] = in[3] = (struct vitsa_span){ 1, 0 };
	if (d->opcode == VITSA_OP_GEMM) {	/* s8 A and B, no B_TRANS, as gemm_at makes them */
		in[0] = spec_span(d->a_addr, d->m, d->a_stride, d->k);
		in[1] = spec_span(d->b_addr, d->k, d->b_stride, d->n);
		if (d->flags & VITSA_DESC_REQUANT)
			in[3] = spec_span(d->rq_addr, 1, 0, 8ull * d->n);
		*out = spec_span(d->c_addr, d->m, d->c_stride,
				 vitsa_row_bytes(VITSA_DESC_C_TYPE(d->types), d->n));
		return;
	}
	spec_opnds(d, o);
	in[0] = spec_span(d->a_addr, o[0].rows, d->a_stride, o[0].row_bytes);
	in[1] = spec_span(d->b_addr, o[1].rows, d->b_stride, o[1].row_bytes);
	*out = spec_span(d->c_addr, o[2].rows, d->c_stride, o[2].row_bytes);
}

/* Entries @i and @j share a byte one of them writes. */
static bool conflict(const struct vitsa_span (*in)[4], const struct vitsa_span *out, uint32_t i,
		     uint32_t j)
{
	if (vitsa_span_meet(out[i], out[j]))
		return true;
	for (int s = 0; s < 4; s++)
		if (vitsa_span_meet(out[i], in[j][s]) || vitsa_span_meet(out[j], in[i][s]))
			return true;
	return false;
}

static uint32_t find(uint32_t *up, uint32_t i)
{
	return up[i] == i ? i : (up[i] = find(up, up[i]));
}

static bool refused_desc(const struct vitsa_hw_desc *d)
{
	return d->opcode == VITSA_OP_GEMM ? vitsa_desc_check(d) : vitsa_vec_check(d);
}

/* A random valid GEMM or vector op within @span bytes, small and dense, so that many meet. */
static struct vitsa_hw_desc rnd_entry(uint8_t *mem, uint64_t span)
{
	struct vitsa_hw_desc d;

	do {
		uint32_t m = vtest_rng_in(&rng, 1, 6), n = vtest_rng_in(&rng, 1, 6);
		uint64_t at[4];

		for (int i = 0; i < 4; i++)
			at[i] = align_up(vtest_rng_in(&rng, 0, span - 512), 8);
		if (vtest_rng_in(&rng, 0, 2))
			d = gemm_at(mem, m, n, vtest_rng_in(&rng, 1, 6), at[0], at[1], at[2],
				    vtest_rng_in(&rng, 0, 1) ? VITSA_DTYPE_S32 : VITSA_DTYPE_S16,
				    at[3]);
		else
			d = vec_at(vtest_rng_in(&rng, 0, 1) ? VITSA_OP_ADD : VITSA_OP_GELU, m, n,
				   at[0], at[1], at[2]);
	} while (refused_desc(&d));
	return d;
}

/* The sets of entries @d[0..n) that conflicting pairs join, tested pair by pair. */
static uint32_t spec_sets(const struct vitsa_hw_desc *d, uint32_t n, struct vitsa_span (*in)[4],
			  struct vitsa_span *out)
{
	uint32_t up[n], sets = 0;

	for (uint32_t i = 0; i < n; i++) {
		spec_touch(&d[i], in[i], &out[i]);
		up[i] = i;
	}
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t j = 0; j < i; j++)
			if (conflict(in, out, i, j))
				up[find(up, i)] = find(up, j);
	for (uint32_t i = 0; i < n; i++)
		sets += find(up, i) == i;
	return sets;
}

/*
 * Random lists over a few KiB, so that entries meet often: vitsa_lanes_plan refuses exactly the
 * lists with a refused entry; otherwise every entry is in one lane, in list order, entries of
 * different lanes never conflict (every pair tested), the lanes are as many as the sets that
 * pairs join (up to max), and written[] marks exactly the inputs some output meets.
 */
TEST(lanes_are_independent_sets)
{
	enum { N = 48 };
	static uint8_t mem[6144];
	struct vitsa_hw_desc d[N];
	struct vitsa_span in[N][4], out[N];
	uint32_t order[N], first[VITSA_LANES_MAX + 1], lane[N];
	uint8_t written[N];
	int several = 0;

	for (int round = 0; round < 400; round++) {
		uint32_t n = vtest_rng_in(&rng, 1, N), max = vtest_rng_in(&rng, 1, 5), sets;
		uint64_t span = vtest_rng_in(&rng, 0, 1) ? 1024 : sizeof(mem);
		uint32_t lanes;

		for (uint32_t i = 0; i < n; i++)
			d[i] = rnd_entry(mem, span);
		if (round % 8 == 7) {		/* one refused entry: no lanes at all */
			struct vitsa_hw_desc *e = &d[vtest_rng_in(&rng, 0, n - 1)];

			if (e->opcode == VITSA_OP_GEMM)
				e->types = 0xfff;
			else
				e->k = 1;
			lanes = vitsa_lanes_plan(d, n, max, order, first, written);
			CHECK(!lanes, "round %d: %u lanes for a list with a refused entry", round,
			      lanes);
			continue;
		}
		lanes = vitsa_lanes_plan(d, n, max, order, first, written);
		sets = spec_sets(d, n, in, out);
		CHECK(lanes == (sets < max ? sets : max), "round %d: %u lanes of %u sets, max %u",
		      round, lanes, sets, max);
		if (!lanes)
			continue;
		several += lanes > 1;
		CHECK(first[0] == 0 && first[lanes] == n, "round %d: lanes hold %u of %u", round,
		      first[lanes] - first[0], n);
		for (uint32_t l = 0; l < lanes; l++)
			for (uint32_t p = first[l]; p < first[l + 1]; p++) {
				CHECK(p == first[l] || order[p] > order[p - 1],
				      "round %d lane %u: out of list order", round, l);
				lane[order[p]] = l;
			}
		for (uint32_t i = 0; i < n; i++) {
			uint8_t want = 0;

			for (uint32_t j = 0; j < i; j++)
				CHECK(lane[i] == lane[j] || !conflict(in, out, i, j),
				      "round %d: entries %u and %u conflict across lanes", round, j, i);
			for (int s = 0; s < 4; s++)
				for (uint32_t j = 0; j < n; j++)
					if (vitsa_span_meet(in[i][s], out[j]))
						want |= 1u << s;
			CHECK(written[i] == want, "round %d entry %u: written %#x, want %#x", round,
			      i, written[i], want);
		}
	}
	CHECK(several > 100, "%d lists of several lanes", several);
}

/* Append chain @c (its @n entries at offsets of its own image) to @d at @base, the refused out. */
static uint32_t append_chain(struct vitsa_hw_desc *d, const struct vitsa_hw_desc *c, uint32_t n,
			     uint64_t base)
{
	uint32_t kept = 0;

	for (uint32_t i = 0; i < n; i++) {
		struct vitsa_hw_desc e = c[i];

		if (refused_desc(&e))
			continue;
		e.a_addr += base;
		e.b_addr += e.b_addr || e.opcode == VITSA_OP_GEMM ? base : 0;
		e.c_addr += base;
		e.rq_addr += e.flags & VITSA_DESC_REQUANT ? base : 0;
		d[kept++] = e;
	}
	return kept;
}

/*
 * Several of the chains above side by side in one image: as many lanes as sets (max 3; a chain
 * is one or two), and running the lanes one after the other, the last lane first, gives the
 * memory, statuses and stats of the list in order.
 */
TEST(lanes_in_any_order_equal_the_list)
{
	enum { CHAINS = 4, PER = 16 };
	struct vitsa_hw_desc c[PER], d[CHAINS * PER];
	uint32_t order[CHAINS * PER], first[VITSA_LANES_MAX + 1];
	struct vitsa_span in[CHAINS * PER][4], out[CHAINS * PER];
	struct vitsa_job_stats st1[CHAINS * PER], st2[CHAINS * PER];
	uint32_t s1[CHAINS * PER], s2[CHAINS * PER];
	uint8_t written[CHAINS * PER];
	int several = 0;

	for (int round = 0; round < 30; round++) {
		uint32_t chains = vtest_rng_in(&rng, 1, CHAINS), n = 0, lanes, sets;
		uint8_t *mem = NULL, *want, *got;
		size_t size = 0;
		struct img m;

		for (uint32_t k = 0; k < chains; k++) {
			uint8_t *part;
			size_t psize;
			uint32_t cn = chain(c, &part, &psize);

			size = align_up(size, 8);	/* the vector ops' alignment holds */
			mem = realloc(mem, size + psize);
			memcpy(mem + size, part, psize);
			n += append_chain(d + n, c, cn, size);
			size += psize;
			free(part);
		}
		sets = spec_sets(d, n, in, out);
		want = malloc(size);
		got = malloc(size);
		memcpy(want, mem, size);
		memcpy(got, mem, size);
		lanes = vitsa_lanes_plan(d, n, 3, order, first, written);
		CHECK(lanes == (sets < 3 ? sets : 3), "round %d: %u lanes for %u sets", round, lanes,
		      sets);
		several += lanes > 1;
		m = img_of(want, size);
		for (uint32_t i = 0; i < n; i++)
			s1[i] = vitsa_model_exec(&cfg16, &d[i], &ops_map, &m, &st1[i]);
		m = img_of(got, size);
		for (uint32_t l = lanes; l-- > 0;)
			for (uint32_t p = first[l]; p < first[l + 1]; p++)
				s2[order[p]] = vitsa_model_exec(&cfg16, &d[order[p]], &ops_map, &m,
								&st2[order[p]]);
		CHECK(!memcmp(got, want, size), "round %d: memory", round);
		CHECK(!memcmp(s1, s2, n * sizeof(*s1)), "round %d: status", round);
		CHECK(!memcmp(st1, st2, n * sizeof(*st1)), "round %d: stats", round);
		free(mem);
		free(want);
		free(got);
	}
	CHECK(several > 10, "%d lists of several lanes", several);
}

TAP_MAIN
