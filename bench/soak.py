"""Soak benchmark (issue 19 point 4): a simulated 32-port board, tens of thousands of messages
over HTTP, random faults on random ports, the daemon killed with SIGKILL every few seconds.

The board runs in a process of its own (`python -m smsd.sim`, as bench/common.py's Board), so it
outlives the daemon's kills as a real board does: what the network sends meanwhile waits in SIM
storage. Its journal (one JSON line per SMS part the network accepted) is the judge of what went
out: every message has a recipient number of its own, so the journal counts sends per message
from the network's side, not the daemon's.

Threads, all over loopback: a submitter (JSON bulk `send_sms`, a mix of single-part and
multipart texts, GSM 7-bit and UCS2, each asking for a status report; the queue kept under
`BACKLOG_PER_PORT` messages a port so traffic runs throughout), an inbound feeder (`POST /sms` to the board, some
long, some UCS2), a fault thrower (every kind the simulator offers, on a random port every
`--fault-every` seconds; lasting ones cleared after `FAULT_HOLD` s) and, in the main thread, the
killer (SIGKILL every `--kill-every` seconds, then a restart on the same state and ports).

Printed at the end: accepted, sent, lost (an accepted message not final at the end, or final as
sent while the network never saw all its parts; goal 0), duplicates (messages the network saw a
part of twice; only UNKNOWN ones, outcome unknown after a kill or a timeout, may be), the
delivery-report match rate, inbound received vs stored, recovery time per fault kind (from the
fault's end to the port's next part accepted by the network), the daemon's RSS early in its
first life and at the end, and the run's duration; then RESULT lines (bench/report.py).

The default simulator latency (0.1 s per part, a physical limit of 320 parts/s on 32 ports) is
set so that the daemon, not the simulated air, limits a 50,000-message run on 2 cores: about
20-30 minutes on the loaded 2-core development machine (docs/benchmarks.md). `--messages 5000`
takes a few minutes.

Run from the project's venv: `.venv/bin/python bench/soak.py [--messages N] [--kill-every S]
[--fault-every S] [--ports N] [--simulator-latency S] [--seed N]`.
"""
from __future__ import annotations

import argparse
import base64
import bisect
import collections
import http.client
import json
import os
import random
import shutil
import signal
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from common import Board, Daemon, wait_for
from report import result, status_kib

from smsd.sim.faults import KINDS

# Every fault kind the simulator offers (smsd/sim/faults.py), with a code for the coded ones.
FAULTS = tuple("cms:500" if k == "cms" else "cme:100" if k == "cme" else k
               for k in KINDS if k != "none")
HELD = ("hang", "no_sim", "no_network", "garbage", "slow")     # last until cleared
FAULT_HOLD = 3.0        # seconds a lasting fault is held before it is cleared
BACKLOG_PER_PORT = 20   # messages queued per port at most: the submitter waits for more room,
                        # so that traffic runs on every port until the end
BATCH = 100             # recipients per send_sms request
INBOUND_EVERY = 0.25    # seconds between inbound messages
FINAL = ("SENT_OK", "DELIVERED", "FAILED", "UNKNOWN")
FIRST_NUMBER = 33600000000      # recipient numbers count up from +33600000000

# (label, text): GSM 7-bit and UCS2, single-part and multipart (153 / 67 characters per part)
TEXTS = (
    ("gsm-1", "soak test message, GSM alphabet"),
    ("gsm-1", "soak: another short one @ 10:30 ok?"),
    ("gsm-3", ("soak long message in the GSM alphabet, split in parts. " * 8)[:400]),
    ("ucs2-1", "soak \u041f\u0440\u0438\u0432\u0435\u0442 \u4f60\u597d \u00e9t\u00e9"),
    ("ucs2-2", ("soak \u041f\u0440\u0438\u0432\u0435\u0442, \u4f60\u597d! " * 6)[:120]),
)
INBOUND_TEXTS = ("in short", "in \u4f60\u597d \u041f\u0440\u0438\u0432\u0435\u0442",
                 "in long " + "inbound multipart text " * 9)


@dataclass
class Tally:
    """What the client threads saw, shared with the main thread (appends are atomic)."""

    accepted: list[tuple[int, int]] = field(default_factory=list)   # (first index, count)
    unanswered: list[tuple[int, int]] = field(default_factory=list)  # killed mid-request
    refused: int = 0
    inbound: list[str] = field(default_factory=list)
    faults: list[tuple[str, int, float]] = field(default_factory=list)  # kind, port, end (epoch)
    kills: list[float] = field(default_factory=list)                 # seconds down per kill
    rss_lives: list[int] = field(default_factory=list)               # KiB before each kill
    submitted: threading.Event = field(default_factory=threading.Event)  # the submitter is done


class SoakBoard(Board):
    """bench/common.py's Board with a journal of what the network saw."""

    def __init__(self, ports: int, latency: float, journal: str) -> None:
        super().__init__(ports, latency, 0.0, "--journal", journal)

    def stored_all(self) -> int:
        """Messages waiting in the SIMs' storage, all ports."""
        return sum(self.stored(port) for port in range(len(self.devices)))


# [modem] waits for a short run (tests/e2e/test_soak_smoke.py), as tests/e2e/test_faults.py's: a
# hung port climbs its recovery ladder in seconds rather than minutes
QUICK_RECOVERY = ("[modem]\ncommand_timeout = 1.5\nprobe_timeout = 0.5\nquarantine_retry = 2\n"
                  "reappear = 1\n\n")


def make_daemon(board: SoakBoard, state: str, quick: bool = False) -> Daemon:
    return board.serial_daemon(state, head=QUICK_RECOVERY if quick else "")


def db_query(d: Daemon, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Read the daemon's database file (read-only; works while the daemon is down)."""
    path = os.path.join(d.state_dir, "smsd.db")
    if not os.path.exists(path):
        return []
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


def open_count(d: Daemon) -> int:
    rows = db_query(d, "SELECT COUNT(*) FROM messages WHERE stage < 2")
    return int(rows[0][0]) if rows else 0


def number(i: int) -> str:
    return f"+{FIRST_NUMBER + i}"


# --- client threads --------------------------------------------------------------------------
def submitter(d: Daemon, target: int, tally: Tally, stop: threading.Event, seed: int) -> None:
    backlog = BACKLOG_PER_PORT * d.ports
    rng = random.Random(seed)
    auth = "Basic " + base64.b64encode(f"admin:{d.password}".encode()).decode()
    next_index, accepted = 0, 0
    conn: http.client.HTTPConnection | None = None
    while accepted < target and not stop.is_set():
        if open_count(d) > backlog:
            time.sleep(0.2)
            continue
        count = min(BATCH, target - accepted)
        _, text = rng.choice(TEXTS)
        body = json.dumps({"text": text, "request_status_report": True,
                           "param": [{"number": number(next_index + i)} for i in range(count)]})
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=30)
            conn.request("POST", "/api/send_sms", body, {"Authorization": auth,
                                                         "Content-Type": "application/json"})
            resp = conn.getresponse()
            answer = json.loads(resp.read())
        except ConnectionRefusedError:
            # the daemon is down: nothing was stored, the same numbers go in the next request
            conn = None
            tally.refused += 1
            time.sleep(0.2)
            continue
        except (OSError, http.client.HTTPException, ValueError):
            # refused while down, or killed mid-request: its messages may or may not be stored,
            # so they are not counted as accepted (the end checks every stored message anyway)
            if conn is not None:
                conn.close()
                conn = None
                tally.unanswered.append((next_index, count))
            else:
                tally.refused += 1
            next_index += count
            time.sleep(0.2)
            continue
        if answer.get("error_code") == 202:
            tally.accepted.append((next_index, count))
            accepted += count
        else:
            tally.refused += 1
            time.sleep(0.2)
        next_index += count
    if conn is not None:
        conn.close()
    tally.submitted.set()


def feeder(board: SoakBoard, ports: int, tally: Tally, stop: threading.Event, seed: int) -> None:
    rng = random.Random(seed + 1)
    n = 0
    while not stop.wait(INBOUND_EVERY):
        text = f"{rng.choice(INBOUND_TEXTS)} #{n}"
        try:
            board.post("/sms", {"port": rng.randrange(ports), "from": "+447700900777",
                                "text": text})
        except OSError:
            continue
        tally.inbound.append(text)
        n += 1


def thrower(board: SoakBoard, ports: int, every: float, tally: Tally, stop: threading.Event,
            seed: int) -> None:
    rng = random.Random(seed + 2)
    # no new faults once everything is submitted: the queue's tail then drains
    while not stop.wait(every * rng.uniform(0.5, 1.5)) and not tally.submitted.is_set():
        kind, port = rng.choice(FAULTS), rng.randrange(ports)
        board.post("/fault", {"port": port, "fault": kind})
        if kind in HELD:
            stop.wait(FAULT_HOLD)
            board.post("/fault", {"port": port, "fault": "none"})
        # unplug and sim_busy last their default seconds (faults.py) before the port can heal
        end = time.time() + {"unplug": 2.0, "sim_busy": 3.0}.get(kind, 0.0)
        tally.faults.append((kind, port, end))


# --- the end: figures ------------------------------------------------------------------------
def journal(path: str) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def part_key(entry: dict[str, Any]) -> tuple[int, int]:
    """(message index, part number) of a journal entry (concat: [ref, total, seq] or null)."""
    digits = "".join(ch for ch in str(entry["to"]) if ch.isdigit())
    concat = entry.get("concat")
    seq = int(concat[2]) if isinstance(concat, list) and len(concat) >= 3 else 1
    return int(digits) - FIRST_NUMBER, seq


def recovery_times(d: Daemon, tally: Tally) -> dict[str, tuple[list[float], int]]:
    """Per fault kind: seconds from the fault's end to the port's next part sent (the parts'
    own send times, to the millisecond; the journal's are whole seconds), and how many faults
    saw no part sent on their port afterwards (no traffic left, or never healed)."""
    by_port: dict[int, list[float]] = collections.defaultdict(list)
    for port, sent in db_query(d, "SELECT port, sent FROM parts WHERE status = 'sent' "
                                  "AND sent IS NOT NULL"):
        by_port[int(port)].append(float(sent))
    for times in by_port.values():
        times.sort()
    out: dict[str, tuple[list[float], int]] = {}
    for kind, port, end in tally.faults:
        times, never = out.setdefault(kind, ([], 0))
        sent = by_port.get(port, [])
        i = bisect.bisect_left(sent, end)
        if i < len(sent):
            times.append(sent[i] - end)
        else:
            out[kind] = (times, never + 1)
    return out


def settle(d: Daemon, what: str, probe: Any, quiet: float, limit: float) -> None:
    """Wait until `probe()` has not changed for `quiet` seconds (at most `limit` s)."""
    last, since, t0 = probe(), time.monotonic(), time.monotonic()
    while time.monotonic() - since < quiet and time.monotonic() - t0 < limit:
        time.sleep(1)
        now = probe()
        if now != last:
            last, since = now, time.monotonic()


def report(d: Daemon, tally: Tally, journal_path: str, rss: tuple[int, int],
           duration: float, on_sims: int) -> dict[str, float]:
    accepted = {i for first, n in tally.accepted for i in range(first, first + n)}
    unanswered = {i for first, n in tally.unanswered for i in range(first, first + n)}
    status: dict[int, str] = {}
    for num, st in db_query(d, "SELECT number, status FROM messages"):
        status[int(num.lstrip("+")) - FIRST_NUMBER] = st
    parts_of: dict[int, int] = {}
    for num, n in db_query(d, "SELECT m.number, COUNT(DISTINCT p.seq) FROM messages m "
                              "JOIN parts p ON p.message_id = m.id GROUP BY m.id"):
        parts_of[int(num.lstrip("+")) - FIRST_NUMBER] = int(n)
    entries = journal(journal_path)
    sends = collections.Counter(part_key(e) for e in entries)
    seen_parts: dict[int, set[int]] = collections.defaultdict(set)
    for (i, seq) in sends:
        seen_parts[i].add(seq)

    states = collections.Counter(status.get(i, "MISSING") for i in accepted)
    not_final = [i for i in accepted if status.get(i) not in FINAL]
    # "sent" according to the daemon while the network did not get all its parts
    phantom = [i for i in status if status[i] in ("SENT_OK", "DELIVERED")
               and len(seen_parts.get(i, ())) < parts_of.get(i, 1)]
    stored_unanswered = [i for i in unanswered if i in status]
    not_final += [i for i in stored_unanswered if status[i] not in FINAL]
    lost = len(not_final) + len(phantom)
    duplicated = {i for (i, _), n in sends.items() if n > 1}
    dup_unknown = [i for i in duplicated if status.get(i) == "UNKNOWN"]
    dup_other = collections.Counter(status.get(i, "MISSING") for i in duplicated
                                    if status.get(i) != "UNKNOWN")
    sent = [i for i in status if status[i] in ("SENT_OK", "DELIVERED")]
    delivered = sum(1 for i in sent if status[i] == "DELIVERED")
    dlr_rate = 100.0 * delivered / len(sent) if sent else 0.0
    no_report_faults = sum(1 for k, _, _ in tally.faults if k == "no_report")

    stored_in = collections.Counter(t for (t,) in db_query(d, "SELECT text FROM inbound"))
    got = sum(1 for t in tally.inbound if stored_in.get(t))
    doubled = sum(1 for t in tally.inbound if stored_in.get(t, 0) > 1)

    print(f"duration: {duration:.0f} s, {len(tally.kills)} kills (down {statistics.median(tally.kills) if tally.kills else 0:.1f} s median, "
          f"{max(tally.kills, default=0):.1f} s max), {len(tally.faults)} faults")
    print(f"accepted: {len(accepted)} (requests refused or unanswered while the daemon was down: "
          f"{tally.refused} refused, {len(unanswered)} messages unanswered of which "
          f"{len(stored_unanswered)} were stored and followed)")
    print("final states of the accepted: " + ", ".join(f"{k} {v}" for k, v in sorted(states.items())))
    print(f"sent: {len(sent)} messages, {len(entries)} parts accepted by the network")
    print(f"lost: {lost} ({len(not_final)} not final, {len(phantom)} marked sent but not all "
          "parts on the air)")
    if not_final or phantom:
        print(f"  e.g. not final {sorted(not_final)[:10]}, phantom {sorted(phantom)[:10]}")
    print(f"duplicates: {len(duplicated)} messages sent twice, {len(dup_unknown)} of them "
          f"UNKNOWN (allowed), {sum(dup_other.values())} not UNKNOWN"
          + (f": {dict(dup_other)}" if dup_other else ""))
    print(f"delivery reports: {delivered} of {len(sent)} sent matched ({dlr_rate:.2f} %); "
          f"{no_report_faults} no_report faults each dropped the network's report of a submit")
    print(f"inbound: {len(tally.inbound)} received by the board, {got} stored"
          + (f", {doubled} stored twice" if doubled else "")
          + f"; {on_sims} messages left in the SIMs' storage")
    missing = [t for t in tally.inbound if not stored_in.get(t)]
    if missing:
        print(f"  not stored: {missing[:8]}")
    print("recovery (fault's end -> the port's next part on the air), per fault kind:")
    for kind, (times, never) in sorted(recovery_times(d, tally).items()):
        med = f"{statistics.median(times):6.2f}" if times else "     -"
        print(f"  {kind:20s} n={len(times) + never:3d} median {med} s  max "
              f"{max(times, default=0):6.2f} s" + (f"  no part after: {never}" if never else ""))
    print(f"daemon RSS: {rss[0] / 1024:.1f} MB early in its first life, {rss[1] / 1024:.1f} MB "
          f"at the end; before each kill: max {max(tally.rss_lives, default=0) / 1024:.1f} MB")
    return {"lost": lost, "dlr": dlr_rate, "accepted": len(accepted), "kills": len(tally.kills),
            "sent": len(sent), "faults": len(tally.faults), "rss_growth": (rss[1] - rss[0]) / 1024,
            "dup_other": sum(dup_other.values())}


def rss_of(d: Daemon) -> int:
    assert d.proc is not None
    return status_kib(d.proc.pid, "VmRSS")


def run(args: argparse.Namespace, state: str | None = None) -> dict[str, float]:
    """The soak in `state` (a new temp dir when None); its figures, printed and returned."""
    own_state = state is None
    state = state or tempfile.mkdtemp(prefix="smsd-soak-")
    journal_path = os.path.join(state, "network.jsonl")
    board = SoakBoard(args.ports, args.simulator_latency, journal_path)
    d = make_daemon(board, state, args.quick_recovery)
    tally, stop = Tally(), threading.Event()
    t0 = time.monotonic()
    try:
        d.start(60, wait_ports=False)
        wait_for(d.all_registered, 60, interval=0.5, what="all ports registered")
        time.sleep(2)
        rss_start = rss_of(d)
        sub = threading.Thread(target=submitter, args=(d, args.messages, tally, stop, args.seed))
        feed = threading.Thread(target=feeder, args=(board, args.ports, tally, stop, args.seed))
        throw = threading.Thread(target=thrower, args=(board, args.ports, args.fault_every, tally,
                                                       stop, args.seed))
        for t in (sub, feed, throw):
            t.start()
        next_kill = time.monotonic() + args.kill_every
        drained_log = False
        while sub.is_alive() or open_count(d) > 0:
            if time.monotonic() - t0 > args.timeout:
                print("timed out: the queue did not drain", flush=True)
                break
            if (time.monotonic() >= next_kill and args.kill_every > 0
                    and len(tally.kills) < args.max_kills):
                tally.rss_lives.append(rss_of(d))
                down = time.monotonic()
                d.kill9()
                time.sleep(random.Random(len(tally.kills)).uniform(0.2, 2.0))
                d.start(60, wait_ports=False)
                tally.kills.append(time.monotonic() - down)
                print(f"[{time.monotonic() - t0:5.0f} s] kill {len(tally.kills)}: "
                      f"{sum(n for _, n in tally.accepted)} accepted, {open_count(d)} queued",
                      flush=True)
                next_kill = time.monotonic() + args.kill_every
            if tally.submitted.is_set() and not drained_log:
                drained_log = True
                print(f"[{time.monotonic() - t0:5.0f} s] all {args.messages} accepted, "
                      f"{open_count(d)} queued", flush=True)
            time.sleep(0.5)
        print(f"[{time.monotonic() - t0:5.0f} s] queue drained", flush=True)
        stop.set()
        for t in (sub, feed, throw):
            t.join(60)
        for port in range(args.ports):
            board.post("/fault", {"port": port, "fault": "none"})
        wait_for(lambda: open_count(d) == 0, max(120.0, args.timeout - (time.monotonic() - t0)),
                 interval=1, what="the queue drained after the last fault")
        # late reports come 20 report delays after their submit; inbound to be read off the SIMs
        settle(d, "reports", lambda: db_query(
            d, "SELECT (SELECT COUNT(*) FROM messages WHERE status = 'DELIVERED'), "
               "(SELECT COUNT(*) FROM inbound)"), quiet=max(3.0, 15 * args.simulator_latency),
            limit=120)
        print(f"[{time.monotonic() - t0:5.0f} s] reports and inbound settled", flush=True)
        duration = time.monotonic() - t0
        rss_end = rss_of(d)
        return report(d, tally, journal_path, (rss_start, rss_end), duration, board.stored_all())
    finally:
        stop.set()
        d.stop()
        board.stop()
        if own_state and not args.keep_state:
            shutil.rmtree(state, ignore_errors=True)      # ~100 MB after 50,000 messages
        elif own_state:
            print(f"state, database and network journal kept in {state}")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--messages", type=int, default=50_000)
    p.add_argument("--kill-every", type=float, default=60.0, help="seconds between SIGKILLs")
    p.add_argument("--fault-every", type=float, default=3.0,
                   help="seconds between faults (on average)")
    p.add_argument("--ports", type=int, default=32)
    p.add_argument("--simulator-latency", type=float, default=0.1,
                   help="simulated submit time per part (s)")
    p.add_argument("--max-kills", type=int, default=1_000_000, help="stop killing after")
    p.add_argument("--quick-recovery", action="store_true",
                   help="short [modem] waits (command 1.5 s, quarantine retry 2 s), for tests")
    p.add_argument("--keep-state", action="store_true",
                   help="keep the temp dir (database, network journal) for a look afterwards")
    p.add_argument("--seed", type=int, default=19)
    p.add_argument("--timeout", type=float, default=7200.0, help="give up after (s)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    # a SIGTERM (or SIGINT, ignored in a background job) still stops the daemon and the board
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print(f"soak: {args.messages} messages on {args.ports} ports at {args.simulator_latency} s "
          f"per part; SIGKILL every {args.kill_every:g} s; a fault every {args.fault_every:g} s "
          f"of {len(FAULTS)} kinds", flush=True)
    figures = run(args)
    # a loss or a duplicate is a fault of the daemon, not a figure: the exit status says so
    intact = result("soak_lost", figures["lost"], "messages", "==", 0)
    intact &= result("soak_duplicates_not_unknown", figures["dup_other"], "messages", "==", 0)
    result("soak_dlr_match", figures["dlr"], "%", ">=", 99)
    result("soak_rss_growth", figures["rss_growth"], "MB", "<=", 20)
    return 0 if intact else 1


if __name__ == "__main__":
    sys.exit(main())
