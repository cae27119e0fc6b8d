/* lifeboat.default= and friends: what the menu does by itself after lifeboat.timeout= seconds. */
#ifndef LB_DEFAULT_H
#define LB_DEFAULT_H

#include <stddef.h>

#include "lib/cmdline.h"
#include "report/found.h"
#include "present/menu.h"

/* A countdown used when lifeboat.default= is given without lifeboat.timeout=. */
#define DEFAULT_TIMEOUT_S 10

struct default_plan {
	struct menu_choice c; /* the action, with system index, generation number, spec index */
	int timeout;          /* seconds to count down; 0 acts at once */
};

/* Decide from the options and what was found. Returns 1 with *p filled when a default action
 * counts down, 0 when the menu just waits for a key, or -EINVAL with a message for the user
 * (wrong system, generation, or a default that needs a system when none or several exist). */
int default_decide(const struct lb_options *o, const struct found *f, struct default_plan *p, char *msg,
		   size_t size);
/* Describe a plan in a line: "enter laptop, generation 42". Host names are escaped. */
void default_describe(const struct found *f, const struct default_plan *p, char *buf, size_t size);

#endif
