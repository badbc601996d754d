"""What the fuzz tests (tests/e2e/test_fuzz_surfaces.py, tests/test_fuzz_*.py) share: the
Hypothesis settings profiles (`ci` for `make test`, `long` with SMSD_FUZZ=long or `make fuzz`),
the daemon's log read for troubles, and the store's invariants read from its SQLite file.

The profiles are registered, never loaded: loading one would change every other Hypothesis test
running in the same process. A fuzz test takes its settings from `fuzz_settings(examples)`.
"""
from __future__ import annotations

import os
import sqlite3
from typing import Sequence

from hypothesis import HealthCheck, settings

# Examples per test under `ci`: each test names its own count (a request over loopback to the
# real daemon costs a few ms; the whole module stays within its ~40 s share of make test).
LONG = os.environ.get("SMSD_FUZZ", "") == "long"
LONG_EXAMPLES = int(os.environ.get("SMSD_FUZZ_EXAMPLES", "3000"))
_COMMON = dict(deadline=None, database=None, derandomize=False, print_blob=True,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                      HealthCheck.function_scoped_fixture,
                                      HealthCheck.filter_too_much])
settings.register_profile("ci", max_examples=100, **_COMMON)          # type: ignore[arg-type]
settings.register_profile("long", max_examples=LONG_EXAMPLES, **_COMMON)  # type: ignore[arg-type]


def fuzz_settings(examples: int) -> settings:
    """`examples` under the ci profile; the long profile's count with SMSD_FUZZ=long."""
    if LONG:
        return settings(settings.get_profile("long"))
    return settings(settings.get_profile("ci"), max_examples=examples)


# --- the daemon's log ---------------------------------------------------------------------------
TROUBLE_MARKS = ("Traceback", " ERROR ", " CRITICAL ", "Exception in thread")


def troubles(lines: Sequence[str], since: int = 0) -> list[str]:
    """Lines (from the `since`th on) that no input, however hostile, may cause."""
    return [line for line in lines[since:] if any(mark in line for mark in TROUBLE_MARKS)]


def leaks_internals(body: bytes) -> bool:
    """An answer that shows a traceback or the server's source (bottle's debug page, a repr)."""
    return any(mark in body for mark in (b"Traceback (most recent call last)", b'File "/',
                                         b"Internal Server Error", b"<class '"))


# --- the store ----------------------------------------------------------------------------------
def store_problems(db_path: str) -> list[str]:
    """What must hold of the outbox whatever was sent: every accepted submission has all its
    messages and every message all its parts, nothing is queued without a task and a user."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    try:
        checks = {
            "task without messages":
                "SELECT id FROM tasks t WHERE NOT EXISTS "
                "(SELECT 1 FROM messages m WHERE m.task_id = t.id)",
            "message without its task":
                "SELECT id FROM messages m WHERE NOT EXISTS "
                "(SELECT 1 FROM tasks t WHERE t.id = m.task_id)",
            "part without its message":
                "SELECT id FROM parts p WHERE NOT EXISTS "
                "(SELECT 1 FROM messages m WHERE m.id = p.message_id)",
            "message with no part count":
                "SELECT id FROM messages WHERE count < 1",
            "message with parts but not all of them":
                "SELECT m.id FROM messages m WHERE m.stage >= 1 AND EXISTS "
                "(SELECT 1 FROM parts p WHERE p.message_id = m.id) AND m.count != "
                "(SELECT count(DISTINCT seq) FROM parts p WHERE p.message_id = m.id)",
            "task without an owner":
                "SELECT id FROM tasks WHERE user = ''",
        }
        problems = []
        for what, sql in checks.items():
            ids = [row[0] for row in conn.execute(sql + " LIMIT 5")]
            if ids:
                problems.append(f"{what}: {ids}")
        return problems
    finally:
        conn.close()


def queued(db_path: str) -> tuple[int, int, int]:
    """(tasks, messages, USSD requests sent): what a refused request must not add to."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    try:
        return tuple(int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore
                     for table in ("tasks", "messages", "ussd WHERE direction = 'out'"))
    finally:
        conn.close()


def task_messages(db_path: str, task_id: int) -> int:
    """How many messages, each with its owner, the task holds."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    try:
        return int(conn.execute("SELECT count(*) FROM messages m JOIN tasks t ON t.id = m.task_id"
                                " WHERE t.id = ? AND t.user != ''", (task_id,)).fetchone()[0])
    finally:
        conn.close()
