"""Real PostgreSQL for every test: DATABASE_URL if given, else an embedded server.

Migrations run once into a template database; each test gets a fresh copy of it.
"""

import contextlib
import itertools
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from target_ledger.config import Settings
from target_ledger.database import create_pool, migrate, start_embedded
from target_ledger.eventstore import EventStore

_counter = itertools.count()


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    if os.environ.get("DATABASE_URL"):
        yield os.environ["DATABASE_URL"]
        return
    with tempfile.TemporaryDirectory(prefix="tl-test-") as tmp:
        yield start_embedded(Path(tmp))


@pytest.fixture(scope="session")
async def template_db(server_url: str) -> AsyncIterator[str]:
    name = f"tl_template_{os.getpid()}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    await admin.execute(f'CREATE DATABASE "{name}"')
    migrate(with_database(server_url, name))
    yield name
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


@contextlib.asynccontextmanager
async def fresh_database(server_url: str, template_db: str) -> AsyncIterator[str]:
    """A freshly migrated database, dropped afterwards: its URL."""
    name = f"tl_test_{os.getpid()}_{next(_counter)}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
    try:
        yield with_database(server_url, name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def db_url(server_url: str, template_db: str) -> AsyncIterator[str]:
    """A freshly migrated database of its own for one test."""
    async with fresh_database(server_url, template_db) as url:
        yield url


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=db_url,
        data_dir=str(tmp_path),
        jwt_secret="test-secret-for-the-ledger-0123456789",
        min_position_timeout=5,
        # Tests move the clock and call the scheduler themselves; its own loop would judge at
        # odd moments under a slow machine.
        scheduler_interval=3600,
        webhook_allow_private=True,  # the webhook receivers in the tests listen on loopback
    )


@pytest.fixture
async def pool(db_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(db_url, Settings(database_url=db_url, pool_size=20))
    yield pool
    await pool.close()


@pytest.fixture
def store(pool: asyncpg.Pool) -> EventStore:
    return EventStore(pool)
