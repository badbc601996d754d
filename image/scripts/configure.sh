#!/bin/sh
# Runs inside the target root, after the packages and smsd are installed and the overlay
# (image/overlay, plus image/overlay-rpi4 for the board) is in place:
#   configure.sh PROFILE ARCH       PROFILE = rpi4 | container
# Services, the first-boot unit, board boot files, and what makes every device unique on its
# first boot (machine id, passwords) removed from the image.
set -eu
PROFILE=$1
ARCH=$2

services() {
    systemctl enable systemd-networkd.service systemd-timesyncd.service \
        smsd-firstboot.service smsd-admin-password.path smsd.service
    # The default gateway's link being up is not "online" for a modem gateway; do not wait.
    systemctl disable systemd-networkd-wait-online.service 2>/dev/null || true
}

resolver() {
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends systemd-resolved
    ln -sf ../run/systemd/resolve/stub-resolv.conf /etc/resolv.conf
    systemctl enable systemd-resolved.service
}

board_rpi4() {
    cat >/etc/fstab <<FSTAB
# The partitions are found by label: RASPIROOT (ext4) and RASPIFIRM (FAT, read by the firmware).
# x-systemd.growfs: the root file system fills its partition, which smsd-grow-root.service
# extends to the card's end on first boot.
LABEL=RASPIROOT  /               ext4  rw,errors=remount-ro,x-systemd.growfs  0 1
LABEL=RASPIFIRM  /boot/firmware  vfat  rw,umask=0077                          0 2
FSTAB
    systemctl enable smsd-grow-root.service
    # cmdline.txt: root by label, console on the pin header UART and on HDMI (first boot shows
    # the password on both).
    sed -i -e 's|^#\?ROOTPART=.*|ROOTPART=LABEL=RASPIROOT|' \
        -e 's|^#\?CONSOLES=.*|CONSOLES="ttyS1,115200 tty0"|' /etc/default/raspi-firmware
    grep -q '^ROOTPART=LABEL=RASPIROOT' /etc/default/raspi-firmware ||
        echo 'ROOTPART=LABEL=RASPIROOT' >>/etc/default/raspi-firmware
    grep -q '^CONSOLES=' /etc/default/raspi-firmware ||
        echo 'CONSOLES="ttyS1,115200 tty0"' >>/etc/default/raspi-firmware
    # Rewrite config.txt and cmdline.txt in /boot/firmware with the settings above.
    DEB_MAINT_PARAMS=configure /etc/kernel/postinst.d/z50-raspi-firmware
    grep -q 'root=LABEL=RASPIROOT' /boot/firmware/cmdline.txt
    grep -q '^dtparam=watchdog=on' /boot/firmware/config.txt
}

appliance_network() {
    # smsd manages the network here (docs/network.md); smsd.conf ships without
    # a [network] section, so the appliance's is added, once.
    grep -q '^\[network\]' /etc/smsd/smsd.conf || cat >>/etc/smsd/smsd.conf <<'CONF'

# Added by the appliance image: smsd owns this box's network settings.
[network]
manage = yes
interface = eth0
CONF
    # smsd may add its own files; the sticky bit keeps it off the image's (root's) files.
    chgrp smsd /etc/systemd/network
    chmod 1775 /etc/systemd/network
}

first_boot_state() {
    # Nothing device-specific leaves the build: the machine id is made on first boot (which
    # also makes systemd treat that boot as the first), root stays locked until smsd-firstboot
    # sets a password, and the daemon's state dir is empty so no admin password is shipped.
    echo uninitialized >/etc/machine-id
    rm -f /var/lib/dbus/machine-id
    passwd -l root >/dev/null
    rm -rf /var/lib/smsd /var/lib/smsd-image /etc/issue.d/smsd-first-boot.issue
    echo smsd >/etc/hostname && chmod 0644 /etc/hostname
    printf '127.0.0.1\tlocalhost\n127.0.1.1\tsmsd\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' \
        >/etc/hosts
}

label() {
    what="Raspberry Pi 4 board image"
    [ "$PROFILE" = rpi4 ] || what="container root file system for the smoke test, not a board image"
    printf 'profile=%s\narch=%s\ndescription=%s\nsmsd=%s\n' "$PROFILE" "$ARCH" "$what" \
        "$(dpkg-query -W -f='${Version}' smsd)" >/etc/smsd-image-release
}

services
appliance_network
[ "$PROFILE" != rpi4 ] || board_rpi4
first_boot_state
label
resolver                # last download: name resolution in the build chroot ends here
apt-get clean
rm -rf /var/lib/apt/lists/*
