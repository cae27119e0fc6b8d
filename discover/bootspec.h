/* bootspec v1 (a generation's boot.json): what a boot loader needs to boot it. Only the
 * org.nixos.bootspec.v1 document is read; specialisations are read from their own toplevels. */
#ifndef LB_BOOTSPEC_H
#define LB_BOOTSPEC_H

#include <stddef.h>

struct bootspec {
	char *kernel, *initrd, *init, *label, *system, *toplevel, *initrd_secrets;
	char *params; /* kernelParams joined with spaces */
};

/* Parse boot.json text. Returns 0, or -EINVAL with *err a static message (JSON errors, a missing
 * or mistyped required field). */
int bootspec_parse(struct bootspec *b, const char *text, size_t len, const char **err);
void bootspec_free(struct bootspec *b);

#endif
