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
int vitrt_set_threads(uint32_t n);

/* Threads a region runs on now (the setting, or the CPU count). */
uint32_t vitrt_threads(void);

/*
 * Run the calling thread on those CPUs of @cpulist ("0-3,8", as the kernel writes CPU lists)
 * that this process may use; the pool's count and its workers keep every CPU the process had
 * when the pool first looked.  0 and the lowest of them in *@cpu; VITRT_EINVAL for a
 * malformed list; VITRT_EUNSUPPORTED (nothing changed) when it names none of them.
 */
int vitrt_pin_caller(const char *cpulist, uint32_t *cpu);

/* fn(arg, t) for every t < tasks, spread over the pool; returns when all have returned. */
void vitrt_parallel(uint32_t tasks, void (*fn)(void *arg, uint32_t t), void *arg);

/*
 * fn(arg, lo, hi) over [0, items) cut into one range per thread at multiples of @align (the
 * last takes the rest; empty ranges are not called), range i always on the pool's thread i
 * (the caller is 0).  Steps that split the same rows the same way find the rows a thread
 * wrote in that thread's cache, instead of pulling them from another core's.
 */
void vitrt_parallel_split(uint32_t items, uint32_t align,
			  void (*fn)(void *arg, uint32_t lo, uint32_t hi), void *arg);

#endif /* VITRT_POOL_H */
