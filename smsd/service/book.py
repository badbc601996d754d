"""The address book (contacts, groups, CSV) and the routing rules for received SMS.

Names and numbers are told apart by shape: a name never looks
like a number (enforced when contacts and groups are saved), so `AddressBook.expand` needs no
hints: an item already in the normal form of smsd.numbers (`+` and digits) is a number. A contact and a group may share a name; the contact wins.
"""
from __future__ import annotations

import re
from typing import Any, Iterable, Sequence

from smsd.addressbook_csv import (check_name, format_contacts, format_groups, normalize_number,
                                  parse_contacts, parse_groups)
from smsd.errors import BadRequest, NotFound, UnknownRecipient
from smsd.model import Contact, Group, Route
from smsd.numbers import is_normal
from smsd.service import route_probe
from smsd.store.contacts import route_cursor_key
from smsd.store.db import Store
from smsd.store.push_failed import FailedPush

ROUTE_PROTOCOLS = ("isms", "json", "intelli", "intelli-sms", "intelli-status",
                   "intelli-subscription")
# Protocols that also forward events other than received SMS (IntelliSoftware status reports and
# subscription list events); the route's filters apply to received SMS only.
EVENT_PROTOCOLS = ("intelli", "intelli-status", "intelli-subscription")
MAX_PREFIX = 64
ROUTE_GIVE_UP = 24 * 3600.0   # a route's receiver refusing an event this long: parked for replay
_URL = re.compile(r"https?://[^\s/?#]+[^\s]*", re.IGNORECASE).fullmatch


def route_matches(route: Route, kind: str, payload: dict[str, Any]) -> bool:
    """Does a received SMS event (`kind` "sms", INTERFACES.md payload) match the route?"""
    if kind != "sms":
        return route.protocol in EVENT_PROTOCOLS
    return (kind == "sms"
            and (route.port is None or payload.get("port") == route.port)
            and str(payload.get("number", "")).startswith(route.sender_prefix)
            and str(payload.get("text", "")).startswith(route.text_prefix))


class AddressBook:
    def __init__(self, store: Store) -> None:
        self._store = store

    # --- contacts and groups --------------------------------------------------------------------
    def contacts(self) -> list[Contact]:
        return self._store.contacts.all()

    def contact_set(self, name: str, number: str) -> None:
        clean = normalize_number(number)
        if clean is None:
            raise BadRequest(f"bad number {number!r}: up to 24 digits, optional +", field="number")
        self._store.contacts.set_many([Contact(check_name(name), clean)])

    def contact_delete(self, name: str) -> None:
        if not self._store.contacts.delete(name):
            raise NotFound(f"no contact {name!r}")

    def groups(self) -> list[Group]:
        return self._store.contacts.groups()

    def group_set(self, name: str, members: Sequence[str]) -> None:
        self._set_groups([Group(check_name(name, "group name"), tuple(members))])

    def _set_groups(self, groups: Sequence[Group]) -> None:
        missing = self._store.contacts.group_set_many(groups)
        if missing:
            raise BadRequest(f"not contacts: {', '.join(sorted(set(missing)))}", field="members")

    def group_delete(self, name: str) -> None:
        if not self._store.contacts.group_delete(name):
            raise NotFound(f"no group {name!r}")

    def expand(self, items: Iterable[str]) -> list[str]:
        """Numbers kept as given, contact names -> numbers, groups -> members' numbers;
        duplicates dropped, first occurrence order kept."""
        items = [i.strip() for i in items]
        names = list(dict.fromkeys(i for i in items if not is_normal(i)))
        numbers, groups = self._store.contacts.lookup_names(names) if names else ({}, {})
        out: dict[str, None] = {}
        for item in items:
            if is_normal(item):
                out[item] = None
            elif item in numbers:
                out[numbers[item]] = None
            elif item in groups:
                out.update(dict.fromkeys(groups[item]))
            else:
                raise UnknownRecipient(f"unknown recipient {item!r}: not a number, contact "
                                       "or group")
        return list(out)

    # --- CSV ------------------------------------------------------------------------------------
    def contacts_import_csv(self, text: str) -> int:
        """Add or update the file's contacts (and their group memberships); how many."""
        rows = parse_contacts(text)
        for row in rows:                          # every check before the first write
            for group in row.groups:
                check_name(group, "group name")
        self._store.contacts.set_many([r.contact for r in rows])
        joined: dict[str, list[str]] = {g.name: list(g.members)
                                        for g in self._store.contacts.groups()}
        touched = set()
        for row in rows:
            for group in row.groups:
                joined.setdefault(group, []).append(row.contact.name)
                touched.add(group)
        self._set_groups([Group(g, tuple(joined[g])) for g in sorted(touched)])
        return len(rows)

    def contacts_export_csv(self) -> str:
        return format_contacts(self._store.contacts.all(), self._store.contacts.groups())

    def groups_import_csv(self, text: str) -> int:
        """Create or replace the file's groups (members must be contacts); how many."""
        groups = parse_groups(text)
        self._set_groups(groups)
        return len(groups)

    def groups_export_csv(self) -> str:
        return format_groups(self._store.contacts.groups())


class Routes:
    """Forwarding rules: received SMS (and, for some protocols, other events) pushed to URLs."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def all(self) -> list[Route]:
        return self._store.routes.all()

    def add(self, url: str, protocol: str = "isms", *, port: int | None = None,
                  sender_prefix: str = "", text_prefix: str = "") -> int:
        if not _URL(url):
            raise BadRequest(f"route URL {url!r}: http:// or https:// and a host")
        if protocol not in ROUTE_PROTOCOLS:
            raise BadRequest(f"route protocol must be one of {', '.join(ROUTE_PROTOCOLS)}")
        if port is not None and (isinstance(port, bool) or port < 0):
            raise BadRequest("route port must be a port number")
        for what, prefix in (("sender prefix", sender_prefix), ("text prefix", text_prefix)):
            if len(prefix) > MAX_PREFIX or not prefix.isprintable():
                raise BadRequest(f"route {what}: up to {MAX_PREFIX} printable characters")
        return self._store.routes.add(url, protocol, port, sender_prefix, text_prefix)

    def get(self, route_id: int) -> Route:
        for route in self._store.routes.all():
            if route.id == route_id:
                return route
        raise NotFound(f"no route {route_id}")

    def test(self, route_id: int, sn: str, timeout: float = route_probe.TIMEOUT
             ) -> route_probe.ProbeAnswer:
        """POST a sample event to the route's URL in its format; what it answered
        (smsd/service/route_probe.py). Nothing is stored or queued."""
        return route_probe.probe(self.get(route_id), sn, timeout=timeout)

    def delete(self, route_id: int) -> None:
        if not self._store.routes.delete(route_id):
            raise NotFound(f"no route {route_id}")

    # --- pushes that failed for good (smsd/push/worker.py parks them) ---------------------------
    def failed(self, limit: int = 200) -> list[FailedPush]:
        """Events the routes gave up on, newest first."""
        return self._store.push_failed.list([route_cursor_key(r.id) for r in self.all()], limit)

    def failed_route(self, item: FailedPush) -> int:
        return int(item.target.partition(":")[2])

    def replay(self, failed_id: int, sn: str, timeout: float = route_probe.TIMEOUT
               ) -> route_probe.ProbeAnswer:
        """POST a parked event to its route again, now; a 2xx answer takes it off the list,
        anything else stays there with the new error. NotFound when it is gone (replayed, or
        its route deleted)."""
        item = self._store.push_failed.get(failed_id)
        if item is None or not item.target.startswith("route:"):
            raise NotFound(f"no failed push {failed_id}")
        route = self.get(self.failed_route(item))
        try:
            data, ctype = route_probe.replay_body(route, sn, item.event.kind, item.event.payload)
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
        answer = route_probe.post_once(route.url, data, ctype, timeout=timeout)
        if answer.ok:
            self._store.push_failed.forget(failed_id)
        else:
            self._store.push_failed.retried(failed_id, answer.error or f"HTTP {answer.status}")
        return answer
