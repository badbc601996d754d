"""Checks run inside the booted test system (a oneshot unit ordered after smsd.service).

First the upgrade from the last release, last the signed updates (check_upgrade.py). In
between, what a person would check on a freshly installed box: the service came up as the smsd
user and says so in its status line, its sandbox reaches the system bus, the JSON API answers
and sends, a wedged daemon (its database write lock held by another process) stops petting the
watchdog and systemd restarts it, and a broken configuration file stops the service with exit
status 2, no restart loop and a message in the journal naming the key. Results go to stdout
(the console) and RESULT_FILE; exit status 0 = pass.
"""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_api  # noqa: E402

RESULT_FILE = "/root/package-test/result"
DEFAULTS = "/etc/default/smsd"
BROKEN = "/etc/smsd/broken.conf"


def log(line: str) -> None:
    print(f"package-test: {line}", flush=True)
    with open(RESULT_FILE, "a", encoding="utf-8") as f:
        f.write(line + "\n")


def show(prop: str) -> str:
    return subprocess.run(["systemctl", "show", "-p", prop, "--value", "smsd.service"],
                          capture_output=True, text=True, check=False).stdout.strip()


def wait(cond, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.5)
    raise SystemExit(f"timed out waiting for {what} (state {show('ActiveState')}, "
                     f"status {show('StatusText')!r})")


def journal_text() -> str:
    return subprocess.run(["journalctl", "-u", "smsd.service", "--no-pager", "-q"],
                          capture_output=True, text=True, check=False).stdout


def check_running(base: str, since: float = 0.0) -> None:
    """`since`: a time.time() from which on systemd must not have warned (the last release's
    stop, before the upgrade, is not this version's)."""
    wait(lambda: show("ActiveState") == "active" and "ports" in show("StatusText"), 90,
         "smsd active with a status line")
    pid = show("MainPID")
    user = subprocess.run(["ps", "-o", "user=", "-p", pid], capture_output=True, text=True,
                          check=True).stdout.strip()
    if user != "smsd":
        raise SystemExit(f"smsd runs as {user!r}")
    log(f"running as {user}, status: {show('StatusText')}")
    warnings = subprocess.run(["journalctl", "-u", "smsd.service", "-p", "warning", "-q",
                               "--no-pager", f"--since=@{since:.0f}"],
                              capture_output=True, text=True, check=False).stdout
    if warnings.strip():
        raise SystemExit(f"systemd warned about the service:\n{warnings}")
    if "sandbox reaches the system bus" not in journal_text():
        raise SystemExit("the service's sandbox could not reach the system bus")
    log("the service's sandbox reaches the system bus")
    with open("/var/lib/smsd/admin-password", encoding="utf-8") as f:
        check_api.main(base, f.read().strip())
    log("json api answered and sent an SMS")


def check_watchdog(base: str) -> None:
    restarts = int(show("NRestarts") or 0)
    conn = sqlite3.connect("/var/lib/smsd/smsd.db", isolation_level=None, timeout=30)
    conn.execute("BEGIN IMMEDIATE")          # the daemon's database is now wedged
    try:
        wait(lambda: int(show("NRestarts") or 0) > restarts, 120, "a watchdog restart")
    finally:
        conn.execute("ROLLBACK")
        conn.close()
    journal = journal_text()
    if "Watchdog timeout" not in journal:
        raise SystemExit("restarted, but not by the watchdog:\n" + journal[-2000:])
    log("wedged database: watchdog not petted, systemd restarted the daemon")
    wait(lambda: show("ActiveState") == "active", 90, "smsd active again")
    with open("/var/lib/smsd/admin-password", encoding="utf-8") as f:
        check_api.main(base, f.read().strip())
    log("after the restart the api answers and sends again")


def check_broken_config() -> None:
    with open(BROKEN, "w", encoding="utf-8") as f:
        f.write("[daemon]\nlisten = 127.0.0.1:18099\n[simulate]\nports = many\n")
    with open(DEFAULTS, encoding="utf-8") as f:
        saved = f.read()
    args = saved.split('SMSD_ARGS="', 1)[1].split('"', 1)[0]
    with open(DEFAULTS, "w", encoding="utf-8") as f:
        f.write(f'SMSD_ARGS="{args} --config {BROKEN}"\n')    # the later --config wins
    started = subprocess.run(["systemctl", "restart", "smsd.service"], capture_output=True,
                             check=False)
    restarts = show("NRestarts")
    time.sleep(7)                            # longer than RestartSec: no restart may follow
    status, state = show("ExecMainStatus"), show("ActiveState")
    journal = subprocess.run(["journalctl", "-u", "smsd.service", "--no-pager", "-q", "-n", "20"],
                             capture_output=True, text=True, check=False).stdout
    with open(DEFAULTS, "w", encoding="utf-8") as f:
        f.write(saved)
    os.unlink(BROKEN)
    if started.returncode == 0 or status != "2" or state != "failed":
        raise SystemExit(f"broken config: restart rc {started.returncode}, exit {status}, {state}")
    if show("NRestarts") != restarts:
        raise SystemExit("broken config: systemd kept restarting the daemon")
    line = next((ln for ln in journal.splitlines() if "broken.conf" in ln and "ports" in ln), "")
    if not line:
        raise SystemExit("broken config: no message naming the key in the journal:\n" + journal)
    log(f"broken config refused, exit 2, no restart, journal: {line.split(': ', 1)[-1]}")
    subprocess.run(["systemctl", "reset-failed", "smsd.service"], check=False)
    subprocess.run(["systemctl", "start", "smsd.service"], check=True)


def dump_journal() -> None:
    journal = subprocess.run(["journalctl", "-u", "smsd.service", "--no-pager", "-q", "-n", "40"],
                             capture_output=True, text=True, check=False).stdout
    for line in journal.splitlines():
        log(f"journal: {line}")


def main() -> int:
    import check_upgrade
    env = check_upgrade.Env.from_environ()
    base = env.base
    try:
        t0 = time.monotonic()
        check_upgrade.before_upgrade(env)
        check_upgrade.upgrade(env)
        t1 = time.monotonic()
        check_running(base, since=check_upgrade.UPGRADED[0])
        check_watchdog(base)
        check_broken_config()
        t2 = time.monotonic()
        check_upgrade.signed_updates(env)
        log(f"times: upgrade {t1 - t0:.0f} s, service checks {t2 - t1:.0f} s, "
            f"signed updates {time.monotonic() - t2:.0f} s")
    except SystemExit as exc:
        dump_journal()
        log(f"FAIL: {exc}")
        return 1
    except Exception as exc:   # noqa: BLE001 - report anything as a failed test
        dump_journal()
        log(f"FAIL: {exc!r}")
        return 1
    log("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
