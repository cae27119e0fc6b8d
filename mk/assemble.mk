# Assembly tools (docs/assemble.md): static mdadm, lvm and dmsetup in /sbin, and the image's
# lvm.conf, which forbids metadata writes. The scan runs them (discover/assemble.c).
ASSEMBLE_PARTS := lvm2 mdadm
# lvm2's recipe builds libaio itself (thirdparty.sh libaio); a change there rebuilds lvm2.
$(TP)/lvm2.dir: third_party/recipes/libaio.sh

$(BUILD)/assemble.spec: $(ASSEMBLE_PARTS:%=$(TP)/%.dir) mk/assemble.mk initramfs/lvm.conf
	@mkdir -p $(BUILD)
	{ lvm=$$(cat $(TP)/lvm2.dir) md=$$(cat $(TP)/mdadm.dir); \
	  echo "file /sbin/lvm 0755 $$lvm/sbin/lvm"; \
	  echo "file /sbin/dmsetup 0755 $$lvm/sbin/dmsetup"; \
	  echo "file /sbin/mdadm 0755 $$md/sbin/mdadm"; \
	  for t in vgchange vgscan vgs lvs pvs vgdisplay lvdisplay pvdisplay; do echo "slink /sbin/$$t lvm"; done; \
	  echo "file /etc/lvm/lvm.conf 0644 initramfs/lvm.conf"; } > $@.tmp && mv $@.tmp $@

INITRD_SPECS += $(BUILD)/assemble.spec
$(OUT)/initrd.img: $(BUILD)/assemble.spec
