#include "lib/fstype.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/btrfs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <unistd.h>

#include "lib/util.h"

/* The checksum drivers ext4/jbd2, xfs and btrfs ask the crypto API for at mount time; under
 * QEMU TCG crc32c_intel cannot load and crc32c_generic is the one that serves. */
#define CRC32C "crc32c_generic", "crc32c_intel"

/* Ordered by how often a NixOS uses the type. A read-only mount never replays a journal: a
 * mount that refuses the row's option is reported, never retried without it. */
const struct fstype fstypes[] = {
	/* ext2 and ext3 are served by the ext4 driver (CONFIG_EXT4_USE_FOR_EXT2). */
	{.name = "ext4", .flags = FSTYPE_NIXOS, .noreplay = "noload",
	 .modules = {CRC32C, "ext4"}, .check = {"e2fsck", "-f", "-n"}},
	{.name = "btrfs", .flags = FSTYPE_NIXOS | FSTYPE_SUBVOLS, .noreplay = "rescue=nologreplay",
	 .noreplay_old = "nologreplay", /* before 5.9 */
	 .top = "subvolid=5", .degraded = "degraded",
	 .modules = {CRC32C, "xxhash_generic", "blake2b_generic", "btrfs"},
	 .check = {"btrfs", "check", "--readonly"}},
	{.name = "xfs", .flags = FSTYPE_NIXOS, .noreplay = "norecovery",
	 .modules = {CRC32C, "xfs"}, .check = {"xfs_repair", "-n"}},
	{.name = "f2fs", .flags = FSTYPE_NIXOS, .noreplay = "norecovery",
	 .modules = {"crc32_generic", "f2fs"}, .check = {"fsck.f2fs", "-f", "--dry-run"}},
	{.name = "ext3", .flags = FSTYPE_NIXOS, .noreplay = "noload",
	 .modules = {CRC32C, "ext4"}, .check = {"e2fsck", "-f", "-n"}},
	{.name = "ext2", .flags = FSTYPE_NIXOS | FSTYPE_NO_JOURNAL,
	 .modules = {"ext4"}, .check = {"e2fsck", "-f", "-n"}},
	/* No symlinks, so no store: an ESP, read for boot loader entries. The code pages are the
	 * kernel's defaults (codepage=437, iocharset=ascii in Debian's config). */
	{.name = "vfat", .flags = FSTYPE_NO_JOURNAL, .modules = {"nls_cp437", "nls_ascii", "vfat"},
	 .check = {"fsck.fat", "-n"}},
	/* Read-only media: mounted by hand from the shell, never inspected. */
	{.name = "iso9660", .flags = FSTYPE_NO_JOURNAL, .modules = {"isofs"}},
	{.name = "squashfs", .flags = FSTYPE_NO_JOURNAL, .modules = {"squashfs"}},
	/* Not filesystems: listed, never mounted. */
	{.name = "crypto_LUKS", .flags = FSTYPE_NOMOUNT, .problem_what = "locked",
	 .problem_msg = "encrypted (LUKS): unlock it (cryptsetup open) to look inside"},
	{.name = "swap", .flags = FSTYPE_NOMOUNT},
	{.name = "LVM2_member", .flags = FSTYPE_NOMOUNT},
	{.name = "linux_raid_member", .flags = FSTYPE_NOMOUNT},
};
const size_t n_fstypes = ARRAY_SIZE(fstypes);

const struct fstype *fstype_find(const char *name)
{
	for (size_t i = 0; name && i < n_fstypes; i++)
		if (!strcmp(fstypes[i].name, name))
			return &fstypes[i];
	return NULL;
}

int fstype_inspectable(const char *name)
{
	const struct fstype *t = fstype_find(name);
	return t && (t->flags & FSTYPE_NIXOS);
}

int fstype_subvol_ok(const char *name)
{
	return name && *name && !strpbrk(name, ",\"");
}

int fstype_opts_add(char *buf, size_t size, const char *word)
{
	size_t l = strnlen(buf, size);
	if (l >= size)
		return -EINVAL;
	int n = snprintf(buf + l, size - l, "%s%s", l ? "," : "", word);
	if (n < 0 || (size_t)n >= size - l) {
		buf[l] = 0; /* never leave a cut word behind */
		return -EINVAL;
	}
	return 0;
}

int fstype_opts_add_subvol(char *buf, size_t size, const char *name)
{
	if (!fstype_subvol_ok(name))
		return -EINVAL;
	size_t l = strnlen(buf, size);
	if (l >= size)
		return -EINVAL;
	int n = snprintf(buf + l, size - l, "%ssubvol=%s", l ? "," : "", name);
	if (n < 0 || (size_t)n >= size - l) {
		buf[l] = 0;
		return -EINVAL;
	}
	return 0;
}

int fstype_ro_options(const struct fstype *t, int old, const char *subvol, char *buf,
		      size_t size)
{
	if (!size)
		return -EINVAL;
	buf[0] = 0;
	const char *noreplay = old ? t->noreplay_old : t->noreplay;
	if (old && !noreplay)
		return -EINVAL;
	int r = noreplay ? fstype_opts_add(buf, size, noreplay) : 0;
	if (r == 0 && subvol && *subvol)
		r = t->flags & FSTYPE_SUBVOLS ? fstype_opts_add_subvol(buf, size, subvol) : -EINVAL;
	else if (r == 0 && t->top)
		r = fstype_opts_add(buf, size, t->top);
	if (r < 0)
		buf[0] = 0;
	return r;
}

int fstype_mount_ro(const char *dev, const char *type, const char *subvol, const char *dir,
		    unsigned long flags)
{
	const struct fstype *t = fstype_find(type);
	if (!t || (t->flags & FSTYPE_NOMOUNT))
		return -EMEDIUMTYPE;
	char opts[512];
	int r = fstype_ro_options(t, 0, subvol, opts, sizeof(opts));
	if (r < 0)
		return r;
	/* A member missing: the kernel refuses the mount without `degraded`; read-only, it
	 * writes nothing all the same. */
	int degraded = t->degraded && btrfs_complete(dev) == 0;
	if (degraded && (r = fstype_opts_add(opts, sizeof(opts), t->degraded)) < 0)
		return r;
	flags |= MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
	if (mount(dev, dir, t->name, flags, opts) == 0)
		return 0;
	int e = errno;
	if (e == EINVAL && fstype_ro_options(t, 1, subvol, opts, sizeof(opts)) == 0 &&
	    (!degraded || fstype_opts_add(opts, sizeof(opts), t->degraded) == 0) &&
	    mount(dev, dir, t->name, flags, opts) == 0)
		return 0;
	return -e;
}

static int btrfs_control(unsigned long req, const char *dev)
{
	struct btrfs_ioctl_vol_args args;
	memset(&args, 0, sizeof(args));
	if (strlen(dev) >= sizeof(args.name))
		return -ENAMETOOLONG;
	snprintf(args.name, sizeof(args.name), "%s", dev);
	int fd = open("/dev/btrfs-control", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = ioctl(fd, req, &args);
	int e = errno;
	close(fd);
	return r < 0 ? -e : r;
}

int btrfs_forget_unmounted(void)
{
	/* An empty name: every registered device of a filesystem not mounted now. */
	int r = btrfs_control(BTRFS_IOC_FORGET_DEV, "");
	return r < 0 ? r : 0;
}

int btrfs_register(const char *dev)
{
	int r = btrfs_control(BTRFS_IOC_SCAN_DEV, dev);
	return r < 0 ? r : 0;
}

int btrfs_complete(const char *dev)
{
	/* 0: every member the superblock counts is registered; 1: not all. */
	int r = btrfs_control(BTRFS_IOC_DEVICES_READY, dev);
	return r < 0 ? r : r == 0;
}
