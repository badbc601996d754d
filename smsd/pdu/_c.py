"""C backend of the codec: a thin typed wrapper over the cffi extension `smsd._pdu_c`.

The byte-level work (hex, septet packing, tables, UCS2, TPDU parsing and building, segmentation,
USSD) happens in pdu_codec_c/pdu.c, one C call per operation. This module only converts: Python
text to UTF-8 and back, result structs to the dataclasses of smsd.pdu.types, and the rare
datetime / validity fields through smsd.pdu.fields, the helpers the Python backend uses too.

Speed notes (WHY the code looks the way it does): C results are read with one
struct.unpack_from over a cached buffer instead of one cffi attribute access per field, and the
frozen dataclasses are filled through their __dict__ rather than their generated __init__ (which
pays object.__setattr__ per field). Scratch buffers are pooled, not module globals, because cffi
releases the GIL during calls and modem workers decode concurrently; list.pop/append are atomic.

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
_PART = struct.Struct("<5i")           # pdu_part
_OPTS = struct.Struct("<13i7s7s")      # pdu_sms_opts
_MAX_PARTS = 255
_SUBMIT = lib.PDU_KIND_SUBMIT
_E_HEX = lib.PDU_E_HEX
_encode_sms = lib.pdu_encode_sms
_PART_SIZE = _PART.size
_OUT_CAP = _MAX_PARTS * 400
_BIN_CAP = 1024

assert ffi.offsetof("pdu_decoded", "ie") == _HEAD.size
assert ffi.sizeof("pdu_part") == _PART.size
assert ffi.offsetof("pdu_sms_opts", "scts") == _OPTS.size - 7

_pack_opts = _OPTS.pack_into
_unpack_part = _PART.unpack_from
_new = object.__new__
_fill = object.__setattr__
_datetime = dt.datetime
_TZ = {q: dt.timezone(dt.timedelta(minutes=15 * q)) for q in range(-79, 80)}


class _Scratch:
    """Per-call buffers; a pool of these keeps the hot path free of allocations."""

    __slots__ = ("bin", "dec", "addr", "text", "dec_buf", "bin_buf", "addr_buf", "text_buf",
                 "opts", "opts_buf", "out", "out_buf", "parts", "parts_buf", "count", "size")

    def __init__(self) -> None:
        self.bin = ffi.new("uint8_t[]", _BIN_CAP)
        self.dec = ffi.new("pdu_decoded *")
        self.addr = ffi.new("char[]", 512)
        self.text = ffi.new("char[]", 4096)
        self.dec_buf = ffi.buffer(self.dec)
        self.bin_buf = ffi.buffer(self.bin)
        self.addr_buf = ffi.buffer(self.addr)
        self.text_buf = ffi.buffer(self.text)
        self.opts = ffi.new("pdu_sms_opts *")
        self.opts_buf = ffi.buffer(self.opts)
        self.out = ffi.new("char[]", _OUT_CAP)
        self.out_buf = ffi.buffer(self.out)
        self.parts = ffi.new("pdu_part[]", _MAX_PARTS)
        self.parts_buf = ffi.buffer(self.parts)
        self.count = ffi.new("int[3]")
        self.size = ffi.new("size_t *")


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
def _run_decode(s: _Scratch, raw: bytes, smsc: bool) -> tuple[int, Any]:
    """pdu_decode of binary input; (return code, buffer holding the PDU)."""
    if len(raw) <= _BIN_CAP:
        return lib.pdu_decode(raw, len(raw), 0, smsc, s.bin, _BIN_CAP, s.dec, s.addr, 512,
                              s.text, 4096), s.bin_buf
    big = ffi.new("uint8_t[]", len(raw))
    return lib.pdu_decode(raw, len(raw), 0, smsc, big, len(raw), s.dec, s.addr, 512,
                          s.text, 4096), ffi.buffer(big)


def _octets(pdu: str | bytes) -> bytes:
    """The slow path of hex input (whitespace, odd junk) and of non-str input."""
    if isinstance(pdu, (bytes, bytearray, memoryview)):
        data = bytes(pdu)
    elif isinstance(pdu, str):
        try:
            data = bytes.fromhex(pdu.strip())
        except ValueError:
            raise CodecError("PDU is not an even-length hex string") from None
    else:
        raise CodecError(f"PDU must be str or bytes, not {type(pdu).__name__}")
    if not data:
        raise CodecError("empty PDU")
    return data


def decode(pdu: str | bytes, smsc: bool = True) -> Decoded:
    try:
        s = _POOL.pop()
    except IndexError:
        s = _Scratch()
    try:
        if type(pdu) is str and len(pdu) <= 2 * _BIN_CAP and pdu.isascii():
            # strict hex straight into C; anything else goes through bytes.fromhex
            rc = lib.pdu_decode(pdu.encode(), len(pdu), 1, smsc, s.bin, _BIN_CAP, s.dec, s.addr,
                                512, s.text, 4096)
            binbuf = s.bin_buf
            if rc == _E_HEX:
                rc, binbuf = _run_decode(s, _octets(pdu), smsc)
        else:
            rc, binbuf = _run_decode(s, _octets(pdu), smsc)
        if rc:
            raise _error(rc)
        return _decoded(s, _HEAD.unpack_from(s.dec_buf), binbuf)
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


def _udh(s: _Scratch, n: int, binbuf: Any) -> list[InfoElement]:
    ies = struct.unpack_from(f"<{3 * n}i", s.dec_buf, _HEAD.size)
    return [InfoElement(ies[k], binbuf[ies[k + 1]:ies[k + 1] + ies[k + 2]])
            for k in range(0, 3 * n, 3)]


def _decoded(s: _Scratch, v: tuple[int, ...], binbuf: Any) -> Decoded:
    (kind, _, slen, nlen, toa, pid, dcs, enc, mcls, mr, st, srr,
     tv, yy, mo, dd, hh, mi, ss, tq, _, _, _, _, _, _, _, _,
     vpf, vpo, vpl, cref, ctot, cseq, pdst, psrc, doff, dlen, tlen, nie) = v
    addr = s.addr_buf
    nstart = slen if slen > 0 else 0
    scts = None
    if tv and kind != 1:
        try:
            scts = _datetime(yy + (1900 if yy >= 80 else 2000), mo, dd, hh, mi, ss, 0, _TZ[tq])
        except ValueError:
            pass
    d = _new(Decoded)
    _fill(d, "__dict__", {
        "kind": _KINDS[kind],
        "smsc": addr[0:slen].decode() if slen >= 0 else None,
        "number": addr[nstart:nstart + nlen].decode(),
        "text": s.text_buf[0:tlen].decode(),
        "dcs": dcs,
        "pid": pid,
        "scts": scts,
        "concat": (cref, ctot, cseq) if cref >= 0 else None,
        "mr": mr if mr >= 0 else None,
        "status": st if st >= 0 else None,
        "udh": _udh(s, nie, binbuf) if nie else [],
        "encoding": _ENC_NAMES[enc],
        "data": binbuf[doff:doff + dlen],
        "number_toa": toa,
        "discharge": _time(v, 20) if kind == 2 else None,
        "message_class": mcls if mcls >= 0 else None,
        "validity": _validity(vpf, binbuf[vpo:vpo + vpl]) if vpf else None,
        "status_report_requested": srr != 0,
        "ports": (pdst, psrc) if pdst >= 0 else None,
    })
    return d


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
    """One pdu_encode_sms call; returns the number of parts now in s.parts / s.out."""
    try:
        _OPTS.pack_into(s.opts_buf, 0, *opts, vp, scts)
    except struct.error as exc:
        raise CodecError(f"option out of range: {exc}") from None
    try:
        num, body, sc = number.encode(), text.encode(), smsc.encode() if smsc else b""
    except (UnicodeEncodeError, AttributeError):
        raise _utf8_error(number, text, smsc) from None
    rc = lib.pdu_encode_sms(s.opts, num, len(num), sc, len(sc), body, len(body), s.out,
                            _OUT_CAP, s.parts, _MAX_PARTS, s.count)
    if rc:
        raise _error(rc)
    return int(s.count[0])


def _utf8_error(number: str, text: str, smsc: str | None) -> CodecError:
    """The error for arguments that are not strings or hold lone surrogates."""
    for value, what in ((text, "text"), (number, "number"), (smsc or "", "smsc")):
        try:
            _utf8(value, what)
        except CodecError as exc:
            return exc
    return CodecError("arguments must be strings")


def _submit_parts(s: _Scratch, n: int, text: str) -> list[SubmitPart]:
    out, pbuf, unpack = s.out_buf, s.parts_buf, _PART.unpack_from
    parts = []
    for k in range(n):
        off, hlen, tlen, a, b = unpack(pbuf, k * _PART_SIZE)
        p = _new(SubmitPart)
        _fill(p, "__dict__", {"hex": out[off:off + hlen].decode(), "tpdu_len": tlen,
                              "seq": k + 1, "total": n, "text": text[a:b]})
        parts.append(p)
    return parts


def encode_submit(number: str, text: str, *, encoding: str = "auto", smsc: str | None = None,
                  request_status_report: bool = False,
                  validity: dt.timedelta | dt.datetime | None = None, flash: bool = False,
                  mr: int = 0, concat_ref: int = 0, concat16: bool = False,
                  reject_duplicates: bool = False, reply_path: bool = False,
                  pid: int = 0) -> list[SubmitPart]:
    """SMS-SUBMIT parts ready for AT+CMGS (refs and MR are taken modulo their field size).

    The hot path of sending, so _encode and _submit_parts are inlined here (about 20% of the
    call: function calls and argument tuples cost more than the C work for one part).
    """
    vpf, vp = (0, b"") if validity is None else _validity_field(validity)
    code = _ENC_CODES.get(encoding) if type(encoding) is str else None
    if code is None:
        _encoding_code(encoding)                     # raises CodecError naming the choices
    try:
        s = _POOL.pop()
    except IndexError:
        s = _Scratch()
    try:
        _pack_opts(s.opts_buf, 0, _SUBMIT, code, request_status_report, flash, mr & 0xFF,
                   concat_ref & (0xFFFF if concat16 else 0xFF), concat16, vpf, len(vp),
                   bool(smsc), pid & 0xFF, reject_duplicates, reply_path, vp, b"")
        try:
            num, body, sc = number.encode(), text.encode(), smsc.encode() if smsc else b""
        except (UnicodeEncodeError, AttributeError):
            raise _utf8_error(number, text, smsc) from None
        rc = _encode_sms(s.opts, num, len(num), sc, len(sc), body, len(body), s.out, _OUT_CAP,
                         s.parts, _MAX_PARTS, s.count)
        if rc:
            raise _error(rc)
        n = s.count[0]
        out, pbuf = s.out_buf, s.parts_buf
        parts = []
        for k in range(n):
            off, hlen, tlen, a, b = _unpack_part(pbuf, k * _PART_SIZE)
            p = _new(SubmitPart)
            _fill(p, "__dict__", {"hex": out[off:off + hlen].decode(), "tpdu_len": tlen,
                                  "seq": k + 1, "total": n, "text": text[a:b]})
            parts.append(p)
        return parts
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
                                          bool(smsc), s.out, _OUT_CAP, s.size)
        if rc:
            raise _error(rc)
        return s.out_buf[0:s.size[0]].decode("ascii")
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
        out, buf = (s.bin, s.bin_buf) if cap <= _BIN_CAP else _new_buffer("uint8_t[]", cap)
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
