"""Durable state: see docs/INTERFACES.md and smsd/store/db.py."""
from smsd.model import EventRow
from smsd.store.db import Store
from smsd.store.outbox import QueuedPart, Recovery, WaitingMessage

__all__ = ["EventRow", "QueuedPart", "Recovery", "Store", "WaitingMessage"]
