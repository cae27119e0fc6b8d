/* The shutdown's disk work (init/shutdown.c's sync, swap off, unmount, remount read-only) in a
 * forked child, watched by PID 1 with a deadline: a disk that stopped answering blocks the
 * child in the kernel, never PID 1. */
#ifndef LB_DISKWORK_H
#define LB_DISKWORK_H

#include <sys/types.h>

struct diskwork_hooks {
	void (*say)(int is_err, const char *msg); /* a step's result, as it comes */
	void (*started)(pid_t pid);               /* the child runs */
	void (*idle)(void);                       /* called on every wakeup (PID 1 drops signals) */
	int wake_fd;                              /* also woken by this fd (the signalfd), or -1 */
};

struct diskwork_result {
	int start_err;        /* -errno when the child could not be started, else 0 */
	int status;           /* its wait status when it finished */
	int left;             /* file systems left busy; -1 when it never said */
	char step[512];       /* the step it was in when given up on */
	long long stalled_ms; /* how long without progress then */
};

/* Run it; give up when no step finished and Dirty + Writeback (/proc/meminfo) did not shrink for
 * stall_ms, or after total_ms. Returns 1 when the child finished (reaped), 0 otherwise; a child
 * given up on is sent SIGKILL and left behind. */
int diskwork_run(const struct diskwork_hooks *h, int stall_ms, int total_ms, struct diskwork_result *r);

#endif
