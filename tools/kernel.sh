#!/bin/bash
# Provide the kernel lifeboat boots with and the modules it carries.
#   tools/kernel.sh debian CACHE DEST MODLIST   Debian's current linux-image-amd64 (default)
#   tools/kernel.sh source CACHE DEST MODLIST   built from Debian's linux-source with the fragments
#                                               in kernel-config/, no modules (tools/kernel-source.sh)
#   tools/kernel.sh DIR    CACHE DEST MODLIST   a user's tree: DIR/bzImage (or vmlinuz*) and
#                                               DIR/lib/modules/<version>/ (modules optional)
# Writes DEST/bzImage, DEST/version, DEST/SOURCE and DEST/modules/lib/modules/<version>/ holding
# the closure of MODLIST (module names, one per line, # comments) with regenerated
# modules.dep/modules.alias. The modules are xz files, but for the closure of PLAINLIST (same
# format, optional): those nearly every boot loads stay plain. The host is never touched: the
# .deb is unpacked, not installed.
set -eu
kind=$1 cache=$2 dest=$3 modlist=$4 plainlist=${5:-}
. "$(dirname "$0")/cache-lock.sh"

log() { echo "kernel: $*" >&2; }

if [ "$kind" = source ]; then
	exec "$(dirname "$0")/kernel-source.sh" "$cache" "$dest"
fi

rm -rf "$dest.tmp" && mkdir -p "$dest.tmp"
tree=
if [ "$kind" = debian ]; then
	pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
	[ -n "$pkg" ] || { log "cannot find the package linux-image-amd64 depends on"; exit 1; }
	ver=$(apt-cache show --no-all-versions "$pkg" | awk '/^Version:/{print $2; exit}')
	dl="$cache/kernel/$pkg-$ver"
	if [ ! -e "$dl/.done" ]; then
		log "fetching $pkg $ver"
		rm -rf "$dl" && mkdir -p "$dl/deb"
		(cd "$dl/deb" && apt-get download "$pkg" >/dev/null 2>&1) ||
			(cd "$dl/deb" && apt-get download "$pkg")
		dpkg-deb -x "$dl"/deb/*.deb "$dl/root"
		touch "$dl/.done"
	fi
	tree="$dl/root"
	kver=${pkg#linux-image-}
	cp "$tree/boot/vmlinuz-$kver" "$dest.tmp/bzImage"
	deb=$(ls "$dl"/deb/*.deb)
	echo "kernel $pkg $ver sha256:$(sha256sum "$deb" | cut -d' ' -f1)" > "$dest.tmp/SOURCE"
else
	tree=$kind
	k=
	for c in "$tree/bzImage" "$tree"/boot/vmlinuz* "$tree"/vmlinuz*; do
		[ -f "$c" ] && { k=$c; break; }
	done
	[ -n "$k" ] || { log "no bzImage or vmlinuz in $tree"; exit 1; }
	cp "$k" "$dest.tmp/bzImage"
	kver=$(ls "$tree/lib/modules" 2>/dev/null | head -n1)
	echo "kernel $k local sha256:$(sha256sum "$k" | cut -d' ' -f1)" > "$dest.tmp/SOURCE"
fi
echo "${kver:-none}" > "$dest.tmp/version"

# Modules: resolve the wanted names through the full tree's dependency list, copy the closure,
# and let depmod write fresh indexes for just what the image carries.
mods="$tree/lib/modules/$kver"
if [ -n "$kver" ] && [ -d "$mods/kernel" ]; then
	[ -s "$mods/modules.dep" ] || depmod -b "$tree" "$kver"
	stage="$dest.tmp/modules/lib/modules/$kver"
	mkdir -p "$stage"
	# closure LIST [quiet]: the module files (paths in modules.dep) that LIST's names need,
	# sorted; quiet: names that are not modules here were already reported (PLAINLIST is part
	# of MODLIST).
	closure() {
		sed 's/#.*//' "$1" | tr -s ' \t' '\n\n' | grep -v '^$' | tr - _ | sort -u > "$dest.tmp/want"
		# modules.dep lines: "kernel/path/name.ko: dep1.ko dep2.ko"; keyed by normalized name.
		awk -v want="$dest.tmp/want" -v quiet="${2:-}" '
		function base(p) { sub(/.*\//, "", p); sub(/\.ko(\.[a-z]+)?$/, "", p); gsub(/-/, "_", p); return p }
		BEGIN { while ((getline w < want) > 0) wanted[w] = 1 }
		{ p = $1; sub(/:$/, "", p); path[base(p)] = p; deps[base(p)] = ""
		  for (i = 2; i <= NF; i++) deps[base(p)] = deps[base(p)] " " base($i) }
		END {
			n = 0; for (w in wanted) if (w in path) q[n++] = w; else missing = missing " " w
			for (i = 0; i < n; i++) { m = q[i]; if (m in seen) continue; seen[m] = 1
				k = split(deps[m], d, " "); for (j = 1; j <= k; j++) if (!(d[j] in seen)) q[n++] = d[j] }
			for (m in seen) print path[m]
			if (missing != "" && quiet == "") print "not modules in this kernel (built in or absent):" missing > "/dev/stderr"
		}' "$mods/modules.dep" | LC_ALL=C sort
	}
	closure "$modlist" > "$dest.tmp/closure"
	: > "$dest.tmp/plain"
	if [ -n "$plainlist" ]; then
		unz() { sed 's/\.\(xz\|zst\|gz\)$//' | LC_ALL=C sort; }
		closure "$plainlist" quiet | unz > "$dest.tmp/plain"
		extra=$(unz < "$dest.tmp/closure" | LC_ALL=C comm -13 - "$dest.tmp/plain")
		[ -z "$extra" ] || { log "$plainlist names modules $modlist does not carry: $extra"; exit 1; }
	fi
	while read -r p; do
		mkdir -p "$stage/$(dirname "$p")"
		case $p in
		*.xz) xz -dc "$mods/$p" > "$stage/${p%.xz}" ;;
		*.zst) zstd -qdc "$mods/$p" > "$stage/${p%.zst}" ;;
		*.gz) gzip -dc "$mods/$p" > "$stage/${p%.gz}" ;;
		*) cp "$mods/$p" "$stage/$p" ;;
		esac
	done < "$dest.tmp/closure"
	# Kept xz-compressed in the image, each module on its own: a quarter of the unpacked size
	# (less to unpack before /init, less RAM held by the rootfs) and, with a 1 MiB dictionary,
	# smaller in the image than plain modules under the image's zstd (docs/pid1.md has the
	# figures). lifeboat decodes a module when it loads it (lib/xzread.c). One thread each, so
	# the output is the same on every machine with this xz.
	# The modules of PLAINLIST stay plain: decoding xz under emulation costs ~55 ms a MB (ext4
	# alone: 110 ms), paid at every boot for these, for 0.4% more image (docs/bench.md).
	tmp=$(cd "$dest.tmp" && pwd)
	(cd "$stage" && find kernel -name '*.ko') | LC_ALL=C sort > "$tmp/all"
	LC_ALL=C comm -23 "$tmp/all" "$tmp/plain" > "$tmp/packed"
	(cd "$stage" && tr '\n' '\0' < "$tmp/packed" |
		xargs -0 -r -n 8 -P "$(nproc)" xz -q -T1 --check=crc32 --lzma2=preset=9e,dict=1MiB)
	for f in modules.builtin modules.builtin.modinfo modules.order; do
		[ -f "$mods/$f" ] && cp "$mods/$f" "$stage/$f"
	done
	depmod -b "$dest.tmp/modules" "$kver"
	# Binary indexes are for kmod; lifeboat reads the text files. Dropping them keeps the image small.
	rm -f "$stage"/*.bin "$stage/modules.devname" "$stage/modules.softdep" "$stage/modules.weakdep"
	log "$(wc -l < "$dest.tmp/closure") modules for $kver"
	# The lists were scratch for this step; only the tree and the kernel are the result.
	rm -f "$tmp/want" "$tmp/closure" "$tmp/plain" "$tmp/all" "$tmp/packed"
fi
rm -rf "$dest" && mv "$dest.tmp" "$dest"
