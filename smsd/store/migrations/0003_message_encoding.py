"""`messages.encoding`: the alphabet a message's parts went out in.

The scheduler writes it when it builds the parts (gsm7 | ucs2 | 8bit; '' while the message
waits), so send results and their pushed events can say what went out without decoding PDUs
on every query. Messages that already have parts get it from their first part's PDU here.
"""
from __future__ import annotations

import sqlite3

BATCH = 1000


def migrate(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE messages ADD COLUMN encoding TEXT NOT NULL DEFAULT ''")
    from smsd import pdu                  # only for the rows that exist: a fresh file has none
    from smsd.errors import CodecError
    cur = conn.execute("SELECT message_id, pdu FROM parts WHERE seq = 1")
    while rows := cur.fetchmany(BATCH):
        found = []
        for message_id, pdu_hex in rows:
            try:
                found.append((str(pdu.decode(pdu_hex, smsc=True).encoding), message_id))
            except CodecError:
                continue                  # a PDU we cannot read: the alphabet stays unknown
        conn.executemany("UPDATE messages SET encoding = ? WHERE id = ?", found)
