/* Every child lifeboat starts outside PID 1's own spawning: fork, set up, exec (or run a
 * function), wait with a deadline. Three shapes of one facility:
 *  - spawn + wait_timeout: a program on a console or in the background, waited for;
 *  - run_wait: a program with a deadline, its wait status returned;
 *  - child_run_all / child_run: risky work (mounting a foreign filesystem, reading it, a scan,
 *    a checker) in children whose output comes back over pipes, several at once, each with its
 *    own deadline. A hung or crashing child costs its own result, never the caller nor its
 *    siblings.
 * And exec_pipe_*: how a child that must set things up before its exec (enter's session) tells
 * its parent which step failed, through a close-on-exec pipe a successful exec closes. */
#ifndef LB_JOB_H
#define LB_JOB_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

struct spawn_opts {
	const char *tty;      /* make this the controlling tty and stdio (NULL: inherit stdio) */
	char *const *envp;    /* NULL: inherit */
	int new_session;      /* setsid() even without a tty */
	int keep_fd;          /* one extra fd passed on (as is), or -1 */
	const int *keep;      /* more fds passed on (n_keep of them; those above 2 are kept) */
	int n_keep;
	int quiet;            /* stdout and stderr to /dev/null, or appended to out_file when set */
	const char *out_file;
	int out_to_err;       /* stdout onto stderr (activation output, as nixos-enter shows it) */
	int stdin_fd;         /* > 0: this fd becomes stdin (a pipe carrying a key, say) */
};

/* Fork and exec argv[0] (a path). Returns the pid or -errno. The child unblocks all signals
 * and restores default dispositions first, since PID 1 blocks them all. */
pid_t spawn(char *const argv[], const struct spawn_opts *o);
/* Wait for pid up to timeout_ms (-1: forever); on timeout SIGKILL it. Returns the wait status,
 * or -ETIMEDOUT (after killing and reaping it) or -errno. */
int wait_timeout(pid_t pid, int timeout_ms);
/* spawn then wait_timeout: the wait status (127: it could not be run), -ETIMEDOUT or -errno. */
int run_wait(char *const argv[], const struct spawn_opts *o, int timeout_ms);

/* Reset the signal state inherited from PID 1 (for forked children that do not exec). */
void child_reset_signals(void);
/* In a child just forked by parent: be killed (SIGKILL) when the parent dies, and exit at once
 * if it already has. Risky work (a scan, an inspection) must not outlive whoever waits for it. */
void child_die_with_parent(pid_t parent);
/* Make sure fds 0, 1 and 2 are open (on /dev/console, else /dev/null), so no file opened later
 * lands on them: PID 1 and kernel helpers can start with none. */
void stdio_ensure(void);
/* Describe a wait status: "exited with status 1", "killed by signal 11 (Segmentation fault)". */
const char *status_str(int status, char *buf, int size);

#define CHILD_MAX_OUTPUT (64 << 20)

enum child_result { CHILD_OK, CHILD_FAILED, CHILD_CRASH, CHILD_TIMEOUT, CHILD_LOST };

/* How a job's child starts (flags of struct child_job). */
enum {
	JOB_STDIN_NULL = 1,    /* stdin from /dev/null */
	JOB_STDERR_OUT = 2,    /* stderr into the output pipe too */
	JOB_SESSION = 4,       /* its own session, killed as a whole at the deadline */
	JOB_KEEP_PARTIAL = 8,  /* on a timeout, keep the output read so far (whole lines) */
	JOB_IDLE_DEADLINE = 16, /* the deadline counts from the last output, not the start: a
				 * child reporting piece by piece (a disk's devices) is given up
				 * only when it has said nothing for timeout_ms */
};

/* One piece of work. The caller fills fn and arg (or argv), timeout_ms (and done, when it wants
 * each outcome as it comes); child_run_all fills the rest. */
struct child_job {
	int (*fn)(FILE *out, void *arg);
	void *arg;
	char *const *argv;       /* when fn is NULL: exec argv[0] with stdout on the pipe */
	int flags;               /* JOB_* */
	const char *err_path;    /* stderr appended to this file (NULL: inherited) */
	size_t max_output;       /* 0: CHILD_MAX_OUTPUT */
	int timeout_ms;
	/* Called in the parent as soon as this job has ended, whatever the outcome, while other jobs
	 * may still run: a result is used when it is there, not after the slowest job. It may take
	 * text (and set it to NULL). NULL: nothing is called. */
	void (*done)(struct child_job *j, void *done_arg);
	void *done_arg;
	/* Outcome. text (malloc'd, NUL-terminated) holds the output when CHILD_OK, CHILD_FAILED or
	 * CHILD_CRASH (and CHILD_TIMEOUT with JOB_KEEP_PARTIAL), else NULL; why describes the end
	 * ("killed by signal 11 ..."). CHILD_LOST: killed but not reaped (stuck in the kernel); it
	 * is left behind. */
	enum child_result res;
	int status; /* the wait status when the child was reaped, else -1 */
	char *text;
	char why[160];
	/* Private to job.c. */
	pid_t pid;
	int fd, pidfd, state;
	size_t len, cap;
	long long deadline;
};

/* Run every job, at most `parallel` at once, each in its own forked child whose fn(out, arg)
 * writes into a pipe (its return value is the exit status), or which execs argv with its
 * stdout on the pipe. Every child dies with the caller (PDEATHSIG). Each job's deadline counts
 * from its own start. Returns when every job has ended. */
void child_run_all(struct child_job *jobs, int n, int parallel);

/* One job: the outcome, with *text and why as above. */
enum child_result child_run(int (*fn)(FILE *out, void *arg), void *arg, int timeout_ms,
			    char **text, char *why, int whysize);

/* A tool run as a job (stdin /dev/null, stdout and stderr into *text), up to timeout_ms.
 * Returns 0 when it exited 0, else -1 with "TOOL ARG1: how it ended: its last line" in msg, or
 * "TOOL is not in this image: ..." when an absolute TOOL does not exist. */
int job_tool(char *const *argv, int timeout_ms, char **text, char *msg, size_t size);

/* The close-on-exec report pipe: exec_pipe_open makes it (both ends O_CLOEXEC); a child that
 * fails before its exec calls exec_pipe_fail(wfd, step, -errno); the parent, having closed its
 * own write end, calls exec_pipe_read, which returns 0 when every write end closed without a
 * report (every exec happened, or the children ended) or the -errno reported, with the step
 * that failed in step. */
int exec_pipe_open(int fds[2]);
void exec_pipe_fail(int wfd, const char *step, int err);
int exec_pipe_read(int rfd, char *step, size_t size);

#endif
