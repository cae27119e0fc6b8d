#include "net/remote.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "net/netup.h"

static size_t put(char *buf, size_t size, size_t o, const char *fmt, ...) LB_PRINTF(4, 5);
static size_t put(char *buf, size_t size, size_t o, const char *fmt, ...)
{
	if (o >= size)
		return o;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf + o, size - o, fmt, ap);
	va_end(ap);
	return n < 0 ? o : o + (size_t)n < size ? o + (size_t)n : size - 1;
}

size_t remote_status(char *buf, size_t size)
{
	size_t o = 0;
	buf[0] = 0;
	char *state = NULL;
	if (read_file_at(AT_FDCWD, SSH_STATE, 4096, &state) < 0)
		return 0;
	if (startswith(state, "off")) {
		free(state);
		return put(buf, size, o, "Network: off (lifeboat.net=off)\n");
	}
	char first[INET6_ADDRSTRLEN] = "";
	int shown = 0;
	struct ifaddrs *ifa = NULL, *i;
	o = put(buf, size, o, "Network:");
	if (getifaddrs(&ifa) == 0) {
		for (i = ifa; i && shown < 3; i = i->ifa_next) {
			if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || (i->ifa_flags & IFF_LOOPBACK))
				continue;
			char a[INET_ADDRSTRLEN];
			inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, a, sizeof(a));
			int prefix = 0;
			if (i->ifa_netmask)
				prefix = __builtin_popcount(((struct sockaddr_in *)i->ifa_netmask)->sin_addr.s_addr);
			/* Interface names come from drivers and could hold anything: keep them short and
			 * printable. */
			char name[16];
			size_t k = 0;
			for (const char *p = i->ifa_name; *p && k < 15; p++)
				name[k++] = (*p > ' ' && *p < 127) ? *p : '?';
			name[k] = 0;
			o = put(buf, size, o, " %s %s/%d", name, a, prefix);
			if (!shown)
				snprintf(first, sizeof(first), "%s", a);
			shown++;
		}
		freeifaddrs(ifa);
	}
	char ifs[NET_MAX_IFS][16];
	o = put(buf, size, o, "%s\n", shown ? "" : net_wired("/sys", ifs, NET_MAX_IFS) ? " no address yet (DHCP runs in the background)"
										 : " no wired interface found");
	if (startswith(state, "nokey"))
		o = put(buf, size, o, "SSH: off, no authorized key (AUTHORIZED_KEYS=, lifeboat.authorized_key=)\n");
	else if (startswith(state, "on"))
		o = put(buf, size, o, "SSH: ssh root@%s\n", shown ? first : "ADDRESS");
	free(state);
	return o;
}
