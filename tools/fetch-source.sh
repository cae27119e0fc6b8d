#!/bin/bash
# Fetch and unpack Debian's source package PKG into CACHE/src, once per version.
#   tools/fetch-source.sh PKG CACHE  -> prints the unpacked source folder
# apt-get checks the files against the signed Sources index; dpkg-source checks them against
# the .dsc and applies Debian's patches. Nothing fetched here is ever committed.
set -eu
pkg=$1 cache=$2
. "$(dirname "$0")/cache-lock.sh"
ver=$(apt-cache showsrc "$pkg" 2>/dev/null | awk '/^Version:/{print $2}' | sort -V | tail -n1)
[ -n "$ver" ] || { echo "fetch-source: no source package $pkg (run: make deps)" >&2; exit 1; }
uver=${ver#*:}          # the epoch is not part of file names
dir="$cache/src/$pkg-$uver"
if [ ! -e "$dir/.done" ]; then
	echo "fetch-source: $pkg $ver" >&2
	rm -rf "$dir" && mkdir -p "$dir/dl"
	(cd "$dir/dl" && apt-get source -q --download-only "$pkg=$ver" >&2)
	dsc=$(ls "$dir"/dl/*.dsc)
	(cd "$dir" && dpkg-source --no-check -x "$dsc" tree >&2)
	# Re-check the .dsc's sha256 lines ourselves, so BUILDINFO can name what was verified.
	(cd "$dir/dl" && awk '/^Checksums-Sha256:/{f=1; next} /^[^ ]/{f=0} f && NF==3 {print $1 "  " $3}' "$dsc" | sha256sum -c --quiet >&2)
	echo "$pkg $ver dsc-sha256:$(sha256sum "$dsc" | cut -d' ' -f1)" > "$dir/SOURCE"
	touch "$dir/.done"
fi
echo "$dir"
