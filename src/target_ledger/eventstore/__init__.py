"""The asyncpg event store: append, read, follow, verify."""

from target_ledger.eventstore.appending import Guard, StreamConflictError
from target_ledger.eventstore.mapper import LedgerMapper
from target_ledger.eventstore.store import START, Appended, Cursor, EventStore, Metadata, Recorded

__all__ = [
    "START",
    "Appended",
    "Cursor",
    "EventStore",
    "Guard",
    "LedgerMapper",
    "Metadata",
    "Recorded",
    "StreamConflictError",
]
