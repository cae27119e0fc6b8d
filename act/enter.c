#include "lib/layout.h"
#include "act/enter.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "act/mountplan.h"
#include "act/resolvconf.h"
#include "lib/inroot.h"
#include "lib/job.h"
#include "lib/util.h"

#define EFIVARFS_MAGIC 0xde5e81e4
/* Our busybox, visible inside as the last-resort shell. */
#define INSIDE_BUSYBOX "/run/lifeboat-busybox"

static const struct enter_opts *O;
static char base[128]; /* where the session stands before pivot_root */
/* The write end of the close-on-exec pipe to enter_run: until the shell's exec closes it, a
 * failed step is reported here, so a shell's own exit status is never taken for one. */
static int report_fd = -1;

/* Tell enter_run that entering failed at step (err: -errno); the caller then returns. */
static int step_failed(const char *step, int err)
{
	exec_pipe_fail(report_fd, step, err);
	return 1;
}

/* Past this point a failure is no longer "could not enter": drop our copy of the pipe. */
static void entered(void)
{
	if (report_fd >= 0)
		close(report_fd);
	report_fd = -1;
}

static void say(const char *fmt, ...) LB_PRINTF(1, 2);
static void say(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (O->say)
		O->say(buf);
}

static void ignore_job_signals(void)
{
	/* Ctrl-C and job control are for the shell inside, never for the processes holding the
	 * session together. */
	int sigs[] = {SIGINT, SIGQUIT, SIGTSTP, SIGTTOU, SIGTTIN};
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		signal(sigs[i], SIG_IGN);
}

static int mount_in(int rootfd, const char *target, const char *src, const char *type, unsigned long flags,
		    const char *data)
{
	int fd = inroot_mkdirs(rootfd, target);
	if (fd < 0)
		return fd;
	char at[64];
	snprintf(at, sizeof(at), "/proc/self/fd/%d", fd);
	int r = mount(src, at, type, flags, data);
	int e = errno;
	close(fd);
	return r < 0 ? -e : 0;
}

static int is_mountpoint(const char *path)
{
	struct stat a, b;
	char parent[4096];
	snprintf(parent, sizeof(parent), "%s/..", path);
	return stat(path, &a) == 0 && stat(parent, &b) == 0 && a.st_dev != b.st_dev;
}

/* The kernel's filesystems and /run, in place before activation (activation mounts what it
 * finds missing, but a failing activation must still leave a usable system). */
static void kernel_filesystems(int rootfd)
{
	int r;
	if ((r = mount_in(rootfd, "/dev", "/dev", NULL, MS_BIND | MS_REC, NULL)) < 0)
		say("cannot bind /dev: %s", strerror(-r));
	if (!is_mountpoint("/dev/pts") &&
	    (r = mount_in(rootfd, "/dev/pts", "devpts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620")) < 0)
		say("cannot mount /dev/pts: %s", strerror(-r));
	if (!is_mountpoint("/dev/shm") &&
	    (r = mount_in(rootfd, "/dev/shm", "tmpfs", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")) < 0)
		say("cannot mount /dev/shm: %s", strerror(-r));
	if ((r = mount_in(rootfd, "/sys", "/sys", NULL, MS_BIND | MS_REC, NULL)) < 0)
		say("cannot bind /sys: %s", strerror(-r));
	struct statfs sf;
	if (access("/sys/firmware/efi/efivars", F_OK) == 0 &&
	    !(statfs("/sys/firmware/efi/efivars", &sf) == 0 && (unsigned long)sf.f_type == EFIVARFS_MAGIC) &&
	    (r = mount_in(rootfd, "/sys/firmware/efi/efivars", "efivarfs", "efivarfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)) < 0)
		say("cannot mount efivarfs: %s", strerror(-r));
	if ((r = mount_in(rootfd, "/run", "tmpfs", "tmpfs", MS_NOSUID | MS_NODEV, "mode=755")) < 0)
		say("cannot mount /run: %s", strerror(-r));
	int fd = inroot_mkdirs(rootfd, "/proc");
	if (fd >= 0)
		close(fd);
	/* The last-resort shell: our busybox, bound onto a file of the new /run. */
	int run = inroot_open(rootfd, "/run", O_DIRECTORY);
	if (run >= 0) {
		int f = openat(run, "lifeboat-busybox", O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0755);
		if (f >= 0) {
			char at[64];
			snprintf(at, sizeof(at), "/proc/self/fd/%d", f);
			if (mount("/bin/busybox", at, NULL, MS_BIND, NULL) < 0)
				say("cannot provide busybox inside: %s", strerror(errno));
			close(f);
		}
		close(run);
	}
}

/* /etc/NIXOS marks an installed NixOS; a tmpfs root or an etc overlay lacks it, and some tools
 * (nixos-enter, nixos-rebuild) refuse to work without it. */
static void nixos_marker(int rootfd)
{
	if (inroot_exists(rootfd, "/etc/NIXOS") == 0)
		return;
	int d = inroot_mkdirs(rootfd, "/etc");
	if (d < 0)
		return;
	int dir = openat(d, ".", O_DIRECTORY | O_CLOEXEC);
	close(d);
	if (dir < 0)
		return;
	int f = openat(dir, "NIXOS", O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (f >= 0)
		close(f);
	close(dir);
}

static char **clean_env(const char *system, int activation)
{
	static char *env[12];
	static char path[4200], locale[4200], term[128];
	int n = 0;
	snprintf(path, sizeof(path), "PATH=/run/wrappers/bin:/run/current-system/sw/bin:%s/sw/bin:%s/sw/sbin", system,
		 system);
	snprintf(locale, sizeof(locale), "LOCALE_ARCHIVE=%s/sw/lib/locale/locale-archive", system);
	const char *t = getenv("TERM");
	snprintf(term, sizeof(term), "TERM=%s", t && *t ? t : "vt102");
	env[n++] = path;
	env[n++] = locale;
	env[n++] = "HOME=/root";
	env[n++] = term;
	if (activation) {
		env[n++] = "IN_NIXOS_ENTER=1";
	} else {
		env[n++] = "USER=root";
		env[n++] = "LOGNAME=root";
	}
	if (O->install_bootloader && !activation)
		env[n++] = "NIXOS_INSTALL_BOOTLOADER=1";
	env[n] = NULL;
	return env;
}

/* Run argv inside with env, output to the console (or nowhere); bounded by timeout_ms. Returns
 * the wait status or -errno. */
static int run_step(char **argv, char **env, int timeout_ms, int quiet)
{
	struct spawn_opts o = {.envp = env, .keep_fd = -1, .quiet = quiet, .out_to_err = !quiet};
	return run_wait(argv, &o, timeout_ms);
}

static void describe(const char *what, int st)
{
	char buf[80];
	if (st == -ETIMEDOUT)
		say("%s did not finish within %d s and was stopped; going on", what, ENTER_ACTIVATE_MS / 1000);
	else if (st < 0)
		say("%s: %s; going on", what, strerror(-st));
	else if (!WIFEXITED(st) || WEXITSTATUS(st))
		say("%s %s; going on", what, status_str(st, buf, sizeof(buf)));
}

/* The session's init (PID 1 of the new PID namespace): switch to the target, activate, run the
 * shell, reap everything; its exit ends every process of the session. */
static int session(const char *root)
{
	prctl(PR_SET_NAME, "lifeboat-enter", 0, 0, 0);
	if (O->hostname && *O->hostname)
		sethostname(O->hostname, strlen(O->hostname));
	/* A mount namespace of our own, so that pivot_root leaves the staging tree to our parent. */
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return step_failed("make the session's mount namespace", -errno);
	/* pivot_root refuses the initramfs (rootfs has no parent mount): stand on a bind of it
	 * first, moved over /, as a container runtime does. */
	mkdir(base, 0700);
	if (mount("/", base, NULL, MS_BIND | MS_REC, NULL) < 0 || chdir(base) < 0 ||
	    mount(base, "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0)
		return step_failed("stand on a bind of the rescue root (before pivot_root)", -errno);
	if (chdir(root) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 || umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		return step_failed("pivot_root into the system", -errno);
	/* From here on / is the target: every path below resolves inside it. */
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		say("cannot mount /proc: %s", strerror(errno));
	const char *system = O->system && *O->system ? O->system : "/nix/var/nix/profiles/system";
	char path[4200];
	snprintf(path, sizeof(path), "%s/activate", system);
	if (access(path, X_OK) == 0) {
		char *argv[] = {path, NULL};
		describe("activation", run_step(argv, clean_env(system, 1), ENTER_ACTIVATE_MS, O->silent));
	} else {
		say("%s has no activate script; the system is not activated", system);
	}
	snprintf(path, sizeof(path), "%s/sw/bin/systemd-tmpfiles", system);
	if (access(path, X_OK) == 0) {
		char *argv[] = {path, "--create", "--remove", "-E", NULL};
		describe("systemd-tmpfiles", run_step(argv, clean_env(system, 1), ENTER_ACTIVATE_MS, O->silent));
	}

	char shell[4200], stc[4200];
	const char *cands[] = {"%s/sw/bin/bash", "%s/sw/bin/sh", "/run/current-system/sw/bin/bash", "/bin/sh"};
	shell[0] = 0;
	for (size_t i = 0; i < ARRAY_SIZE(cands) && !shell[0]; i++) {
		snprintf(shell, sizeof(shell), cands[i], system);
		if (access(shell, X_OK) < 0)
			shell[0] = 0;
	}
	int busybox = !shell[0];
	if (busybox) {
		snprintf(shell, sizeof(shell), INSIDE_BUSYBOX);
		say("the system has no usable shell; using lifeboat's busybox sh");
	}
	char *argv[8];
	char **run = argv;
	int a = 0;
	argv[a++] = shell;
	if (busybox)
		argv[a++] = "sh";
	if (O->install_bootloader) {
		snprintf(stc, sizeof(stc), "%s/bin/switch-to-configuration", system);
		a = 0;
		argv[a++] = stc;
		argv[a++] = "boot";
	} else if (O->command) {
		argv[a++] = "-c";
		argv[a++] = (char *)O->command;
	} else if (O->argv && O->argv[0]) {
		run = O->argv;
	} else {
		argv[a++] = "--login";
	}
	argv[a] = NULL;
	char **env = clean_env(system, 0);
	/* Not lib/job's spawn: this process is the namespace's init and must reap every orphan
	 * (waitpid(-1)) until the shell is done, with no deadline, and the shell's exec is what
	 * closes the report pipe (execvp: a command given after -- is looked up in PATH). */
	pid_t pid = fork();
	if (pid < 0)
		return step_failed("start the shell", -errno);
	if (pid == 0) {
		child_reset_signals();
		if (chdir("/root") < 0 && chdir("/") < 0)
			_exit(step_failed("change to /root or /", -errno));
		extern char **environ;
		environ = env;
		execvp(run[0], run);
		char step[160];
		snprintf(step, sizeof(step), "run %s", run[0]);
		step_failed(step, -errno);
		_exit(127);
	}
	entered();
	/* Reap everything (we are this namespace's init) until the shell itself is done. */
	for (;;) {
		int st;
		pid_t w = waitpid(-1, &st, 0);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return 128;
		if (w == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	}
}

/* Holder of the private mount namespace: mounts the plan, starts the session, and undoes every
 * mount when it ends. */
static int holder(void)
{
	ignore_job_signals();
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return step_failed("make a private mount namespace", -errno);
	char root[128], step[200];
	snprintf(root, sizeof(root), ENTER_ROOTS "/root.%d", (int)getpid());
	snprintf(base, sizeof(base), ENTER_ROOTS "/base.%d", (int)getpid());
	if (mkdir_p(root, 0755) < 0) {
		snprintf(step, sizeof(step), "create %s", root);
		return step_failed(step, -errno);
	}
	int r;
	if (O->root_dir)
		r = mount(O->root_dir, root, NULL, MS_BIND | MS_REC, NULL) < 0 ? -errno : 1;
	else
		r = mountplan_mount(O->f, O->s, O->number, root, O->say);
	if (r < 0) {
		rmdir(root);
		if (O->root_dir)
			snprintf(step, sizeof(step), "bind %s as the root", O->root_dir);
		else
			snprintf(step, sizeof(step), "mount the system's root (%s)", O->s->root);
		return step_failed(step, r);
	}
	int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		int e = -errno;
		mountplan_unmount_all(root, O->say);
		snprintf(step, sizeof(step), "open %s", root);
		return step_failed(step, e);
	}
	kernel_filesystems(rootfd);
	r = resolvconf_install(rootfd, "/etc/resolv.conf");
	if (r < 0)
		say("etc/resolv.conf left alone: %s", strerror(-r));
	nixos_marker(rootfd);
	close(rootfd);

	int status = 1;
	/* Not lib/job's spawn: the child must be forked after unshare(CLONE_NEWPID) to become the
	 * new namespace's init, carries the report pipe into session(), and has no deadline. */
	if (unshare(CLONE_NEWPID | CLONE_NEWUTS) < 0) {
		step_failed("make PID and UTS namespaces", -errno);
	} else {
		pid_t pid = fork();
		if (pid == 0)
			_exit(session(root));
		if (pid > 0) {
			entered();
			int st;
			while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
				;
			status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		} else {
			step_failed("start the session", -errno);
		}
	}
	sync();
	int left = mountplan_unmount_all(root, O->say);
	if (left)
		say("%d mount(s) could not be undone", left);
	rmdir(root);
	rmdir(base);
	return status;
}

int enter_run(const struct enter_opts *o, char *why, size_t whysize)
{
	O = o;
	snprintf(why, whysize, "?");
	int p[2];
	int r = exec_pipe_open(p);
	if (r < 0) {
		snprintf(why, whysize, "make the report pipe");
		return r;
	}
	ignore_job_signals();
	/* Not lib/job's spawn: the holder is a function that must keep the report pipe and the
	 * state above, and has no deadline (a shell runs as long as its user wants). */
	pid_t pid = fork();
	if (pid < 0) {
		r = -errno;
		close(p[0]);
		close(p[1]);
		snprintf(why, whysize, "start the namespace holder");
		return r;
	}
	if (pid == 0) {
		close(p[0]);
		report_fd = p[1];
		_exit(holder());
	}
	close(p[1]);
	/* Returns at the shell's exec (the last write end closes) or with the step that failed. */
	r = exec_pipe_read(p[0], why, whysize);
	close(p[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return r < 0 ? r : -errno;
	/* The namespace is gone with its last process; flush what the session wrote. */
	sync();
	if (r < 0)
		return r;
	if (!WIFEXITED(st)) {
		status_str(st, why, (int)whysize);
		return -EIO;
	}
	return WEXITSTATUS(st);
}
