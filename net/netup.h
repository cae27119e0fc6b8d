/* Bringing interfaces up: which ones are wired, their MAC addresses, and the busybox tools that
 * change them (ip, udhcpc), each run in a child with a deadline. */
#ifndef LB_NET_NETUP_H
#define LB_NET_NETUP_H

#include <sys/types.h>

#include "net/hostnet.h"
#include "net/ipcfg.h"

#define NET_MAX_IFS 16
/* The script udhcpc runs on each lease event (initramfs/etc/udhcpc.script). */
#define UDHCPC_SCRIPT "/etc/lifeboat/udhcpc.script"

/* Names of the wired interfaces under sysroot/class/net (normally "/sys"): those backed by a
 * device, not wireless, not loopback, bridge or tunnel. Returns how many (at most max). */
int net_wired(const char *sysroot, char names[][16], int max);
/* The MAC address of dev in lowercase; -errno. */
int net_mac(const char *sysroot, const char *dev, char *mac, size_t size);
/* Start argv (argv[0] a path) with stdout and stderr into the log file: the console shows the
 * menu. Returns the pid or -errno. */
pid_t net_spawn_quiet(char *const *argv);
/* Run `ip ARGS...` (busybox) with a deadline; 0 or -errno/-EIO. */
int net_ip(const char *const *args);
/* Start udhcpc in the foreground on dev (it keeps renewing); returns its pid or -errno. */
pid_t net_dhcp_start(const char *dev);
/* Apply an ip= static configuration to dev. */
int net_apply_static(const char *dev, const struct ipcfg *c);
/* Apply the host's addresses and routes (hostnet_plan) to dev. Returns how many failed. */
int net_apply_host(const char *dev, const struct hostnet *p);
/* Take every address off dev and set it down, so a kexec'd kernel starts clean. */
void net_flush(const char *dev);

#endif
