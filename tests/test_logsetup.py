"""The log's form and its scrubbing (smsd/system/logsetup.py, smsd/api/access_log.py)."""
from __future__ import annotations

import base64
import io
import logging

import pytest
from hypothesis import given, settings, strategies as st

from smsd.api.access_log import access_log, basic_user
from smsd.system import logbuffer, logsetup
from fakes import wait_for


@pytest.mark.parametrize("raw, clean", [
    ("GET /api/x?user=a&password=hunter2&to=1", "GET /api/x?user=a&password=***&to=1"),
    ("passwd=abc&clientpwd=s3cr%20t&x=1", "passwd=***&clientpwd=***&x=1"),
    ("Authorization: Basic YWRtaW46eA==", "Authorization: ***"),
    ("sent Basic YWRtaW46eA== along", "sent Basic *** along"),
    ('{"password": "p\\"w", "a": 1}', '{"password": "***", "a": 1}'),
    ("remote_secret=zz&pw=1&pwn=2", "remote_secret=***&pw=***&pwn=2"),
    ("sim_pin=1234&shipping=3", "sim_pin=***&shipping=3"),
    ("basic settings applied", "basic settings applied"),
])
def test_scrub(raw: str, clean: str) -> None:
    assert logsetup.scrub(raw) == clean


def record(level: int, msg: str) -> logging.LogRecord:
    return logging.LogRecord("smsd.x", level, __file__, 1, msg, None, None)


def test_journal_lines_carry_their_priority_and_no_timestamp() -> None:
    fmt = logsetup.ScrubbingFormatter(journal=True)
    assert fmt.format(record(logging.WARNING, "a\nb password=x")) == \
        "<4>smsd.x: a\n<4>b password=***"
    assert fmt.format(record(logging.INFO, "i")) == "<6>smsd.x: i"
    assert fmt.format(record(logging.ERROR, "e")).startswith("<3>")
    assert fmt.format(record(logging.DEBUG, "d")).startswith("<7>")
    plain = logsetup.ScrubbingFormatter(journal=False).format(record(logging.INFO, "i"))
    assert plain.endswith(" INFO smsd.x: i") and plain[:4].isdigit()


def test_journal_is_only_the_stream_journal_stream_names(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with open(tmp_path / "f", "w") as f:
        import os
        st = os.fstat(f.fileno())
        assert logsetup.stderr_is_journal({"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}, f)
        assert not logsetup.stderr_is_journal({"JOURNAL_STREAM": "1:2"}, f)
        assert not logsetup.stderr_is_journal({}, f)
    assert not logsetup.stderr_is_journal({"JOURNAL_STREAM": "1:2"}, io.StringIO())


def test_the_system_page_buffer_is_scrubbed_too() -> None:
    buf = logbuffer.LogBuffer(10)
    buf.emit(record(logging.INFO, "GET /x?passwd=hunter2"))
    assert buf.lines()[0].message == "GET /x?passwd=***"


def test_access_line_names_the_basic_user_never_the_password(caplog) -> None:  # type: ignore[no-untyped-def]
    def app(environ, start_response):  # type: ignore[no-untyped-def]
        start_response("204 No Content", [])
        return [b""]
    token = base64.b64encode(b"ann:hunter2").decode()
    environ = {"PATH_INFO": "/api/x", "QUERY_STRING": "password=hunter2&a=\n",
               "REQUEST_METHOD": "GET", "REMOTE_ADDR": "10.0.0.9",
               "HTTP_AUTHORIZATION": f"Basic {token}"}
    with caplog.at_level(logging.INFO, logger="smsd.access"):
        access_log(app)(environ, lambda *a: None)
    (line,) = [r.getMessage() for r in caplog.records]
    assert line.startswith('10.0.0.9 ann "GET /api/x?password=***&a=\\n" 204 ')
    assert "hunter2" not in line
    assert basic_user("Basic !!!") == "-" and basic_user("Digest x") == "-"


def test_the_cached_second_reads_as_logging_own_time() -> None:
    """formatTime makes the date and time once per second: each record still shows its own."""
    ours, theirs = logsetup.ScrubbingFormatter(journal=False), logging.Formatter()
    for created in (1_700_000_000.001, 1_700_000_000.999, 1_700_000_001.0, 1_700_000_000.5,
                    1_700_086_399.75):
        rec = record(logging.INFO, "i")
        rec.created, rec.msecs = created, (created - int(created)) * 1000
        assert ours.formatTime(rec) == theirs.formatTime(rec)
        assert ours.formatTime(rec, "%H") == theirs.formatTime(rec, "%H")


def test_light_records_still_read_the_same(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """configure() turns off the caller lookup and thread names: a line reads as before."""
    out, root = io.StringIO(), logging.getLogger()
    level = root.level
    handler = logsetup.configure("INFO", stream=out)
    try:
        logging.getLogger("smsd.x").info("message %d accepted: %s", 7, "password=x")
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    assert out.getvalue().endswith(" INFO smsd.x: message 7 accepted: password=***\n")


# The scrub as it was before its shortcuts (smsd/system/logsetup.py): the oracle they must match.
def scrub_reference(text: str) -> str:
    triggers = ("pass", "pw", "secret", "token", "key", "pin", "puk", "auth", "basic", "bearer")
    if not any(t in text.lower() for t in triggers):
        return text
    text = logsetup._AUTHORIZATION.sub(lambda m: m.group(1) + logsetup.MASK, text)
    text = logsetup._BASIC.sub(lambda m: f"{m.group(1)} {logsetup.MASK}", text)
    text = logsetup._JSON_FIELD.sub(lambda m: f'{m.group(1)}"{logsetup.MASK}"', text)
    return logsetup._PARAM.sub(lambda m: f"{m.group(1)}{m.group(2)}{logsetup.MASK}", text)


ATOMS = ["pass", "PASSWD", "pw", "pwd", "pin", "pin1", "sim_pin2", "puk", "token", "api_key",
         "ſecret", "secret", "Authorization", "proxy-authorization", "Basic", "bearer",
         "dXNlcjpwdw==", "x", "a.b", "-", "_", "=", "%3D", "%3d", "%", "3D", "&", " ", ":", '"',
         "'", ";", ",", "?", "\\", "\n", "\u0661", "é", "{", "}"]


@settings(max_examples=4000, deadline=None)
@given(st.lists(st.sampled_from(ATOMS), max_size=14).map("".join) | st.text(max_size=30))
def test_scrub_shortcuts_mask_what_the_patterns_do(text: str) -> None:
    assert logsetup.scrub(text) == scrub_reference(text)
    assert logsetup.mask_params(text) == logsetup._PARAM.sub(
        lambda m: f"{m.group(1)}{m.group(2)}{logsetup.MASK}", text)


# --- BatchingStreamHandler: a busy stretch's lines in one write, a quiet line at once ----------
class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class CountingStream(io.StringIO):
    """A stream that counts its write calls (each one a system call on a real one)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


def batching(window: float = 0.05) -> tuple[logsetup.BatchingStreamHandler, CountingStream,
                                            Clock, logging.Logger]:
    out, clock = CountingStream(), Clock()
    handler = logsetup.BatchingStreamHandler(out, window=window, clock=clock)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger(f"batching.{id(handler)}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    return handler, out, clock, logger


def test_a_line_after_a_quiet_spell_is_written_at_once() -> None:
    handler, out, clock, logger = batching()
    logger.info("first")
    assert out.getvalue() == "INFO first\n"
    clock.now += 0.06                          # more than a window later: quiet again
    logger.info("second")
    assert out.getvalue() == "INFO first\nINFO second\n" and out.writes == 2


def test_lines_within_the_window_are_written_together_by_the_flusher() -> None:
    handler, out, clock, logger = batching(window=0.05)
    logger.info("one")
    clock.now += 0.001
    logger.info("two")
    logger.info("three")
    assert out.getvalue() == "INFO one\n"         # two and three wait for the flusher
    wait_for(lambda: "three" in out.getvalue(), timeout=5)
    assert out.getvalue() == "INFO one\nINFO two\nINFO three\n"
    assert out.writes == 2                        # one for "one", one for the other two


def test_a_warning_is_written_at_once_after_the_lines_waiting_before_it() -> None:
    handler, out, clock, logger = batching(window=60)   # the flusher would wait a minute
    logger.info("one")
    clock.now += 0.001
    logger.info("two")
    logger.warning("careful")
    assert out.getvalue() == "INFO one\nINFO two\nWARNING careful\n"


def test_flush_writes_what_waits_as_logging_does_at_exit() -> None:
    handler, out, clock, logger = batching(window=60)
    logger.info("one")
    clock.now += 0.001
    logger.info("two")
    assert "two" not in out.getvalue()
    handler.flush()                           # logging.shutdown() (atexit) calls this
    assert out.getvalue() == "INFO one\nINFO two\n"


def test_configure_batches_the_daemons_handler() -> None:
    out, root = io.StringIO(), logging.getLogger()
    level = root.level
    handler = logsetup.configure("INFO", stream=out)
    root.removeHandler(handler)
    root.setLevel(level)
    assert isinstance(handler, logsetup.BatchingStreamHandler)
