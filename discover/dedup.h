/* Which NixOS candidates found on one filesystem are the same system. An inspection looks for a
 * NixOS at the filesystem's top and in every btrfs subvolume, so one install can be seen more
 * than once: the top-level subvolume sees `nix/var/nix/profiles/system` through a subvolume
 * named `nix` (the NixOS wiki's layout), a root subvolume sees its nested `nix` subvolume. The
 * rule (docs/discover.md): candidates reading the same profile folder are one system; of those,
 * the one found where its own fstab mounts it is kept. Pure: no I/O, unit-tested. */
#ifndef LB_DEDUP_H
#define LB_DEDUP_H

enum dedup_where {
	DEDUP_TOP,   /* a tree with nix/store and nix/var/nix/profiles/system: a root */
	DEDUP_NIXFS, /* a tree with store/ and var/nix/profiles/system: a separate /nix */
};

struct dedup_cand {
	enum dedup_where where;
	const char *dev;      /* the filesystem it was found on */
	const char *subvol;   /* its tree's btrfs subvolume; NULL or "" for the filesystem's top */
	const char *profiles; /* identity of the profile folder it reads ("st_dev:st_ino"); NULL or
				 "" when unknown: then it is never merged */
	/* Where its own (chosen generation's) fstab mounts / and /nix; NULL when it names none. */
	const char *planroot, *planrootsubvol;
	const char *plannix, *plannixsubvol;
	int same_as; /* out: -1 when kept, else the index of the kept candidate it is */
};

/* Is c found where its own fstab mounts it (/ for a root, /nix for a separate /nix)? */
int dedup_at_home(const struct dedup_cand *c);
/* Is c a copy of a system (a snapshot): found in one subvolume while its fstab mounts its role
 * (/ or /nix) from another subvolume of this same filesystem? Such a copy with its own profile
 * is a system of its own (an older state), marked so in the report. */
int dedup_is_copy(const struct dedup_cand *c);
/* Fill same_as for every candidate. */
void dedup_systems(struct dedup_cand *c, int n);

#endif
