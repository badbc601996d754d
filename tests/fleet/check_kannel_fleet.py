"""Two smsd boxes behind Debian's Kannel (issue 18 point 2): `make fleet-test` runs this file.

Its name does not match `test_*.py` on purpose: `make test` does not collect it (it needs the
kannel package, which `make fleet-test` installs); pytest runs it when it is named on the command
line. bearerbox + smsbox bind to both boxes' SMPP servers (transceiver, smsc-id box1 and box2);
messages go in through smsbox's `sendsms` HTTP interface and are checked where they come out:
the simulated networks' journals, the boxes' databases, and the GETs Kannel makes to `dlr-url`
and, for the SMS the boxes receive, to its sms-service's `get-url`.
The tests run in order on one fleet: the last one kills box1.
"""
from __future__ import annotations

import collections
import hashlib
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterator

import pytest

from e2e.harness import wait_for
from fleet.kannel import Box, DlrReceiver, Kannel, kannel_installed

DEST = "+4477009{:04d}1"          # not simulated SIMs: the network sends a status report back
DEST_FAIL = "+447700910000"       # ends in 0000: the simulated network reports a failure


def ref(text: str) -> str:
    """The message's name in its dlr-url: hex digits, as a long text would not fit in a URL and
    Kannel reads '%' + a letter in dlr-url as one of its own fields (%C, %F, ...), so no escape
    of a non-ASCII or punctuation character would come back as it was sent."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


class Fleet:
    def __init__(self, root: Path) -> None:
        # one port each, 0.25 s per SMS: slow enough that a box holds a queue for a while
        self.boxes = [Box(root, "box1", latency=0.25), Box(root, "box2", latency=0.25)]
        self.box1, self.box2 = self.boxes
        (root / "kannel").mkdir()
        self.dlr = DlrReceiver()
        self.kannel = Kannel(root / "kannel", self.boxes, mo_url=self.dlr.mo_url())

    def start(self) -> None:
        errors: list[BaseException] = []

        def start(box: Box) -> None:
            try:
                box.start()
            except BaseException as exc:          # reported below, in the test's thread
                errors.append(exc)

        threads = [threading.Thread(target=start, args=(b,)) for b in self.boxes]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        self.kannel.start()

    def send(self, texts: list[str], numbers: list[str], dlr_mask: int = 3, **extra: str
             ) -> None:
        """Each text to its number through sendsms, 8 requests at a time (quickly, so that a
        box's queue grows faster than its one port empties it, even on a busy machine)."""
        def one(text: str, number: str) -> tuple[int, str]:
            return self.kannel.send(number, text, dlr_url=self.dlr.url(ref(text)),
                                    dlr_mask=dlr_mask, **extra)

        with ThreadPoolExecutor(8) as pool:
            for status, body in pool.map(one, texts, numbers):
                assert status == 202 and body.startswith("0: Accepted"), (status, body)

    def aired(self) -> collections.Counter[str]:
        """How many boxes' networks accepted each text."""
        return collections.Counter(t for box in self.boxes for t in box.aired())

    def reports(self, text: str) -> list[dict[str, str]]:
        return [hit for hit in self.dlr.hits if hit.get("ref") == ref(text)]

    def stop(self) -> None:
        self.kannel.stop()
        for box in self.boxes:
            box.stop()
        self.dlr.close()


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    if not kannel_installed():
        pytest.fail("Kannel is not installed: `make fleet-test` installs Debian's kannel")
    f = Fleet(tmp_path_factory.mktemp("fleet"))
    try:
        f.start()
        yield f
    except BaseException:
        print(f.kannel.logs())
        raise
    finally:
        f.stop()
        for box in f.boxes:
            log = "".join(box.daemon.output)
            assert "Traceback" not in log, log[-4000:]


def test_traffic_spreads_over_both_boxes_with_delivery_reports(fleet: Fleet) -> None:
    texts = [f"spread {i}" for i in range(24)]
    fleet.send(texts, [DEST.format(i) for i in range(len(texts))])
    fleet.send(["doomed"], [DEST_FAIL])
    wait_for(lambda: all(t in fleet.aired() for t in [*texts, "doomed"]), 60,
             what="every message on the air")
    # each went out once, on one box; both boxes carried a share (Kannel picks the SMSC with
    # the shortest queue, from a random start: 24 messages all on one box is 2 in 10 million)
    assert max(fleet.aired().values()) == 1
    shares = {box.name: len(box.aired() & set(texts)) for box in fleet.boxes}
    assert all(share >= 3 for share in shares.values()), shares
    # a delivery report for each reached dlr-url: type 1 (delivered) from the box that sent it
    wait_for(lambda: all(fleet.reports(t) for t in texts), 60, what="every delivery report")
    for text in texts:
        (hit,) = fleet.reports(text)
        sender = next(box.name for box in fleet.boxes if text in box.aired())
        assert hit["type"] == "1" and hit["smsc"] == sender, (text, hit)
    # the one the network refused: type 2 (failed)
    wait_for(lambda: fleet.reports("doomed"), 60, what="the failure report")
    assert [hit["type"] for hit in fleet.reports("doomed")] == ["2"]
    # each receipt came once and matched its message (a second one would be logged unmatched)
    assert not fleet.kannel.log_lines("could not find message"), fleet.kannel.log_lines("DLR")


def test_unicode_and_long_messages_through_kannel(fleet: Fleet) -> None:
    # UCS2 as Kannel sends it (coding=2): the text arrives whole on the air
    unicode = "Ünïcødé ☃ текст"
    fleet.send([unicode], [DEST.format(50)], coding="2", charset="UTF-8")
    wait_for(lambda: unicode in fleet.aired(), 30, what="the UCS2 message on the air")
    # a long text: Kannel splits it into UDH segments, the box puts them together again into
    # one message (one id, one receipt)
    long_text = ("A long message through Kannel to a box. " * 11).strip()
    fleet.send([long_text], [DEST.format(51)])
    wait_for(lambda: any(long_text in box.committed() for box in fleet.boxes), 30,
             what="the long message, whole, in a box's queue")
    wait_for(lambda: fleet.reports(long_text) and fleet.reports(unicode), 30,
             what="their delivery reports")
    assert [hit["type"] for hit in fleet.reports(long_text) + fleet.reports(unicode)] == ["1", "1"]


def test_received_sms_reach_kannel_from_each_box(fleet: Fleet) -> None:
    texts = {"box1": "Hello box one", "box2": "Grüße an box two ✓"}     # GSM 7-bit and UCS2
    for box in fleet.boxes:
        status, body = box.daemon.request(
            "/sim/sms", json.dumps({"port": 0, "from": "+447700900555",
                                    "text": texts[box.name]}).encode(),
            headers={"Content-Type": "application/json"})
        assert status == 200, body

    def received() -> dict[str, dict[str, str]]:
        return {hit["smsc"]: hit for hit in fleet.dlr.hits if hit.get("kind") == "mo"}

    wait_for(lambda: len(received()) == 2, 30, what="both received SMS at Kannel's sms-service")
    for name, hit in received().items():
        assert hit["text"] == texts[name] and hit["from"] == "+447700900555", hit


def test_killed_box_loses_nothing_and_new_traffic_goes_to_the_other(fleet: Fleet) -> None:
    box1, box2 = fleet.box1, fleet.box2
    before = [f"queued {i}" for i in range(30)]
    fleet.send(before, [DEST.format(100 + i) for i in range(len(before))])
    # box1 holds a queue: accepted (committed) but not yet on the air
    wait_for(lambda: len(box1.committed(waiting_only=True) & set(before)) >= 3, 30,
             what="messages waiting on box1")
    box1.kill9()
    waiting = box1.committed(waiting_only=True) & set(before)
    accepted_by_box1 = box1.committed() & set(before)
    # what was on the air at the kill: its outcome is unknown, and smsd never sends a part twice
    on_air = accepted_by_box1 - waiting - box1.aired()
    assert waiting and not waiting & box1.aired()
    wait_for(lambda: "box1" not in fleet.kannel.online(), 30, what="Kannel to see box1 gone")

    # new traffic goes out through box2 while box1 is down
    after = [f"after {i}" for i in range(10)]
    fleet.send(after, [DEST.format(200 + i) for i in range(len(after))])
    wait_for(lambda: set(after) <= box2.aired(), 60, what="new traffic on box2")
    # what box1 had not accepted went to box2 as well
    wait_for(lambda: set(before) - accepted_by_box1 <= box2.aired(), 60,
             what="box1's unaccepted share on box2")
    assert not waiting & box1.aired()

    # box1 comes back on its state dir: what it had accepted goes out, with its receipts
    box1.start()
    wait_for(lambda: waiting <= box1.aired(), 60, what="box1's queue on the air after restart")
    wait_for(lambda: fleet.kannel.online() == {"box1", "box2"}, 30, what="box1 bound again")
    everything = set(before) | set(after)
    try:
        wait_for(lambda: all(fleet.reports(t) for t in everything), 60, what="every receipt")
    except AssertionError:
        missing = {t: [b.name for b in fleet.boxes if t in b.aired()]
                   for t in everything if not fleet.reports(t)}
        raise AssertionError(f"no receipt for {missing} (on_air {on_air})") from None
    aired = fleet.aired()
    for text in everything:
        types = [hit["type"] for hit in fleet.reports(text)]
        if text in aired:
            assert "1" in types, (text, fleet.reports(text))
        else:
            # the part on the air when box1 died: its outcome is unknown and smsd does not send
            # it twice; its receipt says stat:UNKNOWN, which Kannel reports as a failure
            assert text in on_air and types == ["2"], (text, fleet.reports(text))
    # Kannel resends what box1 had committed but not yet answered (the answer died with it):
    # those few go out twice, at most a window's worth (max-pending-submits)
    twice = {text for text, n in aired.items() if n > 1}
    assert twice <= accepted_by_box1 and len(twice) <= 10, twice
