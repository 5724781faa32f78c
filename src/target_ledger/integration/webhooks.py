"""Webhook subscriptions: register, list, delete, replay from a position, resume, and their attempts.

Subscriptions are operational settings of a consumer, not facts of the business: they live
in their own table, not in the event log. Each is visible only to its owner (and admins).
"""

import asyncio
import ipaddress
import socket
import uuid
from typing import Any
from urllib.parse import urlsplit

import asyncpg

from target_ledger.domain.access import Principal, check_can_subscribe
from target_ledger.domain.errors import DomainError, NotFoundError
from target_ledger.integration.feed import Filters
from target_ledger.integration.signing import new_secret

COLUMNS = "id, url, types, nodes, owner, created_at, status, delivered, failures, next_attempt"


async def check_public(url: str) -> None:
    """Refuse a URL whose host resolves to a loopback, private, link-local or reserved address:
    the ledger must not be made to call into its own network (server-side request forgery)."""
    host = urlsplit(url).hostname or ""
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        raise DomainError(f"the host {host!r} does not resolve", field="url") from None
    for *_, address in found:
        ip = ipaddress.ip_address(address[0])
        if not ip.is_global:
            raise DomainError(
                f"{host!r} resolves to {ip}, a non-public address; set TL_WEBHOOK_ALLOW_PRIVATE=1 to allow it",
                field="url",
            )


async def register(
    pool: asyncpg.Pool, owner: Principal, url: str, types: str | None, node: str | None, after: int | None
) -> dict[str, Any]:
    """A new subscription and its secret (shown this once). It starts after `after`, or
    after the newest event now."""
    filters = Filters.parse(owner, types, node)
    row = await pool.fetchrow(
        f"""INSERT INTO webhook_subscriptions (id, url, types, nodes, secret, owner, delivered)
            VALUES ($1, $2, $3, $4, $5, $6,
                    coalesce($7, (SELECT coalesce(max(seq), 0) FROM public_events)))
            RETURNING {COLUMNS}, secret""",
        uuid.uuid4(),
        url,
        filters.types,
        list(filters.nodes),
        new_secret(),
        owner.subject,
        after,
    )
    return dict(row)


async def listed(pool: asyncpg.Pool, reader: Principal) -> list[dict[str, Any]]:
    check_can_subscribe(reader)
    rows = await pool.fetch(
        f"SELECT {COLUMNS} FROM webhook_subscriptions WHERE owner = $1 OR $2 ORDER BY created_at",
        reader.subject,
        reader.is_admin,
    )
    return [dict(r) for r in rows]


async def get(pool: asyncpg.Pool | asyncpg.Connection, reader: Principal, sub_id: uuid.UUID) -> dict[str, Any]:
    check_can_subscribe(reader)
    row = await pool.fetchrow(
        f"SELECT {COLUMNS} FROM webhook_subscriptions WHERE id = $1 AND (owner = $2 OR $3)",
        sub_id,
        reader.subject,
        reader.is_admin,
    )
    if row is None:  # another owner's subscription is as good as absent
        raise NotFoundError(f"no webhook subscription {sub_id}", field="id")
    return dict(row)


async def delete(pool: asyncpg.Pool, reader: Principal, sub_id: uuid.UUID) -> None:
    await get(pool, reader, sub_id)
    await pool.execute("DELETE FROM webhook_subscriptions WHERE id = $1", sub_id)


async def resume(pool: asyncpg.Pool, reader: Principal, sub_id: uuid.UUID, start: int | None = None) -> dict[str, Any]:
    """Active again, due now, from where it was (or from sequence `start` on, for a replay):
    the events held back while it was paused are all still there."""
    await get(pool, reader, sub_id)
    await pool.execute(
        """UPDATE webhook_subscriptions
              SET status = 'active', failures = 0, next_attempt = now(),
                  delivered = coalesce($2, delivered)
            WHERE id = $1""",
        sub_id,
        None if start is None else max(start - 1, 0),
    )
    return await get(pool, reader, sub_id)


async def deliveries(pool: asyncpg.Pool, reader: Principal, sub_id: uuid.UUID, limit: int) -> list[dict[str, Any]]:
    """The newest attempts first."""
    await get(pool, reader, sub_id)
    rows = await pool.fetch(
        """SELECT seq, event_id, attempt, attempted_at, status_code, error, duration_ms, delivered
             FROM webhook_deliveries WHERE subscription_id = $1 ORDER BY id DESC LIMIT $2""",
        sub_id,
        limit,
    )
    return [dict(r) for r in rows]
