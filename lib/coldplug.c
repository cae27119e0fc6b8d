#include "lib/coldplug.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/sysblock.h"
#include "lib/util.h"

/* sysfs is a tree of real directories plus symlinks that form cycles (subsystem, driver,
 * device...): follow only real directories, so each device is seen once. */
struct walk {
	int (*fn)(const char *modalias, void *ctx);
	void *ctx;
};

/* Takes fd (a directory). Under QEMU's emulation each sysfs syscall costs tens of microseconds
 * and /sys/devices has hundreds of directories: one listing per directory says both whether it
 * has a modalias and where to go next, and a device's power/ (an attribute group every device
 * has, never holding a device) is not entered. */
static int walk(const struct walk *w, int fd, int depth)
{
	DIR *d = depth <= 32 ? fdopendir(fd) : NULL;
	if (!d) {
		close(fd);
		return 0;
	}
	int found = 0, has_alias = 0, n = 0, cap = 0;
	char **subs = NULL;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (!strcmp(e->d_name, "modalias")) {
			has_alias = 1;
		} else if ((e->d_type == DT_DIR || e->d_type == DT_UNKNOWN) && strcmp(e->d_name, "power")) {
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				subs = xrealloc(subs, sizeof(*subs) * (size_t)cap);
			}
			subs[n++] = xstrdup(e->d_name);
		}
	}
	/* The device's own modalias before its children's: its driver is asked for first. */
	char *alias = NULL;
	if (has_alias && read_file_at(dirfd(d), "modalias", 1024, &alias) > 0) {
		rstrip(alias);
		if (*alias) {
			int r = w->fn(alias, w->ctx);
			if (r > 0)
				found += r;
		}
	}
	free(alias);
	for (int i = 0; i < n; i++) {
		int sub = openat(dirfd(d), subs[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub >= 0)
			found += walk(w, sub, depth + 1);
		free(subs[i]);
	}
	free(subs);
	closedir(d);
	return found;
}

int coldplug_walk(const char *sysfs_root, int (*fn)(const char *modalias, void *ctx), void *ctx)
{
	int fd = open(sysfs_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct walk w = {fn, ctx};
	return walk(&w, fd, 0);
}

int uevent_open(void)
{
	int fd = netlink_listen(NETLINK_KOBJECT_UEVENT, 1);
	if (fd < 0)
		return fd;
	/* Bursts at boot can be large; a dropped event would mean a missed driver. */
	int size = 4 << 20;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
	return fd;
}

long long uevent_seqnum_now(void)
{
	char *s = NULL;
	int r = read_file_at(AT_FDCWD, "/sys/kernel/uevent_seqnum", 32, &s);
	if (r <= 0) {
		free(s);
		return r < 0 ? r : -ENODATA;
	}
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	int bad = errno || end == s || v > (unsigned long long)0x7fffffffffffffffLL;
	free(s);
	return bad ? -EINVAL : (long long)v;
}

static void copy_field(char *dst, size_t n, const char *v)
{
	snprintf(dst, n, "%s", v);
}

int uevent_read(int fd, struct uevent *ev)
{
	char buf[8192];
	struct sockaddr_nl sa;
	struct iovec iov = {buf, sizeof(buf) - 1};
	struct msghdr msg = {.msg_name = &sa, .msg_namelen = sizeof(sa), .msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n = recvmsg(fd, &msg, 0);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
	/* Only the kernel (port 0) may tell us about devices. */
	if (sa.nl_pid != 0)
		return -EPERM;
	buf[n] = 0;
	memset(ev, 0, sizeof(*ev));
	/* "action@devpath\0KEY=value\0KEY=value\0..." */
	for (char *p = buf; p < buf + n; p += strlen(p) + 1) {
		if (startswith(p, "ACTION="))
			copy_field(ev->action, sizeof(ev->action), p + 7);
		else if (startswith(p, "SUBSYSTEM="))
			copy_field(ev->subsystem, sizeof(ev->subsystem), p + 10);
		else if (startswith(p, "DEVTYPE="))
			copy_field(ev->devtype, sizeof(ev->devtype), p + 8);
		else if (startswith(p, "DEVNAME="))
			copy_field(ev->devname, sizeof(ev->devname), p + 8);
		else if (startswith(p, "MODALIAS="))
			copy_field(ev->modalias, sizeof(ev->modalias), p + 9);
		else if (startswith(p, "SEQNUM="))
			ev->seqnum = strtoull(p + 7, NULL, 10);
		else if (startswith(p, "DEVPATH="))
			ev->virtual_dev = sysblock_path_virtual(p + 8);
	}
	return 1;
}
