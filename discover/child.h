/* Running risky work (mounting a foreign filesystem, reading it) in a child with a time limit,
 * its findings coming back as text over a pipe. A hung or crashing child costs its own result,
 * never the caller. */
#ifndef LB_CHILD_H
#define LB_CHILD_H

#include <stdio.h>

#define CHILD_MAX_OUTPUT (64 << 20)

enum child_result { CHILD_OK, CHILD_FAILED, CHILD_CRASH, CHILD_TIMEOUT, CHILD_LOST };

/* Fork; the child runs fn(out, arg) with out writing into a pipe, then exits with its return
 * value. The parent collects the text until EOF or timeout_ms. Returns the outcome; *text
 * (malloc'd, NUL-terminated) holds the output when CHILD_OK, CHILD_FAILED or CHILD_CRASH, and
 * why describes the end ("killed by signal 11 ..."). CHILD_LOST: killed but not reaped (stuck in
 * the kernel); it is left behind. */
enum child_result child_run(int (*fn)(FILE *out, void *arg), void *arg, int timeout_ms,
			    char **text, char *why, int whysize);

#endif
