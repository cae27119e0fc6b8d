#include "lib/cmdline.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

/* The kernel's isspace() (lib/ctype.c) also counts \v, \f, \r and the Latin-1 NBSP. */
static int kspace(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r' ||
	       (unsigned char)c == 0xa0;
}

void cmdline_split(const char *line, void (*fn)(const char *key, const char *val, void *ctx),
		   void *ctx)
{
	size_t len = strlen(line);
	char *buf = xmalloc(len + 1);
	memcpy(buf, line, len + 1);
	char *p = buf;
	/* A transcription of the kernel's next_arg() (kernel/params.c), quirks included: what the
	 * kernel sees as one parameter must be one parameter here. */
	for (;;) {
		while (kspace(*p))
			p++;
		if (!*p)
			break;
		int quoted = 0, in_quote = 0;
		if (*p == '"') {
			p++;
			quoted = in_quote = 1;
		}
		size_t i, eq = 0;
		for (i = 0; p[i]; i++) {
			if (kspace(p[i]) && !in_quote)
				break;
			if (!eq && p[i] == '=')
				eq = i;
			if (p[i] == '"')
				in_quote = !in_quote;
		}
		char *val = NULL;
		if (eq) {
			p[eq] = 0;
			val = p + eq + 1;
			if (*val == '"') {
				val++;
				if (p[i - 1] == '"')
					p[i - 1] = 0;
			}
		}
		if (quoted && i > 0 && p[i - 1] == '"')
			p[i - 1] = 0;
		int more = p[i] != 0;
		p[i] = 0;
		/* The kernel hands everything after "--" to init; it is not ours to parse. */
		if (!val && !strcmp(p, "--"))
			break;
		fn(p, val, ctx);
		if (!more)
			break;
		p += i + 1;
	}
	free(buf);
}

size_t cmdline_params_end(const char *line, int *open)
{
	/* The same boundaries as cmdline_split: every quote toggles, spaces split outside quotes;
	 * a parameter "--" (quoted or not) ends the kernel's part. */
	size_t i = 0;
	*open = 0;
	for (;;) {
		while (kspace(line[i]))
			i++;
		if (!line[i])
			return i;
		size_t start = i;
		int q = 0;
		for (; line[i] && (q || !kspace(line[i])); i++)
			if (line[i] == '"')
				q = !q;
		size_t a = start, b = i;
		if (line[a] == '"')
			a++;
		if (b > a && line[b - 1] == '"')
			b--;
		if (b - a == 2 && !strncmp(line + a, "--", 2))
			return start;
		if (!line[i]) {
			*open = q;
			return i;
		}
	}
}

static void warn(struct lb_options *o, char *msg)
{
	if (o->n_warnings < (int)ARRAY_SIZE(o->warnings))
		o->warnings[o->n_warnings++] = msg;
	else
		free(msg);
}

static int parse_int(const char *v, long lo, long hi, long *out)
{
	if (!v || !*v)
		return -EINVAL;
	char *end;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (errno || *end || n < lo || n > hi)
		return -EINVAL;
	*out = n;
	return 0;
}

static void set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = xstrdup(v ? v : "");
}

/* A flag given bare is on; "=1/yes/on/true" and "=0/no/off/false" say so explicitly. */
static int parse_flag(struct lb_options *o, const char *key, const char *v, int *flag)
{
	static const char *on[] = {"1", "y", "yes", "on", "true"}, *off[] = {"0", "n", "no", "off", "false"};
	if (!v) {
		*flag = 1;
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(on); i++)
		if (!strcmp(v, on[i])) {
			*flag = 1;
			return 0;
		}
	for (size_t i = 0; i < ARRAY_SIZE(off); i++)
		if (!strcmp(v, off[i])) {
			*flag = 0;
			return 0;
		}
	warn(o, xasprintf("%s=%s: expected nothing, 1 or 0; ignored", key, v));
	return -EINVAL;
}

/* modprobe.blacklist= and module_blacklist= both name modules never to load; keep one list. */
static void add_blacklist(struct lb_options *o, const char *v)
{
	if (!v || !*v)
		return;
	char *old = o->blacklist;
	o->blacklist = old ? xasprintf("%s,%s", old, v) : xstrdup(v);
	free(old);
}

/* The kernel treats '-' and '_' alike in parameter names; so do we. */
static int name_is(const char *k, const char *name)
{
	for (; *k && *name; k++, name++)
		if (*k != *name && !((*k == '-' || *k == '_') && (*name == '-' || *name == '_')))
			return 0;
	return *k == *name;
}

static void option_seen(const char *key, const char *val, void *ctx)
{
	struct lb_options *o = ctx;
	if (name_is(key, "modprobe.blacklist") || name_is(key, "module_blacklist")) {
		add_blacklist(o, val);
		return;
	}
	if ((name_is(key, "loglevel") && val) || (!val && (name_is(key, "debug") || name_is(key, "ignore_loglevel")))) {
		o->loglevel_set = 1;
		return;
	}
	if (!startswith(key, "lifeboat."))
		return;
	const char *k = key + strlen("lifeboat.");
	long n;
	if (name_is(k, "timeout")) {
		if (parse_int(val, -1, 86400, &n) < 0)
			warn(o, xasprintf("lifeboat.timeout=%s is not a number of seconds from -1 to 86400; "
					  "waiting for a key", val ? val : ""));
		else {
			o->timeout = (int)n;
			o->timeout_set = 1;
		}
	} else if (name_is(k, "settle")) {
		if (parse_int(val, 0, 600, &n) < 0)
			warn(o, xasprintf("lifeboat.settle=%s is not a number of seconds from 0 to 600; "
					  "using %d", val ? val : "", o->settle_ms / 1000));
		else
			o->settle_ms = (int)n * 1000;
	} else if (name_is(k, "disktimeout")) {
		if (parse_int(val, 1, 3600, &n) < 0)
			warn(o, xasprintf("lifeboat.disktimeout=%s is not a number of seconds from 1 to 3600; "
					  "using %d", val ? val : "", o->disktimeout_ms / 1000));
		else
			o->disktimeout_ms = (int)n * 1000;
	} else if (name_is(k, "default")) {
		static const char *actions[] = {"enter", "boot", "installer", "shell", "reboot", "poweroff"};
		int ok = 0;
		for (size_t i = 0; val && i < ARRAY_SIZE(actions); i++)
			ok |= !strcmp(val, actions[i]);
		if (ok)
			set_str(&o->default_action, val);
		else
			warn(o, xasprintf("lifeboat.default=%s is not one of enter, boot, installer, shell, "
					  "reboot, poweroff; ignored", val ? val : ""));
	} else if (name_is(k, "system") || name_is(k, "generation") || name_is(k, "modules")) {
		char **dst = name_is(k, "system") ? &o->system : name_is(k, "generation") ? &o->generation : &o->modules;
		if (!val || !*val)
			warn(o, xasprintf("%s needs a value (%s=...); ignored", key, key));
		else
			set_str(dst, val);
	} else if (name_is(k, "debug")) {
		parse_flag(o, key, val, &o->debug);
	} else if (name_is(k, "shell")) {
		parse_flag(o, key, val, &o->shell);
	} else if (name_is(k, "nomodules")) {
		parse_flag(o, key, val, &o->nomodules);
	} else if (name_is(k, "debug_noblkro")) {
		/* Debug only: without the block-device read-only flag, a mount option that let a
		 * journal replay would write; the zero-write tests need to see that. */
		parse_flag(o, key, val, &o->debug_noblkro);
	} else if (name_is(k, "net") || name_is(k, "authorized_key")) {
		/* Remote rescue's: `lifeboat remote` (applets/remote.c) reads them itself. */
	} else {
		warn(o, xasprintf("unknown option %s ignored (see the README for lifeboat.* options)", key));
	}
}

void cmdline_parse(const char *line, struct lb_options *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->timeout = -1;
	opt->settle_ms = 10000;
	opt->disktimeout_ms = CMDLINE_DISKTIMEOUT_MS;
	cmdline_split(line, option_seen, opt);
}

void cmdline_free(struct lb_options *opt)
{
	free(opt->default_action);
	free(opt->system);
	free(opt->generation);
	free(opt->modules);
	free(opt->blacklist);
	for (int i = 0; i < opt->n_warnings; i++)
		free(opt->warnings[i]);
	memset(opt, 0, sizeof(*opt));
}

struct modparams {
	const char *module;
	size_t mlen;
	char *out;
};

static void modparam_one(const char *key, const char *val, void *ctx)
{
	struct modparams *m = ctx;
	if (strlen(key) <= m->mlen + 1 || key[m->mlen] != '.')
		return;
	char name[256];
	snprintf(name, sizeof(name), "%.*s", (int)m->mlen, key);
	if (!name_is(name, m->module))
		return;
	const char *param = key + m->mlen + 1;
	/* Values lost their quotes in splitting; put them back where the module parser needs them. */
	int q = val && strpbrk(val, " \t\n") != NULL;
	char *item = val ? xasprintf("%s=%s%s%s", param, q ? "\"" : "", val, q ? "\"" : "") : xstrdup(param);
	char *old = m->out;
	m->out = old && *old ? xasprintf("%s %s", old, item) : xstrdup(item);
	free(old);
	free(item);
}

char *cmdline_module_params(const char *line, const char *module)
{
	struct modparams m = {module, strlen(module), NULL};
	cmdline_split(line, modparam_one, &m);
	return m.out ? m.out : xstrdup("");
}

int cmdline_read(char **line)
{
	const char *env = getenv("LIFEBOAT_CMDLINE");
	if (env) {
		*line = xstrdup(env);
		return 0;
	}
	ssize_t r = read_file_at(AT_FDCWD, "/proc/cmdline", 65536, line);
	if (r < 0) {
		*line = xstrdup("");
		return (int)r;
	}
	return 0;
}

int cmdline_load(struct lb_options *opt)
{
	char *line;
	int r = cmdline_read(&line);
	cmdline_parse(line, opt);
	free(line);
	return r;
}
