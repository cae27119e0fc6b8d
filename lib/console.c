#include "lib/console.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "lib/util.h"

static int is_serial_name(const char *n)
{
	return startswith(n, "ttyS") || startswith(n, "ttyAMA") || startswith(n, "ttyUSB") ||
	       startswith(n, "hvc") || startswith(n, "ttyACM") || startswith(n, "ttysclp") ||
	       startswith(n, "xvc");
}

static void fill(struct console *c, const char *name)
{
	snprintf(c->path, sizeof(c->path), "/dev/%s", name);
	c->serial = is_serial_name(name);
	c->term = c->serial ? "vt102" : "linux";
}

int consoles_find(const char *class_tty, struct console *out, int max)
{
	char *text = NULL;
	int n = 0;
	char *active = xasprintf("%s/console/active", class_tty);
	char *tty0 = xasprintf("%s/tty0/active", class_tty);
	if (read_file_at(AT_FDCWD, active, 4096, &text) >= 0) {
		char *save;
		for (char *w = strtok_r(text, " \t\n", &save); w && n < max; w = strtok_r(NULL, " \t\n", &save)) {
			char name[32];
			snprintf(name, sizeof(name), "%s", w);
			if (!strcmp(name, "tty0")) {
				/* tty0 is "whichever VT is in front": talk to that VT itself. */
				char *vt = NULL;
				if (read_file_at(AT_FDCWD, tty0, 64, &vt) >= 0) {
					snprintf(name, sizeof(name), "%s", rstrip(vt));
					free(vt);
				} else {
					snprintf(name, sizeof(name), "tty1");
				}
			}
			int dup = 0;
			for (int i = 0; i < n; i++)
				dup |= !strcmp(out[i].path + 5, name);
			if (!dup && strchr(name, '/') == NULL && name[0])
				fill(&out[n++], name);
		}
		free(text);
	}
	free(active);
	free(tty0);
	if (n == 0 && max > 0) {
		snprintf(out[0].path, sizeof(out[0].path), "/dev/console");
		out[0].serial = 0;
		out[0].term = "linux";
		n = 1;
	}
	return n;
}

int console_setup(int fd, int serial)
{
	struct termios t;
	if (tcgetattr(fd, &t) < 0)
		return -errno;
	/* Keep the speed the kernel's console= set; fix everything a previous user may have left. */
	t.c_iflag = ICRNL | IXON | IUTF8 | BRKINT;
	t.c_oflag = OPOST | ONLCR;
	t.c_cflag = (t.c_cflag & (CBAUD | CBAUDEX)) | CS8 | CREAD | HUPCL;
	if (serial)
		t.c_cflag |= CLOCAL;
	t.c_lflag = ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN;
	t.c_cc[VINTR] = 3;
	t.c_cc[VQUIT] = 28;
	t.c_cc[VERASE] = 127;
	t.c_cc[VKILL] = 21;
	t.c_cc[VEOF] = 4;
	t.c_cc[VSUSP] = 26;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(fd, TCSANOW, &t) < 0)
		return -errno;
	return 0;
}

int console_open(const struct console *c)
{
	int fd = open(c->path, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	/* O_NONBLOCK only so a serial line without carrier cannot hang the open itself. */
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	return fd;
}

void consoles_to_env(const struct console *c, int n, char *buf, int size)
{
	int off = 0;
	buf[0] = 0;
	for (int i = 0; i < n && off < size; i++)
		off += snprintf(buf + off, (size_t)(size - off), "%s%s:%c", i ? " " : "", c[i].path,
				c[i].serial ? 's' : 'v');
}

int consoles_from_env(const char *s, struct console *out, int max)
{
	int n = 0;
	char *copy = xstrdup(s ? s : ""), *save;
	for (char *w = strtok_r(copy, " ", &save); w && n < max; w = strtok_r(NULL, " ", &save)) {
		char *colon = strrchr(w, ':');
		if (!colon || !startswith(w, "/dev/"))
			continue;
		*colon = 0;
		snprintf(out[n].path, sizeof(out[n].path), "%s", w);
		out[n].serial = colon[1] == 's';
		out[n].term = out[n].serial ? "vt102" : "linux";
		n++;
	}
	free(copy);
	return n;
}

/* fds whose last wait ran out; fds above 63 are always waited on (PID 1's are low numbers). */
static unsigned long long stalled;

int console_write(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	unsigned long long bit = fd >= 0 && fd < 64 ? 1ULL << fd : 0;
	long long deadline = (bit & stalled) ? 0 : now_ms() + CONSOLE_WAIT_MS;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n >= 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		long long left = deadline - now_ms();
		struct pollfd pfd = {.fd = fd, .events = POLLOUT};
		if (left <= 0 || (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)) {
			stalled |= bit;
			return -EAGAIN;
		}
	}
	stalled &= ~bit;
	return 0;
}
