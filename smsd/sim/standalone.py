"""The simulated board in a process of its own: `python -m smsd.sim`.

`smsd run --simulate N` keeps the board inside the daemon, so a SIGKILL of the daemon takes the
modems, their SIM storage and the network with it. A real board outlives a crash of the daemon:
the SMS and status reports the network hands the modems meanwhile wait in SIM storage. To test
that (docs/durability.md), this runs the board alone, prints one JSON line

    {"devices": ["/tmp/smsd-sim-x/platform-sim.usb-usb-0:1.1-at", ...],
     "control": "http://127.0.0.1:PORT"}

(each a port's stable name, a link to its pty: see board.py) and serves a small control API on
loopback until SIGTERM/SIGINT; the daemon opens the devices
as real serial ports (`[port.N] device = ...` in its config). Control requests (JSON bodies):
POST /sms {"port", "from", "text"[, "slot"]} injects an SMS from the outside world; POST
/submit_time {"port", "seconds"} (null: back to the latency) slows a port's network; POST
/fault takes what the daemon's POST /sim/fault takes (a fault, or a schedule for a soak); GET
/storage?port=N answers {"used": n} (the active SIM's occupied storage locations).
"""
from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import urllib.parse
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from smsd.sim.board import SimBoard
from smsd.sim.timing import SimTiming

Action = Callable[[SimBoard, dict[str, Any]], dict[str, Any]]


def _sms(board: SimBoard, body: dict[str, Any]) -> dict[str, Any]:
    parts = board.inject_sms(int(body["port"]), str(body["from"]), str(body["text"]),
                             body.get("slot"))
    return {"parts": parts}


def _submit_time(board: SimBoard, body: dict[str, Any]) -> dict[str, Any]:
    seconds = body.get("seconds")
    board.set_submit_time(int(body["port"]), None if seconds is None else float(seconds))
    return {}


def _fault(board: SimBoard, body: dict[str, Any]) -> dict[str, Any]:
    """As the daemon's POST /sim/fault (docs/simulator.md#faults): a fault now, or a schedule."""
    if "schedule" in body:
        return {"planned": board.schedule_faults(body["schedule"])}
    count, seconds = body.get("count"), body.get("seconds")
    board.set_fault(int(body["port"]), str(body.get("fault", "none")),
                    None if count is None else int(count),
                    None if seconds is None else float(seconds))
    return {}


POSTS: dict[str, Action] = {"/sms": _sms, "/submit_time": _submit_time, "/fault": _fault}


def _storage(board: SimBoard, query: dict[str, str]) -> dict[str, Any]:
    port = int(query.get("port", "0"))
    return {"used": board.network.card(port, board.active_slot(port)).used()}


def _handler(board: SimBoard) -> type[BaseHTTPRequestHandler]:
    class Control(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            action = POSTS.get(self.path)
            try:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                if action is None or not isinstance(body, dict):
                    raise ValueError(f"no such control {self.path}")
                self._answer(200, action(board, body))
            except (ValueError, KeyError, TypeError) as exc:
                self._answer(400, {"error": str(exc)})

        def do_GET(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            if url.path != "/storage":
                self._answer(404, {"error": "not found"})
                return
            try:
                self._answer(200, _storage(board, dict(urllib.parse.parse_qsl(url.query))))
            except ValueError as exc:
                self._answer(400, {"error": str(exc)})

        def _answer(self, status: int, obj: dict[str, Any]) -> None:
            data = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass
    return Control


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m smsd.sim", description=__doc__.split("\n")[0])
    p.add_argument("--ports", type=int, default=2)
    p.add_argument("--slots", type=int, default=1)
    p.add_argument("--latency", type=float, default=0.05, help="submit time per part (s)")
    p.add_argument("--report-delay", type=float, help="submit accepted -> status report (s)")
    p.add_argument("--journal", help="append every accepted SMS part to this file (JSON lines)")
    p.add_argument("--link-setup", type=float, default=0.0,
                   help="radio link set-up per submit unless AT+CMMS holds the link open (s)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    timing = SimTiming.scaled(args.latency)
    if args.report_delay is not None:
        timing = replace(timing, report=args.report_delay)
    timing = replace(timing, link_setup=args.link_setup)
    board = SimBoard(ports=args.ports, slots=args.slots, latency=args.latency, timing=timing,
                     journal=args.journal)
    board.start()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(board))
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    devices = [board.device(p) for p in range(args.ports)]
    print(json.dumps({"devices": devices,
                      "control": f"http://127.0.0.1:{server.server_address[1]}"}), flush=True)
    stop.wait()
    server.shutdown()
    board.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
