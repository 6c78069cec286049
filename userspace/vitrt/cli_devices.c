// SPDX-License-Identifier: MIT
/* --devices all|LIST for run, eval and bench: a batch sharded over /dev/vitsaN (vitrt_cli.h). */
#include <glob.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vitrt_cli.h"
#include "vitrt_infer.h"

/* N of "/dev/vitsaN", for ordering by number (vitsa10 after vitsa9). */
static unsigned long node_number(const char *path)
{
	return strtoul(path + strlen("/dev/vitsa"), NULL, 10);
}

static int by_number(const void *a, const void *b)
{
	unsigned long x = node_number(*(char *const *)a), y = node_number(*(char *const *)b);

	return x < y ? -1 : x > y;
}

/* Every /dev/vitsaN, by N, into @nodes; how many, or 0 after a message. */
static uint32_t all_nodes(char nodes[][64], const char *cmd)
{
	glob_t g;
	uint32_t n = 0;

	if (glob("/dev/vitsa[0-9]*", 0, NULL, &g) || !g.gl_pathc) {
		globfree(&g);
		return die("%s: --devices all: no /dev/vitsaN on this machine", cmd), 0;
	}
	if (g.gl_pathc > VITRT_MAX_DEVICES) {
		globfree(&g);
		return die("%s: --devices all: more than %d devices; list the ones to use", cmd,
			   VITRT_MAX_DEVICES), 0;
	}
	qsort(g.gl_pathv, g.gl_pathc, sizeof(*g.gl_pathv), by_number);
	for (size_t i = 0; i < g.gl_pathc; i++)
		snprintf(nodes[n++], sizeof(nodes[0]), "%s", g.gl_pathv[i]);
	globfree(&g);
	return n;
}

/* The same device twice: the same name, or two names of one device node. */
static bool same_node(const char *a, const char *b)
{
	struct stat x, y;

	if (!strcmp(a, b))
		return true;
	return !stat(a, &x) && !stat(b, &y) && S_ISCHR(x.st_mode) && S_ISCHR(y.st_mode) &&
	       x.st_rdev == y.st_rdev;
}

/*
 * "0,2" (numbers of /dev/vitsaN), "/dev/vitsa0,/path", or "sim" (an in-process device, which
 * tests the sharding without hardware) into @nodes; count, or 0 after a message.
 */
static uint32_t listed_nodes(const char *list, char nodes[][64], const char *cmd)
{
	uint32_t n = 0;

	for (const char *s = list;; s++) {
		size_t len = strcspn(s, ",");
		char *end;

		if (n == VITRT_MAX_DEVICES)
			return die("%s: --devices: more than %d devices", cmd, VITRT_MAX_DEVICES), 0;
		if (*s == '/' && len >= sizeof(nodes[0]))
			return die("%s: --devices: a path of %zu bytes is too long", cmd, len), 0;
		if (*s == '/' || (len == 3 && !strncmp(s, "sim", 3))) {
			snprintf(nodes[n], sizeof(nodes[0]), "%.*s", (int)len, s);
		} else {
			unsigned long v = strtoul(s, &end, 10);

			if (*s < '0' || *s > '9' || end != s + len || v > 9999)
				return die("%s: --devices wants all, or device numbers, /dev paths or "
					   "sim separated by commas, not '%s'", cmd, list), 0;
			snprintf(nodes[n], sizeof(nodes[0]), "/dev/vitsa%lu", v);
		}
		for (uint32_t i = 0; i < n && strcmp(nodes[n], "sim"); i++)
			if (same_node(nodes[i], nodes[n]))
				return die("%s: --devices lists %s twice", cmd, nodes[n]), 0;
		n++;
		s += len;
		if (!*s)
			return n;
	}
}

/* The vitrt_dev_open spec of a --devices entry. */
static void node_spec(char *spec, size_t cap, const char *node)
{
	snprintf(spec, cap, "%s%s", strcmp(node, "sim") ? "dev:" : "", node);
}

/*
 * Unless VITRT_PIN=0, the thread that waits for a single /dev/vitsaN runs where the device's
 * interrupt arrives (vitrt_infer_pin_submitter); anywhere else it is left alone.
 */
static struct vitrt_infer *pinned(struct vitrt_infer *inf)
{
	const char *pin = getenv("VITRT_PIN");
	uint32_t cpu;

	if (inf && !(pin && !strcmp(pin, "0")))
		vitrt_infer_pin_submitter(inf, &cpu);
	return inf;
}

struct vitrt_infer *cli_infer_int(const char *model, const char *backend, const char *devices,
				  const char *cmd)
{
	char nodes[VITRT_MAX_DEVICES][64], spec[80], msg[1024];
	struct vitrt_infer *inf;
	uint32_t n;
	int err;

	if (!devices) {
		inf = vitrt_infer_int(model, backend, &err, msg, sizeof(msg));
		return inf ? pinned(inf) : (die("%s", msg), NULL);
	}
	if (backend && strcmp(backend, "dev") && strcmp(backend, "auto"))
		return die("%s: --devices runs on /dev/vitsaN: not with --backend %s", cmd,
			   backend), NULL;
	n = strcmp(devices, "all") ? listed_nodes(devices, nodes, cmd) : all_nodes(nodes, cmd);
	if (!n)
		return NULL;
	node_spec(spec, sizeof(spec), nodes[0]);
	inf = vitrt_infer_int(model, spec, &err, msg, sizeof(msg));
	for (uint32_t i = 1; inf && i < n; i++) {
		node_spec(spec, sizeof(spec), nodes[i]);
		if (vitrt_infer_add_device(inf, spec, msg, sizeof(msg))) {
			vitrt_infer_free(inf);
			inf = NULL;
		}
	}
	return inf ? pinned(inf) : (die("%s", msg), NULL);
}
