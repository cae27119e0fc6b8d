/* lifeboat scan: find every NixOS on the machine without writing to any disk, and print the
 * scan report (docs/scan-report.md), or with --human a table for people. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/layout.h"
#include "applets/applets.h"
#include "lib/cmdline.h"
#include "lib/log.h"
#include "report/record.h"
#include "report/store.h"
#include "report/scanlock.h"
#include "discover/scan.h"
#include "lib/escape.h"
#include "lib/util.h"

/* More than one device's records, so that they leave in one write. */
#define OUT_BUF (256 << 10)

static const char *esc(const struct record *r, const char *key, char *buf, size_t size, int width)
{
	const char *v = record_get(r, key);
	return term_escape(v && *v ? v : "-", buf, size, width);
}

static void human(FILE *o, const struct report *rep)
{
	char a[128], b[128], c[128], d[128], e[128], f[128];
	fprintf(o, "DEVICES\n  %-16s %-8s %-24s %-38s %s\n", "device", "type", "label", "uuid", "size");
	for (int i = report_next(rep, "device", -1); i >= 0; i = report_next(rep, "device", i)) {
		const struct record *r = &rep->r[i];
		fprintf(o, "  %-16s %-8s %-24s %-38s %lld MiB\n", esc(r, "path", a, sizeof(a), 16),
			esc(r, "type", b, sizeof(b), 8), esc(r, "label", c, sizeof(c), 24),
			esc(r, "uuid", d, sizeof(d), 38), record_int(r, "size", 0) >> 20);
	}
	for (int i = report_next(rep, "system", -1); i >= 0; i = report_next(rep, "system", i)) {
		const struct record *s = &rep->r[i];
		const char *id = record_get(s, "id");
		fprintf(o, "\nSYSTEM %s: %s  NixOS %s  (%s; / on %s%s%s, /nix on %s)\n", esc(s, "id", a, sizeof(a), 4),
			esc(s, "host", b, sizeof(b), 40), esc(s, "version", c, sizeof(c), 40),
			esc(s, "layout", d, sizeof(d), 8), esc(s, "root", e, sizeof(e), 20),
			record_get(s, "rootsubvol") && *record_get(s, "rootsubvol") ? " subvol " : "",
			record_get(s, "rootsubvol") && *record_get(s, "rootsubvol")
				? esc(s, "rootsubvol", f, sizeof(f), 20) : "",
			esc(s, "nix", f, sizeof(f), 20));
		fprintf(o, "  %-3s %-10s %-5s %-10s %-20s %-24s %s\n", "", "profile", "gen", "status", "date",
			"version", "specialisation/reason");
		for (int j = report_next(rep, "generation", -1); j >= 0; j = report_next(rep, "generation", j)) {
			const struct record *g = &rep->r[j];
			if (strcmp(record_get(g, "system") ? record_get(g, "system") : "", id))
				continue;
			char date[32] = "-";
			time_t t = (time_t)record_int(g, "date", 0);
			struct tm tm;
			if (t && gmtime_r(&t, &tm))
				strftime(date, sizeof(date), "%Y-%m-%d %H:%M", &tm);
			const char *st = record_get(g, "status");
			const char *spec = record_get(g, "specialisation");
			fprintf(o, "  %-3s %-10s %-5s %-10s %-20s %-24s %s\n",
				record_int(g, "current", 0) ? "*" : "", esc(g, "profile", a, sizeof(a), 10),
				esc(g, "number", b, sizeof(b), 5), esc(g, "status", c, sizeof(c), 10), date,
				esc(g, "version", d, sizeof(d), 24),
				spec && *spec ? esc(g, "specialisation", e, sizeof(e), 30)
				: st && strcmp(st, "ok") ? esc(g, "reason", e, sizeof(e), 60) : "");
		}
		fprintf(o, "  mount plan:\n");
		for (int j = report_next(rep, "mount", -1); j >= 0; j = report_next(rep, "mount", j)) {
			const struct record *m = &rep->r[j];
			if (strcmp(record_get(m, "system") ? record_get(m, "system") : "", id))
				continue;
			fprintf(o, "    %-20s %-14s %-8s %-14s %s\n", esc(m, "target", a, sizeof(a), 20),
				esc(m, "status", b, sizeof(b), 14), esc(m, "type", c, sizeof(c), 8),
				esc(m, "source", d, sizeof(d), 14), esc(m, "spec", e, sizeof(e), 60));
		}
	}
	int nl = 0;
	for (int i = report_next(rep, "luks", -1); i >= 0; i = report_next(rep, "luks", i)) {
		const struct record *l = &rep->r[i];
		if (!nl++)
			fprintf(o, "\nENCRYPTED (LUKS)\n  %-16s %-4s %-38s %-16s %-7s %s\n", "device", "ver", "uuid",
				"label", "state", "mapping / tokens");
		const char *tok = record_get(l, "tokens");
		fprintf(o, "  %-16s %-4s %-38s %-16s %-7s %s%s%s\n", esc(l, "path", a, sizeof(a), 16),
			esc(l, "version", b, sizeof(b), 4), esc(l, "uuid", c, sizeof(c), 38),
			esc(l, "label", d, sizeof(d), 16), esc(l, "state", e, sizeof(e), 7),
			esc(l, "mapper", f, sizeof(f), 40), tok && *tok ? " tokens: " : "",
			tok && *tok ? esc(l, "tokens", a, sizeof(a), 60) : "");
		const char *nm = record_get(l, "name"), *nn = record_get(l, "namenote");
		if (nm && *nm)
			fprintf(o, "    its initrd names it %s (%s)\n", esc(l, "name", a, sizeof(a), 60),
				esc(l, "namefrom", b, sizeof(b), 100));
		if (nn && *nn)
			fprintf(o, "    %s\n", esc(l, "namenote", c, sizeof(c), 200));
	}
	int np = 0;
	for (int i = report_next(rep, "problem", -1); i >= 0; i = report_next(rep, "problem", i)) {
		const struct record *p = &rep->r[i];
		if (!np++)
			fprintf(o, "\nPROBLEMS\n");
		fprintf(o, "  %-16s %-10s %s\n", esc(p, "path", a, sizeof(a), 16), esc(p, "what", b, sizeof(b), 10),
			esc(p, "msg", c, sizeof(c), 100));
	}
	int di = report_next(rep, "done", -1);
	if (di < 0)
		fprintf(o, "\n(the scan was cut short)\n");
	else
		fprintf(o, "\n%lld devices, %lld systems, %lld problems, %lld ms\n",
			record_int(&rep->r[di], "devices", 0), record_int(&rep->r[di], "systems", 0),
			record_int(&rep->r[di], "problems", 0), record_int(&rep->r[di], "ms", 0));
}

/* A string as JSON (lib/escape.c: printable ASCII only); a value that is not UTF-8 gets its exact
 * bytes beside it as KEY_hex (docs/scan-report.md), so that U+00E9 and a raw 0xe9 differ. */
static void json_string(FILE *o, const char *v, int *exact)
{
	char *q = json_quote(v, exact);
	fputs(q, o);
	free(q);
}

static int numeric_key(const char *k)
{
	static const char *const keys[] = {"size", "id", "number", "current", "generations", "date",
					   "bootspec", "secrets", "devices", "systems", "problems", "ms"};
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (!strcmp(k, keys[i]))
			return 1;
	return 0;
}

/* One record as a JSON object, left open for more members; skip is a key left out (the system
 * id of a generation listed inside its system). */
static void json_fields(FILE *o, const struct record *r, const char *skip)
{
	fputc('{', o);
	int first = 1;
	for (int i = 0; i < r->n; i++) {
		if (skip && !strcmp(r->key[i], skip))
			continue;
		fprintf(o, "%s", first ? "" : ", ");
		first = 0;
		int exact;
		json_string(o, r->key[i], &exact);
		fputs(": ", o);
		const char *v = r->val[i];
		char *end;
		if (!*v)
			fputs("null", o);
		else if (numeric_key(r->key[i]) && (strtoll(v, &end, 10), !*end) && strspn(v, "-0123456789") == strlen(v))
			fputs(v, o);
		else {
			json_string(o, v, &exact);
			if (!exact) {
				char *hex = hex_bytes(v), *key = xasprintf("%s_hex", r->key[i]);
				fputs(", ", o);
				json_string(o, key, &exact);
				fprintf(o, ": \"%s\"", hex);
				free(hex);
				free(key);
			}
		}
	}
}

static void json_record(FILE *o, const struct record *r, const char *skip)
{
	json_fields(o, r, skip);
	fputc('}', o);
}

static void json_list(FILE *o, const struct report *rep, const char *kind, const char *sysid,
		      const char *indent)
{
	int first = 1;
	fputc('[', o);
	for (int i = report_next(rep, kind, -1); i >= 0; i = report_next(rep, kind, i)) {
		const char *s = record_get(&rep->r[i], "system");
		if (sysid ? !s || strcmp(s, sysid) : s && *s && strcmp(kind, "device"))
			continue;
		fprintf(o, "%s\n%s  ", first ? "" : ",", indent);
		first = 0;
		json_record(o, &rep->r[i], sysid ? "system" : NULL);
	}
	fprintf(o, "%s]", first ? "" : "\n");
	if (!first)
		fputs(indent, o);
}

/* The same report as one JSON document: devices, systems (each with its generations, mounts
 * and problems), the problems of no system, arrays, vgs and btrfs (assembly), and done (null when the scan was cut short). */
static void json(FILE *o, const struct report *rep)
{
	fputs("{\"devices\": ", o);
	json_list(o, rep, "device", NULL, "");
	fputs(",\n\"systems\": [", o);
	int first = 1;
	for (int i = report_next(rep, "system", -1); i >= 0; i = report_next(rep, "system", i)) {
		const struct record *s = &rep->r[i];
		const char *id = record_get(s, "id");
		fprintf(o, "%s\n  ", first ? "" : ",");
		first = 0;
		json_fields(o, s, NULL);
		fputs(", \"generations\": ", o);
		json_list(o, rep, "generation", id ? id : "", "    ");
		fputs(", \"mounts\": ", o);
		json_list(o, rep, "mount", id ? id : "", "    ");
		fputs(", \"problems\": ", o);
		json_list(o, rep, "problem", id ? id : "", "    ");
		fputc('}', o);
	}
	fprintf(o, "%s],\n\"problems\": ", first ? "" : "\n");
	json_list(o, rep, "problem", NULL, "");
	/* What assembly started (docs/assemble.md): md arrays, LVM volume groups, multi-device btrfs. */
	fputs(",\n\"arrays\": ", o);
	json_list(o, rep, "array", NULL, "");
	fputs(",\n\"vgs\": ", o);
	json_list(o, rep, "vg", NULL, "");
	fputs(",\n\"lvs\": ", o);
	json_list(o, rep, "lv", NULL, "");
	fputs(",\n\"btrfs\": ", o);
	json_list(o, rep, "btrfs", NULL, "");
	/* LUKS devices (docs/unlock.md): locked or open, and as what. */
	fputs(",\n\"luks\": ", o);
	json_list(o, rep, "luks", NULL, "");
	fputs(",\n\"done\": ", o);
	int di = report_next(rep, "done", -1);
	if (di >= 0)
		json_record(o, &rep->r[di], NULL);
	else
		fputs("null", o);
	fputs("}\n", o);
}

/* The report as it is written: passed on to fd (stdout) at once when fd >= 0, kept in memory too
 * for --save, --human and --json. */
struct tee {
	int fd, keep, err;
	char *buf;
	size_t len, cap;
};

static ssize_t tee_write(void *cookie, const char *data, size_t n)
{
	struct tee *t = cookie;
	if (t->fd >= 0 && !t->err)
		t->err = write_all(t->fd, data, n);
	if (t->keep) {
		if (t->len + n + 1 > t->cap) {
			t->cap = (t->len + n + 1) * 2;
			t->buf = xrealloc(t->buf, t->cap);
		}
		memcpy(t->buf + t->len, data, n);
		t->len += n;
		t->buf[t->len] = 0;
	}
	return (ssize_t)n;
}

static void usage(FILE *o)
{
	fprintf(o, "usage: lifeboat scan [--human|--json] [--save] [--links|--no-links] [--timeout SECONDS]\n"
		   "                    [--jobs N] [--share]\n"
		   "  Find every NixOS on this machine's disks, writing nothing to them.\n"
		   "  --human     a readable table instead of the report lines\n"
		   "  --json      the same report as one JSON document\n"
		   "  --save      also write the report to " REPORT_SAVED " (atomically)\n"
		   "  --links     create /dev/disk/by-{uuid,label,partuuid,partlabel} links (default in\n"
		   "              the lifeboat image, never elsewhere)\n"
		   "  --timeout   seconds one disk may take to answer its probe, and one device its\n"
		   "              inspection (default 20, or lifeboat.disktimeout=)\n"
		   "  --jobs      devices inspected at once (default %d; 1: one after another)\n"
		   "  --share     when another scan is running, print its report instead of scanning\n"
		   "              again after it (in the image, one scan runs at a time)\n",
		SCAN_JOBS);
}

/* One scan at a time in the image (report/scanlock.h): wait for the one running, and print its
 * report when it began after we asked; else scan. Returns the exit status. */
static int scan_once(struct tee *t, struct scan_opts *o, int locked, int share)
{
	long long asked = now_ms();
	int lock = -1;
	if (locked) {
		int waited;
		int wait_ms = report_scan_ms();
		lock = scanlock_take(SCAN_LOCK, wait_ms, &waited);
		if (lock == -ETIMEDOUT) {
			fprintf(stderr, "lifeboat scan: another scan has been running for more than %d s; "
				"try again later\n", wait_ms / 1000);
			return 1;
		}
		if (lock < 0)
			log_warn("scan: no lock %s: %s; scanning anyway", SCAN_LOCK, strerror(-lock));
		char *text = NULL;
		if (waited && scanlock_reuse(SCAN_LAST, asked, share, &text) == 0) {
			log_info("scan: waited for another console's scan; its report%s",
				 share ? " (shared)" : "");
			tee_write(t, text, strlen(text));
			free(text);
			if (lock >= 0)
				close(lock);
			return t->err ? 1 : 0;
		}
	}
	long long began = now_ms();
	FILE *out = fopencookie(t, "w", (cookie_io_functions_t){.write = tee_write});
	if (!out) {
		fprintf(stderr, "lifeboat scan: %s\n", strerror(errno));
		if (lock >= 0)
			close(lock);
		return 1;
	}
	char *obuf = xmalloc(OUT_BUF);
	setvbuf(out, obuf, _IOFBF, OUT_BUF);
	int r = scan_run(out, o);
	fclose(out);
	free(obuf);
	/* Only a whole scan is worth sharing: one cut short never ran to its done record. */
	if (locked && r >= 0 && t->buf && (!strncmp(t->buf, "done ", 5) || strstr(t->buf, "\ndone "))) {
		int s = scanlock_record(SCAN_LAST, began, now_ms(), t->buf, t->len);
		if (s < 0)
			log_warn("scan: cannot keep %s: %s", SCAN_LAST, strerror(-s));
	}
	if (lock >= 0)
		close(lock);
	return r < 0 || t->err ? 1 : 0;
}

int scan_main(int argc, char **argv)
{
	/* Into the shared log and dmesg; echoed on stderr only when a person is reading it. */
	log_open(isatty(2));
	static const struct option longopts[] = {
		{"human", no_argument, NULL, 'H'},   {"save", no_argument, NULL, 'S'},
		{"links", no_argument, NULL, 'l'},   {"no-links", no_argument, NULL, 'L'},
		{"timeout", required_argument, NULL, 't'}, {"sysfs", required_argument, NULL, 's'},
		{"inspect-dir", required_argument, NULL, 'i'}, {"fault", required_argument, NULL, 'F'},
		{"no-blkro", no_argument, NULL, 'R'}, {"help", no_argument, NULL, 'h'},
		{"json", no_argument, NULL, 'J'},    {"jobs", required_argument, NULL, 'j'},
		{"share", no_argument, NULL, 'X'},
		{NULL, 0, NULL, 0},
	};
	/* In the booted image (the release file exists only there) the scan stands in for udev's
	 * /dev/disk links, marks devices read-only and assembles; on any other machine it must not
	 * touch /dev. Not PID 1's LIFEBOAT_CONSOLES: an SSH session's scan lacks it, and must be
	 * the same scan. */
	int in_image = access(RELEASE_FILE, F_OK) == 0;
	int want_human = 0, want_json = 0, want_save = 0, links = in_image, share = 0;
	/* lifeboat.disktimeout sets the default deadline of a disk (the menu's scan has no options). */
	struct lb_options kopt;
	cmdline_load(&kopt);
	int disktimeout = kopt.disktimeout_ms, blkro = in_image && !kopt.debug_noblkro;
	log_set_debug(kopt.debug); /* lifeboat.debug: where the scan's time went, in the log */
	if (in_image && kopt.debug_noblkro)
		log_warn("scan: lifeboat.debug_noblkro: devices stay writable while inspected (debug only)");
	cmdline_free(&kopt);
	struct scan_opts o = {"/sys", INSPECT_DIR, NULL, disktimeout, blkro,
			      getenv("LIFEBOAT_SCAN_FAULT"), in_image, SCAN_JOBS, NULL, in_image, in_image};
	int c;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'H': want_human = 1; break;
		case 'J': want_json = 1; break;
		case 'X': share = 1; break;
		case 'S': want_save = 1; break;
		case 'l': links = 1; break;
		case 'L': links = 0; break;
		case 't': o.timeout_ms = atoi(optarg) * 1000; break;
		case 'j': o.jobs = atoi(optarg); break;
		case 's': o.sysroot = optarg; break;
		case 'i': o.inspect_dir = optarg; break;
		case 'F': o.fault = optarg; break;
		case 'R': o.blkro = 0; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (o.timeout_ms <= 0)
		o.timeout_ms = disktimeout;
	if (links)
		o.links_dir = "/dev/disk";
	if (isatty(2))
		o.progress = stderr;
	/* Streamed: each device's records reach stdout as its inspection ends (scan_run flushes
	 * then), through a buffer big enough that they go out in one write. */
	struct tee t = {want_human || want_json ? -1 : 1, in_image || want_save || want_human || want_json,
			0, NULL, 0, 0};
	int rc = scan_once(&t, &o, in_image, share);
	const char *text = t.buf ? t.buf : "";
	if (want_save) {
		int s = report_save(REPORT_SAVED, text, t.len);
		if (s < 0) {
			fprintf(stderr, "lifeboat scan: cannot save %s: %s\n", REPORT_SAVED, strerror(-s));
			rc = 1;
		}
	}
	if (want_human || want_json) {
		struct report rep;
		report_parse(&rep, text);
		if (want_json)
			json(stdout, &rep);
		else
			human(stdout, &rep);
		report_free(&rep);
	}
	free(t.buf);
	return fflush(stdout) == 0 ? rc : 1;
}
