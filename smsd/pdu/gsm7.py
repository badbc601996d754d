"""GSM 7-bit alphabet (TS 23.038 6.2.1, Annex A) and septet packing (6.1.2.1, 6.1.2.3).

Text <-> septet strings go through `str.translate` / `bytes.decode` with precomputed tables so
that the per-character work happens in C. A septet string is held as `bytes` (one septet per
byte, values 0..127); packing puts septet i at bit 7*i of a little-endian integer.

Decoding rules where the spec leaves a choice (the C backend follows the same ones):
- ESC + a code the active single-shift table does not define -> the character of the active
  main table at that code (TS 23.038 6.2.1.1, note after the table).
- ESC + ESC (reserved for a further extension table) -> one space, both septets consumed.
- A lone ESC as the last septet is dropped.
- A code a national locking table leaves undefined -> a space.
"""
from __future__ import annotations

import re
from functools import lru_cache

from smsd.errors import CodecError, EncodingError
from smsd.pdu import tables

ESC = 0x1B
_UNMAPPED = "\uffff"   # never in any table; makes .encode("ascii") fail on unencodable text
_CR = 0x0D


@lru_cache(maxsize=None)
def decode_tables(lock: int = 0, shift: int = 0) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(main, extension) tables of 128 characters for the given national language ids.

    Unknown ids fall back to the default tables (a receiver that does not support a language
    shall use the default alphabet). Main-table 0x1B holds ESC itself for the fast path.
    """
    main_map = tables.LOCKING_SHIFT.get(lock, tables.GSM7_DEFAULT)
    ext_map = tables.SINGLE_SHIFT.get(shift, tables.GSM7_EXTENSION)
    main = tuple(main_map.get(i, " ") for i in range(128))
    main = main[:ESC] + ("\x1b",) + main[ESC + 1:]
    ext = tuple(ext_map.get(i, main[i]) for i in range(128))
    return main, ext[:ESC] + (" ",) + ext[ESC + 1:]


@lru_cache(maxsize=None)
def encode_table(lock: int = 0, shift: int = 0) -> dict[int, str]:
    """str.translate table: character -> its septet(s) as a string of code points < 128."""
    out: dict[int, str] = {i: _UNMAPPED for i in range(128)}
    ext_map = tables.SINGLE_SHIFT.get(shift, tables.GSM7_EXTENSION)
    for code, ch in sorted(ext_map.items(), reverse=True):   # lowest code wins
        out[ord(ch)] = "\x1b" + chr(code)
    main_map = tables.LOCKING_SHIFT.get(lock, tables.GSM7_DEFAULT)
    for code, ch in sorted(main_map.items(), reverse=True):
        out[ord(ch)] = chr(code)
    return out


@lru_cache(maxsize=None)
def outside(lock: int = 0, shift: int = 0) -> re.Pattern[str]:
    """Pattern matching any character the tables cannot represent (fast rejection)."""
    chars = set(tables.LOCKING_SHIFT.get(lock, tables.GSM7_DEFAULT).values())
    chars |= set(tables.SINGLE_SHIFT.get(shift, tables.GSM7_EXTENSION).values())
    return re.compile("[^" + "".join(re.escape(c) for c in sorted(chars)) + "]")


def to_septets(text: str, lock: int = 0, shift: int = 0) -> bytes | None:
    """Text as septets with the given tables, or None when a character is not representable."""
    if outside(lock, shift).search(text):
        return None
    return text.translate(encode_table(lock, shift)).encode("ascii")


def require_septets(text: str, lock: int = 0, shift: int = 0) -> bytes:
    septets = to_septets(text, lock, shift)
    if septets is None:
        table = encode_table(lock, shift)
        bad = next(c for c in text if table.get(ord(c), _UNMAPPED) == _UNMAPPED)
        raise EncodingError(f"character {bad!r} (U+{ord(bad):04X}) is not in the GSM 7-bit alphabet")
    return septets


def from_septets(septets: bytes, lock: int = 0, shift: int = 0) -> str:
    """Decode one septet per byte (values must be < 128)."""
    main, ext = decode_tables(lock, shift)
    if ESC not in septets:
        return septets.decode("latin-1").translate(main)
    out: list[str] = []
    parts = septets.split(b"\x1b")
    out.append(parts[0].decode("latin-1").translate(main))
    pending_space = False
    for i, chunk in enumerate(parts[1:], 1):
        if not chunk:
            # ESC ESC (or a trailing ESC): the reserved double escape shows as one space.
            pending_space = not pending_space and i < len(parts) - 1
            if pending_space:
                out.append(" ")
            continue
        if pending_space:
            pending_space = False
            out.append(chunk.decode("latin-1").translate(main))
            continue
        out.append(ext[chunk[0]] + chunk[1:].decode("latin-1").translate(main))
    return "".join(out)


@lru_cache(maxsize=16)
def _swar_masks(size: int) -> tuple[tuple[int, int, int], ...]:
    """Per level (lane width W -> 2W): (low mask, high mask, shift) over `size` octets.

    A lane of W bits carries 7W/8 useful bits; merging a pair of lanes moves the upper one
    down by W - 7W/8 bits. Repeating that from W = 8 up packs 8-bit septets into 7-bit ones in
    a handful of big-integer operations instead of one Python step per septet.
    """
    levels = []
    width, total = 8, size * 8
    while width < total:
        used = width * 7 // 8
        repeat = ((1 << total) - 1) // ((1 << (2 * width)) - 1)   # 1 at every 2W-bit lane
        low = ((1 << used) - 1) * repeat
        levels.append((low, low << width, width - used))
        width *= 2
    return tuple(levels)


def _pow2(n: int) -> int:
    return 1 << max(3, (n - 1).bit_length())


def pack(septets: bytes, fill_bits: int = 0) -> bytes:
    """Pack septets LSB first, after `fill_bits` zero bits (UDH alignment, TS 23.040 9.2.3.24)."""
    n = len(septets)
    size = _pow2(n)
    value = int.from_bytes(septets, "little")
    for low, high, shift in _swar_masks(size):
        value = (value & low) | ((value & high) >> shift)
    return (value << fill_bits).to_bytes((n * 7 + fill_bits + 7) // 8, "little")


def unpack(data: bytes, count: int, fill_bits: int = 0) -> bytes:
    """Read `count` septets after `fill_bits` bits; never more than `data` holds."""
    count = min(count, (len(data) * 8 - fill_bits) // 7)
    if count <= 0:
        return b""
    value = (int.from_bytes(data, "little") >> fill_bits) & ((1 << (7 * count)) - 1)
    size = _pow2(count)
    for low, high, shift in reversed(_swar_masks(size)):
        value = (value & low) | ((value << shift) & high)
    return value.to_bytes(size, "little")[:count]


def ussd_encode(text: str) -> bytes:
    """Packed GSM-7 with the CR padding rule of TS 23.038 6.1.2.3.1."""
    septets = require_septets(text)
    n = len(septets)
    if n % 8 == 7 or (n % 8 == 0 and n and septets[-1] == _CR):
        # 7 spare bits would read as "@"; a wanted final CR on an octet boundary is doubled
        # so that the receiver's stripping of the padding CR leaves it in place.
        septets += b"\r"
    return pack(septets)


def ussd_decode(data: bytes) -> str:
    """Inverse of ussd_encode: drop the padding CR (or the doubled final CR)."""
    if not isinstance(data, (bytes, bytearray)):
        raise CodecError("USSD data must be bytes")
    n = len(data) * 8 // 7
    septets = unpack(bytes(data), n)
    if n % 8 == 0 and n and septets[-1] == _CR:
        septets = septets[:-1]
    elif n % 8 == 1 and n > 1 and septets[-2:] == b"\r\r":
        septets = septets[:-1]
    return from_septets(septets)
