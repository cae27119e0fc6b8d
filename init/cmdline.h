/* The kernel command line: split with the kernel's own quoting rules, lifeboat.* options parsed. */
#ifndef LB_CMDLINE_H
#define LB_CMDLINE_H

struct lb_options {
	int timeout;          /* lifeboat.timeout=N seconds; -1 waits forever */
	int timeout_set;
	char *default_action; /* lifeboat.default= enter|boot|installer|shell|reboot|poweroff */
	char *system;         /* lifeboat.system= UUID=..|LABEL=..|/dev/..|hostname */
	char *generation;     /* lifeboat.generation= number, or name of a specialisation */
	int debug;            /* lifeboat.debug */
	int shell;            /* lifeboat.shell: a shell before anything else runs */
	char *modules;        /* lifeboat.modules=a,b,c extra modules to load */
	int settle_ms;        /* lifeboat.settle=SECONDS: longest wait for block devices */
	int nomodules;        /* lifeboat.nomodules: load no modules at all */
	int n_warnings;
	char *warnings[16];   /* messages about unknown or malformed options */
};

/* Split a command line like the kernel's next_arg(): spaces separate, double quotes group, and
 * the quotes around a whole value (key="a b") are removed. Calls fn(key, value|NULL, ctx). */
void cmdline_split(const char *line, void (*fn)(const char *key, const char *val, void *ctx),
		   void *ctx);
/* Parse lifeboat.* options out of a command line into opt (defaults filled in first). */
void cmdline_parse(const char *line, struct lb_options *opt);
void cmdline_free(struct lb_options *opt);
/* Read /proc/cmdline (or $LIFEBOAT_CMDLINE, for tests and the shell) and parse it. */
int cmdline_load(struct lb_options *opt);

#endif
