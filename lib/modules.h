/* Kernel modules: modules.alias matching and loading with dependencies via finit_module.
 * Everything reads a module tree (normally /lib/modules/<release>), so tests can point it at a
 * fake tree. */
#ifndef LB_MODULES_H
#define LB_MODULES_H

struct modalias {
	char *pattern; /* fnmatch pattern from modules.alias */
	char *module;  /* normalized module name (dashes become underscores) */
	int fixed;     /* length of the pattern's literal start (before any wildcard) */
};

struct moddep {
	char *name;  /* normalized */
	char *path;  /* relative to the module dir */
	char **deps; /* normalized names */
	int n_deps;
	int state;   /* 0 unknown, 1 loading, 2 loaded or built in, -errno failed */
};

struct modtree {
	char *dir;   /* e.g. /lib/modules/6.1.0-56-amd64 */
	struct modalias *aliases;
	int n_aliases;
	struct moddep *mods;
	int n_mods;
	char **builtin;
	int n_builtin;
	int loaded;  /* how many modules this tree loaded */
	char *cmdline;   /* malloc'd kernel command line: module parameters (mod.param=value) */
	char *blacklist; /* malloc'd comma list of modules never to load, or NULL */
};

/* Load modules.alias, modules.dep and modules.builtin from dir. */
int modtree_open(struct modtree *t, const char *dir);
/* The running kernel's tree: /lib/modules/$(uname -r). */
int modtree_open_running(struct modtree *t);
void modtree_free(struct modtree *t);
/* Names of modules whose alias pattern matches modalias; calls fn for each, stops early when fn
 * returns nonzero. Returns the number of matches. */
int modtree_match(const struct modtree *t, const char *modalias,
		  int (*fn)(const char *module, void *ctx), void *ctx);
/* The module of that (normalized) name, or NULL; is it built into the kernel? */
struct moddep *modtree_find(const struct modtree *t, const char *name);
int modtree_is_builtin(const struct modtree *t, const char *name);
/* Load m itself, its dependencies being the caller's business, with its command-line parameters,
 * logging what was loaded: 1 loaded, 0 already there, -errno. Changes neither m->state nor
 * t->loaded (lib/modpool.c runs it in a child). */
int modtree_load_self(const struct modtree *t, const struct moddep *m);
/* Load a module and its dependencies. Built-in and already loaded modules succeed. A name that
 * is neither in modules.dep nor built in gives -ENOENT. */
int modtree_load(struct modtree *t, const char *name);
/* Load every module matching modalias; returns how many were newly loaded or -errno of the
 * first failure (others are still attempted). */
int modtree_load_alias(struct modtree *t, const char *modalias);
/* Is name (normalized) on the tree's blacklist? */
int modtree_blacklisted(const struct modtree *t, const char *name);
/* Normalize a module name in place (dashes to underscores). */
char *modname_normalize(char *s);

/* The load hook; tests replace it. Default: finit_module(fd of path, params, 0); returns 1 when
 * loaded, 0 when it was already there, -errno. */
extern int (*modules_load_file)(const char *path, const char *params);

#endif
