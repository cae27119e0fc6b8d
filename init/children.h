/* PID 1's child table: one row per child it starts, with when it started, when it is due to be
 * (re)started and the rule that decides that when it ends. */
#ifndef LB_CHILDREN_H
#define LB_CHILDREN_H

#include <sys/types.h>

#include "init/state.h"

enum restart_rule {
	RESTART_RESPAWN, /* init/respawn.c decides (the menu) */
	RESTART_PACED,   /* again at once, or after 1 s when it died quickly (the device worker) */
	RESTART_SERVICE, /* like RESTART_PACED, but an exit with status 0 means done (remote rescue) */
	RESTART_STATE,   /* its end changes PID 1's state (shells) */
	RESTART_NEVER,   /* one-shot work (the shutdown's disk work, reboot(2)) */
};

struct child {
	const char *name;
	enum restart_rule rule;
	pid_t pid;          /* 0: not running */
	long long started;  /* now_ms() at the last start */
	long long due;      /* start it when now_ms() reaches this; -1: not scheduled */
	int done;           /* RESTART_SERVICE: it said it has nothing to do; never started again */
};

/* The row of pid, or -1. */
int children_find(const struct child *t, int n, pid_t pid);
/* The earliest due time of a child that is not running and that state s wants, or -1. */
long long children_next_due(const struct child *t, int n, enum pid1_state s);
/* For RESTART_PACED: how long to wait before starting a child that lived lived_ms. */
int children_paced_delay(long long lived_ms);

#endif
