#include "present/term.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "lib/util.h"

static void set_raw(int fd)
{
	struct termios tio;
	if (tcgetattr(fd, &tio) < 0)
		return;
	/* Key at a time without echo; output processing stays on so "\n" still ends a line. */
	tio.c_lflag &= ~(tcflag_t)(ICANON | ECHO | ECHOE | ECHOK | ECHONL | ISIG);
	tio.c_iflag &= ~(tcflag_t)(IXON | INLCR | IGNCR);
	tio.c_iflag |= ICRNL;
	tio.c_cc[VMIN] = 1;
	tio.c_cc[VTIME] = 0;
	tcsetattr(fd, TCSANOW, &tio);
}

int terms_open(struct terms *t)
{
	memset(t, 0, sizeof(*t));
	t->driver = -1;
	t->n = consoles_from_env(getenv("LIFEBOAT_CONSOLES"), t->cons, MAX_CONSOLES);
	int k = 0;
	for (int i = 0; i < t->n; i++) {
		int fd = console_open(&t->cons[i]);
		if (fd < 0)
			continue;
		t->cons[k] = t->cons[i];
		t->fd[k++] = fd;
	}
	t->n = k;
	if (!t->n) {
		/* Run from a shell: use our own terminal. */
		snprintf(t->cons[0].path, sizeof(t->cons[0].path), "%s", ttyname(0) ? ttyname(0) : "/dev/tty");
		t->cons[0].term = getenv("TERM") ? getenv("TERM") : "vt102";
		t->fd[0] = dup(0);
		t->n = t->fd[0] >= 0;
	}
	if (!t->n)
		return -ENODEV;
	terms_raw(t);
	return t->n;
}

void terms_raw(struct terms *t)
{
	for (int i = 0; i < t->n; i++)
		set_raw(t->fd[i]);
}

void terms_reopen(struct terms *t)
{
	for (int i = 0; i < t->n; i++) {
		int fd = console_open(&t->cons[i]);
		if (fd < 0)
			continue;
		close(t->fd[i]);
		t->fd[i] = fd;
		t->esc[i] = 0;
	}
	terms_raw(t);
}

void terms_cooked(struct terms *t)
{
	for (int i = 0; i < t->n; i++)
		console_setup(t->fd[i], t->cons[i].serial);
}

void terms_write(struct terms *t, const char *s, int len)
{
	for (int i = 0; i < t->n; i++)
		if (t->driver < 0 || t->driver == i)
			write_all(t->fd[i], s, (size_t)len);
}

void terms_printf(struct terms *t, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n >= (int)sizeof(buf))
		n = sizeof(buf) - 1;
	terms_write(t, buf, n);
}

/* Turn bytes into keys: ESC [ A / ESC O A are arrows; a lone ESC is ignored (never required). */
static int decode(struct terms *t, int i, unsigned char c)
{
	int *st = &t->esc[i];
	if (*st == 1) {
		*st = (c == '[' || c == 'O') ? 2 : 0;
		return KEY_NONE;
	}
	if (*st == 2) {
		if (c >= '0' && c <= '9')
			return KEY_NONE; /* parameters of a longer sequence */
		*st = 0;
		return c == 'A' ? KEY_UP : c == 'B' ? KEY_DOWN : KEY_NONE;
	}
	switch (c) {
	case 27: *st = 1; return KEY_NONE;
	case '\r': case '\n': return KEY_ENTER;
	case 127: case 8: return KEY_BACKSPACE;
	case 3: return KEY_CTRL_C;
	case 12: return KEY_CTRL_L;
	case 4: return KEY_EOF;
	default: return c >= 32 && c < 127 ? c : KEY_NONE;
	}
}

int terms_key(struct terms *t, int timeout_ms, int *from)
{
	long long end = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	for (;;) {
		struct pollfd p[MAX_CONSOLES];
		for (int i = 0; i < t->n; i++)
			p[i] = (struct pollfd){t->fd[i], POLLIN, 0};
		int wait = -1;
		if (end >= 0) {
			long long left = end - now_ms();
			if (left <= 0)
				return KEY_NONE;
			wait = (int)left;
		}
		int r = poll(p, (nfds_t)t->n, wait);
		if (r < 0 && errno != EINTR)
			return KEY_EOF;
		for (int i = 0; i < t->n; i++) {
			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			unsigned char c;
			ssize_t got = read(t->fd[i], &c, 1);
			if (got <= 0) {
				if (got < 0 && (errno == EINTR || errno == EAGAIN))
					break;
				/* A hangup (the session of a shell we ran on this console ended): open the
				 * console afresh; only a console that cannot be reopened is dropped. */
				int fd = console_open(&t->cons[i]);
				close(t->fd[i]);
				if (fd >= 0) {
					t->fd[i] = fd;
					set_raw(fd);
					t->esc[i] = 0;
					if (++t->reopened[i] < 100)
						break;
					close(fd);
				}
				t->fd[i] = t->fd[t->n - 1];
				t->cons[i] = t->cons[t->n - 1];
				t->reopened[i] = t->reopened[t->n - 1];
				t->n--;
				if (t->driver == i)
					t->driver = -1;
				else if (t->driver == t->n)
					t->driver = i;
				if (!t->n)
					return KEY_EOF;
				break;
			}
			t->reopened[i] = 0;
			int k = decode(t, i, c);
			if (k == KEY_NONE)
				continue;
			if (from)
				*from = i;
			return k;
		}
	}
}

const char *terms_tty(const struct terms *t)
{
	int i = t->driver >= 0 ? t->driver : 0;
	return t->n ? t->cons[i].path : "/dev/console";
}

const char *terms_term(const struct terms *t)
{
	int i = t->driver >= 0 ? t->driver : 0;
	return t->n && t->cons[i].term ? t->cons[i].term : "vt102";
}
