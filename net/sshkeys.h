/* Authorized keys for the SSH server, from the three places they come from: built into the
 * image (make AUTHORIZED_KEYS=FILE), carried from the host by kexec-boot, and the kernel command
 * line. Parsing is pure; remote_collect_keys() in net/remote.h writes the file dropbear reads. */
#ifndef LB_NET_SSHKEYS_H
#define LB_NET_SSHKEYS_H

#include <stddef.h>

/* lifeboat.authorized_key=TYPE:BASE64[,TYPE:BASE64...]: an OpenSSH public key with its one
 * space written as ':' and no comment, so that no boot loader splits or unquotes it (GRUB,
 * systemd-boot, PXELINUX and iPXE all pass such a word untouched). Appends "TYPE BASE64
 * lifeboat.authorized_key\n" for each key to *out (malloc'd, may be NULL on entry). Returns the
 * number of keys, or -EINVAL (nothing appended) when one is malformed. */
int sshkeys_from_cmdline(const char *val, char **out);
/* How many lines of an authorized_keys text hold a key (not blank, not a comment). */
int sshkeys_count(const char *text);

#endif
