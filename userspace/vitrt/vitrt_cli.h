/* SPDX-License-Identifier: MIT */
/* vitrt command line: one file per command, each an entry in main.c's table. */
#ifndef VITRT_CLI_H
#define VITRT_CLI_H

#include <stdbool.h>

int cmd_gemm(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_top(int argc, char **argv);

/* vitrt bench --kernels (bench_kernels.c). */
int bench_kernels(bool json);

/* Print "vitrt: <msg>" to stderr; returns 1 for `return die(...)` in commands. */
int die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * --interpolation bicubic|bilinear and --crop-pct F, shared by run, eval and quantize: their
 * getopt values, and prep_option() to apply one to @p (0, or 2 after a message).
 */
#define PREP_OPT_INTERP	0x100
#define PREP_OPT_CROP	0x101
#define PREP_LONG_OPTIONS \
	{ "interpolation", 1, 0, PREP_OPT_INTERP }, { "crop-pct", 1, 0, PREP_OPT_CROP }
#define PREP_USAGE \
	"      --interpolation I  bicubic (default) or bilinear: how a PNG/JPEG is resized\n" \
	"      --crop-pct F    the shorter side is resized to size / F, then the centre\n" \
	"                      size x size is kept (default 0.875, timm's DeiT); an image\n" \
	"                      already at the model's size is taken as it is\n"

struct vitrt_prep;
int prep_option(int opt, const char *arg, struct vitrt_prep *p, const char *cmd);

struct vitrt_infer;

/*
 * The --fp32 checkpoint @fp takes the compiled model @in's input (channels, size) and has its
 * classes, so both read the same pixels; 0, or 1 after an error naming what differs.
 */
int fp32_matches(const struct vitrt_infer *in, const char *model, const struct vitrt_infer *fp,
		 const char *ckpt);

#endif /* VITRT_CLI_H */
