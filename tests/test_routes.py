"""Routing rules: persisted, validated, their push cursor starts at the current last event."""
from __future__ import annotations

from pathlib import Path

import pytest

from smsd.admin_cli import Admin
from smsd.errors import BadRequest, NotFound
from smsd.model import Route
from smsd.service.book import route_matches
from smsd.store import Store


def add_events(store: Store, n: int) -> None:
    with store.db.write() as conn:
        for i in range(n):
            store.events.emit(conn, "ussd", {"port": 0, "text": str(i)}, 0.0)


def test_route_add_sets_its_cursor_to_the_last_event(store: Store, tmp_path: Path) -> None:
    admin = Admin(store)
    first = admin.routes.add("http://127.0.0.1:8080/in")
    assert store.events.push_cursor(f"route:{first}") == 0
    add_events(store, 3)
    second = admin.routes.add("https://example.test/rx", "json", port=3, sender_prefix="+44",
                              text_prefix="KEY")
    assert store.events.push_cursor(f"route:{second}") == store.events.last_event_id() == 3
    assert store.events.push_cursor(f"route:{first}") == 0          # untouched
    assert admin.routes.all() == [Route(first, "http://127.0.0.1:8080/in", "isms"),
                                  Route(second, "https://example.test/rx", "json", 3, "+44", "KEY")]
    again = Store(str(tmp_path / "smsd.db"))                 # persisted
    assert again.routes.all() == admin.routes.all()
    again.close()


def test_route_delete(store: Store) -> None:
    admin = Admin(store)
    rid = admin.routes.add("http://127.0.0.1:1/x")
    admin.routes.delete(rid)
    assert admin.routes.all() == [] and store.events.push_cursor(f"route:{rid}") is None
    with pytest.raises(NotFound):
        admin.routes.delete(rid)
    assert admin.routes.add("http://127.0.0.1:1/y") == rid + 1   # ids are never reused


@pytest.mark.parametrize("url, protocol, port", [
    ("ftp://x/y", "isms", None), ("http://", "isms", None), ("http://h/x", "smtp", None),
    ("http://h/ x", "isms", None), ("http://h/x", "isms", -1),
])
def test_bad_routes(store: Store, url: str, protocol: str, port: int | None) -> None:
    with pytest.raises(BadRequest):
        Admin(store).routes.add(url, protocol, port=port)
    assert store.routes.all() == []


def test_route_filters() -> None:
    route = Route(1, "http://h/", "isms", port=2, sender_prefix="+44", text_prefix="KEY ")
    sms = {"port": 2, "number": "+447700", "text": "KEY hello"}
    assert route_matches(route, "sms", sms)
    assert not route_matches(route, "sms_result", sms)
    assert not route_matches(route, "sms", {**sms, "port": 3})
    assert not route_matches(route, "sms", {**sms, "number": "+337700"})
    assert not route_matches(route, "sms", {**sms, "text": "hello"})
    assert route_matches(Route(2, "http://h/"), "sms", {**sms, "port": 9})
