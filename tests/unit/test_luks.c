/* discover/luks.c and act/unlock.c's pure parts: cryptsetup luksDump text (LUKS2 with several
 * keyslots and a FIDO2 token, LUKS1, junk, header strings that forge lines), LUKS2's JSON
 * metadata, the token note, which keyslots fit in memory, and the
 * open mapping found through a fake sysfs by the LUKS UUID. */
#include <stdlib.h>

#include "check.h"
#include "tree.h"
#include "act/unlock.h"
#include "discover/luks.h"

static const char LUKS2[] =
	"LUKS header information\n"
	"Version:       \t2\n"
	"Epoch:         \t5\n"
	"Metadata area: \t16384 [bytes]\n"
	"UUID:          \t1feb0a70-0000-4000-8000-000000000001\n"
	"Label:         \tcryptroot\n"
	"Subsystem:     \t(no subsystem)\n"
	"Flags:       \t(no flags)\n"
	"\n"
	"Data segments:\n"
	"  0: crypt\n"
	"\toffset: 16777216 [bytes]\n"
	"Keyslots:\n"
	"  0: luks2\n"
	"\tKey:        512 bits\n"
	"\tPBKDF:      argon2id\n"
	"\tTime cost:  4\n"
	"\tMemory:     1048576\n"
	"\tThreads:    4\n"
	"\tSalt:       a2 c9 2f 16\n"
	"\t            9f c2 27 f9\n"
	"  1: luks2\n"
	"\tPBKDF:      pbkdf2\n"
	"\tHash:       sha256\n"
	"\tIterations: 1000\n"
	"  3: luks2\n"
	"\tPBKDF:      argon2i\n"
	"\tMemory:     65536\n"
	"Tokens:\n"
	"  0: systemd-fido2\n"
	"\tKeyslot:    0\n"
	"  1: systemd-tpm2\n"
	"\tKeyslot:    3\n"
	"Digests:\n"
	"  0: pbkdf2\n"
	"\tHash:       sha256\n"
	"\tIterations: 1000\n";

static const char LUKS1[] =
	"LUKS header information for /dev/vda1\n\n"
	"Version:       \t1\n"
	"Cipher name:   \taes\n"
	"Cipher mode:   \txts-plain64\n"
	"Hash spec:     \tsha256\n"
	"MK iterations: \t1000\n"
	"UUID:          \t1feb0a70-0000-4000-8000-000000000002\n\n"
	"Key Slot 0: ENABLED\n"
	"\tIterations:         \t1000\n"
	"Key Slot 1: DISABLED\n"
	"Key Slot 2: ENABLED\n"
	"\tIterations:         \t2000\n"
	"Key Slot 3: DISABLED\n";

/* A label and a token type with newlines (both raw in the dump): a UUID, keyslots with a
 * 4 TiB cost and a TPM2 token that are not there. */
static const char FORGED2[] =
	"LUKS header information\n"
	"Version:       \t2\n"
	"UUID:          \t1feb0a70-0000-4000-8000-000000000003\n"
	"Label:         \tx\nUUID: 1feb0a70-0000-4000-8000-000000000001\nKeyslots:\n  7: luks2\n"
	"\tMemory: 4294967296\n"
	"Subsystem:     \t(no subsystem)\n"
	"Data segments:\n"
	"  0: crypt\n"
	"Keyslots:\n"
	"  0: luks2\n"
	"\tPBKDF:      pbkdf2\n"
	"Tokens:\n"
	"  0: x\nKeyslots:\n  5: luks2\n\tMemory: 4294967296\n  1: systemd-tpm2\n"
	"Digests:\n"
	"  0: pbkdf2\n";

/* The JSON of the same header: the truth about its keyslots and tokens. */
static const char FORGED2_JSON[] =
	"{\"keyslots\":{\"2\":{\"type\":\"luks2\",\"kdf\":{\"type\":\"argon2id\",\"time\":4,\"memory\":65536,\"cpus\":1}},"
	"\"0\":{\"type\":\"luks2\",\"kdf\":{\"type\":\"pbkdf2\",\"hash\":\"sha256\",\"iterations\":1000}},"
	"\"99\":{\"type\":\"luks2\"}},"
	"\"tokens\":{\"0\":{\"type\":\"x\\nKeyslots:\\n  5: luks2\\n  1: systemd-tpm2\",\"keyslots\":[\"0\"]},"
	"\"1\":{\"type\":\"my-systemd-fido2x\",\"keyslots\":[]},\"2\":{\"type\":\"systemd-fido2\",\"keyslots\":[\"2\"]}},"
	"\"segments\":{},\"digests\":{},\"config\":{\"json_size\":\"12288\"}}";

/* A cipher name that forges key slots: the real list starts at Key Slot 0. */
static const char FORGED1[] =
	"LUKS header information for /dev/vda1\n\n"
	"Version:       \t1\n"
	"Cipher name:   \taes\nKey Slot 5: ENABLED\nKey Slot 6: ENABLED\n"
	"Cipher mode:   \txts-plain64\n"
	"UUID:          \t1feb0a70-0000-4000-8000-000000000002\n\n"
	"Key Slot 0: DISABLED\n"
	"Key Slot 1: ENABLED\n"
	"Key Slot 2: DISABLED\n";

static void forged(void)
{
	struct luks_info li;
	char buf[160];
	CHECK_INT(luks_dump_parse(FORGED2, &li), 0);
	CHECK_INT(li.version, 2);
	CHECK_STR(li.uuid, "1feb0a70-0000-4000-8000-000000000003"); /* the first UUID line */
	CHECK_STR(li.label, "x");
	CHECK_INT(luks_json_parse(FORGED2_JSON, &li), 0);
	/* Sorted by number, slot 99 (past LUKS's 32) dropped, the first slot's PBKDF named. */
	CHECK_INT(li.n_slots, 2);
	CHECK(li.slot[0] == 0 && li.slot[1] == 2);
	CHECK(li.slot_kib[0] == 0 && li.slot_kib[1] == 65536);
	CHECK_STR(li.pbkdf, "pbkdf2");
	CHECK(luks_max_kib(&li) == 65536);
	/* The forged token type (newlines) is dropped; a name that only contains another is not it. */
	CHECK_STR(li.tokens, "my-systemd-fido2x,systemd-fido2");
	CHECK_STR(luks_token_note(&li, buf, sizeof(buf)),
		  "FIDO2 token: not usable here, use a passphrase or recovery key");
	li.tokens[0] = 0;
	snprintf(li.tokens, sizeof(li.tokens), "my-systemd-fido2x");
	CHECK_STR(luks_token_note(&li, buf, sizeof(buf)), "");
	/* Not LUKS2 JSON: nothing is replaced. */
	CHECK(luks_json_parse("{\"keyslots\": 5}", &li) < 0 && luks_json_parse("not json", &li) < 0);
	CHECK(luks_json_parse(NULL, &li) < 0);

	CHECK_INT(luks_dump_parse(FORGED1, &li), 0);
	CHECK_INT(li.version, 1);
	CHECK_INT(li.n_slots, 1);
	CHECK_INT(li.slot[0], 1);
}

int main(void)
{
	struct luks_info li;
	char buf[160];
	CHECK_INT(luks_dump_parse(LUKS2, &li), 0);
	CHECK_INT(li.version, 2);
	CHECK_STR(li.uuid, "1feb0a70-0000-4000-8000-000000000001");
	CHECK_STR(li.label, "cryptroot");
	CHECK_STR(li.pbkdf, "argon2id");
	CHECK_INT(li.n_slots, 3);
	CHECK_INT(li.slot[0], 0);
	CHECK_INT(li.slot[1], 1);
	CHECK_INT(li.slot[2], 3);
	CHECK(li.slot_kib[0] == 1048576 && li.slot_kib[1] == 0 && li.slot_kib[2] == 65536);
	CHECK(luks_max_kib(&li) == 1048576);
	/* Salt lines, the digest's Iterations and the segment are not keyslots or tokens. */
	CHECK_STR(li.tokens, "systemd-fido2,systemd-tpm2");
	CHECK_STR(luks_token_note(&li, buf, sizeof(buf)),
		  "FIDO2, TPM2 token: not usable here, use a passphrase or recovery key");

	/* 512 MiB free: the 1 GiB keyslot would be killed by the OOM killer; the others are tried. */
	int fit[LUKS_MAX_SLOTS];
	int n = unlock_slots_fitting(&li, 512 * 1024, fit, LUKS_MAX_SLOTS);
	CHECK_INT(n, 2);
	CHECK(fit[0] == 1 && fit[1] == 2);
	CHECK_INT(unlock_slots_fitting(&li, 2 * 1024 * 1024, fit, LUKS_MAX_SLOTS), 3);
	/* The spare memory counts: a keyslot needing exactly what is free does not fit. */
	CHECK_INT(unlock_slots_fitting(&li, 65536, fit, LUKS_MAX_SLOTS), 1);

	CHECK_INT(luks_dump_parse(LUKS1, &li), 0);
	CHECK_INT(li.version, 1);
	CHECK_STR(li.uuid, "1feb0a70-0000-4000-8000-000000000002");
	CHECK_STR(li.label, "");
	CHECK_STR(li.pbkdf, "pbkdf2");
	CHECK_INT(li.n_slots, 2);
	CHECK(li.slot[0] == 0 && li.slot[1] == 2 && luks_max_kib(&li) == 0);
	CHECK_STR(luks_token_note(&li, buf, sizeof(buf)), "");

	/* Not a dump: no version, nothing made up. */
	CHECK(luks_dump_parse("Device /dev/vda1 is not a valid LUKS device.\n", &li) < 0);
	CHECK(luks_dump_parse("", &li) < 0 && li.n_slots == 0 && !li.uuid[0]);
	CHECK(luks_dump_parse(":\n\n  :\nKeyslots:\n  9999999999: x\n\tMemory: -5\n", &li) < 0);

	char name[64];
	unlock_default_name("1feb0a70-0000-4000-8000-000000000001", name, sizeof(name));
	CHECK_STR(name, "luks-1feb0a70-0000-4000-8000-000000000001");

	/* The mapping of a LUKS UUID, by cryptsetup's dm uuid; an LV and another LUKS are not it. */
	tree_new();
	tree_file("sys/class/block/dm-0/dm/uuid", "LVM-abcdef\n");
	tree_file("sys/class/block/dm-0/dm/name", "vg-root\n");
	tree_file("sys/class/block/dm-1/dm/uuid", "CRYPT-LUKS2-1feb0a7000004000800000000000000f-other\n");
	tree_file("sys/class/block/dm-1/dm/name", "other\n");
	tree_file("sys/class/block/dm-2/dm/uuid", "CRYPT-LUKS2-1feb0a70000040008000000000000001-luks-1feb0a70\n");
	tree_file("sys/class/block/dm-2/dm/name", "cryptroot\n");
	tree_file("sys/class/block/vda1/dev", "254:1\n");
	char nm[64], dm[16];
	CHECK_INT(luks_mapping(tree_path("sys"), "1feb0a70-0000-4000-8000-000000000001", nm, sizeof(nm), dm, sizeof(dm)), 1);
	CHECK_STR(nm, "cryptroot");
	CHECK_STR(dm, "dm-2");
	CHECK_INT(luks_mapping(tree_path("sys"), "1feb0a70-0000-4000-8000-000000000002", nm, sizeof(nm), dm, sizeof(dm)), 0);
	CHECK_INT(luks_mapping(tree_path("sys"), "", nm, sizeof(nm), dm, sizeof(dm)), 0);
	CHECK(luks_is_crypt(tree_path("sys"), "dm-1") && !luks_is_crypt(tree_path("sys"), "dm-0"));
	CHECK_INT(luks_any_open(tree_path("sys")), 2);
	tree_free();
	forged();
	return check_done("test_luks");
}
