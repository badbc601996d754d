#!/bin/sh
# Sets up .venv on a fresh Debian machine: the system packages that building the venv needs
# (venv module, a C compiler and Python headers for the cffi codec), then smsd itself in
# editable mode with the dev tools. Idempotent; make calls it when setup files change.
set -eu
PY=${PYTHON:-python3}
need=""
"$PY" -c 'import ensurepip, venv' 2>/dev/null || need="$need python3-venv"
command -v gcc >/dev/null 2>&1 || need="$need gcc"
"$PY" -c 'import sysconfig, os, sys; sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")) else 1)' \
    || need="$need python3-dev"
# The network tests run a private system bus (dbus-daemon) with python-dbusmock, whose
# dbus-python dependency is built from source against libdbus and GLib.
command -v dbus-daemon >/dev/null 2>&1 || need="$need dbus"
pkg-config --exists dbus-1 glib-2.0 2>/dev/null || need="$need pkg-config libdbus-1-dev libglib2.0-dev"
if [ -n "$need" ]; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need
    else
        echo "bootstrap: please install:$need (sudo apt-get install$need)" >&2
        exit 1
    fi
fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[dev]'
