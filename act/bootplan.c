#include "act/bootplan.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/util.h"

void bootplan_init(struct boot_plan *p)
{
	memset(p, 0, sizeof(*p));
	p->kernel_fd = p->initrd_fd = -1;
}

void bootplan_note(struct boot_plan *p, const char *fmt, ...)
{
	if (p->n_notes >= (int)ARRAY_SIZE(p->notes))
		return;
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) >= 0)
		p->notes[p->n_notes++] = s;
	va_end(ap);
}

void bootplan_mounted(struct boot_plan *p, char *dir)
{
	if (p->n_mounts < (int)ARRAY_SIZE(p->mounts))
		p->mounts[p->n_mounts++] = dir;
}

static void unmount_dir(char *dir)
{
	if (!dir)
		return;
	/* A lazy detach still leaves the file system clean once the last fd closes, which is
	 * before this process exits and long before PID 1 jumps. */
	if (umount2(dir, 0) < 0 && errno == EBUSY)
		umount2(dir, MNT_DETACH);
	rmdir(dir);
	free(dir);
}

void bootplan_release(struct boot_plan *p)
{
	if (p->kernel_fd >= 0)
		close(p->kernel_fd);
	if (p->initrd_fd >= 0)
		close(p->initrd_fd);
	p->kernel_fd = p->initrd_fd = -1;
	while (p->n_mounts > 0)
		unmount_dir(p->mounts[--p->n_mounts]);
	free(p->name);
	free(p->kernel_path);
	free(p->initrd_path);
	free(p->cmdline);
	for (int i = 0; i < p->n_notes; i++)
		free(p->notes[i]);
	p->n_notes = 0;
	p->name = p->kernel_path = p->initrd_path = p->cmdline = NULL;
}

/* Open a regular file for the load and give its size. */
static int open_regular(int dirfd, const char *path, off_t *size)
{
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	struct stat st;
	int e = fstat(fd, &st) < 0 ? errno : S_ISDIR(st.st_mode) ? EISDIR : !S_ISREG(st.st_mode) ? EINVAL : 0;
	if (e) {
		close(fd);
		return -e;
	}
	*size = st.st_size;
	return fd;
}

int bootplan_files(struct boot_plan *p, const char *kernel, const char *initrd, const char *cmdline)
{
	int fd = open_regular(AT_FDCWD, kernel, &p->kernel_size);
	if (fd < 0)
		return fd;
	p->kernel_fd = fd;
	p->kernel_path = xstrdup(kernel);
	if (initrd) {
		fd = open_regular(AT_FDCWD, initrd, &p->initrd_size);
		if (fd < 0)
			return fd;
		p->initrd_fd = fd;
		p->initrd_path = xstrdup(initrd);
	}
	p->cmdline = xstrdup(cmdline ? cmdline : "");
	if (!p->name)
		p->name = xasprintf("the kernel %s", kernel);
	return 0;
}

int bootplan_installer(struct boot_plan *p, const char *dir)
{
	char *kernel = xasprintf("%s/kernel", dir), *initrd = xasprintf("%s/initrd", dir);
	char *text = NULL;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		int e = errno;
		free(kernel);
		free(initrd);
		return -e;
	}
	if (read_file_at(dfd, "name", 256, &text) >= 0 && *rstrip(text))
		p->name = text;
	else {
		free(text);
		p->name = xstrdup("the bundled installer");
	}
	text = NULL;
	char *cmdline = NULL;
	if (read_file_at(dfd, "cmdline", 4096, &cmdline) >= 0)
		rstrip(cmdline);
	close(dfd);
	/* An installer without an initrd of its own is fine (its kernel carries one). */
	int r = bootplan_files(p, kernel, access(initrd, F_OK) == 0 ? initrd : NULL, cmdline ? cmdline : "");
	p->free_payload = r == 0;
	free(cmdline);
	free(kernel);
	free(initrd);
	return r;
}

int installer_free(const char *dir)
{
	static const char *const files[] = {"kernel", "initrd", "cmdline", "name"};
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	int r = 0;
	for (size_t i = 0; i < ARRAY_SIZE(files); i++)
		if (unlinkat(dfd, files[i], 0) < 0 && errno != ENOENT && !r)
			r = -errno;
	close(dfd);
	return r;
}
