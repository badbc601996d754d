#!/bin/sh
# Prints "MIRROR SECURITY_MIRROR" for the image build: MIRROR / SECURITY_MIRROR from the
# environment when set, else the Debian archives this build machine's apt sources use (the
# package test's apt_sources.py reads them), so no host name is written into the project.
set -eu
cd "$(dirname "$0")/.."
if [ -z "${MIRROR:-}" ]; then
    sources=$(python3 tests/package/apt_sources.py bookworm)
    MIRROR=$(printf '%s\n' "$sources" | awk '$3 == "bookworm" { print $2; exit }')
    : "${SECURITY_MIRROR=$(printf '%s\n' "$sources" | awk '$3 == "bookworm-security" { print $2; exit }')}"
fi
[ -n "$MIRROR" ] || { echo "image: no Debian mirror found; set MIRROR=" >&2; exit 1; }
echo "$MIRROR ${SECURITY_MIRROR:-}"
