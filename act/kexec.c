#include "act/kexec.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kexec.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/job.h"
#include "lib/util.h"

enum kexec_verdict kexec_classify(int err, enum lockdown lockdown)
{
	switch (-err) {
	case ENOSYS:  /* kernel built without kexec_file_load */
	case ENOEXEC: /* no file loader for this image format (ELF vmlinux, 32-bit bzImage) */
	case EINVAL:  /* the file loader did not understand the image */
		return KEXEC_FALLBACK;
	case EKEYREJECTED:
	case ENOKEY:
	case EBADMSG:
		return KEXEC_REFUSED_SIGNATURE;
	case EPERM:
		/* Under lockdown EPERM is the refusal of an unsigned kernel, and kexec_load is
		 * forbidden outright; without it, kexec is disabled (kexec_load_disabled) for both. */
		return lockdown > LOCKDOWN_NONE ? KEXEC_REFUSED_LOCKDOWN : KEXEC_REFUSED;
	default:
		return KEXEC_FAILED;
	}
}

enum lockdown lockdown_parse(const char *text)
{
	static const char *const names[] = {"none", "integrity", "confidentiality"};
	const char *open = strchr(text, '[');
	if (!open)
		return LOCKDOWN_UNKNOWN;
	const char *close = strchr(open, ']');
	if (!close)
		return LOCKDOWN_UNKNOWN;
	size_t len = (size_t)(close - open - 1);
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strlen(names[i]) == len && !strncmp(open + 1, names[i], len))
			return (enum lockdown)i;
	return LOCKDOWN_UNKNOWN;
}

enum lockdown lockdown_read(void)
{
	char *text;
	if (access(LOCKDOWN_PATH, R_OK) < 0)
		mount("securityfs", "/sys/kernel/security", "securityfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	if (read_file_at(AT_FDCWD, LOCKDOWN_PATH, 4096, &text) < 0)
		return LOCKDOWN_UNKNOWN;
	enum lockdown l = lockdown_parse(text);
	free(text);
	return l;
}

long long meminfo_available(const char *text)
{
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (!startswith(p, "MemAvailable:"))
			continue;
		char *end;
		long long kb = strtoll(p + 13, &end, 10);
		if (end == p + 13 || kb < 0)
			return -ENOENT;
		return kb * 1024;
	}
	return -ENOENT;
}

unsigned long long kexec_mem_need(unsigned long long kernel, unsigned long long initrd)
{
	return 2 * (kernel + initrd) + KEXEC_MEM_MARGIN;
}

unsigned long long kexec_mem_missing(unsigned long long avail, unsigned long long need)
{
	return avail >= need ? 0 : need - avail;
}

int kexec_check_bzimage(const unsigned char *hdr, size_t len, unsigned long long size,
			unsigned long long *need)
{
	/* The x86 boot protocol header: "HdrS" at 0x202, setup_sects at 0x1f1 (0 means 4), and
	 * syssize at 0x1f4, the protected-mode part in 16-byte units. */
	if (len < 0x208 || memcmp(hdr + 0x202, "HdrS", 4))
		return 1;
	unsigned setup = hdr[0x1f1] ? hdr[0x1f1] : 4;
	unsigned long long sys = (unsigned long long)hdr[0x1f4] | (unsigned long long)hdr[0x1f5] << 8 |
				 (unsigned long long)hdr[0x1f6] << 16 | (unsigned long long)hdr[0x1f7] << 24;
	*need = (setup + 1ULL) * 512 + sys * 16;
	return size < *need ? -EINVAL : 0;
}

int kexec_check_kernel_fd(int fd, unsigned long long *need)
{
	unsigned char hdr[1024];
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	ssize_t n = pread(fd, hdr, sizeof(hdr), 0);
	if (n < 0)
		return -errno;
	return kexec_check_bzimage(hdr, (size_t)n, (unsigned long long)st.st_size, need);
}

int kexec_loaded(void)
{
	char *text;
	if (read_file_at(AT_FDCWD, "/sys/kernel/kexec_loaded", 64, &text) < 0)
		return 0;
	int loaded = text[0] == '1';
	free(text);
	return loaded;
}

/* kexec-tools reads files by name: hand it our fds as /proc/self/fd paths, so nothing is looked
 * up again outside the root the fds were opened in. Returns its wait status or -errno. */
static int load_with_tools(const char *tools, int kernel_fd, int initrd_fd, const char *cmdline)
{
	char kpath[32], ipath[48], *cl = xasprintf("--command-line=%s", cmdline);
	snprintf(kpath, sizeof(kpath), "/proc/self/fd/%d", kernel_fd);
	snprintf(ipath, sizeof(ipath), "--initrd=/proc/self/fd/%d", initrd_fd);
	char *argv[8];
	int n = 0;
	argv[n++] = (char *)tools;
	argv[n++] = "-c";
	argv[n++] = "-l";
	argv[n++] = kpath;
	if (initrd_fd >= 0)
		argv[n++] = ipath;
	argv[n++] = cl;
	argv[n] = NULL;
	int keep[] = {kernel_fd, initrd_fd};
	struct spawn_opts o = {.keep_fd = -1, .keep = keep, .n_keep = 2};
	int st = run_wait(argv, &o, KEXEC_TOOLS_MS);
	free(cl);
	return st;
}

int kexec_load_fds(int kernel_fd, int initrd_fd, const char *cmdline, const char *tools,
		   struct kexec_load_result *res)
{
	return kexec_load_under(lockdown_read(), kernel_fd, initrd_fd, cmdline, tools, res);
}

int kexec_load_under(enum lockdown lockdown, int kernel_fd, int initrd_fd, const char *cmdline,
		     const char *tools, struct kexec_load_result *res)
{
	memset(res, 0, sizeof(*res));
	res->lockdown = lockdown;
	unsigned long flags = initrd_fd < 0 ? KEXEC_FILE_NO_INITRAMFS : 0;
	/* The length counts the terminating NUL: the kernel checks it is there. */
	/* Test seam: LIFEBOAT_KEXEC_FAULT=enosys stands for a kernel without kexec_file_load, so
	 * the VM test runs the kexec-tools fallback on a kernel that has both. */
	const char *fault = getenv("LIFEBOAT_KEXEC_FAULT");
	if (fault && !strcmp(fault, "enosys"))
		errno = ENOSYS;
	else if (syscall(SYS_kexec_file_load, kernel_fd, initrd_fd, strlen(cmdline) + 1, cmdline, flags) == 0)
		return 0;
	res->file_err = -errno;
	res->verdict = kexec_classify(res->file_err, res->lockdown);
	/* Locked down, kexec_load is forbidden outright: an image the file loader cannot take
	 * cannot be booted by kexec at all. */
	if (res->verdict == KEXEC_FALLBACK && res->lockdown > LOCKDOWN_NONE)
		res->verdict = KEXEC_REFUSED_LOCKDOWN;
	if (res->verdict != KEXEC_FALLBACK || !tools || access(tools, X_OK) < 0)
		return res->file_err;
	int st = load_with_tools(tools, kernel_fd, initrd_fd, cmdline);
	if (st < 0)
		return st;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		res->used_tools = 1;
		return 0;
	}
	res->tools_status = st;
	return res->file_err;
}

void kexec_explain(const struct kexec_load_result *res, int err, char *buf, size_t size)
{
	const char *e = strerror(-err);
	switch (res->file_err ? res->verdict : KEXEC_FAILED) {
	case KEXEC_REFUSED_SIGNATURE:
		snprintf(buf, size,
			 "The running kernel refused to load this kernel because its signature was not "
			 "accepted (%s). The machine enforces signed kexec images, usually because Secure "
			 "Boot is on. Use a kernel signed with a key the firmware or the machine owner "
			 "key list trusts, or turn Secure Boot off in the firmware setup, or boot the "
			 "system through the firmware's boot menu instead of kexec.", e);
		return;
	case KEXEC_REFUSED_LOCKDOWN:
		snprintf(buf, size,
			 "The running kernel is locked down (lockdown=%s, normally because Secure Boot is "
			 "on), so it only kexecs kernels signed with a trusted key and the older kexec_load "
			 "path is disabled (%s). Use a signed kernel, or turn Secure Boot off in the "
			 "firmware setup, or boot through the firmware's boot menu instead of kexec.",
			 res->lockdown == LOCKDOWN_CONFIDENTIALITY ? "confidentiality" : "integrity", e);
		return;
	case KEXEC_REFUSED:
		snprintf(buf, size,
			 "The kernel does not allow kexec here (%s): it was disabled with the "
			 "kernel.kexec_load_disabled sysctl, or this process lacks CAP_SYS_BOOT. Reboot "
			 "through the firmware instead.", e);
		return;
	default:
		break;
	}
	if (err == -ENOMEM)
		snprintf(buf, size,
			 "The kernel could not find memory for the new kernel and initrd (%s). Free memory "
			 "(stop programs, remove files from /tmp) or use a smaller initrd.", e);
	else if (err == -EBUSY)
		snprintf(buf, size, "Another kexec load is in progress (%s); try again.", e);
	else if (res->file_err && res->verdict == KEXEC_FALLBACK && res->tools_status)
		snprintf(buf, size,
			 "Neither loader accepted this kernel: kexec_file_load said \"%s\" and kexec-tools "
			 "failed too (see its message above). The kernel file is probably damaged, "
			 "truncated, or not an x86_64 Linux kernel.", e);
	else if (res->file_err && res->verdict == KEXEC_FALLBACK)
		snprintf(buf, size,
			 "kexec_file_load did not accept this kernel (%s) and no kexec-tools fallback is "
			 "available. The kernel file is probably damaged, truncated, or not an x86_64 "
			 "Linux kernel.", e);
	else
		snprintf(buf, size, "Loading the kernel failed: %s.", e);
}
