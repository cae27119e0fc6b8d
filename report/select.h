/* Which system and generation the user means: one answer for `lifeboat enter --id/--host`,
 * `lifeboat boot --system/--generation` and lifeboat.system=/lifeboat.generation=, so that a
 * name that works in one works in all. Sentences in why are for a terminal: the disk's strings
 * and the user's are escaped. */
#ifndef LB_SELECT_H
#define LB_SELECT_H

#include <stddef.h>

#include "report/found.h"

/* The system `which` names, tried in this order: a report id (1, 2...: the menu passes these);
 * then any system whose host name is `which`, or whose root or /nix device carries the tag of
 * UUID=, LABEL=, PARTUUID=, PARTLABEL= (UUIDs compared without regard to case, as blkid and udev
 * print them differently), or whose root or /nix device is the path `which` (/dev/vda2,
 * /dev/disk/by-uuid/..., or a link to one). Of several matches, the one system that is not a
 * snapshot (snapshot=1: a copy of another system, docs/discover.md) is taken. Returns the index in f->sys, or -ENOENT when none
 * matches and -EEXIST when several do, with a sentence in why to follow the caller's naming of
 * `which` ("lifeboat.system=x matches no system found ...; found: 1 (laptop) on /dev/vda2"). */
int select_system(const struct found *f, const char *which, char *why, size_t size);

/* A system's identity across scans, for select_system_as: where its store was found (the /nix
 * device, subvolume and prefix: "/dev/vda2//@nix//"). Report ids follow the order in which
 * inspections end, so a rescan (by another console, or after an unlock) may give the same id
 * to another system; this does not change while the disks do not. */
#define SELECT_KEY_MAX 1200 /* room for select_key: a device, a subvolume and a prefix */
void select_key(const struct found_sys *s, char *buf, size_t size);

/* select_system, but the system must be the one key (from select_key, NULL or "": any) names:
 * which's system when its key matches, else the one system with that key (the ids moved), else
 * -ENOENT and a sentence ("the system shown as 1 (laptop) on /dev/vda2 is not among those
 * found now..."). The menu passes ids with keys, so that acting never reaches another system. */
int select_system_as(const struct found *f, const char *which, const char *key, char *why, size_t size);

/* The generation of s named by profile (NULL or "": "system"), generation (NULL or "": the
 * profile's current one; a number; or, without spec, the name of a specialisation of the current
 * generation, as lifeboat.generation= takes it) and spec (NULL or "": the base configuration).
 * NULL with a sentence in why ("system 1 (laptop) has no generation 9") when there is none. */
const struct found_gen *select_generation(const struct found_sys *s, const char *profile,
					  const char *generation, const char *spec, char *why,
					  size_t size);

#endif
