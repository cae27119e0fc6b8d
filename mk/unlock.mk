# Unlocking (docs/unlock.md): the static cryptsetup in /sbin. The scan describes LUKS devices
# with it (discover/luks.c) and `lifeboat unlock` opens them (act/unlock.c).
# The libraries built inside cryptsetup's recipe are inputs of its hash; make must know too.
$(TP)/cryptsetup.dir: third_party/recipes/json-c.sh third_party/recipes/popt.sh third_party/recipes/libuuid.sh third_party/recipes/lvm2.sh third_party/recipes/libaio.sh

# zstd (decompress only): the scan reads mapping names out of NixOS initrds (discover/cryptnames.c).
$(BUILD)/unlock.spec: $(TP)/cryptsetup.dir $(TP)/zstd-decompress.dir mk/unlock.mk
	@mkdir -p $(BUILD)
	{ cs=$$(cat $(TP)/cryptsetup.dir) zd=$$(cat $(TP)/zstd-decompress.dir); \
	  echo "file /sbin/cryptsetup 0755 $$cs/sbin/cryptsetup"; \
	  echo "file /sbin/zstd 0755 $$zd/sbin/zstd"; } > $@.tmp && mv $@.tmp $@

INITRD_SPECS += $(BUILD)/unlock.spec
$(OUT)/initrd.img: $(BUILD)/unlock.spec
