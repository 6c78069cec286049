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

struct vitrt_infer;

/*
 * The --fp32 checkpoint @fp takes the compiled model @in's input (channels, size) and has its
 * classes, so both read the same pixels; 0, or 1 after an error naming what differs.
 */
int fp32_matches(const struct vitrt_infer *in, const char *model, const struct vitrt_infer *fp,
		 const char *ckpt);

#endif /* VITRT_CLI_H */
