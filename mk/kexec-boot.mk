# out/kexec-boot (start lifeboat on a running Linux) and out/kexec (static kexec-tools for hosts
# without one): copy out/ to a broken host and run ./kexec-boot there as root.
image: $(OUT)/kexec-boot $(OUT)/kexec
$(OUT)/SHA256SUMS: $(OUT)/kexec-boot $(OUT)/kexec

$(OUT)/kexec-boot: tools/kexec-boot.sh
	@mkdir -p $(OUT)
	sed 's/@VERSION@/$(VERSION)/' $< > $@.tmp && chmod 755 $@.tmp && mv $@.tmp $@

$(OUT)/kexec: $(TP)/kexec.dir
	@mkdir -p $(OUT)
	cp $$(cat $<)/sbin/kexec $@
