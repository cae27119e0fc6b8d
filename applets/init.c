/* PID 1: bring the machine up, start the device worker and the menu, reap everything, and turn
 * signals into clean shutdowns. Risky work (probing, mounting, the menu, shells) runs in
 * children; PID 1 spawns, reaps and decides. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/layout.h"
#include "applets/applets.h"
#include "lib/cmdline.h"
#include "lib/console.h"
#include "init/mounts.h"
#include "init/respawn.h"
#include "init/shutdown.h"
#include "lib/log.h"
#include "lib/proc.h"
#include "lib/util.h"

/* How long processes get between SIGTERM and SIGKILL at shutdown. */
#define STOP_GRACE_MS 3000
/* How long shutdown waits for its messages to leave the serial ports (115200 baud: ~11 KB/s). */
#define CONSOLE_DRAIN_MS 1000
/* A shell (boot or emergency) that ends sooner than this is not started again at once. */
#define SHELL_FAST_MS 1000

static struct {
	struct lb_options opt;
	struct console cons[MAX_CONSOLES];
	int n_cons;
	int cons_fd[MAX_CONSOLES];
	char cons_env[256];
	int sfd;

	pid_t devices, menu, shell;
	long long devices_started, devices_due;
	int dev_pipe;           /* read end: the device worker writes once devices settled */
	int settled;
	long long settle_deadline;

	long long menu_started, menu_due;
	struct respawn respawn;
	long long shell_started, shell_due;
	int boot_shell;         /* lifeboat.shell: a shell runs before anything else */
	int emergency;          /* the menu cannot run: an emergency shell stands in */
} st;

/* When a session leader on a console exits (the user's shell), the kernel hangs up that tty for
 * every open file, ours too: writes then fail with EIO. Open the console again onto the same fd
 * numbers, so the log's copies of them work again as well. */
/* PID 1 only writes to its console fds, and never waits on them: a user who pressed Ctrl-S (or a
 * serial line that stalled) would otherwise freeze PID 1 inside write(2). A message that cannot
 * go out now is dropped; the log file and kmsg still have it. */
static int open_console_nonblock(const struct console *c)
{
	int fd = console_open(c);
	if (fd >= 0) {
		int fl = fcntl(fd, F_GETFL);
		if (fl >= 0)
			fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	}
	return fd;
}

static void refresh_consoles(void)
{
	for (int i = 0; i < st.n_cons; i++) {
		if (st.cons_fd[i] < 0)
			continue;
		int fd = open_console_nonblock(&st.cons[i]);
		if (fd >= 0) {
			dup3(fd, st.cons_fd[i], O_CLOEXEC);
			close(fd);
		}
	}
}

static void say(const char *fmt, ...) LB_PRINTF(1, 2);
static void say(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf) - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(buf) - 3)
		n = sizeof(buf) - 3;
	buf[n++] = '\r';
	buf[n++] = '\n';
	for (int i = 0; i < st.n_cons; i++)
		if (st.cons_fd[i] >= 0 && write_all(st.cons_fd[i], buf, (size_t)n) == -EIO) {
			refresh_consoles();
			write_all(st.cons_fd[i], buf, (size_t)n);
		}
}

/* Wait (at most ms) until what we wrote to the consoles has left the UARTs. Needed before a
 * session ends: when a session leader with a serial controlling tty exits, the kernel hangs the
 * tty up and throws away output not yet sent, so a shutdown message written just before the
 * menu is stopped could vanish. Bounded: a port stuck in flow control must not hold PID 1. */
static void drain_consoles(int ms)
{
	long long end = now_ms() + ms;
	for (;;) {
		int pending = 0;
		for (int i = 0; i < st.n_cons; i++) {
			int n = 0;
			if (st.cons_fd[i] >= 0 && ioctl(st.cons_fd[i], TIOCOUTQ, &n) == 0 && n > 0)
				pending = 1;
		}
		if (!pending || now_ms() >= end)
			return;
		poll(NULL, 0, 10);
	}
}

static void open_consoles(void)
{
	st.n_cons = consoles_find("/sys/class/tty", st.cons, MAX_CONSOLES);
	int fds[MAX_CONSOLES], nf = 0;
	for (int i = 0; i < st.n_cons; i++) {
		st.cons_fd[i] = open_console_nonblock(&st.cons[i]);
		if (st.cons_fd[i] >= 0) {
			int r = console_setup(st.cons_fd[i], st.cons[i].serial);
			if (r < 0)
				log_warn("console %s: cannot set terminal modes: %s", st.cons[i].path, strerror(-r));
			fds[nf++] = st.cons_fd[i];
			log_info("console %s (%s, TERM=%s)", st.cons[i].path,
				 st.cons[i].serial ? "serial" : "screen", st.cons[i].term);
		} else {
			log_err("cannot open console %s: %s", st.cons[i].path, strerror(-st.cons_fd[i]));
		}
	}
	log_set_consoles(fds, nf);
	consoles_to_env(st.cons, st.n_cons, st.cons_env, sizeof(st.cons_env));
	setenv("LIFEBOAT_CONSOLES", st.cons_env, 1);
}

static pid_t start_applet(const char *name, int keep_fd)
{
	char *argv[] = {LIFEBOAT_BIN, (char *)name, NULL};
	struct spawn_opts o = {.new_session = 1, .keep_fd = keep_fd};
	pid_t pid = spawn(argv, &o);
	if (pid < 0)
		log_err("cannot start %s: %s", name, strerror(-(int)pid));
	else
		log_debug("started %s as pid %d", name, (int)pid);
	return pid;
}

static void start_devices(void)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		log_err("cannot create a pipe for the device worker: %s", strerror(errno));
		st.settled = 1;
		return;
	}
	char fdenv[16];
	snprintf(fdenv, sizeof(fdenv), "%d", p[1]);
	setenv("LIFEBOAT_NOTIFY_FD", fdenv, 1);
	pid_t pid = start_applet("devices", p[1]);
	unsetenv("LIFEBOAT_NOTIFY_FD");
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		st.settled = 1;
		return;
	}
	st.devices = pid;
	st.devices_started = now_ms();
	/* The deadline counts from the first start: a boot shell may have run for hours before. */
	if (!st.settled && !st.settle_deadline)
		st.settle_deadline = now_ms() + st.opt.settle_ms + 5000;
	st.devices_due = 0;
	if (st.dev_pipe >= 0)
		close(st.dev_pipe);
	st.dev_pipe = p[0];
}

static void start_shell(const char *why)
{
	const char *tty = st.n_cons ? st.cons[0].path : "/dev/console";
	st.shell_due = 0;
	say("lifeboat: %s", why);
	say("lifeboat: starting a shell on %s; exit it to go on.", tty);
	log_info("starting a shell on %s: %s", tty, why);
	char *argv[] = {BUSYBOX_BIN, "sh", "-l", NULL};
	setenv("TERM", st.n_cons ? st.cons[0].term : "linux", 1);
	struct spawn_opts o = {.tty = tty, .keep_fd = -1};
	pid_t pid = spawn(argv, &o);
	unsetenv("TERM");
	if (pid < 0) {
		log_err("cannot start a shell: %s", strerror(-(int)pid));
		/* Nothing else can help now: try again in a while, reaping meanwhile. */
		st.shell_due = now_ms() + 5000;
	} else {
		st.shell = pid;
		st.shell_started = now_ms();
	}
}

static void start_menu(void)
{
	st.menu_due = 0;
	if (st.emergency) {
		if (!st.shell)
			start_shell("the menu cannot run; this is an emergency shell.");
		return;
	}
	pid_t pid = start_applet("menu", -1);
	if (pid > 0) {
		st.menu = pid;
		st.menu_started = now_ms();
	} else {
		st.emergency = 1;
		start_shell("the menu cannot be started; this is an emergency shell.");
	}
}

static void menu_died(int status)
{
	char buf[80];
	st.menu = 0;
	int delay;
	enum respawn_action a = respawn_decide(&st.respawn, status, now_ms() - st.menu_started, &delay);
	status_str(status, buf, sizeof(buf));
	if (a == RESPAWN_EMERGENCY) {
		log_err("the menu %s and cannot run; starting an emergency shell instead", buf);
		st.emergency = 1;
		st.menu_due = 0;
		if (!st.shell)
			start_shell("the menu keeps failing; this is an emergency shell (exit it to try the menu again).");
		return;
	}
	if (a == RESPAWN_LATER)
		log_warn("the menu %s; starting it again in %d ms", buf, delay);
	else
		log_warn("the menu %s; starting it again", buf);
	/* A crash loop is slowed down with a poll deadline, never by sleeping in PID 1. */
	st.menu_due = now_ms() + delay;
}

static void shell_died(int status)
{
	char buf[80];
	st.shell = 0;
	log_info("the shell %s", status_str(status, buf, sizeof(buf)));
	/* A shell that cannot even start must not turn into a fork loop. */
	long long pause_ms = now_ms() - st.shell_started < SHELL_FAST_MS ? 1000 : 0;
	if (st.boot_shell) {
		st.boot_shell = 0;
		start_devices();
	} else if (st.emergency) {
		/* Give the menu another chance once the emergency shell is left. */
		st.emergency = 0;
		st.menu_due = now_ms() + pause_ms;
	}
}

/* --- Remote rescue (issue 15): one long-running child, `lifeboat remote`, which brings the
 * network up and runs the SSH server (applets/remote.c). Started at boot; started again when it
 * dies, unless it exited 0 (lifeboat.net=off: nothing to run) or keeps dying within a second of
 * its start (then it stays down, logged, rather than loop). To merge into PID 1's child table. */
static pid_t remote_pid;
static long long remote_started;
static int remote_fast_deaths;

static void remote_start(void)
{
	remote_pid = start_applet("remote", -1);
	remote_started = now_ms();
	if (remote_pid < 0)
		remote_pid = 0;
}

/* Called for every reaped pid; returns 1 when it was the remote child. */
static int remote_reaped(pid_t pid, int status)
{
	char buf[80];
	if (!remote_pid || pid != remote_pid)
		return 0;
	remote_pid = 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 1;
	remote_fast_deaths = now_ms() - remote_started < 1000 ? remote_fast_deaths + 1 : 0;
	if (remote_fast_deaths >= 5) {
		log_err("remote rescue %s five times in a row; not starting it again",
			status_str(status, buf, sizeof(buf)));
		return 1;
	}
	log_warn("remote rescue %s; starting it again", status_str(status, buf, sizeof(buf)));
	remote_start();
	return 1;
}
/* --- end of remote rescue */

static void reap(void)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		if (pid <= 0)
			return;
		char buf[80];
		if (pid == st.menu || pid == st.shell)
			refresh_consoles();
		if (pid == st.menu) {
			menu_died(status);
		} else if (pid == st.devices) {
			st.devices = 0;
			log_warn("the device worker %s; starting it again", status_str(status, buf, sizeof(buf)));
			/* A worker that keeps dying is restarted at most once a second. */
			st.devices_due = now_ms() + (now_ms() - st.devices_started < RESPAWN_FAST_MS ? 1000 : 0);
		} else if (pid == st.shell) {
			shell_died(status);
		} else if (remote_reaped(pid, status)) { /* remote rescue (issue 15) */
		} else {
			log_debug("reaped pid %d: %s", (int)pid, status_str(status, buf, sizeof(buf)));
		}
	}
}

/* Wait up to ms for every process to exit, reaping as they go (orphans are ours too). Returns 0
 * when none is left, 1 when some still run. Signals that arrive meanwhile are dropped: a second
 * Ctrl-Alt-Del during shutdown changes nothing. */
static int drain(int ms)
{
	long long end = now_ms() + ms;
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		if (pid < 0 && errno == ECHILD)
			return 0;
		if (pid > 0)
			continue;
		long long left = end - now_ms();
		if (left <= 0)
			return 1;
		struct pollfd p = {st.sfd, POLLIN, 0};
		poll(&p, st.sfd >= 0 ? 1 : 0, (int)(left > 100 ? 100 : left));
		struct signalfd_siginfo si;
		while (st.sfd >= 0 && read(st.sfd, &si, sizeof(si)) == sizeof(si))
			;
	}
}

static void report_unmount(const char *target, const char *what, int err, void *ctx)
{
	if (err) {
		log_err("%s: %s failed: %s", target, what, strerror(-err));
		say("lifeboat: %s: %s failed: %s", target, what, strerror(-err));
	} else {
		log_info("%s %s", what, target);
		say("lifeboat: %s %s", what, target);
	}
}

static void do_shutdown(enum shutdown_kind k)
{
	refresh_consoles();
	say("lifeboat: %s: stopping processes, syncing and unmounting disks...", shutdown_name(k));
	log_info("shutdown: %s", shutdown_name(k));
	drain_consoles(CONSOLE_DRAIN_MS);
	/* Interactive shells ignore SIGTERM but not SIGHUP; stopped processes need SIGCONT. */
	kill(-1, SIGTERM);
	kill(-1, SIGHUP);
	kill(-1, SIGCONT);
	if (drain(STOP_GRACE_MS) > 0) {
		log_warn("processes still running after %d ms: killing them", STOP_GRACE_MS);
		kill(-1, SIGKILL);
		drain(1000);
	}
	st.menu = st.devices = st.shell = 0;
	int left = unmount_filesystems(report_unmount, NULL);
	if (left)
		say("lifeboat: warning: %d file system(s) could not be unmounted or made read-only", left);
	say("lifeboat: file systems done; %s now.", shutdown_name(k));
	drain_consoles(CONSOLE_DRAIN_MS);
	log_info("calling reboot(2) for %s", shutdown_name(k));
	/* reboot(2) from a child: PID 1 calling it can panic the kernel on some paths. */
	pid_t pid = fork();
	if (pid == 0) {
		child_reset_signals();
		int r = shutdown_reboot_syscall(k);
		_exit(r < 0 ? -r : 0);
	}
	int status = 0;
	if (pid > 0)
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	/* Halt returns here only after the kernel stopped everything else; reboot and power-off
	 * not at all. Anything else is a failure: go back to the menu. */
	if (k == SHUTDOWN_KEXEC)
		say("lifeboat: kexec failed (%s): no kernel is loaded or the jump was refused; back to the menu.",
		    WIFEXITED(status) ? strerror(WEXITSTATUS(status)) : "the worker was killed");
	else
		say("lifeboat: %s failed (%s); back to the menu.", shutdown_name(k),
		    pid < 0 ? strerror(errno) : WIFEXITED(status) ? strerror(WEXITSTATUS(status)) : "killed");
	log_err("%s failed", shutdown_name(k));
	start_devices();
	st.menu_due = now_ms();
}

static int kexec_loaded(void)
{
	char *s = NULL;
	if (read_file_at(AT_FDCWD, "/sys/kernel/kexec_loaded", 16, &s) < 0)
		return 1; /* cannot tell: let reboot(2) decide */
	int loaded = s[0] == '1';
	free(s);
	return loaded;
}

static enum shutdown_kind signal_action(int sig)
{
	if (sig == SIGTERM || sig == SIGINT || sig == SIG_LB_REBOOT)
		return SHUTDOWN_REBOOT;
	if (sig == SIGUSR1 || sig == SIG_LB_HALT)
		return SHUTDOWN_HALT;
	if (sig == SIGUSR2 || sig == SIGPWR || sig == SIG_LB_POWEROFF)
		return SHUTDOWN_POWEROFF;
	if (sig == SIG_LB_KEXEC)
		return SHUTDOWN_KEXEC;
	return SHUTDOWN_NONE;
}

static void handle_signals(void)
{
	struct signalfd_siginfo si;
	enum shutdown_kind want = SHUTDOWN_NONE;
	while (read(st.sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD)
			continue;
		enum shutdown_kind k = signal_action((int)si.ssi_signo);
		if (k != SHUTDOWN_NONE) {
			log_info("signal %d from pid %d: %s", si.ssi_signo, si.ssi_pid, shutdown_name(k));
			want = k;
		} else {
			log_debug("signal %d ignored", si.ssi_signo);
		}
	}
	reap();
	if (want == SHUTDOWN_KEXEC && !kexec_loaded()) {
		/* Stopping everything for a jump that cannot happen would only lose the user's work. */
		log_err("kexec asked for, but no kernel is loaded (kexec -l first); nothing stopped");
		say("lifeboat: kexec asked for, but no kernel is loaded (kexec -l first); nothing stopped.");
		return;
	}
	if (want != SHUTDOWN_NONE)
		do_shutdown(want);
}

static void device_notice(void)
{
	char buf[64];
	ssize_t n = read(st.dev_pipe, buf, sizeof(buf));
	if (n <= 0) {
		/* The worker went away; reap() restarts it and settle happens again there. */
		close(st.dev_pipe);
		st.dev_pipe = -1;
	}
	if (!st.settled) {
		st.settled = 1;
		log_info("devices settled");
		st.menu_due = now_ms();
	}
}

static long long earliest(long long a, long long b)
{
	return a < 0 || (b >= 0 && b < a) ? b : a;
}

static int poll_timeout(void)
{
	long long now = now_ms(), next = -1;
	if (!st.settled && st.settle_deadline)
		next = earliest(next, st.settle_deadline);
	if (st.settled && !st.menu && !st.shell && st.menu_due)
		next = earliest(next, st.menu_due);
	if (!st.devices && st.devices_due)
		next = earliest(next, st.devices_due);
	if (!st.shell && st.shell_due)
		next = earliest(next, st.shell_due);
	/* Without a signalfd, SIGCHLD cannot wake us: look for dead children every second. */
	if (st.sfd < 0)
		next = earliest(next, now + 1000);
	if (next < 0)
		return -1;
	return next <= now ? 0 : (int)(next - now > 60000 ? 60000 : next - now);
}

static void loop_once(void)
{
	struct pollfd p[2] = {{st.sfd, POLLIN, 0}, {st.dev_pipe, POLLIN, 0}};
	int r = poll(p, 2, poll_timeout());
	if (r < 0 && errno != EINTR) {
		/* Cannot wait for anything: never spin, never exit. */
		struct timespec ts = {1, 0};
		nanosleep(&ts, NULL);
	}
	if (st.sfd < 0 || p[0].revents)
		handle_signals();
	if (st.dev_pipe >= 0 && p[1].revents)
		device_notice();
	long long now = now_ms();
	if (!st.settled && st.settle_deadline && now >= st.settle_deadline) {
		st.settled = 1;
		log_warn("devices did not settle within %d s; showing the menu anyway", st.opt.settle_ms / 1000);
		st.menu_due = now;
	}
	if (!st.devices && st.devices_due && now >= st.devices_due)
		start_devices();
	if (!st.shell && st.shell_due && now >= st.shell_due)
		start_shell("starting the shell again.");
	if (st.settled && !st.menu && !st.shell && st.menu_due && now >= st.menu_due)
		start_menu();
	reap();
}

/* Busybox's modprobe cannot find the module tree; the kernel's request_module() (mount -t ext4
 * loading "fs-ext4") goes to lifeboat's own instead, run through a link named for it. */
static void set_module_helper(void)
{
	mkdir_p(RUN_BIN_DIR, 0755);
	if (symlink(LIFEBOAT_BIN, MODPROBE_LINK) < 0 && errno != EEXIST)
		log_warn("cannot link %s: %s", MODPROBE_LINK, strerror(errno));
	else if (write_file("/proc/sys/kernel/modprobe", MODPROBE_LINK "\n") < 0)
		log_warn("cannot make %s the kernel's module helper", MODPROBE_LINK);
}

int init_main(int argc, char **argv)
{
	if (getpid() != 1) {
		fprintf(stderr, "lifeboat init: must run as PID 1\n");
		return 2;
	}
	/* From here on no path may return or exit: PID 1 dying panics the kernel. */
	umask(022);
	if (chdir("/") < 0) {
		/* nothing to do: / always exists */
	}
	stdio_ensure();
	log_early();
	setsid();
	st.dev_pipe = -1;
	st.sfd = -1;
	mounts_basic();
	log_open(0);
	/* The kernel rate-limits /dev/kmsg writers to 10 lines per 5 s by default; our boot log is
	 * longer than that and dmesg should show all of it. */
	if (write_file("/proc/sys/kernel/printk_devkmsg", "on\n") < 0)
		log_debug("cannot lift the /dev/kmsg rate limit");
	set_module_helper();
	sethostname("lifeboat", 8);
	setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1);
	setenv("HOME", "/root", 1);
	cmdline_load(&st.opt);
	log_set_debug(st.opt.debug);
	open_consoles();
	say("lifeboat %s starting", LB_VERSION);
	log_info("lifeboat %s, consoles: %s", LB_VERSION, st.cons_env);
	for (int i = 0; i < st.opt.n_warnings; i++)
		log_warn("%s", st.opt.warnings[i]);

	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	st.sfd = signalfd(-1, &all, SFD_CLOEXEC | SFD_NONBLOCK);
	if (st.sfd < 0)
		log_err("signalfd: %s; signals will only be seen when a child exits", strerror(errno));
	/* Ctrl-Alt-Del becomes SIGINT to us instead of an immediate reboot. */
	reboot(RB_DISABLE_CAD);

	if (st.opt.shell) {
		st.boot_shell = 1;
		start_shell("lifeboat.shell was given: a shell before anything else runs.");
		if (!st.shell) {
			st.boot_shell = 0;
			start_devices();
		}
	} else {
		start_devices();
	}
	remote_start(); /* remote rescue (issue 15) */
	for (;;)
		loop_once();
}
