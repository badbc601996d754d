from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import pytest

if TYPE_CHECKING:
    from smsd.store import Store


@pytest.fixture()
def store(tmp_path: Path) -> Iterator["Store"]:
    """A fresh queue database in the test's temp dir, closed afterwards."""
    from smsd.store import Store          # here, not at the top: conftest is read for every test
    s = Store(str(tmp_path / "smsd.db"))
    yield s
    s.close()


@pytest.fixture(autouse=True)
def _process_umask_restored() -> Iterator[None]:
    # `smsd` commands and the daemon set umask 077 for their files; tests that run them in this
    # process must not leave it to the next test (a package built later would get 0700 dirs).
    old = os.umask(0o022)
    os.umask(old)
    yield
    os.umask(old)


# --- running on both cores (`make test`: pytest-xdist, `--dist loadgroup`) ---------------------
# Tests that share something fixed on the machine run on one worker, one after another: the
# browser tests (build/screenshots/, which the walk clears, and a Chromium each, too heavy for two
# at once on the 2-core box) and the upgrade tests (the venvs under build/upgrade-venvs/, made
# once under a file lock; one worker makes them while the other runs the rest). Everything else
# is isolated already (tmp_path; ports bound by the kernel, or held for a daemon by
# e2e/harness.py's reserved_port; a private D-Bus per module) and is spread freely. The groups
# are given here by path, so a new test in those files needs nothing.
TESTS = Path(__file__).parent
GROUPS = {
    "web/test_browser_walk.py": "browser",
    "web/test_network_browser.py": "browser",
    "e2e/test_upgrade.py": "upgrade-venvs",
}


def xdist_group_of(item: pytest.Item) -> str | None:
    """The group a test runs in under xdist, or None for any worker."""
    try:
        where = item.path.relative_to(TESTS).as_posix()
    except ValueError:
        return None
    if "walk" in getattr(item, "fixturenames", ()):     # a headless Chromium on the console
        return "browser"
    return GROUPS.get(where)


def pytest_configure(config: pytest.Config) -> None:
    # xdist registers the marker itself; `-p no:xdist` (make test JOBS=1) runs without it
    config.addinivalue_line("markers", "xdist_group(name): run on the same xdist worker as the "
                                       "other tests of that group")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        group = xdist_group_of(item)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))
