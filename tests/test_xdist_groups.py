"""`make test` runs the suite on every core (pytest-xdist, --dist loadgroup); the tests that share
something fixed on the machine keep to one worker each (tests/conftest.py). Checked on the real
collection, so a moved or renamed browser test cannot drop out of its group unnoticed."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).parent


def grouped() -> dict[str, str]:
    """node id -> xdist group, for every collected test that has one (collect-only run)."""
    probe = ("import pytest, sys\n"
             "class Show:\n"
             "    def pytest_collection_finish(self, session):\n"
             "        for item in session.items:\n"
             "            mark = item.get_closest_marker('xdist_group')\n"
             "            if mark: print('GROUP', item.nodeid, mark.args[0])\n"
             "sys.exit(pytest.main(['--collect-only', '-q', '-p', 'no:xdist', '-p', "
             "'no:cacheprovider', *sys.argv[1:]], plugins=[Show()]))\n")
    files = ("web/test_browser_walk.py", "web/test_network_browser.py", "web/test_web_users.py",
             "e2e/test_upgrade.py", "test_version.py")
    done = subprocess.run([sys.executable, "-c", probe, *(str(TESTS / f) for f in files)],
                          capture_output=True, text=True, timeout=120, cwd=TESTS.parent)
    assert done.returncode == 0, done.stdout + done.stderr
    return {parts[1]: parts[2] for parts in (line.split() for line in done.stdout.splitlines())
            if parts[:1] == ["GROUP"]}


def test_browser_and_upgrade_tests_keep_to_one_worker_each() -> None:
    groups = grouped()
    browser = {node for node, group in groups.items() if group == "browser"}
    assert "tests/web/test_browser_walk.py::test_walk" in browser
    assert any(node.startswith("tests/web/test_network_browser.py::") for node in browser)
    assert {g for n, g in groups.items() if n.startswith("tests/e2e/test_upgrade.py::")} \
        == {"upgrade-venvs"}
    # Everything else spreads freely: the console's HTTP tests, the unit tests.
    assert not any(n.startswith(("tests/web/test_web_users.py", "tests/test_version.py"))
                   for n in groups)
