/* A generation's etc/fstab, read as mount(8) reads it: fields split on blanks, octal escapes
 * (\040 for a space) decoded, comments skipped. The text comes from a disk: every field is
 * bounded and a malformed line is skipped, never fatal. */
#ifndef LB_FSTAB_H
#define LB_FSTAB_H

#define FSTAB_MAX_ENTRIES 256

struct fstab_entry {
	char *spec;    /* first field: UUID=..., /dev/disk/by-label/..., tmpfs... */
	char *target;  /* mount point */
	char *type;
	char *options; /* comma list without x-* options; "defaults" when none are left */
	char *subvol;  /* subvol= value (leading '/' removed), or NULL */
	int nofail, bind, swap;
};

struct fstab {
	struct fstab_entry *e;
	int n;
	int skipped; /* malformed lines */
};

/* Parse text; never fails on content (malformed lines count in skipped). Returns n or -ENOMEM. */
int fstab_parse(struct fstab *t, const char *text);
void fstab_free(struct fstab *t);
/* Decode the octal escapes of one fstab field in place (\040 \011 \012 \134, any \ooo). */
char *fstab_unescape(char *s);
/* The entry mounted on target, or NULL. */
const struct fstab_entry *fstab_find(const struct fstab *t, const char *target);

#endif
