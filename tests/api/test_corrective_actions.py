"""Corrective actions: a cause analysis and a plan against a drifting target, followed up, and their effect."""

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from target_ledger.domain.alert import Alert
from target_ledger.eventstore import Metadata
from tests.api.support import ADMIN, build_east, team_target

PATH = "/v1/corrective-actions"


@pytest.fixture
async def rep1_target(client, auth, clock) -> dict:
    """East as in the adjustment stories, on 10 July: rep1's share of east-1's Q3 target (600)."""
    clock.set("2026-07-10")
    await build_east(client, auth)
    team = await team_target(client, auth)
    return next(c for c in team["children"] if c["node"] == "rep1")


async def _actual(client, auth, day: str, value: str) -> int:
    body = {"person": "rep1", "metric": "revenue", "date": day, "value": value}
    r = await client.post("/v1/actuals", json=body, headers=auth("rep1"))
    assert r.status_code == 201, r.text
    return r.json()["position"]


def _opening(target: dict, **changes) -> dict:
    return {
        "target_id": target["target_id"],
        "causes": [
            {"kind": "objective", "factor": "competitor", "description": "a rival cut prices by 15 %"},
            {"kind": "subjective", "factor": "team", "description": "too few visits to key accounts"},
        ],
        "plan": "two key-account visits a week; bundle offer approved by sales ops",
        "owner": "rep1",
        "due": "2026-07-31",
        "resources": "a pre-sales engineer one day a week",
        "expected_effect": "back on pace by the end of July",
        **changes,
    }


async def _open(client, auth, target: dict, who: str = "lead1", **changes) -> dict:
    r = await client.post(PATH, json=_opening(target, **changes), headers=auth(who))
    assert r.status_code == 201, r.text
    return r.json()


def _fields(r) -> list[str]:
    return [e["field"] for e in r.json().get("errors", [])]


async def test_a_completed_action_shows_attainment_and_pace_before_and_after(client, auth, clock, rep1_target) -> None:
    # rep1 has sold 100 of 600 by 10 July when the team lead opens an action.
    await _actual(client, auth, "2026-07-05", "100")
    action = await _open(client, auth, rep1_target)
    assert action["status"] == "open" and action["node"] == "rep1" and action["opened_by"] == "lead1"
    assert [c["factor"] for c in action["causes"]] == ["competitor", "team"]
    # 100 of 600 is 16.666… %: shown 16.66, never rounded up.
    assert action["before"]["actual"] == "100" and Decimal(action["before"]["attainment_pct"]) == Decimal("16.66")
    before_pace = Decimal(action["before"]["pace_pct"])
    # The owner notes progress a week later.
    clock.set("2026-07-17")
    r = await client.post(f"{PATH}/{action['id']}/progress", json={"note": "met 3 key accounts"}, headers=auth("rep1"))
    assert r.status_code == 200, r.text
    assert [(n["person"], n["note"]) for n in r.json()["notes"]] == [("rep1", "met 3 key accounts")]
    # Sales come in, and by 25 July the owner completes the action with its outcome.
    await _actual(client, auth, "2026-07-20", "200")
    clock.set("2026-07-25")
    r = await client.post(
        f"{PATH}/{action['id']}/completion", json={"outcome": "won back 2 accounts"}, headers=auth("rep1")
    )
    assert r.status_code == 200, r.text
    done = r.json()
    assert (
        done["status"] == "completed" and done["outcome"] == "won back 2 accounts" and done["after"]["actual"] == "300"
    )
    assert Decimal(done["after"]["attainment_pct"]) == Decimal("50.00")
    # The effect is the difference of the two figures shown (both rounded down).
    assert Decimal(done["effect"]["attainment_pts"]) == Decimal("50.00") - Decimal("16.66")
    assert Decimal(done["effect"]["pace_pts"]) == Decimal(done["after"]["pace_pct"]) - before_pace
    assert done["closed_at"].startswith("2026-07-25")
    # The read model lists it with the same measured effect, notes and all.
    r = await client.get(PATH, params={"owner": "rep1", "min_position": done["position"]}, headers=auth("lead1"))
    assert r.status_code == 200, r.text
    [listed] = r.json()
    assert listed["id"] == action["id"] and listed["effect"] == done["effect"] and listed["after"] == done["after"]
    assert listed["notes"] == done["notes"] and listed["causes"] == done["causes"] and not listed["overdue"]
    # And the single action reads the same from its own events.
    r = await client.get(f"{PATH}/{action['id']}", headers=auth("rep1"))
    assert r.status_code == 200 and r.json()["effect"] == done["effect"]


async def test_an_open_action_becomes_overdue_once_its_due_date_has_passed(client, auth, clock, rep1_target) -> None:
    action = await _open(client, auth, rep1_target, due="2026-07-15")
    params = {"status": "overdue", "min_position": action["position"]}
    # On its due date it is not overdue yet.
    clock.set("2026-07-15")
    assert (await client.get(PATH, params=params, headers=auth("lead1"))).json() == []
    # The day after, the region's manager sees it overdue for the region, and per owner.
    clock.set("2026-07-16")
    r = await client.get(PATH, params={**params, "node": "east"}, headers=auth("east-boss"))
    assert r.status_code == 200, r.text
    assert [(a["id"], a["overdue"], a["owner"]) for a in r.json()] == [(action["id"], True, "rep1")]
    r = await client.get(PATH, params={"owner": "rep1", "status": "open"}, headers=auth("rep1"))
    assert [a["overdue"] for a in r.json()] == [True]
    # Another team's subtree does not hold it; nor may that team's lead look at east-1's.
    assert (await client.get(PATH, params={"node": "east-2"}, headers=auth("lead2"))).json() == []
    assert (await client.get(PATH, params={"node": "east-1"}, headers=auth("lead2"))).status_code == 403
    assert (await client.get(PATH, headers=auth("lead2"))).json() == []


async def test_cancelling_needs_a_reason_and_closes_the_action(client, auth, rep1_target) -> None:
    action = await _open(client, auth, rep1_target)
    cancel = f"{PATH}/{action['id']}/cancellation"
    # Without a reason: 422 naming the reason.
    r = await client.post(cancel, json={}, headers=auth("lead1"))
    assert r.status_code == 422 and _fields(r) == ["reason"], r.text
    # With one, the action is cancelled; cancelling or completing it again is a conflict.
    r = await client.post(cancel, json={"reason": "the account was lost to a merger"}, headers=auth("lead1"))
    assert r.status_code == 200 and r.json()["status"] == "cancelled", r.text
    assert r.json()["outcome"] == "the account was lost to a merger" and r.json()["effect"] is None
    assert (await client.post(cancel, json={"reason": "again"}, headers=auth("lead1"))).status_code == 409
    done = await client.post(f"{PATH}/{action['id']}/completion", json={"outcome": "x"}, headers=auth("rep1"))
    assert done.status_code == 409


async def test_completing_twice_is_a_conflict(client, auth, rep1_target) -> None:
    action = await _open(client, auth, rep1_target)
    completion = f"{PATH}/{action['id']}/completion"
    # An outcome is required; then the first completion wins and the second conflicts.
    r = await client.post(completion, json={}, headers=auth("rep1"))
    assert r.status_code == 422 and _fields(r) == ["outcome"], r.text
    assert (await client.post(completion, json={"outcome": "done"}, headers=auth("rep1"))).status_code == 200
    assert (await client.post(completion, json={"outcome": "done"}, headers=auth("east-boss"))).status_code == 409


async def test_a_stranger_can_neither_open_nor_change_an_action(client, auth, rep1_target) -> None:
    # Another team's lead and a teammate may not open an action on rep1's target.
    for who in ("lead2", "rep2"):
        r = await client.post(PATH, json=_opening(rep1_target), headers=auth(who))
        assert r.status_code == 403, (who, r.text)
    # rep1 may, for their own target; the regional manager may too.
    action = await _open(client, auth, rep1_target, who="rep1")
    await _open(client, auth, rep1_target, who="east-boss")
    # Neither stranger may note progress, complete or cancel it, nor read it.
    for who in ("lead2", "rep2"):
        for step, body in (
            ("progress", {"note": "n"}),
            ("completion", {"outcome": "o"}),
            ("cancellation", {"reason": "r"}),
        ):
            r = await client.post(f"{PATH}/{action['id']}/{step}", json=body, headers=auth(who))
            assert r.status_code == 403, (who, step, r.text)
        assert (await client.get(f"{PATH}/{action['id']}", headers=auth(who))).status_code == 403
    # A manager above the node may change it: the regional manager completes it.
    r = await client.post(f"{PATH}/{action['id']}/completion", json={"outcome": "o"}, headers=auth("east-boss"))
    assert r.status_code == 200, r.text


async def test_bad_input_is_a_422_naming_the_field(client, auth, rep1_target) -> None:
    causes = [{"kind": "objective", "factor": "weather", "description": "rain"}]
    cases = [
        ({"causes": causes}, "causes[0].factor"),
        ({"causes": [{"kind": "neither", "factor": "team"}]}, "causes[0].kind"),
        ({"causes": []}, "causes"),
        ({"plan": "  "}, "plan"),
        ({"owner": "nobody"}, "owner"),
        ({"owner": "east-1"}, "owner"),
        ({"due": "2026-07-01"}, "due"),
        ({"target_id": str(uuid.uuid4())}, "target_id"),
        ({"alert_id": str(uuid.uuid4())}, "alert_id"),
        ({"alert_id": "not-a-uuid"}, "alert_id"),
    ]
    for changes, field in cases:
        r = await client.post(PATH, json=_opening(rep1_target, **changes), headers=auth(*ADMIN))
        assert r.status_code == 422, (changes, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert _fields(r) == [field], (changes, r.text)
    # An unknown action is a 404; an unknown status filter a 422 naming it.
    assert (await client.get(f"{PATH}/{uuid.uuid4()}", headers=auth(*ADMIN))).status_code == 404
    r = await client.get(PATH, params={"status": "late"}, headers=auth(*ADMIN))
    assert r.status_code == 422 and _fields(r) == ["status"], r.text


async def test_an_action_answers_an_alert_about_its_own_target(client, auth, store, rep1_target) -> None:
    # An alert on rep1's target, raised as the alert scheduler would.
    raised = Alert.raise_(
        rule="pace",
        subject=rep1_target["target_id"],
        target_id=uuid.UUID(rep1_target["target_id"]),
        node="rep1",
        message="pace below 80 %",
        assignee="lead1",
        at=datetime(2026, 7, 10, 9, tzinfo=UTC),
    )
    await store.append(raised.collect_events(), Metadata(actor="scheduler"))
    # An action on the same target may answer it.
    action = await _open(client, auth, rep1_target, alert_id=str(raised.id))
    assert action["alert_id"] == str(raised.id)
    # An action on another target may not.
    r = await client.get(f"/v1/targets/{rep1_target['target_id']}", headers=auth(*ADMIN))
    parent = {"target_id": r.json()["parent_id"]}
    r = await client.post(PATH, json=_opening(parent, alert_id=str(raised.id)), headers=auth("east-boss"))
    assert r.status_code == 422 and _fields(r) == ["alert_id"], r.text
