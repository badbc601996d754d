"""Who allows national language tables: the per-port setting, in the core's and Ozeki's words
(issue 11; the codec side is tests/test_pdu_field.py, which also runs on arm under qemu and so
imports nothing above the codec)."""
from __future__ import annotations

from typing import Any

import pytest


def test_port_setting_names_the_languages() -> None:
    from smsd.api.ozeki_settings import in_ozeki_words, to_core, to_ozeki
    from smsd.portcfg import BadSetting, PortConfig
    from smsd.portcfg import parse_values as core_parse

    def parse_values(values: dict[str, str]) -> dict[str, str]:      # as an Ozeki client names it
        try:
            return to_ozeki(core_parse(to_core(values)))
        except BadSetting as exc:
            raise in_ozeki_words(exc) from None
    assert parse_values({"nationallanguages": "Turkish, 3"}) == {
        "NATIONALLANGUAGES": "turkish,portuguese"}
    assert parse_values({"NATIONALLANGUAGES": "none"}) == {"NATIONALLANGUAGES": ""}
    everything = parse_values({"NATIONALLANGUAGES": "all"})["NATIONALLANGUAGES"]
    for bad in ("klingon", "0", "14", "turkish,x"):
        with pytest.raises(BadSetting, match="NATIONALLANGUAGES"):
            parse_values({"NATIONALLANGUAGES": bad})

    class Settings:
        def all(self) -> dict[int, dict[str, str]]:
            return {}

        def put(self, port: int, values: Any) -> None:
            pass

        def clear(self, port: int) -> None:
            pass

        def parts_sent_since(self, port: int, since: float) -> int:
            return 0
    config = PortConfig(Settings())
    assert config.languages(0) == ()                         # default: none
    config.put(0, to_core({"NATIONALLANGUAGES": "turkish,portuguese"}))
    config.put(1, to_core({"NATIONALLANGUAGES": everything}))
    assert config.languages(0) == (1, 3) and config.languages(1) == tuple(range(1, 14))
