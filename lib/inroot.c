#include "lib/inroot.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/util.h"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

#define MAX_LINKS 40

int inroot_force_walk;
static int no_openat2;

static int same_file(int a, int b)
{
	struct stat sa, sb;
	if (fstat(a, &sa) < 0 || fstat(b, &sb) < 0)
		return 0;
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* The walk: like the kernel's in-root resolution, ".." at the root stays at the root and an
 * absolute link restarts from the root. Links are read as text and never followed by the kernel,
 * so magic links (/proc/self/fd/N) are only text here: nothing jumps out. */
static int walk(int rootfd, const char *path, int flags)
{
	size_t cap = strlen(path) + 2;
	char *rest = xmalloc(cap);
	strcpy(rest, path);
	size_t pos = 0;
	int links = 0;
	int cur = openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cur < 0) {
		free(rest);
		return -errno;
	}
	int ret;
	for (;;) {
		while (rest[pos] == '/')
			pos++;
		if (!rest[pos]) {
			/* Ran out of components (path "", "/", or ending in "." / ".."). */
			ret = openat(cur, ".", (flags & ~O_NOFOLLOW) | O_CLOEXEC);
			ret = ret < 0 ? -errno : ret;
			break;
		}
		size_t len = strcspn(rest + pos, "/");
		char comp[NAME_MAX + 1];
		if (len > NAME_MAX) {
			ret = -ENAMETOOLONG;
			break;
		}
		memcpy(comp, rest + pos, len);
		comp[len] = 0;
		pos += len;
		size_t after = pos;
		while (rest[after] == '/')
			after++;
		int last = !rest[after];
		if (!strcmp(comp, "."))
			continue;
		if (!strcmp(comp, "..")) {
			if (same_file(cur, rootfd))
				continue;
			int up = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (up < 0) {
				ret = -errno;
				break;
			}
			close(cur);
			cur = up;
			continue;
		}
		int fd = openat(cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			ret = -errno;
			break;
		}
		struct stat st;
		if (fstat(fd, &st) < 0) {
			ret = -errno;
			close(fd);
			break;
		}
		if (S_ISLNK(st.st_mode)) {
			if (last && (flags & O_NOFOLLOW)) {
				close(fd);
				ret = -ELOOP;
				break;
			}
			if (++links > MAX_LINKS) {
				close(fd);
				ret = -ELOOP;
				break;
			}
			char target[PATH_MAX];
			ssize_t n = readlinkat(fd, "", target, sizeof(target) - 1);
			close(fd);
			if (n < 0) {
				ret = -errno;
				break;
			}
			if (n == 0) {
				ret = -ENOENT;
				break;
			}
			target[n] = 0;
			/* The new path: the link's target, then what was left after the link. */
			size_t tail = strlen(rest + pos);
			char *nr = xmalloc((size_t)n + tail + 2);
			memcpy(nr, target, (size_t)n);
			memcpy(nr + n, rest + pos, tail + 1);
			free(rest);
			rest = nr;
			pos = 0;
			if (target[0] == '/') {
				int r = openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
				if (r < 0) {
					ret = -errno;
					break;
				}
				close(cur);
				cur = r;
			}
			continue;
		}
		if (last) {
			close(fd);
			ret = openat(cur, comp, flags | O_NOFOLLOW | O_CLOEXEC);
			ret = ret < 0 ? -errno : ret;
			break;
		}
		if (!S_ISDIR(st.st_mode)) {
			close(fd);
			ret = -ENOTDIR;
			break;
		}
		close(cur);
		cur = fd;
	}
	close(cur);
	free(rest);
	return ret;
}

int inroot_open(int rootfd, const char *path, int flags)
{
	if (!inroot_force_walk && !no_openat2) {
		struct open_how how = {
			.flags = (unsigned long long)(flags | O_CLOEXEC),
			.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
		};
		for (int tries = 0; tries < 8; tries++) {
			long fd = syscall(SYS_openat2, rootfd, *path ? path : ".", &how, sizeof(how));
			if (fd >= 0)
				return (int)fd;
			/* EAGAIN: a rename raced the lookup; try again, then fall back to the walk. */
			if (errno == EAGAIN)
				continue;
			if (errno == ENOSYS || errno == E2BIG) {
				no_openat2 = 1;
				break;
			}
			return -errno;
		}
	}
	return walk(rootfd, path, flags);
}

ssize_t inroot_read(int rootfd, const char *path, size_t max, char **out)
{
	int fd = inroot_open(rootfd, path, O_RDONLY | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return fd;
	struct stat st;
	int e = fstat(fd, &st) < 0 ? -errno : S_ISDIR(st.st_mode) ? -EISDIR : !S_ISREG(st.st_mode) ? -EINVAL : 0;
	if (e < 0) {
		close(fd);
		return e;
	}
	ssize_t r = read_fd(fd, max, out);
	close(fd);
	return r;
}

ssize_t inroot_readlink(int rootfd, const char *path, char *buf, size_t size)
{
	const char *slash = strrchr(path, '/');
	const char *name = slash ? slash + 1 : path;
	if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
		return -EINVAL;
	char *dir = slash ? strndup(path, (size_t)(slash - path) + 1) : xstrdup(".");
	if (!dir)
		return -ENOMEM;
	int dfd = inroot_open(rootfd, dir, O_PATH | O_DIRECTORY);
	free(dir);
	if (dfd < 0)
		return dfd;
	ssize_t n = readlinkat(dfd, name, buf, size - 1);
	int e = errno;
	close(dfd);
	if (n < 0)
		return -e;
	buf[n] = 0;
	return n;
}

int inroot_exists(int rootfd, const char *path)
{
	int fd = inroot_open(rootfd, path, O_PATH);
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}
