"""A network that repeats a delivery (the modem's acknowledgement was lost, the SMSC tried
again) hands the same SMS over twice: same sender, same service-centre time stamp, same text,
to the same SIM. The second copy is the first one, not a new message: it is dropped before it
reaches the inbox or any push. Only the latest messages are compared (a repeat comes within
minutes), so the check costs the same however large the inbox grows.
"""
from __future__ import annotations

import logging
import sqlite3

log = logging.getLogger("smsd.inbox")

RECENT = 256        # inbound messages looked at


def is_repeat(conn: sqlite3.Connection, port: int, imsi: str, sender: str, stamp: str,
              text: str) -> bool:
    """True when one of the latest messages is this one again (the network's time stamp
    included, so the same words sent twice by a person are two messages)."""
    row = conn.execute(
        "SELECT 1 FROM (SELECT port, imsi, number, timestamp, text FROM inbound "
        "ORDER BY id DESC LIMIT ?) WHERE number = ? AND timestamp = ? AND text = ? AND "
        "(imsi = ? AND imsi != '' OR imsi = '' AND port = ?) LIMIT 1",
        (RECENT, sender, stamp, text, imsi, port)).fetchone()
    if row is not None:
        log.info("port %d: SMS from %s stamped %s received again; the repeat is dropped",
                 port, sender, stamp)
    return row is not None
