#include "discover/dedup.h"

#include <string.h>

/* "/root", "root" and "root/" name one subvolume; NULL and "" the top-level one (subvolid=5,
 * what an fstab line without subvol= mounts on a filesystem whose default was never changed). */
static int same_subvol(const char *a, const char *b)
{
	a = a ? a : "";
	b = b ? b : "";
	while (*a == '/')
		a++;
	while (*b == '/')
		b++;
	size_t la = strlen(a), lb = strlen(b);
	while (la && a[la - 1] == '/')
		la--;
	while (lb && b[lb - 1] == '/')
		lb--;
	return la == lb && !strncmp(a, b, la);
}

int dedup_at_home(const struct dedup_cand *c)
{
	const char *dev = c->where == DEDUP_TOP ? c->planroot : c->plannix;
	const char *sv = c->where == DEDUP_TOP ? c->planrootsubvol : c->plannixsubvol;
	return dev && c->dev && !strcmp(dev, c->dev) && same_subvol(sv, c->subvol);
}

int dedup_is_copy(const struct dedup_cand *c)
{
	const char *dev = c->where == DEDUP_TOP ? c->planroot : c->plannix;
	return dev && c->dev && !strcmp(dev, c->dev) && !dedup_at_home(c);
}

/* Higher is the better view of one system: found where its fstab mounts it first (that is the
 * tree `enter` mounts), then a root over a separate /nix (it sees the whole system). */
static int rank(const struct dedup_cand *c)
{
	return 2 * dedup_at_home(c) + (c->where == DEDUP_TOP);
}

static int same_profiles(const struct dedup_cand *a, const struct dedup_cand *b)
{
	return a->profiles && *a->profiles && b->profiles && !strcmp(a->profiles, b->profiles) &&
	       a->dev && b->dev && !strcmp(a->dev, b->dev);
}

void dedup_systems(struct dedup_cand *c, int n)
{
	for (int i = 0; i < n; i++) {
		/* The best of i's group, the first on a tie: scan order decides, never chance. */
		int best = i;
		for (int j = 0; j < n; j++)
			if (j != i && same_profiles(&c[i], &c[j]) &&
			    (rank(&c[j]) > rank(&c[best]) || (rank(&c[j]) == rank(&c[best]) && j < best)))
				best = j;
		c[i].same_as = best == i ? -1 : best;
	}
}
