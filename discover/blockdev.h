/* Block devices: listed from sysfs, probed with libblkid. There is no udev in lifeboat, so this
 * table is also what resolves fstab names (UUID=, /dev/disk/by-label/...). */
#ifndef LB_BLOCKDEV_H
#define LB_BLOCKDEV_H

#include <stddef.h>

struct blockdev {
	char name[64];       /* vda2 */
	char path[80];       /* /dev/vda2 */
	char disk[80];       /* /dev/vda (same as path for a whole disk) */
	unsigned long long size; /* bytes */
	int partition;       /* its number in the disk's table; 0 for a whole disk */
	char type[32], uuid[64], label[256], partuuid[64], partlabel[256];
	int ambiguous;       /* two signatures: never mounted, never chosen */
	int probe_err;       /* -errno when the probe failed */
	unsigned major, minor; /* sysfs dev (0:0 when unknown) */
	char dmname[128];    /* device-mapper name (sysfs dm/name: "vg-root"), "" for others */
	int silent_ms;       /* > 0: its disk did not answer the probe within this (discover/probe.c) */
	char fsstate[16], fssize[24], fsfree[24]; /* a FAT's state and space, read by the probe */
};

struct devtab {
	struct blockdev *d;
	int n;
};

/* List block devices from sysroot/class/block ("/sys" in the image; a fake tree in tests),
 * skipping ram, zram, rpmb, mmc boot partitions, loop devices without a backing file and
 * zero-size devices. Sorted by name (vda2 before vda10). Returns the count or -errno. */
int blockdev_list(const char *sysroot, struct devtab *t);
/* Probe one device with libblkid (TYPE, UUID, LABEL, PARTUUID, PARTLABEL). */
void blockdev_probe(struct blockdev *d);
/* Probe every device of the table, reading each disk's partition table once. */
void blockdev_probe_all(struct devtab *t);
/* The same, calling each(d, arg) as each device's probe ends (NULL: nothing is called). */
void blockdev_probe_each(struct devtab *t, void (*each)(struct blockdev *d, void *arg), void *arg);
void devtab_free(struct devtab *t);

/* The device an fstab spec names: UUID=, LABEL=, PARTUUID=, PARTLABEL=, /dev/disk/by-*,
 * /dev/NAME, and what assembly made: /dev/mapper/NAME and /dev/VG/LV by device-mapper name,
 * any other /dev path (/dev/md/NAME, a link) by the device number of the node it reaches.
 * Returns the device, or NULL; *locked = 1 for unresolved /dev/mapper/ names (an unlock),
 * *ambiguous = 1 when two devices answer to the name and neither or both are on prefer_disk
 * (the disk the system was found on; NULL for none). */
const struct blockdev *devtab_resolve(const struct devtab *t, const char *spec,
				      const char *prefer_disk, int *locked, int *ambiguous);
/* udev's name encoding for /dev/disk/by-* links: bytes outside [A-Za-z0-9#+-.:=@_] and
 * outside valid UTF-8 become \xNN (a space is \x20, '/' is \x2f). Writes into out. */
void udev_encode(const char *s, char *out, size_t size);
/* Decode \xNN escapes (udev links) in place. */
char *udev_decode(char *s);
/* Create dir/by-uuid, by-label, by-partuuid, by-partlabel links ("../../vda2"). Existing links
 * are kept (the first device with a name wins, as with udev's priority ties). Returns the
 * number created or -errno. */
int disk_links_create(const char *dir, const struct devtab *t);

#endif
