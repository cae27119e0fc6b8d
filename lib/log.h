/* Logging: every step with a timestamp to /run/lifeboat/log and /dev/kmsg (so dmesg shows it);
 * errors also to the consoles. Outside PID 1 (applets run from the shell) messages go to stderr. */
#ifndef LB_LOG_H
#define LB_LOG_H

#include "lib/layout.h"
#include "lib/util.h"

enum { LOG_ERR = 3, LOG_WARN = 4, LOG_INFO = 6, LOG_DEBUG = 7 };

/* PID 1 before its file systems exist: hold lines until log_open() can write them. */
void log_early(void);
/* Open the log file and /dev/kmsg; called by PID 1 once /run exists, and by children that
 * want their lines in the shared log. to_stderr: also print every line on stderr. */
void log_open(int to_stderr);
void log_set_debug(int on);
int log_debug_enabled(void);
/* Consoles that receive errors and warnings, and every line with lifeboat.debug (fds owned by
 * the caller). Lines the kernel already echoes from /dev/kmsg are not printed twice. */
void log_set_consoles(const int *fds, int n);
/* The caller lowered the kernel's console loglevel from level: its own lines below that level
 * still reach its consoles (printed by us, since the kernel no longer echoes them). */
void log_set_echo_below(int level);
void log_msg(int level, const char *fmt, ...) LB_PRINTF(2, 3);

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
