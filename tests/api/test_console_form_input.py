"""Console forms read through the API's own input Structs: the API's limits, NUL rule and formats, beside the field."""

import pytest

from tests.api.monitoring_support import head, set_target
from tests.api.support import build_east, team_target
from tests.api.test_console_page_forms import CSRF, _signed_in_page, raised  # noqa: F401 (a fixture)

NUL = "a\x00b"


async def _nothing_stored(client, before: int) -> None:
    assert await head(client) == before, "the refused form wrote an event"


@pytest.mark.parametrize(
    ("form", "where"),
    [
        ({"date": "2026-W48"}, 'id="e-date"'),  # date.fromisoformat read these; the API does not
        ({"date": "20261125"}, 'id="e-date"'),
        ({"value": "1e400"}, 'id="e-value"'),
        ({"external_ref": NUL}, 'id="e-actual"'),  # a hidden box: the form's own error
        ({"external_ref": "r" * 5000}, 'id="e-actual"'),
    ],
)
async def test_recording_an_actual_refuses_what_the_api_refuses(client, auth, settings, form, where) -> None:
    await build_east(client, auth)
    page = await _signed_in_page(client, settings, "rep1", "/console/me")
    sent = {"metric": "revenue", "date": "2026-07-10", "value": "10", "external_ref": "console-1", **form}
    before = await head(client)
    answer = await client.post("/console/me/actuals", data={**sent, "_csrf_token": CSRF.search(page)[1]})
    assert answer.status_code == 422 and where in answer.text, answer.text[:3000]
    await _nothing_stored(client, before)


@pytest.mark.parametrize(
    ("form", "where"),
    [
        ({"justification": NUL}, 'id="justification-err"'),
        ({"justification": "j" * 1_000_000}, 'id="justification-err"'),
        ({"evidence": "\n".join(f"https://crm.example/{i}" for i in range(1000))}, 'id="evidence-err"'),
        ({"evidence": "https://crm.example/\x00"}, 'id="evidence-err"'),
    ],
)
async def test_requesting_an_adjustment_refuses_what_the_api_refuses(client, auth, settings, form, where) -> None:
    await build_east(client, auth)
    target = (await team_target(client, auth))["id"]
    page = await _signed_in_page(client, settings, "lead1", f"/console/targets/{target}")
    sent = {"new_value": "950", "reason_category": "market_change", "justification": "lost a customer", **form}
    before = await head(client)
    answer = await client.post(
        f"/console/targets/{target}/adjustments", data={**sent, "_csrf_token": CSRF.search(page)[1]}
    )
    assert answer.status_code == 422 and where in answer.text
    await _nothing_stored(client, before)


async def test_alert_comments_and_action_plans_obey_the_api_limits(client, auth, settings, raised) -> None:  # noqa: F811
    page = await _signed_in_page(client, settings, "lead1", "/console/alerts")
    csrf, key = CSRF.search(page)[1], raised["alert_id"]
    before = await head(client)
    for comment in (NUL, "c" * 100_000):
        answer = await client.post(
            f"/console/alerts/{key}/acknowledgement", data={"comment": comment, "_csrf_token": csrf}
        )
        assert answer.status_code == 422 and f'id="ack-comment-{key}-err"' in answer.text
    opening = {"target_id": raised["target_id"], "alert_id": key, "owner": "rep1", "due": "2026-07-31"}
    answer = await client.post("/console/actions", data={**opening, "plan": NUL, "_csrf_token": csrf})
    assert answer.status_code == 422 and f'id="plan-{key}-err"' in answer.text
    await _nothing_stored(client, before)


async def test_an_action_for_a_malformed_alert_says_why_on_top(client, auth, settings) -> None:
    # alert_id is a hidden box: its error, unplaced beside any field, is shown on top of the page.
    await build_east(client, auth)
    target = await set_target(client, auth, "rep1", "2026-07", "3100")
    page = await _signed_in_page(client, settings, "lead1", "/console/alerts")
    form = {"target_id": target["id"], "alert_id": "not-a-uuid", "owner": "rep1", "due": "2026-07-31", "plan": "call"}
    answer = await client.post("/console/actions", data={**form, "_csrf_token": CSRF.search(page)[1]})
    assert answer.status_code == 422 and '<p class="error" role="alert">alert_id: Invalid UUID' in answer.text


async def test_an_answer_to_a_target_is_acknowledge_or_dispute_and_nothing_else(client, auth, settings, clock) -> None:
    clock.set("2026-07-06")  # rep1's July target is one of "my targets" then
    await build_east(client, auth)
    mine = await set_target(client, auth, "rep1", "2026-07", "3100")
    team = (await team_target(client, auth))["id"]
    page = await _signed_in_page(client, settings, "rep1", "/console/me")
    csrf = CSRF.search(page)[1]
    before = await head(client)
    for answer in ({}, {"answer": "garbage"}):
        # Before, the rep's page read anything but "dispute" as acknowledge, the target page as dispute.
        refused = await client.post(f"/console/me/targets/{mine['id']}/response", data={**answer, "_csrf_token": csrf})
        assert refused.status_code == 422 and f'id="e-{mine["id"]}:answer"' in refused.text
        client.cookies.clear()
        page = await _signed_in_page(client, settings, "lead1", f"/console/targets/{team}")
        body = {**answer, "_csrf_token": CSRF.search(page)[1]}
        refused = await client.post(f"/console/targets/{team}/response", data=body)
        assert refused.status_code == 422 and 'id="answer-err"' in refused.text
        client.cookies.clear()
        page = await _signed_in_page(client, settings, "rep1", "/console/me")
        csrf = CSRF.search(page)[1]
    await _nothing_stored(client, before)
