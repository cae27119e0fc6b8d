/* The device worker, started by PID 1: load the drivers for every device present (coldplug), say
 * when devices have settled, then keep loading drivers for devices that appear later. Loading a
 * module runs driver code that can hang or oops; doing it here keeps PID 1 out of harm's way. */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "applets/applets.h"
#include "lib/cmdline.h"
#include "lib/coldplug.h"
#include "lib/console.h"
#include "lib/fsmodules.h"
#include "lib/job.h"
#include "lib/modpool.h"
#include "lib/modules.h"
#include "init/mounts.h"
#include "init/settle.h"
#include "lib/log.h"
#include "lib/util.h"

/* Evidence that a disk is still coming, gathered here and weighed by init/settle.c. */

/* Mass-storage interfaces (class 08) without a disk below them yet: usb-storage scans only after
 * delay_use, in silence, and slower than that on a loaded machine. */
static int usb_storage_pending(const char *usbdir)
{
	char pat[256];
	glob_t g;
	int pending = 0;
	snprintf(pat, sizeof(pat), "%s/*/bInterfaceClass", usbdir);
	if (glob(pat, 0, NULL, &g) != 0)
		return 0;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		char *cls = NULL;
		if (read_file_at(AT_FDCWD, g.gl_pathv[i], 16, &cls) > 0 && !strcmp(rstrip(cls), "08")) {
			char blk[300];
			glob_t b;
			int n = (int)(strrchr(g.gl_pathv[i], '/') - g.gl_pathv[i]);
			snprintf(blk, sizeof(blk), "%.*s/host*/target*/*/block/*", n, g.gl_pathv[i]);
			if (glob(blk, 0, NULL, &b) != 0)
				pending++;
			else
				globfree(&b);
		}
		free(cls);
	}
	globfree(&g);
	return pending;
}

/* NVMe controllers still starting ("new", "connecting", "resetting"): their namespaces (the
 * disks) are scanned only once the controller is live. */
static int nvme_pending(const char *classdir)
{
	char pat[256];
	glob_t g;
	int pending = 0;
	snprintf(pat, sizeof(pat), "%s/*/state", classdir);
	if (glob(pat, 0, NULL, &g) != 0)
		return 0;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		char *state = NULL;
		if (read_file_at(AT_FDCWD, g.gl_pathv[i], 32, &state) > 0) {
			rstrip(state);
			if (!strcmp(state, "new") || !strcmp(state, "connecting") || !strcmp(state, "resetting"))
				pending++;
		}
		free(state);
	}
	globfree(&g);
	return pending;
}

static int is_usb_storage(const char *modalias)
{
	return startswith(modalias, "usb:") && strstr(modalias, "ic08isc") != NULL;
}

static void load_extra(struct modtree *t, const char *list)
{
	char *copy = xstrdup(list);
	for (char *save = NULL, *m = strtok_r(copy, ", ", &save); m; m = strtok_r(NULL, ", ", &save)) {
		int r = modtree_load(t, modname_normalize(m));
		if (r < 0)
			log_err("lifeboat.modules: cannot load %s: %s", m, strerror(-r));
		else
			log_info("loaded module %s (lifeboat.modules)", m);
	}
	free(copy);
}

/* One line on PID 1's pipe (fd -1: started by hand, nobody to tell); what is for the warning. */
static void tell_pid1(int fd, const char *line, const char *what)
{
	int r = fd >= 0 ? write_all(fd, line, strlen(line)) : 0;
	if (r < 0)
		log_warn("cannot tell PID 1 %s: %s", what, strerror(-r));
}

static void notify_settled(int fd, int loaded, long long start, const char *rule)
{
	log_info("devices settled after %lld ms (%d modules loaded, %s)", now_ms() - start, loaded, rule);
	tell_pid1(fd, "settled\n", "the devices settled");
}

/* A disk (or partition, or a medium) the kernel found on a bus, or one unplugged: after
 * settling, the menu's list may lack it or still show it. Mappings, arrays and loop devices
 * (their DEVPATH under /devices/virtual, sysblock_path_virtual: the rule the menu's check uses)
 * are made and removed by lifeboat's own unlock, assembly and enter, which scan again for
 * themselves. The event's DEVPATH, not sysfs: a removed device's sysfs entry is gone. */
static int late_disk_event(const struct uevent *ev)
{
	return !strcmp(ev->subsystem, "block") &&
	       (!strcmp(ev->action, "add") || !strcmp(ev->action, "change") || !strcmp(ev->action, "remove")) &&
	       ev->devname[0] && !ev->virtual_dev;
}

/* A file system probe reads a disk, and a dying disk may take minutes to answer: the probes run
 * in a child of the worker (each device's in a child of that one, given lifeboat.disktimeout),
 * so that neither settling nor the drivers of devices that appear meanwhile wait for a disk.
 * The worker lists the devices (so they are probed once) and lets the child go; SIGCHLD is
 * ignored here, so no child of ours stays a zombie. Takes devnodes. */
static int worker_fds[2] = {-1, -1}; /* the uevent socket and PID 1's pipe: not the child's */

static void fs_loads_behind(struct modtree *t, char **devnodes, int n, int timeout_ms)
{
	pid_t pid = n > 0 ? fork() : 0;
	if (n > 0 && pid == 0) {
		child_reset_signals(); /* SIGCHLD as usual: the probes are waited for */
		for (int i = 0; i < 2; i++)
			if (worker_fds[i] >= 0)
				close(worker_fds[i]);
		/* At settle these probes run beside the menu's scan, which probes the same devices
		 * and loads the drivers it needs itself: they yield the CPU to it (nice 19: slowed,
		 * never starved, so a disk's deadline still means the disk). */
		if (setpriority(PRIO_PROCESS, 0, 19) < 0)
			log_warn("file system probes: cannot lower their priority: %s", strerror(errno));
		fsmodules_load_for_all(t, devnodes, n, timeout_ms);
		_exit(0);
	}
	if (pid < 0)
		log_err("cannot start the file system probes: %s", strerror(errno));
	fsmodules_free_list(devnodes, n > 0 ? n : 0);
}

/* The likely file systems' drivers, in a child beside coldplug: decoding and linking ext4 is
 * the longest module load of a boot, and coldplug spends much of its time waiting for
 * controllers to probe. A disk's own probe later finds them live, or waits for them while they
 * are still coming (lib/modules.c). */
static void fs_preload(struct modtree *t)
{
	pid_t pid = fork();
	if (pid == 0) {
		child_reset_signals();
		for (int i = 0; i < 2; i++)
			if (worker_fds[i] >= 0)
				close(worker_fds[i]);
		log_info("preloaded the drivers of the likely file systems: %d modules", fsmodules_preload(t));
		_exit(0);
	}
	if (pid < 0)
		log_warn("cannot preload the file system drivers: %s", strerror(errno));
}

static void fs_loads_new(struct modtree *t, int timeout_ms)
{
	char **list;
	int n = fsmodules_unseen("/sys/class/block", &list);
	fs_loads_behind(t, list, n, timeout_ms);
}

/* Coldplug's walk takes a while (docs/bench.md): the first drivers load meanwhile. */
static int queue_alias(const char *modalias, void *pool)
{
	int n = modpool_want_alias(pool, modalias);
	modpool_step(pool);
	return n;
}

/* With lifeboat.debug every line goes to the consoles too, as PID 1's do. */
static void debug_consoles(void)
{
	struct console c[MAX_CONSOLES];
	int fds[MAX_CONSOLES], nf = 0;
	int n = consoles_from_env(getenv("LIFEBOAT_CONSOLES"), c, MAX_CONSOLES);
	for (int i = 0; i < n; i++) {
		int fd = console_open(&c[i]);
		if (fd >= 0)
			fds[nf++] = fd;
	}
	log_set_consoles(fds, nf);
}

int devices_main(int argc, char **argv)
{
	struct lb_options opt;
	log_open(getppid() != 1);
	char *line;
	cmdline_read(&line);
	cmdline_parse(line, &opt);
	log_set_debug(opt.debug);
	if (opt.debug && getppid() == 1)
		debug_consoles();
	/* PID 1 passes the write end of its pipe as "--notify FD". */
	int notify = argc >= 3 && !strcmp(argv[1], "--notify") ? atoi(argv[2]) : -1;
	long long start = now_ms();
	signal(SIGCHLD, SIG_IGN); /* the file system probes' child (fs_loads_behind) reaps itself */
	signal(SIGPIPE, SIG_IGN); /* PID 1 gone from the pipe is a failed write, not our end */

	/* Listen before walking sysfs, so a device that appears during the walk is not missed. */
	int ufd = uevent_open();
	worker_fds[0] = ufd;
	worker_fds[1] = notify;
	if (ufd < 0)
		log_warn("no uevent socket (%s): devices that appear later get no driver", strerror(-ufd));
	/* Events numbered before the socket listened never reach it: count from here. */
	long long seen_seq = uevent_seqnum_now();

	struct modtree t;
	struct modpool pool;
	int have_tree = 0;
	if (opt.nomodules) {
		log_info("lifeboat.nomodules: loading no modules");
	} else if (access("/proc/modules", F_OK) < 0 && errno == ENOENT) {
		/* A kernel built without module support (KERNEL=source): nothing is missing. */
		log_info("kernel without loadable modules: every driver is built in");
	} else {
		int r = modtree_open_running(&t);
		if (r < 0)
			log_warn("no module tree for this kernel (%s): using built-in drivers only", strerror(-r));
		else
			have_tree = 1;
	}
	if (have_tree) {
		t.cmdline = line;
		line = NULL;
		t.blacklist = opt.blacklist ? xstrdup(opt.blacklist) : NULL;
		if (opt.modules)
			load_extra(&t, opt.modules);
		fs_preload(&t);
		/* Coldplug queues every device's modules; they load several at once (lib/modpool.h)
		 * while this loop reads the uevents of the devices they find. */
		modpool_init(&pool, &t, MODPOOL_JOBS);
		modpool_close_in_children(&pool, &worker_fds[0]);
		modpool_close_in_children(&pool, &worker_fds[1]);
		long long walk_start = now_ms();
		int r = coldplug_walk("/sys/devices", queue_alias, &pool);
		if (r < 0)
			log_err("cannot walk /sys/devices: %s", strerror(-r));
		else
			log_debug("coldplug: %d modules asked for by /sys/devices (tree read in %lld ms, walked in %lld ms)",
				  r, walk_start - start, now_ms() - walk_start);
		/* efivarfs needs its module on modular kernels. */
		if (access("/sys/firmware/efi", F_OK) == 0)
			modpool_want(&pool, "efivarfs");
		modpool_start(&pool);
	}
	free(line);

	struct settle_input in = {.last_event = now_ms(), .storage_seen = -1, .usb_seen = -1,
				  .deadline = start + opt.settle_ms};
	/* File system drivers for the disks already there are probed for once the events queued
	 * during coldplug have been read, behind the worker (fs_loads_behind): inside the quiet
	 * window, never holding it open for a disk that does not answer. */
	int fs_pending = 0, coldplug_done = 0;
	int settled = 0, timeout = -1;
	/* When to tell PID 1 that disks came after settling (-1: none came): once their events
	 * have been quiet for SETTLE_LATE_QUIET_MS, so a host's LUNs make one notice. */
	long long late_due = -1;
	for (;;) {
		if (!coldplug_done && !(have_tree && modpool_busy(&pool))) {
			/* Every module coldplug asked for has loaded, with its probes. */
			coldplug_done = 1;
			int e = mounts_efivarfs();
			if (e < 0)
				log_warn("cannot mount efivarfs: %s", strerror(-e));
			log_info("coldplug done: %d modules loaded", have_tree ? t.loaded : 0);
			in.last_event = now_ms();
			fs_pending = have_tree;
			/* USB storage found by the kernel before we listened (built-in drivers, or the
			 * interface was there before usb_storage loaded) sends no event while it waits to
			 * scan: wait for it too. */
			if (usb_storage_pending("/sys/bus/usb/devices")) {
				log_info("a USB storage device is still being scanned; waiting for its disks");
				in.storage_seen = in.last_event;
			}
		}
		if (!settled) {
			in.now = now_ms();
			int loading = have_tree && modpool_busy(&pool);
			if (loading && in.now < in.deadline) {
				/* A module still loading may still be probing its devices: wait for it
				 * (each load's end wakes the poll), up to lifeboat.settle. */
				timeout = (int)(in.deadline - in.now);
			} else {
				long long since = 0;
				const char *slow = loading ? modpool_slowest(&pool, &since) : NULL;
				if (slow)
					log_warn("module %s still loading after %lld s; going on without it",
						 slow, (in.now - since) / 1000);
				in.pending = usb_storage_pending("/sys/bus/usb/devices") + nvme_pending("/sys/class/nvme");
				/* Without the counter (no sysfs file, an unreadable number) there is no
				 * evidence: the fallback window. */
				long long k = uevent_seqnum_now();
				in.caught_up = k >= 0 && seen_seq >= 0 && k <= seen_seq;
				enum settle_verdict v = ufd < 0 ? SETTLE_DONE : settle_decide(&in, &timeout);
				if (v == SETTLE_GAVE_UP)
					log_warn("devices still appearing after lifeboat.settle=%d s (%d still without a disk); going on",
						 opt.settle_ms / 1000, in.pending);
				if (v != SETTLE_WAIT) {
					/* File system drivers of disks that appeared after coldplug, so a plain
					 * `mount` knows them (those present at coldplug were done before the
					 * window). */
					if (have_tree)
						fs_loads_new(&t, opt.disktimeout_ms);
					notify_settled(notify, have_tree ? t.loaded : 0, start,
						       v == SETTLE_GAVE_UP || slow ? "gave up at lifeboat.settle" :
						       ufd < 0 ? "no uevent socket" :
						       settle_on_evidence(&in) ? "on evidence: every uevent read" :
						       "after a quiet window");
					settled = 1;
					timeout = -1;
				}
			}
		}
		int wait = timeout;
		if (settled && late_due >= 0) {
			long long now = now_ms();
			if (now >= late_due) {
				log_info("disks came or went after the devices settled; telling PID 1");
				tell_pid1(notify, "more\n", "about the disks that came or went");
				late_due = -1;
			} else {
				wait = (int)(late_due - now);
			}
		}
		/* The uevent socket (ignored by poll when there is none) and the loads' results. */
		struct pollfd p[1 + MODPOOL_JOBS] = {{ufd, POLLIN, 0}};
		int np = 1 + (have_tree ? modpool_pollfds(&pool, p + 1) : 0);
		if (poll(p, (nfds_t)np, fs_pending ? 0 : wait) < 0 && errno != EINTR)
			return 1;
		if (have_tree)
			modpool_collect(&pool, p + 1, np - 1);
		struct uevent ev;
		int r;
		while (ufd >= 0 && (r = uevent_read(ufd, &ev)) != 0) {
			if (r == -ENOBUFS && have_tree) {
				/* The socket overflowed and events were lost: walk sysfs again instead. */
				log_warn("uevents were lost; looking at every device again");
				coldplug_walk("/sys/devices", queue_alias, &pool);
			}
			if (r < 0)
				continue;
			if (seen_seq >= 0 && ev.seqnum > (unsigned long long)seen_seq)
				seen_seq = (long long)ev.seqnum;
			if (!strcmp(ev.subsystem, "usb"))
				in.usb_seen = now_ms();
			/* A module event is our own finit_module (no modprobe helper exists): not a sign
			 * of a device still appearing. */
			if (strcmp(ev.subsystem, "module"))
				in.last_event = now_ms();
			log_debug("uevent %s %s %s %s", ev.action, ev.subsystem, ev.devname, ev.modalias);
			if (!strcmp(ev.action, "add") && is_usb_storage(ev.modalias))
				in.storage_seen = now_ms();
			if (have_tree && !strcmp(ev.action, "add") && ev.modalias[0])
				modpool_want_alias(&pool, ev.modalias);
			if (settled && late_disk_event(&ev))
				late_due = now_ms() + SETTLE_LATE_QUIET_MS;
			if (!strcmp(ev.action, "remove") && !strcmp(ev.subsystem, "block") && ev.devname[0])
				fsmodules_forget(ev.devname);
			/* A disk plugged in later: its file system's driver (the boot's are loaded at settle). */
			if (have_tree && settled && !strcmp(ev.action, "add") && !strcmp(ev.subsystem, "block") &&
			    ev.devname[0] && fsmodules_first_time(ev.devname)) {
				char **one = xcalloc(1, sizeof(*one));
				one[0] = xasprintf("/dev/%s", ev.devname);
				fs_loads_behind(&t, one, 1, opt.disktimeout_ms);
			}
		}
		if (have_tree)
			modpool_start(&pool);
		if (fs_pending) {
			fs_pending = 0;
			fs_loads_new(&t, opt.disktimeout_ms);
		}
	}
}
