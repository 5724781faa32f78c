"""`target-ledger` commands as real processes on one database (the compose example's topology
without Docker), their stderr kept in a file to read the log lines from."""

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.api.live import free_port


@dataclass
class Process:
    process: asyncio.subprocess.Process
    log: Path
    url: str = ""

    def text(self) -> str:
        return self.log.read_text()

    def lines(self) -> list[dict]:
        """Its stderr, each line as the JSON object it must be."""
        return [json.loads(line) for line in self.text().splitlines() if line.strip()]


def environment(settings, **env: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "TL_JWT_SECRET": settings.jwt_secret,
        "TL_DATA_DIR": settings.data_dir,
        "TL_SCHEDULER_INTERVAL": "3600",
        **env,
    }


async def start(settings, log: Path, *command: str, **env: str) -> Process:
    with log.open("ab") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "target_ledger", *command, env=environment(settings, **env), stdout=out, stderr=out
        )
    return Process(process, log)


async def serve(settings, log: Path, **env: str) -> Process:
    """`target-ledger serve` on a free port, once it answers."""
    port = free_port()
    served = await start(settings, log, "serve", TL_PORT=str(port), **env)
    served.url = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=served.url) as client:
        for _ in range(600):
            assert served.process.returncode is None, served.text()
            with contextlib.suppress(httpx.TransportError):
                if (await client.get("/health/live")).status_code == 200:
                    return served
            await asyncio.sleep(0.1)
    raise AssertionError(f"the server did not start: {served.text()}")


async def stop(*processes: Process) -> None:
    for p in processes:
        if p.process.returncode is None:
            p.process.terminate()
    for p in processes:
        try:
            await asyncio.wait_for(p.process.wait(), 10)
        except TimeoutError:
            p.process.kill()
            await p.process.wait()


@contextlib.asynccontextmanager
async def stopped_at_end(*processes: Process) -> AsyncIterator[None]:
    try:
        yield
    finally:
        await stop(*processes)
