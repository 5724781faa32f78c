"""If-Match on targets and adjustment requests: a change decided on a stale read is a 412, never an overwrite."""

import asyncio
from datetime import UTC, datetime
from uuid import UUID

import pytest

from target_ledger.api.operations import CONDITIONAL, OPERATIONS
from target_ledger.application import Command, preconditions
from target_ledger.application.targets import get_target
from target_ledger.domain.access import Principal
from target_ledger.domain.errors import PreconditionFailedError
from tests.api.support import ADMIN, ask, build_east, team_target

FULLWIDTH_ONE = "\uff11"  # what an input method may type for 1
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


@pytest.mark.parametrize("header", ['W/"1"', "1", '"1" "2"', '"1', '"1", W/"2"', ",", '*, "1"', '"1", ' * 50])
async def test_a_malformed_if_match_is_refused_naming_the_header(client, auth, target, pool, header) -> None:
    head = await _head(pool)
    # Not `*` nor quoted versions (a weak tag, a bare number, a word), or too long: a 422 naming If-Match.
    r = await _acknowledge(client, auth, target, header)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "If-Match"
    assert await _head(pool) == head


@pytest.mark.parametrize("header", ['"abc"', '"-1"', '"01"', '""', '"1,2"'])
async def test_a_well_formed_tag_that_is_no_current_version_is_a_412(client, auth, target, pool, header) -> None:
    head = await _head(pool)
    # An opaque tag (RFC 9110) the ledger never gave, or not at this version, simply does not match.
    r = await _acknowledge(client, auth, target, header)
    assert r.status_code == 412, r.text
    assert r.headers["etag"] == '"1"' and await _head(pool) == head


async def test_a_list_may_hold_empty_elements_and_tags_with_commas(client, auth, target) -> None:
    # Empty list elements are ignored (RFC 9110 §5.6.1.2): "1" is among the versions named.
    assert (await _acknowledge(client, auth, target, '"9",, "1",')).status_code == 200


async def test_a_header_of_utf_8_bytes_is_echoed_as_the_client_wrote_it(client, auth, target) -> None:
    # A fullwidth digit, unquoted: malformed, and the detail shows it as sent, not as latin-1 mojibake.
    r = await _acknowledge(client, auth, target, FULLWIDTH_ONE.encode())  # type: ignore[arg-type]
    assert r.status_code == 422, r.text
    assert FULLWIDTH_ONE in r.json()["detail"] and "\u00ef" not in r.json()["detail"]
    # Quoted, it is a well-formed opaque tag: no version, so a 412.
    quoted = f'"{FULLWIDTH_ONE}"'.encode()
    assert (await _acknowledge(client, auth, target, quoted)).status_code == 412  # type: ignore[arg-type]


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


async def test_a_412_under_a_key_leaves_the_key_free_for_the_corrected_retry(client, auth, target, pool) -> None:
    assert (await _acknowledge(client, auth, target, None)).status_code == 200
    # Decided on version 1, now 2: a 412, and nothing kept under the key.
    stale = await _acknowledge(client, auth, target, '"1"', **{"Idempotency-Key": "ack-3"})
    assert stale.status_code == 412
    # The retry at the version read again is decided anew: stored, with the next ETag.
    fixed = await _acknowledge(client, auth, target, '"2"', **{"Idempotency-Key": "ack-3"})
    assert fixed.status_code == 200 and fixed.headers["etag"] == '"3"', fixed.text
    assert "idempotent-replayed" not in fixed.headers
    # Its retry is a replay, carrying the ETag the answer had.
    again = await _acknowledge(client, auth, target, '"2"', **{"Idempotency-Key": "ack-3"})
    assert again.headers["idempotent-replayed"] == "true" and again.headers["etag"] == '"3"'
    # The same key with another If-Match is another request: a 422 naming the key, as another body is.
    other = await _acknowledge(client, auth, target, '"3"', **{"Idempotency-Key": "ack-3"})
    assert other.status_code == 422 and other.json()["errors"][0]["field"] == "Idempotency-Key"
    assert await pool.fetchval("SELECT count(*) FROM events WHERE type = 'TargetAcknowledged'") == 2


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


# Each conditional operation, with a body it would take: the path's id is east-1's target or lead1's request on it.
CHANGES = {
    "acknowledge_target": {"comment": "agreed"},
    "dispute_target": {"comment": "too high"},
    "split_target": {"axis": "org", "method": "weights", "weights": {"rep1": "6", "rep2": "4"}},
    "request_adjustment": {"reason_category": "market_change", "justification": "a customer left", "new_value": "9"},
    "approve_adjustment": None,
    "reject_adjustment": {"reason": "not justified"},
    "withdraw_adjustment": {"reason": "asked too early"},
}


def test_every_conditional_operation_is_in_the_table_of_changes() -> None:
    assert set(CHANGES) == CONDITIONAL


@pytest.mark.parametrize("operation", sorted(CHANGES))
async def test_a_non_reader_gets_the_same_403_whatever_the_if_match(client, auth, target, operation) -> None:
    asked = await ask(client, auth, target["id"], new_value="900")
    (path,) = [p for (method, p), name in OPERATIONS.items() if name == operation]
    url = path.format(target_id=target["id"], adjustment_id=asked["id"])
    answers = []
    # lead2 may not read east-1: the current version, a stale one, `*` or none at all are one answer.
    for if_match in ('"1"', '"9"', "*", None):
        conditional = {"If-Match": if_match} if if_match is not None else {}
        r = await client.post(url, json=CHANGES[operation], headers={**auth("lead2"), **conditional})
        assert r.status_code == 403 and "etag" not in r.headers, (if_match, r.text)
        answers.append(r.json())
    assert all(a == answers[0] for a in answers), answers
    # The refusal is about reading east-1: it never names the assignee nor the requester (lead1).
    assert "lead1" not in answers[0]["detail"]


@pytest.mark.parametrize("operation", ["acknowledge_target", "withdraw_adjustment"])
async def test_an_outsider_gets_a_403_before_any_lookup_and_a_malformed_if_match_a_422_first(
    client, auth, target, operation
) -> None:
    asked = await ask(client, auth, target["id"], new_value="900")
    (path,) = [p for (method, p), name in OPERATIONS.items() if name == operation]
    known = path.format(target_id=target["id"], adjustment_id=asked["id"])
    unknown = path.format(target_id=UUID(int=7), adjustment_id=UUID(int=7))
    # mallory belongs to no unit: the same 403 for an id that exists and one that does not.
    answers = [await client.post(url, json=CHANGES[operation], headers=auth("mallory")) for url in (known, unknown)]
    assert [a.status_code for a in answers] == [403, 403] and answers[0].json() == answers[1].json()
    # A malformed If-Match is a 422 before even that.
    r = await client.post(known, json=CHANGES[operation], headers={**auth("mallory"), "If-Match": "W/1"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "If-Match"


async def test_rights_to_act_come_before_the_version(client, auth, target) -> None:
    # The admin may read east-1 but is not its assignee: a 403, never a 412, whatever the If-Match.
    for if_match in ('"1"', '"9"', '"1",,"2"'):
        r = await client.post(
            f"/v1/targets/{target['id']}/acknowledgement",
            json={"comment": "agreed"},
            headers={**auth(*ADMIN), "If-Match": if_match},
        )
        assert r.status_code == 403 and "etag" not in r.headers, (if_match, r.text)


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
