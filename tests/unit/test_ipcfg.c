/* ip= in the kernel's syntax, the host's network plan by MAC (kexec-boot's files), and
 * authorized keys from the command line. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>

#include "check.h"
#include "net/hostnet.h"
#include "net/ipcfg.h"
#include "net/sshkeys.h"

static const char *a(struct in_addr x)
{
	static char buf[4][INET_ADDRSTRLEN];
	static int i;
	i = (i + 1) % 4;
	return inet_ntop(AF_INET, &x, buf[i], sizeof(buf[i]));
}

static void test_ipcfg(void)
{
	struct ipcfg c;
	const char *why;
	CHECK_INT(ipcfg_parse("dhcp", &c, &why), 0);
	CHECK_INT(c.mode, IPCFG_DHCP);
	CHECK_STR(c.dev, "");
	CHECK_INT(ipcfg_parse("off", &c, &why), 0);
	CHECK_INT(c.mode, IPCFG_OFF);
	CHECK_INT(ipcfg_parse("none", &c, &why), 0);
	CHECK_INT(c.mode, IPCFG_OFF);

	CHECK_INT(ipcfg_parse("10.0.2.50::10.0.2.2:255.255.255.0:rescue:eth0:off", &c, &why), 0);
	CHECK_INT(c.mode, IPCFG_STATIC);
	CHECK_STR(a(c.client), "10.0.2.50");
	CHECK_STR(a(c.gw), "10.0.2.2");
	CHECK_INT(c.prefix, 24);
	CHECK_STR(c.host, "rescue");
	CHECK_STR(c.dev, "eth0");
	/* A cloud /32 with its gateway outside the mask, DNS servers in fields 8 and 9. */
	CHECK_INT(ipcfg_parse("203.0.113.7::172.31.1.1:255.255.255.255::ens3:none:1.1.1.1:9.9.9.9", &c, &why), 0);
	CHECK_INT(c.prefix, 32);
	CHECK_STR(a(c.dns[0]), "1.1.1.1");
	CHECK_STR(a(c.dns[1]), "9.9.9.9");
	/* No autoconf field with an address: static; without a netmask the class decides. */
	CHECK_INT(ipcfg_parse("192.168.1.9", &c, &why), 0);
	CHECK_INT(c.mode, IPCFG_STATIC);
	CHECK_INT(c.prefix, 24);
	CHECK_INT(ipcfg_parse("10.1.2.3:::::eth1", &c, &why), 0);
	CHECK_INT(c.prefix, 8);
	CHECK_STR(c.dev, "eth1");
	/* DHCP on one named device. */
	CHECK_INT(ipcfg_parse(":::::eth1:dhcp", &c, &why), 0);
	CHECK_INT(c.mode, IPCFG_DHCP);
	CHECK_STR(c.dev, "eth1");
	CHECK_INT(ipcfg_parse("10.0.0.5:::::eth0:dhcp", &c, &why), 0);
	CHECK_INT(c.mode, IPCFG_DHCP);
	/* off with no address: that device stays down. */
	CHECK_INT(ipcfg_parse(":::::eth2:off", &c, &why), 0);
	CHECK_INT(c.mode, IPCFG_OFF);

	CHECK_INT(ipcfg_parse("", &c, &why), -EINVAL);
	CHECK_INT(ipcfg_parse("10.0.0.300", &c, &why), -EINVAL);
	CHECK(why != NULL);
	CHECK_INT(ipcfg_parse("10.0.0.1::10.0.0.254:255.0.255.0:h:eth0:off", &c, &why), -EINVAL);
	CHECK_INT(ipcfg_parse("10.0.0.1:::::eth0:maybe", &c, &why), -EINVAL);
	CHECK_INT(ipcfg_parse("10.0.0.1:::::../x:off", &c, &why), -EINVAL);
	CHECK_INT(ipcfg_parse("10.0.0.1::::bad host:eth0:off", &c, &why), -EINVAL);
	CHECK_INT(ipcfg_parse("1:2:3:4:5:6:7:8:9:10:11", &c, &why), -EINVAL);
	CHECK_INT(ipcfg_parse("dhcpx", &c, &why), -EINVAL);

	struct in_addr m;
	inet_pton(AF_INET, "255.255.240.0", &m);
	CHECK_INT(ipcfg_prefix(m), 20);
	inet_pton(AF_INET, "0.0.0.0", &m);
	CHECK_INT(ipcfg_prefix(m), 0);
}

/* What `ip -o link`, `ip -o addr` and `ip route` print on a cloud host with a /32 address. */
static const char LINKS[] =
	"1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000\\    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n"
	"2: ens3: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UP mode DEFAULT group default qlen 1000\\    link/ether 52:54:00:AB:cd:01 brd ff:ff:ff:ff:ff:ff\n"
	"3: ens4: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UP mode DEFAULT group default qlen 1000\\    link/ether 52:54:00:ab:cd:02 brd ff:ff:ff:ff:ff:ff\n";
static const char ADDRS[] =
	"1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever\n"
	"2: ens3    inet 203.0.113.7/32 scope global ens3\\       valid_lft forever preferred_lft forever\n"
	"2: ens3    inet6 2001:db8::7/64 scope global \\       valid_lft forever preferred_lft forever\n"
	"2: ens3    inet6 fe80::5054:ff:feab:cd01/64 scope link \\       valid_lft forever preferred_lft forever\n"
	"3: ens4    inet 10.0.2.15/24 brd 10.0.2.255 scope global dynamic ens4\\       valid_lft 86000sec preferred_lft 86000sec\n";
static const char ROUTES[] =
	"default via 172.31.1.1 dev ens3 proto static onlink\n"
	"default via 10.0.2.2 dev ens4 proto dhcp src 10.0.2.15 metric 100\n"
	"10.0.2.0/24 dev ens4 proto kernel scope link src 10.0.2.15\n"
	"172.31.1.1 dev ens3 proto static scope link\n"
	"192.168.50.0/24 via 10.0.2.9 dev ens4\n"
	"2001:db8::/64 dev ens3 proto kernel metric 256 pref medium\n"
	"default via fe80::1 dev ens3 metric 1024 pref medium\n";

static void test_hostnet(void)
{
	struct hostnet *p = calloc(1, sizeof(*p));
	/* The static /32 host: its addresses, then the on-link gateway before the default route. */
	CHECK_INT(hostnet_plan(LINKS, ADDRS, ROUTES, "52:54:00:ab:cd:01", "eth0", p), 1);
	CHECK_STR(p->host_dev, "ens3");
	CHECK_INT(p->dhcp, 0);
	CHECK_INT(p->n_addr, 2);
	CHECK_STR(p->addr[0], "203.0.113.7/32");
	CHECK_STR(p->addr[1], "2001:db8::7/64");
	CHECK_INT(p->n_route, 3);
	CHECK_INT(p->route_n[0], 5);
	CHECK_STR(p->route[0][0], "172.31.1.1");
	CHECK_STR(p->route[0][1], "dev");
	CHECK_STR(p->route[0][2], "eth0");
	CHECK_STR(p->route[0][3], "scope");
	CHECK_STR(p->route[0][4], "link");
	CHECK_INT(p->route_n[1], 6);
	CHECK_STR(p->route[1][0], "default");
	CHECK_STR(p->route[1][2], "172.31.1.1");
	CHECK_STR(p->route[1][4], "eth0");
	CHECK_STR(p->route[1][5], "onlink");
	CHECK_INT(p->route_v6[1], 0);
	/* The IPv6 default through a link-local router is kept, as IPv6. */
	CHECK_STR(p->route[2][2], "fe80::1");
	CHECK_INT(p->route_v6[2], 1);

	/* The DHCP host: no static address, its DHCP routes left to the lease, its own kept. */
	CHECK_INT(hostnet_plan(LINKS, ADDRS, ROUTES, "52:54:00:ab:cd:02", "enp0s3", p), 1);
	CHECK_STR(p->host_dev, "ens4");
	CHECK_INT(p->dhcp, 1);
	CHECK_INT(p->n_addr, 0);
	CHECK_INT(p->n_route, 1);
	CHECK_STR(p->route[0][0], "192.168.50.0/24");
	CHECK_STR(p->route[0][4], "enp0s3");

	CHECK_INT(hostnet_plan(LINKS, ADDRS, ROUTES, "52:54:00:ff:ff:ff", "eth0", p), 0);
	CHECK_INT(hostnet_plan(NULL, NULL, NULL, "52:54:00:ab:cd:01", "eth0", p), 0);
	CHECK_INT(hostnet_plan(LINKS, NULL, NULL, "52:54:00:ab:cd:01", "eth0", p), 1);
	CHECK_INT(p->n_addr + p->n_route, 0);
	free(p);
}

/* The same from busybox ip (a host whose ip is busybox's, as lifeboat's own is): no "proto" on
 * any route, so the kernel's prefix route is known by its destination, and the routes a router
 * advertisement gave (IPv6 here, QEMU's) by their "expires". */
static const char BB_LINKS[] =
	"1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue qlen 1000\\    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n"
	"2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc pfifo_fast qlen 1000\\    link/ether 52:54:00:12:34:56 brd ff:ff:ff:ff:ff:ff\n";
static const char BB_ADDRS[] =
	"1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever\n"
	"2: eth0    inet 10.0.2.77/24 scope global eth0\\       valid_lft forever preferred_lft forever\n"
	"2: eth0    inet6 fec0::5054:ff:fe12:3456/64 scope site dynamic \\       valid_lft 86384sec preferred_lft 14384sec\n"
	"2: eth0    inet6 fe80::5054:ff:fe12:3456/64 scope link \\       valid_lft forever preferred_lft forever\n";
static const char BB_ROUTES[] =
	"default via 10.0.2.2 dev eth0 \n"
	"10.0.2.0/24 dev eth0 scope link  src 10.0.2.77 \n"
	"10.0.9.0/24 dev eth0 scope link \n"
	"10.0.2.77 dev eth0 scope link \n"
	"fec0::/64 dev eth0  metric 256  expires 86384sec\n"
	"fe80::/64 dev eth0  metric 256 \n"
	"default via fe80::2 dev eth0  metric 1024  expires 1784sec\n";

static void test_hostnet_busybox(void)
{
	struct hostnet *p = calloc(1, sizeof(*p));
	CHECK_INT(hostnet_plan(BB_LINKS, BB_ADDRS, BB_ROUTES, "52:54:00:12:34:56", "eth0", p), 1);
	CHECK_STR(p->host_dev, "eth0");
	CHECK_INT(p->dhcp, 0);
	CHECK_INT(p->n_addr, 1);
	CHECK_STR(p->addr[0], "10.0.2.77/24");
	/* Kept: an on-link route that is no address's prefix (the twin: same form, other network),
	 * a host route, the static default. Left out: the prefix route, both learned routes. */
	CHECK_INT(p->n_route, 3);
	CHECK_STR(p->route[0][0], "10.0.9.0/24");
	CHECK_STR(p->route[1][0], "10.0.2.77");
	CHECK_STR(p->route[2][0], "default");
	CHECK_STR(p->route[2][2], "10.0.2.2");
	CHECK_INT(p->route_v6[2], 0);
	free(p);
}

static void test_keys(void)
{
	char *out = NULL;
	CHECK_INT(sshkeys_from_cmdline("ssh-ed25519:AAAAC3NzaC1lZDI1NTE5AAAAIMYQ6S5Ll89PYY8Q", &out), 1);
	CHECK_STR(out, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMYQ6S5Ll89PYY8Q lifeboat.authorized_key\n");
	CHECK_INT(sshkeys_from_cmdline("ssh-rsa:AAAAB3NzaC1yc2EAAAADAQAB+/==,sk-ssh-ed25519@openssh.com:AAAAGnNrLXNzaC1lZDI1", &out), 2);
	CHECK_INT(sshkeys_count(out), 3);
	CHECK(strstr(out, "\nsk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1 ") != NULL);
	/* Malformed: nothing is added. */
	size_t before = strlen(out);
	CHECK_INT(sshkeys_from_cmdline("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA", &out), -EINVAL);
	CHECK_INT(sshkeys_from_cmdline("ssh-ed25519:short", &out), -EINVAL);
	CHECK_INT(sshkeys_from_cmdline(":AAAAC3NzaC1lZDI1NTE5AAAA", &out), -EINVAL);
	CHECK_INT(sshkeys_from_cmdline("ssh-ed25519:AAAAC3NzaC1lZDI1NTE5AAAA,", &out), -EINVAL);
	CHECK_INT(sshkeys_from_cmdline("ssh-ed25519:AAAAC3Nza\"C1lZDI1NTE5AAAA", &out), -EINVAL);
	CHECK_INT(sshkeys_from_cmdline("", &out), -EINVAL);
	CHECK_INT(strlen(out), before);
	free(out);
	CHECK_INT(sshkeys_count("# comment\n\n   \nssh-ed25519 AAAA x\n  ssh-rsa AAAA"), 2);
	CHECK_INT(sshkeys_count(""), 0);
	CHECK_INT(sshkeys_count(NULL), 0);
}

int main(void)
{
	test_ipcfg();
	test_hostnet();
	test_hostnet_busybox();
	test_keys();
	return check_done("test_ipcfg");
}
