#!/bin/sh
# Runs inside the target root. The appliance's base system; PROFILE says what runs it:
#   packages.sh rpi4        the Raspberry Pi 4 board image (Debian's arm64 kernel + firmware)
#   packages.sh container   the smoke-test root file system (booted in a container: no kernel)
# fdisk (sfdisk) grows the board's root partition on first boot (smsd-grow-root.service).
# polkitd lets smsd (unprivileged) ask networkd, hostnamed and timedated for network changes.
# systemd-resolved comes last, in configure.sh: installing it points /etc/resolv.conf at a
# resolver that is not running in the build chroot, which would break later downloads.
set -eu
PROFILE=$1
COMMON="systemd-sysv dbus udev kmod iproute2 iputils-ping netbase ca-certificates
        systemd-timesyncd procps less polkitd"
case "$PROFILE" in
    rpi4) EXTRA="linux-image-arm64 raspi-firmware e2fsprogs dosfstools fdisk" ;;
    container) EXTRA="" ;;
    *) echo "packages.sh: unknown profile '$PROFILE'" >&2; exit 2 ;;
esac
export DEBIAN_FRONTEND=noninteractive
# Installing the kernel makes its initramfs, and initramfs-tools' trigger at the end of the same
# apt run makes it again (10 minutes each under qemu-user). INITRD=No skips the first; the
# trigger then finds none to update, and it is made once below, with everything it takes in.
# shellcheck disable=SC2086  # word splitting of the package lists is intended
INITRD=No apt-get install -y -q --no-install-recommends $COMMON $EXTRA
[ "$PROFILE" != rpi4 ] || update-initramfs -c -k all
