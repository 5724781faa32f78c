"""The PostgreSQL server the bench runs on, and scratch databases it creates and drops."""

import contextlib
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

import asyncpg

from target_ledger.config import Settings
from target_ledger.database import create_pool, migrate, start_embedded


@contextlib.contextmanager
def server(url: str | None) -> Iterator[str]:
    """The given server (DATABASE_URL), or an embedded one in a temporary directory."""
    if url:
        yield url
        return
    with tempfile.TemporaryDirectory(prefix="tl-bench-") as tmp:
        yield start_embedded(Path(tmp))


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


@contextlib.asynccontextmanager
async def scratch_database(server_url: str, purpose: str) -> AsyncIterator[str]:
    """A migrated database of the bench's own, dropped afterwards."""
    name = f"tl_bench_{purpose}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = with_database(server_url, name)
        migrate(url)
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def settings_for(url: str, data_dir: str, pool_size: int = 10) -> Settings:
    return Settings(database_url=url, data_dir=data_dir, jwt_secret="bench-" + "0" * 40, pool_size=pool_size)


async def service_pool(url: str, size: int, data_dir: str = "/nonexistent") -> asyncpg.Pool:
    """A pool as the service makes it (its role, its codecs, no per-release reset)."""
    return await create_pool(url, settings_for(url, data_dir, size), "target-ledger-bench")


def libpq_parts(url: str) -> dict[str, str]:
    """host, port, user, password and dbname of a URL, a unix-socket `?host=` included."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    return {
        "host": query.get("host", [parts.hostname or "127.0.0.1"])[0],
        "port": str(parts.port or 5432),
        "user": parts.username or "postgres",
        "password": parts.password or "",
        "dbname": parts.path.lstrip("/"),
    }
