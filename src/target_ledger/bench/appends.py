"""Appends: the event store against the eventsourcing library's recorder and raw asyncpg."""

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import asyncpg
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

from target_ledger.bench.ledger import META, actual_events, raw_rows, stored
from target_ledger.bench.measure import Figure, Goal, Row
from target_ledger.bench.scratch import libpq_parts, service_pool
from target_ledger.eventstore import EventStore

RAW_TABLE = """
CREATE TABLE IF NOT EXISTS raw_events (
    position    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id    uuid NOT NULL UNIQUE,
    stream_id   uuid NOT NULL,
    version     integer NOT NULL,
    type        text NOT NULL,
    payload     jsonb NOT NULL,
    metadata    jsonb NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (stream_id, version)
)"""
RAW_INSERT = """INSERT INTO raw_events (event_id, stream_id, version, type, payload, metadata)
                VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb)"""
RAW_UNNEST = """INSERT INTO raw_events (event_id, stream_id, version, type, payload, metadata)
                SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::text[], $5::jsonb[], $6::jsonb[])"""
COLUMNS = ["event_id", "stream_id", "version", "type", "payload", "metadata"]


async def _writers(items: list, writers: int, deadline: float, write: Callable[[object], Awaitable[None]]) -> int:
    """`writers` tasks take the next item and write it until none are left or time is up."""
    queue: Iterator = iter(items)
    done = 0

    async def writer() -> None:
        nonlocal done
        for item in queue:
            if time.perf_counter() > deadline:
                return
            await write(item)
            done += 1

    await asyncio.gather(*(writer() for _ in range(writers)))
    return done


async def _rate(count_work: Callable[[float], Awaitable[int]], seconds: float) -> float:
    started = time.perf_counter()
    done = await count_work(started + seconds)
    return done / (time.perf_counter() - started)


class Contenders:
    """The three ways to store events, each on its own table of one scratch database."""

    def __init__(self, url: str, writers: int) -> None:
        self.url, self.writers = url, writers

    async def __aenter__(self) -> "Contenders":
        self.pool = await service_pool(self.url, self.writers)
        self.store = EventStore(self.pool)
        self.raw = [await asyncpg.connect(self.url) for _ in range(self.writers)]
        await self.raw[0].execute(RAW_TABLE)
        parts = libpq_parts(self.url)
        self.datastore = PostgresDatastore(
            parts["dbname"], parts["host"], parts["port"], parts["user"], parts["password"], pool_size=self.writers
        )
        self.recorder = PostgresApplicationRecorder(self.datastore, events_table_name="library_events")
        self.recorder.create_table()
        self.threads = ThreadPoolExecutor(self.writers)
        return self

    async def __aexit__(self, *_: object) -> None:
        self.threads.shutdown()
        self.datastore.close()
        for conn in self.raw:
            await conn.close()
        await self.pool.close()

    async def service_singles(self, count: int, seconds: float) -> float:
        events = list(actual_events(count))

        async def write(event: object) -> None:
            await self.store.append([event], META)

        return await _rate(lambda deadline: _writers(events, self.writers, deadline, write), seconds)

    async def library_singles(self, count: int, seconds: float) -> float:
        events = stored(list(actual_events(count)), self.store.mapper)
        loop = asyncio.get_running_loop()

        async def write(event: object) -> None:
            await loop.run_in_executor(self.threads, self.recorder.insert_events, [event])

        return await _rate(lambda deadline: _writers(events, self.writers, deadline, write), seconds)

    async def raw_singles(self, count: int, seconds: float) -> float:
        rows = raw_rows(stored(list(actual_events(count)), self.store.mapper))
        free = list(self.raw)  # one connection per writer, held throughout: raw asyncpg at its best

        async def write(row: object) -> None:
            conn = free.pop()
            try:
                await conn.execute(RAW_INSERT, *row)  # type: ignore[misc]
            finally:
                free.append(conn)

        return await _rate(lambda deadline: _writers(rows, self.writers, deadline, write), seconds)

    async def service_batches(self, batches: int, size: int) -> float:
        events = [list(actual_events(size)) for _ in range(batches)]
        started = time.perf_counter()
        for batch in events:
            await self.store.append(batch, META)
        return batches * size / (time.perf_counter() - started)

    async def raw_batches(self, batches: int, size: int, how: str, table: str = "raw_events") -> float:
        tables = [raw_rows(stored(list(actual_events(size)), self.store.mapper)) for _ in range(batches)]
        conn = self.raw[0]
        started = time.perf_counter()
        for rows in tables:
            if how == "copy":
                await conn.copy_records_to_table(table, records=rows, columns=COLUMNS)
            else:
                await conn.execute(RAW_UNNEST, *map(list, zip(*rows, strict=True)))
        return batches * size / (time.perf_counter() - started)


def _events(samples: list[float]) -> Figure:
    return Figure(tuple(samples), "events/s")


async def append_rows(
    url: str, *, repetitions: int, writers: int, singles: int, batches: int, seconds: float
) -> list[Row]:
    """Concurrent single-event appends and 1,000-event batches, each contender in turn per repetition."""
    ours, library, raw, ours_batched, unnest, copy, floor = [], [], [], [], [], [], []
    async with Contenders(url, writers) as c:
        await c.service_singles(writers * 20, seconds)  # warm up connections and prepared statements
        await c.raw_singles(writers * 20, seconds)
        for _ in range(repetitions):
            ours.append(await c.service_singles(singles, seconds))
            library.append(await c.library_singles(singles, seconds))
            raw.append(await c.raw_singles(singles, seconds))
            ours_batched.append(await c.service_batches(batches, 1000))
            unnest.append(await c.raw_batches(batches, 1000, "unnest"))
            copy.append(await c.raw_batches(batches, 1000, "copy"))
            # The same COPY into the ledger's own table: what its schema costs any writer.
            floor.append(await c.raw_batches(batches, 1000, "copy", table="events"))
    best_raw, how = (
        (unnest, "unnest") if sorted(unnest)[len(unnest) // 2] >= sorted(copy)[len(copy) // 2] else (copy, "COPY")
    )
    title = f"concurrent appends, 1 event per transaction, {writers} writers"
    return [
        Row(
            title,
            _events(ours),
            "eventsourcing 9.5 PostgresApplicationRecorder, same writers (threads)",
            _events(library),
            Goal("ratio", at_least=5),
        ),
        Row(
            title,
            _events(ours),
            "raw asyncpg single-row INSERT, one connection per writer",
            _events(raw),
            Goal("ratio", at_least=0.5),
        ),
        Row(
            "batched appends, 1,000 events per transaction",
            _events(ours_batched),
            f"raw asyncpg {how} of the same rows (faster of unnest and COPY)",
            _events(best_raw),
            Goal("ratio", at_least=0.4),
            [
                f"COPY of the same rows into the ledger's own `events` table (its hash-chain trigger and "
                f"(xid, position) index; no Python, no RETURNING): {_events(floor).text()}, "
                f"{_events(floor).median / _events(best_raw).median:.2f} of the baseline"
            ],
        ),
    ]
