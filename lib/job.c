#include "lib/job.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/proc.h"
#include "lib/util.h"

/* After a kill, how long a child may take to be reaped before we leave it behind. */
#define REAP_GRACE_MS 1000
/* Without pidfds (kernels before 5.3) an exited child is noticed by polling this often. */
#define REAP_POLL_MS 5

enum { JOB_WAITING, JOB_RUNNING, JOB_DONE };

static void job_end(struct child_job *j, enum child_result res)
{
	if (j->fd >= 0)
		close(j->fd);
	if (j->pidfd >= 0)
		close(j->pidfd);
	j->fd = j->pidfd = -1;
	j->res = res;
	j->state = JOB_DONE;
	if (res == CHILD_TIMEOUT || res == CHILD_LOST) {
		free(j->text);
		j->text = NULL;
	}
	if (j->done)
		j->done(j, j->done_arg);
}

static void job_start(struct child_job *j)
{
	j->text = NULL;
	j->len = 0;
	j->status = -1;
	j->fd = j->pidfd = -1;
	j->state = JOB_RUNNING;
	snprintf(j->why, sizeof(j->why), "ok");
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		snprintf(j->why, sizeof(j->why), "pipe: %s", strerror(errno));
		job_end(j, CHILD_FAILED);
		return;
	}
	fflush(NULL);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(j->why, sizeof(j->why), "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		job_end(j, CHILD_FAILED);
		return;
	}
	if (pid == 0) {
		close(p[0]);
		child_reset_signals();
		/* An inspection ends with its scan: its mounts vanish with its namespace. */
		child_die_with_parent(parent);
		FILE *out = fdopen(p[1], "w");
		if (!out)
			_exit(125);
		int r = j->fn(out, j->arg);
		fclose(out);
		_exit(r & 0xff);
	}
	close(p[1]);
	j->pid = pid;
	j->fd = p[0];
	j->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	j->cap = 4096;
	j->text = xmalloc(j->cap + 1);
	j->deadline = now_ms() + j->timeout_ms;
}

/* Read what is there; at EOF (or past the output bound, which ends the child on SIGPIPE) the
 * pipe is closed and only the exit is awaited. */
static void job_read(struct child_job *j)
{
	if (j->len == j->cap) {
		if (j->cap >= CHILD_MAX_OUTPUT) {
			close(j->fd);
			j->fd = -1;
			return;
		}
		j->cap *= 2;
		j->text = xrealloc(j->text, j->cap + 1);
	}
	ssize_t n = read(j->fd, j->text + j->len, j->cap - j->len);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		close(j->fd);
		j->fd = -1;
		return;
	}
	j->len += (size_t)n;
}

static int job_reaped(struct child_job *j)
{
	int status = 0;
	pid_t r = waitpid(j->pid, &status, WNOHANG);
	if (r != j->pid)
		return 0;
	j->text[j->len] = 0;
	j->status = status;
	status_str(status, j->why, (int)sizeof(j->why));
	if (WIFSIGNALED(status))
		job_end(j, CHILD_CRASH);
	else
		job_end(j, WIFEXITED(status) && WEXITSTATUS(status) == 0 ? CHILD_OK : CHILD_FAILED);
	return 1;
}

static void job_kill(struct child_job *j)
{
	kill(j->pid, SIGKILL);
	long long give_up = now_ms() + REAP_GRACE_MS;
	int status;
	for (;;) {
		pid_t r = waitpid(j->pid, &status, WNOHANG);
		if (r == j->pid || (r < 0 && errno != EINTR))
			break;
		if (now_ms() >= give_up) {
			snprintf(j->why, sizeof(j->why), "no answer within %d s, and stuck after SIGKILL",
				 j->timeout_ms / 1000);
			job_end(j, CHILD_LOST);
			return;
		}
		poll(NULL, 0, REAP_POLL_MS);
	}
	snprintf(j->why, sizeof(j->why), "no answer within %d ms", j->timeout_ms);
	job_end(j, CHILD_TIMEOUT);
}

void child_run_all(struct child_job *jobs, int n, int parallel)
{
	if (parallel < 1)
		parallel = 1;
	for (int i = 0; i < n; i++)
		jobs[i].state = JOB_WAITING;
	struct pollfd *pf = xcalloc((size_t)parallel, sizeof(*pf));
	int *who = xcalloc((size_t)parallel, sizeof(*who));
	int next = 0;
	for (;;) {
		int running = 0;
		for (int i = 0; i < next; i++)
			running += jobs[i].state == JOB_RUNNING;
		while (running < parallel && next < n) {
			job_start(&jobs[next]);
			running += jobs[next++].state == JOB_RUNNING;
		}
		if (!running && next == n)
			break;
		/* Sleep until output, an exit (pidfd) or the nearest deadline. */
		int np = 0, timeout = -1;
		long long now = now_ms();
		for (int i = 0; i < next; i++) {
			struct child_job *j = &jobs[i];
			if (j->state != JOB_RUNNING)
				continue;
			int left = j->deadline > now ? (int)(j->deadline - now) : 0;
			if (j->fd < 0 && j->pidfd < 0 && left > REAP_POLL_MS)
				left = REAP_POLL_MS;
			if (timeout < 0 || left < timeout)
				timeout = left;
			int fd = j->fd >= 0 ? j->fd : j->pidfd;
			if (fd >= 0) {
				pf[np] = (struct pollfd){fd, POLLIN, 0};
				who[np++] = i;
			}
		}
		int pr = poll(pf, (nfds_t)np, timeout);
		if (pr < 0 && errno != EINTR)
			poll(NULL, 0, REAP_POLL_MS);
		for (int k = 0; pr > 0 && k < np; k++)
			if (pf[k].revents && jobs[who[k]].fd == pf[k].fd)
				job_read(&jobs[who[k]]);
		now = now_ms();
		for (int i = 0; i < next; i++) {
			struct child_job *j = &jobs[i];
			if (j->state != JOB_RUNNING)
				continue;
			if (j->fd < 0 && job_reaped(j))
				continue;
			if (now >= j->deadline)
				job_kill(j);
		}
	}
	free(pf);
	free(who);
}

enum child_result child_run(int (*fn)(FILE *out, void *arg), void *arg, int timeout_ms,
			    char **text, char *why, int whysize)
{
	struct child_job j = {.fn = fn, .arg = arg, .timeout_ms = timeout_ms};
	child_run_all(&j, 1, 1);
	*text = j.text;
	snprintf(why, (size_t)whysize, "%s", j.why);
	return j.res;
}
