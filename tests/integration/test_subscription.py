"""A follower sees every event exactly once, in order, even when commits race."""

import asyncio

import asyncpg

from target_ledger.eventstore import START, EventStore
from target_ledger.eventstore.subscription import Notifier, follow
from tests.support import META, Counter


async def _collect(store: EventStore, notifier: Notifier, seen: list, until: int) -> None:
    async for batch in follow(store, notifier, START):
        seen.extend(batch)
        if len(seen) >= until:
            return


async def test_sixteen_writers_and_a_follower(store: EventStore, pool) -> None:
    notifier = Notifier(pool)
    store.on_append.append(notifier.appended)
    writers, appends = 16, 500
    seen: list = []
    follower = asyncio.create_task(_collect(store, notifier, seen, writers * appends))

    async def writer() -> None:
        # Each writer grows its own stream one event per transaction.
        counter = Counter.start("w")
        await store.append(counter.collect_events(), META)
        for _ in range(appends - 1):
            counter.increment()
            await store.append(counter.collect_events(), META)

    await asyncio.gather(*(writer() for _ in range(writers)))
    await asyncio.wait_for(follower, 60)
    await notifier.close()
    # Every stored event seen exactly once, in (xid, position) order.
    stored = await pool.fetchval("SELECT count(*) FROM events")
    assert stored == writers * appends == len(seen)
    assert len({r.position for r in seen}) == len(seen)
    assert [r.cursor for r in seen] == sorted(r.cursor for r in seen)


async def test_a_later_commit_of_an_earlier_transaction_is_not_skipped(store: EventStore, pool, db_url: str) -> None:
    early = await asyncpg.connect(db_url, server_settings={"role": "target_ledger_app"})
    try:
        # Writer A takes its transaction id first, then stalls.
        tx = early.transaction()
        await tx.start()
        await early.fetchval("SELECT pg_current_xact_id()")
        # Writer B appends and commits.
        b = Counter.start("b")
        b_position = (await store.append(b.collect_events(), META)).last
        # A reader now sees nothing yet: A's transaction could still add an earlier event.
        assert await store.read_live(START) == ([], True)  # nothing to read, B waits beyond the watermark
        # A appends (a later position, an earlier transaction id) and commits last.
        a = Counter.start("a")
        a_position = (await store.append(a.collect_events(), META, conn=early)).last
        await tx.commit()
        assert a_position > b_position
        # The reader gets both, A first: it resumes by (xid, position) and misses nothing.
        first = await store.read_after(START, limit=1)
        rest = await store.read_after(first[-1].cursor)
        assert [r.position for r in first + rest] == [a_position, b_position]
    finally:
        await early.close()


async def test_a_follower_wakes_on_append_without_polling(store: EventStore, pool) -> None:
    notifier = Notifier(pool)
    store.on_append.append(notifier.appended)
    seen: list = []
    follower = asyncio.create_task(_collect(store, notifier, seen, 1))
    await asyncio.sleep(0.1)  # the follower is now idle, waiting
    counter = Counter.start("late")
    await store.append(counter.collect_events(), META)
    # Woken by the append, well before the idle poll interval.
    await asyncio.wait_for(follower, 0.5)
    await notifier.close()
    assert [r.stream_id for r in seen] == [counter.id]


async def test_another_process_append_wakes_a_listening_follower(store: EventStore, db_url: str) -> None:
    from target_ledger.config import Settings
    from target_ledger.database import connect, create_pool

    settings = Settings(database_url=db_url)
    # This "process" follows, listening for NOTIFY; the other has its own pool and notifier.
    notifier = Notifier(store.pool)
    other_pool = await create_pool(db_url, settings)
    other_store = EventStore(other_pool)
    other_notifier = Notifier(other_pool)
    other_store.on_append.append(other_notifier.appended)
    async with connect(db_url, settings) as listener:
        await notifier.listen(listener)
        seen: list = []
        follower = asyncio.create_task(_collect(store, notifier, seen, 1))
        await asyncio.sleep(0.1)
        counter = Counter.start("elsewhere")
        await other_store.append(counter.collect_events(), META)
        # Woken by NOTIFY, well before the one-second idle poll.
        await asyncio.wait_for(follower, 0.5)
    await other_notifier.close()
    await other_pool.close()
    assert [r.stream_id for r in seen] == [counter.id]


async def test_followers_sharing_reads_see_what_an_open_transaction_held_back(
    store: EventStore, pool, db_url: str
) -> None:
    """The projections of a process share their reads of the log; a shared read that found
    events held back by an open transaction must not be handed out again once it commits
    (its commit wakes nobody: this writer's wake-up came before its commit)."""
    notifier = Notifier(pool)
    store.on_append.append(notifier.appended)
    early = await asyncpg.connect(db_url, server_settings={"role": "target_ledger_app"})
    try:
        tx = early.transaction()
        await tx.start()
        await early.fetchval("SELECT pg_current_xact_id()")
        seen: tuple[list, list] = ([], [])
        followers = [asyncio.create_task(_collect(store, notifier, s, 2)) for s in seen]
        b_position = (await store.append(Counter.start("b").collect_events(), META)).last
        await asyncio.sleep(0.1)  # both followers find B held back behind A's open transaction
        a_position = (await store.append(Counter.start("a").collect_events(), META, conn=early)).last
        await tx.commit()
        await asyncio.wait_for(asyncio.gather(*followers), 5)
        assert [r.position for r in seen[0]] == [r.position for r in seen[1]] == [a_position, b_position]
    finally:
        await early.close()
        await notifier.close()
