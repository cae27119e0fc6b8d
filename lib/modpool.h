/* Modules loaded several at once, as make -j builds: a module starts once its dependencies are
 * in, each load in its own child. A controller's module spends most of its load waiting on the
 * hardware (libata's resets, a USB hub's debounce) inside finit_module, and the kernel loads
 * different modules concurrently; one after another, those waits add up.
 *
 * The device worker queues what coldplug and uevents ask for and polls the pool's fds beside
 * its uevent socket. A child that crashes or hangs in a driver costs only that module. */
#ifndef LB_MODPOOL_H
#define LB_MODPOOL_H

#include <poll.h>

#include "lib/modules.h"

/* Loads at once: enough to overlap the controllers of a machine (a disk controller, USB, NVMe,
 * a network card) without a burst of decompressors filling a small machine's memory. */
#define MODPOOL_JOBS 4
/* fds a pool child must not hold (the worker's uevent socket, PID 1's pipe). */
#define MODPOOL_CLOSE_MAX 4

struct modpool_run {
	int idx; /* into t->mods */
	int fd;  /* the result pipe's read end */
	int pid;
	long long started;
};

struct modpool {
	struct modtree *t;
	int jobs;     /* 0: every load in the calling process, in order (tests; no fork) */
	char *queued; /* per module of t: waiting (1) or loading (2) here */
	int **deps;   /* per module of t, once queued: its dependencies' indices, -1 at the end */
	int *order;   /* queued modules in the order they were asked for */
	int n_order, cap_order;
	struct modpool_run run[MODPOOL_JOBS];
	int n_run;
	int *close_fds[MODPOOL_CLOSE_MAX];
	int n_close;
};

void modpool_init(struct modpool *p, struct modtree *t, int jobs);
void modpool_free(struct modpool *p);
/* The child of every load closes *fd first, when it is still open (>= 0) then: the caller sets
 * *fd to -1 once it has closed it. */
void modpool_close_in_children(struct modpool *p, int *fd);
/* Queue a module (normalized name) and its dependencies: 1 queued, 0 already loaded, loading or
 * built in, -ENOENT not a module of this tree, -EPERM blacklisted, -errno of a failed load. */
int modpool_want(struct modpool *p, const char *name);
/* Queue every module matching modalias; returns how many were queued. */
int modpool_want_alias(struct modpool *p, const char *modalias);
/* Start what is ready, up to the pool's jobs (with jobs 0: load it all, here). */
void modpool_start(struct modpool *p);
/* Modules waiting or loading. */
int modpool_busy(const struct modpool *p);
/* The result fds to poll (POLLIN) while loads run: fills fds, returns how many (<= MODPOOL_JOBS). */
int modpool_pollfds(const struct modpool *p, struct pollfd *fds);
/* Take the results of the loads whose fds poll marked (fds as filled, with revents), then start
 * what became ready. Returns how many loads ended. */
int modpool_collect(struct modpool *p, const struct pollfd *fds, int n);
/* Collect the loads that have ended, without waiting, and start what became ready (a caller
 * busy elsewhere, as coldplug's walk, keeps the pool going). */
void modpool_step(struct modpool *p);
/* Start and collect until nothing is waiting or loading. */
void modpool_drain(struct modpool *p);
/* The module loading longest, and since when (now_ms clock), or NULL when none is. */
const char *modpool_slowest(const struct modpool *p, long long *since);

#endif
