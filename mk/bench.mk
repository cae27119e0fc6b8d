# `make bench`: lifeboat against a trivial init, Debian's initramfs-tools and a busybox script, on
# the same kernel; prints a table and writes bench/results.md. Not part of `make check`.
# BENCH_RUNS=1 (or bench/run --quick) for a quick look while developing.
#help bench            lifeboat against a trivial init, initramfs-tools and a busybox script
#help bench-check      mark bench/results.md stale when code changed after the commit it measured
BENCH_RUNS ?= 3
BB := $(BUILD)/bench

bench: image fixtures $(BB)/floor.img $(BB)/bbscript.img $(BB)/debian-initrd.img $(BB)/nolayers.img $(BB)/ulblkid.img $(BB)/disks/.done | $(BUILD)/.deps
	$(PYTHON) bench/run --check-stale
	$(PYTHON) bench/run --runs $(BENCH_RUNS)

bench-check:
	$(PYTHON) bench/run --check-stale

.PHONY: bench-check

# lifeboat without lvm, dmsetup, mdadm and cryptsetup: time to menu with and without them.
$(BB)/nolayers.img: bench/mknolayers.py $(OUT)/initrd.img $(INITRD_SEGMENTS)
	@mkdir -p $(BB)
	$(PYTHON) bench/mknolayers.py $(OUT)/initrd.img $@ $(INITRD_SEGMENTS)

# lifeboat's image with util-linux's blkid appended as /bench/blkid (a cpio after the image's
# own archives, 4-byte aligned as the kernel wants), for the 64-partition scan's baseline.
$(BB)/ulblkid.img: $(OUT)/initrd.img $(TP)/blkid-tool.dir
	@mkdir -p $(BB)
	rm -rf $@.d && mkdir -p $@.d/bench && cp $$(cat $(TP)/blkid-tool.dir)/bin/blkid $@.d/bench/
	cp $(OUT)/initrd.img $@.tmp && truncate -s %4 $@.tmp
	cd $@.d && find . | LC_ALL=C sort | cpio -o -H newc --reproducible --quiet -R 0:0 >> ../$(@F).tmp
	rm -rf $@.d && mv $@.tmp $@

# (a) the floor: the same kernel with an init that prints one line.
$(BB)/floor.img: $(BUILD)/payload-init tools/mkpayload.sh
	@mkdir -p $(BB)
	tools/mkpayload.sh $(BUILD)/payload-init floor $@

# (b) Debian's initramfs-tools initrd for the same kernel (the unpacked .deb in the cache).
$(BB)/debian-initrd.img: bench/debian-initrd.sh $(BUILD)/kernel/.done
	@mkdir -p $(BB)
	set -- $$(cat $(BUILD)/kernel/SOURCE); \
	bench/debian-initrd.sh $(CACHE)/kernel/$$2-$$3/root $$(cat $(BUILD)/kernel/version) $@

# (c) a busybox script doing the NixOS wiki's chroot job by hand.
$(BB)/bbscript.img: bench/mkbbscript.sh bench/bbscript-init $(BUILD)/busybox.spec $(BUILD)/kernel/.done
	@mkdir -p $(BB)
	set -- $$(cat $(BUILD)/kernel/SOURCE); \
	bench/mkbbscript.sh $(BUILD) $(CACHE)/kernel/$$2-$$3/root $@

$(BB)/disks/.done: bench/mkdisks.py
	$(PYTHON) bench/mkdisks.py $(BB)/disks
	touch $@
