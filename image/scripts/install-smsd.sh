#!/bin/sh
# Runs inside the target root: installs the smsd package put in /var/tmp/smsd-debs by the build
# (debos overlay or mmdebstrap copy-in), with its dependencies from the mirror. Not /tmp: debos
# runs these steps in systemd-nspawn, which mounts an empty tmpfs there.
set -eu
set -- /var/tmp/smsd-debs/smsd_*.deb
[ -f "$1" ] && [ $# = 1 ] || { echo "install-smsd.sh: want one smsd_*.deb, got: $*" >&2; exit 1; }
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$1"
rm -rf /var/tmp/smsd-debs
dpkg-query -W -f='installed ${Package} ${Version} ${Architecture}\n' smsd
