# NixOS-shaped disk images for the VM tests and the demo (tests/fixtures/README.md).
# `make fixtures` writes $(FIXDIR)/<name>.img and <name>.expect.json; each image is rebuilt only
# when the generator or one of its inputs changes. Needs root (loop mounts for btrfs and dirty).

FIXDIR   := $(BUILD)/fixtures
FIXTURES := inroot split btrfs tmpfs twosys notnixos garbage empty dirty \
            btrfs-wiki btrfs-nested btrfs-snap f2fs
FIXGEN   := tests/fixtures/mkfixtures.py
# What a NixOS fixture is made of: the generator, the kernel every generation boots (the
# image's own) and the payload initrd that reports its command line after a kexec.
FIXINPUTS := $(FIXGEN) tools/mkpayload.sh tools/mkinitramfs.py $(OUT)/bzImage $(BUILD)/payload-init
FIXIMGS  := $(FIXTURES:%=$(FIXDIR)/%.img)

#help fixtures         NixOS-shaped disk images for the VM tests (needs root: loop mounts)
#help fixtures-check   structural checks of the fixture images (no VM)
.PHONY: fixtures fixtures-check
fixtures: $(FIXIMGS)

# Random and zero disks need neither kernel nor payload.
$(FIXDIR)/garbage.img $(FIXDIR)/empty.img: $(FIXGEN) | $(BUILD)/.deps
	@mkdir -p $(FIXDIR)
	$(PYTHON) $(FIXGEN) --out $(FIXDIR) --kernel /dev/null --payload-init /dev/null $(basename $(notdir $@))

$(FIXDIR)/%.img: $(FIXINPUTS) | $(BUILD)/.deps
	@mkdir -p $(FIXDIR)
	$(PYTHON) $(FIXGEN) --out $(FIXDIR) --kernel $(OUT)/bzImage --payload-init $(BUILD)/payload-init $*

# Structural checks of the images (no VM): part of `make check`.
fixtures-check: fixtures
	@mkdir -p $(TALLY)
	$(PYTHON) -m pytest -q -rs --junitxml=$(abspath $(TALLY))/fixtures.xml tests/fixtures

check: fixtures-check
vmtest: fixtures
# The demo needs only its own disk.
demo: $(FIXDIR)/split.img

# Storage layers under a NixOS (md RAID1, LVM, LVM on md, btrfs raid1, LUKS: docs/unlock.md): md,
# LVM and LUKS are made in a VM booted from the image (this host has no md or dm), cached in
# $(CACHE)/fixtures/layers by a hash of their inputs (tests/vm/layerfix.py; the VM tests build
# them on first use too).
#help layer-fixtures   md/LVM/LUKS/multi-device btrfs disk images (made in a QEMU VM; needs root)
.PHONY: layer-fixtures
layer-fixtures: image $(BUILD)/payload-init | $(BUILD)/.deps
	$(PYTHON) tests/vm/layerfix.py
vmtest: layer-fixtures
