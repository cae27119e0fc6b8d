/* A small file tree made from fuzzer input, for the targets that read a found system's files.
 * One entry a line: "d PATH" (a folder), "l PATH TARGET" (a symlink), "f PATH TEXT" (a file
 * whose content is TEXT with \n, \0, \\ and \xHH unescaped, so files hold several lines and
 * NUL bytes; raw NUL bytes of the input are kept too). The tree is made in a scratch folder
 * whose parent holds a canary file with random content: no lookup inside the tree may reach it.
 * Paths stay inside the tree (no "..", not absolute); link targets go anywhere. */
#ifndef LB_FUZZ_TREE_H
#define LB_FUZZ_TREE_H

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/util.h"

static char tree_base[64], tree_root[96], tree_secret[40];

/* Remove what is in folder fd (closed here), without following links: rm -rf without the cost
 * of a shell for every input. */
static void tree_empty(int fd)
{
	DIR *d = fdopendir(fd);
	if (!d)
		abort();
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (unlinkat(fd, e->d_name, 0) == 0)
			continue;
		int sub = openat(fd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
		if (sub < 0)
			abort();
		tree_empty(sub);
		if (unlinkat(fd, e->d_name, AT_REMOVEDIR) < 0)
			abort();
	}
	closedir(d);
}

static void tree_cleanup(void)
{
	int fd = open(tree_base, O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		tree_empty(fd);
		rmdir(tree_base);
	}
}

static void tree_setup(void)
{
	if (tree_base[0])
		return;
	atexit(tree_cleanup);
	snprintf(tree_base, sizeof(tree_base), "/dev/shm/lb-fuzz-%d", (int)getpid());
	mkdir(tree_base, 0755);
	snprintf(tree_root, sizeof(tree_root), "%s/root", tree_base);
	char canary[128];
	snprintf(canary, sizeof(canary), "%s/canary", tree_base);
	/* Random content, so that link text the fuzzer writes cannot fake a leak. */
	unsigned char r[12];
	FILE *u = fopen("/dev/urandom", "r");
	if (!u || fread(r, 1, sizeof(r), u) != sizeof(r))
		abort();
	fclose(u);
	for (int i = 0; i < 12; i++)
		sprintf(tree_secret + 2 * i, "%02x", r[i]);
	FILE *f = fopen(canary, "w");
	fputs(tree_secret, f);
	fclose(f);
}

static int tree_safe(const char *p)
{
	return *p && *p != '/' && !strstr(p, "..") && strlen(p) < 200;
}

static int tree_hex(unsigned char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Unescape s[0..n) into out (at least n bytes); returns the length. */
static size_t tree_unescape(const unsigned char *s, size_t n, char *out)
{
	size_t w = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '\\' || i + 1 == n) {
			out[w++] = (char)s[i];
			continue;
		}
		unsigned char c = s[++i];
		if (c == 'n')
			out[w++] = '\n';
		else if (c == '0')
			out[w++] = 0;
		else if (c == 'x' && i + 2 < n && tree_hex(s[i + 1]) >= 0 && tree_hex(s[i + 2]) >= 0) {
			out[w++] = (char)(tree_hex(s[i + 1]) * 16 + tree_hex(s[i + 2]));
			i += 2;
		} else
			out[w++] = (char)c;
	}
	return w;
}

/* Does the fuzzer know the secret (it learns it from comparisons and may write it into a link
 * or file, which a report then shows: that is no leak)? */
static int tree_told(const unsigned char *data, size_t size)
{
	return memmem(data, size, tree_secret, strlen(tree_secret)) != NULL;
}

/* Did the secret reach text the code under test produced? */
static int tree_leaked(const unsigned char *data, size_t size, const char *text, size_t len)
{
	return !tree_told(data, size) && text && memmem(text, len, tree_secret, strlen(tree_secret));
}

/* Make the tree the input describes (at most 64 entries); returns an fd of its root. */
static int tree_build(const unsigned char *data, size_t size)
{
	tree_setup();
	mkdir(tree_root, 0755);
	int dfd = open(tree_root, O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		abort();
	tree_empty(dup(dfd));
	const unsigned char *p = data, *end = data + size;
	for (int n = 0; p < end && n < 64; n++) {
		const unsigned char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((nl ? nl : end) - p);
		const unsigned char *line = p;
		p = nl ? nl + 1 : end;
		if (len < 3 || line[1] != ' ')
			continue;
		/* PATH is a C string up to the first space (or NUL); the rest is the argument. */
		char *rest = xmalloc(len + 1);
		memcpy(rest, line + 2, len - 2);
		rest[len - 2] = 0;
		size_t plen = strcspn(rest, " ");
		const unsigned char *arg = plen < len - 2 ? line + 2 + plen + 1 : NULL;
		size_t alen = arg ? len - 2 - plen - 1 : 0;
		rest[plen] = 0;
		char *path = rest;
		if (!tree_safe(path)) {
			free(rest);
			continue;
		}
		char *dir = xstrdup(path), *slash = strrchr(dir, '/');
		if (slash) {
			*slash = 0;
			char *full = xasprintf("%s/%s", tree_root, dir);
			mkdir_p(full, 0755);
			free(full);
		}
		free(dir);
		if (line[0] == 'd') {
			mkdirat(dfd, path, 0755);
		} else if (line[0] == 'l' && arg) {
			char *target = xmalloc(alen + 1);
			memcpy(target, arg, alen);
			target[alen] = 0;
			symlinkat(target, dfd, path);
			free(target);
		} else if (line[0] == 'f') {
			int fd = openat(dfd, path, O_WRONLY | O_CREAT | O_EXCL, 0644);
			if (fd >= 0) {
				char *text = xmalloc(alen + 1);
				size_t tlen = tree_unescape(arg ? arg : (const unsigned char *)"", alen, text);
				if (tlen && write(fd, text, tlen) < 0)
					abort();
				free(text);
				close(fd);
			}
		}
		free(rest);
	}
	return dfd;
}

#endif
