/* Booting a generation that discovery found: pick it from the scan report, mount the file
 * system holding its store read-only in a private mount namespace, and open its kernel and
 * initrd inside that root. With initrd secrets, systemd-boot's copy on the ESP is used. */
#ifndef LB_KEXEC_GENERATION_H
#define LB_KEXEC_GENERATION_H

#include <stddef.h>

#include "act/bootplan.h"
#include "report/found.h"

struct gen_select {
	const char *system;         /* any form select_system knows: id, host, UUID=, /dev/... */
	const char *generation;     /* number or specialisation name; NULL: the profile's current one */
	const char *profile;        /* NULL: "system" */
	const char *specialisation; /* NULL: the base configuration */
	const char *expect;         /* NULL, or the system's select_key: it must still be that one */
};

/* The system and generation sel names (report/select.h), which must be bootable. Returns 0, or
 * -errno with a sentence for the user in why. */
int gen_find(const struct found *f, const struct gen_select *sel, const struct found_sys **sys,
	     const struct found_gen **gen, char *why, size_t whysize);

/* A systemd-boot entry (loader/entries/NAME.conf): linux, initrd lines, options. */
struct boot_entry {
	char *linux;
	char *initrd[4];
	int n_initrd;
	char *options;
};
int boot_entry_parse(const char *text, struct boot_entry *e);
void boot_entry_free(struct boot_entry *e);
/* The entry file systemd-boot's NixOS builder writes for this generation (malloc'd). */
char *boot_entry_name(const char *profile, long long number, const char *specialisation);

/* Fill p for the generation sel names: reads the scan report (running `lifeboat scan` when
 * there is none), mounts, opens. Returns 0, or -errno with a sentence for the user in why. */
int bootplan_generation(struct boot_plan *p, const struct gen_select *sel, char *why, size_t whysize);

#endif
