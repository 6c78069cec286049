// SPDX-License-Identifier: MIT
/*
 * act_dump: the operands of real GEMMs for the activity study (Documentation/hw/activity.rst).
 *
 *   act_dump CKPT DATADIR CALIB_N IMAGE STRIDE OUTDIR MODEL...
 *
 * Repeats what `vitrt quantize -n CALIB_N` does (load, fold the norms, calibrate on the first
 * CALIB_N training images, compile) to learn the float scales the compiled file does not
 * keep, and insists that its program equals each MODEL file byte for byte, so the operands
 * are those of the files `vitrt quantize` wrote.  Then it runs test image IMAGE through each
 * MODEL on the in-process device and writes the linear-layer GEMMs of the first and last
 * block (and the patch embedding) to OUTDIR/<scheme>.<layer>.bin (act_dump.h), keeping
 * every STRIDE-th output channel (column of B): the GEMM of those channels, a sample that
 * keeps the gate-level simulation short.
 *
 * The GEMMs are caught by libvitrt's trace hook (vitrt_trace.h): the in-process device reports
 * each job right after it ran and before the next one starts, so its operands are read back
 * before a later job can overwrite them.  Every layer picked must have been seen.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "act_dump.h"
#include "vitrt_calib.h"
#include "vitrt_exec.h"
#include "vitrt_image.h"
#include "vitrt_trace.h"

#define MAX_PICK 16

/* One GEMM to keep: its number among the program's GEMMs and what dequantizes it. */
struct pick {
	uint32_t job;
	bool seen;
	char name[32];
	float s_a;
	const float *w;		/* the folded float weights [n][k], for the per-column scales */
	uint32_t n, k;		/* the shape the layer must have */
};

/* One image through one model: its jobs come one at a time, on the thread that runs it. */
static struct {
	struct pick pick[MAX_PICK];
	uint32_t npick, job, qmax, stride;	/* job: the GEMMs seen so far */
	const char *dir, *scheme;
	int err;
} cap;

static int die(const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "act_dump: ");
	fprintf(stderr, fmt, a, b);
	fputc('\n', stderr);
	return 1;
}

/* Element @i of a row of @t codes, as its value. */
static int16_t elem(const uint8_t *row, uint32_t i, uint32_t t)
{
	uint8_t nib;

	switch (t) {
	case VITRT_S8: return (int8_t)row[i];
	case VITRT_U8: return row[i];
	default:
		nib = (row[i / 2] >> (4 * (i % 2))) & 0xf;
		return t == VITRT_S4 ? (int16_t)(nib ^ 8) - 8 : nib;
	}
}

static int write_all(FILE *f, const void *p, size_t n) { return fwrite(p, 1, n, f) != n; }

/* The operands of job @g as values: A [m][k], B [k][@nk] (columns 0, S, 2S, ..) whatever its storage. */
static void read_ops(const struct vitrt_gemm *g, int16_t *a, int16_t *b, uint32_t nk)
{
	const uint8_t *pa = (const uint8_t *)vitrt_buf_map(g->a.buf) + g->a.offset;
	const uint8_t *pb = (const uint8_t *)vitrt_buf_map(g->b.buf) + g->b.offset;
	int trans = g->flags & VITRT_GEMM_B_TRANS;

	for (uint32_t m = 0; m < g->m; m++)
		for (uint32_t k = 0; k < g->k; k++)
			a[m * g->k + k] = elem(pa + m * g->a.stride, k, g->a_type);
	for (uint32_t k = 0; k < g->k; k++)
		for (uint32_t j = 0, n = 0; j < nk; j++, n += cap.stride)
			b[k * nk + j] = trans ? elem(pb + n * g->b.stride, k, g->b_type) :
						elem(pb + k * g->b.stride, n, g->b_type);
}

/* Write @p's operands and scales to DIR/<scheme>.<name>.bin (a temporary, then rename). */
static int dump(const struct vitrt_gemm *g, const struct pick *p)
{
	struct act_dump_hdr h = { .version = ACT_DUMP_VERSION, .m = g->m, .k = g->k,
				  .a_type = g->a_type, .b_type = g->b_type, .s_a = p->s_a };
	uint32_t nk = (g->n + cap.stride - 1) / cap.stride;
	int16_t *a = malloc(sizeof(*a) * g->m * g->k), *b = malloc(sizeof(*b) * g->k * nk);
	float *sb = malloc(sizeof(*sb) * nk);
	char path[512], tmp[520];
	FILE *f;
	int bad;

	memcpy(h.magic, ACT_DUMP_MAGIC, 8);
	snprintf(h.name, sizeof(h.name), "%s", p->name);
	snprintf(path, sizeof(path), "%s/%s.%s.bin", cap.dir, cap.scheme, p->name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (!a || !b || !sb || !(f = fopen(tmp, "wb"))) {
		free(a), free(b), free(sb);
		return die("%s: %s", tmp, strerror(errno ? errno : ENOMEM));
	}
	h.n = nk;
	read_ops(g, a, b, nk);
	for (uint32_t j = 0; j < nk; j++)
		sb[j] = (float)vitrt_weight_scale(p->w + (size_t)j * cap.stride * g->k, g->k,
						   (int)cap.qmax);
	bad = write_all(f, &h, sizeof(h)) || write_all(f, a, sizeof(*a) * g->m * g->k) ||
	      write_all(f, b, sizeof(*b) * g->k * nk) || write_all(f, sb, sizeof(*sb) * nk);
	bad |= fclose(f) != 0;
	free(a), free(b), free(sb);
	if (bad || rename(tmp, path))
		return die("%s: %s", path, "write failed");
	return 0;
}

/* A job of the image's run just completed: if it is a GEMM picked, its operands to a file. */
static void on_job(void *arg, const struct vitrt_trace_event *ev)
{
	const struct vitrt_gemm *g = &ev->job->gemm;

	(void)arg;
	if (ev->kind != VITRT_TRACE_JOB || ev->job->kind != VITRT_JOB_GEMM)
		return;
	for (uint32_t p = 0; p < cap.npick; p++) {
		struct pick *pk = &cap.pick[p];

		if (pk->job != cap.job)
			continue;
		pk->seen = true;
		if (g->n != pk->n || g->k != pk->k)
			cap.err = die("%s: the job is not this layer (%s)", pk->name,
				      "schedule changed?");
		else if (dump(g, pk))
			cap.err = 1;
	}
	cap.job++;
}

/* Every layer picked was dumped (a hook that saw no jobs would leave the study no files). */
static int all_seen(const char *file)
{
	for (uint32_t p = 0; p < cap.npick; p++)
		if (!cap.pick[p].seen)
			return die("%s: no GEMM %s ran", file, cap.pick[p].name);
	return 0;
}

static void add_pick(uint32_t job, const char *name, float s_a, const float *w, uint32_t n,
		     uint32_t k)
{
	struct pick *p = &cap.pick[cap.npick++];

	*p = (struct pick){ .job = job, .s_a = s_a, .w = w, .n = n, .k = k };
	snprintf(p->name, sizeof(p->name), "%s", name);
}

/*
 * Jobs in program order (vitrt_compile.c): the patch embedding, then per block qkv, H logit
 * and H output GEMMs of the heads, proj, fc1, fc2.
 */
static void pick_layers(const struct vitrt_vit *m, const struct vitrt_scales *sc)
{
	const struct vitrt_vit_config *c = &m->cfg;
	uint32_t per = 4 + 2 * c->heads, last = c->depth - 1;
	uint32_t blocks[2] = { 0, last };
	char name[32];

	cap.npick = 0;
	add_pick(0, "embed", sc->input, m->patch_w, c->dim, c->chans * c->patch * c->patch);
	for (uint32_t i = 0; i < (last ? 2u : 1u); i++) {
		uint32_t b = blocks[i], base = 1 + b * per;
		const struct vitrt_vit_block *w = &m->blocks[b];
		const struct vitrt_layer_scales *ls = &sc->layer[b];

		snprintf(name, sizeof(name), "b%u.qkv", b);
		add_pick(base, name, ls->norm1, w->qkv_w, 3 * c->dim, c->dim);
		snprintf(name, sizeof(name), "b%u.proj", b);
		add_pick(base + per - 3, name, ls->attn, w->proj_w, c->dim, c->dim);
		snprintf(name, sizeof(name), "b%u.fc1", b);
		add_pick(base + per - 2, name, ls->norm2, w->fc1_w, c->mlp, c->dim);
		snprintf(name, sizeof(name), "b%u.fc2", b);
		add_pick(base + per - 1, name, ls->gelu, w->fc2_w, c->dim, c->mlp);
	}
}

/* @file's program must be the one compiled here from the same scales. */
static int same_prog(const struct vitrt_prog *a, const struct vitrt_prog *b, const char *file)
{
	const uint64_t n = a->arena_size[VITRT_ARENA_CONST];

	if (n != b->arena_size[VITRT_ARENA_CONST] || memcmp(a->arena[0], b->arena[0], n) ||
	    a->ngemms != b->ngemms || memcmp(a->gemms, b->gemms, a->ngemms * sizeof(*a->gemms)))
		return die("%s: not the program act_dump compiles (%s)", file,
			   "quantized with another -n, scheme or array?");
	return 0;
}

/* Compile @scheme here, check it against @file, run test image @img through it, dump. */
static int run_model(const struct vitrt_vit *m, const struct vitrt_scales *sc, const char *file,
		     const uint8_t *img)
{
	char msg[1024];
	int err;
	struct vitrt_prog *f = vitrt_prog_load(file, &err, msg, sizeof(msg));
	struct vitrt_prog *p = NULL;
	struct vitrt_dev *dev = NULL;
	struct vitrt_session *s = NULL;
	int16_t logits[64];
	int ret = 1;

	if (!f)
		return die("%s%s", msg, "");
	p = vitrt_compile(m, sc, &(struct vitrt_compile_opts){ .scheme = f->info.scheme,
		.array_rows = f->info.array_rows, .array_cols = f->info.array_cols,
		.fp32_top1 = -1 }, &err, msg, sizeof(msg));
	if (!p || same_prog(p, f, file))
		goto out;
	cap.scheme = vitrt_scheme_name(f->info.scheme);
	cap.qmax = f->info.scheme == VITRT_SCHEME_W8A8 ? 127 : 7;
	cap.job = 0;
	for (uint32_t i = 0; i < cap.npick; i++)
		cap.pick[i].seen = false;
	dev = vitrt_dev_open("sim", &err);
	if (dev)
		vitrt_dev_set_tracer(dev, &(struct vitrt_tracer){ .event = on_job });
	s = dev ? vitrt_session_new(dev, f, &err) : NULL;
	if (!s || f->info.classes > 64 || (err = vitrt_session_run(s, img, logits))) {
		die("%s: running it failed (%s)", file, vitrt_strerror(err));
		goto out;
	}
	ret = cap.err ?: all_seen(file);
out:
	vitrt_session_free(s);
	vitrt_dev_close(dev);
	vitrt_prog_free(p);
	vitrt_prog_free(f);
	return ret;
}

int main(int argc, char **argv)
{
	struct vitrt_scales sc = { 0 };
	struct vitrt_dataset *train = NULL, *test = NULL;
	struct vitrt_vit *m;
	char msg[1024];
	int err, ret = 1;
	uint32_t img;

	if (argc < 8)
		return fprintf(stderr, "usage: act_dump CKPT DATADIR CALIB_N IMAGE STRIDE OUTDIR MODEL...\n"), 2;
	img = (uint32_t)strtoul(argv[4], NULL, 0);
	cap.stride = (uint32_t)strtoul(argv[5], NULL, 0);
	cap.dir = argv[6];
	if (!cap.stride)
		return fprintf(stderr, "act_dump: STRIDE must be positive\n"), 2;
	m = vitrt_vit_load(argv[1], &err, msg, sizeof(msg));
	if (!m)
		return die("%s%s", msg, "");
	train = vitrt_dataset_open_dir(argv[2], "train", &err, msg, sizeof(msg));
	test = train ? vitrt_dataset_open_dir(argv[2], "t10k", &err, msg, sizeof(msg)) : NULL;
	if (!test || vitrt_dataset_check(test, m->cfg.img, m->cfg.classes, msg, sizeof(msg)) ||
	    img >= test->count) {
		die("%s%s", test ? msg : "", img >= (test ? test->count : 0) ? " (IMAGE)" : "");
		goto out;
	}
	vitrt_vit_fold_norms(m);
	if (vitrt_calib_dataset(m, train, (uint32_t)strtoul(argv[3], NULL, 0), 8, &sc, NULL)) {
		die("calibration failed%s%s", "", "");
		goto out;
	}
	pick_layers(m, &sc);
	ret = 0;
	for (int i = 7; i < argc && !ret; i++)
		ret = run_model(m, &sc, argv[i], test->pix + (size_t)img * test->chans *
				m->cfg.img * m->cfg.img);
out:
	free(sc.layer);
	vitrt_dataset_close(test);
	vitrt_dataset_close(train);
	vitrt_vit_free(m);
	return ret;
}
