#include "report/select.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/escape.h"
#include "lib/util.h"

static int say(char *why, size_t size, int err, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int say(char *why, size_t size, int err, const char *fmt, ...)
{
	if (why && size) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(why, size, fmt, ap);
		va_end(ap);
	}
	return -err;
}

static const char *field(const struct record *r, const char *key)
{
	const char *v = r ? record_get(r, key) : NULL;
	return v ? v : "";
}

/* "1 (laptop)": a system as the menu shows it, its host name escaped. */
static const char *sys_name(const struct found_sys *s, char *buf, size_t size)
{
	char host[72];
	if (*s->host)
		snprintf(buf, size, "%d (%s)", s->id, term_escape(s->host, host, sizeof(host), 40));
	else
		snprintf(buf, size, "%d", s->id);
	return buf;
}

/* A non-negative decimal that fits an int, else -1. */
static int number_of(const char *s)
{
	if (!s || !*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 9)
		return -1;
	return atoi(s);
}

/* udev's link names escape bytes as \xNN: the label "my disk" is by-label/my\x20disk. */
static void unescape_link(const char *in, char *out, size_t size)
{
	size_t n = 0;
	while (*in && n + 1 < size) {
		unsigned v;
		if (in[0] == '\\' && in[1] == 'x' && sscanf(in + 2, "%2x", &v) == 1 && in[2] && in[3]) {
			out[n++] = (char)v;
			in += 4;
		} else {
			out[n++] = *in++;
		}
	}
	out[n] = 0;
}

static int tag_is(const char *key, const char *have, const char *want)
{
	if (!have || !*have || !*want)
		return 0;
	/* UUIDs are compared without regard to case, as blkid and udev print them differently. */
	if (!strcmp(key, "uuid") || !strcmp(key, "partuuid"))
		return !strcasecmp(have, want);
	return !strcmp(have, want);
}

/* Does the root or /nix device of s carry this tag (uuid, label...) with this value? */
static int has_tag(const struct found *f, const struct found_sys *s, const char *key, const char *want)
{
	const char *devs[] = {s->root, s->nix};
	for (size_t i = 0; i < ARRAY_SIZE(devs); i++) {
		const struct record *d = found_device(f, devs[i]);
		if (d && tag_is(key, record_get(d, key), want))
			return 1;
	}
	/* The system record names its root's tags even when no device record does (tmpfs, btrfs). */
	if (!strcmp(key, "uuid"))
		return tag_is(key, field(s->rec, "rootuuid"), want);
	if (!strcmp(key, "label"))
		return tag_is(key, field(s->rec, "rootlabel"), want);
	return 0;
}

static int is_dev(const struct found_sys *s, const char *path)
{
	return path && ((*s->root && !strcmp(path, s->root)) || (*s->nix && !strcmp(path, s->nix)));
}

/* real: `which` with its links resolved (/dev/disk/by-id/... to /dev/vda2), or NULL. */
static int sys_matches(const struct found *f, const struct found_sys *s, const char *which, const char *real)
{
	static const struct {
		const char *prefix, *key;
		int link;
	} tags[] = {
		{"UUID=", "uuid", 0},
		{"LABEL=", "label", 0},
		{"PARTUUID=", "partuuid", 0},
		{"PARTLABEL=", "partlabel", 0},
		{"/dev/disk/by-uuid/", "uuid", 1},
		{"/dev/disk/by-label/", "label", 1},
		{"/dev/disk/by-partuuid/", "partuuid", 1},
		{"/dev/disk/by-partlabel/", "partlabel", 1},
	};
	for (size_t i = 0; i < ARRAY_SIZE(tags); i++) {
		if (!startswith(which, tags[i].prefix))
			continue;
		const char *want = which + strlen(tags[i].prefix);
		char buf[256];
		if (tags[i].link) {
			unescape_link(want, buf, sizeof(buf));
			want = buf;
		}
		return has_tag(f, s, tags[i].key, want) || is_dev(s, real);
	}
	if (which[0] == '/')
		return is_dev(s, which) || is_dev(s, real);
	return !strcmp(which, s->host);
}

/* Append "1 (laptop) on /dev/vda2" to a list of candidates. */
static void list_add(char *list, size_t size, const struct found_sys *s)
{
	char name[96], dev[72];
	size_t l = strlen(list);
	if (l + 8 >= size)
		return;
	const char *where = *s->root ? s->root : *s->nix ? s->nix : "-";
	int n = snprintf(list + l, size - l, "%s%s on %s", l ? ", " : "", sys_name(s, name, sizeof(name)),
			 term_escape(where, dev, sizeof(dev), 40));
	if (n < 0 || (size_t)n >= size - l)
		snprintf(list + (size - 5), 5, "...");
}

int select_system(const struct found *f, const char *which, char *why, size_t size)
{
	if (why && size)
		why[0] = 0;
	/* An id first: the menu names systems by id, and a host name made of digits must not take
	 * the place of the system the menu meant. */
	int id = number_of(which);
	for (int i = 0; id >= 0 && i < f->n_sys; i++)
		if (f->sys[i].id == id)
			return i;
	char *real = which && which[0] == '/' ? realpath(which, NULL) : NULL;
	char all[600] = "", matched[600] = "";
	int hit = -1, count = 0, live = -1, n_live = 0;
	for (int i = 0; i < f->n_sys; i++) {
		list_add(all, sizeof(all), &f->sys[i]);
		if (which && *which && sys_matches(f, &f->sys[i], which, real)) {
			list_add(matched, sizeof(matched), &f->sys[i]);
			if (!count++)
				hit = i;
			/* A snapshot holding its own profile is listed as a system (an older state), but a
			 * name shared with the system it was taken of means that system. */
			if (strcmp(field(f->sys[i].rec, "snapshot"), "1") && !n_live++)
				live = i;
		}
	}
	free(real);
	if (count == 1)
		return hit;
	if (count > 1 && n_live == 1)
		return live;
	if (!count)
		return say(why, size, ENOENT,
			   "matches no system found (by id, host name, UUID=, LABEL=, PARTUUID=, PARTLABEL= "
			   "or device); found: %s", *all ? all : "none");
	return say(why, size, EEXIST, "matches %d systems: %s; name one by its id, UUID= or device", count,
		   matched);
}

void select_key(const struct found_sys *s, char *buf, size_t size)
{
	snprintf(buf, size, "%s//%s//%s", s->nix, field(s->rec, "nixsubvol"), field(s->rec, "nixprefix"));
}

static int key_is(const struct found_sys *s, const char *key)
{
	char k[SELECT_KEY_MAX];
	select_key(s, k, sizeof(k));
	return !strcmp(k, key);
}

int select_system_as(const struct found *f, const char *which, const char *key, char *why, size_t size)
{
	int i = select_system(f, which, why, size);
	if (!key || !*key || (i >= 0 && key_is(&f->sys[i], key)))
		return i;
	for (int k = 0; k < f->n_sys; k++)
		if (key_is(&f->sys[k], key))
			return k;
	/* The key's first part is the device: enough for the user to know which disk changed. */
	char dev[256], ed[300];
	const char *sep = strstr(key, "//");
	snprintf(dev, sizeof(dev), "%.*s", sep ? (int)(sep - key) : (int)strlen(key), key);
	return say(why, size, ENOENT,
		   "is no longer the system chosen (on %s): the disks have changed since (a rescan, an "
		   "unlock, a disk added or removed); choose the system again",
		   *dev ? term_escape(dev, ed, sizeof(ed), 200) : "no device");
}

/* The record of generation number of profile with specialisation spec ("" for the base). */
static const struct found_gen *gen_lookup(const struct found_sys *s, const char *profile, int number,
					  const char *spec, int *any)
{
	int named = strcmp(profile, "system") != 0;
	const struct found_gen *v[2] = {named ? s->named : s->gens, named ? s->named : s->specs};
	int n[2] = {named ? s->n_named : s->n_gens, named ? s->n_named : s->n_specs};
	const struct found_gen *hit = NULL;
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < n[k]; i++) {
			const struct found_gen *g = &v[k][i];
			if (g->number != number || strcmp(g->profile, profile))
				continue;
			*any = 1;
			if (!hit && !strcmp(g->spec, spec))
				hit = g;
		}
	return hit;
}

static int current_of(const struct found_sys *s, const char *profile)
{
	if (!strcmp(profile, "system"))
		return s->current;
	for (int i = 0; i < s->n_named; i++)
		if (s->named[i].current && !strcmp(s->named[i].profile, profile))
			return s->named[i].number;
	return -1;
}

/* ": a, b" listing the specialisations of a generation, or " (it has none)". */
static void spec_list(const struct found_sys *s, const char *profile, int number, char *buf, size_t size)
{
	int named = strcmp(profile, "system") != 0;
	const struct found_gen *v = named ? s->named : s->specs;
	int n = named ? s->n_named : s->n_specs;
	snprintf(buf, size, " (it has none)");
	size_t l = 0;
	for (int i = 0; i < n; i++) {
		if (v[i].number != number || !*v[i].spec || strcmp(v[i].profile, profile) || l + 8 >= size)
			continue;
		char e[64];
		int w = snprintf(buf + l, size - l, "%s%s", l ? ", " : " (it has: ", term_escape(v[i].spec, e, sizeof(e), 40));
		l = w < 0 || (size_t)w >= size - l ? size - 1 : l + (size_t)w;
	}
	if (l && l + 2 < size)
		snprintf(buf + l, size - l, ")");
}

const struct found_gen *select_generation(const struct found_sys *s, const char *profile,
					  const char *generation, const char *spec, char *why,
					  size_t size)
{
	char name[96], in[96] = "", eg[72], es[72];
	sys_name(s, name, sizeof(name));
	if (!profile || !*profile)
		profile = "system";
	if (strcmp(profile, "system"))
		snprintf(in, sizeof(in), " in profile %s", term_escape(profile, eg, sizeof(eg), 40));
	if (why && size)
		why[0] = 0;
	int number = -1, by_name = 0;
	if (!spec)
		spec = "";
	if (generation && *generation) {
		number = number_of(generation);
		if (number < 0 && *spec) {
			say(why, size, EINVAL, "'%s' is not a generation number",
			    term_escape(generation, eg, sizeof(eg), 40));
			return NULL;
		}
		if (number < 0) {
			/* lifeboat.generation=NAME: a specialisation of the current generation. */
			spec = generation;
			by_name = 1;
		}
	}
	if (number < 0)
		number = current_of(s, profile);
	if (number < 0) {
		say(why, size, ENOENT, "system %s has no current generation%s", name, in);
		return NULL;
	}
	int any = 0;
	const struct found_gen *g = gen_lookup(s, profile, number, spec, &any);
	if (g)
		return g;
	term_escape(spec, es, sizeof(es), 40);
	if (by_name)
		say(why, size, ENOENT, "'%s' is neither a generation number nor a specialisation of generation %d "
			"(the current one) of system %s", es, number, name);
	else if (!any || !*spec)
		say(why, size, ENOENT, "system %s has no generation %d%s", name, number, in);
	else {
		char list[200];
		spec_list(s, profile, number, list, sizeof(list));
		say(why, size, ENOENT, "generation %d of system %s has no specialisation '%s'%s", number, name,
		    es, list);
	}
	return NULL;
}
