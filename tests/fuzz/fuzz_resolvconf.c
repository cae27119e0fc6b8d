/* The entered system's etc/resolv.conf link chain, over a tree the input describes
 * (tests/fuzz/tree.h), with both in-root resolution paths: it must end inside the root (the
 * canary outside is never read through it) and give the same answer both ways. */
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "act/resolvconf.h"
#include "lib/inroot.h"
#include "tests/fuzz/tree.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	int dfd = tree_build(data, size);
	char path[2][PATH_MAX];
	int r[2];
	for (int walk = 0; walk < 2; walk++) {
		inroot_force_walk = walk;
		r[walk] = resolvconf_resolve(dfd, path[walk], sizeof(path[walk]));
		if (r[walk] > 0)
			abort();
		if (r[walk] == 0) {
			if (path[walk][0] != '/')
				abort();
			char *c = NULL;
			ssize_t n = inroot_read(dfd, path[walk], 4096, &c);
			if (n >= 0) {
				if (tree_leaked(data, size, c, (size_t)n))
					abort();
				free(c);
			}
		}
	}
	inroot_force_walk = 0;
	if (r[0] != r[1] || (r[0] == 0 && strcmp(path[0], path[1])))
		abort();
	close(dfd);
	return 0;
}
