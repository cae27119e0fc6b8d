#!/bin/sh
# Checks of the build itself, run last by `make unit`: the unit tests need no root, and a new
# commit recompiles only the version object. Usage: check.sh BUILD
# (`make`, never $(MAKE) in the unit recipe: make -n runs lines that name $(MAKE).)
set -u
MAKE=make
BUILD=$1
ABS=$(cd "$BUILD" && pwd)
fail=0
say() { echo "build check: $*"; }

# 1. On a fresh tree, `make unit` plans nothing that needs root (tools/deps.sh installs packages).
tmp=$(mktemp -d /tmp/lifeboat-build-check.XXXXXX)
if $MAKE -n --no-print-directory unit BUILD="$tmp/build" 2>&1 | grep -q 'tools/deps\.sh'; then
	say "FAIL: make unit on a fresh tree would run tools/deps.sh, which needs root"
	fail=1
fi
rm -rf "$tmp"

# 2. Every unit test passes as an unprivileged user (checked when we are root and have one).
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null; then
	group=$(id -gn nobody)
	for t in "$ABS"/unit/test_*; do
		[ -x "$t" ] || continue
		if ! (cd tests/unit && setpriv --reuid=nobody --regid="$group" --clear-groups \
			env ASAN_OPTIONS=detect_leaks=0 "$t" >/dev/null 2>&1); then
			say "FAIL: ${t##*/} fails without root"
			fail=1
		fi
	done
else
	say "not root (or no user nobody): the unit tests just ran without root"
fi

# 3. A new commit (a changed $(BUILD)/.version) recompiles one object of an up-to-date tree:
# lib/version.c. Dry runs with .version taken as new (-W) and as untouched (-o).
count() { $MAKE -n --no-print-directory "$1" BUILD="$BUILD" "$2" 2>/dev/null | grep -c -- '-c [^ ]*\.c -o'; }
for target in "$BUILD/host/libcore.a" "$BUILD/lifeboat"; do
	[ -e "$target" ] || continue
	same=$(count "$target" "-o$BUILD/.version")
	other=$(count "$target" "-W$BUILD/.version")
	if [ "$same" != 0 ]; then
		say "${target##*/} is not up to date ($same objects): its part not checked"
		continue
	fi
	[ "$other" = 1 ] || {
		say "FAIL: a new version recompiles $other objects for ${target##*/} (expected 1)"
		fail=1
	}
done
# 4. The file systems the device worker preloads at every boot (FSMODULES_LIKELY) are among the
# modules the image keeps plain, so that no boot pays for decoding them.
likely=$(sed -n 's/^#define FSMODULES_LIKELY {\(.*\)}.*/\1/p' lib/fsmodules.h | tr -d '"' | tr ',' ' ')
[ -n "$likely" ] || { say "FAIL: no FSMODULES_LIKELY in lib/fsmodules.h"; fail=1; }
for m in $likely; do
	sed 's/#.*//' initramfs/modules-plain.list | tr -s ' \t' '\n\n' | grep -qx "$m" || {
		say "FAIL: $m (FSMODULES_LIKELY) is not in initramfs/modules-plain.list"
		fail=1
	}
done
[ $fail = 0 ] && say "ok"
exit $fail
