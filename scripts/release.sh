#!/bin/sh
# make release VERSION=x.y.z [ARCH="amd64 arm64"]: tag a release and make its signed packages.
#
# The version lives in smsd/__init__.py (__version__; setup.cfg reads it from there) and in
# debian/changelog's top entry; tests/test_version.py keeps them equal. Between releases the top
# entry is the next version, distribution UNRELEASED. This script:
#   1. refuses a dirty tree, an existing tag, versions that disagree, a version older than the
#      top entry, or a signing key that is not the one in debian/release-keyring.gpg;
#   2. makes the top entry VERSION, released today (a new entry when the top one was already
#      released), sets __version__ and the man pages' version, and commits "Release VERSION" when that changed anything;
#   3. builds build/deb/smsd_VERSION_ARCH.deb for each ARCH (debian/build-deb.sh, lintian clean;
#      another architecture is cross-built), signs it
#      with a detached signature build/deb/smsd_VERSION_ARCH.deb.sig and checks it with gpgv
#      against the keyring the package ships, which is what `smsd update` checks;
#   4. tags vVERSION (annotated) and records it in releases.txt (a commit of its own).
# Nothing is pushed. The signing key comes from the environment: SMSD_RELEASE_KEY (its
# fingerprint) in GNUPGHOME's keyring; the private key is never in the repository.
set -eu
cd "$(dirname "$0")/.."
VERSION=${1:-}
ARCHES=${2:-$(dpkg --print-architecture)}

die() { echo "release: $*" >&2; exit 1; }

echo "$VERSION" | grep -Eqx '[0-9]+\.[0-9]+\.[0-9]+' || die "give VERSION=x.y.z (got '$VERSION')"
: "${SMSD_RELEASE_KEY:?release: set SMSD_RELEASE_KEY to the release key fingerprint (and GNUPGHOME to its keyring)}"
TAG=v$VERSION

[ -z "$(git status --porcelain)" ] || die "the tree has changes (commit or remove them first):
$(git status --short | head -n 20)"
! git rev-parse -q --verify "refs/tags/$TAG" >/dev/null || die "tag $TAG exists already"

# The key must be the project's: the one in the keyring that every package ships.
fpr=$(gpg --batch --with-colons --fingerprint "$SMSD_RELEASE_KEY" 2>/dev/null |
    awk -F: '$1 == "fpr" { print $10; exit }')
[ -n "$fpr" ] || die "no key $SMSD_RELEASE_KEY in ${GNUPGHOME:-~/.gnupg}"
gpg --batch --with-colons --show-keys debian/release-keyring.gpg 2>/dev/null |
    grep -q "^fpr:::::::::$fpr:" || die "key $fpr is not in debian/release-keyring.gpg"

code=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' smsd/__init__.py)
top=$(dpkg-parsechangelog -S Version)
dist=$(dpkg-parsechangelog -S Distribution)
grep -qx 'version = attr: smsd.__version__' setup.cfg || die "setup.cfg must read the version from smsd.__version__"
[ "$code" = "$top" ] || die "smsd/__init__.py says $code, debian/changelog says $top: make them agree"
dpkg --compare-versions "$VERSION" ge "$top" ||
    die "$VERSION is older than debian/changelog's $top"
if [ "$VERSION" != "$top" ] && [ "$dist" = UNRELEASED ]; then
    die "debian/changelog's top entry is $top UNRELEASED: release $top, or change that entry"
fi

maintainer=$(dpkg-parsechangelog -S Maintainer)
stamp=$(LC_ALL=C date -R)
if [ "$VERSION" = "$top" ]; then
    # The entry written during development: released today.
    awk -v m="$maintainer" -v d="$stamp" '
        NR == 1 { sub(/\) UNRELEASED;/, ") unstable;") }
        !done && /^ -- / { print " -- " m "  " d; done = 1; next }
        { print }' debian/changelog >debian/changelog.new
else
    { printf 'smsd (%s) unstable; urgency=medium\n\n  * Release %s.\n\n -- %s  %s\n\n' \
        "$VERSION" "$VERSION" "$maintainer" "$stamp"; cat debian/changelog; } >debian/changelog.new
fi
mv debian/changelog.new debian/changelog
sed -i "s/^__version__ = \".*\"$/__version__ = \"$VERSION\"/" smsd/__init__.py
sed -i "1s/\"smsd [^\"]*\"/\"smsd $VERSION\"/" debian/smsd.8 debian/smsd.conf.5
if [ -n "$(git status --porcelain)" ]; then
    git commit -q -m "Release $VERSION" -- debian/changelog smsd/__init__.py debian/smsd.8 debian/smsd.conf.5
fi

for arch in $ARCHES; do
    sh debian/build-deb.sh "$arch"
    deb=build/deb/smsd_${VERSION}_$arch.deb
    [ -f "$deb" ] || die "the build made no $deb"
    [ "$(dpkg-deb --field "$deb" Version)" = "$VERSION" ] || die "$deb is not version $VERSION"
    rm -f "$deb.sig"
    gpg --batch --yes --local-user "$fpr" --detach-sign --output "$deb.sig" "$deb"
    check=$(mktemp -d)
    gpgv --homedir "$check" --keyring "$(pwd)/debian/release-keyring.gpg" "$deb.sig" "$deb" \
        2>/dev/null || { rm -rf "$check"; die "gpgv does not accept the signature of $deb"; }
    rm -rf "$check"
    DEBS="${DEBS:-} $deb"
done

commit=$(git rev-parse HEAD)
git tag -a "$TAG" -m "smsd $VERSION" "$commit"
if ! grep -q "^$TAG " releases.txt; then
    echo "$TAG $commit" >>releases.txt
    git commit -q -m "releases.txt: $TAG" -- releases.txt
fi
echo "release: tagged $TAG at $commit; signed packages (each with its .sig):$DEBS"
