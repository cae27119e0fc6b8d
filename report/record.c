#include "report/record.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "lib/escape.h"
#include "lib/util.h"

void report_put(FILE *f, const char *kind, ...)
{
	va_list ap;
	va_start(ap, kind);
	fputs(kind, f);
	for (;;) {
		const char *k = va_arg(ap, const char *);
		if (!k)
			break;
		const char *v = va_arg(ap, const char *);
		char *e = escape_value(v ? v : "");
		fprintf(f, " %s=%s", k, *e ? e : "-");
		free(e);
	}
	fputc('\n', f);
	va_end(ap);
}

int record_parse(struct record *r, char *line)
{
	memset(r, 0, sizeof(*r));
	r->line = line;
	char *save = NULL;
	char *w = strtok_r(line, " \t\n", &save);
	if (!w || *w == '#')
		return -EINVAL;
	r->kind = w;
	while ((w = strtok_r(NULL, " \t\n", &save)) && r->n < REPORT_MAX_FIELDS) {
		char *eq = strchr(w, '=');
		if (!eq || eq == w)
			continue;
		*eq = 0;
		r->key[r->n] = w;
		r->val[r->n] = strcmp(eq + 1, "-") ? unescape_value(eq + 1) : eq + 1 + 1;
		r->n++;
	}
	return 0;
}

const char *record_get(const struct record *r, const char *key)
{
	for (int i = 0; i < r->n; i++)
		if (!strcmp(r->key[i], key))
			return r->val[i];
	return NULL;
}

long long record_int(const struct record *r, const char *key, long long def)
{
	const char *v = record_get(r, key);
	if (!v || !*v)
		return def;
	char *end;
	errno = 0;
	long long x = strtoll(v, &end, 10);
	return *end || errno ? def : x;
}

int report_parse(struct report *rep, const char *text)
{
	rep->r = NULL;
	rep->n = 0;
	const char *p = text;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char *line = xmalloc(len + 1);
		memcpy(line, p, len);
		line[len] = 0;
		struct record r;
		if (record_parse(&r, line) == 0) {
			rep->r = xrealloc(rep->r, sizeof(*rep->r) * (size_t)(rep->n + 1));
			rep->r[rep->n++] = r;
		} else {
			free(line);
		}
		p += len + (nl ? 1 : 0);
	}
	return rep->n;
}

void report_free(struct report *rep)
{
	for (int i = 0; i < rep->n; i++)
		free(rep->r[i].line);
	free(rep->r);
	rep->r = NULL;
	rep->n = 0;
}

int report_next(const struct report *rep, const char *kind, int from)
{
	for (int i = from + 1; i < rep->n; i++)
		if (!strcmp(rep->r[i].kind, kind))
			return i;
	return -1;
}

const char *record_str(const struct record *r, const char *key)
{
	const char *v = record_get(r, key);
	return v ? v : "";
}
