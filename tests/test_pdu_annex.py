"""TS 23.038 annex A (national language tables), cell by cell, against tests/vectors/annex_a_tables.json.

The reference file freezes every cell of every single shift (A.2) and locking shift (A.3) table
and says, per table, which cells were checked against the spec text and which could not be (the
annex text was not reachable when it was made: see its "provenance"). These tests hold
smsd/pdu/tables.py to that file, make both codec backends decode each cell of the file, and check
the rules the annex's own layout implies, which a single mistyped cell breaks.
"""
from __future__ import annotations

import json
import unicodedata
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from pdu_backends import codec  # noqa: F401  (the fixture)
from smsd.pdu import gsm7, tables
from test_pdu_field import deliver, national_ies

REFERENCE: dict[str, Any] = json.loads(
    (Path(__file__).parent / "vectors" / "annex_a_tables.json").read_text(encoding="utf-8"))
TABLES: list[dict[str, Any]] = REFERENCE["tables"]
LIVE = {"single_shift": tables.SINGLE_SHIFT, "locking_shift": tables.LOCKING_SHIFT}

# First code point of the Unicode block each national table draws its letters from.
BLOCK = {4: 0x0980, 5: 0x0A80, 6: 0x0900, 7: 0x0C80, 8: 0x0D00, 9: 0x0B00, 10: 0x0A00,
         11: 0x0B80, 12: 0x0C00, 13: 0x0600}
INDIC = [lid for lid in BLOCK if lid != 13]
SHARED = {0x00A1, 0x00A3, 0x00A4, 0x00A5, 0x00BF, 0x20AC}       # the Indic single shift rows 0x00-0x18
DANDA = {0x0964, 0x0965}                                          # shared by the Indic scripts
REPEATS_ALLOWED = {"*", "\u00a1"}         # A.2.4-A.2.13 hold "*" at 0x0B/0x18, "¡" at 0x13/0x15
Cells = dict[int, str]


def cells(entry: dict[str, Any]) -> Cells:
    return {int(code, 16): chr(int(cp[2:], 16)) for code, cp in entry["cells"].items()}


def table_id(entry: dict[str, Any]) -> str:
    return f"{entry['subclause']}-{entry['language']}-{entry['kind']}"


def reference(kind: str, lid: int) -> Cells:
    return next(cells(e) for e in TABLES if e["kind"] == kind and e["id"] == lid)


# --- the reference file itself ----------------------------------------------------------------
def test_reference_lists_every_annex_table_once() -> None:
    seen = Counter((e["kind"], e["id"]) for e in TABLES)
    assert set(seen) == {(k, lid) for k in LIVE for lid in range(1, 14)} and max(seen.values()) == 1
    void = [(e["kind"], e["id"]) for e in TABLES if e.get("void")]
    assert void == [("locking_shift", 2)]                      # A.3.2: no Spanish locking table
    for e in TABLES:
        prefix = "A.2." if e["kind"] == "single_shift" else "A.3."
        assert e["subclause"] == f"{prefix}{e['id']}" and e["language"] == tables.LANGUAGES[e["id"]]


@pytest.mark.parametrize("entry", TABLES, ids=table_id)
def test_reference_says_exactly_which_cells_are_unverified(entry: dict[str, Any]) -> None:
    verified = entry["verified_from_spec_text"]
    assert set(verified) <= set(entry["cells"])
    assert entry["unverified"] == [c for c in entry["cells"] if c not in verified]
    assert all(text.strip() for text in verified.values())     # each one cites its evidence


# --- smsd/pdu/tables.py against the reference, cell by cell ----------------------------------
@pytest.mark.parametrize("entry", TABLES, ids=table_id)
def test_tables_py_matches_the_reference_cell_by_cell(entry: dict[str, Any]) -> None:
    live = LIVE[entry["kind"]].get(entry["id"])
    if entry.get("void"):
        assert live is None
        return
    assert live is not None
    want = cells(entry)
    wrong = {f"0x{c:02X}": (f"U+{ord(live[c]):04X}" if c in live else None,
                            f"U+{ord(want[c]):04X}" if c in want else None)
             for c in range(128) if live.get(c) != want.get(c)}
    assert wrong == {}, "code: (tables.py, reference)"


# --- both backends decode every cell of the reference ----------------------------------------
def _in_pieces(units: list[bytes], room: int = 140) -> list[bytes]:
    """Septet units (a code, or ESC + code) joined into messages that never split a unit."""
    pieces, piece = [], b""
    for unit in units:
        if len(piece) + len(unit) > room:
            pieces.append(piece)
            piece = b""
        piece += unit
    return pieces + [piece]


@pytest.mark.parametrize("entry", [e for e in TABLES if not e.get("void")], ids=table_id)
def test_both_backends_decode_each_reference_cell(codec: ModuleType, entry: dict[str, Any]) -> None:
    want = cells(entry)
    single = entry["kind"] == "single_shift"
    units = [bytes([gsm7.ESC, c]) if single else bytes([c]) for c in sorted(want)]
    ies = national_ies(0, entry["id"]) if single else national_ies(entry["id"], 0)
    got = "".join(codec.decode(deliver(ies, piece)).text for piece in _in_pieces(units))
    assert got == "".join(want[c] for c in sorted(want))


# --- rules the annex's layout implies --------------------------------------------------------
def _script_problems(kind: str, lid: int, table: Cells) -> list[str]:
    """Cells that are unassigned in Unicode, or outside the table's script and shared sets."""
    out = [f"0x{c:02X} U+{ord(ch):04X} unassigned" for c, ch in table.items()
           if unicodedata.category(ch) == "Cn"]
    if lid in BLOCK:
        base, size = BLOCK[lid], 0x100 if lid == 13 else 0x80     # Arabic spans 0600-06FF
        extra = SHARED | (DANDA if kind == "single_shift" and lid != 13 else set())
        out += [f"0x{c:02X} U+{ord(ch):04X} outside the script" for c, ch in table.items()
                if not (ord(ch) < 0x80 or ord(ch) in extra or base <= ord(ch) < base + size)]
    return out


def _repeat_problems(kind: str, table: Cells) -> list[str]:
    allowed = REPEATS_ALLOWED if kind == "single_shift" else set()
    counts = Counter(table.values())
    return [f"U+{ord(ch):04X} at {n} codes" for ch, n in counts.items() if n > 1 and ch not in allowed]


def _digit_problems(lid: int, table: Cells) -> list[str]:
    """The script's ten digits sit at ten consecutive codes (skipping ESC), zero first."""
    zero = 0x06F0 if lid == 13 else BLOCK[lid] + 0x66
    codes = {ord(ch) - zero: c for c, ch in table.items() if 0 <= ord(ch) - zero < 10}
    if sorted(codes) != list(range(10)):
        return [f"digits present: {sorted(codes)}"]
    expected = [c for c in range(codes[0], codes[0] + 11) if c != gsm7.ESC][:10]
    return [] if [codes[d] for d in range(10)] == expected else [f"digit codes {codes}"]


def _order_problems(lid: int, table: Cells) -> list[str]:
    """The Indic tables (and the Urdu single shift table) list their script's characters in
    Unicode order: read by code, the script's code points only ever go up (the dandas and
    digits, which the single shift tables put first, are left to the other rules)."""
    base, zero = BLOCK[lid], 0x06F0 if lid == 13 else BLOCK[lid] + 0x66
    script = [(c, ord(ch)) for c, ch in sorted(table.items())
              if base <= ord(ch) < base + 0x100 and not zero <= ord(ch) < zero + 10
              and ord(ch) not in DANDA]
    return [f"0x{c:02X} U+{cp:04X} after U+{prev:04X}"
            for (_, prev), (c, cp) in zip(script, script[1:]) if cp <= prev]


def _parallel_problems(locking: dict[int, Cells]) -> dict[int, list[str]]:
    """Indic locking tables 0x00-0x5F: a script letter sits at the same code in every table
    (the Unicode Indic blocks share one layout), so each code has one offset into the block."""
    out: dict[int, list[str]] = {lid: [] for lid in locking}
    for code in range(0x60):
        offsets = {lid: ord(t[code]) - BLOCK[lid] for lid, t in locking.items()
                   if code in t and 0 <= ord(t[code]) - BLOCK[lid] < 0x80}
        if len(set(offsets.values())) > 1:
            usual = Counter(offsets.values()).most_common(1)[0][0]
            for lid, off in offsets.items():
                if off != usual:
                    out[lid].append(f"0x{code:02X} offset 0x{off:02X}, the others 0x{usual:02X}")
    return out


def _problems(kind: str, lid: int, table: Cells) -> list[str]:
    out = _script_problems(kind, lid, table) + _repeat_problems(kind, table)
    if kind == "single_shift" and lid in BLOCK:
        out += _digit_problems(lid, table)
    if lid in INDIC or (kind == "single_shift" and lid in BLOCK):
        out += _order_problems(lid, table)
    if kind == "locking_shift" and lid in INDIC:
        others = {i: reference(kind, i) for i in INDIC}
        out += _parallel_problems({**others, lid: table})[lid]
    return out


@pytest.mark.parametrize("entry", [e for e in TABLES if not e.get("void")], ids=table_id)
def test_reference_keeps_the_annex_layout(entry: dict[str, Any]) -> None:
    assert _problems(entry["kind"], entry["id"], cells(entry)) == []


CORRECTIONS = [(e["kind"], e["id"], code, fix) for e in TABLES
               for code, fix in e.get("corrections", {}).items()]


def test_the_three_known_misprints_are_listed() -> None:
    assert {(k, lid, code) for k, lid, code, _ in CORRECTIONS} == {
        ("locking_shift", 7, "0x24"), ("single_shift", 11, "0x24"),
        ("single_shift", 12, "0x22"), ("single_shift", 12, "0x23")}


@pytest.mark.parametrize("kind, lid, code, fix", CORRECTIONS, ids=lambda v: str(v)[:14])
def test_corrected_misprint_is_the_only_value_the_layout_allows(
        kind: str, lid: int, code: str, fix: dict[str, str]) -> None:
    table = reference(kind, lid)
    assert f"U+{ord(table[int(code, 16)]):04X}" == fix["used"]
    printed = dict(table)
    printed[int(code, 16)] = chr(int(fix["printed_in_V9.1.1"][2:], 16))
    assert _problems(kind, lid, printed) != []          # the printed value breaks the layout
