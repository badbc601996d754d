"""The command line refuses what it does not understand: unknown config sections and keys (file,
line, section, key and a "did you mean"), abbreviated long options; says `smsd --version`; every
subcommand finds the same state dir and says which when nobody chose it; a busy listen address is
one line. Run as the user runs it: `python -m smsd ...` in a subprocess."""
from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import smsd
from smsd import cli, config
from smsd.errors import ConfigError
from smsd.system.listen import ListenError, check_listen
from tests.e2e.harness import reserved_port

ROOT = Path(__file__).resolve().parent.parent


def smsd_run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "smsd", *args], capture_output=True, text=True,
                          timeout=60, cwd=cwd, env={**os.environ, "PYTHONPATH": str(ROOT)})


def write(tmp_path: Path, text: str, name: str = "smsd.conf") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


# --- unknown sections and keys ------------------------------------------------------------------
def test_an_unknown_key_stops_the_daemon_with_status_2_naming_file_line_section_key(
        tmp_path: Path) -> None:
    conf = write(tmp_path, "# smsd\n[daemon]\nlisten = 127.0.0.1:1\nlisten_adress = :80\n")
    state = tmp_path / "state"
    run = smsd_run("run", "--simulate", "1", "--config", conf, "--state-dir", str(state))
    assert run.returncode == 2
    assert run.stderr == (f"smsd: {conf}:4: [daemon] listen_adress: unknown key "
                          "(did you mean 'listen'?)\n")
    assert run.stdout == "" and not state.exists()          # refused before anything started


KNOWN = ("(known: [daemon], [push], [simulate], [port.N], [network], [web], [smpp], [metrics], "
         "[remote], [modem], [drp-server])")


@pytest.mark.parametrize("text, message", [
    ("[deamon]\nlisten = :80\n", "smsd.conf:1: [deamon]: unknown section (did you mean [daemon]?)"),
    ("[simulate]\nports = 2\n\n[gsm]\n", f"smsd.conf:4: [gsm]: unknown section {KNOWN}"),
    ("[modems]\n", "smsd.conf:1: [modems]: unknown section (did you mean [modem]?)"),
    ("[ports.0]\ndevice = /dev/ttyS0\n",
     "smsd.conf:1: [ports.0]: unknown section (did you mean [port.N]?)"),
    # configparser would copy a [DEFAULT] section's keys into every section
    ("[DEFAULT]\nslots = 2\n[simulate]\nports = 2\n",
     f"smsd.conf:1: [DEFAULT]: unknown section {KNOWN}"),
    ("[port.3]\ndevice = /dev/ttyS0\nslot = 2\n",
     "smsd.conf:3: [port.3] slot: unknown key (did you mean 'slots'?)"),
    ("[daemon]\nports = 2\n",
     "smsd.conf:2: [daemon] ports: unknown key (it belongs in [simulate])"),
    ("[network]\nmanage = yes\nGateway = 10.0.0.1\n",
     "smsd.conf:3: [network] gateway: unknown key (known: dir, interface, manage)"),
    # values too, whichever command reads the file
    ("[daemon]\n\nlog_level = loud\n",
     "smsd.conf:3: [daemon] log_level: 'loud' is not one of debug, info, warning, error"),
])
def test_unknown_sections_and_keys_are_refused(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        config.load_file(write(tmp_path, text))
    assert str(err.value) == f"{tmp_path / message}"


def test_known_sections_and_keys_load(tmp_path: Path) -> None:
    sample = {"daemon": {"state_dir": "/tmp/x", "listen": ":8080", "log_level": "info",
                         "http_threads": "4", "board": "/etc/smsd/board.ini"},
              "push": {"url": "http://127.0.0.1:9/"},
              "simulate": {"ports": "2", "slots": "2", "latency": "0"},
              "port.0": {"device": "/dev/ttyS0", "slots": "1", "baudrate": "9600"},
              "network": {"manage": "no", "dir": "/tmp/n", "interface": "eth1"}}
    text = "".join(f"[{section}]\n" + "".join(f"{k} = {v}\n" for k, v in keys.items())
                   for section, keys in sample.items())
    values = config.load_file(write(tmp_path, text))
    assert values["simulate"] == 2 and values["network_interface"] == "eth1"


def shipped_configs(tmp_path: Path) -> Iterator[str]:
    """The package's smsd.conf, and the image's: the package's plus the [network] section that
    image/scripts/configure.sh appends."""
    shipped = (ROOT / "debian" / "smsd.conf").read_text(encoding="utf-8")
    yield write(tmp_path, shipped, "package.conf")
    script = (ROOT / "image" / "scripts" / "configure.sh").read_text(encoding="utf-8")
    appended = re.search(r"<<'CONF'\n(.*?)\nCONF\n", script, re.S)
    assert appended is not None
    yield write(tmp_path, shipped + appended[1] + "\n", "image.conf")


def test_the_shipped_configs_validate(tmp_path: Path) -> None:
    for path in shipped_configs(tmp_path):
        values = config.load_file(path)
        assert values["listen"] == ("0.0.0.0:80",)
    assert values["network_manage"] is True


def test_every_subcommand_validates_the_config_alike(tmp_path: Path) -> None:
    conf = write(tmp_path, "[daemon]\nstate_dir = x\nstatedir = y\n")
    expected = f"smsd: {conf}:3: [daemon] statedir: unknown key (did you mean 'state_dir'?)\n"
    for command in (["run", "--simulate", "1"], ["user", "list"], ["route", "list"],
                    ["contacts", "export", "-"], ["groups", "export", "-"]):
        run = smsd_run(*command, "--config", conf, cwd=tmp_path)
        assert (run.returncode, run.stderr) == (2, expected), command
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


# --- the parser ---------------------------------------------------------------------------------
def all_parsers(parser: argparse.ArgumentParser, name: str = "smsd"
                ) -> Iterator[tuple[str, argparse.ArgumentParser, bool]]:
    """(command, parser, is a leaf) for the whole tree of subcommands."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    yield name, parser, not subs
    for action in subs:
        for sub_name, sub in action.choices.items():
            yield from all_parsers(sub, f"{name} {sub_name}")


def test_no_parser_takes_abbreviations_and_every_command_shares_config_and_state_dir() -> None:
    tree = list(all_parsers(cli._parser()))
    assert {"smsd run", "smsd user add", "smsd contacts", "smsd route list"} <= {
        name for name, _, leaf in tree if leaf}
    for name, parser, leaf in tree:
        assert parser.allow_abbrev is False, name
        if leaf:
            options = {o for a in parser._actions for o in a.option_strings}
            assert {"--config", "--state-dir"} <= options, name


@pytest.mark.parametrize("args, bad", [
    (["run", "--simulat", "2"], "--simulat"),
    (["run", "--simulate", "1", "--state", "x"], "--state"),
    (["user", "list", "--state-d", "x"], "--state-d"),
    (["route", "add", "http://x/", "--proto", "json"], "--proto"),
])
def test_abbreviated_long_options_are_errors(tmp_path: Path, args: list[str], bad: str) -> None:
    run = smsd_run(*args, cwd=tmp_path)
    assert run.returncode == 2
    assert f"unrecognized arguments: {bad}" in run.stderr
    assert list(tmp_path.iterdir()) == []


def test_version() -> None:
    run = smsd_run("--version")
    assert (run.returncode, run.stdout, run.stderr) == (0, f"smsd {smsd.__version__}\n", "")
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", smsd.__version__)


# --- the state dir ------------------------------------------------------------------------------
def test_the_state_dir_comes_from_the_option_then_the_config_file(tmp_path: Path) -> None:
    assert config.startup(None, "a") == config.Startup({}, "a", False)
    conf = write(tmp_path, "[daemon]\nstate_dir = from-file\n")
    assert config.startup(conf, "a").state_dir == "a"
    assert config.startup(conf, None) == config.Startup({"state_dir": "from-file"}, "from-file",
                                                        False)
    assert config.startup(None, None) == config.Startup({}, config.DEFAULT_STATE_DIR, True)
    # `make run` and the service say where, so neither gets the notice
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^\t\$\(VENV\)/bin/smsd run .*--state-dir \$\(STATE_DIR\)", makefile, re.M)


def test_a_command_given_a_state_dir_or_config_says_nothing_about_it(tmp_path: Path) -> None:
    state = tmp_path / "state"
    done = smsd_run("user", "add", "ann", "--password", "pw", "--state-dir", str(state))
    assert (done.returncode, done.stderr) == (0, "")
    conf = write(tmp_path, f"[daemon]\nstate_dir = {state}\n")
    listed = smsd_run("user", "list", "--config", conf)
    assert listed.returncode == 0 and listed.stderr == ""
    assert listed.stdout.splitlines()[1].split()[0] == "ann"


def test_a_defaulted_state_dir_is_named_and_never_created_by_an_admin_command(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
        ) -> None:
    default = tmp_path / "default"
    monkeypatch.setattr(config, "DEFAULT_STATE_DIR", str(default))    # stands for /var/lib/smsd
    notice = f"smsd: using state dir {default} (the default; --state-dir DIR chooses another)\n"
    assert cli.main(["user", "add", "ann", "--password", "pw"]) == 1
    err = capsys.readouterr().err
    assert err == notice + (f"smsd: no database {default}/smsd.db: give --state-dir DIR, the "
                            "daemon's state dir\n")
    assert not default.exists()
    assert cli.main(["user", "add", "ann", "--password", "pw", "--state-dir", str(default)]) == 0
    assert capsys.readouterr().err == ""
    assert cli.main(["user", "list"]) == 0
    out, err = capsys.readouterr()
    assert err == notice and out.splitlines()[1].split()[0] == "ann"


# --- the listen address -------------------------------------------------------------------------
def test_a_busy_listen_address_is_one_line_and_a_nonzero_exit(tmp_path: Path) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        state = tmp_path / "state"
        run = smsd_run("run", "--simulate", "1", "--sim-latency", "0", "--state-dir", str(state),
                       "--listen", f"127.0.0.1:{reserved_port()}", "--listen", f"127.0.0.1:{port}")
    assert (run.returncode, run.stdout) == (1, "")
    assert run.stderr == (f"smsd: start-up failed: cannot listen on 127.0.0.1:{port}: "
                          "Address already in use\n")
    assert not state.exists()                    # checked before the store or a port was opened


def test_check_listen_names_the_address() -> None:
    check_listen((f"127.0.0.1:{reserved_port()}",))             # a free one passes
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        busy = f"127.0.0.1:{held.getsockname()[1]}"
        with pytest.raises(ListenError, match=f"^cannot listen on {busy}: Address already in use$"):
            check_listen((f"127.0.0.1:{reserved_port()}", busy))
    with pytest.raises(ListenError, match=r"^cannot listen on no-such-host\.invalid:80: "):
        check_listen(("no-such-host.invalid:80",))


def test_the_board_description_is_as_strict(tmp_path: Path) -> None:
    board = write(tmp_path, "[board]\nname = b\n\n[port.0]\ndevice = /dev/null\n"
                            "power_kee = GPIO5\n", "board.ini")
    run = smsd_run("run", "--simulate", "1", "--board", board, "--state-dir", str(tmp_path / "s"))
    assert (run.returncode, run.stderr) == (
        2, f"smsd: {board}:6: [port.0] power_kee: unknown key (did you mean 'power_key'?)\n")
