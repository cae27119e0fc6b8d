#!/bin/sh
# lifeboat @VERSION@ kexec-boot: start lifeboat on a running Linux, without touching its boot loader.
# Copy this script with bzImage, initrd.img (and kexec, a static kexec-tools for hosts without one)
# to the machine, then as root:
#   ./kexec-boot [--dry-run] [--delay SECONDS] [--load-only] [--no-host-data] [lifeboat.OPTION...]
#                [-- MORE KERNEL PARAMETERS]
# It carries the host's console= settings over, appends a small archive with the host's root SSH
# authorized keys, host keys and network configuration (/etc/lifeboat/host/ in lifeboat; --no-host-data leaves it out),
# loads lifeboat with kexec_file_load (kexec -s), falling back to kexec_load (kexec -l) only when
# file loading is unsupported, says what will happen, and jumps after a short delay.
set -u

DRY=0 DELAY=5 LOAD_ONLY=0 HOSTDATA=1 PARAMS=
usage() {
	sed -n '2,10s/^# \{0,1\}//p' "$0"
	exit "${1:-2}"
}
while [ $# -gt 0 ]; do
	case $1 in
	--dry-run|-n) DRY=1 ;;
	--delay) [ $# -ge 2 ] || usage; DELAY=$2; shift ;;
	--delay=*) DELAY=${1#--delay=} ;;
	--load-only) LOAD_ONLY=1 ;;
	--no-host-data) HOSTDATA=0 ;;
	-h|--help) usage 0 ;;
	lifeboat.*) PARAMS="$PARAMS $1" ;;
	--) shift; PARAMS="$PARAMS $*"; break ;;
	*) echo "kexec-boot: unknown argument '$1' (lifeboat.* options and '-- PARAMS' are passed on)" >&2; usage ;;
	esac
	shift
done
case $DELAY in *[!0-9]*|'') echo "kexec-boot: --delay needs a number of seconds" >&2; exit 2 ;; esac

die() {
	echo "kexec-boot: $*" >&2
	exit 1
}
say() { echo "kexec-boot: $*"; }
# A check that stops a real run; a dry run reports it and goes on showing the commands.
refuse() {
	[ "$DRY" = 1 ] || die "$@"
	say "a real run would stop here: $*"
}
# Print a command the way a shell would read it back.
quote() {
	out=
	for a in "$@"; do
		case $a in
		*[!A-Za-z0-9_./=:,+@%-]*|'') a="'$(printf '%s' "$a" | sed "s/'/'\\\\''/g")'" ;;
		esac
		out="$out${out:+ }$a"
	done
	printf '%s\n' "$out"
}
DIR=$(cd "$(dirname "$0")" && pwd) || die "cannot find my own folder"
KERNEL=$DIR/bzImage INITRD=$DIR/initrd.img
[ -f "$KERNEL" ] || die "$KERNEL is missing: copy bzImage next to this script"
[ -f "$INITRD" ] || die "$INITRD is missing: copy initrd.img next to this script"

if [ "$(id -u)" != 0 ]; then
	[ "$DRY" = 1 ] || die "run me as root (kexec needs CAP_SYS_BOOT)"
	say "not root: a real run needs root"
fi

# kexec-tools: the host's, else the static one shipped next to this script.
KEXEC=$(command -v kexec 2>/dev/null || true)
if [ -z "$KEXEC" ] && [ -x "$DIR/kexec" ]; then
	KEXEC=$DIR/kexec
fi
[ -n "$KEXEC" ] || { refuse "no kexec here: install kexec-tools, or copy out/kexec next to this script"; KEXEC=kexec; }

# Old kexec-tools know neither -s nor -c; newer ones may pick the syscall themselves unless told.
HELP=$("$KEXEC" --help 2>&1 || true)
case $HELP in *kexec-file-syscall*) HAS_S=1 ;; *) HAS_S=0 ;; esac
case $HELP in *--kexec-syscall\ *) LEGACY=-c ;; *) LEGACY= ;; esac

# Can this kernel kexec at all?
if [ -r /proc/sys/kernel/kexec_load_disabled ] && [ "$(cat /proc/sys/kernel/kexec_load_disabled)" = 1 ]; then
	refuse "kexec is disabled on this kernel (kernel.kexec_load_disabled=1, which stays set until a reboot): reboot into lifeboat from a USB stick or the boot menu instead"
fi
if [ ! -e /sys/kernel/kexec_loaded ]; then
	refuse "this kernel has no kexec support (no /sys/kernel/kexec_loaded): boot lifeboat another way"
fi
LOCKDOWN=none
if [ -r /sys/kernel/security/lockdown ]; then
	LOCKDOWN=$(sed -n 's/.*\[\([a-z]*\)\].*/\1/p' /sys/kernel/security/lockdown)
fi

# The host's consoles, so lifeboat talks where the user is looking.
CONSOLES=
# shellcheck disable=SC2013 # words, not lines
for w in $(cat "${KEXEC_BOOT_HOST_CMDLINE:-/proc/cmdline}" 2>/dev/null); do
	case $w in console=*) CONSOLES="$CONSOLES $w" ;; esac
done
# shellcheck disable=SC2086,SC2116 # joined with single spaces on purpose
CMDLINE=$(echo $CONSOLES $PARAMS)

# Memory: the kernel holds kernel and initrd twice while loading, plus room to keep running.
need_kb=$(( ( 2 * ( $(wc -c < "$KERNEL") + $(wc -c < "$INITRD") ) + 33554432 ) / 1024 ))
avail_kb=$(sed -n 's/^MemAvailable: *\([0-9]*\) kB/\1/p' /proc/meminfo 2>/dev/null)
if [ -n "$avail_kb" ] && [ "$avail_kb" -lt "$need_kb" ]; then
	refuse "not enough memory: loading lifeboat needs about $((need_kb / 1024)) MiB but only $((avail_kb / 1024)) MiB is available ($(( (need_kb - avail_kb + 1023) / 1024 )) MiB missing). Stop services or free page cache (sync; echo 3 > /proc/sys/vm/drop_caches) and try again"
fi

# --- the host data archive (newc cpio, written with printf: the host may have no cpio) ---
INO=0
cpio_pad() {
	case $(( (4 - $1 % 4) % 4 )) in
	1) printf '\000' ;; 2) printf '\000\000' ;; 3) printf '\000\000\000' ;;
	esac
}
cpio_entry() { # NAME MODE [FILE]
	INO=$((INO + 1))
	size=0 nlink=2
	if [ -n "${3:-}" ]; then size=$(wc -c < "$3"); nlink=1; fi
	namesize=$(( ${#1} + 1 ))
	printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
		"$INO" "$2" 0 0 "$nlink" 0 "$size" 0 0 0 0 "$namesize" 0
	printf '%s\000' "$1"
	cpio_pad $((110 + namesize))
	if [ -n "${3:-}" ]; then
		cat "$3"
		cpio_pad "$size"
	fi
}
host_data() { # DIR -> cpio on stdout
	cpio_entry etc $((040755))
	cpio_entry etc/lifeboat $((040755))
	cpio_entry etc/lifeboat/host $((040700))
	for f in "$1"/*; do
		[ -f "$f" ] && cpio_entry "etc/lifeboat/host/${f##*/}" $((0100600)) "$f"
	done
	cpio_entry TRAILER!!! 0
}
collect_host_data() { # DIR
	for k in /root/.ssh/authorized_keys /root/.ssh/authorized_keys2 /etc/ssh/authorized_keys.d/root; do
		[ -r "$k" ] && cat "$k"
	done > "$1/authorized_keys" 2>/dev/null
	# The host's SSH host keys, so lifeboat answers with the fingerprint users already trust.
	for t in ed25519 ecdsa rsa; do
		[ -r "/etc/ssh/ssh_host_${t}_key" ] && cat "/etc/ssh/ssh_host_${t}_key" > "$1/ssh_host_${t}_key"
	done
	if command -v ip >/dev/null 2>&1; then
		# links: the MAC of each interface, so lifeboat finds the same card under its own name.
		ip -o link show > "$1/links" 2>/dev/null || true
		ip -o addr show > "$1/addresses" 2>/dev/null || true
		ip route show > "$1/routes" 2>/dev/null || true
		ip -6 route show >> "$1/routes" 2>/dev/null || true
	fi
	[ -r /etc/resolv.conf ] && cat /etc/resolv.conf > "$1/resolv.conf"
	hostname > "$1/hostname" 2>/dev/null || true
	for f in "$1"/*; do [ -s "$f" ] || rm -f "$f"; done
}

LOAD_INITRD=$INITRD
WORK=
# shellcheck disable=SC2317 # run by the trap
cleanup() { [ -n "$WORK" ] && rm -rf "$WORK"; }
trap cleanup EXIT
if [ "$HOSTDATA" = 1 ]; then
	if [ "$DRY" = 1 ]; then
		say "would append the host's root SSH keys, addresses, routes, resolv.conf and hostname to a copy of initrd.img (as /etc/lifeboat/host/)"
		LOAD_INITRD=/tmp/kexec-boot.XXXXXX/initrd.img
	else
		WORK=$(mktemp -d "${TMPDIR:-/tmp}/kexec-boot.XXXXXX") || die "cannot make a temporary folder"
		mkdir "$WORK/host"
		collect_host_data "$WORK/host"
		LOAD_INITRD=$WORK/initrd.img
		{
			cat "$INITRD"
			cpio_pad "$(wc -c < "$INITRD")"
			host_data "$WORK/host"
		} > "$LOAD_INITRD" || die "cannot write $LOAD_INITRD"
		say "host data for lifeboat: $(cd "$WORK/host" && echo *)"
		if [ ! -s "$WORK/host/authorized_keys" ]; then
			case " $PARAMS " in
			*" lifeboat.authorized_key="*) ;;
			*) say "WARNING: root has no authorized SSH key here (/root/.ssh/authorized_keys, authorized_keys2, /etc/ssh/authorized_keys.d/root), so lifeboat starts no SSH server: nobody can log in over the network. Press Ctrl-C and add yours, or give lifeboat.authorized_key=TYPE:BASE64" ;;
			esac
		fi
	fi
fi

say "lifeboat from $DIR"
say "  kernel  $KERNEL"
say "  initrd  $LOAD_INITRD"
say "  cmdline ${CMDLINE:-(empty)}"
say "  kexec   $KEXEC (lockdown: ${LOCKDOWN:-unknown})"

# --- load: file-based first; the old syscall only when file loading is unsupported ---
ERR=${WORK:-/tmp}/kexec-boot.err
if [ "$DRY" = 1 ]; then
	quote "$KEXEC" -s -l "$KERNEL" --initrd="$LOAD_INITRD" --command-line="$CMDLINE"
	echo "# only when kexec_file_load is unsupported (ENOSYS, ENOEXEC, EINVAL), never after a signature or lockdown refusal:"
	quote "$KEXEC" $LEGACY -l "$KERNEL" --initrd="$LOAD_INITRD" --command-line="$CMDLINE"
else
	if [ "$HAS_S" = 1 ]; then
		"$KEXEC" -s -l "$KERNEL" --initrd="$LOAD_INITRD" --command-line="$CMDLINE" 2> "$ERR"
		rc=$?
	else
		echo "kexec-tools without -s: Function not implemented" > "$ERR"
		rc=1
	fi
	if [ $rc != 0 ]; then
		cat "$ERR" >&2
		msg=$(cat "$ERR")
		case $msg in
		*"Key was rejected"*|*"Required key not available"*|*"Bad message"*)
			die "the kernel refused lifeboat's signature. This machine only kexecs signed kernels (usually because Secure Boot is on). Turn Secure Boot off in the firmware setup, or boot lifeboat from a USB stick instead" ;;
		*"Operation not permitted"*)
			[ "$LOCKDOWN" != none ] && [ -n "$LOCKDOWN" ] &&
				die "the kernel is locked down (lockdown=$LOCKDOWN, normally because Secure Boot is on): it only kexecs kernels signed with a key it trusts, and the older kexec_load is disabled too. Turn Secure Boot off in the firmware setup, or boot lifeboat from a USB stick instead"
			die "kexec is not permitted here (not root, or disabled by a security module)" ;;
		*"Function not implemented"*|*"Exec format error"*|*"Invalid argument"*|*"unrecognized option"*|*"invalid option"*|*"Cannot determine the file type"*|*"not supported"*)
			case $LOCKDOWN in integrity|confidentiality)
				die "this kernel cannot load lifeboat with kexec_file_load, and it is locked down (lockdown=$LOCKDOWN, normally because Secure Boot is on), which forbids the older kexec_load. Boot lifeboat from a USB stick instead" ;;
			esac
			say "kexec_file_load is unsupported here; using kexec_load"
			"$KEXEC" $LEGACY -l "$KERNEL" --initrd="$LOAD_INITRD" --command-line="$CMDLINE" ||
				die "kexec_load failed too (see above); lifeboat was not loaded and this system keeps running" ;;
		*)
			die "loading lifeboat failed (see above); this system keeps running" ;;
		esac
	fi
	rm -f "$ERR"
fi

if [ "$LOAD_ONLY" = 1 ]; then
	say "loaded; not jumping (--load-only). Start it with: $KEXEC -e   (or undo: $KEXEC -u)"
	exit 0
fi
say "in $DELAY seconds this system stops at once (disks synced, not unmounted) and lifeboat starts on:${CONSOLES:- the default console}"
say "press Ctrl-C now to cancel"
if [ "$DRY" = 1 ]; then
	quote sleep "$DELAY"
	quote sync
	quote "$KEXEC" -e
	exit 0
fi
trap 'echo; say "cancelled; unloading"; "$KEXEC" -u; exit 130' INT TERM
sleep "$DELAY"
trap - INT TERM
sync
"$KEXEC" -e
die "kexec -e returned: the jump did not happen ($?); this system keeps running"
