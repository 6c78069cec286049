// SPDX-License-Identifier: MIT
/* vitsa element types: packing, unpacking and ranges. */
#include <string.h>

#include "vitsa_dtype.h"
#include "../include/vitsa_int.h"
#include "vitsa_model.h"

/* Two's complement reinterpretation, written out so it does not depend on the C implementation. */
static int32_t sext(uint32_t v, uint32_t bits)
{
	uint32_t sign = 1u << (bits - 1);

	return (v & sign) ? (int32_t)(v - sign) - (int32_t)(sign - 1) - 1 : (int32_t)v;
}

static int32_t get_s8(const uint8_t *row, uint32_t i)
{
	return sext(row[i], 8);
}

static int32_t get_u8(const uint8_t *row, uint32_t i)
{
	return row[i];
}

static uint32_t nibble(const uint8_t *row, uint32_t i)
{
	return (row[i / 2] >> (4 * (i % 2))) & 0xf;
}

static int32_t get_s4(const uint8_t *row, uint32_t i)
{
	return sext(nibble(row, i), 4);
}

static int32_t get_u4(const uint8_t *row, uint32_t i)
{
	return (int32_t)nibble(row, i);
}

static int32_t get_s16(const uint8_t *row, uint32_t i)
{
	return sext(row[2 * i] | (uint32_t)row[2 * i + 1] << 8, 16);
}

static int32_t get_s32(const uint8_t *row, uint32_t i)
{
	const uint8_t *p = row + 4 * i;

	return sext(p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24, 32);
}

static void set_8(uint8_t *row, uint32_t i, int32_t v)
{
	row[i] = (uint8_t)(v & 0xff);
}

static void set_4(uint8_t *row, uint32_t i, int32_t v)
{
	uint32_t sh = 4 * (i % 2);

	row[i / 2] = (uint8_t)((row[i / 2] & ~(0xfu << sh)) | (((uint32_t)v & 0xf) << sh));
}

static void set_s16(uint8_t *row, uint32_t i, int32_t v)
{
	row[2 * i] = (uint8_t)(v & 0xff);
	row[2 * i + 1] = (uint8_t)((v >> 8) & 0xff);
}

static void set_s32(uint8_t *row, uint32_t i, int32_t v)
{
	uint32_t u = (uint32_t)v;

	for (int b = 0; b < 4; b++)
		row[4 * i + b] = (uint8_t)(u >> (8 * b));
}

static void unpack_s8(int16_t *dst, const uint8_t *row, uint32_t c0, uint32_t cnt)
{
	const int8_t *s = (const int8_t *)row + c0;

	for (uint32_t j = 0; j < cnt; j++)
		dst[j] = s[j];
}

static void unpack_u8(int16_t *dst, const uint8_t *row, uint32_t c0, uint32_t cnt)
{
	for (uint32_t j = 0; j < cnt; j++)
		dst[j] = row[c0 + j];
}

/* int4 lookup: both nibbles of a byte at once. */
static void unpack_4(int16_t *dst, const uint8_t *row, uint32_t c0, uint32_t cnt, int sign)
{
	const uint8_t *s = row + c0 / 2;
	uint32_t j;

	for (j = 0; j + 1 < cnt; j += 2) {
		dst[j] = (int16_t)(((s[j / 2] & 0xf) ^ sign) - sign);
		dst[j + 1] = (int16_t)(((s[j / 2] >> 4) ^ sign) - sign);
	}
	if (j < cnt)
		dst[j] = (int16_t)(((s[j / 2] & 0xf) ^ sign) - sign);
}

static void unpack_s4(int16_t *dst, const uint8_t *row, uint32_t c0, uint32_t cnt)
{
	unpack_4(dst, row, c0, cnt, 8);
}

static void unpack_u4(int16_t *dst, const uint8_t *row, uint32_t c0, uint32_t cnt)
{
	unpack_4(dst, row, c0, cnt, 0);
}

const struct vitsa_dtype_traits vitsa_dtypes[VITSA_DTYPE_COUNT] = {
	[VITSA_DTYPE_S8] = { .name = "s8", .bits = VITSA_DTYPE_BITS(VITSA_DTYPE_S8),
			     .min = -128, .max = 127,
			     .operand = true, .result = true,
			     .get = get_s8, .set = set_8, .unpack = unpack_s8 },
	[VITSA_DTYPE_U8] = { .name = "u8", .bits = VITSA_DTYPE_BITS(VITSA_DTYPE_U8),
			     .min = 0, .max = 255,
			     .operand = true, .result = true,
			     .get = get_u8, .set = set_8, .unpack = unpack_u8 },
	[VITSA_DTYPE_S4] = { .name = "s4", .bits = VITSA_DTYPE_BITS(VITSA_DTYPE_S4),
			     .min = -8, .max = 7,
			     .operand = true, .result = true,
			     .get = get_s4, .set = set_4, .unpack = unpack_s4 },
	[VITSA_DTYPE_U4] = { .name = "u4", .bits = VITSA_DTYPE_BITS(VITSA_DTYPE_U4),
			     .min = 0, .max = 15,
			     .operand = true, .result = true,
			     .get = get_u4, .set = set_4, .unpack = unpack_u4 },
	[VITSA_DTYPE_S16] = { .name = "s16", .bits = VITSA_DTYPE_BITS(VITSA_DTYPE_S16),
			      .min = -32768, .max = 32767,
			      .operand = false, .result = true,
			      .get = get_s16, .set = set_s16 },
	[VITSA_DTYPE_S32] = { .name = "s32", .bits = VITSA_DTYPE_BITS(VITSA_DTYPE_S32),
			      .min = INT32_MIN, .max = INT32_MAX,
			      .operand = false, .result = false,
			      .get = get_s32, .set = set_s32 },
};

uint64_t vitsa_row_bytes(uint32_t dtype, uint32_t cols)
{
	return vitsa_dtype_valid(dtype) ? vitsa_int_row_bytes(dtype, cols) : 0;
}
