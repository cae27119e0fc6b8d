#include "report/store.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/proc.h"
#include "lib/util.h"

#define REPORT_MAX (16 << 20)

int report_save(const char *path, const char *text, size_t len)
{
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		mkdir_p(dir, 0755);
	}
	free(dir);
	/* Unique, so two writers (the menu's scan, a `lifeboat scan --save` by hand) never share it. */
	char *tmp = xasprintf("%s.XXXXXX", path);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		int e = -errno;
		free(tmp);
		return e;
	}
	int r = write_all(fd, text, len);
	if (!r && fchmod(fd, 0644) < 0)
		r = -errno;
	if (!r && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && rename(tmp, path) < 0)
		r = -errno;
	if (r)
		unlink(tmp);
	free(tmp);
	return r;
}

static int run_child(char **text, int timeout_ms)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(p[0]);
		close(p[1]);
		return -e;
	}
	if (pid == 0) {
		child_reset_signals();
		/* A scan dies with the menu that wanted it: a menu killed and restarted a hundred
		 * times must not leave a hundred scans mounting disks behind it. */
		child_die_with_parent(parent);
		setsid();
		int null = open("/dev/null", O_RDWR);
		int err = open(LOG_PATH, O_WRONLY | O_APPEND | O_CREAT, 0644);
		dup2(null, 0);
		dup2(p[1], 1);
		dup2(err >= 0 ? err : null, 2);
		char *argv[] = {LIFEBOAT_BIN, "scan", NULL};
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	size_t len = 0, cap = 65536;
	char *buf = xmalloc(cap);
	long long deadline = now_ms() + timeout_ms;
	int timed_out = 0;
	for (;;) {
		long long left = deadline - now_ms();
		if (left <= 0) {
			timed_out = 1;
			break;
		}
		struct pollfd pf = {p[0], POLLIN, 0};
		int r = poll(&pf, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			continue;
		if (len + 4096 + 1 > cap) {
			if (cap >= REPORT_MAX)
				break;
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		ssize_t n = read(p[0], buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(p[0]);
	buf[len] = 0;
	/* A scan killed while writing leaves half a line: drop it, rather than read a value cut
	 * short as if it were whole. */
	char *nl = strrchr(buf, '\n');
	*(nl ? nl + 1 : buf) = 0;
	len = strlen(buf);
	if (timed_out) {
		/* The scan runs in its own session: its mount helpers go with it. */
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
	}
	int status = wait_timeout(pid, 5000);
	*text = buf;
	if (timed_out)
		return -ETIMEDOUT;
	if (status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return -ENOENT;
	if (status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 2 && !len)
		return -ENOSYS; /* an image without the scan applet yet */
	return 0;
}

int report_scan_ms(void)
{
	const char *v = getenv("LIFEBOAT_SCAN_MS");
	int ms = v ? atoi(v) : 0;
	return ms > 0 ? ms : REPORT_SCAN_MS;
}

int report_scan(char **text, int timeout_ms)
{
	*text = NULL;
	const char *seam = getenv("LIFEBOAT_SCAN_REPORT");
	int r;
	if (seam && *seam) {
		ssize_t n = read_file_at(AT_FDCWD, seam, REPORT_MAX, text);
		r = n < 0 ? (int)n : 0;
	} else {
		r = run_child(text, timeout_ms);
	}
	if (*text && (r == 0 || r == -ETIMEDOUT))
		report_save(REPORT_SAVED, *text, strlen(*text));
	return r;
}

int report_have_saved(void)
{
	const char *seam = getenv("LIFEBOAT_SCAN_REPORT");
	return (seam && *seam) || access(REPORT_SAVED, R_OK) == 0;
}

int report_saved(char **text)
{
	*text = NULL;
	const char *seam = getenv("LIFEBOAT_SCAN_REPORT");
	if (!(seam && *seam) && read_file_at(AT_FDCWD, REPORT_SAVED, REPORT_MAX, text) >= 0)
		return 0;
	return report_scan(text, report_scan_ms());
}
