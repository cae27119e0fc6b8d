#include "discover/blockdev.h"

#include <blkid/blkid.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lib/util.h"

static int skip_name(const char *n)
{
	if (startswith(n, "ram") || startswith(n, "zram") || strstr(n, "rpmb"))
		return 1;
	/* mmcblk0boot0/1: eMMC boot partitions hold firmware, never a filesystem of ours. */
	if (startswith(n, "mmcblk") && strstr(n, "boot"))
		return 1;
	return 0;
}

static int cmp_dev(const void *a, const void *b)
{
	return strverscmp(((const struct blockdev *)a)->name, ((const struct blockdev *)b)->name);
}

/* The whole disk of a partition: the parent folder of its sysfs device folder. */
static void find_disk(int cfd, const char *name, char *disk, size_t size)
{
	char target[512];
	ssize_t n = readlinkat(cfd, name, target, sizeof(target) - 1);
	if (n > 0) {
		target[n] = 0;
		char *slash = strrchr(target, '/');
		if (slash) {
			*slash = 0;
			char *parent = strrchr(target, '/');
			snprintf(disk, size, "/dev/%.60s", parent ? parent + 1 : target);
			return;
		}
	}
	/* No link (a fake tree): strip the partition number (and the 'p' of nvme0n1p1). */
	char base[64];
	snprintf(base, sizeof(base), "%.60s", name);
	size_t l = strlen(base);
	while (l && isdigit((unsigned char)base[l - 1]))
		l--;
	if (l > 1 && base[l - 1] == 'p' && isdigit((unsigned char)base[l - 2]))
		l--;
	base[l] = 0;
	snprintf(disk, size, "/dev/%.60s", base);
}

int blockdev_list(const char *sysroot, struct devtab *t)
{
	memset(t, 0, sizeof(*t));
	char *dir = xasprintf("%s/class/block", sysroot);
	int cfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (cfd < 0)
		return -errno;
	DIR *d = fdopendir(dup(cfd));
	if (!d) {
		int e = errno;
		close(cfd);
		return -e;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *n = de->d_name;
		if (n[0] == '.' || skip_name(n) || strlen(n) >= 64)
			continue;
		char *p, *buf = NULL;
		if (startswith(n, "loop")) {
			p = xasprintf("%s/loop/backing_file", n);
			ssize_t r = read_file_at(cfd, p, 4096, &buf);
			free(p);
			free(buf);
			buf = NULL;
			if (r <= 0)
				continue;
		}
		p = xasprintf("%s/size", n);
		ssize_t r = read_file_at(cfd, p, 64, &buf);
		free(p);
		unsigned long long sectors = r > 0 ? strtoull(buf, NULL, 10) : 0;
		free(buf);
		if (!sectors)
			continue;
		struct blockdev b = {0};
		snprintf(b.name, sizeof(b.name), "%.60s", n);
		snprintf(b.path, sizeof(b.path), "/dev/%.60s", n);
		b.size = sectors * 512;
		/* The partition file holds its number (1 in a fake tree that has no number). */
		p = xasprintf("%s/partition", n);
		r = read_file_at(cfd, p, 32, &buf);
		free(p);
		if (r >= 0) {
			int num = atoi(buf);
			b.partition = num > 0 ? num : 1;
			free(buf);
		}
		buf = NULL;
		p = xasprintf("%s/dev", n);
		if (read_file_at(cfd, p, 32, &buf) > 0 && sscanf(buf, "%u:%u", &b.major, &b.minor) != 2)
			b.major = b.minor = 0;
		free(p);
		free(buf);
		buf = NULL;
		p = xasprintf("%s/dm/name", n);
		if (read_file_at(cfd, p, sizeof(b.dmname), &buf) > 0)
			snprintf(b.dmname, sizeof(b.dmname), "%s", rstrip(buf));
		free(p);
		/* A device-mapper device by the name people and fstabs use (/dev/mapper/cryptroot,
		 * /dev/mapper/vg-root) when that node is this device; dm-N otherwise. */
		struct stat st;
		char *mp = b.dmname[0] && !strcmp(sysroot, "/sys") ? xasprintf("/dev/mapper/%s", b.dmname) : NULL;
		if (mp && strlen(mp) < sizeof(b.path) && stat(mp, &st) == 0 && S_ISBLK(st.st_mode) &&
		    major(st.st_rdev) == b.major && minor(st.st_rdev) == b.minor)
			snprintf(b.path, sizeof(b.path), "%s", mp);
		free(mp);
		free(buf);
		buf = NULL;
		if (b.partition)
			find_disk(cfd, n, b.disk, sizeof(b.disk));
		else
			snprintf(b.disk, sizeof(b.disk), "%s", b.path);
		t->d = xrealloc(t->d, sizeof(*t->d) * (size_t)(t->n + 1));
		t->d[t->n++] = b;
	}
	closedir(d);
	close(cfd);
	if (t->n)
		qsort(t->d, (size_t)t->n, sizeof(*t->d), cmp_dev);
	return t->n;
}

static void value(blkid_probe pr, const char *name, char *out, size_t size)
{
	const char *v = NULL;
	if (blkid_probe_lookup_value(pr, name, &v, NULL) == 0 && v)
		snprintf(out, size, "%s", v);
}

/* One probe of a device. partitions: also read a partition table (whole disks) and, for a
 * partition, its entry in the parent's table (PARTUUID, PARTLABEL). */
static void probe(struct blockdev *d, int partitions)
{
	blkid_probe pr = blkid_new_probe_from_filename(d->path);
	if (!pr) {
		d->probe_err = errno ? -errno : -EIO;
		return;
	}
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_LABEL | BLKID_SUBLKS_UUID | BLKID_SUBLKS_TYPE);
	blkid_probe_enable_partitions(pr, partitions);
	if (partitions)
		blkid_probe_set_partitions_flags(pr, BLKID_PARTS_ENTRY_DETAILS);
	int r = blkid_do_safeprobe(pr);
	if (r == -2) {
		d->ambiguous = 1;
	} else if (r < 0) {
		d->probe_err = -EIO;
	} else if (r == 0) {
		value(pr, "TYPE", d->type, sizeof(d->type));
		value(pr, "UUID", d->uuid, sizeof(d->uuid));
		value(pr, "LABEL", d->label, sizeof(d->label));
		value(pr, "PART_ENTRY_UUID", d->partuuid, sizeof(d->partuuid));
		value(pr, "PART_ENTRY_NAME", d->partlabel, sizeof(d->partlabel));
	}
	blkid_free_probe(pr);
}

void blockdev_probe(struct blockdev *d)
{
	probe(d, 1);
}

/* A disk's partition table, read once for all its partitions. */
struct ptable {
	blkid_probe pr;
	blkid_partlist ls;
};

static int ptable_open(struct ptable *pt, const char *disk)
{
	pt->ls = NULL;
	pt->pr = blkid_new_probe_from_filename(disk);
	if (pt->pr)
		pt->ls = blkid_probe_get_partitions(pt->pr);
	return pt->ls ? 0 : -1;
}

static void ptable_close(struct ptable *pt)
{
	if (pt->pr)
		blkid_free_probe(pt->pr);
	pt->pr = NULL;
	pt->ls = NULL;
}

void blockdev_probe_all(struct devtab *t)
{
	blockdev_probe_each(t, NULL, NULL);
}

void blockdev_probe_each(struct devtab *t, void (*each)(struct blockdev *d, void *arg), void *arg)
{
	/* libblkid, asked for a partition's table entry, opens and parses its disk's whole table
	 * each time: with 64 partitions that was most of the scan. The table is read once per
	 * disk here instead, and each partition's own probe looks only for a filesystem. A
	 * partition the table does not list (a nested BSD label, say) gets the full probe. */
	struct ptable pt = {0};
	char cur[sizeof(t->d[0].disk)] = "";
	int have = 0;
	for (int i = 0; i < t->n; i++) {
		struct blockdev *d = &t->d[i];
		if (!d->partition) {
			probe(d, 1);
			if (each)
				each(d, arg);
			continue;
		}
		if (strcmp(cur, d->disk)) {
			ptable_close(&pt);
			snprintf(cur, sizeof(cur), "%s", d->disk);
			have = ptable_open(&pt, d->disk) == 0;
		}
		blkid_partition par = have ? blkid_partlist_get_partition_by_partno(pt.ls, d->partition) : NULL;
		if (!par) {
			probe(d, 1);
		} else {
			probe(d, 0);
			const char *u = blkid_partition_get_uuid(par), *nm = blkid_partition_get_name(par);
			snprintf(d->partuuid, sizeof(d->partuuid), "%s", u ? u : "");
			snprintf(d->partlabel, sizeof(d->partlabel), "%s", nm ? nm : "");
		}
		if (each)
			each(d, arg);
	}
	ptable_close(&pt);
}

void devtab_free(struct devtab *t)
{
	free(t->d);
	t->d = NULL;
	t->n = 0;
}

char *udev_decode(char *s)
{
	char *w = s;
	for (char *p = s; *p; p++) {
		if (p[0] == '\\' && p[1] == 'x' && isxdigit((unsigned char)p[2]) &&
		    isxdigit((unsigned char)p[3])) {
			char hex[3] = {p[2], p[3], 0};
			int c = (int)strtol(hex, NULL, 16);
			if (c) {
				*w++ = (char)c;
				p += 3;
				continue;
			}
		}
		*w++ = *p;
	}
	*w = 0;
	return s;
}

static size_t utf8_seq(const unsigned char *s)
{
	unsigned c = s[0];
	size_t l = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
	for (size_t i = 1; i < l; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return l;
}

void udev_encode(const char *s, char *out, size_t size)
{
	size_t w = 0;
	const unsigned char *p = (const unsigned char *)s;
	while (*p && w + 5 < size) {
		size_t l = *p >= 0x80 ? utf8_seq(p) : 0;
		if (l && w + l < size) {
			memcpy(out + w, p, l);
			w += l;
			p += l;
			continue;
		}
		if (isalnum(*p) && *p < 0x80)
			out[w++] = (char)*p;
		else if (strchr("#+-.:=@_", *p))
			out[w++] = (char)*p;
		else
			w += (size_t)snprintf(out + w, size - w, "\\x%02x", *p);
		p++;
	}
	out[w] = 0;
}

/* Compare a name from a link or fstab (escaped) with a probed value. UUIDs compare without case,
 * as udev and mount do. */
static int name_eq(const char *want, const char *have, int nocase)
{
	if (!*have)
		return 0;
	return nocase ? !strcasecmp(want, have) : !strcmp(want, have);
}

/* Members of one multi-device btrfs share its UUID and label: the first one names it. */
static int later_btrfs_member(const struct devtab *t, int i)
{
	if (strcmp(t->d[i].type, "btrfs") || !*t->d[i].uuid)
		return 0;
	for (int j = 0; j < i; j++)
		if (!t->d[j].ambiguous && !strcmp(t->d[j].type, "btrfs") && !strcmp(t->d[j].uuid, t->d[i].uuid))
			return 1;
	return 0;
}

static const struct blockdev *dm_by_name(const struct devtab *t, const char *name)
{
	for (int i = 0; *name && i < t->n; i++)
		if (!strcmp(t->d[i].dmname, name))
			return &t->d[i];
	return NULL;
}

const struct blockdev *devtab_resolve(const struct devtab *t, const char *spec,
				      const char *prefer_disk, int *locked, int *ambiguous)
{
	static const struct {
		const char *tag, *link;
		size_t off;
		int nocase;
	} keys[] = {
		{"UUID=", "/dev/disk/by-uuid/", offsetof(struct blockdev, uuid), 1},
		{"LABEL=", "/dev/disk/by-label/", offsetof(struct blockdev, label), 0},
		{"PARTUUID=", "/dev/disk/by-partuuid/", offsetof(struct blockdev, partuuid), 1},
		{"PARTLABEL=", "/dev/disk/by-partlabel/", offsetof(struct blockdev, partlabel), 0},
	};
	*locked = *ambiguous = 0;
	char want[512];
	for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
		const char *v = NULL;
		int fromlink = 0;
		if (startswith(spec, keys[k].tag))
			v = spec + strlen(keys[k].tag);
		else if (startswith(spec, keys[k].link))
			v = spec + strlen(keys[k].link), fromlink = 1;
		if (!v)
			continue;
		snprintf(want, sizeof(want), "%s", v);
		/* fstab quoting: LABEL="my disk" */
		size_t l = strlen(want);
		if (l >= 2 && want[0] == '"' && want[l - 1] == '"') {
			memmove(want, want + 1, l - 2);
			want[l - 2] = 0;
		}
		if (fromlink)
			udev_decode(want);
		/* Two disks may carry the same label (two NixOS installs both call / "nixos"): the
		 * one on the disk the system was found on wins; otherwise none is chosen. */
		const struct blockdev *found = NULL, *same = NULL;
		int n = 0, nsame = 0;
		for (int i = 0; i < t->n; i++) {
			const char *have = (const char *)&t->d[i] + keys[k].off;
			if (t->d[i].ambiguous || !name_eq(want, have, keys[k].nocase) ||
			    later_btrfs_member(t, i))
				continue;
			found = &t->d[i];
			n++;
			if (prefer_disk && !strcmp(t->d[i].disk, prefer_disk)) {
				same = &t->d[i];
				nsame++;
			}
		}
		if (n <= 1)
			return found;
		if (nsame == 1)
			return same;
		*ambiguous = 1;
		return NULL;
	}
	if (!startswith(spec, "/dev/"))
		return NULL;
	for (int i = 0; i < t->n; i++)
		if (!strcmp(t->d[i].path, spec))
			return &t->d[i];
	/* device-mapper names, as lvm and cryptsetup make them without udev: /dev/mapper/NAME,
	 * and /dev/VG/LV, whose mapper name is VG-LV with every '-' of either doubled. */
	const struct blockdev *dm = NULL;
	if (startswith(spec, "/dev/mapper/")) {
		dm = dm_by_name(t, spec + strlen("/dev/mapper/"));
	} else {
		const char *vg = spec + strlen("/dev/"), *slash = strchr(vg, '/');
		if (slash && !strchr(slash + 1, '/') && slash > vg && slash[1]) {
			char name[256];
			size_t w = 0;
			for (const char *c = vg; *c && w + 3 < sizeof(name); c++) {
				if (c == slash) {
					name[w++] = '-';
					continue;
				}
				if (*c == '-')
					name[w++] = '-';
				name[w++] = *c;
			}
			name[w] = 0;
			dm = dm_by_name(t, name);
		}
	}
	if (dm)
		return dm;
	/* Any other node or link (/dev/md/NAME -> ../md127): the device whose number it has. */
	struct stat st;
	if (stat(spec, &st) == 0 && S_ISBLK(st.st_mode)) {
		for (int i = 0; i < t->n; i++)
			if ((t->d[i].major || t->d[i].minor) && t->d[i].major == major(st.st_rdev) &&
			    t->d[i].minor == minor(st.st_rdev))
				return &t->d[i];
	}
	if (startswith(spec, "/dev/mapper/") || startswith(spec, "/dev/dm-"))
		*locked = 1;
	return NULL;
}

static int link_one(const char *dir, const char *sub, const char *name, const char *devname)
{
	if (!*name)
		return 0;
	char enc[1024];
	udev_encode(name, enc, sizeof(enc));
	if (!*enc || !strcmp(enc, ".") || !strcmp(enc, ".."))
		return 0;
	char *d = xasprintf("%s/%s", dir, sub);
	int r = mkdir_p(d, 0755);
	if (r < 0) {
		free(d);
		return r;
	}
	char *target = xasprintf("../../%s", devname);
	char *path = xasprintf("%s/%s", d, enc);
	r = symlink(target, path) == 0 ? 1 : errno == EEXIST ? 0 : -errno;
	free(d);
	free(target);
	free(path);
	return r;
}

int disk_links_create(const char *dir, const struct devtab *t)
{
	int made = 0, err = 0;
	for (int i = 0; i < t->n; i++) {
		const struct blockdev *b = &t->d[i];
		if (b->ambiguous)
			continue;
		int r[4] = {link_one(dir, "by-uuid", b->uuid, b->name),
			    link_one(dir, "by-label", b->label, b->name),
			    link_one(dir, "by-partuuid", b->partuuid, b->name),
			    link_one(dir, "by-partlabel", b->partlabel, b->name)};
		for (int k = 0; k < 4; k++) {
			if (r[k] > 0)
				made++;
			else if (r[k] < 0 && !err)
				err = r[k];
		}
	}
	return made ? made : err;
}
