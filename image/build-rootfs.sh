#!/bin/sh
# make image-rootfs: the appliance's root file system as a directory, built with mmdebstrap
# from the same overlays and image/scripts/*.sh as the debos recipe (rpi4-rootfs.yaml), for
# machines where debos cannot run and for the smoke test (tests/image/smoke.sh).
#   sh image/build-rootfs.sh [ARCH]
# ARCH defaults to arm64 (profile rpi4: the board's kernel and firmware, as in the image) when
# this machine can run arm64 programs (qemu-user-static registered with binfmt_misc), else to
# this machine's own architecture with profile "container": the same system without kernel and
# firmware, for booting in a container. /etc/smsd-image-release in the result says which.
# Output: build/image/rootfs-ARCH/. Needs root, mmdebstrap, and the mirror from image/mirrors.sh.
set -eu
cd "$(dirname "$0")/.."
IMG=$(pwd)/image
HOST_ARCH=$(dpkg --print-architecture)

runs_arm64() {
    [ "$HOST_ARCH" = arm64 ] || grep -qx enabled /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null
}

if [ -n "${1:-}" ]; then ARCH=$1
elif runs_arm64; then ARCH=arm64
else ARCH=$HOST_ARCH
fi
PROFILE=container
[ "$ARCH" != arm64 ] || PROFILE=rpi4
OUT=$(pwd)/build/image
ROOT=$OUT/rootfs-$ARCH
say() { echo "image-rootfs: $*"; }

# A hook that runs one of image/scripts inside the new root (what debos' chroot `run` does).
in_target() {
    script=$1; shift
    printf 'chroot "$1" /bin/sh -s -- %s <%s' "$*" "$IMG/scripts/$script"
}

[ "$(id -u)" = 0 ] || { echo "image-rootfs: needs root (mmdebstrap in root mode)" >&2; exit 1; }
command -v mmdebstrap >/dev/null ||
    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q mmdebstrap; }
[ "$PROFILE" = rpi4 ] ||
    say "NOTE: $ARCH root file system with profile 'container' (this machine cannot run arm64" \
        "programs): for the smoke test, not a board image"
sh debian/build-deb.sh "$ARCH"
DEB=$(ls -t build/deb/smsd_*_"$ARCH".deb | head -n 1)
set -- $(sh "$IMG/mirrors.sh")
MIRROR=$1 SECURITY=${2:-}
say "bootstrapping bookworm $ARCH ($PROFILE) from $MIRROR with $(basename "$DEB")"
rm -rf "$ROOT" && mkdir -p "$OUT"
BOARD_OVERLAY=true
[ "$PROFILE" != rpi4 ] || BOARD_OVERLAY="sync-in $IMG/overlay-rpi4 /"
mmdebstrap --variant=minbase --architectures="$ARCH" --components=main,non-free-firmware \
    --customize-hook="sync-in $IMG/overlay /" \
    --customize-hook="$BOARD_OVERLAY" \
    --customize-hook="$(in_target apt-sources.sh "$MIRROR" "$SECURITY")" \
    --customize-hook="$(in_target packages.sh "$PROFILE")" \
    --customize-hook='mkdir -p "$1/var/tmp/smsd-debs"' \
    --customize-hook="copy-in $DEB /var/tmp/smsd-debs" \
    --customize-hook="$(in_target install-smsd.sh)" \
    --customize-hook="$(in_target configure.sh "$PROFILE" "$ARCH")" \
    bookworm "$ROOT" "$MIRROR" >"$OUT/mmdebstrap-$ARCH.log" 2>&1 ||
    { tail -n 40 "$OUT/mmdebstrap-$ARCH.log" >&2; echo "image-rootfs: failed" >&2; exit 1; }
say "built $ROOT:"
sed 's/^/image-rootfs:   /' "$ROOT/etc/smsd-image-release"
