#include "discover/fstab.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

char *fstab_unescape(char *s)
{
	char *w = s;
	for (char *p = s; *p; p++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
		    p[3] >= '0' && p[3] <= '7') {
			int c = (p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0');
			/* \000 would cut the field short: keep it as written. */
			if (c) {
				*w++ = (char)c;
				p += 3;
				continue;
			}
		}
		*w++ = *p;
	}
	*w = 0;
	return s;
}

/* Drop x-* options (userspace hints such as x-systemd.automount, x-gvfs-show) and note the ones
 * the plan needs. */
static void options_filter(struct fstab_entry *e, const char *opts)
{
	size_t n = strlen(opts);
	char *out = xmalloc(n + sizeof("defaults")), *w = out;
	char *copy = xstrdup(opts);
	for (char *save = NULL, *o = strtok_r(copy, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		if (startswith(o, "x-"))
			continue;
		if (!strcmp(o, "nofail"))
			e->nofail = 1;
		if (!strcmp(o, "bind") || !strcmp(o, "rbind"))
			e->bind = 1;
		if (startswith(o, "subvol=")) {
			const char *v = o + 7;
			while (*v == '/')
				v++;
			free(e->subvol);
			e->subvol = xstrdup(v);
		}
		if (w != out)
			*w++ = ',';
		size_t l = strlen(o);
		memcpy(w, o, l);
		w += l;
	}
	*w = 0;
	if (w == out)
		strcpy(out, "defaults");
	free(copy);
	e->options = out;
}

int fstab_parse(struct fstab *t, const char *text)
{
	memset(t, 0, sizeof(*t));
	char *copy = xstrdup(text);
	for (char *save = NULL, *line = strtok_r(copy, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *f[6] = {0};
		int nf = 0;
		char *lp = NULL;
		for (char *w = strtok_r(line, " \t\r", &lp); w && nf < 6; w = strtok_r(NULL, " \t\r", &lp))
			f[nf++] = w;
		if (!nf || f[0][0] == '#')
			continue;
		if (nf < 3 || t->n >= FSTAB_MAX_ENTRIES) {
			t->skipped++;
			continue;
		}
		struct fstab_entry e = {0};
		e.spec = xstrdup(fstab_unescape(f[0]));
		e.target = xstrdup(fstab_unescape(f[1]));
		e.type = xstrdup(fstab_unescape(f[2]));
		options_filter(&e, nf > 3 ? fstab_unescape(f[3]) : "defaults");
		e.swap = !strcmp(e.type, "swap");
		t->e = xrealloc(t->e, sizeof(*t->e) * (size_t)(t->n + 1));
		t->e[t->n++] = e;
	}
	free(copy);
	return t->n;
}

void fstab_free(struct fstab *t)
{
	for (int i = 0; i < t->n; i++) {
		free(t->e[i].spec);
		free(t->e[i].target);
		free(t->e[i].type);
		free(t->e[i].options);
		free(t->e[i].subvol);
	}
	free(t->e);
	memset(t, 0, sizeof(*t));
}

const struct fstab_entry *fstab_find(const struct fstab *t, const char *target)
{
	/* The last entry wins, as with mount -a over the same point. Trailing slashes ignored. */
	const struct fstab_entry *found = NULL;
	size_t tl = strlen(target);
	while (tl > 1 && target[tl - 1] == '/')
		tl--;
	for (int i = 0; i < t->n; i++) {
		const char *m = t->e[i].target;
		size_t ml = strlen(m);
		while (ml > 1 && m[ml - 1] == '/')
			ml--;
		if (ml == tl && !strncmp(m, target, tl) && !t->e[i].swap)
			found = &t->e[i];
	}
	return found;
}
