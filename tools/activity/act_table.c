// SPDX-License-Identifier: MIT
/*
 * act_table: the activity table from the per-run figures of run.sh
 * (Documentation/hw/activity.rst).
 *
 *   act_table RESULTS CELLS
 *
 * RESULTS: lines "variant layer macs reg_toggles net_toggles" (register toggles from the RTL
 * simulation, all-net toggles from the gate netlist), in the order the table lists variants.
 * CELLS: lines "variant cells flipflops".  Prints per variant the toggles per MAC summed over
 * every layer, their ratio to the last variant (the baseline), and the cells per PE, as an
 * reStructuredText table; then the per-layer net toggles per MAC.
 */
#include <stdio.h>
#include <string.h>

#define MAX_V 8
#define MAX_L 16

struct var {
	char name[32];
	double macs, regs, nets;
	double layer_nets[MAX_L];	/* per MAC */
	long cells, ffs;
};

static struct var v[MAX_V];
static char layers[MAX_L][32];
static int nv, nl;

/* Index of name @s among *@n names of 32 bytes, @stride bytes apart from @names; added if new. */
static int find(char *names, size_t stride, int *n, int max, const char *s)
{
	for (int i = 0; i < *n; i++)
		if (!strcmp(names + i * stride, s))
			return i;
	if (*n == max)
		return -1;
	snprintf(names + *n * stride, 32, "%.31s", s);
	return (*n)++;
}

static int read_results(const char *path)
{
	FILE *f = fopen(path, "r");
	char vn[64], ln[64];
	double macs, regs, nets;
	int i, l;

	if (!f)
		return perror(path), 1;
	while (fscanf(f, "%63s %63s %lf %lf %lf", vn, ln, &macs, &regs, &nets) == 5) {
		i = find(v[0].name, sizeof(v[0]), &nv, MAX_V, vn);
		l = find(layers[0], sizeof(layers[0]), &nl, MAX_L, ln);
		if (i < 0 || l < 0 || macs <= 0)
			return fclose(f), fprintf(stderr, "%s: too many variants or layers\n", path), 1;
		v[i].macs += macs;
		v[i].regs += regs;
		v[i].nets += nets;
		v[i].layer_nets[l] = nets / macs;
	}
	fclose(f);
	return nv ? 0 : (fprintf(stderr, "%s: no results\n", path), 1);
}

static int read_cells(const char *path)
{
	FILE *f = fopen(path, "r");
	char vn[64];
	long cells, ffs;

	if (!f)
		return perror(path), 1;
	while (fscanf(f, "%63s %ld %ld", vn, &cells, &ffs) == 3)
		for (int i = 0; i < nv; i++)
			if (!strcmp(v[i].name, vn)) {
				v[i].cells = cells;
				v[i].ffs = ffs;
			}
	fclose(f);
	return 0;
}

static void rule(void)
{
	printf("==========================  ==========  ==========  =========  ==========  =====\n");
}

int main(int argc, char **argv)
{
	if (argc != 3)
		return fprintf(stderr, "usage: act_table RESULTS CELLS\n"), 2;
	if (read_results(argv[1]) || read_cells(argv[2]))
		return 1;
	const struct var *base = &v[nv - 1];

	rule();
	printf("%-26s  %10s  %10s  %9s  %10s  %5s\n", "PE", "reg tg/MAC", "net tg/MAC",
	       "nets/base", "cells/PE", "FFs");
	rule();
	for (int i = 0; i < nv; i++)
		printf("%-26s  %10.2f  %10.1f  %9.2f  %10ld  %5ld\n", v[i].name, v[i].regs / v[i].macs,
		       v[i].nets / v[i].macs, (v[i].nets / v[i].macs) / (base->nets / base->macs),
		       v[i].cells, v[i].ffs);
	rule();
	printf("\nnet toggles per MAC by layer:\n\n%-26s", "PE");
	for (int l = 0; l < nl; l++)
		printf(" %8s", layers[l]);
	printf("\n");
	for (int i = 0; i < nv; i++) {
		printf("%-26s", v[i].name);
		for (int l = 0; l < nl; l++)
			printf(" %8.1f", v[i].layer_nets[l]);
		printf("\n");
	}
	return 0;
}
