#include "discover/probe.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/fsstate.h"
#include "lib/job.h"
#include "lib/log.h"
#include "lib/util.h"
#include "report/record.h"

/* One disk's devices: indices into the table, the disk itself first when it is listed. */
struct disk_job {
	struct devtab *t;
	int *idx, n;
	int timeout_ms;
};

/* In the child: a device's results as one record, sent at once, so that the devices probed
 * before a hang are kept (the job keeps whole lines at its deadline), and so that the deadline
 * is each device's: it counts from the last answer (JOB_IDLE_DEADLINE), so a disk with many
 * partitions on a slow day is not given up while it keeps answering. */
static void send_one(struct blockdev *d, void *arg)
{
	FILE *out = arg;
	char amb[4], err[16];
	if (!d->ambiguous && !strcmp(d->type, "vfat")) {
		/* An ESP is never mounted: its state and space come from its first sectors. */
		int st = fs_state(d->path, d->type);
		unsigned long long size = 0, avail = 0;
		if (st >= 0)
			snprintf(d->fsstate, sizeof(d->fsstate), "%s", fs_state_code(st));
		if (fs_fat_space(d->path, &size, &avail) == 0) {
			snprintf(d->fssize, sizeof(d->fssize), "%llu", size);
			if (avail != (unsigned long long)-1)
				snprintf(d->fsfree, sizeof(d->fsfree), "%llu", avail);
		}
	}
	snprintf(amb, sizeof(amb), "%d", d->ambiguous);
	snprintf(err, sizeof(err), "%d", d->probe_err);
	report_put(out, "probed", "name", d->name, "type", d->type, "uuid", d->uuid, "label", d->label,
		   "partuuid", d->partuuid, "partlabel", d->partlabel, "ambiguous", amb, "err", err,
		   "fsstate", d->fsstate, "fssize", d->fssize, "fsfree", d->fsfree, NULL);
	fflush(out);
}

static int probe_child(FILE *out, void *arg)
{
	struct disk_job *dj = arg;
	/* Test seam: a disk named here never answers (unit tests have no dying disk). */
	const char *hang = getenv("LIFEBOAT_PROBE_HANG");
	if (hang && !strcmp(hang, dj->t->d[dj->idx[0]].name))
		for (;;)
			pause();
	struct devtab mine = {xcalloc((size_t)dj->n, sizeof(struct blockdev)), dj->n};
	for (int k = 0; k < dj->n; k++)
		mine.d[k] = dj->t->d[dj->idx[k]];
	blockdev_probe_each(&mine, send_one, out);
	return 0;
}

static void copy_field(char *dst, size_t size, const struct record *r, const char *key)
{
	const char *v = record_get(r, key);
	snprintf(dst, size, "%s", v ? v : "");
}

/* In the parent: the records of one disk's child into the table; its devices without one did
 * not answer (at the deadline) or were lost with a crashed child. */
static void disk_done(struct child_job *job, void *arg)
{
	struct disk_job *dj = arg;
	int *got = xcalloc((size_t)dj->n, sizeof(*got));
	struct report rep;
	report_parse(&rep, job->text ? job->text : "");
	for (int i = report_next(&rep, "probed", -1); i >= 0; i = report_next(&rep, "probed", i)) {
		const struct record *r = &rep.r[i];
		const char *name = record_get(r, "name");
		for (int k = 0; name && k < dj->n; k++) {
			struct blockdev *d = &dj->t->d[dj->idx[k]];
			if (got[k] || strcmp(d->name, name))
				continue;
			got[k] = 1;
			copy_field(d->type, sizeof(d->type), r, "type");
			copy_field(d->uuid, sizeof(d->uuid), r, "uuid");
			copy_field(d->label, sizeof(d->label), r, "label");
			copy_field(d->partuuid, sizeof(d->partuuid), r, "partuuid");
			copy_field(d->partlabel, sizeof(d->partlabel), r, "partlabel");
			copy_field(d->fsstate, sizeof(d->fsstate), r, "fsstate");
			copy_field(d->fssize, sizeof(d->fssize), r, "fssize");
			copy_field(d->fsfree, sizeof(d->fsfree), r, "fsfree");
			d->ambiguous = (int)record_int(r, "ambiguous", 0) != 0;
			d->probe_err = (int)record_int(r, "err", 0);
			break;
		}
	}
	report_free(&rep);
	int timeout = job->res == CHILD_TIMEOUT || job->res == CHILD_LOST;
	for (int k = 0; k < dj->n; k++) {
		struct blockdev *d = &dj->t->d[dj->idx[k]];
		if (got[k])
			continue;
		if (timeout) {
			d->silent_ms = dj->timeout_ms;
			log_warn("%s: not answering after %d s: not probed", d->path, dj->timeout_ms / 1000);
		} else {
			d->probe_err = -EIO;
			log_warn("%s: the probe ended without a result (%s)", d->path, job->why);
		}
	}
	free(job->text);
	job->text = NULL;
	free(got);
}

void probe_disks(struct devtab *t, int timeout_ms, int parallel)
{
	struct disk_job *dj = xcalloc((size_t)t->n + 1, sizeof(*dj));
	struct child_job *jobs = xcalloc((size_t)t->n + 1, sizeof(*jobs));
	int *taken = xcalloc((size_t)t->n + 1, sizeof(*taken));
	int n = 0;
	/* Whole disks first in each group: blockdev_probe_each reads a disk's table once, with it. */
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < t->n; i++) {
			if (taken[i] || (pass == 0 && t->d[i].partition))
				continue;
			struct disk_job *j = &dj[n];
			*j = (struct disk_job){t, xcalloc((size_t)t->n, sizeof(int)), 0, timeout_ms};
			for (int k = i; k < t->n; k++)
				if (!taken[k] && !strcmp(t->d[k].disk, t->d[i].disk)) {
					taken[k] = 1;
					j->idx[j->n++] = k;
				}
			jobs[n] = (struct child_job){.fn = probe_child, .arg = j, .timeout_ms = timeout_ms,
						     .flags = JOB_KEEP_PARTIAL | JOB_IDLE_DEADLINE,
						     .done = disk_done, .done_arg = j};
			n++;
		}
	child_run_all(jobs, n, parallel);
	for (int k = 0; k < n; k++)
		free(dj[k].idx);
	free(taken);
	free(jobs);
	free(dj);
}
