"""`target-ledger bench`: this service's figures beside their baselines, measured in one run."""

import asyncio
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from target_ledger.bench.measure import Row


@dataclass(frozen=True)
class Sizes:
    """How much each figure measures; the defaults finish in a few minutes on 2 cores."""

    repetitions: int = 3
    writers: int = 8
    appends: int = 3000  # single-event appends per contender and repetition
    batches: int = 10  # 1,000-event batches per contender and repetition
    seconds: float = 10.0  # cap on any one timed loop
    requests: int = 2000
    http_concurrency: int = 16
    import_batches: int = 10
    lag_rate: int = 1000  # actuals per second while lag is measured
    lag_seconds: float = 5.0
    # The issue asks for 1,000,000 and 100k/1M/5M; with today's projections (a few hundred events
    # a second, see BENCHMARKS.md) those take hours, so the defaults stay within minutes.
    rebuild_events: tuple[int, ...] = (10_000,)  # a rebuild at each size
    growth: tuple[int, ...] = (10_000, 40_000)
    # The groups `features` and `memory` (not in the default --only): the sizes are 200
    # people, 100,000 plan targets, 200,000 actuals and 100k/1M/5M rows.
    matrix_people: int = 20  # yearly targets split 12 months x matrix_products
    matrix_products: int = 50
    plan_targets: int = 10_000
    page_actuals: int = 20_000
    memory_rows: tuple[int, ...] = (10_000, 100_000)


async def _measure(url: str, sizes: Sizes, only: set[str]) -> list[Row]:
    from target_ledger.bench import appends
    from target_ledger.bench.scratch import scratch_database

    rows: list[Row] = []
    if "appends" in only:
        async with scratch_database(url, "appends") as db:
            rows += await appends.append_rows(
                db,
                repetitions=sizes.repetitions,
                writers=sizes.writers,
                singles=sizes.appends,
                batches=sizes.batches,
                seconds=sizes.seconds,
            )
    if "http" in only:
        from target_ledger.bench.http import http_rows

        async with scratch_database(url, "http") as db:
            with tempfile.TemporaryDirectory(prefix="tl-bench-http-") as tmp:
                rows += await http_rows(
                    db,
                    Path(tmp),
                    repetitions=sizes.repetitions,
                    requests=sizes.requests,
                    concurrency=sizes.http_concurrency,
                    import_batches=sizes.import_batches,
                    seconds=sizes.seconds,
                )
    if "lag" in only:
        from target_ledger.bench.growth import lag_rows

        async with scratch_database(url, "lag") as db:
            with tempfile.TemporaryDirectory(prefix="tl-bench-lag-") as tmp:
                rows += await lag_rows(
                    db, Path(tmp), rate=sizes.lag_rate, seconds=sizes.lag_seconds, repetitions=sizes.repetitions
                )
    if only & {"rebuild", "growth"}:
        from target_ledger.bench.growth import ledger_rows

        async with scratch_database(url, "ledger") as db:
            with tempfile.TemporaryDirectory(prefix="tl-bench-ledger-") as tmp:
                rows += await ledger_rows(
                    db,
                    Path(tmp),
                    growth=sizes.growth if "growth" in only else (),
                    rebuild_events=sizes.rebuild_events,
                    repetitions=sizes.repetitions,
                    requests=sizes.requests,
                    concurrency=sizes.http_concurrency,
                    seconds=sizes.seconds,
                    do_rebuild="rebuild" in only,
                )
    if only & {"features", "memory"}:
        from target_ledger.bench.features import feature_groups

        rows += await feature_groups(url, sizes, only)
    return rows


async def _postgres_version(url: str) -> str:
    conn = await asyncpg.connect(url)
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


def run(database_url: str | None, sizes: Sizes, output: Path | None, only: set[str], section: str = "default") -> str:
    """Measure the chosen figures; answer the report, also written to its section of `output`."""
    from target_ledger.bench.report import render, write
    from target_ledger.bench.scratch import server

    started = time.perf_counter()
    with server(database_url) as url:
        rows = asyncio.run(_measure(url, sizes, only))
        version = asyncio.run(_postgres_version(url))
    command = "target-ledger " + shlex.join(sys.argv[1:])
    text = render(rows, command=command, postgres_version=version, seconds=time.perf_counter() - started, notes=[])
    if output is not None:
        write(output, section, text)
    return text
