"""Use cases: load, decide in the domain, append; each returns the last position."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from target_ledger.domain.access import Principal
from target_ledger.eventstore import EventStore, Metadata

IDEMPOTENCY = uuid.UUID("4c0a6a55-3f4e-4a43-8f43-9a0f5b7f2c03")


@dataclass(frozen=True)
class Command:
    """What every use case gets: where to append, the clock, and who asks and why."""

    store: EventStore
    clock: Callable[[], datetime]
    actor: Principal
    request_id: str
    correlation_id: str | None = None
    idempotency_key: str | None = None

    @property
    def metadata(self) -> Metadata:
        return Metadata(
            actor=self.actor.subject,
            request_id=self.request_id,
            causation_id=self.request_id,
            correlation_id=self.correlation_id or self.request_id,
        )

    def event_ids(self, count: int) -> list[uuid.UUID] | None:
        """A retried request with the same Idempotency-Key stores the same events once."""
        if self.idempotency_key is None:
            return None
        base = f"{self.actor.subject}|{self.idempotency_key}"
        return [uuid.uuid5(IDEMPOTENCY, f"{base}|{i}") for i in range(count)]
