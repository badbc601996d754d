#!/bin/sh
# `make fleet-test`: two smsd boxes on simulated boards behind Debian's Kannel (bearerbox +
# smsbox), tests/fleet/check_kannel_fleet.py. Installs the kannel package first when it is
# missing (root needed then), waiting for another apt/dpkg as scripts/bootstrap.sh does.
set -eu
LOCK_WAIT=${LOCK_WAIT:-600}
APT="apt-get -o DPkg::Lock::Timeout=$LOCK_WAIT"

say() { echo "fleet-test: $*" >&2; }

# apt-get update fails at once while another apt holds the package lists' lock: retry it.
apt_update() {
    waited=0
    until out=$($APT update -qq 2>&1); do
        case $out in
            *"Could not get lock"*) [ "$waited" -lt "$LOCK_WAIT" ] ;;
            *) false ;;
        esac || { printf '%s\n' "$out" >&2; return 1; }
        [ "$waited" -gt 0 ] || say "another apt holds the package lists, waiting"
        sleep 5
        waited=$((waited + 5))
    done
}

install_kannel() {
    [ -x /usr/sbin/bearerbox ] && [ -x /usr/sbin/smsbox ] && return 0
    if [ "$(id -u)" != 0 ]; then
        say "please install Debian's kannel (sudo apt-get install kannel)"
        exit 1
    fi
    say "installing kannel"
    # the lists may not know kannel yet (a fresh machine): update only then
    apt-cache show kannel >/dev/null 2>&1 || apt_update
    DEBIAN_FRONTEND=noninteractive $APT install -y -qq --no-install-recommends kannel
    # The package starts its own bearerbox on /etc/kannel/kannel.conf; the test runs its own
    # on loopback ports of its choosing, so the packaged service is stopped and left off.
    if [ -x /etc/init.d/kannel ]; then
        invoke-rc.d kannel stop >/dev/null 2>&1 || true
        update-rc.d kannel disable >/dev/null 2>&1 || true
    fi
}

install_kannel
exec .venv/bin/python -m pytest -p no:xdist tests/fleet/check_kannel_fleet.py "$@"
