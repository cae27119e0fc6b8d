#include "act/fscheck.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/fs.h>
#include <unistd.h>

#include "lib/fstype.h"

/* Which tool checks a type, and with which read-only arguments, is lib/fstype's row; this table
 * adds what only the toolbox knows: where the tool is, how it repairs, what its exit status
 * means. A type whose checker is not here is not checked: the image lacks it.
 * Repairs answer yes to every question (-y, -a): the person confirmed once, for the whole
 * repair, and the tools' own prompts would need a pager. */
static const struct fs_tool tools[] = {
	{"e2fsck", "/sbin/e2fsck", {"-f", "-y"},
	 "replays the journal and fixes every error e2fsck finds (files may move to lost+found)"},
	{"fsck.fat", "/sbin/fsck.fat", {"-a", "-w", "-V"},
	 "fixes the FAT (copies, chains, dirty bit) and directory entries; lost chains become files"},
	/* btrfs check --repair can make things worse, xfs_repair on a dirty log wants a mount
	 * first: neither is offered (docs/repair.md). */
	{"btrfs", "/sbin/btrfs", {NULL}, NULL},
	{"xfs_repair", "/sbin/xfs_repair", {NULL}, NULL},
	/* fsck.f2fs -f fixes in place as it walks the tree, and stops halfway to ask on stdin
	 * whether to copy unreachable files to ./lost_found (no answer: it exits there, nodes
	 * fixed, checkpoint not); its manual documents neither that nor its exit statuses. Not
	 * offered (docs/repair.md). */
	{"fsck.f2fs", "/sbin/fsck.f2fs", {NULL}, NULL},
};

const struct fs_tool *fs_tool_for(const char *type)
{
	const struct fstype *ft = fstype_find(type);
	if (!ft || !ft->check[0])
		return NULL;
	for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++)
		if (!strcmp(tools[i].name, ft->check[0]))
			return &tools[i];
	return NULL;
}

int fs_tool_argv(const struct fs_tool *t, int repair, const char *type, const char *dev,
		 const char **argv, int max)
{
	const struct fstype *ft = fstype_find(type);
	if (!ft || !ft->check[0] || strcmp(ft->check[0], t->name))
		return -EINVAL;
	const char *const *args = repair ? t->repair : ft->check + 1;
	int nargs = repair ? FSCHECK_MAX_ARGS : FSTYPE_CHECK_ARGS - 1;
	if (repair && !args[0])
		return -ENOTSUP;
	int n = 0;
	if (n >= max - 1)
		return -E2BIG;
	argv[n++] = t->path;
	for (int i = 0; i < nargs && args[i]; i++) {
		if (n >= max - 2)
			return -E2BIG;
		argv[n++] = args[i];
	}
	argv[n++] = dev;
	argv[n] = NULL;
	return n;
}

/* e2fsck: 0 clean, 1/2 fixed, 4 left uncorrected (what -n says for any error), 8 and up
 * failed. fsck.fat: 0 clean, 1 errors found (fixed with -a), 2 and up failed. btrfs check and
 * xfs_repair -n: 0 clean, 1 errors found. fsck.f2fs (its source, fsck/fsck.h and main.c; its
 * manual says only 0 or -1): 0 clean, 1 errors found ("corrected", which with -f --dry-run
 * means nothing was written), 4 errors left, 8 operational error (cannot open or mount),
 * 16 usage, 255 an assertion. */
enum fs_verdict fs_verdict_of(const struct fs_tool *t, int repair, int st)
{
	if (st < 0)
		return FS_FAILED;
	if (st == 0)
		return FS_CLEAN;
	if (!strcmp(t->name, "fsck.f2fs")) {
		if (st == 4)
			return FS_ERRORS;
		if (st == 1)
			return repair ? FS_FIXED : FS_ERRORS;
		return FS_FAILED;
	}
	if (!strcmp(t->name, "e2fsck")) {
		if (st >= 8)
			return FS_FAILED;
		if (st & 4)
			return FS_ERRORS;
		return repair ? FS_FIXED : FS_ERRORS;
	}
	if (st == 1)
		return repair ? FS_FIXED : FS_ERRORS;
	return FS_FAILED;
}

const char *fs_verdict_name(enum fs_verdict v)
{
	switch (v) {
	case FS_CLEAN: return "clean";
	case FS_ERRORS: return "errors";
	case FS_FIXED: return "repaired";
	case FS_FAILED: return "check failed";
	}
	return "?";
}

int fs_target_add(struct fs_target *ts, int n, int max, const struct found *f, const char *dev,
		  const char *what)
{
	if (!dev || !*dev || n >= max)
		return n;
	for (int i = 0; i < n; i++)
		if (!strcmp(ts[i].dev, dev))
			return n;
	struct fs_target *t = &ts[n];
	memset(t, 0, sizeof(*t));
	snprintf(t->dev, sizeof(t->dev), "%s", dev);
	snprintf(t->what, sizeof(t->what), "%s", what ? what : "?");
	/* The type on disk (blkid), not fstab's word for it. */
	for (int i = f ? report_next(&f->rep, "device", -1) : -1; i >= 0; i = report_next(&f->rep, "device", i)) {
		const char *p = record_get(&f->rep.r[i], "path"), *ty = record_get(&f->rep.r[i], "type");
		if (p && ty && !strcmp(p, dev))
			snprintf(t->type, sizeof(t->type), "%s", ty);
	}
	t->tool = fs_tool_for(t->type);
	return n + 1;
}

int fs_targets(const struct found *f, const struct found_sys *s, struct fs_target *ts, int max)
{
	int n = 0;
	n = fs_target_add(ts, n, max, f, s->root, "/");
	n = fs_target_add(ts, n, max, f, s->nix, "/nix");
	const struct record *m[64];
	int nm = found_mounts(f, s->id, s->current, m, (int)(sizeof(m) / sizeof(m[0])));
	for (int i = 0; i < nm && i < (int)(sizeof(m) / sizeof(m[0])); i++) {
		const char *st = record_get(m[i], "status");
		if (st && !strcmp(st, "ok"))
			n = fs_target_add(ts, n, max, f, record_get(m[i], "source"), record_get(m[i], "target"));
	}
	return fs_target_add(ts, n, max, f, s->esp, "ESP");
}

int fs_unused(const char *dev)
{
	/* The kernel's answer: an exclusive open of a block device fails while it is mounted, or
	 * held by device-mapper, md or another exclusive opener. */
	int fd = open(dev, O_RDONLY | O_EXCL | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

int blk_set_ro(const char *dev, int ro)
{
	int fd = open(dev, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	int old = 0;
	int r = ioctl(fd, BLKROGET, &old) < 0 ? -errno : old;
	if (r >= 0 && ioctl(fd, BLKROSET, &ro) < 0)
		r = -errno;
	close(fd);
	return r;
}
