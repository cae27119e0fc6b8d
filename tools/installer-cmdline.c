/* Build-time helper: print the kernel parameters a NixOS kexec installer's `kexec/run` script
 * (on stdin) passes, with the same parser lifeboat's unit tests cover. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "act/kexec.h"
#include "lib/util.h"

int main(void)
{
	char *script, *cmdline;
	if (read_fd(0, 1 << 20, &script) < 0) {
		fprintf(stderr, "installer-cmdline: cannot read the run script\n");
		return 1;
	}
	int r = kexec_run_script_cmdline(script, &cmdline);
	if (r < 0) {
		fprintf(stderr, "installer-cmdline: no init= or --command-line found: %s\n", strerror(-r));
		return 1;
	}
	printf("%s\n", cmdline);
	free(cmdline);
	free(script);
	return 0;
}
