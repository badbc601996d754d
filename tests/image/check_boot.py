"""Checks run inside the booted appliance root file system (tests/image/smoke.sh installs this
as a oneshot unit ordered after smsd.service and powers the container off afterwards).

    python3 check_boot.py BOOT_NUMBER

Boot 1 is the device's first boot: smsd-firstboot must have made an admin password (saved where
the daemon keeps it, 0600, and working against the API) and a root password, both shown in
/etc/issue.d; smsd.service must reach active, which for Type=notify means the daemon sent
READY=1. Boot 2 must keep both passwords (the first-boot step is skipped) and start smsd again;
then it does what a confirmed factory reset does (smsd stopped, its database and saved admin
password deleted, smsd started on the fresh state) and checks that smsd-admin-password.path
showed the daemon's new admin password at the login prompt, that it works against the API and
that the old one no longer does.
Standard library only (Debian's python3 in the image). Last line of RESULT: PASS or FAIL.
"""
from __future__ import annotations

import crypt  # noqa: deprecated in 3.11 but present; the only stdlib way to check a shadow hash
import os
import pwd
import stat
import subprocess
import sys
import time
import urllib.error

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_api  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ISSUE = "/etc/issue.d/smsd-first-boot.issue"
ADMIN_FILE = "/var/lib/smsd/admin-password"
RESET_ISSUE = "/etc/issue.d/smsd-admin-password.issue"
STAMP = "/var/lib/smsd-image/firstboot-done"
GROW_UNIT = "/etc/systemd/system/smsd-grow-root.service"
API = os.environ.get("SMSD_TEST_API", "http://127.0.0.1:8080")
# Written by smoke.sh when this root file system's programs run under qemu-user, which lacks the
# netlink families networkd needs ("Could not setup manager: Protocol not supported") and the
# network namespaces hostnamed and timedated run in (PrivateNetwork=).
EMULATED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "emulated")


class Failed(Exception):
    pass


def log(line: str) -> None:
    print(f"image-smoke: {line}", flush=True)
    with open(os.path.join(HERE, f"result-{BOOT}"), "a", encoding="utf-8") as f:
        f.write(line + "\n")


def props(unit: str | None, *names: str) -> dict[str, str]:
    """Unit properties, or the manager's own when unit is None."""
    argv = ["systemctl", "show"] + ([unit] if unit else []) + ["-p", ",".join(names)]
    out = subprocess.run(argv,
                         capture_output=True, text=True, check=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def wait_active(unit: str, timeout: float) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while True:
        p = props(unit, "Type", "ActiveState", "SubState", "StatusText", "NRestarts", "Result")
        if p["ActiveState"] == "active" or time.monotonic() > deadline:
            return p
        if p["ActiveState"] == "failed":
            return p
        time.sleep(1)


def expect(cond: bool, what: str) -> None:
    if not cond:
        raise Failed(what)
    log(f"ok: {what}")


def shown(path: str, user: str) -> str | None:
    """The password a login prompt file shows for user, if it shows one."""
    pad = ", " if user == "admin" else ",  "   # the banner aligns the two lines
    text = open(path, encoding="utf-8").read()
    marker = f"user '{user}'{pad}password '"
    return text.split(marker, 1)[1].split("'", 1)[0] if marker in text else None


def issue_passwords() -> tuple[str, str]:
    admin, root = shown(ISSUE, "admin"), shown(ISSUE, "root")
    if admin is None or root is None:
        raise Failed(f"{ISSUE} does not show both passwords")
    return admin, root


def check_files() -> str:
    st = os.stat(ADMIN_FILE)
    expect(stat.S_IMODE(st.st_mode) == 0o600 and pwd.getpwuid(st.st_uid).pw_name == "smsd",
           f"{ADMIN_FILE} is 0600 smsd")
    expect(stat.S_IMODE(os.stat(ISSUE).st_mode) == 0o600, f"{ISSUE} is 0600 (getty reads it)")
    admin, root = issue_passwords()
    saved = open(ADMIN_FILE, encoding="utf-8").read().strip()
    expect(len(admin) >= 16 and admin == saved, "the console shows the saved admin password")
    shadow = next(line for line in open("/etc/shadow") if line.startswith("root:")).split(":")[1]
    expect(crypt.crypt(root, shadow) == shadow, "root's console password is the one shown")
    return admin


def check_firstboot() -> None:
    p = props("smsd-firstboot.service", "ActiveState", "Result", "ConditionResult")
    if BOOT == 1:
        expect(p["ActiveState"] == "active" and p["Result"] == "success",
               f"smsd-firstboot ran: {p}")
    else:
        expect(p["ConditionResult"] == "no" and p["ActiveState"] == "inactive",
               f"smsd-firstboot skipped on boot {BOOT}: {p}")
    expect(os.path.exists(STAMP), "first-boot stamp present")


def check_admin_password_path() -> None:
    p = props("smsd-admin-password.path", "ActiveState", "UnitFileState")
    expect(p["ActiveState"] == "active" and p["UnitFileState"] == "enabled",
           f"smsd-admin-password.path enabled and watching: {p}")
    # The first boot shows its password itself: the path unit must not show it a second time.
    expect(not os.path.exists(RESET_ISSUE), f"no {RESET_ISSUE} before any reset")


def rejected(password: str) -> bool:
    try:
        answer = check_api.call(API, password, "query_sms_in_queue")
    except urllib.error.HTTPError as exc:
        return exc.code == 401
    return answer.get("error_code") == 401


def factory_reset() -> None:
    """What a confirmed reset does: the daemon stops, wipe_state deletes the database and the
    saved admin password, systemd starts it again on the fresh state."""
    from smsd.board.factory_reset import wipe_state  # the installed daemon's own code
    from smsd.daemon import ADMIN_PASSWORD_FILE, DB_FILE
    subprocess.run(["systemctl", "stop", "smsd.service"], check=True)
    wipe_state(os.path.dirname(ADMIN_FILE), DB_FILE, (ADMIN_PASSWORD_FILE,))
    subprocess.run(["systemctl", "start", "smsd.service"], check=True)


def wait_reset_issue(timeout: float) -> str | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(RESET_ISSUE) and os.path.exists(ADMIN_FILE):
            new = shown(RESET_ISSUE, "admin")
            if new and new == open(ADMIN_FILE, encoding="utf-8").read().strip():
                return new
        time.sleep(0.5)
    return None


def check_factory_reset(old: str) -> None:
    factory_reset()
    check_smsd()
    new = wait_reset_issue(30)
    expect(new is not None and new != old,
           f"after a factory reset {RESET_ISSUE} shows the daemon's new admin password")
    assert new is not None
    expect(stat.S_IMODE(os.stat(RESET_ISSUE).st_mode) == 0o600, f"{RESET_ISSUE} is 0600")
    first = (shown(ISSUE, "admin"), shown(ISSUE, "root"))
    expect(first[0] is None and first[1] is not None,
           f"{ISSUE} no longer shows the old admin password, still root's")
    p = props("smsd-admin-password.service", "Result", "ExecMainStatus")
    expect(p["Result"] == "success", f"smsd-admin-password.service succeeded: {p}")
    check_api.main(API, new)
    log("ok: the new admin password works against the API and an SMS went through")
    expect(rejected(old), "the old admin password is refused (401)")
    # For smoke.sh: the console must show it and the journal must not.
    with open(os.path.join(HERE, "reset-admin-password"), "w", encoding="utf-8") as f:
        f.write(new)


def check_smsd() -> None:
    p = wait_active("smsd.service", 120)
    expect(p["Type"] == "notify" and p["ActiveState"] == "active" and p["SubState"] == "running",
           f"smsd.service ready (Type=notify, active): StatusText='{p['StatusText']}'")
    expect(p["StatusText"] != "", "the daemon reports a status line")


def networkd_runs() -> bool:
    if os.path.exists(EMULATED):
        log("skip: networkd, hostnamed and timedated calls (qemu-user lacks their netlink use)")
        return False
    return True


def check_system() -> None:
    units = ["systemd-resolved.service"]
    if networkd_runs():
        units.insert(0, "systemd-networkd.service")
    for unit in units:
        expect(props(unit, "ActiveState")["ActiveState"] == "active", f"{unit} active")
    expect(os.path.realpath("/etc/resolv.conf") == "/run/systemd/resolve/stub-resolv.conf",
           "resolv.conf is resolved's stub")
    wd = props(None, "RuntimeWatchdogUSec")
    expect(wd.get("RuntimeWatchdogUSec") == "15s", f"manager watchdog configured: {wd}")


def check_grow_root() -> None:
    """The board's first-boot partition growing must stand aside in a container (whose root is
    no partition of the image's); the container profile does not have it at all."""
    if not os.path.exists(GROW_UNIT):
        log("skip: smsd-grow-root (board profile only)")
        return
    p = props("smsd-grow-root.service", "ActiveState", "ConditionResult",
              "ConditionTimestampMonotonic")
    expect(p["ConditionTimestampMonotonic"] not in ("", "0") and p["ConditionResult"] == "no"
           and p["ActiveState"] == "inactive", f"smsd-grow-root skipped in a container: {p}")


def as_smsd(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["runuser", "-u", "smsd", "--", *argv], capture_output=True, text=True)


def busctl(service: str, path: str, iface: str, member: str, *args: str) -> list[str]:
    return ["busctl", "call", service, path, iface, member, *args]


def check_network_management() -> None:
    """smsd owns the network on the appliance: it may write its own .network file and ask
    networkd/hostnamed/timedated for what its network page needs, and nothing more."""
    expect("manage = yes" in open("/etc/smsd/smsd.conf", encoding="utf-8").read(),
           "smsd.conf: [network] manage = yes")
    rw = props("smsd.service", "ReadWritePaths")["ReadWritePaths"]
    expect("/etc/systemd/network" in rw.split(), f"smsd.service may write /etc/systemd/network: {rw}")
    own = "/etc/systemd/network/10-smsd-smoke.network"
    made = as_smsd("touch", own).returncode == 0 and as_smsd("rm", own).returncode == 0
    expect(made, "smsd can write and remove its own .network file")
    expect(as_smsd("rm", "-f", "/etc/systemd/network/20-wired.network").returncode != 0,
           "smsd cannot remove the image's 20-wired.network")
    if not networkd_runs():
        return
    reload = as_smsd(*busctl("org.freedesktop.network1", "/org/freedesktop/network1",
                             "org.freedesktop.network1.Manager", "Reload"))
    expect(reload.returncode == 0, f"polkit lets smsd reload networkd {reload.stderr.strip()}")
    # Real changes only: hostnamed and timedated answer a no-op before they ask polkit.
    host = as_smsd(*busctl("org.freedesktop.hostname1", "/org/freedesktop/hostname1",
                           "org.freedesktop.hostname1", "SetStaticHostname", "sb", "smsd-smoke",
                           "false"))
    renamed = open("/etc/hostname", encoding="utf-8").read().strip()
    expect(host.returncode == 0 and renamed == "smsd-smoke",
           f"polkit lets smsd set the host name ({renamed}) {host.stderr.strip()}")
    subprocess.run(["hostnamectl", "set-hostname", "smsd"], check=True)
    rtc = as_smsd(*busctl("org.freedesktop.timedate1", "/org/freedesktop/timedate1",
                          "org.freedesktop.timedate1", "SetLocalRTC", "bbb", "true", "false",
                          "false"))
    expect(rtc.returncode != 0, f"but nothing else (SetLocalRTC: {rtc.stderr.strip()})")


def main() -> None:
    check_smsd()
    check_firstboot()
    admin = check_files()
    record = os.path.join(HERE, "boot1-admin-password")
    if BOOT == 1:
        with open(record, "w", encoding="utf-8") as f:
            f.write(admin)
    else:
        expect(open(record, encoding="utf-8").read() == admin, "admin password kept on reboot")
    check_system()
    check_grow_root()
    check_network_management()
    check_api.main(API, admin)
    log("ok: the admin password works against the API and an SMS went through the simulator")
    if BOOT == 1:
        check_admin_password_path()
    else:
        check_factory_reset(admin)


if __name__ == "__main__":
    BOOT = int(sys.argv[1])
    try:
        main()
        log("PASS")
    except Exception as exc:  # any failure (also a missing file) is a test result, not a crash
        log(f"FAIL: {type(exc).__name__}: {exc}")
        log("FAIL")
        sys.exit(1)
