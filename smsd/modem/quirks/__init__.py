"""Modem profiles: vendor differences as data, chosen by matching ATI output.

The commands are exactly those of the profile table in docs/INTERFACES.md (the simulator speaks
them). Add a vendor by adding a module with one `PROFILE` and listing it in `PROFILES`.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    name: str
    match: tuple[str, ...] = ()              # case-insensitive substrings of the ATI output
    iccid_command: str = "AT+CCID"
    iccid_prefix: str = "+CCID"
    slot_set: str = ""                       # format string with {slot}; "" = no slot switch
    slot_query: str = ""
    slot_prefix: str = ""
    power_off: str = "AT+CFUN=0"
    power_off_urc: str = ""                  # printed after power-off's OK, if any
    ready_urcs: tuple[str, ...] = ("RDY",)   # after a reset; the last one means "ready"
    network_query: str = ""                  # "" = use the AcT of +COPS?
    network_prefix: str = ""
    # +CMTI for SMS, +CDSI for status reports: both stored on the SIM until deleted after the
    # commit, so what arrives while the daemon is down waits there (docs/durability.md).
    cnmi: str = "AT+CNMI=2,1,0,2,0"
    ack_direct: bool = False                 # AT+CNMA after +CMT/+CDS (needed with AT+CSMS=1)
    ussd_mode: str = "text"                  # text: AT+CSCS="GSM" and plain strings; packed: hex
    ati_expect: tuple[str, ...] = ("+GCAP",)
    imei_write: str = ""                     # format string with {imei}; "" = cannot write
    hangup: str = "ATH"                      # ends (or rejects) a voice call

    @property
    def ready_marker(self) -> str:
        return self.ready_urcs[-1] if self.ready_urcs else ""


def choose_profile(ati_lines: tuple[str, ...]) -> Profile:
    from . import generic, quectel, simcom
    text = "\n".join(ati_lines).lower()
    for profile in (quectel.PROFILE, simcom.PROFILE):
        if any(word.lower() in text for word in profile.match):
            return profile
    return generic.PROFILE
