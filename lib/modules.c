#include "lib/modules.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "lib/cmdline.h"
#include "lib/log.h"
#include "lib/util.h"
#include "lib/xzread.h"

char *modname_normalize(char *s)
{
	for (char *p = s; *p; p++)
		if (*p == '-')
			*p = '_';
	return s;
}

/* "kernel/fs/ext4/ext4.ko.xz" -> "ext4" */
static char *name_from_path(const char *path)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	char *n = xstrdup(b);
	char *dot = strstr(n, ".ko");
	if (dot)
		*dot = 0;
	return modname_normalize(n);
}

static int load_aliases(struct modtree *t)
{
	char *text;
	char *path = xasprintf("%s/modules.alias", t->dir);
	ssize_t r = read_file_at(AT_FDCWD, path, 64 << 20, &text);
	free(path);
	if (r < 0)
		return (int)r;
	int cap = 0;
	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *s2, *w = strtok_r(line, " \t", &s2);
		if (!w || strcmp(w, "alias"))
			continue;
		char *pat = strtok_r(NULL, " \t", &s2), *mod = strtok_r(NULL, " \t", &s2);
		if (!pat || !mod)
			continue;
		if (t->n_aliases == cap) {
			cap = cap ? cap * 2 : 256;
			t->aliases = xrealloc(t->aliases, sizeof(*t->aliases) * (size_t)cap);
		}
		t->aliases[t->n_aliases].pattern = xstrdup(pat);
		t->aliases[t->n_aliases].fixed = (int)strcspn(pat, "*?[\\");
		t->aliases[t->n_aliases].module = modname_normalize(xstrdup(mod));
		t->n_aliases++;
	}
	free(text);
	return 0;
}

static int load_deps(struct modtree *t)
{
	char *text;
	char *path = xasprintf("%s/modules.dep", t->dir);
	ssize_t r = read_file_at(AT_FDCWD, path, 64 << 20, &text);
	free(path);
	if (r < 0)
		return (int)r;
	int cap = 0;
	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = 0;
		if (t->n_mods == cap) {
			cap = cap ? cap * 2 : 256;
			t->mods = xrealloc(t->mods, sizeof(*t->mods) * (size_t)cap);
		}
		struct moddep *m = &t->mods[t->n_mods++];
		memset(m, 0, sizeof(*m));
		m->path = xstrdup(line);
		m->name = name_from_path(line);
		char *s2;
		for (char *d = strtok_r(colon + 1, " \t", &s2); d; d = strtok_r(NULL, " \t", &s2)) {
			m->deps = xrealloc(m->deps, sizeof(char *) * (size_t)(m->n_deps + 1));
			m->deps[m->n_deps++] = name_from_path(d);
		}
	}
	free(text);
	return 0;
}

static void load_builtin(struct modtree *t)
{
	char *text;
	char *path = xasprintf("%s/modules.builtin", t->dir);
	ssize_t r = read_file_at(AT_FDCWD, path, 16 << 20, &text);
	free(path);
	if (r < 0)
		return;
	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		t->builtin = xrealloc(t->builtin, sizeof(char *) * (size_t)(t->n_builtin + 1));
		t->builtin[t->n_builtin++] = name_from_path(line);
	}
	free(text);
}

int modtree_open(struct modtree *t, const char *dir)
{
	memset(t, 0, sizeof(*t));
	t->dir = xstrdup(dir);
	int r = load_deps(t);
	if (r < 0) {
		modtree_free(t);
		return r;
	}
	load_aliases(t);
	load_builtin(t);
	return 0;
}

int modtree_open_running(struct modtree *t)
{
	struct utsname u;
	if (uname(&u) < 0)
		return -errno;
	char *dir = xasprintf("/lib/modules/%s", u.release);
	int r = modtree_open(t, dir);
	free(dir);
	return r;
}

void modtree_free(struct modtree *t)
{
	for (int i = 0; i < t->n_aliases; i++) {
		free(t->aliases[i].pattern);
		free(t->aliases[i].module);
	}
	for (int i = 0; i < t->n_mods; i++) {
		free(t->mods[i].name);
		free(t->mods[i].path);
		for (int j = 0; j < t->mods[i].n_deps; j++)
			free(t->mods[i].deps[j]);
		free(t->mods[i].deps);
	}
	for (int i = 0; i < t->n_builtin; i++)
		free(t->builtin[i]);
	free(t->aliases);
	free(t->mods);
	free(t->builtin);
	free(t->dir);
	free(t->cmdline);
	free(t->blacklist);
	memset(t, 0, sizeof(*t));
}

int modtree_match(const struct modtree *t, const char *modalias,
		  int (*fn)(const char *module, void *ctx), void *ctx)
{
	int n = 0;
	for (int i = 0; i < t->n_aliases; i++) {
		/* Most patterns start with a long literal ("pci:v00008086d..."): comparing it first
		 * spares thousands of fnmatch calls per device (every uevent is matched). */
		if (strncmp(t->aliases[i].pattern, modalias, (size_t)t->aliases[i].fixed) != 0 ||
		    fnmatch(t->aliases[i].pattern, modalias, 0) != 0)
			continue;
		/* The same module often matches through several aliases: report it once. */
		int dup = 0;
		for (int j = 0; j < i && !dup; j++)
			dup = !strcmp(t->aliases[j].module, t->aliases[i].module) &&
			      fnmatch(t->aliases[j].pattern, modalias, 0) == 0;
		if (dup)
			continue;
		n++;
		if (fn && fn(t->aliases[i].module, ctx))
			break;
	}
	return n;
}

/* How long a module another process is loading ("coming": the worker's preload, say) is waited
 * for before loading it here anyway (the kernel then waits too, and says EEXIST). */
#define MODULE_COMING_MS 30000

/* Is the module of this .ko path loaded and live? Asking the kernel to load it again would cost a
 * full read (for an xz module, a decode) and signature check of the file before its EEXIST
 * (figures: docs/bench.md). A module still "coming" is waited for here, without decoding it
 * a second time. */
static int module_live(const char *path)
{
	char *name = name_from_path(path);
	char *p = xasprintf("/sys/module/%s/initstate", name);
	int live = 0;
	for (long long until = now_ms() + MODULE_COMING_MS;;) {
		char *state = NULL;
		int coming = read_file_at(AT_FDCWD, p, 32, &state) > 0 && !strcmp(rstrip(state), "coming");
		live = state && !strcmp(state, "live");
		free(state);
		if (!coming || now_ms() >= until)
			break;
		poll(NULL, 0, 10);
	}
	free(p);
	free(name);
	return live;
}

/* Bigger than any module of a distribution kernel (the largest are ~20 MB, amdgpu's); a bound so
 * that a damaged file cannot take the worker's memory. */
#define MODULE_MAX_BYTES (64u << 20)

static int default_load_file(const char *path, const char *params)
{
	if (module_live(path))
		return 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r, e;
	if (xz_path(path)) {
		/* The kernel cannot decompress modules itself: decoded here, loaded from memory (the
		 * signature, when the kernel checks one, is part of the decoded file). */
		char *img;
		size_t len;
		r = xz_read_all(fd, MODULE_MAX_BYTES, &img, &len);
		close(fd);
		if (r < 0) {
			log_warn("module %s cannot be decompressed: %s", path,
				 r == -EBADMSG ? "the xz data is damaged" : strerror(-r));
			return r;
		}
		r = (int)syscall(SYS_init_module, img, (unsigned long)len, params);
		e = errno;
		free(img);
	} else {
		r = (int)syscall(SYS_finit_module, fd, params, 0);
		e = errno;
		close(fd);
	}
	if (r < 0)
		return e == EEXIST ? 0 : -e;
	return 1;
}

int (*modules_load_file)(const char *path, const char *params) = default_load_file;

struct moddep *modtree_find(const struct modtree *t, const char *name)
{
	for (int i = 0; i < t->n_mods; i++)
		if (!strcmp(t->mods[i].name, name))
			return &t->mods[i];
	return NULL;
}

int modtree_is_builtin(const struct modtree *t, const char *name)
{
	for (int i = 0; i < t->n_builtin; i++)
		if (!strcmp(t->builtin[i], name))
			return 1;
	return 0;
}

int modtree_blacklisted(const struct modtree *t, const char *name)
{
	if (!t->blacklist)
		return 0;
	char *copy = xstrdup(t->blacklist);
	int hit = 0;
	for (char *save = NULL, *w = strtok_r(copy, ", ", &save); w && !hit; w = strtok_r(NULL, ", ", &save))
		hit = !strcmp(modname_normalize(w), name);
	free(copy);
	return hit;
}

int modtree_load_self(const struct modtree *t, const struct moddep *m)
{
	char *path = xasprintf("%s/%s", t->dir, m->path);
	char *params = cmdline_module_params(t->cmdline ? t->cmdline : "", m->name);
	int r = modules_load_file(path, params);
	if (r > 0)
		log_info("loaded module %s%s%s", m->name, *params ? " " : "", params);
	else if (r == 0)
		log_debug("module %s was already loaded", m->name);
	free(params);
	free(path);
	return r;
}

int modtree_load(struct modtree *t, const char *want)
{
	char *name = modname_normalize(xstrdup(want));
	struct moddep *m = modtree_find(t, name);
	int r = 0;
	if (!m) {
		r = modtree_is_builtin(t, name) ? 0 : -ENOENT;
		goto out;
	}
	if (m->state == 2 || m->state < 0 || m->state == 1) {
		/* Loaded, failed before, or a dependency cycle: do not try again. */
		r = m->state < 0 ? m->state : 0;
		goto out;
	}
	if (modtree_blacklisted(t, name)) {
		/* As modprobe does: a blacklisted module is never loaded, not even as a dependency. */
		log_info("module %s is blacklisted on the command line; not loading it", name);
		r = m->state = -EPERM;
		goto out;
	}
	m->state = 1;
	for (int i = 0; i < m->n_deps; i++) {
		int d = modtree_load(t, m->deps[i]);
		if (d < 0 && d != -ENOENT)
			log_debug("module %s: dependency %s: %s", name, m->deps[i], strerror(-d));
	}
	r = modtree_load_self(t, m);
	if (r > 0)
		t->loaded++;
	m->state = r < 0 ? r : 2;
	if (r > 0)
		r = 0;
out:
	free(name);
	return r;
}

struct alias_ctx {
	struct modtree *t;
	int first_err;
};

static int load_one(const char *module, void *ctx)
{
	struct alias_ctx *c = ctx;
	int r = modtree_load(c->t, module);
	if (r == -ENODEV || r == -ENXIO) {
		/* A driver that found nothing it can drive: normal for catch-all aliases. */
		log_debug("module %s: no device for it", module);
	} else if (r < 0 && r != -ENOENT) {
		log_warn("module %s: %s", module, strerror(-r));
		if (!c->first_err)
			c->first_err = r;
	}
	return 0;
}

int modtree_load_alias(struct modtree *t, const char *modalias)
{
	struct alias_ctx c = {t, 0};
	int before = t->loaded;
	modtree_match(t, modalias, load_one, &c);
	return c.first_err ? c.first_err : t->loaded - before;
}
