#!/bin/bash
# Fetch and unpack Debian's source package PKG into CACHE/src, once per version.
#   tools/fetch-source.sh PKG CACHE  -> prints the unpacked source folder
# apt-get checks the files against the signed Sources index; dpkg-source checks them against
# the .dsc and applies Debian's patches. Nothing fetched here is ever committed.
set -eu
pkg=$1 cache=$2
. "$(dirname "$0")/cache-lock.sh"
vers=$(apt-cache showsrc "$pkg" 2>/dev/null | awk '/^Version:/{print $2}' | sort -uVr)
[ -n "$vers" ] || { echo "fetch-source: no source package $pkg (run: make deps)" >&2; exit 1; }
# The newest version the mirror serves (or that is unpacked already). A mirror may list a
# security update in its index and not (yet) serve its files (seen: zlib, libzstd); the version
# before it, still signed in the index, is then what gets built, and BUILDINFO names it.
dir= skipped=
for ver in $vers; do
	uver=${ver#*:}          # the epoch is not part of file names
	dir="$cache/src/$pkg-$uver"
	[ ! -e "$dir/.done" ] || break
	rm -rf "$dir" && mkdir -p "$dir/dl"
	if (cd "$dir/dl" && apt-get source -q --download-only "$pkg=$ver" > ../apt.log 2>&1); then
		echo "fetch-source: $pkg $ver" >&2
		break
	fi
	echo "fetch-source: $pkg $ver is listed but not served; trying the version before it" >&2
	cp "$dir/apt.log" "$cache/src/$pkg.apt.log"
	skipped="$skipped${skipped:+, }$ver"
	rm -rf "$dir"
	dir=
done
[ -n "$dir" ] || { echo "fetch-source: no version of $pkg can be downloaded (apt's words: $cache/src/$pkg.apt.log)" >&2; exit 1; }
if [ ! -e "$dir/.done" ]; then
	dsc=$(ls "$dir"/dl/*.dsc)
	(cd "$dir" && dpkg-source --no-check -x "$dsc" tree >&2)
	# Re-check the .dsc's sha256 lines ourselves, so BUILDINFO can name what was verified.
	(cd "$dir/dl" && awk '/^Checksums-Sha256:/{f=1; next} /^[^ ]/{f=0} f && NF==3 {print $1 "  " $3}' "$dsc" | sha256sum -c --quiet >&2)
	echo "$pkg $ver dsc-sha256:$(sha256sum "$dsc" | cut -d' ' -f1)${skipped:+ (newer listed but not on the mirror, 404: $skipped)}" > "$dir/SOURCE"
	touch "$dir/.done"
fi
echo "$dir"
