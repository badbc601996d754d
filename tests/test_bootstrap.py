"""scripts/bootstrap.sh (what `make run` and `make test` call first) waits for another apt and
stops at the first failed step, and make stops with it. The system commands it runs (apt-get, id,
the compiler checks, the venv's python) are stand-in scripts on PATH that log their arguments."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LOCKED = ("E: Could not get lock /var/lib/apt/lists/lock. It is held by process 7 (apt-get)\n"
          "E: Unable to lock directory /var/lib/apt/lists/")


def stand_in(directory: Path, name: str, body: str) -> None:
    path = directory / name
    path.write_text(f'#!/bin/sh\necho "{name} $*" >>"$CALLS"\n{body}\n', encoding="utf-8")
    path.chmod(0o755)


@pytest.fixture
def box(tmp_path: Path) -> Path:
    """A project directory with the real script and Makefile, and stand-in commands: the checks
    find everything but pkg-config's libraries, so apt-get is needed; we are root."""
    project = tmp_path / "project"
    (project / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "bootstrap.sh", project / "scripts")
    shutil.copy(ROOT / "Makefile", project)
    for name in ("setup.cfg", "setup.py", "pyproject.toml"):
        (project / name).write_text("")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stand_in(bin_dir, "id", "echo 0")
    stand_in(bin_dir, "sleep", "")
    stand_in(bin_dir, "gcc", "")
    stand_in(bin_dir, "dbus-daemon", "")
    stand_in(bin_dir, "chromium", "")
    stand_in(bin_dir, "chromedriver", "")
    stand_in(bin_dir, "pkg-config", "exit 1")
    # apt-get update answers "locked" while $LOCKED_TIMES says so, then as $UPDATE says.
    stand_in(bin_dir, "apt-get", f"""
case "$*" in *" update"*)
    n=$(cat "$CALLS.locked" 2>/dev/null || echo 0)
    if [ "$n" -lt "${{LOCKED_TIMES:-0}}" ]; then
        echo $((n + 1)) >"$CALLS.locked"; printf '%s\\n' "{LOCKED}" >&2; exit 100
    fi
    exit "${{UPDATE:-0}}";;
esac
exit "${{INSTALL:-0}}" """)
    # python3 -m venv makes a .venv whose python fails `pip install -e` when $PIP says so.
    stand_in(bin_dir, "python3", """
if [ "$1 $2" = "-m venv" ]; then
    mkdir -p .venv/bin
    printf '#!/bin/sh\\necho "venv-python $*" >>"$CALLS"\\n' >.venv/bin/python
    printf 'case "$*" in *"install -q -e"*) exit "${PIP:-0}";; esac\\n' >>.venv/bin/python
    chmod 755 .venv/bin/python
fi""")
    return project


def bootstrap(box: Path, *command: str, **env: str) -> tuple[subprocess.CompletedProcess[str],
                                                             list[str]]:
    calls = box.parent / "calls"
    calls.write_text("")
    run = subprocess.run(list(command) or ["sh", "scripts/bootstrap.sh"], cwd=box,
                         capture_output=True, text=True, timeout=60,
                         env={**os.environ, **env, "CALLS": str(calls),
                              "PATH": f"{box.parent / 'bin'}:{os.environ['PATH']}"})
    return run, calls.read_text().splitlines()


def test_a_clean_run_installs_what_is_missing_then_sets_up_the_venv(box: Path) -> None:
    run, calls = bootstrap(box)
    assert run.returncode == 0, run.stderr
    apt = [c for c in calls if c.startswith("apt-get")]
    assert apt == ["apt-get -o DPkg::Lock::Timeout=600 update -qq",
                   "apt-get -o DPkg::Lock::Timeout=600 install -y -qq pkg-config libdbus-1-dev "
                   "libglib2.0-dev"]
    assert calls[-1] == "venv-python -m pip install -q -e .[dev]"


def test_update_waits_while_another_apt_holds_the_package_lists(box: Path) -> None:
    run, calls = bootstrap(box, LOCKED_TIMES="3")
    assert run.returncode == 0, run.stderr
    assert [c for c in calls if c.startswith(("apt-get", "sleep"))] == [
        "apt-get -o DPkg::Lock::Timeout=600 update -qq", "sleep 5"] * 3 + [
        "apt-get -o DPkg::Lock::Timeout=600 update -qq",
        "apt-get -o DPkg::Lock::Timeout=600 install -y -qq pkg-config libdbus-1-dev "
        "libglib2.0-dev"]
    assert run.stderr.count("another apt holds the package lists, waiting") == 1


def test_a_lock_held_past_the_wait_stops_the_setup(box: Path) -> None:
    run, calls = bootstrap(box, LOCKED_TIMES="99", LOCK_WAIT="10")
    assert run.returncode != 0
    assert sum(c.startswith("apt-get") for c in calls) == 3            # at 0, 5 and 10 s
    assert "Could not get lock" in run.stderr
    assert not any(" install " in c or "-m venv" in c for c in calls)


@pytest.mark.parametrize("failing", [{"UPDATE": "100"}, {"INSTALL": "100"}])
def test_a_failed_apt_step_stops_the_setup(box: Path, failing: dict[str, str]) -> None:
    run, calls = bootstrap(box, **failing)
    assert run.returncode != 0
    assert not (box / ".venv").exists() and not any("-m venv" in c for c in calls)
    if "UPDATE" in failing:
        assert not any(" install " in c for c in calls)


def test_a_failed_pip_install_fails_make_and_leaves_no_stamp(box: Path) -> None:
    run, calls = bootstrap(box, "make", "-s", ".venv/.installed", PIP="1")
    assert run.returncode != 0
    assert calls[-1] == "venv-python -m pip install -q -e .[dev]"
    assert not (box / ".venv" / ".installed").exists()
    run, _ = bootstrap(box, "make", "-s", ".venv/.installed")              # and it reruns
    assert run.returncode == 0, run.stderr
    assert (box / ".venv" / ".installed").exists()
