#include "net/ipcfg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

int ipcfg_prefix(struct in_addr mask)
{
	unsigned m = ntohl(mask.s_addr);
	int n = 0;
	while (n < 32 && (m & (0x80000000u >> n)))
		n++;
	/* Every bit after the first zero must be zero too. */
	if (n < 32 && (m << n))
		return -1;
	return n;
}

static int addr(const char *s, size_t len, struct in_addr *out)
{
	char buf[INET_ADDRSTRLEN];
	out->s_addr = 0;
	if (!len)
		return 0;
	if (len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = 0;
	return inet_pton(AF_INET, buf, out) == 1 ? 0 : -EINVAL;
}

static int is_dhcp_word(const char *s, size_t len)
{
	static const char *w[] = {"dhcp", "on", "any", "both", "bootp", "rarp", "dhcp6", "auto6"};
	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		if (strlen(w[i]) == len && !strncmp(s, w[i], len))
			return 1;
	return 0;
}

static int is_off_word(const char *s, size_t len)
{
	return (len == 3 && !strncmp(s, "off", 3)) || (len == 4 && !strncmp(s, "none", 4));
}

int ipcfg_parse(const char *val, struct ipcfg *c, const char **why)
{
	memset(c, 0, sizeof(*c));
	c->prefix = -1;
	*why = NULL;
	if (!val || !*val) {
		*why = "empty value";
		return -EINVAL;
	}
	size_t vlen = strlen(val);
	/* The short forms: ip=dhcp, ip=off... without any colon. */
	if (!strchr(val, ':')) {
		if (is_dhcp_word(val, vlen)) {
			c->mode = IPCFG_DHCP;
			return 0;
		}
		if (is_off_word(val, vlen)) {
			c->mode = IPCFG_OFF;
			return 0;
		}
	}
	/* client:server:gw:netmask:hostname:device:autoconf:dns0:dns1:ntp0 */
	const char *f[10] = {0};
	size_t fl[10] = {0};
	int n = 0;
	const char *p = val;
	for (;;) {
		const char *e = strchr(p, ':');
		if (n == 10) {
			*why = "more than 10 fields";
			return -EINVAL;
		}
		f[n] = p;
		fl[n] = e ? (size_t)(e - p) : strlen(p);
		n++;
		if (!e)
			break;
		p = e + 1;
	}
	if (addr(f[0], fl[0], &c->client) < 0 || (n > 1 && addr(f[1], fl[1], &c->server) < 0) ||
	    (n > 2 && addr(f[2], fl[2], &c->gw) < 0) || (n > 3 && addr(f[3], fl[3], &c->netmask) < 0) ||
	    (n > 7 && addr(f[7], fl[7], &c->dns[0]) < 0) || (n > 8 && addr(f[8], fl[8], &c->dns[1]) < 0)) {
		*why = "an address field is not an IPv4 address";
		return -EINVAL;
	}
	if (n > 4) {
		if (fl[4] >= sizeof(c->host)) {
			*why = "host name too long";
			return -EINVAL;
		}
		memcpy(c->host, f[4], fl[4]);
		for (size_t i = 0; i < fl[4]; i++)
			if (!(c->host[i] == '-' || c->host[i] == '.' || (c->host[i] >= '0' && c->host[i] <= '9') ||
			      ((c->host[i] | 32) >= 'a' && (c->host[i] | 32) <= 'z'))) {
				*why = "host name has characters other than letters, digits, '-' and '.'";
				return -EINVAL;
			}
	}
	if (n > 5) {
		if (fl[5] >= sizeof(c->dev) || memchr(f[5], '/', fl[5]) || (fl[5] && f[5][0] == '.')) {
			*why = "not an interface name";
			return -EINVAL;
		}
		memcpy(c->dev, f[5], fl[5]);
	}
	/* The kernel: an autoconf field that is empty or names a protocol means autoconfiguration;
	 * off/none means static. Without a client address, static makes no sense. */
	const char *ac = n > 6 ? f[6] : "";
	size_t acl = n > 6 ? fl[6] : 0;
	if (!acl || is_dhcp_word(ac, acl))
		c->mode = c->client.s_addr && acl ? IPCFG_DHCP : c->client.s_addr ? IPCFG_STATIC : IPCFG_DHCP;
	else if (is_off_word(ac, acl))
		c->mode = c->client.s_addr ? IPCFG_STATIC : IPCFG_OFF;
	else {
		*why = "autoconf is not one of off, none, on, any, dhcp, bootp, rarp, both";
		return -EINVAL;
	}
	if (c->mode == IPCFG_STATIC) {
		if (c->netmask.s_addr) {
			c->prefix = ipcfg_prefix(c->netmask);
			if (c->prefix < 0) {
				*why = "the netmask is not contiguous";
				return -EINVAL;
			}
		} else {
			/* As the kernel does: the class of the address decides. */
			unsigned a = ntohl(c->client.s_addr) >> 24;
			c->prefix = a < 128 ? 8 : a < 192 ? 16 : 24;
		}
	}
	return 0;
}
