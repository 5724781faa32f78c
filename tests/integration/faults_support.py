"""What the database-fault stories use to cause faults and watch the service: a proxy to cut, its logs, its sessions."""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs, urlsplit, urlunsplit

import asyncpg

from target_ledger.scheduler import LOCK
from tests.api.live import free_port


class Proxy:
    """A TCP proxy between the service and PostgreSQL, in the test's event loop, that the
    test cuts (every connection reset, new ones refused) and restores on the same port."""

    def __init__(self, db_url: str) -> None:
        parts = urlsplit(db_url)
        host = parse_qs(parts.query).get("host", [parts.hostname or "127.0.0.1"])[0]
        port = parts.port or 5432
        if host.startswith("/"):  # the embedded server listens on a unix socket only
            self._upstream: Callable[[], Awaitable] = lambda: asyncio.open_unix_connection(f"{host}/.s.PGSQL.{port}")
        else:
            self._upstream = lambda: asyncio.open_connection(host, port)
        self.port = free_port()
        userinfo = parts.netloc.rpartition("@")[0]
        self.url = urlunsplit(("postgresql", f"{userinfo}@127.0.0.1:{self.port}", parts.path, "", ""))
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def restore(self) -> None:
        self._server = await asyncio.start_server(self._link, "127.0.0.1", self.port)

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        await self._server.wait_closed()

    async def _link(self, client: asyncio.StreamReader, to_client: asyncio.StreamWriter) -> None:
        try:
            server, to_server = await self._upstream()
        except OSError:
            to_client.transport.abort()
            return
        self._writers.update((to_client, to_server))
        await asyncio.gather(self._pump(client, to_server), self._pump(server, to_client))
        self._writers.difference_update((to_client, to_server))

    @staticmethod
    async def _pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        sink.transport.abort()


class Records(logging.Handler):
    """What the service logs, kept in a list (the app's logging set-up replaces the root's
    handlers, caplog's among them)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def messages(self, level: int = logging.INFO) -> list[str]:
        return [r.getMessage() for r in self.records if r.levelno >= level]


async def sessions(admin: asyncpg.Connection, application: str) -> int:
    """How many sessions of the test's database this application (by name) holds."""
    sql = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1"
    return int(await admin.fetchval(sql, application))


async def scheduler_locked(admin: asyncpg.Connection) -> bool:
    """Whether a session holds the alert scheduler's advisory lock."""
    sql = """SELECT count(*) FROM pg_locks JOIN pg_stat_activity USING (pid)
              WHERE locktype = 'advisory' AND granted AND objid::bigint = $1 AND datname = current_database()"""
    return bool(await admin.fetchval(sql, LOCK))


async def end_sessions(admin: asyncpg.Connection) -> None:
    """End every session of the service, as a restart does."""
    await admin.execute(
        """SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE datname = current_database() AND application_name LIKE 'target-ledger%'"""
    )


async def waiting_for_locks(admin: asyncpg.Connection) -> bool:
    """Whether two or more of the service's request sessions wait for a lock."""
    sql = """SELECT count(*) FROM pg_stat_activity
              WHERE datname = current_database() AND application_name = 'target-ledger' AND wait_event_type = 'Lock'"""
    return int(await admin.fetchval(sql)) >= 2


async def listening(admin: asyncpg.Connection) -> bool:
    """Whether the service holds its LISTEN session."""
    return await sessions(admin, "target-ledger-listener") == 1
