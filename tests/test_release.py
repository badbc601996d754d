"""`make release` (scripts/release.sh) refuses before it changes anything: in a clone of this
repository whose release keyring holds a throwaway key, each refusal leaves the clone as it was
(no commit, no tag). The whole release (build, signature, tag) is slow and is run by hand; see
docs/upgrading.md."""
from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(
    not (ROOT / ".git").exists() or not all(shutil.which(t) for t in ("git", "gpg", "dpkg")),
    reason="needs the git history, gpg and dpkg")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c",
                           "user.email=t@test.invalid", *args], capture_output=True, text=True,
                          check=True).stdout


@pytest.fixture(scope="module")
def gnupg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    home = tmp_path_factory.mktemp("gnupg")
    home.chmod(0o700)
    gpg = ["gpg", "--homedir", str(home), "--batch", "--quiet"]
    for who in ("release", "other"):
        subprocess.run([*gpg, "--passphrase", "", "--quick-generate-key",
                        f"{who} <{who}@test.invalid>", "ed25519", "sign", "never"],
                       check=True, capture_output=True)
    listing = subprocess.run([*gpg, "--with-colons", "--fingerprint", "release@test.invalid"],
                             capture_output=True, text=True, check=True).stdout
    fpr = next(ln.split(":")[9] for ln in listing.splitlines() if ln.startswith("fpr:"))
    yield home, fpr
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False)


@pytest.fixture
def clone(tmp_path: Path, gnupg: tuple[Path, str]) -> Path:
    repo = tmp_path / "smsd"
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(ROOT), str(repo)], check=True)
    with open(repo / "debian" / "release-keyring.gpg", "wb") as f:
        subprocess.run(["gpg", "--homedir", str(gnupg[0]), "--export", gnupg[1]], stdout=f,
                       check=True)
    git(repo, "commit", "-q", "-m", "test release key", "debian/release-keyring.gpg")
    return repo


def release(repo: Path, gnupg: tuple[Path, str], version: str,
            key: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, GNUPGHOME=str(gnupg[0]), SMSD_RELEASE_KEY=key or gnupg[1])
    return subprocess.run(["sh", "scripts/release.sh", version], cwd=repo, env=env,
                          capture_output=True, text=True, check=False, timeout=60)


def refused(repo: Path, gnupg: tuple[Path, str], version: str, key: str | None = None) -> str:
    head, tags = git(repo, "rev-parse", "HEAD"), git(repo, "tag")
    done = release(repo, gnupg, version, key)
    assert done.returncode == 1, done.stdout + done.stderr
    assert (git(repo, "rev-parse", "HEAD"), git(repo, "tag")) == (head, tags)
    return done.stderr


def top_version(repo: Path) -> str:
    first = (repo / "debian" / "changelog").read_text().splitlines()[0]
    return first.split("(", 1)[1].split(")", 1)[0]


def test_a_version_is_required(clone: Path, gnupg: tuple[Path, str]) -> None:
    assert "give VERSION=x.y.z (got 'v1')" in refused(clone, gnupg, "v1")


def test_a_dirty_tree_is_refused(clone: Path, gnupg: tuple[Path, str]) -> None:
    (clone / "README.md").write_text("changed\n")
    assert "the tree has changes" in refused(clone, gnupg, "9.0.0")


def test_an_existing_tag_is_refused(clone: Path, gnupg: tuple[Path, str]) -> None:
    git(clone, "tag", "-f", "v9.0.0")
    assert "tag v9.0.0 exists already" in refused(clone, gnupg, "9.0.0")


def test_a_key_other_than_the_shipped_one_is_refused(clone: Path, gnupg: tuple[Path, str]) -> None:
    err = refused(clone, gnupg, "9.0.0", key="other@test.invalid")
    assert "is not in debian/release-keyring.gpg" in err


def test_disagreeing_versions_are_refused(clone: Path, gnupg: tuple[Path, str]) -> None:
    init = clone / "smsd" / "__init__.py"
    init.write_text(init.read_text().replace('__version__ = "', '__version__ = "7.'))
    git(clone, "commit", "-q", "-a", "-m", "disagree")
    assert "make them agree" in refused(clone, gnupg, "9.0.0")


def test_an_older_version_is_refused(clone: Path, gnupg: tuple[Path, str]) -> None:
    assert f"is older than debian/changelog's {top_version(clone)}" in refused(
        clone, gnupg, "0.0.9")


def test_another_version_than_the_unreleased_entry_is_refused(
        clone: Path, gnupg: tuple[Path, str]) -> None:
    if "UNRELEASED" not in (clone / "debian" / "changelog").read_text().splitlines()[0]:
        pytest.skip("the top changelog entry is released")
    assert f"top entry is {top_version(clone)} UNRELEASED" in refused(clone, gnupg, "99.0.0")
