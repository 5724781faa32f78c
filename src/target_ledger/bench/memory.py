"""Memory: the peak RSS of `target-ledger import actuals` as its file grows, against the smallest file's."""

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from target_ledger.api.auth import issue_token
from target_ledger.bench import servers
from target_ledger.bench.http import seed_org
from target_ledger.bench.ledger import PEOPLE
from target_ledger.bench.load import Client
from target_ledger.bench.measure import Figure, Goal, Row
from target_ledger.bench.scratch import settings_for


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_mib: float  # the command's own peak resident set size, MiB


def import_file(args: list[str], env: dict[str, str]) -> Run:
    """Run `target-ledger ARGS` to its end in a process of its own: its time and its own peak RSS
    (wait4's rusage of that one child, not of every child the bench ever had)."""
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "target_ledger", *args],
            env={**os.environ, "TL_LOG_LEVEL": "WARNING", **env},
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        if process.returncode != 0:
            errors.seek(0)
            raise RuntimeError(f"target-ledger {' '.join(args)}: exit {process.returncode}: {errors.read()[-2000:]!r}")
    return Run(seconds, usage.ru_maxrss / 1024)  # ru_maxrss is in KiB on Linux


def actuals_csv(path: Path, rows: int) -> None:
    """`rows` actuals of seed_org's people over the last 700 days, each its own external_ref."""
    today = datetime.now(UTC).date()
    days = [(today - timedelta(days=d)).isoformat() for d in range(700)]
    with path.open("w", encoding="utf-8") as f:
        f.write("person,metric,date,value,source,external_ref\n")
        for n in range(rows):
            f.write(f"{PEOPLE[n % len(PEOPLE)]},revenue,{days[n % 700]},{100 + n % 900}.50,file,m{rows}-{n}\n")


async def memory_rows(url: str, data_dir: Path, sizes: tuple[int, ...]) -> list[Row]:
    """Import a file of each size in turn into one ledger (nothing projecting: the import alone)."""
    secret = settings_for(url, str(data_dir)).secret()
    env = {"DATABASE_URL": url, "TL_JWT_SECRET": secret, "TL_DATA_DIR": str(data_dir), "TL_RUN_PROJECTIONS": "0"}
    with servers.uvicorn(servers.SERVICE, env, "/health/live") as base:
        async with Client(base, {"Authorization": f"Bearer {issue_token(secret, 'bench', 'admin')}"}) as admin:
            await seed_org(admin)
    runs: dict[int, Run] = {}
    for rows in sizes:
        path = data_dir / f"actuals-{rows}.csv"
        actuals_csv(path, rows)
        runs[rows] = import_file(["import", "actuals", str(path)], env)
        path.unlink()
    smallest = min(sizes)
    return [
        Row(
            f"memory: peak RSS of `target-ledger import actuals` of {rows:,} rows (CSV)",
            Figure((run.peak_mib,), "MiB"),
            f"the same import of {smallest:,} rows",
            Figure((runs[smallest].peak_mib,), "MiB"),
            Goal("ratio", at_most=1.25),
            [
                f"peak RSS {run.peak_mib:,.0f} MiB at {rows:,} rows against {runs[smallest].peak_mib:,.0f} MiB at "
                f"{smallest:,}; {rows / run.seconds:,.0f} actuals/s ({run.seconds:.0f} s), nothing projecting",
                "goal: bounded memory, the peak does not grow with the file",
            ],
        )
        for rows, run in runs.items()
        if rows != smallest or len(sizes) == 1
    ]
