#include "lib/job.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/util.h"

void child_reset_signals(void)
{
	struct sigaction sa = {.sa_handler = SIG_DFL};
	for (int s = 1; s < NSIG; s++)
		sigaction(s, &sa, NULL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

void child_die_with_parent(pid_t parent)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* The parent may have died between fork and prctl: then nobody would send the signal. */
	if (getppid() != parent)
		_exit(1);
}

static void keep_open(int fd)
{
	int fl = fd > 2 ? fcntl(fd, F_GETFD) : -1;
	if (fl >= 0)
		fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC);
}

static int child_setup(const struct spawn_opts *o)
{
	child_reset_signals();
	if (!o)
		return 0;
	keep_open(o->keep_fd);
	for (int i = 0; i < o->n_keep; i++)
		keep_open(o->keep[i]);
	if (o->stdin_fd > 0 && dup2(o->stdin_fd, 0) < 0)
		return -errno;
	if (o->quiet) {
		int null = o->out_file ? open(o->out_file, O_WRONLY | O_APPEND | O_CREAT, 0600) : -1;
		if (null < 0)
			null = open("/dev/null", O_WRONLY);
		if (null >= 0) {
			dup2(null, 1);
			dup2(null, 2);
			if (null > 2)
				close(null);
		}
	} else if (o->out_to_err) {
		dup2(2, 1);
	}
	if (o->tty || o->new_session)
		setsid();
	if (o->tty) {
		int fd = open(o->tty, O_RDWR | O_NOCTTY);
		if (fd < 0)
			return -errno;
		/* Steal the tty if a dead session still holds it: this console is ours to give. */
		ioctl(fd, TIOCSCTTY, 1);
		for (int i = 0; i < 3; i++)
			if (fd != i)
				dup2(fd, i);
		if (fd > 2)
			close(fd);
		tcsetpgrp(0, getpgrp());
	}
	return 0;
}

pid_t spawn(char *const argv[], const struct spawn_opts *o)
{
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (child_setup(o) < 0)
			_exit(126);
		extern char **environ;
		execve(argv[0], argv, o && o->envp ? o->envp : environ);
		fprintf(stderr, "lifeboat: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

int wait_timeout(pid_t pid, int timeout_ms)
{
	int status;
	if (timeout_ms < 0) {
		while (waitpid(pid, &status, 0) < 0)
			if (errno != EINTR)
				return -errno;
		return status;
	}
	/* A pidfd lets us sleep until the child exits or time runs out, without SIGCHLD games. */
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	long long deadline = now_ms() + timeout_ms;
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			int e = errno;
			if (pfd >= 0)
				close(pfd);
			return -e;
		}
		long long left = deadline - now_ms();
		if (left <= 0) {
			kill(pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			if (pfd >= 0)
				close(pfd);
			return -ETIMEDOUT;
		}
		if (pfd >= 0) {
			struct pollfd p = {pfd, POLLIN, 0};
			poll(&p, 1, (int)(left > 1000 ? 1000 : left));
		} else {
			struct pollfd p;
			poll(&p, 0, 20);
		}
	}
	if (pfd >= 0)
		close(pfd);
	return status;
}

int run_wait(char *const argv[], const struct spawn_opts *o, int timeout_ms)
{
	pid_t pid = spawn(argv, o);
	return pid < 0 ? (int)pid : wait_timeout(pid, timeout_ms);
}

const char *status_str(int status, char *buf, int size)
{
	if (WIFEXITED(status))
		snprintf(buf, (size_t)size, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, (size_t)size, "killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(buf, (size_t)size, "stopped (status 0x%x)", status);
	return buf;
}

void stdio_ensure(void)
{
	for (int fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) >= 0)
			continue;
		int n = open("/dev/console", O_RDWR | O_NOCTTY);
		if (n < 0)
			n = open("/dev/null", O_RDWR);
		if (n >= 0 && n != fd) {
			dup2(n, fd);
			close(n);
		}
	}
}

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
	if (res == CHILD_LOST || (res == CHILD_TIMEOUT && !(j->flags & JOB_KEEP_PARTIAL))) {
		free(j->text);
		j->text = NULL;
	} else if (res == CHILD_TIMEOUT && j->text) {
		/* Killed while writing: half a line is dropped rather than read as whole. */
		j->text[j->len] = 0;
		char *nl = strrchr(j->text, '\n');
		*(nl ? nl + 1 : j->text) = 0;
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
		/* A job ends with its caller: an inspection's mounts vanish with its namespace, a
		 * scan does not go on mounting disks for a menu that is gone. */
		child_die_with_parent(parent);
		if (j->flags & JOB_SESSION)
			setsid();
		if (j->flags & JOB_STDIN_NULL) {
			int null = open("/dev/null", O_RDONLY);
			if (null >= 0 && null != 0) {
				dup2(null, 0);
				close(null);
			}
		}
		if (j->flags & JOB_STDERR_OUT)
			dup2(p[1], 2);
		if (j->err_path) {
			int err = open(j->err_path, O_WRONLY | O_APPEND | O_CREAT, 0644);
			if (err >= 0 && err != 2) {
				dup2(err, 2);
				close(err);
			}
		}
		if (!j->fn) {
			dup2(p[1], 1);
			execv(j->argv[0], j->argv);
			fprintf(stderr, "lifeboat: cannot run %s: %s\n", j->argv[0], strerror(errno));
			_exit(127);
		}
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
		if (j->cap >= (j->max_output ? j->max_output : CHILD_MAX_OUTPUT)) {
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
	if (j->flags & JOB_IDLE_DEADLINE)
		j->deadline = now_ms() + j->timeout_ms;
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
	/* A job in its own session goes with everything it started (a scan's mount helpers). */
	if (j->flags & JOB_SESSION)
		kill(-j->pid, SIGKILL);
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

/* The job's body: exec the tool with its stdout and stderr on the job's pipe. */
static int run_tool(FILE *out, void *arg)
{
	char *const *argv = arg;
	fflush(out);
	int fd = fileno(out), nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nul < 0 || dup2(nul, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
		return 126;
	/* lvm warns about every inherited descriptor; ours are the caller's, not leaks. */
	setenv("LVM_SUPPRESS_FD_WARNINGS", "1", 1);
	execv(argv[0], argv);
	fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
	return 127;
}

int job_tool(char *const *argv, int timeout_ms, char **text, char *msg, size_t size)
{
	char why[160];
	*text = NULL;
	/* An image built without the tool (a smaller custom build): say that, not "exited with
	 * status 127", which reads as the tool's own failure. */
	if (argv[0][0] == '/' && access(argv[0], X_OK) < 0 && errno == ENOENT) {
		const char *base = strrchr(argv[0], '/') + 1;
		snprintf(msg, size, "%s is not in this image: cannot run %s%s%s", argv[0], base,
			 argv[1] ? " " : "", argv[1] ? argv[1] : "");
		return -1;
	}
	enum child_result r = child_run(run_tool, (void *)argv, timeout_ms, text, why, sizeof(why));
	if (r == CHILD_OK)
		return 0;
	/* The tool's last line says why; the job's words say how it ended. */
	char *last = *text ? rstrip(*text) : NULL, *nl = last ? strrchr(last, '\n') : NULL;
	snprintf(msg, size, "%s %s: %s%s%.160s", argv[0], argv[1], why, last && *last ? ": " : "",
		 nl ? nl + 1 : last ? last : "");
	return -1;
}

/* What a child that failed before its exec tells its parent: one write, well under PIPE_BUF,
 * so it arrives whole. */
struct exec_failure {
	int err;
	char step[120];
};

int exec_pipe_open(int fds[2])
{
	return pipe2(fds, O_CLOEXEC) < 0 ? -errno : 0;
}

void exec_pipe_fail(int wfd, const char *step, int err)
{
	struct exec_failure f = {.err = err < 0 ? err : -EIO};
	snprintf(f.step, sizeof(f.step), "%s", step);
	ssize_t n;
	do
		n = write(wfd, &f, sizeof(f));
	while (n < 0 && errno == EINTR);
}

int exec_pipe_read(int rfd, char *step, size_t size)
{
	struct exec_failure f;
	size_t got = 0;
	while (got < sizeof(f)) {
		ssize_t n = read(rfd, (char *)&f + got, sizeof(f) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got < sizeof(f))
		return 0;
	f.step[sizeof(f.step) - 1] = 0;
	snprintf(step, size, "%s", f.step);
	return f.err < 0 ? f.err : -EIO;
}
