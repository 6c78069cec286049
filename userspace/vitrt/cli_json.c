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

/* The length of the UTF-8 sequence that starts @s (1..4), or 0 when none does. */
static size_t utf8_len(const unsigned char *s)
{
	uint32_t cp, min;
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f, min = 0x80;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, cp = s[0] & 0x0f, min = 0x800;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07, min = 0x10000;
	else
		return 0;
	/* a NUL terminator is no continuation byte: the scan never passes the end */
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* overlong forms, UTF-16 surrogates and code points past Unicode are not UTF-8 */
	if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

json_t *cli_json_str(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	char *out, *o;
	json_t *j;

	if (!s)
		return json_null();
	/* a byte that is not UTF-8 (a file name is any bytes) becomes U+FFFD, 3 bytes */
	out = o = malloc(3 * strlen(s) + 1);
	if (!out)
		return NULL;
	while (*p) {
		size_t n = utf8_len(p);

		if (n) {
			memcpy(o, p, n);
			o += n, p += n;
		} else {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3, p++;
		}
	}
	j = json_stringn(out, (size_t)(o - out));
	free(out);
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
