#include "present/default.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/escape.h"
#include "report/select.h"

static const struct {
	const char *name;
	enum menu_act act;
} actions[] = {
	{"enter", ACT_ENTER},
	{"boot", ACT_BOOT},
	{"installer", ACT_INSTALLER},
	{"shell", ACT_SHELL},
	{"reboot", ACT_REBOOT},
	{"poweroff", ACT_POWEROFF},
};

static int refuse(char *msg, size_t size, const char *fmt, const char *a, const char *b)
{
	char ea[64], eb[64];
	snprintf(msg, size, fmt, term_escape(a ? a : "", ea, sizeof(ea), 60), term_escape(b ? b : "", eb, sizeof(eb), 60));
	return -EINVAL;
}

static int pick_generation(const struct lb_options *o, const struct found_sys *s, struct default_plan *p,
			   char *msg, size_t size)
{
	char why[300], eg[64];
	const struct found_gen *g = select_generation(s, NULL, o->generation, NULL, why, sizeof(why));
	if (!g) {
		if (o->generation && *o->generation)
			snprintf(msg, size, "lifeboat.generation=%s: %s", term_escape(o->generation, eg, sizeof(eg), 60), why);
		else
			snprintf(msg, size, "lifeboat.default=%s: %s", term_escape(o->default_action, eg, sizeof(eg), 60), why);
		return -EINVAL;
	}
	p->c.gen = g->number;
	p->c.spec = *g->spec ? (int)(g - s->specs) : -1;
	return 0;
}

int default_decide(const struct lb_options *o, const struct found *f, struct default_plan *p, char *msg,
		   size_t size)
{
	memset(p, 0, sizeof(*p));
	p->c.sys = p->c.gen = p->c.spec = -1;
	msg[0] = 0;
	if (!o->default_action || !*o->default_action) {
		if (o->timeout_set && o->timeout >= 0) {
			snprintf(msg, size, "lifeboat.timeout=%d needs lifeboat.default= to say what to do; waiting for a key",
				 o->timeout);
			return -EINVAL;
		}
		return 0;
	}
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (!strcmp(o->default_action, actions[i].name))
			p->c.act = actions[i].act;
	if (p->c.act == ACT_NONE)
		return refuse(msg, size, "lifeboat.default=%s is not one of enter, boot, installer, shell, reboot, poweroff",
			    o->default_action, NULL);
	p->timeout = o->timeout_set ? o->timeout : DEFAULT_TIMEOUT_S;
	if (p->c.act == ACT_ENTER || p->c.act == ACT_BOOT) {
		if (!f || !f->n_sys)
			return refuse(msg, size, "lifeboat.default=%s: no NixOS system was found", o->default_action, NULL);
		if (o->system && *o->system) {
			char why[700], es[64];
			int i = select_system(f, o->system, why, sizeof(why));
			if (i < 0) {
				snprintf(msg, size, "lifeboat.system=%s %s", term_escape(o->system, es, sizeof(es), 60), why);
				return -EINVAL;
			}
			p->c.sys = i;
		} else if (f->n_sys == 1) {
			p->c.sys = 0;
		} else {
			return refuse(msg, size, "lifeboat.default=%s: several systems were found; say which with lifeboat.system=",
				    o->default_action, NULL);
		}
		int r = pick_generation(o, &f->sys[p->c.sys], p, msg, size);
		if (r < 0)
			return r;
	}
	/* -1 waits forever: the default is known but only a key runs anything. */
	return p->timeout < 0 ? 0 : 1;
}

void default_describe(const struct found *f, const struct default_plan *p, char *buf, size_t size)
{
	const char *name = "?";
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (actions[i].act == p->c.act)
			name = actions[i].name;
	if (p->c.sys < 0 || !f || p->c.sys >= f->n_sys) {
		snprintf(buf, size, "%s", name);
		return;
	}
	const struct found_sys *s = &f->sys[p->c.sys];
	char host[40], spec[40] = "";
	term_escape(s->host, host, sizeof(host), 30);
	if (p->c.spec >= 0) {
		char e[32];
		snprintf(spec, sizeof(spec), " (%s)", term_escape(s->specs[p->c.spec].spec, e, sizeof(e), 24));
	}
	snprintf(buf, size, "%s %s, generation %d%s", name, host, p->c.gen, spec);
}
