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
#include "init/children.h"
#include "init/diskwork.h"
#include "init/mounts.h"
#include "init/respawn.h"
#include "init/shutdown.h"
#include "init/state.h"
#include "lib/log.h"
#include "lib/job.h"
#include "lib/util.h"

/* How long processes get between SIGTERM and SIGKILL at shutdown. */
#define STOP_GRACE_MS 3000
/* How long shutdown waits for its messages to leave the serial ports (115200 baud: ~11 KB/s). */
#define CONSOLE_DRAIN_MS 1000
/* An emergency shell that ends sooner than this is not followed by the menu at once. */
#define SHELL_FAST_MS 1000

/* How long the shutdown's disk work (sync, swapoff, unmount, remount read-only) may go without
 * progress (a step finished, or less dirty data waiting) before PID 1 gives up on the disks. */
#define DISK_STALL_MS 20000
/* ...and how long it may take at most, progress or not. */
#define DISK_TOTAL_MS 120000
/* A shell that cannot be started is tried again this much later. */
#define SHELL_RETRY_MS 5000
/* What PID 1 passes to its children: its own environment is never changed for them. */
#define MAX_ENV 48

static struct {
	struct lb_options opt;
	struct console cons[MAX_CONSOLES];
	int n_cons;
	int cons_fd[MAX_CONSOLES];
	char cons_env[256 + 32]; /* "LIFEBOAT_CONSOLES=..." */
	char term_env[64];       /* "TERM=..." of the first console, for shells */
	char *envp[MAX_ENV];     /* for applets: the kernel's environment with ours on top */
	int sfd;

	enum pid1_state state;
	struct child child[N_CHILDREN];
	struct respawn respawn;
	int dev_pipe;            /* read end: the device worker writes when devices settled, and
				  * when disks appear after that */
	long long settle_deadline;
	const char *emergency_why;
	long long menu_oom;      /* the OOM killer's count when the menu started (-1: unknown) */
	int settle_late;         /* the menu came before the devices settled: tell it when they do */
} st = {
	.child = {
		[CHILD_DEVICES] = {"device worker", RESTART_PACED, 0, 0, -1},
		[CHILD_MENU] = {"menu", RESTART_RESPAWN, 0, 0, -1},
		[CHILD_SHELL] = {"shell", RESTART_STATE, 0, 0, -1},
		[CHILD_REMOTE] = {"remote rescue", RESTART_SERVICE, 0, 0, -1},
		[CHILD_DISKS] = {"disk work", RESTART_NEVER, 0, 0, -1},
		[CHILD_REBOOT] = {"reboot", RESTART_NEVER, 0, 0, -1},
	},
	.dev_pipe = -1,
	.sfd = -1,
};

/* When a session leader on a console exits (the user's shell), the kernel hangs up that tty for
 * every open file, ours too: writes then fail with EIO. Open the console again onto the same fd
 * numbers, so the log's copies of them work again as well. */
/* PID 1 only writes to its console fds, and never waits on them: a user who pressed Ctrl-S (or a
 * serial line that stalled) would otherwise freeze PID 1 inside write(2). A message that cannot
 * go out within console_write's short wait is dropped; the log file and kmsg still have it. */
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
		if (st.cons_fd[i] >= 0 && console_write(st.cons_fd[i], buf, (size_t)n) == -EIO) {
			refresh_consoles();
			console_write(st.cons_fd[i], buf, (size_t)n);
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

/* The environment every child gets, built once: the kernel's variables, with PATH, HOME, TERM
 * and LIFEBOAT_CONSOLES set by us. PID 1's own environ is never changed to pass anything. */
static void build_env(void)
{
	static char *ours[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root"};
	extern char **environ;
	int n = 0;
	for (size_t i = 0; i < ARRAY_SIZE(ours); i++)
		st.envp[n++] = ours[i];
	st.envp[n++] = st.cons_env;
	for (char **e = environ; e && *e && n < MAX_ENV - 2; e++)
		if (!startswith(*e, "PATH=") && !startswith(*e, "HOME=") && !startswith(*e, "LIFEBOAT_CONSOLES="))
			st.envp[n++] = *e;
	/* The kernel passes TERM=linux; an applet without one gets that too. */
	if (!getenv("TERM"))
		st.envp[n++] = "TERM=linux";
	st.envp[n] = NULL;
}

/* The same with TERM set for the first console, for a shell PID 1 starts there. */
static void shell_env(char **out)
{
	int n = 0;
	for (char **e = st.envp; *e; e++)
		if (!startswith(*e, "TERM="))
			out[n++] = *e;
	out[n++] = st.term_env;
	out[n] = NULL;
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
	static const char key[] = "LIFEBOAT_CONSOLES=";
	memcpy(st.cons_env, key, sizeof(key));
	consoles_to_env(st.cons, st.n_cons, st.cons_env + sizeof(key) - 1, (int)(sizeof(st.cons_env) - sizeof(key) + 1));
	snprintf(st.term_env, sizeof(st.term_env), "TERM=%s", st.n_cons ? st.cons[0].term : "linux");
	build_env();
}

static void enter(enum pid1_state s)
{
	if (s != st.state)
		log_debug("state: %s -> %s", state_name(st.state), state_name(s));
	st.state = s;
	long long now = now_ms();
	/* Every child the new state wants and that is neither running nor scheduled: due now. */
	for (int c = 0; c < N_CHILDREN; c++)
		if (state_wants(s, (enum child_id)c) && !st.child[c].pid && st.child[c].due < 0 &&
		    !st.child[c].done)
			st.child[c].due = now;
	/* The deadline counts from the first settling: a boot shell may have run for hours before. */
	if (s == STATE_SETTLING && !st.settle_deadline)
		st.settle_deadline = now + st.opt.settle_ms + 5000;
}

static void started(enum child_id c, pid_t pid)
{
	st.child[c].pid = pid;
	st.child[c].started = now_ms();
	st.child[c].due = -1;
	log_debug("started the %s as pid %d", st.child[c].name, (int)pid);
}

static pid_t start_applet(char *const argv[], int keep_fd)
{
	struct spawn_opts o = {.new_session = 1, .keep_fd = keep_fd, .envp = st.envp};
	pid_t pid = spawn(argv, &o);
	if (pid < 0)
		log_err("cannot start %s: %s", argv[1], strerror(-(int)pid));
	return pid;
}

static void start_devices(void)
{
	int p[2];
	pid_t pid = -EPIPE;
	if (pipe2(p, O_CLOEXEC) < 0) {
		log_err("cannot create a pipe for the device worker: %s", strerror(errno));
	} else {
		char fd[16];
		snprintf(fd, sizeof(fd), "%d", p[1]);
		char *argv[] = {LIFEBOAT_BIN, "devices", "--notify", fd, NULL};
		pid = start_applet(argv, p[1]);
		close(p[1]);
		if (pid < 0)
			close(p[0]);
	}
	if (pid < 0) {
		/* No worker, no "settled": the menu must not wait for it. Try again later. */
		st.child[CHILD_DEVICES].due = now_ms() + SHELL_RETRY_MS;
		if (st.state == STATE_SETTLING)
			enter(STATE_MENU);
		return;
	}
	started(CHILD_DEVICES, pid);
	if (st.dev_pipe >= 0)
		close(st.dev_pipe);
	st.dev_pipe = p[0];
}

static void start_shell(void)
{
	const char *tty = st.n_cons ? st.cons[0].path : "/dev/console";
	const char *why = st.state == STATE_BOOT_SHELL ? "lifeboat.shell was given: a shell before anything else runs."
							: st.emergency_why;
	say("lifeboat: %s", why);
	say("lifeboat: starting a shell on %s; exit it to go on.", tty);
	log_info("starting a shell on %s: %s", tty, why);
	char *argv[] = {BUSYBOX_BIN, "sh", "-l", NULL};
	char *envp[MAX_ENV + 1];
	shell_env(envp);
	struct spawn_opts o = {.tty = tty, .keep_fd = -1, .envp = envp};
	pid_t pid = spawn(argv, &o);
	if (pid >= 0) {
		started(CHILD_SHELL, pid);
		return;
	}
	log_err("cannot start a shell: %s", strerror(-(int)pid));
	if (st.state == STATE_BOOT_SHELL) {
		enter(STATE_SETTLING);
	} else {
		/* Nothing else can help now: try again in a while, reaping meanwhile. */
		st.child[CHILD_SHELL].due = now_ms() + SHELL_RETRY_MS;
	}
}

/* The network and the SSH server (applets/remote.c): one long-running child. */
static void start_remote(void)
{
	char *argv[] = {LIFEBOAT_BIN, "remote", NULL};
	pid_t pid = start_applet(argv, -1);
	if (pid > 0)
		started(CHILD_REMOTE, pid);
	else
		st.child[CHILD_REMOTE].due = now_ms() + SHELL_RETRY_MS;
}

static void emergency(const char *why)
{
	st.emergency_why = why;
	enter(STATE_EMERGENCY);
}

/* How many processes the kernel's OOM killer ended so far (-1: cannot tell). Read into a static
 * buffer: PID 1 allocates nothing, and /proc never blocks. */
static long long oom_kills(void)
{
	static char buf[16384];
	int fd = open("/proc/vmstat", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t n = 0;
	for (ssize_t r; n < sizeof(buf) - 1 && (r = read(fd, buf + n, sizeof(buf) - 1 - n)) != 0;) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = 0;
	return respawn_oom_kills(buf);
}

/* Once the menu is up, the kernel prints only warnings and worse on the consoles: a late
 * "loaded module" line (the device worker's, or a driver's notice) would otherwise land inside
 * a menu line. PID 1's own lines still reach the consoles as before (it prints them itself),
 * and every line still reaches the log and dmesg. The user's own loglevel= (or debug) wins,
 * and a level already lower (quiet) stays. */
static void console_log_quiet(void)
{
	static int done;
	char *s = NULL;
	if (done || st.opt.loglevel_set || st.opt.debug)
		return;
	done = 1;
	if (read_file_at(AT_FDCWD, "/proc/sys/kernel/printk", 64, &s) < 0)
		return;
	/* The kernel prints a line when its level is below the console loglevel: 5 keeps
	 * warnings (4) and worse. */
	int was = atoi(s);
	if (was > 5) {
		if (write_file("/proc/sys/kernel/printk", "5\n") < 0)
			log_debug("cannot lower the console loglevel");
		else
			log_set_echo_below(was);
	}
	free(s);
}

static void start_menu(void)
{
	char *argv[] = {LIFEBOAT_BIN, "menu", NULL};
	console_log_quiet();
	st.menu_oom = oom_kills();
	pid_t pid = start_applet(argv, -1);
	if (pid > 0) {
		started(CHILD_MENU, pid);
	} else {
		st.child[CHILD_MENU].due = -1;
		emergency("the menu cannot be started; this is an emergency shell.");
	}
}

/* Whether the kernel's log names pid as the OOM killer's victim. The vmstat count alone is the
 * whole system's: after killing the menu the killer may end the hog too, once the menu runs
 * again, and that later kill must not be blamed on the menu's next SIGKILL. Reads /dev/kmsg
 * without blocking into a static buffer; records the ring has dropped are skipped (EPIPE). */
static int menu_oom_killed(pid_t pid)
{
	static char rec[8192];
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC), found = 0;
	if (fd < 0)
		return -1;
	for (int i = 0; i < 100000 && !found; i++) {
		ssize_t r = read(fd, rec, sizeof(rec) - 1);
		if (r < 0 && (errno == EINTR || errno == EPIPE))
			continue;
		if (r <= 0)
			break;
		rec[r] = 0;
		found = respawn_oom_victim(rec, pid);
	}
	close(fd);
	return found;
}

static void menu_died(pid_t pid, int status, long long lived)
{
	char buf[128];
	int delay;
	enum respawn_action a = respawn_decide(&st.respawn, status, lived, &delay);
	status_str(status, buf, sizeof(buf));
	/* SIGKILL is what the OOM killer sends; when it struck meanwhile and named the menu (or the
	 * log cannot tell), memory ran out, and the user should know why the menu went away (and
	 * that a shell's work may need less). */
	long long oom = st.menu_oom >= 0 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL ? oom_kills() : -1;
	if (oom > st.menu_oom && menu_oom_killed(pid) != 0) {
		size_t l = strlen(buf);
		snprintf(buf + l, sizeof(buf) - l, " while memory ran out (the kernel's OOM killer)");
	}
	if (a == RESPAWN_EMERGENCY) {
		log_err("the menu %s and cannot run; starting an emergency shell instead", buf);
		if (st.state == STATE_MENU)
			emergency("the menu keeps failing; this is an emergency shell (exit it to try the menu again).");
		return;
	}
	if (a == RESPAWN_LATER)
		log_warn("the menu %s; starting it again in %d ms", buf, delay);
	else
		log_warn("the menu %s; starting it again", buf);
	/* A crash loop is slowed down with a poll deadline, never by sleeping in PID 1. */
	st.child[CHILD_MENU].due = now_ms() + delay;
}

static void shell_died(int status, long long lived)
{
	char buf[80];
	log_info("the shell %s", status_str(status, buf, sizeof(buf)));
	if (st.state == STATE_BOOT_SHELL) {
		enter(STATE_SETTLING);
	} else if (st.state == STATE_EMERGENCY) {
		/* Give the menu another chance once the emergency shell is left; a shell that cannot
		 * even start must not turn into a fork loop. */
		enter(STATE_MENU);
		st.child[CHILD_MENU].due = now_ms() + (lived < SHELL_FAST_MS ? 1000 : 0);
	}
}

/* One child ended: clear its row and apply its restart rule. */
static void child_ended(pid_t pid, int status)
{
	char buf[80];
	int c = children_find(st.child, N_CHILDREN, pid);
	if (c < 0) {
		log_debug("reaped pid %d: %s", (int)pid, status_str(status, buf, sizeof(buf)));
		return;
	}
	long long lived = now_ms() - st.child[c].started;
	st.child[c].pid = 0;
	if (st.state == STATE_SHUTTING_DOWN)
		return;
	switch (st.child[c].rule) {
	case RESTART_RESPAWN:
		refresh_consoles();
		menu_died(pid, status, lived);
		break;
	case RESTART_PACED:
		log_warn("the %s %s; starting it again", st.child[c].name, status_str(status, buf, sizeof(buf)));
		st.child[c].due = now_ms() + children_paced_delay(lived);
		break;
	case RESTART_SERVICE:
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			/* It had nothing to do (lifeboat.net=off): done for this boot. */
			st.child[c].done = 1;
			log_info("the %s ended: nothing to run", st.child[c].name);
			break;
		}
		log_warn("the %s %s; starting it again", st.child[c].name, status_str(status, buf, sizeof(buf)));
		st.child[c].due = now_ms() + children_paced_delay(lived);
		break;
	case RESTART_STATE:
		refresh_consoles();
		shell_died(status, lived);
		break;
	case RESTART_NEVER:
		log_debug("the %s (pid %d) %s", st.child[c].name, (int)pid, status_str(status, buf, sizeof(buf)));
		break;
	}
}


static void reap(void)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		if (pid <= 0)
			return;
		child_ended(pid, status);
	}
}

static sigset_t all_signals;

/* Signals are always taken with sigtimedwait, never read from the signalfd (that would take them
 * too), which only wakes poll up: the same code runs whether the signalfd exists or not. */
static int next_signal(siginfo_t *si)
{
	static const struct timespec zero = {0, 0};
	return sigtimedwait(&all_signals, si, &zero);
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
		if (pid > 0) {
			child_ended(pid, status);
			continue;
		}
		long long left = end - now_ms();
		if (left <= 0)
			return 1;
		struct pollfd p = {st.sfd, POLLIN, 0};
		poll(&p, st.sfd >= 0 ? 1 : 0, (int)(left > 100 ? 100 : left));
		siginfo_t si;
		while (next_signal(&si) > 0)
			;
	}
}

static void disk_said(int is_err, const char *msg)
{
	if (is_err)
		log_err("%s", msg);
	else
		log_info("%s", msg);
	say("lifeboat: %s", msg);
}

static void disk_started(pid_t pid)
{
	started(CHILD_DISKS, pid);
}

static void disk_idle(void)
{
	siginfo_t si;
	while (next_signal(&si) > 0)
		; /* nothing changes a shutdown under way */
}

/* The disk work in its child (init/diskwork.c); PID 1 only says how it ended. Returns 1 when it
 * finished, 0 when it failed or PID 1 gave up on it. */
static int run_disk_work(enum shutdown_kind k)
{
	struct diskwork_hooks h = {disk_said, disk_started, disk_idle, st.sfd};
	struct diskwork_result r;
	int done = diskwork_run(&h, DISK_STALL_MS, DISK_TOTAL_MS, &r);
	st.child[CHILD_DISKS].pid = done ? 0 : st.child[CHILD_DISKS].pid;
	if (r.start_err) {
		log_err("cannot start the disk work: %s", strerror(-r.start_err));
		say("lifeboat: cannot start the disk work (%s); %s without unmounting.", strerror(-r.start_err),
		    shutdown_name(k));
		return 0;
	}
	if (!done) {
		log_err("the disk work did not finish: %s hangs (no progress for %lld s); %s anyway",
			r.step, r.stalled_ms / 1000, shutdown_name(k));
		say("lifeboat: the disks did not finish: %s hangs (no progress for %lld s); %s anyway.",
		    r.step, r.stalled_ms / 1000, shutdown_name(k));
		return 0;
	}
	if (r.left > 0)
		say("lifeboat: warning: %d file system(s) could not be unmounted or made read-only", r.left);
	else if (r.left < 0 || !WIFEXITED(r.status) || WEXITSTATUS(r.status)) {
		char why[80];
		say("lifeboat: the disk work %s before it finished.", status_str(r.status, why, sizeof(why)));
		return 0;
	}
	return 1;
}

static void do_shutdown(enum shutdown_kind k)
{
	enter(STATE_SHUTTING_DOWN);
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
	int disks_done = run_disk_work(k);
	if (disks_done)
		say("lifeboat: file systems done; %s now.", shutdown_name(k));
	drain_consoles(CONSOLE_DRAIN_MS);
	log_info("calling reboot(2) for %s", shutdown_name(k));
	/* reboot(2) from a child: PID 1 calling it can panic the kernel on some paths. */
	pid_t pid = fork();
	if (pid == 0) {
		child_reset_signals();
		int r = shutdown_reboot_syscall(k, disks_done);
		_exit(r < 0 ? -r : 0);
	}
	int status = 0;
	if (pid > 0) {
		started(CHILD_REBOOT, pid);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		st.child[CHILD_REBOOT].pid = 0;
	}
	/* Halt returns here only after the kernel stopped everything else; reboot and power-off
	 * not at all. Anything else is a failure: go back to the menu. */
	if (k == SHUTDOWN_KEXEC)
		say("lifeboat: kexec failed (%s): no kernel is loaded or the jump was refused; back to the menu.",
		    WIFEXITED(status) ? strerror(WEXITSTATUS(status)) : "the worker was killed");
	else
		say("lifeboat: %s failed (%s); back to the menu.", shutdown_name(k),
		    pid < 0 ? strerror(errno) : WIFEXITED(status) ? strerror(WEXITSTATUS(status)) : "killed");
	log_err("%s failed", shutdown_name(k));
	st.child[CHILD_DEVICES].due = st.child[CHILD_MENU].due = now_ms();
	if (!st.child[CHILD_REMOTE].done)
		st.child[CHILD_REMOTE].due = now_ms();
	enter(STATE_MENU);
}

static int kexec_loaded(void)
{
	char buf[16];
	int fd = open("/sys/kernel/kexec_loaded", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 1; /* cannot tell: let reboot(2) decide */
	ssize_t n = read(fd, buf, sizeof(buf));
	close(fd);
	return n <= 0 || buf[0] == '1';
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
	siginfo_t si;
	int sig;
	enum shutdown_kind want = SHUTDOWN_NONE;
	while ((sig = next_signal(&si)) > 0) {
		if (sig == SIGCHLD)
			continue;
		enum shutdown_kind k = signal_action(sig);
		if (k != SHUTDOWN_NONE) {
			log_info("signal %d from pid %d: %s", sig, (int)si.si_pid, shutdown_name(k));
			want = k;
		} else {
			log_debug("signal %d ignored", sig);
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
	if (st.state == STATE_SETTLING) {
		log_info("devices settled");
		enter(STATE_MENU);
	} else if (n > 0) {
		/* The menu's list may be short: it came before the devices settled (a loaded machine,
		 * many disks), or disks appeared since (a SCSI host still adding LUNs, a disk plugged
		 * in). SIGUSR1 asks it to look; it scans again if its list lacks a device. */
		if (st.settle_late)
			log_warn("devices settled after the menu started; asking it to look again");
		else /* the worker's log says so, and the menu's if it scans: not a console line */
			log_debug("disks appeared after the devices settled; asking the menu to look again");
		st.settle_late = 0;
		if (st.child[CHILD_MENU].pid > 0)
			kill(st.child[CHILD_MENU].pid, SIGUSR1);
	}
}

static long long earliest(long long a, long long b)
{
	return a < 0 || (b >= 0 && b < a) ? b : a;
}

static int poll_timeout(void)
{
	long long now = now_ms(), next = children_next_due(st.child, N_CHILDREN, st.state);
	if (st.state == STATE_SETTLING)
		next = earliest(next, st.settle_deadline);
	/* Without a signalfd nothing wakes poll for a signal: look for them four times a second. */
	if (st.sfd < 0)
		next = earliest(next, now + 250);
	if (next < 0)
		return -1;
	return next <= now ? 0 : (int)(next - now > 60000 ? 60000 : next - now);
}

static void start_child(enum child_id c)
{
	if (c == CHILD_DEVICES)
		start_devices();
	else if (c == CHILD_MENU)
		start_menu();
	else if (c == CHILD_SHELL)
		start_shell();
	else if (c == CHILD_REMOTE)
		start_remote();
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
	handle_signals();
	if (st.dev_pipe >= 0 && p[1].revents)
		device_notice();
	long long now = now_ms();
	if (st.state == STATE_SETTLING && now >= st.settle_deadline) {
		log_warn("devices did not settle within %d s; showing the menu anyway", st.opt.settle_ms / 1000);
		st.settle_late = 1;
		enter(STATE_MENU);
	}
	for (int c = 0; c < N_CHILDREN; c++)
		if (state_wants(st.state, (enum child_id)c) && !st.child[c].pid && st.child[c].due >= 0 &&
		    now >= st.child[c].due)
			start_child((enum child_id)c);
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
	xalloc_wait_for_memory();
	umask(022);
	if (chdir("/") < 0) {
		/* nothing to do: / always exists */
	}
	stdio_ensure();
	log_early();
	setsid();
	mounts_basic();
	log_open(0);
	/* The kernel rate-limits /dev/kmsg writers to 10 lines per 5 s by default; our boot log is
	 * longer than that and dmesg should show all of it. */
	if (write_file("/proc/sys/kernel/printk_devkmsg", "on\n") < 0)
		log_debug("cannot lift the /dev/kmsg rate limit");
	set_module_helper();
	sethostname("lifeboat", 8);
	cmdline_load(&st.opt);
	log_set_debug(st.opt.debug);
	open_consoles();
	say("lifeboat %s starting", LB_VERSION);
	log_info("lifeboat %s, consoles: %s", LB_VERSION, st.cons_env + strlen("LIFEBOAT_CONSOLES="));
	for (int i = 0; i < st.opt.n_warnings; i++)
		log_warn("%s", st.opt.warnings[i]);

	sigfillset(&all_signals);
	sigprocmask(SIG_BLOCK, &all_signals, NULL);
	st.sfd = signalfd(-1, &all_signals, SFD_CLOEXEC | SFD_NONBLOCK);
	if (st.sfd < 0)
		log_err("signalfd: %s; looking for signals four times a second instead", strerror(errno));
	/* Ctrl-Alt-Del becomes SIGINT to us instead of an immediate reboot. */
	reboot(RB_DISABLE_CAD);

	enter(st.opt.shell ? STATE_BOOT_SHELL : STATE_SETTLING);
	for (;;)
		loop_once();
}
