"""Each dialect's own folders: what its client has "deleted" stays for the other dialects.

Folders show what the asking user may see (smsd/service/access.py).
"""
from __future__ import annotations

from typing import Iterable

from smsd.errors import BadRequest
from smsd.model import InboundSms, MessageState
from smsd.service.access import AccessPolicy
from smsd.store.db import Store

FOLDER_STATES = {"outbox": ("SENDING",), "sent": ("SENT_OK", "DELIVERED", "UNKNOWN"),
                 "notsent": ("FAILED",)}


class Folders:
    def __init__(self, store: Store, access: AccessPolicy) -> None:
        self._store = store
        self._access = access

    def inbox(self, dialect: str, *, unread_only: bool, limit: int, mark_read: bool,
                      user: str | None = None) -> list[tuple[InboundSms, bool]]:
        return list(self._store.views.inbox_visible(dialect, unread_only=unread_only, limit=limit,
                                              mark_read=mark_read, viewer=self._access.owner(user)))

    def inbox_message(self, dialect: str, inbound_id: int,
                      user: str | None = None) -> tuple[InboundSms, bool] | None:
        found = self._store.views.inbound_one(dialect, inbound_id, viewer=self._access.owner(user))
        return None if found is None else (found[0], bool(found[1]))

    def sent(self, dialect: str, folder: str, user: str | None,
                        limit: int) -> list[MessageState]:
        """Sent messages of a folder (outbox, sent, notsent) that `user` sent (None, or an
        admin: everybody's)."""
        states = FOLDER_STATES.get(folder)
        if states is None:
            raise BadRequest(f"no folder {folder!r}: inbox, outbox, sent or notsent")
        ids = self._store.views.messages_visible(dialect, states, self._access.owner(user), limit)
        found = (self._store.outbox.message_state(i) for i in ids)
        return [m for m in found if m is not None]

    def hide(self, dialect: str, kind: str, ids: Iterable[int],
                      user: str | None = None) -> int:
        """Hide from `dialect`'s folders those of `ids` that `user` may see."""
        if kind not in ("in", "out"):
            raise BadRequest("kind must be in or out")
        mine = [i for i in ids if self._sees(kind, i, user)]
        return int(self._store.views.hide(dialect, kind, mine))

    def _sees(self, kind: str, ident: int, user: str | None) -> bool:
        if user is None:
            return True
        if kind == "in":
            viewer = self._access.owner(user)
            return self._store.views.inbound_one("", ident, viewer=viewer) is not None
        state = self._store.outbox.message_state(ident)
        return state is not None and self._access.may_see(user, state.user)

    def hidden(self, dialect: str, kind: str, ids: Iterable[int]) -> set[int]:
        return set(self._store.views.hidden(dialect, kind, ids))
