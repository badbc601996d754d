"""Intake's one-statement insert of a task's messages (rows unrolled from JSON inside SQLite):
every row is stored as given, in order, with consecutive ids, whatever its text holds."""
from __future__ import annotations

import time
from typing import Any

from smsd.store import Store

TEXTS = [None, "plain", "\U0001F600 é \u2028 \x01 tab\t \\ \" ' #param#", "ä" * 300, "", "[1,2]",
         "null", "0"]


def stored(store: Store, ids: range) -> list[tuple[Any, ...]]:
    rows = store.db.conn().execute(
        "SELECT id, number, text, user_id, count, typeof(number), typeof(text), typeof(user_id) "
        "FROM messages WHERE id BETWEEN ? AND ? ORDER BY id", (ids[0], ids[-1])).fetchall()
    return [tuple(r) for r in rows]


def intake(store: Store, rows: list[tuple[str, str | None, int | None, int]]) -> range:
    _, ids = store.outbox.intake(user="admin", text="t", encoding="auto", srr=False, ports=None,
                                 rows=rows, now=time.time())
    return ids


def test_many_rows_are_stored_as_given_in_order(store: Store) -> None:
    rows = [(f"+4477{i:08d}", TEXTS[i % len(TEXTS)], [None, 0, 7, (1 << 63) - 1][i % 4], i % 5 + 1)
            for i in range(128)]
    first = intake(store, rows[:1])
    ids = intake(store, rows)
    assert ids == range(first[-1] + 1, first[-1] + 129)
    got = stored(store, ids)
    assert [r[0] for r in got] == list(ids)
    assert [r[1:5] for r in got] == rows
    for (_, _, text, user_id, _, number_type, text_type, user_type) in got:
        assert number_type == "text"
        assert text_type == ("null" if text is None else "text")
        assert user_type == ("null" if user_id is None else "integer")


def test_a_text_with_a_nul_is_stored_whole(store: Store) -> None:
    rows = [("1", "a\x00b", None, 1), ("2", None, None, 1), ("3", "c", 1, 2)]
    ids = intake(store, rows)
    assert [r[1:5] for r in stored(store, ids)] == rows


def test_single_and_bulk_intakes_interleave_with_consecutive_ids(store: Store) -> None:
    seen: list[int] = []
    for n in (1, 3, 1, 128, 2):
        ids = intake(store, [(str(100 + i), None, None, 1) for i in range(n)])
        assert len(ids) == n
        seen.extend(ids)
    assert seen == list(range(seen[0], seen[0] + len(seen)))
    assert store.outbox.in_queue() == len(seen)
