"""Remote rescue over QEMU user networking (a virtio-net NIC, the guest's port 22 forwarded to a
loopback port only), driven with Debian's OpenSSH client and a key pair made by the test: a key
from the command line, the image's built-in key file (what make AUTHORIZED_KEYS= installs), and
kexec-boot's host data (addresses, routes and host key for the NIC with the same MAC); passwords
and unknown keys refused; ip= static; no key: nothing listens; lifeboat.net=off: nothing is up."""
import os
import re
import select
import socket
import subprocess
import time

import pytest

from extra_initrd import initrd_with
from test_discover import run
from vm import BUILD, OUT, VM, Timeout

QEMU_MAC = "52:54:00:12:34:56"  # QEMU's default for the first NIC


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def keypair(name):
    d = os.path.join(BUILD, "vmtest", "ssh")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, name)
    if not os.path.exists(path):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", path], check=True)
    return path, open(path + ".pub").read().strip()


def cmdline_key(pub):
    t, b64 = pub.split()[:2]
    return "lifeboat.authorized_key=%s:%s" % (t, b64)


def net(port, guest=""):
    return ["-netdev", "user,id=n0,hostfwd=tcp:127.0.0.1:%d-%s:22" % (port, guest),
            "-device", "virtio-net-pci,netdev=n0"]


def ssh_argv(port, key, known_hosts=None, *opts):
    kh = ["-o", "UserKnownHostsFile=%s" % known_hosts, "-o", "StrictHostKeyChecking=yes"] if known_hosts else \
        ["-o", "UserKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=no"]
    ident = ["-i", key, "-o", "IdentitiesOnly=yes"] if key else []
    return ["ssh", "-p", str(port), "-o", "BatchMode=yes", "-o", "ConnectTimeout=60",
            "-o", "LogLevel=ERROR"] + kh + ident + list(opts) + ["root@127.0.0.1"]


def ssh(port, key, command, known_hosts=None, *opts):
    return subprocess.run(ssh_argv(port, key, known_hosts, *opts) + [command], capture_output=True,
                          text=True, timeout=180, stdin=subprocess.DEVNULL)


def wait_ssh_ready(vm):
    """The server runs once the header says how to connect and the lease is on the NIC."""
    vm.expect(r"SSH: ssh root@10\.0\.2\.\d+", timeout=240)


class Pty:
    """An interactive `ssh -tt` login read like the serial console: wait for text, type keys."""

    def __init__(self, argv):
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, bufsize=0)
        self.buf = ""

    def expect(self, pattern, timeout=120):
        end = time.monotonic() + timeout
        while True:
            m = re.search(pattern, self.buf)
            if m:
                self.buf = self.buf[m.end():]
                return m
            left = end - time.monotonic()
            if left <= 0:
                raise Timeout("ssh login: %r not seen; got %r" % (pattern, self.buf[-2000:]))
            r, _, _ = select.select([self.p.stdout], [], [], min(left, 1))
            if r:
                data = os.read(self.p.stdout.fileno(), 65536)
                if not data:
                    raise Timeout("ssh login ended before %r; got %r" % (pattern, self.buf[-2000:]))
                self.buf += data.decode("latin-1").replace("\r", "")

    def sendline(self, s):
        self.p.stdin.write(s.encode() + b"\r")

    def close(self):
        self.p.kill()
        self.p.wait()


def in_console_shell(vm, cmd):
    """From the console menu into its shell, run cmd there; what it printed."""
    vm.expect("Choose")
    vm.sendline("s")
    vm.expect("lifeboat:/# ")
    return run(vm, cmd)


def listening_ports(text):
    """Ports in state LISTEN (0A) in /proc/net/tcp and tcp6 text."""
    ports = set()
    for line in text.splitlines():
        f = line.split()
        if len(f) > 3 and f[3] == "0A" and ":" in f[1]:
            ports.add(int(f[1].rsplit(":", 1)[1], 16))
    return ports


def test_key_on_cmdline_command_menu_refusals_fingerprint(tmp_path):
    key, pub = keypair("lb-test")
    other, _ = keypair("lb-never-authorized")
    port = free_port()
    with VM(append=cmdline_key(pub), extra=net(port)) as vm:
        fp = vm.expect(r"lifeboat: SSH host key ED25519 (SHA256:[A-Za-z0-9+/]{43})", timeout=240).group(1)
        wait_ssh_ready(vm)
        # A command runs in the rescue shell, and only port 22 listens.
        r = ssh(port, key, "echo remote-$((6*7)); cat /proc/net/tcp /proc/net/tcp6; lifeboat scan --json")
        assert r.returncode == 0, r.stderr
        assert "remote-42" in r.stdout
        assert listening_ports(r.stdout) == {22}
        assert '"systems": [' in r.stdout  # the scan's JSON report
        # The fingerprint on the console is the one the client sees.
        scan = subprocess.run(["ssh-keyscan", "-t", "ed25519", "-p", str(port), "127.0.0.1"],
                              capture_output=True, text=True, timeout=120)
        kh = tmp_path / "known_hosts"
        kh.write_text(scan.stdout)
        lf = subprocess.run(["ssh-keygen", "-l", "-f", str(kh)], capture_output=True, text=True)
        assert fp in lf.stdout, (fp, lf.stdout)
        r = ssh(port, key, "true", str(kh))
        assert r.returncode == 0, r.stderr
        # Copying a file in with scp's classic protocol.
        src = tmp_path / "payload.txt"
        src.write_text("copied-in-by-scp\n")
        r = subprocess.run(["scp", "-O", "-P", str(port), "-i", key, "-o", "IdentitiesOnly=yes",
                            "-o", "BatchMode=yes", "-o", "UserKnownHostsFile=%s" % kh,
                            str(src), "root@127.0.0.1:/tmp/payload.txt"],
                           capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
        assert r.returncode == 0, r.stderr
        assert ssh(port, key, "cat /tmp/payload.txt", str(kh)).stdout == "copied-in-by-scp\n"
        # Today's scp (SFTP underneath) both ways, and sftp itself: the sftp subsystem.
        back = tmp_path / "back.txt"
        opts = ["-P", str(port), "-i", key, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
                "-o", "UserKnownHostsFile=%s" % kh]
        src.write_text("copied-in-by-sftp\n")
        r = subprocess.run(["scp", "-s"] + opts + [str(src), "root@127.0.0.1:/tmp/sftp.txt"],
                           capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
        assert r.returncode == 0, r.stderr
        r = subprocess.run(["scp", "-s"] + opts + ["root@127.0.0.1:/tmp/sftp.txt", str(back)],
                           capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
        assert r.returncode == 0 and back.read_text() == "copied-in-by-sftp\n", r.stderr
        batch = tmp_path / "batch"
        batch.write_text("cd /tmp\nls -1 sftp.txt\nrm sftp.txt\n")
        r = subprocess.run(["sftp", "-b", str(batch)] + opts + ["root@127.0.0.1"],
                           capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
        assert r.returncode == 0 and "sftp.txt" in r.stdout, r.stdout + r.stderr
        assert "gone" in ssh(port, key, "test -e /tmp/sftp.txt || echo gone", str(kh)).stdout
        # Passwords are refused outright, and so is a key that was never authorized.
        r = ssh(port, None, "true", None, "-o", "PreferredAuthentications=password",
                "-o", "PubkeyAuthentication=no", "-o", "NumberOfPasswordPrompts=1")
        assert r.returncode != 0 and "Permission denied" in r.stderr, r.stderr
        r = ssh(port, other, "echo should-not-run")
        assert r.returncode != 0 and "should-not-run" not in r.stdout
        assert "Permission denied" in r.stderr
        # An interactive login lands in the menu, whose shell runs a command; exit comes back.
        t = Pty(ssh_argv(port, key) + ["-tt"])
        try:
            t.expect(r"Network: eth0 10\.0\.2\.15/24")
            t.expect(r"s\)\s+.*shell")
            t.expect(r"Choose")
            t.sendline("s")
            t.expect(r"lifeboat:~# ")
            t.sendline("echo in-menu-shell-$((7*6))")
            t.expect(r"in-menu-shell-42")
            t.sendline("exit")
            t.expect(r"Choose")
            with pytest.raises(Timeout):  # the twin: the menu shows no line that is not there
                t.expect(r"z\)\s+nonexistent", timeout=3)
        finally:
            t.close()


def test_nic_plugged_in_after_the_menu():
    """A NIC that appears after the menu (a USB adapter plugged in, a driver that loads late) is
    taken up when the kernel announces it, not at the next periodic look, and a login works."""
    key, pub = keypair("lb-test")
    port = free_port()
    with VM(append=cmdline_key(pub), monitor=True) as vm:
        vm.expect(r"Network: no wired interface found", timeout=240)
        vm.expect("Choose")
        out = vm.hmp("netdev_add user,id=n1,hostfwd=tcp:127.0.0.1:%d-:22" % port)
        out += vm.hmp("device_add virtio-net-pci,netdev=n1,id=nic1")
        assert "rror" not in out, out
        # The header follows the address (the menu looks again each second).
        wait_ssh_ready(vm)
        r = ssh(port, key, "grep 'remote: interface' /run/lifeboat/log")
        assert r.returncode == 0, r.stderr
        assert re.search(r"remote: interface eth0 announced by the kernel", r.stdout), r.stdout
        assert "found by the periodic look" not in r.stdout and "found on a wake" not in r.stdout, r.stdout


def test_host_data_from_kexec_boot_static_address_and_host_key(tmp_path):
    """What kexec-boot leaves in /etc/lifeboat/host/ for a cloud host with a /32 address and an
    on-link gateway: lifeboat puts them on the NIC with the same MAC and answers with the
    host's own host key and authorized keys."""
    key, pub = keypair("lb-host-user")
    hk = tmp_path / "ssh_host_ed25519_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "host", "-f", str(hk)], check=True)
    kh = tmp_path / "known_hosts"
    host = {
        "/etc/lifeboat/host": None,
        "/etc/lifeboat/host/authorized_keys": pub + "\n",
        "/etc/lifeboat/host/ssh_host_ed25519_key": hk.read_text(),
        "/etc/lifeboat/host/links":
            "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN\\    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n"
            "2: ens3: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UP\\    link/ether %s brd ff:ff:ff:ff:ff:ff\n" % QEMU_MAC,
        "/etc/lifeboat/host/addresses":
            "2: ens3    inet 10.0.2.77/32 scope global ens3\\       valid_lft forever preferred_lft forever\n",
        "/etc/lifeboat/host/routes":
            "default via 10.0.2.2 dev ens3 proto static\n10.0.2.2 dev ens3 proto static scope link\n",
    }
    port = free_port()
    kh.write_text("[127.0.0.1]:%d %s\n" % (port, " ".join(open(str(hk) + ".pub").read().split()[:2])))
    with VM(initrd=initrd_with(host), extra=net(port, "10.0.2.77")) as vm:
        vm.expect(r"SSH host key ED25519 SHA256:", timeout=240)
        vm.expect(r"Network: eth0 10\.0\.2\.77/32", timeout=240)
        # Strict host key checking against the host's own key: the fingerprint users trust.
        r = ssh(port, key, "ip -4 route; ip -4 addr show eth0; pidof udhcpc || echo no-dhcp", str(kh))
        assert r.returncode == 0, r.stderr
        assert "default via 10.0.2.2 dev eth0" in r.stdout
        assert "10.0.2.77/32" in r.stdout
        assert "no-dhcp" in r.stdout  # a static host gets no DHCP client


def test_builtin_key_and_static_ip():
    """/etc/lifeboat/authorized_keys is where make AUTHORIZED_KEYS=FILE puts the file; ip= in
    the kernel's syntax gives the address (the forward reaches only 10.0.2.50)."""
    key, pub = keypair("lb-builtin")
    port = free_port()
    with VM(initrd=initrd_with({"/etc/lifeboat/authorized_keys": pub + "\n"}),
            append="ip=10.0.2.50::10.0.2.2:255.255.255.0:rescue:eth0:off", extra=net(port, "10.0.2.50")) as vm:
        vm.expect(r"Network: eth0 10\.0\.2\.50/24", timeout=240)
        vm.expect(r"SSH: ssh root@10\.0\.2\.50")
        r = ssh(port, key, "ip -4 route; pidof udhcpc || echo no-dhcp")
        assert r.returncode == 0, r.stderr
        assert "default via 10.0.2.2 dev eth0" in r.stdout
        assert "no-dhcp" in r.stdout


def test_no_key_nothing_listens():
    key, _ = keypair("lb-test")
    port = free_port()
    with VM(extra=net(port)) as vm:
        vm.expect(r"Network: eth0 10\.0\.2\.15/24", timeout=240)
        vm.expect(r"SSH: off, no authorized key")
        out = in_console_shell(vm, "cat /proc/net/tcp /proc/net/tcp6 | awk '$4 == \"0A\"' | wc -l; "
                               "pidof dropbearmulti || echo no-sshd")
        # Kernel messages (a link coming up) may land between the two answers on the console.
        answers = re.sub(r"(?m)^\[\s*\d+\.\d+\].*\n?", "", out)
        assert re.match(r"0\s*\nno-sshd", answers), out
        r = ssh(port, key, "echo should-not-run")
        assert r.returncode != 0 and "should-not-run" not in r.stdout


def test_net_off_brings_nothing_up():
    key, pub = keypair("lb-test")
    with VM(append="lifeboat.net=off " + cmdline_key(pub), extra=net(free_port())) as vm:
        vm.expect(r"Network: off \(lifeboat\.net=off\)", timeout=240)
        out = in_console_shell(vm, "ip -4 addr show eth0 | grep -c inet; ip link show eth0 | grep -c ',UP'; "
                               "pidof udhcpc dropbearmulti || echo none-running")
        assert re.match(r"0\s*\n0\s*\nnone-running", out), out


KEYS_TOOL = os.path.join(OUT, "lifeboat-keys")


def keys_tool(*args):
    return subprocess.run(["sh", KEYS_TOOL] + list(args), capture_output=True, text=True, timeout=60)


def newc_names(data):
    """The names and modes in a newc archive, read the way the kernel reads it."""
    out, pos = [], 0
    while data[pos:pos + 6] == b"070701":
        f = [int(data[pos + 6 + 8 * i:pos + 14 + 8 * i], 16) for i in range(13)]
        mode, size, namesize = f[1], f[6], f[11]
        name = data[pos + 110:pos + 110 + namesize - 1].decode()
        pos += 110 + namesize
        pos += -pos % 4
        pos += size + (-size % 4)
        if name == "TRAILER!!!":
            return out
        out.append((name, mode))
    raise AssertionError("no trailer at %d" % pos)


def test_keys_initrd_refuses_bad_input(tmp_path):
    """lifeboat-keys refuses what would publish a secret or lock the user out, and the same keys
    give the same bytes."""
    key, pub = keypair("lb-keys-user")
    (tmp_path / "pub").write_text("# my laptop\n\n" + pub + "\n")
    (tmp_path / "noise").write_text(pub + "\nthis is not a key\n")
    (tmp_path / "empty").write_text("# nothing but a comment\n")
    (tmp_path / "nohost").mkdir()
    out = str(tmp_path / "k.img")
    for args, why in ((["-a", key], "holds a private key"),
                      (["-a", str(tmp_path / "noise")], "line 2 is not an SSH public key"),
                      (["-a", str(tmp_path / "empty")], "no public key"),
                      (["-a", str(tmp_path / "missing")], "not a readable file"),
                      (["-k", str(tmp_path / "nohost")], "holds no ssh_host_"),
                      (["-k", str(tmp_path / "pub")], "not a folder"),
                      ([], "nothing to add")):
        r = keys_tool(*(args + ["-o", out]))
        assert r.returncode != 0 and why in r.stderr, (args, r.stderr)
        assert not os.path.exists(out), args
    # A host key under a passphrase cannot be used at boot: refused.
    (tmp_path / "locked").mkdir()
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "secret", "-f",
                    str(tmp_path / "locked" / "ssh_host_ed25519_key")], check=True)
    r = keys_tool("-k", str(tmp_path / "locked"), "-o", out)
    assert r.returncode != 0 and "without a passphrase" in r.stderr, r.stderr
    # Good input: comments dropped, the archive holds what lifeboat reads, twice the same bytes.
    r = keys_tool("-a", str(tmp_path / "pub"), "-o", out)
    assert r.returncode == 0, r.stderr
    first = open(out, "rb").read()
    os.utime(str(tmp_path / "pub"), (1, 1))
    r = keys_tool("-a", str(tmp_path / "pub"), "-o", out)
    assert open(out, "rb").read() == first
    assert len(first) % 512 == 0
    names = dict(newc_names(first))
    assert names["etc/lifeboat/added/authorized_keys"] == 0o100600
    assert names["etc/lifeboat/added"] == 0o40700
    assert b"# my laptop" not in first and pub.split()[1].encode() in first


def test_keys_initrd_from_the_boot_loader(tmp_path):
    """An image built without keys, booted with lifeboat-keys' initrd after its own (as a boot
    entry's second initrd line gives it): the key logs in and the host answers with the host
    key given, checked strictly against the fingerprint the user pinned."""
    key, pub = keypair("lb-keys-added")
    (tmp_path / "pub").write_text(pub + "\n")
    hk = tmp_path / "etc-ssh"
    hk.mkdir()
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "pinned", "-f",
                    str(hk / "ssh_host_ed25519_key")], check=True)
    keys = tmp_path / "keys.img"
    r = keys_tool("-a", str(tmp_path / "pub"), "-k", str(hk), "-o", str(keys))
    assert r.returncode == 0, r.stderr
    base = open(os.path.join(OUT, "initrd.img"), "rb").read()
    initrd = tmp_path / "initrd+keys.img"
    initrd.write_bytes(base + b"\0" * (-len(base) % 4) + keys.read_bytes())
    port = free_port()
    kh = tmp_path / "known_hosts"
    kh.write_text("[127.0.0.1]:%d %s\n" % (port, " ".join((hk / "ssh_host_ed25519_key.pub").read_text().split()[:2])))
    pinned = subprocess.run(["ssh-keygen", "-l", "-f", str(hk / "ssh_host_ed25519_key.pub")],
                            capture_output=True, text=True, check=True).stdout.split()[1]
    with VM(initrd=str(initrd), extra=net(port)) as vm:
        fp = vm.expect(r"SSH host key ED25519 (SHA256:[A-Za-z0-9+/]{43})", timeout=240).group(1)
        assert fp == pinned
        wait_ssh_ready(vm)
        r = ssh(port, key, "cat /root/.ssh/authorized_keys; ls /etc/lifeboat/added", str(kh))
        assert r.returncode == 0, r.stderr
        assert pub.split()[1] in r.stdout and "ssh_host_ed25519_key" in r.stdout
