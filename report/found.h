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
/* The n-th problem record (n from 0), or NULL. */
const struct record *found_problem(const struct found *f, int n);
/* The mount records of system id for generation number, in report order (count returned; at
 * most max filled). */
int found_mounts(const struct found *f, int id, int number, const struct record **out, int max);

#endif
