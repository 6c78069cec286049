// SPDX-License-Identifier: MIT
/* libvitrt: strict JSON through jansson, with messages that name the byte at fault. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "vitrt_json.h"

/* Any top value: callers name what they got instead of jansson's "'[' or '{' expected". */
#define JSON_FLAGS	(JSON_REJECT_DUPLICATES | JSON_DECODE_ANY)

/* Messages quote bytes of the file: show control characters as '?', not to a terminal. */
static void json_msg_clean(char *msg)
{
	for (; *msg; msg++)
		if ((unsigned char)*msg < 0x20 || *msg == 0x7f)
			*msg = '?';
}

/*
 * Where the key ending at @end (its closing quote is byte @end - 1) starts, or 0.  Inside a
 * JSON string every '"' follows an odd run of backslashes, so scanning back, the first quote
 * after an even run opens the key.
 */
static size_t json_key_start(const char *text, size_t end)
{
	if (end < 2 || text[end - 1] != '"')
		return 0;
	for (size_t q = end - 1; q-- > 0;) {
		size_t bs = 0;

		if (text[q] != '"')
			continue;
		while (bs < q && text[q - 1 - bs] == '\\')
			bs++;
		if (bs % 2 == 0)
			return q + 1;
	}
	return 0;
}

/* jansson's error as "byte N: problem"; a duplicate key is named in full, as written. */
static void json_msg(const char *text, size_t len, const json_error_t *e, char *msg, size_t cap)
{
	size_t pos = e->position > 0 && (size_t)e->position <= len ? (size_t)e->position : 0;
	size_t key = json_error_code(e) == json_error_duplicate_key ? json_key_start(text, pos) : 0;

	if (key)
		snprintf(msg, cap, "byte %zu: duplicate key '%.*s'", pos, (int)(pos - 1 - key),
			 text + key);
	else
		snprintf(msg, cap, "byte %zu: %s", pos, e->text);
	json_msg_clean(msg);
}

/* Whether @v holds containers more than @levels deep (itself counting as one). */
static bool json_too_deep(json_t *v, int levels)
{
	const char *key;
	json_t *item;
	size_t i;

	if (!json_is_array(v) && !json_is_object(v))
		return false;
	if (levels == 0)
		return true;
	if (json_is_array(v)) {
		json_array_foreach(v, i, item)
			if (json_too_deep(item, levels - 1))
				return true;
		return false;
	}
	json_object_foreach(v, key, item)
		if (json_too_deep(item, levels - 1))
			return true;
	return false;
}

json_t *vitrt_json_load(const char *text, size_t len, char *msg, size_t cap)
{
	const char *nul = memchr(text, '\0', len);
	json_error_t e;
	json_t *doc;

	if (cap)
		msg[0] = '\0';
	/* jansson refuses a NUL too, but reports the next byte and "end of file" */
	if (nul) {
		if (cap)
			snprintf(msg, cap, "byte %zu: NUL byte", (size_t)(nul - text));
		return NULL;
	}
	doc = json_loadb(text, len, JSON_FLAGS, &e);
	if (!doc) {
		if (cap)
			json_msg(text, len, &e, msg, cap);
		return NULL;
	}
	if (json_too_deep(doc, VITRT_JSON_MAX_DEPTH)) {
		if (cap)
			snprintf(msg, cap, "nested deeper than %d levels", VITRT_JSON_MAX_DEPTH);
		json_decref(doc);
		return NULL;
	}
	return doc;
}

const char *vitrt_json_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
		return "true";
	case JSON_FALSE:
		return "false";
	case JSON_NULL:
		return "null";
	}
	return "?";
}
