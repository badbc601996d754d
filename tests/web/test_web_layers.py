"""The console is a front end like the API dialects: it calls the service only, never the store,
the scheduler, the modems, the board or the simulator (docs/ARCHITECTURE.md, "Layers")."""
from __future__ import annotations

import ast
import re
from pathlib import Path

WEB = Path(__file__).resolve().parents[2] / "smsd" / "web"
BELOW = ("smsd.store", "smsd.scheduler", "smsd.modem", "smsd.board", "smsd.sim", "smsd.at",
         "smsd.pdu", "smsd.push")
# Pure helpers that live in those packages but touch nothing: the box's time format.
ALLOWED = ("smsd.store.times",)
# `{{!' checked' if ... else ''}}`: a constant of the template itself, not data.
CONSTANT = re.compile(r"\{\{!\s*'[^'<>&\"]*'\s+if\s[^}]*\selse\s+''\s*\}\}")


def imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return names


def test_web_modules_import_nothing_below_the_service() -> None:
    found = [f"{path.name}: {name}" for path in sorted(WEB.glob("*.py")) for name in imports(path)
             if name.startswith(BELOW) and name not in ALLOWED]
    assert found == []


def test_templates_never_print_data_unescaped() -> None:
    """`{{!...}}` only for the layout's own content (`base`) and constants, never a value."""
    templates = WEB.parents[1] / "web" / "templates"
    raw = [f"{t.name}: {line.strip()}" for t in sorted(templates.glob("*.tpl"))
           for line in t.read_text(encoding="utf-8").splitlines()
           if "{{!" in CONSTANT.sub("", line).replace("{{!base}}", "")]
    assert raw == []
