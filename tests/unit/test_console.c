/* Which consoles lifeboat talks on, from fake /sys/class/tty trees. */
#include "lib/console.h"
#include "tests/unit/check.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

/* Fill a non-blocking pipe to the brim, as a burst of menu output fills a slow UART. */
static void fill(int fd)
{
	char junk[4096] = {0};
	while (write(fd, junk, sizeof(junk)) > 0)
		;
	while (write(fd, junk, 1) > 0)
		;
}

/* A full console is waited out briefly, not dropped at once; one that stays full gives up. */
static void test_console_write(void)
{
	int p[2];
	CHECK_INT(pipe2(p, O_NONBLOCK), 0);
	fill(p[1]);
	pid_t pid = fork();
	if (pid == 0) { /* the UART draining after a moment */
		usleep(50 * 1000);
		char buf[65536];
		fcntl(p[0], F_SETFL, 0);
		for (;;)
			if (read(p[0], buf, sizeof(buf)) <= 0)
				_exit(0);
	}
	static const char line[] = "lifeboat: kexec: stopping processes...\r\n";
	CHECK_INT(console_write(p[1], line, sizeof(line) - 1), 0);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(p[0]);
	close(p[1]);

	/* Nobody reads: the rest is dropped with -EAGAIN, and later writes still go out once there
	 * is room again. */
	CHECK_INT(pipe2(p, O_NONBLOCK), 0);
	fill(p[1]);
	CHECK_INT(console_write(p[1], line, sizeof(line) - 1), -EAGAIN);
	CHECK_INT(console_write(p[1], line, sizeof(line) - 1), -EAGAIN);
	char buf[65536];
	while (read(p[0], buf, sizeof(buf)) > 0)
		;
	CHECK_INT(console_write(p[1], line, sizeof(line) - 1), 0);
	CHECK_INT(read(p[0], buf, sizeof(buf)), sizeof(line) - 1);
	close(p[0]);
	close(p[1]);
	/* A reader gone: the error, not a wait. */
	CHECK_INT(pipe2(p, O_NONBLOCK), 0);
	close(p[0]);
	signal(SIGPIPE, SIG_IGN);
	CHECK_INT(console_write(p[1], line, sizeof(line) - 1), -EPIPE);
	close(p[1]);
}

int main(void)
{
	struct console c[MAX_CONSOLES];
	/* Serial and screen; tty0 means the VT in front (tty3 here). */
	int n = consoles_find("data/tty/a", c, MAX_CONSOLES);
	CHECK_INT(n, 2);
	CHECK_STR(c[0].path, "/dev/ttyS0");
	CHECK_INT(c[0].serial, 1);
	CHECK_STR(c[0].term, "vt102");
	CHECK_STR(c[1].path, "/dev/tty3");
	CHECK_INT(c[1].serial, 0);
	CHECK_STR(c[1].term, "linux");

	/* No tty0/active: tty1; duplicates once; hvc is a serial line; no paths out of /dev. */
	n = consoles_find("data/tty/b", c, MAX_CONSOLES);
	CHECK_INT(n, 3);
	CHECK_STR(c[0].path, "/dev/tty1");
	CHECK_STR(c[1].path, "/dev/ttyS1");
	CHECK_STR(c[2].path, "/dev/hvc0");
	CHECK_INT(c[2].serial, 1);
	/* A limit is a limit. */
	CHECK_INT(consoles_find("data/tty/b", c, 1), 1);

	/* Nothing listed, or no sysfs at all: /dev/console. */
	CHECK_INT(consoles_find("data/tty/c", c, MAX_CONSOLES), 1);
	CHECK_STR(c[0].path, "/dev/console");
	CHECK_INT(consoles_find("data/tty/none", c, MAX_CONSOLES), 1);
	CHECK_STR(c[0].path, "/dev/console");

	/* What PID 1 hands the menu survives the trip. */
	n = consoles_find("data/tty/a", c, MAX_CONSOLES);
	char env[256];
	consoles_to_env(c, n, env, sizeof(env));
	CHECK_STR(env, "/dev/ttyS0:s /dev/tty3:v");
	struct console d[MAX_CONSOLES];
	CHECK_INT(consoles_from_env(env, d, MAX_CONSOLES), 2);
	CHECK_STR(d[1].path, "/dev/tty3");
	CHECK_STR(d[0].term, "vt102");
	CHECK_INT(consoles_from_env("junk /etc/passwd:s", d, MAX_CONSOLES), 0);
	CHECK_INT(consoles_from_env(NULL, d, MAX_CONSOLES), 0);
	test_console_write();
	return check_done("test_console");
}
