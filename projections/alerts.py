"""Alerts as they stand (open, acknowledged, resolved, how often), and the follow-up plans."""

from datetime import date, datetime
from typing import Any

import asyncpg
import msgspec

from target_ledger.domain.alert import Alert
from target_ledger.domain.target import Target
from target_ledger.eventstore import Recorded

NAME = "alerts"
TABLES = ["alerts", "follow_ups"]
VERSION = 1  # raise it when the handlers or tables change meaning: workers then rebuild the model


def _episode(event: Any, **more: object) -> str:
    return msgspec.json.encode([{"raised_at": event.timestamp, "value": event.value, **more}]).decode()


async def raised(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e = recorded.event
    await conn.execute(
        """INSERT INTO alerts (alert_id, rule, subject, target_id, node, metric, period, status, value, threshold,
                               message, assignee, raised_at, history)
           VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8, $9, $10, $11, $12, $13::jsonb)""",
        e.originator_id,
        e.rule,
        e.subject,
        e.target_id,
        e.node,
        e.metric,
        e.period,
        e.value,
        e.threshold,
        e.message,
        e.assignee,
        e.timestamp,
        _episode(e),
    )


async def recurred(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e = recorded.event
    await conn.execute(
        """UPDATE alerts SET status = 'open', value = $2, message = $3, assignee = $4, raised_at = $5,
                  resolved_at = NULL, acknowledged_by = NULL, ack_comment = NULL, occurrences = occurrences + 1,
                  history = history || $6::jsonb
            WHERE alert_id = $1""",
        e.originator_id,
        e.value,
        e.message,
        e.assignee,
        e.timestamp,
        _episode(e),
    )


async def acknowledged(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e = recorded.event
    await conn.execute(
        "UPDATE alerts SET acknowledged_by = $2, ack_comment = $3 WHERE alert_id = $1",
        e.originator_id,
        e.person,
        e.comment,
    )


async def resolved(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e = recorded.event
    # The latest episode gets its end; earlier ones keep theirs.
    await conn.execute(
        """UPDATE alerts SET status = 'resolved', value = $2, resolved_at = $3,
                  history = jsonb_set(history, ARRAY[(jsonb_array_length(history) - 1)::text, 'resolved_at'],
                                      to_jsonb($3::timestamptz))
            WHERE alert_id = $1""",
        e.originator_id,
        e.value,
        e.timestamp,
    )


async def follow_up_planned(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e = recorded.event
    await conn.execute(
        """INSERT INTO follow_ups (target_id, node, metric, period, cadence, reporter, supervisor, planned_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (target_id) DO UPDATE SET cadence = $5, reporter = $6, supervisor = $7, planned_at = $8""",
        e.originator_id,
        e.node,
        e.metric,
        e.period,
        e.cadence,
        e.reporter,
        e.supervisor,
        e.timestamp,
    )


async def follow_up_reported(conn: asyncpg.Connection, recorded: Recorded) -> None:
    await conn.execute(
        "UPDATE follow_ups SET last_report_at = $2 WHERE target_id = $1",
        recorded.event.originator_id,
        recorded.event.timestamp,
    )


HANDLERS = {
    Alert.AlertRaised: raised,
    Alert.AlertRecurred: recurred,
    Alert.AlertAcknowledged: acknowledged,
    Alert.AlertResolved: resolved,
    Target.FollowUpPlanned: follow_up_planned,
    Target.FollowUpReported: follow_up_reported,
}

COLUMNS = """alert_id, rule, subject, target_id, node, metric, period, status, value, threshold, message, assignee,
             acknowledged_by, ack_comment, occurrences, raised_at, resolved_at, history::text AS history"""


def _alert(row: asyncpg.Record) -> dict[str, Any]:
    return {**dict(row), "history": msgspec.json.decode(row["history"])}


async def fetch_alerts(
    conn: asyncpg.Connection, *, nodes: list[str] | None, status: str | None, assignee: str | None
) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        f"""SELECT {COLUMNS} FROM alerts
             WHERE ($1::text[] IS NULL OR node = ANY($1)) AND ($2::text IS NULL OR status = $2)
               AND ($3::text IS NULL OR assignee = $3)
             ORDER BY raised_at DESC, alert_id""",
        nodes,
        status,
        assignee,
    )
    return [_alert(r) for r in rows]


async def fetch_open(conn: asyncpg.Connection) -> dict[str, asyncpg.Record]:
    """Open alerts by rule and subject: what the scheduler must not raise again."""
    rows = await conn.fetch("SELECT alert_id, rule, subject, node FROM alerts WHERE status = 'open'")
    return {f"{r['rule']}|{r['subject']}": r for r in rows}


async def fetch_raised_between(
    conn: asyncpg.Connection, nodes: list[str], starts_on: date, ends_on: date
) -> list[dict[str, Any]]:
    """Alerts of some nodes with an episode raised between two days: a review counts them."""
    rows = await conn.fetch(
        f"""SELECT {COLUMNS} FROM alerts
             WHERE node = ANY($1) AND EXISTS (
                   SELECT 1 FROM jsonb_array_elements(history) AS episode
                    WHERE (episode ->> 'raised_at')::timestamptz::date BETWEEN $2 AND $3)
             ORDER BY raised_at""",
        nodes,
        starts_on,
        ends_on,
    )
    return [_alert(r) for r in rows]


async def fetch_follow_ups(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT target_id, node, metric, period, cadence, reporter, supervisor, planned_at, last_report_at
             FROM follow_ups"""
    )


def last_report(row: asyncpg.Record) -> datetime:
    return row["last_report_at"] or row["planned_at"]
