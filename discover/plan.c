#include "discover/plan.h"

#include <string.h>

#include "lib/fstype.h"
#include "report/record.h"

void plan_emit(FILE *out, const char *sysid, int number, const struct fstab *t,
	       const struct devtab *devs, const char *prefer_disk, struct plan_summary *s)
{
	memset(s, 0, sizeof(*s));
	char num[24];
	snprintf(num, sizeof(num), "%d", number);
	for (int i = 0; i < t->n; i++) {
		const struct fstab_entry *e = &t->e[i];
		const struct blockdev *dev = NULL;
		const char *status, *subvol = e->subvol;
		int locked = 0, ambiguous = 0;
		if (e->swap) {
			status = "swap-ignored";
		} else if (!strcmp(e->type, "tmpfs") || !strcmp(e->type, "ramfs")) {
			status = "tmpfs";
		} else if (e->bind) {
			status = "bind";
		} else if (e->subvol && *e->subvol && !fstype_subvol_ok(e->subvol)) {
			/* Mounting it would pass options the fstab did not mean (lib/fstype). */
			status = "bad-subvol";
			subvol = NULL;
			report_put(out, "problem", "path", NULL, "what", "fstab", "msg",
				   "a subvol= in the fstab holds '\"': that entry is not used", "system",
				   sysid, NULL);
		} else {
			dev = devs ? devtab_resolve(devs, e->spec, prefer_disk, &locked, &ambiguous) : NULL;
			if (dev)
				status = "ok";
			else if (locked)
				status = "locked";
			else if (ambiguous)
				status = "ambiguous";
			else if (e->spec[0] != '/' && !strchr(e->spec, '='))
				status = "virtual"; /* proc, sysfs, a network share... not a disk of ours */
			else
				status = e->nofail ? "nofail-missing" : "missing";
		}
		report_put(out, "mount", "system", sysid, "number", num, "source", dev ? dev->path : NULL,
			   "spec", e->spec, "target", e->target, "type", e->type, "options", e->options,
			   "status", status, "subvol", e->subvol, NULL);
		if (e->swap)
			continue;
		if (!strcmp(e->target, "/")) {
			s->root_listed = 1;
			s->root_tmpfs = !strcmp(status, "tmpfs");
			s->root = dev;
			s->rootsubvol = subvol;
		} else if (!strcmp(e->target, "/nix")) {
			s->nix_listed = 1;
			s->nix = dev;
			s->nixsubvol = subvol;
		} else if (!strcmp(e->target, "/boot") || (!s->boot && !strcmp(e->target, "/boot/efi"))) {
			s->boot = dev;
		}
	}
}
