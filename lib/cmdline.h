/* The kernel command line: split with the kernel's own quoting rules, lifeboat.* options parsed. */
#ifndef LB_CMDLINE_H
#define LB_CMDLINE_H

#include <stddef.h>

/* lifeboat.disktimeout's default: a disk's probe and each device's inspection, in the scan. */
#define CMDLINE_DISKTIMEOUT_MS 20000

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
	int disktimeout_ms;   /* lifeboat.disktimeout=SECONDS: how long one disk may take to answer */
	int nomodules;        /* lifeboat.nomodules: load no modules at all */
	int debug_noblkro;    /* lifeboat.debug_noblkro: the scan leaves devices writable (tests only:
			       * the mount options alone must keep a disk unwritten) */
	char *blacklist;      /* modprobe.blacklist= and module_blacklist=: modules never loaded */
	int loglevel_set;     /* loglevel=, debug or ignore_loglevel: the user chose what the
			       * kernel prints on the consoles, and lifeboat leaves it alone */
	int n_warnings;
	char *warnings[16];   /* messages about unknown or malformed options */
};

/* Split a command line like the kernel's next_arg(): spaces separate, double quotes group, and
 * the quotes around a whole value (key="a b") are removed. Calls fn(key, value|NULL, ctx). */
void cmdline_split(const char *line, void (*fn)(const char *key, const char *val, void *ctx),
		   void *ctx);
/* Where the kernel's parameters end in line: the offset of a "--" parameter (what follows is
 * init's), else the length. *open says whether a double quote is still open there (the kernel
 * then takes everything up to the end as one parameter). */
size_t cmdline_params_end(const char *line, int *open);
/* Parse lifeboat.* options out of a command line into opt (defaults filled in first). */
void cmdline_parse(const char *line, struct lb_options *opt);
void cmdline_free(struct lb_options *opt);
/* Read /proc/cmdline (or $LIFEBOAT_CMDLINE, for tests and the shell) into a malloc'd string
 * (empty on failure, with -errno returned). */
int cmdline_read(char **line);
/* Read the command line and parse it; -errno when it could not be read (defaults are set). */
int cmdline_load(struct lb_options *opt);
/* Parameters the command line gives a loadable module ("usb_storage.delay_use=0" gives
 * "delay_use=0" for usb_storage), as modprobe passes them to finit_module. Malloc'd, maybe "". */
char *cmdline_module_params(const char *line, const char *module);

#endif
