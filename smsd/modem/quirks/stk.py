"""SIM Toolkit commands per modem family: data only (smsd/modem/stk.py runs them).

SIMCom (SIM7500/SIM7600, SIM7000 manuals, "SAT application commands"): `+STIN: <cmd_id>`
announces a proactive command, `AT+STIN?` names the pending one, `AT+STGI=<cmd_id>` reads it and
`AT+STGR=<cmd_id>[,<data>]` answers, with the ids 21 display text, 22 get inkey, 23 get input,
24 select item, 25 set up menu, 83 session end by user, 84 go backward. `+STIN: 25` comes again
when a session is over. Texts are UCS2 hex preceded by their octet count.

Quectel (EC2x `+QSTK` family): `+QSTKURC: <cmd>` announces, `AT+QSTKGI=<cmd>` reads,
`AT+QSTKRSP=<cmd>,<result>[,<data>]` answers, with TS 102.223 command types (33 display text,
34 get inkey, 35 get input, 36 select item, 37 set up menu) and general results (0 performed,
16 terminated by the user, 17 backward move); 253 selects from the main menu and announces that
the main menu is back. Qualifiers are TS 102.223 bits. Texts are quoted strings.

`fields` names the fields after the command id of each information line, so one parser reads
both layouts; `question` says how the kind of answer is encoded ("format": SIMCom's
<rsp_format> and <show>; "qualifier": TS 102.223 command-qualifier bits).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

MENU, SELECT, DISPLAY, INKEY, INPUT = "menu", "select", "display", "inkey", "input"


@dataclass(frozen=True)
class StkSyntax:
    urc: str                               # the indication URC
    query: str                             # names the pending proactive command ("" = none)
    get: str                               # reads one ({cmd})
    codes: Mapping[str, int]               # frame kind -> proactive command id
    main_again: int                        # indication: the session is over
    select_main: str                       # {item}: a main-menu choice
    select: str                            # {cmd}, {item}: a sub-menu choice
    answer: str                            # {cmd}, {data}: a key or a text
    seen: str                              # {cmd}: a display text was read
    back: str                              # {cmd}: go backward
    end: str                               # {cmd}: end the session
    yes: str
    no: str
    ucs2: bool                             # texts as UCS2 hex
    question: str                          # "format" | "qualifier"
    fields: Mapping[str, tuple[str, ...]]  # kind (and "item") -> field names after the id


SIMCOM = StkSyntax(
    urc="+STIN", query="AT+STIN?", get="AT+STGI={cmd}",
    codes={DISPLAY: 21, INKEY: 22, INPUT: 23, SELECT: 24, MENU: 25}, main_again=25,
    select_main="AT+STGR=25,{item}", select="AT+STGR={cmd},{item}",
    answer='AT+STGR={cmd},"{data}"', seen="AT+STGR={cmd}", back="AT+STGR=84",
    end="AT+STGR=83", yes="Y", no="N", ucs2=True, question="format",
    fields={MENU: ("help", "softkey", "len", "title", "count"),
            SELECT: ("help", "softkey", "present", "len", "title", "count"),
            "item": ("id", "len", "text"),
            DISPLAY: ("prio", "clear", "len", "text"),
            INKEY: ("format", "help", "len", "text"),
            INPUT: ("format", "max", "min", "help", "echo", "len", "text")})

QUECTEL = StkSyntax(
    urc="+QSTKURC", query="", get="AT+QSTKGI={cmd}",
    codes={DISPLAY: 33, INKEY: 34, INPUT: 35, SELECT: 36, MENU: 37}, main_again=253,
    select_main="AT+QSTKRSP=253,0,{item}", select="AT+QSTKRSP={cmd},0,{item}",
    answer='AT+QSTKRSP={cmd},0,"{data}"', seen="AT+QSTKRSP={cmd},0",
    back="AT+QSTKRSP={cmd},17", end="AT+QSTKRSP={cmd},16", yes="Y", no="N", ucs2=False,
    question="qualifier",
    fields={MENU: ("details", "count", "title"), SELECT: ("details", "count", "title"),
            "item": ("id", "text", "next"),
            DISPLAY: ("details", "text"),
            INKEY: ("details", "text"),
            INPUT: ("details", "text", "min", "max")})

# By quirks profile name; a modem without an entry (the generic profile) has no STK smsd knows.
STK_SYNTAX: dict[str, StkSyntax] = {"simcom": SIMCOM, "quectel": QUECTEL}
URC_NAMES = frozenset(s.urc for s in STK_SYNTAX.values())
