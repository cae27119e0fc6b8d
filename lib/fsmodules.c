#include "lib/fsmodules.h"

#include <blkid/blkid.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/fstype.h"
#include "lib/log.h"
#include "lib/util.h"

/* The filesystem type libblkid finds on a block device ("ext4", "vfat"...): 1 when found, 0
 * when none, -errno. Superblocks only, read-only, no partition tables. */
static int probe_type(const char *devnode, char *type, size_t size)
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

int fsmodules_load_type(struct modtree *t, const char *type)
{
	const struct fstype *ft = fstype_find(type);
	int before = t->loaded;
	/* Types lifeboat does not know (and layers: swap, LUKS, LVM, md members) load nothing. */
	for (int i = 0; ft && i < FSTYPE_MODULES && ft->modules[i]; i++)
		modtree_load(t, ft->modules[i]); /* a helper the CPU cannot run (crc32c_intel) fails */
	return t->loaded - before;
}

int fsmodule_load_for(struct modtree *t, const char *devnode)
{
	char type[64];
	if (probe_type(devnode, type, sizeof(type)) <= 0)
		return 0;
	int n = fsmodules_load_type(t, type);
	if (n > 0)
		log_info("%s holds %s: loaded its driver", devnode, type);
	return n;
}

/* Devices already probed by an earlier pass: the worker runs one pass right after coldplug and
 * another at settle, and a probe is not free (docs/bench.md). */
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
