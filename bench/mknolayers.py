#!/usr/bin/python3
"""The bench's "no layers" variant of the image: out/initrd.img without the assembly and unlock
tools (lvm and its links, dmsetup, mdadm, cryptsetup, /etc/lvm), everything else byte for byte,
so that `bench/run` can time the menu with and without them side by side (issues 13/14: not
slower than before by more than 3% on a machine without these layouts).

    bench/mknolayers.py IN.img OUT.img [SEGMENT.zst...]

IN.img is the main archive (zstd) followed by the SEGMENTs (the Makefile's INITRD_SEGMENTS,
zstd frames: the bundled installer; tools/initrd-append.sh); the main archive is unpacked, the tools' entries are dropped from the cpio
(newc, as tools/mkinitramfs.py writes it), and it is compressed again exactly as the Makefile
does (zstd -19, 1 MiB window); the installer segment is appended unchanged. The kernel modules
(dm, md, crypto) stay: only the user-space tools go, which is what a build without them would
leave out. The list of what was dropped is printed, and it is an error when one is missing (the
variant would then not be what it says).
"""
import os
import subprocess
import sys

DROP_FILES = {"sbin/lvm", "sbin/dmsetup", "sbin/mdadm", "sbin/cryptsetup", "etc/lvm/lvm.conf",
              "etc/lvm"}
MUST = {"sbin/lvm", "sbin/dmsetup", "sbin/mdadm", "sbin/cryptsetup"}
S_IFMT, S_IFLNK = 0o170000, 0o120000


def entries(data):
    """(name, header+name+data bytes, mode, body) for each newc entry of one archive; stops after
    TRAILER!!! and returns the offset after it (4-byte aligned)."""
    out, off = [], 0
    while True:
        if data[off:off + 6] != b"070701":
            raise SystemExit(f"mknolayers: not a newc cpio at offset {off}")
        f = [int(data[off + 6 + 8 * i:off + 14 + 8 * i], 16) for i in range(13)]
        mode, fsize, namesize = f[1], f[6], f[11]
        name_end = off + 110 + namesize
        name = data[off + 110:name_end - 1].decode("latin-1")
        body_at = (name_end + 3) & ~3
        end = (body_at + fsize + 3) & ~3
        out.append((name, data[off:end], mode, data[body_at:body_at + fsize]))
        off = end
        if name == "TRAILER!!!":
            return out, off


def main():
    src, dst, segs = sys.argv[1], sys.argv[2], sys.argv[3:]
    blob = open(src, "rb").read()
    tail = b"".join(open(s, "rb").read() for s in segs)
    if tail and not blob.endswith(tail):
        raise SystemExit(f"mknolayers: {src} does not end with {' '.join(segs)}")
    main_z = blob[:len(blob) - len(tail)]
    raw = subprocess.run(["zstd", "-dc"], input=main_z, capture_output=True, check=True).stdout
    ents, end = entries(raw)
    if raw[end:].strip(b"\0"):
        raise SystemExit("mknolayers: more than one archive in the main segment")
    kept, dropped = [], []
    for name, b, mode, body in ents:
        n = name.lstrip("/")
        target = body.decode("latin-1") if (mode & S_IFMT) == S_IFLNK else None
        # lvm's links (vgchange -> lvm, ...) go with it.
        if n in DROP_FILES or (target is not None and os.path.dirname(n) == "sbin"
                               and f"sbin/{target}" in DROP_FILES):
            dropped.append(n)
            continue
        kept.append(b)
    missing = MUST - set(dropped)
    if missing:
        raise SystemExit(f"mknolayers: not in the image: {' '.join(sorted(missing))}")
    cpio = b"".join(kept)
    z = subprocess.run(["zstd", "-q", "-19", "-T1", "--zstd=wlog=20", "-c"], input=cpio,
                       capture_output=True, check=True).stdout
    with open(dst + ".tmp", "wb") as f:
        f.write(z + tail)
    os.replace(dst + ".tmp", dst)
    print(f"mknolayers: dropped {' '.join(sorted(dropped))}; {len(raw) - len(cpio)} bytes unpacked, "
          f"{len(main_z) - len(z)} compressed")


if __name__ == "__main__":
    main()
