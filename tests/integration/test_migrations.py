"""Migrations apply once, whether run twice or by two processes at the same moment."""

import asyncio
import os

import asyncpg

from target_ledger.database import MIGRATIONS, migrate
from tests.conftest import with_database


async def test_two_processes_migrating_at_once_apply_each_migration_once(server_url: str) -> None:
    name = f"tl_migrate_{os.getpid()}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = with_database(server_url, name)
    try:
        # Two migrators race on an empty database.
        first, second = await asyncio.gather(asyncio.to_thread(migrate, url), asyncio.to_thread(migrate, url))
        assert sorted(first + second) == sorted(p.stem for p in MIGRATIONS.glob("*.sql"))
        # A third run finds nothing to do.
        assert await asyncio.to_thread(migrate, url) == []
        db = await asyncpg.connect(url)
        try:
            assert await db.fetchval("SELECT count(*) FROM _yoyo_migration") == len(first + second)
        finally:
            await db.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
