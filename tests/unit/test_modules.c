/* modules.alias matching and dependency-ordered loading, against the real depmod output the image
 * carries (tests/unit/data/modtree, see PROVENANCE) and a fake sysfs copied from a QEMU machine
 * with virtio, AHCI, NVMe and virtio-scsi disks. Loading goes through a recording hook. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include "lib/coldplug.h"
#include "lib/modpool.h"
#include "lib/modules.h"
#include "lib/util.h"
#include "tests/unit/check.h"

static char loads[64][64], params[64][128];
static int n_loads;
static const char *already = "", *refuse = "";

static int fake_load(const char *path, const char *p)
{
	const char *b = strrchr(path, '/');
	char name[64];
	snprintf(name, sizeof(name), "%s", b ? b + 1 : path);
	*strstr(name, ".ko") = 0;
	modname_normalize(name);
	if (!strcmp(name, already))
		return 0;
	if (!strcmp(name, refuse))
		return -ENODEV;
	if (n_loads < 64) {
		snprintf(loads[n_loads], 64, "%s", name);
		snprintf(params[n_loads], 128, "%s", p);
		n_loads++;
	}
	return 1;
}

static int idx(const char *name)
{
	for (int i = 0; i < n_loads; i++)
		if (!strcmp(loads[i], name))
			return i;
	return -1;
}

static void reset(void)
{
	n_loads = 0;
	already = refuse = "";
}

struct names {
	int n;
	char name[8][64];
};

static int collect(const char *module, void *ctx)
{
	struct names *s = ctx;
	if (s->n < 8)
		snprintf(s->name[s->n++], 64, "%s", module);
	return 0;
}

/* One modalias must match exactly the one expected module (NULL: none). */
static void expect_match(const struct modtree *t, const char *alias, const char *module)
{
	struct names s = {0};
	int n = modtree_match(t, alias, collect, &s);
	CHECK_INT(n, module ? 1 : 0);
	CHECK_INT(s.n, n);
	if (module && s.n >= 1)
		CHECK_STR(s.name[0], module);
	if (n != (module ? 1 : 0))
		fprintf(stderr, "  for %s (first: %s)\n", alias, s.n ? s.name[0] : "none");
}

static void test_match(const char *dir)
{
	struct modtree t;
	CHECK_INT(modtree_open(&t, dir), 0);
	CHECK(t.n_aliases > 1000);
	/* QEMU's ICH9 AHCI matches by id and by class: one module, reported once. */
	expect_match(&t, "pci:v00008086d00002922sv00001AF4sd00001100bc01sc06i01", "ahci");
	expect_match(&t, "pci:v00001B36d00000010sv00001AF4sd00001100bc01sc08i02", "nvme");
	expect_match(&t, "pci:v00001AF4d00001001sv00001AF4sd00000002bc01sc00i00", "virtio_pci");
	expect_match(&t, "virtio:d00000002v00001AF4", "virtio_blk");
	expect_match(&t, "virtio:d00000008v00001AF4", "virtio_scsi");
	expect_match(&t, "scsi:t-0x00", "sd_mod");
	/* A bulk-only USB stick: usb-storage, and uas, which takes the same interface class. */
	struct names u = {0};
	CHECK_INT(modtree_match(&t, "usb:v46F4p0001d0000dc00dsc00dp00ic08isc06ip50in00", collect, &u), 2);
	CHECK(u.n == 2 && ((!strcmp(u.name[0], "uas") && !strcmp(u.name[1], "usb_storage")) ||
			   (!strcmp(u.name[1], "uas") && !strcmp(u.name[0], "usb_storage"))));
	expect_match(&t, "usb:v46F4p0001d0000dc00dsc00dp00ic08isc06ip62in00", "uas");
	/* The host bridge and a built-in platform driver have no module. */
	expect_match(&t, "pci:v00008086d00001237sv00001AF4sd00001100bc06sc00i00", NULL);
	expect_match(&t, "platform:i8042", NULL);
	expect_match(&t, "", NULL);
	/* A SATA controller of unknown id that is not AHCI (prog-if 00, not 01) has no driver. */
	expect_match(&t, "pci:v0000ABCDd00001234sv00000000sd00000000bc01sc06i00", NULL);
	expect_match(&t, "pci:v0000ABCDd00001234sv00000000sd00000000bc01sc06i01", "ahci");
	modtree_free(&t);
}

static void test_load_order(void)
{
	struct modtree t;
	CHECK_INT(modtree_open(&t, "data/modtree"), 0);
	reset();
	CHECK_INT(modtree_load(&t, "ahci"), 0);
	/* Every dependency before the module that needs it. */
	CHECK(idx("scsi_common") >= 0 && idx("scsi_common") < idx("scsi_mod"));
	CHECK(idx("scsi_mod") >= 0 && idx("scsi_mod") < idx("libata"));
	CHECK(idx("libata") >= 0 && idx("libata") < idx("ahci"));
	CHECK(idx("libahci") >= 0 && idx("libahci") < idx("ahci"));
	CHECK_INT(idx("ahci"), n_loads - 1);
	CHECK_INT(t.loaded, 5);
	/* Loaded once: asking again loads nothing. */
	int before = n_loads;
	CHECK_INT(modtree_load(&t, "ahci"), 0);
	CHECK_INT(modtree_load(&t, "libata"), 0);
	CHECK_INT(n_loads, before);
	/* Names with dashes are the same module; built-in modules succeed; unknown ones do not. */
	CHECK_INT(modtree_load(&t, "amd-uncore"), 0);
	CHECK_INT(modtree_load(&t, "no_such_module"), -ENOENT);
	CHECK_INT(n_loads, before);
	modtree_free(&t);

	/* A module the kernel already has (EEXIST from finit_module) is fine and not counted. */
	CHECK_INT(modtree_open(&t, "data/modtree"), 0);
	reset();
	already = "scsi_mod";
	CHECK_INT(modtree_load(&t, "virtio_scsi"), 0);
	CHECK(idx("scsi_mod") < 0 && idx("virtio_scsi") >= 0);
	CHECK_INT(t.loaded, n_loads);
	/* A driver with nothing to drive is not an error of the alias load. */
	refuse = "ata_generic";
	CHECK(modtree_load_alias(&t, "pci:v00008086d00007010sv00001AF4sd00001100bc01sc01i80") >= 0);
	CHECK(idx("ata_piix") >= 0);
	modtree_free(&t);
}

static void test_params_blacklist(void)
{
	struct modtree t;
	CHECK_INT(modtree_open(&t, "data/modtree"), 0);
	reset();
	t.cmdline = strdup("quiet nvme.poll_queues=2 nvme-core.multipath=N usb_storage.quirks=\"a b\" "
			   "nvme_core.io_timeout=60");
	CHECK_INT(modtree_load(&t, "nvme"), 0);
	CHECK(idx("nvme") >= 0 && idx("nvme_core") >= 0);
	CHECK_STR(params[idx("nvme")], "poll_queues=2");
	CHECK_STR(params[idx("nvme_core")], "multipath=N io_timeout=60");
	CHECK_STR(params[idx("t10_pi")], "");
	modtree_free(&t);

	CHECK_INT(modtree_open(&t, "data/modtree"), 0);
	reset();
	t.blacklist = strdup("uas,nvme");
	CHECK_INT(modtree_load(&t, "nvme"), -EPERM);
	CHECK_INT(n_loads, 0);
	CHECK_INT(modtree_load(&t, "usb-storage"), 0);
	CHECK(idx("usb_storage") >= 0);
	CHECK(modtree_blacklisted(&t, "uas"));
	CHECK(!modtree_blacklisted(&t, "usb_storage"));
	modtree_free(&t);
}

static int queue_alias(const char *modalias, void *pool)
{
	return modpool_want_alias(pool, modalias);
}

static void test_coldplug(void)
{
	struct modtree t;
	CHECK_INT(modtree_open(&t, "data/modtree"), 0);
	reset();
	/* A pool without children (jobs 0) loads in this process, through the recording hook. */
	struct modpool p;
	modpool_init(&p, &t, 0);
	int n = coldplug_walk("data/sysfs/devices", queue_alias, &p);
	CHECK(n > 0);
	CHECK_INT(n_loads, 0); /* walking only queues */
	modpool_drain(&p);
	CHECK_INT(modpool_busy(&p), 0);
	CHECK_INT(t.loaded, n_loads);
	static const char *want[] = {"ahci", "nvme", "virtio_pci", "virtio_blk", "virtio_scsi", "sd_mod"};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		CHECK(idx(want[i]) >= 0);
		if (idx(want[i]) < 0)
			fprintf(stderr, "  coldplug did not load %s\n", want[i]);
	}
	CHECK(idx("virtio") < idx("virtio_blk") && idx("virtio_ring") < idx("virtio_scsi"));
	/* Each module once, even though sysfs symlinks lead back into the tree. */
	for (int i = 0; i < n_loads; i++)
		for (int j = i + 1; j < n_loads; j++)
			CHECK(strcmp(loads[i], loads[j]) != 0);
	CHECK_INT(coldplug_walk("data/sysfs/nonexistent", queue_alias, &p), -ENOENT);
	/* Everything is loaded: walking again queues nothing. */
	CHECK_INT(coldplug_walk("data/sysfs/devices", queue_alias, &p), 0);
	modpool_free(&p);
	modtree_free(&t);
}

/* The forked loads write what they do into a file, the only memory they share with the test. */
static char pool_log[] = "/tmp/lb-test-modpool-XXXXXX";
static int pool_log_fd = -1;

static void pool_note(const char *what, const char *name)
{
	char line[128];
	int n = snprintf(line, sizeof(line), "%s %s\n", what, name);
	write_all(pool_log_fd, line, (size_t)n);
}

static int pool_log_has(const char *line)
{
	char *text = NULL;
	int has = read_file_at(AT_FDCWD, pool_log, 1 << 20, &text) > 0 && strstr(text, line);
	free(text);
	return has;
}

static int forked_load(const char *path, const char *p)
{
	(void)p;
	const char *b = strrchr(path, '/');
	char name[64];
	snprintf(name, sizeof(name), "%s", b ? b + 1 : path);
	*strstr(name, ".ko") = 0;
	modname_normalize(name);
	pool_note("start", name);
	if (!strcmp(name, "virtio_blk"))
		abort(); /* a driver that takes its loader down */
	if (!strcmp(name, "ahci")) {
		/* Loads at once or not at all: ahci ends only once nvme has started. */
		int i = 0;
		while (!pool_log_has("start nvme\n") && i++ < 1000)
			usleep(10000);
		if (!pool_log_has("start nvme\n"))
			return -ETIMEDOUT;
	}
	pool_note("end", name);
	return 1;
}

/* Line number of `line` in the log, or -1. */
static int log_line(const char *text, const char *line)
{
	int n = 0;
	for (const char *s = text; *s; n++) {
		const char *e = strchr(s, '\n');
		size_t len = e ? (size_t)(e - s) : strlen(s);
		if (len == strlen(line) && !strncmp(s, line, len))
			return n;
		s += len + (e != NULL);
	}
	return -1;
}

static void test_pool_forked(void)
{
	pool_log_fd = mkstemp(pool_log);
	CHECK(pool_log_fd >= 0);
	int fl = fcntl(pool_log_fd, F_GETFL);
	fcntl(pool_log_fd, F_SETFL, fl | O_APPEND);
	modules_load_file = forked_load;
	struct modtree t;
	CHECK_INT(modtree_open(&t, "data/modtree"), 0);
	struct modpool p;
	modpool_init(&p, &t, MODPOOL_JOBS);
	CHECK_INT(modpool_want(&p, "ahci"), 1);
	CHECK_INT(modpool_want(&p, "nvme"), 1);
	CHECK_INT(modpool_want(&p, "virtio-blk"), 1);
	CHECK_INT(modpool_want(&p, "ahci"), 0); /* queued already */
	CHECK_INT(modpool_want(&p, "no_such_module"), -ENOENT);
	modpool_drain(&p);
	CHECK_INT(modpool_busy(&p), 0);
	CHECK_INT(modtree_find(&t, "ahci")->state, 2);
	CHECK_INT(modtree_find(&t, "nvme")->state, 2);
	CHECK_INT(modtree_find(&t, "virtio_blk")->state, -EIO);
	CHECK_INT(modtree_find(&t, "virtio_ring")->state, 2);
	char *text = NULL;
	CHECK(read_file_at(AT_FDCWD, pool_log, 1 << 20, &text) > 0);
	if (text) {
		/* Every dependency ended before its module started. */
		static const char *deps[][2] = {{"libata", "ahci"},	{"libahci", "ahci"},
						{"scsi_mod", "libata"}, {"scsi_common", "scsi_mod"},
						{"nvme_core", "nvme"},	{"virtio_ring", "virtio_blk"}};
		for (size_t i = 0; i < sizeof(deps) / sizeof(deps[0]); i++) {
			char end[80], st[80];
			snprintf(end, sizeof(end), "end %s", deps[i][0]);
			snprintf(st, sizeof(st), "start %s", deps[i][1]);
			CHECK(log_line(text, end) >= 0 && log_line(text, end) < log_line(text, st));
		}
		/* Never more loads at once than the pool's jobs. */
		int at_once = 0, most = 0, ends = 0;
		for (const char *s = text; *s; s = strchr(s, '\n') + 1) {
			at_once += startswith(s, "start ") ? 1 : -1;
			ends += startswith(s, "end ");
			most = at_once > most ? at_once : most;
		}
		CHECK(most >= 2 && most <= MODPOOL_JOBS);
		CHECK_INT(t.loaded, ends);
	}
	free(text);
	modpool_free(&p);
	modtree_free(&t);

	/* A blacklisted module is not queued, nor loaded as a dependency. */
	CHECK_INT(modtree_open(&t, "data/modtree"), 0);
	t.blacklist = strdup("nvme_core");
	modpool_init(&p, &t, MODPOOL_JOBS);
	CHECK_INT(modpool_want(&p, "nvme_core"), -EPERM);
	CHECK_INT(modpool_want(&p, "nvme_core"), -EPERM);
	modpool_free(&p);
	modtree_free(&t);
	close(pool_log_fd);
	unlink(pool_log);
	modules_load_file = fake_load;
}

/* Two modules that need each other (a damaged modules.dep): both load, neither hangs the pool. */
static void test_pool_cycle(void)
{
	struct modtree t;
	memset(&t, 0, sizeof(t));
	t.dir = strdup("data/modtree");
	t.n_mods = 2;
	t.mods = calloc(2, sizeof(*t.mods));
	const char *names[2] = {"alpha", "beta"};
	for (int i = 0; i < 2; i++) {
		t.mods[i].name = strdup(names[i]);
		t.mods[i].path = xasprintf("%s.ko", names[i]);
		t.mods[i].deps = calloc(1, sizeof(char *));
		t.mods[i].deps[0] = strdup(names[1 - i]);
		t.mods[i].n_deps = 1;
	}
	reset();
	struct modpool p;
	modpool_init(&p, &t, 0);
	CHECK_INT(modpool_want(&p, "alpha"), 1);
	modpool_drain(&p);
	CHECK_INT(n_loads, 2);
	CHECK(idx("alpha") >= 0 && idx("beta") >= 0);
	CHECK_INT(modpool_busy(&p), 0);
	modpool_free(&p);
	modtree_free(&t);
}

static int opendir_ok(const char *path)
{
	DIR *d = opendir(path);
	if (d)
		closedir(d);
	return d != NULL;
}

int main(void)
{
	modules_load_file = fake_load;
	test_match("data/modtree");
	/* The kernel the build fetched: the same devices must match there too. `make unit-kernel`
	 * names its modules folder in LB_KERNEL_MODULES once the kernel is in (make check runs it);
	 * a plain `make unit` may come before the kernel, and says so. */
	const char *mods = getenv("LB_KERNEL_MODULES");
	char pat[4096];
	snprintf(pat, sizeof(pat), "%s/*/modules.alias", mods ? mods : "../../build/kernel/modules/lib/modules");
	glob_t g;
	if (glob(pat, 0, NULL, &g) == 0) {
		char dir[4096];
		snprintf(dir, sizeof(dir), "%s", g.gl_pathv[0]);
		*strrchr(dir, '/') = 0;
		test_match(dir);
		globfree(&g);
		fprintf(stderr, "test_modules: matched against the kernel's own modules in %s\n", dir);
	} else if (mods && !opendir_ok(mods)) {
		CHECK(!"LB_KERNEL_MODULES names no folder");
	} else {
		fprintf(stderr, "test_modules: skipped the kernel's own modules.alias: %s\n",
			mods ? "this kernel has no modules (every driver built in)"
			     : "no kernel fetched yet (make unit-kernel runs it after the kernel)");
	}
	test_load_order();
	test_params_blacklist();
	test_coldplug();
	test_pool_forked();
	test_pool_cycle();
	return check_done("test_modules");
}
