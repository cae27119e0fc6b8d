/* `lifeboat remote`: remote rescue, run and supervised by PID 1. It brings the wired interfaces
 * up as they appear (ip= from the kernel command line, else the host's configuration carried by
 * kexec-boot for the interface with the same MAC, else DHCP in the background), collects the
 * authorized keys and host keys, and runs the SSH server (dropbear) while a key exists,
 * starting it again when it dies. On SIGTERM (shutdown, kexec) it stops the server and DHCP and
 * flushes the addresses, so that the next kernel brings its network up cleanly. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/rtnetlink.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "applets/applets.h"
#include "lib/cmdline.h"
#include "lib/log.h"
#include "lib/job.h"
#include "lib/util.h"
#include "net/hostnet.h"
#include "net/ipcfg.h"
#include "net/netup.h"
#include "net/remote.h"
#include "net/sshkeys.h"
#include "report/store.h"

#define MAX_IPCFG 8
/* New interfaces are looked for when the kernel announces a link, and this often besides (in
 * case an announcement was lost to a full socket buffer). */
#define RESCAN_MS 1000
/* A server or DHCP client that keeps dying is started again at most this often. */
#define RESTART_MS 2000

static struct {
	int net_off;
	struct ipcfg ip[MAX_IPCFG];
	int n_ip, ip_used[MAX_IPCFG];
	char *keys;          /* authorized keys from the command line */
	int bad_keys;

	char ifs[NET_MAX_IFS][16];
	pid_t dhcp[NET_MAX_IFS];
	long long dhcp_due[NET_MAX_IFS];
	int n_ifs;

	int ssh;             /* a key exists: the server is wanted */
	pid_t sshd;
	long long sshd_due;
	char hostkeys[4][96];
	int n_hostkeys;
} R;

static void opt(const char *key, const char *val, void *ctx)
{
	if (!strcmp(key, "ip") && val) {
		const char *why;
		if (R.n_ip < MAX_IPCFG && ipcfg_parse(val, &R.ip[R.n_ip], &why) == 0)
			R.n_ip++;
		else
			log_warn("remote: ip=%s ignored: %s", val, why ? why : "too many ip= parameters");
	} else if (!strcmp(key, "lifeboat.net")) {
		R.net_off = val && (!strcmp(val, "off") || !strcmp(val, "0") || !strcmp(val, "no"));
	} else if (!strcmp(key, "lifeboat.authorized_key") || !strcmp(key, "lifeboat.authorized-key")) {
		if (sshkeys_from_cmdline(val, &R.keys) < 0) {
			log_warn("remote: lifeboat.authorized_key=%s is not TYPE:BASE64[,TYPE:BASE64...]; ignored",
				 val ? val : "");
			R.bad_keys++;
		}
	}
}

static void set_state(const char *text)
{
	report_save(SSH_STATE, text, strlen(text));
}

/* Console lines: the menu owns the console, so only what the user must see goes there. */
static void say(const char *msg)
{
	log_info("remote: %s", msg);
	fprintf(stderr, "\r\nlifeboat: %s\r\n", msg);
}

static char *slurp(const char *path)
{
	char *s = NULL;
	return read_file_at(AT_FDCWD, path, 1 << 20, &s) >= 0 ? s : NULL;
}

/* Every authorized key, into the file dropbear reads. Returns how many. */
static int collect_keys(void)
{
	const char *from[] = {BUILTIN_KEYS, ADDED_DIR "/authorized_keys", HOST_DATA_DIR "/authorized_keys"};
	char *all = xstrdup("");
	for (size_t i = 0; i < ARRAY_SIZE(from); i++) {
		char *s = slurp(from[i]);
		if (s) {
			log_info("remote: %d key(s) from %s", sshkeys_count(s), from[i]);
			char *n = xasprintf("%s%s%s", all, s, *s && s[strlen(s) - 1] != '\n' ? "\n" : "");
			free(all);
			free(s);
			all = n;
		}
	}
	if (R.keys) {
		log_info("remote: %d key(s) from the command line", sshkeys_count(R.keys));
		char *n = xasprintf("%s%s", all, R.keys);
		free(all);
		all = n;
	}
	int count = sshkeys_count(all);
	if (count) {
		/* dropbear refuses keys in a file or folder others could write. */
		mkdir_p("/root/.ssh", 0700);
		chmod("/root", 0700);
		chmod("/root/.ssh", 0700);
		/* Written whole at once (report_save is the atomic write); 0644 is fine for public keys. */
		int r = report_save(AUTHORIZED_KEYS_PATH, all, strlen(all));
		if (r < 0) {
			log_err("remote: cannot write %s: %s", AUTHORIZED_KEYS_PATH, strerror(-r));
			count = 0;
		}
	}
	free(all);
	return count;
}

static int run_tool(char *const argv[], int ms)
{
	/* A tool's own chatter goes to the log, not onto the menu's console. */
	pid_t pid = net_spawn_quiet(argv);
	if (pid < 0)
		return (int)pid;
	int st = wait_timeout(pid, ms);
	return st < 0 ? st : WIFEXITED(st) && !WEXITSTATUS(st) ? 0 : -EIO;
}

/* The fingerprint line of `dropbearkey -y -f KEY`, as ssh shows it ("SHA256:..."). */
static void show_fingerprint(const char *key, const char *type, char **state)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return;
	pid_t pid = fork();
	if (pid == 0) {
		child_reset_signals();
		dup2(p[1], 1);
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0)
			dup2(null, 2);
		execl(DROPBEAR_BIN, "dropbearkey", "-y", "-f", key, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	char *out = NULL;
	if (pid > 0) {
		read_fd(p[0], 65536, &out);
		wait_timeout(pid, 10000);
	}
	close(p[0]);
	char *fp = out ? strstr(out, "Fingerprint: ") : NULL;
	if (fp) {
		fp += strlen("Fingerprint: ");
		fp[strcspn(fp, "\r\n")] = 0;
		char *line = xasprintf("SSH host key %s %s", type, fp);
		say(line);
		free(line);
		char *n = xasprintf("%s%s %s\n", *state, type, fp);
		free(*state);
		*state = n;
	}
	free(out);
}

/* Host keys: the host's (kexec-boot), else those added by lifeboat-keys, else the image's
 * (make SSH_HOST_KEYS=DIR), all in OpenSSH's format and converted; else one generated now.
 * The first folder with any key wins whole, so one boot never mixes two machines' keys. */
static void prepare_hostkeys(char **state)
{
	static const struct {
		const char *type, *name;
	} kinds[] = {{"ED25519", "ed25519"}, {"ECDSA", "ecdsa"}, {"RSA", "rsa"}};
	mkdir_p(SSH_KEY_DIR, 0700);
	const char *dirs[] = {HOST_DATA_DIR, ADDED_DIR, BUILTIN_HOST_KEYS};
	for (size_t d = 0; d < ARRAY_SIZE(dirs) && !R.n_hostkeys; d++)
		for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
			char in[128], out[96];
			snprintf(in, sizeof(in), "%s/ssh_host_%s_key", dirs[d], kinds[k].name);
			snprintf(out, sizeof(out), SSH_KEY_DIR "/dropbear_%s_host_key", kinds[k].name);
			if (access(in, R_OK) < 0)
				continue;
			char *argv[] = {DROPBEAR_BIN, "dropbearconvert", "openssh", "dropbear", in, out, NULL};
			unlink(out);
			if (run_tool(argv, 30000) < 0) {
				log_warn("remote: cannot convert %s", in);
				continue;
			}
			log_info("remote: host key %s from %s", kinds[k].type, in);
			snprintf(R.hostkeys[R.n_hostkeys++], sizeof(R.hostkeys[0]), "%s", out);
			show_fingerprint(out, kinds[k].type, state);
		}
	if (!R.n_hostkeys) {
		const char *out = SSH_KEY_DIR "/dropbear_ed25519_host_key";
		char *argv[] = {DROPBEAR_BIN, "dropbearkey", "-t", "ed25519", "-f", (char *)out, NULL};
		unlink(out);
		if (run_tool(argv, 30000) == 0) {
			log_info("remote: generated a host key (ED25519)");
			snprintf(R.hostkeys[R.n_hostkeys++], sizeof(R.hostkeys[0]), "%s", out);
			show_fingerprint(out, "ED25519", state);
		} else {
			log_err("remote: cannot generate a host key; no SSH server");
		}
	}
}

static void start_sshd(void)
{
	char port[8];
	snprintf(port, sizeof(port), "%d", SSH_PORT);
	/* -F: we supervise it (built without syslog, it logs to stderr: our log file, not the
	 * console); -j: no local port forwarding. Passwords, remote forwarding (which would listen
	 * on more ports) and agent forwarding are compiled out (third_party/recipes/dropbear.sh). */
	char *argv[20] = {DROPBEAR_BIN, "dropbear", "-F", "-j", "-P", RUN_DIR "/dropbear.pid",
			  "-p", port};
	int n = 8;
	for (int i = 0; i < R.n_hostkeys && n < 17; i++) {
		argv[n++] = "-r";
		argv[n++] = R.hostkeys[i];
	}
	argv[n] = NULL;
	R.sshd_due = 0;
	pid_t pid = net_spawn_quiet(argv);
	if (pid < 0) {
		log_err("remote: cannot start dropbear: %s", strerror(-(int)pid));
		R.sshd_due = now_ms() + RESTART_MS;
		return;
	}
	R.sshd = pid;
	log_info("remote: SSH server on port %d (pid %d)", SSH_PORT, (int)pid);
}

/* Which ip= configuration is for dev: one naming it, else the first one naming no device. */
static const struct ipcfg *ipcfg_for(const char *dev)
{
	for (int i = 0; i < R.n_ip; i++)
		if (!strcmp(R.ip[i].dev, dev)) {
			R.ip_used[i] = 1;
			return &R.ip[i];
		}
	for (int i = 0; i < R.n_ip; i++)
		if (!R.ip[i].dev[0] && (!R.ip_used[i] || R.ip[i].mode != IPCFG_STATIC)) {
			R.ip_used[i] = 1;
			return &R.ip[i];
		}
	return NULL;
}

static void configure(int k)
{
	const char *dev = R.ifs[k];
	net_ip((const char *[]){"link", "set", dev, "up", NULL});
	if (R.n_ip) {
		/* ip= is the whole plan: an interface it does not cover stays down, as in the kernel. */
		const struct ipcfg *c = ipcfg_for(dev);
		if (!c || c->mode == IPCFG_OFF) {
			log_info("remote: %s: not configured (ip= covers other interfaces)", dev);
			net_ip((const char *[]){"link", "set", dev, "down", NULL});
			R.dhcp_due[k] = -1;
		} else if (c->mode == IPCFG_STATIC) {
			net_apply_static(dev, c);
			R.dhcp_due[k] = -1;
		}
		return;
	}
	char mac[32];
	struct hostnet *p = xcalloc(1, sizeof(*p));
	char *links = slurp(HOST_DATA_DIR "/links"), *addrs = slurp(HOST_DATA_DIR "/addresses"),
	     *routes = slurp(HOST_DATA_DIR "/routes");
	if (net_mac("/sys", dev, mac, sizeof(mac)) == 0 && hostnet_plan(links, addrs, routes, mac, dev, p)) {
		log_info("remote: %s has the MAC of the host's %s: its %d address(es), %d route(s)%s", dev,
			 p->host_dev, p->n_addr, p->n_route, p->dhcp ? ", DHCP" : "");
		net_apply_host(dev, p);
		if (!p->dhcp)
			R.dhcp_due[k] = -1;
	}
	free(links);
	free(addrs);
	free(routes);
	free(p);
}

/* What is waiting to be (re)started: the SSH server, and each interface's DHCP client. */
static int sshd_waiting(void) { return R.ssh && !R.sshd && R.sshd_due; }
static int dhcp_waiting(int k) { return !R.dhcp[k] && R.dhcp_due[k] >= 0; }

/* why: what made us look, for the log (tests/vm/test_remote.py reads it). */
static void rescan(const char *why)
{
	char now[NET_MAX_IFS][16];
	int n = net_wired("/sys", now, NET_MAX_IFS);
	for (int i = 0; i < n; i++) {
		int known = 0;
		for (int k = 0; k < R.n_ifs; k++)
			known |= !strcmp(R.ifs[k], now[i]);
		if (known || R.n_ifs >= NET_MAX_IFS)
			continue;
		int k = R.n_ifs++;
		memcpy(R.ifs[k], now[i], sizeof(R.ifs[k]));
		R.dhcp[k] = 0;
		R.dhcp_due[k] = now_ms();
		log_info("remote: interface %s %s", R.ifs[k], why);
		configure(k);
	}
	for (int k = 0; k < R.n_ifs; k++)
		if (dhcp_waiting(k) && now_ms() >= R.dhcp_due[k]) {
			pid_t pid = net_dhcp_start(R.ifs[k]);
			R.dhcp[k] = pid > 0 ? pid : 0;
			R.dhcp_due[k] = now_ms() + RESTART_MS;
		}
}

static void reap(void)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		char buf[80];
		if (pid == R.sshd) {
			R.sshd = 0;
			log_warn("remote: dropbear %s; starting it again", status_str(status, buf, sizeof(buf)));
			R.sshd_due = now_ms() + RESTART_MS;
		}
		for (int k = 0; k < R.n_ifs; k++)
			if (pid == R.dhcp[k]) {
				R.dhcp[k] = 0;
				log_warn("remote: udhcpc on %s %s", R.ifs[k], status_str(status, buf, sizeof(buf)));
				R.dhcp_due[k] = now_ms() + RESTART_MS;
			}
	}
}

static int stop(void)
{
	log_info("remote: stopping the SSH server and DHCP, flushing addresses");
	if (R.sshd > 0)
		kill(R.sshd, SIGTERM);
	for (int k = 0; k < R.n_ifs; k++)
		if (R.dhcp[k] > 0)
			kill(R.dhcp[k], SIGTERM);
	for (int k = 0; k < R.n_ifs; k++)
		net_flush(R.ifs[k]);
	return 0;
}

/* A netlink socket that hears of every link the kernel registers or changes, so that a NIC whose
 * driver loads after the menu is up gets its address at once, not at the next look. */
static int link_events(void)
{
	return netlink_listen(NETLINK_ROUTE, RTMGRP_LINK);
}

/* The messages only say "look again"; what they carry is read from /sys by rescan(). */
static void drain(int fd)
{
	char buf[8192];
	while (fd >= 0 && recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

/* Until the next restart falls due, at most RESCAN_MS. */
static int next_wake_ms(void)
{
	long long now = now_ms(), wake = now + RESCAN_MS;
	if (sshd_waiting() && R.sshd_due < wake)
		wake = R.sshd_due;
	for (int k = 0; k < R.n_ifs; k++)
		if (dhcp_waiting(k) && R.dhcp_due[k] < wake)
			wake = R.dhcp_due[k];
	return wake > now ? (int)(wake - now) : 0;
}

int remote_main(int argc, char **argv)
{
	log_open(getppid() != 1);
	char *line = NULL;
	cmdline_read(&line);
	cmdline_split(line, opt, NULL);
	free(line);
	if (R.net_off) {
		log_info("remote: lifeboat.net=off: no network, no SSH server");
		set_state("off\n");
		return 0;
	}
	char *resolv = slurp(HOST_DATA_DIR "/resolv.conf");
	if (resolv && report_save("/etc/resolv.conf", resolv, strlen(resolv)) == 0)
		log_info("remote: DNS from the host's resolv.conf");
	free(resolv);

	char *state = xstrdup("on\n");
	int keys = collect_keys();
	if (keys) {
		prepare_hostkeys(&state);
		R.ssh = R.n_hostkeys > 0;
	}
	if (R.ssh) {
		set_state(state);
		start_sshd();
	} else {
		say("no SSH server: no authorized key (make AUTHORIZED_KEYS=FILE, lifeboat-keys, "
		    "kexec-boot, or lifeboat.authorized_key=TYPE:BASE64)");
		set_state("nokey\n");
	}
	free(state);

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	int lfd = link_events();
	if (lfd < 0)
		log_warn("remote: no link announcements (%s); looking for interfaces every %d ms",
			 strerror(-lfd), RESCAN_MS);
	const char *why = "found at start";
	for (;;) {
		rescan(why);
		if (sshd_waiting() && now_ms() >= R.sshd_due)
			start_sshd();
		struct pollfd p[2] = {{sfd, POLLIN, 0}, {lfd, POLLIN, 0}};
		poll(p, 2, next_wake_ms());
		/* Which wake found it, for the log: a link announcement, else the timer or a signal. */
		why = p[1].revents & POLLIN ? "announced by the kernel" :
		      p[0].revents & POLLIN ? "found on a wake for a signal" : "found by the periodic look";
		drain(lfd);
		struct signalfd_siginfo si;
		while (sfd >= 0 && read(sfd, &si, sizeof(si)) == sizeof(si))
			if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGHUP)
				return stop();
		reap();
	}
}
