/* `lifeboat check [--repair] DEVICE|SYSTEM`: a read-only check of one device, or of every
 * filesystem of a found system (its root, /nix, ESP and the mounts of its current generation),
 * each in a child with a deadline while the device is read-only (BLKROSET), so that a check
 * writes nothing. --repair names what it will change, asks for a typed "yes", refuses a device
 * in use, repairs, then checks again and shows the result. Output on stdout and in the log. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "act/fscheck.h"
#include "applets/applets.h"
#include "discover/blockdev.h"
#include "lib/escape.h"
#include "lib/fsstate.h"
#include "lib/job.h"
#include "lib/log.h"
#include "report/found.h"
#include "report/select.h"
#include "report/store.h"

#define MAX_TARGETS 32


/* Print the tool's output line by line, escaped (it quotes names from the disk), and log it. */
static void show(const char *dev, const char *text)
{
	char buf[1100];
	for (const char *p = text ? text : ""; *p;) {
		const char *e = strchr(p, '\n');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		char *line = strndup(p, n);
		if (line) {
			term_escape(line, buf, sizeof(buf), 1000);
			printf("  %s\n", buf);
			log_info("check %s: %s", dev, buf);
			free(line);
		}
		p += n + (e ? 1 : 0);
	}
	fflush(stdout);
}

static char *cmdline(const char **argv)
{
	size_t len = 1;
	for (int i = 0; argv[i]; i++)
		len += strlen(argv[i]) + 1;
	char *s = xmalloc(len);
	s[0] = 0;
	for (int i = 0; argv[i]; i++) {
		strcat(s, argv[i]);
		if (argv[i + 1])
			strcat(s, " ");
	}
	return s;
}

/* One run of the tool on t; returns its verdict. A check holds the device read-only. */
static enum fs_verdict run_one(const struct fs_target *t, int repair, int timeout_ms)
{
	const char *argv[FSCHECK_MAX_ARGS + 3];
	if (fs_tool_argv(t->tool, repair, t->type, t->dev, argv, (int)ARRAY_SIZE(argv)) < 0)
		return FS_FAILED;
	char *cl = cmdline(argv);
	printf("%s %s (%s, %s): %s\n", repair ? "repairing" : "checking", t->dev, t->type, t->what, cl);
	log_info("%s %s (%s): %s", repair ? "repair" : "check", t->dev, t->type, cl);
	free(cl);
	fflush(stdout);
	int was_ro = blk_set_ro(t->dev, repair ? 0 : 1);
	if (was_ro < 0) {
		printf("%s: cannot set it %s: %s; not %s\n", t->dev, repair ? "writable" : "read-only",
		       strerror(-was_ro), repair ? "repaired" : "checked");
		return FS_FAILED;
	}
	/* The tool's stdout and stderr both come back, in order, on the job's pipe. */
	struct child_job j = {.argv = (char *const *)argv, .flags = JOB_STDIN_NULL | JOB_STDERR_OUT,
			      .timeout_ms = timeout_ms};
	child_run_all(&j, 1, 1);
	show(t->dev, j.text);
	free(j.text);
	blk_set_ro(t->dev, was_ro);
	int st = j.res == CHILD_OK || j.res == CHILD_FAILED ? WEXITSTATUS(j.status) : -1;
	if (st == 127)
		st = -1;
	enum fs_verdict v = fs_verdict_of(t->tool, repair, st);
	/* e2fsck -n checks around a journal it may not replay and can call the rest clean: the
	 * superblock's word decides then (likewise a FAT's dirty bit). */
	int fst = fs_state(t->dev, t->type);
	if (!repair && v == FS_CLEAN && fst > FS_STATE_CLEAN) {
		printf("%s: %s\n", t->dev, fs_state_name(fst, t->type));
		v = FS_ERRORS;
	}
	printf("%s: %s (%s)\n", t->dev, fs_verdict_name(v), j.why);
	log_info("%s %s: %s (%s)", repair ? "repair" : "check", t->dev, fs_verdict_name(v), j.why);
	fflush(stdout);
	return v;
}

/* A device named on the command line, or one the report does not describe: ask blkid. */
static void probe_type(struct fs_target *t)
{
	if (t->type[0])
		return;
	struct blockdev d = {0};
	snprintf(d.path, sizeof(d.path), "%s", t->dev);
	blockdev_probe(&d);
	snprintf(t->type, sizeof(t->type), "%s", d.type[0] ? d.type : "unknown");
	t->tool = fs_tool_for(d.type);
}

static void usage(FILE *o)
{
	fprintf(o, "usage: lifeboat check [--repair] [--timeout SECONDS] DEVICE | --id N | SYSTEM\n"
		   "  Check filesystems read-only (e2fsck -n, fsck.fat -n, btrfs check --readonly,\n"
		   "  xfs_repair -n): one device, or every filesystem of a found system (UUID=, LABEL=,\n"
		   "  a device of it, or its host name; --id N as in `lifeboat scan --human`).\n"
		   "  Nothing is written: each device is read-only while it is checked.\n"
		   "  --repair   then repair what the check found, after a typed \"yes\", and check again\n"
		   "  --timeout  seconds a check may take (default 1800); a repair has no limit\n"
		   "  --expect KEY  refuse unless the system is still the one KEY names (the menu passes it)\n"
		   "  Exit status: 0 clean, 1 errors left or a check failed, 2 usage.\n");
}

int check_main(int argc, char **argv)
{
	log_open(0);
	static const struct option longopts[] = {
		{"repair", no_argument, NULL, 'R'}, {"timeout", required_argument, NULL, 't'},
		{"id", required_argument, NULL, 'i'}, {"help", no_argument, NULL, 'h'},
		{"expect", required_argument, NULL, 'E'},
		{NULL, 0, NULL, 0},
	};
	int repair = 0, id = -1, timeout_s = 1800, c;
	const char *expect = NULL;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'R': repair = 1; break;
		case 't': timeout_s = atoi(optarg); break;
		case 'i': id = atoi(optarg); break;
		case 'E': expect = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	const char *which = optind < argc ? argv[optind] : NULL;
	if ((!which && id < 0) || (which && id >= 0) || optind + 1 < argc || timeout_s <= 0) {
		usage(stderr);
		return 2;
	}
	if (getuid() != 0) {
		fprintf(stderr, "lifeboat check: must run as root\n");
		return 1;
	}
	struct fs_target ts[MAX_TARGETS];
	int n = 0;
	struct found f;
	int have = 0;
	struct stat sb;
	if (which && stat(which, &sb) == 0 && S_ISBLK(sb.st_mode)) {
		n = fs_target_add(ts, 0, MAX_TARGETS, NULL, which, "device");
	} else {
		char *text = NULL;
		int r = report_saved(&text);
		if (!text) {
			fprintf(stderr, "lifeboat check: cannot scan the disks: %s\n", strerror(-r));
			return 1;
		}
		found_load(&f, text);
		free(text);
		have = 1;
		/* The same names as lifeboat enter and lifeboat.system= (report/select). */
		char idbuf[16], why[700], ew[64];
		snprintf(idbuf, sizeof(idbuf), "%d", id);
		const char *name = id >= 0 ? idbuf : which;
		int sel = select_system_as(&f, name, expect, why, sizeof(why));
		if (sel < 0) {
			fprintf(stderr, "lifeboat check: %s is no block device, and %s\n",
				term_escape(name, ew, sizeof(ew), 60), why);
			found_free(&f);
			return 1;
		}
		const struct found_sys *s = &f.sys[sel];
		n = fs_targets(&f, s, ts, MAX_TARGETS);

	}
	int bad = 0;
	for (int i = 0; i < n; i++)
		probe_type(&ts[i]);
	/* What can be done, and what cannot, before anything runs. */
	for (int i = 0; i < n; i++) {
		struct fs_target *t = &ts[i];
		int busy = fs_unused(t->dev);
		if (!t->tool) {
			printf("%s (%s, %s): no checker for this type; skipped\n", t->dev, t->type, t->what);
		} else if (access(t->tool->path, X_OK) != 0) {
			printf("%s (%s, %s): %s is not in this image; skipped\n", t->dev, t->type, t->what,
			       t->tool->path);
			t->tool = NULL;
		} else if (busy < 0) {
			printf("%s (%s, %s): %s; not %s (unmount it first)\n", t->dev, t->type, t->what,
			       busy == -EBUSY ? "mounted or in use" : strerror(-busy),
			       repair ? "repaired" : "checked");
			t->tool = NULL;
			bad = 1;
		}
	}
	/* A read-only check of each first: a repair is offered only where it found something, and
	 * its output is what the repair will act on. */
	enum fs_verdict v[MAX_TARGETS];
	for (int i = 0; i < n; i++)
		v[i] = ts[i].tool ? run_one(&ts[i], 0, timeout_s * 1000) : FS_FAILED;
	if (repair) {
		int want[MAX_TARGETS] = {0}, todo = 0;
		for (int i = 0; i < n; i++) {
			const struct fs_target *t = &ts[i];
			if (!t->tool || v[i] == FS_CLEAN)
				continue;
			if (!todo++)
				printf("\nThe repair will write to these filesystems:\n");
			if (!t->tool->repair[0]) {
				printf("  %s (%s, %s): not repaired by lifeboat (see docs/repair.md)\n", t->dev,
				       t->type, t->what);
				todo--;
				continue;
			}
			const char *argv2[FSCHECK_MAX_ARGS + 3];
			fs_tool_argv(t->tool, 1, t->type, t->dev, argv2, (int)ARRAY_SIZE(argv2));
			char *cl = cmdline(argv2);
			printf("  %s (%s, %s): %s\n    %s\n", t->dev, t->type, t->what, cl, t->tool->repair_says);
			free(cl);
			want[i] = 1;
		}
		if (!todo) {
			printf("\nNothing to repair.\n");
		} else {
			printf("Type yes to repair, anything else to leave them as they are: ");
			fflush(stdout);
			char line[64] = "";
			if (!fgets(line, sizeof(line), stdin) || strcmp(rstrip(line), "yes")) {
				printf("\nNothing was changed.\n");
				log_info("check: repair declined");
				if (have)
					found_free(&f);
				return 1;
			}
			printf("\n");
			/* No deadline: a repair killed halfway leaves worse than it found. */
			for (int i = 0; i < n; i++)
				if (want[i])
					run_one(&ts[i], 1, INT_MAX);
			printf("\nChecking again:\n");
			for (int i = 0; i < n; i++)
				if (want[i])
					v[i] = run_one(&ts[i], 0, timeout_s * 1000);
		}
	}
	for (int i = 0; i < n; i++)
		bad |= ts[i].tool && v[i] != FS_CLEAN;
	printf("\n");
	for (int i = 0; i < n; i++)
		if (!ts[i].tool)
			printf("%s: not checked\n", ts[i].dev);
	printf("%s\n", bad ? "lifeboat check: problems remain (see above)" : "lifeboat check: every filesystem checked is clean");
	if (have)
		found_free(&f);
	return bad ? 1 : 0;
}
