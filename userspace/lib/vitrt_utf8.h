/* SPDX-License-Identifier: MIT */
/*
 * libvitrt: text that came from outside (file names are any bytes) made valid UTF-8 for the
 * places that take nothing else: JSON (the CLI's --json) and cairo's text (charts).
 */
#ifndef VITRT_UTF8_H
#define VITRT_UTF8_H

#include <stddef.h>

/*
 * @s with every byte that does not start a valid UTF-8 sequence (overlong forms, UTF-16
 * surrogates and code points past U+10FFFF included) as U+FFFD; malloc'ed, NUL-terminated,
 * its length in *@len (if not NULL).  NULL when out of memory.
 */
char *vitrt_utf8_repair(const char *s, size_t *len);

#endif /* VITRT_UTF8_H */
