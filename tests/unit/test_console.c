/* Which consoles lifeboat talks on, from fake /sys/class/tty trees. */
#include "lib/console.h"
#include "tests/unit/check.h"

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
	return check_done("test_console");
}
