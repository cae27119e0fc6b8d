"""Remote rescue through kexec-boot, the whole path: a running host VM (lifeboat itself, booted
with lifeboat.net=off, so nothing of lifeboat's own networking is involved) whose network is set
by hand in its shell as a cloud server's would be, with an OpenSSH host key in /etc/ssh/ and
root's authorized_keys, runs out/kexec-boot; after the jump lifeboat answers on the same address
with the same host key and lets the same key in. QEMU's forward reaches only that address."""
import json
import os
import re
import shutil
import subprocess

from test_kexec import run, shell
from test_remote import free_port, keypair, listening_ports, net, ssh
from vm import BUILD, OUT, VM, Disk

STATIC = "10.0.2.77"   # not what QEMU's DHCP hands out (10.0.2.15)
GATEWAY = "10.0.2.2"


def carry_disk(tmp_path, pub):
    """A small ext4 disk with what the user copies to the host (out/'s kexec-boot, bzImage,
    initrd.img, kexec) and what a real host already has: an OpenSSH host key made here with
    ssh-keygen, and root's authorized_keys."""
    tree = tmp_path / "carry"
    tree.mkdir()
    for f in ("bzImage", "initrd.img", "kexec", "kexec-boot"):
        shutil.copy2(os.path.join(OUT, f), tree / f)
    (tree / "etc-ssh").mkdir()
    hk = tree / "etc-ssh" / "ssh_host_ed25519_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "root@cloudhost", "-f", str(hk)],
                   check=True)
    (tree / "authorized_keys").write_text("# the admin\n" + pub + "\n")
    img = str(tmp_path / "carry.img")
    subprocess.run(["mkfs.ext4", "-q", "-L", "carry", "-d", str(tree), img, "64M"], check=True)
    return img, hk


def host_shell_setup():
    """What a cloud host has: its own keys in place, a static address and a default route set
    with ip by hand (no DHCP client), a resolv.conf, a host name."""
    return ("mount -t ext4 -o ro /dev/vda /mnt && mkdir -p /etc/ssh /root/.ssh && "
            "cp /mnt/etc-ssh/ssh_host_ed25519_key /mnt/etc-ssh/ssh_host_ed25519_key.pub /etc/ssh/ && "
            "chmod 600 /etc/ssh/ssh_host_ed25519_key && cp /mnt/authorized_keys /root/.ssh/ && "
            "echo 'nameserver 10.0.2.3' > /etc/resolv.conf && hostname cloudhost && "
            f"ip link set eth0 up && ip addr add {STATIC}/24 dev eth0 && "
            f"ip route add default via {GATEWAY} dev eth0 && "
            "ip -4 -o addr show eth0; ip -4 route; pidof udhcpc || echo no-dhcp; "
            "echo boot-$(cat /proc/sys/kernel/random/boot_id)")


def test_kexec_boot_static_host_same_address_same_host_key(tmp_path):
    key, pub = keypair("lb-kexec-admin")
    other, _ = keypair("lb-never-authorized")
    carry, hk = carry_disk(tmp_path, pub)
    port = free_port()
    kh = tmp_path / "known_hosts"   # the generated host key and nothing else
    kh.write_text("[127.0.0.1]:%d %s\n" % (port, " ".join(open(str(hk) + ".pub").read().split()[:2])))
    want_fp = subprocess.run(["ssh-keygen", "-lf", str(hk) + ".pub"], capture_output=True, text=True,
                             check=True).stdout.split()[1]
    sample = json.load(open(os.path.join(BUILD, "fixtures", "inroot.expect.json")))["systems"][0]
    disks = [Disk(carry, snapshot=True), Disk(os.path.join(BUILD, "fixtures", "inroot.img"), snapshot=True)]
    with VM(disks=disks, mem=768, append="lifeboat.net=off", extra=net(port, STATIC)) as vm:
        shell(vm)
        rc, out = run(vm, host_shell_setup())
        assert rc == 0, out
        assert f"inet {STATIC}/24" in out and f"default via {GATEWAY} dev eth0" in out, out
        assert "no-dhcp" in out, out
        first_boot = re.search(r"boot-(\S+)", out).group(1)
        # The twin of "lifeboat answers afterwards": before the jump nothing serves the forward.
        r = ssh(port, key, "echo should-not-run", str(kh))
        assert r.returncode != 0 and "should-not-run" not in r.stdout
        vm.sendline("/mnt/kexec-boot --delay 1 -- panic=1 oops=panic")
        m = vm.expect(r"kexec-boot: host data for lifeboat: (.*)\n", timeout=60)
        assert m.group(1).split() == ["addresses", "authorized_keys", "hostname", "links", "resolv.conf",
                                      "routes", "ssh_host_ed25519_key"], m.group(1)
        vm.expect("kexec-boot: in 1 seconds this system stops", timeout=60)
        vm.expect(r"lifeboat \S+ starting", timeout=120)
        # The console shows the host's own key, as ssh-keygen -l prints it, then the menu with
        # the host's address and how to connect.
        fp = vm.expect(r"lifeboat: SSH host key ED25519 (SHA256:[A-Za-z0-9+/]{43})", timeout=240).group(1)
        assert fp == want_fp
        vm.expect(rf"Network: eth0 {re.escape(STATIC)}/24", timeout=240)
        vm.expect(rf"SSH: ssh root@{re.escape(STATIC)}\b", timeout=60)
        vm.expect(r"Choose", timeout=60)

        # Debian's client, strict host key checking against the host's key only, the host's
        # authorized key: a new kernel, the same address and gateway, no DHCP, only port 22.
        r = ssh(port, key, "echo boot-$(cat /proc/sys/kernel/random/boot_id); ip -4 addr; ip -4 route; "
                           "pidof udhcpc || echo no-dhcp; cat /etc/resolv.conf; "
                           "cat /proc/net/tcp /proc/net/tcp6; "
                           "grep 'net: ip .* failed' /run/lifeboat/log || echo no-failed-ip", str(kh))
        assert r.returncode == 0, r.stderr
        assert re.search(r"boot-(\S+)", r.stdout).group(1) != first_boot, r.stdout
        assert re.search(rf"inet {re.escape(STATIC)}/24 .*eth0", r.stdout), r.stdout
        assert "inet 10.0.2.15/" not in r.stdout, r.stdout
        assert re.search(rf"(?m)^default via {re.escape(GATEWAY)} dev eth0", r.stdout), r.stdout
        assert "no-dhcp" in r.stdout, r.stdout
        assert "nameserver 10.0.2.3" in r.stdout, r.stdout
        assert listening_ports(r.stdout) == {22}, r.stdout
        # Every route carried was one to add: none the kernel makes itself (the address's
        # prefix route; busybox ip on the host prints no "proto kernel") or learns again.
        assert "no-failed-ip" in r.stdout, r.stdout
        # The scan over SSH finds the sample disk's NixOS.
        r = ssh(port, key, "lifeboat scan --json", str(kh))
        assert r.returncode == 0, r.stderr
        report = json.loads(r.stdout)
        assert [s["host"] for s in report["systems"]] == [sample["host"]], r.stdout
        # A key the host never authorized is refused.
        r = ssh(port, other, "echo should-not-run", str(kh))
        assert r.returncode != 0 and "should-not-run" not in r.stdout
        assert "Permission denied" in r.stderr, r.stderr


def test_kexec_boot_dhcp_and_static_interfaces(tmp_path):
    """A host with two NICs: eth0 by DHCP (busybox udhcpc run by hand, its lease "dynamic"),
    eth1 static 10.0.3.77/24 on a second QEMU network. After the jump lifeboat runs DHCP on the
    NIC with eth0's MAC only, puts 10.0.3.77 back on the other, and answers on both forwards."""
    key, pub = keypair("lb-kexec-admin")
    carry, hk = carry_disk(tmp_path, pub)
    dport, sport = free_port(), free_port()
    kh = tmp_path / "known_hosts"
    line = " ".join(open(str(hk) + ".pub").read().split()[:2])
    kh.write_text("[127.0.0.1]:%d %s\n[127.0.0.1]:%d %s\n" % (dport, line, sport, line))
    extra = ["-netdev", "user,id=n0,hostfwd=tcp:127.0.0.1:%d-10.0.2.15:22" % dport,
             "-device", "virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56",
             "-netdev", "user,id=n1,net=10.0.3.0/24,hostfwd=tcp:127.0.0.1:%d-10.0.3.77:22" % sport,
             "-device", "virtio-net-pci,netdev=n1,mac=52:54:00:12:34:57"]
    with VM(disks=[Disk(carry, snapshot=True)], mem=768, append="lifeboat.net=off", extra=extra) as vm:
        shell(vm)
        rc, out = run(vm, "mount -t ext4 -o ro /dev/vda /mnt && mkdir -p /etc/ssh /root/.ssh && "
                          "cp /mnt/etc-ssh/ssh_host_ed25519_key /etc/ssh/ && cp /mnt/authorized_keys /root/.ssh/ && "
                          "udhcpc -q -n -t 20 -i eth0 -s /etc/lifeboat/udhcpc.script >/dev/null 2>&1; "
                          "ip link set eth1 up && ip addr add 10.0.3.77/24 dev eth1 && ip -4 -o addr",
                      timeout=120)
        assert rc == 0, out
        assert re.search(r"inet 10\.0\.2\.15/24 .*dynamic", out), out   # a lease, as DHCP clients add it
        assert re.search(r"inet 10\.0\.3\.77/24 scope global eth1", out), out
        vm.sendline("/mnt/kexec-boot --delay 1 -- panic=1 oops=panic")
        vm.expect(r"lifeboat \S+ starting", timeout=120)
        vm.expect(r"Network: .*eth0 10\.0\.2\.15/24", timeout=240)
        for port in (sport, dport):
            r = ssh(port, key, "ip -4 -o addr; ps | grep '[u]dhcpc'", str(kh))
            assert r.returncode == 0, r.stderr
            assert re.search(r"inet 10\.0\.3\.77/24 .*eth1", r.stdout), r.stdout
            assert re.search(r"inet 10\.0\.2\.15/24 .*eth0", r.stdout), r.stdout
            assert "-i eth0" in r.stdout and "-i eth1" not in r.stdout, r.stdout
        # Why each interface got what it got: in the log (not on the menu's console).
        r = ssh(dport, key, "grep 'has the MAC of the host' /run/lifeboat/log", str(kh))
        assert re.search(r"remote: eth0 has the MAC of the host's eth0: its 0 address\(es\), \d+ "
                         r"route\(s\), DHCP", r.stdout), r.stdout
        assert re.search(r"remote: eth1 has the MAC of the host's eth1: its 1 address\(es\)", r.stdout), r.stdout
