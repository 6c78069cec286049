// SPDX-License-Identifier: MIT
/*
 * libvitrt's thread pool (vitrt_pool.h).  A region is published by bumping a generation;
 * workers spin on it for a short while before sleeping on a condition variable, because an
 * inference runs a region every few hundred microseconds and a futex wake-up per region would
 * cost more than the work it hands out.  Tasks are taken from an atomic counter, or, in a
 * pinned region, task i is run by thread i (the caller is thread 0, worker j thread j).
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
	bool pinned;			/* task i on thread i */
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
static _Thread_local uint32_t thread_index;	/* 0 outside the pool, j for worker j */

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

/*
 * The CPUs this process may run on, taken once, when the pool first asks: a thread pinned
 * later (vitrt_pin_caller) neither shrinks the default thread count nor hands its pin down
 * to the workers it starts.  Empty when the kernel would not say.
 */
static cpu_set_t process_cpus;
static pthread_once_t process_cpus_once = PTHREAD_ONCE_INIT;

static void process_cpus_take(void)
{
	if (sched_getaffinity(0, sizeof(process_cpus), &process_cpus))
		CPU_ZERO(&process_cpus);
}

static const cpu_set_t *cpus(void)
{
	pthread_once(&process_cpus_once, process_cpus_take);
	return &process_cpus;
}

static uint32_t cpu_count(void)
{
	return CPU_COUNT(cpus()) > 0 ? (uint32_t)CPU_COUNT(cpus()) : 1;
}

/* "0-3,8" (the kernel's CPU lists) into @set; false when malformed or past CPU_SETSIZE. */
static bool cpulist_parse(const char *s, cpu_set_t *set)
{
	CPU_ZERO(set);
	do {
		char *end;
		unsigned long lo = strtoul(s, &end, 10), hi = lo;

		if (end == s || *s < '0' || *s > '9')
			return false;
		if (*end == '-') {
			s = end + 1;
			hi = strtoul(s, &end, 10);
			if (end == s || *s < '0' || *s > '9' || hi < lo)
				return false;
		}
		if (hi >= CPU_SETSIZE)
			return false;
		for (unsigned long c = lo; c <= hi; c++)
			CPU_SET(c, set);
		s = end;
	} while (*s++ == ',');
	return s[-1] == '\0' || (s[-1] == '\n' && *s == '\0');
}

int vitrt_pin_caller(const char *cpulist, uint32_t *cpu)
{
	cpu_set_t want;

	if (!cpulist_parse(cpulist, &want))
		return VITRT_EINVAL;
	if (CPU_COUNT(cpus()))
		CPU_AND(&want, &want, cpus());
	if (!CPU_COUNT(&want) || pthread_setaffinity_np(pthread_self(), sizeof(want), &want))
		return VITRT_EUNSUPPORTED;
	for (*cpu = 0; !CPU_ISSET(*cpu, &want); (*cpu)++)
		;
	return 0;
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
	if (r->pinned) {
		if (thread_index < r->tasks) {
			r->fn(r->arg, thread_index);
			atomic_fetch_add_explicit(&r->done, 1, memory_order_release);
		}
		return;
	}
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

/* What a worker starts with: the generation it has seen and its index. */
struct start {
	uint64_t seen;
	uint32_t index;
};

static void *worker(void *arg)
{
	struct start *st = arg;
	uint64_t seen = st->seen;

	thread_index = st->index;
	free(st);
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
	pthread_attr_t attr;
	bool all_cpus;

	if (pool.nth == n - 1)
		return;
	stop_workers();
	/* Workers run anywhere the process may, whatever the calling thread's own pin. */
	all_cpus = !pthread_attr_init(&attr);
	if (all_cpus && (!CPU_COUNT(cpus()) ||
			 pthread_attr_setaffinity_np(&attr, sizeof(*cpus()), cpus()))) {
		pthread_attr_destroy(&attr);
		all_cpus = false;
	}
	pool.th = calloc(n - 1 ? n - 1 : 1, sizeof(*pool.th));
	for (uint32_t i = 0; pool.th && i < n - 1; i++) {
		struct start *st = malloc(sizeof(*st));

		if (!st)
			break;
		*st = (struct start){ .seen = atomic_load(&pool.gen), .index = i + 1 };
		if (pthread_create(&pool.th[i], all_cpus ? &attr : NULL, worker, st)) {
			free(st);
			break;
		}
		pool.nth = i + 1;
	}
	if (all_cpus)
		pthread_attr_destroy(&attr);
}

/* A region of @tasks; pinned: @tasks is the thread count, task i for thread i. */
static void run_region(uint32_t tasks, void (*fn)(void *arg, uint32_t t), void *arg,
		       bool pinned)
{
	struct region r = { .fn = fn, .arg = arg, .tasks = tasks, .pinned = pinned };
	uint32_t n;

	/* One task, or a nested region, runs inline without asking how many CPUs (a syscall). */
	if (in_region || tasks < 2 || (n = vitrt_threads()) == 1) {
		for (uint32_t t = 0; t < tasks; t++)
			fn(arg, t);
		return;
	}
	pthread_mutex_lock(&pool.run);
	resize(n);
	if (pinned && (pool.nth != n - 1 || tasks != n)) {	/* a worker is missing */
		pthread_mutex_unlock(&pool.run);
		for (uint32_t t = 0; t < tasks; t++)
			fn(arg, t);
		return;
	}
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

void vitrt_parallel(uint32_t tasks, void (*fn)(void *arg, uint32_t t), void *arg)
{
	run_region(tasks, fn, arg, false);
}

struct split {
	void (*fn)(void *arg, uint32_t lo, uint32_t hi);
	void *arg;
	uint32_t items, align, n;
};

/* Range @t of n: units of @align shared out in proportion, the rest to the last. */
static void split_task(void *arg, uint32_t t)
{
	const struct split *s = arg;
	uint64_t units = (s->items + s->align - 1) / s->align;
	uint64_t lo = units * t / s->n * s->align, hi = units * (t + 1) / s->n * s->align;

	if (t == s->n - 1 || hi > s->items)
		hi = s->items;
	if (lo < hi)
		s->fn(s->arg, (uint32_t)lo, (uint32_t)hi);
}

void vitrt_parallel_split(uint32_t items, uint32_t align,
			  void (*fn)(void *arg, uint32_t lo, uint32_t hi), void *arg)
{
	struct split s = { .fn = fn, .arg = arg, .items = items, .align = align ? align : 1,
			   .n = vitrt_threads() };

	if (in_region || s.n == 1 || items <= s.align) {
		if (items)
			fn(arg, 0, items);
		return;
	}
	run_region(s.n, split_task, &s, true);
}
