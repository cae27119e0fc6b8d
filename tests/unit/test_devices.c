/* Device listing against a fake sysfs, and the timed inspection child. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "discover/blockdev.h"
#include "discover/probe.h"
#include "lib/job.h"
#include "tests/unit/check.h"
#include "tests/unit/tree.h"

static void blockdev(const char *name, const char *parent, const char *size, int partition)
{
	char dir[256], p[300];
	if (parent)
		snprintf(dir, sizeof(dir), "devices/pci/%s/%s", parent, name);
	else
		snprintf(dir, sizeof(dir), "devices/pci/%s", name);
	snprintf(p, sizeof(p), "%s/size", dir);
	tree_file(p, size);
	if (partition) {
		snprintf(p, sizeof(p), "%s/partition", dir);
		tree_file(p, "1\n");
	}
	char target[300], link[300];
	snprintf(target, sizeof(target), "../../%s", dir);
	snprintf(link, sizeof(link), "class/block/%s", name);
	tree_link(target, link);
}

static void test_sysfs(void)
{
	tree_new();
	blockdev("vda", NULL, "2097152\n", 0);
	blockdev("vda1", "vda", "2048\n", 1);
	blockdev("vda10", "vda", "2048\n", 1);
	blockdev("vda2", "vda", "2048\n", 1);
	blockdev("nvme0n1", NULL, "100\n", 0);
	blockdev("nvme0n1p1", "nvme0n1", "10\n", 1);
	blockdev("ram0", NULL, "8192\n", 0);
	blockdev("zram0", NULL, "8192\n", 0);
	blockdev("loop0", NULL, "0\n", 0);
	blockdev("loop1", NULL, "100\n", 0);
	blockdev("loop2", NULL, "100\n", 0);
	tree_file("devices/pci/loop2/loop/backing_file", "/images/disk.img\n");
	blockdev("mmcblk0", NULL, "100\n", 0);
	blockdev("mmcblk0boot0", NULL, "100\n", 0);
	blockdev("mmcblk0rpmb", NULL, "100\n", 0);
	blockdev("sr0", NULL, "0\n", 0);
	blockdev("dm-0", NULL, "100\n", 0);
	struct devtab t;
	CHECK_INT(blockdev_list(tree_root, &t), 9);
	const char *want[][2] = {{"dm-0", "/dev/dm-0"}, {"loop2", "/dev/loop2"},
				 {"mmcblk0", "/dev/mmcblk0"}, {"nvme0n1", "/dev/nvme0n1"},
				 {"nvme0n1p1", "/dev/nvme0n1"}, {"vda", "/dev/vda"},
				 {"vda1", "/dev/vda"}, {"vda2", "/dev/vda"}, {"vda10", "/dev/vda"}};
	for (int i = 0; i < t.n && i < 9; i++) {
		CHECK_STR(t.d[i].name, want[i][0]);
		CHECK_STR(t.d[i].disk, want[i][1]);
	}
	CHECK(t.n > 6 && t.d[6].partition && !t.d[5].partition);
	CHECK(t.n > 5 && t.d[5].size == 2097152ULL * 512);
	devtab_free(&t);
	CHECK_INT(blockdev_list("/nonexistent", &t), -ENOENT);

	/* /dev/disk links, in a folder of ours (never the host's /dev). */
	struct blockdev d[2] = {{.name = "vda1", .uuid = "ABCD-1234", .label = "my disk",
				 .partlabel = "EFI system partition"},
				{.name = "vda2", .label = "my disk"}};
	struct devtab dt = {d, 2};
	char dir[300];
	snprintf(dir, sizeof(dir), "%s/disk", tree_root);
	CHECK_INT(disk_links_create(dir, &dt), 3);
	char buf[64];
	ssize_t n = readlink(tree_path("disk/by-label/my\\x20disk"), buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	CHECK_STR(buf, "../../vda1");
	/* The link dangles outside /dev, but it exists. */
	n = readlink(tree_path("disk/by-partlabel/EFI\\x20system\\x20partition"), buf, sizeof(buf) - 1);
	CHECK(n > 0);
	tree_free();
}

static int writes_and_exits(FILE *out, void *arg)
{
	for (int i = 0; i < 20000; i++)
		fprintf(out, "generation number=%d padding=%s\n", i, (const char *)arg);
	return 0;
}

static int hangs(FILE *out, void *arg)
{
	fprintf(out, "partial\n");
	fflush(out);
	for (;;)
		pause();
	return 0;
}

static int crashes(FILE *out, void *arg)
{
	fprintf(out, "problem what=before-crash\n");
	fflush(out);
	raise(SIGSEGV);
	return 0;
}

static int fails(FILE *out, void *arg)
{
	return 3;
}

static void test_child(void)
{
	char *text, why[160];
	/* More than a pipe holds: the parent reads while the child writes. */
	CHECK_INT(child_run(writes_and_exits, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 10000, &text,
			    why, sizeof(why)), CHILD_OK);
	CHECK(text && strstr(text, "number=19999 "));
	free(text);
	/* The hung child never returns by itself: a result at all means the deadline ended it. */
	CHECK_INT(child_run(hangs, NULL, 300, &text, why, sizeof(why)), CHILD_TIMEOUT);
	CHECK(text == NULL);
	CHECK_INT(child_run(crashes, NULL, 5000, &text, why, sizeof(why)), CHILD_CRASH);
	CHECK(strstr(why, "signal 11") != NULL);
	CHECK(text && strstr(text, "before-crash"));
	free(text);
	CHECK_INT(child_run(fails, NULL, 5000, &text, why, sizeof(why)), CHILD_FAILED);
	free(text);
}

/* A barrier in memory shared by the children: each waits until `want` of them are in. If the
 * runner started them one after another, the first would wait alone until its deadline. */
static volatile int *barrier;

static int waits_for_siblings(FILE *out, void *arg)
{
	int want = *(int *)arg;
	__atomic_add_fetch(barrier, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(barrier, __ATOMIC_SEQ_CST) < want)
		usleep(1000);
	fprintf(out, "in\n");
	return 0;
}

static void test_child_all(void)
{
	barrier = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(barrier != MAP_FAILED);
	if (barrier == MAP_FAILED)
		return;
	/* Seven jobs three at a time: the first six meet in two groups of three, a hanging one
	 * ends at its own deadline and a crashing one costs only itself; results stay in order. */
	int three = 3, six = 6;
	struct child_job j[9] = {
		{.fn = waits_for_siblings, .arg = &three, .timeout_ms = 20000},
		{.fn = waits_for_siblings, .arg = &three, .timeout_ms = 20000},
		{.fn = waits_for_siblings, .arg = &three, .timeout_ms = 20000},
		{.fn = hangs, .timeout_ms = 200},
		{.fn = waits_for_siblings, .arg = &six, .timeout_ms = 20000},
		{.fn = crashes, .timeout_ms = 20000},
		{.fn = waits_for_siblings, .arg = &six, .timeout_ms = 20000},
		{.fn = waits_for_siblings, .arg = &six, .timeout_ms = 20000},
		{.fn = fails, .timeout_ms = 20000},
	};
	child_run_all(j, 9, 3);
	int waiters[] = {0, 1, 2, 4, 6, 7};
	for (size_t i = 0; i < sizeof(waiters) / sizeof(*waiters); i++) {
		struct child_job *w = &j[waiters[i]];
		CHECK_INT(w->res, CHILD_OK);
		CHECK(w->text && !strcmp(w->text, "in\n"));
		free(w->text);
	}
	CHECK_INT(j[3].res, CHILD_TIMEOUT);
	CHECK(j[3].text == NULL);
	CHECK_INT(j[5].res, CHILD_CRASH);
	CHECK(j[5].text && strstr(j[5].text, "before-crash"));
	free(j[5].text);
	CHECK_INT(j[8].res, CHILD_FAILED);
	free(j[8].text);
	/* One at a time, two that need each other never meet: both end at their deadline. */
	*barrier = 0;
	int two = 2;
	struct child_job k[2] = {
		{.fn = waits_for_siblings, .arg = &two, .timeout_ms = 300},
		{.fn = waits_for_siblings, .arg = &two, .timeout_ms = 300},
	};
	child_run_all(k, 2, 1);
	CHECK_INT(k[0].res, CHILD_TIMEOUT);
	CHECK_INT(k[1].res, CHILD_OK); /* the first one's count stays: the second finds two */
	free(k[1].text);
	munmap((void *)barrier, 4096);
}

/* The done callback: each outcome as its job ends, while slower jobs still run, so that a scan
 * can write a device's records without waiting for a hung one. */
static int ended[4], n_ended;

static void note_end(struct child_job *j, void *arg)
{
	int i = *(int *)arg;
	if (n_ended < 4)
		ended[n_ended++] = i;
	if (i == 1) {
		CHECK(j->res == CHILD_OK && j->text && !strcmp(j->text, "in\n"));
		free(j->text); /* the callback may take the text */
		j->text = NULL;
	}
}

static void test_child_done(void)
{
	int id[3] = {0, 1, 2}, one = 1;
	barrier = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(barrier != MAP_FAILED);
	if (barrier == MAP_FAILED)
		return;
	struct child_job j[3] = {
		{.fn = hangs, .timeout_ms = 1500, .done = note_end, .done_arg = &id[0]},
		{.fn = waits_for_siblings, .arg = &one, .timeout_ms = 20000, .done = note_end, .done_arg = &id[1]},
		{.fn = fails, .timeout_ms = 20000, .done = note_end, .done_arg = &id[2]},
	};
	child_run_all(j, 3, 2);
	CHECK_INT(n_ended, 3);
	/* The quick ones are reported first, while the hung one still runs (it ends only at its
	 * deadline: order, not clock time, is what is checked; no timed assertions here). */
	CHECK_INT(ended[0], 1);
	CHECK_INT(ended[1], 2);
	CHECK_INT(ended[2], 0);
	CHECK_INT(j[0].res, CHILD_TIMEOUT);
	CHECK(j[1].text == NULL);
	CHECK_INT(j[2].res, CHILD_FAILED);
	free(j[2].text);
	munmap((void *)barrier, 4096);
}

/* libblkid reads regular files as well as devices: an ext4 image probes as ext4, and one that
 * also carries a FAT boot sector is ambiguous (never mounted, never chosen). */
static void test_probe(void)
{
	tree_new();
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && truncate -s 8M a.img v.img && mkfs.ext4 -q -L 'my\tlabel' a.img && "
		 "cp a.img e.img && mkfs.vfat v.img >/dev/null && "
		 "dd if=v.img of=a.img bs=512 count=1 conv=notrunc 2>/dev/null",
		 tree_root);
	if (system(cmd) != 0) {
		fprintf(stderr, "  (mkfs.ext4/mkfs.vfat missing: probe test skipped)\n");
		tree_free();
		return;
	}
	struct blockdev d = {0};
	snprintf(d.path, sizeof(d.path), "%.70s", tree_path("e.img"));
	blockdev_probe(&d);
	CHECK_STR(d.type, "ext4");
	CHECK_STR(d.label, "my\tlabel");
	CHECK(!d.ambiguous && strlen(d.uuid) == 36);
	struct blockdev a = {0};
	snprintf(a.path, sizeof(a.path), "%.70s", tree_path("a.img"));
	blockdev_probe(&a);
	CHECK(a.ambiguous);
	CHECK_STR(a.type, "");
	tree_free();
}

/* The scan's probes, a child per disk: a disk that never answers (the seam LIFEBOAT_PROBE_HANG:
 * its child waits forever, as on a read of a dying disk) costs its own deadline and comes back
 * with silent_ms and no type; the disks after it, one job at a time, are still probed; a FAT's
 * state and space come back from the child too. */
static void test_probe_disks(void)
{
	tree_new();
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "cd '%s' && truncate -s 8M e.img hung && truncate -s 40M v.img && "
		 "mkfs.ext4 -q -L ok e.img && cp e.img hung && mkfs.vfat -F 32 v.img >/dev/null", tree_root);
	if (system(cmd) != 0) {
		fprintf(stderr, "  (mkfs.ext4/mkfs.vfat missing: probe_disks test skipped)\n");
		tree_free();
		return;
	}
	struct blockdev d[3];
	memset(d, 0, sizeof(d));
	const char *files[] = {"hung", "e.img", "v.img"};
	for (int i = 0; i < 3; i++) {
		snprintf(d[i].name, sizeof(d[i].name), "%s", files[i]);
		snprintf(d[i].path, sizeof(d[i].path), "%.70s", tree_path(files[i]));
		memcpy(d[i].disk, d[i].path, sizeof(d[i].path));
	}
	struct devtab t = {d, 3};
	setenv("LIFEBOAT_PROBE_HANG", "hung", 1);
	long long start = now_ms();
	probe_disks(&t, 1000, 1);
	long long took = now_ms() - start;
	unsetenv("LIFEBOAT_PROBE_HANG");
	CHECK_INT(d[0].silent_ms, 1000);
	CHECK_STR(d[0].type, ""); /* an ext4 had it answered */
	CHECK_INT(d[1].silent_ms, 0);
	CHECK_STR(d[1].type, "ext4");
	CHECK_STR(d[1].label, "ok");
	CHECK_STR(d[2].type, "vfat");
	CHECK_STR(d[2].fsstate, "clean");
	CHECK(atoll(d[2].fssize) > 0 && atoll(d[2].fsfree) > 0);
	/* A figure, not an assertion (timing depends on the machine's load); that the hung device
	 * was given up on at its deadline is silent_ms above, and that this returned at all. */
	fprintf(stderr, "  bench: probe_disks with one hung device (1000 ms deadline) took %lld ms\n", took);
	/* The twin: the same disk answering is probed (a rescan tries it again). */
	struct devtab again = {d, 1};
	d[0].silent_ms = 0;
	probe_disks(&again, 1000, 1);
	CHECK_INT(d[0].silent_ms, 0);
	CHECK_STR(d[0].type, "ext4");
	tree_free();
}

/* Programs as jobs (the scan child, a checker, kexec-tools): their stdout (and stderr when
 * asked) on the pipe; at a deadline, with JOB_KEEP_PARTIAL, the whole lines written so far stay
 * (what the menu shows of a killed scan); run_wait gives the wait status or -ETIMEDOUT. */
static void test_exec_jobs(void)
{
	char *ok[] = {"/bin/sh", "-c", "echo out; echo err >&2; exit 4", NULL};
	struct child_job j = {.argv = ok, .flags = JOB_STDIN_NULL | JOB_STDERR_OUT, .timeout_ms = 10000};
	child_run_all(&j, 1, 1);
	CHECK_INT(j.res, CHILD_FAILED);
	CHECK(WIFEXITED(j.status) && WEXITSTATUS(j.status) == 4);
	CHECK_STR(j.text, "out\nerr\n");
	free(j.text);
	char *slow[] = {"/bin/sh", "-c", "printf 'one\\ntwo\\nhal'; exec sleep 30", NULL};
	struct child_job k = {.argv = slow, .flags = JOB_SESSION | JOB_KEEP_PARTIAL, .timeout_ms = 500};
	child_run_all(&k, 1, 1);
	CHECK_INT(k.res, CHILD_TIMEOUT);
	CHECK_STR(k.text, "one\ntwo\n");
	free(k.text);
	struct child_job m = {.argv = slow, .timeout_ms = 500};
	child_run_all(&m, 1, 1);
	CHECK_INT(m.res, CHILD_TIMEOUT);
	CHECK(m.text == NULL);
	char *missing[] = {"/nonexistent/lifeboat-tool", NULL};
	struct child_job n = {.argv = missing, .timeout_ms = 5000};
	child_run_all(&n, 1, 1);
	CHECK(WIFEXITED(n.status) && WEXITSTATUS(n.status) == 127);
	free(n.text);
	char *hang[] = {"/bin/sleep", "30", NULL};
	struct spawn_opts o = {.keep_fd = -1, .quiet = 1};
	CHECK_INT(run_wait(hang, &o, 300), -ETIMEDOUT);
	CHECK_INT(run_wait(ok, &o, 10000) >> 8, 4);
}

/* JOB_IDLE_DEADLINE: a child that keeps answering (a line every 100 ms for 1.5 s) outlives a
 * 1 s deadline counted from its last answer; the same child with the deadline counted from its
 * start is killed; a child that stops answering is killed with what it said kept. */
static void test_idle_deadline(void)
{
	char *chatty[] = {"/bin/sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do "
			  "echo $i; sleep 0.1; done", NULL};
	struct child_job j = {.argv = chatty, .flags = JOB_KEEP_PARTIAL | JOB_IDLE_DEADLINE,
			      .timeout_ms = 1000};
	child_run_all(&j, 1, 1);
	CHECK_INT(j.res, CHILD_OK);
	CHECK(j.text && strstr(j.text, "\n15\n"));
	free(j.text);
	struct child_job k = {.argv = chatty, .flags = JOB_KEEP_PARTIAL, .timeout_ms = 1000};
	child_run_all(&k, 1, 1);
	CHECK_INT(k.res, CHILD_TIMEOUT);
	free(k.text);
	char *stops[] = {"/bin/sh", "-c", "echo one; echo two; exec sleep 30", NULL};
	struct child_job m = {.argv = stops, .flags = JOB_SESSION | JOB_KEEP_PARTIAL | JOB_IDLE_DEADLINE,
			      .timeout_ms = 500};
	child_run_all(&m, 1, 1);
	CHECK_INT(m.res, CHILD_TIMEOUT);
	CHECK_STR(m.text, "one\ntwo\n");
	free(m.text);
}

int main(void)
{
	test_sysfs();
	test_probe();
	test_probe_disks();
	test_child();
	test_child_all();
	test_child_done();
	test_exec_jobs();
	test_idle_deadline();
	return check_done("test_devices");
}
