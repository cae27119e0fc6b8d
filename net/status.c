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

/* Up to three IPv4 addresses as " eth0 10.0.2.15/24"; the first one's address in first. */
static int addresses(FILE *f, char *first, size_t size)
{
	struct ifaddrs *ifa = NULL;
	int shown = 0;
	if (getifaddrs(&ifa) < 0)
		return 0;
	for (struct ifaddrs *i = ifa; i && shown < 3; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || (i->ifa_flags & IFF_LOOPBACK))
			continue;
		char a[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, a, sizeof(a));
		int prefix = i->ifa_netmask ? __builtin_popcount(((struct sockaddr_in *)i->ifa_netmask)->sin_addr.s_addr) : 0;
		/* Interface names come from drivers and could hold anything: keep them printable. */
		char name[16];
		size_t k = 0;
		for (const char *p = i->ifa_name; *p && k < 15; p++)
			name[k++] = (*p > ' ' && *p < 127) ? *p : '?';
		name[k] = 0;
		fprintf(f, " %s %s/%d", name, a, prefix);
		if (!shown++)
			snprintf(first, size, "%s", a);
	}
	freeifaddrs(ifa);
	return shown;
}

size_t remote_status(char *buf, size_t size)
{
	buf[0] = 0;
	char *state = NULL;
	if (read_file_at(AT_FDCWD, SSH_STATE, 4096, &state) < 0)
		return 0;
	FILE *f = fmemopen(buf, size, "w");
	if (!f) {
		free(state);
		return 0;
	}
	if (startswith(state, "off")) {
		fputs("Network: off (lifeboat.net=off)\n", f);
	} else {
		char first[INET_ADDRSTRLEN] = "", ifs[NET_MAX_IFS][16];
		fputs("Network:", f);
		int shown = addresses(f, first, sizeof(first));
		fputs(shown ? "\n" : net_wired("/sys", ifs, NET_MAX_IFS) ? " no address yet (DHCP runs in the background)\n"
									  : " no wired interface found\n", f);
		if (startswith(state, "nokey"))
			fputs("SSH: off, no authorized key (AUTHORIZED_KEYS=, lifeboat.authorized_key=)\n", f);
		else if (startswith(state, "on"))
			fprintf(f, "SSH: ssh root@%s\n", shown ? first : "ADDRESS");
	}
	free(state);
	fclose(f);
	return strlen(buf);
}
