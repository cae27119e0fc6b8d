# The bundled installer: its own cpio segment (/installer/{kernel,initrd,cmdline,name}) appended
# to initrd.img after the main, reproducible archive. Chosen with INSTALLER=DIR|TARBALL, or
# INSTALLER_KERNEL= INSTALLER_INITRD= INSTALLER_CMDLINE=; a demo installer otherwise.
INSTALLER ?=
INSTALLER_KERNEL ?=
INSTALLER_INITRD ?=
INSTALLER_CMDLINE ?=
export INSTALLER INSTALLER_KERNEL INSTALLER_INITRD INSTALLER_CMDLINE

# Only when set: an empty INSTALLER would make "$(INSTALLER)/*" mean every entry of / (and the
# initrd would be rebuilt whenever /tmp changes, even while tests read it).
INSTALLER_INPUTS := $(wildcard $(if $(INSTALLER),$(INSTALLER) $(INSTALLER)/* $(INSTALLER)/kexec/*) \
	$(INSTALLER_KERNEL) $(INSTALLER_INITRD))
INITRD_SEGMENTS += $(BUILD)/installer.cpio.zst

# Rebuild when the choice changes, not only when files do.
$(BUILD)/installer.choice: FORCE
	@mkdir -p $(BUILD)
	@printf '%s\n' "$$INSTALLER" "$$INSTALLER_KERNEL" "$$INSTALLER_INITRD" "$$INSTALLER_CMDLINE" > $@.tmp
	@if cmp -s $@.tmp $@; then rm $@.tmp; else mv $@.tmp $@; fi
.PHONY: FORCE
FORCE:

# The run-script parser, built for the host from the sources the unit tests cover: lib/ and
# act/ as they are in the tree, in an archive, so the linker takes only what the tool uses and
# a new or moved file needs no edit here.
TOOL_OBJS := $(patsubst %.c,$(BUILD)/tool/%.o,$(filter lib/% act/%,$(LIBSRCS)))
$(BUILD)/tool/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	gcc $(WARN) -O1 -I. -c $< -o $@
$(BUILD)/tool/libcore.a: $(TOOL_OBJS)
	rm -f $@ && ar rcs $@ $^
$(BUILD)/installer-cmdline: tools/installer-cmdline.c $(BUILD)/tool/libcore.a
	@mkdir -p $(BUILD)
	gcc $(WARN) -O1 -I. -o $@ $< $(BUILD)/tool/libcore.a

# The segment's contents do not depend on lifeboat's commit, and it is rebuilt only when they
# change: its timestamps are a constant (with the commit's time, a build after a new commit and
# a fresh build of that commit gave different images).
# The demo installer's kernel, built only when no installer is given: tinyconfig with
# kernel-config/demo (about 1 MiB where the rescue kernel is 8 MiB; the demo installer used to
# be a copy of it and doubled the image). Cached like KERNEL=source, by the hash of its config.
# Where Debian's linux-source cannot be had, the rescue kernel stands in, with a warning.
ifeq ($(INSTALLER)$(INSTALLER_KERNEL),)
DEMO_KERNEL_DEP := $(BUILD)/demo-kernel/.done
endif
$(BUILD)/demo-kernel/.done: tools/kernel-source.sh $(wildcard kernel-config/demo/*.config) $(BUILD)/kernel/.done | $(BUILD)/.deps
	@echo "demo installer kernel: tools/kernel-source.sh $(CACHE) $(BUILD)/demo-kernel kernel-config/demo"
	@SOURCE_DATE_EPOCH=0 tools/kernel-source.sh $(CACHE) $(BUILD)/demo-kernel kernel-config/demo || { \
		echo "warning: the small demo installer kernel could not be built; using the rescue kernel" >&2; \
		rm -rf $(BUILD)/demo-kernel && mkdir -p $(BUILD)/demo-kernel && \
		cp $(BUILD)/kernel/bzImage $(BUILD)/demo-kernel/bzImage && \
		echo "kernel (the rescue kernel: the demo kernel build failed)" > $(BUILD)/demo-kernel/SOURCE; }
	touch $@

$(BUILD)/installer/INFO: $(BUILD)/installer.choice tools/installer.sh tools/mkpayload.sh $(BUILD)/installer-cmdline \
		$(BUILD)/payload-init $(DEMO_KERNEL_DEP) $(INSTALLER_INPUTS)
	SOURCE_DATE_EPOCH=0 tools/installer.sh $(BUILD)/installer $(BUILD)/payload-init $(BUILD)/demo-kernel/bzImage $(BUILD)/installer-cmdline

$(BUILD)/installer.cpio: $(BUILD)/installer/INFO tools/mkinitramfs.py
	{ echo "dir /installer 0700"; \
	  for f in kernel initrd cmdline name; do \
		[ -f $(BUILD)/installer/$$f ] && echo "file /installer/$$f 0600 $(BUILD)/installer/$$f"; \
	  done; true; } > $(BUILD)/installer.spec
	SOURCE_DATE_EPOCH=0 $(PYTHON) tools/mkinitramfs.py $(BUILD)/installer.spec -o $@

# A zstd frame of its own: `zstd -dc initrd.img` reads both archives, and the kernel unpacks
# them one after the other. Kernel and initrd inside are compressed already: a fast level will do.
$(BUILD)/installer.cpio.zst: $(BUILD)/installer.cpio
	zstd -q -3 -T1 -f $< -o $@

$(OUT)/initrd.img: $(BUILD)/installer.cpio.zst tools/initrd-append.sh
$(OUT)/BUILDINFO: $(BUILD)/installer.cpio.zst
