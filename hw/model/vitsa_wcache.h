/* SPDX-License-Identifier: MIT */
/*
 * vitsa functional model: B operands packed once, for hosts that keep them unchanged.
 *
 * The kernels take B packed (vitsa_kern.h), which costs a pass over B in every job; for the
 * weights of an inference that is the same work for every image.  A host that promises a
 * range of its memory stays unchanged (vitsa_mem_ops.wcache) lends the model a cache: a B
 * inside such a range is packed by the first job that names it and kept, keyed by everything
 * the packing depends on, until the host drops the range (before it frees or rewrites it).
 * Entries are immutable once added, so jobs on any thread read them without a lock.
 */
#ifndef VITSA_WCACHE_H
#define VITSA_WCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Everything a packed B depends on. */
struct vitsa_wcache_key {
	uint64_t addr, last;		/* B's bytes as the descriptor names them */
	uint64_t stride;
	uint32_t k, n;
	uint32_t type;			/* B's element type */
	uint32_t trans;			/* VITSA_DESC_B_TRANS of the job */
	uint32_t sign;			/* VITSA_KERN_*_SIGNED: the kernels flip B by A's sign */
	const void *kern;		/* the kernel whose layout it is */
};

struct vitsa_wcache;

/* A cache holding at most @max_bytes of packed operands; NULL without memory. */
struct vitsa_wcache *vitsa_wcache_new(uint64_t max_bytes);
void vitsa_wcache_free(struct vitsa_wcache *wc);

/* The packed B of @key, or NULL. */
const void *vitsa_wcache_get(struct vitsa_wcache *wc, const struct vitsa_wcache_key *key);

/*
 * Keep @packed (@bytes from malloc) as the packed B of @key.  On true the cache owns it; on
 * false (full, out of memory, or @key already there) the caller still does.
 */
bool vitsa_wcache_put(struct vitsa_wcache *wc, const struct vitsa_wcache_key *key, void *packed,
		      size_t bytes);

/* Forget every entry whose B shares a byte with [addr, last]: the host will change it. */
void vitsa_wcache_drop(struct vitsa_wcache *wc, uint64_t addr, uint64_t last);

/* Entries and bytes held, and lookups that found or missed an entry (for tests and stats). */
struct vitsa_wcache_stats {
	uint64_t entries, bytes, hits, misses;
};
void vitsa_wcache_stats(struct vitsa_wcache *wc, struct vitsa_wcache_stats *st);

#endif /* VITSA_WCACHE_H */
