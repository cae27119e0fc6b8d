#include "report/scanlock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/util.h"
#include "report/store.h"

#define POLL_MS 50
#define LAST_MAX (16 << 20)

int scanlock_take(const char *lock_path, int wait_ms, int *waited)
{
	*waited = 0;
	int fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	long long end = now_ms() + wait_ms;
	/* A POSIX record lock, not flock: it belongs to this process alone, so a child of the scan
	 * stuck in a read of a hung disk (unkillable until the read returns) does not keep it after
	 * the scan itself was killed by its deadline; a forked child never inherits it. */
	struct flock l = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	for (;;) {
		if (fcntl(fd, F_SETLK, &l) == 0)
			return fd;
		int e = errno;
		if (e != EAGAIN && e != EACCES && e != EINTR) {
			close(fd);
			return -e;
		}
		*waited = 1;
		if (now_ms() >= end) {
			close(fd);
			return -ETIMEDOUT;
		}
		struct timespec ts = {0, POLL_MS * 1000000L};
		nanosleep(&ts, NULL);
	}
}

static int stamp(const char *s, const char *key, long long *v, const char **end)
{
	size_t l = strlen(key);
	if (strncmp(s, key, l) || s[l] != '=')
		return -EINVAL;
	char *e;
	errno = 0;
	*v = strtoll(s + l + 1, &e, 10);
	if (errno || e == s + l + 1)
		return -EINVAL;
	*end = e;
	return 0;
}

int scanlock_reuse(const char *last_path, long long asked_ms, int share, char **text)
{
	*text = NULL;
	char *s = NULL;
	ssize_t n = read_file_at(AT_FDCWD, last_path, LAST_MAX, &s);
	if (n < 0)
		return (int)n;
	const char *end;
	long long began, ended;
	if (stamp(s, "began", &began, &end) < 0 || *end != ' ' || stamp(end + 1, "ended", &ended, &end) < 0 ||
	    *end != '\n') {
		free(s);
		return -EINVAL;
	}
	if ((share ? ended : began) < asked_ms) {
		free(s);
		return -ESTALE;
	}
	size_t skip = (size_t)(end + 1 - s);
	memmove(s, end + 1, (size_t)n - skip + 1);
	*text = s;
	return 0;
}

int scanlock_record(const char *last_path, long long began_ms, long long ended_ms, const char *text,
		    size_t len)
{
	char *all = xasprintf("began=%lld ended=%lld\n%.*s", began_ms, ended_ms, (int)len, text);
	int r = report_save(last_path, all, strlen(all));
	free(all);
	return r;
}
