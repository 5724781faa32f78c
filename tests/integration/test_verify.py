"""The hash chain makes a later edit of stored events detectable."""

import asyncio

import asyncpg
from click.testing import CliRunner

from target_ledger.cli import main
from target_ledger.eventstore import EventStore
from target_ledger.eventstore.verify import broken_links
from tests.support import META, Counter


async def _tamper(db_url: str, stream_id: object, *statements: str) -> None:
    # Only a superuser who switches the guard trigger off can do this.
    owner = await asyncpg.connect(db_url)
    try:
        async with owner.transaction():
            await owner.execute("ALTER TABLE events DISABLE TRIGGER events_no_update_delete")
            for sql in statements:
                await owner.execute(sql, *([stream_id] if "$1" in sql else []))
            await owner.execute("ALTER TABLE events ENABLE TRIGGER events_no_update_delete")
    finally:
        await owner.close()


async def _three_streams(store: EventStore) -> list[Counter]:
    counters = [Counter.start(name) for name in ("a", "b", "c")]
    for counter in counters:
        counter.increment(1)
        counter.increment(2)
        await store.append(counter.collect_events(), META)
    return counters


async def test_an_intact_log_has_no_broken_links(store: EventStore, pool) -> None:
    await _three_streams(store)
    async with pool.acquire() as conn:
        assert await broken_links(conn) == []


async def test_an_edited_payload_is_named_by_stream_and_version(store, pool, db_url) -> None:
    _, b, _ = await _three_streams(store)
    # A superuser changes the amount of b's second event.
    await _tamper(
        db_url,
        b.id,
        """UPDATE events SET payload = jsonb_set(payload, '{by}', '100')
            WHERE stream_id = $1 AND version = 2""",
    )
    async with pool.acquire() as conn:
        [link] = await broken_links(conn)
    assert (link.stream_id, link.version) == (b.id, 2)
    assert "hash does not match" in str(link)


async def test_a_recomputed_hash_breaks_the_next_link(store, pool, db_url) -> None:
    a, _, _ = await _three_streams(store)
    # The forger edits version 2 and fixes its own hash, but not version 3's link.
    await _tamper(
        db_url,
        a.id,
        """UPDATE events SET payload = jsonb_set(payload, '{by}', '100')
            WHERE stream_id = $1 AND version = 2""",
        """UPDATE events SET hash = event_hash(
                  (SELECT hash FROM events WHERE stream_id = $1 AND version = 1), events)
            WHERE stream_id = $1 AND version = 2""",
    )
    async with pool.acquire() as conn:
        [link] = await broken_links(conn)
    assert (link.stream_id, link.version) == (a.id, 3)


async def test_a_deleted_event_is_a_missing_version(store, pool, db_url) -> None:
    _, _, c = await _three_streams(store)
    await _tamper(db_url, c.id, "DELETE FROM events WHERE stream_id = $1 AND version = 2")
    async with pool.acquire() as conn:
        [link] = await broken_links(conn)
    assert (link.stream_id, link.version, link.problem) == (
        c.id,
        3,
        "a version is missing before it",
    )


async def test_verify_command_exits_non_zero_and_names_the_link(store, db_url) -> None:
    _, b, _ = await _three_streams(store)
    await _tamper(db_url, b.id, "UPDATE events SET type = 'forged' WHERE stream_id = $1 AND version = 1")
    result = await asyncio.to_thread(CliRunner().invoke, main, ["verify"], env={"DATABASE_URL": db_url})
    assert result.exit_code == 1, result.output
    assert f"stream {b.id} version 1" in result.output


async def test_an_edited_xid_breaks_its_link(store, pool, db_url) -> None:
    _, b, _ = await _three_streams(store)
    # A superuser moves b's second event later in the delivery order.
    await _tamper(
        db_url,
        b.id,
        """UPDATE events SET xid = (xid::text::bigint + 1000)::text::xid8
            WHERE stream_id = $1 AND version = 2""",
    )
    async with pool.acquire() as conn:
        [link] = await broken_links(conn)
    assert (link.stream_id, link.version, link.problem) == (b.id, 2, "its hash does not match its content")


async def test_an_xid_going_backwards_is_named_even_when_rehashed(store, pool, db_url) -> None:
    a, _, _ = await _three_streams(store)
    # The forger puts a's second event before its first in the delivery order and re-hashes
    # the rest of the stream, so every link matches its content.
    await _tamper(
        db_url,
        a.id,
        """UPDATE events SET xid = ((SELECT xid::text::bigint FROM events WHERE stream_id = $1 AND version = 1) - 1)
                                   ::text::xid8
            WHERE stream_id = $1 AND version = 2""",
        *(
            f"""UPDATE events SET hash = event_hash(
                      (SELECT hash FROM events WHERE stream_id = $1 AND version = {version - 1}), events)
                WHERE stream_id = $1 AND version = {version}"""
            for version in (2, 3)
        ),
    )
    async with pool.acquire() as conn:
        [link] = await broken_links(conn)
    assert (link.stream_id, link.version) == (a.id, 2)
    assert link.problem == "its delivery order (xid, position) comes before the version it follows"


async def test_events_hashed_before_xid_was_covered_still_verify(store, pool, db_url) -> None:
    _, b, _ = await _three_streams(store)
    # The log as written before migrations/0017 (0001's formula): its links cover no xid,
    # and the format that covers it begins after them.
    await _tamper(
        db_url,
        b.id,
        "UPDATE chain_formats SET since_position = (SELECT max(position) + 1 FROM events) WHERE format = 2",
        *(
            f"""UPDATE events e SET hash = sha256(
                      coalesce((SELECT hash FROM events p
                                 WHERE p.stream_id = e.stream_id AND p.version = e.version - 1), ''::bytea)
                      || convert_to(concat_ws('|', e.position, e.event_id, e.stream_id, e.version, e.type,
                                              e.payload::text, e.metadata::text,
                                              (extract(epoch FROM e.recorded_at) * 1000000)::bigint), 'UTF8'))
                WHERE e.version = {version}"""
            for version in (1, 2, 3)
        ),
    )
    # An event appended since then links to an old-format one in the new format.
    counter = await store.get(b.id)
    counter.increment()
    await store.append(counter.collect_events(), META)
    async with pool.acquire() as conn:
        assert await broken_links(conn) == []
