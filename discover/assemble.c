#include "discover/assemble.h"
#include "discover/luks.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/fsmodules.h"
#include "lib/fstype.h"
#include "lib/job.h"
#include "lib/layout.h"
#include "lib/log.h"
#include "lib/modules.h"
#include "lib/sysblock.h"
#include "lib/util.h"
#include "report/record.h"

#define MDADM_CONF RUN_DIR "/mdadm.conf"

/* md and dm drivers: lib/modules follows no softdeps, so the personalities are named here. */
static const char *const md_modules[] = {"md_mod", "raid1", "raid0", "raid10", "raid456", "linear"};
static const char *const dm_modules[] = {"dm_mod", "dm_mirror", "dm_snapshot", "dm_raid"};

static void load(const char *const *names, size_t n)
{
	struct modtree mt;
	if (modtree_open_running(&mt) < 0)
		return;
	for (size_t i = 0; i < n; i++)
		modtree_load(&mt, names[i]);
	modtree_free(&mt);
}

static int tool(char *const *argv, int timeout_ms, char **text, char *msg, size_t size)
{
	return job_tool(argv, timeout_ms, text, msg, size);
}

static void put_problem(FILE *out, const char *path, const char *what, const char *msg)
{
	report_put(out, "problem", "path", path, "what", what, "msg", msg, NULL);
}

/* The /dev/md/<name> link that points at NAME (mdadm makes them when there is no udev; ours,
 * md_short_links, only when mdadm's has a HOST: part, which is then preferred). */
static void md_link_name(const char *mddir, const char *name, char *out, size_t size)
{
	*out = 0;
	DIR *d = opendir(mddir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		char target[128];
		ssize_t n = readlinkat(dirfd(d), de->d_name, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = 0;
		const char *base = strrchr(target, '/');
		/* mdadm's own link (HOST:NAME for a foreign array) before our short one. */
		if (!strcmp(base ? base + 1 : target, name) && (!*out || strchr(de->d_name, ':'))) {
			snprintf(out, size, "%.100s", de->d_name);
			if (strchr(out, ':'))
				break;
		}
	}
	closedir(d);
}

int md_array_put(FILE *out, const char *sysroot, const char *mddir, const char *name)
{
	char *level = sysblock_value(sysroot, name, "md/level"), *disks = sysblock_value(sysroot, name, "md/raid_disks");
	char *degraded = sysblock_value(sysroot, name, "md/degraded"), *state = sysblock_value(sysroot, name, "md/array_state");
	int n = disks ? atoi(disks) : 0, problems = 0;
	char members[512] = "", missing[256] = "", link[128], path[80], mdname[160] = "";
	snprintf(path, sizeof(path), "/dev/%.60s", name);
	md_link_name(mddir, name, link, sizeof(link));
	if (*link)
		snprintf(mdname, sizeof(mdname), "%s/%s", mddir, link);
	/* Each active slot N has a link md/rdN -> dev-<member>; a slot without one is missing. */
	for (int i = 0; i < n && i < 64; i++) {
		char *p = xasprintf("%s/class/block/%s/md/rd%d", sysroot, name, i), target[128];
		ssize_t l = readlink(p, target, sizeof(target) - 1);
		free(p);
		size_t ml = strlen(members), xl = strlen(missing);
		if (l > 0) {
			target[l] = 0;
			const char *m = strstr(target, "dev-");
			snprintf(members + ml, sizeof(members) - ml, "%s/dev/%.60s", ml ? "," : "", m ? m + 4 : target);
		} else {
			snprintf(missing + xl, sizeof(missing) - xl, "%s%d", xl ? "," : "", i + 1);
		}
	}
	int is_degraded = (degraded && atoi(degraded) > 0) || *missing;
	const char *st = !state || !strcmp(state, "inactive") || !strcmp(state, "clear") ? "inactive"
			 : is_degraded ? "degraded" : "clean";
	report_put(out, "array", "path", path, "name", *link ? link : NULL, "link", *mdname ? mdname : NULL,
		   "level", level, "disks", disks, "state", st, "members", members, "missing", missing,
		   "mdstate", state, NULL);
	if (strcmp(st, "clean")) {
		char msg[1200];
		if (!strcmp(st, "inactive"))
			snprintf(msg, sizeof(msg), "md array %s (%s) could not be started", *mdname ? mdname : path,
				 level ? level : "?");
		else
			snprintf(msg, sizeof(msg), "md array %s (%s) runs degraded, read-only: member%s %s of %d "
				 "missing; present: %s", *mdname ? mdname : path, level ? level : "?",
				 strchr(missing, ',') ? "s" : "", *missing ? missing : "?", n,
				 *members ? members : "none");
		put_problem(out, path, "degraded", msg);
		problems++;
	}
	free(level);
	free(disks);
	free(degraded);
	free(state);
	return problems;
}

static char *field(char **s)
{
	char *f = strsep(s, "|");
	if (!f)
		return NULL;
	while (*f == ' ')
		f++;
	return rstrip(f);
}

/* A device-mapper name as lvm makes it: VG-LV, each '-' inside VG and LV doubled. */
static void dm_name(const char *vg, const char *lv, char *out, size_t size)
{
	size_t o = 0;
	for (int part = 0; part < 2; part++) {
		for (const char *p = part ? lv : vg; *p && o + 3 < size; p++) {
			if (*p == '-')
				out[o++] = '-';
			out[o++] = *p;
		}
		if (!part && o + 2 < size)
			out[o++] = '-';
	}
	out[o] = 0;
}

/* Append the PVs of one lvs "devices" field ("/dev/vda1(0),[unknown](32)") to list, each once,
 * by its real name (lvm may say /dev/md/NAME for /dev/md127); counts missing and present. */
static void lv_devices(const char *field, char *list, size_t size, int *missing, int *present)
{
	char *copy = xstrdup(field ? field : ""), *save = copy, *d;
	while ((d = strsep(&save, ","))) {
		char *paren = strchr(d, '(');
		if (paren)
			*paren = 0;
		if (!*d)
			continue;
		if (d[0] != '/') {
			(*missing)++;
			continue;
		}
		(*present)++;
		char real[PATH_MAX];
		const char *name = realpath(d, real) ? real : d;
		size_t l = strlen(list), nl = strlen(name);
		int dup = 0;
		for (const char *p = list; (p = strstr(p, name)); p += nl)
			dup |= (p == list || p[-1] == ',') && (p[nl] == ',' || !p[nl]);
		if (!dup)
			snprintf(list + l, size - l, "%s%s", l ? "," : "", name);
	}
	free(copy);
}

struct lvrow {
	char vg[128], lv[128], attr[16], devices[512];
	int missing, present;
};

/* The LVs of the lvs report, segments merged. */
static int lv_rows(const char *text, struct lvrow *rows, int max)
{
	char *copy = xstrdup(text ? text : ""), *save = copy, *line;
	int n = 0;
	while ((line = strsep(&save, "\n"))) {
		char *vg = field(&line), *lv = field(&line), *attr = field(&line), *devs = field(&line);
		if (!vg || !*vg || !lv || !*lv || !attr)
			continue;
		int k = 0;
		while (k < n && (strcmp(rows[k].vg, vg) || strcmp(rows[k].lv, lv)))
			k++;
		if (k == n) {
			if (n == max)
				continue;
			memset(&rows[n], 0, sizeof(rows[n]));
			snprintf(rows[n].vg, sizeof(rows[n].vg), "%s", vg);
			snprintf(rows[n].lv, sizeof(rows[n].lv), "%s", lv);
			snprintf(rows[n].attr, sizeof(rows[n].attr), "%s", attr);
			n++;
		}
		lv_devices(devs, rows[k].devices, sizeof(rows[k].devices), &rows[k].missing, &rows[k].present);
	}
	free(copy);
	return n;
}

int lvm_vgs_put(FILE *out, const char *text, const char *lvs, const char *pvs)
{
	char *copy = xstrdup(text ? text : ""), *save = copy, *line;
	int problems = 0;
	struct lvrow *rows = xcalloc(256, sizeof(*rows));
	int nrows = lv_rows(lvs, rows, 256);
	while ((line = strsep(&save, "\n"))) {
		char *vg = field(&line), *attr = field(&line), *nlvs = field(&line), *npvs = field(&line);
		char *miss = field(&line);
		if (!vg || !*vg || !miss)
			continue;
		int missing = atoi(miss);
		/* vg_attr's fourth letter is p when the VG is partial (a PV missing). */
		int partial = missing > 0 || (attr && strlen(attr) > 3 && attr[3] == 'p');
		report_put(out, "vg", "name", vg, "state", partial ? "partial" : "complete", "lvs", nlvs,
			   "pvs", npvs, "missingpvs", miss, NULL);
		char gone[300] = "", whole[300] = "";
		for (int i = 0; i < nrows; i++) {
			const struct lvrow *r = &rows[i];
			if (strcmp(r->vg, vg))
				continue;
			/* lv_attr: the fifth letter a when active, the ninth p when partial. */
			int lvpartial = r->missing || (strlen(r->attr) > 8 && r->attr[8] == 'p');
			const char *st = !lvpartial ? "complete" : r->present ? "partial" : "missing";
			char dm[300], path[320], link[300];
			dm_name(vg, r->lv, dm, sizeof(dm));
			snprintf(path, sizeof(path), "/dev/mapper/%s", dm);
			snprintf(link, sizeof(link), "/dev/%.120s/%.120s", vg, r->lv);
			report_put(out, "lv", "path", path, "link", link, "vg", vg, "name", r->lv, "state", st,
				   "active", strlen(r->attr) > 4 && r->attr[4] == 'a' ? "1" : "0", "devices",
				   r->devices, NULL);
			char *to = lvpartial ? gone : whole;
			size_t l = strlen(to);
			snprintf(to + l, sizeof(gone) - l, "%s%.60s", l ? ", " : "", r->lv);
		}
		if (partial) {
			char uuids[300] = "";
			char *pc = xstrdup(pvs ? pvs : ""), *ps = pc, *pl;
			while ((pl = strsep(&ps, "\n"))) {
				char *name = field(&pl), *uuid = field(&pl), *pvg = field(&pl), *pattr = field(&pl);
				if (!name || !uuid || !pvg || strcmp(pvg, vg))
					continue;
				if (name[0] == '/' && !(pattr && strlen(pattr) > 2 && pattr[2] == 'm'))
					continue;
				size_t l = strlen(uuids);
				snprintf(uuids + l, sizeof(uuids) - l, "%s%.40s", l ? ", " : "", uuid);
			}
			free(pc);
			char msg[1200];
			snprintf(msg, sizeof(msg), "LVM volume group %.100s has %s of %s physical volumes "
				 "missing (PV UUID %s): not activated, their data is on it: %s; activated: %s. "
				 "Its metadata is left unchanged", vg, miss, npvs ? npvs : "?",
				 *uuids ? uuids : "?", *gone ? gone : "none", *whole ? whole : "none");
			report_put(out, "problem", "path", NULL, "what", "degraded", "msg", msg, NULL);
			problems++;
		}
	}
	free(rows);
	free(copy);
	return problems;
}

static int has_type(const struct devtab *t, const char *type)
{
	for (int i = 0; i < t->n; i++)
		if (!strcmp(t->d[i].type, type))
			return 1;
	return 0;
}

/* md arrays that exist now, by name (md127, md0...). */
struct md_names {
	char (*names)[32];
	int n, max;
};

static int md_name_one(const char *dev, void *ctx)
{
	struct md_names *m = ctx;
	if (strlen(dev) < 32)
		snprintf(m->names[m->n++], 32, "%.30s", dev);
	return m->n >= m->max;
}

static int md_arrays(const char *sysroot, char names[][32], int max)
{
	struct md_names m = {names, 0, max};
	if (max > 0)
		sysblock_each(sysroot, "md", md_name_one, &m);
	return m.n;
}

void md_short_links(const char *mddir)
{
	DIR *d = opendir(mddir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *colon = strchr(de->d_name, ':');
		if (!colon || !colon[1] || de->d_name[0] == '.')
			continue;
		char target[128];
		ssize_t n = readlinkat(dirfd(d), de->d_name, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = 0;
		/* The first array of a name keeps it: two "root" arrays of two hosts are named
		 * by their full names only after that. */
		char *p = xasprintf("%s/%s", mddir, colon + 1);
		if (symlink(target, p) < 0 && errno != EEXIST)
			log_info("assemble: cannot link %s: %s", p, strerror(errno));
		free(p);
	}
	closedir(d);
}

/* The array records of every md array there is. Returns their count. */
static int list_md(FILE *out, const char *sysroot, int *problems)
{
	char names[64][32];
	int n = md_arrays(sysroot, names, 64);
	for (int i = 0; i < n; i++)
		*problems += md_array_put(out, sysroot, "/dev/md", names[i]);
	md_short_links("/dev/md");
	return n;
}

/* Is there an md member that no array holds yet (sysroot/class/block/NAME/holders empty)? */
static int has_free_member(const struct devtab *t, const char *sysroot)
{
	for (int i = 0; i < t->n; i++) {
		if (strcmp(t->d[i].type, "linux_raid_member"))
			continue;
		if (!sysblock_holders(sysroot, t->d[i].name))
			return 1;
	}
	return 0;
}

static int assemble_md(FILE *out, const char *sysroot, int timeout_ms, int *problems)
{
	load(md_modules, ARRAY_SIZE(md_modules));
	/* Every array on every disk, whatever its homehost (a rescue system is never its home), no
	 * ARRAY lines: what the superblocks say is what is assembled. */
	mkdir_p(RUN_DIR, 0755);
	write_file(MDADM_CONF, "DEVICE partitions containers\nHOMEHOST <ignore>\nAUTO +all\n");
	char *const argv[] = {MDADM_BIN, "--assemble", "--scan", "--readonly", "--run",
			      "--config=" MDADM_CONF, NULL};
	char *text, msg[400];
	if (tool(argv, timeout_ms, &text, msg, sizeof(msg)) < 0) {
		/* mdadm exits 1 when one array of several fails; those that started are kept. */
		put_problem(out, NULL, "assemble", msg);
		(*problems)++;
	}
	if (text)
		log_info("mdadm: %s", rstrip(text));
	free(text);
	return list_md(out, sysroot, problems);
}

static int activate_lvm(FILE *out, int timeout_ms, int *problems)
{
	load(dm_modules, ARRAY_SIZE(dm_modules));
	mkdir_p("/run/lock/lvm", 0700);
	/* --sysinit: no daemons, no monitoring, no polling; -K: also LVs flagged to skip
	 * activation. Activation mode degraded (lvm's default, said here): in a VG with a PV
	 * missing, every LV that is whole (or a RAID LV with a full copy left) is activated, an LV
	 * with a part on the missing PV is not (partial mode would map that part to an I/O error
	 * target: a filesystem on it mounts and then fails wherever it reads). lvm.conf forbids
	 * every metadata write (metadata_read_only, no backup or archive). */
	char *const argv[] = {LVM_BIN, "vgchange", "-ay", "--sysinit", "-K", "--activationmode",
			      "degraded", NULL};
	char *text, msg[400];
	int ok = tool(argv, timeout_ms, &text, msg, sizeof(msg)) == 0;
	free(text);
	char *const vgs[] = {LVM_BIN, "vgs", "--noheadings", "--separator", "|", "-o",
			     "vg_name,vg_attr,lv_count,pv_count,vg_missing_pv_count", NULL};
	char *const lvs[] = {LVM_BIN, "lvs", "--noheadings", "--separator", "|", "-o",
			     "vg_name,lv_name,lv_attr,devices", NULL};
	char *const pvs[] = {LVM_BIN, "pvs", "--noheadings", "--separator", "|", "-o",
			     "pv_name,pv_uuid,vg_name,pv_attr", NULL};
	char *vt = NULL, *lt = NULL, *pt = NULL, m2[400];
	/* lvs and pvs exit 5 on a partial VG after printing what they know: their text is used. */
	int vr = tool(vgs, timeout_ms, &vt, m2, sizeof(m2));
	tool(lvs, timeout_ms, &lt, m2, sizeof(m2));
	tool(pvs, timeout_ms, &pt, m2, sizeof(m2));
	int partial = 0;
	if (vr == 0 || vt) {
		int p = lvm_vgs_put(out, vt, lt, pt);
		*problems += p;
		partial = p > 0;
	}
	/* vgchange fails on a partial VG for the LVs it refused: the VG's problem says which. */
	if (!ok && !partial) {
		put_problem(out, NULL, "activate", msg);
		(*problems)++;
	} else if (!ok) {
		log_info("lvm vgchange: %s", msg);
	}
	free(vt);
	free(lt);
	free(pt);
	return ok || partial;
}

static int same_btrfs(const struct blockdev *a, const struct blockdev *b)
{
	return !strcmp(a->type, "btrfs") && !strcmp(b->type, "btrfs") && *a->uuid &&
	       !strcmp(a->uuid, b->uuid);
}

int btrfs_first_member(const struct devtab *t, int i)
{
	for (int j = 0; j < i; j++)
		if (!t->d[j].ambiguous && same_btrfs(&t->d[j], &t->d[i]))
			return j;
	return i;
}

/* Every btrfs device is registered with the kernel before anything mounts (a multi-device
 * btrfs mounts only with all its members known, or `degraded`); one with a member missing is
 * reported. */
static void btrfs_members(FILE *out, const struct devtab *t, int *problems)
{
	int any = 0;
	for (int i = 0; i < t->n && !any; i++)
		any = !t->d[i].ambiguous && !strcmp(t->d[i].type, "btrfs");
	if (!any)
		return;
	struct modtree mt;
	if (modtree_open_running(&mt) == 0) {
		fsmodules_load_type(&mt, "btrfs");
		modtree_free(&mt);
	}
	/* What an earlier scan registered (and a degraded mount left) is forgotten first: the
	 * devices here now are the members there are. */
	int fr = btrfs_forget_unmounted();
	if (fr < 0)
		log_info("assemble: btrfs device scan --forget: %s", strerror(-fr));
	for (int i = 0; i < t->n; i++)
		if (!t->d[i].ambiguous && !strcmp(t->d[i].type, "btrfs")) {
			int r = btrfs_register(t->d[i].path);
			if (r < 0)
				log_info("assemble: btrfs device scan %s: %s", t->d[i].path, strerror(-r));
		}
	for (int i = 0; i < t->n; i++) {
		const struct blockdev *d = &t->d[i];
		if (d->ambiguous || strcmp(d->type, "btrfs") || btrfs_first_member(t, i) != i)
			continue;
		char members[512] = "";
		int n = 0;
		for (int j = i; j < t->n; j++)
			if (!t->d[j].ambiguous && same_btrfs(d, &t->d[j])) {
				size_t l = strlen(members);
				snprintf(members + l, sizeof(members) - l, "%s%s", n ? "," : "", t->d[j].path);
				n++;
			}
		int complete = btrfs_complete(d->path);
		if (n < 2 && complete != 0)
			continue;
		report_put(out, "btrfs", "uuid", d->uuid, "label", d->label, "members", members, "state",
			   complete > 0 ? "complete" : complete == 0 ? "degraded" : "unknown", NULL);
		if (complete == 0) {
			char msg[900];
			snprintf(msg, sizeof(msg), "btrfs %.100s (%.60s) is missing member devices: present "
				 "%s; inspected degraded, read-only", *d->label ? d->label : "-", d->uuid,
				 members);
			put_problem(out, d->path, "degraded", msg);
			(*problems)++;
		}
	}
}

int assemble_run(const struct devtab *t, const char *sysroot, int timeout_ms, char **records,
		 int *problems)
{
	size_t len = 0;
	FILE *out = open_memstream(records, &len);
	*problems = 0;
	if (!out) {
		*records = NULL;
		return 0;
	}
	int any = 0;
	/* A member already in a running array (a second scan) has a holder: mdadm would only say
	 * it found nothing to assemble, with status 1. */
	if (has_free_member(t, sysroot))
		any |= assemble_md(out, sysroot, timeout_ms, problems) > 0;
	else if (has_type(t, "linux_raid_member"))
		list_md(out, sysroot, problems), any = 1;
	/* A PV may be on an array just started: lvm scans /dev itself, so it finds it there. */
	if (any || has_type(t, "LVM2_member"))
		any |= activate_lvm(out, timeout_ms, problems);
	/* btrfs on what was just assembled registers after the caller's new listing: it calls
	 * assemble_btrfs() then. Without assembly, the devices of t are all there is. */
	if (!any)
		btrfs_members(out, t, problems);
	fclose(out);
	return any;
}

void assemble_btrfs(const struct devtab *t, char **records, int *problems)
{
	size_t len = 0, had = *records ? strlen(*records) : 0;
	char *more = NULL;
	FILE *out = open_memstream(&more, &len);
	if (!out)
		return;
	btrfs_members(out, t, problems);
	fclose(out);
	if (len) {
		*records = xrealloc(*records, had + len + 1);
		memcpy(*records + had, more, len + 1);
	}
	free(more);
}

/* One device and what it is built on (sysfs slaves), depth first: every md array among them
 * that runs read-only is made writable with mdadm --readwrite. */
static int writable_walk(const char *sysroot, const char *name, int depth, int timeout_ms, char *msg,
			 size_t size)
{
	if (depth > 8 || strchr(name, '/'))
		return 0;
	int made = 0;
	char *p = xasprintf("%s/class/block/%s/slaves", sysroot, name);
	DIR *d = opendir(p);
	free(p);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		int r = writable_walk(sysroot, de->d_name, depth + 1, timeout_ms, msg, size);
		if (r < 0) {
			made = r;
			break;
		}
		made += r;
	}
	if (d)
		closedir(d);
	if (made >= 0 && startswith(name, "dm-") && luks_is_crypt(sysroot, name)) {
		/* An unlocked LUKS device, opened read-only for the scan. */
		int r = luks_writable(sysroot, name, timeout_ms, msg, size);
		return r < 0 ? -1 : made + r;
	}
	if (made < 0 || !startswith(name, "md"))
		return made;
	char *state = sysblock_value(sysroot, name, "md/array_state");
	int ro = state && (!strcmp(state, "readonly") || !strcmp(state, "read-auto"));
	free(state);
	if (!ro)
		return made;
	char dev[80];
	snprintf(dev, sizeof(dev), "/dev/%.60s", name);
	char *const argv[] = {MDADM_BIN, "--readwrite", dev, NULL};
	char *text;
	int r = tool(argv, timeout_ms, &text, msg, size);
	free(text);
	if (r < 0)
		return -1;
	/* The scan's inspection found the array read-only and put that flag back (BLKROSET) when
	 * it was done: the device's own flag outlives md's, so it is cleared too. */
	int fd = open(dev, O_RDONLY | O_CLOEXEC), zero = 0;
	if (fd < 0 || ioctl(fd, BLKROSET, &zero) < 0) {
		snprintf(msg, size, "cannot make %s writable (BLKROSET): %s", dev, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return made + 1;
}

int assemble_writable(const char *sysroot, const char *dev, int timeout_ms, char *msg, size_t size)
{
	*msg = 0;
	/* By device number: /dev/mapper/NAME is a node of its own, not a link to dm-N. */
	struct stat st;
	if (!dev || !startswith(dev, "/dev/") || stat(dev, &st) < 0 || !S_ISBLK(st.st_mode))
		return 0;
	char *link = xasprintf("%s/dev/block/%u:%u", sysroot, major(st.st_rdev), minor(st.st_rdev));
	char real[PATH_MAX];
	ssize_t n = readlink(link, real, sizeof(real) - 1);
	free(link);
	if (n <= 0)
		return 0;
	real[n] = 0;
	const char *base = strrchr(real, '/');
	return writable_walk(sysroot, base ? base + 1 : real, 0, timeout_ms, msg, size);
}

static int stop_at_first(const char *dev, void *ctx)
{
	(void)dev, (void)ctx;
	return 1;
}

static int any_block(const char *prefix)
{
	return sysblock_each("/sys", prefix, stop_at_first, NULL);
}

static void teardown_step(char *const *argv, const char *target, const char *what,
			  void (*report)(const char *, const char *, int, void *), void *ctx)
{
	char *text, msg[400];
	if (report)
		report(target, what, 1 /* SHUTDOWN_STARTING */, ctx);
	int r = tool(argv, 30000, &text, msg, sizeof(msg));
	if (text && r < 0)
		log_warn("%s: %s", what, rstrip(text));
	free(text);
	if (report)
		report(target, what, r < 0 ? -EBUSY : 0, ctx);
}

int assemble_teardown(void (*report)(const char *target, const char *what, int err, void *ctx),
		      void *ctx)
{
	int steps = 0;
	/* LVs first (they may sit on arrays), then the arrays; what is still open stays. */
	if (sysblock_dm_count("/sys", "LVM-") && access(LVM_BIN, X_OK) == 0) {
		mkdir_p("/run/lock/lvm", 0700);
		char *const argv[] = {LVM_BIN, "vgchange", "-an", "--sysinit", NULL};
		teardown_step(argv, "LVM volume groups", "deactivate", report, ctx);
		steps++;
	}
	/* Then the unlocked LUKS devices (LVM on LUKS: free now), and the LVs a mapping held
	 * (LUKS on LVM). */
	if (luks_any_open("/sys")) {
		if (report)
			report("encrypted volumes", "close", 1, ctx);
		int left = 0;
		luks_close_all("/sys", 30000, &left);
		if (report)
			report("encrypted volumes", "close", left ? -EBUSY : 0, ctx);
		steps++;
		if (sysblock_dm_count("/sys", "LVM-") && access(LVM_BIN, X_OK) == 0) {
			char *const argv[] = {LVM_BIN, "vgchange", "-an", "--sysinit", NULL};
			teardown_step(argv, "LVM volume groups", "deactivate", report, ctx);
			steps++;
		}
	}
	if (any_block("md") && access(MDADM_BIN, X_OK) == 0) {
		char *const argv[] = {MDADM_BIN, "--stop", "--scan", NULL};
		teardown_step(argv, "md arrays", "stop", report, ctx);
		steps++;
	}
	return steps;
}
