/* SPDX-License-Identifier: MIT */
/*
 * Minimal KTAP harness for the host unit tests: TEST(name) { ... } registers a case, CHECK()
 * records a failure with its location and keeps going, main() (from TAP_MAIN) runs every case
 * and prints "ok N name" / "not ok N name".  The exit status is non-zero on any failure.
 */
#ifndef VITSA_TAP_H
#define VITSA_TAP_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tap_case {
	const char *name;
	void (*fn)(void);
};

#define TAP_MAX_CASES 128
extern struct tap_case tap_cases[TAP_MAX_CASES];
extern int tap_ncases, tap_failed_checks;

#define TEST(name)							\
	static void test_##name(void);					\
	__attribute__((constructor)) static void reg_##name(void)	\
	{								\
		if (tap_ncases < TAP_MAX_CASES)				\
			tap_cases[tap_ncases++] = (struct tap_case){ #name, test_##name }; \
	}								\
	static void test_##name(void)

/* Record a failure (at most a few printed per case) and continue. */
#define CHECK(cond, ...)						\
	do {								\
		if (!(cond)) {						\
			if (tap_failed_checks++ < 5) {			\
				printf("# %s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond); \
				printf(__VA_ARGS__);			\
				printf("\n");				\
			}						\
		}							\
	} while (0)

#define TAP_MAIN							\
	struct tap_case tap_cases[TAP_MAX_CASES];			\
	int tap_ncases, tap_failed_checks;				\
	int main(int argc, char **argv)					\
	{								\
		int failed = 0;						\
		printf("TAP version 13\n1..%d\n", tap_ncases);		\
		for (int i = 0; i < tap_ncases; i++) {			\
			tap_failed_checks = 0;				\
			tap_cases[i].fn();				\
			failed += tap_failed_checks != 0;		\
			printf("%sok %d %s\n", tap_failed_checks ? "not " : "", i + 1, \
			       tap_cases[i].name);			\
			fflush(stdout);					\
		}							\
		(void)argc; (void)argv;					\
		return failed ? 1 : 0;					\
	}

#endif /* VITSA_TAP_H */
