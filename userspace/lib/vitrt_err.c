// SPDX-License-Identifier: MIT
/* libvitrt: error and type names. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vitrt_priv.h"
#include "vitsa_dtype.h"
#include "vitsa_model.h"
#include "vitsa.h"

static const char *const messages[VITRT_ERR_COUNT] = {
	[-VITRT_OK] = "success",
	[-VITRT_EINVAL] = "invalid argument",
	[-VITRT_ENOMEM] = "out of memory",
	[-VITRT_ENODEV] = "no such device",
	[-VITRT_ESYS] = "system call failed",
	[-VITRT_ETIMEDOUT] = "timed out",
	[-VITRT_EJOB] = "the device reported a failed job",
	[-VITRT_EVERSION] = "unsupported device or driver version",
	[-VITRT_EFORMAT] = "malformed file",
	[-VITRT_EUNSUPPORTED] = "unsupported file content",
};

_Static_assert((int)VITRT_TYPE_COUNT == (int)VITSA_DTYPE_COUNT, "type codes follow the hardware");
_Static_assert((int)VITRT_S4 == (int)VITSA_DTYPE_S4 && (int)VITRT_S32 == (int)VITSA_DTYPE_S32,
	       "type codes follow the hardware");

const char *vitrt_strerror(int err)
{
	if (err > 0 || err <= -VITRT_ERR_COUNT)
		return "unknown error";
	return messages[-err];
}

const char *vitrt_type_name(enum vitrt_type t)
{
	return vitsa_dtype_valid(t) ? vitsa_dtypes[t].name : "?";
}

int vitrt_type_parse(const char *name)
{
	for (int t = 0; t < VITRT_TYPE_COUNT; t++)
		if (!strcmp(name, vitsa_dtypes[t].name))
			return t;
	return -1;
}

uint64_t vitrt_row_bytes(enum vitrt_type t, uint32_t cols)
{
	return vitsa_row_bytes(t, cols);
}

/* Every backend reports the uapi's codes: the sim device's are the hardware's, tied here. */
#define SAME(e) _Static_assert(e, #e)
VITSA_ERR_SAME_AS(SAME, VITSA_JOB_);
SAME(VITSA_JOB_DEVICE_COUNT == VITSA_ERR_COUNT);

/* The device's codes, plus the driver's own (uapi/vitsa.h: from 32 on). */
const char *vitrt_job_status_name(uint32_t status)
{
	return vitsa_job_status_name(status);
}

int vitrt_file_error(char *msg, size_t cap, int err, const char *path, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!cap)
		return err;
	n = snprintf(msg, cap, "%s: ", path);
	if (n >= 0 && (size_t)n < cap) {
		va_start(ap, fmt);
		vsnprintf(msg + n, cap - n, fmt, ap);
		va_end(ap);
	}
	return err;
}
