#include "init/cmdline.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

void cmdline_split(const char *line, void (*fn)(const char *key, const char *val, void *ctx),
		   void *ctx)
{
	size_t len = strlen(line);
	char *buf = xmalloc(len + 1);
	memcpy(buf, line, len + 1);
	char *p = buf;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (!*p)
			break;
		/* As in the kernel: a leading quote is dropped, then quotes toggle grouping. */
		int quoted = 0, in_quote = 0;
		if (*p == '"') {
			p++;
			quoted = in_quote = 1;
		}
		size_t i, eq = 0;
		for (i = 0; p[i]; i++) {
			if (!in_quote && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n'))
				break;
			if (!eq && p[i] == '=')
				eq = i;
			if (p[i] == '"')
				in_quote = !in_quote;
		}
		char *next = p + i;
		int more = *next != 0;
		*next = 0;
		char *val = NULL;
		if (eq) {
			p[eq] = 0;
			val = p + eq + 1;
			if (*val == '"') {
				val++;
				if (i > 0 && p[i - 1] == '"' && p + i - 1 >= val)
					p[i - 1] = 0;
			}
		} else if (quoted && i > 0 && p[i - 1] == '"') {
			p[i - 1] = 0;
		}
		/* The kernel hands everything after "--" to init; it is not ours to parse. */
		if (!strcmp(p, "--") && !val)
			break;
		fn(p, val, ctx);
		if (!more)
			break;
		p = next + 1;
	}
	free(buf);
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

static int is_flag_on(const char *v)
{
	return !v || !strcmp(v, "1") || !strcmp(v, "yes") || !strcmp(v, "on") || !strcmp(v, "true");
}

static void one(const char *key, const char *val, void *ctx)
{
	struct lb_options *o = ctx;
	if (!startswith(key, "lifeboat."))
		return;
	const char *k = key + strlen("lifeboat.");
	long n;
	if (!strcmp(k, "timeout")) {
		if (parse_int(val, -1, 86400, &n) < 0)
			warn(o, xasprintf("lifeboat.timeout=%s is not a number of seconds from -1 to 86400; "
					  "waiting for a key", val ? val : ""));
		else {
			o->timeout = (int)n;
			o->timeout_set = 1;
		}
	} else if (!strcmp(k, "settle")) {
		if (parse_int(val, 0, 600, &n) < 0)
			warn(o, xasprintf("lifeboat.settle=%s is not a number of seconds from 0 to 600; "
					  "using %d", val ? val : "", o->settle_ms / 1000));
		else
			o->settle_ms = (int)n * 1000;
	} else if (!strcmp(k, "default")) {
		static const char *actions[] = {"enter", "boot", "installer", "shell", "reboot", "poweroff"};
		int ok = 0;
		for (size_t i = 0; val && i < ARRAY_SIZE(actions); i++)
			ok |= !strcmp(val, actions[i]);
		if (ok)
			set_str(&o->default_action, val);
		else
			warn(o, xasprintf("lifeboat.default=%s is not one of enter, boot, installer, shell, "
					  "reboot, poweroff; ignored", val ? val : ""));
	} else if (!strcmp(k, "system")) {
		set_str(&o->system, val);
	} else if (!strcmp(k, "generation")) {
		set_str(&o->generation, val);
	} else if (!strcmp(k, "modules")) {
		set_str(&o->modules, val);
	} else if (!strcmp(k, "debug")) {
		o->debug = is_flag_on(val);
	} else if (!strcmp(k, "shell")) {
		o->shell = is_flag_on(val);
	} else if (!strcmp(k, "nomodules")) {
		o->nomodules = is_flag_on(val);
	} else {
		warn(o, xasprintf("unknown option %s ignored (see the README for lifeboat.* options)", key));
	}
}

void cmdline_parse(const char *line, struct lb_options *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->timeout = -1;
	opt->settle_ms = 10000;
	cmdline_split(line, one, opt);
}

void cmdline_free(struct lb_options *opt)
{
	free(opt->default_action);
	free(opt->system);
	free(opt->generation);
	free(opt->modules);
	for (int i = 0; i < opt->n_warnings; i++)
		free(opt->warnings[i]);
	memset(opt, 0, sizeof(*opt));
}

int cmdline_load(struct lb_options *opt)
{
	const char *env = getenv("LIFEBOAT_CMDLINE");
	char *line = NULL;
	if (env) {
		line = xstrdup(env);
	} else {
		ssize_t r = read_file_at(AT_FDCWD, "/proc/cmdline", 65536, &line);
		if (r < 0) {
			cmdline_parse("", opt);
			return (int)r;
		}
	}
	cmdline_parse(line, opt);
	free(line);
	return 0;
}
