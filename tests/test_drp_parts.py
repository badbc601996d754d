"""The remote tunnel's pieces without the network: serials, fingerprints, secrets kept as
hashes, back-off, rate buckets, header rules, and the two INI sections (the shipped relay
config included). The whole tunnel runs in tests/e2e/test_drp.py."""
from __future__ import annotations

import configparser
import json
import random
from pathlib import Path

import pytest

from smsd import config
from smsd.drp import protocol
from smsd.drp.relay_state import RelayState
from smsd.drp.settings import RemoteSettings, read_relay, read_remote
from smsd.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("text, sn", [
    (" 0123-4567-890A-BCDE", "0123-4567-890a-bcde"),     # as section 19.3 writes it
    ("eecb-8ae4-f043-9cf2", "eecb-8ae4-f043-9cf2"),
    ("bad serial!", None), ("", None), ("-abc", None), ("a" * 65, None),
])
def test_serials_are_normalised(text: str, sn: str | None) -> None:
    assert protocol.normal_serial(text) == sn


def test_fingerprints_forgive_colons_and_case() -> None:
    fp = "ab" * 32
    assert protocol.normal_fingerprint(":".join(["AB"] * 32)) == fp
    assert protocol.normal_fingerprint("sha256=" + fp) == fp
    assert protocol.normal_fingerprint("ab" * 31) is None


def test_secrets_and_passwords_are_kept_as_salted_hashes() -> None:
    stored = protocol.hash_secret("s3cret")
    assert "s3cret" not in stored and stored != protocol.hash_secret("s3cret")   # salted
    assert protocol.secret_matches("s3cret", stored)
    assert not protocol.secret_matches("s3cret ", stored)
    assert not protocol.secret_matches("s3cret", "zz$nothex")
    pw = protocol.hash_password("pw")
    assert pw.startswith("scrypt$") and protocol.password_matches("pw", pw)
    assert not protocol.password_matches("PW", pw)


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    rnd = random.Random(1)
    delays = [protocol.backoff(n, rand=rnd) for n in range(12)]
    assert 0.5 <= delays[0] <= 1.0 and 4.0 <= delays[3] <= 8.0
    assert all(30.0 <= d <= 60.0 for d in delays[6:])
    assert len({round(protocol.backoff(5, rand=rnd), 6) for _ in range(20)}) > 1   # jittered


def test_the_token_bucket_allows_bursts_then_the_rate() -> None:
    bucket = protocol.TokenBucket(rate=2.0, burst=4.0)
    assert [bucket.take(0.0) for _ in range(5)] == [True] * 4 + [False]
    assert bucket.take(0.5) and not bucket.take(0.5)        # one more per half second


def test_hop_by_hop_headers_and_the_relay_cookie_stay_behind() -> None:
    headers = [(b"Connection", b"keep-alive"), (b"Transfer-Encoding", b"chunked"),
               (b"Host", b"relay"), (b"Authorization", b"Basic eA=="),
               (b"Content-Length", b"3"), (b":path", b"/x")]
    assert protocol.forwardable(headers) == [(b"authorization", b"Basic eA=="),
                                             (b"content-length", b"3")]
    cookies = [(b"cookie", b"DRPSESSION=abc; theirs=1"), (b"cookie", b"DRPSESSION=x")]
    assert protocol.without_cookie(cookies, b"DRPSESSION") == [(b"cookie", b"theirs=1")]


def test_the_state_file_holds_no_secret_and_add_prints_one_once(tmp_path: Path) -> None:
    state = RelayState(str(tmp_path))
    state.add_account("alice", "pw")
    secret = state.add_device(" EECB-8AE4-F043-9CF2", "alice")
    text = (tmp_path / "drp-state.json").read_text()
    assert secret not in text and "pw\"" not in text
    assert json.loads(text)["devices"]["eecb-8ae4-f043-9cf2"]["owner"] == "alice"
    again = RelayState(str(tmp_path))                  # what a running relay re-reads
    assert again.login("alice", "pw") and not again.login("alice", "no")
    assert not again.login("nobody", "pw")
    device = again.device("eecb-8ae4-f043-9cf2")
    assert device and protocol.secret_matches(secret, device.secret_hash)
    with pytest.raises(ConfigError, match="add it first"):
        state.add_device("abcd", "bob")
    with pytest.raises(ConfigError, match="serial"):
        state.add_device("bad!", "alice")
    assert state.remove_device("EECB-8AE4-F043-9CF2") and not state.remove_device("abcd")


def _remote(text: str) -> dict[str, object]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    return read_remote(parser)


def test_the_remote_section() -> None:
    values = _remote(f"[remote]\nserver = relay.example.net:8444\nsecret = s\n"
                     f"fingerprint = {':'.join(['AB'] * 32)}\n")
    assert values["remote"] == RemoteSettings("relay.example.net:8444", "s", "ab" * 32)
    assert _remote("[daemon]\n") == {}
    with pytest.raises(ConfigError, match="never talks to an unchecked relay"):
        _remote("[remote]\nserver = r:1\nsecret = s\n")
    with pytest.raises(ConfigError, match="HOST:PORT"):
        _remote(f"[remote]\nserver = r\nsecret = s\nfingerprint = {'ab' * 32}\n")
    with pytest.raises(ConfigError, match="enabled"):
        _remote(f"[remote]\nserver = r:1\nsecret = s\nca_file = /x\nenabled = maybe\n")


def test_the_daemon_config_knows_both_sections(tmp_path: Path) -> None:
    conf = tmp_path / "smsd.conf"
    conf.write_text("[simulate]\nports = 1\n[remote]\nserver = r:8444\nsecret = s\n"
                    "ca_file = /etc/ssl/certs/relay.pem\n[drp-server]\nlisten = :8443\n")
    values = config.load_file(str(conf))
    assert values["remote"].ca_file == "/etc/ssl/certs/relay.pem"
    conf.write_text("[remote]\nserver = r:8444\nsecrte = s\n")
    with pytest.raises(ConfigError, match="secrte: unknown key"):
        config.load_file(str(conf))


def test_the_shipped_relay_config_reads(tmp_path: Path) -> None:
    values = read_relay(str(ROOT / "debian" / "drp.conf"))
    assert values["listen"] == "0.0.0.0:8443" and values["device_listen"] == "0.0.0.0:8444"
    assert values["session_rate"] == 20.0 and values["max_body"] == 2 << 20
    bad = tmp_path / "drp.conf"
    bad.write_text("[drp-server]\nlisten = :1\nsession_rate = -1\n")
    with pytest.raises(ConfigError, match="session_rate"):
        read_relay(str(bad))
    bad.write_text("[drp-server]\nlisen = :1\n")
    with pytest.raises(ConfigError, match="unknown key"):
        read_relay(str(bad))
