#include "report/found.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/util.h"

static const char *get(const struct record *r, const char *key)
{
	const char *v = record_get(r, key);
	return v ? v : "";
}

static void gen_fill(struct found_gen *g, const struct record *r)
{
	g->rec = r;
	g->number = (int)record_int(r, "number", -1);
	g->current = record_int(r, "current", 0) == 1;
	g->date = record_int(r, "date", 0);
	g->version = get(r, "version");
	g->toplevel = get(r, "toplevel");
	g->spec = get(r, "specialisation");
	g->status = get(r, "status");
	g->reason = get(r, "reason");
}

static int newest_first(const void *a, const void *b)
{
	const struct found_gen *x = a, *y = b;
	if (x->number != y->number)
		return x->number < y->number ? 1 : -1;
	return strcmp(x->spec, y->spec);
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
		s->host = get(r, "host");
		s->version = get(r, "version");
		s->layout = get(r, "layout");
		s->root = get(r, "root");
		s->nix = get(r, "nix");
		s->esp = get(r, "esp");
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
		const char *profile = record_get(r, "profile");
		/* Named profiles cannot be booted or entered by number yet; the system profile can. */
		if (!s || (profile && *profile && strcmp(profile, "system")))
			continue;
		struct found_gen g;
		gen_fill(&g, r);
		if (*g.spec) {
			s->specs = xrealloc(s->specs, sizeof(g) * (size_t)(s->n_specs + 1));
			s->specs[s->n_specs++] = g;
		} else {
			s->gens = xrealloc(s->gens, sizeof(g) * (size_t)(s->n_gens + 1));
			s->gens[s->n_gens++] = g;
		}
	}
	for (int i = 0; i < f->n_sys; i++) {
		struct found_sys *s = &f->sys[i];
		if (s->n_gens)
			qsort(s->gens, (size_t)s->n_gens, sizeof(*s->gens), newest_first);
		if (s->n_specs)
			qsort(s->specs, (size_t)s->n_specs, sizeof(*s->specs), newest_first);
		if (s->current < 0)
			for (int j = 0; j < s->n_gens; j++)
				if (s->gens[j].current)
					s->current = s->gens[j].number;
	}
	int d = report_next(rep, "done", -1);
	f->devices = d >= 0 ? (int)record_int(&rep->r[d], "devices", devices) : devices;
	f->problems = d >= 0 ? (int)record_int(&rep->r[d], "problems", problems) : problems;
	return f->n_sys;
}

void found_free(struct found *f)
{
	for (int i = 0; i < f->n_sys; i++) {
		free(f->sys[i].gens);
		free(f->sys[i].specs);
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

static const struct record *device(const struct found *f, const char *path)
{
	if (!path || !*path)
		return NULL;
	for (int i = report_next(&f->rep, "device", -1); i >= 0; i = report_next(&f->rep, "device", i))
		if (!strcmp(get(&f->rep.r[i], "path"), path))
			return &f->rep.r[i];
	return NULL;
}

/* Does a device of the system carry this tag (uuid, label...) with this value? */
static int tag_matches(const struct found *f, const struct found_sys *s, const char *key, const char *want)
{
	const char *devs[] = {s->root, s->nix};
	for (size_t i = 0; i < ARRAY_SIZE(devs); i++) {
		const struct record *d = device(f, devs[i]);
		const char *v = d ? record_get(d, key) : NULL;
		/* UUIDs are compared without regard to case, as blkid and udev print them differently. */
		if (v && *v && (!strcmp(key, "uuid") || !strcmp(key, "partuuid") ? !strcasecmp(v, want)
										  : !strcmp(v, want)))
			return 1;
	}
	/* The system record names its root's tags even when no device record does (tmpfs, btrfs). */
	if (!strcmp(key, "uuid") && !strcasecmp(get(s->rec, "rootuuid"), want) && *want)
		return 1;
	if (!strcmp(key, "label") && !strcmp(get(s->rec, "rootlabel"), want) && *want)
		return 1;
	return 0;
}

static int sys_matches(const struct found *f, const struct found_sys *s, const char *which)
{
	static const struct {
		const char *prefix, *key;
	} tags[] = {
		{"UUID=", "uuid"},
		{"LABEL=", "label"},
		{"PARTUUID=", "partuuid"},
		{"PARTLABEL=", "partlabel"},
		{"/dev/disk/by-uuid/", "uuid"},
		{"/dev/disk/by-label/", "label"},
		{"/dev/disk/by-partuuid/", "partuuid"},
		{"/dev/disk/by-partlabel/", "partlabel"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(tags); i++)
		if (startswith(which, tags[i].prefix))
			return tag_matches(f, s, tags[i].key, which + strlen(tags[i].prefix));
	if (which[0] == '/')
		return !strcmp(which, s->root) || !strcmp(which, s->nix);
	return !strcmp(which, s->host);
}

int found_match(const struct found *f, const char *which)
{
	int hit = -ENOENT;
	if (!which || !*which)
		return -ENOENT;
	for (int i = 0; i < f->n_sys; i++) {
		if (!sys_matches(f, &f->sys[i], which))
			continue;
		if (hit >= 0)
			return -EEXIST;
		hit = i;
	}
	return hit;
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
