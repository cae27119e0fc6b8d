#include "discover/nixos.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "discover/bootspec.h"
#include "report/record.h"
#include "lib/inroot.h"
#include "lib/util.h"

#define SMALL_FILE (64 * 1024)

struct gen {
	long number;
	long long date;
	char *toplevel;
};

struct geninfo {
	const char *status; /* ok, corrupt, dangling */
	char reason[160];
	char *version, *kernel, *initrd, *init, *params, *label;
	int bootspec, secrets;
};

int nixos_present(int rootfd)
{
	char buf[PATH_MAX];
	if (inroot_readlink(rootfd, PROFILES_DIR "/system", buf, sizeof(buf)) < 0)
		return 0;
	int fd = inroot_open(rootfd, "/nix/store", O_PATH | O_DIRECTORY);
	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

int nixos_nixfs_present(int fsfd)
{
	char buf[PATH_MAX];
	if (inroot_readlink(fsfd, "/var/nix/profiles/system", buf, sizeof(buf)) < 0)
		return 0;
	int fd = inroot_open(fsfd, "/store", O_PATH | O_DIRECTORY);
	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

static int cmp_gen(const void *a, const void *b)
{
	long x = ((const struct gen *)a)->number, y = ((const struct gen *)b)->number;
	return x < y ? 1 : x > y ? -1 : 0;
}

/* "NAME-123-link" -> 123, or -1. */
static long link_number(const char *entry, const char *name)
{
	size_t nl = strlen(name);
	if (strncmp(entry, name, nl) || entry[nl] != '-')
		return -1;
	const char *p = entry + nl + 1;
	if (!isdigit((unsigned char)*p))
		return -1;
	char *end;
	errno = 0;
	long n = strtol(p, &end, 10);
	if (errno || strcmp(end, "-link") || n < 0)
		return -1;
	return n;
}

/* Read the generation links NAME-N-link of one profile in dirpath. Only the links themselves are
 * read (readlink, lstat): no store path is touched here. */
static int list_gens(int rootfd, const char *dirpath, const char *name, struct gen **out, long *current)
{
	*out = NULL;
	*current = -1;
	int dfd = inroot_open(rootfd, dirpath, O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		return dfd;
	char target[PATH_MAX];
	ssize_t n = readlinkat(dfd, name, target, sizeof(target) - 1);
	if (n > 0) {
		target[n] = 0;
		const char *base = strrchr(target, '/');
		*current = link_number(base ? base + 1 : target, name);
	}
	DIR *d = fdopendir(dfd);
	if (!d) {
		int e = errno;
		close(dfd);
		return -e;
	}
	int count = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		long num = link_number(de->d_name, name);
		if (num < 0)
			continue;
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		n = S_ISLNK(st.st_mode) ? readlinkat(dirfd(d), de->d_name, target, sizeof(target) - 1) : -1;
		if (count == cap) {
			cap = cap ? cap * 2 : 64;
			*out = xrealloc(*out, sizeof(**out) * (size_t)cap);
		}
		struct gen *g = &(*out)[count++];
		g->number = num;
		g->date = (long long)st.st_mtime;
		if (n > 0) {
			target[n] = 0;
			g->toplevel = target[0] == '/' ? xstrdup(target) : xasprintf("%s/%s", dirpath, target);
		} else {
			g->toplevel = NULL;
		}
	}
	closedir(d);
	if (count)
		qsort(*out, (size_t)count, sizeof(**out), cmp_gen);
	return count;
}

/* A one-value file of a generation (nixos-version, etc/hostname, kernel-params). Values are C
 * strings: a NUL byte on the disk cuts the value there, and a problem says so and where, so
 * what is shown is never silently less than the file. */
static char *read_small(FILE *out, int rootfd, const char *dir, const char *name, const char *devpath,
			const char *sysid)
{
	char *p = xasprintf("%s/%s", dir, name), *buf = NULL;
	ssize_t r = inroot_read(rootfd, p, SMALL_FILE, &buf);
	char msg[300];
	if (!out) {
		/* read again for another use: its problems were said the first time */
	} else if (r == -EFBIG) {
		snprintf(msg, sizeof(msg), "%.200s is larger than %d KiB: not read", p, SMALL_FILE >> 10);
		report_put(out, "problem", "path", devpath, "what", "value", "msg", msg, "system", sysid, NULL);
	} else if (r >= 0 && strlen(buf) < (size_t)r) {
		snprintf(msg, sizeof(msg), "%.200s holds a NUL byte at byte %zu of %zd: its value is cut there",
			 p, strlen(buf), r);
		report_put(out, "problem", "path", devpath, "what", "value", "msg", msg, "system", sysid, NULL);
	}
	free(p);
	if (r < 0)
		return NULL;
	rstrip(buf);
	/* Meant to be one line; a newline inside is kept (the report escapes it, a console shows
	 * \x0a), so the value is the file's bytes. */
	return buf;
}

/* The store path an entry of the toplevel names: the link's target when it is a link (that is
 * what a boot loader copies), else the entry's own path. NULL when it does not exist. */
static char *entry_path(int rootfd, const char *top, const char *name)
{
	char *p = xasprintf("%s/%s", top, name);
	if (inroot_exists(rootfd, p) < 0) {
		free(p);
		return NULL;
	}
	char target[PATH_MAX];
	if (inroot_readlink(rootfd, p, target, sizeof(target)) > 0) {
		free(p);
		return target[0] == '/' ? xstrdup(target) : xasprintf("%s/%s", top, target);
	}
	return p;
}

static void geninfo_free(struct geninfo *g)
{
	free(g->version);
	free(g->kernel);
	free(g->initrd);
	free(g->init);
	free(g->params);
	free(g->label);
	memset(g, 0, sizeof(*g));
}

static void set_bad(struct geninfo *g, const char *status, const char *reason)
{
	if (strcmp(g->status, "ok"))
		return; /* the first reason is the one to show */
	g->status = status;
	snprintf(g->reason, sizeof(g->reason), "%.150s", reason);
}

static void inspect_gen(FILE *out, int rootfd, const char *top, const char *devpath,
			const char *sysid, struct geninfo *g)
{
	memset(g, 0, sizeof(*g));
	g->status = "ok";
	if (!top) {
		set_bad(g, "corrupt", "generation link is not a symlink");
		return;
	}
	/* A toplevel is a store path; anything else is a hand-made or hostile link. It is still
	 * resolved only inside the disk, but never offered for booting. */
	if (!startswith(top, "/nix/store/") || strstr(top, "/../") || strchr(top + 11, '/')) {
		char why[200], msg[400];
		snprintf(why, sizeof(why), "points outside /nix/store (%.150s)", top);
		set_bad(g, "dangling", why);
		snprintf(msg, sizeof(msg), "a generation link %s", why);
		report_put(out, "problem", "path", devpath, "what", "generation", "msg", msg, "system",
			   sysid, NULL);
		return;
	}
	int fd = inroot_open(rootfd, top, O_PATH | O_DIRECTORY);
	if (fd < 0) {
		char why[120];
		if (fd == -ENOENT)
			snprintf(why, sizeof(why), "toplevel missing");
		else
			snprintf(why, sizeof(why), "toplevel missing (%s)", strerror(-fd));
		set_bad(g, "dangling", why);
		return;
	}
	close(fd);
	g->version = read_small(out, rootfd, top, "nixos-version", devpath, sysid);
	char *p = xasprintf("%s/boot.json", top), *text = NULL;
	ssize_t len = inroot_read(rootfd, p, 1 << 20, &text);
	free(p);
	if (len >= 0) {
		struct bootspec b;
		const char *err = NULL;
		if (bootspec_parse(&b, text, (size_t)len, &err) == 0) {
			g->bootspec = 1;
			g->kernel = b.kernel, b.kernel = NULL;
			g->initrd = b.initrd, b.initrd = NULL;
			g->init = b.init, b.init = NULL;
			g->params = b.params, b.params = NULL;
			g->label = b.label, b.label = NULL;
			g->secrets = b.initrd_secrets != NULL;
			bootspec_free(&b);
		} else {
			char msg[200];
			snprintf(msg, sizeof(msg), "%s/boot.json: %s; using the toplevel's files", top, err);
			report_put(out, "problem", "path", devpath, "what", "bootspec", "msg", msg,
				   "system", sysid, NULL);
		}
		free(text);
	}
	if (!g->bootspec) {
		g->kernel = entry_path(rootfd, top, "kernel");
		g->initrd = entry_path(rootfd, top, "initrd");
		char *init = entry_path(rootfd, top, "init");
		if (init) {
			free(init);
			g->init = xasprintf("%s/init", top);
		}
		g->params = read_small(out, rootfd, top, "kernel-params", devpath, sysid);
	}
	if (!g->secrets) {
		char *s = xasprintf("%s/append-initrd-secrets", top);
		g->secrets = inroot_exists(rootfd, s) == 0;
		free(s);
	}
	/* Boot loaders skip a generation without nixos-version or kernel/initrd as corrupt. */
	if (!g->kernel)
		set_bad(g, "corrupt", "no kernel");
	else if (g->bootspec && inroot_exists(rootfd, g->kernel) < 0)
		set_bad(g, "corrupt", "kernel missing from the store");
	if (!g->initrd)
		set_bad(g, "corrupt", "no initrd");
	else if (g->bootspec && inroot_exists(rootfd, g->initrd) < 0)
		set_bad(g, "corrupt", "initrd missing from the store");
	if (!g->init)
		set_bad(g, "corrupt", "no init");
	if (!g->version)
		set_bad(g, "corrupt", "no nixos-version");
}

static void put_gen(FILE *out, const char *sysid, const char *profile, long number, int current,
		    long long date, const char *top, const char *spec, const struct geninfo *g,
		    int detailed)
{
	char num[24], dt[24];
	snprintf(num, sizeof(num), "%ld", number);
	snprintf(dt, sizeof(dt), "%lld", date);
	report_put(out, "generation", "system", sysid, "profile", profile, "number", num, "current",
		   current ? "1" : "0", "date", dt, "version", g->version, "toplevel", top, "kernel",
		   g->kernel, "initrd", g->initrd, "init", g->init, "params", g->params, "label", g->label,
		   "specialisation", spec, "status", detailed ? g->status : "unchecked", "reason",
		   detailed ? g->reason : "older than the newest generations; not inspected",
		   "bootspec", g->bootspec ? "1" : "0", "secrets", g->secrets ? "1" : "0", NULL);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void specialisations(FILE *out, int rootfd, const char *top, const char *devpath,
			    const char *sysid, const char *profile, long number, int current,
			    long long date)
{
	char *dir = xasprintf("%s/specialisation", top);
	int dfd = inroot_open(rootfd, dir, O_RDONLY | O_DIRECTORY);
	if (dfd < 0) {
		free(dir);
		return;
	}
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		free(dir);
		return;
	}
	char *names[SPECIALISATION_MAX];
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)) && n < SPECIALISATION_MAX)
		if (de->d_name[0] != '.')
			names[n++] = xstrdup(de->d_name);
	closedir(d);
	qsort(names, (size_t)n, sizeof(names[0]), cmp_str);
	for (int i = 0; i < n; i++) {
		char *entry = xasprintf("%s/%s", dir, names[i]);
		char target[PATH_MAX];
		char *stop = inroot_readlink(rootfd, entry, target, sizeof(target)) > 0 && target[0] == '/'
				     ? xstrdup(target)
				     : xstrdup(entry);
		struct geninfo g;
		inspect_gen(out, rootfd, stop, devpath, sysid, &g);
		put_gen(out, sysid, profile, number, current, date, stop, names[i], &g, 1);
		geninfo_free(&g);
		free(stop);
		free(entry);
		free(names[i]);
	}
	free(dir);
}

/* Host name from the store name: <hash>-nixos-system-<host>-<version label>. */
static void host_from_toplevel(const char *top, char *host, size_t size)
{
	const char *base = strrchr(top, '/');
	base = base ? base + 1 : top;
	const char *p = strstr(base, "-nixos-system-");
	if (!p)
		return;
	p += strlen("-nixos-system-");
	const char *cut = NULL;
	for (const char *q = p; *q; q++)
		if (q[0] == '-' && isdigit((unsigned char)q[1]) && isdigit((unsigned char)q[2]) && q[3] == '.')
			cut = q;
	size_t l = cut ? (size_t)(cut - p) : strlen(p);
	snprintf(host, size, "%.*s", (int)l, p);
}

/* One profile: every generation, newest first. Returns the generation count. */
static int scan_profile(FILE *out, int rootfd, const char *dirpath, const char *name,
			const char *profile, const char *devpath, const char *sysid,
			struct nixos_found *f)
{
	struct gen *gens;
	long current;
	int n = list_gens(rootfd, dirpath, name, &gens, &current);
	if (n < 0)
		return n;
	int is_system = f != NULL;
	int chosen = -1, first_ok = -1, cur_index = -1;
	char cur_reason[200] = "no such generation link";
	for (int i = 0; i < n; i++) {
		int cur = gens[i].number == current;
		if (cur)
			cur_index = i;
		int detailed = i < GEN_DETAIL_MAX || cur;
		struct geninfo g = {.status = "ok"};
		if (detailed)
			inspect_gen(out, rootfd, gens[i].toplevel, devpath, sysid, &g);
		put_gen(out, sysid, profile, gens[i].number, cur, gens[i].date, gens[i].toplevel, NULL,
			&g, detailed);
		if (detailed && gens[i].toplevel && strcmp(g.status, "dangling"))
			specialisations(out, rootfd, gens[i].toplevel, devpath, sysid, profile,
					gens[i].number, cur, gens[i].date);
		if (is_system && detailed && !strcmp(g.status, "ok")) {
			if (cur) {
				chosen = i;
				snprintf(f->version, sizeof(f->version), "%s", g.version ? g.version : "");
			} else if (first_ok < 0) {
				first_ok = i;
			}
		}
		if (is_system && cur && strcmp(g.status, "ok"))
			snprintf(cur_reason, sizeof(cur_reason), "%s: %s", g.status, g.reason);
		geninfo_free(&g);
	}
	if (is_system) {
		f->current = current;
		f->generations = n;
		if (current >= 0 && chosen < 0) {
			char msg[400];
			snprintf(msg, sizeof(msg), "the current generation %ld is not bootable (%s)", current,
				 cur_reason);
			report_put(out, "problem", "path", devpath, "what", "generation", "msg", msg, "system",
				   sysid, NULL);
		}
		/* The host name and plan of a broken current generation are still worth showing. */
		int pick = chosen >= 0 ? chosen : first_ok >= 0 ? first_ok : cur_index;
		if (pick >= 0 && gens[pick].toplevel) {
			const char *top = gens[pick].toplevel;
			f->plan_number = (int)gens[pick].number;
			char *h = read_small(out, rootfd, top, "etc/hostname", devpath, sysid);
			if (h && strlen(h) >= sizeof(f->host)) {
				char msg[200];
				snprintf(msg, sizeof(msg), "etc/hostname is %zu bytes long: only its first %zu are kept",
					 strlen(h), sizeof(f->host) - 1);
				report_put(out, "problem", "path", devpath, "what", "value", "msg", msg, "system",
					   sysid, NULL);
			}
			if (h && *h)
				snprintf(f->host, sizeof(f->host), "%s", h);
			else
				host_from_toplevel(top, f->host, sizeof(f->host));
			free(h);
			if (!f->version[0]) {
				char *v = read_small(NULL, rootfd, top, "nixos-version", devpath, sysid);
				if (v)
					snprintf(f->version, sizeof(f->version), "%s", v);
				free(v);
			}
			char *p = xasprintf("%s/etc/fstab", top), *text = NULL;
			if (inroot_read(rootfd, p, 1 << 20, &text) >= 0) {
				fstab_parse(&f->fstab, text);
				f->have_fstab = 1;
				free(text);
			} else {
				report_put(out, "problem", "path", devpath, "what", "fstab", "msg",
					   "the generation has no readable etc/fstab", "system", sysid, NULL);
			}
			free(p);
		}
	}
	for (int i = 0; i < n; i++)
		free(gens[i].toplevel);
	free(gens);
	return n;
}

int nixos_scan(FILE *out, int rootfd, const char *sysid, const char *devpath, struct nixos_found *f)
{
	memset(f, 0, sizeof(*f));
	f->current = -1;
	int r = scan_profile(out, rootfd, PROFILES_DIR, "system", "system", devpath, sysid, f);
	if (r < 0)
		return r;
	/* Named profiles: system-profiles/NAME -> NAME-N-link. */
	int dfd = inroot_open(rootfd, PROFILES_DIR "/system-profiles", O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		return 0;
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return 0;
	}
	char *names[64];
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)) && n < 64) {
		if (de->d_name[0] == '.' || strstr(de->d_name, "-link"))
			continue;
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	qsort(names, (size_t)n, sizeof(names[0]), cmp_str);
	for (int i = 0; i < n; i++) {
		scan_profile(out, rootfd, PROFILES_DIR "/system-profiles", names[i], names[i], devpath,
			     sysid, NULL);
		free(names[i]);
	}
	return 0;
}

void nixos_found_free(struct nixos_found *f)
{
	fstab_free(&f->fstab);
}
