/* SPDX-License-Identifier: MIT */
/*
 * libvitrt internals: strict JSON for the safetensors header, the sidecar and config.json,
 * parsed by jansson.  Private to the library: applications never see a JSON type.
 */
#ifndef VITRT_JSON_H
#define VITRT_JSON_H

#include <stddef.h>

#include <jansson.h>

#define VITRT_JSON_MAX_DEPTH	64

/*
 * Parse @len bytes of @text (RFC 8259: no comments, no trailing commas, valid UTF-8), also
 * refusing duplicate keys, NUL bytes and \u0000, integers beyond int64 and nesting deeper
 * than VITRT_JSON_MAX_DEPTH.  Any value may be the top one.  NULL on error, with
 * "byte N: problem" in @msg (@cap may be 0); free the result with json_decref().
 */
json_t *vitrt_json_load(const char *text, size_t len, char *msg, size_t cap);

/* "an object", "a string", "null", ...: what @v is, for messages. */
const char *vitrt_json_kind(const json_t *v);

#endif /* VITRT_JSON_H */
