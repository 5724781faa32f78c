"""Webhook delivery: each subscription's events in order, at least once, one process at a time.

The cursor (`delivered`) lives in PostgreSQL and moves only after the receiver answered
2xx, so a crash re-sends at most the event in flight (receivers de-duplicate by
`webhook-id`). A failure stops the subscription's round: nothing later overtakes the
event that failed. Retries back off exponentially with jitter; after `max_failures` in
a row the subscription pauses, its cursor still where it was. Unless private addresses are
allowed, each connection is checked where it is made (see `_public_socket`).
"""

import asyncio
import contextlib
import logging
import random
import socket
import time
import uuid
import zlib
from dataclasses import dataclass
from typing import Any

import aiohttp
import asyncpg
import msgspec

from target_ledger.config import Settings
from target_ledger.database import Outage
from target_ledger.eventstore.subscription import wake_or_timeout
from target_ledger.integration.feed import FeedSignal, Filters, page
from target_ledger.integration.signing import sign
from target_ledger.integration.webhooks import check_address

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Policy:
    max_failures: int = 8
    backoff: float = 1.0
    backoff_max: float = 600.0
    timeout: float = 10.0
    poll: float = 1.0
    parallel: int = 4  # subscriptions delivered at once by one process (a pool connection each)
    allow_private: bool = False  # deliver to loopback, private, link-local or reserved addresses too


def backoff(policy: Policy, failures: int) -> float:
    """Seconds before the next try: doubling, capped, and jittered (half to all of it) so
    that subscribers failing together do not retry together."""
    ceiling = min(policy.backoff_max, policy.backoff * 2 ** (failures - 1))
    return ceiling * random.uniform(0.5, 1.0)


def _lock_key(sub_id: uuid.UUID) -> int:
    return zlib.crc32(f"webhook:{sub_id}".encode())


def _public_socket(addr_info: tuple) -> socket.socket:
    """A socket for one resolved address, if check_address lets it through (else OSError: a
    failed delivery naming the address). The check is on the very address the connection
    is made to, after aiohttp resolved the host: a host that resolved to a public address
    when it was registered, and to a private one now (DNS rebinding), is refused here, and
    no second lookup comes between the check and the connect. TLS still verifies the URL's
    host name, which aiohttp passes on unchanged."""
    family, kind, proto, _, address = addr_info
    check_address(address[0])
    return socket.socket(family, kind, proto)


class Deliverer:
    def __init__(self, pool: asyncpg.Pool, signal: FeedSignal, policy: Policy) -> None:
        self.pool, self.signal, self.policy = pool, signal, policy

    async def run(self) -> None:
        """Deliver whatever is due, forever; new events and resumed subscriptions wake it."""
        # No redirects followed (a 3xx is a failed delivery), no proxy from the environment.
        connector = aiohttp.TCPConnector(socket_factory=None if self.policy.allow_private else _public_socket)
        timeout = aiohttp.ClientTimeout(total=self.policy.timeout)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as client:
            slots = asyncio.Semaphore(self.policy.parallel)

            async def one(sub_id: uuid.UUID) -> None:
                async with slots:
                    try:
                        await self.deliver(client, sub_id)
                    except Exception:  # one subscription's trouble must not stop the others'
                        log.exception("webhook delivery for %s failed; it is retried next round", sub_id)

            outage = Outage("webhook delivery")
            while True:
                waiter = self.signal.waiter()
                try:
                    due = await self.pool.fetch(
                        """SELECT id FROM webhook_subscriptions
                            WHERE status = 'active' AND next_attempt <= now() ORDER BY next_attempt"""
                    )
                    await asyncio.gather(*(one(r["id"]) for r in due))
                    pause = await self.pool.fetchval(
                        """SELECT extract(epoch FROM min(next_attempt) - now()) FROM webhook_subscriptions
                            WHERE status = 'active'"""
                    )
                except Exception as e:  # the database gone (or a bug): logged once, tried again next round
                    outage.failed(e)
                    pause = None
                else:
                    outage.over()
                wait = self.policy.poll if pause is None else min(max(float(pause), 0.01), self.policy.poll)
                await wake_or_timeout(waiter, wait)

    async def deliver(self, client: aiohttp.ClientSession, sub_id: uuid.UUID) -> None:
        """One round for one subscription, under its advisory lock: every event due, in order,
        until one fails or none is left."""
        async with self.pool.acquire() as lock:
            key = _lock_key(sub_id)
            if not await lock.fetchval("SELECT pg_try_advisory_lock($1)", key):
                return  # another process is delivering it
            try:
                sub = await lock.fetchrow(
                    """SELECT id, url, types, nodes, secret, delivered, failures FROM webhook_subscriptions
                        WHERE id = $1 AND status = 'active' AND next_attempt <= now()""",
                    sub_id,
                )
                if sub is not None:
                    await self._round(lock, client, dict(sub))
            finally:
                with contextlib.suppress(Exception):
                    await lock.execute("SELECT pg_advisory_unlock($1)", key)

    async def _round(self, conn: asyncpg.Connection, client: aiohttp.ClientSession, sub: dict[str, Any]) -> None:
        filters = Filters(sub["types"], tuple(sub["nodes"]))
        while True:
            events, cursor = await page(conn, sub["delivered"], 50, filters)
            for seq, body in events:
                if not await self._send(conn, client, sub, seq, body.encode()):
                    return
                sub["delivered"], sub["failures"] = seq, 0
            if not events:
                # Nothing for this subscriber up to `cursor`: skip the others' events for good.
                await self._move(conn, sub, cursor)
                return

    async def _move(self, conn: asyncpg.Connection, sub: dict[str, Any], to: int) -> bool:
        """Move the cursor on, unless someone replayed or deleted the subscription meanwhile."""
        moved = await conn.execute(
            """UPDATE webhook_subscriptions SET delivered = $3, failures = 0
                WHERE id = $1 AND delivered = $2 AND status = 'active'""",
            sub["id"],
            sub["delivered"],
            to,
        )
        return bool(moved == "UPDATE 1")

    async def _send(
        self, conn: asyncpg.Connection, client: aiohttp.ClientSession, sub: dict[str, Any], seq: int, body: bytes
    ) -> bool:
        event_id = msgspec.json.decode(body)["id"]
        headers = {"content-type": "application/json", **sign(sub["secret"], event_id, body)}
        started, status, error = time.monotonic(), None, None
        try:
            async with client.post(sub["url"], data=body, headers=headers, allow_redirects=False) as response:
                status = response.status
        except aiohttp.ClientConnectorError as e:  # its own text drops a reason that has no errno
            error = f"{type(e).__name__}: cannot connect to {e.host}:{e.port}: {e.os_error}"
        except (aiohttp.ClientError, TimeoutError) as e:
            error = f"{type(e).__name__}: {e}"
        ok = status is not None and 200 <= status < 300
        await conn.execute(
            """INSERT INTO webhook_deliveries (subscription_id, seq, event_id, attempt, status_code, error,
                                               duration_ms, delivered)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
            sub["id"],
            seq,
            uuid.UUID(event_id),
            sub["failures"] + 1,
            status,
            error or (None if ok else f"HTTP {status}"),
            int((time.monotonic() - started) * 1000),
            ok,
        )
        if ok:
            return await self._move(conn, sub, seq)
        failures = sub["failures"] + 1
        await conn.execute(
            """UPDATE webhook_subscriptions
                  SET failures = $2::int, next_attempt = now() + make_interval(secs => $3::float8),
                      status = CASE WHEN $2::int >= $4::int THEN 'paused' ELSE status END
                WHERE id = $1 AND delivered = $5""",
            sub["id"],
            failures,
            backoff(self.policy, failures),
            self.policy.max_failures,
            sub["delivered"],
        )
        return False


def from_settings(pool: asyncpg.Pool, signal: FeedSignal, settings: Settings) -> Deliverer:
    policy = Policy(
        max_failures=settings.webhook_max_failures,
        backoff=settings.webhook_backoff,
        backoff_max=settings.webhook_backoff_max,
        timeout=settings.webhook_timeout,
        poll=settings.webhook_poll,
        allow_private=settings.webhook_allow_private,
    )
    return Deliverer(pool, signal, policy)
