// SPDX-License-Identifier: MIT
/* The compiled model file: round trip, and every kind of damage refused with a clear message. */
#include <unistd.h>

#include "tap.h"
#include "vitrt_image.h"
#include "vitrt_infer.h"
#include "vitrt_ops.h"
#include "vitrt_prog.h"

static char dir[] = "/tmp/vitrt-prog-XXXXXX";
static char path[256];

/* A small well-formed program: one GEMM between two syncs and a layernorm. */
static struct vitrt_prog *sample(void)
{
	static struct vitrt_step steps[3];
	static struct vitrt_pgemm gemm;
	static uint8_t konst[4096];
	static char *labels[2] = { "cat", "dog" };
	static struct vitrt_prog p;

	for (size_t i = 0; i < sizeof(konst); i++)
		konst[i] = (uint8_t)(i * 7);
	gemm = (struct vitrt_pgemm){
		.m = 4, .n = 2, .k = 8, .a_type = VITRT_S8, .b_type = VITRT_S8, .c_type = VITRT_S32,
		.a = { VITRT_ARENA_ACT, 0, 0, 8 }, .b = { VITRT_ARENA_CONST, 0, 64, 8 },
		.c = { VITRT_ARENA_ACT, 0, 64, 8 }, .flags = VITRT_GEMM_B_TRANS,
	};
	steps[0] = (struct vitrt_step){ .op = VITRT_OP_GEMM };
	steps[1] = (struct vitrt_step){ .op = VITRT_OP_SYNC };
	steps[2] = (struct vitrt_step){ .op = VITRT_OP_LAYERNORM, .rows = 2, .cols = 4,
					.in0 = { VITRT_ARENA_ACT, 0, 128, 0 },
					.out = { VITRT_ARENA_ACT, 0, 160, 0 }, .p = { 1 << 30, 20 } };
	p = (struct vitrt_prog){
		.info = { .img = 4, .patch = 2, .chans = 1, .dim = 4, .depth = 1, .heads = 1,
			  .mlp = 16, .classes = 2, .tokens = 5, .scheme = VITRT_SCHEME_W8A8,
			  .array_rows = 16, .array_cols = 16, .logit_scale = 0.5f, .fp32_top1 = -1,
			  .interp = VITRT_INTERP_BILINEAR, .crop_pct = 0.9f },
		.arena = { konst, NULL }, .arena_size = { sizeof(konst), 256 },
		.steps = steps, .nsteps = 3, .gemms = &gemm, .ngemms = 1,
		.image = { VITRT_ARENA_ACT, 0, 200, 0 }, .logits = { VITRT_ARENA_ACT, 0, 240, 0 },
		.labels = labels,
	};
	return &p;
}

static uint8_t *slurp(size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b;

	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	b = malloc(*len);
	if (fread(b, 1, *len, f) != *len)
		*len = 0;
	fclose(f);
	return b;
}

static void spit(const uint8_t *b, size_t len)
{
	FILE *f = fopen(path, "wb");

	fwrite(b, 1, len, f);
	fclose(f);
}

/* Loading @path must fail with VITRT_EFORMAT and a message containing @want. */
static void refused(const char *what, const char *want)
{
	char msg[512] = "";
	int err;
	struct vitrt_prog *p = vitrt_prog_load(path, &err, msg, sizeof(msg));

	CHECK(!p && err == VITRT_EFORMAT, "%s: loaded (err %d)", what, err);
	CHECK(strstr(msg, want) && strstr(msg, path), "%s: message '%s' lacks '%s'", what, msg, want);
	vitrt_prog_free(p);
}

TEST(round_trip)
{
	char msg[512];
	int err;
	struct vitrt_prog *in = sample(), *out;

	CHECK(mkdtemp(dir), "mkdtemp");
	snprintf(path, sizeof(path), "%s/m.vitsa", dir);
	CHECK(vitrt_prog_validate(in, msg, sizeof(msg)) == 0, "sample invalid: %s", msg);
	CHECK(vitrt_prog_save(in, path, msg, sizeof(msg)) == 0, "save: %s", msg);
	out = vitrt_prog_load(path, &err, msg, sizeof(msg));
	CHECK(out, "load: %s", msg);
	if (!out)
		return;
	CHECK(!memcmp(&out->info, &in->info, sizeof(in->info)), "info");
	CHECK(out->nsteps == 3 && !memcmp(out->steps, in->steps, 3 * sizeof(*in->steps)), "steps");
	CHECK(out->ngemms == 1 && !memcmp(out->gemms, in->gemms, sizeof(*in->gemms)), "gemms");
	CHECK(out->arena_size[0] == 4096 && !memcmp(out->arena[0], in->arena[0], 4096), "const");
	CHECK(out->arena_size[1] == 256, "act size");
	CHECK(out->labels && !strcmp(out->labels[1], "dog"), "labels");
	out->info.crop_pct = 0;
	CHECK(vitrt_prog_validate(out, msg, sizeof(msg)) == VITRT_EFORMAT &&
	      strstr(msg, "bad preprocessing"), "crop 0 accepted");
	out->info.crop_pct = 1;
	out->info.interp = 2;
	CHECK(vitrt_prog_validate(out, msg, sizeof(msg)) == VITRT_EFORMAT &&
	      strstr(msg, "bad preprocessing"), "interpolation 2 accepted");
	vitrt_prog_free(out);
}

/*
 * Batches in flight on the in-process device: depth 1, so submit runs the batch and collect
 * gives it; every call out of turn is refused.  The sample with its logits read from its
 * image (two s16 of the pixels), so that a batch's logits are its own.  (Depth 2: the VM's
 * model suite, whose 32 images in batches of 8, two in flight on /dev/vitsa0, equal the
 * host's logits.)
 */
TEST(batches_in_flight_take_turns)
{
	static const uint8_t pix[3][16] = { { 1, 2, 3, 4 }, { 200, 100, 50, 25 }, { 9, 8, 7, 6 } };
	struct vitrt_prog q = *sample();
	struct vitrt_result want[2], got[2];
	float l0[2][2];		/* the sample's 2 classes of each image */
	char msg[512], qpath[300];
	uint32_t n = 9;
	int err;
	struct vitrt_infer *inf;

	q.logits = q.image;
	snprintf(qpath, sizeof(qpath), "%s/q.vitsa", dir);
	CHECK(vitrt_prog_save(&q, qpath, msg, sizeof(msg)) == 0, "save: %s", msg);
	inf = vitrt_infer_int(qpath, "sim", &err, msg, sizeof(msg));
	CHECK(inf, "open: %s", msg);
	if (!inf)
		return;
	CHECK(vitrt_infer_depth(inf) == 1, "depth %u in process", vitrt_infer_depth(inf));
	CHECK(vitrt_infer_collect_batch(inf, got, &n) == VITRT_EINVAL && n == 0, "empty collect");
	CHECK(vitrt_infer_set_batch(inf, 2) == 0, "batch 2");
	CHECK(vitrt_infer_run_batch(inf, pix[0], 2, want) == 0, "run");
	for (uint32_t i = 0; i < 2; i++)
		memcpy(l0[i], want[i].logits, sizeof(l0[i]));
	CHECK(vitrt_infer_run_batch(inf, pix[1], 2, want) == 0, "run other images");
	CHECK(memcmp(l0[0], want[0].logits, sizeof(l0[0])), "other images, the same logits");
	CHECK(vitrt_infer_submit_batch(inf, pix[0], 0) == VITRT_EINVAL, "0 images");
	CHECK(vitrt_infer_submit_batch(inf, pix[0], 3) == VITRT_EINVAL, "beyond the batch");
	CHECK(vitrt_infer_submit_batch(inf, pix[0], 2) == 0, "submit");
	CHECK(vitrt_infer_submit_batch(inf, pix[1], 2) == VITRT_EINVAL, "beyond the depth");
	CHECK(vitrt_infer_run_batch(inf, pix[1], 2, got) == VITRT_EINVAL, "run in flight");
	CHECK(vitrt_infer_run(inf, pix[1], got) == VITRT_EINVAL, "run one in flight");
	CHECK(vitrt_infer_set_batch(inf, 1) == VITRT_EINVAL, "set_batch in flight");
	CHECK(vitrt_infer_collect_batch(inf, got, &n) == 0 && n == 2, "collect %u", n);
	for (uint32_t i = 0; i < 2 && n == 2; i++)
		CHECK(!memcmp(l0[i], got[i].logits, sizeof(l0[i])),
		      "image %u: collected logits are not those of its images", i);
	CHECK(vitrt_infer_collect_batch(inf, got, &n) == VITRT_EINVAL && n == 0,
	      "second collect");
	CHECK(vitrt_infer_run_batch(inf, pix[0], 1, got) == 0, "run after the collect");
	vitrt_infer_free(inf);
}

TEST(damaged_files_refused)
{
	size_t len;
	uint8_t *good = slurp(&len), *b = malloc(len);
	uint32_t v;

	memcpy(b, good, len);
	b[len / 2] ^= 0x40;
	spit(b, len);
	refused("flipped bit", "checksum");
	spit(good, len - 10);
	refused("truncated", "truncated");
	spit(good, 20);
	refused("tiny", "too short");
	memcpy(b, good, len);
	memcpy(b, "GGUFxxxx", 8);
	spit(b, len);
	refused("magic", "bad magic");
	memcpy(b, good, len);
	v = 7;
	memcpy(b + 8, &v, 4);
	spit(b, len);
	refused("version", "version 7");
	free(b);
	free(good);
}

TEST(bad_schedules_refused)
{
	char msg[512];
	struct vitrt_prog *p = sample();

	p->gemms[0].c.offset = 250;		/* 4 rows of 8 bytes at 250 > 256 */
	CHECK(vitrt_prog_validate(p, msg, sizeof(msg)) == VITRT_EFORMAT && strstr(msg, "gemm 0"),
	      "gemm out of arena: %s", msg);
	p = sample();
	p->gemms[0].k = 0;
	CHECK(vitrt_prog_validate(p, msg, sizeof(msg)) == VITRT_EFORMAT, "k = 0");
	p = sample();
	p->gemms[0].c.arena = VITRT_ARENA_CONST;	/* results never go to constants */
	CHECK(vitrt_prog_validate(p, msg, sizeof(msg)) == VITRT_EFORMAT, "c in const");
	p = sample();
	p->gemms[0].b.stride = UINT64_MAX / 2;
	CHECK(vitrt_prog_validate(p, msg, sizeof(msg)) == VITRT_EFORMAT, "stride overflow");
	p = sample();
	p->steps[2].op = 99;
	CHECK(vitrt_prog_validate(p, msg, sizeof(msg)) == VITRT_EFORMAT && strstr(msg, "unknown op"),
	      "op: %s", msg);
	p = sample();
	p->steps[2].p[1] = 63;
	CHECK(vitrt_prog_validate(p, msg, sizeof(msg)) == VITRT_EFORMAT, "shift 63");
	p = sample();
	p->steps[0].index = 1;
	CHECK(vitrt_prog_validate(p, msg, sizeof(msg)) == VITRT_EFORMAT, "gemm index");
	p = sample();
	p->logits.offset = 255;
	CHECK(vitrt_prog_validate(p, msg, sizeof(msg)) == VITRT_EFORMAT, "logits");
	p = sample();
	p->info.scheme = 9;
	CHECK(vitrt_prog_validate(p, msg, sizeof(msg)) == VITRT_EFORMAT, "scheme");
	p = sample();
	p->arena_size[0] = VITRT_ARENA_CHUNK + 4096;
	p->gemms[0].b.offset = VITRT_ARENA_CHUNK - 8;	/* crosses a buffer boundary */
	CHECK(vitrt_prog_validate(p, msg, sizeof(msg)) == VITRT_EFORMAT, "chunk crossing");
	unlink(path);
	rmdir(dir);
}

/* @r moved @bytes further into its arena. */
static struct vitrt_pref at(struct vitrt_pref r, uint64_t bytes)
{
	r.offset += bytes;
	return r;
}

/* validate(@p) fails naming @want. */
static void invalid(struct vitrt_prog *p, const char *what, const char *want)
{
	char msg[512] = "";

	CHECK(vitrt_prog_validate(p, msg, sizeof(msg)) == VITRT_EFORMAT && strstr(msg, want),
	      "%s: '%s' lacks '%s'", what, msg, want);
}

/* runtime.rst's "Compiled model" limits, one past each refused by name, each limit passing. */
TEST(class_and_gemm_size_limits)
{
	struct vitrt_prog *p = sample();

	p->info.classes = 100001;
	invalid(p, "100001 classes", "bad model info (scheme 0, 100001 classes)");
	p = sample();
	p->info.classes = 100000;	/* passes; its 200000 bytes of logits then do not fit */
	invalid(p, "100000 classes", "image or logits outside the activation arena");
	for (int d = 0; d < 3; d++) {
		p = sample();
		(d == 0 ? &p->gemms[0].m : d == 1 ? &p->gemms[0].n : &p->gemms[0].k)[0] = 32769;
		invalid(p, "a side of 32769", "gemm 0: bad shape, type or flags");
		p = sample();
		(d == 0 ? &p->gemms[0].m : d == 1 ? &p->gemms[0].n : &p->gemms[0].k)[0] = 32768;
		invalid(p, "a side of 32768", "gemm 0: an operand lies outside its arena");
	}
}

TEST(misaligned_and_overlapping_tensors_refused)
{
	static const struct vitrt_pref act = { VITRT_ARENA_ACT, 0, 0, 0 };
	struct vitrt_prog *p = sample();
	struct vitrt_step *s = &p->steps[2];
	char msg[512];

	s->in0.offset = 129;			/* int16 rows at an odd byte */
	invalid(p, "odd in0", "step 2 (layernorm): an s16 tensor at an odd offset");
	p = sample();
	p->steps[2].in0.stride = 9;		/* second row odd */
	invalid(p, "odd stride", "an s16 tensor at an odd offset or stride");
	p = sample();
	p->steps[2] = (struct vitrt_step){ .op = VITRT_OP_EMBED, .rows = 2, .cols = 4,
					   .in0 = act, .in1 = act, .out = act };
	p->steps[2].in0.offset = 128;
	p->steps[2].in1.offset = 137;
	p->steps[2].out.offset = 160;
	invalid(p, "odd embed", "step 2 (embed): an s16 tensor at an odd offset");
	p = sample();
	p->logits.offset = 241;
	invalid(p, "odd logits", "s16 logits at an odd offset");
	/* fuzz_mfile's find: an embed of 0 rows mapped nothing, and its kernel read strides 0 */
	p = sample();
	p->steps[2] = (struct vitrt_step){ .op = VITRT_OP_EMBED, .rows = 0, .cols = 4,
					   .in0 = act, .in1 = act, .out = act };
	invalid(p, "embed of no rows", "step 2 (embed): no output rows");
	for (uint32_t op = 0; op < VITRT_OP_COUNT; op++) {
		if (!vitrt_op_traits(op)->vop)
			continue;
		for (int empty = 0; empty < 2; empty++) {
			p = sample();
			p->steps[2] = (struct vitrt_step){ .op = op, .rows = empty ? 0 : 2,
							   .cols = empty ? 4 : 0, .in0 = act,
							   .in1 = act, .out = act };
			CHECK(vitrt_prog_validate(p, msg, sizeof(msg)) == VITRT_EFORMAT,
			      "%s with %s accepted", vitrt_op_name(op), empty ? "0 rows" : "0 cols");
		}
	}

	p = sample();
	p->steps[2].out.offset = 128 + 15;	/* s8 output on the last byte of the input */
	invalid(p, "layernorm in place", "step 2 (layernorm): output overlaps an input");
	p = sample();
	p->steps[2].out.offset = 128 + 16;	/* right after it: fine */
	CHECK(!vitrt_prog_validate(p, msg, sizeof(msg)), "adjacent layernorm: %s", msg);
	p = sample();
	p->steps[2] = (struct vitrt_step){ .op = VITRT_OP_ADD, .rows = 2, .cols = 4,
					   .in0 = act, .in1 = act, .out = act, .p = { 1, 0, 1, 0 } };
	p->steps[2].in0.offset = 128;
	p->steps[2].in1.offset = 160;
	p->steps[2].out.offset = 128;		/* element for element over in0: allowed */
	CHECK(!vitrt_prog_validate(p, msg, sizeof(msg)), "add in place: %s", msg);
	p->steps[2].out.offset = 130;		/* shifted by one element */
	invalid(p, "add shifted", "step 2 (add): output overlaps an input");
	p = sample();
	p->gemms[0].c.offset = 24;		/* C over A's last row */
	invalid(p, "gemm C on A", "gemm 0: C overlaps an input");
}

/* validate(@p) with an ACT arena of @size bytes: 0, or fails naming @want. */
static void act_sized(struct vitrt_prog *p, uint64_t size, const char *what, const char *want)
{
	char msg[512] = "";

	p->arena_size[VITRT_ARENA_ACT] = size;
	if (want)
		invalid(p, what, want);
	else
		CHECK(!vitrt_prog_validate(p, msg, sizeof(msg)), "%s: %s", what, msg);
}

/* The ACT arena: no larger than its tensors reach (rounded up to 64), nor than the limit. */
TEST(act_arena_bounded)
{
	struct vitrt_prog *p = sample();
	struct { const char *name; struct vitrt_pref *r; uint64_t bytes; } last[] = {
		{ "image", &p->image, 16 }, { "logits", &p->logits, 4 },
		{ "gemm A", &p->gemms[0].a, 32 }, { "gemm C", &p->gemms[0].c, 32 },
		{ "step in0", &p->steps[2].in0, 16 }, { "step out", &p->steps[2].out, 8 },
	};
	char want[160];

	/* the sample's furthest byte is its logits' last, 244 */
	act_sized(p, 244, "arena of exactly its tensors", NULL);
	act_sized(p, 256, "arena rounded up to 64", NULL);
	act_sized(p, 257, "one byte past the rounding",
		  "activation arena of 257 bytes is larger than the 256 its tensors use");
	for (size_t i = 0; i < sizeof(last) / sizeof(last[0]); i++) {
		p = sample();
		last[i].r->offset = 1024 - last[i].bytes;	/* now the furthest tensor */
		act_sized(p, 1024, last[i].name, NULL);
		act_sized(p, 1025, last[i].name, "larger than the 1024 its tensors use");
	}
	p = sample();
	p->gemms[0].b.offset = 4096 - 16;	/* the end of CONST: no claim on ACT */
	act_sized(p, 1024, "a constant far in", "larger than the 256 its tensors use");

	p = sample();
	p->logits.offset = VITRT_MAX_ACT_BYTES - 4;	/* the logits end the largest arena */
	act_sized(p, VITRT_MAX_ACT_BYTES, "arena at the limit", NULL);
	snprintf(want, sizeof(want), "activation arena of %llu bytes per image is over the limit "
		 "of %llu (256 MiB)", VITRT_MAX_ACT_BYTES + 1, VITRT_MAX_ACT_BYTES);
	act_sized(p, VITRT_MAX_ACT_BYTES + 1, "arena one byte over the limit", want);
}

/* Every op has a row: a name, and parameter words that decode to what was encoded. */
TEST(op_table_round_trip)
{
	static const struct vitrt_pref none;

	for (uint32_t op = 0; op < VITRT_OP_COUNT; op++) {
		const struct vitrt_op_traits *t = vitrt_op_traits(op);
		union vitsa_vec_params in, out;
		struct vitrt_step s;

		CHECK(vitrt_op_known(op), "op %u has no row in the table", op);
		if (!vitrt_op_known(op))
			continue;
		for (size_t i = 0; i < sizeof(in); i++)
			((uint8_t *)&in)[i] = (uint8_t)(op * 31 + i * 7 + 1);
		s = vitrt_op_step(op, 3, 5, none, none, none, &in);
		vitrt_op_decode(&out, &s);
		CHECK(strcmp(vitrt_op_name(op), "?") && t->name == vitrt_op_name(op), "op %u name",
		      op);
		CHECK(s.op == op && s.rows == 3 && s.cols == 5, "op %u step", op);
		for (uint32_t i = 0; i < t->nwords; i++)
			CHECK(!memcmp((uint8_t *)&out + t->word[i], (uint8_t *)&in + t->word[i], 4),
			      "%s word %u", t->name, i);
		for (uint32_t i = t->nwords; i < VITRT_STEP_PARAMS; i++)
			CHECK(s.p[i] == 0, "%s word %u past the op's is %d", t->name, i, s.p[i]);
		CHECK(t->device == !t->vop, "%s: a device step or a vector op", t->name);
	}
	CHECK(!strcmp(vitrt_op_name(VITRT_OP_COUNT), "?"), "unknown op name");
}

TEST(op_table_checks_refused)
{
	static const struct vitrt_pref act = { VITRT_ARENA_ACT, 0, 0, 0 };
	struct vitrt_prog *p = sample();
	char msg[512];

	p->steps[2].p[2] = 1;			/* layernorm has two words */
	invalid(p, "word past", "step 2 (layernorm): a parameter word past the op's is not 0");
	p = sample();
	p->steps[2] = vitrt_op_step(VITRT_OP_INPUT, 0, 0, act, act, act,
				    &(union vitsa_vec_params){ .input = { 1, 4, 2 } });
	p->steps[2].in0.offset = 200;		/* the image: 16 bytes */
	p->steps[2].in1.arena = VITRT_ARENA_CONST;
	p->steps[2].out.offset = 128;		/* 4 patches of 4 */
	CHECK(!vitrt_prog_validate(p, msg, sizeof(msg)), "input: %s", msg);
	p->steps[2].p[2] = 3;			/* 4 % 3 */
	invalid(p, "input geometry", "step 2 (input): bad input geometry");
	p->steps[2].p[2] = 2;
	p->steps[2].out.offset = 200 - 15;	/* last patch byte on the image's first */
	invalid(p, "input overlap", "step 2 (input): output overlaps an input");
	p = sample();
	p->steps[2].rows = 0;
	invalid(p, "no rows", "step 2 (layernorm): bad shape 0x4");
	p = sample();
	p->steps[0].index = 5;
	invalid(p, "gemm index", "step 0 (gemm): no such gemm");
}

/* The long-row ops: a good step of each, then one malformed parameter or tensor. */
TEST(long_row_ops_refused)
{
	static const struct vitrt_pref act = { VITRT_ARENA_ACT, 0, 0, 0 };
	union vitsa_vec_params u = { .shiftmax16 = { .sm = { -4, 16, 0, 4, 0 }, .lo = 4 } };
	struct vitrt_prog *p = sample();
	char msg[512];

	p->steps[2] = vitrt_op_step(VITRT_OP_SHIFTMAX16, 2, 4, at(act, 128), act, at(act, 160),
				    &u);
	CHECK(!vitrt_prog_validate(p, msg, sizeof(msg)), "shiftmax16: %s", msg);
	p->steps[2].p[5] = 3;			/* the low parts over the high ones */
	invalid(p, "shiftmax16 lo", "step 2 (shiftmax16): parameters out of range");
	p = sample();
	p->steps[2] = vitrt_op_step(VITRT_OP_SHIFTMAX16, 2, 4, at(act, 128), act, at(act, 160),
				    &u);
	p->steps[2].out.offset = 132;		/* row 0's low parts on in0's second half */
	invalid(p, "shiftmax16 overlap", "step 2 (shiftmax16): output overlaps an input");

	u = (union vitsa_vec_params){ .join16.out = { 1 << 30, 20 } };
	p = sample();
	p->steps[2] = vitrt_op_step(VITRT_OP_JOIN16, 2, 4, at(act, 128), at(act, 160),
				    at(act, 192), &u);
	CHECK(!vitrt_prog_validate(p, msg, sizeof(msg)), "join16: %s", msg);
	p->steps[2].p[1] = 63;			/* shift past the device's 62 */
	invalid(p, "join16 shift", "step 2 (join16): parameters out of range");
	p->steps[2].p[1] = 20;
	p->steps[2].in1.offset = 162;		/* int32 rows two bytes off */
	invalid(p, "join16 align", "step 2 (join16): an s32 tensor at an offset or stride not");
}

/* W4A4's ops: packed rows of (cols + 1) / 2 bytes, GELU's zero point within u4. */
TEST(int4_ops_checked)
{
	struct vitrt_prog *p = sample();
	union vitsa_vec_params u = { .gelu.out = { 1, 14 }, .gelu.zero = 15 };
	struct vitrt_step *s = &p->steps[2];
	char msg[512];

	s->op = VITRT_OP_LAYERNORM_S4;
	s->out.offset = 252;			/* 2 rows of 2 bytes: the arena's last 4 */
	CHECK(!vitrt_prog_validate(p, msg, sizeof(msg)), "layernorm_s4: %s", msg);
	s->out.offset = 253;
	invalid(p, "s4 rows", "step 2 (layernorm_s4): a tensor lies outside its arena");
	p = sample();
	s = &p->steps[2];
	CHECK(!vitsa_gelu_params(&u.gelu.gelu, 0.05), "gelu params");
	*s = vitrt_op_step(VITRT_OP_GELU_U4, 2, 5, s->in0, s->in1, s->out, &u);
	s->out.offset = 250;			/* 2 rows of 3 bytes */
	CHECK(!vitrt_prog_validate(p, msg, sizeof(msg)), "gelu_u4: %s", msg);
	s->out.offset = 251;
	invalid(p, "u4 rows", "step 2 (gelu_u4): a tensor lies outside its arena");
	s->out.offset = 250;
	s->p[6] = 16;
	invalid(p, "zero point", "step 2 (gelu_u4): zero point out of range");
	s->p[6] = -1;
	invalid(p, "negative zero point", "step 2 (gelu_u4): zero point out of range");
}

TAP_MAIN
