/* File system drivers for the disks that are there: busybox `mount` without -t only tries the
 * file systems the kernel already has, so the device worker loads the modules lib/fstype's
 * table names for what it finds. */
#ifndef LB_FSMODULES_H
#define LB_FSMODULES_H

#include <stddef.h>

#include "lib/modules.h"

/* Load the modules a mount of type needs (lib/fstype). Returns modules newly loaded. */
int fsmodules_load_type(struct modtree *t, const char *type);
/* The drivers of types (n of them, repeats allowed) the kernel does not serve yet (not in
 * /proc/filesystems); the running kernel's module tree is read only when one is missing.
 * Returns modules newly loaded. */
int fsmodules_ensure(const char *const *types, int n);
/* 1 when the text of /proc/filesystems ("nodev\tsysfs\n\text4\n") lists type: its driver is
 * in, built in or loaded by the device worker together with its helpers. */
int fsmodules_registered(const char *filesystems, const char *type);
/* The file systems nearly every NixOS machine has (the ESP's vfat, the installer's default ext4):
 * their drivers are loaded at the worker's start, beside coldplug, without waiting for a disk
 * to show one (fsmodules_preload). */
#define FSMODULES_LIKELY {"vfat", "ext4"}
/* Load the likely file systems' drivers. Returns modules newly loaded. */
int fsmodules_preload(struct modtree *t);
/* How many devices are probed at once. */
#define FSMODULES_JOBS 4

/* Load the module for devnode's file system, if it needs one. Returns modules newly loaded. The
 * probe reads the disk, which may not answer: it runs in a child given timeout_ms (a device
 * that does not answer by then is logged and gets no driver). */
int fsmodule_load_for(struct modtree *t, const char *devnode, int timeout_ms);
/* The same for n devices, FSMODULES_JOBS probes at once, each with its own deadline. */
int fsmodules_load_for_all(struct modtree *t, char *const *devnodes, int n, int timeout_ms);
/* The /dev nodes of the block devices in sysfs_block (normally /sys/class/block) that no earlier
 * call of this process listed (they are marked listed now): the count, or -errno. */
int fsmodules_unseen(const char *sysfs_block, char ***devnodes);
void fsmodules_free_list(char **devnodes, int n);
/* 1 when no earlier call of this process listed the device name (it is marked listed now). */
int fsmodules_first_time(const char *name);
/* A device gone (a disk unplugged): the next one by that name is probed again. */
void fsmodules_forget(const char *name);
/* fsmodules_unseen, then fsmodules_load_for_all. */
int fsmodules_coldplug(struct modtree *t, const char *sysfs_block, int timeout_ms);

#endif
