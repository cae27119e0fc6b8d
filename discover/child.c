#include "discover/child.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/proc.h"
#include "lib/util.h"

/* After a kill, how long a child may take to be reaped before we leave it behind. */
#define REAP_GRACE_MS 1000

static int reap(pid_t pid, int *status, long long deadline)
{
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (now_ms() >= deadline)
			return -ETIMEDOUT;
		poll(NULL, 0, 10);
	}
}

enum child_result child_run(int (*fn)(FILE *out, void *arg), void *arg, int timeout_ms,
			    char **text, char *why, int whysize)
{
	*text = NULL;
	snprintf(why, (size_t)whysize, "ok");
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		snprintf(why, (size_t)whysize, "pipe: %s", strerror(errno));
		return CHILD_FAILED;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(why, (size_t)whysize, "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return CHILD_FAILED;
	}
	if (pid == 0) {
		close(p[0]);
		child_reset_signals();
		FILE *out = fdopen(p[1], "w");
		if (!out)
			_exit(125);
		int r = fn(out, arg);
		fclose(out);
		_exit(r & 0xff);
	}
	close(p[1]);
	size_t cap = 4096, len = 0;
	char *buf = xmalloc(cap + 1);
	long long deadline = now_ms() + timeout_ms;
	int timed_out = 0;
	for (;;) {
		long long left = deadline - now_ms();
		if (left <= 0) {
			timed_out = 1;
			break;
		}
		struct pollfd pf = {p[0], POLLIN, 0};
		int pr = poll(&pf, 1, (int)left);
		if (pr < 0 && errno != EINTR)
			break;
		if (pr <= 0)
			continue;
		if (len == cap) {
			if (cap >= CHILD_MAX_OUTPUT)
				break; /* enough: the rest is dropped and the child ends on SIGPIPE */
			cap *= 2;
			buf = xrealloc(buf, cap + 1);
		}
		ssize_t n = read(p[0], buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(p[0]);
	buf[len] = 0;
	int status = 0;
	if (!timed_out) {
		long long left = deadline - now_ms();
		if (reap(pid, &status, now_ms() + (left > 0 ? left : 0)) < 0)
			timed_out = 1;
	}
	if (timed_out) {
		free(buf);
		kill(pid, SIGKILL);
		if (reap(pid, &status, now_ms() + REAP_GRACE_MS) < 0) {
			snprintf(why, (size_t)whysize, "no answer within %d s, and stuck after SIGKILL",
				 timeout_ms / 1000);
			return CHILD_LOST;
		}
		snprintf(why, (size_t)whysize, "no answer within %d ms", timeout_ms);
		return CHILD_TIMEOUT;
	}
	*text = buf;
	status_str(status, why, whysize);
	if (WIFSIGNALED(status))
		return CHILD_CRASH;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? CHILD_OK : CHILD_FAILED;
}
