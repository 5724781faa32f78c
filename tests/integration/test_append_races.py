"""Appends that race, interleaved by hand: a lost race is a replay, a deadlock is retried."""

import asyncio
import uuid

import asyncpg
import pytest

from target_ledger.config import Settings
from target_ledger.database import create_pool
from target_ledger.eventstore import EventStore, StreamConflictError
from tests.races import blocked_by, next_position_held
from tests.support import META, Counter


async def lose_race(db_url: str, loser: EventStore, winner: EventStore, counter: Counter):
    """The loser checks the event id first; the winner's identical append commits before the
    loser writes its index entries. Return both results."""
    events, ids = counter.collect_events(), [uuid.uuid4()]
    async with next_position_held(db_url) as owner:
        late = asyncio.create_task(loser.append(events, META, event_ids=ids))
        await blocked_by(owner, late)
        first = await winner.append(events, META, event_ids=ids)
    return first, await late


async def test_an_identical_append_that_loses_the_race_is_a_replay(store: EventStore, pool, db_url: str) -> None:
    counter = Counter.start("visits")
    # Two identical appends through one pool; the second commits first.
    first, late = await lose_race(db_url, store, store, counter)
    # The late one is answered as a replay of the first, not as a conflict.
    assert (first.stored, late.stored, late.positions) == (1, 0, first.positions)
    assert await pool.fetchval("SELECT count(*) FROM events WHERE stream_id = $1", counter.id) == 1


async def test_an_identical_append_from_another_process_that_loses_the_race_is_a_replay(
    store: EventStore, pool, db_url: str
) -> None:
    # A second pool, as a second API process would have.
    other = await create_pool(db_url, Settings(database_url=db_url, pool_size=2))
    try:
        counter = Counter.start("calls")
        first, late = await lose_race(db_url, store, EventStore(other), counter)
        assert (first.stored, late.stored, late.positions) == (1, 0, first.positions)
    finally:
        await other.close()


async def test_a_batch_that_loses_the_race_for_two_versions_of_a_stream_stores_the_rest(
    store: EventStore, pool, db_url: str
) -> None:
    own, shared = Counter.start("own"), Counter.start("shared")
    shared.increment()
    own_events, own_ids = own.collect_events(), [uuid.uuid4()]
    shared_events, shared_ids = shared.collect_events(), [uuid.uuid4(), uuid.uuid4()]
    async with next_position_held(db_url) as owner:
        # The batch's transaction begins with its own event, and waits there...
        batch = asyncio.create_task(store.append([*own_events, *shared_events], META, event_ids=own_ids + shared_ids))
        await blocked_by(owner, batch)
        # ...while versions 1 and 2 of the shared stream are appended alone and committed, by a
        # transaction younger than the batch's.
        alone = await store.append(shared_events, META, event_ids=shared_ids)
    # The batch finds version 1 stored and skips it; version 2 is stored too, not "version 1 was
    # written after this transaction began" (which an event of its own could never be).
    appended = await batch
    assert appended.new == [True, False, False] and appended.positions[1:] == alone.positions


async def test_a_batch_that_loses_the_race_for_one_of_its_events_stores_the_rest(
    store: EventStore, pool, db_url: str
) -> None:
    shared, own = Counter.start("shared"), Counter.start("own")
    shared_events, shared_ids = shared.collect_events(), [uuid.uuid4()]
    own_events, own_ids = own.collect_events(), [uuid.uuid4()]
    async with next_position_held(db_url) as owner:
        # The batch waits before writing its first event (the shared one)...
        batch = asyncio.create_task(store.append([*shared_events, *own_events], META, event_ids=shared_ids + own_ids))
        await blocked_by(owner, batch)
        # ...while the shared event alone is appended and committed.
        alone = await store.append(shared_events, META, event_ids=shared_ids)
    appended = await batch
    # The batch reports the shared event as stored before, and stores its own.
    assert appended.new == [False, True] and appended.positions[0] == alone.last
    assert await pool.fetchval("SELECT count(*) FROM events WHERE type LIKE 'test.Counter%'") == 2


async def test_a_different_event_at_the_same_version_still_conflicts(store: EventStore, pool, db_url: str) -> None:
    counter = Counter.start("orders")
    events = counter.collect_events()
    async with next_position_held(db_url) as owner:
        late = asyncio.create_task(store.append(events, META, event_ids=[uuid.uuid4()]))
        await blocked_by(owner, late)
        # The same version of the stream, under another event id: a real conflict.
        await store.append(events, META, event_ids=[uuid.uuid4()])
    with pytest.raises(StreamConflictError, match=str(counter.id)):
        await late


@pytest.mark.parametrize("other_commits", [True, False], ids=["other-commits", "other-rolls-back"])
async def test_appends_taking_two_streams_in_opposite_order_do_not_leak_a_deadlock(
    store: EventStore, pool, db_url: str, other_commits: bool
) -> None:
    one, two = Counter.start("one"), Counter.start("two")
    await store.append([*one.collect_events(), *two.collect_events()], META)
    mine, theirs = (
        [await store.get(one.id), await store.get(two.id)],
        [await store.get(two.id), await store.get(one.id)],
    )
    for counter in (*mine, *theirs):
        counter.increment()
    other = await asyncpg.connect(db_url)
    # PostgreSQL breaks a deadlock by undoing the first waiter to look: make that the store's append.
    await other.execute("SET deadlock_timeout = '1min'")
    try:
        tx = other.transaction()
        await tx.start()
        # The other writer takes stream two...
        await store.append(theirs[0].collect_events(), META, conn=other)
        # ...this append takes stream one, then waits for two...
        append = asyncio.create_task(store.append([e for c in mine for e in c.collect_events()], META))
        await blocked_by(other, append)
        # ...and the other writer wants stream one: a deadlock, this append is undone and tried again.
        await store.append(theirs[1].collect_events(), META, conn=other)
        await (tx.commit() if other_commits else tx.rollback())
    finally:
        await other.close()
    if other_commits:  # tried again after the other's commit: an honest conflict
        with pytest.raises(StreamConflictError):
            await append
    else:  # tried again after the other gave up: it lands whole
        assert (await append).stored == 2
    count = "SELECT count(*) FROM events WHERE stream_id = ANY($1::uuid[])"
    assert await pool.fetchval(count, [one.id, two.id]) == 4
