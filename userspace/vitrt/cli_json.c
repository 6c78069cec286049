// SPDX-License-Identifier: MIT
/*
 * The --json output of every command, written by jansson (vitrt_cli.h): file names and labels
 * are data, so each string is escaped by the library and made valid UTF-8 first; numbers keep
 * the precision the text output prints.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vitrt_cli.h"
#include "vitrt_utf8.h"

json_t *cli_json_str(const char *s)
{
	size_t len;
	char *text;
	json_t *j;

	if (!s)
		return json_null();
	text = vitrt_utf8_repair(s, &len);	/* a file name is any bytes */
	if (!text)
		return NULL;
	j = json_stringn(text, len);
	free(text);
	return j;
}

/* @v as @text, its printed form, reads back; JSON has no NaN or infinity: null. */
static json_t *real_of(double v, const char *text)
{
	return isfinite(v) ? json_real(strtod(text, NULL)) : json_null();
}

json_t *cli_json_fixed(double v, int decimals)
{
	char text[64];

	snprintf(text, sizeof(text), "%.*f", decimals, v);
	return real_of(v, text);
}

json_t *cli_json_sig(double v, int digits)
{
	char text[64];

	snprintf(text, sizeof(text), "%.*g", digits, v);
	return real_of(v, text);
}

int cli_json_push(json_t *array, json_t *v)
{
	/* jansson releases @v when it cannot take it, @array NULL included */
	return json_array_append_new(array, v) ? VITRT_ENOMEM : 0;
}

int cli_json_print(json_t *doc, bool compact)
{
	/*
	 * 15 significant digits print every value cli_json_fixed and _sig made as they rounded
	 * it (0.1, not 0.10000000000000001), and whole counts are integers, exact.
	 */
	size_t flags = JSON_REAL_PRECISION(15) | (compact ? JSON_COMPACT : 0);
	int err = 0;

	if (!doc)
		return die("out of memory writing JSON");
	if (json_dumpf(doc, stdout, flags) || putchar('\n') == EOF || fflush(stdout))
		err = die("writing JSON to stdout failed");
	json_decref(doc);
	return err;
}
