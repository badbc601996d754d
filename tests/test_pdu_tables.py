"""Shape of the TS 23.038 tables (python only: this is the data the C build is generated from)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

from smsd.pdu import tables

LATIN_LOCKING = (1, 3)          # Turkish and Portuguese keep the default layout's Latin rows


def test_loads_by_path_without_smsd() -> None:
    path = Path(tables.__file__)
    spec = importlib.util.spec_from_file_location("standalone_tables", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.GSM7_DEFAULT == tables.GSM7_DEFAULT
    assert "import" not in path.read_text().split('"""', 2)[2]


def test_default_alphabet() -> None:
    assert len(tables.GSM7_DEFAULT) == 127 and tables.ESC not in tables.GSM7_DEFAULT
    assert tables.GSM7_DEFAULT[0x00] == "@" and tables.GSM7_DEFAULT[0x09] == "\u00c7"
    assert tables.GSM7_DEFAULT[0x24] == "\u00a4" and tables.GSM7_DEFAULT[0x7F] == "\u00e0"
    assert len(set(tables.GSM7_DEFAULT.values())) == 127


def test_extension_table() -> None:
    assert tables.GSM7_EXTENSION == {0x0A: "\x0c", 0x14: "^", 0x28: "{", 0x29: "}", 0x2F: "\\",
                                     0x3C: "[", 0x3D: "~", 0x3E: "]", 0x40: "|", 0x65: "\u20ac"}


def test_language_ids() -> None:
    assert tables.LANGUAGES[1] == "turkish" and tables.LANGUAGES[13] == "urdu"
    assert set(tables.SINGLE_SHIFT) == set(range(1, 14))
    assert set(tables.LOCKING_SHIFT) == set(range(1, 14)) - {2}      # A.3.2 Spanish is void


def test_locking_tables_share_the_control_and_ascii_rows() -> None:
    for lang, table in tables.LOCKING_SHIFT.items():
        assert tables.ESC not in table, lang
        assert (table[0x0A], table[0x0D], table[0x20]) == ("\n", "\r", " "), lang
        assert [table[c] for c in range(0x61, 0x7B)] == [chr(c) for c in range(0x61, 0x7B)]
        assert all(len(ch) == 1 for ch in table.values())
        if lang in LATIN_LOCKING:
            assert [table[c] for c in range(0x41, 0x5B)] == [chr(c) for c in range(0x41, 0x5B)]


def test_single_shift_tables() -> None:
    for lang, table in tables.SINGLE_SHIFT.items():
        assert tables.ESC not in table and 0x0D not in table, lang
        assert table[0x0A] == "\x0c" and table[0x65] == "\u20ac", lang
        assert all(len(ch) == 1 and ch != " " for ch in table.values())


def test_spot_values_from_the_spec() -> None:
    assert tables.LOCKING_SHIFT[1][0x07] == "\u0131"      # Turkish dotless i
    assert tables.SINGLE_SHIFT[1][0x47] == "\u011e"       # Turkish G breve
    assert tables.LOCKING_SHIFT[6][0x15] == "\u0915"      # Hindi KA
    assert tables.SINGLE_SHIFT[6][0x1C] == "\u0966"       # Devanagari digit zero
    assert tables.LOCKING_SHIFT[7][0x24] == "\u0ca1"      # Kannada (V9.1.1 misprint corrected)
    assert tables.SINGLE_SHIFT[11][0x24] == "\u0bee"      # Tamil (misprint corrected)
    assert tables.SINGLE_SHIFT[12][0x22] == "\u0c6c"      # Telugu (misprint corrected)
    assert tables.LOCKING_SHIFT[13][0x00] == "\u0627"     # Urdu alef
