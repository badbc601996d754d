"""Where the daemon's log lines go, and how they look (docs/logs.md).

On a terminal or a pipe: `2026-01-02 03:04:05,678 WARNING smsd.modem: port 3: ...`. Under
systemd, standard error is the journal's stream (JOURNAL_STREAM names it, systemd.exec(5)): the
journal stamps each line itself, so a timestamp of ours would be shown twice, and it reads a
`<N>` syslog priority prefix (sd-daemon(3)) so that `journalctl -p warning` finds the warnings:
`<4>smsd.modem: port 3: ...`. Every line of a record (a traceback's too) carries the prefix,
since the journal takes each line as an entry of its own.

Every line, on either path, goes through `scrub`: a password or secret in a query string or form
body (`password=`, `passwd=`, `clientpwd=`, `secret=` ...) and the value of an Authorization
header are replaced by `***`, whatever logger wrote them (waitress's included).
"""
from __future__ import annotations

import logging
import os
import re
import sys
import threading
import time
from typing import Callable, TextIO

TERMINAL_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JOURNAL_FORMAT = "%(name)s: %(message)s"
MASK = "***"

# sd-daemon(3) priorities: the syslog levels.
PRIORITIES = ((logging.CRITICAL, 2), (logging.ERROR, 3), (logging.WARNING, 4),
              (logging.INFO, 6))
DEBUG_PRIORITY = 7

# Parameter names whose values are secrets: the dialects' password fields (password, passwd,
# clientpwd, pw, pwd), SMPP/DRP/console secrets, tokens, PINs and PUKs.
SECRET_NAME = (r"[\w.-]*(?:pass(?:wd|word)?|pwd|secret|token|api_?key)[\w.-]*"
               r"|(?:sim_)?pin\d?|puk\d?|pw")
_PARAM = re.compile(rf"(?i)(?<![\w.-])({SECRET_NAME})(=|%3D)([^&\s\"';,]*)")
_JSON_FIELD = re.compile(rf"(?i)(\"(?:{SECRET_NAME})\"\s*:\s*)\"(?:[^\"\\]|\\.)*\"")
_AUTHORIZATION = re.compile(r"(?i)((?:proxy-)?authorization\s*[:=]\s*['\"]?)[^'\"\r\n]*")
# A credential outside a header line: "Basic dXNlcjpwdw==" (base64 with a digit, + / or =).
_BASIC = re.compile(r"(?i)\b(basic|bearer)\s+(?=[A-Za-z0-9+/]*[0-9+/=])[A-Za-z0-9+/]{8,}={0,2}")


# Every pattern below needs one of these words (in lower case): most lines have none and skip
# the regexes. One search of the lowered text finds exactly what ten `in` tests did, faster.
_TRIGGERS = re.compile("pass|pw|secret|token|key|pin|puk|auth|basic|bearer")


# What _AUTHORIZATION and _BASIC each need, searched by the same case-blind engine (so it finds
# whatever they could match, 'ſ' for 's' included): a line of query parameters skips both (9 us).
_HAS_AUTHORIZATION = re.compile("(?i)authorization").search
_HAS_BASIC = re.compile("(?i)basic|bearer").search


def scrub(text: str) -> str:
    """`text` with every secret it shows replaced by MASK."""
    if _TRIGGERS.search(text.lower()) is None:
        return text
    if _HAS_AUTHORIZATION(text):
        text = _AUTHORIZATION.sub(lambda m: m.group(1) + MASK, text)
    if _HAS_BASIC(text):
        text = _BASIC.sub(lambda m: f"{m.group(1)} {MASK}", text)
    text = _JSON_FIELD.sub(lambda m: f'{m.group(1)}"{MASK}"', text)
    return mask_params(text)


# mask_params finds what `_PARAM.sub` did, twice as fast: _PARAM tries its name pattern at the
# start of every run of name characters and backtracks through it. A name it masks is always a
# whole run (it starts where the run does and "=" or "%" ends the run), so: find each run
# followed by "=" or "%3D", keep those whose whole run is a secret's name. A run that is not
# one is passed over by one character past it, where _PARAM would look next (the "3D" of a
# "%3D" starts a run of its own). tests/test_logsetup.py compares the two.
_CANDIDATE = re.compile(r"(?<![\w.-])([\w.-]+)(=|%3[Dd])")
_SECRET_RUN = re.compile(rf"(?i)(?:{SECRET_NAME})").fullmatch
_VALUE = re.compile(r"[^&\s\"';,]*")


def mask_params(text: str) -> str:
    """`text` with the value of every `<secret name>=` (or `%3D`) parameter replaced by MASK."""
    out: list[str] = []
    done = at = 0
    while (found := _CANDIDATE.search(text, at)) is not None:
        if _SECRET_RUN(found.group(1)) is None:
            at = found.end(1) + 1
            continue
        end = _VALUE.match(text, found.end()).end()      # type: ignore[union-attr]
        out += (text[done:found.end()], MASK)
        done = at = end
    if not out:
        return text
    out.append(text[done:])
    return "".join(out)


def priority(levelno: int) -> int:
    for floor, prio in PRIORITIES:
        if levelno >= floor:
            return prio
    return DEBUG_PRIORITY


class ScrubbingFormatter(logging.Formatter):
    """A formatter whose output has no secrets; in journal mode each line has its priority."""

    def __init__(self, journal: bool) -> None:
        super().__init__(JOURNAL_FORMAT if journal else TERMINAL_FORMAT)
        self.journal = journal
        self._second: tuple[int, str] = (-1, "")     # the last whole second and its text

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        """As logging's own, with the "%Y-%m-%d %H:%M:%S" part made once per second: localtime
        and strftime were a fifth of a record's cost, and that part depends only on the whole
        second (the daemon never changes its time zone while running: nothing calls tzset)."""
        msec_format = self.default_msec_format
        if datefmt is not None or msec_format is None:
            return super().formatTime(record, datefmt)
        whole = int(record.created)
        second, text = self._second          # one tuple: threads swap it whole
        if second != whole:
            text = time.strftime(self.default_time_format, self.converter(record.created))
            self._second = (whole, text)
        return msec_format % (text, record.msecs)

    def format(self, record: logging.LogRecord) -> str:
        text = scrub(super().format(record))
        if not self.journal:
            return text
        prefix = f"<{priority(record.levelno)}>"
        return "\n".join(prefix + line for line in text.split("\n"))


def stderr_is_journal(env: dict[str, str] | None = None, stream: TextIO | None = None) -> bool:
    """True when standard error is systemd's journal stream: JOURNAL_STREAM holds that stream's
    "<device>:<inode>"; a child that inherited the variable but writes elsewhere does not match."""
    wanted = (os.environ if env is None else env).get("JOURNAL_STREAM", "")
    try:
        st = os.fstat((stream or sys.stderr).fileno())
    except (OSError, ValueError):
        return False
    return bool(wanted) and wanted == f"{st.st_dev}:{st.st_ino}"


def lighten_records() -> None:
    """Make log records cheaper: no caller lookup (a walk up the stack per record) and no
    thread or process names. Neither format (TERMINAL_FORMAT, JOURNAL_FORMAT) nor the System
    page's buffer shows them, so every line reads as before; logging's documentation lists
    these switches for this purpose ("Optimization")."""
    logging._srcfile = None              # type: ignore[attr-defined]
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


class BatchingStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A StreamHandler that writes a busy stretch's lines together.

    Why: a write per line costs a system call, and around it the GIL changes hands, twice over
    when other threads wait for it: at 1,500 accepted sends a second, with two lines each, that
    was 0.03-0.04 ms of daemon CPU per request, ~5 % (bench/intake.py A/B, docs/benchmarks.md). A line
    that comes `window` seconds or more after the last write is written at once, as before (a
    quiet daemon's log is as prompt as ever); the lines that follow within `window` wait at most
    `window` for the flusher thread, which writes them with one call. WARNING and above are
    written at once, with everything before them, and so is everything at exit (logging's own
    shutdown flushes the handler)."""

    def __init__(self, stream: TextIO, window: float = 0.02,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(stream)
        self.window = window
        self._clock = clock
        self._pending: list[str] = []
        self._last_write = -window
        self._wake = threading.Event()
        self._flusher: threading.Thread | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record) + self.terminator
        except Exception:  # noqa: BLE001 - logging's own rule: a bad record must not raise
            self.handleError(record)
            return
        now = self._clock()
        self._pending.append(text)        # under the handler's lock (Handler.handle holds it)
        if record.levelno >= logging.WARNING or now - self._last_write >= self.window:
            self._write_pending(now)
        elif len(self._pending) == 1:
            self._start_flusher()
            self._wake.set()

    def flush(self) -> None:
        with self.lock:                   # type: ignore[union-attr]
            self._write_pending(self._clock())
            super().flush()

    def _write_pending(self, now: float) -> None:
        if not self._pending:
            return
        text = "".join(self._pending)
        self._pending.clear()
        self._last_write = now
        try:
            self.stream.write(text)
            self.stream.flush()
        except Exception:  # noqa: BLE001 - as StreamHandler: a closed stream must not raise
            pass

    def _start_flusher(self) -> None:
        if self._flusher is None:
            self._flusher = threading.Thread(target=self._flush_loop, name="log-flusher",
                                             daemon=True)
            self._flusher.start()

    def _flush_loop(self) -> None:
        while True:
            self._wake.wait()
            time.sleep(self.window)
            self._wake.clear()
            self.flush()


def configure(level: str, stream: TextIO | None = None) -> logging.Handler:
    """The root logger's handler to standard error, in the form its reader wants."""
    lighten_records()
    out = stream or sys.stderr
    handler = BatchingStreamHandler(out)
    handler.setFormatter(ScrubbingFormatter(stderr_is_journal(stream=out)))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level.upper())
    return handler
