/* LUKS devices (docs/unlock.md): what the scan says of each, from the image's cryptsetup
 * (`cryptsetup luksDump`, read-only), and the dm-crypt mappings lifeboat opened: found through
 * sysfs, made writable when a system on them is entered, closed before power-off and kexec.
 * No LUKS header is parsed here: only cryptsetup's own text. */
#ifndef LB_LUKS_H
#define LB_LUKS_H

#include <stddef.h>
#include <stdio.h>

#include "discover/blockdev.h"
#include "discover/cryptnames.h"

#define CRYPTSETUP_BIN "/sbin/cryptsetup"
#define DMSETUP_BIN "/sbin/dmsetup"
#define LUKS_MAX_SLOTS 32

struct luks_info {
	int version; /* 1 or 2; 0 when luksDump did not say */
	char uuid[64];
	char label[256];  /* LUKS2 only; "" when none */
	char tokens[128]; /* token types, comma-separated ("systemd-fido2,systemd-tpm2"), or "" */
	char pbkdf[16];   /* the first keyslot's PBKDF (argon2id, argon2i, pbkdf2) */
	int n_slots;
	int slot[LUKS_MAX_SLOTS];
	long long slot_kib[LUKS_MAX_SLOTS]; /* argon2 memory cost of each keyslot; 0 for pbkdf2 */
};

/* Parse `cryptsetup luksDump` output (LUKS1 or LUKS2). Returns 0, or -EINVAL when the text
 * says no version. Disk strings in the text can forge lines: see luks_read. */
int luks_dump_parse(const char *text, struct luks_info *li);
/* LUKS2's keyslots (numbers, PBKDF, memory cost) and token types from `cryptsetup luksDump
 * --dump-json-metadata`, replacing what the text said. 0, or -EINVAL when it is not that JSON. */
int luks_json_parse(const char *json, struct luks_info *li);
/* A LUKS device (or detached header) described by the image's cryptsetup, each run a job with
 * a deadline: the text dump, and for LUKS2 its JSON metadata; the UUID and label libblkid
 * read (blk_uuid, blk_label: NULL or "" when unknown) replace the text's, which a crafted
 * header string can forge. 0, or -1 with the reason in msg. */
int luks_read(const char *path, const char *blk_uuid, const char *blk_label, int timeout_ms,
	      struct luks_info *li, char *msg, size_t size);
/* The largest keyslot memory cost in KiB (what trying every keyslot may need at once). */
long long luks_max_kib(const struct luks_info *li);
/* Token types that lifeboat cannot use (hardware ones: FIDO2, TPM2, PKCS#11) as a phrase for
 * the user, "" when none; buf holds it. */
const char *luks_token_note(const struct luks_info *li, char *buf, size_t size);

/* An open dm-crypt mapping of the LUKS device whose UUID is uuid: its dm name into name and
 * its dm-N into dm. Found in sysroot/class/block/dm-N/dm/uuid ("CRYPT-LUKS<v>-<uuid without
 * dashes>-<name>"). Returns 1 when found, 0 when not. */
int luks_mapping(const char *sysroot, const char *uuid, char *name, size_t nsize, char *dm, size_t dsize);
/* How many dm-crypt mappings are open. */
int luks_any_open(const char *sysroot);
/* Is sysroot/class/block/<dm>/dm/uuid a dm-crypt mapping (CRYPT-)? */
int luks_is_crypt(const char *sysroot, const char *dm);

/* The scan's record of one crypto_LUKS device (luksDump in a child with a deadline): a luks
 * record with version, uuid, label, tokens, pbkdf, memory (KiB), state locked|open and the
 * mapping; name, namefrom and namenote: what the system's initrds call its mapping (ch, NULL
 * when none do). Returns 1 when it is locked (the caller reports it), 0 when open. */
int luks_describe(FILE *out, const struct blockdev *d, const char *sysroot, int timeout_ms,
		  const struct cryptchoice *ch);

/* Entering a system on a mapping the scan saw read-only: its table loaded again read-write
 * (dmsetup table --showkeys, reload, resume; the key passes through a pipe, never argv) and
 * the device's read-only flag cleared. dm is "dm-N". Returns 1 when made writable, 0 when it
 * was already, -1 with the reason in msg. */
int luks_writable(const char *sysroot, const char *dm, int timeout_ms, char *msg, size_t size);
/* Before power-off and kexec: close every dm-crypt mapping nothing holds open. Returns how many
 * were closed; *left counts those that could not be. */
int luks_close_all(const char *sysroot, int timeout_ms, int *left);

#endif
