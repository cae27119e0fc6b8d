#include "lib/fsstate.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* Little-endian fields of the ext2/3/4 superblock: s_magic at 0x38, s_state at 0x3a (1: cleanly
 * unmounted, 2: errors detected), s_feature_incompat at 0x60 (0x4: the journal needs recovery). */
int fs_ext_state_of(const unsigned char *sb, size_t len)
{
	if (len < 0x64 || sb[0x38] != 0x53 || sb[0x39] != 0xef)
		return -EINVAL;
	unsigned state = sb[0x3a] | (unsigned)sb[0x3b] << 8;
	unsigned incompat = sb[0x60] | (unsigned)sb[0x61] << 8;
	if (state & 2)
		return FS_STATE_ERRORS;
	if (incompat & 4)
		return FS_STATE_RECOVER;
	if (!(state & 1))
		return FS_STATE_UNCLEAN;
	return FS_STATE_CLEAN;
}

/* The FAT boot sector's dirty bit (Linux and Windows set it while mounted): bit 0 of the state
 * byte, at 0x41 on FAT32 (whose 16-bit sectors-per-FAT at 0x16 is 0) and 0x25 on FAT12/16. */
int fs_fat_state_of(const unsigned char *bs, size_t len)
{
	if (len < 512 || bs[510] != 0x55 || bs[511] != 0xaa)
		return -EINVAL;
	int fat32 = !bs[0x16] && !bs[0x17];
	return bs[fat32 ? 0x41 : 0x25] & 1 ? FS_STATE_UNCLEAN : FS_STATE_CLEAN;
}

int fs_state(const char *dev, const char *type)
{
	int ext = !strcmp(type, "ext2") || !strcmp(type, "ext3") || !strcmp(type, "ext4");
	if (!ext && strcmp(type, "vfat"))
		return -ENOTSUP;
	int fd = open(dev, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	unsigned char b[1024];
	ssize_t n = pread(fd, b, ext ? 1024 : 512, ext ? 1024 : 0);
	int err = errno;
	close(fd);
	if (n < 0)
		return -err;
	return ext ? fs_ext_state_of(b, (size_t)n) : fs_fat_state_of(b, (size_t)n);
}

const char *fs_state_code(int st)
{
	static const char *const codes[] = {"clean", "recover", "unclean", "errors"};
	return st >= 0 && st < 4 ? codes[st] : "unknown";
}

int fs_state_parse(const char *code)
{
	for (int i = 0; i < 4; i++)
		if (code && !strcmp(code, fs_state_code(i)))
			return i;
	return -EINVAL;
}

/* The checkpoint flags of include/linux/f2fs_fs.h: set at a clean unmount, and when the kernel
 * or fsck.f2fs found the filesystem damaged. */
#define F2FS_CP_UMOUNT 0x1u
#define F2FS_CP_ERROR 0x8u
#define F2FS_CP_FSCK 0x10u

int fs_f2fs_state_of(unsigned cp_flags, int fsynced)
{
	if (cp_flags & (F2FS_CP_ERROR | F2FS_CP_FSCK))
		return FS_STATE_ERRORS;
	if (fsynced)
		return FS_STATE_RECOVER;
	return cp_flags & F2FS_CP_UMOUNT ? FS_STATE_CLEAN : FS_STATE_UNCLEAN;
}

const char *fs_state_name(int st, const char *type)
{
	switch (st) {
	case FS_STATE_CLEAN: return "clean";
	case FS_STATE_RECOVER:
		return type && !strcmp(type, "f2fs") ? "has fsynced data to roll forward" : "needs journal recovery";
	case FS_STATE_UNCLEAN: return "not cleanly unmounted";
	case FS_STATE_ERRORS: return "has errors";
	}
	return "unknown";
}

static unsigned le16(const unsigned char *p)
{
	return p[0] | (unsigned)p[1] << 8;
}

static unsigned long long le32(const unsigned char *p)
{
	return le16(p) | (unsigned long long)le16(p + 2) << 16;
}

/* Size from the BPB; free space from FAT32's FSInfo sector (the count Linux and Windows keep
 * up to date on unmount; 0xffffffff when unknown), so nothing but two sectors is read. */
int fs_fat_space_of(const unsigned char *bs, size_t len, const unsigned char *fsinfo, size_t flen,
		    unsigned long long *size, unsigned long long *avail)
{
	if (len < 512 || bs[510] != 0x55 || bs[511] != 0xaa)
		return -EINVAL;
	unsigned bps = le16(bs + 0x0b), spc = bs[0x0d], res = le16(bs + 0x0e), nfats = bs[0x10];
	unsigned long long rootsec = bps ? ((unsigned long long)le16(bs + 0x11) * 32 + bps - 1) / bps : 0;
	unsigned long long tot = le16(bs + 0x13) ? le16(bs + 0x13) : le32(bs + 0x20);
	unsigned long long fatsz = le16(bs + 0x16) ? le16(bs + 0x16) : le32(bs + 0x24);
	unsigned long long meta = res + nfats * fatsz + rootsec;
	if (!bps || !spc || tot <= meta)
		return -EINVAL;
	unsigned long long clusters = (tot - meta) / spc, csize = (unsigned long long)spc * bps;
	*size = clusters * csize;
	*avail = (unsigned long long)-1;
	if (fsinfo && flen >= 492 && le32(fsinfo) == 0x41615252 && le32(fsinfo + 484) == 0x61417272) {
		unsigned long long n = le32(fsinfo + 488);
		if (n <= clusters)
			*avail = n * csize;
	}
	return 0;
}

int fs_fat_space(const char *dev, unsigned long long *size, unsigned long long *avail)
{
	int fd = open(dev, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	unsigned char bs[512], fi[512];
	ssize_t n = pread(fd, bs, sizeof(bs), 0), m = 0;
	/* FAT32 only (no 16-bit FAT size): the FSInfo sector number is at 0x30. */
	if (n == (ssize_t)sizeof(bs) && !le16(bs + 0x16) && le16(bs + 0x30) && le16(bs + 0x0b))
		m = pread(fd, fi, sizeof(fi), (off_t)le16(bs + 0x30) * le16(bs + 0x0b));
	int err = errno;
	close(fd);
	if (n < 0)
		return -err;
	return fs_fat_space_of(bs, (size_t)n, m > 0 ? fi : NULL, m > 0 ? (size_t)m : 0, size, avail);
}
