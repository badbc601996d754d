#!/bin/sh
# Package test: a freshly bootstrapped Debian 12 root file system gets the last release's .deb
# (releases.txt; built from its commit with git worktree and cached under build/releases/), is
# booted with systemd-nspawn in simulate mode and, from inside the booted system
# (check_booted.py, check_upgrade.py): gets data through the old version (a user, a contact,
# queued messages, a changed conffile line); is upgraded to the built .deb with apt and keeps
# all of it with the new version running; runs, answers its JSON API, sends, gets restarted by
# the watchdog when wedged and refuses a broken configuration; then `smsd update` refuses an
# unsigned package, keeps the running version when a signed package's installation fails, and
# installs a signed newer one (test packages signed with a throwaway key made here, which the
# booted system's smsd-update is pointed at). The units are verified in the end state. Where
# booting is impossible, the new package is installed over the old one in the chroot, the
# daemon runs there and the API check runs from here (no data or update checks then).
#
# The root file system comes from this machine's configured Debian mirror (apt_sources.py) and
# is rebuilt on every run under build/package-test/ (nothing is cached outside the repo).
# SMSD_PACKAGE_TEST_NO_BOOT=1 skips the boot and takes the chroot path directly.
set -eu
cd "$(dirname "$0")/../.."
HERE=tests/package
OUT=$(pwd)/build/package-test
ROOT=$OUT/rootfs
ARCH=$(dpkg --print-architecture)
VERSION=$(dpkg-parsechangelog -S Version)
DEB=build/deb/smsd_${VERSION}_$ARCH.deb
[ -f "$DEB" ] || { echo "package-test: no $DEB: run make deb" >&2; exit 1; }
TESTPKG=/srv/package-test               # in the test system (outside the units' private /tmp)

say() { echo "package-test: $*"; }
fail() { echo "package-test: FAIL: $*" >&2; exit 1; }

need_tools() {
    missing=""
    command -v mmdebstrap >/dev/null || missing="$missing mmdebstrap"
    command -v systemd-nspawn >/dev/null || missing="$missing systemd-container"
    [ -z "$missing" ] && return
    apt="apt-get -o DPkg::Lock::Timeout=600"       # wait for other apt users on this machine
    $apt update -q && DEBIAN_FRONTEND=noninteractive $apt install -y -q $missing
}

# The newest release in releases.txt that is not the version under test.
last_release() {
    grep -v '^#' releases.txt | awk 'NF == 2' | while read -r tag commit; do
        [ "$tag" = "v$VERSION" ] || echo "$tag $commit"
    done | tail -n 1
}

# build/releases/<commit>/smsd_<version>_<arch>.deb, built once from the release's commit (its
# own debian/build-deb.sh in a temporary git worktree): the releases never change.
old_deb() {
    set -- $(last_release)
    [ $# = 2 ] || fail "no earlier release in releases.txt to upgrade from"
    OLD_TAG=$1
    cache=$(pwd)/build/releases/$2
    OLD_DEB=$(ls "$cache"/smsd_*_"$ARCH".deb 2>/dev/null | head -n 1 || true)
    if [ -z "$OLD_DEB" ]; then
        say "building $OLD_TAG ($2) for the upgrade test"
        started=$(date +%s)
        tree=$(pwd)/build/releases/src-$2
        git worktree remove --force "$tree" 2>/dev/null || rm -rf "$tree"
        git worktree add -q --detach "$tree" "$2" || fail "no commit $2 ($OLD_TAG) here"
        (cd "$tree" && sh debian/build-deb.sh "$ARCH") >"$OUT/old-build.log" 2>&1 || {
            tail -n 30 "$OUT/old-build.log" >&2; git worktree remove --force "$tree"
            fail "building $OLD_TAG failed"; }
        mkdir -p "$cache" && cp "$tree"/build/deb/smsd_*_"$ARCH".deb "$cache"/
        git worktree remove --force "$tree"
        OLD_DEB=$(ls "$cache"/smsd_*_"$ARCH".deb | head -n 1)
        say "built $OLD_DEB in $(($(date +%s) - started)) s (cached)"
    fi
    OLD_VERSION=$(dpkg-deb --field "$OLD_DEB" Version)
    dpkg --compare-versions "$VERSION" gt "$OLD_VERSION" ||
        fail "$VERSION is not newer than the last release $OLD_VERSION"
}

# The Python libraries the package under test depends on. The booted system has no network, so
# the ones the last release did not need yet (a release may add a dependency) are installed at
# bootstrap time, where apt can reach the archive; the upgrade then finds them in place.
new_python_deps() {
    dpkg-deb --field "$DEB" Depends | tr ',' '\n' | sed 's/(.*//; s/|.*//; s/:any//; s/ //g' |
        grep '^python3-' | paste -sd, -
}

bootstrap() {
    python3 "$HERE/apt_sources.py" bookworm >"$OUT/sources.list"
    say "bootstrapping bookworm from: $(head -n 1 "$OUT/sources.list")"
    mmdebstrap --variant=minbase \
        --include=systemd,systemd-sysv,dbus,man-db,procps,python3-cryptography,"$(new_python_deps)" \
        --customize-hook="copy-in $OLD_DEB /tmp" \
        --customize-hook='chroot "$1" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q /tmp/'"$(basename "$OLD_DEB")" \
        --customize-hook='rm -f "$1"/tmp/*.deb' \
        bookworm "$ROOT" "$OUT/sources.list" >"$OUT/mmdebstrap.log" 2>&1 ||
        { tail -n 40 "$OUT/mmdebstrap.log" >&2; fail "bootstrap or install failed"; }
    say "installed $(chroot "$ROOT" dpkg-query -W -f='${Package} ${Version} ${Architecture}' smsd) ($OLD_TAG)"
}

# The installed codec, in the end state (the package under test, or its test-signed rebuild).
check_codec() {
    # the package's codec is the C one, built against Debian's python3-cffi
    backend=$(chroot "$ROOT" python3 -c 'import smsd.pdu; print(smsd.pdu.BACKEND)') ||
        fail "smsd.pdu does not import"
    [ "$backend" = c ] || fail "the installed codec backend is $backend, not c"
    say "codec backend: $backend"
}

verify_units() {
    out=$(chroot "$ROOT" systemd-analyze verify \
        /lib/systemd/system/smsd.service /lib/systemd/system/smsd-update.service \
        /lib/systemd/system/smsd-update.path /lib/systemd/system/smsd-reboot.service \
        /lib/systemd/system/smsd-reboot.path 2>&1) || true
    [ -z "$out" ] || fail "systemd-analyze verify: $out"
    level=$(chroot "$ROOT" systemd-analyze security --offline=true --no-pager smsd.service 2>&1 |
        sed -n 's/.*Overall exposure level for smsd.service: \([0-9.]*\).*/\1/p')
    [ -n "$level" ] || fail "systemd-analyze security gave no rating"
    python3 -c "import sys; sys.exit(float('$level') > 2.5)" || fail "exposure $level > 2.5"
    [ "$(chroot "$ROOT" systemctl is-enabled smsd.service)" = enabled ] || fail "unit not enabled"
    [ "$(chroot "$ROOT" systemctl is-enabled smsd-update.path)" = enabled ] ||
        fail "smsd-update.path not enabled"
    [ "$(chroot "$ROOT" systemctl is-enabled smsd-reboot.path)" = enabled ] ||
        fail "smsd-reboot.path not enabled"
    groups=$(chroot "$ROOT" id -nG smsd)
    for g in dialout gpio; do
        case " $groups " in *" $g "*) ;; *) fail "smsd is not in group $g: $groups";; esac
    done
    chroot "$ROOT" dpkg-query -W -f='${Conffiles}' smsd | grep -q ' /etc/smsd/smsd.conf ' ||
        fail "/etc/smsd/smsd.conf is not a conffile"
    [ -f "$ROOT/lib/udev/rules.d/60-smsd.rules" ] || fail "udev rules missing"
    set +e
    msg=$(chroot "$ROOT" smsd run --config /etc/smsd/smsd.conf 2>&1); rc=$?
    set -e
    [ $rc = 2 ] && echo "$msg" | grep -q "no modem ports" ||
        fail "shipped config without ports: exit $rc, '$msg'"
    say "units verified (verify silent, exposure $level), user smsd in: $groups"
    say "shipped config without ports refused: exit 2, '$msg'"
}

# A rebuild of the package under test with another version (and, for a failing install, a
# pre-installation script that fails), signed with the throwaway key.
repack() {   # repack VERSION OUT [failing]
    dir=$OUT/repack && rm -rf "$dir"
    dpkg-deb -R "$DEB" "$dir"
    sed -i "s/^Version: .*/Version: $1/" "$dir/DEBIAN/control"
    if [ -n "${3:-}" ]; then
        printf '#!/bin/sh\necho "preinst: this test package never installs" >&2\nexit 1\n' \
            >"$dir/DEBIAN/preinst"
        chmod 0755 "$dir/DEBIAN/preinst"
    fi
    dpkg-deb --root-owner-group -b "$dir" "$2" >/dev/null
    gpg --homedir "$OUT/gnupg" --batch --quiet --local-user test-release@package-test.invalid \
        --detach-sign --output "$2.sig" "$2"
    rm -rf "$dir"
}

# What the booted checks install: the package under test (with apt, as over the last release),
# and test-signed packages for `smsd update`, whose keyring the test system's smsd-update uses.
prepare_packages() {
    mkdir -p "$OUT/gnupg" "$ROOT$TESTPKG" "$ROOT/usr/local/share/smsd-test"
    chmod 0700 "$OUT/gnupg"
    gpg --homedir "$OUT/gnupg" --batch --quiet --passphrase '' --quick-generate-key \
        "package test <test-release@package-test.invalid>" ed25519 sign never 2>/dev/null
    gpg --homedir "$OUT/gnupg" --export test-release@package-test.invalid \
        >"$ROOT/usr/local/share/smsd-test/keyring.gpg"
    cp "$DEB" "$ROOT$TESTPKG/smsd-new.deb"
    repack "$VERSION+update1" "$ROOT$TESTPKG/smsd-newer.deb"
    repack "$VERSION+update2" "$ROOT$TESTPKG/smsd-failing.deb" failing
    cp "$ROOT$TESTPKG/smsd-newer.deb" "$ROOT$TESTPKG/smsd-unsigned.deb"
    gpgconf --homedir "$OUT/gnupg" --kill all 2>/dev/null || true
    chmod -R a+rX "$ROOT$TESTPKG"
    mkdir -p "$ROOT/etc/systemd/system/smsd-update.service.d"
    printf '[Service]\nEnvironment=SMSD_UPDATE_KEYRING=/usr/local/share/smsd-test/keyring.gpg\n' \
        >"$ROOT/etc/systemd/system/smsd-update.service.d/package-test.conf"
}

prepare_boot() {
    LISTEN=127.0.0.1:$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    echo "SMSD_ARGS=\"--simulate 4 --sim-latency 0.2 --listen $LISTEN\"" >"$ROOT/etc/default/smsd"
    mkdir -p "$ROOT/etc/systemd/system/smsd.service.d" "$ROOT/root/package-test"
    # A short watchdog, so that the wedge test sees a restart soon; and, inside the service's
    # sandbox, a look at the system bus (the network settings will go through it).
    cat >"$ROOT/etc/systemd/system/smsd.service.d/package-test.conf" <<DROPIN
[Service]
WatchdogSec=6
ExecStartPost=/bin/sh -c 'busctl --system list >/dev/null && echo "sandbox reaches the system bus"'
DROPIN
    cp "$HERE/check_api.py" "$HERE/check_booted.py" "$HERE/check_upgrade.py" \
        "$ROOT/root/package-test/"
    cat >"$ROOT/etc/systemd/system/smsd-package-test.service" <<UNIT
[Unit]
Description=smsd package test
After=smsd.service
[Service]
Type=oneshot
Environment=SMSD_TEST_LISTEN=$LISTEN
Environment=SMSD_TEST_OLD_VERSION=$OLD_VERSION SMSD_TEST_NEW_VERSION=$VERSION
Environment=SMSD_TEST_PACKAGES=$TESTPKG
Environment=SMSD_UPDATE_KEYRING=/usr/local/share/smsd-test/keyring.gpg
ExecStart=/usr/bin/python3 /root/package-test/check_booted.py
ExecStopPost=/bin/systemctl poweroff --no-block
StandardOutput=journal+console
[Install]
WantedBy=multi-user.target
UNIT
    chroot "$ROOT" systemctl enable smsd-package-test.service >/dev/null 2>&1
}

boot() {
    say "booting the root file system with systemd-nspawn"
    timeout 600 systemd-nspawn -q -D "$ROOT" --boot --register=no --keep-unit --console=pipe \
        </dev/null >"$OUT/boot.log" 2>&1 || true
    result="$ROOT/root/package-test/result"
    [ -f "$result" ] || return 1
    sed 's/^/package-test: [booted] /' "$result"
    [ "$(tail -n 1 "$result")" = PASS ] || { tail -n 60 "$OUT/boot.log" >&2; fail "booted checks failed"; }
}

chroot_fallback() {
    why=$(tail -n 3 "$OUT/boot.log" 2>/dev/null | tr '\n' ' ' || true)
    say "not booted (${why:-SMSD_PACKAGE_TEST_NO_BOOT}): running the daemon in the chroot instead"
    chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        -o Dpkg::Options::=--force-confold "$TESTPKG/smsd-new.deb" >"$OUT/upgrade.log" 2>&1 ||
        { tail -n 20 "$OUT/upgrade.log" >&2; fail "installing $VERSION over $OLD_VERSION"; }
    say "installed $VERSION over $OLD_VERSION in the chroot (no data or update checks without a boot)"
    mount -t proc proc "$ROOT/proc"
    mount --rbind /dev "$ROOT/dev"           # the simulator's pseudo terminals
    trap 'kill "$pid" 2>/dev/null; sleep 2; umount -R "$ROOT/dev"; umount "$ROOT/proc"' EXIT
    mkdir -p "$ROOT/var/lib/smsd" && chroot "$ROOT" chown smsd:smsd /var/lib/smsd
    chroot "$ROOT" runuser -u smsd -- /usr/bin/smsd run --config /etc/smsd/smsd.conf \
        --state-dir /var/lib/smsd --simulate 4 --sim-latency 0.2 --listen "$LISTEN" \
        >"$OUT/daemon.log" 2>&1 &
    pid=$!
    for _ in $(seq 60); do [ -f "$ROOT/var/lib/smsd/admin-password" ] && break; sleep 0.5; done
    sleep 2
    python3 "$HERE/check_api.py" "http://$LISTEN" "$(cat "$ROOT/var/lib/smsd/admin-password")" ||
        { cat "$OUT/daemon.log" >&2; fail "api check in the chroot"; }
    say "daemon in the chroot (as smsd, simulate mode) answered the JSON API and sent"
}

timed() {   # timed STEP: run it, say how long it took
    t0=$(date +%s); "$@"; say "($1: $(($(date +%s) - t0)) s)"
}

need_tools
rm -rf "$OUT" && mkdir -p "$OUT"
timed old_deb
timed bootstrap
timed prepare_packages
prepare_boot
if [ -n "${SMSD_PACKAGE_TEST_NO_BOOT:-}" ] || ! timed boot; then chroot_fallback; fi
check_codec
verify_units
say "PASS"
