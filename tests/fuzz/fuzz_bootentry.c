/* A systemd-boot entry from an ESP (loader/entries/NAME.conf, read when a generation uses initrd
 * secrets): parse it; and the entry name made from a report's profile and specialisation. */
#include <stdlib.h>
#include <string.h>

#include "act/kexec_generation.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = 0;
	struct boot_entry e;
	int r = boot_entry_parse(text, &e);
	if ((r == 0) != (e.linux != NULL) || e.n_initrd < 0 || e.n_initrd > 4)
		abort();
	/* Every value is a line's tail: none may hold a line break. */
	for (int i = 0; i < e.n_initrd; i++)
		if (strchr(e.initrd[i], '\n'))
			abort();
	if ((e.linux && strchr(e.linux, '\n')) || (e.options && strchr(e.options, '\n')))
		abort();
	boot_entry_free(&e);
	/* The input's first line as a profile, its second as a specialisation. */
	char *nl = strchr(text, '\n');
	if (nl)
		*nl++ = 0;
	char *name = boot_entry_name(text, (long long)size - 100, nl);
	if (strncmp(name, "loader/entries/nixos", 20) || strlen(name) < 25 ||
	    strcmp(name + strlen(name) - 5, ".conf"))
		abort();
	free(name);
	free(text);
	return 0;
}
