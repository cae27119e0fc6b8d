#include "act/resolvconf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "act/mountplan.h"
#include "lib/inroot.h"
#include "lib/util.h"

int resolvconf_resolve(int rootfd, char *out, size_t size)
{
	char path[PATH_MAX] = "/etc/resolv.conf";
	for (int hops = 0; hops < 40; hops++) {
		char link[PATH_MAX];
		ssize_t n = inroot_readlink(rootfd, path, link, sizeof(link));
		if (n == -EINVAL || n == -ENOENT) {
			/* Not a link (a file, or nothing): this is the end of the chain. */
			snprintf(out, size, "%s", path);
			return 0;
		}
		if (n < 0)
			return (int)n;
		if (link[0] == '/') {
			snprintf(path, sizeof(path), "%s", link);
		} else {
			/* Relative to the link's directory; ".." never climbs above the root (inroot). */
			char *slash = strrchr(path, '/');
			size_t dl = (size_t)(slash - path), ll = strlen(link);
			if (dl + 1 + ll + 1 > sizeof(path))
				return -ENAMETOOLONG;
			slash[1] = 0;
			memcpy(slash + 1, link, ll + 1);
		}
	}
	return -ELOOP;
}

int resolvconf_install(int rootfd, const char *ours)
{
	char *content = NULL;
	if (read_file_at(AT_FDCWD, ours, 1 << 16, &content) < 0)
		return 0;
	char path[PATH_MAX];
	int r = resolvconf_resolve(rootfd, path, sizeof(path));
	if (r < 0) {
		free(content);
		return r;
	}
	int fd = inroot_open(rootfd, path, O_PATH | O_NOFOLLOW);
	if (fd >= 0) {
		struct stat st;
		r = fstat(fd, &st) < 0 ? -errno : S_ISREG(st.st_mode) ? 0 : -EPERM;
		if (r == 0) {
			char at[64], src[64];
			snprintf(at, sizeof(at), "/proc/self/fd/%d", fd);
			int ofd = open(ours, O_PATH | O_CLOEXEC);
			snprintf(src, sizeof(src), "/proc/self/fd/%d", ofd);
			r = ofd < 0 ? -errno : mount(src, at, NULL, MS_BIND, NULL) < 0 ? -errno : 1;
			if (ofd >= 0)
				close(ofd);
		}
		close(fd);
		free(content);
		return r;
	}
	if (fd != -ENOENT) {
		free(content);
		return fd;
	}
	/* Missing: create it (and its directories) inside the root, as a file of our own. */
	char *slash = strrchr(path, '/');
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
	int dfd = inroot_mkdirs(rootfd, dir);
	if (dfd < 0) {
		free(content);
		return dfd;
	}
	int dirfd = openat(dfd, ".", O_DIRECTORY | O_CLOEXEC);
	close(dfd);
	if (dirfd < 0) {
		free(content);
		return -errno;
	}
	int wfd = openat(dirfd, slash + 1, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	r = wfd < 0 ? -errno : write_all(wfd, content, strlen(content));
	if (wfd >= 0)
		close(wfd);
	close(dirfd);
	free(content);
	return r < 0 ? r : 2;
}
