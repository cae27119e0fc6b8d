/* The type -> tool table, the tools' exit conventions, and the ext superblock state probe. */
#include "act/fscheck.h"
#include "lib/fsstate.h"
#include "tests/unit/check.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

static void test_table(void)
{
	CHECK_STR(fs_tool_for("ext4")->path, "/sbin/e2fsck");
	CHECK_STR(fs_tool_for("ext2")->path, "/sbin/e2fsck");
	CHECK_STR(fs_tool_for("vfat")->path, "/sbin/fsck.fat");
	CHECK_STR(fs_tool_for("btrfs")->path, "/sbin/btrfs");
	CHECK_STR(fs_tool_for("xfs")->path, "/sbin/xfs_repair");
	CHECK(fs_tool_for("ext") == NULL); /* whole words only */
	CHECK(fs_tool_for("xt4") == NULL);
	CHECK(fs_tool_for("swap") == NULL);
	CHECK_STR(fs_tool_for("f2fs")->path, "/sbin/fsck.f2fs");
	CHECK(fs_tool_for("iso9660") == NULL); /* no checker in lib/fstype */
	CHECK(fs_tool_for("") == NULL);
	CHECK(fs_tool_for(NULL) == NULL);
}

static void test_argv(void)
{
	const char *a[8];
	CHECK_INT(fs_tool_argv(fs_tool_for("ext4"), 0, "ext4", "/dev/vdb1", a, 8), 4);
	CHECK_STR(a[0], "/sbin/e2fsck");
	CHECK_STR(a[1], "-f");
	CHECK_STR(a[2], "-n");
	CHECK_STR(a[3], "/dev/vdb1");
	CHECK(a[4] == NULL);
	CHECK_INT(fs_tool_argv(fs_tool_for("ext4"), 1, "ext4", "/dev/vdb1", a, 8), 4);
	CHECK_STR(a[1], "-f");
	CHECK_STR(a[2], "-y");
	CHECK_INT(fs_tool_argv(fs_tool_for("btrfs"), 0, "btrfs", "/dev/vdc", a, 8), 4);
	CHECK_STR(a[1], "check");
	CHECK_STR(a[2], "--readonly");
	CHECK_INT(fs_tool_argv(fs_tool_for("btrfs"), 1, "btrfs", "/dev/vdc", a, 8), -ENOTSUP);
	CHECK_INT(fs_tool_argv(fs_tool_for("f2fs"), 0, "f2fs", "/dev/vdd", a, 8), 4);
	CHECK_STR(a[0], "/sbin/fsck.f2fs");
	CHECK_STR(a[1], "-f");
	CHECK_STR(a[2], "--dry-run");
	CHECK_STR(a[3], "/dev/vdd");
	CHECK_INT(fs_tool_argv(fs_tool_for("f2fs"), 1, "f2fs", "/dev/vdd", a, 8), -ENOTSUP);
	CHECK_INT(fs_tool_argv(fs_tool_for("ext4"), 0, "vfat", "/dev/vdc", a, 8), -EINVAL);
	CHECK_INT(fs_tool_argv(fs_tool_for("ext4"), 0, "ext4", "/dev/vdb1", a, 4), -E2BIG);
	CHECK_INT(fs_tool_argv(fs_tool_for("ext4"), 0, "ext4", "/dev/vdb1", a, 5), 4);
	/* Every read-only check has a read-only flag: a check must never write. */
	static const char *const types[] = {"ext4", "vfat", "btrfs", "xfs", "f2fs"};
	static const char *const ro[] = {"-n", "-n", "--readonly", "-n", "--dry-run"};
	for (int i = 0; i < 5; i++) {
		int n = fs_tool_argv(fs_tool_for(types[i]), 0, types[i], "/dev/x", a, 8);
		int found = 0;
		for (int k = 1; k < n; k++)
			found |= !strcmp(a[k], ro[i]);
		CHECK(found);
	}
}

static void test_verdict(void)
{
	const struct fs_tool *e = fs_tool_for("ext4"), *v = fs_tool_for("vfat");
	CHECK_INT(fs_verdict_of(e, 0, 0), FS_CLEAN);
	CHECK_INT(fs_verdict_of(e, 0, 4), FS_ERRORS);
	CHECK_INT(fs_verdict_of(e, 0, 8), FS_FAILED);
	CHECK_INT(fs_verdict_of(e, 0, -1), FS_FAILED);
	CHECK_INT(fs_verdict_of(e, 1, 1), FS_FIXED);
	CHECK_INT(fs_verdict_of(e, 1, 2), FS_FIXED);
	CHECK_INT(fs_verdict_of(e, 1, 4), FS_ERRORS);
	CHECK_INT(fs_verdict_of(e, 1, 12), FS_FAILED);
	CHECK_INT(fs_verdict_of(v, 0, 1), FS_ERRORS);
	CHECK_INT(fs_verdict_of(v, 1, 1), FS_FIXED);
	CHECK_INT(fs_verdict_of(v, 0, 2), FS_FAILED);
	const struct fs_tool *f2 = fs_tool_for("f2fs");
	CHECK_INT(fs_verdict_of(f2, 0, 0), FS_CLEAN);
	CHECK_INT(fs_verdict_of(f2, 0, 1), FS_ERRORS); /* -f --dry-run: "corrected", nothing written */
	CHECK_INT(fs_verdict_of(f2, 0, 4), FS_ERRORS);
	CHECK_INT(fs_verdict_of(f2, 0, 8), FS_FAILED);
	CHECK_INT(fs_verdict_of(f2, 0, 16), FS_FAILED);
	CHECK_INT(fs_verdict_of(f2, 0, 255), FS_FAILED);
	CHECK_INT(fs_verdict_of(fs_tool_for("xfs"), 0, 4), FS_FAILED);
	CHECK_STR(fs_verdict_name(FS_ERRORS), "errors");
}

static void test_ext_state(void)
{
	unsigned char sb[1024] = {0};
	CHECK_INT(fs_ext_state_of(sb, sizeof(sb)), -EINVAL);
	sb[0x38] = 0x53, sb[0x39] = 0xef;
	CHECK_INT(fs_ext_state_of(sb, 0x50), -EINVAL); /* too short for the fields */
	CHECK_INT(fs_ext_state_of(sb, sizeof(sb)), FS_STATE_UNCLEAN);
	sb[0x3a] = 1;
	CHECK_INT(fs_ext_state_of(sb, sizeof(sb)), FS_STATE_CLEAN);
	sb[0x60] = 0x4 | 0x2; /* needs_recovery, filetype */
	CHECK_INT(fs_ext_state_of(sb, sizeof(sb)), FS_STATE_RECOVER);
	sb[0x3a] = 3;
	CHECK_INT(fs_ext_state_of(sb, sizeof(sb)), FS_STATE_ERRORS);
	CHECK_STR(fs_state_name(FS_STATE_RECOVER, NULL), "needs journal recovery");
	CHECK_STR(fs_state_name(FS_STATE_RECOVER, "ext4"), "needs journal recovery");
	CHECK_STR(fs_state_name(FS_STATE_RECOVER, "f2fs"), "has fsynced data to roll forward");
	CHECK_STR(fs_state_name(-EINVAL, NULL), "unknown");
	/* f2fs: the checkpoint's flags and the kernel's word on fsynced data. */
	CHECK_INT(fs_f2fs_state_of(0x5, 0), FS_STATE_CLEAN);   /* umount + compacted summary */
	CHECK_INT(fs_f2fs_state_of(0x4, 0), FS_STATE_UNCLEAN); /* sudden power-off */
	CHECK_INT(fs_f2fs_state_of(0x4, 1), FS_STATE_RECOVER);
	CHECK_INT(fs_f2fs_state_of(0x15, 0), FS_STATE_ERRORS); /* fsck flag */
	CHECK_INT(fs_f2fs_state_of(0xc, 1), FS_STATE_ERRORS);  /* error flag */

	/* From a file: the superblock at offset 1024. */
	char path[] = "/tmp/test_fscheck.XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	sb[0x3a] = 1, sb[0x60] = 0;
	CHECK_INT(pwrite(fd, sb, sizeof(sb), 1024), 1024);
	close(fd);
	CHECK_INT(fs_state(path, "ext4"), FS_STATE_CLEAN);
	CHECK_INT(fs_state(path, "xfs"), -ENOTSUP);
	CHECK_INT(fs_state(path, "vfat"), -EINVAL); /* no boot signature at 510 */
	unlink(path);
	CHECK_INT(fs_state(path, "ext4"), -ENOENT);
	CHECK_STR(fs_state_code(FS_STATE_RECOVER), "recover");
	CHECK_INT(fs_state_parse("errors"), FS_STATE_ERRORS);
	CHECK_INT(fs_state_parse("bogus"), -EINVAL);
	CHECK_INT(fs_state_parse(NULL), -EINVAL);
}

static void test_fat_state(void)
{
	unsigned char bs[512] = {0};
	CHECK_INT(fs_fat_state_of(bs, sizeof(bs)), -EINVAL);
	bs[510] = 0x55, bs[511] = 0xaa;
	CHECK_INT(fs_fat_state_of(bs, 100), -EINVAL);
	CHECK_INT(fs_fat_state_of(bs, sizeof(bs)), FS_STATE_CLEAN);
	bs[0x41] = 1; /* FAT32 (no 16-bit FAT size): the state byte at 0x41 */
	CHECK_INT(fs_fat_state_of(bs, sizeof(bs)), FS_STATE_UNCLEAN);
	bs[0x16] = 0x20; /* FAT16: at 0x25, which is clear */
	CHECK_INT(fs_fat_state_of(bs, sizeof(bs)), FS_STATE_CLEAN);
	bs[0x25] = 1;
	CHECK_INT(fs_fat_state_of(bs, sizeof(bs)), FS_STATE_UNCLEAN);

	/* FAT32: 512-byte sectors, 1 per cluster, 32 reserved, 2 FATs of 100 sectors, 10000 in all:
	 * 9768 clusters; FSInfo says 1000 free. */
	memset(bs, 0, sizeof(bs));
	bs[510] = 0x55, bs[511] = 0xaa;
	bs[0x0b] = 0x00, bs[0x0c] = 0x02, bs[0x0d] = 1, bs[0x0e] = 32, bs[0x10] = 2;
	bs[0x20] = 10000 & 0xff, bs[0x21] = 10000 >> 8, bs[0x24] = 100;
	unsigned char fi[512] = {0};
	fi[0] = 0x52, fi[1] = 0x52, fi[2] = 0x61, fi[3] = 0x41;
	fi[484] = 0x72, fi[485] = 0x72, fi[486] = 0x41, fi[487] = 0x61;
	fi[488] = 1000 & 0xff, fi[489] = 1000 >> 8;
	unsigned long long size = 0, avail = 0;
	CHECK_INT(fs_fat_space_of(bs, sizeof(bs), fi, sizeof(fi), &size, &avail), 0);
	CHECK_INT(size, 9768ULL * 512);
	CHECK_INT(avail, 1000ULL * 512);
	/* Unknown free count (0xffffffff), or no FSInfo: size only. */
	fi[488] = fi[489] = fi[490] = fi[491] = 0xff;
	CHECK_INT(fs_fat_space_of(bs, sizeof(bs), fi, sizeof(fi), &size, &avail), 0);
	CHECK(avail == (unsigned long long)-1);
	CHECK_INT(fs_fat_space_of(bs, sizeof(bs), NULL, 0, &size, &avail), 0);
	CHECK(avail == (unsigned long long)-1);
	bs[0x0d] = 0; /* no cluster size: not a FAT */
	CHECK_INT(fs_fat_space_of(bs, sizeof(bs), NULL, 0, &size, &avail), -EINVAL);
}

/* Every filesystem of a system's plan, once each, with the type blkid saw on the disk. */
static void test_targets(void)
{
	static const char report[] =
		"device path=/dev/vda1 disk=/dev/vda type=vfat\n"
		"device path=/dev/vda2 disk=/dev/vda type=btrfs\n"
		"device path=/dev/vdb1 disk=/dev/vdb type=ext4\n"
		"system id=1 host=h layout=btrfs root=/dev/vda2 nix=/dev/vda2 current=3 esp=/dev/vda1\n"
		"generation system=1 profile=system number=3 current=1 specialisation=-\n"
		"mount system=1 number=3 source=/dev/vda2 target=/ type=btrfs status=ok subvol=root\n"
		"mount system=1 number=3 source=/dev/vda2 target=/nix type=btrfs status=ok subvol=nix\n"
		"mount system=1 number=3 source=/dev/vdb1 target=/home type=auto status=ok\n"
		"mount system=1 number=3 source=- target=/data type=ext4 status=missing\n"
		"mount system=1 number=2 source=/dev/vdc1 target=/old type=ext4 status=ok\n"
		"mount system=1 number=3 source=/dev/vda1 target=/boot type=vfat status=ok\n"
		"done devices=3 systems=1 problems=0\n";
	struct found f;
	CHECK_INT(found_load(&f, report), 1);
	struct fs_target ts[8];
	int n = fs_targets(&f, &f.sys[0], ts, 8);
	CHECK_INT(n, 3);
	CHECK_STR(ts[0].dev, "/dev/vda2");
	CHECK_STR(ts[0].type, "btrfs");
	CHECK_STR(ts[0].what, "/");
	CHECK(ts[0].tool == fs_tool_for("btrfs"));
	CHECK_STR(ts[1].dev, "/dev/vdb1");
	CHECK_STR(ts[1].type, "ext4"); /* the disk's type, not fstab's "auto" */
	CHECK_STR(ts[1].what, "/home");
	CHECK_STR(ts[2].dev, "/dev/vda1");
	CHECK_STR(ts[2].what, "/boot");
	CHECK_STR(ts[2].type, "vfat");
	CHECK_INT(fs_targets(&f, &f.sys[0], ts, 2), 2); /* full: no overflow */
	/* A device the report does not know: no type, no tool (the applet asks blkid). */
	CHECK_INT(fs_target_add(ts, 0, 8, &f, "/dev/sdz", "device"), 1);
	CHECK_STR(ts[0].type, "");
	CHECK(ts[0].tool == NULL);
	CHECK_INT(fs_target_add(ts, 1, 8, &f, "", "x"), 1);
	found_free(&f);
}

int main(void)
{
	test_targets();
	test_table();
	test_argv();
	test_verdict();
	test_ext_state();
	test_fat_state();
	return check_done("test_fscheck");
}
