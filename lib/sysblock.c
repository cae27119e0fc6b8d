/* See sysblock.h. */
#include "sysblock.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

char *sysblock_value(const char *sysroot, const char *dev, const char *what)
{
	char *p = xasprintf("%s/class/block/%s/%s", sysroot, dev, what), *v = NULL;
	if (read_file_at(AT_FDCWD, p, 512, &v) < 0)
		v = NULL;
	free(p);
	return v ? rstrip(v) : NULL;
}

int sysblock_each(const char *sysroot, const char *prefix, int (*fn)(const char *dev, void *ctx),
		  void *ctx)
{
	char *dir = xasprintf("%s/class/block", sysroot);
	DIR *d = opendir(dir);
	free(dir);
	if (!d)
		return 0;
	int r = 0;
	struct dirent *de;
	while (!r && (de = readdir(d)))
		if (de->d_name[0] != '.' && startswith(de->d_name, prefix))
			r = fn(de->d_name, ctx);
	closedir(d);
	return r;
}

int sysblock_virtual(const char *sysroot, const char *dev)
{
	char *p = xasprintf("%s/class/block/%s", sysroot, dev), target[512];
	ssize_t n = readlink(p, target, sizeof(target) - 1);
	free(p);
	if (n < 0)
		return 0;
	target[n] = 0;
	return sysblock_path_virtual(target);
}

int sysblock_path_virtual(const char *devpath)
{
	return strstr(devpath, "/devices/virtual/") != NULL || startswith(devpath, "devices/virtual/");
}

int sysblock_holders(const char *sysroot, const char *dev)
{
	char *p = xasprintf("%s/class/block/%s/holders", sysroot, dev);
	DIR *d = opendir(p);
	free(p);
	int n = 0;
	struct dirent *de;
	while (d && (de = readdir(d)))
		n += de->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

struct dm_count {
	const char *sysroot, *uuid_prefix;
	int n;
};

static int count_one(const char *dm, void *ctx)
{
	struct dm_count *c = ctx;
	char *u = sysblock_value(c->sysroot, dm, "dm/uuid");
	c->n += u && startswith(u, c->uuid_prefix);
	free(u);
	return 0;
}

int sysblock_dm_count(const char *sysroot, const char *uuid_prefix)
{
	struct dm_count c = {sysroot, uuid_prefix, 0};
	sysblock_each(sysroot, "dm-", count_one, &c);
	return c.n;
}
