"""NixOS-shaped initrds and ESPs holding them, for the LUKS names test (docs/unlock.md, "Names";
tests/vm/test_unlock_names.py). Made on the host, rootless, in a few seconds: GNU cpio (newc,
as NixOS's make-initrd-ng writes it), zstd/gzip, mkfs.vfat + mcopy.

- scripted stage-1: an early-microcode cpio (uncompressed; it holds a zstd signature that is
  no archive, as any blob may) followed by a zstd cpio whose `init` opens devices with
  `cryptsetup luksOpen DEVICE NAME`, the way nixos/modules/system/boot/luksroot.nix's
  commands do (written here from that description, not copied);
- systemd stage-1: a zstd cpio with `etc/crypttab` and `init` a link to systemd;
- hostile: garbage bytes, and a zstd bomb (a cpio whose one file is 512 MiB of zeros, 17 KB
  compressed).

esp(path, entries) writes a FAT32 image whose loader/entries/nixos-generation-N.conf name
/EFI/nixos/<name> for each (N, name, bytes) entry, as systemd-boot's NixOS builder lays out.
"""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixtures"))

import mkfixtures as mf  # noqa: E402


def _cpio(tree):
    """A newc archive of tree, entries named ./PATH in sorted order, owners 0."""
    names = subprocess.run("find . | LC_ALL=C sort", shell=True, cwd=tree, check=True,
                           capture_output=True).stdout
    return subprocess.run(["cpio", "-o", "-H", "newc", "-R", "0:0", "--quiet"], cwd=tree, input=names,
                          check=True, capture_output=True).stdout


def _tree(files, links=()):
    d = tempfile.mkdtemp(prefix="initrdfix.")
    for rel, data in files.items():
        p = os.path.join(d, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
        os.chmod(p, 0o755 if rel == "init" else 0o644)
    for rel, target in links:
        p = os.path.join(d, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        os.symlink(target, p)
    return d


def _archive(files, links=()):
    d = _tree(files, links)
    try:
        return _cpio(d)
    finally:
        subprocess.run(["rm", "-rf", d], check=True)


def _zstd(data):
    return subprocess.run(["zstd", "-q", "-19", "-c"], input=data, check=True, capture_output=True).stdout


def microcode():
    """An early-microcode archive: uncompressed, with a blob that happens to hold a zstd
    signature at a 4-byte boundary (the scan must try it, fail and go on)."""
    blob = bytes(range(256)) * 16
    blob = blob[:1024] + b"\x28\xb5\x2f\xfd" + b"\x00\x11" * 50 + blob[1128:]
    return _archive({"kernel/x86/microcode/GenuineIntel.bin": blob})


def scripted_init(devices):
    """A stage-1 init script opening (device, name) pairs as NixOS's scripted initrd does."""
    lines = ["#! /nix/store/0000000000000000000000000000000a-extra-utils/bin/ash", "",
             "# Open LUKS devices", ""]
    for dev, name in devices:
        lines += [f'wait_target "device" {dev} || die "{dev} is unavailable"',
                  "do_open_passphrase() {",
                  f'    echo -n "Passphrase for {dev}: "',
                  f'    echo -n "$passphrase" | cryptsetup luksOpen {dev} {name} --allow-discards --key-file=-',
                  "}", "open_normally", ""]
    lines += ['exec env -i $(type -P switch_root) "$targetRoot" "$stage2Init"', ""]
    return "\n".join(lines).encode()


def scripted(devices):
    """Microcode cpio + zstd cpio with the init script: a scripted stage-1 initrd."""
    main = _archive({"init": scripted_init(devices), "etc/modprobe.d/nixos.conf": b"\n"})
    return _pad4(microcode()) + _zstd(main)


def systemd(crypttab):
    """A systemd stage-1 initrd: zstd cpio with etc/crypttab, init a link to systemd."""
    main = _archive({"etc/crypttab": crypttab.encode(), "etc/fstab": b"\n"},
                    links=[("init", "/nix/store/0000000000000000000000000000000b-systemd/lib/systemd/systemd")])
    return _zstd(main)


def gzip_scripted(devices):
    main = _archive({"init": scripted_init(devices)})
    return subprocess.run(["gzip", "-n", "-9", "-c"], input=main, check=True, capture_output=True).stdout


def garbage():
    return b"this is not an initrd\n" * 200


def bomb(size=512 << 20):
    """A zstd cpio whose one file is `size` zero bytes."""
    d = tempfile.mkdtemp(prefix="initrdfix.")
    try:
        with open(os.path.join(d, "junk"), "wb") as f:
            f.truncate(size)
        cp = subprocess.Popen(["cpio", "-o", "-H", "newc", "-R", "0:0", "--quiet"], cwd=d,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        z = subprocess.Popen(["zstd", "-q", "-3", "-T1", "-c"], stdin=cp.stdout, stdout=subprocess.PIPE)
        cp.stdin.write(b"junk\n")
        cp.stdin.close()
        cp.stdout.close()
        out = z.communicate()[0]
        assert cp.wait() == 0 and z.returncode == 0
        return out
    finally:
        subprocess.run(["rm", "-rf", d], check=True)


def _pad4(b):
    return b + b"\0" * (-len(b) % 4)


def esp(path, entries, label="ESP", volid="1FEB-0A71", size=64 << 20):
    """A FAT32 image with a systemd-boot entry per (generation, initrd file name, bytes)."""
    d = tempfile.mkdtemp(prefix="initrdfix.")
    try:
        os.makedirs(os.path.join(d, "loader", "entries"))
        os.makedirs(os.path.join(d, "EFI", "nixos"))
        with open(os.path.join(d, "loader", "loader.conf"), "w") as f:
            f.write("timeout 5\ndefault nixos-generation-%d.conf\n" % max(e[0] for e in entries))
        kernel = "0000000000000000000000000000000c-linux-6.1-bzImage.efi"
        with open(os.path.join(d, "EFI", "nixos", kernel), "wb") as f:
            f.write(b"MZ not a kernel\n")
        for gen, name, data in entries:
            with open(os.path.join(d, "EFI", "nixos", name), "wb") as f:
                f.write(data)
            with open(os.path.join(d, "loader", "entries", f"nixos-generation-{gen}.conf"), "w") as f:
                f.write(f"title NixOS\nversion Generation {gen} NixOS 24.05\n"
                        f"linux /EFI/nixos/{kernel}\ninitrd /EFI/nixos/{name}\n"
                        f"options init=/nix/store/0000000000000000000000000000000d-nixos-system/init loglevel=4\n")
        mf.fs_vfat(path, size, d, label, volid)
    finally:
        subprocess.run(["rm", "-rf", d], check=True)
    return path
