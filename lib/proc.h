/* Starting and waiting for child processes. PID 1 and the menu start everything through here so
 * that every child gets a clean signal state, its own session, and (optionally) a console. */
#ifndef LB_PROC_H
#define LB_PROC_H

#include <sys/types.h>

struct spawn_opts {
	const char *tty;      /* make this the controlling tty and stdio (NULL: inherit stdio) */
	char *const *envp;    /* NULL: inherit */
	int new_session;      /* setsid() even without a tty */
	int keep_fd;          /* one extra fd passed on (as is), or -1 */
};

/* Fork and exec argv[0] (a path). Returns the pid or -errno. The child unblocks all signals
 * and restores default dispositions first, since PID 1 blocks them all. */
pid_t spawn(char *const argv[], const struct spawn_opts *o);
/* Fork and run fn(arg) in the child, which exits with its return value. */
pid_t spawn_fn(int (*fn)(void *), void *arg, const struct spawn_opts *o);
/* Reset the signal state inherited from PID 1 (for forked children that do not exec). */
void child_reset_signals(void);
/* In a child just forked by parent: be killed (SIGKILL) when the parent dies, and exit at once
 * if it already has. Risky work (a scan, an inspection) must not outlive whoever waits for it. */
void child_die_with_parent(pid_t parent);
/* Wait for pid up to timeout_ms (-1: forever); on timeout SIGKILL it. Returns the wait status,
 * or -ETIMEDOUT (after killing and reaping it) or -errno. */
int wait_timeout(pid_t pid, int timeout_ms);
/* Make sure fds 0, 1 and 2 are open (on /dev/console, else /dev/null), so no file opened later
 * lands on them: PID 1 and kernel helpers can start with none. */
void stdio_ensure(void);
/* Describe a wait status: "exited with status 1", "killed by signal 11 (Segmentation fault)". */
const char *status_str(int status, char *buf, int size);

#endif
