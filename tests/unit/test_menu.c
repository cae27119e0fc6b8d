/* The menu as data: lines, keys, arrows and the lifeboat.default decision (the selector behind
 * lifeboat.system= has its own test, test_select.c), against a hand-written scan report
 * (tests/menu/two-systems.report: two systems, one with a hostile host name). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <strings.h>

#include "lib/cmdline.h"
#include "lib/util.h"
#include "present/default.h"
#include "report/found.h"
#include "present/menu.h"
#include "present/term.h"
#include "tests/unit/check.h"

static char *load_text(void)
{
	char *text = NULL;
	CHECK(read_file_at(AT_FDCWD, "../menu/two-systems.report", 1 << 20, &text) > 0);
	return text ? text : xstrdup("");
}

static void test_found(const struct found *f)
{
	CHECK_INT(f->n_sys, 2);
	CHECK_INT(f->devices, 5);
	CHECK_INT(f->problems, 1);
	CHECK_INT(f->complete, 1);
	const struct found_sys *s = &f->sys[0];
	CHECK_STR(s->host, "laptop");
	CHECK_INT(s->current, 3);
	CHECK_INT(s->n_gens, 3);
	CHECK_INT(s->gens[0].number, 3);
	CHECK_INT(s->gens[1].number, 2);
	CHECK_INT(s->gens[2].number, 1);
	CHECK_INT(s->n_specs, 1);
	CHECK_STR(s->specs[0].spec, "gaming");
	CHECK(found_spec(s, 3, "gaming") == &s->specs[0]);
	CHECK(found_spec(s, 2, "gaming") == NULL);
	CHECK(found_gen(s, -1) == &s->gens[0]);
	CHECK(found_gen(s, 9) == NULL);
	CHECK_STR(f->sys[1].host, "\x1b[2Jevil\x07host");
	const struct record *mounts[8];
	CHECK_INT(found_mounts(f, 1, 3, mounts, 8), 2);
	CHECK_STR(record_get(mounts[1], "target"), "/boot");
	CHECK_INT(found_mounts(f, 2, 7, mounts, 8), 0);
}

/* Every line fits 80 columns, is printable ASCII, and a selectable one starts with "key)". */
static void check_page(const struct menu *m, const char *text)
{
	CHECK(!strchr(text, '\x1b'));
	for (const char *p = text; *p; p++)
		CHECK((*p >= 32 && *p < 127) || *p == '\n');
	int lines = 0;
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		CHECK(len <= 80);
		p += len + (nl ? 1 : 0);
		lines++;
	}
	for (int i = 0; i < m->n; i++) {
		char want[16];
		snprintf(want, sizeof(want), "\n%s)", m->items[i].key);
		CHECK(strstr(text, want) != NULL);
	}
	CHECK(lines > m->n);
}

static void type(struct menu *m, const char *keys, struct menu_choice *c, enum menu_ev last)
{
	enum menu_ev ev = EV_NONE;
	for (const char *p = keys; *p; p++)
		CHECK_INT(menu_input(m, *p, c), EV_ECHO);
	ev = menu_input(m, KEY_ENTER, c);
	CHECK_INT(ev, last);
}

static void test_pages(const struct found *f)
{
	static char buf[32768];
	struct menu m;
	menu_init(&m, f, "v1");
	menu_render(&m, buf, sizeof(buf));
	check_page(&m, buf);
	CHECK(strstr(buf, "lifeboat v1 - NixOS rescue\n") != NULL);
	CHECK(strstr(buf, "Disks: 5   NixOS systems: 2   Problems: 1\n") != NULL);
	CHECK(strstr(buf, "\n1)   > laptop ") != NULL);
	CHECK(strstr(buf, "24.05.20240501.abcdef  gen 3     /dev/vda2\n") != NULL);
	CHECK(strstr(buf, "\n2)     \\x1b[2Jevil\\x07... 23.11.7 ") != NULL);
	CHECK(strstr(buf, "\\x1b[31mred") != NULL);
	CHECK(strstr(buf, "\ni)     boot the bundled installer (kexec)") != NULL);
	/* The entry names the installer the image carries, escaped like anything else. */
	menu_set_installer("NixOS kexec installer\x1b[2J");
	menu_build(&m);
	menu_render(&m, buf, sizeof(buf));
	CHECK(strstr(buf, "\ni)     boot NixOS kexec installer\\x1b[2J (kexec)\n") != NULL);
	menu_set_installer(NULL);
	menu_build(&m);
	menu_render(&m, buf, sizeof(buf));
	CHECK(strstr(buf, "\np)     power off\n") != NULL);
	CHECK(strstr(buf, "\nChoose (key then Enter") != NULL);

	struct menu_choice c;
	/* Arrows move the marker and wrap; Enter takes the marked line. */
	CHECK_INT(menu_input(&m, KEY_UP, &c), EV_REDRAW);
	CHECK_INT(m.sel, m.n - 1);
	CHECK_INT(menu_input(&m, KEY_DOWN, &c), EV_REDRAW);
	CHECK_INT(menu_input(&m, KEY_DOWN, &c), EV_REDRAW);
	CHECK_INT(m.sel, 1);
	CHECK_INT(menu_input(&m, KEY_ENTER, &c), EV_REDRAW);
	CHECK_INT(m.page, 1);
	menu_render(&m, buf, sizeof(buf));
	check_page(&m, buf);
	CHECK(strstr(buf, "\\x1b[2Jevil\\x07host - NixOS 23.11.7, 1 generation\n") != NULL);
	CHECK(strstr(buf, "\n7)     * 2023-11-20 ") != NULL);
	type(&m, "M", &c, EV_REDRAW); /* keys are case-insensitive */
	CHECK_INT(m.page, -1);
	CHECK_INT(m.sel, 1);

	/* Keys: unknown, backspace, then a system and its actions. */
	type(&m, "zz", &c, EV_UNKNOWN);
	CHECK_STR(m.unknown, "zz");
	CHECK_INT(menu_input(&m, KEY_BACKSPACE, &c), EV_NONE);
	CHECK_INT(menu_input(&m, '9', &c), EV_ECHO);
	CHECK_INT(menu_input(&m, KEY_BACKSPACE, &c), EV_ERASE);
	type(&m, "1", &c, EV_REDRAW);
	CHECK_INT(m.page, 0);
	CHECK_INT(m.gen, 3);
	menu_render(&m, buf, sizeof(buf));
	check_page(&m, buf);
	CHECK(strstr(buf, "\ne)   > enter laptop: a shell in generation 3 (current)\n") != NULL);
	CHECK(strstr(buf, "\nb)     boot generation 3 (current) (kexec)\n") != NULL);
	CHECK(strstr(buf, "\nf)     repair the boot loader") != NULL);
	const char *g3 = strstr(buf, "\n3)     * 2024-05-01 10:40  24.05.20240501.abcdef   (current)\n");
	const char *g3a = strstr(buf, "\n3a)        specialisation gaming\n");
	const char *g2 = strstr(buf, "\n2)       2024-03-09 16:00  24.05.1");
	const char *g1 = strstr(buf, "\n1)       2023-11-14 22:13  23.11.1\n");
	CHECK(g3 && g3a && g2 && g1 && g3 < g3a && g3a < g2 && g2 < g1);
	CHECK(g2 && strstr(g2, "corrupt: kernel missing\n") != NULL);
	CHECK(strstr(buf, "\nm)     back to the main menu\n") != NULL);

	CHECK_INT(menu_input(&m, KEY_ENTER, &c), EV_CHOSEN);
	CHECK_INT(c.act, ACT_ENTER);
	CHECK_INT(c.sys, 0);
	CHECK_INT(c.gen, 3);
	CHECK_INT(c.spec, -1);
	type(&m, "1", &c, EV_REDRAW);
	CHECK_INT(m.gen, 1);
	CHECK_INT(m.sel, 0);
	type(&m, "b", &c, EV_CHOSEN);
	CHECK_INT(c.act, ACT_BOOT);
	CHECK_INT(c.gen, 1);
	type(&m, "3A", &c, EV_REDRAW);
	CHECK_INT(m.gen, 3);
	CHECK_INT(m.spec, 0);
	menu_render(&m, buf, sizeof(buf));
	CHECK(strstr(buf, "boot generation 3, specialisation gaming (kexec)\n") != NULL);
	CHECK(strstr(buf, "\n3a)    *   specialisation gaming\n") != NULL);
	type(&m, "b", &c, EV_CHOSEN);
	CHECK_INT(c.act, ACT_BOOT);
	CHECK_INT(c.spec, 0);
	type(&m, "f", &c, EV_CHOSEN);
	CHECK_INT(c.act, ACT_REPAIR);
	CHECK_INT(c.spec, -1);
	type(&m, "m", &c, EV_REDRAW);
	type(&m, "d", &c, EV_CHOSEN);
	CHECK_INT(c.act, ACT_RESCAN);
	type(&m, "s", &c, EV_CHOSEN);
	CHECK_INT(c.act, ACT_SHELL);

	/* Without a report the menu still offers the shell and the power keys. */
	menu_init(&m, NULL, "v1");
	menu_render(&m, buf, sizeof(buf));
	check_page(&m, buf);
	type(&m, "p", &c, EV_CHOSEN);
	CHECK_INT(c.act, ACT_POWEROFF);
}

static int decide(const struct found *f, const char *line, struct default_plan *p, char *msg)
{
	struct lb_options o;
	cmdline_parse(line, &o);
	int r = default_decide(&o, f, p, msg, 1024);
	cmdline_free(&o);
	return r;
}

static void test_default(const struct found *f)
{
	struct default_plan p;
	char msg[1024], what[160];
	CHECK_INT(decide(f, "quiet", &p, msg), 0);
	CHECK_INT(decide(f, "lifeboat.timeout=5", &p, msg), -EINVAL);
	CHECK(strstr(msg, "needs lifeboat.default=") != NULL);
	CHECK_INT(decide(f, "lifeboat.default=shell lifeboat.timeout=0", &p, msg), 1);
	CHECK_INT(p.c.act, ACT_SHELL);
	CHECK_INT(p.timeout, 0);
	CHECK_INT(decide(f, "lifeboat.default=poweroff", &p, msg), 1);
	CHECK_INT(p.timeout, DEFAULT_TIMEOUT_S);
	CHECK_INT(decide(f, "lifeboat.default=reboot lifeboat.timeout=-1", &p, msg), 0);
	CHECK_INT(decide(f, "lifeboat.default=enter lifeboat.timeout=3", &p, msg), -EINVAL);
	CHECK(strstr(msg, "several systems") != NULL);
	CHECK_INT(decide(f, "lifeboat.default=enter lifeboat.system=laptop lifeboat.timeout=3", &p, msg), 1);
	CHECK_INT(p.c.act, ACT_ENTER);
	CHECK_INT(p.c.sys, 0);
	CHECK_INT(p.c.gen, 3);
	CHECK_INT(p.timeout, 3);
	default_describe(f, &p, what, sizeof(what));
	CHECK_STR(what, "enter laptop, generation 3");
	CHECK_INT(decide(f, "lifeboat.default=boot lifeboat.system=LABEL=srvroot lifeboat.timeout=0", &p, msg), 1);
	CHECK_INT(p.c.sys, 1);
	CHECK_INT(p.c.gen, 7);
	default_describe(f, &p, what, sizeof(what));
	CHECK_STR(what, "boot \\x1b[2Jevil\\x07host, generation 7");
	CHECK_INT(decide(f, "lifeboat.default=boot lifeboat.system=laptop lifeboat.generation=1", &p, msg), 1);
	CHECK_INT(p.c.gen, 1);
	CHECK_INT(decide(f, "lifeboat.default=boot lifeboat.system=laptop lifeboat.generation=gaming", &p, msg), 1);
	CHECK_INT(p.c.gen, 3);
	CHECK_INT(p.c.spec, 0);
	default_describe(f, &p, what, sizeof(what));
	CHECK_STR(what, "boot laptop, generation 3 (gaming)");
	CHECK_INT(decide(f, "lifeboat.default=boot lifeboat.system=laptop lifeboat.generation=9", &p, msg), -EINVAL);
	CHECK_STR(msg, "lifeboat.generation=9: system 1 (laptop) has no generation 9");
	CHECK_INT(decide(f, "lifeboat.default=boot lifeboat.system=laptop lifeboat.generation=x", &p, msg), -EINVAL);
	CHECK_INT(decide(f, "lifeboat.default=enter lifeboat.system=nosuch", &p, msg), -EINVAL);
	CHECK(strstr(msg, "lifeboat.system=nosuch matches no system") != NULL);
	CHECK(strstr(msg, "found: 1 (laptop) on /dev/vda2") != NULL);
	/* The selector of enter and boot: ids, UUIDs in any case. */
	CHECK_INT(decide(f, "lifeboat.default=enter lifeboat.system=UUID=7D1E-ROOT", &p, msg), 1);
	CHECK_INT(p.c.sys, 1);
	CHECK_INT(decide(f, "lifeboat.default=enter lifeboat.system=2", &p, msg), 1);
	CHECK_INT(p.c.sys, 1);
	/* A hostile system= value is escaped in the message. */
	CHECK_INT(decide(f, "lifeboat.default=enter \"lifeboat.system=\x1b[2J\"", &p, msg), -EINVAL);
	CHECK(!strchr(msg, '\x1b'));
	CHECK_INT(decide(NULL, "lifeboat.default=enter lifeboat.timeout=0", &p, msg), -EINVAL);
	CHECK(strstr(msg, "no NixOS system was found") != NULL);
	CHECK_INT(decide(NULL, "lifeboat.default=installer lifeboat.timeout=0", &p, msg), 1);
	CHECK_INT(p.c.act, ACT_INSTALLER);

	/* One system: lifeboat.system= is not needed. */
	struct found one;
	found_load(&one, "system id=4 host=solo current=2\ngeneration system=4 number=2 current=1 specialisation=-\n");
	CHECK_INT(decide(&one, "lifeboat.default=enter lifeboat.timeout=0", &p, msg), 1);
	CHECK_INT(p.c.sys, 0);
	CHECK_INT(p.c.gen, 2);
	found_free(&one);
}

/* A generation's status, shown when it is not ok, is escaped like every string of a report
 * (found by fuzz_menu: a BEL in a saved report's status reached the terminal raw). */
static void test_status_escaped(void)
{
	struct found f;
	CHECK_INT(found_load(&f, "system id=1 host=h version=1 layout=inroot root=/dev/vda1 current=2\n"
				 "generation system=1 profile=system number=2 current=1 status=ok\n"
				 "generation system=1 profile=system number=1 status=bad%1B%5B2J%07 reason=r\n"
				 "done devices=1 systems=1 problems=0\n"),
		  1);
	static char buf[32768];
	struct menu m;
	menu_init(&m, &f, "v");
	menu_open_system(&m, 0, -1);
	menu_render(&m, buf, sizeof(buf));
	CHECK(strstr(buf, " bad\\x1b[2J\\x07: r\n") != NULL);
	CHECK(!strchr(buf, '\x1b') && !strchr(buf, '\x07'));
	found_free(&f);
}

/* Past z, specialisations get two letters: the 27th used to get the first one's key. */
static void test_many_specialisations(void)
{
	char *text = xstrdup("system id=1 host=h version=1 layout=inroot root=/dev/vda1 current=4\n"
			     "generation system=1 profile=system number=4 current=1 specialisation=- status=ok\n");
	for (int i = 0; i < 30; i++) {
		char *t = xasprintf("%sgeneration system=1 profile=system number=4 current=1 "
				    "specialisation=s%02d status=ok\n", text, i);
		free(text);
		text = t;
	}
	struct found f;
	CHECK_INT(found_load(&f, text), 1);
	free(text);
	CHECK_INT(f.sys[0].n_specs, 30);
	static char buf[32768];
	struct menu m;
	menu_init(&m, &f, "v");
	menu_open_system(&m, 0, -1);
	menu_render(&m, buf, sizeof(buf));
	check_page(&m, buf);
	for (int i = 0; i < m.n; i++)
		for (int j = i + 1; j < m.n; j++)
			CHECK(strcasecmp(m.items[i].key, m.items[j].key) != 0);
	CHECK(strstr(buf, "\n4z)        specialisation s25\n") != NULL);
	CHECK(strstr(buf, "\n4aa)       specialisation s26\n") != NULL);
	CHECK(strstr(buf, "\n4ad)       specialisation s29\n") != NULL);
	struct menu_choice c;
	type(&m, "4aa", &c, EV_REDRAW);
	CHECK_INT(m.spec, 26);
	type(&m, "4A", &c, EV_REDRAW);
	CHECK_INT(m.spec, 0);
	found_free(&f);
}

int main(void)
{
	char *text = load_text();
	struct found f;
	CHECK_INT(found_load(&f, text), 2);
	free(text);
	test_found(&f);
	test_pages(&f);
	test_default(&f);
	found_free(&f);
	test_status_escaped();
	test_many_specialisations();
	return check_done("test_menu");
}
