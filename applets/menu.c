/* `lifeboat menu`: the console menu, run by PID 1 as a child and started again whenever it
 * exits. It scans the disks (a child with a time limit), shows the same menu on every console,
 * and the first console where a key is pressed drives it. Everything it starts (shell, enter,
 * boot, log viewer) runs as its child on that console; the menu comes back when it ends. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/layout.h"
#include "act/bootplan.h"
#include "applets/applets.h"
#include "lib/cmdline.h"
#include "lib/escape.h"
#include "lib/log.h"
#include "lib/job.h"
#include "lib/util.h"
#include "present/default.h"
#include "report/found.h"
#include "report/select.h"
#include "present/menu.h"
#include "report/store.h"
#include "report/unlisted.h"
#include "present/term.h"
#include "net/remote.h"

/* Once the default action ran, a restarted menu must not run it again. */

static struct terms T;
/* PID 1 sends SIGUSR1 when the devices settled only after this menu started, or disks appeared
 * after they settled: look whether the list lacks a device, and scan again if so. */
static volatile sig_atomic_t rescan_asked;

static void on_rescan(int sig)
{
	(void)sig;
	rescan_asked = 1;
}
static struct found F;
static int have_found;
static struct menu M;

/* The network lines the header shows now (remote rescue): the menu is drawn again when they
 * change, since addresses arrive in the background after the menu is up. */
static char net_shown[320];
#define NET_RECHECK_MS 1000

static void draw(void)
{
	static char buf[32768];
	remote_status(net_shown, sizeof(net_shown));
	menu_set_remote(net_shown);
	size_t n = menu_render(&M, buf, sizeof(buf));
	terms_write(&T, buf, (int)n);
}

/* A key from the driving console; the first key anywhere makes its console the driver. */
static int get_key(int timeout_ms)
{
	for (;;) {
		int from = -1;
		int k = terms_key(&T, timeout_ms, &from);
		if (k == KEY_NONE || k == KEY_EOF || from < 0)
			return k;
		if (T.driver < 0) {
			T.driver = from;
			for (int i = 0; i < T.n; i++)
				if (i != from) {
					char msg[160];
					int l = snprintf(msg, sizeof(msg), "\r\nThe menu is in use on %s.\r\n", T.cons[from].path);
					write_all(T.fd[i], msg, (size_t)l);
				}
		}
		if (from == T.driver)
			return k;
		/* Keys on the other consoles are not for us; say why nothing happens. */
		char msg[160];
		int l = snprintf(msg, sizeof(msg), "\r\nThe menu is in use on %s.\r\n", T.cons[T.driver].path);
		write_all(T.fd[from], msg, (size_t)l);
	}
}

/* The model and the menu from report text (taken and freed). */
static void adopt(char *text)
{
	if (have_found)
		found_free(&F);
	have_found = 0;
	if (text) {
		found_load(&F, text);
		have_found = 1;
		log_info("menu: %d system(s) found", F.n_sys);
	}
	free(text);
	/* System indices may differ after a new scan: start again from the main page. */
	menu_init(&M, have_found ? &F : NULL, LB_VERSION);
}

/* share: the menu's first scan may be one another console's menu was already running (both
 * menus come up at once); a rescan the user asked for begins after the asking. */
static void scan(int share)
{
	terms_printf(&T, "\nScanning disks...\n");
	char *text = NULL;
	int ms = report_scan_ms();
	int r = report_scan(&text, ms, share);
	if (r == -ETIMEDOUT)
		terms_printf(&T, "The scan did not finish within %d s; showing what it found so far.\n",
			     (ms + 999) / 1000);
	else if (r < 0)
		terms_printf(&T, "The scan (%s scan) failed: %s.\n", LIFEBOAT_BIN, strerror(-r));
	int saved = report_last_save();
	if (saved < 0)
		terms_printf(&T, "Cannot save the scan report in %s: %s%s. Enter and boot scan again "
			     "for themselves.\n", REPORT_SAVED, strerror(-saved),
			     saved == -ENOSPC ? " (/run is full: `df /run` in the shell, remove what fills it)" : "");
	adopt(text);
}

/* Run argv on the driving console as a foreground job, then take the console back. Returns the
 * wait status or -errno. */
static int run_on_console(char *const argv[])
{
	terms_cooked(&T);
	setenv("TERM", terms_term(&T), 1);
	struct spawn_opts o = {.tty = terms_tty(&T), .keep_fd = -1};
	pid_t pid = spawn(argv, &o);
	int status = 0;
	if (pid > 0)
		status = wait_timeout(pid, -1);
	/* The child led a session on the console; its end hung the console up for us too. */
	terms_reopen(&T);
	if (pid < 0)
		return (int)pid;
	if (status >= 0 && WIFSIGNALED(status)) {
		char buf[80];
		terms_printf(&T, "\n%s %s.\n", argv[0], status_str(status, buf, sizeof(buf)));
	}
	return status;
}

/* Read a line on the driving console (echoed, Backspace works). Returns its length, or -1 when
 * Ctrl-C cancels it. */
static int read_line(char *buf, int size)
{
	int len = 0;
	buf[0] = 0;
	for (;;) {
		int k = get_key(-1);
		if (k == KEY_EOF || k == KEY_CTRL_C)
			return -1;
		if (k == KEY_ENTER) {
			terms_printf(&T, "\n");
			return len;
		}
		if (k == KEY_BACKSPACE && len > 0) {
			buf[--len] = 0;
			terms_printf(&T, "\b \b");
		} else if (k >= 32 && k < 127 && len < size - 1) {
			buf[len++] = (char)k;
			buf[len] = 0;
			char c = (char)k;
			terms_write(&T, &c, 1);
		}
	}
}

static const struct found_gen *chosen_gen(const struct menu_choice *c, const struct found_sys **sp)
{
	if (!have_found || c->sys < 0 || c->sys >= F.n_sys)
		return NULL;
	const struct found_sys *s = &F.sys[c->sys];
	*sp = s;
	if (c->spec >= 0 && c->spec < s->n_specs)
		return &s->specs[c->spec];
	return found_gen(s, c->gen);
}

static void report_status(const char *what, int status)
{
	char buf[80];
	if (status < 0)
		terms_printf(&T, "\nCannot run %s: %s.\n", what, strerror(-status));
	else if (!WIFEXITED(status) || WEXITSTATUS(status))
		terms_printf(&T, "\n%s %s; back to the menu.\n", what, status_str(status, buf, sizeof(buf)));
}

/* PID 1 stops us when it takes over (a kexec jump, a shutdown). When it has not within this
 * long, it refused or missed the request: the menu says so and comes back instead of waiting
 * forever. $LIFEBOAT_TAKEOVER_MS (milliseconds) replaces it, for tests. */
#define TAKEOVER_MS 30000

static void await_takeover(const char *what, const char *after)
{
	const char *v = getenv("LIFEBOAT_TAKEOVER_MS");
	int ms = v && atoi(v) > 0 ? atoi(v) : TAKEOVER_MS;
	long long deadline = now_ms() + ms;
	for (long long left; (left = deadline - now_ms()) > 0;)
		poll(NULL, 0, (int)left);
	log_warn("menu: PID 1 did not %s within %d ms", what, ms);
	terms_printf(&T, "\nPID 1 did not %s within %d s; back to the menu.%s\n", what, (ms + 999) / 1000,
		     after);
}

static void boot_result(int status)
{
	if (status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		terms_printf(&T, "\nStarting the new kernel...\n");
		await_takeover("start the new kernel",
			       " The kernel is still loaded: boot again to retry, or reboot.");
		return;
	}
	report_status("boot", status);
}

static void do_boot(const struct menu_choice *c, int ask)
{
	const struct found_sys *s = NULL;
	const struct found_gen *g = chosen_gen(c, &s);
	if (!g) {
		terms_printf(&T, "\nThat generation is not in the scan report.\n");
		return;
	}
	char id[16], num[16], line[4096] = "", key[SELECT_KEY_MAX];
	snprintf(id, sizeof(id), "%d", s->id);
	select_key(s, key, sizeof(key));
	snprintf(num, sizeof(num), "%d", g->number);
	if (ask) {
		const char *init = record_get(g->rec, "init");
		const char *params = record_get(g->rec, "params");
		char *cur = xasprintf("init=%s%s%s", init && *init ? init : g->toplevel,
				      init && *init ? "" : "/init", params && *params ? " " : "");
		char *full = xasprintf("%s%s", cur, params ? params : "");
		char *shown = xmalloc(strlen(full) * 4 + 8);
		term_escape(full, shown, strlen(full) * 4 + 8, 0);
		terms_printf(&T, "\nKernel command line of generation %d:\n%s\n", g->number, shown);
		terms_printf(&T, "Press Enter to boot with it, type a new command line then Enter to replace it,\n"
				 "or Ctrl-C to go back to the menu.\n> ");
		free(cur);
		free(full);
		free(shown);
		if (read_line(line, sizeof(line)) < 0) {
			terms_printf(&T, "\nCancelled.\n");
			return;
		}
	}
	char *argv[16];
	int a = 0;
	argv[a++] = LIFEBOAT_BIN;
	argv[a++] = "boot";
	argv[a++] = "--system";
	argv[a++] = id;
	argv[a++] = "--generation";
	argv[a++] = num;
	argv[a++] = "--expect";
	argv[a++] = key;
	if (*g->spec) {
		argv[a++] = "--specialisation";
		argv[a++] = (char *)g->spec;
	}
	if (*line) {
		argv[a++] = "--cmdline";
		argv[a++] = line;
	}
	argv[a] = NULL;
	terms_printf(&T, "\nLoading generation %d...\n", g->number);
	boot_result(run_on_console(argv));
}

static void do_enter(const struct menu_choice *c, int repair)
{
	const struct found_sys *s = NULL;
	const struct found_gen *g = chosen_gen(c, &s);
	if (!g) {
		terms_printf(&T, "\nThat generation is not in the scan report.\n");
		return;
	}
	char id[16];
	snprintf(id, sizeof(id), "%d", s->id);
	char key[SELECT_KEY_MAX];
	select_key(s, key, sizeof(key));
	char *argv[] = {LIFEBOAT_BIN, "enter", "--id", id, "--expect", key, "--system", (char *)g->toplevel,
			repair ? "--install-bootloader" : NULL, NULL};
	int st = run_on_console(argv);
	report_status(repair ? "repair" : "enter", st);
	if (repair && st >= 0 && WIFEXITED(st) && !WEXITSTATUS(st))
		terms_printf(&T, "\nThe boot loader was installed.\n");
}

/* Check (in a pager) or repair a system's filesystems, or one problem device, with `lifeboat
 * check` on the console. Arguments reach it as "$@", never through the shell's parser. */
static void do_fscheck(const struct menu_choice *c)
{
	char id[16] = "", key[SELECT_KEY_MAX] = "";
	const char *dev = NULL;
	if (c->act == ACT_DEVREPAIR) {
		const struct record *p = have_found ? found_problem(&F, c->gen) : NULL;
		dev = p ? record_get(p, "path") : NULL;
	} else if (have_found && c->sys >= 0 && c->sys < F.n_sys) {
		snprintf(id, sizeof(id), "%d", F.sys[c->sys].id);
		select_key(&F.sys[c->sys], key, sizeof(key));
	}
	if (!dev && !*id) {
		terms_printf(&T, "\nThat is not in the scan report.\n");
		return;
	}
	const char *check = LIFEBOAT_BIN " check \"$@\" 2>&1 | " BUSYBOX_BIN " less";
	const char *repair = LIFEBOAT_BIN " check --repair \"$@\"; "
			     "printf '\\nPress Enter to return to the menu. '; read x";
	char *argv[] = {BUSYBOX_BIN, "sh", "-c", (char *)(c->act == ACT_FSCHECK ? check : repair),
			"lifeboat-check", dev ? (char *)dev : "--id", dev ? NULL : id, "--expect", key, NULL};
	report_status("the check", run_on_console(argv));
	/* A repair may have made a system findable, or changed what its page says. */
	if (c->act != ACT_FSCHECK)
		scan(0);
}

static void act(const struct menu_choice *c, int interactive)
{
	switch (c->act) {
	case ACT_SHELL: {
		terms_printf(&T, "\nStarting a shell on %s. Type 'exit' to return to the menu.\n", terms_tty(&T));
		char *argv[] = {BUSYBOX_BIN, "sh", "-l", NULL};
		report_status("the shell", run_on_console(argv));
		break;
	}
	case ACT_LOG: {
		/* Without -R: less shows control bytes as ^X, so the log cannot drive the terminal. */
		char *argv[] = {BUSYBOX_BIN, "less", LOG_PATH, NULL};
		report_status("the log viewer", run_on_console(argv));
		break;
	}
	case ACT_RESCAN:
		scan(0);
		break;
	case ACT_UNLOCK: {
		/* On this console (the prompt is the user's), then a fresh scan shows what opened. */
		const char *dev = c->gen >= 0 && have_found && c->gen < F.rep.n ? record_get(&F.rep.r[c->gen], "path") : NULL;
		char *d = dev ? xstrdup(dev) : NULL;
		terms_printf(&T, "\nUnlocking (Ctrl-C returns to the menu)...\n");
		char *argv[] = {LIFEBOAT_BIN, "unlock", d, NULL};
		int st = run_on_console(argv);
		free(d);
		report_status("unlock", st);
		/* What unlock opened it scanned (and saved) already, after naming the mappings as the
		 * systems inside expect; nothing opened, nothing changed. */
		char *text = NULL;
		report_saved(&text);
		adopt(text);
		break;
	}
	case ACT_ENTER:
		do_enter(c, 0);
		break;
	case ACT_REPAIR:
		do_enter(c, 1);
		break;
	case ACT_FSCHECK:
	case ACT_FSREPAIR:
	case ACT_DEVREPAIR:
		do_fscheck(c);
		break;
	case ACT_BOOT:
		do_boot(c, interactive);
		break;
	case ACT_INSTALLER: {
		terms_printf(&T, "\nLoading the installer...\n");
		char *argv[] = {LIFEBOAT_BIN, "boot", "--installer", NULL};
		boot_result(run_on_console(argv));
		break;
	}
	case ACT_REBOOT:
	case ACT_POWEROFF:
		terms_printf(&T, "\n%s...\n", c->act == ACT_REBOOT ? "Rebooting" : "Powering off");
		/* PID 1 does the clean shutdown; it stops us along with everything else. */
		if (kill(1, c->act == ACT_REBOOT ? SIGTERM : SIGUSR2) < 0)
			terms_printf(&T, "Cannot signal PID 1 (pid 1) to %s: %s\n",
				     c->act == ACT_REBOOT ? "reboot" : "power off", strerror(errno));
		else
			await_takeover(c->act == ACT_REBOOT ? "reboot" : "power off", "");
		break;
	default:
		break;
	}
}

/* Count down visibly; any key stops it. Returns 1 when the time ran out. */
static int countdown(const struct default_plan *p)
{
	char what[160];
	default_describe(&F, p, what, sizeof(what));
	if (p->timeout == 0) {
		terms_printf(&T, "\nlifeboat.default: %s now.\n", what);
		return 1;
	}
	for (int left = p->timeout; left > 0; left--) {
		terms_printf(&T, "\rlifeboat.default: %s in %d s; press any key for the menu. ", what, left);
		int k = get_key(1000);
		if (k != KEY_NONE) {
			terms_printf(&T, "\nStopped.\n");
			return 0;
		}
	}
	terms_printf(&T, "\nlifeboat.default: %s now.\n", what);
	return 1;
}

static void run_default(void)
{
	struct stat sb;
	/* An SSH login's menu never runs the boot's default action: the console's menu owns it. */
	if (stat(DEFAULT_DONE, &sb) == 0 || getenv("LIFEBOAT_SSH_MENU"))
		return;
	struct lb_options o;
	cmdline_load(&o);
	struct default_plan p;
	char msg[1024];
	int r = default_decide(&o, have_found ? &F : NULL, &p, msg, sizeof(msg));
	cmdline_free(&o);
	if (r < 0) {
		terms_printf(&T, "\n%s\n", msg);
		log_warn("menu: %s", msg);
		return;
	}
	if (r == 0)
		return;
	if (!countdown(&p))
		return;
	mkdir_p(RUN_DIR, 0755);
	int fd = open(DEFAULT_DONE, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0)
		close(fd);
	act(&p.c, 0);
}

int menu_main(int argc, char **argv)
{
	log_open(getppid() != 1);
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGTSTP, SIG_IGN);
	signal(SIGTTOU, SIG_IGN);
	struct sigaction sa = {.sa_handler = on_rescan, .sa_flags = SA_RESTART};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	if (terms_open(&T) < 0) {
		log_err("menu: no console to show the menu on");
		return 1;
	}
	terms_printf(&T, "\nlifeboat %s - NixOS rescue\n", LB_VERSION);
	char *iname = NULL;
	if (read_file_at(AT_FDCWD, INSTALLER_DIR "/name", 256, &iname) > 0)
		menu_set_installer(rstrip(iname));
	free(iname);
	menu_init(&M, NULL, LB_VERSION);
	scan(1);
	run_default();
	draw();
	for (;;) {
		int k = get_key(NET_RECHECK_MS);
		if (k == KEY_EOF)
			return 1;
		/* Only on the main page with nothing typed: a rescan starts the menu afresh. */
		if (k == KEY_NONE && rescan_asked && !M.len && M.page < 0) {
			rescan_asked = 0;
			struct behind b;
			found_behind(have_found ? &F : NULL, "/sys", &b); /* counts nothing when it fails */
			if (b.unlisted)
				terms_printf(&T, "\nMore devices appeared after this scan began (%d: %s); scanning again.\n",
					     b.unlisted, b.unlisted_names);
			if (b.gone)
				terms_printf(&T, "\nDevices in this list are gone (%d: %s); scanning again.\n", b.gone,
					     b.gone_names);
			if (b.unlisted || b.gone) {
				log_info("menu: %d device(s) not in the list (%s), %d gone (%s): scanning again", b.unlisted,
					 b.unlisted_names, b.gone, b.gone_names);
				scan(0);
				draw();
			}
			continue;
		}
		if (k == KEY_NONE) {
			char net[320];
			remote_status(net, sizeof(net));
			/* Never under a key being typed: that would hide what was typed so far. */
			if (strcmp(net, net_shown) && !M.len) {
				terms_printf(&T, "\n");
				draw();
			}
			continue;
		}
		struct menu_choice c;
		switch (menu_input(&M, k, &c)) {
		case EV_NONE:
			break;
		case EV_ECHO: {
			char ch = (char)k;
			terms_write(&T, &ch, 1);
			break;
		}
		case EV_ERASE:
			terms_printf(&T, "\b \b");
			break;
		case EV_UNKNOWN: {
			char e[40];
			terms_printf(&T, "\nNo choice '%s' here.\n", term_escape(M.unknown, e, sizeof(e), 30));
			draw();
			break;
		}
		case EV_REDRAW:
			terms_printf(&T, "\n");
			draw();
			break;
		case EV_CHOSEN:
			terms_printf(&T, "\n");
			act(&c, 1);
			menu_build(&M);
			draw();
			break;
		}
	}
}
