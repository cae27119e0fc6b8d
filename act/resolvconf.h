/* The entered system's etc/resolv.conf gets the rescue system's name servers without any path
 * of the target reaching outside it: its whole symlink chain (often /etc/resolv.conf ->
 * /etc/static/resolv.conf or -> /run/systemd/resolve/stub-resolv.conf) is resolved inside the
 * root, the end file is bind-mounted over (existing) or created (missing). */
#ifndef LB_RESOLVCONF_H
#define LB_RESOLVCONF_H

#include <stddef.h>

/* Follow etc/resolv.conf's symlinks inside rootfd; out gets the in-root path of the last link's
 * target (which may not exist). Returns 0, or -ELOOP after 40 links, or -errno. */
int resolvconf_resolve(int rootfd, char *out, size_t size);
/* Put content (our resolv.conf, from the file `ours`) in place inside rootfd. Returns 1 when
 * bound over an existing file, 2 when created, 0 when we have nothing to give, or -errno. */
int resolvconf_install(int rootfd, const char *ours);

#endif
