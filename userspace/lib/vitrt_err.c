// SPDX-License-Identifier: MIT
/* libvitrt: errors: the status codes' messages, job status names, file messages. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vitrt_priv.h"
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

const char *vitrt_strerror(int err)
{
	if (err > 0 || err <= -VITRT_ERR_COUNT)
		return "unknown error";
	return messages[-err];
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
