/* `lifeboat unlock`: open LUKS devices read-only, so that the scan finds the systems inside
 * (docs/unlock.md). The menu runs it on the console that chose "unlock"; in the shell it takes
 * devices, a key file or a detached header. Three tries per device; a passphrase that opened one
 * device is tried on the next before asking (as NixOS's initrd does). Then the mappings are
 * named as the systems found inside expect (their fstab's /dev/mapper/NAME) and the disks are
 * scanned again, so `lifeboat enter` sees what the unlock revealed. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <unistd.h>

#include "act/unlock.h"
#include "applets/applets.h"
#include "discover/cryptnames.h"
#include "discover/luks.h"
#include "discover/probe.h"
#include "lib/cmdline.h"
#include "lib/escape.h"
#include "lib/job.h"
#include "lib/log.h"
#include "lib/util.h"
#include "report/found.h"
#include "report/store.h"

#define MAX_DEVS 32
#define PASS_MAX 512

struct target {
	char dev[128];
	struct luks_info li;
	char name[128];   /* the mapping opened, "" when not */
	char dm[32];      /* its dm-N */
	int opened_now;
	char learned[128]; /* the name the system's initrds give it (the scan's luks name=), or "" */
	char learned_from[200];
};

static void usage(FILE *o)
{
	fprintf(o, "usage: lifeboat unlock [DEVICE...] [--key-file FILE] [--header FILE] [--name NAME]\n"
		   "                       [--tries N] [--no-rescan]\n"
		   "  Open LUKS devices read-only so that the scan looks inside; with no DEVICE, every\n"
		   "  locked device the last scan found. A passphrase or recovery key is asked on this\n"
		   "  terminal (no echo), three tries per device; one that opened a device is tried on\n"
		   "  the next first. Entering a system on an unlocked device makes it writable.\n"
		   "  --key-file FILE  the key from FILE (all of it, as cryptsetup --key-file) instead\n"
		   "  --header FILE    a detached LUKS header (one DEVICE: the data device)\n"
		   "  --name NAME      the mapping's name (one DEVICE; default: as the system inside\n"
		   "                   expects it, else luks-<UUID>)\n"
		   "  --tries N        passphrase prompts per device (default 3)\n"
		   "  --no-rescan      do not scan the disks afterwards\n");
}

static const char *esc(const char *s, char *buf, size_t size)
{
	return term_escape(s && *s ? s : "-", buf, size, (int)size - 1);
}

/* The last scan's report, read once: which devices are locked, what libblkid read of each,
 * what the systems' initrds call them. */
static void saved_load(struct report *rep)
{
	char *text = NULL;
	report_saved(&text);
	report_parse(rep, text ? text : "");
	free(text);
}

/* The last scan's device record of a LUKS device: libblkid's UUID and label, which no header
 * string can forge. NULL for a device the scan did not see (probe_ids reads them then). */
static const struct record *scanned_device(const struct report *saved, const char *dev)
{
	for (int i = report_next(saved, "device", -1); i >= 0; i = report_next(saved, "device", i))
		if (!strcmp(record_str(&saved->r[i], "path"), dev) &&
		    !strcmp(record_str(&saved->r[i], "type"), "crypto_LUKS"))
			return &saved->r[i];
	return NULL;
}

/* A device the last scan did not list (or a detached header file): libblkid's UUID and label
 * all the same, read in a child with the scan's deadline (discover/probe.c), since the disk may
 * hang. Empty when it is not LUKS to libblkid or did not answer. */
static void probe_ids(const char *path, struct blockdev *b)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	/* A longer path fits no blockdev: cut, it would name another file. */
	if (strlen(path) >= sizeof(b->path) || strlen(base) >= sizeof(b->name))
		return;
	struct devtab one = {xcalloc(1, sizeof(struct blockdev)), 1};
	memcpy(one.d[0].name, base, strlen(base) + 1);
	memcpy(one.d[0].path, path, strlen(path) + 1);
	memcpy(one.d[0].disk, path, strlen(path) + 1);
	probe_disks(&one, CMDLINE_DISKTIMEOUT_MS, 1);
	*b = one.d[0];
	if (strcmp(b->type, "crypto_LUKS"))
		b->uuid[0] = b->label[0] = 0;
	devtab_free(&one);
}

/* luksDump of the device (or of its detached header): 0, or -1 with the reason said. */
static int describe(struct target *t, const char *header, const struct report *saved)
{
	char msg[300];
	const char *path = header ? header : t->dev;
	const struct record *d = header ? NULL : scanned_device(saved, t->dev);
	struct blockdev b = {0};
	if (!d)
		probe_ids(path, &b);
	int r = luks_read(path, d ? record_get(d, "uuid") : b.uuid, d ? record_get(d, "label") : b.label,
			  60000, &t->li, msg, sizeof(msg));
	if (r < 0) {
		char e[120], m[320];
		fprintf(stderr, "lifeboat unlock: %s is not a LUKS device that can be read: %s\n",
			esc(header ? header : t->dev, e, sizeof(e)), esc(msg, m, sizeof(m)));
		return -1;
	}
	return 0;
}

/* What the last scan learned from the systems' initrds for the LUKS device with this UUID. */
static void learned_name(struct target *t, const struct report *saved)
{
	for (int i = report_next(saved, "luks", -1); i >= 0; i = report_next(saved, "luks", i)) {
		const char *uuid = record_get(&saved->r[i], "uuid"), *name = record_get(&saved->r[i], "name");
		if (uuid && name && *name && !strcasecmp(uuid, t->li.uuid) && cryptname_valid(name)) {
			snprintf(t->learned, sizeof(t->learned), "%s", name);
			snprintf(t->learned_from, sizeof(t->learned_from), "%s", record_str(&saved->r[i], "namefrom"));
			break;
		}
	}
}

/* The locked devices of the last scan. */
static int from_report(struct target *ts, int max, const struct report *saved)
{
	int n = 0;
	for (int i = report_next(saved, "luks", -1); i >= 0 && n < max; i = report_next(saved, "luks", i)) {
		const char *path = record_get(&saved->r[i], "path"), *state = record_get(&saved->r[i], "state");
		if (path && state && !strcmp(state, "locked"))
			snprintf(ts[n++].dev, sizeof(ts[0].dev), "%s", path);
	}
	return n;
}

/* A line from the terminal with echo off (or from a pipe, as it is). Returns its length, or -1
 * at end of input. */
static int read_pass(const char *prompt, char *buf, size_t size)
{
	struct termios old, quiet;
	int tty = tcgetattr(0, &old) == 0;
	/* Echo off before the prompt, and typeahead kept: a passphrase typed as soon as the
	 * prompt shows (over a slow link, by a script) is neither echoed nor lost. */
	if (tty) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		quiet.c_lflag |= ICANON;
		tcsetattr(0, TCSANOW, &quiet);
	}
	fputs(prompt, stderr);
	fflush(stderr);
	ssize_t n = 0;
	char c;
	int got = 0;
	while (read(0, &c, 1) == 1) {
		got = 1;
		if (c == '\n' || c == '\r')
			break;
		if ((size_t)n < size - 1)
			buf[n++] = c;
	}
	buf[n] = 0;
	if (tty) {
		tcsetattr(0, TCSANOW, &old);
		fputc('\n', stderr);
	}
	return got ? (int)n : -1;
}

struct tick_arg {
	const struct target *t;
	int shown;
};

static void tick(int seconds, void *arg)
{
	struct tick_arg *ta = arg;
	const struct target *t = ta->t;
	ta->shown = 1;
	long long kib = luks_max_kib(&t->li);
	char cost[48] = "";
	if (kib)
		snprintf(cost, sizeof(cost), ", %lld MiB", kib >> 10);
	if (isatty(2))
		fprintf(stderr, "\r  deriving the key (%s%s)... %d s ", t->li.pbkdf[0] ? t->li.pbkdf : "pbkdf", cost, seconds);
	else if (seconds == 1)
		fprintf(stderr, "  deriving the key (%s%s)...\n", t->li.pbkdf[0] ? t->li.pbkdf : "pbkdf", cost);
	fflush(stderr);
}

/* One attempt with one passphrase (or the key file) over the keyslots that fit in memory. */
static int attempt(struct target *t, const char *pass, const char *key_file, const char *header,
		   const int *fit, int n_fit, char *msg, size_t size)
{
	struct tick_arg ta = {t, 0};
	struct unlock_req req = {.dev = t->dev, .header = header, .key_file = key_file, .pass = pass,
				 .name = t->name, .tick = tick, .arg = &ta};
	int r;
	if (n_fit == t->li.n_slots || !t->li.n_slots) {
		r = unlock_open(&req, -1, msg, size);
	} else {
		r = -EPERM;
		for (int i = 0; i < n_fit && r == -EPERM; i++)
			r = unlock_open(&req, t->li.slot[fit[i]], msg, size);
	}
	if (ta.shown && isatty(2))
		fputs("\n", stderr);
	return r;
}

/* Open one device. reuse: a passphrase that opened another (tried first, kept when this one
 * opens). Returns 0 when it is open (now or before), -1 when not. */
static int unlock_one(struct target *t, const char *key_file, const char *header, const char *name,
		      int tries, char *reuse, size_t reuse_size)
{
	char d[140], u[80], l[80], note[120];
	esc(t->dev, d, sizeof(d));
	esc(t->li.uuid, u, sizeof(u));
	if (luks_mapping("/sys", t->li.uuid, t->name, sizeof(t->name), t->dm, sizeof(t->dm))) {
		char n[140];
		fprintf(stderr, "lifeboat unlock: %s is open already, as /dev/mapper/%s\n", d, esc(t->name, n, sizeof(n)));
		return 0;
	}
	fprintf(stderr, "lifeboat unlock: %s: LUKS%d, UUID %s%s%s\n", d, t->li.version, u,
		t->li.label[0] ? ", label " : "", t->li.label[0] ? esc(t->li.label, l, sizeof(l)) : "");
	if (*luks_token_note(&t->li, note, sizeof(note)))
		fprintf(stderr, "  %s\n", note);
	/* argon2 takes its memory cost at once: check first, rather than be killed for it. */
	long long avail = unlock_mem_available();
	int fit[LUKS_MAX_SLOTS], n_fit = t->li.n_slots;
	for (int i = 0; i < n_fit; i++)
		fit[i] = i;
	if (avail > 0) {
		n_fit = unlock_slots_fitting(&t->li, avail, fit, LUKS_MAX_SLOTS);
		if (t->li.n_slots && !n_fit) {
			long long least = -1;
			for (int i = 0; i < t->li.n_slots; i++)
				if (least < 0 || t->li.slot_kib[i] < least)
					least = t->li.slot_kib[i];
			fprintf(stderr, "lifeboat unlock: %s cannot be unlocked here: its key derivation (%s) needs "
					"%lld MiB of memory and %lld MiB more for the rest, but only %lld MiB are "
					"available. Boot lifeboat on this machine with more memory (a VM: give it more), "
					"or add a keyslot with a smaller memory cost on a bigger machine "
					"(cryptsetup luksAddKey --pbkdf-memory).\n",
				d, t->li.pbkdf, least >> 10, (long long)UNLOCK_SPARE_KIB >> 10, avail >> 10);
			return -1;
		}
		if (n_fit < t->li.n_slots)
			fprintf(stderr, "  %d of %d keyslots need more memory than the %lld MiB available: trying "
					"only the others\n", t->li.n_slots - n_fit, t->li.n_slots, avail >> 10);
	}
	/* The name: --name; else what the system's own initrd calls it (the fstab's name for the
	 * root, known only once it is open, renames it after the rescan); else luks-<UUID>. */
	char path[160];
	snprintf(path, sizeof(path), "/dev/mapper/%s", t->learned);
	if (name) {
		snprintf(t->name, sizeof(t->name), "%s", name);
	} else if (t->learned[0] && access(path, F_OK) < 0) {
		char n[140], f[220];
		snprintf(t->name, sizeof(t->name), "%s", t->learned);
		fprintf(stderr, "  named %s, as the initrd %s names it\n", esc(t->name, n, sizeof(n)),
			esc(t->learned_from, f, sizeof(f)));
	} else {
		unlock_default_name(t->li.uuid, t->name, sizeof(t->name));
		if (t->learned[0]) {
			char n[140];
			fprintf(stderr, "  /dev/mapper/%s (the initrd's name for it) is taken: named %s\n",
				esc(t->learned, n, sizeof(n)), t->name);
		}
	}
	char msg[300], m[320];
	int r;
	if (key_file) {
		r = attempt(t, NULL, key_file, header, fit, n_fit, msg, sizeof(msg));
		if (r == -EPERM)
			fprintf(stderr, "lifeboat unlock: the key file does not open %s\n", d);
	} else {
		r = -EPERM;
		if (*reuse) {
			fprintf(stderr, "  trying the passphrase that opened the last device...\n");
			r = attempt(t, reuse, NULL, header, fit, n_fit, msg, sizeof(msg));
		}
		char pass[PASS_MAX], prompt[300];
		snprintf(prompt, sizeof(prompt), "Passphrase for %s (UUID %s): ", d, u);
		for (int i = 1; r == -EPERM && i <= tries; i++) {
			int n = read_pass(prompt, pass, sizeof(pass));
			if (n <= 0) {
				fprintf(stderr, "lifeboat unlock: %s left locked%s\n", d, n < 0 ? " (no input)" : "");
				explicit_bzero(pass, sizeof(pass));
				return -1;
			}
			r = attempt(t, pass, NULL, header, fit, n_fit, msg, sizeof(msg));
			if (r == -EPERM)
				fprintf(stderr, "lifeboat unlock: wrong passphrase for %s (%d of %d tries)\n", d, i, tries);
			else if (r == 0)
				snprintf(reuse, reuse_size, "%s", pass);
		}
		explicit_bzero(pass, sizeof(pass));
	}
	if (r == 0) {
		luks_mapping("/sys", t->li.uuid, t->name, sizeof(t->name), t->dm, sizeof(t->dm));
		t->opened_now = 1;
		char n[140];
		fprintf(stderr, "lifeboat unlock: %s is open as /dev/mapper/%s (read-only until a system on it is "
				"entered)\n", d, esc(t->name, n, sizeof(n)));
		return 0;
	}
	if (r != -EPERM) {
		const char *what = r == -ENOMEM ? "not enough memory for the key derivation"
				   : r == -EEXIST ? "the mapping's name is taken, or the device is busy"
				   : r == -ETIMEDOUT ? "it took too long" : "cryptsetup failed";
		fprintf(stderr, "lifeboat unlock: %s not unlocked: %s%s%s\n", d, what, *msg ? ": " : "",
			esc(msg, m, sizeof(m)));
	}
	return -1;
}

static int rename_mapping(struct target *t, const char *to, const char *why)
{
	char path[160];
	snprintf(path, sizeof(path), "/dev/mapper/%s", to);
	if (!cryptname_valid(to) || !strcmp(t->name, to) || access(path, F_OK) == 0)
		return 0;
	char *text = NULL, msg[300], e[140], p2[180], w[240];
	char *const argv[] = {DMSETUP_BIN, "rename", t->name, (char *)to, NULL};
	int ok = job_tool(argv, 30000, &text, msg, sizeof(msg)) == 0;
	free(text);
	if (ok) {
		fprintf(stderr, "lifeboat unlock: /dev/mapper/%s renamed %s, as %s\n", esc(t->name, e, sizeof(e)),
			esc(path, p2, sizeof(p2)), esc(why, w, sizeof(w)));
		snprintf(t->name, sizeof(t->name), "%s", to);
	} else {
		fprintf(stderr, "lifeboat unlock: could not rename /dev/mapper/%s: %s\n", esc(t->name, e, sizeof(e)),
			esc(msg, w, sizeof(w)));
	}
	return ok;
}

/* Mappings opened as luks-<UUID> that a system found inside just now names in its own
 * initrd (the scan's cryptname records: a second LUKS device named only in the encrypted
 * store's initrd) get that name. After the fstab's root names: those win. */
static int name_from_initrds(struct target *ts, int n, const char *text)
{
	struct report rep;
	report_parse(&rep, text);
	int renamed = 0;
	for (int k = 0; k < n; k++) {
		char def[128];
		unlock_default_name(ts[k].li.uuid, def, sizeof(def));
		if (!ts[k].opened_now || strcmp(ts[k].name, def))
			continue;
		for (int i = report_next(&rep, "cryptname", -1); i >= 0; i = report_next(&rep, "cryptname", i)) {
			const char *uuid = record_get(&rep.r[i], "uuid"), *name = record_get(&rep.r[i], "name");
			if (!uuid || !name || strcasecmp(uuid, ts[k].li.uuid))
				continue;
			char why[260];
			snprintf(why, sizeof(why), "the initrd %s names it", record_str(&rep.r[i], "from"));
			renamed += rename_mapping(&ts[k], name, why);
			break;
		}
	}
	report_free(&rep);
	return renamed;
}

/* The systems found on what was just opened: a root whose fstab says /dev/mapper/NAME (not
 * there: "locked") gets its mapping renamed to NAME, as the system's own initrd names it.
 * Returns how many were renamed. */
static int name_as_expected(struct target *ts, int n, const char *text)
{
	struct found f;
	found_load(&f, text);
	int renamed = 0;
	for (int i = 0; i < f.n_sys; i++) {
		const struct found_sys *s = &f.sys[i];
		/* The scan names a mapping /dev/mapper/NAME (dm-N when that node is missing). A
		 * system found on btrfs whose root is not resolved (root "-") was found on the
		 * filesystem that holds its /nix: that is the mapping then (btrfs on LUKS, the
		 * subvolumes of / and /nix on the same device). */
		const char *on = s->root && startswith(s->root, "/dev/") ? s->root : s->nix;
		const char *root = on && startswith(on, "/dev/") ? on + 5 : NULL;
		struct target *t = NULL;
		for (int k = 0; root && k < n; k++)
			if (ts[k].opened_now && (!strcmp(ts[k].dm, root) ||
						 (startswith(root, "mapper/") && !strcmp(ts[k].name, root + 7))))
				t = &ts[k];
		if (!t)
			continue;
		const struct record *ms[64];
		int nm = found_mounts(&f, s->id, s->current, ms, 64);
		for (int k = 0; k < nm; k++) {
			const char *target = record_get(ms[k], "target"), *status = record_get(ms[k], "status");
			const char *spec = record_get(ms[k], "spec");
			if (!target || strcmp(target, "/") || !status || strcmp(status, "locked") || !spec ||
			    !startswith(spec, "/dev/mapper/") || !cryptname_valid(spec + 12) || !strcmp(spec + 12, t->name))
				continue;
			char path[160];
			snprintf(path, sizeof(path), "/dev/mapper/%s", spec + 12);
			if (access(path, F_OK) == 0)
				continue;
			char *text2 = NULL, msg[300], e[140], hb[80];
			char *const argv[] = {DMSETUP_BIN, "rename", t->name, (char *)spec + 12, NULL};
			if (job_tool(argv, 30000, &text2, msg, sizeof(msg)) == 0) {
				fprintf(stderr, "lifeboat unlock: /dev/mapper/%s renamed %s, as %s's fstab names it\n",
					esc(t->name, e, sizeof(e)), esc(path, msg, sizeof(msg)), esc(s->host, hb, sizeof(hb)));
				snprintf(t->name, sizeof(t->name), "%s", spec + 12);
				renamed++;
			} else {
				fprintf(stderr, "lifeboat unlock: could not rename /dev/mapper/%s: %s\n",
					esc(t->name, e, sizeof(e)), esc(msg, hb, sizeof(hb)));
			}
			free(text2);
			break;
		}
	}
	found_free(&f);
	return renamed + name_from_initrds(ts, n, text);
}

int unlock_main(int argc, char **argv)
{
	log_open(isatty(2));
	static const struct option longopts[] = {
		{"key-file", required_argument, NULL, 'k'}, {"header", required_argument, NULL, 'H'},
		{"name", required_argument, NULL, 'n'},     {"tries", required_argument, NULL, 't'},
		{"no-rescan", no_argument, NULL, 'R'},      {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *key_file = NULL, *header = NULL, *name = NULL;
	int tries = 3, rescan = 1, c;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'k': key_file = optarg; break;
		case 'H': header = optarg; break;
		case 'n': name = optarg; break;
		case 't': tries = atoi(optarg); break;
		case 'R': rescan = 0; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	int ndev = argc - optind;
	if (tries < 1 || tries > 100 || ((header || name) && ndev != 1) || (name && !cryptname_valid(name))) {
		fprintf(stderr, "lifeboat unlock: %s\n",
			tries < 1 || tries > 100 ? "--tries takes 1 to 100"
			: name && !cryptname_valid(name) ? "--name takes letters, digits and - _ . + : only"
						   : "--header and --name need exactly one DEVICE");
		return 2;
	}
	if (getuid() != 0) {
		fprintf(stderr, "lifeboat unlock: must run as root\n");
		return 1;
	}
	if (access(CRYPTSETUP_BIN, X_OK) < 0) {
		fprintf(stderr, "lifeboat unlock: %s is missing: this image cannot unlock\n", CRYPTSETUP_BIN);
		return 1;
	}
	static struct target ts[MAX_DEVS];
	struct report saved;
	saved_load(&saved);
	int n = 0;
	if (ndev) {
		for (int i = optind; i < argc && n < MAX_DEVS; i++)
			snprintf(ts[n++].dev, sizeof(ts[0].dev), "%s", argv[i]);
	} else {
		n = from_report(ts, MAX_DEVS, &saved);
		if (!n) {
			fprintf(stderr, "lifeboat unlock: the last scan found no locked LUKS device "
					"(`lifeboat scan --human` lists them; or name one: lifeboat unlock DEVICE)\n");
			report_free(&saved);
			return 1;
		}
	}
	static char reuse[PASS_MAX];
	int failed = 0, opened = 0;
	for (int i = 0; i < n; i++) {
		if (describe(&ts[i], header, &saved) < 0) {
			failed++;
			continue;
		}
		learned_name(&ts[i], &saved);
		if (unlock_one(&ts[i], key_file, header, name, tries, reuse, sizeof(reuse)) < 0)
			failed++;
		else
			opened += ts[i].opened_now;
	}
	explicit_bzero(reuse, sizeof(reuse));
	report_free(&saved);
	if (opened && rescan) {
		fprintf(stderr, "lifeboat unlock: scanning the disks again...\n");
		char *text = NULL;
		report_scan(&text, report_scan_ms(), 0);
		if (text && !name && name_as_expected(ts, n, text)) {
			free(text);
			text = NULL;
			report_scan(&text, report_scan_ms(), 0);
		}
		struct found f;
		found_load(&f, text ? text : "");
		fprintf(stderr, "lifeboat unlock: %d NixOS system%s found now\n", f.n_sys, f.n_sys == 1 ? "" : "s");
		found_free(&f);
		free(text);
	}
	return failed ? 1 : 0;
}
