/* The kernel's ip= parameter (Documentation/admin-guide/nfs/nfsroot.rst), which Debian's kernel
 * does not act on (no IP autoconfiguration built in): lifeboat parses it and applies it itself.
 * Pure: no I/O, so every form is unit-tested and fuzzed. */
#ifndef LB_NET_IPCFG_H
#define LB_NET_IPCFG_H

#include <netinet/in.h>

enum ipcfg_mode {
	IPCFG_DHCP,   /* dhcp, on, any, both, bootp, rarp, or an empty autoconf field */
	IPCFG_STATIC, /* off/none with a client address */
	IPCFG_OFF,    /* ip=off or ip=none alone: no network at all on that device (or any) */
};

struct ipcfg {
	enum ipcfg_mode mode;
	struct in_addr client, server, gw, netmask, dns[2];
	int prefix;           /* from netmask (or the class default), 0..32; -1 when unknown */
	char host[65];
	char dev[16];         /* "" : any (the first wired interface that gets a carrier) */
};

/* Parse one ip= value. Returns 0, or -EINVAL with *why set to a static explanation. */
int ipcfg_parse(const char *val, struct ipcfg *c, const char **why);
/* Prefix length of a netmask, or -1 when it is not contiguous. */
int ipcfg_prefix(struct in_addr mask);

#endif
