"""Append files to the lifeboat initrd for a test: the kernel unpacks concatenated cpio archives
in order, so an uncompressed newc archive after out/initrd.img adds (or replaces) files."""
import hashlib
import os

from vm import BUILD, OUT


def _entry(name, data, mode):
    name_b = name.encode() + b"\0"
    hdr = "070701" + "".join("%08x" % v for v in (
        0, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name_b), 0))
    out = hdr.encode() + name_b
    out += b"\0" * (-len(out) % 4)
    out += data + b"\0" * (-len(data) % 4)
    return out


def initrd_with(files):
    """files: {"/path/in/image": bytes or str, or None for a directory (the kernel makes no
    missing parents)}. Returns the path of a combined initrd."""
    body = b""
    for path, data in sorted(files.items()):
        if data is None:
            body += _entry(path.lstrip("/"), b"", 0o40700)
            continue
        if isinstance(data, str):
            data = data.encode()
        body += _entry(path.lstrip("/"), data, 0o100644)
    body += _entry("TRAILER!!!", b"", 0)
    body += b"\0" * (-len(body) % 512)
    base = open(os.path.join(OUT, "initrd.img"), "rb").read()
    key = hashlib.sha256(base + body).hexdigest()[:16]
    os.makedirs(os.path.join(BUILD, "vmtest"), exist_ok=True)
    path = os.path.join(BUILD, "vmtest", "initrd-%s.img" % key)
    if not os.path.exists(path):
        tmp = "%s.%d.tmp" % (path, os.getpid())  # parallel workers may build the same one
        with open(tmp, "wb") as f:
            f.write(base)
            f.write(b"\0" * (-len(base) % 4))
            f.write(body)
        os.rename(tmp, path)
    return path
