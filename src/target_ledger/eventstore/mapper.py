"""eventsourcing's mapper with a msgspec JSON transcoder and typed decoding."""

import functools
import typing
from typing import Any

import msgspec
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, StoredEvent, Transcoder

_IDENTITY = ("originator_id", "originator_version")


class MsgspecTranscoder(Transcoder):
    """JSON via msgspec; decodes to builtins so the mapper can upcast the dict first."""

    def __init__(self) -> None:
        self._encoder = msgspec.json.Encoder(decimal_format="string")

    def encode(self, obj: Any) -> bytes:
        return self._encoder.encode(obj)

    def decode(self, data: bytes) -> Any:
        return msgspec.json.decode(data)


@functools.cache
def _state_type(event_class: type) -> type[msgspec.Struct]:
    """A Struct with the event's annotated fields, used to restore Decimal, date, UUID."""
    hints = typing.get_type_hints(event_class)
    fields = [(name, hint) for name, hint in hints.items() if name not in _IDENTITY]
    fields = [(n, h) for n, h in fields if not n.isupper() and not n.startswith("_")]
    return msgspec.defstruct(f"{event_class.__name__}State", fields, kw_only=True)


class LedgerMapper(Mapper):
    """Maps domain events to stored events; the topic is the class's stable TOPIC name."""

    def __init__(self) -> None:
        super().__init__(transcoder=MsgspecTranscoder())

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[Any]:
        event = super().to_domain_event(stored_event)  # upcasts, then builds from builtins
        state = vars(event)
        typed = msgspec.convert(state, _state_type(type(event)), strict=False)
        state.update(msgspec.structs.asdict(typed))
        return event
