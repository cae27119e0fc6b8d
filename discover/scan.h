/* The whole scan: list and probe block devices, inspect each filesystem in a child with a time
 * limit, pair separate /nix filesystems with their roots, and write the report
 * (docs/scan-report.md). */
#ifndef LB_SCAN_H
#define LB_SCAN_H

#include <stdio.h>

/* Inspections run at once by default: enough to overlap the reads of a few mounts, few enough
 * that a machine with 128 MiB and dozens of partitions is not flooded. */
#define SCAN_JOBS 4

struct scan_opts {
	const char *sysroot;    /* "/sys" */
	const char *inspect_dir; /* "/run/lifeboat/inspect" */
	const char *links_dir;  /* "/dev/disk" to create by-* links, or NULL */
	int timeout_ms;         /* per device */
	int blkro;              /* set devices read-only (BLKROSET) while inspecting */
	const char *fault;      /* test hook: "NAME:hang" or "NAME:crash" */
	int load_modules;       /* load filesystem drivers first (in the image only) */
	int jobs;               /* inspections at once; 0: SCAN_JOBS */
	FILE *progress;         /* a line per device for a person ("inspecting vda2 ... done"), or NULL */
	int assemble;           /* start md arrays and LVM VGs first (in the image only: discover/assemble.c) */
	int luks;               /* describe LUKS devices with cryptsetup (in the image only: discover/luks.c) */
};

/* Writes the report to out as it goes: the device records first, then each device's systems as
 * its inspection ends (flushed then), done last. Returns the number of systems found, or -errno
 * when devices cannot be listed at all (the report then holds a problem and done line). */
int scan_run(FILE *out, const struct scan_opts *o);

#endif
