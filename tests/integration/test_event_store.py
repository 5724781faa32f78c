"""The event store against real PostgreSQL: versions, atomicity, idempotency, immutability."""

import asyncio
import uuid

import asyncpg
import pytest

from target_ledger.eventstore import START, EventStore, StreamConflictError
from tests.support import META, Counter


async def test_append_returns_positions_and_the_stream_reloads(store: EventStore) -> None:
    # A new stream with three events in one append.
    counter = Counter.start("visits")
    counter.increment(2)
    counter.increment(3)
    positions = (await store.append(counter.collect_events(), META)).positions
    assert positions == sorted(positions) and len(positions) == 3
    # Reloading replays them into the same state.
    again = await store.get(counter.id)
    assert (again.name, again.count, again.version) == ("visits", 5, 3)


async def test_two_appends_at_the_same_version_one_wins(store: EventStore, pool) -> None:
    counter = Counter.start("calls")
    await store.append(counter.collect_events(), META)
    first, second = await store.get(counter.id), await store.get(counter.id)
    first.increment(1)
    second.increment(10)
    # Both append version 2 at once.
    results = await asyncio.gather(
        store.append(first.collect_events(), META),
        store.append(second.collect_events(), META),
        return_exceptions=True,
    )
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == 1 and isinstance(errors[0], StreamConflictError)
    assert str(counter.id) in str(errors[0])
    # Exactly one version 2 is stored.
    assert await pool.fetchval("SELECT count(*) FROM events WHERE stream_id = $1", counter.id) == 2


async def test_a_conflict_in_one_stream_stores_nothing_of_the_append(store: EventStore, pool) -> None:
    stale = Counter.start("stale")
    await store.append(stale.collect_events(), META)
    fresh = await store.get(stale.id)
    fresh.increment()
    await store.append(fresh.collect_events(), META)
    # An append touching a new stream and the stale one fails as a whole.
    other = Counter.start("other")
    stale.increment()
    with pytest.raises(StreamConflictError, match=str(stale.id)):
        await store.append([*other.collect_events(), *stale.collect_events()], META)
    assert await pool.fetchval("SELECT count(*) FROM events WHERE stream_id = $1", other.id) == 0


async def test_an_expected_version_ahead_of_the_stream_is_a_conflict(store: EventStore, pool) -> None:
    counter = Counter.start("gap")
    await store.append(counter.collect_events(), META)
    counter.increment()
    counter.collect_events()  # version 2 is never stored
    counter.increment()
    with pytest.raises(StreamConflictError, match=str(counter.id)):
        await store.append(counter.collect_events(), META)


async def test_reappending_a_stored_event_id_returns_its_position(store: EventStore, pool) -> None:
    counter = Counter.start("orders")
    events = counter.collect_events()
    event_id = uuid.uuid4()
    first = await store.append(events, META, event_ids=[event_id])
    # The same event id again: same position, nothing new stored.
    again = await store.append(events, META, event_ids=[event_id])
    assert (again.positions, again.stored, first.stored) == (first.positions, 0, 1)
    assert await pool.fetchval("SELECT count(*) FROM events") == 1


async def test_payload_and_metadata_are_plain_jsonb(store: EventStore, pool) -> None:
    counter = Counter.start("jsonb")
    await store.append(counter.collect_events(), META)
    row = await pool.fetchrow(
        "SELECT type, payload->>'name' AS name, metadata->>'actor' AS actor,"
        " metadata->>'correlation_id' AS corr FROM events"
    )
    assert dict(row) == {
        "type": "test.CounterStarted",
        "name": "jsonb",
        "actor": "tester",
        "corr": "corr-1",
    }


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE events SET type = 'forged'",
        "DELETE FROM events",
        "TRUNCATE events",
    ],
)
async def test_the_service_role_cannot_change_events(store: EventStore, pool, statement: str) -> None:
    counter = Counter.start("immutable")
    await store.append(counter.collect_events(), META)
    # The pool connects as the service role.
    assert await pool.fetchval("SELECT current_user") == "target_ledger_app"
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await pool.execute(statement)
    assert await pool.fetchval("SELECT count(*) FROM events WHERE type <> 'forged'") == 1


async def test_even_the_owner_cannot_update_events(store: EventStore, db_url: str) -> None:
    counter = Counter.start("owner")
    await store.append(counter.collect_events(), META)
    owner = await asyncpg.connect(db_url)
    try:
        with pytest.raises(asyncpg.PostgresError, match="events are immutable"):
            await owner.execute("UPDATE events SET type = 'forged'")
    finally:
        await owner.close()


async def test_a_version_cannot_come_before_its_predecessor_in_delivery_order(store: EventStore, db_url: str) -> None:
    early = await asyncpg.connect(db_url, server_settings={"role": "target_ledger_app"})
    try:
        # A transaction takes its id, then stalls.
        tx = early.transaction()
        await tx.start()
        await early.fetchval("SELECT pg_current_xact_id()")
        # Meanwhile a later transaction starts a stream and commits.
        counter = Counter.start("order")
        await store.append(counter.collect_events(), META)
        # The early one appends the next version: delivered by (xid, position) it would come
        # before the version it follows, so it is a conflict.
        counter.increment()
        events = counter.collect_events()
        with pytest.raises(StreamConflictError, match=str(counter.id)):
            await store.append(events, META, conn=early)
        await tx.rollback()
    finally:
        await early.close()
    # Appended again in a transaction of its own, it is stored after its predecessor.
    await store.append(events, META)
    assert [r.version for r in await store.read_after(START)] == [1, 2]
