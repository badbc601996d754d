#!/bin/sh
# debos run step on the build machine (not in the image), after filesystem-deploy: moves the
# deployed root's /boot/firmware into the image's first partition (FAT, RASPIFIRM), where the
# board's firmware reads it and the running system mounts it back on /boot/firmware. mtools
# writes the FAT without mounting it, so no vfat driver is needed on the build machine.
# debos sets IMAGE (the image file or its block device) and IMAGEMNTDIR (the mounted root).
set -eu
: "${IMAGE:?run by debos}" "${IMAGEMNTDIR:?run by debos}"
FW=$IMAGEMNTDIR/boot/firmware
[ -e "$FW/config.txt" ] || { echo "fat-firmware: no config.txt in /boot/firmware" >&2; exit 1; }
# partx counts in 512-byte sectors; mtools takes the partition as a byte offset in the image.
start=$(partx --noheadings --output START --nr 1 "$IMAGE" | tr -d ' ')
FAT="$IMAGE@@$((start * 512))"
export MTOOLS_SKIP_CHECK=1   # the FAT's geometry fields mean nothing on an SD card
mcopy -s -m -Q -i "$FAT" "$FW"/* ::/
mdir -b -i "$FAT" ::/ | sed 's|^|fat-firmware: |'
# The mounted FAT hides whatever lies under /boot/firmware in the root: leave nothing there.
find "$FW" -mindepth 1 -delete
