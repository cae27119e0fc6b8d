/* The host's network, as kexec-boot recorded it in /etc/lifeboat/host/ (`ip -o link`,
 * `ip -o addr`, `ip route` output): the plan for the interface with a given MAC address. Pure:
 * text in, plan out; net/netup.c applies it. */
#ifndef LB_NET_HOSTNET_H
#define LB_NET_HOSTNET_H

#define HOSTNET_MAX 16
#define HOSTNET_TOKENS 12

struct hostnet {
	char host_dev[16];               /* the interface's name on the host */
	int dhcp;                        /* the host got its IPv4 address by DHCP */
	int n_addr;
	char addr[HOSTNET_MAX][64];      /* static addresses with prefix: "192.0.2.7/32", "2001:db8::7/64" */
	int n_route;
	/* Each route as `ip route add` arguments, dev already renamed; routes without a gateway
	 * come first, so that an on-link gateway (a /32 cloud address) is reachable before the
	 * default route through it is added. */
	int route_v6[HOSTNET_MAX];
	char route[HOSTNET_MAX][HOSTNET_TOKENS][64];
	int route_n[HOSTNET_MAX];
};

/* Fill plan for the host interface whose MAC is mac (lowercase "52:54:00:12:34:56"), routes
 * named for local dev. Returns 1 when the host had such an interface, 0 when not. Any text
 * argument may be NULL (file missing). */
int hostnet_plan(const char *links, const char *addrs, const char *routes, const char *mac,
		 const char *dev, struct hostnet *plan);

#endif
