#include "discover/inspect.h"

#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <endian.h>
#include <fcntl.h>
#include <linux/btrfs.h>
#include <linux/btrfs_tree.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "discover/cryptnames.h"
#include "discover/nixos.h"
#include "discover/plan.h"
#include "report/record.h"
#include "lib/fstype.h"
#include "lib/inroot.h"
#include "lib/fsstate.h"
#include "lib/util.h"

/* The view's bind mount: as read-only as the filesystem under it (lib/fstype mounts that). */
#define MOUNT_FLAGS (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
/* Subvolume walk bounds: nested subvolumes are rarely deep; snapshots can be many. */
#define SUBVOL_DEPTH 3
#define SUBVOL_MAX 64

static void inspect_problem(FILE *out, const char *dev, const char *what, const char *fmt, ...)
	LB_PRINTF(4, 5);
static void inspect_problem(FILE *out, const char *dev, const char *what, const char *fmt, ...)
{
	char msg[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	report_put(out, "problem", "path", dev, "what", what, "msg", msg, NULL);
}

/* A separate /nix is read through a view: an empty directory with the filesystem bound on its
 * nix/, so that the store's absolute links (/nix/store/...) land on that filesystem and
 * anything else on nothing. */
static int make_view(int fsfd, const char *viewdir)
{
	char *nix = xasprintf("%s/nix", viewdir);
	int r = mkdir_p(nix, 0700);
	if (r == 0) {
		char src[64];
		snprintf(src, sizeof(src), "/proc/self/fd/%d", fsfd);
		if (mount(src, nix, NULL, MS_BIND, NULL) < 0 ||
		    mount(NULL, nix, NULL, MS_REMOUNT | MS_BIND | MOUNT_FLAGS, NULL) < 0)
			r = -errno;
	}
	free(nix);
	if (r < 0)
		return r;
	int vfd = open(viewdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return vfd < 0 ? -errno : vfd;
}

/* What tells one system from another on this filesystem: the profile folder it reads, as
 * "st_dev:st_ino" (btrfs gives each subvolume its own st_dev, also through the view's bind
 * mount), so that two trees seeing one profile are known as one system (discover/dedup.c). */
static void profiles_identity(int rootfd, char *buf, size_t size)
{
	buf[0] = 0;
	int fd = inroot_open(rootfd, PROFILES_DIR, O_PATH | O_DIRECTORY);
	struct stat st;
	if (fd >= 0 && fstat(fd, &st) == 0)
		snprintf(buf, size, "%llu:%llu", (unsigned long long)st.st_dev,
			 (unsigned long long)st.st_ino);
	if (fd >= 0)
		close(fd);
}

/* Where there is LUKS, the names the system's current generation's initrd gives its mappings
 * (discover/cryptnames.c): read here, in-root, once its root is unlocked; a second encrypted
 * device named only there (its /home) gets its name then. The scan resolves the devices. */
#define INROOT_INITRD_MS 5000
static void initrd_names(FILE *out, int rootfd, const struct blockdev *dev, const struct devtab *devs)
{
	int luks = 0;
	for (int i = 0; devs && i < devs->n; i++)
		luks |= !strcmp(devs->d[i].type, "crypto_LUKS");
	if (!luks)
		return;
	int fd = inroot_open(rootfd, PROFILES_DIR "/system/initrd", O_RDONLY | O_NOCTTY);
	struct stat st;
	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		char from[160];
		snprintf(from, sizeof(from), "%s:" PROFILES_DIR "/system/initrd", dev->path);
		cryptnames_from_initrd(out, fd, from, INROOT_INITRD_MS);
	}
	if (fd >= 0)
		close(fd);
}

/* One candidate system: its generations and mount plan, then its "found" record. */
static void candidate_put(FILE *out, int rootfd, const char *layout, const char *subvol,
			  const char *prefix, const struct blockdev *dev, const struct devtab *devs,
			  int *cand)
{
	char id[16];
	snprintf(id, sizeof(id), "c%d", (*cand)++);
	struct nixos_found f;
	int r = nixos_scan(out, rootfd, id, dev->path, &f);
	if (r < 0) {
		inspect_problem(out, dev->path, "profile", "cannot read the profiles: %s", strerror(-r));
		return;
	}
	initrd_names(out, rootfd, dev, devs);
	struct plan_summary s = {0};
	if (f.have_fstab)
		plan_emit(out, id, f.plan_number, &f.fstab, devs, dev->disk, &s);
	char cur[24], gens[24], profiles[48];
	snprintf(cur, sizeof(cur), "%ld", f.current);
	snprintf(gens, sizeof(gens), "%d", f.generations);
	profiles_identity(rootfd, profiles, sizeof(profiles));
	report_put(out, "found", "cand", id, "where", layout, "dev", dev->path, "subvol", subvol,
		   "nixprefix", prefix, "host", f.host, "version", f.version, "current",
		   f.current >= 0 ? cur : NULL, "generations", gens, "profiles", profiles, "planroot",
		   s.root ? s.root->path : NULL, "planrootlisted", s.root_listed ? "1" : "0",
		   "planroottmpfs", s.root_tmpfs ? "1" : "0", "planrootsubvol", s.rootsubvol,
		   "plannix", s.nix ? s.nix->path : NULL, "plannixsubvol", s.nixsubvol,
		   "planboot", s.boot ? s.boot->path : NULL, NULL);
	nixos_found_free(&f);
}

int inspect_tree(FILE *out, int fsfd, const char *subvol, const struct blockdev *dev,
		 const struct devtab *devs, const char *viewdir, int *cand)
{
	if (nixos_present(fsfd)) {
		candidate_put(out, fsfd, "top", subvol, "/nix", dev, devs, cand);
		return 1;
	}
	if (!nixos_nixfs_present(fsfd))
		return 0;
	int vfd = viewdir ? make_view(fsfd, viewdir) : dup(fsfd);
	if (vfd < 0) {
		inspect_problem(out, dev->path, "mount", "cannot make a view of the /nix filesystem: %s",
			strerror(-vfd));
		return 0;
	}
	candidate_put(out, vfd, "nixfs", subvol, "/", dev, devs, cand);
	close(vfd);
	return 1;
}

struct subvols {
	char *path[SUBVOL_MAX];
	int n;
};

/* Subvolume roots have inode 256 on btrfs; walk a few levels from the top-level subvolume to
 * find them whatever their names, without entering a store. */
static void find_subvols(int dfd, const char *prefix, int depth, struct subvols *sv)
{
	if (depth > SUBVOL_DEPTH || sv->n >= SUBVOL_MAX)
		return;
	DIR *d = fdopendir(dup(dfd));
	if (!d)
		return;
	struct dirent *de;
	int seen = 0;
	while ((de = readdir(d)) && sv->n < SUBVOL_MAX && seen++ < 4096) {
		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (!strcmp(de->d_name, "store") || !strcmp(de->d_name, "proc") || !strcmp(de->d_name, "sys"))
			continue;
		int fd = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		struct stat st;
		char *path = *prefix ? xasprintf("%s/%s", prefix, de->d_name) : xstrdup(de->d_name);
		if (fstat(fd, &st) == 0 && st.st_ino == BTRFS_FIRST_FREE_OBJECTID)
			sv->path[sv->n++] = xstrdup(path);
		find_subvols(fd, path, depth + 1, sv);
		free(path);
		close(fd);
	}
	closedir(d);
}

struct subvol_ref {
	unsigned long long id, parent;
	char *rel; /* path inside the parent subvolume */
};

static char *subvol_path(struct subvol_ref *r, int n, unsigned long long id, int depth)
{
	if (id == BTRFS_FS_TREE_OBJECTID)
		return xstrdup("");
	if (depth > 16)
		return NULL;
	for (int i = 0; i < n; i++) {
		if (r[i].id != id)
			continue;
		char *up = subvol_path(r, n, r[i].parent, depth + 1);
		if (!up)
			return NULL;
		char *p = *up ? xasprintf("%s/%s", up, r[i].rel) : xstrdup(r[i].rel);
		free(up);
		return p;
	}
	return NULL;
}

/* Every subvolume, whatever its name and depth, from the root tree's back references
 * (BTRFS_IOC_TREE_SEARCH), with the folder each sits in (BTRFS_IOC_INO_LOOKUP). */
static int list_subvols(int fsfd, struct subvols *sv)
{
	struct btrfs_ioctl_search_args args;
	struct btrfs_ioctl_search_key *sk = &args.key;
	memset(&args, 0, sizeof(args));
	sk->tree_id = BTRFS_ROOT_TREE_OBJECTID;
	sk->min_objectid = BTRFS_FIRST_FREE_OBJECTID;
	sk->max_objectid = BTRFS_LAST_FREE_OBJECTID;
	sk->min_type = sk->max_type = BTRFS_ROOT_BACKREF_KEY;
	sk->max_offset = (__u64)-1;
	sk->max_transid = (__u64)-1;
	struct subvol_ref *refs = NULL;
	int n = 0, err = 0;
	while (n < 4 * SUBVOL_MAX) {
		sk->nr_items = 512;
		if (ioctl(fsfd, BTRFS_IOC_TREE_SEARCH, &args) < 0) {
			err = -errno;
			break;
		}
		if (!sk->nr_items)
			break;
		size_t off = 0;
		struct btrfs_ioctl_search_header sh;
		for (unsigned i = 0; i < sk->nr_items; i++) {
			if (off + sizeof(sh) > sizeof(args.buf))
				break;
			memcpy(&sh, args.buf + off, sizeof(sh));
			off += sizeof(sh);
			if (off + sh.len > sizeof(args.buf))
				break;
			if (sh.type == BTRFS_ROOT_BACKREF_KEY && sh.len >= sizeof(struct btrfs_root_ref)) {
				struct btrfs_root_ref ref;
				memcpy(&ref, args.buf + off, sizeof(ref));
				size_t nl = le16toh(ref.name_len);
				if (nl && sizeof(ref) + nl <= sh.len) {
					struct btrfs_ioctl_ino_lookup_args il = {.treeid = sh.offset,
										 .objectid = le64toh(ref.dirid)};
					if (ioctl(fsfd, BTRFS_IOC_INO_LOOKUP, &il) == 0) {
						il.name[sizeof(il.name) - 1] = 0;
						refs = xrealloc(refs, sizeof(*refs) * (size_t)(n + 1));
						refs[n].id = sh.objectid;
						refs[n].parent = sh.offset;
						refs[n].rel = xasprintf("%s%.*s", il.name, (int)nl,
									args.buf + off + sizeof(ref));
						n++;
					}
				}
			}
			off += sh.len;
			sk->min_objectid = sh.objectid;
			sk->min_type = sh.type;
			sk->min_offset = sh.offset;
		}
		if (sk->min_offset < (__u64)-1) {
			sk->min_offset++;
		} else if (sk->min_objectid < sk->max_objectid) {
			sk->min_objectid++;
			sk->min_offset = 0;
		} else {
			break;
		}
	}
	for (int i = 0; i < n; i++) {
		char *p = sv->n < SUBVOL_MAX ? subvol_path(refs, n, refs[i].id, 0) : NULL;
		if (p)
			sv->path[sv->n++] = p;
	}
	for (int i = 0; i < n; i++)
		free(refs[i].rel);
	free(refs);
	return err;
}

/* An f2fs's state from the kernel, which mounted it at mnt read-only with norecovery: the last
 * checkpoint's flags in sysfs, and whether the mount found fsynced data to roll forward (it
 * says so in its log, which kmsg, opened at the log's end before the mount, reads; -1: not
 * known). A bad answer gives -errno, and the state stays unknown. */
static int f2fs_state(const char *mnt, int kmsg)
{
	struct stat st;
	if (stat(mnt, &st) < 0)
		return -errno;
	char link[64], target[256];
	snprintf(link, sizeof(link), "/sys/dev/block/%u:%u", major(st.st_dev), minor(st.st_dev));
	ssize_t n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = 0;
	const char *name = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
	char *p = xasprintf("/sys/fs/f2fs/%s/stat/cp_status", name), *txt = NULL, *end = NULL;
	ssize_t r = read_file_at(AT_FDCWD, p, 64, &txt);
	free(p);
	unsigned long flags = r > 0 ? strtoul(txt, &end, 16) : 0;
	int ok = r > 0 && end != txt && (*end == '\n' || !*end);
	free(txt);
	if (!ok)
		return r < 0 ? (int)r : -EINVAL;
	char want[96], rec[1024];
	int wl = snprintf(want, sizeof(want), "F2FS-fs (%s): drop all fsynced data", name), fsynced = 0;
	for (ssize_t m; kmsg >= 0 && ((m = read(kmsg, rec, sizeof(rec) - 1)) >= 0 || errno == EPIPE);) {
		if (m < 0)
			continue; /* records overwritten under us: the next one follows */
		rec[m] = 0;
		const char *msg = strchr(rec, ';'); /* "6,1234,5678,-;text" */
		fsynced |= msg && !strncmp(msg + 1, want, (size_t)wl);
	}
	return fs_f2fs_state_of((unsigned)flags, fsynced);
}

/* What the filesystem says about itself (clean, needs journal recovery...), and its space when
 * mounted: the menu shows it per filesystem, and a full ESP is why `nixos-rebuild boot` fails.
 * kmsg: see f2fs_state. */
static void fsstate_put(FILE *out, const struct blockdev *dev, const char *mnt, int kmsg)
{
	int st = mnt && !strcmp(dev->type, "f2fs") ? f2fs_state(mnt, kmsg) : fs_state(dev->path, dev->type);
	struct statvfs v;
	char size[24] = "", avail[24] = "";
	if (mnt && statvfs(mnt, &v) == 0) {
		snprintf(size, sizeof(size), "%llu", (unsigned long long)v.f_blocks * v.f_frsize);
		snprintf(avail, sizeof(avail), "%llu", (unsigned long long)v.f_bavail * v.f_frsize);
	}
	report_put(out, "fsstate", "path", dev->path, "type", dev->type, "state",
		   st >= 0 ? fs_state_code(st) : NULL, "mounted", mnt ? "1" : "0", "size", size,
		   "free", avail, NULL);
}

int inspect_child(FILE *out, void *arg)
{
	struct inspect_args *a = arg;
	const struct blockdev *dev = a->dev;
	/* Our own mount namespace: whatever happens, the mounts die with this process. */
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		inspect_problem(out, dev->path, "mount", "cannot make a private mount namespace: %s",
			strerror(errno));
		return 0;
	}
	char *base = xasprintf("%s/%s", a->dir, dev->name);
	char *mnt = xasprintf("%s/fs", base);
	int r = mkdir_p(mnt, 0700);
	if (r < 0) {
		inspect_problem(out, dev->path, "mount", "cannot create %s: %s", mnt, strerror(-r));
		return 0;
	}
	/* The kernel says at the mount whether an f2fs has fsynced data it did not roll forward. */
	int kmsg = -1;
	if (!strcmp(dev->type, "f2fs") && (kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC)) >= 0)
		lseek(kmsg, 0, SEEK_END);
	/* The whole filesystem (btrfs: the top-level subvolume), never replaying a journal. */
	r = fstype_mount_ro(dev->path, dev->type, NULL, mnt, 0);
	if (r < 0) {
		const struct fstype *ft = fstype_find(dev->type);
		char opts[256] = "";
		if (ft)
			fstype_ro_options(ft, 0, NULL, opts, sizeof(opts));
		inspect_problem(out, dev->path, "mount", "read-only mount (%s) failed: %s",
			*opts ? opts : "ro", strerror(-r));
		fsstate_put(out, dev, NULL, -1);
		if (kmsg >= 0)
			close(kmsg);
		return 0;
	}
	fsstate_put(out, dev, mnt, kmsg);
	if (kmsg >= 0)
		close(kmsg);
	int fsfd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int cand = a->cand;
	if (fsfd >= 0) {
		char *view = xasprintf("%s/view", base);
		inspect_tree(out, fsfd, NULL, dev, a->devs, view, &cand);
		free(view);
		if (!strcmp(dev->type, "btrfs")) {
			struct subvols sv = {0};
			/* The walk stands in where the ioctl is refused (an older kernel, a seccomp). */
			if (list_subvols(fsfd, &sv) < 0)
				find_subvols(fsfd, "", 1, &sv);
			for (int i = 0; i < sv.n; i++) {
				/* Names come from the disk: a ',' would add mount options later. */
				int ok = fstype_subvol_ok(sv.path[i]);
				if (!ok)
					inspect_problem(out, dev->path, "subvolume",
						"subvolume '%s' cannot be named in mount options (it holds ',' "
						"or '\"'): not inspected", sv.path[i]);
				int sfd = ok ? inroot_open(fsfd, sv.path[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
					     : -EINVAL;
				if (sfd >= 0) {
					char *sview = xasprintf("%s/view%d", base, i);
					inspect_tree(out, sfd, sv.path[i], dev, a->devs, sview, &cand);
					free(sview);
					close(sfd);
				}
				free(sv.path[i]);
			}
			if (sv.n >= SUBVOL_MAX)
				inspect_problem(out, dev->path, "subvolumes",
					"more than %d subvolumes: only the first were inspected", SUBVOL_MAX);
		}
		close(fsfd);
	}
	fflush(out);
	umount2(mnt, MNT_DETACH);
	free(mnt);
	free(base);
	return 0;
}
