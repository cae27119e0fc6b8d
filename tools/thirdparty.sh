#!/bin/bash
# Build one third-party part static against musl, cached by version and recipe.
#   tools/thirdparty.sh NAME CACHE  -> prints the install folder
# NAME's recipe is third_party/recipes/NAME.sh: it sets pkg= (the Debian source package),
# optionally extra_inputs= (files that change the result), and defines build(), run in the
# unpacked source with $dest, $cflags, $jobs, $kh and run() at hand.
# The folder is CACHE/built/<name>-<debian version>-<hash>/ and holds SOURCE (what it was built
# from) and what the recipe installs. The hash covers the recipe, its extra inputs, the kernel
# headers and DRIVER_REV below (bump it when a change here changes what recipes produce), so a
# new recipe does not rebuild the others.
# Builds are deterministic (fixed timestamps, no build paths in the binaries), and serialised
# through one lock on the cache, so that worktrees and CI sharing a cache never build the same
# part at once.
set -eu
DRIVER_REV=4
name=$1 cache=$2
top=$(cd "$(dirname "$0")/.." && pwd)
recipe_file="$top/third_party/recipes/$name.sh"
[ -f "$recipe_file" ] || { echo "thirdparty: unknown part $name (no $recipe_file)" >&2; exit 1; }
. "$top/tools/cache-lock.sh"
extra_inputs=
# shellcheck source=/dev/null
. "$recipe_file"
kh=$("$top/tools/musl-kheaders.sh" "$cache")
src=$("$top/tools/fetch-source.sh" "$pkg" "$cache")
recipe=$( { echo "driver $DRIVER_REV"; cat "$recipe_file" $extra_inputs "$kh/SOURCE"; } | sha256sum | cut -c1-12)
dest="$cache/built/$name-$(basename "$src" | sed "s/^$pkg-//")-$recipe"
if [ -e "$dest/.done" ]; then echo "$dest"; exit 0; fi

mkdir -p "$cache/work"
work=$(mktemp -d "$cache/work/$name.XXXXXX")
rm -rf "$dest"
trap 'rm -rf "$dest" "$work"' EXIT
cp -a "$src/tree/." "$work/"
cd "$work"
# Debian's patches leave autotools inputs newer than their outputs; order the timestamps so that
# make never tries to run autoreconf (which the build does not need).
find . -exec touch -h -d @0 {} +
find . -name aclocal.m4 -exec touch -d @1 {} +
find . \( -name configure -o -name config.h.in \) -exec touch -d @2 {} +
find . -name Makefile.in -exec touch -d @3 {} +
export SOURCE_DATE_EPOCH=0 KCONFIG_NOTIMESTAMP=1 LC_ALL=C TZ=UTC
jobs=$(nproc)
# Every recipe's compiler is musl-gcc: a wrapper first in PATH adds per-function sections and
# drops what nothing references at link time (recipes set LDFLAGS each their own way, so the
# linker flag goes with the compiler; with -c it is ignored). A part built inside another's
# recipe would find the outer wrapper first in PATH: its wrapper wraps the real one instead.
real_cc=${LB_REAL_MUSL_GCC:-$(command -v musl-gcc)}
export LB_REAL_MUSL_GCC="$real_cc"
# A recipe that sets gc_sections=0 builds without them (kexec-tools: see its recipe).
if [ "${gc_sections:-1}" = 1 ]; then
	mkdir -p "$work/.cc"
	# A partial link (-r, busybox's built-in.o) has no entry point to keep sections from.
	cat > "$work/.cc/musl-gcc" <<EOF
#!/bin/sh
gc=-Wl,--gc-sections
for a; do case \$a in -r|-Wl,-r|-Wl,--relocatable) gc= ;; esac; done
exec $real_cc -ffunction-sections -fdata-sections \$gc "\$@"
EOF
	chmod +x "$work/.cc/musl-gcc"
	export PATH="$work/.cc:$PATH"
fi
# The work folder's random name must not reach the binaries: map it away.
cflags="-Os -isystem $kh -ffile-prefix-map=$work=. -fdebug-prefix-map=$work=."
log="$work/build.log"
run() { if ! "$@" >>"$log" 2>&1; then tail -n 40 "$log" >&2; echo "thirdparty: $name failed: $*" >&2; exit 1; fi; }
echo "thirdparty: building $name from $(cat "$src/SOURCE")" >&2
mkdir -p "$dest"
build
cp "$src/SOURCE" "$dest/SOURCE"
cd /
rm -rf "$work"
touch "$dest/.done"
trap - EXIT
echo "$dest"
