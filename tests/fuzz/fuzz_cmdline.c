/* Kernel command lines: lifeboat's own (lifeboat.* options, module parameters) and a
 * generation's from a disk, which kexec gets with the running consoles added. The input is the
 * first line, then (after a NUL) the second. */
#include <stdlib.h>
#include <string.h>

#include "act/kexec.h"
#include "lib/cmdline.h"

struct count {
	int n;
};

static void fuzz_option(const char *key, const char *val, void *ctx)
{
	struct count *c = ctx;
	c->n++;
	if (!key || (val && val < key))
		abort();
}

static void has_console(const char *key, const char *val, void *ctx)
{
	if (!strcmp(key, "console") && val)
		((struct count *)ctx)->n++;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char *text = malloc(size + 2);
	memcpy(text, data, size);
	text[size] = text[size + 1] = 0;
	const char *line = text, *other = text + strlen(text) + 1;
	if (other > text + size)
		other = "";
	struct count c = {0};
	cmdline_split(line, fuzz_option, &c);
	if ((size_t)c.n > size)
		abort();
	struct lb_options o;
	cmdline_parse(line, &o);
	if (o.n_warnings < 0 || o.n_warnings > 16 || o.timeout < -1 || o.settle_ms < 0)
		abort();
	cmdline_free(&o);
	free(cmdline_module_params(line, "usb_storage"));
	free(cmdline_module_params(line, ""));
	int added = -1;
	char *k = kexec_cmdline_consoles(other, line, &added);
	if (!k || (added != 0 && added != 1) || (!added && strcmp(k, other)))
		abort();
	/* The consoles added must reach the new kernel as console= parameters of their own. */
	struct count consoles = {0};
	if (added) {
		cmdline_split(k, has_console, &consoles);
		if (!consoles.n)
			abort();
	}
	free(k);
	free(kexec_cmdline_nixos(other, line));
	free(text);
	return 0;
}
