/* Drivers for the devices that are there (coldplug) and the ones that come later (uevents). */
#ifndef LB_COLDPLUG_H
#define LB_COLDPLUG_H

#include "lib/modules.h"

/* Walk sysfs_root (normally /sys/devices) and call fn for every modalias found (the worker queues
 * their modules in a lib/modpool.h pool). Returns the sum of fn's positive returns, or -errno. */
int coldplug_walk(const char *sysfs_root, int (*fn)(const char *modalias, void *ctx), void *ctx);
/* A netlink socket receiving kernel uevents; -errno on failure. */
int uevent_open(void);

struct uevent {
	char action[16];
	char subsystem[32];
	char devtype[16];
	char devname[64];
	char modalias[256];
	int virtual_dev; /* DEVPATH is under /devices/virtual (sysblock_path_virtual) */
	unsigned long long seqnum; /* the kernel's number for this event (SEQNUM), 0 if absent */
};
/* The number of the last uevent the kernel has sent (/sys/kernel/uevent_seqnum), or -errno. Every
 * uevent is numbered from this counter as it is broadcast: when the last event read carries it,
 * nothing the kernel has said is still queued for us. */
long long uevent_seqnum_now(void);
/* Read one uevent (non-blocking socket); 1 when read, 0 when none pending, -errno. */
int uevent_read(int fd, struct uevent *ev);

#endif
