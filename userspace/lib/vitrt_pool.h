/* SPDX-License-Identifier: MIT */
/*
 * libvitrt's thread pool: one per process, shared by the in-process device (GEMM tasks) and
 * the executor (rows of the integer CPU ops).  The caller of a parallel region works too, so
 * N threads means N - 1 workers.  Regions do not nest: a region started from inside a task
 * runs on the calling thread alone, and two threads starting regions take turns.
 */
#ifndef VITRT_POOL_H
#define VITRT_POOL_H

#include <stdint.h>

#include "vitrt.h"

/* Upper bound of vitrt_set_threads. */
#define VITRT_MAX_THREADS 256

/*
 * Threads for the next parallel regions: 0 = the CPUs this process may run on.  Returns 0, or
 * VITRT_EINVAL above VITRT_MAX_THREADS.  The pool is rebuilt at the next region.
 */
VITRT_API int vitrt_set_threads(uint32_t n);

/* Threads a region runs on now (the setting, or the CPU count). */
VITRT_API uint32_t vitrt_threads(void);

/* fn(arg, t) for every t < tasks, spread over the pool; returns when all have returned. */
void vitrt_parallel(uint32_t tasks, void (*fn)(void *arg, uint32_t t), void *arg);

#endif /* VITRT_POOL_H */
