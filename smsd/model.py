"""Plain data shared between layers: frozen dataclasses, no behaviour."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Registration states as the JSON gateway API names them (get_port_info "reg"). The AT layer
# parses them from the modem's answers and, being the lower layer, owns the names.
from smsd.at.responses import (REG_NO_SIM, REG_OK, REG_PIN_REQUIRE,  # noqa: F401 (re-exported)
                               REG_PUK_REQUIRE, REG_SEARCHING, REG_UNKNOWN, REG_UNREGISTER)

REG_POWER_OFF = "POWER_OFF"

# Worker life-cycle states (internal, shown in logs and status).
STATE_INIT = "init"
STATE_READY = "ready"
STATE_RECOVERING = "recovering"
STATE_POWER_OFF = "power_off"
STATE_QUARANTINED = "quarantined"


@dataclass(frozen=True)
class PortInfo:
    """Snapshot of one modem port, as a worker last saw it."""

    port: int
    state: str = STATE_INIT
    type: str = "UNKNOWN"          # GSM, CDMA, WCDMA, LTE or UNKNOWN
    model: str = ""
    imei: str = ""
    imsi: str = ""
    iccid: str = ""
    number: str = ""
    smsc: str = ""
    operator: str = ""
    reg: str = REG_UNKNOWN
    slot: int = 255                # 255 when the port has a single SIM slot
    slots: int = 1
    callstate: str = "Idle"
    signal: int = 0                # 0..31 (+CSQ rssi; 99 mapped to 0)
    gprs: str = "detached"
    recovery_step: str = ""        # last recovery action taken, "" when healthy
    recovery_reason: str = ""      # why the last recovery began (kept after it ended)
    recovered_by: str = ""         # the rung that ended it, or "quarantine"
    recoveries: int = 0            # recoveries begun since the daemon started
    denied: bool = False           # the network refused registration (+CREG stat 3)
    busy: bool = False

    @property
    def can_send(self) -> bool:
        return self.state == STATE_READY and self.reg == REG_OK


@dataclass(frozen=True)
class SendResult:
    """Outcome of one +CMGS attempt, reported by a worker."""

    part_id: int
    ok: bool
    mr: int | None = None          # TP-MR from +CMGS: <mr>
    cms: int | None = None         # +CMS ERROR code when not ok
    permanent: bool = False        # True: do not retry on another port
    error: str = ""
    on_air: bool = True            # False when the PDU never reached the modem (safe to resend)


@dataclass(frozen=True)
class UssdReply:
    port: int
    text: str
    status: int                    # +CUSD <m>: 0 no further action, 1 further action, 2 terminated...


@dataclass(frozen=True)
class InboundPdu:
    port: int
    slot: int
    pdu_hex: str                   # with SMSC field, as +CMGR / +CMT / +CDS give it
    kind: str = "deliver"          # deliver | status_report
    imsi: str = ""


@dataclass(frozen=True)
class ModemJob:
    """Base of jobs handed to a worker; see smsd.modem.jobs for the concrete ones."""


@dataclass(frozen=True)
class Limits:
    max_numbers: int = 128
    max_expanded: int = 10_000             # recipients of one request that expanded lists (below)
    max_text_bytes: int = 1500
    query_max_numbers: int = 32
    number_max_len: int = 24
    ussd_max_bytes: int = 60
    extra: dict[str, int] = field(default_factory=dict)


# --- service-level request and result types -------------------------------------------------------
@dataclass(frozen=True)
class Recipient:
    number: str
    text_param: tuple[str, ...] = ()
    user_id: int | None = None


@dataclass(frozen=True)
class SendRequest:
    text: str
    recipients: tuple[Recipient, ...]
    ports: tuple[int, ...] | None = None
    encoding: str = "auto"                 # auto | gsm7 | ucs2
    request_status_report: bool = True
    dry_run: bool = False                  # every check (credits too), nothing written
    max_parts: int | None = None           # refuse when a message needs more parts
    sender: str | None = None              # as the dialect validated it; kept for logs
    priority: int = 0                      # higher goes first
    dialect: str = "json"
    flash: bool = False                    # class 0: shown at once, not stored (issue 5)
    data: bytes | None = None              # 8-bit user data; `text` is then only a label
    udh: bytes = b""                       # extra UDH IEs (no UDHL), e.g. WAP Push ports
    usercontext: str = ""                  # IntelliSoftware reply tracking, kept on the task
    # The recipients include expanded distribution lists (groups, subscription lists): the
    # client named few, the lists gave many, and the whole is still one submission with one id.
    # Limits.max_expanded caps them instead of max_numbers.
    expanded: bool = False


@dataclass(frozen=True)
class SendAccepted:
    task_id: int
    sms_in_queue: int
    message_ids: tuple[int, ...] = ()
    # The alphabet the task goes out in: gsm7 | ucs2 | 8bit, or auto (each text its own: GSM-7
    # when it fits, else UCS2). A requested gsm7 the text cannot take reads ucs2 here.
    encoding: str = "auto"


@dataclass(frozen=True)
class SmsResult:
    message_id: int
    task_id: int
    port: int | None
    number: str
    user_id: int | None
    time: str                              # "YYYY-MM-DD HH:MM:SS" (local time of the box)
    status: str                            # FAILED | SENDING | SENT_OK | DELIVERED | UNKNOWN
    count: int
    succ_count: int
    ref_id: int | None
    imsi: str
    # The alphabet its parts went out in, whatever was asked: gsm7 | ucs2 | 8bit; "" while it
    # waits to be encoded (or never was). Set when its parts are built.
    encoding: str = ""


@dataclass(frozen=True)
class MessageState(SmsResult):
    """One message as every dialect's status query shows it (SmsResult plus why and whose)."""

    dr_status: int | None = None           # last TP-ST heard for any of its parts
    reason: str = ""                       # why it failed, "" otherwise
    user: str = ""
    text: str = ""


@dataclass(frozen=True)
class DeliverStatus:
    port: int
    number: str
    time: str
    ref_id: int
    status_code: int
    imsi: str


@dataclass(frozen=True)
class InboundSms:
    incoming_sms_id: int
    port: int
    number: str
    smsc: str
    timestamp: str
    text: str
    slot: int = 255


@dataclass(frozen=True)
class InboxPage:
    sms: tuple[InboundSms, ...]
    read: int
    unread: int


@dataclass(frozen=True)
class InboxFilter:
    """Which received messages a query_incoming wants (None = any), on the shown timestamp."""

    sender: str | None = None              # the same subscriber (national or international form)
    day_from: str | None = None            # "YYYY-MM-DD", inclusive
    day_to: str | None = None
    time_from: str | None = None           # "HH:MM:SS" time of day on any day, inclusive
    time_to: str | None = None
    text: str | None = None                # the whole text, exactly


# --- users, address book, routing (issue 4) -------------------------------------------------------
# "ports": port control (power, reset, slot, SIM lock), Ozeki connection management, USSD on any
# port and the simulator's endpoints (docs/security.md). Not granted unless asked for.
# "smpp": binds to the SMPP server (docs/smpp.md); not granted unless asked for either, since a
# user who has it is queued every received SMS of their ports until a receiver bind takes it.
# "metrics": reading GET /metrics from another host (docs/monitoring.md); not granted unless
# asked for (it shows every port's state and the traffic of all users).
PERMISSIONS = ("web", "api:json", "api:isms", "api:gateway_php", "api:intelli", "api:ozeki",
               "ports", "smpp", "metrics", "email")
DEFAULT_PERMISSIONS = tuple(p for p in PERMISSIONS
                            if p not in ("ports", "smpp", "metrics", "email"))


@dataclass(frozen=True)
class UserInfo:
    name: str
    admin: bool
    perms: frozenset[str]                  # what was granted; an admin has all regardless
    credits: int | None                    # None: unlimited
    disabled: bool = False                 # refused everywhere until enabled again


@dataclass(frozen=True)
class Contact:
    name: str
    number: str


@dataclass(frozen=True)
class Group:
    name: str
    members: tuple[str, ...]               # contact names


@dataclass(frozen=True)
class Route:
    """Forward received SMS matching the filters to `url` in `protocol` (push worker)."""

    id: int
    url: str
    protocol: str = "isms"
    port: int | None = None                # only SMS received on this port
    sender_prefix: str = ""                # only senders starting with this
    text_prefix: str = ""                  # only texts starting with this


# --- store-level types (additive) -----------------------------------------------------------------
@dataclass(frozen=True)
class EventRow:
    """One row of the events table; `payload` is the decoded JSON object (see INTERFACES.md)."""

    id: int
    kind: str                              # sms | sms_result | sms_deliver_status | ussd | register
    payload: dict[str, Any]
    created: float                         # epoch seconds
