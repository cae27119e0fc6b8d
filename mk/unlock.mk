# Unlocking (docs/unlock.md): the static cryptsetup in /sbin. The scan describes LUKS devices
# with it (discover/luks.c) and `lifeboat unlock` opens them (act/unlock.c).
# The libraries built inside cryptsetup's recipe are inputs of its hash; make must know too.
$(TP)/cryptsetup.dir: third_party/recipes/json-c.sh third_party/recipes/popt.sh third_party/recipes/libuuid.sh third_party/recipes/lvm2.sh third_party/recipes/libaio.sh

$(BUILD)/unlock.spec: $(TP)/cryptsetup.dir mk/unlock.mk
	@mkdir -p $(BUILD)
	{ cs=$$(cat $(TP)/cryptsetup.dir); \
	  echo "file /sbin/cryptsetup 0755 $$cs/sbin/cryptsetup"; } > $@.tmp && mv $@.tmp $@

INITRD_SPECS += $(BUILD)/unlock.spec
$(OUT)/initrd.img: $(BUILD)/unlock.spec
