#include "init/mounts.h"

#include <errno.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"

struct basic_mount {
	const char *type, *target, *opts;
	unsigned long flags;
	mode_t mode;
};

static const struct basic_mount basic[] = {
	{"proc", "/proc", NULL, MS_NOSUID | MS_NODEV | MS_NOEXEC, 0555},
	{"sysfs", "/sys", NULL, MS_NOSUID | MS_NODEV | MS_NOEXEC, 0555},
	{"devtmpfs", "/dev", "mode=0755", MS_NOSUID, 0755},
	{"devpts", "/dev/pts", "mode=0620,ptmxmode=0666", MS_NOSUID | MS_NOEXEC, 0755},
	{"tmpfs", "/dev/shm", "mode=1777", MS_NOSUID | MS_NODEV, 01777},
	{"tmpfs", "/run", "mode=0755", MS_NOSUID | MS_NODEV, 0755},
	{"tmpfs", "/tmp", "mode=1777", MS_NOSUID | MS_NODEV, 01777},
};

static int mount_one(const struct basic_mount *m)
{
	if (mkdir(m->target, m->mode) < 0 && errno != EEXIST)
		return -errno;
	if (mount(m->type, m->target, m->type, m->flags, m->opts) < 0) {
		/* Already mounted (the kernel mounts devtmpfs itself with CONFIG_DEVTMPFS_MOUNT). */
		if (errno == EBUSY)
			return 0;
		return -errno;
	}
	return 0;
}

int mounts_basic(void)
{
	int first = 0;
	for (size_t i = 0; i < ARRAY_SIZE(basic); i++) {
		int r = mount_one(&basic[i]);
		if (r < 0) {
			log_err("cannot mount %s on %s: %s", basic[i].type, basic[i].target, strerror(-r));
			if (!first)
				first = r;
		} else {
			log_info("mounted %s on %s", basic[i].type, basic[i].target);
		}
	}
	/* devtmpfs lacks the conventional links that shells and scripts expect. */
	static const char *links[][2] = {
		{"/proc/self/fd", "/dev/fd"},
		{"/proc/self/fd/0", "/dev/stdin"},
		{"/proc/self/fd/1", "/dev/stdout"},
		{"/proc/self/fd/2", "/dev/stderr"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(links); i++)
		if (symlink(links[i][0], links[i][1]) < 0 && errno != EEXIST)
			log_warn("cannot link %s: %s", links[i][1], strerror(errno));
	return first;
}

int mounts_efivarfs(void)
{
	if (access("/sys/firmware/efi", F_OK) < 0)
		return 0;
	if (mount("efivarfs", "/sys/firmware/efi/efivars", "efivarfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  NULL) < 0)
		return errno == EBUSY ? 1 : -errno;
	log_info("mounted efivarfs on /sys/firmware/efi/efivars");
	return 1;
}
