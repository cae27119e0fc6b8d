/* The rescue system's own file systems: what PID 1 mounts before anything else runs. */
#ifndef LB_MOUNTS_H
#define LB_MOUNTS_H

/* Mount /proc, /sys, /dev (devtmpfs), /dev/pts, /dev/shm, /run, /tmp and the /dev/fd links.
 * Failures are logged; returns the first -errno, but mounts what it can. */
int mounts_basic(void);
/* Mount efivarfs when the machine booted by UEFI (after its module is loaded). */
int mounts_efivarfs(void);

#endif
