/* The consoles lifeboat talks on: every console the kernel lists as active, opened as its real
 * tty (tty0 means the foreground virtual terminal), with sane settings for serial lines. */
#ifndef LB_CONSOLE_H
#define LB_CONSOLE_H

#define MAX_CONSOLES 8

#include <stddef.h>

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
/* Write all of buf to a console fd that PID 1 keeps non-blocking. A full output buffer (a slow
 * UART behind a burst of menu output) is waited out, at most CONSOLE_WAIT_MS per call; a console
 * that stayed full that long (Ctrl-S, a stalled line) is not waited on again until a write gets
 * through whole, so a stuck console costs PID 1 one wait, not one per line. Returns 0 or -errno
 * (-EAGAIN when the rest was dropped). */
#define CONSOLE_WAIT_MS 250
int console_write(int fd, const void *buf, size_t len);
/* Encode/decode the console list for children: "ttyS0:s tty1:v". */
void consoles_to_env(const struct console *c, int n, char *buf, int size);
int consoles_from_env(const char *s, struct console *out, int max);

#endif
