#include "init/shutdown.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/reboot.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"

const char *shutdown_name(enum shutdown_kind k)
{
	switch (k) {
	case SHUTDOWN_REBOOT: return "reboot";
	case SHUTDOWN_HALT: return "halt";
	case SHUTDOWN_POWEROFF: return "power-off";
	case SHUTDOWN_KEXEC: return "kexec";
	default: return "none";
	}
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '7' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = 0;
}

struct mnt {
	char *target;
	int block;
};

static int read_mounts(struct mnt **out)
{
	char *text;
	ssize_t r = read_file_at(AT_FDCWD, "/proc/self/mountinfo", 4 << 20, &text);
	if (r < 0)
		return (int)r;
	int n = 0;
	struct mnt *m = NULL;
	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		/* id parent maj:min root target opts [optional...] - fstype source superopts */
		char *f[6], *s2;
		int i = 0;
		for (char *w = strtok_r(line, " ", &s2); w && i < 6; w = strtok_r(NULL, " ", &s2))
			f[i++] = w;
		if (i < 6)
			continue;
		char *rest = strstr(s2 ? s2 : "", "- ");
		char *fstype = NULL, *source = NULL;
		if (rest) {
			char *s3;
			fstype = strtok_r(rest + 2, " ", &s3);
			source = strtok_r(NULL, " ", &s3);
		}
		unsigned maj = (unsigned)strtoul(f[2], NULL, 10);
		m = xrealloc(m, sizeof(*m) * (size_t)(n + 1));
		m[n].target = xstrdup(f[4]);
		unescape_octal(m[n].target);
		/* btrfs reports an anonymous device number, so the source path counts too. */
		m[n].block = maj != 0 || (source && startswith(source, "/dev/")) ||
			     (fstype && !strcmp(fstype, "btrfs"));
		n++;
	}
	free(text);
	*out = m;
	return n;
}

int unmount_block_filesystems(void)
{
	sync();
	int left = 0;
	/* Unmounting one mount can uncover another: go round until nothing more moves. */
	for (int round = 0; round < 4; round++) {
		struct mnt *m = NULL;
		int n = read_mounts(&m);
		if (n < 0)
			return n;
		int busy = 0, done = 0;
		for (int i = n - 1; i >= 0; i--) {
			if (!m[i].block || !strcmp(m[i].target, "/"))
				continue;
			if (umount2(m[i].target, 0) == 0) {
				log_info("unmounted %s", m[i].target);
				done++;
			} else if (errno == EBUSY) {
				busy++;
			} else if (errno != EINVAL && errno != ENOENT) {
				log_warn("cannot unmount %s: %s", m[i].target, strerror(errno));
			}
		}
		if (busy && !done) {
			left = 0;
			for (int i = n - 1; i >= 0; i--) {
				if (!m[i].block || !strcmp(m[i].target, "/"))
					continue;
				if (mount(NULL, m[i].target, NULL, MS_REMOUNT | MS_RDONLY, NULL) == 0) {
					log_warn("%s is busy: remounted read-only", m[i].target);
				} else {
					log_err("%s is busy and cannot be made read-only: %s", m[i].target,
						strerror(errno));
					left++;
				}
			}
		}
		for (int i = 0; i < n; i++)
			free(m[i].target);
		free(m);
		if (!busy || !done)
			break;
	}
	sync();
	return left;
}

int shutdown_reboot_syscall(enum shutdown_kind k)
{
	int cmd = k == SHUTDOWN_HALT       ? LINUX_REBOOT_CMD_HALT
		  : k == SHUTDOWN_POWEROFF ? LINUX_REBOOT_CMD_POWER_OFF
		  : k == SHUTDOWN_KEXEC    ? LINUX_REBOOT_CMD_KEXEC
					   : LINUX_REBOOT_CMD_RESTART;
	sync();
	if (syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, cmd, NULL) < 0)
		return -errno;
	return 0;
}
