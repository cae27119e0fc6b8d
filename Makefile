# lifeboat: `make` builds the image into $(OUT); `make check` runs every test; `make demo` boots it.
# Source folders are globbed: a new .c file needs no edit here.

OUT     ?= out
BUILD   ?= build
CACHE   ?= $(HOME)/.cache/lifeboat
KERNEL  ?= debian
PYTHON  ?= /usr/bin/python3
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
VERSION ?= $(shell git describe --tags --always 2>/dev/null || echo unknown)
export SOURCE_DATE_EPOCH
# The VM fixture builders keep what they make in the shared cache too (tests/vm/layerfix.py).
export CACHE

SRCDIRS := lib init discover report present act net applets
SRCS    := $(sort $(wildcard $(addsuffix /*.c,$(SRCDIRS))))
LIBSRCS := $(filter-out applets/main.c,$(SRCS))
HDRS    := $(wildcard $(addsuffix /*.h,$(SRCDIRS)))
UNIT    := $(sort $(wildcard tests/unit/test_*.c))

WARN    := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
# Only lib/version.c gets the version (see $(BUILD)/.version below).
DEFS    :=
TP      := $(BUILD)/tp
# Each test tier records its results here (NAME.txt lines "pass|fail|skip WHAT", or pytest's
# NAME.xml); tools/tally.py sums them into one line (.ci/run prints it last).
TALLY   := $(BUILD)/tally

.PHONY: all help deps image check unit unit-tools unit-kernel vmtest repro fuzz demo bench clean distclean
all: image

# `make help`: every line "#help TARGET  what it does" of this file and mk/*.mk, in file order,
# so an area documents its own targets where it defines them.
#help help              this list
#help image             build the image into $(OUT) (the default target)
#help deps              install the Debian packages the build and tests need (as root)
#help unit              C unit tests (ASan+UBSan) and the build checks; needs no root
#help unit-kernel       test_modules against the fetched kernel's modules
#help vmtest            every VM test (two at a time): long, prefer one file with pytest
#help check             everything CI runs: unit, unit-kernel, repro, vmtest, fuzz, fixtures-check...
#help repro            build a second time elsewhere and compare the bytes
#help demo             boot the image in QEMU with a demo disk
#help clean             remove $(BUILD) and $(OUT)
#help distclean        clean, and remove the third-party cache $(CACHE)
help:
	@sed -n 's/^#help //p' $(MAKEFILE_LIST) | \
		awk '{ t = $$1; sub(/^[^ ]+ +/, ""); printf "  %-20s %s\n", t, $$0 }'

deps: $(BUILD)/.deps
$(BUILD)/.deps: tools/deps.sh
	tools/deps.sh
	@mkdir -p $(BUILD) && touch $@

# Third-party parts, built static against musl and cached by version under $(CACHE).
# Each .dir file names the cached install folder.
$(TP)/%.dir: tools/thirdparty.sh third_party/recipes/%.sh tools/fetch-source.sh tools/musl-kheaders.sh tools/cache-lock.sh third_party/busybox.config | $(BUILD)/.deps
	@mkdir -p $(TP)
	tools/thirdparty.sh $* $(CACHE) > $@.tmp && mv $@.tmp $@
$(TP)/kheaders.dir: tools/musl-kheaders.sh | $(BUILD)/.deps
	@mkdir -p $(TP)
	tools/musl-kheaders.sh $(CACHE) > $@.tmp && mv $@.tmp $@

# The version and timestamp baked into the image; rewritten only when they change, so that a
# new commit rebuilds what carries them and nothing else.
$(BUILD)/.version: FORCE
	@mkdir -p $(BUILD)
	@echo '$(VERSION) $(SOURCE_DATE_EPOCH)' | cmp -s - $@ || echo '$(VERSION) $(SOURCE_DATE_EPOCH)' > $@
.PHONY: FORCE

# The lifeboat program: static, musl, no ELF interpreter.
MUSL_OBJS := $(SRCS:%.c=$(BUILD)/musl/%.o)
$(BUILD)/musl/%.o: %.c $(HDRS) $(TP)/blkid.dir $(TP)/liblzma.dir $(TP)/kheaders.dir
	@mkdir -p $(dir $@)
	musl-gcc $(WARN) $(DEFS) -O2 -I. -isystem $$(cat $(TP)/kheaders.dir) \
		-I$$(cat $(TP)/blkid.dir)/include -I$$(cat $(TP)/liblzma.dir)/include \
		-ffile-prefix-map=$(CURDIR)/= -c $< -o $@
# The version object: the only one a new commit recompiles.
VERSION_OBJS := $(BUILD)/musl/lib/version.o $(BUILD)/host/lib/version.o
$(VERSION_OBJS): $(BUILD)/.version
$(VERSION_OBJS): DEFS := -DLB_VERSION_STRING='"$(VERSION)"'
$(BUILD)/lifeboat: $(MUSL_OBJS) $(TP)/blkid.dir $(TP)/liblzma.dir
	musl-gcc -static -o $@ $(MUSL_OBJS) $$(cat $(TP)/blkid.dir)/lib/libblkid.a \
		$$(cat $(TP)/liblzma.dir)/lib/liblzma.a
	strip $@

# Kernel and modules: KERNEL=debian (default) or a folder with bzImage and lib/modules.
$(BUILD)/kernel/.done: tools/kernel.sh initramfs/modules.list initramfs/modules-plain.list | $(BUILD)/.deps
	tools/kernel.sh $(KERNEL) $(CACHE) $(BUILD)/kernel initramfs/modules.list initramfs/modules-plain.list
	touch $@

# Busybox's applets become links in the image.
$(BUILD)/busybox.spec: $(TP)/busybox.dir
	$$(cat $<)/bin/busybox --list-full | sort | \
		awk '{ n = split($$0, p, "/"); up = ""; for (i = 1; i < n; i++) up = up "../"; \
		       if ($$0 != "bin/sh" && $$0 != "bin/busybox") print "slink /" $$0 " " up "bin/busybox" }' > $@

$(BUILD)/release: $(BUILD)/lifeboat $(BUILD)/.version
	echo "lifeboat $(VERSION)" > $@

image: $(OUT)/bzImage $(OUT)/initrd.img $(OUT)/BUILDINFO $(OUT)/SHA256SUMS

$(OUT)/bzImage: $(BUILD)/kernel/.done
	@mkdir -p $(OUT)
	cp $(BUILD)/kernel/bzImage $@

$(OUT)/initrd.img: $(BUILD)/.version initramfs/spec $(BUILD)/busybox.spec $(TP)/kexec.dir $(BUILD)/lifeboat $(BUILD)/release $(BUILD)/kernel/.done tools/mkinitramfs.py $(wildcard initramfs/etc/*)
	@mkdir -p $(OUT)
	$(PYTHON) tools/mkinitramfs.py initramfs/spec $(BUILD)/busybox.spec $(INITRD_SPECS) -o $(BUILD)/initrd.cpio \
		--sizes $(BUILD)/initrd.sizes \
		-D LIFEBOAT=$(BUILD)/lifeboat -D BUSYBOX=$$(cat $(TP)/busybox.dir)/bin/busybox \
		-D KEXEC=$$(cat $(TP)/kexec.dir)/sbin/kexec -D RELEASE=$(BUILD)/release \
		-D MODULES=$(BUILD)/kernel/modules/lib/modules
	# A 1 MiB window: the kernel allocates the window while unpacking, so a small one lets the
	# menu come up in less RAM, for a slightly larger image (figures: docs/bench.md).
	zstd -q -19 -T1 --zstd=wlog=20 -f $(BUILD)/initrd.cpio -o $@
	tools/initrd-append.sh $@ $(INITRD_SEGMENTS)

$(OUT)/BUILDINFO: $(OUT)/initrd.img $(OUT)/bzImage tools/buildinfo.sh
	tools/buildinfo.sh $(BUILD) $(OUT) "$(VERSION)" > $@

$(OUT)/SHA256SUMS: $(OUT)/BUILDINFO
	cd $(OUT) && find . -type f ! -name SHA256SUMS ! -name '*.tmp' | sed 's|^\./||' | LC_ALL=C sort | \
		xargs sha256sum > SHA256SUMS

# Unit tests: host gcc with ASan and UBSan, linking the same sources as the image.
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
HOST_OBJS := $(LIBSRCS:%.c=$(BUILD)/host/%.o)
$(BUILD)/host/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	gcc $(WARN) $(DEFS) -g -O1 $(SAN) -I. -c $< -o $@
$(BUILD)/host/libcore.a: $(HOST_OBJS)
	rm -f $@ && ar rcs $@ $^
$(BUILD)/unit/%: tests/unit/%.c tests/unit/check.h $(BUILD)/host/libcore.a
	@mkdir -p $(dir $@)
	gcc $(WARN) -g -O1 $(SAN) -I. $< $(BUILD)/host/libcore.a -lblkid -llzma -o $@
# No $(BUILD)/.deps here: installing packages needs root, the unit tests do not (a missing
# header says what to install); tests/build/check.sh proves both, last.
unit: unit-tools $(UNIT:tests/unit/%.c=$(BUILD)/unit/%)
	@mkdir -p $(TALLY); : > $(TALLY)/unit.txt; failed=0; for t in $(filter $(BUILD)/unit/%,$^); do \
		if ( cd tests/unit && ASAN_OPTIONS=detect_leaks=0 ../../$$t ); then r=pass; else r=fail; failed=1; fi; \
		echo "$$r $${t##*/}" >> $(TALLY)/unit.txt; \
	done; \
	if tests/build/check.sh $(BUILD); then r=pass; else r=fail; failed=1; fi; \
	echo "$$r build-check" >> $(TALLY)/unit.txt; exit $$failed
unit-tools:
	@command -v gcc >/dev/null && test -e /usr/include/blkid/blkid.h && test -e /usr/include/lzma.h || { echo "make unit: needs gcc" \
		"and libblkid-dev, liblzma-dev (Debian); \`make deps\`, as root, installs them" >&2; exit 1; }
# test_modules against the real kernel's depmod output, which a fresh tree's `make unit` runs
# before the kernel is fetched (and then skips, saying so): here the kernel comes first.
unit-kernel: $(BUILD)/unit/test_modules $(BUILD)/kernel/.done
	@mkdir -p $(TALLY)
	@if ( cd tests/unit && LB_KERNEL_MODULES=$(abspath $(BUILD))/kernel/modules/lib/modules \
		ASAN_OPTIONS=detect_leaks=0 ../../$< ); then echo "pass test_modules-kernel"; \
	else echo "fail test_modules-kernel"; fi > $(TALLY)/unit-kernel.txt; grep -q ^pass $(TALLY)/unit-kernel.txt

# -rs: the reason of every skipped test is printed.
vmtest: image | $(BUILD)/.deps
	@mkdir -p $(TALLY)
	$(PYTHON) -m pytest -q -rs -n 2 --junitxml=$(abspath $(TALLY))/vm.xml tests/vm

check: unit unit-kernel repro vmtest

demo: image | $(BUILD)/.deps
	tools/demo.sh $(OUT) $(BUILD)

clean:
	rm -rf $(BUILD) $(OUT)
distclean: clean
	rm -rf $(CACHE)

# Each area of the work keeps its own rules in mk/<area>.mk (installer, boot paths, fuzzing...).
-include $(sort $(wildcard mk/*.mk))

# A tiny init that reports the command line it got and powers off: the stand-in payload of test
# fixtures (a generation's initrd) and of the demo installer.
$(BUILD)/payload-init: tools/payload-init.c $(TP)/kheaders.dir
	@mkdir -p $(BUILD)
	musl-gcc -static -Os -Wall -Wextra -Werror -isystem $$(cat $(TP)/kheaders.dir) -o $@ $<
	strip $@

# Reproducibility: a second build from scratch in another folder must give the same bytes.
repro: image
	rm -rf $(BUILD)/repro
	$(MAKE) --no-print-directory image BUILD=$(BUILD)/repro/build OUT=$(BUILD)/repro/out >/dev/null
	@mkdir -p $(TALLY); echo "fail repro" > $(TALLY)/repro.txt
	cmp $(OUT)/initrd.img $(BUILD)/repro/out/initrd.img
	cmp $(OUT)/bzImage $(BUILD)/repro/out/bzImage
	@echo "pass repro" > $(TALLY)/repro.txt
	@echo "repro: two builds give the same initrd.img: $$(sha256sum < $(OUT)/initrd.img | cut -c1-16)"
