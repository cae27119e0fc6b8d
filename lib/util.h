/* Small helpers shared by every part of lifeboat. Error convention: functions return -errno on
 * failure and 0 (or a non-negative count) on success; only an applet's main prints and exits. */
#ifndef LB_UTIL_H
#define LB_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define LB_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* write(2) until done, retrying on EINTR and short writes. */
int write_all(int fd, const void *buf, size_t len);
/* Read a whole file (at most max bytes) relative to dirfd into a NUL-terminated malloc'd buffer.
 * Returns the length or -errno (-EFBIG when longer than max). */
ssize_t read_file_at(int dirfd, const char *path, size_t max, char **out);
/* A non-blocking netlink socket of protocol, listening to the multicast groups; -errno. */
int netlink_listen(int protocol, unsigned groups);
/* Same for an already open fd. */
ssize_t read_fd(int fd, size_t max, char **out);
/* Write a string to a file, as for sysfs/proc knobs. */
int write_file(const char *path, const char *s);
/* mkdir -p with mode; existing directories are fine. */
int mkdir_p(const char *path, mode_t mode);
/* Milliseconds on CLOCK_MONOTONIC (CLOCK_BOOTTIME when available). */
long long now_ms(void);
/* Strip trailing whitespace in place; returns s. */
char *rstrip(char *s);
/* Does s start with prefix? */
int startswith(const char *s, const char *prefix);
/* printf into a malloc'd string; NULL on failure. */
char *xasprintf(const char *fmt, ...) LB_PRINTF(1, 2);
/* malloc that never returns NULL: lifeboat aborts the (child) process instead. In PID 1 (which must not abort: that panics the kernel), the x-allocators wait for memory and
 * try again instead of aborting (the OOM killer frees memory; PID 1 is never its victim). */
void xalloc_wait_for_memory(void);
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

#endif
