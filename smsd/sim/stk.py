"""The simulated SIMs' SIM Toolkit application, spoken the way each modem family speaks STK.

Theory of operation. Every SIM card carries one small STK application (`APPS`, one per modem
profile so both dialects are exercised with different menus): a main menu (SET UP MENU), a
sub-menu (SELECT ITEM), a yes/no question (GET INKEY, yes/no), digit and text inputs (GET INPUT,
with and without echo), one-key questions (GET INKEY, a digit or a character) and display texts
(DISPLAY TEXT). The application is a stack of frames: choosing an item or answering pushes the
next frame, "backward" pops one, "end session" (or acknowledging the last display text) empties
it back to the main menu. After each answer the module announces the new proactive command as a
URC, and the host fetches it with the family's get-information command:

- SIMCom (SIM7500/SIM7600 manual, "SAT application commands"): `+STIN: <cmd_id>` URCs and the
  `AT+STIN?` query, `AT+STGI=<cmd_id>` to read, `AT+STGR=<cmd_id>[,<data>]` to answer, with the
  manual's proactive-command ids 21 display text, 22 get inkey, 23 get input, 24 select item,
  25 set up menu, and the answers 83 (session end by user) and 84 (go backward). The module
  announces `+STIN: 25` again when a session is over (the main menu is back). Texts are UCS2,
  written as hex, with their length in octets.
- Quectel (EC2x `+QSTK` family): `+QSTKURC: <cmd>` URCs, `AT+QSTKGI=<cmd>` to read,
  `AT+QSTKRSP=<cmd>,<result>[,<data>]` to answer, with TS 102.223 command type numbers
  (33 display text, 34 get inkey, 35 get input, 36 select item, 37 set up menu), result 0
  (performed), 16 (session terminated by the user) and 17 (backward move), and 253 for the
  main menu's own selection (`AT+QSTKRSP=253,0,<item>`) and the "back at the main menu" URC.
  Command qualifiers are the TS 102.223 bits (GET INKEY: 0x01 alphabet, 0x04 yes/no;
  GET INPUT: 0x01 alphabet, 0x04 no echo). Texts are plain quoted strings.

Which family a module speaks is its profile's name; the syntax table below is the only place
that knows it (vendor differences as data). The state lives with the SIM card (an application
runs in the card), and starts over when the module is power-cycled, as a real card does.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from smsd.sim.atcmd import OP_READ, OP_SET, OP_TEST, AtCmd, Reply, cme, error, ok, unquote
from smsd.sim.handler import Handler, Module
from smsd.sim.network import SimCard
from smsd.sim.profiles import Profile

MENU, SELECT, DISPLAY, INKEY, INPUT = "menu", "select", "display", "inkey", "input"


@dataclass(frozen=True)
class Item:
    id: int
    text: str
    goes_to: str                     # the frame this item opens


@dataclass(frozen=True)
class Frame:
    kind: str                        # MENU, SELECT, DISPLAY, INKEY or INPUT
    text: str                        # title of a menu, prompt of a question, the displayed text
    items: tuple[Item, ...] = ()
    accept: str = "digits"           # INKEY: yesno | digit | char; INPUT: digits | text
    echo: bool = True
    min_len: int = 1
    max_len: int = 1
    then: str = ""                   # next frame after an answer ("yes" path for a yes/no)
    or_else: str = ""                # the "no" path of a yes/no


def _app(title: str, balance: str) -> dict[str, Frame]:
    """One application: main menu -> sub-menus -> inputs -> a display text -> end."""
    return {
        "main": Frame(MENU, title, (Item(1, "Balance", "balance"), Item(2, "Top up", "topup"),
                                    Item(3, "Settings", "settings"))),
        "balance": Frame(DISPLAY, balance),
        "topup": Frame(SELECT, "Top up", (Item(1, "Voucher", "voucher"),
                                          Item(2, "Help", "help"))),
        "help": Frame(DISPLAY, "Scratch the card and enter its code."),
        "voucher": Frame(INPUT, "Enter the voucher code", accept="digits", min_len=4,
                         max_len=16, then="confirm"),
        "confirm": Frame(INKEY, "Top up with voucher {answer}?", accept="yesno",
                         then="accepted", or_else="cancelled"),
        "accepted": Frame(DISPLAY, "Voucher {voucher} accepted."),
        "cancelled": Frame(DISPLAY, "Top-up cancelled."),
        "settings": Frame(SELECT, "Settings", (Item(1, "PIN", "pin"), Item(2, "Name", "name"),
                                               Item(3, "Password", "password"),
                                               Item(4, "Language", "language"),
                                               Item(5, "Initial", "initial"))),
        "pin": Frame(INPUT, "New PIN", accept="digits", echo=False, min_len=4, max_len=8,
                     then="saved"),
        "name": Frame(INPUT, "Your name", accept="text", min_len=1, max_len=20, then="saved"),
        "password": Frame(INPUT, "Password", accept="text", echo=False, min_len=4, max_len=12,
                          then="saved"),
        "language": Frame(INKEY, "Language: 1 English, 2 Deutsch", accept="digit", then="saved"),
        "initial": Frame(INKEY, "Your initial", accept="char", then="saved"),
        "saved": Frame(DISPLAY, "Saved: {answer}"),
    }


# The application each profile's SIMs carry: the SIMCom one has the vendor document's title
# (UCS2 on the wire), the Quectel one a plain ASCII title.
APPS: dict[str, dict[str, Frame]] = {
    "simcom": _app("神州行天地", "Balance: 12.34 CNY"),
    "quectel": _app("SIM Services", "Your balance is 12.34 GBP."),
}


@dataclass(frozen=True)
class Syntax:
    """One family's STK commands (the module docstring says where each comes from)."""

    urc: str                         # the indication URC's name
    query: str                       # read command naming the pending proactive command ("": none)
    get: str                         # get-information command
    info: str                        # its information-line prefix
    respond: str                     # the answer command
    codes: dict[str, int]            # frame kind -> proactive command id
    main_select: int                 # id the main menu's selection is answered with
    main_again: int                  # indication that the session ended (main menu back)
    ucs2: bool                       # texts as UCS2 hex with an octet count
    back: str                        # how "go backward" is said: an id, or a result code
    end: str                         # how "end session" is said


SIMCOM = Syntax(urc="+STIN", query="+STIN", get="+STGI", info="+STGI", respond="+STGR",
                codes={DISPLAY: 21, INKEY: 22, INPUT: 23, SELECT: 24, MENU: 25},
                main_select=25, main_again=25, ucs2=True, back="id:84", end="id:83")
QUECTEL = Syntax(urc="+QSTKURC", query="", get="+QSTKGI", info="+QSTKGI", respond="+QSTKRSP",
                 codes={DISPLAY: 33, INKEY: 34, INPUT: 35, SELECT: 36, MENU: 37},
                 main_select=253, main_again=253, ucs2=False, back="result:17",
                 end="result:16")
SYNTAX: dict[str, Syntax] = {"simcom": SIMCOM, "quectel": QUECTEL}


@dataclass
class _Session:
    card: SimCard
    epoch: int
    stack: list[str] = field(default_factory=lambda: ["main"])
    answers: dict[str, str] = field(default_factory=dict)
    last: str = ""

    @property
    def top(self) -> str:
        return self.stack[-1]


_SESSIONS: dict[int, _Session] = {}


def _session(m: Module) -> _Session:
    """The card's application state; a power cycle (a new epoch) starts it over."""
    card, epoch = m.card, int(getattr(m, "epoch", 0))
    state = _SESSIONS.get(id(card))
    if state is None or state.card is not card or state.epoch != epoch:
        state = _Session(card, epoch)
        _SESSIONS[id(card)] = state
    return state


def _frame(m: Module, name: str) -> Frame:
    return APPS[m.profile.name][name]


def _text(state: _Session, frame: Frame) -> str:
    return frame.text.format(answer=state.last, voucher=state.answers.get("voucher", ""))


# --- encoding on the wire ---------------------------------------------------------------------------
def _wire(syntax: Syntax, text: str) -> str:
    """A text field: SIMCom's UCS2 hex with its octet count, Quectel's quoted string."""
    if syntax.ucs2:
        data = text.encode("utf-16-be").hex().upper()
        return f'{len(data) // 2},"{data}"'
    return f'"{text}"'


def _info_lines(m: Module, state: _Session, frame: Frame) -> tuple[str, ...]:
    syntax = SYNTAX[m.profile.name]
    code, p = syntax.codes[frame.kind], syntax.info
    text = _wire(syntax, _text(state, frame))
    if frame.kind in (MENU, SELECT):
        return _menu_lines(syntax, code, text, frame)
    if frame.kind == DISPLAY:     # +STGI: 21,<prio>,<clear_mode>,<len>,"<text>"
        # or +QSTKGI: 33,<details>,"<text>" (0x80: wait for the user to clear it)
        return (f"{p}: {code},0,0,{text}" if syntax.ucs2 else f"{p}: {code},128,{text}",)
    if syntax.ucs2:
        return (_simcom_question(code, text, frame),)
    return (_ts102223_question(code, text, frame),)


def _menu_lines(syntax: Syntax, code: int, text: str, frame: Frame) -> tuple[str, ...]:
    p, n = syntax.info, len(frame.items)
    if syntax.ucs2:         # +STGI: 25,<help>,<softkey>,<len>,"<title>",<n> / 24 adds <present>
        head = f"{p}: {code},0,0,{'0,' if frame.kind == SELECT else ''}{text},{n}"
    else:                   # +QSTKGI: 37,<details>,<n>,"<title>"
        head = f"{p}: {code},0,{n},{text}"
    lines = [head]
    for item in frame.items:
        if syntax.ucs2:
            lines.append(f"{p}: {code},{item.id},{_wire(syntax, item.text)}")
        else:
            lines.append(f"{p}: {code},{item.id},{_wire(syntax, item.text)},0")
    return tuple(lines)


SIMCOM_FORMAT = {"char": 0, "text": 0, "yesno": 1, "digit": 2, "digits": 2}


def _simcom_question(code: int, text: str, frame: Frame) -> str:
    fmt = SIMCOM_FORMAT[frame.accept]
    if frame.kind == INKEY:       # +STGI: 22,<rsp_format>,<help>,<len>,"<text>"
        return f"+STGI: {code},{fmt},0,{text}"
    # +STGI: 23,<rsp_format>,<max_len>,<min_len>,<help>,<show>,<len>,"<text>"
    return f"+STGI: {code},{fmt},{frame.max_len},{frame.min_len},0,{int(frame.echo)},{text}"


def _ts102223_question(code: int, text: str, frame: Frame) -> str:
    details = 0x04 if frame.accept == "yesno" else 0
    if frame.accept in ("char", "text"):
        details |= 0x01
    if frame.kind == INKEY:       # +QSTKGI: 34,<details>,"<text>"
        return f"+QSTKGI: {code},{details},{text}"
    if not frame.echo:
        details |= 0x04
    # +QSTKGI: 35,<details>,"<text>",<min>,<max>
    return f"+QSTKGI: {code},{details},{text},{frame.min_len},{frame.max_len}"


# --- moving through the application ---------------------------------------------------------------
def _announce(m: Module, state: _Session) -> Callable[[], None]:
    """The URC a module prints after the answer's OK: the next command, or the main menu back."""
    syntax = SYNTAX[m.profile.name]
    frame = _frame(m, state.top)
    code = syntax.main_again if state.top == "main" else syntax.codes[frame.kind]
    return lambda: m.urc(f"{syntax.urc}: {code}")


def _go(m: Module, state: _Session, target: str) -> Reply:
    state.stack.append(target)
    return ok(then=_announce(m, state))


def _end(m: Module, state: _Session) -> Reply:
    state.stack[:] = ["main"]
    return ok(then=_announce(m, state))


def _back(m: Module, state: _Session) -> Reply:
    if len(state.stack) > 1:
        state.stack.pop()
    return ok(then=_announce(m, state))


def _choose(m: Module, state: _Session, frame: Frame, raw: str) -> Reply:
    if not raw.isdigit():
        return cme(50)
    chosen = [i for i in frame.items if i.id == int(raw)]
    if not chosen:
        return cme(50)
    return _go(m, state, chosen[0].goes_to)


def _accepts(frame: Frame, answer: str) -> bool:
    if frame.kind == INKEY:
        if frame.accept == "yesno":
            return answer.upper() in ("Y", "N")
        if frame.accept == "digit":
            return len(answer) == 1 and answer in "0123456789*#+"
        return len(answer) == 1
    if not frame.min_len <= len(answer) <= frame.max_len:
        return False
    return frame.accept == "text" or all(c in "0123456789*#+" for c in answer)


def _answer(m: Module, state: _Session, frame: Frame, answer: str) -> Reply:
    if frame.kind == DISPLAY:
        return _end(m, state)
    if not _accepts(frame, answer):
        return cme(50)
    if frame.accept == "yesno":
        return _go(m, state, frame.then if answer.upper() == "Y" else frame.or_else)
    state.answers[state.top] = state.last = answer
    return _go(m, state, frame.then)


# --- handlers ------------------------------------------------------------------------------------
def _gate(m: Module) -> Reply | None:
    state = m.sim_state()
    return {"ABSENT": cme(10), "SIM PIN": cme(11), "SIM PUK": cme(12)}.get(state)


def _get(m: Module, cmd: AtCmd) -> Reply:
    """The get-information command: the main menu any time, another frame while it is current."""
    gate = _gate(m)
    if gate is not None:
        return gate
    syntax, state = SYNTAX[m.profile.name], _session(m)
    code = int(unquote(cmd.args[0])) if cmd.args[0].isdigit() else -1
    if code == syntax.codes[MENU]:
        return ok(*_info_lines(m, state, _frame(m, "main")))
    frame = _frame(m, state.top)
    if state.top == "main" or syntax.codes[frame.kind] != code:
        return cme(3)
    return ok(*_info_lines(m, state, frame))


def _simcom_respond(m: Module, cmd: AtCmd) -> Reply:
    """AT+STGR=<cmd_id>[,<data>]: 25 main-menu item, 24 item, 22/23 an answer, 21 the text was
    seen, 83 end the session, 84 go backward."""
    gate = _gate(m)
    if gate is not None:
        return gate
    state = _session(m)
    code = cmd.args[0]
    data = unquote(cmd.args[1]) if len(cmd.args) > 1 else ""
    if code == "83":
        return _end(m, state)
    if code == "84":
        return _back(m, state)
    if code == "25":
        state.stack[:] = ["main"]
        return _choose(m, state, _frame(m, "main"), data)
    return _respond_current(m, state, SIMCOM, code, data)


def _quectel_respond(m: Module, cmd: AtCmd) -> Reply:
    """AT+QSTKRSP=<cmd>,<result>[,<data>]: 253 main-menu item; result 16 ends, 17 goes back."""
    gate = _gate(m)
    if gate is not None:
        return gate
    state = _session(m)
    code, result = cmd.args[0], cmd.args[1] if len(cmd.args) > 1 else "0"
    data = unquote(cmd.args[2]) if len(cmd.args) > 2 else ""
    if code == str(QUECTEL.main_select):
        state.stack[:] = ["main"]
        return _choose(m, state, _frame(m, "main"), data)
    if result == "16":
        return _end(m, state)
    if result == "17":
        return _back(m, state)
    if result != "0":
        return cme(50)
    return _respond_current(m, state, QUECTEL, code, data)


def _respond_current(m: Module, state: _Session, syntax: Syntax, code: str,
                     data: str) -> Reply:
    frame = _frame(m, state.top)
    if state.top == "main" or code != str(syntax.codes[frame.kind]):
        return cme(3)               # no such proactive command pending
    if frame.kind == SELECT:
        return _choose(m, state, frame, data)
    return _answer(m, state, frame, data)


def _stin_read(m: Module, cmd: AtCmd) -> Reply:
    gate = _gate(m)
    if gate is not None:
        return gate
    state = _session(m)
    return ok(f"+STIN: {SIMCOM.codes[_frame(m, state.top).kind]}")


def _qstk(m: Module, cmd: AtCmd) -> Reply:
    """AT+QSTK=<mode>[,...] turns the STK interface on; the simulated one is always on."""
    if cmd.op == OP_READ:
        return ok("+QSTK: 1,1")
    return ok() if cmd.op in (OP_SET, OP_TEST) else error()


def _set_only(fn: Handler) -> Handler:
    def handler(m: Module, cmd: AtCmd) -> Reply:
        if cmd.op == OP_TEST:
            return ok()
        if cmd.op != OP_SET or not cmd.args or not cmd.args[0]:
            return error()
        return fn(m, cmd)
    return handler


def _read_only(fn: Handler) -> Handler:
    def handler(m: Module, cmd: AtCmd) -> Reply:
        if cmd.op == OP_TEST:
            return ok()
        return fn(m, cmd) if cmd.op == OP_READ else error()
    return handler


_HANDLERS: dict[str, dict[str, Handler]] = {
    "simcom": {"+STIN": _read_only(_stin_read), "+STGI": _set_only(_get),
               "+STGR": _set_only(_simcom_respond)},
    "quectel": {"+QSTK": _qstk, "+QSTKGI": _set_only(_get),
                "+QSTKRSP": _set_only(_quectel_respond)},
}


def handlers(profile: Profile) -> dict[str, Handler]:
    """The STK commands a module of `profile` understands (none for an unknown family)."""
    return dict(_HANDLERS.get(profile.name, {}))
