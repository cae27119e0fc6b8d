#include "act/unlock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/job.h"
#include "lib/layout.h"
#include "lib/util.h"

long long unlock_mem_available(void)
{
	char *text = NULL;
	if (read_file_at(AT_FDCWD, "/proc/meminfo", 16384, &text) < 0)
		return -EIO;
	const char *p = strstr(text, "MemAvailable:");
	long long kib = p ? atoll(p + strlen("MemAvailable:")) : -ENOENT;
	free(text);
	return kib;
}

int unlock_slots_fitting(const struct luks_info *li, long long avail_kib, int *fit, int max)
{
	int n = 0;
	for (int i = 0; i < li->n_slots && n < max; i++)
		if (avail_kib >= UNLOCK_SPARE_KIB && li->slot_kib[i] <= avail_kib - UNLOCK_SPARE_KIB)
			fit[n++] = i;
	return n;
}

void unlock_default_name(const char *uuid, char *name, size_t size)
{
	snprintf(name, size, "luks-%s", uuid);
}

/* cryptsetup's last line of output (its reason), into msg. */
static void last_line(const char *path, char *msg, size_t size)
{
	char *text = NULL;
	if (read_file_at(AT_FDCWD, path, 65536, &text) > 0) {
		char *l = rstrip(text), *nl = strrchr(l, '\n');
		snprintf(msg, size, "%s", nl ? nl + 1 : l);
	}
	free(text);
}

int unlock_open(const struct unlock_req *r, int slot, char *msg, size_t size)
{
	*msg = 0;
	/* LUKS2's lock files; /run is a tmpfs, nothing reaches a disk. */
	mkdir_p("/run/cryptsetup", 0700);
	mkdir_p(RUN_DIR, 0755);
	char slotarg[16], errpath[64];
	snprintf(slotarg, sizeof(slotarg), "--key-slot=%d", slot);
	snprintf(errpath, sizeof(errpath), RUN_DIR "/unlock.%d.out", (int)getpid());
	unlink(errpath);
	/* Read-only: the inspection writes nothing through it, and the key is kept in the table
	 * rather than the kernel keyring, so that entering can load it again read-write. */
	const char *argv[16];
	int a = 0;
	argv[a++] = CRYPTSETUP_BIN;
	argv[a++] = "open";
	argv[a++] = "--type=luks";
	argv[a++] = "--readonly";
	argv[a++] = "--disable-keyring";
	if (r->header) {
		argv[a++] = "--header";
		argv[a++] = r->header;
	}
	if (slot >= 0)
		argv[a++] = slotarg;
	argv[a++] = "--key-file";
	argv[a++] = r->key_file ? r->key_file : "-";
	argv[a++] = r->dev;
	argv[a++] = r->name;
	argv[a] = NULL;

	int p[2] = {-1, -1};
	if (!r->key_file) {
		if (pipe2(p, O_CLOEXEC) < 0)
			return -errno;
		/* A passphrase is far below a pipe's buffer: written whole, then EOF ends the key. */
		int w = write_all(p[1], r->pass, strlen(r->pass));
		close(p[1]);
		if (w < 0) {
			close(p[0]);
			return w;
		}
	}
	struct spawn_opts o = {.keep_fd = -1, .quiet = 1, .out_file = errpath, .stdin_fd = p[0]};
	pid_t pid = spawn((char *const *)argv, &o);
	if (p[0] >= 0)
		close(p[0]);
	if (pid < 0)
		return (int)pid;
	/* Watched rather than waited for: the key derivation takes seconds, and the user is shown
	 * that it runs. */
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0), st = 0;
	long long start = now_ms();
	int shown = 0;
	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			st = -1;
			break;
		}
		long long ran = now_ms() - start;
		if (ran > UNLOCK_KDF_MS) {
			kill(pid, SIGKILL);
			while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
				;
			if (pfd >= 0)
				close(pfd);
			unlink(errpath);
			snprintf(msg, size, "cryptsetup did not finish within %d minutes", UNLOCK_KDF_MS / 60000);
			return -ETIMEDOUT;
		}
		if (r->tick && ran / 1000 > shown)
			r->tick(shown = (int)(ran / 1000), r->arg);
		struct pollfd pf = {pfd, POLLIN, 0};
		poll(&pf, pfd >= 0 ? 1 : 0, 200);
	}
	if (pfd >= 0)
		close(pfd);
	last_line(errpath, msg, size);
	unlink(errpath);
	if (st < 0)
		return -ECHILD;
	if (WIFSIGNALED(st)) {
		/* The OOM killer's signal: the derivation needed more than there was. */
		if (WTERMSIG(st) == SIGKILL) {
			snprintf(msg, size, "cryptsetup was killed (out of memory?)");
			return -ENOMEM;
		}
		snprintf(msg, size, "cryptsetup was killed by signal %d", WTERMSIG(st));
		return -EIO;
	}
	/* cryptsetup(8), RETURN CODES. */
	switch (WEXITSTATUS(st)) {
	case 0: return 0;
	case 2: return -EPERM;
	case 3: return -ENOMEM;
	case 4: return -ENODEV;
	case 5: return -EEXIST;
	default: return -EINVAL;
	}
}
