/* Building fake trees for detection tests: files, folders and links under a temporary root. */
#ifndef LB_TEST_TREE_H
#define LB_TEST_TREE_H

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/util.h"

static char tree_root[256];

static inline const char * tree_path(const char *rel)
{
	static char buf[4][1024];
	static int k;
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", tree_root, rel);
	return buf[k];
}

static inline void tree_new(void)
{
	/* /dev/shm when there is one: trees of 10,000 links are slow to make on a disk. */
	snprintf(tree_root, sizeof(tree_root), "%s/lb-unit-XXXXXX",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (!mkdtemp(tree_root)) {
		perror("mkdtemp");
		exit(2);
	}
}

static inline void tree_dir(const char *rel)
{
	mkdir_p(tree_path(rel), 0755);
}

static inline void tree_parent(const char *rel)
{
	char *p = xstrdup(tree_path(rel));
	char *s = strrchr(p, '/');
	if (s) {
		*s = 0;
		mkdir_p(p, 0755);
	}
	free(p);
}

static inline void tree_file(const char *rel, const char *text)
{
	tree_parent(rel);
	FILE *f = fopen(tree_path(rel), "w");
	if (!f) {
		perror(rel);
		exit(2);
	}
	fputs(text, f);
	fclose(f);
}

static inline void tree_link(const char *target, const char *rel)
{
	tree_parent(rel);
	unlink(tree_path(rel));
	if (symlink(target, tree_path(rel)) < 0) {
		perror(rel);
		exit(2);
	}
}

static inline int tree_open(void)
{
	return open(tree_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static inline void tree_free(void)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tree_root);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tree_root);
}

#endif
