"""A message whose outcome is unknown (a part on the air when the box stopped, never sent twice)
is the end of it for an ESME that asked for a receipt: svc.smpp queues one with stat:UNKNOWN,
for registered_delivery 1 and 2 alike, so a router's pending delivery report does not wait for
ever (Kannel then reports it failed). Found with Kannel in front of a box killed mid-send
(tests/fleet/)."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from smsd.model import Recipient, SendRequest
from smsd.service.smpp import FAILURE_ONLY
from smsd.smpp import deliver
from test_users import Box


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Box]:
    b = Box(str(tmp_path / "smsd.db"))
    b.svc.users.add("esme", "pw", perms=["smpp"])
    b.svc.smpp.feed()                                     # the first feed sets the cursor
    yield b
    b.sched.stop()
    b.store.close()


def submit(box: Box, usercontext: str = "") -> int:
    accepted = box.svc.sending.send_sms(
        SendRequest(text="on the air", recipients=(Recipient("+447700900123"),),
                    dialect="smpp", usercontext=usercontext), user="esme")
    return accepted.message_ids[0]


def result(box: Box, message_id: int, status: str) -> None:
    with box.store.db.write() as conn:
        box.store.events.emit(conn, "sms_result", {"message_id": message_id, "status": status,
                                                   "number": "+447700900123", "count": 1,
                                                   "succ_count": 0}, 0.0)


@pytest.mark.parametrize("usercontext", ["", FAILURE_ONLY])
def test_outcome_unknown_is_receipted(box: Box, usercontext: str) -> None:
    mid = submit(box, usercontext)
    result(box, mid, "UNKNOWN")
    box.svc.smpp.feed()
    (item,) = box.svc.smpp.pending("esme")
    assert item.kind == "receipt" and item.payload["message_id"] == mid
    (pdu,) = deliver.build(item, False, "")
    text = bytes(pdu.short_message).decode("ascii")
    assert text.startswith(f"id:{mid} ") and " stat:UNKNOWN err:001 " in text
    assert pdu.message_state == 7                         # SMPP 3.4 5.2.28: UNKNOWN


def test_failure_only_still_skips_delivered(box: Box) -> None:
    mid = submit(box, FAILURE_ONLY)
    result(box, mid, "DELIVERED")
    box.svc.smpp.feed()
    assert box.svc.smpp.pending("esme") == []
