/* A NixOS found by its store plus its system profile, seen from a root fd where /nix is the
 * store's parent (the root filesystem itself, or a view whose nix/ is a separate /nix
 * filesystem). Reads profiles and generations without writing and without trusting links:
 * every path goes through lib/inroot. */
#ifndef LB_NIXOS_H
#define LB_NIXOS_H

#include <stdio.h>

#include "discover/fstab.h"

#define PROFILES_DIR "/nix/var/nix/profiles"
/* Generations beyond this many (newest first, plus the current one) are listed from their links
 * alone: a profile with 10,000 generations costs 10,000 readlinks, not 10,000 store lookups. */
#define GEN_DETAIL_MAX 100
#define SPECIALISATION_MAX 32

struct nixos_found {
	char host[256];
	char version[128];
	long current;      /* generation number of the system profile, -1 when unknown */
	int generations;   /* system-N-link count */
	int plan_number;   /* generation whose fstab is in fstab */
	int have_fstab;
	struct fstab fstab;
};

/* Does rootfd hold nix/store and nix/var/nix/profiles/system? 1 yes, 0 no. */
int nixos_present(int rootfd);
/* The /nix view test for a filesystem's top: store/ and var/nix/profiles/system there. */
int nixos_nixfs_present(int fsfd);
/* Emit generation records (system=sysid) and problem records (path=devpath) for every profile;
 * fill f (fstab of the current generation, or of the newest ok one). Returns 0 or -errno when
 * the profile directory cannot be read. */
int nixos_scan(FILE *out, int rootfd, const char *sysid, const char *devpath, struct nixos_found *f);
void nixos_found_free(struct nixos_found *f);

#endif
