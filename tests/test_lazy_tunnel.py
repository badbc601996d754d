"""The daemon's remote tunnel is made on its first start (LazyTunnel in smsd/service/remote.py, issue 20):
a box that never switches the remote connection on never loads smsd.drp.device."""
from __future__ import annotations

from pathlib import Path

from e2e.harness import probe_daemon
from smsd.drp.device import RemoteTunnel
from smsd.drp.device_stream import LocalTarget
from smsd.service.remote import LazyTunnel
from smsd.drp.settings import RemoteSettings


class RecordingTunnel:
    def __init__(self, made: list["RecordingTunnel"]) -> None:
        self.calls: list[str] = []
        made.append(self)

    def start(self, settings: RemoteSettings) -> None:
        self.calls.append(f"start {settings.server}")

    def stop(self) -> None:
        self.calls.append("stop")

    def status(self) -> dict[str, object]:
        return {"server": "relay:4443", "connected": True, "since": "now", "last_error": ""}


def test_made_at_the_first_start_then_every_call_goes_to_it() -> None:
    made: list[RecordingTunnel] = []
    lazy = LazyTunnel(lambda: RecordingTunnel(made))
    lazy.stop()                                  # switched off before it ever ran: nothing to do
    assert not lazy.made and made == []
    lazy.start(RemoteSettings("relay:4443", "secret"))
    lazy.stop()
    lazy.start(RemoteSettings("other:4443", "secret"))
    assert len(made) == 1 and made[0].calls == ["start relay:4443", "stop", "start other:4443"]
    assert lazy.status()["connected"] is True


def test_before_it_ran_the_status_is_the_real_tunnels_own() -> None:
    never = LazyTunnel(lambda: RemoteTunnel("cafe-0000-0000-0001", LocalTarget("127.0.0.1", 9)))
    real = RemoteTunnel("cafe-0000-0000-0001", LocalTarget("127.0.0.1", 9))
    assert never.status() == real.status()
    assert not never.made


# The daemon itself, reporting from inside once it is ready whether the tunnel's module was
# loaded: it must not be while [remote] is off, and must be once it is on.
def probe(tmp_path: Path, extra: tuple[str, ...] = ()) -> object:
    return probe_daemon(str(tmp_path / "state"), "'smsd.drp.device' in sys.modules", extra)


def test_a_daemon_without_remote_never_loads_the_tunnel(tmp_path: Path) -> None:
    assert probe(tmp_path) is False


def test_a_daemon_with_remote_on_makes_it_at_start(tmp_path: Path) -> None:
    config = tmp_path / "smsd.conf"
    config.write_text("[remote]\nserver = 127.0.0.1:9\nsecret = s3cret-s3cret\nfingerprint = "
                      + "ab" * 32 + "\n")
    assert probe(tmp_path, ("--config", str(config))) is True
