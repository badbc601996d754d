#!/bin/sh
# Fallback of the image smoke test where systemd-nspawn cannot boot the root file system:
# run what boot would run, in a chroot. The first-boot step, then the daemon with the command
# line of the installed smsd.service (as its user, with /etc/default/smsd), NOTIFY_SOCKET on a
# socket read by notify_listen.py, which must see READY=1; then the admin password shown in
# /etc/issue.d must work against the API (from this machine: no private network here).
#   sh tests/image/chroot_start.sh ROOT
set -eu
cd "$(dirname "$0")/../.."
HERE=tests/image
ROOT=$1
say() { echo "image-smoke: [chroot] $*"; }
fail() { echo "image-smoke: [chroot] FAIL: $*" >&2; exit 1; }

mount -t proc proc "$ROOT/proc"
mount --rbind /dev "$ROOT/dev"
# The first-boot banner goes to /dev/console: in a chroot that would be this machine's.
mount --bind /dev/null "$ROOT/dev/console"
pid=""
cleanup() {
    [ -z "$pid" ] || kill "$pid" 2>/dev/null || true
    [ -z "$pid" ] || wait "$pid" 2>/dev/null || true
    umount "$ROOT/dev/console"; umount "$ROOT/proc"; umount -R "$ROOT/dev"
}
trap cleanup EXIT

chroot "$ROOT" /usr/lib/smsd-image/firstboot >/dev/null
admin=$(sed -n "s/.*user 'admin', password '\([^']*\)'.*/\1/p" "$ROOT/etc/issue.d/smsd-first-boot.issue")
[ "$admin" = "$(cat "$ROOT/var/lib/smsd/admin-password")" ] || fail "shown and saved admin passwords differ"
say "first boot: admin password made, saved 0600 and shown in /etc/issue.d"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
echo "SMSD_ARGS=\"--simulate 2 --sim-latency 0.2 --listen 127.0.0.1:$port\"" >"$ROOT/etc/default/smsd"
# ExecStart of the installed unit; $SMSD_ARGS expands from /etc/default/smsd as systemd would.
exec_start=$(sed -n 's/^ExecStart=//p' "$ROOT/lib/systemd/system/smsd.service")
mkdir -p "$ROOT/run/smsd-smoke"
python3 "$HERE/notify_listen.py" "$ROOT/run/smsd-smoke/notify" 90 >"$ROOT/run/smsd-smoke/notify.log" 2>&1 &
listener=$!
sleep 1
install -d -o "$(chroot "$ROOT" id -u smsd)" -g "$(chroot "$ROOT" id -g smsd)" -m 0750 "$ROOT/var/lib/smsd"
chroot "$ROOT" /bin/sh -c ". /etc/default/smsd; export NOTIFY_SOCKET=/run/smsd-smoke/notify PYTHONUNBUFFERED=1;
    exec runuser -u smsd -- $exec_start" >"$ROOT/run/smsd-smoke/daemon.log" 2>&1 &
pid=$!
wait "$listener" || { cat "$ROOT/run/smsd-smoke/daemon.log" >&2; fail "no READY=1 from the daemon"; }
sed 's/^/image-smoke: [chroot] /' "$ROOT/run/smsd-smoke/notify.log"
python3 tests/package/check_api.py "http://127.0.0.1:$port" "$admin" ||
    { cat "$ROOT/run/smsd-smoke/daemon.log" >&2; fail "api check"; }
say "smsd sent READY=1 and the shown admin password works against the API"
