/* The menu's terminals: every console at once until a key is pressed on one of them, which then
 * drives the menu. Input is read a key at a time (arrows included); output is plain ASCII lines,
 * so a dumb serial line works as well as a screen. */
#ifndef LB_TERM_H
#define LB_TERM_H

#include "lib/console.h"

enum {
	KEY_NONE = 0,
	KEY_ENTER = 1000,
	KEY_UP,
	KEY_DOWN,
	KEY_BACKSPACE,
	KEY_CTRL_C,
	KEY_CTRL_L,
	KEY_EOF,
};

struct terms {
	struct console cons[MAX_CONSOLES];
	int fd[MAX_CONSOLES];
	int n;
	int driver;          /* index of the console that drives the menu, -1 until a key */
	int esc[MAX_CONSOLES]; /* escape-sequence state per console */
	int reopened[MAX_CONSOLES]; /* hangups in a row without a key in between */
};

/* Open the consoles PID 1 passed in $LIFEBOAT_CONSOLES (else stdin's tty) in key-at-a-time mode. */
int terms_open(struct terms *t);
/* Put every console back in cooked mode (before a shell runs on one) and reopen key mode. */
void terms_cooked(struct terms *t);
void terms_raw(struct terms *t);
/* Open every console afresh (a session that ran on one hung it up when it ended), in key mode. */
void terms_reopen(struct terms *t);
/* Print to the driving console, or to every console while none drives. */
void terms_printf(struct terms *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void terms_write(struct terms *t, const char *s, int len);
/* Wait up to timeout_ms (-1: forever) for one key on any console. Returns the key (a character
 * or KEY_*), KEY_NONE on timeout; *from is the console it came from. */
int terms_key(struct terms *t, int timeout_ms, int *from);
/* The console path a child (shell, enter) should run on: the driver's, or the first. */
const char *terms_tty(const struct terms *t);
const char *terms_term(const struct terms *t);

#endif
