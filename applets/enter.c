/* `lifeboat enter`: a shell (or a command) inside a found NixOS, like nixos-enter but mounting
 * the system by itself. Options as nixos-enter's (--root, --system, -c/--command, --silent,
 * -- argv...), plus --id N / --host NAME to pick a system of the scan report (with one system
 * found, that one). The menu runs it on the console for "enter" and "repair boot loader". */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "act/enter.h"
#include "applets/applets.h"
#include "lib/log.h"
#include "lib/escape.h"
#include "report/found.h"
#include "report/select.h"
#include "report/store.h"

static void say(const char *line)
{
	char buf[600];
	fprintf(stderr, "lifeboat enter: %s\n", term_escape(line, buf, sizeof(buf), 500));
}

static void usage(FILE *o)
{
	fprintf(o, "usage: lifeboat enter [--id N | --host NAME | --root DIR] [--system PATH]\n"
		   "                      [-c COMMAND | -- ARGV...] [--silent] [--install-bootloader]\n"
		   "  Enter a NixOS found on the disks: its filesystems mounted by its fstab in a private\n"
		   "  namespace, activation run, then a login shell. Everything is unmounted on exit.\n"
		   "  --id N / --host NAME  which system of `lifeboat scan` (default: the only one); NAME\n"
		   "                        may also be UUID=, LABEL=, PARTUUID=, PARTLABEL= or a device\n"
		   "  --root DIR            use a root already mounted at DIR instead\n"
		   "  --system PATH         the generation to activate (default: the system profile)\n"
		   "  -c COMMAND            run COMMAND with the system's bash instead of a shell\n"
		   "  --silent              hide activation output\n"
		   "  --install-bootloader  run NIXOS_INSTALL_BOOTLOADER=1 switch-to-configuration boot\n"
		   "  --expect KEY          refuse unless the system is still the one KEY names (the menu\n"
		   "                        passes it: a rescan may have given the id to another system)\n");
}

int enter_main(int argc, char **argv)
{
	/* Into the shared log and dmesg; echoed on stderr only when a person is reading it. */
	log_open(isatty(2));
	static const struct option longopts[] = {
		{"root", required_argument, NULL, 'r'},   {"system", required_argument, NULL, 's'},
		{"command", required_argument, NULL, 'c'}, {"silent", no_argument, NULL, 'q'},
		{"id", required_argument, NULL, 'i'},     {"host", required_argument, NULL, 'H'},
		{"install-bootloader", no_argument, NULL, 'B'}, {"help", no_argument, NULL, 'h'},
		{"expect", required_argument, NULL, 'E'},
		{NULL, 0, NULL, 0},
	};
	struct enter_opts o = {.number = -1, .say = say};
	int id = -1;
	const char *host = NULL, *expect = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "+c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'r': o.root_dir = optarg; break;
		case 's': o.system = optarg; break;
		case 'c': o.command = optarg; break;
		case 'q': o.silent = 1; break;
		case 'i': id = atoi(optarg); break;
		case 'H': host = optarg; break;
		case 'B': o.install_bootloader = 1; break;
		case 'E': expect = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc)
		o.argv = argv + optind;
	if (getuid() != 0) {
		fprintf(stderr, "lifeboat enter: must run as root\n");
		return 1;
	}
	struct found f;
	int have = 0;
	if (!o.root_dir) {
		char *text = NULL;
		int r = report_saved(&text);
		if (!text) {
			fprintf(stderr, "lifeboat enter: cannot scan the disks: %s\n", strerror(-r));
			return 1;
		}
		found_load(&f, text);
		free(text);
		have = 1;
		char idbuf[16], why[700], ew[64];
		snprintf(idbuf, sizeof(idbuf), "%d", id);
		const char *which = id >= 0 ? idbuf : host;
		if (!which && !expect && f.n_sys != 1) {
			if (!f.n_sys)
				fprintf(stderr, "lifeboat enter: no NixOS system was found on the disks\n");
			else
				fprintf(stderr, "lifeboat enter: %d systems found; choose one with --id or --host "
						"(see `lifeboat scan --human`)\n", f.n_sys);
			found_free(&f);
			return 1;
		}
		int sel = which || expect ? select_system_as(&f, which, expect, why, sizeof(why)) : 0;
		if (sel < 0) {
			fprintf(stderr, "lifeboat enter: --%s %s %s\n", id >= 0 ? "id" : "host",
				term_escape(which ? which : "", ew, sizeof(ew), 60), why);
			found_free(&f);
			return 1;
		}
		o.s = &f.sys[sel];
		o.f = &f;
		/* The fstab of the generation entered, when the scan read it. */
		for (int i = 0; o.system && i < o.s->n_gens; i++)
			if (!strcmp(o.s->gens[i].toplevel, o.system))
				o.number = o.s->gens[i].number;
		/* A plain host name names the UTS namespace; anything else is not ours to set. */
		const char *h = o.s->host;
		int plain = *h != 0 && strlen(h) < 64;
		for (const char *p = h; *p; p++)
			plain &= (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
				 *p == '-' || *p == '.';
		o.hostname = plain ? h : NULL;
		char eh[80];
		fprintf(stderr, "lifeboat enter: entering %s (%s)...\n", term_escape(h, eh, sizeof(eh), 60),
			o.system ? "chosen generation" : "current generation");
	}
	char why[200], ew[420], what[80];
	term_escape(o.root_dir ? o.root_dir : o.s->host, what, sizeof(what), 60);
	int r = enter_run(&o, why, sizeof(why));
	if (have)
		found_free(&f);
	if (r < 0) {
		fprintf(stderr, "lifeboat enter: could not enter %s: %s: %s\n", what,
			term_escape(why, ew, sizeof(ew), 400), strerror(-r));
		return 1;
	}
	fprintf(stderr, "lifeboat enter: left the system; its filesystems are unmounted.\n");
	return r;
}
