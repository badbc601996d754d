"""Upgrade checks run inside the booted test system (called by check_booted.py).

before_upgrade(): the last release is installed and running; data goes in through its own
commands and API: a user with permissions and credits, a contact in a group, messages of which
some are still queued (the simulated network is made slow, so that the ports are busy), and a
changed line in the conffile /etc/smsd/smsd.conf.

upgrade(): the new package is installed over it with apt while the service runs, as an owner
with a shell would (the last release has no `smsd update`). Then: dpkg has the new version, the
service runs it (a new process, `smsd --version`), the conffile line is kept, the user, its
credits and password, the contact are there, and the queued messages go out.

signed_updates(): the daemon's sandbox can check a signed package; `smsd update` refuses an
unsigned package; a signed package whose installation fails (its pre-installation script exits
1) is reported as failed with the running version still installed and running (run by root);
a signed newer package is installed and the service restarted on it (run by the daemon's user,
as the web console will, through smsd-update.path).
"""
from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass

import check_api
import check_booted as booted

DEFAULTS = "/etc/default/smsd"
CONFFILE = "/etc/smsd/smsd.conf"
STATE = "/var/lib/smsd"
CHANGED = ("# http_threads = 16", "http_threads = 12")
USER, PASSWORD, CREDITS = "upgrader", "up-grade-secret-1", 42
CONTACT = "Ann Upgrade"
BATCH_USER_ID = 12
NUMBERS = [f"+4477009002{i:02d}" for i in range(6)]     # 4 ports: 4 on the air, 2 queued
FINAL = ("SENT_OK", "DELIVERED", "FAILED")
UPGRADED = [0.0]                # time.time() when the new version was installed


@dataclass
class Env:
    base: str
    old: str
    new: str
    packages: str
    keyring: str

    @classmethod
    def from_environ(cls) -> Env:
        e = os.environ
        return cls("http://" + e["SMSD_TEST_LISTEN"], e["SMSD_TEST_OLD_VERSION"],
                   e["SMSD_TEST_NEW_VERSION"], e["SMSD_TEST_PACKAGES"], e["SMSD_UPDATE_KEYRING"])


def run(*argv: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(list(argv), capture_output=True, text=True, check=False,
                          timeout=timeout)
    if check and done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)}: exit {done.returncode}: {done.stdout}{done.stderr}")
    return done


def as_smsd(*argv: str, check: bool = True, env: dict[str, str] | None = None,
            timeout: float = 600) -> subprocess.CompletedProcess[str]:
    pre = ["runuser", "-u", "smsd", "--", "env"] + [f"{k}={v}" for k, v in (env or {}).items()]
    return run(*pre, *argv, check=check, timeout=timeout)


def dpkg_status() -> tuple[str, str]:
    out = run("dpkg-query", "-W", "-f=${Version}|${Status}", "smsd").stdout
    version, status = out.split("|", 1)
    return version, status


def admin_password() -> str:
    with open(f"{STATE}/admin-password", encoding="utf-8") as f:
        return f.read().strip()


def call_as(base: str, user: str, password: str, name: str, body: object | None = None) -> dict:
    import base64
    import urllib.request
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"{base}/api/{name}", data=data, headers={
        "Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode(),
        "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        answer: dict = json.loads(resp.read())
    return answer


def set_latency(seconds: str) -> None:
    with open(DEFAULTS, encoding="utf-8") as f:
        text = f.read()
    args = text.split('SMSD_ARGS="', 1)[1].split('"', 1)[0].split()
    args[args.index("--sim-latency") + 1] = seconds
    with open(DEFAULTS, "w", encoding="utf-8") as f:
        f.write(f'SMSD_ARGS="{" ".join(args)}"\n')


def wait_active() -> None:
    booted.wait(lambda: booted.show("ActiveState") == "active", 120, "smsd active")


def batch(base: str) -> list[dict]:
    result = check_api.call(base, admin_password(), "query_sms_result",
                            {"user_id": [BATCH_USER_ID]}).get("result", [])
    return list(result)


# --- the last release -----------------------------------------------------------------------------
def before_upgrade(env: Env) -> None:
    wait_active()
    version, _ = dpkg_status()
    if version != env.old:
        raise SystemExit(f"the last release {env.old} is not what runs: dpkg has {version}")
    set_latency("600")                   # a slow network: the ports stay busy, the rest queues
    run("systemctl", "restart", "smsd.service")
    wait_active()
    base, pw = env.base, admin_password()
    check_api.wait_ports(base, pw, time.monotonic() + 60)
    as_smsd("smsd", "user", "add", USER, "--password", PASSWORD, "--perm", "api:json",
            "--credits", str(CREDITS), "--state-dir", STATE)
    book = "/var/tmp/package-test-book.csv"
    with open(book, "w", encoding="utf-8") as f:
        f.write(f"{CONTACT},+447700900555,upgraders\n")
    os.chmod(book, 0o644)
    as_smsd("smsd", "contacts", "import", book, "--state-dir", STATE)
    accepted = check_api.call(base, pw, "send_sms", {"text": "queued across the upgrade", "param": [
        {"number": n, "user_id": BATCH_USER_ID} for n in NUMBERS]})
    if accepted.get("error_code") != 202:
        raise SystemExit(f"send_sms refused: {accepted}")
    booted.wait(lambda: len(batch(base)) == len(NUMBERS), 30, "the batch in the results")
    queued = check_api.call(base, pw, "query_sms_in_queue").get("in_queue")
    with open(CONFFILE, encoding="utf-8") as f:
        conf = f.read()
    if CHANGED[0] not in conf:
        raise SystemExit(f"{CONFFILE} has no line {CHANGED[0]!r} to change")
    with open(CONFFILE, "w", encoding="utf-8") as f:
        f.write(conf.replace(CHANGED[0], CHANGED[1]))
    set_latency("0.2")                   # for the new version, from its start on
    booted.log(f"smsd {env.old} (last release) running: user {USER} with {CREDITS} credits, "
               f"contact {CONTACT!r}, {len(NUMBERS)} messages sent to 4 busy ports "
               f"(in queue: {queued}), {CONFFILE} changed: {CHANGED[1]!r}")


# --- apt over the running last release ------------------------------------------------------------
def upgrade(env: Env) -> None:
    pid = booted.show("MainPID")
    started = time.monotonic()
    UPGRADED[0] = time.time()
    done = run("apt-get", "install", "-y", "-q", "-o", "Dpkg::Options::=--force-confold",
               f"{env.packages}/smsd-new.deb", check=False)
    took = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"apt-get install of {env.new}: {done.stdout[-1500:]}{done.stderr}")
    version, status = dpkg_status()
    if (version, status) != (env.new, "install ok installed"):
        raise SystemExit(f"after the upgrade dpkg has {version} ({status})")
    wait_active()
    if booted.show("MainPID") == pid:
        raise SystemExit("the upgrade did not restart smsd.service")
    said = run("smsd", "--version").stdout.strip()
    if said != f"smsd {env.new}":
        raise SystemExit(f"smsd --version says {said!r}")
    booted.log(f"apt upgraded {env.old} -> {env.new} over the running service in {took:.0f} s; "
               f"smsd.service runs {said} (new process)")
    check_data(env)


def check_data(env: Env) -> None:
    with open(CONFFILE, encoding="utf-8") as f:
        if CHANGED[1] not in f.read().splitlines():
            raise SystemExit(f"the changed conffile line {CHANGED[1]!r} is gone")
    dist = " (the new default beside it as .dpkg-dist)" if os.path.exists(
        CONFFILE + ".dpkg-dist") else ""
    booted.log(f"conffile change kept{dist}")
    users = as_smsd("smsd", "user", "list", "--state-dir", STATE).stdout
    row = next((ln.split() for ln in users.splitlines() if ln.split()[:1] == [USER]), None)
    if row is None or str(CREDITS) not in row:
        raise SystemExit(f"user {USER} with {CREDITS} credits is gone:\n{users}")
    check_api.wait_ports(env.base, admin_password(), time.monotonic() + 60)
    answer = call_as(env.base, USER, PASSWORD, "query_sms_in_queue")
    if answer.get("error_code") != 200:
        raise SystemExit(f"{USER} cannot use the JSON API after the upgrade: {answer}")
    contacts = as_smsd("smsd", "contacts", "export", "-", "--state-dir", STATE).stdout
    if CONTACT not in contacts or "upgraders" not in contacts:
        raise SystemExit(f"contact {CONTACT!r} (group upgraders) is gone:\n{contacts}")
    booted.log(f"user {USER} ({CREDITS} credits, password, api:json) and contact {CONTACT!r} kept")
    booted.wait(lambda: all(r["status"] in FINAL for r in batch(env.base)), 90,
                "the messages queued across the upgrade to go out")
    results = batch(env.base)
    sent = [r for r in results if r["status"] in ("SENT_OK", "DELIVERED")]
    if len(results) != len(NUMBERS) or len(sent) < len(NUMBERS) - 4:
        raise SystemExit(f"messages queued across the upgrade: {results}")
    failed = len(results) - len(sent)
    booted.log(f"after the upgrade {len(sent)} of {len(NUMBERS)} messages went out"
               + (f", {failed} on the air when the last release stopped failed (its stop)"
                  if failed else ""))
    backups = sorted(n for n in os.listdir(STATE) if n.startswith("smsd.db.pre-v"))
    if backups:
        booted.log(f"pre-migration copy: {', '.join(backups)}")


# --- smsd update ----------------------------------------------------------------------------------
def smsd_update(env: Env, name: str, root: bool = False) -> subprocess.CompletedProcess[str]:
    """As the daemon's user (what the web console does), or as root (who starts
    smsd-update.service itself)."""
    argv = ["smsd", "update", f"{env.packages}/{name}", "--state-dir", STATE]
    keyring = {"SMSD_UPDATE_KEYRING": env.keyring}
    if root:
        return run("env", *(f"{k}={v}" for k, v in keyring.items()), *argv, check=False)
    return as_smsd(*argv, env=keyring, check=False)


def check_in_sandbox(env: Env) -> None:
    """The daemon itself can check a package (what the web console's upload will do): gpgv,
    dpkg-deb and dpkg-query work inside smsd.service's sandbox. Run once, from ExecStartPost,
    which shares it."""
    deb = f"{env.packages}/smsd-newer.deb"
    code = (f"from smsd import update as u; p = u.check_package('{deb}', '{deb}.sig', "
            f"ring='{env.keyring}', installed=u.installed_version(), "
            "arch=u.machine_architecture()); print('the sandbox checked', p.name, p.version)")
    dropin = "/etc/systemd/system/smsd.service.d/package-test-update.conf"
    with open(dropin, "w", encoding="utf-8") as f:
        f.write(f'[Service]\nExecStartPost=/usr/bin/python3 -c "{code}"\n')
    try:
        run("systemctl", "daemon-reload")
        restarted = run("systemctl", "restart", "smsd.service", check=False)
    finally:
        os.unlink(dropin)
        run("systemctl", "daemon-reload")
    want = f"the sandbox checked smsd {env.new}+update1"
    line = next((ln for ln in booted.journal_text().splitlines() if want in ln), "")
    if restarted.returncode != 0 or not line:
        raise SystemExit(f"checking a package inside smsd.service's sandbox failed:\n"
                         f"{booted.journal_text()[-2000:]}")
    wait_active()
    booted.log(f"inside smsd.service's sandbox: {want}")


def signed_updates(env: Env) -> None:
    check_in_sandbox(env)
    done = smsd_update(env, "smsd-unsigned.deb")
    if done.returncode != 1 or "refused:" not in done.stderr or "no signature" not in done.stderr:
        raise SystemExit(f"an unsigned package: exit {done.returncode}: {done.stderr}")
    booted.log(f"smsd update, unsigned: {done.stderr.strip()}")

    pid = booted.show("MainPID")
    done = smsd_update(env, "smsd-failing.deb", root=True)
    version, status = dpkg_status()
    if done.returncode != 1 or f"failed: installing smsd {env.new}+update2 failed" not in \
            done.stdout or f"(smsd {env.new} is installed)" not in done.stdout:
        raise SystemExit(f"a failing install: exit {done.returncode}: {done.stdout}{done.stderr}")
    if (version, status) != (env.new, "install ok installed"):
        raise SystemExit(f"after a failed update dpkg has {version} ({status})")
    wait_active()
    check_api.main(env.base, admin_password())
    booted.log(f"smsd update (as root), install fails: {done.stdout.strip().splitlines()[-1]}; "
               f"{env.new} still installed and running (pid {pid} -> {booted.show('MainPID')})")

    pid = booted.show("MainPID")
    started = time.monotonic()
    done = smsd_update(env, "smsd-newer.deb")
    took = time.monotonic() - started
    want = f"ok: smsd {env.new} -> {env.new}+update1 installed, smsd.service restarted"
    if done.returncode != 0 or want not in done.stdout:
        raise SystemExit(f"a signed update: exit {done.returncode}: {done.stdout}{done.stderr}")
    version, status = dpkg_status()
    if (version, status) != (f"{env.new}+update1", "install ok installed"):
        raise SystemExit(f"after the update dpkg has {version} ({status})")
    wait_active()
    if booted.show("MainPID") == pid:
        raise SystemExit("the update did not restart smsd.service")
    check_api.main(env.base, admin_password())
    if USER not in as_smsd("smsd", "user", "list", "--state-dir", STATE).stdout:
        raise SystemExit(f"user {USER} is gone after the update")
    booted.log(f"smsd update, signed and newer ({took:.0f} s, as user smsd through "
               f"smsd-update.path): {done.stdout.strip().splitlines()[-1]}")
