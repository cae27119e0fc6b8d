/* Filesystem policy in one place: a row per type lifeboat knows (how to mount it read-only
 * without replaying a journal, which modules it needs, whether a NixOS can live on it, which
 * tool checks it), and the one read-only mount every part uses. A new type is one new row;
 * tests/unit/test_fstype.c fails when a row is incomplete. */
#ifndef LB_FSTYPE_H
#define LB_FSTYPE_H

#include <stddef.h>

enum {
	FSTYPE_NIXOS = 1 << 0,      /* can hold a NixOS root or store: the scan inspects it */
	FSTYPE_NO_JOURNAL = 1 << 1, /* nothing to replay: a row without a noreplay option says so */
	FSTYPE_SUBVOLS = 1 << 2,    /* has subvolumes: subvol=NAME picks one */
	FSTYPE_NOMOUNT = 1 << 3,    /* never mounted: swap, or a layer holding another device */
};

#define FSTYPE_MODULES 6
#define FSTYPE_CHECK_ARGS 5

struct fstype {
	const char *name;         /* libblkid's TYPE, which is also mount(2)'s type */
	unsigned flags;
	const char *noreplay;     /* the option that keeps a read-only mount from replaying */
	const char *noreplay_old; /* its spelling on older kernels (tried on EINVAL), or NULL */
	const char *top;          /* what selects the whole filesystem when no subvolume is named */
	const char *degraded;     /* mounts it with a member device missing (multi-device types) */
	/* Modules a mount needs, in load order, NULL-terminated. The crypto and code-page helpers
	 * come before the driver: lib/modules follows no softdeps, the scan has no kernel module
	 * helper to rely on, and a dependency such as libcrc32c fails to load without crc32c. */
	const char *modules[FSTYPE_MODULES];
	/* A check that changes nothing: argv, the device is appended; NULL-terminated. */
	const char *check[FSTYPE_CHECK_ARGS];
	/* A device of this type gets a problem record (what, msg): a layer to open first. */
	const char *problem_what, *problem_msg;
};

extern const struct fstype fstypes[];
extern const size_t n_fstypes;

/* The row of a type name (as libblkid or an fstab spells it); NULL when unknown or NULL. */
const struct fstype *fstype_find(const char *name);
/* Does the scan look inside filesystems of this type (FSTYPE_NIXOS)? */
int fstype_inspectable(const char *name);

/* Can name be passed as subvol=NAME in a comma-separated option list without adding options
 * (no ',', no '"' which an LSM's option parser treats as quoting)? 1 or 0; "" is not a name. */
int fstype_subvol_ok(const char *name);
/* Append word to the option list in buf ("a" -> "a,word"). -EINVAL when it does not fit:
 * a cut list would mount something else. */
int fstype_opts_add(char *buf, size_t size, const char *word);
/* Append subvol=NAME; -EINVAL when NAME is not fstype_subvol_ok or it does not fit. */
int fstype_opts_add_subvol(char *buf, size_t size, const char *name);
/* The data string of a read-only mount of t: its no-replay option (old: the older spelling),
 * then subvol=NAME, or without a subvolume its whole-filesystem option. 0 or -EINVAL (no
 * older spelling, a subvolume on a type without them, a bad name, no room). */
int fstype_ro_options(const struct fstype *t, int old, const char *subvol, char *buf,
		      size_t size);
/* Mount dev of type on dir read-only, nosuid, nodev, noexec, never replaying a journal; the
 * older spelling of the no-replay option is tried when the kernel refuses the new one, never a
 * mount without it. subvol NULL or "": the whole filesystem (btrfs: subvolid=5, whatever the
 * default subvolume). flags: more mount(2) flags (MS_SILENT...). Returns 0 or -errno:
 * -EMEDIUMTYPE for a type not in the table or not mountable, -EINVAL for unsafe options. */
int fstype_mount_ro(const char *dev, const char *type, const char *subvol, const char *dir,
		    unsigned long flags);

/* Multi-device btrfs (the kernel's interface on /dev/btrfs-control, as `btrfs device scan`):
 * register dev as a member of its filesystem (0 or -errno), and ask whether every member of
 * the filesystem dev belongs to is registered (1), not all (0), or -errno. A btrfs with a
 * member missing is mounted by fstype_mount_ro with `degraded` added (read-only still). */
int btrfs_register(const char *dev);
/* Forget the members of every btrfs not mounted (`btrfs device scan --forget`): a degraded
 * mount leaves a stand-in for the missing member behind, after which the filesystem counts as
 * complete and mounts only with `degraded`, which then is not known to be needed. */
int btrfs_forget_unmounted(void);
int btrfs_complete(const char *dev);

#endif
