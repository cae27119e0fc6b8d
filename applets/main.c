/* lifeboat's multi-call entry: PID 1 when started as /init, otherwise the applet named by
 * argv[0] or argv[1]. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "applets/applets.h"
#include "lib/layout.h"

struct applet {
	const char *name;
	int (*main)(int, char **);
	const char *help;
};

/* Sorted by name. */
static const struct applet applets[] = {
	{"boot", boot_main, "load a generation, the installer or a kernel for kexec, then jump"},
	{"check", check_main, "check (--repair: repair) the filesystems of a device or found system"},
	{"devices", devices_main, "load drivers for present and new devices (run by PID 1)"},
	{"enter", enter_main, "a shell inside a found NixOS (like nixos-enter)"},
	{"unlock", unlock_main, "open LUKS devices (read-only) so the scan looks inside"},
	{"init", init_main, "PID 1"},
	{"menu", menu_main, "the console menu (run by PID 1)"},
	{"modprobe", modprobe_main, "load kernel modules by name or alias (the kernel's module helper)"},
	{"remote", remote_main, "network and the SSH server for remote rescue (run by PID 1)"},
	{"scan", scan_main, "find every NixOS on the disks, writing nothing (--human: a table)"},
};

static void usage(void)
{
	fprintf(stderr, "lifeboat %s\nusage: lifeboat COMMAND [ARGS]\n\n", LB_VERSION);
	for (size_t i = 0; i < sizeof(applets) / sizeof(applets[0]); i++)
		fprintf(stderr, "  %-10s %s\n", applets[i].name, applets[i].help);
}

static const struct applet *find(const char *name)
{
	for (size_t i = 0; i < sizeof(applets) / sizeof(applets[0]); i++)
		if (!strcmp(applets[i].name, name))
			return &applets[i];
	return NULL;
}

int main(int argc, char **argv)
{
	if (getpid() == 1)
		return init_main(argc, argv);
	const char *base = argc > 0 ? strrchr(argv[0], '/') : NULL;
	base = base ? base + 1 : argc > 0 ? argv[0] : "lifeboat";
	/* Called as /init or lifeboat, the command is argv[1]; as a link named for an applet
	 * (reboot, enter...), that name is the command. */
	const struct applet *a = strcmp(base, "init") && strcmp(base, "lifeboat") ? find(base) : NULL;
	if (a)
		return a->main(argc, argv);
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage();
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("lifeboat %s\n", LB_VERSION);
		return 0;
	}
	a = find(argv[1]);
	if (!a) {
		fprintf(stderr, "lifeboat: unknown command '%s'\n", argv[1]);
		usage();
		return 2;
	}
	return a->main(argc - 1, argv + 1);
}
