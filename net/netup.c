#include "net/netup.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/layout.h"
#include "lib/log.h"
#include "lib/job.h"
#include "lib/util.h"

/* An `ip` call talks to the kernel over netlink: seconds are plenty. */
#define IP_DEADLINE_MS 5000

int net_wired(const char *sysroot, char names[][16], int max)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/class/net", sysroot);
	DIR *d = opendir(path);
	if (!d)
		return 0;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < max) {
		if (e->d_name[0] == '.' || strlen(e->d_name) >= 16)
			continue;
		struct stat sb;
		/* Virtual interfaces (lo, bridges, tunnels) have no device behind them; radios have a
		 * wireless or phy80211 entry. */
		snprintf(path, sizeof(path), "%s/class/net/%s/device", sysroot, e->d_name);
		if (stat(path, &sb) < 0)
			continue;
		snprintf(path, sizeof(path), "%s/class/net/%s/wireless", sysroot, e->d_name);
		if (stat(path, &sb) == 0)
			continue;
		snprintf(path, sizeof(path), "%s/class/net/%s/phy80211", sysroot, e->d_name);
		if (stat(path, &sb) == 0)
			continue;
		snprintf(names[n++], 16, "%.15s", e->d_name);
	}
	closedir(d);
	/* readdir order is the filesystem's: sort, so that "the first interface" is stable. */
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			char t[16];
			memcpy(t, names[j], 16);
			memcpy(names[j], names[j - 1], 16);
			memcpy(names[j - 1], t, 16);
		}
	return n;
}

int net_mac(const char *sysroot, const char *dev, char *mac, size_t size)
{
	char path[512], *s = NULL;
	snprintf(path, sizeof(path), "%s/class/net/%s/address", sysroot, dev);
	ssize_t r = read_file_at(AT_FDCWD, path, 64, &s);
	if (r < 0)
		return (int)r;
	rstrip(s);
	for (char *p = s; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
	snprintf(mac, size, "%s", s);
	free(s);
	return 0;
}

/* Run argv with stdout and stderr into the log file (the console shows the menu). */
pid_t net_spawn_quiet(char *const *argv)
{
	struct spawn_opts o = {.keep_fd = -1, .quiet = 1, .out_file = LOG_PATH};
	return spawn(argv, &o);
}

int net_ip(const char *const *args)
{
	char *argv[24] = {BUSYBOX_BIN, "ip"};
	int n = 2;
	char line[512];
	size_t o = 0;
	for (int i = 0; args[i] && n < 23; i++) {
		argv[n++] = (char *)args[i];
		o += (size_t)snprintf(line + o, o < sizeof(line) ? sizeof(line) - o : 0, " %s", args[i]);
	}
	argv[n] = NULL;
	pid_t pid = net_spawn_quiet(argv);
	if (pid < 0)
		return (int)pid;
	int st = wait_timeout(pid, IP_DEADLINE_MS);
	if (st < 0)
		return st;
	int ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
	if (ok)
		log_info("net: ip%s", line);
	else
		log_warn("net: ip%s failed", line);
	return ok ? 0 : -EIO;
}

pid_t net_dhcp_start(const char *dev)
{
	/* -f: stay in the foreground (we supervise it); no -n: keep trying until a server answers,
	 * so a cable plugged in later still gets an address. */
	char *argv[] = {BUSYBOX_BIN, "udhcpc", "-f", "-i", (char *)dev, "-s", UDHCPC_SCRIPT,
			"-x", "hostname:lifeboat", NULL};
	pid_t pid = net_spawn_quiet(argv);
	if (pid > 0)
		log_info("net: DHCP on %s (udhcpc pid %d)", dev, (int)pid);
	return pid;
}

int net_apply_static(const char *dev, const struct ipcfg *c)
{
	char a[INET_ADDRSTRLEN + 4], gw[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &c->client, a, sizeof(a));
	snprintf(a + strlen(a), sizeof(a) - strlen(a), "/%d", c->prefix);
	int r = net_ip((const char *[]){"addr", "add", a, "dev", dev, NULL});
	if (c->gw.s_addr) {
		inet_ntop(AF_INET, &c->gw, gw, sizeof(gw));
		/* onlink: a gateway outside the netmask (a /32 address) is still reachable directly. */
		int g = net_ip((const char *[]){"route", "add", "default", "via", gw, "dev", dev, "onlink", NULL});
		r = r ? r : g;
	}
	return r;
}

int net_apply_host(const char *dev, const struct hostnet *p)
{
	int failed = 0;
	for (int i = 0; i < p->n_addr; i++)
		failed += net_ip((const char *[]){strchr(p->addr[i], ':') ? "-6" : "-4", "addr", "add",
						   p->addr[i], "dev", dev, NULL}) < 0;
	for (int i = 0; i < p->n_route; i++) {
		const char *args[HOSTNET_TOKENS + 4] = {p->route_v6[i] ? "-6" : "-4", "route", "add"};
		int k = 3;
		for (int j = 0; j < p->route_n[i]; j++)
			args[k++] = p->route[i][j];
		args[k] = NULL;
		failed += net_ip(args) < 0;
	}
	return failed;
}

void net_flush(const char *dev)
{
	net_ip((const char *[]){"addr", "flush", "dev", dev, NULL});
	net_ip((const char *[]){"link", "set", dev, "down", NULL});
}
