"""Relay the public events to a NATS JetStream stream, for fan-out to many subscribers.

Each event goes to `<subject>.<type>` with its id as `Nats-Msg-Id`, so JetStream drops a
re-publish within its duplicate window. Beyond that window nothing is published twice
either: on start the relay resumes after the later of its position in PostgreSQL and the
`Ledger-Sequence` header of the stream's last message, so a crash between publishing
and saving its position costs nothing.
"""

import asyncio
import logging
from dataclasses import dataclass

import asyncpg
import msgspec
import nats
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from target_ledger.eventstore.subscription import wake_or_timeout
from target_ledger.integration.feed import POLL, FeedSignal, Filters, page

log = logging.getLogger(__name__)
SEQUENCE = "Ledger-Sequence"


class _Head(msgspec.Struct):
    """What the relay reads of an envelope."""

    id: str
    type: str


@dataclass(frozen=True)
class Target:
    url: str
    stream: str
    subject: str  # events go to <subject>.<type>

    @property
    def name(self) -> str:
        return f"nats:{self.stream}"


async def _ensure_stream(js: JetStreamContext, target: Target) -> int:
    """Make the stream if it is missing; return the ledger sequence of its last message (0: none)."""
    try:
        info = await js.stream_info(target.stream)
    except NotFoundError:
        await js.add_stream(name=target.stream, subjects=[f"{target.subject}.>"])
        return 0
    if not info.state.messages:
        return 0
    last = await js.get_msg(target.stream, seq=info.state.last_seq)
    return int((last.headers or {}).get(SEQUENCE, 0))


async def _saved(pool: asyncpg.Pool, name: str) -> int:
    await pool.execute("INSERT INTO relay_positions (name) VALUES ($1) ON CONFLICT DO NOTHING", name)
    return int(await pool.fetchval("SELECT seq FROM relay_positions WHERE name = $1", name))


async def relay(pool: asyncpg.Pool, signal: FeedSignal, target: Target, stop: asyncio.Event, batch: int = 100) -> int:
    """Publish until `stop` is set; return how many events were published."""
    client = await nats.connect(target.url)
    published = 0
    try:
        js = client.jetstream()
        cursor = max(await _saved(pool, target.name), await _ensure_stream(js, target))
        log.info("relaying public events to %s from sequence %d", target.stream, cursor + 1)
        while not stop.is_set():
            waiter = signal.waiter()
            events, moved_to = await page(pool, cursor, batch, Filters())
            for seq, body in events:
                head = msgspec.json.decode(body, type=_Head)
                headers = {"Nats-Msg-Id": head.id, SEQUENCE: str(seq)}
                await js.publish(f"{target.subject}.{head.type}", body.encode(), stream=target.stream, headers=headers)
                published += 1
            if moved_to != cursor:
                cursor = moved_to
                await pool.execute("UPDATE relay_positions SET seq = $2 WHERE name = $1", target.name, cursor)
            if len(events) < batch:
                await wake_or_timeout(waiter, POLL)
    finally:
        await client.drain()
    return published
