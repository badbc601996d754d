from __future__ import annotations

import sys
from pathlib import Path

# tests/web's helpers import the suite's shared fakes (tests/fakes.py) and each other.
for folder in (Path(__file__).parent, Path(__file__).parents[1]):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))


import pytest  # noqa: E402


@pytest.fixture
def console_daemon(tmp_path: Path):  # type: ignore[no-untyped-def]
    """The real daemon in simulate mode (2 ports), its console at `.base`; admin password
    tests/e2e/harness.ADMIN_PW."""
    from e2e.harness import Daemon
    daemon = Daemon(str(tmp_path / "state"), ports=2, latency=0.05)
    daemon.start()
    yield daemon
    daemon.stop()
    print(f"--- daemon log (last 80 lines) ---\n{''.join(daemon.output[-80:])}")


@pytest.fixture
def walk(console_daemon, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A headless Chromium on the console (skipped, saying why, without chromium)."""
    import browser
    why = browser.missing()
    if why:
        pytest.skip(why)
    for old in browser.SCREENSHOTS.glob("*.png"):      # this run's pictures only
        old.unlink()
    driver = browser.new_driver(tmp_path / "chromium-profile")
    try:
        yield browser.Walk(driver, console_daemon.base)
    finally:
        driver.quit()


@pytest.fixture
def front(tmp_path: Path):  # type: ignore[no-untyped-def]
    """The console and the APIs over real HTTP on loopback, on a temp database (console_front)."""
    from console_front import ConsoleFront
    with ConsoleFront(tmp_path) as served:
        yield served


@pytest.fixture
def admin(front):  # type: ignore[no-untyped-def]
    """A client signed in as the admin."""
    from console_front import ADMIN_PW
    client = front.client()
    assert client.login("admin", ADMIN_PW).status == 303
    return client
