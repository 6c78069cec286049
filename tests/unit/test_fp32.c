// SPDX-License-Identifier: MIT
/*
 * The FP32 side of libvitrt: the ViT forward against PyTorch (tests/golden/fp32, made by
 * make_refs.py), LayerNorm folding, the taps, the sgemm against its reference, and every
 * reader (safetensors, the ViT loader and its sidecar, IDX, PNG, JPEG) on good and on broken
 * files, generated here in a temporary directory.  Broken files must give an error whose
 * message names the file and the problem; none may crash.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jpeglib.h>

#include "tap.h"
#include "vitrt_image.h"
#include "vitrt_safetensors.h"
#include "vitrt_vit.h"

TAP_MAIN

/* max |a - b| / max |b| over one image's logits, as PyTorch comparisons in llm.c (issue 12) */
#define MAX_LOGITS_REL_ERROR	1e-5
#define MAX_FOLD_REL_ERROR	1e-5
#define MAX_SGEMM_REL_ERROR	1e-5

static char tmpdir[64];
static char msg[1024];

static const char *golden_dir(void)
{
	const char *d = getenv("VITRT_GOLDEN");

	return d ? d : "tests/golden/fp32";
}

/* A path in the temporary directory (a few rotating buffers). */
static const char *tmp(const char *name)
{
	static char bufs[4][256];
	static int i;
	char *b = bufs[i++ % 4];

	if (!tmpdir[0]) {
		strcpy(tmpdir, "/tmp/vitrt-fp32.XXXXXX");
		if (!mkdtemp(tmpdir)) {
			perror("mkdtemp");
			exit(1);
		}
	}
	snprintf(b, sizeof(bufs[0]), "%s/%s", tmpdir, name);
	return b;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(path);
}

__attribute__((destructor)) static void cleanup(void)
{
	if (tmpdir[0])
		nftw(tmpdir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static void *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (!fseek(f, 0, SEEK_END) && (n = ftell(f)) >= 0 && !fseek(f, 0, SEEK_SET)) {
		buf = malloc(n + 1);
		if (buf && fread(buf, 1, n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		*len = n;
	}
	fclose(f);
	return buf;
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(data, 1, len, f) != len) {
		perror(path);
		exit(1);
	}
	fclose(f);
}

static void write_text(const char *path, const char *text)
{
	write_file(path, text, strlen(text));
}

/* Error code @want and a message holding both @path and @needle. */
#define CHECK_ERR(err, want, path, needle)						\
	do {										\
		CHECK((err) == (want), "error %d (%s), want %d; message: %s", (err),	\
		      vitrt_strerror(err), (want), msg);				\
		CHECK(strstr(msg, path) != NULL, "message does not name %s: %s", path, msg); \
		CHECK(strstr(msg, needle) != NULL, "message lacks \"%s\": %s", needle, msg); \
	} while (0)

/* ---- the forward against PyTorch ---- */

static double rel_error(const float *a, const float *b, uint32_t n)
{
	double maxd = 0, maxb = 0;

	for (uint32_t i = 0; i < n; i++) {
		maxd = fmax(maxd, fabs((double)a[i] - b[i]));
		maxb = fmax(maxb, fabs((double)b[i]));
	}
	return maxb > 0 ? maxd / maxb : maxd;
}

/* @ckpt's forward on @dir/<name>.input.f32 against <name>.logits.f32; the worst error. */
static double check_golden_in(const char *dir, const char *name, const char *ckpt,
			      const char *format)
{
	char in_path[512], out_path[512];
	struct vitrt_vit *m;
	size_t in_len = 0, out_len = 0, isz, n;
	float *in, *ref, *logits;
	double worst = 0;
	int err;

	snprintf(in_path, sizeof(in_path), "%s/%s.input.f32", dir, name);
	snprintf(out_path, sizeof(out_path), "%s/%s.logits.f32", dir, name);
	m = vitrt_vit_load(ckpt, &err, msg, sizeof(msg));
	CHECK(m, "load %s: %s", ckpt, msg);
	in = read_file(in_path, &in_len);
	ref = read_file(out_path, &out_len);
	CHECK(in && ref, "cannot read %s or %s", in_path, out_path);
	if (!m || !in || !ref)
		goto out;
	CHECK(!strcmp(m->format, format), "format %s, want %s", m->format, format);
	isz = (size_t)m->cfg.chans * m->cfg.img * m->cfg.img;
	n = in_len / (isz * sizeof(float));
	CHECK(n > 0 && in_len == n * isz * sizeof(float) &&
	      out_len == n * m->cfg.classes * sizeof(float),
	      "%s: %zu input bytes and %zu logit bytes for %zu images", name, in_len, out_len, n);
	logits = calloc(m->cfg.classes, sizeof(float));
	for (size_t i = 0; i < n && out_len == n * m->cfg.classes * sizeof(float); i++) {
		const float *r = ref + i * m->cfg.classes;
		double e;

		CHECK(!vitrt_vit_forward(m, in + i * isz, logits, NULL, NULL), "forward");
		e = rel_error(logits, r, m->cfg.classes);
		if (i == 0)
			for (uint32_t j = 0; j < 3 && j < m->cfg.classes; j++)
				printf("# %s[0][%u]: %+.7f %+.7f\n", name, j, logits[j], r[j]);
		CHECK(e <= MAX_LOGITS_REL_ERROR, "%s image %zu: relative error %.3g", name, i, e);
		worst = fmax(worst, e);
	}
	printf("# %s: %zu images, C=%u depth=%u heads=%u, max relative error %.3g (%s)\n", name, n,
	       m->cfg.dim, m->cfg.depth, m->cfg.heads, worst,
	       worst <= MAX_LOGITS_REL_ERROR ? "OK" : "NOT OK");
	free(logits);
out:
	free(in);
	free(ref);
	vitrt_vit_free(m);
	return worst;
}

static double check_golden(const char *name, const char *ckpt, const char *format)
{
	return check_golden_in(golden_dir(), name, ckpt, format);
}

static const char *golden(const char *name)
{
	static char buf[512];

	snprintf(buf, sizeof(buf), "%s/%s", golden_dir(), name);
	return buf;
}

TEST(golden_torchvision)
{
	check_golden("tvvit", golden("tvvit.safetensors"), "torchvision");
}

TEST(golden_timm)
{
	check_golden("timmvit", golden("timmvit.safetensors"), "timm");
}

TEST(golden_shipped_model)
{
	const char *ckpt = getenv("VITRT_FMNIST_MODEL");

	check_golden("fmnist16", ckpt ? ckpt : "models/vit-fmnist.safetensors", "timm");
}

/*
 * timm's variants (make_refs.py, timm_ref.py): each loads as the variant it is and its
 * forward is PyTorch's.  deit3 is a model folder (model.safetensors + config.json).
 */
TEST(golden_variants)
{
	static const struct {
		const char *name, *ckpt, *variant;
		uint32_t prefix, pool;
		bool fc_norm;
	} v[] = {
		{ "deitdist", "deitdist.safetensors", "DeiT distilled", 2, VITRT_POOL_TOKEN,
		  false },
		{ "gapvit", "gapvit.safetensors", "average-pooled ViT (fc_norm)", 1, VITRT_POOL_AVG,
		  true },
		{ "gapnocls", "gapnocls.safetensors", "average-pooled ViT", 0, VITRT_POOL_AVG,
		  false },
		{ "deit3", "deit3", "DeiT-III", 1, VITRT_POOL_TOKEN, false },
	};
	struct vitrt_vit *m;
	int err;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		m = vitrt_vit_load(golden(v[i].ckpt), &err, msg, sizeof(msg));
		CHECK(m, "%s", msg);
		if (!m)
			continue;
		CHECK(!strcmp(m->variant, v[i].variant) && m->cfg.prefix == v[i].prefix &&
		      m->cfg.pool == v[i].pool && m->cfg.fc_norm == v[i].fc_norm,
		      "%s: %s, %u prefix tokens, pool %u, fc_norm %d", v[i].name, m->variant,
		      m->cfg.prefix, m->cfg.pool, m->cfg.fc_norm);
		vitrt_vit_free(m);
		check_golden(v[i].name, golden(v[i].ckpt), "timm");
	}
}

/*
 * The full-size set (DeiT-S/ViT-B shapes at 224 and 384, patches 8 to 32, every variant) of
 * scripts/fp32_fullsize.sh: only when VITRT_FP32_FULL names its directory (not in make check:
 * the checkpoints are 90 to 350 MB each).
 */
TEST(full_size)
{
	const char *dir = getenv("VITRT_FP32_FULL");
	char list[512], line[512], name[128], ckpt[128], format[32], path[768];
	unsigned n = 0;
	FILE *f;

	if (!dir) {
		printf("# skipped: no VITRT_FP32_FULL (scripts/fp32_fullsize.sh sets it)\n");
		return;
	}
	snprintf(list, sizeof(list), "%s/list.txt", dir);
	f = fopen(list, "r");
	CHECK(f, "cannot read %s", list);
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%127s %127s %31s", name, ckpt, format) != 3)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, ckpt);
		check_golden_in(dir, name, path, format);
		n++;
	}
	if (f)
		fclose(f);
	CHECK(n > 0, "%s lists no model", list);
}

/* ---- folding and taps ---- */

/* Folding the norms into the Linears after them moves @path's logits by rounding only. */
static void check_fold(const char *path)
{
	struct vitrt_vit *m;
	float *img, a[64], b[64];
	size_t isz;
	int err;

	m = vitrt_vit_load(path, &err, msg, sizeof(msg));
	CHECK(m, "%s", msg);
	if (!m)
		return;
	isz = (size_t)m->cfg.chans * m->cfg.img * m->cfg.img;
	img = malloc(isz * sizeof(float));
	for (size_t i = 0; i < isz; i++)
		img[i] = sinf(0.37f * i) * 1.5f;
	CHECK(m->cfg.classes <= 64, "classes");
	vitrt_vit_forward(m, img, a, NULL, NULL);
	vitrt_vit_fold_norms(m);
	vitrt_vit_forward(m, img, b, NULL, NULL);
	CHECK(rel_error(b, a, m->cfg.classes) <= MAX_FOLD_REL_ERROR, "folded: relative error %.3g",
	      rel_error(b, a, m->cfg.classes));
	printf("# %s folded vs unfolded: relative error %.3g\n", m->variant,
	       rel_error(b, a, m->cfg.classes));
	for (uint32_t l = 0; l < m->cfg.depth; l++)
		for (uint32_t i = 0; i < m->cfg.dim; i++)
			CHECK(m->blocks[l].norm1_w[i] == 1 && m->blocks[l].norm2_b[i] == 0,
			      "block %u not folded", l);
	free(img);
	vitrt_vit_free(m);
}

/* The distillation head and average pooling (before or after the norm) fold too. */
TEST(fold_norms)
{
	static const char *const ckpts[] = {
		"timmvit.safetensors", "deitdist.safetensors", "gapvit.safetensors",
		"gapnocls.safetensors", "deit3",
	};

	for (size_t i = 0; i < sizeof(ckpts) / sizeof(ckpts[0]); i++)
		check_fold(golden(ckpts[i]));
}

struct tap_log {
	const struct vitrt_vit_config *cfg;
	unsigned calls[VITRT_TAP_COUNT];
	int order_ok;
	int last;
	uint32_t last_layer;
	int bad_size;
	int zero_normf;
};

static size_t tap_size(const struct vitrt_vit_config *c, enum vitrt_tap t)
{
	size_t T = c->tokens, C = c->dim;

	switch (t) {
	case VITRT_TAP_INPUT: return (size_t)c->chans * c->img * c->img;
	case VITRT_TAP_LOGITS:
	case VITRT_TAP_PROBS: return c->heads * T * T;
	case VITRT_TAP_FC1:
	case VITRT_TAP_GELU: return T * c->mlp;
	case VITRT_TAP_NORMF: return vitrt_vit_normf_rows(c) * C;
	case VITRT_TAP_LOGITS_OUT: return c->classes;
	default: return T * C;
	}
}

static void log_hook(void *ctx, enum vitrt_tap tap, uint32_t layer, float *x, size_t n)
{
	struct tap_log *lg = ctx;
	bool in_block = tap >= VITRT_TAP_NORM1 && tap <= VITRT_TAP_RES2;

	lg->calls[tap]++;
	if (n != tap_size(lg->cfg, tap))
		lg->bad_size++;
	/* taps come in enum order, block taps once per layer in layer order */
	if (in_block && tap == VITRT_TAP_NORM1) {
		if (lg->last != (layer ? VITRT_TAP_RES2 : VITRT_TAP_EMBED))
			lg->order_ok = 0;
	} else if ((int)tap != lg->last + 1) {
		lg->order_ok = 0;
	}
	if (in_block && tap != VITRT_TAP_NORM1 && layer != lg->last_layer)
		lg->order_ok = 0;
	lg->last = tap;
	lg->last_layer = layer;
	if (tap == VITRT_TAP_PROBS) {
		/* rows sum to 1 */
		for (size_t r = 0; r < n / lg->cfg->tokens; r++) {
			double s = 0;

			for (uint32_t j = 0; j < lg->cfg->tokens; j++)
				s += x[r * lg->cfg->tokens + j];
			if (fabs(s - 1) > 1e-5)
				lg->bad_size++;
		}
	}
	if (tap == VITRT_TAP_NORMF && lg->zero_normf)
		memset(x, 0, n * sizeof(*x));
}

TEST(taps)
{
	struct tap_log lg = { .order_ok = 1, .last = -1 };
	struct vitrt_vit *m;
	float img[3 * 32 * 32], logits[16];
	int err;

	m = vitrt_vit_load(golden("tvvit.safetensors"), &err, msg, sizeof(msg));
	CHECK(m, "%s", msg);
	if (!m)
		return;
	lg.cfg = &m->cfg;
	CHECK(m->cfg.chans * m->cfg.img * m->cfg.img <= 3 * 32 * 32 && m->cfg.classes <= 16, "size");
	for (size_t i = 0; i < sizeof(img) / sizeof(img[0]); i++)
		img[i] = cosf(0.11f * i);
	vitrt_vit_forward(m, img, logits, log_hook, &lg);
	for (int t = 0; t < VITRT_TAP_COUNT; t++) {
		bool in_block = t >= VITRT_TAP_NORM1 && t <= VITRT_TAP_RES2;

		CHECK(lg.calls[t] == (in_block ? m->cfg.depth : 1), "tap %s called %u times",
		      vitrt_tap_name(t), lg.calls[t]);
	}
	CHECK(lg.order_ok, "taps out of order");
	CHECK(!lg.bad_size, "%d taps of the wrong size or bad softmax rows", lg.bad_size);
	CHECK(!strcmp(vitrt_tap_name(VITRT_TAP_LOGITS_OUT), "logits_out"), "names");

	/* a hook rewrites NORMF: the head then sees exactly the final norm's beta */
	lg = (struct tap_log){ .cfg = &m->cfg, .order_ok = 1, .last = -1, .zero_normf = 1 };
	vitrt_vit_forward(m, img, logits, log_hook, &lg);
	for (uint32_t k = 0; k < m->cfg.classes; k++) {
		double want = m->head_b[k];

		for (uint32_t i = 0; i < m->cfg.dim; i++)
			want += (double)m->head_w[k * m->cfg.dim + i] * m->norm_b[i];
		CHECK(fabs(logits[k] - want) <= 1e-5 * (1 + fabs(want)), "class %u: %g, want %g", k,
		      logits[k], want);
	}
	vitrt_vit_free(m);
}

/* NORMF has the distilled model's two rows and every patch row of a norm-then-mean model. */
TEST(taps_variants)
{
	static const char *const ckpts[] = { "deitdist.safetensors", "gapnocls.safetensors" };
	static float img[3 * 48 * 48], logits[16];
	struct vitrt_vit *m;
	int err;

	for (size_t c = 0; c < sizeof(ckpts) / sizeof(ckpts[0]); c++) {
		struct tap_log lg = { .order_ok = 1, .last = -1 };

		m = vitrt_vit_load(golden(ckpts[c]), &err, msg, sizeof(msg));
		CHECK(m, "%s", msg);
		if (!m)
			continue;
		lg.cfg = &m->cfg;
		for (size_t i = 0; i < sizeof(img) / sizeof(img[0]); i++)
			img[i] = cosf(0.11f * i);
		CHECK(!vitrt_vit_forward(m, img, logits, log_hook, &lg), "forward");
		CHECK(lg.order_ok && !lg.bad_size && lg.calls[VITRT_TAP_NORMF] == 1,
		      "%s: order %d, %d bad sizes", ckpts[c], lg.order_ok, lg.bad_size);
		printf("# %s: NORMF %u rows\n", m->variant, vitrt_vit_normf_rows(&m->cfg));
		vitrt_vit_free(m);
	}
}

TEST(sgemm)
{
	static const uint32_t shapes[][3] = {
		{ 1, 1, 1 }, { 3, 3, 8 }, { 5, 7, 13 }, { 17, 10, 64 }, { 50, 97, 48 },
		{ 197, 200, 64 }, { 4, 300, 771 }, { 64, 3, 3072 },
	};

	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
		uint32_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
		size_t lda = k + 3, ldb = k + 1, ldc = n + 2;
		float *a = malloc(m * lda * 4), *b = malloc(n * ldb * 4), *bias = malloc(n * 4);
		float *c = malloc(m * ldc * 4), *r = malloc(m * ldc * 4);
		double e = 0, mx = 0;

		for (size_t i = 0; i < m * lda; i++)
			a[i] = sinf(1.3f * i + s);
		for (size_t i = 0; i < n * ldb; i++)
			b[i] = cosf(0.7f * i - s);
		for (uint32_t i = 0; i < n; i++)
			bias[i] = 0.1f * i;
		vitrt_sgemm_nt(c, ldc, a, lda, b, ldb, s & 1 ? bias : NULL, m, n, k);
		vitrt_sgemm_nt_ref(r, ldc, a, lda, b, ldb, s & 1 ? bias : NULL, m, n, k);
		for (uint32_t i = 0; i < m; i++) {
			for (uint32_t j = 0; j < n; j++) {
				e = fmax(e, fabs(c[i * ldc + j] - r[i * ldc + j]));
				mx = fmax(mx, fabs(r[i * ldc + j]));
			}
		}
		CHECK(e <= MAX_SGEMM_REL_ERROR * mx, "%ux%ux%u: error %g of %g", m, n, k, e, mx);
		free(a), free(b), free(bias), free(c), free(r);
	}
}

/* ---- safetensors ---- */

/* A safetensors file from @hlen bytes of header text and @n data floats 0, 1, 2, ... */
static const char *st_file_len(const char *name, const char *header, size_t hlen, uint32_t n)
{
	const char *path = tmp(name);
	size_t len = 8 + hlen + 4 * n;
	unsigned char *buf = malloc(len);

	for (int i = 0; i < 8; i++)
		buf[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
	memcpy(buf + 8, header, hlen);
	for (uint32_t i = 0; i < n; i++) {
		float f = (float)i;

		memcpy(buf + 8 + hlen + 4 * i, &f, 4);
	}
	write_file(path, buf, len);
	free(buf);
	return path;
}

static const char *st_file(const char *name, const char *header, uint32_t n)
{
	return st_file_len(name, header, strlen(header), n);
}

#define T_A(dtype, shape, b, e) "\"a\":{\"dtype\":\"" dtype "\",\"shape\":" shape \
				",\"data_offsets\":[" #b "," #e "]}"
#define T_B(shape, b, e) "\"b\":{\"dtype\":\"F32\",\"shape\":" shape \
			 ",\"data_offsets\":[" #b "," #e "]}"

TEST(safetensors_good)
{
	const char *path = st_file("good.safetensors",
				   "{\"__metadata__\":{\"format\":\"pt\"}," T_B("[2,2]", 8, 24) ","
				   T_A("F32", "[2]", 0, 8) "}", 6);
	struct vitrt_st *st;
	struct vitrt_st_tensor *t;
	uint32_t idx;
	int err;

	st = vitrt_st_open(path, &err, msg, sizeof(msg));
	CHECK(st && !err, "%s", msg);
	if (!st)
		return;
	CHECK(vitrt_st_count(st) == 2, "count");
	CHECK(!strcmp(vitrt_st_tensor(st, 0)->name, "a"), "sorted by name");
	t = vitrt_st_find(st, "b", &idx);
	CHECK(t && idx == 1 && t->ndim == 2 && t->count == 4 && t->data[0] == 2 && t->data[3] == 5,
	      "tensor b");
	CHECK(((uintptr_t)t->data & 63) == 0, "alignment");
	CHECK(!vitrt_st_find(st, "c", NULL), "c");
	CHECK(vitrt_st_meta(st, "format") && !strcmp(vitrt_st_meta(st, "format"), "pt") &&
	      !vitrt_st_meta(st, "other"), "metadata");
	vitrt_st_close(st);
}

TEST(safetensors_half)
{
	/* F16: 1, -2.5, 65504, 2^-24 (smallest subnormal), inf; BF16: 1, -3 */
	static const uint16_t h[] = { 0x3c00, 0xc100, 0x7bff, 0x0001, 0x7c00, 0x3f80, 0xc040, 0 };
	const char *hdr = "{\"h\":{\"dtype\":\"F16\",\"shape\":[5],\"data_offsets\":[0,10]},"
			  "\"g\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[10,16]}}";
	const char *path = tmp("half.safetensors");
	unsigned char buf[8 + 200];
	size_t hl = strlen(hdr);
	struct vitrt_st *st;
	int err;

	memset(buf, 0, 8);
	buf[0] = (unsigned char)hl;
	memcpy(buf + 8, hdr, hl);
	memcpy(buf + 8 + hl, h, 16);
	write_file(path, buf, 8 + hl + 16);
	st = vitrt_st_open(path, &err, msg, sizeof(msg));
	CHECK(st, "%s", msg);
	if (st) {
		const float *f = vitrt_st_find(st, "h", NULL)->data;
		const float *g = vitrt_st_find(st, "g", NULL)->data;

		CHECK(f[0] == 1 && f[1] == -2.5f && f[2] == 65504 && f[3] == ldexpf(1, -24) &&
		      isinf(f[4]), "F16 %g %g %g %g %g", f[0], f[1], f[2], f[3], f[4]);
		CHECK(g[0] == 1 && g[1] == -3 && g[2] == 0, "BF16 %g %g %g", g[0], g[1], g[2]);
		vitrt_st_close(st);
	}
	CHECK(isnan(vitrt_f16_to_f32(0x7e00)) && vitrt_f16_to_f32(0x8000) == 0 &&
	      signbit(vitrt_f16_to_f32(0x8000)) && vitrt_f16_to_f32(0x0400) == ldexpf(1, -14),
	      "F16 NaN, -0, smallest normal");
}

TEST(safetensors_bad)
{
	static const struct {
		const char *name, *header;
		uint32_t floats;
		int err;
		const char *needle;
	} cases[] = {
		{ "json.st", "{" T_A("F32", "[2]", 0, 8) ",}", 2, VITRT_EFORMAT, "header: byte" },
		{ "notobj.st", "[1]", 0, VITRT_EFORMAT, "not an object" },
		{ "dtype.st", "{" T_A("F33", "[2]", 0, 8) "}", 2, VITRT_EFORMAT,
		  "tensor 'a': unknown dtype 'F33'" },
		{ "i64.st", "{" T_A("I64", "[1]", 0, 8) "}", 2, VITRT_EUNSUPPORTED,
		  "dtype I64 is not supported" },
		{ "size.st", "{" T_A("F32", "[3]", 0, 8) "}", 2, VITRT_EFORMAT,
		  "shape [3] of F32 needs 12 bytes but data_offsets [0, 8) hold 8" },
		{ "spare.st", "{" T_A("F32", "[2]", 0, 12) "}", 3, VITRT_EFORMAT,
		  "shape [2] of F32 needs 8 bytes but data_offsets [0, 12) hold 12" },
		{ "range.st", "{" T_A("F32", "[8]", 0, 32) "}", 6, VITRT_EFORMAT,
		  "data_offsets [0, 32) run past the end of the data section (24 bytes)" },
		{ "back.st", "{" T_A("F32", "[2]", 8, 0) "}", 2, VITRT_EFORMAT,
		  "tensor 'a': data_offsets [8, 0) run backwards" },
		{ "overlap.st", "{" T_A("F32", "[4]", 0, 16) "," T_B("[4]", 8, 24) "}", 6,
		  VITRT_EFORMAT, "tensors 'a' [0, 16) and 'b' [8, 24) overlap" },
		{ "gap.st", "{" T_A("F32", "[2]", 0, 8) "," T_B("[2]", 16, 24) "}", 6,
		  VITRT_EFORMAT, "bytes [8, 16) belong to no tensor" },
		{ "tail.st", "{" T_A("F32", "[2]", 0, 8) "}", 6, VITRT_EFORMAT,
		  "data section is 24 bytes but the tensors end at byte 8" },
		{ "dup.st", "{" T_A("F32", "[2]", 0, 8) "," T_A("F32", "[2]", 8, 16) "}", 4,
		  VITRT_EFORMAT, "duplicate key 'a'" },
		{ "field.st", "{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 2, VITRT_EFORMAT,
		  "tensor 'a': no 'shape'" },
		{ "extra.st", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],"
			      "\"x\":1}}", 2, VITRT_EFORMAT, "tensor 'a': unknown field 'x'" },
		{ "neg.st", "{" T_A("F32", "[-2]", 0, 8) "}", 2, VITRT_EFORMAT,
		  "shape[0] is not a non-negative integer" },
		{ "frac.st", "{" T_A("F32", "[2.0]", 0, 8) "}", 2, VITRT_EFORMAT,
		  "shape[0] is not a non-negative integer" },
		{ "offs.st", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 2,
		  VITRT_EFORMAT, "data_offsets is not [begin, end]" },
		{ "meta.st", "{\"__metadata__\":{\"k\":1}}", 0, VITRT_EFORMAT,
		  "__metadata__ is not an object of strings" },
		{ "huge.st", "{" T_A("F32", "[4294967296,4294967296]", 0, 8) "}", 2, VITRT_EFORMAT,
		  "overflows 64 bits" },
		{ "dims.st", "{" T_A("F32", "[1,1,1,1,1,1,1,1,2]", 0, 8) "}", 2, VITRT_EUNSUPPORTED,
		  "9 dimensions" },
	};
	struct vitrt_st *st;
	int err;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *path = st_file(cases[i].name, cases[i].header, cases[i].floats);

		st = vitrt_st_open(path, &err, msg, sizeof(msg));
		CHECK(!st, "%s opened", cases[i].name);
		vitrt_st_close(st);
		CHECK_ERR(err, cases[i].err, path, cases[i].needle);
	}
}

/*
 * The header's JSON: RFC 8259 and stricter (no duplicate keys, no NUL, integers within int64,
 * 64 levels), every refusal naming the byte and the problem.  Text that is JSON but no object
 * of tensors is refused for that, not as JSON.
 */
TEST(safetensors_json)
{
	static const char *const good[] = {
		"{}", "[]", " [1, -2, 3.5e2, 0, -0.0, true, false, null, 1e-999] ", "\"\xc3\xa9\"",
		"9223372036854775807", "-9223372036854775808", "{\"a\": {\"b\": [\"\\u00e9\"]}}",
	};
	static const struct {
		const char *text, *needle;
	} bad[] = {
		{ "", "end of file" }, { "{", "string or '}' expected" },
		{ "[1,]", "unexpected token" }, { "{\"a\":1,}", "string or '}' expected" },
		{ "[01]", "invalid token" }, { "[1.]", "invalid token" },
		{ "[1e]", "invalid token" }, { "[-]", "invalid token" },
		{ "[.5]", "invalid token" }, { "[+1]", "invalid token" },
		{ "\"abc", "premature end of input" }, { "\"\\x\"", "invalid escape" },
		{ "\"\\ud800\"", "invalid Unicode '\\uD800'" },
		{ "\"\\udc00\"", "invalid Unicode '\\uDC00'" }, { "\"\\u12\"", "invalid escape" },
		{ "\"\\u0000\"", "\\u0000 is not allowed" }, { "\"\x01\"", "control character 0x1" },
		{ "\"\xc3\"", "unable to decode byte 0xc3" }, { "\"\xc0\xaf\"", "byte 0xc0" },
		{ "\"\xed\xa0\x80\"", "byte 0xed" }, { "\xef\xbb\xbf{}", "invalid token" },
		{ "[1] x", "end of file expected" }, { "tru", "invalid token" },
		{ "{\"a\" 1}", "':' expected" }, { "[1 2]", "']' expected" },
		{ "[1e999]", "real number overflow" },
		{ "[123456789012345678901234567890]", "too big integer" },
		{ "[9223372036854775808]", "too big integer" },
		{ "[-9223372036854775809]", "too big negative integer" },
		{ "{\"a\":1,\"a\":2}", "byte 10: duplicate key 'a'" },
		{ "{\"a\":1,\"\\u0061\":2}", "duplicate key '\\u0061'" },
		{ "{\"a\\\"b\":1,\"x\\\\\":2,\"a\\\"b\":3}", "duplicate key 'a\\\"b'" },
		{ "{\"x\\\\\":1,\"x\\\\\":2}", "duplicate key 'x\\\\'" },
		{ "{\"blocks.0.attn.qkv.weight\":{},\"blocks.0.attn.qkv.weight\":{}}",
		  "duplicate key 'blocks.0.attn.qkv.weight'" },
		{ "[\x1b]", "invalid token near '?'" },
	};
	enum { DEPTH = 64 };	/* the library's limit, which its message names */
	char deep[2 * (DEPTH + 1)];
	const char *path;
	struct vitrt_st *st;
	int err;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		st = vitrt_st_open(st_file("good.st", good[i], 0), &err, msg, sizeof(msg));
		CHECK(st || !strstr(msg, "header: "), "'%s': %s", good[i], msg);
		vitrt_st_close(st);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		path = st_file("bad.st", bad[i].text, 0);
		st = vitrt_st_open(path, &err, msg, sizeof(msg));
		CHECK(!st, "'%s' parsed", bad[i].text);
		vitrt_st_close(st);
		CHECK_ERR(err, VITRT_EFORMAT, path, "header: byte ");
		CHECK(strstr(msg, bad[i].needle) && !strchr(msg, '\x1b'),
		      "'%s': message \"%s\" lacks \"%s\"", bad[i].text, msg, bad[i].needle);
	}

	/* a NUL byte, by its offset */
	path = st_file_len("nul.st", "{\"a\":1}\0", 8, 0);
	st = vitrt_st_open(path, &err, msg, sizeof(msg));
	CHECK(!st, "NUL parsed");
	CHECK_ERR(err, VITRT_EFORMAT, path, "header: byte 7: NUL byte");

	/* DEPTH levels of arrays parse (and are no object), one more does not */
	for (int d = DEPTH; d <= DEPTH + 1; d++) {
		memset(deep, '[', d);
		memset(deep + d, ']', d);
		path = st_file_len("deep.st", deep, 2 * d, 0);
		st = vitrt_st_open(path, &err, msg, sizeof(msg));
		CHECK(!st, "depth %d parsed", d);
		CHECK_ERR(err, VITRT_EFORMAT, path, d > DEPTH ?
			  "header: nested deeper than 64 levels" : "header is an array");
	}

	/* escapes decoded, into a metadata string */
	path = st_file("esc.st",
		       "{\"__metadata__\":{\"s\":\"x\\u00e9\\ud83d\\ude00\\n\\\"\\\\\\/\"}}", 0);
	st = vitrt_st_open(path, &err, msg, sizeof(msg));
	CHECK(st && vitrt_st_meta(st, "s") &&
	      !strcmp(vitrt_st_meta(st, "s"), "x\xc3\xa9\xf0\x9f\x98\x80\n\"\\/"),
	      "escapes decoded wrong: %s", st ? vitrt_st_meta(st, "s") : msg);
	vitrt_st_close(st);

	/* the largest integer is kept, not wrapped: it ends past the data */
	path = st_file("i64.st", "{" T_A("F32", "[2]", 0, 9223372036854775807) "}", 2);
	st = vitrt_st_open(path, &err, msg, sizeof(msg));
	CHECK(!st, "i64 opened");
	CHECK_ERR(err, VITRT_EFORMAT, path, "[0, 9223372036854775807) run past the end");
}

TEST(safetensors_truncated)
{
	size_t len = 0;
	unsigned char *good = read_file(golden("timmvit.safetensors"), &len);
	const char *path;
	struct vitrt_st *st;
	uint64_t hlen = 0;
	int err;

	CHECK(good && len > 64, "cannot read timmvit.safetensors");
	if (!good)
		return;
	for (int i = 7; i >= 0; i--)
		hlen = hlen << 8 | good[i];

	/* cut in the data section: the last tensors run past its end */
	path = tmp("cut.safetensors");
	write_file(path, good, 8 + hlen + (len - 8 - hlen) / 2);
	st = vitrt_st_open(path, &err, msg, sizeof(msg));
	CHECK(!st, "opened");
	CHECK_ERR(err, VITRT_EFORMAT, path, "run past the end of the data section");

	/* cut inside the header */
	write_file(path, good, 8 + hlen / 2);
	st = vitrt_st_open(path, &err, msg, sizeof(msg));
	CHECK(!st, "opened");
	CHECK_ERR(err, VITRT_EFORMAT, path, "runs past the end of the file");

	/* cut inside the length */
	write_file(path, good, 5);
	st = vitrt_st_open(path, &err, msg, sizeof(msg));
	CHECK(!st, "opened");
	CHECK_ERR(err, VITRT_EFORMAT, path, "only 5 bytes");

	/* header length beyond the end of the file, by far and by one byte */
	path = tmp("hlen.safetensors");
	for (uint64_t h = len; h >= len - 7; h -= 7) {
		for (int i = 0; i < 8; i++)
			good[i] = (unsigned char)(h >> (8 * i));
		write_file(path, good, len);
		st = vitrt_st_open(path, &err, msg, sizeof(msg));
		CHECK(!st, "opened");
		CHECK_ERR(err, VITRT_EFORMAT, path, "runs past the end of the file");
	}

	/*
	 * VITRT_ST_MAX_HEADER, in sparse files of zeros: a header of the limit is read (and is
	 * no JSON), one byte more is refused by its length.
	 */
	for (uint64_t h = VITRT_ST_MAX_HEADER; h <= VITRT_ST_MAX_HEADER + 1ull; h++) {
		for (int i = 0; i < 8; i++)
			good[i] = (unsigned char)(h >> (8 * i));
		write_file(path, good, 8);
		CHECK(!truncate(path, (off_t)(8 + h)), "truncate: %s", strerror(errno));
		st = vitrt_st_open(path, &err, msg, sizeof(msg));
		CHECK(!st, "opened");
		if (h == VITRT_ST_MAX_HEADER)
			CHECK_ERR(err, VITRT_EFORMAT, path, "header: byte 0");
		else
			CHECK_ERR(err, VITRT_EFORMAT, path,
				  "header length 100000001 exceeds the limit of 100000000 bytes");
	}
	unlink(path);

	/* a corrupt byte in the JSON */
	for (int i = 0; i < 8; i++)
		good[i] = (unsigned char)(hlen >> (8 * i));
	good[8 + hlen / 2] = '}';
	write_file(path, good, len);
	st = vitrt_st_open(path, &err, msg, sizeof(msg));
	CHECK(!st, "opened");
	CHECK_ERR(err, VITRT_EFORMAT, path, "header");

	st = vitrt_st_open(tmp("absent.safetensors"), &err, msg, sizeof(msg));
	CHECK(!st && err == VITRT_ESYS && strstr(msg, "absent.safetensors") &&
	      strstr(msg, "No such file"), "absent: %s", msg);
	st = vitrt_st_open(tmpdir, &err, msg, sizeof(msg));
	CHECK(!st && err == VITRT_EFORMAT && strstr(msg, "not a regular file"), "dir: %s", msg);
	free(good);
}

/* ---- the ViT loader ---- */

/*
 * Write the tensors of golden @src to @name, without tensor @drop, with @reshape's first
 * dimension decreased, plus an extra tensor @add; return the path.
 */
static const char *vit_variant_of(const char *src, const char *name, const char *drop,
				  const char *reshape, const char *add)
{
	const char *path = tmp(name);
	struct vitrt_st_tensor *ts;
	struct vitrt_st *st;
	uint32_t n = 0;
	float one = 1;
	int err;

	st = vitrt_st_open(golden(src), &err, msg, sizeof(msg));
	if (!st) {
		printf("# %s\n", msg);
		exit(1);
	}
	ts = calloc(vitrt_st_count(st) + 1, sizeof(*ts));
	for (uint32_t i = 0; i < vitrt_st_count(st); i++) {
		struct vitrt_st_tensor *t = vitrt_st_tensor(st, i);

		if (drop && !strcmp(t->name, drop))
			continue;
		ts[n] = *t;
		if (reshape && !strcmp(t->name, reshape)) {
			ts[n].count = ts[n].count / ts[n].shape[0] * (ts[n].shape[0] - 1);
			ts[n].shape[0]--;
		}
		n++;
	}
	if (add)
		ts[n++] = (struct vitrt_st_tensor){ .name = add, .ndim = 3, .shape = { 1, 1, 1 },
						    .count = 1, .data = &one };
	if (vitrt_st_write(path, ts, n, msg, sizeof(msg))) {
		printf("# %s\n", msg);
		exit(1);
	}
	free(ts);
	vitrt_st_close(st);
	return path;
}

/* The same from timmvit. */
static const char *vit_variant(const char *name, const char *drop, const char *reshape,
			       const char *add)
{
	return vit_variant_of("timmvit.safetensors", name, drop, reshape, add);
}

static void expect_load_error(const char *path, int want, const char *file, const char *needle)
{
	struct vitrt_vit *m;
	int err;

	m = vitrt_vit_load(path, &err, msg, sizeof(msg));
	CHECK(!m, "%s loaded", path);
	vitrt_vit_free(m);
	CHECK_ERR(err, want, file, needle);
}

TEST(vit_tensors)
{
	const char *p;

	p = vit_variant("missing.safetensors", "blocks.1.mlp.fc1.bias", NULL, NULL);
	expect_load_error(p, VITRT_EFORMAT, p, "missing tensor 'blocks.1.mlp.fc1.bias'");
	p = vit_variant("shape.safetensors", NULL, "head.bias", NULL);
	expect_load_error(p, VITRT_EFORMAT, p, "tensor 'head.bias' has shape [9], expected [10]");
	p = vit_variant("shape2.safetensors", NULL, "blocks.0.attn.qkv.weight", NULL);
	expect_load_error(p, VITRT_EFORMAT, p,
			  "tensor 'blocks.0.attn.qkv.weight' has shape [143, 48], expected [144, 48]");
	p = vit_variant("extra.safetensors", NULL, NULL, "reg_token");
	expect_load_error(p, VITRT_EUNSUPPORTED, p, "unexpected tensor 'reg_token'");
	p = vit_variant("noblock.safetensors", "blocks.0.norm1.weight", NULL, NULL);
	expect_load_error(p, VITRT_EFORMAT, p, "no blocks (no tensor 'blocks.0.norm1.weight')");
	p = vit_variant("pos.safetensors", NULL, "pos_embed", NULL);
	expect_load_error(p, VITRT_EFORMAT, p, "tensor 'pos_embed' has shape [0, 50, 48]");
	p = vit_variant("nopatch.safetensors", "patch_embed.proj.weight", NULL, NULL);
	expect_load_error(p, VITRT_EFORMAT, p, "not a ViT checkpoint");
	p = st_file("other.safetensors", "{" T_A("F32", "[2]", 0, 8) "}", 2);
	expect_load_error(p, VITRT_EFORMAT, p, "not a ViT checkpoint");
}

TEST(vit_sidecar)
{
	static const struct {
		const char *json, *needle;
	} cases[] = {
		{ "{\"heads\": 5}", "\"heads\" must be a positive integer dividing" },
		{ "{\"heads\": 2.5}", "\"heads\" must be a positive integer" },
		{ "{\"heads\": 3, \"mean\": [0.5, 0.5]}", "\"mean\" must be an array of 1 numbers" },
		{ "{\"heads\": 3, \"std\": [0]}", "\"std\"[0] must be a positive number" },
		{ "{\"heads\": 3, \"eps\": -1}", "\"eps\" must be a number" },
		{ "{\"heads\": 3, \"labels\": [\"a\"]}", "\"labels\" must be an array of 10 strings" },
		{ "{\"heads\": 3,", "byte 12" },
		{ "[3]", "not an object" },
		{ "{}", "no \"heads\", and the embedding dimension 48 is not a multiple of 64" },
	};
	const char *p = vit_variant("side.safetensors", NULL, NULL, NULL);
	const char *side = tmp("side.safetensors.json");
	struct vitrt_vit *m;
	int err;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_text(side, cases[i].json);
		expect_load_error(p, VITRT_EFORMAT, side, cases[i].needle);
	}
	/* no sidecar at all: the error names the one to write */
	unlink(side);
	expect_load_error(p, VITRT_EFORMAT, side, "give \"heads\" in this sidecar");

	write_text(side, "{\"heads\": 3, \"eps\": 1e-5, \"mean\": [0.25], \"std\": [0.5], "
			 "\"labels\": [\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\",\"j\"], "
			 "\"trained_by\": \"someone\"}");
	m = vitrt_vit_load(p, &err, msg, sizeof(msg));
	CHECK(m, "%s", msg);
	if (m) {
		CHECK(m->cfg.heads == 3 && m->cfg.head_dim == 16 && m->cfg.eps == 1e-5f &&
		      m->cfg.mean[0] == 0.25f && m->cfg.std[0] == 0.5f && m->labels &&
		      !strcmp(m->labels[9], "j"), "sidecar values");
		CHECK(vitrt_vit_macs(&m->cfg) > 0, "macs");
	}
	vitrt_vit_free(m);
}

/* config.json of the deit3 folder with @key's value replaced by @val ("" to leave it as is). */
static void write_config(const char *path, const char *key, const char *val)
{
	static const char *const keys[] = { "crop_mode", "interpolation", "input_size",
					    "num_classes", "global_pool", "mean", "num_heads" };
	static const char *const vals[] = { "\"center\"", "\"bilinear\"", "[1, 64, 64]", "10",
					    "\"token\"", "[0.5]", "2" };
	const char *v[7];
	char text[1024];

	for (int i = 0; i < 7; i++)
		v[i] = !strcmp(keys[i], key) ? val : vals[i];
	snprintf(text, sizeof(text),
		 "{\"architecture\": \"deit3_test\", \"num_classes\": %s, \"global_pool\": %s, "
		 "\"model_args\": {\"num_heads\": %s}, \"pretrained_cfg\": {\"crop_mode\": %s, "
		 "\"interpolation\": %s, \"input_size\": %s, \"crop_pct\": 0.9, %s%s%s "
		 "\"std\": [0.25]}}", v[3], v[4], v[6], v[0], v[1], v[2],
		 *v[5] ? "\"mean\": " : "", v[5], *v[5] ? "," : "");
	write_text(path, text);
}

/* A model folder: config.json read and checked, every error naming the file and the key. */
TEST(vit_folder)
{
	static const struct {
		const char *key, *val, *needle;
		int err;
	} cases[] = {
		{ "num_classes", "\"ten\"", "\"num_classes\" must be 10", VITRT_EFORMAT },
		{ "input_size", "[1, 224, 224]",
		  "\"input_size\" is not the checkpoint's [1, 64, 64]", VITRT_EFORMAT },
		{ "crop_mode", "\"squash\"", "\"crop_mode\" must be \"center\"",
		  VITRT_EUNSUPPORTED },
		{ "interpolation", "\"nearest\"", "\"interpolation\" must be", VITRT_EUNSUPPORTED },
		{ "interpolation", "3", "\"interpolation\" must be", VITRT_EFORMAT },
		{ "global_pool", "\"map\"", "'map' pooling is not supported", VITRT_EUNSUPPORTED },
		{ "global_pool", "\"avg\"", "", 0 },
		{ "mean", "[0.5, 0.5, 0.5]", "\"mean\" must be an array of 1 numbers",
		  VITRT_EFORMAT },
		{ "mean", "", "no input mean/std: give them in pretrained_cfg",
		  VITRT_EFORMAT },
		{ "num_heads", "3", "\"num_heads\" must be a positive integer dividing",
		  VITRT_EFORMAT },
	};
	const char *dir = tmp("folder"), *st = tmp("folder/model.safetensors");
	const char *cfg = tmp("folder/config.json");
	struct vitrt_vit *m;
	size_t len;
	void *data = read_file(golden("deit3/model.safetensors"), &len);
	int err;

	mkdir(dir, 0755);
	expect_load_error(dir, VITRT_ESYS, dir, "no model.safetensors");
	write_file(st, data, len);
	free(data);
	expect_load_error(dir, VITRT_ESYS, cfg, "No such file");
	write_config(cfg, "", "");
	m = vitrt_vit_load(dir, &err, msg, sizeof(msg));
	CHECK(m && m->cfg.heads == 2 && m->cfg.mean[0] == 0.5f && m->cfg.std[0] == 0.25f &&
	      m->cfg.interp == VITRT_INTERP_BILINEAR && m->cfg.crop_pct == 0.9 && !m->labels,
	      "config.json values; %s", m ? "" : msg);
	vitrt_vit_free(m);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_config(cfg, cases[i].key, cases[i].val);
		if (!cases[i].err) {
			m = vitrt_vit_load(dir, &err, msg, sizeof(msg));
			CHECK(m && m->cfg.pool == VITRT_POOL_AVG, "%s %s: %s", cases[i].key,
			      cases[i].val, m ? "not avg" : msg);
			vitrt_vit_free(m);
			continue;
		}
		expect_load_error(dir, cases[i].err, cfg, cases[i].needle);
	}
}

/* Variants the tensors betray: each error names the tensor at fault. */
TEST(vit_variant_errors)
{
	const struct vitrt_vit_opts three = { .nmean = 3, .nstd = 1, .std = { 1 } };
	struct vitrt_vit *m;
	const char *p;
	int err;

	/* timmvit's pos_embed has 50 rows: 2 prefix tokens and 48 patches fit no variant */
	p = vit_variant("dist.safetensors", NULL, NULL, "dist_token");
	expect_load_error(p, VITRT_EUNSUPPORTED, p,
			  "tensor 'pos_embed': 50 rows are not 2 prefix token(s) and a square");
	p = vit_variant("nocls.safetensors", "cls_token", NULL, NULL);
	expect_load_error(p, VITRT_EUNSUPPORTED, p, "tensor 'pos_embed': 50 rows are not 0 prefix");
	p = vit_variant_of("deitdist.safetensors", "nohd.safetensors", "head_dist.weight", NULL,
			   NULL);
	expect_load_error(p, VITRT_EFORMAT, p, "missing tensor 'head_dist.weight'");
	p = vit_variant_of("deitdist.safetensors", "nodist.safetensors", "dist_token", NULL, NULL);
	expect_load_error(p, VITRT_EUNSUPPORTED, p, "tensor 'pos_embed': 18 rows are not 1 prefix");
	p = vit_variant_of("gapnocls.safetensors", "ls.safetensors", NULL, "blocks.1.ls2.gamma",
			   NULL);
	expect_load_error(p, VITRT_EFORMAT, p, "tensor 'blocks.1.ls2.gamma' has shape [23]");
	p = vit_variant_of("gapvit.safetensors", "twonorms.safetensors", NULL, NULL,
			   "norm.weight");
	expect_load_error(p, VITRT_EUNSUPPORTED, p, "both 'norm.weight' and 'fc_norm.weight'");

	m = vitrt_vit_load_opts(golden("timmvit.safetensors"), &three, &err, msg, sizeof(msg));
	CHECK(!m, "loaded with 3 means for 1 channel");
	vitrt_vit_free(m);
	CHECK_ERR(err, VITRT_EINVAL, "timmvit.safetensors",
		  "3 mean and 1 std values given for 1 input channels");
}

/*
 * A one-block ViT of width @dim, one @patch x @patch gray patch (2 tokens) and @classes classes
 * in @name: blocks and position embedding zero, so the head sees LayerNorm(class token) =
 * cls / sqrt(1 + eps), cls alternating +1 and -1; head weights and bias from sines.
 */
static const char *tiny_vit(const char *name, uint32_t dim, uint32_t patch, uint32_t classes,
			    float **head_w, float **head_b)
{
	static const char *zeros[] = {
		"pos_embed", "patch_embed.proj.weight", "patch_embed.proj.bias", "norm.bias",
		"blocks.0.norm1.weight", "blocks.0.norm1.bias", "blocks.0.attn.qkv.weight",
		"blocks.0.attn.qkv.bias", "blocks.0.attn.proj.weight", "blocks.0.attn.proj.bias",
		"blocks.0.norm2.weight", "blocks.0.norm2.bias", "blocks.0.mlp.fc1.weight",
		"blocks.0.mlp.fc1.bias", "blocks.0.mlp.fc2.weight", "blocks.0.mlp.fc2.bias",
	};
	const uint64_t C = dim, shapes[][4] = {
		{ 1, 2, C }, { C, 1, patch, patch }, { C }, { C }, { C }, { C }, { 3 * C, C },
		{ 3 * C }, { C, C }, { C }, { C }, { C }, { C, C }, { C }, { C, C }, { C },
	};
	const uint32_t ndims[] = { 3, 4, 1, 1, 1, 1, 2, 1, 2, 1, 1, 1, 2, 1, 2, 1 };
	struct vitrt_st_tensor ts[20];
	float *zero = calloc(3 * C * C, sizeof(float)), *cls = malloc(C * sizeof(float));
	float *one = malloc(C * sizeof(float));
	const char *path = tmp(name);
	uint32_t n = 0;

	*head_w = malloc((size_t)classes * C * sizeof(float));
	*head_b = malloc(classes * sizeof(float));
	for (uint32_t i = 0; i < C; i++) {
		cls[i] = i % 2 ? -1.0f : 1.0f;
		one[i] = 1;
	}
	for (size_t i = 0; i < (size_t)classes * C; i++)
		(*head_w)[i] = sinf(0.61f * i);
	for (uint32_t i = 0; i < classes; i++)
		(*head_b)[i] = cosf(0.37f * i);
	for (uint32_t i = 0; i < sizeof(zeros) / sizeof(zeros[0]); i++) {
		ts[n] = (struct vitrt_st_tensor){ .name = zeros[i], .ndim = ndims[i], .count = 1,
						  .data = zero };
		for (uint32_t d = 0; d < ndims[i]; d++)
			ts[n].count *= ts[n].shape[d] = shapes[i][d];
		n++;
	}
	ts[n++] = (struct vitrt_st_tensor){ "cls_token", NULL, 3, { 1, 1, C }, C, cls };
	ts[n++] = (struct vitrt_st_tensor){ "norm.weight", NULL, 1, { C }, C, one };
	ts[n++] = (struct vitrt_st_tensor){ "head.weight", NULL, 2, { classes, C }, classes * C,
					    *head_w };
	ts[n++] = (struct vitrt_st_tensor){ "head.bias", NULL, 1, { classes }, classes, *head_b };
	if (vitrt_st_write(path, ts, n, msg, sizeof(msg))) {
		printf("# %s\n", msg);
		exit(1);
	}
	free(zero);
	free(cls);
	free(one);
	return path;
}

/* A checkpoint of one tensor, @name of shape [d0, 1, 1, 1], zero. */
static const char *one_tensor(const char *file, const char *name, uint64_t d0)
{
	float *zero = calloc(d0, sizeof(float));
	struct vitrt_st_tensor t = { name, NULL, 4, { d0, 1, 1, 1 }, d0, zero };
	const char *path = tmp(file);

	if (!zero || vitrt_st_write(path, &t, 1, msg, sizeof(msg))) {
		printf("# %s\n", msg);
		exit(1);
	}
	free(zero);
	return path;
}

/* runtime.rst's "Checkpoint shapes": the width and class bounds, on both sides. */
TEST(checkpoint_shape_limits)
{
	float *hw, *hb;
	struct vitrt_vit *m;
	const char *p;
	int err;

	p = one_tensor("dim16385.safetensors", "patch_embed.proj.weight", 16385);
	expect_load_error(p, VITRT_EUNSUPPORTED, p,
			  "embedding dimension 16385 is outside [1, 16384]");
	/* at the bound the width passes, and the next missing tensor is what stops it */
	p = one_tensor("dim16384.safetensors", "patch_embed.proj.weight", 16384);
	m = vitrt_vit_load(p, &err, msg, sizeof(msg));
	CHECK(!m && !strstr(msg, "embedding dimension"), "16384 wide: %s", msg);
	vitrt_vit_free(m);

	p = tiny_vit("classes_over.safetensors", 4, 1, (1u << 20) + 1, &hw, &hb);
	free(hw);
	free(hb);
	expect_load_error(p, VITRT_EUNSUPPORTED, p, "class count 1048577 is outside [1, 1048576]");
	p = tiny_vit("classes_max.safetensors", 4, 1, 1u << 20, &hw, &hb);
	free(hw);
	free(hb);
	/* (4 wide has no head count, which is what stops it next) */
	m = vitrt_vit_load(p, &err, msg, sizeof(msg));
	CHECK(!m && !strstr(msg, "class count") && strstr(msg, "heads"), "2^20 classes: %s",
	      msg);
	vitrt_vit_free(m);
}

/* More classes than a token row has floats: the head's output has a buffer of its own. */
TEST(head_wider_than_tokens)
{
	const uint32_t dim = 64, classes = 4000, spare = 64;
	const float canary = -12345.0f;
	float *hw, *hb, *logits, *ref, img[16] = { 0 };
	const char *p = tiny_vit("wide.safetensors", dim, 4, classes, &hw, &hb);
	const struct vitrt_vit_opts o = { .nmean = 1, .nstd = 1, .mean = { 0 }, .std = { 1 } };
	struct vitrt_vit *m;
	uint32_t bad = 0;
	int err;

	/* no sidecar: mean and std given as vitrt's --mean/--std would */
	m = vitrt_vit_load_opts(p, &o, &err, msg, sizeof(msg));
	CHECK(m, "%s", msg);
	if (!m)
		return;
	CHECK(m->cfg.tokens == 2 && m->cfg.classes == classes, "%u tokens, %u classes",
	      m->cfg.tokens, m->cfg.classes);
	logits = malloc((classes + spare) * sizeof(float));
	ref = malloc(classes * sizeof(float));
	for (uint32_t i = 0; i < classes + spare; i++)
		logits[i] = canary;
	for (uint32_t k = 0; k < classes; k++) {
		double acc = 0;

		for (uint32_t d = 0; d < dim; d++)
			acc += (double)hw[(size_t)k * dim + d] * (d % 2 ? -1 : 1);
		ref[k] = (float)(acc / sqrt(1.0 + m->cfg.eps) + hb[k]);
	}
	CHECK(!vitrt_vit_forward(m, img, logits, NULL, NULL), "forward");
	for (uint32_t i = classes; i < classes + spare; i++)
		bad += logits[i] != canary;
	CHECK(!bad, "%u floats written past the logits", bad);
	CHECK(rel_error(logits, ref, classes) <= MAX_LOGITS_REL_ERROR,
	      "relative error %.3g against the per-class dot products",
	      rel_error(logits, ref, classes));
	free(logits);
	free(ref);
	free(hw);
	free(hb);
	vitrt_vit_free(m);
}

/* ---- IDX and datasets ---- */

static void write_idx(const char *path, uint32_t ndim, const uint32_t *dims, uint8_t fill)
{
	struct vitrt_idx idx = { .ndim = ndim, .count = 1 };

	for (uint32_t i = 0; i < ndim; i++) {
		idx.dims[i] = dims[i];
		idx.count *= dims[i];
	}
	idx.data = malloc(idx.count);
	for (uint64_t i = 0; i < idx.count; i++)
		idx.data[i] = (uint8_t)(fill + i);
	if (vitrt_idx_write(path, &idx, msg, sizeof(msg))) {
		printf("# %s\n", msg);
		exit(1);
	}
	free(idx.data);
}

static void set_be32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (24 - 8 * i));
}

TEST(idx)
{
	static const uint32_t dims[] = { 5, 4, 3 };
	const char *plain = tmp("img-idx3-ubyte"), *gz = tmp("img-idx3-ubyte.gz");
	unsigned char *buf;
	struct vitrt_idx idx;
	size_t len;
	int err;

	write_idx(plain, 3, dims, 7);
	write_idx(gz, 3, dims, 7);
	for (int k = 0; k < 2; k++) {
		err = vitrt_idx_read(k ? gz : plain, &idx, msg, sizeof(msg));
		CHECK(!err, "%s", msg);
		CHECK(idx.ndim == 3 && idx.dims[0] == 5 && idx.dims[2] == 3 && idx.count == 60 &&
		      idx.data && idx.data[59] == 66, "idx contents");
		vitrt_idx_release(&idx);
	}
	buf = read_file(plain, &len);
	CHECK(buf && len == 16 + 60, "plain size %zu", len);
	if (!buf)
		return;

	write_file(plain, buf, len - 1);
	err = vitrt_idx_read(plain, &idx, msg, sizeof(msg));
	CHECK_ERR(err, VITRT_EFORMAT, plain, "file ends after 59 of 60 data bytes");
	buf = realloc(buf, len + 1);
	buf[len] = 0;
	write_file(plain, buf, len + 1);
	err = vitrt_idx_read(plain, &idx, msg, sizeof(msg));
	CHECK_ERR(err, VITRT_EFORMAT, plain, "bytes after the 60 data bytes");
	write_file(plain, buf, 10);
	err = vitrt_idx_read(plain, &idx, msg, sizeof(msg));
	CHECK_ERR(err, VITRT_EFORMAT, plain, "inside the IDX header");
	buf[2] = 0x0d;
	write_file(plain, buf, len);
	err = vitrt_idx_read(plain, &idx, msg, sizeof(msg));
	CHECK_ERR(err, VITRT_EUNSUPPORTED, plain, "element type 0x0d");
	buf[2] = 0x08;
	buf[0] = 0x12;
	write_file(plain, buf, len);
	err = vitrt_idx_read(plain, &idx, msg, sizeof(msg));
	CHECK_ERR(err, VITRT_EFORMAT, plain, "not an IDX file");
	buf[0] = 0;
	buf[3] = 9;
	write_file(plain, buf, len);
	err = vitrt_idx_read(plain, &idx, msg, sizeof(msg));
	CHECK_ERR(err, VITRT_EFORMAT, plain, "9 dimensions");
	buf[3] = 3;
	buf[7] = 0;	/* first dimension 0 */
	write_file(plain, buf, len);
	err = vitrt_idx_read(plain, &idx, msg, sizeof(msg));
	CHECK_ERR(err, VITRT_EFORMAT, plain, "dimension 0 is 0");
	/*
	 * VITRT_IDX_MAX_BYTES: a header of exactly 4 GiB is read (and found short), one byte
	 * more (641 x 6700417) is refused before any data is.
	 */
	set_be32(buf + 4, 65536);
	set_be32(buf + 8, 65536);
	set_be32(buf + 12, 1);
	write_file(plain, buf, len);
	err = vitrt_idx_read(plain, &idx, msg, sizeof(msg));
	CHECK_ERR(err, VITRT_EFORMAT, plain, "file ends after 60 of 4294967296 data bytes");
	set_be32(buf + 4, 641);
	set_be32(buf + 8, 6700417);
	write_file(plain, buf, len);
	err = vitrt_idx_read(plain, &idx, msg, sizeof(msg));
	CHECK_ERR(err, VITRT_EUNSUPPORTED, plain, "IDX data larger than 4294967296 bytes");
	free(buf);

	/* a corrupted and a truncated gzip stream */
	buf = read_file(gz, &len);
	CHECK(buf && len > 30, "gz size");
	if (!buf)
		return;
	write_file(gz, buf, len - 12);
	err = vitrt_idx_read(gz, &idx, msg, sizeof(msg));
	CHECK(err == VITRT_EFORMAT && strstr(msg, gz), "truncated gz: %d %s", err, msg);
	buf[len / 2] ^= 0x55;
	buf[len / 2 + 1] ^= 0x55;
	write_file(gz, buf, len);
	err = vitrt_idx_read(gz, &idx, msg, sizeof(msg));
	CHECK(err == VITRT_EFORMAT && strstr(msg, gz), "corrupt gz: %d %s", err, msg);
	vitrt_idx_release(&idx);
	free(buf);

	err = vitrt_idx_read(tmp("nothing"), &idx, msg, sizeof(msg));
	CHECK_ERR(err, VITRT_ESYS, tmp("nothing"), "No such file");
}

/*
 * IDX images go through the pictures' path: at the model's size they are the input as they
 * are (gray replicated to RGB); at another size resized as vitrt_image_fit resizes.
 */
static void dataset_fits(const struct vitrt_dataset *ds)
{
	struct vitrt_prep same = VITRT_PREP_INIT(3, 8), big = VITRT_PREP_INIT(1, 16);
	uint8_t pix[3 * 16 * 16];
	struct vitrt_image img = { .chans = 1, .height = 8, .width = 8, .pix = malloc(64) };
	int32_t label;
	int bad = 0;

	CHECK(!vitrt_dataset_get(ds, 2, &same, pix, &label, msg, sizeof(msg)) && label == 5,
	      "%s", msg);
	for (int c = 0; c < 3; c++)
		for (int k = 0; k < 64; k++)
			bad += pix[c * 64 + k] != ds->pix[2 * 64 + k];
	CHECK(!bad, "%d samples differ from the IDX image", bad);
	memcpy(img.pix, ds->pix + 2 * 64, 64);
	CHECK(!vitrt_dataset_get(ds, 2, &big, pix, &label, msg, sizeof(msg)) &&
	      !vitrt_image_fit(&img, &big) && !memcmp(pix, img.pix, 256), "resized: %s", msg);
	vitrt_image_release(&img);
}

/* [count][rows][cols][3]: planar RGB for a 3-channel model, PIL's luma for a gray one. */
static void dataset_rgb(const char *dir, const char *labels)
{
	static const uint32_t dims[] = { 2, 4, 4, 3 }, ldims[] = { 2 }, bad_dims[] = { 2, 4, 4, 2 };
	struct vitrt_prep rgb = VITRT_PREP_INIT(3, 4), gray = VITRT_PREP_INIT(1, 4);
	char images[300];
	struct vitrt_dataset *ds;
	uint8_t pix[48];
	int32_t label;
	int err, bad = 0;

	snprintf(images, sizeof(images), "%s/rgb-images-idx3-ubyte", dir);
	write_idx(images, 4, dims, 0);
	write_idx(labels, 1, ldims, 1);
	ds = vitrt_dataset_open(images, labels, &err, msg, sizeof(msg));
	CHECK(ds && ds->chans == 3, "%s", msg);
	if (!ds)
		return;
	CHECK(!vitrt_dataset_get(ds, 1, &rgb, pix, &label, msg, sizeof(msg)) && label == 2,
	      "%s", msg);
	for (int c = 0; c < 3; c++)
		for (int k = 0; k < 16; k++)
			bad += pix[c * 16 + k] != (uint8_t)(48 + 3 * k + c);
	CHECK(!vitrt_dataset_get(ds, 1, &gray, pix, &label, msg, sizeof(msg)), "%s", msg);
	for (int k = 0; k < 16; k++) {
		uint32_t r = 48 + 3 * k, g = r + 1, b = r + 2;

		bad += pix[k] != (uint8_t)((19595 * r + 38470 * g + 7471 * b + 0x8000) >> 16);
	}
	CHECK(!bad, "%d samples differ", bad);
	vitrt_dataset_close(ds);
	write_idx(images, 4, bad_dims, 0);
	ds = vitrt_dataset_open(images, labels, &err, msg, sizeof(msg));
	CHECK(!ds, "two channels opened");
	CHECK_ERR(err, VITRT_EFORMAT, images, "channels not 1 or 3");
}

TEST(dataset)
{
	static const uint32_t idims[] = { 6, 8, 8 }, ldims[] = { 6 }, ldims5[] = { 5 };
	const char *dir = tmp("ds");
	char images[300], labels[300];
	struct vitrt_dataset *ds;
	int err;

	mkdir(dir, 0755);
	snprintf(images, sizeof(images), "%s/t10k-images-idx3-ubyte.gz", dir);
	snprintf(labels, sizeof(labels), "%s/t10k-labels-idx1-ubyte", dir);
	write_idx(images, 3, idims, 0);
	write_idx(labels, 1, ldims, 3);
	ds = vitrt_dataset_open_dir(dir, "t10k", &err, msg, sizeof(msg));
	CHECK(ds, "%s", msg);
	if (ds) {
		CHECK(ds->count == 6 && ds->height == 8 && ds->width == 8 && ds->chans == 1 &&
		      ds->labels[5] == 8 && ds->pix[64] == 64, "dataset contents");
		err = vitrt_dataset_check(ds, 8, 10, msg, sizeof(msg));
		CHECK(!err, "%s", msg);
		err = vitrt_dataset_check(ds, 28, 10, msg, sizeof(msg));
		CHECK(!err, "images of another size are resized: %s", msg);
		dataset_fits(ds);
		err = vitrt_dataset_check(ds, 8, 8, msg, sizeof(msg));
		CHECK_ERR(err, VITRT_EINVAL, labels, "label 8 of image 5 is not below the model's 8");
	}
	vitrt_dataset_close(ds);

	write_idx(labels, 1, ldims5, 0);
	ds = vitrt_dataset_open(images, labels, &err, msg, sizeof(msg));
	CHECK(!ds, "opened");
	CHECK_ERR(err, VITRT_EFORMAT, labels, "5 labels for the 6 images");
	ds = vitrt_dataset_open(labels, labels, &err, msg, sizeof(msg));
	CHECK(!ds, "opened");
	CHECK_ERR(err, VITRT_EFORMAT, labels, "images need 3");
	dataset_rgb(dir, labels);
	ds = vitrt_dataset_open_dir(tmp("nodir"), "t10k", &err, msg, sizeof(msg));
	CHECK(!ds && err == VITRT_ESYS && strstr(msg, "t10k-images-idx3-ubyte"), "%s", msg);
}

/* ---- PNG and JPEG ---- */

static void write_gray_jpeg(const char *path, const uint8_t *pix, uint32_t w, uint32_t h)
{
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr e;
	FILE *f = fopen(path, "wb");

	c.err = jpeg_std_error(&e);
	jpeg_create_compress(&c);
	jpeg_stdio_dest(&c, f);
	c.image_width = w;
	c.image_height = h;
	c.input_components = 1;
	c.in_color_space = JCS_GRAYSCALE;
	jpeg_set_defaults(&c);
	jpeg_set_quality(&c, 100, TRUE);
	jpeg_start_compress(&c, TRUE);
	for (uint32_t y = 0; y < h; y++) {
		JSAMPROW row = (JSAMPROW)(pix + y * w);

		jpeg_write_scanlines(&c, &row, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	fclose(f);
}

TEST(png)
{
	uint8_t rgb[3 * 12 * 12];
	struct vitrt_image src = { .chans = 3, .height = 12, .width = 12, .pix = rgb }, img;
	const char *path = tmp("rgb.png");
	unsigned char *buf;
	size_t len;
	int err;

	for (size_t i = 0; i < sizeof(rgb); i++)
		rgb[i] = (uint8_t)(i * 7);
	err = vitrt_image_write_png(path, &src, msg, sizeof(msg));
	CHECK(!err, "%s", msg);
	CHECK(vitrt_image_probe(path) == VITRT_IMAGE_PNG, "probe");

	err = vitrt_image_read(path, 3, 12, &img, msg, sizeof(msg));
	CHECK(!err && img.chans == 3 && img.width == 12 && !memcmp(img.pix, rgb, sizeof(rgb)),
	      "RGB round trip: %s", msg);
	vitrt_image_release(&img);
	err = vitrt_image_read(path, 1, 0, &img, msg, sizeof(msg));
	CHECK(!err && img.chans == 1, "%s", msg);
	if (!err) {
		/* PIL's luma of pixel 5 */
		uint32_t want = (19595u * rgb[5] + 38470u * rgb[144 + 5] + 7471u * rgb[288 + 5] +
				 0x8000) >> 16;

		CHECK(img.pix[5] == want, "luma %u, want %u", img.pix[5], want);
	}
	vitrt_image_release(&img);

	err = vitrt_image_read(path, 3, 28, &img, msg, sizeof(msg));
	CHECK_ERR(err, VITRT_EINVAL, path, "image is 12x12, the model wants 28x28");
	CHECK(!img.pix, "no pixels on error");

	/* gray -> RGB replicates */
	src = (struct vitrt_image){ .chans = 1, .height = 12, .width = 12, .pix = rgb };
	path = tmp("gray.png");
	err = vitrt_image_write_png(path, &src, msg, sizeof(msg));
	CHECK(!err, "%s", msg);
	err = vitrt_image_read(path, 3, 12, &img, msg, sizeof(msg));
	CHECK(!err && img.chans == 3 && img.pix[144 + 7] == rgb[7] && img.pix[288 + 7] == rgb[7],
	      "gray to RGB: %s", msg);
	vitrt_image_release(&img);

	/* truncated PNG */
	buf = read_file(path, &len);
	CHECK(buf != NULL, "read");
	if (buf) {
		write_file(path, buf, len / 2);
		err = vitrt_image_read(path, 1, 12, &img, msg, sizeof(msg));
		CHECK(err == VITRT_EFORMAT && strstr(msg, path) && strstr(msg, "PNG"),
		      "truncated PNG: %d %s", err, msg);
		free(buf);
	}
	path = tmp("text.png");
	write_text(path, "hello, not an image");
	err = vitrt_image_read(path, 1, 12, &img, msg, sizeof(msg));
	CHECK_ERR(err, VITRT_EUNSUPPORTED, path, "not a PNG or JPEG");
}

TEST(jpeg)
{
	uint8_t gray[16 * 16];
	const char *path = tmp("gray.jpg");
	struct vitrt_image img;
	unsigned char *buf;
	size_t len;
	int err, maxd = 0;

	for (int i = 0; i < 256; i++)
		gray[i] = (uint8_t)(128 + 100 * sinf(i * 0.05f));
	write_gray_jpeg(path, gray, 16, 16);
	CHECK(vitrt_image_probe(path) == VITRT_IMAGE_JPEG, "probe");
	err = vitrt_image_read(path, 1, 16, &img, msg, sizeof(msg));
	CHECK(!err && img.chans == 1 && img.width == 16, "%s", msg);
	for (int i = 0; !err && i < 256; i++)
		maxd = abs(img.pix[i] - gray[i]) > maxd ? abs(img.pix[i] - gray[i]) : maxd;
	CHECK(maxd <= 4, "JPEG q100 differs by %d", maxd);
	vitrt_image_release(&img);
	err = vitrt_image_read(path, 3, 28, &img, msg, sizeof(msg));
	CHECK_ERR(err, VITRT_EINVAL, path, "image is 16x16, the model wants 28x28");

	buf = read_file(path, &len);
	CHECK(buf != NULL, "read");
	if (buf) {
		write_file(path, buf, len * 2 / 3);
		err = vitrt_image_read(path, 1, 16, &img, msg, sizeof(msg));
		CHECK(err == VITRT_EFORMAT && strstr(msg, path) && strstr(msg, "JPEG"),
		      "truncated JPEG: %d %s", err, msg);
		write_file(path, buf, 40);
		err = vitrt_image_read(path, 1, 16, &img, msg, sizeof(msg));
		CHECK(err == VITRT_EFORMAT && strstr(msg, path), "cut header: %d %s", err, msg);
		free(buf);
	}
}

TEST(image_to_input)
{
	static const uint8_t rgb[6] = { 255, 0, 0, 255, 51, 102 };	/* 2 pixels, planar */
	static const float mean[3] = { 0.5f, 0.5f, 0.5f }, std[3] = { 0.5f, 0.25f, 1.0f };
	float out[6];

	vitrt_image_to_input(out, rgb, 3, 3, 2, mean, std);
	CHECK(out[0] == 1 && out[1] == -1 && out[2] == -2 && out[3] == 2 &&
	      fabsf(out[4] - (0.2f - 0.5f)) < 1e-6f, "RGB %g %g %g %g %g", out[0], out[1], out[2],
	      out[3], out[4]);
	vitrt_image_to_input(out, rgb, 3, 1, 2, NULL, NULL);
	CHECK(fabsf(out[0] - 82 / 255.0f) < 1e-6f, "luma %g", out[0] * 255);
	vitrt_image_to_input(out, rgb, 1, 3, 2, mean, std);
	CHECK(out[0] == 1 && out[2] == 2 && out[4] == 0.5f, "gray to RGB");
}
