/* Remote rescue's state, shared by `lifeboat remote` (which writes it) and the menu header
 * (which shows it): where the host's data, the keys and the server's files are. */
#ifndef LB_NET_REMOTE_H
#define LB_NET_REMOTE_H

#include <stddef.h>

#include "lib/layout.h"

/* What kexec-boot carried from the host (authorized_keys, links, addresses, routes,
 * resolv.conf, hostname, ssh_host_*_key). */
#define HOST_DATA_DIR "/etc/lifeboat/host"
/* Added without rebuilding: out/lifeboat-keys makes an initrd of its own holding
 * authorized_keys and ssh_host_*_key here, given to the kernel after the image's. */
#define ADDED_DIR "/etc/lifeboat/added"
/* Built into the image by make AUTHORIZED_KEYS=FILE and make SSH_HOST_KEYS=DIR. */
#define BUILTIN_KEYS "/etc/lifeboat/authorized_keys"
#define BUILTIN_HOST_KEYS "/etc/lifeboat/ssh_host_keys"
#define DROPBEAR_BIN "/sbin/dropbearmulti"
#define AUTHORIZED_KEYS_PATH "/root/.ssh/authorized_keys"
/* Host keys in dropbear's format, converted or generated at boot. */
#define SSH_KEY_DIR RUN_DIR "/ssh"
/* "on" and a fingerprint a line while the server runs, "nokey" when no key was given, "off"
 * with lifeboat.net=off; absent before `lifeboat remote` decided. */
#define SSH_STATE RUN_DIR "/ssh-state"
#define SSH_PORT 22

/* The menu header's network lines ("Network: eth0 10.0.2.15/24" and how to connect), from the
 * interfaces' addresses now and SSH_STATE. Returns the length written. */
size_t remote_status(char *buf, size_t size);

#endif
