# Sourced (after `cache=` is set) by every script that writes the build cache: one lock on the
# cache, taken once per process tree, so that worktrees and CI runs sharing ~/.cache/lifeboat never
# fetch or build the same thing at once (they would delete each other's half-done folders).
if [ -z "${LB_CACHE_LOCKED:-}" ]; then
	mkdir -p "$cache"
	exec 9>>"$cache/.lock"
	flock 9
	export LB_CACHE_LOCKED=1
fi
