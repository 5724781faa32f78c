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


# NAT64's well-known prefix: such an address reaches the IPv4 address in its last 32 bits.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class NonPublicAddressError(OSError):
    """A webhook would connect to an address inside a network (loopback, private, link-local, reserved)."""


def check_address(address: str) -> None:
    """Raise NonPublicAddressError unless `address` (an IP address, as resolved) is a public
    unicast one: the one rule for webhooks, applied when a URL is registered and again to the
    very address each delivery connects to."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip in _NAT64:
        ip = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    elif isinstance(ip, ipaddress.IPv6Address):
        ip = ip.ipv4_mapped or ip.sixtofour or ip
    if not ip.is_global or ip.is_multicast or ip.is_reserved:  # ::a.b.c.d (IPv4-compatible) is "global" but reserved
        raise NonPublicAddressError(
            f"{address} is not a public address (loopback, private, link-local or reserved); "
            "set TL_WEBHOOK_ALLOW_PRIVATE=1 to allow it"
        )


async def check_url(url: str, allow_private: bool) -> None:
    """Refuse (422 naming `url`) a URL without a host, and unless `allow_private`, one whose
    host does not resolve or resolves to any address check_address refuses: the ledger must
    not be made to call into its own network (server-side request forgery). Delivery checks
    the address it connects to again, so a host that resolves elsewhere later gains nothing."""
    try:
        host = urlsplit(url).hostname
    except ValueError as e:
        raise DomainError(f"not a URL: {e}", field="url") from None
    if not host:
        raise DomainError("the URL names no host", field="url")
    if allow_private:
        return
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
        for *_, address in found:
            check_address(str(address[0]))
    except NonPublicAddressError as e:
        raise DomainError(f"{host!r} resolves to {e}", field="url") from None
    except OSError:
        raise DomainError(f"the host {host!r} does not resolve", field="url") from None


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
