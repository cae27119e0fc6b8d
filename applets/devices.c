/* The device worker, started by PID 1: load the drivers for every device present (coldplug), say
 * when devices have settled, then keep loading drivers for devices that appear later. Loading a
 * module runs driver code that can hang or oops; doing it here keeps PID 1 out of harm's way. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "applets/applets.h"
#include "init/cmdline.h"
#include "init/coldplug.h"
#include "init/modules.h"
#include "init/mounts.h"
#include "lib/log.h"
#include "lib/util.h"

/* Devices count as settled once no uevent arrived for this long after coldplug. Driver probes
 * announce their devices with uevents, so a quiet socket means nothing is pending. */
#define QUIET_MS 300

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

static void notify_settled(int fd, int loaded, long long start)
{
	log_info("devices settled after %lld ms (%d modules loaded)", now_ms() - start, loaded);
	if (fd >= 0) {
		write_all(fd, "settled\n", 8);
		close(fd);
	}
}

int devices_main(int argc, char **argv)
{
	struct lb_options opt;
	log_open(getppid() != 1);
	cmdline_load(&opt);
	log_set_debug(opt.debug);
	const char *nfd = getenv("LIFEBOAT_NOTIFY_FD");
	int notify = nfd ? atoi(nfd) : -1;
	long long start = now_ms();

	/* Listen before walking sysfs, so a device that appears during the walk is not missed. */
	int ufd = uevent_open();
	if (ufd < 0)
		log_warn("no uevent socket (%s): devices that appear later get no driver", strerror(-ufd));

	struct modtree t;
	int have_tree = 0, loaded = 0;
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
		if (opt.modules)
			load_extra(&t, opt.modules);
		int r = coldplug_walk(&t, "/sys/devices");
		if (r < 0)
			log_err("cannot walk /sys/devices: %s", strerror(-r));
		else
			loaded += r;
		/* efivarfs needs its module on modular kernels; mount it once it is there. */
		modtree_load(&t, "efivarfs");
	}
	mounts_efivarfs();
	log_info("coldplug done: %d modules loaded", loaded);

	long long deadline = start + opt.settle_ms, last = now_ms();
	int settled = 0;
	for (;;) {
		long long now = now_ms();
		if (!settled && (now - last >= QUIET_MS || now >= deadline || ufd < 0)) {
			if (now >= deadline && now - last < QUIET_MS)
				log_warn("devices still appearing after lifeboat.settle=%d s; going on",
					 opt.settle_ms / 1000);
			notify_settled(notify, loaded, start);
			settled = 1;
		}
		if (ufd < 0)
			pause();
		struct pollfd p = {ufd, POLLIN, 0};
		int timeout = settled ? -1 : (int)(QUIET_MS - (now - last));
		if (timeout < 0 && !settled)
			timeout = 0;
		if (poll(&p, 1, timeout) < 0 && errno != EINTR)
			return 1;
		struct uevent ev;
		int r;
		while ((r = uevent_read(ufd, &ev)) != 0) {
			if (r < 0)
				continue;
			last = now_ms();
			log_debug("uevent %s %s %s %s", ev.action, ev.subsystem, ev.devname, ev.modalias);
			if (have_tree && !strcmp(ev.action, "add") && ev.modalias[0]) {
				int n = modtree_load_alias(&t, ev.modalias);
				if (n > 0)
					loaded += n;
			}
		}
	}
}
