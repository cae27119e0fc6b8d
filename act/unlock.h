/* Opening a LUKS device (docs/unlock.md): cryptsetup in a child, read-only, the passphrase on a
 * pipe, the key derivation watched; the memory it needs checked first. The prompt, the tries and
 * the passphrase reuse are `lifeboat unlock`'s (applets/unlock.c). */
#ifndef LB_UNLOCK_H
#define LB_UNLOCK_H

#include <stddef.h>

#include "discover/luks.h"

/* What the key derivation of one attempt may take before it is given up (argon2id at 4 GiB
 * on a slow CPU takes a minute; QEMU without acceleration much longer). */
#define UNLOCK_KDF_MS (15 * 60 * 1000)
/* Memory left free beside the key derivation's own (cryptsetup itself, the page cache). */
#define UNLOCK_SPARE_KIB (48 * 1024)

struct unlock_req {
	const char *dev;      /* the LUKS device (with a detached header: the data device) */
	const char *header;   /* detached header file, or NULL */
	const char *key_file; /* cryptsetup --key-file FILE instead of pass, or NULL */
	const char *pass;     /* the passphrase (no newline), when key_file is NULL */
	const char *name;     /* the mapping's name */
	/* Called about once a second while cryptsetup runs (seconds so far), or NULL. */
	void (*tick)(int seconds, void *arg);
	void *arg;
};

/* Kibibytes of memory available now (/proc/meminfo MemAvailable), or -errno. */
long long unlock_mem_available(void);
/* Which keyslots of li can be tried with avail_kib of memory: their indexes into li->slot in
 * fit (n returned). A keyslot whose argon2 cost does not fit would have the OOM killer end the
 * attempt. */
int unlock_slots_fitting(const struct luks_info *li, long long avail_kib, int *fit, int max);
/* The default mapping name, as systemd and the NixOS installer name it: luks-<UUID>. */
void unlock_default_name(const char *uuid, char *name, size_t size);

/* Open r->dev as /dev/mapper/<r->name>, read-only, trying keyslot `slot` only (-1: every
 * one). Returns 0; -EPERM for a wrong passphrase or key file; -ENOMEM when the key derivation
 * ran out of memory; -EEXIST when the name is taken; -ETIMEDOUT; other -errno; msg says what
 * cryptsetup said. */
int unlock_open(const struct unlock_req *r, int slot, char *msg, size_t size);

#endif
