"""The service role cannot steer the delivery order or the chain's checks with temporary tables or its own operators."""

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from target_ledger.database import migrate
from target_ledger.eventstore import EventStore
from tests.conftest import with_database
from tests.integration.test_restore import _append, _forget_this_server
from tests.support import META, Counter

OLD_KEY = 5_000_000  # a key the old server wrote: its transaction counter was far ahead
# A session's temporary table is looked up before any schema for an unqualified name.
SHADOW = "CREATE TEMP TABLE events (stream_id uuid, version int, hash bytea, xid xid8, position bigint)"


@pytest.fixture
async def app(db_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A session as the service role, which anyone holding the service's credentials has."""
    conn = await asyncpg.connect(db_url, server_settings={"role": "target_ledger_app"})
    yield conn
    await conn.close()


async def _xid(pool: asyncpg.Pool, position: int) -> int:
    return int(await pool.fetchval("SELECT xid::text FROM events WHERE position = $1", position))


async def test_an_empty_temporary_events_table_does_not_lower_a_new_servers_offset(
    store: EventStore, pool: asyncpg.Pool, db_url: str, app: asyncpg.Connection
) -> None:
    # The log arrives from a server whose counter was far ahead: one of its keys is stored.
    owner = await asyncpg.connect(db_url)
    try:
        await owner.execute("SET session_replication_role = replica")  # a key as the old server wrote it
        await owner.execute(
            """INSERT INTO events (xid, event_id, stream_id, version, type, payload, metadata, hash)
               VALUES ($1::text::xid8, $2, $3, 1, 'test.CounterStarted', '{"name": "old"}', '{}', '\\x00')""",
            str(OLD_KEY),
            uuid.uuid4(),
            uuid.uuid4(),
        )
    finally:
        await owner.close()
    await _forget_this_server(db_url, "UPDATE ledger_servers SET system_identifier = system_identifier + 1")
    # The service role, first to ask on the new server, hides the stored keys behind a temporary table.
    await app.execute(SHADOW)
    offset = await app.fetchval("SELECT ledger_order_offset()")
    # The offset recorded puts every new key above the stored one: a follower holding it reads on.
    assert offset + int(await pool.fetchval("SELECT pg_current_xact_id()::text")) > OLD_KEY
    *_, position = await _append(store, 1)
    assert await _xid(pool, position) > OLD_KEY


async def test_a_huge_key_in_a_temporary_events_table_does_not_stop_appends(
    store: EventStore, pool: asyncpg.Pool, db_url: str, app: asyncpg.Connection
) -> None:
    offset = await _forget_this_server(db_url, "SELECT order_offset FROM ledger_servers")
    await app.execute(SHADOW)
    await app.execute("INSERT INTO events VALUES (gen_random_uuid(), 1, '\\x00', '9223372036854775000', 1)")
    assert await app.fetchval("SELECT ledger_order_offset()") == offset
    # Appends keep working, on the offset the server had.
    *_, position = await _append(store, 1)
    assert await _xid(pool, position) == offset + int(
        await pool.fetchval("SELECT xmin::text FROM events WHERE position = $1", position)
    )
    assert await pool.fetchval("SELECT array_agg(DISTINCT order_offset) FROM ledger_servers") == [offset]


async def test_a_temporary_predecessor_does_not_let_a_version_skip_the_chain(
    store: EventStore, pool: asyncpg.Pool, app: asyncpg.Connection
) -> None:
    counter = Counter.start("skipped")
    counter.increment()
    counter.increment()
    await store.append(counter.collect_events(), META)
    # A version 60 that exists only in the service role's session.
    await app.execute(SHADOW)
    await app.execute("INSERT INTO events VALUES ($1, 60, '\\xdeadbeef', '1', 1)", counter.id)
    with pytest.raises(asyncpg.PostgresError, match="has no version 60") as refused:
        await app.execute(
            """INSERT INTO public.events (event_id, stream_id, version, type, payload, metadata)
               VALUES (gen_random_uuid(), $1, 61, 'test.Incremented', '{"by": 1}', '{}')""",
            counter.id,
        )
    assert refused.value.sqlstate == "TL409"
    assert await pool.fetchval("SELECT max(version) FROM events WHERE stream_id = $1", counter.id) == 3


async def test_the_service_role_cannot_create_in_schema_public_even_where_postgresql_14_lets_everyone(
    server_url: str,
) -> None:
    name = f"tl_pg14_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = with_database(server_url, name)
    try:
        owner = await asyncpg.connect(url)
        try:
            await owner.execute("GRANT CREATE ON SCHEMA public TO PUBLIC")  # PostgreSQL 14's default
        finally:
            await owner.close()
        await asyncio.to_thread(migrate, url)
        app = await asyncpg.connect(url, server_settings={"role": "target_ledger_app"})
        try:
            # An operator of its own, found before pg_catalog's, would have chosen the trigger's xid.
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await app.execute(
                    """CREATE FUNCTION public.plus(a bigint, b bigint) RETURNS bigint
                       LANGUAGE sql AS 'SELECT 1::bigint'"""
                )
        finally:
            await app.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_a_temporary_type_does_not_choose_an_events_key(
    store: EventStore, pool: asyncpg.Pool, app: asyncpg.Connection
) -> None:
    counter = Counter.start("early")
    await store.append(counter.collect_events(), META)
    # Type names are looked up in the session's temporary schema first too: a text that
    # keeps one character would turn the transaction's id into a key below every cursor.
    await app.execute("CREATE DOMAIN pg_temp.text AS varchar(1)")
    async with app.transaction():
        await app.execute("SELECT pg_current_xact_id()")
        await store.append(Counter.start("hidden").collect_events(), META, conn=app)
    keys = await pool.fetch("SELECT xid::text::bigint AS key FROM events ORDER BY position")
    assert keys[1]["key"] > keys[0]["key"] >= 10
