// SPDX-License-Identifier: MIT
/*
 * vitsa functional model: the cache of packed B operands (vitsa_wcache.h).  A list under one
 * lock: a lookup per job against a few dozen entries (the weight matrices of a model) costs
 * nothing beside the job.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "vitsa_wcache.h"

struct entry {
	struct vitsa_wcache_key key;
	void *packed;
	size_t bytes;
	struct entry *next;
};

struct vitsa_wcache {
	pthread_mutex_t lock;
	struct entry *head;
	uint64_t max_bytes;
	struct vitsa_wcache_stats st;
};

struct vitsa_wcache *vitsa_wcache_new(uint64_t max_bytes)
{
	struct vitsa_wcache *wc = calloc(1, sizeof(*wc));

	if (!wc)
		return NULL;
	pthread_mutex_init(&wc->lock, NULL);
	wc->max_bytes = max_bytes;
	return wc;
}

void vitsa_wcache_free(struct vitsa_wcache *wc)
{
	if (!wc)
		return;
	vitsa_wcache_drop(wc, 0, UINT64_MAX);
	pthread_mutex_destroy(&wc->lock);
	free(wc);
}

static bool same_key(const struct vitsa_wcache_key *a, const struct vitsa_wcache_key *b)
{
	return a->addr == b->addr && a->last == b->last && a->stride == b->stride &&
	       a->k == b->k && a->n == b->n && a->type == b->type && a->trans == b->trans &&
	       a->sign == b->sign && a->kern == b->kern;
}

static struct entry *find(struct vitsa_wcache *wc, const struct vitsa_wcache_key *key)
{
	for (struct entry *e = wc->head; e; e = e->next)
		if (same_key(&e->key, key))
			return e;
	return NULL;
}

const void *vitsa_wcache_get(struct vitsa_wcache *wc, const struct vitsa_wcache_key *key)
{
	struct entry *e;

	pthread_mutex_lock(&wc->lock);
	e = find(wc, key);
	if (e)
		wc->st.hits++;
	else
		wc->st.misses++;
	pthread_mutex_unlock(&wc->lock);
	return e ? e->packed : NULL;
}

bool vitsa_wcache_put(struct vitsa_wcache *wc, const struct vitsa_wcache_key *key, void *packed,
		      size_t bytes)
{
	struct entry *e = malloc(sizeof(*e));
	bool ok;

	if (!e)
		return false;
	*e = (struct entry){ .key = *key, .packed = packed, .bytes = bytes };
	pthread_mutex_lock(&wc->lock);
	ok = bytes <= wc->max_bytes - wc->st.bytes && !find(wc, key);
	if (ok) {
		e->next = wc->head;
		wc->head = e;
		wc->st.entries++;
		wc->st.bytes += bytes;
	}
	pthread_mutex_unlock(&wc->lock);
	if (!ok)
		free(e);
	return ok;
}

void vitsa_wcache_drop(struct vitsa_wcache *wc, uint64_t addr, uint64_t last)
{
	struct entry **p = &wc->head;

	pthread_mutex_lock(&wc->lock);
	while (*p) {
		struct entry *e = *p;

		if (e->key.addr <= last && addr <= e->key.last) {
			*p = e->next;
			wc->st.entries--;
			wc->st.bytes -= e->bytes;
			free(e->packed);
			free(e);
		} else {
			p = &e->next;
		}
	}
	pthread_mutex_unlock(&wc->lock);
}

void vitsa_wcache_stats(struct vitsa_wcache *wc, struct vitsa_wcache_stats *st)
{
	pthread_mutex_lock(&wc->lock);
	*st = wc->st;
	pthread_mutex_unlock(&wc->lock);
}
