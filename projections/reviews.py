"""Recorded reviews (复盘) of closed periods, per period and node."""

from typing import Any

import asyncpg
import msgspec

from target_ledger.domain.review import Review
from target_ledger.eventstore import Recorded

NAME = "reviews"
TABLES = ["reviews"]
VERSION = 1  # raise it when the handlers or tables change meaning: workers then rebuild the model
LISTS = ("success_factors", "shortfall_causes", "lessons", "next_actions")


async def recorded(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e = recorded.event
    await conn.execute(
        """INSERT INTO reviews (period, node, reviewer, summary, success_factors, shortfall_causes, lessons,
                                next_actions, recorded_at, position)
           VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7::jsonb, $8::jsonb, $9, $10)""",
        e.period,
        e.node,
        e.reviewer,
        e.summary,
        *(msgspec.json.encode(getattr(e, name)).decode() for name in LISTS),
        e.timestamp,
        recorded.position,
    )


HANDLERS = {Review.ReviewRecorded: recorded}


async def fetch_review(conn: asyncpg.Connection, period: str, node: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        """SELECT reviewer, summary, success_factors::text, shortfall_causes::text, lessons::text,
                  next_actions::text, recorded_at, position
             FROM reviews WHERE period = $1 AND node = $2""",
        period,
        node,
    )
    if row is None:
        return None
    return {**dict(row), **{name: msgspec.json.decode(row[name]) for name in LISTS}}
