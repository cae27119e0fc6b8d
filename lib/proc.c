#include "lib/proc.h"

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

static int child_setup(const struct spawn_opts *o)
{
	child_reset_signals();
	if (!o)
		return 0;
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
		if (o && o->keep_fd > 2) {
			int fl = fcntl(o->keep_fd, F_GETFD);
			if (fl >= 0)
				fcntl(o->keep_fd, F_SETFD, fl & ~FD_CLOEXEC);
		}
		extern char **environ;
		execve(argv[0], argv, o && o->envp ? o->envp : environ);
		fprintf(stderr, "lifeboat: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

pid_t spawn_fn(int (*fn)(void *), void *arg, const struct spawn_opts *o)
{
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (child_setup(o) < 0)
			_exit(126);
		_exit(fn(arg) & 0xff);
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
