// SPDX-License-Identifier: MIT
/* libvitrt: the version of the library running, to compare with the headers' VITRT_VERSION. */
#include <vitrt/core.h>

_Static_assert(VITRT_VERSION_MINOR < 256 && VITRT_VERSION_PATCH < 256,
	       "VITRT_VERSION keeps minor and patch in 8 bits each");

unsigned int vitrt_version(void)
{
	return VITRT_VERSION;
}
