"""Print this machine's configured Debian archive URIs as one-line sources for a new root file
system, so that the package test bootstraps from the mirror the machine already uses (no host
name is written into the project).

    python3 apt_sources.py SUITE     -> "deb <uri> SUITE main" lines (+ -updates, -security)

Reads /etc/apt/sources.list and /etc/apt/sources.list.d/*.list / *.sources (deb822).
"""
from __future__ import annotations

import glob
import sys


def _deb822(text: str) -> list[tuple[str, list[str]]]:
    out = []
    for stanza in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line or line[0].isspace():
                continue
            key, _, value = line.partition(":")
            fields[key.strip().lower()] = value.strip()
        if "deb" in fields.get("types", "").split() and fields.get("enabled", "yes") != "no":
            for uri in fields.get("uris", "").split():
                out.append((uri, fields.get("suites", "").split()))
    return out


def _one_line(text: str) -> list[tuple[str, list[str]]]:
    out = []
    for line in text.splitlines():
        words = [w for w in line.split("#")[0].split() if not w.startswith("[")]
        if len(words) >= 3 and words[0] == "deb":
            out.append((words[1], [words[2]]))
    return out


def entries() -> list[tuple[str, list[str]]]:
    found = []
    for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*")):
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except OSError:
            continue
        if path.endswith(".sources"):
            found += _deb822(text)
        elif path.endswith(".list"):
            found += _one_line(text)
    return found


def sources(suite: str) -> list[str]:
    lines = []
    for uri, suites in entries():
        for s in suites:
            if s in (suite, f"{suite}-updates", f"{suite}-security"):
                line = f"deb {uri} {s} main"
                if line not in lines:
                    lines.append(line)
    return lines


if __name__ == "__main__":
    result = sources(sys.argv[1] if len(sys.argv) > 1 else "bookworm")
    if not any(line.split()[2] == (sys.argv[1:] or ["bookworm"])[0] for line in result):
        sys.exit("no Debian archive for that suite in this machine's apt sources")
    print("\n".join(result))
