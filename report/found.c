#include "report/found.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

static void gen_fill(struct found_gen *g, const struct record *r)
{
	g->rec = r;
	g->number = (int)record_int(r, "number", -1);
	g->current = record_int(r, "current", 0) == 1;
	g->date = record_int(r, "date", 0);
	g->profile = record_str(r, "profile");
	if (!*g->profile)
		g->profile = "system";
	g->version = record_str(r, "version");
	g->toplevel = record_str(r, "toplevel");
	g->spec = record_str(r, "specialisation");
	g->status = record_str(r, "status");
	g->reason = record_str(r, "reason");
}

static int newest_first(const void *a, const void *b)
{
	const struct found_gen *x = a, *y = b;
	if (x->number != y->number)
		return x->number < y->number ? 1 : -1;
	return strcmp(x->spec, y->spec);
}

static int by_profile_newest_first(const void *a, const void *b)
{
	const struct found_gen *x = a, *y = b;
	int c = strcmp(x->profile, y->profile);
	return c ? c : newest_first(a, b);
}

static void add_gen(struct found_gen **v, int *n, const struct found_gen *g)
{
	*v = xrealloc(*v, sizeof(*g) * (size_t)(*n + 1));
	(*v)[(*n)++] = *g;
}

/* Where a system's store device comes among the device records: a report streamed in the order
 * inspections ended is shown in the order of the disks, as a report written in device order. */
static int device_rank(const struct found *f, const struct found_sys *s)
{
	const char *dev = *s->nix ? s->nix : s->root;
	int rank = 0;
	for (int i = report_next(&f->rep, "device", -1); i >= 0; i = report_next(&f->rep, "device", i), rank++)
		if (*dev && !strcmp(record_str(&f->rep.r[i], "path"), dev))
			return rank;
	return rank;
}

/* Stable (an insertion sort: a handful of systems), so systems of one device keep report order. */
static void sort_by_device(struct found *f)
{
	int *rank = xcalloc((size_t)f->n_sys + 1, sizeof(*rank));
	for (int i = 0; i < f->n_sys; i++)
		rank[i] = device_rank(f, &f->sys[i]);
	for (int i = 1; i < f->n_sys; i++)
		for (int j = i; j > 0 && rank[j - 1] > rank[j]; j--) {
			struct found_sys t = f->sys[j];
			f->sys[j] = f->sys[j - 1];
			f->sys[j - 1] = t;
			int r = rank[j];
			rank[j] = rank[j - 1];
			rank[j - 1] = r;
		}
	free(rank);
}

int found_load(struct found *f, const char *text)
{
	memset(f, 0, sizeof(*f));
	int n = report_parse(&f->rep, text);
	if (n < 0)
		return n;
	const struct report *rep = &f->rep;
	for (int i = report_next(rep, "system", -1); i >= 0; i = report_next(rep, "system", i)) {
		const struct record *r = &rep->r[i];
		f->sys = xrealloc(f->sys, sizeof(*f->sys) * (size_t)(f->n_sys + 1));
		struct found_sys *s = &f->sys[f->n_sys++];
		memset(s, 0, sizeof(*s));
		s->rec = r;
		s->id = (int)record_int(r, "id", f->n_sys);
		s->host = record_str(r, "host");
		s->version = record_str(r, "version");
		s->layout = record_str(r, "layout");
		s->root = record_str(r, "root");
		s->nix = record_str(r, "nix");
		s->esp = record_str(r, "esp");
		s->current = (int)record_int(r, "current", -1);
	}
	int devices = 0, problems = 0;
	for (int i = 0; i < rep->n; i++) {
		const struct record *r = &rep->r[i];
		if (!strcmp(r->kind, "device"))
			devices++;
		else if (!strcmp(r->kind, "problem"))
			problems++;
		else if (!strcmp(r->kind, "done"))
			f->complete = 1;
		if (strcmp(r->kind, "generation"))
			continue;
		struct found_sys *s = (struct found_sys *)found_by_id(f, (int)record_int(r, "system", -1));
		if (!s)
			continue;
		struct found_gen g;
		gen_fill(&g, r);
		/* The menu lists the system profile; named profiles are for `lifeboat boot --profile`. */
		if (strcmp(g.profile, "system"))
			add_gen(&s->named, &s->n_named, &g);
		else if (*g.spec)
			add_gen(&s->specs, &s->n_specs, &g);
		else
			add_gen(&s->gens, &s->n_gens, &g);
	}
	for (int i = 0; i < f->n_sys; i++) {
		struct found_sys *s = &f->sys[i];
		if (s->n_gens)
			qsort(s->gens, (size_t)s->n_gens, sizeof(*s->gens), newest_first);
		if (s->n_specs)
			qsort(s->specs, (size_t)s->n_specs, sizeof(*s->specs), newest_first);
		if (s->n_named)
			qsort(s->named, (size_t)s->n_named, sizeof(*s->named), by_profile_newest_first);
		if (s->current < 0)
			for (int j = 0; j < s->n_gens; j++)
				if (s->gens[j].current)
					s->current = s->gens[j].number;
	}
	int d = report_next(rep, "done", -1);
	f->devices = d >= 0 ? (int)record_int(&rep->r[d], "devices", devices) : devices;
	f->problems = d >= 0 ? (int)record_int(&rep->r[d], "problems", problems) : problems;
	sort_by_device(f);
	return f->n_sys;
}

void found_free(struct found *f)
{
	for (int i = 0; i < f->n_sys; i++) {
		free(f->sys[i].gens);
		free(f->sys[i].specs);
		free(f->sys[i].named);
	}
	free(f->sys);
	report_free(&f->rep);
	memset(f, 0, sizeof(*f));
}

const struct found_sys *found_by_id(const struct found *f, int id)
{
	for (int i = 0; i < f->n_sys; i++)
		if (f->sys[i].id == id)
			return &f->sys[i];
	return NULL;
}

const struct record *found_device(const struct found *f, const char *path)
{
	if (!path || !*path)
		return NULL;
	for (int i = report_next(&f->rep, "device", -1); i >= 0; i = report_next(&f->rep, "device", i))
		if (!strcmp(record_str(&f->rep.r[i], "path"), path))
			return &f->rep.r[i];
	return NULL;
}

const struct found_gen *found_gen(const struct found_sys *s, int number)
{
	if (number < 0)
		number = s->current;
	for (int i = 0; i < s->n_gens; i++)
		if (s->gens[i].number == number)
			return &s->gens[i];
	return NULL;
}

const struct found_gen *found_spec(const struct found_sys *s, int number, const char *name)
{
	for (int i = 0; i < s->n_specs; i++)
		if (s->specs[i].number == number && !strcmp(s->specs[i].spec, name))
			return &s->specs[i];
	return NULL;
}

const struct record *found_problem(const struct found *f, int n)
{
	for (int i = report_next(&f->rep, "problem", -1); i >= 0; i = report_next(&f->rep, "problem", i))
		if (n-- == 0)
			return &f->rep.r[i];
	return NULL;
}

int found_mounts(const struct found *f, int id, int number, const struct record **out, int max)
{
	int n = 0;
	for (int i = report_next(&f->rep, "mount", -1); i >= 0; i = report_next(&f->rep, "mount", i)) {
		const struct record *r = &f->rep.r[i];
		if (record_int(r, "system", -1) != id || record_int(r, "number", -1) != number)
			continue;
		if (n < max)
			out[n] = r;
		n++;
	}
	return n;
}

/* Is dev one of the comma-separated paths in list? */
static int in_list(const char *list, const char *dev)
{
	size_t l = strlen(dev);
	for (const char *p = list; p && *p;) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n == l && !strncmp(p, dev, l))
			return 1;
		p = e ? e + 1 : NULL;
	}
	return 0;
}

const struct record *found_btrfs_of(const struct found *f, const char *dev)
{
	for (int i = report_next(&f->rep, "btrfs", -1); i >= 0; i = report_next(&f->rep, "btrfs", i))
		if (dev && in_list(record_str(&f->rep.r[i], "members"), dev))
			return &f->rep.r[i];
	return NULL;
}

static void why_set(char *why, size_t size, const char *fmt, ...) LB_PRINTF(3, 4);
static void why_set(char *why, size_t size, const char *fmt, ...)
{
	if (!why || !size || *why)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, size, fmt, ap);
	va_end(ap);
}

static int degraded_at(const struct found *f, const char *dev, int depth, char *why, size_t size)
{
	const struct report *rep = &f->rep;
	int bits = 0;
	if (!dev || !*dev || depth > 6)
		return 0;
	for (int i = 0; i < rep->n; i++) {
		const struct record *r = &rep->r[i];
		const char *st = record_str(r, "state");
		if (!strcmp(r->kind, "btrfs") && !strcmp(st, "degraded") && in_list(record_str(r, "members"), dev)) {
			bits |= FOUND_DEG_BTRFS;
			why_set(why, size, "btrfs %s is missing a member device (present: %s)", record_str(r, "uuid"),
				record_str(r, "members"));
		} else if (!strcmp(r->kind, "array") && strcmp(st, "clean") &&
			   (!strcmp(record_str(r, "path"), dev) || !strcmp(record_str(r, "link"), dev))) {
			bits |= FOUND_DEG_MD;
			why_set(why, size, "md array %s runs without member(s) %s", record_str(r, "path"),
				record_str(r, "missing"));
		} else if (!strcmp(r->kind, "lv") && (!strcmp(record_str(r, "path"), dev) ||
						      !strcmp(record_str(r, "link"), dev))) {
			if (strcmp(st, "complete")) {
				bits |= FOUND_DEG_LV;
				why_set(why, size, "LV %s has parts on a missing PV (%s)", record_str(r, "path"), st);
			}
			for (int j = report_next(rep, "vg", -1); j >= 0; j = report_next(rep, "vg", j))
				if (!strcmp(record_str(&rep->r[j], "name"), record_str(r, "vg")) &&
				    strcmp(record_str(&rep->r[j], "state"), "complete")) {
					bits |= FOUND_DEG_VG;
					why_set(why, size, "volume group %s has a PV missing", record_str(r, "vg"));
				}
			/* The PVs it is on: one may be a degraded array. */
			char *copy = xstrdup(record_str(r, "devices")), *save = copy, *pv;
			while ((pv = strsep(&save, ",")))
				if (*pv)
					bits |= degraded_at(f, pv, depth + 1, why, size);
			free(copy);
		} else if (!strcmp(r->kind, "luks") && !strcmp(record_str(r, "mapper"), dev)) {
			bits |= degraded_at(f, record_str(r, "path"), depth + 1, why, size);
		}
	}
	return bits;
}

const struct record *found_lv(const struct found *f, const char *dev)
{
	for (int i = report_next(&f->rep, "lv", -1); dev && i >= 0; i = report_next(&f->rep, "lv", i))
		if (!strcmp(record_str(&f->rep.r[i], "path"), dev) || !strcmp(record_str(&f->rep.r[i], "link"), dev))
			return &f->rep.r[i];
	return NULL;
}

int found_degraded(const struct found *f, const char *dev, char *why, size_t size)
{
	if (why && size)
		*why = 0;
	return degraded_at(f, dev, 0, why, size);
}

int found_sys_degraded(const struct found *f, const struct found_sys *s)
{
	int bits = found_degraded(f, s->root, NULL, 0) | found_degraded(f, s->nix, NULL, 0);
	for (int i = report_next(&f->rep, "mount", -1); i >= 0; i = report_next(&f->rep, "mount", i)) {
		const struct record *r = &f->rep.r[i];
		if (record_int(r, "system", -1) == s->id && record_int(r, "number", -1) == s->current)
			bits |= found_degraded(f, record_get(r, "source"), NULL, 0);
	}
	return bits;
}
