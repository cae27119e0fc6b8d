#include "init/diskwork.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "discover/assemble.h"
#include "init/shutdown.h"
#include "lib/log.h"
#include "lib/job.h"
#include "lib/util.h"

/* Dirty plus under-writeback memory, in kB (-1: unknown): when it shrinks, a sync is moving. */
static long long dirty_kb(void)
{
	static char buf[4096];
	int fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	long long sum = 0;
	static const char *keys[] = {"\nDirty:", "\nWriteback:"};
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		const char *k = strstr(buf, keys[i]);
		if (!k)
			return -1;
		sum += strtoll(k + strlen(keys[i]), NULL, 10);
	}
	return sum;
}

/* In the disk-work child: each step, as one line to PID 1 over the pipe. ">" starts a step that
 * may block, "=" and "E" are results to show, "!" the count of file systems left busy. */
static void disk_step(const char *target, const char *what, int err, void *ctx)
{
	int fd = *(int *)ctx;
	char line[600];
	int n;
	if (err == SHUTDOWN_STARTING)
		n = snprintf(line, sizeof(line), ">%s %s\n", what, target);
	else if (err)
		n = snprintf(line, sizeof(line), "E%s: %s failed: %s\n", target, what, strerror(-err));
	else
		n = snprintf(line, sizeof(line), "=%s %s\n", what, target);
	if (n >= (int)sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	if (fd >= 0 && n > 0)
		write_all(fd, line, (size_t)n);
}

static int disk_work(void *arg)
{
	int fd = *(int *)arg;
	int left = unmount_filesystems(disk_step, &fd);
	/* Then what the scan assembled, in reverse order (docs/assemble.md). */
	assemble_teardown(disk_step, &fd);
	char line[32];
	int n = snprintf(line, sizeof(line), "!%d\n", left);
	write_all(fd, line, (size_t)n);
	return 0;
}

/* One line from the disk-work child. */
static void disk_line(const struct diskwork_hooks *h, char *line, char *step, size_t stepsize, int *left)
{
	if (line[0] == '>') {
		size_t n = strlen(line + 1);
		if (n >= stepsize)
			n = stepsize - 1;
		memcpy(step, line + 1, n);
		step[n] = 0;
	} else if (line[0] == '=' || line[0] == 'E') {
		h->say(line[0] == 'E', line + 1);
	} else if (line[0] == '!') {
		*left = atoi(line + 1);
	}
}

int diskwork_run(const struct diskwork_hooks *h, int stall_ms, int total_ms, struct diskwork_result *r)
{
	*r = (struct diskwork_result){.left = -1};
	snprintf(r->step, sizeof(r->step), "starting");
	int p[2] = {-1, -1};
	if (pipe2(p, O_CLOEXEC) < 0)
		log_err("cannot create a pipe for the disk work: %s", strerror(errno));
	else
		fcntl(p[0], F_SETFL, O_NONBLOCK);
	pid_t pid = fork();
	if (pid == 0) {
		child_reset_signals();
		close(p[0]);
		_exit(disk_work(&p[1]));
	}
	if (p[1] >= 0)
		close(p[1]);
	if (pid < 0) {
		r->start_err = -errno;
		if (p[0] >= 0)
			close(p[0]);
		return 0;
	}
	h->started(pid);
	long long start = now_ms(), progress = start, dirty_min = dirty_kb();
	char buf[2048];
	size_t have = 0;
	int eof = p[0] < 0, done = 0;
	for (;;) {
		struct pollfd fds[2] = {{p[0], POLLIN, 0}, {h->wake_fd, POLLIN, 0}};
		poll(fds, 2, eof ? 50 : 1000);
		h->idle();
		ssize_t n = -1;
		while (!eof && (n = read(p[0], buf + have, sizeof(buf) - 1 - have)) != 0) {
			if (n < 0) {
				if (errno != EINTR)
					break;
				continue;
			}
			have += (size_t)n;
			buf[have] = 0;
			char *nl;
			while ((nl = strchr(buf, '\n'))) {
				*nl = 0;
				disk_line(h, buf, r->step, sizeof(r->step), &r->left);
				have -= (size_t)(nl + 1 - buf);
				memmove(buf, nl + 1, have + 1);
				progress = now_ms();
			}
			if (have == sizeof(buf) - 1)
				have = 0; /* a line longer than the buffer: drop it */
		}
		if (n == 0)
			eof = 1;
		if (waitpid(pid, &r->status, WNOHANG) == pid) {
			done = 1;
			break;
		}
		long long d = dirty_kb(), now = now_ms();
		if (d >= 0 && (dirty_min < 0 || d < dirty_min)) {
			dirty_min = d;
			progress = now;
		}
		if (now - progress >= stall_ms || now - start >= total_ms) {
			kill(pid, SIGKILL);
			r->stalled_ms = now - progress;
			break;
		}
	}
	if (p[0] >= 0)
		close(p[0]);
	return done;
}
