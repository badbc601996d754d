#!/bin/sh
# make test-arm: the PDU codec tests, both backends (C and pure Python), on the appliance's
# architecture. A minimal Debian 12 root file system of that architecture, with Debian 12's own
# python3, python3-cffi, gcc, pytest and hypothesis (the versions the appliance runs), is
# bootstrapped with mmdebstrap once and cached under build/arm-test/; each run copies the
# source into it, builds the C codec there and runs the codec tests in it, the foreign
# programs running under qemu-user (binfmt_misc).
#   sh tests/arm/run.sh [ARCH] [pytest args]     ARCH: arm64 (default) or armhf
# Needs root (mmdebstrap in root mode, chroot, binfmt_misc registration). Installs mmdebstrap
# and qemu-user-static with apt when missing. SMSD_ARM_REBUILD=1 discards the cached root;
# SMSD_ARM_TESTS="tests/..." runs other test files than the codec's.
set -eu
cd "$(dirname "$0")/../.."
ARCH=${1:-arm64}
[ $# = 0 ] || shift
case $ARCH in
    arm64) QEMU=aarch64 ;;
    armhf) QEMU=arm ;;
    *) echo "test-arm: unsupported ARCH '$ARCH' (arm64 or armhf)" >&2; exit 2 ;;
esac
HOST_ARCH=$(dpkg --print-architecture)
OUT=$(pwd)/build/arm-test
ROOT=$OUT/rootfs-$ARCH
SRC=/root/smsd-src                      # inside $ROOT, laid anew on every run
# Only what building the codec and running its tests needs; no Recommends.
PACKAGES="python3 python3-cffi python3-dev gcc libc6-dev python3-pytest python3-hypothesis"
# The codec tests: every test module that drives smsd.pdu on both backends.
TESTS=${SMSD_ARM_TESTS:-"tests/test_pdu_*.py tests/test_intelli_pdu.py"}

say() { echo "test-arm: $*"; }
fail() { echo "test-arm: FAIL: $*" >&2; exit 1; }

# apt-get that waits for other apt users on this machine instead of failing on their lock:
# dpkg's lock through DPkg::Lock::Timeout, the package lists' lock (update) by retrying.
apt_wait() {
    if [ "$1" = update ]; then
        for _ in $(seq 60); do
            apt-get -q "$@" && return 0
            say "apt-get update failed (another apt holding its lock?): retrying in 10 s"
            sleep 10
        done
        return 1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=600 "$@"
}

need_tools() {
    missing=""
    command -v mmdebstrap >/dev/null || missing="$missing mmdebstrap"
    # mmdebstrap checks with arch-test that a foreign architecture's programs run
    [ "$HOST_ARCH" = "$ARCH" ] || command -v arch-test >/dev/null || missing="$missing arch-test"
    [ "$HOST_ARCH" = "$ARCH" ] || [ -e "/usr/bin/qemu-$QEMU-static" ] ||
        missing="$missing qemu-user-static"
    [ -z "$missing" ] && return
    say "installing:$missing"
    apt_wait update && apt_wait install -y --no-install-recommends $missing
}

# Without systemd as PID 1 (a container) nobody registers qemu-user with binfmt_misc. The
# registration's F flag opens the interpreter now, so it works inside the chroot too.
register_binfmt() {
    [ "$HOST_ARCH" != "$ARCH" ] || return 0
    bm=/proc/sys/fs/binfmt_misc
    [ -e $bm/register ] || mount -t binfmt_misc binfmt_misc $bm ||
        fail "cannot mount binfmt_misc: $ARCH programs cannot run on this machine"
    if [ ! -e "$bm/qemu-$QEMU" ]; then
        say "registering qemu-$QEMU with binfmt_misc (/usr/lib/binfmt.d/qemu-$QEMU.conf)"
        cat "/usr/lib/binfmt.d/qemu-$QEMU.conf" >$bm/register
    fi
    grep -qx enabled "$bm/qemu-$QEMU" || echo 1 >"$bm/qemu-$QEMU"
}

# The cached root is reused while it was built from the same package list and suite.
cache_key() {
    echo "bookworm $ARCH $PACKAGES"
}

# Mount points at or under a directory, deepest first.
mounts_under() {
    awk -v d="$1" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r
}

# Removes a root file system, first detaching anything still mounted in it (a /proc that
# mmdebstrap could not unmount because some other process was reading it), so that rm never
# walks into a live /proc or /dev.
remove_root() {
    for m in $(mounts_under "$1"); do umount -l "$m"; done
    [ -z "$(mounts_under "$1")" ] || fail "cannot unmount what is mounted in $1"
    rm -rf "$1"
}

bootstrap() {
    if [ -z "${SMSD_ARM_REBUILD:-}" ] && [ -f "$ROOT/.smsd-arm-test" ] &&
        [ "$(cat "$ROOT/.smsd-arm-test")" = "$(cache_key)" ]; then
        say "cached root file system $ROOT"
        return
    fi
    mkdir -p "$OUT"
    python3 tests/package/apt_sources.py bookworm >"$OUT/sources.list"
    say "bootstrapping bookworm $ARCH from: $(head -n 1 "$OUT/sources.list")"
    remove_root "$ROOT"
    # Built outside the work tree, where nothing that walks the tree meets mmdebstrap's /proc,
    # and moved in whole once done, so an interrupted build is never taken as the cache.
    new=$(mktemp -d /var/tmp/smsd-arm-test.XXXXXX) && chmod 755 "$new"
    trap 'remove_root "$new"' EXIT
    mmdebstrap --variant=essential --architectures="$ARCH" \
        --aptopt='APT::Install-Recommends "false"' \
        --include="$(echo $PACKAGES | tr ' ' ,)" \
        bookworm "$new" "$OUT/sources.list" >"$OUT/mmdebstrap-$ARCH.log" 2>&1 ||
        { tail -n 40 "$OUT/mmdebstrap-$ARCH.log" >&2; fail "bootstrap failed"; }
    for m in $(mounts_under "$new"); do umount -l "$m"; done
    cache_key >"$new/.smsd-arm-test"
    mv "$new" "$ROOT"
    trap - EXIT
    say "root file system built in $(( $(date +%s) - start )) s ($(du -sm "$ROOT" | cut -f1) MB)"
}

# The source tree as a clean clone would have it: no host build products (__pycache__, the
# host's compiled codec), so the codec is built from source in the target root.
copy_source() {
    rm -rf "$ROOT$SRC" && mkdir -p "$ROOT$SRC"
    tar -cf - --exclude=__pycache__ --exclude='*.so' --exclude=.hypothesis \
        setup.cfg smsd pdu_codec_c tests | tar -C "$ROOT$SRC" -xf -
}

# Runs a shell script in the target root, with its own /proc that goes away with it.
in_root() {
    unshare --mount --pid --fork --mount-proc="$ROOT/proc" \
        chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
        LANG=C.UTF-8 /bin/sh -euc "$@"
}

build_and_test() {
    # shellcheck disable=SC2016  # expanded in the target root
    in_root '
        cd "$1"; shift
        echo "test-arm: in $(dpkg --print-architecture) root ($(uname -m) under qemu-user):" \
            "$(python3 --version), cffi $(python3 -c "import cffi; print(cffi.__version__)")," \
            "pytest $(python3 -m pytest --version 2>&1 | sed "s/^pytest //")," \
            "hypothesis $(python3 -c "import hypothesis; print(hypothesis.__version__)")," \
            "$(gcc --version | head -n 1)"
        python3 -c "import sys; sys.path.insert(0, \"pdu_codec_c\"); import build_pdu
build_pdu.ffibuilder.compile(tmpdir=\"build/pdu_c\")" >build/compile.log 2>&1 ||
            { cat build/compile.log >&2; echo "test-arm: FAIL: the C codec does not build" >&2; exit 1; }
        grep ": warning:" build/compile.log && echo "test-arm: (compiler warnings above)" || true
        cp build/pdu_c/smsd/_pdu_c*.so smsd/
        python3 -c "import smsd.pdu; assert smsd.pdu.BACKEND == \"c\", smsd.pdu.BACKEND" ||
            { echo "test-arm: FAIL: the C codec built but smsd.pdu does not use it" >&2; exit 1; }
        echo "test-arm: C codec built: $(ls smsd/_pdu_c*.so)"
        # qemu_hypothesis: no timing checks (deadline, too_slow), they would time the emulator
        PYTHONPATH=tests/arm python3 -m pytest -p no:cacheprovider -p qemu_hypothesis \
            -o addopts= -q -rs "$@"
    ' sh "$SRC" "$@"
}

[ "$(id -u)" = 0 ] || { echo "test-arm: needs root (mmdebstrap, chroot, binfmt_misc)" >&2; exit 1; }
start=$(date +%s)
need_tools
register_binfmt
bootstrap
copy_source
mkdir -p "$ROOT$SRC/build"
# shellcheck disable=SC2086  # the test globs expand here, in the copied tree
set -- $(cd "$ROOT$SRC" && echo $TESTS) "$@"
build_and_test "$@" || fail "codec tests on $ARCH"
say "PASS on $ARCH in $(( $(date +%s) - start )) s"
