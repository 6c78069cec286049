/* SPDX-License-Identifier: MIT */
/* vitrt command line: one file per command, each an entry in main.c's table. */
#ifndef VITRT_CLI_H
#define VITRT_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "vitrt.h"

/*
 * The program's version, libvitrt's (<vitrt/core.h>): `vitrt --version` prints it with the uapi
 * and hardware versions.
 */
#define VITRT_CLI_VERSION	VITRT_VERSION_STRING

int cmd_gemm(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_profile(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_version(int argc, char **argv);

/* vitrt bench --kernels (bench_kernels.c). */
int bench_kernels(bool json);

/* A progress bar on stderr when it is a terminal (cli_progress.c). */
struct cli_progress {
	const char *what;
	uint64_t total, done;
	double last;		/* when it was last drawn, -1: never */
	bool on;
};

void cli_progress_start(struct cli_progress *p, const char *what, uint64_t total);
void cli_progress_add(struct cli_progress *p, uint64_t n);
/* The bar's line erased, if one was drawn. */
void cli_progress_end(struct cli_progress *p);

/* Print "vitrt: <msg>" to stderr; returns 1 for `return die(...)` in commands. */
int die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * --json (cli_json.c): every command builds a jansson document and prints it as one line.
 * The constructors return NULL when out of memory; json_pack and cli_json_push pass a NULL
 * on, so cli_json_print reports it once.
 */
/* @s (NULL: null) as a JSON string: its UTF-8 as it is, each byte that is not UTF-8 U+FFFD. */
json_t *cli_json_str(const char *s);
/* @v as printf's %.Nf (@decimals) or %.Ng (@digits) prints it; null when not finite. */
json_t *cli_json_fixed(double v, int decimals);
json_t *cli_json_sig(double v, int digits);
/* Append @v (taken, NULL allowed) to @array (NULL allowed); 0 or VITRT_ENOMEM. */
int cli_json_push(json_t *array, json_t *v);
/*
 * @doc (taken; NULL: out of memory) as one line on stdout, with ", " and ": " between
 * members or, @compact, nothing; 0, or 1 after a message.
 */
int cli_json_print(json_t *doc, bool compact);

/*
 * The input options: --interpolation bicubic|bilinear and --crop-pct F (run, eval, quantize:
 * how a PNG/JPEG becomes the model's input), --mean and --std (every command that loads a
 * checkpoint: its input normalization).  Their getopt values, the options as given, and
 * prep_option() to take one (0, or 2 after a message).
 */
#define PREP_OPT_INTERP	0x100
#define PREP_OPT_CROP	0x101
#define PREP_OPT_MEAN	0x102
#define PREP_OPT_STD	0x103
#define NORM_LONG_OPTIONS \
	{ "mean", 1, 0, PREP_OPT_MEAN }, { "std", 1, 0, PREP_OPT_STD }
#define PREP_LONG_OPTIONS \
	{ "interpolation", 1, 0, PREP_OPT_INTERP }, { "crop-pct", 1, 0, PREP_OPT_CROP }, \
	NORM_LONG_OPTIONS
#define NORM_USAGE \
	"      --mean M[,M..]  the checkpoint's input normalization (pixel/255 - mean) / std,\n" \
	"      --std S[,S..]   one value per channel: needed when neither its sidecar nor\n" \
	"                      its config.json gives them; given, they win\n"
#define PREP_USAGE \
	"      --interpolation I  bicubic or bilinear: how a PNG/JPEG is resized (default:\n" \
	"                      the checkpoint's config, else bicubic)\n" \
	"      --crop-pct F    the shorter side is resized to size / F, then the centre\n" \
	"                      size x size is kept (default: the checkpoint's config, else\n" \
	"                      0.875, timm's DeiT); an image already at the model's size is\n" \
	"                      taken as it is\n" \
	NORM_USAGE

#include "vitrt_vit.h"

struct prep_opts {
	int interp;			/* enum vitrt_interp, or -1: the model's */
	double crop_pct;		/* 0: the model's */
	struct vitrt_vit_opts norm;	/* --mean, --std */
};

#define PREP_OPTS_INIT ((struct prep_opts){ .interp = -1 })

int prep_option(int opt, const char *arg, struct prep_opts *p, const char *cmd);
/* Whether --mean or --std was given: only a checkpoint takes them (1 after a message). */
int prep_norm_unused(const struct prep_opts *p, const char *cmd);
/* @p (the model's preprocessing) with the options given applied. */
void prep_apply(const struct prep_opts *o, struct vitrt_prep *p);

struct vitrt_infer;

/*
 * The --fp32 checkpoint @fp takes the compiled model @in's input (channels, size) and has its
 * classes, so both read the same pixels; 0, or 1 after an error naming what differs.
 */
int fp32_matches(const struct vitrt_infer *in, const char *model, const struct vitrt_infer *fp,
		 const char *ckpt);

/*
 * The compiled @model on @backend, or with @devices ("all", or device numbers, /dev paths or
 * "sim" separated by commas) on those devices, batches sharded over them (cli_devices.c);
 * NULL after a message.
 */
struct vitrt_infer *cli_infer_int(const char *model, const char *backend, const char *devices,
				  const char *cmd);
/*
 * --trace FILE (cli_trace.c): the integer program's work in @inf as a Chrome/Perfetto trace
 * (NULL after a message naming @cmd).  Batches classified through cli_trace_run_batch, or
 * cli_trace_submit_batch and cli_trace_collect_batch, are traced, each from its submission to
 * its results (with @t NULL, or another infer, they are vitrt_infer's calls).  cli_trace_close
 * writes FILE if @keep, else discards it, and frees @t, before @inf is freed: 0, or 1 after
 * a message.
 */
struct cli_trace;
struct vitrt_result;
struct cli_trace *cli_trace_open(const char *path, struct vitrt_infer *inf, const char *cmd);
int cli_trace_run_batch(struct cli_trace *t, struct vitrt_infer *inf, const uint8_t *pix,
			uint32_t count, struct vitrt_result *r);
int cli_trace_submit_batch(struct cli_trace *t, struct vitrt_infer *inf, const uint8_t *pix,
			   uint32_t count);
int cli_trace_collect_batch(struct cli_trace *t, struct vitrt_infer *inf,
			    struct vitrt_result *r, uint32_t *count);
int cli_trace_close(struct cli_trace *t, bool keep);
#define TRACE_USAGE \
	"      --trace FILE    the integer program's work as a Chrome trace-event JSON file\n" \
	"                      (open it in ui.perfetto.dev or chrome://tracing): host ops,\n" \
	"                      device submissions and jobs with their cycles, on tracks\n"

#define DEVICES_USAGE \
	"      --devices D     all, or a list (0,1 or /dev/vitsa0,/dev/vitsa1; sim for an\n" \
	"                      in-process one): the images of a batch shared out over these\n" \
	"                      devices, one thread each; the same results as one device\n"

#endif /* VITRT_CLI_H */
