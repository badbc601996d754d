#!/bin/sh
# Sets up .venv on a fresh Debian machine: the system packages that building the venv needs
# (venv module, a C compiler and Python headers for the cffi codec), then smsd itself in
# editable mode with the dev tools. Idempotent; make calls it when setup files change.
# Every step must succeed: set -e stops at the first failure (so no step sits in a pipeline or
# before a &&, where set -e would not see it fail), make stops too, and the next make reruns it.
set -eu
PY=${PYTHON:-python3}
LOCK_WAIT=${LOCK_WAIT:-600}    # seconds to wait for another apt/dpkg (e.g. unattended-upgrades)
# apt-get install waits for the dpkg lock with DPkg::Lock::Timeout ...
APT="apt-get -o DPkg::Lock::Timeout=$LOCK_WAIT"

# ... but apt-get update (apt 2.6) fails at once while another apt holds the package lists'
# lock: retry it for as long.
apt_update() {
    waited=0
    until out=$($APT update -qq 2>&1); do
        case $out in
            *"Could not get lock"*) [ "$waited" -lt "$LOCK_WAIT" ] ;;
            *) false ;;
        esac || { printf '%s\n' "$out" >&2; return 1; }
        [ "$waited" -gt 0 ] || echo "bootstrap: another apt holds the package lists, waiting" >&2
        sleep 5
        waited=$((waited + 5))
    done
    [ -z "$out" ] || printf '%s\n' "$out" >&2
}

need=""
"$PY" -c 'import ensurepip, venv' 2>/dev/null || need="$need python3-venv"
command -v gcc >/dev/null 2>&1 || need="$need gcc"
"$PY" -c 'import sysconfig, os, sys; sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")) else 1)' \
    || need="$need python3-dev"
# The network tests run a private system bus (dbus-daemon) with python-dbusmock, whose
# dbus-python dependency is built from source against libdbus and GLib.
command -v dbus-daemon >/dev/null 2>&1 || need="$need dbus"
pkg-config --exists dbus-1 glib-2.0 2>/dev/null || need="$need pkg-config libdbus-1-dev libglib2.0-dev"
# The web console's browser tests (tests/web) drive Debian's headless Chromium through Debian's
# chromedriver (Selenium itself comes with the dev extras).
command -v chromium >/dev/null 2>&1 || need="$need chromium"
command -v chromedriver >/dev/null 2>&1 || need="$need chromium-driver"
if [ -n "$need" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "bootstrap: please install:$need (sudo apt-get install$need)" >&2
        exit 1
    fi
    apt_update
    DEBIAN_FRONTEND=noninteractive $APT install -y -qq $need
fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[dev]'
