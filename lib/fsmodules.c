#include "lib/fsmodules.h"

#include <blkid/blkid.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/log.h"
#include "lib/util.h"

int fstype_probe(const char *devnode, char *type, size_t size)
{
	blkid_probe pr = blkid_new_probe_from_filename(devnode);
	if (!pr)
		return errno ? -errno : -EIO;
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE);
	blkid_probe_enable_partitions(pr, 0);
	const char *t = NULL;
	int r = blkid_do_safeprobe(pr);
	if (r == 0 && blkid_probe_lookup_value(pr, "TYPE", &t, NULL) == 0 && t) {
		snprintf(type, size, "%s", t);
		r = 1;
	} else {
		/* 1: nothing found; -2: ambiguous (two signatures): not ours to guess. */
		r = 0;
	}
	blkid_free_probe(pr);
	return r;
}

int fsmodule_load_for(struct modtree *t, const char *devnode)
{
	char type[64], alias[80];
	if (fstype_probe(devnode, type, sizeof(type)) <= 0)
		return 0;
	snprintf(alias, sizeof(alias), "fs-%s", type);
	/* Types without a module alias (swap, LVM, LUKS, md members) are none of ours here. */
	if (modtree_match(t, alias, NULL, NULL) <= 0)
		return 0;
	int r = modtree_load_alias(t, alias);
	if (r > 0)
		log_info("%s holds %s: loaded its driver", devnode, type);
	return r > 0 ? r : 0;
}

/* Devices already probed by an earlier pass: the worker runs one pass right after coldplug and
 * another at settle, and a probe costs ~6 ms a device under emulation. */
static char **seen;
static int n_seen;

static int seen_before(const char *name)
{
	for (int i = 0; i < n_seen; i++)
		if (!strcmp(seen[i], name))
			return 1;
	seen = xrealloc(seen, sizeof(*seen) * (size_t)(n_seen + 1));
	seen[n_seen++] = xstrdup(name);
	return 0;
}

int fsmodules_coldplug(struct modtree *t, const char *sysfs_block)
{
	DIR *d = opendir(sysfs_block);
	if (!d)
		return -errno;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || seen_before(e->d_name))
			continue;
		char dev[300];
		snprintf(dev, sizeof(dev), "/dev/%s", e->d_name);
		n += fsmodule_load_for(t, dev);
	}
	closedir(d);
	return n;
}
