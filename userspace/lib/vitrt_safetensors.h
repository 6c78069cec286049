/* SPDX-License-Identifier: MIT */
/*
 * safetensors checkpoints.
 *
 * A safetensors file is an 8-byte little-endian header length N, N bytes of JSON
 * ({"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ..., optionally
 * "__metadata__": {"key": "value", ..}}), then the data section the offsets point into.
 * vitrt_st_open() checks everything before it uses any of it: the header length against the
 * file size, the JSON grammar (strict, integers within int64), every field's type, the dtype,
 * shape x element size against the byte range, every range inside the data section, ranges
 * that neither overlap nor leave holes, and names that are unique.  The tensors are then read
 * and converted to float (F32, F16 and BF16 are accepted).  Every error message starts with
 * the file's path and names the problem.
 */
#ifndef VITRT_SAFETENSORS_H
#define VITRT_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "vitrt.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VITRT_ST_MAX_DIMS	8
#define VITRT_ST_MAX_HEADER	100000000u	/* as the reference implementation */

struct vitrt_st_tensor {
	const char *name;
	const char *dtype;		/* as stored: "F32", "F16" or "BF16" */
	uint32_t ndim;
	uint64_t shape[VITRT_ST_MAX_DIMS];
	uint64_t count;			/* product of the shape */
	float *data;			/* @count floats (64-byte aligned), owned by the file */
};

struct vitrt_st;

/*
 * Read and check the checkpoint at @path.  NULL on error: *@err gets VITRT_EFORMAT (malformed),
 * VITRT_EUNSUPPORTED (a dtype other than F32/F16/BF16), VITRT_ESYS or VITRT_ENOMEM, and @msg
 * (if @cap > 0) "<path>: <problem>".
 */
struct vitrt_st *vitrt_st_open(const char *path, int *err, char *msg, size_t cap);
void vitrt_st_close(struct vitrt_st *st);
const char *vitrt_st_path(const struct vitrt_st *st);
/* Tensors are numbered 0..count-1 in name order (strcmp). */
uint32_t vitrt_st_count(const struct vitrt_st *st);
struct vitrt_st_tensor *vitrt_st_tensor(const struct vitrt_st *st, uint32_t i);
/* The tensor called @name, or NULL; its number in *@index if @index is not NULL. */
struct vitrt_st_tensor *vitrt_st_find(const struct vitrt_st *st, const char *name, uint32_t *index);
/* The string "__metadata__" holds for @key, or NULL (no such key, or no "__metadata__"). */
const char *vitrt_st_meta(const struct vitrt_st *st, const char *key);

/*
 * Write @n tensors as F32 to @path (through a temporary file renamed into place), in the
 * order given.  Returns 0 or a negative VITRT_E* code with the problem in @msg.
 */
int vitrt_st_write(const char *path, const struct vitrt_st_tensor *tensors, uint32_t n,
		   char *msg, size_t cap);

/* Float conversions of the two 16-bit formats (all values, subnormals, inf and NaN). */
float vitrt_f16_to_f32(uint16_t h);
float vitrt_bf16_to_f32(uint16_t h);

#ifdef __cplusplus
}
#endif

#endif /* VITRT_SAFETENSORS_H */
