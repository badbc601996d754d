"""C backend of the codec: a thin typed wrapper over the cffi extension `smsd._pdu_c`.

The byte-level work (hex, septet packing, tables, UCS2, TPDU parsing and building, segmentation,
USSD) happens in pdu_codec_c/pdu.c, one C call per operation. This module only converts: Python
text to UTF-8 and back, result structs to the named tuples of smsd.pdu.types, and the rare
datetime / validity fields through smsd.pdu.fields, the helpers the Python backend uses too.

Speed notes (WHY the code looks the way it does). Per call, cffi's fixed cost (argument
conversion, GIL release) and the Python objects a result is made of cost more than the C work,
so: C takes one context pointer instead of separate buffers; it summarises a plain SMS-DELIVER
in a 19-int header read with one struct.unpack_from, and writes smsc, number and text back to
back so that one str decode and three slices make all three strings; results are named tuples
built with tuple.__new__. pdu_submit (default options) reports a one-part message in its return
value, so nothing else is read back. Scratch contexts are pooled, not module globals, because
cffi releases the GIL during calls and modem workers decode concurrently; list.pop/append are
atomic. `bench/pdu_codec.py --breakdown` times each of these pieces.

Importing this module raises ImportError when the extension is not built.
"""
from __future__ import annotations

import datetime as dt
import struct
from typing import Any

from smsd._pdu_c import ffi, lib  # ImportError here tells smsd.pdu to use the Python backend
from smsd.errors import CodecError, EncodingError
from smsd.pdu import fields
from smsd.pdu.types import (ENC_8BIT, ENC_GSM7, ENC_UCS2, KIND_DELIVER, KIND_STATUS_REPORT,
                            KIND_SUBMIT, Decoded, InfoElement, SubmitPart)

_KINDS = (KIND_DELIVER, KIND_SUBMIT, KIND_STATUS_REPORT)
_ENC_NAMES = {lib.PDU_ENC_GSM7: ENC_GSM7, lib.PDU_ENC_UCS2: ENC_UCS2, lib.PDU_ENC_8BIT: ENC_8BIT}
_ENC_CODES = {"auto": lib.PDU_ENC_AUTO, ENC_GSM7: lib.PDU_ENC_GSM7, ENC_UCS2: lib.PDU_ENC_UCS2,
              ENC_8BIT: lib.PDU_ENC_8BIT}
_ENCODING_ERRORS = (lib.PDU_E_CHARSET, lib.PDU_E_ADDR)
_MESSAGES = {-i: ffi.string(lib.pdu_strerror(-i)).decode() for i in range(lib.PDU_E_COUNT)}

_HEAD = struct.Struct("<40i")          # pdu_decoded up to its IE array
_FAST = struct.Struct("<19i")          # pdu_dctx.fast
_PART = struct.Struct("<5i")           # pdu_part
_OPTS = struct.Struct("<13i7s7s")      # pdu_sms_opts
_D_OFF = ffi.offsetof("pdu_dctx", "d")
_IE_OFF = _D_OFF + ffi.offsetof("pdu_decoded", "ie")
_STR_OFF = ffi.offsetof("pdu_dctx", "str")
_BIN_OFF = ffi.offsetof("pdu_dctx", "bin")
_SMALL_CAP = 1024
_PARTS_OFF = ffi.offsetof("pdu_ectx", "parts")
_SUBMIT = lib.PDU_KIND_SUBMIT
_E_HEX = lib.PDU_E_HEX
_E_SPACE = lib.PDU_E_SPACE
_PART_SIZE = _PART.size

assert ffi.offsetof("pdu_decoded", "ie") == _HEAD.size
assert ffi.offsetof("pdu_dctx", "d") == 80 and _FAST.size <= 80
assert ffi.sizeof("pdu_part") == _PART.size
assert ffi.offsetof("pdu_sms_opts", "scts") == _OPTS.size - 7

_c_decode = lib.pdu_decode
_c_submit = lib.pdu_submit
_c_encode_sms = lib.pdu_encode_sms
_unpack_fast = _FAST.unpack_from
_unpack_head = _HEAD.unpack_from
_unpack_part = _PART.unpack_from
_tuple_new = tuple.__new__
_datetime = dt.datetime
_TZ = {q: dt.timezone(dt.timedelta(minutes=15 * q)) for q in range(-79, 80)}


class _Scratch:
    """Per-call buffers; a pool of these keeps the hot path free of allocations."""

    __slots__ = ("dctx", "dbuf", "ectx", "ebuf", "opts", "opts_buf", "size", "count", "small",
                 "small_buf", "text", "text_buf")

    def __init__(self) -> None:
        self.dctx = ffi.new("pdu_dctx *")
        self.dbuf = ffi.buffer(self.dctx)
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


# --- decode --------------------------------------------------------------------------------------
def decode(pdu: str | bytes, smsc: bool = True) -> Decoded:
    """One C call fills a pdu_dctx; one unpack reads its summary; one str() call decodes smsc,
    number and text together. Anything but a plain SMS-DELIVER goes through _decoded_full."""
    try:
        s = _POOL.pop()
    except IndexError:
        s = _Scratch()
    try:
        src: Any = s.dbuf
        try:
            raw = pdu.encode()                           # type: ignore[union-attr]
        except (AttributeError, UnicodeEncodeError):     # bytes-like, or not a PDU at all
            raw = None
        rc = _E_HEX if raw is None else _c_decode(raw, len(raw), 3 if smsc else 1, s.dctx)
        if rc:
            if rc == _E_HEX or rc == _E_SPACE:           # whitespace, junk, binary, long input
                src = fields.pdu_octets(pdu)
                rc = _c_decode(src, len(src), 2 if smsc else 0, s.dctx)
            if rc:
                raise _error(rc)
        buf = s.dbuf
        (rare, se, ns, ne, send, toa, pid, dcs, enc, srr, yy, mo, dd, hh, mi, ss, tq, doff,
         dlen) = _unpack_fast(buf)
        u = buf[_STR_OFF:send].decode()
        if rare:
            return _decoded_full(s, u[:se] if se >= 0 else None, u[ns:ne], u[ne:], src)
        scts = None
        if yy:
            try:
                scts = _datetime(yy, mo, dd, hh, mi, ss, 0, _TZ[tq])
            except ValueError:
                pass
        return _tuple_new(Decoded, (
            KIND_DELIVER, u[:se] if se >= 0 else None, u[ns:ne], u[ne:], dcs, pid, scts, None,
            None, None, [], _ENC_NAMES[enc], src[doff:doff + dlen], toa, None, None, None,
            srr != 0, None))
    finally:
        _POOL.append(s)


def _time(v: tuple[int, ...], i: int) -> dt.datetime | None:
    """Digits from C -> aware datetime; impossible stamps give None, as in fields.py."""
    if not v[i]:
        return None
    yy = v[i + 1]
    try:
        return _datetime(yy + (1900 if yy >= 80 else 2000), v[i + 2], v[i + 3], v[i + 4],
                         v[i + 5], v[i + 6], 0, _TZ[v[i + 7]])
    except ValueError:
        return None


def _validity(vpf: int, raw: bytes) -> object | None:
    if vpf == 2:
        return fields.relative_vp(raw[0])
    if vpf == 3:
        return fields.read_timestamp(raw)
    if vpf == 1:
        return fields.read_enhanced_vp(raw)
    return None


def _udh(s: _Scratch, n: int, src: Any, base: int) -> list[InfoElement]:
    ies = struct.unpack_from(f"<{3 * n}i", s.dbuf, _IE_OFF)
    return [InfoElement(ies[k], src[base + ies[k + 1]:base + ies[k + 1] + ies[k + 2]])
            for k in range(0, 3 * n, 3)]


def _decoded_full(s: _Scratch, smsc: str | None, number: str, text: str,
                  src: Any) -> Decoded:
    """Any PDU: every field of pdu_decoded (offsets in it are relative to the PDU octets)."""
    base = _BIN_OFF if src is s.dbuf else 0
    v = _unpack_head(s.dbuf, _D_OFF)
    (kind, _, _, _, toa, pid, dcs, enc, mcls, mr, st, srr,
     tv, yy, mo, dd, hh, mi, ss, tq, _, _, _, _, _, _, _, _,
     vpf, vpo, vpl, cref, ctot, cseq, pdst, psrc, doff, dlen, _, nie) = v
    scts = None
    if tv and kind != 1:
        try:
            scts = _datetime(yy + (1900 if yy >= 80 else 2000), mo, dd, hh, mi, ss, 0, _TZ[tq])
        except ValueError:
            pass
    return _tuple_new(Decoded, (
        _KINDS[kind], smsc, number, text, dcs, pid, scts,
        (cref, ctot, cseq) if cref >= 0 else None,
        mr if mr >= 0 else None,
        st if st >= 0 else None,
        _udh(s, nie, src, base) if nie else [],
        _ENC_NAMES[enc],
        src[base + doff:base + doff + dlen],
        toa,
        _time(v, 20) if kind == 2 else None,
        mcls if mcls >= 0 else None,
        _validity(vpf, src[base + vpo:base + vpo + vpl]) if vpf else None,
        srr != 0,
        (pdst, psrc) if pdst >= 0 else None))


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


def encode_submit(number: str, text: str, *, encoding: str = "auto", smsc: str | None = None,
                  request_status_report: bool = False,
                  validity: dt.timedelta | dt.datetime | None = None, flash: bool = False,
                  mr: int = 0, concat_ref: int = 0, concat16: bool = False,
                  reject_duplicates: bool = False, reply_path: bool = False,
                  pid: int = 0) -> list[SubmitPart]:
    """SMS-SUBMIT parts ready for AT+CMGS (refs and MR are taken modulo their field size).

    The hot path of sending: with every option at its default one five-argument C call
    (pdu_submit) does the work and its return value says all a one-part message needs; cffi's
    conversion of each argument costs more than the C work for ten characters.
    """
    if (encoding == "auto" and smsc is None and validity is None
            and not (request_status_report or flash or mr or concat_ref or concat16
                     or reject_duplicates or reply_path or pid)):
        try:
            num, body = number.encode(), text.encode()
        except (UnicodeEncodeError, AttributeError):
            raise _utf8_error(number, text, smsc) from None
        try:
            s = _POOL.pop()
        except IndexError:
            s = _Scratch()
        try:
            rc = _c_submit(num, len(num), body, len(body), s.ectx)
            if rc < 0:
                raise _error(rc)
            if rc & 0xFF == 1:                       # one part: hex is "00" + the TPDU
                tlen = rc >> 8
                return [_tuple_new(SubmitPart, (s.ebuf[0:2 * tlen + 2].decode(), tlen, 1, 1,
                                                text))]
            return _submit_parts(s, rc & 0xFF, text)
        finally:
            _POOL.append(s)
    return _encode_submit_opts(number, text, encoding, smsc, request_status_report, validity,
                               flash, mr, concat_ref, concat16, reject_duplicates, reply_path,
                               pid)


def _encode_submit_opts(number: str, text: str, encoding: str, smsc: str | None,
                        request_status_report: bool,
                        validity: dt.timedelta | dt.datetime | None, flash: bool, mr: int,
                        concat_ref: int, concat16: bool, reject_duplicates: bool,
                        reply_path: bool, pid: int) -> list[SubmitPart]:
    """encode_submit with options: packs a pdu_sms_opts and calls pdu_encode_sms."""
    vpf, vp = (0, b"") if validity is None else _validity_field(validity)
    code = _encoding_code(encoding)
    s = _take()
    try:
        n = _encode(s, number, text, smsc,
                    (_SUBMIT, code, request_status_report, flash, mr & 0xFF,
                     concat_ref & (0xFFFF if concat16 else 0xFF), concat16, vpf, len(vp),
                     bool(smsc), pid & 0xFF, reject_duplicates, reply_path), vp, b"")
        return _submit_parts(s, n, text)
    finally:
        _POOL.append(s)


def encode_deliver(originator: str, text: str, *, scts: dt.datetime, smsc: str | None = None,
                   encoding: str = "auto", concat_ref: int = 0,
                   status_report_indication: bool = False) -> list[str]:
    stamp = fields.timestamp(scts)
    s = _take()
    try:
        n = _encode(s, originator, text, smsc,
                    (lib.PDU_KIND_DELIVER, _encoding_code(encoding), status_report_indication,
                     False, 0, concat_ref & 0xFF, False, 0, 0, bool(smsc), 0, False, False),
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


def count_parts(text: str, encoding: str = "auto") -> int:
    body = _utf8(text, "text")
    s = _take()
    try:
        rc = lib.pdu_count_parts(body, len(body), _encoding_code(encoding), s.count)
        if rc:
            raise _error(rc)
        return int(s.count[0])
    finally:
        _POOL.append(s)


def choose_encoding(text: str) -> str:
    body = _utf8(text, "text")
    s = _take()
    try:
        c = s.count
        rc = lib.pdu_choose_encoding(body, len(body), c, c + 1, c + 2)
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
