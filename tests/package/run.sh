#!/bin/sh
# Package test: install the built .deb into a freshly bootstrapped Debian 12 root file system,
# verify its units there, boot it with systemd-nspawn in simulate mode and check, from inside
# the booted system, that the service runs, answers its JSON API, sends, gets restarted by the
# watchdog when wedged and refuses a broken configuration (check_booted.py). Where booting is
# impossible the daemon runs in the chroot instead and the API check runs from here.
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
DEB=$(ls -t build/deb/smsd_*_"$ARCH".deb 2>/dev/null | head -n 1)
[ -n "$DEB" ] || { echo "package-test: no build/deb/smsd_*_$ARCH.deb: run make deb" >&2; exit 1; }

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

bootstrap() {
    rm -rf "$OUT" && mkdir -p "$OUT"
    python3 "$HERE/apt_sources.py" bookworm >"$OUT/sources.list"
    say "bootstrapping bookworm from: $(head -n 1 "$OUT/sources.list")"
    mmdebstrap --variant=minbase --include=systemd,systemd-sysv,dbus,man-db,procps \
        --customize-hook="copy-in $DEB /tmp" \
        --customize-hook='chroot "$1" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q /tmp/'"$(basename "$DEB")" \
        --customize-hook='rm -f "$1"/tmp/*.deb' \
        bookworm "$ROOT" "$OUT/sources.list" >"$OUT/mmdebstrap.log" 2>&1 ||
        { tail -n 40 "$OUT/mmdebstrap.log" >&2; fail "bootstrap or install failed"; }
    say "installed $(chroot "$ROOT" dpkg-query -W -f='${Package} ${Version} ${Architecture}' smsd)"
    # the package's codec is the C one, built against Debian's python3-cffi
    backend=$(chroot "$ROOT" python3 -c 'import smsd.pdu; print(smsd.pdu.BACKEND)') ||
        fail "smsd.pdu does not import"
    [ "$backend" = c ] || fail "the installed codec backend is $backend, not c"
    say "codec backend: $backend"
}

verify_units() {
    out=$(chroot "$ROOT" systemd-analyze verify /lib/systemd/system/smsd.service 2>&1) || true
    [ -z "$out" ] || fail "systemd-analyze verify: $out"
    level=$(chroot "$ROOT" systemd-analyze security --offline=true --no-pager smsd.service 2>&1 |
        sed -n 's/.*Overall exposure level for smsd.service: \([0-9.]*\).*/\1/p')
    [ -n "$level" ] || fail "systemd-analyze security gave no rating"
    python3 -c "import sys; sys.exit(float('$level') > 2.5)" || fail "exposure $level > 2.5"
    [ "$(chroot "$ROOT" systemctl is-enabled smsd.service)" = enabled ] || fail "unit not enabled"
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
    cp "$HERE/check_api.py" "$HERE/check_booted.py" "$ROOT/root/package-test/"
    cat >"$ROOT/etc/systemd/system/smsd-package-test.service" <<UNIT
[Unit]
Description=smsd package test
After=smsd.service
[Service]
Type=oneshot
Environment=SMSD_TEST_LISTEN=$LISTEN
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

need_tools
bootstrap
verify_units
prepare_boot
if [ -n "${SMSD_PACKAGE_TEST_NO_BOOT:-}" ] || ! boot; then chroot_fallback; fi
say "PASS"
