// SPDX-License-Identifier: MIT
/*
 * vitrt profile TRACE: where the time of a --trace file went, per op.  The program's steps are
 * the trace's events that carry a step (host steps and device jobs, cli_trace.c); their
 * durations are summed per op and place, divided by the images the trace holds, and shown as
 * a table, --json, or a chart (--plot, vitrt_chart.c).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vitrt_chart.h"
#include "vitrt_cli.h"

#define OPS_MAX	64	/* (op, place) pairs: the ops there are, on the host or a device */

struct op_time {
	char name[32];
	bool host;		/* a host step, else a device's job */
	uint64_t events;
	double ms;
};

struct profile {
	struct op_time op[OPS_MAX];
	uint32_t nops;
	uint64_t images;	/* the highest image index + 1 */
	double ms;		/* all the ops' time */
};

static struct op_time *op_slot(struct profile *p, const char *name, bool host)
{
	for (uint32_t i = 0; i < p->nops; i++)
		if (p->op[i].host == host && !strcmp(p->op[i].name, name))
			return &p->op[i];
	if (p->nops == OPS_MAX || strlen(name) >= sizeof(p->op[0].name))
		return NULL;
	snprintf(p->op[p->nops].name, sizeof(p->op[0].name), "%s", name);
	p->op[p->nops].host = host;
	return &p->op[p->nops++];
}

/*
 * Event @i into @p if it is a step's (an "X" event of cat "host" or "job" with args.step and
 * args.image), else skipped: 0, or 1 after a message naming what is wrong.
 */
static int add_event(struct profile *p, const char *path, size_t i, json_t *ev)
{
	json_t *args = json_object_get(ev, "args"), *dur = json_object_get(ev, "dur");
	json_t *image = json_object_get(args, "image");
	const char *ph = json_string_value(json_object_get(ev, "ph"));
	const char *cat = json_string_value(json_object_get(ev, "cat"));
	const char *name = json_string_value(json_object_get(ev, "name"));
	struct op_time *o;

	if (!json_is_object(ev) || !ph)
		return die("%s: event %zu is not an object with a ph", path, i);
	if (strcmp(ph, "X") || !cat || (strcmp(cat, "host") && strcmp(cat, "job")) ||
	    !json_object_get(args, "step"))
		return 0;
	if (!name || !json_is_number(dur) || json_number_value(dur) < 0 ||
	    !json_is_integer(image) || json_integer_value(image) < 0)
		return die("%s: event %zu: a step needs a name, a dur >= 0 and an image index",
			   path, i);
	o = op_slot(p, name, !strcmp(cat, "host"));
	if (!o)
		return die("%s: event %zu: more than %u ops, or an op name of 32 bytes or more",
			   path, i, OPS_MAX);
	o->events++;
	o->ms += json_number_value(dur) / 1000;
	p->ms += json_number_value(dur) / 1000;
	if ((uint64_t)json_integer_value(image) >= p->images)
		p->images = (uint64_t)json_integer_value(image) + 1;
	return 0;
}

static int by_time(const void *a, const void *b)
{
	const struct op_time *x = a, *y = b;

	return (x->ms < y->ms) - (x->ms > y->ms);
}

/* @path's steps into @p; 0, or 1 after a message. */
static int profile_load(const char *path, struct profile *p)
{
	json_error_t jerr;
	json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr), *evs;
	size_t i;
	int err = 0;

	if (!doc)
		return die("%s: line %d: %s", path, jerr.line, jerr.text);
	evs = json_object_get(doc, "traceEvents");
	if (!json_is_array(evs))
		err = die("%s: no traceEvents array: not a vitrt --trace file", path);
	for (i = 0; !err && i < json_array_size(evs); i++)
		err = add_event(p, path, i, json_array_get(evs, i));
	json_decref(doc);
	if (!err && !p->nops)
		err = die("%s: no step of a program in it (was it written by --trace?)", path);
	qsort(p->op, p->nops, sizeof(p->op[0]), by_time);
	return err;
}

static const char *place(const struct op_time *o)
{
	return o->host ? "host" : "device";
}

static void print_text(const char *path, const struct profile *p)
{
	printf("%s: %llu images, %.3f ms of steps (%.3f ms per image)\n", path,
	       (unsigned long long)p->images, p->ms, p->ms / p->images);
	printf("  %-14s %-7s %9s %12s %7s\n", "op", "where", "events", "ms/image", "share");
	for (uint32_t i = 0; i < p->nops; i++) {
		const struct op_time *o = &p->op[i];

		printf("  %-14s %-7s %9llu %12.4f %6.1f%%\n", o->name, place(o),
		       (unsigned long long)o->events, o->ms / p->images, 100 * o->ms / p->ms);
	}
}

static int print_json(const char *path, const struct profile *p, const char *plot)
{
	json_t *ops = json_array();
	int err = 0;

	for (uint32_t i = 0; i < p->nops && !err; i++) {
		const struct op_time *o = &p->op[i];

		err = cli_json_push(ops, json_pack("{s:s, s:s, s:I, s:o, s:o, s:o}", "op", o->name,
			"where", place(o), "events", (json_int_t)o->events,
			"ms", cli_json_sig(o->ms, 9), "ms_per_image", cli_json_sig(o->ms / p->images, 9),
			"share", cli_json_sig(o->ms / p->ms, 6)));
	}
	if (err) {
		json_decref(ops);
		ops = NULL;
	}
	return cli_json_print(json_pack("{s:o, s:I, s:o, s:o, s:o, s:o}", "trace",
		cli_json_str(path), "images", (json_int_t)p->images, "ms", cli_json_sig(p->ms, 9),
		"ms_per_image", cli_json_sig(p->ms / p->images, 9), "ops", ops,
		"plot", cli_json_str(plot)), false);
}

/* A bar per op, in ms per image, the host's in the accent colour. */
static int plot(const char *trace, const struct profile *p, const char *path)
{
	struct vitrt_chart_bar bars[OPS_MAX];
	char title[160], msg[512];
	const char *base = strrchr(trace, '/');
	struct vitrt_chart c = {
		.title = title, .unit = "ms per image", .bars = bars, .nbars = p->nops,
		.note = "blue: a device's jobs (on /dev/vitsaN placed by their cycles); "
			"orange: steps on the host",
	};

	snprintf(title, sizeof(title), "%s: %.3f ms per image over %llu images",
		 base ? base + 1 : trace, p->ms / p->images, (unsigned long long)p->images);
	for (uint32_t i = 0; i < p->nops; i++)
		bars[i] = (struct vitrt_chart_bar){ p->op[i].name, NULL, p->op[i].ms / p->images,
						    p->op[i].host };
	if (vitrt_chart_png(&c, path, msg, sizeof(msg)))
		return die("profile: %s", msg);
	return 0;
}

static int usage(int status)
{
	printf("usage: vitrt profile TRACE [--json] [--plot FILE.png]\n"
	       "Where the time of a trace (vitrt run|eval|bench --trace TRACE) went: the\n"
	       "program's steps summed per op and place (host, or a device's jobs), per image.\n\n"
	       "  -j, --json        one JSON object: trace (the file name as given), images, ms,\n"
	       "                    ms_per_image, ops [{op, where (host or device), events, ms,\n"
	       "                    ms_per_image, share (0..1)}] slowest first, plot (the\n"
	       "                    --plot file name, or null)\n"
	       "  -p, --plot FILE   a %ux%u PNG bar chart of the ops' ms per image\n",
	       VITRT_CHART_WIDTH, VITRT_CHART_HEIGHT);
	return status;
}

int cmd_profile(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "json", 0, 0, 'j' }, { "plot", 1, 0, 'p' }, { "help", 0, 0, 'h' }, { 0 },
	};
	struct profile *p;
	const char *png = NULL;
	bool json = false;
	int c, err;

	while ((c = getopt_long(argc, argv, "jp:h", longs, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'p': png = optarg; break;
		case 'h': return usage(0);
		default: return usage(2);
		}
	}
	if (optind + 1 != argc)
		return die("profile: need one TRACE (see --help)"), 2;
	p = calloc(1, sizeof(*p));
	if (!p)
		return die("profile: out of memory");
	err = profile_load(argv[optind], p);
	err = err ?: png ? plot(argv[optind], p, png) : 0;
	if (!err && json)
		err = print_json(argv[optind], p, png);
	else if (!err)
		print_text(argv[optind], p);
	free(p);
	return err;
}
