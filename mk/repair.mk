# The repair toolbox: filesystem checkers and repairers on the rescue shell's PATH (/sbin), one
# spec of their own added to the image. fsck is e2fsprogs' wrapper: `fsck -t TYPE` runs
# fsck.TYPE, so each type checked gets a fsck.TYPE link. Which tool checks which type is
# lib/fstype.c's table; how each repairs, act/fscheck.c's.
REPAIR_PARTS := e2fsprogs dosfstools btrfs-progs xfsprogs f2fs-tools
E2FS_TOOLS := e2fsck tune2fs dumpe2fs debugfs resize2fs fsck
FAT_TOOLS := fsck.fat mkfs.fat fatlabel
BTRFS_TOOLS := btrfs fsck.btrfs
XFS_TOOLS := xfs_repair xfs_db fsck.xfs
# fsck.f2fs acts by the name it is called by: dump.f2fs is a link to it.
F2FS_TOOLS := fsck.f2fs

$(BUILD)/repair.spec: $(REPAIR_PARTS:%=$(TP)/%.dir) mk/repair.mk
	@mkdir -p $(BUILD)
	{ e2=$$(cat $(TP)/e2fsprogs.dir) fat=$$(cat $(TP)/dosfstools.dir) bt=$$(cat $(TP)/btrfs-progs.dir) xfs=$$(cat $(TP)/xfsprogs.dir) \
	  f2fs=$$(cat $(TP)/f2fs-tools.dir); \
	  for t in $(E2FS_TOOLS); do echo "file /sbin/$$t 0755 $$e2/sbin/$$t"; done; \
	  for t in ext2 ext3 ext4; do echo "slink /sbin/fsck.$$t e2fsck"; done; \
	  for t in $(FAT_TOOLS); do echo "file /sbin/$$t 0755 $$fat/sbin/$$t"; done; \
	  for t in vfat msdos; do echo "slink /sbin/fsck.$$t fsck.fat"; done; \
	  echo "slink /sbin/mkfs.vfat mkfs.fat"; \
	  for t in $(BTRFS_TOOLS); do echo "file /sbin/$$t 0755 $$bt/sbin/$$t"; done; \
	  echo "slink /sbin/btrfstune btrfs"; \
	  for t in $(XFS_TOOLS); do echo "file /sbin/$$t 0755 $$xfs/sbin/$$t"; done; \
	  for t in $(F2FS_TOOLS); do echo "file /sbin/$$t 0755 $$f2fs/sbin/$$t"; done; \
	  echo "slink /sbin/dump.f2fs fsck.f2fs"; } > $@.tmp && mv $@.tmp $@

INITRD_SPECS += $(BUILD)/repair.spec
$(OUT)/initrd.img: $(BUILD)/repair.spec
# The libraries built inside btrfs-progs' and xfsprogs' recipes are inputs of their hashes;
# make must know too.
$(TP)/btrfs-progs.dir: third_party/recipes/zlib.sh third_party/recipes/zstd.sh third_party/recipes/lzo.sh third_party/recipes/blkid.sh
$(TP)/xfsprogs.dir: third_party/recipes/liburcu.sh third_party/recipes/libuuid.sh third_party/recipes/blkid.sh
