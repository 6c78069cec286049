/* SPDX-License-Identifier: MIT */
/*
 * libvitrt's version and its one error convention.
 *
 * Constructors return NULL and report through an int *err; every other call returns 0 or a
 * negative VITRT_E* code, which vitrt_strerror() explains.  Calls that read files also fill a
 * caller's buffer (msg, cap) with a message naming the file and the problem.
 */
#ifndef LIBVITRT_CORE_H
#define LIBVITRT_CORE_H

#ifdef __cplusplus
extern "C" {
#endif

/* What libvitrt.so exports; everything not marked is hidden (built with -fvisibility=hidden). */
#ifndef VITRT_API
#ifdef __GNUC__
#define VITRT_API __attribute__((visibility("default")))
#else
#define VITRT_API
#endif
#endif

/*
 * The version these headers belong to: the Makefile reads the three numbers from here (the
 * SONAME is libvitrt.so.MAJOR).  A new MINOR only adds to the API; a new MAJOR may break it.
 */
#define VITRT_VERSION_MAJOR	0
#define VITRT_VERSION_MINOR	1
#define VITRT_VERSION_PATCH	0

#define VITRT_VERSION_ENCODE(major, minor, patch) \
	(((major) << 16) | ((minor) << 8) | (patch))
#define VITRT_VERSION \
	VITRT_VERSION_ENCODE(VITRT_VERSION_MAJOR, VITRT_VERSION_MINOR, VITRT_VERSION_PATCH)

#define VITRT_STRINGIFY_(x)	#x
#define VITRT_STRINGIFY(x)	VITRT_STRINGIFY_(x)
#define VITRT_VERSION_STRING	VITRT_STRINGIFY(VITRT_VERSION_MAJOR) "." \
				VITRT_STRINGIFY(VITRT_VERSION_MINOR) "." \
				VITRT_STRINGIFY(VITRT_VERSION_PATCH)

/*
 * The version of the library running (VITRT_VERSION's encoding): an application built with
 * these headers works with it when the majors are equal and it is not older than
 * VITRT_VERSION.
 */
VITRT_API unsigned int vitrt_version(void);

enum vitrt_status {
	VITRT_OK = 0,
	VITRT_EINVAL = -1,	/* an argument is out of range */
	VITRT_ENOMEM = -2,
	VITRT_ENODEV = -3,	/* no such device or backend */
	VITRT_ESYS = -4,	/* a system call failed; errno has the detail */
	VITRT_ETIMEDOUT = -5,
	VITRT_EJOB = -6,	/* the device reported a failed job */
	VITRT_EVERSION = -7,	/* device or driver speaks an unsupported version */
	VITRT_EFORMAT = -8,	/* a file is malformed; the message names the problem */
	VITRT_EUNSUPPORTED = -9,	/* well-formed, but a feature this runtime does not handle */
	VITRT_ERR_COUNT = 10	/* codes are 0 .. -(VITRT_ERR_COUNT - 1); may grow */
};

/* A short message for @err ("unknown error" for what is not a VITRT_E* code). */
VITRT_API const char *vitrt_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif /* LIBVITRT_CORE_H */
