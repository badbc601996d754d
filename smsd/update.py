"""Signed package updates without a shell: `smsd update FILE.deb` (and, later, the web console).

Two halves, because the daemon runs as the unprivileged user smsd and installing needs root:

1. `stage_update()` (any user who may write the spool: the daemon, `smsd update`) checks the
   package: a detached signature FILE.deb.sig by the project's release key (gpgv against the
   keyring the package ships), package name smsd, this machine's architecture, a version newer
   than the installed one. It then copies the package and its signature into the spool
   (/var/lib/smsd/update) and drops `request.json` there.
2. `apply_pending()` runs as root in smsd-update.service, which smsd-update.path starts when a
   request appears (or `smsd update` run by root starts it). It takes the request, copies the
   files out of the spool (which the smsd user controls) into its own private directory, checks
   them all again there, installs with apt (dependencies resolved first, changed conffiles
   kept), makes sure smsd.service was restarted, and writes the outcome to `status.json`.

`wait_outcome()` waits for the status of one request; `read_outcome()` reads the last one (the
web console shows it after the daemon comes back from its restart). A refused or failed update
never removes the running version: every check happens before apt runs, apt resolves the
dependencies before it unpacks anything, and dpkg puts the old version back when the new one's
unpack or pre-installation script fails.

Nothing here imports the rest of smsd beyond its errors, config and version: the root half
keeps running the code that was installed when it started while apt replaces those files.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from smsd import __version__, config
from smsd.errors import UpdateRefused

PACKAGE = "smsd"
KEYRING = "/usr/share/smsd/release-keyring.gpg"
# Only tests set this: the package test signs with a throwaway key. The root half reads it from
# its own unit's environment, which only root can change.
KEYRING_ENV = "SMSD_UPDATE_KEYRING"
SPOOL_NAME = "update"
SPOOL_DIR = os.path.join(config.DEFAULT_STATE_DIR, SPOOL_NAME)
REQUEST = "request.json"
STATUS = "status.json"
SERVICE = "smsd.service"
UPDATE_SERVICE = "smsd-update.service"
MAX_PACKAGE_BYTES = 256 * 1024 * 1024
MAX_SIGNATURE_BYTES = 64 * 1024
WAIT_SECONDS = 900.0            # apt plus a restart that first lets the parts on the air finish
STALE_SECONDS = 2 * WAIT_SECONDS
_ID = re.compile(r"[0-9a-f]{32}")
_TOOLS_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class Package:
    """What a checked .deb says about itself."""

    name: str
    version: str
    architecture: str
    signer: str                 # fingerprint of the key that made the good signature


@dataclass(frozen=True)
class Request:
    """A checked package waiting in the spool for the root half."""

    id: str
    version: str
    from_version: str


@dataclass(frozen=True)
class Outcome:
    """The end of one update: ok, or failed with the reason; the versions before and after."""

    id: str
    ok: bool
    reason: str
    from_version: str
    to_version: str             # what the package brought
    installed: str              # what dpkg has installed now
    finished: float

    def line(self) -> str:
        if self.ok:
            return f"ok: smsd {self.from_version} -> {self.to_version} installed, {self.reason}"
        return f"failed: {self.reason} (smsd {self.installed or '?'} is installed)"


# --- checks (both halves) -------------------------------------------------------------------------
def keyring() -> str:
    return os.environ.get(KEYRING_ENV) or KEYRING


def _run(argv: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PATH=_TOOLS_PATH, LC_ALL="C")
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=timeout,
                          env=env)


def verify_signature(deb: str, sig: str, ring: str) -> str:
    """The fingerprint of the key in `ring` whose detached signature `sig` covers `deb`."""
    if not os.path.isfile(sig):
        raise UpdateRefused(f"{sig}: no signature: a release comes with FILE.deb.sig, "
                            "written by make release")
    if not os.path.isfile(ring):
        raise UpdateRefused(f"the release keyring {ring} is missing")
    with tempfile.TemporaryDirectory(prefix="smsd-gpgv-") as home:
        done = _run(["gpgv", "--homedir", home, "--keyring", os.path.abspath(ring),
                     "--status-fd", "1", sig, deb])
    status = [ln.split()[1:] for ln in done.stdout.splitlines() if ln.startswith("[GNUPG:] ")]
    words = {s[0]: s[1:] for s in status if s}
    if done.returncode == 0 and "VALIDSIG" in words and "GOODSIG" in words:
        return words["VALIDSIG"][-1]          # the primary key's fingerprint
    if "BADSIG" in words:
        raise UpdateRefused(f"{deb}: the package does not match its signature (changed after "
                            "signing, or damaged)")
    if "NO_PUBKEY" in words:
        raise UpdateRefused(f"{deb}: signed with key {words['NO_PUBKEY'][0]}, which is not the "
                            "smsd release key")
    if "EXPKEYSIG" in words or "REVKEYSIG" in words:
        raise UpdateRefused(f"{deb}: signed with an expired or revoked release key")
    raise UpdateRefused(f"{sig}: not a valid signature of {deb}")


def read_control(deb: str) -> tuple[str, str, str]:
    """Package, Version and Architecture from the package's control file."""
    done = _run(["dpkg-deb", "--field", deb, "Package", "Version", "Architecture"])
    fields = dict(ln.split(": ", 1) for ln in done.stdout.splitlines() if ": " in ln)
    if done.returncode != 0 or not {"Package", "Version", "Architecture"} <= fields.keys():
        raise UpdateRefused(f"{deb}: not a Debian package")
    return fields["Package"], fields["Version"], fields["Architecture"]


def version_newer(a: str, b: str) -> bool:
    """Debian's own ordering of versions (epochs, ~, revisions)."""
    return _run(["dpkg", "--compare-versions", a, "gt", b]).returncode == 0


def installed_version() -> str:
    """The smsd version dpkg has installed; this code's own version where smsd is not a
    package (a development checkout)."""
    done = _run(["dpkg-query", "--showformat=${Version}", "--show", PACKAGE])
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else __version__


def machine_architecture() -> str:
    return _run(["dpkg", "--print-architecture"]).stdout.strip()


def check_package(deb: str, sig: str, *, ring: str, installed: str, arch: str) -> Package:
    """Everything that must hold before a package may be installed, signature first (nothing
    reads an unsigned file's contents)."""
    if not os.path.isfile(deb):
        raise UpdateRefused(f"{deb}: no such file")
    signer = verify_signature(deb, sig, ring)
    name, version, architecture = read_control(deb)
    if name != PACKAGE:
        raise UpdateRefused(f"{deb}: the package is {name!r}, not {PACKAGE}")
    if architecture not in (arch, "all"):
        raise UpdateRefused(f"{deb}: the package is for {architecture}, this system is {arch}")
    if version == installed:
        raise UpdateRefused(f"{deb}: smsd {version} is already installed")
    if not version_newer(version, installed):
        raise UpdateRefused(f"{deb}: smsd {version} is older than the installed {installed}: "
                            "downgrades are refused")
    return Package(name, version, architecture, signer)


# --- the unprivileged half ------------------------------------------------------------------------
def stage_update(deb: str, sig: str | None = None, *, spool: str = SPOOL_DIR,
                 ring: str | None = None, installed: str | None = None) -> Request:
    """Check `deb` (signature `sig`, default deb + '.sig') and queue it for the root half.
    What the web console's upload form calls; raises UpdateRefused with the reason."""
    sig = sig or deb + ".sig"
    installed = installed or installed_version()
    pkg = check_package(deb, sig, ring=ring or keyring(), installed=installed,
                        arch=machine_architecture())
    _make_spool(spool)
    rid = secrets.token_hex(16)
    deb_dst, sig_dst = os.path.join(spool, rid + ".deb"), os.path.join(spool, rid + ".deb.sig")
    shutil.copyfile(deb, deb_dst)
    shutil.copyfile(sig, sig_dst)
    body = {"id": rid, "version": pkg.version, "from": installed, "staged": time.time()}
    tmp = os.path.join(spool, f".{rid}.request")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(body, f)
    try:
        _drop_stale(spool)
        os.link(tmp, os.path.join(spool, REQUEST))    # fails when another update is pending
    except FileExistsError:
        for path in (deb_dst, sig_dst):
            os.unlink(path)
        raise UpdateRefused("another update is pending; try again when it is done") from None
    finally:
        os.unlink(tmp)
    return Request(rid, pkg.version, installed)


def _drop_stale(spool: str) -> None:
    """A request nobody took for STALE_SECONDS (no root half: smsd-update.path disabled, or a
    stager that died before withdrawing it) no longer blocks the next one."""
    try:
        with open(os.path.join(spool, REQUEST), encoding="utf-8") as f:
            body = json.load(f)
        staged, rid = float(body["staged"]), str(body["id"])
    except FileNotFoundError:
        return
    except (OSError, ValueError, KeyError, TypeError):
        staged, rid = 0.0, ""
    if time.time() - staged > STALE_SECONDS:
        _withdraw(Request(rid, "", ""), spool, force=True)


def _make_spool(spool: str) -> None:
    """The spool belongs to the state dir's owner (the daemon's user), also when root makes it:
    the web console stages into it later."""
    if os.path.isdir(spool):
        return
    os.makedirs(spool, exist_ok=True)
    os.chmod(spool, 0o750)
    if os.geteuid() == 0:
        owner = os.stat(os.path.dirname(os.path.abspath(spool)))
        os.chown(spool, owner.st_uid, owner.st_gid)


def read_outcome(spool: str = SPOOL_DIR) -> Outcome | None:
    """The last update's outcome, if any."""
    try:
        with open(os.path.join(spool, STATUS), encoding="utf-8") as f:
            return Outcome(**json.load(f))
    except (OSError, ValueError, TypeError):
        return None


def wait_outcome(request: Request, spool: str = SPOOL_DIR,
                 timeout: float = WAIT_SECONDS) -> Outcome | None:
    """The outcome of `request`; None after `timeout` (the request is then withdrawn if the
    root half has not taken it yet)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = read_outcome(spool)
        if done is not None and done.id == request.id:
            return done
        time.sleep(0.5)
    _withdraw(request, spool)
    return None


def _withdraw(request: Request, spool: str, force: bool = False) -> None:
    try:
        with open(os.path.join(spool, REQUEST), encoding="utf-8") as f:
            mine = json.load(f).get("id") == request.id
    except (OSError, ValueError, AttributeError):
        mine = False
    if mine or force:
        names = [REQUEST] + ([request.id + ".deb", request.id + ".deb.sig"]
                             if _ID.fullmatch(request.id) else [])
        for name in names:
            _unlink(os.path.join(spool, name))


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


# --- the root half --------------------------------------------------------------------------------
class System(Protocol):
    """What the root half does to the machine (a fake in the tests)."""

    def installed_version(self) -> str: ...

    def architecture(self) -> str: ...

    def install(self, deb: str) -> tuple[bool, str]: ...

    def restart(self) -> tuple[bool, str]: ...


class DebianSystem:
    """apt, dpkg and systemd."""

    def installed_version(self) -> str:
        return installed_version()

    def architecture(self) -> str:
        return machine_architecture()

    def install(self, deb: str) -> tuple[bool, str]:
        """apt resolves dependencies before anything is unpacked (refusing what it cannot get);
        a changed conffile is kept (the new one lands beside it as .dpkg-dist)."""
        done = _run(["apt-get", "install", "-y", "-q", "--no-install-recommends", "--no-remove",
                     "-o", "DPkg::Lock::Timeout=300", "-o", "APT::Sandbox::User=root",
                     "-o", "Dpkg::Options::=--force-confdef",
                     "-o", "Dpkg::Options::=--force-confold", deb], timeout=1800)
        if done.returncode == 0:
            return True, ""
        errors = _apt_errors(done.stdout + done.stderr)
        return False, errors.replace(os.path.dirname(deb) + "/", "")

    def restart(self) -> tuple[bool, str]:
        """The package's postinst restarts a running service; start it if that did not
        happen (it was stopped, or the restart failed), then report its state."""
        if not os.path.isdir("/run/systemd/system"):
            return True, "smsd.service not restarted (systemd is not running here)"
        if self._show("ActiveState") != "active":
            _run(["systemctl", "reset-failed", SERVICE])
            _run(["systemctl", "start", SERVICE], timeout=300)
        state = self._show("ActiveState")
        if state != "active":
            journal = _run(["journalctl", "-u", SERVICE, "-n", "3", "-o", "cat", "--no-pager"])
            last = " / ".join(journal.stdout.strip().splitlines()[-3:])
            return False, f"smsd.service is {state} after the upgrade: {last}"
        return True, "smsd.service restarted"

    def _show(self, prop: str) -> str:
        return _run(["systemctl", "show", "-p", prop, "--value", SERVICE]).stdout.strip()


def _apt_errors(output: str) -> str:
    """apt's and dpkg's error lines, with the indented line dpkg explains each one with."""
    lines = [ln for ln in output.splitlines() if ln.strip()]
    picked = [ln.strip() for i, ln in enumerate(lines)
              if ln.startswith(("E:", "dpkg:"))
              or (ln.startswith(" ") and i > 0 and lines[i - 1].startswith("dpkg: error"))]
    return " / ".join((picked or lines[-3:])[-4:])


def _take(spool: int, name: str, dest: str, limit: int) -> None:
    """Copy `name` in the spool (a regular file, not a link, at most `limit` bytes) to dest,
    then remove it: the spool belongs to the unprivileged user, whatever it holds is untrusted.
    Everything goes through the spool's directory descriptor, so a link planted in place of the
    spool itself leads nowhere either."""
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=spool)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise UpdateRefused(f"{name}: not a regular file")
        with os.fdopen(os.dup(fd), "rb") as src, open(dest, "wb") as out:
            data = src.read(limit + 1)
            if len(data) > limit:
                raise UpdateRefused(f"{name}: larger than {limit} bytes")
            out.write(data)
    finally:
        os.close(fd)
        _unlink_at(spool, name)


def _unlink_at(spool: int, name: str) -> None:
    try:
        os.unlink(name, dir_fd=spool)
    except FileNotFoundError:
        pass


def _take_request(spool: int) -> dict[str, Any] | None:
    tmp = tempfile.mkdtemp(prefix="smsd-request-")
    try:
        _take(spool, REQUEST, os.path.join(tmp, REQUEST), 4096)
        with open(os.path.join(tmp, REQUEST), encoding="utf-8") as f:
            body = json.load(f)
    except FileNotFoundError:
        return None
    except (UpdateRefused, ValueError):
        return {}
    finally:
        shutil.rmtree(tmp)
    return body if isinstance(body, dict) else {}


def _write_outcome(spool: int, outcome: Outcome) -> None:
    """Atomically, under a fresh name first: a link planted by the spool's owner is replaced by
    the rename, never written through."""
    tmp = f".status-{secrets.token_hex(8)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644, dir_fd=spool)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(asdict(outcome), f)
    os.replace(tmp, STATUS, src_dir_fd=spool, dst_dir_fd=spool)


def apply_pending(spool: str = SPOOL_DIR, system: System | None = None,
                  ring: str | None = None) -> Outcome | None:
    """Install the pending request (root); None when there is none. The outcome is also
    written to the spool's status.json."""
    try:
        fd = os.open(spool, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    except OSError as exc:                # a link, or not a directory: not ours to touch
        raise UpdateRefused(f"{spool}: not a directory ({exc.strerror})") from None
    try:
        return _apply(fd, system or DebianSystem(), ring or keyring())
    finally:
        os.close(fd)


def _apply(spool: int, system: System, ring: str) -> Outcome | None:
    body = _take_request(spool)
    if body is None:
        return None
    rid = str(body.get("id", ""))
    if not _ID.fullmatch(rid):
        return None                       # not a request: nobody to answer
    before = system.installed_version()
    work = tempfile.mkdtemp(prefix="smsd-update-")
    deb, sig = os.path.join(work, "smsd.deb"), os.path.join(work, "smsd.deb.sig")
    version = ""
    try:
        _take(spool, rid + ".deb", deb, MAX_PACKAGE_BYTES)
        _take(spool, rid + ".deb.sig", sig, MAX_SIGNATURE_BYTES)
        version = check_package(deb, sig, ring=ring, installed=before,
                                arch=system.architecture()).version
        ok, reason = system.install(deb)
        after = system.installed_version()
        if not ok:
            reason = f"installing smsd {version} failed: {reason or 'apt failed'}"
        elif after != version:
            ok, reason = False, f"apt finished but dpkg has smsd {after}, not {version}"
        else:
            ok, reason = system.restart()
    except (UpdateRefused, OSError) as exc:
        ok, reason = False, str(exc).replace(work + "/", "")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        for name in (rid + ".deb", rid + ".deb.sig"):
            _unlink_at(spool, name)
    outcome = Outcome(rid, ok, reason, before, version, system.installed_version(), time.time())
    _write_outcome(spool, outcome)
    return outcome


# --- command line ---------------------------------------------------------------------------------
def add_update_command(sub: Any) -> None:
    """Add `update` to the `smsd` parser's subparsers."""
    p = sub.add_parser("update", help="install a signed smsd package (FILE.deb + FILE.deb.sig) "
                                      "and restart")
    p.add_argument("file", help="the smsd_<version>_<arch>.deb made by make release")
    p.add_argument("--sig", metavar="FILE", help="its detached signature (default FILE.sig)")
    p.add_argument("--timeout", type=float, default=WAIT_SECONDS, metavar="SECONDS",
                   help=f"how long to wait for the outcome (default {WAIT_SECONDS:.0f})")
    config.add_state_options(p)
    p.set_defaults(handler=run_update)


def run_update(args: argparse.Namespace, start: config.Startup) -> int:
    """Check and stage FILE.deb, have the root half install it, print the outcome. The spool
    is the state dir's update/ (the one smsd-update.path watches: /var/lib/smsd/update)."""
    spool = os.path.join(start.state_dir, SPOOL_NAME)
    try:
        request = stage_update(args.file, args.sig, spool=spool)
    except (UpdateRefused, OSError) as exc:
        print(f"smsd update: refused: {exc}", file=sys.stderr)
        return 1
    print(f"smsd update: {args.file} (smsd {request.version}) is signed and staged; "
          "installing...", flush=True)
    if os.geteuid() == 0:
        if os.path.isdir("/run/systemd/system"):
            # Not waiting for the unit here: wait_outcome() does, with the one timeout.
            _run(["systemctl", "start", "--no-block", UPDATE_SERVICE])
        else:
            apply_pending(spool)
    outcome = wait_outcome(request, spool, args.timeout)
    if outcome is None:
        print(f"smsd update: no outcome after {args.timeout:.0f} s: is smsd-update.path "
              "enabled? (the request is withdrawn)", file=sys.stderr)
        return 1
    print(f"smsd update: {outcome.line()}")
    return 0 if outcome.ok else 1


def main(argv: list[str] | None = None) -> int:
    """`python3 -m smsd.update apply [--spool DIR]`: the root half (smsd-update.service)."""
    parser = argparse.ArgumentParser(prog="python3 -m smsd.update", allow_abbrev=False)
    parser.add_argument("action", choices=["apply"])
    parser.add_argument("--spool", default=SPOOL_DIR)
    args = parser.parse_args(argv)
    try:
        outcome = apply_pending(args.spool)
    except UpdateRefused as exc:
        print(f"smsd-update: refused: {exc}")
        return 1
    if outcome is None:
        print("smsd-update: no pending update")
        return 0
    print(f"smsd-update: {outcome.line()}")
    return 0 if outcome.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
