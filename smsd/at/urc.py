"""Which lines are unsolicited, and which belong to the command in flight.

The rule (documented here because the modem gives no framing for it):

1. A bare line (no `+NAME:` prefix) is a URC only when it is one of the fixed words in
   `BARE_URCS` (`RING`, `RDY`, `POWERED DOWN`, ...). Any other bare line belongs to the pending
   command (ATI, AT+CGSN, PDU lines of +CMGR/+CMGL); with no command pending it is discarded.
2. A `+NAME:` line belongs to the pending command only when that command *expects* the prefix:
   the name in its own text (`AT+CSQ` -> `+CSQ`, `AT+CREG?` -> `+CREG`) or one listed in
   `Command.expect` (`AT+CICCID` -> `+ICCID`). Everything else is a URC.
3. Prefixes in `ALWAYS_URC` (+CMTI, +CMT, +CDS, +CDSI, +CUSD, ...) are URCs even while a command
   with that name is pending (AT+CUSD=1,... may print its +CUSD before or after OK), unless the
   pending command is the read query of exactly that name (`AT+CUSD?`).
4. Call-progress words (NO CARRIER, BUSY, ...) end a pending ATD/ATA/ATO; at any other time
   they are URCs (a call ended while the SMS machinery was busy).
5. Registration lines (+CREG/+CGREG/+CEREG) are ambiguous by prefix: the URC is
   `<stat>[,"<lac>","<ci>"[,<AcT>]]`, the answer to the query is `<n>,<stat>[,...]`. So the
   line answers a pending query of that name only when its second field is a bare number; a
   single field or a quoted second field makes it a URC.
"""
from __future__ import annotations

from .events import Command
from .fields import split_prefix

BARE_URCS = frozenset({
    "RING", "RDY", "POWERED DOWN", "NORMAL POWER DOWN", "SMS DONE", "PB DONE", "SMS Ready",
    "Call Ready", "START",
})

ALWAYS_URC = frozenset({"+CMTI", "+CMT", "+CDS", "+CDSI", "+CUSD", "+CBM", "+CBMI", "+QIND",
                        "+QUSIM", "+CRING", "+CLIP", "+CMGRMI"})

REGISTRATION = frozenset({"+CREG", "+CGREG", "+CEREG"})

# URCs followed by one more line that belongs to them (the PDU, in PDU mode).
WITH_PDU_LINE = frozenset({"+CMT", "+CDS", "+CBM"})

# Call-progress result codes: final results of a pending dial/answer, URCs otherwise.
CALL_RESULTS = frozenset({"NO CARRIER", "BUSY", "NO ANSWER", "NO DIALTONE"})


def command_prefixes(command: Command) -> frozenset[str]:
    """Prefixes whose information lines this command claims."""
    own = command_name(command.text)
    return frozenset((own, *command.expect)) if own else frozenset(command.expect)


def command_name(text: str) -> str:
    """`AT+CREG?` -> `+CREG`; `ATI` -> ""; `AT^SYSINFO` -> `^SYSINFO`."""
    body = text[2:] if text[:2].upper() == "AT" else text
    if body[:1] not in ("+", "^"):
        return ""
    end = 1
    while end < len(body) and (body[end].isalnum() or body[end] == "_"):
        end += 1
    return body[:end].upper()


def is_query_of(command: Command, name: str) -> bool:
    return command.text.upper() == f"AT{name}?"


def claimed(command: Command | None, line: str, fields: tuple[str, ...]) -> bool:
    """True when `line` is an information line of `command` (see the module rule)."""
    if command is None or line in BARE_URCS or line in CALL_RESULTS:
        return False
    return _prefix_claim(command, line, fields)


def _prefix_claim(command: Command, line: str, fields: tuple[str, ...]) -> bool:
    name, _ = split_prefix(line)
    if not name:
        return True
    if name not in command_prefixes(command):
        return False
    if name in ALWAYS_URC:
        return is_query_of(command, name)
    if name in REGISTRATION:
        return len(fields) >= 2 and fields[1].isdigit()
    return True
