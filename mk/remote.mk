# Remote rescue (docs/remote.md): the SSH server (dropbear, third_party/recipes/dropbear.sh) and
# what the build puts in for it:
#   make AUTHORIZED_KEYS=FILE   public keys allowed to log in as root, built into the image
#   make SSH_HOST_KEYS=DIR      OpenSSH host keys (DIR/ssh_host_{ed25519,ecdsa,rsa}_key) to use
#                               instead of a key generated at each boot, so a pinned fingerprint holds
AUTHORIZED_KEYS ?=
SSH_HOST_KEYS ?=
DROPBEAR_LINKS := dropbear dropbearkey dropbearconvert

# Rewritten only when the keys given (their names or their contents) change, so the image is
# rebuilt then and only then.
$(BUILD)/remote.spec: $(TP)/dropbear.dir $(TP)/sftp-server.dir mk/remote.mk FORCE
	@mkdir -p $(BUILD)/remote
	@rm -rf $(BUILD)/remote/new && mkdir -p $(BUILD)/remote/new/hostkeys
	@{ echo "file /sbin/dropbearmulti 0755 $$(cat $(TP)/dropbear.dir)/sbin/dropbearmulti"; \
	  for l in $(DROPBEAR_LINKS); do echo "slink /sbin/$$l dropbearmulti"; done; \
	  echo "slink /usr/bin/scp ../../sbin/dropbearmulti"; \
	  echo "file /usr/libexec/sftp-server 0755 $$(cat $(TP)/sftp-server.dir)/libexec/sftp-server"; \
	  if [ -n "$(AUTHORIZED_KEYS)" ]; then \
	    cp "$(AUTHORIZED_KEYS)" $(BUILD)/remote/new/authorized_keys || exit 1; \
	    echo "file /etc/lifeboat/authorized_keys 0600 $(BUILD)/remote/authorized_keys"; fi; \
	  if [ -n "$(SSH_HOST_KEYS)" ]; then \
	    found=; for t in ed25519 ecdsa rsa; do f="$(SSH_HOST_KEYS)/ssh_host_$${t}_key"; \
	      [ -f "$$f" ] || continue; found=1; cp "$$f" $(BUILD)/remote/new/hostkeys/ || exit 1; \
	      echo "file /etc/lifeboat/ssh_host_keys/ssh_host_$${t}_key 0600 $(BUILD)/remote/hostkeys/ssh_host_$${t}_key"; done; \
	    [ -n "$$found" ] || { echo "SSH_HOST_KEYS=$(SSH_HOST_KEYS) holds no ssh_host_{ed25519,ecdsa,rsa}_key" >&2; exit 1; }; fi; \
	} > $(BUILD)/remote/new/spec
	@if ! diff -r $(BUILD)/remote/new $(BUILD)/remote/cur >/dev/null 2>&1; then \
		rm -rf $(BUILD)/remote/cur $(BUILD)/remote/authorized_keys $(BUILD)/remote/hostkeys; \
		cp -a $(BUILD)/remote/new $(BUILD)/remote/cur; \
		[ ! -f $(BUILD)/remote/new/authorized_keys ] || cp $(BUILD)/remote/new/authorized_keys $(BUILD)/remote/; \
		cp -a $(BUILD)/remote/new/hostkeys $(BUILD)/remote/hostkeys; \
		cp $(BUILD)/remote/new/spec $@; \
	fi
	@test -f $@ || cp $(BUILD)/remote/new/spec $@

INITRD_SPECS += $(BUILD)/remote.spec
$(OUT)/initrd.img: $(BUILD)/remote.spec

# out/lifeboat-keys: keys for an image already built, as an initrd of their own (README, "Keys
# without rebuilding").
image: $(OUT)/lifeboat-keys
$(OUT)/SHA256SUMS: $(OUT)/lifeboat-keys
$(OUT)/lifeboat-keys: tools/lifeboat-keys.sh
	@mkdir -p $(OUT)
	cp $< $@.tmp && chmod 755 $@.tmp && mv $@.tmp $@
