/* A filesystem's state from its first bytes, without a tool: an ext2/3/4 superblock's state
 * and needs_recovery flag, a FAT boot sector's dirty bit. The scan records it for each device and
 * the menu shows it; `lifeboat check` is what looks closer. */
#ifndef LB_FSSTATE_H
#define LB_FSSTATE_H

#include <stddef.h>

enum { FS_STATE_CLEAN, FS_STATE_RECOVER, FS_STATE_UNCLEAN, FS_STATE_ERRORS };
/* FS_STATE_* of device dev of blkid type `type`; -ENOTSUP for other types, -EINVAL when it
 * does not look like one, or -errno. */
int fs_state(const char *dev, const char *type);
/* The same from the bytes read: sb is the ext superblock (from offset 1024), bs the boot sector. */
int fs_ext_state_of(const unsigned char *sb, size_t len);
int fs_fat_state_of(const unsigned char *bs, size_t len);
/* The report's word for a state ("clean", "recover", "unclean", "errors") and back. */
const char *fs_state_code(int st);
int fs_state_parse(const char *code);
/* For people: "clean", "needs journal recovery", "not cleanly unmounted", "has errors"; type
 * (may be NULL) words the recovery as that filesystem does (f2fs rolls fsynced data forward). */
const char *fs_state_name(int st, const char *type);

/* An f2fs's state, from what the kernel says of it once mounted read-only with norecovery: its
 * last checkpoint's flags (/sys/fs/f2fs/<dev>/stat/cp_status) and whether the mount found
 * fsynced data and left it ("drop all fsynced data" in the kernel log). */
int fs_f2fs_state_of(unsigned cp_flags, int fsynced);

/* A FAT's size and free space (bytes; free is (unsigned long long)-1 when the FAT32 FSInfo
 * sector does not say) from its boot sector and FSInfo, without mounting it: the ESP is not
 * among the filesystems the scan mounts. 0 or -EINVAL / -errno. */
int fs_fat_space(const char *dev, unsigned long long *size, unsigned long long *avail);
int fs_fat_space_of(const unsigned char *bs, size_t len, const unsigned char *fsinfo, size_t flen,
		    unsigned long long *size, unsigned long long *avail);

#endif
