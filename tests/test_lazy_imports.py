"""Libraries only some boxes use are imported when first used, not at the daemon's start
(issue 20: every module a daemon loads stays resident): the SMPP client (smpplib) and the SMTP
connection (smtplib) with no such connection configured, the SMPP front end without [smpp]
listen, zoneinfo until a time zone is checked, difflib until a config key is misspelt. Asserted from inside a running daemon, as tests/test_lazy_tunnel.py does."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from e2e.harness import probe_daemon
from smsd.connections import lazy
from smsd.connections.manager import BUILDERS
from smsd.connections.smpp_client import SmppConnection
from smsd.connections.smtp import SmtpConnection

LAZY = ("smpplib", "smtplib", "smsd.connections.smpp_client", "smsd.connections.smtp",
        "smsd.smpp.server", "smsd.drp.device", "zoneinfo", "difflib")

def test_a_daemon_without_smpp_or_smtp_connections_never_loads_their_clients(
        tmp_path: Path) -> None:
    loaded = probe_daemon(str(tmp_path / "state"), f"[m for m in {LAZY!r} if m in sys.modules]")
    assert loaded == []


def test_the_manager_still_builds_every_kind() -> None:
    # In a fresh interpreter: importing the manager loads neither client; building one does.
    code = ("import sys\n"
            "from smsd.connections.manager import BUILDERS\n"
            "print('smpplib' in sys.modules, 'smtplib' in sys.modules)\n"
            "BUILDERS['SMPP']('s', {}, None)\n"
            "BUILDERS['SMTP']('m', {}, None)\n"
            "print('smpplib' in sys.modules, 'smtplib' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True).stdout.split("\n")
    assert out[:2] == ["False False", "True True"]
    assert isinstance(lazy.smpp("s", {"USESAR": "on"}, None), SmppConnection)  # type: ignore[arg-type]
    assert isinstance(lazy.smtp("m", {}, None), SmtpConnection)  # type: ignore[arg-type]
    assert set(BUILDERS) == {"SMPP", "HTTPClient", "HTTPServer", "SMTP"}
