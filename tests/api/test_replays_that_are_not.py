"""An answer of "stored" (or "already stored") only for what the log holds: two different requests
racing under the same event ids (the same Idempotency-Key, the same opportunity's win) never
pass one off as the replay of the other."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import msgspec
import pytest

from target_ledger.app import create_app
from tests.api.live import serving
from tests.api.pipeline_support import PATH, july_quarter
from tests.api.support import ADMIN
from tests.races import blocked_by, next_position_held


@contextlib.asynccontextmanager
async def _live(settings, clock) -> AsyncIterator[httpx.AsyncClient]:
    """The API in a process of its own on a loopback port: its request runs while the test's do."""
    app = create_app(msgspec.structs.replace(settings, run_projections=False, run_webhooks=False), clock=clock)
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=60) as http:
        yield http


async def _while_held(db_url: str, late, first):
    """`late` decides, then waits to write; `first` is sent and answered meanwhile. Both answers."""
    async with next_position_held(db_url) as owner:
        waiting = asyncio.create_task(late)
        await blocked_by(owner, waiting)
        answered = await first
    return await waiting, answered


async def test_two_requests_under_one_idempotency_key_at_once_answer_only_for_what_was_stored(
    client, auth, settings, clock, db_url
) -> None:
    await client.post("/v1/org/units", json={"node": "acme", "kind": "company", "name": "Acme"}, headers=auth(*ADMIN))
    keyed = {**auth(*ADMIN), "Idempotency-Key": "units-1"}

    def unit(node: str) -> dict:
        return {"node": node, "kind": "region", "name": node, "parent": "acme"}

    async with _live(settings, clock) as live:
        late, first = await _while_held(
            db_url,
            live.post("/v1/org/units", json=unit("north"), headers=keyed),
            client.post("/v1/org/units", json=unit("south"), headers=keyed),
        )
    assert first.status_code == 201, first.text
    # Each answer of a stored unit names a unit the ledger holds; none says "stored" for nothing.
    for answer in (late, first):
        if answer.status_code in (200, 201):
            node = answer.json()["node"]
            r = await client.get(f"/v1/org/nodes/{node}", headers=auth(*ADMIN))
            assert r.status_code == 200, f"{node} answered {answer.status_code} but was never stored: {r.text}"
        else:
            assert answer.status_code in (409, 422), answer.text


@pytest.fixture
async def deals(client, auth, clock) -> dict:
    return await july_quarter(client, auth, clock)


async def _wins_at_once(client, auth, settings, clock, db_url, deals, late: str, first: str):
    """Initech won for `late` (deciding first, writing last) and for `first` meanwhile: both answers."""
    initech = f"{PATH}/{deals['initech']['id']}/win"
    async with _live(settings, clock) as live:
        return await _while_held(
            db_url,
            live.post(initech, json={"amount": late}, headers=auth("rep1")),
            client.post(initech, json={"amount": first}, headers=auth("rep1")),
        )


async def test_two_wins_of_one_opportunity_at_once_with_other_amounts_store_one_and_refuse_the_other(
    client, auth, settings, clock, db_url, deals, pool
) -> None:
    late, first = await _wins_at_once(client, auth, settings, clock, db_url, deals, "310", "290")
    assert first.status_code == 201, first.text
    # The late win, for another amount, is refused: not answered as a duplicate of the stored one.
    assert late.status_code == 409, late.text
    amounts = await pool.fetch("SELECT payload->>'value' AS v FROM events WHERE type = 'ActualRecorded'")
    assert "290" in {r["v"] for r in amounts} and "310" not in {r["v"] for r in amounts}


async def test_the_same_win_twice_at_once_is_stored_once_and_the_late_one_is_its_duplicate(
    client, auth, settings, clock, db_url, deals, pool
) -> None:
    late, first = await _wins_at_once(client, auth, settings, clock, db_url, deals, "300.0", "300")
    assert first.status_code == 201, first.text
    assert late.status_code == 200 and late.json()["duplicate"] is True, late.text
    assert late.json()["actual_id"] == first.json()["actual_id"]
    assert await pool.fetchval("SELECT count(*) FROM events WHERE type = 'OpportunityWon'") == 1
