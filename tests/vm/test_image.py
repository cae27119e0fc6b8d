"""The image itself, without booting it: /init is static, the archive is owned by root with the
device nodes the kernel needs, and the build is reproducible (see the repro target)."""
import os
import stat
import subprocess

import pytest

from vm import OUT


def cpio_entries(path):
    """Parse the (zstd-compressed) newc archive: name -> (mode, uid, gid, rdevmajor, rdevminor, data)."""
    raw = subprocess.run(["zstd", "-dc", path], check=True, capture_output=True).stdout
    out, off = {}, 0
    while off < len(raw):
        if raw[off:off + 6] != b"070701":
            # Concatenated archives are padded with zeros between them.
            if raw[off:off + 1] == b"\0":
                off += 1
                continue
            break
        f = [int(raw[off + 6 + 8 * i: off + 14 + 8 * i], 16) for i in range(13)]
        mode, uid, gid, fsize, rmaj, rmin, nsize = f[1], f[2], f[3], f[6], f[9], f[10], f[11]
        name_off = off + 110
        name = raw[name_off:name_off + nsize - 1].decode()
        data_off = (name_off + nsize + 3) & ~3
        data = raw[data_off:data_off + fsize]
        off = (data_off + fsize + 3) & ~3
        if name == "TRAILER!!!":
            continue
        out[name] = (mode, uid, gid, rmaj, rmin, data)
    return out


@pytest.fixture(scope="module")
def entries():
    return cpio_entries(os.path.join(OUT, "initrd.img"))


def test_init_is_static_lifeboat(entries):
    mode, uid, gid, _, _, data = entries["init"]
    assert stat.S_ISREG(mode) and mode & 0o111
    assert data[:4] == b"\x7fELF"
    # No PT_INTERP program header: the kernel runs it without any dynamic loader.
    phoff = int.from_bytes(data[32:40], "little")
    phentsize = int.from_bytes(data[54:56], "little")
    phnum = int.from_bytes(data[56:58], "little")
    types = [int.from_bytes(data[phoff + i * phentsize: phoff + i * phentsize + 4], "little")
             for i in range(phnum)]
    assert 3 not in types, "/init has an ELF interpreter"
    assert b"lifeboat" in data


def test_owners_and_nodes(entries):
    assert all(uid == 0 and gid == 0 for _, uid, gid, _, _, _ in entries.values())
    mode, _, _, maj, mnr, _ = entries["dev/console"]
    assert stat.S_ISCHR(mode) and (maj, mnr) == (5, 1)
    mode, _, _, maj, mnr, _ = entries["dev/null"]
    assert stat.S_ISCHR(mode) and (maj, mnr) == (1, 3)
    for tool in ("bin/busybox", "sbin/kexec"):
        assert stat.S_ISREG(entries[tool][0]), tool
    assert any(n.endswith("/modules.alias") for n in entries), "no modules.alias in the image"


def test_buildinfo_names_every_input():
    info = open(os.path.join(OUT, "BUILDINFO")).read()
    for what in ("busybox:", "blkid:", "kexec:", "kernel linux-image", "musl"):
        assert what in info, what
    sums = open(os.path.join(OUT, "SHA256SUMS")).read()
    assert "initrd.img" in sums and "bzImage" in sums


def test_demo_installer_is_small(entries):
    """Built without INSTALLER=, the bundled installer is the demo one, whose kernel is the small
    one from kernel-config/demo: it must not carry a second copy of the 8 MiB rescue kernel."""
    name = entries.get("installer/name")
    if not name or name[5] != b"lifeboat demo installer\n":
        pytest.skip("this image bundles a real installer")
    kernel = entries["installer/kernel"][5]
    rescue = open(os.path.join(OUT, "bzImage"), "rb").read()
    assert kernel != rescue
    assert len(kernel) < 2 << 20, f"demo installer kernel is {len(kernel)} bytes"
