#!/bin/sh
# make image: the Raspberry Pi 4 SD card image, build/image/smsd-rpi4.img (+ .bmap), with the
# smsd package cross-built for arm64, in two debos recipes: image/rpi4-rootfs.yaml builds the
# root file system (smsd-rpi4-rootfs.tar.gz, the long part), image/smsd-rpi4.yaml lays it out
# on the card image. tests/image/check_img.py then checks the image; a broken one fails here.
#   sh image/build-image.sh
# IMAGE_REUSE_ROOTFS=1 skips the root file system when its tarball exists (to re-run the image
# steps only). MIRROR / SECURITY_MIRROR override the Debian archives (default: this machine's,
# mirrors.sh). DEBOS_ARGS is added to the debos command line (e.g. "--fakemachine-backend=uml");
# when unset it is chosen here: debos' fakemachine VM where KVM and this kernel's modules are
# there (fast), else as root "--disable-fakemachine": the build then runs on this machine,
# which needs loop devices and qemu-user-static registered with binfmt_misc for arm64 programs.
set -eu
cd "$(dirname "$0")/.."
OUT=$(pwd)/build/image
RECIPES=$(pwd)/image
IMG=smsd-rpi4.img
ROOTFS=smsd-rpi4-rootfs.tar.gz
say() { echo "image: $*"; }

need() {
    missing=""
    command -v debos >/dev/null || missing="$missing debos"
    command -v bmaptool >/dev/null || missing="$missing bmap-tools"
    # image-partition runs these (on this machine's /usr, also inside fakemachine); mtools
    # writes the firmware partition; fdisk (sfdisk) and debugfs read the image in the check.
    command -v parted >/dev/null || missing="$missing parted"
    command -v mkfs.vfat >/dev/null || missing="$missing dosfstools"
    command -v mcopy >/dev/null || missing="$missing mtools"
    command -v sfdisk >/dev/null || missing="$missing fdisk"
    command -v debugfs >/dev/null || missing="$missing e2fsprogs"
    [ -e /usr/bin/qemu-aarch64-static ] || [ "$(dpkg --print-architecture)" = arm64 ] ||
        missing="$missing qemu-user-static"
    [ -z "$missing" ] && return
    [ "$(id -u)" = 0 ] || { echo "image: please install:$missing" >&2; exit 1; }
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing
}

# Without systemd as PID 1 (a container) nobody registers qemu-user with binfmt_misc; debos
# building on this machine needs that to run the image's arm64 programs.
arm64_binfmt() {
    [ "$(dpkg --print-architecture)" != arm64 ] || return 0
    [ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
    [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] && return
    say "registering qemu-aarch64 with binfmt_misc (/usr/lib/binfmt.d/qemu-aarch64.conf)"
    cat /usr/lib/binfmt.d/qemu-aarch64.conf >/proc/sys/fs/binfmt_misc/register
}

# fakemachine boots this machine's kernel with its modules: /dev/kvm alone is not enough (a
# container may have the device but no /lib/modules).
choose_debos_args() {
    [ -z "${DEBOS_ARGS+set}" ] || return 0
    DEBOS_ARGS=""
    if [ -w /dev/kvm ] && [ -d "/lib/modules/$(uname -r)" ]; then
        return
    fi
    if [ "$(id -u)" = 0 ]; then
        say "no usable KVM fakemachine (/dev/kvm and /lib/modules/$(uname -r)): building on this machine"
        DEBOS_ARGS=--disable-fakemachine
    else
        say "no usable KVM fakemachine: debos takes its uml backend if installed (slow), or run as root"
    fi
}

# Building on this machine (no fakemachine) as a container allows.
on_this_machine() {
    # debos' chroot steps (systemd-nspawn) bind /dev/disk, which udev makes on a normal host.
    [ -d /dev/disk ] || { say "creating the empty /dev/disk debos binds"; mkdir /dev/disk; }
    if ! udevadm control --ping -t 2 2>/dev/null; then
        say "no udev daemon: debos' 'udevadm trigger --settle' is skipped (image/no-udev)"
        PATH=$(pwd)/image/no-udev:$PATH
    fi
}

need
[ "$(id -u)" != 0 ] || arm64_binfmt
choose_debos_args
case " $DEBOS_ARGS " in *" --disable-fakemachine "*|"  ") on_this_machine ;; esac
mkdir -p "$OUT"
start=$(date +%s)
if [ "${IMAGE_REUSE_ROOTFS:-0}" = 1 ] && [ -e "$OUT/$ROOTFS" ]; then
    say "reusing $OUT/$ROOTFS (IMAGE_REUSE_ROOTFS=1)"
else
    sh debian/build-deb.sh arm64
    DEB=$(ls -t build/deb/smsd_*_arm64.deb | head -n 1)
    rm -rf "$OUT/debs" && mkdir -p "$OUT/debs" && cp "$DEB" "$OUT/debs/"
    set -- $(sh image/mirrors.sh)
    say "debos: bookworm arm64 root file system from $1 with $(basename "$DEB")${DEBOS_ARGS:+ ($DEBOS_ARGS)}"
    # shellcheck disable=SC2086  # DEBOS_ARGS is a list of options
    debos $DEBOS_ARGS --artifactdir="$OUT" -t mirror:"$1" -t security:"${2:-}" \
        -t debs:../build/image/debs image/rpi4-rootfs.yaml
fi
say "debos: the card image from $ROOTFS"
# Run from the artifact directory: building on this machine, debos makes the image file and
# runs the block map step in its working directory, not in --artifactdir.
# shellcheck disable=SC2086
(cd "$OUT" && debos $DEBOS_ARGS --artifactdir="$OUT" -t image:"$IMG" "$RECIPES/smsd-rpi4.yaml")
say "built $OUT/$IMG and $IMG.bmap in $(( ($(date +%s) - start) / 60 )) min; checking it"
python3 tests/image/check_img.py "$OUT/$IMG"
