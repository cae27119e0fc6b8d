/* Loading a kernel for kexec: kexec_file_load first, the bundled kexec-tools (kexec_load) only
 * when file loading is unsupported, never after a signature or lockdown refusal. The jump itself
 * is PID 1's: it stops everything, unmounts, and calls reboot(LINUX_REBOOT_CMD_KEXEC). */
#ifndef LB_KEXEC_H
#define LB_KEXEC_H

#include <stddef.h>

#include "lib/layout.h"

#define LOCKDOWN_PATH "/sys/kernel/security/lockdown"
/* How long kexec-tools may take to load (it reads the files and copies them into the kernel). */
#define KEXEC_TOOLS_MS 120000

enum lockdown { LOCKDOWN_UNKNOWN = -1, LOCKDOWN_NONE, LOCKDOWN_INTEGRITY, LOCKDOWN_CONFIDENTIALITY };

/* What a kexec_file_load error means for the next step. */
enum kexec_verdict {
	KEXEC_FALLBACK,          /* file loading unsupported here: try kexec_load */
	KEXEC_REFUSED_SIGNATURE, /* the kernel's signature was not accepted */
	KEXEC_REFUSED_LOCKDOWN,  /* lockdown (Secure Boot) forbids this kernel */
	KEXEC_REFUSED,           /* kexec disabled or not permitted: kexec_load would fail too */
	KEXEC_FAILED,            /* anything else (memory, bad file): reported as is */
};

/* err is kexec_file_load's -errno. */
enum kexec_verdict kexec_classify(int err, enum lockdown lockdown);
/* Parse the lockdown file ("none [integrity] confidentiality"): the bracketed mode. */
enum lockdown lockdown_parse(const char *text);
/* Read it from securityfs (mounting it when missing); LOCKDOWN_UNKNOWN when unavailable. */
enum lockdown lockdown_read(void);

/* MemAvailable in bytes from /proc/meminfo's text, or -ENOENT. */
long long meminfo_available(const char *text);
/* What a load of these sizes needs: the kernel reads each file into a buffer and copies it into
 * its own segments before freeing the buffer, so twice the payload, plus a margin that keeps
 * the rescue system itself alive. */
#define KEXEC_MEM_MARGIN (32ULL << 20)
unsigned long long kexec_mem_need(unsigned long long kernel, unsigned long long initrd);
/* Bytes missing for the load (0 when there is enough). */
unsigned long long kexec_mem_missing(unsigned long long avail, unsigned long long need);

/* "init=INIT PARAMS" for a NixOS generation; params may be NULL or empty. malloc'd. */
char *kexec_cmdline_nixos(const char *init, const char *params);
/* Append the console= settings of running (lifeboat's own /proc/cmdline) to cmdline when it has
 * none, so the new kernel talks on the console the user is watching. Returns a malloc'd string;
 * *added says whether anything was added. */
char *kexec_cmdline_consoles(const char *cmdline, const char *running, int *added);

/* The kernel parameters a NixOS kexec installer's `kexec/run` script passes (its init= and
 * kernelParams, or its --command-line argument). malloc'd in *out; -ENOENT when not found. */
int kexec_run_script_cmdline(const char *script, char **out);

/* Check a bzImage header (the file's first 1 KiB at least) against the file size: kexec_file_load
 * accepts a truncated bzImage and the jump then dies silently, so lifeboat checks first.
 * Returns 0 for a whole bzImage, 1 for another format (the loaders judge it), -EINVAL when
 * truncated (*need says how big it should be). */
int kexec_check_bzimage(const unsigned char *hdr, size_t len, unsigned long long size,
			unsigned long long *need);
/* The same for an open file. */
int kexec_check_kernel_fd(int fd, unsigned long long *need);

struct kexec_load_result {
	int file_err;     /* -errno of kexec_file_load (0: it worked) */
	int used_tools;   /* 1 when the bundled kexec-tools loaded it */
	int tools_status; /* wait status of kexec-tools when it ran and failed */
	enum kexec_verdict verdict;
	enum lockdown lockdown;
};

/* Load kernel_fd and initrd_fd (-1 for none) with cmdline. tools is the kexec-tools binary for
 * the fallback (NULL: none). Returns 0 when loaded, or -errno (details in *res). */
int kexec_load_fds(int kernel_fd, int initrd_fd, const char *cmdline, const char *tools,
		   struct kexec_load_result *res);
/* The same under a given lockdown mode (kexec_load_fds reads the running kernel's). */
int kexec_load_under(enum lockdown lockdown, int kernel_fd, int initrd_fd, const char *cmdline,
		     const char *tools, struct kexec_load_result *res);
/* One paragraph saying what failed (err: kexec_load_fds's -errno) and what it means. */
void kexec_explain(const struct kexec_load_result *res, int err, char *buf, size_t size);
/* Is a kexec image loaded now (/sys/kernel/kexec_loaded)? */
int kexec_loaded(void);

#endif
