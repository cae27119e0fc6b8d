#include "net/hostnet.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/util.h"

/* Split one line into at most max whitespace-separated words of at most 63 characters (longer
 * words are cut: none that matters here is that long). `ip -o` marks its folded line ends with
 * a backslash: that is a separator too. */
static int words(const char *line, size_t len, char w[][64], int max)
{
	int n = 0;
	size_t i = 0;
	while (i < len && n < max) {
		while (i < len && (isspace((unsigned char)line[i]) || line[i] == '\\'))
			i++;
		if (i >= len)
			break;
		size_t s = i;
		while (i < len && !isspace((unsigned char)line[i]) && line[i] != '\\')
			i++;
		size_t l = i - s < 63 ? i - s : 63;
		memcpy(w[n], line + s, l);
		w[n][l] = 0;
		n++;
	}
	return n;
}

/* Call fn on each line of text. */
static void lines(const char *text, void (*fn)(const char *, size_t, void *), void *ctx)
{
	while (text && *text) {
		const char *e = strchr(text, '\n');
		size_t l = e ? (size_t)(e - text) : strlen(text);
		fn(text, l, ctx);
		text += l + (e ? 1 : 0);
	}
}

/* An address or prefix, parsed: "10.0.2.77/24", "2001:db8::/64", "10.0.2.2" (a whole /32). */
struct net {
	int v6, len;
	unsigned char a[16];
};

static int net_parse(const char *s, struct net *n)
{
	char buf[64];
	snprintf(buf, sizeof(buf), "%s", s);
	char *slash = strchr(buf, '/');
	if (slash)
		*slash++ = 0;
	n->v6 = strchr(buf, ':') != NULL;
	int max = n->v6 ? 128 : 32;
	if (inet_pton(n->v6 ? AF_INET6 : AF_INET, buf, n->a) != 1)
		return -EINVAL;
	n->len = max;
	if (slash) {
		char *end;
		long l = strtol(slash, &end, 10);
		if (end == slash || *end || l < 0 || l > max)
			return -EINVAL;
		n->len = (int)l;
	}
	return 0;
}

/* Whether a and b agree on their first len bits. */
static int same_prefix(const unsigned char *a, const unsigned char *b, int len)
{
	int whole = len / 8, rest = len % 8;
	if (memcmp(a, b, (size_t)whole))
		return 0;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return !rest || !((a[whole] ^ b[whole]) & mask);
}

struct ctx {
	const char *mac, *dev;
	struct hostnet *p;
	int found;
	int pass; /* routes: 0 those without a gateway, 1 the others */
	int n_own;
	struct net own[HOSTNET_MAX]; /* every address of the host's interface, any origin */
};

/* A route the kernel makes by itself for one of the interface's addresses (its prefix, on
 * link). iproute2 marks it "proto kernel"; busybox ip prints no proto at all, so it is known
 * by its destination. */
static int prefix_route(const struct ctx *c, const char *dst)
{
	struct net d;
	if (net_parse(dst, &d) < 0)
		return 0;
	for (int i = 0; i < c->n_own; i++) {
		const struct net *o = &c->own[i];
		if (o->v6 == d.v6 && o->len == d.len && o->len < (o->v6 ? 128 : 32) &&
		    same_prefix(o->a, d.a, d.len))
			return 1;
	}
	return 0;
}

/* "2: eth0: <...> mtu 1500 ... link/ether 52:54:00:12:34:56 brd ..." (an "eth0@if3" name too). */
static void link_line(const char *l, size_t len, void *vc)
{
	struct ctx *c = vc;
	char w[40][64];
	int n = words(l, len, w, 40);
	if (n < 2 || c->found)
		return;
	for (int i = 2; i + 1 < n; i++)
		if (!strcmp(w[i], "link/ether") && !strcasecmp(w[i + 1], c->mac)) {
			char *name = w[1];
			name[strcspn(name, ":@")] = 0;
			snprintf(c->p->host_dev, sizeof(c->p->host_dev), "%.15s", name);
			c->found = 1;
			return;
		}
}

/* "2: eth0    inet 10.0.2.15/24 brd 10.0.2.255 scope global dynamic eth0 ..." */
static void addr_line(const char *l, size_t len, void *vc)
{
	struct ctx *c = vc;
	char w[40][64];
	int n = words(l, len, w, 40);
	if (n < 4)
		return;
	char *name = w[1];
	name[strcspn(name, ":@")] = 0;
	if (strcmp(name, c->p->host_dev) || (strcmp(w[2], "inet") && strcmp(w[2], "inet6")))
		return;
	if (c->n_own < HOSTNET_MAX && net_parse(w[3], &c->own[c->n_own]) == 0)
		c->n_own++;
	int dynamic = 0, global = 0;
	for (int i = 4; i < n; i++) {
		dynamic |= !strcmp(w[i], "dynamic");
		global |= i + 1 < n && !strcmp(w[i], "scope") && !strcmp(w[i + 1], "global");
	}
	/* Link-local and host-scope addresses come back by themselves. */
	if (!global)
		return;
	if (dynamic) {
		/* A dynamic IPv6 address is SLAAC's, which the kernel redoes itself. */
		if (!strcmp(w[2], "inet"))
			c->p->dhcp = 1;
		return;
	}
	if (!strchr(w[3], '/') || c->p->n_addr >= HOSTNET_MAX)
		return;
	snprintf(c->p->addr[c->p->n_addr++], sizeof(c->p->addr[0]), "%s", w[3]);
}

/* "default via 10.0.0.1 dev eth0 proto static metric 100", "10.0.0.1 dev eth0 scope link" */
static void route_line(const char *l, size_t len, void *vc)
{
	struct ctx *c = vc;
	char w[40][64];
	int n = words(l, len, w, 40);
	struct hostnet *p = c->p;
	if (n < 3 || p->n_route >= HOSTNET_MAX)
		return;
	/* Only unicast routes (no "local", "broadcast", "unreachable" type word first). */
	if (!strcmp(w[0], "local") || !strcmp(w[0], "broadcast") || !strcmp(w[0], "unreachable") ||
	    !strcmp(w[0], "multicast") || !strcmp(w[0], "anycast") || !strcmp(w[0], "blackhole") ||
	    !strcmp(w[0], "prohibit") || !strcmp(w[0], "throw"))
		return;
	int on_dev = 0, via = 0, skip = 0;
	for (int i = 1; i < n; i++) {
		/* A route with a lifetime was learned (a router advertisement): it is learned again. */
		skip |= !strcmp(w[i], "expires");
		if (i + 1 >= n)
			break;
		on_dev |= !strcmp(w[i], "dev") && !strcmp(w[i + 1], p->host_dev);
		via |= !strcmp(w[i], "via");
		/* The kernel adds the prefix routes of addresses by itself; DHCP adds its own. */
		if (!strcmp(w[i], "proto"))
			skip |= !strcmp(w[i + 1], "kernel") || (p->dhcp && !strcmp(w[i + 1], "dhcp")) ||
				!strcmp(w[i + 1], "ra");
	}
	int v6 = strchr(w[0], ':') != NULL;
	for (int i = 1; i + 1 < n; i++)
		if (!strcmp(w[i], "via") || !strcmp(w[i], "src"))
			v6 |= strchr(w[i + 1], ':') != NULL;
	/* A DHCP host's IPv4 default route comes from the lease again. */
	if (p->dhcp && !v6 && !strcmp(w[0], "default"))
		skip = 1;
	if (!on_dev || skip || via != c->pass || (v6 && !strncmp(w[0], "fe80:", 5)))
		return;
	if (!via && prefix_route(c, w[0]))
		return;
	int k = 0;
	char (*out)[64] = p->route[p->n_route];
	snprintf(out[k++], 64, "%s", w[0]);
	for (int i = 1; i < n && k + 2 <= HOSTNET_TOKENS; i++) {
		/* Only the words that say where packets go; the rest (proto, expires, linkdown...) are
		 * the host's bookkeeping. */
		if (i + 1 < n && (!strcmp(w[i], "via") || !strcmp(w[i], "src") || !strcmp(w[i], "metric") ||
				  !strcmp(w[i], "scope") || !strcmp(w[i], "mtu"))) {
			snprintf(out[k++], 64, "%s", w[i]);
			snprintf(out[k++], 64, "%s", w[i + 1]);
			i++;
		} else if (i + 1 < n && !strcmp(w[i], "dev")) {
			snprintf(out[k++], 64, "dev");
			snprintf(out[k++], 64, "%s", c->dev);
			i++;
		} else if (!strcmp(w[i], "onlink") && k < HOSTNET_TOKENS) {
			snprintf(out[k++], 64, "onlink");
		}
	}
	p->route_n[p->n_route] = k;
	p->route_v6[p->n_route] = v6;
	p->n_route++;
}

int hostnet_plan(const char *links, const char *addrs, const char *routes, const char *mac,
		 const char *dev, struct hostnet *plan)
{
	memset(plan, 0, sizeof(*plan));
	struct ctx c = {.mac = mac, .dev = dev, .p = plan};
	lines(links, link_line, &c);
	if (!c.found)
		return 0;
	lines(addrs, addr_line, &c);
	for (c.pass = 0; c.pass < 2; c.pass++)
		lines(routes, route_line, &c);
	return 1;
}
