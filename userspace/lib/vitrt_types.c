// SPDX-License-Identifier: MIT
/* libvitrt: element types (enum vitrt_type), which are the hardware's (vitsa_dtype.h). */
#include <string.h>

#include "vitrt_priv.h"
#include "vitsa_dtype.h"
#include "vitsa_model.h"

_Static_assert((int)VITRT_TYPE_COUNT == (int)VITSA_DTYPE_COUNT, "type codes follow the hardware");
_Static_assert((int)VITRT_S4 == (int)VITSA_DTYPE_S4 && (int)VITRT_S32 == (int)VITSA_DTYPE_S32,
	       "type codes follow the hardware");

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
