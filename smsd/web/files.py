"""Where the console's templates and static files are: the top-level `web/` folder.

In a source checkout (and an editable install) it sits beside the `smsd` package; an installed
package carries it as data files under `<prefix>/share/smsd/web` (setup.cfg's data_files: the
.deb's pybuild puts it in /usr/share/smsd/web). SMSD_WEB_DIR overrides both (a test, a theme).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

MARKER = Path("templates") / "base.tpl"      # a folder without it is not a console


def candidates() -> list[Path]:
    """Where to look, first match wins."""
    found = []
    override = os.environ.get("SMSD_WEB_DIR")
    if override:
        found.append(Path(override))
    found.append(Path(__file__).resolve().parents[2] / "web")        # source checkout
    for prefix in (sys.prefix, sys.base_prefix, "/usr", "/usr/local"):
        found.append(Path(prefix) / "share" / "smsd" / "web")
    return found


def web_root(looked: list[Path] | None = None) -> Path:
    """The web/ folder (the first of `looked`, default candidates(), that holds one);
    FileNotFoundError naming every place looked at when none does."""
    looked = candidates() if looked is None else looked
    for path in looked:
        if (path / MARKER).is_file():
            return path
    raise FileNotFoundError("the web console's files (web/templates) are in none of: "
                            + ", ".join(str(p) for p in looked))
