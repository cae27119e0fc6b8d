/* A mount's options from a disk's fstab (through the scan report), split into mount(2) flags
 * and the filesystem's data string, into a buffer of a size the input chooses. Whether it fits
 * or is refused (-EINVAL), the data string holds whole words of the input, joined by commas: a
 * word cut short would hand the filesystem an option nobody wrote (subvol=/@nix cut to
 * subvol=/@n). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "act/mountplan.h"

static int word_of(const char *opts, const char *w, size_t wl)
{
	for (const char *p = opts; *p;) {
		size_t l = strcspn(p, ",");
		if (l == wl && !memcmp(p, w, wl))
			return 1;
		p += l;
		if (*p)
			p++;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t room = 1 + data[0] % 200;
	char *opts = malloc(size);
	memcpy(opts, data + 1, size - 1);
	opts[size - 1] = 0;
	char *out = malloc(room);
	unsigned long flags;
	int r = mountopts_parse(opts, &flags, out, room);
	if (r != 0 && r != -EINVAL)
		abort();
	const unsigned long known = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME |
				    MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME | MS_SYNCHRONOUS |
				    MS_DIRSYNC | MS_LAZYTIME;
	if (flags & ~known)
		abort();
	size_t n = strnlen(out, room);
	if (n >= room)
		abort();
	for (const char *p = out; *p;) {
		size_t l = strcspn(p, ",");
		if (!l || !word_of(opts, p, l))
			abort();
		p += l;
		if (*p && !*++p)
			abort(); /* a trailing comma */
	}
	free(out);
	free(opts);
	return 0;
}
