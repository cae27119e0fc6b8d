/* Building the command line of a kexec: NixOS's rule (init= then kernel-params), the console
 * carried over from lifeboat's own, and the parameters a NixOS kexec installer's run script
 * would pass. Pure string work, so unit tests cover it and the build reuses it. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "act/kexec.h"
#include "lib/cmdline.h"
#include "lib/util.h"

char *kexec_cmdline_nixos(const char *init, const char *params)
{
	while (params && *params == ' ')
		params++;
	if (!params || !*params)
		return xasprintf("init=%s", init);
	char *s = xasprintf("init=%s %s", init, params);
	return rstrip(s);
}

struct consoles {
	char *list;
	size_t len;
	int has;
};

static void collect_console(const char *key, const char *val, void *ctx)
{
	struct consoles *c = ctx;
	if (strcmp(key, "console") || !val || !*val || strchr(val, ' ') || strchr(val, '"'))
		return;
	char *n = xasprintf("%s console=%s", c->list ? c->list : "", val);
	free(c->list);
	c->list = n;
}

static void find_console(const char *key, const char *val, void *ctx)
{
	if (!strcmp(key, "console"))
		((struct consoles *)ctx)->has = 1;
}

char *kexec_cmdline_consoles(const char *cmdline, const char *running, int *added)
{
	struct consoles target = {0}, ours = {0};
	*added = 0;
	cmdline_split(cmdline, find_console, &target);
	if (!target.has && running)
		cmdline_split(running, collect_console, &ours);
	if (!ours.list)
		return xstrdup(cmdline);
	*added = 1;
	/* At the end of the kernel's parameters: before a "--" (what follows is init's), and after
	 * closing a quote left open (it would take them into its value; found by fuzz_cmdline).
	 * collect_console put a space before every entry. Spaces inside the open quote are its
	 * value's: dropping them could close `"-- ` into a "--" that ends the kernel's part. */
	int open;
	size_t end = cmdline_params_end(cmdline, &open), keep = end;
	while (!open && keep && cmdline[keep - 1] == ' ')
		keep--;
	const char *rest = cmdline + end;
	char *s = xasprintf("%.*s%s%s%s%s", (int)keep, cmdline, open ? "\"" : "", ours.list + !keep,
			    *rest ? " " : "", rest);
	free(ours.list);
	return s;
}

/* The value of a NAME="..." or NAME='...' assignment at the start of a line, or NULL. */
static char *assignment(const char *script, const char *name)
{
	size_t nl = strlen(name);
	for (const char *p = script; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncmp(p, name, nl) || p[nl] != '=')
			continue;
		const char *v = p + nl + 1;
		char q = *v == '"' || *v == '\'' ? *v++ : 0;
		size_t len = q ? strcspn(v, q == '"' ? "\"\n" : "'\n") : strcspn(v, " \t\n;");
		if (q && v[len] != q)
			continue;
		char *s = xmalloc(len + 1);
		memcpy(s, v, len);
		s[len] = 0;
		return s;
	}
	return NULL;
}

/* Replace $name and ${name} of init and kernelParams; -EINVAL for any other expansion. */
static int expand(const char *in, const char *init, const char *params, char **out)
{
	size_t cap = strlen(in) + (init ? strlen(init) : 0) + (params ? strlen(params) : 0) + 1;
	char *s = xmalloc(cap), *w = s;
	for (const char *p = in; *p;) {
		if (*p != '$') {
			*w++ = *p++;
			continue;
		}
		int brace = p[1] == '{';
		const char *n = p + 1 + brace;
		size_t len = 0;
		while (isalnum((unsigned char)n[len]) || n[len] == '_')
			len++;
		const char *val = len == 4 && !strncmp(n, "init", 4) ? init
				  : len == 12 && !strncmp(n, "kernelParams", 12) ? params : NULL;
		if (!val || (brace && n[len] != '}')) {
			free(s);
			return -EINVAL;
		}
		size_t vl = strlen(val);
		memcpy(w, val, vl);
		w += vl;
		p = n + len + brace;
	}
	*w = 0;
	*out = s;
	return 0;
}

int kexec_run_script_cmdline(const char *script, char **out)
{
	char *init = assignment(script, "init");
	char *params = assignment(script, "kernelParams");
	char *raw = NULL;
	const char *opt = strstr(script, "--command-line");
	if (opt) {
		const char *v = opt + strlen("--command-line");
		while (*v == '=' || *v == ' ' || *v == '\t')
			v++;
		char q = *v == '"' || *v == '\'' ? *v++ : 0;
		size_t len = q ? strcspn(v, q == '"' ? "\"" : "'") : strcspn(v, " \t\n");
		raw = xmalloc(len + 1);
		memcpy(raw, v, len);
		raw[len] = 0;
	} else if (init) {
		raw = xasprintf("init=$init%s", params ? " $kernelParams" : "");
	}
	int r = -ENOENT;
	if (raw) {
		r = expand(raw, init, params, out);
		/* A template that nix never filled in (@init@) is not a command line. */
		if (r == 0 && (strstr(*out, "@init@") || strstr(*out, "@kernelParams@"))) {
			free(*out);
			r = -EINVAL;
		}
		if (r == 0)
			rstrip(*out);
	}
	free(raw);
	free(init);
	free(params);
	return r;
}
