#include "lib/console.h"
#include "lib/layout.h"
#include "lib/log.h"
#include "lib/escape.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int log_fd = -1, kmsg_fd = -1, echo_stderr = 1, debug, early, echo_below;
static int console_fds[8], n_consoles;

/* Lines logged by PID 1 before /run and /dev exist, written out once they do. */
static struct {
	int level;
	long long ms;
	char msg[160];
} held[24];
static int n_held;

static void emit(int level, long long ms, const char *msg, int n);

void log_early(void)
{
	early = 1;
	echo_stderr = 0;
}

void log_open(int to_stderr)
{
	echo_stderr = to_stderr;
	if (log_fd < 0) {
		mkdir_p(RUN_DIR, 0755);
		log_fd = open(LOG_PATH, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
	}
	if (kmsg_fd < 0)
		kmsg_fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC | O_NOCTTY);
	early = 0;
	for (int i = 0; i < n_held; i++)
		emit(held[i].level, held[i].ms, held[i].msg, (int)strlen(held[i].msg));
	n_held = 0;
}

void log_set_debug(int on) { debug = on; }
void log_set_echo_below(int level) { echo_below = level; }
int log_debug_enabled(void) { return debug; }

void log_set_consoles(const int *fds, int n)
{
	if (n > (int)ARRAY_SIZE(console_fds))
		n = ARRAY_SIZE(console_fds);
	memcpy(console_fds, fds, sizeof(int) * (size_t)n);
	n_consoles = n;
}

/* The kernel prints kmsg lines below its console loglevel on every console itself; printing
 * them again would show each twice. */
static int kernel_echoes(int level)
{
	char *s = NULL;
	if (kmsg_fd < 0 || read_file_at(AT_FDCWD, "/proc/sys/kernel/printk", 64, &s) < 0)
		return 0;
	int console_level = atoi(s);
	free(s);
	return level < console_level;
}

static void emit(int level, long long ms, const char *msg, int n)
{
	const char *tag = level <= LOG_ERR ? "error: " : level == LOG_WARN ? "warning: " : "";
	char line[1200];
	int l = snprintf(line, sizeof(line), "[%5lld.%03lld] %s%s\n", ms / 1000, ms % 1000, tag, msg);
	if (l > (int)sizeof(line) - 1)
		l = sizeof(line) - 1;
	if (log_fd >= 0)
		write_all(log_fd, line, (size_t)l);
	if (kmsg_fd >= 0) {
		char k[1200];
		int kl = snprintf(k, sizeof(k), "<%d>lifeboat[%d]: %s%s\n", level, (int)getpid(), tag, msg);
		if (kl > (int)sizeof(k) - 1)
			kl = sizeof(k) - 1;
		write_all(kmsg_fd, k, (size_t)kl);
	}
	if (echo_stderr) {
		write_all(2, "lifeboat: ", 10);
		write_all(2, tag, strlen(tag));
		write_all(2, msg, (size_t)n);
		write_all(2, "\n", 1);
	} else if ((level <= LOG_WARN || level < echo_below || debug) && !kernel_echoes(level)) {
		int cl = snprintf(line, sizeof(line), "lifeboat: %s%.*s\r\n", tag, n, msg);
		if (cl > (int)sizeof(line) - 1)
			cl = sizeof(line) - 1;
		for (int i = 0; i < n_consoles; i++)
			console_write(console_fds[i], line, (size_t)cl);
	}
}

void log_msg(int level, const char *fmt, ...)
{
	if (level == LOG_DEBUG && !debug)
		return;
	int saved = errno;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;
	/* Messages carry strings from disks (labels, host names, a tool's output) and go to
	 * consoles and to the log the menu shows: no raw control byte gets through, whatever
	 * the caller forgot to escape (lib/escape.h's term_escape, without the width). */
	char clean[sizeof(msg)];
	n = (int)strlen(term_escape(msg, clean, sizeof(clean), 0));
	memcpy(msg, clean, (size_t)n + 1);
	if (early && log_fd < 0) {
		if (n_held < (int)ARRAY_SIZE(held)) {
			held[n_held].level = level;
			held[n_held].ms = now_ms();
			size_t c = (size_t)n < sizeof(held[n_held].msg) ? (size_t)n : sizeof(held[n_held].msg) - 1;
			memcpy(held[n_held].msg, msg, c);
			held[n_held].msg[c] = 0;
			n_held++;
		}
		errno = saved;
		return;
	}
	emit(level, now_ms(), msg, n);
	errno = saved;
}
