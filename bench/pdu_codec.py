"""PDU codec benchmark: our C and Python backends side by side with peer libraries.

Run from the venv with no arguments:  .venv/bin/python bench/pdu_codec.py
(`--breakdown` adds where the C backend's time goes: the cffi call, the C work, and the cost of
each Python object a result is made of; `--cpu` times with the process CPU clock, see CLOCK.)
Peers (optional; a missing one is reported, not fatal): `make bench-env` installs
bench/requirements-pdu.txt into .venv (python-gsmmodem-new, python-gammu, smspdudecoder).
python-gammu compiles against the system library: apt-get install -y libgammu-dev pkg-config.

Prints microseconds per message for each row x column, our speed-up over the fastest peer, and
a last line checking the targets: C >= 15x faster than the fastest peer on every row; the
Python backend no slower than the fastest pure-Python peer. A peer that cannot do a row shows
n/a. Timing: row by row, the columns timed in turns, best of 7 turns of about 0.05 s each
(a load change during the run then affects every column of a row alike).
"""
from __future__ import annotations

import datetime as dt
import importlib
import importlib.metadata
import io
import sys
import time
import timeit
from collections.abc import Callable
from types import ModuleType
from typing import Any

Op = Callable[[], Any]
NUMBER = "+447700900123"
SCTS = dt.datetime(2026, 11, 23, 2, 25, 0, tzinfo=dt.timezone.utc)
GSM160 = ("The quick brown fox jumps over the lazy dog; 0123456789 @ home? Yes! " * 3)[:160]
UCS70 = ("Съешь же ещё этих мягких французских булок, да выпей чаю. Привет мир! " * 2)[:70]
GSM600 = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod. " * 9)[:600]
ROWS = ["encode 160-char GSM-7", "encode 70-char UCS2", "split 600-char GSM-7",
        "decode GSM-7 DELIVER", "decode UCS2 DELIVER"]
PURE_PYTHON_PEERS = ("gsmmodem", "smspdudecoder")


# `--cpu`: time with the process's CPU clock instead of the wall clock. On a shared machine
# a wall-clock repeat that was descheduled counts the other processes' time against whichever
# column happened to run then; CPU time charges each call only for itself, to every column
# alike (peers included).
CLOCK = time.perf_counter


def per_call_us(op: Op) -> float:
    op()                                                   # warm caches, fail early
    timer = timeit.Timer(op, timer=CLOCK)
    n, _ = timer.autorange()
    n = max(1, n // 2)
    return min(timer.repeat(repeat=5, number=n)) / n * 1e6


REPEATS = 7


def interleaved_us(ops: dict[str, Op]) -> dict[str, float]:
    """Best-of-REPEATS microseconds per call for ops of one row, timed in turns (ours, peer,
    ours, ...), so that a change in the machine's load during the run hits every column of the
    row alike instead of whichever column happened to be running."""
    timers = {}
    for name, op in ops.items():
        op()                                               # warm caches, fail early
        timer = timeit.Timer(op, timer=CLOCK)
        n, _ = timer.autorange()
        timers[name] = (timer, max(1, n // 4))
    best = {name: float("inf") for name in ops}
    for _ in range(REPEATS):
        for name, (timer, n) in timers.items():
            best[name] = min(best[name], timer.timeit(n) / n * 1e6)
    return best


# --- our backends ----------------------------------------------------------------------------------
def our_ops(codec: ModuleType, deliver_gsm: str, deliver_ucs: str) -> list[Op | None]:
    return [
        lambda: codec.encode_submit(NUMBER, GSM160),
        lambda: codec.encode_submit(NUMBER, UCS70),
        lambda: codec.encode_submit(NUMBER, GSM600),
        lambda: codec.decode(deliver_gsm),
        lambda: codec.decode(deliver_ucs),
    ]


# --- peers ---------------------------------------------------------------------------------------
def gsmmodem_ops(deliver_gsm: str, deliver_ucs: str) -> list[Op | None]:
    from gsmmodem.pdu import decodeSmsPdu, encodeSmsSubmitPdu
    return [
        lambda: encodeSmsSubmitPdu(NUMBER, GSM160, requestStatusReport=False),
        lambda: encodeSmsSubmitPdu(NUMBER, UCS70, requestStatusReport=False),
        lambda: encodeSmsSubmitPdu(NUMBER, GSM600, requestStatusReport=False),
        lambda: decodeSmsPdu(deliver_gsm),
        lambda: decodeSmsPdu(deliver_ucs),
    ]


def gammu_ops(deliver_gsm: str, deliver_ucs: str) -> list[Op | None]:
    import gammu

    def encode(text: str, unicode: bool) -> list[bytes]:
        info = {"Class": -1, "Unicode": unicode,
                "Entries": [{"ID": "ConcatenatedTextLong", "Buffer": text}]}
        out = []
        for sms in gammu.EncodeSMS(info):
            sms["Number"] = NUMBER
            sms["SMSC"] = {"Location": 0, "Number": ""}
            out.append(gammu.EncodePDU(sms))
        return out

    return [
        lambda: encode(GSM160, False),
        lambda: encode(UCS70, True),
        lambda: encode(GSM600, False),
        lambda: gammu.DecodePDU(bytes.fromhex(deliver_gsm), True),
        lambda: gammu.DecodePDU(bytes.fromhex(deliver_ucs), True),
    ]


def smspdudecoder_ops(deliver_gsm: str, deliver_ucs: str) -> list[Op | None]:
    from smspdudecoder.fields import SMSDeliver
    return [None, None, None,
            lambda: SMSDeliver.decode(io.StringIO(deliver_gsm)),
            lambda: SMSDeliver.decode(io.StringIO(deliver_ucs))]


PEERS: dict[str, tuple[str, Callable[[str, str], list[Op | None]]]] = {
    "gsmmodem": ("python-gsmmodem-new", gsmmodem_ops),
    "gammu": ("python-gammu", gammu_ops),
    "smspdudecoder": ("smspdudecoder", smspdudecoder_ops),
}


def load_peers(deliver_gsm: str, deliver_ucs: str) -> tuple[dict[str, list[Op | None]],
                                                              list[str]]:
    ops: dict[str, list[Op | None]] = {}
    notes = []
    for name, (dist, make) in PEERS.items():
        try:
            ops[name] = make(deliver_gsm, deliver_ucs)
            notes.append(f"{name}: {dist} {importlib.metadata.version(dist)}")
        except Exception as exc:                             # a missing peer is only reported
            notes.append(f"{name}: MISSING ({dist}: {type(exc).__name__}: {exc})")
    return ops, notes


def measure(columns: dict[str, list[Op | None]]) -> dict[str, list[float | None]]:
    table: dict[str, list[float | None]] = {name: [] for name in columns}
    for i in range(len(ROWS)):
        ops: dict[str, Op] = {}
        for name, row in columns.items():
            op = row[i]
            try:
                if op is not None:
                    op()
                    ops[name] = op
            except Exception as exc:                        # a peer failing a row is n/a
                print(f"  ({name} failed: {type(exc).__name__}: {exc})")
        times = interleaved_us(ops)
        for name in columns:
            table[name].append(times.get(name))
    return table


def fastest(table: dict[str, list[float | None]], names: list[str], i: int) -> float | None:
    vals = [v for n in names if (v := table[n][i]) is not None]
    return min(vals) if vals else None


def render(table: dict[str, list[float | None]], peers: list[str]) -> list[tuple[str, float]]:
    cols = list(table)
    print(f"{'us per message':24}" + "".join(f"{c:>15}" for c in cols) + f"{'C speed-up':>12}")
    speedups = []
    for i, row in enumerate(ROWS):
        cells = "".join(f"{v:>15.2f}" if (v := table[c][i]) is not None else f"{'n/a':>15}"
                        for c in cols)
        best = fastest(table, peers, i)
        ours = table["ours C"][i]
        sp = best / ours if best and ours else None
        if sp:
            speedups.append((row, sp))
        print(f"{row:24}{cells}" + (f"{sp:>11.1f}x" if sp else f"{'n/a':>12}"))
    return speedups


def breakdown(deliver_gsm: str, deliver_ucs: str) -> None:
    """Where the C backend's microseconds go (`--breakdown`): the codec's C work as reached
    through cffi (its fixed cost shown by a call that fails at once), against the native
    entry points (pdu_codec_c/pdu_py.c) that do the same work and build the result in C;
    and what the same result objects cost when built in Python, each timed on its own."""
    from smsd._pdu_c import ffi, lib
    from smsd.pdu import _c
    from smsd.pdu.types import Decoded
    dctx, ectx = ffi.new("pdu_dctx *"), ffi.new("pdu_ectx *")
    num, g, u = NUMBER.encode(), GSM160.encode(), UCS70.encode()
    dg, du = deliver_gsm.encode(), deliver_ucs.encode()
    tz = dt.timezone(dt.timedelta(hours=1))
    values: tuple[Any, ...] = ("deliver", "+447700900000", NUMBER, GSM160, 0, 0, SCTS, None,
                               None, None, [], "gsm7", b"", 0x91, None, None, None, False, None)
    items: list[tuple[str, Op]] = [
        ("cffi call floor, 4 args (fails at once)", lambda: lib.pdu_decode(b"0", 1, 3, dctx)),
        ("C pdu_decode GSM-7 DELIVER via cffi", lambda: lib.pdu_decode(dg, len(dg), 3, dctx)),
        ("C pdu_decode UCS2 DELIVER via cffi", lambda: lib.pdu_decode(du, len(du), 3, dctx)),
        ("C pdu_submit 70 UCS2 via cffi", lambda: lib.pdu_submit(num, 13, u, len(u), ectx)),
        ("C pdu_submit 160 GSM-7 via cffi", lambda: lib.pdu_submit(num, 13, g, len(g), ectx)),
        ("native decode GSM-7 DELIVER (whole)", lambda: _c.decode(deliver_gsm)),
        ("native decode UCS2 DELIVER (whole)", lambda: _c.decode(deliver_ucs)),
        ("native encode_submit 70 UCS2 (whole)", lambda: _c.encode_submit(NUMBER, UCS70)),
        ("Python: UTF-8 decode, 160 chars", lambda: g.decode()),
        ("Python: aware datetime (Decoded.scts)", lambda: dt.datetime(2026, 11, 23, 2, 25, 0, 0,
                                                                       tz)),
        ("Python: Decoded via tuple.__new__", lambda: tuple.__new__(Decoded, values)),
        ("empty Python call (the lambda itself)", lambda: None),
    ]
    print("\nbreakdown (us, best of 5; the lambda's own cost is included in every line)")
    for name, op in items:
        print(f"  {name:44}{per_call_us(op):>8.3f}")


def main() -> None:
    global CLOCK
    if "--cpu" in sys.argv[1:]:
        CLOCK = time.process_time
    from smsd.pdu import _python
    try:
        from smsd.pdu import _c
    except ImportError as exc:
        raise SystemExit(f"C backend not built ({exc}): run `make` / pip install -e .")
    import smsd.pdu
    deliver_gsm = _c.encode_deliver(NUMBER, GSM160, scts=SCTS, smsc="+447700900000")[0]
    deliver_ucs = _c.encode_deliver(NUMBER, UCS70, scts=SCTS, smsc="+447700900000")[0]
    peer_ops, notes = load_peers(deliver_gsm, deliver_ucs)
    columns = {"ours C": our_ops(_c, deliver_gsm, deliver_ucs),
               "ours Python": our_ops(_python, deliver_gsm, deliver_ucs), **peer_ops}
    print(f"smsd.pdu default backend: {smsd.pdu.BACKEND}; clock: {CLOCK.__name__}; peers: "
          + "; ".join(notes))
    table = measure(columns)
    speedups = render(table, list(peer_ops))
    verdict(table, list(peer_ops), speedups)
    if "--breakdown" in sys.argv[1:]:
        breakdown(deliver_gsm, deliver_ucs)


def python_meets_target(table: dict[str, list[float | None]], peers: list[str]) -> bool:
    """Our Python backend no slower than the fastest pure-Python peer, on every row one has."""
    pure = [p for p in peers if p in PURE_PYTHON_PEERS]
    for i in range(len(ROWS)):
        ours, best = table["ours Python"][i], fastest(table, pure, i)
        if best is not None and (ours is None or ours > best):
            return False
    return True


def verdict(table: dict[str, list[float | None]], peers: list[str],
            speedups: list[tuple[str, float]]) -> None:
    worst = min(speedups, key=lambda s: s[1]) if speedups else None
    c_ok = bool(speedups) and all(sp >= 15 for _, sp in speedups)
    worst_txt = f"{worst[1]:.1f}x ({worst[0]})" if worst else "n/a (no peer)"
    py_ok = python_meets_target(table, peers)
    print(f"RESULT: C speed-up over the fastest peer, worst row = {worst_txt}; target >= 15x on "
          f"every row: {'MET' if c_ok else 'NOT MET'}. Python backend vs fastest pure-Python "
          f"peer: {'MET' if py_ok else 'NOT MET'} (target: no slower on any row).")


if __name__ == "__main__":
    main()
