"""Boot an lifeboat image in QEMU (software emulation only) and drive its serial console.

    with VM(disks=[Disk("build/fixtures/simple.img")]) as vm:
        vm.expect("Choose")
        vm.sendline("s")
        vm.expect(r"lifeboat:/# ")

Every boot passes panic=1 oops=panic and -no-reboot, so a dying PID 1 or a kernel oops ends the
VM. QEMU then exits with status 0, as after a clean power-off, so the exit status proves nothing:
the harness watches the transcript for the kernel's death lines (a panic, PID 1 killed, an oops)
and fails the test with GuestDied at the next wait, at wait_exit() or at the end of the `with`,
whichever comes first. Every wait has a deadline. expect_not() (the twin of a positive wait)
passes only while the VM lives, or where the positive line came instead. The whole console
transcript is kept in build/vmlogs/<name>.log for reading after a failure.
"""
import hashlib
import os
import re
import shlex
import subprocess
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.environ.get("OUT", os.path.join(ROOT, "out"))
BUILD = os.environ.get("BUILD", os.path.join(ROOT, "build"))
LOGDIR = os.path.join(BUILD, "vmlogs")
# Software emulation is slow: scale every deadline with LIFEBOAT_VM_SLOW=2 on a slower machine.
SLOW = float(os.environ.get("LIFEBOAT_VM_SLOW", "1"))
BOOT_ARGS = "console=ttyS0,115200 panic=1 oops=panic"

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


# The kernel's lines when it dies or PID 1 does (kernel/panic.c, kernel/exit.c, arch/x86/kernel/
# dumpstack.c, mm/fault.c), each once it is complete. Not its warnings (a soft lockup under a
# loaded host is no death). Not anchored: a kernel line may follow a prompt on the same line.
DEATH = re.compile(r"(?:Kernel panic - not syncing|---\[ end Kernel panic|Attempted to kill init|"
                   r"\bOops: [^\n]*\[#\d+\]|kernel BUG at |"
                   r"BUG: (?:kernel NULL pointer dereference|unable to handle))[^\n]*(?=\n)")


class WaitFailed(AssertionError):
    """A wait on the console failed: the base of the three below."""


class Timeout(WaitFailed):
    """The deadline passed while the VM was still running."""


class VMExited(WaitFailed):
    """The VM ended before the wait was satisfied."""


class GuestDied(WaitFailed):
    """The kernel panicked, oopsed or saw PID 1 die (whatever QEMU's exit status says)."""


def sha256(path):
    """A disk image's hash: the zero-write proofs compare them around a boot."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def death_in(text):
    """The first line of text saying the kernel or PID 1 died, or None."""
    m = DEATH.search(text)
    return m.group(0).strip() if m else None


class Disk:
    """A disk image attached on a bus: virtio (default), ahci, nvme, scsi (virtio-scsi), usb.
    snapshot=True keeps writes out of the image (QEMU keeps them in a temporary overlay).
    A bad disk: opts are more -drive options ("throttling.bps-read=4096": reads crawl, as on a
    dying disk that retries every sector); blkdebug is a QEMU blkdebug config file (see
    blkdebug_config()) that injects errors into the reads of the image."""

    def __init__(self, path, bus="virtio", snapshot=False, fmt="raw", serial=None, opts=None,
                 blkdebug=None):
        self.path, self.bus, self.snapshot, self.fmt, self.serial = path, bus, snapshot, fmt, serial
        self.opts, self.blkdebug = opts, blkdebug


def blkdebug_config(path, sectors=None, errno=5, once=False):
    """Write a QEMU blkdebug config that fails reads with errno (5: EIO): every read when sectors
    is None, else each read touching one of the 512-byte sectors listed. The raw format driver
    raises blkdebug's read_aio event on each read, which arms the rules. Returns path."""
    rules = []
    for sector in (sectors if sectors is not None else [None]):
        rule = ['[inject-error]', 'event = "read_aio"', f'errno = "{errno}"', 'iotype = "read"',
                f'once = "{"on" if once else "off"}"']
        if sector is not None:
            rule.append(f'sector = "{sector}"')
        rules.append("\n".join(rule) + "\n")
    with open(path, "w") as f:
        f.write("\n".join(rules))
    return path


class VM:
    def __init__(self, disks=(), append="", mem=512, name=None, kernel=None, initrd=None,
                 extra=(), machine="pc", boot=True, cmdline_replace=None, smp=1, monitor=False):
        self.disks = list(disks)
        self.name = name or os.environ.get("PYTEST_CURRENT_TEST", "vm").split(" ")[0]
        self.name = re.sub(r"[^A-Za-z0-9_.-]+", "_", self.name)[-120:]
        self.kernel = kernel if kernel is not None else os.path.join(OUT, "bzImage")
        self.initrd = initrd if initrd is not None else os.path.join(OUT, "initrd.img")
        self.append = cmdline_replace if cmdline_replace is not None else (BOOT_ARGS + " " + append).strip()
        self.mem, self.extra, self.machine, self.smp = mem, list(extra), machine, smp
        # monitor=True: a QEMU human monitor on a unix socket, for vm.hmp("sendkey ctrl-alt-delete").
        # (In /tmp: a unix socket path must stay under 108 bytes.)
        self.monitor = f"/tmp/lifeboat-mon-{os.getpid()}-{id(self):x}.sock" if monitor else None
        self.buf = ""
        self.pos = 0          # expect() searches from here; a match moves it past the match
        self.lock = threading.Condition()
        self.proc = None
        self.exited = None
        self.died = None      # the kernel's first death line seen on the console
        self.died_reported = False
        self._scanned = 0     # death_in() has looked at buf up to here
        if boot:
            self.start()

    def argv(self):
        a = ["qemu-system-x86_64", "-machine", self.machine, "-accel", "tcg", "-m", str(self.mem),
             "-smp", str(self.smp), "-nographic", "-no-reboot", "-nodefaults",
             "-serial", "stdio", "-display", "none",
             "-monitor", f"unix:{self.monitor},server=on,wait=off" if self.monitor else "none"]
        if self.kernel:
            a += ["-kernel", self.kernel, "-append", self.append]
        if self.initrd:
            a += ["-initrd", self.initrd]
        controllers = set()
        for i, d in enumerate(self.disks):
            src = f"blkdebug:{d.blkdebug}:{d.path}" if getattr(d, "blkdebug", None) else d.path
            drive = f"file={src},format={d.fmt},if=none,id=d{i}"
            if d.snapshot:
                drive += ",snapshot=on"
            if getattr(d, "opts", None):
                drive += "," + d.opts
            a += ["-drive", drive]
            ser = f",serial={d.serial}" if d.serial else ""
            if d.bus == "virtio":
                a += ["-device", f"virtio-blk-pci,drive=d{i}{ser}"]
            elif d.bus == "ahci":
                if "ahci" not in controllers:
                    a += ["-device", "ahci,id=ahci0"]
                    controllers.add("ahci")
                a += ["-device", f"ide-hd,drive=d{i},bus=ahci0.{len([x for x in self.disks[:i] if x.bus == 'ahci'])}{ser}"]
            elif d.bus == "nvme":
                a += ["-device", f"nvme,drive=d{i},serial={d.serial or 'lb%d' % i}"]
            elif d.bus == "scsi":
                if "scsi" not in controllers:
                    a += ["-device", "virtio-scsi-pci,id=scsi0"]
                    controllers.add("scsi")
                a += ["-device", f"scsi-hd,drive=d{i},bus=scsi0.0,id=dev{i}{ser}"]
            elif d.bus == "usb":
                if "usb" not in controllers:
                    a += ["-device", "qemu-xhci,id=xhci0"]
                    controllers.add("usb")
                a += ["-device", f"usb-storage,drive=d{i},bus=xhci0.0{ser}"]
            else:
                raise ValueError(f"unknown bus {d.bus}")
        return a + self.extra

    def start(self):
        os.makedirs(LOGDIR, exist_ok=True)
        if self.monitor and os.path.exists(self.monitor):
            os.unlink(self.monitor)
        self.logpath = os.path.join(LOGDIR, self.name + ".log")
        self.log = open(self.logpath, "w", encoding="latin-1")
        self.log.write("# " + " ".join(shlex.quote(x) for x in self.argv()) + "\n")
        self.log.flush()
        self.started = time.monotonic()
        self.proc = subprocess.Popen(self.argv(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, bufsize=0)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        while True:
            data = self.proc.stdout.read1(65536) if hasattr(self.proc.stdout, "read1") else self.proc.stdout.read(1)
            if not data:
                break
            text = data.decode("latin-1")
            self.log.write(text)
            self.log.flush()
            with self.lock:
                self._got(text)
                self.lock.notify_all()
        rc = self.proc.wait()
        with self.lock:
            self.exited = rc
            self.lock.notify_all()

    def _got(self, text):
        # With the lock held: text read from the console joins the buffer and is looked at for
        # a death line, from the start of the last line seen before (it may have been cut).
        self.buf += text.replace("\r", "")
        if self.died is None:
            start = max(self.buf.rfind("\n", 0, self._scanned) + 1, self._scanned - 4096)
            self.died = death_in(ANSI.sub("", self.buf[start:]))
            self._scanned = len(self.buf)

    # --- reading -------------------------------------------------------------------------
    def text(self):
        """Everything the console printed so far, without carriage returns or ANSI codes."""
        with self.lock:
            return ANSI.sub("", self.buf)

    def alive(self):
        with self.lock:
            return self.exited is None

    def _check_death(self, what):
        # With the lock held. A death fails the wait at once, even one before a match.
        if self.died is not None:
            self.died_reported = True
            raise GuestDied(f"the guest died ({self.died!r}) {what}; console tail:\n{self.tail()}\n"
                            f"log: {self.logpath}")

    def expect(self, pattern, timeout=60, regex=None):
        """Wait until pattern (a regex; a plain string when regex=False) appears after the last
        match. Returns the match. Fails with the console's tail on timeout (Timeout), VM exit
        (VMExited) or a kernel panic, oops or PID 1's death (GuestDied)."""
        rx = re.compile(re.escape(pattern) if regex is False else pattern)
        deadline = time.monotonic() + timeout * SLOW
        with self.lock:
            while True:
                self._check_death(f"while waiting for {pattern!r}")
                clean = ANSI.sub("", self.buf[self.pos:])
                m = rx.search(clean)
                if m:
                    # Move past the match in the raw buffer: find the same text there.
                    raw = self.buf[self.pos:]
                    idx = self._raw_index(raw, clean, m.end())
                    self.pos += idx
                    return m
                if self.exited is not None:
                    raise VMExited(f"VM exited (status {self.exited}) before {pattern!r} appeared; "
                                   f"console tail:\n{self.tail()}\nlog: {self.logpath}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Timeout(f"{pattern!r} did not appear within {timeout * SLOW:.0f}s; "
                                  f"console tail:\n{self.tail()}\nlog: {self.logpath}")
                self.lock.wait(min(left, 1.0))

    @staticmethod
    def _raw_index(raw, clean, clean_end):
        # Map an offset in the ANSI-stripped text back to the raw buffer.
        if raw == clean:
            return clean_end
        ci = ri = 0
        while ci < clean_end and ri < len(raw):
            m = ANSI.match(raw, ri)
            if m:
                ri = m.end()
                continue
            ri += 1
            ci += 1
        return ri

    def expect_not(self, pattern, within=5, instead=None):
        """The twin of expect(): pattern (a regex) must not appear after the last match.
        Without instead, for `within` seconds, during which the VM must stay up: a VM that has
        ended prints nothing, which proves nothing (VMExited). With instead (the positive line,
        a regex), that line must appear within `within` seconds, and pattern not before it: the
        wrong text was looked for where the right one came; the VM may end after it. Moves
        nothing, so the positive expect() can follow. Returns instead's match, or None."""
        rx = re.compile(pattern)
        irx = re.compile(instead) if instead is not None else None
        deadline = time.monotonic() + within * SLOW
        with self.lock:
            while True:
                self._check_death(f"during the negative wait for {pattern!r}")
                clean = ANSI.sub("", self.buf[self.pos:])
                mi = irx.search(clean) if irx else None
                if rx.search(clean[:mi.end()] if mi else clean):
                    raise AssertionError(f"{pattern!r} appeared but must not; console tail:\n"
                                         f"{self.tail()}\nlog: {self.logpath}")
                if mi:
                    return mi
                if self.exited is not None:
                    raise VMExited(f"VM exited (status {self.exited}) during the negative wait for "
                                   f"{pattern!r}" + (f" (and {instead!r} never came)" if irx else
                                                     ": its absence proves nothing") +
                                   f"; console tail:\n{self.tail()}\nlog: {self.logpath}")
                left = deadline - time.monotonic()
                if left <= 0:
                    if irx:
                        raise Timeout(f"{instead!r} did not appear within {within * SLOW:.0f}s, so "
                                      f"the absence of {pattern!r} proves nothing; console tail:\n"
                                      f"{self.tail()}\nlog: {self.logpath}")
                    return None
                self.lock.wait(min(left, 1.0))

    def tail(self, n=40):
        return "\n".join(self.text().splitlines()[-n:])

    # --- writing -------------------------------------------------------------------------
    def send(self, s):
        if isinstance(s, str):
            s = s.encode()
        self.proc.stdin.write(s)
        self.proc.stdin.flush()

    def sendline(self, s=""):
        """Type s and Enter, as a person does on a serial console (CR)."""
        # Slow typing: a serial line without flow control drops bytes a busy guest cannot take.
        for i in range(0, len(s), 16):
            self.send(s[i:i + 16])
            time.sleep(0.02)
        self.send("\r")

    def shell(self, cmd, marker=None, timeout=60):
        """Run cmd in a shell already at its prompt and return its output (between markers)."""
        tag = marker or "LBDONE%d" % int(time.monotonic() * 1000)
        self.sendline(f"{cmd}; echo {tag[:3]}''{tag[3:]} $?")
        # Up to the line end: the status can arrive in two pieces ("1", then "25").
        m = self.expect(re.escape(tag) + r" (\d+)\r?\n", timeout=timeout)
        return m

    def hmp(self, command, timeout=10):
        """Run one QEMU monitor command (VM(monitor=True)) and return its output."""
        import socket
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout * SLOW)
            sock.connect(self.monitor)
            out = b""
            while not out.endswith(b"(qemu) "):
                chunk = sock.recv(4096)
                if not chunk:
                    break
                out += chunk
            sock.sendall(command.encode() + b"\n")
            out = b""
            try:
                while not out.endswith(b"(qemu) "):
                    chunk = sock.recv(4096)
                    if not chunk:
                        break
                    out += chunk
            except (socket.timeout, ConnectionResetError):
                pass  # commands that end the VM close the socket
            return ANSI.sub("", out.decode("latin-1"))

    def hot_add(self, path, name, snapshot=True):
        """Plug a raw image in as a new virtio-scsi disk (VM(monitor=True), a scsi Disk at boot
        for the controller); name is its QEMU id, for hot_remove(). Returns the monitor's output."""
        out = self.hmp(f"drive_add 0 file={path},format=raw,if=none,id=drv-{name}" +
                       (",snapshot=on" if snapshot else ""))
        return out + self.hmp(f"device_add scsi-hd,drive=drv-{name},bus=scsi0.0,id={name}")

    def hot_remove(self, name):
        """Unplug a device by its QEMU id: dev<N> for the N-th boot disk on scsi, or hot_add's name."""
        return self.hmp(f"device_del {name}")

    # --- ending --------------------------------------------------------------------------
    def wait_exit(self, timeout=60):
        """Wait for QEMU to end; returns its exit status. A panic or PID 1's death on the way
        raises GuestDied: under -no-reboot QEMU exits with 0 after those too."""
        deadline = time.monotonic() + timeout * SLOW
        with self.lock:
            while self.exited is None:
                self._check_death("before the VM ended")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Timeout(f"VM did not exit within {timeout * SLOW:.0f}s; console tail:\n{self.tail()}")
                self.lock.wait(min(left, 1.0))
        # The reader has read everything by now: the last lines are in.
        self.reader.join(timeout=5)
        with self.lock:
            self._check_death(f"(QEMU exit status {self.exited})")
            return self.exited

    def close(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc:
            self.reader.join(timeout=5)
            self.log.close()
        if self.monitor and os.path.exists(self.monitor):
            os.unlink(self.monitor)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        self.close()
        # Every boot is checked for a death at its end, also one no wait saw (after the last
        # expect, in a test that does not wait for the exit). A failure already on its way is
        # not replaced: its message names the death.
        if exc_type is None and self.proc:
            with self.lock:
                if not self.died_reported:
                    self._check_death("during the test")


# --- UEFI boots -------------------------------------------------------------------------------
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS.fd"


def ovmf_args(vars_path):
    """QEMU arguments for Debian's OVMF firmware. vars_path is a private copy of OVMF_VARS.fd
    (made here when missing), since the firmware writes its variables there."""
    if not os.path.exists(vars_path):
        os.makedirs(os.path.dirname(vars_path) or ".", exist_ok=True)
        with open(OVMF_VARS, "rb") as src, open(vars_path, "wb") as dst:
            dst.write(src.read())
    return ["-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}",
            "-drive", f"if=pflash,format=raw,unit=1,file={vars_path}"]


def esp_image(path, files, size_mb=None):
    """Make a FAT disk image standing for an ESP, without root: files maps a path inside the
    image ("EFI/BOOT/BOOTX64.EFI") to a host file. The image is a bare filesystem (no partition
    table), which OVMF accepts as a removable medium. Returns path."""
    need = sum(os.path.getsize(src) for src in files.values()) // (1 << 20)
    size_mb = size_mb or need + 8
    tmp = path + ".tmp"
    if os.path.exists(tmp):
        os.unlink(tmp)
    subprocess.run(["mkfs.vfat", "-C", "-n", "LBESP", tmp, str(size_mb * 1024)], check=True,
                   stdout=subprocess.DEVNULL)
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    made = set()
    for dst in sorted(files):
        parts = dst.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d not in made:
                subprocess.run(["mmd", "-i", tmp, "::" + d], check=True, env=env)
                made.add(d)
        subprocess.run(["mcopy", "-i", tmp, files[dst], "::" + dst], check=True, env=env)
    os.replace(tmp, path)
    return path
