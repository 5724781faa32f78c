"""Signed webhooks: retried with backoff, in order, paused and resumed without loss, replayed, scoped."""

import json

import pytest

from target_ledger.integration.signing import verify
from tests.api.feed_support import ADMIN, INTEGRATION, actual, build_east, east_2_target, events, team_target
from tests.api.live import Receiver, live_api, serving, until

FAST = {"webhook_backoff": 0.05, "webhook_backoff_max": 0.2, "webhook_poll": 0.1, "webhook_max_failures": 5}


@pytest.fixture
async def api(settings, clock):
    async with live_api(settings, clock, **FAST) as client:
        yield client


async def _subscribe(api, auth, url: str, who=INTEGRATION, **body) -> dict:
    r = await api.post("/v1/webhooks", json={"url": url, "after": 0, **body}, headers=auth(*who))
    assert r.status_code == 201, r.text
    return r.json()


def _ids(calls) -> list[str]:
    return [json.loads(body)["id"] for _, body in calls]


async def test_a_failing_receiver_gets_the_event_on_the_fourth_try_signed_and_in_order(api, auth) -> None:
    await build_east(api, auth)
    await team_target(api, auth, value="1000", period="2026-Q4")
    receiver = Receiver(failing=3)
    async with serving(receiver) as url:
        hook = await _subscribe(api, auth, url)
        assert hook["secret"].startswith("whsec_")
        last = await actual(api, auth, "rep1", "700")
        feed = await events(api, auth, last)
        await until(lambda: _arrived(receiver, len(feed)), "every event delivered")
    # The first event failed three times, then arrived with a valid signature.
    first = json.loads(receiver.calls[0][1])["id"]
    assert [(json.loads(b)["id"], s) for _, b, s in receiver.calls[:4]] == [(first, 500)] * 3 + [(first, 204)]
    headers, body = receiver.delivered()[0]
    assert verify(hook["secret"], headers, body) and headers["webhook-id"] == first
    assert not verify("whsec_" + "A" * 44, headers, body)
    # Nothing overtook it: every event arrived once, in the feed's order.
    assert _ids(receiver.delivered()) == [e["id"] for e in feed]
    # The attempts are visible, newest first.
    r = await api.get(f"/v1/webhooks/{hook['id']}/deliveries", params={"limit": 1000}, headers=auth(*INTEGRATION))
    attempts = r.json()[::-1]
    assert [(a["attempt"], a["delivered"], a["status_code"]) for a in attempts[:4]] == [
        (1, False, 500),
        (2, False, 500),
        (3, False, 500),
        (4, True, 204),
    ]


async def _arrived(receiver: Receiver, count: int) -> bool:
    return len(receiver.delivered()) >= count


async def test_a_paused_subscription_resumes_without_loss_and_replays_from_a_position(api, auth) -> None:
    await build_east(api, auth)
    receiver = Receiver()
    receiver.down = True
    async with serving(receiver) as url:
        hook = await _subscribe(api, auth, url)
        await team_target(api, auth, value="1000", period="2026-Q4")

        async def paused() -> bool:
            r = await api.get(f"/v1/webhooks/{hook['id']}", headers=auth(*INTEGRATION))
            return r.json()["status"] == "paused"

        # Five failures in a row pause it; events keep coming meanwhile.
        await until(paused, "the subscription to pause")
        last = await actual(api, auth, "rep2", "100")
        feed = await events(api, auth, last)
        # The receiver is back; resumed, the subscription delivers everything it held back.
        receiver.down = False
        r = await api.post(f"/v1/webhooks/{hook['id']}/resume", headers=auth(*INTEGRATION))
        assert r.status_code == 200 and r.json()["status"] == "active"
        await until(lambda: _arrived(receiver, len(feed)), "the held-back events")
        assert _ids(receiver.delivered()) == [e["id"] for e in feed]
        # A replay from sequence 2 delivers from there again.
        r = await api.post(f"/v1/webhooks/{hook['id']}/replay", params={"from": 2}, headers=auth(*INTEGRATION))
        assert r.status_code == 200 and r.json()["delivered"] == 1
        await until(lambda: _arrived(receiver, 2 * len(feed) - 1), "the replay")
        assert _ids(receiver.delivered()[len(feed) :]) == [e["id"] for e in feed[1:]]


async def test_a_scoped_subscriber_never_gets_another_nodes_events(api, auth) -> None:
    await build_east(api, auth)
    await east_2_target(api, auth)
    everyone, scoped = Receiver(), Receiver()
    async with serving(everyone) as url_all, serving(scoped) as url_scoped:
        await _subscribe(api, auth, url_all)
        # The BI tool's token is scoped to east-2; it asks for everything.
        await _subscribe(api, auth, url_scoped, who=("bi", "integration", "east-2"))
        await team_target(api, auth, value="1000", period="2026-Q4")
        await actual(api, auth, "rep1", "100")
        last = await actual(api, auth, "rep3", "100")
        feed = await events(api, auth, last)
        east_2 = await events(api, auth, last, node="east-2")
        await until(lambda: _arrived(everyone, len(feed)), "every event for the unscoped subscriber")
        await until(lambda: _arrived(scoped, len(east_2)), "east-2's events")
    assert _ids(scoped.delivered()) == [e["id"] for e in east_2]
    assert {json.loads(b)["data"]["node"] for _, b in scoped.delivered()} == {"east-2"}


async def test_only_the_owner_sees_and_deletes_a_subscription(api, auth) -> None:
    hook = await _subscribe(api, auth, "https://crm.example/hooks")
    assert (await api.get(f"/v1/webhooks/{hook['id']}", headers=auth("bi", "integration"))).status_code == 404
    assert (await api.get("/v1/webhooks", headers=auth("rep1"))).status_code == 403
    assert [h["id"] for h in (await api.get("/v1/webhooks", headers=auth(*ADMIN))).json()] == [hook["id"]]
    assert "secret" not in (await api.get(f"/v1/webhooks/{hook['id']}", headers=auth(*INTEGRATION))).json()
    assert (await api.delete(f"/v1/webhooks/{hook['id']}", headers=auth(*INTEGRATION))).status_code == 204
    assert (await api.get(f"/v1/webhooks/{hook['id']}", headers=auth(*INTEGRATION))).status_code == 404
    r = await api.post("/v1/webhooks", json={"url": "ftp://x"}, headers=auth(*INTEGRATION))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "url"
