// SPDX-License-Identifier: MIT
/*
 * libvitrt's thread pool (vitrt_pool.h).  A region is published by bumping a generation;
 * workers spin on it for a short while before sleeping on a condition variable, because an
 * inference runs a region every few hundred microseconds and a futex wake-up per region would
 * cost more than the work it hands out.  Tasks are taken from an atomic counter.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "vitrt_pool.h"

#define SPIN_ROUNDS 20000	/* about 50-100 us of polling before a worker sleeps */

struct region {
	void (*fn)(void *arg, uint32_t t);
	void *arg;
	uint32_t tasks;
	_Atomic uint32_t next;		/* next task to take */
	_Atomic uint32_t done;		/* tasks finished */
};

static struct {
	pthread_mutex_t run;		/* one region at a time; held while the pool changes */
	pthread_mutex_t lock;		/* protects gen's sleepers and quit */
	pthread_cond_t wake;
	pthread_t *th;
	uint32_t nth;			/* workers running */
	_Atomic uint32_t want;		/* vitrt_set_threads, 0 = CPU count */
	_Atomic uint64_t gen;		/* bumped per region */
	_Atomic(struct region *) cur;	/* the region running, NULL between regions */
	_Atomic uint32_t busy;		/* workers that may be looking at cur */
	bool quit;
} pool = {
	.run = PTHREAD_MUTEX_INITIALIZER,
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.wake = PTHREAD_COND_INITIALIZER,
};

static _Thread_local bool in_region;	/* this thread is running a task */

/*
 * Wait for *v to reach @want: spin first (the usual wait is a few microseconds), then give the
 * CPU away, so that a worker preempted by another process is not starved by our spinning.
 */
static void wait_until(_Atomic uint32_t *v, uint32_t want, bool at_least)
{
	for (uint32_t i = 0;; i++) {
		uint32_t x = atomic_load_explicit(v, memory_order_acquire);

		if (at_least ? x >= want : x == want)
			return;
		if (i < SPIN_ROUNDS)
			__builtin_ia32_pause();
		else
			sched_yield();
	}
}

static uint32_t cpu_count(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set))
		return 1;
	return CPU_COUNT(&set) > 0 ? (uint32_t)CPU_COUNT(&set) : 1;
}

int vitrt_set_threads(uint32_t n)
{
	if (n > VITRT_MAX_THREADS)
		return VITRT_EINVAL;
	atomic_store(&pool.want, n);
	return 0;
}

uint32_t vitrt_threads(void)
{
	uint32_t n = atomic_load(&pool.want);

	return n ? n : cpu_count();
}

static void work(struct region *r)
{
	for (uint32_t t; (t = atomic_fetch_add(&r->next, 1)) < r->tasks;) {
		r->fn(r->arg, t);
		atomic_fetch_add_explicit(&r->done, 1, memory_order_release);
	}
}

/* Wait for a generation after @seen; false when the pool is shutting down. */
static bool next_region(uint64_t *seen)
{
	for (int i = 0; i < SPIN_ROUNDS; i++) {
		if (atomic_load_explicit(&pool.gen, memory_order_acquire) != *seen)
			goto got;
		__builtin_ia32_pause();
	}
	pthread_mutex_lock(&pool.lock);
	while (atomic_load(&pool.gen) == *seen && !pool.quit)
		pthread_cond_wait(&pool.wake, &pool.lock);
	pthread_mutex_unlock(&pool.lock);
got:
	*seen = atomic_load_explicit(&pool.gen, memory_order_acquire);
	return !pool.quit;
}

static void *worker(void *arg)
{
	uint64_t seen = (uint64_t)(uintptr_t)arg;

	in_region = true;	/* a task that starts a region runs it inline */
	while (next_region(&seen)) {
		struct region *r;

		atomic_fetch_add(&pool.busy, 1);	/* before cur: see vitrt_parallel */
		r = atomic_load(&pool.cur);
		if (r)
			work(r);
		atomic_fetch_sub(&pool.busy, 1);
	}
	return NULL;
}

static void stop_workers(void)
{
	pthread_mutex_lock(&pool.lock);
	pool.quit = true;
	atomic_fetch_add(&pool.gen, 1);
	pthread_cond_broadcast(&pool.wake);
	pthread_mutex_unlock(&pool.lock);
	for (uint32_t i = 0; i < pool.nth; i++)
		pthread_join(pool.th[i], NULL);
	free(pool.th);
	pool.th = NULL;
	pool.nth = 0;
	pool.quit = false;
}

/* Called with pool.run held: @n - 1 workers, or as many as could be started. */
static void resize(uint32_t n)
{
	if (pool.nth == n - 1)
		return;
	stop_workers();
	pool.th = calloc(n - 1 ? n - 1 : 1, sizeof(*pool.th));
	for (uint32_t i = 0; pool.th && i < n - 1; i++) {
		void *seen = (void *)(uintptr_t)atomic_load(&pool.gen);

		if (pthread_create(&pool.th[i], NULL, worker, seen))
			break;
		pool.nth = i + 1;
	}
}

void vitrt_parallel(uint32_t tasks, void (*fn)(void *arg, uint32_t t), void *arg)
{
	struct region r = { .fn = fn, .arg = arg, .tasks = tasks };
	uint32_t n = vitrt_threads();

	if (in_region || n == 1 || tasks < 2) {
		for (uint32_t t = 0; t < tasks; t++)
			fn(arg, t);
		return;
	}
	pthread_mutex_lock(&pool.run);
	resize(n);
	atomic_store(&pool.cur, &r);
	pthread_mutex_lock(&pool.lock);
	atomic_fetch_add_explicit(&pool.gen, 1, memory_order_release);
	pthread_cond_broadcast(&pool.wake);
	pthread_mutex_unlock(&pool.lock);
	in_region = true;
	work(&r);
	in_region = false;
	wait_until(&r.done, tasks, true);
	/*
	 * r lives on this stack: once cur is NULL, a worker that counted itself busy may still
	 * hold &r (it loaded cur before), one that did not will load NULL or a later region.
	 */
	atomic_store(&pool.cur, NULL);
	wait_until(&pool.busy, 0, false);
	pthread_mutex_unlock(&pool.run);
}
