/* The consoles lifeboat talks on: every console the kernel lists as active, opened as its real
 * tty (tty0 means the foreground virtual terminal), with sane settings for serial lines. */
#ifndef LB_CONSOLE_H
#define LB_CONSOLE_H

#define MAX_CONSOLES 8

struct console {
	char path[64];  /* /dev/ttyS0, /dev/tty1 ... */
	int serial;
	const char *term; /* TERM for programs started on it */
};

/* Find the active consoles from class_tty (normally /sys/class/tty): console/active lists them,
 * tty0 stands for the VT named in tty0/active. Falls back to /dev/console when none is listed.
 * Returns the count. */
int consoles_find(const char *class_tty, struct console *out, int max);
/* Apply lifeboat's terminal settings to an open console fd (cooked mode, CR->NL, NL->CRNL). */
int console_setup(int fd, int serial);
/* Open a console for reading and writing without making it the controlling tty. */
int console_open(const struct console *c);
/* Encode/decode the console list for children: "ttyS0:s tty1:v". */
void consoles_to_env(const struct console *c, int n, char *buf, int size);
int consoles_from_env(const char *s, struct console *out, int max);

#endif
