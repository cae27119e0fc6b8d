# Boot paths: a unified kernel image, boot loader entries, PXE scripts, and installing an entry
# into an ESP. Every artifact starts lifeboat with the screen and the first serial port as
# consoles; change BOOT_CMDLINE to change that (make BOOT_CMDLINE="console=ttyS1,9600").

BOOT_CMDLINE ?= console=tty0 console=ttyS0,115200
EFI_STUB     ?= /usr/lib/systemd/boot/efi/linuxx64.efi.stub
# Where install-boot-entry puts the kernel and initrd, relative to the ESP's root.
BOOT_DIR     ?= lifeboat
BOOT_ARTIFACTS := $(OUT)/lifeboat.efi $(OUT)/loader/entries/lifeboat.conf $(OUT)/grub/40_lifeboat \
	$(OUT)/lifeboat.ipxe $(OUT)/pxelinux.cfg/default

#help boot-artifacts   the UKI, boot loader entries and PXE scripts (part of image)
#help install-boot-entry ESP=DIR [KEYS=FILE]  copy kernel, initrd (and keys) and a loader entry into an ESP
.PHONY: boot-artifacts install-boot-entry
image: boot-artifacts
boot-artifacts: $(BOOT_ARTIFACTS)
# The checksums cover the boot artifacts too.
$(OUT)/BUILDINFO: $(BOOT_ARTIFACTS)

# The command line as a file without a newline (the UKI's .cmdline section), rewritten only
# when it changes so that the artifacts using it are rebuilt then and only then.
$(BUILD)/boot-cmdline: FORCE
	@mkdir -p $(BUILD)
	@printf '%s' '$(BOOT_CMDLINE)' | cmp -s - $@ || printf '%s' '$(BOOT_CMDLINE)' > $@
.PHONY: FORCE
FORCE:

$(BUILD)/os-release: $(BUILD)/release
	printf 'NAME=lifeboat\nID=lifeboat\nPRETTY_NAME="lifeboat %s (rescue)"\nVERSION_ID=%s\n' \
		'$(VERSION)' '$(VERSION)' > $@

$(OUT)/lifeboat.efi: $(OUT)/bzImage $(OUT)/initrd.img $(BUILD)/boot-cmdline $(BUILD)/os-release tools/mkuki.sh
	tools/mkuki.sh $(EFI_STUB) $(OUT)/bzImage $(OUT)/initrd.img $(BUILD)/boot-cmdline $(BUILD)/os-release $@

$(OUT)/loader/entries/lifeboat.conf: $(BUILD)/boot-cmdline tools/mkbootentries.sh
	@mkdir -p $(dir $@)
	tools/mkbootentries.sh bls '$(BOOT_DIR)' '$(VERSION)' '$(BOOT_CMDLINE)' > $@.tmp
	mv $@.tmp $@
$(OUT)/grub/40_lifeboat: $(BUILD)/boot-cmdline tools/mkbootentries.sh
	@mkdir -p $(dir $@)
	tools/mkbootentries.sh grub '$(BOOT_DIR)' '$(VERSION)' '$(BOOT_CMDLINE)' > $@.tmp
	chmod 755 $@.tmp && mv $@.tmp $@
$(OUT)/lifeboat.ipxe: $(BUILD)/boot-cmdline tools/mkbootentries.sh
	@mkdir -p $(dir $@)
	tools/mkbootentries.sh ipxe '' '$(VERSION)' '$(BOOT_CMDLINE)' > $@.tmp
	mv $@.tmp $@
$(OUT)/pxelinux.cfg/default: $(BUILD)/boot-cmdline tools/mkbootentries.sh
	@mkdir -p $(dir $@)
	tools/mkbootentries.sh pxelinux '' '$(VERSION)' '$(BOOT_CMDLINE)' > $@.tmp
	mv $@.tmp $@

# make install-boot-entry ESP=/boot (or /efi, or any folder standing for an ESP); KEYS=FILE, an
# initrd made by out/lifeboat-keys, goes next to the initrd and the entry names it after it.
install-boot-entry: $(OUT)/bzImage $(OUT)/initrd.img $(OUT)/loader/entries/lifeboat.conf
	@test -n "$(ESP)" || { echo "install-boot-entry: name the ESP: make install-boot-entry ESP=/boot" >&2; exit 1; }
	@test -d "$(ESP)" || { echo "install-boot-entry: $(ESP) is not a directory" >&2; exit 1; }
	install -d "$(ESP)/$(BOOT_DIR)" "$(ESP)/loader/entries"
	install -m 644 $(OUT)/bzImage "$(ESP)/$(BOOT_DIR)/bzImage"
	install -m 644 $(OUT)/initrd.img "$(ESP)/$(BOOT_DIR)/initrd.img"
	@rm -f "$(ESP)/$(BOOT_DIR)/keys.img"
	@if [ -n "$(KEYS)" ]; then \
		set -x; install -m 600 "$(KEYS)" "$(ESP)/$(BOOT_DIR)/keys.img" && \
		sed 's|^initrd .*|&\ninitrd     /$(BOOT_DIR)/keys.img|' $(OUT)/loader/entries/lifeboat.conf \
			> "$(ESP)/loader/entries/lifeboat.conf"; \
	else \
		set -x; install -m 644 $(OUT)/loader/entries/lifeboat.conf "$(ESP)/loader/entries/lifeboat.conf"; \
	fi

# The self-built kernel: build an image with it into its own folders and boot it. The kernel is
# cached by the hash of its inputs (tools/kernel-source.sh), so only the first run compiles.
SOURCE_OUT   ?= out-source
SOURCE_BUILD ?= build-source
SOURCE_TESTS ?= tests/vm/test_kernel_source.py tests/vm/test_harness.py \
	tests/vm/test_bootpaths.py::test_uki_as_removable_loader
#help check-kernel-source  build the image with KERNEL=source and boot it
.PHONY: check-kernel-source
check-kernel-source: | $(BUILD)/.deps
	$(MAKE) KERNEL=source OUT=$(SOURCE_OUT) BUILD=$(SOURCE_BUILD) image
	@mkdir -p $(TALLY)
	KERNEL=source OUT=$(abspath $(SOURCE_OUT)) BUILD=$(abspath $(SOURCE_BUILD)) $(PYTHON) -m pytest -q -rs \
		--junitxml=$(abspath $(TALLY))/kernel-source.xml $(SOURCE_TESTS)
# KERNEL=source depends on its fragments and build script too.
$(BUILD)/kernel/.done: tools/kernel-source.sh $(wildcard kernel-config/*.config)
# make check builds and boots it too (the first build takes 11 CPU-minutes, about 6 minutes on
# two idle cores; then it is a cached copy); CHECK_KERNEL_SOURCE=0 leaves it out.
CHECK_KERNEL_SOURCE ?= 1
ifeq ($(CHECK_KERNEL_SOURCE),1)
check: check-kernel-source
endif
