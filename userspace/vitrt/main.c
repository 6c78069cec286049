// SPDX-License-Identifier: MIT
/* vitrt: the vitsa runtime's command line. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vitrt_cli.h"
#include "vitrt_infer.h"
#include "vitrt_pool.h"
#include "vitsa.h"
#include "vitsa_hw.h"
#include "vitsa_netlink.h"

static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{ "quantize", cmd_quantize, "compile a floating-point ViT checkpoint to an integer program" },
	{ "run", cmd_run, "classify images with a compiled model (or --fp32 a checkpoint)" },
	{ "eval", cmd_eval, "top-1 of a compiled model on a dataset, FP32 side by side" },
	{ "info", cmd_info, "describe a compiled model" },
	{ "bench", cmd_bench, "images per second, integer program and FP32 reference" },
	{ "profile", cmd_profile, "where the time of a --trace file went, per op (table, chart)" },
	{ "gemm", cmd_gemm, "run GEMMs on a backend and check them against the CPU reference" },
	{ "top", cmd_top, "live counters, rates and events of every vitsa device (netlink)" },
	{ "version", cmd_version, "this program's version and the interfaces it was built for" },
};

int die(const char *fmt, ...)
{
	va_list ap;

	fputs("vitrt: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

int fp32_matches(const struct vitrt_infer *in, const char *model, const struct vitrt_infer *fp,
		 const char *ckpt)
{
	uint32_t c = vitrt_infer_chans(in), s = vitrt_infer_size(in), k = vitrt_infer_classes(in);
	uint32_t fc = vitrt_infer_chans(fp), fs = vitrt_infer_size(fp);
	uint32_t fk = vitrt_infer_classes(fp);

	if (fc == c && fs == s && fk == k)
		return 0;
	return die("%s: the checkpoint takes %ux%ux%u images and has %u classes, the model %s "
		   "%ux%ux%u and %u: --fp32 wants the checkpoint the model was compiled from",
		   ckpt, fc, fs, fs, fk, model, c, s, s, k);
}

int cmd_version(int argc, char **argv)
{
	bool json = argc == 2 && (!strcmp(argv[1], "--json") || !strcmp(argv[1], "-j"));
	char uapi[24], hw[24];

	if (argc > 1 && !json) {
		printf("usage: vitrt version [--json]   (or vitrt --version [--json])\n"
		       "This program's version and the versions it was built for: the kernel\n"
		       "interface (uapi/vitsa.h), its netlink family and the device\n"
		       "(hw/include/vitsa_hw.h).  --json: one object {vitrt, uapi, netlink, hw}.\n");
		return strcmp(argv[1], "--help") && strcmp(argv[1], "-h") ? 2 : 0;
	}
	snprintf(uapi, sizeof(uapi), "%d.%d", VITSA_UAPI_MAJOR, VITSA_UAPI_MINOR);
	snprintf(hw, sizeof(hw), "%d.%d", VITSA_HW_VERSION_MAJOR, VITSA_HW_VERSION_MINOR);
	if (json)
		return cli_json_print(json_pack("{s:s, s:s, s:i, s:s}", "vitrt", VITRT_CLI_VERSION,
						"uapi", uapi, "netlink", VITSA_GENL_VERSION,
						"hw", hw), false);
	printf("vitrt %s\nbuilt for uapi %s (netlink family version %d), hardware %s\n",
	       VITRT_CLI_VERSION, uapi, VITSA_GENL_VERSION, hw);
	return 0;
}

static int usage(FILE *f)
{
	fprintf(f, "usage: vitrt COMMAND [OPTIONS]   (vitrt COMMAND --help for its options)\n"
		   "       vitrt --version [--json]\n\n"
		   "commands (each with --json: one JSON object a line on stdout):\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nevery command also takes:\n"
		   "  --threads N  threads of the in-process device and the integer CPU ops\n"
		   "               (default: the CPUs this process may use)\n"
		   "environment:\n"
		   "  VITRT_CPU    GEMM kernel of the in-process device: %s (default: the best\n"
		   "               this CPU runs, now %s)\n"
		   "  VITRT_PIN    0: leave the thread that waits for one /dev/vitsaN where the\n"
		   "               scheduler puts it (default: on a CPU its interrupt goes to)\n",
		vitrt_cpu_kernels(), vitrt_cpu_kernel());
	return f == stderr ? 2 : 0;
}

/* "--threads N" or "--threads=N" anywhere: taken out of argv and applied. */
static int take_threads(int *argc, char **argv)
{
	for (int i = 1; i < *argc; i++) {
		const char *v = NULL;
		int used = 0;
		char *end;
		unsigned long n;

		if (!strcmp(argv[i], "--threads") && i + 1 < *argc)
			v = argv[i + 1], used = 2;
		else if (!strncmp(argv[i], "--threads=", 10))
			v = argv[i] + 10, used = 1;
		else if (!strcmp(argv[i], "--threads"))
			return die("--threads needs a number");
		else
			continue;
		n = strtoul(v, &end, 10);
		if (*v < '0' || *v > '9' || *end || !n || vitrt_set_threads((uint32_t)n))
			return die("--threads: '%s' is not a thread count 1..%u", v, VITRT_MAX_THREADS);
		memmove(&argv[i], &argv[i + used], (*argc - i - used + 1) * sizeof(*argv));
		*argc -= used;
		i--;
	}
	return 0;
}

/* VITRT_CPU, if set, picks the GEMM kernel; an unknown or unsupported one is an error. */
static int take_cpu(void)
{
	const char *cpu = getenv("VITRT_CPU");

	if (!cpu || !*cpu || !vitrt_cpu_select(cpu))
		return 0;
	return die("VITRT_CPU=%s: not a kernel this CPU runs (it runs: %s)", cpu,
		   vitrt_cpu_kernels());
}

int main(int argc, char **argv)
{
	if (take_threads(&argc, argv) || take_cpu())
		return 2;
	if (argc < 2)
		return usage(stderr);
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help"))
		return usage(stdout);
	if (!strcmp(argv[1], "--version"))
		return cmd_version(argc - 1, argv + 1);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	die("unknown command '%s'", argv[1]);
	return usage(stderr);
}
