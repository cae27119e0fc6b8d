/* Running risky work (mounting a foreign filesystem, reading it) in children with a time limit,
 * their findings coming back as text over pipes. A hung or crashing child costs its own result,
 * never the caller nor its siblings. */
#ifndef LB_CHILD_H
#define LB_CHILD_H

#include <stdio.h>
#include <sys/types.h>

#define CHILD_MAX_OUTPUT (64 << 20)

enum child_result { CHILD_OK, CHILD_FAILED, CHILD_CRASH, CHILD_TIMEOUT, CHILD_LOST };

/* One piece of work. The caller fills fn, arg and timeout_ms (and done, when it wants each
 * outcome as it comes); child_run_all fills the rest. */
struct child_job {
	int (*fn)(FILE *out, void *arg);
	void *arg;
	int timeout_ms;
	/* Called in the parent as soon as this job has ended, whatever the outcome, while other jobs
	 * may still run: a result is used when it is there, not after the slowest job. It may take
	 * text (and set it to NULL). NULL: nothing is called. */
	void (*done)(struct child_job *j, void *done_arg);
	void *done_arg;
	/* Outcome. text (malloc'd, NUL-terminated) holds the output when CHILD_OK, CHILD_FAILED or
	 * CHILD_CRASH, else NULL; why describes the end ("killed by signal 11 ..."). CHILD_LOST:
	 * killed but not reaped (stuck in the kernel); it is left behind. */
	enum child_result res;
	int status; /* the wait status when the child was reaped, else -1 */
	char *text;
	char why[160];
	/* Private to child.c. */
	pid_t pid;
	int fd, pidfd, state;
	size_t len, cap;
	long long deadline;
};

/* Run every job, at most `parallel` at once, each in its own forked child whose fn(out, arg)
 * writes into a pipe; its return value is the exit status. Each job's deadline counts from its
 * own start. Returns when every job has ended. */
void child_run_all(struct child_job *jobs, int n, int parallel);

/* One job: the outcome, with *text and why as above. */
enum child_result child_run(int (*fn)(FILE *out, void *arg), void *arg, int timeout_ms,
			    char **text, char *why, int whysize);

#endif
