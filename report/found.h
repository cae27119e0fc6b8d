/* What a scan found, as the menu, `lifeboat enter` and `lifeboat boot` use it: the scan report's
 * records gathered per system, generations sorted newest first, systems in the order of their
 * devices (a streamed report lists them as their inspections end). Every string points into the
 * parsed report and is raw (unescaped) disk data: escape it before printing. */
#ifndef LB_FOUND_H
#define LB_FOUND_H

#include "report/record.h"

struct found_gen {
	const struct record *rec;
	int number;
	int current;
	long long date;
	const char *profile; /* "system", or a named profile's name */
	const char *version, *toplevel, *spec, *status, *reason;
};

struct found_sys {
	const struct record *rec;
	int id;
	const char *host, *version, *layout, *root, *nix, *esp;
	int current;
	struct found_gen *gens; /* base generations of the system profile, newest first */
	int n_gens;
	struct found_gen *specs; /* specialisations of every generation, newest first */
	int n_specs;
	struct found_gen *named; /* generations of named profiles, by profile then newest first */
	int n_named;
};

struct found {
	struct report rep;
	struct found_sys *sys;
	int n_sys;
	int devices, problems; /* from the done record, else counted */
	int complete;          /* the report ends with its done record */
};

/* Parse report text into f. Returns the number of systems or -errno. */
int found_load(struct found *f, const char *text);
void found_free(struct found *f);
/* The system with report id `id`, or NULL. */
const struct found_sys *found_by_id(const struct found *f, int id);
/* The device record of path, or NULL. */
const struct record *found_device(const struct found *f, const char *path);
/* A generation of s by number (-1: the current one); NULL when absent. */
const struct found_gen *found_gen(const struct found_sys *s, int number);
/* A specialisation of generation `number` by name; NULL when absent. */
const struct found_gen *found_spec(const struct found_sys *s, int number, const char *name);
/* The btrfs record (a multi-device btrfs) listing dev among its members, or NULL. */
const struct record *found_btrfs_of(const struct found *f, const char *dev);
/* The n-th problem record (n from 0), or NULL. */
const struct record *found_problem(const struct found *f, int n);
/* The mount records of system id for generation number, in report order (count returned; at
 * most max filled). */
int found_mounts(const struct found *f, int id, int number, const struct record **out, int max);
/* What under device dev runs without all its parts, from the assembly records (array, btrfs,
 * vg, lv, luks: docs/assemble.md), following LVs to their PVs and LUKS mappings to what they
 * are on: 0 when nothing, else FOUND_DEG_* bits; why (may be NULL) gets one line naming the
 * first such layer. The one place that decides what "degraded" means for menu and enter. */
enum {
	FOUND_DEG_BTRFS = 1 << 0, /* a multi-device btrfs with a member missing: mounts `degraded` */
	FOUND_DEG_MD = 1 << 1,    /* an md array running with a member missing (or not started) */
	FOUND_DEG_VG = 1 << 2,    /* an LV of a volume group with a PV missing; the LV itself whole */
	FOUND_DEG_LV = 1 << 3,    /* an LV with a part on a missing PV: data is missing */
};
int found_degraded(const struct found *f, const char *dev, char *why, size_t size);
/* The lv record (discover/assemble.c) of an LV named dev (/dev/mapper/VG-LV or /dev/VG/LV), or
 * NULL. */
const struct record *found_lv(const struct found *f, const char *dev);
/* found_degraded over everything system s mounts (its root, /nix, the current generation's
 * mount records): the bits of all of them. */
int found_sys_degraded(const struct found *f, const struct found_sys *s);

#endif
