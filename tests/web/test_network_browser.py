"""The Network page in a real browser against the real daemon, whose network service talks to
networkd, hostnamed and timedated played by python-dbusmock on a private system bus: a change
shows the trial banner counting down; left alone it rolls back (the page reloads itself and shows
the old settings); confirmed, it stays."""
from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

if shutil.which("dbus-daemon") is None:
    pytest.skip("dbus-daemon is not installed (apt-get install dbus): no private system bus",
                allow_module_level=True)

import browser  # noqa: E402
from e2e.harness import ADMIN_PW, Daemon  # noqa: E402
from test_network_dbus import OLD_FILE, Mocks, calls, fresh, mocks  # noqa: E402,F401
from smsd.system.network import MANAGED_FILE, read_file  # noqa: E402

WINDOW = "10"           # the shortest trial the page offers, in seconds


def until(w: browser.Walk, fn: Callable[[], object], what: str, timeout: float = 20.0) -> None:
    """w.wait, where an element that went stale (the page was replaced meanwhile) means "not
    yet"."""
    from selenium.common.exceptions import StaleElementReferenceException

    def probe() -> object:
        try:
            return fn()
        except (StaleElementReferenceException, ValueError):
            return False
    w.wait(probe, timeout, what)


def shot(w: browser.Walk, name: str) -> None:
    """Beside the walk's screenshots, in a folder of their own (the walk clears its own)."""
    folder = browser.SCREENSHOTS / "network"
    folder.mkdir(parents=True, exist_ok=True)
    w.driver.save_screenshot(str(folder / f"{name}.png"))


def see(w: browser.Walk, text: str, timeout: float = 20.0) -> None:
    until(w, lambda: text in w.text(), f"{text!r}", timeout)


@pytest.fixture
def managed(fresh: Mocks, tmp_path: Path) -> Iterator[tuple[Daemon, Path]]:  # noqa: F811
    netdir = tmp_path / "network"
    netdir.mkdir()
    (netdir / MANAGED_FILE).write_text(OLD_FILE)
    conf = tmp_path / "smsd.conf"
    conf.write_text(f"[network]\nmanage = yes\ndir = {netdir}\ninterface = eth0\n")
    daemon = Daemon(str(tmp_path / "state"), ports=1, extra=("--config", str(conf)))
    daemon.start(wait_ports=False)        # DBUS_SYSTEM_BUS_ADDRESS: the private bus
    yield daemon, netdir
    daemon.stop()


@pytest.fixture
def w(managed: tuple[Daemon, Path], tmp_path: Path) -> Iterator[browser.Walk]:
    why = browser.missing()
    if why:
        pytest.skip(why)
    driver = browser.new_driver(tmp_path / "chromium-profile")
    try:
        walk = browser.Walk(driver, managed[0].base)
        walk.login("admin", ADMIN_PW)
        walk.wait(lambda: "/dashboard" in driver.current_url, what="sign-in")
        yield walk
    finally:
        driver.quit()


def change_to_static(w: browser.Walk) -> None:
    w.click_nav("Network")
    see(w, "Roll back unless confirmed")
    w.driver.find_element("css selector", "input[name=mode][value=static]").click()
    for name, value in (("address", "192.168.7.50"), ("prefix", "24"),
                        ("gateway", "192.168.7.1"), ("dns", "192.168.7.1"),
                        ("hostname", "sms-gw"), ("confirm_within", WINDOW)):
        w.fill(name, value)
    w.submit("Apply")


def test_change_rolls_back_unless_confirmed(w: browser.Walk, managed: tuple[Daemon, Path],
                                            fresh: Mocks) -> None:  # noqa: F811
    netdir = managed[1]
    # Bad input first: shown at its field, nothing written.
    w.click_nav("Network")
    w.driver.find_element("css selector", "input[name=mode][value=static]").click()
    w.fill("address", "192.168.7.50")
    w.fill("gateway", "10.9.9.1")
    w.submit("Apply")
    see(w, "outside 192.168.7.0/24")
    assert w.driver.find_element("id", "gateway-error").is_displayed()
    assert read_file(str(netdir / MANAGED_FILE)) == OLD_FILE
    shot(w, "network-bad-gateway")

    change_to_static(w)
    see(w, "on trial")
    assert "Address=192.168.7.50/24" in (read_file(str(netdir / MANAGED_FILE)) or "")
    until(w, lambda: int(w.driver.find_element("id", "network-countdown").text) < int(WINDOW),
          "the countdown running")
    shot(w, "network-banner")
    # Nobody confirms: the box rolls back, and the page reloads itself to show it.
    until(w, lambda: not w.driver.find_elements("id", "network-pending"),
          "the banner gone after the rollback", timeout=30)
    assert read_file(str(netdir / MANAGED_FILE)) == OLD_FILE
    assert w.driver.find_element("css selector", "input[name=mode][value=dhcp]").is_selected()
    assert w.driver.find_element("name", "hostname").get_attribute("value") == "smsd"
    shot(w, "network-rolled-back")


def test_change_confirmed_stays(w: browser.Walk, managed: tuple[Daemon, Path]) -> None:
    netdir = managed[1]
    change_to_static(w)
    see(w, "on trial")
    w.submit("Confirm the new settings")
    see(w, "confirmed and kept")
    shot(w, "network-confirmed")
    time.sleep(float(WINDOW) + 2)          # past the trial: nothing rolls back
    w.driver.refresh()
    assert "Address=192.168.7.50/24" in (read_file(str(netdir / MANAGED_FILE)) or "")
    assert w.driver.find_element("name", "hostname").get_attribute("value") == "sms-gw"
    w.click_nav("System")
    see(w, "network.confirm")
    assert "network.apply" in w.text()
