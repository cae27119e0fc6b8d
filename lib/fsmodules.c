#include "lib/fsmodules.h"

#include <blkid/blkid.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fstype.h"
#include "lib/job.h"
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

int fsmodules_preload(struct modtree *t)
{
	static const char *const likely[] = FSMODULES_LIKELY;
	int n = 0;
	for (size_t i = 0; i < ARRAY_SIZE(likely); i++)
		n += fsmodules_load_type(t, likely[i]);
	return n;
}

int fsmodules_registered(const char *filesystems, const char *type)
{
	for (const char *l = filesystems; l && *l;) {
		const char *end = strchr(l, '\n');
		size_t len = end ? (size_t)(end - l) : strlen(l);
		const char *tab = memchr(l, '\t', len);
		if (tab) {
			size_t n = len - (size_t)(tab + 1 - l);
			if (n == strlen(type) && !memcmp(tab + 1, type, n))
				return 1;
		}
		l = end ? end + 1 : l + len;
	}
	return 0;
}

int fsmodules_ensure(const char *const *types, int n)
{
	char *fs = NULL;
	if (read_file_at(AT_FDCWD, "/proc/filesystems", 1 << 16, &fs) < 0) {
		free(fs);
		fs = NULL;
	}
	struct modtree mt;
	int opened = 0, loaded = 0;
	for (int i = 0; i < n; i++) {
		int again = 0;
		for (int j = 0; j < i && !again; j++)
			again = !strcmp(types[i], types[j]);
		if (again || !fstype_find(types[i]) || fsmodules_registered(fs, types[i]))
			continue;
		/* Opening the tree reads and parses modules.alias and modules.dep: only when a
		 * driver is missing. */
		if (!opened && modtree_open_running(&mt) < 0)
			break;
		opened = 1;
		loaded += fsmodules_load_type(&mt, types[i]);
	}
	if (opened)
		modtree_free(&mt);
	free(fs);
	return loaded;
}

/* In a child: the type on one device, as one line. */
static int type_job(FILE *out, void *arg)
{
	char type[64];
	if (probe_type(arg, type, sizeof(type)) > 0)
		fprintf(out, "%s\n", type);
	return 0;
}

struct load_job {
	struct modtree *t;
	const char *devnode;
	int loaded;
};

static void type_done(struct child_job *job, void *arg)
{
	struct load_job *lj = arg;
	if (job->res == CHILD_TIMEOUT || job->res == CHILD_LOST) {
		log_warn("%s: not answering after %d s: no file system driver loaded for it", lj->devnode,
			 job->timeout_ms / 1000);
	} else if (job->res == CHILD_OK && job->text && *rstrip(job->text)) {
		lj->loaded = fsmodules_load_type(lj->t, job->text);
		if (lj->loaded > 0)
			log_info("%s holds %s: loaded its driver", lj->devnode, job->text);
	}
	free(job->text);
	job->text = NULL;
}

int fsmodules_load_for_all(struct modtree *t, char *const *devnodes, int n, int timeout_ms)
{
	if (n <= 0)
		return 0;
	struct load_job *lj = xcalloc((size_t)n, sizeof(*lj));
	struct child_job *jobs = xcalloc((size_t)n, sizeof(*jobs));
	for (int i = 0; i < n; i++) {
		lj[i] = (struct load_job){t, devnodes[i], 0};
		jobs[i] = (struct child_job){.fn = type_job, .arg = devnodes[i], .timeout_ms = timeout_ms,
					     .done = type_done, .done_arg = &lj[i]};
	}
	child_run_all(jobs, n, FSMODULES_JOBS);
	int loaded = 0;
	for (int i = 0; i < n; i++)
		loaded += lj[i].loaded;
	free(jobs);
	free(lj);
	return loaded;
}

int fsmodule_load_for(struct modtree *t, const char *devnode, int timeout_ms)
{
	char *const one[] = {(char *)devnode};
	return fsmodules_load_for_all(t, one, 1, timeout_ms);
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

int fsmodules_first_time(const char *name)
{
	return !seen_before(name);
}

void fsmodules_forget(const char *name)
{
	for (int i = 0; i < n_seen; i++)
		if (!strcmp(seen[i], name)) {
			free(seen[i]);
			seen[i] = seen[--n_seen];
			return;
		}
}

int fsmodules_unseen(const char *sysfs_block, char ***devnodes)
{
	*devnodes = NULL;
	DIR *d = opendir(sysfs_block);
	if (!d)
		return -errno;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || seen_before(e->d_name))
			continue;
		*devnodes = xrealloc(*devnodes, sizeof(**devnodes) * (size_t)(n + 1));
		(*devnodes)[n++] = xasprintf("/dev/%s", e->d_name);
	}
	closedir(d);
	return n;
}

void fsmodules_free_list(char **devnodes, int n)
{
	for (int i = 0; i < n; i++)
		free(devnodes[i]);
	free(devnodes);
}

int fsmodules_coldplug(struct modtree *t, const char *sysfs_block, int timeout_ms)
{
	char **list;
	int n = fsmodules_unseen(sysfs_block, &list);
	if (n < 0)
		return n;
	int loaded = fsmodules_load_for_all(t, list, n, timeout_ms);
	fsmodules_free_list(list, n);
	return loaded;
}
