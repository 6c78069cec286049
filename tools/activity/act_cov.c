// SPDX-License-Identifier: MIT
/*
 * act_cov: sums Verilator toggle coverage (coverage.dat of --coverage-toggle) over the PEs of
 * act_col, for the activity study (Documentation/hw/activity.rst).
 *
 *   act_cov COVERAGE [-v]
 *
 * A point counts every change of one signal bit.  Counted: every signal inside a PE instance
 * (hierarchy below ".pe"), except the PE's inputs, which are the registers of its neighbours
 * or the bench (counting them would count those bits twice).  Split into register bits
 * (vitsa_pe's and act_pe_fp16's registers: the same names) and the rest, the nets.  Prints
 * "regs R nets N signals S" (R, N toggles; S bits counted); -v adds one line per signal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const inputs[] = { "clk", "rst", "a_type", "b_type", "a_in", "v_in",
				      "f_in", "w_we", "w_row", "w_data", "psum_in", NULL };
static const char *const regs[] = { "a_q", "v_q", "f_q", "psum_q", "w_sh", "w_act", NULL };

static int in_list(const char *const *l, const char *s)
{
	for (; *l; l++)
		if (!strcmp(*l, s))
			return 1;
	return 0;
}

/* Value of key @k in the \001key\002value fields of a coverage point, copied to @out. */
static int field(const char *line, const char *k, char *out, size_t cap)
{
	char pat[16];
	const char *p, *e;

	snprintf(pat, sizeof(pat), "\001%s\002", k);
	p = strstr(line, pat);
	if (!p)
		return -1;
	p += strlen(pat);
	e = p + strcspn(p, "\001'");
	if ((size_t)(e - p) >= cap)
		return -1;
	memcpy(out, p, (size_t)(e - p));
	out[e - p] = 0;
	return 0;
}

struct sig { char name[256]; unsigned long long t; unsigned bits; };

static struct sig *sigs;
static size_t nsigs, capsigs;

static void note(const char *name, unsigned long long t)
{
	for (size_t i = 0; i < nsigs; i++)
		if (!strcmp(sigs[i].name, name)) {
			sigs[i].t += t;
			sigs[i].bits++;
			return;
		}
	if (nsigs == capsigs) {
		capsigs = capsigs ? 2 * capsigs : 256;
		sigs = realloc(sigs, capsigs * sizeof(*sigs));
		if (!sigs)
			exit(1);
	}
	snprintf(sigs[nsigs].name, sizeof(sigs[nsigs].name), "%s", name);
	sigs[nsigs].t = t;
	sigs[nsigs++].bits = 1;
}

/* One coverage point: hierarchy inside a PE, signal not an input of the PE itself. */
static int point(const char *line, char *name, unsigned long long *t, int *is_reg)
{
	char h[512], o[256];
	const char *pe, *tail = strrchr(line, '\'');

	if (strncmp(line, "C '", 3) || !tail || field(line, "h", h, sizeof(h)) ||
	    field(line, "o", o, sizeof(o)) || !(pe = strstr(h, ".pe")))
		return 0;
	*t = strtoull(tail + 1, NULL, 10);
	o[strcspn(o, "[")] = 0;			/* the bit index: sum over the bits */
	if (pe[3] == 0 && in_list(inputs, o))
		return 0;
	*is_reg = pe[3] == 0 && in_list(regs, o);
	snprintf(name, 256, "%.120s%s%.120s", pe[3] ? pe + 4 : "", pe[3] ? "." : "", o);
	return 1;
}

int main(int argc, char **argv)
{
	FILE *f = argc >= 2 ? fopen(argv[1], "r") : NULL;
	unsigned long long reg = 0, net = 0, t, bits = 0;
	char line[4096], name[256];
	int is_reg;

	if (!f)
		return fprintf(stderr, "usage: act_cov COVERAGE [-v]\n"), 2;
	while (fgets(line, sizeof(line), f)) {
		if (!point(line, name, &t, &is_reg))
			continue;
		*(is_reg ? &reg : &net) += t;
		bits++;
		note(name, t);
	}
	fclose(f);
	printf("regs %llu nets %llu signals %llu\n", reg, net, bits);
	for (size_t i = 0; argc > 2 && i < nsigs; i++)
		printf("  %-40s %6u bits %14llu\n", sigs[i].name, sigs[i].bits, sigs[i].t);
	free(sigs);
	return bits ? 0 : (fprintf(stderr, "act_cov: %s: no PE toggle points\n", argv[1]), 1);
}
