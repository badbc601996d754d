#!/bin/sh
# Runs inside the target root (debos `run` with chroot, or an mmdebstrap hook).
# The image's apt sources: the mirror the image was built from, plus -updates and, when given,
# the security archive. No host name is written here: make image passes this build machine's.
#   apt-sources.sh MIRROR [SECURITY_MIRROR]
set -eu
MIRROR=$1
SECURITY=${2:-}
SUITE=bookworm
COMPONENTS="main non-free-firmware"
{
    echo "deb $MIRROR $SUITE $COMPONENTS"
    echo "deb $MIRROR $SUITE-updates $COMPONENTS"
    [ -z "$SECURITY" ] || echo "deb $SECURITY $SUITE-security $COMPONENTS"
} >/etc/apt/sources.list
rm -f /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources
apt-get update -q
