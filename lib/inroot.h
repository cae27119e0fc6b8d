/* Paths inside a found filesystem, resolved inside it. A NixOS disk is full of absolute symlinks
 * (/nix/store/...) that mean "inside this disk", and a hostile disk may hold links to /etc/passwd
 * or ../../..: every lookup below treats rootfd as "/" so nothing reaches the rescue system's own
 * files. openat2(RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS) does it in the kernel; where openat2 is
 * missing (ENOSYS) an equivalent walk in userspace does it one component at a time. */
#ifndef LB_INROOT_H
#define LB_INROOT_H

#include <stddef.h>
#include <sys/types.h>

/* Test seam: nonzero forces the userspace walk even where openat2 exists. */
extern int inroot_force_walk;

/* Open path (absolute or relative, both from rootfd) with open(2) flags (O_CLOEXEC is added;
 * O_NOFOLLOW applies to the last component). Returns an fd or -errno (-ELOOP after 40 links). */
int inroot_open(int rootfd, const char *path, int flags);
/* Read a whole regular file (at most max bytes) into a NUL-terminated malloc'd buffer. */
ssize_t inroot_read(int rootfd, const char *path, size_t max, char **out);
/* Read the symlink path names itself (its parent directories are resolved in the root). Returns
 * the length or -errno (-EINVAL when it is not a symlink). */
ssize_t inroot_readlink(int rootfd, const char *path, char *buf, size_t size);
/* Does path exist (following links in the root)? 0 or -errno. */
int inroot_exists(int rootfd, const char *path);

#endif
