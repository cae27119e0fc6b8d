/* The names of LUKS mappings read from a disk's initrd (discover/cryptnames.c): the input as a
 * crypttab and as a stage-1 init script, and as an initrd's first bytes (its segments). Every
 * name kept must be one lifeboat may use; every segment offset inside the input. */
#include <stdlib.h>
#include <string.h>

#include "discover/cryptnames.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = 0;
	struct cryptname p[16];
	int n = cryptnames_parse_crypttab(text, p, 0, 16);
	n = cryptnames_parse_init(text, p, n, 16);
	if (n < 0 || n > 16)
		abort();
	for (int i = 0; i < n; i++)
		if (!cryptname_valid(p[i].name) || !p[i].ref[0] || strchr(p[i].ref, '\n') || strchr(p[i].ref, '$'))
			abort();
	long long offs[8];
	char fmts[8];
	int k = cryptnames_segments(data, size, offs, fmts, 8);
	if (k < 0 || k > 8)
		abort();
	for (int i = 0; i < k; i++)
		if (offs[i] < 0 || (size_t)offs[i] >= size || (i && offs[i] <= offs[i - 1]))
			abort();
	free(text);
	return 0;
}
