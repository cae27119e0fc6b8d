#!/usr/bin/python3
"""Disk images for `make bench`: GPT disks (sfdisk on an image file) with small ext4 and vfat
partitions, every eighth ext4 one shaped like an installed NixOS (store, two generations of the
system profile, /etc/NIXOS). Rootless: each file system is made in a file (mkfs.ext4 -d,
mkfs.vfat) and copied into its partition. UUIDs and volume ids are derived from the disk's name,
so two disks never share one (scans report duplicates as ambiguous) and rebuilds are identical.

    bench/mkdisks.py DIR      writes DIR/nixos.img, DIR/parts-{1,8,32,64}.img, DIR/multi-{0..7}.img,
                              DIR/lun-{0..127}.img
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile

NIXB32 = "0123456789abcdfghijklmnpqrsvwxyz"


def digest(*parts):
    return hashlib.sha256("/".join(map(str, parts)).encode()).digest()


def store_hash(*seed):
    return "".join(NIXB32[b % 32] for b in digest(*seed)[:32])


def uuid(*seed):
    h = digest(*seed).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def run(*argv):
    r = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if r.returncode:
        sys.exit(f"mkdisks: {' '.join(argv)} failed: {r.stderr.decode(errors='replace')}")


def nixos_tree(top, host):
    """An installed NixOS's root, small: what a scanner looks at, not what would boot."""
    def put(path, text, mode=0o644):
        p = os.path.join(top, path.lstrip("/"))
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, mode)

    def link(path, target):
        p = os.path.join(top, path.lstrip("/"))
        os.makedirs(os.path.dirname(p), exist_ok=True)
        os.symlink(target, p)

    put("/etc/NIXOS", "")
    profiles = "/nix/var/nix/profiles"
    for gen in (1, 2):
        ver = f"24.05.2024010{gen}.abcdef{gen}"
        kern = f"/nix/store/{store_hash(host, gen, 'linux')}-linux-6.1.90"
        ird = f"/nix/store/{store_hash(host, gen, 'initrd')}-initrd-linux-6.1.90"
        etc = f"/nix/store/{store_hash(host, gen, 'etc')}-etc"
        top_ = f"/nix/store/{store_hash(host, gen, 'system')}-nixos-system-{host}-{ver}"
        put(kern + "/bzImage", "kernel\n")
        put(ird + "/initrd", "initrd\n")
        put(etc + "/etc/hostname", host + "\n")
        put(etc + "/etc/fstab", "/dev/disk/by-label/nixos / ext4 defaults 0 1\n"
            "/dev/disk/by-label/boot /boot vfat defaults 0 2\n")
        put(top_ + "/nixos-version", ver)
        put(top_ + "/system", "x86_64-linux")
        put(top_ + "/kernel-params", "loglevel=4")
        put(top_ + "/init", "#!/bin/sh\nexit 0\n", 0o755)
        put(top_ + "/activate", "#!/bin/sh\nexit 0\n", 0o755)
        link(top_ + "/kernel", kern + "/bzImage")
        link(top_ + "/initrd", ird + "/initrd")
        link(top_ + "/etc", etc + "/etc")
        link(f"{profiles}/system-{gen}-link", top_)
    link(f"{profiles}/system", "system-2-link")


def make_fs(path, kind, size_mib, label, seed, nixos_host=None):
    with open(path, "wb") as f:
        f.truncate(size_mib << 20)
    if kind == "vfat":
        volid = digest(seed, "vfat")[:4].hex()
        run("mkfs.vfat", "-n", label[:11], "-i", volid, path)
        return
    with tempfile.TemporaryDirectory() as tree:
        if nixos_host:
            nixos_tree(tree, nixos_host)
        run("mkfs.ext4", "-q", "-F", "-L", label, "-U", uuid(seed, "ext4"), "-E",
            "root_owner=0:0", "-d", tree, path)


def make_disk(path, parts):
    """parts: list of (kind, size_mib, label, nixos_host or None)."""
    total = 1 + sum(p[1] for p in parts) + 1
    with open(path + ".tmp", "wb") as f:
        f.truncate(total << 20)
    name = os.path.basename(path)
    script = "label: gpt\nlabel-id: %s\n" % uuid(name, "disk").upper()
    for i, (kind, size, label, _) in enumerate(parts):
        t = "uefi" if kind == "vfat" else "linux"
        script += f"size={size}MiB, type={t}, name={label}, uuid={uuid(name, i, 'part').upper()}\n"
    subprocess.run(["sfdisk", "-q", path + ".tmp"], input=script.encode(), check=True,
                   stdout=subprocess.DEVNULL)
    table = json.loads(subprocess.run(["sfdisk", "--json", path + ".tmp"], check=True,
                                      capture_output=True).stdout)["partitiontable"]
    with tempfile.TemporaryDirectory() as tmp:
        for i, (part, (kind, size, label, host)) in enumerate(zip(table["partitions"], parts)):
            fs = os.path.join(tmp, "fs")
            make_fs(fs, kind, size, label, (name, i), host)
            run("dd", f"if={fs}", f"of={path}.tmp", "bs=1M", "conv=notrunc,sparse",
                f"seek={part['start'] * 512}", "oflag=seek_bytes", "status=none")
            os.unlink(fs)
    os.replace(path + ".tmp", path)


def scan_parts(n, tag):
    """n partitions: ext4 and vfat alternating, every eighth ext4 one a NixOS."""
    parts = []
    for i in range(n):
        if i % 8 == 0:
            parts.append(("ext4", 4, f"{tag}n{i}", f"{tag}h{i}"))
        elif i % 2:
            parts.append(("vfat", 2, f"{tag}v{i}", None))
        else:
            parts.append(("ext4", 2, f"{tag}e{i}", None))
    return parts


LUNS = 128


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    # The disk every time-to-menu boot gets: the NixOS wiki's layout (ESP "boot", root "nixos").
    make_disk(os.path.join(out, "nixos.img"),
              [("vfat", 8, "boot", None), ("ext4", 16, "nixos", "bench")])
    for n in (1, 8, 32, 64):
        make_disk(os.path.join(out, f"parts-{n}.img"), scan_parts(n, f"s{n}"))
    for d in range(8):
        make_disk(os.path.join(out, f"multi-{d}.img"), scan_parts(8, f"m{d}"))
    # Many disks of one partition each (the slope over 16..128 disks, as virtio-scsi LUNs): disk
    # i holds what partition i of scan_parts() would, so the mix is the same as on one disk.
    mix = scan_parts(LUNS, "l")
    for d in range(LUNS):
        make_disk(os.path.join(out, f"lun-{d}.img"), [mix[d]])


if __name__ == "__main__":
    main()
