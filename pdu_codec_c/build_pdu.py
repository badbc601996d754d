"""cffi build script of the C codec `smsd._pdu_c` (out-of-line API mode).

setup.py runs it through `cffi_modules`; `python pdu_codec_c/build_pdu.py` builds in place.
The GSM-7 tables are generated here from smsd/pdu/tables.py, loaded by path so that building
never imports the smsd package, and inlined in the extension's source ahead of pdu.c: the
Python tables stay the one source of truth and no generated file lands in the tree.

pdu_py.c, compiled after the codec, adds the Python entry points of the two hot calls (see
its header for why); it needs the full CPython API (datetime), so the module is built without
cffi's default limited API: `_CFFI_NO_LIMITED_API` is the switch cffi's generated source checks,
and `py_limited_api=False` keeps setuptools from naming the result .abi3.so.

SMSD_PDU_CFLAGS (space separated) adds compiler flags, e.g. "-fsanitize=address" for a
sanitizer build; SMSD_PDU_MODULE renames the module (default smsd._pdu_c).
"""
from __future__ import annotations

import glob
import os
import runpy
from typing import Any

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))
TABLES = os.path.join(HERE, os.pardir, "smsd", "pdu", "tables.py")
UNDEF = 0xFFFF


def load_tables() -> dict[str, Any]:
    return runpy.run_path(os.path.normpath(TABLES))


def code_points(table: dict[int, str]) -> list[int]:
    """128 code points of a table, UNDEF where the table has no entry."""
    row = [UNDEF] * 128
    for code, ch in table.items():
        if len(ch) != 1 or ord(ch) >= 0xFFFF or not 0 <= code < 128:
            raise ValueError(f"table entry {code:#x} -> {ch!r} is not one BMP character")
        row[code] = ord(ch)
    return row


def reverse_pairs(row: list[int]) -> list[int]:
    """(cp << 8 | code) sorted by code point; the lowest code wins for duplicates."""
    best: dict[int, int] = {}
    for code, cp in enumerate(row):
        if cp != UNDEF and cp not in best:
            best[cp] = code
    return [cp << 8 | code for cp, code in sorted(best.items())]


def c_array(decl: str, values: list[int], per_line: int = 12) -> str:
    lines = [", ".join(str(v) for v in values[i:i + per_line])
             for i in range(0, len(values), per_line)]
    return f"static const {decl} = {{\n    " + ",\n    ".join(lines) + "\n};\n"


def c_matrix(decl: str, rows: list[list[int]]) -> str:
    body = ",\n".join("    {" + ", ".join(str(v) for v in row) + "}" for row in rows)
    return f"static const {decl} = {{\n{body}\n}};\n"


def shift_rows(t: dict[str, Any], nlang: int) -> tuple[list[list[int]], list[list[int]]]:
    locks = [code_points(t["GSM7_DEFAULT"])] + [
        code_points(t["LOCKING_SHIFT"].get(i, {})) for i in range(1, nlang)]
    singles = [code_points(t["GSM7_EXTENSION"])] + [
        code_points(t["SINGLE_SHIFT"].get(i, {})) for i in range(1, nlang)]
    return locks, singles


def rev_tables(name: str, rows: list[list[int]]) -> str:
    flat: list[int] = []
    starts = [0]
    for row in rows:
        flat += reverse_pairs(row)
        starts.append(len(flat))
    return (c_array(f"uint32_t {name}_rev[{len(flat)}]", flat, 8)
            + c_array(f"int {name}_rev_start[{len(starts)}]", starts))


def direct_rev(name: str, row: list[int], size: int) -> str:
    """cp -> code + 1 (0 = absent) for the default tables' fast path."""
    arr = [0] * size
    for pair in reversed(reverse_pairs(row)):
        arr[pair >> 8] = (pair & 0xFF) + 1
    return c_array(f"uint8_t {name}[{size}]", arr, 32)


def utf8_entries(row: list[int], undef: int) -> list[int]:
    """UTF-8 of each code point packed as bytes | length << 24; `undef` for absent codes."""
    out = []
    for cp in row:
        if cp == UNDEF:
            out.append(undef)
            continue
        b = chr(cp).encode("utf-8")
        out.append(int.from_bytes(b, "little") | len(b) << 24)
    return out


def national_pairs(has_lock: list[int], has_single: list[int]) -> list[int]:
    """(lock << 8 | single) in the encoder's order of preference: fewest IEs, lowest ids."""
    pairs = [(lk, sh) for lk, a in enumerate(has_lock) for sh, b in enumerate(has_single)
             if a and b and (lk, sh) != (0, 0)]
    pairs.sort(key=lambda p: ((p[0] != 0) + (p[1] != 0), p))
    return [lk << 8 | sh for lk, sh in pairs]


def generate_tables() -> str:
    t = load_tables()
    nlang = max(t["LANGUAGES"]) + 1
    locks, singles = shift_rows(t, nlang)
    has_lock = [1] + [int(i in t["LOCKING_SHIFT"]) for i in range(1, nlang)]
    has_single = [1] + [int(i in t["SINGLE_SHIFT"]) for i in range(1, nlang)]
    anyrev = [cp << 8 for cp in sorted({cp for row in locks + singles for cp in row} - {UNDEF})]
    pairs = national_pairs(has_lock, has_single)
    size = max(cp for cp in locks[0] + singles[0] if cp != UNDEF) + 1
    return "\n".join([
        f"#define PDU_NLANG {nlang}",
        f"#define PDU_DEF_REV_N {size}",
        # the language ids (bits) that have a table at all: the mask of "every language"
        f"#define PDU_ALL_LANGUAGES 0x{sum(1 << i for i in range(1, nlang)):X}",
        c_matrix(f"uint16_t pdu_lock[{nlang}][128]", locks),
        c_matrix(f"uint16_t pdu_single[{nlang}][128]", singles),
        # decoding writes UTF-8 straight from these (absent: a space / fall back to locking)
        c_matrix(f"uint32_t pdu_lock_u8[{nlang}][128]",
                 [utf8_entries(r, 0x20 | 1 << 24) for r in locks]),
        c_matrix(f"uint32_t pdu_single_u8[{nlang}][128]", [utf8_entries(r, 0) for r in singles]),
        c_array(f"uint8_t pdu_has_lock[{nlang}]", has_lock),
        c_array(f"uint8_t pdu_has_single[{nlang}]", has_single),
        rev_tables("pdu_lock", locks),
        rev_tables("pdu_single", singles),
        c_array(f"uint32_t pdu_any_rev[{len(anyrev)}]", anyrev, 8),
        c_array(f"uint16_t pdu_pairs[{len(pairs)}]", pairs),
        'static const char pdu_hex2[] = "' + "".join(f"{i:02X}" for i in range(256)) + '";',
        direct_rev("pdu_def_rev", locks[0], size),
        direct_rev("pdu_ext_rev", singles[0], size),
    ])


def cdef_text() -> str:
    with open(os.path.join(HERE, "pdu.h"), encoding="utf-8") as f:
        return f.read()


# pdu_py.c: adds native_decode, native_encode_submit and native_configure to the module
# (0 on success); smsd/pdu/_c.py calls it once at import.
PY_CDEF = "\nint pdu_py_install(void);\n"


def extra_cflags() -> list[str]:
    return os.environ.get("SMSD_PDU_CFLAGS", "").split()


def make_builder() -> FFI:
    builder = FFI()
    builder.cdef(cdef_text() + PY_CDEF)
    module = os.environ.get("SMSD_PDU_MODULE", "smsd._pdu_c")
    source = ("#include <stdint.h>\n#include <stddef.h>\n" + generate_tables()
              + f'\n#include "pdu.c"\n#define PDU_PY_MODULE "{module}"\n#include "pdu_py.c"\n')
    builder.set_source(
        module, source, py_limited_api=False, define_macros=[("_CFFI_NO_LIMITED_API", None)],
        include_dirs=[HERE], depends=sorted(glob.glob(os.path.join(HERE, "pdu*.[ch]"))),
        extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter",
                            "-Wno-missing-field-initializers"] + extra_cflags(),
        extra_link_args=extra_cflags())
    return builder


ffibuilder = make_builder()

if __name__ == "__main__":
    ffibuilder.compile(tmpdir=os.path.join(HERE, os.pardir, "build", "pdu_c"), verbose=False)
