"""Port settings keyed by smsd's own names; the Ozeki names live at that dialect's edge.

A database written before migration 0005 holds the settings under Ozeki's keys: after the
upgrade every one of them is still in effect, under the neutral key, and the Ozeki dialect
reads them back under its own names.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from smsd.api.ozeki_settings import TO_CORE, in_ozeki_words, to_core, to_ozeki
from smsd.portcfg import KEYS, BadSetting, PortConfig, parse_values
from smsd.store import Store, migrate

OLD = {"SEND": "off", "LIMITTOMPM": "5", "PREFEREDCHARSET": "UCS2",
       "NATIONALLANGUAGES": "turkish", "SMSSERVICECENTERADDRESS": "+447785016005",
       "PINCODE": "1234", "NAME": "Alpha", "RUNNING": "off"}


def old_database(path: str) -> None:
    steps = migrate.load()
    (index,) = [i for i, m in enumerate(steps) if m.name.endswith("_neutral_port_setting_keys.sql")]
    Store(path, migrations=steps[:index]).close()
    conn = sqlite3.connect(path)
    with conn:
        conn.executemany("INSERT INTO port_settings(port, key, value) VALUES (1, ?, ?)",
                         OLD.items())
        conn.execute("INSERT INTO port_settings(port, key, value) VALUES (2, 'KEEPALIVEPERIOD', "
                     "'45')")
    conn.close()


def test_a_database_with_the_old_keys_keeps_its_settings(tmp_path: Path) -> None:
    path = str(tmp_path / "old.db")
    old_database(path)
    store = Store(path)
    try:
        config = PortConfig(store.port_settings)
        assert config.stored(1) == {"send": "off", "max_parts_per_minute": "5", "charset": "UCS2",
                                    "national_languages": "turkish", "smsc": "+447785016005",
                                    "sim_pin": "1234", "name": "Alpha", "running": "off"}
        assert config.stored(2) == {"keepalive_period": "45"}
        assert not config.may_send(1, 0.0) and config.name(1) == "Alpha"
        assert config.worker_settings(1)["sim_pin"] == "1234"
        assert config.languages(1) == (1,)
        shown = to_ozeki(config.effective(1))           # what an Ozeki client lists
        assert {k: shown[k] for k in OLD if k in shown} == {
            k: v for k, v in OLD.items() if k not in ("NAME", "RUNNING")}
    finally:
        store.close()
    conn = sqlite3.connect(path)
    keys = {r[0] for r in conn.execute("SELECT key FROM port_settings")}
    conn.close()
    assert keys <= set(KEYS) | {"name", "running"}


def test_every_core_setting_has_one_ozeki_name() -> None:
    assert sorted(TO_CORE.values()) == sorted(KEYS)
    assert to_core({"LIMITTOMPM": "3", "BAUDRATE": "9600"}) == {"max_parts_per_minute": "3",
                                                                "BAUDRATE": "9600"}


def test_refusals_name_the_key_in_ozeki_words() -> None:
    with pytest.raises(BadSetting) as bad:
        parse_values(to_core({"NATIONALLANGUAGES": "klingon"}))
    assert str(bad.value).startswith("national_languages: ")
    assert str(in_ozeki_words(bad.value)).startswith("NATIONALLANGUAGES: ")
    with pytest.raises(BadSetting) as unknown:
        parse_values(to_core({"BAUDRATE": "9600"}))
    said = str(in_ozeki_words(unknown.value))
    assert "'BAUDRATE'" in said and "LIMITTOMPM" in said and "max_parts" not in said
