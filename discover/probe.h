/* The scan's reads of each disk before any inspection (its partition table, the superblocks
 * libblkid looks at, a FAT's state) in a child per disk with a deadline, a few disks at once. A
 * disk that does not answer (a dying disk retrying every sector, a hung controller) costs its
 * own deadline: its devices come back with silent_ms set and no type, the others as probed. */
#ifndef LB_PROBE_H
#define LB_PROBE_H

#include "discover/blockdev.h"

/* Probe every device of t: each disk with its partitions in one child, at most parallel
 * children at once, each given timeout_ms from its start. */
void probe_disks(struct devtab *t, int timeout_ms, int parallel);

#endif
