"""One version: smsd.__version__ (setup.cfg reads it), the top entry of debian/changelog (the
package's version) and the man pages say the same; `make release` (scripts/release.sh) moves
them together and refuses to tag when they disagree. Every released tag in releases.txt has its
changelog entry."""
from __future__ import annotations

import configparser
import re
from pathlib import Path

import smsd

ROOT = Path(__file__).resolve().parents[1]
ENTRY = re.compile(r"^smsd \(([^)]+)\) ([A-Za-z-]+);", re.M)


def changelog() -> list[tuple[str, str]]:
    return ENTRY.findall((ROOT / "debian" / "changelog").read_text(encoding="utf-8"))


def test_the_package_version_is_the_code_version() -> None:
    version, _dist = changelog()[0]
    assert version == smsd.__version__


def test_setup_cfg_reads_the_code_version() -> None:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    assert cfg["metadata"]["version"] == "attr: smsd.__version__"


def test_the_man_pages_name_the_version() -> None:
    for page in ("smsd.8", "smsd.conf.5"):
        first = (ROOT / "debian" / page).read_text(encoding="utf-8").splitlines()[0]
        assert f'"smsd {smsd.__version__}"' in first, page


def test_every_release_has_its_changelog_entry() -> None:
    released = {v for v, dist in changelog() if dist != "UNRELEASED"}
    tags = [ln.split()[0] for ln in (ROOT / "releases.txt").read_text().splitlines()
            if ln.strip() and not ln.startswith("#")]
    assert tags and all(t.startswith("v") and t[1:] in released for t in tags), (tags, released)
