"""If-Match on targets and adjustment requests: a change decided on a stale read is a 412, never an overwrite."""

import asyncio
from datetime import UTC, datetime
from uuid import UUID

import pytest

from target_ledger.application import Command, preconditions
from target_ledger.application.targets import get_target
from target_ledger.domain.access import Principal
from target_ledger.domain.errors import PreconditionFailedError
from tests.api.support import ask, build_east, team_target

EAST_1 = {"node": "east-1", "metric": "revenue", "period": "2026-Q3", "value": "1000"}


@pytest.fixture
async def target(client, auth) -> dict:
    """east-1's quarterly target (version 1), set by east-boss; lead1, east-1's manager, answers for it."""
    await build_east(client, auth)
    r = await client.post("/v1/targets", json=EAST_1, headers=auth("east-boss"))
    assert r.status_code == 201, r.text
    return r.json()


def _acknowledge(client, auth, target: dict, if_match: str | None, **headers: str):
    conditional = {"If-Match": if_match} if if_match is not None else {}
    return client.post(
        f"/v1/targets/{target['id']}/acknowledgement",
        json={"comment": "agreed"},
        headers={**auth("lead1"), **conditional, **headers},
    )


async def _head(pool) -> int:
    return await pool.fetchval("SELECT coalesce(max(position), 0) FROM events")


async def test_a_change_at_the_version_read_succeeds_and_answers_the_next_etag(client, auth, target) -> None:
    # The read gives the target's version as a strong ETag.
    read = await client.get(f"/v1/targets/{target['id']}", headers=auth("lead1"))
    assert read.headers["etag"] == '"1"'
    # Acknowledging at that version succeeds and answers the new one.
    r = await _acknowledge(client, auth, target, read.headers["etag"])
    assert r.status_code == 200, r.text
    assert r.headers["etag"] == '"2"' and r.json()["version"] == 2
    # explain gives the same ETag as the read.
    explained = await client.get(f"/v1/targets/{target['id']}/explain", headers=auth("lead1"))
    assert explained.headers["etag"] == '"2"'


async def test_a_change_at_an_old_version_is_a_412_and_stores_nothing(client, auth, target, pool) -> None:
    # Someone else acknowledges first: the target moves to version 2.
    assert (await _acknowledge(client, auth, target, '"1"')).status_code == 200
    head = await _head(pool)
    # A dispute decided on version 1 is refused, saying where the target is now.
    r = await client.post(
        f"/v1/targets/{target['id']}/dispute",
        json={"comment": "too high"},
        headers={**auth("lead1"), "If-Match": '"1"'},
    )
    assert r.status_code == 412, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.headers["etag"] == '"2"'
    problem = r.json()
    assert problem["title"] == "Precondition Failed" and "version 2" in problem["detail"]
    assert problem["errors"][0]["field"] == "If-Match"
    # Nothing was appended: the log's head did not move.
    assert await _head(pool) == head


async def test_a_list_matches_any_of_its_versions_and_a_star_any_version(client, auth, target) -> None:
    # "1" is among the versions listed: it matches.
    assert (await _acknowledge(client, auth, target, '"7", "1"')).status_code == 200
    # `*` matches whatever version the target is at (2 now).
    r = await _acknowledge(client, auth, target, "*")
    assert r.status_code == 200 and r.headers["etag"] == '"3"'
    # Without If-Match the change is unconditional, as before.
    assert (await _acknowledge(client, auth, target, None)).status_code == 200


@pytest.mark.parametrize("header", ['W/"1"', "1", '"one"', '"1", W/"2"', ",", '*, "1"', '"1", ' * 50])
async def test_a_malformed_if_match_is_refused_naming_the_header(client, auth, target, pool, header) -> None:
    head = await _head(pool)
    # Not `*` nor quoted versions (a weak tag, a bare number, a word), or too long: a 422 naming If-Match.
    r = await _acknowledge(client, auth, target, header)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "If-Match"
    assert await _head(pool) == head


async def test_two_changes_at_the_same_version_one_wins_the_other_is_a_412(client, auth, target, pool) -> None:
    # Both decided on version 1, sent at once.
    answers = await asyncio.gather(*(_acknowledge(client, auth, target, '"1"') for _ in range(2)))
    assert sorted(a.status_code for a in answers) == [200, 412], [a.text for a in answers]
    # Exactly one acknowledgement was stored.
    stored = await pool.fetchval("SELECT count(*) FROM events WHERE type = 'TargetAcknowledged'")
    assert stored == 1


async def test_a_change_committed_between_the_check_and_the_append_is_a_412(client, auth, target, store) -> None:
    # lead1's command checks If-Match "1" against the target as loaded...
    command = Command(
        store=store,
        clock=lambda: datetime(2026, 7, 1, 12, tzinfo=UTC),
        actor=Principal("lead1"),
        request_id="race-1",
        if_match='"1"',
    )
    loaded = await get_target(store, UUID(target["id"]))
    await preconditions.check_target(command, loaded)
    loaded.acknowledge("lead1", "lead1", "agreed", at=command.clock())
    # ...then another acknowledgement commits before its append.
    assert (await _acknowledge(client, auth, target, None)).status_code == 200
    # The append is refused as a stale precondition, naming the version it is at now.
    with pytest.raises(PreconditionFailedError) as refused:
        await command.append(loaded.collect_events())
    assert refused.value.version == 2
    assert (await get_target(store, UUID(target["id"]))).version == 2


async def test_a_retried_change_with_its_idempotency_key_is_not_a_412(client, auth, target, pool) -> None:
    first = await _acknowledge(client, auth, target, '"1"', **{"Idempotency-Key": "ack-1"})
    assert first.status_code == 200 and first.headers["etag"] == '"2"'
    # The retry gets the first answer again, although the target is at version 2 by its doing.
    again = await _acknowledge(client, auth, target, '"1"', **{"Idempotency-Key": "ack-1"})
    assert (again.status_code, again.json()) == (200, first.json())
    assert again.headers["idempotent-replayed"] == "true"
    # Even when the first answer was never kept (the process died after the commit), the retry
    # is known by its stored events: no 412, and nothing stored twice.
    await pool.execute("DELETE FROM idempotent_responses WHERE key = 'ack-1'")
    lost = await _acknowledge(client, auth, target, '"1"', **{"Idempotency-Key": "ack-1"})
    assert lost.status_code == 200, lost.text
    assert await pool.fetchval("SELECT count(*) FROM events WHERE type = 'TargetAcknowledged'") == 1
    # Another key at the old version is a stale change.
    other = await _acknowledge(client, auth, target, '"1"', **{"Idempotency-Key": "ack-2"})
    assert other.status_code == 412


async def test_a_split_and_an_adjustment_request_check_the_target_version(client, auth, target, pool) -> None:
    assert (await _acknowledge(client, auth, target, None)).status_code == 200
    split = {"axis": "org", "method": "weights", "weights": {"rep1": "6", "rep2": "4"}}
    path = f"/v1/targets/{target['id']}"
    # Decided on version 1, now 2: neither the split nor the request is stored.
    stale = {**auth("lead1"), "If-Match": '"1"'}
    assert (await client.post(f"{path}/decomposition", json=split, headers=stale)).status_code == 412
    request = {"reason_category": "market_change", "justification": "a customer left", "new_value": "900"}
    assert (await client.post(f"{path}/adjustments", json=request, headers=stale)).status_code == 412
    assert await pool.fetchval("SELECT count(*) FROM events WHERE type = 'AdjustmentRequested'") == 0
    # At the current version both go through.
    current = {**auth("lead1"), "If-Match": '"2"'}
    r = await client.post(f"{path}/decomposition", json=split, headers=current)
    assert r.status_code == 201 and r.headers["etag"] == '"3"', r.text
    current["If-Match"] = '"3"'
    assert (await client.post(f"{path}/adjustments", json=request, headers=current)).status_code == 201


async def test_deciding_a_request_checks_the_request_version(client, auth) -> None:
    await build_east(client, auth)
    target = await team_target(client, auth)
    asked = await ask(client, auth, target["id"], new_value="850")  # two approvals needed
    read = await client.get(f"/v1/adjustments/{asked['id']}", headers=auth("east-boss"))
    assert read.headers["etag"] == '"1"'
    # The first approval at version 1 goes through: the request is at version 2.
    first = await client.post(
        f"/v1/adjustments/{asked['id']}/approve", headers={**auth("east-boss"), "If-Match": '"1"'}
    )
    assert first.status_code == 200 and first.headers["etag"] == '"2"', first.text
    # The requester withdrawing what they saw at version 1 is told it moved on.
    withdraw = await client.post(
        f"/v1/adjustments/{asked['id']}/withdraw",
        json={"reason": "asked too early"},
        headers={**auth("lead1"), "If-Match": '"1"'},
    )
    assert withdraw.status_code == 412 and withdraw.headers["etag"] == '"2"'
    # The second approver decides on version 2: applied.
    second = await client.post(f"/v1/adjustments/{asked['id']}/approve", headers={**auth("ceo"), "If-Match": '"2"'})
    assert second.status_code == 200 and second.json()["status"] == "approved", second.text


async def test_a_412_tells_no_version_to_whoever_may_not_read_the_target(client, auth, target) -> None:
    # lead2 may not read east-1: a stale If-Match from them is the 403 any change would be.
    r = await client.post(
        f"/v1/targets/{target['id']}/acknowledgement",
        json={"comment": "agreed"},
        headers={**auth("lead2"), "If-Match": '"9"'},
    )
    assert r.status_code == 403 and "etag" not in r.headers


async def test_the_openapi_document_declares_if_match_412_and_etag(client) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    acknowledge = paths["/v1/targets/{target_id}/acknowledgement"]["post"]
    # A conditional change takes If-Match and may answer 412 with the current ETag.
    assert any(p["name"] == "If-Match" and p["in"] == "header" for p in acknowledge["parameters"])
    assert "ETag" in acknowledge["responses"]["412"]["headers"]
    assert acknowledge["responses"]["412"]["content"]["application/problem+json"]
    # The read declares its ETag; an unconditional write takes no If-Match.
    assert "ETag" in paths["/v1/targets/{target_id}"]["get"]["responses"]["200"]["headers"]
    actual = paths["/v1/actuals"]["post"]
    assert "412" not in actual["responses"] and all(p["name"] != "If-Match" for p in actual["parameters"])
