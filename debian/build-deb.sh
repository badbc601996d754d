#!/bin/sh
# Builds the Debian package from a copy of the working tree (so the checkout stays clean and
# the parent directory untouched) and checks it with lintian.
#   sh debian/build-deb.sh [ARCH]     ARCH defaults to this machine's; another one cross-builds.
# Output: build/deb/smsd_<version>_<arch>.deb. Missing build dependencies (and, for a cross
# build, the cross compiler and the target's libraries) are installed with apt when run as root.
set -eu
HOST_ARCH=$(dpkg --print-architecture)
ARCH=${1:-$HOST_ARCH}
OUT=$(pwd)/build/deb
WORK=$OUT/work-$ARCH
SRC=$WORK/smsd

# Other jobs may be using apt on the same machine: wait for its lock rather than fail.
APT="apt-get -o DPkg::Lock::Timeout=600"

apt_install() {
    [ "$(id -u)" = 0 ] || { echo "build-deb: please install: $*" >&2; exit 1; }
    DEBIAN_FRONTEND=noninteractive $APT install -y -q --no-install-recommends "$@"
}

copy_tree() {
    rm -rf "$WORK" && mkdir -p "$SRC"
    git ls-files --cached --others --exclude-standard | sort -u |
        while IFS= read -r f; do [ -e "$f" ] && printf '%s\n' "$f"; done |
        tar -cf - -T - | tar -xf - -C "$SRC"
}

build_deps() {
    cross=""
    [ "$ARCH" = "$HOST_ARCH" ] || cross="-a$ARCH"
    command -v dpkg-checkbuilddeps >/dev/null || { $APT update -q; apt_install dpkg-dev; }
    if [ -n "$cross" ] && ! dpkg --print-foreign-architectures | grep -qx "$ARCH"; then
        dpkg --add-architecture "$ARCH"
        $APT update -q
    fi
    if ! (cd "$SRC" && dpkg-checkbuilddeps $cross >/dev/null 2>&1); then
        $APT update -q
        [ -z "$cross" ] || apt_install "crossbuild-essential-$ARCH"
        (cd "$SRC" && DEBIAN_FRONTEND=noninteractive $APT build-dep -y -q $cross ./)
    fi
    command -v lintian >/dev/null || apt_install lintian
}

# The wheels of debian/vendor-wheels, fetched from PyPI and checked against their pinned
# sha256, into the copy's debian/vendor/ (debian/rules unpacks them; the checkout keeps none).
vendor_wheels() {
    mkdir -p "$SRC/debian/vendor"
    pip="python3 -m pip"
    $pip --version >/dev/null 2>&1 || pip="$(pwd)/.venv/bin/python -m pip"
    grep -v '^#' debian/vendor-wheels | while read -r name version sum; do
        [ -n "$name" ] || continue
        $pip download -q --no-deps --only-binary :all: -d "$WORK/wheels" "$name==$version" ||
            { echo "build-deb: cannot download $name $version" >&2; exit 1; }
        wheel=$(ls "$WORK/wheels/$name-$version-"*.whl)
        echo "$sum  $wheel" | sha256sum -c --quiet - ||
            { echo "build-deb: $wheel is not the pinned $name $version" >&2; exit 1; }
        cp "$wheel" "$SRC/debian/vendor/"
    done
}

copy_tree
vendor_wheels
build_deps
# Debian's own python3 and tools, not an interpreter that happens to come first on PATH.
(cd "$SRC" && PATH=/usr/sbin:/usr/bin:/sbin:/bin DEB_BUILD_OPTIONS="nocheck ${DEB_BUILD_OPTIONS:-}" \
    dpkg-buildpackage -b -us -uc ${cross} >"$WORK/build.log" 2>&1) || {
    tail -n 60 "$WORK/build.log" >&2; echo "build-deb: failed, full log in $WORK/build.log" >&2
    exit 1
}
mv "$WORK"/smsd_*_"$ARCH".deb "$WORK"/smsd*_"$ARCH".changes "$WORK"/smsd*_"$ARCH".buildinfo "$OUT"/
deb=$(ls -t "$OUT"/smsd_*_"$ARCH".deb | head -n 1)
lintian --fail-on error,warning --display-level ">=warning" "$deb"
echo "built $deb"
