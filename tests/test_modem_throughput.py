"""Throughput: 32 ports, each +CMGS taking L seconds, must reach >= 95% of 32/L parts/s.

The worker starts the next queued part the moment the previous answer arrives, so the only
per-part cost beyond L is parsing and two sink calls.
"""
from __future__ import annotations

import time

from smsd.modem.jobs import SendPart
from smsd.modem.worker import ModemWorker
from smsd.pdu import _python as pdu
from smsd.sim import SimBoard
from tests.test_modem_fakes import RecordingSink

PORTS, LATENCY, PARTS_EACH = 32, 0.5, 6


def test_board_reaches_95_percent_of_ports_over_latency() -> None:
    first = pdu.encode_submit("+447700900123", "hello")[0]
    with SimBoard(ports=PORTS, latency=LATENCY) as board:
        sink = RecordingSink()
        workers = [ModemWorker(p, board.device(p), sink) for p in range(PORTS)]
        for worker in workers:
            worker.start()
        try:
            assert sink.wait(lambda: all(w.info.can_send for w in workers), 30)
            started = time.monotonic()
            for i in range(PARTS_EACH):
                for worker in workers:
                    worker.submit(SendPart(i, first.hex, first.tpdu_len))
            assert sink.wait(lambda: len(sink.results) == PORTS * PARTS_EACH, 60)
            elapsed = time.monotonic() - started
        finally:
            for worker in workers:
                worker.stop()
    assert all(result.ok for _, result in sink.results)
    rate = PORTS * PARTS_EACH / elapsed
    assert rate >= 0.95 * PORTS / LATENCY, f"{rate:.1f} parts/s"
