#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int log_fd = -1, kmsg_fd = -1, echo_stderr = 1, debug;
static int console_fds[8], n_consoles;

void log_open(int to_stderr)
{
	echo_stderr = to_stderr;
	if (log_fd < 0) {
		mkdir_p("/run/lifeboat", 0755);
		log_fd = open(LOG_PATH, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
	}
	if (kmsg_fd < 0)
		kmsg_fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC | O_NOCTTY);
}

void log_set_debug(int on) { debug = on; }
int log_debug_enabled(void) { return debug; }

void log_set_consoles(const int *fds, int n)
{
	if (n > (int)ARRAY_SIZE(console_fds))
		n = ARRAY_SIZE(console_fds);
	memcpy(console_fds, fds, sizeof(int) * (size_t)n);
	n_consoles = n;
}

void log_msg(int level, const char *fmt, ...)
{
	if (level == LOG_DEBUG && !debug)
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;
	long long ms = now_ms();
	const char *tag = level <= LOG_ERR ? "error: " : level == LOG_WARN ? "warning: " : "";
	char line[1200];
	int l = snprintf(line, sizeof(line), "[%5lld.%03lld] %s%s\n", ms / 1000, ms % 1000, tag, msg);
	if (l > (int)sizeof(line) - 1)
		l = sizeof(line) - 1;
	if (log_fd >= 0)
		write_all(log_fd, line, (size_t)l);
	if (kmsg_fd >= 0) {
		char k[1200];
		/* Debug lines go to kmsg at debug level so a quiet kernel does not print them twice. */
		int kl = snprintf(k, sizeof(k), "<%d>lifeboat[%d]: %s%s\n", level, (int)getpid(), tag, msg);
		if (kl > (int)sizeof(k) - 1)
			kl = sizeof(k) - 1;
		write_all(kmsg_fd, k, (size_t)kl);
	}
	if (echo_stderr || (debug && level == LOG_DEBUG)) {
		write_all(2, "lifeboat: ", 10);
		write_all(2, tag, strlen(tag));
		write_all(2, msg, (size_t)n);
		write_all(2, "\n", 1);
	} else if (level <= LOG_WARN) {
		for (int i = 0; i < n_consoles; i++) {
			write_all(console_fds[i], "lifeboat: ", 10);
			write_all(console_fds[i], tag, strlen(tag));
			write_all(console_fds[i], msg, (size_t)n);
			write_all(console_fds[i], "\r\n", 2);
		}
	}
}
