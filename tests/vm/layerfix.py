#!/usr/bin/python3
"""Disk images with storage layers under a NixOS: md RAID1, LVM, LVM on md, multi-device btrfs,
LUKS2, LVM on LUKS1, LUKS2 with several keyslots and a token, a LUKS2 header with a 1 GiB
argon2id keyslot, btrfs (subvolumes) on LUKS2, LUKS2 on md RAID1.

    from layerfix import layer_fixture, layer_expect
    members = layer_fixture("md-raid1")      # [$CACHE/fixtures/layers/md-raid1-<key>/m1.img, m2.img]
    expect = layer_expect("md-raid1")        # host, fstab, generation numbers, what to look for

or from the shell (mk/fixtures.mk: `make layer-fixtures`):

    python3 tests/vm/layerfix.py [NAME...]

This machine's kernel has neither md nor device-mapper, so md, LVM and LUKS are made inside a
QEMU VM booted from our own image (out/bzImage, out/initrd.img: Debian's kernel with its md, dm
and crypto modules, our static mdadm, lvm and cryptsetup) with a shell script as its first
process instead of lifeboat (rdinit=). The NixOS filesystem itself is made on the host by
tests/fixtures/mkfixtures.py's code (the same store, generations and activate script as every
other fixture) as a plain ext4 image, attached to the VM as a further disk and copied with dd
into the array, the LV or the open LUKS device (an ESP likewise into its partition).
Multi-device btrfs needs no VM: the host's btrfs over loop devices makes it. What the LUKS
fixtures hold and why their key derivation is cheap: docs/unlock.md.

Every result is cached under $CACHE/fixtures/layers/NAME-KEY/, KEY a hash of this file, the
fixture generator, the tools that write the metadata (mdadm, lvm, cryptsetup, the kernel) and the
generations' kernel and payload: a change to any rebuilds it, nothing else does. A lock makes
parallel test workers build each one once.

For other layouts, the pieces are public: nixos_ext4() makes a NixOS filesystem image,
build_in_vm() runs a script in the VM over new member images, cached() keys a build.
"""
import argparse
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import types

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(TOP, "tests", "fixtures"))

import mkfixtures as mf  # noqa: E402
from vm import BUILD, OUT, VM, Disk, sha256  # noqa: E402

# In the shared cache (make's CACHE, exported), not in BUILD: building them boots VMs, and a
# fresh clone (CI) would build them again for the same inputs.
LAYERDIR = os.path.join(os.environ.get("CACHE") or os.path.expanduser("~/.cache/lifeboat"),
                        "fixtures", "layers")
MiB = 1 << 20
GPT_RAID = "A19D880F-05FC-4D3B-A006-743F0F84911E"
GPT_LVM = "E6D6D379-F507-44C2-A23C-238F2A3DF928"
GPT_ESP = mf.GPT_ESP
GPT_LINUX = "0FC63DAF-8483-4772-8E79-3D69D8477DE4"  # what installers give a LUKS partition


def _tp(name):
    """The cached install folder of a third-party part (build/tp/NAME.dir names it)."""
    try:
        with open(os.path.join(BUILD, "tp", name + ".dir")) as f:
            return f.read().strip()
    except OSError:
        return None


def tool_inputs():
    """The files whose change changes what the fixtures hold: this builder, the NixOS fixture
    generator and payload, the kernel (its md/dm drivers write the superblocks; it is also the
    generations' kernel), mdadm, lvm and cryptsetup. Not the lifeboat binary: it only loads
    modules here."""
    files = [mf.__file__, os.path.join(TOP, "tools", "mkpayload.sh"),
             os.path.join(OUT, "bzImage"), os.path.join(BUILD, "payload-init")]
    for part, binary in (("mdadm", "mdadm"), ("lvm2", "lvm"), ("cryptsetup", "cryptsetup")):
        d = _tp(part)
        if d:
            files.append(os.path.join(d, "sbin", binary))
    return files


# The code that makes every fixture; a fixture's LAYOUTS entry may name more in "builders".
BUILDERS = ("_mf_builder", "nixos_ext4", "gpt_disk", "VM_INIT", "build_in_vm", "nixos_btrfs",
            "_build_vm_layout", "btrfs_raid1_images", "_build_btrfs", "layer_fixture")


def builder_source(names=BUILDERS):
    """The source text of the top-level functions and assignments called names in this file.
    A fixture's key holds these and its own LAYOUTS entry, not the whole file: adding a fixture,
    a constant or a reader then rebuilds no other fixture."""
    import ast
    with open(os.path.abspath(__file__)) as f:
        text = f.read()
    parts = {}
    for node in ast.parse(text).body:
        if isinstance(node, ast.FunctionDef):
            parts[node.name] = ast.get_source_segment(text, node)
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            parts[node.targets[0].id] = ast.get_source_segment(text, node)
    return "\n".join(parts[n] for n in names)


def fixture_key(name):
    """What besides tool_inputs() makes fixture NAME: the builder code and its LAYOUTS entry."""
    lay = LAYOUTS[name]
    # A function in the entry (its own builder) counts by its source, not its address.
    own = tuple(v.__name__ for v in lay.values() if callable(v))
    entry = repr({k: (v.__name__ if callable(v) else v) for k, v in lay.items()})
    src = builder_source(BUILDERS + own + tuple(lay.get("builders", ())))
    return hashlib.sha256((src + "\0" + entry).encode()).hexdigest()


def cached(name, inputs, build, extra=""):
    """Run build(dir) once per key (a hash of name, extra and the inputs' contents) into
    LAYERDIR/NAME-KEY and return that folder. build writes its files into the folder it is given
    (a temporary one, renamed when build returns)."""
    h = hashlib.sha256(f"{name}\0{extra}\0".encode())
    for p in inputs:
        # By name and contents, not by path: the same inputs in another clone give the same key.
        h.update(os.path.basename(p).encode() + b"\0" + sha256(p).encode() + b"\0")
    key = h.hexdigest()[:16]
    os.makedirs(LAYERDIR, exist_ok=True)
    final = os.path.join(LAYERDIR, f"{name}-{key}")
    with open(os.path.join(LAYERDIR, f".{name}.lock"), "w") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        if os.path.isdir(final):
            return final
        tmp = final + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        build(tmp)
        # Older keys of this fixture are of no use any more.
        for old in os.listdir(LAYERDIR):
            if old.startswith(name + "-") and old[len(name) + 1:].isalnum() and len(old) == len(name) + 17:
                shutil.rmtree(os.path.join(LAYERDIR, old), ignore_errors=True)
        os.rename(tmp, final)
    return final


# ---------------------------------------------------------------------------------------------
# The NixOS filesystem (on the host, with mkfixtures' code)

_builder = None


def _mf_builder(work):
    global _builder
    if _builder is None or _builder.work != work:
        args = types.SimpleNamespace(kernel=os.path.join(OUT, "bzImage"),
                                     payload_init=os.path.join(BUILD, "payload-init"))
        _builder = mf.Builder(args, work)
    return _builder


def nixos_ext4(path, fixture, host, fstab_plan, size_mib=120, work=None):
    """An ext4 image at path holding a NixOS root with /nix inside: generations 1 and 2 (the
    current one), fstab from fstab_plan (mkfixtures' plan entries: spec, target, type,
    options, status). Returns a dict: host, uuid, label, generations, mounts (as mkfixtures
    records them)."""
    own = work is None
    work = work or tempfile.mkdtemp(prefix="lb-layerfix-")
    try:
        b = _mf_builder(work)
        fstab, mrecs = mf.mounts_of(fstab_plan)
        gens = [mf.Gen(1, mf.V3, mf.date(1), bootspec=True, fstab=fstab),
                mf.Gen(2, mf.V4, mf.date(2), bootspec=True, fstab=fstab)]
        root = b.tree(fixture + "-root")
        sysm = b.system(host)
        recs = sysm.install(root, gens)
        sysm.root_files(root)
        etcsp = os.readlink(root.host(recs[-1]["toplevel"] + "/etc"))
        mf.current_etc(root, root.host(etcsp), etcsp)
        uuid, label = mf.uid("root", fixture), host + "-root"
        mf.fs_ext4(path, size_mib * MiB, root.path, label, uuid)
        return dict(host=host, uuid=uuid, label=label, version=mf.V4, current=2,
                    generation_numbers=[1, 2], fstab=fstab, mounts=mrecs)
    finally:
        if own:
            shutil.rmtree(work, ignore_errors=True)
            global _builder
            _builder = None


def gpt_disk(path, size_mib, parts):
    """A sparse GPT disk image: parts is [(size_mib or None for the rest, type GUID, name)]."""
    with open(path, "wb") as f:
        f.truncate(size_mib * MiB)
    lines = ["label: gpt", f"label-id: {mf.uid('disk', path).upper()}"]
    for i, (size, gtype, name) in enumerate(parts):
        sz = f", size={size}MiB" if size else ""
        lines.append(f"start={'2048' if i == 0 else ''}{sz}, type={gtype}, name=\"{name}\"")
    subprocess.run(["sfdisk", "-q", path], input="\n".join(lines) + "\n", text=True, check=True,
                   stdout=subprocess.DEVNULL)


# ---------------------------------------------------------------------------------------------
# Inside a VM

VM_INIT = r"""#!/bin/sh
# First process of a fixture-building VM (tests/vm/layerfix.py): mount the kernel's
# filesystems, load the md, dm and dm-crypt drivers and the crypto cryptsetup uses, run the
# job, power off. (Names built into the kernel load as nothing; absent ones print a line.)
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /run/lock/lvm /run/mdadm /run/cryptsetup
echo 1 > /proc/sys/kernel/printk
lifeboat modprobe virtio_pci virtio_blk md_mod raid1 linear dm_mod dm_mirror dm_crypt \
    af_alg algif_skcipher algif_hash aesni_intel aes_generic xts ecb cbc essiv sha256_generic \
    sha512_generic 2>&1 | grep -v 'loaded module'
# No udev: wait for the disks to appear.
for i in 1 2 3 4 5 6 7 8 9 10; do [ -e /dev/vda ] && break; sleep 1; done
sleep 1
# Creating writes metadata, which the image's lvm.conf forbids: this job is allowed to.
LVMW='--config=global{metadata_read_only=0}'
# Key derivation cheap enough for QEMU's TCG (docs/unlock.md): argon2id 32 MiB x 4 for LUKS2,
# 1000 PBKDF2 iterations for LUKS1; forced, so cryptsetup does not benchmark.
KDF2='--pbkdf argon2id --pbkdf-memory 32768 --pbkdf-force-iterations 4 --pbkdf-parallel 1'
KDF1='--pbkdf pbkdf2 --pbkdf-force-iterations 1000'
run() { echo "+ $*"; "$@" || { echo "LAYERFIX-FAIL status $?: $*"; sync; poweroff -f; sleep 60; }; }
. /layerfix-job.sh
sync
echo LAYERFIX-DONE
poweroff -f
sleep 60
"""


def build_in_vm(outdir, members, script, sources=(), timeout=600, initrd_files=None,
                kernel=None, initrd=None, mem=512):
    """Make member disk images inside a VM booted from our image and return their paths.

    members: [(file name, size in MiB, GPT parts or None for a bare disk)]: created in outdir
    (sparse), attached first (/dev/vda, /dev/vdb, ...). sources: host files attached after them,
    read-only (snapshot), e.g. filesystem images to dd into an array. script: busybox sh run as
    the VM's first process with /proc, /sys and /dev mounted and the md, dm and dm-crypt modules
    loaded; `run CMD...` fails the build with CMD's status; $LVMW is the --config option that
    lets lvm write metadata; $KDF2 and $KDF1 are cryptsetup's cheap key derivation options for
    LUKS2 and LUKS1. mem: the VM's memory in MiB. initrd_files: more files for the VM's initrd ({path: bytes}); kernel,
    initrd: another image than out/."""
    from extra_initrd import initrd_with
    paths = []
    for name, size, parts in members:
        p = os.path.join(outdir, name)
        if parts:
            gpt_disk(p, size, parts)
        else:
            with open(p, "wb") as f:
                f.truncate(size * MiB)
        paths.append(p)
    files = {"/init-layerfix": VM_INIT, "/layerfix-job.sh": script}
    files.update(initrd_files or {})
    rd = initrd_with(files) if initrd is None else initrd
    # The initrd_with entries are mode 0644: the kernel runs rdinit through the shell.
    disks = [Disk(p) for p in paths] + [Disk(s, snapshot=True) for s in sources]
    with VM(disks=disks, initrd=rd, kernel=kernel, mem=mem, name="layerfix-" + os.path.basename(outdir),
            cmdline_replace="console=ttyS0,115200 panic=1 oops=panic quiet rdinit=/bin/sh -- /init-layerfix") as vm:
        m = vm.expect(r"LAYERFIX-(DONE|FAIL[^\n]*)\n", timeout=timeout)
        if m.group(1) != "DONE":
            raise RuntimeError(f"layerfix: {m.group(1)}; log: {vm.logpath}\n{vm.tail(30)}")
        vm.wait_exit(timeout=120)
    return paths


# ---------------------------------------------------------------------------------------------
# The layouts

def _plan(spec, target, fstype, options="defaults", status="ok", passno=0):
    return {"spec": spec, "target": target, "type": fstype, "options": options, "status": status,
            "pass": passno}


# Each layout: its member files, the fstab of its NixOS, and the job. In the VM the members are
# vda, vdb (partition 1 each) and the NixOS ext4 image is the next disk.
LAYOUTS = {
    "md-raid1": dict(
        host="mu", members=[("m1.img", 176, [(None, GPT_RAID, "raid-a")]),
                            ("m2.img", 176, [(None, GPT_RAID, "raid-b")])],
        fstab=[_plan("/dev/md/root", "/", "ext4", passno=1)],
        array=dict(name="root", homehost="mu", level="raid1"),
        job="""
run mdadm --create /dev/md/root --run --assume-clean --level=1 --raid-devices=2 --metadata=1.2 \\
    --homehost=mu --name=root --uuid=1feb0a70:00000000:00000000:00000001 /dev/vda1 /dev/vdb1
run dd if=/dev/vdc of=/dev/md/root bs=1M
run mdadm --detail /dev/md/root
run mdadm --stop /dev/md/root
"""),
    "lvm": dict(
        host="lambda", members=[("pv.img", 176, [(None, GPT_LVM, "lvm")])],
        fstab=[_plan("/dev/mapper/nixvg-root", "/", "ext4", passno=1),
               _plan("/dev/nixvg/swap", "none", "swap", status="swap-ignored")],
        vg=dict(name="nixvg", lvs=["root", "swap"]),
        job="""
run lvm pvcreate $LVMW --norestorefile --uuid 1feb0a-7000-0000-0000-0000-0000-000001 /dev/vda1
run lvm vgcreate $LVMW -s 4M nixvg /dev/vda1
run lvm lvcreate $LVMW -y -L 124M -n root nixvg
run lvm lvcreate $LVMW -y -L 16M -n swap nixvg
run dd if=/dev/vdb of=/dev/nixvg/root bs=1M
run mkswap /dev/nixvg/swap
run lvm lvs $LVMW
run lvm vgchange $LVMW -an nixvg
"""),
    "lvm-on-md": dict(
        host="omicron", members=[("m1.img", 176, [(None, GPT_RAID, "raid-a")]),
                                 ("m2.img", 176, [(None, GPT_RAID, "raid-b")])],
        fstab=[_plan("/dev/mdvg/root", "/", "ext4", passno=1)],
        array=dict(name="pv", homehost="omicron", level="raid1"),
        vg=dict(name="mdvg", lvs=["root"]),
        job="""
run mdadm --create /dev/md/pv --run --assume-clean --level=1 --raid-devices=2 --metadata=1.2 \\
    --homehost=omicron --name=pv --uuid=1feb0a70:00000000:00000000:00000002 /dev/vda1 /dev/vdb1
run lvm pvcreate $LVMW --norestorefile --uuid 1feb0a-7000-0000-0000-0000-0000-000002 /dev/md/pv
run lvm vgcreate $LVMW -s 4M mdvg /dev/md/pv
run lvm lvcreate $LVMW -y -L 124M -n root mdvg
run dd if=/dev/vdc of=/dev/mdvg/root bs=1M
run lvm lvs $LVMW
run lvm vgchange $LVMW -an mdvg
run mdadm --stop /dev/md/pv
"""),
    "btrfs-raid1": dict(
        host="beta2", members=[("b1.img", 160, None), ("b2.img", 160, None)],
        fstab=None,  # by UUID of the btrfs, filled in below
    ),
}

# LUKS (docs/unlock.md). In each job the member is vda, the NixOS ext4 image vdb, an ESP image
# vdc. Every LUKS header has a fixed UUID (the volume key and salts are random: the images differ
# between builds, their expect.json does not). `luks` in expect.json lists each LUKS device:
# member file, device when the fixture is attached alone, version, uuid, label (LUKS2),
# passphrase, the mapping name the system expects, its keyslots (with their passphrases), tokens,
# key derivation, and recovery (the second keyslot's passphrase) where there is one.
PASSPHRASE = "correct horse"
LUKS_UUID = {n: mf.uid("luks", n) for n in ("luks2", "luks-lvm", "luks-named", "luks-bigmem",
                                             "btrfs-on-luks", "luks-on-md", "btrfs-luks-a",
                                             "btrfs-luks-b")}
RECOVERY = "1234-5678-9012"
FIDO2_TOKEN = {"type": "systemd-fido2", "keyslots": ["0"], "fido2-credential": "AAAA",
               "fido2-salt": "AAAA", "fido2-rp": "io.systemd.cryptsetup",
               "fido2-clientPin-required": False, "fido2-up-required": True,
               "fido2-uv-required": False}
KDF2 = dict(pbkdf="argon2id", memory_kib=32768, iterations=4, parallel=1)
KDF1 = dict(pbkdf="pbkdf2", iterations=1000)
BIGMEM_KDF = "--pbkdf argon2id --pbkdf-memory 1048576 --pbkdf-force-iterations 4 --pbkdf-parallel 1"


def _luks(name, member, device, version, passphrase, mapper, label=None, kdf=None, keyslots=None,
          tokens=(), recovery=None):
    d = dict(member=member, device=device, version=version, uuid=LUKS_UUID[name],
             passphrase=passphrase, mapper=mapper,
             keyslots=keyslots or [dict(slot=0, passphrase=passphrase)],
             tokens=list(tokens), kdf=kdf or (KDF2 if version == 2 else KDF1))
    if version == 2:
        d["label"] = label
    if recovery:
        d["recovery"] = recovery
    return d


def _luksformat(version, uuid, dev, passphrase, label=None, kdf=None, open_as="fix"):
    """Job lines: format dev as LUKS VERSION with the passphrase on stdin (no newline), then
    open it as /dev/mapper/OPEN_AS (or only test the passphrase: open_as None)."""
    lab = f" --label {label}" if label else ""
    kdf = kdf or ("$KDF2" if version == 2 else "$KDF1")
    then = f"{dev} {open_as}" if open_as else f"--test-passphrase {dev}"
    return (f"printf '%s' '{passphrase}' | run cryptsetup luksFormat --batch-mode --type luks{version} "
            f"--uuid {uuid}{lab} {kdf} --key-file - {dev}\n"
            f"printf '%s' '{passphrase}' | run cryptsetup open --key-file - {then}\n")


_U = LUKS_UUID
LAYOUTS.update({
    "luks2": dict(
        host="kappa", members=[("disk.img", 200, [(40, GPT_ESP, "ESP"), (None, GPT_LINUX, "cryptroot")])],
        fstab=[_plan(f"/dev/disk/by-uuid/{mf.uid('root', 'luks2')}", "/", "ext4", passno=1)],
        esp=dict(label="ESP", uuid=mf.volid("esp", "luks2"), size_mib=40, device="/dev/vda1"),
        luks=[_luks("luks2", "disk.img", "/dev/vda2", 2, PASSPHRASE, f"luks-{_U['luks2']}",
                    label="cryptroot")],
        job=_luksformat(2, _U["luks2"], "/dev/vda2", PASSPHRASE, label="cryptroot") + """
run dd if=/dev/vdb of=/dev/mapper/fix bs=1M
run dd if=/dev/vdc of=/dev/vda1 bs=1M
run cryptsetup luksDump /dev/vda2
run cryptsetup close fix
"""),
    "luks-lvm": dict(
        host="lambda2", members=[("disk.img", 176, [(None, GPT_LINUX, "cryptlvm")])],
        fstab=[_plan("/dev/cryptvg/root", "/", "ext4", passno=1),
               _plan("/dev/cryptvg/swap", "none", "swap", status="swap-ignored")],
        vg=dict(name="cryptvg", lvs=["root", "swap"], pv_uuid="1feb0a-7000-0000-0000-0000-0000-000003"),
        luks=[_luks("luks-lvm", "disk.img", "/dev/vda1", 1, PASSPHRASE, f"luks-{_U['luks-lvm']}")],
        job=_luksformat(1, _U["luks-lvm"], "/dev/vda1", PASSPHRASE) + """
run lvm pvcreate $LVMW --norestorefile --uuid 1feb0a-7000-0000-0000-0000-0000-000003 /dev/mapper/fix
run lvm vgcreate $LVMW -s 4M cryptvg /dev/mapper/fix
run lvm lvcreate $LVMW -y -L 124M -n root cryptvg
run lvm lvcreate $LVMW -y -L 16M -n swap cryptvg
run dd if=/dev/vdb of=/dev/cryptvg/root bs=1M
run mkswap /dev/cryptvg/swap
run lvm lvs $LVMW
run lvm vgchange $LVMW -an cryptvg
run cryptsetup luksDump /dev/vda1
run cryptsetup close fix
"""),
    "luks-named": dict(
        host="nu", members=[("disk.img", 160, [(None, GPT_LINUX, "nixos")])],
        fstab=[_plan("/dev/mapper/cryptroot", "/", "ext4", passno=1)],
        luks=[_luks("luks-named", "disk.img", "/dev/vda1", 2, "other secret", "cryptroot",
                    keyslots=[dict(slot=0, passphrase="other secret"), dict(slot=1, passphrase=RECOVERY)],
                    tokens=[dict(id=0, type="systemd-fido2", keyslots=[0])], recovery=RECOVERY)],
        job=_luksformat(2, _U["luks-named"], "/dev/vda1", "other secret") + f"""
printf '%s' '{RECOVERY}' > /tmp/recovery
printf '%s' 'other secret' | run cryptsetup luksAddKey --batch-mode $KDF2 --key-file - /dev/vda1 /tmp/recovery
cat > /tmp/token.json <<'TOKEN'
{json.dumps(FIDO2_TOKEN)}
TOKEN
run cryptsetup token import --token-id 0 --json-file /tmp/token.json /dev/vda1
run dd if=/dev/vdb of=/dev/mapper/fix bs=1M
run cryptsetup luksDump /dev/vda1
run cryptsetup close fix
"""),
    # Only a header: its one keyslot needs 1 GiB to open (the memory check). cryptsetup lowers
    # an argon2 memory cost above half the machine's physical memory (MemTotal / 2, to 699512 KiB
    # in a 1536 MiB VM), so the VM has 2560 MiB and the job checks the header says 1048576; it
    # also proves the passphrase opens it.
    "luks-bigmem": dict(
        host=None, members=[("header.img", 32, None)], mem=2560,
        luks=[_luks("luks-bigmem", "header.img", "/dev/vda", 2, PASSPHRASE, f"luks-{_U['luks-bigmem']}",
                    label="bigmem", kdf=dict(KDF2, memory_kib=1048576))],
        job=_luksformat(2, _U["luks-bigmem"], "/dev/vda", PASSPHRASE, label="bigmem", kdf=BIGMEM_KDF,
                        open_as=None) + """
run cryptsetup luksDump /dev/vda
cryptsetup luksDump /dev/vda | grep -q '^[[:space:]]*Memory:[[:space:]]*1048576$' || \\
    run false memory cost lowered
"""),
})


# Stacks (issue 14): btrfs with subvolumes on LUKS2, and LUKS2 on md RAID1. The image has no
# mkfs.btrfs (only btrfs, btrfstune, fsck.btrfs), so the btrfs is made on the host over a file
# (nixos_btrfs) and copied with dd into the open mapping, as the ext4 roots are. In btrfs-on-luks
# the member is vda and the btrfs image vdb; in luks-on-md the members are vda and vdb, the ext4
# image vdc.
LAYOUTS.update({
    "btrfs-on-luks": dict(
        host="sigma", members=[("disk.img", 200, [(None, GPT_LINUX, "cryptbtrfs")])],
        rootfs="btrfs",
        fstab=[_plan("/dev/mapper/cryptbtrfs", "/", "btrfs", "subvol=@,compress=zstd"),
               _plan("/dev/mapper/cryptbtrfs", "/nix", "btrfs", "subvol=@nix,compress=zstd,noatime")],
        luks=[_luks("btrfs-on-luks", "disk.img", "/dev/vda1", 2, PASSPHRASE, "cryptbtrfs",
                    label="cryptbtrfs")],
        job=_luksformat(2, _U["btrfs-on-luks"], "/dev/vda1", PASSPHRASE, label="cryptbtrfs") + """
run dd if=/dev/vdb of=/dev/mapper/fix bs=1M
run btrfs check --readonly /dev/mapper/fix
run cryptsetup luksDump /dev/vda1
run cryptsetup close fix
"""),
    "luks-on-md": dict(
        host="tau", members=[("m1.img", 176, [(None, GPT_RAID, "raid-a")]),
                             ("m2.img", 176, [(None, GPT_RAID, "raid-b")])],
        fstab=[_plan(f"/dev/disk/by-uuid/{mf.uid('root', 'luks-on-md')}", "/", "ext4", passno=1)],
        array=dict(name="crypt", homehost="tau", level="raid1", uuid="1feb0a70:00000000:00000000:00000004"),
        luks=[_luks("luks-on-md", "m1.img", "/dev/md/crypt", 2, PASSPHRASE, f"luks-{_U['luks-on-md']}",
                    label="cryptmd")],
        job="""
run mdadm --create /dev/md/crypt --run --assume-clean --level=1 --raid-devices=2 --metadata=1.2 \\
    --homehost=tau --name=crypt --uuid=1feb0a70:00000000:00000000:00000004 /dev/vda1 /dev/vdb1
""" + _luksformat(2, _U["luks-on-md"], "/dev/md/crypt", PASSPHRASE, label="cryptmd") + """
run dd if=/dev/vdc of=/dev/mapper/fix bs=1M
run cryptsetup luksDump /dev/md/crypt
run cryptsetup close fix
run mdadm --detail /dev/md/crypt
run mdadm --stop /dev/md/crypt
"""),
    # btrfs raid1 over two LUKS2 devices with the same passphrase (disko's layout for two disks):
    # members vda and vdb, the two btrfs member images vdc and vdd; fstab by the btrfs UUID, so
    # the mappings keep luks-<UUID>.
    "btrfs-raid1-luks": dict(
        host="upsilon", members=[("c1.img", 200, [(None, GPT_LINUX, "crypt-a")]),
                                 ("c2.img", 200, [(None, GPT_LINUX, "crypt-b")])],
        rootfs="btrfs-raid1", fstab=None,
        luks=[_luks("btrfs-luks-a", "c1.img", "/dev/vda1", 2, PASSPHRASE, f"luks-{_U['btrfs-luks-a']}",
                    label="crypt-a"),
              _luks("btrfs-luks-b", "c2.img", "/dev/vdb1", 2, PASSPHRASE, f"luks-{_U['btrfs-luks-b']}",
                    label="crypt-b")],
        job=_luksformat(2, _U["btrfs-luks-a"], "/dev/vda1", PASSPHRASE, label="crypt-a", open_as="fa")
        + _luksformat(2, _U["btrfs-luks-b"], "/dev/vdb1", PASSPHRASE, label="crypt-b", open_as="fb") + """
run dd if=/dev/vdc of=/dev/mapper/fa bs=1M
run dd if=/dev/vdd of=/dev/mapper/fb bs=1M
run cryptsetup close fa
run cryptsetup close fb
"""),
})


def nixos_btrfs(path, fixture, host, fstab_plan, size_mib=160, work=None):
    """A btrfs image at path (made on the host: loop mount) with subvolumes @ (the root) and
    @nix (/nix: store and profiles) holding a NixOS, generations 1 and 2 (the current one),
    fstab from fstab_plan. Returns the dict nixos_ext4 returns."""
    own = work is None
    work = work or tempfile.mkdtemp(prefix="lb-layerfix-")
    uuid = mf.uid("btrfs", fixture)
    mnt = os.path.join(work, "btrfs-mnt")
    lo = None
    try:
        b = _mf_builder(work)
        fstab, mrecs = mf.mounts_of(fstab_plan)
        gens = [mf.Gen(1, mf.V3, mf.date(1), bootspec=True, fstab=fstab),
                mf.Gen(2, mf.V4, mf.date(2), bootspec=True, fstab=fstab)]
        root, nixt, home, recs = mf.separate_nix_system(b, fixture, host, gens)
        with open(path, "wb") as f:
            f.truncate(size_mib * MiB)
        mf.run("mkfs.btrfs", "-q", "-f", "-L", "nixos", "-U", uuid, path, stdout=subprocess.DEVNULL)
        lo = subprocess.run(["losetup", "--find", "--show", path], check=True,
                            capture_output=True, text=True).stdout.strip()
        os.makedirs(mnt)
        mf.run("mount", "-t", "btrfs", lo, mnt)
        try:
            for sv, tree in (("@", root.path), ("@nix", nixt.path)):
                mf.run("btrfs", "-q", "subvolume", "create", os.path.join(mnt, sv))
                mf.run("cp", "-a", tree + "/.", os.path.join(mnt, sv))
            mf.run("sync")
        finally:
            mf.run("umount", mnt)
        return dict(host=host, uuid=uuid, label="nixos", version=mf.V4, current=2,
                    generation_numbers=[1, 2], fstab=fstab, mounts=mrecs)
    finally:
        if lo:
            subprocess.run(["losetup", "-d", lo])
        subprocess.run(["btrfs", "device", "scan", "--forget"], stderr=subprocess.DEVNULL)
        if own:
            shutil.rmtree(work, ignore_errors=True)
            global _builder
            _builder = None


def _build_vm_layout(name, outdir):
    lay = LAYOUTS[name]
    work = tempfile.mkdtemp(prefix="lb-layerfix-")
    global _builder
    try:
        sources, info = [], dict(host=None)
        if lay["host"]:
            if lay.get("rootfs") == "btrfs-raid1":
                srcs = [os.path.join(work, "r1.btrfs"), os.path.join(work, "r2.btrfs")]
                info = btrfs_raid1_images(srcs, 160, name, lay["host"], work)
                sources.extend(srcs)
                src = None
            elif lay.get("rootfs") == "btrfs":
                src = os.path.join(work, "root.btrfs")
                info = nixos_btrfs(src, name, lay["host"], lay["fstab"], size_mib=160, work=work)
            else:
                src = os.path.join(work, "root.ext4")
                info = nixos_ext4(src, name, lay["host"], lay["fstab"], size_mib=120, work=work)
            if src:
                sources.append(src)
        esp = lay.get("esp")
        if esp:
            tree = os.path.join(work, "esp-tree")
            os.makedirs(tree)
            with open(os.path.join(tree, "lifeboat-fixture.txt"), "w") as f:
                f.write(f"The ESP of the {name} layer fixture (tests/vm/layerfix.py).\n")
            sources.append(os.path.join(work, "esp.vfat"))
            mf.fs_vfat(sources[-1], esp["size_mib"] * MiB, tree, esp["label"], esp["uuid"])
        build_in_vm(outdir, lay["members"], lay["job"], sources=sources, mem=lay.get("mem", 512))
    finally:
        _builder = None
        shutil.rmtree(work, ignore_errors=True)
    return info


def btrfs_raid1_images(paths, size_mib, fixture, host, work):
    """btrfs raid1 (data and metadata) over the files at paths (made here, size_mib each) with
    subvolumes @ and @nix holding a NixOS (fstab by the btrfs UUID), made on the host over loop
    devices. Returns the dict nixos_ext4 returns."""
    uuid = mf.uid("btrfs", fixture)
    loops = []
    mnt = os.path.join(work, "btrfs-raid1-mnt")
    try:
        b = _mf_builder(work)
        plan = [_plan(f"/dev/disk/by-uuid/{uuid}", "/", "btrfs", "subvol=@,compress=zstd"),
                _plan(f"/dev/disk/by-uuid/{uuid}", "/nix", "btrfs", "subvol=@nix,compress=zstd,noatime")]
        fstab, mrecs = mf.mounts_of(plan)
        gens = [mf.Gen(1, mf.V3, mf.date(1), bootspec=True, fstab=fstab),
                mf.Gen(2, mf.V4, mf.date(2), bootspec=True, fstab=fstab)]
        root, nixt, home, recs = mf.separate_nix_system(b, fixture, host, gens)
        for p in paths:
            with open(p, "wb") as f:
                f.truncate(size_mib * MiB)
        mf.run("mkfs.btrfs", "-q", "-f", "-L", "nixos", "-U", uuid, "-d", "raid1", "-m", "raid1", *paths,
               stdout=subprocess.DEVNULL)
        for p in paths:
            loops.append(subprocess.run(["losetup", "--find", "--show", p], check=True,
                                        capture_output=True, text=True).stdout.strip())
        os.makedirs(mnt)
        mf.run("mount", "-t", "btrfs", "-o", "device=" + ",device=".join(loops), loops[0], mnt)
        try:
            for sv, tree in (("@", root.path), ("@nix", nixt.path)):
                mf.run("btrfs", "-q", "subvolume", "create", os.path.join(mnt, sv))
                mf.run("cp", "-a", tree + "/.", os.path.join(mnt, sv))
            mf.run("sync")
        finally:
            mf.run("umount", mnt)
        return dict(host=host, uuid=uuid, label="nixos", version=mf.V4, current=2,
                    generation_numbers=[1, 2], fstab=fstab, mounts=mrecs)
    finally:
        for lo in loops:
            subprocess.run(["losetup", "-d", lo])
        # The host kernel keeps the members registered: forget them (the files stay).
        subprocess.run(["btrfs", "device", "scan", "--forget"], stderr=subprocess.DEVNULL)


def _build_btrfs(name, outdir):
    """btrfs raid1 over two bare disk images (the members themselves)."""
    lay = LAYOUTS[name]
    work = tempfile.mkdtemp(prefix="lb-layerfix-")
    global _builder
    try:
        paths = [os.path.join(outdir, m[0]) for m in lay["members"]]
        return btrfs_raid1_images(paths, lay["members"][0][1], name, lay["host"], work)
    finally:
        _builder = None
        shutil.rmtree(work, ignore_errors=True)


def layer_fixture(name):
    """The member images of fixture NAME (built on first use, then cached): a list of paths,
    in the order they are attached (the first is /dev/vda when attached first)."""
    if name not in LAYOUTS:
        raise KeyError(f"no layer fixture {name!r}: one of {', '.join(LAYOUTS)}")
    lay = LAYOUTS[name]

    def build(outdir):
        info = (lay["build"](name, outdir) if lay.get("build") else _build_btrfs(name, outdir)
                if name == "btrfs-raid1" else _build_vm_layout(name, outdir))
        info.update(fixture=name, members=[m[0] for m in lay["members"]],
                    array=lay.get("array"), vg=lay.get("vg"), luks=lay.get("luks"),
                    esp=lay.get("esp"))
        with open(os.path.join(outdir, "expect.json"), "w") as f:
            json.dump(info, f, indent=2, sort_keys=True)
            f.write("\n")

    d = cached(name, tool_inputs(), build, extra=fixture_key(name))
    return [os.path.join(d, m[0]) for m in lay["members"]]


def layer_copies(tmp, names):
    """Writable copies (sparse) of the members of fixtures NAMES, in attachment order, in tmp;
    skips the test when not root (the fixtures are made with root)."""
    if os.geteuid() != 0:
        import pytest
        pytest.skip("the layer fixtures are made with root")
    out = []
    for n in names:
        for src in layer_fixture(n):
            dst = os.path.join(tmp, f"{n}-{os.path.basename(src)}")
            subprocess.run(["cp", "--sparse=always", src, dst], check=True)
            out.append(dst)
    return out


def layer_expect(name):
    """What fixture NAME holds (its expect.json): host, uuid, version, generation_numbers,
    fstab, array (name, homehost, level), vg (name, lvs), luks (a list: member, device,
    version, uuid, label, passphrase, mapper, keyslots, tokens, kdf, recovery) and esp (label,
    uuid, device) where it has them; host is None where no NixOS is inside (luks-bigmem)."""
    d = os.path.dirname(layer_fixture(name)[0])
    with open(os.path.join(d, "expect.json")) as f:
        return json.load(f)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", help=f"default: all of {' '.join(LAYOUTS)}")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("layerfix: run as root (the btrfs fixture needs loop devices)")
    names = args.names or list(LAYOUTS)
    # Each build is a one-vCPU VM (or loop devices): two at a time keep both of this machine's
    # CPUs busy, and the per-fixture locks in cached() keep a fixture from being built twice.
    jobs = int(os.environ.get("LAYERFIX_JOBS", "2"))
    if jobs <= 1 or len(names) <= 1:
        for n in names:
            print(" ".join(layer_fixture(n)))
        return
    import concurrent.futures
    with concurrent.futures.ProcessPoolExecutor(max_workers=jobs) as pool:
        for paths in pool.map(layer_fixture, names):
            print(" ".join(paths), flush=True)



# A volume group over two disks (issue 13: a VG with a missing PV): the NixOS root LV on the
# first PV only, /home on an LV of the second only, so that with the second disk absent the
# root is whole and /home is not there. vda, vdb: the PVs; vdc: the root ext4; vdd: /home's.
def _build_lvm_2pv(name, outdir):
    lay = LAYOUTS[name]
    work = tempfile.mkdtemp(prefix="lb-layerfix-")
    global _builder
    try:
        root = os.path.join(work, "root.ext4")
        info = nixos_ext4(root, name, lay["host"], lay["fstab"], size_mib=120, work=work)
        tree = os.path.join(work, "home-tree")
        os.makedirs(os.path.join(tree, "alice"))
        with open(os.path.join(tree, "alice", "notes.txt"), "w") as f:
            f.write("on the second PV\n")
        home = os.path.join(work, "home.ext4")
        mf.fs_ext4(home, 24 * MiB, tree, "home", mf.uid("home", name))
        build_in_vm(outdir, lay["members"], lay["job"], sources=[root, home])
    finally:
        _builder = None
        shutil.rmtree(work, ignore_errors=True)
    return info


LAYOUTS["lvm-2pv"] = dict(
    host="rho", build=_build_lvm_2pv,
    members=[("pv1.img", 176, [(None, GPT_LVM, "lvm-a")]), ("pv2.img", 48, [(None, GPT_LVM, "lvm-b")])],
    fstab=[_plan("/dev/duovg/root", "/", "ext4", passno=1),
           _plan("/dev/duovg/home", "/home", "ext4", passno=2)],
    vg=dict(name="duovg", lvs=["root", "home"],
            pv_uuids=["1feb0a-7000-0000-0000-0000-0000-000005", "1feb0a-7000-0000-0000-0000-0000-000006"]),
    job="""
run lvm pvcreate $LVMW --norestorefile --uuid 1feb0a-7000-0000-0000-0000-0000-000005 /dev/vda1
run lvm pvcreate $LVMW --norestorefile --uuid 1feb0a-7000-0000-0000-0000-0000-000006 /dev/vdb1
run lvm vgcreate $LVMW -s 4M duovg /dev/vda1 /dev/vdb1
run lvm lvcreate $LVMW -y -L 124M -n root duovg /dev/vda1
run lvm lvcreate $LVMW -y -L 24M -n home duovg /dev/vdb1
run dd if=/dev/vdc of=/dev/duovg/root bs=1M
run dd if=/dev/vdd of=/dev/duovg/home bs=1M
run lvm lvs $LVMW -o +devices
run lvm vgchange $LVMW -an duovg
""")

if __name__ == "__main__":
    main()
