"""Encoding choice and segmentation (TS 23.040 9.2.3.24.1, TS 23.038 6.2.1.2.4).

`plan(text, encoding)` decides the alphabet (and national language tables) and cuts the payload
into parts; encode_submit, encode_deliver and count_parts all go through it, so they can never
disagree about the number of parts.

National language tables (TS 23.038 6.2.1.2.4) are used only when the caller allows them:
`languages` is a bit mask (bit n = national language id n, see `language_mask`); 0, the
default, means the default alphabet and its extension table only, because many handsets lack
the national tables and show such a message garbled.

Choice for encoding="auto": the candidate with the fewest parts wins; ties go to plain GSM-7,
then GSM-7 with an allowed national table pair (fewest UDH IEs first, then lowest language ids),
then UCS2: whoever allows a national language says its handsets read it, and GSM-7 is what
such a text is for. encoding="gsm7" means "GSM 7-bit alphabet" and so may use an allowed
national table when the default one cannot represent the text, or when that saves a part.

Per-part capacity comes from the 140 octets of TP-UD minus the UDH: GSM-7 septets
= (140 - UDH) * 8 // 7 (160 / 153 with an 8-bit reference / 152 with a 16-bit one; each national
IE costs 3 octets more), UCS2 = (140 - UDH) // 2 code units, 8-bit = 140 - UDH octets. A cut never
separates ESC from its code nor the halves of a surrogate pair.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from smsd.errors import CodecError, EncodingError
from smsd.pdu import gsm7, tables
from smsd.pdu.types import ENC_8BIT, ENC_GSM7, ENC_UCS2

UD_OCTETS = 140
MAX_PARTS = 255
IEI_CONCAT8 = 0x00
IEI_CONCAT16 = 0x08
IEI_PORTS8 = 0x04
IEI_PORTS16 = 0x05
IEI_SINGLE_SHIFT = 0x24
IEI_LOCKING_SHIFT = 0x25
_ENCODINGS = ("auto", ENC_GSM7, ENC_UCS2, ENC_8BIT)
ALL_LANGUAGES = sum(1 << lang for lang in tables.LANGUAGES if lang)
_LAST_LANGUAGE = max(tables.LANGUAGES)
_NO_LIMIT = 1 << 30


@dataclass(frozen=True)
class Plan:
    encoding: str                 # gsm7 | ucs2 | 8bit
    lock: int                     # national locking shift id (0 = default alphabet)
    shift: int                    # national single shift id (0 = default extension)
    chunks: tuple[bytes, ...]     # per part: septets (gsm7), UTF-16BE (ucs2) or raw octets
    texts: tuple[str, ...]        # the slice of the text each part carries


def header_octets(concat: bool, concat16: bool, national_ies: int) -> int:
    """UDH size including its length octet (0 when there are no IEs)."""
    ies = (6 if concat16 else 5) * concat + 3 * national_ies
    return ies + 1 if ies else 0


def capacity(encoding: str, header: int) -> int:
    room = UD_OCTETS - header
    if encoding == ENC_GSM7:
        return room * 8 // 7
    return room // 2 if encoding == ENC_UCS2 else room


def _cut_septets(septets: bytes, limit: int) -> list[bytes]:
    out, i, n = [], 0, len(septets)
    while i < n:
        j = min(i + limit, n)
        if j < n and septets[j - 1] == gsm7.ESC:
            j -= 1          # ESC is only ever a prefix: keep it with its code
        out.append(septets[i:j])
        i = j
    return out


def _cut_ucs2(data: bytes, limit: int) -> list[bytes]:
    out, i, n = [], 0, len(data)
    step = limit * 2
    while i < n:
        j = min(i + step, n)
        if j < n and 0xD8 <= data[j - 2] <= 0xDB:
            j -= 2          # high surrogate: its low half goes to the next part too
        out.append(data[i:j])
        i = j
    return out


def _cut_octets(data: bytes, limit: int) -> list[bytes]:
    return [data[i:i + limit] for i in range(0, len(data), limit)]


def _national_ies(lock: int, shift: int) -> int:
    return (lock != 0) + (shift != 0)


def _split(encoding: str, payload: bytes, nat: int, concat16: bool) -> list[bytes]:
    """Cut into parts: one part if it fits without a concatenation IE, else concatenated."""
    single = capacity(encoding, header_octets(False, concat16, nat))
    size = len(payload) // 2 if encoding == ENC_UCS2 else len(payload)
    if size <= single:
        return [payload]
    limit = capacity(encoding, header_octets(True, concat16, nat))
    if encoding == ENC_GSM7:
        return _cut_septets(payload, limit)
    if encoding == ENC_UCS2:
        return _cut_ucs2(payload, limit)
    return _cut_octets(payload, limit)


def _texts(encoding: str, chunks: list[bytes], text: str) -> tuple[str, ...]:
    if len(chunks) == 1:
        return (text,)              # one part carries all of it: nothing to decode back
    if encoding == ENC_UCS2:
        return tuple(c.decode("utf-16-be") for c in chunks)
    if encoding == ENC_8BIT:
        return tuple(c.decode("latin-1") for c in chunks)
    out, pos = [], 0
    for c in chunks:
        n = len(c) - c.count(gsm7.ESC)
        out.append(text[pos:pos + n])
        pos += n
    return tuple(out)


def _finish(encoding: str, lock: int, shift: int, chunks: list[bytes], text: str) -> Plan:
    if len(chunks) > MAX_PARTS:
        raise CodecError(f"text needs {len(chunks)} parts; a concatenated SMS has at most 255")
    return Plan(encoding, lock, shift, tuple(chunks), _texts(encoding, chunks, text))


@lru_cache(maxsize=None)
def _charset(table_kind: str, lang: int) -> frozenset[str]:
    if table_kind == "lock":
        return frozenset(tables.LOCKING_SHIFT.get(lang, tables.GSM7_DEFAULT).values())
    return frozenset(tables.SINGLE_SHIFT.get(lang, tables.GSM7_EXTENSION).values())


def language_mask(languages: object) -> int:
    """Bit mask of national language ids (1..13 of TS 23.038 6.2.1.2.4) from a collection of
    ids; CodecError for anything else."""
    if isinstance(languages, (str, bytes)) or not hasattr(languages, "__iter__"):
        raise CodecError("languages must be a collection of national language ids")
    mask = 0
    for lang in languages:
        if not isinstance(lang, int) or isinstance(lang, bool) or not 1 <= lang <= _LAST_LANGUAGE:
            raise CodecError(f"national language id {lang!r} is not one of 1..{_LAST_LANGUAGE}")
        mask |= 1 << lang
    return mask


@lru_cache(maxsize=None)
def _national_pairs(mask: int) -> tuple[tuple[int, int], ...]:
    """(locking, single shift) pairs the mask allows, in the order of preference."""
    locks = [0, *(lk for lk in sorted(tables.LOCKING_SHIFT) if mask >> lk & 1)]
    shifts = [0, *(sh for sh in sorted(tables.SINGLE_SHIFT) if mask >> sh & 1)]
    pairs = [(lk, sh) for lk in locks for sh in shifts if (lk, sh) != (0, 0)]
    return tuple(sorted(pairs, key=lambda p: (_national_ies(*p), p)))


_ALL_PAIRS = _national_pairs(ALL_LANGUAGES)
_ANY_TABLE = frozenset().union(*(_charset("lock", lk) for lk, _ in _ALL_PAIRS),
                               *(_charset("shift", sh) for _, sh in _ALL_PAIRS))
_OUTSIDE_ALL = re.compile("[^" + "".join(re.escape(c) for c in sorted(_ANY_TABLE)) + "]")


def _may_beat(length: int, nat: int, concat16: bool, best: int) -> bool:
    """Lower bound: every character costs at least one septet."""
    if length <= capacity(ENC_GSM7, header_octets(False, concat16, nat)):
        return best > 1
    per_part = capacity(ENC_GSM7, header_octets(True, concat16, nat))
    return -(-length // per_part) < best


def _gsm7_candidates(text: str, concat16: bool, best: int,
                     languages: int) -> Iterator[tuple[list[bytes], int, int]]:
    """Yield (chunks, lock, shift) for each allowed national pair that needs fewer than `best`
    parts."""
    pairs = _national_pairs(languages)
    if not pairs or not _may_beat(len(text), 1, concat16, best) or _OUTSIDE_ALL.search(text):
        return
    chars = set(text)
    missing: dict[int, frozenset[str]] = {}
    for lock, shift in pairs:
        nat = _national_ies(lock, shift)
        if not _may_beat(len(text), nat, concat16, best):
            continue
        if lock not in missing:
            missing[lock] = frozenset(chars - _charset("lock", lock))
        if not missing[lock] <= _charset("shift", shift):
            continue
        septets = gsm7.to_septets(text, lock, shift)
        if septets is not None:
            chunks = _split(ENC_GSM7, septets, nat, concat16)
            if len(chunks) < best:
                best = len(chunks)
                yield chunks, lock, shift


def _plan_gsm7(text: str, concat16: bool, languages: int) -> Plan | None:
    best: tuple[list[bytes], int, int] | None = None
    septets = gsm7.to_septets(text)
    if septets is not None:
        best = (_split(ENC_GSM7, septets, 0, concat16), 0, 0)
        if len(best[0]) == 1:
            return _finish(ENC_GSM7, 0, 0, best[0], text)
    for found in _gsm7_candidates(text, concat16, len(best[0]) if best else _NO_LIMIT,
                                  languages):
        best = found
    return None if best is None else _finish(ENC_GSM7, best[1], best[2], best[0], text)


def _ucs2_payload(text: str) -> bytes:
    try:
        return text.encode("utf-16-be")
    except UnicodeEncodeError as exc:
        raise EncodingError(f"text holds a lone surrogate at index {exc.start}") from None


def _plan_ucs2(text: str, concat16: bool) -> Plan:
    chunks = _split(ENC_UCS2, _ucs2_payload(text), 0, concat16)
    return _finish(ENC_UCS2, 0, 0, chunks, text)


def _plan_8bit(text: str, concat16: bool) -> Plan:
    try:
        payload = text.encode("latin-1")
    except UnicodeEncodeError as exc:
        raise EncodingError(f"8-bit text takes U+0000..U+00FF only; {text[exc.start]!r} is not") \
            from None
    return _finish(ENC_8BIT, 0, 0, _split(ENC_8BIT, payload, 0, concat16), text)


def plan(text: str, encoding: str = "auto", concat16: bool = False, languages: int = 0) -> Plan:
    if encoding not in _ENCODINGS:
        raise CodecError(f"unknown encoding {encoding!r}; use one of {', '.join(_ENCODINGS)}")
    if encoding == ENC_UCS2:
        return _plan_ucs2(text, concat16)
    if encoding == ENC_8BIT:
        return _plan_8bit(text, concat16)
    if encoding == ENC_GSM7:
        found = _plan_gsm7(text, concat16, languages)
        if found is None:
            gsm7.require_septets(text)   # raises EncodingError naming the character
            raise EncodingError("text is not representable in the GSM 7-bit alphabet")
        return found
    return _plan_auto(text, concat16, languages)


def _ucs2_floor(text: str, concat16: bool) -> int:
    """Fewest parts UCS2 could need (surrogate pairs can only add)."""
    units = len(text)
    if units <= capacity(ENC_UCS2, 0):
        return 1
    return -(-units // capacity(ENC_UCS2, header_octets(True, concat16, 0)))


def _plan_auto(text: str, concat16: bool, languages: int) -> Plan:
    best: tuple[str, list[bytes], int, int] | None = None
    septets = gsm7.to_septets(text)
    if septets is not None:
        best = (ENC_GSM7, _split(ENC_GSM7, septets, 0, concat16), 0, 0)
        if len(best[1]) == 1:
            return _finish(ENC_GSM7, 0, 0, best[1], text)
    if best is None or _ucs2_floor(text, concat16) < len(best[1]):
        ucs2 = _split(ENC_UCS2, _ucs2_payload(text), 0, concat16)
        if best is None or len(ucs2) < len(best[1]):
            best = (ENC_UCS2, ucs2, 0, 0)
    # a national pair beats UCS2 on a tie (so it may need one part more than that to win),
    # default GSM-7 only with fewer parts
    limit = len(best[1]) + (best[0] == ENC_UCS2)
    for chunks, lock, shift in _gsm7_candidates(text, concat16, limit, languages):
        best = (ENC_GSM7, chunks, lock, shift)
    enc, final, lock, shift = best
    return _finish(enc, lock, shift, final, text)
