/* What `lifeboat boot` is about to kexec: the kernel and initrd as open fds (opened inside the
 * found system's root when they come from one), the command line, and what to clean up after
 * the load (a private mount to drop, unpacked payload files to free). */
#ifndef LB_BOOTPLAN_H
#define LB_BOOTPLAN_H

#include <sys/types.h>

#include "lib/layout.h"

struct boot_plan {
	char *name;          /* for the user: "NixOS 24.05 generation 12 of host" */
	char *kernel_path;   /* as the user knows it (a store path, or a file of ours) */
	char *initrd_path;
	int kernel_fd, initrd_fd;
	off_t kernel_size, initrd_size;
	char *cmdline;
	int exact_cmdline;   /* given by the user whole: no console= added */
	char *notes[4];      /* things to say before loading (initrd secrets from the ESP...) */
	int n_notes;
	char *mounts[4];     /* private mounts to drop after the load, in mount order */
	int n_mounts;
	int free_payload;    /* unlink the installer's unpacked files after the load */
};

void bootplan_init(struct boot_plan *p);
void bootplan_note(struct boot_plan *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Remember a mount point made for this plan (taken over: freed by bootplan_release). */
void bootplan_mounted(struct boot_plan *p, char *dir);
/* Close fds, unmount what was mounted (lazily when still busy), free strings. */
void bootplan_release(struct boot_plan *p);
/* Open kernel and initrd of ours (paths in the rescue system); initrd may be NULL. */
int bootplan_files(struct boot_plan *p, const char *kernel, const char *initrd, const char *cmdline);
/* The bundled installer from dir (kernel, initrd, optional cmdline and name). */
int bootplan_installer(struct boot_plan *p, const char *dir);
/* Unlink the installer's unpacked files, giving their memory back. */
int installer_free(const char *dir);

#endif
