/* A minimal unit-test vocabulary: each tests/unit/test_*.c is a program; CHECK records a failure
 * with its place and goes on, so one run shows every broken case. main returns check_done(). */
#ifndef LB_CHECK_H
#define LB_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures, check_count;

#define CHECK(cond)                                                                            \
	do {                                                                                   \
		check_count++;                                                                 \
		if (!(cond)) {                                                                 \
			check_failures++;                                                      \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
		}                                                                              \
	} while (0)

#define CHECK_INT(a, b)                                                                        \
	do {                                                                                   \
		long long check_a_ = (long long)(a), check_b_ = (long long)(b);                    \
		check_count++;                                                                 \
		if (check_a_ != check_b_) {                                                    \
			check_failures++;                                                      \
			fprintf(stderr, "%s:%d: %s == %lld, expected %lld\n", __FILE__, __LINE__, #a,   \
				check_a_, check_b_);                                           \
		}                                                                              \
	} while (0)

#define CHECK_STR(a, b)                                                                        \
	do {                                                                                   \
		const char *check_a_ = (a), *check_b_ = (b);                                   \
		check_count++;                                                                 \
		if (!check_a_ || !check_b_ || strcmp(check_a_, check_b_)) {                    \
			check_failures++;                                                      \
			fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__, __LINE__,   \
				#a, check_a_ ? check_a_ : "(null)", check_b_ ? check_b_ : "(null)");   \
		}                                                                              \
	} while (0)

static inline int check_done(const char *name)
{
	fprintf(stderr, "%s: %d checks, %d failed\n", name, check_count, check_failures);
	return check_failures ? 1 : 0;
}

#endif
