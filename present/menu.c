#include "present/menu.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "act/fscheck.h"
#include "lib/escape.h"
#include "lib/fsstate.h"
#include "lib/util.h"
#include "present/term.h"

static struct menu_item *add(struct menu *m, const char *key, enum menu_act act, const char *fmt, ...)
	LB_PRINTF(4, 5);
static struct menu_item *add(struct menu *m, const char *key, enum menu_act act, const char *fmt, ...)
{
	static struct menu_item spare;
	if (m->n >= MENU_MAX_ITEMS)
		return &spare;
	struct menu_item *it = &m->items[m->n++];
	snprintf(it->key, sizeof(it->key), "%s", key);
	it->act = act;
	it->sys = it->gen = it->spec = -1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(it->text, sizeof(it->text), fmt, ap);
	va_end(ap);
	return it;
}

/* Escape s for the terminal and pad or cut it to exactly width columns. */
static const char *col(const char *s, int width, char *buf, size_t size)
{
	if ((size_t)width >= size)
		width = (int)size - 1;
	term_escape(s && *s ? s : "-", buf, size, width);
	size_t n = strlen(buf);
	while (n < (size_t)width)
		buf[n++] = ' ';
	buf[n] = 0;
	return buf;
}

/* The bundled installer's name (/installer/name in the image), so that the entry says what it
 * boots: the NixOS installer, or only the demo one when the image was built without one. */
static char installer_name[48];

void menu_set_installer(const char *name)
{
	if (name && *name)
		term_escape(name, installer_name, sizeof(installer_name), 40);
	else
		installer_name[0] = 0;
}

/* Remote rescue's lines (addresses, how to connect: net/status.c), shown under the title. */
static char remote_lines[320];

void menu_set_remote(const char *text)
{
	snprintf(remote_lines, sizeof(remote_lines), "%s", text ? text : "");
}

/* A filesystem that would not mount read-only may be the root of a system the scan could not
 * find: offer its check and repair from the main page. */
static void devrepair_lines(struct menu *m)
{
	const struct record *p;
	int shown = 0;
	for (int i = 0; m->f && (p = found_problem(m->f, i)) && shown < 9; i++) {
		const char *what = record_get(p, "what"), *dev = record_get(p, "path");
		if (!what || strcmp(what, "mount") || !dev || strncmp(dev, "/dev/", 5))
			continue;
		char key[16], d[32];
		snprintf(key, sizeof(key), "c%d", ++shown);
		struct menu_item *it = add(m, key, ACT_DEVREPAIR, "check / repair %s (it does not mount)",
					   term_escape(dev, d, sizeof(d), 28));
		it->gen = i;
	}
}

/* Locked LUKS devices: one line each (u1, u2...), and "u" for all of them (one passphrase tried
 * on each); "u" alone when there is one. */
static void unlock_lines(struct menu *m)
{
	const struct found *f = m->f;
	int locked[9], n = 0;
	for (int i = f ? report_next(&f->rep, "luks", -1) : -1; i >= 0 && n < 9; i = report_next(&f->rep, "luks", i)) {
		const char *st = record_get(&f->rep.r[i], "state");
		if (st && !strcmp(st, "locked"))
			locked[n++] = i;
	}
	for (int k = 0; k < n; k++) {
		const struct record *r = &f->rep.r[locked[k]];
		char key[16], dev[32], ver[8], label[40];
		snprintf(key, sizeof(key), n == 1 ? "u" : "u%d", k + 1);
		const char *l = record_get(r, "label");
		struct menu_item *it = add(m, key, ACT_UNLOCK, "unlock %s (LUKS%s, %lld MiB%s%s%s)",
					   term_escape(record_get(r, "path"), dev, sizeof(dev), 24),
					   term_escape(record_get(r, "version"), ver, sizeof(ver), 2),
					   record_int(r, "size", 0) >> 20, l && *l ? ", '" : "",
					   l && *l ? term_escape(l, label, sizeof(label), 24) : "", l && *l ? "'" : "");
		it->gen = locked[k];
	}
	if (n > 1)
		add(m, "u", ACT_UNLOCK, "unlock all %d locked devices (a passphrase is tried on each)", n);
}

static void build_main(struct menu *m)
{
	const struct found *f = m->f;
	for (int i = 0; f && i < f->n_sys; i++) {
		const struct found_sys *s = &f->sys[i];
		char key[16], host[32], ver[32], gen[16], dev[32];
		snprintf(key, sizeof(key), "%d", i + 1);
		if (s->current >= 0)
			snprintf(gen, sizeof(gen), "gen %d", s->current);
		else
			snprintf(gen, sizeof(gen), "no gen");
		/* A system on a layer missing a part says so in its line (report/found.c decides);
		 * the device column then gives the device's last name to make room. */
		const char *where = *s->root ? s->root : s->nix, *slash = strrchr(where, '/');
		char place[48];
		if (found_sys_degraded(f, s))
			snprintf(place, sizeof(place), "%.11s degraded", strlen(where) > 11 && slash ? slash + 1 : where);
		else
			snprintf(place, sizeof(place), "%s", where);
		struct menu_item *it = add(m, key, ACT_SYSTEM, "%s %s %-9s %s", col(s->host, 18, host, sizeof(host)),
					   col(s->version, 22, ver, sizeof(ver)), gen, col(place, 20, dev, sizeof(dev)));
		it->sys = i;
		rstrip(it->text);
	}
	unlock_lines(m);
	devrepair_lines(m);
	add(m, "i", ACT_INSTALLER, "boot %s (kexec)", *installer_name ? installer_name : "the bundled installer");
	add(m, "s", ACT_SHELL, "shell (busybox; type 'exit' to come back)");
	add(m, "d", ACT_RESCAN, "scan the disks again");
	add(m, "l", ACT_LOG, "show the log");
	add(m, "r", ACT_REBOOT, "reboot");
	add(m, "p", ACT_POWEROFF, "power off");
}

static void fmt_date(long long t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (t <= 0 || !gmtime_r(&tt, &tm) || !strftime(buf, size, "%Y-%m-%d %H:%M", &tm))
		snprintf(buf, size, "%-16s", "(no date)");
}

static void gen_line(struct menu *m, const struct found_sys *s, const struct found_gen *g, int spec)
{
	char key[16], date[32], ver[32], note[64] = "";
	if (spec >= 0) {
		/* Specialisations of generation N are Na .. Nz, then Naa, Nab, ... in name order:
		 * letters counted as spreadsheet columns are, so every one has a key of its own. */
		int nth = 0;
		for (int j = 0; j < spec; j++)
			nth += s->specs[j].number == g->number;
		char letters[8];
		int l = (int)sizeof(letters) - 1;
		letters[l] = 0;
		for (int v = nth + 1; v > 0 && l > 0; v = (v - 1) / 26)
			letters[--l] = (char)('a' + (v - 1) % 26);
		snprintf(key, sizeof(key), "%d%s", g->number, letters + l);
	} else {
		snprintf(key, sizeof(key), "%d", g->number);
	}
	int chosen = m->gen == g->number && m->spec == spec;
	if (strcmp(g->status, "ok") && *g->status) {
		char st[24], why[48];
		snprintf(note, sizeof(note), " %s: %s", term_escape(g->status, st, sizeof(st), 16),
			 col(g->reason, 30, why, sizeof(why)));
	}
	struct menu_item *it;
	if (spec >= 0) {
		char name[40];
		it = add(m, key, ACT_GENERATION, "%c   specialisation %s%s", chosen ? '*' : ' ',
			 col(g->spec, 30, name, sizeof(name)), note);
	} else {
		fmt_date(g->date, date, sizeof(date));
		it = add(m, key, ACT_GENERATION, "%c %s  %s%s%s", chosen ? '*' : ' ', date,
			 col(g->version, 22, ver, sizeof(ver)), g->number == s->current ? "  (current)" : "", note);
	}
	rstrip(it->text);
	it->sys = m->page;
	it->gen = g->number;
	it->spec = spec;
}

static void build_system(struct menu *m)
{
	const struct found_sys *s = &m->f->sys[m->page];
	char host[40], spec[40] = "";
	col(s->host, 24, host, sizeof(host));
	rstrip(host);
	if (m->spec >= 0) {
		char name[32];
		snprintf(spec, sizeof(spec), ", specialisation %s", col(s->specs[m->spec].spec, 20, name, sizeof(name)));
		rstrip(spec);
	}
	const char *cur = m->gen == s->current && m->spec < 0 ? " (current)" : "";
	struct menu_item *it;
	it = add(m, "e", ACT_ENTER, "enter %s: a shell in generation %d%s%s", host, m->gen, spec, cur);
	it->sys = m->page, it->gen = m->gen, it->spec = m->spec;
	it = add(m, "b", ACT_BOOT, "boot generation %d%s%s (kexec)", m->gen, spec, cur);
	it->sys = m->page, it->gen = m->gen, it->spec = m->spec;
	it = add(m, "f", ACT_REPAIR, "repair the boot loader (install generation %d's)", m->gen);
	it->sys = m->page, it->gen = m->gen, it->spec = -1;
	it = add(m, "c", ACT_FSCHECK, "check its filesystems (read-only)");
	it->sys = m->page;
	it = add(m, "x", ACT_FSREPAIR, "repair its filesystems (check, show what, ask first)");
	it->sys = m->page;
	int shown = 0;
	for (int i = 0; i < s->n_gens; i++) {
		const struct found_gen *g = &s->gens[i];
		/* The chosen and the current generation are always listed, even past the cut. */
		if (!m->all_gens && shown >= MENU_SHOWN_GENS && g->number != s->current && g->number != m->gen)
			continue;
		shown++;
		gen_line(m, s, g, -1);
		for (int j = 0; j < s->n_specs; j++)
			if (s->specs[j].number == g->number)
				gen_line(m, s, &s->specs[j], j);
	}
	if (shown < s->n_gens)
		add(m, "g", ACT_ALLGENS, "show all %d generations", s->n_gens);
	add(m, "m", ACT_BACK, "back to the main menu");
}

void menu_build(struct menu *m)
{
	m->n = 0;
	if (m->page >= 0 && (!m->f || m->page >= m->f->n_sys))
		m->page = -1;
	if (m->page < 0)
		build_main(m);
	else
		build_system(m);
	if (m->sel >= m->n || m->sel < 0)
		m->sel = 0;
}

void menu_init(struct menu *m, const struct found *f, const char *version)
{
	memset(m, 0, sizeof(*m));
	m->f = f;
	m->version = version;
	m->page = -1;
	m->gen = m->spec = -1;
	menu_build(m);
}

void menu_open_system(struct menu *m, int sys, int gen)
{
	const struct found_sys *s = &m->f->sys[sys];
	m->page = sys;
	m->gen = gen >= 0 ? gen : s->current;
	if (!found_gen(s, m->gen) && s->n_gens)
		m->gen = s->gens[0].number;
	m->spec = -1;
	m->all_gens = 0;
	m->sel = 0;
	menu_build(m);
}

static size_t put(char *buf, size_t size, size_t off, const char *fmt, ...) LB_PRINTF(4, 5);
static size_t put(char *buf, size_t size, size_t off, const char *fmt, ...)
{
	if (off >= size)
		return off;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf + off, size - off, fmt, ap);
	va_end(ap);
	if (n < 0)
		return off;
	return off + (size_t)n < size ? off + (size_t)n : size - 1;
}

static size_t render_header(const struct menu *m, char *buf, size_t size, size_t o)
{
	const struct found *f = m->f;
	o = put(buf, size, o, "lifeboat %s - NixOS rescue\n", m->version);
	o = put(buf, size, o, "%s", remote_lines);
	if (!f)
		return put(buf, size, o, "The disks have not been scanned.\n");
	o = put(buf, size, o, "Disks: %d   NixOS systems: %d   Problems: %d%s\n", f->devices, f->n_sys,
		f->problems, f->complete ? "" : "   (scan incomplete)");
	int shown = 0;
	const struct record *p;
	for (; (p = found_problem(f, shown)) && shown < 4; shown++) {
		char path[24], msg[64];
		const char *dev = record_get(p, "path");
		term_escape(dev && *dev ? dev : "-", path, sizeof(path), 16);
		term_escape(record_get(p, "msg") ? record_get(p, "msg") : "", msg, sizeof(msg), 58);
		o = put(buf, size, o, "  ! %s: %s\n", path, msg);
	}
	if (f->problems > shown)
		o = put(buf, size, o, "  ! ... %d more in the log (l)\n", f->problems - shown);
	/* Each locked device in full (the UUID the owner may know it by), and what its tokens mean
	 * here (FIDO2, TPM2: no such hardware path here). */
	for (int i = report_next(&f->rep, "luks", -1); i >= 0; i = report_next(&f->rep, "luks", i)) {
		const struct record *r = &f->rep.r[i];
		const char *note = record_get(r, "note"), *st = record_get(r, "state");
		if (!st || strcmp(st, "locked"))
			continue;
		char path[24], ver[8], uuid[40], msg[72];
		o = put(buf, size, o, "Locked: %s LUKS%s UUID %s\n", term_escape(record_get(r, "path"), path, sizeof(path), 20),
			term_escape(record_get(r, "version"), ver, sizeof(ver), 2),
			term_escape(record_get(r, "uuid"), uuid, sizeof(uuid), 36));
		if (note && *note)
			o = put(buf, size, o, "        %s\n", term_escape(note, msg, sizeof(msg), 70));
	}
	return o;
}

/* The filesystems of a system's plan with what the scan read of their state, and the space
 * left on each mounted one: a full ESP is the usual reason `nixos-rebuild boot` fails. */
static size_t render_filesystems(const struct found *f, const struct found_sys *s, char *buf, size_t size,
				 size_t o)
{
	struct fs_target ts[12];
	int n = fs_targets(f, s, ts, (int)ARRAY_SIZE(ts));
	if (n)
		o = put(buf, size, o, "Filesystems:\n");
	for (int i = 0; i < n; i++) {
		const struct record *st = NULL;
		for (int k = report_next(&f->rep, "fsstate", -1); k >= 0; k = report_next(&f->rep, "fsstate", k))
			if (!strcmp(record_get(&f->rep.r[k], "path") ? record_get(&f->rep.r[k], "path") : "", ts[i].dev))
				st = &f->rep.r[k];
		char what[16], type[12], dev[24], space[64] = "";
		int state = st ? fs_state_parse(record_get(st, "state")) : -1;
		long long total = st ? record_int(st, "size", -1) : -1, avail = st ? record_int(st, "free", -1) : -1;
		if (total > 0 && avail >= 0)
			snprintf(space, sizeof(space), ", %lld of %lld MiB free%s", avail >> 20, total >> 20,
				 avail < total / 10 ? " (nearly full)" : "");
		o = put(buf, size, o, "  %s %s %s %.42s%s\n", col(ts[i].what, 8, what, sizeof(what)),
			col(*ts[i].type ? ts[i].type : "?", 6, type, sizeof(type)),
			col(ts[i].dev, 16, dev, sizeof(dev)),
			state >= 0 ? fs_state_name(state, record_get(st, "type")) : st && !record_int(st, "mounted", 1) ? "does not mount" : "state unknown",
			space);
	}
	return o;
}

size_t menu_render(const struct menu *m, char *buf, size_t size)
{
	size_t o = 0;
	buf[0] = 0;
	o = put(buf, size, o, "\n");
	if (m->page < 0) {
		o = render_header(m, buf, size, o);
		if (m->f && !m->f->n_sys)
			o = put(buf, size, o, "No NixOS system was found on the disks.\n");
	} else {
		const struct found_sys *s = &m->f->sys[m->page];
		char host[40], ver[40], lay[16], root[24], nix[24];
		term_escape(s->host, host, sizeof(host), 30);
		term_escape(s->version, ver, sizeof(ver), 30);
		o = put(buf, size, o, "%s - NixOS %s, %d generation%s\n", host, ver, s->n_gens, s->n_gens == 1 ? "" : "s");
		term_escape(s->layout, lay, sizeof(lay), 10);
		term_escape(*s->root ? s->root : "tmpfs", root, sizeof(root), 20);
		term_escape(s->nix, nix, sizeof(nix), 20);
		o = put(buf, size, o, "layout %s; / on %s; /nix on %s", lay, root, nix);
		if (*s->esp) {
			char esp[24];
			o = put(buf, size, o, "; ESP %s", term_escape(s->esp, esp, sizeof(esp), 20));
		}
		o = put(buf, size, o, "\n");
		o = render_filesystems(m->f, s, buf, size, o);
	}
	o = put(buf, size, o, "\n");
	for (int i = 0; i < m->n; i++) {
		const struct menu_item *it = &m->items[i];
		if (m->page >= 0 && it->act == ACT_GENERATION && (i == 0 || m->items[i - 1].act != ACT_GENERATION))
			o = put(buf, size, o, "Generations, newest first (choose one for e, b, f):\n");
		int pad = 4 - (int)strlen(it->key);
		/* key) + padding + marker + space take 7 columns; the text gets the rest of 80. */
		o = put(buf, size, o, "%s)%*s%s %.*s\n", it->key, pad > 0 ? pad : 0, "", i == m->sel ? ">" : " ",
			MENU_TEXT_COLS, it->text);
	}
	o = put(buf, size, o, "\nChoose (key then Enter, or arrows and Enter): ");
	return o;
}

int menu_find(const struct menu *m, const char *typed)
{
	for (int i = 0; i < m->n; i++)
		if (!strcasecmp(m->items[i].key, typed))
			return i;
	return -1;
}

static enum menu_ev choose(struct menu *m, int i, struct menu_choice *c)
{
	const struct menu_item *it = &m->items[i];
	m->sel = i;
	switch (it->act) {
	case ACT_SYSTEM:
		menu_open_system(m, it->sys, -1);
		return EV_REDRAW;
	case ACT_GENERATION:
		m->gen = it->gen;
		m->spec = it->spec;
		menu_build(m);
		/* Back to the first action, so Enter now enters the generation just chosen. */
		m->sel = 0;
		return EV_REDRAW;
	case ACT_ALLGENS:
		m->all_gens = 1;
		menu_build(m);
		return EV_REDRAW;
	case ACT_BACK: {
		int was = m->page;
		m->page = -1;
		menu_build(m);
		m->sel = was >= 0 ? was : 0;
		return EV_REDRAW;
	}
	default:
		c->act = it->act;
		c->sys = it->sys;
		c->gen = it->gen;
		c->spec = it->spec;
		return EV_CHOSEN;
	}
}

enum menu_ev menu_input(struct menu *m, int key, struct menu_choice *c)
{
	memset(c, 0, sizeof(*c));
	c->sys = c->gen = c->spec = -1;
	switch (key) {
	case KEY_UP:
	case KEY_DOWN:
		if (m->n)
			m->sel = (m->sel + (key == KEY_UP ? m->n - 1 : 1)) % m->n;
		m->len = 0;
		m->typed[0] = 0;
		return EV_REDRAW;
	case KEY_BACKSPACE:
		if (!m->len)
			return EV_NONE;
		m->typed[--m->len] = 0;
		return EV_ERASE;
	case KEY_CTRL_C:
	case KEY_CTRL_L:
		m->len = 0;
		m->typed[0] = 0;
		return EV_REDRAW;
	case KEY_ENTER: {
		int i = m->len ? menu_find(m, m->typed) : m->sel;
		memcpy(m->unknown, m->typed, sizeof(m->unknown));
		m->len = 0;
		m->typed[0] = 0;
		if (i < 0 || i >= m->n)
			return EV_UNKNOWN;
		return choose(m, i, c);
	}
	default:
		if (key > 32 && key < 127 && m->len < (int)sizeof(m->typed) - 1) {
			m->typed[m->len++] = (char)key;
			m->typed[m->len] = 0;
			return EV_ECHO;
		}
		return EV_NONE;
	}
}
