/* Assembly before the scan inspects: md arrays started read-only (degraded ones too), LVM volume
 * groups activated without metadata writes, by the image's static mdadm and lvm in children with
 * deadlines (docs/assemble.md). What they reveal is then listed and probed like any device. */
#ifndef LB_ASSEMBLE_H
#define LB_ASSEMBLE_H

#include <stdio.h>

#include "discover/blockdev.h"

#define MDADM_BIN "/sbin/mdadm"
#define LVM_BIN "/sbin/lvm"

/* Assemble what the devices of t hold (also registering btrfs members when nothing else was
 * assembled; see assemble_btrfs). The array, vg and problem records it writes are returned
 * in *records (malloc'd, "" when none; written by the scan after the device records), the count
 * of problem records among them in *problems. Returns 1 when something was assembled or
 * activated (the caller lists and probes devices again), 0 when not. */
int assemble_run(const struct devtab *t, const char *sysroot, int timeout_ms, char **records,
		 int *problems);

/* One md array's state from sysroot/block/NAME/md (level, raid_disks, degraded, rdN links):
 * an array record, and a problem what=degraded naming the missing slots. mddir: where the
 * /dev/md/<name> links are ("/dev/md"). Returns the number of problem records written. */
int md_array_put(FILE *out, const char *sysroot, const char *mddir, const char *name);
/* The records of lvm's reports, '|'-separated, one row a line: vgs (vg_name|vg_attr|lv_count|
 * pv_count|vg_missing_pv_count), lvs (vg_name|lv_name|lv_attr|devices, a row per segment) and
 * pvs (pv_name|pv_uuid|vg_name|pv_attr); lvs and pvs may be NULL. A vg record per VG, an lv
 * record per LV (state complete, partial: a part on a missing PV, missing: all of it; active),
 * and for a VG with missing PVs a problem what=degraded naming their UUIDs and the LVs that are
 * not there. Returns the number of problem records written. */
int lvm_vgs_put(FILE *out, const char *vgs, const char *lvs, const char *pvs);

/* The btrfs step of assembly on a new listing (after assemble_run returned 1): every btrfs
 * device registered with the kernel, a btrfs record per multi-device filesystem, a problem
 * what=degraded when a member is missing; records appended to *records, problems counted. */
void assemble_btrfs(const struct devtab *t, char **records, int *problems);
/* The index of the first device of t that is a member of the same btrfs as t->d[i] (i itself
 * when it is the first, or not btrfs): a multi-device btrfs is inspected once, from there. */
int btrfs_first_member(const struct devtab *t, int i);
/* For each mddir/HOST:NAME link (mdadm names foreign arrays so), a mddir/NAME link to the
 * same array when NAME is free: a NixOS fstab says /dev/md/NAME, as udev made it at home. */
void md_short_links(const char *mddir);

/* Before a read-write mount of dev (entering a system): every md array dev is or is built on
 * (LVM on md: the array under the PV), found through sysroot/class/block/NAME/slaves, that the
 * scan started read-only is switched to read-write (mdadm --readwrite). Returns how many were
 * switched, or -1 with mdadm's words in msg. */
int assemble_writable(const char *sysroot, const char *dev, int timeout_ms, char *msg, size_t size);

/* Before power-off, reboot and kexec, after the unmounts: deactivate every LVM volume group
 * (lvm vgchange -an), then stop every md array (mdadm --stop --scan), each in a child with a
 * deadline, each step reported as init/shutdown.c's steps are (err 1: starting; 0 done;
 * -EBUSY failed: something is still open). Returns the number of steps run. */
int assemble_teardown(void (*report)(const char *target, const char *what, int err, void *ctx),
		      void *ctx);

#endif
