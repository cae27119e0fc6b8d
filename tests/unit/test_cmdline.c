#include <stdlib.h>

#include "init/cmdline.h"
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

	cmdline_parse("lifeboat.timeout=-1 lifeboat.shell", &o);
	CHECK_INT(o.timeout, -1);
	CHECK_INT(o.shell, 1);
	CHECK_INT(o.n_warnings, 0);
	cmdline_free(&o);
}

int main(void)
{
	test_split();
	test_options();
	return check_done("test_cmdline");
}
