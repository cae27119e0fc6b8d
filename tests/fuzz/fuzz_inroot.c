/* The tree scan: the input describes a small tree of folders, files and symlinks (one entry a
 * line: "d PATH", "f PATH TEXT", "l PATH TARGET"); it is made in a scratch folder whose parent
 * holds a canary file, then scanned for NixOS with both resolution paths. No lookup may reach
 * the canary, and nothing may crash. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "discover/nixos.h"
#include "lib/inroot.h"
#include "lib/util.h"

static char base[64], root[96], secret[40];

static void rm_tree(void)
{
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd) != 0)
		abort();
	mkdir(root, 0755);
}

static int safe(const char *p)
{
	/* Paths the fuzzer makes stay inside root: no "..", not absolute. */
	return *p && *p != '/' && !strstr(p, "..") && strlen(p) < 200;
}

static void cleanup(void)
{
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", base);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	if (!base[0]) {
		atexit(cleanup);
		snprintf(base, sizeof(base), "/dev/shm/lb-fuzz-%d", (int)getpid());
		mkdir(base, 0755);
		snprintf(root, sizeof(root), "%s/root", base);
		char canary[128];
		snprintf(canary, sizeof(canary), "%s/canary", base);
		/* Its content is random, so that link text the fuzzer writes cannot fake a leak. */
		unsigned char r[12];
		FILE *u = fopen("/dev/urandom", "r");
		if (!u || fread(r, 1, sizeof(r), u) != sizeof(r))
			abort();
		fclose(u);
		for (int i = 0; i < 12; i++)
			sprintf(secret + 2 * i, "%02x", r[i]);
		FILE *f = fopen(canary, "w");
		fputs(secret, f);
		fclose(f);
	}
	rm_tree();
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = 0;
	/* libFuzzer learns the secret from the comparisons below and may write it into a link's
	 * text, which the report then shows: that is no leak. */
	int told = memmem(data, size, secret, strlen(secret)) != NULL;
	int dfd = open(root, O_RDONLY | O_DIRECTORY);
	int n = 0;
	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line && n < 64;
	     line = strtok_r(NULL, "\n", &save), n++) {
		if (strlen(line) < 3 || line[1] != ' ')
			continue;
		char *path = line + 2, *arg = strchr(path, ' ');
		if (arg)
			*arg++ = 0;
		if (!safe(path))
			continue;
		char *dir = xstrdup(path), *slash = strrchr(dir, '/');
		if (slash) {
			*slash = 0;
			char *full = xasprintf("%s/%s", root, dir);
			mkdir_p(full, 0755);
			free(full);
		}
		free(dir);
		if (line[0] == 'd')
			mkdirat(dfd, path, 0755);
		else if (line[0] == 'l' && arg)
			symlinkat(arg, dfd, path);
		else if (line[0] == 'f') {
			int fd = openat(dfd, path, O_WRONLY | O_CREAT | O_EXCL, 0644);
			if (fd >= 0) {
				if (arg && write(fd, arg, strlen(arg)) < 0)
					abort();
				close(fd);
			}
		}
	}
	free(text);
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	for (int walk = 0; walk < 2; walk++) {
		inroot_force_walk = walk;
		if (nixos_present(dfd) || nixos_nixfs_present(dfd)) {
			struct nixos_found f;
			nixos_scan(out, dfd, "1", "/dev/x", &f);
			nixos_found_free(&f);
		}
		char *c = NULL;
		if (inroot_read(dfd, "nix/var/nix/profiles/system", 100, &c) >= 0) {
			if (!told && strstr(c, secret))
				abort();
			free(c);
		}
	}
	inroot_force_walk = 0;
	fclose(out);
	if (!told && buf && strstr(buf, secret))
		abort();
	free(buf);
	close(dfd);
	return 0;
}
