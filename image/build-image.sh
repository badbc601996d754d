#!/bin/sh
# make image: the Raspberry Pi 4 SD card image, build/image/smsd-rpi4.img (+ .bmap), from the
# debos recipe image/smsd-rpi4.yaml with the smsd package cross-built for arm64.
#   sh image/build-image.sh
# debos runs its build in a fakemachine VM: with /dev/kvm (fast), else with its user-mode
# Linux backend (package user-mode-linux; slow); without either, or as root with
# DEBOS_ARGS=--disable-fakemachine, straight on this machine, which then needs loop devices and
# qemu-user-static registered with binfmt_misc for arm64 programs.
# MIRROR / SECURITY_MIRROR override the Debian archives (default: this machine's, mirrors.sh);
# DEBOS_ARGS is added to the debos command line (e.g. "--fakemachine-backend=uml").
set -eu
cd "$(dirname "$0")/.."
OUT=$(pwd)/build/image
say() { echo "image: $*"; }

need() {
    missing=""
    command -v debos >/dev/null || missing="$missing debos"
    command -v bmaptool >/dev/null || missing="$missing bmap-tools"
    # image-partition runs these (on this machine's /usr, also inside fakemachine)
    command -v parted >/dev/null || missing="$missing parted"
    command -v mkfs.vfat >/dev/null || missing="$missing dosfstools"
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

need
[ "$(id -u)" != 0 ] || arm64_binfmt
sh debian/build-deb.sh arm64
DEB=$(ls -t build/deb/smsd_*_arm64.deb | head -n 1)
rm -rf "$OUT/debs" && mkdir -p "$OUT/debs" && cp "$DEB" "$OUT/debs/"
set -- $(sh image/mirrors.sh)
say "debos: bookworm arm64 from $1 with $(basename "$DEB")${DEBOS_ARGS:+ ($DEBOS_ARGS)}"
[ -e /dev/kvm ] || [ -n "${DEBOS_ARGS:-}" ] ||
    say "no /dev/kvm: debos takes fakemachine's uml backend if installed, else runs on this machine"
# Running on this machine (no fakemachine) is what debos does without KVM or user-mode Linux too.
case " ${DEBOS_ARGS:-} " in *" --disable-fakemachine "*|"  ")
    # debos' chroot steps (systemd-nspawn) bind /dev/disk, which udev makes on a normal host
    # and a container lacks.
    [ -d /dev/disk ] || { say "creating the empty /dev/disk debos binds"; mkdir /dev/disk; } ;;
esac
# shellcheck disable=SC2086  # DEBOS_ARGS is a list of options
debos ${DEBOS_ARGS:-} --artifactdir="$OUT" -t mirror:"$1" -t security:"${2:-}" \
    -t debs:../build/image/debs -t image:smsd-rpi4.img image/smsd-rpi4.yaml
say "built $OUT/smsd-rpi4.img and $OUT/smsd-rpi4.img.bmap"
