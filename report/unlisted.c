/* See unlisted.h. */
#include "report/unlisted.h"

#include <stdio.h>
#include <string.h>

#include "discover/blockdev.h"
#include "lib/sysblock.h"

int found_unlisted(const struct found *f, const char *sysroot, char *names, size_t size)
{
	if (size)
		names[0] = 0;
	struct devtab t;
	int r = blockdev_list(sysroot, &t);
	if (r < 0)
		return r;
	int n = 0;
	size_t used = 0;
	for (int i = 0; i < t.n; i++) {
		const struct blockdev *d = &t.d[i];
		if ((f && found_device(f, d->path)) || sysblock_virtual(sysroot, d->name))
			continue;
		n++;
		size_t l = strlen(d->name);
		if (size && used + l + 2 <= size) {
			used += (size_t)snprintf(names + used, size - used, "%s%s", used ? " " : "", d->name);
		}
	}
	devtab_free(&t);
	return n;
}
