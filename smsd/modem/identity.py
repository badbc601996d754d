"""Writing the module's IMEI and the SIM's own number, each read back from the modem afterwards.

The IMEI is written with the profile's vendor command (quirks: SIMCom AT+SIMEI=, Quectel
AT+EGMR=1,7,"..."); a module without one refuses. The own number goes into the SIM's MSISDN
phonebook (TS 27.007 AT+CPBS="ON", AT+CPBW), which AT+CNUM reads; the storage is put back to
"SM" afterwards. Either write counts as done only when the read-back shows the new value.

A job carries a `Future` the caller may wait on; its result is a `WriteOutcome`.
"""
from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field

from smsd.at import Command, Response
from smsd.at import responses as r
from smsd.model import ModemJob

from .channel import Channel
from .quirks import Profile


@dataclass(frozen=True)
class WriteOutcome:
    ok: bool
    value: str              # what the modem reads back now
    error: str = ""


@dataclass(frozen=True)
class SetImei(ModemJob):
    imei: str
    reply: Future[WriteOutcome] = field(default_factory=Future, compare=False)


@dataclass(frozen=True)
class SetNumber(ModemJob):
    number: str
    reply: Future[WriteOutcome] = field(default_factory=Future, compare=False)


def read_imei(channel: Channel, timeout: float) -> str:
    answer = channel.run(Command("AT+CGSN", timeout))
    return r.parse_imei(answer.lines) if isinstance(answer, Response) else ""


def read_number(channel: Channel, timeout: float) -> str:
    answer = channel.run(Command("AT+CNUM", timeout))
    return r.parse_cnum(answer.lines) if isinstance(answer, Response) else ""


def write_imei(channel: Channel, profile: Profile, imei: str, timeout: float) -> WriteOutcome:
    if not imei.isdigit() or len(imei) != 15:       # never put a caller's text on the wire
        return WriteOutcome(False, "", "an IMEI is 15 digits")
    if not profile.imei_write:
        return WriteOutcome(False, read_imei(channel, timeout),
                            f"the {profile.name} modem profile has no IMEI write command")
    answer = channel.run(Command(profile.imei_write.format(imei=imei), timeout))
    now = read_imei(channel, timeout)
    if not isinstance(answer, Response):
        return WriteOutcome(False, now, f"the modem refused the IMEI ({answer.text})")
    return WriteOutcome(now == imei, now, "" if now == imei else "read back " + (now or "nothing"))


def write_number(channel: Channel, number: str, timeout: float) -> WriteOutcome:
    digits = number[1:] if number.startswith("+") else number
    if not digits.isdigit() or not 1 <= len(digits) <= 20:
        return WriteOutcome(False, "", "a number is up to 20 digits, optionally after '+'")
    if not channel.ok('AT+CPBS="ON"', timeout):
        return WriteOutcome(False, read_number(channel, timeout),
                            "the modem has no own-number (ON) phonebook")
    toa = 145 if number.startswith("+") else 129
    answer = channel.run(Command(f'AT+CPBW=1,"{digits}",{toa}', timeout))
    channel.ok('AT+CPBS="SM"', timeout)
    now = read_number(channel, timeout)
    if not isinstance(answer, Response):
        return WriteOutcome(False, now, f"the modem refused the number ({answer.text})")
    same = now.lstrip("+") == digits
    return WriteOutcome(same, now, "" if same else "read back " + (now or "nothing"))


IdentityJob = SetImei | SetNumber


def run(job: IdentityJob, channel: Channel, profile: Profile, timeout: float,
        ready: bool) -> tuple[WriteOutcome, dict[str, str]]:
    """Do the write; the outcome and the PortInfo fields it changes (read back)."""
    if not ready:
        return WriteOutcome(False, "", "the port is not ready (off, starting or recovering)"), {}
    if isinstance(job, SetImei):
        outcome = write_imei(channel, profile, job.imei, timeout)
        return outcome, ({"imei": outcome.value} if outcome.value else {})
    outcome = write_number(channel, job.number, timeout)
    return outcome, {"number": outcome.value}
