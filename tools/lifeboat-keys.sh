#!/bin/sh
# lifeboat-keys: SSH keys for an image that is already built, as a small initrd of their own.
#
#   lifeboat-keys -a AUTHORIZED_KEYS [-a MORE]... [-k HOST_KEY_DIR] -o KEYS.img
#
# The kernel unpacks initrds given one after another into the same root, so a boot entry that
# names out/initrd.img and then KEYS.img gives lifeboat these keys without rebuilding it (see
# the README, "Keys without rebuilding"). The files land in /etc/lifeboat/added/.
#
# POSIX sh and coreutils only, so that it runs on the machine that will be rescued (a NixOS
# without python or cpio). The archive is cpio "newc", uncompressed, with fixed owners, inode
# numbers and times: the same keys give the same bytes.
set -eu

me=lifeboat-keys
die() { echo "$me: $*" >&2; exit 1; }
usage() {
	cat >&2 <<-E
	usage: $me -a AUTHORIZED_KEYS [-a FILE]... [-k HOST_KEY_DIR] -o OUTPUT
	  -a FILE  public keys allowed to log in as root (OpenSSH authorized_keys lines)
	  -k DIR   host keys to answer with: DIR/ssh_host_{ed25519,ecdsa,rsa}_key (OpenSSH private
	           keys without a passphrase), so the fingerprint you pinned stays the same
	  -o FILE  the initrd to write (it holds private host keys when -k is given: keep it 0600)
	E
	exit 2
}

keys= hostdir= out=
while getopts a:k:o:h opt; do
	case $opt in
	a) keys="$keys${keys:+
}$OPTARG" ;;
	k) hostdir=$OPTARG ;;
	o) out=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || die "unexpected argument: $1 (see -h)"
[ -n "$out" ] || usage
[ -n "$keys$hostdir" ] || die "nothing to add: give -a AUTHORIZED_KEYS and/or -k HOST_KEY_DIR"

tmp=$(mktemp -d) || die "cannot make a temporary folder"
trap 'rm -rf "$tmp"' EXIT INT TERM
umask 077

# Authorized keys: every line a public key (options allowed before it), comments and blank
# lines kept out. A private key here would be published to anyone reading the ESP or the PXE
# server, and a line dropbear cannot read would lock the user out on the day: both refused.
if [ -n "$keys" ]; then
	: > "$tmp/authorized_keys"
	printf '%s\n' "$keys" | while IFS= read -r f; do
		[ -f "$f" ] && [ -r "$f" ] || die "$f: not a readable file"
		if grep -q 'PRIVATE KEY' "$f"; then
			die "$f holds a private key; give the public one (.pub)"
		fi
		awk -v f="$f" '
			{ sub(/\r$/, "") }
			/^[ \t]*(#|$)/ { next }
			{
				ok = 0
				for (i = 1; i < NF; i++)
					if ($i ~ /^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)$/ &&
					    $(i + 1) ~ /^AAAA[A-Za-z0-9+\/]+=*$/) { ok = 1; break }
				if (!ok) { printf "%s: line %d is not an SSH public key: %.60s\n", f, NR, $0 > "/dev/stderr"; bad = 1; exit }
				print
			}
			END { exit bad }' "$f" >> "$tmp/authorized_keys" || exit 1
	done
	[ -s "$tmp/authorized_keys" ] || die "no public key in: $(printf '%s' "$keys" | tr '\n' ' ')"
fi

# Host keys: OpenSSH private keys (what /etc/ssh holds), without a passphrase, since nobody can
# type one at boot. ssh-keygen, when present, proves each one is readable as such.
hostfiles=
if [ -n "$hostdir" ]; then
	[ -d "$hostdir" ] || die "$hostdir: not a folder"
	for t in ed25519 ecdsa rsa; do
		f=$hostdir/ssh_host_${t}_key
		[ -e "$f" ] || continue
		[ -f "$f" ] && [ -r "$f" ] || die "$f: not a readable file"
		grep -q -- '-----BEGIN .*PRIVATE KEY-----' "$f" || die "$f is not an OpenSSH private key"
		if command -v ssh-keygen >/dev/null 2>&1 &&
		   ! ssh-keygen -y -P '' -f "$f" > /dev/null 2>&1; then
			die "$f cannot be read without a passphrase (ssh-keygen -y -f $f)"
		fi
		cp "$f" "$tmp/ssh_host_${t}_key"
		hostfiles="$hostfiles ssh_host_${t}_key"
	done
	[ -n "$hostfiles" ] || die "$hostdir holds no ssh_host_{ed25519,ecdsa,rsa}_key"
fi

# newc: a 110-byte header of hex fields, the name with its NUL, padding to 4 bytes, the data,
# padding to 4 bytes.
pos=0
ino=0
pad() {
	n=$(( (4 - $1 % 4) % 4 ))
	while [ "$n" -gt 0 ]; do printf '\0'; n=$((n - 1)); done
}
entry() { # NAME MODE FILE-or-empty
	ino=$((ino + 1))
	size=0
	[ -z "$3" ] || size=$(wc -c < "$3" | tr -d ' ')
	nlink=1
	[ $(( $2 & 0170000 )) -ne $((0040000)) ] || nlink=2
	namesize=$(( ${#1} + 1 ))
	printf '070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x' \
		"$ino" "$2" 0 0 "$nlink" 0 "$size" 0 0 0 0 "$namesize" 0
	printf '%s\0' "$1"
	pad $((110 + namesize))
	[ -z "$3" ] || cat "$3"
	pad "$size"
	pos=$(( pos + 110 + namesize + (4 - (110 + namesize) % 4) % 4 + size + (4 - size % 4) % 4 ))
}
{
	entry etc 16877 ''                        # 040755
	entry etc/lifeboat 16877 ''
	entry etc/lifeboat/added 16832 ''         # 040700
	[ ! -f "$tmp/authorized_keys" ] ||
		entry etc/lifeboat/added/authorized_keys 33152 "$tmp/authorized_keys"   # 0100600
	for h in $hostfiles; do
		entry "etc/lifeboat/added/$h" 33152 "$tmp/$h"
	done
	entry TRAILER!!! 0 ''
	# The kernel reads initrds in 512-byte blocks' worth of zeros between archives well; pad
	# as cpio itself does.
	n=$(( (512 - pos % 512) % 512 ))
	[ "$n" -eq 0 ] || head -c "$n" /dev/zero
} > "$tmp/out.img"

mv "$tmp/out.img" "$out.tmp.$$" 2>/dev/null || cp "$tmp/out.img" "$out.tmp.$$"
chmod 600 "$out.tmp.$$"
mv "$out.tmp.$$" "$out"
nk=0
[ ! -f "$tmp/authorized_keys" ] || nk=$(grep -c . "$tmp/authorized_keys")
echo "$me: wrote $out: $nk authorized key(s), host keys:${hostfiles:- none (lifeboat generates one at boot)}"
