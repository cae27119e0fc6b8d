/* `lifeboat menu`: the console menu, run by PID 1 as a child and started again whenever it
 * exits. It shows the same menu on every console; the first console where a key is pressed
 * drives it. Everything it starts (shell, log viewer) runs as its child on that console. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "applets/applets.h"
#include "init/cmdline.h"
#include "lib/log.h"
#include "lib/proc.h"
#include "lib/util.h"
#include "present/menu.h"
#include "present/term.h"

static struct terms T;

static void build(struct menu *m)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->title, sizeof(m->title), "lifeboat %s - NixOS rescue", LB_VERSION);
	snprintf(m->status, sizeof(m->status), "No NixOS system found.");
	menu_add(m, "s", ITEM_SHELL, 0, "shell (busybox; type 'exit' to come back)");
	menu_add(m, "l", ITEM_LOG, 0, "show the log");
	menu_add(m, "r", ITEM_REBOOT, 0, "reboot");
	menu_add(m, "p", ITEM_POWEROFF, 0, "power off");
}

static void draw(const struct menu *m)
{
	terms_printf(&T, "\n%s\n", m->title);
	terms_printf(&T, "%s\n\n", m->status);
	for (int i = 0; i < m->n; i++)
		terms_printf(&T, "%s%s) %s\n", i == m->sel ? ">" : " ", m->items[i].key, m->items[i].text);
	terms_printf(&T, "\nChoose (key then Enter, or arrows and Enter): ");
}

/* Run argv on the driving console as a foreground job, then take the console back. */
static int run_on_console(char *const argv[])
{
	terms_cooked(&T);
	setenv("TERM", terms_term(&T), 1);
	struct spawn_opts o = {.tty = terms_tty(&T), .keep_fd = -1};
	pid_t pid = spawn(argv, &o);
	int status = 0;
	if (pid > 0)
		status = wait_timeout(pid, -1);
	terms_raw(&T);
	if (pid < 0)
		return (int)pid;
	if (status < 0)
		return status;
	if (WIFSIGNALED(status)) {
		char buf[80];
		terms_printf(&T, "\n%s %s; back to the menu.\n", argv[0], status_str(status, buf, sizeof(buf)));
	}
	return 0;
}

static void act(struct menu *m, int i)
{
	const struct menu_item *it = &m->items[i];
	switch (it->kind) {
	case ITEM_SHELL: {
		terms_printf(&T, "\nStarting a shell on %s. Type 'exit' to return to the menu.\n", terms_tty(&T));
		char *argv[] = {BUSYBOX_BIN, "sh", "-l", NULL};
		int r = run_on_console(argv);
		if (r < 0)
			terms_printf(&T, "cannot start a shell: %s\n", strerror(-r));
		break;
	}
	case ITEM_LOG: {
		char *argv[] = {BUSYBOX_BIN, "less", "-R", LOG_PATH, NULL};
		int r = run_on_console(argv);
		if (r < 0)
			terms_printf(&T, "cannot show the log: %s\n", strerror(-r));
		break;
	}
	case ITEM_REBOOT:
	case ITEM_POWEROFF:
		terms_printf(&T, "\n%s...\n", it->kind == ITEM_REBOOT ? "Rebooting" : "Powering off");
		/* PID 1 does the clean shutdown; it stops us along with everything else. */
		if (kill(1, it->kind == ITEM_REBOOT ? SIGTERM : SIGUSR2) < 0)
			terms_printf(&T, "cannot signal PID 1: %s\n", strerror(errno));
		else
			pause();
		break;
	default:
		terms_printf(&T, "\nNot available yet.\n");
		break;
	}
}

int menu_main(int argc, char **argv)
{
	log_open(getppid() != 1);
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGTSTP, SIG_IGN);
	if (terms_open(&T) < 0) {
		log_err("menu: no console to show the menu on");
		return 1;
	}
	struct menu m;
	build(&m);
	char typed[8] = "";
	int len = 0;
	draw(&m);
	for (;;) {
		int from = -1;
		int k = terms_key(&T, -1, &from);
		if (k == KEY_EOF)
			return 1;
		if (T.driver < 0 && from >= 0) {
			T.driver = from;
			for (int i = 0; i < T.n; i++)
				if (i != from) {
					char msg[160];
					int l = snprintf(msg, sizeof(msg), "\r\nThe menu is in use on %s.\r\n",
							 T.cons[from].path);
					write(T.fd[i], msg, (size_t)l);
				}
		}
		if (k == KEY_UP || k == KEY_DOWN) {
			m.sel = (m.sel + (k == KEY_UP ? m.n - 1 : 1)) % m.n;
			len = 0;
			typed[0] = 0;
			draw(&m);
		} else if (k == KEY_BACKSPACE) {
			if (len > 0) {
				typed[--len] = 0;
				terms_printf(&T, "\b \b");
			}
		} else if (k == KEY_CTRL_C || k == KEY_CTRL_L) {
			len = 0;
			typed[0] = 0;
			draw(&m);
		} else if (k == KEY_ENTER) {
			int i = len ? menu_find(&m, typed) : m.sel;
			terms_printf(&T, "\n");
			if (i < 0) {
				terms_printf(&T, "No choice '%s'.\n", typed);
			} else {
				m.sel = i;
				act(&m, i);
			}
			len = 0;
			typed[0] = 0;
			draw(&m);
		} else if (k > 0 && k < 128 && len < (int)sizeof(typed) - 1) {
			typed[len++] = (char)k;
			typed[len] = 0;
			char c = (char)k;
			terms_write(&T, &c, 1);
		}
	}
}
