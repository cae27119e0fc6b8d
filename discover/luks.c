#include "discover/luks.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "discover/json.h"
#include "lib/job.h"
#include "lib/log.h"
#include "lib/sysblock.h"
#include "lib/util.h"
#include "report/record.h"

/* "Key:   value" -> value (NULL when the line is not that key). */
static const char *value_of(const char *line, const char *key)
{
	size_t n = strlen(key);
	while (*line == ' ' || *line == '\t')
		line++;
	if (strncmp(line, key, n) || line[n] != ':')
		return NULL;
	line += n + 1;
	while (*line == ' ' || *line == '\t')
		line++;
	return line;
}

static void copy(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src);
	rstrip(dst);
}

/* KiB, as cryptsetup gives it; anything past 1 TiB is not a real cost. */
static long long kib_of(const char *v)
{
	long long k = strtoll(v, NULL, 10);
	return k < 0 ? 0 : k > (1LL << 30) ? (1LL << 30) : k;
}

/* A token type, kept when it is a plain name: the list is comma-separated. */
static void token_add(struct luks_info *li, const char *type)
{
	for (const char *p = type; *p; p++)
		if (*p == ',' || (unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return;
	size_t l = strlen(li->tokens);
	if (*type && l + strlen(type) + 2 < sizeof(li->tokens))
		snprintf(li->tokens + l, sizeof(li->tokens) - l, "%s%s", l ? "," : "", type);
}

/* Header strings the disk sets (LUKS2: UUID, label, subsystem; LUKS1: cipher, mode, hash,
 * UUID; token types) are printed raw, newlines and all, so a crafted header can print lines
 * that look like cryptsetup's own. What the text gives is therefore taken where a crafted
 * string cannot come after it: the first Version line (before any disk string), and LUKS1's
 * key slots from the last "Key Slot 0" on (after every disk string). LUKS2's keyslots and
 * tokens come from its JSON metadata (luks_json_parse); the UUID and label from libblkid
 * where the caller has them (luks_read). */
int luks_dump_parse(const char *text, struct luks_info *li)
{
	memset(li, 0, sizeof(*li));
	enum { TOP, SLOTS, TOKENS, OTHER } sect = TOP;
	char *dup = xstrdup(text ? text : ""), *save = NULL;
	int cur = -1;
	for (char *line = strtok_r(dup, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		const char *v;
		int n;
		char type[64];
		if (line[0] != ' ' && line[0] != '\t' && line[strlen(line) - 1] == ':') {
			/* A section heading of LUKS2's dump: "Keyslots:", "Tokens:", "Digests:"... */
			sect = !strcmp(line, "Keyslots:") ? SLOTS : !strcmp(line, "Tokens:") ? TOKENS : OTHER;
			cur = -1;
			continue;
		}
		if ((v = value_of(line, "Version")) && sect == TOP) {
			if (!li->version)
				li->version = atoi(v);
		} else if ((v = value_of(line, "UUID")) && sect == TOP) {
			if (!li->uuid[0])
				copy(li->uuid, sizeof(li->uuid), v);
		} else if ((v = value_of(line, "Label")) && sect == TOP) {
			if (!li->label[0] && strcmp(v, "(no label)"))
				copy(li->label, sizeof(li->label), v);
		} else if (sscanf(line, "Key Slot %d: %63s", &n, type) == 2) {
			/* LUKS1: PBKDF2 only, no memory cost. Slot 0 starts the real list. */
			if (n == 0)
				li->n_slots = 0;
			if (!strcmp(type, "ENABLED") && li->n_slots < LUKS_MAX_SLOTS) {
				li->slot[li->n_slots++] = n;
				snprintf(li->pbkdf, sizeof(li->pbkdf), "pbkdf2");
			}
		} else if (sect == SLOTS && (line[0] == ' ' && line[1] == ' ' && line[2] != ' ') &&
			   sscanf(line, " %d: %63s", &n, type) == 2) {
			cur = li->n_slots < LUKS_MAX_SLOTS ? li->n_slots++ : -1;
			if (cur >= 0)
				li->slot[cur] = n;
		} else if (sect == SLOTS && cur >= 0 && (v = value_of(line, "PBKDF"))) {
			if (!li->pbkdf[0])
				copy(li->pbkdf, sizeof(li->pbkdf), v);
		} else if (sect == SLOTS && cur >= 0 && (v = value_of(line, "Memory"))) {
			li->slot_kib[cur] = kib_of(v);
		} else if (sect == TOKENS && line[0] == ' ' && line[1] == ' ' && line[2] != ' ' &&
			   sscanf(line, " %d: %63s", &n, type) == 2) {
			token_add(li, type);
		}
	}
	free(dup);
	return li->version ? 0 : -EINVAL;
}

static int slot_cmp(const void *a, const void *b)
{
	const int *x = a, *y = b;
	return (x[0] > y[0]) - (x[0] < y[0]);
}

int luks_json_parse(const char *text, struct luks_info *li)
{
	const char *err = NULL;
	struct json *root = json_parse(text ? text : "", text ? strlen(text) : 0, &err, NULL);
	const struct json *ks = json_get(root, "keyslots"), *tk = json_get(root, "tokens");
	if (!ks || ks->type != JSON_OBJECT) {
		json_free(root);
		return -EINVAL;
	}
	/* Slot number and index into the object, sorted by number: the first slot's PBKDF is
	 * the one named. */
	int order[LUKS_MAX_SLOTS][2], n = 0;
	for (int i = 0; i < ks->n && n < LUKS_MAX_SLOTS; i++) {
		char *end;
		long num = strtol(ks->keys[i], &end, 10);
		if (*ks->keys[i] && !*end && num >= 0 && num < LUKS_MAX_SLOTS &&
		    ks->vals[i]->type == JSON_OBJECT) {
			order[n][0] = (int)num;
			order[n][1] = i;
			n++;
		}
	}
	qsort(order, (size_t)n, sizeof(order[0]), slot_cmp);
	li->n_slots = 0;
	li->pbkdf[0] = 0;
	for (int k = 0; k < n; k++) {
		const struct json *kdf = json_get(ks->vals[order[k][1]], "kdf");
		const struct json *type = json_get(kdf, "type"), *mem = json_get(kdf, "memory");
		int s = li->n_slots++;
		li->slot[s] = order[k][0];
		li->slot_kib[s] = mem && mem->type == JSON_NUMBER ? kib_of(mem->str) : 0;
		if (!li->pbkdf[0] && type && type->type == JSON_STRING && strlen(type->str) < sizeof(li->pbkdf))
			snprintf(li->pbkdf, sizeof(li->pbkdf), "%s", type->str);
	}
	li->tokens[0] = 0;
	for (int i = 0; tk && tk->type == JSON_OBJECT && i < tk->n; i++) {
		const struct json *type = json_get(tk->vals[i], "type");
		if (type && type->type == JSON_STRING)
			token_add(li, type->str);
	}
	json_free(root);
	return 0;
}

int luks_read(const char *path, const char *blk_uuid, const char *blk_label, int timeout_ms,
	      struct luks_info *li, char *msg, size_t size)
{
	memset(li, 0, sizeof(*li));
	*msg = 0;
	char *text = NULL;
	char *const argv[] = {CRYPTSETUP_BIN, "luksDump", (char *)path, NULL};
	int r = job_tool(argv, timeout_ms, &text, msg, size);
	if (r == 0 && luks_dump_parse(text, li) < 0) {
		snprintf(msg, size, "cryptsetup luksDump said no LUKS version");
		r = -1;
	}
	free(text);
	text = NULL;
	if (r == 0 && li->version == 2) {
		char jmsg[300];
		char *const jargv[] = {CRYPTSETUP_BIN, "luksDump", "--dump-json-metadata", (char *)path, NULL};
		if (job_tool(jargv, timeout_ms, &text, jmsg, sizeof(jmsg)) != 0 || luks_json_parse(text, li) < 0)
			log_warn("%s: its LUKS2 metadata could not be read as JSON (keyslots as the text "
				 "dump says): %s", path, jmsg[0] ? jmsg : "not JSON");
		free(text);
	}
	/* libblkid read these from the header's own fields: exact bytes, no line to forge. */
	if (blk_uuid && *blk_uuid)
		snprintf(li->uuid, sizeof(li->uuid), "%s", blk_uuid);
	if (blk_label && *blk_label)
		snprintf(li->label, sizeof(li->label), "%s", blk_label);
	return r;
}

long long luks_max_kib(const struct luks_info *li)
{
	long long m = 0;
	for (int i = 0; i < li->n_slots; i++)
		if (li->slot_kib[i] > m)
			m = li->slot_kib[i];
	return m;
}

/* Is word one of the comma-separated list's items? */
static int list_has(const char *list, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = list; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, word, n) && (p[n] == ',' || !p[n]))
			return 1;
	return 0;
}

const char *luks_token_note(const struct luks_info *li, char *buf, size_t size)
{
	static const struct {
		const char *type, *name;
	} hw[] = {{"systemd-fido2", "FIDO2"}, {"systemd-tpm2", "TPM2"}, {"systemd-pkcs11", "PKCS#11"}};
	char names[64] = "";
	for (size_t i = 0; i < ARRAY_SIZE(hw); i++)
		if (list_has(li->tokens, hw[i].type)) {
			size_t l = strlen(names);
			snprintf(names + l, sizeof(names) - l, "%s%s", l ? ", " : "", hw[i].name);
		}
	if (names[0])
		snprintf(buf, size, "%s token: not usable here, use a passphrase or recovery key", names);
	else
		buf[0] = 0;
	return buf;
}

int luks_is_crypt(const char *sysroot, const char *dm)
{
	char *u = sysblock_value(sysroot, dm, "dm/uuid");
	int yes = u && startswith(u, "CRYPT-");
	free(u);
	return yes;
}

int luks_any_open(const char *sysroot)
{
	return sysblock_dm_count(sysroot, "CRYPT-");
}

struct dm_find {
	const char *sysroot, *hex;
	size_t k;
	char *name, *dm;
	size_t nsize, dsize;
};

static int find_one(const char *dm, void *ctx)
{
	struct dm_find *f = ctx;
	char *u = sysblock_value(f->sysroot, dm, "dm/uuid");
	const char *rest = u && startswith(u, "CRYPT-LUKS") ? strchr(u + 10, '-') : NULL;
	int found = rest && !strncasecmp(rest + 1, f->hex, f->k) && rest[1 + f->k] == '-';
	if (found) {
		char *n = sysblock_value(f->sysroot, dm, "dm/name");
		snprintf(f->name, f->nsize, "%s", n ? n : "");
		snprintf(f->dm, f->dsize, "%s", dm);
		free(n);
	}
	free(u);
	return found;
}

int luks_mapping(const char *sysroot, const char *uuid, char *name, size_t nsize, char *dm, size_t dsize)
{
	/* cryptsetup's dm uuid: CRYPT-LUKS2-<uuid, dashes dropped>-<name it was opened as>. */
	char hex[40];
	size_t k = 0;
	for (const char *p = uuid; *p && k < sizeof(hex) - 1; p++)
		if (*p != '-')
			hex[k++] = *p;
	hex[k] = 0;
	if (!k)
		return 0;
	struct dm_find f = {sysroot, hex, k, name, dm, nsize, dsize};
	return sysblock_each(sysroot, "dm-", find_one, &f);
}

int luks_describe(FILE *out, const struct blockdev *d, const char *sysroot, int timeout_ms,
		  const struct cryptchoice *ch)
{
	struct luks_info li = {0};
	char msg[300] = "";
	if (access(CRYPTSETUP_BIN, X_OK) == 0 &&
	    luks_read(d->path, d->uuid, d->label, timeout_ms, &li, msg, sizeof(msg)) < 0)
		log_warn("%s: %s", d->path, msg);
	/* What blkid read stands in for what luksDump could not say. */
	if (!li.uuid[0])
		snprintf(li.uuid, sizeof(li.uuid), "%s", d->uuid);
	if (!li.label[0])
		snprintf(li.label, sizeof(li.label), "%s", d->label);
	char name[128] = "", dm[32] = "", ver[8] = "", kib[24] = "", size[24];
	int open = luks_mapping(sysroot, li.uuid, name, sizeof(name), dm, sizeof(dm));
	if (li.version)
		snprintf(ver, sizeof(ver), "%d", li.version);
	if (luks_max_kib(&li))
		snprintf(kib, sizeof(kib), "%lld", luks_max_kib(&li));
	snprintf(size, sizeof(size), "%llu", d->size);
	char mapper[160] = "", dmpath[40] = "", note[120];
	if (open) {
		snprintf(mapper, sizeof(mapper), "/dev/mapper/%s", name);
		snprintf(dmpath, sizeof(dmpath), "/dev/%s", dm);
	}
	report_put(out, "luks", "path", d->path, "version", ver, "uuid", li.uuid, "label", li.label,
		   "size", size, "tokens", li.tokens, "note", luks_token_note(&li, note, sizeof(note)),
		   "pbkdf", li.pbkdf, "memory", kib, "state",
		   open ? "open" : "locked", "mapper", mapper, "dm", dmpath, "name", ch ? ch->name : NULL,
		   "namefrom", ch ? ch->from : NULL, "namenote", ch ? ch->note : NULL, "error", li.version ? NULL : msg[0] ? msg : "cryptsetup luksDump said nothing", NULL);
	return !open;
}

/* Run argv with the bytes of in on its stdin (a pipe, so a key never reaches argv or a file),
 * output into *text; bounded by timeout_ms. 0 or -1 with msg. */
static int tool_stdin(char *const *argv, const char *in, int timeout_ms, char *msg, size_t size)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		snprintf(msg, size, "pipe: %s", strerror(errno));
		return -1;
	}
	/* A table is far below the pipe's buffer: written whole before the tool starts. */
	int w = write_all(p[1], in, strlen(in));
	close(p[1]);
	struct spawn_opts o = {.keep_fd = -1, .quiet = 1, .stdin_fd = p[0]};
	int st = w < 0 ? w : run_wait(argv, &o, timeout_ms);
	close(p[0]);
	if (st == 0)
		return 0;
	char how[80];
	snprintf(msg, size, "%s %s: %s", argv[0], argv[1],
		 st < 0 ? strerror(-st) : status_str(st, how, sizeof(how)));
	return -1;
}

int luks_writable(const char *sysroot, const char *dm, int timeout_ms, char *msg, size_t size)
{
	char *ro = sysblock_value(sysroot, dm, "ro"), *name = sysblock_value(sysroot, dm, "dm/name");
	int was_ro = ro && !strcmp(ro, "1");
	free(ro);
	if (!was_ro || !name) {
		free(name);
		return 0;
	}
	/* The same table, loaded without the read-only flag it was opened with. */
	char *table = NULL;
	char *const show[] = {DMSETUP_BIN, "table", "--showkeys", name, NULL};
	int r = job_tool(show, timeout_ms, &table, msg, size);
	if (r == 0 && (!table || !strstr(table, " crypt "))) {
		snprintf(msg, size, "%s is not a dm-crypt mapping any more", name);
		r = -1;
	}
	if (r == 0) {
		char *const reload[] = {DMSETUP_BIN, "reload", name, NULL};
		r = tool_stdin(reload, table, timeout_ms, msg, size);
	}
	if (table) {
		explicit_bzero(table, strlen(table));
		free(table);
	}
	if (r == 0) {
		char *const resume[] = {DMSETUP_BIN, "resume", name, NULL};
		char *text = NULL;
		r = job_tool(resume, timeout_ms, &text, msg, size);
		free(text);
	}
	if (r == 0) {
		/* The scan's inspection put the device's own read-only flag back when it was done. */
		char dev[48];
		snprintf(dev, sizeof(dev), "/dev/%.40s", dm);
		int fd = open(dev, O_RDONLY | O_CLOEXEC), zero = 0;
		if (fd < 0 || ioctl(fd, BLKROSET, &zero) < 0) {
			snprintf(msg, size, "cannot make %s writable (BLKROSET): %s", dev, strerror(errno));
			r = -1;
		}
		if (fd >= 0)
			close(fd);
	}
	if (r == 0)
		log_info("/dev/mapper/%s is writable now", name);
	free(name);
	return r < 0 ? -1 : 1;
}

struct dm_close {
	const char *sysroot;
	int timeout_ms, closed, left;
};

static int close_one(const char *dm, void *ctx)
{
	struct dm_close *c = ctx;
	if (!luks_is_crypt(c->sysroot, dm))
		return 0;
	char *name = sysblock_value(c->sysroot, dm, "dm/name");
	if (!name)
		return 0;
	char *text = NULL, msg[300];
	char *const argv[] = {CRYPTSETUP_BIN, "close", name, NULL};
	if (!sysblock_holders(c->sysroot, dm) && job_tool(argv, c->timeout_ms, &text, msg, sizeof(msg)) == 0)
		c->closed++;
	else
		c->left++;
	free(text);
	free(name);
	return 0;
}

int luks_close_all(const char *sysroot, int timeout_ms, int *left)
{
	struct dm_close c = {sysroot, timeout_ms, 0, 0};
	/* Mappings on mappings (LUKS on LUKS) close top first: go round while one closes. */
	for (int round = 0, before = -1; round < 4 && c.closed != before; round++) {
		before = c.closed;
		c.left = 0;
		sysblock_each(sysroot, "dm-", close_one, &c);
	}
	*left = c.left;
	return c.closed;
}
