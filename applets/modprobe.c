/* `lifeboat modprobe [-q] [-v] [--] NAME...`: load modules by name or alias, with their
 * dependencies and command-line parameters. PID 1 makes it the kernel's module helper
 * (/proc/sys/kernel/modprobe), so `mount -t ext4` loads ext4 by its "fs-ext4" alias. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "applets/applets.h"
#include "lib/cmdline.h"
#include "lib/modules.h"
#include "lib/log.h"
#include "lib/job.h"
#include "lib/util.h"

int modprobe_main(int argc, char **argv)
{
	/* The kernel starts its helper with no open files at all. */
	stdio_ensure();
	int quiet = 0, verbose = 0, i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		}
		for (const char *o = argv[i] + 1; *o; o++) {
			if (*o == 'q')
				quiet = 1;
			else if (*o == 'v')
				verbose = 1;
			else if (*o == 'a' || *o == 'b' || *o == 's')
				; /* all names / honour blacklists / syslog: what we do anyway */
			else {
				fprintf(stderr, "usage: modprobe [-q] [-v] [--] NAME...\n");
				return 2;
			}
		}
	}
	if (i >= argc) {
		fprintf(stderr, "usage: modprobe [-q] [-v] [--] NAME...\n");
		return 2;
	}
	log_open(!quiet && isatty(2));
	struct lb_options opt;
	char *line;
	cmdline_read(&line);
	cmdline_parse(line, &opt);
	log_set_debug(opt.debug || verbose);
	struct modtree t;
	int r = modtree_open_running(&t);
	if (r < 0) {
		if (!quiet)
			fprintf(stderr, "modprobe: no module tree for this kernel: %s\n", strerror(-r));
		return 1;
	}
	t.cmdline = line;
	t.blacklist = opt.blacklist ? xstrdup(opt.blacklist) : NULL;
	int failed = 0;
	for (; i < argc; i++) {
		char *name = modname_normalize(xstrdup(argv[i]));
		/* A module's own name first, else an alias ("fs-ext4", "pci:v..."). */
		r = modtree_load(&t, name);
		if (r == -ENOENT) {
			int n = modtree_match(&t, argv[i], NULL, NULL);
			r = n > 0 ? modtree_load_alias(&t, argv[i]) : -ENOENT;
		}
		if (r < 0) {
			failed = 1;
			if (!quiet)
				fprintf(stderr, "modprobe: %s: %s\n", argv[i],
					r == -ENOENT ? "no such module or alias" : strerror(-r));
			log_debug("modprobe %s: %s", argv[i], strerror(-r));
		}
		free(name);
	}
	modtree_free(&t);
	cmdline_free(&opt);
	return failed;
}
