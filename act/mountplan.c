#include "act/mountplan.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "discover/assemble.h"
#include "lib/escape.h"
#include "lib/fstype.h"
#include "lib/inroot.h"
#include "lib/util.h"

static const struct {
	const char *name;
	unsigned long set, clear;
} flagwords[] = {
	{"ro", MS_RDONLY, 0},         {"rw", 0, MS_RDONLY},           {"nosuid", MS_NOSUID, 0},
	{"suid", 0, MS_NOSUID},       {"nodev", MS_NODEV, 0},         {"dev", 0, MS_NODEV},
	{"noexec", MS_NOEXEC, 0},     {"exec", 0, MS_NOEXEC},         {"noatime", MS_NOATIME, 0},
	{"atime", 0, MS_NOATIME},     {"nodiratime", MS_NODIRATIME, 0}, {"relatime", MS_RELATIME, 0},
	{"strictatime", MS_STRICTATIME, 0}, {"sync", MS_SYNCHRONOUS, 0}, {"async", 0, MS_SYNCHRONOUS},
	{"dirsync", MS_DIRSYNC, 0},   {"lazytime", MS_LAZYTIME, 0},
};

/* Words that only mean something to mount(8), fstab or systemd. */
static int fstab_only(const char *w)
{
	static const char *words[] = {"defaults", "auto", "noauto", "nofail", "user", "users", "nouser",
				      "owner", "group", "_netdev", "bind", "rbind", "loop"};
	for (size_t i = 0; i < ARRAY_SIZE(words); i++)
		if (!strcmp(w, words[i]))
			return 1;
	return startswith(w, "x-") || startswith(w, "comment=") || startswith(w, "X-");
}

int mountopts_parse(const char *options, unsigned long *flags, char *data, size_t size)
{
	*flags = 0;
	if (!size)
		return -EINVAL;
	data[0] = 0;
	int r = 0;
	char *copy = xstrdup(options ? options : ""), *save = NULL;
	for (char *w = strtok_r(copy, ",", &save); w && !r; w = strtok_r(NULL, ",", &save)) {
		int known = 0;
		for (size_t i = 0; i < ARRAY_SIZE(flagwords); i++)
			if (!strcmp(w, flagwords[i].name)) {
				*flags = (*flags | flagwords[i].set) & ~flagwords[i].clear;
				known = 1;
			}
		if (!known && !fstab_only(w))
			r = fstype_opts_add(data, size, w);
	}
	free(copy);
	return r;
}

int mountplan_entry_data(const struct record *r, unsigned long *flags, char *data, size_t size)
{
	int e = mountopts_parse(record_get(r, "options"), flags, data, size);
	/* The fstab's own subvol= wins; the record's is the same name, parsed from it. */
	const char *subvol = record_get(r, "subvol");
	if (e == 0 && subvol && *subvol && !strstr(data, "subvol="))
		e = fstype_opts_add_subvol(data, size, subvol);
	return e;
}

int inroot_mkdirs(int rootfd, const char *path)
{
	int fd = inroot_open(rootfd, path, O_PATH | O_DIRECTORY);
	if (fd != -ENOENT)
		return fd;
	/* Create the missing tail one component at a time. Every prefix is resolved from the root
	 * (so ".." and links behave as inside the system), and each directory is made in its
	 * resolved parent. A link to a missing place is not followed by mkdir: it fails. */
	size_t len = strlen(path);
	char *prefix = xmalloc(len + 2);
	size_t pl = 0;
	int ret = -ENOENT;
	for (size_t i = 0; i <= len;) {
		while (path[i] == '/')
			i++;
		size_t cl = strcspn(path + i, "/");
		if (!cl)
			break;
		char comp[NAME_MAX + 1];
		if (cl > NAME_MAX) {
			ret = -ENAMETOOLONG;
			break;
		}
		memcpy(comp, path + i, cl);
		comp[cl] = 0;
		i += cl;
		prefix[pl] = 0;
		int parent = inroot_open(rootfd, pl ? prefix : "/", O_PATH | O_DIRECTORY);
		prefix[pl++] = '/';
		memcpy(prefix + pl, comp, cl);
		pl += cl;
		prefix[pl] = 0;
		if (parent < 0) {
			ret = parent;
			break;
		}
		int here = inroot_open(rootfd, prefix, O_PATH | O_DIRECTORY);
		if (here == -ENOENT && strcmp(comp, ".") && strcmp(comp, "..")) {
			if (mkdirat(parent, comp, 0755) < 0 && errno != EEXIST)
				here = -errno;
			else
				here = inroot_open(rootfd, prefix, O_PATH | O_DIRECTORY);
		}
		close(parent);
		if (ret >= 0)
			close(ret);
		ret = here;
		if (here < 0)
			break;
	}
	free(prefix);
	return ret;
}

static void sayf(void (*say)(const char *), const char *fmt, ...) LB_PRINTF(2, 3);
static void sayf(void (*say)(const char *), const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (say)
		say(buf);
}

/* Mount onto target inside the root opened as rootfd: through /proc/self/fd, so the kernel
 * mounts on exactly the directory we resolved. */
static int mount_at(int rootfd, const char *target, const char *src, const char *type, unsigned long flags,
		    const char *data)
{
	int fd = inroot_mkdirs(rootfd, target);
	if (fd < 0)
		return fd;
	char at[64];
	snprintf(at, sizeof(at), "/proc/self/fd/%d", fd);
	int r = mount(src, at, type, flags, data && *data ? data : NULL);
	int e = errno;
	close(fd);
	return r < 0 ? -e : 0;
}

/* The scan starts md arrays read-only: the ones under a source mounted read-write become
 * writable first (docs/assemble.md). A failure is said; the mount then says what it means. */
static void make_one_writable(const char *src, void (*say)(const char *))
{
	char msg[400], d[64];
	int r = assemble_writable("/sys", src, 20000, msg, sizeof(msg));
	if (r > 0)
		sayf(say, "%s: %d read-only layer(s) made writable (md arrays, unlocked LUKS)", term_escape(src, d, sizeof(d), 40), r);
	else if (r < 0)
		sayf(say, "cannot make what %s is built on writable: %s", term_escape(src, d, sizeof(d), 40), msg);
}

/* A btrfs over several devices mounts read-write only when every member is writable (btrfs
 * over two LUKS devices or md arrays): all the members the scan's btrfs record lists with src. */
static void make_writable(const struct found *f, const char *src, void (*say)(const char *))
{
	make_one_writable(src, say);
	const struct record *b = found_btrfs_of(f, src);
	if (!b)
		return;
	char list[1024], *save = NULL;
	snprintf(list, sizeof(list), "%s", record_str(b, "members"));
	for (char *m = strtok_r(list, ",", &save); m; m = strtok_r(NULL, ",", &save))
		if (strcmp(m, src))
			make_one_writable(m, say);
}

/* Mount points deeper than this are said and skipped (no fstab needs them). */
#define MAX_DEPTH 64

/* A layer under src runs without all its parts (report/found.c decides what that is): said
 * once per device, with what it means; a filesystem that must be told (btrfs) gets its
 * option. Returns 0, or -EIO for an LV with a part missing (never mounted read-write: writes
 * into the missing part fail and the filesystem's own metadata would break). */
static int degraded_opts(const struct found *f, const char *src, const char *type, char *data,
			 size_t size, void (*say)(const char *))
{
	static char said[8][64];
	char why[300], d[64];
	int bits = f ? found_degraded(f, src, why, sizeof(why)) : 0;
	if (!bits)
		return 0;
	term_escape(src, d, sizeof(d), 40);
	if (bits & FOUND_DEG_LV) {
		sayf(say, "%s is not mounted read-write: %s", d, why);
		return -EIO;
	}
	const struct record *dev = found_device(f, src);
	const struct fstype *t = fstype_find(type && *type ? type : dev ? record_get(dev, "type") : NULL);
	if ((bits & FOUND_DEG_BTRFS) && t && t->degraded && !strstr(data, t->degraded) &&
	    fstype_opts_add(data, size, t->degraded) < 0)
		return -EINVAL;
	int known = 0;
	for (size_t i = 0; i < ARRAY_SIZE(said) && said[i][0] && !known; i++)
		known = !strcmp(said[i], src);
	if (known)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(said); i++)
		if (!said[i][0]) {
			snprintf(said[i], sizeof(said[i]), "%s", src);
			break;
		}
	char w[300];
	term_escape(why, w, sizeof(w), 200);
	sayf(say, "%s runs degraded: %s", d, w);
	if (bits & FOUND_DEG_BTRFS)
		sayf(say, "  mounted with `degraded`: new writes go to the remaining device only, without "
			  "a second copy. Afterwards restore redundancy: `btrfs replace start DEVID NEWDISK /` "
			  "onto a new disk (DEVID: `btrfs filesystem show /`), or with the old disk back "
			  "`btrfs balance start -dconvert=raid1,soft -mconvert=raid1,soft /` and `btrfs scrub start /`.");
	if (bits & FOUND_DEG_MD)
		sayf(say, "  writes go to the remaining member(s); the missing one is out of date afterwards: "
			  "`mdadm /dev/mdN --add DISK` (a new disk, or the old one back) resyncs it.");
	if (bits & FOUND_DEG_VG)
		sayf(say, "  LVM metadata is left as it is (no vgreduce): the LVs on the present PVs are used, "
			  "those on the missing one are not there; `vgreduce --removemissing` only when that "
			  "disk is gone for good.");
	return 0;
}

static int depth(const char *p)
{
	int d = 0;
	for (; *p; p++)
		d += *p == '/' && p[1] && p[1] != '/';
	return d;
}

static int mount_entry(const struct found *f, int rootfd, const struct record *r, void (*say)(const char *))
{
	const char *target = record_get(r, "target"), *type = record_get(r, "type");
	const char *status = record_get(r, "status"), *source = record_get(r, "source");
	const char *spec = record_get(r, "spec");
	char data[1024], t[80];
	unsigned long flags;
	term_escape(target ? target : "", t, sizeof(t), 60);
	if (!target || target[0] != '/' || !strcmp(target, "/"))
		return 0;
	if (!strcmp(status, "ok") || !strcmp(status, "tmpfs")) {
		int e = mountplan_entry_data(r, &flags, data, sizeof(data));
		if (e < 0) {
			/* A cut option list would mount something else (another subvolume). */
			sayf(say, "cannot mount %s: its options are too long or name an unsafe subvolume", t);
			return e;
		}
		if (strcmp(status, "tmpfs")) {
			e = degraded_opts(f, source, type, data, sizeof(data), say);
			if (e == -EIO && (flags & MS_RDONLY))
				e = 0; /* read-only, what is left of it can be read */
			if (e < 0) {
				sayf(say, "not mounted: %s", t);
				return e;
			}
		}
		if (strcmp(status, "tmpfs") && !(flags & MS_RDONLY))
			make_writable(f, source, say);
		e = mount_at(rootfd, target, !strcmp(status, "tmpfs") ? "tmpfs" : source, type, flags, data);
		if (e < 0) {
			sayf(say, "cannot mount %s: %s", t, strerror(-e));
			return e;
		}
		return 1;
	}
	if (!strcmp(status, "bind")) {
		int src = inroot_open(rootfd, spec, O_PATH);
		if (src < 0) {
			sayf(say, "cannot bind %s: its source: %s", t, strerror(-src));
			return src;
		}
		char from[64];
		snprintf(from, sizeof(from), "/proc/self/fd/%d", src);
		int e = mount_at(rootfd, target, from, NULL, MS_BIND, NULL);
		close(src);
		if (e < 0) {
			sayf(say, "cannot bind %s: %s", t, strerror(-e));
			return e;
		}
		return 1;
	}
	/* An LV the scan did not activate: its data is (partly) on a missing PV. */
	const struct record *lv = f ? found_lv(f, spec) : NULL;
	if (lv && strcmp(record_str(lv, "state"), "complete") && strcmp(status, "swap-ignored")) {
		char n[80], vg[80];
		sayf(say, "not mounted: %s: LV %s is on a missing PV of volume group %s (not activated)", t,
		     term_escape(spec, n, sizeof(n), 60), term_escape(record_str(lv, "vg"), vg, sizeof(vg), 60));
		return 0;
	}
	if (strcmp(status, "swap-ignored") && strcmp(status, "nofail-missing"))
		sayf(say, "not mounted: %s (%s)", t, status);
	return 0;
}

int mountplan_mount(const struct found *f, const struct found_sys *s, int number, const char *dir,
		    void (*say)(const char *line))
{
	/* As many as the plan has: a fstab of 200 lines is odd, not a reason to mount part of it. */
	int n = found_mounts(f, s->id, number, NULL, 0);
	if (n == 0)
		number = s->current, n = found_mounts(f, s->id, number, NULL, 0);
	const struct record **recs = xcalloc((size_t)n + 1, sizeof(*recs));
	n = found_mounts(f, s->id, number, recs, n);
	/* The root: its fstab line when usable, else what the scan found the system on. */
	const struct record *root = NULL;
	for (int i = 0; i < n; i++)
		if (!strcmp(record_str(recs[i], "target"), "/"))
			root = recs[i];
	char data[1024];
	unsigned long flags = 0;
	const char *src, *type;
	int bad = 0;
	data[0] = 0;
	if (root && !strcmp(record_get(root, "status"), "tmpfs")) {
		src = "tmpfs", type = "tmpfs";
		bad = mountopts_parse(record_get(root, "options"), &flags, data, sizeof(data));
	} else if (root && !strcmp(record_get(root, "status"), "ok")) {
		src = record_get(root, "source"), type = record_get(root, "type");
		bad = mountplan_entry_data(root, &flags, data, sizeof(data));
	} else if (*s->root) {
		src = s->root, type = record_get(s->rec, "roottype");
		const char *sv = record_get(s->rec, "rootsubvol");
		if (sv && *sv)
			bad = fstype_opts_add_subvol(data, sizeof(data), sv);
		sayf(say, "the fstab's root is not usable; mounting %s as /", s->root);
	} else if (!strcmp(record_str(s->rec, "layout"), "tmpfs")) {
		/* Only /nix persists: a fresh tmpfs is what this system boots with, too. */
		src = "tmpfs", type = "tmpfs";
		snprintf(data, sizeof(data), "mode=755");
	} else {
		/* Entering an empty tmpfs would look like success and hide the user's files. */
		char d[64];
		sayf(say, "cannot enter: the root filesystem was not found (fstab: %s, %s); mount it "
			  "yourself and use `lifeboat enter --root DIR`",
		     term_escape(root ? record_str(root, "spec") : "no / line", d, sizeof(d), 40),
		     root ? record_str(root, "status") : "missing");
		free(recs);
		return -ENODEV;
	}
	if (bad < 0) {
		char d[64];
		sayf(say, "cannot mount %s on /: its options are too long or name an unsafe subvolume",
		     term_escape(src, d, sizeof(d), 40));
		free(recs);
		return bad;
	}
	flags &= ~(unsigned long)MS_RDONLY; /* entering is for repairs: / is always writable */
	if (strcmp(src, "tmpfs") && (bad = degraded_opts(f, src, type, data, sizeof(data), say)) < 0) {
		char d[64];
		sayf(say, "cannot enter: / (%s) is not whole; copy what is left off it read-only from the "
			  "shell instead", term_escape(src, d, sizeof(d), 40));
		return bad;
	}
	make_writable(f, src, say);
	if (mount(src, dir, type && *type ? type : NULL, flags, *data ? data : NULL) < 0) {
		int e = errno;
		char d[64];
		sayf(say, "cannot mount %s on /: %s", term_escape(src, d, sizeof(d), 40), strerror(e));
		free(recs);
		return -e;
	}
	int rootfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		free(recs);
		return -errno;
	}
	/* Parents before children: sort by depth, keeping fstab order otherwise. */
	int made = 1, have_nix = 0;
	for (int i = 0; i < n; i++) {
		const char *t = record_get(recs[i], "target");
		char tt[80];
		if (t && depth(t) >= MAX_DEPTH)
			sayf(say, "not mounted: %s (more than %d levels deep)", term_escape(t, tt, sizeof(tt), 60),
			     MAX_DEPTH - 1);
	}
	for (int d = 1; d < MAX_DEPTH; d++)
		for (int i = 0; i < n; i++) {
			const char *t = record_get(recs[i], "target");
			if (!t || depth(t) != d)
				continue;
			int r = mount_entry(f, rootfd, recs[i], say);
			if (r > 0) {
				made++;
				have_nix |= !strcmp(t, "/nix");
			}
		}
	/* A /nix on its own filesystem that the fstab did not name usably: the scan knows where. */
	const char *nixprefix = record_get(s->rec, "nixprefix");
	if (!have_nix && *s->nix && strcmp(s->nix, s->root) && nixprefix && !strcmp(nixprefix, "/")) {
		char nd[256] = "";
		const char *sv = record_get(s->rec, "nixsubvol");
		int bad_nd = sv && *sv ? fstype_opts_add_subvol(nd, sizeof(nd), sv) : 0;
		const struct record *nixdev = found_device(f, s->nix);
		if (!bad_nd)
			bad_nd = degraded_opts(f, s->nix, nixdev ? record_get(nixdev, "type") : NULL, nd,
					       sizeof(nd), say);
		int e = bad_nd ? bad_nd : mount_at(rootfd, "/nix", s->nix, NULL, 0, nd);
		if (!bad_nd && (e == -EINVAL || e == -ENODEV)) {
			const struct record *dev = found_device(f, s->nix);
			e = mount_at(rootfd, "/nix", s->nix, dev ? record_get(dev, "type") : NULL, 0, nd);
		}
		if (e < 0)
			sayf(say, "cannot mount /nix from %s: %s", s->nix, strerror(-e));
		else
			made++;
	}
	close(rootfd);
	free(recs);
	return made;
}

static void unoctal(char *s)
{
	char *w = s;
	for (char *p = s; *p; p++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' && p[3] <= '7') {
			*w++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
			p += 3;
		} else {
			*w++ = *p;
		}
	}
	*w = 0;
}

int mountplan_unmount_all(const char *dir, void (*say)(const char *line))
{
	char *text = NULL;
	if (read_file_at(AT_FDCWD, "/proc/self/mountinfo", 1 << 22, &text) < 0)
		return 1;
	char **points = NULL;
	int n = 0;
	size_t dl = strlen(dir);
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char mp[PATH_MAX];
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
			continue;
		unoctal(mp);
		if (strncmp(mp, dir, dl) || (mp[dl] && mp[dl] != '/'))
			continue;
		points = xrealloc(points, sizeof(*points) * (size_t)(n + 1));
		points[n++] = xstrdup(mp);
	}
	free(text);
	int left = 0;
	/* mountinfo lists parents before children: the reverse is a safe unmount order. */
	for (int i = n - 1; i >= 0; i--) {
		if (umount2(points[i], UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != ENOENT) {
			int e = errno;
			if (umount2(points[i], MNT_DETACH | UMOUNT_NOFOLLOW) < 0) {
				left++;
				sayf(say, "cannot unmount %s: %s", points[i], strerror(e));
			}
		}
		free(points[i]);
	}
	free(points);
	return left;
}
