"""Moving the injected clock, judging the alert rules, and reading what they raised."""

import asyncio

from tests.api.support import ADMIN


def _in_app(client, function):
    """Run a coroutine function on the app's own event loop (the test client runs it in a thread)."""
    return asyncio.to_thread(client.blocking_portal.call, function)


async def head(client) -> int:
    async def fetch() -> int:
        async with client.app.state.pool.acquire() as conn:
            return int(await conn.fetchval("SELECT coalesce(max(position), 0) FROM events"))

    return await _in_app(client, fetch)


async def judge_on(client, clock, day: str) -> None:
    """Move time to `day` and let the scheduler look at the clock, as it does once a day."""
    clock.set(day)
    await _in_app(client, client.app.state.scheduler.run_due)


async def alerts(client, auth, rule: str | None = None, who=ADMIN, **query) -> list[dict]:
    r = await client.get("/v1/alerts", params={"min_position": await head(client), **query}, headers=auth(*who))
    assert r.status_code == 200, r.text
    return [a for a in r.json() if rule in (None, a["rule"])]


async def record(client, auth, person: str, day: str, value: str, ref: str) -> int:
    """Record a revenue actual from the CRM; return its position."""
    body = {"person": person, "metric": "revenue", "date": day, "value": value, "source": "crm", "external_ref": ref}
    r = await client.post("/v1/actuals", json=body, headers=auth(*ADMIN))
    assert r.status_code == 201, r.text
    return int(r.json()["position"])


async def set_target(client, auth, node: str, period: str, value: str, who=ADMIN) -> dict:
    body = {"node": node, "metric": "revenue", "period": period, "value": value}
    r = await client.post("/v1/targets", json=body, headers=auth(*who))
    assert r.status_code == 201, r.text
    return r.json()
