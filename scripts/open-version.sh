#!/bin/sh
# After `make release`: opens the next version's UNRELEASED changelog entry and moves the code's
# version to it (smsd/__init__.py, the man pages), so that everything built from main until the
# next release is newer than the last release (the package test upgrades from it).
set -eu
cd "$(dirname "$0")/.."
VERSION=${1:-}
die() { echo "open-version: $*" >&2; exit 1; }
echo "$VERSION" | grep -Eqx '[0-9]+\.[0-9]+\.[0-9]+' || die "give VERSION=x.y.z (got '$VERSION')"
top=$(dpkg-parsechangelog -S Version)
[ "$(dpkg-parsechangelog -S Distribution)" != UNRELEASED ] || die "$top is still UNRELEASED"
dpkg --compare-versions "$VERSION" gt "$top" || die "$VERSION is not newer than $top"
maintainer=$(dpkg-parsechangelog -S Maintainer)
{ printf 'smsd (%s) UNRELEASED; urgency=medium\n\n  * Development after %s.\n\n -- %s  %s\n\n' \
    "$VERSION" "$top" "$maintainer" "$(LC_ALL=C date -R)"; cat debian/changelog; } >debian/changelog.new
mv debian/changelog.new debian/changelog
sed -i "s/^__version__ = \".*\"$/__version__ = \"$VERSION\"/" smsd/__init__.py
sed -i "1s/\"smsd [^\"]*\"/\"smsd $VERSION\"/" debian/smsd.8 debian/smsd.conf.5
echo "open-version: $VERSION UNRELEASED is open"
