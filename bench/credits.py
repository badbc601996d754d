"""Credit debit cost at intake: in-process `Service.send_sms` requests per second for a user with a
credit balance (debited per part inside the intake transaction) and for one without.
Target: with credits >= 1,000 requests/s and at most 1.5 times the cost of the free user.

Commits skip fsync here (synchronous=NORMAL): with fsync the rate is the disk's (bench/intake.py
measures that over HTTP), and this figure is meant to show the debit's own cost.
Run from the project's venv: `.venv/bin/python bench/credits.py`.
"""
from __future__ import annotations

import os
import tempfile
import time

import common  # noqa: F401  (puts tests/ on sys.path for the fake worker)
from fakes import FakeWorker
from smsd.model import Recipient, SendRequest
from smsd.modem_events import ModemEventSink
from smsd.scheduler import Scheduler
from smsd.service import Service
from smsd.store import Store

ROUNDS, PER_ROUND = 5, 400


def main() -> None:
    path = os.path.join(tempfile.mkdtemp(prefix="smsd-bench-"), "credits.db")
    store = Store(path, synchronous="NORMAL")
    sched = Scheduler(store)
    sink = ModemEventSink(store, sched)
    workers = {p: FakeWorker(p, sink) for p in range(2)}
    sched.attach(workers)
    svc = Service(store, sched, workers)
    svc.users.add("ann", "pw", credits=1_000_000)
    svc.users.add("free", "pw")
    spent = {"ann": 0.0, "free": 0.0}
    for _ in range(ROUNDS):                      # alternate, so load changes hit both alike
        for user in spent:
            t = time.perf_counter()
            for i in range(PER_ROUND):
                svc.sending.send_sms(SendRequest("hi", (Recipient(str(i)),)), user=user)
            spent[user] += time.perf_counter() - t
    sched.stop()
    store.close()
    n = ROUNDS * PER_ROUND
    rate, ratio = n / spent["ann"], spent["ann"] / spent["free"]
    print(f"send_sms with credits: {rate:,.0f} requests/s; without: {n / spent['free']:,.0f} "
          f"requests/s; cost ratio {ratio:.2f}")
    ok = rate >= 1000 and ratio <= 1.5
    print(f"RESULT: target >= 1,000 requests/s with credits and ratio <= 1.5: "
          f"{'MET' if ok else 'NOT MET'}")


if __name__ == "__main__":
    main()
