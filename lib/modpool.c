#include "lib/modpool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/job.h"
#include "lib/log.h"
#include "lib/util.h"

enum { WAITING = 1, LOADING = 2 };
/* A child that ended without its result (result_of has said how). */
#define RESULT_LOST (-100000)

void modpool_init(struct modpool *p, struct modtree *t, int jobs)
{
	memset(p, 0, sizeof(*p));
	p->t = t;
	p->jobs = jobs < 0 ? 0 : jobs > MODPOOL_JOBS ? MODPOOL_JOBS : jobs;
	p->queued = xcalloc((size_t)t->n_mods + 1, 1);
	p->deps = xcalloc((size_t)t->n_mods + 1, sizeof(*p->deps));
}

void modpool_free(struct modpool *p)
{
	for (int i = 0; i < p->n_run; i++)
		close(p->run[i].fd); /* a load still running goes on alone; SIGCHLD reaps it or not */
	for (int i = 0; i < p->t->n_mods; i++)
		free(p->deps[i]);
	free(p->deps);
	free(p->queued);
	free(p->order);
	memset(p, 0, sizeof(*p));
}

void modpool_close_in_children(struct modpool *p, int *fd)
{
	if (p->n_close < MODPOOL_CLOSE_MAX)
		p->close_fds[p->n_close++] = fd;
}

int modpool_want(struct modpool *p, const char *want)
{
	struct modtree *t = p->t;
	char *name = modname_normalize(xstrdup(want));
	struct moddep *m = modtree_find(t, name);
	int r;
	if (!m) {
		r = modtree_is_builtin(t, name) ? 0 : -ENOENT;
	} else if (m->state != 0 || p->queued[m - t->mods]) {
		r = m->state < 0 ? m->state : 0;
	} else if (modtree_blacklisted(t, name)) {
		/* As modprobe does: a blacklisted module is never loaded, not even as a dependency. */
		log_info("module %s is blacklisted on the command line; not loading it", name);
		r = m->state = -EPERM;
	} else {
		int i = (int)(m - t->mods);
		/* Marked before its dependencies are queued, so a cycle ends here. */
		p->queued[i] = WAITING;
		if (p->n_order == p->cap_order) {
			p->cap_order = p->cap_order ? p->cap_order * 2 : 64;
			p->order = xrealloc(p->order, sizeof(*p->order) * (size_t)p->cap_order);
		}
		p->order[p->n_order++] = i;
		int nd = 0;
		p->deps[i] = xcalloc((size_t)m->n_deps + 1, sizeof(int));
		for (int k = 0; k < m->n_deps; k++) {
			int d = modpool_want(p, m->deps[k]);
			if (d < 0 && d != -ENOENT)
				log_debug("module %s: dependency %s: %s", name, m->deps[k], strerror(-d));
			struct moddep *dm = modtree_find(t, m->deps[k]);
			if (dm)
				p->deps[i][nd++] = (int)(dm - t->mods);
		}
		p->deps[i][nd] = -1;
		r = 1;
	}
	free(name);
	return r;
}

struct alias_want {
	struct modpool *p;
	int queued;
};

static int want_matched(const char *module, void *ctx)
{
	struct alias_want *a = ctx;
	if (modpool_want(a->p, module) > 0)
		a->queued++;
	return 0;
}

int modpool_want_alias(struct modpool *p, const char *modalias)
{
	struct alias_want a = {p, 0};
	modtree_match(p->t, modalias, want_matched, &a);
	return a.queued;
}

/* How a load ended, said once, in the worker's log. */
static void finish(struct modpool *p, int i, int r, int said)
{
	struct moddep *m = &p->t->mods[i];
	p->queued[i] = 0;
	m->state = r < 0 ? r : 2;
	if (r > 0)
		p->t->loaded++;
	if (r == -ENODEV || r == -ENXIO)
		log_debug("module %s: no device for it", m->name); /* a catch-all alias, normal */
	else if (r < 0 && r != -ENOENT && !said)
		log_warn("module %s: %s", m->name, strerror(-r));
}

static int ready(const struct modpool *p, int i)
{
	for (const int *d = p->deps[i]; *d >= 0; d++)
		if (p->queued[*d])
			return 0;
	return 1;
}

static void launch(struct modpool *p, int i)
{
	struct moddep *m = &p->t->mods[i];
	int fds[2];
	pid_t pid = -1;
	if (p->jobs > 0 && pipe2(fds, O_CLOEXEC) == 0) {
		pid = fork();
		if (pid == 0) {
			close(fds[0]);
			for (int k = 0; k < p->n_close; k++)
				if (*p->close_fds[k] >= 0)
					close(*p->close_fds[k]);
			int r = modtree_load_self(p->t, m);
			_exit(write_all(fds[1], &r, sizeof(r)) < 0);
		}
		if (pid < 0) {
			log_warn("module %s: cannot load it in a child (%s); loading it here", m->name,
				 strerror(errno));
			close(fds[0]);
		}
		close(fds[1]);
	}
	if (pid < 0) {
		/* Without a child (jobs 0, or no memory for one): here, in order. */
		p->queued[i] = LOADING;
		finish(p, i, modtree_load_self(p->t, m), 0);
		return;
	}
	p->queued[i] = LOADING;
	p->run[p->n_run++] = (struct modpool_run){i, fds[0], pid, now_ms()};
}

void modpool_start(struct modpool *p)
{
	for (;;) {
		int cap = p->jobs > 0 ? p->jobs : 1;
		int started = 0;
		for (int k = 0; k < p->n_order && p->n_run < cap; k++) {
			int i = p->order[k];
			if (p->queued[i] != WAITING || !ready(p, i))
				continue;
			launch(p, i);
			started = 1;
			if (p->jobs == 0)
				break; /* loaded here: what it unblocked comes first, in order */
		}
		if (!started && p->n_run == 0) {
			/* Waiting modules none of which is ready, and nothing loading: a dependency cycle
			 * (depmod writes none; a damaged modules.dep may). Break it as modprobe does: load
			 * the first one asked for anyway. */
			for (int k = 0; k < p->n_order && !started; k++)
				if (p->queued[p->order[k]] == WAITING) {
					launch(p, p->order[k]);
					started = 1;
				}
		}
		/* Forget what ended, keeping the order of the rest. */
		int w = 0;
		for (int k = 0; k < p->n_order; k++)
			if (p->queued[p->order[k]])
				p->order[w++] = p->order[k];
		p->n_order = w;
		if (!started || p->jobs > 0)
			return;
	}
}

int modpool_busy(const struct modpool *p)
{
	return p->n_order;
}

int modpool_pollfds(const struct modpool *p, struct pollfd *fds)
{
	for (int k = 0; k < p->n_run; k++)
		fds[k] = (struct pollfd){p->run[k].fd, POLLIN, 0};
	return p->n_run;
}

/* A child's result: its int, or how it ended without one. */
static int result_of(const struct modpool *p, struct modpool_run *r)
{
	int v = 0;
	ssize_t n;
	do
		n = read(r->fd, &v, sizeof(v));
	while (n < 0 && errno == EINTR);
	close(r->fd);
	/* Its pipe said something or closed, so it has ended or is ending: reap it (with SIGCHLD
	 * ignored, as in the worker, the kernel has and this says ECHILD). */
	int st = 0;
	pid_t w;
	do
		w = waitpid(r->pid, &st, 0);
	while (w < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(v))
		return v;
	char why[96] = "it ended without a word";
	if (w == r->pid)
		status_str(st, why, sizeof(why));
	log_err("module %s: the child loading it %s (a driver crash? see dmesg)",
		p->t->mods[r->idx].name, why);
	return RESULT_LOST;
}

int modpool_collect(struct modpool *p, const struct pollfd *fds, int n)
{
	int ended = 0;
	for (int k = 0; k < n; k++) {
		if (!(fds[k].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		for (int j = 0; j < p->n_run; j++) {
			if (p->run[j].fd != fds[k].fd)
				continue;
			struct modpool_run r = p->run[j];
			p->run[j] = p->run[--p->n_run];
			int v = result_of(p, &r);
			finish(p, r.idx, v == RESULT_LOST ? -EIO : v, v == RESULT_LOST);
			ended++;
			break;
		}
	}
	if (ended)
		modpool_start(p);
	return ended;
}

void modpool_step(struct modpool *p)
{
	struct pollfd fds[MODPOOL_JOBS];
	int n = modpool_pollfds(p, fds);
	if (n > 0 && poll(fds, (nfds_t)n, 0) > 0)
		modpool_collect(p, fds, n);
	modpool_start(p);
}

void modpool_drain(struct modpool *p)
{
	modpool_start(p);
	while (modpool_busy(p)) {
		struct pollfd fds[MODPOOL_JOBS];
		int n = modpool_pollfds(p, fds);
		if (n == 0) {
			modpool_start(p);
			continue;
		}
		if (poll(fds, (nfds_t)n, -1) < 0 && errno != EINTR)
			return;
		modpool_collect(p, fds, n);
	}
}

const char *modpool_slowest(const struct modpool *p, long long *since)
{
	const struct modpool_run *s = NULL;
	for (int k = 0; k < p->n_run; k++)
		if (!s || p->run[k].started < s->started)
			s = &p->run[k];
	if (!s)
		return NULL;
	if (since)
		*since = s->started;
	return p->t->mods[s->idx].name;
}
