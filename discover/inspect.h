/* Inspecting one filesystem, in a child process: mount it read-only with journal replay off,
 * look for NixOS (at its top, as a separate /nix, in every btrfs subvolume), write what it found
 * as report lines, unmount. */
#ifndef LB_INSPECT_H
#define LB_INSPECT_H

#include <stdio.h>

#include "discover/blockdev.h"

struct inspect_args {
	const struct blockdev *dev;
	const struct devtab *devs; /* for resolving the mount plan */
	const char *dir;           /* /run/lifeboat/inspect */
	int cand;                  /* first candidate number to use */
};

/* The child's body (for child_run). Writes problem, generation, mount and found records. */
int inspect_child(FILE *out, void *arg);
/* Look for NixOS in a tree already open at fsfd (a filesystem's top or a subvolume); subvol is
 * its name or NULL; viewdir is where a view for a separate /nix may be made (NULL: in tests,
 * where fsfd already is a view). Writes records; returns the number of systems found. */
int inspect_tree(FILE *out, int fsfd, const char *subvol, const struct blockdev *dev,
		 const struct devtab *devs, const char *viewdir, int *cand);

#endif
