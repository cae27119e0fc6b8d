#!/usr/bin/python3
"""Write a newc cpio archive from a spec, without root and reproducibly.

Spec lines (blank lines and # comments ignored; @NAME@ is replaced by -D NAME=VALUE):
  dir   PATH MODE
  file  PATH MODE SOURCE
  slink PATH TARGET
  nod   PATH MODE c|b MAJOR MINOR
  tree  PATH SOURCE_DIR     (copied recursively; dirs 0755, files 0755 if executable else 0644)

Every entry is owned by 0:0 with mtime SOURCE_DATE_EPOCH (default 0) and inode numbers given in
archive order, so the same inputs always give the same bytes. Parent directories are added
automatically. With --sizes FILE, the unpacked size of each spec line is written there.
"""
import argparse
import os
import stat
import sys


class Archive:
    def __init__(self, out, mtime):
        self.out = out
        self.mtime = mtime
        self.ino = 0
        self.seen = set()
        self.offset = 0

    def _write(self, b):
        self.out.write(b)
        self.offset += len(b)

    def _pad(self):
        if self.offset % 4:
            self._write(b"\0" * (4 - self.offset % 4))

    def entry(self, path, mode, data=b"", rdev=(0, 0)):
        name = path.lstrip("/") or "."
        if name in self.seen:
            sys.exit(f"mkinitramfs: {path} is listed twice")
        self.seen.add(name)
        self.ino += 1
        nlink = 2 if stat.S_ISDIR(mode) else 1
        fields = [0x070701, self.ino, mode, 0, 0, nlink, self.mtime, len(data),
                  0, 0, rdev[0], rdev[1], len(name) + 1, 0]
        self._write(b"".join(b"%08X" % f if i else b"070701" for i, f in enumerate(fields)))
        self._write(name.encode() + b"\0")
        self._pad()
        self._write(data)
        self._pad()

    def parents(self, path):
        parts = path.strip("/").split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d not in self.seen:
                self.entry(d, stat.S_IFDIR | 0o755)

    def trailer(self):
        self.seen.discard("TRAILER!!!")
        self.entry("TRAILER!!!", 0)
        # Pad to 512 bytes, as cpio does; the kernel accepts any padding.
        if self.offset % 512:
            self._write(b"\0" * (512 - self.offset % 512))


def read(path):
    with open(path, "rb") as f:
        return f.read()


def add(ar, words, where):
    kind, path = words[0], words[1]
    ar.parents(path)
    size = 0
    if kind == "dir":
        ar.entry(path, stat.S_IFDIR | int(words[2], 8))
    elif kind == "file":
        data = read(words[3])
        ar.entry(path, stat.S_IFREG | int(words[2], 8), data)
        size = len(data)
    elif kind == "slink":
        ar.entry(path, stat.S_IFLNK | 0o777, words[2].encode())
    elif kind == "nod":
        t = stat.S_IFCHR if words[3] == "c" else stat.S_IFBLK
        ar.entry(path, t | int(words[2], 8), rdev=(int(words[4]), int(words[5])))
    elif kind == "tree":
        src = words[2]
        if path.strip("/") not in ar.seen:
            ar.entry(path, stat.S_IFDIR | 0o755)
        for root, dirs, files in os.walk(src):
            dirs.sort()
            rel = os.path.relpath(root, src)
            base = path.rstrip("/") + ("" if rel == "." else "/" + rel)
            for d in dirs:
                ar.entry(base + "/" + d, stat.S_IFDIR | 0o755)
            for f in sorted(files):
                p = os.path.join(root, f)
                st = os.lstat(p)
                if stat.S_ISLNK(st.st_mode):
                    ar.entry(base + "/" + f, stat.S_IFLNK | 0o777, os.readlink(p).encode())
                    continue
                data = read(p)
                mode = 0o755 if st.st_mode & 0o111 else 0o644
                ar.entry(base + "/" + f, stat.S_IFREG | mode, data)
                size += len(data)
    else:
        sys.exit(f"mkinitramfs: {where}: unknown entry type {kind}")
    return size


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("spec", nargs="+")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("-D", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument("--sizes")
    a = ap.parse_args()
    defs = dict(d.split("=", 1) for d in a.D)
    mtime = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    sizes = []
    with open(a.output, "wb") as out:
        ar = Archive(out, mtime)
        for spec in a.spec:
            for n, line in enumerate(open(spec), 1):
                line = line.split("#", 1)[0].strip()
                if not line:
                    continue
                for k, v in defs.items():
                    line = line.replace(f"@{k}@", v)
                if "@" in line:
                    sys.exit(f"mkinitramfs: {spec}:{n}: undefined variable in: {line}")
                words = line.split()
                sizes.append((words[1], add(ar, words, f"{spec}:{n}")))
        ar.trailer()
    if a.sizes:
        with open(a.sizes, "w") as f:
            for p, s in sizes:
                if s:
                    f.write(f"{s}\t{p}\n")


if __name__ == "__main__":
    main()
