/* Entering a found NixOS: its filesystems mounted by plan in a private mount namespace, the
 * kernel filesystems in place, pivot_root into it, activation in new PID and UTS namespaces
 * with a clean environment, then a login shell (or a command) on the console. When it exits,
 * every process of the session is gone and every mount is undone, newest first. */
#ifndef LB_ENTER_H
#define LB_ENTER_H

#include <stddef.h>

#include "lib/layout.h"
#include "report/found.h"

#define ENTER_ACTIVATE_MS 120000

struct enter_opts {
	const char *root_dir;    /* --root: an already mounted root (else the plan of s) */
	const struct found *f;
	const struct found_sys *s;
	int number;              /* generation whose fstab is used (-1: current) */
	const char *system;      /* toplevel inside the target (default: the system profile) */
	const char *command;     /* -c: run with the system's bash -c */
	char **argv;             /* after --: run as is */
	int silent;              /* activation output hidden */
	int install_bootloader;  /* NIXOS_INSTALL_BOOTLOADER=1 $system/bin/switch-to-configuration boot */
	const char *hostname;    /* for the UTS namespace, when it is a plain name */
	void (*say)(const char *line);
};

/* Returns the exit status of the shell or command (0-255, whatever it is), or -errno when the
 * system could not be entered, with the step that failed in why ("pivot_root into the system").
 * The steps report through a close-on-exec pipe the shell's exec closes, not an exit status. */
int enter_run(const struct enter_opts *o, char *why, size_t whysize);

#endif
