#include "lib/layout.h"
#include "discover/scan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "discover/assemble.h"
#include "discover/blockdev.h"
#include "discover/dedup.h"
#include "lib/job.h"
#include "discover/inspect.h"
#include "discover/cryptnames.h"
#include "discover/luks.h"
#include "discover/probe.h"
#include "report/record.h"
#include "lib/fsmodules.h"
#include "lib/fstype.h"
#include "lib/escape.h"
#include "lib/fsstate.h"
#include "lib/log.h"
#include "lib/util.h"

struct counts {
	int devices, systems, problems;
};

static void scan_problem(FILE *out, struct counts *c, const char *dev, const char *what,
		    const char *msg, const char *sys)
{
	report_put(out, "problem", "path", dev, "what", what, "msg", msg, "system", sys, NULL);
	c->problems++;
}

/* Re-emit a child's record, with its system key replaced by the final id. */
static void record_put(FILE *out, const struct record *r, const char *sysid)
{
	fputs(r->kind, out);
	for (int i = 0; i < r->n; i++) {
		const char *v = !strcmp(r->key[i], "system") && sysid ? sysid : r->val[i];
		char *e = escape_value(v ? v : "");
		fprintf(out, " %s=%s", r->key[i], *e ? e : "-");
		free(e);
	}
	fputc('\n', out);
}

/* An ESP is never mounted by the scan: its state and space come from its first sectors, read
 * by the probe's child (discover/probe.c). (Inspected types get theirs from the inspection.) */
static void fat_state_put(FILE *out, const struct blockdev *d)
{
	report_put(out, "fsstate", "path", d->path, "type", d->type, "state", d->fsstate, "mounted",
		   NULL, "size", d->fssize, "free", d->fsfree, NULL);
}

static const struct blockdev *by_path(const struct devtab *t, const char *path)
{
	for (int i = 0; path && i < t->n; i++)
		if (!strcmp(t->d[i].path, path))
			return &t->d[i];
	return NULL;
}

/* A disk that did not answer its probe is named once, not once per partition (the menu shows
 * a few problems only); a partition is named when its disk did answer. The next scan (a rescan
 * from the menu) probes it again. */
static void silent_problem(FILE *out, struct counts *c, const struct devtab *t, const struct blockdev *d)
{
	const struct blockdev *disk = d->partition ? by_path(t, d->disk) : NULL;
	if (disk && disk->silent_ms)
		return;
	char msg[160];
	snprintf(msg, sizeof(msg), "not answering after %d s: not read (a rescan tries again)",
		 d->silent_ms / 1000);
	scan_problem(out, c, d->path, "noanswer", msg, NULL);
}

/* One found system from a child's report: the system record, then its records. */
static void emit_system(FILE *out, const struct report *rep, int fi, const struct devtab *devs,
			int copy, struct counts *c)
{
	const struct record *f = &rep->r[fi];
	const char *cand = record_get(f, "cand");
	const char *where = record_get(f, "where");
	const char *subvol = record_get(f, "subvol");
	const struct blockdev *dev = by_path(devs, record_get(f, "dev"));
	if (!cand || !where)
		return; /* not a line our child writes: ignore it */
	char id[16];
	snprintf(id, sizeof(id), "%d", ++c->systems);
	const struct blockdev *root = NULL;
	const char *layout, *rootsubvol = NULL;
	char msg[200] = "";
	int btrfs_sub = subvol && *subvol;
	if (!strcmp(where, "top")) {
		root = dev;
		rootsubvol = subvol;
		layout = btrfs_sub ? "btrfs" : "inroot";
	} else if (record_int(f, "planroottmpfs", 0)) {
		layout = "tmpfs";
	} else {
		layout = btrfs_sub ? "btrfs" : "split";
		root = by_path(devs, record_get(f, "planroot"));
		rootsubvol = record_get(f, "planrootsubvol");
		if (!root)
			snprintf(msg, sizeof(msg), "%s",
				 record_int(f, "planrootlisted", 0)
					 ? "the root filesystem named in the generation's fstab is not among the devices"
					 : "the generation's fstab names no root filesystem");
	}
	report_put(out, "system", "id", id, "host", record_get(f, "host"), "version",
		   record_get(f, "version"), "layout", layout, "root", root ? root->path : NULL,
		   "rootuuid", root ? root->uuid : NULL, "rootlabel", root ? root->label : NULL,
		   "roottype", root ? root->type : !strcmp(layout, "tmpfs") ? "tmpfs" : NULL,
		   "rootsubvol", rootsubvol, "nix", dev ? dev->path : NULL, "nixsubvol", subvol,
		   "nixprefix", record_get(f, "nixprefix"), "current", record_get(f, "current"),
		   "generations", record_get(f, "generations"), "esp", record_get(f, "planboot"),
		   "snapshot", copy ? "1" : NULL, NULL);
	if (*msg)
		scan_problem(out, c, dev ? dev->path : NULL, "fstab", msg, id);
	for (int i = 0; i < rep->n; i++) {
		const struct record *r = &rep->r[i];
		const char *s = record_get(r, "system");
		if (!s || strcmp(s, cand) || !strcmp(r->kind, "found"))
			continue;
		record_put(out, r, id);
		if (!strcmp(r->kind, "problem"))
			c->problems++;
	}
}

/* Subvolume names come from the disk: escaped before they reach a console. */
static void log_dup(const struct dedup_cand *dup, const struct dedup_cand *kept)
{
	char a[64], b[64];
	term_escape(dup->subvol ? dup->subvol : "", a, sizeof(a), 40);
	term_escape(kept->subvol ? kept->subvol : "", b, sizeof(b), 40);
	log_debug("scan: '%s' shows the system found in '%s' again: listed once", a, b);
}

/* The child's candidates, each written as a system unless it is one already written: one
 * install seen from several trees of this filesystem (discover/dedup.c). Done here, per
 * device, so that the report still streams device by device. */
static void emit_systems(FILE *out, const struct report *rep, const struct devtab *devs,
			 struct counts *c)
{
	int n = 0;
	for (int i = report_next(rep, "found", -1); i >= 0; i = report_next(rep, "found", i))
		n++;
	struct dedup_cand *dc = xcalloc((size_t)n + 1, sizeof(*dc));
	int *at = xcalloc((size_t)n + 1, sizeof(*at));
	n = 0;
	for (int i = report_next(rep, "found", -1); i >= 0; i = report_next(rep, "found", i)) {
		const struct record *f = &rep->r[i];
		const char *where = record_get(f, "where");
		dc[n] = (struct dedup_cand){
			.where = where && !strcmp(where, "nixfs") ? DEDUP_NIXFS : DEDUP_TOP,
			.dev = record_get(f, "dev"),
			.subvol = record_get(f, "subvol"),
			.profiles = record_get(f, "profiles"),
			.planroot = record_get(f, "planroot"),
			.planrootsubvol = record_get(f, "planrootsubvol"),
			.plannix = record_get(f, "plannix"),
			.plannixsubvol = record_get(f, "plannixsubvol"),
		};
		at[n++] = i;
	}
	dedup_systems(dc, n);
	for (int k = 0; k < n; k++)
		if (dc[k].same_as < 0)
			emit_system(out, rep, at[k], devs, dedup_is_copy(&dc[k]), c);
		else
			log_dup(&dc[k], &dc[dc[k].same_as]);
	free(at);
	free(dc);
}

struct fault_args {
	struct inspect_args *ia;
	const char *fault;
};

static int inspect_with_fault(FILE *out, void *arg)
{
	struct fault_args *fa = arg;
	if (fa->fault && !strcmp(fa->fault, "hang"))
		for (;;)
			pause();
	if (fa->fault && !strcmp(fa->fault, "crash"))
		raise(SIGSEGV);
	return inspect_child(out, fa->ia);
}

static int set_ro(const char *path, int ro)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	int old = 0;
	int r = ioctl(fd, BLKROGET, &old) < 0 ? -errno : old;
	if (r >= 0 && ioctl(fd, BLKROSET, &ro) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* A LUKS device: described by cryptsetup (read-only for the kernel meanwhile, as for an
 * inspection), and named a problem while it is locked. */
static void luks_found(FILE *out, struct counts *c, const struct blockdev *d, const struct scan_opts *o,
		       const struct cryptnames *cn)
{
	int was_ro = o->blkro ? set_ro(d->path, 1) : -1;
	struct cryptchoice ch;
	int named = cryptnames_choose(cn, d->uuid, &ch);
	int locked = luks_describe(out, d, o->sysroot, o->timeout_ms, named ? &ch : NULL);
	if (was_ro == 0)
		set_ro(d->path, 0);
	if (locked) {
		char msg[160];
		snprintf(msg, sizeof(msg), "encrypted (LUKS), locked: u in the menu or `lifeboat unlock %.60s`",
			 d->path);
		scan_problem(out, c, d->path, "locked", msg, NULL);
	}
}

/* Where finished inspections write, shared by all of them. */
struct sink {
	FILE *out, *progress;
	const struct devtab *t;
	struct counts *c;
};

/* One device's inspection: its arguments live here while the child runs. */
struct inspection {
	struct inspect_args ia;
	struct fault_args fa;
	char fault[128];
	int was_ro;
	struct sink *sink;
};

/* Which devices a scan made read-only, so that a scan killed before it could put them back (its
 * menu was killed, say) does not leave them so: the next scan restores what a dead scan left.
 * A device whose inspection is stuck in the kernel is marked "stuck" and stays read-only. */

static void ro_mark(const char *name, const char *what)
{
	if (mkdir_p(RO_MARK_DIR, 0700) < 0)
		return;
	char *p = xasprintf(RO_MARK_DIR "/%s", name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0) {
		write_all(fd, what, strlen(what));
		close(fd);
	}
	free(p);
}

static void ro_unmark(const char *name)
{
	char *p = xasprintf(RO_MARK_DIR "/%s", name);
	unlink(p);
	free(p);
}

/* "PID STARTTIME" of a process, from /proc/PID/stat; NULL when it is gone or a zombie (a scan
 * killed in a shell stays a zombie until the shell reaps it). The start time tells a reused pid
 * from the scan that wrote a mark. */
static char *proc_identity(pid_t pid)
{
	char *p = xasprintf("/proc/%d/stat", (int)pid), *stat = NULL, *id = NULL;
	if (read_file_at(AT_FDCWD, p, 4096, &stat) > 0) {
		/* The name (field 2) may hold spaces and parentheses: fields start after the last ')'. */
		char *f = strrchr(stat, ')');
		char state = 0;
		unsigned long long start = 0;
		if (f && sscanf(f + 1, " %c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s "
				"%*s %*s %*s %llu", &state, &start) == 2 && state != 'Z' && state != 'X')
			id = xasprintf("%d %llu", (int)pid, start);
	}
	free(stat);
	free(p);
	return id;
}

static void ro_recover(void)
{
	DIR *dir = opendir(RO_MARK_DIR);
	if (!dir)
		return;
	struct dirent *de;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		char *p = xasprintf(RO_MARK_DIR "/%s", de->d_name), *who = NULL;
		if (read_file_at(AT_FDCWD, p, 64, &who) > 0 && strcmp(rstrip(who), "stuck")) {
			char *now = proc_identity((pid_t)atoi(who));
			if (!now || strcmp(now, who)) {
				char *dev = xasprintf("/dev/%s", de->d_name);
				if (set_ro(dev, 0) >= 0)
					log_info("%s was left read-only by a scan that was stopped; writable again", dev);
				free(dev);
				unlink(p);
			}
			free(now);
		}
		free(who);
		free(p);
	}
	closedir(dir);
}

static void inspection_done(struct child_job *job, void *arg);

/* me: this scan's proc_identity, written into the read-only marks (NULL: none are written). */
static void inspection_prepare(struct inspection *in, struct child_job *job, struct blockdev *d,
			       const struct devtab *t, const struct scan_opts *o, const char *me)
{
	in->ia = (struct inspect_args){d, t, o->inspect_dir, 1};
	in->fa = (struct fault_args){&in->ia, NULL};
	if (o->fault) {
		snprintf(in->fault, sizeof(in->fault), "%s", o->fault);
		char *colon = strchr(in->fault, ':');
		if (colon) {
			*colon = 0;
			if (!strcmp(in->fault, d->name))
				in->fa.fault = colon + 1;
		}
	}
	/* The device is read-only for the kernel while a foreign driver looks at it: a write
	 * attempt fails instead of reaching the disk. The old state is put back afterwards, so
	 * that `lifeboat enter` can mount read-write. */
	if (o->blkro && me)
		ro_mark(d->name, me);
	in->was_ro = o->blkro ? set_ro(d->path, 1) : -1;
	if (o->blkro && in->was_ro != 0)
		ro_unmark(d->name); /* read-only before us (or unknown): not ours to undo */
	*job = (struct child_job){.fn = inspect_with_fault, .arg = &in->fa, .timeout_ms = o->timeout_ms,
				  .done = inspection_done, .done_arg = in};
}

/* A name a found system's own initrd gives a LUKS device: kept as `cryptname uuid= name= from=`
 * when its device is a LUKS device here (what `lifeboat unlock` renames a mapping by). */
static void initrd_ref(FILE *out, const struct record *r, const struct devtab *t)
{
	struct cryptnames cn = {0};
	if (cryptnames_add(&cn, t, record_get(r, "ref"), record_get(r, "name"), record_get(r, "from")))
		report_put(out, "cryptname", "uuid", cn.e[0].uuid, "name", cn.e[0].name, "from", cn.e[0].from, NULL);
	cryptnames_free(&cn);
}

static void inspection_finish(FILE *out, struct inspection *in, struct child_job *job,
			      const struct devtab *t, struct counts *c)
{
	const struct blockdev *d = in->ia.dev;
	enum child_result res = job->res;
	if (in->was_ro == 0 && res != CHILD_LOST) {
		set_ro(d->path, 0);
		ro_unmark(d->name);
	} else if (in->was_ro == 0) {
		ro_mark(d->name, "stuck");
	}
	char msg[300];
	if (res == CHILD_TIMEOUT || res == CHILD_LOST) {
		snprintf(msg, sizeof(msg), "inspection gave up: %s%s", job->why,
			 res == CHILD_LOST && in->was_ro == 0 ? "; the device stays read-only" : "");
		scan_problem(out, c, d->path, "timeout", msg, NULL);
		return;
	}
	if (res == CHILD_CRASH) {
		snprintf(msg, sizeof(msg), "inspection crashed (%s)", job->why);
		scan_problem(out, c, d->path, "crash", msg, NULL);
		free(job->text);
		return;
	}
	if (res == CHILD_FAILED) {
		snprintf(msg, sizeof(msg), "inspection failed (%s)", job->why);
		scan_problem(out, c, d->path, "inspect", msg, NULL);
	}
	struct report rep;
	report_parse(&rep, job->text ? job->text : "");
	free(job->text);
	for (int i = 0; i < rep.n; i++)
		if (!strcmp(rep.r[i].kind, "problem") && !record_get(&rep.r[i], "system")) {
			record_put(out, &rep.r[i], NULL);
			c->problems++;
		} else if (!strcmp(rep.r[i].kind, "fsstate")) {
			record_put(out, &rep.r[i], NULL);
		} else if (!strcmp(rep.r[i].kind, "cryptref")) {
			initrd_ref(out, &rep.r[i], t);
		} else if (!strcmp(rep.r[i].kind, "cryptnote")) {
			/* A system's own initrd that says nothing of LUKS is not a problem of the disk. */
			char f[200], m[200];
			log_debug("scan: initrd %s: %s", term_escape(record_str(&rep.r[i], "from"), f, sizeof(f), 160),
				  term_escape(record_str(&rep.r[i], "msg"), m, sizeof(m), 160));
		}
	emit_systems(out, &rep, t, c);
	report_free(&rep);
}

/* A line per device for a person watching (`lifeboat scan` on a terminal). Made whole, then
 * written at once: stderr is unbuffered, and the records on stdout (`lifeboat scan | grep`) reach
 * the same terminal, so a line written in pieces would be cut by them. */
static void progress(FILE *p, const struct inspection *in, const struct child_job *job, int systems)
{
	const struct blockdev *d = in->ia.dev;
	char name[48], what[200];
	term_escape(d->name, name, sizeof(name), 40);
	long long ms = now_ms() - (job->deadline - job->timeout_ms);
	if (job->res == CHILD_TIMEOUT || job->res == CHILD_LOST)
		snprintf(what, sizeof(what), "gave up after %d s", job->timeout_ms / 1000);
	else if (job->res == CHILD_CRASH)
		snprintf(what, sizeof(what), "crashed (%s)", job->why);
	else if (job->res == CHILD_FAILED)
		snprintf(what, sizeof(what), "failed (%s)", job->why);
	else if (systems)
		snprintf(what, sizeof(what), "done in %lld ms: %d NixOS system%s", ms, systems, systems == 1 ? "" : "s");
	else
		snprintf(what, sizeof(what), "done in %lld ms: no NixOS", ms);
	/* One buffer, one write: an unbuffered printf may write in pieces. */
	char line[320];
	snprintf(line, sizeof(line), "lifeboat scan: inspecting %s (%s) ... %s\n", name, d->type, what);
	fputs(line, p);
	fflush(p);
}

/* Each device's records are written as its inspection ends, so a reader (the menu, whose scan
 * may be killed at its deadline) has every device done so far; one device's records stay
 * together, written at once. */
static void inspection_done(struct child_job *job, void *arg)
{
	struct inspection *in = arg;
	struct sink *s = in->sink;
	int before = s->c->systems;
	inspection_finish(s->out, in, job, s->t, s->c);
	job->text = NULL;
	fflush(s->out);
	if (s->progress)
		progress(s->progress, in, job, s->c->systems - before);
}

/* Inspections run side by side: under emulation and on real disks alike most of a mount is
 * waiting for reads, so a few at once overlap that wait even on one CPU. Each keeps its own
 * deadline; the report lists devices as their inspections end. */
static void inspect_all(FILE *out, const struct devtab *t, const struct scan_opts *o,
			struct counts *c)
{
	struct inspection *in = xcalloc((size_t)t->n + 1, sizeof(*in));
	struct child_job *jobs = xcalloc((size_t)t->n + 1, sizeof(*jobs));
	struct sink sink = {out, o->progress, t, c};
	char *me = o->blkro ? proc_identity(getpid()) : NULL;
	int n = 0;
	for (int i = 0; i < t->n; i++)
		/* A multi-device btrfs is one filesystem: inspected from its first member. */
		if (!t->d[i].ambiguous && fstype_inspectable(t->d[i].type) && btrfs_first_member(t, i) == i) {
			in[n].sink = &sink;
			inspection_prepare(&in[n], &jobs[n], &t->d[i], t, o, me);
			n++;
		}
	free(me);
	int parallel = o->jobs > 0 ? o->jobs : SCAN_JOBS;
	if (o->progress) {
		fprintf(o->progress, "lifeboat scan: %d block devices; inspecting %d filesystems, %d at once\n",
			t->n, n, parallel < n ? parallel : n);
		fflush(o->progress);
	}
	child_run_all(jobs, n, parallel);
	free(jobs);
	free(in);
}

/* No udev and no modprobe helper: the drivers of the filesystems present (and the helpers they
 * ask the kernel for) are loaded here, before the children mount. */
static void load_fs_modules(const struct devtab *t)
{
	const char **types = xcalloc((size_t)t->n + 1, sizeof(*types));
	int n = 0;
	for (int i = 0; i < t->n; i++)
		if (!t->d[i].ambiguous && fstype_inspectable(t->d[i].type))
			types[n++] = t->d[i].type;
	fsmodules_ensure(types, n);
	free(types);
}

int scan_run(FILE *out, const struct scan_opts *o)
{
	long long start = now_ms();
	struct counts c = {0};
	struct devtab t;
	if (o->blkro)
		ro_recover();
	int r = blockdev_list(o->sysroot, &t);
	if (r < 0) {
		char msg[200];
		snprintf(msg, sizeof(msg), "cannot list block devices in %s/class/block: %s", o->sysroot,
			 strerror(-r));
		scan_problem(out, &c, NULL, "devices", msg, NULL);
	}
	long long listed = now_ms();
	int parallel = o->jobs > 0 ? o->jobs : SCAN_JOBS;
	probe_disks(&t, o->timeout_ms, parallel);
	/* md arrays and LVM volume groups first: what they reveal is listed and probed again,
	 * like any device; their records follow the device records. */
	char *assembled = NULL;
	int assembled_problems = 0;
	if (o->assemble && assemble_run(&t, o->sysroot, o->timeout_ms, &assembled, &assembled_problems)) {
		devtab_free(&t);
		r = blockdev_list(o->sysroot, &t);
		probe_disks(&t, o->timeout_ms, parallel);
		assemble_btrfs(&t, &assembled, &assembled_problems);
	}
	/* The names the systems' own initrds give their LUKS mappings, read from the boot
	 * filesystems (readable while the roots are locked): only where there is LUKS. */
	struct cryptnames cn = {0};
	int any_luks = 0;
	for (int i = 0; o->luks && i < t.n; i++)
		any_luks |= !t.d[i].ambiguous && !strcmp(t.d[i].type, "crypto_LUKS");
	if (any_luks)
		cryptnames_learn(&cn, &t, o->timeout_ms);
	long long probed_only = now_ms();
	for (int i = 0; i < t.n; i++) {
		struct blockdev *d = &t.d[i];
		char size[24];
		snprintf(size, sizeof(size), "%llu", d->size);
		report_put(out, "device", "path", d->path, "disk", d->disk, "type", d->type, "uuid", d->uuid,
			   "label", d->label, "partuuid", d->partuuid, "partlabel", d->partlabel, "size",
			   size, NULL);
		c.devices++;
		if (!d->ambiguous && !strcmp(d->type, "vfat"))
			fat_state_put(out, d);
		const struct fstype *ft = fstype_find(d->type);
		if (d->ambiguous)
			scan_problem(out, &c, d->path, "ambiguous",
				"more than one filesystem signature: not inspected, never chosen", NULL);
		else if (!strcmp(d->type, "crypto_LUKS") && o->luks)
			luks_found(out, &c, d, o, &cn);
		else if (ft && ft->problem_what)
			scan_problem(out, &c, d->path, ft->problem_what, ft->problem_msg, NULL);
		else if (d->silent_ms)
			silent_problem(out, &c, &t, d);
		else if (d->probe_err) {
			char msg[120];
			snprintf(msg, sizeof(msg), "cannot probe: %s", strerror(-d->probe_err));
			scan_problem(out, &c, d->path, "probe", msg, NULL);
		}
	}
	if (cn.problems) {
		fputs(cn.problems, out);
		c.problems += cn.n_problems;
	}
	cryptnames_free(&cn);
	if (assembled) {
		fputs(assembled, out);
		c.problems += assembled_problems;
		free(assembled);
	}
	if (o->links_dir) {
		int lr = disk_links_create(o->links_dir, &t);
		if (lr < 0) {
			char msg[160];
			snprintf(msg, sizeof(msg), "cannot create %s links: %s", o->links_dir, strerror(-lr));
			scan_problem(out, &c, NULL, "links", msg, NULL);
		}
	}
	fflush(out);
	long long probed = now_ms();
	if (o->load_modules)
		load_fs_modules(&t);
	long long loaded = now_ms();
	inspect_all(out, &t, o, &c);
	/* Where the time went, for the bench and for a slow machine's log. */
	log_debug("scan: %d devices: listed in %lld ms, probed %lld ms, linked %lld ms, drivers %lld ms, "
		 "inspected %lld ms", t.n, listed - start, probed_only - listed, probed - probed_only,
		 loaded - probed, now_ms() - loaded);
	char nd[16], ns[16], np[16], ms[24];
	snprintf(nd, sizeof(nd), "%d", c.devices);
	snprintf(ns, sizeof(ns), "%d", c.systems);
	snprintf(np, sizeof(np), "%d", c.problems);
	snprintf(ms, sizeof(ms), "%lld", now_ms() - start);
	report_put(out, "done", "devices", nd, "systems", ns, "problems", np, "ms", ms, NULL);
	devtab_free(&t);
	return r < 0 ? r : c.systems;
}
