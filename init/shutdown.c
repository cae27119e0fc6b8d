#include "init/shutdown.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/reboot.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/swap.h>
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

/* mountinfo and /proc/swaps escape space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = 0;
}

/* The rescue system's own trees: they hold no user data and the shell keeps using them. */
static int own_tree(const char *t)
{
	static const char *own[] = {"/proc", "/sys", "/dev", "/run", "/tmp"};
	if (!strcmp(t, "/"))
		return 1;
	for (size_t i = 0; i < ARRAY_SIZE(own); i++) {
		size_t n = strlen(own[i]);
		if (!strncmp(t, own[i], n) && (t[n] == 0 || t[n] == '/'))
			return 1;
	}
	return 0;
}

int mountinfo_parse(char *text, struct mnt **out)
{
	int n = 0;
	struct mnt *m = NULL;
	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		/* id parent maj:min root target opts [optional...] - fstype source superopts */
		char *f[6], *s2 = NULL, *w;
		int i = 0;
		for (; i < 6 && (w = strtok_r(i ? NULL : line, " ", &s2)); i++)
			f[i] = w;
		if (i < 6)
			continue;
		/* Optional fields run up to a lone "-"; the file system type and source follow it. */
		char *fstype = NULL, *source = NULL;
		while ((w = strtok_r(NULL, " ", &s2)) && strcmp(w, "-"))
			;
		if (w) {
			fstype = strtok_r(NULL, " ", &s2);
			source = fstype ? strtok_r(NULL, " ", &s2) : NULL;
		}
		unsigned maj = (unsigned)strtoul(f[2], NULL, 10);
		struct mnt *bigger = realloc(m, sizeof(*m) * (size_t)(n + 1));
		char *target = bigger ? strdup(f[4]) : NULL;
		if (!target) {
			if (bigger)
				m = bigger;
			for (int k = 0; k < n; k++)
				free(m[k].target);
			free(m);
			*out = NULL;
			return -ENOMEM;
		}
		m = bigger;
		m[n].target = target;
		unescape_octal(m[n].target);
		/* btrfs reports an anonymous device number, so the source path counts too. */
		m[n].block = maj != 0 || (source && startswith(source, "/dev/")) ||
			     (fstype && !strcmp(fstype, "btrfs"));
		m[n].own = own_tree(m[n].target) && !m[n].block;
		n++;
	}
	*out = m;
	return n;
}

static int read_mounts(struct mnt **out)
{
	char *text;
	ssize_t r = read_file_at(AT_FDCWD, "/proc/self/mountinfo", 4 << 20, &text);
	if (r < 0)
		return (int)r;
	int n = mountinfo_parse(text, out);
	free(text);
	return n;
}

static void free_mounts(struct mnt *m, int n)
{
	for (int i = 0; i < n; i++)
		free(m[i].target);
	free(m);
}

static void starting(shutdown_report_fn report, const char *target, const char *what, void *ctx)
{
	if (report)
		report(target, what, SHUTDOWN_STARTING, ctx);
}

/* Swap on a disk keeps it busy; a swap file keeps its file system busy. */
static void swaps_off(shutdown_report_fn report, void *ctx)
{
	char *text;
	if (read_file_at(AT_FDCWD, "/proc/swaps", 1 << 20, &text) < 0)
		return;
	char *save = NULL, *line = strtok_r(text, "\n", &save); /* the header */
	while ((line = strtok_r(NULL, "\n", &save))) {
		char *sp = strpbrk(line, " \t");
		if (sp)
			*sp = 0;
		unescape_octal(line);
		starting(report, line, "swap off", ctx);
		int r = swapoff(line) < 0 ? -errno : 0;
		if (report)
			report(line, "swap off", r, ctx);
	}
	free(text);
}

int unmount_filesystems(shutdown_report_fn report, void *ctx)
{
	starting(report, "all disks", "sync", ctx);
	sync();
	swaps_off(report, ctx);
	/* Newest first, round after round: unmounting one mount lets its parent go next. */
	for (int round = 0; round < 16; round++) {
		struct mnt *m = NULL;
		int n = read_mounts(&m);
		if (n < 0)
			return n;
		int done = 0, todo = 0;
		for (int i = n - 1; i >= 0; i--) {
			if (m[i].own)
				continue;
			if (!m[i].block && own_tree(m[i].target))
				continue;
			todo++;
			starting(report, m[i].target, "unmount", ctx);
			if (umount2(m[i].target, UMOUNT_NOFOLLOW) == 0) {
				done++;
				if (report)
					report(m[i].target, "unmounted", 0, ctx);
			}
		}
		free_mounts(m, n);
		if (!todo || !done)
			break;
	}
	/* What is still mounted is busy: read-only at least keeps it consistent. */
	int left = 0;
	struct mnt *m = NULL;
	int n = read_mounts(&m);
	if (n < 0)
		return n;
	for (int i = n - 1; i >= 0; i--) {
		if (!m[i].block || !strcmp(m[i].target, "/"))
			continue;
		starting(report, m[i].target, "remount read-only", ctx);
		int r = mount(NULL, m[i].target, NULL, MS_REMOUNT | MS_RDONLY, NULL) < 0 ? -errno : 0;
		if (r < 0)
			left++;
		if (report)
			report(m[i].target, "remounted read-only", r, ctx);
	}
	free_mounts(m, n);
	starting(report, "all disks", "sync", ctx);
	sync();
	return left;
}

int shutdown_reboot_syscall(enum shutdown_kind k, int do_sync)
{
	int cmd = k == SHUTDOWN_HALT       ? LINUX_REBOOT_CMD_HALT
		  : k == SHUTDOWN_POWEROFF ? LINUX_REBOOT_CMD_POWER_OFF
		  : k == SHUTDOWN_KEXEC    ? LINUX_REBOOT_CMD_KEXEC
					   : LINUX_REBOOT_CMD_RESTART;
	if (do_sync)
		sync();
	if (syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, cmd, NULL) < 0)
		return -errno;
	return 0;
}
