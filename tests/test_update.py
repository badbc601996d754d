"""Signed updates (smsd/update.py) with real packages, real signatures and real gpgv: a
throwaway release key and a stranger's key in a temporary GNUPGHOME, small packages made with
dpkg-deb. The root half runs against a fake System (no apt on the test machine); installing
for real, and a failing install leaving the old version, is the package test's part
(tests/package/check_booted.py)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from smsd import update
from smsd.cli import main as cli_main
from smsd.errors import UpdateRefused

pytestmark = pytest.mark.skipif(
    not all(shutil.which(t) for t in ("gpg", "gpgv", "dpkg-deb")),
    reason="needs gpg, gpgv and dpkg-deb")

ARCH = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True,
                      check=False).stdout.strip()


@dataclass
class Keys:
    home: Path
    keyring: Path               # the release key's public keyring, as the package ships it

    def sign(self, path: Path, who: str = "release") -> Path:
        sig = Path(str(path) + ".sig")
        sig.unlink(missing_ok=True)
        subprocess.run(["gpg", "--homedir", str(self.home), "--batch", "--yes", "--quiet",
                        "--local-user", f"{who}@test.invalid", "--detach-sign",
                        "--output", str(sig), str(path)], check=True)
        return sig


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Keys]:
    home = tmp_path_factory.mktemp("gnupg")
    home.chmod(0o700)
    for who in ("release", "stranger"):
        subprocess.run(["gpg", "--homedir", str(home), "--batch", "--quiet", "--passphrase", "",
                        "--quick-generate-key", f"{who} <{who}@test.invalid>", "ed25519", "sign",
                        "never"], check=True, capture_output=True)
    ring = home / "release-keyring.gpg"
    with open(ring, "wb") as f:
        subprocess.run(["gpg", "--homedir", str(home), "--export", "release@test.invalid"],
                       stdout=f, check=True)
    yield Keys(home, ring)
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False)


def make_deb(where: Path, name: str = "smsd", version: str = "9.1", arch: str = ARCH) -> Path:
    tree = where / f"{name}-{version}-{arch}"
    (tree / "DEBIAN").mkdir(parents=True)
    (tree / "usr/share/doc" / name).mkdir(parents=True)
    (tree / "usr/share/doc" / name / "README").write_text("test package\n")
    (tree / "DEBIAN/control").write_text(
        f"Package: {name}\nVersion: {version}\nArchitecture: {arch}\n"
        "Maintainer: test <test@test.invalid>\nDescription: test package\n")
    deb = where / f"{name}_{version}_{arch}.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "--build", str(tree), str(deb)],
                   check=True, capture_output=True)
    return deb


@dataclass
class FakeSystem:
    """The machine as the root half sees it: what dpkg has installed, apt that installs (or
    fails), a service that restarts."""

    installed: str = "0.2.0"
    apt_fails: str = ""
    installs: list[str] = field(default_factory=list)

    def installed_version(self) -> str:
        return self.installed

    def architecture(self) -> str:
        return ARCH

    def install(self, deb: str) -> tuple[bool, str]:
        self.installs.append(deb)
        if self.apt_fails:
            return False, self.apt_fails
        self.installed = update.read_control(deb)[1]
        return True, ""

    def restart(self) -> tuple[bool, str]:
        return True, "smsd.service restarted"


def stage(keys: Keys, deb: Path, spool: Path, installed: str = "0.2.0") -> update.Request:
    return update.stage_update(str(deb), spool=str(spool), ring=str(keys.keyring),
                               installed=installed)


def refused(keys: Keys, deb: Path, tmp_path: Path, installed: str = "0.2.0") -> str:
    spool = tmp_path / "spool"
    with pytest.raises(UpdateRefused) as exc:
        stage(keys, deb, spool, installed)
    assert not spool.exists() or not list(spool.iterdir())      # nothing staged
    return str(exc.value)


# --- the checks -----------------------------------------------------------------------------------
def test_a_signed_newer_smsd_package_is_staged(keys: Keys, tmp_path: Path) -> None:
    deb = make_deb(tmp_path)
    keys.sign(deb)
    req = stage(keys, deb, tmp_path / "spool")
    assert (req.version, req.from_version) == ("9.1", "0.2.0")
    body = json.loads((tmp_path / "spool" / "request.json").read_text())
    assert body["id"] == req.id and body["version"] == "9.1"
    assert (tmp_path / "spool" / f"{req.id}.deb").read_bytes() == deb.read_bytes()


def test_an_unsigned_package_is_refused(keys: Keys, tmp_path: Path) -> None:
    assert "no signature" in refused(keys, make_deb(tmp_path), tmp_path)


def test_a_package_signed_with_another_key_is_refused(keys: Keys, tmp_path: Path) -> None:
    deb = make_deb(tmp_path)
    keys.sign(deb, "stranger")
    assert "which is not the smsd release key" in refused(keys, deb, tmp_path)


def test_a_package_changed_after_signing_is_refused(keys: Keys, tmp_path: Path) -> None:
    deb = make_deb(tmp_path)
    keys.sign(deb)
    with open(deb, "ab") as f:
        f.write(b"\0")
    assert "does not match its signature" in refused(keys, deb, tmp_path)


def test_a_signature_of_another_file_is_refused(keys: Keys, tmp_path: Path) -> None:
    deb, other = make_deb(tmp_path), make_deb(tmp_path, version="9.2")
    Path(str(deb) + ".sig").write_bytes(keys.sign(other).read_bytes())
    assert "does not match its signature" in refused(keys, deb, tmp_path)


def test_garbage_as_signature_is_refused(keys: Keys, tmp_path: Path) -> None:
    deb = make_deb(tmp_path)
    Path(str(deb) + ".sig").write_text("not a signature\n")
    assert "not a valid signature" in refused(keys, deb, tmp_path)


def test_a_signed_file_that_is_no_package_is_refused(keys: Keys, tmp_path: Path) -> None:
    deb = tmp_path / "smsd_9.1_all.deb"
    deb.write_bytes(b"!<arch>\nnonsense")
    keys.sign(deb)
    assert "not a Debian package" in refused(keys, deb, tmp_path)


def test_another_package_is_refused(keys: Keys, tmp_path: Path) -> None:
    deb = make_deb(tmp_path, name="openssh-server")
    keys.sign(deb)
    assert "the package is 'openssh-server', not smsd" in refused(keys, deb, tmp_path)


def test_another_architecture_is_refused(keys: Keys, tmp_path: Path) -> None:
    other = "s390x" if ARCH != "s390x" else "amd64"
    deb = make_deb(tmp_path, arch=other)
    keys.sign(deb)
    assert f"for {other}, this system is {ARCH}" in refused(keys, deb, tmp_path)


def test_a_downgrade_is_refused(keys: Keys, tmp_path: Path) -> None:
    deb = make_deb(tmp_path, version="0.1.0")
    keys.sign(deb)
    assert ("smsd 0.1.0 is older than the installed 0.2.0: downgrades are refused"
            in refused(keys, deb, tmp_path))
    # Debian's ordering, not the characters': 0.10.0 is newer than 0.9.0, ~rc before the release
    assert update.version_newer("0.10.0", "0.9.0")
    assert not update.version_newer("0.2.0~rc1", "0.2.0")


def test_the_installed_version_again_is_refused(keys: Keys, tmp_path: Path) -> None:
    deb = make_deb(tmp_path, version="0.2.0")
    keys.sign(deb)
    assert "smsd 0.2.0 is already installed" in refused(keys, deb, tmp_path)


@pytest.mark.skipif(os.geteuid() != 0, reason="root makes the spool for another user")
def test_a_spool_made_by_root_belongs_to_the_state_dirs_owner(keys: Keys, tmp_path: Path) -> None:
    deb = make_deb(tmp_path)
    keys.sign(deb)
    state = tmp_path / "state"
    state.mkdir()
    os.chown(state, 4242, 4243)
    stage(keys, deb, state / "update")
    info = (state / "update").stat()
    assert (info.st_uid, info.st_gid, info.st_mode & 0o777) == (4242, 4243, 0o750)


def test_one_update_at_a_time(keys: Keys, tmp_path: Path) -> None:
    first, second = make_deb(tmp_path), make_deb(tmp_path, version="9.2")
    keys.sign(first), keys.sign(second)
    stage(keys, first, tmp_path / "spool")
    with pytest.raises(UpdateRefused, match="another update is pending"):
        stage(keys, second, tmp_path / "spool")
    assert len(list((tmp_path / "spool").glob("*.deb"))) == 1


# --- the root half --------------------------------------------------------------------------------
def test_the_root_half_installs_and_reports(keys: Keys, tmp_path: Path) -> None:
    deb = make_deb(tmp_path)
    keys.sign(deb)
    spool = tmp_path / "spool"
    req = stage(keys, deb, spool)
    system = FakeSystem()
    outcome = update.apply_pending(str(spool), system, ring=str(keys.keyring))
    assert outcome is not None and outcome.ok, outcome
    assert (outcome.from_version, outcome.to_version, outcome.installed) == ("0.2.0", "9.1", "9.1")
    assert outcome.line() == "ok: smsd 0.2.0 -> 9.1 installed, smsd.service restarted"
    assert update.wait_outcome(req, str(spool), timeout=1) == outcome
    assert sorted(p.name for p in spool.iterdir()) == ["status.json"]     # spool emptied
    assert update.apply_pending(str(spool), system, ring=str(keys.keyring)) is None


def test_a_failed_install_is_reported_with_the_version_still_installed(
        keys: Keys, tmp_path: Path) -> None:
    deb = make_deb(tmp_path)
    keys.sign(deb)
    req = stage(keys, deb, tmp_path / "spool")
    system = FakeSystem(apt_fails="E: Unmet dependencies")
    outcome = update.apply_pending(str(tmp_path / "spool"), system, ring=str(keys.keyring))
    assert outcome is not None and not outcome.ok
    assert outcome.id == req.id and outcome.installed == "0.2.0"
    assert outcome.line() == ("failed: installing smsd 9.1 failed: E: Unmet dependencies "
                              "(smsd 0.2.0 is installed)")


def test_the_root_half_checks_again_what_it_takes_from_the_spool(
        keys: Keys, tmp_path: Path) -> None:
    """The spool belongs to the unprivileged user: a package swapped in after the check is
    refused by the root half, and nothing is installed."""
    deb, evil = make_deb(tmp_path), make_deb(tmp_path, name="evil", version="9.9")
    keys.sign(deb)
    spool = tmp_path / "spool"
    req = stage(keys, deb, spool)
    shutil.copyfile(evil, spool / f"{req.id}.deb")
    system = FakeSystem()
    outcome = update.apply_pending(str(spool), system, ring=str(keys.keyring))
    assert outcome is not None and not outcome.ok
    assert "does not match its signature" in outcome.reason
    assert system.installs == [] and outcome.installed == "0.2.0"


def test_the_root_half_does_not_follow_links_in_the_spool(keys: Keys, tmp_path: Path) -> None:
    deb = make_deb(tmp_path)
    keys.sign(deb)
    spool = tmp_path / "spool"
    req = stage(keys, deb, spool)
    secret = tmp_path / "secret"
    secret.write_text("root only\n")
    (spool / f"{req.id}.deb").unlink()
    (spool / f"{req.id}.deb").symlink_to(secret)
    (spool / "status.json").symlink_to(secret)            # the outcome replaces the link
    system = FakeSystem()
    outcome = update.apply_pending(str(spool), system, ring=str(keys.keyring))
    assert outcome is not None and not outcome.ok and system.installs == []
    assert secret.read_text() == "root only\n"
    assert not (spool / "status.json").is_symlink()
    assert update.read_outcome(str(spool)) == outcome


def test_the_root_half_refuses_a_spool_that_is_a_link(keys: Keys, tmp_path: Path) -> None:
    deb = make_deb(tmp_path)
    keys.sign(deb)
    elsewhere = tmp_path / "elsewhere"
    stage(keys, deb, elsewhere)
    (tmp_path / "spool").symlink_to(elsewhere)
    before = sorted(p.name for p in elsewhere.iterdir())
    with pytest.raises(UpdateRefused, match="not a directory"):
        update.apply_pending(str(tmp_path / "spool"), FakeSystem(), ring=str(keys.keyring))
    assert sorted(p.name for p in elsewhere.iterdir()) == before


def test_the_root_half_refuses_an_oversized_package(keys: Keys, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    deb = make_deb(tmp_path)
    keys.sign(deb)
    stage(keys, deb, tmp_path / "spool")
    monkeypatch.setattr(update, "MAX_PACKAGE_BYTES", deb.stat().st_size - 1)
    system = FakeSystem()
    outcome = update.apply_pending(str(tmp_path / "spool"), system, ring=str(keys.keyring))
    assert outcome is not None and not outcome.ok and system.installs == []
    assert outcome.reason.endswith(f"larger than {deb.stat().st_size - 1} bytes")


def test_a_request_nobody_took_for_long_does_not_block_the_next(keys: Keys,
                                                                tmp_path: Path) -> None:
    first, second = make_deb(tmp_path), make_deb(tmp_path, version="9.2")
    keys.sign(first), keys.sign(second)
    spool = tmp_path / "spool"
    old = stage(keys, first, spool)
    body = json.loads((spool / "request.json").read_text())
    body["staged"] -= update.STALE_SECONDS + 1
    (spool / "request.json").unlink()
    (spool / "request.json").write_text(json.dumps(body))
    new = stage(keys, second, spool)
    assert json.loads((spool / "request.json").read_text())["id"] == new.id
    assert not (spool / f"{old.id}.deb").exists()


def test_waiting_without_a_root_half_withdraws_the_request(keys: Keys, tmp_path: Path) -> None:
    deb = make_deb(tmp_path)
    keys.sign(deb)
    spool = tmp_path / "spool"
    req = stage(keys, deb, spool)
    assert update.wait_outcome(req, str(spool), timeout=0.6) is None
    assert list(spool.iterdir()) == []
    stage(keys, deb, spool)                               # the next one is not blocked


# --- the command line -----------------------------------------------------------------------------
def test_smsd_update_says_why_it_refuses(keys: Keys, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    deb = make_deb(tmp_path)
    keys.sign(deb, "stranger")
    monkeypatch.setenv(update.KEYRING_ENV, str(keys.keyring))
    rc = cli_main(["update", str(deb), "--state-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 1
    assert err.startswith(f"smsd update: refused: {deb}: signed with key ")
    assert "which is not the smsd release key" in err
    assert not (tmp_path / "update").exists()


def test_the_package_ships_the_release_keyring(tmp_path: Path) -> None:
    """The keyring the package installs as the default holds one public key and no secret."""
    ring = Path(__file__).resolve().parents[1] / "debian" / "release-keyring.gpg"
    listing = subprocess.run(["gpg", "--homedir", str(tmp_path), "--with-colons", "--show-keys",
                              str(ring)], capture_output=True, text=True, check=True).stdout
    kinds = [ln.split(":")[0] for ln in listing.splitlines()]
    assert kinds.count("pub") == 1 and "sec" not in kinds and "ssb" not in kinds
