/* The one object that carries the version: the Makefile gives it LB_VERSION_STRING. */
#include "lib/layout.h"

#ifndef LB_VERSION_STRING
#define LB_VERSION_STRING "unknown"
#endif

const char lb_version[] = LB_VERSION_STRING;
