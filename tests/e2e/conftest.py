from __future__ import annotations

from typing import Iterator

import pytest

from e2e.harness import Daemon, PushReceiver


@pytest.fixture
def make_daemon(tmp_path):  # type: ignore[no-untyped-def]
    started: list[Daemon] = []

    def make(**kw):  # type: ignore[no-untyped-def]
        d = Daemon(str(tmp_path / "state"), **kw)
        started.append(d)
        return d
    yield make
    for d in started:
        d.stop()
        # pytest shows a test's captured output only when it fails: the daemon's log then says
        # what the daemon was doing while the test waited
        print(f"--- daemon log (last 80 lines) ---\n{''.join(d.output[-80:])}")


@pytest.fixture
def receiver() -> Iterator[PushReceiver]:
    r = PushReceiver()
    yield r
    r.close()
