/* SPDX-License-Identifier: MIT */
/*
 * libvitrt, the vitsa runtime: what an application includes.  Build with
 * `pkg-config --cflags --libs vitrt`; examples/classify.c classifies one image.
 */
#ifndef LIBVITRT_VITRT_H
#define LIBVITRT_VITRT_H

#include <vitrt/core.h>
#include <vitrt/image.h>
#include <vitrt/infer.h>

#endif /* LIBVITRT_VITRT_H */
