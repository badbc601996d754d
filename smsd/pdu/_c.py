"""C backend of the codec: a thin typed wrapper over the cffi extension `smsd._pdu_c`.

The byte-level work (hex, septet packing, tables, UCS2, TPDU parsing and building, segmentation,
USSD) happens in pdu_codec_c/pdu.c, one C call per operation. The two hot calls, decode() and
encode_submit() with default options, are entry points written in C (pdu_codec_c/pdu_py.c)
that build the named tuples of smsd.pdu.types themselves; this module hands them the types
and the Python helpers they call back for rare cases (configure below), and keeps the Python
side of every other call: UTF-8 in and out, result structs to named tuples, validity and
timestamps through smsd.pdu.fields, the helpers the Python backend uses too.

Speed notes (WHY the code looks the way it does). Per call, cffi's fixed cost (argument
conversion, GIL release) and the Python objects a result is made of cost more than the C work:
for one SMS ~1.2 us of Python around ~0.35 us of C, which is why the hot calls moved into C.
For the others: C takes one context pointer instead of separate buffers; results are named
tuples built with tuple.__new__. Scratch contexts are pooled, not module globals, because cffi
releases the GIL during calls and modem workers encode concurrently; list.pop/append are
atomic. `bench/pdu_codec.py --breakdown` times the pieces.

Importing this module raises ImportError when the extension is not built.
"""
from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from smsd._pdu_c import ffi, lib  # ImportError here tells smsd.pdu to use the Python backend
from smsd.errors import CodecError, EncodingError
from smsd.pdu import fields
from smsd.pdu.text import language_mask
from smsd.pdu.types import (ENC_8BIT, ENC_GSM7, ENC_UCS2, KIND_DELIVER, KIND_STATUS_REPORT,
                            KIND_SUBMIT, Decoded, InfoElement, SubmitPart)

_KINDS = (KIND_DELIVER, KIND_SUBMIT, KIND_STATUS_REPORT)
_ENC_NAMES = {lib.PDU_ENC_GSM7: ENC_GSM7, lib.PDU_ENC_UCS2: ENC_UCS2, lib.PDU_ENC_8BIT: ENC_8BIT}
_ENC_CODES = {"auto": lib.PDU_ENC_AUTO, ENC_GSM7: lib.PDU_ENC_GSM7, ENC_UCS2: lib.PDU_ENC_UCS2,
              ENC_8BIT: lib.PDU_ENC_8BIT}
_ENCODING_ERRORS = (lib.PDU_E_CHARSET, lib.PDU_E_ADDR)
_MESSAGES = {-i: ffi.string(lib.pdu_strerror(-i)).decode() for i in range(lib.PDU_E_COUNT)}

_PART = struct.Struct("=5i")           # pdu_part, in the host's byte order
_OPTS = struct.Struct("=14i7s7s")      # pdu_sms_opts, in the host's byte order
_SMALL_CAP = 1024
_PARTS_OFF = ffi.offsetof("pdu_ectx", "parts")
_SUBMIT = lib.PDU_KIND_SUBMIT
_PART_SIZE = _PART.size

assert ffi.sizeof("pdu_part") == _PART.size
assert ffi.offsetof("pdu_sms_opts", "scts") == _OPTS.size - 7

_c_encode_sms = lib.pdu_encode_sms
_unpack_part = _PART.unpack_from
_tuple_new = tuple.__new__


class _Scratch:
    """Per-call buffers; a pool of these keeps the hot path free of allocations."""

    __slots__ = ("ectx", "ebuf", "opts", "opts_buf", "size", "count", "small", "small_buf",
                 "text", "text_buf")

    def __init__(self) -> None:
        self.ectx = ffi.new("pdu_ectx *")
        self.ebuf = ffi.buffer(self.ectx)
        self.opts = ffi.new("pdu_sms_opts *")
        self.opts_buf = ffi.buffer(self.opts)
        self.size = ffi.new("size_t *")
        self.count = ffi.new("int[3]")
        self.small = ffi.new("uint8_t[]", 1024)
        self.small_buf = ffi.buffer(self.small)
        self.text = ffi.new("char[]", 4096)
        self.text_buf = ffi.buffer(self.text)


_POOL: list[_Scratch] = [_Scratch()]


def _take() -> _Scratch:
    try:
        return _POOL.pop()
    except IndexError:
        return _Scratch()


def _error(rc: int) -> CodecError:
    cls = EncodingError if rc in _ENCODING_ERRORS else CodecError
    return cls(_MESSAGES.get(rc, f"codec error {rc}"))


def _utf8(text: str, what: str) -> bytes:
    if not isinstance(text, str):
        raise CodecError(f"{what} must be a string")
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise EncodingError(f"{what} holds a lone surrogate at index {exc.start}") from None


# --- decode ---------------------------------------------------------------------------------
# decode() is native_decode of pdu_codec_c/pdu_py.c: it parses with the same C decoder and
# builds the Decoded tuple in C; it calls back only for non-hex input (fields.pdu_octets) and
# for a validity period (_validity below), both rare.
def _validity(vpf: int, raw: bytes) -> object | None:
    if vpf == 2:
        return fields.relative_vp(raw[0])
    if vpf == 3:
        return fields.read_timestamp(raw)
    if vpf == 1:
        return fields.read_enhanced_vp(raw)
    return None


# --- encode --------------------------------------------------------------------------------------
def _validity_field(validity: dt.timedelta | dt.datetime | None) -> tuple[int, bytes]:
    if isinstance(validity, dt.datetime):
        return 3, fields.timestamp(validity)
    if isinstance(validity, dt.timedelta):
        return 2, bytes([fields.relative_vp_code(validity)])
    raise CodecError(f"validity must be a timedelta or datetime, not {type(validity).__name__}")


def _encoding_code(encoding: str) -> int:
    try:
        return _ENC_CODES[encoding]
    except (KeyError, TypeError):
        raise CodecError(f"unknown encoding {encoding!r}; use one of "
                         f"{', '.join(_ENC_CODES)}") from None


def _encode(s: _Scratch, number: str, text: str, smsc: str | None,
            opts: tuple[int, ...], vp: bytes, scts: bytes) -> int:
    """One pdu_encode_sms call; returns the number of parts now in s.ectx."""
    try:
        _OPTS.pack_into(s.opts_buf, 0, *opts, vp, scts)
    except struct.error as exc:
        raise CodecError(f"option out of range: {exc}") from None
    try:
        num, body, sc = number.encode(), text.encode(), smsc.encode() if smsc else b""
    except (UnicodeEncodeError, AttributeError):
        raise _utf8_error(number, text, smsc) from None
    rc = _c_encode_sms(s.opts, num, len(num), sc, len(sc), body, len(body), s.ectx)
    if rc < 0:
        raise _error(rc)
    return int(rc)


def _utf8_error(number: str, text: str, smsc: str | None) -> CodecError:
    """The error for arguments that are not strings or hold lone surrogates."""
    for value, what in ((text, "text"), (number, "number"), (smsc or "", "smsc")):
        try:
            _utf8(value, what)
        except CodecError as exc:
            return exc
    return CodecError("arguments must be strings")


def _submit_parts(s: _Scratch, n: int, text: str) -> list[SubmitPart]:
    out = s.ebuf
    parts = []
    for k in range(n):
        off, hlen, tlen, a, b = _unpack_part(out, _PARTS_OFF + k * _PART_SIZE)
        parts.append(_tuple_new(SubmitPart, (out[off:off + hlen].decode(), tlen, k + 1, n,
                                             text[a:b])))
    return parts


def _encode_submit_py(number: str, text: str, *, encoding: str = "auto",
                      smsc: str | None = None, request_status_report: bool = False,
                      validity: dt.timedelta | dt.datetime | None = None, flash: bool = False,
                      mr: int = 0, concat_ref: int = 0, concat16: bool = False,
                      reject_duplicates: bool = False, reply_path: bool = False,
                      pid: int = 0, languages: Collection[int] = ()) -> list[SubmitPart]:
    """SMS-SUBMIT parts ready for AT+CMGS (refs and MR are taken modulo their field size).

    encode_submit is native_encode_submit (pdu_py.c), which does the calls the scheduler makes
    (number and text, with encoding, request_status_report, flash, mr, concat_ref, languages
    as a tuple of ints) in C and hands every other call here: the other options, wrong types,
    lone surrogates.
    """
    return _encode_submit_opts(number, text, encoding, smsc, request_status_report, validity,
                               flash, mr, concat_ref, concat16, reject_duplicates, reply_path,
                               pid, language_mask(languages))


def _encode_submit_opts(number: str, text: str, encoding: str, smsc: str | None,
                        request_status_report: bool,
                        validity: dt.timedelta | dt.datetime | None, flash: bool, mr: int,
                        concat_ref: int, concat16: bool, reject_duplicates: bool,
                        reply_path: bool, pid: int, languages: int) -> list[SubmitPart]:
    """encode_submit with options: packs a pdu_sms_opts and calls pdu_encode_sms."""
    vpf, vp = (0, b"") if validity is None else _validity_field(validity)
    code = _encoding_code(encoding)
    s = _take()
    try:
        n = _encode(s, number, text, smsc,
                    (_SUBMIT, code, bool(request_status_report), bool(flash), mr & 0xFF,
                     concat_ref & (0xFFFF if concat16 else 0xFF), bool(concat16), vpf,
                     len(vp), bool(smsc), pid & 0xFF, bool(reject_duplicates),
                     bool(reply_path), languages), vp, b"")
        return _submit_parts(s, n, text)
    finally:
        _POOL.append(s)


def encode_deliver(originator: str, text: str, *, scts: dt.datetime, smsc: str | None = None,
                   encoding: str = "auto", concat_ref: int = 0,
                   status_report_indication: bool = False,
                   languages: Collection[int] = ()) -> list[str]:
    stamp = fields.timestamp(scts)
    mask = language_mask(languages)
    s = _take()
    try:
        n = _encode(s, originator, text, smsc,
                    (lib.PDU_KIND_DELIVER, _encoding_code(encoding), status_report_indication,
                     False, 0, concat_ref & 0xFF, False, 0, 0, bool(smsc), 0, False, False,
                     mask),
                    b"", stamp)
        return [p.hex for p in _submit_parts(s, n, text)]
    finally:
        _POOL.append(s)


def encode_status_report(recipient: str, mr: int, status: int, *, scts: dt.datetime,
                         discharge: dt.datetime, smsc: str | None = None) -> str:
    if not 0 <= status <= 0xFF:
        raise CodecError(f"TP-ST {status} is out of range 0..255")
    mr &= 0xFF
    a, b = fields.timestamp(scts), fields.timestamp(discharge)
    num = _utf8(recipient, "recipient")
    sc = _utf8(smsc, "smsc") if smsc else b""
    s = _take()
    try:
        rc = lib.pdu_encode_status_report(num, len(num), mr, status, a, b, sc, len(sc),
                                          bool(smsc), s.text, 4096, s.size)
        if rc:
            raise _error(rc)
        return s.text_buf[0:s.size[0]].decode("ascii")
    finally:
        _POOL.append(s)


def count_parts(text: str, encoding: str = "auto", languages: Collection[int] = ()) -> int:
    body = _utf8(text, "text")
    mask = language_mask(languages)
    s = _take()
    try:
        rc = lib.pdu_count_parts(body, len(body), _encoding_code(encoding), mask, s.count)
        if rc:
            raise _error(rc)
        return int(s.count[0])
    finally:
        _POOL.append(s)


def choose_encoding(text: str, languages: Collection[int] = ()) -> str:
    body = _utf8(text, "text")
    mask = language_mask(languages)
    s = _take()
    try:
        c = s.count
        rc = lib.pdu_choose_encoding(body, len(body), mask, c, c + 1, c + 2)
        if rc:
            raise _error(rc)
        return _ENC_NAMES[c[0]]
    finally:
        _POOL.append(s)


def ussd_encode(text: str) -> bytes:
    body = _utf8(text, "text")
    cap = 2 * len(body) + 2                  # an ESC pair per byte at most, plus the padding
    s = _take()
    try:
        out, buf = (s.small, s.small_buf) if cap <= _SMALL_CAP else _new_buffer("uint8_t[]", cap)
        rc = lib.pdu_ussd_encode(body, len(body), out, cap, s.size)
        if rc:
            raise _error(rc)
        return buf[0:s.size[0]]
    finally:
        _POOL.append(s)


def _new_buffer(ctype: str, n: int) -> tuple[Any, Any]:
    arr = ffi.new(ctype, n)
    return arr, ffi.buffer(arr)


def ussd_decode(data: bytes) -> str:
    if not isinstance(data, (bytes, bytearray)):
        raise CodecError("USSD data must be bytes")
    cap = len(data) * 8 // 7 * 3 + 4         # three UTF-8 bytes per septet at most
    s = _take()
    try:
        out, buf = (s.text, s.text_buf) if cap <= 4096 else _new_buffer("char[]", cap)
        rc = lib.pdu_ussd_decode(bytes(data), len(data), out, cap, s.size)
        if rc:
            raise _error(rc)
        return buf[0:s.size[0]].decode()
    finally:
        _POOL.append(s)


def status_category(st: int) -> str:
    """TS 23.040 9.2.3.15: 0x00-0x1F delivered, 0x20-0x3F still trying, the rest failed."""
    if not 0 <= st <= 0xFF:
        raise CodecError(f"TP-ST {st} is out of range 0..255")
    if st <= 0x1F:
        return "delivered"
    return "pending" if 0x20 <= st <= 0x3F else "failed"


# errors raised for a call the native entry point handed over name the public function
_encode_submit_py.__name__ = _encode_submit_py.__qualname__ = "encode_submit"


# --- the native entry points (pdu_codec_c/pdu_py.c) ------------------------------------------
def _configure() -> None:
    import smsd._pdu_c as native
    if lib.pdu_py_install() != 0:
        raise ImportError("smsd._pdu_c: installing the native entry points failed")
    tz = tuple(dt.timezone(dt.timedelta(minutes=15 * q)) for q in range(-79, 80))
    encodings = (None, _ENC_NAMES[1], _ENC_NAMES[2], _ENC_NAMES[3])
    native.native_configure(CodecError, EncodingError, Decoded, SubmitPart, InfoElement, tz,
                            _KINDS, encodings, fields.pdu_octets, _validity,
                            _encode_submit_py)


if TYPE_CHECKING:                     # what the native functions accept and return
    encode_submit = _encode_submit_py

    def decode(pdu: str | bytes, smsc: bool = True) -> Decoded:
        """A PDU (hex text or bytes) -> Decoded; CodecError when malformed."""
        raise NotImplementedError
else:
    _configure()
    from smsd._pdu_c import native_decode as decode
    from smsd._pdu_c import native_encode_submit as encode_submit
