/* Remote rescue's parsers of untrusted text: an ip= value and lifeboat.authorized_key= from the
 * command line, and the host's network files that kexec-boot carried (links, addresses, routes,
 * separated by NULs in the input). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "net/hostnet.h"
#include "net/ipcfg.h"
#include "net/sshkeys.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char *text = malloc(size + 4);
	memcpy(text, data, size);
	memset(text + size, 0, 4);
	const char *part[3] = {text, "", ""};
	const char *p = text;
	for (int i = 1; i < 3; i++) {
		p += strlen(p) + 1;
		if (p <= text + size)
			part[i] = p;
	}
	struct ipcfg c;
	const char *why = NULL;
	int r = ipcfg_parse(text, &c, &why);
	if (r == 0 && (c.mode == IPCFG_STATIC) != (c.prefix >= 0 && c.prefix <= 32))
		abort();
	if ((r < 0) != (why != NULL) || (r < 0 && r != -EINVAL))
		abort();
	if (strlen(c.dev) >= sizeof(c.dev) || strchr(c.dev, '/'))
		abort();

	char *out = NULL;
	int n = sshkeys_from_cmdline(text, &out);
	if (n > 0 && sshkeys_count(out) != n)
		abort();
	if (n <= 0 && out)
		abort();
	/* A key line never holds a line break or a quote: it must stay one line of the file. */
	if (out && (strchr(out, '"') || strstr(out, "\n\n")))
		abort();
	free(out);

	struct hostnet *h = malloc(sizeof(*h));
	if (hostnet_plan(part[0], part[1], part[2], "52:54:00:12:34:56", "eth0", h)) {
		if (h->n_addr > HOSTNET_MAX || h->n_route > HOSTNET_MAX)
			abort();
		for (int i = 0; i < h->n_route; i++)
			if (h->route_n[i] < 1 || h->route_n[i] > HOSTNET_TOKENS)
				abort();
	}
	free(h);
	free(text);
	return 0;
}
