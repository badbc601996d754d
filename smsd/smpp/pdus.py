"""PDUs through smpplib's command classes: frames in, command objects out, and back.

smpplib (PyPI `smpplib`) encodes and decodes every SMPP 3.4 command we serve except cancel_sm,
which it names but has no class for; `CancelSM` below declares that command's fields with
smpplib's own `Param` machinery, so the codec is still theirs. smpplib trusts its input (a
c-octet string without its NUL, a TLV running past the end, a field over its size all decode
to something), so `decode` checks what the spec bounds and turns every failure into
`PduError(status)`, the status the ESME is answered with.
"""
from __future__ import annotations

import struct
from typing import Any

from smpplib import command as smpp_command
from smpplib import command_codes, consts, exceptions
from smpplib.command import Command, Param

HEADER = 16
MAX_PDU = 64 * 1024           # no legal SMPP 3.4 PDU comes near this; bigger frames are refused
GENERIC_NACK = 0x80000000


class PduError(Exception):
    """A PDU that cannot be served; `status` is the SMPP error code to answer with."""

    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status


class CancelSM(Command):
    """cancel_sm (SMPP 3.4 section 4.9), declared with smpplib's field machinery."""

    params = {
        'service_type': Param(type=str, max=6),
        'message_id': Param(type=str, max=65),
        'source_addr_ton': Param(type=int, size=1),
        'source_addr_npi': Param(type=int, size=1),
        'source_addr': Param(type=str, max=21),
        'dest_addr_ton': Param(type=int, size=1),
        'dest_addr_npi': Param(type=int, size=1),
        'destination_addr': Param(type=str, max=21),
    }
    params_order = ('service_type', 'message_id', 'source_addr_ton', 'source_addr_npi',
                    'source_addr', 'dest_addr_ton', 'dest_addr_npi', 'destination_addr')

    def __init__(self, command: str, **kwargs: Any) -> None:
        super().__init__(command, **kwargs)
        self._set_vars(**(dict.fromkeys(self.params)))


class CancelSMResp(Command):
    params: dict[str, Param] = {}
    params_order = ()

    def __init__(self, command: str, **kwargs: Any) -> None:
        super().__init__(command, need_sequence=False, **kwargs)


_EXTRA: dict[str, type[Command]] = {"cancel_sm": CancelSM, "cancel_sm_resp": CancelSMResp}


class _Sequences:
    """smpplib asks a 'client' for sequence numbers; ours come from the peer or the session."""

    sequence = 0

    def next_sequence(self) -> int:
        return 0


_CLIENT = _Sequences()


def make(name: str, **fields: Any) -> Command:
    """A command object of `name` with `fields` (sequence included)."""
    sequence = int(fields.pop("sequence", 0))
    cls = _EXTRA.get(name)
    pdu = (cls(name, client=_CLIENT, **fields) if cls is not None
           else smpp_command.factory(name, client=_CLIENT, **fields))
    pdu.sequence = sequence       # smpplib would take it from its client, not the keyword
    return pdu


def encode(pdu: Command) -> bytes:
    return bytes(pdu.generate())


def header(frame: bytes) -> tuple[int, int, int, int]:
    """(command_length, command_id, command_status, sequence_number)."""
    length, command_id, status, sequence = struct.unpack(">LLLL", frame[:HEADER])
    return length, command_id, status, sequence


def command_name(command_id: int) -> str | None:
    try:
        return str(command_codes.get_command_name(command_id))
    except exceptions.UnknownCommandError:
        return None


# c-octet strings the spec bounds (NUL included): a longer one is an invalid field.
_BOUNDS = {"system_id": 16, "password": 9, "system_type": 13, "address_range": 41,
           "service_type": 6, "source_addr": 21, "destination_addr": 21,
           "schedule_delivery_time": 17, "validity_period": 17, "message_id": 65}
_FIELD_STATUS = {"system_id": consts.SMPP_ESME_RINVSYSID,
                 "password": consts.SMPP_ESME_RINVPASWD,
                 "system_type": consts.SMPP_ESME_RINVSYSTYP,
                 "source_addr": consts.SMPP_ESME_RINVSRCADR,
                 "destination_addr": consts.SMPP_ESME_RINVDSTADR,
                 "message_id": consts.SMPP_ESME_RINVMSGID,
                 "service_type": consts.SMPP_ESME_RINVSERTYP}


def decode(frame: bytes) -> Command:
    """The command of one whole frame (its length already checked), or PduError."""
    _, command_id, _, sequence = header(frame)
    name = command_name(command_id)
    if name is None or (name not in _EXTRA and name not in _FACTORY_NAMES):
        raise PduError(consts.SMPP_ESME_RINVCMDID, f"unknown command id 0x{command_id:08x}")
    pdu = make(name, sequence=sequence, allow_unknown_opt_params=True)
    try:
        _check_strings(pdu, frame[HEADER:])
        pdu.parse(frame)
    except PduError:
        raise
    except (struct.error, IndexError, KeyError, ValueError, TypeError, AttributeError,
            exceptions.UnknownCommandError) as exc:
        raise PduError(consts.SMPP_ESME_RINVCMDLEN if isinstance(exc, (struct.error, IndexError))
                       else consts.SMPP_ESME_RINVOPTPARSTREAM, f"{name}: {exc}") from None
    _check_bounds(pdu)
    return pdu


_FACTORY_NAMES = frozenset({"bind_transmitter", "bind_receiver", "bind_transceiver",
                            "submit_sm", "deliver_sm_resp", "query_sm", "unbind", "unbind_resp",
                            "enquire_link", "enquire_link_resp", "generic_nack",
                            "submit_sm_resp", "deliver_sm", "bind_transmitter_resp",
                            "bind_receiver_resp", "bind_transceiver_resp", "query_sm_resp",
                            "data_sm", "data_sm_resp", "alert_notification"})


def _check_strings(pdu: Command, body: bytes) -> None:
    """Walk the mandatory fields as smpplib will, refusing what it would misread: a c-octet
    string with no NUL, an octet string or integer running past the end, a TLV whose length
    leaves the body."""
    pos = 0
    for field in pdu.params_order:
        if pos == len(body) or pdu.field_is_optional(field):
            break
        param = pdu.params[field]
        if param.type is int:
            pos += param.size
        elif param.type is str:
            end = body.find(b"\0", pos)
            if end < 0:
                raise PduError(_FIELD_STATUS.get(field, consts.SMPP_ESME_RINVCMDLEN),
                               f"{field}: no terminating NUL")
            if end + 1 - pos > _BOUNDS.get(field, param.max if hasattr(param, "max") else 256):
                raise PduError(_FIELD_STATUS.get(field, consts.SMPP_ESME_RINVPARLEN),
                               f"{field}: too long")
            pos = end + 1
        else:
            size = body[pos - 1] if pos else 0        # sm_length precedes short_message
            pos += size
        if pos > len(body):
            raise PduError(consts.SMPP_ESME_RINVCMDLEN, f"{field}: past the end of the PDU")
    _check_tlvs(pdu, body[pos:])


def _check_tlvs(pdu: Command, data: bytes) -> None:
    pos = 0
    while pos < len(data):
        if pos + 4 > len(data):
            raise PduError(consts.SMPP_ESME_RINVOPTPARSTREAM, "truncated TLV header")
        tag, length = struct.unpack(">HH", data[pos:pos + 4])
        pos += 4 + length
        if pos > len(data):
            raise PduError(consts.SMPP_ESME_RINVOPTPARSTREAM, f"TLV 0x{tag:04x} past the end")
        name = _tlv_name(tag)
        if name is None or name not in pdu.params:
            continue                      # unknown or not ours here: skipped (spec 3.2.3)
        param = pdu.params[name]
        if param.type is int and length != param.size:
            raise PduError(consts.SMPP_ESME_RINVPARLEN, f"TLV {name}: length {length}")
        if param.type is str and length == 0:
            raise PduError(consts.SMPP_ESME_RINVPARLEN, f"TLV {name}: empty")


def _tlv_name(tag: int) -> str | None:
    try:
        return str(smpp_command.get_optional_name(tag))
    except exceptions.UnknownCommandError:
        return None


def _check_bounds(pdu: Command) -> None:
    for field, most in _BOUNDS.items():
        value = getattr(pdu, field, None)
        if isinstance(value, bytes) and len(value) >= most:
            raise PduError(_FIELD_STATUS.get(field, consts.SMPP_ESME_RINVPARLEN),
                           f"{field}: too long")


def text(value: Any) -> str:
    """A c-octet string field as text (smpplib leaves them bytes when decoding)."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return str(value)


def number(value: Any) -> int:
    return value if isinstance(value, int) else 0
