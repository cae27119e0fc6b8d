/* The tree scan: the input describes a small tree of folders, files (several lines, NUL bytes)
 * and symlinks (tests/fuzz/tree.h), which is scanned for NixOS with both resolution paths. No
 * lookup may reach the canary outside the tree, and nothing may crash. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "discover/nixos.h"
#include "lib/inroot.h"
#include "tests/fuzz/tree.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	int dfd = tree_build(data, size);
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
		ssize_t n = inroot_read(dfd, "nix/var/nix/profiles/system", 100, &c);
		if (n >= 0) {
			if (tree_leaked(data, size, c, (size_t)n))
				abort();
			free(c);
		}
	}
	inroot_force_walk = 0;
	fclose(out);
	if (tree_leaked(data, size, buf, len))
		abort();
	free(buf);
	close(dfd);
	return 0;
}
