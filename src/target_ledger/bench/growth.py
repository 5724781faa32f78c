"""A growing ledger: attainment reads at each size, and a rebuild of every read model at the largest."""

import asyncio
import contextlib
import resource
import statistics
from pathlib import Path

import asyncpg

from projections.runner import PROJECTIONS
from target_ledger.bench import projection, servers
from target_ledger.bench.http import attainment_read, clients, seed_org
from target_ledger.bench.ledger import PEOPLE, TEAMS
from target_ledger.bench.load import Client
from target_ledger.bench.measure import Figure, Goal, Row
from target_ledger.bench.scratch import service_pool

# Recorded actuals as the service stores them (the mapper's JSON), written by the database
# itself: a million through Python would take longer than the figures they are for. Each row
# still goes through the event table's trigger (hash chain), like any append.
SEED = """
INSERT INTO events (event_id, stream_id, version, type, payload, metadata)
SELECT gen_random_uuid(), gen_random_uuid(), 1, 'ActualRecorded',
       jsonb_build_object(
           'timestamp', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
           'originator_topic', 'Actual', 'person', ($1::text[])[1 + n % array_length($1::text[], 1)],
           'metric', 'revenue', 'occurred_on', (current_date - (n % 730)::int)::text,
           'value', (100 + n % 900)::text, 'source', 'bench', 'external_ref', 'seed-' || n,
           'scope', '{}'::jsonb, 'class_version', 2),
       '{"actor": "bench"}'::jsonb
  FROM generate_series($2::bigint, $3::bigint) AS n
"""
CHUNK = 50_000  # events per seeding transaction: short, so the watermark keeps moving


async def grow_to(conn: asyncpg.Connection, size: int) -> None:
    have = await conn.fetchval("SELECT count(*) FROM events")
    for start in range(have, size, CHUNK):
        await conn.execute(SEED, PEOPLE, start, min(start + CHUNK, size) - 1)


async def read_p99(client: Client, requests: int, concurrency: int, seconds: float) -> float:
    load = await client.drive(
        lambda n: attainment_read(TEAMS[n % len(TEAMS)]), count=requests, concurrency=concurrency, seconds=seconds
    )
    return load.p(99)


async def ledger_rows(
    url: str,
    data_dir: Path,
    *,
    growth: tuple[int, ...],
    rebuild_events: tuple[int, ...],
    repetitions: int,
    requests: int,
    concurrency: int,
    seconds: float,
    do_rebuild: bool,
) -> list[Row]:
    """Grow one ledger through the sizes; at each growth size read attainment (p99), at each
    rebuild size rebuild every projection and read the raw log, repetitions times each."""
    conn = await asyncpg.connect(url)
    pool = await service_pool(url, 12)
    p99s: dict[int, list[float]] = {}
    rebuilds: dict[int, list[projection.Rebuilt]] = {}
    raw: dict[int, list[float]] = {}
    caught_up: dict[int, tuple[float, float]] = {}  # per size: seconds to catch up, peak RSS (MB) then
    sizes = sorted(set(growth) | (set(rebuild_events) if do_rebuild else set()))
    async with clients(url, data_dir, projections=False) as (_, reader, _base):
        await seed_org(reader)
        for size in sizes:
            await grow_to(conn, size)
            seconds_taken = await projection.catch_up(pool)
            caught_up[size] = (seconds_taken, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
            # The ledger at rest: what autovacuum would do in the minutes after millions of
            # inserts (it would otherwise run during the reads, on the same two cores).
            await conn.execute("VACUUM (ANALYZE)")
            if size in growth:
                await read_p99(reader, min(requests, 200), concurrency, seconds)  # warm caches
                p99s[size] = [await read_p99(reader, requests, concurrency, seconds) for _ in range(repetitions)]
            if do_rebuild and size in rebuild_events:
                for _ in range(repetitions):
                    raw.setdefault(size, []).append(await projection.raw_read(url))
                    rebuilds.setdefault(size, []).append(await projection.rebuild(pool))
    await pool.close()
    await conn.close()
    rows = [
        Row(
            f"rebuild: all projections from {size:,} events",
            Figure(tuple(r.rate for r in rebuilds[size]), "events/s"),
            "raw sequential read of the same events (asyncpg cursor, rows not decoded)",
            Figure(tuple(raw[size]), "events/s"),
            Goal("ratio", at_least=0.25),
            [rebuilds[size][-1].note(0.25 * statistics.median(raw[size]))],
        )
        for size in sorted(rebuilds)
    ]
    for size in sorted(growth)[1:]:
        smallest = min(growth)
        rows.append(
            Row(
                f"growth: attainment read p99 at {size:,} events",
                Figure(tuple(p99s[size]), "ms"),
                f"the same read at {smallest:,} events",
                Figure(tuple(p99s[smallest]), "ms"),
                Goal("ratio", at_most=1.5),
                [
                    "each size read after the projections caught up and a VACUUM (ANALYZE)",
                    f"the bench process ran every projection over the events added up to {size:,} "
                    f"({caught_up[size][0]:,.0f} s); its peak RSS by then: {caught_up[size][1]:,.0f} MB",
                ],
            )
        )
    return rows


async def _at_rest(url: str) -> None:
    """Flush what earlier figures wrote (CHECKPOINT, as the bench's own user), so its disk
    writes do not land inside this one's timing; skipped where that user may not."""
    conn = await asyncpg.connect(url)
    try:
        with contextlib.suppress(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


async def _started(pool: asyncpg.Pool) -> None:
    """Wait until the worker has registered every projection (it does so once it runs them)."""
    for _ in range(600):
        if await pool.fetchval("SELECT count(*) FROM projection_tracking") >= len(PROJECTIONS):
            return
        await asyncio.sleep(0.1)
    raise TimeoutError("the projection worker did not start within a minute")


async def lag_rows(url: str, data_dir: Path, *, rate: int, seconds: float, repetitions: int) -> list[Row]:
    """Commit → applied by the attainment projection in a `target-ledger project` worker, against
    commit → heard by a LISTENing session, both at `rate` single-event transactions a second."""
    pool = await service_pool(url, 10)
    env = {"DATABASE_URL": url, "TL_DATA_DIR": str(data_dir)}
    ours, floor = [], []
    with servers.worker(env):
        await _started(pool)
        for _ in range(repetitions):
            await _at_rest(url)
            ours.append(projection.p99_ms(await projection.service_lag(url, pool, rate, seconds)))
            floor.append(projection.p99_ms(await projection.raw_lag(url, rate, seconds)))
    await pool.close()
    return [
        Row(
            f"projection lag p99, commit → applied to attainment, {rate:,} actuals/s",
            Figure(tuple(ours), "ms"),
            "commit → NOTIFY heard by a listening session, same rate",
            Figure(tuple(floor), "ms"),
            Goal("value", at_most=100),
        )
    ]
