/* See unlisted.h. */
#include "report/unlisted.h"

#include <stdio.h>
#include <string.h>

#include "discover/blockdev.h"
#include "lib/sysblock.h"

/* Names, space-separated, as many as fit whole; " ..." once one does not (room for it is kept). */
static void name_add(char *names, size_t size, size_t *used, int *cut, const char *name)
{
	size_t l = strlen(name), more = sizeof(" ...") - 1;
	if (!size || *cut)
		return;
	if (*used + (*used ? 1 : 0) + l + more + 1 <= size) {
		*used += (size_t)snprintf(names + *used, size - *used, "%s%s", *used ? " " : "", name);
		return;
	}
	*cut = 1;
	if (*used + more + 1 <= size)
		*used += (size_t)snprintf(names + *used, size - *used, "%s...", *used ? " " : "");
}

int found_behind(const struct found *f, const char *sysroot, struct behind *b)
{
	memset(b, 0, sizeof(*b));
	struct devtab t;
	int r = blockdev_list(sysroot, &t);
	if (r < 0)
		return r;
	int cut = 0;
	size_t used = 0;
	for (int i = 0; i < t.n; i++) {
		const struct blockdev *d = &t.d[i];
		if ((f && found_device(f, d->path)) || sysblock_virtual(sysroot, d->name))
			continue;
		b->unlisted++;
		name_add(b->unlisted_names, sizeof(b->unlisted_names), &used, &cut, d->name);
	}
	cut = 0;
	used = 0;
	for (int i = f ? report_next(&f->rep, "device", -1) : -1; i >= 0; i = report_next(&f->rep, "device", i)) {
		const char *path = record_str(&f->rep.r[i], "path");
		int here = 0;
		for (int k = 0; k < t.n && !here; k++)
			here = !strcmp(t.d[k].path, path);
		if (here || strncmp(path, "/dev/", 5))
			continue;
		b->gone++;
		name_add(b->gone_names, sizeof(b->gone_names), &used, &cut, path + 5);
	}
	devtab_free(&t);
	return 0;
}
