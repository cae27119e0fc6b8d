#include <stdlib.h>

#include "lib/cmdline.h"
#include "lib/util.h"
#include "tests/unit/check.h"

struct seen {
	int n;
	char key[16][64];
	char val[16][64];
	int has_val[16];
};

static void collect(const char *k, const char *v, void *ctx)
{
	struct seen *s = ctx;
	if (s->n >= 16)
		return;
	snprintf(s->key[s->n], 64, "%s", k);
	s->has_val[s->n] = v != NULL;
	snprintf(s->val[s->n], 64, "%s", v ? v : "");
	s->n++;
}

static void test_split(void)
{
	struct seen s = {0};
	cmdline_split("  quiet console=ttyS0,115200 lifeboat.system=\"LABEL=my disk\" \"weird key\" a=b=c "
		      "init=/nix/store/x/init -- lifeboat.debug", collect, &s);
	CHECK_INT(s.n, 6);
	CHECK_STR(s.key[0], "quiet");
	CHECK_INT(s.has_val[0], 0);
	CHECK_STR(s.key[1], "console");
	CHECK_STR(s.val[1], "ttyS0,115200");
	CHECK_STR(s.key[2], "lifeboat.system");
	CHECK_STR(s.val[2], "LABEL=my disk");
	CHECK_STR(s.key[3], "weird key");
	CHECK_STR(s.key[4], "a");
	CHECK_STR(s.val[4], "b=c");
	CHECK_STR(s.key[5], "init");
}

/* Cases worked through the kernel's next_arg() by hand: quotes toggle anywhere, a value's
 * surrounding quotes go, a fully quoted "key=value" loses its closing quote too. */
static void test_split_quirks(void)
{
	struct seen s = {0};
	cmdline_split("\"lifeboat.system=LABEL=a b\" x=\"1 2\"3 \ty=\"\" =z \"\" tail\n", collect, &s);
	CHECK_INT(s.n, 6);
	CHECK_STR(s.key[0], "lifeboat.system");
	CHECK_STR(s.val[0], "LABEL=a b");
	CHECK_STR(s.key[1], "x");
	CHECK_STR(s.val[1], "1 2\"3");
	CHECK_STR(s.key[2], "y");
	CHECK_INT(s.has_val[2], 1);
	CHECK_STR(s.val[2], "");
	/* "=z": an '=' at the very start does not split (the kernel's equals==0 quirk). */
	CHECK_STR(s.key[3], "=z");
	CHECK_INT(s.has_val[3], 0);
	CHECK_STR(s.key[4], "");
	CHECK_STR(s.key[5], "tail");

	struct seen e = {0};
	cmdline_split("", collect, &e);
	cmdline_split("   \t\n ", collect, &e);
	cmdline_split("--", collect, &e);
	CHECK_INT(e.n, 0);
	/* An unterminated quote runs to the end of the line. */
	cmdline_split("a=\"open quote b=c", collect, &e);
	CHECK_INT(e.n, 1);
	CHECK_STR(e.val[0], "open quote b=c");
}

static void test_options(void)
{
	struct lb_options o;
	cmdline_parse("lifeboat.timeout=5 lifeboat.default=enter lifeboat.system=UUID=1234 "
		      "lifeboat.generation=12 lifeboat.debug lifeboat.modules=nvme,uas "
		      "lifeboat.settle=3 lifeboat.bogus=1", &o);
	CHECK_INT(o.timeout, 5);
	CHECK_INT(o.timeout_set, 1);
	CHECK_STR(o.default_action, "enter");
	CHECK_STR(o.system, "UUID=1234");
	CHECK_STR(o.generation, "12");
	CHECK_INT(o.debug, 1);
	CHECK_STR(o.modules, "nvme,uas");
	CHECK_INT(o.settle_ms, 3000);
	CHECK_INT(o.shell, 0);
	CHECK_INT(o.n_warnings, 1);
	CHECK(o.n_warnings == 1 && strstr(o.warnings[0], "lifeboat.bogus"));
	cmdline_free(&o);

	cmdline_parse("lifeboat.timeout=abc lifeboat.default=explode lifeboat.settle=-4", &o);
	CHECK_INT(o.n_warnings, 3);
	CHECK_INT(o.timeout_set, 0);
	CHECK(o.default_action == NULL);
	CHECK_INT(o.settle_ms, 10000);
	cmdline_free(&o);

	/* A disk's deadline: seconds from 1 to 3600, the default otherwise (0 would mean no probe). */
	cmdline_parse("", &o);
	CHECK_INT(o.disktimeout_ms, CMDLINE_DISKTIMEOUT_MS);
	cmdline_free(&o);
	cmdline_parse("lifeboat.disktimeout=7", &o);
	CHECK_INT(o.disktimeout_ms, 7000);
	CHECK_INT(o.n_warnings, 0);
	cmdline_free(&o);
	cmdline_parse("lifeboat.disktimeout=0 lifeboat.disktimeout=3601 lifeboat.disktimeout=x", &o);
	CHECK_INT(o.disktimeout_ms, CMDLINE_DISKTIMEOUT_MS);
	CHECK_INT(o.n_warnings, 3);
	CHECK(o.n_warnings == 3 && strstr(o.warnings[0], "lifeboat.disktimeout=0"));
	cmdline_free(&o);

	cmdline_parse("lifeboat.timeout=-1 lifeboat.shell", &o);
	CHECK_INT(o.timeout, -1);
	CHECK_INT(o.shell, 1);
	CHECK_INT(o.n_warnings, 0);
	cmdline_free(&o);

	/* Flags: bare, explicit on/off, and nonsense (warned, unchanged); later ones win. */
	cmdline_parse("lifeboat.debug=0 lifeboat.shell=yes lifeboat.nomodules=maybe lifeboat.timeout=3 "
		      "lifeboat.timeout=0", &o);
	CHECK_INT(o.debug, 0);
	CHECK_INT(o.shell, 1);
	CHECK_INT(o.nomodules, 0);
	CHECK_INT(o.timeout, 0);
	CHECK_INT(o.n_warnings, 1);
	CHECK(o.n_warnings == 1 && strstr(o.warnings[0], "lifeboat.nomodules=maybe"));
	cmdline_free(&o);

	/* Quoted values, dashes as underscores, empty values, and things that are not ours. */
	cmdline_parse("lifeboat.system=\"LABEL=my disk\" lifeboat.nomodules lifeboat.generation= "
		      "lifeboat.modules lifeboat.settle=600 lifeboat.settle=601 lifeboat lifeboatx.y=1 "
		      "modprobe.blacklist=nouveau,uas module_blacklist=floppy "
		      "-- lifeboat.bogus=after-dashes", &o);
	CHECK_STR(o.system, "LABEL=my disk");
	CHECK_INT(o.nomodules, 1);
	CHECK(o.generation == NULL && o.modules == NULL);
	CHECK_INT(o.settle_ms, 600000);
	CHECK_STR(o.blacklist, "nouveau,uas,floppy");
	CHECK_INT(o.n_warnings, 3);
	cmdline_free(&o);

	/* The debug-only switch that leaves devices writable during the scan: off unless given. */
	cmdline_parse("lifeboat.debug", &o);
	CHECK_INT(o.debug_noblkro, 0);
	cmdline_free(&o);
	cmdline_parse("lifeboat.debug-noblkro", &o);
	CHECK_INT(o.debug_noblkro, 1);
	CHECK_INT(o.n_warnings, 0);
	cmdline_free(&o);

	/* The user's own console loglevel choice is noted, whatever form it takes; lifeboat.debug
	 * and values after "--" are not the kernel's. */
	const char *chosen[] = {"loglevel=7", "debug", "ignore_loglevel", "quiet loglevel=3"};
	for (size_t i = 0; i < ARRAY_SIZE(chosen); i++) {
		cmdline_parse(chosen[i], &o);
		CHECK_INT(o.loglevel_set, 1);
		CHECK_INT(o.n_warnings, 0);
		cmdline_free(&o);
	}
	const char *unchosen[] = {"quiet", "lifeboat.debug", "loglevel", "debug=1", "-- loglevel=7"};
	for (size_t i = 0; i < ARRAY_SIZE(unchosen); i++) {
		cmdline_parse(unchosen[i], &o);
		CHECK_INT(o.loglevel_set, 0);
		cmdline_free(&o);
	}

	/* Many unknown options: the first 16 are kept, the rest dropped without harm. */
	char many[2048] = "";
	for (int i = 0; i < 40; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "lifeboat.x%d ", i);
	cmdline_parse(many, &o);
	CHECK_INT(o.n_warnings, 16);
	cmdline_free(&o);
}

static void test_module_params(void)
{
	const char *line = "quiet usb-storage.delay_use=0 usb_storage.quirks=\"0bda:0159:u x\" "
			   "usb_storage.x nvme.poll_queues=2 usb_storage=1 usb_storagex.y=1 .z=1";
	char *p = cmdline_module_params(line, "usb_storage");
	CHECK_STR(p, "delay_use=0 quirks=\"0bda:0159:u x\" x");
	free(p);
	p = cmdline_module_params(line, "nvme");
	CHECK_STR(p, "poll_queues=2");
	free(p);
	p = cmdline_module_params(line, "ahci");
	CHECK_STR(p, "");
	free(p);
}

/* Where the kernel's parameters end: at "--" (quoted too), with any quote left open. */
static void test_params_end(void)
{
	int open;
	CHECK_INT(cmdline_params_end("a b", &open), 3);
	CHECK_INT(open, 0);
	CHECK_INT(cmdline_params_end("a -- b", &open), 2);
	CHECK_INT(cmdline_params_end("--", &open), 0);
	CHECK_INT(cmdline_params_end(" \"--\" b", &open), 1);
	CHECK_INT(cmdline_params_end("a=\"x -- y", &open), 9);
	CHECK_INT(open, 1);
	CHECK_INT(cmdline_params_end("a=\"x\" -- y", &open), 6);
	CHECK_INT(open, 0);
	CHECK_INT(cmdline_params_end("--=1 ---", &open), 8);
	CHECK_INT(cmdline_params_end("", &open), 0);
}

int main(void)
{
	test_params_end();
	test_split();
	test_split_quirks();
	test_options();
	test_module_params();
	return check_done("test_cmdline");
}
