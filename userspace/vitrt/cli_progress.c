// SPDX-License-Identifier: MIT
/*
 * A progress bar on stderr for the CLI's long loops (bench), redrawn in place at most ten
 * times a second, and only when stderr is a terminal: a log or a pipe gets nothing, so
 * scripts and the tests that read stderr see what they always did.  VITRT_PROGRESS=0 turns
 * it off on a terminal too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vitrt_cli.h"

#define BAR_WIDTH	30
#define REDRAW_S	0.1

static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

void cli_progress_start(struct cli_progress *p, const char *what, uint64_t total)
{
	const char *env = getenv("VITRT_PROGRESS");

	*p = (struct cli_progress){ .what = what, .total = total ? total : 1, .last = -1 };
	p->on = isatty(STDERR_FILENO) && !(env && !strcmp(env, "0"));
}

static void draw(const struct cli_progress *p)
{
	uint64_t done = p->done < p->total ? p->done : p->total;
	int fill = (int)(done * BAR_WIDTH / p->total);

	fprintf(stderr, "\r%s [%.*s%*s] %llu/%llu", p->what, fill,
		"##############################", BAR_WIDTH - fill, "",
		(unsigned long long)done, (unsigned long long)p->total);
}

void cli_progress_add(struct cli_progress *p, uint64_t n)
{
	double t;

	p->done += n;
	if (!p->on)
		return;
	t = seconds();
	if (p->last >= 0 && t - p->last < REDRAW_S && p->done < p->total)
		return;
	p->last = t;
	draw(p);
}

void cli_progress_end(struct cli_progress *p)
{
	if (p->on && p->last >= 0)
		fprintf(stderr, "\r\033[K");	/* the line it drew, erased */
	p->on = false;
}
