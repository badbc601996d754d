#!/bin/sh
# Image smoke test: boot the appliance's root file system (make image-rootfs) in a container
# twice and check, from inside, that the first boot made and showed the passwords and that
# smsd.service reaches ready (Type=notify: active means the daemon sent READY=1), and that the
# second boot keeps the passwords, then survives a factory reset: the daemon's new admin
# password replaces the old one at the login prompt and on the console (check_boot.py).
#   sh tests/image/smoke.sh [ROOTFS]      default: the newest build/image/rootfs-*
# The root file system is copied first (build/image/smoke/root), so that each run is a first
# boot and the built tree stays as it was built. The only test-only change to the copy: the
# daemon runs its simulator (no modem board here), on 127.0.0.1:8080 of a private network.
# Where systemd-nspawn cannot boot it, the first-boot step and the daemon run in a chroot
# instead, with NOTIFY_SOCKET on a socket this script reads to see READY=1
# (IMAGE_SMOKE_CHROOT=1 takes that path directly).
set -eu
cd "$(dirname "$0")/../.."
HERE=$(pwd)/tests/image
SRC=${1:-$(ls -td build/image/rootfs-* 2>/dev/null | head -n 1)}
OUT=$(pwd)/build/image/smoke
ROOT=$OUT/root
TEST=/root/image-smoke
BOOT_TIMEOUT=${BOOT_TIMEOUT:-300}

say() { echo "image-smoke: $*"; }
fail() { echo "image-smoke: FAIL: $*" >&2; exit 1; }

prepare() {
    [ -n "$SRC" ] && [ -f "$SRC/etc/smsd-image-release" ] ||
        fail "no root file system (build one with make image-rootfs)"
    say "root file system $SRC: $(tr '\n' ' ' <"$SRC/etc/smsd-image-release")"
    rm -rf "$OUT" && mkdir -p "$OUT"
    cp -a "$SRC" "$ROOT"
    echo 'SMSD_ARGS="--simulate 2 --sim-latency 0.2 --listen 127.0.0.1:8080"' >"$ROOT/etc/default/smsd"
    mkdir -p "$ROOT$TEST"
    cp "$HERE/check_boot.py" tests/package/check_api.py "$ROOT$TEST/"
    arch=$(sed -n 's/^arch=//p' "$SRC/etc/smsd-image-release")
    if [ "$arch" != "$(dpkg --print-architecture)" ]; then
        say "NOTE: $arch programs run under qemu-user here: networkd, hostnamed and timedated cannot start, their checks are skipped"
        echo "$arch on $(dpkg --print-architecture)" >"$ROOT$TEST/emulated"
    fi
    cat >"$ROOT/etc/systemd/system/smsd-image-smoke.service" <<UNIT
[Unit]
Description=smsd image smoke test
After=smsd.service smsd-firstboot.service
[Service]
Type=oneshot
ExecStart=/bin/sh -c 'exec /usr/bin/python3 $TEST/check_boot.py \$(cat $TEST/boot)'
ExecStopPost=/bin/systemctl poweroff --no-block
StandardOutput=journal+console
[Install]
WantedBy=multi-user.target
UNIT
    chroot "$ROOT" systemctl enable smsd-image-smoke.service >/dev/null 2>&1
}

# systemd-nspawn in the background: a SIGTERM asks it to halt the container, a second one cuts
# it short; never SIGKILL (that would leave the container's init running without its parent).
nspawn_boot() {
    systemd-nspawn -q -D "$ROOT" --boot --register=no --keep-unit --private-network \
        --console=read-only </dev/null >>"$OUT/boot.log" 2>&1 &
    nspawn=$!
    waited=0
    while kill -0 "$nspawn" 2>/dev/null && [ $waited -lt "$BOOT_TIMEOUT" ]; do
        sleep 1; waited=$((waited + 1))
    done
    for _ in 1 2; do
        kill -0 "$nspawn" 2>/dev/null || break
        say "boot did not finish within ${BOOT_TIMEOUT}s: stopping the container"
        kill -TERM "$nspawn"; sleep 20
    done
    wait "$nspawn" || true
}

boot() {
    echo "$1" >"$ROOT$TEST/boot"
    say "boot $1 with systemd-nspawn --boot"
    started=$(date +%s)
    nspawn_boot
    result="$ROOT$TEST/result-$1"
    [ -f "$result" ] || return 1
    sed "s/^/image-smoke: [boot $1] /" "$result"
    say "boot $1 took $(($(date +%s) - started))s (start to power-off)"
    [ "$(tail -n 1 "$result")" = PASS ] || { tail -n 40 "$OUT/boot.log" >&2; fail "boot $1"; }
}

# Seen from outside: a boot wrote the admin password (from the file $1) on the console once
# (the first boot's own banner, or after a factory reset the path unit's, never both), and the
# journal (persistent in the image) holds no copy of it: the daemon names only the file when its
# standard output is the journal.
console_and_journal() {
    admin=$(cat "$1")
    shown=$(grep -acF "user 'admin', password '$admin'" "$OUT/boot.log" || true)
    [ "$shown" -ge 1 ] || fail "the console did not show the admin password"
    [ "$shown" -eq 1 ] || fail "the console showed the admin password $shown times"
    say "the console showed, once: $(grep -aF "user 'admin', password '$admin'" "$OUT/boot.log" | sed 's/^ *//')"
    if command -v journalctl >/dev/null && [ -d "$ROOT/var/log/journal" ]; then
        copies=$(journalctl -D "$ROOT/var/log/journal" --no-pager 2>/dev/null | grep -aF "$admin" || true)
        [ -z "$copies" ] || fail "the admin password is in the journal: $copies"
        say "the journal holds no copy of the admin password"
    fi
}

prepare
if [ -z "${IMAGE_SMOKE_CHROOT:-}" ] && boot 1; then
    console_and_journal "$ROOT/var/lib/smsd/admin-password"
    boot 2
    console_and_journal "$ROOT$TEST/reset-admin-password"
else
    if [ -n "${IMAGE_SMOKE_CHROOT:-}" ]; then say "IMAGE_SMOKE_CHROOT set: chroot only"
    else say "systemd-nspawn could not boot it ($(tail -n 3 "$OUT/boot.log" | tr '\n' ' '))"
    fi
    sh "$HERE/chroot_start.sh" "$ROOT"
fi
say "PASS"
