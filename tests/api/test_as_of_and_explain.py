"""A target as the ledger knew it at a past instant, and the stored events that explain its value."""

import asyncio
import re
from datetime import UTC, datetime

import pytest

from tests.api.support import ADMIN, ask, build_east, team_target

HEX_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@pytest.fixture
async def org(client, auth) -> None:
    await build_east(client, auth)


async def _instant() -> datetime:
    """Now, strictly between the recorded times of the events before and after it."""
    await asyncio.sleep(0.05)
    instant = datetime.now(UTC)
    await asyncio.sleep(0.05)
    return instant


@pytest.fixture
async def history(client, auth, org) -> dict:
    """east-1's target: set and split, then cut by 5 % on an approved request; with the
    instants before it existed, before the approval and after it."""
    # Before anything of the target was recorded.
    before_set = await _instant()
    # east-boss sets 1000 for the team; lead1 splits it 60 : 40.
    target = await team_target(client, auth)
    before_approval = await _instant()
    # lead1 asks for 950, and east-boss approves: the cut applies.
    asked = await ask(client, auth, target["id"], new_value="950")
    r = await client.post(f"/v1/adjustments/{asked['id']}/approve", headers=auth("east-boss"))
    assert r.status_code == 200 and r.json()["status"] == "approved", r.text
    after_approval = await _instant()
    return {
        "target": target,
        "adjustment": asked,
        "before_set": before_set,
        "before_approval": before_approval,
        "after_approval": after_approval,
    }


async def _as_of(client, auth, target_id: str, as_of: str, who: tuple[str, ...] = ADMIN):
    return await client.get(f"/v1/targets/{target_id}", params={"as_of": as_of}, headers=auth(*who))


async def test_a_target_reads_as_known_before_and_after_an_approved_cut(client, auth, history) -> None:
    target_id = history["target"]["id"]
    # Before the approval the ledger knew 1000, split 600 : 400, at version 2; today it is 950.
    before = await _as_of(client, auth, target_id, history["before_approval"].isoformat())
    assert before.status_code == 200, before.text
    then = before.json()
    assert (then["value"], then["value_now"], then["version"]) == ("1000", "950", 2)
    assert [c["value"] for c in then["children"]] == ["600.00", "400.00"]
    assert datetime.fromisoformat(then["as_of"]) == history["before_approval"]
    # A past version is no precondition for a change: no ETag with as_of.
    assert "etag" not in before.headers
    # After the approval the ledger knew the cut value, at version 3.
    after = (await _as_of(client, auth, target_id, history["after_approval"].isoformat())).json()
    assert (after["value"], after["value_now"], after["version"]) == ("950", "950", 3)
    assert [c["value"] for c in after["children"]] == ["570.00", "380.00"]
    # Without as_of: today's target, its current version as the ETag, and no as-of fields.
    now = await client.get(f"/v1/targets/{target_id}", headers=auth(*ADMIN))
    assert now.headers["etag"] == '"3"'
    assert (now.json()["value"], now.json()["as_of"], now.json()["value_now"]) == ("950", None, None)


async def test_a_target_did_not_exist_yet_before_it_was_set(client, auth, history) -> None:
    # Asked about an instant before its first event, the target is a 404 saying so.
    r = await _as_of(client, auth, history["target"]["id"], history["before_set"].isoformat())
    assert r.status_code == 404, r.text
    assert "did not exist yet" in r.json()["detail"]


@pytest.mark.parametrize("as_of", ["2026-07-01", "2026-07-01T09:00:00", "yesterday"])
async def test_as_of_must_be_an_instant_with_a_timezone(client, auth, history, as_of) -> None:
    # A date, a naive time or no time at all names no instant: refused, naming as_of.
    r = await _as_of(client, auth, history["target"]["id"], as_of)
    assert r.status_code in (400, 422), r.text
    assert [e["field"] for e in r.json()["errors"]] == ["as_of"]


async def test_explain_lists_the_events_behind_the_value_with_their_hash_chain(client, auth, history) -> None:
    target_id, adjustment_id = history["target"]["id"], history["adjustment"]["id"]
    # An auditor asks how the target came to be 950.
    r = await client.get(f"/v1/targets/{target_id}/explain", headers=auth("auditor", "auditor"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["target_id"], body["value"]) == (target_id, "950")
    events = body["events"]
    # The target's own events and the applied adjustment's, in log order.
    assert [(e["type"], e["stream_id"]) for e in events] == [
        ("TargetSet", target_id),
        ("TargetDecomposed", target_id),
        ("AdjustmentRequested", adjustment_id),
        ("AdjustmentApproved", adjustment_id),
        ("TargetAdjusted", target_id),
    ]
    assert [e["position"] for e in events] == sorted(e["position"] for e in events)
    set_, _, requested, approved, adjusted = events
    # Who did what, and why: the request carries its justification and evidence.
    assert (set_["actor"], set_["payload"]["value"]) == ("east-boss", "1000")
    assert requested["actor"] == "lead1"
    assert requested["payload"]["justification"] == "a key customer went bankrupt"
    assert requested["payload"]["evidence"] == ["https://crm.example/acct/77"]
    assert (approved["actor"], approved["payload"]["approver"]) == ("east-boss", "east-boss")
    assert adjusted["payload"]["adjustment_id"] == adjustment_id and adjusted["payload"]["value"] == "950"
    # Every event carries its SHA-256 and its predecessor's in the same stream (none at version 1).
    last_hash: dict[str, str] = {}
    for event in events:
        assert HEX_SHA256.match(event["hash"]), event
        assert event["previous_hash"] == last_hash.get(event["stream_id"]), event
        assert (event["previous_hash"] is None) == (event["version"] == 1)
        last_hash[event["stream_id"]] = event["hash"]


async def test_explain_matches_the_raw_log(client, auth, history, pool) -> None:
    # The hashes listed are the stored ones, byte for byte.
    body = (await client.get(f"/v1/targets/{history['target']['id']}/explain", headers=auth(*ADMIN))).json()
    stored = await pool.fetch(
        "SELECT position, encode(hash, 'hex') AS hash FROM events WHERE position = ANY($1::bigint[])",
        [e["position"] for e in body["events"]],
    )
    assert {r["position"]: r["hash"] for r in stored} == {e["position"]: e["hash"] for e in body["events"]}


async def test_a_person_who_may_not_read_the_node_sees_neither_view(client, auth, history) -> None:
    target_id = history["target"]["id"]
    # lead2 manages east-2, not east-1: both the past view and the explanation are refused.
    past = await _as_of(client, auth, target_id, history["after_approval"].isoformat(), who=("lead2",))
    assert past.status_code == 403, past.text
    explained = await client.get(f"/v1/targets/{target_id}/explain", headers=auth("lead2"))
    assert explained.status_code == 403, explained.text
    # A member of the team reads both.
    assert (
        await _as_of(client, auth, target_id, history["after_approval"].isoformat(), who=("rep1",))
    ).status_code == 200
    assert (await client.get(f"/v1/targets/{target_id}/explain", headers=auth("rep1"))).status_code == 200
