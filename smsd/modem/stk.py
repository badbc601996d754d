"""One port's SIM Toolkit session, driven by its worker thread (jobs, as USSD is).

Theory of operation. The SIM runs the STK application; the modem announces each proactive
command it has for us with a URC (`+STIN: 24`, `+QSTKURC: 36`) and shows it on request (the
family's get-information command). `StkSession` keeps the last frame it read as an `StkView`
with a `frame_id` that grows by one for every frame read, so a client can tell a stale view.
Every request is an `StkJob` in the worker's queue carrying an `StkReply` box the service waits
on: "view" reads the pending frame (or the main menu) when none is held or a URC announced a new
one; "go" checks the request against the frame it names (frame_id, item, the answer's kind and
length: `StkRefused`), sends the family's answer, waits for the next announcement and reads the
frame it names (the main menu again when the session is over). The command syntax of each family
is data (modem/quirks/stk.py); this module only knows the kinds of frame.

URCs arrive on the worker thread between commands (`on_urc`); they only note the announced id,
the next job reads it. A modem that refuses an answer or never announces anything leaves the
session to be read afresh by the next request.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

from smsd.at import Command, CommandError, Urc
from smsd.at.fields import split_fields, split_prefix, to_int, unquote
from smsd.model import ModemJob

from .channel import Channel
from .quirks import Profile
from .quirks.stk import DISPLAY, INKEY, INPUT, MENU, SELECT, STK_SYNTAX, URC_NAMES, StkSyntax

# input_type values of the JSON gateway API (GetSTKView, section 13.3)
DISPLAY_ONLY, DESKTOP, SELECT_ITEM, YES_NO, ONE_DIGIT, ONE_CHAR = 0, 1, 2, 3, 4, 5
DIGITS, DIGITS_HIDDEN, CHARS, CHARS_HIDDEN, LOCKED = 8, 9, 10, 11, 12
KEY_CHARS = frozenset("0123456789*#+")
MAX_TEXT = 255
__all__ = ["URC_NAMES", "StkJob", "StkReply", "StkSession", "StkView"]


@dataclass(frozen=True)
class StkItem:
    id: int
    text: str


@dataclass(frozen=True)
class StkView:
    """One STK frame as the JSON API shows it."""

    title: str
    text: str
    input_type: int
    frame_id: int
    items: tuple[StkItem, ...] = ()
    min_len: int = 0
    max_len: int = 0


class StkRefused(ValueError):
    """The request does not fit the current frame (the caller's mistake)."""


class StkFailed(RuntimeError):
    """The modem or the SIM did not do what was asked."""


class StkReply:
    """Where the worker puts a job's outcome; the service thread waits on it."""

    def __init__(self) -> None:
        self._done = threading.Event()
        self.view: StkView | None = None
        self.refused = ""             # the caller's mistake, said for the caller
        self.failed = ""              # the modem's trouble

    def finish(self, view: StkView | None = None, *, refused: str = "", failed: str = "") -> None:
        if not self._done.is_set():
            self.view, self.refused, self.failed = view, refused, failed
            self._done.set()

    def wait(self, timeout: float) -> bool:
        return self._done.wait(timeout)


@dataclass(frozen=True, eq=False)
class StkJob(ModemJob):
    """action: view | ok | cancel | home; `item`, `param`, `frame_id` as the client sent them."""

    action: str
    reply: StkReply = field(default_factory=StkReply)
    item: int | None = None
    param: str | None = None
    frame_id: int | None = None


@dataclass(frozen=True)
class _Frame:
    kind: str
    code: int
    view: StkView


class StkSession:
    def __init__(self, port: int) -> None:
        self.port = port
        self._frame: _Frame | None = None
        self._announced: int | None = None
        self._frame_ids = 0
        self._title = ""

    # --- worker thread ---------------------------------------------------------------------------
    def on_urc(self, urc: Urc) -> None:
        code = to_int(urc.args[0]) if urc.args else None
        if code is not None:
            self._announced = code

    def forget(self) -> None:
        """The modem restarted or changed SIM: the frame held is no longer the SIM's."""
        self._frame, self._announced = None, None

    def handle(self, job: StkJob, channel: Channel, profile: Profile, ready: bool,
               timeout: float) -> None:
        syntax = STK_SYNTAX.get(profile.name)
        try:
            if syntax is None:
                raise StkFailed(f"port {self.port}: no STK commands known for this modem")
            if not ready:
                raise StkFailed(f"port {self.port}: the modem is not ready")
            job.reply.finish(_Run(self, syntax, channel, timeout).job(job))
        except StkRefused as exc:
            job.reply.finish(refused=str(exc))
        except StkFailed as exc:
            job.reply.finish(failed=str(exc))
        except BaseException:
            job.reply.finish(failed=f"port {self.port}: the modem did not answer")
            raise


class _Run:
    """One job's work on the session, with the family's syntax at hand."""

    def __init__(self, session: StkSession, syntax: StkSyntax, channel: Channel,
                 timeout: float) -> None:
        self.s, self.syntax, self.channel, self.timeout = session, syntax, channel, timeout

    def job(self, job: StkJob) -> StkView:
        frame = self.current()
        if job.action == "view":
            return frame.view
        if job.frame_id is not None and job.frame_id != frame.view.frame_id:
            raise StkRefused(f"stale frame_id {job.frame_id}: the current frame is "
                             f"{frame.view.frame_id}")
        command = self.command_for(frame, job)
        if command is None:                  # cancel/home on the main menu: nothing to leave
            return frame.view
        self.s._announced = None
        answer = self.channel.run(Command(command, self.timeout))
        if isinstance(answer, CommandError):
            self.s.forget()
            raise StkFailed(f"port {self.s.port}: the SIM refused {command} ({answer.text})")
        self.await_announcement()
        return self.current().view

    # --- reading frames ----------------------------------------------------------------------------
    def current(self) -> _Frame:
        if self.s._frame is not None and self.s._announced is None:
            return self.s._frame
        code = self.s._announced
        if code is None and self.syntax.query:
            code = self.pending_code()
        if code is None or code == self.syntax.main_again:
            code = self.syntax.codes[MENU]
        frame = self.read(code) or self.read(self.syntax.codes[MENU])
        if frame is None:
            raise StkFailed(f"port {self.s.port}: the SIM shows no STK menu")
        self.s._frame, self.s._announced = frame, None
        return frame

    def pending_code(self) -> int | None:
        answer = self.channel.run(Command(self.syntax.query, self.timeout))
        if isinstance(answer, CommandError) or not answer.lines:
            return None
        _, rest = split_prefix(answer.lines[0])
        fields = split_fields(rest)
        return to_int(fields[0]) if fields else None

    def read(self, code: int) -> _Frame | None:
        kinds = {c: k for k, c in self.syntax.codes.items()}
        if code not in kinds:
            return None
        answer = self.channel.run(Command(self.syntax.get.format(cmd=code), self.timeout))
        if isinstance(answer, CommandError) or not answer.lines:
            return None
        self.s._frame_ids += 1
        kind = kinds[code]
        view = self.parse(kind, answer.lines, self.s._frame_ids)
        return _Frame(kind, code, view)

    def parse(self, kind: str, lines: tuple[str, ...], frame_id: int) -> StkView:
        head = self.named(kind, lines[0])
        text = self.text(head.get("text", "") or head.get("title", ""))
        if kind in (MENU, SELECT):
            items = tuple(self.item(line) for line in lines[1:])
            if kind == MENU:
                self.s._title = text
            return StkView(text, "", DESKTOP if kind == MENU else SELECT_ITEM, frame_id,
                           tuple(i for i in items if i is not None))
        if kind == DISPLAY:
            return StkView(self.s._title, text, DISPLAY_ONLY, frame_id)
        input_type, lo, hi = self.question(kind, head)
        return StkView(self.s._title, text, input_type, frame_id, min_len=lo, max_len=hi)

    def named(self, kind: str, line: str) -> dict[str, str]:
        _, rest = split_prefix(line)
        values = split_fields(rest)[1:]
        return dict(zip(self.syntax.fields[kind], values))

    def item(self, line: str) -> StkItem | None:
        f = self.named("item", line)
        item_id = to_int(f.get("id", ""))
        return None if item_id is None else StkItem(item_id, self.text(f.get("text", "")))

    def text(self, field_text: str) -> str:
        raw = unquote(field_text)
        if not self.syntax.ucs2:
            return raw
        try:
            return bytes.fromhex(raw).decode("utf-16-be")
        except ValueError:
            return raw

    def question(self, kind: str, f: dict[str, str]) -> tuple[int, int, int]:
        """(input_type, min, max) from SIMCom's <rsp_format>/<show> or TS 102.223 bits."""
        if self.syntax.question == "format":
            fmt = to_int(f.get("format", ""), 0)
            yes_no, digits, hidden = fmt == 1, fmt == 2, f.get("echo", "1") == "0"
        else:
            bits = to_int(f.get("details", ""), 0) or 0
            yes_no = kind == INKEY and bool(bits & 0x04)
            digits, hidden = not bits & 0x01, kind == INPUT and bool(bits & 0x04)
        if kind == INKEY:
            return (YES_NO if yes_no else ONE_DIGIT if digits else ONE_CHAR), 1, 1
        lo, hi = to_int(f.get("min", ""), 0) or 0, to_int(f.get("max", ""), 0) or 0
        types = {(True, False): DIGITS, (True, True): DIGITS_HIDDEN,
                 (False, False): CHARS, (False, True): CHARS_HIDDEN}
        return types[(digits, hidden)], lo, hi

    def await_announcement(self) -> None:
        """The answer's OK came; the next frame's URC follows (it may have come already)."""
        if self.s._announced is None:
            self.channel.wait_urc(lambda u: u.name == self.syntax.urc, self.timeout)
        if self.s._announced is None:        # nothing announced: the SIM is back at its menu
            self.s._announced = self.syntax.main_again

    # --- answering ---------------------------------------------------------------------------------
    def command_for(self, frame: _Frame, job: StkJob) -> str | None:
        syntax, code, view = self.syntax, frame.code, frame.view
        at_main = frame.kind == MENU
        if job.action == "cancel":
            return None if at_main else syntax.back.format(cmd=code)
        if job.action == "home":
            return None if at_main else syntax.end.format(cmd=code)
        if frame.kind in (MENU, SELECT):
            item = chosen_item(view, job.item)
            if at_main:
                return syntax.select_main.format(item=item)
            return syntax.select.format(cmd=code, item=item)
        if job.item is not None:
            raise StkRefused(f"frame {view.frame_id} has no items (input_type "
                             f"{view.input_type}): send 'param' or an action")
        if frame.kind == DISPLAY:
            return syntax.seen.format(cmd=code)
        return syntax.answer.format(cmd=code, data=answer_data(view, job.param, syntax))


def chosen_item(view: StkView, item: int | None) -> int:
    if item is None:
        raise StkRefused(f"frame {view.frame_id} is a menu: 'item' is required")
    if item not in {i.id for i in view.items}:
        ids = ", ".join(str(i.id) for i in view.items)
        raise StkRefused(f"frame {view.frame_id} has no item {item} (items: {ids})")
    return item


def answer_data(view: StkView, param: str | None, syntax: StkSyntax) -> str:
    """The answer as the modem takes it, or StkRefused saying what the frame wants."""
    value = param if param is not None else ""
    kind = view.input_type
    if kind == YES_NO:
        word = value.strip().lower()
        if word not in ("yes", "no", "y", "n"):
            raise StkRefused("this frame asks yes or no: 'param' must be yes or no")
        return syntax.yes if word.startswith("y") else syntax.no
    if kind in (ONE_DIGIT, ONE_CHAR):
        return _one_key(value, kind == ONE_DIGIT)
    return _text_answer(view, value, kind in (DIGITS, DIGITS_HIDDEN))


def _one_key(value: str, digit: bool) -> str:
    if digit and (len(value) != 1 or value not in KEY_CHARS):
        raise StkRefused("this frame asks for one digit (0-9, *, # or +) in 'param'")
    if not digit and (len(value) != 1 or not _typable(value)):
        raise StkRefused("this frame asks for one character in 'param'")
    return value


def _text_answer(view: StkView, value: str, digits: bool) -> str:
    if not view.min_len <= len(value) <= view.max_len:
        raise StkRefused(f"this frame asks for {view.min_len} to {view.max_len} "
                         f"{'digits' if digits else 'characters'} in 'param' ({len(value)} sent)")
    if digits and not set(value) <= KEY_CHARS:
        raise StkRefused("this frame asks for digits only (0-9, *, # or +) in 'param'")
    if not _typable(value):
        raise StkRefused("'param' may hold printable ASCII characters other than '\"' only")
    return value


def _typable(value: str) -> bool:
    """What can be typed inside a quoted AT string argument."""
    return value.isascii() and value.isprintable() and '"' not in value
