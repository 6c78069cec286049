/* SPDX-License-Identifier: MIT */
/*
 * Helpers of the libFuzzer harnesses (tests/fuzz/README.md): the readers take paths, so an
 * input is written to a file of a private temporary directory made once per process.
 */
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char fuzz_dir[64];

/* The harness's temporary directory, removed at exit with what it holds. */
static inline void fuzz_dir_remove(void)
{
	char cmd[96];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fuzz_dir);
	if (system(cmd))
		fprintf(stderr, "fuzz: cannot remove %s\n", fuzz_dir);
}

static inline const char *fuzz_tmpdir(void)
{
	const char *base;

	if (fuzz_dir[0])
		return fuzz_dir;
	base = getenv("TMPDIR");
	snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/vitsa-fuzz.XXXXXX",
		 base && strlen(base) < 32 ? base : "/tmp");
	if (!mkdtemp(fuzz_dir)) {
		perror(fuzz_dir);
		abort();
	}
	atexit(fuzz_dir_remove);
	return fuzz_dir;
}

/* Write @len bytes of @data to <tmpdir>/@name; its path in @path (@cap bytes). */
static inline void fuzz_write(const char *name, const uint8_t *data, size_t len, char *path,
		       size_t cap)
{
	int fd;

	snprintf(path, cap, "%s/%s", fuzz_tmpdir(), name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || (len && write(fd, data, len) != (ssize_t)len)) {
		perror(path);
		abort();
	}
	close(fd);
}

/* Remove <tmpdir>/@name if it exists. */
static inline void fuzz_unlink(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", fuzz_tmpdir(), name);
	unlink(path);
}

/*
 * Split @data at its first 2 bytes (little-endian length of the first part, clamped to what
 * follows): the harnesses that read two files take both from one input.
 */
static inline void fuzz_split(const uint8_t *data, size_t size, const uint8_t **a, size_t *alen,
		       const uint8_t **b, size_t *blen)
{
	size_t n = 0;

	if (size >= 2) {
		n = data[0] | (size_t)data[1] << 8;
		data += 2;
		size -= 2;
	} else {
		size = 0;
	}
	if (n > size)
		n = size;
	*a = data;
	*alen = n;
	*b = data + n;
	*blen = size - n;
}

#endif /* FUZZ_UTIL_H */
